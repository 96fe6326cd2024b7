/* Matrix multiply on the device, row-major, through CLBlast:
 * C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T; A is m x k after op, B k x n, C m x n. */
#ifndef CLGAN_BLAS_H
#define CLGAN_BLAS_H
#include "device.h"

void blas_gemm(clg_ctx *c, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
               cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
               cl_mem cm, size_t c_off, size_t ldc);

#endif
