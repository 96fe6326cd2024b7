/* Convolution helpers (host/ops/conv.c): im2col / col2im with zero or reflection padding, the
 * channel-major <-> NCHW permutes around the GEMMs, and the bias gradient.
 *
 * Geometry, shared by every kernel here. The "image" side is a group of G samples {G, C, IH, IW}
 * (NCHW, starting at the sample the host points to). The "column" side has OH x OW positions
 * (L = OH*OW): the output of a convolution of the image with a k x k kernel, stride s, padding p.
 * The column matrix is {K, G*L} row-major with K = C*k*k, row (c, ki, kj), column g*L + oy*OW + ox;
 * it holds image[g, c, oy*s - p + ki, ox*s - p + kj] (0 in zero padding; reflected into the image
 * for reflection padding, as torch.nn.ReflectionPad2d, which needs p < IH, IW).
 * Backward kernels compute dst = beta*dst + value (beta 0 overwrites, even NaN). */

#include "clg_shared.h"
#include "common.clh"
#include "conv_common.clh"

/* One work-item per (r = (c, ki, kj), sample g): it writes that row's OH x OW block of the column
 * matrix, contiguous in memory, so the index arithmetic is paid once per block. */
__kernel void conv_im2col(__global float *cols, int coff, __global const float *img, int ioff, int G, int C,
                          int IH, int IW, int OH, int OW, int k, int s, int p, int reflect) {
    int i = get_global_id(0);
    int kk2 = k * k;
    if (i >= C * kk2 * G) return;
    int g = i % G, r = i / G;
    int c = r / kk2, rk = r - c * kk2;
    int ki = rk / k, kj = rk - ki * k;
    __global float *dst = cols + coff + ((long)r * G + g) * OH * OW;
    __global const float *plane = img + ioff + (g * C + c) * IH * IW;
    int x0 = kj - p;
    for (int oy = 0; oy < OH; oy++, dst += OW) {
        int iy = oy * s - p + ki;
        if (reflect) iy = conv_reflect(iy, IH);
        if (iy < 0 || iy >= IH) {
            for (int ox = 0; ox < OW; ox++) dst[ox] = 0.0f;
            continue;
        }
        __global const float *src = plane + iy * IW;
        if (reflect) {
            for (int ox = 0; ox < OW; ox++) dst[ox] = src[conv_reflect(ox * s + x0, IW)];
        } else {
            int lo = x0 < 0 ? (-x0 + s - 1) / s : 0;          /* first ox with ix >= 0 */
            int hi = IW - 1 - x0 < 0 ? 0 : (IW - 1 - x0) / s + 1; /* first ox with ix >= IW */
            if (hi > OW) hi = OW;
            if (lo > OW) lo = OW;
            for (int ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
            for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * s + x0];
            for (int ox = hi > lo ? hi : lo; ox < OW; ox++) dst[ox] = 0.0f;
        }
    }
}

/* The column matrix transposed, for all N samples at once: R {N*L, K} row-major, row (n, oy, ox),
 * column (c, ki, kj), then `slack` zeros (conv_rows reads whole vectors past the last row). The weight
 * gradient of a convolution with few output pixels is dWm = dY * R (host/ops/conv.c, rows_weight_grad):
 * vectors along K, which is long, instead of along the short reduction. One work-item per
 * (IM2ROW_CB channels, row j): their k*k contiguous floats each (one channel per work-item, 4 floats
 * at k = 2, cost PoCL more per work-item than the copy); work-item (0, N*L) writes the slack. */
__kernel void conv_im2row(__global float *R, int roff, __global const float *img, int ioff, int N, int C, int IH,
                          int IW, int OH, int OW, int k, int s, int p, int reflect, int slack) {
    int c0 = get_global_id(0) * IM2ROW_CB, j = get_global_id(1), K = C * k * k, L = OH * OW;
    if (c0 >= C || j > N * L) return;
    __global float *dst = R + roff + (long)j * K + c0 * k * k;
    if (j == N * L) {
        if (c0 == 0)
            for (int i = 0; i < slack; i++) dst[i] = 0.0f;
        return;
    }
    int n = j / L, l = j - n * L, oy = l / OW, ox = l - oy * OW;
    int c1 = C - c0 < IM2ROW_CB ? C : c0 + IM2ROW_CB;
    for (int ki = 0; ki < k; ki++) {
        int iy = oy * s - p + ki;
        if (reflect) iy = conv_reflect(iy, IH);
        int rowin = iy >= 0 && iy < IH;
        for (int kj = 0; kj < k; kj++) {
            int ix = ox * s - p + kj;
            if (reflect) ix = conv_reflect(ix, IW);
            int in = rowin && ix >= 0 && ix < IW;
            __global const float *src = img + ioff + ((long)n * C + c0) * IH * IW + (in ? iy * IW + ix : 0);
            __global float *d = dst + ki * k + kj;
            for (int c = c0; c < c1; c++, src += IH * IW, d += k * k) *d = in ? *src : 0.0f;
        }
    }
}

/* The adjoint of conv_im2row with zero padding: img[g, c, y, x] = beta*img + (bias[c] if has_bias) + the
 * sum of the entries of R {G*L, K} (row (g, oy, ox), column (c, ki, kj), K = C*k*k) that read (g, c, y, x).
 * One work-item per image row (g, c, y); no atomics. */
__kernel void conv_row2im(__global float *img, int ioff, __global const float *R, int roff,
                          __global const float *bias, int boff, int has_bias, int G, int C, int IH, int IW, int OH,
                          int OW, int k, int s, int p, float beta) {
    int i = get_global_id(0);
    if (i >= G * C * IH) return;
    int iy = i % IH, gc = i / IH, c = gc % C, g = gc / C, K = C * k * k;
    float b = has_bias ? bias[boff + c] : 0.0f;
    __global const float *rg = R + roff + (long)g * OH * OW * K + c * k * k;
    __global float *row = img + ioff + (long)i * IW;
    for (int ix = 0; ix < IW; ix++) {
        float sum = 0.0f;
        /* only the taps with (y + p - ki) divisible by s reach this pixel */
        for (int ki = (iy + p) % s; ki < k; ki += s) {
            int oy = (iy + p - ki) / s;
            if (oy < 0 || oy >= OH) continue;
            for (int kj = (ix + p) % s; kj < k; kj += s) {
                int ox = (ix + p - kj) / s;
                if (ox >= 0 && ox < OW) sum += rg[(long)(oy * OW + ox) * K + ki * k + kj];
            }
        }
        ACC(row[ix], sum + b);
    }
}

/* img[g, c, y, x] = beta*img + (bias[c] if has_bias) + the sum of every column entry that reads
 * (g, c, y, x): the adjoint of conv_im2col. One work item per image element; no atomics. */
__kernel void conv_col2im(__global float *img, int ioff, __global const float *cols, int coff,
                          __global const float *bias, int boff, int has_bias, int G, int C, int IH, int IW, int OH,
                          int OW, int k, int s, int p, int reflect, float beta) {
    /* one work-item per image plane (g, c), looping over its pixels */
    int i = get_global_id(0);
    if (i >= G * C) return;
    int c = i % C, g = i / C;
    int L = OH * OW, GL = G * L;
    float b = has_bias ? bias[boff + c] : 0.0f;
    __global const float *cbase = cols + coff + c * k * k * GL + g * L;
    for (int iy = 0; iy < IH; iy++) {
        __global float *row = img + ioff + ((g * C + c) * IH + iy) * IW;
        if (!reflect) {
            /* Only kernel taps with (i + p - tap) divisible by s reach this pixel: step through those. */
            for (int ix = 0; ix < IW; ix++) {
                float sum = 0.0f;
                for (int ki = (iy + p) % s; ki < k; ki += s) {
                    int oy = (iy + p - ki) / s;
                    if (oy < 0 || oy >= OH) continue;
                    __global const float *crow = cbase + ki * k * GL + oy * OW;
                    for (int kj = (ix + p) % s; kj < k; kj += s) {
                        int ox = (ix + p - kj) / s;
                        if (ox >= 0 && ox < OW) sum += crow[kj * GL + ox];
                    }
                }
                ACC(row[ix], sum + b);
            }
            continue;
        }
        int qy[3], qx[3];
        int ny = conv_sources(iy, IH, p, reflect, qy);
        for (int ix = 0; ix < IW; ix++) {
            int nx = conv_sources(ix, IW, p, reflect, qx);
            float sum = 0.0f;
            for (int a = 0; a < ny; a++)
                for (int ki = 0; ki < k; ki++) {
                    int ty = qy[a] + p - ki;
                    if (ty < 0 || ty % s) continue;
                    int oy = ty / s;
                    if (oy >= OH) continue;
                    __global const float *crow = cbase + ki * k * GL + oy * OW;
                    for (int bb = 0; bb < nx; bb++)
                        for (int kj = 0; kj < k; kj++) {
                            int tx = qx[bb] + p - kj;
                            if (tx < 0 || tx % s) continue;
                            int ox = tx / s;
                            if (ox >= OW) continue;
                            sum += crow[kj * GL + ox];
                        }
                }
            ACC(row[ix], sum + b);
        }
    }
}

/* dst {G, C, L} (NCHW) = beta*dst + src {C, G*L} (channel-major) + (bias[c] if has_bias). */
__kernel void conv_cgl_to_nchw(__global float *dst, int doff, __global const float *src, int soff,
                               __global const float *bias, int boff, int has_bias, int G, int C, int L, float beta) {
    int i = get_global_id(0);
    if (i >= G * C * L) return;
    int l = i % L, t = i / L;
    int c = t % C, g = t / C;
    float v = src[soff + (c * G + g) * L + l];
    if (has_bias) v += bias[boff + c];
    ACC(dst[doff + i], v);
}

/* dst {C, G*L} (channel-major) = src {G, C, L} (NCHW). */
__kernel void conv_nchw_to_cgl(__global float *dst, int doff, __global const float *src, int soff, int G, int C,
                               int L) {
    int i = get_global_id(0);
    if (i >= G * C * L) return;
    int l = i % L, t = i / L;
    int g = t % G, c = t / G;
    dst[doff + i] = src[soff + (g * C + c) * L + l];
}

/* db[c] = beta*db[c] + sum over n, l of dy {N, C, L}: one work-group per channel; the local size is a
 * power of two. */
__kernel void conv_bias_grad(__global float *db, int dboff, __global const float *dy, int dyoff, int N, int C, int L,
                             float beta, __local float *tmp) {
    int c = get_group_id(0), l = get_local_id(0), wg = get_local_size(0);
    /* plane by plane, 8-float vectors: no division per element; Kahan sums, since on a CPU each lane of
     * a work-item adds a long run of the plane (see kernels/norm.cl, norm_bwd_sums) */
    float8 s = 0.0f, comp = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + dyoff + (n * C + c) * L;
        for (int r = l; r < L / 8; r += wg) KAHAN_ADD8(s, comp, vload8(r, p));
        for (int r = L / 8 * 8 + l; r < L; r += wg) s.s0 += p[r];
    }
    tmp[l] = lanes8_sum(s);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg / 2; h > 0; h >>= 1) {
        if (l < h) tmp[l] += tmp[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0 && c < C) ACC(db[dboff + c], tmp[0]);
}

/* ---- nearest x2 upsampling then a 3x3 convolution (stride 1, zero padding 1), by phases ----------
 * Output pixel (2i + a, 2j + b) of conv3x3(up2(x)) reads up2(x) rows 2i+a-1 .. 2i+a+1, which are x
 * rows (i-1, i, i) for a = 0 and (i, i, i+1) for a = 1 (zero padding of up2(x) is zero padding of x):
 * a 2x2 kernel over x whose taps sum the 3x3 rows {0}, {1, 2} (a = 0) or {0, 1}, {2} (a = 1), and the
 * same for columns. So the four phases (a, b) are one 2x2 convolution of x (padding 1) with 4*O output
 * channels, z {N, 4O, H+1, W+1}, and y[n, c, 2i+a, 2j+b] = z[n, (2a+b)O + c, i+a, j+b]: 16 of the 36
 * multiply-adds per output. */

/* The sum of the 3x3 taps k[ky][kx], ky in y0..y1, kx in x0..x1, in that order (the calls below pass
 * constants: PoCL keeps k in registers only where every index is one). */
inline float subpixel_tap_sum(const float *k, int y0, int y1, int x0, int x1) {
    float sum = 0.0f;
    for (int ky = y0; ky <= y1; ky++)
        for (int kx = x0; kx <= x1; kx++) sum += k[ky * 3 + kx];
    return sum;
}

/* Phase (a, b)'s 2x2 taps as a float4 (ty, tx): rows {0} {1,2} for a = 0, {0,1} {2} for a = 1; columns
 * alike with b. */
#define SUBPIXEL_PHASE(k, ya0, ya1, yb0, yb1, xa0, xa1, xb0, xb1)                              \
    (float4)(subpixel_tap_sum(k, ya0, ya1, xa0, xa1), subpixel_tap_sum(k, ya0, ya1, xb0, xb1), \
             subpixel_tap_sum(k, yb0, yb1, xa0, xa1), subpixel_tap_sum(k, yb0, yb1, xb0, xb1))

/* w4 {4O, I, 2, 2} from w {O, I, 3, 3}: one work-item per (o, i), its 9 taps in, 16 out (four phases,
 * a float4 each at w4[(ph*O + o)*I + i]), each tap summed in the same order as ever (bit for bit). One
 * element per work-item, with its index arithmetic, ran at some 1 GB/s. */
__kernel void subpixel_w_fwd(__global float *w4, int w4off, __global const float *w, int woff, int O, int I) {
    int q = get_global_id(0);
    if (q >= O * I) return;
    __global const float *wp = w + woff + (long)q * 9;
    float k[9];
    for (int e = 0; e < 9; e++) k[e] = wp[e];
    long plane = (long)O * I * 4;
    __global float *d = w4 + w4off + (long)q * 4;
    vstore4(SUBPIXEL_PHASE(k, 0, 0, 1, 2, 0, 0, 1, 2), 0, d);             /* (a, b) = (0, 0) */
    vstore4(SUBPIXEL_PHASE(k, 0, 0, 1, 2, 0, 1, 2, 2), 0, d + plane);     /* (0, 1) */
    vstore4(SUBPIXEL_PHASE(k, 0, 1, 2, 2, 0, 0, 1, 2), 0, d + 2 * plane); /* (1, 0) */
    vstore4(SUBPIXEL_PHASE(k, 0, 1, 2, 2, 0, 1, 2, 2), 0, d + 3 * plane); /* (1, 1) */
}

/* s[ky][kx] += the tap (ty, tx) of phase (a, b)'s float4 t that 3x3 tap (ky, kx) went into (constant a, b). */
inline void subpixel_tap_add(float *s, float4 t, int a, int b) {
    float g[4] = {t.x, t.y, t.z, t.w};
    for (int ky = 0; ky < 3; ky++) {
        int ty = a == 0 ? ky > 0 : ky == 2;
        for (int kx = 0; kx < 3; kx++) {
            int tx = b == 0 ? kx > 0 : kx == 2;
            s[ky * 3 + kx] += g[ty * 2 + tx];
        }
    }
}

/* dw {O, I, 3, 3} = beta*dw + the four phase taps each 3x3 tap went into, summed over the phases in the
 * order (0, 0), (0, 1), (1, 0), (1, 1): one work-item per (o, i). */
__kernel void subpixel_w_bwd(__global float *dw, int dwoff, __global const float *dw4, int off4, int O, int I,
                             float beta) {
    int q = get_global_id(0);
    if (q >= O * I) return;
    long plane = (long)O * I * 4;
    __global const float *p = dw4 + off4 + (long)q * 4;
    float s[9] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    subpixel_tap_add(s, vload4(0, p), 0, 0);
    subpixel_tap_add(s, vload4(0, p + plane), 0, 1);
    subpixel_tap_add(s, vload4(0, p + 2 * plane), 1, 0);
    subpixel_tap_add(s, vload4(0, p + 3 * plane), 1, 1);
    __global float *d = dw + dwoff + (long)q * 9;
    for (int e = 0; e < 9; e++) ACC(d[e], s[e]);
}

/* y {N, O, 2H, 2W} = the phases of z (+ bias), one work-item per row (n, c, Y) of y: the divisions once a
 * row (per element they were most of the kernel's time), and no work-group per narrow row (PoCL pays
 * for each group). Columns 2j and 2j+1 come from phases b = 0 and 1, at z columns j and j + 1. */
__kernel void subpixel_shuffle_fwd(__global float *y, int yoff, __global const float *z, int zoff,
                                   __global const float *bias, int boff, int has_bias, int O, int H, int W, int rows) {
    int row = get_global_id(0);
    if (row >= rows) return;
    int nc = row / (2 * H), Y = row - nc * 2 * H, n = nc / O, c = nc - n * O, a = Y & 1, i = Y >> 1;
    long plane = (long)(H + 1) * (W + 1);
    __global const float *z0 = z + zoff + (n * 4 * O + 2 * a * O + c) * plane + (long)(i + a) * (W + 1);
    __global const float *z1 = z0 + (long)O * plane; /* phase (a, 1) */
    __global float *yr = y + yoff + (long)row * 2 * W;
    float bv = has_bias ? bias[boff + c] : 0.0f;
    for (int j = 0; j < W; j++) {
        yr[2 * j] = z0[j] + bv;
        yr[2 * j + 1] = z1[j + 1] + bv;
    }
}

/* dz {N, 4O, H+1, W+1} = beta*dz + dy at the pixel each z element went to (0 for the phases' unused
 * row and column), one work-item per row (n, phase, c, zi) of dz. */
__kernel void subpixel_shuffle_bwd(__global float *dz, int dzoff, __global const float *dy, int dyoff, int O, int H,
                                   int W, float beta, int rows) {
    int row = get_global_id(0);
    if (row >= rows) return;
    int q = row / (H + 1), zi = row - q * (H + 1), n = q / (4 * O), pc = q - n * 4 * O, ph = pc / O, c = pc - ph * O;
    int a = ph >> 1, b = ph & 1, i = zi - a;
    __global float *d = dz + dzoff + (long)row * (W + 1);
    if (i < 0 || i >= H) {
        for (int zj = 0; zj <= W; zj++) ACC(d[zj], 0.0f);
        return;
    }
    __global const float *g = dy + dyoff + ((long)(n * O + c) * 2 * H + 2 * i + a) * 2 * W + b;
    ACC(d[b ? 0 : W], 0.0f); /* the unused column: 0 (b = 1) or W (b = 0) */
    for (int j = 0; j < W; j++) ACC(d[j + b], g[2 * j]);
}
