#include "gan.h"

#include <string.h>

#include "util.h"

int gan_spec_from_cfg(const cfg *c, gan_spec *s, int channels, int ncls, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->mlp = !strcmp(cfg_str(c, "gan", "arch"), "mlp");
    s->conditional = cfg_bool(c, "gan", "conditional");
    s->ncls = ncls;
    s->zdim = (int)cfg_int(c, "gan", "zdim");
    s->channels = channels;
    s->size = s->mlp ? 28 : 64;
    s->ngf = (int)cfg_int(c, "gan", "ngf");
    s->ndf = (int)cfg_int(c, "gan", "ndf");
    s->slope = (float)cfg_float(c, "gan", "slope");
    s->dropout = (float)cfg_float(c, "gan", "dropout");
    const char *loss = cfg_str(c, "gan", "loss");
    s->loss = !strcmp(loss, "wgan") ? GAN_WGAN : !strcmp(loss, "wgan-gp") ? GAN_WGAN_GP : GAN_VANILLA;
    s->d_batchnorm = cfg_bool(c, "gan", "d_batchnorm");
    if (s->loss == GAN_WGAN_GP && s->d_batchnorm && !s->mlp) {
        set_err(err, errlen, "gan.loss = wgan-gp needs gan.d_batchnorm = false (the penalty is per sample; batch norm couples samples)");
        return -1;
    }
    return 0;
}

void gan_build(const gan_spec *s, seqnet *g, seqnet *d, clg_ctx *cl) {
    int cond = s->conditional ? s->ncls : 0;
    seq_init(g, cl, "G");
    seq_init(d, cl, "D");
    if (s->mlp) {
        int pix = s->channels * s->size * s->size;
        seq_linear(g, s->zdim + cond, 256, 1);
        seq_act(g, L_LRELU, s->slope);
        seq_linear(g, 256, 512, 1);
        seq_act(g, L_LRELU, s->slope);
        seq_linear(g, 512, 1024, 1);
        seq_act(g, L_LRELU, s->slope);
        seq_linear(g, 1024, pix, 1);
        seq_act(g, L_TANH, 0);
        seq_reshape(g, s->channels, s->size, s->size);
        seq_linear(d, pix + cond, 1024, 1);
        seq_act(d, L_LRELU, s->slope);
        seq_act(d, L_DROPOUT, s->dropout);
        seq_linear(d, 1024, 512, 1);
        seq_act(d, L_LRELU, s->slope);
        seq_act(d, L_DROPOUT, s->dropout);
        seq_linear(d, 512, 256, 1);
        seq_act(d, L_LRELU, s->slope);
        seq_act(d, L_DROPOUT, s->dropout);
        seq_linear(d, 256, 1, 1);
    } else {
        /* seed 003 table 3: 4x4 from z, then x2 four times to 64x64; no conv bias before batch norm */
        int f = s->ngf;
        seq_tconv(g, s->zdim + cond, f * 8, 4, 1, 0, 0, 0);
        seq_bn(g, f * 8);
        seq_act(g, L_RELU, 0);
        seq_tconv(g, f * 8, f * 4, 4, 2, 1, 0, 0);
        seq_bn(g, f * 4);
        seq_act(g, L_RELU, 0);
        seq_tconv(g, f * 4, f * 2, 4, 2, 1, 0, 0);
        seq_bn(g, f * 2);
        seq_act(g, L_RELU, 0);
        seq_tconv(g, f * 2, f, 4, 2, 1, 0, 0);
        seq_bn(g, f);
        seq_act(g, L_RELU, 0);
        seq_tconv(g, f, s->channels, 4, 2, 1, 0, 0);
        seq_act(g, L_TANH, 0);
        /* table 4: 64 -> 32 -> 16 -> 8 -> 4 -> 1 */
        int e = s->ndf, bn = s->d_batchnorm;
        seq_conv(d, s->channels + cond, e, 4, 2, 1, 0, 0);
        seq_act(d, L_LRELU, s->slope);
        for (int i = 1; i <= 3; i++) {
            seq_conv(d, e << (i - 1), e << i, 4, 2, 1, !bn, 0);
            if (bn) seq_bn(d, e << i);
            seq_act(d, L_LRELU, s->slope);
        }
        seq_conv(d, e * 8, 1, 4, 1, 0, 0, 0); /* logits: the sigmoid lives in the loss */
    }
    seq_build(g);
    seq_build(d);
}

int gan_generate(const gan_spec *s, seqnet *g, tape *t, int z, int y, const seq_ctx *ctx) {
    int in = s->conditional ? op_concat_channels(t, z, y) : z;
    return seq_forward(g, t, in, ctx);
}

int gan_discriminate(const gan_spec *s, seqnet *d, tape *t, int x, int y, const seq_ctx *ctx) {
    if (s->mlp && s->conditional) {
        tensor xv = tape_val(t, x);
        x = op_concat_channels(t, op_reshape(t, x, xv.n, trow(xv), 1, 1), y);
    } else if (s->conditional) {
        x = op_concat_channels(t, x, y);
    }
    return seq_forward(d, t, x, ctx);
}
