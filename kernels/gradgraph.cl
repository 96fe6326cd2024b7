/* Kernels of the ops that express a backward pass as differentiable ops (host/ops/gradgraph.c),
 * used for gradient penalties (WGAN-GP): the gradient of a critic's output with respect to its
 * input, itself differentiated with respect to the critic's weights. */

#include "clg_shared.h"

/* y = g * s(x), s = 1 where x > 0 and slope elsewhere (leaky ReLU's derivative; ReLU: slope 0). */
__kernel void gg_lrelu_mask_fwd(__global float *y, int yoff, __global const float *g, int goff,
                                __global const float *x, int xoff, int n, float slope) {
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = g[goff + i] * (x[xoff + i] > 0.0f ? 1.0f : slope);
}

/* dg = beta*dg + dy * s(x): the mask is constant in x almost everywhere, so x gets no gradient. */
__kernel void gg_lrelu_mask_bwd(__global float *dg, int dgoff, __global const float *dy, int dyoff,
                                __global const float *x, int xoff, int n, float slope, float beta) {
    int i = get_global_id(0);
    if (i < n) ACC(dg[dgoff + i], dy[dyoff + i] * (x[xoff + i] > 0.0f ? 1.0f : slope));
}

/* y[i] = scale * s[0] over n elements (the gradient of scale*sum(x) seeded by the scalar s). */
__kernel void gg_broadcast_fwd(__global float *y, int yoff, __global const float *s, int soff, int n, float scale) {
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = scale * s[soff];
}

/* Per-row L2 norms: out[r] = sqrt(sum_k x[r, k]^2) for rows of length len. */
__kernel void gg_rownorm_fwd(__global float *out, int ooff, __global const float *x, int xoff, int rows, int len) {
    int r = get_global_id(0);
    if (r >= rows) return;
    float s = 0.0f;
    for (int k = 0; k < len; k++) {
        float v = x[xoff + r * len + k];
        s += v * v;
    }
    out[ooff + r] = sqrt(s);
}

/* dx = beta*dx + dnorm[r] * x / norm[r]; a zero row (norm 0) gets gradient 0, as torch.norm's. */
__kernel void gg_rownorm_bwd(__global float *dx, int dxoff, __global const float *x, int xoff,
                             __global const float *norm, int noff, __global const float *dn, int dnoff,
                             int rows, int len, float beta) {
    int i = get_global_id(0);
    if (i >= rows * len) return;
    int r = i / len;
    float nr = norm[noff + r];
    ACC(dx[dxoff + i], nr > 0.0f ? dn[dnoff + r] * x[xoff + i] / nr : 0.0f);
}

/* out[r, :] = e[r] * a[r, :] + (1 - e[r]) * b[r, :] (WGAN-GP's random points between real and fake). */
__kernel void gg_interp_rows(__global float *out, int ooff, __global const float *a, int aoff,
                             __global const float *b, int boff, __global const float *e, int eoff, int rows, int len) {
    int i = get_global_id(0);
    if (i >= rows * len) return;
    float w = e[eoff + i / len];
    out[ooff + i] = w * a[aoff + i] + (1.0f - w) * b[boff + i];
}

/* dst[r, k, :, :] = y[r, k] over hw pixels: one-hot vectors spread into label planes. */
__kernel void gg_broadcast_planes(__global float *dst, int doff, __global const float *y, int yoff, int rc, int hw) {
    int i = get_global_id(0);
    if (i < rc * hw) dst[doff + i] = y[yoff + i / hw];
}
