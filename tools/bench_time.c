/* Measuring a row, and printing rows as a table and as CSV.
 *
 * Timing. The context is opened with profiling, so every launch records its event's device time
 * (host/device.c clg_prof_event) and a run's device time is the growth of that total. CLBlast is the
 * exception: the event of an indirect GEMM is that of its last kernel only (the pad/transpose kernels
 * before it are not counted: 1024^3 read 2.9 ms of events against 65 ms of wall time), so a row that
 * calls CLBlast is timed by the host clock between two clFinish calls instead, and says "wall". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"

bench_row *rows_add(row_list *l) {
    if (l->n == l->cap) l->r = xrealloc(l->r, (size_t)(l->cap = l->cap ? 2 * l->cap : 64) * sizeof *l->r);
    bench_row *r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    return r;
}

void bench_backward(tape *t, int y, tensor dy, int n0) {
    for (int i = 0; i < t->nvars; i++) t->vars[i].grad_state = 0;
    t->vars[y].grad = dy;
    t->vars[y].grad_state = 1;
    for (int i = t->nnodes - 1; i >= n0; i--) {
        const tnode *nd = &t->nodes[i];
        if (t->vars[nd->out].grad_state) nd->backward(t, nd);
    }
}

typedef struct {
    double wall, dev;
    long gemms;
} mark;

static mark now_mark(clg_ctx *c) {
    clg_finish(c);
    mark m = {.wall = now_seconds()};
    m.dev = clg_prof_total(c, NULL, NULL);
    clg_prof_total(c, "sgemm", &m.gemms);
    return m;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_measure(clg_ctx *c, const bench_opts *o, const bench_work *w, bench_result *r) {
    memset(r, 0, sizeof *r);
    clg_prof_reset(c);
    if (w->pre) w->pre(w->st);
    w->run(w->st);
    clg_finish(c);
    r->err = w->check ? w->check(w->st) : -1;
    for (int i = 0; i < o->warmup; i++) {
        if (w->pre) w->pre(w->st);
        w->run(w->st);
    }
    double *wall = xmalloc((size_t)o->max_runs * sizeof *wall), *dev = xmalloc((size_t)o->max_runs * sizeof *dev);
    double spent = 0;
    long gemms = 0;
    int n = 0;
    while (n < o->max_runs && (n < o->min_runs || spent < o->target_s)) {
        if (w->pre) w->pre(w->st);
        mark a = now_mark(c);
        w->run(w->st);
        mark b = now_mark(c);
        wall[n] = (b.wall - a.wall) * 1e3;
        dev[n] = b.dev - a.dev;
        gemms += b.gemms - a.gemms;
        spent += wall[n] * 1e-3;
        n++;
    }
    double dev_sum = 0;
    for (int i = 0; i < n; i++) dev_sum += dev[i];
    r->wall = gemms > 0 || !c->profiling || dev_sum <= 0;
    double *t = r->wall ? wall : dev;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    r->runs = n;
    r->min_ms = t[0];
    r->med_ms = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    free(wall);
    free(dev);
    clg_prof_reset(c);
}

/* ---- output --------------------------------------------------------------------------------- */

/* rate in GFLOP/s or GB/s, and the percentage of its ceiling (0 when unknown). */
static double rate(const bench_row *r, const bench_result *res, const bench_peaks *pk, double *pct) {
    double secs = res->med_ms * 1e-3, v = r->flops > 0 ? r->flops / secs * 1e-9 : r->bytes / secs * 1e-9;
    double peak = r->flops > 0 ? pk->gflops : pk->gbps;
    *pct = peak > 0 ? 100.0 * v / peak : 0;
    return v;
}

void bench_print_header(FILE *f) {
    fprintf(f, "%-28s %-40s %-5s %4s %10s %10s %9s %-6s %6s %9s  %s\n", "row", "shape", "timer", "runs", "median ms",
            "min ms", "rate", "", "%peak", "max err", "check");
}

void bench_print_row(FILE *f, const bench_row *r, const bench_result *res, const bench_peaks *pk, int ok) {
    double pct, v = rate(r, res, pk, &pct);
    fprintf(f, "%-28s %-40s %-5s %4d %10.3f %10.3f %9.1f %-6s %5.1f%% %9.1e  %s\n", r->name, r->shape,
            res->wall ? "wall" : "event", res->runs, res->med_ms, res->min_ms, v, r->flops > 0 ? "GF/s" : "GB/s", pct,
            res->err, ok ? "ok" : "FAIL");
    fflush(f);
}

void bench_csv_header(FILE *f) {
    fprintf(f, "row,shape,timer,runs,median_ms,min_ms,gflops,gbps,pct_of_peak,max_err,check\n");
}

void bench_csv_row(FILE *f, const bench_row *r, const bench_result *res, const bench_peaks *pk, int ok) {
    double pct, v = rate(r, res, pk, &pct);
    char gf[32] = "", gb[32] = "";
    snprintf(r->flops > 0 ? gf : gb, 32, "%.4g", v);
    fprintf(f, "%s,\"%s\",%s,%d,%.6g,%.6g,%s,%s,%.4g,%.3e,%s\n", r->name, r->shape, res->wall ? "wall" : "event",
            res->runs, res->med_ms, res->min_ms, gf, gb, pct, res->err, ok ? "ok" : "FAIL");
    fflush(f);
}
