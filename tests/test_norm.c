/* Batch norm and instance norm (host/ops/norm.c, kernels/norm.cl).
 *
 * 1. Against a plain C double-precision reference: forward, backward (dx, dgamma, dbeta) through the
 *    tape, batch norm in training and evaluation mode, running statistics after two training calls.
 *    Inputs are random and non-zero with odd sizes, at non-zero offsets in buffers filled with garbage
 *    around them, the arena is poisoned with NaN first (so beta-0 writes must overwrite), parameter
 *    gradients start non-zero (backward must add to them), data sit at a non-zero mean (around 3 +- 2,
 *    and a stress case around 1000 +- 1 with M = 65536 per channel, where E[x^2] - E[x]^2 in float
 *    would lose every digit of the variance). Cases where x wants no gradient (only gamma, beta do) and
 *    where x feeds a second loss term (its gradient is written first by that term and then accumulated)
 *    cover the remaining tape paths.
 * 2. Finite differences through the tape for both ops, alone, with a ReLU or leaky ReLU in the node
 *    (op_*_act) and with a residual (op_*_add; step and tolerance: the comment above fd_case).
 *    TEST_NORM_SEED=n redraws every random input (the tolerances were checked over 60 seeds).
 * 3. Optionally, when /usr/bin/python3 imports torch: torch.nn.functional.batch_norm / instance_norm
 *    on the same inputs (forward, backward, running statistics), which checks the PyTorch semantics
 *    (biased/unbiased variance, eps placement, momentum) against PyTorch itself. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static clg_ctx *cl;
static rng_seq R;

static float unif(float lo, float hi) { return lo + (hi - lo) * rng_uniform(&R); }

static float *randv(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = unif(lo, hi);
    return v;
}

/* Buffers made by upload_at, released together by release_uploads. */
static cl_mem uploads[64];
static int nuploads;

static void release_uploads(void) {
    while (nuploads > 0) clReleaseMemObject(uploads[--nuploads]);
}

/* A tensor at an odd offset inside a fresh buffer, garbage around it. */
static tensor upload_at(const float *v, int n, int c, int h, int w, size_t off) {
    if (nuploads == 64) die("test_norm: too many uploads");
    tensor t = dev_upload_at(cl, v, n, c, h, w, off);
    uploads[nuploads++] = t.mem;
    return t;
}

static float *download(tensor t) { return dev_download(cl, t); }


/* Fills the tape's arena with NaN, so anything read before it is written shows. */
static void poison_arena(tape *t) {
    tensor p = arena_tensor(&t->ar, 1 << 22, 1, 1, 1);
    clg_fill(cl, p.mem, p.off, (size_t)1 << 22, NAN);
    arena_reset(&t->ar);
}

/* ---- the double-precision reference ---- */

/* Groups as in kernels/norm.cl: batch norm G = C groups of M = N*HW, instance norm G = N*C of HW. */
typedef struct {
    int bn, N, C, HW, G, M;
} rgeom;

static rgeom rgeometry(int bn, int N, int C, int HW) {
    rgeom g = {bn, N, C, HW, bn ? C : N * C, bn ? N * HW : HW};
    return g;
}

/* Index in x of element j of group g. */
static long relem(const rgeom *g, int grp, int j) {
    if (g->bn) return ((long)(j / g->HW) * g->C + grp) * g->HW + j % g->HW;
    return (long)grp * g->HW + j;
}

static int rchan(const rgeom *g, int grp) { return grp % g->C; }

/* Two-pass mean and biased variance per group. */
static void ref_stats(const rgeom *g, const float *x, double *mean, double *var) {
    for (int k = 0; k < g->G; k++) {
        double s = 0, q = 0;
        for (int j = 0; j < g->M; j++) s += x[relem(g, k, j)];
        s /= g->M;
        for (int j = 0; j < g->M; j++) {
            double d = x[relem(g, k, j)] - s;
            q += d * d;
        }
        mean[k] = s;
        var[k] = q / g->M;
    }
}

/* y = (x - mean) / sqrt(var + eps) * gamma + beta (gamma, beta NULL: 1, 0). */
static void ref_forward(const rgeom *g, const float *x, const double *mean, const double *var, double eps,
                        const float *gamma, const float *beta, double *y) {
    for (int k = 0; k < g->G; k++) {
        double is = 1 / sqrt(var[k] + eps);
        int c = rchan(g, k);
        for (int j = 0; j < g->M; j++) {
            long i = relem(g, k, j);
            y[i] = (x[i] - mean[k]) * is * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
        }
    }
}

/* dx (through the statistics when through), dgamma, dbeta (added to; any may be NULL). */
static void ref_backward(const rgeom *g, const float *x, const double *dy, const double *mean, const double *var,
                         double eps, const float *gamma, int through, double *dx, double *dgamma, double *dbeta) {
    for (int k = 0; k < g->G; k++) {
        double is = 1 / sqrt(var[k] + eps), sdy = 0, sdyx = 0;
        int c = rchan(g, k);
        for (int j = 0; j < g->M; j++) {
            long i = relem(g, k, j);
            sdy += dy[i];
            sdyx += dy[i] * (x[i] - mean[k]) * is;
        }
        if (dgamma) dgamma[c] += sdyx;
        if (dbeta) dbeta[c] += sdy;
        if (!dx) continue;
        double gm = gamma ? gamma[c] : 1;
        for (int j = 0; j < g->M; j++) {
            long i = relem(g, k, j);
            double xh = (x[i] - mean[k]) * is;
            dx[i] = through ? gm * is / g->M * (g->M * dy[i] - sdy - xh * sdyx) : gm * is * dy[i];
        }
    }
}

/* ---- 1. cases against the reference ---- */

typedef struct {
    const char *name;
    int bn, N, C, H, W;
    int has_gamma, has_beta;
    int training; /* batch norm */
    int xgrad;    /* 0: x wants no gradient; 1: it does; 2: x also feeds a second loss term */
    float center, spread, momentum;
} ncase;

/* Tolerances. Outputs and gradients are O(1), so errors are taken relative to max(|ref|, 1). The
 * float32 op cannot do better than the conditioning of x - mean: x and the mean round at ~eps*|x|,
 * which normalised is eps*|x|/std. With cond = max over groups of max|x| / sqrt(var + eps) (~4 for
 * data at 3 +- 2, at most ~20 for the two-sample channels (see draw_x), ~1700 at 1000 +- 1), the forward is checked to max(1e-5, 2*eps*cond) and gradients, which use xhat again and
 * sums over the group, to max(1e-4, 8*eps*cond). */
static double cond_of(const rgeom *g, const float *x, const double *var, double eps) {
    double cond = 0;
    for (int k = 0; k < g->G; k++)
        for (int j = 0; j < g->M; j++) cond = fmax(cond, fabs(x[relem(g, k, j)]) / sqrt(var[k] + eps));
    return cond;
}

/* Data ~ center +- spread. A group of few elements (a two-sample channel) can draw nearly equal
 * values, whose normalisation float32 cannot compute accurately (the error of dx grows like
 * eps * cond^2 there); such draws say nothing about the op and are redrawn: every group's standard
 * deviation is kept above a quarter of the spread's (spread / sqrt(3)). */
static float *draw_x(const rgeom *g, float center, float spread) {
    long n = (long)g->N * g->C * g->HW;
    double *mean = dvec((size_t)g->G), *var = dvec((size_t)g->G);
    for (int tries = 0;; tries++) {
        if (tries == 1000) die("test_norm: no well-conditioned draw in 1000 tries");
        float *x = randv((size_t)n, center - spread, center + spread);
        ref_stats(g, x, mean, var);
        int ok = 1;
        for (int k = 0; k < g->G; k++) ok &= sqrt(var[k]) >= 0.25 * spread / sqrt(3.0);
        if (ok) {
            free(mean);
            free(var);
            return x;
        }
        free(x);
    }
}

static void run_case(const ncase *k) {
    const int N = k->N, C = k->C, HW = k->H * k->W;
    const long n = (long)N * C * HW;
    const float eps = 1e-5f;
    rgeom g = rgeometry(k->bn, N, C, HW);
    tape t;
    tape_init(&t, cl);
    poison_arena(&t);
    char what[128];
    printf("-- %s: %s %dx%dx%dx%d%s%s%s, x ~ %g +- %g\n", k->name, k->bn ? "batchnorm" : "instancenorm", N, C,
           k->H, k->W, k->has_gamma ? " gamma" : "", k->has_beta ? " beta" : "",
           k->bn ? (k->training ? " training" : " eval") : "", k->center, k->spread);

    /* parameters, with a pre-existing gradient */
    net nt;
    net_init(&nt, cl, "norm");
    int gi = net_add(&nt, "gamma", 1, (int[]){C}), bi = net_add(&nt, "beta", 1, (int[]){C});
    net_alloc(&nt);
    float *gamma = randv(C, 0.5f, 1.5f), *beta = randv(C, -1, 1), *g0 = randv(nt.total, -1, 1);
    for (int c = 0; c < C; c += 2) gamma[c] = -gamma[c]; /* both signs */
    clg_write(cl, nt.w, nt.p[gi].off, (size_t)C, gamma);
    clg_write(cl, nt.w, nt.p[bi].off, (size_t)C, beta);
    clg_write(cl, nt.g, 0, nt.total, g0);
    int gv = k->has_gamma ? tape_param(&t, &nt, gi) : -1, bv = k->has_beta ? tape_param(&t, &nt, bi) : -1;

    /* input at an offset */
    float *x = draw_x(&g, k->center, k->spread);
    tensor xt = upload_at(x, N, C, k->H, k->W, 29);
    int xv;
    if (k->xgrad) {
        xv = tape_new(&t, N, C, k->H, k->W, 1);
        k_axpby(cl, tape_val(&t, xv), xt, (size_t)n, 1.0f, 0.0f);
    } else {
        xv = tape_input(&t, xt);
    }

    /* running statistics (batch norm), near the data's */
    double var_data = (double)k->spread * k->spread / 3;
    float *rm0 = xmalloc((size_t)C * sizeof *rm0), *rv0 = xmalloc((size_t)C * sizeof *rv0);
    for (int c = 0; c < C; c++) {
        rm0[c] = k->center + unif(-0.3f, 0.3f) * k->spread;
        rv0[c] = (float)(var_data * unif(0.5f, 1.5f));
    }
    tensor rmt = upload_at(rm0, C, 1, 1, 1, 5), rvt = upload_at(rv0, C, 1, 1, 1, 17);

    int y = k->bn ? op_batchnorm(&t, xv, gv, bv, rmt, rvt, k->training, k->momentum, eps)
                  : op_instancenorm(&t, xv, gv, bv, eps);

    /* forward */
    double *mean = dvec((size_t)g.G), *var = dvec((size_t)g.G), *yr = dvec((size_t)n);
    int through = !k->bn || k->training;
    if (through) {
        ref_stats(&g, x, mean, var);
    } else {
        for (int c = 0; c < C; c++) {
            mean[c] = rm0[c];
            var[c] = rv0[c];
        }
    }
    ref_forward(&g, x, mean, var, eps, k->has_gamma ? gamma : NULL, k->has_beta ? beta : NULL, yr);
    double cond = cond_of(&g, x, var, eps);
    double ytol = fmax(1e-5, 2 * FLT_EPSILON * cond), gtol = fmax(1e-4, 8 * FLT_EPSILON * cond);
    printf("   cond (max |x| / std) %.3g: tolerances %.1e forward, %.1e backward\n", cond, ytol, gtol);
    float *yg = download(tape_val(&t, y));
    snprintf(what, sizeof what, "%s forward", k->name);
    check_close(what, yg, yr, n, ytol, 1.0);

    /* running statistics after this call */
    double *rm = dvec((size_t)C), *rv = dvec((size_t)C);
    for (int c = 0; c < C; c++) {
        rm[c] = rm0[c];
        rv[c] = rv0[c];
    }
    if (k->bn && k->training)
        for (int c = 0; c < C; c++) {
            rm[c] = (1 - (double)k->momentum) * rm[c] + (double)k->momentum * mean[c];
            rv[c] = (1 - (double)k->momentum) * rv[c] + (double)k->momentum * var[c] * g.M / (g.M - 1);
        }

    /* backward: L = 0.5 sum (y - T)^2 [+ 0.5 sum (x - T2)^2] */
    float *T = randv((size_t)n, -1.5f, 1.5f), *T2 = randv((size_t)n, k->center - 1, k->center + 1);
    int Tv = tape_input(&t, upload_at(T, N, C, k->H, k->W, 3));
    int L = op_sqerr_sum(&t, y, Tv, 0.5f);
    if (k->xgrad == 2) {
        int T2v = tape_input(&t, upload_at(T2, N, C, k->H, k->W, 7));
        L = op_lincomb(&t, L, 1.0f, op_sqerr_sum(&t, xv, T2v, 0.5f), 1.0f);
    }
    tape_backward(&t, L);
    double *dy = dvec((size_t)n), *dx = dvec((size_t)n), *dgam = dvec((size_t)C), *dbet = dvec((size_t)C);
    /* the upstream gradient the op actually received: y as computed on the device, minus T (at
     * x ~ 1000 +- 1 the float32 mean shifts a whole channel by ~5e-5, which summed over 65536
     * elements would be a forward error, not a backward one) */
    for (long i = 0; i < n; i++) dy[i] = (double)yg[i] - T[i];
    for (int c = 0; c < C; c++) {
        dgam[c] = g0[nt.p[gi].off + c];
        dbet[c] = g0[nt.p[bi].off + c];
    }
    ref_backward(&g, x, dy, mean, var, eps, k->has_gamma ? gamma : NULL, through, dx, dgam, dbet);
    if (k->xgrad) {
        if (k->xgrad == 2)
            for (long i = 0; i < n; i++) dx[i] += (double)x[i] - T2[i];
        float *dxg = download(t.vars[xv].grad);
        snprintf(what, sizeof what, "%s dx%s", k->name, k->xgrad == 2 ? " (accumulated)" : "");
        check_close(what, dxg, dx, n, gtol, 1.0);
        free(dxg);
    }
    float *gall = xmalloc(nt.total * sizeof *gall);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, gall);
    if (k->has_gamma) {
        snprintf(what, sizeof what, "%s dgamma (added to existing)", k->name);
        check_close(what, gall + nt.p[gi].off, dgam, C, gtol, 1.0);
    }
    if (k->has_beta) {
        snprintf(what, sizeof what, "%s dbeta (added to existing)", k->name);
        check_close(what, gall + nt.p[bi].off, dbet, C, gtol, 1.0);
    }
    /* parameters not passed must keep their gradient */
    int untouched = 1;
    if (!k->has_gamma)
        for (int c = 0; c < C; c++) untouched &= gall[nt.p[gi].off + c] == g0[nt.p[gi].off + c];
    if (!k->has_beta)
        for (int c = 0; c < C; c++) untouched &= gall[nt.p[bi].off + c] == g0[nt.p[bi].off + c];
    CHECK(untouched, "%s: gradient of an unused parameter changed", k->name);

    if (k->bn) {
        /* a second call with other data: the running statistics fold in both batches (training) or
         * stay exactly as they were (evaluation) */
        float *x2 = randv((size_t)n, k->center - 0.5f * k->spread, k->center + 1.5f * k->spread);
        int x2v = tape_input(&t, upload_at(x2, N, C, k->H, k->W, 13));
        int y2 = op_batchnorm(&t, x2v, gv, bv, rmt, rvt, k->training, k->momentum, eps);
        (void)y2;
        float *rmg = download(rmt), *rvg = download(rvt);
        if (k->training) {
            double *m2 = dvec((size_t)C), *v2 = dvec((size_t)C);
            ref_stats(&g, x2, m2, v2);
            for (int c = 0; c < C; c++) {
                rm[c] = (1 - (double)k->momentum) * rm[c] + (double)k->momentum * m2[c];
                rv[c] = (1 - (double)k->momentum) * rv[c] + (double)k->momentum * v2[c] * g.M / (g.M - 1);
            }
            snprintf(what, sizeof what, "%s running_mean after 2 calls", k->name);
            check_close(what, rmg, rm, C, 2e-6, 1.0);
            snprintf(what, sizeof what, "%s running_var after 2 calls", k->name);
            check_close(what, rvg, rv, C, 1e-5, 1e-3);
            free(m2);
            free(v2);
        } else {
            int same = memcmp(rmg, rm0, (size_t)C * sizeof *rmg) == 0 && memcmp(rvg, rv0, (size_t)C * sizeof *rvg) == 0;
            CHECK(same, "%s: evaluation mode changed the running statistics", k->name);
            printf("%s %s running stats unchanged after 2 eval calls\n", same ? "ok  " : "FAIL", k->name);
        }
        free(x2);
        free(rmg);
        free(rvg);
    }

    free(gamma); free(beta); free(g0); free(x); free(rm0); free(rv0); free(mean); free(var); free(yr); free(yg);
    free(rm); free(rv); free(T); free(T2); free(dy); free(dx); free(dgam); free(dbet); free(gall);
    release_uploads();
    net_free(&nt);
    tape_free(&t);
}

/* ---- 2. finite differences through the tape ----
 *
 * x, gamma and beta are parameters of a net (perturbed on the host, analytic gradients land in
 * net.g); the loss is L = sqerr_sum(op(x), T) / numel against a random target T, so dL/dy = 2(y-T)/n is
 * random and non-zero (sum(op(x)) would have zero gradient w.r.t. x through the batch statistics).
 * The analytic gradient is the tape's (sqerr_sum on the device, backward through it and the op). The
 * finite differences run the op on the device in float32 with gradients off (nothing recorded) and
 * evaluate the same loss in double on the host from its output, which keeps the float32 rounding of
 * a 945-term sum out of the difference (checked: it equals the device loss to 1e-5).
 *
 * Step: h = 3e-2 * s, s the natural scale of the element: for x the standard deviation of the data
 * (the op sees x only through (x - mean) / std, so |x| ~ 3 would be the wrong scale), for gamma and
 * beta max(|w|, rms of the tensor). The difference is (L(w+) - L(w-)) / (w+ - w-) with w+- the float
 * values actually uploaded. Its errors, relative to g (below), the RMS of the gradient of the tensor
 * (for x, ~2e-3 = 2(y-T)/n per element, n = 945):
 *   - truncation ~ h^2 f'''/(6 f') ~ (h/s)^2 ~ 1e-3 of g for x (L is quadratic in gamma and beta,
 *     which central differences get exactly);
 *   - float32 rounding in the op: a perturbation changes how the batch statistics and every output
 *     round, moving L by ~1e-8 (outputs ~1e-7 relative, partly coherent over a group); divided by 2h
 *     this is what dominates at small steps (measured: up to 5e-3 of g at h = 1e-2 * s, falling as
 *     1/h). Summing L in float32 on the device would add a few ulp of L ~ 2.5 (~5e-7), i.e. ~1e-5
 *     absolute after dividing by 2h, ~5e-3 of g: hence the host-side double loss.
 * Over 60 seeds (TEST_NORM_SEED) the worst observed is 2e-3 of g. The comparison is
 * |fd - an| <= 1e-2 * max(|an|, g): 5x above that, far below what a wrong formula gives (a missing
 * term through the statistics, a wrong M, a factor error: ~1e-1 to O(1) of g).
 * With an activation in the node, a difference across its kink is not a derivative: an element whose
 * perturbation moves any output to the other side of 0 is skipped (and counted; at most half may be),
 * after retrying gamma and beta, which move a whole channel, with steps 10 and 100 times smaller (L is
 * quadratic in them between the kinks). Checked over 10 seeds. */

#define FD_MAX 40
#define FD_STEP 3e-2
#define FD_TOL 1e-2

typedef struct {
    int bn, training;
    norm_act act; /* an activation in the node (op_*_act), slope 0.2 for the leaky one */
    int res;      /* a residual in the node (op_*_add): parameter ri */
    net *n;
    int xi, gi, bi, ri;
    tensor rm, rv, target;
    const float *T;
    int y; /* the op's output in the last build */
    unsigned char *pos; /* with act: where the unperturbed output is > 0 (the activation's side of its kink) */
    int crossed;        /* with act: a build since the flag was cleared moved an output across the kink */
} fd_ctx;

static tape FT;

static int fd_build(fd_ctx *c, int grad_enabled) {
    tape_reset(&FT);
    FT.grad_enabled = grad_enabled;
    int x = tape_param(&FT, c->n, c->xi), g = tape_param(&FT, c->n, c->gi), b = tape_param(&FT, c->n, c->bi);
    float slope = c->act == NORM_ACT_LRELU ? 0.2f : 0.0f;
    if (c->res) {
        int r = tape_param(&FT, c->n, c->ri);
        c->y = c->bn ? op_batchnorm_add(&FT, x, g, b, c->rm, c->rv, c->training, 0.1f, 1e-5f, r)
                     : op_instancenorm_add(&FT, x, g, b, 1e-5f, r);
    } else {
        c->y = c->bn ? op_batchnorm_act(&FT, x, g, b, c->rm, c->rv, c->training, 0.1f, 1e-5f, c->act, slope)
                     : op_instancenorm_act(&FT, x, g, b, 1e-5f, c->act, slope);
    }
    return op_sqerr_sum(&FT, c->y, tape_input(&FT, c->target), 1.0f / (float)tnumel(c->target));
}

/* The same loss in double on the host from the op's float32 output of the last build. */
static double fd_host_loss(fd_ctx *c) {
    tensor yv = tape_val(&FT, c->y);
    size_t n = tnumel(yv);
    float *y = download(yv);
    double L = 0;
    for (size_t i = 0; i < n; i++) {
        L += ((double)y[i] - c->T[i]) * ((double)y[i] - c->T[i]);
        if (c->pos && (y[i] > 0.0f) != c->pos[i]) c->crossed = 1;
    }
    free(y);
    return L / n;
}

static double fd_loss(fd_ctx *c, float *w, size_t k, float v) {
    float old = w[k];
    w[k] = v;
    net_upload(c->n, w);
    w[k] = old;
    fd_build(c, 0);
    return fd_host_loss(c);
}

static void fd_case(const char *name, int bn, int training, norm_act act, int res, int N, int C, int H, int W) {
    net n;
    net_init(&n, cl, "fd");
    fd_ctx c = {.bn = bn, .training = training, .act = act, .res = res, .n = &n};
    c.xi = net_add(&n, "x", 4, (int[]){N, C, H, W});
    c.gi = net_add(&n, "gamma", 1, (int[]){C});
    c.bi = net_add(&n, "beta", 1, (int[]){C});
    if (res) c.ri = net_add(&n, "res", 4, (int[]){N, C, H, W});
    net_alloc(&n);
    long cnt = (long)N * C * H * W;
    float *w = xcalloc(n.total, sizeof *w), *an = xmalloc(n.total * sizeof *an);
    for (long i = 0; i < cnt; i++) w[n.p[c.xi].off + i] = unif(1, 5); /* 3 +- 2 */
    for (long i = 0; res && i < cnt; i++) w[n.p[c.ri].off + i] = unif(-1, 1);
    for (int i = 0; i < C; i++) {
        w[n.p[c.gi].off + i] = unif(0.5f, 1.5f) * (i % 2 ? -1 : 1);
        w[n.p[c.bi].off + i] = unif(-1, 1);
    }
    net_upload(&n, w);
    float *T = randv((size_t)cnt, -1.5f, 1.5f), *rm = randv((size_t)C, 2.5f, 3.5f), *rv = randv((size_t)C, 0.7f, 2);
    c.target = upload_at(T, N, C, H, W, 3);
    c.T = T;
    if (bn && !training) { /* evaluation mode: fixed statistics; training keeps none (mem NULL) */
        c.rm = upload_at(rm, C, 1, 1, 1, 1);
        c.rv = upload_at(rv, C, 1, 1, 1, 2);
    }
    net_zero_grad(&n);
    int L = fd_build(&c, 1);
    double L0 = tape_read_scalar(&FT, L);
    tape_backward(&FT, L);
    net_grad_settle(&n);
    clg_read(cl, n.g, 0, n.total, an);
    double Le = tape_read_scalar(&FT, fd_build(&c, 0));
    double Lh = fd_host_loss(&c);
    if (act != NORM_ACT_NONE) { /* the kink: differences across it are not derivatives (skipped, counted) */
        float *y0 = download(tape_val(&FT, c.y));
        c.pos = xmalloc((size_t)cnt);
        for (long i = 0; i < cnt; i++) c.pos[i] = y0[i] > 0.0f;
        free(y0);
    }
    CHECK(Le == L0 && fabs(Lh - L0) <= 1e-5 * L0, "%s: loss %.9g with gradients, %.9g without, %.9g on the host",
          name, L0, Le, Lh);
    printf("-- fd %s: loss %.7g, without gradients %.7g, on the host %.7g\n", name, L0, Le, Lh);
    for (int pi = 0; pi < n.np; pi++) {
        const param *p = &n.p[pi];
        int numel = (int)p->numel;
        const float *wp0 = w + p->off, *ap = an + p->off;
        double mean = 0, sd = 0, rms = 0, gs = 0;
        for (int i = 0; i < numel; i++) {
            mean += wp0[i];
            rms += (double)wp0[i] * wp0[i];
            gs += (double)ap[i] * ap[i];
        }
        mean /= numel;
        for (int i = 0; i < numel; i++) sd += (wp0[i] - mean) * (wp0[i] - mean);
        sd = sqrt(sd / numel);
        rms = sqrt(rms / numel);
        gs = sqrt(gs / numel);
        int *idx = xmalloc((size_t)numel * sizeof *idx);
        for (int i = 0; i < numel; i++) idx[i] = i;
        rng_shuffle(&R, idx, numel);
        int K = numel < FD_MAX ? numel : FD_MAX, at = -1, skipped = 0;
        double worst = 0, fdat = 0;
        for (int j = 0; j < K; j++) {
            size_t k = p->off + (size_t)idx[j];
            double s = pi == c.xi ? sd : fmax(fabs(w[k]), rms); /* res: L is quadratic in it, any scale */
            float vp = (float)(w[k] + FD_STEP * s), vm = (float)(w[k] - FD_STEP * s);
            c.crossed = 0;
            double fd = (fd_loss(&c, w, k, vp) - fd_loss(&c, w, k, vm)) / ((double)vp - vm);
            /* gamma or beta moves a whole channel: a smaller step crosses fewer outputs (L is quadratic in
             * them between the kinks, so the float32 rounding stays far below the tolerance) */
            for (double f = 0.1; c.crossed && pi != c.xi && f >= 0.01; f *= 0.1) {
                vp = (float)(w[k] + f * FD_STEP * s), vm = (float)(w[k] - f * FD_STEP * s);
                c.crossed = 0;
                fd = (fd_loss(&c, w, k, vp) - fd_loss(&c, w, k, vm)) / ((double)vp - vm);
            }
            if (c.crossed) {
                skipped++;
                continue;
            }
            double e = fabs(fd - an[k]) / fmax(fabs(an[k]), gs);
            if (!(e <= worst)) { /* NaN counts as worst */
                worst = e;
                at = j;
                fdat = fd;
            }
        }
        int ok = worst <= FD_TOL && gs > 0 && skipped <= K / 2; /* most elements compared */
        check_count++;
        if (!ok) check_failures++;
        printf("%s fd %-12s %-6s n=%-3d worst %.2e of max(|an|, rms %.2e) (tol %.0e)", ok ? "ok  " : "FAIL", name,
               p->name, K - skipped, worst, gs, FD_TOL);
        if (skipped) printf(", %d across the activation's kink skipped", skipped);
        if (!ok && at >= 0) printf("  at [%d] fd %.7g analytic %.7g", idx[at], fdat, (double)an[p->off + idx[at]]);
        printf("\n");
        free(idx);
    }
    net_upload(&n, w);
    free(c.pos);
    free(w); free(an); free(T); free(rm); free(rv);
    release_uploads();
    net_free(&n);
}

/* ---- 3. PyTorch itself (optional) ----
 * The same inputs through torch.nn.functional.batch_norm / instance_norm in float64 (forward,
 * backward of 0.5 sum (y - T)^2, running statistics after a second training call), run by
 * /usr/bin/python3 when it can import torch; skipped otherwise. Inputs and outputs go through raw
 * files in a temporary directory. */

static const char *torch_script =
    "import sys, array, torch\n"
    "import torch.nn.functional as F\n"
    "a = array.array('f'); a.frombytes(open(sys.argv[1], 'rb').read()); v = a.tolist(); pos = 0\n"
    "def take(n, shape=None):\n"
    "    global pos\n"
    "    t = torch.tensor(v[pos:pos + n], dtype=torch.float64); pos += n\n"
    "    return t.reshape(shape) if shape else t\n"
    "out = array.array('d')\n"
    "for _ in range(int(take(1)[0])):\n"
    "    kind, N, C, H, W = [int(z) for z in take(5)]\n"
    "    n = N * C * H * W\n"
    "    shape = (N, C, H, W) if H * W > 1 else (N, C)\n"
    "    x = take(n, shape).requires_grad_(); x2 = take(n, shape)\n"
    "    g = take(C).requires_grad_(); b = take(C).requires_grad_()\n"
    "    rm = take(C); rv = take(C); T = take(n, shape)\n"
    "    if kind == 2: y = F.instance_norm(x, weight=g, bias=b, eps=1e-5)\n"
    "    else: y = F.batch_norm(x, rm, rv, g, b, training=kind == 0, momentum=0.1, eps=1e-5)\n"
    "    (0.5 * ((y - T) ** 2).sum()).backward()\n"
    "    if kind != 2: F.batch_norm(x2, rm, rv, g.detach(), b.detach(), training=kind == 0, momentum=0.1, eps=1e-5)\n"
    "    for t in (y.detach(), x.grad, g.grad, b.grad, rm, rv): out.extend(t.reshape(-1).tolist())\n"
    "open(sys.argv[2], 'wb').write(out.tobytes())\n";

typedef struct {
    const char *name;
    int kind; /* 0 batch norm training, 1 batch norm evaluation, 2 instance norm */
    int N, C, H, W;
    float *x, *x2, *gamma, *beta, *rm, *rv, *T;
} tcase;

/* The device's results in torch's output order: y, dx, dgamma, dbeta, rm, rv (after the second call). */
static float *device_run(const tcase *k) {
    long n = (long)k->N * k->C * k->H * k->W;
    int C = k->C;
    float *res = xmalloc((size_t)(2 * n + 4 * C) * sizeof *res);
    tape t;
    tape_init(&t, cl);
    net nt;
    net_init(&nt, cl, "torch");
    int gi = net_add(&nt, "gamma", 1, (int[]){C}), bi = net_add(&nt, "beta", 1, (int[]){C});
    net_alloc(&nt);
    clg_write(cl, nt.w, nt.p[gi].off, (size_t)C, k->gamma);
    clg_write(cl, nt.w, nt.p[bi].off, (size_t)C, k->beta);
    int xv = tape_new(&t, k->N, C, k->H, k->W, 1);
    k_axpby(cl, tape_val(&t, xv), upload_at(k->x, k->N, C, k->H, k->W, 1), (size_t)n, 1.0f, 0.0f);
    tensor rm = upload_at(k->rm, C, 1, 1, 1, 2), rv = upload_at(k->rv, C, 1, 1, 1, 3);
    int g = tape_param(&t, &nt, gi), b = tape_param(&t, &nt, bi);
    int y = k->kind == 2 ? op_instancenorm(&t, xv, g, b, 1e-5f)
                         : op_batchnorm(&t, xv, g, b, rm, rv, k->kind == 0, 0.1f, 1e-5f);
    int L = op_sqerr_sum(&t, y, tape_input(&t, upload_at(k->T, k->N, C, k->H, k->W, 4)), 0.5f);
    tape_backward(&t, L);
    if (k->kind != 2)
        op_batchnorm(&t, tape_input(&t, upload_at(k->x2, k->N, C, k->H, k->W, 5)), g, b, rm, rv, k->kind == 0, 0.1f,
                     1e-5f);
    clg_read(cl, tape_val(&t, y).mem, tape_val(&t, y).off, (size_t)n, res);
    clg_read(cl, t.vars[xv].grad.mem, t.vars[xv].grad.off, (size_t)n, res + n);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, nt.p[gi].off, (size_t)C, res + 2 * n);
    clg_read(cl, nt.g, nt.p[bi].off, (size_t)C, res + 2 * n + C);
    clg_read(cl, rm.mem, rm.off, (size_t)C, res + 2 * n + 2 * C);
    clg_read(cl, rv.mem, rv.off, (size_t)C, res + 2 * n + 3 * C);
    release_uploads();
    net_free(&nt);
    tape_free(&t);
    return res;
}

static void torch_compare(void) {
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("skip torch comparison (/usr/bin/python3 cannot import torch)\n");
        return;
    }
    tcase cases[] = {
        {.name = "torch bn2d train", .kind = 0, .N = 3, .C = 5, .H = 7, .W = 9},
        {.name = "torch bn2d eval", .kind = 1, .N = 3, .C = 5, .H = 7, .W = 9},
        {.name = "torch bn1d train", .kind = 0, .N = 7, .C = 13, .H = 1, .W = 1},
        {.name = "torch in2d affine", .kind = 2, .N = 3, .C = 5, .H = 7, .W = 9},
    };
    const int nc = (int)(sizeof cases / sizeof cases[0]);
    char dir[] = "/tmp/test_norm_XXXXXX", pin[64], pout[64], ppy[64], cmd[256];
    if (!mkdtemp(dir)) die("mkdtemp failed");
    snprintf(pin, sizeof pin, "%s/in.bin", dir);
    snprintf(pout, sizeof pout, "%s/out.bin", dir);
    snprintf(ppy, sizeof ppy, "%s/ref.py", dir);
    FILE *f = fopen(ppy, "w");
    if (!f) die("cannot write %s", ppy);
    fputs(torch_script, f);
    fclose(f);
    f = fopen(pin, "wb");
    if (!f) die("cannot write %s", pin);
    float hdr = (float)nc;
    fwrite(&hdr, sizeof hdr, 1, f);
    for (int i = 0; i < nc; i++) {
        tcase *k = &cases[i];
        long n = (long)k->N * k->C * k->H * k->W;
        rgeom g = rgeometry(k->kind != 2, k->N, k->C, k->H * k->W);
        k->x = draw_x(&g, 3, 2);
        k->x2 = draw_x(&g, 3.5f, 1.5f);
        k->gamma = randv((size_t)k->C, 0.5f, 1.5f);
        k->beta = randv((size_t)k->C, -1, 1);
        k->rm = randv((size_t)k->C, 2.5f, 3.5f);
        k->rv = randv((size_t)k->C, 0.7f, 2);
        k->T = randv((size_t)n, -1.5f, 1.5f);
        float h[5] = {(float)k->kind, (float)k->N, (float)k->C, (float)k->H, (float)k->W};
        fwrite(h, sizeof(float), 5, f);
        fwrite(k->x, sizeof(float), (size_t)n, f);
        fwrite(k->x2, sizeof(float), (size_t)n, f);
        fwrite(k->gamma, sizeof(float), (size_t)k->C, f);
        fwrite(k->beta, sizeof(float), (size_t)k->C, f);
        fwrite(k->rm, sizeof(float), (size_t)k->C, f);
        fwrite(k->rv, sizeof(float), (size_t)k->C, f);
        fwrite(k->T, sizeof(float), (size_t)n, f);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", ppy, pin, pout);
    int rc = system(cmd);
    size_t len = 0;
    char err[512];
    double *ref = rc == 0 ? (double *)read_file(pout, &len, err, sizeof err) : NULL;
    CHECK(ref != NULL, "torch reference failed (exit %d)", rc);
    const double *r = ref;
    for (int i = 0; ref && i < nc; i++) {
        tcase *k = &cases[i];
        long n = (long)k->N * k->C * k->H * k->W;
        int C = k->C;
        float *got = device_run(k);
        char what[96];
        const char *part[6] = {"y", "dx", "dgamma", "dbeta", "running_mean", "running_var"};
        long cnt[6] = {n, n, C, C, C, C};
        double tol[6] = {1e-5, 1e-4, 1e-4, 1e-4, 2e-6, 1e-5};
        long at = 0;
        for (int p = 0; p < (k->kind == 2 ? 4 : 6); p++) {
            snprintf(what, sizeof what, "%s %s", k->name, part[p]);
            check_close(what, got + at, r + at, cnt[p], tol[p], 1.0);
            at += cnt[p];
        }
        r += 2 * n + 4 * C;
        free(got);
    }
    if (ref && (size_t)(r - ref) * sizeof(double) != len) {
        CHECK(0, "torch output has %zu bytes, expected %zu", len, (size_t)(r - ref) * sizeof(double));
    }
    for (int i = 0; i < nc; i++) {
        free(cases[i].x); free(cases[i].x2); free(cases[i].gamma); free(cases[i].beta);
        free(cases[i].rm); free(cases[i].rv); free(cases[i].T);
    }
    free(ref);
    unlink(pin);
    unlink(pout);
    unlink(ppy);
    rmdir(dir);
}

int main(void) {
    char err[2048];
    cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) { fprintf(stderr, "%s\n", err); return 1; }
    char d[512];
    clg_describe(cl, d, sizeof d);
    printf("device: %s\n", d);
    const char *seed = getenv("TEST_NORM_SEED"); /* another draw of every random input */
    R = rng_seq_make(seed ? strtoull(seed, NULL, 10) : 11, RNG_STREAM_TEST, 0);
    double t0 = now_seconds();
    /* name, bn, N C H W, gamma, beta, training, xgrad, center, spread, momentum */
    const ncase cases[] = {
        {"bn2d train", 1, 3, 5, 7, 9, 1, 1, 1, 1, 3, 2, 0.1f},
        {"bn2d train x2", 1, 3, 5, 7, 9, 1, 1, 1, 2, 3, 2, 0.1f},
        {"bn2d eval", 1, 3, 5, 7, 9, 1, 1, 0, 1, 3, 2, 0.1f},
        {"bn2d train plain", 1, 3, 5, 7, 9, 0, 0, 1, 1, 3, 2, 0.1f},
        {"bn2d train gamma", 1, 3, 5, 7, 9, 1, 0, 1, 1, 3, 2, 0.3f},
        {"bn2d train no-dx", 1, 3, 5, 7, 9, 1, 1, 1, 0, 3, 2, 0.1f},
        {"bn1d train", 1, 7, 13, 1, 1, 1, 1, 1, 1, 3, 2, 0.1f},
        {"bn1d eval", 1, 7, 13, 1, 1, 1, 1, 0, 2, 3, 2, 0.1f},
        {"bn1d train N2", 1, 2, 13, 1, 1, 1, 1, 1, 1, 3, 2, 0.1f},
        /* momentum 1: the running statistics are the batch's, a direct check of mean and variance */
        {"bn2d stress", 1, 16, 4, 64, 64, 1, 1, 1, 1, 1000, 1, 1.0f},
        {"in2d", 0, 3, 5, 7, 9, 0, 0, 0, 1, 3, 2, 0},
        {"in2d affine", 0, 3, 5, 7, 9, 1, 1, 0, 2, 3, 2, 0},
        {"in2d N1 affine", 0, 1, 4, 11, 13, 1, 1, 0, 1, 3, 2, 0},
        {"in2d no-dx", 0, 3, 5, 7, 9, 1, 1, 0, 0, 3, 2, 0},
        {"in2d stress", 0, 2, 3, 128, 128, 1, 0, 0, 1, 1000, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!test_small() || cases[i].N * cases[i].C * cases[i].H * cases[i].W <= 4096) run_case(&cases[i]);
    if (test_small()) { /* make test-oclgrind: the stress sizes, finite differences and torch are left out */
        clg_close(cl);
        TEST_END();
    }
    tape_init(&FT, cl);
    fd_case("bn2d train", 1, 1, NORM_ACT_NONE, 0, 3, 5, 7, 9);
    fd_case("bn2d eval", 1, 0, NORM_ACT_NONE, 0, 3, 5, 7, 9);
    fd_case("bn1d train", 1, 1, NORM_ACT_NONE, 0, 7, 13, 1, 1);
    fd_case("in2d", 0, 0, NORM_ACT_NONE, 0, 3, 5, 7, 9);
    fd_case("in2d N1", 0, 0, NORM_ACT_NONE, 0, 1, 4, 11, 13);
    fd_case("bn2d+lrelu", 1, 1, NORM_ACT_LRELU, 0, 3, 5, 7, 9);
    fd_case("in2d+relu", 0, 0, NORM_ACT_RELU, 0, 3, 5, 7, 9);
    fd_case("in2d+add", 0, 0, NORM_ACT_NONE, 1, 3, 5, 7, 9);
    fd_case("bn2d+add", 1, 1, NORM_ACT_NONE, 1, 2, 4, 5, 7);
    tape_free(&FT);
    torch_compare();
    printf("%.1f s\n", now_seconds() - t0);
    clg_close(cl);
    TEST_END();
}
