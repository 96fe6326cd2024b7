/* Average pooling with zero padding, counted or not (host/ops_avgpool_pad.h): iarg k, stride, pad,
 * count_pad. */
#include "kernel_launch.h"
#include "ops.h"
#include "ops_avgpool_pad.h"
#include "util.h"

static void avgpool_pad_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    kl_avgpool_pad_bwd(t->cl, clg_grid_1d(tnumel(dx)), dx.mem, dx.off, dy.mem, dy.off, dx.n * dx.c, dx.h, dx.w, dy.h, dy.w,
                       nd->iarg[0], nd->iarg[1], nd->iarg[2], nd->iarg[3], beta);
}

static int avgpool(tape *t, int x, int k, int stride, int pad, int count_pad) {
    const char *name = count_pad ? "op_avgpool2d_incl" : "op_avgpool2d_pad";
    tensor xv = tape_val(t, x);
    if (k < 1 || stride < 1 || pad < 0 || pad > k / 2)
        die("%s: kernel %d, stride %d, pad %d (need k, stride >= 1 and 0 <= pad <= k/2)", name, k, stride, pad);
    if (xv.h + 2 * pad < k || xv.w + 2 * pad < k) die("%s: input %dx%d is smaller than the window", name, xv.h, xv.w);
    if (tnumel(xv) > 0x7fffffff) die("%s: %zu elements do not fit the kernel's int arguments", name, tnumel(xv));
    int oh = (xv.h + 2 * pad - k) / stride + 1, ow = (xv.w + 2 * pad - k) / stride + 1;
    int y = tape_new(t, xv.n, xv.c, oh, ow, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    kl_avgpool_pad_fwd(t->cl, clg_grid_1d(tnumel(yv)), yv.mem, yv.off, xv.mem, xv.off, xv.n * xv.c, xv.h, xv.w, oh, ow, k, stride,
                       pad, count_pad);
    tnode *nd = tape_record(t, avgpool_pad_backward, count_pad ? "avgpool2d_incl" : "avgpool2d_pad", y, 1, &x);
    if (nd) {
        nd->iarg[0] = k;
        nd->iarg[1] = stride;
        nd->iarg[2] = pad;
        nd->iarg[3] = count_pad;
    }
    return y;
}

int op_avgpool2d_pad(tape *t, int x, int k, int stride, int pad) { return avgpool(t, x, k, stride, pad, 0); }
int op_avgpool2d_incl(tape *t, int x, int k, int stride, int pad) { return avgpool(t, x, k, stride, pad, 1); }
