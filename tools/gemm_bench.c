/* gemm_bench: times blas_gemm (CLBlastSgemm, row-major) on clgan's GEMM shapes with the CLBlast tuning
 * of host/tuning.c on and off (CLGAN_NO_TUNING=1), and checks results against a host reference.
 *
 * Not built by `make`; after `make`:
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Ihost -Ibuild -isystem /usr/include/stb \
 *      -DCL_TARGET_OPENCL_VERSION=120 tools/gemm_bench.c build/libclgan.a \
 *      -lclblast -lOpenCL -linih -lz -lm -lpthread -o /tmp/gemm_bench
 *
 *   /tmp/gemm_bench                       every built-in shape, tuning off then on, median of 7 runs
 *   /tmp/gemm_bench --group vae --runs 15
 *   /tmp/gemm_bench --mode on NT:128x400x784 NN:1024x1024x1024
 *
 * Each mode runs in a child process of its own: CLBlast's parameter overrides last for the process. A
 * run is one blas_gemm call followed by clFinish, timed on the host clock (CLBlast's indirect GEMM is
 * several kernels, so the wall time is what a training step pays). The first calls compile CLBlast's
 * kernels; --warmup calls per shape are not timed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blas.h"
#include "device.h"
#include "tuning.h"
#include "util.h"

typedef struct {
    const char *group;
    int ta, tb;
    size_t m, n, k;
    int check; /* compare with the host reference by default */
} shape;

static const shape builtin[] = {
    /* DCGAN: convolutions as im2col GEMMs (forward, input gradient, weight gradient) */
    {"dcgan", 1, 0, 256, 16384, 32, 1},
    {"dcgan", 0, 0, 32, 16384, 256, 0},
    {"dcgan", 0, 1, 16, 16, 131072, 1},
    {"dcgan", 0, 1, 32, 256, 16384, 0},
    {"dcgan", 0, 0, 16, 131072, 16, 0},
    {"dcgan", 1, 0, 512, 8192, 64, 0},
    {"dcgan", 1, 0, 1024, 2048, 128, 0},
    {"dcgan", 0, 0, 64, 8192, 512, 0},
    {"dcgan", 0, 0, 128, 2048, 1024, 0},
    /* VAE: linear layers, batch 128, 784-400-5 */
    {"vae", 0, 1, 128, 400, 784, 1},
    {"vae", 0, 0, 128, 784, 400, 0},
    {"vae", 1, 0, 400, 784, 128, 0},
    {"vae", 0, 1, 128, 784, 400, 0},
    {"vae", 1, 0, 784, 400, 128, 0},
    {"vae", 0, 1, 128, 5, 400, 0},
    {"vae", 0, 0, 128, 400, 5, 1},
    {"vae", 1, 0, 5, 400, 128, 0},
    {"vae", 0, 1, 128, 400, 5, 0},
    {"vae", 1, 0, 400, 5, 128, 0},
    /* CycleGAN: residual blocks at 32x32 with 3x3x256 kernels, and the first layers */
    {"cyclegan", 0, 0, 256, 1024, 2304, 0},
    {"cyclegan", 1, 0, 2304, 1024, 256, 0},
    {"cyclegan", 0, 1, 256, 2304, 1024, 0},
    {"cyclegan", 0, 0, 64, 16384, 576, 0},
    /* the tuner's own problem */
    {"square", 0, 0, 1024, 1024, 1024, 0},
};

typedef struct {
    double med_ms, min_ms;
    double err; /* max |c - ref| / sum |a b| over the checked elements; -1 when not checked */
} result;

static void usage(FILE *f) {
    fprintf(f,
            "usage: gemm_bench [--mode both|on|off] [--runs N] [--warmup N] [--min] [--group NAME] [--check|--no-check]\n"
            "                  [--device SPEC] [TT:MxNxK ...]\n"
            "  TT: NN, NT, TN or TT (op(A), op(B) transposed); shapes replace the built-in list\n"
            "  --min: report the fastest run instead of the median (steadier on a shared machine)\n"
            "  --group: dcgan, vae, cyclegan, square (default: all built-in shapes)\n"
            "  --check: compare every shape with the host reference (default: the marked ones)\n");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0) * 2.0 - 1.0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* C = op(A) op(B) in double, compared with the device's c. */
static double check(const shape *s, const float *a, const float *b, const float *c) {
    size_t m = s->m, n = s->n, k = s->k, lda = s->ta ? m : k, ldb = s->tb ? k : n;
    double worst = 0;
    double *acc = xmalloc(n * sizeof *acc), *mag = xmalloc(n * sizeof *mag);
    for (size_t i = 0; i < m; i++) {
        memset(acc, 0, n * sizeof *acc);
        memset(mag, 0, n * sizeof *mag);
        for (size_t p = 0; p < k; p++) {
            double av = s->ta ? a[p * lda + i] : a[i * lda + p];
            if (s->tb) {
                for (size_t j = 0; j < n; j++) {
                    double bv = b[j * ldb + p];
                    acc[j] += av * bv;
                    mag[j] += fabs(av * bv);
                }
            } else {
                const float *brow = b + p * ldb;
                for (size_t j = 0; j < n; j++) {
                    acc[j] += av * brow[j];
                    mag[j] += fabs(av * brow[j]);
                }
            }
        }
        for (size_t j = 0; j < n; j++) {
            double e = fabs((double)c[i * n + j] - acc[j]) / (mag[j] + 1e-30);
            if (!(e <= worst)) worst = e; /* NaN propagates */
        }
    }
    free(acc);
    free(mag);
    return worst;
}

/* Runs every shape on a device opened with the current environment; writes one result per shape. */
static int run_mode(const char *spec, const shape *shapes, int nshapes, int runs, int warmup, int check_all,
                    result *out, int verbose) {
    char err[1024];
    clg_ctx *c = clg_open(spec, 0, err, sizeof err);
    if (!c) {
        fprintf(stderr, "gemm_bench: %s\n", err);
        return 1;
    }
    if (verbose) {
        char line[700];
        clg_describe(c, line, sizeof line);
        const char *tn = clg_tuning_name(c);
        fprintf(stderr, "device: %s, driver %s; tuning: %s\n", line, c->driver_version,
                tn ? tn : "none (CLBlast defaults)");
    }
    double *times = xmalloc((size_t)(runs > 0 ? runs : 1) * sizeof *times);
    for (int si = 0; si < nshapes; si++) {
        const shape *s = &shapes[si];
        size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
        float *ha = xmalloc(na * sizeof *ha), *hb = xmalloc(nb * sizeof *hb), *hc = xcalloc(nc, sizeof *hc);
        rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)si;
        for (size_t i = 0; i < na; i++) ha[i] = frand();
        for (size_t i = 0; i < nb; i++) hb[i] = frand();
        cl_mem a = clg_alloc(c, na), b = clg_alloc(c, nb), cm = clg_alloc(c, nc);
        clg_write(c, a, 0, na, ha);
        clg_write(c, b, 0, nb, hb);
        clg_write(c, cm, 0, nc, hc);
        size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
        for (int r = 0; r < warmup + runs; r++) {
            double t0 = now_seconds();
            blas_gemm(c, s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, 0, lda, b, 0, ldb, 0.0f, cm, 0, s->n);
            clg_finish(c);
            double t1 = now_seconds();
            if (r >= warmup) times[r - warmup] = (t1 - t0) * 1e3;
        }
        qsort(times, (size_t)runs, sizeof *times, cmp_double);
        out[si].min_ms = times[0];
        out[si].med_ms = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
        out[si].err = -1;
        if (s->check || check_all) {
            clg_read(c, cm, 0, nc, hc);
            out[si].err = check(s, ha, hb, hc);
        }
        clReleaseMemObject(a);
        clReleaseMemObject(b);
        clReleaseMemObject(cm);
        free(ha);
        free(hb);
        free(hc);
    }
    free(times);
    clg_close(c);
    return 0;
}

/* Runs run_mode in a child process with CLGAN_NO_TUNING set or unset; 0 when it delivered results. */
static int run_child(int tuned, const char *spec, const shape *shapes, int nshapes, int runs, int warmup,
                     int check_all, result *out) {
    int fd[2];
    if (pipe(fd) != 0) die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
        close(fd[0]);
        if (tuned) unsetenv("CLGAN_NO_TUNING");
        else setenv("CLGAN_NO_TUNING", "1", 1);
        result *r = xcalloc((size_t)nshapes, sizeof *r);
        int rc = run_mode(spec, shapes, nshapes, runs, warmup, check_all, r, 1);
        if (rc == 0) {
            size_t len = (size_t)nshapes * sizeof *r;
            const char *p = (const char *)r;
            while (len) {
                ssize_t w = write(fd[1], p, len);
                if (w <= 0) _exit(1);
                p += w;
                len -= (size_t)w;
            }
        }
        _exit(rc);
    }
    close(fd[1]);
    size_t len = (size_t)nshapes * sizeof *out, got = 0;
    while (got < len) {
        ssize_t r = read(fd[0], (char *)out + got, len - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        fprintf(stderr, "gemm_bench: the tuning-%s run died with signal %d (%s)\n", tuned ? "on" : "off",
                WTERMSIG(status), strsignal(WTERMSIG(status)));
    return got == len && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int parse_shape(const char *arg, shape *s) {
    char t1, t2;
    unsigned long long m, n, k;
    char tail;
    if (sscanf(arg, "%c%c:%llux%llux%llu%c", &t1, &t2, &m, &n, &k, &tail) != 5) return -1;
    if ((t1 != 'N' && t1 != 'T') || (t2 != 'N' && t2 != 'T') || !m || !n || !k) return -1;
    *s = (shape){"user", t1 == 'T', t2 == 'T', (size_t)m, (size_t)n, (size_t)k, m * n * k <= (1ULL << 26)};
    return 0;
}

static void print_err(double e) {
    if (e < 0) printf("  %9s", "-");
    else printf("  %9.1e%s", e, e <= 1e-4 ? "" : " FAIL");
}

int main(int argc, char **argv) {
    const char *mode = "both", *group = NULL, *spec = NULL;
    int runs = 7, warmup = 2, check_all = 0, no_check = 0, use_min = 0;
    shape *user = xmalloc((size_t)argc * sizeof *user);
    int nuser = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(a, "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--group") && i + 1 < argc) group = argv[++i];
        else if (!strcmp(a, "--device") && i + 1 < argc) spec = argv[++i];
        else if (!strcmp(a, "--check")) check_all = 1;
        else if (!strcmp(a, "--min")) use_min = 1;
        else if (!strcmp(a, "--no-check")) no_check = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (parse_shape(a, &user[nuser]) == 0) nuser++;
        else {
            fprintf(stderr, "gemm_bench: cannot read argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (runs < 1 || warmup < 0 || (strcmp(mode, "both") && strcmp(mode, "on") && strcmp(mode, "off"))) {
        usage(stderr);
        return 2;
    }
    shape *shapes = user;
    int nshapes = nuser;
    if (!nuser) {
        shapes = xmalloc(sizeof builtin);
        for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
            if (!group || !strcmp(group, builtin[i].group)) shapes[nshapes++] = builtin[i];
        if (!nshapes) {
            fprintf(stderr, "gemm_bench: no built-in shapes in group '%s'\n", group);
            return 2;
        }
    }
    if (no_check)
        for (int i = 0; i < nshapes; i++) shapes[i].check = 0;

    int want_off = strcmp(mode, "on") != 0, want_on = strcmp(mode, "off") != 0;
    result *off = xcalloc((size_t)nshapes, sizeof *off), *on = xcalloc((size_t)nshapes, sizeof *on);
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", localtime(&now));
    printf("gemm_bench %s: %s of %d runs after %d warm-up, wall time per call incl. clFinish\n", date,
           use_min ? "fastest" : "median", runs, warmup);
    fflush(stdout);
    if (want_off && run_child(0, spec, shapes, nshapes, runs, warmup, check_all, off) != 0) return 1;
    if (want_on && run_child(1, spec, shapes, nshapes, runs, warmup, check_all, on) != 0) return 1;
    if (use_min)
        for (int i = 0; i < nshapes; i++) {
            off[i].med_ms = off[i].min_ms;
            on[i].med_ms = on[i].min_ms;
        }

    printf("%-9s %-2s %6s %6s %6s %7s", "group", "op", "M", "N", "K", "cbrtMNK");
    if (want_off) printf(" %9s %8s", "off ms", "off GF/s");
    if (want_on) printf(" %9s %8s", "on ms", "on GF/s");
    if (want_off && want_on) printf(" %7s", "speedup");
    if (want_off) printf("  %9s", "off err");
    if (want_on) printf("  %9s", "on err");
    printf("\n");
    double tot_off = 0, tot_on = 0, flops = 0;
    const char *cur = NULL;
    for (int i = 0; i <= nshapes; i++) {
        if (i == nshapes || (cur && strcmp(cur, shapes[i].group) != 0)) {
            printf("%-9s %-2s %6s %6s %6s %7s", cur, "", "", "", "", "total");
            if (want_off) printf(" %9.2f %8.1f", tot_off, flops / (tot_off * 1e6));
            if (want_on) printf(" %9.2f %8.1f", tot_on, flops / (tot_on * 1e6));
            if (want_off && want_on) printf(" %6.2fx", tot_off / tot_on);
            printf("\n");
            tot_off = tot_on = flops = 0;
            if (i == nshapes) break;
        }
        const shape *s = &shapes[i];
        cur = s->group;
        double f = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        flops += f;
        tot_off += off[i].med_ms;
        tot_on += on[i].med_ms;
        printf("%-9s %c%c %6zu %6zu %6zu %7.0f", s->group, s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k,
               cbrt((double)s->m * (double)s->n * (double)s->k));
        if (want_off) printf(" %9.3f %8.1f", off[i].med_ms, f / (off[i].med_ms * 1e6));
        if (want_on) printf(" %9.3f %8.1f", on[i].med_ms, f / (on[i].med_ms * 1e6));
        if (want_off && want_on) printf(" %6.2fx", off[i].med_ms / on[i].med_ms);
        if (want_off) print_err(off[i].err);
        if (want_on) print_err(on[i].err);
        printf("\n");
    }
    int fail = 0;
    for (int i = 0; i < nshapes; i++)
        if ((want_off && off[i].err > 1e-4) || (want_on && on[i].err > 1e-4) || isnan(off[i].err) ||
            isnan(on[i].err))
            fail = 1;
    if (fail) printf("CHECK FAILED: a result differs from the host reference by more than 1e-4 of sum |a b|\n");
    free(off);
    free(on);
    if (shapes != user) free(shapes);
    free(user);
    return fail;
}
