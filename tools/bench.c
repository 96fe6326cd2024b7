/* ./bench: kernel benchmarks at the shapes the models train at, each checked against a plain C
 * double-precision reference before it is timed, rated against the device's own ceilings (measured
 * at startup), printed as a table and written as CSV; and, with --model, training iterations of a
 * whole model in clgan against its PyTorch twin. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "tuning.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench [-d DEVICE] [--quick] [--filter S[,S...]] [--csv FILE] [--runs N | --time SECONDS]\n"
            "             [--gemm TT:MxNxK]... \n"
            "       bench --model NAME | -c FILE.ini [-d DEVICE] [--iters N] [--warmup N] [--profile]\n"
            "             [--translate [--batch N]]\n"
            "             [--torch PYTHON] [--torch-tuning tuned|none] [--no-torch] [--set section.key=value]...\n"
            "       bench --tune [-c FILE.ini] [-d DEVICE] [--set S.K=V]... [--iters N] [--budget SECONDS]\n"
            "             search the kernel parameters for this device on the INI's model (default\n"
            "             ini/cyclegan.ini) and store them under ~/.cache/clgan/ (docs/TUNING.md)\n"
            "       bench --list | --list-devices\n"
            "\n"
            "Kernel rows (convolutions of CycleGAN, PatchGAN and DCGAN forward/dx/dw, GEMM, norms,\n"
            "elementwise ops, Adam): each is checked against a double-precision reference, then timed\n"
            "(median of the runs); rated in GFLOP/s or GB/s and as a share of the ceilings bench\n"
            "measures first (the best of FMA throughput and SGEMM, the best large copy). A failed\n"
            "check exits 1.\n"
            "  -d, --device DEV   an index from --list-devices or part of a platform/device name (as ./train)\n"
            "  --filter S,...     only the rows whose name contains one of the substrings (see --list)\n"
            "  --quick            fewer and shorter runs, smaller ceilings\n"
            "  --runs N           exactly N timed runs per row\n"
            "  --time SECONDS     timed seconds per row (default 0.3, --quick 0.05; at least 5 / 3 runs)\n"
            "  --gemm TT:MxNxK    add a GEMM row C = op(A) op(B) (TT: NN, NT, TN or TT), repeatable\n"
            "  --csv FILE         the CSV (default bench.csv in the current directory)\n"
            "\n"
            "--model NAME (ini/bench/NAME.ini: vae, dcgan, cyclegan64, cyclegan, cyclegan256, pix2pix, avae,\n"
            "bicyclegan) or -c FILE.ini (any model's INI): seconds per training iteration in clgan (the INI's\n"
            "settings, the model's own training step, fixed random batches) and in PyTorch (the model's twin\n"
            "in tools/torch_ref/), taking turns (--rounds); last line 'ratio clgan/pytorch R'.\n"
            "  --iters N, --warmup N   timed and warm-up iterations (defaults per model)\n"
            "  --torch PYTHON          the interpreter for the torch script (default /usr/bin/python3)\n"
            "  --torch-tuning tuned|none  PyTorch on a CPU: tuned (the default) keeps freed memory in the process, as\n"
            "                          PyTorch's CPU tuning guide advises (there: jemalloc, TCMalloc; here glibc's\n"
            "                          mallopt), and its OpenMP threads spin briefly (GOMP_SPINCOUNT=10000) so that\n"
            "                          OpenBLAS's threads get the cores; none runs it as installed (ratios flagged)\n"
            "  --no-torch              clgan only\n"
            "  --rounds R              clgan and PyTorch take turns, R blocks of iterations each (both loaded, each\n"
            "                          block after a 0.1 s pause), so a slow spell of the machine hits both sides;\n"
            "                          prints each round's ratio and their range. Default 5 (one a side for fewer\n"
            "                          iterations); 1: all of clgan's iterations, then all of PyTorch's\n"
            "  --ab FIELD=V            iterations alternate between the kernel parameters in force and these with\n"
            "                          FIELD=V (a launch choice: wino_*, panel_min_k, work-group sizes), each\n"
            "                          side's mean and their ratio: an A/B that the machine's drift hits alike\n"
            "  --profile               then a profiled run: device time per tape op (OpenCL events: op, calls,\n"
            "                          launches, ms, share of the step), kernel launches per iteration and the\n"
            "                          25 kernels that took longest (CLGAN_PROFILE=2: by global work size)\n"
            "  --translate             instead of training: the generator's inference as ./translate runs it, images/s\n"
            "                          at batch 1 and --batch N (default 8), against PyTorch's (CycleGAN)\n"
            "  --set S.K=V             override a key of the model's INI (the torch twin follows)\n");
}

static int bad(const char *fmt, const char *a) {
    fprintf(stderr, "bench: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

static int parse_int(const char *s, int lo, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* The repository root: the directory of the bench executable when it holds ini/, else ".". */
static void find_root(char *out, size_t outlen) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/ini", exe);
        if (access(probe, F_OK) == 0) {
            snprintf(out, outlen, "%s", exe);
            return;
        }
    }
    snprintf(out, outlen, ".");
}

static int matches(const char *name, const char **filters, int nfilters) {
    if (!nfilters) return 1;
    for (int i = 0; i < nfilters; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", filters[i]);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
            if (strstr(name, tok)) return 1;
    }
    return 0;
}

static void list_rows(const row_list *l, const char **filters, int nfilters, const char *root) {
    printf("%-28s %-40s %s\n", "row", "shape", "per run");
    for (int i = 0; i < l->n; i++) {
        const bench_row *r = &l->r[i];
        if (!r->ceiling && !matches(r->name, filters, nfilters)) continue;
        printf("%-28s %-40s ", r->name, r->shape);
        if (r->flops > 0) printf("%.3g GFLOP", r->flops * 1e-9);
        else printf("%.3g MB", r->bytes * 1e-6);
        printf("%s\n", r->ceiling ? " (ceiling: always runs)" : "");
    }
    bench_model_list(stdout, root);
}

int main(int argc, char **argv) {
    const char *device = NULL, *csv = "bench.csv", *model = NULL, *config = NULL, *python = "/usr/bin/python3", *torch_tuning = "tuned", *ab = NULL;
    const char **filters = xcalloc((size_t)argc, sizeof *filters), **gemms = xcalloc((size_t)argc, sizeof *gemms);
    const char **sets = xcalloc((size_t)argc, sizeof *sets);
    int nfilters = 0, ngemms = 0, nsets = 0, quick = 0, list = 0, runs = 0, iters = -1, warmup = -1, no_torch = 0, profile = 0, translate = 0, tbatch = 8, model_only = 0, rounds = -1;
    double seconds = -1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--tune")) return bench_tune_main(argc, argv); /* tools/bench_tune.c */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if ((!strcmp(a, "-d") || !strcmp(a, "--device")) && has) device = argv[++i];
        else if (!strcmp(a, "--filter") && has) filters[nfilters++] = argv[++i];
        else if (!strcmp(a, "--csv") && has) csv = argv[++i];
        else if (!strcmp(a, "--gemm") && has) gemms[ngemms++] = argv[++i];
        else if (!strcmp(a, "--model") && has) model = argv[++i];
        else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has) config = argv[++i];
        else if (!strcmp(a, "--torch") && has) python = argv[++i];
        else if (!strcmp(a, "--torch-tuning") && has) {
            torch_tuning = argv[++i], model_only = 1;
            if (strcmp(torch_tuning, "tuned") && strcmp(torch_tuning, "none")) return bad("--torch-tuning %s: want tuned or none", torch_tuning);
        }
        else if (!strcmp(a, "--set") && has) sets[nsets++] = argv[++i];
        else if (!strcmp(a, "--quick")) quick = 1;
        else if (!strcmp(a, "--no-torch")) no_torch = 1;
        else if (!strcmp(a, "--profile")) profile = 1;
        else if (!strcmp(a, "--ab") && has) ab = argv[++i], model_only = 1;
        else if (!strcmp(a, "--rounds") && has) {
            if (parse_int(argv[++i], 1, &rounds) || rounds > 1000) return bad("--rounds %s: want an integer in [1, 1000]", argv[i]);
            model_only = 1;
        }
        else if (!strcmp(a, "--translate")) translate = 1;
        else if (!strcmp(a, "--batch") && has) { if (parse_int(argv[++i], 1, &tbatch) || tbatch > 4096) return bad("--batch %s: want an integer in [1, 4096]", argv[i]); }
        else if (!strcmp(a, "--list")) list = 1;
        else if (!strcmp(a, "--list-devices")) { clg_list_devices(stdout); return 0; }
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--runs") && has) { if (parse_int(argv[++i], 1, &runs)) return bad("--runs %s: want an integer >= 1", argv[i]); }
        else if (!strcmp(a, "--iters") && has) { if (parse_int(argv[++i], 1, &iters)) return bad("--iters %s: want an integer >= 1", argv[i]); }
        else if (!strcmp(a, "--warmup") && has) { if (parse_int(argv[++i], 0, &warmup)) return bad("--warmup %s: want an integer >= 0", argv[i]); }
        else if (!strcmp(a, "--time") && has) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(seconds >= 0 && seconds <= 3600)) return bad("--time %s: want seconds in [0, 3600]", argv[i]);
        } else return bad("unknown or incomplete argument '%s'", a);
    }
    char root[4096];
    find_root(root, sizeof root);
    if (model && config) return bad("%s", "--model and -c exclude each other");
    if (model || config) {
        if (nfilters || ngemms || quick || runs || seconds >= 0 || list) return bad("%s", "--model / -c take -d, --iters, --warmup, --torch, --torch-tuning, --no-torch, --rounds, --profile, --ab, --translate, --batch and --set only");
        if (rounds > 1 && (ab || translate || no_torch)) return bad("%s", "--rounds times clgan against PyTorch's training step: not with --ab, --translate or --no-torch");
        if (ab) no_torch = 1; /* the twin runs one side: no ratio to it */
        bench_model_opts mo = {.model = model, .config = config, .device = device, .python = python, .torch_tuning = torch_tuning, .root = root, .warmup = warmup,
                               .iters = iters, .no_torch = no_torch, .profile = profile, .translate = translate ? tbatch : 0, .ab = ab, .rounds = rounds, .sets = sets, .nsets = nsets};
        return bench_model_run(&mo);
    }
    if (iters >= 0 || warmup >= 0 || nsets || no_torch || profile || translate || model_only)
        return bad("%s", "--iters, --warmup, --set, --torch-tuning, --no-torch, --rounds, --profile, --ab and --translate go with --model or -c");

    row_list all = {0};
    rows_ceiling(&all, quick);
    rows_conv(&all);
    rows_ops(&all);
    for (int i = 0; i < ngemms; i++)
        if (rows_gemm_arg(&all, gemms[i]) != 0) return bad("--gemm %s: want TT:MxNxK, TT one of NN NT TN TT, each matrix under 4 GiB", gemms[i]);
    if (list) {
        list_rows(&all, filters, nfilters, root);
        return 0;
    }
    int *sel = xcalloc((size_t)all.n, sizeof *sel), nsel = 0;
    for (int i = 0; i < all.n; i++) {
        sel[i] = all.r[i].ceiling || matches(all.r[i].name, filters, nfilters);
        nsel += sel[i] && !all.r[i].ceiling;
    }
    if (nfilters && !nsel) return bad("%s", "--filter matches no row (./bench --list shows them)");

    bench_opts opts = quick ? (bench_opts){.target_s = 0.05, .min_runs = 3, .max_runs = 50, .warmup = 0}
                            : (bench_opts){.target_s = 0.3, .min_runs = 5, .max_runs = 1000, .warmup = 1};
    if (seconds >= 0) opts.target_s = seconds;
    if (runs) opts.min_runs = opts.max_runs = runs, opts.target_s = 0;

    FILE *out = fopen(csv, "w");
    if (!out) {
        fprintf(stderr, "bench: %s: cannot write: %s\n", csv, strerror(errno));
        return 2;
    }
    char err[4096];
    clg_ctx *cl = clg_open(device, 1, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "bench: %s\n", err);
        fclose(out);
        remove(csv);
        return device ? 2 : 1;
    }
    char desc[600], date[64];
    clg_describe(cl, desc, sizeof desc);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now));
    double load[3] = {0};
    getloadavg(load, 3);
    const char *tuning = clg_tuning_name(cl);
    printf("bench %s, load %.2f %.2f %.2f, %ld cores\n", date, load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
    printf("device: %s, driver %s, CLBlast tuning %s\n", desc, cl->driver_version, tuning ? tuning : "none");
    printf("check: max |got - ref| / sum |terms| over up to %d elements per tensor (every element for norms and\n"
           "elementwise ops), against double precision; above %.0e fails. time: median of %s runs after\n"
           "the check and %d warm-up; 'event' = the row's kernels' device time (OpenCL events), 'wall' = host\n"
           "clock between clFinish calls (rows that call CLBlast: its events miss the pad/transpose kernels)\n\n",
           BENCH_SAMPLES, BENCH_TOL, runs ? "exactly N" : quick ? ">= 3 (0.05 s)" : ">= 5 (0.3 s)", opts.warmup);
    bench_csv_header(out);
    bench_print_header(stdout);

    bench_peaks pk = {0, 0};
    bench_result *res = xcalloc((size_t)all.n, sizeof *res);
    int failed = 0, done = 0;
    double t0 = now_seconds();
    for (int pass = 0; pass < 2; pass++) { /* the ceilings first: the other rows are rated against them */
        for (int i = 0; i < all.n; i++) {
            const bench_row *r = &all.r[i];
            if (!sel[i] || r->ceiling != (pass == 0)) continue;
            bench_work w;
            r->make(cl, r, &w);
            bench_measure(cl, &opts, &w, &res[i]);
            w.done(w.st);
            int ok = !isnan(res[i].err) && res[i].err <= BENCH_TOL && isfinite(res[i].med_ms);
            failed += !ok;
            done++;
            if (r->ceiling && ok) {
                double secs = res[i].med_ms * 1e-3;
                if (r->flops > 0 && r->flops / secs * 1e-9 > pk.gflops) pk.gflops = r->flops / secs * 1e-9;
                if (r->bytes > 0 && r->flops <= 0 && r->bytes / secs * 1e-9 > pk.gbps) pk.gbps = r->bytes / secs * 1e-9;
            }
            if (!r->ceiling) {
                bench_print_row(stdout, r, &res[i], &pk, ok);
                bench_csv_row(out, r, &res[i], &pk, ok);
            }
        }
        if (pass == 0) { /* printed once both peaks are known */
            for (int i = 0; i < all.n; i++) {
                if (!all.r[i].ceiling) continue;
                int ok = !isnan(res[i].err) && res[i].err <= BENCH_TOL;
                bench_print_row(stdout, &all.r[i], &res[i], &pk, ok);
                bench_csv_row(out, &all.r[i], &res[i], &pk, ok);
            }
            printf("ceilings: arithmetic %.1f GFLOP/s (the best of FMA and SGEMM), copy %.1f GB/s\n\n", pk.gflops, pk.gbps);
            fflush(stdout);
        }
    }
    getloadavg(load, 3);
    printf("\n%d rows in %.0f s, %d failed; load %.2f at the end; CSV in %s\n", done, now_seconds() - t0, failed,
           load[0], csv);
    fclose(out);
    clg_close(cl);
    free(res), free(sel), free(all.r), free(filters), free(gemms), free(sets);
    return failed ? 1 : 0;
}
