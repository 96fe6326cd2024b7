/* The VAE's reparameterisation, and device noise for it. */
#include "kernel_launch.h"
#include "ops.h"
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
