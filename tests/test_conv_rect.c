/* op_conv2d_rect (host/ops_conv_rect.h): torch.nn.Conv2d with kernel (kh, kw), stride (sh, sw),
 * padding (ph, pw), zero padding.
 *
 * Part 1, against a plain C double-precision reference, forward and backward, on random non-zero inputs
 * at odd offsets of buffers full of garbage: Inception-v3's 1x7 pad (0,3), 7x1 pad (3,0), 1x3 pad (0,1)
 * and 3x1 pad (1,0) at odd sizes (N 3, C 5, 7x9 and 9x6), and a general case (2x3, stride (2,1), pad
 * (1,2), with bias; stride (1,3), pad (2,0)), and (not under CLGAN_TEST_SMALL) a 1x7 conv with 64
 * channels at 70x70 whose column matrix splits the batch into three groups. The gradients of x, w and b
 * go to buffers that start all NaN (the first write, beta 0, must overwrite them). dL/dy = y - T from
 * L = 0.5 sum (y - T)^2, referenced from the device's y. Tolerance 1e-4 relative to max(|ref|, 0.1)
 * (3e-4 for the 70x70 case, whose weight gradient sums 14700 float32 products per element).
 *
 * Part 2 (not under CLGAN_TEST_SMALL), finite differences through the tape:
 * x, w and b are parameters of one net whose gradient
 * buffer starts random (an op that overwrote instead of adding fails); central differences per
 * element. L is quadratic in each element, so central differences are exact up to rounding: tolerance
 * 1e-2 of max(|analytic|, rms). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "rng.h"
#include "util.h"


typedef struct {
    int N, C, H, W, OC, kh, kw, sh, sw, ph, pw, bias;
} rcase;

static void test_ref(const rcase *k) {
    double tol = k->H * k->W > 1000 ? 3e-4 : 1e-4;
    tape t;
    tape_init(&t, cl);
    int OH = (k->H + 2 * k->ph - k->kh) / k->sh + 1, OW = (k->W + 2 * k->pw - k->kw) / k->sw + 1;
    size_t nx = (size_t)k->N * k->C * k->H * k->W, nw = (size_t)k->OC * k->C * k->kh * k->kw;
    size_t ny = (size_t)k->N * k->OC * OH * OW;
    float *x = randnz(nx, 0.05f, 1.0f), *w = randnz(nw, 0.05f, 0.5f), *b = randnz((size_t)k->OC, 0.1f, 1.0f);
    int xv = grad_leaf(&t, x, k->N, k->C, k->H, k->W, 29, 31);
    int wv = grad_leaf(&t, w, k->OC, k->C, k->kh, k->kw, 7, 13);
    int bv = k->bias ? grad_leaf(&t, b, k->OC, 1, 1, 1, 5, 3) : -1;
    int y = op_conv2d_rect(&t, xv, wv, bv, k->sh, k->sw, k->ph, k->pw);
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == k->N && yt.c == k->OC && yt.h == OH && yt.w == OW, "shape %dx%dx%dx%d, want %dx%d", yt.n, yt.c, yt.h,
          yt.w, OH, OW);
    double *yr = dvec(ny);
#define XI(n, c, i, j) ((((size_t)(n) * k->C + (c)) * k->H + (i)) * k->W + (j))
#define WI(o, c, i, j) ((((size_t)(o) * k->C + (c)) * k->kh + (i)) * k->kw + (j))
#define YI(n, o, a, b) ((((size_t)(n) * k->OC + (o)) * OH + (a)) * OW + (b))
    for (int n = 0; n < k->N; n++)
        for (int o = 0; o < k->OC; o++)
            for (int a = 0; a < OH; a++)
                for (int bb = 0; bb < OW; bb++) {
                    double acc = k->bias ? b[o] : 0.0;
                    for (int c = 0; c < k->C; c++)
                        for (int i = 0; i < k->kh; i++)
                            for (int j = 0; j < k->kw; j++) {
                                int iy = a * k->sh - k->ph + i, ix = bb * k->sw - k->pw + j;
                                if (iy >= 0 && iy < k->H && ix >= 0 && ix < k->W) acc += (double)x[XI(n, c, iy, ix)] * w[WI(o, c, i, j)];
                            }
                    yr[YI(n, o, a, bb)] = acc;
                }
    float *yg = dev_download(cl, yt);
    char what[128];
    snprintf(what, sizeof what, "conv_rect %dx%d s(%d,%d) p(%d,%d)%s fwd %dx%dx%dx%d", k->kh, k->kw, k->sh, k->sw, k->ph,
             k->pw, k->bias ? " bias" : "", k->N, k->C, k->H, k->W);
    check_close(what, yg, yr, (long)ny, tol, 0.1);
    float *T = randnz(ny, 0.0f, 1.0f);
    double *dy = dvec(ny);
    for (size_t i = 0; i < ny; i++) dy[i] = (double)yg[i] - T[i];
    tape_backward(&t, op_sqerr_sum(&t, y, tape_input(&t, upload_at(T, yt.n, yt.c, yt.h, yt.w, 3)), 0.5f));
    double *dx = dvec(nx), *dw = dvec(nw), *db = dvec((size_t)k->OC);
    for (int n = 0; n < k->N; n++)
        for (int o = 0; o < k->OC; o++)
            for (int a = 0; a < OH; a++)
                for (int bb = 0; bb < OW; bb++) {
                    double g = dy[YI(n, o, a, bb)];
                    db[o] += g;
                    for (int c = 0; c < k->C; c++)
                        for (int i = 0; i < k->kh; i++)
                            for (int j = 0; j < k->kw; j++) {
                                int iy = a * k->sh - k->ph + i, ix = bb * k->sw - k->pw + j;
                                if (iy < 0 || iy >= k->H || ix < 0 || ix >= k->W) continue;
                                dx[XI(n, c, iy, ix)] += g * w[WI(o, c, i, j)];
                                dw[WI(o, c, i, j)] += g * x[XI(n, c, iy, ix)];
                            }
                }
#undef XI
#undef WI
#undef YI
    float *dxg = dev_download(cl, t.vars[xv].grad), *dwg = dev_download(cl, t.vars[wv].grad);
    snprintf(what, sizeof what, "conv_rect %dx%d s(%d,%d) p(%d,%d) dx", k->kh, k->kw, k->sh, k->sw, k->ph, k->pw);
    check_close(what, dxg, dx, (long)nx, tol, 0.1);
    snprintf(what, sizeof what, "conv_rect %dx%d s(%d,%d) p(%d,%d) dw", k->kh, k->kw, k->sh, k->sw, k->ph, k->pw);
    check_close(what, dwg, dw, (long)nw, tol, 0.1);
    if (k->bias) {
        float *dbg = dev_download(cl, t.vars[bv].grad);
        snprintf(what, sizeof what, "conv_rect %dx%d s(%d,%d) p(%d,%d) db", k->kh, k->kw, k->sh, k->sw, k->ph, k->pw);
        check_close(what, dbg, db, k->OC, tol, 0.1);
        free(dbg);
    }
    free(x); free(w); free(b); free(yr); free(yg); free(T); free(dy); free(dx); free(dw); free(db); free(dxg); free(dwg);
    tape_free(&t);
    release_bufs();
}

/* ---- finite differences: x {2, 3, 5, 6}, w {4, 3, 2, 3}, b {4}, stride (1, 2), pad (1, 1) ---- */

static tape FT;
enum { FN = 2, FC = 3, FH = 5, FW = 6, FO = 4, FKH = 2, FKW = 3, FSH = 1, FSW = 2, FPH = 1, FPW = 1 };

static int fd_forward(net *n, tensor target) {
    tape_reset(&FT);
    int y = op_conv2d_rect(&FT, tape_param(&FT, n, 0), tape_param(&FT, n, 1), tape_param(&FT, n, 2), FSH, FSW, FPH, FPW);
    return op_sqerr_sum(&FT, y, tape_input(&FT, target), 0.5f);
}

static void fd_case(void) {
    net n;
    net_init(&n, cl, "fd");
    net_add(&n, "x", 4, (int[]){FN, FC, FH, FW});
    net_add(&n, "w", 4, (int[]){FO, FC, FKH, FKW});
    net_add(&n, "b", 1, (int[]){FO});
    net_alloc(&n);
    int OH = (FH + 2 * FPH - FKH) / FSH + 1, OW = (FW + 2 * FPW - FKW) / FSW + 1;
    float *w0 = randnz(n.total, 0.1f, 1.0f);
    net_upload(&n, w0);
    float *tv = randnz((size_t)FN * FO * OH * OW, 0.0f, 1.0f);
    tensor target = upload_at(tv, FN, FO, OH, OW, 5);
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
        printf("%s fd conv_rect 2x3 s(1,2) p(1,1) d%s n=%zu L=%.4g worst %.2e (grad rms %.3g) tol 1e-02\n",
               ok ? "ok  " : "FAIL", pp->name, pp->numel, L0, worst, as);
    }
    free(w0); free(tv); free(g0); free(an);
    net_free(&n);
    release_bufs();
}

int main(void) {
    cl = dev_open_for_test();
    if (!cl) return 1;
    R = rng_seq_make(42, RNG_STREAM_TEST, 17);
    static const rcase cases[] = {
        {3, 5, 7, 9, 4, 1, 7, 1, 1, 0, 3, 0}, {3, 5, 9, 6, 6, 7, 1, 1, 1, 3, 0, 0}, {3, 5, 7, 9, 4, 1, 3, 1, 1, 0, 1, 0},
        {3, 5, 9, 6, 3, 3, 1, 1, 1, 1, 0, 0}, {3, 5, 7, 9, 4, 2, 3, 2, 1, 1, 2, 1}, {2, 3, 8, 11, 5, 3, 2, 1, 3, 2, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_ref(&cases[i]);
    if (!test_small()) {
        rcase big = {3, 64, 70, 70, 5, 1, 7, 1, 1, 0, 3, 1}; /* 448 x 4900 column floats per sample: 3 groups */
        test_ref(&big);
        tape_init(&FT, cl);
        fd_case();
        tape_free(&FT);
    }
    clg_close(cl);
    TEST_END();
}
