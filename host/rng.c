#include "rng.h"

#include <math.h>

void philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

rng_seq rng_seq_make(uint64_t seed, uint32_t stream, uint32_t step) {
    return (rng_seq){.seed = seed, .stream = stream, .step = step, .index = 0};
}

static void block(rng_seq *r, uint32_t out[4]) {
    uint32_t ctr[4] = {r->index++, 0u, r->stream, r->step};
    uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    philox4x32_10(ctr, key, out);
}

static float u01(uint32_t x) { return ((float)(x >> 8) + 0.5f) * (1.0f / 16777216.0f); }

float rng_uniform(rng_seq *r) {
    uint32_t b[4];
    block(r, b);
    return u01(b[0]);
}

float rng_normal(rng_seq *r) {
    uint32_t b[4];
    block(r, b);
    float u1 = u01(b[0]), u2 = u01(b[1]);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307179586f * u2);
}

uint32_t rng_below(rng_seq *r, uint32_t n) {
    uint32_t b[4];
    block(r, b);
    uint64_t x = ((uint64_t)b[0] << 32) | b[1];
    return (uint32_t)(x % n); /* bias of n/2^64: negligible */
}

void rng_shuffle(rng_seq *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
