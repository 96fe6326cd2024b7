/* Average pooling whose zero padding IS counted: torch.nn.AvgPool2d(k, stride, pad) with its default
 * count_include_pad=True (host/ops/avgpool_incl.c): every window divides by k*k. Window (py, px) covers
 * input rows py*s - pad .. py*s - pad + k - 1, clipped to the image (the padding adds zeros). */

/* y {nc, oh, ow} from x {nc, h, w}: one work-item per output element. */
__kernel void avgpool_incl_fwd(__global float *y, int yoff, __global const float *x, int xoff, int nc, int h, int w,
                               int oh, int ow, int k, int s, int pad) {
    int i = get_global_id(0);
    int ohw = oh * ow;
    if (i >= nc * ohw) return;
    int p = i / ohw, r = i - p * ohw;
    int py = r / ow, px = r - py * ow;
    int y0 = max(py * s - pad, 0), y1 = min(py * s - pad + k, h);
    int x0 = max(px * s - pad, 0), x1 = min(px * s - pad + k, w);
    __global const float *xp = x + xoff + (long)p * h * w;
    float acc = 0.0f;
    for (int a = y0; a < y1; a++)
        for (int b = x0; b < x1; b++) acc += xp[a * w + b];
    y[yoff + i] = acc / (float)(k * k);
}

/* dx {nc, h, w} = beta * dx + the gradient: input row iy is covered by the outputs py with
 * py*s - pad <= iy <= py*s - pad + k - 1, i.e. py in [ceil((iy + pad - k + 1) / s), floor((iy + pad) / s)]
 * within [0, oh - 1]; each adds dy / (k*k). */
__kernel void avgpool_incl_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff, int nc, int h,
                               int w, int oh, int ow, int k, int s, int pad, float beta) {
    int j = get_global_id(0);
    int hw = h * w;
    if (j >= nc * hw) return;
    int p = j / hw, r = j - p * hw;
    int iy = r / w, ix = r - iy * w;
    int ty = iy + pad - k + 1, tx = ix + pad - k + 1;
    int a0 = ty > 0 ? (ty + s - 1) / s : 0, a1 = min((iy + pad) / s, oh - 1);
    int b0 = tx > 0 ? (tx + s - 1) / s : 0, b1 = min((ix + pad) / s, ow - 1);
    __global const float *dp = dy + dyoff + (long)p * oh * ow;
    float acc = 0.0f;
    for (int a = a0; a <= a1; a++)
        for (int b = b0; b <= b1; b++) acc += dp[a * ow + b];
    acc /= (float)(k * k);
    dx[dxoff + j] = beta == 0.0f ? acc : acc + beta * dx[dxoff + j];
}
