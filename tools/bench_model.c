/* ./bench --model NAME | -c FILE.ini: seconds per training iteration of any model, built from its INI
 * through the trainer interface (models/model.h: init without data, so it trains on fixed random
 * batches, and iteration), and of its PyTorch twin (the model's torch_script) on the same machine, the two
 * taking turns in --rounds blocks (or one after the other with --rounds 1); the last line is "ratio
 * clgan/pytorch R". --model NAME reads ini/bench/NAME.ini.
 *
 * A torch script is run as
 *     PYTHON SCRIPT ARGS... --iters N --warmup W --threads T [--device cpu]
 * (--device cpu when clgan runs on a CPU; otherwise the script's default, CUDA when torch has it),
 * times N iterations after W (with torch.cuda.synchronize on CUDA) and prints a line
 *     seconds_per_iter S
 * on stdout; bench echoes the script's output and reads that line. With --rounds R the script also gets
 * --serve and stays loaded: after clgan's every N/R iterations it times as many on request
 * (tools/bench_twin.c, tools/torch_ref/timing.py serve_blocks). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "tuning.h"
#include "ini_path.h"
#include "checkpoint.h"
#include "model.h"
#include "util.h"

#define MAXARGS 48

void bench_model_list(FILE *f, const char *root) {
    fprintf(f, "models (--model NAME reads ini/bench/NAME.ini; -c FILE.ini times any INI):");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ini/bench", root);
    DIR *d = opendir(dir);
    char names[64][64];
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < 64;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && len < 64 && !strcmp(e->d_name + len - 4, ".ini")) snprintf(names[n++], 64, "%.*s", (int)len - 4, e->d_name);
    }
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) fprintf(f, " %s", names[i]);
    fprintf(f, "\n");
}

/* ---- running ----------------------------------------------------------------------------------- */

cfg *bench_model_config(const char *ini, const char **sets, int nsets, const model_desc **m, char *err,
                        size_t errlen) {
    char type[256] = "vae";
    if (cfg_peek(ini, "model", "type", type, sizeof type, err, errlen) < 0) return NULL;
    for (int i = 0; i < nsets; i++)
        if (!strncmp(sets[i], "model.type=", 11)) snprintf(type, sizeof type, "%s", sets[i] + 11);
    *m = model_find(type);
    if (!*m) {
        set_err(err, errlen, "%s: [model] type = %s is not a model clgan knows", ini, type);
        return NULL;
    }
    cfg *c = model_schema(*m);
    int rc = cfg_parse_file(c, ini, err, errlen);
    for (int i = 0; rc == 0 && i < nsets; i++) rc = cfg_set(c, sets[i], err, errlen);
    if (rc == 0 && (*m)->check) rc = (*m)->check(c, err, errlen);
    if (rc != 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

static size_t arena_cap(const arena *a) {
    size_t cap = 0;
    for (int i = 0; i < a->nchunks; i++) cap += a->chunks[i].cap;
    return cap;
}

/* The device memory a step holds, in bytes: the tape arena's buffers (activations, their gradients:
 * everything a step keeps, host/arena.h), the ops' scratch (tape_scratch) and the trained networks'
 * weights, gradients and optimizer moments (the model's checkpoint parts). Printed with the arena's
 * peak use. Fixed inputs (./bench's random batch) and buffers outside the parts are not counted. */
static double device_memory(const model_desc *m, trainer *tr) {
    const arena *a = &tr->t.ar;
    size_t step = arena_cap(a), scratch = arena_cap(&tr->t.scratch), cap = step + scratch;
    size_t params = 0;
    ckpt_part parts[16];
    int np = m->parts ? m->parts(tr, parts) : 0;
    for (int i = 0; i < np && i < 16; i++)
        params += parts[i].net->total * (parts[i].opt ? 4 : 2); /* w, g (+ Adam/RMSprop m, v) */
    double mib = 1.0 / (1 << 20);
    printf("clgan device memory %.1f MiB: tape arena %.1f MiB allocated (peak use %.1f MiB), ops' scratch %.1f MiB,\n"
           "networks %.1f MiB (weights, gradients, optimizer moments)\n", (double)(cap + params) * 4 * mib,
           (double)step * 4 * mib, (double)a->peak * 4 * mib, (double)scratch * 4 * mib, (double)params * 4 * mib);
    return (double)(cap + params) * 4;
}

/* The PyTorch side of --rounds: the twin, blocks of k iterations after each of clgan's, the range of the
 * rounds' ratios. */
typedef struct {
    bench_twin *tw;
    int k;
    double ratio_min, ratio_max;
} turns;

/* After clgan's block of k iterations (seconds s): the twin's block, and the round's line. */
static int twin_turn(turns *tn, int round, double s) {
    double ts;
    if (bench_twin_block(tn->tw, tn->k, &ts) != 0) return -1;
    double r = s / ts;
    if (round == 0 || r < tn->ratio_min) tn->ratio_min = r;
    if (round == 0 || r > tn->ratio_max) tn->ratio_max = r;
    printf("round %d: clgan %.4g s/iter, pytorch %.4g s/iter, ratio %.3f\n", round + 1, s / tn->k, ts / tn->k, r);
    fflush(stdout);
    return 0;
}

/* ab: NULL, or the --ab assignment whose set alt the odd iterations run with. tn: NULL, or the twin that
 * takes a turn after every tn->k iterations (each of clgan's blocks starts after a 0.1 s pause, as the
 * twin's do: the other side's threads stop spinning). */
static double clgan_time(const model_desc *m, const cfg *c, clg_ctx *cl, int warmup, int iters, const char *ab,
                         const clg_kparams *alt, turns *tn, double *mem, char *err, size_t errlen) {
    double t0 = now_seconds();
    trainer *tr = trainer_new(m, c, cl, 0, err, errlen);
    if (!tr) return -1;
    clg_finish(cl);
    printf("clgan: built in %.1f s; %d warm-up iteration%s, then %d timed\n", now_seconds() - t0, warmup,
           warmup == 1 ? "" : "s", iters);
    fflush(stdout);
    for (int i = 0; i < warmup; i++) m->iteration(tr);
    clg_finish(cl);
    /* each iteration timed alone too: on a shared machine the fastest one shows the code's speed, the
     * mean (the ratio's measure) what the machine gave */
    double t1 = now_seconds(), best = 0, side[2] = {0, 0}, timed = 0, block = 0;
    clg_kparams kp[2] = {cl->kp, ab ? *alt : cl->kp};
    for (int i = 0; i < iters; i++) {
        if (tn && i % tn->k == 0) nanosleep(&(struct timespec){0, 100000000L}, NULL);
        cl->kp = kp[i % 2]; /* a launch choice: the kernels stay as built (bench_model_run refused others) */
        double ti = now_seconds();
        m->iteration(tr);
        clg_finish(cl);
        double d = now_seconds() - ti;
        side[i % 2] += d;
        timed += d, block += d;
        if (i == 0 || d < best) best = d;
        if (tn && (i + 1) % tn->k == 0) {
            if (twin_turn(tn, i / tn->k, block) != 0) {
                set_err(err, errlen, "the PyTorch twin stopped");
                trainer_free(tr);
                return -1;
            }
            block = 0;
        }
    }
    cl->kp = kp[0];
    if (ab) {
        double a = side[0] / ((iters + 1) / 2), b = side[1] / (iters / 2);
        printf("A/B, alternate iterations: as in force %.4g s/iter, with %s %.4g s/iter: ratio %.3f\n", a, ab, b,
               b / a);
    }
    double spi = (tn ? timed : now_seconds() - t1) / iters;
    printf("clgan fastest iteration %.4g s\n", best);
    *mem = device_memory(m, tr);
    trainer_free(tr);
    return spi;
}
/* "pytorch: ARGV..." */
static void print_twin_argv(char *const *argv, int n) {
    printf("pytorch:");
    for (int i = 0; i < n; i++) printf(" %s", argv[i]);
    printf("\n");
}

/* R with 3 significant digits, trailing zeros kept (0.190, 1.50, 12.3, 123). */
static void print_ratio(double r) {
    int decimals = r > 0 ? 2 - (int)floor(log10(r)) : 2;
    if (decimals < 0) decimals = 0;
    double scaled = r * pow(10, decimals);
    if (floor(scaled + 0.5) >= 1000 && decimals > 0) decimals--; /* 0.9996 rounds to 1.00, not 1.000 */
    printf("ratio clgan/pytorch %.*f\n", decimals, r);
}

int bench_model_run(const bench_model_opts *o) {
    char ini[4300], err[4096];
    if (o->model) {
        snprintf(ini, sizeof ini, "%s/ini/bench/%s.ini", o->root, o->model);
        if (access(ini, R_OK) != 0) {
            fprintf(stderr, "bench: no %s for --model %s; ", ini, o->model);
            bench_model_list(stderr, o->root);
            return 2;
        }
    } else {
        ini_resolve(o->config, ini, sizeof ini);
    }
    const model_desc *m;
    cfg *c = bench_model_config(ini, o->sets, o->nsets, &m, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    if (o->translate) {
        int rc = bench_translate_run(o, m, c, o->translate);
        cfg_free(c);
        return rc;
    }
    char targ[MAXARGS][64], why[1024] = "";
    int tn = 0, twin = m->torch_script && m->torch_args;
    if (!twin) snprintf(why, sizeof why, "model %s has no PyTorch twin", m->type);
    else if (!o->no_torch && m->torch_args(c, targ, &tn, why, sizeof why) != 0) twin = 0;
    int warmup = o->warmup >= 0 ? o->warmup : m->bench_warmup, iters = o->iters > 0 ? o->iters : m->bench_iters;
    if (iters < 1) iters = 10;
    clg_ctx *cl = clg_open(o->device, 0, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "bench: %s\n", err);
        cfg_free(c);
        return o->device ? 2 : 1;
    }
    char desc[600], date[64];
    clg_describe(cl, desc, sizeof desc);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now));
    double load[3] = {0};
    getloadavg(load, 3);
    printf("bench %s, %s, load %.2f\n%s", o->model ? o->model : ini, date, load[0], ini);
    for (int i = 0; i < o->nsets; i++) printf(" %s", o->sets[i]);
    printf("\n");
    printf("device: %s\n", desc);
    fflush(stdout);
    double mem = 0;
    clg_kparams alt = cl->kp;
    if (o->ab) { /* only what the kernels are not built with: the same program serves both sides */
        char opt0[1024], opt1[1024];
        if (clg_kparams_set(&alt, o->ab, err, sizeof err) != 0) {
            fprintf(stderr, "bench: --ab %s\n", err);
            clg_close(cl);
            cfg_free(c);
            return 2;
        }
        clg_kernel_options(cl, opt0, sizeof opt0);
        clg_kparams keep = cl->kp;
        cl->kp = alt;
        clg_kernel_options(cl, opt1, sizeof opt1);
        cl->kp = keep;
        if (strcmp(opt0, opt1) || iters < 2) {
            fprintf(stderr, "bench: --ab %s: %s\n", o->ab,
                    strcmp(opt0, opt1) ? "that field is a -D option of the kernels (compare those with ./bench --tune "
                                         "or two runs)" : "needs --iters 2 or more");
            clg_close(cl);
            cfg_free(c);
            return 2;
        }
    }
    /* --rounds: by default 5 turns a side (one iteration a turn for fewer), 1 for one side then the other */
    int want = o->rounds > 0 ? o->rounds : iters < 5 ? iters : 5;
    int is_cpu = !cl->is_gpu, rounds = want > 1 && twin && !o->no_torch ? want : 0;
    if (rounds) iters = (iters + rounds - 1) / rounds * rounds; /* whole blocks a side */
    char script[4300], s_iters[24], s_warmup[24], s_threads[24];
    snprintf(script, sizeof script, "%s/%s", o->root, m->torch_script ? m->torch_script : "");
    snprintf(s_iters, sizeof s_iters, "%d", iters);
    snprintf(s_warmup, sizeof s_warmup, "%d", warmup);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(s_threads, sizeof s_threads, "%ld", cores > 0 ? cores : 1);
    char *argv[MAXARGS + 16];
    int n = 0;
    argv[n++] = (char *)o->python;
    argv[n++] = script;
    for (int i = 0; i < tn; i++) argv[n++] = targ[i];
    char *tail[] = {"--iters", s_iters, "--warmup", s_warmup, "--threads", s_threads, "--device", "cpu", "--malloc", !strcmp(o->torch_tuning, "tuned") ? "tuned" : "default"};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0] - (is_cpu ? 0 : 4); i++) argv[n++] = tail[i];
    if (rounds) argv[n++] = "--serve";
    argv[n] = NULL;
    bench_twin twp;
    turns turn = {.tw = &twp, .k = rounds ? iters / rounds : 1};
    if (rounds) {
        /* both stay loaded and take turns, so a slow spell of the machine hits both sides alike */
        print_twin_argv(argv, n);
        printf("interleaved: %d rounds of %d iteration%s a side, clgan first, each block after a 0.1 s pause\n",
               rounds, turn.k, turn.k == 1 ? "" : "s");
        bench_twin_start(argv, o->torch_tuning, 1, &twp);
        if (bench_twin_ready(&twp) != 0) {
            bench_twin_finish(&twp);
            clg_close(cl);
            cfg_free(c);
            return 1;
        }
    }
    double clg = clgan_time(m, c, cl, warmup, iters, o->ab, &alt, rounds ? &turn : NULL, &mem, err, sizeof err);
    clg_close(cl);
    int trc = rounds ? bench_twin_finish(&twp) : 0;
    if (clg < 0 || trc != 0) {
        if (clg < 0) fprintf(stderr, "bench: %s\n", err);
        cfg_free(c);
        return 1;
    }
    printf("clgan %.4g s/iter (%d iteration%s after %d warm-up)\n", clg, iters, iters == 1 ? "" : "s", warmup);
    int prc = o->profile ? bench_profile_model(m, c, o->device, warmup < 3 ? warmup : 3, iters < 20 ? iters : 20) : 0;
    cfg_free(c);
    if (prc != 0) return 1;
    if (o->no_torch) return 0;
    if (!twin) {
        printf("no ratio: %s\n", why);
        return 0;
    }
    bench_twin_out tw;
    if (rounds) {
        tw = twp.out;
        printf("rounds: clgan/pytorch per round %.3f to %.3f\n", turn.ratio_min, turn.ratio_max);
    } else {
        print_twin_argv(argv, n);
        if (bench_twin_run(argv, o->torch_tuning, &tw) != 0) return 1;
    }
    if (!(tw.spi > 0)) {
        fprintf(stderr, "bench: %s printed no 'seconds_per_iter S' line\n", argv[1]);
        return 1;
    }
    double tor = tw.spi;
    if (tw.mem >= 0) printf("memory: clgan %.1f MiB on the device, pytorch %.1f MiB (%s)\n", mem / (1 << 20), tw.mem / (1 << 20), tw.memhow);
    else printf("memory: clgan %.1f MiB on the device, pytorch not reported\n", mem / (1 << 20));
    printf("clgan %.4g s/iter, pytorch %.4g s/iter\n", clg, tor);
    if (is_cpu) bench_twin_print_anchor(&tw, s_threads, desc); /* before the ratio, which stays the last line */
    print_ratio(clg / tor);
    return 0;
}
