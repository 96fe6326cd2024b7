/* PyTorch parity for the VAE (784-400-5): 20 Adam steps on the first 20 batches of Fashion-MNIST
 * here, then the same 20 steps in PyTorch (tests/vae_parity.py, run with /usr/bin/python3) from
 * our initial weights, our batches and our eps noise. The script compares every step's recon, kl
 * and loss, and the final weights and Adam moments, and its exit status decides this test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "parity_harness.h"
#include "checkpoint.h"
#include "dataset.h"
#include "device.h"
#include "safetensors.h"
#include "tape.h"
#include "util.h"
#include "vae.h"

#define B 64
#define STEPS 20
#define ZDIM 5
#define SEED 3ULL
#define TRAIN_IMAGES "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define SCRIPT "tests/vae_parity.py"
#define PYTHON "/usr/bin/python3"

static char tmpdir[] = "/tmp/clgan_test_vae_parity_XXXXXX";

static void tmp_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static int save_ckpt(vae *m, optim *opt, const char *name, long step) {
    char path[256], err[512], stepstr[32], adam_t[32];
    tmp_path(path, sizeof path, name);
    snprintf(stepstr, sizeof stepstr, "%ld", step);
    snprintf(adam_t, sizeof adam_t, "%ld", opt->t);
    const char *k[] = {"format", "model", "step", "adam_t", "seed"};
    const char *v[] = {"clgan-checkpoint-1", "vae", stepstr, adam_t, "3"};
    ckpt_part part = {&m->net, opt};
    int rc = ckpt_save(path, &part, 1, k, v, 5, err, sizeof err);
    CHECK(rc == 0, "ckpt_save %s: %s", name, err);
    return rc;
}

int main(void) {
    char err[1024];
    clg_ctx *cl = parity_open(SCRIPT, tmpdir);
    if (!cl) return 1;

    dataset train;
    if (dataset_load_idx(&train, cl, TRAIN_IMAGES, NULL, STEPS * B, err, sizeof err) != 0) {
        printf("FAIL dataset_load_idx: %s\n", err);
        return 1;
    }
    CHECK(train.n == STEPS * B && train.c == 1 && train.h == 28 && train.w == 28,
          "dataset shape %dx%dx%dx%d, want %dx1x28x28", train.n, train.c, train.h, train.w, STEPS * B);

    vae m;
    vae_create(&m, cl, 784, 400, ZDIM, 0, 1.0f);
    vae_init_weights(&m, SEED);
    optim opt;
    optim_adam(&opt, &m.net, 1e-3, 0.9, 0.999, 1e-8, 0);
    tape t;
    tape_init(&t, cl);

    printf("temp dir: %s\n", tmpdir);
    int io_ok = save_ckpt(&m, &opt, "init.safetensors", 0) == 0;

    float *eps = xmalloc(sizeof(float) * STEPS * B * ZDIM);
    float *losses = xmalloc(sizeof(float) * STEPS * 3);
    double t0 = now_seconds();
    for (int s = 0; s < STEPS; s++) {
        tape_reset(&t);
        net_zero_grad(&m.net);
        tensor xb = arena_tensor(&t.ar, B, 1, 28, 28);
        dataset_batch(&train, s * B, B, xb, 1.0f);
        vae_vars v = vae_forward(&m, &t, tape_input(&t, xb), SEED, (unsigned)s);
        tensor e = tape_val(&t, v.eps);
        CHECK(e.n == B && (size_t)e.n * e.c * e.h * e.w == (size_t)B * ZDIM, "eps shape %dx%dx%dx%d", e.n, e.c, e.h,
              e.w);
        clg_read(cl, e.mem, e.off, (size_t)B * ZDIM, eps + (size_t)s * B * ZDIM);
        losses[3 * s + 0] = tape_read_scalar(&t, v.recon);
        losses[3 * s + 1] = tape_read_scalar(&t, v.kl);
        losses[3 * s + 2] = tape_read_scalar(&t, v.loss);
        tape_backward(&t, v.loss);
        optim_step(&opt);
        printf("step %2d  recon %.6f  kl %.6f  loss %.6f\n", s, losses[3 * s], losses[3 * s + 1], losses[3 * s + 2]);
    }
    clg_finish(cl);
    printf("clgan: %d steps in %.2f s\n", STEPS, now_seconds() - t0);

    /* Sanity of what is handed to PyTorch: the noise looks like N(0, 1) and the losses are finite. */
    double sum = 0, sq = 0;
    int finite = 1;
    for (long i = 0; i < (long)STEPS * B * ZDIM; i++) {
        finite &= isfinite(eps[i]) != 0;
        sum += eps[i];
        sq += (double)eps[i] * eps[i];
    }
    double n = (double)STEPS * B * ZDIM, mean = sum / n, sd = sqrt(sq / n - mean * mean);
    printf("eps: n=%.0f mean %.4f sd %.4f\n", n, mean, sd);
    CHECK(finite && fabs(mean) < 0.1 && fabs(sd - 1) < 0.1, "eps is not N(0,1)-like: mean %g sd %g", mean, sd);
    /* Steps differ in their noise: step 1's eps is not step 0's. */
    CHECK(memcmp(eps, eps + B * ZDIM, sizeof(float) * B * ZDIM) != 0, "eps of step 0 and step 1 are identical");
    for (int i = 0; i < STEPS * 3; i++) CHECK(isfinite(losses[i]), "loss %d of step %d is not finite", i % 3, i / 3);

    st_tensor tr[2] = {{.name = "eps", .ndim = 3, .shape = {STEPS, B, ZDIM}, .data = eps},
                       {.name = "losses", .ndim = 2, .shape = {STEPS, 3}, .data = losses}};
    char path[256], bstr[16], sstr[16];
    snprintf(bstr, sizeof bstr, "%d", B);
    snprintf(sstr, sizeof sstr, "%d", STEPS);
    const char *mk[] = {"batch_size", "steps", "seed", "columns"};
    const char *mv[] = {bstr, sstr, "3", "recon,kl,loss"};
    tmp_path(path, sizeof path, "trace.safetensors");
    int rc = st_save(path, tr, 2, mk, mv, 4, err, sizeof err);
    CHECK(rc == 0, "st_save trace: %s", err);
    io_ok &= rc == 0;
    io_ok &= save_ckpt(&m, &opt, "final.safetensors", STEPS) == 0;

    if (io_ok) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s %s", PYTHON, SCRIPT, tmpdir);
        printf("running: %s\n", cmd);
        fflush(stdout);
        int st = system(cmd);
        int ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        CHECK(ok, "%s: %s %d", cmd, st == -1 ? "could not launch, status" : WIFEXITED(st) ? "exit status" : "killed by signal",
              st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }

    parity_remove_dir(tmpdir);
    free(eps);
    free(losses);
    tape_free(&t);
    optim_free(&opt);
    vae_free(&m);
    dataset_free(&train);
    clg_close(cl);
    TEST_END();
}
