/* Image input faults (issue 16): the resize that aborted on ratios near 1.2-1.6, the resize filter
 * against Pillow's BICUBIC bytes (the PyTorch reference's resize), a huge image refused from its
 * header before decoding, and a FIFO refused instead of blocking. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "check.h"
#include "images.h"
#include "pil_resize_ref.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_faults_images_XXXXXX";

/* The same pattern as tests/pil_resize.py draws. */
static int px(int x, int y, int c) { return (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 11) % 256; }

/* Writes the pattern as a PNG, loads it with load_size s and compares every value with Pillow's bytes. */
static void check_case(const char *name, int w, int h, int c, int s, const unsigned char *ref) {
    char path[700], err[512];
    snprintf(path, sizeof path, "%s/%s.png", tmpdir, name);
    unsigned char *b = xmalloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) b[((size_t)y * w + x) * c + ch] = (unsigned char)px(x, y, ch);
    if (!stbi_write_png(path, w, h, c, b, w * c)) die("cannot write %s", path);
    free(b);
    image_prep p = {.channels = c, .load_size = s};
    float *out = xmalloc(sizeof(float) * (size_t)c * s * s);
    int oh = 0, ow = 0;
    int rc = image_load(path, &p, NULL, out, c * s * s, &oh, &ow, err, sizeof err);
    CHECK(rc == 0 && oh == s && ow == s, "%s: load %dx%d -> %d: %s", name, w, h, s, rc ? err : "size");
    int bad = 0, worst = 0;
    for (int ch = 0; ch < c && rc == 0; ch++)
        for (int i = 0; i < s * s; i++) {
            int want = ref[(size_t)i * c + ch];
            double got = ((double)out[(size_t)ch * s * s + i] + 1.0) * 127.5;
            int d = (int)(got > want ? got - want + 0.5 : want - got + 0.5);
            bad += d != 0;
            worst = d > worst ? d : worst;
        }
    CHECK(rc == 0 && bad == 0, "%s: %d of %d values differ from Pillow BICUBIC (worst %d levels)", name, bad,
          c * s * s, worst);
    printf("%s %dx%dx%d -> %dx%d vs Pillow BICUBIC: %d values differ (worst %d levels)\n", name, w, h, c, s, s, bad,
           worst);
    free(out);
}

static void put_be32(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A PNG whose header says 12000 x 12000 (no pixel data): refused from the header. */
static void test_pixel_limit(void) {
    char path[700], err[512] = "";
    snprintf(path, sizeof path, "%s/huge.png", tmpdir);
    unsigned char png[8 + 25 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put_be32(png + 8, 13);
    memcpy(png + 12, "IHDR", 4);
    put_be32(png + 16, 12000);
    put_be32(png + 20, 12000);
    png[24] = 8; /* bit depth; colour type 0 (grey), no interlace */
    put_be32(png + 33, 0);
    memcpy(png + 37, "IEND", 4);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(png, 1, sizeof png, f) != sizeof png) die("cannot write %s", path);
    fclose(f);
    image_prep p = {.channels = 1, .load_size = 64};
    float out[64 * 64];
    int h, w;
    int rc = image_load(path, &p, NULL, out, 64 * 64, &h, &w, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "12000x12000") && strstr(err, "pixels"), "12000x12000 refused by size: %s", err);
    float *nat = image_load_native(path, 1, &h, &w, err, sizeof err);
    CHECK(!nat && strstr(err, "pixels"), "native load refused by size too: %s", err);
    free(nat);
    printf("pixel limit: %s\n", err);
}

/* A FIFO with no writer: opening it for reading would block forever. */
static void test_fifo(void) {
    char path[700], err[512] = "";
    snprintf(path, sizeof path, "%s/fifo.png", tmpdir);
    if (mkfifo(path, 0600) != 0) die("mkfifo %s", path);
    image_prep p = {.channels = 3};
    float out[16];
    int h, w;
    alarm(10); /* a hang is a failure: SIGALRM ends the test non-zero */
    int rc = image_load(path, &p, NULL, out, 16, &h, &w, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file"), "FIFO refused: %s", err);
    rc = image_probe(path, &p, &h, &w, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file"), "FIFO refused by probe: %s", err);
    alarm(0);
    printf("fifo: %s\n", err);
    unlink(path);
}

int main(void) {
    if (!mkdtemp(tmpdir)) die("mkdtemp");
    check_case("rgb13x11_to7", 13, 11, 3, 7, pil_rgb13x11_to7);
    check_case("rgb13x11_to17", 13, 11, 3, 17, pil_rgb13x11_to17);
    check_case("gray77_to64", 77, 77, 1, 64, pil_gray77_to64);
    check_case("gray9x20_to14", 9, 20, 1, 14, pil_gray9x20_to14);
    test_pixel_limit();
    test_fifo();
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    TEST_END();
}
