/* ./bench --model NAME: seconds per training iteration of a model in clgan, built through the model's
 * own API with its INI's settings, then of its PyTorch twin (tools/torch_ref/) on the same machine,
 * back to back; the last line is "ratio clgan/pytorch R".
 *
 * A model is one entry of models[] below: its INI and overrides, how to build and step it (init /
 * iteration / free), and its torch script with the arguments that describe the same configuration.
 * A torch script is run as
 *     PYTHON SCRIPT ARGS... --iters N --warmup W --threads T [--device cpu]
 * (--device cpu when clgan runs on a CPU; otherwise the script's default, CUDA when torch has it),
 * times N iterations after W (with torch.cuda.synchronize on CUDA) and prints a line
 *     seconds_per_iter S
 * on stdout; bench echoes the script's output and reads that line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "cyclegan.h"
#include "gan.h"
#include "model.h"
#include "util.h"
#include "vae.h"

#define MAXARGS 48

typedef struct {
    char v[MAXARGS][64];
    int n;
} arglist;

static void arg(arglist *a, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void arg(arglist *a, const char *key, const char *fmt, ...) {
    if (a->n + 2 > MAXARGS) die("bench: too many torch arguments");
    snprintf(a->v[a->n++], 64, "%s", key);
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->v[a->n++], 64, fmt, ap);
    va_end(ap);
}

typedef struct {
    const char *name;
    const char *type;          /* [model] type: the INI keys' schema (models/registry.c) */
    const char *ini;           /* under the repository root */
    const char *const *sets;   /* section.key=value over the INI, before the user's --set; NULL-terminated */
    int warmup, iters;         /* defaults */
    const char *torch_script;  /* under the repository root */
    void *(*init)(const cfg *c, clg_ctx *cl, char *err, size_t errlen);
    void (*iteration)(void *st);
    void (*free)(void *st);
    /* The script's arguments for the effective config; -1 with err when the twin cannot do it. */
    int (*torch_args)(const cfg *c, arglist *a, char *err, size_t errlen);
} bench_model;

/* ---- VAE: models/vae.h vae_train_step on a random batch in [0, 1] ------------------------------ */

typedef struct {
    vae m;
    optim o;
    tape t;
    tensor x;
    unsigned long long seed;
    unsigned step;
} vae_bench;

static int vae_supported(const cfg *c, char *err, size_t errlen) {
    if (strcmp(cfg_str(c, "vae", "arch"), "mlp") || cfg_bool(c, "vae", "conditional") || cfg_bool(c, "vae", "relu_latent")) {
        set_err(err, errlen, "--model vae times the fully-connected, unconditional VAE without latent ReLU "
                             "(vae.arch = mlp, vae.conditional = false, vae.relu_latent = false), as its torch twin");
        return -1;
    }
    return 0;
}

static void *vae_init(const cfg *c, clg_ctx *cl, char *err, size_t errlen) {
    if (vae_supported(c, err, errlen) != 0) return NULL;
    vae_bench *s = xcalloc(1, sizeof *s);
    s->seed = (unsigned long long)cfg_int(c, "run", "seed");
    vae_spec spec = {.in_c = 1, .in_h = 28, .in_w = 28, .hidden = (int)cfg_int(c, "vae", "hidden"),
                     .zdim = (int)cfg_int(c, "vae", "zdim"), .kl_weight = (float)cfg_float(c, "vae", "kl_weight")};
    vae_create_spec(&s->m, cl, &spec);
    vae_init_weights(&s->m, s->seed);
    optim_adam(&s->o, &s->m.net, cfg_float(c, "train", "lr"), cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"),
               cfg_float(c, "train", "eps"), cfg_float(c, "train", "weight_decay"));
    tape_init(&s->t, cl);
    s->t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    int B = (int)cfg_int(c, "train", "batch_size");
    float *x;
    s->x = bench_random_tensor(cl, B, 1, 28, 28, s->seed, &x);
    for (size_t i = 0; i < tnumel(s->x); i++) x[i] = fabsf(x[i]); /* pixel values in [0, 1] for the BCE */
    clg_write(cl, s->x.mem, 0, tnumel(s->x), x);
    free(x);
    return s;
}

static void vae_iteration(void *p) {
    vae_bench *s = p;
    tape_reset(&s->t);
    vae_train_step(&s->m, &s->o, &s->t, tape_input(&s->t, s->x), -1, s->seed, s->step++);
}

static void vae_bench_free(void *p) {
    vae_bench *s = p;
    tape_free(&s->t);
    optim_free(&s->o);
    vae_free(&s->m);
    clReleaseMemObject(s->x.mem);
    free(s);
}

static int vae_torch_args(const cfg *c, arglist *a, char *err, size_t errlen) {
    if (vae_supported(c, err, errlen) != 0) return -1;
    arg(a, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    arg(a, "--hidden", "%ld", cfg_int(c, "vae", "hidden"));
    arg(a, "--zdim", "%ld", cfg_int(c, "vae", "zdim"));
    arg(a, "--kl-weight", "%.9g", cfg_float(c, "vae", "kl_weight"));
    arg(a, "--lr", "%.9g", cfg_float(c, "train", "lr"));
    arg(a, "--betas", "%.9g,%.9g", cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"));
    arg(a, "--eps", "%.9g", cfg_float(c, "train", "eps"));
    arg(a, "--weight-decay", "%.9g", cfg_float(c, "train", "weight_decay"));
    return 0;
}

/* ---- DCGAN: models/gan.h gan_trainer_init / gan_trainer_iteration ------------------------------ */

static int dcgan_supported(const cfg *c, char *err, size_t errlen) {
    if (strcmp(cfg_str(c, "gan", "arch"), "dcgan") || strcmp(cfg_str(c, "gan", "loss"), "vanilla") ||
        cfg_bool(c, "gan", "conditional") || cfg_int(c, "gan", "n_critic") != 1 || strcmp(cfg_str(c, "gan", "optimizer"), "adam")) {
        set_err(err, errlen, "--model dcgan times the unconditional DCGAN with the BCE loss, one D step per G step and "
                             "Adam (gan.arch = dcgan, loss = vanilla, conditional = false, n_critic = 1, optimizer = adam), "
                             "as its torch twin");
        return -1;
    }
    return 0;
}

static void *dcgan_init(const cfg *c, clg_ctx *cl, char *err, size_t errlen) {
    if (dcgan_supported(c, err, errlen) != 0) return NULL;
    gan_trainer *r = xcalloc(1, sizeof *r);
    if (gan_trainer_init(r, c, cl, "(bench: no run folder)", err, errlen) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static void dcgan_iteration(void *p) {
    gan_step_vars sv;
    gan_trainer_iteration(p, &sv);
}

static void dcgan_free(void *p) {
    gan_trainer_free(p);
    free(p);
}

static int dcgan_torch_args(const cfg *c, arglist *a, char *err, size_t errlen) {
    if (dcgan_supported(c, err, errlen) != 0) return -1;
    arg(a, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    arg(a, "--zdim", "%ld", cfg_int(c, "gan", "zdim"));
    arg(a, "--ngf", "%ld", cfg_int(c, "gan", "ngf"));
    arg(a, "--ndf", "%ld", cfg_int(c, "gan", "ndf"));
    arg(a, "--channels", "%ld", cfg_int(c, "data", "channels"));
    arg(a, "--slope", "%.9g", cfg_float(c, "gan", "slope"));
    if (!cfg_bool(c, "gan", "d_batchnorm")) arg(a, "--no-d-batchnorm", NULL);
    arg(a, "--lr", "%.9g", cfg_float(c, "train", "lr"));
    arg(a, "--betas", "%.9g,%.9g", cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"));
    arg(a, "--eps", "%.9g", cfg_float(c, "train", "eps"));
    arg(a, "--weight-decay", "%.9g", cfg_float(c, "train", "weight_decay"));
    return 0;
}

/* ---- CycleGAN: models/cyclegan.h cyclegan_trainer_init / cyclegan_trainer_iteration ------------- */

typedef struct {
    cyclegan_trainer r;
    tensor a, b; /* a random batch of each domain in [-1, 1], the same every iteration */
} cyclegan_bench;

/* What tools/torch_ref/cyclegan_torch.py can do: LSGAN, no identity loss, no image pool, 3 D layers,
 * the same channels on both sides. */
static int cyclegan_supported(const cfg *c, char *err, size_t errlen) {
    if (strcmp(cfg_str(c, "cyclegan", "gan_mode"), "lsgan") || cfg_float(c, "cyclegan", "lambda_identity") != 0 ||
        cfg_int(c, "cyclegan", "pool_size") != 0 || cfg_int(c, "cyclegan", "n_layers_d") != 3 ||
        cfg_int(c, "data", "channels_a") != cfg_int(c, "data", "channels_b")) {
        set_err(err, errlen, "--model cyclegan times what its torch twin does: cyclegan.gan_mode = lsgan, lambda_identity "
                             "= 0, pool_size = 0, n_layers_d = 3 and data.channels_a = data.channels_b");
        return -1;
    }
    return 0;
}

static void *cyclegan_init(const cfg *c, clg_ctx *cl, char *err, size_t errlen) {
    if (cyclegan_supported(c, err, errlen) != 0) return NULL;
    cyclegan_bench *s = xcalloc(1, sizeof *s);
    if (cyclegan_trainer_init(&s->r, c, cl, "(bench: no run folder)", 0, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    const cyclegan_spec *sp = &s->r.s;
    s->a = bench_random_tensor(cl, s->r.B, sp->channels_a, sp->size, sp->size, 1, NULL);
    s->b = bench_random_tensor(cl, s->r.B, sp->channels_b, sp->size, sp->size, 2, NULL);
    return s;
}

static void cyclegan_iteration(void *p) {
    cyclegan_bench *s = p;
    cyclegan_step_vars sv;
    cyclegan_trainer_iteration(&s->r, &s->a, &s->b, &sv);
}

static void cyclegan_free(void *p) {
    cyclegan_bench *s = p;
    cyclegan_trainer_free(&s->r);
    clReleaseMemObject(s->a.mem);
    clReleaseMemObject(s->b.mem);
    free(s);
}

static int cyclegan_torch_args(const cfg *c, arglist *a, char *err, size_t errlen) {
    if (cyclegan_supported(c, err, errlen) != 0) return -1;
    arg(a, "--size", "%ld", cfg_int(c, "data", "crop_size"));
    arg(a, "--blocks", "%ld", cfg_int(c, "cyclegan", "n_blocks"));
    arg(a, "--ngf", "%ld", cfg_int(c, "cyclegan", "ngf"));
    arg(a, "--ndf", "%ld", cfg_int(c, "cyclegan", "ndf"));
    arg(a, "--channels", "%ld", cfg_int(c, "data", "channels_a"));
    arg(a, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    if (!strcmp(cfg_str(c, "cyclegan", "upsample"), "tconv")) arg(a, "--tconv", NULL);
    return 0;
}

/* ---- the models ------------------------------------------------------------------------------ */

/* The data set only feeds the batches: a few batches' worth loads in a fraction of the time. */
static const char *const dcgan_sets[] = {"data.train_limit=1024", NULL};
/* Seed 003's CycleGAN (edges2shoes, RGB, 128x128, 6 residual blocks) and the reference's 256x256 with 9
 * blocks, on random batches (no data set is read); no image pool, as the torch twin; epochs high so
 * that the learning rate stays constant (the decay schedule counts each step as an epoch here). */
#define CYCLEGAN_SETS(S, BLOCKS)                                                                                   \
    {"data.channels_a=3", "data.channels_b=3", "data.load_size=" #S, "data.crop_size=" #S, "cyclegan.n_blocks=" #BLOCKS, \
     "cyclegan.pool_size=0", "train.epochs=100000", NULL}
static const char *const cyclegan_sets[] = CYCLEGAN_SETS(128, 6);
static const char *const cyclegan256_sets[] = CYCLEGAN_SETS(256, 9);

static const bench_model models[] = {
    {"vae", "vae", "ini/vae.ini", NULL, 20, 200, "tools/torch_ref/vae_iter.py", vae_init, vae_iteration,
     vae_bench_free, vae_torch_args},
    {"dcgan", "gan", "ini/dcgan.ini", dcgan_sets, 1, 3, "tools/torch_ref/dcgan_iter.py", dcgan_init, dcgan_iteration,
     dcgan_free, dcgan_torch_args},
    {"cyclegan", "cyclegan", "ini/cyclegan.ini", cyclegan_sets, 2, 10, "tools/torch_ref/cyclegan_torch.py",
     cyclegan_init, cyclegan_iteration, cyclegan_free, cyclegan_torch_args},
    {"cyclegan256", "cyclegan", "ini/cyclegan.ini", cyclegan256_sets, 1, 5, "tools/torch_ref/cyclegan_torch.py",
     cyclegan_init, cyclegan_iteration, cyclegan_free, cyclegan_torch_args},
};

void bench_model_list(FILE *f) {
    fprintf(f, "models (--model):");
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        fprintf(f, " %s", models[i].name);
    fprintf(f, "\n");
}

/* ---- running ----------------------------------------------------------------------------------- */

static cfg *model_config(const bench_model *m, const bench_model_opts *o, char *err, size_t errlen) {
    const model_desc *d = model_find(m->type);
    if (!d) {
        set_err(err, errlen, "model type '%s' is not registered in models/registry.c", m->type);
        return NULL;
    }
    cfg *c = cfg_new();
    cfg_add_keys(c, common_keys, common_nkeys);
    cfg_add_keys(c, d->keys, d->nkeys);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", o->root, m->ini);
    int rc = cfg_parse_file(c, path, err, errlen);
    for (int i = 0; rc == 0 && m->sets && m->sets[i]; i++) rc = cfg_set(c, m->sets[i], err, errlen);
    for (int i = 0; rc == 0 && i < o->nsets; i++) rc = cfg_set(c, o->sets[i], err, errlen);
    if (rc != 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

static double clgan_time(const bench_model *m, const cfg *c, clg_ctx *cl, int warmup, int iters, char *err, size_t errlen) {
    double t0 = now_seconds();
    void *st = m->init(c, cl, err, errlen);
    if (!st) return -1;
    clg_finish(cl);
    printf("clgan: built in %.1f s; %d warm-up iteration%s, then %d timed\n", now_seconds() - t0, warmup,
           warmup == 1 ? "" : "s", iters);
    fflush(stdout);
    for (int i = 0; i < warmup; i++) m->iteration(st);
    clg_finish(cl);
    /* each iteration timed alone too: on a shared machine the fastest one shows the code's speed, the
     * mean (the ratio's measure) what the machine gave */
    double t1 = now_seconds(), best = 0;
    for (int i = 0; i < iters; i++) {
        double ti = now_seconds();
        m->iteration(st);
        clg_finish(cl);
        double d = now_seconds() - ti;
        if (i == 0 || d < best) best = d;
    }
    double spi = (now_seconds() - t1) / iters;
    printf("clgan fastest iteration %.4g s\n", best);
    m->free(st);
    return spi;
}

/* Runs argv, echoing its output, and reads "seconds_per_iter S" from it. */
static double torch_time(char *const *argv) {
    int fd[2];
    if (pipe(fd) != 0) die("bench: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("bench: fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    if (!f) die("bench: fdopen: %s", strerror(errno));
    char line[2048];
    double spi = -1;
    while (fgets(line, sizeof line, f)) {
        printf("  %s", line);
        fflush(stdout);
        if (!strncmp(line, "seconds_per_iter ", 17)) spi = strtod(line + 17, NULL);
    }
    fclose(f);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s %s failed (%s %d)\n", argv[0], argv[1], WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    if (!(spi > 0)) fprintf(stderr, "bench: %s printed no 'seconds_per_iter S' line\n", argv[1]);
    return spi > 0 ? spi : -1;
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
    const bench_model *m = NULL;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (!strcmp(models[i].name, o->model)) m = &models[i];
    if (!m) {
        fprintf(stderr, "bench: unknown model '%s'; ", o->model);
        bench_model_list(stderr);
        return 2;
    }
    char err[4096];
    cfg *c = model_config(m, o, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    arglist ta = {.n = 0};
    if (m->torch_args(c, &ta, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        cfg_free(c);
        return 2;
    }
    int warmup = o->warmup >= 0 ? o->warmup : m->warmup, iters = o->iters > 0 ? o->iters : m->iters;
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
    printf("bench --model %s, %s, load %.2f\n%s", m->name, date, load[0], m->ini);
    for (int i = 0; m->sets && m->sets[i]; i++) printf(" %s", m->sets[i]);
    for (int i = 0; i < o->nsets; i++) printf(" %s", o->sets[i]);
    printf("\n");
    printf("device: %s\n", desc);
    fflush(stdout);
    double clg = clgan_time(m, c, cl, warmup, iters, err, sizeof err);
    int is_cpu = !cl->is_gpu;
    clg_close(cl);
    cfg_free(c);
    if (clg < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    printf("clgan %.4g s/iter (%d iteration%s after %d warm-up)\n", clg, iters, iters == 1 ? "" : "s", warmup);
    if (o->no_torch) return 0;

    char script[4300], s_iters[24], s_warmup[24], s_threads[24];
    snprintf(script, sizeof script, "%s/%s", o->root, m->torch_script);
    snprintf(s_iters, sizeof s_iters, "%d", iters);
    snprintf(s_warmup, sizeof s_warmup, "%d", warmup);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(s_threads, sizeof s_threads, "%ld", cores > 0 ? cores : 1);
    char *argv[MAXARGS + 16];
    int n = 0;
    argv[n++] = (char *)o->python;
    argv[n++] = script;
    for (int i = 0; i < ta.n; i++) argv[n++] = ta.v[i];
    char *tail[] = {"--iters", s_iters, "--warmup", s_warmup, "--threads", s_threads, "--device", "cpu"};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0] - (is_cpu ? 0 : 2); i++) argv[n++] = tail[i];
    argv[n] = NULL;
    printf("pytorch:");
    for (int i = 0; i < n; i++) printf(" %s", argv[i]);
    printf("\n");
    double tor = torch_time(argv);
    if (tor < 0) return 1;
    printf("clgan %.4g s/iter, pytorch %.4g s/iter\n", clg, tor);
    print_ratio(clg / tor);
    return 0;
}
