/* LPIPS's per-layer difference (host/ops/lpips_diff.c): each pixel's feature vector (over channels)
 * unit-normalised as lpips.normalize_tensor, x / (sqrt(sum_c x^2) + eps), then the squared difference
 * of the two normalised vectors. Tensors {N, C, HW}; one work-item per (sample, pixel), looping over
 * the channels (stride HW). */

__kernel void lpips_diff_fwd(__global float *y, int yoff, __global const float *a, int aoff, __global const float *b,
                             int boff, int N, int C, int HW, float eps) {
    int i = get_global_id(0);
    if (i >= N * HW) return;
    int n = i / HW, p = i - n * HW;
    long base = (long)n * C * HW + p;
    float sa = 0.0f, sb = 0.0f;
    for (int c = 0; c < C; c++) {
        float va = a[aoff + base + (long)c * HW], vb = b[boff + base + (long)c * HW];
        sa += va * va;
        sb += vb * vb;
    }
    float da = sqrt(sa) + eps, db = sqrt(sb) + eps;
    for (int c = 0; c < C; c++) {
        float d = a[aoff + base + (long)c * HW] / da - b[boff + base + (long)c * HW] / db;
        y[yoff + base + (long)c * HW] = d * d;
    }
}

/* With u = a / (|a| + eps) and g = 2 (u - v) dy per channel:
 *   da = g / (|a| + eps) - a (a . g) / ((|a| + eps)^2 |a|)   (the second term 0 where |a| = 0),
 * db the same for b with -g. Each written as dst = beta*dst + value where its flag is set. */
__kernel void lpips_diff_bwd(__global float *ga, int gaoff, int has_ga, float beta_a, __global float *gb, int gboff,
                             int has_gb, float beta_b, __global const float *dy, int dyoff, __global const float *a,
                             int aoff, __global const float *b, int boff, int N, int C, int HW, float eps) {
    int i = get_global_id(0);
    if (i >= N * HW) return;
    int n = i / HW, p = i - n * HW;
    long base = (long)n * C * HW + p;
    float sa = 0.0f, sb = 0.0f;
    for (int c = 0; c < C; c++) {
        float va = a[aoff + base + (long)c * HW], vb = b[boff + base + (long)c * HW];
        sa += va * va;
        sb += vb * vb;
    }
    float na = sqrt(sa), nb = sqrt(sb), da = na + eps, db = nb + eps;
    float ag = 0.0f, bg = 0.0f; /* a . g and b . g */
    for (int c = 0; c < C; c++) {
        long e = base + (long)c * HW;
        float va = a[aoff + e], vb = b[boff + e];
        float g = 2.0f * (va / da - vb / db) * dy[dyoff + e];
        ag += va * g;
        bg += vb * g;
    }
    float ka = na > 0.0f ? ag / (da * da * na) : 0.0f, kb = nb > 0.0f ? bg / (db * db * nb) : 0.0f;
    for (int c = 0; c < C; c++) {
        long e = base + (long)c * HW;
        float va = a[aoff + e], vb = b[boff + e];
        float g = 2.0f * (va / da - vb / db) * dy[dyoff + e];
        if (has_ga) {
            float v = g / da - va * ka;
            ga[gaoff + e] = beta_a == 0.0f ? v : v + beta_a * ga[gaoff + e];
        }
        if (has_gb) {
            float v = -(g / db - vb * kb);
            gb[gboff + e] = beta_b == 0.0f ? v : v + beta_b * gb[gboff + e];
        }
    }
}
