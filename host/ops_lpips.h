/* LPIPS's per-layer difference (host/ops/lpips_diff.c, kernels/lpips.cl). */
#ifndef CLGAN_OPS_LPIPS_H
#define CLGAN_OPS_LPIPS_H
#include "tape.h"

/* y = (a / (|a| + eps) - b / (|b| + eps))^2 elementwise, |x| the L2 norm of each pixel's vector over the
 * channels (lpips.normalize_tensor; eps 1e-10 there). a, b {N, C, H, W} of one shape, not the same
 * variable; y has their shape. Gradients to both a and b (zero-norm pixels: only the 1/(|x| + eps)
 * term, where PyTorch's autograd would give NaN). */
int op_lpips_diff(tape *t, int a, int b, float eps);

#endif
