/* Differentiable ops of the conv family (host/ops/conv*.c, kernels/conv*.cl). Included by host/ops.h. */
#ifndef CLGAN_OPS_CONV_H
#define CLGAN_OPS_CONV_H
#include <stddef.h>

#include "clg_shared.h" /* pad_mode */
#include "tape.h"

/* y = conv2d(x, w) + b. x {N, Cin, H, W}; w {Cout, Cin, k, k} (PyTorch layout); b {Cout} or -1.
   Output H' = (H + 2*pad - k)/stride + 1. Reflection padding as torch.nn.ReflectionPad2d (requires pad < H, W). */
int op_conv2d(tape *t, int x, int w, int b, int stride, int pad, pad_mode mode);
/* op_elu(op_conv2d(...), alpha) as one node, the same values and gradients: the ELU in the convolution's
   epilogue where the forward runs on conv_rows (no pass over y of its own), else a kernel over y in place;
   ELU's gradient in the padding of the data gradient's upstream copy where that pads with zeros (conv_rows,
   conv_oc: conv_pad with alpha), else a kernel into scratch. alpha > 0. No gradient graph (as op_elu). */
int op_conv2d_elu(tape *t, int x, int w, int b, int stride, int pad, pad_mode mode, float alpha);

/* Transposed convolution as torch.nn.ConvTranspose2d: w {Cin, Cout, k, k}; H' = (H-1)*stride - 2*pad + k + output_padding.
   Requires 0 <= output_padding < stride (as PyTorch does). b {Cout} or -1. */
int op_conv_transpose2d(tape *t, int x, int w, int b, int stride, int pad, int output_padding);
/* conv2d(upsample_nearest2x(x), w {O, C, 3, 3}, b, stride 1, zero padding 1), computed as one 2x2
 * convolution of x into the four output phases: 16 instead of 36 multiply-adds per output. */
int op_upsample2x_conv3x3(tape *t, int x, int w, int b);

/* Where the ops go through im2col + GEMM (always with CLBlast; with the own kernels only for strided
 * data gradients with reflection or k < s and for weight gradients of small strided images), they do
 * so over groups of samples: a group's column matrix (and its channel-major copy of the data) is kept
 * at or below this many floats of scratch, unless one sample alone needs more. Default 1 << 22 (16 MiB). Returns the previous limit; 0 restores the default.
 * Meant for tests (to force several groups) and tuning; not thread-safe. */
size_t conv_set_group_floats(size_t floats);

/* Which GEMM the conv ops use: 0 (default) chooses per device -- clgan's own kernels
 * (kernels/conv_gemm.cl: implicit GEMM for stride-1 convs, no layout copies) on CPUs, im2col/col2im +
 * CLBlast on GPUs; 1 forces CLBlast, 2 the own kernels. Returns the previous choice. For tests and
 * benchmarks; not thread-safe. With 0, CLGAN_CONV=clblast or CLGAN_CONV=own in the environment
 * forces either (A/B runs of whole programs). */
int conv_set_impl(int impl);

#endif
