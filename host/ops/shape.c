/* Shape ops: nearest 2x upsampling, average pooling, channel concatenation, addition, scaling.
 * Backward kernels gather per input element (no atomics); add and scale reuse axpby. */
#include "ops.h"
#include "util.h"

/* ---- nearest 2x upsampling ---- */

static void upsample_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    CLG_LAUNCH_ROWS(t->cl, "upsample_nearest2x_bwd", dx.w, (size_t)dx.n * dx.c * dx.h, KMEM(dx.mem), KINT(dx.off),
                    KMEM(dy.mem), KINT(dy.off), KINT(dx.w), KFLOAT(beta));
}

int op_upsample_nearest2x(tape *t, int x) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, 2 * xv.h, 2 * xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    CLG_LAUNCH_ROWS(t->cl, "upsample_nearest2x_fwd", xv.w, (size_t)xv.n * xv.c * xv.h, KMEM(yv.mem), KINT(yv.off),
                    KMEM(xv.mem), KINT(xv.off), KINT(xv.w));
    tape_record(t, upsample_backward, "upsample_nearest2x", y, 1, &x);
    return y;
}

/* ---- average pooling (no padding): iarg k, stride ---- */

static void avgpool_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    CLG_LAUNCH1(t->cl, "avgpool2d_bwd", tnumel(dx), KMEM(dx.mem), KINT(dx.off), KMEM(dy.mem), KINT(dy.off),
                KINT(dx.n * dx.c), KINT(dx.h), KINT(dx.w), KINT(dy.h), KINT(dy.w), KINT(nd->iarg[0]),
                KINT(nd->iarg[1]), KFLOAT(beta));
}

int op_avgpool2d(tape *t, int x, int k, int stride) {
    tensor xv = tape_val(t, x);
    if (k < 1 || stride < 1) die("op_avgpool2d: kernel %d and stride %d must be positive", k, stride);
    if (xv.h < k || xv.w < k) die("op_avgpool2d: input %dx%d is smaller than the %dx%d window", xv.h, xv.w, k, k);
    int oh = (xv.h - k) / stride + 1, ow = (xv.w - k) / stride + 1;
    int y = tape_new(t, xv.n, xv.c, oh, ow, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    CLG_LAUNCH1(t->cl, "avgpool2d_fwd", tnumel(yv), KMEM(yv.mem), KINT(yv.off), KMEM(xv.mem), KINT(xv.off),
                KINT(xv.n * xv.c), KINT(xv.h), KINT(xv.w), KINT(oh), KINT(ow), KINT(k), KINT(stride));
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
            CLG_LAUNCH1(t->cl, "concat_channels_bwd", tnumel(part), KMEM(d.mem), KINT(d.off), KMEM(dy.mem),
                        KINT(dy.off), KINT(dy.n), KINT(part.c), KINT(c0), KINT(dy.c), KINT(dy.h * dy.w), KFLOAT(beta));
        c0 += part.c;
    }
}

int op_concat_channels(tape *t, int a, int b) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (av.n != bv.n || av.h != bv.h || av.w != bv.w)
        die("op_concat_channels: shapes %dx%dx%dx%d and %dx%dx%dx%d differ outside the channels", av.n, av.c, av.h,
            av.w, bv.n, bv.c, bv.h, bv.w);
    int ins[2] = {a, b};
    int y = tape_new(t, av.n, av.c + bv.c, av.h, av.w, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y);
    CLG_LAUNCH1(t->cl, "concat_channels_fwd", tnumel(yv), KMEM(yv.mem), KINT(yv.off), KMEM(av.mem), KINT(av.off),
                KMEM(bv.mem), KINT(bv.off), KINT(av.n), KINT(av.c), KINT(bv.c), KINT(av.h * av.w));
    tape_record(t, concat_backward, "concat_channels", y, 2, ins);
    return y;
}

/* ---- channel slice (concat's gradient as an op, for gradient graphs) ---- */

static void slice_backward(tape *t, const tnode *nd) {
    float beta;
    tensor d = tape_grad(t, nd->in[0], &beta);
    if (!d.mem) return;
    tensor ds = tape_out_grad(t, nd);
    CLG_LAUNCH_ROWS(t->cl, "slice_channels_bwd", (size_t)d.h * d.w, (size_t)d.n * d.c, KMEM(d.mem), KINT(d.off),
                    KMEM(ds.mem), KINT(ds.off), KINT(ds.c), KINT(nd->iarg[0]), KINT(d.c), KINT(d.h * d.w),
                    KFLOAT(beta));
}

int op_slice_channels(tape *t, int x, int c0, int c) {
    tensor xv = tape_val(t, x);
    if (c0 < 0 || c < 1 || c0 + c > xv.c) die("op_slice_channels: channels %d..%d of %d", c0, c0 + c - 1, xv.c);
    int y = tape_new(t, xv.n, c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    /* concat's backward kernel with beta 0 is exactly the slice */
    CLG_LAUNCH1(t->cl, "concat_channels_bwd", tnumel(yv), KMEM(yv.mem), KINT(yv.off), KMEM(xv.mem), KINT(xv.off),
                KINT(xv.n), KINT(c), KINT(c0), KINT(xv.c), KINT(xv.h * xv.w), KFLOAT(0.0f));
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

int op_add(tape *t, int a, int b) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (!tsame_shape(av, bv))
        die("op_add: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", av.n, av.c, av.h, av.w, bv.n, bv.c, bv.h, bv.w);
    int ins[2] = {a, b};
    int y = tape_new(t, av.n, av.c, av.h, av.w, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(yv);
    CLG_LAUNCH1(t->cl, "add_tensors_fwd", n, KMEM(yv.mem), KINT(yv.off), KMEM(av.mem), KINT(av.off), KMEM(bv.mem),
                KINT(bv.off), KINT(n));
    tape_record(t, add_backward, "add", y, 2, ins);
    return y;
}

static void scale_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    k_axpby(t->cl, dx, dy, tnumel(dy), nd->farg[0], beta);
}

int op_scale(tape *t, int x, float a) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    k_axpby(t->cl, tape_val(t, y), xv, tnumel(xv), a, 0.0f);
    tnode *nd = tape_record(t, scale_backward, "scale", y, 1, &x);
    if (nd) nd->farg[0] = a;
    return y;
}
