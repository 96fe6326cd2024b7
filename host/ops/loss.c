/* Scalar losses: per-element terms into scratch, then one reduction. Backward kernels read the
 * upstream gradient from device memory. */
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

/* The *_terms kernels: (out, a, b, n). */
typedef void (*terms_kernel)(clg_ctx *, clg_grid, cl_mem, int, cl_mem, int, cl_mem, int, int);

/* Element terms of kernel `terms` (named `name`) for two same-shaped inputs, summed into a new scalar
 * variable. */
static int reduce_terms(tape *t, terms_kernel terms, const char *name, int a, int b, float scale, int wants_grad) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (!tsame_shape(av, bv)) die("%s: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", name, av.n, av.c, av.h, av.w,
                                  bv.n, bv.c, bv.h, bv.w);
    size_t n = tnumel(av);
    tensor tmp = arena_tensor(&t->ar, (int)n, 1, 1, 1);
    terms(t->cl, clg_grid_1d(n), tmp.mem, (int)tmp.off, av.mem, (int)av.off, bv.mem, (int)bv.off, (int)n);
    int out = tape_new(t, 1, 1, 1, 1, wants_grad);
    k_reduce_sum(t->cl, tape_val(t, out), tmp, n, scale);
    return out;
}

static void bce_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dp = tape_grad(t, nd->in[0], &beta);
    if (!dp.mem) return;
    tensor p = tape_val(t, nd->in[0]), tg = tape_val(t, nd->in[1]), g = tape_out_grad(t, nd);
    size_t n = tnumel(p);
    kl_bce_bwd(t->cl, clg_grid_1d(n), dp.mem, dp.off, p.mem, p.off, tg.mem, tg.off, g.mem, g.off, nd->farg[0], n, beta);
}

int op_bce_sum(tape *t, int p, int target, float scale) {
    int y = reduce_terms(t, kl_bce_terms, "bce_terms", p, target, scale, tape_any_grad(t, 1, &p));
    int ins[2] = {p, target};
    tnode *nd = tape_record(t, bce_backward, "bce", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}

static void kl_backward(tape *t, const tnode *nd) {
    float bmu, blv;
    tensor dmu = tape_grad(t, nd->in[0], &bmu), dlv = tape_grad(t, nd->in[1], &blv);
    tensor mu = tape_val(t, nd->in[0]), lv = tape_val(t, nd->in[1]), g = tape_out_grad(t, nd);
    size_t n = tnumel(mu);
    kl_kl_bwd(t->cl, clg_grid_1d(n), dmu.mem, dmu.off, dlv.mem, dlv.off, mu.mem, mu.off, lv.mem, lv.off, g.mem, g.off,
              nd->farg[0], n, bmu, blv);
}

int op_kl_normal_sum(tape *t, int mu, int logvar, float scale) {
    int ins[2] = {mu, logvar};
    int y = reduce_terms(t, kl_kl_terms, "kl_terms", mu, logvar, scale, tape_any_grad(t, 2, ins));
    tnode *nd = tape_record(t, kl_backward, "kl_normal", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}

/* Backward of scale*sum f(a - b) for the elementwise pair losses: `kernel` writes the gradient of one
 * side (sign +1 for a, -1 for b), with the same arguments for sqerr_bwd and absdiff_bwd. */
typedef void (*pair_bwd_kernel)(clg_ctx *, clg_grid, cl_mem, int, cl_mem, int, cl_mem, int, cl_mem, int, float, float,
                                int, float);
static void pair_backward(tape *t, const tnode *nd, pair_bwd_kernel kernel) {
    tensor a = tape_val(t, nd->in[0]), b = tape_val(t, nd->in[1]), g = tape_out_grad(t, nd);
    size_t n = tnumel(a);
    for (int side = 0; side < 2; side++) {
        float beta;
        tensor d = tape_grad(t, nd->in[side], &beta);
        if (!d.mem) continue;
        kernel(t->cl, clg_grid_1d(n), d.mem, (int)d.off, a.mem, (int)a.off, b.mem, (int)b.off, g.mem, (int)g.off,
               nd->farg[0], side ? -1.0f : 1.0f, (int)n, beta);
    }
}

static void sqerr_backward(tape *t, const tnode *nd) { pair_backward(t, nd, kl_sqerr_bwd); }

int op_sqerr_sum(tape *t, int a, int b, float scale) {
    int ins[2] = {a, b};
    int y = reduce_terms(t, kl_sqerr_terms, "sqerr_terms", a, b, scale, tape_any_grad(t, 2, ins));
    tnode *nd = tape_record(t, sqerr_backward, "sqerr", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}

static void absdiff_backward(tape *t, const tnode *nd) { pair_backward(t, nd, kl_absdiff_bwd); }

int op_absdiff_sum(tape *t, int a, int b, float scale) {
    int ins[2] = {a, b};
    int y = reduce_terms(t, kl_absdiff_terms, "absdiff_terms", a, b, scale, tape_any_grad(t, 2, ins));
    tnode *nd = tape_record(t, absdiff_backward, "absdiff", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}

static void lincomb_backward(tape *t, const tnode *nd) {
    tensor g = tape_out_grad(t, nd);
    for (int side = 0; side < 2; side++) {
        float beta;
        tensor d = tape_grad(t, nd->in[side], &beta);
        if (!d.mem) continue;
        kl_scalar_grad(t->cl, clg_grid_1d(1), d.mem, d.off, g.mem, g.off, nd->farg[side], beta);
    }
}

int op_lincomb(tape *t, int a, float wa, int b, float wb) {
    int ins[2] = {a, b};
    if (tnumel(tape_val(t, a)) != 1 || tnumel(tape_val(t, b)) != 1) die("op_lincomb: inputs must be scalars");
    int y = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y), av = tape_val(t, a), bv = tape_val(t, b);
    kl_scalar_lincomb(t->cl, clg_grid_1d(1), yv.mem, yv.off, av.mem, av.off, bv.mem, bv.off, wa, wb);
    tnode *nd = tape_record(t, lincomb_backward, "lincomb", y, 2, ins);
    if (nd) {
        nd->farg[0] = wa;
        nd->farg[1] = wb;
    }
    return y;
}

/* ---- scale * sum(x) ---- */

static void sum_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor g = tape_out_grad(t, nd);
    size_t n = tnumel(dx);
    kl_sum_all_bwd(t->cl, clg_grid_1d(n), dx.mem, dx.off, g.mem, g.off, nd->farg[0], n, beta);
}

/* tape_grad_graph: scale * g for every element of x */
static int sum_grad_graph(tape *t, const tnode *nd, int i, int g) {
    return op_broadcast_scalar(t, g, tape_val(t, nd->in[i]), nd->farg[0]);
}

int op_sum(tape *t, int x, float scale) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 1, &x));
    k_reduce_sum(t->cl, tape_val(t, y), xv, tnumel(xv), scale);
    tnode *nd = tape_record(t, sum_backward, "sum", y, 1, &x);
    if (nd) {
        nd->farg[0] = scale;
        nd->grad_graph = sum_grad_graph;
    }
    return y;
}

/* ---- BCE with logits: farg scale, yconst; in[1] the target or -1 ---- */

static void bce_logits_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dz = tape_grad(t, nd->in[0], &beta);
    if (!dz.mem) return;
    tensor z = tape_val(t, nd->in[0]), g = tape_out_grad(t, nd);
    int has_target = nd->in[1] >= 0;
    tensor y = has_target ? tape_val(t, nd->in[1]) : z; /* z stands in for the unread target buffer */
    size_t n = tnumel(z);
    kl_bce_logits_bwd(t->cl, clg_grid_1d(n), dz.mem, dz.off, z.mem, z.off, y.mem, y.off, has_target, nd->farg[1], g.mem,
                      g.off, nd->farg[0], n, beta);
}

int op_bce_logits_sum(tape *t, int z, int target, float yconst, float scale) {
    tensor zv = tape_val(t, z);
    tensor yv = zv;
    if (target >= 0) {
        yv = tape_val(t, target);
        if (!tsame_shape(zv, yv))
            die("op_bce_logits_sum: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", zv.n, zv.c, zv.h, zv.w, yv.n, yv.c,
                yv.h, yv.w);
    }
    size_t n = tnumel(zv);
    tensor tmp = arena_tensor(&t->ar, (int)n, 1, 1, 1);
    kl_bce_logits_terms(t->cl, clg_grid_1d(n), tmp.mem, tmp.off, zv.mem, zv.off, yv.mem, yv.off, target >= 0, yconst,
                        n);
    int out = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 1, &z)); /* the target takes no gradient */
    k_reduce_sum(t->cl, tape_val(t, out), tmp, n, scale);
    int ins[2] = {z, target};
    tnode *nd = tape_record(t, bce_logits_backward, "bce_logits", out, 2, ins);
    if (nd) {
        nd->farg[0] = scale;
        nd->farg[1] = yconst;
    }
    return out;
}
