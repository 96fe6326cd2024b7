/* Loss terms. Forward kernels write per-element terms (reduced by reduce_sum); backward kernels
 * read the upstream gradient g of the scalar loss from device memory, so no host round trip. */

#include "clg_shared.h"

/* Binary cross-entropy of probabilities p against targets t, logs clamped at -100 like PyTorch. */
__kernel void bce_terms(__global float *out, int ooff, __global const float *p, int poff,
                        __global const float *t, int toff, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float pv = p[poff + i], tv = t[toff + i];
    float lp = fmax(log(pv), -100.0f), l1p = fmax(log(1.0f - pv), -100.0f);
    out[ooff + i] = -(tv * lp + (1.0f - tv) * l1p);
}

/* dp = beta*dp + g*scale*(p - t) / max(p(1-p), 1e-12), PyTorch's BCE gradient. */
__kernel void bce_bwd(__global float *dp, int dpoff, __global const float *p, int poff,
                      __global const float *t, int toff, __global const float *g, int goff, float scale,
                      int n, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float pv = p[poff + i];
    float v = g[goff] * scale * (pv - t[toff + i]) / fmax(pv * (1.0f - pv), 1e-12f);
    ACC(dp[dpoff + i], v);
}

/* KL(N(mu, exp(lv)) || N(0, 1)) per element: 0.5*(exp(lv) + mu^2 - 1 - lv). */
__kernel void kl_terms(__global float *out, int ooff, __global const float *mu, int muoff,
                       __global const float *lv, int lvoff, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float m = mu[muoff + i], l = lv[lvoff + i];
    out[ooff + i] = 0.5f * (exp(l) + m * m - 1.0f - l);
}

__kernel void kl_bwd(__global float *dmu, int dmuoff, __global float *dlv, int dlvoff,
                     __global const float *mu, int muoff, __global const float *lv, int lvoff,
                     __global const float *g, int goff, float scale, int n, float beta_mu, float beta_lv) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gs = g[goff] * scale;
    float beta;
    if (dmu) { beta = beta_mu; ACC(dmu[dmuoff + i], gs * mu[muoff + i]); }
    if (dlv) { beta = beta_lv; ACC(dlv[dlvoff + i], gs * 0.5f * (exp(lv[lvoff + i]) - 1.0f)); }
}

/* Squared error terms (a - b)^2. */
__kernel void sqerr_terms(__global float *out, int ooff, __global const float *a, int aoff,
                          __global const float *b, int boff, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float d = a[aoff + i] - b[boff + i];
    out[ooff + i] = d * d;
}

/* d/da of scale*sum (a-b)^2 = 2*scale*(a-b)*g; sign -1 gives the gradient for b. */
__kernel void sqerr_bwd(__global float *da, int daoff, __global const float *a, int aoff,
                        __global const float *b, int boff, __global const float *g, int goff, float scale,
                        float sign, int n, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    ACC(da[daoff + i], sign * 2.0f * scale * g[goff] * (a[aoff + i] - b[boff + i]));
}

/* Absolute error terms |a - b| (L1 losses). */
__kernel void absdiff_terms(__global float *out, int ooff, __global const float *a, int aoff,
                            __global const float *b, int boff, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    out[ooff + i] = fabs(a[aoff + i] - b[boff + i]);
}

/* d/da of scale*sum |a-b| = scale*sign(a-b)*g, sign(0) = 0 as torch.sign; sign -1 gives b's gradient. */
__kernel void absdiff_bwd(__global float *da, int daoff, __global const float *a, int aoff,
                          __global const float *b, int boff, __global const float *g, int goff, float scale,
                          float sign, int n, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float d = a[aoff + i] - b[boff + i];
    float sg = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
    ACC(da[daoff + i], sign * scale * g[goff] * sg);
}

/* Scalar combination: out = wa*a + wb*b (losses); its backward is axpby with the upstream g. */
__kernel void scalar_lincomb(__global float *out, int ooff, __global const float *a, int aoff,
                             __global const float *b, int boff, float wa, float wb) {
    if (get_global_id(0) == 0) out[ooff] = wa * a[aoff] + wb * b[boff];
}

/* d = beta*d + w*g[goff] for a scalar. */
__kernel void scalar_grad(__global float *d, int doff, __global const float *g, int goff, float w, float beta) {
    if (get_global_id(0) == 0) ACC(d[doff], w * g[goff]);
}

/* Sum: dx = beta*dx + g*scale, the upstream gradient of scale*sum(x) broadcast. */
__kernel void sum_all_bwd(__global float *dx, int dxoff, __global const float *g, int goff, float scale, int n,
                          float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    ACC(dx[dxoff + i], g[goff] * scale);
}

/* BCE with logits per element: max(z,0) - z*y + log1p(exp(-|z|)), finite for any finite z. The target is
 * y[yoff + i] when has_target, else the constant yconst (y is then any valid buffer, never read). */
__kernel void bce_logits_terms(__global float *out, int ooff, __global const float *z, int zoff,
                               __global const float *y, int yoff, int has_target, float yconst, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float zv = z[zoff + i], tv = has_target ? y[yoff + i] : yconst;
    out[ooff + i] = fmax(zv, 0.0f) - zv * tv + log1p(exp(-fabs(zv)));
}

/* dz = beta*dz + g*scale*(sigmoid(z) - y), sigmoid in the branch that cannot overflow. */
__kernel void bce_logits_bwd(__global float *dz, int dzoff, __global const float *z, int zoff,
                             __global const float *y, int yoff, int has_target, float yconst,
                             __global const float *g, int goff, float scale, int n, float beta) {
    int i = get_global_id(0);
    if (i >= n) return;
    float zv = z[zoff + i], tv = has_target ? y[yoff + i] : yconst;
    float e = exp(-fabs(zv));
    float s = zv >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    ACC(dz[dzoff + i], g[goff] * scale * (s - tv));
}
