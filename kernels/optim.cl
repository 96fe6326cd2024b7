/* Adam over a whole network's parameters in one launch, with PyTorch's formula:
 * g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps).
 * lr_bc1 = lr/bc1, inv_sqrt_bc2 = 1/sqrt(bc2) and 1 - beta are computed on the host in double precision
 * (1 - 0.999f in float is 9.9998713e-4, not 1e-3: a bias PyTorch does not have). */

#include "clg_shared.h"

__kernel void adam_step(__global float *p, __global const float *g, __global float *m, __global float *v, int n,
                        float lr_bc1, float inv_sqrt_bc2, float b1, float b2, float one_minus_b1, float one_minus_b2,
                        float eps, float wd) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i] + wd * p[i];
    float mi = b1 * m[i] + one_minus_b1 * gi;
    float vi = b2 * v[i] + one_minus_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr_bc1 * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
}

/* RMSprop as torch.optim.RMSprop (no momentum, not centered):
 * g += wd*p; v = alpha*v + (1-alpha)*g^2; p -= lr * g / (sqrt(v) + eps). */
__kernel void rmsprop_step(__global float *p, __global const float *g, __global float *v, int n, float lr, float alpha,
                           float one_minus_alpha, float eps, float wd) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i] + wd * p[i];
    float vi = alpha * v[i] + one_minus_alpha * gi * gi;
    v[i] = vi;
    p[i] -= lr * gi / (sqrt(vi) + eps);
}
