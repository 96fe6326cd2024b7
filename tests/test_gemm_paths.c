/* Whole models on both GEMM paths, so the path a GPU takes (im2col + CLBlast for convolutions, CLBlast
 * for linear layers) is run here too and compared with the path the CPU takes (clgan's own kernels):
 * every registered model at tests/test_models.c's tiny settings, built without data (fixed random
 * batches, same seed), one training iteration with conv_set_impl(1) + linear_set_impl(1) (CLBlast)
 * and one with conv_set_impl(2) + linear_set_impl(2) (own kernels).
 *
 * Compared after the iteration: every loss of the iteration, |a - b| / max(|a|, 1e-3) <= 1e-3; the
 * gradient buffer of every trained network (the last backward's gradients: both runs start from the
 * same weights, so they differ only by the paths' summation orders and by what an Adam step of a
 * sign-flipped tiny gradient changed before a later backward), per network |a - b| / |a| <= 2e-2 (L2
 * norms) and max |a - b| / RMS(a) <= 0.5 (a wrong path gives differences of the size of the gradient,
 * ratio ~1, in the one measure or, confined to a few elements, in the other); a part without
 * gradients (batch-norm statistics, an image pool) must have none on both paths. A first-step
 * difference in every weight would be lr-sized and is not compared.
 *
 * Why two measures and CycleGAN at 32x32: every model but CycleGAN agrees to ~1e-6 in L2 on either
 * route through the own kernels. CycleGAN's generators are ill-conditioned at this size (instance norms
 * over 4x4 residual planes at 16x16): with the residual convolutions on Winograd the generators'
 * gradients agreed with CLBlast to 1.5e-3 in max / RMS, on conv_nt (the CPU default since
 * 2026-12-06) to 0.17 (L2 1.6e-2), although each of those convolutions matches the double reference
 * to 3e-6 (tests/test_conv.c) and the losses agree to 1e-7. At 32x32 the two routes give 1.2e-2 and
 * 1.5e-2 in max / RMS, 1.1e-3 and 7e-4 in L2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint.h"
#include "devtest.h"
#include "model.h"
#include "ops.h"
#include "ops_linear.h"
#include "util.h"

static const char *const *tiny_sets(const char *type) { /* as tests/test_models.c */
    static const char *const vae[] = {"vae.hidden=16", "train.batch_size=4", NULL};
    static const char *const gan[] = {"gan.arch=dcgan", "gan.ngf=4", "gan.ndf=4", "gan.zdim=8", "train.batch_size=3", NULL};
    static const char *const cyclegan[] = {"cyclegan.ngf=4", "cyclegan.ndf=4", "cyclegan.n_blocks=1", "cyclegan.n_layers_d=1",
                                           "data.load_size=32", "data.crop_size=32", "cyclegan.pool_size=3", NULL};
    static const char *const avae[] = {"avae.size=16", "avae.filters=3", "avae.zdim=4", "avae.d_zdim=4", "train.batch_size=2", NULL};
    static const char *const pix2pix[] = {"pix2pix.ngf=4", "pix2pix.ndf=4", "pix2pix.n_layers_d=1", "data.load_size=32",
                                          "data.crop_size=32", "train.batch_size=2", NULL};
    static const char *const bicyclegan[] = {"bicyclegan.ngf=4", "bicyclegan.ndf=4", "bicyclegan.nef=4", "bicyclegan.nz=3",
                                             "bicyclegan.where_add=input", "bicyclegan.encoder=resnet_small",
                                             "bicyclegan.n_layers_d=1", "data.load_size=32", "data.crop_size=32",
                                             "train.batch_size=2", "bicyclegan.lambda_div=0.05", NULL};
    static const char *const none[] = {NULL};
    return !strcmp(type, "vae") ? vae : !strcmp(type, "gan") ? gan : !strcmp(type, "cyclegan") ? cyclegan
         : !strcmp(type, "avae") ? avae : !strcmp(type, "pix2pix") ? pix2pix : !strcmp(type, "bicyclegan") ? bicyclegan
         : none;
}

typedef struct {
    int nloss, np;
    float loss[16];
    float *g[CKPT_PARTS_MAX];
    size_t n[CKPT_PARTS_MAX];
    char name[CKPT_PARTS_MAX][64];
} run_out;

/* One iteration of model m on path impl (1 CLBlast, 2 own); 0, or -1 after printing why. */
static int run(clg_ctx *cl, const model_desc *m, const cfg *c, int impl, run_out *o) {
    char err[2048];
    conv_set_impl(impl);
    linear_set_impl(impl);
    trainer *tr = trainer_new(m, c, cl, 0, err, sizeof err);
    if (!tr) {
        printf("FAIL %s: %s\n", m->type, err);
        return -1;
    }
    m->iteration(tr);
    o->nloss = tr->nloss < 16 ? tr->nloss : 16;
    for (int i = 0; i < o->nloss; i++) o->loss[i] = tape_read_scalar(&tr->t, tr->loss[i]);
    ckpt_part parts[CKPT_PARTS_MAX];
    o->np = m->parts(tr, parts);
    for (int i = 0; i < o->np; i++) {
        net *n = parts[i].net;
        o->n[i] = n->total;
        o->g[i] = xmalloc(n->total * sizeof(float));
        net_grad_settle(n);
        clg_read(cl, n->g, 0, n->total, o->g[i]);
        snprintf(o->name[i], sizeof o->name[i], "%s", n->name);
    }
    trainer_free(tr);
    return 0;
}

static void compare(const model_desc *m, const run_out *a, const run_out *b) {
    for (int i = 0; i < a->nloss; i++) {
        double e = fabs((double)a->loss[i] - b->loss[i]) / fmax(fabs(a->loss[i]), 1e-3);
        CHECK(e <= 1e-3, "%s loss %d", m->type, i);
        printf("%s %-10s loss %d: clblast %.7g own %.7g, rel diff %.2e (tol 1e-3)\n", e <= 1e-3 ? "ok  " : "FAIL", m->type, i,
               a->loss[i], b->loss[i], e);
    }
    CHECK(a->np == b->np, "%s: %d vs %d networks", m->type, a->np, b->np);
    for (int i = 0; i < a->np && i < b->np; i++) {
        double ss = 0, dd = 0, worst = 0;
        for (size_t k = 0; k < a->n[i]; k++) {
            double d = (double)a->g[i][k] - b->g[i][k];
            ss += (double)a->g[i][k] * a->g[i][k];
            dd += d * d;
            if (!(fabs(d) <= worst)) worst = fabs(d);
        }
        double rms = sqrt(ss / (double)(a->n[i] ? a->n[i] : 1));
        /* buffers (running stats, an image pool): no gradient on either path */
        double e = rms > 0 ? worst / rms : worst == 0 ? 0 : INFINITY, l2 = ss > 0 ? sqrt(dd / ss) : e;
        int ok = l2 <= 2e-2 && e <= 0.5;
        check_count++;
        check_failures += !ok;
        printf("%s %-10s %-8s gradients n=%-7zu |diff| / |a| %.2e (tol 2e-2), max |diff| / RMS %.2e (RMS %.3g, tol 0.5)\n",
               ok ? "ok  " : "FAIL", m->type, a->name[i], a->n[i], l2, e, rms);
    }
}

int main(void) {
    clg_ctx *cl = dev_open_for_test();
    if (!cl) return 1;
    char err[2048];
    for (int mi = 0; mi < model_count(); mi++) {
        const model_desc *m = model_at(mi);
        cfg *c = model_schema(m);
        const char *const *sets = tiny_sets(m->type);
        int rc = cfg_set_value(c, "model", "type", m->type, err, sizeof err);
        for (int i = 0; rc == 0 && sets[i]; i++) rc = cfg_set(c, sets[i], err, sizeof err);
        if (rc == 0 && m->check) rc = m->check(c, err, sizeof err);
        CHECK(rc == 0, "%s: config: %s", m->type, err);
        run_out a = {0}, b = {0};
        if (rc == 0 && run(cl, m, c, 1, &a) == 0 && run(cl, m, c, 2, &b) == 0) compare(m, &a, &b);
        else check_failures++, check_count++;
        for (int i = 0; i < CKPT_PARTS_MAX; i++) free(a.g[i]), free(b.g[i]);
        cfg_free(c);
    }
    conv_set_impl(0);
    linear_set_impl(0);
    clg_close(cl);
    TEST_END();
}
