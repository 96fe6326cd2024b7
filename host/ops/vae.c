/* The VAE's reparameterisation, and device noise for it. */
#include "ops.h"
#include "util.h"

static void reparam_backward(tape *t, const tnode *nd) {
    float bmu, blv;
    tensor dmu = tape_grad(t, nd->in[0], &bmu), dlv = tape_grad(t, nd->in[1], &blv);
    tensor dz = tape_out_grad(t, nd), lv = tape_val(t, nd->in[1]), eps = tape_val(t, nd->in[2]);
    size_t n = tnumel(lv);
    CLG_LAUNCH1(t->cl, "reparam_bwd", n, KMEM(dmu.mem), KINT(dmu.off), KMEM(dlv.mem), KINT(dlv.off), KMEM(dz.mem),
                KINT(dz.off), KMEM(lv.mem), KINT(lv.off), KMEM(eps.mem), KINT(eps.off), KINT(n), KFLOAT(bmu),
                KFLOAT(blv));
}

int op_reparam(tape *t, int mu, int logvar, int eps) {
    tensor m = tape_val(t, mu), lv = tape_val(t, logvar), e = tape_val(t, eps);
    if (!tsame_shape(m, lv) || !tsame_shape(m, e)) die("op_reparam: mu, logvar and eps must have one shape");
    int ins[3] = {mu, logvar, eps};
    int z = tape_new(t, m.n, m.c, m.h, m.w, tape_any_grad(t, 2, ins));
    tensor zv = tape_val(t, z);
    size_t n = tnumel(m);
    CLG_LAUNCH1(t->cl, "reparam_fwd", n, KMEM(zv.mem), KINT(zv.off), KMEM(m.mem), KINT(m.off), KMEM(lv.mem),
                KINT(lv.off), KMEM(e.mem), KINT(e.off), KINT(n));
    tape_record(t, reparam_backward, "reparam", z, 3, ins);
    return z;
}

int tape_randn(tape *t, int n, int c, int h, int w, uint64_t seed, uint32_t stream, uint32_t step) {
    int v = tape_new(t, n, c, h, w, 0);
    tensor x = tape_val(t, v);
    size_t cnt = tnumel(x);
    CLG_LAUNCH1(t->cl, "rng_normal", cnt, KMEM(x.mem), KINT(x.off), KINT(cnt), KUINT((uint32_t)seed),
                KUINT((uint32_t)(seed >> 32)), KUINT(stream), KUINT(step));
    return v;
}
