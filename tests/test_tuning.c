/* Kernel parameter sets (host/tuning.h, host/tuning_kp.c, ./bench --tune):
 *  1. a stored set round-trips: stored, reloaded field for field, used by clg_open; refused (with the
 *     default kept) for another device name, platform, driver or kernel sources, when damaged, cut
 *     short, or holding an illegal value; no temporary file left beside it;
 *  2. every set ./bench --tune can choose builds the conv kernels, which compute conv2d forward and all
 *     gradients within the kernel tests' tolerance of a double-precision C reference (random data, odd
 *     sizes, inputs at non-zero offsets): a reduced tests/test_conv.c on the own kernels, through each
 *     path they have (conv_rows direct and inside Winograd, conv_nt for strides > 1 and the gradients).
 * The sets: what ./bench --tune chooses from (host/tuning.h, clg_tune_*: 7 conv_rows and 6 conv_nt
 * combinations, conv_wg, wg and reduce_wg values; the Winograd thresholds at 0 and at the default in
 * turn), or with TEST_TUNING_ALL=1 every legal one (clg_kparams_legal:
 * conv_rows (MR, VW, NV) in {4,8,16} x {8,16} x {1..4}, conv_nt (MR, NR, VW) in {2,4,6,8}^2 x {8,16},
 * power-of-two work-group sizes cycled over the sets; 32 programs, several minutes here). conv_rows.cl
 * reads only CONV_ROWS_*, conv_gemm.cl only CONV_NT_*, conv_winograd.cl and conv_winograd4.cl only
 * CONV_ROWS_MR, and the host
 * sizes each kernel's launches from its own fields, so the two families are paired (set i has the i-th
 * conv_rows and the i-th conv_nt combination, each family cycled) rather
 * than multiplied: every combination of each kernel is built and checked. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "rng.h"
#include "tuning.h"
#include "util.h"

static rng_seq R;

static float *randv(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        float x;
        do x = lo + (hi - lo) * rng_uniform(&R);
        while (fabsf(x) < 1e-3f);
        v[i] = x;
    }
    return v;
}

/* ---- 1. stored sets ---------------------------------------------------------------------------- */

static int same_kp(const clg_kparams *a, const clg_kparams *b) { return !memcmp(a, b, sizeof *a); }

static void write_text(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, n, f) != n) printf("FAIL cannot write %s\n", path);
    if (f) fclose(f);
}

/* Opens a context and reports whether it uses the default (and said why). */
static void expect_default(const char *what, const clg_kparams *def) {
    char err[2048];
    clg_ctx *c = clg_open(NULL, 0, err, sizeof err);
    if (!c) {
        CHECK(0, "clg_open: %s", err);
        return;
    }
    int ok = same_kp(&c->kp, def) && !strncmp(c->kp_origin, "default", 7) && !c->kp_clblast[0];
    printf("%s %s: clg_open keeps the default (%.60s...)\n", ok ? "ok  " : "FAIL", what, c->kp_origin);
    CHECK(ok, "%s: clg_open did not keep the default: %s", what, c->kp_origin);
    clg_close(c);
}

static void refused(clg_ctx *c, const char *path, const char *what, const char *want_in_why) {
    clg_tuned_set s;
    char why[1200] = "";
    int rc = clg_tuning_load(c, path, &s, why, sizeof why);
    int ok = rc != 0 && strstr(why, want_in_why) != NULL;
    printf("%s %s: refused (\"%s\")\n", ok ? "ok  " : "FAIL", what, why);
    CHECK(ok, "%s: load returned %d, reason '%s' (want one naming '%s')", what, rc, why, want_in_why);
}

static void test_store(const char *dir) {
    char path[4400], err[2048], text[8192];
    setenv("CLGAN_CACHE_DIR", dir, 1);
    unsetenv("CLGAN_TUNING_FILE");
    unsetenv("CLGAN_NO_TUNING");
    clg_ctx *c = clg_open(NULL, 0, err, sizeof err);
    if (!c) {
        CHECK(0, "clg_open: %s", err);
        return;
    }
    clg_kparams def;
    clg_kparams_default(c, &def);
    char a[CLG_KP_TEXT], b[CLG_KP_TEXT];
    clg_kparams_format(&def, a, sizeof a);
    printf("default set here: %s\n", a);
    /* on PoCL with AVX-512 (this machine, and the device the kernels were written for) the default is
     * today's parameters: kernels/clg_shared.h's CLG_DEFAULT_* and the launch sizes 128 / 64, and plane
     * reductions of 4 work-items (a CPU's default since they became a parameter), and Winograd from 64
     * channels and 31 columns (15 since 2026-12-07), 128 channels for the weight gradient (since those became parameters), and
     * pixel panels for strided convolutions from K = 256, and strided data gradients of whole phases as the
     * space-to-depth adjoint (since 2026-12-07) and the other k phase by phase on conv_rows (s2d_dx 3, since
     * 2026-12-07, session 34), and Winograd F(4x4, 3x3) from 31 columns (since its kernels, 2026-12-07), and
     * strided convolutions with reductions up to 512 on conv_oc (since 2026-12-07, session 35), and 8 rows a
     * work-item in the linear layers' kernels (LIN_BM before it became lin_mr, 2026-12-08) */
    if (strstr(c->device_name, "skylake-avx512")) {
        clg_kparams today = {8, 16, 3, 4, 6, 16, 1, 128, 64, 4, 64, 15, 128, 256, 3, 31, 512, 8};
        CHECK(same_kp(&def, &today), "the default here is not today's set: %s", a);
        printf("%s the default on %s is today's set\n", same_kp(&def, &today) ? "ok  " : "FAIL", c->device_name);
    }
    CHECK(same_kp(&c->kp, &def) && !strncmp(c->kp_origin, "default (no stored set", 22),
          "with nothing stored clg_open used '%s'", c->kp_origin);

    /* format / parse */
    clg_kparams back;
    CHECK(clg_kparams_parse(a, &back, err, sizeof err) == 0 && same_kp(&back, &def), "format/parse: %s", err);
    CHECK(clg_kparams_parse("conv_rows_mr=8", &back, err, sizeof err) != 0, "a set missing fields parsed");
    /* every field at its widest legal value: the text fits CLG_KP_TEXT (the buffers that hold it) and reads back */
    clg_kparams wide = {16, 16, 4, 8, 8, 16, 256, 1024, 256, 256, 4096, 4096, 4096, 65536, 3, 4096, 65536, 8};
    char wtxt[CLG_KP_TEXT];
    clg_kparams_format(&wide, wtxt, sizeof wtxt);
    CHECK(clg_kparams_legal(&wide, 0, err, sizeof err), "the widest set is not legal: %s", err);
    CHECK(strlen(wtxt) + 1 < sizeof wtxt && clg_kparams_parse(wtxt, &back, err, sizeof err) == 0 &&
              same_kp(&back, &wide),
          "the widest set (%zu chars) does not fit CLG_KP_TEXT or read back: %s", strlen(wtxt), err);
    CHECK(clg_kparams_parse("conv_rows_mr=8 bogus=1", &back, err, sizeof err) != 0, "an unknown field parsed");

    /* store, reload, use */
    clg_tuned_set st = {.kp = {16, 8, 2, 2, 8, 8, 4, 64, 32, 8, 16, 8, 32, 0, 0, 0, 0, 4}};
    snprintf(st.clblast, sizeof st.clblast, "Copy:COPY_DIMX=16,COPY_DIMY=32,COPY_VW=4,COPY_WPT=1");
    snprintf(st.date, sizeof st.date, "2026-12-06T08:00Z");
    snprintf(st.made_by, sizeof st.made_by, "tests/test_tuning.c");
    clg_tuning_path(c, path, sizeof path);
    int rc = clg_tuning_store(c, path, &st, err, sizeof err);
    CHECK(rc == 0, "store: %s", err);
    clg_tuned_set got;
    char why[1200] = "";
    rc = clg_tuning_load(c, path, &got, why, sizeof why);
    int same = rc == 0 && same_kp(&got.kp, &st.kp) && !strcmp(got.clblast, st.clblast) && !strcmp(got.date, st.date) &&
               !strcmp(got.made_by, st.made_by);
    clg_kparams_format(&got.kp, b, sizeof b);
    printf("%s stored in %s and reloaded: %s, CLBlast '%s' (%s)\n", same ? "ok  " : "FAIL", path, b, got.clblast, why);
    CHECK(same, "the reloaded set differs from the stored one (%s)", why);
    int others = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        others += e->d_name[0] != '.' && strncmp(e->d_name, "tuning-", 7) != 0 && !strstr(e->d_name, ".bin");
    if (d) closedir(d);
    CHECK(others == 0, "%d other files beside the stored set (a temporary file left?)", others);
    printf("%s no temporary file beside it\n", others ? "FAIL" : "ok  ");
    clg_ctx *c2 = clg_open(NULL, 0, err, sizeof err);
    int used = c2 && same_kp(&c2->kp, &st.kp) && !strncmp(c2->kp_origin, "stored", 6) &&
               !strcmp(c2->kp_clblast, st.clblast);
    printf("%s clg_open uses it: %s\n", used ? "ok  " : "FAIL", c2 ? c2->kp_origin : err);
    CHECK(used, "clg_open did not use the stored set");
    if (c2) clg_close(c2);
    setenv("CLGAN_NO_TUNING", "1", 1);
    expect_default("CLGAN_NO_TUNING=1 with a stored set", &def);
    unsetenv("CLGAN_NO_TUNING");

    /* refused for another device, platform, driver */
    clg_ctx other = *c;
    snprintf(other.device_name, sizeof other.device_name, "pthread-haswell-%s", "Other CPU");
    refused(&other, path, "another device name", "made for device");
    other = *c;
    snprintf(other.driver_version, sizeof other.driver_version, "%.100s.1", c->driver_version);
    refused(&other, path, "another driver version", "made for driver");
    other = *c;
    snprintf(other.platform_name, sizeof other.platform_name, "Other Platform");
    refused(&other, path, "another platform", "made for platform");

    /* damaged, cut short, illegal, other kernel sources: refused, and clg_open keeps the default */
    size_t len = 0;
    char *orig = read_file(path, &len, err, sizeof err);
    if (!orig) {
        CHECK(0, "read back: %s", err);
        clg_close(c);
        return;
    }
    memcpy(text, orig, len < sizeof text ? len : sizeof text);
    char *kpl = strstr(text, "\nkp conv_rows_mr=16");
    if (kpl) kpl[18] = '8'; /* conv_rows_mr=18: one byte changed */
    write_text(path, text, len);
    refused(c, path, "one byte changed", "checksum");
    expect_default("one byte changed", &def);
    write_text(path, orig, len / 2);
    refused(c, path, "half written", "cut short");
    expect_default("half written", &def);
    write_text(path, orig, len - 4);
    refused(c, path, "the last line cut", "cut short");
    write_text(path, "", 0);
    refused(c, path, "empty", "not a clgan tuning file");
    /* a whole file (right checksum) with an illegal value, and one for other kernel sources */
    const char *edits[][3] = {{"\nkp conv_rows_mr=16", "\nkp conv_rows_mr=12", "not legal"},
                              {"\nkernels ", "\nkernels ", "other kernel sources"}};
    for (int i = 0; i < 2; i++) {
        char *body = xmalloc(len + 16);
        memcpy(body, orig, len);
        body[len] = '\0';
        char *p = strstr(body, edits[i][0]);
        char *chk = strstr(body, "\ncheck ");
        if (!p || !chk) {
            CHECK(0, "the stored file lacks '%s' or its check line", edits[i][0]);
            free(body);
            continue;
        }
        memcpy(p, edits[i][1], strlen(edits[i][1]));
        if (i == 1) p[9] = p[9] == '0' ? '1' : '0'; /* the hash's first digit */
        int n = (int)(chk + 1 - body);
        n += snprintf(body + n, len + 16 - (size_t)n, "check %016llx\nend\n",
                      (unsigned long long)fnv1a64(body, (size_t)(chk + 1 - body), FNV1A64_INIT));
        write_text(path, body, (size_t)n);
        refused(c, path, edits[i][2], edits[i][2]);
        expect_default(edits[i][2], &def);
        free(body);
    }
    free(orig);
    remove(path);
    clg_close(c);
}

/* ---- 2. every legal set against the double reference -------------------------------------------- */

typedef struct {
    const char *name;
    int N, C, M, H, W, k, s, p, reflect;
} ccase;

/* y = conv2d(x, w) + b; with dy: the gradients dx, dw, db. Direct loops from the definition. */
static void ref_conv(const ccase *c, const float *x, const float *w, const float *b, double *y, const double *dy,
                     double *dx, double *dw, double *db) {
    int OH = (c->H + 2 * c->p - c->k) / c->s + 1, OW = (c->W + 2 * c->p - c->k) / c->s + 1;
    for (int n = 0; n < c->N; n++)
        for (int m = 0; m < c->M; m++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    size_t yi = (((size_t)n * c->M + m) * OH + oy) * OW + ox;
                    if (!dy) y[yi] = b[m];
                    else db[m] += dy[yi];
                    for (int ci = 0; ci < c->C; ci++)
                        for (int ki = 0; ki < c->k; ki++)
                            for (int kj = 0; kj < c->k; kj++) {
                                int iy = oy * c->s + ki - c->p, ix = ox * c->s + kj - c->p;
                                if (c->reflect) {
                                    iy = iy < 0 ? -iy : iy >= c->H ? 2 * (c->H - 1) - iy : iy;
                                    ix = ix < 0 ? -ix : ix >= c->W ? 2 * (c->W - 1) - ix : ix;
                                }
                                if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W) continue;
                                size_t xi = (((size_t)n * c->C + ci) * c->H + iy) * c->W + ix;
                                size_t wi = (((size_t)m * c->C + ci) * c->k + ki) * c->k + kj;
                                if (!dy) y[yi] += (double)x[xi] * w[wi];
                                else dx[xi] += dy[yi] * w[wi], dw[wi] += dy[yi] * x[xi];
                            }
                }
}

/* The largest error relative to max(|ref|, 0.1 RMS(ref)) (tests/test_conv.c's measure). */
static double rel_err(const float *got, const double *ref, size_t n) {
    double ss = 0, worst = 0;
    for (size_t i = 0; i < n; i++) ss += ref[i] * ref[i];
    double floor_ = n ? 0.1 * sqrt(ss / (double)n) : 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - ref[i]) / (fabs(ref[i]) > floor_ ? fabs(ref[i]) : floor_);
        if (!(e <= worst)) worst = e; /* NaN is worst */
    }
    return worst;
}

/* One case on context cl; returns the worst relative error over y, dx, dw, db. */
static double run_case(clg_ctx *cl, const ccase *c) {
    int OH = (c->H + 2 * c->p - c->k) / c->s + 1, OW = (c->W + 2 * c->p - c->k) / c->s + 1;
    size_t nx = (size_t)c->N * c->C * c->H * c->W, ny = (size_t)c->N * c->M * OH * OW, nw = (size_t)c->M * c->C * c->k * c->k;
    tape t;
    tape_init(&t, cl);
    net nt;
    net_init(&nt, cl, "conv");
    int wi = net_add(&nt, "w", 4, (int[]){c->M, c->C, c->k, c->k}), bi = net_add(&nt, "b", 1, (int[]){c->M});
    net_alloc(&nt);
    float *x = randv(nx, -1, 1), *w = randv(nw, -0.5f, 0.5f), *b = randv((size_t)c->M, -1, 1), *T = randv(ny, -1, 1);
    clg_write(cl, nt.w, nt.p[wi].off, nw, w);
    clg_write(cl, nt.w, nt.p[bi].off, (size_t)c->M, b);
    clg_fill(cl, nt.g, 0, nt.total, 0.0f);
    tensor xt = dev_upload_at(cl, x, c->N, c->C, c->H, c->W, 29);
    int xv = tape_new(&t, c->N, c->C, c->H, c->W, 1);
    k_axpby(cl, tape_val(&t, xv), xt, nx, 1.0f, 0.0f);
    int y = op_conv2d(&t, xv, tape_param(&t, &nt, wi), tape_param(&t, &nt, bi), c->s, c->p,
                      c->reflect ? PAD_REFLECT : PAD_ZERO);
    tensor Tt = dev_upload_at(cl, T, c->N, c->M, OH, OW, 11);
    tape_backward(&t, op_sqerr_sum(&t, y, tape_input(&t, Tt), 0.5f)); /* dL/dy = y - T */
    double *yr = dvec(ny), *dy = dvec(ny), *dx = dvec(nx), *dw = dvec(nw), *db = dvec((size_t)c->M);
    ref_conv(c, x, w, b, yr, NULL, NULL, NULL, NULL);
    for (size_t i = 0; i < ny; i++) dy[i] = yr[i] - T[i];
    ref_conv(c, x, w, b, NULL, dy, dx, dw, db);
    float *yg = dev_download(cl, tape_val(&t, y)), *dxg = dev_download(cl, t.vars[xv].grad);
    float *g = xmalloc(nt.total * sizeof *g);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, g);
    double e[4] = {rel_err(yg, yr, ny), rel_err(dxg, dx, nx), rel_err(g + nt.p[wi].off, dw, nw),
                   rel_err(g + nt.p[bi].off, db, (size_t)c->M)}, worst = 0;
    for (int i = 0; i < 4; i++)
        if (!(e[i] <= worst)) worst = e[i];
    free(x), free(w), free(b), free(T), free(yr), free(dy), free(dx), free(dw), free(db), free(yg), free(dxg), free(g);
    clReleaseMemObject(xt.mem);
    clReleaseMemObject(Tt.mem);
    net_free(&nt);
    tape_free(&t);
    return worst;
}

static void test_sets(void) {
    /* each path of the own kernels (host/ops/conv.c) at panel sizes up to 16 with partial panels:
     * Winograd (3x3 s1, C and M >= MR, C % 16 == 0 for its weight gradient; F(4x4, 3x3) or F(2x2, 3x3); in
     * every other set of 4- and 8-row panels, the others take the default's thresholds and with them
     * conv_rows), conv_rows direct (k != 3;
     * CycleGAN's c7s1, 390 pixels: a tail for conv_rows1 at 48 and 32 a block), conv_nt (stride 2: forward, data gradient by phases,
     * weight gradient; and the data gradient of the 7x7 case, C < MR) */
    const ccase cases[] = {
        {"conv3 s1 p1 refl 2x16x11x13->20 (Winograd, or conv_rows)", 2, 16, 20, 11, 13, 3, 1, 1, 1},
        {"conv7 s1 p3 refl 1x3x15x20->17 (conv_rows, c7s1)", 1, 3, 17, 15, 20, 7, 1, 3, 1},
        {"conv4 s2 p1 zero 2x7x10x9->10 (conv_nt, or conv_oc)", 2, 7, 10, 10, 9, 4, 2, 1, 0},
        {"conv4 s2 p1 zero 2x20x12x14->18 (conv_nt, or pixel panels)", 2, 20, 18, 12, 14, 4, 2, 1, 0},
        {"conv3 s2 p1 zero 2x12x13x11->10 (data gradient: phases on conv_nt, conv_rows or conv_oc, s2d adjoint)", 2, 12,
         10, 13, 11, 3, 2, 1, 0},
    };
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    static const int v3[] = {4, 8, 16}, v2[] = {8, 16}, ev[] = {2, 4, 6, 8};
    static const int wgs[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    /* the sets ./bench --tune chooses from (host/tuning.h, clg_tune_*), or with TEST_TUNING_ALL=1 every
     * legal conv_rows and conv_nt combination */
    const char *all = getenv("TEST_TUNING_ALL");
    int full = all && *all && strcmp(all, "0") != 0, bad = 0;
    int nsets = full ? 32 : CLG_TUNE_ROWS > CLG_TUNE_NT ? CLG_TUNE_ROWS : CLG_TUNE_NT;
    double worst_all = 0, t0 = now_seconds();
    conv_set_impl(2); /* the own kernels, whatever the device */
    for (int i = 0; i < nsets; i++) {
        clg_kparams kp;
        if (full) {
            int r = i % 24, q = i % 32;
            kp = (clg_kparams){.conv_rows_mr = v3[r / 8], .conv_rows_vw = v2[r / 4 % 2], .conv_rows_nv = 1 + r % 4,
                               .conv_nt_mr = ev[q / 8], .conv_nt_nr = ev[q / 2 % 4], .conv_nt_vw = v2[q % 2],
                               .conv_wg = wgs[i % 9], .wg = wgs[i % 11], .rows_wg = wgs[(i + 3) % 9],
                               .reduce_wg = wgs[(i + 1) % 9]};
        } else {
            const int *r = clg_tune_rows[i % CLG_TUNE_ROWS], *q = clg_tune_nt[i % CLG_TUNE_NT];
            kp = (clg_kparams){.conv_rows_mr = r[0], .conv_rows_vw = r[1], .conv_rows_nv = r[2], .conv_nt_mr = q[0],
                               .conv_nt_nr = q[1], .conv_nt_vw = q[2], .conv_wg = clg_tune_conv_wg[i % 3],
                               .wg = clg_tune_wg[i % 3], .rows_wg = wgs[(i + 5) % 9],
                               .reduce_wg = clg_tune_reduce_wg[i % 3]};
        }
        char err[2048], d[CLG_KP_TEXT], why[256];
        clg_ctx *cl = clg_open(NULL, 0, err, sizeof err);
        if (!cl) {
            CHECK(0, "clg_open: %s", err);
            return;
        }
        /* every other set and those of 16-row panels: Winograd wherever it can run (the cases are too small
         * for the default's thresholds), else the device default's (the Winograd case then takes conv_rows);
         * F(4x4, 3x3) and F(2x2, 3x3) in turn, so that each meets panels of 4, 8 and 16 rows */
        clg_kparams dflt;
        clg_kparams_default(cl, &dflt);
        int wino = i % 2 == 0 || kp.conv_rows_mr == 16;
        kp.wino_min_c = wino ? 0 : dflt.wino_min_c;
        kp.wino_min_w = wino ? 0 : dflt.wino_min_w;
        kp.wino_dw_min_c = wino ? 0 : dflt.wino_dw_min_c;
        kp.wino4_min_w = !wino ? dflt.wino4_min_w : i / 2 % 2 ? 4096 : 0;
        kp.panel_min_k = i % 2 ? dflt.panel_min_k : 0;
        /* the strided data gradient on conv_nt; its s2d adjoint for whole phases, for any k, and for whole
         * phases with the other k phase by phase on conv_rows */
        kp.s2d_dx = i % 4;
        /* strided convolutions on conv_oc: never, or wherever it can run */
        kp.oc_max_k = i % 3 ? 0 : 65536;
        kp.lin_mr = i % 2 ? 4 : 8; /* a -D of linear.cl, which this part builds empty (tests/test_linear.c: both) */
        clg_kparams_format(&kp, d, sizeof d);
        if (!clg_kparams_legal(&kp, cl->max_wg, why, sizeof why)) {
            printf("skip %s: %s on this device\n", d, why); /* a work-group size over the device's limit */
            clg_close(cl);
            continue;
        }
        cl->kp = kp; /* before the first kernel: the program is built with these -D options */
        printf("set %2d: %s\n", i, d);
        for (int k = 0; k < ncases; k++) {
            /* Winograd F(4x4, 3x3) rounds some 20 times coarser than F(2x2, 3x3): tests/test_conv.c, fwd_rtol */
            double tol = wino && kp.wino4_min_w == 0 && cases[k].k == 3 && cases[k].s == 1 ? 5e-4 : 1e-4;
            double e = run_case(cl, &cases[k]);
            int ok = e <= tol;
            bad += !ok;
            if (!(e <= worst_all)) worst_all = e;
            printf("  %s %-48s y, dx, dw, db: max rel err %.1e (tol %.0e)\n", ok ? "ok  " : "FAIL", cases[k].name, e,
                   tol);
            CHECK(ok, "set %s, %s: error %.2e against the double reference", d, cases[k].name, e);
        }
        clg_close(cl);
    }
    conv_set_impl(0);
    printf("%d sets (%s) x %d cases in %.0f s, %d failed, worst error %.1e (tolerance 1e-4, 5e-4 F(4x4, 3x3))\n",
           nsets, full ? "every legal combination, TEST_TUNING_ALL" : "what ./bench --tune chooses from", ncases,
           now_seconds() - t0, bad, worst_all);
}

/* The kernel files part 2 needs, expanded, the others empty, in folder kdir. */
static const char *const needed[] = {"conv.cl",           "conv_gemm.cl",   "conv_oc.cl", "conv_rows.cl",
                                     "conv_winograd.cl",  "conv_winograd4.cl", "elementwise.cl", "loss.cl"};
static void kernel_subset(const char *kdir) {
    char err[512];
    CHECK(mkdir_p(kdir, err, sizeof err) == 0, "mkdir %s: %s", kdir, err);
    for (int i = 0; clg_kernel_file(i); i++) {
        const char *f = clg_kernel_file(i);
        int need = strcmp(f + strlen(f) - 3, ".cl") != 0;
        for (size_t j = 0; j < sizeof needed / sizeof needed[0]; j++) need |= !strcmp(f, needed[j]);
        char *src = need ? clg_kernel_source(f) : NULL, path[4400];
        snprintf(path, sizeof path, "%s/%s", kdir, f);
        write_text(path, src ? src : "", src ? strlen(src) : 0);
        free(src);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress visible when redirected */
    R = rng_seq_make(21, RNG_STREAM_TEST, 0);
    char dir[] = "/tmp/clgan_tuning_XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    test_store(dir);
    /* part 2 builds a program per set: keep them in the test's own cache folder, removed below; and build only
     * the kernel files its ops use (CLGAN_KERNEL_DIR with the others empty), which is most of the time a
     * program costs: a conv kernel's code is the same in any program */
    setenv("CLGAN_CACHE_DIR", dir, 1);
    char kdir[4200];
    snprintf(kdir, sizeof kdir, "%s/kernels", dir);
    kernel_subset(kdir);
    setenv("CLGAN_KERNEL_DIR", kdir, 1);
    setenv("CLGAN_NO_TUNING", "1", 1); /* nothing stored is read: each set is the test's */
    test_sets();
    for (int pass = 0; pass < 2; pass++) { /* the kernel files, then the cache */
        const char *folder = pass ? dir : kdir;
        DIR *d = opendir(folder);
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            char path[4600];
            snprintf(path, sizeof path, "%.4200s/%.255s", folder, e->d_name);
            if (e->d_name[0] != '.') remove(path);
        }
        if (d) closedir(d);
        rmdir(folder);
    }
    TEST_END();
}
