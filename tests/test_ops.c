/* Every op of the engine core, forward and backward, against a plain C double-precision reference
 * on random inputs with odd sizes at non-zero offsets; tape semantics (accumulation, detach,
 * frozen networks); Adam against a C reference; device RNG against the host RNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static clg_ctx *cl;
static rng_seq R;

static float *randv(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng_uniform(&R);
    return v;
}

/* A tensor at an odd offset inside a fresh buffer, so offset handling is exercised. */
static tensor upload_at(const float *v, int n, int c, int h, int w, size_t off) {
    return dev_upload_at(cl, v, n, c, h, w, off);
}

static float *download(tensor t) { return dev_download(cl, t); }


/* L = 0.5 * sum (y - T)^2 gives dL/dy = y - T: a random upstream gradient for backward checks. */
static int upstream_loss(tape *t, int y, const float *T, double **dy_ref, const double *y_ref) {
    tensor yv = tape_val(t, y);
    size_t n = tnumel(yv);
    int tv = tape_input(t, upload_at(T, yv.n, yv.c, yv.h, yv.w, 3));
    *dy_ref = dvec(n);
    for (size_t i = 0; i < n; i++) (*dy_ref)[i] = y_ref[i] - T[i];
    return op_sqerr_sum(t, y, tv, 0.5f);
}

static void test_linear(void) {
    const int B = 7, IN = 93, OUT = 13;
    tape t;
    tape_init(&t, cl);
    net nt;
    net_init(&nt, cl, "lin");
    int wi = net_add(&nt, "w", 2, (int[]){OUT, IN}), bi = net_add(&nt, "b", 1, (int[]){OUT});
    net_alloc(&nt);
    float *x = randv((size_t)B * IN, -1, 1), *w = randv((size_t)OUT * IN, -0.5f, 0.5f), *b = randv(OUT, -1, 1);
    clg_write(cl, nt.w, nt.p[wi].off, nt.p[wi].numel, w);
    clg_write(cl, nt.w, nt.p[bi].off, nt.p[bi].numel, b);
    /* pre-existing gradient: the tape must add to it */
    float *g0 = randv(nt.total, -1, 1);
    clg_write(cl, nt.g, 0, nt.total, g0);
    /* x as {B, 3, 31, 1}: linear flattens each sample */
    tensor xt = upload_at(x, B, 3, 31, 1, 37);
    int xv = tape_new(&t, B, 3, 31, 1, 1); /* a variable that wants a gradient */
    k_axpby(cl, tape_val(&t, xv), xt, tnumel(xt), 1.0f, 0.0f);
    int y = op_linear(&t, xv, tape_param(&t, &nt, wi), tape_param(&t, &nt, bi));
    double *yr = dvec((size_t)B * OUT);
    for (int r = 0; r < B; r++)
        for (int o = 0; o < OUT; o++) {
            double s = b[o];
            for (int k = 0; k < IN; k++) s += (double)x[r * IN + k] * w[o * IN + k];
            yr[r * OUT + o] = s;
        }
    float *yg = download(tape_val(&t, y));
    check_close("linear forward 7x93 -> 13", yg, yr, B * OUT, 1e-5, 1e-2);
    float *T = randv((size_t)B * OUT, -1, 1);
    double *dy;
    int L = upstream_loss(&t, y, T, &dy, yr);
    tape_backward(&t, L);
    double *dx = dvec((size_t)B * IN), *dw = dvec((size_t)OUT * IN), *db = dvec(OUT);
    for (int r = 0; r < B; r++)
        for (int o = 0; o < OUT; o++) {
            db[o] += dy[r * OUT + o];
            for (int k = 0; k < IN; k++) {
                dx[r * IN + k] += dy[r * OUT + o] * w[o * IN + k];
                dw[o * IN + k] += dy[r * OUT + o] * x[r * IN + k];
            }
        }
    for (int i = 0; i < OUT * IN; i++) dw[i] += g0[nt.p[wi].off + i];
    for (int i = 0; i < OUT; i++) db[i] += g0[nt.p[bi].off + i];
    float *dxg = download(t.vars[xv].grad);
    float *gall = xmalloc(nt.total * sizeof *gall);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, gall);
    check_close("linear backward dx", dxg, dx, B * IN, 1e-4, 1e-2);
    check_close("linear backward dW (added to existing)", gall + nt.p[wi].off, dw, OUT * IN, 1e-4, 1e-2);
    check_close("linear backward db (added to existing)", gall + nt.p[bi].off, db, OUT, 1e-4, 1e-2);
    free(x); free(w); free(b); free(g0); free(yr); free(yg); free(T); free(dy); free(dx); free(dw); free(db);
    free(dxg); free(gall);
    clReleaseMemObject(xt.mem);
    net_free(&nt);
    tape_free(&t);
}

/* Unary activation: forward and backward against f and f'. */
static void test_unary(const char *name, int (*op)(tape *, int), double (*f)(double), double (*df)(double)) {
    const int N = 5, C = 93;
    tape t;
    tape_init(&t, cl);
    float *x = randv((size_t)N * C, -4, 4);
    tensor xt = upload_at(x, N, C, 1, 1, 19);
    int xv = tape_new(&t, N, C, 1, 1, 1);
    k_axpby(cl, tape_val(&t, xv), xt, tnumel(xt), 1.0f, 0.0f);
    int y = op(&t, xv);
    double *yr = dvec((size_t)N * C);
    for (int i = 0; i < N * C; i++) yr[i] = f(x[i]);
    float *yg = download(tape_val(&t, y));
    char what[96];
    snprintf(what, sizeof what, "%s forward", name);
    check_close(what, yg, yr, N * C, 1e-6, 1e-3);
    float *T = randv((size_t)N * C, -1, 1);
    double *dy;
    int L = upstream_loss(&t, y, T, &dy, yr);
    tape_backward(&t, L);
    double *dx = dvec((size_t)N * C);
    for (int i = 0; i < N * C; i++) dx[i] = dy[i] * df(x[i]);
    float *dxg = download(t.vars[xv].grad);
    snprintf(what, sizeof what, "%s backward", name);
    check_close(what, dxg, dx, N * C, 1e-5, 1e-3);
    free(x); free(yr); free(yg); free(T); free(dy); free(dx); free(dxg);
    clReleaseMemObject(xt.mem);
    tape_free(&t);
}

static double relu_f(double x) { return x > 0 ? x : 0; }
static double relu_df(double x) { return x > 0 ? 1 : 0; }
static double sig_f(double x) { return 1 / (1 + exp(-x)); }
static double sig_df(double x) { return sig_f(x) * (1 - sig_f(x)); }

/* The VAE's loss pieces: reparam, BCE, KL, squared error, lincomb - values and gradients. */
static void test_vae_pieces(void) {
    const int B = 3, Z = 7, D = 93;
    tape t;
    tape_init(&t, cl);
    float *mu = randv(B * Z, -2, 2), *lv = randv(B * Z, -3, 1), *eps = randv(B * Z, -2, 2);
    float *p = randv(B * D, 0.02f, 0.98f), *tg = randv(B * D, 0, 1);
    int muv = tape_new(&t, B, Z, 1, 1, 1), lvv = tape_new(&t, B, Z, 1, 1, 1), pv = tape_new(&t, B, D, 1, 1, 1);
    tensor mut = upload_at(mu, B, Z, 1, 1, 5), lvt = upload_at(lv, B, Z, 1, 1, 9), pt = upload_at(p, B, D, 1, 1, 1);
    k_axpby(cl, tape_val(&t, muv), mut, B * Z, 1, 0);
    k_axpby(cl, tape_val(&t, lvv), lvt, B * Z, 1, 0);
    k_axpby(cl, tape_val(&t, pv), pt, B * D, 1, 0);
    int epsv = tape_input(&t, upload_at(eps, B, Z, 1, 1, 13));
    int tgv = tape_input(&t, upload_at(tg, B, D, 1, 1, 17));
    int z = op_reparam(&t, muv, lvv, epsv);
    double *zr = dvec(B * Z);
    for (int i = 0; i < B * Z; i++) zr[i] = mu[i] + exp(0.5 * lv[i]) * eps[i];
    float *zg = download(tape_val(&t, z));
    check_close("reparam forward", zg, zr, B * Z, 1e-5, 1e-3);
    const float sb = 1.0f / B, sk = 0.37f, sz = 0.25f, wa = 1.0f, wb = 1.3f;
    int bce = op_bce_sum(&t, pv, tgv, sb);
    int kl = op_kl_normal_sum(&t, muv, lvv, sk);
    int sq = op_sqerr_sum(&t, z, muv, sz); /* z depends on mu too: two paths into dmu */
    int l1 = op_lincomb(&t, bce, wa, kl, wb);
    int L = op_lincomb(&t, l1, 1.0f, sq, 1.0f);
    double rb = 0, rk = 0, rs = 0;
    for (int i = 0; i < B * D; i++) rb -= tg[i] * log(p[i]) + (1 - tg[i]) * log(1 - p[i]);
    for (int i = 0; i < B * Z; i++) rk += 0.5 * (exp(lv[i]) + (double)mu[i] * mu[i] - 1 - lv[i]);
    for (int i = 0; i < B * Z; i++) rs += (zr[i] - mu[i]) * (zr[i] - mu[i]);
    rb *= sb; rk *= sk; rs *= sz;
    double ref[4] = {rb, rk, rs, wa * rb + wb * rk + rs};
    float got[4] = {tape_read_scalar(&t, bce), tape_read_scalar(&t, kl), tape_read_scalar(&t, sq), tape_read_scalar(&t, L)};
    check_close("bce, kl, sqerr, lincomb values", got, ref, 4, 1e-5, 1e-3);
    tape_backward(&t, L);
    double *dp = dvec(B * D), *dmu = dvec(B * Z), *dlv = dvec(B * Z);
    for (int i = 0; i < B * D; i++) dp[i] = wa * sb * (p[i] - tg[i]) / (p[i] * (1.0 - p[i]));
    for (int i = 0; i < B * Z; i++) {
        double dz = 2 * sz * (zr[i] - mu[i]);   /* from sq through z */
        double s = exp(0.5 * lv[i]);
        dmu[i] = wb * sk * mu[i] + dz - 2 * sz * (zr[i] - mu[i]); /* z - mu: the two paths cancel */
        dlv[i] = wb * sk * 0.5 * (exp(lv[i]) - 1) + dz * eps[i] * 0.5 * s;
    }
    float *dpg = download(t.vars[pv].grad), *dmug = download(t.vars[muv].grad), *dlvg = download(t.vars[lvv].grad);
    check_close("bce backward dp", dpg, dp, B * D, 1e-4, 1e-3);
    check_close("kl + reparam + sqerr backward dmu", dmug, dmu, B * Z, 1e-4, 1e-2);
    check_close("kl + reparam backward dlogvar", dlvg, dlv, B * Z, 1e-4, 1e-2);
    free(mu); free(lv); free(eps); free(p); free(tg); free(zr); free(zg); free(dp); free(dmu); free(dlv);
    free(dpg); free(dmug); free(dlvg);
    tape_free(&t);
}

/* Tape semantics: detach cuts the graph; a frozen network receives no gradient. */
static void test_tape_semantics(void) {
    tape t;
    tape_init(&t, cl);
    net a, b;
    net_init(&a, cl, "a");
    net_init(&b, cl, "b");
    int wa = net_add(&a, "w", 2, (int[]){5, 9}), wb = net_add(&b, "w", 2, (int[]){1, 5});
    net_alloc(&a);
    net_alloc(&b);
    net_init_uniform(&a, wa, 0.3f, 1);
    net_init_uniform(&b, wb, 0.3f, 2);
    float *x = randv(3 * 9, -1, 1);
    int xv = tape_input(&t, upload_at(x, 3, 9, 1, 1, 7));
    int h = op_relu(&t, op_linear(&t, xv, tape_param(&t, &a, wa), -1));
    b.requires_grad = 0;
    int y = op_linear(&t, h, tape_param(&t, &b, wb), -1);
    int T = tape_input(&t, upload_at((float[]){1, 2, 3}, 3, 1, 1, 1, 0));
    tape_backward(&t, op_sqerr_sum(&t, y, T, 1.0f));
    float *ga = xmalloc(a.total * 4), *gb = xmalloc(b.total * 4);
    net_grad_settle(&a);
    clg_read(cl, a.g, 0, a.total, ga);
    net_grad_settle(&b);
    clg_read(cl, b.g, 0, b.total, gb);
    double na = 0, nb = 0;
    for (size_t i = 0; i < a.total; i++) na += fabs(ga[i]);
    for (size_t i = 0; i < b.total; i++) nb += fabs(gb[i]);
    printf("frozen net: |grad a| = %.4g (want > 0), |grad b| = %g (want 0)\n", na, nb);
    CHECK(na > 0 && nb == 0, "frozen network must get no gradient, the other must");
    tape_reset(&t);
    net_zero_grad(&a);
    b.requires_grad = 1;
    xv = tape_input(&t, upload_at(x, 3, 9, 1, 1, 7));
    h = tape_detach(&t, op_relu(&t, op_linear(&t, xv, tape_param(&t, &a, wa), -1)));
    y = op_linear(&t, h, tape_param(&t, &b, wb), -1);
    T = tape_input(&t, upload_at((float[]){1, 2, 3}, 3, 1, 1, 1, 0));
    tape_backward(&t, op_sqerr_sum(&t, y, T, 1.0f));
    net_grad_settle(&a);
    clg_read(cl, a.g, 0, a.total, ga);
    net_grad_settle(&b);
    clg_read(cl, b.g, 0, b.total, gb);
    na = nb = 0;
    for (size_t i = 0; i < a.total; i++) na += fabs(ga[i]);
    for (size_t i = 0; i < b.total; i++) nb += fabs(gb[i]);
    printf("detach: |grad a| = %g (want 0), |grad b| = %.4g (want > 0)\n", na, nb);
    CHECK(na == 0 && nb > 0, "detach must stop the gradient");
    free(x); free(ga); free(gb);
    net_free(&a);
    net_free(&b);
    tape_free(&t);
}

static void test_adam(void) {
    net n;
    net_init(&n, cl, "adam");
    int p0 = net_add(&n, "p0", 1, (int[]){93}), p1 = net_add(&n, "p1", 2, (int[]){7, 5});
    net_alloc(&n);
    (void)p0; (void)p1;
    size_t tot = n.total;
    float *w = randv(tot, -1, 1);
    net_upload(&n, w);
    optim o;
    const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
    optim_adam(&o, &n, lr, b1, b2, eps, wd);
    double *pw = dvec(tot), *m = dvec(tot), *v = dvec(tot);
    for (size_t i = 0; i < tot; i++) pw[i] = w[i];
    for (int step = 1; step <= 3; step++) {
        float *g = randv(tot, -1, 1);
        clg_write(cl, n.g, 0, tot, g);
        optim_step(&o);
        for (size_t i = 0; i < tot; i++) {
            double gi = g[i] + wd * pw[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            double mh = m[i] / (1 - pow(b1, step)), vh = v[i] / (1 - pow(b2, step));
            pw[i] -= lr * mh / (sqrt(vh) + eps);
        }
        free(g);
    }
    float *got = xmalloc(tot * 4);
    net_download(&n, got);
    /* parameters are O(1): compare on that scale (float32 rounding of p is ~1e-7) */
    check_close("adam 3 steps vs C reference", got, pw, (long)tot, 1e-5, 1.0);
    free(w); free(pw); free(m); free(v); free(got);
    optim_free(&o);
    net_free(&n);
}

static void test_rng(void) {
    tape t;
    tape_init(&t, cl);
    const int n = 10007;
    int v = tape_randn(&t, n, 1, 1, 1, 0x123456789abcULL, RNG_STREAM_TEST, 42);
    float *g = download(tape_val(&t, v));
    rng_seq r = rng_seq_make(0x123456789abcULL, RNG_STREAM_TEST, 42);
    double *ref = dvec(n), mean = 0, var = 0;
    for (int i = 0; i < n; i++) ref[i] = rng_normal(&r);
    for (int i = 0; i < n; i++) mean += g[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (g[i] - mean) * (g[i] - mean);
    var /= n;
    check_close("device normals == host normals", g, ref, n, 1e-4, 1.0);
    printf("normals: mean %.4f var %.4f\n", mean, var);
    CHECK(fabs(mean) < 0.05 && fabs(var - 1) < 0.05, "normal mean %g var %g", mean, var);
    free(g); free(ref);
    tape_free(&t);
}

/* CLBlast with beta = 0 must not propagate NaN from uninitialised output memory. */
static void test_gemm_beta0_nan(void) {
    tape t;
    tape_init(&t, cl);
    net n;
    net_init(&n, cl, "g");
    int w = net_add(&n, "w", 2, (int[]){3, 4});
    net_alloc(&n);
    net_init_uniform(&n, w, 1, 3);
    float *x = randv(8, -1, 1);
    int xv = tape_input(&t, upload_at(x, 2, 4, 1, 1, 0));
    /* poison the arena where the output will go */
    tensor probe = arena_tensor(&t.ar, 1 << 12, 1, 1, 1);
    clg_fill(cl, probe.mem, probe.off, 1 << 12, NAN);
    arena_reset(&t.ar);
    int y = op_linear(&t, xv, tape_param(&t, &n, w), -1);
    float *yg = download(tape_val(&t, y));
    int nan = 0;
    for (int i = 0; i < 6; i++) nan |= isnan(yg[i]);
    CHECK(!nan, "gemm with beta 0 left NaN from the output buffer");
    printf("%s gemm beta=0 over NaN-filled output gives finite results\n", nan ? "FAIL" : "ok  ");
    free(x); free(yg);
    net_free(&n);
    tape_free(&t);
}

int main(void) {
    char err[2048];
    cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) { fprintf(stderr, "%s\n", err); return 1; }
    char d[512];
    clg_describe(cl, d, sizeof d);
    printf("device: %s\n", d);
    R = rng_seq_make(7, RNG_STREAM_TEST, 0);
    test_linear();
    test_unary("relu", op_relu, relu_f, relu_df);
    test_unary("sigmoid", op_sigmoid, sig_f, sig_df);
    test_vae_pieces();
    test_tape_semantics();
    test_adam();
    test_rng();
    test_gemm_beta0_nan();
    clg_close(cl);
    TEST_END();
}
