/* Fully-connected layer over CLBlast GEMM: y = x W^T + b, W stored {out, in} as in PyTorch. */
#include "blas.h"
#include "kernel_launch.h"
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
            kl_col_sum(c, clg_grid_1d(out), db.mem, db.off, dy.mem, dy.off, B, out, beta);
    }
}

/* tape_grad_graph: dx = g W (the weight and bias get none here) */
static int linear_grad_graph(tape *t, const tnode *nd, int i, int g) {
    return i == 0 ? op_linear_input_grad(t, g, nd->in[1], tape_val(t, nd->in[0])) : -1;
}

int op_linear(tape *t, int x, int w, int b) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    int B = xv.n, in = trow(xv), out = wv.n;
    if (trow(wv) != in)
        die("op_linear: a linear layer built for %d inputs got samples of %d values (input %dx%dx%dx%d): the network "
            "and the data it is given disagree (a bug in the model's wiring; please report it with the INI)",
            trow(wv), in, xv.n, xv.c, xv.h, xv.w);
    if (b >= 0 && (int)tnumel(tape_val(t, b)) != out) die("op_linear: bias size %zu, expected %d", tnumel(tape_val(t, b)), out);
    int ins[3] = {x, w, b};
    int y = tape_new(t, B, out, 1, 1, tape_any_grad(t, 3, ins));
    tensor yv = tape_val(t, y);
    blas_gemm(t->cl, 0, 1, (size_t)B, (size_t)out, (size_t)in, 1.0f, xv.mem, xv.off, (size_t)in, wv.mem, wv.off,
              (size_t)in, 0.0f, yv.mem, yv.off, (size_t)out);
    if (b >= 0) {
        tensor bv = tape_val(t, b);
        kl_bias_add_rows(t->cl, clg_grid_1d((size_t)B * out), yv.mem, yv.off, bv.mem, bv.off, B, out);
    }
    tnode *nd = tape_record(t, linear_backward, "linear", y, 3, ins);
    if (nd) nd->grad_graph = linear_grad_graph;
    return y;
}
