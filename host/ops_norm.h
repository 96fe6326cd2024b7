/* Differentiable ops of the norm family (host/ops/norm*.c, kernels/norm*.cl). Included by host/ops.h. */
#ifndef CLGAN_OPS_NORM_H
#define CLGAN_OPS_NORM_H
#include "tape.h"

#endif
