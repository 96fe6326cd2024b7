/* Differentiable ops of the elem family (host/ops/elem*.c, kernels/elem*.cl). Included by host/ops.h. */
#ifndef CLGAN_OPS_ELEM_H
#define CLGAN_OPS_ELEM_H
#include "tape.h"

#endif
