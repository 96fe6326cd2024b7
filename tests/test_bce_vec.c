/* op_bce_sum_vec (host/ops/vae.c, kernels/linear_bce.cl: the VAE's reconstruction loss, its terms eight
 * per work-item) against a plain C double-precision reference and against op_bce_sum (loss.c), on random
 * data at odd sizes (a tail of n % 8 elements, n < 8) and non-zero offsets, probabilities including
 * exactly 0 and 1 (the logs' clamp at -100).
 *   forward: scale * sum -(t log p + (1-t) log(1-p)), error |got - ref| / (scale * sum |terms|), tol 1e-5;
 *            and |vec - op_bce_sum| / that magnitude, tol 1e-5 (the two kernels sum in other orders);
 *   backward: dp = g0 + d, d = scale * (p - t) / max(p(1-p), 1e-12) (the gradient starts at random values
 *            g0: the op must add), |got - ref| / (|g0| + |d|), tol 1e-5, on elements other than 0 and 1;
 *   finite differences: the float32 loss at p +- h (h = 1e-3, p in [0.1, 0.9]) against the analytic
 *            gradient, |fd - an| <= 2e-2 * max(|an|, RMS of the gradient), every element of n = 37. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "ops_vae.h"
#include "rng.h"
#include "tape_data.h"
#include "util.h"

static clg_ctx *cl;
static rng_seq R;

static void case_ref(int n, float scale) {
    float *p = xmalloc((size_t)n * sizeof *p), *tg = xmalloc((size_t)n * sizeof *tg), *g0 = xmalloc((size_t)n * sizeof *g0);
    for (int i = 0; i < n; i++) {
        p[i] = 0.001f + 0.998f * rng_uniform(&R), tg[i] = rng_uniform(&R), g0[i] = 2 * rng_uniform(&R) - 1;
        if (i % 13 == 5) p[i] = 0.0f; /* log(0): clamped */
        if (i % 17 == 3) p[i] = 1.0f;
    }
    tape t;
    tape_init(&t, cl);
    tape_new(&t, 1, 5, 1, 1, 0); /* arena tensors at a non-zero offset */
    tensor pt = dev_upload_at(cl, p, n, 1, 1, 1, 29), tt = dev_upload_at(cl, tg, n, 1, 1, 1, 3);
    tensor gt = dev_upload_at(cl, g0, n, 1, 1, 1, 11);
    int pv = tape_new_view(&t, pt, 1), tv = tape_input(&t, tt);
    t.vars[pv].grad = gt, t.vars[pv].is_param = 1; /* accumulate into g0, as a parameter's gradient */
    t.vars[pv].requires_grad = 1;
    int l = op_bce_sum_vec(&t, pv, tv, scale), l2 = op_bce_sum(&t, pv, tv, scale);
    tape_backward(&t, l);
    float got = tape_read_scalar(&t, l), old = tape_read_scalar(&t, l2);
    float *dp = dev_download(cl, gt);
    double ref = 0, mag = 0, worst = 0;
    for (int i = 0; i < n; i++) {
        double lp = fmax(log((double)p[i]), -100.0), l1p = fmax(log(1.0 - p[i]), -100.0);
        double term = -(tg[i] * lp + (1.0 - tg[i]) * l1p);
        ref += term, mag += fabs(term);
        if (p[i] == 0.0f || p[i] == 1.0f) continue; /* the gradient's 1e-12 floor: not compared here */
        double d = scale * ((double)p[i] - tg[i]) / fmax((double)p[i] * (1.0 - p[i]), 1e-12), dref = g0[i] + d;
        double e = fabs(dp[i] - dref) / (fabs(g0[i]) + fabs(d));
        if (!(e <= worst)) worst = e;
    }
    ref *= scale, mag *= fabs(scale);
    double ef = fabs(got - ref) / mag, eo = fabs(got - old) / mag;
    CHECK(ef <= 1e-5, "bce_vec n=%d forward err %.2e", n, ef);
    CHECK(eo <= 1e-5, "bce_vec n=%d against op_bce_sum %.2e", n, eo);
    CHECK(worst <= 1e-5, "bce_vec n=%d backward err %.2e", n, worst);
    printf("%s bce_vec n=%-6d forward err %.2e, against op_bce_sum %.2e, backward err %.2e (tol 1e-5)\n",
           ef <= 1e-5 && eo <= 1e-5 && worst <= 1e-5 ? "ok  " : "FAIL", n, ef, eo, worst);
    clReleaseMemObject(pt.mem), clReleaseMemObject(tt.mem), clReleaseMemObject(gt.mem);
    free(p), free(tg), free(g0), free(dp);
    tape_free(&t);
}

static float loss_at(tape *t, const float *p, const float *tg, int n, float *grad) {
    tape_reset(t);
    int pv = tape_new(t, n, 1, 1, 1, grad != NULL);
    clg_write(cl, tape_val(t, pv).mem, tape_val(t, pv).off, (size_t)n, p);
    int l = op_bce_sum_vec(t, pv, tape_upload(t, n, 1, 1, 1, tg), 0.7f);
    if (grad) {
        tape_backward(t, l);
        clg_read(cl, t->vars[pv].grad.mem, t->vars[pv].grad.off, (size_t)n, grad);
    }
    return tape_read_scalar(t, l);
}

static void case_fd(void) {
    enum { N = 37 };
    float p[N], tg[N], an[N];
    for (int i = 0; i < N; i++) p[i] = 0.1f + 0.8f * rng_uniform(&R), tg[i] = rng_uniform(&R);
    tape t;
    tape_init(&t, cl);
    loss_at(&t, p, tg, N, an);
    double gs = 0, worst = 0;
    for (int i = 0; i < N; i++) gs += (double)an[i] * an[i];
    gs = sqrt(gs / N);
    for (int i = 0; i < N; i++) {
        float v = p[i], vp = v + 1e-3f, vm = v - 1e-3f;
        p[i] = vp;
        double lp = loss_at(&t, p, tg, N, NULL);
        p[i] = vm;
        double lm = loss_at(&t, p, tg, N, NULL);
        p[i] = v;
        double fd = (lp - lm) / ((double)vp - vm), e = fabs(fd - an[i]) / fmax(fabs(an[i]), gs);
        if (!(e <= worst)) worst = e;
    }
    CHECK(worst <= 2e-2 && gs > 0, "bce_vec finite differences %.2e", worst);
    printf("%s bce_vec finite differences n=%d max err %.2e (tol 2e-2)\n", worst <= 2e-2 && gs > 0 ? "ok  " : "FAIL", N,
           worst);
    tape_free(&t);
}

int main(void) {
    cl = dev_open_for_test();
    if (!cl) return 1;
    R = rng_seq_make(21, 0, 0);
    static const int sizes[] = {5, 8, 37, 1001, 100352 + 3};
    int ns = test_small() ? 3 : (int)(sizeof sizes / sizeof sizes[0]);
    for (int i = 0; i < ns; i++) case_ref(sizes[i], i % 2 ? 1.0f / 128 : 0.7f);
    if (!test_small()) case_fd();
    clg_close(cl);
    TEST_END();
}
