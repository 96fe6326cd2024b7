/* Synchronised batch norm and the gradient sum (host/comm.h) against a double-precision C reference of
 * one rank with the whole batch. Every rank builds the same random batch (odd sizes, x off-centre,
 * tensors at non-zero offsets), takes its rows as trainer_shard splits them (uneven: 5 rows over 2 ranks
 * are 3 + 2), runs op_batchnorm in training mode with the loss L_r = 0.5 / n_r * sum (y - T)^2 over its
 * rows (a mean over its own rows, as every model's loss), backward, and optim_step; it checks
 *   forward:  its rows of y = BN(x) with the whole batch's statistics, and the running statistics
 *             (unbiased variance over all N*H*W values);
 *   backward: its rows of dx (scaled back from its rows' mean by n_r / N);
 *   optim_step: the network's gradient after the step's allreduce = dgamma, dbeta of the whole batch's
 *             L = 0.5 / N * sum (y - T)^2.
 * Plain build (build/tests/test_mpi_norm): one rank, the op unchanged. tests/test_mpi.sh runs the MPI
 * build (build/tests/test_mpi_norm_mpi) on 2 and 3 ranks. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "comm.h"
#include "devtest.h"
#include "ops.h"
#include "optim.h"
#include "rng.h"
#include "tape_data.h"

static clg_ctx *cl;

static float *randv(rng_seq *rs, size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng_uniform(rs);
    return v;
}

static float *download(tensor t) {
    float *h = xmalloc(tnumel(t) * sizeof *h);
    clg_read(cl, t.mem, t.off, tnumel(t), h);
    return h;
}

static void run_case(int N, int C, int H, int W, unsigned seed) {
    const int R = comm_size(), r = comm_rank(), HW = H * W, M = N * HW;
    const float eps = 1e-5f, momentum = 0.1f;
    const size_t n = (size_t)N * C * HW, row = (size_t)C * HW;
    rng_seq rs = rng_seq_make(seed, RNG_STREAM_TEST, 0); /* the same draws on every rank */
    float *x = randv(&rs, n, 1.0f, 5.0f), *T = randv(&rs, n, -1.5f, 1.5f);
    float *gamma = randv(&rs, (size_t)C, 0.5f, 1.5f), *beta = randv(&rs, (size_t)C, -1, 1);
    float *rm0 = randv(&rs, (size_t)C, 2.0f, 4.0f), *rv0 = randv(&rs, (size_t)C, 0.5f, 2.0f);
    for (int c = 0; c < C; c += 2) gamma[c] = -gamma[c];
    int base = N / R, rem = N % R, row0 = r * base + (r < rem ? r : rem), nr = base + (r < rem);
    printf("-- batch norm %dx%dx%dx%d over %d rank(s): rank %d has rows %d..%d\n", N, C, H, W, R, r, row0, row0 + nr - 1);

    /* the whole batch in double: statistics, y, dy of L = 0.5/N sum (y - T)^2, dx, dgamma, dbeta */
    double *mean = xcalloc((size_t)C, sizeof *mean), *var = xcalloc((size_t)C, sizeof *var);
    double *y = xmalloc(n * sizeof *y), *dx = xmalloc(n * sizeof *dx);
    double *dg = xcalloc((size_t)C, sizeof *dg), *db = xcalloc((size_t)C, sizeof *db);
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < N; i++)
            for (int p = 0; p < HW; p++) mean[c] += x[(size_t)i * row + (size_t)c * HW + p];
        mean[c] /= M;
        for (int i = 0; i < N; i++)
            for (int p = 0; p < HW; p++) {
                double d = x[(size_t)i * row + (size_t)c * HW + p] - mean[c];
                var[c] += d * d;
            }
        var[c] /= M;
        double inv = 1.0 / sqrt(var[c] + eps), s1 = 0, s2 = 0;
        for (int i = 0; i < N; i++)
            for (int p = 0; p < HW; p++) {
                size_t k = (size_t)i * row + (size_t)c * HW + p;
                double xh = (x[k] - mean[c]) * inv;
                y[k] = xh * gamma[c] + beta[c];
                double dy = (y[k] - T[k]) / N;
                s1 += dy, s2 += dy * xh;
            }
        db[c] = s1, dg[c] = s2;
        for (int i = 0; i < N; i++)
            for (int p = 0; p < HW; p++) {
                size_t k = (size_t)i * row + (size_t)c * HW + p;
                double xh = (x[k] - mean[c]) * inv;
                dx[k] = gamma[c] * inv * ((y[k] - T[k]) / N - s1 / M - xh * s2 / M);
            }
    }

    /* this rank: its rows at offsets, the parameters in a net */
    tape t;
    tape_init(&t, cl);
    net nt;
    net_init(&nt, cl, "bn");
    int gi = net_add(&nt, "gamma", 1, (int[]){C}), bi = net_add(&nt, "beta", 1, (int[]){C});
    net_alloc(&nt);
    clg_write(cl, nt.w, nt.p[gi].off, (size_t)C, gamma);
    clg_write(cl, nt.w, nt.p[bi].off, (size_t)C, beta);
    net_zero_grad(&nt);
    optim o;
    optim_adam(&o, &nt, 1e-3, 0.9, 0.999, 1e-8, 0.0);
    comm_set_share((double)nr / N);
    tensor xt = dev_upload_at(cl, x + (size_t)row0 * row, nr, C, H, W, 29);
    int xv = tape_new(&t, nr, C, H, W, 1); /* a variable that wants its gradient */
    k_axpby(cl, tape_val(&t, xv), xt, (size_t)nr * row, 1.0f, 0.0f);
    tensor rmt = dev_upload_at(cl, rm0, C, 1, 1, 1, 5), rvt = dev_upload_at(cl, rv0, C, 1, 1, 1, 17);
    int yv = op_batchnorm(&t, xv, tape_param(&t, &nt, gi), tape_param(&t, &nt, bi), rmt, rvt, 1, momentum, eps);
    int Tv = tape_input(&t, dev_upload_at(cl, T + (size_t)row0 * row, nr, C, H, W, 3));
    tape_backward(&t, op_sqerr_sum(&t, yv, Tv, 0.5f / (float)nr));
    optim_step(&o); /* sums the ranks' gradients into nt.g before the update */

    char what[96];
    size_t mine = (size_t)nr * row;
    float *yg = download(tape_val(&t, yv));
    snprintf(what, sizeof what, "rank %d: its rows of y", r);
    check_close(what, yg, y + (size_t)row0 * row, (long)mine, 1e-5, 1.0);
    double *rm = xmalloc((size_t)C * sizeof *rm), *rv = xmalloc((size_t)C * sizeof *rv);
    for (int c = 0; c < C; c++) {
        rm[c] = (1 - (double)momentum) * rm0[c] + (double)momentum * mean[c];
        rv[c] = (1 - (double)momentum) * rv0[c] + (double)momentum * var[c] * M / (M - 1);
    }
    float *rmg = download(rmt), *rvg = download(rvt);
    snprintf(what, sizeof what, "rank %d: running mean", r);
    check_close(what, rmg, rm, C, 1e-5, 1.0);
    snprintf(what, sizeof what, "rank %d: running variance (unbiased, all ranks)", r);
    check_close(what, rvg, rv, C, 1e-5, 1.0);
    float *dxg = download(t.vars[xv].grad);
    for (size_t i = 0; i < mine; i++) dxg[i] *= (float)nr / (float)N; /* its rows' mean -> the batch's mean */
    snprintf(what, sizeof what, "rank %d: its rows of dx", r);
    check_close(what, dxg, dx + (size_t)row0 * row, (long)mine, 1e-4, 1e-2);
    float *gall = xmalloc(nt.total * sizeof *gall);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, gall);
    snprintf(what, sizeof what, "rank %d: dgamma summed over the ranks", r);
    check_close(what, gall + nt.p[gi].off, dg, C, 1e-4, 1e-2);
    snprintf(what, sizeof what, "rank %d: dbeta summed over the ranks", r);
    check_close(what, gall + nt.p[bi].off, db, C, 1e-4, 1e-2);

    free(gall), free(dxg), free(rmg), free(rvg), free(rm), free(rv), free(yg);
    optim_free(&o);
    net_free(&nt);
    tape_free(&t);
    clReleaseMemObject(xt.mem), clReleaseMemObject(rmt.mem), clReleaseMemObject(rvt.mem);
    free(x), free(T), free(gamma), free(beta), free(rm0), free(rv0);
    free(mean), free(var), free(y), free(dx), free(dg), free(db);
}

int main(int argc, char **argv) {
    if (comm_init(&argc, &argv) != 0) {
        printf("FAIL comm_init\n");
        return 1;
    }
    cl = dev_open_for_test();
    if (!cl) return 1;
    printf("%d rank(s), %s\n", comm_size(), comm_built_with_mpi() ? "built with MPI" : "the single-rank build");
    run_case(5, 3, 3, 7, 11);  /* BatchNorm2d, rows split unevenly over 2 ranks */
    run_case(7, 4, 1, 1, 12);  /* BatchNorm1d {N, C, 1, 1}: every rank needs 2 rows (up to 3 ranks) */
    run_case(6, 5, 9, 9, 13);  /* an even split, a larger plane */
    clg_close(cl);
    int failed = comm_max_int(check_failures); /* every rank's verdict */
    comm_finalize();
    if (failed && !check_failures) printf("another rank failed\n");
    printf("%d checks, %d failed\n", check_count, check_failures);
    return failed ? 1 : 0;
}
