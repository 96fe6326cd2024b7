/* pix2pix's networks and INI keys (see pix2pix.h); its training step is models/pix2pix_train.c. */
#include "pix2pix.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void pix2pix_patchgan(seqnet *d, int in, int ndf, int n_layers, layer_kind norm, int bias) {
    int mult = 1;
    seq_conv(d, in, ndf, 4, 2, 1, 1, PAD_ZERO);
    seq_act(d, L_LRELU, 0.2f);
    for (int n = 1; n <= n_layers; n++) { /* the last of these has stride 1 */
        int prev = mult;
        mult = 1 << n < 8 ? 1 << n : 8;
        seq_conv(d, ndf * prev, ndf * mult, 4, n < n_layers ? 2 : 1, 1, bias, PAD_ZERO);
        if (norm == L_BN) seq_bn(d, ndf * mult);
        else seq_instnorm(d, ndf * mult, 0);
        seq_act(d, L_LRELU, 0.2f);
    }
    seq_conv(d, ndf * mult, 1, 4, 1, 1, 1, PAD_ZERO);
}

int pix2pix_patchgan_side(int size, int n_layers) {
    int side = size;
    for (int i = 0; i < n_layers; i++) side = (side + 2 - 4) / 2 + 1;
    return side - 2;
}

/* The U-Net's depth for a side: log2(size), so the innermost block sees 1x1 (8 for 256, 7 for 128). */
static int downs_for(int size) {
    int n = 0;
    while ((1 << (n + 1)) <= size) n++;
    return n;
}

int pix2pix_spec_from_cfg(const cfg *c, pix2pix_spec *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->channels_a = (int)cfg_int(c, "data", "channels_a");
    s->channels_b = (int)cfg_int(c, "data", "channels_b");
    s->ngf = (int)cfg_int(c, "pix2pix", "ngf");
    s->ndf = (int)cfg_int(c, "pix2pix", "ndf");
    s->num_downs = (int)cfg_int(c, "pix2pix", "num_downs");
    s->n_layers_d = (int)cfg_int(c, "pix2pix", "n_layers_d");
    s->batch_norm = !strcmp(cfg_str(c, "pix2pix", "norm"), "batch");
    s->dropout = cfg_bool(c, "pix2pix", "dropout");
    s->lsgan = !strcmp(cfg_str(c, "pix2pix", "gan_mode"), "lsgan");
    s->size = (int)cfg_int(c, "data", "crop_size");
    if (s->channels_a == 2 || s->channels_b == 2) {
        set_err(err, errlen, "data.channels_a / channels_b must be 1 or 3");
        return -1;
    }
    if (s->num_downs == 0) s->num_downs = downs_for(s->size);
    if (s->num_downs < 5 || s->size % (1 << s->num_downs)) {
        set_err(err, errlen,
                "pix2pix.num_downs = %d with data.crop_size = %d: the U-Net needs at least 5 halvings and a side "
                "divisible by 2^num_downs (0 picks log2(crop_size): 6 for 64, 7 for 128, 8 for 256)",
                s->num_downs, s->size);
        return -1;
    }
    if (cfg_int(c, "data", "load_size") < s->size) {
        set_err(err, errlen, "data.load_size = %ld is smaller than data.crop_size = %d", cfg_int(c, "data", "load_size"), s->size);
        return -1;
    }
    if (pix2pix_patchgan_side(s->size, s->n_layers_d) < 1) {
        set_err(err, errlen, "pix2pix.n_layers_d = %d leaves no output position at %dx%d", s->n_layers_d, s->size, s->size);
        return -1;
    }
    return 0;
}

void pix2pix_build_generator(const pix2pix_spec *s, seqnet *g, clg_ctx *cl) {
    seq_init(g, cl, "G");
    unet_spec u = {.input_nc = s->channels_a, .output_nc = s->channels_b, .num_downs = s->num_downs, .ngf = s->ngf,
                   .norm = s->batch_norm ? L_BN : L_IN, .use_dropout = s->dropout, .z_mode = UNET_Z_NONE};
    graph_unet(g, &u);
    seq_build(g);
}

void pix2pix_build_discriminator(const pix2pix_spec *s, seqnet *d, clg_ctx *cl) {
    seq_init(d, cl, "D");
    seq_set_prefix(d, "model.");
    /* use_bias = norm_layer == InstanceNorm2d, as the reference */
    pix2pix_patchgan(d, s->channels_a + s->channels_b, s->ndf, s->n_layers_d, s->batch_norm ? L_BN : L_IN, !s->batch_norm);
    seq_build(d);
}
