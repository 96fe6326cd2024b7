/* The VAE's training loop: data order, steps, logging, evaluation, grids, checkpoints, resume. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "dataset.h"
#include "image_io.h"
#include "losslog.h"
#include "rng.h"
#include "runutil.h"
#include "util.h"
#include "vae.h"

#define GRID 6
#define EVAL_BATCH 1000

typedef struct {
    const cfg *c;
    clg_ctx *cl;
    const char *dir;
    dataset train, test;
    vae m;
    optim opt;
    tape t;
    unsigned long long seed;
    long step, spe, epochs;
} vae_run;

static int fail(const char *msg) {
    fprintf(stderr, "clgan: %s\n", msg);
    return 1;
}

/* One-hot labels of rows [first, first+count) of d's current order (conditional VAE), else -1. */
static int labels(vae_run *r, dataset *d, int first, int count) {
    if (!r->m.s.ncls) return -1;
    tensor y = arena_tensor(&r->t.ar, count, r->m.s.ncls, 1, 1);
    dataset_onehot(d, first, count, y);
    return tape_input(&r->t, y);
}

/* Mean squared error between test images and their reconstructions decoded from mu. */
static double eval_mse(vae_run *r, int nimages) {
    tape *t = &r->t;
    if (nimages > r->test.n) nimages = r->test.n;
    double sum = 0;
    t->grad_enabled = 0;
    for (int first = 0; first < nimages; first += EVAL_BATCH) {
        int count = nimages - first < EVAL_BATCH ? nimages - first : EVAL_BATCH;
        tape_reset(t);
        tensor xb = arena_tensor(&t->ar, count, 1, r->test.h, r->test.w);
        dataset_batch(&r->test, first, count, xb, 1.0f);
        int x = tape_input(t, xb), y = labels(r, &r->test, first, count);
        int xhat = vae_decode(&r->m, t, vae_encode_mu(&r->m, t, x, y), y);
        int xflat = tape_input(t, (tensor){xb.mem, xb.off, count, r->m.in_dim, 1, 1});
        sum += tape_read_scalar(t, op_sqerr_sum(t, xhat, xflat, 1.0f));
    }
    t->grad_enabled = 1;
    tape_reset(t);
    return sum / ((double)nimages * r->m.in_dim);
}

/* A 6x6 grid decoded from fixed N(0, I) draws, and 36 test images beside their reconstructions. */
static int write_grids(vae_run *r, const char *tag, char *err, size_t errlen) {
    tape *t = &r->t;
    int n = GRID * GRID, D = r->m.in_dim, Z = r->m.zdim;
    float *z = xmalloc((size_t)n * Z * sizeof *z), *img = xmalloc((size_t)n * D * sizeof *img);
    int ncls = r->m.s.ncls, rows = ncls ? ncls : GRID;
    if (ncls) { /* one row per class, one z per column */
        n = ncls * GRID;
        z = xrealloc(z, (size_t)n * Z * sizeof *z);
        img = xrealloc(img, (size_t)n * D * sizeof *img);
    }
    float *pairs = xmalloc((size_t)2 * n * D * sizeof *pairs), *orig = xmalloc((size_t)n * D * sizeof *orig);
    float *recon = xmalloc((size_t)n * D * sizeof *recon);
    rng_seq rs = rng_seq_make(r->seed, RNG_STREAM_SAMPLE, 0);
    for (int i = 0; i < n * Z; i++) z[i] = rng_normal(&rs);
    if (ncls)
        for (int i = GRID; i < n; i++) memcpy(z + (size_t)i * Z, z + (size_t)(i % GRID) * Z, (size_t)Z * sizeof *z);
    t->grad_enabled = 0;
    tape_reset(t);
    tensor zt = arena_tensor(&t->ar, n, Z, 1, 1);
    clg_write(r->cl, zt.mem, zt.off, (size_t)n * Z, z);
    int ys = -1;
    if (ncls) {
        float *oh = xcalloc((size_t)n * ncls, sizeof *oh);
        for (int i = 0; i < n; i++) oh[(size_t)i * ncls + i / GRID] = 1.0f;
        tensor yt = arena_tensor(&t->ar, n, ncls, 1, 1);
        clg_write(r->cl, yt.mem, yt.off, (size_t)n * ncls, oh);
        free(oh);
        ys = tape_input(t, yt);
    }
    tensor s = tape_val(t, vae_decode(&r->m, t, tape_input(t, zt), ys));
    clg_read(r->cl, s.mem, s.off, (size_t)n * D, img);
    tape_reset(t);
    n = GRID * GRID; /* 36 test images beside their reconstructions */
    tensor xb = arena_tensor(&t->ar, n, 1, r->test.h, r->test.w);
    dataset_batch(&r->test, 0, n, xb, 1.0f);
    int yr = labels(r, &r->test, 0, n);
    tensor rec = tape_val(t, vae_decode(&r->m, t, vae_encode_mu(&r->m, t, tape_input(t, xb), yr), yr));
    clg_read(r->cl, xb.mem, xb.off, (size_t)n * D, orig);
    clg_read(r->cl, rec.mem, rec.off, (size_t)n * D, recon);
    for (int i = 0; i < n; i++) { /* each test image, then its reconstruction */
        memcpy(pairs + (size_t)(2 * i) * D, orig + (size_t)i * D, (size_t)D * sizeof(float));
        memcpy(pairs + (size_t)(2 * i + 1) * D, recon + (size_t)i * D, (size_t)D * sizeof(float));
    }
    t->grad_enabled = 1;
    tape_reset(t);
    char p1[4200], p2[4200], name[64];
    snprintf(name, sizeof name, "samples%s.png", tag);
    run_path(p1, sizeof p1, r->dir, name);
    snprintf(name, sizeof name, "reconstructions%s.png", tag);
    run_path(p2, sizeof p2, r->dir, name);
    int rc = png_write_grid(p1, img, rows * GRID, 1, r->test.h, r->test.w, rows, GRID, 0, 1, 2, err, errlen);
    if (rc == 0) rc = png_write_grid(p2, pairs, 2 * n, 1, r->test.h, r->test.w, GRID, 2 * GRID, 0, 1, 2, err, errlen);
    free(z);
    free(img);
    free(pairs);
    free(orig);
    free(recon);
    return rc;
}

static int save_checkpoint(vae_run *r, char *err, size_t errlen) {
    char path[4200], cfgpath[4200], step[32], epoch[32], adam_t[32], seed[32];
    run_path(path, sizeof path, r->dir, "checkpoint.safetensors");
    run_path(cfgpath, sizeof cfgpath, r->dir, "config.ini");
    char *config = read_file(cfgpath, NULL, err, errlen);
    if (!config) return -1;
    snprintf(step, sizeof step, "%ld", r->step);
    snprintf(epoch, sizeof epoch, "%ld", r->step / r->spe);
    snprintf(adam_t, sizeof adam_t, "%ld", r->opt.t);
    snprintf(seed, sizeof seed, "%llu", r->seed);
    const char *k[] = {"format", "model", "step", "epoch", "adam_t", "seed", "config"};
    const char *v[] = {"clgan-checkpoint-1", "vae", step, epoch, adam_t, seed, config};
    ckpt_part part = {&r->m.net, &r->opt};
    int rc = ckpt_save(path, &part, 1, k, v, 7, err, errlen);
    free(config);
    return rc;
}

static int load_checkpoint(vae_run *r, char *err, size_t errlen) {
    char path[4200];
    run_path(path, sizeof path, r->dir, "checkpoint.safetensors");
    st_file f;
    ckpt_part part = {&r->m.net, &r->opt};
    if (ckpt_load(path, &part, 1, 1, &f, err, errlen) != 0) return -1;
    long adam_t;
    int rc = ckpt_meta_long(&f, path, "step", &r->step, err, errlen);
    if (rc == 0) rc = ckpt_meta_long(&f, path, "adam_t", &adam_t, err, errlen);
    r->opt.t = adam_t;
    st_free(&f);
    return rc;
}

vae_vars vae_train_step(vae *m, optim *opt, tape *t, int x, int y, unsigned long long seed, unsigned step) {
    net_zero_grad(&m->net);
    vae_vars v = vae_forward_y(m, t, x, y, seed, step);
    tape_backward(t, v.loss);
    optim_step(opt);
    return v;
}

static FILE *open_eval_csv(const char *dir, char *err, size_t errlen) {
    char path[4200];
    run_path(path, sizeof path, dir, "eval.csv");
    FILE *f = fopen(path, "a");
    if (!f) {
        set_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return NULL;
    }
    if (ftell(f) == 0) fprintf(f, "step,epoch,images,test_mse\n");
    return f;
}

static void progress(vae_run *r, long epoch, const double *means, double its) {
    long total = r->epochs * r->spe, stop = cfg_int(r->c, "train", "max_steps");
    if (stop > 0 && stop < total) total = stop;
    char eta[32];
    format_duration(its > 0 ? (double)(total - r->step) / its : -1, eta, sizeof eta);
    printf("epoch %ld/%ld  step %ld/%ld  recon %.3f  kl %.3f  loss %.3f | %.1f it/s  %.1f s/epoch  left %s\n",
           epoch + 1, r->epochs, r->step, total, means[0], means[1], means[2], its,
           its > 0 ? (double)r->spe / its : 0.0, eta);
    fflush(stdout);
}

static int stop_on_nan(vae_run *r, const char *msg, long saved_step) {
    char path[4200];
    run_path(path, sizeof path, r->dir, "checkpoint.safetensors");
    if (saved_step >= 0)
        fprintf(stderr, "clgan: %s; stopping. The last good checkpoint, %s (step %ld), is kept.\n", msg, path, saved_step);
    else
        fprintf(stderr, "clgan: %s; stopping before any checkpoint was written.\n", msg);
    return 3;
}

int vae_train(const cfg *c, clg_ctx *cl, const char *run_dir, int resume) {
    char err[4096];
    vae_run r = {.c = c, .cl = cl, .dir = run_dir};
    r.seed = (unsigned long long)cfg_int(c, "run", "seed");
    int cond = cfg_bool(c, "vae", "conditional");
    if (dataset_load_idx(&r.train, cl, cfg_str(c, "data", "train_images"), cond ? cfg_str(c, "data", "train_labels") : NULL,
                         (int)cfg_int(c, "data", "train_limit"), err, sizeof err) != 0)
        return fail(err);
    if (dataset_load_idx(&r.test, cl, cfg_str(c, "data", "test_images"), cond ? cfg_str(c, "data", "test_labels") : NULL, 0,
                         err, sizeof err) != 0)
        return fail(err);
    int conv = !strcmp(cfg_str(c, "vae", "arch"), "conv");
    vae_spec spec = {.in_c = 1, .in_h = r.train.h, .in_w = r.train.w, .hidden = (int)cfg_int(c, "vae", "hidden"),
                     .zdim = (int)cfg_int(c, "vae", "zdim"), .relu_latent = cfg_bool(c, "vae", "relu_latent"),
                     .conv1 = conv ? (int)cfg_int(c, "vae", "conv1") : 0, .conv2 = conv ? (int)cfg_int(c, "vae", "conv2") : 0,
                     .ncls = cond ? (r.train.ncls > r.test.ncls ? r.train.ncls : r.test.ncls) : 0,
                     .kl_weight = (float)cfg_float(c, "vae", "kl_weight")};
    vae_create_spec(&r.m, cl, &spec);
    optim_adam(&r.opt, &r.m.net, cfg_float(c, "train", "lr"), cfg_float(c, "train", "beta1"),
              cfg_float(c, "train", "beta2"), cfg_float(c, "train", "eps"), cfg_float(c, "train", "weight_decay"));
    tape_init(&r.t, cl);
    r.t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    const int B = (int)cfg_int(c, "train", "batch_size"), log_every = (int)cfg_int(c, "run", "log_every");
    const long eval_every = cfg_int(c, "eval", "every"), eval_images = cfg_int(c, "eval", "images");
    r.spe = (r.train.n + B - 1) / B; /* the last, smaller batch is kept, as PyTorch's DataLoader does */
    r.epochs = cfg_int(c, "train", "epochs");
    long stop_at = r.epochs * r.spe, max_steps = cfg_int(c, "train", "max_steps");
    if (max_steps > 0 && max_steps < stop_at) stop_at = max_steps;

    char csv[4200], evalpath[4200];
    run_path(csv, sizeof csv, run_dir, "losses.csv");
    run_path(evalpath, sizeof evalpath, run_dir, "eval.csv");
    long saved_step = -1;
    if (resume) {
        if (load_checkpoint(&r, err, sizeof err) != 0) return fail(err);
        saved_step = r.step;
        if (csv_truncate_after(csv, r.step, err, sizeof err) || csv_truncate_after(evalpath, r.step, err, sizeof err))
            return fail(err);
        printf("resuming %s at step %ld (epoch %ld)\n", run_dir, r.step, r.step / r.spe + 1);
    } else {
        vae_init_weights(&r.m, r.seed);
    }
    losslog ll;
    const char *names[] = {"recon", "kl", "loss"};
    if (losslog_open(&ll, cl, csv, names, 3, log_every, err, sizeof err) != 0) return fail(err);
    FILE *evalcsv = open_eval_csv(run_dir, err, sizeof err);
    if (!evalcsv) return fail(err);
    printf("training %d images in batches of %d (%ld steps/epoch), %ld epochs, testing on %d images\n", r.train.n, B,
           r.spe, r.epochs, r.test.n);

    int status = 0;
    double t_log = now_seconds(), epoch_secs_sum = 0, last_mse = NAN;
    long epochs_timed = 0;
    for (long epoch = r.step / r.spe; epoch < r.epochs && r.step < stop_at && status == 0; epoch++) {
        dataset_shuffle(&r.train, r.seed, (unsigned)epoch);
        double t_epoch = now_seconds(), eval_secs = 0;
        long it = r.step % r.spe, it_start = it;
        int full_epoch = it == 0;
        for (; it < r.spe && r.step < stop_at; it++) {
            int first = (int)(it * B), count = r.train.n - first < B ? r.train.n - first : B;
            tape_reset(&r.t);
            tensor xb = arena_tensor(&r.t.ar, count, 1, r.train.h, r.train.w);
            dataset_batch(&r.train, first, count, xb, 1.0f);
            vae_vars v = vae_train_step(&r.m, &r.opt, &r.t, tape_input(&r.t, xb), labels(&r, &r.train, first, count),
                                        r.seed, (unsigned)r.step);
            r.step++;
            tensor sc[3] = {tape_val(&r.t, v.recon), tape_val(&r.t, v.kl), tape_val(&r.t, v.loss)};
            if (losslog_push(&ll, r.step, sc, err, sizeof err) != 0) {
                status = stop_on_nan(&r, err, saved_step);
                break;
            }
            if (r.step % log_every == 0) {
                double means[3], now = now_seconds();
                long n = losslog_take_means(&ll, means);
                progress(&r, epoch, means, (double)n / (now - t_log));
                t_log = now;
            }
            if (r.step % eval_every == 0) {
                clg_finish(cl); /* the training work queued so far is training time, not evaluation time */
                double t0 = now_seconds();
                last_mse = eval_mse(&r, (int)eval_images);
                fprintf(evalcsv, "%ld,%ld,%ld,%.7g\n", r.step, epoch + 1, eval_images < r.test.n ? eval_images : r.test.n, last_mse);
                fflush(evalcsv);
                eval_secs += now_seconds() - t0;
                t_log += now_seconds() - t0;
            }
        }
        if (status) break;
        if (losslog_flush(&ll, err, sizeof err) != 0) {
            status = stop_on_nan(&r, err, saved_step);
            break;
        }
        clg_finish(cl);
        double secs = now_seconds() - t_epoch - eval_secs;
        int epoch_done = it == r.spe;
        if (epoch_done) {
            double t0 = now_seconds();
            last_mse = eval_mse(&r, r.test.n);
            fprintf(evalcsv, "%ld,%ld,%d,%.7g\n", r.step, epoch + 1, r.test.n, last_mse);
            fflush(evalcsv);
            char tag[32];
            snprintf(tag, sizeof tag, "_epoch%03ld", epoch + 1);
            if (write_grids(&r, tag, err, sizeof err) != 0 || write_grids(&r, "", err, sizeof err) != 0) {
                status = fail(err);
                break;
            }
            if (full_epoch) {
                epoch_secs_sum += secs;
                epochs_timed++;
            }
            printf("epoch %ld done: %.2f s of training (%.1f it/s), test reconstruction MSE %.5f (%.1f s for eval and grids)\n",
                   epoch + 1, secs, (double)(it - it_start) / secs, last_mse, now_seconds() - t0);
        } else if (write_grids(&r, "", err, sizeof err) != 0) { /* stopped by train.max_steps */
            status = fail(err);
            break;
        }
        if (save_checkpoint(&r, err, sizeof err) != 0) {
            status = fail(err);
            break;
        }
        saved_step = r.step;
        char png[4200];
        run_path(png, sizeof png, run_dir, "losses.png");
        if (plot_csv(csv, png, "VAE losses (per step)", err, sizeof err) != 0) fprintf(stderr, "clgan: warning: %s\n", err);
    }
    if (status == 0) {
        printf("stopped at step %ld; checkpoint %s/checkpoint.safetensors\n", r.step, run_dir);
        if (epochs_timed) printf("mean %.2f s per epoch of training over %ld full epochs\n", epoch_secs_sum / (double)epochs_timed, epochs_timed);
        if (!isnan(last_mse)) printf("final test reconstruction MSE %.5f\n", last_mse);
    }
    fclose(evalcsv);
    losslog_close(&ll);
    tape_free(&r.t);
    optim_free(&r.opt);
    vae_free(&r.m);
    dataset_free(&r.train);
    dataset_free(&r.test);
    return status;
}
