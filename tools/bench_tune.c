/* ./bench --tune [-c FILE.ini] [-d DEVICE] [--set S.K=V]... [--iters N] [--budget SECONDS]: searches the
 * kernel parameters (host/tuning.h, c->kp) and CLBlast's for the model of an INI (default
 * ini/cyclegan.ini, the main job) on this device, and stores the fastest set that passes the check
 * (clg_tuning_store) for ./train, ./bench and ./translate to use.
 *
 * What a candidate is timed on: whole training iterations of the INI's model on fixed random batches
 * (models/model.h, with_data 0), so every conv and GEMM shape of the model runs in the model's own
 * proportions, and nothing else a candidate does not change is left out or counted twice. Each candidate
 * runs in a child process of its own (a fresh context, program build and CLBlast database: a candidate
 * that crashes or fails to build costs only itself); its first iteration compiles the kernels and is
 * the check, then one warm-up and N timed iterations. The measure is the fastest timed iteration (the
 * machine is shared: the fastest shows the code, the mean the neighbours).
 *
 * The check: the first iteration's losses (same seed, so the same initial weights and random batch) must
 * agree with the default set's within TUNE_TOL relative. A wrong kernel gives losses far off; the
 * kernels' own correctness at every set the tuner can choose is tests/test_tuning.c's.
 *
 * The search samples the space in phases, each starting from the best set so far (coordinate descent),
 * over hand-picked lists (host/tuning.h, clg_tune_*: register blocks for AVX-512 and for AVX2, every one
 * of which tests/test_tuning.c checks against a double reference):
 *   1. conv_rows: the 6 other (CONV_ROWS_MR, VW, NV) of clg_tune_rows,
 *   2. conv_nt: the 5 other (CONV_NT_MR, NR, VW) of clg_tune_nt,
 *   3. work-groups: conv_wg 4 and 16, then wg 64 and 256, then reduce_wg (of clg_tune_reduce_wg), then
 *      the Winograd thresholds (clg_tune_wino_*: where the direct kernels hand stride-1 3x3 over),
 *   4. CLBlast: the skylake-avx512 table's sets and three variations (tuning.c, docs/TUNING.md),
 * then the winner and the default once more, alternately, and the winner is kept only if it is still
 * faster by TUNE_MARGIN. A search that fails or is interrupted stores nothing: the default (or the set
 * stored before) stays. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "ini_path.h"
#include "model.h"
#include "tuning.h"
#include "util.h"

#define TUNE_TOL 1e-3    /* relative difference of a first-iteration loss against the default's */
#define TUNE_MARGIN 0.03 /* a winner must beat the default by this much in the confirming round */
#define MAXLOSS 16


typedef struct {
    const char *ini, *device;
    const char **sets;
    int nsets, iters;
    double budget;
} tune_opts;

typedef struct {
    clg_kparams kp;
    char clblast[1024];
    const char *what; /* phase */
} cand;

typedef struct {
    int ok, nloss;
    double best, mean; /* seconds per iteration: fastest, mean of the timed ones */
    double loss[MAXLOSS];
    char err[512];
} result;

static cfg *load_config(const tune_opts *o, const model_desc **m, char *err, size_t errlen) {
    return bench_model_config(o->ini, o->sets, o->nsets, m, err, errlen);
}

/* In the child: time the candidate, write one result line to fd. */
static void child_run(const tune_opts *o, const cand *k, int fd) {
    char err[4096], line[2048];
    int n = 0;
    const model_desc *m;
    cfg *c = load_config(o, &m, err, sizeof err);
    clg_ctx *cl = c ? clg_open(o->device, 0, err, sizeof err) : NULL;
    if (!cl) {
        n = snprintf(line, sizeof line, "fail %.500s\n", err);
    } else {
        cl->kp = k->kp; /* before the first kernel: the program is built with these -D options */
        int refused = k->clblast[0] ? clg_clblast_override(cl, k->clblast) : 0;
        trainer *tr = refused ? NULL : trainer_new(m, c, cl, 0, err, sizeof err);
        if (refused) n = snprintf(line, sizeof line, "fail CLBlast refused %d kernel set(s)\n", refused);
        else if (!tr) n = snprintf(line, sizeof line, "fail %.500s\n", err);
        else {
            m->iteration(tr); /* compiles, and is the check */
            clg_finish(cl);
            double loss[MAXLOSS];
            int nl = tr->nloss < MAXLOSS ? tr->nloss : MAXLOSS;
            for (int i = 0; i < nl; i++) {
                tensor v = tape_val(&tr->t, tr->loss[i]);
                float f;
                clg_read(cl, v.mem, v.off, 1, &f);
                loss[i] = f;
            }
            m->iteration(tr); /* warm-up */
            clg_finish(cl);
            double best = INFINITY, t0 = now_seconds();
            for (int i = 0; i < o->iters; i++) {
                double ti = now_seconds();
                m->iteration(tr);
                clg_finish(cl);
                if (now_seconds() - ti < best) best = now_seconds() - ti;
            }
            double mean = (now_seconds() - t0) / o->iters;
            n = snprintf(line, sizeof line, "ok %.9g %.9g %d", best, mean, nl);
            for (int i = 0; i < nl && n < (int)sizeof line - 32; i++) n += snprintf(line + n, sizeof line - (size_t)n, " %.9g", loss[i]);
            n += snprintf(line + n, sizeof line - (size_t)n, "\n");
            trainer_free(tr);
        }
        clg_close(cl);
    }
    if (c) cfg_free(c);
    if (n > 0 && write(fd, line, (size_t)n) != n) _exit(3);
}

/* Runs fn(o, arg, fd) in a child process (its stderr to /dev/null: the child's own lines, such as the
 * kernel-parameter line, are not the search's) and reads what it writes to fd into buf. The parent
 * never initialises OpenCL itself, so no child inherits a live runtime. Returns the wait status. */
typedef void (*child_fn)(const tune_opts *o, const void *arg, int fd);
static int in_child(const tune_opts *o, child_fn fn, const void *arg, char *buf, size_t buflen) {
    int fd[2];
    if (pipe(fd) != 0) die("bench --tune: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("bench --tune: fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        fn(o, arg, fd[1]);
        close(fd[1]);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t got;
    while (len + 1 < buflen && (got = read(fd[0], buf + len, buflen - 1 - len)) > 0) len += (size_t)got;
    buf[len] = '\0';
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

static void status_text(int status, char *out, size_t outlen) {
    snprintf(out, outlen, "the child process ended (%s %d) without a result", WIFSIGNALED(status) ? "signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void candidate_fn(const tune_opts *o, const void *arg, int fd) { child_run(o, arg, fd); }

static void run_candidate(const tune_opts *o, const cand *k, result *r) {
    memset(r, 0, sizeof *r);
    char buf[2048];
    int status = in_child(o, candidate_fn, k, buf, sizeof buf);
    if (!strncmp(buf, "ok ", 3)) {
        char *p = buf + 3, *end;
        r->best = strtod(p, &end);
        r->mean = strtod(end, &end);
        r->nloss = (int)strtol(end, &end, 10);
        for (int i = 0; i < r->nloss && i < MAXLOSS; i++) r->loss[i] = strtod(end, &end);
        r->ok = r->best > 0 && r->nloss >= 0 && r->nloss <= MAXLOSS;
    } else if (!strncmp(buf, "fail ", 5)) {
        snprintf(r->err, sizeof r->err, "%.*s", (int)strcspn(buf + 5, "\n"), buf + 5);
    } else {
        status_text(status, r->err, sizeof r->err);
    }
}

/* The device's name, default set and store path: "info\t<kp>\t<path>\t<description>\n". */
static void info_fn(const tune_opts *o, const void *arg, int fd) {
    (void)arg;
    char err[4096], path[4400], kp[CLG_KP_TEXT], desc[600], line[6000];
    clg_ctx *cl = clg_open(o->device, 0, err, sizeof err);
    int n;
    if (!cl) n = snprintf(line, sizeof line, "fail %.1000s\n", err);
    else {
        clg_kparams d;
        clg_kparams_default(cl, &d);
        clg_kparams_format(&d, kp, sizeof kp);
        clg_tuning_path(cl, path, sizeof path);
        clg_describe(cl, desc, sizeof desc);
        n = snprintf(line, sizeof line, "info\t%s\t%s\t%s\n", kp, path, desc);
        clg_close(cl);
    }
    if (n > 0 && write(fd, line, (size_t)n) != n) _exit(3);
}

/* Stores the set arg for this device (the store names the device, driver and kernel sources). */
static void store_fn(const tune_opts *o, const void *arg, int fd) {
    const clg_tuned_set *st = arg;
    char err[4096], path[4400], line[6000];
    clg_ctx *cl = clg_open(o->device, 0, err, sizeof err);
    int n;
    if (!cl) n = snprintf(line, sizeof line, "fail %.1000s\n", err);
    else {
        clg_tuning_path(cl, path, sizeof path);
        if (clg_tuning_store(cl, path, st, err, sizeof err) != 0) n = snprintf(line, sizeof line, "fail %.1000s\n", err);
        else n = snprintf(line, sizeof line, "stored %s\n", path);
        clg_close(cl);
    }
    if (n > 0 && write(fd, line, (size_t)n) != n) _exit(3);
}

/* The check against the default's first-iteration losses; 1 if it passes (why filled otherwise). */
static int check_losses(const result *r, const result *ref, char *why, size_t whylen) {
    if (r->nloss != ref->nloss) {
        set_err(why, whylen, "%d losses, the default %d", r->nloss, ref->nloss);
        return 0;
    }
    for (int i = 0; i < r->nloss; i++) {
        double d = fabs(r->loss[i] - ref->loss[i]), mag = fabs(ref->loss[i]) > 1 ? fabs(ref->loss[i]) : 1;
        if (!(d <= TUNE_TOL * mag)) {
            set_err(why, whylen, "loss %d is %.7g, the default's %.7g", i, r->loss[i], ref->loss[i]);
            return 0;
        }
    }
    return 1;
}

static void describe(const cand *k, char *out, size_t outlen) {
    snprintf(out, outlen, "rows %dx%dx%d nt %dx%dx%d wg %d/%d/%d/%d wino %d/%d/%d/%d panels %d s2d %d oc %d%s",
             k->kp.conv_rows_mr, k->kp.conv_rows_vw, k->kp.conv_rows_nv, k->kp.conv_nt_mr, k->kp.conv_nt_nr,
             k->kp.conv_nt_vw, k->kp.conv_wg, k->kp.wg, k->kp.rows_wg, k->kp.reduce_wg, k->kp.wino_min_c,
             k->kp.wino_min_w, k->kp.wino_dw_min_c, k->kp.wino4_min_w, k->kp.panel_min_k, k->kp.s2d_dx, k->kp.oc_max_k,
             k->clblast[0] ? " +CLBlast set" : "");
}

/* CLBlast candidates (docs/TUNING.md): the skylake-avx512 table's Xgemm/XgemmDirect/threshold, then with
 * the best 64-wide direct set, a lower indirect threshold, and the tuner's phase-1 Xgemm set. Each gives
 * every parameter of the three kernels, so no candidate inherits another's. */
#define XGEMM_T "Xgemm:GEMMK=0,KREG=1,KWG=32,KWI=2,MDIMA=8,MDIMC=8,MWG=64,NDIMB=16,NDIMC=8,NWG=128,SA=0,SB=1,STRM=0,STRN=0,VWM=8,VWN=4"
#define XGEMM_P1 "Xgemm:GEMMK=0,KREG=1,KWG=32,KWI=2,MDIMA=8,MDIMC=8,MWG=64,NDIMB=8,NDIMC=8,NWG=64,SA=0,SB=0,STRM=0,STRN=0,VWM=4,VWN=2"
#define DIRECT_T "XgemmDirect:KWID=2,MDIMAD=8,MDIMCD=8,NDIMBD=8,NDIMCD=8,PADA=1,PADB=1,VWMD=2,VWND=1,WGD=16"
#define DIRECT_64 "XgemmDirect:KWID=2,MDIMAD=32,MDIMCD=8,NDIMBD=8,NDIMCD=8,PADA=0,PADB=1,VWMD=2,VWND=4,WGD=64"
static const char *const clblast_cands[] = {
    XGEMM_T ";" DIRECT_T ";GemmRoutine:XGEMM_MIN_INDIRECT_SIZE=330",
    XGEMM_T ";" DIRECT_64 ";GemmRoutine:XGEMM_MIN_INDIRECT_SIZE=330",
    XGEMM_T ";" DIRECT_T ";GemmRoutine:XGEMM_MIN_INDIRECT_SIZE=128",
    XGEMM_P1 ";" DIRECT_T ";GemmRoutine:XGEMM_MIN_INDIRECT_SIZE=330",
};

typedef struct {
    const tune_opts *o;
    double t0;
    int tried, over;
    cand best;
    result best_r, ref;
} search;

/* Times k; makes it the best if it passes the check and is faster. */
static void try_cand(search *s, const cand *k) {
    char d[256], why[512] = "";
    describe(k, d, sizeof d);
    if (now_seconds() - s->t0 > s->o->budget) {
        if (!s->over) printf("  budget of %.0f s spent: the remaining candidates are skipped\n", s->o->budget);
        s->over = 1;
        return;
    }
    result r;
    run_candidate(s->o, k, &r);
    s->tried++;
    int pass = r.ok && check_losses(&r, &s->ref, why, sizeof why);
    if (!r.ok) printf("  %-9s %-52s FAILED: %s\n", k->what, d, r.err);
    else if (!pass) printf("  %-9s %-52s %.4f s/iter, check FAILED: %s\n", k->what, d, r.best, why);
    else {
        int better = r.best < s->best_r.best;
        printf("  %-9s %-52s %.4f s/iter (mean %.4f)%s\n", k->what, d, r.best, r.mean, better ? "  best so far" : "");
        if (better) s->best = *k, s->best_r = r;
    }
    fflush(stdout);
}

/* The best set so far with the kernel parameter at field offset off set to each of vals (3). */
static void try_values(search *s, const char *what, size_t off, const int vals[3]) {
    cand base = s->best;
    for (int i = 0; i < 3; i++) {
        cand k = base;
        k.what = what;
        *(int *)((char *)&k.kp + off) = vals[i];
        if (memcmp(&k.kp, &s->best.kp, sizeof k.kp)) try_cand(s, &k);
    }
}

static int usage_err(const char *msg) {
    fprintf(stderr, "bench --tune: %s\nusage: bench --tune [-c FILE.ini] [-d DEVICE] [--set S.K=V]... [--iters N] "
                    "[--budget SECONDS]\n", msg);
    return 2;
}

int bench_tune_main(int argc, char **argv) {
    tune_opts o = {.ini = NULL, .iters = 3, .budget = 300};
    const char *config = "cyclegan.ini";
    o.sets = xcalloc((size_t)argc, sizeof *o.sets);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        char *end;
        if (!strcmp(a, "--tune")) continue;
        if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has) config = argv[++i];
        else if ((!strcmp(a, "-d") || !strcmp(a, "--device")) && has) o.device = argv[++i];
        else if (!strcmp(a, "--set") && has) o.sets[o.nsets++] = argv[++i];
        else if (!strcmp(a, "--iters") && has) {
            long v = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || v < 1 || v > 100) return usage_err("--iters wants 1..100");
            o.iters = (int)v;
        } else if (!strcmp(a, "--budget") && has) {
            o.budget = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(o.budget >= 10 && o.budget <= 86400)) return usage_err("--budget wants 10..86400 seconds");
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown or incomplete argument '%.200s'", a);
            return usage_err(msg);
        }
    }
    const char *nt = getenv("CLGAN_NO_TUNING");
    if (nt && *nt && strcmp(nt, "0") != 0) return usage_err("CLGAN_NO_TUNING is set: unset it to tune");
    char ini[4300], err[4096], path[4400];
    ini_resolve(config, ini, sizeof ini);
    o.ini = ini;
    const model_desc *m;
    cfg *c = load_config(&o, &m, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench --tune: %s\n", err);
        return 2;
    }
    cfg_free(c);
    char buf[6000], desc[600], date[64];
    int status = in_child(&o, info_fn, NULL, buf, sizeof buf);
    char *f1 = strchr(buf, '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL, *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
    cand def = {.what = "default"};
    if (strncmp(buf, "info\t", 5) != 0 || !f3) {
        if (!strncmp(buf, "fail ", 5)) fprintf(stderr, "bench --tune: %s", buf + 5);
        else status_text(status, err, sizeof err), fprintf(stderr, "bench --tune: %s\n", err);
        return o.device ? 2 : 1;
    }
    *f2 = *f3 = '\0';
    f3[strcspn(f3 + 1, "\n") + 1] = '\0';
    if (clg_kparams_parse(f1 + 1, &def.kp, err, sizeof err) != 0) die("bench --tune: %s", err);
    snprintf(path, sizeof path, "%s", f2 + 1);
    snprintf(desc, sizeof desc, "%s", f3 + 1);
    /* the candidates are measured without any stored set or CLGAN_CLBLAST_PARAMS in force */
    char none[4500];
    snprintf(none, sizeof none, "%s.none-during-tune", path);
    setenv("CLGAN_TUNING_FILE", none, 1);
    unsetenv("CLGAN_CLBLAST_PARAMS");
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%MZ", gmtime(&now));
    double load[3] = {0};
    getloadavg(load, 3);
    printf("bench --tune %s on %s\n%s, load %.2f; %d timed iterations per candidate (the fastest counts), budget "
           "%.0f s\n", ini, desc, date, load[0], o.iters, o.budget);
    fflush(stdout);

    search s = {.o = &o, .t0 = now_seconds()};
    s.best = def;
    run_candidate(&o, &def, &s.ref);
    if (!s.ref.ok) {
        fprintf(stderr, "bench --tune: the default set failed: %s; nothing stored\n", s.ref.err);
        return 1;
    }
    s.best_r = s.ref;
    char d[256];
    describe(&def, d, sizeof d);
    printf("  %-9s %-52s %.4f s/iter (mean %.4f)\n", "default", d, s.ref.best, s.ref.mean);

    /* 1. conv_rows, 2. conv_nt, each list's entries from the best so far */
    for (int i = 0; i < CLG_TUNE_ROWS; i++) {
        cand k = s.best;
        k.what = "conv_rows";
        k.kp.conv_rows_mr = clg_tune_rows[i][0], k.kp.conv_rows_vw = clg_tune_rows[i][1], k.kp.conv_rows_nv = clg_tune_rows[i][2];
        if (memcmp(&k.kp, &s.best.kp, sizeof k.kp)) try_cand(&s, &k);
    }
    for (int i = 0; i < CLG_TUNE_NT; i++) {
        cand k = s.best;
        k.what = "conv_nt";
        k.kp.conv_nt_mr = clg_tune_nt[i][0], k.kp.conv_nt_nr = clg_tune_nt[i][1], k.kp.conv_nt_vw = clg_tune_nt[i][2];
        if (memcmp(&k.kp, &s.best.kp, sizeof k.kp)) try_cand(&s, &k);
    }
    /* 3. work-groups, one size at a time */
    try_values(&s, "wg", offsetof(clg_kparams, conv_wg), clg_tune_conv_wg);
    try_values(&s, "wg", offsetof(clg_kparams, wg), clg_tune_wg);
    try_values(&s, "wg", offsetof(clg_kparams, reduce_wg), clg_tune_reduce_wg);
    /* 3b. where Winograd takes over from the direct kernels */
    try_values(&s, "Winograd", offsetof(clg_kparams, wino_min_c), clg_tune_wino_min_c);
    try_values(&s, "Winograd", offsetof(clg_kparams, wino_min_w), clg_tune_wino_min_w);
    try_values(&s, "Winograd", offsetof(clg_kparams, wino_dw_min_c), clg_tune_wino_dw_min_c);
    /* 3c. where strided convolutions take pixel panels */
    try_values(&s, "panels", offsetof(clg_kparams, panel_min_k), clg_tune_panel_min_k);
    /* 3d. where strided data gradients take the space-to-depth adjoint on conv_rows */
    try_values(&s, "s2d adjoint", offsetof(clg_kparams, s2d_dx), clg_tune_s2d_dx);
    try_values(&s, "Winograd", offsetof(clg_kparams, wino4_min_w), clg_tune_wino4_min_w);
    /* 3e. where strided convolutions take conv_oc */
    try_values(&s, "conv_oc", offsetof(clg_kparams, oc_max_k), clg_tune_oc_max_k);
    /* 4. CLBlast */
    cand base = s.best;
    for (size_t i = 0; i < sizeof clblast_cands / sizeof clblast_cands[0]; i++) {
        cand k = base;
        k.what = "CLBlast";
        snprintf(k.clblast, sizeof k.clblast, "%s", clblast_cands[i]);
        try_cand(&s, &k);
    }

    /* Confirm: winner and default alternately, twice; keep the winner only if still faster. */
    cand final = def;
    if (memcmp(&s.best.kp, &def.kp, sizeof def.kp) || s.best.clblast[0]) {
        double tw = INFINITY, td = INFINITY;
        for (int round = 0; round < 2; round++) {
            result rw, rd;
            run_candidate(&o, &s.best, &rw);
            run_candidate(&o, &def, &rd);
            if (rw.ok && rw.best < tw) tw = rw.best;
            if (rd.ok && rd.best < td) td = rd.best;
        }
        printf("confirming: best %.4f s/iter, default %.4f s/iter (fastest of two more runs each)\n", tw, td);
        if (tw < td * (1 - TUNE_MARGIN)) final = s.best;
        else printf("the best is not faster than the default by %.0f%%: the default is kept\n", 100 * TUNE_MARGIN);
    }
    describe(&final, d, sizeof d);
    printf("%d candidates in %.0f s; chosen: %s%s%s\n", s.tried + 1, now_seconds() - s.t0, d,
           final.clblast[0] ? "\n  CLBlast: " : "", final.clblast);

    /* Store for this device, in a last child (the store names the device, driver and kernel sources). */
    unsetenv("CLGAN_TUNING_FILE");
    clg_tuned_set st = {.kp = final.kp};
    snprintf(st.clblast, sizeof st.clblast, "%s", final.clblast);
    snprintf(st.date, sizeof st.date, "%.30s", date);
    snprintf(st.made_by, sizeof st.made_by, "./bench --tune -c %.200s (%d candidates)", ini, s.tried + 1);
    status = in_child(&o, store_fn, &st, buf, sizeof buf);
    if (strncmp(buf, "stored ", 7) != 0) {
        if (!strncmp(buf, "fail ", 5)) snprintf(err, sizeof err, "%.*s", (int)strcspn(buf + 5, "\n"), buf + 5);
        else status_text(status, err, sizeof err);
        fprintf(stderr, "bench --tune: %s; nothing stored\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%.*s", (int)strcspn(buf + 7, "\n"), buf + 7);
    printf("stored in %s\n", path);
    return 0;
}
