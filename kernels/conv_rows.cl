/* conv_rows: a stride-1 convolution as an outer-product GEMM over the rows of an NCHW padded image,
 * for CPUs (host/ops/conv.c, own kernels). Every pixel of the flat grid n = oy*PW + ox of the padded
 * width PW is computed (the columns ox >= OW are not stored), so the k x kw taps of channel c are plain
 * shifts of one contiguous run: B[(c, ki, kj), n] = P[c*pC + ki*PW + kj + n]. The weight comes packed
 * as panels of CONV_ROWS_MR output channels, A[mb][(c, ki, kj)][r] (conv_pack_panels), so a reduction
 * step is CONV_ROWS_MR broadcasts from one contiguous run and NV loads of CONV_ROWS_VW floats for MR*NV
 * vector FMAs, the accumulators in registers (8 x 3 of AVX-512's 32). (Reading the weight where it is,
 * MR rows apart, measured a third slower.) Against conv_nt (both operands along the reduction, 10
 * vector loads per 24 FMAs from ten separate rows) a work-item streams one panel and a few image rows,
 * whose cache lines serve all k column taps.
 *   Y[g, m, oy, ox] = beta*Y + (bias[m]) + sum_{c, ki, kj} A[m, (c, ki, kj)] * P[g, c, oy + ki, ox + kj]
 * (ki < k, kj < kw: square kernels, and the rectangular taps of one phase of a strided data gradient)
 * Y[g, m, oy, ox] at Y + yoff + g*yZ + m*yM + oy*yR + ox (an NCHW output: yM = OH*OW, yR = OW); P at
 * P + poff, sample stride pZ, channel stride pC, and pixel block n / NB (NB = CONV_ROWS_NB) pB floats on
 * (pB = NB: plain rows; pixel panels, host panel_conv: each block's K x NB floats contiguous); A's panels
 * at A + aoff + g*aZ (aZ = 0: one weight for every sample; conv_winograd.cl: one per tap), aP floats
 * apart (K*MR, or the whole K where a launch takes a K-slice); NG = OH*PW. mfirst: the panels are
 * dimension 0 (every panel of a pixel block before the next block: the block's operand stays in cache
 * while the weight streams), else dimension 1. The last vectors read up to CONV_ROWS_NB + k floats past
 * the last sample's padded image (its slack). One work-item per (VW*NV pixels, panel, sample). elu > 0:
 * the output is ELU(y) with that alpha, computed as act.cl's elu_fwd does (beta must be 0). */

#include "clg_shared.h"
#include "common.clh"

#if !defined(CONV_ROWS_MR) || !defined(CONV_ROWS_VW) || !defined(CONV_ROWS_NV)
#error "conv_rows.cl needs -DCONV_ROWS_MR, -DCONV_ROWS_VW and -DCONV_ROWS_NV (host/tuning.c, clg_kernel_params)"
#endif
/* The pixel vectors: CONV_ROWS_VW floats (4, 8 or 16; 16 fills an AVX-512 register). */
#if CONV_ROWS_VW == 16
#define ROWS_V float16
#define ROWS_VLOAD vload16
#define ROWS_VSTORE vstore16
CLG_EXP_NONPOS(rows_exp_nonpos, float16, int16, as_float16, convert_float16, convert_int16)
#elif CONV_ROWS_VW == 8
#define ROWS_V float8
#define ROWS_VLOAD vload8
#define ROWS_VSTORE vstore8
CLG_EXP_NONPOS(rows_exp_nonpos, float8, int8, as_float8, convert_float8, convert_int8)
#elif CONV_ROWS_VW == 4
#define ROWS_V float4
#define ROWS_VLOAD vload4
#define ROWS_VSTORE vstore4
CLG_EXP_NONPOS(rows_exp_nonpos, float4, int4, as_float4, convert_float4, convert_int4)
#else
#error "conv_rows.cl: CONV_ROWS_VW must be 4, 8 or 16"
#endif
#define CONV_ROWS_NB (CONV_ROWS_VW * CONV_ROWS_NV) /* pixels per work-item of conv_rows */

/* One reduction step: NV vectors from SRC, each against the panel's CONV_ROWS_MR weights at a, which then
 * moves on to the next step's. */
#define ROWS_STEP(SRC, NV)                                                                                      \
    {                                                                                                           \
        __global const float *src_ = (SRC);                                                                     \
        ROWS_V b[NV];                                                                                           \
_Pragma("unroll")                                                                                               \
        for (int v = 0; v < NV; v++) b[v] = ROWS_VLOAD(0, src_ + CONV_ROWS_VW * v);                             \
_Pragma("unroll")                                                                                               \
        for (int r = 0; r < CONV_ROWS_MR; r++) {                                                                \
            ROWS_V av = (ROWS_V)a[r];                                                                           \
_Pragma("unroll")                                                                                               \
            for (int v = 0; v < NV; v++) acc[r][v] = fma(av, b[v], acc[r][v]);                                  \
        }                                                                                                       \
        a += CONV_ROWS_MR;                                                                                      \
    }

/* d[0, cnt) = src[0, cnt) + beta * d (d not read where beta is 0), cnt < 16, in pieces of 8, 4, 2 and 1
 * floats: the part of an output vector that falls in one output row (stored lane by lane, each lane
 * behind a bounds test, the adversarial VAE's 28x28 to 7x7 kernel rows took 1.25x as long on AVX-512:
 * docs/PERF.md, session 38). */
static inline void rows_store_run(__global float *d, const float *src, int cnt, float beta) {
    int i = 0;
    if (cnt >= 8) {
        float8 v = vload8(0, src);
        if (beta != 0.0f) v = v + beta * vload8(0, d);
        vstore8(v, 0, d);
        i = 8;
    }
    if (cnt - i >= 4) {
        float4 v = vload4(0, src + i);
        if (beta != 0.0f) v = v + beta * vload4(0, d + i);
        vstore4(v, 0, d + i);
        i += 4;
    }
    if (cnt - i >= 2) {
        float2 v = vload2(0, src + i);
        if (beta != 0.0f) v = v + beta * vload2(0, d + i);
        vstore2(v, 0, d + i);
        i += 2;
    }
    if (cnt > i) d[i] = beta == 0.0f ? src[i] : src[i] + beta * d[i];
}

/* conv_rows takes CONV_ROWS_NV vectors (CONV_ROWS_VW * CONV_ROWS_NV pixels) per work-item; conv_rows1 one,
 * for the last pixels of a row set whose count is not a multiple of that (the host launches both: no vector
 * computed for nothing). The unrolled loops matter: an accumulator indexed by a loop variable PoCL does
 * not unroll is kept in memory. A launch computes the pixels from nbase up to nend (work-items past it,
 * from rounding the grid to whole work-groups, return: the other launch owns those pixels, and writing
 * them twice would add twice where beta is not 0). */
#define CONV_ROWS_KERNEL(NAME, NV) \
__kernel void NAME(__global float *Y, int yoff, int yZ, int OW, int yM, int yR, __global const float *A, int aoff, \
                        int aZ, int aP, __global const float *P, int poff, int pZ, int pC, int pB, int PW, int C, int k,   \
                        int kw,                                                                                     \
                        int M, int NG, int nbase, int nend, float beta, __global const float *bias, int boff,       \
                        int has_bias, int mfirst, float elu) {                                                      \
    int n0 = nbase + get_global_id(mfirst) * (CONV_ROWS_VW * NV), mb = get_global_id(1 - mfirst);               \
    int g = get_global_id(2);                                                                                   \
    if (n0 >= nend) return;                                                                                     \
    __global const float *a = A + aoff + (long)g * aZ + (long)mb * aP;                                          \
    __global const float *p = P + poff + (long)g * pZ + (long)(n0 / CONV_ROWS_NB) * pB + n0 % CONV_ROWS_NB;     \
    ROWS_V acc[CONV_ROWS_MR][NV];                                                                              \
_Pragma("unroll")                                                                                               \
    for (int r = 0; r < CONV_ROWS_MR; r++)                                                                      \
_Pragma("unroll")                                                                                               \
        for (int v = 0; v < NV; v++) acc[r][v] = (ROWS_V)0.0f;                                                   \
    if (k == 1 && kw == 1) { /* one tap (pixel panels, Winograd's products): a single loop, less overhead */     \
        for (int c = 0; c < C; c++) ROWS_STEP(p + (long)c * pC, NV)                                             \
    } else {                                                                                                    \
        for (int c = 0; c < C; c++)                                                                             \
            for (int ki = 0; ki < k; ki++) {                                                                    \
                __global const float *row = p + (long)c * pC + ki * PW;                                         \
                for (int kj = 0; kj < kw; kj++) ROWS_STEP(row + kj, NV)                                         \
            }                                                                                                   \
    }                                                                                                           \
    __global float *y = Y + yoff + (long)g * yZ;                                                                \
_Pragma("unroll")                                                                                               \
    for (int r = 0; r < CONV_ROWS_MR; r++) {                                                                    \
        int m = mb * CONV_ROWS_MR + r;                                                                          \
        float bv = has_bias && m < M ? bias[boff + m] : 0.0f;                                                   \
_Pragma("unroll")                                                                                               \
        for (int v = 0; v < NV; v++) {                                                                          \
            int n = n0 + CONV_ROWS_VW * v, oy = n / PW, ox = n - oy * PW;                                       \
            ROWS_V o = acc[r][v] + bv;                                                                          \
            if (elu > 0.0f) o = o > (ROWS_V)0.0f ? o : elu * (rows_exp_nonpos(o) - 1.0f); /* as elu_fwd */      \
            __global float *d = y + (long)m * yM + (long)oy * yR + ox;                                          \
            if (m >= M || n >= NG) {                                                                            \
            } else if (ox + CONV_ROWS_VW <= OW) { /* the vector's pixels in one output row */                   \
                if (beta != 0.0f) o += beta * ROWS_VLOAD(0, d);                                                    \
                ROWS_VSTORE(o, 0, d);                                                                            \
            } else { /* the lanes' runs in output rows, stepping over the grid's columns past OW */          \
                float lane[CONV_ROWS_VW];                                                                       \
                ROWS_VSTORE(o, 0, lane);                                                                        \
                int qx = ox, last = NG - n < CONV_ROWS_VW ? NG - n : CONV_ROWS_VW;                              \
                for (int l = 0; l < last; l += PW - qx, d += yR - qx, qx = 0)                                   \
                    if (qx < OW) rows_store_run(d, lane + l, OW - qx < last - l ? OW - qx : last - l, beta);    \
            }                                                                                                   \
        }                                                                                                       \
    }                                                                                                           \
}

CONV_ROWS_KERNEL(conv_rows, CONV_ROWS_NV)
CONV_ROWS_KERNEL(conv_rows1, 1)

/* conv_rows' panels from a conv weight W {O, I, k, k} (kk = k*k): Ap[mb][r][j] for the row m = mb*MR + j
 * (MR = CONV_ROWS_MR) and the reduction index r < Kr; rows past the weight's are zeros.
 *   rotated = 0: m = o, r = (i, ki, kj), A = W[o, i, ki, kj]               (a convolution, Kr = I*kk)
 *                read at W[m*ld + (r / seg)*segZ + r % seg]: row m in segments of seg floats segZ apart
 *                (ld = seg = Kr, a matrix; an NCHW upstream gradient {N, O, L} as {O, N*L}: ld = seg = L,
 *                segZ = O*L, no channel-major copy first)
 *   rotated = 1: m = i, r = (o, ki, kj), A = W[o, i, k-1-ki, k-1-kj]       (its stride-1 data gradient
 *                                                                           with the rotated kernel)
 * rotated = 0: work-item (q, mb) packs the 16 r from 16q of panel mb (MR vector loads transposed in
 * registers; one work-item per (r, mb) writing MR floats, PoCL's 16 work-items a vector, stored 8 floats
 * apart and took twice as long). rotated = 1: work-item q packs o = q's kk r of every panel, each from MR*kk
 * contiguous floats (3x3: through registers); the host launches it one per work-group (grid {O}). */
__kernel void conv_pack_panels(__global float *Ap, int aoff, __global const float *W, int woff, int Kr, int rotated,
                               int O, int I, int kk, int ld, int seg, int segZ) {
    int q = get_global_id(0), mb = get_global_id(1), m0 = mb * CONV_ROWS_MR;
    __global float *d = Ap + aoff + (long)mb * Kr * CONV_ROWS_MR;
    if (rotated) {
        if (q >= O) return;
        int np = (I + CONV_ROWS_MR - 1) / CONV_ROWS_MR;
        for (mb = 0, m0 = 0; mb < np; mb++, m0 += CONV_ROWS_MR) {
            __global const float *s = W + woff + ((long)q * I + m0) * kk;
            d = Ap + aoff + ((long)mb * Kr + (long)q * kk) * CONV_ROWS_MR;
            if (kk == 9 && m0 + CONV_ROWS_MR <= I) { /* 3x3: through registers */
                float a[CONV_ROWS_MR * 9];
#pragma unroll
                for (int j = 0; j < CONV_ROWS_MR * 9; j++) a[j] = s[j];
#pragma unroll
                for (int t = 0; t < 9; t++)
#pragma unroll
                    for (int j = 0; j < CONV_ROWS_MR; j++) d[t * CONV_ROWS_MR + j] = a[j * 9 + 8 - t];
                continue;
            }
            for (int t = 0; t < kk; t++)
                for (int j = 0; j < CONV_ROWS_MR; j++)
                    d[t * CONV_ROWS_MR + j] = m0 + j < I ? s[j * kk + kk - 1 - t] : 0.0f;
        }
        return;
    }
    int r0 = q * 16;
    if (r0 >= Kr) return;
    __global const float *w = W + woff + (long)m0 * ld;
    if (r0 + 16 <= Kr && m0 + CONV_ROWS_MR <= O && r0 % seg + 16 <= seg) { /* 16 r of one segment */
        __global const float *src = w + (long)(r0 / seg) * segZ + r0 % seg;
        float a[CONV_ROWS_MR][16];
#pragma unroll
        for (int j = 0; j < CONV_ROWS_MR; j++) vstore16(vload16(0, src + (long)j * ld), 0, a[j]);
#pragma unroll
        for (int i = 0; i < 16; i++)
#pragma unroll
            for (int j = 0; j < CONV_ROWS_MR; j++) d[(long)(r0 + i) * CONV_ROWS_MR + j] = a[j][i];
        return;
    }
    for (int r = r0; r < Kr && r < r0 + 16; r++)
        for (int j = 0; j < CONV_ROWS_MR; j++)
            d[(long)r * CONV_ROWS_MR + j] = m0 + j < O ? w[(long)j * ld + (long)(r / seg) * segZ + r % seg] : 0.0f;
}

/* conv_rows' panels for a stride-s convolution run as a stride-1 one on its space-to-depth copy (the
 * s*s phases of the padded image as channels c' = f*C + c, f = fy*s + fx; conv_pad_phase): the kernel
 * {O, C, k, k} becomes {O, s*s*C, kq, kq}, kq = ceil(k/s), tap (a, b) of phase f being tap (s*a + fy,
 * s*b + fx) of the original (zero past k). Ap[mb][r][j] for row m = mb*MR + j, r = (c'*kq + a)*kq + b < Kr;
 * rows past O are zeros. One work-item per (r, mb). */
__kernel void conv_pack_s2d(__global float *Ap, int aoff, __global const float *W, int woff, int Kr, int O, int C,
                            int k, int s, int kq) {
    int r = get_global_id(0), mb = get_global_id(1);
    if (r >= Kr) return;
    int b = r % kq, t = r / kq, a = t % kq, cf = t / kq, c = cf % C, f = cf / C, fy = f / s, fx = f - fy * s;
    int ki = s * a + fy, kj = s * b + fx, m0 = mb * CONV_ROWS_MR, ok = ki < k && kj < k;
    __global const float *src = W + woff + ((long)m0 * C + c) * k * k + (ok ? ki * k + kj : 0);
    __global float *d = Ap + aoff + ((long)mb * Kr + r) * CONV_ROWS_MR;
    for (int j = 0; j < CONV_ROWS_MR; j++) d[j] = ok && m0 + j < O ? src[(long)j * C * k * k] : 0.0f;
}

/* The adjoint of conv_pack_s2d's convolution, for a stride-s data gradient (or transposed convolution) on
 * conv_rows (host s2d_adjoint): rows m = c' = f*C + c of the phase image's gradient, the reduction index
 * r = (o*kq + a)*kq + b < Kr = O*kq*kq over the upstream gradient's channels and the kq x kq taps rotated:
 *   Ap[mb][r][j] = W[o, c, s*(kq-1-a) + fy, s*(kq-1-b) + fx]   (zero past k, and for rows m >= s*s*C)
 * One work-item per o, over every panel, each (o, panel) run of kq*kq*MR floats read from MR runs of k*k
 * floats. The host launches it one per work-group. Measured (CLGAN_PROFILE=2, CycleGAN's 128->256 3x3):
 * a work-item per (r, mb), PoCL's vectors of them storing MR floats apart, 1.6 ms; one work-group per
 * (o, mb), 1.6 ms; one per o, 0.2 ms; one per panel over every o, slower than that in pix2pix. */
__kernel void conv_pack_s2d_adj(__global float *Ap, int aoff, __global const float *W, int woff, int Kr, int O, int C,
                                int k, int s, int kq) {
    int o = get_global_id(0), np = (s * s * C + CONV_ROWS_MR - 1) / CONV_ROWS_MR;
    if (o >= O) return;
    for (int mb = 0; mb < np; mb++) {
        __global float *d = Ap + aoff + ((long)mb * Kr + (long)o * kq * kq) * CONV_ROWS_MR;
        int m0 = mb * CONV_ROWS_MR, c0 = m0 % C, f0 = m0 / C, fy0 = f0 / s, fx0 = f0 - fy0 * s;
        if (c0 + CONV_ROWS_MR <= C && f0 < s * s) { /* the panel's rows in one phase: MR channels k*k apart */
            __global const float *w = W + woff + ((long)o * C + c0) * k * k;
            for (int a = 0; a < kq; a++)
                for (int b = 0; b < kq; b++) {
                    int ki = s * (kq - 1 - a) + fy0, kj = s * (kq - 1 - b) + fx0, in = ki < k && kj < k;
                    __global const float *src = w + (in ? ki * k + kj : 0);
#pragma unroll
                    for (int j = 0; j < CONV_ROWS_MR; j++) d[(a * kq + b) * CONV_ROWS_MR + j] = in ? src[j * k * k] : 0.0f;
                }
            continue;
        }
        for (int j = 0; j < CONV_ROWS_MR; j++) {
            int m = m0 + j, c = m % C, f = m / C, fy = f / s, fx = f - fy * s;
            __global const float *w = W + woff + ((long)o * C + c) * k * k;
            for (int a = 0; a < kq; a++)
                for (int b = 0; b < kq; b++) {
                    int ki = s * (kq - 1 - a) + fy, kj = s * (kq - 1 - b) + fx;
                    d[(a * kq + b) * CONV_ROWS_MR + j] = f < s * s && ki < k && kj < k ? w[ki * k + kj] : 0.0f;
                }
        }
    }
}

/* conv_rows' panels for one phase (fy, fx) of a stride-s data gradient (or transposed convolution) with
 * its own taps only (host phase_rows_adjoint): the image pixels s*Y + fy - p (and likewise in x) receive
 * the ay x ax taps ki = s*a + fy < k of W {O, C, k, k}, rotated for a stride-1 correlation of the
 * upstream gradient: rows m = c, the reduction index r = (o*ay + a)*ax + b < Kr = O*ay*ax,
 *   Ap[mb][r][j] = W[o, c, s*(ay-1-a) + fy, s*(ax-1-b) + fx]              (zero for rows m >= C)
 * One work-item per o over every panel, launched one per work-group (as conv_pack_s2d_adj). */
__kernel void conv_pack_phase_panels(__global float *Ap, int aoff, __global const float *W, int woff, int O, int C,
                                     int k, int s, int fy, int fx, int ay, int ax) {
    int o = get_global_id(0), np = (C + CONV_ROWS_MR - 1) / CONV_ROWS_MR, Kr = O * ay * ax;
    if (o >= O) return;
    for (int mb = 0; mb < np; mb++) {
        __global float *d = Ap + aoff + ((long)mb * Kr + (long)o * ay * ax) * CONV_ROWS_MR;
        for (int j = 0; j < CONV_ROWS_MR; j++) {
            int c = mb * CONV_ROWS_MR + j;
            __global const float *w = W + woff + ((long)o * C + (c < C ? c : 0)) * k * k;
            for (int a = 0; a < ay; a++)
                for (int b = 0; b < ax; b++) {
                    int ki = s * (ay - 1 - a) + fy, kj = s * (ax - 1 - b) + fx;
                    d[(a * ax + b) * CONV_ROWS_MR + j] = c < C ? w[ki * k + kj] : 0.0f;
                }
        }
    }
}

/* conv_rows' image as pixel panels (strided convolutions as GEMMs over the batch, host panel_conv):
 * Bp[b][r][j] for pixel n = b*NB + j (NB = CONV_ROWS_NB) of the flat batch, n = (sample, oy, ox) over
 * L = OH*OW pixels a sample, and the reduction index r = (c, ki, kj):
 *   Bp = X[sample, c, oy*s + ki, ox*s + kj]   (zero past the NL-th pixel)
 * X: a padded image {N, C, PH, PW} at X + xoff (the origin of the taps; samples xZ apart), read without
 * bounds (the host pads so that every tap is inside, with a vector of slack after the last plane). So
 * conv_rows with k = 1, channels K = C*k*k, channel stride NB and block stride K*NB reads each
 * work-item's operand as one contiguous run, which PoCL's loads stream from L2 at nearly the FMA peak
 * where the strided rows of an image stall. A block's pixels are runs along output rows: each tap's run
 * is a stride-s read of an image row, copied in vectors (s = 1, 2) where it is 8 or 16 long. One
 * work-item per (block, c): k*k rows of NB floats. */
__kernel void conv_pack_cols(__global float *Bp, int boff, __global const float *X, int xoff, int xZ, int C, int PH,
                             int PW, int OW, int L, int k, int s, int NL) {
    int b = get_global_id(0), c = get_global_id(1);
    if (c >= C) return;
    int n = b * CONV_ROWS_NB, smp = n / L, l = n - smp * L, oy = l / OW, ox = l - oy * OW;
    __global float *d = Bp + boff + ((long)b * C + c) * k * k * CONV_ROWS_NB;
    for (int j = 0; j < CONV_ROWS_NB;) {
        int len = OW - ox < CONV_ROWS_NB - j ? OW - ox : CONV_ROWS_NB - j;
        if (n + j >= NL) len = 0; /* past the last pixel: zeros to the block's end */
        __global const float *img = X + xoff + (long)smp * xZ + ((long)c * PH + oy * s) * PW + ox * s;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                __global float *e = d + (ki * k + kj) * CONV_ROWS_NB + j;
                __global const float *row = img + ki * PW + kj;
                int i = 0;
                if (!len) {
                    for (; i < CONV_ROWS_NB - j; i++) e[i] = 0.0f;
                    continue;
                }
                if (s == 1) {
                    for (; i + 16 <= len; i += 16) vstore16(vload16(0, row + i), 0, e + i);
                    for (; i + 8 <= len; i += 8) vstore8(vload8(0, row + i), 0, e + i);
                } else if (s == 2) { /* the even lanes of two vectors: one float past the last tap, in the slack */
                    for (; i + 16 <= len; i += 16) {
                        float16 u = vload16(0, row + 2 * i), v = vload16(0, row + 2 * i + 16);
                        vstore16((float16)(u.even, v.even), 0, e + i);
                    }
                    for (; i + 8 <= len; i += 8) vstore8(vload16(0, row + 2 * i).even, 0, e + i);
                }
                for (; i < len; i++) e[i] = row[i * s];
            }
        if (!len) break;
        j += len;
        ox += len;
        if (ox == OW) {
            ox = 0;
            if (++oy * OW == L) oy = 0, smp++;
        }
    }
}

/* conv_rows' image for a strided convolution's weight gradient (host panel_weight_grad): the column matrix
 * transposed as panels of NB = CONV_ROWS_NB reduction indices, Rp[b][q][j] for r = b*NB + j = (c, ki, kj)
 * < K = C*k*k and pixel n = n0 + q (q < NL) of the batch, n = (sample, oy, ox) over L = OH*OW a sample:
 *   Rp = X[sample, c, oy*s + ki, ox*s + kj]   (zero for r >= K)
 * X: the padded image {N, C, PH, PW} (samples xZ apart), read without bounds, so that dW = (the upstream
 * gradient's panels) x Rp on conv_rows (k = 1, "channels" the pixels) reads each work-item's operand as
 * one contiguous run. One work-item per (block, PACK_ROWS_PX pixels). */
__kernel void conv_pack_rows(__global float *Rp, int roff, __global const float *X, int xoff, int xZ, int C, int PH,
                             int PW, int OW, int L, int k, int s, int n0, int NL) {
    int b = get_global_id(0), q0 = get_global_id(1) * PACK_ROWS_PX, kk = k * k;
    if (q0 >= NL) return;
    int off[CONV_ROWS_NB];
    for (int j = 0; j < CONV_ROWS_NB; j++) {
        int r = b * CONV_ROWS_NB + j, c = r / kk, t = r - c * kk, ki = t / k;
        off[j] = c < C ? (c * PH + ki) * PW + t - ki * k : -1;
    }
    int n = n0 + q0, smp = n / L, l = n - smp * L, oy = l / OW, ox = l - oy * OW;
    for (int q = q0; q < q0 + PACK_ROWS_PX && q < NL; q++) {
        __global const float *img = X + xoff + (long)smp * xZ + (long)oy * s * PW + ox * s;
        __global float *d = Rp + roff + ((long)b * NL + q) * CONV_ROWS_NB;
        if (k % 4 == 0) /* a tap row's k floats in runs of 4 (NB and r's start a multiple of 4 too) */
            for (int j = 0; j < CONV_ROWS_NB; j += 4) vstore4(off[j] >= 0 ? vload4(0, img + off[j]) : 0.0f, 0, d + j);
        else
            for (int j = 0; j < CONV_ROWS_NB; j++) d[j] = off[j] >= 0 ? img[off[j]] : 0.0f;
        if (++ox == OW) {
            ox = 0;
            if (++oy * OW == L) oy = 0, smp++;
        }
    }
}
