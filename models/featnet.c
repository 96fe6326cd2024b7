/* The feature networks' table and what every kind shares: preparing images (channels, the bilinear
 * resize of pytorch-fid, the value range), batching them through a tape, reading the results back.
 * A kind is one line in `kinds` below and an open function in its own file. */
#include "featnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "featnet_util.h"
#include "tape_data.h"
#include "util.h"

typedef struct {
    const char *name;
    featnet_open_fn open;
} featnet_kind;

/* The integrator adds {"inception", featnet_open_inception} and {"lpips", featnet_open_lpips} here. */
static const featnet_kind kinds[] = {
    {"fashion", featnet_open_fashion},
    {"pixel-l1", featnet_open_pixel_l1},
    {"inception", featnet_open_inception},
    {"lpips", featnet_open_lpips},
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

#define FEATNET_BATCH 50 /* images per forward pass (pytorch-fid's default batch size) */

const char *featnet_kinds(void) {
    static char names[256];
    if (!names[0])
        for (int i = 0; i < NKINDS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", kinds[i].name);
    return names;
}

int featnet_open(featnet *f, clg_ctx *cl, const char *kind, const char *weights, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i < NKINDS; i++)
        if (!strcmp(kinds[i].name, kind)) {
            if (kinds[i].open(f, cl, weights, err, errlen) != 0) return -1;
            f->kind = kinds[i].name;
            return 0;
        }
    set_err(err, errlen, "unknown feature network '%s' (known: %s)", kind, featnet_kinds());
    return -1;
}

void featnet_free(featnet *f) {
    if (f->free) f->free(f);
    memset(f, 0, sizeof *f);
}

/* torch's area_pixel_compute_source_index for align_corners=False: the source coordinate of output
 * index o, clamped at 0 (not at the far edge: the upper neighbour is clamped instead). The scale and
 * the coordinate are float, as torch's for float images (with double coordinates the largest difference
 * from torch 1.13 at 64 -> 28 is 3.4e-6, with these 1.4e-6); the blend itself is done in double. */
static void src_index(int o, int in, int out, int *i0, int *i1, double *lam) {
    float scale = (float)in / (float)out, s = (float)(scale * (o + 0.5) - 0.5); /* float scale, double product */
    if (s < 0) s = 0;
    *i0 = (int)s;
    if (*i0 > in - 1) *i0 = in - 1;
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *lam = (float)(s - (float)*i0);
}

void featnet_resize_bilinear(const float *in, int c, int h, int w, float *out, int oh, int ow) {
    for (int ch = 0; ch < c; ch++) {
        const float *p = in + (size_t)ch * h * w;
        float *q = out + (size_t)ch * oh * ow;
        for (int y = 0; y < oh; y++) {
            int y0, y1, x0, x1;
            double ly, lx;
            src_index(y, h, oh, &y0, &y1, &ly);
            for (int x = 0; x < ow; x++) {
                src_index(x, w, ow, &x0, &x1, &lx);
                double top = (1 - lx) * p[(size_t)y0 * w + x0] + lx * p[(size_t)y0 * w + x1];
                double bot = (1 - lx) * p[(size_t)y1 * w + x0] + lx * p[(size_t)y1 * w + x1];
                q[(size_t)y * ow + x] = (float)((1 - ly) * top + ly * bot);
            }
        }
    }
}

int featnet_prepare(const featnet *f, const float *img, int n, int c, int h, int w, float *out, int *oc, int *oh, int *ow,
                    char *err, size_t errlen) {
    int tc = f->in_c ? f->in_c : c, th = f->in_h ? f->in_h : h, tw = f->in_w ? f->in_w : w;
    if ((c != 1 && c != 3) || h < 1 || w < 1) {
        set_err(err, errlen, "%s: images must have 1 or 3 channels (got %d x %d x %d)", f->kind, c, h, w);
        return -1;
    }
    if (c == 3 && tc != 3 && tc != 1) {
        set_err(err, errlen, "%s takes %d channels; RGB images cannot be converted to that", f->kind, tc);
        return -1;
    }
    if (th < f->min_side || tw < f->min_side) {
        set_err(err, errlen, "%s needs images of at least %dx%d (got %dx%d)", f->kind, f->min_side, f->min_side, th, tw);
        return -1;
    }
    *oc = tc, *oh = th, *ow = tw;
    if (!out) return 0;
    size_t plane = (size_t)h * w;
    float *tmp = xmalloc((size_t)tc * plane * sizeof *tmp);
    for (int i = 0; i < n; i++) {
        const float *src = img + (size_t)i * c * plane;
        for (int k = 0; k < tc; k++)
            for (size_t p = 0; p < plane; p++) {
                /* grey repeated to every channel; RGB averaged to grey for a one-channel net */
                double v = c == tc ? src[(size_t)k * plane + p]
                           : c == 1 ? src[p]
                                    : (src[p] + (double)src[plane + p] + src[2 * plane + p]) / 3.0;
                tmp[(size_t)k * plane + p] = (float)(f->in_lo + (f->in_hi - f->in_lo) * v); /* linear: commutes with the resize */
            }
        featnet_resize_bilinear(tmp, tc, h, w, out + (size_t)i * tc * th * tw, th, tw);
    }
    free(tmp);
    return 0;
}

/* One pass over n images (and b, when pairs) in batches: features + logits, or distances. */
static int run_batches(featnet *f, clg_ctx *cl, const float *a, const float *b, int n, int c, int h, int w, float *feat,
                       float *logits, double *d, char *err, size_t errlen) {
    int tc, th, tw;
    if (featnet_prepare(f, NULL, 0, c, h, w, NULL, &tc, &th, &tw, err, errlen) != 0) return -1;
    if (b ? !f->distance : !f->forward) {
        set_err(err, errlen, "%s computes no %s", f->kind, b ? "distance between images" : "features");
        return -1;
    }
    size_t per = (size_t)tc * th * tw, in_per = (size_t)c * h * w;
    int B = f->batch > 0 ? f->batch : FEATNET_BATCH;
    float *pa = xmalloc(per * B * sizeof *pa), *pb = b ? xmalloc(per * B * sizeof *pb) : NULL;
    tape t;
    tape_init(&t, cl);
    t.grad_enabled = 0;
    int rc = 0;
    for (int first = 0; first < n && rc == 0; first += B) {
        int m = n - first < B ? n - first : B;
        rc = featnet_prepare(f, a + first * in_per, m, c, h, w, pa, &tc, &th, &tw, err, errlen);
        if (rc == 0 && b) rc = featnet_prepare(f, b + first * in_per, m, c, h, w, pb, &tc, &th, &tw, err, errlen);
        if (rc != 0) break;
        tape_reset(&t);
        int xa = tape_upload(&t, m, tc, th, tw, pa);
        if (b) {
            int y = f->distance(f, &t, xa, tape_upload(&t, m, tc, th, tw, pb));
            float *v = tape_download_new(&t, y, NULL);
            for (int i = 0; i < m; i++) d[first + i] = v[i];
            free(v);
            continue;
        }
        int lg = -1, y = f->forward(f, &t, xa, logits && f->nclass > 0 ? &lg : NULL);
        tape_download(&t, y, feat + (size_t)first * f->nfeat);
        if (lg >= 0) tape_download(&t, lg, logits + (size_t)first * f->nclass);
    }
    tape_free(&t);
    free(pa);
    free(pb);
    return rc;
}

int featnet_run(featnet *f, clg_ctx *cl, const float *img, int n, int c, int h, int w, float *feat, float *logits, char *err,
                size_t errlen) {
    if (logits && f->nclass <= 0) {
        set_err(err, errlen, "%s has no class logits", f->kind);
        return -1;
    }
    return run_batches(f, cl, img, NULL, n, c, h, w, feat, logits, NULL, err, errlen);
}

int featnet_pair_distance(featnet *f, clg_ctx *cl, const float *a, const float *b, int n, int c, int h, int w, double *d,
                          char *err, size_t errlen) {
    return run_batches(f, cl, a, b, n, c, h, w, NULL, NULL, d, err, errlen);
}
