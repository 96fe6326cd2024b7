/* CycleGAN's training step and state, as the reference's CycleGANModel.optimize_parameters:
 *   fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A)
 *   G step (D_A, D_B frozen): GAN(D_A(fake_B), 1) + GAN(D_B(fake_A), 1)
 *                             + lambda_A |rec_A - A|_1 + lambda_B |rec_B - B|_1
 *                             + lambda_idt (lambda_B |G_A(B) - B|_1 + lambda_A |G_B(A) - A|_1)
 *   D step: 0.5 (GAN(D_A(B), 1) + GAN(D_A(pool_B(fake_B)), 0)), the same for D_B with A and pool_A
 * GAN(x, y) is the mean squared error against y (LSGAN) or the mean BCE with logits; L1 is a mean. */
#include <stdlib.h>
#include <string.h>

#include "cyclegan.h"
#include "cyclegan_data.h"
#include "image_pairs.h"
#include "canvas.h"
#include "images.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"

#define GRID_PAD 2
#define GRID_GAP 10

static int cyclegan_check(const cfg *c, char *err, size_t errlen) {
    cyclegan_spec s;
    return cyclegan_spec_from_cfg(c, &s, err, errlen);
}

static int cyclegan_init(trainer *tr, char *err, size_t errlen) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    const cfg *c = tr->c;
    clg_ctx *cl = tr->cl;
    r->B = (int)cfg_int(c, "train", "batch_size");
    if (cyclegan_spec_from_cfg(c, &r->s, err, errlen) != 0) return -1;
    const cyclegan_spec *s = &r->s;
    if (image_pairs_open(&r->src, tr, 0, s->channels_a, s->channels_b, s->size, r->B, err, errlen) != 0) return -1;
    cyclegan_build_generator(s, &r->g_a, cl, "G_A", s->channels_a, s->channels_b);
    cyclegan_build_generator(s, &r->g_b, cl, "G_B", s->channels_b, s->channels_a);
    cyclegan_build_discriminator(s, &r->d_a, cl, "D_A", s->channels_b);
    cyclegan_build_discriminator(s, &r->d_b, cl, "D_B", s->channels_a);
    seqnet *nets[4] = {&r->g_a, &r->g_b, &r->d_a, &r->d_b};
    optim *opts[4] = {&r->og_a, &r->og_b, &r->od_a, &r->od_b};
    r->lr = cfg_float(c, "train", "lr");
    for (int i = 0; i < 4; i++) {
        seq_init_weights(nets[i], INIT_DCGAN, tr->seed + (unsigned long long)i); /* N(0, 0.02), biases 0 */
        optim_adam(opts[i], &nets[i]->params, r->lr, cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"),
                   cfg_float(c, "train", "eps"), cfg_float(c, "train", "weight_decay"));
    }
    int pool = (int)cfg_int(c, "cyclegan", "pool_size");
    image_pool_init(&r->pool_a, cl, "pool_A", pool, s->channels_a, s->size, s->size);
    image_pool_init(&r->pool_b, cl, "pool_B", pool, s->channels_b, s->size, s->size);
    r->lambda_a = (float)cfg_float(c, "cyclegan", "lambda_a");
    r->lambda_b = (float)cfg_float(c, "cyclegan", "lambda_b");
    r->lambda_idt = (float)cfg_float(c, "cyclegan", "lambda_identity");
    r->n_epochs = cfg_int(c, "train", "epochs");
    r->n_epochs_decay = cfg_int(c, "cyclegan", "epochs_decay");
    tr->epochs = r->n_epochs + r->n_epochs_decay;
    tr->grid_every = cfg_int(c, "cyclegan", "grid_every");
    static const char *const names[] = {"G_A", "G_B", "D_A", "D_B", "cycle_A", "cycle_B", "idt_A", "idt_B"};
    tr->nloss = r->lambda_idt > 0 ? 8 : 6;
    static const char *const groups[] = {"generators (adversarial)", "generators (adversarial)", "discriminators",
                                         "discriminators", "cycle", "cycle", "identity", "identity"};
    for (int i = 0; i < tr->nloss; i++) tr->loss_names[i] = names[i], tr->loss_group[i] = groups[i];
    tape_init(&tr->t, cl);
    tr->t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    return 0;
}

int cyclegan_trainer_init(cyclegan_trainer *r, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->base = (trainer){.m = &cyclegan_model, .c = c, .cl = cl, .with_data = with_data, .grid_epochs = 1,
                        .seed = (unsigned long long)cfg_int(c, "run", "seed")};
    return cyclegan_init(&r->base, err, errlen);
}

double cyclegan_lr_at(const cyclegan_trainer *r, long epoch) {
    return lr_linear_decay(r->lr, epoch, r->n_epochs, r->n_epochs_decay);
}

/* The adversarial loss of logits x against the constant target y (mean over the patches). */
static int gan_loss(cyclegan_trainer *r, int x, float y) {
    tape *t = &r->base.t;
    tensor xv = tape_val(t, x);
    float inv = 1.0f / (float)tnumel(xv);
    if (!r->s.lsgan) return op_bce_logits_sum(t, x, -1, y, inv);
    return op_sqerr_sum(t, x, tape_const(t, xv.n, xv.c, xv.h, xv.w, y), inv);
}

static int l1(cyclegan_trainer *r, int a, int b, float weight) {
    return op_absdiff_sum(&r->base.t, a, b, weight / (float)tnumel(tape_val(&r->base.t, a)));
}

static int add(cyclegan_trainer *r, int a, int b) { return op_lincomb(&r->base.t, a, 1.0f, b, 1.0f); }

static void set_frozen(cyclegan_trainer *r, int d_frozen) {
    r->g_a.params.requires_grad = r->g_b.params.requires_grad = 1;
    r->d_a.params.requires_grad = r->d_b.params.requires_grad = !d_frozen;
}

void cyclegan_trainer_iteration(cyclegan_trainer *r, const tensor *real_a, const tensor *real_b, cyclegan_step_vars *sv) {
    tape *t = &r->base.t;
    tape_reset(t);
    memset(sv, 0xff, sizeof *sv); /* every handle -1 */
    int A, B;
    if (real_a && real_b) A = tape_input(t, *real_a), B = tape_input(t, *real_b);
    else image_pairs_next(&r->src, &r->base, &A, &B);
    sv->real_a = A, sv->real_b = B;
    double lr = cyclegan_lr_at(r, r->base.step / r->base.spe);
    r->og_a.lr = r->og_b.lr = r->od_a.lr = r->od_b.lr = lr;
    seq_ctx ctx = {.training = 1, .seed = trainer_rank_seed(&r->base), .step = (unsigned)r->base.step}; /* dropout per rank */

    /* G step */
    set_frozen(r, 1);
    int fake_b = sv->fake_b = seq_forward(&r->g_a, t, A, &ctx);
    int rec_a = seq_forward(&r->g_b, t, fake_b, &ctx);
    int fake_a = sv->fake_a = seq_forward(&r->g_b, t, B, &ctx);
    int rec_b = seq_forward(&r->g_a, t, fake_a, &ctx);
    sv->g_a = gan_loss(r, seq_forward(&r->d_a, t, fake_b, &ctx), 1.0f);
    sv->g_b = gan_loss(r, seq_forward(&r->d_b, t, fake_a, &ctx), 1.0f);
    sv->cycle_a = l1(r, rec_a, A, r->lambda_a);
    sv->cycle_b = l1(r, rec_b, B, r->lambda_b);
    int loss_g = add(r, add(r, sv->g_a, sv->g_b), add(r, sv->cycle_a, sv->cycle_b));
    if (r->lambda_idt > 0) {
        sv->idt_a = l1(r, seq_forward(&r->g_a, t, B, &ctx), B, r->lambda_b * r->lambda_idt);
        sv->idt_b = l1(r, seq_forward(&r->g_b, t, A, &ctx), A, r->lambda_a * r->lambda_idt);
        loss_g = add(r, loss_g, add(r, sv->idt_a, sv->idt_b));
    }
    net_zero_grad(&r->g_a.params);
    net_zero_grad(&r->g_b.params);
    tape_backward(t, loss_g);
    optim_step(&r->og_a);
    optim_step(&r->og_b);

    /* D step on pooled fakes (the fakes computed before G's update, detached) */
    set_frozen(r, 0);
    /* several ranks: every rank pools the whole batch's fakes alike and takes its rows of the answer */
    int pb = trainer_rank_rows(&r->base, image_pool_query(&r->pool_b, t, trainer_gather_rows(&r->base, fake_b), r->base.seed,
                                                          (uint32_t)(2 * r->base.step)));
    int pa = trainer_rank_rows(&r->base, image_pool_query(&r->pool_a, t, trainer_gather_rows(&r->base, fake_a), r->base.seed,
                                                          (uint32_t)(2 * r->base.step + 1)));
    sv->d_a = op_lincomb(t, gan_loss(r, seq_forward(&r->d_a, t, B, &ctx), 1.0f), 0.5f,
                         gan_loss(r, seq_forward(&r->d_a, t, pb, &ctx), 0.0f), 0.5f);
    sv->d_b = op_lincomb(t, gan_loss(r, seq_forward(&r->d_b, t, A, &ctx), 1.0f), 0.5f,
                         gan_loss(r, seq_forward(&r->d_b, t, pa, &ctx), 0.0f), 0.5f);
    net_zero_grad(&r->d_a.params);
    net_zero_grad(&r->d_b.params);
    tape_backward(t, add(r, sv->d_a, sv->d_b));
    optim_step(&r->od_a);
    optim_step(&r->od_b);
    r->base.step++;
}

static void cyclegan_iteration(trainer *tr) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    cyclegan_step_vars sv;
    cyclegan_trainer_iteration(r, NULL, NULL, &sv);
    int ids[8] = {sv.g_a, sv.g_b, sv.d_a, sv.d_b, sv.cycle_a, sv.cycle_b, sv.idt_a, sv.idt_b};
    for (int i = 0; i < tr->nloss; i++) tr->loss[i] = ids[i];
}

void cyclegan_trainer_free(cyclegan_trainer *r) {
    tape_free(&r->base.t);
    optim *opts[4] = {&r->og_a, &r->og_b, &r->od_a, &r->od_b};
    seqnet *nets[4] = {&r->g_a, &r->g_b, &r->d_a, &r->d_b};
    for (int i = 0; i < 4; i++) {
        optim_free(opts[i]);
        seq_free(nets[i]);
    }
    image_pool_free(&r->pool_a);
    image_pool_free(&r->pool_b);
    image_pairs_close(&r->src);
}

static void cyclegan_free(trainer *tr) { cyclegan_trainer_free((cyclegan_trainer *)tr); }

static void cyclegan_describe(trainer *tr, FILE *f) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    fprintf(f,
            "CycleGAN %dx%d, A %d channel(s) (%d images), B %d channel(s) (%d images), ngf %d, %d blocks, batch %d, "
            "%ld steps per epoch, %ld + %ld epochs\n",
            r->s.size, r->s.size, r->s.channels_a, r->src.data ? r->src.data->na : 0, r->s.channels_b, r->src.data ? r->src.data->nb : 0,
            r->s.ngf, r->s.n_blocks, r->B, tr->spe, r->n_epochs, r->n_epochs_decay);
}

static void cyclegan_progress(trainer *tr, char *out, size_t outlen) {
    snprintf(out, outlen, "lr %.2e", cyclegan_lr_at((cyclegan_trainer *)tr, (tr->step - 1) / tr->spe));
}

/* ---- grids ------------------------------------------------------------------------------------ */

/* Runs G (evaluation, no tape records) on n host images; returns host images (caller frees). */
static float *translate_host(cyclegan_trainer *r, seqnet *g, const float *x, int n, int c) {
    tape *t = &r->base.t;
    int S = r->s.size;
    t->grad_enabled = 0;
    tape_reset(t);
    seq_ctx ctx = {.training = 0, .seed = r->base.seed};
    float *out = tape_download_new(t, seq_forward(g, t, tape_upload(t, n, c, S, S, x), &ctx), NULL);
    t->grad_enabled = 1;
    tape_reset(t);
    return out;
}

/* translations.png (and translations_<tag>.png): the validation pairs, each a 2x2 block as seed 003
 * figure 11: real_A fake_B / real_B fake_A; the blocks side by side in one row, gaps between them. */
static int cyclegan_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    cyclegan_data *d = r->src.data;
    if (!d) return 0; /* no data, no validation pairs */
    int n = d->nval, S = r->s.size, ca = d->ca, cb = d->cb;
    float *fake_b = translate_host(r, &r->g_a, d->val_a, n, ca);
    float *fake_a = translate_host(r, &r->g_b, d->val_b, n, cb);
    int block = 2 * S + 3 * GRID_PAD, H = block, W = n * block + (n - 1) * GRID_GAP;
    canvas3 cv = canvas3_new(H, W);
    size_t pa = (size_t)ca * S * S, pb = (size_t)cb * S * S;
    for (int i = 0; i < n; i++) {
        int x0 = i * (block + GRID_GAP) + GRID_PAD, x1 = x0 + S + GRID_PAD, y0 = GRID_PAD, y1 = y0 + S + GRID_PAD;
        canvas3_blit(&cv, d->val_a + i * pa, ca, S, S, y0, x0);
        canvas3_blit(&cv, fake_b + i * pb, cb, S, S, y0, x1);
        canvas3_blit(&cv, d->val_b + i * pb, cb, S, S, y1, x0);
        canvas3_blit(&cv, fake_a + i * pa, ca, S, S, y1, x1);
    }
    int rc = canvas3_save_tagged(&cv, dir, "translations", tag, err, errlen);
    canvas3_free(&cv);
    free(fake_a);
    free(fake_b);
    return rc;
}

/* ---- checkpoint ---------------------------------------------------------------------------------- */

static int cyclegan_parts(trainer *tr, ckpt_part *parts) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    parts[0] = (ckpt_part){&r->g_a.params, &r->og_a};
    parts[1] = (ckpt_part){&r->g_b.params, &r->og_b};
    parts[2] = (ckpt_part){&r->d_a.params, &r->od_a};
    parts[3] = (ckpt_part){&r->d_b.params, &r->od_b};
    if (r->pool_a.size == 0) return 4;
    parts[4] = (ckpt_part){&r->pool_a.store, NULL};
    parts[5] = (ckpt_part){&r->pool_b.store, NULL};
    return 6;
}

static void cyclegan_meta_save(trainer *tr, ckpt_meta *meta) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    ckpt_meta_add(meta, "opt_t", "%ld", r->og_a.t);
    ckpt_meta_add(meta, "pool_A.count", "%d", r->pool_a.count);
    ckpt_meta_add(meta, "pool_B.count", "%d", r->pool_b.count);
    cyclegan_spec_meta(&r->s, meta); /* the generator's shape, for ./translate */
}

static int cyclegan_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    cyclegan_trainer *r = (cyclegan_trainer *)tr;
    long opt_t, ca, cb;
    if (ckpt_meta_long_range(f, path, "opt_t", 0, tr->step, &opt_t, err, errlen) != 0 ||
        ckpt_meta_long_range(f, path, "pool_A.count", 0, r->pool_a.size, &ca, err, errlen) != 0 ||
        ckpt_meta_long_range(f, path, "pool_B.count", 0, r->pool_b.size, &cb, err, errlen) != 0)
        return -1;
    r->og_a.t = r->og_b.t = r->od_a.t = r->od_b.t = opt_t;
    r->pool_a.count = (int)ca;
    r->pool_b.count = (int)cb;
    return 0;
}

/* ---- ./bench: tools/torch_ref/cyclegan_torch.py ---------------------------------------------------- */

/* What the twin can do: LSGAN, no identity loss, no image pool, 3 D layers, the same channels on both sides. */
static int cyclegan_torch_args(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen) {
    if (strcmp(cfg_str(c, "cyclegan", "gan_mode"), "lsgan") || cfg_float(c, "cyclegan", "lambda_identity") != 0 ||
        cfg_int(c, "cyclegan", "pool_size") != 0 || cfg_int(c, "cyclegan", "n_layers_d") != 3 ||
        cfg_int(c, "data", "channels_a") != cfg_int(c, "data", "channels_b")) {
        set_err(err, errlen, "the PyTorch twin (tools/torch_ref/cyclegan_torch.py) does cyclegan.gan_mode = lsgan, "
                             "lambda_identity = 0, pool_size = 0, n_layers_d = 3 and data.channels_a = data.channels_b");
        return -1;
    }
    torch_arg(argv, argc, "--size", "%ld", cfg_int(c, "data", "crop_size"));
    torch_arg(argv, argc, "--blocks", "%ld", cfg_int(c, "cyclegan", "n_blocks"));
    torch_arg(argv, argc, "--ngf", "%ld", cfg_int(c, "cyclegan", "ngf"));
    torch_arg(argv, argc, "--ndf", "%ld", cfg_int(c, "cyclegan", "ndf"));
    torch_arg(argv, argc, "--channels", "%ld", cfg_int(c, "data", "channels_a"));
    torch_arg(argv, argc, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    if (!strcmp(cfg_str(c, "cyclegan", "upsample"), "tconv")) torch_arg(argv, argc, "--tconv", NULL);
    return 0;
}

/* ---- ./translate ----------------------------------------------------------------------------------- */

static int cyclegan_translator_open(translator *tr, clg_ctx *cl, const char *path, const char *direction, char *err,
                                    size_t errlen) {
    int btoa = !strcmp(direction, "BtoA");
    if (!btoa && strcmp(direction, "AtoB")) {
        set_err(err, errlen, "direction must be AtoB or BtoA, got '%s'", direction);
        return -1;
    }
    st_file f;
    cyclegan_spec s;
    if (st_load(path, &f, err, errlen) != 0) return -1;
    int rc = cyclegan_spec_from_meta(&f, path, &s, err, errlen);
    st_free(&f);
    if (rc != 0) return -1;
    tr->in_c = btoa ? s.channels_b : s.channels_a, tr->out_c = btoa ? s.channels_a : s.channels_b;
    tr->size = s.size, tr->multiple = 4;
    const char *name = btoa ? "G_B" : "G_A";
    cyclegan_build_generator(&s, &tr->net, cl, name, tr->in_c, tr->out_c);
    ckpt_part part = {&tr->net.params, NULL};
    if (ckpt_load(path, &part, 1, 0, &f, err, errlen) != 0) {
        seq_free(&tr->net);
        return -1;
    }
    st_free(&f);
    snprintf(tr->what, sizeof tr->what, "%s (%d -> %d channels, ngf %d, %d blocks, trained at %dx%d)", name, tr->in_c,
             tr->out_c, s.ngf, s.n_blocks, s.size, s.size);
    return 0;
}

static int cyclegan_translate(translator *tr, tape *t, int x) {
    seq_ctx ctx = {.training = 0};
    return seq_forward(&tr->net, t, x, &ctx);
}

static const cfg_key cyclegan_keys[] = {
    {"data", "dataroot", CFG_STR, "data/edges2fashion", "data folder: train/ and val/ (aligned) or trainA/, trainB/, testA/, testB/ (unaligned)", NULL, 0, 0},
    {"data", "layout", CFG_CHOICE, "aligned", "aligned: each file holds A|B side by side (pix2pix, edges2shoes; used unpaired); unaligned: separate A and B folders (horse2zebra)", "aligned|unaligned", 0, 0},
    {"data", "direction", CFG_CHOICE, "AtoB", "AtoB: A is the left half / trainA; BtoA swaps the domains", "AtoB|BtoA", 0, 0},
    {"data", "channels_a", CFG_INT, "1", "channels of domain A images: 1 (grayscale) or 3 (RGB)", NULL, 1, 3},
    {"data", "channels_b", CFG_INT, "1", "channels of domain B images: 1 (grayscale) or 3 (RGB)", NULL, 1, 3},
    {"data", "load_size", CFG_INT, "64", "resize images to load_size x load_size first (286 for 256 crops in the reference)", NULL, 8, 4096},
    {"data", "crop_size", CFG_INT, "64", "then a random crop of crop_size x crop_size (the training size; a multiple of 4)", NULL, 8, 4096},
    {"data", "flip", CFG_BOOL, "true", "random horizontal flips", NULL, 0, 0},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training images of each domain; 0 = all", NULL, 0, 2147483647},
    {"cyclegan", "ngf", CFG_INT, "64", "generator width: c7s1-ngf, d(2 ngf), d(4 ngf), R(4 ngf) x n_blocks, u(2 ngf), u(ngf)", NULL, 1, 4096},
    {"cyclegan", "ndf", CFG_INT, "64", "discriminator width: C(ndf)-C(2 ndf)-C(4 ndf)-C(8 ndf)", NULL, 1, 4096},
    {"cyclegan", "n_blocks", CFG_INT, "6", "residual blocks (6 at 128x128, 9 at 256x256)", NULL, 0, 64},
    {"cyclegan", "n_layers_d", CFG_INT, "3", "PatchGAN stride-2 layers (3: 70x70 receptive field)", NULL, 1, 8},
    {"cyclegan", "upsample", CFG_CHOICE, "nearest-conv", "generator up-sampling: nearest x2 + 3x3 conv (seed 003) or transposed conv (reference)", "nearest-conv|tconv", 0, 0},
    {"cyclegan", "gan_mode", CFG_CHOICE, "lsgan", "adversarial loss: lsgan (MSE against 1/0) or vanilla (BCE with logits)", "lsgan|vanilla", 0, 0},
    {"cyclegan", "lambda_a", CFG_FLOAT, "10", "weight of the cycle loss A -> B -> A", NULL, 0, 1e6},
    {"cyclegan", "lambda_b", CFG_FLOAT, "10", "weight of the cycle loss B -> A -> B", NULL, 0, 1e6},
    {"cyclegan", "lambda_identity", CFG_FLOAT, "0.5", "identity loss weight, relative to lambda_a / lambda_b (0 = off; needs channels_a = channels_b)", NULL, 0, 1e6},
    {"cyclegan", "pool_size", CFG_INT, "50", "image pool of past fakes for the discriminators (0 = off)", NULL, 0, 100000},
    {"cyclegan", "epochs_decay", CFG_INT, "0", "epochs of linear learning-rate decay after train.epochs at the constant rate", NULL, 0, 100000},
    {"cyclegan", "grid_every", CFG_INT, "0", "steps between translation grids and checkpoints within an epoch (0 = at epoch ends only)", NULL, 0, 2147483647},
};

const model_desc cyclegan_model = {
    .type = "cyclegan",
    .summary = "CycleGAN: ResNet generators, PatchGAN discriminators, LSGAN, cycle L1, image pool (seed 003)",
    .keys = cyclegan_keys,
    .nkeys = (int)(sizeof cyclegan_keys / sizeof cyclegan_keys[0]),
    .size = sizeof(cyclegan_trainer),
    .check = cyclegan_check,
    .init = cyclegan_init,
    .iteration = cyclegan_iteration,
    .describe = cyclegan_describe,
    .progress = cyclegan_progress,
    .grids = cyclegan_grids,
    .parts = cyclegan_parts,
    .meta_save = cyclegan_meta_save,
    .meta_load = cyclegan_meta_load,
    .free = cyclegan_free,
    .torch_script = "tools/torch_ref/cyclegan_torch.py",
    .torch_args = cyclegan_torch_args,
    .bench_warmup = 2,
    .bench_iters = 10,
    .translator_open = cyclegan_translator_open,
    .translate = cyclegan_translate,
};
