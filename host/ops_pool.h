/* Differentiable ops of the pool family (host/ops/pool.c, kernels/pool.cl). Included by host/ops.h. */
#ifndef CLGAN_OPS_POOL_H
#define CLGAN_OPS_POOL_H
#include "tape.h"

/* Max pooling as torch.nn.MaxPool2d(k, stride, pad) (floor mode, dilation 1; padding never wins):
   {N,C,H,W} -> {N,C,(H+2pad-k)/stride+1,(W+2pad-k)/stride+1}. Requires 0 <= pad <= k/2, as PyTorch.
   The forward saves the index of each window's first maximum (row-major order, as PyTorch's CPU
   kernel); the backward routes each output gradient to that element only. */
int op_maxpool2d(tape *t, int x, int k, int stride, int pad);
/* Global average pooling (torch.nn.AdaptiveAvgPool2d(1)): {N,C,H,W} -> {N,C,1,1}, the mean of each
   plane; backward dy/(H*W) to every element of the plane. */
int op_global_avgpool(tape *t, int x);
/* {N,C,1,1} -> {N,C,h,w}, every plane filled with its value (BicycleGAN's z.view(N,C,1,1).expand(N,C,h,w),
   GAN label maps); backward sums each plane's gradient. */
int op_broadcast_planes(tape *t, int x, int h, int w);

#endif
