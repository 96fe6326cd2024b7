/* Elementwise activations: forward y = f(x); backward from x (ReLU, leaky ReLU) or from y (sigmoid, tanh,
 * ELU); dropout. */
#include "kernel_launch.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

/* The forward kernels share the signature (y, x, n); the backward kernels (dx, dy, saved, n, beta),
 * saved x or y. gg: the op's rule for tape_grad_graph, or NULL. */
typedef void (*unary_fwd_kernel)(clg_ctx *, clg_grid, cl_mem, int, cl_mem, int, int);
typedef void (*unary_bwd_kernel)(clg_ctx *, clg_grid, cl_mem, int, cl_mem, int, cl_mem, int, int, float);

static int unary(tape *t, int x, unary_fwd_kernel fwd, backward_fn bwd, grad_graph_fn gg, const char *name) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(xv);
    fwd(t->cl, clg_grid_1d(n), yv.mem, (int)yv.off, xv.mem, (int)xv.off, (int)n);
    tnode *nd = tape_record(t, bwd, name, y, 1, &x);
    if (nd) nd->grad_graph = gg;
    return y;
}

static void unary_backward(tape *t, const tnode *nd, unary_bwd_kernel kernel, tensor saved) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    size_t n = tnumel(saved);
    kernel(t->cl, clg_grid_1d(n), dx.mem, (int)dx.off, dy.mem, (int)dy.off, saved.mem, (int)saved.off, (int)n, beta);
}

static void relu_backward(tape *t, const tnode *nd) { unary_backward(t, nd, kl_relu_bwd, tape_val(t, nd->in[0])); }
static void sigmoid_backward(tape *t, const tnode *nd) { unary_backward(t, nd, kl_sigmoid_bwd, tape_val(t, nd->out)); }
/* tape_grad_graph: g * (x > 0) */
static int relu_grad_graph(tape *t, const tnode *nd, int i, int g) {
    (void)i;
    return op_lrelu_mask(t, g, tape_val(t, nd->in[0]), 0.0f);
}

int op_relu(tape *t, int x) { return unary(t, x, kl_relu_fwd, relu_backward, relu_grad_graph, "relu"); }
int op_sigmoid(tape *t, int x) { return unary(t, x, kl_sigmoid_fwd, sigmoid_backward, NULL, "sigmoid"); }

/* ---- activations with one float parameter (stored in farg[0]): leaky ReLU, ELU ---- */

/* The forward kernels share the signature (y, x, n, a); the backward kernels (dx, dy, saved, n, a, beta),
 * saved x (leaky ReLU) or y (ELU). */
typedef void (*unary_a_fwd_kernel)(clg_ctx *, clg_grid, cl_mem, int, cl_mem, int, int, float);
typedef void (*unary_a_bwd_kernel)(clg_ctx *, clg_grid, cl_mem, int, cl_mem, int, cl_mem, int, int, float, float);

static int unary_a(tape *t, int x, float a, unary_a_fwd_kernel fwd, backward_fn bwd, grad_graph_fn gg,
                   const char *name) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(xv);
    fwd(t->cl, clg_grid_1d(n), yv.mem, (int)yv.off, xv.mem, (int)xv.off, (int)n, a);
    tnode *nd = tape_record(t, bwd, name, y, 1, &x);
    if (nd) {
        nd->farg[0] = a;
        nd->grad_graph = gg;
    }
    return y;
}

static void unary_a_backward(tape *t, const tnode *nd, unary_a_bwd_kernel kernel, tensor saved) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    size_t n = tnumel(saved);
    kernel(t->cl, clg_grid_1d(n), dx.mem, (int)dx.off, dy.mem, (int)dy.off, saved.mem, (int)saved.off, (int)n,
           nd->farg[0], beta);
}

static void leaky_relu_backward(tape *t, const tnode *nd) {
    unary_a_backward(t, nd, kl_leaky_relu_bwd, tape_val(t, nd->in[0]));
}
static void elu_backward(tape *t, const tnode *nd) { unary_a_backward(t, nd, kl_elu_bwd, tape_val(t, nd->out)); }
static void tanh_backward(tape *t, const tnode *nd) { unary_backward(t, nd, kl_tanh_bwd, tape_val(t, nd->out)); }
/* tape_grad_graph: g * (x > 0 ? 1 : slope) */
static int leaky_relu_grad_graph(tape *t, const tnode *nd, int i, int g) {
    (void)i;
    return op_lrelu_mask(t, g, tape_val(t, nd->in[0]), nd->farg[0]);
}

int op_leaky_relu(tape *t, int x, float slope) {
    return unary_a(t, x, slope, kl_leaky_relu_fwd, leaky_relu_backward, leaky_relu_grad_graph, "leaky_relu");
}
int op_elu(tape *t, int x, float alpha) {
    if (!(alpha > 0.0f)) die("op_elu: alpha %g: must be positive (the backward reads the sign of the output)", alpha);
    return unary_a(t, x, alpha, kl_elu_fwd, elu_backward, NULL, "elu");
}
int op_tanh(tape *t, int x) { return unary(t, x, kl_tanh_fwd, tanh_backward, NULL, "tanh"); }

/* ---- dropout: the mask is recomputed from (seed, stream, step) in the backward, never stored ---- */

/* iarg: seed low and high words, stream, step (as bit patterns); farg: p, scale. */
static void dropout_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    size_t n = tnumel(dy);
    kl_dropout_bwd(t->cl, clg_grid_1d(n), dx.mem, dx.off, dy.mem, dy.off, n, nd->farg[0], nd->farg[1],
                   (uint32_t)nd->iarg[0], (uint32_t)nd->iarg[1], (uint32_t)nd->iarg[2], (uint32_t)nd->iarg[3], beta);
}

/* tape_grad_graph: the same mask again (it is a function of (seed, step)) */
static int dropout_grad_graph(tape *t, const tnode *nd, int i, int g) {
    (void)i;
    return op_dropout(t, g, nd->farg[0], 1, ((uint64_t)(uint32_t)nd->iarg[1] << 32) | (uint32_t)nd->iarg[0],
                      (uint32_t)nd->iarg[3]);
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
    kl_dropout_fwd(t->cl, clg_grid_1d(n), yv.mem, yv.off, xv.mem, xv.off, n, p, scale, lo, hi, stream, step);
    tnode *nd = tape_record(t, dropout_backward, "dropout", y, 1, &x);
    if (nd) {
        nd->farg[0] = p;
        nd->farg[1] = scale;
        nd->iarg[0] = (int)lo;
        nd->iarg[1] = (int)hi;
        nd->iarg[2] = (int)stream;
        nd->iarg[3] = (int)step;
        nd->grad_graph = dropout_grad_graph;
    }
    return y;
}
