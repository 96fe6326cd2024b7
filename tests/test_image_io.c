/* PNG output: grids read back with stb_image and compared pixel by pixel with the expected
 * mapping and padding; a plot checked for size and content. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#include "check.h"
#include "image_io.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_image_io_XXXXXX";

static void tmp_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Reference mapping, independent of the implementation's: [lo, hi] -> 0..255, clamped. */
static double expect_byte(float v, float lo, float hi) {
    double t = ((double)v - lo) / ((double)hi - lo) * 255.0;
    return t < 0 ? 0 : t > 255 ? 255 : t;
}

static void test_grid(int c) {
    enum { N = 5, H = 7, W = 5, ROWS = 2, COLS = 3, PAD = 2 };
    const float lo = -1, hi = 1;
    float *imgs = xmalloc(sizeof(float) * N * c * H * W);
    for (int i = 0; i < N * c * H * W; i++) imgs[i] = (float)(rand() / (double)RAND_MAX * 2.4 - 1.2);   /* some clamp */
    imgs[0] = -1; imgs[1] = 1; imgs[2] = 0; imgs[3] = 5; imgs[4] = -7;   /* exact points and clamping */
    char p[512], err[512];
    snprintf(p, sizeof p, "%s/grid_c%d.png", tmpdir, c);
    int rc = png_write_grid(p, imgs, N, c, H, W, ROWS, COLS, lo, hi, PAD, err, sizeof err);
    CHECK(rc == 0, "grid c=%d: %s", c, err);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    CHECK(!exists(tmp), "no .tmp left behind");

    int w, h, comp;
    unsigned char *px = stbi_load(p, &w, &h, &comp, 0);
    CHECK(px != NULL, "stb_image reads %s", p);
    if (!px) { free(imgs); return; }
    int ew = COLS * (W + PAD) + PAD, eh = ROWS * (H + PAD) + PAD;
    printf("grid c=%d: %dx%d, %d channel(s) (expected %dx%d, %d)\n", c, w, h, comp, ew, eh, c);
    CHECK(w == ew && h == eh && comp == c, "grid size and channels");
    if (w != ew || h != eh || comp != c) { stbi_image_free(px); free(imgs); return; }

    /* Every pixel: image pixels against the mapping, everything else mid-grey. */
    double worst = 0;
    long grey_bad = 0, n_img = 0, n_grey = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int ty = (y - PAD) / (H + PAD), tx = (x - PAD) / (W + PAD);
            int iy = (y - PAD) % (H + PAD), ix = (x - PAD) % (W + PAD);
            int i = ty * COLS + tx;
            int inside = y >= PAD && x >= PAD && iy < H && ix < W && i < N;
            for (int ch = 0; ch < c; ch++) {
                unsigned char got = px[((size_t)y * w + x) * c + ch];
                if (inside) {
                    float v = imgs[(((size_t)i * c + ch) * H + iy) * W + ix];
                    double d = fabs(got - expect_byte(v, lo, hi));
                    if (d > worst) worst = d;
                    n_img++;
                } else {
                    grey_bad += got != 128;
                    n_grey++;
                }
            }
        }
    printf("grid c=%d: %ld image samples, max |png - expected| = %.3f; %ld padding/empty samples, %ld not 128\n",
           c, n_img, worst, n_grey, grey_bad);
    CHECK(n_img == (long)N * c * H * W, "all image samples visited");
    CHECK(worst <= 1.0, "image pixels within 1 of the mapping (worst %.3f)", worst);
    CHECK(grey_bad == 0, "padding and the missing 6th tile are grey 128");
    /* Spot checks of the first pixels of the first image, channel 0: -1, 1, 0, 5, -7. */
    const unsigned char *row = px + ((size_t)PAD * w + PAD) * c;
    printf("grid c=%d: first pixels %d %d %d %d %d (expected 0 255 128 255 0)\n", c, row[0], row[c],
           row[2 * c], row[3 * c], row[4 * c]);
    CHECK(row[0] == 0 && row[c] == 255, "lo -> 0, hi -> 255");
    CHECK(abs(row[2 * c] - 128) <= 1, "0 -> 128 (within 1)");
    CHECK(row[3 * c] == 255 && row[4 * c] == 0, "out of range values clamp");
    /* The second tile starts after W + PAD columns. */
    int ix0 = PAD + W + PAD;
    float v1 = imgs[(size_t)1 * c * H * W];
    CHECK(fabs(px[((size_t)PAD * w + ix0) * c] - expect_byte(v1, lo, hi)) <= 1, "second tile's first pixel");
    stbi_image_free(px);
    free(imgs);
}

static void test_grid_errors(void) {
    char p[512], err[512] = "";
    float img[4] = {0};
    tmp_path(p, sizeof p, "no_dir/g.png");
    int rc = png_write_grid(p, img, 1, 1, 2, 2, 1, 1, 0, 1, 1, err, sizeof err);
    printf("grid into missing directory -> rc=%d: %s\n", rc, err);
    CHECK(rc == -1 && strstr(err, p), "missing directory reported with the path");
    tmp_path(p, sizeof p, "bad.png");
    rc = png_write_grid(p, img, 4, 1, 2, 2, 1, 2, 0, 1, 1, err, sizeof err);
    printf("4 images in a 1x2 grid -> rc=%d: %s\n", rc, err);
    CHECK(rc == -1 && strstr(err, p) && !exists(p), "too many images refused, nothing written");
    rc = png_write_grid(p, img, 1, 2, 2, 2, 1, 1, 0, 1, 1, err, sizeof err);
    CHECK(rc == -1 && strstr(err, p), "c=2 refused");
    rc = png_write_grid(p, img, 1, 1, 2, 2, 1, 1, 1, 1, 1, err, sizeof err);
    CHECK(rc == -1 && strstr(err, p), "lo == hi refused");
}

static void test_plot(void) {
    enum { NP = 200, WIDTH = 640, HEIGHT = 360 };
    double x[NP], y0[NP], y1[NP], y2[NP];
    for (int i = 0; i < NP; i++) {
        x[i] = i * 10;
        y0[i] = 2.0 * exp(-i / 50.0) + 0.1 * sin(i * 0.3);
        y1[i] = 0.7 + 0.2 * cos(i * 0.05);
        y2[i] = i % 17 == 3 ? NAN : i % 29 == 5 ? INFINITY : 1.0 - i / 400.0;
    }
    const double *ys[3] = {y0, y1, y2};
    const char *names[3] = {"loss_g", "loss_d", "with gaps"};
    char p[512], err[512];
    tmp_path(p, sizeof p, "plot.png");
    int rc = png_write_plot(p, x, ys, names, 3, NP, WIDTH, HEIGHT, "training loss", err, sizeof err);
    CHECK(rc == 0, "plot: %s", err);
    int w, h, comp;
    unsigned char *px = stbi_load(p, &w, &h, &comp, 3);
    CHECK(px != NULL, "stb_image reads the plot");
    if (!px) return;
    printf("plot: %dx%d, %d channels in file\n", w, h, comp);
    CHECK(w == WIDTH && h == HEIGHT && comp == 3, "plot size %dx%d RGB", WIDTH, HEIGHT);
    long white = 0, black = 0, coloured = 0, series[3] = {0};
    const unsigned char col[3][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}};
    for (long i = 0; i < (long)w * h; i++) {
        unsigned char *q = px + 3 * i;
        if (q[0] == 255 && q[1] == 255 && q[2] == 255) white++;
        else if (q[0] == 0 && q[1] == 0 && q[2] == 0) black++;
        else coloured++;
        for (int s = 0; s < 3; s++) series[s] += !memcmp(q, col[s], 3);
    }
    printf("plot: %ld white, %ld black (axes, text), %ld other; series pixels %ld %ld %ld\n", white, black,
           coloured, series[0], series[1], series[2]);
    CHECK(white > (long)w * h / 2, "mostly white background");
    CHECK(black > 300, "axes and labels drawn in black");
    CHECK(series[0] > 100 && series[1] > 100 && series[2] > 100, "each series drawn in its own colour");
    CHECK(px[0] == 255 && px[1] == 255 && px[2] == 255, "corner is background");
    stbi_image_free(px);

    /* Degenerate input still makes a valid image: one point, all non-finite series, no x. */
    double one[1] = {3}, bad[1] = {NAN};
    const double *ys2[2] = {one, bad};
    tmp_path(p, sizeof p, "plot2.png");
    rc = png_write_plot(p, NULL, ys2, NULL, 2, 1, 200, 120, NULL, err, sizeof err);
    px = rc == 0 ? stbi_load(p, &w, &h, &comp, 3) : NULL;
    CHECK(px && w == 200 && h == 120, "degenerate plot written and readable: %s", rc ? err : "ok");
    stbi_image_free(px);
    rc = png_write_plot(p, x, ys, names, 9, NP, WIDTH, HEIGHT, NULL, err, sizeof err);
    printf("9 series -> rc=%d: %s\n", rc, err);
    CHECK(rc == -1 && strstr(err, p), "more than 8 series refused");
}

int main(void) {
    srand(777);
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }
    test_grid(1);
    test_grid(3);
    test_grid_errors();
    test_plot();
    const char *names[] = {"grid_c1.png", "grid_c3.png", "plot.png", "plot2.png"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tmp_path(p, sizeof p, names[i]);
        remove(p);
    }
    CHECK(rmdir(tmpdir) == 0, "temporary directory %s removed (empty)", tmpdir);
    TEST_END();
}
