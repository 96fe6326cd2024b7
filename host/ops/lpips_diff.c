/* LPIPS's normalised squared difference (host/ops_lpips.h): farg[0] eps. */
#include "kernel_launch.h"
#include "ops.h"
#include "ops_lpips.h"
#include "util.h"

static void lpips_diff_backward(tape *t, const tnode *nd) {
    float ba = 0, bb = 0;
    tensor ga = tape_grad(t, nd->in[0], &ba), gb = tape_grad(t, nd->in[1], &bb);
    if (!ga.mem && !gb.mem) return;
    tensor a = tape_val(t, nd->in[0]), b = tape_val(t, nd->in[1]), dy = tape_out_grad(t, nd);
    int HW = a.h * a.w;
    cl_mem any = ga.mem ? ga.mem : gb.mem; /* a valid buffer for the absent one's argument */
    kl_lpips_diff_bwd(t->cl, clg_grid_1d((size_t)a.n * HW), ga.mem ? ga.mem : any, ga.off, ga.mem != NULL, ba,
                      gb.mem ? gb.mem : any, gb.off, gb.mem != NULL, bb, dy.mem, dy.off, a.mem, a.off, b.mem, b.off, a.n,
                      a.c, HW, nd->farg[0]);
}

int op_lpips_diff(tape *t, int a, int b, float eps) {
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (!tsame_shape(av, bv))
        die("op_lpips_diff: shapes {%d, %d, %d, %d} and {%d, %d, %d, %d} differ", av.n, av.c, av.h, av.w, bv.n, bv.c, bv.h, bv.w);
    if (a == b) die("op_lpips_diff: a and b are the same variable (the difference is 0; pass a copy)");
    if (tnumel(av) > 0x7fffffff) die("op_lpips_diff: %zu elements do not fit the kernel's int arguments", tnumel(av));
    int in[2] = {a, b};
    int y = tape_new(t, av.n, av.c, av.h, av.w, tape_any_grad(t, 2, in));
    tensor yv = tape_val(t, y);
    int HW = av.h * av.w;
    kl_lpips_diff_fwd(t->cl, clg_grid_1d((size_t)av.n * HW), yv.mem, yv.off, av.mem, av.off, bv.mem, bv.off, av.n, av.c, HW,
                      eps);
    tnode *nd = tape_record(t, lpips_diff_backward, "lpips_diff", y, 2, in);
    if (nd) nd->farg[0] = eps;
    return y;
}
