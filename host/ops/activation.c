/* Elementwise activations: forward y = f(x); backward from x (ReLU, leaky ReLU, ELU) or from y (sigmoid,
 * tanh); dropout. */
#include "ops.h"
#include "rng.h"
#include "util.h"

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

/* ---- activations with one float parameter (stored in farg[0]): leaky ReLU, ELU ---- */

/* Backward kernels share the signature (dx, dy, x, n, a, beta). */
static int unary_a(tape *t, int x, float a, const char *fwd, backward_fn bwd, const char *name) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(xv);
    CLG_LAUNCH1(t->cl, fwd, n, KMEM(yv.mem), KINT(yv.off), KMEM(xv.mem), KINT(xv.off), KINT(n), KFLOAT(a));
    tnode *nd = tape_record(t, bwd, name, y, 1, &x);
    if (nd) nd->farg[0] = a;
    return y;
}

static void unary_a_backward(tape *t, const tnode *nd, const char *kernel) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd), x = tape_val(t, nd->in[0]);
    size_t n = tnumel(x);
    CLG_LAUNCH1(t->cl, kernel, n, KMEM(dx.mem), KINT(dx.off), KMEM(dy.mem), KINT(dy.off), KMEM(x.mem), KINT(x.off),
                KINT(n), KFLOAT(nd->farg[0]), KFLOAT(beta));
}

static void leaky_relu_backward(tape *t, const tnode *nd) { unary_a_backward(t, nd, "leaky_relu_bwd"); }
static void elu_backward(tape *t, const tnode *nd) { unary_a_backward(t, nd, "elu_bwd"); }
static void tanh_backward(tape *t, const tnode *nd) { unary_backward(t, nd, "tanh_bwd", tape_val(t, nd->out)); }

int op_leaky_relu(tape *t, int x, float slope) {
    return unary_a(t, x, slope, "leaky_relu_fwd", leaky_relu_backward, "leaky_relu");
}
int op_elu(tape *t, int x, float alpha) { return unary_a(t, x, alpha, "elu_fwd", elu_backward, "elu"); }
int op_tanh(tape *t, int x) { return unary(t, x, "tanh_fwd", tanh_backward, "tanh"); }

/* ---- dropout: the mask is recomputed from (seed, stream, step) in the backward, never stored ---- */

/* iarg: seed low and high words, stream, step (as bit patterns); farg: p, scale. */
static void dropout_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    size_t n = tnumel(dy);
    CLG_LAUNCH1(t->cl, "dropout_bwd", n, KMEM(dx.mem), KINT(dx.off), KMEM(dy.mem), KINT(dy.off), KINT(n),
                KFLOAT(nd->farg[0]), KFLOAT(nd->farg[1]), KUINT((uint32_t)nd->iarg[0]), KUINT((uint32_t)nd->iarg[1]),
                KUINT((uint32_t)nd->iarg[2]), KUINT((uint32_t)nd->iarg[3]), KFLOAT(beta));
}

int op_dropout(tape *t, int x, float p, int training, uint64_t seed, uint32_t step) {
    if (!(p >= 0.0f && p <= 1.0f)) die("op_dropout: p = %g is not in [0, 1]", p);
    if (!training || p == 0.0f) return x; /* identity: the same variable */
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(xv);
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32), stream = RNG_STREAM_DROPOUT;
    CLG_LAUNCH1(t->cl, "dropout_fwd", n, KMEM(yv.mem), KINT(yv.off), KMEM(xv.mem), KINT(xv.off), KINT(n), KFLOAT(p),
                KFLOAT(scale), KUINT(lo), KUINT(hi), KUINT(stream), KUINT(step));
    tnode *nd = tape_record(t, dropout_backward, "dropout", y, 1, &x);
    if (nd) {
        nd->farg[0] = p;
        nd->farg[1] = scale;
        nd->iarg[0] = (int)lo;
        nd->iarg[1] = (int)hi;
        nd->iarg[2] = (int)stream;
        nd->iarg[3] = (int)step;
    }
    return y;
}
