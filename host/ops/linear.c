/* Fully-connected layer over CLBlast GEMM: y = x W^T + b, W stored {out, in} as in PyTorch. */
#include "blas.h"
#include "ops.h"
#include "util.h"

static void linear_backward(tape *t, const tnode *nd) {
    clg_ctx *c = t->cl;
    tensor dy = tape_out_grad(t, nd);
    tensor x = tape_val(t, nd->in[0]), w = tape_val(t, nd->in[1]);
    int B = x.n, in = trow(x), out = w.n;
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (dx.mem) /* dx = dy W */
        blas_gemm(c, 0, 0, (size_t)B, (size_t)in, (size_t)out, 1.0f, dy.mem, dy.off, (size_t)out, w.mem, w.off,
                  (size_t)in, beta, dx.mem, dx.off, (size_t)in);
    tensor dw = tape_grad(t, nd->in[1], &beta);
    if (dw.mem) /* dW = dy^T x */
        blas_gemm(c, 1, 0, (size_t)out, (size_t)in, (size_t)B, 1.0f, dy.mem, dy.off, (size_t)out, x.mem, x.off,
                  (size_t)in, beta, dw.mem, dw.off, (size_t)in);
    if (nd->in[2] >= 0) {
        tensor db = tape_grad(t, nd->in[2], &beta);
        if (db.mem)
            CLG_LAUNCH1(c, "col_sum", out, KMEM(db.mem), KINT(db.off), KMEM(dy.mem), KINT(dy.off), KINT(B), KINT(out),
                        KFLOAT(beta));
    }
}

int op_linear(tape *t, int x, int w, int b) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    int B = xv.n, in = trow(xv), out = wv.n;
    if (trow(wv) != in) die("op_linear: input has %d features per sample, weight expects %d", in, trow(wv));
    if (b >= 0 && (int)tnumel(tape_val(t, b)) != out) die("op_linear: bias size %zu, expected %d", tnumel(tape_val(t, b)), out);
    int ins[3] = {x, w, b};
    int y = tape_new(t, B, out, 1, 1, tape_any_grad(t, 3, ins));
    tensor yv = tape_val(t, y);
    blas_gemm(t->cl, 0, 1, (size_t)B, (size_t)out, (size_t)in, 1.0f, xv.mem, xv.off, (size_t)in, wv.mem, wv.off,
              (size_t)in, 0.0f, yv.mem, yv.off, (size_t)out);
    if (b >= 0) {
        tensor bv = tape_val(t, b);
        CLG_LAUNCH1(t->cl, "bias_add_rows", (size_t)B * out, KMEM(yv.mem), KINT(yv.off), KMEM(bv.mem), KINT(bv.off),
                    KINT(B), KINT(out));
    }
    tape_record(t, linear_backward, "linear", y, 3, ins);
    return y;
}
