/* Average pooling with counted zero padding (host/ops_avgpool_incl.h): iarg k, stride, pad. */
#include "kernel_launch.h"
#include "ops.h"
#include "ops_avgpool_incl.h"
#include "util.h"

static void avgpool_incl_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    kl_avgpool_incl_bwd(t->cl, clg_grid_1d(tnumel(dx)), dx.mem, dx.off, dy.mem, dy.off, dx.n * dx.c, dx.h, dx.w, dy.h, dy.w,
                        nd->iarg[0], nd->iarg[1], nd->iarg[2], beta);
}

int op_avgpool2d_incl(tape *t, int x, int k, int stride, int pad) {
    tensor xv = tape_val(t, x);
    if (k < 1 || stride < 1 || pad < 0 || pad > k / 2)
        die("op_avgpool2d_incl: kernel %d, stride %d, pad %d (need k, stride >= 1 and 0 <= pad <= k/2)", k, stride, pad);
    if (xv.h + 2 * pad < k || xv.w + 2 * pad < k) die("op_avgpool2d_incl: input %dx%d is smaller than the window", xv.h, xv.w);
    if (tnumel(xv) > 0x7fffffff) die("op_avgpool2d_incl: %zu elements do not fit the kernel's int arguments", tnumel(xv));
    int oh = (xv.h + 2 * pad - k) / stride + 1, ow = (xv.w + 2 * pad - k) / stride + 1;
    int y = tape_new(t, xv.n, xv.c, oh, ow, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    kl_avgpool_incl_fwd(t->cl, clg_grid_1d(tnumel(yv)), yv.mem, yv.off, xv.mem, xv.off, xv.n * xv.c, xv.h, xv.w, oh, ow, k,
                        stride, pad);
    tnode *nd = tape_record(t, avgpool_incl_backward, "avgpool2d_incl", y, 1, &x);
    if (nd) {
        nd->iarg[0] = k;
        nd->iarg[1] = stride;
        nd->iarg[2] = pad;
    }
    return y;
}
