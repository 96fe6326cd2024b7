/* Elementwise helpers: fill, y = a*x + b*y, bias add, column sums, row gathers. */

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
