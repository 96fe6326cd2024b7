/* ./bench --model NAME --profile: where a training step's device time goes, per tape op, from OpenCL
 * events. A context opened with profiling waits for every launch's event (host/device.c), so the
 * device time recorded between two tape hooks (host/tape_prof.h: after an op's forward launches, after
 * a node's backward) belongs to that op. Kernels that no op launches (gradient zeroing, the optimizer,
 * noise, copies) are charged to rows of their own by kernel name, whatever op they fall beside.
 * Waiting for each event makes the profiled step slower than the timed one: the table is for shares
 * and launch counts, the timed run (without profiling) for speed. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tape_prof.h"
#include "util.h"

typedef struct {
    char name[64];
    double ms;
    long calls, launches;
} prof_row;

typedef struct prof_table {
    clg_ctx *cl;
    prof_row *r;
    int n, cap;
    long gemms; /* CLBlast calls (their events are named "sgemm ...") */
    struct prof_table *kernels; /* the same time by kernel name (CLGAN_PROFILE=2: and global size) */
} prof_table;

/* Kernels outside any op, by name prefix. */
static const char *const loose[] = {"fill", "adam", "rmsprop", "rng_", "copy", "clip"};

static prof_row *row(prof_table *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->r[i].name, name)) return &p->r[i];
    if (p->n == p->cap) p->r = xrealloc(p->r, (size_t)(p->cap = p->cap ? 2 * p->cap : 32) * sizeof *p->r);
    prof_row *r = &p->r[p->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

static void charge_kernel(void *ud, const char *name, long count, double ms) {
    prof_row *r = row(ud, name);
    r->ms += ms, r->launches += count, r->calls += count;
}

/* Charges the device time recorded since the last call to op (NULL: outside any op), then forgets it. */
static void charge(void *ud, const char *op, int backward) {
    prof_table *p = ud;
    clg_prof_each(p->cl, charge_kernel, p->kernels);
    long n_all, g;
    double ms = clg_prof_total(p->cl, NULL, &n_all);
    clg_prof_total(p->cl, "sgemm", &g);
    p->gemms += g;
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        long n;
        double m = clg_prof_total(p->cl, loose[i], &n);
        if (!n) continue;
        char name[64];
        snprintf(name, sizeof name, "(%s kernels, no op)", loose[i]);
        prof_row *r = row(p, name);
        r->ms += m, r->launches += n, r->calls += n;
        ms -= m, n_all -= n;
    }
    if (op || n_all) {
        char name[64];
        if (op) snprintf(name, sizeof name, "%s %s", op, backward ? "backward" : "forward");
        else snprintf(name, sizeof name, "(other kernels, no op)");
        prof_row *r = row(p, name);
        r->ms += ms, r->launches += n_all, r->calls += op != NULL;
    }
    clg_prof_reset(p->cl);
}

static int by_ms(const void *a, const void *b) {
    double x = ((const prof_row *)a)->ms, y = ((const prof_row *)b)->ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

int bench_profile_model(const model_desc *m, const cfg *c, const char *device, int warmup, int iters) {
    char err[4096];
    clg_ctx *cl = clg_open(device, 1, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    trainer *tr = trainer_new(m, c, cl, 0, err, sizeof err);
    if (!tr) {
        fprintf(stderr, "bench: %s\n", err);
        clg_close(cl);
        return -1;
    }
    for (int i = 0; i < warmup; i++) m->iteration(tr);
    clg_finish(cl);
    clg_prof_reset(cl);
    prof_table k = {.cl = cl}, p = {.cl = cl, .kernels = &k};
    tape_prof_set(charge, &p);
    double t0 = now_seconds();
    for (int i = 0; i < iters; i++) {
        m->iteration(tr);
        clg_finish(cl);
        charge(&p, NULL, 0);
    }
    double wall = (now_seconds() - t0) / iters;
    tape_prof_set(NULL, NULL);
    qsort(p.r, (size_t)p.n, sizeof *p.r, by_ms);
    double total = 0;
    long launches = 0;
    for (int i = 0; i < p.n; i++) total += p.r[i].ms, launches += p.r[i].launches;
    printf("\nprofile: %d iterations after %d warm-up, every launch waited for (%.4g s/iter so, against the timed\n"
           "run above); device time per tape op from OpenCL events, per iteration\n", iters, warmup, wall);
    printf("%-40s %8s %9s %10s %7s\n", "op", "calls", "launches", "ms", "share");
    for (int i = 0; i < p.n; i++)
        printf("%-40s %8.3g %9.3g %10.3f %6.1f%%\n", p.r[i].name, (double)p.r[i].calls / iters,
               (double)p.r[i].launches / iters, p.r[i].ms / iters, total > 0 ? 100.0 * p.r[i].ms / total : 0.0);
    printf("%-40s %8s %9.3g %10.3f\n", "total", "", (double)launches / iters, total / iters);
    printf("kernel launches per iteration: %.1f (OpenCL events)", (double)launches / iters);
    if (p.gemms) printf(", of which %.1f CLBlast GEMM calls: each 1 to 4 kernels, its pad/transpose kernels not among\n"
                        "the events (nor in the times above)", (double)p.gemms / iters);
    printf("\n");
    qsort(k.r, (size_t)k.n, sizeof *k.r, by_ms);
    int shown = k.n < 25 ? k.n : 25;
    printf("\nthe %d kernels that took longest%s, per iteration\n", shown,
           cl->profiling >= 2 ? " (by global work size: CLGAN_PROFILE=2)" : " (CLGAN_PROFILE=2: by global work size)");
    printf("%-40s %8s %10s %7s\n", "kernel", "launches", "ms", "share");
    for (int i = 0; i < shown; i++)
        printf("%-40s %8.3g %10.3f %6.1f%%\n", k.r[i].name, (double)k.r[i].launches / iters, k.r[i].ms / iters,
               total > 0 ? 100.0 * k.r[i].ms / total : 0.0);
    free(k.r);
    free(p.r);
    trainer_free(tr);
    clg_prof_reset(cl);
    clg_close(cl);
    return 0;
}
