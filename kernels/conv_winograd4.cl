/* Winograd F(4x4, 3x3) for stride-1 3x3 convolutions on CPUs (host/ops/conv.c, wino_conv and
 * wino_weight_grad with kp.wino4_min_w): each 4x4 block of outputs from a 6x6 input tile, 36 multiplies
 * per (input, output) channel pair where direct convolution takes 144 and F(2x2, 3x3) 64 (Lavin and Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016, interpolation points 0, 1, -1, 2, -2):
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A,
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * The layout is conv_winograd.cl's with 36 planes for 16: the products U[xi] {M, C} x V[xi] {C, NT} run
 * on conv_rows (k = 1, one panel set per xi), the transforms 16 (or 8) tiles per step in vectors. The
 * larger transform constants cost accuracy: some 20 times F(2x2, 3x3)'s rounding (tests/test_conv.c). */

#include "clg_shared.h"
#include "wino_panel.clh"

/* One row (or column) of B^T d B: y = B^T x for the six elements x0..x5. */
#define WINO4_BT(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5) \
    do {                                                         \
        T a_ = (x4) - 4.0f * (x2), b_ = (x3) - 4.0f * (x1);      \
        T c_ = (x4) - (x2), e_ = 2.0f * ((x3) - (x1));           \
        y0 = 4.0f * (x0) - 5.0f * (x2) + (x4);                   \
        y1 = a_ + b_;                                            \
        y2 = a_ - b_;                                            \
        y3 = c_ + e_;                                            \
        y4 = c_ - e_;                                            \
        y5 = 4.0f * (x1) - 5.0f * (x3) + (x5);                   \
    } while (0)

/* One row of A^T m: the four outputs of the six products m0..m5. */
#define WINO4_AT(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3) \
    do {                                                 \
        T p_ = (m1) + (m2), q_ = (m1) - (m2);            \
        T u_ = (m3) + (m4), v_ = (m3) - (m4);            \
        y0 = (m0) + p_ + u_;                             \
        y1 = q_ + 2.0f * v_;                             \
        y2 = p_ + 4.0f * u_;                             \
        y3 = q_ + 8.0f * v_ + (m5);                      \
    } while (0)

/* B^T d B of the tiles in d[i][j] (element (i, j) of each tile; type T), stored as 36 planes from v. */
#define WINO4_BT_STORE(VSTORE, d, v, plane)                                                             \
    do {                                                                                               \
        T u_[6][6];                                                                                    \
        _Pragma("unroll")                                                                              \
        for (int j = 0; j < 6; j++)                                                                    \
            WINO4_BT(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], u_[0][j], u_[1][j], u_[2][j], \
                     u_[3][j], u_[4][j], u_[5][j]);                                                    \
        _Pragma("unroll")                                                                              \
        for (int i = 0; i < 6; i++) {                                                                  \
            T w_[6];                                                                                   \
            WINO4_BT(u_[i][0], u_[i][1], u_[i][2], u_[i][3], u_[i][4], u_[i][5], w_[0], w_[1], w_[2],  \
                     w_[3], w_[4], w_[5]);                                                             \
            _Pragma("unroll")                                                                          \
            for (int j = 0; j < 6; j++) VSTORE(w_[j], 0, (v) + (6 * i + j) * (plane));                 \
        }                                                                                              \
    } while (0)

#define WINO4_STORE1(x, o, p) ((p)[o] = (x))

/* V[xi, c, n*T + ty*TW + tx] = (B^T d B)[xi] (row stride NTp, plane stride vplane >= C*NTp), d the 6x6 tile at
 * row 4*ty, column 4*tx of the padded image P {N, C, PH, PW} (PH >= 4*TH + 2, PW >= 4*TW + 2). One
 * work-item per tile row (n, c, ty). Tile tx reads columns 4*tx .. 4*tx + 5: for 16 (8) tiles, every
 * fourth float of 64 (32) columns from 4*tx + j gives their column j < 4, columns 4 and 5 are columns 0
 * and 1 one tile on. */
__kernel void wino4_in(__global float *V, int voff, __global const float *P, int poff, int N, int C, int PH, int PW,
                       int TH, int TW, int NTp, int vplane) {
    int row = get_global_id(0);
    if (row >= N * C * TH) return;
    int ty = row % TH, nc = row / TH, c = nc % C, n = nc / C;
    __global const float *s = P + poff + ((long)nc * PH + 4 * ty) * PW;
    long plane = vplane;
    __global float *v = V + voff + (long)c * NTp + ((long)n * TH + ty) * TW;
    int tx = 0;
    {
#define T float16
        for (; tx + 16 <= TW; tx += 16) {
            T d[6][6];
#pragma unroll
            for (int i = 0; i < 6; i++) {
                __global const float *r = s + i * PW + 4 * tx;
                float16 a0 = vload16(0, r), a1 = vload16(0, r + 16), a2 = vload16(0, r + 32), a3 = vload16(0, r + 48);
                float2 e = vload2(0, r + 64);
                d[i][0] = (T)(a0.s048c, a1.s048c, a2.s048c, a3.s048c);
                d[i][1] = (T)(a0.s159d, a1.s159d, a2.s159d, a3.s159d);
                d[i][2] = (T)(a0.s26ae, a1.s26ae, a2.s26ae, a3.s26ae);
                d[i][3] = (T)(a0.s37bf, a1.s37bf, a2.s37bf, a3.s37bf);
                d[i][4] = (T)(d[i][0].s1234, d[i][0].s5678, d[i][0].s9abc, d[i][0].sdef, e.s0);
                d[i][5] = (T)(d[i][1].s1234, d[i][1].s5678, d[i][1].s9abc, d[i][1].sdef, e.s1);
            }
            WINO4_BT_STORE(vstore16, d, v + tx, plane);
        }
#undef T
    }
    {
#define T float8
        for (; tx + 8 <= TW; tx += 8) { /* 32x32 and 48x48 outputs: 8 and 12 tiles a row */
            T d[6][6];
#pragma unroll
            for (int i = 0; i < 6; i++) {
                __global const float *r = s + i * PW + 4 * tx;
                float16 a0 = vload16(0, r), a1 = vload16(0, r + 16);
                float2 e = vload2(0, r + 32);
                d[i][0] = (T)(a0.s048c, a1.s048c);
                d[i][1] = (T)(a0.s159d, a1.s159d);
                d[i][2] = (T)(a0.s26ae, a1.s26ae);
                d[i][3] = (T)(a0.s37bf, a1.s37bf);
                d[i][4] = (T)(d[i][0].s1234, d[i][0].s567, e.s0);
                d[i][5] = (T)(d[i][1].s1234, d[i][1].s567, e.s1);
            }
            WINO4_BT_STORE(vstore8, d, v + tx, plane);
        }
#undef T
    }
    if (n == N - 1 && ty == TH - 1) wino_in_padding(V, voff, plane, 36, c, (long)N * TH * TW, NTp);
    {
#define T float
        for (; tx < TW; tx++) {
            T d[6][6];
#pragma unroll
            for (int i = 0; i < 6; i++)
#pragma unroll
                for (int j = 0; j < 6; j++) d[i][j] = s[i * PW + 4 * tx + j];
            WINO4_BT_STORE(WINO4_STORE1, d, v + tx, plane);
        }
#undef T
    }
}

/* U[xi] as conv_rows' panels, U + xi*uplane + ((m / MR)*C + c)*MR + m % MR (uplane >= Mp*C; rows m >= M
 * zero): (G g G^T)[xi]
 * for the 3x3 kernel g of output channel m and input channel c, from W {M, C, 3, 3} as it is (rotated =
 * 0) or for a stride-1 data gradient from W {C, M, 3, 3} rotated by 180 degrees (rotated = 1), as
 * conv_winograd.cl's wino_filter. One work-item per (c, panel). */
#define WINO4_G(g0, g1, g2, r0, r1, r2, r3, r4, r5)                                   \
    do {                                                                             \
        T s_ = (g0) + (g2), h_ = (1.0f / 24.0f) * (g0) + (1.0f / 6.0f) * (g2);        \
        r0 = 0.25f * (g0);                                                           \
        r1 = (-1.0f / 6.0f) * (s_ + (g1));                                           \
        r2 = (-1.0f / 6.0f) * (s_ - (g1));                                           \
        r3 = h_ + (1.0f / 12.0f) * (g1);                                             \
        r4 = h_ - (1.0f / 12.0f) * (g1);                                             \
        r5 = (g2);                                                                   \
    } while (0)

__kernel void wino4_filter(__global float *U, int uoff, __global const float *W, int woff, int M, int Mp, int C,
                           int rotated, int uplane) {
    int c = get_global_id(0), mb = get_global_id(1);
    if (c >= C || mb * CONV_ROWS_MR >= Mp) return;
#define T WINO_FLOATMR
    T g[3][3], a[6][3];
    WINO_PANEL_TAPS(g, W, woff, M, C, c, mb, rotated);
#pragma unroll
    for (int j = 0; j < 3; j++)
        WINO4_G(g[0][j], g[1][j], g[2][j], a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j]);
    long plane = uplane;
    __global float *u = U + uoff + ((long)mb * C + c) * CONV_ROWS_MR;
#pragma unroll
    for (int i = 0; i < 6; i++) {
        T r[6];
        WINO4_G(a[i][0], a[i][1], a[i][2], r[0], r[1], r[2], r[3], r[4], r[5]);
#pragma unroll
        for (int j = 0; j < 6; j++) WINO_VSTOREMR(r[j], 0, u + (6 * i + j) * plane);
    }
#undef T
}

/* wino4_out's tiles W at a time (T = floatW): s = A^T q for each of the 6 product columns, then each
 * output row's A^T along the row gives the 4 output columns r0..r3 of the W tiles, interleaved by two
 * rounds of shuffle2 (LO, HI: pairs of lanes of two vectors; LO2, HI2: pairs of pairs) into 4*W
 * contiguous outputs. */
#define WINO4_OUT_TILES(VLOAD, VSTORE, W, LO, HI, LO2, HI2)                                             \
    for (; tx + W <= TW && 4 * tx + 4 * W <= OW; tx += W) {                                            \
        T sv[4][6];                                                                                    \
        _Pragma("unroll")                                                                              \
        for (int j = 0; j < 6; j++) {                                                                  \
            T q[6];                                                                                    \
            _Pragma("unroll")                                                                          \
            for (int i = 0; i < 6; i++) q[i] = VLOAD(0, y + (6 * i + j) * plane + tx);                 \
            WINO4_AT(q[0], q[1], q[2], q[3], q[4], q[5], sv[0][j], sv[1][j], sv[2][j], sv[3][j]);     \
        }                                                                                              \
        for (int i = 0; i < rows; i++) {                                                               \
            T r0, r1, r2, r3;                                                                          \
            WINO4_AT(sv[i][0], sv[i][1], sv[i][2], sv[i][3], sv[i][4], sv[i][5], r0, r1, r2, r3);     \
            r0 += b;                                                                                   \
            r1 += b;                                                                                   \
            r2 += b;                                                                                   \
            r3 += b;                                                                                   \
            T e01 = shuffle2(r0, r1, LO), f01 = shuffle2(r0, r1, HI);                                  \
            T e23 = shuffle2(r2, r3, LO), f23 = shuffle2(r2, r3, HI);                                  \
            T o_[4] = {shuffle2(e01, e23, LO2), shuffle2(e01, e23, HI2), shuffle2(f01, f23, LO2),      \
                       shuffle2(f01, f23, HI2)};                                                       \
            __global float *o = o0 + (long)i * OW + 4 * tx;                                            \
            _Pragma("unroll")                                                                          \
            for (int h = 0; h < 4; h++) {                                                              \
                T x_ = o_[h];                                                                          \
                if (beta != 0.0f) x_ += beta * VLOAD(0, o + h * W);                                    \
                VSTORE(x_, 0, o + h * W);                                                              \
            }                                                                                          \
        }                                                                                              \
    }

/* out[n, m, 4*ty + i, 4*tx + j] = beta*out + (bias[m]) + (A^T Y A)[i, j] for the tile's 36 products
 * Y[xi, m, n*T + ty*TW + tx] (row stride NTp, plane stride yplane >= M*NTp); outputs past OH, OW are not
 * written.
 * out {N, M, OH, OW}. One work-item per tile row (n, m, ty). */
__kernel void wino4_out(__global float *out, int ooff, __global const float *Y, int yoff, int N, int M, int OH,
                        int OW, int TH, int TW, int NTp, int yplane, float beta, __global const float *bias,
                        int boff, int has_bias) {
    int row = get_global_id(0);
    if (row >= N * M * TH) return;
    int ty = row % TH, nm = row / TH, m = nm % M, n = nm / M;
    long plane = yplane;
    __global const float *y = Y + yoff + (long)m * NTp + ((long)n * TH + ty) * TW;
    __global float *o0 = out + ooff + ((long)nm * OH + 4 * ty) * OW;
    int rows = OH - 4 * ty < 4 ? OH - 4 * ty : 4; /* the tile row's outputs that exist */
    float b = has_bias ? bias[boff + m] : 0.0f;
    int tx = 0;
    {
#define T float16
        WINO4_OUT_TILES(vload16, vstore16, 16, ((uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)),
                        ((uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)),
                        ((uint16)(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23)),
                        ((uint16)(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31)))
#undef T
    }
    {
#define T float8
        WINO4_OUT_TILES(vload8, vstore8, 8, ((uint8)(0, 8, 1, 9, 2, 10, 3, 11)), ((uint8)(4, 12, 5, 13, 6, 14, 7, 15)),
                        ((uint8)(0, 1, 8, 9, 2, 3, 10, 11)), ((uint8)(4, 5, 12, 13, 6, 7, 14, 15)))
#undef T
    }
#define T float
    for (; tx < TW; tx++) {
        T sv[4][6];
#pragma unroll
        for (int j = 0; j < 6; j++) {
            T q[6];
#pragma unroll
            for (int i = 0; i < 6; i++) q[i] = y[(6 * i + j) * plane + tx];
            WINO4_AT(q[0], q[1], q[2], q[3], q[4], q[5], sv[0][j], sv[1][j], sv[2][j], sv[3][j]);
        }
        for (int i = 0; i < rows; i++) {
            T r[4];
            WINO4_AT(sv[i][0], sv[i][1], sv[i][2], sv[i][3], sv[i][4], sv[i][5], r[0], r[1], r[2], r[3]);
            __global float *o = o0 + (long)i * OW + 4 * tx;
            for (int j = 0; j < 4 && 4 * tx + j < OW; j++) o[j] = beta == 0.0f ? r[j] + b : r[j] + b + beta * o[j];
        }
    }
#undef T
}

/* The weight gradient by the same transform, as conv_winograd.cl's for F(2x2, 3x3): with Yh[xi, m, t] =
 * (A dy_t A^T)[xi] for each 4x4 output block dy_t (zero past OH, OW; A = (A^T)^T, 6x4), dU[xi] = Yh[xi]
 * V[xi]^T summed over the tiles t (conv_rows, the tiles as its reduction), and dW[m, c] = G^T dU[., m, c] G.
 * One row of A dy: the six values of the four d0..d3. */
#define WINO4_A(d0, d1, d2, d3, y0, y1, y2, y3, y4, y5) \
    do {                                                \
        T p_ = (d0) + (d2), q_ = (d1) + (d3);           \
        T r_ = (d0) + 4.0f * (d2), s_ = 2.0f * (d1) + 8.0f * (d3); \
        y0 = (d0);                                      \
        y1 = p_ + q_;                                   \
        y2 = p_ - q_;                                   \
        y3 = r_ + s_;                                   \
        y4 = r_ - s_;                                   \
        y5 = (d3);                                      \
    } while (0)

/* Ah[xi][m / MR][t][m % MR] (plane stride aplane >= panels*NTp*MR) from dy {N, M, OH, OW}, t < NTp (rows
 * NT..NTp-1 and panel rows m >= M zero). One work-item per (tile row (n, ty) or a padding row; panel). */
__kernel void wino4_dy(__global float *Ah, int aoff, __global const float *dy, int doff, int N, int M, int OH,
                       int OW, int TH, int TW, int NTp, int aplane) {
    int row = get_global_id(0), mb = get_global_id(1);
    int rows = N * TH + (NTp - N * TH * TW + TW - 1) / TW; /* tile rows, then rows of padding */
    if (row >= rows) return;
    long plane = aplane;
    __global float *a = Ah + aoff + (long)mb * NTp * CONV_ROWS_MR;
    if (wino_dy_padding(a, plane, 36, row, N, TH, TW, NTp)) return;
    int ty = row % TH, n = row / TH;
#define T WINO_FLOATMR
    for (int tx = 0; tx < TW; tx++) {
        float d[16][CONV_ROWS_MR];
        for (int j = 0; j < CONV_ROWS_MR; j++) {
            int m = mb * CONV_ROWS_MR + j, ok = m < M;
            __global const float *d0 = dy + doff + (((long)n * M + (ok ? m : 0)) * OH + 4 * ty) * OW + 4 * tx;
#pragma unroll
            for (int e = 0; e < 16; e++)
                d[e][j] = ok && 4 * ty + e / 4 < OH && 4 * tx + e % 4 < OW ? d0[(e / 4) * OW + e % 4] : 0.0f;
        }
        T v[4][4], z[6][4];
#pragma unroll
        for (int e = 0; e < 16; e++) v[e / 4][e % 4] = WINO_VLOADMR(0, d[e]);
#pragma unroll
        for (int j = 0; j < 4; j++) WINO4_A(v[0][j], v[1][j], v[2][j], v[3][j], z[0][j], z[1][j], z[2][j], z[3][j],
                                            z[4][j], z[5][j]);
        __global float *o = a + ((long)(n * TH + ty) * TW + tx) * CONV_ROWS_MR;
#pragma unroll
        for (int i = 0; i < 6; i++) {
            T y[6];
            WINO4_A(z[i][0], z[i][1], z[i][2], z[i][3], y[0], y[1], y[2], y[3], y[4], y[5]);
#pragma unroll
            for (int j = 0; j < 6; j++) WINO_VSTOREMR(y[j], 0, o + (6 * i + j) * plane);
        }
    }
#undef T
}

/* Vt[xi, t, c] = (B^T d B)[xi] of tile t = (n*TH + ty)*TW + tx of the channels-last padded image Q {N, PH,
 * PW, C} (C a multiple of 16; plane stride vplane >= NTp*C; rows t = NT..NTp-1 zero). One work-item per
 * tile or padding row, 16 channels at a time. */
__kernel void wino4_in_t(__global float *Vt, int voff, __global const float *Q, int qoff, int N, int C, int PH,
                         int PW, int TH, int TW, int NTp, int vplane) {
    int t = get_global_id(0);
    if (t >= NTp) return;
    long plane = vplane;
    __global float *v = Vt + voff + (long)t * C;
    if (wino_tile_padding(v, plane, 36, t, N * TH * TW, C)) return;
    int tx = t % TW, r = t / TW, ty = r % TH, n = r / TH;
    __global const float *q = Q + qoff + (((long)n * PH + 4 * ty) * PW + 4 * tx) * C;
#define T float16
    for (int c = 0; c < C; c += 16) {
        T d[6][6];
#pragma unroll
        for (int i = 0; i < 6; i++)
#pragma unroll
            for (int j = 0; j < 6; j++) d[i][j] = vload16(0, q + ((long)i * PW + j) * C + c);
        WINO4_BT_STORE(vstore16, d, v + c, plane);
    }
#undef T
}

/* One column of G^T q: the three taps of the six products q0..q5 (G^T = [1/4 -1/6 -1/6 1/24 1/24 0;
 * 0 -1/6 1/6 1/12 -1/12 0; 0 -1/6 -1/6 1/6 1/6 1]). */
#define WINO4_GT(q0, q1, q2, q3, q4, q5, h0, h1, h2)                                       \
    do {                                                                                  \
        T a_ = (q1) + (q2), s_ = (q3) + (q4);                                             \
        h0 = 0.25f * (q0) - (1.0f / 6.0f) * a_ + (1.0f / 24.0f) * s_;                     \
        h1 = (1.0f / 6.0f) * ((q2) - (q1)) + (1.0f / 12.0f) * ((q3) - (q4));              \
        h2 = (1.0f / 6.0f) * (s_ - a_) + (q5);                                            \
    } while (0)

/* dW[m, c, 3x3] = beta*dW + G^T dU[., m, c] G, dU[xi] {M, C} (plane stride uplane >= M*C), C a multiple of
 * 16. One work-item per (16 channels c; m), in 16-float vectors along c. */
__kernel void wino4_wgrad(__global float *dW, int woff, __global const float *dU, int uoff, int M, int C, int uplane,
                          float beta) {
    int c0 = get_global_id(0) * 16, m = get_global_id(1);
    if (c0 >= C || m >= M) return;
    long plane = uplane;
    __global const float *u = dU + uoff + (long)m * C + c0;
#define T float16
    T h[3][6], r[9];
#pragma unroll
    for (int j = 0; j < 6; j++) {
        T q[6];
#pragma unroll
        for (int i = 0; i < 6; i++) q[i] = vload16(0, u + (6 * i + j) * plane);
        WINO4_GT(q[0], q[1], q[2], q[3], q[4], q[5], h[0][j], h[1][j], h[2][j]);
    }
#pragma unroll
    for (int i = 0; i < 3; i++)
        WINO4_GT(h[i][0], h[i][1], h[i][2], h[i][3], h[i][4], h[i][5], r[3 * i + 0], r[3 * i + 1], r[3 * i + 2]);
#undef T
    __global float *w = dW + woff + ((long)m * C + c0) * 9; /* 9 taps of each of the 16 channels */
    WINO_TAPS16_STORE(r, w, beta);
}
