/* Shape ops: nearest 2x upsampling, average pooling, channel concatenation, addition, scaling.
 * Backward kernels gather per input element (no atomics); add and scale reuse axpby. */
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

/* ---- nearest 2x upsampling ---- */

static void upsample_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    kl_upsample_nearest2x_bwd(t->cl, clg_grid_rows(dx.w, (size_t)dx.n * dx.c * dx.h), dx.mem, dx.off, dy.mem, dy.off,
                              dx.w, beta);
}

int op_upsample_nearest2x(tape *t, int x) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, 2 * xv.h, 2 * xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    kl_upsample_nearest2x_fwd(t->cl, clg_grid_rows(xv.w, (size_t)xv.n * xv.c * xv.h), yv.mem, yv.off, xv.mem, xv.off,
                              xv.w);
    tape_record(t, upsample_backward, "upsample_nearest2x", y, 1, &x);
    return y;
}

/* ---- average pooling (no padding): iarg k, stride ---- */

static void avgpool_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    kl_avgpool2d_bwd(t->cl, clg_grid_1d(tnumel(dx)), dx.mem, dx.off, dy.mem, dy.off, dx.n * dx.c, dx.h, dx.w, dy.h,
                     dy.w, nd->iarg[0], nd->iarg[1], beta);
}

int op_avgpool2d(tape *t, int x, int k, int stride) {
    tensor xv = tape_val(t, x);
    if (k < 1 || stride < 1) die("op_avgpool2d: kernel %d and stride %d must be positive", k, stride);
    if (xv.h < k || xv.w < k) die("op_avgpool2d: input %dx%d is smaller than the %dx%d window", xv.h, xv.w, k, k);
    int oh = (xv.h - k) / stride + 1, ow = (xv.w - k) / stride + 1;
    int y = tape_new(t, xv.n, xv.c, oh, ow, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    kl_avgpool2d_fwd(t->cl, clg_grid_1d(tnumel(yv)), yv.mem, yv.off, xv.mem, xv.off, xv.n * xv.c, xv.h, xv.w, oh, ow, k,
                     stride);
    tnode *nd = tape_record(t, avgpool_backward, "avgpool2d", y, 1, &x);
    if (nd) {
        nd->iarg[0] = k;
        nd->iarg[1] = stride;
    }
    return y;
}

/* ---- channel concatenation ---- */

static void concat_backward(tape *t, const tnode *nd) {
    tensor dy = tape_out_grad(t, nd);
    int c0 = 0;
    for (int side = 0; side < 2; side++) {
        float beta;
        tensor part = tape_val(t, nd->in[side]);
        tensor d = tape_grad(t, nd->in[side], &beta);
        if (d.mem)
            kl_concat_channels_bwd(t->cl, clg_grid_1d(tnumel(part)), d.mem, d.off, dy.mem, dy.off, dy.n, part.c, c0,
                                   dy.c, dy.h * dy.w, beta);
        c0 += part.c;
    }
}

/* tape_grad_graph: each side's share of g */
static int concat_grad_graph(tape *t, const tnode *nd, int i, int g) {
    return op_slice_channels(t, g, i == 0 ? 0 : tape_val(t, nd->in[0]).c, tape_val(t, nd->in[i]).c);
}

int op_concat_channels(tape *t, int a, int b) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (av.n != bv.n || av.h != bv.h || av.w != bv.w)
        die("op_concat_channels: shapes %dx%dx%dx%d and %dx%dx%dx%d differ outside the channels", av.n, av.c, av.h,
            av.w, bv.n, bv.c, bv.h, bv.w);
    int ins[2] = {a, b};
    int y = tape_new(t, av.n, av.c + bv.c, av.h, av.w, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y);
    kl_concat_channels_fwd(t->cl, clg_grid_1d(tnumel(yv)), yv.mem, yv.off, av.mem, av.off, bv.mem, bv.off, av.n, av.c,
                           bv.c, av.h * av.w);
    tnode *nd = tape_record(t, concat_backward, "concat_channels", y, 2, ins);
    if (nd) nd->grad_graph = concat_grad_graph;
    return y;
}

/* ---- channel slice (concat's gradient as an op, for gradient graphs) ---- */

static void slice_backward(tape *t, const tnode *nd) {
    float beta;
    tensor d = tape_grad(t, nd->in[0], &beta);
    if (!d.mem) return;
    tensor ds = tape_out_grad(t, nd);
    kl_slice_channels_bwd(t->cl, clg_grid_rows((size_t)d.h * d.w, (size_t)d.n * d.c), d.mem, d.off, ds.mem, ds.off,
                          ds.c, nd->iarg[0], d.c, d.h * d.w, beta);
}

int op_slice_channels(tape *t, int x, int c0, int c) {
    tensor xv = tape_val(t, x);
    if (c0 < 0 || c < 1 || c0 + c > xv.c) die("op_slice_channels: channels %d..%d of %d", c0, c0 + c - 1, xv.c);
    int y = tape_new(t, xv.n, c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    /* concat's backward kernel with beta 0 is exactly the slice */
    kl_concat_channels_bwd(t->cl, clg_grid_1d(tnumel(yv)), yv.mem, yv.off, xv.mem, xv.off, xv.n, c, c0, xv.c,
                           xv.h * xv.w, 0.0f);
    tnode *nd = tape_record(t, slice_backward, "slice_channels", y, 1, &x);
    if (nd) nd->iarg[0] = c0;
    return y;
}

/* ---- addition and scaling: the backward is axpby with the upstream gradient ---- */

static void add_backward(tape *t, const tnode *nd) {
    tensor dy = tape_out_grad(t, nd);
    for (int side = 0; side < 2; side++) { /* a == b: the second write accumulates (beta 1) */
        float beta;
        tensor d = tape_grad(t, nd->in[side], &beta);
        if (d.mem) k_axpby(t->cl, d, dy, tnumel(dy), 1.0f, beta);
    }
}

/* tape_grad_graph: g itself, for either side */
static int add_grad_graph(tape *t, const tnode *nd, int i, int g) {
    (void)t, (void)nd, (void)i;
    return g;
}

int op_add(tape *t, int a, int b) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (!tsame_shape(av, bv))
        die("op_add: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", av.n, av.c, av.h, av.w, bv.n, bv.c, bv.h, bv.w);
    int ins[2] = {a, b};
    int y = tape_new(t, av.n, av.c, av.h, av.w, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(yv);
    kl_add_tensors_fwd(t->cl, clg_grid_1d(n), yv.mem, yv.off, av.mem, av.off, bv.mem, bv.off, n);
    tnode *nd = tape_record(t, add_backward, "add", y, 2, ins);
    if (nd) nd->grad_graph = add_grad_graph;
    return y;
}

static void scale_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    k_axpby(t->cl, dx, dy, tnumel(dy), nd->farg[0], beta);
}

/* tape_grad_graph: a * g */
static int scale_grad_graph(tape *t, const tnode *nd, int i, int g) {
    (void)i;
    return op_scale(t, g, nd->farg[0]);
}

int op_scale(tape *t, int x, float a) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    k_axpby(t->cl, tape_val(t, y), xv, tnumel(xv), a, 0.0f);
    tnode *nd = tape_record(t, scale_backward, "scale", y, 1, &x);
    if (nd) {
        nd->farg[0] = a;
        nd->grad_graph = scale_grad_graph;
    }
    return y;
}
