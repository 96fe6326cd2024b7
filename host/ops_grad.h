/* Backward passes as differentiable ops (host/ops/gradgraph.c), for gradient penalties. */
#ifndef CLGAN_OPS_GRAD_H
#define CLGAN_OPS_GRAD_H
#include "tape.h"

/* d y / d x for a scalar y, as a variable built from ops on the tape, so that a loss made from it can
 * be differentiated again (WGAN-GP). Supported between x and y: linear, conv2d (zero padding), relu,
 * leaky_relu, dropout, reshape, add, scale, sum, concat_channels (a conditional critic's label planes). */
int tape_grad_graph(tape *t, int y, int x);

/* The ops those gradients are made of. */
int op_linear_input_grad(tape *t, int dy, int w, tensor xshape); /* dy W, shaped like x */
int op_lrelu_mask(tape *t, int g, tensor x, float slope);        /* g * (x > 0 ? 1 : slope) */
int op_broadcast_scalar(tape *t, int s, tensor shape, float scale);
int op_rownorm(tape *t, int x);                                   /* per-sample L2 norm {N, 1, 1, 1} */

#endif
