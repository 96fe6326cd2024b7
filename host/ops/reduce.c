/* Kernel-level helpers used by several ops. */
#include "kernel_launch.h"
#include "ops.h"

void k_axpby(clg_ctx *c, tensor y, tensor x, size_t n, float a, float b) {
    kl_axpby(c, clg_grid_1d(n), y.mem, y.off, x.mem, x.off, n, a, b);
}

void k_reduce_sum(clg_ctx *c, tensor out, tensor x, size_t n, float scale) {
    size_t wg = 256;
    while (wg > c->max_wg) wg /= 2;
    kl_reduce_sum(c, clg_grid_1d_local(wg, wg), out.mem, out.off, x.mem, x.off, n, scale, wg * sizeof(float));
}
