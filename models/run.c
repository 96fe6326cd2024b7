/* The one run loop: every model trains through it (./train), is timed through it (./bench) and
 * translates through it (./translate). See models/model.h for what a model provides. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rng.h"
#include "run_report.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"

static int fail(const char *msg) {
    fprintf(stderr, "clgan: %s\n", msg);
    return 1;
}

void ckpt_meta_add(ckpt_meta *m, const char *key, const char *fmt, ...) {
    if (m->n == CKPT_META_MAX) die("ckpt_meta_add: more than %d metadata keys", CKPT_META_MAX);
    m->key[m->n] = key;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->val[m->n], sizeof m->val[m->n], fmt, ap);
    va_end(ap);
    m->n++;
}

void ckpt_meta_add_ints(ckpt_meta *m, const char *const *keys, int *const *fields, int n) {
    for (int i = 0; i < n; i++) ckpt_meta_add(m, keys[i], "%d", *fields[i]);
}

int ckpt_meta_read_ints(const st_file *f, const char *path, const char *const *keys, int *const *fields, int n, char *err,
                        size_t errlen) {
    for (int i = 0; i < n; i++) {
        long v;
        if (ckpt_meta_long_range(f, path, keys[i], 0, 65536, &v, err, errlen) != 0) return -1;
        *fields[i] = (int)v;
    }
    return 0;
}

trainer *trainer_new(const model_desc *m, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen) {
    if (m->size < sizeof(trainer)) die("model %s: trainer size %zu", m->type, m->size);
    trainer *tr = xcalloc(1, m->size);
    tr->m = m, tr->c = c, tr->cl = cl, tr->with_data = with_data, tr->grid_epochs = 1;
    tr->seed = (unsigned long long)cfg_int(c, "run", "seed");
    if ((m->check && m->check(c, err, errlen) != 0) || m->init(tr, err, errlen) != 0) {
        free(tr);
        return NULL;
    }
    if (tr->spe < 1 || tr->epochs < 1 || tr->nloss < 1 || tr->nloss > LOSSLOG_MAX || tr->grid_epochs < 1)
        die("model %s: init left spe %ld, epochs %ld, %d losses, grid_epochs %ld", m->type, tr->spe, tr->epochs, tr->nloss,
            tr->grid_epochs);
    return tr;
}

void trainer_free(trainer *tr) {
    if (!tr) return;
    tr->m->free(tr);
    free(tr);
}

long trainer_total_steps(const trainer *tr) {
    long total = tr->epochs * tr->spe, max_steps = cfg_int(tr->c, "train", "max_steps");
    return max_steps > 0 && max_steps < total ? max_steps : total;
}

/* ---- checkpoints ------------------------------------------------------------------------------ */

int trainer_save(trainer *tr, const char *dir, char *err, size_t errlen) {
    char path[4300], cfgpath[4300];
    run_path(path, sizeof path, dir, "checkpoint.safetensors");
    run_path(cfgpath, sizeof cfgpath, dir, "config.ini");
    char *config = read_file(cfgpath, NULL, err, errlen);
    if (!config) return -1;
    ckpt_meta meta = {.n = 0};
    ckpt_meta_add(&meta, "format", "clgan-checkpoint-1");
    ckpt_meta_add(&meta, "model", "%s", tr->m->type);
    ckpt_meta_add(&meta, "step", "%ld", tr->step);
    ckpt_meta_add(&meta, "epoch", "%ld", tr->step / tr->spe);
    ckpt_meta_add(&meta, "seed", "%llu", tr->seed);
    tr->m->meta_save(tr, &meta);
    const char *k[CKPT_META_MAX + 1], *v[CKPT_META_MAX + 1];
    for (int i = 0; i < meta.n; i++) k[i] = meta.key[i], v[i] = meta.val[i];
    k[meta.n] = "config", v[meta.n] = config; /* the effective config, too long for a ckpt_meta value */
    ckpt_part parts[CKPT_PARTS_MAX];
    int np = tr->m->parts(tr, parts);
    int rc = ckpt_save(path, parts, np, k, v, meta.n + 1, err, errlen);
    free(config);
    return rc;
}

int trainer_load(trainer *tr, const char *dir, char *err, size_t errlen) {
    char path[4300];
    run_path(path, sizeof path, dir, "checkpoint.safetensors");
    ckpt_part parts[CKPT_PARTS_MAX];
    int np = tr->m->parts(tr, parts);
    st_file f;
    if (ckpt_load(path, parts, np, 1, &f, err, errlen) != 0) return -1;
    const char *model = st_meta(&f, "model");
    long step = -1, total = tr->epochs * tr->spe; /* not capped by max_steps: a finished run may be resumed to look */
    int rc = 0;
    if (!model || strcmp(model, tr->m->type)) {
        set_err(err, errlen, "%s: a checkpoint of model '%s', not %s", path, model ? model : "(none)", tr->m->type);
        rc = -1;
    }
    if (rc == 0) rc = ckpt_meta_long_range(&f, path, "step", 0, total, &step, err, errlen);
    long old_step = tr->step;
    tr->step = step; /* the model checks its counters against it (an optimizer has taken at most so many steps) */
    if (rc == 0) rc = tr->m->meta_load(tr, &f, path, err, errlen);
    if (rc != 0) tr->step = old_step;
    st_free(&f);
    return rc;
}

/* ---- the loop ---------------------------------------------------------------------------------- */

static int stop_nan(const char *msg, const char *dir, long saved_step) {
    if (saved_step >= 0)
        fprintf(stderr, "clgan: %s; stopping. The last good checkpoint, %s/checkpoint.safetensors (step %ld), is kept.\n",
                msg, dir, saved_step);
    else
        fprintf(stderr, "clgan: %s; stopping before any checkpoint was written.\n", msg);
    return 3;
}

static void progress_line(trainer *tr, long total, const double *means, double its) {
    const char *unit = tr->unit ? tr->unit : "step";
    char left[32], extra[128] = "";
    format_duration(its > 0 ? (double)(total - tr->step) / its : -1, left, sizeof left);
    if (tr->m->progress) tr->m->progress(tr, extra, sizeof extra);
    printf("epoch %ld/%ld  %s %ld/%ld ", (tr->step - 1) / tr->spe + 1, tr->epochs, unit, tr->step, total);
    for (int i = 0; i < tr->nloss; i++) printf(" %s %.4g", tr->loss_names[i], means[i]);
    printf("%s%s | %.2f it/s  left %s\n", extra[0] ? "  " : "", extra, its, left);
    fflush(stdout);
}

/* Grids, checkpoint and loss plot: everything a save point writes. */
static int save_point(trainer *tr, const char *dir, const char *csv, char *err, size_t errlen) {
    long s = tr->step;
    char tag[32];
    if (s % tr->spe == 0 || s == trainer_total_steps(tr)) snprintf(tag, sizeof tag, "epoch%03ld", (s + tr->spe - 1) / tr->spe);
    else snprintf(tag, sizeof tag, "step%07ld", s);
    if (tr->m->grids(tr, dir, tag, err, errlen) != 0 || trainer_save(tr, dir, err, errlen) != 0) return -1;
    char png[4300], title[128];
    run_path(png, sizeof png, dir, "losses.png");
    snprintf(title, sizeof title, "%s losses (per %s)", tr->m->type, tr->unit ? tr->unit : "step");
    if (plot_csv(csv, png, title, tr->loss_group, err, errlen) != 0) fprintf(stderr, "clgan: warning: %s\n", err);
    char evalcsv[4300];
    run_path(evalcsv, sizeof evalcsv, dir, "eval.csv");
    run_path(png, sizeof png, dir, "eval.png");
    snprintf(title, sizeof title, "%s evaluation", tr->m->type);
    if (plot_eval_csv(evalcsv, png, title, NULL, err, errlen) != 0) fprintf(stderr, "clgan: warning: %s\n", err);
    return 0;
}

int run_train(const model_desc *m, const cfg *c, clg_ctx *cl, const char *run_dir, int resume) {
    char err[4096];
    trainer *tr = trainer_new(m, c, cl, 1, err, sizeof err);
    if (!tr) return fail(err);
    const long total = trainer_total_steps(tr);
    const int log_every = (int)cfg_int(c, "run", "log_every");
    const char *unit = tr->unit ? tr->unit : "step";
    char csv[4300], evalcsv[4300];
    run_path(csv, sizeof csv, run_dir, "losses.csv");
    run_path(evalcsv, sizeof evalcsv, run_dir, "eval.csv");
    long saved = -1;
    int status = 0;
    if (resume) {
        if (trainer_load(tr, run_dir, err, sizeof err) != 0) status = fail(err);
        else {
            saved = tr->step;
            printf("resuming %s at %s %ld (epoch %ld)\n", run_dir, unit, tr->step, tr->step / tr->spe + 1);
        }
    }
    /* Rows after the checkpoint (or, in a fresh run, rows of a run killed before its first checkpoint)
     * belong to no saved state: drop them so no step appears twice. */
    if (status == 0 && (csv_truncate_after(csv, resume ? tr->step : 0, err, sizeof err) != 0 ||
                        csv_truncate_after(evalcsv, resume ? tr->step : 0, err, sizeof err) != 0))
        status = fail(err);
    losslog ll;
    if (status == 0 && losslog_open(&ll, cl, csv, tr->loss_names, tr->nloss, log_every, err, sizeof err) != 0)
        status = fail(err);
    if (status) {
        trainer_free(tr);
        return status;
    }
    if (m->describe) m->describe(tr, stdout);
    fflush(stdout);
    run_page pg; /* index.html: written at the start, with progress lines, at save points and at the end */
    run_page_open(&pg, tr, run_dir, resume ? saved : -1);
    double t_log = now_seconds();
    while (tr->step < total) {
        m->iteration(tr);
        tensor sc[LOSSLOG_MAX];
        for (int i = 0; i < tr->nloss; i++) sc[i] = tape_val(&tr->t, tr->loss[i]);
        if (losslog_push(&ll, tr->step, sc, err, sizeof err) != 0) {
            status = stop_nan(err, run_dir, saved);
            break;
        }
        const long s = tr->step;
        const int epoch_end = s % tr->spe == 0, last = s == total;
        const int save = last || (epoch_end && (s / tr->spe) % tr->grid_epochs == 0) ||
                         (tr->grid_every > 0 && s % tr->grid_every == 0);
        if (s % log_every == 0 || epoch_end || save) {
            if (losslog_flush(&ll, err, sizeof err) != 0) { /* before any checkpoint of this state */
                status = stop_nan(err, run_dir, saved);
                break;
            }
            double means[LOSSLOG_MAX], now = now_seconds();
            long n = losslog_take_means(&ll, means);
            double its = n ? (double)n / (now - t_log) : 0;
            if (n) progress_line(tr, total, means, its);
            t_log = now + run_page_update(&pg, tr, REPORT_RUNNING, NULL, its, 0);
        }
        if (m->evaluate && ((tr->eval_every > 0 && s % tr->eval_every == 0) || epoch_end)) {
            tape_sync(&tr->t); /* the training work queued so far is training time, not evaluation time */
            double t0 = now_seconds();
            if (m->evaluate(tr, run_dir, epoch_end, err, sizeof err) != 0) {
                status = fail(err);
                break;
            }
            t_log += now_seconds() - t0;
        }
        if (save) {
            if (save_point(tr, run_dir, csv, err, sizeof err) != 0) {
                status = fail(err);
                break;
            }
            saved = s;
            run_page_update(&pg, tr, REPORT_RUNNING, NULL, 0, 2);
            t_log = now_seconds();
        }
    }
    run_page_update(&pg, tr, status == 0 ? REPORT_FINISHED : status == 3 ? REPORT_STOPPED_NAN : REPORT_FAILED,
                    status ? err : NULL, 0, 1);
    run_page_close(&pg);
    if (status == 0) printf("stopped at %s %ld; checkpoint %s/checkpoint.safetensors\n", unit, tr->step, run_dir);
    losslog_close(&ll);
    trainer_free(tr);
    return status;
}

/* ---- translation ------------------------------------------------------------------------------- */

int translator_open_checkpoint(translator *tr, clg_ctx *cl, const char *path, const char *direction, char *err,
                               size_t errlen) {
    st_file f;
    if (st_load(path, &f, err, errlen) != 0) return -1;
    const char *type = st_meta(&f, "model");
    const model_desc *m = type ? model_find(type) : NULL;
    if (!m) set_err(err, errlen, "%s: not a clgan checkpoint of a known model (model = %s)", path, type ? type : "none");
    else if (!m->translator_open)
        set_err(err, errlen, "%s: a %s checkpoint; %s models translate no images (./translate takes image-to-image "
                             "models such as cyclegan)", path, m->type, m->type);
    st_free(&f);
    if (!m || !m->translator_open) return -1;
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    return m->translator_open(tr, cl, path, direction, err, errlen);
}

int translator_run(translator *tr, tape *t, int x) { return tr->m->translate(tr, t, x); }

int translator_run_z(translator *tr, tape *t, int x, int z) {
    if (tr->nz < 1 || !tr->m->translate_z) die("translator_run_z: %s is not a multimodal model", tr->m->type);
    return tr->m->translate_z(tr, t, x, z);
}

int translator_open_encoder(translator *tr, clg_ctx *cl, const char *path, char *err, size_t errlen) {
    if (!tr->m->encoder_open) {
        set_err(err, errlen, "%s: %s models have no encoder of target images", path, tr->m->type);
        return -1;
    }
    return tr->m->encoder_open(tr, cl, path, err, errlen);
}

int translator_encode(translator *tr, tape *t, int target) {
    if (!tr->encoder) die("translator_encode: no encoder was opened");
    return tr->m->encode(tr, t, target);
}

void translator_free(translator *tr) {
    if (tr->encoder && tr->m->encoder_free) tr->m->encoder_free(tr);
    tr->encoder = NULL;
    seq_free(&tr->net);
}

/* ---- fixed random batches (./bench: no data set read) ------------------------------------------ */

void trainer_fixed_batch(net *n, clg_ctx *cl, const char *name, int N, int C, int H, int W, unsigned long long seed,
                         float lo, float hi) {
    net_init(n, cl, name);
    n->requires_grad = 0;
    net_add(n, "x", 4, (int[]){N, C, H, W});
    net_alloc(n);
    float *x = xmalloc(n->total * sizeof *x);
    rng_seq rs = rng_seq_make(seed, RNG_STREAM_SAMPLE, 7);
    for (size_t i = 0; i < n->total; i++) x[i] = lo + (hi - lo) * rng_uniform(&rs);
    net_upload(n, x);
    free(x);
}

/* ---- the PyTorch twin's arguments (./bench) ------------------------------------------------------ */

void torch_arg(char argv[][64], int *argc, const char *key, const char *fmt, ...) {
    if (*argc + 2 > 48) die("torch_arg: more than 48 arguments");
    snprintf(argv[(*argc)++], 64, "%s", key);
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(argv[(*argc)++], 64, fmt, ap);
    va_end(ap);
}

void torch_adam_args(const cfg *c, char argv[][64], int *argc) {
    torch_arg(argv, argc, "--lr", "%.9g", cfg_float(c, "train", "lr"));
    torch_arg(argv, argc, "--betas", "%.9g,%.9g", cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"));
    torch_arg(argv, argc, "--eps", "%.9g", cfg_float(c, "train", "eps"));
    torch_arg(argv, argc, "--weight-decay", "%.9g", cfg_float(c, "train", "weight_decay"));
}
