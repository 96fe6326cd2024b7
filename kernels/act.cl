/* Activations. Backward kernels compute dx = beta*dx + dL/dx (beta 0 writes, 1 accumulates). */

#include "clg_shared.h"
#include "common.clh"

__kernel void relu_fwd(__global float *y, int yoff, __global const float *x, int xoff, int n) {
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = fmax(x[xoff + i], 0.0f);
}

/* Gradient at exactly 0 is taken as 0, as PyTorch does. */
__kernel void relu_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                       __global const float *x, int xoff, int n, float beta) {
    int i = get_global_id(0);
    if (i < n) ACC(dx[dxoff + i], x[xoff + i] > 0.0f ? dy[dyoff + i] : 0.0f);
}

__kernel void sigmoid_fwd(__global float *y, int yoff, __global const float *x, int xoff, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[xoff + i];
    /* Two branches keep exp() from overflowing for large |v|. */
    y[yoff + i] = v >= 0.0f ? 1.0f / (1.0f + exp(-v)) : exp(v) / (1.0f + exp(v));
}

__kernel void sigmoid_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                          __global const float *y, int yoff, int n, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float s = y[yoff + i];
    ACC(dx[dxoff + i], dy[dyoff + i] * s * (1.0f - s));
}

/* LeakyReLU: x > 0 ? x : slope*x. */
__kernel void leaky_relu_fwd(__global float *y, int yoff, __global const float *x, int xoff, int n, float slope) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[xoff + i];
    y[yoff + i] = v > 0.0f ? v : slope * v;
}

/* Gradient at exactly 0 from the negative side (slope), as PyTorch. */
__kernel void leaky_relu_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                             __global const float *x, int xoff, int n, float slope, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float g = dy[dyoff + i];
    ACC(dx[dxoff + i], x[xoff + i] > 0.0f ? g : slope * g);
}

__kernel void tanh_fwd(__global float *y, int yoff, __global const float *x, int xoff, int n) {
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = tanh(x[xoff + i]);
}

/* From the output: d tanh = 1 - y^2. */
__kernel void tanh_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                       __global const float *y, int yoff, int n, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float t = y[yoff + i];
    ACC(dx[dxoff + i], dy[dyoff + i] * (1.0f - t * t));
}

/* ELU: x > 0 ? x : alpha*(exp(x) - 1). */
__kernel void elu_fwd(__global float *y, int yoff, __global const float *x, int xoff, int n, float alpha) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[xoff + i];
    /* exp(v) - 1, as PyTorch's CPU ELU computes it (ATen's elu kernel), not expm1: the same to 6e-8
     * absolute, and PoCL's expm1 is a scalar call that made this kernel 9x slower (./bench --model
     * avae --profile: 1.8 against 0.2 ms per 200k elements) */
    y[yoff + i] = v > 0.0f ? v : alpha * (exp_nonpos(v) - 1.0f);
}

/* From the output y (alpha > 0, so y > 0 exactly where x > 0): 1 there, else alpha*exp(x) = y + alpha; at
 * exactly 0 the negative side (alpha), as PyTorch. No exp: the kernel streams three arrays. */
__kernel void elu_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                      __global const float *y, int yoff, int n, float alpha, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = y[yoff + i], g = dy[dyoff + i];
    ACC(dx[dxoff + i], v > 0.0f ? g : g * (v + alpha));
}

/* Inverted dropout. Element i is kept iff u01 of the first word of Philox block (i, 0, stream, step) under
 * key (seed_lo, seed_hi) is >= p (probability 1-p), as host/rng.c's rng_uniform draws it. The mask is a pure
 * function of its arguments, so the backward recomputes it. scale = 1/(1-p), or 0 for p >= 1. */
int dropout_keep(int i, float p, uint seed_lo, uint seed_hi, uint stream, uint step) {
    uint4 r = philox4x32_10((uint4)((uint)i, 0u, stream, step), (uint2)(seed_lo, seed_hi));
    return u01(r.x) >= p;
}

__kernel void dropout_fwd(__global float *y, int yoff, __global const float *x, int xoff, int n, float p,
                          float scale, uint seed_lo, uint seed_hi, uint stream, uint step) {
    int i = get_global_id(0);
    if (i >= n) return;
    y[yoff + i] = dropout_keep(i, p, seed_lo, seed_hi, stream, step) ? scale * x[xoff + i] : 0.0f;
}

__kernel void dropout_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff, int n, float p,
                          float scale, uint seed_lo, uint seed_hi, uint stream, uint step, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    ACC(dx[dxoff + i], dropout_keep(i, p, seed_lo, seed_hi, stream, step) ? scale * dy[dyoff + i] : 0.0f);
}

/* x = clamp(x, lo, hi) in place (weight clipping). Written with comparisons so NaN stays NaN. */
__kernel void clamp_inplace(__global float *x, int off, int n, float lo, float hi) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[off + i];
    x[off + i] = v < lo ? lo : (v > hi ? hi : v);
}
