/* LPIPS v0.1 with the AlexNet trunk (the lpips package's LPIPS(net='alex', version='0.1')): inputs in
 * [-1, 1] through the ScalingLayer ((x - shift) / scale per channel), torchvision's alexnet.features
 * split after relu1..relu5 (64, 192, 384, 256, 256 channels), each tap unit-normalised over the channels
 * (lpips.normalize_tensor, eps 1e-10), the squared difference of the two images' taps, a 1x1 conv head
 * lin0..lin4 (one output, no bias), the spatial mean, summed over the five layers: {N} distances.
 * Names as lpips' own state_dict: "net.slice1.0.weight" (features.0), "net.slice2.3.weight" (features.3),
 * "net.slice3.6", "net.slice4.8", "net.slice5.10", and "lin0.model.1.weight" .. "lin4.model.1.weight";
 * tools/convert_lpips.py writes them from torchvision's alexnet and lpips' weights/v0.1/alex.pth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "featnet.h"
#include "featnet_weights.h"
#include "ops_lpips.h"
#include "seq.h"
#include "util.h"

#define CONVERTER "tools/convert_lpips.py"
#define NTAP 5

static const int tap_ch[NTAP] = {64, 192, 384, 256, 256};
/* lpips.pretrained_networks.ScalingLayer */
static const float shift[3] = {-.030f, -.088f, -.188f}, scale[3] = {.458f, .448f, .450f};

typedef struct {
    seqnet scaling;       /* the ScalingLayer as an evaluation-mode batch norm (eps 0), set here */
    seqnet slice[NTAP];   /* net.slice1 .. net.slice5 */
    net lin;              /* lin0..lin4.model.1.weight {1, C, 1, 1} */
} lpips_net;

/* torchvision alexnet.features, layers [from, to) as lpips' slices keep them: Conv2d indices 0, 3, 6, 8, 10. */
static void build_slice(seqnet *s, int k) {
    char n[48];
    static const struct { int idx, in, out, ks, stride, pad, pool_before; } conv[NTAP] = {
        {0, 3, 64, 11, 4, 2, 0}, {3, 64, 192, 5, 1, 2, 1}, {6, 192, 384, 3, 1, 1, 1}, {8, 384, 256, 3, 1, 1, 0},
        {10, 256, 256, 3, 1, 1, 0}};
    if (conv[k].pool_before) seq_maxpool(s, 3, 2, 0); /* features.2 / features.5 */
    snprintf(n, sizeof n, "net.slice%d.%d", k + 1, conv[k].idx);
    seq_name(s, n);
    seq_conv(s, conv[k].in, conv[k].out, conv[k].ks, conv[k].stride, conv[k].pad, 1, PAD_ZERO);
    seq_act(s, L_RELU, 0);
}

/* The five taps of one image batch x. */
static void taps(lpips_net *m, tape *t, int x, int *out) {
    seq_ctx ev = {.training = 0};
    int v = seq_forward(&m->scaling, t, x, &ev);
    for (int k = 0; k < NTAP; k++) out[k] = v = seq_forward(&m->slice[k], t, v, &ev);
}

static int lpips_distance(featnet *f, tape *t, int a, int b) {
    lpips_net *m = f->impl;
    tensor av = tape_val(t, a), bv = tape_val(t, b);
    if (!tsame_shape(av, bv) || av.c != 3 || av.h < 32 || av.w < 32)
        die("lpips: inputs {%d, %d, %d, %d} and {%d, %d, %d, %d}: one shape, 3 channels, at least 32x32", av.n, av.c, av.h,
            av.w, bv.n, bv.c, bv.h, bv.w);
    int ta[NTAP], tb[NTAP];
    taps(m, t, a, ta);
    taps(m, t, b, tb);
    int sum = -1;
    for (int k = 0; k < NTAP; k++) {
        int d = op_lpips_diff(t, ta[k], tb[k], 1e-10f);
        int l = op_conv2d(t, d, tape_param(t, &m->lin, k), -1, 1, 0, PAD_ZERO); /* {N, 1, h, w} */
        l = op_global_avgpool(t, l);                                             /* spatial_average */
        sum = sum < 0 ? l : op_add(t, sum, l);
    }
    return sum; /* {N, 1, 1, 1} */
}

static void lpips_free(featnet *f) {
    lpips_net *m = f->impl;
    if (m) {
        seq_free(&m->scaling);
        for (int k = 0; k < NTAP; k++) seq_free(&m->slice[k]);
        net_free(&m->lin);
        free(m);
    }
    f->impl = NULL;
}

/* (x - shift) / scale as batch norm in evaluation mode: weight 1, bias 0, mean shift, var scale^2, eps 0. */
static void set_scaling(seqnet *s) {
    float *p = xcalloc(s->params.total, sizeof *p), *b = xcalloc(s->buffers.total, sizeof *b);
    const layer *l = &s->L[0];
    for (int c = 0; c < 3; c++) {
        p[s->params.p[l->w_idx].off + c] = 1.0f;
        b[s->buffers.p[l->rm_idx].off + c] = shift[c];
        b[s->buffers.p[l->rv_idx].off + c] = scale[c] * scale[c];
    }
    net_upload(&s->params, p);
    net_upload(&s->buffers, b);
    free(p);
    free(b);
}

int featnet_open_lpips(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    st_file sf;
    if (st_load(weights, &sf, err, errlen) != 0) return -1;
    lpips_net *m = xcalloc(1, sizeof *m);
    f->impl = m;
    seq_init(&m->scaling, cl, "lpips_scaling");
    seq_name(&m->scaling, "scaling_layer");
    seq_bn(&m->scaling, 3);
    m->scaling.L[0].f = 0.0f; /* exactly (x - shift) / sqrt(scale^2) */
    seq_build(&m->scaling);
    set_scaling(&m->scaling);
    net *nets[2 * NTAP + 1];
    int nn = 0;
    for (int k = 0; k < NTAP; k++) {
        char n[32];
        snprintf(n, sizeof n, "lpips_slice%d", k + 1);
        seq_init(&m->slice[k], cl, n);
        build_slice(&m->slice[k], k);
        seq_build(&m->slice[k]);
        nets[nn++] = &m->slice[k].params; /* their buffer nets hold only seq_build's placeholder */
    }
    net_init(&m->lin, cl, "lpips_lin");
    for (int k = 0; k < NTAP; k++) {
        char n[32];
        snprintf(n, sizeof n, "lin%d.model.1.weight", k);
        net_add(&m->lin, n, 4, (int[]){1, tap_ch[k], 1, 1});
    }
    net_alloc(&m->lin);
    nets[nn++] = &m->lin;
    int rc = featnet_fill_nets(&sf, weights, CONVERTER, nets, nn, err, errlen);
    st_free(&sf);
    if (rc != 0) {
        lpips_free(f);
        return -1;
    }
    f->kind = "lpips";
    f->describe = "LPIPS v0.1 (AlexNet)";
    f->metric_prefix = "";
    /* The images' own size, as the lpips package measures (no resize; seed 000's 0.143 is on its 128x128
     * samples). AlexNet's strides leave nothing of a side under 32 (28x28 Fashion-MNIST). */
    f->in_c = 3, f->in_h = 0, f->in_w = 0, f->min_side = 32;
    f->in_lo = -1.0f, f->in_hi = 1.0f;
    f->nfeat = 0, f->nclass = 0;
    f->forward = NULL;
    f->distance = lpips_distance;
    f->free = lpips_free;
    return 0;
}
