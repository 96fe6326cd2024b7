/* Activations. Backward kernels compute dx = beta*dx + dL/dx (beta 0 writes, 1 accumulates). */

#define ACC(dst, v) ((dst) = beta == 0.0f ? (v) : (v) + beta * (dst))

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
