/* ./bench's convolution rows: every distinct convolution of the models at the shapes they train at,
 * timed through the op API (op_conv2d / op_conv_transpose2d and the backward they record), so the
 * rows stay valid whatever the convolution's internals become. A data-gradient row lets only the
 * input want a gradient, a weight-gradient row only the parameters (weight and bias). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ops.h"
#include "util.h"

/* ---- the shapes ----------------------------------------------------------------------------- */

typedef struct {
    const char *layer;
    conv_spec s;
} conv_layer;

static void add_layer(row_list *l, const char *group, const char *layer, conv_spec s, void (*make)(clg_ctx *, const bench_row *, bench_work *)) {
    static const char *const dirs[] = {"fwd", "dx", "dw"};
    int OH, OW;
    conv_out_size(&s, &OH, &OW);
    double macs = s.transposed ? (double)s.N * s.Ci * s.H * s.W * s.Co * s.k * s.k
                               : (double)s.N * s.Co * OH * OW * s.Ci * s.k * s.k;
    for (int d = 0; d < 3; d++) {
        bench_row *r = rows_add(l);
        snprintf(r->name, sizeof r->name, "%s.%s.%s", group, layer, dirs[d]);
        snprintf(r->shape, sizeof r->shape, "%s%d s%d p%d%s%s %d->%d %dx%d N%d%s", s.transposed ? "tconv" : "conv", s.k,
                 s.s, s.p, s.op ? " op1" : "", s.reflect ? " refl" : "", s.Ci, s.Co, s.H, s.W, s.N, s.bias ? " +b" : "");
        r->flops = 2.0 * macs;
        r->dir = d == 0 ? DIR_FWD : d == 1 ? DIR_DX : DIR_DW;
        r->make = make;
        r->u.conv = s;
    }
}

static void make_conv(clg_ctx *c, const bench_row *r, bench_work *w);

/* CycleGAN's ResNet generator (seed 003 section 4.2.2: c7s1-64, d128, d256, R256, u128, u64, c7s1-ch;
 * reflection padding before the 7x7 convolutions and in the residual blocks) and its 70x70 PatchGAN
 * (C64-C128-C256-C512 and a 1-channel 4x4 convolution), batch 1, with biases (instance norm, as
 * pytorch-CycleGAN-and-pix2pix). uk is nearest x2 upsampling then a 3x3 convolution ("up"; the
 * upsampling itself is an elem row) or, in the original CycleGAN, a transposed 3x3 stride-2
 * convolution ("t"): both are here. */
static void cyclegan_layers(row_list *l, int S, int ch) {
    char g[16], p[16];
    snprintf(g, sizeof g, "cyc%d", S);
    snprintf(p, sizeof p, "patch%d", S);
    const conv_layer gen[] = {
        {"c7s1-64", {0, 1, ch, 64, S, S, 7, 1, 3, 0, 1, 1}},
        {"d128", {0, 1, 64, 128, S, S, 3, 2, 1, 0, 0, 1}},
        {"d256", {0, 1, 128, 256, S / 2, S / 2, 3, 2, 1, 0, 0, 1}},
        {"R256", {0, 1, 256, 256, S / 4, S / 4, 3, 1, 1, 0, 1, 1}},
        {"u128up", {0, 1, 256, 128, S / 2, S / 2, 3, 1, 1, 0, 0, 1}},
        {"u128t", {1, 1, 256, 128, S / 4, S / 4, 3, 2, 1, 1, 0, 1}},
        {"u64up", {0, 1, 128, 64, S, S, 3, 1, 1, 0, 0, 1}},
        {"u64t", {1, 1, 128, 64, S / 2, S / 2, 3, 2, 1, 1, 0, 1}},
        {ch == 3 ? "c7s1-3" : "c7s1-1", {0, 1, 64, ch, S, S, 7, 1, 3, 0, 1, 1}},
    };
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++) add_layer(l, g, gen[i].layer, gen[i].s, make_conv);
    const conv_layer dis[] = {
        {"C64", {0, 1, ch, 64, S, S, 4, 2, 1, 0, 0, 1}},
        {"C128", {0, 1, 64, 128, S / 2, S / 2, 4, 2, 1, 0, 0, 1}},
        {"C256", {0, 1, 128, 256, S / 4, S / 4, 4, 2, 1, 0, 0, 1}},
        {"C512", {0, 1, 256, 512, S / 8, S / 8, 4, 1, 1, 0, 0, 1}},
        {"out", {0, 1, 512, 1, S / 8 - 1, S / 8 - 1, 4, 1, 1, 0, 0, 1}},
    };
    for (size_t i = 0; i < sizeof dis / sizeof dis[0]; i++) add_layer(l, p, dis[i].layer, dis[i].s, make_conv);
}

/* DCGAN as ini/dcgan.ini trains it (models/gan.c): batch 128, z 100, ngf = ndf = 128, one channel at
 * 64x64, no biases (batch norm follows, or the logits layer has none). */
static void dcgan_layers(row_list *l) {
    const int B = 128, Z = 100, f = 128, e = 128, C = 1;
    const conv_layer layers[] = {
        {"G1", {1, B, Z, f * 8, 1, 1, 4, 1, 0, 0, 0, 0}},
        {"G2", {1, B, f * 8, f * 4, 4, 4, 4, 2, 1, 0, 0, 0}},
        {"G3", {1, B, f * 4, f * 2, 8, 8, 4, 2, 1, 0, 0, 0}},
        {"G4", {1, B, f * 2, f, 16, 16, 4, 2, 1, 0, 0, 0}},
        {"G5", {1, B, f, C, 32, 32, 4, 2, 1, 0, 0, 0}},
        {"D1", {0, B, C, e, 64, 64, 4, 2, 1, 0, 0, 0}},
        {"D1c", {0, B, C + 10, e, 64, 64, 4, 2, 1, 0, 0, 0}}, /* ini/cdcgan.ini: 10 more channels, the class */
        {"D2", {0, B, e, e * 2, 32, 32, 4, 2, 1, 0, 0, 0}},
        {"D3", {0, B, e * 2, e * 4, 16, 16, 4, 2, 1, 0, 0, 0}},
        {"D4", {0, B, e * 4, e * 8, 8, 8, 4, 2, 1, 0, 0, 0}},
        {"D5", {0, B, e * 8, 1, 4, 4, 4, 1, 0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) add_layer(l, "dcgan", layers[i].layer, layers[i].s, make_conv);
}

/* The adversarial VAE as ini/avae.ini trains it (models/avae.c, seed 004): batch 16, n = 16 filters,
 * 28x28 with three levels (28, 14, 7), n(l + 1) channels at level l in the encoders, n in the
 * decoders; the decoders' up-sampling convolutions are 3x3 convolutions at the doubled size. */
static void avae_layers(row_list *l) {
    const int B = 16, n = 16;
    const conv_layer layers[] = {
        {"conv0", {0, B, 1, n, 28, 28, 3, 1, 1, 0, 0, 1}},
        {"l0", {0, B, n, n, 28, 28, 3, 1, 1, 0, 0, 1}},
        {"down0", {0, B, n, 2 * n, 28, 28, 3, 2, 1, 0, 0, 1}},
        {"l1", {0, B, 2 * n, 2 * n, 14, 14, 3, 1, 1, 0, 0, 1}},
        {"down1", {0, B, 2 * n, 3 * n, 14, 14, 3, 2, 1, 0, 0, 1}},
        {"l2", {0, B, 3 * n, 3 * n, 7, 7, 3, 1, 1, 0, 0, 1}},
        {"dec7", {0, B, n, n, 7, 7, 3, 1, 1, 0, 0, 1}},
        {"dec14", {0, B, n, n, 14, 14, 3, 1, 1, 0, 0, 1}},
        {"out", {0, B, n, 1, 28, 28, 3, 1, 1, 0, 0, 1}},
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) add_layer(l, "avae", layers[i].layer, layers[i].s, make_conv);
}

void rows_conv(row_list *l) {
    cyclegan_layers(l, 64, 1); /* the main job, ini/cyclegan.ini: one channel per domain */
    cyclegan_layers(l, 128, 3);
    cyclegan_layers(l, 256, 3);
    dcgan_layers(l);
    avae_layers(l);
}

/* ---- the work ------------------------------------------------------------------------------- */

typedef struct {
    clg_ctx *c;
    conv_spec s;
    bench_dir dir;
    tape t;
    net p;
    int wi, bi;
    tensor x, dy;             /* persistent random input and upstream gradient */
    float *hx, *hw, *hb, *hdy; /* their host copies, and the weights' */
    int xv, y, n0;            /* this run's variables and first node */
    unsigned long long seed;
} conv_state;

static void forward(conv_state *st) {
    tape *t = &st->t;
    tape_reset(t);
    st->xv = st->dir == DIR_DX ? tape_new_view(t, st->x, 1) : tape_input(t, st->x);
    st->p.requires_grad = st->dir == DIR_DW;
    st->n0 = t->nnodes;
    int w = tape_param(t, &st->p, st->wi), b = st->bi >= 0 ? tape_param(t, &st->p, st->bi) : -1;
    const conv_spec *s = &st->s;
    st->y = s->transposed ? op_conv_transpose2d(t, st->xv, w, b, s->s, s->p, s->op)
                          : op_conv2d(t, st->xv, w, b, s->s, s->p, s->reflect ? PAD_REFLECT : PAD_ZERO);
}

static void conv_pre(void *p) { forward(p); }
static void conv_fwd(void *p) { forward(p); }
static void conv_bwd(void *p) {
    conv_state *st = p;
    bench_backward(&st->t, st->y, st->dy, st->n0);
}

static double conv_check(void *p) {
    conv_state *st = p;
    const conv_spec *s = &st->s;
    size_t idx[BENCH_SAMPLES];
    double worst = 0, mag;
    if (st->dir == DIR_FWD) {
        tensor y = tape_val(&st->t, st->y);
        float *hy = xmalloc(tnumel(y) * sizeof *hy);
        clg_read(st->c, y.mem, y.off, tnumel(y), hy);
        int ns = bench_sample(tnumel(y), st->seed + 1, idx);
        for (int i = 0; i < ns; i++) {
            double ref = ref_conv_y(s, st->hx, st->hw, st->hb, idx[i], &mag);
            bench_err(&worst, hy[idx[i]], ref, mag);
        }
        free(hy);
    } else if (st->dir == DIR_DX) {
        tensor dx = st->t.vars[st->xv].grad;
        if (!dx.mem) return NAN;
        float *h = xmalloc(tnumel(dx) * sizeof *h);
        clg_read(st->c, dx.mem, dx.off, tnumel(dx), h);
        int ns = bench_sample(tnumel(dx), st->seed + 2, idx);
        for (int i = 0; i < ns; i++) {
            double ref = ref_conv_dx(s, st->hdy, st->hw, idx[i], &mag);
            bench_err(&worst, h[idx[i]], ref, mag);
        }
        free(h);
    } else {
        float *g = xmalloc(st->p.total * sizeof *g);
        clg_read(st->c, st->p.g, 0, st->p.total, g);
        const param *pw = &st->p.p[st->wi];
        int ns = bench_sample(pw->numel, st->seed + 3, idx);
        for (int i = 0; i < ns; i++) {
            double ref = ref_conv_dw(s, st->hx, st->hdy, idx[i], &mag);
            bench_err(&worst, g[pw->off + idx[i]], ref, mag);
        }
        for (int co = 0; co < s->Co && st->bi >= 0; co++) {
            double ref = ref_conv_db(s, st->hdy, co, &mag);
            bench_err(&worst, g[st->p.p[st->bi].off + co], ref, mag);
        }
        free(g);
    }
    return worst;
}

static void conv_done(void *p) {
    conv_state *st = p;
    tape_free(&st->t);
    net_free(&st->p);
    clReleaseMemObject(st->x.mem);
    clReleaseMemObject(st->dy.mem);
    free(st->hx);
    free(st->hw);
    free(st->hb);
    free(st->hdy);
    free(st);
}

static void make_conv(clg_ctx *c, const bench_row *r, bench_work *w) {
    conv_state *st = xcalloc(1, sizeof *st);
    const conv_spec *s = &r->u.conv;
    st->c = c, st->s = *s, st->dir = r->dir;
    st->seed = fnv1a64(r->name, strlen(r->name), FNV1A64_INIT);
    int OH, OW;
    conv_out_size(s, &OH, &OW);
    tape_init(&st->t, c);
    st->t.grad_enabled = r->dir != DIR_FWD;
    net_init(&st->p, c, "bench");
    st->wi = net_add(&st->p, "w", 4, s->transposed ? (int[]){s->Ci, s->Co, s->k, s->k} : (int[]){s->Co, s->Ci, s->k, s->k});
    st->bi = s->bias ? net_add(&st->p, "b", 1, (int[]){s->Co}) : -1;
    net_alloc(&st->p); /* gradients start at zero: the checked run's weight gradient is the result */
    size_t nw = st->p.p[st->wi].numel;
    st->hw = xmalloc(nw * sizeof *st->hw);
    bench_randv(st->hw, nw, st->seed + 10);
    clg_write(c, st->p.w, st->p.p[st->wi].off, nw, st->hw);
    if (s->bias) {
        st->hb = xmalloc((size_t)s->Co * sizeof *st->hb);
        bench_randv(st->hb, (size_t)s->Co, st->seed + 11);
        clg_write(c, st->p.w, st->p.p[st->bi].off, (size_t)s->Co, st->hb);
    }
    st->x = bench_random_tensor(c, s->N, s->Ci, s->H, s->W, st->seed + 12, &st->hx);
    st->dy = bench_random_tensor(c, s->N, s->Co, OH, OW, st->seed + 13, &st->hdy);
    *w = (bench_work){.st = st, .pre = r->dir == DIR_FWD ? NULL : conv_pre, .run = r->dir == DIR_FWD ? conv_fwd : conv_bwd,
                      .check = conv_check, .done = conv_done};
}
