/* The adversarial VAE's networks, losses, training step and k_t controller (models/avae.h). */
#include "avae.h"

#include <math.h>
#include <stdio.h>

#include "rng.h"
#include "tape_data.h"
#include "util.h"

int avae_spec_finish(avae_spec *s) {
    if (s->size < 4 || s->channels < 1 || s->n < 1 || s->zdim < 1 || s->dzdim < 1) return -1;
    s->levels = 1, s->s0 = s->size;
    while (s->s0 % 2 == 0 && s->s0 > 8) s->s0 /= 2, s->levels++;
    return 0;
}

/* conv kinds in avae_part.stride: 1 plain, 2 stride-2 subsampling, 0 nearest 2x up-sampling first */
static void add_conv(avae_part *p, net *n, const char *prefix, const char *name, int in, int out, int stride) {
    char w[128], b[128];
    if (p->nconv == 32) die("avae: more than 32 convolutions in %s", prefix);
    snprintf(w, sizeof w, "%s%s.weight", prefix, name);
    snprintf(b, sizeof b, "%s%s.bias", prefix, name);
    p->conv_w[p->nconv] = net_add(n, w, 4, (int[]){out, in, 3, 3});
    p->conv_b[p->nconv] = net_add(n, b, 1, (int[]){out});
    p->stride[p->nconv++] = stride;
}

static void add_fc(net *n, const char *prefix, const char *name, int in, int out, int *wi, int *bi) {
    char w[128], b[128];
    snprintf(w, sizeof w, "%s%s.weight", prefix, name);
    snprintf(b, sizeof b, "%s%s.bias", prefix, name);
    *wi = net_add(n, w, 2, (int[]){out, in});
    *bi = net_add(n, b, 1, (int[]){out});
}

/* Encoder: conv0, per level l "l<l>a", "l<l>b" and "down<l>" between levels, then "fc" (and
 * "fc_logvar" for the VAE). Channels n (l + 1) at level l, as BEGAN's encoder. */
static void build_encoder(avae_part *p, net *n, const char *prefix, const avae_spec *s, int zdim, int vae) {
    char nm[32];
    *p = (avae_part){.fc2_w = -1, .fc2_b = -1};
    add_conv(p, n, prefix, "conv0", s->channels, s->n, 1);
    for (int l = 0; l < s->levels; l++) {
        int c = s->n * (l + 1);
        snprintf(nm, sizeof nm, "l%da", l);
        add_conv(p, n, prefix, nm, c, c, 1);
        snprintf(nm, sizeof nm, "l%db", l);
        add_conv(p, n, prefix, nm, c, c, 1);
        if (l + 1 < s->levels) {
            snprintf(nm, sizeof nm, "down%d", l);
            add_conv(p, n, prefix, nm, c, c + s->n, 2);
        }
    }
    int flat = s->n * s->levels * s->s0 * s->s0;
    add_fc(n, prefix, "fc", flat, zdim, &p->fc_w, &p->fc_b);
    if (vae) add_fc(n, prefix, "fc_logvar", flat, zdim, &p->fc2_w, &p->fc2_b);
}

/* Decoder: "fc" to n x s0 x s0, per level "l<l>a" (up-sampled input from level 1 on), "l<l>b", then "out". */
static void build_decoder(avae_part *p, net *n, const char *prefix, const avae_spec *s, int zdim) {
    char nm[32];
    *p = (avae_part){.fc2_w = -1, .fc2_b = -1};
    add_fc(n, prefix, "fc", zdim, s->n * s->s0 * s->s0, &p->fc_w, &p->fc_b);
    for (int l = 0; l < s->levels; l++) {
        snprintf(nm, sizeof nm, "l%da", l);
        add_conv(p, n, prefix, nm, s->n, s->n, l ? 0 : 1);
        snprintf(nm, sizeof nm, "l%db", l);
        add_conv(p, n, prefix, nm, s->n, s->n, 1);
    }
    add_conv(p, n, prefix, "out", s->n, s->channels, 1);
}

void avae_create(avae_nets *m, clg_ctx *cl, const avae_spec *s) {
    m->s = *s;
    net_init(&m->enc, cl, "enc");
    build_encoder(&m->e, &m->enc, "", s, s->zdim, 1);
    net_alloc(&m->enc);
    net_init(&m->gen, cl, "gen");
    build_decoder(&m->g, &m->gen, "", s, s->zdim);
    net_alloc(&m->gen);
    net_init(&m->disc, cl, "disc");
    build_encoder(&m->de, &m->disc, "e.", s, s->dzdim, 0);
    build_decoder(&m->dd, &m->disc, "d.", s, s->dzdim);
    net_alloc(&m->disc);
}

/* U(+-1/sqrt(fan_in)) for every weight and its bias: PyTorch's Conv2d / Linear defaults. Parameters
 * come in (weight, bias) pairs. */
static void init_net(net *n, unsigned long long seed) {
    for (int i = 0; i < n->np; i++) {
        const param *w = &n->p[i % 2 ? i - 1 : i];
        int fan_in = w->shape[1] * (w->ndim == 4 ? w->shape[2] * w->shape[3] : 1);
        net_init_uniform(n, i, 1.0f / sqrtf((float)fan_in), seed);
    }
}

void avae_init_weights(avae_nets *m, unsigned long long seed) {
    /* distinct keys per network: the draws of parameter i would otherwise repeat across them */
    init_net(&m->enc, seed ^ 0x1111111111ULL);
    init_net(&m->gen, seed ^ 0x2222222222ULL);
    init_net(&m->disc, seed ^ 0x3333333333ULL);
}

void avae_free(avae_nets *m) {
    net_free(&m->enc);
    net_free(&m->gen);
    net_free(&m->disc);
}

static int conv(tape *t, net *n, const avae_part *p, int i, int x, int elu) {
    int w = tape_param(t, n, p->conv_w[i]), b = tape_param(t, n, p->conv_b[i]);
    if (p->stride[i] == 0) {
        int y = op_upsample2x_conv3x3(t, x, w, b);
        return elu ? op_elu(t, y, 1.0f) : y;
    }
    int s = p->stride[i];
    return elu ? op_conv2d_elu(t, x, w, b, s, 1, PAD_ZERO, 1.0f) : op_conv2d(t, x, w, b, s, 1, PAD_ZERO);
}

static int run_encoder(tape *t, net *n, const avae_part *p, int x, int *lv) {
    for (int i = 0; i < p->nconv; i++) x = conv(t, n, p, i, x, 1);
    int mu = op_linear(t, x, tape_param(t, n, p->fc_w), tape_param(t, n, p->fc_b));
    if (lv) *lv = op_linear(t, x, tape_param(t, n, p->fc2_w), tape_param(t, n, p->fc2_b));
    return mu;
}

static int run_decoder(tape *t, net *n, const avae_part *p, const avae_spec *s, int z) {
    int B = tape_val(t, z).n;
    int h = op_linear(t, z, tape_param(t, n, p->fc_w), tape_param(t, n, p->fc_b));
    h = op_reshape(t, h, B, s->n, s->s0, s->s0);
    for (int i = 0; i < p->nconv; i++) h = conv(t, n, p, i, h, i + 1 < p->nconv);
    return h;
}

int avae_encode(avae_nets *m, tape *t, int x, int *lv) { return run_encoder(t, &m->enc, &m->e, x, lv); }
int avae_decode(avae_nets *m, tape *t, int z) { return run_decoder(t, &m->gen, &m->g, &m->s, z); }

int avae_disc(avae_nets *m, tape *t, int x, int *latent) {
    int z = run_encoder(t, &m->disc, &m->de, x, NULL);
    if (latent) *latent = z;
    return run_decoder(t, &m->disc, &m->dd, &m->s, z);
}

/* mean |a - b| over every element */
static int l1(tape *t, int a, int b) {
    tensor v = tape_val(t, a);
    return op_absdiff_sum(t, a, b, 1.0f / (float)tnumel(v));
}

/* The k_t controller (Eq. 11-12 with the sign of Eq. 11 fixed; see the header). */
static void controller(avae_trainer *r, double ld, double lg, double lv, avae_step_vars *sv) {
    double e = r->eta * ld - (lg + r->alpha * lv), k = r->k;
    if (r->pid)
        k += r->l1 * e + r->l2 * (e - r->e1) + r->l3 * (e - 2.0 * r->e1 + r->e2);
    else
        k += r->l1 * e; /* BEGAN: k_{t+1} = k_t + lambda_k (gamma L(x) - L(G(z))) */
    if (r->k_clamp) k = k < 0 ? 0 : k > 1 ? 1 : k;
    sv->k_used = (float)r->k;
    sv->k = (float)k;
    sv->e = (float)e;
    sv->conv = (float)(ld + fabs(e));
    r->e2 = r->e1, r->e1 = e, r->k = k;
}

void avae_step(avae_trainer *r, int x, unsigned step, avae_step_vars *sv) {
    tape *t = &r->base.t;
    avae_nets *m = &r->m;
    int B = tape_val(t, x).n, lv;
    sv->x = x;
    int mu = avae_encode(m, t, x, &lv);
    /* this rank's rows of the batch's draws (the draws themselves with one rank) */
    int rows = trainer_draw_rows(&r->base, B);
    sv->eps = trainer_rank_rows(&r->base, tape_randn(t, rows, m->s.zdim, 1, 1, r->base.seed, RNG_STREAM_NOISE, 2u * step));
    sv->zg = trainer_rank_rows(&r->base, tape_randn(t, rows, m->s.zdim, 1, 1, r->base.seed, RNG_STREAM_NOISE, 2u * step + 1u));
    int zv = op_reparam(t, mu, lv, sv->eps);
    int xv = avae_decode(m, t, zv), xg = avae_decode(m, t, sv->zg);
    int zd, zv2;
    int xd2 = avae_disc(m, t, x, &zd), xv2 = avae_disc(m, t, xv, &zv2), xg2 = avae_disc(m, t, xg, NULL);
    sv->le = l1(t, xv, x);
    sv->ln = op_kl_normal_sum(t, mu, lv, 1.0f / (float)(B * m->s.zdim));
    sv->ls = l1(t, zv2, zd);
    sv->ld = l1(t, xd2, x);
    sv->lg = l1(t, xg2, xg);
    sv->lv = l1(t, xv2, xv);
    int common = op_lincomb(t, sv->ls, r->beta, sv->le, r->gamma); /* beta L_s + gamma L_e */
    int fake = op_lincomb(t, sv->lg, 1.0f, sv->lv, r->alpha);      /* L_g + alpha L_v */
    sv->lenc = op_lincomb(t, sv->ln, r->kl_weight, common, 1.0f);
    sv->lgen = op_lincomb(t, fake, 1.0f, common, 1.0f);
    sv->ldis = op_lincomb(t, sv->ld, 1.0f, fake, -(float)r->k);
    /* Three gradients of the one forward pass, each into its own network and computed only where it
     * leads to that network's weights (torch.autograd.grad(loss, net.parameters())): the disc step
     * stops at xv and xg, the gen step walks D's data gradients but not its weight gradients. No
     * backward reads the weights of a network already stepped: E's walks D, G and E, G's only D and
     * G, D's only D. */
    net_zero_grad(&m->enc);
    tape_backward_net(t, sv->lenc, &m->enc);
    optim_step(&r->oe);
    net_zero_grad(&m->gen);
    tape_backward_net(t, sv->lgen, &m->gen);
    optim_step(&r->og);
    net_zero_grad(&m->disc);
    tape_backward_net(t, sv->ldis, &m->disc);
    optim_step(&r->od);
    double l[3] = {tape_read_scalar(t, sv->ld), tape_read_scalar(t, sv->lg), tape_read_scalar(t, sv->lv)};
    trainer_batch_means(&r->base, l, 3); /* the whole batch's, the same k_t on every rank */
    controller(r, l[0], l[1], l[2], sv);
}
