/* Normalisation (batch norm, instance norm). Both normalise "groups" of a NCHW tensor x of C
 * channels and HW = H*W pixels per plane:
 *   batch norm:    G = C groups (one per channel), M = N*HW elements each;
 *   instance norm: G = N*C groups (one per plane), M = HW elements each.
 * In both, group g starts at x[xoff + g*HW], and its element j is at
 *   x[xoff + g*HW + (j / HW) * stride + j % HW]   with stride = C*HW
 * (for instance norm j / HW is always 0). Element i of the tensor belongs to group (i / HW) % G, and
 * its channel (the index of gamma and beta) is that group % C.
 *
 * Per-group statistics live in one buffer `st` of 3*G floats at soff: mean [0, G), inverse standard
 * deviation 1/sqrt(var + eps) [G, 2G), biased variance [2G, 3G).
 *
 * Reductions run one work-group per group (local size a power of two, __local scratch passed by the
 * host); each visits its group plane by plane (M / HW planes, stride apart), so no element pays an
 * integer division (on CPUs that division cost more than the memory traffic). The elementwise kernels
 * run on a 2-D grid {8 pixels, plane}: the group and channel are per plane, not per element. Work-items
 * read and write 8-float vectors: PoCL vectorises a work-item's own vector operations, not a loop of
 * strided scalar reads, and that made these kernels 2-4x faster on CPUs. Backward
 * kernels compute dst = beta*dst + grad, beta 0 overwriting whatever dst held.
 *
 * An activation may follow the norm in the same node (act, host/ops_norm.h): NORM_ACT_RELU applies
 * fmax(y, 0) as relu_fwd does, NORM_ACT_LRELU y > 0 ? y : slope*y as leaky_relu_fwd does, in norm_apply;
 * the backward kernels then read the activation's output A and its gradient dA, and take
 * dy = A > 0 ? dA : 0 (or slope*dA), relu_bwd's and leaky_relu_bwd's values (with slope >= 0, A > 0
 * exactly where the norm's output was): no launch and no tensor of their own.
 *
 * Or a residual R may be added to the norm's output (has_r: y = R + norm(x), add_tensors_fwd's sum; the
 * ResNet block's x + conv_block(x) whose last layer is the norm): the backward then reads dy as the
 * norm's own output gradient, and the host adds it into R's. */

#include "clg_shared.h"
#include "common.clh"

/* The activation after the norm (see above), forward on y and backward on dA given A. */
float8 norm_act8(float8 v, int act, float slope) {
    return act == NORM_ACT_RELU ? fmax(v, 0.0f) : act == NORM_ACT_LRELU ? select(slope * v, v, v > 0.0f) : v;
}
float norm_act1(float v, int act, float slope) {
    return act == NORM_ACT_RELU ? fmax(v, 0.0f) : act == NORM_ACT_LRELU ? (v > 0.0f ? v : slope * v) : v;
}
float8 norm_act_grad8(float8 d, float8 a, int act, float slope) {
    return act == NORM_ACT_RELU    ? select((float8)0.0f, d, a > 0.0f)
           : act == NORM_ACT_LRELU ? select(slope * d, d, a > 0.0f)
                                   : d;
}
float norm_act_grad1(float d, float a, int act, float slope) {
    return act == NORM_ACT_RELU ? (a > 0.0f ? d : 0.0f) : act == NORM_ACT_LRELU ? (a > 0.0f ? d : slope * d) : d;
}

/* Tree sum of tmp[0, wg) into tmp[0] (all work-items of the group must call it). */
void norm_tree_sum(__local float *tmp, int l, int wg) {
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = wg / 2; s > 0; s >>= 1) {
        if (l < s) tmp[l] += tmp[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Tree-sums two values over a work-group of wg (a power of two) work-items; every work-item must
 * call it. The totals end in tmp[0] and tmp2[0]. */
void norm_reduce2(__local float *tmp, __local float *tmp2, float s1, float s2, int l, int wg) {
    tmp[l] = s1;
    tmp2[l] = s2;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg / 2; h > 0; h >>= 1) {
        if (l < h) {
            tmp[l] += tmp[l + h];
            tmp2[l] += tmp2[l + h];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Mean and variance of each group, two passes over the data: the mean, then the centred sums
 * sum(d) and sum(d^2) with d = x - mean; var = (sum(d^2) - sum(d)^2 / M) / M (the corrected
 * two-pass formula: sum(d) is zero up to the rounding of the mean, and subtracting its square
 * removes that rounding's first-order effect); the stored mean is refined to mean + sum(d)/M likewise.
 * Each work-item accumulates with Kahan summation, the
 * work-group then sums pairwise. tmp: 2*wg floats. */
__kernel void norm_stats(__global const float *x, int xoff, int HW, int stride, int M, int G, float eps,
                         __global float *st, int soff, __local float *tmp) {
    int g = get_group_id(0), l = get_local_id(0), wg = get_local_size(0);
    float8 s = 0.0f, comp = 0.0f;
    for (int q = 0, base = xoff + g * HW; q < M / HW; q++, base += stride) {
        for (int r = l; r < HW / 8; r += wg) {
            float8 v = vload8(r, x + base) - comp;
            float8 t = s + v;
            comp = (t - s) - v;
            s = t;
        }
        for (int r = HW / 8 * 8 + l; r < HW; r += wg) s.s0 += x[base + r];
    }
    tmp[l] = lanes8_sum(s);
    norm_tree_sum(tmp, l, wg);
    float mean = tmp[0] / (float)M;
    barrier(CLK_LOCAL_MEM_FENCE); /* everyone has read tmp[0] before it is overwritten */
    float8 s1 = 0.0f, c1 = 0.0f, s2 = 0.0f, c2 = 0.0f;
    for (int q = 0, base = xoff + g * HW; q < M / HW; q++, base += stride) {
        for (int r = l; r < HW / 8; r += wg) {
            float8 d = vload8(r, x + base) - mean;
            KAHAN_ADD8(s1, c1, d);
            KAHAN_ADD8(s2, c2, d * d);
        }
        for (int r = HW / 8 * 8 + l; r < HW; r += wg) {
            float d = x[base + r] - mean;
            s1.s0 += d;
            s2.s0 += d * d;
        }
    }
    __local float *tmp2 = tmp + wg;
    norm_reduce2(tmp, tmp2, lanes8_sum(s1), lanes8_sum(s2), l, wg);
    if (l == 0) {
        float sd = tmp[0];
        float var = fmax((tmp2[0] - sd * sd / (float)M) / (float)M, 0.0f);
        st[soff + g] = mean + sd / (float)M;
        st[soff + G + g] = 1.0f / sqrt(var + eps);
        st[soff + 2 * G + g] = var;
    }
}

/* Batch norm's running statistics (one work-item per channel), as PyTorch:
 * running = (1 - m) * running + m * batch, with the unbiased variance var * M / (M - 1). */
__kernel void norm_running_update(__global float *rm, int rmoff, __global float *rv, int rvoff,
                                  __global const float *st, int soff, int C, int M, float momentum) {
    int c = get_global_id(0);
    if (c >= C) return;
    float unbiased = st[soff + 2 * C + c] * ((float)M / (float)(M - 1));
    rm[rmoff + c] = (1.0f - momentum) * rm[rmoff + c] + momentum * st[soff + c];
    rv[rvoff + c] = (1.0f - momentum) * rv[rvoff + c] + momentum * unbiased;
}

/* Statistics from the running estimates (batch norm in evaluation mode). */
__kernel void norm_stats_from_running(__global float *st, int soff, __global const float *rm, int rmoff,
                                      __global const float *rv, int rvoff, int C, float eps) {
    int c = get_global_id(0);
    if (c >= C) return;
    float v = rv[rvoff + c];
    st[soff + c] = rm[rmoff + c];
    st[soff + C + c] = 1.0f / sqrt(v + eps);
    st[soff + 2 * C + c] = v;
}

/* y = (R +) act((x - mean) * invstd * gamma + beta) on the grid {8 pixels, plane}; has_gamma / has_beta 0 mean
 * gamma 1 / beta 0 (their buffers are then placeholders and never read). */
__kernel void norm_apply(__global float *y, int yoff, __global const float *x, int xoff,
                         __global const float *st, int soff, __global const float *gamma, int goff, int has_gamma,
                         __global const float *bta, int boff, int has_beta, int HW, int G, int C, int act,
                         float slope, __global const float *R, int roff, int has_r) {
    int p = 8 * get_global_id(0), plane = get_global_id(1);
    if (p >= HW) return;
    int i = plane * HW + p, g = plane % G, c = g % C;
    float mean = st[soff + g], invstd = st[soff + G + g];
    float gm = has_gamma ? gamma[goff + c] : 1.0f, bt = has_beta ? bta[boff + c] : 0.0f;
    if (p + 8 <= HW) {
        float8 v = (vload8(0, x + xoff + i) - mean) * invstd;
        if (has_gamma) v *= gm;
        if (has_beta) v += bt;
        v = norm_act8(v, act, slope);
        if (has_r) v = vload8(0, R + roff + i) + v;
        vstore8(v, 0, y + yoff + i);
        return;
    }
    for (int k = 0; k < HW - p; k++) {
        float v = (x[xoff + i + k] - mean) * invstd;
        if (has_gamma) v *= gm;
        if (has_beta) v += bt;
        v = norm_act1(v, act, slope);
        y[yoff + i + k] = has_r ? R[roff + i + k] + v : v;
    }
}

/* Per-group sums for backward: sums[g] = sum(dy), sums[G + g] = sum(dy * xhat), with
 * xhat = (x - mean) * invstd. Kahan summation per work-item, as norm_stats: the sums cancel (after a
 * later norm sum(dy) is zero up to rounding), and on a CPU (reduce_wg 4) each lane of a work-item adds
 * a long run of a group, not a short one before a tree. tmp: 2*wg floats. With act, dy holds dA and
 * the kernel takes the activation's gradient from A (see above). */
__kernel void norm_bwd_sums(__global const float *dy, int dyoff, __global const float *x, int xoff,
                            __global const float *st, int soff, int HW, int stride, int M, int G,
                            __global float *sums, int sumoff, __local float *tmp, __global const float *A,
                            int aoff, int act, float slope) {
    int g = get_group_id(0), l = get_local_id(0), wg = get_local_size(0);
    float mean = st[soff + g], invstd = st[soff + G + g];
    float8 s1 = 0.0f, s2 = 0.0f, c1 = 0.0f, c2 = 0.0f;
    for (int q = 0, k0 = g * HW; q < M / HW; q++, k0 += stride) {
        for (int r = l; r < HW / 8; r += wg) {
            float8 d = vload8(r, dy + dyoff + k0);
            if (act) d = norm_act_grad8(d, vload8(r, A + aoff + k0), act, slope);
            KAHAN_ADD8(s1, c1, d);
            KAHAN_ADD8(s2, c2, d * ((vload8(r, x + xoff + k0) - mean) * invstd));
        }
        for (int r = HW / 8 * 8 + l; r < HW; r += wg) {
            float d = dy[dyoff + k0 + r];
            if (act) d = norm_act_grad1(d, A[aoff + k0 + r], act, slope);
            s1.s0 += d;
            s2.s0 += d * ((x[xoff + k0 + r] - mean) * invstd);
        }
    }
    __local float *tmp2 = tmp + wg;
    norm_reduce2(tmp, tmp2, lanes8_sum(s1), lanes8_sum(s2), l, wg);
    if (l == 0) {
        sums[sumoff + g] = tmp[0];
        sums[sumoff + G + g] = tmp2[0];
    }
}

/* Gradient of a per-channel parameter from per-group sums s (reps groups per channel, group
 * k*C + c for channel c): d[c] = beta*d[c] + sum_k s[k*C + c]. */
__kernel void norm_param_grad(__global float *d, int doff, __global const float *s, int off, int C, int reps,
                              float beta) {
    int c = get_global_id(0);
    if (c >= C) return;
    float v = 0.0f;
    for (int k = 0; k < reps; k++) v += s[off + k * C + c];
    ACC(d[doff + c], v);
}

/* dx = beta*dx + gamma * invstd * (dy - sum(dy)/M - xhat * sum(dy*xhat)/M) through the statistics
 * (through_stats != 0: they were computed from x), or gamma * invstd * dy (fixed statistics), on the
 * grid {8 pixels, plane}; with act, dy from dA and A as in norm_bwd_sums. */
__kernel void norm_bwd_dx(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                          __global const float *x, int xoff, __global const float *st, int soff,
                          __global const float *gamma, int goff, int has_gamma, __global const float *sums,
                          int sumoff, int through_stats, int HW, int G, int C, int M, float beta,
                          __global const float *A, int aoff, int act, float slope) {
    int p = 8 * get_global_id(0), plane = get_global_id(1);
    if (p >= HW) return;
    int i = plane * HW + p, g = plane % G, c = g % C;
    float mean = st[soff + g], invstd = st[soff + G + g];
    float scale = has_gamma ? gamma[goff + c] * invstd : invstd;
    float s1 = through_stats ? sums[sumoff + g] : 0.0f, s2 = through_stats ? sums[sumoff + G + g] : 0.0f;
    if (p + 8 <= HW) {
        float8 v = vload8(0, dy + dyoff + i);
        if (act) v = norm_act_grad8(v, vload8(0, A + aoff + i), act, slope);
        if (through_stats) v -= (s1 + (vload8(0, x + xoff + i) - mean) * invstd * s2) / (float)M;
        v *= scale;
        if (beta != 0.0f) v += beta * vload8(0, dx + dxoff + i);
        vstore8(v, 0, dx + dxoff + i);
        return;
    }
    for (int k = 0; k < HW - p; k++) {
        float v = dy[dyoff + i + k];
        if (act) v = norm_act_grad1(v, A[aoff + i + k], act, slope);
        if (through_stats) v -= (s1 + (x[xoff + i + k] - mean) * invstd * s2) / (float)M;
        ACC(dx[dxoff + i + k], scale * v);
    }
}
