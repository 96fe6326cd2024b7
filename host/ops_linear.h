/* Fully-connected layers (host/ops/linear.c, kernels/linear.cl): the plain layer, and the layer with
 * its activation fused (one launch forward, two backward). Included by host/ops.h users that want them. */
#ifndef CLGAN_OPS_LINEAR_H
#define CLGAN_OPS_LINEAR_H
#include "tape.h"

/* The activation of op_linear_act; the values are kernels/linear.cl's act argument. */
enum { LINEAR_ACT_NONE = 0, LINEAR_ACT_RELU = 1, LINEAR_ACT_SIGMOID = 2 };

/* y = act(x W^T + b): x {B, ...} flattened per sample, W {out, in} (PyTorch's layout), b {out} or -1.
 * The same values as op_relu / op_sigmoid over op_linear, as one tape node. ReLU's gradient at 0 is 0. */
int op_linear_act(tape *t, int x, int w, int b, int act);

/* Which GEMM op_linear and op_linear_act use: 0 (default) chooses -- clgan's own kernels
 * (kernels/linear.cl) on CPUs and, on GPUs, for skinny products (a side <= 16); CLBlast for the other
 * products on GPUs; 1 forces CLBlast, 2 the own kernels. With 0, CLGAN_LINEAR=clblast|own in the
 * environment forces either. Returns the previous choice. For tests and benchmarks; not thread-safe. */
int linear_set_impl(int impl);

#endif
