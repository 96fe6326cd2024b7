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
#include "runutil.h"
#include "util.h"

int cyclegan_trainer_init(cyclegan_trainer *r, const cfg *c, clg_ctx *cl, const char *run_dir, int with_data, char *err,
                          size_t errlen) {
    memset(r, 0, sizeof *r);
    r->c = c, r->cl = cl, r->dir = run_dir;
    r->seed = (unsigned long long)cfg_int(c, "run", "seed");
    r->B = (int)cfg_int(c, "train", "batch_size");
    if (cyclegan_spec_from_cfg(c, &r->s, err, errlen) != 0) return -1;
    r->spe = 1;
    if (with_data) {
        r->data = xcalloc(1, sizeof *r->data);
        if (cyclegan_data_open(r->data, c, r->B, r->seed, err, errlen) != 0) {
            free(r->data);
            r->data = NULL;
            return -1;
        }
        r->spe = (r->data->n + r->B - 1) / r->B;
    }
    const cyclegan_spec *s = &r->s;
    cyclegan_build_generator(s, &r->g_a, cl, "G_A", s->channels_a, s->channels_b);
    cyclegan_build_generator(s, &r->g_b, cl, "G_B", s->channels_b, s->channels_a);
    cyclegan_build_discriminator(s, &r->d_a, cl, "D_A", s->channels_b);
    cyclegan_build_discriminator(s, &r->d_b, cl, "D_B", s->channels_a);
    seqnet *nets[4] = {&r->g_a, &r->g_b, &r->d_a, &r->d_b};
    optim *opts[4] = {&r->og_a, &r->og_b, &r->od_a, &r->od_b};
    r->lr = cfg_float(c, "train", "lr");
    for (int i = 0; i < 4; i++) {
        seq_init_weights(nets[i], INIT_DCGAN, r->seed + (unsigned long long)i); /* N(0, 0.02), biases 0 */
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
    tape_init(&r->t, cl);
    r->t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    return 0;
}

double cyclegan_lr_at(const cyclegan_trainer *r, long epoch) {
    long over = epoch + 1 - r->n_epochs;
    return r->lr * (1.0 - (double)(over > 0 ? over : 0) / (double)(r->n_epochs_decay + 1));
}

/* The adversarial loss of logits x against the constant target y (mean over the patches). */
static int gan_loss(cyclegan_trainer *r, int x, float y) {
    tape *t = &r->t;
    tensor xv = tape_val(t, x);
    float inv = 1.0f / (float)tnumel(xv);
    if (!r->s.lsgan) return op_bce_logits_sum(t, x, -1, y, inv);
    tensor target = arena_tensor(&t->ar, xv.n, xv.c, xv.h, xv.w);
    clg_fill(r->cl, target.mem, target.off, tnumel(xv), y);
    return op_sqerr_sum(t, x, tape_input(t, target), inv);
}

static int l1(cyclegan_trainer *r, int a, int b, float weight) {
    return op_absdiff_sum(&r->t, a, b, weight / (float)tnumel(tape_val(&r->t, a)));
}

static int add(cyclegan_trainer *r, int a, int b) { return op_lincomb(&r->t, a, 1.0f, b, 1.0f); }

static void set_frozen(cyclegan_trainer *r, int d_frozen) {
    r->g_a.params.requires_grad = r->g_b.params.requires_grad = 1;
    r->d_a.params.requires_grad = r->d_b.params.requires_grad = !d_frozen;
}

/* The next training batch of each domain, uploaded into the arena. */
static void next_batch(cyclegan_trainer *r, tensor *a, tensor *b) {
    cyclegan_data *d = r->data;
    long epoch = r->step / r->spe, pos = (r->step % r->spe) * r->B;
    if (d->epoch != epoch || d->pos != pos || !d->fa) cyclegan_data_seek(d, epoch, pos);
    const float *ha, *hb;
    int n = cyclegan_data_next(d, &ha, &hb), S = r->s.size;
    *a = arena_tensor(&r->t.ar, n, d->ca, S, S);
    *b = arena_tensor(&r->t.ar, n, d->cb, S, S);
    clg_write(r->cl, a->mem, a->off, tnumel(*a), ha);
    clg_write(r->cl, b->mem, b->off, tnumel(*b), hb);
}

void cyclegan_trainer_iteration(cyclegan_trainer *r, const tensor *real_a, const tensor *real_b, cyclegan_step_vars *sv) {
    tape *t = &r->t;
    tape_reset(t);
    memset(sv, 0xff, sizeof *sv); /* every handle -1 */
    tensor ta, tb;
    if (real_a && real_b) ta = *real_a, tb = *real_b;
    else next_batch(r, &ta, &tb);
    double lr = cyclegan_lr_at(r, r->step / r->spe);
    r->og_a.lr = r->og_b.lr = r->od_a.lr = r->od_b.lr = lr;
    int A = sv->real_a = tape_input(t, ta), B = sv->real_b = tape_input(t, tb);
    seq_ctx ctx = {.training = 1, .seed = r->seed, .step = (unsigned)r->step};

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
    int pb = image_pool_query(&r->pool_b, t, fake_b, r->seed, (uint32_t)(2 * r->step));
    int pa = image_pool_query(&r->pool_a, t, fake_a, r->seed, (uint32_t)(2 * r->step + 1));
    sv->d_a = op_lincomb(t, gan_loss(r, seq_forward(&r->d_a, t, B, &ctx), 1.0f), 0.5f,
                         gan_loss(r, seq_forward(&r->d_a, t, pb, &ctx), 0.0f), 0.5f);
    sv->d_b = op_lincomb(t, gan_loss(r, seq_forward(&r->d_b, t, A, &ctx), 1.0f), 0.5f,
                         gan_loss(r, seq_forward(&r->d_b, t, pa, &ctx), 0.0f), 0.5f);
    net_zero_grad(&r->d_a.params);
    net_zero_grad(&r->d_b.params);
    tape_backward(t, add(r, sv->d_a, sv->d_b));
    optim_step(&r->od_a);
    optim_step(&r->od_b);
    r->step++;
}

void cyclegan_trainer_free(cyclegan_trainer *r) {
    tape_free(&r->t);
    optim *opts[4] = {&r->og_a, &r->og_b, &r->od_a, &r->od_b};
    seqnet *nets[4] = {&r->g_a, &r->g_b, &r->d_a, &r->d_b};
    for (int i = 0; i < 4; i++) {
        optim_free(opts[i]);
        seq_free(nets[i]);
    }
    image_pool_free(&r->pool_a);
    image_pool_free(&r->pool_b);
    if (r->data) {
        cyclegan_data_close(r->data);
        free(r->data);
    }
    memset(r, 0, sizeof *r);
}

int cyclegan_checkpoint(cyclegan_trainer *r, int save, char *err, size_t errlen) {
    char path[4300];
    run_path(path, sizeof path, r->dir, "checkpoint.safetensors");
    ckpt_part parts[6] = {{&r->g_a.params, &r->og_a}, {&r->g_b.params, &r->og_b}, {&r->d_a.params, &r->od_a},
                          {&r->d_b.params, &r->od_b}, {&r->pool_a.store, NULL},    {&r->pool_b.store, NULL}};
    int nparts = r->pool_a.size > 0 ? 6 : 4;
    if (save) {
        char cfgpath[4300], vals[8][32], spec[CYCLEGAN_META_N][24];
        enum { NM = 9 + CYCLEGAN_META_N };
        const char *k[NM], *v[NM];
        run_path(cfgpath, sizeof cfgpath, r->dir, "config.ini");
        char *config = read_file(cfgpath, NULL, err, errlen);
        if (!config) return -1;
        const char *names[8] = {"format", "model", "step", "epoch", "opt_t", "seed", "pool_A.count", "pool_B.count"};
        snprintf(vals[0], 32, "clgan-checkpoint-1");
        snprintf(vals[1], 32, "cyclegan");
        snprintf(vals[2], 32, "%ld", r->step);
        snprintf(vals[3], 32, "%ld", r->step / r->spe);
        snprintf(vals[4], 32, "%ld", r->og_a.t);
        snprintf(vals[5], 32, "%llu", r->seed);
        snprintf(vals[6], 32, "%d", r->pool_a.count);
        snprintf(vals[7], 32, "%d", r->pool_b.count);
        for (int i = 0; i < 8; i++) k[i] = names[i], v[i] = vals[i];
        cyclegan_spec_meta(&r->s, spec, k + 8); /* the generator's shape, for ./translate */
        for (int i = 0; i < CYCLEGAN_META_N; i++) v[8 + i] = spec[i];
        k[NM - 1] = "config";
        v[NM - 1] = config;
        int rc = ckpt_save(path, parts, nparts, k, v, NM, err, errlen);
        free(config);
        return rc;
    }
    st_file f;
    if (ckpt_load(path, parts, nparts, 1, &f, err, errlen) != 0) return -1;
    long opt_t = 0, ca = 0, cb = 0;
    int rc = ckpt_meta_long(&f, path, "step", &r->step, err, errlen);
    if (rc == 0) rc = ckpt_meta_long(&f, path, "opt_t", &opt_t, err, errlen);
    if (rc == 0) rc = ckpt_meta_long(&f, path, "pool_A.count", &ca, err, errlen);
    if (rc == 0) rc = ckpt_meta_long(&f, path, "pool_B.count", &cb, err, errlen);
    st_free(&f);
    r->og_a.t = r->og_b.t = r->od_a.t = r->od_b.t = opt_t;
    r->pool_a.count = (int)ca;
    r->pool_b.count = (int)cb;
    return rc;
}
