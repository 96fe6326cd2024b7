/* conv_oc: strided convolutions computed directly, vectorised over output channels (host/ops/conv.c,
 * oc_conv and oc_adjoint). conv_rows vectorises over a row's pixels, which a stride s > 1 scatters s floats
 * apart; here a work-item holds OC_PX output pixels of one row x CONV_ROWS_VW output channels, and each
 * reduction step (c, ki, kj) is one vector load of the packed weight and OC_PX broadcasts of image pixels,
 * whatever the stride, for OC_PX vector FMAs. Where the reduction is short (the adversarial VAE's 16- and
 * 32-channel stride-2 layers: K 144 and 288) conv_nt's dot products along K spent most of their time
 * on set-up and horizontal sums, and the phases of the data gradient on conv_rows were rows of 14 pixels
 * (docs/PERF.md).
 *   Y[g, m, oy*yR + ox*yS] = beta*Y + (bias[m]) + sum_{c, ki < kh, kj < kw} Wq[m, (c, ki, kj)] *
 *                            P[g*pZ + c*pC + oy*pR + ox*ps + ki*tr + kj]
 * (Y at Y + yoff, sample g yZ floats on, channel m yM). The forward: P the padded image, pR = s*PW, ps = s,
 * tr = PW, the output NCHW. A phase (cy, cx) of a stride-s data gradient: P the upstream gradient padded,
 * stride 1 (pR = tr = its padded width, ps = 1) over that phase's kh x kw taps reversed, Y the image's
 * pixels (s*ry + cy, s*rx + cx): yR = s*W, yS = s. A row's last block reads up to OC_PX*ps + kw floats
 * past the row's last output (zeros of the padding, the next row, or the copy's slack). Wq {ceil(M/VW),
 * C*kh*kw, VW}: blocks of VW output channels, zeros past M (conv_pack_oc). One work-item per (OC_PX pixels
 * of a row, output row, (sample, channel block)). */

#include "clg_shared.h"

#if CONV_ROWS_VW == 16
#define OC_V float16
#define OC_VLOAD vload16
#define OC_VSTORE vstore16
#elif CONV_ROWS_VW == 8
#define OC_V float8
#define OC_VLOAD vload8
#define OC_VSTORE vstore8
#elif CONV_ROWS_VW == 4
#define OC_V float4
#define OC_VLOAD vload4
#define OC_VSTORE vstore4
#endif

/* The OC_PX accumulators as named variables: PoCL keeps an array indexed in a loop it does not unroll in
 * memory. */
#if OC_PX != 8
#error "conv_oc.cl: OC_ACC8 names 8 accumulators"
#endif
#define OC_ACC8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

__kernel void conv_oc(__global float *Y, int yoff, int yZ, int yM, int yR, int yS, __global const float *Wq,
                      int woff, __global const float *P, int poff, int pZ, int pC, int pR, int ps, int tr,
                      int C, int kh, int kw, int M, int OH, int OW, int nblk, float beta, __global const float *bias,
                      int boff, int has_bias) {
    int xb = get_global_id(0), oy = get_global_id(1), z = get_global_id(2);
    int g = z / nblk, mb = z - g * nblk, ox0 = xb * OC_PX;
    if (ox0 >= OW || oy >= OH) return;
    __global const float *w = Wq + woff + (long)mb * C * kh * kw * CONV_ROWS_VW;
    __global const float *p = P + poff + (long)g * pZ + (long)oy * pR + (long)ps * ox0;
#define OC_DECL(j) OC_V a##j = 0.0f;
    OC_ACC8(OC_DECL)
    for (int c = 0; c < C; c++, p += pC)
        for (int ki = 0; ki < kh; ki++) {
            __global const float *r = p + ki * tr;
            for (int kj = 0; kj < kw; kj++, w += CONV_ROWS_VW, r++) {
                OC_V wv = OC_VLOAD(0, w);
#define OC_FMA(j) a##j = fma((OC_V)(r[(j) * ps]), wv, a##j);
                OC_ACC8(OC_FMA)
            }
        }
    /* a pixel's VW channels are VW planes apart in Y: through private memory, one float at a time */
    float acc[OC_PX * CONV_ROWS_VW];
#define OC_SPILL(j) OC_VSTORE(a##j, j, acc);
    OC_ACC8(OC_SPILL)
    int m0 = mb * CONV_ROWS_VW, mn = M - m0 < CONV_ROWS_VW ? M - m0 : CONV_ROWS_VW;
    int xn = OW - ox0 < OC_PX ? OW - ox0 : OC_PX;
    for (int r = 0; r < mn; r++) {
        float b = has_bias ? bias[boff + m0 + r] : 0.0f;
        __global float *y = Y + yoff + (long)g * yZ + (long)(m0 + r) * yM + (long)oy * yR + (long)ox0 * yS;
        for (int j = 0; j < xn; j++) {
            float v = acc[j * CONV_ROWS_VW + r] + b;
            y[j * yS] = beta == 0.0f ? v : v + beta * y[j * yS];
        }
    }
}

/* Wq[mb][(c, a, b)][r] = W[m, c, y0 + s*a, x0 + s*b] with m = mb*VW + r (0 for m >= M), a < ah, b < aw:
 * W {M, C, k, k} (adj 0: the forward, y0 = x0 = 0, ah = aw = k) or, for a phase of the data gradient,
 * W {C, M, k, k} read as its transpose W[c, m, ...] (adj 1), the taps reversed: a -> ah-1-a, b -> aw-1-b.
 * One work-item per (reduction index (c, a, b), channel block): VW floats. */
__kernel void conv_pack_oc(__global float *Wq, int qoff, __global const float *W, int woff, int M, int C, int k,
                           int adj, int s, int y0, int x0, int ah, int aw) {
    int q = get_global_id(0), mb = get_global_id(1), K = C * ah * aw;
    if (q >= K) return;
    int c = q / (ah * aw), t = q - c * ah * aw, a = t / aw, b = t - a * aw;
    if (adj) a = ah - 1 - a, b = aw - 1 - b;
    int tap = (y0 + s * a) * k + x0 + s * b;
    __global float *d = Wq + qoff + ((long)mb * K + q) * CONV_ROWS_VW;
    for (int r = 0; r < CONV_ROWS_VW; r++) {
        int m = mb * CONV_ROWS_VW + r;
        long src = adj ? ((long)c * M + m) * k * k + tap : ((long)m * C + c) * k * k + tap;
        d[r] = m < M ? W[woff + src] : 0.0f;
    }
}
