/* The Fashion-MNIST classifier's networks and the feature network "fashion" over its checkpoint
 * (featnet.h). The training is in fashion_classifier_train.c. */
#include "fashion_classifier.h"

#include <stdlib.h>
#include <string.h>

#include "featnet.h"
#include "util.h"

void fashion_build(const fashion_spec *s, seqnet *f, seqnet *c, clg_ctx *cl) {
    seq_init(f, cl, "F");
    seq_conv(f, 1, s->conv1, 3, 1, 1, 1, PAD_ZERO);
    seq_act(f, L_RELU, 0);
    seq_maxpool(f, 2, 2, 0);
    seq_conv(f, s->conv1, s->conv2, 3, 1, 1, 1, PAD_ZERO);
    seq_act(f, L_RELU, 0);
    seq_maxpool(f, 2, 2, 0);
    seq_linear(f, s->conv2 * (s->in_h / 4) * (s->in_w / 4), s->feat, 1);
    seq_act(f, L_RELU, 0);
    seq_build(f);
    seq_init(c, cl, "C");
    seq_linear(c, s->feat, s->ncls, 1);
    seq_build(c);
}

static const char *const meta_keys[] = {"fashion.conv1", "fashion.conv2", "fashion.feat", "fashion.in_h", "fashion.in_w",
                                        "fashion.ncls"};
#define META_N ((int)(sizeof meta_keys / sizeof meta_keys[0]))

void fashion_meta_save(const fashion_spec *s, ckpt_meta *meta) {
    fashion_spec c = *s;
    int *fields[META_N] = {&c.conv1, &c.conv2, &c.feat, &c.in_h, &c.in_w, &c.ncls};
    ckpt_meta_add_ints(meta, meta_keys, fields, META_N);
}

int fashion_spec_from_meta(const st_file *f, const char *path, fashion_spec *s, char *err, size_t errlen) {
    int *fields[META_N] = {&s->conv1, &s->conv2, &s->feat, &s->in_h, &s->in_w, &s->ncls};
    const char *model = st_meta(f, "model");
    if (!model || strcmp(model, "fashion_classifier")) {
        set_err(err, errlen, "%s: not a fashion_classifier checkpoint (its model is %s)", path, model ? model : "not given");
        return -1;
    }
    if (ckpt_meta_read_ints(f, path, meta_keys, fields, META_N, err, errlen) != 0) return -1;
    if (s->conv1 < 1 || s->conv2 < 1 || s->feat < 1 || s->in_h < 4 || s->in_w < 4 || s->ncls < 2) {
        set_err(err, errlen, "%s: checkpoint metadata describes no valid classifier", path);
        return -1;
    }
    return 0;
}

/* ---- the feature network "fashion" ---- */

typedef struct {
    seqnet f, c;
} fashion_impl;

static int fashion_forward(featnet *fn, tape *t, int x, int *logits) {
    fashion_impl *m = fn->impl;
    seq_ctx ctx = {.training = 0};
    int feat = seq_forward(&m->f, t, x, &ctx);
    if (logits) *logits = seq_forward(&m->c, t, feat, &ctx);
    return op_reshape(t, feat, tape_val(t, feat).n, fn->nfeat, 1, 1);
}

static void fashion_free(featnet *fn) {
    fashion_impl *m = fn->impl;
    seq_free(&m->f);
    seq_free(&m->c);
    free(m);
}

int featnet_open_fashion(featnet *fn, clg_ctx *cl, const char *weights, char *err, size_t errlen) {
    st_file f;
    fashion_spec s;
    if (st_load(weights, &f, err, errlen) != 0) return -1;
    int rc = fashion_spec_from_meta(&f, weights, &s, err, errlen);
    st_free(&f);
    if (rc != 0) return -1;
    fashion_impl *m = xcalloc(1, sizeof *m);
    fashion_build(&s, &m->f, &m->c, cl);
    ckpt_part parts[2] = {{&m->f.params, NULL}, {&m->c.params, NULL}};
    if (ckpt_load(weights, parts, 2, 0, &f, err, errlen) != 0) {
        seq_free(&m->f);
        seq_free(&m->c);
        free(m);
        return -1;
    }
    st_free(&f);
    fn->describe = "the Fashion-MNIST classifier trained by clgan (ini/fashion_classifier.ini)";
    fn->metric_prefix = "Fashion-";
    fn->in_c = 1, fn->in_h = s.in_h, fn->in_w = s.in_w;
    fn->in_lo = 0.0f, fn->in_hi = 1.0f; /* it was trained on [0, 1] pixels */
    fn->nfeat = s.feat, fn->nclass = s.ncls;
    fn->forward = fashion_forward;
    fn->free = fashion_free;
    fn->impl = m;
    return 0;
}
