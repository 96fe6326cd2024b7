/* BicycleGAN's training step and state, as the reference's BiCycleGANModel.optimize_parameters. The
 * batch (even size 2h) is split: A1, B1 = rows [0, h), A2, B2 = rows [h, 2h).
 *   z_enc = mu + exp(logvar / 2) eps, (mu, logvar) = E(B1), eps ~ N(0, I); z_rand ~ N(0, I)
 *   fake_enc = G(A1, z_enc), fake_rand = G(A1, z_rand)     (both from A1, as the reference)
 *   G and E step (D, D2 frozen): lambda_GAN GAN(D(fake_enc), 1) + lambda_GAN2 GAN(D2(fake_rand), 1)
 *       + lambda_L1 mean |fake_enc - B1| + lambda_KL sum KL(N(mu, exp logvar) || N(0, I))
 *       + lambda_z mean |mu(E(fake_rand)) - z_rand|, with E frozen in that pass: E learns only from the
 *         cVAE-GAN branch (the reference's backward_G_alone)
 *       - lambda_div mean |fake_rand - B1| (seed 000 Eq. 6-7; off by default)
 *   D step on the detached fakes: GAN(D(fake_enc), 0) + GAN(D(B1), 1); D2: GAN(D2(fake_rand), 0) + GAN(D2(B2), 1)
 * GAN(x, y) sums over a discriminator's scales the mean MSE (lsgan) or BCE with logits (vanilla). */
#include <stdlib.h>
#include <string.h>

#include "bicyclegan.h"
#include "canvas.h"
#include "images.h"
#include "ops_avgpool_pad.h"
#include "rng.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"

#define GRID_PAD 2
#define GRID_GAP 8
#define GRID_SAMPLES 5 /* random-z columns of the grids */

static int bicycle_check(const cfg *c, char *err, size_t errlen) {
    bicycle_spec s;
    return bicycle_spec_from_cfg(c, &s, err, errlen);
}

static void adam(const cfg *c, optim *o, net *p, double lr) {
    optim_adam(o, p, lr, cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"), cfg_float(c, "train", "eps"),
               cfg_float(c, "train", "weight_decay"));
}

static int bicycle_init(trainer *tr, char *err, size_t errlen) {
    bicycle_trainer *r = (bicycle_trainer *)tr;
    const cfg *c = tr->c;
    clg_ctx *cl = tr->cl;
    r->B = (int)cfg_int(c, "train", "batch_size");
    if (bicycle_spec_from_cfg(c, &r->s, err, errlen) != 0) return -1;
    const bicycle_spec *s = &r->s;
    if (image_pairs_open(&r->src, tr, PAIRS_PAIRED | PAIRS_WHOLE_BATCHES | PAIRS_ALL_RANKS, s->channels_a, s->channels_b, s->size, r->B,
                         err, errlen) != 0)
        return -1;
    r->lr = cfg_float(c, "train", "lr");
    bicycle_build_generator(s, &r->g, cl);
    seq_init_weights(&r->g, INIT_DCGAN, tr->seed);
    bicycle_build_encoder(s, &r->e, cl, tr->seed + 1);
    bicycle_build_disc(s, &r->d, cl, "D");
    bicycle_build_disc(s, &r->d2, cl, "D2");
    adam(c, &r->og, &r->g.params, r->lr);
    adam(c, &r->oe, r->e.params, r->lr);
    for (int i = 0; i < s->num_d; i++) {
        seq_init_weights(&r->d.s[i], INIT_DCGAN, tr->seed + 2 + (unsigned long long)i);
        seq_init_weights(&r->d2.s[i], INIT_DCGAN, tr->seed + 4 + (unsigned long long)i);
        adam(c, &r->od[i], &r->d.s[i].params, r->lr);
        adam(c, &r->od2[i], &r->d2.s[i].params, r->lr);
    }
    r->lambda_l1 = (float)cfg_float(c, "bicyclegan", "lambda_l1");
    r->lambda_kl = (float)cfg_float(c, "bicyclegan", "lambda_kl");
    r->lambda_z = (float)cfg_float(c, "bicyclegan", "lambda_z");
    r->lambda_gan = (float)cfg_float(c, "bicyclegan", "lambda_gan");
    r->lambda_gan2 = (float)cfg_float(c, "bicyclegan", "lambda_gan2");
    r->lambda_div = (float)cfg_float(c, "bicyclegan", "lambda_div");
    r->n_epochs = cfg_int(c, "train", "epochs");
    r->n_epochs_decay = cfg_int(c, "bicyclegan", "epochs_decay");
    tr->epochs = r->n_epochs + r->n_epochs_decay;
    tr->grid_every = cfg_int(c, "bicyclegan", "grid_every");
    static const char *const names[] = {"G_GAN", "G_GAN2", "D", "D2", "G_L1", "z_L1", "kl", "div"};
    /* panels: adversarial terms, the image L1, the latent L1 (and diversity), the KL: each on its own scale */
    static const char *const groups[] = {"adversarial", "adversarial", "adversarial", "adversarial", "image L1 (weighted)",
                                         "latent L1 and diversity", "KL (weighted)", "latent L1 and diversity"};
    tr->nloss = r->lambda_div > 0 ? 8 : 7;
    for (int i = 0; i < tr->nloss; i++) tr->loss_names[i] = names[i], tr->loss_group[i] = groups[i];
    tape_init(&tr->t, cl);
    tr->t.cache_derived = 1;
    return 0;
}

int bicycle_trainer_init(bicycle_trainer *r, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->base = (trainer){.m = &bicyclegan_model, .c = c, .cl = cl, .with_data = with_data, .grid_epochs = 1,
                        .seed = (unsigned long long)cfg_int(c, "run", "seed")};
    return bicycle_init(&r->base, err, errlen);
}

static double lr_at(const bicycle_trainer *r, long epoch) {
    return lr_linear_decay(r->lr, epoch, r->n_epochs, r->n_epochs_decay);
}

/* GAN(D(x), y) summed over D's scales; between scales x goes through AvgPool2d(3, 2, 1, count_include_pad=False) */
static int gan_loss(bicycle_trainer *r, bicycle_disc *d, int x, float y, const seq_ctx *ctx) {
    tape *t = &r->base.t;
    int total = -1;
    for (int i = 0; i < d->n; i++) {
        if (i > 0) x = op_avgpool2d_pad(t, x, 3, 2, 1);
        int o = seq_forward(&d->s[i], t, x, ctx);
        tensor ov = tape_val(t, o);
        float inv = 1.0f / (float)tnumel(ov);
        int l = r->s.lsgan ? op_sqerr_sum(t, o, tape_const(t, ov.n, ov.c, ov.h, ov.w, y), inv)
                           : op_bce_logits_sum(t, o, -1, y, inv);
        total = total < 0 ? l : op_lincomb(t, total, 1.0f, l, 1.0f);
    }
    return total;
}

static void set_disc_grad(bicycle_disc *d, int on) {
    for (int i = 0; i < d->n; i++) d->s[i].params.requires_grad = on;
}

/* rows [first, first + n) of v as a new variable without gradient */
static int rows(tape *t, int v, int first, int n) {
    tensor x = tape_val(t, v);
    int out = tape_new(t, n, x.c, x.h, x.w, 0);
    tape_copy_rows(t, out, 0, v, first, n);
    return out;
}

/* n x nz standard normal draws of (seed, NOISE stream, step), starting at draw `skip` */
static int normal_draws(tape *t, int n, int nz, unsigned long long seed, unsigned step, int skip) {
    float *h = xmalloc((size_t)n * nz * sizeof *h);
    rng_seq rs = rng_seq_make(seed, RNG_STREAM_NOISE, step);
    for (int i = 0; i < skip; i++) (void)rng_normal(&rs);
    for (int i = 0; i < n * nz; i++) h[i] = rng_normal(&rs);
    int v = tape_upload(t, n, nz, 1, 1, h);
    free(h);
    return v;
}

static int mean_l1(tape *t, int a, int b, float weight) {
    return op_absdiff_sum(t, a, b, weight / (float)tnumel(tape_val(t, a)));
}

void bicycle_trainer_iteration(bicycle_trainer *r, const tensor *real_a, const tensor *real_b, bicycle_step_vars *sv) {
    tape *t = &r->base.t;
    tape_reset(t);
    memset(sv, 0xff, sizeof *sv);
    int A, B;
    if (real_a && real_b) A = tape_input(t, *real_a), B = tape_input(t, *real_b);
    else image_pairs_next(&r->src, &r->base, &A, &B);
    int h = tape_val(t, A).n / 2, nz = r->s.nz;
    if (h < 1 || 2 * h != tape_val(t, A).n) die("bicyclegan: a batch of %d cannot be split in two halves", tape_val(t, A).n);
    /* several ranks: this rank's rows [first, first + h) of each half (both halves with one rank) */
    const int H = h;
    int first = 0;
    trainer_shard(&r->base, &first, &h);
    int a1 = rows(t, A, first, h), b1 = rows(t, B, first, h), b2 = rows(t, B, H + first, h);
    double lr = lr_at(r, r->base.step / r->base.spe);
    r->og.lr = r->oe.lr = lr;
    for (int i = 0; i < r->d.n; i++) r->od[i].lr = r->od2[i].lr = lr;
    seq_ctx ctx = {.training = 1, .seed = trainer_rank_seed(&r->base), .step = (unsigned)r->base.step}; /* dropout per rank */
    unsigned step = (unsigned)r->base.step;
    sv->eps = normal_draws(t, h, nz, r->base.seed, step, first * nz);
    sv->z_random = normal_draws(t, h, nz, r->base.seed, step, (H + first) * nz);

    /* G and E step */
    set_disc_grad(&r->d, 0);
    set_disc_grad(&r->d2, 0);
    r->g.params.requires_grad = r->e.params->requires_grad = 1;
    int enc = bicycle_encode(&r->e, t, b1, &ctx);
    int mu = op_slice_channels(t, enc, 0, nz), logvar = op_slice_channels(t, enc, nz, nz);
    int z_enc = op_reparam(t, mu, logvar, sv->eps);
    int fake_enc = sv->fake_encoded = seq_forward_z(&r->g, t, a1, z_enc, &ctx);
    int fake_rand = sv->fake_random = seq_forward_z(&r->g, t, a1, sv->z_random, &ctx);
    sv->g_gan = op_scale(t, gan_loss(r, &r->d, fake_enc, 1.0f, &ctx), r->lambda_gan);
    sv->g_gan2 = op_scale(t, gan_loss(r, &r->d2, fake_rand, 1.0f, &ctx), r->lambda_gan2);
    /* a sum over the half, not a mean: each rank's part is weighted up by H / h, as the gradient sum
     * weights every rank by h / H */
    sv->kl = op_kl_normal_sum(t, mu, logvar, r->lambda_kl * (float)H / (float)h);
    sv->g_l1 = mean_l1(t, fake_enc, b1, r->lambda_l1);
    r->e.params->requires_grad = 0; /* E frozen for the latent regression: its gradient reaches G only */
    int mu2 = op_slice_channels(t, bicycle_encode(&r->e, t, fake_rand, &ctx), 0, nz);
    sv->z_l1 = mean_l1(t, mu2, sv->z_random, r->lambda_z);
    r->e.params->requires_grad = 1;
    int loss = op_lincomb(t, op_lincomb(t, sv->g_gan, 1.0f, sv->g_gan2, 1.0f), 1.0f,
                          op_lincomb(t, op_lincomb(t, sv->kl, 1.0f, sv->g_l1, 1.0f), 1.0f, sv->z_l1, 1.0f), 1.0f);
    if (r->lambda_div > 0) { /* -lambda_div |B - G(A, z_rand)|: pushes random samples away from the target */
        sv->div = mean_l1(t, fake_rand, b1, r->lambda_div);
        loss = op_lincomb(t, loss, 1.0f, sv->div, -1.0f);
    }
    net_zero_grad(&r->g.params);
    net_zero_grad(r->e.params);
    tape_backward(t, loss);
    optim_step(&r->oe);
    optim_step(&r->og);

    /* D step on the fakes computed before G's update, detached */
    set_disc_grad(&r->d, 1);
    set_disc_grad(&r->d2, 1);
    /* fake first, then real, in separate statements: with batch norm the order of the forwards is the
     * order of the running-statistics updates (C leaves argument evaluation order open) */
    int d_fake = gan_loss(r, &r->d, tape_detach(t, fake_enc), 0.0f, &ctx);
    int d_real = gan_loss(r, &r->d, b1, 1.0f, &ctx);
    sv->d = op_lincomb(t, d_fake, 1.0f, d_real, 1.0f);
    int d2_fake = gan_loss(r, &r->d2, tape_detach(t, fake_rand), 0.0f, &ctx);
    int d2_real = gan_loss(r, &r->d2, b2, 1.0f, &ctx);
    sv->d2 = op_lincomb(t, d2_fake, 1.0f, d2_real, 1.0f);
    for (int i = 0; i < r->d.n; i++) {
        net_zero_grad(&r->d.s[i].params);
        net_zero_grad(&r->d2.s[i].params);
    }
    tape_backward(t, op_lincomb(t, sv->d, 1.0f, sv->d2, 1.0f));
    for (int i = 0; i < r->d.n; i++) {
        optim_step(&r->od[i]);
        optim_step(&r->od2[i]);
    }
    r->base.step++;
}

static void bicycle_iteration(trainer *tr) {
    bicycle_step_vars sv;
    bicycle_trainer_iteration((bicycle_trainer *)tr, NULL, NULL, &sv);
    int ids[8] = {sv.g_gan, sv.g_gan2, sv.d, sv.d2, sv.g_l1, sv.z_l1, sv.kl, sv.div};
    for (int i = 0; i < tr->nloss; i++) tr->loss[i] = ids[i];
}

void bicycle_trainer_free(bicycle_trainer *r) {
    tape_free(&r->base.t);
    optim_free(&r->og);
    optim_free(&r->oe);
    for (int i = 0; i < r->d.n; i++) {
        optim_free(&r->od[i]);
        optim_free(&r->od2[i]);
    }
    seq_free(&r->g);
    bicycle_encoder_free(&r->e);
    bicycle_disc_free(&r->d);
    bicycle_disc_free(&r->d2);
    image_pairs_close(&r->src);
}

static void bicycle_free(trainer *tr) { bicycle_trainer_free((bicycle_trainer *)tr); }

static void bicycle_describe(trainer *tr, FILE *f) {
    bicycle_trainer *r = (bicycle_trainer *)tr;
    const bicycle_spec *s = &r->s;
    fprintf(f,
            "BicycleGAN %dx%d, A %d -> B %d channel(s), %d pairs, nz %d, U-Net %d downs ngf %d (z at %s), E %s, "
            "D and D2 %d-scale PatchGANs (%d layers, ndf %d), %s norm, %s, batch %d (%d + %d), %ld steps per epoch, "
            "%ld + %ld epochs\n",
            s->size, s->size, s->channels_a, s->channels_b, r->src.data ? r->src.data->n : 0, s->nz, s->num_downs, s->ngf,
            s->z_all ? "every level" : "the input", s->encoder == BIC_E_SMALL ? "E_ResNet (nef from the INI)" : "ResNet-18",
            s->num_d, s->n_layers_d, s->ndf, s->batch_norm ? "batch" : "instance", s->lsgan ? "lsgan" : "vanilla GAN",
            r->B, r->B / 2, r->B / 2, tr->spe, r->n_epochs, r->n_epochs_decay);
}

static void bicycle_progress(trainer *tr, char *out, size_t outlen) {
    snprintf(out, outlen, "lr %.2e", lr_at((bicycle_trainer *)tr, (tr->step - 1) / tr->spe));
}

/* ---- grids ---- */

/* translations.png: one row per validation pair as seed 000 figure 1: input A, ground truth B, the
 * encoded output G(A, mu(E(B))), a gap, then GRID_SAMPLES outputs G(A, z) for fixed z ~ N(0, I) (the
 * same z in every grid of the run, so grids over time compare). Evaluation mode. */
static int bicycle_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    bicycle_trainer *r = (bicycle_trainer *)tr;
    cyclegan_data *d = r->src.data;
    if (!d) return 0;
    int n = d->nval, S = r->s.size, ca = d->ca, cb = d->cb, nz = r->s.nz, K = GRID_SAMPLES;
    tape *t = &tr->t;
    t->grad_enabled = 0;
    tape_reset(t);
    seq_ctx ctx = {.training = 0, .seed = tr->seed};
    size_t pa = (size_t)ca * S * S, pb = (size_t)cb * S * S;
    int A = tape_upload(t, n, ca, S, S, d->val_a), B = tape_upload(t, n, cb, S, S, d->val_b);
    int mu = op_slice_channels(t, bicycle_encode(&r->e, t, B, &ctx), 0, nz);
    float *enc = tape_download_new(t, seq_forward_z(&r->g, t, A, mu, &ctx), NULL);
    float *samples = xmalloc((size_t)K * n * pb * sizeof *samples);
    float *zh = xmalloc((size_t)n * nz * sizeof *zh);
    for (int k = 0; k < K; k++) {
        rng_seq rs = rng_seq_make(tr->seed, RNG_STREAM_SAMPLE, 100 + (unsigned)k);
        for (int i = 0; i < n * nz; i++) zh[i] = rng_normal(&rs);
        int z = tape_upload(t, n, nz, 1, 1, zh);
        tape_download(t, seq_forward_z(&r->g, t, A, z, &ctx), samples + (size_t)k * n * pb);
    }
    t->grad_enabled = 1;
    tape_reset(t);
    int cols = 3 + K, H = n * S + (n + 1) * GRID_PAD, W = cols * S + (cols + 1) * GRID_PAD + GRID_GAP;
    canvas3 cv = canvas3_new(H, W);
    for (int i = 0; i < n; i++) {
        int y0 = GRID_PAD + i * (S + GRID_PAD);
        canvas3_blit(&cv, d->val_a + i * pa, ca, S, S, y0, GRID_PAD);
        canvas3_blit(&cv, d->val_b + i * pb, cb, S, S, y0, 2 * GRID_PAD + S);
        canvas3_blit(&cv, enc + i * pb, cb, S, S, y0, 3 * GRID_PAD + 2 * S);
        for (int k = 0; k < K; k++)
            canvas3_blit(&cv, samples + ((size_t)k * n + i) * pb, cb, S, S, y0, (4 + k) * GRID_PAD + (3 + k) * S + GRID_GAP);
    }
    int rc = canvas3_save_tagged(&cv, dir, "translations", tag, err, errlen);
    canvas3_free(&cv);
    free(enc);
    free(samples);
    free(zh);
    return rc;
}

/* ---- checkpoint ---- */

static int bicycle_parts(trainer *tr, ckpt_part *parts) {
    bicycle_trainer *r = (bicycle_trainer *)tr;
    int n = 0;
    parts[n++] = (ckpt_part){&r->g.params, &r->og};
    parts[n++] = (ckpt_part){r->e.params, &r->oe};
    for (int i = 0; i < r->d.n; i++) {
        parts[n++] = (ckpt_part){&r->d.s[i].params, &r->od[i]};
        parts[n++] = (ckpt_part){&r->d2.s[i].params, &r->od2[i]};
    }
    if (r->s.batch_norm) {
        parts[n++] = (ckpt_part){&r->g.buffers, NULL};
        for (int i = 0; i < r->d.n; i++) {
            parts[n++] = (ckpt_part){&r->d.s[i].buffers, NULL};
            parts[n++] = (ckpt_part){&r->d2.s[i].buffers, NULL};
        }
    }
    if (r->e.buffers) parts[n++] = (ckpt_part){r->e.buffers, NULL};
    return n;
}

#define META_N 14
static const char *const meta_keys[META_N] = {
    "bicyclegan.channels_a", "bicyclegan.channels_b", "bicyclegan.size",    "bicyclegan.nz",
    "bicyclegan.ngf",        "bicyclegan.ndf",        "bicyclegan.nef",     "bicyclegan.num_downs",
    "bicyclegan.z_all",      "bicyclegan.batch_norm", "bicyclegan.dropout", "bicyclegan.num_d",
    "bicyclegan.encoder",    "bicyclegan.e_blocks"};
static void spec_fields(bicycle_spec *s, int *f[META_N]) {
    int *all[META_N] = {&s->channels_a, &s->channels_b, &s->size,       &s->nz,      &s->ngf,   &s->ndf,     &s->nef,
                      &s->num_downs,  &s->z_all,      &s->batch_norm, &s->dropout, &s->num_d, &s->encoder, &s->e_blocks};
    memcpy(f, all, sizeof all);
}

static void bicycle_meta_save(trainer *tr, ckpt_meta *meta) {
    bicycle_trainer *r = (bicycle_trainer *)tr;
    ckpt_meta_add(meta, "opt_t", "%ld", r->og.t);
    int *fields[META_N];
    spec_fields(&r->s, fields);
    ckpt_meta_add_ints(meta, meta_keys, fields, META_N);
}

static int bicycle_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    bicycle_trainer *r = (bicycle_trainer *)tr;
    long t;
    if (ckpt_meta_long_range(f, path, "opt_t", 0, tr->step, &t, err, errlen) != 0) return -1; /* one update per step */
    r->og.t = r->oe.t = t;
    for (int i = 0; i < r->d.n; i++) r->od[i].t = r->od2[i].t = t;
    return 0;
}

int bicycle_spec_from_meta(const st_file *f, const char *path, bicycle_spec *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    int *fields[META_N];
    spec_fields(s, fields);
    if (ckpt_meta_read_ints(f, path, meta_keys, fields, META_N, err, errlen) != 0) return -1;
    if (s->channels_a < 1 || s->channels_a > 3 || s->channels_b < 1 || s->channels_b > 3 || s->ngf < 1 || s->nz < 1 ||
        s->nz > 4096 || s->num_downs < 5 || s->num_downs > 12 || s->encoder > 1) {
        set_err(err, errlen, "%s: checkpoint metadata describes no valid BicycleGAN generator", path);
        return -1;
    }
    return 0;
}

/* ---- ./translate: G(A, z) with z = 0 (the prior's mean) here; tools/translate.c --samples draws more ---- */

/* The shapes a checkpoint's metadata gives (./translate needs no INI). */
static int spec_of_checkpoint(const char *path, bicycle_spec *s, char *err, size_t errlen) {
    st_file f;
    if (st_load(path, &f, err, errlen) != 0) return -1;
    int rc = bicycle_spec_from_meta(&f, path, s, err, errlen);
    st_free(&f);
    return rc;
}

static int bicycle_translator_open(translator *tr, clg_ctx *cl, const char *path, const char *direction, char *err,
                                   size_t errlen) {
    if (strcmp(direction, "AtoB")) {
        set_err(err, errlen, "a BicycleGAN checkpoint translates one way only (G: A -> B); --direction %s is not available",
                direction);
        return -1;
    }
    st_file f;
    bicycle_spec s;
    if (spec_of_checkpoint(path, &s, err, errlen) != 0) return -1;
    tr->in_c = s.channels_a, tr->out_c = s.channels_b;
    tr->size = s.size;
    tr->multiple = 1 << (s.z_all && s.num_downs < 6 ? 6 : s.num_downs);
    bicycle_build_generator(&s, &tr->net, cl);
    ckpt_part parts[2] = {{&tr->net.params, NULL}, {&tr->net.buffers, NULL}};
    if (ckpt_load(path, parts, s.batch_norm ? 2 : 1, 0, &f, err, errlen) != 0) {
        seq_free(&tr->net);
        return -1;
    }
    st_free(&f);
    tr->nz = s.nz;
    snprintf(tr->what, sizeof tr->what, "BicycleGAN G (%d -> %d channels, nz %d, U-Net %d downs, ngf %d, trained at %dx%d)",
             tr->in_c, tr->out_c, s.nz, s.num_downs, s.ngf, s.size, s.size);
    return 0;
}

static int bicycle_translate_z(translator *tr, tape *t, int x, int z) {
    seq_ctx ctx = {.training = 0};
    return seq_forward_z(&tr->net, t, x, z, &ctx);
}

static int bicycle_translate(translator *tr, tape *t, int x) {
    int z = tape_const(t, tape_val(t, x).n, tr->nz, 1, 1, 0.0f); /* z = 0: the mean of the prior */
    return bicycle_translate_z(tr, t, x, z);
}

static int encoder_open(bicycle_encoder *e, clg_ctx *cl, const char *path, char *err, size_t errlen) {
    st_file f;
    bicycle_spec s;
    if (spec_of_checkpoint(path, &s, err, errlen) != 0) return -1;
    bicycle_build_encoder(&s, e, cl, 0);
    ckpt_part parts[2] = {{e->params, NULL}, {e->buffers, NULL}};
    if (ckpt_load(path, parts, e->buffers ? 2 : 1, 0, &f, err, errlen) != 0) {
        bicycle_encoder_free(e);
        return -1;
    }
    st_free(&f);
    return 0;
}

/* ./translate --samples with targets: the encoder E of the checkpoint, and the mean latent of targets. */
static int bicycle_translator_encoder_open(translator *tr, clg_ctx *cl, const char *path, char *err, size_t errlen) {
    bicycle_encoder *e = xcalloc(1, sizeof *e);
    if (encoder_open(e, cl, path, err, errlen) != 0) {
        free(e);
        return -1;
    }
    tr->encoder = e;
    return 0;
}

static int bicycle_translator_encode(translator *tr, tape *t, int target) {
    seq_ctx ctx = {.training = 0};
    return op_slice_channels(t, bicycle_encode(tr->encoder, t, target, &ctx), 0, tr->nz); /* mu of (mu, logvar) */
}

static void bicycle_translator_encoder_free(translator *tr) {
    bicycle_encoder_free(tr->encoder);
    free(tr->encoder);
}

static const cfg_key bicycle_keys[] = {
    {"data", "dataroot", CFG_STR, "data/edges2fashion", "data folder: train/ and val/ (aligned) or trainA/, trainB/, testA/, testB/ (unaligned, paired by sorted name)", NULL, 0, 0},
    {"data", "layout", CFG_CHOICE, "aligned", "aligned: each file holds A|B side by side; unaligned: A and B folders whose files pair up by sorted name", "aligned|unaligned", 0, 0},
    {"data", "direction", CFG_CHOICE, "AtoB", "AtoB: translate A (the left half / trainA) into B; BtoA the other way", "AtoB|BtoA", 0, 0},
    {"data", "channels_a", CFG_INT, "1", "channels of A images: 1 (grayscale) or 3 (RGB)", NULL, 1, 3},
    {"data", "channels_b", CFG_INT, "1", "channels of B images: 1 (grayscale) or 3 (RGB)", NULL, 1, 3},
    {"data", "load_size", CFG_INT, "64", "resize both halves to load_size x load_size first (286 for 256 crops in the reference)", NULL, 8, 4096},
    {"data", "crop_size", CFG_INT, "64", "then one random crop of crop_size x crop_size for both halves (the training size)", NULL, 8, 4096},
    {"data", "flip", CFG_BOOL, "true", "random horizontal flips (the same for both halves)", NULL, 0, 0},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training pairs; 0 = all", NULL, 0, 2147483647},
    {"bicyclegan", "nz", CFG_INT, "8", "latent code size", NULL, 1, 4096},
    {"bicyclegan", "ngf", CFG_INT, "64", "U-Net width: ngf, 2 ngf, 4 ngf, then 8 ngf", NULL, 1, 4096},
    {"bicyclegan", "ndf", CFG_INT, "64", "PatchGAN width of the first scale (the second: ndf / 2)", NULL, 1, 4096},
    {"bicyclegan", "nef", CFG_INT, "64", "encoder width (resnet_small: nef, 2 nef, 3 nef, 4 nef, ...; resnet18 is fixed at 64-512)", NULL, 1, 4096},
    {"bicyclegan", "num_downs", CFG_INT, "0", "U-Net halvings (unet_256: 8, unet_128: 7); 0 = log2(crop_size)", NULL, 0, 12},
    {"bicyclegan", "where_add", CFG_CHOICE, "all", "where z enters G: all (every down block: G_Unet_add_all) or input (G_Unet_add_input)", "all|input", 0, 0},
    {"bicyclegan", "norm", CFG_CHOICE, "instance", "normalisation in G and D: instance (the reference's default) or batch", "instance|batch", 0, 0},
    {"bicyclegan", "dropout", CFG_BOOL, "true", "Dropout(0.5) in the U-Net's middle (8 ngf) up blocks (the reference's training scripts pass --use_dropout)", NULL, 0, 0},
    {"bicyclegan", "gan_mode", CFG_CHOICE, "lsgan", "adversarial loss: lsgan (MSE, the reference) or vanilla (BCE with logits)", "lsgan|vanilla", 0, 0},
    {"bicyclegan", "num_d", CFG_INT, "2", "scales per discriminator (D_NLayersMulti num_D): 1 or 2", NULL, 1, 2},
    {"bicyclegan", "n_layers_d", CFG_INT, "0", "PatchGAN stride-2 layers; 0 = 3 from 256x256 up (basic_256_multi), else 2 (basic_128_multi)", NULL, 0, 8},
    {"bicyclegan", "encoder", CFG_CHOICE, "resnet18", "E: resnet18 (seed 000: torchvision's ResNet-18 with fc / fcVar heads) or resnet_small (the reference's E_ResNet)", "resnet18|resnet_small", 0, 0},
    {"bicyclegan", "e_blocks", CFG_INT, "0", "resnet_small's blocks (resnet_256: 5, resnet_128: 4); 0 = log2(crop_size) - 3", NULL, 0, 12},
    {"bicyclegan", "lambda_l1", CFG_FLOAT, "10", "weight of |B - G(A, E(B))|_1 (cVAE-GAN)", NULL, 0, 1e6},
    {"bicyclegan", "lambda_kl", CFG_FLOAT, "0.01", "weight of KL(E(B) || N(0, I)), summed over the batch half and nz", NULL, 0, 1e6},
    {"bicyclegan", "lambda_z", CFG_FLOAT, "0.5", "weight of |z - mu(E(G(A, z)))|_1 (cLR-GAN; G only)", NULL, 0, 1e6},
    {"bicyclegan", "lambda_gan", CFG_FLOAT, "1", "weight of D's adversarial loss on G(A, E(B))", NULL, 0, 1e6},
    {"bicyclegan", "lambda_gan2", CFG_FLOAT, "1", "weight of D2's adversarial loss on G(A, z)", NULL, 0, 1e6},
    {"bicyclegan", "lambda_div", CFG_FLOAT, "0", "diversity loss -lambda_div |B - G(A, z)|_1 (seed 000 Eq. 6-7 uses 0.05; 0 = off, the reference)", NULL, 0, 1e6},
    {"bicyclegan", "epochs_decay", CFG_INT, "0", "epochs of linear learning-rate decay after train.epochs", NULL, 0, 100000},
    {"bicyclegan", "grid_every", CFG_INT, "0", "steps between grids and checkpoints within an epoch (0 = at epoch ends only)", NULL, 0, 2147483647},
};

/* ---- ./bench: tools/torch_ref/bicyclegan_torch.py -------------------------------------------------- */

/* Every setting the iteration's cost depends on; the learning-rate decay (the same work at any lr) and
 * the data keys (./bench trains on fixed random batches) have no argument. The twin builds every network
 * bicycle_spec_from_cfg accepts (the parity test's model: both encoders, both G variants, one or two D
 * scales, either norm and GAN loss, weight decay as PyTorch Adam's), so nothing else is refused here.
 * Lambdas go three to an argument: argv holds at most 48 entries. */
static int bicyclegan_torch_args(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen) {
    bicycle_spec s;
    if (bicycle_spec_from_cfg(c, &s, err, errlen) != 0) return -1;
    torch_arg(argv, argc, "--size", "%d", s.size);
    torch_arg(argv, argc, "--channels-a", "%d", s.channels_a);
    torch_arg(argv, argc, "--channels-b", "%d", s.channels_b);
    torch_arg(argv, argc, "--nz", "%d", s.nz);
    torch_arg(argv, argc, "--ngf", "%d", s.ngf);
    torch_arg(argv, argc, "--ndf", "%d", s.ndf);
    torch_arg(argv, argc, "--num-downs", "%d", s.num_downs);
    torch_arg(argv, argc, "--where-add", "%s", s.z_all ? "all" : "input");
    torch_arg(argv, argc, "--norm", "%s", s.batch_norm ? "batch" : "instance");
    torch_arg(argv, argc, "--gan-mode", "%s", s.lsgan ? "lsgan" : "vanilla");
    torch_arg(argv, argc, "--num-d", "%d", s.num_d);
    torch_arg(argv, argc, "--n-layers-d", "%d", s.n_layers_d);
    if (s.encoder == BIC_E_SMALL) {
        torch_arg(argv, argc, "--encoder", "%s", "resnet_small");
        torch_arg(argv, argc, "--nef", "%d", s.nef);
        torch_arg(argv, argc, "--e-blocks", "%d", s.e_blocks);
    } else {
        torch_arg(argv, argc, "--encoder", "%s", "resnet18");
    }
    torch_arg(argv, argc, "--lambdas", "%.9g,%.9g,%.9g", cfg_float(c, "bicyclegan", "lambda_l1"),
              cfg_float(c, "bicyclegan", "lambda_kl"), cfg_float(c, "bicyclegan", "lambda_z"));
    torch_arg(argv, argc, "--lambdas-gan", "%.9g,%.9g,%.9g", cfg_float(c, "bicyclegan", "lambda_gan"),
              cfg_float(c, "bicyclegan", "lambda_gan2"), cfg_float(c, "bicyclegan", "lambda_div"));
    torch_arg(argv, argc, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    torch_adam_args(c, argv, argc);
    if (!s.dropout) torch_arg(argv, argc, "--no-dropout", NULL);
    return 0;
}

const model_desc bicyclegan_model = {
    .type = "bicyclegan",
    .summary = "BicycleGAN: cVAE-GAN + cLR-GAN, U-Net G(A, z), ResNet encoder, two 2-scale PatchGANs (seed 000)",
    .keys = bicycle_keys,
    .nkeys = (int)(sizeof bicycle_keys / sizeof bicycle_keys[0]),
    .size = sizeof(bicycle_trainer),
    .check = bicycle_check,
    .init = bicycle_init,
    .iteration = bicycle_iteration,
    .describe = bicycle_describe,
    .progress = bicycle_progress,
    .grids = bicycle_grids,
    .parts = bicycle_parts,
    .meta_save = bicycle_meta_save,
    .meta_load = bicycle_meta_load,
    .free = bicycle_free,
    .translator_open = bicycle_translator_open,
    .translate = bicycle_translate,
    .translate_z = bicycle_translate_z,
    .encoder_open = bicycle_translator_encoder_open,
    .encode = bicycle_translator_encode,
    .encoder_free = bicycle_translator_encoder_free,
    .torch_script = "tools/torch_ref/bicyclegan_torch.py",
    .torch_args = bicyclegan_torch_args,
    .bench_warmup = 2,
    .bench_iters = 10,
};

