/* Shared by every kernel file (embedded first). Offsets and sizes are counted in floats. */

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"), the same generator
 * as host/rng.c, so a stream drawn on the device can be reproduced on the host. */
uint4 philox4x32_10(uint4 ctr, uint2 key) {
    for (int r = 0; r < 10; r++) {
        uint lo0 = 0xD2511F53u * ctr.x, hi0 = mul_hi(0xD2511F53u, ctr.x);
        uint lo1 = 0xCD9E8D57u * ctr.z, hi1 = mul_hi(0xCD9E8D57u, ctr.z);
        ctr = (uint4)(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key += (uint2)(0x9E3779B9u, 0xBB67AE85u);
    }
    return ctr;
}

/* The sum of a vector's lanes, in a fixed order (the vectorised reductions: norms, bias gradients). */
float lanes8_sum(float8 v) {
    float4 h = v.lo + v.hi;
    float2 q = h.lo + h.hi;
    return q.x + q.y;
}

/* A uniform in (0, 1), never 0 or 1, from 32 random bits. */
float u01(uint x) { return ((float)(x >> 8) + 0.5f) * (1.0f / 16777216.0f); }
