/* Checkpoint faults (issue 16): a FIFO given as a checkpoint is refused instead of hanging; NaN and
 * infinite values are refused on load and before save, naming the tensor (and the file already on
 * disk is kept); metadata fields are checked for form and range, with errors naming the field, its
 * value and the range; a negative second moment is refused by ckpt_load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"
#include "devtest.h"
#include "safetensors.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_faults_ckpt_XXXXXX";

static void tmp_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static void test_fifo(void) {
    char p[600], err[512] = "";
    tmp_path(p, sizeof p, "ckpt_fifo.safetensors");
    if (mkfifo(p, 0600) != 0) die("mkfifo %s", p);
    st_file f;
    alarm(10); /* a hang is a failure: SIGALRM ends the test non-zero */
    int rc = st_load(p, &f, err, sizeof err);
    alarm(0);
    CHECK(rc == -1 && strstr(err, "not a regular file") && strstr(err, p), "FIFO refused: %s", err);
    rc = st_load("/dev/zero", &f, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file"), "device file refused: %s", err);
    printf("non-regular files refused without blocking: %s\n", err);
    unlink(p);
}

static void test_nonfinite(void) {
    char p[600], err[512] = "";
    tmp_path(p, sizeof p, "w.safetensors");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {7, 8, 9};
    st_tensor t[2] = {{.name = "G.w", .ndim = 2, .shape = {2, 3}, .data = a}, {.name = "G.b", .ndim = 1, .shape = {3}, .data = b}};
    CHECK(st_save(p, t, 2, NULL, NULL, 0, err, sizeof err) == 0, "finite save: %s", err);
    struct stat st0, st1;
    stat(p, &st0);
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const char *word[3] = {"NaN", "+Inf", "-Inf"};
    for (int k = 0; k < 3; k++) {
        b[1] = bad[k];
        err[0] = 0;
        int rc = st_save(p, t, 2, NULL, NULL, 0, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "'G.b'") && strstr(err, word[k]) && strstr(err, "element 1"),
              "%s weight refused before saving, naming it: %s", word[k], err);
    }
    stat(p, &st1);
    CHECK(st0.st_ino == st1.st_ino && st0.st_size == st1.st_size, "the checkpoint on disk was kept");
    printf("save refuses non-finite: %s\n", err);
    /* Plant an Inf in the file's data section (the last float of G.b) and load it. */
    b[1] = 8;
    FILE *f = fopen(p, "r+b");
    float inf = INFINITY;
    if (!f || fseek(f, -4, SEEK_END) != 0 || fwrite(&inf, 4, 1, f) != 1) die("patch %s", p);
    fclose(f);
    st_file sf;
    int rc = st_load(p, &sf, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "'G.b'") && strstr(err, "+Inf") && strstr(err, "element 2"),
          "Inf in the file refused on load, naming the tensor: %s", err);
    printf("load refuses non-finite: %s\n", err);
}

static void test_meta(void) {
    char p[600], err[512];
    tmp_path(p, sizeof p, "meta.safetensors");
    const char *k[] = {"step", "neg", "junk", "blank", "plus", "huge", "empty"};
    const char *v[] = {"1200", "-5", "12x", " 7", "+7", "99999999999999999999999", ""};
    float x = 1;
    st_tensor t = {.name = "x", .ndim = 1, .shape = {1}, .data = &x};
    if (st_save(p, &t, 1, k, v, 7, err, sizeof err) != 0) die("%s", err);
    st_file f;
    if (st_load(p, &f, err, sizeof err) != 0) die("%s", err);
    long out = 0;
    int rc = ckpt_meta_long_range(&f, p, "step", 0, 5000, &out, err, sizeof err);
    CHECK(rc == 0 && out == 1200, "step 1200 in [0, 5000] read: %ld", out);
    out = 77;
    rc = ckpt_meta_long_range(&f, p, "neg", 0, 5000, &out, err, sizeof err);
    CHECK(rc == -1 && out == 77 && strstr(err, "'neg' = -5") && strstr(err, "[0, 5000]"),
          "negative value refused, naming field, value and range, output untouched: %s", err);
    printf("range: %s\n", err);
    rc = ckpt_meta_long_range(&f, p, "step", 0, 1199, &out, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "1200") && strstr(err, "[0, 1199]"), "value above the range refused: %s", err);
    for (int i = 2; i < 7; i++) {
        rc = ckpt_meta_long_range(&f, p, k[i], -10, 10, &out, err, sizeof err);
        CHECK(rc == -1 && strstr(err, k[i]) && strstr(err, "not an integer"), "'%s' refused: %s", v[i], err);
    }
    printf("form: %s\n", err);
    rc = ckpt_meta_long_range(&f, p, "absent", 0, 1, &out, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "no 'absent'"), "absent key: %s", err);
    st_free(&f);
}

/* A saved network with its optimizer; then the second moment of one parameter made negative. */
static void test_negative_moment(clg_ctx *cl) {
    char p[600], err[512] = "";
    tmp_path(p, sizeof p, "opt.safetensors");
    net n;
    net_init(&n, cl, "G");
    int shape[1] = {5};
    net_add(&n, "b", 1, shape);
    net_alloc(&n);
    net_init_const(&n, 0, 0.5f);
    optim o;
    optim_adam(&o, &n, 1e-3, 0.5, 0.999, 1e-8, 0);
    ckpt_part part = {&n, &o};
    CHECK(ckpt_save(p, &part, 1, NULL, NULL, 0, err, sizeof err) == 0, "ckpt_save: %s", err);
    st_file f;
    if (st_load(p, &f, err, sizeof err) != 0) die("%s", err);
    st_tensor *v = (st_tensor *)st_find(&f, "G.b.adam_v");
    CHECK(v != NULL, "adam_v saved");
    if (v) v->data[3] = -1e-3f;
    CHECK(st_save(p, f.t, f.n, NULL, NULL, 0, err, sizeof err) == 0, "re-save: %s", err);
    st_free(&f);
    int rc = ckpt_load(p, &part, 1, 1, &f, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "G.b.adam_v") && strstr(err, "element 3"), "negative second moment refused: %s", err);
    printf("moments: %s\n", err);
    rc = ckpt_load(p, &part, 1, 0, &f, err, sizeof err);
    CHECK(rc == 0, "weights alone still load: %s", err);
    if (rc == 0) st_free(&f);
    /* A NaN weight in a network is not saved (exit non-zero, not a NaN checkpoint). */
    net_init_const(&n, 0, NAN);
    rc = ckpt_save(p, &part, 1, NULL, NULL, 0, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "'G.b'") && strstr(err, "NaN"), "NaN network not saved: %s", err);
    optim_free(&o);
    net_free(&n);
}

int main(void) {
    if (!mkdtemp(tmpdir)) die("mkdtemp");
    test_fifo();
    test_nonfinite();
    test_meta();
    clg_ctx *cl = dev_open_for_test();
    if (cl) {
        test_negative_moment(cl);
        clg_close(cl);
    } else {
        check_failures++;
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    TEST_END();
}
