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

#define CONV_ACC(dst, v) ((dst) = beta == 0.0f ? (v) : (v) + beta * (dst))

/* Reflect a coordinate in [-p, n-1+p] into [0, n-1] (p < n). */
int conv_reflect(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

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

/* The padded coordinates (in [-p, n-1+p]) that read image coordinate i: i itself, and with
 * reflection its mirror images -i and 2(n-1)-i where they fall inside the padding. Returns how many. */
int conv_sources(int i, int n, int p, int reflect, int *q) {
    int m = 0;
    q[m++] = i;
    if (reflect) {
        if (i > 0 && i <= p) q[m++] = -i;
        if (i < n - 1 && n - 1 - i <= p) q[m++] = 2 * (n - 1) - i;
    }
    return m;
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
                CONV_ACC(row[ix], sum + b);
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
            CONV_ACC(row[ix], sum + b);
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
    CONV_ACC(dst[doff + i], v);
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
    float8 s = 0.0f; /* plane by plane, 8-float vectors: no division per element (see kernels/norm.cl) */
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + dyoff + (n * C + c) * L;
        for (int r = l; r < L / 8; r += wg) s += vload8(r, p);
        for (int r = L / 8 * 8 + l; r < L; r += wg) s.s0 += p[r];
    }
    float4 h4 = s.lo + s.hi;
    float2 h2 = h4.lo + h4.hi;
    tmp[l] = h2.x + h2.y;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg / 2; h > 0; h >>= 1) {
        if (l < h) tmp[l] += tmp[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0 && c < C) CONV_ACC(db[dboff + c], tmp[0]);
}

#undef CONV_ACC
