/* Average pooling with zero padding, as torch.nn.AvgPool2d(k, stride, pad) (floor mode) in both of its
 * ways of dividing: count_include_pad=False (op_avgpool2d_pad; BicycleGAN's D_NLayersMulti downsamples
 * between scales with AvgPool2d(3, 2, 1, count_include_pad=False), and so do pytorch-fid's FID
 * Inception blocks) and PyTorch's default count_include_pad=True (op_avgpool2d_incl; torchvision's
 * Inception-v3 blocks). host/ops/avgpool_pad.c, kernels/avgpool_pad.cl. */
#ifndef CLGAN_OPS_AVGPOOL_PAD_H
#define CLGAN_OPS_AVGPOOL_PAD_H
#include "tape.h"

/* {N,C,H,W} -> {N,C,(H+2pad-k)/stride+1,(W+2pad-k)/stride+1}; each output is the sum of the window's
 * elements inside the image divided by their count (the padding neither summed nor counted). Requires
 * k >= 1, stride >= 1, 0 <= pad <= k/2 (as PyTorch), and an output of at least 1x1. Backward: every
 * input element gets dy / count of each window that covers it. */
int op_avgpool2d_pad(tape *t, int x, int k, int stride, int pad);
/* The same, each window divided by k*k (the padding counted as zeros); backward dy / (k*k). */
int op_avgpool2d_incl(tape *t, int x, int k, int stride, int pad);

#endif
