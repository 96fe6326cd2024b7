/* Pooling and plane broadcasting: max pooling with saved argmax indices, per-plane sums (global
 * average pooling, the broadcast's gradient) and plane broadcasting (the broadcast, global average
 * pooling's gradient). Backward kernels gather (no atomics) and write dst = beta*dst + grad (beta 0
 * overwrites, even NaN). Tensors are NCHW; nc = N*C planes of h x w. */

#define POOL_ACC(dst, v) ((dst) = beta == 0.0f ? (v) : (v) + beta * (dst))

/* Max pooling as torch.nn.MaxPool2d(k, s, pad) (padding never wins, floor mode): y {nc, oh, ow} and
 * idx {nc, oh, ow}, the index (row*w + col) within the plane of the first maximum in row-major window
 * order, as PyTorch's CPU kernel picks it (a NaN wins and propagates, the last NaN's index). */
__kernel void maxpool2d_fwd(__global float *y, int yoff, __global int *idx, int ioff, __global const float *x,
                            int xoff, int nc, int h, int w, int oh, int ow, int k, int s, int pad) {
    int i = get_global_id(0);
    int ohw = oh * ow;
    if (i >= nc * ohw) return;
    int p = i / ohw, r = i - p * ohw;
    int py = r / ow, px = r - py * ow;
    int y0 = py * s - pad, x0 = px * s - pad;
    __global const float *xp = x + xoff + p * h * w;
    float best = -INFINITY;
    int at = max(y0, 0) * w + max(x0, 0); /* PyTorch's start index: kept if every value is -inf */
    for (int a = max(y0, 0); a < min(y0 + k, h); a++)
        for (int b = max(x0, 0); b < min(x0 + k, w); b++) {
            float v = xp[a * w + b];
            if (v > best || isnan(v)) {
                best = v;
                at = a * w + b;
            }
        }
    y[yoff + i] = best;
    idx[ioff + i] = at;
}

/* dx {nc, h, w}: the sum of dy over the windows whose saved maximum is this element. Window py
 * covers rows py*s-pad .. py*s-pad+k-1, so row iy is covered by py in
 * [ceil((iy+pad-k+1)/s), floor((iy+pad)/s)] within [0, oh-1]; the same for columns. */
__kernel void maxpool2d_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff,
                            __global const int *idx, int ioff, int nc, int h, int w, int oh, int ow, int k, int s,
                            int pad, float beta) {
    int j = get_global_id(0);
    int hw = h * w;
    if (j >= nc * hw) return;
    int p = j / hw, r = j - p * hw;
    int iy = r / w, ix = r - iy * w;
    int ty = iy + pad - k + 1, tx = ix + pad - k + 1;
    int py0 = ty <= 0 ? 0 : (ty + s - 1) / s, py1 = min((iy + pad) / s, oh - 1);
    int px0 = tx <= 0 ? 0 : (tx + s - 1) / s, px1 = min((ix + pad) / s, ow - 1);
    int base = p * oh * ow;
    float acc = 0.0f;
    for (int a = py0; a <= py1; a++)
        for (int b = px0; b <= px1; b++)
            if (idx[ioff + base + a * ow + b] == r) acc += dy[dyoff + base + a * ow + b];
    POOL_ACC(dx[dxoff + j], acc);
}

/* out[p] = beta*out[p] + scale * sum of plane p of x {nc, hw} (one work-item per plane, in order). */
__kernel void plane_sum(__global float *out, int ooff, __global const float *x, int xoff, int nc, int hw,
                        float scale, float beta) {
    int p = get_global_id(0);
    if (p >= nc) return;
    __global const float *xp = x + xoff + p * hw;
    float acc = 0.0f;
    for (int i = 0; i < hw; i++) acc += xp[i];
    POOL_ACC(out[ooff + p], scale * acc);
}

/* y {nc, hw} = beta*y + scale * x[plane], on the grid {pixel, plane}. */
__kernel void plane_broadcast(__global float *y, int yoff, __global const float *x, int xoff, int hw, float scale,
                              float beta) {
    int i = get_global_id(0), p = get_global_id(1);
    if (i >= hw) return;
    POOL_ACC(y[yoff + p * hw + i], scale * x[xoff + p]);
}
