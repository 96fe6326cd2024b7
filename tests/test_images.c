/* Image folders, preprocessing, the prefetch thread and STL-10 binaries: every input is written
 * here with known content (stb_image_write, raw bytes) in a temporary folder, then loaded back and
 * compared pixel by pixel with what the preparation should give. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
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
#include "prefetch.h"
#include "rng.h"
#include "stl10.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_images_XXXXXX";
static char imgdir[600];

static void tpath(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }
static void ipath(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", imgdir, name); }

/* The reference mapping, rounded once to float: 0 -> -1, 255 -> 1 exactly. */
static float unit(int v) { return (float)(v / 127.5 - 1.0); }

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create %s", path);
    if (n && fwrite(p, 1, n, f) != n) die("cannot write %s", path);
    fclose(f);
}

/* ---- the test images (interleaved bytes) ---- */

enum { AW = 8, AH = 6, PW = 12, PH = 5, GW = 5, GH = 4, QW = 4, QH = 4, KW = 16 };

/* a_rgb.png: R ramps 0..255 along x, G along y, B a checkerboard of 0 / 255. */
static int a_px(int x, int y, int c) {
    return c == 0 ? x * 255 / (AW - 1) : c == 1 ? y * 255 / (AH - 1) : (x + y) % 2 ? 255 : 0;
}
/* F_UPPER.PNG: another 8x6 RGB image. */
static int f_px(int x, int y, int c) { return (x * 17 + y * 31 + c * 60) % 256; }
/* b_gray.bmp: one channel. */
static int g_px(int x, int y) { return 10 * (y * GW + x) + 5; }
/* c_rgba.png: RGB plus an alpha that varies. */
static int q_px(int x, int y, int c) { return c == 3 ? (x * 64 + y * 16) % 256 : (x * 50 + y * 13 + c * 90) % 256; }
/* d_pair.png: left half A (ramps), right half B (something else). */
static int pa_px(int x, int y, int c) { return (x * 40 + y * 7 + c * 30) % 256; }
static int pb_px(int x, int y, int c) { return 255 - (x * 25 + y * 50 + c * 11) % 256; }
static const int KC[3] = {200, 60, 120}; /* e_const.jpg: constant colour */

static void write_image_png(const char *name, int w, int h, int comp, int (*px)(int, int, int)) {
    unsigned char *b = xmalloc((size_t)w * h * comp);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < comp; c++) b[(y * w + x) * comp + c] = (unsigned char)px(x, y, c);
    char p[700];
    ipath(p, sizeof p, name);
    if (!stbi_write_png(p, w, h, comp, b, w * comp)) die("cannot write %s", p);
    free(b);
}

static int pair_px(int x, int y, int c) { return x < PW / 2 ? pa_px(x, y, c) : pb_px(x - PW / 2, y, c); }

static void write_fixtures(void) {
    write_image_png("a_rgb.png", AW, AH, 3, a_px);
    write_image_png("F_UPPER.PNG", AW, AH, 3, f_px);
    write_image_png("c_rgba.png", QW, QH, 4, q_px);
    write_image_png("d_pair.png", PW, PH, 3, pair_px);
    char p[700];
    unsigned char g[GW * GH];
    for (int y = 0; y < GH; y++)
        for (int x = 0; x < GW; x++) g[y * GW + x] = (unsigned char)g_px(x, y);
    ipath(p, sizeof p, "b_gray.bmp");
    if (!stbi_write_bmp(p, GW, GH, 1, g)) die("cannot write %s", p);
    unsigned char k[KW * KW * 3];
    for (int i = 0; i < KW * KW * 3; i++) k[i] = (unsigned char)KC[i % 3];
    ipath(p, sizeof p, "e_const.jpg");
    if (!stbi_write_jpg(p, KW, KW, 3, k, 95)) die("cannot write %s", p);

    /* Not images, or not listed. */
    ipath(p, sizeof p, "notes.txt");
    write_bytes(p, "hello", 5);
    ipath(p, sizeof p, "png");
    write_bytes(p, "x", 1);
    ipath(p, sizeof p, "sub.png");
    mkdir(p, 0777);

    /* Corrupt: garbage with a .png name. Truncated: the first half of a noisy PNG. */
    unsigned char junk[300];
    for (int i = 0; i < 300; i++) junk[i] = (unsigned char)(i * 7 + 3);
    ipath(p, sizeof p, "z_corrupt.png");
    write_bytes(p, junk, sizeof junk);
    unsigned char noise[32 * 32 * 3];
    rng_seq r = rng_seq_make(1, RNG_STREAM_TEST, 0);
    for (int i = 0; i < 32 * 32 * 3; i++) noise[i] = (unsigned char)rng_below(&r, 256);
    char full[700];
    tpath(full, sizeof full, "full.png");
    if (!stbi_write_png(full, 32, 32, 3, noise, 32 * 3)) die("cannot write %s", full);
    char err[256];
    size_t len;
    char *bytes = read_file(full, &len, err, sizeof err);
    if (!bytes) die("%s", err);
    ipath(p, sizeof p, "y_trunc.png");
    write_bytes(p, bytes, len / 2);
    free(bytes);
}

/* Sorted by byte order: upper case first. */
static const char *const LISTED[] = {"F_UPPER.PNG", "a_rgb.png", "b_gray.bmp", "c_rgba.png",
                                     "d_pair.png",  "e_const.jpg", "y_trunc.png", "z_corrupt.png"};
enum { NLISTED = 8, I_F = 0, I_A, I_B, I_C, I_D, I_E, I_TRUNC, I_CORRUPT };

/* ---- helpers ---- */

/* Largest |got - expected| over a CHW image given by a byte function. */
static double max_diff(const float *got, int c, int h, int w, int (*px)(int, int, int), int x0, int y0,
                       int flip) {
    double worst = 0;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sx = x0 + (flip ? w - 1 - x : x);
                double d = fabs(got[(ch * h + y) * w + x] - unit(px(sx, y0 + y, ch)));
                if (d > worst) worst = d;
            }
    return worst;
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static image_prep prep3(void) { return (image_prep){.channels = 3}; }

/* ---- groups ---- */

static void test_list(image_list *l) {
    char err[512];
    int rc = image_list_dir(imgdir, l, err, sizeof err);
    CHECK(rc == 0, "image_list_dir: %s", err);
    CHECK(l->n == NLISTED, "listed %d files, expected %d", l->n, NLISTED);
    int order_ok = l->n == NLISTED;
    for (int i = 0; order_ok && i < NLISTED; i++) {
        char p[700];
        ipath(p, sizeof p, LISTED[i]);
        order_ok = !strcmp(l->paths[i], p);
        CHECK(order_ok, "list[%d] = %s, expected %s", i, l->paths[i], p);
    }
    char missing[700];
    tpath(missing, sizeof missing, "no_such_dir");
    image_list m;
    rc = image_list_dir(missing, &m, err, sizeof err);
    CHECK(rc == -1 && contains(err, missing), "missing folder: rc=%d err=%s", rc, err);
    char empty[700];
    tpath(empty, sizeof empty, "empty");
    mkdir(empty, 0777);
    rc = image_list_dir(empty, &m, err, sizeof err);
    CHECK(rc == -1 && contains(err, empty) && contains(err, "no images"), "empty folder: rc=%d err=%s", rc, err);
    printf("list: %d images sorted by name (upper case first), .txt/no-extension/directory left out; "
           "missing and empty folders rejected\n", l->n);
}

static void test_values(void) {
    char p[700], err[512];
    int h = 0, w = 0;
    ipath(p, sizeof p, "a_rgb.png");
    float *nat = image_load_native(p, 3, &h, &w, err, sizeof err);
    CHECK(nat && h == AH && w == AW, "native a_rgb: %s (%dx%d)", nat ? "ok" : err, w, h);
    if (!nat) return;
    CHECK(max_diff(nat, 3, AH, AW, a_px, 0, 0, 0) == 0, "native values exact");
    CHECK(nat[0] == -1.0f && nat[AW - 1] == 1.0f, "0 -> %g, 255 -> %g", nat[0], nat[AW - 1]);
    float out[3 * AW * AH];
    image_prep pp = prep3();
    int rc = image_load(p, &pp, NULL, out, 3 * AW * AH, &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == AH && w == AW, "image_load plain: %s", err);
    CHECK(!memcmp(out, nat, sizeof out), "image_load with no preparation equals native");
    rc = image_load(p, &pp, NULL, out, 3 * AW * AH - 1, &h, &w, err, sizeof err);
    CHECK(rc == -1 && contains(err, p), "too small a buffer: rc=%d err=%s", rc, err);
    free(nat);

    ipath(p, sizeof p, "c_rgba.png");   /* alpha dropped, colours untouched */
    rc = image_load(p, &pp, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == QH && w == QW, "rgba: %s", err);
    CHECK(rc == 0 && max_diff(out, 3, QH, QW, q_px, 0, 0, 0) == 0, "rgba: RGB exact, alpha dropped");
    printf("values: bytes map to v/127.5-1 exactly (0 -> -1, 255 -> 1); RGBA drops alpha; buffer capacity checked\n");
}

static void test_gray(void) {
    char p[700], err[512];
    int h, w;
    float out[3 * AW * AH];
    image_prep pg = {.channels = 1};
    ipath(p, sizeof p, "b_gray.bmp");
    int rc = image_load(p, &pg, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == GH && w == GW, "gray bmp: %s", err);
    double worst = 0;
    for (int y = 0; y < GH; y++)
        for (int x = 0; x < GW; x++) worst = fmax(worst, fabs(out[y * GW + x] - unit(g_px(x, y))));
    CHECK(worst == 0, "gray bmp as 1 channel exact (max diff %g)", worst);
    image_prep p3 = prep3();
    rc = image_load(p, &p3, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    int same = rc == 0;
    for (int i = 0; same && i < GW * GH; i++)
        same = out[i] == out[GW * GH + i] && out[i] == out[2 * GW * GH + i] && out[i] == unit(g_px(i % GW, i / GW));
    CHECK(same, "gray bmp as 3 channels: three equal planes");

    ipath(p, sizeof p, "a_rgb.png");   /* RGB to luminance, within one grey level of Rec. 601 */
    rc = image_load(p, &pg, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == AH && w == AW, "rgb as gray: %s", err);
    worst = 0;
    for (int y = 0; y < AH; y++)
        for (int x = 0; x < AW; x++) {
            double lum = 0.299 * a_px(x, y, 0) + 0.587 * a_px(x, y, 1) + 0.114 * a_px(x, y, 2);
            worst = fmax(worst, fabs((out[y * AW + x] + 1) * 127.5 - lum));
        }
    CHECK(worst <= 1.5, "luminance within 1.5 grey levels of Rec.601 (max %.2f)", worst);
    printf("gray: 1-channel BMP exact, expands to 3 equal planes; RGB -> luminance within %.2f levels\n", worst);
}

static void test_split(void) {
    char p[700], err[512];
    int h, w;
    float out[3 * PW * PH];
    ipath(p, sizeof p, "d_pair.png");
    image_prep ps = {.channels = 3, .split = 1};
    int rc = image_load(p, &ps, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == PH && w == PW / 2, "split A: %s (%dx%d)", err, w, h);
    CHECK(rc == 0 && max_diff(out, 3, PH, PW / 2, pa_px, 0, 0, 0) == 0, "split A is the left half");
    ps.split = 2;
    rc = image_load(p, &ps, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == PH && w == PW / 2, "split B: %s (%dx%d)", err, w, h);
    CHECK(rc == 0 && max_diff(out, 3, PH, PW / 2, pb_px, 0, 0, 0) == 0, "split B is the right half");
    ps.split = 1, ps.crop_size = 4;   /* split first, then the centre crop of the half */
    rc = image_load(p, &ps, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == 4 && w == 4, "split+crop: %s", err);
    CHECK(rc == 0 && max_diff(out, 3, 4, 4, pa_px, 1, 0, 0) == 0, "split+crop: window (0,1) of the left half");
    printf("split: left/right halves of a %dx%d A|B pair exact, then cropped within the half\n", PW, PH);
}

static void test_crop_flip(void) {
    char p[700], err[512];
    int h, w;
    float out[3 * AW * AH], ref[3 * AW * AH];
    ipath(p, sizeof p, "a_rgb.png");
    image_prep pc = {.channels = 3, .crop_size = 4};
    int rc = image_load(p, &pc, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == 4 && w == 4, "centre crop: %s", err);
    CHECK(rc == 0 && max_diff(out, 3, 4, 4, a_px, 2, 1, 0) == 0, "centre crop of 8x6 is rows 1..4, columns 2..5");
    pc.crop_size = 7;
    rc = image_load(p, &pc, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == -1 && contains(err, p) && contains(err, "crop"), "crop larger than the image: %s", err);

    image_prep pf = {.channels = 3, .flip = 1};
    rc = image_load(p, &pf, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == -1, "flip without an rng is an error: %s", err);
    int flipped = 0, plain = 0, bad = 0;
    for (unsigned s = 0; s < 32; s++) {
        rng_seq r = rng_seq_make(7, RNG_STREAM_TEST, s);
        rc = image_load(p, &pf, &r, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
        if (rc != 0) { bad++; continue; }
        if (max_diff(out, 3, AH, AW, a_px, 0, 0, 1) == 0) flipped++;
        else if (max_diff(out, 3, AH, AW, a_px, 0, 0, 0) == 0) plain++;
        else bad++;
        rng_seq r2 = rng_seq_make(7, RNG_STREAM_TEST, s);
        image_load(p, &pf, &r2, ref, (int)(sizeof ref / sizeof ref[0]), &h, &w, err, sizeof err);
        if (memcmp(out, ref, sizeof out)) bad++;
    }
    CHECK(bad == 0 && flipped >= 8 && plain >= 8, "flip over 32 draws: %d mirrored, %d plain, %d bad", flipped,
          plain, bad);
    printf("crop/flip: centre crop exact; too-large crop rejected; flip mirrors exactly (%d of 32 draws), reproducible\n",
           flipped);
}

static void test_random_crop(void) {
    char p[700], err[512];
    int h, w;
    float out[3 * 16], ref[3 * 16];
    ipath(p, sizeof p, "a_rgb.png");
    image_prep pr = {.channels = 3, .crop_size = 4, .random_crop = 1, .flip = 1};
    int seen[3][5][2] = {{{0}}}, bad = 0, distinct = 0;
    for (unsigned s = 0; s < 64; s++) {
        rng_seq r = rng_seq_make(11, RNG_STREAM_TEST, s), r2 = r;
        int rc = image_load(p, &pr, &r, out, 48, &h, &w, err, sizeof err);
        int rc2 = image_load(p, &pr, &r2, ref, 48, &h, &w, err, sizeof err);
        if (rc || rc2 || memcmp(out, ref, sizeof out)) { bad++; continue; }
        int found = 0;   /* the result must be one of the 3x5 windows, plain or mirrored */
        for (int y0 = 0; y0 <= AH - 4 && !found; y0++)
            for (int x0 = 0; x0 <= AW - 4 && !found; x0++)
                for (int f = 0; f < 2 && !found; f++)
                    if (max_diff(out, 3, 4, 4, a_px, x0, y0, f) == 0) {
                        found = 1;
                        distinct += !seen[y0][x0][f];
                        seen[y0][x0][f] = 1;
                    }
        bad += !found;
    }
    CHECK(bad == 0, "random crop+flip: %d results not reproducible or not a window", bad);
    CHECK(distinct >= 10, "random crop+flip: %d distinct windows over 64 steps", distinct);
    printf("random crop: reproducible per rng state, always a valid window, %d of 30 window/flip choices seen\n",
           distinct);
}

static void test_resize(void) {
    char p[700], err[512];
    int h, w;
    float out[3 * 12 * 12];
    ipath(p, sizeof p, "e_const.jpg");
    image_prep pr = {.channels = 3, .load_size = 8};
    int rc = image_load(p, &pr, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == 8 && w == 8, "jpg 16 -> 8: %s (%dx%d)", err, w, h);
    double spread = 0, off = 0;
    for (int c = 0; c < 3 && rc == 0; c++)
        for (int i = 0; i < 64; i++) {
            spread = fmax(spread, fabs(out[c * 64 + i] - out[c * 64]));
            off = fmax(off, fabs(out[c * 64 + i] - unit(KC[c])));
        }
    CHECK(spread < 1e-5, "constant image stays constant (spread %g)", spread);
    CHECK(off <= 3 / 127.5, "constant colour kept within 3 levels of JPEG error (%.2f levels)", off * 127.5);

    ipath(p, sizeof p, "a_rgb.png");
    pr.load_size = 12;
    rc = image_load(p, &pr, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == 12 && w == 12, "8x6 -> 12x12: %s", err);
    int mono = rc == 0, inrange = 1;
    for (int y = 0; y < 12 && mono; y++)
        for (int x = 1; x < 12; x++) {
            mono &= out[y * 12 + x] >= out[y * 12 + x - 1] - 1e-6f;             /* R ramps along x */
            mono &= out[144 + x * 12 + y] >= out[144 + (x - 1) * 12 + y] - 1e-6f; /* G ramps along y */
        }
    for (int i = 0; i < 3 * 144; i++) inrange &= out[i] >= -1 && out[i] <= 1;
    CHECK(mono, "upsampled ramps stay monotone");
    CHECK(inrange, "upsampled values stay in [-1, 1]");
    CHECK(fabs(out[0] + 1) < 0.05 && fabs(out[11] - 1) < 0.05, "ramp ends near -1 and 1: %g %g", out[0], out[11]);
    pr.crop_size = 10;
    rc = image_load(p, &pr, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == 0 && h == 10 && w == 10, "resize 12 then crop 10: %s (%dx%d)", err, w, h);
    pr.crop_size = 13;
    rc = image_load(p, &pr, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
    CHECK(rc == -1 && contains(err, "crop"), "crop larger than load_size rejected: %s", err);
    printf("resize: 16->8 constant stays constant (%.2f levels off), 8x6->12x12 monotone and in range, crop after resize\n",
           off * 127.5);
}

static void test_errors(void) {
    char p[700], err[512];
    int h, w;
    float out[3 * 32 * 32];
    image_prep pp = prep3();
    const char *names[] = {"z_corrupt.png", "y_trunc.png", "missing.png"};
    for (int i = 0; i < 3; i++) {
        ipath(p, sizeof p, names[i]);
        err[0] = 0;
        int rc = image_load(p, &pp, NULL, out, (int)(sizeof out / sizeof out[0]), &h, &w, err, sizeof err);
        CHECK(rc == -1 && contains(err, p), "%s: rc=%d err=%s", names[i], rc, err);
        printf("errors: %s -> %s\n", names[i], err);
        float *nat = image_load_native(p, 3, &h, &w, err, sizeof err);
        CHECK(!nat && contains(err, p), "native %s: err=%s", names[i], err);
        free(nat);
    }
}

static void test_save(void) {
    char p[700], q[700], err[512];
    int h, w, h2, w2;
    ipath(p, sizeof p, "a_rgb.png");
    tpath(q, sizeof q, "saved.png");
    float *a = image_load_native(p, 3, &h, &w, err, sizeof err);
    int rc = a ? image_save_png(q, a, 3, h, w, err, sizeof err) : -1;
    CHECK(rc == 0, "save rgb: %s", err);
    float *b = rc == 0 ? image_load_native(q, 3, &h2, &w2, err, sizeof err) : NULL;
    CHECK(b && h2 == h && w2 == w && !memcmp(a, b, sizeof(float) * 3 * h * w), "rgb save/load round trip exact");
    free(a);
    free(b);
    ipath(p, sizeof p, "b_gray.bmp");
    a = image_load_native(p, 1, &h, &w, err, sizeof err);
    rc = a ? image_save_png(q, a, 1, h, w, err, sizeof err) : -1;
    b = rc == 0 ? image_load_native(q, 1, &h2, &w2, err, sizeof err) : NULL;
    CHECK(b && h2 == h && w2 == w && !memcmp(a, b, sizeof(float) * h * w), "gray save/load round trip exact");
    free(a);
    free(b);
    char bad[700];
    tpath(bad, sizeof bad, "no_dir/x.png");
    float px[3] = {0, 0, 0};
    rc = image_save_png(bad, px, 3, 1, 1, err, sizeof err);
    CHECK(rc == -1 && contains(err, bad), "save into a missing folder: %s", err);
    printf("save: RGB and gray PNG round trips exact; unwritable path rejected\n");
}

/* Runs f with stderr sent to a file; returns what was written (malloc'ed). */
static char *capture_stderr(void (*f)(void *), void *arg) {
    char p[700], err[256];
    tpath(p, sizeof p, "stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    f(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len;
    char *s = read_file(p, &len, err, sizeof err);
    return s ? s : xstrdup("");
}

typedef struct { const image_list *l; const image_prep *p; const int *order; int count, batch; int *got, ngot, nbatches, skipped, sizes[8]; double worst; } pf_run;

enum { SEED = 99, STEP0 = 1000 };

/* Drains a prefetch and compares every image with a direct image_load at the expected position. */
static void run_prefetch(void *arg) {
    pf_run *t = arg;
    prefetch *pf = prefetch_start(t->l, t->p, t->order, t->count, t->batch, SEED, RNG_STREAM_TEST, STEP0);
    if (!pf) { t->nbatches = -1; return; }
    int k = 0;   /* next position in order that should be delivered */
    const float *data;
    int c, h, w, n;
    float *ref = NULL;
    while ((n = prefetch_next(pf, &data, &c, &h, &w)) > 0) {
        if (t->nbatches < 8) t->sizes[t->nbatches] = n;
        t->nbatches++;
        size_t per = (size_t)c * h * w;
        ref = xrealloc(ref, sizeof(float) * per);
        for (int i = 0; i < n; i++) {
            int hh = 0, ww = 0, rc = -1;
            char err[512];
            while (k < t->count && rc != 0) {   /* skip the positions that do not load */
                rng_seq r = rng_seq_make(SEED, RNG_STREAM_TEST, STEP0 + (unsigned)k);
                rc = image_load(t->l->paths[t->order[k]], t->p, &r, ref, (int)per, &hh, &ww, err, sizeof err);
                if (rc == 0 && (hh != h || ww != w)) rc = -1;
                k++;
            }
            if (rc != 0) { t->worst = INFINITY; continue; }
            t->got[t->ngot++] = t->order[k - 1];
            for (size_t j = 0; j < per; j++) t->worst = fmax(t->worst, fabs(data[per * i + j] - ref[j]));
        }
    }
    if (prefetch_next(pf, &data, &c, &h, &w) != 0) t->nbatches = -2;   /* stays at the end */
    t->skipped = prefetch_skipped(pf);
    prefetch_stop(pf);
    free(ref);
}

typedef struct { const image_list *l; const image_prep *p; const int *order; int count, n, c, h, w; } early_run;

/* Takes one batch of 1, then stops while the producer has more to do. */
static void early_stop(void *arg) {
    early_run *e = arg;
    prefetch *pf = prefetch_start(e->l, e->p, e->order, e->count, 1, SEED, RNG_STREAM_TEST, 0);
    const float *data;
    e->n = pf ? prefetch_next(pf, &data, &e->c, &e->h, &e->w) : -1;
    prefetch_stop(pf);
}

static void test_prefetch(const image_list *l) {
    /* Corrupt and truncated files interleaved, one of them twice; load 6 then random crop 4 + flip. */
    int order[] = {I_CORRUPT, I_A, I_TRUNC, I_E, I_B, I_CORRUPT, I_F, I_C, I_D};
    int count = (int)(sizeof order / sizeof order[0]);
    image_prep p = {.channels = 3, .load_size = 6, .crop_size = 4, .random_crop = 1, .flip = 1};
    int got[16];
    pf_run t = {.l = l, .p = &p, .order = order, .count = count, .batch = 4, .got = got};
    char *log = capture_stderr(run_prefetch, &t);
    int expect[] = {I_A, I_E, I_B, I_F, I_C, I_D};
    int in_order = t.ngot == 6;
    for (int i = 0; in_order && i < 6; i++) in_order = got[i] == expect[i];
    CHECK(t.nbatches == 2 && t.sizes[0] == 4 && t.sizes[1] == 2, "batches: %d (sizes %d, %d), expected 4 + 2",
          t.nbatches, t.sizes[0], t.sizes[1]);
    CHECK(in_order, "all 6 good images delivered once, in order (got %d)", t.ngot);
    CHECK(t.worst == 0, "batch data equals image_load at the same position (max diff %g)", t.worst);
    CHECK(t.skipped == 3, "skipped %d, expected 3 (corrupt twice, truncated once)", t.skipped);
    int reports = 0;
    for (const char *s = log; (s = strstr(s, "clgan: skipping ")); s++) reports++;
    CHECK(reports == 2 && contains(log, l->paths[I_CORRUPT]) && contains(log, l->paths[I_TRUNC]),
          "each bad file reported once (%d reports):\n%s", reports, log);
    printf("prefetch: 9 positions, batch 4 -> batches of %d and %d, %d skipped, %d reports, data identical to direct loads\n",
           t.sizes[0], t.sizes[1], t.skipped, reports);
    printf("%s", log);
    free(log);

    /* Native sizes: the first good image sets the size; another size is skipped. Batch 1. */
    int order2[] = {I_A, I_B, I_F};
    image_prep pn = prep3();
    pf_run t2 = {.l = l, .p = &pn, .order = order2, .count = 3, .batch = 1, .got = got};
    log = capture_stderr(run_prefetch, &t2);
    CHECK(t2.nbatches == 2 && t2.ngot == 2 && got[0] == I_A && got[1] == I_F && t2.worst == 0 && t2.skipped == 1,
          "native sizes: %d batches, %d images, %d skipped", t2.nbatches, t2.ngot, t2.skipped);
    CHECK(contains(log, l->paths[I_B]) && contains(log, "5x4"), "size mismatch reported: %s", log);
    free(log);

    /* Empty order; early stop; bad arguments. */
    pf_run t3 = {.l = l, .p = &p, .order = order, .count = 0, .batch = 2, .got = got};
    run_prefetch(&t3);
    CHECK(t3.nbatches == 0 && t3.ngot == 0, "empty order: %d batches", t3.nbatches);
    early_run e = {.l = l, .p = &p, .order = order, .count = count};
    free(capture_stderr(early_stop, &e));
    CHECK(e.n == 1 && e.c == 3 && e.h == 4 && e.w == 4, "first batch before an early stop: n=%d %dx%dx%d", e.n,
          e.c, e.h, e.w);
    int bad_order[] = {0, NLISTED};
    pf_run t4 = {.l = l, .p = &p, .order = bad_order, .count = 2, .batch = 1, .got = got};
    log = capture_stderr(run_prefetch, &t4);
    CHECK(t4.nbatches == -1 && contains(log, "outside"), "an index outside the list is rejected: %s", log);
    free(log);
    printf("prefetch: size from the first image, other sizes skipped; empty order; early stop; bad index rejected\n");
}

/* ---- STL-10 ---- */

enum { S = STL10_SIDE, NSTL = 3 };

/* Pixel (row y, column x) of channel c of test image i. */
static int stl_px(int i, int c, int y, int x) {
    if (i == 0) return 2 * x + 20 * c;                     /* depends on the column only */
    if (i == 1) return 2 * y + 20 * c + 5;                 /* on the row only */
    return c == 0 ? 0 : c == 1 ? 255 : (x * 3 + y) % 256;  /* 0, 255 and a mix */
}

static void write_stl(const char *path, int nimg, int extra) {
    size_t len = (size_t)nimg * STL10_IMAGE_BYTES + (size_t)extra;
    unsigned char *b = xcalloc(len ? len : 1, 1);
    for (int i = 0; i < nimg; i++)
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < S; x++)
                for (int y = 0; y < S; y++)
                    b[(size_t)i * STL10_IMAGE_BYTES + (size_t)c * S * S + x * S + y] = (unsigned char)stl_px(i, c, y, x);
    write_bytes(path, b, len);
    free(b);
}

static void test_stl10(void) {
    char p[700], err[512];
    tpath(p, sizeof p, "train_X.bin");
    write_stl(p, NSTL, 0);
    float *x = NULL;
    int n = 0;
    int rc = stl10_load(p, 96, 0, &x, &n, err, sizeof err);
    CHECK(rc == 0 && n == NSTL, "stl10 at 96: %s (n=%d)", err, n);
    double worst = rc == 0 ? 0 : INFINITY;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int xx = 0; xx < S; xx++)
                    worst = fmax(worst, fabs(x[(((size_t)i * 3 + c) * S + y) * S + xx] - unit(stl_px(i, c, y, xx))));
    CHECK(worst == 0, "stl10 at 96: exact values and orientation (max diff %g)", worst);
    /* Spelled out: image 0 varies along a row (x), image 1 down a column (y). */
    CHECK(rc == 0 && x[5] == unit(10) && x[5 * S] == unit(0), "image 0 is x-only: %g %g", x[5], x[5 * S]);
    free(x);

    rc = stl10_load(p, 64, 0, &x, &n, err, sizeof err);
    CHECK(rc == 0 && n == NSTL, "stl10 at 64: %s", err);
    double yspread = 0, cspread = 0;
    int mono = rc == 0;
    for (int c = 0; c < 3 && rc == 0; c++)
        for (int y = 0; y < 64; y++)
            for (int xx = 0; xx < 64; xx++) {
                const float *im0 = x + (size_t)c * 64 * 64, *im2 = x + ((size_t)2 * 3 + c) * 64 * 64;
                yspread = fmax(yspread, fabs(im0[y * 64 + xx] - im0[xx]));
                if (xx) mono &= im0[y * 64 + xx] > im0[y * 64 + xx - 1];
                if (c < 2) cspread = fmax(cspread, fabs(im2[y * 64 + xx] - (c ? 1.0 : -1.0)));
            }
    CHECK(yspread < 1e-5 && mono, "at 64 image 0 still varies along x only (spread along y %g)", yspread);
    CHECK(cspread < 1e-5, "at 64 constant planes stay -1 and 1 (%g)", cspread);
    free(x);
    rc = stl10_load(p, 64, 2, &x, &n, err, sizeof err);
    CHECK(rc == 0 && n == 2, "limit 2: n=%d", n);
    free(x);

    char bad[700];
    tpath(bad, sizeof bad, "wrong_X.bin");
    write_stl(bad, 2, 5);
    rc = stl10_load(bad, 64, 0, &x, &n, err, sizeof err);
    CHECK(rc == -1 && contains(err, bad) && !x, "wrong size: %s", err);
    printf("stl10: wrong size -> %s\n", err);
    tpath(bad, sizeof bad, "empty_X.bin");
    write_stl(bad, 0, 0);
    rc = stl10_load(bad, 64, 0, &x, &n, err, sizeof err);
    CHECK(rc == -1 && contains(err, bad), "empty: %s", err);
    printf("stl10: empty -> %s\n", err);
    tpath(bad, sizeof bad, "missing_X.bin");
    rc = stl10_load(bad, 64, 0, &x, &n, err, sizeof err);
    CHECK(rc == -1 && contains(err, bad), "missing: %s", err);

    unsigned char lab[10], *l = NULL;
    for (int i = 0; i < 10; i++) lab[i] = (unsigned char)(10 - i);
    tpath(p, sizeof p, "train_y.bin");
    write_bytes(p, lab, 10);
    rc = stl10_load_labels(p, &l, &n, err, sizeof err);
    int ok = rc == 0 && n == 10;
    for (int i = 0; ok && i < 10; i++) ok = l[i] == 9 - i;
    CHECK(ok, "labels 10..1 -> 9..0: %s", err);
    free(l);
    for (int v = 0; v <= 11; v += 11) {
        lab[3] = (unsigned char)v;
        write_bytes(p, lab, 10);
        rc = stl10_load_labels(p, &l, &n, err, sizeof err);
        CHECK(rc == -1 && contains(err, p) && contains(err, "index 3") && !l, "label %d rejected: %s", v, err);
    }
    printf("stl10: label %s\n", err);
    write_bytes(p, lab, 0);
    rc = stl10_load_labels(p, &l, &n, err, sizeof err);
    CHECK(rc == -1 && contains(err, p), "empty labels: %s", err);
    printf("stl10: 3 column-major images exact at 96, x-only pattern preserved at 64, limit, bad sizes and labels rejected\n");
}

/* ---- cleanup ---- */

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(void) {
    if (!mkdtemp(tmpdir)) die("mkdtemp failed");
    tpath(imgdir, sizeof imgdir, "imgs");
    mkdir(imgdir, 0777);
    write_fixtures();
    image_list l = {0};
    test_list(&l);
    test_values();
    test_gray();
    test_split();
    test_crop_flip();
    test_random_crop();
    test_resize();
    test_errors();
    test_save();
    if (l.n == NLISTED) test_prefetch(&l);
    test_stl10();
    image_list_free(&l);
    remove_tree(tmpdir);
    TEST_END();
}
