/* Binary cross-entropy terms, eight elements per work-item in float8: the same values as loss.cl's
 * bce_terms (logs clamped at -100 like PyTorch), but PoCL calls its vector log here where the one-element
 * kernel ran the scalar log per element (37 ns each: most of a VAE step's BCE). n8 = n / 8 work-items
 * take whole vectors; the last n % 8 elements go to the first work-item's tail loop. */

#include "clg_shared.h"

__kernel void bce_terms8(__global float *out, int ooff, __global const float *p, int poff, __global const float *t,
                         int toff, int n) {
    int i = get_global_id(0);
    if (i < n / 8) {
        float8 pv = vload8(i, p + poff), tv = vload8(i, t + toff);
        float8 lp = fmax(log(pv), (float8)(-100.0f)), l1p = fmax(log(1.0f - pv), (float8)(-100.0f));
        vstore8(-(tv * lp + (1.0f - tv) * l1p), i, out + ooff);
    }
    if (i == 0)
        for (int j = n / 8 * 8; j < n; j++) {
            float pv = p[poff + j], tv = t[toff + j];
            float lp = fmax(log(pv), -100.0f), l1p = fmax(log(1.0f - pv), -100.0f);
            out[ooff + j] = -(tv * lp + (1.0f - tv) * l1p);
        }
}
