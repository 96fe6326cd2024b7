/* PyTorch parity for the adversarial VAE (models/avae.h): three whole training iterations of small
 * configurations here (one forward pass, the encoder, generator and discriminator Adam steps, the k_t
 * controller), the state after each saved; then tests/avae_parity.py (a torch twin written from seed
 * 004, /usr/bin/python3) runs each iteration in PyTorch, float32 and float64, from our state before it
 * (weights, the three optimizers' moments and steps, k_{t-1}, e_{t-1}, e_{t-2}) on our batch and noise,
 * and compares the nine losses, e_t, the convergence measure, k_t, and every weight and Adam moment
 * after it against the float64 run. Its exit status decides this test.
 *
 *   pid    16x16 grey, 4 filters (2 levels), z 6, D latent 5, batch 3, PID controller, k0 0.5
 *   began  12x12 RGB, 3 filters (2 levels, 6x6 at the bottom), z 4, D latent 7, batch 2, BEGAN's
 *          controller with lambda1 0.05, k0 0.2, no clamp
 * k0 is not 0 so that the k_{t-1} (L_g + alpha L_v) term of L_dis is exercised from iteration 1 (at k 0
 * and a negative e_t the clamp would hold k at 0 and hide it). Each iteration's batch is fresh U(-1, 1).
 * AVAE_PARITY_KEEP=1 keeps the files handed to the script. Mutations tried: see the report in the script's
 * header. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avae.h"
#include "check.h"
#include "devtest.h"
#include "parity_harness.h"
#include "rng.h"
#include "safetensors.h"
#include "tape_data.h"
#include "util.h"

#define SCRIPT "tests/avae_parity.py"
#define PYTHON "/usr/bin/python3"
#define ITERS 3
#define NCOL 13

typedef struct {
    const char *name;
    const char *sets[16];
} scenario;

static const char *const common_sets[] = {
    "model.type=avae", "run.seed=5", "train.lr=5e-5", "train.beta1=0.9", "train.beta2=0.999", "train.eps=1e-8",
    "avae.alpha=0.3", "avae.beta=0.1", "avae.gamma=0.1", "avae.eta=0.5",
};

static const scenario scenarios[] = {
    {"pid",
     {"avae.size=16", "avae.filters=4", "avae.zdim=6", "avae.d_zdim=5", "train.batch_size=3", "avae.controller=pid",
      "avae.lambda1=1e-3", "avae.lambda2=1e-5", "avae.lambda3=1e-5", "avae.k0=0.5", "avae.k_clamp=true"}},
    {"began",
     {"data.source=folder", "data.folder=/nonexistent-never-read", "data.channels=3", "avae.size=12", "avae.filters=3",
      "avae.zdim=4", "avae.d_zdim=7", "train.batch_size=2", "avae.controller=began", "avae.lambda1=0.05", "avae.k0=0.2",
      "avae.k_clamp=false", "avae.kl_weight=0.7"}},
};
#define NSCEN ((int)(sizeof scenarios / sizeof scenarios[0]))

static char tmpdir[] = "/tmp/clgan_test_avae_parity_XXXXXX";

static int run_scenario(clg_ctx *cl, const scenario *sc) {
    char err[2048], path[4300];
    cfg *c = parity_config(&avae_model, tmpdir, common_sets, (int)(sizeof common_sets / sizeof *common_sets), sc->sets, 16, sc->name);
    int ok = c != NULL;
    trainer *tr = ok ? trainer_new(&avae_model, c, cl, 0, err, sizeof err) : NULL;
    if (!tr) {
        CHECK(!ok, "%s: trainer_new: %s", sc->name, err);
        if (c) cfg_free(c);
        return -1;
    }
    avae_trainer *r = (avae_trainer *)tr;
    int io_ok = parity_save_as(tr, tmpdir, sc->name, "init") == 0;
    int B = r->B, C = r->m.s.channels, S = r->m.s.size, Z = r->m.s.zdim;
    size_t nx = (size_t)B * C * S * S, nz = (size_t)B * Z;
    float *X = xmalloc(ITERS * nx * sizeof *X), *E = xmalloc(ITERS * nz * sizeof *E), *G = xmalloc(ITERS * nz * sizeof *G);
    float cols[ITERS * NCOL];
    rng_seq rs = rng_seq_make(11, RNG_STREAM_TEST, 0);
    for (size_t i = 0; i < ITERS * nx; i++) X[i] = 2.0f * rng_uniform(&rs) - 1.0f;
    for (int it = 0; it < ITERS; it++) {
        net_upload(&r->fixed, X + it * nx); /* the iteration's batch */
        avae_model.iteration(tr);
        const avae_step_vars *v = &r->sv;
        tape *t = &tr->t;
        tape_download(t, v->eps, E + it * nz);
        tape_download(t, v->zg, G + it * nz);
        int ids[9] = {v->le, v->ln, v->ls, v->ld, v->lg, v->lv, v->lenc, v->lgen, v->ldis};
        float *row = cols + it * NCOL;
        for (int k = 0; k < 9; k++) row[k] = tape_read_scalar(t, ids[k]);
        row[9] = v->e, row[10] = v->conv, row[11] = v->k_used, row[12] = v->k;
        for (int k = 0; k < NCOL; k++) CHECK(isfinite(row[k]), "%s: iteration %d column %d is not finite", sc->name, it + 1, k);
        printf("%-5s iteration %d: L_e %.6f L_n %.6f L_s %.6f L_d %.6f L_g %.6f L_v %.6f L_enc %.6f L_gen %.6f L_dis %.6f "
               "e %.6f conv %.6f k %.6f -> %.6f\n",
               sc->name, it + 1, row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
               row[11], row[12]);
        char what[16];
        snprintf(what, sizeof what, "after%d", it + 1);
        io_ok &= parity_save_as(tr, tmpdir, sc->name, what) == 0;
    }
    CHECK(r->oe.t == ITERS && r->og.t == ITERS && r->od.t == ITERS, "%s: optimizer steps %ld / %ld / %ld, want %d", sc->name,
          r->oe.t, r->og.t, r->od.t, ITERS);
    st_tensor trc[4] = {
        {.name = "x", .ndim = 5, .shape = {ITERS, B, C, S, S}, .data = X},
        {.name = "eps", .ndim = 3, .shape = {ITERS, B, Z}, .data = E},
        {.name = "zg", .ndim = 3, .shape = {ITERS, B, Z}, .data = G},
        {.name = "columns", .ndim = 2, .shape = {ITERS, NCOL}, .data = cols},
    };
    const char *keys[] = {"alpha", "beta", "gamma", "eta", "kl_weight", "lambda1", "lambda2", "lambda3", "lr", "beta1", "beta2", "eps"};
    const char *sect[] = {"avae", "avae", "avae", "avae", "avae", "avae", "avae", "avae", "train", "train", "train", "train"};
    enum { NK = sizeof keys / sizeof *keys };
    char vals[NK + 2][40];
    const char *mk[NK + 2], *mv[NK + 2];
    for (int i = 0; i < NK; i++) {
        snprintf(vals[i], sizeof vals[i], "%.17g", cfg_float(c, sect[i], keys[i]));
        mk[i] = keys[i], mv[i] = vals[i];
    }
    mk[NK] = "controller", mv[NK] = cfg_str(c, "avae", "controller");
    mk[NK + 1] = "k_clamp", mv[NK + 1] = cfg_bool(c, "avae", "k_clamp") ? "1" : "0";
    parity_path(path, sizeof path, tmpdir, sc->name, "trace");
    int rc = st_save(path, trc, 4, mk, mv, NK + 2, err, sizeof err);
    CHECK(rc == 0, "st_save %s: %s", path, err);
    io_ok &= rc == 0;
    free(X);
    free(E);
    free(G);
    trainer_free(tr);
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
    if (getenv("AVAE_PARITY_KEEP")) printf("kept %s (AVAE_PARITY_KEEP is set)\n", tmpdir);
    else parity_remove_dir(tmpdir);
    clg_close(cl);
    TEST_END();
}
