/* models/featnet.c and the kinds of this branch:
 *   the bilinear resize against torch.nn.functional.interpolate(mode='bilinear', align_corners=False)
 *     (tests/evaluate_ref.py): 28x28 -> 299x299 (pytorch-fid's upsampling), 13x11 -> 17x7 (one axis
 *     up, one down), 64x64 -> 28x28 (down by a non-integer ratio), 5x5 -> 5x5 (identity), to 3e-6 on [0, 1] values (torch
 *     blends in float32: about 1e-6 apart from the double blend; a wrong pixel offset is 1e-2);
 *   featnet_prepare: grey repeated to 3 channels, RGB averaged for a one-channel net, the mapping to
 *     [in_lo, in_hi] (against a double reference), a 2-channel image refused;
 *   the Fashion classifier round trip: random weights saved as a fashion_classifier checkpoint, opened
 *     by name through featnet_open, featnet_run on 57 grey 20x20 images (two batches, resized to 28)
 *     against the same networks run directly (resize + seq_forward) on all 57 at once: features and
 *     logits to 1e-5; a non-classifier checkpoint and an unknown kind are refused with messages;
 *   pixel-l1: featnet_pair_distance of 5 pairs of 3x9x7 images against the mean |a - b| in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "fashion_classifier.h"
#include "featnet_util.h"
#include "rng.h"
#include "tape_data.h"
#include "util.h"

#define PYTHON "/usr/bin/python3"

static char tmpdir[] = "/tmp/clgan-test-featnet-XXXXXX";
static rng_seq R;

static void fill(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = rng_uniform(&R);
}

static void test_resize(void) {
    const int cases[4][5] = {{1, 28, 28, 299, 299}, {3, 13, 11, 17, 7}, {1, 64, 64, 28, 28}, {2, 5, 5, 5, 5}};
    for (int k = 0; k < 4; k++) {
        int c = cases[k][0], h = cases[k][1], w = cases[k][2], oh = cases[k][3], ow = cases[k][4];
        size_t n = (size_t)c * h * w, m = (size_t)c * oh * ow;
        float *in = xmalloc(n * sizeof *in), *got = xmalloc(m * sizeof *got), *ref = xmalloc(m * sizeof *ref);
        fill(in, n);
        featnet_resize_bilinear(in, c, h, w, got, oh, ow);
        char pin[128], pout[128], cmd[1024];
        snprintf(pin, sizeof pin, "%s/in", tmpdir), snprintf(pout, sizeof pout, "%s/out", tmpdir);
        FILE *f = fopen(pin, "wb");
        int ok = f && fwrite(in, sizeof *in, n, f) == n;
        if (f) fclose(f);
        snprintf(cmd, sizeof cmd, PYTHON " tests/evaluate_ref.py resize %s %s %d %d %d %d %d", pin, pout, c, h, w, oh, ow);
        ok = ok && system(cmd) == 0;
        f = ok ? fopen(pout, "rb") : NULL;
        ok = f && fread(ref, sizeof *ref, m, f) == m;
        if (f) fclose(f);
        CHECK(ok, "resize reference failed: %s", cmd);
        double worst = 0;
        for (size_t i = 0; ok && i < m; i++) worst = fmax(worst, fabs((double)got[i] - ref[i]));
        int pass = ok && worst <= 3e-6;
        check_count++;
        if (!pass) check_failures++;
        printf("%s resize %dx%dx%d -> %dx%d vs F.interpolate(bilinear, align_corners=False): max abs err %.1e (tol 3e-6)\n",
               pass ? "ok  " : "FAIL", c, h, w, oh, ow, worst);
        free(in), free(got), free(ref);
    }
}

static void test_prepare(void) {
    featnet f = {.kind = "test", .in_c = 3, .in_h = 4, .in_w = 4, .in_lo = -1, .in_hi = 1};
    enum { H = 4, W = 4, P = H * W };
    float grey[2 * P], rgb[2 * 3 * P], out[2 * 3 * P];
    fill(grey, 2 * P), fill(rgb, 2 * 3 * P);
    char err[256];
    int oc, oh, ow;
    int rc = featnet_prepare(&f, grey, 2, 1, H, W, out, &oc, &oh, &ow, err, sizeof err);
    double worst = 0;
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < P; p++) worst = fmax(worst, fabs(out[(i * 3 + c) * P + p] - (2.0 * grey[i * P + p] - 1)));
    CHECK(rc == 0 && oc == 3 && worst < 1e-6, "grey -> 3 channels in [-1, 1]: rc %d, err %g", rc, worst);
    printf("%s prepare: grey repeated to 3 channels and mapped to [-1, 1]: max abs err %.1e (tol 1e-6)\n",
           rc == 0 && oc == 3 && worst < 1e-6 ? "ok  " : "FAIL", worst);
    f.in_c = 1, f.in_lo = 0, f.in_hi = 1;
    rc = featnet_prepare(&f, rgb, 2, 3, H, W, out, &oc, &oh, &ow, err, sizeof err);
    worst = 0;
    for (int i = 0; i < 2; i++)
        for (int p = 0; p < P; p++)
            worst = fmax(worst, fabs(out[i * P + p] - ((double)rgb[(i * 3) * P + p] + rgb[(i * 3 + 1) * P + p] + rgb[(i * 3 + 2) * P + p]) / 3));
    CHECK(rc == 0 && oc == 1 && worst < 1e-6, "RGB -> grey: rc %d, err %g", rc, worst);
    printf("%s prepare: RGB averaged for a one-channel net: max abs err %.1e (tol 1e-6)\n", rc == 0 && oc == 1 && worst < 1e-6 ? "ok  " : "FAIL",
           worst);
    rc = featnet_prepare(&f, rgb, 1, 2, H, W, out, &oc, &oh, &ow, err, sizeof err);
    CHECK(rc != 0, "a 2-channel image was accepted");
    printf("%s prepare refuses 2 channels: %s\n", rc ? "ok  " : "FAIL", err);
}

static void test_fashion(clg_ctx *cl) {
    fashion_spec s = {.conv1 = 3, .conv2 = 4, .feat = 9, .in_h = 28, .in_w = 28, .ncls = 10};
    seqnet F, C;
    fashion_build(&s, &F, &C, cl);
    seq_init_weights(&F, INIT_TORCH_DEFAULT, 5);
    seq_init_weights(&C, INIT_TORCH_DEFAULT, 6);
    ckpt_meta meta = {0};
    ckpt_meta_add(&meta, "model", "fashion_classifier");
    fashion_meta_save(&s, &meta);
    const char *vals[CKPT_META_MAX];
    for (int i = 0; i < meta.n; i++) vals[i] = meta.val[i];
    char path[256], err[2048];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", tmpdir);
    ckpt_part parts[2] = {{&F.params, NULL}, {&C.params, NULL}};
    int rc = ckpt_save(path, parts, 2, meta.key, vals, meta.n, err, sizeof err);
    CHECK(rc == 0, "ckpt_save: %s", err);
    featnet f;
    rc = featnet_open(&f, cl, "fashion", path, err, sizeof err);
    CHECK(rc == 0, "featnet_open fashion: %s", err);
    if (rc != 0) return;
    CHECK(f.nfeat == 9 && f.nclass == 10 && !strcmp(f.metric_prefix, "Fashion-") && f.in_c == 1 && f.in_h == 28,
          "fashion featnet fields: nfeat %d nclass %d prefix %s", f.nfeat, f.nclass, f.metric_prefix);
    enum { N = 57, H = 20 };
    float *img = xmalloc(sizeof(float) * N * H * H), *feat = xmalloc(sizeof(float) * N * 9), *lg = xmalloc(sizeof(float) * N * 10);
    fill(img, (size_t)N * H * H);
    rc = featnet_run(&f, cl, img, N, 1, H, H, feat, lg, err, sizeof err);
    CHECK(rc == 0, "featnet_run: %s", err);
    /* the same by hand: resize, then the networks on all 57 at once */
    float *big = xmalloc(sizeof(float) * N * 28 * 28);
    for (int i = 0; i < N; i++) featnet_resize_bilinear(img + (size_t)i * H * H, 1, H, H, big + (size_t)i * 28 * 28, 28, 28);
    tape t;
    tape_init(&t, cl);
    t.grad_enabled = 0;
    seq_ctx ctx = {.training = 0};
    int fv = seq_forward(&F, &t, tape_upload(&t, N, 1, 28, 28, big), &ctx), lv = seq_forward(&C, &t, fv, &ctx);
    float *rf = tape_download_new(&t, fv, NULL), *rl = tape_download_new(&t, lv, NULL);
    double *df = xmalloc(sizeof(double) * N * 10);
    for (int i = 0; i < N * 9; i++) df[i] = rf[i];
    check_close("fashion featnet_run features vs direct (57 images)", feat, df, N * 9, 1e-5, 1e-3);
    for (int i = 0; i < N * 10; i++) df[i] = rl[i];
    check_close("fashion featnet_run logits vs direct (57 images)", lg, df, N * 10, 1e-5, 1e-3);
    tape_free(&t);
    free(rf), free(rl), free(df), free(big), free(img), free(feat), free(lg);
    featnet_free(&f);
    seq_free(&F), seq_free(&C);

    /* refusals: a checkpoint of another model, an unknown kind */
    ckpt_meta other = {0};
    ckpt_meta_add(&other, "model", "vae");
    const char *ov[1] = {other.val[0]};
    seqnet G;
    seq_init(&G, cl, "G");
    seq_linear(&G, 3, 2, 1);
    seq_build(&G);
    ckpt_part gp[1] = {{&G.params, NULL}};
    ckpt_save(path, gp, 1, other.key, ov, 1, err, sizeof err);
    rc = featnet_open(&f, cl, "fashion", path, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "fashion_classifier"), "a vae checkpoint opened as the fashion net (%s)", err);
    printf("%s fashion refuses a vae checkpoint: %s\n", rc ? "ok  " : "FAIL", err);
    seq_free(&G);
    rc = featnet_open(&f, cl, "nosuch", NULL, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "fashion"), "an unknown kind opened (%s)", err);
    printf("%s unknown kind refused: %s\n", rc ? "ok  " : "FAIL", err);
}

static void test_pixel(clg_ctx *cl) {
    enum { N = 5, C = 3, H = 9, W = 7, P = C * H * W };
    float a[N * P], b[N * P], feat[4];
    double d[N], ref[N];
    fill(a, N * P), fill(b, N * P);
    featnet f;
    char err[512];
    int rc = featnet_open(&f, cl, "pixel-l1", NULL, err, sizeof err);
    CHECK(rc == 0, "pixel-l1: %s", err);
    rc = featnet_pair_distance(&f, cl, a, b, N, C, H, W, d, err, sizeof err);
    CHECK(rc == 0, "pixel-l1 distance: %s", err);
    for (int i = 0; i < N; i++) {
        ref[i] = 0;
        for (int p = 0; p < P; p++) ref[i] += fabs((double)a[i * P + p] - b[i * P + p]) / P;
    }
    float df[N];
    for (int i = 0; i < N; i++) df[i] = (float)d[i];
    check_close("pixel-l1 distances of 5 pairs 3x9x7", df, ref, N, 1e-6, 1e-6);
    rc = featnet_run(&f, cl, a, N, C, H, W, feat, NULL, err, sizeof err);
    CHECK(rc != 0, "pixel-l1 gave features");
    printf("%s pixel-l1 computes no features: %s\n", rc ? "ok  " : "FAIL", err);
    featnet_free(&f);
}

int main(void) {
    clg_ctx *cl = dev_open_for_test();
    if (!cl) return 1;
    if (!mkdtemp(tmpdir)) {
        printf("FAIL cannot make %s\n", tmpdir);
        return 1;
    }
    R = rng_seq_make(99, 0, 0);
    test_resize();
    test_prepare();
    test_fashion(cl);
    test_pixel(cl);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", tmpdir);
    clg_close(cl);
    TEST_END();
}
