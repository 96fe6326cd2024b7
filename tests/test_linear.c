/* The fully-connected layer op_linear_act (host/ops/linear.c, kernels/linear.cl) on both GEMM paths
 * (linear_set_impl: 2 = clgan's own kernels, 1 = CLBlast with the bias/activation kernels), every
 * activation (none, ReLU, sigmoid), against a plain C double-precision reference on random data. The own
 * kernels run at every legal kernel parameter lin_mr (8 and 4 rows a work-item; a program build each).
 *
 * Reference check: x is a variable at an odd offset of a buffer of garbage, used by two layers that
 * share W and b (so dx is written, then accumulated: beta 0 and 1), W's and b's gradients start as
 * random values (the op must add to them). L = 0.5 sum (y1 - T1)^2 + 0.5 sum (y2 - T2)^2, so the
 * upstream gradient is y - T, taken from the device's y (the forward is checked on its own); the
 * reference's activation derivative is taken from the device's y as the kernels do (ReLU: y > 0), so a
 * pre-activation within rounding of 0 cannot flip a gate. Error: max |got - ref| / (sum |terms| + 1e-6)
 * over every element, tolerance 1e-5 (float32 sums of up to 100 terms are ~1e-7 of sum |terms|).
 * Shapes (B x in -> out): 7x93->13 (rows and columns past a tile, k past a multiple of 8), 5x19->37
 * (two full 16-column tiles and a partial one), 9x3->21 (k < 8), 6x40->5 and 17x5->400 (the VAE's
 * skinny layers, batch not a multiple of 4), 3x16->16 (exact tiles).
 *
 * Finite differences (tests/test_gradcheck.c's method): for each activation and path, a 3x13->7 layer
 * with L = 0.5 sum (y - T)^2: central differences of the float32 loss at the actually uploaded
 * perturbed values against the analytic gradient of every element of x, W and b, step 1e-2 *
 * max(|v|, RMS), tolerance 2e-2 * max(|an|, RMS of the tensor's gradient); ReLU inputs are redrawn until
 * every one is at least 0.03 from 0. CLGAN_TEST_SMALL=1 (Oclgrind) keeps the first two shapes and
 * skips the finite differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "ops_linear.h"
#include "rng.h"
#include "tape_data.h"
#include "util.h"

static clg_ctx *cl;
static rng_seq R;

static void randv(float *v, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng_uniform(&R);
}

static double act_d(double v, int act) {
    if (act == LINEAR_ACT_RELU) return v > 0 ? v : 0;
    if (act == LINEAR_ACT_SIGMOID) return 1.0 / (1.0 + exp(-v));
    return v;
}

/* max |got - ref| / (mag + 1e-6), printed as one line; counts a failure above tol. */
static void report(const char *what, const float *got, const double *ref, const double *mag, size_t n, double tol) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]) / (mag[i] + 1e-6);
        if (!(e <= worst)) worst = e, at = i; /* NaN is worst */
    }
    int ok = worst <= tol;
    check_count++;
    check_failures += !ok;
    printf("%s %-52s n=%-6zu max err %.2e (tol %.0e)", ok ? "ok  " : "FAIL", what, n, worst, tol);
    if (!ok) printf("  at [%zu] got %.9g ref %.9g", at, got[at], ref[at]);
    printf("\n");
}

static void case_ref(int impl, int act, int B, int in, int out) {
    static const char *acts[] = {"none", "relu", "sigmoid"};
    char what[128];
    tape t;
    tape_init(&t, cl);
    net nt;
    net_init(&nt, cl, "lin");
    int wi = net_add(&nt, "w", 2, (int[]){out, in}), bi = net_add(&nt, "b", 1, (int[]){out});
    net_alloc(&nt);
    size_t nx = (size_t)B * in, nw = (size_t)out * in, ny = (size_t)B * out;
    float *x = xmalloc(nx * sizeof *x), *pw = xmalloc(nt.total * sizeof *pw), *g0 = xmalloc(nt.total * sizeof *g0);
    float *T = xmalloc(2 * ny * sizeof *T);
    randv(x, nx, -1, 1), randv(pw, nt.total, -0.5f, 0.5f), randv(g0, nt.total, -1, 1), randv(T, 2 * ny, -1, 1);
    const float *w = pw + nt.p[wi].off, *b = pw + nt.p[bi].off;
    net_upload(&nt, pw);
    clg_write(cl, nt.g, 0, nt.total, g0);
    tape_new(&t, 1, 3, 1, 1, 0); /* the tape's own tensors start at a non-zero offset */
    int xv = tape_new_view(&t, dev_upload_at(cl, x, B, in, 1, 1, 37), 1);
    int W = tape_param(&t, &nt, wi), Bb = tape_param(&t, &nt, bi);
    int y1 = op_linear_act(&t, xv, W, Bb, act), y2 = op_linear_act(&t, xv, W, Bb, act);
    int t1 = tape_input(&t, dev_upload_at(cl, T, B, out, 1, 1, 5)), t2 = tape_input(&t, dev_upload_at(cl, T + ny, B, out, 1, 1, 3));
    int loss = op_lincomb(&t, op_sqerr_sum(&t, y1, t1, 0.5f), 1.0f, op_sqerr_sum(&t, y2, t2, 0.5f), 1.0f);
    tape_backward(&t, loss);
    float *gy1 = tape_download_new(&t, y1, NULL), *gy2 = tape_download_new(&t, y2, NULL);
    tensor dxt = t.vars[xv].grad;
    float *gdx = dev_download(cl, dxt), *gg = xmalloc(nt.total * sizeof *gg);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, gg);

    double *ry = dvec(ny), *my = dvec(ny), *rdx = dvec(nx), *mdx = dvec(nx), *rg = dvec(nt.total), *mg = dvec(nt.total);
    double *dz = dvec(2 * ny);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            double s = b[j], m = fabs(b[j]);
            for (int k = 0; k < in; k++) s += (double)x[(size_t)i * in + k] * w[(size_t)j * in + k], m += fabs((double)x[(size_t)i * in + k] * w[(size_t)j * in + k]);
            ry[(size_t)i * out + j] = act_d(s, act), my[(size_t)i * out + j] = m;
            for (int u = 0; u < 2; u++) { /* dz from the device's y, as the kernels do */
                double yd = (u ? gy2 : gy1)[(size_t)i * out + j], d = yd - T[u * ny + (size_t)i * out + j];
                if (act == LINEAR_ACT_RELU) d = yd > 0 ? d : 0;
                if (act == LINEAR_ACT_SIGMOID) d *= yd * (1 - yd);
                dz[u * ny + (size_t)i * out + j] = d;
            }
        }
    for (size_t i = 0; i < nt.total; i++) rg[i] = g0[i], mg[i] = fabs(g0[i]);
    double *rw = rg + nt.p[wi].off, *mw = mg + nt.p[wi].off, *rb = rg + nt.p[bi].off, *mb = mg + nt.p[bi].off;
    for (int u = 0; u < 2; u++)
        for (int i = 0; i < B; i++)
            for (int j = 0; j < out; j++) {
                double d = dz[u * ny + (size_t)i * out + j];
                rb[j] += d, mb[j] += fabs(d);
                for (int k = 0; k < in; k++) {
                    double px = d * w[(size_t)j * in + k], pwv = d * x[(size_t)i * in + k];
                    rdx[(size_t)i * in + k] += px, mdx[(size_t)i * in + k] += fabs(px);
                    rw[(size_t)j * in + k] += pwv, mw[(size_t)j * in + k] += fabs(pwv);
                }
            }
    const char *path = impl == 2 ? "own" : "clblast";
    snprintf(what, sizeof what, "%s %s %dx%d->%d y", path, acts[act], B, in, out);
    report(what, gy1, ry, my, ny, 1e-5);
    snprintf(what, sizeof what, "%s %s %dx%d->%d y (second use)", path, acts[act], B, in, out);
    report(what, gy2, ry, my, ny, 1e-5);
    snprintf(what, sizeof what, "%s %s %dx%d->%d dx (two uses)", path, acts[act], B, in, out);
    report(what, gdx, rdx, mdx, nx, 1e-5);
    snprintf(what, sizeof what, "%s %s %dx%d->%d dW (+ initial)", path, acts[act], B, in, out);
    report(what, gg + nt.p[wi].off, rw, mw, nw, 1e-5);
    snprintf(what, sizeof what, "%s %s %dx%d->%d db (+ initial)", path, acts[act], B, in, out);
    report(what, gg + nt.p[bi].off, rb, mb, (size_t)out, 1e-5);
    free(x), free(pw), free(g0), free(T), free(gy1), free(gy2), free(gdx), free(gg);
    free(ry), free(my), free(rdx), free(mdx), free(rg), free(mg), free(dz);
    clReleaseMemObject(t.vars[xv].val.mem);
    clReleaseMemObject(t.vars[t1].val.mem);
    clReleaseMemObject(t.vars[t2].val.mem);
    tape_free(&t);
    net_free(&nt);
}

/* L = 0.5 sum (act(x W^T + b) - T)^2 on the device, from host arrays. */
static float fd_loss(tape *t, net *nt, int wi, int bi, const float *x, const float *T, int B, int in, int out, int act,
                     float *gx) {
    tape_reset(t);
    int xv = tape_new(t, B, in, 1, 1, gx != NULL);
    clg_write(cl, tape_val(t, xv).mem, tape_val(t, xv).off, (size_t)B * in, x);
    int y = op_linear_act(t, xv, tape_param(t, nt, wi), tape_param(t, nt, bi), act);
    int l = op_sqerr_sum(t, y, tape_upload(t, B, out, 1, 1, T), 0.5f);
    if (gx) {
        net_zero_grad(nt);
        tape_backward(t, l);
        tensor g = t->vars[xv].grad;
        clg_read(cl, g.mem, g.off, (size_t)B * in, gx);
    }
    return tape_read_scalar(t, l);
}

static double rms(const float *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    return sqrt(s / (double)(n ? n : 1));
}

static void case_fd(int impl, int act) {
    const int B = 3, in = 13, out = 7;
    tape t;
    tape_init(&t, cl);
    net nt;
    net_init(&nt, cl, "fd");
    int wi = net_add(&nt, "w", 2, (int[]){out, in}), bi = net_add(&nt, "b", 1, (int[]){out});
    net_alloc(&nt);
    float x[3 * 13], T[3 * 7], gx[3 * 13];
    float *p = xcalloc(nt.total, sizeof *p), *gp = xcalloc(nt.total, sizeof *gp); /* nt.total may hold padding */
    for (int tries = 0;; tries++) { /* ReLU inputs at least 0.03 from the kink */
        randv(x, sizeof x / sizeof *x, -1, 1), randv(p, nt.total, -0.5f, 0.5f), randv(T, 21, -1, 1);
        double near = 1;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < out; j++) {
                double s = p[nt.p[bi].off + j];
                for (int k = 0; k < in; k++) s += (double)x[i * in + k] * p[nt.p[wi].off + j * in + k];
                if (fabs(s) < near) near = fabs(s);
            }
        if (act != LINEAR_ACT_RELU || near >= 0.03 || tries > 1000) break;
    }
    net_upload(&nt, p);
    fd_loss(&t, &nt, wi, bi, x, T, B, in, out, act, gx);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, gp);
    static const char *acts[] = {"none", "relu", "sigmoid"};
    for (int which = 0; which < 2; which++) { /* 0: x, 1: W and b */
        float *v = which ? p : x, *an = which ? gp : gx;
        size_t n = which ? nt.total : sizeof x / sizeof *x;
        double vs = rms(v, n), gs = rms(an, n), worst = 0;
        for (size_t i = 0; i < n; i++) {
            float v0 = v[i], h = (float)(1e-2 * fmax(fabs(v0), vs));
            float vp = v0 + h, vm = v0 - h;
            v[i] = vp;
            if (which) net_upload(&nt, p);
            double lp = fd_loss(&t, &nt, wi, bi, x, T, B, in, out, act, NULL);
            v[i] = vm;
            if (which) net_upload(&nt, p);
            double lm = fd_loss(&t, &nt, wi, bi, x, T, B, in, out, act, NULL);
            v[i] = v0;
            if (which) net_upload(&nt, p);
            double fd = (lp - lm) / ((double)vp - vm), e = fabs(fd - an[i]) / fmax(fabs(an[i]), gs);
            if (!(e <= worst)) worst = e;
        }
        check_count++;
        int ok = worst <= 2e-2 && gs > 0;
        check_failures += !ok;
        printf("%s fd %s %s %-38s n=%-4zu max err %.2e (tol 2e-02)\n", ok ? "ok  " : "FAIL", impl == 2 ? "own" : "clblast",
               acts[act], which ? "dW, db" : "dx", n, worst);
    }
    free(p), free(gp);
    tape_free(&t);
    net_free(&nt);
}

int main(void) {
    R = rng_seq_make(18, 0, 0);
    static const int shapes[][3] = {{7, 93, 13}, {5, 19, 37}, {9, 3, 21}, {6, 40, 5}, {17, 5, 400}, {3, 16, 16}};
    int nshapes = test_small() ? 2 : (int)(sizeof shapes / sizeof shapes[0]);
    /* {impl, lin_mr}: the own kernels at every legal lin_mr (rows per work-item, a -D of the program: a
     * context each), then CLBlast (0: the device's lin_mr, unused) */
    static const int runs[][2] = {{2, 8}, {2, 4}, {1, 0}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        int impl = runs[r][0];
        cl = dev_open_for_test();
        if (!cl) return 1;
        if (runs[r][1]) {
            cl->kp.lin_mr = runs[r][1]; /* before the first kernel: the program is built with it */
            printf("own kernels with lin_mr = %d (-DLIN_MR)\n", cl->kp.lin_mr);
        }
        linear_set_impl(impl);
        for (int act = 0; act <= 2; act++)
            for (int s = 0; s < nshapes; s++) case_ref(impl, act, shapes[s][0], shapes[s][1], shapes[s][2]);
        if (!test_small())
            for (int act = 0; act <= 2; act++) case_fd(impl, act);
        linear_set_impl(0);
        clg_close(cl);
    }
    TEST_END();
}
