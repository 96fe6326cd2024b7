#include "seq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_avgpool_pad.h"
#include "util.h"

void seq_init(seqnet *s, clg_ctx *cl, const char *name) {
    memset(s, 0, sizeof *s);
    net_init(&s->params, cl, name);
    char bn[40];
    snprintf(bn, sizeof bn, "%s", name);
    net_init(&s->buffers, cl, bn);
    s->buffers.requires_grad = 0;
    s->next_src = SEQ_PREV;
}

static layer *push(seqnet *s, layer_kind kind) {
    if (s->built) die("seqnet %s: layer added after seq_build", s->params.name);
    if (s->n == s->cap) s->L = xrealloc(s->L, (size_t)(s->cap = s->cap ? 2 * s->cap : 16) * sizeof *s->L);
    layer *l = &s->L[s->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->w_idx = l->b_idx = l->rm_idx = l->rv_idx = -1;
    l->tidx = s->tidx++;
    l->src[0] = s->next_src, l->src[1] = SEQ_PREV;
    memcpy(l->name, s->next_name, sizeof l->name);
    s->next_src = SEQ_PREV;
    s->next_name[0] = 0;
    return l;
}

/* "<prefix><module index of the last layer>.<what>", or "<prefix><its seq_name>.<what>" */
static void layer_name(const seqnet *s, const char *what, char *out, size_t n) {
    const layer *l = &s->L[s->n - 1];
    int len = l->name[0] ? snprintf(out, n, "%s%s.%s", s->prefix, l->name, what)
                         : snprintf(out, n, "%s%d.%s", s->prefix, l->tidx, what);
    if (len >= (int)n) die("seqnet %s: parameter name %s... too long", s->params.name, out);
}

static int add_param(seqnet *s, const char *what, int ndim, const int *shape) {
    char name[sizeof ((param *)0)->name];
    layer_name(s, what, name, sizeof name);
    return net_add(&s->params, name, ndim, shape);
}

void seq_set_prefix(seqnet *s, const char *prefix) {
    if (strlen(prefix) >= sizeof s->prefix) die("seqnet %s: prefix too long", s->params.name);
    snprintf(s->prefix, sizeof s->prefix, "%s", prefix);
}

void seq_skip_index(seqnet *s) { s->tidx++; }

void seq_res_begin(seqnet *s) {
    if (s->depth) die("seqnet %s: nested residual blocks", s->params.name);
    push(s, L_RES_BEGIN);
    s->tidx--; /* the marker is not a module of its own */
    s->depth = 1;
    memcpy(s->outer_prefix, s->prefix, sizeof s->prefix);
    s->outer_tidx = s->tidx;
    char p[96];
    if (snprintf(p, sizeof p, "%.40s%d.conv_block.", s->outer_prefix, s->tidx) >= (int)sizeof s->prefix)
        die("seqnet %s: residual block name too long", s->params.name);
    seq_set_prefix(s, p);
    s->tidx = 0;
}

void seq_res_end(seqnet *s) {
    if (!s->depth) die("seqnet %s: seq_res_end without seq_res_begin", s->params.name);
    memcpy(s->prefix, s->outer_prefix, sizeof s->prefix);
    s->tidx = s->outer_tidx + 1;
    s->depth = 0;
    push(s, L_RES_END);
    s->tidx--;
}

void seq_linear(seqnet *s, int in, int out, int bias) {
    layer *l = push(s, L_LINEAR);
    l->in = in, l->out = out, l->bias = bias;
    l->w_idx = add_param(s, "weight", 2, (int[]){out, in});
    if (bias) l->b_idx = add_param(s, "bias", 1, (int[]){out});
}

void seq_conv(seqnet *s, int in, int out, int k, int stride, int pad, int bias, int padmode) {
    layer *l = push(s, L_CONV);
    l->in = in, l->out = out, l->k = k, l->stride = stride, l->pad = pad, l->bias = bias, l->padmode = padmode;
    l->w_idx = add_param(s, "weight", 4, (int[]){out, in, k, k});
    if (bias) l->b_idx = add_param(s, "bias", 1, (int[]){out});
}

void seq_conv_rect(seqnet *s, int in, int out, int kh, int kw, int stride, int ph, int pw, int bias) {
    layer *l = push(s, L_CONV_RECT);
    l->in = in, l->out = out, l->k = kh, l->kw = kw, l->stride = stride, l->pad = ph, l->padw = pw, l->bias = bias;
    l->w_idx = add_param(s, "weight", 4, (int[]){out, in, kh, kw});
    if (bias) l->b_idx = add_param(s, "bias", 1, (int[]){out});
}

void seq_tconv(seqnet *s, int in, int out, int k, int stride, int pad, int outpad, int bias) {
    layer *l = push(s, L_TCONV);
    l->in = in, l->out = out, l->k = k, l->stride = stride, l->pad = pad, l->outpad = outpad, l->bias = bias;
    l->w_idx = add_param(s, "weight", 4, (int[]){in, out, k, k});
    if (bias) l->b_idx = add_param(s, "bias", 1, (int[]){out});
}

void seq_bn(seqnet *s, int c) {
    layer *l = push(s, L_BN);
    l->c = c, l->f = 1e-5f, l->momentum = 0.1f;
    l->w_idx = add_param(s, "weight", 1, (int[]){c});
    l->b_idx = add_param(s, "bias", 1, (int[]){c});
    char name[sizeof ((param *)0)->name];
    layer_name(s, "running_mean", name, sizeof name);
    l->rm_idx = net_add(&s->buffers, name, 1, (int[]){c});
    layer_name(s, "running_var", name, sizeof name);
    l->rv_idx = net_add(&s->buffers, name, 1, (int[]){c});
}

void seq_instnorm(seqnet *s, int c, int affine) {
    layer *l = push(s, L_IN);
    l->c = c, l->f = 1e-5f;
    if (affine) {
        l->w_idx = add_param(s, "weight", 1, (int[]){c});
        l->b_idx = add_param(s, "bias", 1, (int[]){c});
    }
}

void seq_act(seqnet *s, layer_kind kind, float f) { push(s, kind)->f = f; }

void seq_reshape(seqnet *s, int c, int h, int w) {
    layer *l = push(s, L_RESHAPE);
    l->c = c, l->h = h, l->w = w;
}

void seq_build(seqnet *s) {
    if (s->depth) die("seqnet %s: residual block not closed", s->params.name);
    s->built = 1;
    net_alloc(&s->params);
    if (s->buffers.np == 0) net_add(&s->buffers, "none", 1, (int[]){1}); /* keeps the buffer net valid */
    net_alloc(&s->buffers);
    for (int i = 0; i < s->n; i++)
        if (s->L[i].kind == L_BN) net_init_const(&s->buffers, s->L[i].rv_idx, 1.0f);
}

void seq_free(seqnet *s) {
    net_free(&s->params);
    net_free(&s->buffers);
    free(s->L);
    memset(s, 0, sizeof *s);
}

void seq_init_weights(seqnet *s, init_scheme scheme, unsigned long long seed) {
    net *p = &s->params;
    for (int i = 0; i < s->n; i++) {
        layer *l = &s->L[i];
        if (l->w_idx < 0) continue;
        int is_norm = l->kind == L_BN || l->kind == L_IN;
        if (is_norm) {
            if (scheme == INIT_DCGAN) net_init_normal(p, l->w_idx, 1.0f, 0.02f, seed);
            else net_init_const(p, l->w_idx, 1.0f);
            net_init_const(p, l->b_idx, 0.0f);
            continue;
        }
        /* fan_in as PyTorch computes it from the weight: size(1) * receptive field */
        const param *w = &p->p[l->w_idx];
        int fan_in = w->shape[1] * (w->ndim == 4 ? w->shape[2] * w->shape[3] : 1);
        float bound = 1.0f / sqrtf((float)fan_in);
        if (scheme == INIT_DCGAN) net_init_normal(p, l->w_idx, 0.0f, 0.02f, seed);
        else net_init_uniform(p, l->w_idx, bound, seed);
        if (l->b_idx >= 0) {
            if (scheme == INIT_DCGAN) net_init_const(p, l->b_idx, 0.0f);
            else net_init_uniform(p, l->b_idx, bound, seed);
        }
    }
}

/* Layer i is a nearest x2 upsampling followed by a 3x3, stride-1, zero-padded conv: computed as
 * op_upsample2x_conv3x3, 16 instead of 36 multiply-adds per output (the ResNet generator's u-layers). */
static int upsample_conv_fusable(const seqnet *s, int i) {
    if (i + 1 >= s->n) return 0;
    const layer *c = &s->L[i + 1];
    return c->src[0] == SEQ_PREV && c->kind == L_CONV && c->k == 3 && c->stride == 1 && c->pad == 1 && c->padmode == PAD_ZERO;
}

/* Layer i is a norm whose output only layer i + 1 reads (the U-Net's skips read a norm's output: then it
 * stays its own node). */
static int norm_read_once(const seqnet *s, int i) {
    if (i + 1 >= s->n || s->L[i + 1].src[0] != SEQ_PREV) return 0;
    for (int j = i + 2; j < s->n; j++)
        if (s->L[j].src[0] == i || s->L[j].src[1] == i) return 0;
    return 1;
}

/* A norm read once by a ReLU or leaky ReLU (slope >= 0): the two as one node (op_batchnorm_act,
 * op_instancenorm_act: the activation in the norm's kernels). Returns the activation (NORM_ACT_NONE: not
 * fusable). */
static norm_act norm_act_fusable(const seqnet *s, int i) {
    if (!norm_read_once(s, i)) return NORM_ACT_NONE;
    const layer *a = &s->L[i + 1];
    return a->kind == L_RELU ? NORM_ACT_RELU : a->kind == L_LRELU && a->f >= 0.0f ? NORM_ACT_LRELU : NORM_ACT_NONE;
}

/* A norm read once by the end of a residual block (skip + the norm's output): op_*norm_add. */
static int norm_add_fusable(const seqnet *s, int i) { return norm_read_once(s, i) && s->L[i + 1].kind == L_RES_END; }

/* ---- graph layers ---- */

void seq_name(seqnet *s, const char *module) {
    if (strlen(module) >= sizeof s->next_name) die("seqnet %s: module name %s too long", s->params.name, module);
    snprintf(s->next_name, sizeof s->next_name, "%s", module);
}

static int check_src(const seqnet *s, int v) {
    if (v < SEQ_INPUT || v >= s->n) die("seqnet %s: value %d does not exist (%d layers)", s->params.name, v, s->n);
    return v;
}

void seq_from(seqnet *s, int v) { s->next_src = check_src(s, v); }

int seq_last(const seqnet *s) {
    if (s->n == 0) return SEQ_INPUT;
    return s->n - 1;
}

/* A layer without parameters and without a PyTorch module index of its own (cat, add: torch ops). */
static layer *push_op(seqnet *s, layer_kind kind) {
    layer *l = push(s, kind);
    s->tidx--;
    return l;
}

void seq_maxpool(seqnet *s, int k, int stride, int pad) {
    layer *l = push(s, L_MAXPOOL);
    l->k = k, l->stride = stride, l->pad = pad;
}

void seq_avgpool_pad(seqnet *s, int k, int stride, int pad) {
    layer *l = push(s, L_AVGPOOL_PAD);
    l->k = k, l->stride = stride, l->pad = pad;
}

void seq_avgpool_incl(seqnet *s, int k, int stride, int pad) {
    layer *l = push(s, L_AVGPOOL_INCL);
    l->k = k, l->stride = stride, l->pad = pad;
}

void seq_global_avgpool(seqnet *s) { push(s, L_GAP); }

int seq_cat(seqnet *s, int a, int b) {
    layer *l = push_op(s, L_CAT);
    l->src[0] = check_src(s, a), l->src[1] = check_src(s, b);
    return s->n - 1;
}

int seq_add(seqnet *s, int a, int b) {
    layer *l = push_op(s, L_ADD);
    l->src[0] = check_src(s, a), l->src[1] = check_src(s, b);
    return s->n - 1;
}

int seq_cat_z(seqnet *s, int a) {
    layer *l = push_op(s, L_CAT_Z);
    l->src[0] = check_src(s, a);
    return s->n - 1;
}

/* ---- dropout streams ---- */

void seq_dropout_stream(unsigned long long seed, unsigned step, unsigned pass, int i, unsigned long long *key,
                        unsigned *word) {
    /* an odd multiplier is a bijection of 64-bit words: distinct (pass, block) give distinct keys, and
     * (0, 0) gives the seed itself (today's stream) */
    unsigned long long mix = ((unsigned long long)pass * 65536u + (unsigned)i / 64u) * 0x9E3779B97F4A7C15ull;
    *key = seed ^ mix;
    *word = step * 64u + (unsigned)i % 64u;
}

/* The pass number of a training forward: 0 unless this net already ran a training pass with the
 * same (seed, step) on this tape since its last reset. */
static unsigned next_pass(seqnet *s, const tape *t, const seq_ctx *ctx) {
    int same = s->pass_tape == t && s->pass_resets == t->resets && s->pass_seed == ctx->seed && s->pass_step == ctx->step;
    s->pass = same ? s->pass + 1 : 0;
    s->pass_tape = t, s->pass_resets = t->resets, s->pass_seed = ctx->seed, s->pass_step = ctx->step;
    return s->pass;
}

int seq_forward(seqnet *s, tape *t, int x, const seq_ctx *ctx) { return seq_forward_z(s, t, x, -1, ctx); }

int seq_forward_z(seqnet *s, tape *t, int x, int z, const seq_ctx *ctx) {
    net *p = &s->params;
    int skip = -1; /* the input of the open residual block */
    int input = x;
    unsigned pass = ctx->training ? next_pass(s, t, ctx) : 0;
    int *val = xmalloc((size_t)(s->n ? s->n : 1) * sizeof *val); /* each layer's output */
#define SRC(v) ((v) == SEQ_PREV ? x : (v) == SEQ_INPUT ? input : val[v])
    for (int i = 0; i < s->n; i++) {
        layer *l = &s->L[i];
        x = SRC(l->src[0]);
        int x2 = l->src[1] == SEQ_PREV ? 0 : SRC(l->src[1]); /* the second input of cat and add */
        if (x < 0 || x2 < 0)
            die("seqnet %s: layer %d reads the output of an upsampling fused into its conv or of a norm fused with its "
                "activation", p->name, i);
        int w = l->w_idx >= 0 ? tape_param(t, p, l->w_idx) : -1;
        int b = l->b_idx >= 0 ? tape_param(t, p, l->b_idx) : -1;
        switch (l->kind) {
        case L_LINEAR: x = op_linear(t, x, w, b); break;
        case L_CONV: x = op_conv2d(t, x, w, b, l->stride, l->pad, (pad_mode)l->padmode); break;
        case L_CONV_RECT: x = op_conv2d_rect(t, x, w, b, l->stride, l->stride, l->pad, l->padw); break;
        case L_TCONV: x = op_conv_transpose2d(t, x, w, b, l->stride, l->pad, l->outpad); break;
        case L_BN:
        case L_IN: {
            norm_act act = norm_act_fusable(s, i);
            float slope = act == NORM_ACT_LRELU ? s->L[i + 1].f : 0.0f;
            int res = act == NORM_ACT_NONE && norm_add_fusable(s, i) ? skip : -1;
            if (l->kind == L_BN) {
                tensor rm = net_tensor(&s->buffers, l->rm_idx), rv = net_tensor(&s->buffers, l->rv_idx);
                x = res >= 0 ? op_batchnorm_add(t, x, w, b, rm, rv, ctx->training, l->momentum, l->f, res)
                             : op_batchnorm_act(t, x, w, b, rm, rv, ctx->training, l->momentum, l->f, act, slope);
            } else {
                x = res >= 0 ? op_instancenorm_add(t, x, w, b, l->f, res)
                             : op_instancenorm_act(t, x, w, b, l->f, act, slope);
            }
            if (act != NORM_ACT_NONE || res >= 0) val[i++] = -1; /* the activation's or the residual's layer: done */
            break;
        }
        case L_RELU: x = op_relu(t, x); break;
        case L_LRELU: x = op_leaky_relu(t, x, l->f); break;
        case L_TANH: x = op_tanh(t, x); break;
        case L_SIGMOID: x = op_sigmoid(t, x); break;
        case L_ELU: x = op_elu(t, x, l->f); break;
        case L_DROPOUT: {
            unsigned long long key;
            unsigned word;
            seq_dropout_stream(ctx->seed, ctx->step, pass, i, &key, &word);
            x = op_dropout(t, x, l->f, ctx->training, key, word);
            break;
        }
        case L_UPSAMPLE:
            if (upsample_conv_fusable(s, i)) { /* with the 3x3 conv after it: one 2x2 conv by phases */
                val[i] = -1;
                const layer *c = &s->L[++i];
                x = op_upsample2x_conv3x3(t, x, tape_param(t, p, c->w_idx), c->b_idx >= 0 ? tape_param(t, p, c->b_idx) : -1);
            } else {
                x = op_upsample_nearest2x(t, x);
            }
            break;
        case L_RESHAPE: x = op_reshape(t, x, tape_val(t, x).n, l->c, l->h, l->w); break;
        case L_RES_BEGIN: skip = x; break;
        case L_RES_END: x = op_add(t, skip, x); break;
        case L_MAXPOOL: x = op_maxpool2d(t, x, l->k, l->stride, l->pad); break;
        case L_GAP: x = op_global_avgpool(t, x); break;
        case L_AVGPOOL_PAD: x = op_avgpool2d_pad(t, x, l->k, l->stride, l->pad); break;
        case L_AVGPOOL_INCL: x = op_avgpool2d_incl(t, x, l->k, l->stride, l->pad); break;
        case L_CAT: x = op_concat_channels(t, x, x2); break;
        case L_ADD: x = op_add(t, x, x2); break;
        case L_CAT_Z: {
            if (z < 0) die("seqnet %s: layer %d concatenates z, but no z was given", p->name, i);
            tensor xv = tape_val(t, x);
            x = op_concat_channels(t, x, op_broadcast_planes(t, z, xv.h, xv.w));
            break;
        }
        }
        val[i] = x;
    }
#undef SRC
    free(val);
    return x;
}
