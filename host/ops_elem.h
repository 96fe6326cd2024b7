/* Differentiable ops of the elem family. Included by host/ops.h.
 *   activations (host/ops/activation.c, kernels/act.cl): leaky_relu, tanh, elu, dropout;
 *   shape ops (host/ops/shape.c, kernels/shape.cl): upsample, avgpool, concat, add, scale;
 *   scalar losses (host/ops/loss.c, kernels/loss.cl): sum, bce with logits;
 *   weight clipping (host/ops/elem_misc.c, kernel in kernels/act.cl).
 * Every op takes and returns tape variable handles (host/tape.h); shapes are NCHW. */
#ifndef CLGAN_OPS_ELEM_H
#define CLGAN_OPS_ELEM_H
#include <stdint.h>

#include "net.h"
#include "tape.h"

/* x > 0 ? x : slope*x. Gradient at exactly 0 taken from the negative side (slope), as PyTorch. */
int op_leaky_relu(tape *t, int x, float slope);
int op_tanh(tape *t, int x);
/* x > 0 ? x : alpha*(exp(x) - 1); gradient at exactly 0 is alpha (negative side), as PyTorch. */
int op_elu(tape *t, int x, float alpha);
/* Inverted dropout as torch: training: keep with prob 1-p and scale by 1/(1-p); the mask is drawn on the device
   from (seed, RNG_STREAM_DROPOUT, step) with element index as counter (kernels/common.clh philox4x32_10), so it
   is reproducible; call sites pass a distinct `step` per layer and training step (e.g. step*16 + layer). Not training: identity.
   Element i is kept iff u01(philox((i, 0, RNG_STREAM_DROPOUT, step), seed).x) >= p, i.e. exactly when the
   host's rng_uniform() of rng_seq_make(seed, RNG_STREAM_DROPOUT, step) drawn i+1 times is >= p on its last
   draw. The backward recomputes the mask (nothing stored). p must be in [0, 1]; p = 1 gives zeros; not training
   or p == 0 returns x itself (the same handle). */
int op_dropout(tape *t, int x, float p, int training, uint64_t seed, uint32_t step);
int op_upsample_nearest2x(tape *t, int x);           /* {N,C,H,W} -> {N,C,2H,2W} */
/* No padding, as torch.nn.AvgPool2d(k, stride): {N,C,H,W} -> {N,C,(H-k)/stride+1,(W-k)/stride+1}; input rows
   and columns that no window covers get a zero gradient. */
int op_avgpool2d(tape *t, int x, int k, int stride);
int op_concat_channels(tape *t, int a, int b);       /* {N,Ca,H,W} ++ {N,Cb,H,W} -> {N,Ca+Cb,H,W} */
int op_slice_channels(tape *t, int x, int c0, int c); /* channels c0 .. c0+c-1 of x: {N,c,H,W} */
int op_add(tape *t, int a, int b);                   /* same shapes (residual connections); a == b allowed */
int op_scale(tape *t, int x, float a);               /* a * x */
/* Scalar: scale * sum over all elements of x (e.g. WGAN's mean critic score with scale 1/N). */
int op_sum(tape *t, int x, float scale);
/* Scalar: scale * sum of the numerically stable BCE with logits: max(z,0) - z*y + log(1 + exp(-|z|)),
   target y a tensor of x's shape (or pass target = -1 and a constant target value `yconst`, the usual GAN
   case of all-ones / all-zeros labels, without materialising a tensor). No gradient to the target.
   Gradient: scale * (sigmoid(z) - y). */
int op_bce_logits_sum(tape *t, int z, int target, float yconst, float scale);
/* Not an op: clamps every parameter of a network to [-c, c] in place (WGAN weight clipping), one launch.
   NaN weights stay NaN (as torch.clamp_), so a diverged run is still caught by the loss check. */
void net_clip_weights(net *n, float c);

#endif
