/* PyTorch parity for the evaluation metrics' feature networks (models/featnet.h): Inception-v3 as
 * pytorch-fid's FID network (featnet_open_inception) and LPIPS v0.1 with AlexNet (featnet_open_lpips).
 *
 * tests/featnet_parity.py (/usr/bin/python3) builds both in PyTorch with random weights (batch-norm
 * running statistics random too), saves them as the .pth files a user has, converts them with
 * tools/convert_inception.py and tools/convert_lpips.py, and writes random inputs with PyTorch's float64
 * outputs (see its header). Here: each converted file is opened as ./evaluate will open it, the same
 * inputs run through forward (pool3 features {2, 2048} and the IS logits {2, 1008} -- fc.weight only;
 * the script makes fc.bias large, so adding it would fail -- at 299x299) or distance ({4} LPIPS
 * distances at 67x75); the same for torchvision's ImageNet Inception-v3 (its file converted with
 * variant "torchvision": average pools that count the padding, 1000 classes, metric prefix
 * "torchvision-"; 1 image at 171x171), and each output is compared as max |ours - torch| / max |torch| against
 * max(TOL, 10 x PyTorch float32's own error): TOL 1e-4 for Inception (95 float32 conv layers), 1e-5
 * for LPIPS. Then the open functions' refusals: the converted Inception file with one tensor removed
 * (a conv weight; the running variance of an average-pool branch, which is kept as a batch-norm buffer)
 * or of the wrong shape (a running variance folded into its conv; fc.weight), must fail with a message
 * naming the file and the tensor;
 * LPIPS likewise for a missing head. The script's exit status and those checks decide this test.
 * FEATNET_PARITY_KEEP=1 keeps the files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "featnet.h"
#include "safetensors.h"
#include "tape_data.h"
#include "util.h"

#define SCRIPT "tests/featnet_parity.py"
#define PYTHON "/usr/bin/python3"

static char tmpdir[] = "/tmp/clgan_test_featnet_parity_XXXXXX";
static clg_ctx *cl;

static void path_of(char *out, size_t n, const char *file) { snprintf(out, n, "%s/%s", tmpdir, file); }

static const st_tensor *need(const st_file *f, const char *name) {
    const st_tensor *t = st_find(f, name);
    CHECK(t != NULL, "reference tensor %s missing", name);
    return t;
}

static int upload4(tape *t, const st_tensor *s) {
    return tape_upload(t, (int)s->shape[0], (int)s->shape[1], (int)s->shape[2], (int)s->shape[3], s->data);
}

/* ours (n floats) against ref; tolerance max(tol, 10 * torch float32's error). */
static void compare(const char *what, const float *ours, const st_tensor *ref, long n, double tol, double err32) {
    if (n != st_numel(ref)) {
        CHECK(0, "%s: %ld values, torch has %lld", what, n, st_numel(ref));
        return;
    }
    double mx = 0, worst = 0;
    for (long i = 0; i < n; i++) mx = fmax(mx, fabs(ref->data[i]));
    for (long i = 0; i < n; i++) {
        double e = fabs((double)ours[i] - ref->data[i]) / mx;
        if (!(e <= worst)) worst = e;
    }
    double lim = fmax(tol, 10 * err32);
    int ok = worst <= lim && mx > 0;
    check_count++;
    check_failures += !ok;
    char e32[48];
    if (err32 > 0) snprintf(e32, sizeof e32, "torch float32 %.1e", err32);
    else snprintf(e32, sizeof e32, "torch float32 not run");
    printf("%s %-52s n=%-6ld max|torch| %.4g  max err / max|torch| %.2e (tol %.1e; %s)\n", ok ? "ok  " : "FAIL", what, n,
           mx, worst, lim, e32);
}

/* name "inception" (the FID network: 2 images at 299x299, 1008 classes) or "inception_tv" (torchvision's
 * weights: 1 image at 171x171, 1000 classes). */
static void run_inception(const char *name, int n, int hw, int nclass, const char *prefix) {
    char wpath[256], rpath[256], err[1024], file[64], what[96];
    snprintf(file, sizeof file, "%s.safetensors", name);
    path_of(wpath, sizeof wpath, file);
    snprintf(file, sizeof file, "%s_ref.safetensors", name);
    path_of(rpath, sizeof rpath, file);
    featnet f;
    double t0 = now_seconds();
    if (featnet_open_inception(&f, cl, wpath, err, sizeof err) != 0) {
        CHECK(0, "featnet_open_inception: %s", err);
        return;
    }
    CHECK(f.nfeat == 2048 && f.nclass == nclass && f.in_c == 3 && f.in_h == 299 && f.in_w == 299 && f.in_lo == -1.0f &&
              f.in_hi == 1.0f && f.forward && !f.distance && !strcmp(f.metric_prefix, prefix),
          "%s: nfeat %d nclass %d input %dx%dx%d [%g, %g] prefix '%s'", name, f.nfeat, f.nclass, f.in_c, f.in_h, f.in_w,
          f.in_lo, f.in_hi, f.metric_prefix);
    printf("%s: %s, metric prefix '%s'\n", name, f.describe, f.metric_prefix);
    st_file r;
    if (st_load(rpath, &r, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        f.free(&f);
        return;
    }
    const st_tensor *x = need(&r, "x"), *pool = need(&r, "pool"), *logits = need(&r, "logits");
    const st_tensor *e1 = need(&r, "err32.pool"), *e2 = need(&r, "err32.logits");
    if (x && pool && logits && e1 && e2) {
        tape t;
        tape_init(&t, cl);
        t.grad_enabled = 0;
        int lv = -1;
        int pv = f.forward(&f, &t, upload4(&t, x), &lv);
        tensor pt = tape_val(&t, pv), lt = tape_val(&t, lv);
        CHECK(pt.n == n && pt.c * pt.h * pt.w == 2048 && lt.n == n && lt.c * lt.h * lt.w == nclass,
              "%s: outputs {%d, %d, %d, %d} and {%d, %d, %d, %d}", name, pt.n, pt.c, pt.h, pt.w, lt.n, lt.c, lt.h, lt.w);
        float *p = tape_download_new(&t, pv, NULL), *l = tape_download_new(&t, lv, NULL);
        printf("%s: opened and ran %d images at %dx%d in %.2f s\n", name, n, hw, hw, now_seconds() - t0);
        snprintf(what, sizeof what, "%s pool3 features {%d, 2048}", name, n);
        compare(what, p, pool, (long)tnumel(pt), 1e-4, e1->data[0]);
        snprintf(what, sizeof what, "%s IS logits {%d, %d} (no fc.bias)", name, n, nclass);
        compare(what, l, logits, (long)tnumel(lt), 1e-4, e2->data[0]);
        free(p);
        free(l);
        tape_free(&t);
    }
    f.free(&f);
    st_free(&r);
}

static void run_lpips(void) {
    char wpath[256], rpath[256], err[1024];
    path_of(wpath, sizeof wpath, "lpips.safetensors");
    path_of(rpath, sizeof rpath, "lpips_ref.safetensors");
    featnet f;
    if (featnet_open_lpips(&f, cl, wpath, err, sizeof err) != 0) {
        CHECK(0, "featnet_open_lpips: %s", err);
        return;
    }
    CHECK(f.distance && !f.forward && f.in_c == 3 && f.in_lo == -1.0f && f.in_hi == 1.0f, "lpips: the featnet's fields");
    st_file r;
    if (st_load(rpath, &r, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        f.free(&f);
        return;
    }
    const st_tensor *a = need(&r, "a"), *b = need(&r, "b"), *d = need(&r, "d"), *e = need(&r, "err32.d");
    if (a && b && d && e) {
        tape t;
        tape_init(&t, cl);
        t.grad_enabled = 0;
        int dv = f.distance(&f, &t, upload4(&t, a), upload4(&t, b));
        tensor dt = tape_val(&t, dv);
        CHECK(dt.n == 4 && dt.c * dt.h * dt.w == 1, "lpips: distance {%d, %d, %d, %d}, want {4}", dt.n, dt.c, dt.h, dt.w);
        float *dh = tape_download_new(&t, dv, NULL);
        printf("lpips: ours %.6f %.6f %.6f %.6f, torch %.6f %.6f %.6f %.6f\n", dh[0], dh[1], dh[2], dh[3], d->data[0],
               d->data[1], d->data[2], d->data[3]);
        compare("lpips distances {4} (67x75; two near pairs)", dh, d, (long)tnumel(dt), 1e-5, e->data[0]);
        /* the near pairs' distances are 300x smaller: each on its own scale too */
        double worst = 0;
        for (int i = 0; i < 4; i++) worst = fmax(worst, fabs(dh[i] - d->data[i]) / fabs(d->data[i]));
        int ok = worst <= 1e-4;
        check_count++;
        check_failures += !ok;
        printf("%s lpips distances, each relative to itself: max err %.2e (tol 1e-4)\n", ok ? "ok  " : "FAIL", worst);
        free(dh);
        tape_free(&t);
    }
    f.free(&f);
    st_free(&r);
}

/* The file at src without tensor `drop` (or with it cut to its first row when `reshape`) as dst; then
 * open must fail naming dst and the tensor. */
static void refusal(featnet_open_fn open, const char *src_name, const char *drop, int reshape) {
    char src[256], dst[256], err[1024];
    path_of(src, sizeof src, src_name);
    path_of(dst, sizeof dst, "broken.safetensors");
    st_file f;
    if (st_load(src, &f, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        return;
    }
    st_tensor *keep = xmalloc((size_t)f.n * sizeof *keep);
    int n = 0, found = 0;
    for (int i = 0; i < f.n; i++) {
        if (strcmp(f.t[i].name, drop)) {
            keep[n++] = f.t[i];
            continue;
        }
        found = 1;
        if (reshape) {
            keep[n] = f.t[i];
            keep[n++].shape[0] = 1;
        }
    }
    CHECK(found, "%s has no tensor %s", src, drop);
    int rc = st_save(dst, keep, n, NULL, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "st_save: %s", err);
    featnet fn;
    err[0] = 0;
    rc = open(&fn, cl, dst, err, sizeof err);
    int ok = rc == -1 && strstr(err, dst) && strstr(err, drop) && (!reshape || strstr(err, "shape"));
    check_count++;
    check_failures += !ok;
    printf("%s %s with '%s' %s is refused: %s\n", ok ? "ok  " : "FAIL", src_name, drop, reshape ? "cut to one row" : "removed",
           err);
    if (rc == 0) fn.free(&fn);
    unlink(dst);
    free(keep);
    st_free(&f);
}

int main(void) {
    double t0 = now_seconds();
    cl = parity_open(SCRIPT, tmpdir);
    if (!cl) return 1;
    const char *names[] = {"inception", "inception_tv", "lpips"};
    int ok = run_parity_script(PYTHON, SCRIPT, tmpdir, names, 3);
    CHECK(ok, "the parity script failed (its FAIL lines above)");
    if (ok) {
        run_inception("inception", 2, 299, 1008, "");
        run_inception("inception_tv", 1, 171, 1000, "torchvision-");
        run_lpips();
        refusal(featnet_open_inception, "inception.safetensors", "Mixed_6b.branch7x7_2.conv.weight", 0);
        refusal(featnet_open_inception, "inception.safetensors", "Mixed_7c.branch_pool.bn.running_var", 1); /* folded */
        refusal(featnet_open_inception, "inception.safetensors", "Mixed_7b.branch_pool.bn.running_var", 0); /* a buffer */
        refusal(featnet_open_inception, "inception.safetensors", "fc.weight", 1);
        refusal(featnet_open_lpips, "lpips.safetensors", "lin3.model.1.weight", 0);
        refusal(featnet_open_lpips, "lpips.safetensors", "net.slice2.3.weight", 1);
    }
    const char *files[] = {"inception.safetensors", "inception_ref.safetensors", "inception_tv.safetensors",
                           "inception_tv_ref.safetensors", "lpips.safetensors", "lpips_ref.safetensors"};
    if (!getenv("FEATNET_PARITY_KEEP")) {
        char p[256];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            path_of(p, sizeof p, files[i]);
            unlink(p);
        }
        rmdir(tmpdir);
    } else {
        printf("files kept in %s\n", tmpdir);
    }
    clg_close(cl);
    printf("runtime %.1f s\n", now_seconds() - t0);
    TEST_END();
}
