/* Pool ops: max pooling (saved argmax indices), global average pooling, plane broadcasting. Global
 * average pooling and broadcasting are each other's gradient, so they share two kernels: plane_sum and
 * plane_broadcast (kernels/pool.cl). */
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

/* ---- max pooling: iarg k, stride, pad; saved[0] the argmax indices (ints in a float tensor) ---- */

static void maxpool_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd), ix = nd->saved[0];
    kl_maxpool2d_bwd(t->cl, clg_grid_1d(tnumel(dx)), dx.mem, dx.off, dy.mem, dy.off, ix.mem, ix.off, dx.n * dx.c, dx.h, dx.w,
                     dy.h, dy.w, nd->iarg[0], nd->iarg[1], nd->iarg[2], beta);
}

int op_maxpool2d(tape *t, int x, int k, int stride, int pad) {
    tensor xv = tape_val(t, x);
    if (k < 1 || stride < 1 || pad < 0 || 2 * pad > k)
        die("op_maxpool2d: kernel %d, stride %d, pad %d (need k, stride >= 1 and 0 <= pad <= k/2)", k, stride, pad);
    if (xv.h + 2 * pad < k || xv.w + 2 * pad < k)
        die("op_maxpool2d: padded input %dx%d is smaller than the %dx%d window", xv.h + 2 * pad, xv.w + 2 * pad, k, k);
    int oh = (xv.h + 2 * pad - k) / stride + 1, ow = (xv.w + 2 * pad - k) / stride + 1;
    int y = tape_new(t, xv.n, xv.c, oh, ow, tape_any_grad(t, 1, &x));
    /* the indices: int32 in a float-sized arena tensor (the same 4 bytes; the kernels see int *) */
    tensor iv = tape_val(t, tape_new(t, xv.n, xv.c, oh, ow, 0)), yv = tape_val(t, y);
    kl_maxpool2d_fwd(t->cl, clg_grid_1d(tnumel(yv)), yv.mem, yv.off, iv.mem, iv.off, xv.mem, xv.off, xv.n * xv.c, xv.h, xv.w,
                     oh, ow, k, stride, pad);
    tnode *nd = tape_record(t, maxpool_backward, "maxpool2d", y, 1, &x);
    if (nd) {
        nd->iarg[0] = k;
        nd->iarg[1] = stride;
        nd->iarg[2] = pad;
        nd->saved[0] = iv;
    }
    return y;
}

/* ---- plane sums and broadcasts ---- */

static void plane_sum(clg_ctx *cl, tensor out, tensor x, float scale, float beta) {
    kl_plane_sum(cl, clg_grid_1d((size_t)x.n * x.c), out.mem, out.off, x.mem, x.off, x.n * x.c, x.h * x.w, scale, beta);
}

static void plane_broadcast(clg_ctx *cl, tensor y, tensor x, float scale, float beta) {
    kl_plane_broadcast(cl, clg_grid_rows((size_t)y.h * y.w, (size_t)y.n * y.c), y.mem, y.off, x.mem, x.off, y.h * y.w, scale,
                       beta);
}

static void gap_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    plane_broadcast(t->cl, dx, tape_out_grad(t, nd), 1.0f / (float)(dx.h * dx.w), beta);
}

int op_global_avgpool(tape *t, int x) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, 1, 1, tape_any_grad(t, 1, &x));
    plane_sum(t->cl, tape_val(t, y), xv, 1.0f / (float)(xv.h * xv.w), 0.0f);
    tape_record(t, gap_backward, "global_avgpool", y, 1, &x);
    return y;
}

static void broadcast_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    plane_sum(t->cl, dx, tape_out_grad(t, nd), 1.0f, beta);
}

int op_broadcast_planes(tape *t, int x, int h, int w) {
    tensor xv = tape_val(t, x);
    if (xv.h != 1 || xv.w != 1 || h < 1 || w < 1)
        die("op_broadcast_planes: input %dx%dx%dx%d must be {N,C,1,1}, target %dx%d positive", xv.n, xv.c, xv.h, xv.w,
            h, w);
    int y = tape_new(t, xv.n, xv.c, h, w, tape_any_grad(t, 1, &x));
    plane_broadcast(t->cl, tape_val(t, y), xv, 1.0f, 0.0f);
    tape_record(t, broadcast_backward, "broadcast_planes", y, 1, &x);
    return y;
}
