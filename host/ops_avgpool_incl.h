/* Average pooling with zero padding that IS counted: torch.nn.AvgPool2d(k, stride, pad) with its default
 * count_include_pad=True (floor mode), as torchvision's Inception-v3 blocks pool their branch_pool input
 * (the FID network does not count the padding: host/ops_avgpool_pad.h). host/ops/avgpool_incl.c,
 * kernels/avgpool_incl.cl. */
#ifndef CLGAN_OPS_AVGPOOL_INCL_H
#define CLGAN_OPS_AVGPOOL_INCL_H
#include "tape.h"

/* {N,C,H,W} -> {N,C,(H+2pad-k)/stride+1,(W+2pad-k)/stride+1}; each output is the sum of the window's
 * elements inside the image divided by k*k. Requires k >= 1, stride >= 1, 0 <= pad <= k/2 (as PyTorch)
 * and an output of at least 1x1. Backward: every input element gets dy / (k*k) of each window that
 * covers it. */
int op_avgpool2d_incl(tape *t, int x, int k, int stride, int pad);

#endif
