/* Differentiable ops of the conv family (host/ops/conv*.c, kernels/conv*.cl). Included by host/ops.h. */
#ifndef CLGAN_OPS_CONV_H
#define CLGAN_OPS_CONV_H
#include "tape.h"

#endif
