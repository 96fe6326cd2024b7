/* ./evaluate's statistics (tools/evaluate_stats.c) against references:
 *   sym_eigen: random symmetric 37x37 and a matrix with repeated eigenvalues; A V = V diag(w),
 *     V orthonormal, w ascending (to 1e-12 relative).
 *   feature_stats: mean and covariance (n - 1) of random features vs a plain double loop.
 *   frechet_distance: covariances sharing eigenvectors (the closed form sum (sqrt a - sqrt b)^2 plus
 *     the mean term); random, non-commuting covariances (full rank and singular: fewer images than
 *     features) vs pytorch-fid's formula with scipy.linalg.sqrtm (tests/evaluate_ref.py); a set
 *     against itself gives 0; a non-symmetric, an indefinite and a NaN covariance are refused.
 *   inception_score: equal logits give 1; confident predictions spread evenly over K classes give K;
 *     random logits vs numpy (mean and std over 10 splits and over 3 with a remainder); fewer images
 *     than splits and NaN logits are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/evaluate.h"
#include "check.h"
#include "rng.h"

#define PYTHON "/usr/bin/python3"

static char tmpdir[] = "/tmp/clgan-test-evalstats-XXXXXX";
static rng_seq rs;

static double unif(void) { return rng_uniform(&rs); }

static void write_f64(const char *name, const double *v, size_t n) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(v, sizeof *v, n, f) != n) { printf("FAIL cannot write %s\n", p); exit(1); }
    fclose(f);
}

static void write_f32(const char *name, const float *v, size_t n) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(v, sizeof *v, n, f) != n) { printf("FAIL cannot write %s\n", p); exit(1); }
    fclose(f);
}

/* Runs tests/evaluate_ref.py with args (file names relative to tmpdir); parses up to 2 numbers. */
static int python(const char *args, double *a, double *b) {
    char cmd[1024], line[256];
    snprintf(cmd, sizeof cmd, "cd %s && " PYTHON " %s/tests/evaluate_ref.py %s", tmpdir, getenv("PWD"), args);
    FILE *p = popen(cmd, "r");
    int n = p && fgets(line, sizeof line, p) ? sscanf(line, "%lf %lf", a, b) : 0;
    int st = p ? pclose(p) : -1;
    CHECK(st == 0 && n >= 1, "python reference failed: %s", cmd);
    return st == 0 && n >= 1 ? 0 : -1;
}

static void rel(const char *what, double got, double ref, double tol) {
    double e = fabs(got - ref) / fmax(fabs(ref), 1e-300);
    check_count++;
    int ok = e <= tol;
    if (!ok) check_failures++;
    printf("%s %-58s got %.12g ref %.12g rel err %.1e (tol %.0e)\n", ok ? "ok  " : "FAIL", what, got, ref, e, tol);
}

/* A random orthogonal matrix (Gram-Schmidt of random columns). */
static void random_orthogonal(double *q, int d) {
    for (int i = 0; i < d * d; i++) q[i] = unif() - 0.5;
    for (int j = 0; j < d; j++) {
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += q[i * d + j] * q[i * d + k];
            for (int i = 0; i < d; i++) q[i * d + j] -= dot * q[i * d + k];
        }
        double nn = 0;
        for (int i = 0; i < d; i++) nn += q[i * d + j] * q[i * d + j];
        for (int i = 0; i < d; i++) q[i * d + j] /= sqrt(nn);
    }
}

/* s = Q diag(ev) Q^T */
static void from_eig(const double *q, const double *ev, double *s, int d) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double v = 0;
            for (int k = 0; k < d; k++) v += q[i * d + k] * ev[k] * q[j * d + k];
            s[i * d + j] = v;
        }
}

static void test_eigen(const char *what, const double *a0, int n) {
    double *v = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n);
    memcpy(v, a0, sizeof(double) * n * n);
    int rc = sym_eigen(v, n, w);
    double big = 0, res = 0, orth = 0;
    int asc = 1;
    for (int i = 0; i < n * n; i++) big = fmax(big, fabs(a0[i]));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double av = 0, vv = 0;
            for (int k = 0; k < n; k++) av += a0[i * n + k] * v[k * n + j], vv += v[k * n + i] * v[k * n + j];
            res = fmax(res, fabs(av - v[i * n + j] * w[j]) / big);
            orth = fmax(orth, fabs(vv - (i == j)));
        }
    for (int i = 1; i < n; i++) asc &= w[i] >= w[i - 1];
    int ok = rc == 0 && res < 1e-12 && orth < 1e-12 && asc;
    CHECK(ok, "sym_eigen %s: rc %d", what, rc);
    printf("%s sym_eigen %-32s n=%d |AV-VW|/max|A| %.1e |V'V-I| %.1e ascending %d (tol 1e-12)\n", ok ? "ok  " : "FAIL", what, n,
           res, orth, asc);
    free(v), free(w);
}

static void test_frechet(void) {
    enum { D = 29 };
    static double q[D * D], s1[D * D], s2[D * D], a[D], b[D], mu1[D], mu2[D];
    char err[512];
    double fid, ref = 0;
    random_orthogonal(q, D);
    for (int i = 0; i < D; i++) {
        a[i] = 0.1 + 3 * unif(), b[i] = 0.1 + 3 * unif(), mu1[i] = unif(), mu2[i] = unif() - 0.3;
        ref += (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i])) + (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    }
    from_eig(q, a, s1, D), from_eig(q, b, s2, D);
    for (int i = 0; i < D; i++) /* exact symmetry: from_eig's rounding differs between [i][j] and [j][i] */
        for (int j = 0; j < i; j++) s1[i * D + j] = s1[j * D + i], s2[i * D + j] = s2[j * D + i];
    int rc = frechet_distance(mu1, s1, mu2, s2, D, &fid, err, sizeof err);
    CHECK(rc == 0, "frechet (shared eigenvectors): %s", err);
    rel("frechet, shared eigenvectors (closed form)", fid, ref, 1e-10);
    rc = frechet_distance(mu1, s1, mu1, s1, D, &fid, err, sizeof err);
    double tr = 0;
    for (int i = 0; i < D; i++) tr += s1[i * D + i];
    CHECK(rc == 0 && fabs(fid) < 1e-10 * tr, "frechet of a set with itself: %g (trace %g)", fid, tr);
    printf("%s frechet of a Gaussian with itself: %.2e (trace %.3g, tol 1e-10 of it)\n", rc == 0 && fabs(fid) < 1e-10 * tr ? "ok  " : "FAIL", fid, tr);

    /* non-commuting covariances of random features: full rank (n 300 > d 23) and singular (n 15) */
    for (int pass = 0; pass < 2; pass++) {
        enum { F = 23 };
        int n = pass ? 15 : 300;
        float *fa = malloc(sizeof(float) * n * F), *fb = malloc(sizeof(float) * n * F);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < F; j++) { /* correlated features, different mixing in each set */
                double z = rng_normal(&rs), z2 = rng_normal(&rs);
                fa[i * F + j] = (float)(z + (j ? 0.5 * fa[i * F + j - 1] : 0) + 0.2 * j);
                fb[i * F + j] = (float)(1.3 * z2 - (j > 1 ? 0.4 * fb[i * F + j - 2] : 0));
            }
        static double m1[F], m2[F], c1[F * F], c2[F * F];
        feature_stats(fa, n, F, m1, c1, err, sizeof err);
        feature_stats(fb, n, F, m2, c2, err, sizeof err);
        rc = frechet_distance(m1, c1, m2, c2, F, &fid, err, sizeof err);
        CHECK(rc == 0, "frechet (random features): %s", err);
        write_f64("mu1", m1, F), write_f64("s1", c1, F * F), write_f64("mu2", m2, F), write_f64("s2", c2, F * F);
        double py, unused;
        if (python("fid mu1 s1 mu2 s2 23", &py, &unused) == 0)
            rel(pass ? "frechet vs scipy.linalg.sqrtm, singular (15 rows, 23 features)"
                     : "frechet vs scipy.linalg.sqrtm, 300 rows, 23 features", fid, py, pass ? 1e-6 : 1e-9);
        if (pass == 0) { /* feature_stats vs a plain loop */
            double worst = 0;
            for (int j = 0; j < F; j++)
                for (int k = 0; k < F; k++) {
                    double mj = 0, mk = 0, c = 0;
                    for (int i = 0; i < n; i++) mj += fa[i * F + j] / (double)n, mk += fa[i * F + k] / (double)n;
                    for (int i = 0; i < n; i++) c += (fa[i * F + j] - mj) * (fa[i * F + k] - mk) / (n - 1);
                    worst = fmax(worst, fabs(c - c1[j * F + k]) + (k == 0 ? fabs(mj - m1[j]) : 0));
                }
            CHECK(worst < 1e-12, "feature_stats differs from the plain loop by %g", worst);
            printf("%s feature_stats vs a plain loop: max abs err %.1e (tol 1e-12)\n", worst < 1e-12 ? "ok  " : "FAIL", worst);
        }
        free(fa), free(fb);
    }

    /* refusals */
    double bad[4] = {1, 0.5, 0.2, 1}, indef[4] = {1, 2, 2, 1}, nanm[4] = {1, NAN, NAN, 1}, id[4] = {1, 0, 0, 1}, m0[2] = {0, 0};
    rc = frechet_distance(m0, bad, m0, id, 2, &fid, err, sizeof err);
    CHECK(rc != 0, "a non-symmetric covariance was accepted");
    printf("%s refused a non-symmetric covariance: %s\n", rc ? "ok  " : "FAIL", err);
    rc = frechet_distance(m0, id, m0, indef, 2, &fid, err, sizeof err);
    CHECK(rc != 0, "an indefinite covariance (eigenvalue -1) was accepted");
    printf("%s refused an indefinite covariance: %s\n", rc ? "ok  " : "FAIL", err);
    rc = frechet_distance(m0, nanm, m0, id, 2, &fid, err, sizeof err);
    CHECK(rc != 0, "a NaN covariance was accepted");
    printf("%s refused a NaN covariance: %s\n", rc ? "ok  " : "FAIL", err);
    float one[3] = {1, 2, 3};
    rc = feature_stats(one, 1, 3, m0, id, err, sizeof err);
    CHECK(rc != 0, "a covariance of one image was accepted");
    printf("%s refused the covariance of 1 image: %s\n", rc ? "ok  " : "FAIL", err);
}

static void test_is(void) {
    enum { N = 1003, K = 10 };
    static float lg[N * K];
    char err[512];
    double m, s;
    for (int i = 0; i < N * K; i++) lg[i] = 0.7f;
    int rc = inception_score(lg, N, K, 10, &m, &s, err, sizeof err);
    CHECK(rc == 0 && fabs(m - 1) < 1e-12 && s < 1e-12, "equal logits: IS %.15g std %g (want 1, 0)", m, s);
    printf("%s IS of equal logits: %.15g (want 1), std %.1e\n", rc == 0 && fabs(m - 1) < 1e-12 && s < 1e-12 ? "ok  " : "FAIL", m, s);
    for (int i = 0; i < 1000; i++) /* class i % K, certain; 100 images per split: each class 10 times */
        for (int k = 0; k < K; k++) lg[i * K + k] = k == i % K ? 60.0f : 0.0f;
    rc = inception_score(lg, 1000, K, 10, &m, &s, err, sizeof err);
    CHECK(rc == 0 && fabs(m - K) < 1e-9 && s < 1e-9, "confident, even predictions: IS %.15g (want %d)", m, K);
    printf("%s IS of confident predictions spread evenly over %d classes: %.12g (tol 1e-9)\n",
           rc == 0 && fabs(m - K) < 1e-9 && s < 1e-9 ? "ok  " : "FAIL", K, m);
    for (int i = 0; i < N * K; i++) lg[i] = (float)(3 * rng_normal(&rs));
    write_f32("logits", lg, N * K);
    const int splits[2] = {10, 3};
    for (int t = 0; t < 2; t++) {
        double pm, ps;
        char args[128], what[96];
        rc = inception_score(lg, N, K, splits[t], &m, &s, err, sizeof err);
        CHECK(rc == 0, "IS: %s", err);
        snprintf(args, sizeof args, "is logits %d %d %d", N, K, splits[t]);
        if (python(args, &pm, &ps) == 0) {
            snprintf(what, sizeof what, "IS mean vs numpy, %d images, %d splits", N, splits[t]);
            rel(what, m, pm, 1e-10);
            snprintf(what, sizeof what, "IS std vs numpy, %d images, %d splits", N, splits[t]);
            rel(what, s, ps, 1e-7);
        }
    }
    rc = inception_score(lg, 5, K, 10, &m, &s, err, sizeof err);
    CHECK(rc != 0, "IS of 5 images in 10 splits was accepted");
    printf("%s refused 5 images in 10 splits: %s\n", rc ? "ok  " : "FAIL", err);
    lg[7] = NAN;
    rc = inception_score(lg, N, K, 10, &m, &s, err, sizeof err);
    CHECK(rc != 0, "NaN logits were accepted");
    printf("%s refused NaN logits: %s\n", rc ? "ok  " : "FAIL", err);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        printf("FAIL cannot make %s\n", tmpdir);
        return 1;
    }
    rs = rng_seq_make(12345, 0, 0);
    enum { N = 37 };
    static double a[N * N], q[N * N], ev[N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) a[i * N + j] = a[j * N + i] = unif() - 0.5;
    test_eigen("random symmetric", a, N);
    random_orthogonal(q, N);
    for (int i = 0; i < N; i++) ev[i] = i % 3 == 0 ? 2.0 : i % 3 == 1 ? -1.0 : 0.0; /* each eigenvalue ~12 times */
    from_eig(q, ev, a, N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++) a[i * N + j] = a[j * N + i];
    test_eigen("repeated eigenvalues (2, -1, 0)", a, N);
    double one = 4.0;
    test_eigen("1x1", &one, 1);
    test_frechet();
    test_is();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", tmpdir);
    TEST_END();
}
