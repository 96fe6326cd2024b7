/* CycleGAN's INI keys and networks: the ResNet generator and the PatchGAN discriminator, layer for
 * layer as pytorch-CycleGAN-and-pix2pix's ResnetGenerator / NLayerDiscriminator with instance norm
 * (affine off, so convolutions keep their biases), so parameter names match its state_dict. */
#include "cyclegan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"



int cyclegan_spec_from_cfg(const cfg *c, cyclegan_spec *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->channels_a = (int)cfg_int(c, "data", "channels_a");
    s->channels_b = (int)cfg_int(c, "data", "channels_b");
    s->ngf = (int)cfg_int(c, "cyclegan", "ngf");
    s->ndf = (int)cfg_int(c, "cyclegan", "ndf");
    s->n_blocks = (int)cfg_int(c, "cyclegan", "n_blocks");
    s->n_layers_d = (int)cfg_int(c, "cyclegan", "n_layers_d");
    s->up_tconv = !strcmp(cfg_str(c, "cyclegan", "upsample"), "tconv");
    s->lsgan = !strcmp(cfg_str(c, "cyclegan", "gan_mode"), "lsgan");
    s->size = (int)cfg_int(c, "data", "crop_size");
    if (s->channels_a == 2 || s->channels_b == 2) {
        set_err(err, errlen, "data.channels_a / channels_b must be 1 or 3");
        return -1;
    }
    if (s->size % 4) {
        set_err(err, errlen, "data.crop_size = %d: the generator halves the size twice, so it must be a multiple of 4", s->size);
        return -1;
    }
    if (cfg_int(c, "data", "load_size") < s->size) {
        set_err(err, errlen, "data.load_size = %ld is smaller than data.crop_size = %d", cfg_int(c, "data", "load_size"), s->size);
        return -1;
    }
    if (cfg_float(c, "cyclegan", "lambda_identity") > 0 && s->channels_a != s->channels_b) {
        set_err(err, errlen, "cyclegan.lambda_identity > 0 needs data.channels_a = data.channels_b (G_A(B) must be a B image)");
        return -1;
    }
    /* the PatchGAN's output must keep at least one position: n_layers_d halvings then two 4x4 valid-ish convs */
    int side = s->size;
    for (int i = 0; i < s->n_layers_d; i++) side = (side + 2 - 4) / 2 + 1;
    side = side - 1 - 1;
    if (side < 1) {
        set_err(err, errlen, "cyclegan.n_layers_d = %d leaves no output position at %dx%d (lower it or train larger images)",
                s->n_layers_d, s->size, s->size);
        return -1;
    }
    return 0;
}

/* Conv-InstanceNorm-ReLU with the reference's module indices; reflect: a ReflectionPad2d module first. */
static void conv_in_relu(seqnet *g, int in, int out, int k, int stride, int pad, int reflect) {
    if (reflect) seq_skip_index(g);
    seq_conv(g, in, out, k, stride, pad, 1, reflect ? PAD_REFLECT : PAD_ZERO);
    seq_instnorm(g, out, 0);
    seq_act(g, L_RELU, 0);
}

void cyclegan_build_generator(const cyclegan_spec *s, seqnet *g, clg_ctx *cl, const char *name, int in, int out) {
    seq_init(g, cl, name);
    seq_set_prefix(g, "model.");
    int f = s->ngf;
    conv_in_relu(g, in, f, 7, 1, 3, 1);    /* c7s1-ngf */
    conv_in_relu(g, f, 2 * f, 3, 2, 1, 0); /* d(2 ngf) */
    conv_in_relu(g, 2 * f, 4 * f, 3, 2, 1, 0); /* d(4 ngf) */
    for (int i = 0; i < s->n_blocks; i++) {    /* R(4 ngf): pad-conv-IN-ReLU-pad-conv-IN, + x */
        seq_res_begin(g);
        conv_in_relu(g, 4 * f, 4 * f, 3, 1, 1, 1);
        seq_skip_index(g);
        seq_conv(g, 4 * f, 4 * f, 3, 1, 1, 1, PAD_REFLECT);
        seq_instnorm(g, 4 * f, 0);
        seq_res_end(g);
    }
    for (int m = 4; m > 1; m /= 2) { /* u(2 ngf), u(ngf) */
        if (s->up_tconv) {
            seq_tconv(g, m * f, m * f / 2, 3, 2, 1, 1, 1);
            seq_instnorm(g, m * f / 2, 0);
            seq_act(g, L_RELU, 0);
        } else {
            seq_act(g, L_UPSAMPLE, 0);
            conv_in_relu(g, m * f, m * f / 2, 3, 1, 1, 0);
        }
    }
    seq_skip_index(g); /* c7s1-out, tanh */
    seq_conv(g, f, out, 7, 1, 3, 1, PAD_REFLECT);
    seq_act(g, L_TANH, 0);
    seq_build(g);
}

void cyclegan_build_discriminator(const cyclegan_spec *s, seqnet *d, clg_ctx *cl, const char *name, int in) {
    seq_init(d, cl, name);
    seq_set_prefix(d, "model.");
    int f = s->ndf, mult = 1;
    seq_conv(d, in, f, 4, 2, 1, 1, PAD_ZERO);
    seq_act(d, L_LRELU, 0.2f);
    for (int n = 1; n <= s->n_layers_d; n++) { /* the last of these has stride 1 */
        int prev = mult;
        mult = 1 << n < 8 ? 1 << n : 8;
        seq_conv(d, f * prev, f * mult, 4, n < s->n_layers_d ? 2 : 1, 1, 1, PAD_ZERO);
        seq_instnorm(d, f * mult, 0);
        seq_act(d, L_LRELU, 0.2f);
    }
    seq_conv(d, f * mult, 1, 4, 1, 1, 1, PAD_ZERO); /* one logit per 70x70 patch */
    seq_build(d);
}

static const char *const meta_keys[CYCLEGAN_META_N] = {
    "cyclegan.channels_a", "cyclegan.channels_b", "cyclegan.ngf", "cyclegan.ndf",
    "cyclegan.n_blocks",   "cyclegan.n_layers_d", "cyclegan.up_tconv", "cyclegan.size",
};

static void spec_fields(cyclegan_spec *s, int *f[CYCLEGAN_META_N]) {
    int *all[CYCLEGAN_META_N] = {&s->channels_a, &s->channels_b, &s->ngf,      &s->ndf,
                                 &s->n_blocks,   &s->n_layers_d, &s->up_tconv, &s->size};
    memcpy(f, all, sizeof all);
}

void cyclegan_spec_meta(const cyclegan_spec *s, ckpt_meta *meta) {
    cyclegan_spec copy = *s;
    int *fields[CYCLEGAN_META_N];
    spec_fields(&copy, fields);
    ckpt_meta_add_ints(meta, meta_keys, fields, CYCLEGAN_META_N);
}

int cyclegan_spec_from_meta(const st_file *f, const char *path, cyclegan_spec *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->lsgan = 1;
    int *fields[CYCLEGAN_META_N];
    spec_fields(s, fields);
    if (ckpt_meta_read_ints(f, path, meta_keys, fields, CYCLEGAN_META_N, err, errlen) != 0) return -1;
    if (s->channels_a < 1 || s->channels_a > 3 || s->channels_b < 1 || s->channels_b > 3 || s->ngf < 1) {
        set_err(err, errlen, "%s: checkpoint metadata describes no valid generator", path);
        return -1;
    }
    return 0;
}
