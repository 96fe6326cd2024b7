/* Rectangular convolutions (host/ops/conv_rect.c): a kh x kw kernel with strides (sh, sw) and zero
 * padding (ph, pw), as torch.nn.Conv2d(kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw)): the 1x7,
 * 7x1, 1x3 and 3x1 convolutions of Inception-v3. Computed as im2col + GEMM over groups of samples.
 *
 * Geometry, shared by every kernel here: a group of G samples {G, C, IH, IW} (NCHW, from the sample the
 * host points to) and L = OH*OW output positions. The column matrix is {K, G*L} row-major, K = C*kh*kw,
 * row (c, i, j), column g*L + oy*OW + ox; it holds x[g, c, oy*sh - ph + i, ox*sw - pw + j], 0 outside the
 * image. The GEMM's output is channel-major {OC, G*L}; conv_rect_to_nchw / conv_rect_from_nchw permute
 * it. Kernels with a beta compute dst = beta*dst + value (beta 0 overwrites, even NaN). */

/* One work-item per (row r = (c, i, j), sample g): that row's OH x OW block, contiguous in memory. */
__kernel void conv_rect_im2col(__global float *cols, int coff, __global const float *x, int xoff, int G, int C,
                               int IH, int IW, int OH, int OW, int kh, int kw, int sh, int sw, int ph, int pw) {
    int i = get_global_id(0);
    int khw = kh * kw;
    if (i >= C * khw * G) return;
    int g = i % G, r = i / G;
    int c = r / khw, rk = r - c * khw;
    int ki = rk / kw, kj = rk - ki * kw;
    __global float *dst = cols + coff + ((long)r * G + g) * OH * OW;
    __global const float *plane = x + xoff + ((long)g * C + c) * IH * IW;
    for (int oy = 0; oy < OH; oy++, dst += OW) {
        int iy = oy * sh - ph + ki;
        if (iy < 0 || iy >= IH) {
            for (int ox = 0; ox < OW; ox++) dst[ox] = 0.0f;
            continue;
        }
        __global const float *src = plane + iy * IW;
        for (int ox = 0; ox < OW; ox++) {
            int ix = ox * sw - pw + kj;
            int in = ix >= 0 && ix < IW;
            float v = src[in ? ix : 0]; /* the clamped index keeps every load inside the row */
            dst[ox] = in ? v : 0.0f;
        }
    }
}

/* x[g, c, y, x] = beta*x + the sum of every column entry that reads (g, c, y, x): the adjoint of
 * conv_rect_im2col (the data gradient). One work-item per image element; no atomics. */
__kernel void conv_rect_col2im(__global float *x, int xoff, __global const float *cols, int coff, int G, int C,
                               int IH, int IW, int OH, int OW, int kh, int kw, int sh, int sw, int ph, int pw,
                               float beta) {
    int e = get_global_id(0);
    if (e >= G * C * IH * IW) return;
    int ix = e % IW, t = e / IW;
    int iy = t % IH;
    t /= IH;
    int c = t % C, g = t / C;
    long L = (long)OH * OW, GL = (long)G * L;
    float acc = 0.0f;
    for (int ki = 0; ki < kh; ki++) {
        int ty = iy + ph - ki; /* = oy*sh for the output row that reads iy through tap ki */
        if (ty < 0 || ty % sh) continue;
        int oy = ty / sh;
        if (oy >= OH) continue;
        for (int kj = 0; kj < kw; kj++) {
            int tx = ix + pw - kj;
            if (tx < 0 || tx % sw) continue;
            int ox = tx / sw;
            if (ox >= OW) continue;
            acc += cols[coff + ((long)(c * kh + ki) * kw + kj) * GL + g * L + oy * OW + ox];
        }
    }
    x[xoff + e] = beta == 0.0f ? acc : acc + beta * x[xoff + e];
}

/* y {G, OC, L} (NCHW) = beta*y + src {OC, G*L} (+ bias[oc] when has_bias). One work-item per element. */
__kernel void conv_rect_to_nchw(__global float *y, int yoff, __global const float *src, int soff,
                                __global const float *bias, int boff, int has_bias, int G, int OC, int L, float beta) {
    int e = get_global_id(0);
    if (e >= G * OC * L) return;
    int l = e % L, t = e / L;
    int oc = t % OC, g = t / OC;
    float v = src[soff + (long)oc * G * L + (long)g * L + l];
    if (has_bias) v += bias[boff + oc];
    y[yoff + e] = beta == 0.0f ? v : v + beta * y[yoff + e];
}

/* dst {OC, G*L} = src {G, OC, L} (NCHW). One work-item per element. */
__kernel void conv_rect_from_nchw(__global float *dst, int doff, __global const float *src, int soff, int G, int OC,
                                  int L) {
    int e = get_global_id(0);
    if (e >= G * OC * L) return;
    int l = e % L, t = e / L;
    int oc = t % OC, g = t / OC;
    dst[doff + (long)oc * G * L + (long)g * L + l] = src[soff + e];
}

/* db[oc] = beta*db[oc] + the sum of dy {N, OC, L} over samples and positions (compensated sum). One
 * work-item per channel. */
__kernel void conv_rect_bias_grad(__global float *db, int dboff, __global const float *dy, int dyoff, int N, int OC,
                                  int L, float beta) {
    int oc = get_global_id(0);
    if (oc >= OC) return;
    float s = 0.0f, comp = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + dyoff + ((long)n * OC + oc) * L;
        for (int l = 0; l < L; l++) {
            float yv = p[l] - comp;
            float tv = s + yv;
            comp = (tv - s) - yv;
            s = tv;
        }
    }
    db[dboff + oc] = beta == 0.0f ? s : s + beta * db[dboff + oc];
}
