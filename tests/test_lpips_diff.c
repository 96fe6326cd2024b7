/* op_lpips_diff (host/ops_lpips.h): (a/(|a| + eps) - b/(|b| + eps))^2 with |.| over the channels.
 *
 * Part 1, against a plain C double-precision reference, forward and backward (both inputs' gradients,
 * into buffers that start all NaN: the first write must overwrite), at odd sizes and odd offsets
 * (N 3, C 5, 7x9; N 2, C 64, 3x5), eps 1e-10 as lpips; in the first case some pixels of a are all zero
 * (a ReLU's output), where only the 1/(|a| + eps) term remains. dL/dy = y - T from
 * L = 0.5 sum (y - T)^2. Tolerance 1e-5 of max(|ref|, 0.01) forward, 1e-4 of max(|ref|, 0.1) backward.
 *
 * Part 2 (not under CLGAN_TEST_SMALL), finite differences through the tape:
 * a and b are parameters of one net whose gradient
 * buffer starts random (an op that overwrote instead of adding fails); central differences per element,
 * step 1e-3 of max(|value|, rms); tolerance 1e-2 of max(|analytic|, rms) (L is not quadratic here). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "ops_lpips.h"
#include "rng.h"
#include "util.h"


static void test_ref(int N, int C, int H, int W, int zero_pixels) {
    const double eps = 1e-10;
    int HW = H * W;
    size_t n = (size_t)N * C * HW;
    float *a = randnz(n, 0.0f, 1.0f), *b = randnz(n, 0.0f, 1.0f);
    if (zero_pixels) /* pixels 0 and 4 of sample 1 all zero in a */
        for (int c = 0; c < C; c++) a[((size_t)1 * C + c) * HW] = a[((size_t)1 * C + c) * HW + 4] = 0.0f;
    tape t;
    tape_init(&t, cl);
    int av = grad_leaf(&t, a, N, C, H, W, 29, 31), bv = grad_leaf(&t, b, N, C, H, W, 7, 3);
    int y = op_lpips_diff(&t, av, bv, 1e-10f);
    double *yr = dvec(n), *ga = dvec(n), *gb = dvec(n);
    float *yg = dev_download(cl, tape_val(&t, y));
    float *T = randnz(n, 0.0f, 0.5f);
    for (int s = 0; s < N; s++)
        for (int p = 0; p < HW; p++) {
            double sa = 0, sb = 0;
            for (int c = 0; c < C; c++) {
                size_t e = ((size_t)s * C + c) * HW + p;
                sa += (double)a[e] * a[e];
                sb += (double)b[e] * b[e];
            }
            double na = sqrt(sa), nb = sqrt(sb), ag = 0, bg = 0;
            for (int c = 0; c < C; c++) {
                size_t e = ((size_t)s * C + c) * HW + p;
                double d = a[e] / (na + eps) - b[e] / (nb + eps);
                yr[e] = d * d;
                double g = 2 * d * ((double)yg[e] - T[e]); /* dL/dy from the device's y */
                ag += a[e] * g;
                bg += b[e] * g;
            }
            for (int c = 0; c < C; c++) {
                size_t e = ((size_t)s * C + c) * HW + p;
                double d = a[e] / (na + eps) - b[e] / (nb + eps);
                double g = 2 * d * ((double)yg[e] - T[e]);
                ga[e] = g / (na + eps) - (na > 0 ? a[e] * ag / ((na + eps) * (na + eps) * na) : 0);
                gb[e] = -(g / (nb + eps) - (nb > 0 ? b[e] * bg / ((nb + eps) * (nb + eps) * nb) : 0));
            }
        }
    char what[112];
    snprintf(what, sizeof what, "lpips_diff fwd %dx%dx%dx%d%s", N, C, H, W, zero_pixels ? " (zero pixels)" : "");
    check_close(what, yg, yr, (long)n, 1e-5, 0.01);
    tape_backward(&t, op_sqerr_sum(&t, y, tape_input(&t, upload_at(T, N, C, H, W, 5)), 0.5f));
    float *gag = dev_download(cl, t.vars[av].grad), *gbg = dev_download(cl, t.vars[bv].grad);
    snprintf(what, sizeof what, "lpips_diff d/da %dx%dx%dx%d", N, C, H, W);
    check_close(what, gag, ga, (long)n, 1e-4, 0.1);
    snprintf(what, sizeof what, "lpips_diff d/db %dx%dx%dx%d", N, C, H, W);
    check_close(what, gbg, gb, (long)n, 1e-4, 0.1);
    free(a); free(b); free(yr); free(ga); free(gb); free(yg); free(T); free(gag); free(gbg);
    tape_free(&t);
    release_bufs();
}

static tape FT;
enum { FN = 2, FC = 4, FH = 3, FW = 2 };

static int fd_forward(net *n, tensor target) {
    tape_reset(&FT);
    int y = op_lpips_diff(&FT, tape_param(&FT, n, 0), tape_param(&FT, n, 1), 1e-10f);
    return op_sqerr_sum(&FT, y, tape_input(&FT, target), 0.5f);
}

static void fd_case(void) {
    net n;
    net_init(&n, cl, "fd");
    net_add(&n, "a", 4, (int[]){FN, FC, FH, FW});
    net_add(&n, "b", 4, (int[]){FN, FC, FH, FW});
    net_alloc(&n);
    float *w0 = randnz(n.total, 0.1f, 1.0f);
    net_upload(&n, w0);
    float *tv = randnz((size_t)FN * FC * FH * FW, 0.0f, 0.3f);
    tensor target = upload_at(tv, FN, FC, FH, FW, 5);
    float *g0 = randnz(n.total, 0.0f, 1.0f), *an = xmalloc(n.total * sizeof *an);
    clg_write(cl, n.g, 0, n.total, g0);
    int L = fd_forward(&n, target);
    double L0 = tape_read_scalar(&FT, L);
    tape_backward(&FT, L);
    net_grad_settle(&n);
    clg_read(cl, n.g, 0, n.total, an);
    for (int p = 0; p < n.np; p++) {
        const param *pp = &n.p[p];
        double as = 0, ws = 0;
        for (size_t i = pp->off; i < pp->off + pp->numel; i++) {
            an[i] -= g0[i];
            as += (double)an[i] * an[i];
            ws += (double)w0[i] * w0[i];
        }
        as = sqrt(as / pp->numel);
        ws = sqrt(ws / pp->numel);
        double worst = 0;
        for (size_t i = pp->off; i < pp->off + pp->numel; i++) {
            float old = w0[i];
            double h = 1e-3 * fmax(fabs(old), ws);
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
        printf("%s fd lpips_diff d%s n=%zu L=%.4g worst %.2e (grad rms %.3g) tol 1e-02\n", ok ? "ok  " : "FAIL", pp->name,
               pp->numel, L0, worst, as);
    }
    free(w0); free(tv); free(g0); free(an);
    net_free(&n);
    release_bufs();
}

int main(void) {
    cl = dev_open_for_test();
    if (!cl) return 1;
    R = rng_seq_make(42, RNG_STREAM_TEST, 19);
    test_ref(3, 5, 7, 9, 1);
    test_ref(2, 64, 3, 5, 0);
    if (!test_small()) {
        tape_init(&FT, cl);
        fd_case();
        tape_free(&FT);
    }
    clg_close(cl);
    TEST_END();
}
