/* BicycleGAN's networks and spec (see bicyclegan.h); the training step is models/bicyclegan_train.c. */
#include "bicyclegan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pix2pix.h"
#include "util.h"

static int log2_floor(int v) {
    int n = 0;
    while ((1 << (n + 1)) <= v) n++;
    return n;
}

int bicycle_spec_from_cfg(const cfg *c, bicycle_spec *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->channels_a = (int)cfg_int(c, "data", "channels_a");
    s->channels_b = (int)cfg_int(c, "data", "channels_b");
    s->size = (int)cfg_int(c, "data", "crop_size");
    s->nz = (int)cfg_int(c, "bicyclegan", "nz");
    s->ngf = (int)cfg_int(c, "bicyclegan", "ngf");
    s->ndf = (int)cfg_int(c, "bicyclegan", "ndf");
    s->nef = (int)cfg_int(c, "bicyclegan", "nef");
    s->num_downs = (int)cfg_int(c, "bicyclegan", "num_downs");
    s->z_all = !strcmp(cfg_str(c, "bicyclegan", "where_add"), "all");
    s->batch_norm = !strcmp(cfg_str(c, "bicyclegan", "norm"), "batch");
    s->dropout = cfg_bool(c, "bicyclegan", "dropout");
    s->lsgan = !strcmp(cfg_str(c, "bicyclegan", "gan_mode"), "lsgan");
    s->num_d = (int)cfg_int(c, "bicyclegan", "num_d");
    s->n_layers_d = (int)cfg_int(c, "bicyclegan", "n_layers_d");
    s->encoder = !strcmp(cfg_str(c, "bicyclegan", "encoder"), "resnet_small") ? BIC_E_SMALL : BIC_E_RESNET18;
    s->e_blocks = (int)cfg_int(c, "bicyclegan", "e_blocks");
    long batch = cfg_int(c, "train", "batch_size");
    if (batch < 2 || batch % 2) {
        set_err(err, errlen,
                "train.batch_size = %ld: BicycleGAN splits each batch in half between its cVAE-GAN and cLR-GAN "
                "branches (seed 000 section 4.4), so it must be even and at least 2",
                batch);
        return -1;
    }
    if (s->channels_a == 2 || s->channels_b == 2) {
        set_err(err, errlen, "data.channels_a / channels_b must be 1 or 3");
        return -1;
    }
    if (s->num_downs == 0) s->num_downs = log2_floor(s->size);
    int levels = s->z_all && s->num_downs < 6 ? 6 : s->num_downs; /* G_Unet_add_all has at least 6 levels */
    if (s->num_downs < 5 || s->size % (1 << levels)) {
        set_err(err, errlen,
                "bicyclegan.num_downs = %d with data.crop_size = %d: the U-Net needs at least 5 halvings (6 with "
                "where_add = all) and a side divisible by 2^halvings (0 picks log2(crop_size))",
                s->num_downs, s->size);
        return -1;
    }
    if (s->n_layers_d == 0) s->n_layers_d = s->size >= 256 ? 3 : 2; /* basic_256_multi / basic_128_multi */
    int side = s->size;
    for (int i = 0; i < s->num_d; i++, side = (side + 1) / 2)
        if (pix2pix_patchgan_side(side, s->n_layers_d) < 1) {
            set_err(err, errlen, "bicyclegan.n_layers_d = %d leaves no output position at scale %d (%dx%d)", s->n_layers_d,
                    i, side, side);
            return -1;
        }
    if (s->encoder == BIC_E_SMALL) {
        if (s->e_blocks == 0) s->e_blocks = log2_floor(s->size) - 3; /* resnet_256: 5, resnet_128: 4 */
        /* conv /2, then e_blocks - 1 blocks /2 each, then AvgPool2d(8): the map must be 8x8 */
        if (s->e_blocks < 2 || s->size != 8 << s->e_blocks) {
            set_err(err, errlen,
                    "bicyclegan.encoder = resnet_small with e_blocks = %d needs data.crop_size = %d (8 * 2^e_blocks: the "
                    "reference's AvgPool2d(8) must see an 8x8 map)",
                    s->e_blocks, 8 << (s->e_blocks > 0 ? s->e_blocks : 0));
            return -1;
        }
    } else if (s->size < 32) {
        set_err(err, errlen, "bicyclegan.encoder = resnet18 needs data.crop_size >= 32 (it halves the image 5 times)");
        return -1;
    } else {
        /* its last batch norms (training mode) see a batch half of side x side maps: one value per channel
         * has no variance (PyTorch refuses it too: "Expected more than 1 value per channel") */
        int side = s->size;
        for (int i = 0; i < 5; i++) side = (side + 1) / 2;
        if (batch / 2 * side * side < 2) {
            set_err(err, errlen,
                    "bicyclegan.encoder = resnet18 with data.crop_size = %d and train.batch_size = %ld: its last batch "
                    "norms would see one value per channel (%ld image of %dx%d per batch half); use train.batch_size "
                    ">= 4 or data.crop_size >= 64",
                    s->size, batch, batch / 2, side, side);
            return -1;
        }
    }
    if (cfg_int(c, "data", "load_size") < s->size) {
        set_err(err, errlen, "data.load_size = %ld is smaller than data.crop_size = %d", cfg_int(c, "data", "load_size"), s->size);
        return -1;
    }
    return 0;
}

void bicycle_build_generator(const bicycle_spec *s, seqnet *g, clg_ctx *cl) {
    seq_init(g, cl, "G");
    unet_spec u = {.input_nc = s->channels_a, .output_nc = s->channels_b, .num_downs = s->num_downs, .ngf = s->ngf,
                   .norm = s->batch_norm ? L_BN : L_IN, .use_dropout = s->dropout,
                   .z_mode = s->z_all ? UNET_Z_ALL : UNET_Z_INPUT, .nz = s->nz};
    graph_unet(g, &u);
    seq_build(g);
}

/* ---- the encoder ---- */

static int add_conv(net *p, const char *name, int out, int in, int k) {
    char n[128];
    snprintf(n, sizeof n, "%s.weight", name);
    int w = net_add(p, n, 4, (int[]){out, in, k, k});
    snprintf(n, sizeof n, "%s.bias", name);
    net_add(p, n, 1, (int[]){out});
    return w;
}

/* E_ResNet's channels after block n (n = 0: the first conv) */
static int small_ch(const bicycle_encoder *e, int n) { return e->nef * (n + 1 < 4 ? n + 1 : 4); }

void bicycle_build_encoder(const bicycle_spec *s, bicycle_encoder *e, clg_ctx *cl, unsigned long long seed) {
    memset(e, 0, sizeof *e);
    e->kind = s->encoder, e->nef = s->nef, e->in_c = s->channels_b, e->nz = s->nz, e->nb = s->e_blocks;
    if (e->kind == BIC_E_RESNET18) { /* torchvision's resnet18 features + fc (mu) and fcVar (log sigma^2) */
        seqnet *r = &e->rn;
        seq_init(r, cl, "E");
        graph_resnet18_features(r, s->channels_b);
        int gap = seq_last(r);
        seq_name(r, "fc");
        seq_linear(r, 512, s->nz, 1);
        int mu = seq_last(r);
        seq_from(r, gap);
        seq_name(r, "fcVar");
        seq_linear(r, 512, s->nz, 1);
        seq_cat(r, mu, seq_last(r));
        seq_build(r);
        if (seed) seq_init_weights(r, INIT_DCGAN, seed);
        e->params = &r->params;
        e->buffers = &r->buffers;
        return;
    }
    net *p = &e->p;
    e->bn = s->batch_norm;
    net_init(p, cl, "E");
    net_init(&e->buf, cl, "E");
    e->buf.requires_grad = 0;
    add_conv(p, "conv.0", e->nef, e->in_c, 4);
    char n[96];
    for (int b = 1; b < e->nb; b++) {
        int in = small_ch(e, b - 1), out = small_ch(e, b);
        for (int k = 0; e->bn && k < 2; k++) { /* BatchNorm2d(in) at conv.<b>.conv.0 and .3 */
            static const char *const pn[2] = {"weight", "bias"}, *const bn_[2] = {"running_mean", "running_var"};
            for (int j = 0; j < 2; j++) {
                snprintf(n, sizeof n, "conv.%d.conv.%d.%s", b, 3 * k, pn[j]);
                net_add(p, n, 1, (int[]){in});
                snprintf(n, sizeof n, "conv.%d.conv.%d.%s", b, 3 * k, bn_[j]);
                net_add(&e->buf, n, 1, (int[]){in});
            }
        }
        snprintf(n, sizeof n, "conv.%d.conv.2", b);
        add_conv(p, n, in, in, 3);
        snprintf(n, sizeof n, "conv.%d.conv.5.0", b);
        add_conv(p, n, out, in, 3);
        snprintf(n, sizeof n, "conv.%d.shortcut.1", b);
        add_conv(p, n, out, in, 1);
    }
    int last = small_ch(e, e->nb - 1);
    net_add(p, "fc.0.weight", 2, (int[]){e->nz, last});
    net_add(p, "fc.0.bias", 1, (int[]){e->nz});
    net_add(p, "fcVar.0.weight", 2, (int[]){e->nz, last});
    net_add(p, "fcVar.0.bias", 1, (int[]){e->nz});
    net_alloc(p);
    if (!e->bn) net_add(&e->buf, "none", 1, (int[]){1}); /* keeps the net valid; never saved */
    net_alloc(&e->buf);
    for (int i = 0; i < e->buf.np; i++) net_init_const(&e->buf, i, strstr(e->buf.p[i].name, "running_var") ? 1.0f : 0.0f);
    if (seed) /* the reference's 'normal' init: weights N(0, 0.02), biases 0, batch-norm weights N(1, 0.02) */
        for (int i = 0; i < p->np; i++) {
            int bn_w = strstr(p->p[i].name, ".conv.0.weight") || strstr(p->p[i].name, ".conv.3.weight");
            if (bn_w) net_init_normal(p, i, 1.0f, 0.02f, seed);
            else if (p->p[i].ndim == 1) net_init_const(p, i, 0.0f);
            else net_init_normal(p, i, 0.0f, 0.02f, seed);
        }
    e->params = p;
    e->buffers = e->bn ? &e->buf : NULL;
}

void bicycle_encoder_free(bicycle_encoder *e) {
    if (e->kind == BIC_E_RESNET18) {
        seq_free(&e->rn);
    } else {
        net_free(&e->p);
        net_free(&e->buf);
    }
}

/* parameter "<name>.weight" / ".bias" of the E_ResNet net as tape variables */
static void wb(tape *t, net *p, const char *name, int *w, int *b) {
    char n[128];
    snprintf(n, sizeof n, "%s.weight", name);
    int iw = net_find(p, n);
    snprintf(n, sizeof n, "%s.bias", name);
    int ib = net_find(p, n);
    if (iw < 0 || ib < 0) die("bicyclegan: E has no %s", name);
    *w = tape_param(t, p, iw), *b = tape_param(t, p, ib);
}

static int pconv(tape *t, net *p, const char *name, int x, int stride, int pad) {
    int w, b;
    wb(t, p, name, &w, &b);
    return op_conv2d(t, x, w, b, stride, pad, PAD_ZERO);
}

/* the norm module "conv.<b>.conv.<m>": BatchNorm2d, or InstanceNorm2d without affine */
static int enorm(bicycle_encoder *e, tape *t, int x, int b, int m, const seq_ctx *ctx) {
    if (!e->bn) return op_instancenorm(t, x, -1, -1, 1e-5f);
    char n[96];
    snprintf(n, sizeof n, "conv.%d.conv.%d.running_mean", b, m);
    int rm = net_find(&e->buf, n);
    snprintf(n, sizeof n, "conv.%d.conv.%d.running_var", b, m);
    int rv = net_find(&e->buf, n);
    snprintf(n, sizeof n, "conv.%d.conv.%d", b, m);
    int g, be;
    wb(t, &e->p, n, &g, &be);
    return op_batchnorm(t, x, g, be, net_tensor(&e->buf, rm), net_tensor(&e->buf, rv), ctx->training, 0.1f, 1e-5f);
}

int bicycle_encode(bicycle_encoder *e, tape *t, int x, const seq_ctx *ctx) {
    if (e->kind == BIC_E_RESNET18) return seq_forward(&e->rn, t, x, ctx);
    net *p = &e->p;
    char n[96];
    x = pconv(t, p, "conv.0", x, 2, 1);
    for (int b = 1; b < e->nb; b++) { /* BasicBlock: conv(x) + shortcut(x) */
        int h = op_leaky_relu(t, enorm(e, t, x, b, 0, ctx), 0.2f);
        snprintf(n, sizeof n, "conv.%d.conv.2", b);
        h = pconv(t, p, n, h, 1, 1);
        h = op_leaky_relu(t, enorm(e, t, h, b, 3, ctx), 0.2f);
        snprintf(n, sizeof n, "conv.%d.conv.5.0", b);
        h = op_avgpool2d(t, pconv(t, p, n, h, 1, 1), 2, 2); /* convMeanpool */
        snprintf(n, sizeof n, "conv.%d.shortcut.1", b);
        int sc = pconv(t, p, n, op_avgpool2d(t, x, 2, 2), 1, 0); /* meanpoolConv */
        x = op_add(t, h, sc);
    }
    x = op_avgpool2d(t, op_leaky_relu(t, x, 0.2f), 8, 8);
    int w, bb;
    wb(t, p, "fc.0", &w, &bb);
    int mu = op_linear(t, x, w, bb);
    wb(t, p, "fcVar.0", &w, &bb);
    int lv = op_linear(t, x, w, bb);
    return op_concat_channels(t, mu, lv);
}

/* ---- discriminators ---- */

void bicycle_build_disc(const bicycle_spec *s, bicycle_disc *d, clg_ctx *cl, const char *name) {
    d->n = s->num_d;
    for (int i = 0; i < d->n; i++) {
        char prefix[32];
        seq_init(&d->s[i], cl, name);
        if (d->n == 1) snprintf(prefix, sizeof prefix, "model.");
        else snprintf(prefix, sizeof prefix, "model_%d.", i);
        seq_set_prefix(&d->s[i], prefix);
        int ndf = (int)nearbyint(s->ndf / (double)(1 << i)); /* int(round(ndf / 2**i)): halves to even */
        /* D_NLayersMulti's convs all keep their bias; D sees B images only (conditional_D off) */
        pix2pix_patchgan(&d->s[i], s->channels_b, ndf, s->n_layers_d, s->batch_norm ? L_BN : L_IN, 1);
        seq_build(&d->s[i]);
    }
}

void bicycle_disc_free(bicycle_disc *d) {
    for (int i = 0; i < d->n; i++) seq_free(&d->s[i]);
}
