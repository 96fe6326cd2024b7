/* Counter-based random numbers: element i of a draw depends only on (seed, stream, step, i), so a
 * run is reproducible and resumable without storing generator state. */

#include "clg_shared.h"
#include "common.clh"

/* Standard normals by Box-Muller from one Philox block per element. */
__kernel void rng_normal(__global float *out, int off, int n, uint seed_lo, uint seed_hi, uint stream, uint step) {
    int i = get_global_id(0);
    if (i >= n) return;
    uint4 r = philox4x32_10((uint4)((uint)i, 0u, stream, step), (uint2)(seed_lo, seed_hi));
    float u1 = u01(r.x), u2 = u01(r.y);
    out[off + i] = sqrt(-2.0f * log(u1)) * cos(6.283185307179586f * u2);
}

/* Uniform in [lo, hi). */
__kernel void rng_uniform(__global float *out, int off, int n, uint seed_lo, uint seed_hi, uint stream, uint step,
                          float lo, float hi) {
    int i = get_global_id(0);
    if (i >= n) return;
    uint4 r = philox4x32_10((uint4)((uint)i, 0u, stream, step), (uint2)(seed_lo, seed_hi));
    out[off + i] = lo + (hi - lo) * u01(r.x);
}
