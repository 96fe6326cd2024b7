/* op_softmax_xent_sum (host/ops/xent.c): the forward against a double-precision reference, and the
 * gradient against central finite differences of the loss, for logits {7, 11} (odd sizes) with
 * one-hot and with soft targets (rows not summing to 1), scale 1/7:
 *   case "alone":   L = xent(y, t), y = 1.0 * x (y's gradient written first, beta 0)
 *   case "after":   L = 0.3 * sqerr(y, u) + xent(y, t), xent recorded last: its backward runs first (beta 0)
 *   case "before":  xent recorded first: it runs second and must add to y's gradient (beta 1)
 * x is a network parameter whose gradient buffer starts with random values: the analytic gradient is
 * what backward added. Every element is checked: |fd - an| <= 2e-2 * max(|an|, rms of the gradient);
 * the step is 1e-2 * max(|x|, rms x) and the difference uses the float32 values actually uploaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "ops_xent.h"
#include "rng.h"
#include "util.h"

enum { N = 7, K = 11 };
static clg_ctx *cl;
static tape T;
static net X;
static tensor tgt, u;

static int build(int mode) {
    tape_reset(&T);
    int x = tape_param(&T, &X, 0), y = op_scale(&T, x, 1.0f), t = tape_input(&T, tgt);
    if (mode == 0) return op_softmax_xent_sum(&T, y, t, 1.0f / N);
    if (mode == 1) {
        int s = op_sqerr_sum(&T, y, tape_input(&T, u), 0.3f);
        return op_lincomb(&T, s, 1.0f, op_softmax_xent_sum(&T, y, t, 1.0f / N), 1.0f);
    }
    int c = op_softmax_xent_sum(&T, y, t, 1.0f / N);
    return op_lincomb(&T, c, 1.0f, op_sqerr_sum(&T, y, tape_input(&T, u), 0.3f), 1.0f);
}

static double ref_loss(const float *x, const float *t, int mode, const float *uv) {
    double l = 0;
    for (int i = 0; i < N; i++) {
        double mx = -1e300, se = 0;
        for (int k = 0; k < K; k++) mx = fmax(mx, x[i * K + k]);
        for (int k = 0; k < K; k++) se += exp(x[i * K + k] - mx);
        for (int k = 0; k < K; k++) l -= t[i * K + k] * (x[i * K + k] - mx - log(se)) / N;
    }
    if (mode)
        for (int i = 0; i < N * K; i++) l += 0.3 * (x[i] - uv[i]) * (x[i] - uv[i]);
    return l;
}

int main(void) {
    if (!(cl = dev_open_for_test())) return 1;
    rng_seq R = rng_seq_make(777, 0, 0);
    tape_init(&T, cl);
    net_init(&X, cl, "x");
    int shape[2] = {N, K};
    net_add(&X, "logits", 2, shape);
    net_alloc(&X);
    float x[N * K], t[N * K], uv[N * K], g0[N * K], g1[N * K], an[N * K];
    for (int i = 0; i < N * K; i++) x[i] = 6 * rng_uniform(&R) - 3, uv[i] = rng_uniform(&R);
    u = (tensor){.mem = clg_alloc(cl, N * K), .off = 0, .n = N, .c = K, .h = 1, .w = 1};
    clg_write(cl, u.mem, 0, N * K, uv);
    tgt = (tensor){.mem = clg_alloc(cl, N * K + 5), .off = 5, .n = N, .c = K, .h = 1, .w = 1}; /* non-zero offset */
    const char *modes[3] = {"alone", "after sqerr (beta 0)", "before sqerr (beta 1)"};
    for (int soft = 0; soft < 2; soft++) {
        for (int i = 0; i < N; i++)
            for (int k = 0; k < K; k++) t[i * K + k] = soft ? 0.5f * rng_uniform(&R) : (float)(k == (i * 5 + 3) % K);
        clg_write(cl, tgt.mem, 5, N * K, t);
        for (int mode = 0; mode < 3; mode++) {
            net_upload(&X, x);
            for (int i = 0; i < N * K; i++) g0[i] = rng_uniform(&R) - 0.5f;
            clg_write(cl, X.g, X.p[0].off, N * K, g0);
            T.grad_enabled = 1;
            int L = build(mode);
            float lv = tape_read_scalar(&T, L);
            tape_backward(&T, L);
            clg_read(cl, X.g, X.p[0].off, N * K, g1);
            for (int i = 0; i < N * K; i++) an[i] = g1[i] - g0[i];
            double ref = ref_loss(x, t, mode, uv);
            char what[128];
            snprintf(what, sizeof what, "xent %s, %s targets: loss", modes[mode], soft ? "soft" : "one-hot");
            check_close(what, &lv, &ref, 1, 1e-6, 1e-6);
            T.grad_enabled = 0;
            float nog = tape_read_scalar(&T, build(mode));
            CHECK(nog == lv, "%s: the loss without gradients differs (%.9g vs %.9g)", what, nog, lv);
            /* finite differences over every element */
            double rms = 0, grms = 0;
            for (int i = 0; i < N * K; i++) rms += x[i] * x[i] / (N * K), grms += (double)an[i] * an[i] / (N * K);
            rms = sqrt(rms), grms = sqrt(grms);
            double worst = 0;
            float xp[N * K];
            for (int i = 0; i < N * K; i++) {
                double h = 1e-2 * fmax(fabs(x[i]), rms);
                memcpy(xp, x, sizeof xp);
                xp[i] = (float)(x[i] + h);
                float hi = xp[i];
                net_upload(&X, xp);
                float lp = tape_read_scalar(&T, build(mode));
                xp[i] = (float)(x[i] - h);
                float lo = xp[i];
                net_upload(&X, xp);
                float lm = tape_read_scalar(&T, build(mode));
                double fd = ((double)lp - lm) / ((double)hi - lo);
                worst = fmax(worst, fabs(fd - an[i]) / fmax(fabs(an[i]), grms));
            }
            int ok = worst <= 2e-2 && grms > 0;
            check_count++;
            if (!ok) check_failures++;
            printf("%s xent %-22s %-7s targets: gradient vs finite differences, %d elements, worst rel err %.2e "
                   "(tol 2e-2)\n", ok ? "ok  " : "FAIL", modes[mode], soft ? "soft" : "one-hot", N * K, worst);
        }
    }
    tape_free(&T);
    net_free(&X);
    clReleaseMemObject(u.mem);
    clReleaseMemObject(tgt.mem);
    clg_close(cl);
    TEST_END();
}
