/* Kernel parameter sets (host/tuning.h, "Kernel parameters"): the default derived from what a device
 * reports, the -D options, and the sets ./bench --tune stores per device under the cache folder. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clerr.h"
#include "clg_shared.h"
#include "tuning.h"
#include "util.h"

/* The fields in file order, with their legal values: lo..hi, and for kind 1 powers of two, kind 2 even
 * numbers. Legal is what tests/test_tuning.c checks against the double reference, every value of each
 * kernel's fields combined. */
typedef struct {
    const char *name;
    size_t off;
    int lo, hi, kind;
} kp_field;
#define KPF(f, lo, hi, p) {#f, offsetof(clg_kparams, f), lo, hi, p}
static const kp_field fields[] = {
    KPF(conv_rows_mr, 4, 16, 1), KPF(conv_rows_vw, 8, 16, 1), KPF(conv_rows_nv, 1, 4, 0),
    KPF(conv_nt_mr, 2, 8, 2),    KPF(conv_nt_nr, 2, 8, 2),    KPF(conv_nt_vw, 8, 16, 1),
    KPF(conv_wg, 1, 256, 1),     KPF(wg, 1, 1024, 1),         KPF(rows_wg, 1, 256, 1),
    KPF(reduce_wg, 1, 256, 1),
    KPF(wino_min_c, 0, 4096, 0), KPF(wino_min_w, 0, 4096, 0), KPF(wino_dw_min_c, 0, 4096, 0),
    KPF(panel_min_k, 0, 65536, 0), KPF(s2d_dx, 0, 3, 0), KPF(wino4_min_w, 0, 4096, 0),
    KPF(oc_max_k, 0, 65536, 0), KPF(lin_mr, 4, 8, 1),
};
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

static int *field(clg_kparams *kp, int i) { return (int *)((char *)kp + fields[i].off); }
/* The field named by the nlen characters at name, or NFIELDS. */
static int field_index(const char *name, size_t nlen) {
    int i = 0;
    while (i < NFIELDS && !(strlen(fields[i].name) == nlen && !strncmp(fields[i].name, name, nlen))) i++;
    return i;
}
static int cfield(const clg_kparams *kp, int i) { return *(const int *)((const char *)kp + fields[i].off); }

const int clg_tune_rows[CLG_TUNE_ROWS][3] = {{8, 16, 3}, {8, 16, 2}, {8, 8, 1}, {16, 8, 1}, {4, 16, 4}, {16, 16, 1},
                                             {4, 8, 3}};
const int clg_tune_nt[CLG_TUNE_NT][3] = {{4, 6, 16}, {4, 4, 16}, {2, 6, 8}, {4, 4, 8}, {2, 8, 16}, {6, 4, 8}};
const int clg_tune_conv_wg[3] = {1, 4, 16}, clg_tune_wg[3] = {128, 64, 256}, clg_tune_reduce_wg[3] = {4, 2, 8};
const int clg_tune_wino_min_c[3] = {64, 16, 128}, clg_tune_wino_min_w[3] = {15, 0, 31},
          clg_tune_wino_dw_min_c[3] = {128, 16, 64}, clg_tune_panel_min_k[3] = {256, 0, 1024},
          clg_tune_s2d_dx[3] = {3, 0, 2}, clg_tune_wino4_min_w[3] = {31, 61, 4096},
          clg_tune_oc_max_k[3] = {512, 0, 2048};

int clg_kparams_legal(const clg_kparams *kp, size_t max_wg, char *why, size_t whylen) {
    for (int i = 0; i < NFIELDS; i++) {
        int v = cfield(kp, i);
        const kp_field *f = &fields[i];
        if (v < f->lo || v > f->hi || (f->kind == 1 && (v & (v - 1))) || (f->kind == 2 && v % 2)) {
            set_err(why, whylen, "%s = %d is not %s in [%d, %d]", f->name, v,
                    f->kind == 1 ? "a power of two" : f->kind == 2 ? "an even number" : "a whole number", f->lo, f->hi);
            return 0;
        }
    }
    /* work-group sizes the device cannot run (the 1-D and row launches halve theirs themselves) */
    if (max_wg && (size_t)kp->conv_wg > max_wg) {
        set_err(why, whylen, "conv_wg = %d is over the device's %zu work-items per group", kp->conv_wg, max_wg);
        return 0;
    }
    return 1;
}

static int floor_pow2(cl_uint v) {
    int p = 1;
    while ((cl_uint)p * 2 <= v && p < (1 << 20)) p *= 2;
    return p;
}

/* What the default is derived from, and why:
 *  - the vector widths: the device's preferred (and native) float vector width, within 8..16 (PoCL
 *    reports 16 for an AVX-512 CPU, and 16 also when told to compile for AVX2; GPUs report 1: 8);
 *  - the register blocks: a CPU with 16-float vectors is taken to have 32 vector registers (AVX-512),
 *    narrower ones 16 (AVX2, NEON): conv_rows keeps CONV_ROWS_MR x CONV_ROWS_NV accumulators, 8 x 3 of
 *    32, else 8 x 1; conv_nt MR x NR, 4 x 6, else 2 x 6; the linear layers' kernels 8 rows a work-item,
 *    else 4 (lin_mr);
 *  - the work-group sizes: 128 (1-D) and 64 (rows), never over the device's maximum; conv_rows and
 *    conv_nt one work-item per group on a CPU (PoCL runs a group per thread, and each item of these
 *    kernels is a whole register block), 64 on a GPU when its compute units want many items;
 *  - the plane reductions (norm statistics, bias gradients): a tree over up to 256 work-items on a GPU;
 *    on a CPU 4, each item streaming a quarter of a plane in vectors (PoCL pays for every barrier of the
 *    tree: a CycleGAN 64x64 step's instance norms took 34 ms at up to 32 items per plane, 13 at 4; 2 was
 *    as fast, but its summation order moved a ResNet-18 parity case over a near-tie, see TUNING.md).
 * No kernel of clgan's conv path uses local memory, so the local memory size does not enter. */
/* Where Winograd pays on a CPU (kp.wino_*): its tile transforms stream the image and the products four
 * times over, which only the channel products' saving (16 multiplies per 2x2 outputs instead of 36)
 * repays, and its input transform runs whole vectors only at 16 tiles (31 output columns) a row.
 * ./bench --filter avae,R256,up, 2-vCPU AMD EPYC (AVX-512), 2026-12-06, Winograd against the direct
 * kernels, forward ms: avae.l0 16->16 28x28 2.6 / 0.57, avae.l2 48->48 7x7 1.02 / 0.25, cyc64.R256
 * 256->256 16x16 1.39 / 1.13, cyc128.R256 (32x32) 3.4 / 3.9, cyc256.u64up 128->64 256x256 36 / 135;
 * weight gradients: avae.l0 1.17 / 0.53, cyc128.u64up 128->64 128x128 11.8 / 7.9, cyc128.u128up
 * 256->128 7.2 / 7.9, cyc128.R256 3.0 / 5.5. Those rows put the width bound at 31 columns; in the whole
 * step the main job's 16x16 residual blocks (forward and data gradient) run faster on Winograd after all:
 * `./bench --model cyclegan64 --ab wino_min_w=15`, 2026-12-07, s/iter ratio 0.931, 0.950, 0.975 (0 gave
 * 0.942, 0.951); cyclegan 1.007, bicyclegan 1.014, pix2pix 1.010 and avae 0.999 with 0 (no layer of
 * theirs in between, or within the noise). */
#define CLG_DEFAULT_WINO_MIN_C 64
#define CLG_DEFAULT_WINO_MIN_W 15
#define CLG_DEFAULT_WINO_DW_MIN_C 128
/* Where pixel panels pay (kp.panel_min_k): packing the image costs a pass over K x the batch's pixels,
 * which a long reduction and many output channels repay. `./bench --model X --ab panel_min_k=65536`
 * (panels off on alternate iterations), 2-vCPU AMD EPYC, 2026-12-07, s/iter with / without: dcgan 4.06 /
 * 4.86 (AVX-512), 6.70 / 7.56 (AVX2); cyclegan, cyclegan256, cyclegan64 within 1% either way. */
#define CLG_DEFAULT_PANEL_MIN_K 256
/* Strided data gradients and transposed convolutions on conv_rows as the adjoint of space to depth
 * (kp.s2d_dx): with 16-float vectors where k is whole phases (1), else never (0). ./bench rows, min of
 * alternating runs, 2-vCPU AMD EPYC, 2026-12-07, ms with 0 / 1: AVX-512 patch64.C128.dx 0.62 / 0.29,
 * patch64.C256.dx 1.13 / 0.38, patch128.C128.dx 1.69 / 0.87, DCGAN's layers at batch 128 the same within
 * the noise; the AVX2 set (8-float vectors, 8 pixels a work-item) dcgan.G4.fwd 190 / 254, dcgan.D3.dx
 * 173 / 295; 3x3 stride 2 (2: 16 taps for 9) mixed, cyc64.d256.dx 0.90 / 0.99, avae.down0.dx 0.70 / 0.39.
 * Whole models move by less than the noise (`./bench --model X --ab s2d_dx=0`, AVX-512, s/iter ratio of
 * off to on: cyclegan64 1.009, cyclegan 1.011, bicyclegan 1.006, pix2pix 0.995, dcgan 0.961 and 1.024).
 * 3 (the other k phase by phase with each phase's own taps) against 1, `--ab s2d_dx=3`, AVX-512,
 * 2026-12-07: cyclegan64 0.985, 0.987 and 0.987, cyclegan 0.978, avae 0.955 and 0.966, bicyclegan 0.998;
 * on the AVX2 set against its 0, cyclegan64 1.100, cyclegan 1.017, avae 0.997 (3 brings the whole-phase
 * adjoint with it, slower there as above). */
#define CLG_DEFAULT_S2D_DX(wide) ((wide) ? 3 : 0)
/* Where Winograd F(4x4, 3x3) replaces F(2x2, 3x3) (kp.wino4_min_w): 36 products per 4x4 outputs instead of
 * 64, and transforms that stream 2.25 floats a pixel instead of 4, but 16x16 outputs at batch 1 give 16
 * tiles, a third of conv_rows' 48-pixel block. A 256 -> 256 channel 3x3 convolution at batch 1, forward
 * and data gradient, F(4x4, 3x3) / F(2x2, 3x3) ms (kernel events, 2-vCPU AMD EPYC, AVX-512, 2026-12-07):
 * 16x16 1.7-2.1 / 2.0-2.1, 32x32 2.2 / 2.9-4.3, 64x64 8.9 / 15.5. Whole models, `./bench --model X
 * --no-torch --ab wino4_min_w=4096` (F(2x2, 3x3) on alternate iterations), s/iter ratio F(2x2)/F(4x4):
 * AVX-512 cyclegan 1.075, cyclegan256 1.141, bicyclegan 0.991, pix2pix 1.038; AVX2 set cyclegan 1.184,
 * cyclegan256 1.256, and with wino4_min_w=0 (16x16 too) cyclegan64 0.977 and 0.992: within the noise. */
#define CLG_DEFAULT_WINO4_MIN_W 31
/* Strided convolutions on conv_oc where the reduction is short (kp.oc_max_k). ./bench rows, alternating
 * runs with conv_oc on and off, 2-vCPU AMD EPYC, 2026-12-07, median ms on / off: AVX-512 avae.down0.fwd
 * 0.21 / 0.46, avae.down0.dx 0.27-0.29 / 0.52-0.73, avae.down1.dx 0.21-0.24 / 0.35-0.46, dcgan.D1c.fwd
 * (ini/cdcgan.ini's first layer, K 176) 24-30 / 88-89; AVX2 set avae.down0.dx 0.48-0.65 / 0.83-1.35,
 * dcgan.D1c.fwd 50-58 / 88-104. Longer reductions gain nothing: `./bench --model X --no-torch --ab
 * oc_max_k=2048` (CycleGAN's 64 -> 128 stride-2 layer, K 576, on conv_oc too) cyclegan64 1.008 and 0.994,
 * cyclegan 1.023. Whole models, `--ab oc_max_k=0` (s/iter off / on): avae 1.037-1.072 (AVX-512),
 * 1.041-1.057 (AVX2); cdcgan 1.062 and 1.057 (AVX-512), 0.982 (AVX2, one run of 4 iterations). */
#define CLG_DEFAULT_OC_MAX_K 512

/* Sets ./bench --tune found on devices this project has measured, matched by a substring of the device
 * name, used as the default there (a stored set for the device still wins): the register blocks above
 * cannot be derived on PoCL, which reports 16-float vectors for its AVX2 kernel library too. Each entry
 * names where it was found (docs/PERF.md, "Final figures, both instruction sets"). */
static const struct {
    const char *device;
    clg_kparams kp;
} measured[] = {
    /* PoCL's AVX2 kernel library ("pthread-haswell", also what PoCL 3.1 picks on AVX2-only AMD EPYCs):
     * ./bench --tune on ini/cyclegan.ini, 2026-12-06, 2-vCPU AMD EPYC with POCL_KERNELLIB_NAME=avx2
     * POCL_LLVM_CPU_NAME=haswell: 0.52 s/iter against 0.69 for the derived set. The Winograd thresholds
     * from ./bench's rows there (2026-12-06, Winograd / direct ms): forward from 64 channels at any
     * width (cyc64.R256 256->256 16x16 2.2 / 2.5, avae.l0 16->16 28x28 2.0 / 0.73); the weight
     * gradient from 128 as on AVX-512 (the rows were split: avae.l1 32->32 14x14 0.51 / 0.71, avae.l0
     * 0.92 / 0.73; four alternating runs of ./bench --model avae: 0.184-0.216 s/iter against
     * 0.193-0.238 with 16). conv_rows' block 4 rows x 3 vectors of 8 (12 accumulators of the 16 registers)
     * instead of 8 x 1 since session 36: ./bench --tune on ini/bench/dcgan.ini 6.71 against 7.33 s/iter, and
     * old and new binaries alternating (2026-12-07, s/iter 8 x 1 over 4 x 3): dcgan 1.13, 1.18, 1.01; cyclegan
     * 1.26, 1.04, 1.11; avae 1.11, 1.07, 1.01, 1.11; cyclegan64 0.90, 1.27, 0.96, 1.06, 1.31, 1.01, 1.24,
     * 0.92 (docs/PERF.md, session 36). lin_mr 4: 8 rows spilled linear_bwd_nn's 16 float8 accumulators to
     * the stack; the VAE's linear kernels 10-15% less device time (docs/PERF.md, session 39). */
    {"pthread-haswell",
     {.conv_rows_mr = 4, .conv_rows_vw = 8, .conv_rows_nv = 3, .conv_nt_mr = 2, .conv_nt_nr = 6, .conv_nt_vw = 8,
      .conv_wg = 16, .wg = 64, .rows_wg = 64, .reduce_wg = 4, .wino_min_c = 64, .wino_min_w = 0,
      .wino_dw_min_c = 128, .panel_min_k = CLG_DEFAULT_PANEL_MIN_K, .s2d_dx = CLG_DEFAULT_S2D_DX(0),
      .wino4_min_w = CLG_DEFAULT_WINO4_MIN_W, .oc_max_k = CLG_DEFAULT_OC_MAX_K, .lin_mr = 4}},
};

void clg_kparams_default(const clg_ctx *c, clg_kparams *kp) {
    cl_uint pref = 0, native = 0;
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof pref, &pref, NULL));
    CL_CHECK(clGetDeviceInfo(c->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof native, &native, NULL));
    cl_uint w = pref > native ? pref : native;
    int vw = floor_pow2(w < 8 ? 8 : w > 16 ? 16 : w);
    int wide = vw >= 16;
    size_t maxwg = c->max_wg ? c->max_wg : 1;
    *kp = (clg_kparams){
        .conv_rows_mr = CLG_DEFAULT_CONV_ROWS_MR,
        .conv_rows_vw = vw,
        .conv_rows_nv = wide ? CLG_DEFAULT_CONV_ROWS_NV : 1,
        .conv_nt_mr = wide ? CLG_DEFAULT_CONV_NT_MR : 2,
        .conv_nt_nr = CLG_DEFAULT_CONV_NT_NR,
        .conv_nt_vw = vw,
        .conv_wg = CLG_DEFAULT_CONV_WG,
        .wg = CLG_DEFAULT_WG,
        .rows_wg = 64,
        .reduce_wg = c->is_gpu ? 256 : 4,
        .wino_min_c = CLG_DEFAULT_WINO_MIN_C,
        .wino_min_w = CLG_DEFAULT_WINO_MIN_W,
        .wino_dw_min_c = CLG_DEFAULT_WINO_DW_MIN_C,
        .panel_min_k = CLG_DEFAULT_PANEL_MIN_K,
        .s2d_dx = CLG_DEFAULT_S2D_DX(wide),
        .wino4_min_w = CLG_DEFAULT_WINO4_MIN_W,
        .oc_max_k = CLG_DEFAULT_OC_MAX_K,
        .lin_mr = wide ? 8 : 4,
    };
    if (c->is_gpu && c->compute_units > 1) kp->conv_wg = 64;
    for (size_t i = 0; i < sizeof measured / sizeof measured[0]; i++)
        if (strstr(c->device_name, measured[i].device)) *kp = measured[i].kp;
    while ((size_t)kp->conv_wg > maxwg) kp->conv_wg /= 2;
    while ((size_t)kp->wg > maxwg) kp->wg /= 2;
    while ((size_t)kp->rows_wg > maxwg) kp->rows_wg /= 2;
    while ((size_t)kp->reduce_wg > maxwg) kp->reduce_wg /= 2;
}

void clg_kparams_format(const clg_kparams *kp, char *out, size_t outlen) {
    size_t n = 0;
    if (outlen) out[0] = '\0';
    for (int i = 0; i < NFIELDS && n < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%s=%d", i ? " " : "", fields[i].name, cfield(kp, i));
}

int clg_kparams_parse(const char *s, clg_kparams *kp, char *err, size_t errlen) {
    clg_kparams k;
    memset(&k, 0, sizeof k);
    int seen = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '\n') break;
        size_t nlen = strcspn(p, "= \t\n");
        int i = field_index(p, nlen);
        if (i == NFIELDS || p[nlen] != '=') {
            set_err(err, errlen, "unknown kernel parameter '%.*s'", (int)nlen, p);
            return -1;
        }
        char *end;
        errno = 0;
        long v = strtol(p + nlen + 1, &end, 10);
        if (end == p + nlen + 1 || errno || v < -100000 || v > 100000 || (*end && !isspace((unsigned char)*end))) {
            set_err(err, errlen, "kernel parameter %s needs a whole number", fields[i].name);
            return -1;
        }
        *field(&k, i) = (int)v;
        seen |= 1 << i;
        p = end;
    }
    if (seen != (1 << NFIELDS) - 1) {
        for (int i = 0; i < NFIELDS; i++)
            if (!(seen & (1 << i))) set_err(err, errlen, "kernel parameter %s is missing", fields[i].name);
        return -1;
    }
    *kp = k;
    return 0;
}

int clg_kparams_set(clg_kparams *kp, const char *assign, char *err, size_t errlen) {
    size_t nlen = strcspn(assign, "=");
    int i = field_index(assign, nlen);
    if (i == NFIELDS || assign[nlen] != '=') {
        set_err(err, errlen, "'%s': want FIELD=VALUE, FIELD a kernel parameter (docs/TUNING.md)", assign);
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(assign + nlen + 1, &end, 10);
    if (end == assign + nlen + 1 || *end || errno || v < INT_MIN || v > INT_MAX) {
        set_err(err, errlen, "kernel parameter %s needs a whole number", fields[i].name);
        return -1;
    }
    clg_kparams k = *kp;
    *field(&k, i) = (int)v;
    if (!clg_kparams_legal(&k, 0, err, errlen)) return -1;
    *kp = k;
    return 0;
}

void clg_kernel_options(const clg_ctx *c, char *out, size_t outlen) {
    const clg_kparams *k = &c->kp;
    snprintf(out, outlen,
             "-cl-std=CL1.2 -DCONV_ROWS_MR=%d -DCONV_ROWS_VW=%d -DCONV_ROWS_NV=%d -DCONV_NT_MR=%d -DCONV_NT_NR=%d "
             "-DCONV_NT_VW=%d -DLIN_MR=%d",
             k->conv_rows_mr, k->conv_rows_vw, k->conv_rows_nv, k->conv_nt_mr, k->conv_nt_nr, k->conv_nt_vw, k->lin_mr);
}

uint64_t clg_kernel_source_hash(void) {
    uint64_t h = FNV1A64_INIT;
    for (int i = 0; clg_kernel_file(i); i++) {
        const char *f = clg_kernel_file(i);
        char *src = clg_kernel_source(f);
        h = fnv1a64(f, strlen(f) + 1, h);
        if (src) h = fnv1a64(src, strlen(src), h);
        free(src);
    }
    return h;
}

/* ---- stored sets -------------------------------------------------------------------------------- */

void clg_tuning_path(const clg_ctx *c, char *out, size_t outlen) {
    const char *file = getenv("CLGAN_TUNING_FILE");
    if (file && *file) {
        snprintf(out, outlen, "%s", file);
        return;
    }
    char name[160];
    size_t n = 0;
    for (const char *p = c->device_name; *p && n + 1 < sizeof name; p++) /* a file name of the device name */
        name[n++] = isalnum((unsigned char)*p) || *p == '-' || *p == '.' ? *p : '_';
    name[n] = '\0';
    const char *dir = getenv("CLGAN_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (dir && *dir) snprintf(out, outlen, "%s/tuning-%s.txt", dir, name);
    else if (xdg && *xdg) snprintf(out, outlen, "%s/clgan/tuning-%s.txt", xdg, name);
    else snprintf(out, outlen, "%s/.cache/clgan/tuning-%s.txt", home ? home : "/tmp", name);
}

#define TUNING_MAGIC "clgan-tuning 1"

/* The file: TUNING_MAGIC, then "key value" lines, then "check <FNV-1a 64 of every byte before this
 * line>" and "end". A file cut short, edited or written by another format fails the check. */
int clg_tuning_store(const clg_ctx *c, const char *path, const clg_tuned_set *s, char *err, size_t errlen) {
    char why[256], kp[CLG_KP_TEXT];
    if (!clg_kparams_legal(&s->kp, c->max_wg, why, sizeof why)) {
        set_err(err, errlen, "not storing an illegal set: %s", why);
        return -1;
    }
    if (strpbrk(s->clblast, "\n") || strpbrk(s->made_by, "\n")) {
        set_err(err, errlen, "not storing a set with a line break in a value");
        return -1;
    }
    clg_kparams_format(&s->kp, kp, sizeof kp);
    size_t cap = 8192;
    char *buf = xmalloc(cap);
    int n = snprintf(buf, cap,
                     TUNING_MAGIC "\nplatform %s\ndevice %s\ndriver %s\nkernels %016llx\ndate %s\nmade_by %s\nkp %s\n"
                                  "clblast %s\n",
                     c->platform_name, c->device_name, c->driver_version, (unsigned long long)clg_kernel_source_hash(),
                     s->date, s->made_by, kp, s->clblast);
    if (n < 0 || (size_t)n + 64 >= cap) {
        free(buf);
        set_err(err, errlen, "tuning set too long to store");
        return -1;
    }
    n += snprintf(buf + n, cap - (size_t)n, "check %016llx\nend\n",
                  (unsigned long long)fnv1a64(buf, (size_t)n, FNV1A64_INIT));
    char dir[4400];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int rc = (slash && mkdir_p(dir, err, errlen) != 0) ? -1 : write_file_atomic(path, buf, (size_t)n, err, errlen);
    free(buf);
    return rc;
}

/* The value of "key " at the start of a line in [text, lim), copied to out; 0, or -1 if absent. */
static int get_line(const char *text, const char *lim, const char *key, char *out, size_t outlen) {
    size_t kl = strlen(key);
    for (const char *p = text; p < lim;) {
        const char *eol = memchr(p, '\n', (size_t)(lim - p));
        if (!eol) eol = lim;
        if ((size_t)(eol - p) > kl && !strncmp(p, key, kl) && p[kl] == ' ') {
            snprintf(out, outlen, "%.*s", (int)(eol - p - (ptrdiff_t)kl - 1), p + kl + 1);
            return 0;
        }
        p = eol + 1;
    }
    return -1;
}

int clg_tuning_load(const clg_ctx *c, const char *path, clg_tuned_set *s, char *why, size_t whylen) {
    char err[512];
    size_t len = 0;
    char *text = read_file(path, &len, err, sizeof err);
    if (!text) {
        set_err(why, whylen, "%s", err);
        return -1;
    }
    int rc = -1;
    char *chk = strstr(text, "\ncheck ");
    char v[1100];
    memset(s, 0, sizeof *s);
    if (len < sizeof TUNING_MAGIC || strncmp(text, TUNING_MAGIC "\n", sizeof TUNING_MAGIC) != 0) {
        set_err(why, whylen, "not a clgan tuning file (want '%s' on its first line)", TUNING_MAGIC);
    } else if (!chk || strcmp(chk + 23, "\nend\n") != 0) {
        set_err(why, whylen, "cut short or damaged (no 'check' and 'end' lines at its end)");
    } else if (strtoull(chk + 7, NULL, 16) != fnv1a64(text, (size_t)(chk + 1 - text), FNV1A64_INIT)) {
        set_err(why, whylen, "damaged (its checksum does not match)");
    } else if (get_line(text, chk, "device", v, sizeof v) || strcmp(v, c->device_name) != 0) {
        set_err(why, whylen, "made for device '%s', this is '%s'", v, c->device_name);
    } else if (get_line(text, chk, "platform", v, sizeof v) || strcmp(v, c->platform_name) != 0) {
        set_err(why, whylen, "made for platform '%s', this is '%s'", v, c->platform_name);
    } else if (get_line(text, chk, "driver", v, sizeof v) || strcmp(v, c->driver_version) != 0) {
        set_err(why, whylen, "made for driver version '%s', this is '%s'", v, c->driver_version);
    } else if (get_line(text, chk, "kernels", v, sizeof v) ||
               strtoull(v, NULL, 16) != (unsigned long long)clg_kernel_source_hash()) {
        set_err(why, whylen, "made for other kernel sources (hash %s, these %016llx): run ./bench --tune again", v,
                (unsigned long long)clg_kernel_source_hash());
    } else if (get_line(text, chk, "kp", v, sizeof v) || clg_kparams_parse(v, &s->kp, err, sizeof err) != 0) {
        set_err(why, whylen, "its kernel parameters do not read: %s", err);
    } else if (!clg_kparams_legal(&s->kp, c->max_wg, err, sizeof err)) {
        set_err(why, whylen, "its kernel parameters are not legal here: %s", err);
    } else {
        get_line(text, chk, "clblast", s->clblast, sizeof s->clblast);
        get_line(text, chk, "date", s->date, sizeof s->date);
        get_line(text, chk, "made_by", s->made_by, sizeof s->made_by);
        rc = 0;
    }
    free(text);
    return rc;
}

static int no_tuning(void) {
    const char *e = getenv("CLGAN_NO_TUNING");
    return e && *e && strcmp(e, "0") != 0;
}

void clg_kernel_params(clg_ctx *c) {
    clg_kparams_default(c, &c->kp);
    c->kp_clblast[0] = '\0';
    char path[4400], why[1200], kp[CLG_KP_TEXT];
    clg_kparams_format(&c->kp, kp, sizeof kp);
    if (no_tuning()) {
        snprintf(c->kp_origin, sizeof c->kp_origin, "default (CLGAN_NO_TUNING): %.380s", kp);
    } else {
        clg_tuning_path(c, path, sizeof path);
        clg_tuned_set s;
        if (access(path, F_OK) != 0) {
            snprintf(c->kp_origin, sizeof c->kp_origin, "default (no stored set; ./bench --tune makes one): %.380s",
                     kp);
        } else if (clg_tuning_load(c, path, &s, why, sizeof why) != 0) {
            fprintf(stderr, "clgan: warning: stored tuning set %s refused: %s\n", path, why);
            snprintf(c->kp_origin, sizeof c->kp_origin, "default (stored set refused): %.380s", kp);
        } else {
            c->kp = s.kp;
            snprintf(c->kp_clblast, sizeof c->kp_clblast, "%s", s.clblast);
            clg_kparams_format(&c->kp, kp, sizeof kp);
            snprintf(c->kp_origin, sizeof c->kp_origin, "stored %.230s (%.40s): %.380s", path, s.date, kp);
        }
    }
    static int said; /* one line per process, however many contexts it opens */
    if (!said) fprintf(stderr, "clgan: kernel parameters: %s\n", c->kp_origin);
    said = 1;
}
