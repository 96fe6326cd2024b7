/* ./bench: what its files share. tools/bench.c reads the command line; bench_time.c measures a row
 * (check first, then warm-up and timed runs) and prints the table and the CSV; bench_conv.c and
 * bench_ops.c hold the rows (convolutions; GEMM, norms, elementwise ops, Adam, the ceilings);
 * bench_ref.c the plain C double-precision references; bench_model.c the training-iteration
 * benchmark against PyTorch (--model). */
#ifndef CLGAN_BENCH_H
#define CLGAN_BENCH_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "device.h"
#include "model.h"
#include "tape.h"

/* ---- measuring ------------------------------------------------------------------------------ */

typedef struct {
    double target_s; /* timed seconds per row (runs stop once past it, after min_runs) */
    int min_runs, max_runs, warmup;
} bench_opts;

/* A row's work, as callbacks over its own state. */
typedef struct {
    void *st;
    void (*pre)(void *st);     /* untimed, before each run (NULL: none): e.g. the forward of a backward row */
    void (*run)(void *st);     /* the timed work */
    double (*check)(void *st); /* after the first run: the largest error against the reference (NAN fails) */
    void (*done)(void *st);    /* frees the state */
} bench_work;

typedef struct {
    int runs;
    double med_ms, min_ms;
    int wall;   /* timed by the host clock between clFinish calls, not by events (see bench_time.c) */
    double err; /* the check's largest error */
} bench_result;

/* The first run is checked (and warms up), then opts->warmup more, then the timed runs. */
void bench_measure(clg_ctx *c, const bench_opts *o, const bench_work *w, bench_result *r);

/* Backward rows: runs the tape's nodes from n0 on in reverse, as tape_backward does, from the
 * upstream gradient dy of variable y (the gradient of a whole loss is not wanted in the timing). */
void bench_backward(tape *t, int y, tensor dy, int n0);

/* ---- rows ----------------------------------------------------------------------------------- */

typedef enum { DIR_FWD, DIR_DX, DIR_DW, DIR_BWD } bench_dir;

/* conv2d (w {Co, Ci, k, k}) or conv_transpose2d (w {Ci, Co, k, k}) as torch. */
typedef struct {
    int transposed, N, Ci, Co, H, W, k, s, p, op, reflect, bias;
} conv_spec;

typedef enum { EL_RELU, EL_LRELU, EL_ELU, EL_TANH, EL_ADD, EL_UPSAMPLE, EL_BN, EL_IN } elem_op;

typedef struct bench_row bench_row;
struct bench_row {
    char name[64];   /* group.layer.dir: what --filter matches */
    char shape[96];  /* for people */
    int ceiling;     /* a ceiling row: always run, first, and sets the peaks */
    double flops;    /* per run; > 0: rated in GFLOP/s against the arithmetic ceiling (FMA or SGEMM) */
    double bytes;    /* per run (compulsory traffic: each input read once, each output written once); GB/s against the copy ceiling */
    bench_dir dir;
    void (*make)(clg_ctx *c, const bench_row *r, bench_work *w);
    union {
        conv_spec conv;
        struct { int ta, tb; size_t m, n, k; } gemm;
        struct { elem_op op; int n, c, h, w; } el;
        size_t count; /* Adam parameters, copy floats */
        struct { int width, iters; } fma; /* kernels/peak.cl: the vector width, FMAs per chain */
    } u;
};

typedef struct {
    bench_row *r;
    int n, cap;
} row_list;

bench_row *rows_add(row_list *l);
void rows_conv(row_list *l);    /* bench_conv.c */
void rows_ceiling(row_list *l, int quick); /* bench_ops.c */
void rows_ops(row_list *l);
/* "NN:MxNxK" (or NT, TN, TT) as a GEMM row; -1 if it does not parse. */
int rows_gemm_arg(row_list *l, const char *arg);

/* ---- references and checks (bench_ref.c) ---------------------------------------------------- */

/* Random floats in [-1, 1], never within 1e-3 of 0, from a seeded generator (fast enough for tens of
 * millions). */
void bench_randv(float *v, size_t n, unsigned long long seed);
/* A device buffer holding n such floats (and the host copy in *host unless host is NULL). */
tensor bench_random_tensor(clg_ctx *c, int n, int ch, int h, int w, unsigned long long seed, float **host);
/* Indices to check in a tensor of n elements: all when n <= BENCH_SAMPLES, else the first, the last and
 * random ones; returns the count. */
#define BENCH_SAMPLES 256
int bench_sample(size_t n, unsigned long long seed, size_t *idx);
/* Running maximum of |got - ref| / mag, mag the sum of |terms| of ref (NaN is worst). */
void bench_err(double *worst, float got, double ref, double mag);

/* Conv references for one element (see bench_ref.c); each returns the value and sets *mag to the sum
 * of |terms|. Layouts as torch; x {N, Ci, H, W}, y and dy {N, Co, OH, OW}. */
void conv_out_size(const conv_spec *s, int *oh, int *ow);
double ref_conv_y(const conv_spec *s, const float *x, const float *w, const float *b, size_t yi, double *mag);
double ref_conv_dx(const conv_spec *s, const float *dy, const float *w, size_t xi, double *mag);
double ref_conv_dw(const conv_spec *s, const float *x, const float *dy, size_t wi, double *mag);
double ref_conv_db(const conv_spec *s, const float *dy, int co, double *mag);

/* ---- output (bench_time.c) ------------------------------------------------------------------ */

typedef struct {
    double gflops, gbps; /* the ceilings measured at startup (0 until measured) */
} bench_peaks;

void bench_print_header(FILE *f);
void bench_print_row(FILE *f, const bench_row *r, const bench_result *res, const bench_peaks *pk, int ok);
void bench_csv_header(FILE *f);
void bench_csv_row(FILE *f, const bench_row *r, const bench_result *res, const bench_peaks *pk, int ok);
#define BENCH_TOL 1e-4 /* a check fails above this error */

/* ---- --model (bench_model.c) ---------------------------------------------------------------- */

typedef struct {
    const char *model, *config, *device, *python, *root; /* model: ini/bench/<model>.ini, else config */
    /* --torch-tuning: "tuned" (the default) or "none": PyTorch's malloc (the twin's --malloc) and its
     * OpenMP threads' spinning (GOMP_SPINCOUNT) set so that neither handicaps it (bench_twin_run) */
    const char *torch_tuning;
    int warmup, iters, no_torch; /* warmup/iters < 0: the model's defaults */
    int profile;   /* --profile: after the timed run, a profiled one (bench_profile.c) */
    int translate; /* --translate: > 0, the generator's inference at batch 1 and this batch instead (bench_translate.c) */
    const char *ab; /* --ab FIELD=V: iterations alternate between the device's kernel parameters and these */
    int rounds;     /* --rounds R: clgan and PyTorch take turns, R blocks each (1: one after the other; < 1: 5) */
    const char **sets;
    int nsets;
} bench_model_opts;

/* The INI's model (model.type, or a --set of it) and its configuration: parsed, the sets applied, checked;
 * NULL with err. ./bench --model and --tune read an INI alike. */
cfg *bench_model_config(const char *ini, const char **sets, int nsets, const model_desc **m, char *err,
                        size_t errlen);
/* Runs the model benchmark; returns the exit status (2: bad input). */
int bench_model_run(const bench_model_opts *o);
void bench_model_list(FILE *f, const char *root);
/* Runs a torch twin (argv[0] the interpreter, argv[1] the script), echoing its output indented, and
 * reads its lines "seconds_per_iter S", "images_per_s N R", "peak_memory_bytes N how", "blas ..." and
 * "malloc ..." and "openmp ...". With tuning "tuned" the child runs with GOMP_SPINCOUNT=10000 unless
 * the environment sets it. 0, or -1 if it could not run or failed. */
typedef struct {
    double spi, mem; /* -1: not printed */
    char blas[512], malloc[512], openmp[512], memhow[512];
    int nips, ips_batch[8];
    double ips[8];
} bench_twin_out;
int bench_twin_run(char *const *argv, const char *tuning, bench_twin_out *o);
/* A twin kept between blocks (argv with --serve; tools/bench_twin.c): bench_twin_start forks it (its
 * stdin a pipe when with_stdin), bench_twin_ready reads its set-up lines (echoed, into out) up to
 * "ready", bench_twin_block has it time k iterations (their seconds), bench_twin_finish ends
 * it and reads the rest (seconds_per_iter, peak memory). 0, or -1 with a message. */
typedef struct {
    pid_t pid;
    FILE *from, *to;
    const char *argv0, *script;
    bench_twin_out out;
} bench_twin;
int bench_twin_start(char *const *argv, const char *tuning, int with_stdin, bench_twin *tw);
int bench_twin_ready(bench_twin *tw);
int bench_twin_block(bench_twin *tw, int k, double *seconds);
int bench_twin_finish(bench_twin *tw);
/* The lines that say what the PyTorch side of a CPU ratio ran on: its BLAS and threads, its malloc, its
 * OpenMP threads' wait; each flags an anchor that handicaps PyTorch. */
void bench_twin_print_anchor(const bench_twin_out *o, const char *threads, const char *device);
/* --translate (bench_translate.c): the generator's inference in images/s at batch 1 and batch,
 * against tools/torch_ref/translate_torch.py unless no_torch. Returns the exit status. */
int bench_translate_run(const bench_model_opts *o, const model_desc *m, const cfg *c, int batch);

/* --profile (bench_profile.c): iters profiled iterations after warmup in a context of its own; prints the
 * device time per tape op and the kernel launches per iteration. -1 if the device or model fails. */
int bench_profile_model(const model_desc *m, const cfg *c, const char *device, int warmup, int iters);

/* ./bench --tune ... (tools/bench_tune.c): the kernel-parameter search; its own argument parsing. */
int bench_tune_main(int argc, char **argv);

#endif
