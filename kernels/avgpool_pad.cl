/* Average pooling with zero padding (host/ops_avgpool_pad.h), both of torch.nn.AvgPool2d's ways of
 * dividing: count_pad 0 (count_include_pad=False) divides a window by the number of its elements inside
 * the image, count_pad 1 (count_include_pad=True, PyTorch's default) by k*k. Windows of output (py, px)
 * cover input rows py*s - pad .. py*s - pad + k - 1, clipped to the image (the padding adds zeros). */

/* y {nc, oh, ow} from x {nc, h, w}: one work-item per output element. */
__kernel void avgpool_pad_fwd(__global float *y, int yoff, __global const float *x, int xoff, int nc, int h, int w,
                              int oh, int ow, int k, int s, int pad, int count_pad) {
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
    y[yoff + i] = acc / (float)(count_pad ? k * k : (y1 - y0) * (x1 - x0));
}

/* dx {nc, h, w} (= beta * dx + the gradient): input row iy is covered by the outputs py with
 * py*s - pad <= iy <= py*s - pad + k - 1, i.e. py in [ceil((iy + pad - k + 1) / s), floor((iy + pad) / s)]
 * within [0, oh - 1]; each adds dy / its window's divisor. */
__kernel void avgpool_pad_bwd(__global float *dx, int dxoff, __global const float *dy, int dyoff, int nc, int h, int w,
                              int oh, int ow, int k, int s, int pad, int count_pad, float beta) {
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
    if (count_pad) { /* one divisor for every window */
        for (int a = a0; a <= a1; a++)
            for (int b = b0; b <= b1; b++) acc += dp[a * ow + b];
        acc /= (float)(k * k);
    } else {
        for (int a = a0; a <= a1; a++) {
            int cy = min(a * s - pad + k, h) - max(a * s - pad, 0);
            for (int b = b0; b <= b1; b++) {
                int cx = min(b * s - pad + k, w) - max(b * s - pad, 0);
                acc += dp[a * ow + b] / (float)(cy * cx);
            }
        }
    }
    dx[dxoff + j] = beta == 0.0f ? acc : acc + beta * dx[dxoff + j];
}
