/* pix2pix's training step and state, as the reference's Pix2PixModel.optimize_parameters:
 *   fake_B = G(A)
 *   D step: 0.5 (GAN(D([A, B]), 1) + GAN(D([A, fake_B]), 0)), fake_B detached
 *   G step (D frozen, after D's update): GAN(D([A, fake_B]), 1) + lambda_L1 mean |fake_B - B|
 * GAN(x, y) is the mean BCE with logits (vanilla) or the mean squared error (lsgan) against y. */
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "images.h"
#include "pix2pix.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"

#define GRID_PAD 2

static int pix2pix_check(const cfg *c, char *err, size_t errlen) {
    pix2pix_spec s;
    return pix2pix_spec_from_cfg(c, &s, err, errlen);
}

static int pix2pix_init(trainer *tr, char *err, size_t errlen) {
    pix2pix_trainer *r = (pix2pix_trainer *)tr;
    const cfg *c = tr->c;
    clg_ctx *cl = tr->cl;
    r->B = (int)cfg_int(c, "train", "batch_size");
    if (pix2pix_spec_from_cfg(c, &r->s, err, errlen) != 0) return -1;
    const pix2pix_spec *s = &r->s;
    if (image_pairs_open(&r->src, tr, PAIRS_PAIRED, s->channels_a, s->channels_b, s->size, r->B, err, errlen) != 0)
        return -1;
    pix2pix_build_generator(s, &r->g, cl);
    pix2pix_build_discriminator(s, &r->d, cl);
    r->lr = cfg_float(c, "train", "lr");
    seqnet *nets[2] = {&r->g, &r->d};
    optim *opts[2] = {&r->og, &r->od};
    for (int i = 0; i < 2; i++) {
        seq_init_weights(nets[i], INIT_DCGAN, tr->seed + (unsigned long long)i); /* the reference's normal 0.02 */
        optim_adam(opts[i], &nets[i]->params, r->lr, cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"),
                   cfg_float(c, "train", "eps"), cfg_float(c, "train", "weight_decay"));
    }
    r->lambda_l1 = (float)cfg_float(c, "pix2pix", "lambda_l1");
    r->n_epochs = cfg_int(c, "train", "epochs");
    r->n_epochs_decay = cfg_int(c, "pix2pix", "epochs_decay");
    tr->epochs = r->n_epochs + r->n_epochs_decay;
    tr->grid_every = cfg_int(c, "pix2pix", "grid_every");
    static const char *const names[] = {"G_GAN", "G_L1", "D_real", "D_fake"};
    /* panels as the seeds plot them: the L1 term apart from the adversarial ones */
    static const char *const groups[] = {"adversarial", "L1 (weighted)", "adversarial", "adversarial"};
    tr->nloss = 4;
    for (int i = 0; i < 4; i++) tr->loss_names[i] = names[i], tr->loss_group[i] = groups[i];
    tape_init(&tr->t, cl);
    tr->t.cache_derived = 1;
    return 0;
}

int pix2pix_trainer_init(pix2pix_trainer *r, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->base = (trainer){.m = &pix2pix_model, .c = c, .cl = cl, .with_data = with_data, .grid_epochs = 1,
                        .seed = (unsigned long long)cfg_int(c, "run", "seed")};
    return pix2pix_init(&r->base, err, errlen);
}

static double lr_at(const pix2pix_trainer *r, long epoch) {
    return lr_linear_decay(r->lr, epoch, r->n_epochs, r->n_epochs_decay);
}

static int gan_loss(pix2pix_trainer *r, int x, float y) {
    tape *t = &r->base.t;
    tensor xv = tape_val(t, x);
    float inv = 1.0f / (float)tnumel(xv);
    if (!r->s.lsgan) return op_bce_logits_sum(t, x, -1, y, inv);
    return op_sqerr_sum(t, x, tape_const(t, xv.n, xv.c, xv.h, xv.w, y), inv);
}

void pix2pix_trainer_iteration(pix2pix_trainer *r, const tensor *real_a, const tensor *real_b, pix2pix_step_vars *sv) {
    tape *t = &r->base.t;
    tape_reset(t);
    memset(sv, 0xff, sizeof *sv);
    int A, B;
    if (real_a && real_b) A = tape_input(t, *real_a), B = tape_input(t, *real_b);
    else image_pairs_next(&r->src, &r->base, &A, &B);
    sv->real_a = A, sv->real_b = B;
    r->og.lr = r->od.lr = lr_at(r, r->base.step / r->base.spe);
    seq_ctx ctx = {.training = 1, .seed = trainer_rank_seed(&r->base), .step = (unsigned)r->base.step}; /* dropout per rank */
    r->g.params.requires_grad = 1;
    int fake = sv->fake_b = seq_forward(&r->g, t, A, &ctx);

    /* D step on the detached fake */
    r->d.params.requires_grad = 1;
    sv->d_fake = op_scale(t, gan_loss(r, seq_forward(&r->d, t, op_concat_channels(t, A, tape_detach(t, fake)), &ctx), 0.0f), 0.5f);
    sv->d_real = op_scale(t, gan_loss(r, seq_forward(&r->d, t, op_concat_channels(t, A, B), &ctx), 1.0f), 0.5f);
    net_zero_grad(&r->d.params);
    tape_backward(t, op_lincomb(t, sv->d_fake, 1.0f, sv->d_real, 1.0f));
    optim_step(&r->od);

    /* G step through the updated, frozen D */
    r->d.params.requires_grad = 0;
    sv->g_gan = gan_loss(r, seq_forward(&r->d, t, op_concat_channels(t, A, fake), &ctx), 1.0f);
    sv->g_l1 = op_absdiff_sum(t, fake, B, r->lambda_l1 / (float)tnumel(tape_val(t, fake)));
    net_zero_grad(&r->g.params);
    tape_backward(t, op_lincomb(t, sv->g_gan, 1.0f, sv->g_l1, 1.0f));
    optim_step(&r->og);
    r->d.params.requires_grad = 1;
    r->base.step++;
}

static void pix2pix_iteration(trainer *tr) {
    pix2pix_step_vars sv;
    pix2pix_trainer_iteration((pix2pix_trainer *)tr, NULL, NULL, &sv);
    tr->loss[0] = sv.g_gan, tr->loss[1] = sv.g_l1, tr->loss[2] = sv.d_real, tr->loss[3] = sv.d_fake;
}

void pix2pix_trainer_free(pix2pix_trainer *r) {
    tape_free(&r->base.t);
    optim_free(&r->og);
    optim_free(&r->od);
    seq_free(&r->g);
    seq_free(&r->d);
    image_pairs_close(&r->src);
}

static void pix2pix_free(trainer *tr) { pix2pix_trainer_free((pix2pix_trainer *)tr); }

static void pix2pix_describe(trainer *tr, FILE *f) {
    pix2pix_trainer *r = (pix2pix_trainer *)tr;
    fprintf(f,
            "pix2pix %dx%d, A %d -> B %d channel(s), %d pairs, U-Net %d downs ngf %d, PatchGAN %d layers ndf %d, %s norm, "
            "%s, batch %d, %ld steps per epoch, %ld + %ld epochs\n",
            r->s.size, r->s.size, r->s.channels_a, r->s.channels_b, r->src.data ? r->src.data->n : 0, r->s.num_downs, r->s.ngf,
            r->s.n_layers_d, r->s.ndf, r->s.batch_norm ? "batch" : "instance", r->s.lsgan ? "lsgan" : "vanilla GAN", r->B,
            tr->spe, r->n_epochs, r->n_epochs_decay);
}

static void pix2pix_progress(trainer *tr, char *out, size_t outlen) {
    snprintf(out, outlen, "lr %.2e", lr_at((pix2pix_trainer *)tr, (tr->step - 1) / tr->spe));
}

/* ---- grids ---- */

/* translations.png: one column per validation pair, rows input A, G(A), ground truth B (seed 001's
 * pix2pix figures). G runs in evaluation mode (running batch-norm statistics, no dropout). */
static int pix2pix_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    pix2pix_trainer *r = (pix2pix_trainer *)tr;
    cyclegan_data *d = r->src.data;
    if (!d) return 0;
    int n = d->nval, S = r->s.size, ca = d->ca, cb = d->cb;
    tape *t = &tr->t;
    t->grad_enabled = 0;
    tape_reset(t);
    seq_ctx ctx = {.training = 0, .seed = tr->seed};
    float *fake = tape_download_new(t, seq_forward(&r->g, t, tape_upload(t, n, ca, S, S, d->val_a), &ctx), NULL);
    t->grad_enabled = 1;
    tape_reset(t);
    int H = 3 * S + 4 * GRID_PAD, W = n * S + (n + 1) * GRID_PAD;
    canvas3 cv = canvas3_new(H, W);
    size_t pa = (size_t)ca * S * S, pb = (size_t)cb * S * S;
    for (int i = 0; i < n; i++) {
        int x0 = GRID_PAD + i * (S + GRID_PAD);
        canvas3_blit(&cv, d->val_a + i * pa, ca, S, S, GRID_PAD, x0);
        canvas3_blit(&cv, fake + i * pb, cb, S, S, 2 * GRID_PAD + S, x0);
        canvas3_blit(&cv, d->val_b + i * pb, cb, S, S, 3 * GRID_PAD + 2 * S, x0);
    }
    int rc = canvas3_save_tagged(&cv, dir, "translations", tag, err, errlen);
    canvas3_free(&cv);
    free(fake);
    return rc;
}

/* ---- checkpoint ---- */

static int pix2pix_parts(trainer *tr, ckpt_part *parts) {
    pix2pix_trainer *r = (pix2pix_trainer *)tr;
    parts[0] = (ckpt_part){&r->g.params, &r->og};
    parts[1] = (ckpt_part){&r->d.params, &r->od};
    parts[2] = (ckpt_part){&r->g.buffers, NULL};
    parts[3] = (ckpt_part){&r->d.buffers, NULL};
    return r->s.batch_norm ? 4 : 2; /* batch-norm running statistics (instance norm has none) */
}

#define META_N 9
static const char *const meta_keys[META_N] = {"pix2pix.channels_a", "pix2pix.channels_b", "pix2pix.ngf",
                                              "pix2pix.ndf",        "pix2pix.num_downs",  "pix2pix.n_layers_d",
                                              "pix2pix.batch_norm", "pix2pix.dropout",    "pix2pix.size"};
static void spec_fields(pix2pix_spec *s, int *f[META_N]) {
    int *all[META_N] = {&s->channels_a, &s->channels_b, &s->ngf,     &s->ndf, &s->num_downs,
                      &s->n_layers_d, &s->batch_norm, &s->dropout, &s->size};
    memcpy(f, all, sizeof all);
}

static void pix2pix_meta_save(trainer *tr, ckpt_meta *meta) {
    pix2pix_trainer *r = (pix2pix_trainer *)tr;
    ckpt_meta_add(meta, "opt_t", "%ld", r->og.t);
    int *fields[META_N];
    spec_fields(&r->s, fields);
    ckpt_meta_add_ints(meta, meta_keys, fields, META_N);
}

static int pix2pix_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    pix2pix_trainer *r = (pix2pix_trainer *)tr;
    long t;
    if (ckpt_meta_long_range(f, path, "opt_t", 0, tr->step, &t, err, errlen) != 0) return -1; /* one update per step */
    r->og.t = r->od.t = t;
    return 0;
}

static int spec_from_meta(const st_file *f, const char *path, pix2pix_spec *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    int *fields[META_N];
    spec_fields(s, fields);
    if (ckpt_meta_read_ints(f, path, meta_keys, fields, META_N, err, errlen) != 0) return -1;
    if (s->channels_a < 1 || s->channels_a > 3 || s->channels_b < 1 || s->channels_b > 3 || s->ngf < 1 || s->num_downs < 5 ||
        s->num_downs > 12) {
        set_err(err, errlen, "%s: checkpoint metadata describes no valid U-Net generator", path);
        return -1;
    }
    return 0;
}

/* ---- ./translate ---- */

static int pix2pix_translator_open(translator *tr, clg_ctx *cl, const char *path, const char *direction, char *err,
                                   size_t errlen) {
    if (strcmp(direction, "AtoB")) {
        set_err(err, errlen, "a pix2pix checkpoint translates one way only (its G: A -> B); --direction %s is not "
                             "available (train with data.direction = BtoA for the other way)", direction);
        return -1;
    }
    st_file f;
    pix2pix_spec s;
    if (st_load(path, &f, err, errlen) != 0) return -1;
    int rc = spec_from_meta(&f, path, &s, err, errlen);
    st_free(&f);
    if (rc != 0) return -1;
    tr->in_c = s.channels_a, tr->out_c = s.channels_b;
    tr->size = s.size, tr->multiple = 1 << s.num_downs;
    pix2pix_build_generator(&s, &tr->net, cl);
    ckpt_part parts[2] = {{&tr->net.params, NULL}, {&tr->net.buffers, NULL}};
    if (ckpt_load(path, parts, s.batch_norm ? 2 : 1, 0, &f, err, errlen) != 0) {
        seq_free(&tr->net);
        return -1;
    }
    st_free(&f);
    snprintf(tr->what, sizeof tr->what, "pix2pix G (%d -> %d channels, U-Net %d downs, ngf %d, trained at %dx%d)",
             tr->in_c, tr->out_c, s.num_downs, s.ngf, s.size, s.size);
    return 0;
}

static int pix2pix_translate(translator *tr, tape *t, int x) {
    seq_ctx ctx = {.training = 0};
    return seq_forward(&tr->net, t, x, &ctx);
}

static const cfg_key pix2pix_keys[] = {
    {"data", "dataroot", CFG_STR, "data/edges2fashion", "data folder: train/ and val/ (aligned) or trainA/, trainB/, testA/, testB/ (unaligned, paired by sorted name)", NULL, 0, 0},
    {"data", "layout", CFG_CHOICE, "aligned", "aligned: each file holds A|B side by side (pix2pix's format); unaligned: A and B folders whose files pair up by sorted name", "aligned|unaligned", 0, 0},
    {"data", "direction", CFG_CHOICE, "AtoB", "AtoB: translate A (the left half / trainA) into B; BtoA the other way", "AtoB|BtoA", 0, 0},
    {"data", "channels_a", CFG_INT, "1", "channels of A images: 1 (grayscale) or 3 (RGB)", NULL, 1, 3},
    {"data", "channels_b", CFG_INT, "1", "channels of B images: 1 (grayscale) or 3 (RGB)", NULL, 1, 3},
    {"data", "load_size", CFG_INT, "64", "resize both halves to load_size x load_size first (286 for 256 crops in the reference)", NULL, 8, 4096},
    {"data", "crop_size", CFG_INT, "64", "then one random crop of crop_size x crop_size for both halves (the training size)", NULL, 8, 4096},
    {"data", "flip", CFG_BOOL, "true", "random horizontal flips (the same for both halves)", NULL, 0, 0},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training pairs; 0 = all", NULL, 0, 2147483647},
    {"pix2pix", "ngf", CFG_INT, "64", "U-Net width: ngf, 2 ngf, 4 ngf, then 8 ngf", NULL, 1, 4096},
    {"pix2pix", "ndf", CFG_INT, "64", "PatchGAN width: C(ndf)-C(2 ndf)-C(4 ndf)-C(8 ndf)", NULL, 1, 4096},
    {"pix2pix", "num_downs", CFG_INT, "0", "U-Net halvings (unet_256: 8, unet_128: 7); 0 = log2(crop_size)", NULL, 0, 12},
    {"pix2pix", "n_layers_d", CFG_INT, "3", "PatchGAN stride-2 layers (3: 70x70 receptive field)", NULL, 1, 8},
    {"pix2pix", "norm", CFG_CHOICE, "batch", "normalisation in G and D: batch (the reference's pix2pix) or instance", "batch|instance", 0, 0},
    {"pix2pix", "dropout", CFG_BOOL, "true", "Dropout(0.5) in the U-Net's middle (8 ngf) up blocks, the only noise pix2pix has", NULL, 0, 0},
    {"pix2pix", "gan_mode", CFG_CHOICE, "vanilla", "adversarial loss: vanilla (BCE with logits, the reference) or lsgan (MSE)", "vanilla|lsgan", 0, 0},
    {"pix2pix", "lambda_l1", CFG_FLOAT, "100", "weight of the L1 loss |G(A) - B|", NULL, 0, 1e6},
    {"pix2pix", "epochs_decay", CFG_INT, "0", "epochs of linear learning-rate decay after train.epochs", NULL, 0, 100000},
    {"pix2pix", "grid_every", CFG_INT, "0", "steps between translation grids and checkpoints within an epoch (0 = at epoch ends only)", NULL, 0, 2147483647},
};

/* ---- ./bench: tools/torch_ref/pix2pix_torch.py ----------------------------------------------------- */

static int pix2pix_torch_args(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen) {
    pix2pix_spec s;
    if (pix2pix_spec_from_cfg(c, &s, err, errlen) != 0) return -1;
    torch_arg(argv, argc, "--size", "%d", s.size);
    torch_arg(argv, argc, "--channels-a", "%d", s.channels_a);
    torch_arg(argv, argc, "--channels-b", "%d", s.channels_b);
    torch_arg(argv, argc, "--ngf", "%d", s.ngf);
    torch_arg(argv, argc, "--ndf", "%d", s.ndf);
    torch_arg(argv, argc, "--num-downs", "%d", s.num_downs);
    torch_arg(argv, argc, "--n-layers-d", "%d", s.n_layers_d);
    torch_arg(argv, argc, "--norm", "%s", s.batch_norm ? "batch" : "instance");
    torch_arg(argv, argc, "--lambda-l1", "%g", cfg_float(c, "pix2pix", "lambda_l1"));
    torch_arg(argv, argc, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    torch_adam_args(c, argv, argc);
    if (!s.dropout) torch_arg(argv, argc, "--no-dropout", NULL);
    if (s.lsgan) torch_arg(argv, argc, "--lsgan", NULL);
    return 0;
}

const model_desc pix2pix_model = {
    .type = "pix2pix",
    .summary = "pix2pix: U-Net generator, PatchGAN on [A, B], GAN + L1 (lambda 100), paired A|B data (seed 001)",
    .keys = pix2pix_keys,
    .nkeys = (int)(sizeof pix2pix_keys / sizeof pix2pix_keys[0]),
    .size = sizeof(pix2pix_trainer),
    .check = pix2pix_check,
    .init = pix2pix_init,
    .iteration = pix2pix_iteration,
    .describe = pix2pix_describe,
    .progress = pix2pix_progress,
    .grids = pix2pix_grids,
    .parts = pix2pix_parts,
    .meta_save = pix2pix_meta_save,
    .meta_load = pix2pix_meta_load,
    .free = pix2pix_free,
    .translator_open = pix2pix_translator_open,
    .translate = pix2pix_translate,
    .torch_script = "tools/torch_ref/pix2pix_torch.py",
    .torch_args = pix2pix_torch_args,
    .bench_warmup = 2,
    .bench_iters = 10,
};
