/* Softmax cross-entropy on the host (host/ops_xent.h): the logits of a small classifier are a few
 * hundred floats per step, so a blocking read and a double-precision loop cost less than a launch
 * would save, and there is no kernel to keep in step with a reference. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"
#include "ops_xent.h"
#include "util.h"

/* Reads x and t (rows of k). Returns the loss sum; p (if not NULL) gets each row's softmax times its
 * target sum minus the target: the gradient of the sum before scaling. */
static double xent_host(clg_ctx *cl, tensor x, tensor tg, int n, int k, double *p) {
    size_t numel = (size_t)n * k;
    float *xv = xmalloc(numel * sizeof *xv), *tv = xmalloc(numel * sizeof *tv);
    clg_read(cl, x.mem, x.off, numel, xv);
    clg_read(cl, tg.mem, tg.off, numel, tv);
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *xr = xv + (size_t)i * k, *tr = tv + (size_t)i * k;
        double mx = xr[0], se = 0, ts = 0;
        for (int j = 1; j < k; j++) mx = xr[j] > mx ? xr[j] : mx;
        for (int j = 0; j < k; j++) se += exp(xr[j] - mx), ts += tr[j];
        double lse = mx + log(se);
        for (int j = 0; j < k; j++) {
            loss -= tr[j] * (xr[j] - lse);
            if (p) p[(size_t)i * k + j] = ts * exp(xr[j] - lse) - tr[j];
        }
    }
    free(xv);
    free(tv);
    return loss;
}

static void xent_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor x = tape_val(t, nd->in[0]), tg = tape_val(t, nd->in[1]), g = tape_out_grad(t, nd);
    int n = x.n, k = (int)(tnumel(x) / (size_t)x.n);
    size_t numel = (size_t)n * k;
    double *p = xmalloc(numel * sizeof *p);
    float gs, *d = xmalloc(numel * sizeof *d);
    clg_read(t->cl, g.mem, g.off, 1, &gs);
    xent_host(t->cl, x, tg, n, k, p);
    if (beta != 0.0f) clg_read(t->cl, dx.mem, dx.off, numel, d); /* accumulate into what is there */
    for (size_t i = 0; i < numel; i++) d[i] = (float)((beta != 0.0f ? d[i] : 0.0) + (double)gs * nd->farg[0] * p[i]);
    clg_write(t->cl, dx.mem, dx.off, numel, d);
    free(p);
    free(d);
}

int op_softmax_xent_sum(tape *t, int x, int target, float scale) {
    tensor xv = tape_val(t, x), tv = tape_val(t, target);
    if (!tsame_shape(xv, tv)) die("softmax_xent: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", xv.n, xv.c, xv.h, xv.w, tv.n,
                                  tv.c, tv.h, tv.w);
    int k = (int)(tnumel(xv) / (size_t)xv.n);
    float loss = (float)(scale * xent_host(t->cl, xv, tv, xv.n, k, NULL));
    int y = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    clg_write(t->cl, yv.mem, yv.off, 1, &loss);
    int ins[2] = {x, target};
    tnode *nd = tape_record(t, xent_backward, "softmax_xent", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}
