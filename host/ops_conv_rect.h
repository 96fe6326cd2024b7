/* Convolutions with a rectangular kernel, strides and padding per axis: torch.nn.Conv2d(cin, cout,
 * kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw)) with zero padding and dilation 1, as
 * Inception-v3's 1x7, 7x1, 1x3 and 3x1 convolutions need. host/ops/conv_rect.c, kernels/conv_rect.cl.
 * Square convolutions go through op_conv2d (host/ops_conv.h), which has the tuned kernels. */
#ifndef CLGAN_OPS_CONV_RECT_H
#define CLGAN_OPS_CONV_RECT_H
#include "tape.h"

/* y = conv2d(x, w) + b. x {N, C, H, W}; w {OC, C, kh, kw} (PyTorch layout); b {OC} or -1.
 * y {N, OC, (H + 2ph - kh)/sh + 1, (W + 2pw - kw)/sw + 1}; strides >= 1, pads >= 0, an output of at
 * least 1x1. Computed as im2col + CLBlast GEMM over groups of samples (at most 4M floats of column
 * matrix per group unless one sample needs more); backward: data gradient by col2im of W^T dy, weight
 * gradient dy cols^T, bias gradient the sum of dy per channel. */
int op_conv2d_rect(tape *t, int x, int w, int b, int sh, int sw, int ph, int pw);

#endif
