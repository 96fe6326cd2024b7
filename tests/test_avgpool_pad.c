/* op_avgpool2d_pad and op_avgpool2d_incl (host/ops_avgpool_pad.h): AvgPool2d(k, stride, pad) with
 * count_include_pad=False and True.
 *
 * Part 1, against a plain C double-precision reference, forward and backward, on random non-zero inputs
 * of odd and even sizes (N 3, C 5, 7x9 and 8x6; k3 s2 p1 as BicycleGAN's D_NLayersMulti, plus k2 s2 p1
 * and k3 s1 p1) at odd offsets of their buffers; the input's gradient at an odd offset of a buffer that
 * starts all NaN (the first write, beta 0, must overwrite it). dL/dy = y - T from L = 0.5 sum (y - T)^2,
 * referenced from the device's y. The reference divides each window by its count of in-image elements
 * (pad) or by k*k (incl); the other divisor moves every border output by a third or more. The incl
 * cases: k3 s1 p1 as torchvision's Inception-v3 branch pools, plus k3 s2 p1, k2 s2 p1 and k3 s2 p0.
 * Tolerance 1e-5 relative to max(|ref|, 0.1).
 *
 * Part 2, finite differences through the tape: the input is a net's parameter whose gradient buffer
 * starts random (an op that overwrote instead of adding fails); central differences per element. The op
 * is linear, so L is quadratic and central differences are exact up to rounding: tolerance 1e-2 of
 * max(|analytic|, rms). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "ops_avgpool_pad.h"
#include "rng.h"
#include "util.h"

static int INCL; /* 0: op_avgpool2d_pad (divide by the in-image count), 1: op_avgpool2d_incl (by k*k) */
#define NAME (INCL ? "avgpool2d_incl" : "avgpool2d_pad")

static int pool(tape *t, int x, int k, int s, int pad) {
    return INCL ? op_avgpool2d_incl(t, x, k, s, pad) : op_avgpool2d_pad(t, x, k, s, pad);
}
static double divisor(int k, int r0, int r1, int c0, int c1) { return INCL ? k * k : (r1 - r0) * (c1 - c0); }

/* the reference window of output (a, b): rows [r0, r1), columns [c0, c1) */
static void window(int a, int b, int k, int s, int pad, int H, int W, int *r0, int *r1, int *c0, int *c1) {
    *r0 = a * s - pad < 0 ? 0 : a * s - pad;
    *r1 = a * s - pad + k > H ? H : a * s - pad + k;
    *c0 = b * s - pad < 0 ? 0 : b * s - pad;
    *c1 = b * s - pad + k > W ? W : b * s - pad + k;
}

static void test_ref(int N, int C, int H, int W, int k, int s, int pad) {
    tape t;
    tape_init(&t, cl);
    size_t nx = (size_t)N * C * H * W;
    float *x = randnz(nx, 0.05f, 2.0f);
    int xv = tape_input(&t, upload_at(x, N, C, H, W, 29));
    float *nanv = xmalloc(nx * sizeof *nanv);
    for (size_t i = 0; i < nx; i++) nanv[i] = NAN;
    t.vars[xv].grad = upload_at(nanv, N, C, H, W, 31);
    t.vars[xv].requires_grad = 1;
    int y = pool(&t, xv, k, s, pad);
    int oh = (H + 2 * pad - k) / s + 1, ow = (W + 2 * pad - k) / s + 1;
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N && yt.c == C && yt.h == oh && yt.w == ow, "shape %dx%dx%dx%d, want %dx%d", yt.n, yt.c, yt.h, yt.w,
          oh, ow);
    size_t ny = tnumel(yt);
    double *yr = dvec(ny);
    for (int p = 0; p < N * C; p++)
        for (int a = 0; a < oh; a++)
            for (int b = 0; b < ow; b++) {
                int r0, r1, c0, c1;
                window(a, b, k, s, pad, H, W, &r0, &r1, &c0, &c1);
                double acc = 0;
                for (int i = r0; i < r1; i++)
                    for (int j = c0; j < c1; j++) acc += x[(p * H + i) * W + j];
                yr[(p * oh + a) * ow + b] = acc / divisor(k, r0, r1, c0, c1);
            }
    float *yg = dev_download(cl, yt);
    char what[112];
    snprintf(what, sizeof what, "%s k%d s%d p%d fwd %dx%dx%dx%d", NAME, k, s, pad, N, C, H, W);
    check_close(what, yg, yr, (long)ny, 1e-5, 0.1);
    /* upstream gradient y - T */
    float *T = randnz(ny, 0.0f, 1.0f);
    double *dy = dvec(ny);
    for (size_t i = 0; i < ny; i++) dy[i] = (double)yg[i] - T[i];
    tape_backward(&t, op_sqerr_sum(&t, y, tape_input(&t, upload_at(T, yt.n, yt.c, yt.h, yt.w, 3)), 0.5f));
    double *dx = dvec(nx);
    for (int p = 0; p < N * C; p++)
        for (int a = 0; a < oh; a++)
            for (int b = 0; b < ow; b++) {
                int r0, r1, c0, c1;
                window(a, b, k, s, pad, H, W, &r0, &r1, &c0, &c1);
                double g = dy[(p * oh + a) * ow + b] / divisor(k, r0, r1, c0, c1);
                for (int i = r0; i < r1; i++)
                    for (int j = c0; j < c1; j++) dx[(p * H + i) * W + j] += g;
            }
    float *dxg = dev_download(cl, t.vars[xv].grad);
    snprintf(what, sizeof what, "%s k%d s%d p%d backward", NAME, k, s, pad);
    check_close(what, dxg, dx, (long)nx, 1e-5, 0.1);
    free(x); free(nanv); free(yr); free(yg); free(T); free(dy); free(dx); free(dxg);
    tape_free(&t);
    release_bufs();
}

static tape FT;

static int fd_forward(net *n, tensor target) {
    tape_reset(&FT);
    int y = pool(&FT, tape_param(&FT, n, 0), 3, 2, 1);
    return op_sqerr_sum(&FT, y, tape_input(&FT, target), 0.5f);
}

static void fd_case(void) {
    const int FN = 2, FC = 3, FH = 5, FW = 6;
    net n;
    net_init(&n, cl, "fd");
    net_add(&n, "x", 4, (int[]){FN, FC, FH, FW});
    net_alloc(&n);
    size_t nx = n.p[0].numel;
    float *w0 = randnz(n.total, 0.1f, 2.5f);
    net_upload(&n, w0);
    float *tv = randnz((size_t)FN * FC * 3 * 3, 0.0f, 1.0f);
    tensor target = upload_at(tv, FN, FC, 3, 3, 5);
    float *g0 = randnz(n.total, 0.0f, 1.0f), *an = xmalloc(n.total * sizeof *an);
    clg_write(cl, n.g, 0, n.total, g0);
    int L = fd_forward(&n, target);
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
        double h = 1e-2 * fmax(fabs(old), ws);
        float wp = (float)(old + h), wm = (float)(old - h);
        w0[i] = wp;
        net_upload(&n, w0);
        double Lp = tape_read_scalar(&FT, fd_forward(&n, target));
        w0[i] = wm;
        net_upload(&n, w0);
        double Lm = tape_read_scalar(&FT, fd_forward(&n, target));
        w0[i] = old;
        double fd = (Lp - Lm) / ((double)wp - (double)wm);
        double e = fabs(fd - an[i]) / fmax(fabs(an[i]), as);
        if (!(e <= worst)) worst = e;
    }
    int ok = worst <= 1e-2 && as > 0;
    check_count++;
    if (!ok) check_failures++;
    printf("%s fd %s k3 s2 p1 (5x6) n=%zu L=%.4g worst %.2e (grad rms %.3g) tol 1e-02\n", ok ? "ok  " : "FAIL",
           NAME, nx, L0, worst, as);
    free(w0); free(tv); free(g0); free(an);
    net_free(&n);
    release_bufs();
}

int main(void) {
    cl = dev_open_for_test();
    if (!cl) return 1;
    R = rng_seq_make(42, RNG_STREAM_TEST, 13);
    test_ref(3, 5, 7, 9, 3, 2, 1);
    test_ref(3, 5, 8, 6, 3, 2, 1);
    test_ref(3, 5, 7, 9, 2, 2, 1);
    test_ref(3, 5, 7, 9, 3, 1, 1);
    test_ref(3, 5, 7, 9, 3, 2, 0);
    tape_init(&FT, cl);
    fd_case();
    tape_free(&FT);

    INCL = 1;
    R = rng_seq_make(42, RNG_STREAM_TEST, 23);
    test_ref(3, 5, 7, 9, 3, 1, 1);
    test_ref(3, 5, 8, 6, 3, 1, 1);
    test_ref(3, 5, 7, 9, 3, 2, 1);
    test_ref(3, 5, 7, 9, 2, 2, 1);
    test_ref(3, 5, 7, 9, 3, 2, 0);
    if (!test_small()) { /* Oclgrind (CLGAN_TEST_SMALL): the reference cases only */
        tape_init(&FT, cl);
        fd_case();
        tape_free(&FT);
    }
    clg_close(cl);
    TEST_END();
}
