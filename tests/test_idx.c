/* IDX loader: the real Fashion-MNIST files (when installed) and synthetic plain / gzip files,
 * including broken ones that must be rejected with the path in the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "idx.h"
#include "util.h"

#define FMNIST "/usr/share/datasets/fashion-mnist"

static char tmpdir[] = "/tmp/clgan_test_idx_XXXXXX";

static void tmp_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static void test_real(void) {
    struct stat st;
    if (stat(FMNIST, &st) != 0) {
        printf("skipped: real Fashion-MNIST (%s absent)\n", FMNIST);
        return;
    }
    char err[512];
    const char *sets[2] = {"train", "t10k"};
    const int want_n[2] = {60000, 10000};
    for (int s = 0; s < 2; s++) {
        char ip[256], lp[256];
        snprintf(ip, sizeof ip, FMNIST "/%s-images-idx3-ubyte.gz", sets[s]);
        snprintf(lp, sizeof lp, FMNIST "/%s-labels-idx1-ubyte.gz", sets[s]);
        idx_images im;
        int rc = idx_load_images(ip, &im, err, sizeof err);
        CHECK(rc == 0, "load %s: %s", ip, err);
        if (rc != 0) continue;
        printf("%s images: n=%d %dx%d\n", sets[s], im.n, im.rows, im.cols);
        CHECK(im.n == want_n[s] && im.rows == 28 && im.cols == 28, "%s images shape", sets[s]);
        unsigned char *lab;
        int nl;
        rc = idx_load_labels(lp, &lab, &nl, err, sizeof err);
        CHECK(rc == 0, "load %s: %s", lp, err);
        if (rc == 0) {
            CHECK(nl == want_n[s], "%s labels: n=%d, want %d", sets[s], nl, want_n[s]);
            long count[10] = {0};
            int bad = 0;
            for (int i = 0; i < nl; i++) {
                if (lab[i] > 9) bad++;
                else count[lab[i]]++;
            }
            CHECK(bad == 0, "%s labels: %d outside 0..9", sets[s], bad);
            int balanced = 1;
            for (int c = 0; c < 10; c++) balanced &= count[c] == want_n[s] / 10;
            printf("%s labels: n=%d, class counts %ld %ld ... %ld\n", sets[s], nl, count[0], count[1],
                   count[9]);
            CHECK(balanced, "%s labels: each class %d times", sets[s], want_n[s] / 10);
            free(lab);
        }
        if (s == 0) {
            double sum = 0;
            size_t total = (size_t)im.n * im.rows * im.cols;
            for (size_t i = 0; i < total; i++) sum += im.pixels[i];
            double mean = sum / (double)total;
            printf("train pixel mean %.4f (expected about 72.94)\n", mean);
            CHECK(mean > 72.94 - 0.5 && mean < 72.94 + 0.5, "train pixel mean %.4f", mean);
        }
        idx_free_images(&im);
    }
}

static void put_be32(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);  p[3] = (unsigned char)v;
}

static void write_raw(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) { perror(path); exit(2); }
    fclose(f);
}

static void write_gz(const char *path, const void *data, size_t len) {
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, data, (unsigned)len) != (int)len) { perror(path); exit(2); }
    gzclose(g);
}

/* Expects a load failure whose message names the path and contains `what`. */
static void expect_fail_images(const char *path, const char *what) {
    char err[512] = "";
    idx_images im;
    int rc = idx_load_images(path, &im, err, sizeof err);
    printf("%s -> rc=%d: %s\n", strrchr(path, '/') + 1, rc, err);
    CHECK(rc == -1, "%s should fail", path);
    CHECK(strstr(err, path) != NULL, "error names the path: %s", err);
    CHECK(strstr(err, what) != NULL, "error says '%s': %s", what, err);
    CHECK(im.pixels == NULL && im.n == 0, "output cleared on failure");
}

static void test_synthetic(void) {
    enum { N = 7, R = 5, C = 3, NPIX = N * R * C };
    unsigned char file[16 + NPIX + 8], lfile[8 + N];
    put_be32(file, 0x803); put_be32(file + 4, N); put_be32(file + 8, R); put_be32(file + 12, C);
    for (int i = 0; i < NPIX; i++) file[16 + i] = (unsigned char)(1 + rand() % 255);
    put_be32(lfile, 0x801); put_be32(lfile + 4, N);
    for (int i = 0; i < N; i++) lfile[8 + i] = (unsigned char)(i * 37 % (IDX_MAX_LABEL + 1)); /* > 9 is allowed */
    size_t flen = 16 + NPIX;

    char p[512], err[512];
    const char *names[2] = {"img.idx", "img.idx.gz"};
    for (int g = 0; g < 2; g++) {
        tmp_path(p, sizeof p, names[g]);
        (g ? write_gz : write_raw)(p, file, flen);
        idx_images im;
        int rc = idx_load_images(p, &im, err, sizeof err);
        CHECK(rc == 0, "load %s: %s", p, err);
        if (rc == 0) {
            int same = im.n == N && im.rows == R && im.cols == C && !memcmp(im.pixels, file + 16, NPIX);
            printf("%s: n=%d %dx%d, pixels %s\n", names[g], im.n, im.rows, im.cols, same ? "identical" : "DIFFER");
            CHECK(same, "%s round trip exact", names[g]);
            idx_free_images(&im);
        }
    }
    for (int g = 0; g < 2; g++) {
        tmp_path(p, sizeof p, g ? "lab.idx.gz" : "lab.idx");
        (g ? write_gz : write_raw)(p, lfile, sizeof lfile);
        unsigned char *lab;
        int n;
        int rc = idx_load_labels(p, &lab, &n, err, sizeof err);
        CHECK(rc == 0, "load %s: %s", p, err);
        if (rc == 0) {
            CHECK(n == N && !memcmp(lab, lfile + 8, N), "labels round trip exact (n=%d)", n);
            printf("%s: n=%d labels identical\n", strrchr(p, '/') + 1, n);
            free(lab);
        }
    }
    /* A label file read as images, and vice versa: bad magic. */
    tmp_path(p, sizeof p, "lab.idx");
    expect_fail_images(p, "magic");
    {
        char ip[512];
        tmp_path(ip, sizeof ip, "img.idx");
        unsigned char *lab; int n;
        int rc = idx_load_labels(ip, &lab, &n, err, sizeof err);
        printf("img.idx as labels -> rc=%d: %s\n", rc, err);
        CHECK(rc == -1 && strstr(err, ip) && strstr(err, "magic"), "labels: bad magic");
    }
    /* Labels: count must match the header. */
    tmp_path(p, sizeof p, "lab_short.idx");
    write_raw(p, lfile, sizeof lfile - 2);
    {
        unsigned char *lab; int n;
        int rc = idx_load_labels(p, &lab, &n, err, sizeof err);
        printf("lab_short.idx -> rc=%d: %s\n", rc, err);
        CHECK(rc == -1 && strstr(err, p) && strstr(err, "truncated"), "labels: short file");
        CHECK(lab == NULL && n == 0, "labels output cleared");
    }

    /* Truncated gzip'ed copy: the compressed stream itself is cut in half. */
    {
        char gp[512];
        tmp_path(gp, sizeof gp, "img.idx.gz");
        size_t glen;
        char *gz = read_file(gp, &glen, err, sizeof err);
        CHECK(gz != NULL, "read %s", gp);
        tmp_path(p, sizeof p, "cut.idx.gz");
        write_raw(p, gz, glen / 2);
        expect_fail_images(p, "truncated");
        /* Corrupt gzip: flip bytes in the middle of the deflate data. */
        for (size_t i = glen / 3; i < glen / 3 + 6; i++) gz[i] ^= 0x5a;
        tmp_path(p, sizeof p, "corrupt.idx.gz");
        write_raw(p, gz, glen);
        char e2[512] = "";
        idx_images im;
        int rc = idx_load_images(p, &im, e2, sizeof e2);
        printf("corrupt.idx.gz -> rc=%d: %s\n", rc, e2);
        CHECK(rc == -1 && strstr(e2, p) && strstr(e2, "corrupt gzip"), "corrupt gzip rejected with path");
        free(gz);
    }
    /* Plain file cut inside the pixels and inside the header. */
    tmp_path(p, sizeof p, "cut.idx");
    write_raw(p, file, flen - 10);
    expect_fail_images(p, "truncated: header promises 7 images of 5x3 (105 bytes), file holds 95");
    tmp_path(p, sizeof p, "cut_header.idx");
    write_raw(p, file, 10);
    expect_fail_images(p, "truncated header");
    tmp_path(p, sizeof p, "empty.idx");
    write_raw(p, file, 0);
    expect_fail_images(p, "truncated");
    /* Bad magic. */
    {
        unsigned char bad[sizeof file];
        memcpy(bad, file, flen);
        bad[3] = 0x04;
        tmp_path(p, sizeof p, "badmagic.idx");
        write_raw(p, bad, flen);
        expect_fail_images(p, "bad magic");
        /* Implausible dimensions. */
        memcpy(bad, file, flen);
        put_be32(bad + 8, 0);
        tmp_path(p, sizeof p, "zero_rows.idx");
        write_raw(p, bad, flen);
        expect_fail_images(p, "dimensions");
    }
    /* Trailing garbage, plain and gzip'ed. */
    memcpy(file + flen, "garbage!", 8);
    tmp_path(p, sizeof p, "trailing.idx");
    write_raw(p, file, flen + 8);
    expect_fail_images(p, "trailing");
    tmp_path(p, sizeof p, "trailing.idx.gz");
    write_gz(p, file, flen + 8);
    expect_fail_images(p, "trailing");
    /* Missing file. */
    tmp_path(p, sizeof p, "no_such_file.idx.gz");
    expect_fail_images(p, "cannot open");
}

static void cleanup(void) {
    const char *names[] = {"img.idx", "img.idx.gz", "lab.idx", "lab.idx.gz", "lab_short.idx",
                           "cut.idx.gz", "corrupt.idx.gz", "cut.idx", "cut_header.idx", "empty.idx",
                           "badmagic.idx", "zero_rows.idx", "trailing.idx", "trailing.idx.gz"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tmp_path(p, sizeof p, names[i]);
        remove(p);
    }
    CHECK(rmdir(tmpdir) == 0, "temporary directory %s removed (empty)", tmpdir);
}

int main(void) {
    srand(12345);
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }
    test_real();
    test_synthetic();
    cleanup();
    TEST_END();
}
