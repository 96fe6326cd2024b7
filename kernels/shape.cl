/* Shape ops: nearest upsampling, average pooling, channel concatenation, addition. Backward kernels
 * gather (one work-item per input element, no atomics) and write dst = beta*dst + grad (beta 0
 * overwrites, even NaN). Tensors are NCHW; nc = N*C planes of h x w. */

#include "clg_shared.h"

/* y {nc, 2h, 2w} from x {nc, h, w} on the grid {column, input row of the nc*h}: each work-item copies
 * one input element to its 2x2 block (no division per element: output row 2q is row q of x doubled). */
__kernel void upsample_nearest2x_fwd(__global float *y, int yoff, __global const float *x, int xoff, int w) {
    int ix = get_global_id(0), q = get_global_id(1);
    if (ix >= w) return;
    float v = x[xoff + q * w + ix];
    int b = yoff + 4 * q * w + 2 * ix;
    vstore2((float2)(v, v), 0, y + b);
    vstore2((float2)(v, v), 0, y + b + 2 * w);
}

/* dx {nc, h, w}: the sum of the four dy elements each input element was copied to; the grid as the
 * forward's. */
__kernel void upsample_nearest2x_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff, int w,
                                     float beta) {
    int ix = get_global_id(0), q = get_global_id(1);
    if (ix >= w) return;
    int b = dyoff + 4 * q * w + 2 * ix;
    float2 top = vload2(0, dy + b), bottom = vload2(0, dy + b + 2 * w);
    float s = top.x + top.y + bottom.x + bottom.y;
    ACC(dx[dxoff + q * w + ix], s);
}

/* Average pooling without padding: y {nc, oh, ow}, window k x k at stride s, divided by k*k. */
__kernel void avgpool2d_fwd(__global float *y, int yoff, __global const float *x, int xoff, int nc, int h, int w,
                            int oh, int ow, int k, int s) {
    int i = get_global_id(0);
    int ohw = oh * ow;
    if (i >= nc * ohw) return;
    int p = i / ohw, r = i - p * ohw;
    int py = r / ow, px = r - py * ow;
    __global const float *xp = x + xoff + p * h * w + py * s * w + px * s;
    float acc = 0.0f;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) acc += xp[a * w + b];
    y[yoff + i] = acc / (float)(k * k);
}

/* dx {nc, h, w}: the sum of dy over every window that covers the element, / (k*k); elements no window
 * covers (the last rows/columns when (h - k) % s != 0) get 0. Output row py covers rows py*s .. py*s+k-1,
 * so input row y is covered by py in [ceil((y-k+1)/s), floor(y/s)] within [0, oh-1]. */
__kernel void avgpool2d_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff, int nc, int h, int w,
                            int oh, int ow, int k, int s, float beta) {
    int j = get_global_id(0);
    int hw = h * w;
    if (j >= nc * hw) return;
    int p = j / hw, r = j - p * hw;
    int iy = r / w, ix = r - iy * w;
    int y0 = iy >= k ? (iy - k) / s + 1 : 0, y1 = min(iy / s, oh - 1);
    int x0 = ix >= k ? (ix - k) / s + 1 : 0, x1 = min(ix / s, ow - 1);
    __global const float *dp = dy + dyoff + p * oh * ow;
    float acc = 0.0f;
    for (int a = y0; a <= y1; a++)
        for (int b = x0; b <= x1; b++) acc += dp[a * ow + b];
    ACC(dx[dxoff + j], acc / (float)(k * k));
}

/* y {n, ca+cb, hw} = a {n, ca, hw} ++ b {n, cb, hw} along channels. */
__kernel void concat_channels_fwd(__global float *y, int yoff, __global const float *a, int aoff,
                                  __global const float *b, int boff, int n, int ca, int cb, int hw) {
    int i = get_global_id(0);
    int la = ca * hw, lb = cb * hw, l = la + lb;
    if (i >= n * l) return;
    int q = i / l, r = i - q * l;
    y[yoff + i] = r < la ? a[aoff + q * la + r] : b[boff + q * lb + r - la];
}

/* d {n, cpart, hw} (+)= the channels c0 .. c0+cpart-1 of dy {n, ctot, hw}: the gradient of one side. */
__kernel void concat_channels_bwd(__global float *d, int doff, __global const float *dy, int dyoff, int n, int cpart,
                                  int c0, int ctot, int hw, float beta) {
    int j = get_global_id(0);
    int lp = cpart * hw;
    if (j >= n * lp) return;
    int q = j / lp, r = j - q * lp;
    ACC(d[doff + j], dy[dyoff + q * ctot * hw + c0 * hw + r]);
}

/* d {n, ctot, hw} = beta*d + ds in channels c0 .. c0+cpart-1 and + 0 elsewhere, on the grid
 * {pixel, (sample, channel)}: the slice's gradient. */
__kernel void slice_channels_bwd(__global float *d, int doff, __global const float *ds, int dsoff, int cpart, int c0,
                                 int ctot, int hw, float beta) {
    int p = get_global_id(0), row = get_global_id(1);
    if (p >= hw) return;
    int q = row / ctot, ch = row - q * ctot - c0;
    float v = ch >= 0 && ch < cpart ? ds[dsoff + (q * cpart + ch) * hw + p] : 0.0f;
    ACC(d[doff + row * hw + p], v);
}

/* y = a + b elementwise. */
__kernel void add_tensors_fwd(__global float *y, int yoff, __global const float *a, int aoff, __global const float *b,
                              int boff, int n) {
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = a[aoff + i] + b[boff + i];
}
