/* Softmax cross-entropy (host/ops/xent.c). Not in host/ops.h so that the kernels' owners' files stay
 * untouched; include it where needed. */
#ifndef CLGAN_OPS_XENT_H
#define CLGAN_OPS_XENT_H
#include "tape.h"
/* Scalar: scale * sum_n -sum_k t[n,k] * log_softmax(x[n])_k for logits x {N, K, 1, 1} (or any shape
 * of N rows of K = c*h*w) and targets t of x's shape (one-hot labels: torch's F.cross_entropy with
 * reduction='sum' times scale; soft targets allowed). No gradient to the targets. Gradient:
 * scale * g * ((sum_k t[n,k]) * softmax(x[n]) - t[n]). Computed on the host in double from a read
 * of x (N x K floats per step: a 10-class classifier's logits), so it needs no kernel. */
int op_softmax_xent_sum(tape *t, int x, int target, float scale);
#endif
