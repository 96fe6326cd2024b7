/* Differentiable ops on the tape. Each takes and returns variable handles (host/tape.h); an input
 * handle of -1 means "none" where an argument is optional. One file per op family in host/ops/. */
#ifndef CLGAN_OPS_H
#define CLGAN_OPS_H
#include "tape.h"

/* y = x W^T + b: x {B, in...} (each sample flattened), W {out, in}, b {out} or -1; y {B, out, 1, 1}. */
int op_linear(tape *t, int x, int w, int b);

int op_relu(tape *t, int x);
int op_sigmoid(tape *t, int x);

/* z = mu + exp(0.5*logvar) * eps; eps is an input (no gradient). */
int op_reparam(tape *t, int mu, int logvar, int eps);

/* Scalar losses (one-element variables), each scale * a sum over all elements:
 * bce: -[t log p + (1-t) log(1-p)] with logs clamped at -100 (PyTorch's binary_cross_entropy);
 * kl:  0.5*(exp(lv) + mu^2 - 1 - lv), KL(N(mu, exp(lv)) || N(0, I));
 * sqerr: (a - b)^2 (scale 1/numel gives the MSE). Targets receive no gradient in bce. */
int op_bce_sum(tape *t, int p, int target, float scale);
int op_kl_normal_sum(tape *t, int mu, int logvar, float scale);
int op_sqerr_sum(tape *t, int a, int b, float scale);
/* scale * sum |a - b| (scale 1/numel gives torch's L1Loss); gradient scale*sign(a - b), 0 where equal. */
int op_absdiff_sum(tape *t, int a, int b, float scale);
/* wa*a + wb*b for scalars. */
int op_lincomb(tape *t, int a, float wa, int b, float wb);

/* The same data seen with another shape of the same number of elements (no copy). */
int op_reshape(tape *t, int x, int n, int c, int h, int w);

/* A new input variable of standard normals drawn on the device from (seed, stream, step). */
int tape_randn(tape *t, int n, int c, int h, int w, uint64_t seed, uint32_t stream, uint32_t step);

/* Kernel-level helpers shared by ops: y = a*x + b*y over n floats; a scalar sum reduction. */
void k_axpby(clg_ctx *c, tensor y, tensor x, size_t n, float a, float b);
void k_reduce_sum(clg_ctx *c, tensor out, tensor x, size_t n, float scale);

#include "ops_conv.h" /* convolutions */
#include "ops_grad.h" /* backward passes as ops: gradient penalties */
#include "ops_elem.h" /* more activations, shape ops, more losses */
#include "ops_norm.h" /* batch and instance norm */
#include "ops_pool.h" /* max and global average pooling, plane broadcasting */
#include "ops_conv_rect.h" /* rectangular kernels: Inception-v3 1x7, 7x1 */

#endif
