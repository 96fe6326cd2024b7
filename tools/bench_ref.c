/* Plain C double-precision references for ./bench's checks, written from the definitions (as
 * tests/test_conv.c), one element at a time so that a big convolution is checked on a sample of its
 * outputs in milliseconds. Each returns the value and the sum of |terms|: the error of a float32 sum
 * is a small multiple of 6e-8 of that sum whatever the cancellation, while a wrong or missing term
 * is of the order of one term. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"
#include "util.h"

/* ---- random data and samples ---------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void bench_randv(float *v, size_t n, unsigned long long seed) {
    uint64_t s = seed * 0x2545F4914F6CDD1DULL + 1;
    for (size_t i = 0; i < n; i++) {
        float x;
        do x = (float)((double)(splitmix(&s) >> 40) * (2.0 / 16777216.0) - 1.0);
        while (fabsf(x) < 1e-3f);
        v[i] = x;
    }
}

tensor bench_random_tensor(clg_ctx *c, int n, int ch, int h, int w, unsigned long long seed, float **host) {
    size_t cnt = (size_t)n * ch * h * w;
    float *v = xmalloc(cnt * sizeof *v);
    bench_randv(v, cnt, seed);
    tensor t = {.mem = clg_alloc(c, cnt), .off = 0, .n = n, .c = ch, .h = h, .w = w};
    clg_write(c, t.mem, 0, cnt, v);
    if (host) *host = v;
    else free(v);
    return t;
}

int bench_sample(size_t n, unsigned long long seed, size_t *idx) {
    if (n <= BENCH_SAMPLES) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return (int)n;
    }
    uint64_t s = seed;
    idx[0] = 0;
    idx[1] = n - 1;
    for (int i = 2; i < BENCH_SAMPLES; i++) idx[i] = (size_t)(splitmix(&s) % n);
    return BENCH_SAMPLES;
}

void bench_err(double *worst, float got, double ref, double mag) {
    double e = fabs((double)got - ref) / (mag > 0 ? mag : 1e-300);
    if (got == ref) e = 0;
    if (isnan(e) || isnan(*worst)) *worst = NAN;
    else if (e > *worst) *worst = e;
}

/* ---- convolutions --------------------------------------------------------------------------- */

void conv_out_size(const conv_spec *s, int *oh, int *ow) {
    if (s->transposed) {
        *oh = (s->H - 1) * s->s - 2 * s->p + s->k + s->op;
        *ow = (s->W - 1) * s->s - 2 * s->p + s->k + s->op;
    } else {
        *oh = (s->H + 2 * s->p - s->k) / s->s + 1;
        *ow = (s->W + 2 * s->p - s->k) / s->s + 1;
    }
}

/* The input coordinate a padded coordinate i reads (torch.nn.ReflectionPad2d), or -1 in zero padding. */
static int src_coord(int i, int n, int reflect) {
    if (reflect) return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    return i < 0 || i >= n ? -1 : i;
}

/* The output positions o (0 <= o < on) whose tap kk reads input coordinate i: o*s - p + kk is i itself
 * or, with reflection, its mirror image across either border. Returns how many (at most 3). */
static int taps(int i, int n, int kk, int s, int p, int reflect, int on, int *o) {
    int q[3], nq = 0, cnt = 0;
    q[nq++] = i;
    if (reflect && i > 0) q[nq++] = -i;
    if (reflect && i < n - 1) q[nq++] = 2 * (n - 1) - i;
    for (int j = 0; j < nq; j++) {
        int v = q[j] + p - kk;
        if (v < 0 || v % s) continue;
        if (v / s < on) o[cnt++] = v / s;
    }
    return cnt;
}

/* Where input coordinate i lands under tap kk of a transposed conv (y at i*s - p + kk), or -1. */
static int scatter(int i, int kk, int s, int p, int on) {
    int o = i * s - p + kk;
    return o >= 0 && o < on ? o : -1;
}

#define X_AT(n, c, y, x) x_[(((size_t)(n) * s->Ci + (c)) * s->H + (y)) * s->W + (x)]
#define Y_AT(n, c, y, x) dy[(((size_t)(n) * s->Co + (c)) * OH + (y)) * OW + (x)]
/* conv2d: w {Co, Ci, k, k}; conv_transpose2d: w {Ci, Co, k, k}. */
#define W_AT(co, ci, a, b)                                                                                      \
    w[(s->transposed ? ((size_t)(ci) * s->Co + (co)) : ((size_t)(co) * s->Ci + (ci))) * s->k * s->k +           \
      (size_t)(a) * s->k + (b)]

double ref_conv_y(const conv_spec *s, const float *x_, const float *w, const float *b, size_t yi, double *mag) {
    int OH, OW;
    conv_out_size(s, &OH, &OW);
    int ox = (int)(yi % OW), oy = (int)(yi / OW % OH), co = (int)(yi / ((size_t)OW * OH) % s->Co);
    int n = (int)(yi / ((size_t)OW * OH * s->Co));
    double sum = b ? b[co] : 0.0, m = b ? fabs(b[co]) : 0.0;
    for (int ci = 0; ci < s->Ci; ci++)
        for (int a = 0; a < s->k; a++)
            for (int c = 0; c < s->k; c++) {
                int iy, ix;
                if (!s->transposed) {
                    iy = src_coord(oy * s->s - s->p + a, s->H, s->reflect);
                    ix = src_coord(ox * s->s - s->p + c, s->W, s->reflect);
                } else { /* y[o] gathers x[i] with i*s - p + tap = o */
                    int vy = oy + s->p - a, vx = ox + s->p - c;
                    iy = vy >= 0 && vy % s->s == 0 && vy / s->s < s->H ? vy / s->s : -1;
                    ix = vx >= 0 && vx % s->s == 0 && vx / s->s < s->W ? vx / s->s : -1;
                }
                if (iy < 0 || ix < 0) continue;
                double t = (double)X_AT(n, ci, iy, ix) * W_AT(co, ci, a, c);
                sum += t;
                m += fabs(t);
            }
    *mag = m;
    return sum;
}

double ref_conv_dx(const conv_spec *s, const float *dy, const float *w, size_t xi, double *mag) {
    int OH, OW;
    conv_out_size(s, &OH, &OW);
    int ix = (int)(xi % s->W), iy = (int)(xi / s->W % s->H), ci = (int)(xi / ((size_t)s->W * s->H) % s->Ci);
    int n = (int)(xi / ((size_t)s->W * s->H * s->Ci));
    double sum = 0, m = 0;
    for (int co = 0; co < s->Co; co++)
        for (int a = 0; a < s->k; a++)
            for (int c = 0; c < s->k; c++) {
                int oys[3], oxs[3], ny, nx;
                if (!s->transposed) {
                    ny = taps(iy, s->H, a, s->s, s->p, s->reflect, OH, oys);
                    nx = taps(ix, s->W, c, s->s, s->p, s->reflect, OW, oxs);
                } else {
                    oys[0] = scatter(iy, a, s->s, s->p, OH);
                    oxs[0] = scatter(ix, c, s->s, s->p, OW);
                    ny = oys[0] >= 0, nx = oxs[0] >= 0;
                }
                for (int u = 0; u < ny; u++)
                    for (int v = 0; v < nx; v++) {
                        double t = (double)Y_AT(n, co, oys[u], oxs[v]) * W_AT(co, ci, a, c);
                        sum += t;
                        m += fabs(t);
                    }
            }
    *mag = m;
    return sum;
}

double ref_conv_dw(const conv_spec *s, const float *x_, const float *dy, size_t wi, double *mag) {
    int OH, OW;
    conv_out_size(s, &OH, &OW);
    int kk = s->k * s->k, c = (int)(wi % s->k), a = (int)(wi / s->k % s->k);
    int d1 = s->transposed ? s->Co : s->Ci;
    int i1 = (int)(wi / kk % d1), i0 = (int)(wi / kk / d1);
    int co = s->transposed ? i1 : i0, ci = s->transposed ? i0 : i1;
    double sum = 0, m = 0;
    for (int n = 0; n < s->N; n++) {
        if (!s->transposed) {
            for (int oy = 0; oy < OH; oy++) {
                int iy = src_coord(oy * s->s - s->p + a, s->H, s->reflect);
                if (iy < 0) continue;
                for (int ox = 0; ox < OW; ox++) {
                    int ix = src_coord(ox * s->s - s->p + c, s->W, s->reflect);
                    if (ix < 0) continue;
                    double t = (double)Y_AT(n, co, oy, ox) * X_AT(n, ci, iy, ix);
                    sum += t;
                    m += fabs(t);
                }
            }
        } else {
            for (int iy = 0; iy < s->H; iy++) {
                int oy = scatter(iy, a, s->s, s->p, OH);
                if (oy < 0) continue;
                for (int ix = 0; ix < s->W; ix++) {
                    int ox = scatter(ix, c, s->s, s->p, OW);
                    if (ox < 0) continue;
                    double t = (double)Y_AT(n, co, oy, ox) * X_AT(n, ci, iy, ix);
                    sum += t;
                    m += fabs(t);
                }
            }
        }
    }
    *mag = m;
    return sum;
}

double ref_conv_db(const conv_spec *s, const float *dy, int co, double *mag) {
    int OH, OW;
    conv_out_size(s, &OH, &OW);
    double sum = 0, m = 0;
    for (int n = 0; n < s->N; n++)
        for (size_t l = 0; l < (size_t)OH * OW; l++) {
            double t = dy[((size_t)n * s->Co + co) * OH * OW + l];
            sum += t;
            m += fabs(t);
        }
    *mag = m;
    return sum;
}
