/* Average pooling with zero padding that is NOT counted: torch.nn.AvgPool2d(k, stride, pad,
 * count_include_pad=False) (floor mode), as BicycleGAN's D_NLayersMulti downsamples its input between
 * scales with AvgPool2d(3, 2, 1). host/ops/avgpool_pad.c, kernels/avgpool_pad.cl. */
#ifndef CLGAN_OPS_AVGPOOL_PAD_H
#define CLGAN_OPS_AVGPOOL_PAD_H
#include "tape.h"

/* {N,C,H,W} -> {N,C,(H+2pad-k)/stride+1,(W+2pad-k)/stride+1}; each output is the mean of the window's
 * elements inside the image (the padding is neither summed nor counted). Requires k >= 1, stride >= 1,
 * 0 <= pad <= k/2 (as PyTorch), and an output of at least 1x1. Backward: every input element gets
 * dy / count of each window that covers it. */
int op_avgpool2d_pad(tape *t, int x, int k, int stride, int pad);

#endif
