/* Backward passes written as differentiable ops, for gradient penalties (WGAN-GP).
 *
 * tape_grad_graph(t, y, x) returns d y / d x as a new variable built from ops on the tape, so a loss
 * made from it (e.g. (||dy/dx|| - 1)^2) can itself be differentiated with respect to the weights by
 * the ordinary tape_backward. Each op that can appear between x and y records its vector-Jacobian
 * product in terms of other ops in its node (tnode.grad_graph, set where the op is recorded); an op
 * without one stops with a clear error naming it. */
#include <stdlib.h>

#include "blas.h"
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

/* ---- ops used by the gradient graphs ---------------------------------------------------------- */

static void lin_dx_backward(tape *t, const tnode *nd) {
    clg_ctx *c = t->cl;
    tensor g = tape_out_grad(t, nd), dy = tape_val(t, nd->in[0]), w = tape_val(t, nd->in[1]);
    int B = dy.n, out = w.n, in = trow(w);
    float beta;
    tensor ddy = tape_grad(t, nd->in[0], &beta);
    if (ddy.mem) /* d(dy) = g W^T */
        blas_gemm(c, 0, 1, (size_t)B, (size_t)out, (size_t)in, 1.0f, g.mem, g.off, (size_t)in, w.mem, w.off, (size_t)in,
                  beta, ddy.mem, ddy.off, (size_t)out);
    tensor dw = tape_grad(t, nd->in[1], &beta);
    if (dw.mem) /* dW = dy^T g */
        blas_gemm(c, 1, 0, (size_t)out, (size_t)in, (size_t)B, 1.0f, dy.mem, dy.off, (size_t)out, g.mem, g.off,
                  (size_t)in, beta, dw.mem, dw.off, (size_t)in);
}

/* dx = dy W for a linear layer y = x W^T + b, shaped like x. */
int op_linear_input_grad(tape *t, int dy, int w, tensor xshape) {
    tensor dv = tape_val(t, dy), wv = tape_val(t, w);
    int B = dv.n, out = wv.n, in = trow(wv);
    int ins[2] = {dy, w};
    int dx = tape_new(t, xshape.n, xshape.c, xshape.h, xshape.w, tape_any_grad(t, 2, ins));
    tensor o = tape_val(t, dx);
    blas_gemm(t->cl, 0, 0, (size_t)B, (size_t)in, (size_t)out, 1.0f, dv.mem, dv.off, (size_t)out, wv.mem, wv.off,
              (size_t)in, 0.0f, o.mem, o.off, (size_t)in);
    tape_record(t, lin_dx_backward, "linear_input_grad", dx, 2, ins);
    return dx;
}

static void mask_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dg = tape_grad(t, nd->in[0], &beta);
    if (!dg.mem) return;
    tensor dy = tape_out_grad(t, nd), x = nd->saved[0];
    size_t n = tnumel(x);
    kl_gg_lrelu_mask_bwd(t->cl, clg_grid_1d(n), dg.mem, dg.off, dy.mem, dy.off, x.mem, x.off, n, nd->farg[0], beta);
}

/* g * s(x) with s the derivative of leaky ReLU of that slope (0 for ReLU); x gets no gradient. */
int op_lrelu_mask(tape *t, int g, tensor x, float slope) {
    tensor gv = tape_val(t, g);
    int y = tape_new(t, gv.n, gv.c, gv.h, gv.w, tape_any_grad(t, 1, &g));
    tensor yv = tape_val(t, y);
    size_t n = tnumel(gv);
    kl_gg_lrelu_mask_fwd(t->cl, clg_grid_1d(n), yv.mem, yv.off, gv.mem, gv.off, x.mem, x.off, n, slope);
    tnode *nd = tape_record(t, mask_backward, "lrelu_mask", y, 1, &g);
    if (nd) {
        nd->saved[0] = x;
        nd->farg[0] = slope;
    }
    return y;
}

static void broadcast_backward(tape *t, const tnode *nd) {
    float beta;
    tensor ds = tape_grad(t, nd->in[0], &beta);
    if (!ds.mem) return;
    tensor dy = tape_out_grad(t, nd);
    tensor tmp = arena_tensor(&t->ar, 1, 1, 1, 1);
    k_reduce_sum(t->cl, tmp, dy, tnumel(dy), nd->farg[0]);
    kl_scalar_grad(t->cl, clg_grid_1d(1), ds.mem, ds.off, tmp.mem, tmp.off, 1.0f, beta);
}

/* A tensor of `shape` filled with scale * s for a scalar variable s. */
int op_broadcast_scalar(tape *t, int s, tensor shape, float scale) {
    int y = tape_new(t, shape.n, shape.c, shape.h, shape.w, tape_any_grad(t, 1, &s));
    tensor yv = tape_val(t, y), sv = tape_val(t, s);
    size_t n = tnumel(yv);
    kl_gg_broadcast_fwd(t->cl, clg_grid_1d(n), yv.mem, yv.off, sv.mem, sv.off, n, scale);
    tnode *nd = tape_record(t, broadcast_backward, "broadcast_scalar", y, 1, &s);
    if (nd) nd->farg[0] = scale;
    return y;
}

static void rownorm_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor x = tape_val(t, nd->in[0]), nr = tape_val(t, nd->out), dn = tape_out_grad(t, nd);
    kl_gg_rownorm_bwd(t->cl, clg_grid_1d(tnumel(x)), dx.mem, dx.off, x.mem, x.off, nr.mem, nr.off, dn.mem, dn.off, x.n,
                      trow(x), beta);
}

int op_rownorm(tape *t, int x) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, xv.n, 1, 1, 1, tape_any_grad(t, 1, &x));
    tensor yv = tape_val(t, y);
    kl_gg_rownorm_fwd(t->cl, clg_grid_1d(xv.n), yv.mem, yv.off, xv.mem, xv.off, xv.n, trow(xv));
    tape_record(t, rownorm_backward, "rownorm", y, 1, &x);
    return y;
}

/* ---- the vector-Jacobian product of each recorded op, as ops ---------------------------------- */

/* Returns d(out)/d(input i) . g as a new variable, or -1 if input i has no such gradient here. Each op
 * that supports it records its rule in the node (tnode.grad_graph, next to the op's code). */
static int grad_graph_of(tape *t, const tnode *nd, int i, int g) {
    if (!nd->grad_graph)
        die("tape_grad_graph: op '%s' has no differentiable backward (used between the input and the output)",
            nd->op);
    return nd->grad_graph(t, nd, i, g);
}

int tape_grad_graph(tape *t, int y, int x) {
    if (tnumel(tape_val(t, y)) != 1) die("tape_grad_graph: the output must be a scalar");
    int nv = t->nvars, nn = t->nnodes;
    /* Only nodes on a path from x to y matter. */
    char *dep = xcalloc((size_t)nv, 1);
    dep[x] = 1;
    for (int k = 0; k < nn; k++)
        for (int i = 0; i < t->nodes[k].nin; i++)
            if (t->nodes[k].in[i] >= 0 && dep[t->nodes[k].in[i]]) dep[t->nodes[k].out] = 1;
    if (!dep[y]) die("tape_grad_graph: the output does not depend on the input");
    int *gmap = xmalloc((size_t)nv * sizeof *gmap);
    for (int v = 0; v < nv; v++) gmap[v] = -1;
    tensor one = arena_tensor(&t->ar, 1, 1, 1, 1);
    clg_fill(t->cl, one.mem, one.off, 1, 1.0f);
    gmap[y] = tape_input(t, one);
    for (int k = nn - 1; k >= 0; k--) {
        tnode nd = t->nodes[k]; /* a copy: the ops below may grow the node array */
        if (!dep[nd.out] || gmap[nd.out] < 0) continue;
        for (int i = 0; i < nd.nin; i++) {
            int in = nd.in[i];
            if (in < 0 || !dep[in]) continue;
            int g = grad_graph_of(t, &nd, i, gmap[nd.out]);
            if (g < 0) continue;
            gmap[in] = gmap[in] < 0 ? g : op_add(t, gmap[in], g);
        }
    }
    int gx = gmap[x];
    free(dep);
    free(gmap);
    if (gx < 0) die("tape_grad_graph: no gradient reached the input");
    return gx;
}
