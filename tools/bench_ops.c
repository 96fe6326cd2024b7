/* ./bench's other rows: the ceilings (a large SGEMM through blas_gemm, a large copy), CLBlast GEMM at
 * the shapes of the models, batch and instance norm, elementwise ops and the Adam step. Everything is
 * timed through the engine's public calls (blas_gemm, op_*, optim_step), checked first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "blas.h"
#include "clerr.h"
#include "clg_shared.h"
#include "kernel_launch.h"
#include "ops.h"
#include "optim.h"
#include "util.h"

static unsigned long long row_seed(const bench_row *r) { return fnv1a64(r->name, strlen(r->name), FNV1A64_INIT); }

static float *download(clg_ctx *c, tensor t) {
    float *v = xmalloc(tnumel(t) * sizeof *v);
    clg_read(c, t.mem, t.off, tnumel(t), v);
    return v;
}

/* ---- GEMM ----------------------------------------------------------------------------------- */

typedef struct {
    clg_ctx *c;
    int ta, tb;
    size_t m, n, k;
    cl_mem a, b, cm;
    float *ha, *hb;
    unsigned long long seed;
} gemm_state;

static void gemm_run(void *p) {
    gemm_state *s = p;
    blas_gemm(s->c, s->ta, s->tb, s->m, s->n, s->k, 1.0f, s->a, 0, s->ta ? s->m : s->k, s->b, 0, s->tb ? s->k : s->n,
              0.0f, s->cm, 0, s->n);
}

static double gemm_check(void *p) {
    gemm_state *s = p;
    size_t idx[BENCH_SAMPLES];
    int ns = bench_sample(s->m * s->n, s->seed, idx);
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    double worst = 0;
    for (int q = 0; q < ns; q++) {
        size_t i = idx[q] / s->n, j = idx[q] % s->n;
        float got;
        clg_read(s->c, s->cm, idx[q], 1, &got);
        double sum = 0, mag = 0;
        for (size_t l = 0; l < s->k; l++) {
            double t = (double)(s->ta ? s->ha[l * lda + i] : s->ha[i * lda + l]) *
                       (s->tb ? s->hb[j * ldb + l] : s->hb[l * ldb + j]);
            sum += t;
            mag += fabs(t);
        }
        bench_err(&worst, got, sum, mag);
    }
    return worst;
}

static void gemm_done(void *p) {
    gemm_state *s = p;
    clReleaseMemObject(s->a);
    clReleaseMemObject(s->b);
    clReleaseMemObject(s->cm);
    free(s->ha);
    free(s->hb);
    free(s);
}

static void make_gemm(clg_ctx *c, const bench_row *r, bench_work *w) {
    gemm_state *s = xcalloc(1, sizeof *s);
    *s = (gemm_state){.c = c, .ta = r->u.gemm.ta, .tb = r->u.gemm.tb, .m = r->u.gemm.m, .n = r->u.gemm.n,
                      .k = r->u.gemm.k, .seed = row_seed(r)};
    tensor a = bench_random_tensor(c, 1, 1, (int)s->m, (int)s->k, s->seed + 1, &s->ha);
    tensor b = bench_random_tensor(c, 1, 1, (int)s->k, (int)s->n, s->seed + 2, &s->hb);
    s->a = a.mem, s->b = b.mem, s->cm = clg_alloc(c, s->m * s->n);
    *w = (bench_work){.st = s, .run = gemm_run, .check = gemm_check, .done = gemm_done};
}

static void add_gemm(row_list *l, const char *group, int ta, int tb, size_t m, size_t n, size_t k, int ceiling) {
    bench_row *r = rows_add(l);
    snprintf(r->name, sizeof r->name, "%s.%c%c%zux%zux%zu", group, ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k);
    snprintf(r->shape, sizeof r->shape, "C=%s*%s %zux%zu K%zu", ta ? "A^T" : "A", tb ? "B^T" : "B", m, n, k);
    r->flops = 2.0 * (double)m * (double)n * (double)k;
    r->make = make_gemm;
    r->ceiling = ceiling;
    r->u.gemm.ta = ta, r->u.gemm.tb = tb, r->u.gemm.m = m, r->u.gemm.n = n, r->u.gemm.k = k;
}

int rows_gemm_arg(row_list *l, const char *arg) {
    char t1, t2, tail;
    unsigned long long m, n, k;
    if (sscanf(arg, "%c%c:%llux%llux%llu%c", &t1, &t2, &m, &n, &k, &tail) != 5) return -1;
    if ((t1 != 'N' && t1 != 'T') || (t2 != 'N' && t2 != 'T') || !m || !n || !k) return -1;
    if (m > (1u << 30) / k || n > (1u << 30) / k || m > (1u << 30) / n) return -1; /* 4 GiB per matrix at most */
    add_gemm(l, "gemm.user", t1 == 'T', t2 == 'T', (size_t)m, (size_t)n, (size_t)k, 0);
    return 0;
}

/* ---- copies (the bandwidth ceiling) --------------------------------------------------------- */

typedef struct {
    clg_ctx *c;
    int kernel; /* 0: clEnqueueCopyBuffer, 1: a copy kernel (axpby with a = 1, b = 0) */
    size_t n;
    tensor src, dst;
    float *hsrc;
} copy_state;

static void copy_run(void *p) {
    copy_state *s = p;
    if (s->kernel) {
        k_axpby(s->c, s->dst, s->src, s->n, 1.0f, 0.0f);
        return;
    }
    cl_event ev = NULL;
    CL_CHECK(clEnqueueCopyBuffer(s->c->q, s->src.mem, s->dst.mem, 0, 0, s->n * sizeof(float), 0, NULL,
                                 s->c->profiling ? &ev : NULL));
    if (ev) clg_prof_event(s->c, "clEnqueueCopyBuffer", ev);
}

static double copy_check(void *p) {
    copy_state *s = p;
    size_t idx[BENCH_SAMPLES];
    int ns = bench_sample(s->n, 7, idx);
    double worst = 0;
    for (int i = 0; i < ns; i++) {
        float got;
        clg_read(s->c, s->dst.mem, idx[i], 1, &got);
        bench_err(&worst, got, s->hsrc[idx[i]], fabs(s->hsrc[idx[i]]));
    }
    return worst;
}

static void copy_done(void *p) {
    copy_state *s = p;
    clReleaseMemObject(s->src.mem);
    clReleaseMemObject(s->dst.mem);
    free(s->hsrc);
    free(s);
}

static void make_copy(clg_ctx *c, const bench_row *r, bench_work *w) {
    copy_state *s = xcalloc(1, sizeof *s);
    s->c = c, s->n = r->u.count, s->kernel = strstr(r->name, "kernel") != NULL;
    s->src = bench_random_tensor(c, 1, 1, 1, (int)s->n, row_seed(r), &s->hsrc);
    s->dst = (tensor){.mem = clg_alloc(c, s->n), .n = 1, .c = 1, .h = 1, .w = (int)s->n};
    *w = (bench_work){.st = s, .run = copy_run, .check = copy_check, .done = copy_done};
}

static void add_copy(row_list *l, const char *name, size_t n) {
    bench_row *r = rows_add(l);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->shape, sizeof r->shape, "%.0f MiB -> %.0f MiB", n * 4.0 / (1 << 20), n * 4.0 / (1 << 20));
    r->bytes = 2.0 * 4.0 * (double)n;
    r->make = make_copy;
    r->ceiling = 1;
    r->u.count = n;
}

/* ---- FMA throughput (the arithmetic ceiling) ----------------------------------------------- */

/* kernels/peak.cl's fma_peak8 and fma_peak16: work-items x its chains x 8 or 16 lanes, each
 * a = fma(a, FMA_M, FMA_C) iters times (the fixed point c / (1 - m) = 1 attracts at rate m: float and
 * double stay within a few roundings of each other) */
#define FMA_ITEMS 16384
#define FMA_M 0.75f
#define FMA_C 0.25f

typedef struct {
    clg_ctx *c;
    int iters, width;
    cl_mem out;
} fma_state;

static void fma_run(void *p) {
    fma_state *s = p;
    if (s->width == 16) kl_fma_peak16(s->c, clg_grid_1d(FMA_ITEMS), s->out, s->iters, FMA_M, FMA_C);
    else kl_fma_peak8(s->c, clg_grid_1d(FMA_ITEMS), s->out, s->iters, FMA_M, FMA_C);
}

/* work-item i's sum, as fma_peak computes it, in double */
static double fma_ref(int i, int iters, int width, double *mag) {
    double sum = 0;
    for (int j = 0; j < FMA_PEAK_CHAINS; j++)
        for (int l = 0; l < width; l++) {
            double a = (double)(0.5f + 0.001f * (float)(i % 97) + 0.01f * (float)j + 0.0001f * (float)l);
            for (int t = 0; t < iters; t++) a = a * FMA_M + FMA_C;
            sum += a;
        }
    *mag = fabs(sum);
    return sum;
}

static double fma_check(void *p) {
    fma_state *s = p;
    size_t idx[BENCH_SAMPLES];
    int ns = bench_sample(FMA_ITEMS, 11, idx);
    float *got = xmalloc(FMA_ITEMS * sizeof *got);
    clg_read(s->c, s->out, 0, FMA_ITEMS, got);
    double worst = 0;
    for (int i = 0; i < ns; i++) {
        double mag, ref = fma_ref((int)idx[i], s->iters, s->width, &mag);
        bench_err(&worst, got[idx[i]], ref, mag);
    }
    free(got);
    return worst;
}

static void fma_done(void *p) {
    fma_state *s = p;
    clReleaseMemObject(s->out);
    free(s);
}

static void make_fma(clg_ctx *c, const bench_row *r, bench_work *w) {
    fma_state *s = xcalloc(1, sizeof *s);
    s->c = c, s->iters = r->u.fma.iters, s->width = r->u.fma.width, s->out = clg_alloc(c, FMA_ITEMS);
    *w = (bench_work){.st = s, .run = fma_run, .check = fma_check, .done = fma_done};
}

static void add_fma(row_list *l, int width, int iters) {
    bench_row *r = rows_add(l);
    snprintf(r->name, sizeof r->name, "peak.fma.float%d", width);
    snprintf(r->shape, sizeof r->shape, "%d items x %d chains x %d FMAs", FMA_ITEMS, FMA_PEAK_CHAINS, iters);
    r->flops = 2.0 * width * FMA_PEAK_CHAINS * (double)iters * FMA_ITEMS;
    r->make = make_fma;
    r->ceiling = 1;
    r->u.fma.width = width, r->u.fma.iters = iters;
}

/* The device's ceilings, measured by bench itself: the best of a few square SGEMMs through blas_gemm
 * (so with clgan's CLBlast tuning) and of the FMA throughput (on a CPU, where CLBlast's SGEMM runs far
 * below what the FMA units do and clgan's own kernels are rated against the units), and the best of two
 * large copies. */
void rows_ceiling(row_list *l, int quick) {
    add_fma(l, 8, quick ? 512 : 2048);
    add_fma(l, 16, quick ? 256 : 1024);
    add_gemm(l, "peak.sgemm", 0, 0, 512, 512, 512, 1);
    add_gemm(l, "peak.sgemm", 0, 0, 1024, 1024, 1024, 1);
    if (!quick) add_gemm(l, "peak.sgemm", 0, 0, 2048, 2048, 2048, 1);
    size_t n = quick ? (size_t)8 << 20 : (size_t)32 << 20;
    add_copy(l, "peak.copy.buffer", n);
    add_copy(l, "peak.copy.kernel", n);
}

/* ---- norms and elementwise ops -------------------------------------------------------------- */

typedef struct {
    clg_ctx *c;
    elem_op op;
    bench_dir dir;
    int N, C, H, W;
    size_t n;    /* elements of x */
    tape t;
    net p, buf;  /* batch norm: gamma and beta; running statistics */
    tensor x, x2, dy;
    float *hx, *hx2, *hdy, *hgb; /* hgb: gamma then beta (batch norm) */
    double *mean, *invstd;       /* per normalised group */
    int xv, y, n0;
} elem_state;

#define SLOPE 0.2f
#define NORM_EPS 1e-5f

static int is_norm(elem_op op) { return op == EL_BN || op == EL_IN; }

static void elem_forward(elem_state *s) {
    tape *t = &s->t;
    tape_reset(t);
    s->xv = s->dir == DIR_BWD ? tape_new_view(t, s->x, 1) : tape_input(t, s->x);
    s->n0 = t->nnodes;
    switch (s->op) {
    case EL_RELU: s->y = op_relu(t, s->xv); break;
    case EL_LRELU: s->y = op_leaky_relu(t, s->xv, SLOPE); break;
    case EL_ELU: s->y = op_elu(t, s->xv, 1.0f); break;
    case EL_TANH: s->y = op_tanh(t, s->xv); break;
    case EL_ADD: s->y = op_add(t, s->xv, tape_input(t, s->x2)); break;
    case EL_UPSAMPLE: s->y = op_upsample_nearest2x(t, s->xv); break;
    case EL_BN:
        s->y = op_batchnorm(t, s->xv, tape_param(t, &s->p, 0), tape_param(t, &s->p, 1), net_tensor(&s->buf, 0),
                            net_tensor(&s->buf, 1), 1, 0.1f, NORM_EPS);
        break;
    case EL_IN: s->y = op_instancenorm(t, s->xv, -1, -1, NORM_EPS); break; /* CycleGAN's affine=False */
    }
}

static void elem_pre(void *p) { elem_forward(p); }
static void elem_fwd(void *p) { elem_forward(p); }
static void elem_bwd(void *p) {
    elem_state *s = p;
    bench_backward(&s->t, s->y, s->dy, s->n0);
}

/* Normalised group of element i: batch norm one per channel, instance norm one per (sample, channel). */
static size_t group_of(const elem_state *s, size_t i) {
    size_t plane = i / ((size_t)s->H * s->W);
    return s->op == EL_BN ? plane % s->C : plane;
}
static size_t group_count(const elem_state *s) { return s->op == EL_BN ? (size_t)s->C : (size_t)s->N * s->C; }
static double gamma_of(const elem_state *s, size_t i) { return s->op == EL_BN ? s->hgb[i / ((size_t)s->H * s->W) % s->C] : 1.0; }
static double beta_of(const elem_state *s, size_t i) { return s->op == EL_BN ? s->hgb[s->C + i / ((size_t)s->H * s->W) % s->C] : 0.0; }

static double check_fwd(elem_state *s, const float *y) {
    double worst = 0;
    size_t ny = s->op == EL_UPSAMPLE ? 4 * s->n : s->n;
    for (size_t i = 0; i < ny; i++) {
        double x = i < s->n ? s->hx[i] : 0, ref, mag;
        switch (s->op) {
        case EL_RELU: ref = x > 0 ? x : 0, mag = fabs(x); break;
        case EL_LRELU: ref = x > 0 ? x : (double)SLOPE * x, mag = fabs(x); break;
        case EL_ELU: ref = x > 0 ? x : expm1(x), mag = fabs(x); break;
        case EL_TANH: ref = tanh(x), mag = fabs(ref); break;
        case EL_ADD: ref = x + s->hx2[i], mag = fabs(x) + fabs(s->hx2[i]); break;
        case EL_UPSAMPLE: {
            size_t W2 = 2 * (size_t)s->W, ox = i % W2, oy = i / W2 % (2 * (size_t)s->H), pl = i / (W2 * 2 * s->H);
            ref = s->hx[(pl * s->H + oy / 2) * s->W + ox / 2], mag = fabs(ref);
            break;
        }
        default: { /* the norms */
            size_t g = group_of(s, i);
            double ga = gamma_of(s, i);
            ref = (x - s->mean[g]) * s->invstd[g] * ga + beta_of(s, i);
            mag = (fabs(x) + fabs(s->mean[g])) * s->invstd[g] * fabs(ga) + fabs(beta_of(s, i));
        }
        }
        bench_err(&worst, y[i], ref, mag);
    }
    return worst;
}

/* Backward of the norms: dx = gamma invstd / M (M dy - sum(dy) - xhat sum(dy xhat)) per group, and
 * for batch norm dgamma = sum(dy xhat), dbeta = sum(dy) per channel. */
static double check_norm_bwd(elem_state *s, const float *dx) {
    size_t G = group_count(s), M = s->n / G;
    double *sdy = xcalloc(G, sizeof *sdy), *sdyx = xcalloc(G, sizeof *sdyx), *ady = xcalloc(G, sizeof *ady),
           *adyx = xcalloc(G, sizeof *adyx);
    for (size_t i = 0; i < s->n; i++) {
        size_t g = group_of(s, i);
        double xhat = (s->hx[i] - s->mean[g]) * s->invstd[g];
        sdy[g] += s->hdy[i], ady[g] += fabs(s->hdy[i]);
        sdyx[g] += s->hdy[i] * xhat, adyx[g] += fabs(s->hdy[i] * xhat);
    }
    double worst = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t g = group_of(s, i);
        double xhat = (s->hx[i] - s->mean[g]) * s->invstd[g], k = gamma_of(s, i) * s->invstd[g] / (double)M;
        double ref = k * ((double)M * s->hdy[i] - sdy[g] - xhat * sdyx[g]);
        double mag = fabs(k) * ((double)M * fabs(s->hdy[i]) + fabs(sdy[g]) + fabs(xhat * sdyx[g]));
        bench_err(&worst, dx[i], ref, mag);
    }
    if (s->op == EL_BN) {
        float *g = xmalloc(s->p.total * sizeof *g);
        clg_read(s->c, s->p.g, 0, s->p.total, g);
        for (int ch = 0; ch < s->C; ch++) {
            bench_err(&worst, g[s->p.p[0].off + ch], sdyx[ch], adyx[ch]);
            bench_err(&worst, g[s->p.p[1].off + ch], sdy[ch], ady[ch]);
        }
        free(g);
    }
    free(sdy), free(sdyx), free(ady), free(adyx);
    return worst;
}

static double check_bwd(elem_state *s, const float *dx) {
    if (is_norm(s->op)) return check_norm_bwd(s, dx);
    double worst = 0;
    for (size_t i = 0; i < s->n; i++) {
        double x = s->hx[i], ref, mag;
        switch (s->op) {
        case EL_RELU: ref = x > 0 ? s->hdy[i] : 0, mag = fabs(s->hdy[i]); break;
        case EL_LRELU: ref = x > 0 ? s->hdy[i] : (double)SLOPE * s->hdy[i], mag = fabs(s->hdy[i]); break;
        case EL_ELU: ref = x > 0 ? s->hdy[i] : s->hdy[i] * exp(x), mag = fabs(s->hdy[i]); break; /* from y as the op keeps it */
        case EL_TANH: { /* from y = tanh(x) as the op keeps it */
            double y = tanh(x);
            ref = s->hdy[i] * (1 - y * y), mag = fabs(s->hdy[i]);
            break;
        }
        case EL_UPSAMPLE: {
            size_t W2 = 2 * (size_t)s->W, ix = i % s->W, iy = i / s->W % s->H, pl = i / ((size_t)s->W * s->H);
            const float *d = s->hdy + (pl * 2 * s->H + 2 * iy) * W2 + 2 * ix;
            ref = (double)d[0] + d[1] + d[W2] + d[W2 + 1];
            mag = fabs(d[0]) + fabs(d[1]) + fabs(d[W2]) + fabs(d[W2 + 1]);
            break;
        }
        default: return NAN;
        }
        bench_err(&worst, dx[i], ref, mag);
    }
    return worst;
}

static double elem_check(void *p) {
    elem_state *s = p;
    if (s->dir == DIR_FWD) {
        float *y = download(s->c, tape_val(&s->t, s->y));
        double e = check_fwd(s, y);
        free(y);
        return e;
    }
    tensor dx = s->t.vars[s->xv].grad;
    if (!dx.mem) return NAN;
    float *h = download(s->c, dx);
    double e = check_bwd(s, h);
    free(h);
    return e;
}

static void elem_done(void *p) {
    elem_state *s = p;
    tape_free(&s->t);
    if (s->op == EL_BN) {
        net_free(&s->p);
        net_free(&s->buf);
    }
    clReleaseMemObject(s->x.mem);
    if (s->x2.mem) clReleaseMemObject(s->x2.mem);
    if (s->dy.mem) clReleaseMemObject(s->dy.mem);
    free(s->hx), free(s->hx2), free(s->hdy), free(s->hgb), free(s->mean), free(s->invstd);
    free(s);
}

/* The reference statistics of each group, in double (biased variance, as the op). */
static void norm_stats(elem_state *s) {
    size_t G = group_count(s), M = s->n / G;
    s->mean = xcalloc(G, sizeof *s->mean);
    s->invstd = xcalloc(G, sizeof *s->invstd);
    double *sq = xcalloc(G, sizeof *sq);
    for (size_t i = 0; i < s->n; i++) s->mean[group_of(s, i)] += s->hx[i];
    for (size_t g = 0; g < G; g++) s->mean[g] /= (double)M;
    for (size_t i = 0; i < s->n; i++) {
        double d = s->hx[i] - s->mean[group_of(s, i)];
        sq[group_of(s, i)] += d * d;
    }
    for (size_t g = 0; g < G; g++) s->invstd[g] = 1.0 / sqrt(sq[g] / (double)M + (double)NORM_EPS);
    free(sq);
}

static void make_elem(clg_ctx *c, const bench_row *r, bench_work *w) {
    elem_state *s = xcalloc(1, sizeof *s);
    unsigned long long seed = row_seed(r);
    *s = (elem_state){.c = c, .op = r->u.el.op, .dir = r->dir, .N = r->u.el.n, .C = r->u.el.c, .H = r->u.el.h,
                      .W = r->u.el.w};
    s->n = (size_t)s->N * s->C * s->H * s->W;
    tape_init(&s->t, c);
    s->t.grad_enabled = r->dir != DIR_FWD;
    s->x = bench_random_tensor(c, s->N, s->C, s->H, s->W, seed + 1, &s->hx);
    if (s->op == EL_ADD) s->x2 = bench_random_tensor(c, s->N, s->C, s->H, s->W, seed + 2, &s->hx2);
    int up = s->op == EL_UPSAMPLE ? 2 : 1;
    if (r->dir != DIR_FWD) s->dy = bench_random_tensor(c, s->N, s->C, up * s->H, up * s->W, seed + 3, &s->hdy);
    if (s->op == EL_BN) {
        net_init(&s->p, c, "bn");
        net_add(&s->p, "weight", 1, (int[]){s->C});
        net_add(&s->p, "bias", 1, (int[]){s->C});
        net_alloc(&s->p);
        s->hgb = xmalloc(2 * (size_t)s->C * sizeof *s->hgb);
        bench_randv(s->hgb, 2 * (size_t)s->C, seed + 4);
        for (int i = 0; i < s->C; i++) s->hgb[i] = 1.0f + 0.5f * s->hgb[i]; /* gamma in [0.5, 1.5] */
        clg_write(c, s->p.w, s->p.p[0].off, (size_t)s->C, s->hgb);
        clg_write(c, s->p.w, s->p.p[1].off, (size_t)s->C, s->hgb + s->C);
        net_init(&s->buf, c, "bn_running");
        net_add(&s->buf, "running_mean", 1, (int[]){s->C});
        net_add(&s->buf, "running_var", 1, (int[]){s->C});
        net_alloc(&s->buf);
        net_init_const(&s->buf, 1, 1.0f);
        s->buf.requires_grad = 0;
    }
    if (is_norm(s->op)) norm_stats(s);
    *w = (bench_work){.st = s, .pre = r->dir == DIR_FWD ? NULL : elem_pre, .run = r->dir == DIR_FWD ? elem_fwd : elem_bwd,
                      .check = elem_check, .done = elem_done};
}

static void add_elem(row_list *l, const char *op_name, elem_op op, int n, int c, int h, int w, int with_bwd) {
    double numel = (double)n * c * h * w;
    for (int d = 0; d < 1 + with_bwd; d++) {
        bench_row *r = rows_add(l);
        snprintf(r->name, sizeof r->name, "%s.%dx%dx%dx%d.%s", op_name, n, c, h, w, d ? "bwd" : "fwd");
        snprintf(r->shape, sizeof r->shape, "%s %dx%dx%dx%d%s", op_name, n, c, h, w,
                 op == EL_UPSAMPLE ? " -> x2" : op == EL_IN ? " (no affine)" : "");
        /* compulsory traffic in floats: inputs read once, outputs written once */
        double floats = op == EL_UPSAMPLE ? 5 * numel : op == EL_ADD ? 3 * numel : d ? 3 * numel : 2 * numel;
        r->bytes = 4.0 * floats;
        r->dir = d ? DIR_BWD : DIR_FWD;
        r->make = make_elem;
        r->u.el.op = op, r->u.el.n = n, r->u.el.c = c, r->u.el.h = h, r->u.el.w = w;
    }
}

/* ---- Adam ----------------------------------------------------------------------------------- */

#define ADAM_LR 1e-2 /* large enough that a wrong step shows against the weight's own rounding */
#define ADAM_B1 0.5
#define ADAM_B2 0.999
#define ADAM_EPS 1e-8

typedef struct {
    clg_ctx *c;
    net p;
    optim o;
    float *hp, *hg, *hm, *hv;
} adam_state;

static void adam_run(void *p) { optim_step(&((adam_state *)p)->o); }

/* After the first step (t = 1): m, v and the weights against PyTorch's formula in double. */
static double adam_check(void *p) {
    adam_state *s = p;
    size_t n = s->p.total;
    float *w = xmalloc(n * sizeof *w), *m = xmalloc(n * sizeof *m), *v = xmalloc(n * sizeof *v);
    net_download(&s->p, w);
    optim_download(&s->o, m, v);
    double worst = 0, bc1 = 1 - ADAM_B1, bc2 = 1 - ADAM_B2;
    for (size_t i = 0; i < s->p.p[0].numel; i++) {
        double g = s->hg[i], mi = ADAM_B1 * s->hm[i] + (1 - ADAM_B1) * g, vi = ADAM_B2 * s->hv[i] + (1 - ADAM_B2) * g * g;
        double step = ADAM_LR / bc1 * mi / (sqrt(vi) / sqrt(bc2) + ADAM_EPS);
        bench_err(&worst, m[i], mi, fabs(ADAM_B1 * s->hm[i]) + fabs((1 - ADAM_B1) * g));
        bench_err(&worst, v[i], vi, vi);
        bench_err(&worst, w[i], s->hp[i] - step, fabs(s->hp[i]) + fabs(step));
    }
    free(w), free(m), free(v);
    return worst;
}

static void adam_done(void *p) {
    adam_state *s = p;
    optim_free(&s->o);
    net_free(&s->p);
    free(s->hp), free(s->hg), free(s->hm), free(s->hv);
    free(s);
}

static void make_adam(clg_ctx *c, const bench_row *r, bench_work *w) {
    adam_state *s = xcalloc(1, sizeof *s);
    s->c = c;
    unsigned long long seed = row_seed(r);
    net_init(&s->p, c, "adam");
    net_add(&s->p, "w", 1, (int[]){(int)r->u.count});
    net_alloc(&s->p);
    optim_adam(&s->o, &s->p, ADAM_LR, ADAM_B1, ADAM_B2, ADAM_EPS, 0.0);
    size_t n = s->p.total; /* the parameter, padded to 64 floats */
    float **h[4] = {&s->hp, &s->hg, &s->hm, &s->hv};
    for (int i = 0; i < 4; i++) {
        *h[i] = xmalloc(n * sizeof(float));
        bench_randv(*h[i], n, seed + (unsigned)i);
    }
    for (size_t i = 0; i < n; i++) s->hv[i] = 0.01f * fabsf(s->hv[i]); /* a second moment is positive */
    net_upload(&s->p, s->hp);
    clg_write(c, s->p.g, 0, n, s->hg);
    optim_upload(&s->o, s->hm, s->hv);
    *w = (bench_work){.st = s, .run = adam_run, .check = adam_check, .done = adam_done};
}

/* ---- the list ------------------------------------------------------------------------------- */

void rows_ops(row_list *l) {
    add_gemm(l, "gemm.square", 0, 0, 1024, 1024, 1024, 0);
    /* The shapes of the first GEMM benchmark (tools/gemm_bench.c, folded into this one): DCGAN's im2col
     * GEMMs at ngf = ndf = 16 (forward, data and weight gradient), the VAE's linear layers at batch 128,
     * and CycleGAN's residual blocks at 32x32 and first layers. */
    static const struct { const char *g; int ta, tb; size_t m, n, k; } shapes[] = {
        {"gemm.dcgan16", 1, 0, 256, 16384, 32}, {"gemm.dcgan16", 0, 0, 32, 16384, 256},
        {"gemm.dcgan16", 0, 1, 16, 16, 131072}, {"gemm.dcgan16", 0, 1, 32, 256, 16384},
        {"gemm.dcgan16", 0, 0, 16, 131072, 16}, {"gemm.dcgan16", 1, 0, 512, 8192, 64},
        {"gemm.dcgan16", 1, 0, 1024, 2048, 128}, {"gemm.dcgan16", 0, 0, 64, 8192, 512},
        {"gemm.dcgan16", 0, 0, 128, 2048, 1024},
        {"gemm.vae", 0, 1, 128, 400, 784}, {"gemm.vae", 0, 0, 128, 784, 400}, {"gemm.vae", 1, 0, 400, 784, 128},
        {"gemm.vae", 0, 1, 128, 784, 400}, {"gemm.vae", 1, 0, 784, 400, 128}, {"gemm.vae", 0, 1, 128, 5, 400},
        {"gemm.vae", 0, 0, 128, 400, 5}, {"gemm.vae", 1, 0, 5, 400, 128}, {"gemm.vae", 0, 1, 128, 400, 5},
        {"gemm.vae", 1, 0, 400, 5, 128},
        {"gemm.cyclegan", 0, 0, 256, 1024, 2304}, {"gemm.cyclegan", 1, 0, 2304, 1024, 256},
        {"gemm.cyclegan", 0, 1, 256, 2304, 1024}, {"gemm.cyclegan", 0, 0, 64, 16384, 576},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        add_gemm(l, shapes[i].g, shapes[i].ta, shapes[i].tb, shapes[i].m, shapes[i].n, shapes[i].k, 0);
    /* batch norm in DCGAN's G (batch 128, ngf 128); instance norm in CycleGAN's G at 256 and 128 */
    add_elem(l, "bn", EL_BN, 128, 512, 8, 8, 1);
    add_elem(l, "bn", EL_BN, 128, 128, 32, 32, 1);
    add_elem(l, "in", EL_IN, 1, 64, 256, 256, 1);
    add_elem(l, "in", EL_IN, 1, 256, 64, 64, 1);
    add_elem(l, "in", EL_IN, 1, 64, 128, 128, 1);
    add_elem(l, "in", EL_IN, 1, 256, 32, 32, 1);
    /* activations at DCGAN's largest (G's last hidden layer, D's first), the residual add and the
     * upsampling of CycleGAN's G at 256 */
    add_elem(l, "relu", EL_RELU, 128, 128, 32, 32, 1);
    add_elem(l, "lrelu", EL_LRELU, 128, 128, 32, 32, 1);
    add_elem(l, "tanh", EL_TANH, 128, 128, 32, 32, 1);
    /* ELU at the adversarial VAE's largest (batch 16, 16 channels, 28x28; 13% of its step in 2026-12-07's
     * profile) */
    add_elem(l, "elu", EL_ELU, 16, 16, 28, 28, 1);
    add_elem(l, "add", EL_ADD, 1, 256, 64, 64, 0);
    add_elem(l, "upsample", EL_UPSAMPLE, 1, 256, 64, 64, 1);
    /* Adam over a CycleGAN ResNet-9 generator's parameters (11,378,179) */
    bench_row *r = rows_add(l);
    snprintf(r->name, sizeof r->name, "adam.11378179.step");
    snprintf(r->shape, sizeof r->shape, "adam 11378179 params (CycleGAN G)");
    r->bytes = 7.0 * 4.0 * 11378179.0; /* reads w, g, m, v; writes w, m, v */
    r->make = make_adam;
    r->u.count = 11378179;
}
