/* Inception-v3 as pytorch-fid's FID network (pytorch_fid/inception.py, fid_inception_v3): torchvision's
 * Inception3 with 1008 classes, no auxiliary head, Mixed_5b..5d = FIDInceptionA, 6b..6e = FIDInceptionC,
 * 7b = FIDInceptionE_1, 7c = FIDInceptionE_2 (their branch average pools do not count the padding; 7c's
 * branch pool is a 3x3 max pool, stride 1, padding 1). Every BasicConv2d is conv (no bias) + BatchNorm
 * (eps 0.001, running statistics) + ReLU. Input {N, 3, 299, 299} in [-1, 1] (pytorch-fid's
 * normalize_input); features: the 2048 values after the global average pool (pytorch-fid's pool3, FID);
 * logits: fc.weight times them, without fc.bias (the 1008 classes of the original TF graph), as the
 * Inception Score is defined: improved-gan's inception_score.py multiplies pool3 by the weight of
 * "softmax/logits/MatMul" only, and torch-fidelity and torchmetrics take "logits_unbiased". The batch
 * norms are folded into their convs when the weights are read (load_trunk). Names as the state_dict
 * ("Conv2d_1a_3x3.conv.weight", "Mixed_6b.branch7x7_2.bn.running_mean", "fc.weight"), written by
 * tools/convert_inception.py. A file converted from torchvision's ImageNet weights (metadata
 * inception.variant = "torchvision") builds pytorch-fid's use_fid_inception=False network instead:
 * torchvision's InceptionA/C/E (average pools that count the padding, Mixed_7c's too), 1000 classes;
 * its figures are printed as torchvision-FID and torchvision-IS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "featnet.h"
#include "featnet_weights.h"
#include "seq.h"
#include "util.h"

#define CONVERTER "tools/convert_inception.py"

#define NCLASS 1008 /* the TF graph's classes (1000 of ImageNet and 8 unused) */
#define BN_EPS 1e-3 /* BasicConv2d's BatchNorm2d(eps=0.001) */

typedef struct {
    seqnet trunk; /* input -> {N, 2048, 1, 1} */
    seqnet head;  /* fc without its bias: {N, 2048, 1, 1} -> {N, nclass, 1, 1} */
} inception;

/* BasicConv2d "<block>.<name>" reading value x: a kh x kw conv (square ones through op_conv2d), BN, ReLU.
 * The batch norm runs on its running statistics only, so it is folded into the conv (load_trunk): the net
 * holds "<name>.conv.weight" scaled per output channel and a bias "<name>.conv.bias" that the file does
 * not have; three tensors per layer become two, and a third of the memory traffic goes. */
static int basic(seqnet *s, const char *block, const char *name, int x, int in, int out, int kh, int kw, int stride,
                 int ph, int pw) {
    char n[128];
    seq_from(s, x);
    snprintf(n, sizeof n, "%s%s%s.conv", block, *block ? "." : "", name);
    seq_name(s, n);
    if (kh == kw && ph == pw) seq_conv(s, in, out, kh, stride, ph, 1, PAD_ZERO);
    else seq_conv_rect(s, in, out, kh, kw, stride, ph, pw, 1);
    seq_act(s, L_RELU, 0);
    return seq_last(s);
}
static int conv1(seqnet *s, const char *b, const char *name, int x, int in, int out) {
    return basic(s, b, name, x, in, out, 1, 1, 1, 0, 0);
}

/* branch_pool of the FID blocks: BasicConv2d(in, out, 1) of F.avg_pool2d(x, 3, 1, 1,
 * count_include_pad=False) (count_pad: torchvision's, which counts the padding), computed as the 1x1
 * conv, then the pool, then the batch norm's affine map (eps 0.001, running statistics) and ReLU. A 1x1
 * conv mixes channels at each pixel and the pool averages each channel over a window with a divisor
 * that depends only on the pixel, so the two commute; pooling `out` channels instead of `in` (32..192
 * instead of 192..2048) does a sixth to a quarter of the pooling work. The conv stays unfolded
 * ("<name>.conv.weight" as in the file). */
static int pool_branch(seqnet *s, const char *b, int x, int in, int out, int count_pad) {
    char n[128];
    seq_from(s, x);
    snprintf(n, sizeof n, "%s.branch_pool.conv", b);
    seq_name(s, n);
    seq_conv(s, in, out, 1, 1, 0, 0, PAD_ZERO);
    if (count_pad) seq_avgpool_incl(s, 3, 1, 1); /* torchvision's blocks count the padding */
    else seq_avgpool_pad(s, 3, 1, 1);
    snprintf(n, sizeof n, "%s.branch_pool.bn", b);
    seq_name(s, n);
    seq_bn(s, out);
    s->L[seq_last(s)].f = (float)BN_EPS;
    seq_act(s, L_RELU, 0);
    return seq_last(s);
}

static int cat4(seqnet *s, int a, int b, int c, int d) {
    int v = seq_cat(s, seq_cat(s, a, b), c);
    return d >= 0 ? seq_cat(s, v, d) : v;
}

static int block_a(seqnet *s, const char *b, int x, int in, int pool_features, int tv) { /* FIDInceptionA */
    int b1 = conv1(s, b, "branch1x1", x, in, 64);
    int b5 = conv1(s, b, "branch5x5_1", x, in, 48);
    b5 = basic(s, b, "branch5x5_2", b5, 48, 64, 5, 5, 1, 2, 2);
    int b3 = conv1(s, b, "branch3x3dbl_1", x, in, 64);
    b3 = basic(s, b, "branch3x3dbl_2", b3, 64, 96, 3, 3, 1, 1, 1);
    b3 = basic(s, b, "branch3x3dbl_3", b3, 96, 96, 3, 3, 1, 1, 1);
    int bp = pool_branch(s, b, x, in, pool_features, tv);
    return cat4(s, b1, b5, b3, bp);
}

static int block_b(seqnet *s, const char *b, int x, int in) { /* InceptionB (Mixed_6a) */
    int b3 = basic(s, b, "branch3x3", x, in, 384, 3, 3, 2, 0, 0);
    int bd = conv1(s, b, "branch3x3dbl_1", x, in, 64);
    bd = basic(s, b, "branch3x3dbl_2", bd, 64, 96, 3, 3, 1, 1, 1);
    bd = basic(s, b, "branch3x3dbl_3", bd, 96, 96, 3, 3, 2, 0, 0);
    seq_from(s, x);
    seq_maxpool(s, 3, 2, 0);
    return cat4(s, b3, bd, seq_last(s), -1);
}

static int block_c(seqnet *s, const char *b, int x, int in, int c7, int tv) { /* FIDInceptionC */
    int b1 = conv1(s, b, "branch1x1", x, in, 192);
    int b7 = conv1(s, b, "branch7x7_1", x, in, c7);
    b7 = basic(s, b, "branch7x7_2", b7, c7, c7, 1, 7, 1, 0, 3);
    b7 = basic(s, b, "branch7x7_3", b7, c7, 192, 7, 1, 1, 3, 0);
    int bd = conv1(s, b, "branch7x7dbl_1", x, in, c7);
    bd = basic(s, b, "branch7x7dbl_2", bd, c7, c7, 7, 1, 1, 3, 0);
    bd = basic(s, b, "branch7x7dbl_3", bd, c7, c7, 1, 7, 1, 0, 3);
    bd = basic(s, b, "branch7x7dbl_4", bd, c7, c7, 7, 1, 1, 3, 0);
    bd = basic(s, b, "branch7x7dbl_5", bd, c7, 192, 1, 7, 1, 0, 3);
    int bp = pool_branch(s, b, x, in, 192, tv);
    return cat4(s, b1, b7, bd, bp);
}

static int block_d(seqnet *s, const char *b, int x, int in) { /* InceptionD (Mixed_7a) */
    int b3 = conv1(s, b, "branch3x3_1", x, in, 192);
    b3 = basic(s, b, "branch3x3_2", b3, 192, 320, 3, 3, 2, 0, 0);
    int b7 = conv1(s, b, "branch7x7x3_1", x, in, 192);
    b7 = basic(s, b, "branch7x7x3_2", b7, 192, 192, 1, 7, 1, 0, 3);
    b7 = basic(s, b, "branch7x7x3_3", b7, 192, 192, 7, 1, 1, 3, 0);
    b7 = basic(s, b, "branch7x7x3_4", b7, 192, 192, 3, 3, 2, 0, 0);
    seq_from(s, x);
    seq_maxpool(s, 3, 2, 0);
    return cat4(s, b3, b7, seq_last(s), -1);
}

/* FIDInceptionE_1 (max_pool 0) and FIDInceptionE_2 (max_pool 1: the branch pool is a 3x3 max pool);
 * with tv, torchvision's InceptionE (max_pool 0). */
static int block_e(seqnet *s, const char *b, int x, int in, int max_pool, int tv) {
    int b1 = conv1(s, b, "branch1x1", x, in, 320);
    int b3 = conv1(s, b, "branch3x3_1", x, in, 384);
    int b3a = basic(s, b, "branch3x3_2a", b3, 384, 384, 1, 3, 1, 0, 1);
    int b3b = basic(s, b, "branch3x3_2b", b3, 384, 384, 3, 1, 1, 1, 0);
    b3 = seq_cat(s, b3a, b3b);
    int bd = conv1(s, b, "branch3x3dbl_1", x, in, 448);
    bd = basic(s, b, "branch3x3dbl_2", bd, 448, 384, 3, 3, 1, 1, 1);
    int bda = basic(s, b, "branch3x3dbl_3a", bd, 384, 384, 1, 3, 1, 0, 1);
    int bdb = basic(s, b, "branch3x3dbl_3b", bd, 384, 384, 3, 1, 1, 1, 0);
    bd = seq_cat(s, bda, bdb);
    int bp;
    if (max_pool) {
        seq_from(s, x);
        seq_maxpool(s, 3, 1, 1);
        bp = conv1(s, b, "branch_pool", seq_last(s), in, 192);
    } else {
        bp = pool_branch(s, b, x, in, 192, tv);
    }
    return cat4(s, b1, b3, bd, bp);
}

/* pytorch-fid's blocks 0..3 up to pool3: {N, 3, H, W} -> {N, 2048, 1, 1}; tv: with torchvision's
 * InceptionA, C and E instead of the FID blocks (pytorch-fid's use_fid_inception=False). */
static void build_trunk(seqnet *s, int tv) {
    int x = basic(s, "", "Conv2d_1a_3x3", SEQ_INPUT, 3, 32, 3, 3, 2, 0, 0);
    x = basic(s, "", "Conv2d_2a_3x3", x, 32, 32, 3, 3, 1, 0, 0);
    x = basic(s, "", "Conv2d_2b_3x3", x, 32, 64, 3, 3, 1, 1, 1);
    seq_maxpool(s, 3, 2, 0);
    x = basic(s, "", "Conv2d_3b_1x1", seq_last(s), 64, 80, 1, 1, 1, 0, 0);
    x = basic(s, "", "Conv2d_4a_3x3", x, 80, 192, 3, 3, 1, 0, 0);
    seq_maxpool(s, 3, 2, 0);
    x = block_a(s, "Mixed_5b", seq_last(s), 192, 32, tv);
    x = block_a(s, "Mixed_5c", x, 256, 64, tv);
    x = block_a(s, "Mixed_5d", x, 288, 64, tv);
    x = block_b(s, "Mixed_6a", x, 288);
    x = block_c(s, "Mixed_6b", x, 768, 128, tv);
    x = block_c(s, "Mixed_6c", x, 768, 160, tv);
    x = block_c(s, "Mixed_6d", x, 768, 160, tv);
    x = block_c(s, "Mixed_6e", x, 768, 192, tv);
    x = block_d(s, "Mixed_7a", x, 768);
    x = block_e(s, "Mixed_7b", x, 1280, 0, tv);
    x = block_e(s, "Mixed_7c", x, 2048, !tv, tv);
    seq_from(s, x);
    seq_global_avgpool(s);
}

/* The trunk's parameters from the file. A "<X>.conv.weight" followed by its folded "<X>.conv.bias" is
 * the file's conv weight and "<X>.bn.*" (eps BN_EPS) folded: w' = w * g / sqrt(v + eps) per output
 * channel, b' = beta - mean * g / sqrt(v + eps), in double. Every other parameter (the unfolded
 * branch_pool convs and their batch norms) and every buffer is the file's tensor of its name. */
static int load_trunk(const st_file *f, const char *path, seqnet *s, char *err, size_t errlen) {
    net *p = &s->params;
    float *all = xcalloc(p->total, sizeof *all);
    int rc = 0;
    for (int i = 0; i < p->np && !rc; i++) {
        const param *w = &p->p[i];
        size_t len = strlen(w->name);
        const param *b = i + 1 < p->np ? &p->p[i + 1] : NULL; /* seq_conv adds the bias right after */
        char pre[128], nm[160];
        snprintf(pre, sizeof pre, "%.*s", len > 12 ? (int)(len - 12) : 0, w->name);
        snprintf(nm, sizeof nm, "%s.conv.bias", pre);
        int folded = len > 12 && !strcmp(w->name + len - 12, ".conv.weight") && b && !strcmp(b->name, nm);
        const st_tensor *tw = featnet_tensor(f, path, CONVERTER, w->name, w->ndim, w->shape, err, errlen);
        if (!tw) {
            rc = -1;
            break;
        }
        if (!folded) {
            memcpy(all + w->off, tw->data, w->numel * sizeof *all);
            continue;
        }
        int oc = w->shape[0];
        const st_tensor *bn[4];
        static const char *const what[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4 && !rc; k++) {
            snprintf(nm, sizeof nm, "%s.bn.%s", pre, what[k]);
            if (!(bn[k] = featnet_tensor(f, path, CONVERTER, nm, 1, &oc, err, errlen))) rc = -1;
        }
        if (rc) break;
        size_t per = w->numel / (size_t)oc;
        for (int o = 0; o < oc && !rc; o++) {
            double v = (double)bn[3]->data[o] + BN_EPS;
            if (!(v > 0)) {
                snprintf(err, errlen, "%s: tensor '%s.bn.running_var' has %g at %d (a variance must be >= 0)", path, pre,
                         bn[3]->data[o], o);
                rc = -1;
                break;
            }
            double sc = bn[0]->data[o] / sqrt(v);
            for (size_t j = 0; j < per; j++) all[w->off + o * per + j] = (float)(tw->data[o * per + j] * sc);
            all[b->off + o] = (float)(bn[1]->data[o] - bn[2]->data[o] * sc);
        }
        i++; /* the bias is done */
    }
    if (!rc) net_upload(p, all);
    free(all);
    net *buf = &s->buffers;
    return rc ? rc : featnet_fill_nets(f, path, CONVERTER, &buf, 1, err, errlen);
}

static int inception_forward(featnet *f, tape *t, int x, int *logits) {
    inception *m = f->impl;
    tensor xv = tape_val(t, x);
    if (xv.c != 3 || xv.h < 75 || xv.w < 75)
        die("inception: input {%d, %d, %d, %d}: 3 channels of at least 75x75 (featnet_run gives 299x299)", xv.n, xv.c, xv.h,
            xv.w);
    seq_ctx ev = {.training = 0};
    int pool = seq_forward(&m->trunk, t, x, &ev);
    if (logits) *logits = f->nclass > 0 ? seq_forward(&m->head, t, pool, &ev) : -1;
    return pool;
}

static void inception_free(featnet *f) {
    inception *m = f->impl;
    if (m) {
        seq_free(&m->trunk);
        seq_free(&m->head);
        free(m);
    }
    f->impl = NULL;
}

int featnet_open_inception(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    st_file sf;
    if (st_load(weights, &sf, err, errlen) != 0) return -1;
    /* the variant: "fid" (pytorch-fid's FID weights; also when the metadata is absent) or "torchvision"
     * (torchvision's ImageNet weights, 1000 classes: FIDs not comparable with published ones) */
    const char *variant = st_meta(&sf, "inception.variant");
    int tv = variant && !strcmp(variant, "torchvision");
    if (variant && !tv && strcmp(variant, "fid")) {
        snprintf(err, errlen, "%s: Inception variant '%s' (metadata inception.variant): clgan builds 'fid' and 'torchvision'",
                 weights, variant);
        st_free(&sf);
        return -1;
    }
    inception *m = xcalloc(1, sizeof *m);
    seq_init(&m->trunk, cl, "inception");
    build_trunk(&m->trunk, tv);
    seq_build(&m->trunk);
    seq_init(&m->head, cl, "inception_fc");
    seq_name(&m->head, "fc");
    seq_linear(&m->head, 2048, tv ? 1000 : NCLASS, 0); /* IS's logits_unbiased: fc.bias is not used */
    seq_build(&m->head);
    net *head = &m->head.params;
    int rc = load_trunk(&sf, weights, &m->trunk, err, errlen);
    if (!rc) rc = featnet_fill_nets(&sf, weights, CONVERTER, &head, 1, err, errlen);
    st_free(&sf);
    f->impl = m;
    if (rc != 0) {
        inception_free(f);
        return -1;
    }
    f->kind = "inception";
    f->describe = tv ? "Inception-v3 (torchvision ImageNet weights; not the FID network)"
                     : "Inception-v3 (pytorch-fid FID weights)";
    f->metric_prefix = tv ? "torchvision-" : ""; /* "torchvision-FID": never mistaken for the standard FID */
    f->in_c = 3, f->in_h = 299, f->in_w = 299;
    f->batch = 8; /* about 320 MB of arena per image */
    f->in_lo = -1.0f, f->in_hi = 1.0f;
    f->nfeat = 2048;
    f->nclass = m->head.params.p[0].shape[0];
    f->forward = inception_forward;
    f->distance = NULL;
    f->free = inception_free;
    return 0;
}
