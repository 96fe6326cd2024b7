/* The GAN family's training loop: D (critic) steps then a G step, per seed 003 section 3.2.4 and
 * the WGAN / WGAN-GP recipes; sample and interpolation grids, losses, checkpoints, resume. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "dataset.h"
#include "gan.h"
#include "image_io.h"
#include "images.h"
#include "losslog.h"
#include "optim.h"
#include "rng.h"
#include "runutil.h"
#include "stl10.h"
#include "util.h"

#define SAMPLE_COLS 6



static int fail(const char *msg) {
    fprintf(stderr, "clgan: %s\n", msg);
    return 1;
}

/* ---- data ------------------------------------------------------------------------------------ */

static int load_folder(gan_trainer *r, char *err, size_t errlen) {
    image_list l;
    if (image_list_dir(cfg_str(r->c, "data", "folder"), &l, err, errlen) != 0) return -1;
    int C = r->s.channels, S = r->s.size, limit = (int)cfg_int(r->c, "data", "train_limit");
    int n = limit > 0 && limit < l.n ? limit : l.n, kept = 0, skipped = 0;
    image_prep p = {.channels = C, .load_size = S};
    size_t per = (size_t)C * S * S;
    float *all = xmalloc((size_t)n * per * sizeof(float));
    for (int i = 0; i < n; i++) {
        int h, w;
        char e2[1024];
        if (image_load(l.paths[i], &p, NULL, all + (size_t)kept * per, (int)per, &h, &w, e2, sizeof e2) != 0) {
            fprintf(stderr, "clgan: skipping %s\n", e2);
            skipped++;
            continue;
        }
        kept++;
    }
    image_list_free(&l);
    if (!kept) {
        free(all);
        set_err(err, errlen, "%s: no readable images", cfg_str(r->c, "data", "folder"));
        return -1;
    }
    for (size_t i = 0; i < (size_t)kept * per; i++) all[i] = 0.5f * all[i] + 0.5f;
    dataset_from_host(&r->data, r->cl, all, kept, C, S, S, NULL);
    free(all);
    if (skipped) printf("%d unreadable images skipped\n", skipped);
    return 0;
}

static int load_data(gan_trainer *r, char *err, size_t errlen) {
    const cfg *c = r->c;
    const char *src = cfg_str(c, "data", "source");
    int cond = cfg_bool(c, "gan", "conditional"), limit = (int)cfg_int(c, "data", "train_limit");
    int channels = (int)cfg_int(c, "data", "channels");
    if (!strcmp(src, "fashion-mnist")) {
        if (channels != 1) {
            set_err(err, errlen, "data.channels = %d: Fashion-MNIST is grayscale (1)", channels);
            return -1;
        }
        if (dataset_load_idx(&r->data, r->cl, cfg_str(c, "data", "train_images"),
                             cond ? cfg_str(c, "data", "train_labels") : NULL, limit, err, errlen) != 0)
            return -1;
    } else if (!strcmp(src, "stl10")) {
        float *imgs;
        int n;
        int S = strcmp(cfg_str(c, "gan", "arch"), "mlp") ? 64 : 28;
        if (stl10_load(cfg_str(c, "data", "stl10_images"), S, limit, &imgs, &n, err, errlen) != 0) return -1;
        unsigned char *labels = NULL;
        if (cond) {
            int nl;
            if (stl10_load_labels(cfg_str(c, "data", "stl10_labels"), &labels, &nl, err, errlen) != 0) {
                free(imgs);
                return -1;
            }
            if (nl < n) {
                set_err(err, errlen, "%s: %d labels for %d images", cfg_str(c, "data", "stl10_labels"), nl, n);
                free(imgs);
                free(labels);
                return -1;
            }
        }
        for (size_t i = 0; i < (size_t)n * 3 * S * S; i++) imgs[i] = 0.5f * imgs[i] + 0.5f;
        if (channels != 3) {
            set_err(err, errlen, "data.channels = %d: STL-10 is RGB (3)", channels);
            free(imgs);
            free(labels);
            return -1;
        }
        dataset_from_host(&r->data, r->cl, imgs, n, 3, S, S, labels);
        free(imgs);
        free(labels);
    } else {
        if (cond) {
            set_err(err, errlen, "data.source = folder has no labels: set gan.conditional = false");
            return -1;
        }
        if (load_folder(r, err, errlen) != 0) return -1;
    }
    return 0;
}

/* Real images of batch b (global batch index) and their one-hot labels (or -1). */
static int real_batch(gan_trainer *r, long b, int *y_vec, int *y_maps) {
    long it = b % r->spe;
    int first = (int)(it * r->B), count = r->data.n - first < r->B ? r->data.n - first : r->B;
    tape *t = &r->t;
    tensor x = arena_tensor(&t->ar, count, r->s.channels, r->s.size, r->s.size);
    dataset_batch_resized(&r->data, first, count, x, -1.0f, 1.0f);
    *y_vec = *y_maps = -1;
    if (r->s.conditional) {
        tensor yv = arena_tensor(&t->ar, count, r->s.ncls, 1, 1);
        dataset_onehot(&r->data, first, count, yv);
        *y_vec = tape_input(t, yv);
        if (!r->s.mlp) {
            tensor ym = arena_tensor(&t->ar, count, r->s.ncls, r->s.size, r->s.size);
            dataset_onehot(&r->data, first, count, ym);
            *y_maps = tape_input(t, ym);
        } else {
            *y_maps = *y_vec;
        }
    }
    return tape_input(t, x);
}

/* Label planes for D matching a label vector (DCGAN: broadcast over the image; MLP: the vector). */
static int label_maps(gan_trainer *r, int y_vec) {
    if (y_vec < 0 || r->s.mlp) return y_vec;
    tensor yv = tape_val(&r->t, y_vec);
    tensor ym = arena_tensor(&r->t.ar, yv.n, yv.c, r->s.size, r->s.size);
    CLG_LAUNCH1(r->cl, "gg_broadcast_planes", tnumel(ym), KMEM(ym.mem), KINT(ym.off), KMEM(yv.mem), KINT(yv.off),
                KINT(yv.n * yv.c), KINT(r->s.size * r->s.size));
    return tape_input(&r->t, ym);
}

/* ---- one training step ------------------------------------------------------------------------ */



static int mean_score(gan_trainer *r, int logits) {
    tape *t = &r->t;
    float inv = 1.0f / (float)tape_val(t, logits).n;
    return r->s.loss == GAN_VANILLA ? op_sum(t, op_sigmoid(t, logits), inv) : op_sum(t, logits, inv);
}

/* One critic/discriminator update on batch b; returns the fake (kept on the tape with G's graph
 * when keep_g, for the G step to reuse as PyTorch's DCGAN example does). */
static int d_step(gan_trainer *r, long b, unsigned zstep, int keep_g, gan_step_vars *sv, int *y_out) {
    tape *t = &r->t;
    int yv, ym;
    int x = real_batch(r, b, &yv, &ym);
    int B = tape_val(t, x).n;
    seq_ctx ctx = {.training = 1, .seed = r->seed, .step = zstep * 8u};
    int z = tape_randn(t, B, r->s.zdim, 1, 1, r->seed, RNG_STREAM_NOISE, zstep);
    sv->x = x;
    sv->z = z;
    r->g.params.requires_grad = keep_g;
    r->d.params.requires_grad = 1;
    int fake = gan_generate(&r->s, &r->g, t, z, yv, &ctx);
    int fake_d = tape_detach(t, fake);
    ctx.step = zstep * 8u + 1;
    int dr = gan_discriminate(&r->s, &r->d, t, x, ym, &ctx);
    ctx.step = zstep * 8u + 2;
    int df = gan_discriminate(&r->s, &r->d, t, fake_d, ym, &ctx);
    float inv = 1.0f / (float)B;
    if (r->s.loss == GAN_VANILLA) {
        sv->d_loss = op_lincomb(t, op_bce_logits_sum(t, dr, -1, 1.0f, inv), 1.0f, op_bce_logits_sum(t, df, -1, 0.0f, inv),
                                1.0f);
    } else {
        sv->d_loss = op_lincomb(t, op_sum(t, df, inv), 1.0f, op_sum(t, dr, inv), -1.0f);
    }
    if (r->s.loss == GAN_WGAN_GP) {
        tensor xv = tape_val(t, x), fv = tape_val(t, fake_d);
        int e = sv->gp_eps = tape_new(t, B, 1, 1, 1, 0);
        tensor ev = tape_val(t, e);
        CLG_LAUNCH1(r->cl, "rng_uniform", B, KMEM(ev.mem), KINT(ev.off), KINT(B), KUINT((uint32_t)r->seed),
                    KUINT((uint32_t)(r->seed >> 32)), KUINT(RNG_STREAM_GP), KUINT(zstep), KFLOAT(0.0f), KFLOAT(1.0f));
        int xh = tape_new(t, xv.n, xv.c, xv.h, xv.w, 1);
        tensor hv = tape_val(t, xh);
        CLG_LAUNCH1(r->cl, "gg_interp_rows", tnumel(hv), KMEM(hv.mem), KINT(hv.off), KMEM(xv.mem), KINT(xv.off), KMEM(fv.mem),
                    KINT(fv.off), KMEM(ev.mem), KINT(ev.off), KINT(B), KINT(trow(xv)));
        ctx.step = zstep * 8u + 3;
        int dh = gan_discriminate(&r->s, &r->d, t, xh, ym, &ctx);
        int grad = tape_grad_graph(t, op_sum(t, dh, 1.0f), xh);
        tensor ones = arena_tensor(&t->ar, B, 1, 1, 1);
        clg_fill(r->cl, ones.mem, ones.off, (size_t)B, 1.0f);
        sv->gp = op_sqerr_sum(t, op_rownorm(t, grad), tape_input(t, ones), r->gp_lambda * inv);
        sv->d_loss = op_lincomb(t, sv->d_loss, 1.0f, sv->gp, 1.0f);
    }
    sv->d_real = mean_score(r, dr);
    sv->d_fake = mean_score(r, df);
    net_zero_grad(&r->d.params);
    tape_backward(t, sv->d_loss);
    optim_step(&r->od);
    if (r->s.loss == GAN_WGAN) net_clip_weights(&r->d.params, r->clip);
    *y_out = yv;
    return fake;
}

/* The generator update: non-saturating -log D(G(z)) (vanilla) or -D(G(z)) (WGAN). */
static void g_step(gan_trainer *r, int fake, int yv, unsigned zstep, int B, gan_step_vars *sv) {
    tape *t = &r->t;
    seq_ctx ctx = {.training = 1, .seed = r->seed, .step = zstep * 8u};
    r->g.params.requires_grad = 1;
    r->d.params.requires_grad = 0; /* D frozen: no gradient into it */
    if (fake < 0) {
        int z = sv->z_g = tape_randn(t, B, r->s.zdim, 1, 1, r->seed, RNG_STREAM_NOISE, zstep);
        fake = gan_generate(&r->s, &r->g, t, z, yv, &ctx);
    }
    ctx.step = zstep * 8u + 4;
    int dg = gan_discriminate(&r->s, &r->d, t, fake, label_maps(r, yv), &ctx);
    float inv = 1.0f / (float)tape_val(t, dg).n;
    sv->g_loss = r->s.loss == GAN_VANILLA ? op_bce_logits_sum(t, dg, -1, 1.0f, inv) : op_sum(t, dg, -inv);
    net_zero_grad(&r->g.params);
    tape_backward(t, sv->g_loss);
    optim_step(&r->og);
    r->d.params.requires_grad = 1;
}

/* ---- grids, checkpoints ----------------------------------------------------------------------- */

static void fixed_labels(gan_trainer *r, int n, int rows_are_classes, float *onehot) {
    memset(onehot, 0, (size_t)n * r->s.ncls * sizeof(float));
    for (int i = 0; i < n; i++) {
        int cls = rows_are_classes ? i / SAMPLE_COLS : i % SAMPLE_COLS % r->s.ncls;
        onehot[(size_t)i * r->s.ncls + cls] = 1.0f;
    }
}

/* Decodes n latent vectors (and labels) with G in evaluation mode into host images. */
static float *generate_host(gan_trainer *r, const float *z, const float *onehot, int n) {
    tape *t = &r->t;
    t->grad_enabled = 0;
    tape_reset(t);
    tensor zt = arena_tensor(&t->ar, n, r->s.zdim, 1, 1);
    clg_write(r->cl, zt.mem, zt.off, (size_t)n * r->s.zdim, z);
    int y = -1;
    if (onehot) {
        tensor yt = arena_tensor(&t->ar, n, r->s.ncls, 1, 1);
        clg_write(r->cl, yt.mem, yt.off, (size_t)n * r->s.ncls, onehot);
        y = tape_input(t, yt);
    }
    seq_ctx ctx = {.training = 0, .seed = r->seed};
    tensor img = tape_val(t, gan_generate(&r->s, &r->g, t, tape_input(t, zt), y, &ctx));
    float *out = xmalloc(tnumel(img) * sizeof(float));
    clg_read(r->cl, img.mem, img.off, tnumel(img), out);
    t->grad_enabled = 1;
    tape_reset(t);
    return out;
}

static int write_grids(gan_trainer *r, long epoch, char *err, size_t errlen) {
    int rows = r->s.conditional ? r->s.ncls : SAMPLE_COLS, n = rows * SAMPLE_COLS, Z = r->s.zdim;
    float *z = xmalloc((size_t)n * Z * sizeof *z), *onehot = xmalloc((size_t)n * (r->s.ncls + 1) * sizeof(float));
    rng_seq rs = rng_seq_make(r->seed, RNG_STREAM_SAMPLE, 0);
    float *zcol = xmalloc((size_t)SAMPLE_COLS * Z * sizeof *zcol);
    for (int i = 0; i < SAMPLE_COLS * Z; i++) zcol[i] = rng_normal(&rs);
    rng_seq rs2 = rng_seq_make(r->seed, RNG_STREAM_SAMPLE, 2);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < Z; k++) /* conditional: one z per column, shared down the classes */
            z[(size_t)i * Z + k] = r->s.conditional ? zcol[(size_t)(i % SAMPLE_COLS) * Z + k] : rng_normal(&rs2);
    if (r->s.conditional) fixed_labels(r, n, 1, onehot);
    float *img = generate_host(r, z, r->s.conditional ? onehot : NULL, n);
    char path[4300], name[64];
    int C = r->s.channels, S = r->s.size, rc;
    snprintf(name, sizeof name, "samples_epoch%03ld.png", epoch);
    run_path(path, sizeof path, r->dir, name);
    rc = png_write_grid(path, img, n, C, S, S, rows, SAMPLE_COLS, -1, 1, 2, err, errlen);
    run_path(path, sizeof path, r->dir, "samples.png");
    if (rc == 0) rc = png_write_grid(path, img, n, C, S, S, rows, SAMPLE_COLS, -1, 1, 2, err, errlen);
    free(img);
    /* seed 002 figure 9: six pairs (z1, z2), rows from z1 to z2 in steps of 0.2 */
    rng_seq ri = rng_seq_make(r->seed, RNG_STREAM_SAMPLE, 1);
    float *pairs = xmalloc((size_t)2 * SAMPLE_COLS * Z * sizeof *pairs);
    for (int i = 0; i < 2 * SAMPLE_COLS * Z; i++) pairs[i] = rng_normal(&ri);
    int ni = 6 * SAMPLE_COLS;
    float *zi = xmalloc((size_t)ni * Z * sizeof *zi);
    for (int row = 0; row < 6; row++)
        for (int col = 0; col < SAMPLE_COLS; col++)
            for (int k = 0; k < Z; k++) {
                float a = 0.2f * (float)row;
                zi[((size_t)row * SAMPLE_COLS + col) * Z + k] =
                    (1 - a) * pairs[(size_t)col * Z + k] + a * pairs[(size_t)(SAMPLE_COLS + col) * Z + k];
            }
    if (r->s.conditional) fixed_labels(r, ni, 0, onehot);
    img = generate_host(r, zi, r->s.conditional ? onehot : NULL, ni);
    run_path(path, sizeof path, r->dir, "interpolation.png");
    if (rc == 0) rc = png_write_grid(path, img, ni, C, S, S, 6, SAMPLE_COLS, -1, 1, 2, err, errlen);
    free(img);
    free(zi);
    free(pairs);
    free(z);
    free(zcol);
    free(onehot);
    return rc;
}

static int checkpoint(gan_trainer *r, int save, char *err, size_t errlen) {
    char path[4300];
    run_path(path, sizeof path, r->dir, "checkpoint.safetensors");
    ckpt_part parts[4] = {{&r->g.params, &r->og}, {&r->d.params, &r->od}, {&r->g.buffers, NULL}, {&r->d.buffers, NULL}};
    if (save) {
        char cfgpath[4300], step[32], epoch[32], gt[32], dt[32], seed[32];
        run_path(cfgpath, sizeof cfgpath, r->dir, "config.ini");
        char *config = read_file(cfgpath, NULL, err, errlen);
        if (!config) return -1;
        snprintf(step, sizeof step, "%ld", r->step);
        snprintf(epoch, sizeof epoch, "%ld", r->step * r->n_critic / r->spe);
        snprintf(gt, sizeof gt, "%ld", r->og.t);
        snprintf(dt, sizeof dt, "%ld", r->od.t);
        snprintf(seed, sizeof seed, "%llu", r->seed);
        const char *k[] = {"format", "model", "step", "epoch", "G.opt_t", "D.opt_t", "seed", "config"};
        const char *v[] = {"clgan-checkpoint-1", "gan", step, epoch, gt, dt, seed, config};
        int rc = ckpt_save(path, parts, 4, k, v, 8, err, errlen);
        free(config);
        return rc;
    }
    st_file f;
    if (ckpt_load(path, parts, 4, 1, &f, err, errlen) != 0) return -1;
    int rc = ckpt_meta_long(&f, path, "step", &r->step, err, errlen);
    if (rc == 0) rc = ckpt_meta_long(&f, path, "G.opt_t", &r->og.t, err, errlen);
    if (rc == 0) rc = ckpt_meta_long(&f, path, "D.opt_t", &r->od.t, err, errlen);
    st_free(&f);
    return rc;
}

/* ---- the loop ------------------------------------------------------------------------------- */

int gan_trainer_init(gan_trainer *r, const cfg *c, clg_ctx *cl, const char *run_dir, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->c = c, r->cl = cl, r->dir = run_dir, r->shuffled_epoch = -1;
    r->seed = (unsigned long long)cfg_int(c, "run", "seed");
    if (load_data(r, err, errlen) != 0) return -1;
    if (gan_spec_from_cfg(c, &r->s, r->data.c, r->data.ncls, err, errlen) != 0) {
        dataset_free(&r->data);
        return -1;
    }
    gan_build(&r->s, &r->g, &r->d, cl);
    double lr = cfg_float(c, "train", "lr"), b1 = cfg_float(c, "train", "beta1"), b2 = cfg_float(c, "train", "beta2");
    double eps = cfg_float(c, "train", "eps"), wd = cfg_float(c, "train", "weight_decay");
    if (!strcmp(cfg_str(c, "gan", "optimizer"), "rmsprop")) {
        optim_rmsprop(&r->og, &r->g.params, lr, 0.99, eps, wd);
        optim_rmsprop(&r->od, &r->d.params, lr, 0.99, eps, wd);
    } else {
        optim_adam(&r->og, &r->g.params, lr, b1, b2, eps, wd);
        optim_adam(&r->od, &r->d.params, lr, b1, b2, eps, wd);
    }
    tape_init(&r->t, cl);
    r->t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    r->B = (int)cfg_int(c, "train", "batch_size");
    r->n_critic = (int)cfg_int(c, "gan", "n_critic");
    r->clip = (float)cfg_float(c, "gan", "clip");
    r->gp_lambda = (float)cfg_float(c, "gan", "gp_lambda");
    r->spe = (r->data.n + r->B - 1) / r->B;
    init_scheme scheme = r->s.mlp ? INIT_TORCH_DEFAULT : INIT_DCGAN;
    seq_init_weights(&r->g, scheme, r->seed);
    seq_init_weights(&r->d, scheme, r->seed + 1);
    return 0;
}

void gan_trainer_iteration(gan_trainer *r, gan_step_vars *sv) {
    *sv = (gan_step_vars){-1, -1, -1, -1, -1, -1, -1, -1, -1};
    tape_reset(&r->t);
    int fake = -1, yv = -1, B = 0;
    unsigned base = (unsigned)(r->step * (r->n_critic + 1));
    for (int k = 0; k < r->n_critic; k++) {
        long b = r->step * r->n_critic + k, epoch = b / r->spe;
        if (epoch != r->shuffled_epoch) {
            dataset_shuffle(&r->data, r->seed, (unsigned)epoch);
            r->shuffled_epoch = epoch;
        }
        if (k > 0) tape_reset(&r->t);
        int keep = r->n_critic == 1; /* reuse the fake for the G step, as PyTorch's DCGAN example */
        fake = d_step(r, b, base + (unsigned)k, keep, sv, &yv);
        B = tape_val(&r->t, fake).n;
        if (!keep) fake = -1;
    }
    g_step(r, fake, yv, base + (unsigned)r->n_critic, B, sv);
    r->step++;
}

void gan_trainer_free(gan_trainer *r) {
    tape_free(&r->t);
    optim_free(&r->og);
    optim_free(&r->od);
    seq_free(&r->g);
    seq_free(&r->d);
    dataset_free(&r->data);
}

static int stop_nan(const char *msg, long saved_step) {
    fprintf(stderr, "clgan: %s; stopping.%s\n", msg,
            saved_step >= 0 ? " The last good checkpoint is kept." : " No checkpoint had been written yet.");
    return 3;
}

int gan_train(const cfg *c, clg_ctx *cl, const char *run_dir, int resume) {
    char err[4096];
    gan_trainer r;
    if (gan_trainer_init(&r, c, cl, run_dir, err, sizeof err) != 0) return fail(err);
    long epochs = cfg_int(c, "train", "epochs"), max_steps = cfg_int(c, "train", "max_steps");
    long gsteps_per_epoch = r.spe / r.n_critic > 0 ? r.spe / r.n_critic : 1;
    long stop_at = epochs * gsteps_per_epoch;
    if (max_steps > 0 && max_steps < stop_at) stop_at = max_steps;
    char csv[4300];
    run_path(csv, sizeof csv, run_dir, "losses.csv");
    long saved_step = -1;
    if (resume) {
        if (checkpoint(&r, 0, err, sizeof err) != 0 || csv_truncate_after(csv, r.step, err, sizeof err) != 0) {
            gan_trainer_free(&r);
            return fail(err);
        }
        saved_step = r.step;
        printf("resuming %s at generator step %ld\n", run_dir, r.step);
    }
    const char *names[] = {"d_loss", "g_loss", "d_real", "d_fake", "gp"};
    int nl = r.s.loss == GAN_WGAN_GP ? 5 : 4;
    losslog ll;
    int log_every = (int)cfg_int(c, "run", "log_every");
    if (losslog_open(&ll, cl, csv, names, nl, log_every, err, sizeof err) != 0) {
        gan_trainer_free(&r);
        return fail(err);
    }
    printf("%s %s%s, %d images of %dx%dx%d, batch %d, %ld generator steps per epoch, %ld epochs\n",
           r.s.mlp ? "MLP" : "DCGAN", r.s.conditional ? "conditional " : "",
           r.s.loss == GAN_VANILLA ? "GAN" : r.s.loss == GAN_WGAN ? "WGAN (clipping)" : "WGAN-GP", r.data.n,
           r.s.channels, r.s.size, r.s.size, r.B, gsteps_per_epoch, epochs);
    int status = 0, sample_every = (int)cfg_int(c, "gan", "sample_every");
    double t_log = now_seconds();
    while (r.step < stop_at && status == 0) {
        gan_step_vars sv;
        gan_trainer_iteration(&r, &sv);
        tensor sc[5] = {tape_val(&r.t, sv.d_loss), tape_val(&r.t, sv.g_loss), tape_val(&r.t, sv.d_real),
                        tape_val(&r.t, sv.d_fake), tape_val(&r.t, sv.gp >= 0 ? sv.gp : sv.d_loss)};
        if (losslog_push(&ll, r.step, sc, err, sizeof err) != 0) {
            status = stop_nan(err, saved_step);
            break;
        }
        long epoch_now = r.step / gsteps_per_epoch;
        int epoch_end = r.step % gsteps_per_epoch == 0;
        if (r.step % log_every == 0 || epoch_end || r.step == stop_at) {
            if (losslog_flush(&ll, err, sizeof err) != 0) {
                status = stop_nan(err, saved_step);
                break;
            }
            double m[5], now = now_seconds();
            long n = losslog_take_means(&ll, m);
            if (n) {
                char left[32];
                double its = (double)n / (now - t_log);
                format_duration((double)(stop_at - r.step) / its, left, sizeof left);
                printf("epoch %ld/%ld  step %ld/%ld  D %.4f  G %.4f  %s %.3f  %s %.3f | %.2f it/s  left %s\n",
                       (r.step - 1) / gsteps_per_epoch + 1, epochs, r.step, stop_at, m[0], m[1],
                       r.s.loss == GAN_VANILLA ? "D(x)" : "C(x)", m[2], r.s.loss == GAN_VANILLA ? "D(G(z))" : "C(G(z))", m[3],
                       its, left);
                fflush(stdout);
            }
            t_log = now;
        }
        if ((epoch_end && epoch_now % sample_every == 0) || r.step == stop_at) {
            if (write_grids(&r, epoch_end ? epoch_now : epoch_now + 1, err, sizeof err) != 0 ||
                checkpoint(&r, 1, err, sizeof err) != 0) {
                status = fail(err);
                break;
            }
            saved_step = r.step;
            char png[4300];
            run_path(png, sizeof png, run_dir, "losses.png");
            if (plot_csv(csv, png, "GAN losses (per generator step)", err, sizeof err) != 0)
                fprintf(stderr, "clgan: warning: %s\n", err);
            t_log = now_seconds();
        }
    }
    if (status == 0) printf("stopped at generator step %ld; checkpoint %s/checkpoint.safetensors\n", r.step, run_dir);
    losslog_close(&ll);
    gan_trainer_free(&r);
    return status;
}
