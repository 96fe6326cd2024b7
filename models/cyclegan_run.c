/* CycleGAN's training run: the loop over steps, translation grids of fixed validation pairs, losses,
 * checkpoints, resume (models/cyclegan_train.c holds the step itself). */
#include <stdlib.h>
#include <string.h>

#include "cyclegan.h"
#include "cyclegan_data.h"
#include "images.h"
#include "losslog.h"
#include "runutil.h"
#include "util.h"

#define GRID_PAD 2
#define GRID_GAP 10

static int fail(const char *msg) {
    fprintf(stderr, "clgan: %s\n", msg);
    return 1;
}

/* Runs G (evaluation, no tape records) on n host images; returns host images (caller frees). */
static float *translate_host(cyclegan_trainer *r, seqnet *g, const float *x, int n, int c) {
    tape *t = &r->t;
    int S = r->s.size;
    t->grad_enabled = 0;
    tape_reset(t);
    tensor xt = arena_tensor(&t->ar, n, c, S, S);
    clg_write(r->cl, xt.mem, xt.off, tnumel(xt), x);
    seq_ctx ctx = {.training = 0, .seed = r->seed};
    tensor y = tape_val(t, seq_forward(g, t, tape_input(t, xt), &ctx));
    float *out = xmalloc(tnumel(y) * sizeof(float));
    clg_read(r->cl, y.mem, y.off, tnumel(y), out);
    t->grad_enabled = 1;
    tape_reset(t);
    return out;
}

/* Copies image src (c channels, S x S, in [-1, 1]) into the RGB canvas at (y0, x0); gray is repeated. */
static void blit(float *canvas, int H, int W, const float *src, int c, int S, int y0, int x0) {
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                canvas[((size_t)ch * H + y0 + y) * W + x0 + x] = src[((size_t)(c == 3 ? ch : 0) * S + y) * S + x];
}

/* One PNG of the validation pairs, each a 2x2 block as seed 003 figure 11: real_A fake_B / real_B
 * fake_A; the blocks side by side in one row, gaps between them. */
static int write_grid(cyclegan_trainer *r, const char *name, char *err, size_t errlen) {
    cyclegan_data *d = r->data;
    int n = d->nval, S = r->s.size, ca = d->ca, cb = d->cb;
    float *fake_b = translate_host(r, &r->g_a, d->val_a, n, ca);
    float *fake_a = translate_host(r, &r->g_b, d->val_b, n, cb);
    int block = 2 * S + 3 * GRID_PAD, H = block, W = n * block + (n - 1) * GRID_GAP;
    float *canvas = xmalloc((size_t)3 * H * W * sizeof(float));
    for (size_t i = 0; i < (size_t)3 * H * W; i++) canvas[i] = 1.0f; /* white */
    size_t pa = (size_t)ca * S * S, pb = (size_t)cb * S * S;
    for (int i = 0; i < n; i++) {
        int x0 = i * (block + GRID_GAP) + GRID_PAD, x1 = x0 + S + GRID_PAD, y0 = GRID_PAD, y1 = y0 + S + GRID_PAD;
        blit(canvas, H, W, d->val_a + i * pa, ca, S, y0, x0);
        blit(canvas, H, W, fake_b + i * pb, cb, S, y0, x1);
        blit(canvas, H, W, d->val_b + i * pb, cb, S, y1, x0);
        blit(canvas, H, W, fake_a + i * pa, ca, S, y1, x1);
    }
    char path[4300];
    run_path(path, sizeof path, r->dir, name);
    int rc = image_save_png(path, canvas, 3, H, W, err, errlen);
    if (rc == 0) {
        run_path(path, sizeof path, r->dir, "translations.png");
        rc = image_save_png(path, canvas, 3, H, W, err, errlen);
    }
    free(canvas);
    free(fake_a);
    free(fake_b);
    return rc;
}

static int stop_nan(const char *msg, long saved_step) {
    fprintf(stderr, "clgan: %s; stopping.%s\n", msg,
            saved_step >= 0 ? " The last good checkpoint is kept." : " No checkpoint had been written yet.");
    return 3;
}

/* Grid, checkpoint and loss plot. */
static int save_all(cyclegan_trainer *r, const char *grid_name, const char *csv, char *err, size_t errlen) {
    if (write_grid(r, grid_name, err, errlen) != 0 || cyclegan_checkpoint(r, 1, err, errlen) != 0) return -1;
    char png[4300];
    run_path(png, sizeof png, r->dir, "losses.png");
    if (plot_csv(csv, png, "CycleGAN losses", err, errlen) != 0) fprintf(stderr, "clgan: warning: %s\n", err);
    return 0;
}

int cyclegan_train(const cfg *c, clg_ctx *cl, const char *run_dir, int resume) {
    char err[4096];
    cyclegan_trainer r;
    if (cyclegan_trainer_init(&r, c, cl, run_dir, 1, err, sizeof err) != 0) return fail(err);
    long epochs = r.n_epochs + r.n_epochs_decay, max_steps = cfg_int(c, "train", "max_steps");
    long stop_at = epochs * r.spe;
    if (max_steps > 0 && max_steps < stop_at) stop_at = max_steps;
    char csv[4300];
    run_path(csv, sizeof csv, run_dir, "losses.csv");
    long saved_step = -1;
    if (resume) {
        if (cyclegan_checkpoint(&r, 0, err, sizeof err) != 0 || csv_truncate_after(csv, r.step, err, sizeof err) != 0) {
            cyclegan_trainer_free(&r);
            return fail(err);
        }
        saved_step = r.step;
        printf("resuming %s at step %ld\n", run_dir, r.step);
    }
    const char *names[] = {"G_A", "G_B", "D_A", "D_B", "cycle_A", "cycle_B", "idt_A", "idt_B"};
    int nl = r.lambda_idt > 0 ? 8 : 6, log_every = (int)cfg_int(c, "run", "log_every");
    losslog ll;
    if (losslog_open(&ll, cl, csv, names, nl, log_every, err, sizeof err) != 0) {
        cyclegan_trainer_free(&r);
        return fail(err);
    }
    printf("CycleGAN %dx%d, A %d channel(s) (%d images), B %d channel(s) (%d images), ngf %d, %d blocks, batch %d, "
           "%ld steps per epoch, %ld + %ld epochs\n",
           r.s.size, r.s.size, r.s.channels_a, r.data->na, r.s.channels_b, r.data->nb, r.s.ngf, r.s.n_blocks, r.B, r.spe,
           r.n_epochs, r.n_epochs_decay);
    fflush(stdout);
    int status = 0;
    long grid_every = cfg_int(c, "cyclegan", "grid_every");
    double t_log = now_seconds();
    while (r.step < stop_at && status == 0) {
        cyclegan_step_vars sv;
        cyclegan_trainer_iteration(&r, NULL, NULL, &sv);
        int ids[8] = {sv.g_a, sv.g_b, sv.d_a, sv.d_b, sv.cycle_a, sv.cycle_b, sv.idt_a, sv.idt_b};
        tensor sc[8];
        for (int i = 0; i < nl; i++) sc[i] = tape_val(&r.t, ids[i]);
        if (losslog_push(&ll, r.step, sc, err, sizeof err) != 0) {
            status = stop_nan(err, saved_step);
            break;
        }
        int epoch_end = r.step % r.spe == 0;
        if (r.step % log_every == 0 || epoch_end || r.step == stop_at) {
            if (losslog_flush(&ll, err, sizeof err) != 0) {
                status = stop_nan(err, saved_step);
                break;
            }
            double m[8], now = now_seconds();
            long n = losslog_take_means(&ll, m);
            if (n) {
                char left[32];
                double its = (double)n / (now - t_log);
                format_duration((double)(stop_at - r.step) / its, left, sizeof left);
                printf("epoch %ld/%ld  step %ld/%ld  G_A %.3f  G_B %.3f  D_A %.3f  D_B %.3f  cyc_A %.3f  cyc_B %.3f  "
                       "lr %.2e | %.2f it/s  left %s\n",
                       (r.step - 1) / r.spe + 1, epochs, r.step, stop_at, m[0], m[1], m[2], m[3], m[4], m[5],
                       cyclegan_lr_at(&r, (r.step - 1) / r.spe), its, left);
                fflush(stdout);
            }
            t_log = now;
        }
        char grid[64] = "";
        if (epoch_end || r.step == stop_at) snprintf(grid, sizeof grid, "translations_epoch%03ld.png", (r.step + r.spe - 1) / r.spe);
        else if (grid_every > 0 && r.step % grid_every == 0) snprintf(grid, sizeof grid, "translations_step%07ld.png", r.step);
        if (grid[0]) {
            if (losslog_flush(&ll, err, sizeof err) != 0) {
                status = stop_nan(err, saved_step);
                break;
            }
            if (save_all(&r, grid, csv, err, sizeof err) != 0) {
                status = fail(err);
                break;
            }
            saved_step = r.step;
            t_log = now_seconds();
        }
    }
    if (status == 0) printf("stopped at step %ld; checkpoint %s/checkpoint.safetensors\n", r.step, run_dir);
    losslog_close(&ll);
    cyclegan_trainer_free(&r);
    return status;
}
