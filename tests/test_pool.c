/* The pool op family (host/ops_pool.h): maxpool2d, global_avgpool, broadcast_planes.
 *
 * Part 1, against a plain C double-precision reference, forward and backward, on random non-zero
 * inputs with odd sizes (N 3, C 5, H 7, W 9; maxpool also 11x6) at odd offsets of buffers full of
 * garbage; each input's gradient at an odd offset of a buffer that starts all NaN (the first write,
 * beta 0, must overwrite it). The upstream gradient is dL/dy = y - T from L = 0.5 * sum (y - T)^2 with
 * a random T, referenced from the device's y. Max pooling is checked exactly (a copy forward, one
 * window's sum of a few dy backward: 1e-6 with floor 0.1) including ties: inputs rounded to multiples
 * of 0.25 in [-1, 1] give many ties, and the reference picks the first maximum in row-major window order
 * as PyTorch does, so routing a tie's gradient to another element fails. Global average pooling and
 * the broadcast's backward are plane sums of 63 O(1) values: 1e-5 relative to max(|ref|, 1).
 *
 * Part 2, finite differences through the tape: the input is a parameter of a net (its gradient buffer
 * starts random, so an op that overwrote instead of adding fails), one element perturbed at a time and
 * the forward re-run; central differences with w +- h rounded to float32. The ops are linear, so L is
 * quadratic in the input and central differences are exact up to the loss's rounding (~1e-6 of L / h).
 * For max pooling the inputs are a permutation of distinct multiples of 0.02 and h = 5e-3 (< 0.01),
 * so no perturbation changes a window's maximum. Check: |fd - an| <= 1e-2 * max(|an|, rms(an)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static float *randv(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = unif(lo, hi);
    return v;
}

static int upstream_loss(tape *t, int y, double **dy_ref) {
    tensor yv = tape_val(t, y);
    size_t n = tnumel(yv);
    float *T = randv(n, -1, 1), *yg = dev_download(cl, yv);
    int tv = tape_input(t, upload_at(T, yv.n, yv.c, yv.h, yv.w, 3));
    *dy_ref = dvec(n);
    for (size_t i = 0; i < n; i++) (*dy_ref)[i] = (double)yg[i] - T[i];
    free(T);
    free(yg);
    return op_sqerr_sum(t, y, tv, 0.5f);
}

/* ---- part 1 ---- */

static void test_maxpool(int N, int C, int H, int W, int k, int s, int pad, int ties) {
    tape t;
    tape_init(&t, cl);
    size_t nx = (size_t)N * C * H * W;
    float *x = randnz(nx, 0.05f, 2.0f);
    if (ties)
        for (size_t i = 0; i < nx; i++) x[i] = roundf(fmaxf(-1.0f, fminf(1.0f, x[i])) * 4.0f) / 4.0f;
    int xv = grad_leaf(&t, x, N, C, H, W, 29, 31);
    int y = op_maxpool2d(&t, xv, k, s, pad);
    int oh = (H + 2 * pad - k) / s + 1, ow = (W + 2 * pad - k) / s + 1;
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N && yt.c == C && yt.h == oh && yt.w == ow, "maxpool shape %dx%dx%dx%d, want %dx%d", yt.n, yt.c,
          yt.h, yt.w, oh, ow);
    size_t ny = tnumel(yt);
    double *yr = dvec(ny);
    int *arg = xmalloc(ny * sizeof *arg);
    for (int p = 0; p < N * C; p++)
        for (int a = 0; a < oh; a++)
            for (int b = 0; b < ow; b++) {
                double best = -INFINITY;
                int at = -1;
                for (int i = a * s - pad; i < a * s - pad + k; i++)
                    for (int j = b * s - pad; j < b * s - pad + k; j++) {
                        if (i < 0 || j < 0 || i >= H || j >= W) continue;
                        double v = x[(p * H + i) * W + j];
                        if (at < 0 || v > best) best = v, at = (p * H + i) * W + j;
                    }
                yr[(p * oh + a) * ow + b] = best;
                arg[(p * oh + a) * ow + b] = at;
            }
    float *yg = dev_download(cl, yt);
    char what[112];
    snprintf(what, sizeof what, "maxpool2d k%d s%d p%d fwd %dx%dx%dx%d%s (exact)", k, s, pad, N, C, H, W,
             ties ? " ties" : "");
    check_close(what, yg, yr, (long)ny, 0, 1e-30);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double *dx = dvec(nx);
    for (size_t i = 0; i < ny; i++) dx[arg[i]] += dy[i];
    float *dxg = dev_download(cl, t.vars[xv].grad);
    snprintf(what, sizeof what, "maxpool2d k%d s%d p%d backward%s", k, s, pad, ties ? " (ties: first max)" : "");
    check_close(what, dxg, dx, (long)nx, 1e-6, 0.1);
    free(x); free(yr); free(arg); free(yg); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

enum { N_ = 3, C_ = 5, H_ = 7, W_ = 9, PL = N_ * C_, HW = H_ * W_ };

static void test_global_avgpool(void) {
    tape t;
    tape_init(&t, cl);
    float *x = randnz((size_t)PL * HW, 0.05f, 2.0f);
    int xv = grad_leaf(&t, x, N_, C_, H_, W_, 17, 23);
    int y = op_global_avgpool(&t, xv);
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N_ && yt.c == C_ && yt.h == 1 && yt.w == 1, "global_avgpool shape %dx%dx%dx%d", yt.n, yt.c, yt.h,
          yt.w);
    double yr[PL];
    for (int p = 0; p < PL; p++) {
        double acc = 0;
        for (int i = 0; i < HW; i++) acc += x[p * HW + i];
        yr[p] = acc / HW;
    }
    float *yg = dev_download(cl, yt);
    check_close("global_avgpool forward 3x5x7x9 -> 3x5x1x1", yg, yr, PL, 1e-5, 1.0);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double *dx = dvec((size_t)PL * HW);
    for (int p = 0; p < PL; p++)
        for (int i = 0; i < HW; i++) dx[p * HW + i] = dy[p] / HW;
    float *dxg = dev_download(cl, t.vars[xv].grad);
    check_close("global_avgpool backward (dy/63 over NaN dx)", dxg, dx, (long)PL * HW, 1e-6, 1e-3);
    free(x); free(yg); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

static void test_broadcast(void) {
    tape t;
    tape_init(&t, cl);
    float *x = randnz(PL, 0.05f, 2.0f);
    int xv = grad_leaf(&t, x, N_, C_, 1, 1, 13, 5);
    int y = op_broadcast_planes(&t, xv, H_, W_);
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N_ && yt.c == C_ && yt.h == H_ && yt.w == W_, "broadcast shape %dx%dx%dx%d", yt.n, yt.c, yt.h, yt.w);
    double *yr = dvec((size_t)PL * HW);
    for (int p = 0; p < PL; p++)
        for (int i = 0; i < HW; i++) yr[p * HW + i] = x[p];
    float *yg = dev_download(cl, yt);
    check_close("broadcast_planes forward 3x5x1x1 -> 3x5x7x9 (exact)", yg, yr, (long)PL * HW, 0, 1e-30);
    double *dy;
    tape_backward(&t, upstream_loss(&t, y, &dy));
    double dx[PL];
    for (int p = 0; p < PL; p++) {
        dx[p] = 0;
        for (int i = 0; i < HW; i++) dx[p] += dy[p * HW + i];
    }
    float *dxg = dev_download(cl, t.vars[xv].grad);
    check_close("broadcast_planes backward (plane sums of 63)", dxg, dx, PL, 1e-5, 1.0);
    free(x); free(yr); free(yg); free(dy); free(dxg);
    tape_free(&t);
    release_bufs();
}

/* ---- part 2: finite differences ---- */

enum { FD_MAX, FD_GAP, FD_BCAST };
static tape FT;

static int fd_forward(net *n, int kind, tensor target) {
    tape_reset(&FT);
    int a = tape_param(&FT, n, 0), y;
    if (kind == FD_MAX) y = op_maxpool2d(&FT, a, 3, 2, 1);
    else if (kind == FD_GAP) y = op_global_avgpool(&FT, a);
    else y = op_broadcast_planes(&FT, a, 5, 3);
    return op_sqerr_sum(&FT, y, tape_input(&FT, target), 0.5f);
}

static void fd_case(const char *name, int kind) {
    const int FN = 2, FC = 3, FH = kind == FD_BCAST ? 1 : 5, FW = kind == FD_BCAST ? 1 : 7;
    net n;
    net_init(&n, cl, "fd");
    net_add(&n, "x", 4, (int[]){FN, FC, FH, FW});
    net_alloc(&n);
    size_t nx = n.p[0].numel; /* n.total has the 64-float alignment tail */
    float *w0 = randnz(n.total, 0.1f, 2.5f);
    if (kind == FD_MAX) { /* distinct values 0.02 apart, shuffled: no perturbation changes a maximum */
        for (size_t i = 0; i < nx; i++) w0[i] = 0.02f * (float)i - 2.0f;
        for (size_t i = nx - 1; i > 0; i--) {
            size_t j = (size_t)(rng_uniform(&R) * (float)(i + 1)) % (i + 1);
            float tmp = w0[i];
            w0[i] = w0[j], w0[j] = tmp;
        }
    }
    net_upload(&n, w0);
    int ty = kind == FD_MAX ? 3 : kind == FD_GAP ? 1 : 5, tx = kind == FD_MAX ? 4 : kind == FD_GAP ? 1 : 3;
    float *tv = randv((size_t)FN * FC * ty * tx, -1, 1);
    tensor target = upload_at(tv, FN, FC, ty, tx, 5);
    float *g0 = randv(n.total, -1, 1), *an = xmalloc(n.total * sizeof *an);
    clg_write(cl, n.g, 0, n.total, g0);
    int L = fd_forward(&n, kind, target);
    double L0 = tape_read_scalar(&FT, L);
    tape_backward(&FT, L);
    net_grad_settle(&n);
    clg_read(cl, n.g, 0, n.total, an);
    double as = 0, ws = 0;
    for (size_t i = 0; i < nx; i++) {
        an[i] -= g0[i];
        as += (double)an[i] * an[i];
        ws += (double)w0[i] * w0[i];
    }
    as = sqrt(as / nx);
    ws = sqrt(ws / nx);
    double worst = 0;
    for (size_t i = 0; i < nx; i++) {
        float old = w0[i];
        double h = kind == FD_MAX ? 5e-3 : 1e-2 * fmax(fabs(old), ws);
        float wp = (float)(old + h), wm = (float)(old - h);
        w0[i] = wp;
        net_upload(&n, w0);
        double Lp = tape_read_scalar(&FT, fd_forward(&n, kind, target));
        w0[i] = wm;
        net_upload(&n, w0);
        double Lm = tape_read_scalar(&FT, fd_forward(&n, kind, target));
        w0[i] = old;
        double fd = (Lp - Lm) / ((double)wp - (double)wm);
        double e = fabs(fd - an[i]) / fmax(fabs(an[i]), as);
        if (!(e <= worst)) worst = e;
    }
    int ok = worst <= 1e-2 && as > 0;
    check_count++;
    if (!ok) check_failures++;
    printf("%s fd %-28s n=%-4zu L=%-8.4g worst %.2e (grad rms %.3g) tol 1e-02\n", ok ? "ok  " : "FAIL", name, nx, L0,
           worst, as);
    free(w0); free(tv); free(g0); free(an);
    net_free(&n);
    release_bufs();
}

int main(void) {
    double t0 = now_seconds();
    cl = dev_open_for_test();
    if (!cl) return 1;
    R = rng_seq_make(23, RNG_STREAM_TEST, 0);
    test_maxpool(N_, C_, H_, W_, 3, 2, 1, 0); /* torchvision resnet18's pool */
    test_maxpool(N_, C_, H_, W_, 3, 2, 1, 1);
    test_maxpool(2, 3, 11, 6, 2, 2, 0, 0);
    test_maxpool(2, 3, 11, 6, 3, 1, 1, 1);
    test_maxpool(2, 3, 11, 6, 5, 3, 2, 1);
    test_global_avgpool();
    test_broadcast();
    tape_init(&FT, cl);
    fd_case("maxpool2d k3 s2 p1 (5x7)", FD_MAX);
    fd_case("global_avgpool (5x7)", FD_GAP);
    fd_case("broadcast_planes (1x1 -> 5x3)", FD_BCAST);
    tape_free(&FT);
    clg_close(cl);
    printf("runtime %.1f s\n", now_seconds() - t0);
    TEST_END();
}
