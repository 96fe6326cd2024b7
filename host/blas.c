#include "blas.h"

#include <clblast_c.h>

#include "clerr.h"
#include "util.h"

void blas_gemm(clg_ctx *c, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
               cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
               cl_mem cm, size_t c_off, size_t ldc) {
    cl_event ev = NULL;
    CLBlastStatusCode st = CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                        trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a,
                                        a_off, lda, b, b_off, ldb, beta, cm, c_off, ldc, &c->q, c->profiling ? &ev : NULL);
    if (st != CLBlastSuccess)
        die("CLBlastSgemm(%s%s, m=%zu n=%zu k=%zu) on %s failed: %s (%d)", trans_a ? "T" : "N", trans_b ? "T" : "N",
            m, n, k, c->device_name, cl_err_name(st), (int)st);
    if (ev) {
        char name[64];
        snprintf(name, sizeof name, "sgemm %s%s %zux%zux%zu", trans_a ? "T" : "N", trans_b ? "T" : "N", m, n, k);
        clg_prof_event(c, name, ev);
    }
}
