/* Fully-connected layer y = act(x W^T + b), W stored {out, in} as in PyTorch: clgan's own kernels
 * (kernels/linear.cl: bias and activation fused, no layout copies) or CLBlast GEMM, per product. */
#include <string.h>

#include "blas.h"
#include "kernel_launch.h"
#include "ops.h"
#include "ops_linear.h"
#include "util.h"

static int linear_impl;

int linear_set_impl(int impl) {
    int old = linear_impl;
    linear_impl = impl;
    return old;
}

/* The own kernels for an m x n product: forced (linear_set_impl, CLGAN_LINEAR), else on CPUs (CLBlast's
 * indirect GEMM pads and transposes into new buffers on every call: most of a VAE step on PoCL), else
 * for skinny products, where CLBlast's tiles are mostly padding. */
static int own(const clg_ctx *c, int m, int n) {
    if (linear_impl) return linear_impl == 2;
    const char *e = getenv("CLGAN_LINEAR");
    if (e && strcmp(e, "clblast") == 0) return 0;
    if (e && strcmp(e, "own") == 0) return 1;
    return !c->is_gpu || m <= 16 || n <= 16;
}

static size_t up(size_t n, size_t q) { return (n + q - 1) / q; }

/* c {M, N} = beta*c + sum_p A(m, p) bm[p][n] (kernels/linear.cl linear_bwd_nn); db as there. */
static void bwd_nn(clg_ctx *c, tensor cm, tensor a, int a_ms, int a_ps, tensor bm, int M, int N, int P, float beta,
                   tensor db, float beta_db) {
    clg_grid grid = clg_grid_rows(up((size_t)N, 16), up((size_t)M, (size_t)c->kp.lin_mr)); /* lin_mr rows x 16 */
    kl_linear_bwd_nn(c, grid, cm.mem, cm.off, a.mem, a.off, a_ms, a_ps, bm.mem, bm.off, M, N, P, beta, db.mem, db.off,
                     beta_db);
}

static void linear_backward(tape *t, const tnode *nd) {
    clg_ctx *c = t->cl;
    int act = nd->iarg[0];
    tensor dy = tape_out_grad(t, nd), y = tape_val(t, nd->out);
    tensor x = tape_val(t, nd->in[0]), w = tape_val(t, nd->in[1]);
    int B = x.n, in = trow(x), out = w.n;
    int wants_dx = t->vars[nd->in[0]].requires_grad, wants_dw = t->vars[nd->in[1]].requires_grad;
    int wants_db = nd->in[2] >= 0 && t->vars[nd->in[2]].requires_grad;
    int own_dx = own(c, B, in), own_dw = own(c, out, in);
    float beta, beta_db = 0;
    tensor db = {0};
    if (wants_db) db = tape_grad(t, nd->in[2], &beta_db);
    /* A = dz = act'(dy), materialised with db by one pass when there is an activation (see linear_bwd_nn) */
    tensor a = dy;
    int db_done = 0, fused_db = wants_dw && own_dw;
    if (act) {
        tensor dz = arena_tensor(&t->ar, B, out, 1, 1);
        kl_linear_act_bwd(c, clg_grid_1d((size_t)out), dz.mem, dz.off, dy.mem, dy.off, y.mem, y.off, B, out, act,
                          db.mem, db.off, beta_db);
        a = dz, db_done = 1;
    }
    if (wants_dx) { /* dx = dz W */
        tensor dx = tape_grad(t, nd->in[0], &beta);
        if (own_dx) bwd_nn(c, dx, a, out, 1, w, B, in, out, beta, (tensor){0}, 0);
        else blas_gemm(c, 0, 0, (size_t)B, (size_t)in, (size_t)out, 1.0f, a.mem, a.off, (size_t)out, w.mem, w.off,
                       (size_t)in, beta, dx.mem, dx.off, (size_t)in);
    }
    if (wants_dw) { /* dW = dz^T x (and db = the column sums of dz, in the same launch) */
        tensor dw = tape_grad(t, nd->in[1], &beta);
        if (own_dw) bwd_nn(c, dw, a, 1, out, x, out, in, B, beta, db_done ? (tensor){0} : db, beta_db);
        else blas_gemm(c, 1, 0, (size_t)out, (size_t)in, (size_t)B, 1.0f, a.mem, a.off, (size_t)out, x.mem, x.off,
                       (size_t)in, beta, dw.mem, dw.off, (size_t)in);
    }
    if (wants_db && !db_done && !fused_db) /* no activation and no own dW kernel */
        kl_col_sum(c, clg_grid_1d((size_t)out), db.mem, db.off, a.mem, a.off, B, out, beta_db);
}

/* tape_grad_graph: dx = g W (the weight and bias get none here); no activation only */
static int linear_grad_graph(tape *t, const tnode *nd, int i, int g) {
    return i == 0 ? op_linear_input_grad(t, g, nd->in[1], tape_val(t, nd->in[0])) : -1;
}

int op_linear_act(tape *t, int x, int w, int b, int act) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    int B = xv.n, in = trow(xv), out = wv.n;
    if (trow(wv) != in)
        die("op_linear: a linear layer built for %d inputs got samples of %d values (input %dx%dx%dx%d): the network "
            "and the data it is given disagree (a bug in the model's wiring; please report it with the INI)",
            trow(wv), in, xv.n, xv.c, xv.h, xv.w);
    if (b >= 0 && (int)tnumel(tape_val(t, b)) != out) die("op_linear: bias size %zu, expected %d", tnumel(tape_val(t, b)), out);
    if (act < LINEAR_ACT_NONE || act > LINEAR_ACT_SIGMOID) die("op_linear_act: unknown activation %d", act);
    int ins[3] = {x, w, b};
    int y = tape_new(t, B, out, 1, 1, tape_any_grad(t, 3, ins));
    tensor yv = tape_val(t, y), bv = b >= 0 ? tape_val(t, b) : (tensor){0};
    if (own(t->cl, B, out)) {
        /* lin_mr / 2 rows x 4 columns a work-item */
        clg_grid grid = clg_grid_rows(up((size_t)out, 4), up((size_t)B, (size_t)t->cl->kp.lin_mr / 2));
        kl_linear_fwd(t->cl, grid, yv.mem, yv.off, xv.mem, xv.off, wv.mem, wv.off, bv.mem, bv.off, B, out, in, act);
    } else {
        blas_gemm(t->cl, 0, 1, (size_t)B, (size_t)out, (size_t)in, 1.0f, xv.mem, xv.off, (size_t)in, wv.mem, wv.off,
                  (size_t)in, 0.0f, yv.mem, yv.off, (size_t)out);
        if (b >= 0 && act == LINEAR_ACT_NONE)
            kl_bias_add_rows(t->cl, clg_grid_1d((size_t)B * out), yv.mem, yv.off, bv.mem, bv.off, B, out);
        else if (b >= 0 || act)
            kl_linear_bias_act(t->cl, clg_grid_1d((size_t)B * out), yv.mem, yv.off, bv.mem, bv.off, B, out, act);
    }
    static const char *names[] = {"linear", "linear_relu", "linear_sigmoid"};
    tnode *nd = tape_record(t, linear_backward, names[act], y, 3, ins);
    if (nd) {
        nd->iarg[0] = act;
        if (act == LINEAR_ACT_NONE) nd->grad_graph = linear_grad_graph;
    }
    return y;
}

int op_linear(tape *t, int x, int w, int b) { return op_linear_act(t, x, w, b, LINEAR_ACT_NONE); }
