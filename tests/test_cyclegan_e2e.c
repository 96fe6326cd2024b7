/* CycleGAN end to end with the tools a user runs: ./make_edges2fashion derives a small edges2fashion
 * (32x32), ./train -c ini/cyclegan.ini trains a narrow CycleGAN on it for two epochs (the cycle loss
 * must fall), writes its grids, plot and checkpoint; --resume for a third epoch must land on exactly
 * the weights, Adam moments and image pools of a straight three-epoch run; ./translate turns the
 * validation edge maps (left halves) into garments and the garments into edge maps, keeping names,
 * writing one-channel images of the model's size with values spread over [-1, 1], and skipping a
 * corrupt input with a message. Run from the repository root after `make`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "images.h"
#include "safetensors.h"
#include "util.h"

static char dir[] = "/tmp/clgan_test_cyclegan_e2e_XXXXXX";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    printf("$ %s\n", cmd);
    fflush(stdout);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

#define TRAIN_ARGS                                                                                                   \
    "--set data.load_size=32 --set data.crop_size=32 --set cyclegan.ngf=8 --set cyclegan.ndf=8 "                     \
    "--set cyclegan.n_blocks=2 --set cyclegan.epochs_decay=0 --set run.log_every=8 --set cyclegan.grid_every=20 "    \
    "--set cyclegan.pool_size=5"

/* Rows of losses.csv: columns 5 and 6 (cycle_A, cycle_B) summed into cyc[]. Returns the row count. */
static int read_cycle(const char *path, double *cyc, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    int n = 0;
    if (!fgets(line, sizeof line, f)) n = -1;
    else CHECK(!strncmp(line, "step,G_A,G_B,D_A,D_B,cycle_A,cycle_B", 36), "losses.csv header: %s", line);
    while (n >= 0 && fgets(line, sizeof line, f)) {
        double v[7];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7) break;
        int finite = 1;
        for (int i = 0; i < 7; i++) finite &= isfinite(v[i]);
        CHECK(finite, "losses.csv row %d not finite", n + 1);
        if (n < cap) cyc[n] = v[5] + v[6];
        n++;
    }
    fclose(f);
    return n;
}

static double mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

/* Every tensor of a and b bit-identical (the metadata differs: run folders). */
static void same_tensors(const char *pa, const char *pb) {
    st_file a, b;
    char err[4400];
    if (st_load(pa, &a, err, sizeof err) || st_load(pb, &b, err, sizeof err)) {
        CHECK(0, "%s", err);
        return;
    }
    int diff = 0, missing = 0;
    for (int i = 0; i < a.n; i++) {
        const st_tensor *t = st_find(&b, a.t[i].name);
        if (!t || st_numel(t) != st_numel(&a.t[i])) {
            missing++;
            continue;
        }
        if (memcmp(t->data, a.t[i].data, (size_t)st_numel(t) * sizeof(float))) diff++;
    }
    CHECK(a.n == b.n && !missing && !diff, "resumed vs straight run: %d vs %d tensors, %d missing, %d differ", a.n, b.n,
          missing, diff);
    printf("ok   resume: %d tensors (weights, Adam moments, image pools) bit-identical to a straight run\n", a.n);
    st_free(&a);
    st_free(&b);
}

/* The PNG's color type (0 gray, 2 RGB) from its IHDR chunk. */
static int png_color_type(const char *path) {
    unsigned char h[26];
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    return n == sizeof h ? h[25] : -1;
}

static void check_translation(const char *outdir, const char *what) {
    int good = 0;
    for (int i = 0; i < 4; i++) {
        char p[4400], err[4400];
        snprintf(p, sizeof p, "%s/%05d.png", outdir, i);
        int h = 0, w = 0;
        float *img = image_load_native(p, 1, &h, &w, err, sizeof err);
        if (!img) {
            CHECK(0, "%s: %s", what, err);
            continue;
        }
        double s = 0, s2 = 0, lo = 1, hi = -1;
        for (int k = 0; k < h * w; k++) {
            s += img[k], s2 += (double)img[k] * img[k];
            lo = fmin(lo, img[k]), hi = fmax(hi, img[k]);
        }
        double m = s / (h * w), sd = sqrt(fmax(s2 / (h * w) - m * m, 0));
        int ok = h == 32 && w == 32 && png_color_type(p) == 0 && lo >= -1 && hi <= 1 && sd > 0.02;
        CHECK(ok, "%s %s: %dx%d, color type %d, range [%.3f, %.3f], sd %.3f", what, p, w, h, png_color_type(p), lo, hi, sd);
        good += ok;
        free(img);
    }
    printf("%s %s: %d/4 outputs named as their inputs, 32x32 one-channel, values spread in [-1, 1]\n",
           good == 4 ? "ok  " : "FAIL", what, good);
}

int main(void) {
    if (!exists("./train") || !exists("./translate") || !exists("./make_edges2fashion") || !exists("ini/cyclegan.ini")) {
        printf("FAIL run from the repository root after make (./train, ./translate, ./make_edges2fashion)\n");
        return 1;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char p[4400], q[4400];
    CHECK(sh("./make_edges2fashion --out %s/data --train 32 --val 4 --size 32 > %s/make.log", dir, dir) == 0,
          "make_edges2fashion failed");
    snprintf(p, sizeof p, "%s/data/train/00031.png", dir);
    CHECK(exists(p), "make_edges2fashion wrote no %s", p);

    CHECK(sh("./train -c ini/cyclegan.ini --set run.dir=%s/run --set data.dataroot=%s/data " TRAIN_ARGS
             " --set train.epochs=2 > %s/train.log 2>&1",
             dir, dir, dir) == 0,
          "training failed (see %s/train.log)", dir);
    double cyc[256];
    snprintf(p, sizeof p, "%s/run/losses.csv", dir);
    int n = read_cycle(p, cyc, 256);
    CHECK(n == 64, "losses.csv has %d rows, want 64 (2 epochs of 32 steps)", n);
    if (n >= 16) {
        double first = mean(cyc, 8), last = mean(cyc + n - 8, 8);
        CHECK(last < 0.8 * first, "cycle loss did not fall: first 8 steps %.3f, last 8 %.3f", first, last);
        printf("%s cycle loss (cycle_A + cycle_B) falls: first 8 steps %.3f, last 8 %.3f\n", last < 0.8 * first ? "ok  " : "FAIL",
               first, last);
    }
    static const char *const outputs[] = {"translations_epoch001.png", "translations_epoch002.png", "translations_step0000020.png",
                                          "translations.png", "losses.png", "checkpoint.safetensors", "config.ini"};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) {
        snprintf(p, sizeof p, "%s/run/%s", dir, outputs[i]);
        CHECK(exists(p), "run folder lacks %s", outputs[i]);
    }
    int gh = 0, gw = 0;
    char err[4400];
    snprintf(p, sizeof p, "%s/run/translations.png", dir);
    image_prep prep = {.channels = 3};
    CHECK(image_probe(p, &prep, &gh, &gw, err, sizeof err) == 0 && gh == 2 * 32 + 6 && gw == 4 * (2 * 32 + 6) + 30,
          "translations.png is %dx%d, want four 2x2 blocks of 32x32 images", gw, gh);

    /* resume one more epoch == a straight three-epoch run */
    CHECK(sh("./train --resume %s/run --set train.epochs=3 > %s/resume.log 2>&1", dir, dir) == 0, "resume failed");
    CHECK(sh("./train -c ini/cyclegan.ini --set run.dir=%s/straight --set data.dataroot=%s/data " TRAIN_ARGS
             " --set train.epochs=3 > %s/straight.log 2>&1",
             dir, dir, dir) == 0,
          "straight run failed");
    snprintf(p, sizeof p, "%s/run/checkpoint.safetensors", dir);
    snprintf(q, sizeof q, "%s/straight/checkpoint.safetensors", dir);
    same_tensors(p, q);
    snprintf(q, sizeof q, "%s/run/losses.csv", dir);
    CHECK(read_cycle(q, cyc, 256) == 96, "after resume losses.csv should have 96 rows");

    /* translate both ways; a corrupt input is reported and skipped */
    snprintf(q, sizeof q, "%s/bad.png", dir);
    FILE *f = fopen(q, "wb");
    if (f) {
        fputs("\x89PNG\r\n\x1a\nnot really", f);
        fclose(f);
    }
    CHECK(sh("./translate --checkpoint %s --input %s/data/val --input %s --half left --output %s/fake_B > %s/tr.log 2>&1", p,
             dir, q, dir, dir) == 0,
          "translate AtoB failed");
    snprintf(q, sizeof q, "%s/fake_B", dir);
    check_translation(q, "translate AtoB (edges -> garments)");
    snprintf(q, sizeof q, "%s/fake_B/bad.png", dir);
    CHECK(!exists(q), "a corrupt input produced an output");
    CHECK(sh("grep -q 'skipping .*bad.png' %s/tr.log && grep -q '1 unreadable' %s/tr.log", dir, dir) == 0,
          "translate did not report the corrupt input");
    CHECK(sh("./translate --checkpoint %s --direction BtoA --half right %s/data/val --output %s/fake_A > %s/tr2.log 2>&1", p,
             dir, dir, dir) == 0,
          "translate BtoA failed");
    snprintf(q, sizeof q, "%s/fake_A", dir);
    check_translation(q, "translate BtoA (garments -> edges)");
    CHECK(sh("./translate --checkpoint %s/nope.safetensors --input %s/data/val --output %s/x 2> %s/tr3.log; test $? -ne 0 && "
             "grep -q nope.safetensors %s/tr3.log",
             dir, dir, dir, dir, dir) == 0,
          "a missing checkpoint must fail naming the path");

    /* outputs are never written over inputs, and over earlier outputs only with --overwrite */
    CHECK(sh("mkdir -p %s/same && cp %s/fake_A/*.png %s/same/ && ls %s/same > %s/same.before", dir, dir, dir, dir, dir) == 0,
          "setup of the overwrite cases");
    CHECK(sh("./translate --checkpoint %s %s/same --output %s/same > %s/tr4.log 2>&1; test $? -ne 0 && "
             "grep -q 'would replace the input' %s/tr4.log && ls %s/same | cmp -s - %s/same.before && "
             "cmp -s %s/same/00000.png %s/fake_A/00000.png",
             p, dir, dir, dir, dir, dir, dir, dir, dir) == 0,
          "translating a folder into itself must be refused and leave the inputs as they were");
    CHECK(sh("./translate --checkpoint %s --direction BtoA --half right %s/data/val --output %s/fake_A --overwrite > %s/tr5.log "
             "2>&1 && ./translate --checkpoint %s --direction BtoA --half right %s/data/val --output %s/fake_A > %s/tr6.log 2>&1; "
             "test $? -ne 0 && grep -q 'exists; nothing was written' %s/tr6.log",
             p, dir, dir, dir, p, dir, dir, dir, dir) == 0,
          "an existing output is replaced with --overwrite and refused without it");
    printf("checked: translate refuses an input folder as --output and replaces an existing output only with --overwrite\n");

    if (check_failures == 0) sh("rm -rf %s", dir);
    else printf("kept %s for inspection\n", dir);
    TEST_END();
}
