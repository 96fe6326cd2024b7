/* The VAE's reparameterisation, device noise for it, and its reconstruction loss with a vector kernel. */
#include "kernel_launch.h"
#include "ops.h"
#include "ops_vae.h"
#include "util.h"

static void reparam_backward(tape *t, const tnode *nd) {
    float bmu, blv;
    tensor dmu = tape_grad(t, nd->in[0], &bmu), dlv = tape_grad(t, nd->in[1], &blv);
    tensor dz = tape_out_grad(t, nd), lv = tape_val(t, nd->in[1]), eps = tape_val(t, nd->in[2]);
    size_t n = tnumel(lv);
    kl_reparam_bwd(t->cl, clg_grid_1d(n), dmu.mem, dmu.off, dlv.mem, dlv.off, dz.mem, dz.off, lv.mem, lv.off, eps.mem,
                   eps.off, n, bmu, blv);
}

int op_reparam(tape *t, int mu, int logvar, int eps) {
    tensor m = tape_val(t, mu), lv = tape_val(t, logvar), e = tape_val(t, eps);
    if (!tsame_shape(m, lv) || !tsame_shape(m, e)) die("op_reparam: mu, logvar and eps must have one shape");
    int ins[3] = {mu, logvar, eps};
    int z = tape_new(t, m.n, m.c, m.h, m.w, tape_any_grad(t, 2, ins));
    tensor zv = tape_val(t, z);
    size_t n = tnumel(m);
    kl_reparam_fwd(t->cl, clg_grid_1d(n), zv.mem, zv.off, m.mem, m.off, lv.mem, lv.off, e.mem, e.off, n);
    tape_record(t, reparam_backward, "reparam", z, 3, ins);
    return z;
}

int tape_randn(tape *t, int n, int c, int h, int w, uint64_t seed, uint32_t stream, uint32_t step) {
    int v = tape_new(t, n, c, h, w, 0);
    tensor x = tape_val(t, v);
    size_t cnt = tnumel(x);
    kl_rng_normal(t->cl, clg_grid_1d(cnt), x.mem, x.off, cnt, (uint32_t)seed, (uint32_t)(seed >> 32), stream, step);
    return v;
}

static void bce_vec_backward(tape *t, const tnode *nd) { /* as op_bce_sum's (loss.c) */
    float beta;
    tensor dp = tape_grad(t, nd->in[0], &beta);
    if (!dp.mem) return;
    tensor p = tape_val(t, nd->in[0]), tg = tape_val(t, nd->in[1]), g = tape_out_grad(t, nd);
    size_t n = tnumel(p);
    kl_bce_bwd(t->cl, clg_grid_1d(n), dp.mem, dp.off, p.mem, p.off, tg.mem, tg.off, g.mem, g.off, nd->farg[0], n, beta);
}

int op_bce_sum_vec(tape *t, int p, int target, float scale) {
    tensor pv = tape_val(t, p), tv = tape_val(t, target);
    if (!tsame_shape(pv, tv)) die("op_bce_sum_vec: shapes differ (%dx%dx%dx%d vs %dx%dx%dx%d)", pv.n, pv.c, pv.h, pv.w,
                                  tv.n, tv.c, tv.h, tv.w);
    size_t n = tnumel(pv);
    tensor tmp = arena_tensor(&t->ar, (int)n, 1, 1, 1);
    kl_bce_terms8(t->cl, clg_grid_1d(n / 8 ? n / 8 : 1), tmp.mem, tmp.off, pv.mem, pv.off, tv.mem, tv.off, n);
    int ins[2] = {p, target};
    int y = tape_new(t, 1, 1, 1, 1, tape_any_grad(t, 1, &p));
    k_reduce_sum(t->cl, tape_val(t, y), tmp, n, scale);
    tnode *nd = tape_record(t, bce_vec_backward, "bce", y, 2, ins);
    if (nd) nd->farg[0] = scale;
    return y;
}
