/* The model layer's one interface. A model is a model_desc (its INI keys and the functions below) and a
 * trainer struct of its own whose first member is a `trainer`; models/run.c drives every model through
 * this table alone, for ./train (run_train), ./bench (run_bench_*) and ./translate (the translator part).
 *
 * The run loop owns what every model repeats: the step counter and the epoch arithmetic, the progress
 * line, losses.csv and the NaN stop, evaluation and grid cadence, checkpoints (the parts and metadata a
 * model names, written atomically with the step, seed and config), resume, the loss plot. A model owns
 * its networks, its optimizers, its data and what one iteration does. */
#ifndef CLGAN_MODEL_H
#define CLGAN_MODEL_H
#include <stdio.h>

#include "checkpoint.h"
#include "config.h"
#include "device.h"
#include "losslog.h"
#include "seq.h"
#include "tape.h"

struct model_desc;

/* The state every model's trainer starts with. init() sets the fields marked (model); the run loop
 * sets the others before init and keeps step. */
typedef struct trainer {
    const struct model_desc *m;
    const cfg *c;
    clg_ctx *cl;
    tape t;                  /* (model: tape_init) the step's tape; losses are variables on it */
    unsigned long long seed; /* run.seed */
    int with_data;           /* 0: no data set is read; iterations use a fixed random batch (./bench) */
    long step;               /* iterations taken */
    long spe;                /* (model) iterations per epoch */
    long epochs;             /* (model) epochs in all */
    long grid_every;         /* (model) steps between extra grids + checkpoints; 0: only at epoch ends */
    long grid_epochs;        /* (model) epochs between epoch-end grids + checkpoints (default 1) */
    long eval_every;         /* (model) steps between evaluate(full = 0) calls; 0: none */
    int nloss;               /* (model) losses per iteration, named in loss_names (losses.csv columns) */
    const char *loss_names[LOSSLOG_MAX];
    const char *loss_group[LOSSLOG_MAX]; /* (model) each loss's plot panel on the run page; NULL: "losses" */
    int loss[LOSSLOG_MAX];   /* (iteration) this iteration's losses: scalar variables on t */
    const char *unit;        /* (model) what a step is, for messages ("step", "generator step"); NULL: "step" */
    /* Data parallelism (host/comm.h): the last batch trainer_shard split, rows [shard_row0, + shard_rows)
     * of its batch_rows are this rank's. */
    int shard_row0, shard_rows, batch_rows;
} trainer;

/* Model metadata for a checkpoint: key/value strings beside the run loop's own (format, model, step,
 * epoch, seed, config). */
#define CKPT_META_MAX 24
#define CKPT_PARTS_MAX 12
typedef struct {
    const char *key[CKPT_META_MAX];
    char val[CKPT_META_MAX][32];
    int n;
} ckpt_meta;
void ckpt_meta_add(ckpt_meta *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A network's shape as metadata, so a checkpoint alone rebuilds it (./translate): n integer fields under
 * keys[i], written, and read back each within [0, 65536] (the error names the field). */
void ckpt_meta_add_ints(ckpt_meta *m, const char *const *keys, int *const *fields, int n);
int ckpt_meta_read_ints(const st_file *f, const char *path, const char *const *keys, int *const *fields, int n, char *err,
                        size_t errlen);

/* A network ready for image-to-image inference (./translate), rebuilt from a checkpoint alone. */
typedef struct {
    const struct model_desc *m;
    seqnet net;
    int in_c, out_c;   /* image channels in and out */
    int size;          /* the training image side: inputs are resized to it unless --native */
    int multiple;      /* --native sizes must be a multiple of this */
    int nz;            /* > 0: a multimodal model, translate_z takes a latent z {N, nz, 1, 1} (--samples K) */
    void *encoder;     /* the model's encoder of targets (translator_open_encoder), or NULL */
    char what[160];    /* one line for the user: "G_A (1 -> 1 channels, ngf 64, 6 blocks, trained at 64x64)" */
} translator;

typedef struct model_desc {
    const char *type; /* [model] type = ... */
    const char *summary;
    const cfg_key *keys;
    int nkeys;
    size_t size; /* sizeof the model's trainer struct (a `trainer` first) */

    /* Cross-key checks, run before the run folder is made (NULL: none). */
    int (*check)(const cfg *c, char *err, size_t errlen);
    /* Builds and initialises the networks, optimizers and (with_data) the data; sets the (model) fields. */
    int (*init)(trainer *tr, char *err, size_t errlen);
    /* One training iteration on the next batch: sets tr->loss[] and advances tr->step by one. */
    void (*iteration)(trainer *tr);
    /* One line after the run loop's "loaded ..." banner: data and shapes (may be NULL). */
    void (*describe)(trainer *tr, FILE *f);
    /* Extra text for the progress line (e.g. the learning rate), or NULL. */
    void (*progress)(trainer *tr, char *out, size_t outlen);
    /* Writes the model's grids into dir: "<name>.png" and, when tag is not NULL, "<name>_<tag>.png". */
    int (*grids)(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen);
    /* Evaluation (NULL: none): appends to dir/eval.csv; full: at an epoch's end (the whole test set). */
    int (*evaluate)(trainer *tr, const char *dir, int full, char *err, size_t errlen);
    /* The checkpoint's tensors (networks with their optimizers, buffers); returns how many (<= CKPT_PARTS_MAX). */
    int (*parts)(trainer *tr, ckpt_part *parts);
    /* The model's own metadata, and reading it back (each field validated with ckpt_meta_long_range
     * before use, errors naming it; tr->step already holds the checkpoint's step). */
    void (*meta_save)(trainer *tr, ckpt_meta *meta);
    int (*meta_load)(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen);
    void (*free)(trainer *tr);

    /* ./bench: the PyTorch twin (tools/torch_ref/) and its arguments for this configuration, one per
     * element of argv (at most 48, each < 64 chars); -1 with err when the twin cannot run it. NULL: none. */
    const char *torch_script;
    int (*torch_args)(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen);
    int bench_warmup, bench_iters; /* defaults for ./bench */

    /* ./translate (NULL: the model translates nothing): the network of `direction` ("AtoB", "BtoA")
     * built from the checkpoint's metadata and loaded with its weights. */
    int (*translator_open)(translator *tr, clg_ctx *cl, const char *path, const char *direction, char *err,
                           size_t errlen);
    /* y = the translation of x (evaluation mode; the tape records nothing). */
    int (*translate)(translator *tr, tape *t, int x);
    /* Multimodal models (tr->nz > 0; NULL otherwise): y = G(x, z); the encoder of target images (sets
     * tr->encoder) and the mean latent {N, nz, 1, 1} it gives a target, and freeing it. */
    int (*translate_z)(translator *tr, tape *t, int x, int z);
    int (*encoder_open)(translator *tr, clg_ctx *cl, const char *path, char *err, size_t errlen);
    int (*encode)(translator *tr, tape *t, int target);
    void (*encoder_free)(translator *tr);
} model_desc;

/* The registry of models (models/registry.c); NULL if unknown. */
const model_desc *model_find(const char *type);
int model_count(void);
const model_desc *model_at(int i); /* 0 .. model_count() - 1 */
void model_list(FILE *f);
/* A configuration with every key of the model at its default: the keys every model shares ([model] type,
 * whose choices are the registered names, [run], [train]) first, then the model's own. */
cfg *model_schema(const model_desc *m);

/* ---- the run loop (models/run.c) ---- */

/* Trains (or resumes) in run_dir, whose config.ini is already written. Returns the process exit status:
 * 0 done, 1 error (message printed), 3 stopped on a non-finite loss (the last checkpoint kept). */
int run_train(const model_desc *m, const cfg *c, clg_ctx *cl, const char *run_dir, int resume);

/* A trainer of model m for configuration c (init called). with_data 0: random fixed batches, no data
 * read. NULL with err on failure. trainer_free releases it. */
trainer *trainer_new(const model_desc *m, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen);
void trainer_free(trainer *tr);
/* Writes dir/checkpoint.safetensors (atomically) and reads it back into a trainer (validating every
 * field: step within [0, steps of the run], the model's own metadata). */
int trainer_save(trainer *tr, const char *dir, char *err, size_t errlen);
int trainer_load(trainer *tr, const char *dir, char *err, size_t errlen);
/* The run's length in steps: epochs * spe, capped by train.max_steps. */
long trainer_total_steps(const trainer *tr);

/* Opens the translator of a checkpoint (its "model" metadata picks the model); -1 with err. */
int translator_open_checkpoint(translator *tr, clg_ctx *cl, const char *path, const char *direction, char *err,
                               size_t errlen);
/* y = the translation of x (evaluation mode: call with tape grad_enabled = 0). */
int translator_run(translator *tr, tape *t, int x);
/* Multimodal models (tr->nz > 0): y = G(x, z); the encoder of targets (-1 with err if the model has
 * none); the mean latent of targets {N, nz, 1, 1}. translator_free frees the encoder too. */
int translator_run_z(translator *tr, tape *t, int x, int z);
int translator_open_encoder(translator *tr, clg_ctx *cl, const char *path, char *err, size_t errlen);
int translator_encode(translator *tr, tape *t, int target);
void translator_free(translator *tr);

/* Appends "key" and, when fmt is not NULL, its value to a torch twin's argv (at most 48 entries). */
void torch_arg(char argv[][64], int *argc, const char *key, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* --lr, --betas, --eps and --weight-decay from [train]. */
void torch_adam_args(const cfg *c, char argv[][64], int *argc);

/* ---- data parallelism (several ranks, host/comm.h; with one rank every call leaves its input alone) ----
 * Every rank runs the same model code on its slice of each global batch: the data order, the weights
 * and the step are the same on every rank, and the engine sums the gradients (optim_step) and the
 * batch-norm statistics. A model calls: */

/* Turns the global batch rows [*first, *first + *count) of the data order into this rank's rows (the
 * ranks' slices in rank order, as even as the count allows) and records them (trainer fields above,
 * and this rank's share of the batch for the gradient sum). Stops the run when the count is below the
 * number of ranks. */
void trainer_shard(trainer *tr, int *first, int *count);
/* The rows a batch-wide random draw must have for a batch of `rows` rows on this rank: the global
 * batch when `rows` is this rank's slice of the last trainer_shard, else rows. Draw that many, then
 * take trainer_rank_rows of the draw: the ranks' draws together are the one-rank draw. */
int trainer_draw_rows(const trainer *tr, int rows);
/* This rank's rows of a batch-wide variable of trainer_draw_rows rows (a copy, no gradient); v itself
 * when it already has this rank's count. */
int trainer_rank_rows(trainer *tr, int v);
/* The whole batch's rows of a variable that holds this rank's rows (of the last trainer_shard), in rank
 * order, the same on every rank (a copy without gradient): for state every rank keeps alike, such as an
 * image pool fed with every rank's fakes. v itself with one rank. */
int trainer_gather_rows(trainer *tr, int v);
/* Means over this rank's rows (v[0..n)) into the means over the whole batch, the same on every rank
 * (for a model's host-side decisions, such as a controller fed by losses). */
void trainer_batch_means(trainer *tr, double *v, int n);
/* The seed of per-element draws that cannot be split by rows (dropout masks): run.seed on rank 0 (so a
 * one-rank run is unchanged), a different one on every other rank. */
unsigned long long trainer_rank_seed(const trainer *tr);

/* A network with one parameter "x" {N, C, H, W} of U(lo, hi) draws: the fixed batch a trainer without
 * data (with_data = 0) trains on. */
void trainer_fixed_batch(net *n, clg_ctx *cl, const char *name, int N, int C, int H, int W, unsigned long long seed,
                         float lo, float hi);

#endif
