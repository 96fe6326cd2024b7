/* PyTorch parity for BicycleGAN: three training iterations (the G and E step with D, D2 frozen, then the
 * D and D2 step) of small configurations here, the state after each saved with the iteration's random
 * draws (eps of the reparameterisation, z_random); then tests/bicyclegan_parity.py (/usr/bin/python3)
 * loads our initial networks into the reference's G_Unet_add_all / G_Unet_add_input, E_ResNet and
 * D_NLayersMulti (rewritten there) with load_state_dict(strict=True), and runs each iteration in PyTorch,
 * float32 and float64, from our state before it (weights, Adam moments of all four optimizers and their
 * step) on our batch and draws, as the reference's optimize_parameters (its backward_EG, then
 * backward_G_alone with E frozen, then update_D), comparing the iteration's losses and the weights and
 * Adam moments of G, E, D and D2 after it against the float64 run. Its exit status decides this test.
 * Dropout is off (torch's RNG in the reference); Adam's eps is 1e-3 (see tests/cyclegan_parity.py).
 * BICYCLEGAN_PARITY_KEEP=1 keeps the files.
 *
 *   all    64x64 gray -> gray, G_Unet_add_all (6 levels, ngf 4, nz 3), E_ResNet 3 blocks nef 4, two 2-scale
 *          PatchGANs (2 layers, ndf 4), instance norm, LSGAN, batch 2 (1 + 1)
 *   input  32x32 RGB -> RGB, G_Unet_add_input (5 levels, ngf 4, nz 2), E_ResNet 2 blocks nef 4, one-scale
 *          PatchGANs (2 layers, ndf 4), vanilla GAN, diversity loss 0.05, batch 4 (2 + 2)
 *   batch  32x32 RGB -> gray, G_Unet_add_input, E_ResNet 2 blocks, two-scale PatchGANs, all with batch
 *          norm (running statistics compared too), LSGAN, batch 4 (2 + 2)
 *   r18    the default encoder, ResNet-18 with fc / fcVar heads: its initial tensors load with strict=True
 *          into torchvision's resnet18 layers (tests/graph_parity.py's rewrite) plus the two heads, and its
 *          evaluation-mode (mu, logvar) of two random 32x32 RGB images match (no training: 11 M parameters)
 * E's heads are moved off the N(0, 0.02) init (see run_scenario) so that the KL is not all cancellation.
 * Mutation tried: E left trainable in the latent-regression pass (models/bicyclegan_train.c) fails
 * iteration 1 of "all" on every E tensor (weights 5-9 updates off, torch float32 8e-5), which also shows
 * that PyTorch honours the reference's set_requires_grad(E, False) between forward and backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "parity_harness.h"
#include "bicyclegan.h"
#include "tape_data.h"
#include "rng.h"
#include "safetensors.h"
#include "util.h"

#define SCRIPT "tests/bicyclegan_parity.py"
#define PYTHON "/usr/bin/python3"
#define ITERS 3
#define NLOSS 8

typedef struct {
    const char *name;
    const char *sets[12];
} scenario;

static const char *const common_sets[] = {
    "model.type=bicyclegan", "run.seed=3",  "bicyclegan.ngf=4",      "bicyclegan.ndf=4",     "bicyclegan.nef=4",
    "bicyclegan.dropout=false", "bicyclegan.encoder=resnet_small", "bicyclegan.n_layers_d=2", "train.lr=2e-4",
    "train.beta1=0.5", "train.beta2=0.999", "train.eps=1e-3",
};

static const scenario scenarios[] = {
    {"all",
     {"data.channels_a=1", "data.channels_b=1", "data.crop_size=64", "data.load_size=64", "bicyclegan.where_add=all",
      "bicyclegan.nz=3", "bicyclegan.num_d=2", "bicyclegan.gan_mode=lsgan", "train.batch_size=2"}},
    {"input",
     {"data.channels_a=3", "data.channels_b=3", "data.crop_size=32", "data.load_size=32", "bicyclegan.where_add=input",
      "bicyclegan.nz=2", "bicyclegan.num_d=1", "bicyclegan.gan_mode=vanilla", "bicyclegan.lambda_div=0.05",
      "train.batch_size=4"}},
    {"batch",
     {"data.channels_a=3", "data.channels_b=1", "data.crop_size=32", "data.load_size=32", "bicyclegan.where_add=input",
      "bicyclegan.nz=2", "bicyclegan.num_d=2", "bicyclegan.gan_mode=lsgan", "bicyclegan.norm=batch",
      "train.batch_size=4"}},
};
#define NSCEN ((int)(sizeof scenarios / sizeof scenarios[0]))

static char tmpdir[] = "/tmp/clgan_test_bicyclegan_parity_XXXXXX";

static int run_scenario(clg_ctx *cl, const scenario *sc) {
    char err[2048], path[4300];
    cfg *c = parity_config(&bicyclegan_model, tmpdir, common_sets, (int)(sizeof common_sets / sizeof *common_sets), sc->sets, 12, sc->name);
    int ok = c != NULL;
    bicycle_trainer r;
    if (!ok || bicycle_trainer_init(&r, c, cl, 0, err, sizeof err) != 0) {
        CHECK(ok == 0, "%s: bicycle_trainer_init: %s", sc->name, err);
        if (c) cfg_free(c);
        return -1;
    }
    /* E's heads start at mu = 0.5, log sigma^2 = -1 (biases): at the N(0, 0.02) init both are ~1e-3, and
     * the KL, sum 0.5 (exp(lv) + mu^2 - 1 - lv), is then ~1e-8, all float32 cancellation */
    const char *heads[2] = {"fc.0.bias", "fcVar.0.bias"};
    for (int k = 0; k < 2; k++) {
        int i = net_find(r.e.params, heads[k]);
        CHECK(i >= 0, "%s: E has no %s", sc->name, heads[k]);
        if (i < 0) continue;
        float v[64];
        for (int j = 0; j < r.s.nz && j < 64; j++) v[j] = k == 0 ? 0.5f - 0.1f * (float)j : -1.0f + 0.2f * (float)j;
        clg_write(cl, r.e.params->w, r.e.params->p[i].off, (size_t)r.s.nz, v);
        r.e.params->version++;
    }
    int io_ok = parity_save_as(&r.base, tmpdir, sc->name, "init") == 0;
    int B = r.B, S = r.s.size, ca = r.s.channels_a, cb = r.s.channels_b;
    size_t na = (size_t)B * ca * S * S, nb = (size_t)B * cb * S * S;
    rng_seq rs = rng_seq_make(11, RNG_STREAM_TEST, 0);
    float *A = parity_random_images(&rs, ITERS * na), *Bi = parity_random_images(&rs, ITERS * nb), losses[ITERS * NLOSS];
    tensor ta = {.mem = clg_alloc(cl, na), .n = B, .c = ca, .h = S, .w = S};
    tensor tb = {.mem = clg_alloc(cl, nb), .n = B, .c = cb, .h = S, .w = S};
    int h = B / 2, nz = r.s.nz;
    float *eps = xmalloc((size_t)ITERS * h * nz * sizeof *eps), *zr = xmalloc((size_t)ITERS * h * nz * sizeof *zr);
    for (int it = 0; it < ITERS; it++) {
        clg_write(cl, ta.mem, 0, na, A + it * na);
        clg_write(cl, tb.mem, 0, nb, Bi + it * nb);
        bicycle_step_vars sv;
        bicycle_trainer_iteration(&r, &ta, &tb, &sv);
        int ids[NLOSS] = {sv.g_gan, sv.g_gan2, sv.d, sv.d2, sv.g_l1, sv.z_l1, sv.kl, sv.div};
        for (int k = 0; k < NLOSS; k++) {
            losses[it * NLOSS + k] = ids[k] >= 0 ? tape_read_scalar(&r.base.t, ids[k]) : 0.0f;
            CHECK(isfinite(losses[it * NLOSS + k]), "%s: iteration %d loss %d is not finite", sc->name, it, k);
        }
        tape_download(&r.base.t, sv.eps, eps + (size_t)it * h * nz);
        tape_download(&r.base.t, sv.z_random, zr + (size_t)it * h * nz);
        printf("%-5s iteration %d: G_GAN %.6f G_GAN2 %.6f D %.6f D2 %.6f G_L1 %.6f z_L1 %.6f kl %.6f div %.6f\n", sc->name,
               it + 1, losses[it * NLOSS], losses[it * NLOSS + 1], losses[it * NLOSS + 2], losses[it * NLOSS + 3],
               losses[it * NLOSS + 4], losses[it * NLOSS + 5], losses[it * NLOSS + 6], losses[it * NLOSS + 7]);
        char what[16];
        snprintf(what, sizeof what, "after%d", it + 1);
        io_ok &= parity_save_as(&r.base, tmpdir, sc->name, what) == 0;
    }
    CHECK(r.og.t == ITERS && r.oe.t == ITERS && r.od[0].t == ITERS && r.od2[0].t == ITERS, "%s: optimizer steps %ld %ld %ld %ld, want %d",
          sc->name, r.og.t, r.oe.t, r.od[0].t, r.od2[0].t, ITERS);
    st_tensor tr[5] = {
        {.name = "A", .ndim = 5, .shape = {ITERS, B, ca, S, S}, .data = A},
        {.name = "B", .ndim = 5, .shape = {ITERS, B, cb, S, S}, .data = Bi},
        {.name = "losses", .ndim = 2, .shape = {ITERS, NLOSS}, .data = losses},
        {.name = "eps", .ndim = 3, .shape = {ITERS, h, nz}, .data = eps},
        {.name = "z_random", .ndim = 3, .shape = {ITERS, h, nz}, .data = zr},
    };
    char lsgan[4], lam[6][32], lr[32], b1[32], b2[32], eps_s[32];
    snprintf(lsgan, sizeof lsgan, "%d", r.s.lsgan);
    float lams[6] = {r.lambda_l1, r.lambda_kl, r.lambda_z, r.lambda_gan, r.lambda_gan2, r.lambda_div};
    for (int i = 0; i < 6; i++) snprintf(lam[i], sizeof lam[i], "%.9g", lams[i]);
    snprintf(lr, sizeof lr, "%.17g", cfg_float(c, "train", "lr"));
    snprintf(b1, sizeof b1, "%.17g", cfg_float(c, "train", "beta1"));
    snprintf(b2, sizeof b2, "%.17g", cfg_float(c, "train", "beta2"));
    snprintf(eps_s, sizeof eps_s, "%.17g", cfg_float(c, "train", "eps"));
    const char *mk[] = {"lsgan", "lambda_l1", "lambda_kl", "lambda_z", "lambda_gan", "lambda_gan2", "lambda_div",
                        "n_layers_d", "lr", "beta1", "beta2", "eps", "columns"};
    char nl[8];
    snprintf(nl, sizeof nl, "%d", r.s.n_layers_d);
    const char *mv[] = {lsgan, lam[0], lam[1], lam[2], lam[3], lam[4], lam[5], nl, lr, b1, b2, eps_s,
                        "G_GAN,G_GAN2,D,D2,G_L1,z_L1,kl,div"};
    parity_path(path, sizeof path, tmpdir, sc->name, "trace");
    int rc = st_save(path, tr, 5, mk, mv, 13, err, sizeof err);
    CHECK(rc == 0, "st_save %s: %s", path, err);
    io_ok &= rc == 0;
    clReleaseMemObject(ta.mem);
    clReleaseMemObject(tb.mem);
    free(A);
    free(Bi);
    free(eps);
    free(zr);
    bicycle_trainer_free(&r);
    cfg_free(c);
    return io_ok ? 0 : -1;
}

/* The ResNet-18 encoder (the default E): no training here (11 M parameters), but its initial tensors and its
 * evaluation-mode (mu, logvar) of two random images, for the script's strict load into torchvision's
 * resnet18 layers with fc / fcVar heads and a forward comparison. */
static int run_r18(clg_ctx *cl) {
    static const char *const sets[] = {"model.type=bicyclegan", "run.seed=5", "data.channels_a=3", "data.channels_b=3",
                                       "data.crop_size=32", "data.load_size=32", "bicyclegan.where_add=input",
                                       "bicyclegan.ngf=4", "bicyclegan.ndf=4", "bicyclegan.nz=3",
                                       "bicyclegan.encoder=resnet18", "bicyclegan.num_d=1", "bicyclegan.n_layers_d=1",
                                       "train.batch_size=4"}; /* 2 would leave its last batch norms 1 value */
    char err[2048], path[4300];
    cfg *c = parity_config(&bicyclegan_model, tmpdir, sets, (int)(sizeof sets / sizeof *sets), NULL, 0, "r18");
    bicycle_trainer r;
    if (!c || bicycle_trainer_init(&r, c, cl, 0, err, sizeof err) != 0) {
        CHECK(!c, "r18: %s", err);
        if (c) cfg_free(c);
        return -1;
    }
    int io_ok = parity_save_as(&r.base, tmpdir, "r18", "init") == 0;
    rng_seq rs = rng_seq_make(13, RNG_STREAM_TEST, 0);
    size_t nb = (size_t)2 * 3 * 32 * 32;
    float *Bi = parity_random_images(&rs, nb), out[2 * 2 * 64];
    tape *t = &r.base.t;
    tape_reset(t);
    seq_ctx ctx = {.training = 0};
    int e = bicycle_encode(&r.e, t, tape_upload(t, 2, 3, 32, 32, Bi), &ctx);
    tape_download(t, e, out);
    int nz = r.s.nz;
    st_tensor tr[2] = {
        {.name = "B", .ndim = 4, .shape = {2, 3, 32, 32}, .data = Bi},
        {.name = "e_out", .ndim = 2, .shape = {2, 2 * nz}, .data = out},
    };
    const char *mk[] = {"kind"}, *mv[] = {"r18"};
    parity_path(path, sizeof path, tmpdir, "r18", "trace");
    int rc = st_save(path, tr, 2, mk, mv, 1, err, sizeof err);
    CHECK(rc == 0, "st_save %s: %s", path, err);
    free(Bi);
    bicycle_trainer_free(&r);
    cfg_free(c);
    return io_ok && rc == 0 ? 0 : -1;
}

int main(void) {
    clg_ctx *cl = parity_open(SCRIPT, tmpdir);
    if (!cl) return 1;
    int io_ok = 1;
    for (int s = 0; s < NSCEN; s++) io_ok &= run_scenario(cl, &scenarios[s]) == 0;
    io_ok &= run_r18(cl) == 0;
    if (io_ok) {
        const char *names[NSCEN + 1];
        for (int s = 0; s < NSCEN; s++) names[s] = scenarios[s].name;
        names[NSCEN] = "r18";
        int ok = run_parity_script(PYTHON, SCRIPT, tmpdir, names, NSCEN + 1);
        CHECK(ok, "the PyTorch side (%s) reported a mismatch or failed", SCRIPT);
    }
    if (getenv("BICYCLEGAN_PARITY_KEEP")) printf("kept %s (BICYCLEGAN_PARITY_KEEP is set)\n", tmpdir);
    else parity_remove_dir(tmpdir);
    clg_close(cl);
    TEST_END();
}
