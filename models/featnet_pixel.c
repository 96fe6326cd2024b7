/* The "pixel-l1" distance kind (featnet_util.h): mean |a - b| per pair of images, with ops. */
#include <stddef.h>

#include "featnet_util.h"
#include "ops.h"

static int pixel_distance(featnet *f, tape *t, int a, int b) {
    (void)f;
    tensor v = tape_val(t, a);
    int per = v.c * v.h * v.w, d = -1;
    int ra = op_reshape(t, a, 1, v.n, per, 1), rb = op_reshape(t, b, 1, v.n, per, 1);
    for (int i = 0; i < v.n; i++) { /* one scalar per pair, concatenated as channels */
        int s = op_absdiff_sum(t, op_slice_channels(t, ra, i, 1), op_slice_channels(t, rb, i, 1), 1.0f / (float)per);
        d = d < 0 ? s : op_concat_channels(t, d, s);
    }
    return op_reshape(t, d, v.n, 1, 1, 1);
}

int featnet_open_pixel_l1(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen) {
    (void)cl, (void)weights, (void)err, (void)errlen;
    f->describe = "mean absolute pixel difference (no network)";
    f->metric_prefix = "pixel-";
    f->in_c = f->in_h = f->in_w = 0; /* the images' own shape */
    f->in_lo = 0.0f, f->in_hi = 1.0f;
    f->distance = pixel_distance;
    return 0;
}
