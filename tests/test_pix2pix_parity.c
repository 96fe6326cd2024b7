/* PyTorch parity for pix2pix: three training iterations (D step on the detached fake, then the G step
 * through the updated, frozen D) of small configurations here, the state after each saved; then
 * tests/pix2pix_parity.py (/usr/bin/python3) loads our initial G and D into the reference's
 * UnetGenerator and NLayerDiscriminator (rewritten there) with load_state_dict(strict=True), and runs
 * each iteration in PyTorch, float32 and float64, from our state before it (weights, batch-norm
 * running statistics, Adam moments and step) on our batch, comparing that iteration's four losses and
 * the weights, moments and running statistics after it against the float64 run. Its exit status
 * decides this test. Dropout is off (its masks are torch's RNG in the reference); Adam's eps is 1e-3
 * for the reason tests/cyclegan_parity.py gives. PIX2PIX_PARITY_KEEP=1 keeps the files.
 *
 *   batch  32x32 RGB -> RGB, U-Net 5 downs ngf 8, PatchGAN 3 layers ndf 8, batch norm, vanilla GAN, batch 2
 *   inst   32x32 gray -> RGB, U-Net 5 downs ngf 8, PatchGAN 2 layers ndf 8, instance norm, LSGAN, batch 1
 * Mutation tried: the D step's fake term weighted 0.505 instead of 0.5 fails iteration 1 of "batch": D_fake
 * by 1.0e-2 (torch float32 2.7e-9), G_GAN 1.9e-3, and G's weights by about one update (torch float32 2.7e-4). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "parity_harness.h"
#include "pix2pix.h"
#include "rng.h"
#include "safetensors.h"
#include "util.h"

#define SCRIPT "tests/pix2pix_parity.py"
#define PYTHON "/usr/bin/python3"
#define ITERS 3
#define NLOSS 4

typedef struct {
    const char *name;
    const char *sets[8];
} scenario;

static const char *const common_sets[] = {
    "model.type=pix2pix", "run.seed=3",        "data.crop_size=32", "data.load_size=32", "pix2pix.ngf=8",
    "pix2pix.ndf=8",      "pix2pix.num_downs=5", "pix2pix.dropout=false", "train.lr=2e-4", "train.beta1=0.5",
    "train.beta2=0.999",  "train.eps=1e-3",    "pix2pix.lambda_l1=100",
};

static const scenario scenarios[] = {
    {"batch",
     {"data.channels_a=3", "data.channels_b=3", "pix2pix.norm=batch", "pix2pix.gan_mode=vanilla", "pix2pix.n_layers_d=3",
      "train.batch_size=2"}},
    {"inst",
     {"data.channels_a=1", "data.channels_b=3", "pix2pix.norm=instance", "pix2pix.gan_mode=lsgan", "pix2pix.n_layers_d=2",
      "train.batch_size=1"}},
};
#define NSCEN ((int)(sizeof scenarios / sizeof scenarios[0]))

static char tmpdir[] = "/tmp/clgan_test_pix2pix_parity_XXXXXX";

static int run_scenario(clg_ctx *cl, const scenario *sc) {
    char err[2048], path[4300];
    cfg *c = parity_config(&pix2pix_model, tmpdir, common_sets, (int)(sizeof common_sets / sizeof *common_sets), sc->sets, 8, sc->name);
    int ok = c != NULL;
    pix2pix_trainer r;
    if (!ok || pix2pix_trainer_init(&r, c, cl, 0, err, sizeof err) != 0) {
        CHECK(ok == 0, "%s: pix2pix_trainer_init: %s", sc->name, err);
        if (c) cfg_free(c);
        return -1;
    }
    int io_ok = parity_save_as(&r.base, tmpdir, sc->name, "init") == 0;
    int B = r.B, S = r.s.size, ca = r.s.channels_a, cb = r.s.channels_b;
    size_t na = (size_t)B * ca * S * S, nb = (size_t)B * cb * S * S;
    rng_seq rs = rng_seq_make(11, RNG_STREAM_TEST, 0);
    float *A = parity_random_images(&rs, ITERS * na), *Bi = parity_random_images(&rs, ITERS * nb), losses[ITERS * NLOSS];
    tensor ta = {.mem = clg_alloc(cl, na), .n = B, .c = ca, .h = S, .w = S};
    tensor tb = {.mem = clg_alloc(cl, nb), .n = B, .c = cb, .h = S, .w = S};
    for (int it = 0; it < ITERS; it++) {
        clg_write(cl, ta.mem, 0, na, A + it * na);
        clg_write(cl, tb.mem, 0, nb, Bi + it * nb);
        pix2pix_step_vars sv;
        pix2pix_trainer_iteration(&r, &ta, &tb, &sv);
        int ids[NLOSS] = {sv.g_gan, sv.g_l1, sv.d_real, sv.d_fake};
        for (int k = 0; k < NLOSS; k++) {
            losses[it * NLOSS + k] = tape_read_scalar(&r.base.t, ids[k]);
            CHECK(isfinite(losses[it * NLOSS + k]), "%s: iteration %d loss %d is not finite", sc->name, it, k);
        }
        printf("%-5s iteration %d: G_GAN %.6f G_L1 %.6f D_real %.6f D_fake %.6f\n", sc->name, it + 1, losses[it * NLOSS],
               losses[it * NLOSS + 1], losses[it * NLOSS + 2], losses[it * NLOSS + 3]);
        char what[16];
        snprintf(what, sizeof what, "after%d", it + 1);
        io_ok &= parity_save_as(&r.base, tmpdir, sc->name, what) == 0;
    }
    CHECK(r.og.t == ITERS && r.od.t == ITERS, "%s: optimizer steps %ld / %ld, want %d", sc->name, r.og.t, r.od.t, ITERS);
    st_tensor tr[3] = {
        {.name = "A", .ndim = 5, .shape = {ITERS, B, ca, S, S}, .data = A},
        {.name = "B", .ndim = 5, .shape = {ITERS, B, cb, S, S}, .data = Bi},
        {.name = "losses", .ndim = 2, .shape = {ITERS, NLOSS}, .data = losses},
    };
    char lsgan[4], lam[32], lr[32], b1[32], b2[32], eps[32];
    snprintf(lsgan, sizeof lsgan, "%d", r.s.lsgan);
    snprintf(lam, sizeof lam, "%.9g", r.lambda_l1);
    snprintf(lr, sizeof lr, "%.17g", cfg_float(c, "train", "lr"));
    snprintf(b1, sizeof b1, "%.17g", cfg_float(c, "train", "beta1"));
    snprintf(b2, sizeof b2, "%.17g", cfg_float(c, "train", "beta2"));
    snprintf(eps, sizeof eps, "%.17g", cfg_float(c, "train", "eps"));
    const char *mk[] = {"lsgan", "lambda_l1", "lr", "beta1", "beta2", "eps", "columns"};
    const char *mv[] = {lsgan, lam, lr, b1, b2, eps, "G_GAN,G_L1,D_real,D_fake"};
    parity_path(path, sizeof path, tmpdir, sc->name, "trace");
    int rc = st_save(path, tr, 3, mk, mv, 7, err, sizeof err);
    CHECK(rc == 0, "st_save %s: %s", path, err);
    io_ok &= rc == 0;
    clReleaseMemObject(ta.mem);
    clReleaseMemObject(tb.mem);
    free(A);
    free(Bi);
    pix2pix_trainer_free(&r);
    cfg_free(c);
    return io_ok ? 0 : -1;
}

int main(void) {
    clg_ctx *cl = parity_open(SCRIPT, tmpdir);
    if (!cl) return 1;
    int io_ok = 1;
    for (int s = 0; s < NSCEN; s++) io_ok &= run_scenario(cl, &scenarios[s]) == 0;
    if (io_ok) {
        const char *names[NSCEN];
        for (int s = 0; s < NSCEN; s++) names[s] = scenarios[s].name;
        int ok = run_parity_script(PYTHON, SCRIPT, tmpdir, names, NSCEN);
        CHECK(ok, "the PyTorch side (%s) reported a mismatch or failed", SCRIPT);
    }
    if (getenv("PIX2PIX_PARITY_KEEP")) printf("kept %s (PIX2PIX_PARITY_KEEP is set)\n", tmpdir);
    else parity_remove_dir(tmpdir);
    clg_close(cl);
    TEST_END();
}
