/* Sequential networks described layer by layer, as torch.nn.Sequential: parameters are named
 * "<layer index>.weight" / ".bias" and batch-norm buffers "<i>.running_mean" / ".running_var", so a
 * checkpoint maps one to one onto the state_dict of the same nn.Sequential in PyTorch. */
#ifndef CLGAN_SEQ_H
#define CLGAN_SEQ_H
#include "ops.h"

typedef enum {
    L_LINEAR, L_CONV, L_TCONV, L_BN, L_IN, L_RELU, L_LRELU, L_TANH, L_SIGMOID, L_ELU, L_DROPOUT, L_RESHAPE,
    L_UPSAMPLE, L_RES_BEGIN, L_RES_END,
    /* graph layers (models/graph.h): */
    L_MAXPOOL, L_GAP, L_CAT, L_ADD, L_CAT_Z,
    L_CONV_RECT, /* a kh x kw conv (seq_conv_rect): k, pad the height's, kw, padw the width's */
    L_AVGPOOL_PAD, /* seq_avgpool_pad: the padding not counted */
    L_AVGPOOL_INCL /* seq_avgpool_incl: the padding counted */
} layer_kind;

/* Where a layer reads a value: SEQ_PREV the previous layer's output (a plain list), SEQ_INPUT the
 * network's input, or a value >= 0, the output of that layer (an index as seq_last returns). */
enum { SEQ_PREV = -1, SEQ_INPUT = -2 };

typedef struct {
    layer_kind kind;
    int in, out, k, stride, pad, outpad, bias, padmode; /* shape arguments, by kind */
    int kw, padw;                                       /* L_CONV_RECT: the kernel's width and its padding */
    int c, h, w;                                        /* L_RESHAPE target per sample */
    float f;                                            /* slope (LReLU), alpha (ELU), p (dropout), eps (norms) */
    float momentum;                                     /* BN */
    int w_idx, b_idx;                                   /* parameters in seqnet.params, or -1 */
    int rm_idx, rv_idx;                                 /* BN buffers in seqnet.buffers */
    int tidx;                                           /* PyTorch module index (names) */
    int src[2];                                         /* inputs (SEQ_PREV, SEQ_INPUT or a layer); src[1] of CAT/ADD */
    char name[128];                                     /* explicit module name (seq_name), else "" */
} layer;

typedef struct {
    net params;  /* trained */
    net buffers; /* BN running statistics: saved, not trained */
    layer *L;
    int n, cap;
    int built;
    /* Parameter naming: "<prefix><tidx>.weight", tidx counting PyTorch modules (seq_skip_index
     * advances it for a module clgan folds into the next layer). Residual blocks name their inner
     * layers "<prefix><block index>.conv_block.<i>." as pytorch-CycleGAN-and-pix2pix's ResnetBlock. */
    char prefix[48], outer_prefix[48];
    int tidx, outer_tidx, depth;
    /* Graph building (models/graph.h): the name and input of the next layer. */
    char next_name[128];
    int next_src;
    /* Training passes of this net with one (seed, step) on one tape (seq_forward: dropout masks). */
    const tape *pass_tape;     /* the last training pass: on which tape, before which of its resets, */
    unsigned long pass_resets; /* with which seed and step, and its number */
    unsigned long long pass_seed;
    unsigned pass_step, pass;
} seqnet;

/* Dropout masks: the first training pass of a net with a ctx on a tape draws layer i's mask from
 * (seed, RNG_STREAM_DROPOUT, step*64 + i); a later pass k of the same net with the same (seed, step) on
 * the same tape (no tape_reset between) draws from key seed ^ (k*65536 + i/64) * 0x9E3779B97F4A7C15 and
 * step*64 + i%64, so the two passes of a step do not share masks and each (seed, step, pass) is
 * reproducible (layers 64 and up get keys of their own too). */
typedef struct {
    int training;            /* BN uses batch statistics and updates running ones; dropout active */
    unsigned long long seed;
    unsigned step;
} seq_ctx;

void seq_init(seqnet *s, clg_ctx *cl, const char *name);
void seq_linear(seqnet *s, int in, int out, int bias);
void seq_conv(seqnet *s, int in, int out, int k, int stride, int pad, int bias, int padmode);
/* torch.nn.Conv2d(in, out, (kh, kw), stride, (ph, pw)), zero padding (op_conv2d_rect): Inception's 1x7. */
void seq_conv_rect(seqnet *s, int in, int out, int kh, int kw, int stride, int ph, int pw, int bias);
void seq_tconv(seqnet *s, int in, int out, int k, int stride, int pad, int outpad, int bias);
void seq_bn(seqnet *s, int c);
void seq_instnorm(seqnet *s, int c, int affine);
void seq_act(seqnet *s, layer_kind kind, float f); /* RELU, LRELU (slope), TANH, SIGMOID, ELU (alpha), DROPOUT (p), UPSAMPLE */
void seq_reshape(seqnet *s, int c, int h, int w);
/* Names: every later parameter is "<prefix><index>...." (default ""). */
void seq_set_prefix(seqnet *s, const char *prefix);
/* A PyTorch module with no parameters that clgan folds into the next layer (ReflectionPad2d before
 * a reflect-padded conv): takes a module index so the names still match the PyTorch twin. */
void seq_skip_index(seqnet *s);
/* x + block(x): the layers between begin and end form the block (one level; not nested). */
void seq_res_begin(seqnet *s);
void seq_res_end(seqnet *s);
/* Graphs (models/graph.h builds U-Nets and ResNets with these). A value is a layer's output: the
 * index seq_last returns after adding it (SEQ_INPUT: the network's input). */
int seq_last(const seqnet *s);              /* the value of the last layer added (SEQ_INPUT if none) */
void seq_from(seqnet *s, int v);            /* the next layer reads value v, not the previous output */
void seq_name(seqnet *s, const char *module); /* the next layer's parameters: "<prefix><module>.weight" */
void seq_maxpool(seqnet *s, int k, int stride, int pad); /* torch.nn.MaxPool2d(k, stride, pad) */
/* torch.nn.AvgPool2d(k, stride, pad, count_include_pad=False) (op_avgpool2d_pad) */
void seq_avgpool_pad(seqnet *s, int k, int stride, int pad);
/* torch.nn.AvgPool2d(k, stride, pad) (count_include_pad=True) (op_avgpool2d_incl) */
void seq_avgpool_incl(seqnet *s, int k, int stride, int pad);
void seq_global_avgpool(seqnet *s);         /* AdaptiveAvgPool2d(1): {N,C,H,W} -> {N,C,1,1} */
int seq_cat(seqnet *s, int a, int b);       /* torch.cat([a, b], 1); returns its value */
int seq_add(seqnet *s, int a, int b);       /* a + b; returns its value */
int seq_cat_z(seqnet *s, int a);            /* torch.cat([a, z broadcast to a's planes], 1) (seq_forward_z) */
void seq_build(seqnet *s); /* allocates parameters and buffers (running_var = 1) */
void seq_free(seqnet *s);

typedef enum { INIT_TORCH_DEFAULT, INIT_DCGAN } init_scheme;
/* TORCH_DEFAULT: PyTorch's defaults, U(+-1/sqrt(fan_in)) for weights and biases; norm weight 1, bias 0.
 * DCGAN: conv/linear weights N(0, 0.02), biases 0, norm weights N(1, 0.02), norm biases 0. */
void seq_init_weights(seqnet *s, init_scheme scheme, unsigned long long seed);

int seq_forward(seqnet *s, tape *t, int x, const seq_ctx *ctx);
/* The same with a second input z {N, nz, 1, 1} for the layers that concatenate it (seq_cat_z); z -1
 * when none does. */
int seq_forward_z(seqnet *s, tape *t, int x, int z, const seq_ctx *ctx);
/* The dropout key and step word of layer i in pass `pass` (see seq_ctx); for tests. */
void seq_dropout_stream(unsigned long long seed, unsigned step, unsigned pass, int i, unsigned long long *key,
                        unsigned *word);

#endif
