/* The one run loop: every model trains through it (./train), is timed through it (./bench) and
 * translates through it (./translate). See models/model.h for what a model provides. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
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

/* ---- data parallelism (host/comm.h) -------------------------------------------------------------- */

void trainer_shard(trainer *tr, int *first, int *count) {
    int R = comm_size(), r = comm_rank(), n = *count;
    tr->shard_row0 = 0, tr->shard_rows = tr->batch_rows = n;
    if (R == 1) return;
    if (n < R) {
        fprintf(stderr, "clgan: a batch of %d rows at %s %ld cannot be split over %d ranks (a last, short batch "
                        "of the epoch: choose data.train_limit so that it is at least the rank count)\n",
                n, tr->unit ? tr->unit : "step", tr->step, R);
        comm_abort(1);
    }
    int base = n / R, rem = n % R; /* the first rem ranks take one row more */
    tr->shard_row0 = r * base + (r < rem ? r : rem);
    tr->shard_rows = base + (r < rem);
    *first += tr->shard_row0;
    *count = tr->shard_rows;
    comm_set_share((double)tr->shard_rows / (double)n);
}

int trainer_draw_rows(const trainer *tr, int rows) {
    return comm_size() > 1 && tr->batch_rows > 0 && rows == tr->shard_rows ? tr->batch_rows : rows;
}

int trainer_rank_rows(trainer *tr, int v) {
    tensor x = tape_val(&tr->t, v);
    if (comm_size() == 1 || x.n == tr->shard_rows || x.n != tr->batch_rows) return v;
    int y = tape_new(&tr->t, tr->shard_rows, x.c, x.h, x.w, 0);
    tape_copy_rows(&tr->t, y, 0, v, tr->shard_row0, tr->shard_rows);
    return y;
}

int trainer_gather_rows(trainer *tr, int v) {
    tensor x = tape_val(&tr->t, v);
    int R = comm_size();
    if (R == 1 || x.n != tr->shard_rows || tr->batch_rows == tr->shard_rows) return v;
    size_t per = (size_t)x.c * x.h * x.w, *counts = xmalloc((size_t)R * sizeof *counts);
    for (int q = 0; q < R; q++) /* trainer_shard's split */
        counts[q] = per * (size_t)(tr->batch_rows / R + (q < tr->batch_rows % R));
    float *mine = tape_download_new(&tr->t, v, NULL), *all = xmalloc(per * (size_t)tr->batch_rows * sizeof *all);
    comm_allgather_float(mine, all, counts);
    int out = tape_upload(&tr->t, tr->batch_rows, x.c, x.h, x.w, all);
    free(counts);
    free(mine);
    free(all);
    return out;
}

void trainer_batch_means(trainer *tr, double *v, int n) {
    (void)tr;
    if (comm_size() == 1) return;
    for (int i = 0; i < n; i++) v[i] *= comm_share();
    comm_allreduce_sum_double(v, (size_t)n);
}

unsigned long long trainer_rank_seed(const trainer *tr) {
    return tr->seed ^ ((unsigned long long)comm_rank() * 0x9E3779B97F4A7C15ull);
}

/* Every rank starts from rank 0's weights, optimizer moments and buffers: after a resume (every rank read
 * the same checkpoint) this changes nothing, and a device whose initialisation rounds differently
 * cannot make the ranks drift apart. */
static void sync_start(trainer *tr) {
    ckpt_part parts[CKPT_PARTS_MAX];
    int np = tr->m->parts(tr, parts);
    for (int i = 0; i < np; i++) {
        net *n = parts[i].net;
        float *h = xmalloc(3 * n->total * sizeof *h);
        net_download(n, h);
        if (parts[i].opt) optim_download(parts[i].opt, h + n->total, h + 2 * n->total);
        comm_bcast_float(h, (parts[i].opt ? 3 : 1) * n->total);
        net_upload(n, h);
        if (parts[i].opt) optim_upload(parts[i].opt, h + n->total, h + 2 * n->total);
        free(h);
    }
}

/* Each rank's losses are means over its rows: the batch's are their share-weighted sum, the same on
 * every rank. The losses become these values (new scalars on the tape). Returns 0, or 1 when one is not
 * finite (every rank sees the same values, so every rank stops at the same step). */
static int sync_losses(trainer *tr) {
    double v[LOSSLOG_MAX];
    for (int i = 0; i < tr->nloss; i++) v[i] = tape_read_scalar(&tr->t, tr->loss[i]);
    trainer_batch_means(tr, v, tr->nloss);
    int bad = 0;
    for (int i = 0; i < tr->nloss; i++) {
        float f = (float)v[i];
        bad |= !isfinite(f);
        tr->loss[i] = tape_upload(&tr->t, 1, 1, 1, 1, &f);
    }
    return bad;
}

static void print_comm_stats(const trainer *tr, double seconds) {
    comm_stats st = comm_get_stats();
    printf("data parallel over %d ranks, rank 0: %ld collectives, %.1f MB, %.2f s in MPI, %.2f s waiting for the "
           "backward before the gradient allreduces, %.2f s of %s loop\n",
           comm_size(), st.calls, st.bytes / 1e6, st.seconds, st.wait_seconds, seconds, tr->m->type);
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
    /* Data parallelism: every rank trains; rank 0 alone writes (losses.csv, eval.csv, grids, checkpoints,
     * the run page) and prints. Whatever stops one rank stops all of them at the same step. */
    const int R = comm_size(), writer = comm_rank() == 0;
    trainer *tr = trainer_new(m, c, cl, 1, err, sizeof err);
    if (comm_max_int(!tr)) {
        if (tr) trainer_free(tr);
        else fprintf(stderr, "clgan: %s\n", err);
        return 1;
    }
    const long total = trainer_total_steps(tr);
    const int log_every = (int)cfg_int(c, "run", "log_every");
    const char *unit = tr->unit ? tr->unit : "step";
    char csv[4300], evalcsv[4300];
    run_path(csv, sizeof csv, run_dir, "losses.csv");
    run_path(evalcsv, sizeof evalcsv, run_dir, "eval.csv");
    long saved = -1;
    int status = 0;
    if (resume) { /* every rank reads the checkpoint: the run folder must be visible to every host */
        if (trainer_load(tr, run_dir, err, sizeof err) != 0) status = fail(err);
        else {
            saved = tr->step;
            if (writer) printf("resuming %s at %s %ld (epoch %ld)\n", run_dir, unit, tr->step, tr->step / tr->spe + 1);
        }
    }
    /* Rows after the checkpoint (or, in a fresh run, rows of a run killed before its first checkpoint)
     * belong to no saved state: drop them so no step appears twice. */
    if (writer && status == 0 &&
        (csv_truncate_after(csv, resume ? tr->step : 0, err, sizeof err) != 0 ||
         csv_truncate_after(evalcsv, resume ? tr->step : 0, err, sizeof err) != 0))
        status = fail(err);
    losslog ll;
    if (writer && status == 0 && losslog_open(&ll, cl, csv, tr->loss_names, tr->nloss, log_every, err, sizeof err) != 0)
        status = fail(err);
    if (comm_max_int(status)) {
        trainer_free(tr);
        return status ? status : 1;
    }
    if (R > 1) sync_start(tr);
    if (writer && m->describe) m->describe(tr, stdout);
    fflush(stdout);
    run_page pg; /* index.html: written at the start, with progress lines, at save points and at the end */
    if (writer) run_page_open(&pg, tr, run_dir, resume ? saved : -1);
    double t_log = now_seconds(), t_start = t_log;
    while (tr->step < total) {
        m->iteration(tr);
        const int nan_all = R > 1 && sync_losses(tr); /* every rank stops at this step */
        if (nan_all && !writer) {
            status = 3;
            break;
        }
        if (!writer) { /* rank 0's failures (a full disk at a save point) stop the others too */
            if (comm_max_int(0)) status = 1;
            if (status) break;
            continue;
        }
        tensor sc[LOSSLOG_MAX];
        for (int i = 0; i < tr->nloss; i++) sc[i] = tape_val(&tr->t, tr->loss[i]);
        const long s = tr->step;
        const int epoch_end = s % tr->spe == 0, last = s == total;
        const int save = last || (epoch_end && (s / tr->spe) % tr->grid_epochs == 0) ||
                         (tr->grid_every > 0 && s % tr->grid_every == 0);
        comm_set_local(1); /* rank 0's own work: no batch norm waits for the other ranks */
        if (losslog_push(&ll, tr->step, sc, err, sizeof err) != 0) status = stop_nan(err, run_dir, saved);
        if (status == 0 && nan_all) { /* the flush names the loss and the step */
            if (losslog_flush(&ll, err, sizeof err) == 0) snprintf(err, sizeof err, "a loss is not finite at %s %ld", unit, s);
            status = stop_nan(err, run_dir, saved);
        }
        if (status == 0 && (s % log_every == 0 || epoch_end || save)) {
            if (losslog_flush(&ll, err, sizeof err) != 0) { /* before any checkpoint of this state */
                status = stop_nan(err, run_dir, saved);
            } else {
                double means[LOSSLOG_MAX], now = now_seconds();
                long n = losslog_take_means(&ll, means);
                double its = n ? (double)n / (now - t_log) : 0;
                if (n) progress_line(tr, total, means, its);
                t_log = now + run_page_update(&pg, tr, REPORT_RUNNING, NULL, its, 0);
            }
        }
        if (status == 0 && m->evaluate && ((tr->eval_every > 0 && s % tr->eval_every == 0) || epoch_end)) {
            tape_sync(&tr->t); /* the training work queued so far is training time, not evaluation time */
            double t0 = now_seconds();
            if (m->evaluate(tr, run_dir, epoch_end, err, sizeof err) != 0) status = fail(err);
            t_log += now_seconds() - t0;
        }
        if (status == 0 && save) {
            if (save_point(tr, run_dir, csv, err, sizeof err) != 0) {
                status = fail(err);
            } else {
                saved = s;
                run_page_update(&pg, tr, REPORT_RUNNING, NULL, 0, 2);
                t_log = now_seconds();
            }
        }
        comm_set_local(0);
        if (R > 1 && !nan_all) comm_max_int(status != 0); /* the others' check above */
        if (status) break;
    }
    if (writer) {
        comm_set_local(1);
        run_page_update(&pg, tr, status == 0 ? REPORT_FINISHED : status == 3 ? REPORT_STOPPED_NAN : REPORT_FAILED,
                        status ? err : NULL, 0, 1);
        run_page_close(&pg);
        comm_set_local(0);
        if (status == 0) printf("stopped at %s %ld; checkpoint %s/checkpoint.safetensors\n", unit, tr->step, run_dir);
        if (R > 1) print_comm_stats(tr, now_seconds() - t_start);
        losslog_close(&ll);
    }
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
