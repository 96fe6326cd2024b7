/* Kernel-level helpers used by several ops. */
#include "ops.h"

void k_axpby(clg_ctx *c, tensor y, tensor x, size_t n, float a, float b) {
    CLG_LAUNCH1(c, "axpby", n, KMEM(y.mem), KINT(y.off), KMEM(x.mem), KINT(x.off), KINT(n), KFLOAT(a), KFLOAT(b));
}

void k_reduce_sum(clg_ctx *c, tensor out, tensor x, size_t n, float scale) {
    size_t wg = 256;
    while (wg > c->max_wg) wg /= 2;
    karg args[] = {KMEM(out.mem), KINT(out.off), KMEM(x.mem), KINT(x.off), KINT(n), KFLOAT(scale),
                   KLOCAL(wg * sizeof(float))};
    clg_launch(c, "reduce_sum", 1, &wg, &wg, 7, args);
}
