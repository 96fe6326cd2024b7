/* fma_peak8, fma_peak16: the device's single-precision FMA throughput, ./bench's arithmetic ceiling
 * (tools/bench_ops.c). Each work-item runs FMA_PEAK_CHAINS independent chains of float8 (float16)
 * a = fma(a, m, c), `iters` steps each (enough chains in flight to cover an FMA's latency on every FMA
 * unit; two widths, as AVX2's 16 registers hold 8 chains of float8, AVX-512's 32 those of float16), and
 * writes the sum of their lanes, so that nothing is optimised away. With 0 < m < 1 the chains converge to
 * c / (1 - m): no overflow, no denormals. 2 * W * FMA_PEAK_CHAINS * iters floating-point operations a
 * work-item (W = 8, 16). Lane l of chain j of work-item i starts at 0.5 + 0.001 (i % 97) + 0.01 j +
 * 0.0001 l. */

#include "clg_shared.h"

#define FMA_PEAK_KERNEL(NAME, V, W)                                                                            \
__kernel void NAME(__global float *out, int iters, float m, float c) {                                        \
    int i = get_global_id(0);                                                                                 \
    V a[FMA_PEAK_CHAINS];                                                                                     \
    _Pragma("unroll") for (int j = 0; j < FMA_PEAK_CHAINS; j++) {                                             \
        float lanes[W];                                                                                       \
        for (int l = 0; l < W; l++)                                                                           \
            lanes[l] = 0.5f + 0.001f * (float)(i % 97) + 0.01f * (float)j + 0.0001f * (float)l;              \
        a[j] = vload##W(0, lanes);                                                                            \
    }                                                                                                         \
    for (int t = 0; t < iters; t++) {                                                                         \
        _Pragma("unroll") for (int j = 0; j < FMA_PEAK_CHAINS; j++) a[j] = fma(a[j], (V)m, (V)c);              \
    }                                                                                                         \
    float lanes[W], s = 0.0f;                                                                                 \
    _Pragma("unroll") for (int j = 0; j < FMA_PEAK_CHAINS; j++) {                                             \
        vstore##W(a[j], 0, lanes);                                                                            \
        for (int l = 0; l < W; l++) s += lanes[l];                                                            \
    }                                                                                                         \
    out[i] = s;                                                                                               \
}

FMA_PEAK_KERNEL(fma_peak8, float8, 8)
FMA_PEAK_KERNEL(fma_peak16, float16, 16)
