/* The VAE's reconstruction loss on a vector kernel (host/ops/vae.c, kernels/linear_bce.cl). */
#ifndef CLGAN_OPS_VAE_H
#define CLGAN_OPS_VAE_H
#include "tape.h"

/* op_bce_sum's values and gradient (scale * sum of PyTorch's BCE terms of p against target, logs clamped
 * at -100), its terms eight per work-item: PoCL vectorises the log there (host/ops/vae.c). */
int op_bce_sum_vec(tape *t, int p, int target, float scale);

#endif
