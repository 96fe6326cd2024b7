/* Sequential networks described layer by layer, as torch.nn.Sequential: parameters are named
 * "<layer index>.weight" / ".bias" and batch-norm buffers "<i>.running_mean" / ".running_var", so a
 * checkpoint maps one to one onto the state_dict of the same nn.Sequential in PyTorch. */
#ifndef CLGAN_SEQ_H
#define CLGAN_SEQ_H
#include "ops.h"

typedef enum {
    L_LINEAR, L_CONV, L_TCONV, L_BN, L_IN, L_RELU, L_LRELU, L_TANH, L_SIGMOID, L_ELU, L_DROPOUT, L_RESHAPE,
    L_UPSAMPLE, L_RES_BEGIN, L_RES_END
} layer_kind;

typedef struct {
    layer_kind kind;
    int in, out, k, stride, pad, outpad, bias, padmode; /* shape arguments, by kind */
    int c, h, w;                                        /* L_RESHAPE target per sample */
    float f;                                            /* slope (LReLU), alpha (ELU), p (dropout), eps (norms) */
    float momentum;                                     /* BN */
    int w_idx, b_idx;                                   /* parameters in seqnet.params, or -1 */
    int rm_idx, rv_idx;                                 /* BN buffers in seqnet.buffers */
    int tidx;                                           /* PyTorch module index (names) */
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
} seqnet;

typedef struct {
    int training;            /* BN uses batch statistics and updates running ones; dropout active */
    unsigned long long seed; /* dropout masks: (seed, RNG_STREAM_DROPOUT, step*64 + layer) */
    unsigned step;
} seq_ctx;

void seq_init(seqnet *s, clg_ctx *cl, const char *name);
void seq_linear(seqnet *s, int in, int out, int bias);
void seq_conv(seqnet *s, int in, int out, int k, int stride, int pad, int bias, int padmode);
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
void seq_build(seqnet *s); /* allocates parameters and buffers (running_var = 1) */
void seq_free(seqnet *s);

typedef enum { INIT_TORCH_DEFAULT, INIT_DCGAN } init_scheme;
/* TORCH_DEFAULT: PyTorch's defaults, U(+-1/sqrt(fan_in)) for weights and biases; norm weight 1, bias 0.
 * DCGAN: conv/linear weights N(0, 0.02), biases 0, norm weights N(1, 0.02), norm biases 0. */
void seq_init_weights(seqnet *s, init_scheme scheme, unsigned long long seed);

int seq_forward(seqnet *s, tape *t, int x, const seq_ctx *ctx);

#endif
