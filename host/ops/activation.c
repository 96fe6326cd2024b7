/* Elementwise activations: forward y = f(x); backward from x (ReLU) or from y (sigmoid). */
#include "ops.h"

static int unary(tape *t, int x, const char *fwd, backward_fn bwd, const char *name) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(xv);
    CLG_LAUNCH1(t->cl, fwd, n, KMEM(yv.mem), KINT(yv.off), KMEM(xv.mem), KINT(xv.off), KINT(n));
    tape_record(t, bwd, name, y, 1, &x);
    return y;
}

/* Backward kernels share the signature (dx, dy, saved, n, beta); saved is x or y. */
static void unary_backward(tape *t, const tnode *nd, const char *kernel, tensor saved) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    size_t n = tnumel(saved);
    CLG_LAUNCH1(t->cl, kernel, n, KMEM(dx.mem), KINT(dx.off), KMEM(dy.mem), KINT(dy.off), KMEM(saved.mem),
                KINT(saved.off), KINT(n), KFLOAT(beta));
}

static void relu_backward(tape *t, const tnode *nd) { unary_backward(t, nd, "relu_bwd", tape_val(t, nd->in[0])); }
static void sigmoid_backward(tape *t, const tnode *nd) { unary_backward(t, nd, "sigmoid_bwd", tape_val(t, nd->out)); }

int op_relu(tape *t, int x) { return unary(t, x, "relu_fwd", relu_backward, "relu"); }
int op_sigmoid(tape *t, int x) { return unary(t, x, "sigmoid_fwd", sigmoid_backward, "sigmoid"); }
