/* Convolution kernels for CPUs (host/ops/conv.c uses them where the device is not a GPU, or when
 * conv_set_impl / CLGAN_CONV asks): conv_nt, a GEMM whose two operands are both read along the
 * reduction index, in vectors of CONV_NT_VW floats (16: one AVX-512 register); the channels-last and
 * NCHW padded copies it reads (conv_pad_hwc, conv_pad); the weight in the layouts it reads
 * (conv_pack_w); the fold of a padded image's gradient back onto the image (conv_fold). Uses
 * conv_reflect and conv_sources from conv_common.clh. Measurements: docs/PERF.md, "Convolution speed". */

#include "clg_shared.h"
#include "conv_common.clh"

/* A padded row's interior: dst[0, n) = g[0, n), or with alpha > 0 g * ELU'(a) (a > 0 ? g : g * (a + alpha), as
 * act.cl's elu_bwd), also written into d[0, n). In 8-float vectors, the last one overlapping the one before
 * it, 4-float ones below 8 wide, floats one by one below 4: neither output aliases an input, so the overlap
 * writes what is already there. (A tail float by float took most of conv_pad's time with short rows: 7, 14,
 * 28 wide. It also met a hazard of AVX-512 CPUs: PoCL compiles the scalar `a > 0 ? g : g * (a + alpha)` to a
 * masked load of the constant 1.0f, which, masked off (a <= 0) on a page not yet read, costs a microcode
 * assist: 135 ns a float on the AMD EPYC; a vector select has no load.) */
#define PAD_RUN(VW, j)                                                                                                 \
    do {                                                                                                               \
        float##VW e_ = vload##VW(0, g + (j));                                                                          \
        if (alpha > 0.0f) {                                                                                            \
            float##VW v_ = vload##VW(0, a + (j));                                                                      \
            e_ = select(e_ * (v_ + alpha), e_, v_ > 0.0f);                                                             \
            vstore##VW(e_, 0, d + (j));                                                                                \
        }                                                                                                              \
        vstore##VW(e_, 0, dst + (j));                                                                                  \
    } while (0)
static void pad_row(__global float *dst, __global float *d, __global const float *g, __global const float *a, int n,
                    float alpha) {
    if (n >= 8) {
        for (int j = 0;; j += 8) {
            if (j + 8 > n) j = n - 8;
            PAD_RUN(8, j);
            if (j + 8 >= n) break;
        }
    } else if (n >= 4) {
        PAD_RUN(4, 0);
        PAD_RUN(4, n - 4);
    } else
        for (int j = 0; j < n; j++) {
            float e = g[j];
            if (alpha > 0.0f) d[j] = e = a[j] > 0.0f ? e : e * (a[j] + alpha);
            dst[j] = e;
        }
}
#undef PAD_RUN

/* P {G, C, PH, PW} = img {G, C, H, W} padded by pt rows on top and pl columns on the left (zeros, or
 * reflection with pt, pl < H, W); rows/columns past the image on the other side likewise; then `slack`
 * zeros. alpha > 0 (zero padding): img is dA, the gradient of an ELU's output A, and the padded values are
 * dY = dA * ELU'(A) (1 where A > 0, else A + alpha, as act.cl's elu_bwd computes it: alpha > 0, so A > 0
 * exactly where the ELU's input was), also written unpadded into D {G, C, H, W}: the upstream gradient of
 * a convolution that op_conv2d_elu follows with an ELU, for its data gradient (P) and its bias and weight
 * gradients (D). One work-item per padded row (g, c, py). */
__kernel void conv_pad(__global float *P, int poff, __global const float *img, int ioff, int GC, int H, int W,
                       int PH, int PW, int pt, int pl, int reflect, int slack, __global float *D, int doff,
                       __global const float *A, int aoff, float alpha) {
    int i = get_global_id(0);
    if (i >= GC * PH) return;
    if (i == 0)
        for (int j = 0; j < slack; j++) P[poff + (long)GC * PH * PW + j] = 0.0f;
    int gc = i / PH, py = i - gc * PH;
    __global float *dst = P + poff + (long)i * PW;
    int iy = py - pt;
    if (reflect) iy = conv_reflect(iy, H);
    if (iy < 0 || iy >= H) {
        for (int px = 0; px < PW; px++) dst[px] = 0.0f;
        return;
    }
    long r = ((long)gc * H + iy) * W;
    __global const float *src = img + ioff + r;
    int lo = pl < PW ? pl : PW, hi = pl + W < PW ? pl + W : PW;
    for (int q = 0; q < lo; q++) dst[q] = reflect ? src[conv_reflect(q - pl, W)] : 0.0f;
    /* the two calls: each inlined copy with alpha's test decided (one per row instead of one per vector) */
    if (alpha > 0.0f)
        pad_row(dst + lo, D + doff + r, src, A + aoff + r, hi - lo, alpha);
    else
        pad_row(dst + lo, D, src, A, hi - lo, 0.0f); /* D and A not read */
    for (int q = hi; q < PW; q++) dst[q] = reflect ? src[conv_reflect(q - pl, W)] : 0.0f;
}

/* The adjoint of conv_pad with pt = pl = p: img[g, c, y, x] = beta*img + (bias[c] if has_bias) + the sum
 * of the padded entries DP {G, C, H+2p, W+2p} that read (y, x) (itself, and its mirrors with reflection).
 * One work-item per image row (g, c, y). */
__kernel void conv_fold(__global float *img, int ioff, __global const float *DP, int doff, int C, int GC, int H,
                        int W, int p, int reflect, __global const float *bias, int boff, int has_bias, float beta) {
    int i = get_global_id(0);
    if (i >= GC * H) return;
    int gc = i / H, y = i - gc * H;
    int PW = W + 2 * p, PH = H + 2 * p;
    float b = has_bias ? bias[boff + gc % C] : 0.0f;
    int qy[3], qx[3];
    int ny = conv_sources(y, H, p, reflect, qy);
    __global float *row = img + ioff + (long)i * W;
    __global const float *plane = DP + doff + (long)gc * PH * PW;
    /* columns p < x < W-1-p have no mirror: only the rows' entries at x + p */
    int lo = reflect ? p + 1 : 0, hi = reflect ? W - 1 - p : W;
    if (hi < lo) hi = lo;
    for (int x = 0; x < W; x++) {
        if (x == lo && hi > lo) {
            __global const float *r0 = plane + (qy[0] + p) * PW + p;
            if (ny == 1)
                for (; x < hi; x++) {
                    float s = b + r0[x];
                    row[x] = beta == 0.0f ? s : s + beta * row[x];
                }
            else
                for (; x < hi; x++) {
                    float s = b + r0[x];
                    for (int a = 1; a < ny; a++) s += plane[(qy[a] + p) * PW + p + x];
                    row[x] = beta == 0.0f ? s : s + beta * row[x];
                }
            if (x == W) break;
        }
        int nx = conv_sources(x, W, p, reflect, qx);
        float s = b;
        for (int a = 0; a < ny; a++)
            for (int c = 0; c < nx; c++) s += plane[(qy[a] + p) * PW + qx[c] + p];
        row[x] = beta == 0.0f ? s : s + beta * row[x];
    }
}

/* The GEMM of every conv path on CPUs, both operands read along the reduction index (so loads are
 * contiguous vectors of CONV_NT_VW floats and neither operand needs a column matrix):
 *   C[zg, m, n] = beta*C + (bias[m]) + sum_{zr < Zr} sum_{t < T} sum_{l < Lr} A[m, zr, t, l] * B[zg, n, zr, t, l]
 * A row m at A + aoff + m*lda + zr*aZ + t*aT + l.
 * B row n at B + boff + zg*bZg + zr*bZr + t*bT + brow(n) + l, brow(n) = i1*bS1 + i2*bS2 + i3*bS3 with
 * n = (i1*bD2 + i2)*bD3 + i3: e.g. the output pixel (oy, ox) of a convolution over a channels-last
 * padded image {PH, PW, C}: i2 = oy, i3 = ox, bS2 = s*PW*C, bS3 = s*C, and t = ki with bT = PW*C,
 * l = (kj, c) contiguous over k*C floats (A = the weight as {OC, k, k, C}).
 * C[zg, m, n] at C + coff + zg*cZ + m*ldc + i1*cS1 + i2*cS2 + i3*cS3 with n = (i1*cD2 + i2)*cD + i3 (e.g.
 * every s-th pixel of every s-th row of an image: one phase of a stride-s data gradient).
 * One work-item per CONV_NT_MR x CONV_NT_NR block of C (CONV_NT_VW-float partial sums, summed at the end);
 * rows and columns past M, N are computed from clamped (valid) rows and not stored. */
#if !defined(CONV_NT_MR) || !defined(CONV_NT_NR) || !defined(CONV_NT_VW)
#error "conv_gemm.cl needs -DCONV_NT_MR, -DCONV_NT_NR and -DCONV_NT_VW (host/tuning.c, clg_kernel_params)"
#endif
/* The reduction vectors: CONV_NT_VW floats (4, 8 or 16), summed lane by lane from the last at the end. */
#if CONV_NT_VW == 16
#define NT_V float16
#define NT_VLOAD vload16
#define NT_LANES(s, v)                                                                                   \
    s += v.sf; s += v.se; s += v.sd; s += v.sc; s += v.sb; s += v.sa; s += v.s9; s += v.s8;              \
    s += v.s7; s += v.s6; s += v.s5; s += v.s4; s += v.s3; s += v.s2; s += v.s1; s += v.s0
#elif CONV_NT_VW == 8
#define NT_V float8
#define NT_VLOAD vload8
#define NT_LANES(s, v) s += v.s7; s += v.s6; s += v.s5; s += v.s4; s += v.s3; s += v.s2; s += v.s1; s += v.s0
#elif CONV_NT_VW == 4
#define NT_V float4
#define NT_VLOAD vload4
#define NT_LANES(s, v) s += v.s3; s += v.s2; s += v.s1; s += v.s0
#else
#error "conv_gemm.cl: CONV_NT_VW must be 4, 8 or 16"
#endif

__kernel void conv_nt(__global float *C, int coff, int cZ, int ldc, int cD2, int cD, int cS1, int cS2, int cS3,
                      __global const float *A, int aoff, int lda, int aZ,
                      int aT, __global const float *B, int boff, int bZg, int bZr, int bT, int bD2, int bD3, int bS1,
                      int bS2, int bS3, int M, int N, int Lr, int T, int Zr, float beta, __global const float *bias,
                      int biasoff, int has_bias) {
    int n0 = get_global_id(0) * CONV_NT_NR, m0 = get_global_id(1) * CONV_NT_MR, zg = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    int arow[CONV_NT_MR], brow[CONV_NT_NR];
    for (int r = 0; r < CONV_NT_MR; r++) arow[r] = aoff + (m0 + r < M ? m0 + r : M - 1) * lda;
    for (int j = 0; j < CONV_NT_NR; j++) {
        int n = n0 + j < N ? n0 + j : N - 1;
        int i3 = n % bD3, q = n / bD3, i2 = q % bD2, i1 = q / bD2;
        brow[j] = boff + zg * bZg + i1 * bS1 + i2 * bS2 + i3 * bS3;
    }
    NT_V acc[CONV_NT_MR][CONV_NT_NR];
    float sacc[CONV_NT_MR][CONV_NT_NR];
    for (int r = 0; r < CONV_NT_MR; r++)
        for (int j = 0; j < CONV_NT_NR; j++) {
            acc[r][j] = (NT_V)0.0f;
            sacc[r][j] = 0.0f;
        }
    int Lv = Lr & ~(CONV_NT_VW - 1);
    for (int zr = 0; zr < Zr; zr++)
        for (int t = 0; t < T; t++) {
            __global const float *az = A + zr * aZ + t * aT, *bz = B + zr * bZr + t * bT;
            for (int l = 0; l < Lv; l += CONV_NT_VW) {
                NT_V av[CONV_NT_MR];
#pragma unroll
                for (int r = 0; r < CONV_NT_MR; r++) av[r] = NT_VLOAD(0, az + arow[r] + l);
#pragma unroll
                for (int j = 0; j < CONV_NT_NR; j++) {
                    NT_V bv = NT_VLOAD(0, bz + brow[j] + l);
#pragma unroll
                    for (int r = 0; r < CONV_NT_MR; r++) acc[r][j] = fma(av[r], bv, acc[r][j]);
                }
            }
            for (int l = Lv; l < Lr; l++)
                for (int r = 0; r < CONV_NT_MR; r++)
                    for (int j = 0; j < CONV_NT_NR; j++) sacc[r][j] += az[arow[r] + l] * bz[brow[j] + l];
        }
    __global float *cz = C + coff + (long)zg * cZ;
    for (int r = 0; r < CONV_NT_MR && m0 + r < M; r++) {
        float bv = has_bias ? bias[biasoff + m0 + r] : 0.0f;
        for (int j = 0; j < CONV_NT_NR && n0 + j < N; j++) {
            NT_V v = acc[r][j];
            float s = sacc[r][j]; /* lanes VW-1 down to 0, one at a time */
            NT_LANES(s, v);
            s += bv;
            int n = n0 + j;
            int i3 = n % cD, q = n / cD, i2 = q % cD2, i1 = q / cD2;
            __global float *d = cz + (long)(m0 + r) * ldc + i1 * cS1 + i2 * cS2 + i3 * cS3;
            *d = beta == 0.0f ? s : s + beta * *d;
        }
    }
}

/* A {M, Kr} (row stride Kr) for conv_nt from a conv weight W {O, I, k, k} (kk = k*k):
 * mode 0: A[m, r] = W[r*M + m]                                              (W {Kr, M} transposed)
 * mode 1: m = o, r = ki*seg + (kj, i):  A = W[o, i, ki, kj]                   (channels last)
 * mode 2: m = i, r = a*seg + (b, o), a < ay, b < ax:
 *         A = W[o, i, y0 + s*(ay-1-a), x0 + s*(ax-1-b)]                      (the taps y0, y0+s, ... of
 *         the kernel, reversed: one phase of a data gradient; s = 1, ay = ax = k: the rotated kernel)
 * In modes 1 and 2 each run of k*I (ax*O) weights is followed by zeros up to seg, so that conv_nt reads
 * whole 16-float vectors (the data it pairs with the zeros is finite padding or pixels). */
__kernel void conv_pack_w(__global float *Ap, int aoff, __global const float *W, int woff, int M, int Kr, int mode,
                          int O, int I, int k, int seg, int y0, int x0, int s, int ay, int ax) {
    int m = get_global_id(0);
    if (m >= M) return;
    __global float *dst = Ap + aoff + (long)m * Kr;
    if (mode == 0) {
        for (int r = 0; r < Kr; r++) dst[r] = W[woff + (long)r * M + m];
        return;
    }
    int kk = k * k;
    if (mode == 1) {
        for (int ki = 0; ki < k; ki++) {
            __global float *d = dst + ki * seg;
            for (int kj = 0; kj < k; kj++)
                for (int i = 0; i < I; i++) d[kj * I + i] = W[woff + ((long)m * I + i) * kk + ki * k + kj];
            for (int r = k * I; r < seg; r++) d[r] = 0.0f;
        }
        return;
    }
    for (int a = 0; a < ay; a++) {
        __global float *d = dst + a * seg;
        int ki = y0 + s * (ay - 1 - a);
        for (int b = 0; b < ax; b++) {
            int t = ki * k + x0 + s * (ax - 1 - b);
            for (int o = 0; o < O; o++) d[b * O + o] = W[woff + ((long)o * I + m) * kk + t];
        }
        for (int r = ax * O; r < seg; r++) d[r] = 0.0f;
    }
}

/* Every phase (cy, cx), cy, cx < s, of a stride-s data gradient's weight in one pass: phase after phase
 * in Ap from aoff, each conv_pack_w's mode 2 of W {O, C, k, k} with y0 = (cy + p) % s, ay = (k - y0 + s -
 * 1) / s (x0, ax alike), seg = ay's run rounded up to 16: {C, ay*seg}. Needs s <= k <= 4. Work-item (ob, ib)
 * takes 16 consecutive o from 16*ob and the rows i from PACK_PHASES_IC*ib, launched one per work-group:
 * for each i the 16 o's k*k taps (a run of W each) go through a private 16x16 block, so W is read once for
 * every phase and each tap's 16 o are one vector store. (A work-item per (i, 16 o), PoCL's 16 work-items
 * a vector, read and stored 16 floats apart: 3.5 ms against ~1 ms for U-Net's 512x512 4x4 weights.) */
__kernel void conv_pack_phases(__global float *Ap, int aoff, __global const float *W, int woff, int O, int C, int k,
                               int s, int p) {
    int o0 = get_global_id(0) * 16, i0 = get_global_id(1) * PACK_PHASES_IC, kk = k * k;
    if (o0 >= O || i0 >= C) return;
    int no = min(16, O - o0);
    for (int i = i0; i < C && i < i0 + PACK_PHASES_IC; i++) {
        float a[16][16]; /* [tap][o - o0] */
        __global const float *w = W + woff + ((long)o0 * C + i) * kk;
        if (kk == 16 && no == 16) {
            float b[16][16]; /* [o - o0][tap] */
#pragma unroll
            for (int jj = 0; jj < 16; jj++) vstore16(vload16(0, w + (long)jj * C * kk), 0, b[jj]);
#pragma unroll
            for (int t = 0; t < 16; t++)
#pragma unroll
                for (int jj = 0; jj < 16; jj++) a[t][jj] = b[jj][t];
        } else {
            for (int t = 0; t < kk; t++)
                for (int jj = 0; jj < 16; jj++) a[t][jj] = jj < no ? w[(long)jj * C * kk + t] : 0.0f;
        }
        long off = aoff;
        for (int cy = 0; cy < s; cy++)
            for (int cx = 0; cx < s; cx++) {
                int y0 = (cy + p) % s, ay = (k - y0 + s - 1) / s, x0 = (cx + p) % s, ax = (k - x0 + s - 1) / s;
                int seg = (ax * O + 15) / 16 * 16;
                __global float *dst = Ap + off + (long)i * ay * seg;
                for (int ya = 0; ya < ay; ya++) {
                    int ki = y0 + s * (ay - 1 - ya);
                    for (int xb = 0; xb < ax; xb++) {
                        int t = ki * k + x0 + s * (ax - 1 - xb);
                        __global float *d = dst + ya * seg + xb * O + o0;
                        if (no == 16)
                            vstore16(vload16(0, a[t]), 0, d);
                        else
                            for (int jj = 0; jj < no; jj++) d[jj] = a[t][jj];
                    }
                    if (o0 == 0)
                        for (int r = ax * O; r < seg; r++) dst[ya * seg + r] = 0.0f;
                }
                off += (long)C * ay * seg;
            }
    }
}

/* Channels-last padded copy: P[g, py, px, c] = img[g, c, py - pt, px - pl] (zero outside, or reflected
 * when reflect, pt < H, pl < W), then `slack` zeros. Work-item (b, row) writes padded row `row` = (g, py)
 * for the channels from c0 = 16*(b / nxb), nxb = ceil(W/16) + 1: block xb = b % nxb < nxb - 1 the image
 * columns from 16*xb (16 of them and 16 channels: 16 vector loads, a channel's 16 pixels each, transposed
 * in registers into 16 vector stores), the last block the row's padding columns. (A work-item per pixel
 * looping over the channels, PoCL's 16 work-items a vector, stored C floats apart: 3-4x slower on
 * CycleGAN's strided layers, ./bench --profile.) */
__kernel void conv_pad_hwc(__global float *P, int poff, __global const float *img, int ioff, int G, int C, int H, int W,
                           int PH, int PW, int pt, int pl, int reflect, int slack) {
    int b = get_global_id(0), row = get_global_id(1), nxb = (W + 15) / 16 + 1;
    if (b >= nxb * ((C + 15) / 16) || row >= G * PH) return;
    if (b == 0 && row == 0)
        for (int j = 0; j < slack; j++) P[poff + (long)G * PH * PW * C + j] = 0.0f;
    int cb = b / nxb, xb = b - cb * nxb, c0 = cb * 16, nc = min(16, C - c0), g = row / PH, py = row - g * PH;
    int iy = py - pt;
    if (reflect) iy = conv_reflect(iy, H);
    int inside = iy >= 0 && iy < H;
    __global float *dst = P + poff + (long)row * PW * C + c0;
    __global const float *src = img + ioff + ((long)g * C + c0) * H * W + (long)iy * W;
    if (xb == nxb - 1) { /* the padding columns */
        for (int px = 0; px < PW; px++) {
            if (px == pl) px = min(pl + W, PW);
            if (px == PW) break;
            int ix = px - pl;
            if (reflect) ix = conv_reflect(ix, W);
            int ok = inside && ix >= 0 && ix < W;
            for (int c = 0; c < nc; c++) dst[(long)px * C + c] = ok ? src[(long)c * H * W + ix] : 0.0f;
        }
        return;
    }
    int ix0 = 16 * xb, px0 = pl + ix0, np = min(min(16, W - ix0), PW - px0);
    dst += (long)px0 * C;
    if (np == 16 && nc == 16) {
        float a[16][16];
#pragma unroll
        for (int c = 0; c < 16; c++)
            vstore16(inside ? vload16(0, src + (long)c * H * W + ix0) : (float16)0.0f, 0, a[c]);
#pragma unroll
        for (int p = 0; p < 16; p++)
            vstore16((float16)(a[0][p], a[1][p], a[2][p], a[3][p], a[4][p], a[5][p], a[6][p], a[7][p], a[8][p], a[9][p],
                               a[10][p], a[11][p], a[12][p], a[13][p], a[14][p], a[15][p]),
                     0, dst + (long)p * C);
        return;
    }
    for (int p = 0; p < np; p++)
        for (int c = 0; c < nc; c++) dst[(long)p * C + c] = inside ? src[(long)c * H * W + ix0 + p] : 0.0f;
}

/* The adjoint of conv_pad_phase (zero padding): img[g, c, y, x] = beta*img + (bias[c] if has_bias) +
 * D[g, f*C + c, Y, X] for the padded pixel (py, px) = (y + p, x + p) = (s*Y + fy, s*X + fx), f = fy*s + fx
 * (zero for Y >= RH or X >= RW: D holds only the phase rows and columns that have contributions;
 * host s2d_adjoint). D {G, s*s*C, RH, RW}. One work-item per image plane (g, c), launched one per
 * work-group (PoCL's vectors across work-items would gather and scatter). */
__kernel void conv_unphase(__global float *img, int ioff, __global const float *D, int doff, int C, int GC, int H,
                           int W, int p, int s, int RH, int RW, __global const float *bias, int boff, int has_bias,
                           float beta) {
    int gc = get_global_id(0);
    if (gc >= GC) return;
    int g = gc / C, c = gc - g * C;
    float bv = has_bias ? bias[boff + c] : 0.0f;
    long plane = (long)C * RH * RW;
    for (int y = 0; y < H; y++) {
        int py = y + p, Y = py / s, fy = py - s * Y;
        __global float *dst = img + ioff + ((long)gc * H + y) * W;
        __global const float *src = D + doff + (((long)g * s * s + fy * s) * C + c) * RH * RW + (long)Y * RW;
        int X = p / s, fx = p - s * X;
        for (int x = 0; x < W; x++) {
            ACC(dst[x], bv + (Y < RH && X < RW ? src[fx * plane + X] : 0.0f));
            if (++fx == s) fx = 0, X++;
        }
    }
}

/* Polyphase split of the padded image: P[f, g, c, y, x] = padded img[g, c, s*y + fy, s*x + fx] for the
 * s*s phases f = fy*s + fx, {PHp, PWp} per phase (zero outside the padded image {H+2p, W+2p}; inside it,
 * the image with zero or reflection padding), then `slack` zeros. With G > 1 the planes come out
 * channel-major, P[f, c, g, y, x], from img {G, GC/G, H, W} (G = 1: as they are). One work-item per
 * (phase, plane), all its rows: a row's interior columns are vector copies (s = 1) or the even lanes of
 * 16-float loads from the phase's first column (s = 2); one work-item per row with a scalar gather ran
 * DCGAN's batched weight gradient (./bench dcgan.D2.dw) at half speed. */
__kernel void conv_pad_phase(__global float *P, int poff, __global const float *img, int ioff, int GC, int G, int H,
                             int W, int p, int s, int PHp, int PWp, int reflect, int slack) {
    int i = get_global_id(0);
    if (i >= s * s * GC) return;
    if (i == 0)
        for (int j = 0; j < slack; j++) P[poff + (long)s * s * GC * PHp * PWp + j] = 0.0f;
    int gc = i % GC, f = i / GC, fy = f / s, fx = f - fy * s;
    int plane = gc % G * (GC / G) + gc / G; /* output plane (c, g) reads input plane (g, c) */
    /* interior columns x0 <= x < x1: 0 <= s*x + fx - p < W */
    int x0 = p > fx ? (p - fx + s - 1) / s : 0, x1 = W - 1 + p - fx >= 0 ? (W - 1 + p - fx) / s + 1 : 0;
    if (x1 > PWp) x1 = PWp;
    if (x0 > x1) x0 = x1;
    for (int y = 0; y < PHp; y++) {
        __global float *dst = P + poff + ((long)i * PHp + y) * PWp;
        int py = s * y + fy, iy = py - p;
        if (reflect) iy = conv_reflect(iy, H);
        if (py >= H + 2 * p || iy < 0 || iy >= H) {
            for (int x = 0; x < PWp; x++) dst[x] = 0.0f;
            continue;
        }
        __global const float *src = img + ioff + ((long)plane * H + iy) * W;
        for (int x = 0; x < x0; x++) {
            int ix = s * x + fx - p;
            if (reflect) ix = conv_reflect(ix, W);
            dst[x] = ix >= 0 && ix < W ? src[ix] : 0.0f;
        }
        int x = x0, ix = s * x0 + fx - p;
        if (s == 1)
            for (; x + 8 <= x1; x += 8, ix += 8) vstore8(vload8(0, src + ix), 0, dst + x);
        else if (s == 2)
            for (; x + 8 <= x1 && ix + 16 <= W; x += 8, ix += 16) vstore8(vload16(0, src + ix).even, 0, dst + x);
        for (; x < x1; x++, ix += s) dst[x] = src[ix];
        for (x = x1; x < PWp; x++) {
            int px = s * x + fx;
            ix = px - p;
            if (reflect) ix = conv_reflect(ix, W);
            dst[x] = px < W + 2 * p && ix >= 0 && ix < W ? src[ix] : 0.0f;
        }
    }
}
