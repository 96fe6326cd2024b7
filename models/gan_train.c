/* The GAN family on the trainer interface (models/model.h): D (critic) steps then a G step, per seed 003
 * section 3.2.4 and the WGAN / WGAN-GP recipes; sample and interpolation grids; checkpoint parts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gan.h"
#include "image_io.h"
#include "images.h"
#include "rng.h"
#include "runutil.h"
#include "stl10.h"
#include "tape_data.h"
#include "util.h"

#define SAMPLE_COLS 6

/* ---- data ------------------------------------------------------------------------------------ */

/* The image side the architecture trains at: 28 (MLP) or 64 (DCGAN). */
static int arch_size(const cfg *c) { return strcmp(cfg_str(c, "gan", "arch"), "mlp") ? 64 : 28; }

static int load_folder(gan_trainer *r, char *err, size_t errlen) {
    const cfg *c = r->base.c;
    image_list l;
    if (image_list_dir(cfg_str(c, "data", "folder"), &l, err, errlen) != 0) return -1;
    /* the shape comes from the config: the spec is derived from the data afterwards */
    int C = (int)cfg_int(c, "data", "channels"), S = arch_size(c), limit = (int)cfg_int(c, "data", "train_limit");
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
        set_err(err, errlen, "%s: no readable images", cfg_str(c, "data", "folder"));
        return -1;
    }
    for (size_t i = 0; i < (size_t)kept * per; i++) all[i] = 0.5f * all[i] + 0.5f;
    dataset_from_host(&r->data, r->base.cl, all, kept, C, S, S, NULL);
    free(all);
    if (skipped) printf("%d unreadable images skipped\n", skipped);
    return 0;
}

static int load_data(gan_trainer *r, char *err, size_t errlen) {
    const cfg *c = r->base.c;
    clg_ctx *cl = r->base.cl;
    const char *src = cfg_str(c, "data", "source");
    int cond = cfg_bool(c, "gan", "conditional"), limit = (int)cfg_int(c, "data", "train_limit");
    if (!strcmp(src, "fashion-mnist"))
        return dataset_load_idx(&r->data, cl, cfg_str(c, "data", "train_images"),
                                cond ? cfg_str(c, "data", "train_labels") : NULL, limit, err, errlen);
    if (!strcmp(src, "stl10")) {
        float *imgs;
        int n, S = arch_size(c);
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
        dataset_from_host(&r->data, cl, imgs, n, 3, S, S, labels);
        free(imgs);
        free(labels);
        return 0;
    }
    return load_folder(r, err, errlen);
}

/* Label planes for D matching a label vector (DCGAN: broadcast over the image; MLP: the vector). */
static int label_maps(gan_trainer *r, int y_vec) {
    if (y_vec < 0 || r->s.mlp) return y_vec;
    return op_broadcast_planes(&r->base.t, tape_detach(&r->base.t, y_vec), r->s.size, r->s.size);
}

/* Real images of batch b (global batch index) and their one-hot labels (or -1). */
static int real_batch(gan_trainer *r, long b, int *y_vec, int *y_maps) {
    tape *t = &r->base.t;
    int x, count;
    if (r->base.with_data) {
        long it = b % r->bpe;
        int first = (int)(it * r->B);
        count = r->data.n - first < r->B ? r->data.n - first : r->B;
        trainer_shard(&r->base, &first, &count); /* this rank's rows (all of them with one rank) */
        x = tape_dataset_batch_resized(t, &r->data, first, count, r->s.size, -1.0f, 1.0f);
        *y_vec = r->s.conditional ? tape_dataset_onehot(t, &r->data, first, count, 1, 1) : -1;
    } else {
        count = r->B;
        x = tape_net_view(t, &r->fixed, 0);
        *y_vec = r->s.conditional ? tape_const(t, count, r->s.ncls, 1, 1, 1.0f / (float)r->s.ncls) : -1;
    }
    *y_maps = label_maps(r, *y_vec);
    return x;
}

/* ---- one training step ------------------------------------------------------------------------ */

static int mean_score(gan_trainer *r, int logits) {
    tape *t = &r->base.t;
    float inv = 1.0f / (float)tape_val(t, logits).n;
    return r->s.loss == GAN_VANILLA ? op_sum(t, op_sigmoid(t, logits), inv) : op_sum(t, logits, inv);
}

/* One critic/discriminator update on batch b; returns the fake (kept on the tape with G's graph
 * when keep_g, for the G step to reuse as PyTorch's DCGAN example does). */
static int d_step(gan_trainer *r, long b, unsigned zstep, int keep_g, gan_step_vars *sv, int *y_out) {
    tape *t = &r->base.t;
    int yv, ym;
    int x = real_batch(r, b, &yv, &ym);
    int B = tape_val(t, x).n;
    seq_ctx ctx = {.training = 1, .seed = trainer_rank_seed(&r->base), .step = zstep * 8u}; /* dropout per rank */
    /* z: this rank's rows of the whole batch's draw */
    int z = trainer_rank_rows(&r->base, tape_randn(t, trainer_draw_rows(&r->base, B), r->s.zdim, 1, 1, r->base.seed,
                                                   RNG_STREAM_NOISE, zstep));
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
        int e = sv->gp_eps = trainer_rank_rows(
            &r->base, tape_rand_uniform(t, trainer_draw_rows(&r->base, B), 1, 1, 1, r->base.seed, RNG_STREAM_GP, zstep, 0.0f, 1.0f));
        int xh = tape_mix_rows_leaf(t, x, fake_d, e); /* e x + (1 - e) G(z), a leaf as torch's requires_grad_() */
        ctx.step = zstep * 8u + 3;
        int dh = gan_discriminate(&r->s, &r->d, t, xh, ym, &ctx);
        int grad = tape_grad_graph(t, op_sum(t, dh, 1.0f), xh);
        int ones = tape_const(t, B, 1, 1, 1, 1.0f);
        sv->gp = op_sqerr_sum(t, op_rownorm(t, grad), ones, r->gp_lambda * inv);
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
    tape *t = &r->base.t;
    seq_ctx ctx = {.training = 1, .seed = trainer_rank_seed(&r->base), .step = zstep * 8u}; /* dropout per rank */
    r->g.params.requires_grad = 1;
    r->d.params.requires_grad = 0; /* D frozen: no gradient into it */
    if (fake < 0) {
        int z = sv->z_g = trainer_rank_rows(&r->base, tape_randn(t, trainer_draw_rows(&r->base, B), r->s.zdim, 1, 1,
                                                                  r->base.seed, RNG_STREAM_NOISE, zstep));
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

/* ---- grids -------------------------------------------------------------------------------------- */

static void fixed_labels(gan_trainer *r, int n, int rows_are_classes, float *onehot) {
    memset(onehot, 0, (size_t)n * r->s.ncls * sizeof(float));
    for (int i = 0; i < n; i++) {
        int cls = rows_are_classes ? i / SAMPLE_COLS : i % SAMPLE_COLS % r->s.ncls;
        onehot[(size_t)i * r->s.ncls + cls] = 1.0f;
    }
}

/* Decodes n latent vectors (and labels) with G in evaluation mode into host images. */
static float *generate_host(gan_trainer *r, const float *z, const float *onehot, int n) {
    tape *t = &r->base.t;
    t->grad_enabled = 0;
    tape_reset(t);
    int y = onehot ? tape_upload(t, n, r->s.ncls, 1, 1, onehot) : -1;
    seq_ctx ctx = {.training = 0, .seed = r->base.seed};
    float *out = tape_download_new(t, gan_generate(&r->s, &r->g, t, tape_upload(t, n, r->s.zdim, 1, 1, z), y, &ctx), NULL);
    t->grad_enabled = 1;
    tape_reset(t);
    return out;
}

static int gan_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    gan_trainer *r = (gan_trainer *)tr;
    int rows = r->s.conditional ? r->s.ncls : SAMPLE_COLS, n = rows * SAMPLE_COLS, Z = r->s.zdim;
    float *z = xmalloc((size_t)n * Z * sizeof *z), *onehot = xmalloc((size_t)n * (r->s.ncls + 1) * sizeof(float));
    rng_seq rs = rng_seq_make(r->base.seed, RNG_STREAM_SAMPLE, 0);
    float *zcol = xmalloc((size_t)SAMPLE_COLS * Z * sizeof *zcol);
    for (int i = 0; i < SAMPLE_COLS * Z; i++) zcol[i] = rng_normal(&rs);
    rng_seq rs2 = rng_seq_make(r->base.seed, RNG_STREAM_SAMPLE, 2);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < Z; k++) /* conditional: one z per column, shared down the classes */
            z[(size_t)i * Z + k] = r->s.conditional ? zcol[(size_t)(i % SAMPLE_COLS) * Z + k] : rng_normal(&rs2);
    if (r->s.conditional) fixed_labels(r, n, 1, onehot);
    float *img = generate_host(r, z, r->s.conditional ? onehot : NULL, n);
    char path[4300], name[64];
    int C = r->s.channels, S = r->s.size, rc;
    snprintf(name, sizeof name, "samples_%s.png", tag ? tag : "last");
    run_path(path, sizeof path, dir, name);
    rc = tag ? png_write_grid(path, img, n, C, S, S, rows, SAMPLE_COLS, -1, 1, 2, err, errlen) : 0;
    run_path(path, sizeof path, dir, "samples.png");
    if (rc == 0) rc = png_write_grid(path, img, n, C, S, S, rows, SAMPLE_COLS, -1, 1, 2, err, errlen);
    free(img);
    /* seed 002 figure 9: six pairs (z1, z2), rows from z1 to z2 in steps of 0.2 */
    rng_seq ri = rng_seq_make(r->base.seed, RNG_STREAM_SAMPLE, 1);
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
    run_path(path, sizeof path, dir, "interpolation.png");
    if (rc == 0) rc = png_write_grid(path, img, ni, C, S, S, 6, SAMPLE_COLS, -1, 1, 2, err, errlen);
    free(img);
    free(zi);
    free(pairs);
    free(z);
    free(zcol);
    free(onehot);
    return rc;
}

/* ---- the trainer interface ------------------------------------------------------------------------ */

static int gan_check(const cfg *c, char *err, size_t errlen) {
    const char *src = cfg_str(c, "data", "source");
    int channels = (int)cfg_int(c, "data", "channels");
    if (!strcmp(src, "fashion-mnist") && channels != 1) {
        set_err(err, errlen, "data.channels = %d: Fashion-MNIST is grayscale (1)", channels);
        return -1;
    }
    if (!strcmp(src, "stl10") && channels != 3) {
        set_err(err, errlen, "data.channels = %d: STL-10 is RGB (3)", channels);
        return -1;
    }
    if (!strcmp(src, "folder") && cfg_bool(c, "gan", "conditional")) {
        set_err(err, errlen, "data.source = folder has no labels: set gan.conditional = false");
        return -1;
    }
    gan_spec s;
    return gan_spec_from_cfg(c, &s, channels, 10, err, errlen);
}

static int gan_init(trainer *tr, char *err, size_t errlen) {
    gan_trainer *r = (gan_trainer *)tr;
    const cfg *c = tr->c;
    r->shuffled_epoch = -1;
    r->B = (int)cfg_int(c, "train", "batch_size");
    int channels = (int)cfg_int(c, "data", "channels"), ncls = 10;
    if (tr->with_data) {
        if (load_data(r, err, errlen) != 0) return -1;
        channels = r->data.c, ncls = r->data.ncls;
    }
    if (gan_spec_from_cfg(c, &r->s, channels, ncls, err, errlen) != 0) {
        if (tr->with_data) dataset_free(&r->data);
        return -1;
    }
    if (!tr->with_data)
        trainer_fixed_batch(&r->fixed, tr->cl, "bench_x", r->B, r->s.channels, r->s.size, r->s.size, tr->seed, -1.0f, 1.0f);
    gan_build(&r->s, &r->g, &r->d, tr->cl);
    double lr = cfg_float(c, "train", "lr"), b1 = cfg_float(c, "train", "beta1"), b2 = cfg_float(c, "train", "beta2");
    double eps = cfg_float(c, "train", "eps"), wd = cfg_float(c, "train", "weight_decay");
    if (!strcmp(cfg_str(c, "gan", "optimizer"), "rmsprop")) {
        optim_rmsprop(&r->og, &r->g.params, lr, 0.99, eps, wd);
        optim_rmsprop(&r->od, &r->d.params, lr, 0.99, eps, wd);
    } else {
        optim_adam(&r->og, &r->g.params, lr, b1, b2, eps, wd);
        optim_adam(&r->od, &r->d.params, lr, b1, b2, eps, wd);
    }
    tape_init(&tr->t, tr->cl);
    tr->t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    r->n_critic = (int)cfg_int(c, "gan", "n_critic");
    r->clip = (float)cfg_float(c, "gan", "clip");
    r->gp_lambda = (float)cfg_float(c, "gan", "gp_lambda");
    long n = tr->with_data ? r->data.n : r->B;
    r->bpe = (n + r->B - 1) / r->B;
    tr->spe = r->bpe / r->n_critic > 0 ? r->bpe / r->n_critic : 1; /* generator steps per epoch */
    tr->epochs = cfg_int(c, "train", "epochs");
    tr->grid_epochs = cfg_int(c, "gan", "sample_every");
    tr->unit = "generator step";
    static const char *const names[] = {"d_loss", "g_loss", "d_real", "d_fake", "gp"};
    tr->nloss = r->s.loss == GAN_WGAN_GP ? 5 : 4;
    static const char *const groups[] = {"losses", "losses", "D outputs", "D outputs", "gradient penalty"};
    for (int i = 0; i < tr->nloss; i++) tr->loss_names[i] = names[i], tr->loss_group[i] = groups[i];
    init_scheme scheme = r->s.mlp ? INIT_TORCH_DEFAULT : INIT_DCGAN;
    seq_init_weights(&r->g, scheme, tr->seed);
    seq_init_weights(&r->d, scheme, tr->seed + 1);
    return 0;
}

int gan_trainer_init(gan_trainer *r, const cfg *c, clg_ctx *cl, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->base = (trainer){.m = &gan_model, .c = c, .cl = cl, .with_data = 1, .grid_epochs = 1,
                        .seed = (unsigned long long)cfg_int(c, "run", "seed")};
    return gan_init(&r->base, err, errlen);
}

void gan_trainer_iteration(gan_trainer *r, gan_step_vars *sv) {
    *sv = (gan_step_vars){-1, -1, -1, -1, -1, -1, -1, -1, -1};
    tape *t = &r->base.t;
    tape_reset(t);
    int fake = -1, yv = -1, B = 0;
    long step = r->base.step;
    unsigned base = (unsigned)(step * (r->n_critic + 1));
    for (int k = 0; k < r->n_critic; k++) {
        long b = step * r->n_critic + k, epoch = b / r->bpe;
        if (r->base.with_data && epoch != r->shuffled_epoch) {
            dataset_shuffle(&r->data, r->base.seed, (unsigned)epoch);
            r->shuffled_epoch = epoch;
        }
        if (k > 0) tape_reset(t);
        int keep = r->n_critic == 1; /* reuse the fake for the G step, as PyTorch's DCGAN example */
        fake = d_step(r, b, base + (unsigned)k, keep, sv, &yv);
        B = tape_val(t, fake).n;
        if (!keep) fake = -1;
    }
    g_step(r, fake, yv, base + (unsigned)r->n_critic, B, sv);
    r->base.step++;
}

static void gan_iteration(trainer *tr) {
    gan_trainer *r = (gan_trainer *)tr;
    gan_step_vars sv;
    gan_trainer_iteration(r, &sv);
    tr->loss[0] = sv.d_loss, tr->loss[1] = sv.g_loss, tr->loss[2] = sv.d_real, tr->loss[3] = sv.d_fake, tr->loss[4] = sv.gp;
}

static void gan_describe(trainer *tr, FILE *f) {
    gan_trainer *r = (gan_trainer *)tr;
    fprintf(f, "%s %s%s, %d images of %dx%dx%d, batch %d, %ld generator steps per epoch, %ld epochs\n",
            r->s.mlp ? "MLP" : "DCGAN", r->s.conditional ? "conditional " : "",
            r->s.loss == GAN_VANILLA ? "GAN" : r->s.loss == GAN_WGAN ? "WGAN (clipping)" : "WGAN-GP", r->data.n, r->s.channels,
            r->s.size, r->s.size, r->B, tr->spe, tr->epochs);
}

static int gan_parts(trainer *tr, ckpt_part *parts) {
    gan_trainer *r = (gan_trainer *)tr;
    parts[0] = (ckpt_part){&r->g.params, &r->og};
    parts[1] = (ckpt_part){&r->d.params, &r->od};
    parts[2] = (ckpt_part){&r->g.buffers, NULL};
    parts[3] = (ckpt_part){&r->d.buffers, NULL};
    return 4;
}

static void gan_meta_save(trainer *tr, ckpt_meta *meta) {
    gan_trainer *r = (gan_trainer *)tr;
    ckpt_meta_add(meta, "G.opt_t", "%ld", r->og.t);
    ckpt_meta_add(meta, "D.opt_t", "%ld", r->od.t);
}

static int gan_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    gan_trainer *r = (gan_trainer *)tr;
    if (ckpt_meta_long_range(f, path, "G.opt_t", 0, tr->step, &r->og.t, err, errlen) != 0) return -1;
    return ckpt_meta_long_range(f, path, "D.opt_t", 0, tr->step * r->n_critic, &r->od.t, err, errlen); /* n_critic per step */
}

void gan_trainer_free(gan_trainer *r) {
    tape_free(&r->base.t);
    optim_free(&r->og);
    optim_free(&r->od);
    seq_free(&r->g);
    seq_free(&r->d);
    if (r->base.with_data) dataset_free(&r->data);
    else net_free(&r->fixed);
}

static void gan_free(trainer *tr) { gan_trainer_free((gan_trainer *)tr); }

/* What tools/torch_ref/dcgan_iter.py does: the unconditional DCGAN, BCE loss, one D step per G step, Adam. */
static int gan_torch_args(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen) {
    if (strcmp(cfg_str(c, "gan", "arch"), "dcgan") || cfg_bool(c, "gan", "conditional") ||
        strcmp(cfg_str(c, "gan", "loss"), "vanilla") || cfg_int(c, "gan", "n_critic") != 1 ||
        strcmp(cfg_str(c, "gan", "optimizer"), "adam")) {
        set_err(err, errlen, "the PyTorch twin (tools/torch_ref/dcgan_iter.py) is the unconditional DCGAN with the BCE "
                             "loss, one D step per G step and Adam (gan.arch = dcgan, gan.conditional = false, gan.loss = "
                             "vanilla, gan.n_critic = 1, gan.optimizer = adam)");
        return -1;
    }
    torch_arg(argv, argc, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    torch_arg(argv, argc, "--zdim", "%ld", cfg_int(c, "gan", "zdim"));
    torch_arg(argv, argc, "--ngf", "%ld", cfg_int(c, "gan", "ngf"));
    torch_arg(argv, argc, "--ndf", "%ld", cfg_int(c, "gan", "ndf"));
    torch_arg(argv, argc, "--channels", "%ld", cfg_int(c, "data", "channels"));
    torch_arg(argv, argc, "--slope", "%.9g", cfg_float(c, "gan", "slope"));
    if (!cfg_bool(c, "gan", "d_batchnorm")) torch_arg(argv, argc, "--no-d-batchnorm", NULL);
    torch_adam_args(c, argv, argc);
    return 0;
}

static const cfg_key gan_keys[] = {
    {"data", "source", CFG_CHOICE, "fashion-mnist", "training images: IDX files, the STL-10 binary format, or a folder", "fashion-mnist|stl10|folder", 0, 0},
    {"data", "train_images", CFG_STR, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "IDX images (source fashion-mnist)", NULL, 0, 0},
    {"data", "train_labels", CFG_STR, "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", "IDX labels (conditional models)", NULL, 0, 0},
    {"data", "stl10_images", CFG_STR, "data/stl10_binary/train_X.bin", "STL-10 images (source stl10)", NULL, 0, 0},
    {"data", "stl10_labels", CFG_STR, "data/stl10_binary/train_y.bin", "STL-10 labels (conditional models)", NULL, 0, 0},
    {"data", "folder", CFG_STR, "data/images", "a folder of PNG/JPEG/BMP images (source folder; unconditional only)", NULL, 0, 0},
    {"data", "channels", CFG_INT, "1", "1 (grayscale) or 3 (RGB); Fashion-MNIST is 1, STL-10 3", NULL, 1, 3},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training images; 0 = all", NULL, 0, 2147483647},
    {"gan", "arch", CFG_CHOICE, "dcgan", "mlp: seed 002's fully-connected GAN at 28x28; dcgan: seed 003 tables 3-4 at 64x64", "mlp|dcgan", 0, 0},
    {"gan", "conditional", CFG_BOOL, "false", "condition G and D on the class (one-hot label concatenated to z and x)", NULL, 0, 0},
    {"gan", "loss", CFG_CHOICE, "vanilla", "vanilla: BCE, non-saturating G loss; wgan: critic without sigmoid + weight clipping; wgan-gp: gradient penalty", "vanilla|wgan|wgan-gp", 0, 0},
    {"gan", "zdim", CFG_INT, "100", "latent dimensions, z ~ N(0, I)", NULL, 1, 4096},
    {"gan", "ngf", CFG_INT, "128", "DCGAN generator width: channels ngf*8, *4, *2, *1 (1024-512-256-128 in the seed)", NULL, 1, 4096},
    {"gan", "ndf", CFG_INT, "128", "DCGAN discriminator width: channels ndf, *2, *4, *8", NULL, 1, 4096},
    {"gan", "slope", CFG_FLOAT, "0.2", "LeakyReLU negative slope", NULL, 0, 1},
    {"gan", "dropout", CFG_FLOAT, "0.3", "dropout after each hidden layer of the MLP discriminator", NULL, 0, 0.99},
    {"gan", "d_batchnorm", CFG_BOOL, "true", "batch norm in the DCGAN discriminator (seed 003); must be off for wgan-gp", NULL, 0, 0},
    {"gan", "n_critic", CFG_INT, "1", "discriminator (critic) steps per generator step (5 for WGAN)", NULL, 1, 100},
    {"gan", "clip", CFG_FLOAT, "0.01", "WGAN weight clipping bound", NULL, 0, 10},
    {"gan", "gp_lambda", CFG_FLOAT, "10", "WGAN-GP gradient penalty weight", NULL, 0, 1e6},
    {"gan", "optimizer", CFG_CHOICE, "adam", "adam (train.lr, beta1, beta2) or rmsprop (train.lr, alpha 0.99), for both networks", "adam|rmsprop", 0, 0},
    {"gan", "sample_every", CFG_INT, "1", "epochs between sample grids", NULL, 1, 100000},
};

const model_desc gan_model = {
    .type = "gan",
    .summary = "GAN family: MLP GAN, DCGAN, conditional, WGAN, WGAN-GP (seeds 002, 003)",
    .keys = gan_keys,
    .nkeys = (int)(sizeof gan_keys / sizeof gan_keys[0]),
    .size = sizeof(gan_trainer),
    .check = gan_check,
    .init = gan_init,
    .iteration = gan_iteration,
    .describe = gan_describe,
    .grids = gan_grids,
    .parts = gan_parts,
    .meta_save = gan_meta_save,
    .meta_load = gan_meta_load,
    .free = gan_free,
    .torch_script = "tools/torch_ref/dcgan_iter.py",
    .torch_args = gan_torch_args,
    .bench_warmup = 1,
    .bench_iters = 3,
};
