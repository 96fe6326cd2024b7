/* Elementwise helpers: fill, y = a*x + b*y, bias add, column sums, row gathers. */

#include "clg_shared.h"

__kernel void fill(__global float *x, int off, int n, float v) {
    int i = get_global_id(0);
    if (i < n) x[off + i] = v;
}

/* y = a*x + b*y; b == 0 overwrites y (even if y held NaN). */
__kernel void axpby(__global float *y, int yoff, __global const float *x, int xoff, int n, float a, float b) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = a * x[xoff + i];
    y[yoff + i] = b == 0.0f ? v : v + b * y[yoff + i];
}

/* y[r, c] += bias[c] over a rows x cols matrix. */
__kernel void bias_add_rows(__global float *y, int yoff, __global const float *bias, int boff, int rows, int cols) {
    int i = get_global_id(0);
    if (i >= rows * cols) return;
    y[yoff + i] += bias[boff + i % cols];
}

/* out[c] = beta*out[c] + sum_r x[r, c]. */
__kernel void col_sum(__global float *out, int ooff, __global const float *x, int xoff, int rows, int cols, float beta) {
    int c = get_global_id(0);
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += x[xoff + r * cols + c];
    out[ooff + c] = beta == 0.0f ? s : s + beta * out[ooff + c];
}

/* dst[r, :] = scale * src[idx[r], :] for rows of length len (a batch gathered from a data set). */
__kernel void gather_rows(__global float *dst, int doff, __global const float *src, __global const int *idx,
                          int ioff, int rows, int len, float scale) {
    int i = get_global_id(0);
    if (i >= rows * len) return;
    int r = i / len, k = i - r * len;
    dst[doff + i] = scale * src[(long)idx[ioff + r] * len + k];
}

/* Sum of n values into out[ooff] (times scale), one work-group of size WG (a power of two). */
__kernel void reduce_sum(__global float *out, int ooff, __global const float *x, int xoff, int n, float scale,
                         __local float *tmp) {
    int l = get_local_id(0), wg = get_local_size(0);
    float s = 0.0f;
    for (int i = l; i < n; i += wg) s += x[xoff + i];
    tmp[l] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s2 = wg / 2; s2 > 0; s2 >>= 1) {
        if (l < s2) tmp[l] += tmp[l + s2];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) out[ooff] = tmp[0] * scale;
}

/* dst[r] = lo + (hi - lo) * bilinear resize of src[idx[r]] (c x h x w, values in [0, 1]) to c x oh x ow,
 * with half-pixel centres (torch's interpolate(mode='bilinear', align_corners=False)). */
__kernel void gather_resize(__global float *dst, int doff, __global const float *src, __global const int *idx,
                            int ioff, int rows, int c, int h, int w, int oh, int ow, float lo, float hi) {
    int i = get_global_id(0);
    int per = c * oh * ow;
    if (i >= rows * per) return;
    int r = i / per, k = i - r * per;
    int ch = k / (oh * ow), p = k - ch * oh * ow, oy = p / ow, ox = p - oy * ow;
    float sy = fmax((oy + 0.5f) * (float)h / (float)oh - 0.5f, 0.0f);
    float sx = fmax((ox + 0.5f) * (float)w / (float)ow - 0.5f, 0.0f);
    int y0 = min((int)sy, h - 1), x0 = min((int)sx, w - 1);
    int y1 = min(y0 + 1, h - 1), x1 = min(x0 + 1, w - 1);
    float fy = sy - (float)y0, fx = sx - (float)x0;
    __global const float *s = src + (long)idx[ioff + r] * c * h * w + ch * h * w;
    float v = (1.0f - fy) * ((1.0f - fx) * s[y0 * w + x0] + fx * s[y0 * w + x1]) +
              fy * ((1.0f - fx) * s[y1 * w + x0] + fx * s[y1 * w + x1]);
    dst[doff + i] = lo + (hi - lo) * v;
}

/* One-hot label planes: dst[r, k, :, :] = (labels[idx[r]] == k) for k < ncls, over hw pixels
 * (hw = 1 gives plain one-hot vectors). */
__kernel void gather_onehot(__global float *dst, int doff, __global const int *labels, __global const int *idx,
                            int ioff, int rows, int ncls, int hw) {
    int i = get_global_id(0);
    if (i >= rows * ncls * hw) return;
    int r = i / (ncls * hw), k = (i / hw) % ncls;
    dst[doff + i] = labels[idx[ioff + r]] == k ? 1.0f : 0.0f;
}
