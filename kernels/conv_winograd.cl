/* Winograd F(2x2, 3x3) for stride-1 3x3 convolutions on CPUs (host/ops/conv.c, own kernels): each 2x2
 * block of outputs from a 4x4 input tile with 16 multiplies per (input, output) channel pair instead
 * of 36 (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A,
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * The 16 element-wise products summed over input channels are 16 GEMMs, U[xi] {M, C} x V[xi] {C, NT}
 * (NT = N*TH*TW tiles, rows NTp >= NT floats apart), which conv_rows (conv_rows.cl) computes with k = 1,
 * one panel set per xi. The transforms take 16 tiles per step in 16-float vectors: PoCL does not
 * vectorise the strided loads and 16-plane stores of a tile per work-item. */

#include "clg_shared.h"
#include "wino_panel.clh"

/* The 4x4 tile transform B^T d B of 16 tiles at once: d[i][j] holds element (i, j) of each tile. */
#define WINO_BT(x0, x1, x2, x3, y0, y1, y2, y3) \
    do {                                        \
        y0 = x0 - x2;                           \
        y1 = x1 + x2;                           \
        y2 = x2 - x1;                           \
        y3 = x1 - x3;                           \
    } while (0)

/* Stores B^T d B of a vector of tiles (d[i][j]: element (i, j) of each; T the vector type) as 16 vectors,
 * xi at v + xi*plane. */
#define WINO_BT_STORE(T, VSTORE, d, v, plane)                                                           \
    do {                                                                                               \
        T u_[4][4];                                                                                    \
        _Pragma("unroll")                                                                              \
        for (int j = 0; j < 4; j++)                                                                    \
            WINO_BT(d[0][j], d[1][j], d[2][j], d[3][j], u_[0][j], u_[1][j], u_[2][j], u_[3][j]);       \
        _Pragma("unroll")                                                                              \
        for (int i = 0; i < 4; i++) {                                                                  \
            T w0, w1, w2, w3;                                                                          \
            WINO_BT(u_[i][0], u_[i][1], u_[i][2], u_[i][3], w0, w1, w2, w3);                           \
            VSTORE(w0, 0, (v) + (4 * i + 0) * (plane));                                                \
            VSTORE(w1, 0, (v) + (4 * i + 1) * (plane));                                                \
            VSTORE(w2, 0, (v) + (4 * i + 2) * (plane));                                                \
            VSTORE(w3, 0, (v) + (4 * i + 3) * (plane));                                                \
        }                                                                                              \
    } while (0)

/* wino_in's tiles W at a time (W = 16 or 8, T = floatW): tile tx reads columns 2*tx .. 2*tx + 3, so the
 * even and odd elements of two vectors of 2*W columns give the tiles' columns 0 and 1 (2 and 3 two
 * columns on). */
#define WINO_IN_TILES(T, VLOAD, VSTORE, W)                                                              \
    for (; tx + W <= TW; tx += W) {                                                                    \
        T t_[4][4];                                                                                    \
        _Pragma("unroll")                                                                              \
        for (int i = 0; i < 4; i++) {                                                                  \
            __global const float *r = s + i * PW + 2 * tx;                                             \
            T a0 = VLOAD(0, r), a1 = VLOAD(0, r + W), b0 = VLOAD(0, r + 2), b1 = VLOAD(0, r + W + 2);  \
            t_[i][0] = (T)(a0.even, a1.even);                                                          \
            t_[i][1] = (T)(a0.odd, a1.odd);                                                            \
            t_[i][2] = (T)(b0.even, b1.even);                                                          \
            t_[i][3] = (T)(b0.odd, b1.odd);                                                            \
        }                                                                                              \
        WINO_BT_STORE(T, VSTORE, t_, v + tx, plane);                                                   \
    }

/* V[xi, c, n*T + ty*TW + tx] = (B^T d B)[xi] (row stride NTp, plane stride vplane >= C*NTp), d the 4x4 tile at
 * row 2*ty, column 2*tx of the padded image P {N, C, PH, PW} (PH >= 2*TH + 2, PW >= 2*TW + 2). One
 * work-item per tile row (n, c, ty). */
__kernel void wino_in(__global float *V, int voff, __global const float *P, int poff, int N, int C, int PH, int PW,
                      int TH, int TW, int NTp, int vplane) {
    int row = get_global_id(0);
    if (row >= N * C * TH) return;
    int ty = row % TH, nc = row / TH, c = nc % C, n = nc / C;
    __global const float *s = P + poff + ((long)nc * PH + 2 * ty) * PW;
    long plane = vplane;
    __global float *v = V + voff + (long)c * NTp + ((long)n * TH + ty) * TW;
    int tx = 0;
    WINO_IN_TILES(float16, vload16, vstore16, 16)
    WINO_IN_TILES(float8, vload8, vstore8, 8) /* 16x16 images: 8 tiles a row */
    if (n == N - 1 && ty == TH - 1) wino_in_padding(V, voff, plane, 16, c, (long)N * TH * TW, NTp);
    for (; tx < TW; tx++) {
        float d[4][4], u[4][4];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) d[i][j] = s[i * PW + 2 * tx + j];
#pragma unroll
        for (int j = 0; j < 4; j++) WINO_BT(d[0][j], d[1][j], d[2][j], d[3][j], u[0][j], u[1][j], u[2][j], u[3][j]);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float w0, w1, w2, w3;
            WINO_BT(u[i][0], u[i][1], u[i][2], u[i][3], w0, w1, w2, w3);
            v[(4 * i + 0) * plane + tx] = w0;
            v[(4 * i + 1) * plane + tx] = w1;
            v[(4 * i + 2) * plane + tx] = w2;
            v[(4 * i + 3) * plane + tx] = w3;
        }
    }
}

/* U[xi] as conv_rows' panels, U + xi*uplane + ((m / MR)*C + c)*MR + m % MR (uplane >= Mp*C, MR =
 * CONV_ROWS_MR, rows m >= M zero): (G g G^T)[xi] for the 3x3 kernel g of output channel m and input
 * channel c; from W {M, C, 3, 3} as it is (rotated = 0), or for a stride-1 data gradient from W {C, M,
 * 3, 3} rotated by 180 degrees (rotated = 1: output channel m = the weight's input channel). One
 * work-item per (c, panel): the panel's CONV_ROWS_MR rows as one vector (WINO_PANEL_TAPS). */
__kernel void wino_filter(__global float *U, int uoff, __global const float *W, int woff, int M, int Mp, int C,
                          int rotated, int uplane) {
    int c = get_global_id(0), mb = get_global_id(1);
    if (c >= C || mb * CONV_ROWS_MR >= Mp) return;
    WINO_FLOATMR g[3][3], a[4][3];
    WINO_PANEL_TAPS(g, W, woff, M, C, c, mb, rotated);
#pragma unroll
    for (int j = 0; j < 3; j++) {
        a[0][j] = g[0][j];
        a[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        a[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        a[3][j] = g[2][j];
    }
    long plane = uplane;
    __global float *u = U + uoff + ((long)mb * C + c) * CONV_ROWS_MR;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        WINO_VSTOREMR(a[i][0], 0, u + (4 * i + 0) * plane);
        WINO_VSTOREMR(0.5f * (a[i][0] + a[i][1] + a[i][2]), 0, u + (4 * i + 1) * plane);
        WINO_VSTOREMR(0.5f * (a[i][0] - a[i][1] + a[i][2]), 0, u + (4 * i + 2) * plane);
        WINO_VSTOREMR(a[i][2], 0, u + (4 * i + 3) * plane);
    }
}

/* wino_out's tiles W at a time (T = floatW, UT = uintW, LO interleaves the first halves of two vectors):
 * the two output columns of each tile are interleaved into 2*W contiguous outputs. */
#define WINO_OUT_TILES(T, UT, VLOAD, VSTORE, W, LO)                                                     \
    for (; tx + W <= TW && 2 * tx + 2 * W <= OW; tx += W) {                                            \
        T s0[4], s1[4];                                                                                \
        _Pragma("unroll")                                                                              \
        for (int j = 0; j < 4; j++) {                                                                  \
            T q0 = VLOAD(0, y + (0 + j) * plane + tx), q1 = VLOAD(0, y + (4 + j) * plane + tx);        \
            T q2 = VLOAD(0, y + (8 + j) * plane + tx), q3 = VLOAD(0, y + (12 + j) * plane + tx);       \
            s0[j] = q0 + q1 + q2;                                                                      \
            s1[j] = q1 - q2 - q3;                                                                      \
        }                                                                                              \
        const UT lo = LO, hi = lo + (UT)(W / 2);                                                       \
        for (int i = 0; i < 1 + two; i++) {                                                            \
            T *sv = i ? s1 : s0;                                                                       \
            T r0 = sv[0] + sv[1] + sv[2] + b, r1 = sv[1] - sv[2] - sv[3] + b;                          \
            T e0 = shuffle2(r0, r1, lo), e1 = shuffle2(r0, r1, hi);                                    \
            __global float *o = (i ? o1 : o0) + 2 * tx;                                                \
            if (beta != 0.0f) {                                                                        \
                e0 += beta * VLOAD(0, o);                                                              \
                e1 += beta * VLOAD(0, o + W);                                                          \
            }                                                                                          \
            VSTORE(e0, 0, o);                                                                          \
            VSTORE(e1, 0, o + W);                                                                      \
        }                                                                                              \
    }

/* out[n, m, 2*ty + i, 2*tx + j] = beta*out + (bias[m]) + (A^T Y A)[i, j] for the tile's 16 products
 * Y[xi, m, n*T + ty*TW + tx] (row stride NTp, plane stride yplane >= M*NTp); outputs past OH, OW are not
 * written.
 * out {N, M, OH, OW}. One work-item per tile row (n, m, ty). */
__kernel void wino_out(__global float *out, int ooff, __global const float *Y, int yoff, int N, int M, int OH, int OW,
                       int TH, int TW, int NTp, int yplane, float beta, __global const float *bias, int boff,
                       int has_bias) {
    int row = get_global_id(0);
    if (row >= N * M * TH) return;
    int ty = row % TH, nm = row / TH, m = nm % M, n = nm / M;
    long plane = yplane;
    __global const float *y = Y + yoff + (long)m * NTp + ((long)n * TH + ty) * TW;
    __global float *o0 = out + ooff + ((long)nm * OH + 2 * ty) * OW, *o1 = o0 + OW;
    int two = 2 * ty + 1 < OH; /* the tile row's second output row exists */
    float b = has_bias ? bias[boff + m] : 0.0f;
    int tx = 0;
    WINO_OUT_TILES(float16, uint16, vload16, vstore16, 16,
                   ((uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)))
    WINO_OUT_TILES(float8, uint8, vload8, vstore8, 8, ((uint8)(0, 8, 1, 9, 2, 10, 3, 11)))
    for (; tx < TW; tx++) {
        float q[4][4], s[2][4];
#pragma unroll
        for (int xi = 0; xi < 16; xi++) q[xi / 4][xi % 4] = y[xi * plane + tx];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            s[0][j] = q[0][j] + q[1][j] + q[2][j];
            s[1][j] = q[1][j] - q[2][j] - q[3][j];
        }
        for (int i = 0; i < 1 + two; i++) {
            __global float *o = (i ? o1 : o0) + 2 * tx;
            float r[2] = {s[i][0] + s[i][1] + s[i][2] + b, s[i][1] - s[i][2] - s[i][3] + b};
            for (int j = 0; j < 2 && 2 * tx + j < OW; j++) o[j] = beta == 0.0f ? r[j] : r[j] + beta * o[j];
        }
    }
}

/* The weight gradient by the same transform: with Yh[xi, m, t] = (A dy_t A^T)[xi] for each output block
 * dy_t (2x2, zero past OH, OW), dU[xi] = Yh[xi] V[xi]^T summed over the tiles t, and dW[m, c] =
 * G^T dU[., m, c] G. The sum over tiles runs in conv_rows (k = 1, the tiles as its reduction): Yh as
 * its panels, Ah[xi][m / MR][t][m % MR], and the tiles transposed, Vt[xi][t][c] (wino_in_t).
 * wino_dy: Ah from dy {N, M, OH, OW} (plane stride aplane >= panels*NTp*MR), t < NTp (rows NT..NTp-1
 * and panel rows m >= M zero). One work-item per (tile row (n, ty) or a padding row; panel). */
__kernel void wino_dy(__global float *Ah, int aoff, __global const float *dy, int doff, int N, int M, int OH, int OW,
                      int TH, int TW, int NTp, int aplane) {
    int row = get_global_id(0), mb = get_global_id(1);
    int rows = N * TH + (NTp - N * TH * TW + TW - 1) / TW; /* tile rows, then rows of padding */
    if (row >= rows) return;
    long plane = aplane;
    __global float *a = Ah + aoff + (long)mb * NTp * CONV_ROWS_MR;
    if (wino_dy_padding(a, plane, 16, row, N, TH, TW, NTp)) return;
    int ty = row % TH, n = row / TH, two = 2 * ty + 1 < OH;
    float d[4][CONV_ROWS_MR];
    for (int tx = 0; tx < TW; tx++) {
        int x0 = 2 * tx, x1ok = x0 + 1 < OW;
        for (int j = 0; j < CONV_ROWS_MR; j++) {
            int m = mb * CONV_ROWS_MR + j, ok = m < M;
            __global const float *d0 = dy + doff + (((long)n * M + (ok ? m : 0)) * OH + 2 * ty) * OW + x0;
            d[0][j] = ok ? d0[0] : 0.0f;
            d[1][j] = ok && x1ok ? d0[1] : 0.0f;
            d[2][j] = ok && two ? d0[OW] : 0.0f;
            d[3][j] = ok && two && x1ok ? d0[OW + 1] : 0.0f;
        }
        WINO_FLOATMR va = WINO_VLOADMR(0, d[0]), vb = WINO_VLOADMR(0, d[1]), vc = WINO_VLOADMR(0, d[2]),
                     vd = WINO_VLOADMR(0, d[3]);
        /* z = A [a b; c d] (4x2), then z A^T (4x4); A = [1 0; 1 1; 1 -1; 0 -1] */
        WINO_FLOATMR z[4][2] = {{va, vb}, {va + vc, vb + vd}, {va - vc, vb - vd}, {-vc, -vd}};
        __global float *o = a + ((long)(n * TH + ty) * TW + tx) * CONV_ROWS_MR;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            WINO_VSTOREMR(z[i][0], 0, o + (4 * i + 0) * plane);
            WINO_VSTOREMR(z[i][0] + z[i][1], 0, o + (4 * i + 1) * plane);
            WINO_VSTOREMR(z[i][0] - z[i][1], 0, o + (4 * i + 2) * plane);
            WINO_VSTOREMR(-z[i][1], 0, o + (4 * i + 3) * plane);
        }
    }
}

/* Vt[xi, t, c] = (B^T d B)[xi] of tile t = (n*TH + ty)*TW + tx of the channels-last padded image
 * Q {N, PH, PW, C} (C a multiple of 16; plane stride vplane >= NTp*C; rows t = NT..NTp-1 zero). One
 * work-item per tile or padding row, 16 channels at a time. */
__kernel void wino_in_t(__global float *Vt, int voff, __global const float *Q, int qoff, int N, int C, int PH, int PW,
                        int TH, int TW, int NTp, int vplane) {
    int t = get_global_id(0);
    if (t >= NTp) return;
    long plane = vplane;
    __global float *v = Vt + voff + (long)t * C;
    if (wino_tile_padding(v, plane, 16, t, N * TH * TW, C)) return;
    int tx = t % TW, r = t / TW, ty = r % TH, n = r / TH;
    __global const float *q = Q + qoff + (((long)n * PH + 2 * ty) * PW + 2 * tx) * C;
    for (int c = 0; c < C; c += 16) {
        float16 d[4][4];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) d[i][j] = vload16(0, q + ((long)i * PW + j) * C + c);
        WINO_BT_STORE(float16, vstore16, d, v + c, plane);
    }
}

/* dW[m, c, 3x3] = beta*dW + G^T dU[., m, c] G, dU[xi] {M, C} (plane stride uplane >= M*C), C a multiple of 16
 * (host/ops/conv.c, wino_wgrad_fit). One work-item per (16 channels c; m), in 16-float vectors along c,
 * stored by WINO_TAPS16_STORE. */
__kernel void wino_wgrad(__global float *dW, int woff, __global const float *dU, int uoff, int M, int C, int uplane,
                         float beta) {
    int c0 = get_global_id(0) * 16, m = get_global_id(1);
    if (c0 >= C || m >= M) return;
    long plane = uplane;
    __global const float *u = dU + uoff + (long)m * C + c0;
    float16 q[4][4], h[3][4];
#pragma unroll
    for (int xi = 0; xi < 16; xi++) q[xi / 4][xi % 4] = vload16(0, u + xi * plane);
    /* G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1] */
#pragma unroll
    for (int j = 0; j < 4; j++) {
        h[0][j] = q[0][j] + 0.5f * (q[1][j] + q[2][j]);
        h[1][j] = 0.5f * (q[1][j] - q[2][j]);
        h[2][j] = 0.5f * (q[1][j] + q[2][j]) + q[3][j];
    }
    float16 r[9];
#pragma unroll
    for (int i = 0; i < 3; i++) {
        r[3 * i + 0] = h[i][0] + 0.5f * (h[i][1] + h[i][2]);
        r[3 * i + 1] = 0.5f * (h[i][1] - h[i][2]);
        r[3 * i + 2] = 0.5f * (h[i][1] + h[i][2]) + h[i][3];
    }
    __global float *w = dW + woff + ((long)m * C + c0) * 9; /* 9 taps of each of the 16 channels */
    WINO_TAPS16_STORE(r, w, beta);
}
