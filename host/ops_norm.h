/* Differentiable ops of the norm family (host/ops/norm*.c, kernels/norm*.cl). Included by host/ops.h. */
#ifndef CLGAN_OPS_NORM_H
#define CLGAN_OPS_NORM_H
#include "clg_shared.h"
#include "tape.h"

/* Batch norm over N, H, W per channel, as torch.nn.BatchNorm2d (BatchNorm1d for {N, C, 1, 1}).
   gamma, beta: {C} parameters or -1 (affine=False). running_mean / running_var: persistent tensors {C}
   owned by the caller (not tape variables). training != 0: normalise with the batch's mean and biased
   variance, and update running_* with momentum (running = (1-m)*running + m*batch; the variance update
   uses the unbiased batch variance, as PyTorch). training == 0: normalise with running_*.
   In training mode running_mean and running_var may both have mem NULL: no running statistics are kept
   (track_running_stats=False). Training needs more than one value per channel (N*H*W > 1), as PyTorch.
   The batch statistics are computed on the device (two-pass, compensated sums) and kept for backward,
   which goes through them: dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)), M = N*H*W;
   dgamma = sum(dy*xhat), dbeta = sum(dy). In evaluation mode the op is a fixed affine map per channel. */
int op_batchnorm(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                 float momentum, float eps);

/* Instance norm per (sample, channel) over H, W, as torch.nn.InstanceNorm2d (no running stats; CycleGAN's
   default is affine=False, pass -1). gamma, beta: {C} or -1. Biased variance; backward as batch norm's
   with the statistics of each (sample, channel) plane, M = H*W. */
int op_instancenorm(tape *t, int x, int gamma, int beta, float eps);

/* The norm followed by an activation as one node (tape name "batchnorm+relu", "instancenorm+leaky_relu", ...):
   act NORM_ACT_RELU is op_relu, NORM_ACT_LRELU op_leaky_relu(slope), slope >= 0 (kernels/clg_shared.h). The
   normalising kernel applies it, and the backward kernels take its gradient where they read dy, from the
   node's output: no launch and no tensor of its own, the values and gradients bit for bit those of the two
   ops (the pre-activation is not kept, so only for a norm whose output nothing else reads). */
int op_batchnorm_act(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                     float momentum, float eps, norm_act act, float slope);
int op_instancenorm_act(tape *t, int x, int gamma, int beta, float eps, norm_act act, float slope);

/* res + the norm of x as one node (tape name "batchnorm+add", "instancenorm+add"): the ResNet block's
   x + conv_block(x), whose last layer is the norm. res: a variable of x's shape. The sum is op_add's, so
   the values and gradients are bit for bit those of op_add(t, res, op_instancenorm(...)); one launch and
   one tensor fewer forward, one copy of the gradient fewer backward. */
int op_batchnorm_add(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                     float momentum, float eps, int res);
int op_instancenorm_add(tape *t, int x, int gamma, int beta, float eps, int res);

#endif
