/* Scalar losses: per-element terms into scratch, then one reduction. Backward kernels read the
 * upstream gradient from device memory. */
#include "ops.h"
#include "util.h"

/* Element terms of kernel `terms` for two same-shaped inputs, summed into a new scalar variable. */
static int reduce_terms(tape *t, const char *terms, int a, int b, float scale, int wants_grad) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (!tsame_shape(av, bv)) die("%s: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", terms, av.n, av.c, av.h, av.w,
                                  bv.n, bv.c, bv.h, bv.w);
    size_t n = tnumel(av);
    tensor tmp = arena_tensor(&t->ar, (int)n, 1, 1, 1);
    CLG_LAUNCH1(t->cl, terms, n, KMEM(tmp.mem), KINT(tmp.off), KMEM(av.mem), KINT(av.off), KMEM(bv.mem), KINT(bv.off),
                KINT(n));
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
    CLG_LAUNCH1(t->cl, "bce_bwd", n, KMEM(dp.mem), KINT(dp.off), KMEM(p.mem), KINT(p.off), KMEM(tg.mem), KINT(tg.off),
                KMEM(g.mem), KINT(g.off), KFLOAT(nd->farg[0]), KINT(n), KFLOAT(beta));
}

int op_bce_sum(tape *t, int p, int target, float scale) {
    int y = reduce_terms(t, "bce_terms", p, target, scale, tape_any_grad(t, 1, &p));
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
    CLG_LAUNCH1(t->cl, "kl_bwd", n, KMEM(dmu.mem), KINT(dmu.off), KMEM(dlv.mem), KINT(dlv.off), KMEM(mu.mem),
                KINT(mu.off), KMEM(lv.mem), KINT(lv.off), KMEM(g.mem), KINT(g.off), KFLOAT(nd->farg[0]), KINT(n),
                KFLOAT(bmu), KFLOAT(blv));
}

int op_kl_normal_sum(tape *t, int mu, int logvar, float scale) {
    int ins[2] = {mu, logvar};
    int y = reduce_terms(t, "kl_terms", mu, logvar, scale, tape_any_grad(t, 2, ins));
    tnode *nd = tape_record(t, kl_backward, "kl_normal", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}

/* Backward of scale*sum f(a - b) for the elementwise pair losses: `kernel` writes the gradient of one
 * side (sign +1 for a, -1 for b), with the same arguments for sqerr_bwd and absdiff_bwd. */
static void pair_backward(tape *t, const tnode *nd, const char *kernel) {
    tensor a = tape_val(t, nd->in[0]), b = tape_val(t, nd->in[1]), g = tape_out_grad(t, nd);
    size_t n = tnumel(a);
    for (int side = 0; side < 2; side++) {
        float beta;
        tensor d = tape_grad(t, nd->in[side], &beta);
        if (!d.mem) continue;
        CLG_LAUNCH1(t->cl, kernel, n, KMEM(d.mem), KINT(d.off), KMEM(a.mem), KINT(a.off), KMEM(b.mem), KINT(b.off),
                    KMEM(g.mem), KINT(g.off), KFLOAT(nd->farg[0]), KFLOAT(side ? -1.0f : 1.0f), KINT(n), KFLOAT(beta));
    }
}

static void sqerr_backward(tape *t, const tnode *nd) { pair_backward(t, nd, "sqerr_bwd"); }

int op_sqerr_sum(tape *t, int a, int b, float scale) {
    int ins[2] = {a, b};
    int y = reduce_terms(t, "sqerr_terms", a, b, scale, tape_any_grad(t, 2, ins));
    tnode *nd = tape_record(t, sqerr_backward, "sqerr", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}

static void absdiff_backward(tape *t, const tnode *nd) { pair_backward(t, nd, "absdiff_bwd"); }

int op_absdiff_sum(tape *t, int a, int b, float scale) {
    int ins[2] = {a, b};
    int y = reduce_terms(t, "absdiff_terms", a, b, scale, tape_any_grad(t, 2, ins));
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
        CLG_LAUNCH1(t->cl, "scalar_grad", 1, KMEM(d.mem), KINT(d.off), KMEM(g.mem), KINT(g.off),
                    KFLOAT(nd->farg[side]), KFLOAT(beta));
    }
}

int op_lincomb(tape *t, int a, float wa, int b, float wb) {
    int ins[2] = {a, b};
    if (tnumel(tape_val(t, a)) != 1 || tnumel(tape_val(t, b)) != 1) die("op_lincomb: inputs must be scalars");
    int y = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y), av = tape_val(t, a), bv = tape_val(t, b);
    CLG_LAUNCH1(t->cl, "scalar_lincomb", 1, KMEM(yv.mem), KINT(yv.off), KMEM(av.mem), KINT(av.off), KMEM(bv.mem),
                KINT(bv.off), KFLOAT(wa), KFLOAT(wb));
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
    CLG_LAUNCH1(t->cl, "sum_all_bwd", n, KMEM(dx.mem), KINT(dx.off), KMEM(g.mem), KINT(g.off), KFLOAT(nd->farg[0]),
                KINT(n), KFLOAT(beta));
}

int op_sum(tape *t, int x, float scale) {
    tensor xv = tape_val(t, x);
    int y = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 1, &x));
    k_reduce_sum(t->cl, tape_val(t, y), xv, tnumel(xv), scale);
    tnode *nd = tape_record(t, sum_backward, "sum", y, 1, &x);
    if (nd) nd->farg[0] = scale;
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
    CLG_LAUNCH1(t->cl, "bce_logits_bwd", n, KMEM(dz.mem), KINT(dz.off), KMEM(z.mem), KINT(z.off), KMEM(y.mem),
                KINT(y.off), KINT(has_target), KFLOAT(nd->farg[1]), KMEM(g.mem), KINT(g.off), KFLOAT(nd->farg[0]),
                KINT(n), KFLOAT(beta));
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
    CLG_LAUNCH1(t->cl, "bce_logits_terms", n, KMEM(tmp.mem), KINT(tmp.off), KMEM(zv.mem), KINT(zv.off), KMEM(yv.mem),
                KINT(yv.off), KINT(target >= 0), KFLOAT(yconst), KINT(n));
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
