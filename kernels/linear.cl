/* Fully-connected layers without CLBlast: the forward with its bias and activation in one launch, and
 * the backward in three (dz with db; dx; dW) or, without an activation, two (dx; dW with db). Written for small and
 * skinny shapes (a VAE's 400x5 layers) and for CPUs, where CLBlast's indirect GEMM pads and transposes
 * into freshly allocated buffers on every call (host/ops/linear.c chooses the path).
 *
 * act: 0 none, 1 ReLU, 2 sigmoid (LINEAR_ACT_* in host/ops_linear.h). Row-major throughout; every
 * result is a plain sum in a fixed order (no atomics), so runs are bit-reproducible. */

#include "clg_shared.h"

/* Rows per work-item: LIN_MR of linear_bwd_nn (x 16 columns), LIN_MR / 2 of linear_fwd (x 4 columns); -DLIN_MR
 * is the kernel parameter lin_mr (host/tuning_kp.c). 8 with AVX-512's 32 vector registers (8 x 16 ran twice
 * as fast as 4 x 16 there); 4 with AVX2's 16, where 8 rows' float8 accumulators spilled to the stack (PoCL's
 * code) and 4 ran the VAE's products 10-15% faster (docs/PERF.md, session 39). A work-item's shape changes
 * which outputs it computes, not how: every output is the same sum in the same order. */
#ifndef LIN_MR
#error "linear.cl needs -DLIN_MR (host/tuning_kp.c, clg_kernel_options)"
#endif
#if LIN_MR != 4 && LIN_MR != 8
#error "linear.cl: LIN_MR must be 4 or 8"
#endif
#define LIN_BM LIN_MR
#define LIN_FWD_MR (LIN_MR / 2)

/* The derivative factor of the activation, from the layer's output y (ReLU: y > 0 iff x > 0). */
inline float lin_act_grad(float dy, float y, int act) {
    if (act == 1) return y > 0.0f ? dy : 0.0f;
    if (act == 2) return dy * y * (1.0f - y); /* the order of act.cl's sigmoid_bwd */
    return dy;
}

/* lin_act on four values, lane by lane the same values: both sigmoid branches need exp(-|v|) only. */
inline float4 lin_act4(float4 v, int act) {
    if (act == 1) return fmax(v, 0.0f);
    if (act == 2) {
        float4 e = exp(-fabs(v));
        return select(e / (1.0f + e), 1.0f / (1.0f + e), v >= 0.0f);
    }
    return v;
}

inline float lin_act(float v, int act) {
    if (act == 1) return fmax(v, 0.0f);
    if (act == 2) return v >= 0.0f ? 1.0f / (1.0f + exp(-v)) : exp(v) / (1.0f + exp(v)); /* act.cl's sigmoid_fwd */
    return v;
}

/* y[i][j] = act(sum_k x[i][k] w[j][k] + b[j]), x {M, K}, w {N, K} (PyTorch's layout), y {M, N}; b may be
 * NULL. A work-item computes rows LIN_FWD_MR*gid(1).. and columns 4*gid(0).., eight k at a time (dot products
 * over two contiguous rows). The tile is spelled out in named variables: PoCL keeps private arrays
 * in memory (an array-based version ran 25x slower). */
#define LIN_HSUM(a) (((a).s0 + (a).s1) + ((a).s2 + (a).s3)) + (((a).s4 + (a).s5) + ((a).s6 + (a).s7))
#define LIN_ROW4(m) a##m##0 = fma(x##m, w0, a##m##0); a##m##1 = fma(x##m, w1, a##m##1); \
                    a##m##2 = fma(x##m, w2, a##m##2); a##m##3 = fma(x##m, w3, a##m##3);
/* Row m of the tile: the k tail, the bias, the activation on four values at once (PoCL's vector exp for
 * the sigmoid; the scalar one per element cost more than the products), stores inside the bounds. */
#define LIN_OUT(m) if (i0 + m < M) { \
        float4 s = (float4)(LIN_HSUM(a##m##0), LIN_HSUM(a##m##1), LIN_HSUM(a##m##2), LIN_HSUM(a##m##3)); \
        for (int kk = k; kk < K; kk++) s = fma((float4)(xr##m[kk]), (float4)(wr0[kk], wr1[kk], wr2[kk], wr3[kk]), s); \
        s = lin_act4(s + bias, act); \
        __global float *yr = y + yoff + (size_t)(i0 + m) * N + j0; \
        if (j0 + 4 <= N) vstore4(s, 0, yr); \
        else { yr[0] = s.s0; if (j0 + 1 < N) yr[1] = s.s1; if (j0 + 2 < N) yr[2] = s.s2; } }
__kernel void linear_fwd(__global float *y, int yoff, __global const float *x, int xoff, __global const float *w,
                         int woff, __global const float *b, int boff, int M, int N, int K, int act) {
    int j0 = (int)get_global_id(0) * 4, i0 = (int)get_global_id(1) * LIN_FWD_MR;
    if (i0 >= M || j0 >= N) return;
    /* clamped rows: the loads stay in bounds, the stores are skipped */
    __global const float *xr0 = x + xoff + (size_t)min(i0 + 0, M - 1) * K, *xr1 = x + xoff + (size_t)min(i0 + 1, M - 1) * K;
#if LIN_FWD_MR == 4
    __global const float *xr2 = x + xoff + (size_t)min(i0 + 2, M - 1) * K, *xr3 = x + xoff + (size_t)min(i0 + 3, M - 1) * K;
#endif
    __global const float *wr0 = w + woff + (size_t)min(j0 + 0, N - 1) * K, *wr1 = w + woff + (size_t)min(j0 + 1, N - 1) * K;
    __global const float *wr2 = w + woff + (size_t)min(j0 + 2, N - 1) * K, *wr3 = w + woff + (size_t)min(j0 + 3, N - 1) * K;
    float8 a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
#if LIN_FWD_MR == 4
    float8 a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
#endif
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        float8 x0 = vload8(0, xr0 + k), x1 = vload8(0, xr1 + k);
        float8 w0 = vload8(0, wr0 + k), w1 = vload8(0, wr1 + k), w2 = vload8(0, wr2 + k), w3 = vload8(0, wr3 + k);
        LIN_ROW4(0) LIN_ROW4(1)
#if LIN_FWD_MR == 4
        float8 x2 = vload8(0, xr2 + k), x3 = vload8(0, xr3 + k);
        LIN_ROW4(2) LIN_ROW4(3)
#endif
    }
    float4 bias = 0.0f;
    if (b)
        bias = (float4)(b[boff + j0], b[boff + min(j0 + 1, N - 1)], b[boff + min(j0 + 2, N - 1)], b[boff + min(j0 + 3, N - 1)]);
    LIN_OUT(0) LIN_OUT(1)
#if LIN_FWD_MR == 4
    LIN_OUT(2) LIN_OUT(3)
#endif
}

/* The backward products, both of the form c = beta*c + sum_p A(m, p) * bm[p][n], with A = dz, the
 * gradient before the activation (linear_act_bwd writes it when there is one; else dz = dy):
 *   dx = dz w   (A = dz: a_ms = N_out, a_ps = 1;  bm = w {N_out, K})
 *   dW = dz^T x (A = dz^T: a_ms = 1, a_ps = N_out; bm = x {B, K})
 * c {M, N} row-major with row stride N; A(m, p) = a[aoff + m*a_ms + p*a_ps]. When db is not NULL, the
 * work-items of the first column tile also write db[m] = beta_db*db[m] + sum_p A(m, p) (the bias
 * gradient of the dW product). A work-item computes rows LIN_BM*gid(1).. and 16 columns from 16*gid(0).
 * (Applying the activation's derivative here instead, per element of A and per column tile, made the
 * products twice as slow on PoCL as a separate pass over dz.) */
#define BWD_ROW(m, DB) { float v = a[aoff + r##m + pp]; if (DB) d##m += v; \
        l##m = fma((float8)(v), bl, l##m); h##m = fma((float8)(v), bh, h##m); }
#define BWD_LOOP(DB) for (int p = 0; p < P; p++) { \
        __global const float *br = bm + boff + (size_t)p * N + n0; \
        float8 bl = vload8(0, br), bh = vload8(1, br); \
        size_t pp = (size_t)p * a_ps; \
        BWD_ROW(0, DB) BWD_ROW(1, DB) BWD_ROW(2, DB) BWD_ROW(3, DB) BWD_ROWS_HI(DB) }
#if LIN_BM == 8
#define BWD_ROWS_HI(DB) BWD_ROW(4, DB) BWD_ROW(5, DB) BWD_ROW(6, DB) BWD_ROW(7, DB)
#else
#define BWD_ROWS_HI(DB)
#endif
#define BWD_STORE(m) if (i0 + m < M) { \
        __global float *cr = c + coff + (size_t)(i0 + m) * N + n0; \
        if (beta != 0.0f) { l##m += beta * vload8(0, cr); h##m += beta * vload8(1, cr); } /* beta 0 overwrites, even NaN */ \
        vstore8(l##m, 0, cr); vstore8(h##m, 1, cr); \
        if (want_db) { float beta = beta_db; ACC(db[dboff + i0 + m], d##m); } }
__kernel void linear_bwd_nn(__global float *c, int coff, __global const float *a, int aoff, int a_ms, int a_ps,
                            __global const float *bm, int boff,
                            int M, int N, int P, float beta, __global float *db, int dboff, float beta_db) {
    int n0 = (int)get_global_id(0) * 16, i0 = (int)get_global_id(1) * LIN_BM;
    if (i0 >= M || n0 >= N) return;
    int want_db = db && n0 == 0;
    /* clamped rows: the loads stay in bounds, the stores are skipped */
    size_t r0 = (size_t)min(i0 + 0, M - 1) * a_ms, r1 = (size_t)min(i0 + 1, M - 1) * a_ms;
    size_t r2 = (size_t)min(i0 + 2, M - 1) * a_ms, r3 = (size_t)min(i0 + 3, M - 1) * a_ms;
#if LIN_BM == 8
    size_t r4 = (size_t)min(i0 + 4, M - 1) * a_ms, r5 = (size_t)min(i0 + 5, M - 1) * a_ms;
    size_t r6 = (size_t)min(i0 + 6, M - 1) * a_ms, r7 = (size_t)min(i0 + 7, M - 1) * a_ms;
#endif
    if (n0 + 16 <= N) { /* full tile: two float8 per row, in named variables (see linear_fwd) */
        float8 l0 = 0, h0 = 0, l1 = 0, h1 = 0, l2 = 0, h2 = 0, l3 = 0, h3 = 0;
#if LIN_BM == 8
        float8 l4 = 0, h4 = 0, l5 = 0, h5 = 0, l6 = 0, h6 = 0, l7 = 0, h7 = 0;
        float d4 = 0, d5 = 0, d6 = 0, d7 = 0;
#endif
        float d0 = 0, d1 = 0, d2 = 0, d3 = 0; /* the bias gradient's sums */
        if (want_db) BWD_LOOP(1)
        else BWD_LOOP(0)
        BWD_STORE(0) BWD_STORE(1) BWD_STORE(2) BWD_STORE(3)
#if LIN_BM == 8
        BWD_STORE(4) BWD_STORE(5) BWD_STORE(6) BWD_STORE(7)
#endif
        return;
    }
    /* the last, partial column tile (N % 16 columns): scalars */
#if LIN_BM == 8
    size_t rows[LIN_BM] = {r0, r1, r2, r3, r4, r5, r6, r7};
#else
    size_t rows[LIN_BM] = {r0, r1, r2, r3};
#endif
    int nn = N - n0;
    float acc[LIN_BM][16], dbs[LIN_BM];
    for (int m = 0; m < LIN_BM; m++) {
        dbs[m] = 0.0f;
        for (int n = 0; n < 16; n++) acc[m][n] = 0.0f;
    }
    for (int p = 0; p < P; p++) {
        __global const float *br = bm + boff + (size_t)p * N + n0;
        for (int m = 0; m < LIN_BM; m++) {
            float av = a[aoff + rows[m] + (size_t)p * a_ps];
            dbs[m] += av;
            for (int n = 0; n < nn; n++) acc[m][n] = fma(av, br[n], acc[m][n]);
        }
    }
    for (int m = 0; m < LIN_BM && i0 + m < M; m++) {
        for (int n = 0; n < nn; n++) {
            __global float *cv = c + coff + (size_t)(i0 + m) * N + n0 + n;
            *cv = beta == 0.0f ? acc[m][n] : acc[m][n] + beta * *cv;
        }
        if (want_db) {
            float beta = beta_db;
            ACC(db[dboff + i0 + m], dbs[m]);
        }
    }
}

/* For the CLBlast path: y = act(y + b[j]) in place (after the GEMM), y {M, N}; b may be NULL. */
__kernel void linear_bias_act(__global float *y, int yoff, __global const float *b, int boff, int M, int N, int act) {
    int i = get_global_id(0);
    if (i >= M * N) return;
    float v = y[yoff + i];
    if (b) v += b[boff + i % N];
    y[yoff + i] = lin_act(v, act);
}

/* For the CLBlast path: dz = act'(dy) from the output yv, {M, N}, and db[j] = beta*db[j] + sum_i dz[i][j]
 * (db may be NULL). One work-item per column. */
__kernel void linear_act_bwd(__global float *dz, int dzoff, __global const float *dy, int dyoff,
                             __global const float *yv, int yvoff, int M, int N, int act, __global float *db, int dboff,
                             float beta) {
    int j = get_global_id(0);
    if (j >= N) return;
    float s = 0.0f;
    for (int i = 0; i < M; i++) {
        float g = lin_act_grad(dy[dyoff + i * N + j], yv[yvoff + i * N + j], act);
        dz[dzoff + i * N + j] = g;
        s += g;
    }
    if (db) ACC(db[dboff + j], s);
}
