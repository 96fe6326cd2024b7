/* make_edges2fashion: derives an "edges2fashion" data set from Fashion-MNIST, in the aligned A|B
 * layout of pix2pix's edges2shoes: each PNG holds A (the garment's edge map: black lines on white)
 * on the left and B (the garment scaled to SIZE x SIZE, dark on white like a product photo) on the
 * right, SIZE x 2*SIZE grayscale. train/ from the training images, val/ from the test images.
 *
 *   make_edges2fashion [--out DIR] [--train N] [--val N] [--size S] [--no-invert]
 *                      [--images IDX.gz] [--test-images IDX.gz]
 *
 * Edges: the garment is scaled up bilinearly (align_corners=False), smoothed with a 3x3 Gaussian, and
 * run through Canny (Sobel gradients, non-maximum suppression, hysteresis at 0.3 / 0.1 of the
 * image's largest gradient), so each image gets its outline and its strongest inner lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "images.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f, "usage: make_edges2fashion [--out DIR] [--train N] [--val N] [--size S] [--no-invert]\n"
               "                          [--images IDX.gz] [--test-images IDX.gz]\n"
               "  defaults: --out data/edges2fashion --train 2000 --val 200 --size 64, Fashion-MNIST from\n"
               "  /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist)\n");
}

/* bilinear as torch's interpolate(align_corners=False): src rows x cols bytes -> dst S x S in [0, 1] */
static void upscale(const unsigned char *src, int rows, int cols, float *dst, int S) {
    for (int y = 0; y < S; y++) {
        float sy = ((float)y + 0.5f) * rows / S - 0.5f;
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < rows ? y0 + 1 : rows - 1;
        float fy = sy - y0;
        for (int x = 0; x < S; x++) {
            float sx = ((float)x + 0.5f) * cols / S - 0.5f;
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < cols ? x0 + 1 : cols - 1;
            float fx = sx - x0;
            float a = src[y0 * cols + x0], b = src[y0 * cols + x1], c = src[y1 * cols + x0], d = src[y1 * cols + x1];
            dst[y * S + x] = ((1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d)) / 255.0f;
        }
    }
}

static float at(const float *im, int S, int y, int x) {
    y = y < 0 ? 0 : y >= S ? S - 1 : y;
    x = x < 0 ? 0 : x >= S ? S - 1 : x;
    return im[y * S + x];
}

/* Canny edges of im (S x S): edge[i] = 1 on an edge. */
static void canny(const float *im, int S, unsigned char *edge) {
    size_t n = (size_t)S * S;
    float *sm = xmalloc(n * sizeof *sm), *mag = xmalloc(n * sizeof *mag);
    unsigned char *dir = xmalloc(n), *cand = xcalloc(n, 1);
    static const float g[3] = {0.25f, 0.5f, 0.25f};
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float s = 0;
            for (int i = -1; i <= 1; i++)
                for (int j = -1; j <= 1; j++) s += g[i + 1] * g[j + 1] * at(im, S, y + i, x + j);
            sm[y * S + x] = s;
        }
    float mx = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float gx = at(sm, S, y - 1, x + 1) + 2 * at(sm, S, y, x + 1) + at(sm, S, y + 1, x + 1) - at(sm, S, y - 1, x - 1) -
                       2 * at(sm, S, y, x - 1) - at(sm, S, y + 1, x - 1);
            float gy = at(sm, S, y + 1, x - 1) + 2 * at(sm, S, y + 1, x) + at(sm, S, y + 1, x + 1) - at(sm, S, y - 1, x - 1) -
                       2 * at(sm, S, y - 1, x) - at(sm, S, y - 1, x + 1);
            float m = sqrtf(gx * gx + gy * gy);
            mag[y * S + x] = m;
            if (m > mx) mx = m;
            /* gradient direction quantised to 0, 45, 90, 135 degrees */
            float a = atan2f(gy, gx) * 180.0f / 3.14159265f;
            if (a < 0) a += 180.0f;
            dir[y * S + x] = a < 22.5f || a >= 157.5f ? 0 : a < 67.5f ? 1 : a < 112.5f ? 2 : 3;
        }
    static const int dy[4] = {0, 1, 1, 1}, dx[4] = {1, 1, 0, -1};
    float hi = 0.3f * mx, lo = 0.1f * mx;
    memset(edge, 0, n);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float m = mag[y * S + x];
            int d = dir[y * S + x];
            if (m < lo || mx == 0) continue;
            if (m < at(mag, S, y + dy[d], x + dx[d]) || m < at(mag, S, y - dy[d], x - dx[d])) continue;
            cand[y * S + x] = 1;
            if (m >= hi) edge[y * S + x] = 1;
        }
    /* hysteresis: weak candidates joined to strong edges become edges */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                if (!cand[y * S + x] || edge[y * S + x]) continue;
                for (int i = -1; i <= 1 && !edge[y * S + x]; i++)
                    for (int j = -1; j <= 1; j++) {
                        int yy = y + i, xx = x + j;
                        if (yy >= 0 && yy < S && xx >= 0 && xx < S && edge[yy * S + xx]) {
                            edge[y * S + x] = 1;
                            changed = 1;
                            break;
                        }
                    }
            }
    }
    free(sm);
    free(mag);
    free(dir);
    free(cand);
}

static int write_split(const idx_images *im, int count, const char *dir, int S, int invert) {
    char err[4300], path[4300];
    if (mkdir_p(dir, err, sizeof err) != 0) {
        fprintf(stderr, "make_edges2fashion: %s\n", err);
        return -1;
    }
    if (count > im->n) count = im->n;
    float *g = xmalloc((size_t)S * S * sizeof *g), *out = xmalloc((size_t)S * 2 * S * sizeof *out);
    unsigned char *e = xmalloc((size_t)S * S);
    for (int k = 0; k < count; k++) {
        upscale(im->pixels + (size_t)k * im->rows * im->cols, im->rows, im->cols, g, S);
        canny(g, S, e);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                float b = invert ? 1.0f - g[y * S + x] : g[y * S + x];
                out[y * 2 * S + x] = e[y * S + x] ? -1.0f : 1.0f; /* A: black edges on white */
                out[y * 2 * S + S + x] = 2.0f * b - 1.0f;          /* B: the garment */
            }
        snprintf(path, sizeof path, "%s/%05d.png", dir, k);
        if (image_save_png(path, out, 1, S, 2 * S, err, sizeof err) != 0) {
            fprintf(stderr, "make_edges2fashion: %s\n", err);
            return -1;
        }
    }
    free(g);
    free(out);
    free(e);
    printf("%d pairs in %s\n", count, dir);
    return 0;
}

int main(int argc, char **argv) {
    const char *out = "data/edges2fashion", *train_path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
               *test_path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    int ntrain = 2000, nval = 200, S = 64, invert = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        char *end = NULL;
        if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--images") && has) train_path = argv[++i];
        else if (!strcmp(a, "--test-images") && has) test_path = argv[++i];
        else if (!strcmp(a, "--no-invert")) invert = 0;
        else if ((!strcmp(a, "--train") || !strcmp(a, "--val") || !strcmp(a, "--size")) && has) {
            long v = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || v < (strcmp(a, "--size") ? 1 : 8) || v > (strcmp(a, "--size") ? 1000000 : 1024)) {
                fprintf(stderr, "make_edges2fashion: bad value for %s: '%s'\n", a, argv[i]);
                return 2;
            }
            if (!strcmp(a, "--train")) ntrain = (int)v;
            else if (!strcmp(a, "--val")) nval = (int)v;
            else S = (int)v;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "make_edges2fashion: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    char err[4300], dir[4300];
    idx_images tr, te;
    if (idx_load_images(train_path, &tr, err, sizeof err) != 0 || idx_load_images(test_path, &te, err, sizeof err) != 0) {
        fprintf(stderr, "make_edges2fashion: %s\n", err);
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/train", out);
    int rc = write_split(&tr, ntrain, dir, S, invert);
    snprintf(dir, sizeof dir, "%s/val", out);
    if (rc == 0) rc = write_split(&te, nval, dir, S, invert);
    idx_free_images(&tr);
    idx_free_images(&te);
    return rc ? 1 : 0;
}
