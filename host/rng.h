/* Counter-based random numbers (Philox4x32-10), the same generator as kernels/common.clh.
 * A draw is a pure function of (seed, stream, step, index): nothing but the seed and the training
 * step needs saving to reproduce or resume a run. Streams separate the uses. */
#ifndef CLGAN_RNG_H
#define CLGAN_RNG_H
#include <stdint.h>

#include "clg_shared.h" /* the RNG_STREAM_* enum */

void philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4]);

/* A host-side sequence over one (seed, stream, step): element i of the sequence is block i. */
typedef struct {
    uint64_t seed;
    uint32_t stream, step, index;
} rng_seq;

rng_seq rng_seq_make(uint64_t seed, uint32_t stream, uint32_t step);
float rng_uniform(rng_seq *r);           /* in (0, 1), as the device's u01 */
float rng_normal(rng_seq *r);            /* Box-Muller, as the device's rng_normal */
uint32_t rng_below(rng_seq *r, uint32_t n); /* uniform integer in [0, n) */
void rng_shuffle(rng_seq *r, int *a, int n); /* Fisher-Yates */

#endif
