/* The elem op family (host/ops_elem.h): leaky_relu, tanh, elu, dropout, upsample_nearest2x, avgpool2d,
 * concat_channels, slice_channels, add, scale, sum, bce_logits_sum, absdiff_sum (L1) and net_clip_weights.
 *
 * Part 1, against a plain C double-precision reference, forward and backward for every input that
 * takes a gradient, on random non-zero inputs with odd sizes (N 3, C 5, H 7, W 9). Every input lives
 * at an odd offset of a buffer of its own, and its gradient at an odd offset of another buffer that
 * starts filled with NaN: the first gradient write (beta 0) must overwrite it. The upstream gradient
 * comes from L = 0.5 * sum (y - T)^2 with random T (dL/dy = y - T), or, for the scalar ops, from
 * lincomb(s, 0.7, s, 0.5) (upstream 1.2, read from device memory and accumulated over two paths).
 * The reference of a backward takes the device's y for dL/dy = y - T, so it tests the backward alone.
 * Tolerances (relative error against max(|ref|, floor)): copies and single roundings 1e-6, floor 1e-3
 * (float32 rounding is 6e-8 per operation); exp/expm1/tanh 1e-5 (OpenCL allows 3-5 ulp; tanh's
 * backward 1e-4, see below); sums of a few O(1) values of either sign 1e-5 with floor 0.1 (SUM_FLOOR:
 * their absolute rounding error is ~1e-7 however small the result); full reductions 1e-5 relative to
 * scale * sum |term| (the conditioning of the sum). Exact copies (upsample, concat forward) and zeros
 * must match exactly.
 *
 * Part 2, dropout: the mask equals the host's Philox draw for (seed, RNG_STREAM_DROPOUT, step),
 * repeats for the same (seed, step), differs for another step or seed (in about 2p(1-p) of the
 * elements, as independent masks), keeps a fraction within 5 sigma of 1-p, scales kept values by
 * 1/(1-p), and the backward uses the forward's mask; evaluation mode and p = 0 are the identity, p = 1
 * gives zeros.
 *
 * Part 3, finite differences through the tape: every input is a parameter of a net, so one element
 * is perturbed on the host (net_upload) and the whole forward re-run on the device; the loss is the
 * tape's scalar (0.5 * sum (y - T)^2 with a random T for the non-scalar ops, the op itself for
 * bce_logits); the analytic gradient is what tape_backward added into net.g (which starts non-zero,
 * so an op that overwrote a parameter gradient would fail). Sizes N 2, C 3, H 5, W 7 (x2 of concat:
 * C 2); every element is checked, by central differences (L(w+) - L(w-)) / (w+ - w-) with w+- = w +- h
 * rounded to float32 (the values actually uploaded), h = 1e-2 * max(|w|, rms(w)).
 * Kinks: inputs are drawn with 0.1 <= |x| <= 2.5 (4 for bce), so h <= 0.025 and 3h < 0.1: no
 * perturbation crosses 0, where leaky_relu and elu (alpha 1.3) have their kinks.
 * The errors of the difference:
 *   - truncation h^2 L'''/6: zero for upsample, avgpool and concat (linear ops: L is quadratic in the
 *     input, central differences are exact), relative ~1e-4..1e-3 for tanh, elu, bce at h <= 0.04;
 *   - float32 rounding of the loss: the forward is deterministic, but moving w changes how the
 *     reduction rounds, a few ulp of |L| (L ~ 10..1200 here, ulp 1e-6..1.2e-4), divided by 2h.
 * Both come to ~1e-3 of the gradient's RMS at most (the worst observed, printed on every line, is
 * 2.4e-3 over 21 input seeds). So the check is |fd - an| <= 1e-2 * max(|an|, g), g the RMS of the tensor's analytic
 * gradient: several times above those errors, far below what a wrong gradient gives (a missed 1/k^2
 * is a factor 4 or 9, the wrong side of a kink a factor slope, a shifted pooling window a gradient on
 * the wrong elements, a dropped term of the 2x2 upsampling sum ~0.3, a missed accumulation the size
 * of the lost path). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

#ifndef TEST_ELEM_SEED
#define TEST_ELEM_SEED 11 /* the inputs' seed (-DTEST_ELEM_SEED=... to try others) */
#endif

static float *randv(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = unif(lo, hi);
    return v;
}

static float *download(tensor t) { return dev_download(cl, t); }


static float *grad_of(tape *t, int v) { return download(t->vars[v].grad); }

/* L = 0.5 * sum (y - T)^2 with random T: dL/dy = y - T, referenced from the device's y (so a backward
 * check tests the backward alone, given its upstream gradient). *dy_ref gets y - T. */
static int upstream_loss(tape *t, int y, double **dy_ref) {
    tensor yv = tape_val(t, y);
    size_t n = tnumel(yv);
    float *T = randv(n, -1, 1), *yg = download(yv);
    int tv = tape_input(t, upload_at(T, yv.n, yv.c, yv.h, yv.w, 3));
    *dy_ref = dvec(n);
    for (size_t i = 0; i < n; i++) (*dy_ref)[i] = (double)yg[i] - T[i];
    free(T);
    free(yg);
    return op_sqerr_sum(t, y, tv, 0.5f);
}

enum { N_ = 3, C_ = 5, H_ = 7, W_ = 9, NUMEL = N_ * C_ * H_ * W_ };

/* Sums of a few O(1) values of either sign (pooling windows, upsampled gradients, two gradient paths)
 * have an absolute rounding error of ~1e-7 however small the result: compared relative to max(|ref|, 0.1). */
#define SUM_FLOOR 0.1

/* ================================ part 1: references ================================ */

typedef struct {
    const char *name;
    int (*op)(tape *, int, float);
    double (*f)(double, double), (*df)(double, double);
    float a;
    double ftol, btol; /* forward and backward tolerances */
} unary_case;

static int op_tanh_a(tape *t, int x, float a) { (void)a; return op_tanh(t, x); }
static double leaky_f(double x, double a) { return x > 0 ? x : a * x; }
static double leaky_df(double x, double a) { return x > 0 ? 1 : a; }
static double tanh_f(double x, double a) { (void)a; return tanh(x); }
static double tanh_df(double x, double a) { (void)a; return 1 - tanh(x) * tanh(x); }
static double elu_f(double x, double a) { return x > 0 ? x : a * expm1(x); }
static double elu_df(double x, double a) { return x > 0 ? 1 : a * exp(x); }

static void test_unary(const unary_case *u) {
    tape t;
    tape_init(&t, cl);
    float *x = randnz(NUMEL, 0.01f, 3.0f);
    int xv = grad_leaf(&t, x, N_, C_, H_, W_, 37, 13);
    int y = u->op(&t, xv, u->a);
    double *yr = dvec(NUMEL);
    for (int i = 0; i < NUMEL; i++) yr[i] = u->f(x[i], u->a);
    float *yg = download(tape_val(&t, y));
    char what[96];
    snprintf(what, sizeof what, "%s forward 3x5x7x9", u->name);
    check_close(what, yg, yr, NUMEL, u->ftol, 1e-3);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double *dx = dvec(NUMEL);
    for (int i = 0; i < NUMEL; i++) dx[i] = dy[i] * u->df(x[i], u->a);
    float *dxg = grad_of(&t, xv);
    snprintf(what, sizeof what, "%s backward (over NaN-filled dx)", u->name);
    check_close(what, dxg, dx, NUMEL, u->btol, 1e-3);
    free(x); free(yr); free(yg); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

/* At exactly 0 the gradient is taken from the negative side, as PyTorch: slope for leaky_relu, alpha
 * for elu; the outputs are exactly 0. */
static void test_kink_at_zero(void) {
    const float slope = 0.2f, alpha = 1.3f;
    float x[7] = {0.0f, -0.0f, 0.5f, 0.0f, -0.5f, 0.0f, 0.0f};
    for (int which = 0; which < 2; which++) {
        tape t;
        tape_init(&t, cl);
        int xv = grad_leaf(&t, x, 1, 7, 1, 1, 5, 9);
        int y = which ? op_elu(&t, xv, alpha) : op_leaky_relu(&t, xv, slope);
        /* upstream 1.2 everywhere: sum with lincomb */
        int s = op_sum(&t, y, 1.0f);
        tape_backward(&t, op_lincomb(&t, s, 0.7f, s, 0.5f));
        float *yg = download(tape_val(&t, y)), *dxg = grad_of(&t, xv);
        double yr[7], dxr[7];
        for (int i = 0; i < 7; i++) {
            yr[i] = which ? elu_f(x[i], alpha) : leaky_f(x[i], slope);
            dxr[i] = 1.2 * (x[i] > 0 ? 1.0 : which ? alpha * exp(x[i]) : slope);
        }
        /* floor 1e-30: the zeros must come out exactly 0 */
        check_close(which ? "elu at 0: y (0 -> exactly 0)" : "leaky_relu at 0: y (0 -> exactly 0)", yg, yr, 7, 1e-6,
                    1e-30);
        check_close(which ? "elu at 0: dx = alpha*dy (negative side)" : "leaky_relu at 0: dx = slope*dy (neg side)",
                    dxg, dxr, 7, 1e-6, 1e-3);
        free(yg); free(dxg);
        tape_free(&t);
        release_bufs();
    }
}

/* ELU's negative side over its whole range (kernels/act.cl's own exp): against alpha*expm1 within
 * 1.5e-7*alpha absolute (PyTorch's exp(x) - 1 is within 6e-8), -alpha exactly where exp underflows,
 * NaN stays NaN. A wrong polynomial coefficient or reduction constant fails it. */
static void test_elu_range(void) {
    const float alpha = 1.3f;
    enum { NX = 4099 };
    static float x[NX];
    for (int i = 0; i < NX - 3; i++) x[i] = -100.0f * powf((float)i / (NX - 4), 3.0f); /* dense near 0 */
    x[NX - 3] = -INFINITY, x[NX - 2] = NAN, x[NX - 1] = -1e-30f;
    tape t;
    tape_init(&t, cl);
    int xv = grad_leaf(&t, x, 1, 1, 1, NX, 1, 1);
    float *y = download(tape_val(&t, op_elu(&t, xv, alpha)));
    double worst = 0;
    int bad = 0;
    for (int i = 0; i < NX; i++) {
        if (isnan(x[i])) {
            bad += !isnan(y[i]);
            continue;
        }
        double e = fabs(y[i] - alpha * expm1((double)x[i]));
        worst = e > worst ? e : worst;
        bad += e > 1.5e-7 * alpha || (x[i] < -90.0f && y[i] != -alpha);
    }
    CHECK(!bad, "elu over [-100, 0]: %d of %d wrong (worst abs err %.3g)", bad, NX, worst);
    printf("%s elu 1.3 over [-100, 0], -inf, NaN n=%d max abs err %.2e (tol %.2e), -alpha below -90, NaN kept\n",
           bad ? "FAIL" : "ok  ", NX, worst, 1.5e-7 * alpha);
    free(y);
    tape_free(&t);
    release_bufs();
}

static void test_upsample(void) {
    tape t;
    tape_init(&t, cl);
    float *x = randnz(NUMEL, 0.05f, 2.0f);
    int xv = grad_leaf(&t, x, N_, C_, H_, W_, 41, 7);
    int y = op_upsample_nearest2x(&t, xv);
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N_ && yt.c == C_ && yt.h == 2 * H_ && yt.w == 2 * W_, "upsample shape %dx%dx%dx%d", yt.n, yt.c,
          yt.h, yt.w);
    size_t ny = tnumel(yt);
    double *yr = dvec(ny);
    for (int p = 0; p < N_ * C_; p++)
        for (int oh = 0; oh < 2 * H_; oh++)
            for (int ow = 0; ow < 2 * W_; ow++)
                yr[(p * 2 * H_ + oh) * 2 * W_ + ow] = x[(p * H_ + oh / 2) * W_ + ow / 2];
    float *yg = download(yt);
    check_close("upsample_nearest2x forward 3x5x7x9 (exact)", yg, yr, (long)ny, 0, 1e-30);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double *dx = dvec(NUMEL);
    for (int p = 0; p < N_ * C_; p++)
        for (int oh = 0; oh < 2 * H_; oh++)
            for (int ow = 0; ow < 2 * W_; ow++) dx[(p * H_ + oh / 2) * W_ + ow / 2] += dy[(p * 2 * H_ + oh) * 2 * W_ + ow];
    float *dxg = grad_of(&t, xv);
    check_close("upsample_nearest2x backward (sum of 4)", dxg, dx, NUMEL, 1e-5, SUM_FLOOR);
    free(x); free(yr); free(yg); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

static void test_avgpool(int k, int s) {
    tape t;
    tape_init(&t, cl);
    float *x = randnz(NUMEL, 0.05f, 2.0f);
    int xv = grad_leaf(&t, x, N_, C_, H_, W_, 29, 31);
    int y = op_avgpool2d(&t, xv, k, s);
    int oh = (H_ - k) / s + 1, ow = (W_ - k) / s + 1;
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N_ && yt.c == C_ && yt.h == oh && yt.w == ow, "avgpool shape %dx%dx%dx%d, want %dx%d", yt.n,
          yt.c, yt.h, yt.w, oh, ow);
    size_t ny = tnumel(yt);
    double *yr = dvec(ny);
    for (int p = 0; p < N_ * C_; p++)
        for (int a = 0; a < oh; a++)
            for (int b = 0; b < ow; b++) {
                double acc = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) acc += x[(p * H_ + a * s + i) * W_ + b * s + j];
                yr[(p * oh + a) * ow + b] = acc / (k * k);
            }
    float *yg = download(yt);
    char what[96];
    snprintf(what, sizeof what, "avgpool2d k%d s%d forward 3x5x7x9 -> %dx%d", k, s, oh, ow);
    check_close(what, yg, yr, (long)ny, 1e-5, SUM_FLOOR);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double *dx = dvec(NUMEL);
    for (int p = 0; p < N_ * C_; p++)
        for (int a = 0; a < oh; a++)
            for (int b = 0; b < ow; b++)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                        dx[(p * H_ + a * s + i) * W_ + b * s + j] += dy[(p * oh + a) * ow + b] / (k * k);
    float *dxg = grad_of(&t, xv);
    snprintf(what, sizeof what, "avgpool2d k%d s%d backward", k, s);
    check_close(what, dxg, dx, NUMEL, 1e-5, SUM_FLOOR);
    free(x); free(yr); free(yg); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

/* Both inputs want a gradient; then only b does (a is a plain input). */
static void test_concat(void) {
    const int CB = 3, CY = C_ + CB, NB = N_ * CB * H_ * W_, NY = N_ * CY * H_ * W_;
    for (int only_b = 0; only_b < 2; only_b++) {
        tape t;
        tape_init(&t, cl);
        float *a = randnz(NUMEL, 0.05f, 2.0f), *b = randnz(NB, 0.05f, 2.0f);
        int av = only_b ? tape_input(&t, upload_at(a, N_, C_, H_, W_, 17)) : grad_leaf(&t, a, N_, C_, H_, W_, 17, 5);
        int bv = grad_leaf(&t, b, N_, CB, H_, W_, 23, 3);
        int y = op_concat_channels(&t, av, bv);
        tensor yt = tape_val(&t, y);
        CHECK(yt.n == N_ && yt.c == CY && yt.h == H_ && yt.w == W_, "concat shape");
        double *yr = dvec(NY);
        for (int n = 0; n < N_; n++)
            for (int c = 0; c < CY; c++)
                for (int i = 0; i < H_ * W_; i++)
                    yr[(n * CY + c) * H_ * W_ + i] =
                        c < C_ ? a[(n * C_ + c) * H_ * W_ + i] : b[(n * CB + c - C_) * H_ * W_ + i];
        float *yg = download(yt);
        if (!only_b) check_close("concat_channels forward 3x5x7x9 ++ 3x3x7x9", yg, yr, NY, 0, 1e-30);
        double *dy;
        tape_backward(&t, upstream_loss(&t, y, &dy));
        double *da = dvec(NUMEL), *db = dvec(NB);
        for (int n = 0; n < N_; n++)
            for (int c = 0; c < CY; c++)
                for (int i = 0; i < H_ * W_; i++) {
                    double g = dy[(n * CY + c) * H_ * W_ + i];
                    if (c < C_) da[(n * C_ + c) * H_ * W_ + i] = g;
                    else db[(n * CB + c - C_) * H_ * W_ + i] = g;
                }
        float *dbg = grad_of(&t, bv);
        if (only_b) {
            check_close("concat_channels backward db (a no grad)", dbg, db, NB, 1e-6, 1e-3);
            CHECK(!t.vars[av].grad.mem, "concat: a plain input got a gradient");
        } else {
            float *dag = grad_of(&t, av);
            check_close("concat_channels backward da", dag, da, NUMEL, 1e-6, 1e-3);
            check_close("concat_channels backward db", dbg, db, NB, 1e-6, 1e-3);
            free(dag);
        }
        free(a); free(b); free(yr); free(yg); free(dy); free(da); free(db); free(dbg);
        tape_free(&t);
        release_bufs();
    }
}

/* slice_channels: y = x[:, 1:3] + x[:, 2:4] of a 5-channel x, so channel 2's gradient is written by
 * one slice and added to by the other, and channels 0 and 4 get exact zeros. */
static void test_slice(void) {
    const int CX = 5, NX = N_ * CX * H_ * W_, HW = H_ * W_, NY = N_ * 2 * HW;
    tape t;
    tape_init(&t, cl);
    float *x = randnz(NX, 0.05f, 2.0f);
    int xv = grad_leaf(&t, x, N_, CX, H_, W_, 13, 7);
    int s1 = op_slice_channels(&t, xv, 1, 2), s2 = op_slice_channels(&t, xv, 2, 2);
    tensor st = tape_val(&t, s1);
    CHECK(st.n == N_ && st.c == 2 && st.h == H_ && st.w == W_, "slice shape");
    int y = op_add(&t, s1, s2);
    double *yr = dvec(NY);
    for (int n = 0; n < N_; n++)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < HW; i++)
                yr[(n * 2 + c) * HW + i] = (double)x[(n * CX + 1 + c) * HW + i] + x[(n * CX + 2 + c) * HW + i];
    float *yg = download(tape_val(&t, y));
    check_close("slice_channels forward x[1:3] + x[2:4] of 3x5x7x9", yg, yr, NY, 1e-6, 1e-30);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double *dx = dvec(NX);
    for (int n = 0; n < N_; n++)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < HW; i++) {
                dx[(n * CX + 1 + c) * HW + i] += dy[(n * 2 + c) * HW + i];
                dx[(n * CX + 2 + c) * HW + i] += dy[(n * 2 + c) * HW + i];
            }
    float *dxg = grad_of(&t, xv);
    check_close("slice_channels backward (overlap adds, outside is 0)", dxg, dx, NX, 1e-6, 1e-3);
    free(x); free(yr); free(yg); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

/* add(a, b), add(x, x) (the second gradient write accumulates), scale. */
static void test_add_scale(void) {
    tape t;
    tape_init(&t, cl);
    const float sc = -1.7f;
    float *a = randnz(NUMEL, 0.05f, 2.0f), *b = randnz(NUMEL, 0.05f, 2.0f), *x = randnz(NUMEL, 0.05f, 2.0f);
    int av = grad_leaf(&t, a, N_, C_, H_, W_, 19, 1), bv = grad_leaf(&t, b, N_, C_, H_, W_, 7, 27);
    int xv = grad_leaf(&t, x, N_, C_, H_, W_, 43, 11);
    int y1 = op_add(&t, av, bv), y2 = op_add(&t, xv, xv), y3 = op_scale(&t, bv, sc);
    double *r1 = dvec(NUMEL), *r2 = dvec(NUMEL), *r3 = dvec(NUMEL);
    for (int i = 0; i < NUMEL; i++) {
        r1[i] = (double)a[i] + b[i];
        r2[i] = 2.0 * x[i];
        r3[i] = (double)sc * b[i];
    }
    float *g1 = download(tape_val(&t, y1)), *g2 = download(tape_val(&t, y2)), *g3 = download(tape_val(&t, y3));
    check_close("add forward 3x5x7x9", g1, r1, NUMEL, 1e-6, 1e-3);
    check_close("add(x, x) forward", g2, r2, NUMEL, 1e-6, 1e-3);
    check_close("scale -1.7 forward", g3, r3, NUMEL, 1e-6, 1e-3);
    double *d1, *d2, *d3;
    int L1 = upstream_loss(&t, y1, &d1), L2 = upstream_loss(&t, y2, &d2), L3 = upstream_loss(&t, y3, &d3);
    tape_backward(&t, op_lincomb(&t, op_lincomb(&t, L1, 1, L2, 1), 1, L3, 1));
    double *da = dvec(NUMEL), *db = dvec(NUMEL), *dx = dvec(NUMEL);
    for (int i = 0; i < NUMEL; i++) {
        da[i] = d1[i];
        db[i] = d1[i] + sc * d3[i]; /* b feeds add and scale */
        dx[i] = 2 * d2[i];
    }
    float *dag = grad_of(&t, av), *dbg = grad_of(&t, bv), *dxg = grad_of(&t, xv);
    check_close("add backward da", dag, da, NUMEL, 1e-6, 1e-3);
    check_close("add + scale backward db (two paths)", dbg, db, NUMEL, 1e-5, SUM_FLOOR);
    check_close("add(x, x) backward dx = 2 dy (accumulated)", dxg, dx, NUMEL, 1e-6, 1e-3);
    free(a); free(b); free(x); free(r1); free(r2); free(r3); free(g1); free(g2); free(g3); free(d1); free(d2);
    free(d3); free(da); free(db); free(dx); free(dag); free(dbg); free(dxg);
    tape_free(&t);
    release_bufs();
}

static void test_sum(void) {
    tape t;
    tape_init(&t, cl);
    const float scale = 1.0f / NUMEL;
    float *x = randnz(NUMEL, 0.05f, 2.0f);
    int xv = grad_leaf(&t, x, N_, C_, H_, W_, 53, 9);
    int s = op_sum(&t, xv, scale);
    double ref = 0, mag = 0;
    for (int i = 0; i < NUMEL; i++) {
        ref += x[i];
        mag += fabs(x[i]);
    }
    ref *= scale;
    mag *= scale;
    float got = tape_read_scalar(&t, s);
    check_close("sum forward (scale 1/N; rel. to scale*sum|x|)", &got, &ref, 1, 1e-5, mag);
    tape_backward(&t, op_lincomb(&t, s, 0.7f, s, 0.5f));
    double *dx = dvec(NUMEL);
    for (int i = 0; i < NUMEL; i++) dx[i] = 1.2 * scale;
    float *dxg = grad_of(&t, xv);
    check_close("sum backward dx = 1.2*scale (upstream on device)", dxg, dx, NUMEL, 1e-6, 1e-9);
    free(x); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

/* L1: scale * sum |a - b| with both a and b wanting gradients (b's is the negated one); some
 * elements of b equal a exactly, where the gradient is 0 (torch.sign). */
static void test_absdiff(void) {
    tape t;
    tape_init(&t, cl);
    const float scale = 0.37f / NUMEL;
    float *a = randnz(NUMEL, 0.05f, 2.0f), *b = randnz(NUMEL, 0.05f, 2.0f);
    for (int i = 0; i < NUMEL; i += 17) b[i] = a[i];
    int av = grad_leaf(&t, a, N_, C_, H_, W_, 31, 1), bv = grad_leaf(&t, b, N_, C_, H_, W_, 7, 1);
    int s = op_absdiff_sum(&t, av, bv, scale);
    double ref = 0, mag = 0;
    double *da = dvec(NUMEL), *db = dvec(NUMEL);
    for (int i = 0; i < NUMEL; i++) {
        double d = (double)a[i] - b[i];
        ref += fabs(d);
        mag += fabs(a[i]) + fabs(b[i]);
        da[i] = 2.0 * scale * (d > 0 ? 1 : d < 0 ? -1 : 0); /* upstream 2: the loss is used twice */
        db[i] = -da[i];
    }
    ref *= scale;
    mag *= scale;
    float got = tape_read_scalar(&t, s);
    check_close("absdiff (L1) forward, ties included (rel. to scale*sum(|a|+|b|))", &got, &ref, 1, 1e-5, mag);
    tape_backward(&t, op_lincomb(&t, s, 1.5f, s, 0.5f));
    float *dag = grad_of(&t, av), *dbg = grad_of(&t, bv);
    check_close("absdiff backward da = scale*sign(a-b), 0 at ties", dag, da, NUMEL, 1e-6, 1e-9);
    check_close("absdiff backward db = -da", dbg, db, NUMEL, 1e-6, 1e-9);
    free(a); free(b); free(da); free(db); free(dag); free(dbg);
    tape_free(&t);
    release_bufs();
}

static double bce_term(double z, double y) { return fmax(z, 0) - z * y + log1p(exp(-fabs(z))); }
static double sigm(double z) { return 1 / (1 + exp(-z)); }

/* bce_logits on a tensor with some |z| = 40 and 100, with a target tensor (which wants a gradient
 * but must get none) and with constant targets 1 and 0; then single elements at large |z|. */
static void test_bce_logits(void) {
    const float scale = 0.37f;
    float *z = randnz(NUMEL, 0.05f, 6.0f), *y = randv(NUMEL, 0, 1);
    const float big[][2] = {{40, 1}, {-40, 1}, {40, 0}, {-40, 0}, {40, 0.3f}, {-40, 0.3f}, {100, 1}, {-100, 0},
                            {-100, 1}, {100, 0.5f}, {0.5f, 0.7f}, {-3, 0.2f}, {1e-3f, 0.5f}};
    const int NBIG = (int)(sizeof big / sizeof big[0]);
    for (int i = 0; i < NBIG; i++) { /* spread the large ones over the tensor */
        z[i * 71] = big[i][0];
        y[i * 71] = big[i][1];
    }
    for (int mode = 0; mode < 3; mode++) { /* target tensor, yconst 1, yconst 0 */
        tape t;
        tape_init(&t, cl);
        float yc = mode == 1 ? 1.0f : 0.0f;
        int zv = grad_leaf(&t, z, N_, C_, H_, W_, 61, 15);
        int tv = mode == 0 ? grad_leaf(&t, y, N_, C_, H_, W_, 21, 33) : -1;
        int L = op_bce_logits_sum(&t, zv, tv, yc, scale);
        double ref = 0;
        double *dz = dvec(NUMEL);
        for (int i = 0; i < NUMEL; i++) {
            double yi = mode == 0 ? y[i] : yc;
            ref += bce_term(z[i], yi);
            dz[i] = 1.2 * scale * (sigm(z[i]) - yi);
        }
        ref *= scale; /* every term >= 0: the value is its own conditioning scale */
        float got = tape_read_scalar(&t, L);
        const char *names[3][2] = {{"bce_logits forward, target tensor, |z| to 100", "bce_logits backward dz"},
                                   {"bce_logits forward, yconst 1", "bce_logits backward dz, yconst 1"},
                                   {"bce_logits forward, yconst 0", "bce_logits backward dz, yconst 0"}};
        CHECK(isfinite(got), "bce_logits value not finite");
        check_close(names[mode][0], &got, &ref, 1, 1e-5, 1e-3);
        tape_backward(&t, op_lincomb(&t, L, 0.7f, L, 0.5f));
        float *dzg = grad_of(&t, zv);
        /* sigmoid(z) - y cancels: an absolute error ~6e-8 of the O(1) terms, so relative to 0.1 * 1.2*scale */
        check_close(names[mode][1], dzg, dz, NUMEL, 1e-5, 0.12 * scale);
        if (mode == 0) {
            float *tg = grad_of(&t, tv);
            int untouched = t.vars[tv].grad_state == 0;
            for (int i = 0; i < NUMEL; i++) untouched &= isnan(tg[i]);
            printf("%s bce_logits target: no gradient written\n", untouched ? "ok  " : "FAIL");
            CHECK(untouched, "bce_logits wrote a gradient into the target");
            free(tg);
        }
        free(dz); free(dzg);
        tape_free(&t);
        release_bufs();
    }
    /* one element at a time: each term and its gradient, to full relative precision even where the term is
     * 4e-18 (z = 40, y = 1) */
    float got[32], gotd[32];
    double ref[32], refd[32];
    for (int i = 0; i < NBIG; i++) {
        tape t;
        tape_init(&t, cl);
        int zv = grad_leaf(&t, &big[i][0], 1, 1, 1, 1, 3, 5);
        int tv = tape_input(&t, upload_at(&big[i][1], 1, 1, 1, 1, 7));
        int L = op_bce_logits_sum(&t, zv, tv, 0, 1.0f);
        got[i] = tape_read_scalar(&t, L);
        ref[i] = bce_term(big[i][0], big[i][1]);
        tape_backward(&t, L);
        clg_read(cl, t.vars[zv].grad.mem, t.vars[zv].grad.off, 1, &gotd[i]);
        refd[i] = sigm(big[i][0]) - big[i][1];
        tape_free(&t);
        release_bufs();
    }
    int finite = 1;
    for (int i = 0; i < NBIG; i++) finite &= isfinite(got[i]) && isfinite(gotd[i]);
    CHECK(finite, "bce_logits single terms not finite");
    check_close("bce_logits single terms z=+-40,+-100 (rel.)", got, ref, NBIG, 1e-5, 1e-30);
    check_close("bce_logits single-term gradients", gotd, refd, NBIG, 1e-5, 1e-2);
    free(z); free(y);
}

/* net_clip_weights: every weight clamped to [-c, c] bit-exactly, others untouched, NaN kept. */
static void test_clip(void) {
    net n;
    net_init(&n, cl, "clip");
    net_add(&n, "w", 2, (int[]){5, 7});
    net_add(&n, "b", 1, (int[]){93});
    net_add(&n, "k", 4, (int[]){3, 5, 7, 9});
    net_alloc(&n);
    const float c = 0.05f;
    float *w = xcalloc(n.total, sizeof *w);
    for (int i = 0; i < n.np; i++)
        for (size_t k = 0; k < n.p[i].numel; k++) w[n.p[i].off + k] = unif(-0.2f, 0.2f);
    w[n.p[0].off] = c;
    w[n.p[0].off + 1] = -c;
    w[n.p[1].off + 3] = nextafterf(c, 1);
    w[n.p[2].off + 5] = NAN;
    net_upload(&n, w);
    net_clip_weights(&n, c);
    float *got = xmalloc(n.total * sizeof *got);
    net_download(&n, got);
    long bad = 0, clamped = 0;
    for (size_t i = 0; i < n.total; i++) {
        float r = w[i] < -c ? -c : w[i] > c ? c : w[i];
        clamped += r != w[i];
        if (isnan(r) ? !isnan(got[i]) : memcmp(&r, &got[i], sizeof r) != 0) bad++;
    }
    printf("%s net_clip_weights c=%g: %zu floats, %ld clamped, %ld not bit-exact, NaN kept %s\n",
           bad ? "FAIL" : "ok  ", c, n.total, clamped, bad, isnan(got[n.p[2].off + 5]) ? "yes" : "no");
    CHECK(bad == 0 && clamped > 100, "weight clipping: %ld mismatches", bad);
    free(w); free(got);
    net_free(&n);
}

/* ================================ part 2: dropout ================================ */

static void test_dropout(void) {
    const int DN = 4, DC = 7, DH = 61, DW = 59, DNUM = DN * DC * DH * DW;
    const float p = 0.3f;
    const uint64_t seed = 0x0123456789abcdefULL;
    const uint32_t step = 5 * 16 + 2;
    tape t;
    tape_init(&t, cl);
    float *x = randnz(DNUM, 0.5f, 2.0f);
    int xv = grad_leaf(&t, x, DN, DC, DH, DW, 29, 3);
    int y1 = op_dropout(&t, xv, p, 1, seed, step);
    int y2 = op_dropout(&t, xv, p, 1, seed, step);     /* same seed and step */
    int y3 = op_dropout(&t, xv, p, 1, seed, step + 1); /* another step */
    int y4 = op_dropout(&t, xv, p, 1, seed + 1, step); /* another seed */
    float *g1 = download(tape_val(&t, y1)), *g2 = download(tape_val(&t, y2)), *g3 = download(tape_val(&t, y3)),
          *g4 = download(tape_val(&t, y4));
    /* the mask from the host's Philox */
    rng_seq r = rng_seq_make(seed, RNG_STREAM_DROPOUT, step);
    long host_mismatch = 0, kept = 0, diff3 = 0, diff4 = 0;
    double *yr = dvec(DNUM);
    for (int i = 0; i < DNUM; i++) {
        int keep = rng_uniform(&r) >= p;
        host_mismatch += keep != (g1[i] != 0.0f);
        kept += g1[i] != 0.0f;
        diff3 += (g1[i] != 0.0f) != (g3[i] != 0.0f);
        diff4 += (g1[i] != 0.0f) != (g4[i] != 0.0f);
        yr[i] = keep ? x[i] / (1.0 - p) : 0.0;
    }
    printf("%s dropout mask == host Philox (seed, RNG_STREAM_DROPOUT, step): %ld of %d differ\n",
           host_mismatch ? "FAIL" : "ok  ", host_mismatch, DNUM);
    CHECK(host_mismatch == 0, "dropout mask differs from the host draw");
    check_close("dropout forward: kept x/(1-p), dropped 0", g1, yr, DNUM, 1e-6, 1e-3);
    int same = memcmp(g1, g2, (size_t)DNUM * sizeof *g1) == 0;
    printf("%s dropout same (seed, step) twice: bit-identical\n", same ? "ok  " : "FAIL");
    CHECK(same, "dropout not reproducible");
    double sig = sqrt(p * (1 - p) / DNUM), frac = (double)kept / DNUM;
    int okf = fabs(frac - (1 - p)) < 5 * sig;
    printf("%s dropout kept fraction %.5f, want %.2f +- 5 sigma (%.5f)\n", okf ? "ok  " : "FAIL", frac, 1 - p, 5 * sig);
    CHECK(okf, "kept fraction");
    /* independent masks disagree in 2p(1-p) of the elements */
    double q = 2 * p * (1 - p), qs = sqrt(q * (1 - q) / DNUM), f3 = (double)diff3 / DNUM, f4 = (double)diff4 / DNUM;
    int ok3 = fabs(f3 - q) < 5 * qs, ok4 = fabs(f4 - q) < 5 * qs;
    printf("%s dropout step+1: masks differ in %.5f, seed+1: %.5f (independent: %.3f +- %.5f)\n",
           ok3 && ok4 ? "ok  " : "FAIL", f3, f4, q, 5 * qs);
    CHECK(ok3 && ok4, "masks for another step / seed not independent");
    /* backward through y1 and y3 (two steps, two masks, accumulated into dx) */
    double *r3 = dvec(DNUM);
    for (int i = 0; i < DNUM; i++) r3[i] = g3[i] != 0.0f ? x[i] / (1.0 - p) : 0.0;
    double *d1, *d3;
    int L1 = upstream_loss(&t, y1, &d1), L3 = upstream_loss(&t, y3, &d3);
    tape_backward(&t, op_lincomb(&t, L1, 1, L3, 1));
    double *dx = dvec(DNUM);
    for (int i = 0; i < DNUM; i++)
        dx[i] = (g1[i] != 0.0f ? d1[i] / (1.0 - p) : 0.0) + (g3[i] != 0.0f ? d3[i] / (1.0 - p) : 0.0);
    float *dxg = grad_of(&t, xv);
    check_close("dropout backward, the forward masks (2 steps)", dxg, dx, DNUM, 1e-5, SUM_FLOOR);
    /* evaluation mode and p = 0: the identity (the same variable); p = 1: zeros and a zero gradient */
    int e1 = op_dropout(&t, xv, p, 0, seed, step), e2 = op_dropout(&t, xv, 0.0f, 1, seed, step);
    printf("%s dropout eval mode and p=0 return the input itself\n", e1 == xv && e2 == xv ? "ok  " : "FAIL");
    CHECK(e1 == xv && e2 == xv, "dropout identity cases");
    tape_free(&t);
    tape_init(&t, cl);
    xv = grad_leaf(&t, x, DN, DC, DH, DW, 29, 3);
    int z = op_dropout(&t, xv, 1.0f, 1, seed, step);
    float *gz = download(tape_val(&t, z));
    tape_backward(&t, op_sum(&t, z, 1.0f));
    float *dz = grad_of(&t, xv);
    long nonzero = 0;
    for (int i = 0; i < DNUM; i++) nonzero += gz[i] != 0.0f || dz[i] != 0.0f; /* NaN counts too */
    printf("%s dropout p=1: output and gradient all exactly 0 (%ld not)\n", nonzero ? "FAIL" : "ok  ", nonzero);
    CHECK(nonzero == 0, "dropout p = 1");
    free(x); free(g1); free(g2); free(g3); free(g4); free(yr); free(r3); free(d1); free(d3); free(dx); free(dxg);
    free(gz); free(dz);
    tape_free(&t);
    release_bufs();
}

/* ============================ part 3: finite differences ============================ */

#define FD_STEP 1e-2
#define FD_TOL 1e-2

enum { FD_LEAKY, FD_TANH, FD_ELU, FD_POOL, FD_UP, FD_CONCAT, FD_SLICE, FD_BCE, FD_BCE_CONST, FD_L1 };

typedef struct {
    const char *name;
    int kind, k, s;
    net n;
    tensor target; /* sqerr target, or the bce target */
} fdcase;

static tape FT;

static int fd_forward(fdcase *c) {
    tape_reset(&FT);
    tape *t = &FT;
    int a = tape_param(t, &c->n, 0), y = -1;
    switch (c->kind) {
    case FD_LEAKY: y = op_leaky_relu(t, a, 0.2f); break;
    case FD_TANH: y = op_tanh(t, a); break;
    case FD_ELU: y = op_elu(t, a, 1.3f); break;
    case FD_POOL: y = op_avgpool2d(t, a, c->k, c->s); break;
    case FD_UP: y = op_upsample_nearest2x(t, a); break;
    case FD_CONCAT: y = op_concat_channels(t, a, tape_param(t, &c->n, 1)); break;
    case FD_SLICE: y = op_slice_channels(t, a, 1, 2); break;
    case FD_BCE: return op_bce_logits_sum(t, a, tape_input(t, c->target), 0, 1.0f);
    case FD_BCE_CONST: return op_bce_logits_sum(t, a, -1, 1.0f, 1.0f);
    case FD_L1: return op_absdiff_sum(t, a, tape_input(t, c->target), 0.5f);
    }
    return op_sqerr_sum(t, y, tape_input(t, c->target), 0.5f);
}

static void fd_case(const char *name, int kind, int k, int s) {
    const int FN = 2, FC = 3, FH = 5, FW = 7;
    fdcase c = {.name = name, .kind = kind, .k = k, .s = s};
    net_init(&c.n, cl, "fd");
    net_add(&c.n, "x", 4, (int[]){FN, FC, FH, FW});
    if (kind == FD_CONCAT) net_add(&c.n, "x2", 4, (int[]){FN, 2, FH, FW});
    net_alloc(&c.n);
    float *w0 = xcalloc(c.n.total, sizeof *w0);
    for (int i = 0; i < c.n.np; i++) {
        float *v = kind == FD_BCE || kind == FD_BCE_CONST ? randnz(c.n.p[i].numel, 0.1f, 4.0f)
                                                          : randnz(c.n.p[i].numel, 0.1f, 2.5f);
        memcpy(w0 + c.n.p[i].off, v, c.n.p[i].numel * sizeof *v);
        free(v);
    }
    net_upload(&c.n, w0);
    /* the target: of the output's shape for sqerr (outputs are O(1)), of x's for bce */
    int ty = kind == FD_POOL ? (FH - k) / s + 1 : kind == FD_UP ? 2 * FH : FH;
    int tx = kind == FD_POOL ? (FW - k) / s + 1 : kind == FD_UP ? 2 * FW : FW;
    int tc = kind == FD_CONCAT ? FC + 2 : kind == FD_SLICE ? 2 : FC;
    float *tv = kind == FD_BCE ? randv((size_t)FN * tc * ty * tx, 0, 1) : randv((size_t)FN * tc * ty * tx, -1, 1);
    if (kind == FD_L1) /* keep every |x - target| >= 0.2, far from L1's kink at the finite-difference step */
        for (int i = 0; i < FN * tc * ty * tx; i++) tv[i] = w0[i] + (tv[i] >= 0 ? 0.2f + tv[i] : tv[i] - 0.2f);
    c.target = upload_at(tv, FN, tc, ty, tx, 5);
    free(tv);
    /* analytic: backward adds into a gradient buffer that starts random */
    float *g0 = randv(c.n.total, -1, 1), *an = xmalloc(c.n.total * sizeof *an);
    clg_write(cl, c.n.g, 0, c.n.total, g0);
    int L = fd_forward(&c);
    double L0 = tape_read_scalar(&FT, L);
    tape_backward(&FT, L);
    net_grad_settle(&c.n);
    clg_read(cl, c.n.g, 0, c.n.total, an);
    for (size_t i = 0; i < c.n.total; i++) an[i] -= g0[i];
    for (int pi = 0; pi < c.n.np; pi++) {
        const param *p = &c.n.p[pi];
        int numel = (int)p->numel;
        double ws = 0, as = 0;
        for (int i = 0; i < numel; i++) {
            ws += (double)w0[p->off + i] * w0[p->off + i];
            as += (double)an[p->off + i] * an[p->off + i];
        }
        ws = sqrt(ws / numel);
        as = sqrt(as / numel);
        double worst = 0, worst_abs = 0;
        int at = -1;
        double fd_at = 0;
        for (int i = 0; i < numel; i++) {
            size_t kk = p->off + (size_t)i;
            float old = w0[kk];
            double h = FD_STEP * fmax(fabs(old), ws);
            float wp = (float)(old + h), wm = (float)(old - h);
            w0[kk] = wp;
            net_upload(&c.n, w0);
            double Lp = tape_read_scalar(&FT, fd_forward(&c));
            w0[kk] = wm;
            net_upload(&c.n, w0);
            double Lm = tape_read_scalar(&FT, fd_forward(&c));
            w0[kk] = old;
            double fd = (Lp - Lm) / ((double)wp - (double)wm), a = an[kk];
            double e = fabs(fd - a) / fmax(fabs(a), as);
            if (!(e <= worst)) {
                worst = e;
                at = i;
                fd_at = fd;
            }
            worst_abs = fmax(worst_abs, fabs(fd - a));
        }
        net_upload(&c.n, w0);
        int ok = worst <= FD_TOL && as > 0;
        check_count++;
        if (!ok) check_failures++;
        printf("%s fd %-24s %-3s n=%-4d L=%-8.4g worst %.2e (abs %.1e, grad rms %.3g) tol %.0e\n", ok ? "ok  " : "FAIL",
               name, p->name, numel, L0, worst, worst_abs, as, FD_TOL);
        if (!ok && at >= 0) printf("     at [%d] fd %.7g analytic %.7g\n", at, fd_at, (double)an[p->off + at]);
    }
    free(w0); free(g0); free(an);
    net_free(&c.n);
    release_bufs();
}

int main(void) {
    double t0 = now_seconds();
    char err[2048];
    cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) { fprintf(stderr, "%s\n", err); return 1; }
    char d[512];
    clg_describe(cl, d, sizeof d);
    printf("device: %s\n", d);
    R = rng_seq_make(TEST_ELEM_SEED, RNG_STREAM_TEST, 0);

    const unary_case un[] = {
        {"leaky_relu 0.2", op_leaky_relu, leaky_f, leaky_df, 0.2f, 1e-6, 1e-6},
        /* dtanh = 1 - y^2 from the float y: at |x| <= 3, 1 - y^2 >= 0.0099 carries an absolute error of
         * ~2e-7 (y's rounding times 2y), a relative error up to ~2e-5 */
        {"tanh", op_tanh_a, tanh_f, tanh_df, 0, 1e-5, 1e-4},
        {"elu 1.3", op_elu, elu_f, elu_df, 1.3f, 1e-5, 1e-5},
    };
    for (size_t i = 0; i < sizeof un / sizeof un[0]; i++) test_unary(&un[i]);
    test_kink_at_zero();
    test_elu_range();
    test_upsample();
    test_avgpool(2, 2);
    test_avgpool(3, 2);
    test_avgpool(3, 1);
    test_concat();
    test_slice();
    test_add_scale();
    test_sum();
    test_bce_logits();
    test_absdiff();
    test_clip();
    test_dropout();
    if (test_small()) { /* make test-oclgrind: every kernel ran above */
        clg_close(cl);
        TEST_END();
    }

    tape_init(&FT, cl);
    fd_case("leaky_relu 0.2", FD_LEAKY, 0, 0);
    fd_case("tanh", FD_TANH, 0, 0);
    fd_case("elu 1.3", FD_ELU, 0, 0);
    fd_case("avgpool2d k2 s2 (5x7)", FD_POOL, 2, 2);
    fd_case("avgpool2d k3 s2 (5x7)", FD_POOL, 3, 2);
    fd_case("upsample_nearest2x", FD_UP, 0, 0);
    fd_case("concat_channels", FD_CONCAT, 0, 0);
    fd_case("slice_channels 1..2 of 3", FD_SLICE, 0, 0);
    fd_case("bce_logits (target tensor)", FD_BCE, 0, 0);
    fd_case("bce_logits (yconst 1)", FD_BCE_CONST, 0, 0);
    fd_case("absdiff (L1)", FD_L1, 0, 0);
    tape_free(&FT);

    clg_close(cl);
    printf("runtime %.1f s\n", now_seconds() - t0);
    TEST_END();
}
