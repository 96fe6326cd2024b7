/* 2-D convolution and transposed convolution: on GPUs over im2col + CLBlast GEMM (kernels/conv.cl), on
 * other devices over clgan's own kernels (kernels/conv_gemm.cl, section "own kernels" below), which
 * need no column matrix for most shapes.
 *
 * Both ops are one geometry seen from its two sides. The "image" side is {N, C, IH, IW}; the
 * "column" side is {N, OC, OH, OW}, the output of convolving the image with a weight viewed as the
 * matrix Wm {OC, K}, K = C*k*k. Per group of G samples, with cols = im2col(image) {K, G*L}
 * (L = OH*OW) and X' the column-side tensor in channel-major layout {OC, G*L}:
 *   forward of a conv                      column side = Wm * cols                    (cols_gemm)
 *   adjoint (conv data gradient)           image += col2im(Wm^T * X')                 (gemm_col2im)
 *   weight gradient                        dWm += X' * cols^T                         (weight_grad)
 * conv2d:           image = x, column side = y, Wm = w {Cout, Cin*k*k}:
 *                   forward cols_gemm(x -> y); dx gemm_col2im(dy -> dx); dw weight_grad(x, dy).
 * conv_transpose2d: image = y, column side = x, Wm = w {Cin, Cout*k*k} (PyTorch's layout is
 *                   exactly that matrix): forward gemm_col2im(x -> y); dx cols_gemm(dy -> dx);
 *                   dw weight_grad(dy, x).
 * ConvTranspose2d's output size (H-1)*s - 2p + k + op, with op < s, is an image size that a conv
 * with the same k, s, p maps back onto exactly H: the two sides agree.
 *
 * Groups: the column matrix for a whole batch can be large, so samples are taken G at a time with
 * G*L*max(K, OC) <= the group limit (at least one sample). Scratch comes from tape_scratch. The
 * descriptions above are the CLBlast path's; the own kernels compute the same three products. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

#define CONV_GROUP_FLOATS_DEFAULT ((size_t)1 << 22)
static size_t conv_group_floats = CONV_GROUP_FLOATS_DEFAULT;

size_t conv_set_group_floats(size_t floats) {
    size_t old = conv_group_floats;
    conv_group_floats = floats ? floats : CONV_GROUP_FLOATS_DEFAULT;
    return old;
}

typedef struct {
    int N, C, IH, IW; /* image side */
    int OC, OH, OW;   /* column side */
    int k, s, p, reflect;
    const net *wowner; /* the weight's network when it is a parameter: packed copies are reused */
    /* conv2d_backward: where the data gradient leaves its copy of the upstream gradient zero-padded by p on
     * every side (stride 1, "same" zero padding, conv_rows), for the weight gradient to read (NULL: none) */
    tensor *dy_pad;
    /* The image padded by p on every side (padded_img) where the forward and the weight gradient both
     * read that copy (conv_rows' stride-1 forward and the grid weight gradient; a strided forward and
     * weight gradient by panels). Forward: keep_img asks the paths that make it to make it in the step
     * arena and leave it in *img_pad, for the node to save; backward: *img_pad is that copy (mem NULL:
     * none was kept, pad again). */
    int keep_img;
    tensor *img_pad;
    /* op_conv2d_elu's forward: > 0, the paths that can (conv_rows) write ELU(y) with this alpha, and
     * cols_gemm says so; 0 (every other use): y */
    float elu;
    /* op_conv2d_elu's backward where the data gradient pads the upstream gradient (dx_pads_dy): > 0, the
     * alpha of dY = dA * ELU'(elu_a), the src gemm_col2im gets being dA (the ELU output's gradient); the
     * padding (conv_pad with alpha) also writes dY into elu_dy and sets *elu_done */
    float elu_bwd;
    tensor elu_a, elu_dy;
    int *elu_done;
} cgeom;

static int gK(const cgeom *g) { return g->C * g->k * g->k; }
static int gL(const cgeom *g) { return g->OH * g->OW; }

/* Samples per group. */
static int group_size(const cgeom *g) {
    size_t per = (size_t)(gK(g) > g->OC ? gK(g) : g->OC) * (size_t)gL(g);
    size_t G = conv_group_floats / (per ? per : 1);
    if (G < 1) G = 1;
    if (G > (size_t)g->N) G = (size_t)g->N;
    return (int)G;
}

/* Kernel offsets and sizes are ints. */
static int ki(size_t v, const char *what) {
    if (v > (size_t)INT_MAX) die("conv: %s (%zu) does not fit the kernels' int arguments", what, v);
    return (int)v;
}

/* cols {K, G*L} = im2col of image samples n0 .. n0+G-1. */
static void im2col(clg_ctx *c, const cgeom *g, tensor cols, tensor img, int n0, int G) {
    size_t n = (size_t)gK(g) * G * gL(g);
    size_t ioff = img.off + (size_t)n0 * g->C * g->IH * g->IW;
    ki(n, "column matrix size");
    kl_conv_im2col(c, clg_grid_1d((size_t)gK(g) * G), cols.mem, ki(cols.off, "offset"), img.mem, ki(ioff, "offset"), G,
                   g->C, g->IH, g->IW, g->OH, g->OW, g->k, g->s, g->p, g->reflect);
}

/* image samples n0.. = beta*image + col2im(cols) (+ bias per channel when bias.mem). */
static void col2im(clg_ctx *c, const cgeom *g, tensor img, int n0, int G, tensor cols, tensor bias, float beta) {
    size_t n = (size_t)G * g->C * g->IH * g->IW;
    size_t ioff = img.off + (size_t)n0 * g->C * g->IH * g->IW;
    ki(n, "image size");
    kl_conv_col2im(c, clg_grid_1d((size_t)G * g->C), img.mem, ki(ioff, "offset"), cols.mem, ki(cols.off, "offset"),
                   bias.mem ? bias.mem : cols.mem, ki(bias.off, "offset"), bias.mem != NULL, G, g->C, g->IH, g->IW,
                   g->OH, g->OW, g->k, g->s, g->p, g->reflect, beta);
}

/* dst {OC, G*L} = column-side samples n0.. of src (NCHW {N, OC, OH, OW}). */
static void to_cgl(clg_ctx *c, const cgeom *g, tensor dst, tensor src, int n0, int G) {
    size_t n = (size_t)G * g->OC * gL(g);
    size_t soff = src.off + (size_t)n0 * g->OC * gL(g);
    kl_conv_nchw_to_cgl(c, clg_grid_1d(ki(n, "tensor size")), dst.mem, ki(dst.off, "offset"), src.mem,
                        ki(soff, "offset"), G, g->OC, gL(g));
}

/* Column-side samples n0.. of dst (NCHW) = beta*dst + src {OC, G*L} (+ bias when bias.mem). */
static void from_cgl(clg_ctx *c, const cgeom *g, tensor dst, int n0, int G, tensor src, tensor bias, float beta) {
    size_t n = (size_t)G * g->OC * gL(g);
    size_t doff = dst.off + (size_t)n0 * g->OC * gL(g);
    kl_conv_cgl_to_nchw(c, clg_grid_1d(ki(n, "tensor size")), dst.mem, ki(doff, "offset"), src.mem,
                        ki(src.off, "offset"), bias.mem ? bias.mem : src.mem, ki(bias.off, "offset"), bias.mem != NULL,
                        G, g->OC, gL(g), beta);
}

/* A group's scratch (tape_scratch): the column matrix {K, G*L} and the channel-major column-side
 * copy {OC, G*L}, reused by every group of the call (the queue is in order). */
static void scratch(tape *t, const cgeom *g, int G, tensor *cols, tensor *tmp) {
    size_t GL = (size_t)G * gL(g);
    *cols = tape_scratch(t, ki((size_t)gK(g) * GL, "column matrix size"));
    *tmp = tape_scratch(t, ki((size_t)g->OC * GL, "tensor size"));
}

/* ---- own kernels (kernels/conv_gemm.cl, conv_rows.cl, conv_winograd.cl) -------------------------
 * Used on CPUs, where they beat CLBlast on the conv shapes; im2col + CLBlast on GPUs; conv_set_impl
 * forces either. Which kernel does a product, first match (docs/PERF.md has the measurements):
 *   forward and data gradient with at most 16 output pixels a sample, zero padding and K a whole
 *     number of vectors (U-Net's inner layers): the weight read unpacked, conv_nt against the transposed
 *     column matrix, or conv_rows with the weight's rows as the image and conv_row2im (few_fit);
 *   3x3, stride 1, 8+ channels on both sides and as many as the device's kp.wino_* ask (on a CPU 64
 *     and 15 columns, 128 for the weight gradient): Winograd F(2x2, 3x3), or F(4x4, 3x3) from
 *     kp.wino4_min_w columns (31), forward and data gradient (the 16 or 36 per-tap products in
 *     conv_rows), weight gradient too when the input channels are a multiple of 16 (wino_fit,
 *     wino_wgrad_fit);
 *   stride 1, 8+ output channels and a work-item's pixels: conv_rows, an outer product over the rows
 *     of the NCHW padded image with the weight as 8-channel panels (rows_fit), forward and data
 *     gradient;
 *   forward, stride s with k*C <= 12 (first layers): conv_rows on the space-to-depth copy (s2d_fit);
 *   forward, stride s with K = C*k*k at least the device's panel_min_k, over 512 output pixels a batch:
 *     one GEMM over the batch on conv_rows, the padded image packed as pixel panels (panel_fit); the
 *     weight gradient likewise where the output channels are at least panel_min_k too (panel_wgrad_fit);
 *   the rest is conv_nt (both operands read along the reduction index):
 *   forward, any stride: a channels-last padded copy of the image; each output pixel's k x k patch is
 *     k runs of k*C contiguous floats, dotted with the weight packed as {OC, k, k, C}: no column matrix;
 *   data gradient, stride 1: the same on the zero-padded, channels-last upstream gradient with the
 *     rotated kernel (and a fold of the padded border back onto the image for reflection padding; the
 *     conv_rows and Winograd data gradients fold the same way);
 *   data gradient, other strides: column matrix = packed weight x channels-last gradient, then col2im;
 *   weight gradient: the upstream gradient's rows (NCHW, in place) against the column matrix, or for
 *     stride 1 against the padded image's shifted rows (implicit, the gradient on the padded width), or
 *     for stride s against each phase's shifted rows (polyphase; over a batch as one reduction,
 *     phase_weight_grad_batch); few pixels with a long K: the transposed column matrix on conv_rows. */
static int conv_impl;

int conv_set_impl(int impl) {
    int old = conv_impl;
    conv_impl = impl;
    return old;
}

/* conv_set_impl's choice, else CLGAN_CONV=clblast|own from the environment, else by device type. */
static int own_gemm(const clg_ctx *c) {
    if (conv_impl) return conv_impl == 2;
    const char *e = getenv("CLGAN_CONV");
    if (e && strcmp(e, "clblast") == 0) return 0;
    if (e && strcmp(e, "own") == 0) return 1;
    return !c->is_gpu;
}

/* This op's transient buffer (tape_scratch: gone when the next op starts). */
static tensor scratch1(tape *t, size_t n, const char *what) { return tape_scratch(t, (size_t)ki(n, what)); }

/* A packed or transformed weight: tape_cache_alloc's when it goes into the tape's cache (a later op, or
 * with cache_keep a later forward, reuses it), else scratch. */
static tensor packed1(tape *t, const net *owner, size_t n, const char *what) {
    if (!t->cache_derived || !owner) return scratch1(t, n, what);
    return tape_cache_alloc(t, (size_t)ki(n, what));
}

/* Operands of conv_nt (see kernels/conv_gemm.cl). */
typedef struct {
    cl_mem mem;
    size_t off;
    int ld, zr, t; /* row m at off + m*ld + zr*(reduction sample) + t*(tap) */
} nt_a;
typedef struct {
    cl_mem mem;
    size_t off, zg, zr;
    int t, D2, D3, S1, S2, S3;
} nt_b;
typedef struct {
    cl_mem mem;
    size_t off, z;
    int ld, D2, D, S1, S2, S3; /* row m at off + m*ld, column n = (i1*D2 + i2)*D + i3 at i1*S1 + i2*S2 + i3*S3;
                                  D = 0: plain (n); D2 = 0: i1 = 0 */
} nt_c;

static void gemm_nt(clg_ctx *c, nt_c C, nt_a A, nt_b B, int M, int N, int Lr, int T, int Zr, int Zg, tensor bias,
                    float beta) {
    int mr = c->kp.conv_nt_mr, nr = c->kp.conv_nt_nr; /* the -D block size conv_nt was built with */
    size_t wg = (size_t)c->kp.conv_wg; /* the kernel returns early past N: any multiple of wg is safe */
    clg_grid grid = clg_grid_3d((size_t)(N + nr - 1) / nr, (size_t)(M + mr - 1) / mr, (size_t)Zg, wg, 1, 1);
    kl_conv_nt(c, grid, C.mem, ki(C.off, "offset"), ki(C.z, "sample stride"), C.ld, C.D2 ? C.D2 : INT_MAX,
               C.D ? C.D : INT_MAX, C.D2 ? C.S1 : 0, C.D ? C.S2 : 0, C.D ? C.S3 : 1, A.mem, ki(A.off, "offset"), A.ld,
               A.zr, A.t, B.mem, ki(B.off, "offset"), ki(B.zg, "sample stride"), ki(B.zr, "sample stride"), B.t, B.D2,
               B.D3, B.S1, B.S2, B.S3, M, N, Lr, T, Zr, beta, bias.mem ? bias.mem : A.mem, ki(bias.off, "offset"),
               bias.mem != NULL);
}

/* The weight {O, I, k, k} as conv_nt's A {M, Kr} (mode, seg and the phase y0, x0, s, ay, ax as
 * conv_pack_w). A parameter's packing is kept on the tape (when it caches) until its network's next
 * update: one iteration packs each layout of each weight once, not once per pass. */
static void cache_key(tcache_key *key, tensor w, const net *owner, const int *args, size_t n) {
    memset(key, 0, sizeof *key); /* compared bytewise, padding included */
    key->mem = w.mem, key->off = w.off, key->owner = owner, key->version = owner ? owner->version : 0;
    memcpy(key->args, args, n * sizeof *args);
}

static const tensor *pack_lookup(tape *t, tcache_key *key, tensor w, const net *owner, const int *args, size_t n) {
    cache_key(key, w, owner, args, n);
    return tape_cache_get(t, key);
}

/* The packing of w under args if cached (returns 1), else (0) n fresh floats for the caller to pack into
 * and then tape_cache_put under *key. */
static int pack_cached(tape *t, tcache_key *key, tensor w, const net *owner, const int *args, size_t nargs, size_t n,
                       tensor *out) {
    const tensor *hit = pack_lookup(t, key, w, owner, args, nargs);
    *out = hit ? *hit : packed1(t, owner, n, "packed weight size");
    return hit != NULL;
}

static tensor pack_w_phase(tape *t, tensor w, const net *owner, int M, int Kr, int mode, int O, int I, int k, int seg,
                           int y0, int x0, int s, int ay, int ax) {
    tcache_key key;
    int args[] = {M, Kr, mode, O, I, k, seg, y0, x0, s, ay, ax};
    const tensor *hit = pack_lookup(t, &key, w, owner, args, sizeof args / sizeof args[0]);
    if (hit) return *hit;
    tensor a = packed1(t, owner, (size_t)M * Kr, "packed weight size");
    kl_conv_pack_w(t->cl, clg_grid_1d(M), a.mem, ki(a.off, "offset"), w.mem, ki(w.off, "offset"), M, Kr, mode, O, I, k,
                   seg, y0, x0, s, ay, ax);
    tape_cache_put(t, &key, a);
    return a;
}

static int round16(int v) { return (v + 15) / 16 * 16; }

/* Phase (cy, cx)'s key as pack_w_phase makes it, and the floats of its packing. */
static size_t phase_key(tcache_key *key, tensor w, const net *owner, int OC, int C, int k, int s, int p, int cy, int cx) {
    int y0 = (cy + p) % s, ay = (k - y0 + s - 1) / s, x0 = (cx + p) % s, ax = (k - x0 + s - 1) / s;
    int seg = round16(ax * OC);
    int args[] = {C, ay * seg, 2, OC, C, k, seg, y0, x0, s, ay, ax};
    cache_key(key, w, owner, args, sizeof args / sizeof args[0]);
    return (size_t)C * ay * seg;
}

/* Every phase of a stride-s data gradient's weight (pack_w_phase's mode 2 for each (cy, cx)) in one
 * launch that reads w once, each phase cached under pack_w_phase's key so that its calls find it. Only
 * where the tape caches (otherwise each phase packs alone, into scratch). */
static void pack_phases(tape *t, tensor w, const net *owner, int OC, int C, int k, int s, int p) {
    if (!t->cache_derived || !owner || k > 4) return; /* the kernel holds k*k <= 16 taps */
    size_t total = 0;
    tcache_key key;
    for (int ph = 0; ph < s * s; ph++) {
        total += phase_key(&key, w, owner, OC, C, k, s, p, ph / s, ph % s);
        if (tape_cache_get(t, &key)) return; /* packed already */
    }
    tensor a = packed1(t, owner, total, "packed weight size");
    /* 16 o and PACK_PHASES_IC rows a work-item, one per work-group (kernels/conv_gemm.cl) */
    clg_grid grid = clg_grid_3d((size_t)(OC + 15) / 16, (size_t)(C + PACK_PHASES_IC - 1) / PACK_PHASES_IC, 1, 1, 1, 1);
    kl_conv_pack_phases(t->cl, grid, a.mem, ki(a.off, "offset"), w.mem, ki(w.off, "offset"), OC, C, k, s, p);
    tensor slice = a;
    slice.c = slice.h = slice.w = 1;
    for (int ph = 0; ph < s * s; ph++) { /* the phases one after another, (cy, cx) in row-major order */
        size_t n = phase_key(&key, w, owner, OC, C, k, s, p, ph / s, ph % s);
        slice.n = ki(n, "packed weight size");
        tape_cache_put(t, &key, slice);
        slice.off += n;
    }
}

static tensor pack_w(tape *t, tensor w, const net *owner, int M, int Kr, int mode, int O, int I, int k, int seg) {
    return pack_w_phase(t, w, owner, M, Kr, mode, O, I, k, seg, 0, 0, 1, k, k);
}

/* Channels-last {n, PH, PW, C} copy of src {n, C, H, W}, padded by pt rows above and pl columns left,
 * then CONV_NT_SLACK zeros (conv_nt's whole-vector reads may run 15 floats past the last pixel). */
static tensor pad_hwc(tape *t, tensor src, int n, int C, int H, int W, int PH, int PW, int pt, int pl, int reflect) {
    tensor P = scratch1(t, (size_t)n * PH * PW * C + CONV_NT_SLACK, "padded image size");
    /* a work-item per 16 channels x 16 image columns of a padded row, and one for its padding columns */
    clg_grid grid = clg_grid_rows((size_t)((W + 15) / 16 + 1) * ((C + 15) / 16), (size_t)n * PH);
    kl_conv_pad_hwc(t->cl, grid, P.mem, ki(P.off, "offset"), src.mem, ki(src.off, "offset"), n, C, H, W, PH, PW, pt, pl,
                    reflect, CONV_NT_SLACK);
    return P;
}

/* NCHW {n, C, PH, PW} copy of src {n, C, H, W}, padded by pt rows above and pl columns left, then
 * `slack` zeros; alpha > 0 (zero padding): of src * ELU'(A) instead, also written into D (conv_pad). */
static void pad_into(clg_ctx *c, tensor P, tensor src, int n, int C, int H, int W, int PH, int PW, int pt, int pl,
                     int reflect, int slack, tensor D, tensor A, float alpha) {
    kl_conv_pad(c, clg_grid_1d((size_t)n * C * PH), P.mem, ki(P.off, "offset"), src.mem, ki(src.off, "offset"),
                n * C, H, W, PH, PW, pt, pl, reflect, slack, D.mem ? D.mem : P.mem, ki(D.off, "offset"),
                A.mem ? A.mem : P.mem, ki(A.off, "offset"), alpha);
}
static tensor pad_image_elu(tape *t, tensor src, int n, int C, int H, int W, int PH, int PW, int pt, int pl,
                            int reflect, int slack, tensor D, tensor A, float alpha) {
    tensor P = scratch1(t, (size_t)n * C * PH * PW + slack, "padded image size");
    pad_into(t->cl, P, src, n, C, H, W, PH, PW, pt, pl, reflect, slack, D, A, alpha);
    return P;
}
static tensor pad_image(tape *t, tensor src, int n, int C, int H, int W, int PH, int PW, int pt, int pl, int reflect,
                        int slack) {
    return pad_image_elu(t, src, n, C, H, W, PH, PW, pt, pl, reflect, slack, (tensor){0}, (tensor){0}, 0.0f);
}

/* The grid weight gradient's padded image: its reduction runs up to 15 floats past a plane's last row
 * and then a tap offset of up to k */
static int grid_wgrad_slack(int k) { return 16 + k; }

/* The image padded by p on every side, {N, C, IH+2p, IW+2p} with at least `slack` zeros after it: the
 * forward's copy where the node kept one (g->img_pad), else a new one, in the step arena for the node
 * where g->keep_img (with the slack of either reader). */
static tensor padded_img(tape *t, const cgeom *g, tensor img, int slack) {
    if (g->img_pad && g->img_pad->mem) return *g->img_pad;
    int PH = g->IH + 2 * g->p, PW = g->IW + 2 * g->p;
    if (!g->keep_img) return pad_image(t, img, g->N, g->C, g->IH, g->IW, PH, PW, g->p, g->p, g->reflect, slack);
    if (slack < grid_wgrad_slack(g->k)) slack = grid_wgrad_slack(g->k);
    tensor P = tape_saved(t, (size_t)g->N * g->C * PH * PW + slack);
    pad_into(t->cl, P, img, g->N, g->C, g->IH, g->IW, PH, PW, g->p, g->p, g->reflect, slack, (tensor){0}, (tensor){0},
             0.0f);
    *g->img_pad = P;
    return P;
}

/* A side of the s*s phases of an image side n padded by p: ceil((n + 2p) / s). */
static int phase_side(int n, int p, int s) { return (n + 2 * p + s - 1) / s; }

/* kernels/conv_gemm.cl conv_pad_phase: the s*s phases {PHp, PWp} of src {N, C, H, W} padded by p (zeros,
 * or reflection), as its planes (G = 1) or channel-major over the batch (G = N), then `slack` zeros. */
static tensor pad_phases(tape *t, tensor src, int N, int C, int H, int W, int p, int s, int PHp, int PWp, int reflect,
                         int G, int slack) {
    tensor P = scratch1(t, (size_t)s * s * N * C * PHp * PWp + (size_t)slack, "padded image size");
    kl_conv_pad_phase(t->cl, clg_grid_1d((size_t)s * s * N * C), P.mem, ki(P.off, "offset"), src.mem,
                      ki(src.off, "offset"), N * C, G, H, W, p, s, PHp, PWp, reflect, slack);
    return P;
}

/* kernels/conv_rows.cl: stride-1 convolutions with at least CONV_ROWS_MR output channels and a work-item's
 * rows_nb pixels in the grid of the padded width (fewer would leave most of a panel's rows or a
 * work-item's lanes empty: conv_nt does those). */
/* The -D options conv_rows.cl was built with (c->kp): CONV_ROWS_MR output channels per panel;
 * rows_nb = CONV_ROWS_VW * CONV_ROWS_NV pixels per work-item of conv_rows, rows_vw per conv_rows1. */
static int rows_mr(const clg_ctx *c) { return c->kp.conv_rows_mr; }
static int rows_vw(const clg_ctx *c) { return c->kp.conv_rows_vw; }
static int rows_nb(const clg_ctx *c) { return c->kp.conv_rows_vw * c->kp.conv_rows_nv; }
static int rows_panels(const clg_ctx *c, int M) { return (M + rows_mr(c) - 1) / rows_mr(c); }

static int rows_fit(const clg_ctx *c, int s, int M, int OH, int PW) {
    return s == 1 && M >= rows_mr(c) && (size_t)OH * PW >= (size_t)rows_nb(c);
}

/* The weight {O, I, k, k} as conv_rows' panels (cached as pack_w_phase's): the M = O output channels
 * of a convolution, or rotated, the M = I channels of its stride-1 data gradient. */
static tensor pack_panels(tape *t, tensor w, const net *owner, int rotated, int O, int I, int k) {
    int M = rotated ? I : O, K = (rotated ? O : I) * k * k, panels = rows_panels(t->cl, M);
    tcache_key key;
    int args[] = {-1, rotated, O, I, k, rows_mr(t->cl)}; /* -1: not a conv_pack_w layout */
    const tensor *hit = pack_lookup(t, &key, w, owner, args, sizeof args / sizeof args[0]);
    if (hit) return *hit;
    tensor a = packed1(t, owner, (size_t)panels * rows_mr(t->cl) * K, "packed weight size");
    /* rotated: a work-item per o over every panel, one per work-group (PoCL would vectorize a group's
     * work-items into gathers and scatters 72 floats apart: 0.68 against 0.24 ms for CycleGAN's 256x256
     * 3x3, ./bench --profile); else a work-item per 16 r and panel */
    clg_grid grid =
        rotated ? clg_grid_3d((size_t)O, 1, 1, 1, 1, 1) : clg_grid_rows((size_t)(K + 15) / 16, (size_t)panels);
    kl_conv_pack_panels(t->cl, grid, a.mem, ki(a.off, "offset"), w.mem, ki(w.off, "offset"), K, rotated, O, I, k * k,
                        K, K, 0);
    tape_cache_put(t, &key, a);
    return a;
}

/* The upstream gradient src {N, OC, OH, OW} as conv_rows' panels of its OC channels over the batch's pixels,
 * A[ob][n][j] = dy[ob*mr + j][n] for n = (sample, pixel) < N*L: read where it is (a sample's L floats of
 * a channel at a time), not through a channel-major copy. */
static tensor upstream_panels(tape *t, const cgeom *g, tensor src) {
    int L = gL(g), NL = ki((size_t)g->N * L, "pixel count"), panels = rows_panels(t->cl, g->OC);
    tensor a = scratch1(t, (size_t)panels * rows_mr(t->cl) * NL, "packed gradient size");
    kl_conv_pack_panels(t->cl, clg_grid_rows((size_t)(NL + 15) / 16, (size_t)panels), a.mem, ki(a.off, "offset"),
                        src.mem, ki(src.off, "offset"), NL, 0, g->OC, NL, 1, L, L,
                        ki((size_t)g->OC * L, "tensor size"));
    return a;
}

/* The multiply-adds (x2) a launch of conv_rows1 costs on a CPU: some 30 us at 200 GFLOP/s. The Winograd
 * products of a 16x16 image at batch 1 (64 tiles: conv_rows over 96 columns, or 48 and conv_rows1 over 16)
 * took 1.41 ms rounded up and 0.7-0.9 ms split (256 channels, 2-vCPU AMD EPYC, AVX-512, 2026-12-07). */
#define ROWS_LAUNCH_FLOPS 6e6

/* out {N, M, OH, OW} (sample g at out + g*oZ, oZ 0: M*OH*OW) = beta*out + (bias) + the stride-1
 * convolution (k x kw taps) of P, sample g's channel c at P + g*pZ + c*pC, rows of PW floats (padded, at
 * least OH+k-1 of them; the last sample's last channel then at least rows_nb + kw floats of slack, or with
 * `exact`, k = kw = 1 and OH*PW a multiple of rows_vw, none: no vector is read past a channel's OH*PW
 * floats) with the panels A (sample g's at A + g*aZ). elu > 0: out = ELU(that) instead (beta 0). */
static void rows_conv_strided(clg_ctx *c, tensor out, int oZ, tensor A, int aZ, tensor P, int pZ, int pC, int N, int C,
                              int PW, int k, int kw, int M, int OH, int OW, tensor bias, float beta, int exact,
                              float elu) {
    int NG = ki((size_t)OH * PW, "image size"), nb = rows_nb(c), vw = rows_vw(c);
    int whole = NG / nb * nb, up = (NG + nb - 1) / nb * nb;
    /* conv_rows over the whole blocks of nb pixels, conv_rows1 (vw per work-item) the rest; or conv_rows
     * alone over blocks rounded up (the kernel stores no pixel past NG) where the vectors computed for
     * nothing cost less than a second launch (PoCL: some 30 us, ROWS_LAUNCH_FLOPS), or at most a 16th
     * more (the adversarial VAE's 28x28: 864 for 840, one launch of 1900 a step less per convolution) */
    double waste = 2.0 * (up - NG) * rows_panels(c, M) * rows_mr(c) * C * k * kw * N;
    if (!exact && whole < NG && (waste <= ROWS_LAUNCH_FLOPS || (up - NG) * 16 <= NG)) whole = up;
    for (int part = 0; part < 2; part++) {
        int nbase = part ? whole : 0;
        size_t blocks = part ? (size_t)(NG - whole + vw - 1) / vw : (size_t)whole / nb;
        if (!blocks || nbase >= NG) continue;
        /* the kernels return early past this part's last pixel: any multiple of conv_wg is safe */
        clg_grid grid = clg_grid_3d(blocks, (size_t)rows_panels(c, M), (size_t)N, (size_t)c->kp.conv_wg, 1, 1);
        (part ? kl_conv_rows1 : kl_conv_rows)(c, grid, out.mem, ki(out.off, "offset"),
                                              oZ ? oZ : ki((size_t)M * OH * OW, "tensor size"), OW,
                                              ki((size_t)OH * OW, "image size"), OW, A.mem, ki(A.off, "offset"), aZ,
                                              ki((size_t)C * k * kw * rows_mr(c), "panel size"), P.mem,
                                              ki(P.off, "offset"), pZ, pC, nb, PW, C, k, kw, M, NG, nbase,
                                              part || whole > NG ? NG : whole, beta, bias.mem ? bias.mem : A.mem,
                                              ki(bias.off, "offset"), bias.mem != NULL, 0, elu);
    }
}

/* rows_conv_strided on P {N, C, OH+k-1, PW} (NCHW). */
static void rows_conv(clg_ctx *c, tensor out, tensor A, int aZ, tensor P, int N, int C, int PW, int k, int M, int OH,
                      int OW, tensor bias, float beta, float elu) {
    size_t plane = (size_t)(OH + k - 1) * PW;
    rows_conv_strided(c, out, 0, A, aZ, P, ki((size_t)C * plane, "padded image size"), ki(plane, "padded image size"),
                      N, C, PW, k, k, M, OH, OW, bias, beta, 0, elu);
}

/* Winograd F(2x2, 3x3) (kernels/conv_winograd.cl): stride-1 3x3 convolutions with at least
 * CONV_ROWS_MR channels on both sides, 16 multiplies per 2x2 outputs instead of 36; used where the
 * device's parameters say it pays (kp.wino_*, host/tuning_kp.c: wide enough, enough channels). */
static int wino_shape(const clg_ctx *c, const cgeom *g) {
    return g->s == 1 && g->k == 3 && g->C >= rows_mr(c) && g->OC >= rows_mr(c);
}
static int wino_fit(const clg_ctx *c, const cgeom *g) {
    const clg_kparams *kp = &c->kp;
    return wino_shape(c, g) && g->C >= kp->wino_min_c && g->OC >= kp->wino_min_c && g->OW >= kp->wino_min_w;
}

/* The padded side that n outputs' tiles read, F(2x2, 3x3)'s 4x4 or F(4x4, 3x3)'s 6x6 (e = 2 or 4 outputs
 * a tile side): e*ceil(n/e) + 2. */
static int wino_padded(int n, int e) { return (n + e - 1) / e * e + 2; }

/* The products per tile, one plane each: the (e+2) x (e+2) tile's elements, 16 or 36. */
static int wino_planes(int e) { return (e + 2) * (e + 2); }

/* F(4x4, 3x3) (kernels/conv_winograd4.cl, 36 products per 4x4 outputs for F(2x2, 3x3)'s 64) where the
 * output is at least kp.wino4_min_w wide: fewer tiles leave conv_rows' last pixel block of the products
 * mostly empty. The forward, data gradient (wino_conv) and weight gradient (wino_weight_grad). */
static int wino4_fit(const clg_ctx *c, int OW) { return OW >= c->kp.wino4_min_w; }

/* Winograd's planes (the 16 or 36 of U, V and Y) lie WINO_PLANE_PAD floats further apart than their
 * size: at a power-of-two stride (256 channels, 64 tiles) a transform's 36 streams map to the same cache
 * sets and evict each other (F(4x4, 3x3)'s weight transform of 256 x 256 channels took 0.9 ms with its 36
 * planes 65536 floats apart, 0.16 ms writing 16 of them, 0.19 ms padded; F(2x2, 3x3)'s transforms of
 * the main job's 16x16 residual blocks, forward, data and weight gradient, 0.75-0.95 -> 0.51-0.55 ms).
 * A cache line keeps conv_rows' vectors aligned. */
#define WINO_PLANE_PAD 16

/* The tiles V[xi] {C, NTp} (B^T d B of every tile of P {N, C, PH, PW}, e outputs a tile side: 16 planes
 * of 4x4 tiles for e = 2, 36 of 6x6 for e = 4, vplane >= C*NTp floats apart; columns NT..NTp-1 zero),
 * then `slack` floats. One work-item per tile row: the kernels are written in explicit vectors. */
static tensor wino_tiles(tape *t, tensor P, int N, int C, int PH, int PW, int TH, int TW, int NTp, int e, int vplane,
                         int slack) {
    size_t n = (size_t)wino_planes(e) * vplane;
    tensor V = scratch1(t, n + (size_t)slack, "winograd tiles size");
    clg_grid grid = clg_grid_1d_local((size_t)N * C * TH, 1);
    if (e == 4)
        kl_wino4_in(t->cl, grid, V.mem, ki(V.off, "offset"), P.mem, ki(P.off, "offset"), N, C, PH, PW, TH, TW, NTp,
                    vplane);
    else kl_wino_in(t->cl, grid, V.mem, ki(V.off, "offset"), P.mem, ki(P.off, "offset"), N, C, PH, PW, TH, TW, NTp,
                    vplane);
    return V;
}

/* out {N, M, OH, OW} = beta*out + (bias) + the stride-1 3x3 convolution of src {N, C, H, W} padded by p
 * (zeros, or reflection) with w {M, C, 3, 3}, or rotated (a data gradient) w {C, M, 3, 3}; F(4x4, 3x3)
 * where wino4_fit, else F(2x2, 3x3). The transformed weight is kept on the tape like a packed one. */
static void wino_conv(tape *t, tensor out, tensor w, const net *owner, int rotated, tensor src, int N, int C, int H,
                      int W, int p, int reflect, int M, int OH, int OW, tensor bias, float beta) {
    int e = wino4_fit(t->cl, OW) ? 4 : 2, planes = wino_planes(e), pad = WINO_PLANE_PAD;
    int PH = wino_padded(OH, e), PW = wino_padded(OW, e);
    tensor P = pad_image(t, src, N, C, H, W, PH, PW, p, p, reflect, 0);
    int TH = (OH + e - 1) / e, TW = (OW + e - 1) / e, Mp = rows_panels(t->cl, M) * rows_mr(t->cl);
    int NT = ki((size_t)N * TH * TW, "winograd tile count");
    int NTp = round16(NT); /* aligned rows for conv_rows' vectors */
    int uplane = ki((size_t)Mp * C + pad, "winograd weight size");
    int vplane = ki((size_t)C * NTp + pad, "winograd tiles size");
    int yplane = ki((size_t)M * NTp + pad, "winograd products size");
    tcache_key key;
    int args[] = {e == 4 ? -7 : -2, rotated, M, C}; /* -2, -7: the Winograd transforms */
    tensor U;
    if (!pack_cached(t, &key, w, owner, args, sizeof args / sizeof args[0], (size_t)planes * uplane, &U)) {
        clg_grid grid = clg_grid_rows((size_t)C, (size_t)rows_panels(t->cl, M));
        if (e == 4)
            kl_wino4_filter(t->cl, grid, U.mem, ki(U.off, "offset"), w.mem, ki(w.off, "offset"), M, Mp, C, rotated,
                            uplane);
        else kl_wino_filter(t->cl, grid, U.mem, ki(U.off, "offset"), w.mem, ki(w.off, "offset"), M, Mp, C, rotated,
                            uplane);
        tape_cache_put(t, &key, U);
    }
    tensor V = wino_tiles(t, P, N, C, PH, PW, TH, TW, NTp, e, vplane, rows_nb(t->cl) + 1);
    tensor Y = scratch1(t, (size_t)planes * yplane, "winograd products size");
    rows_conv_strided(t->cl, Y, yplane, U, uplane, V, vplane, NTp, planes, C, NTp, 1, 1, M, 1, NTp, (tensor){0}, 0.0f,
                      0, 0.0f);
    clg_grid grid = clg_grid_1d_local((size_t)N * M * TH, 1);
    cl_mem bm = bias.mem ? bias.mem : Y.mem;
    int boff = ki(bias.off, "offset"), ooff = ki(out.off, "offset"), yoff = ki(Y.off, "offset");
    if (e == 4)
        kl_wino4_out(t->cl, grid, out.mem, ooff, Y.mem, yoff, N, M, OH, OW, TH, TW, NTp, yplane, beta, bm, boff,
                     bias.mem != NULL);
    else kl_wino_out(t->cl, grid, out.mem, ooff, Y.mem, yoff, N, M, OH, OW, TH, TW, NTp, yplane, beta, bm, boff,
                     bias.mem != NULL);
}

/* A strided convolution with few input channels (k*C <= 12: conv_nt's 16-float reduction vectors would be
 * a quarter empty or worse; DCGAN's and PatchGAN's first layers, C = 1 or 3: ./bench dcgan.D1.fwd 50 ->
 * 7 ms, patch128.C64.fwd 0.8 -> 0.2 ms, docs/PERF.md) as a stride-1 one on conv_rows: the
 * padded image's s*s phases as s*s*C channels (space to depth; conv_pad_phase, channel-major over the
 * batch so that one channel stride serves), the kernel's taps regrouped by phase into a kq x kq kernel,
 * kq = ceil(k/s) (conv_pack_s2d). Output (oy, ox) reads phase pixel (oy + a, ox + b). */
static int s2d_fit(const clg_ctx *c, const cgeom *g) {
    int PWp = phase_side(g->IW, g->p, g->s); /* >= OW + ceil(k/s) - 1, likewise PHp: the grid holds every tap */
    return g->s > 1 && g->k * g->C <= 12 && g->OC >= rows_mr(c) && (size_t)g->OH * PWp >= (size_t)rows_nb(c);
}

static void s2d_conv(tape *t, const cgeom *g, tensor img, tensor w, tensor out, tensor bias, float beta) {
    int s = g->s, k = g->k, kq = (k + s - 1) / s, N = g->N, C = g->C, C2 = s * s * C, mr = rows_mr(t->cl);
    int PHp = phase_side(g->IH, g->p, s), PWp = phase_side(g->IW, g->p, s);
    size_t A = (size_t)PHp * PWp;
    int slack = rows_nb(t->cl) + (kq + 1) * PWp + kq;
    tensor P = pad_phases(t, img, N, C, g->IH, g->IW, g->p, s, PHp, PWp, g->reflect, N, slack);
    int Kr = C2 * kq * kq, panels = rows_panels(t->cl, g->OC);
    tcache_key key;
    int args[] = {-4, s, g->OC, C, k, mr}; /* -4: the space-to-depth panels */
    tensor Ap;
    if (!pack_cached(t, &key, w, g->wowner, args, sizeof args / sizeof args[0], (size_t)panels * mr * Kr, &Ap)) {
        kl_conv_pack_s2d(t->cl, clg_grid_rows((size_t)Kr, (size_t)panels), Ap.mem, ki(Ap.off, "offset"), w.mem,
                         ki(w.off, "offset"), Kr, g->OC, C, k, s, kq);
        tape_cache_put(t, &key, Ap);
    }
    rows_conv_strided(t->cl, out, 0, Ap, 0, P, ki(A, "padded image size"), ki((size_t)N * A, "padded image size"), N,
                      C2, PWp, kq, kq, g->OC, g->OH, g->OW, bias, beta, 0, 0.0f);
}

/* Strided convolutions and their data gradients on conv_oc (kernels/conv_oc.cl): vectors of output
 * channels, image pixels broadcast, so the stride costs nothing. */
static int oc_fit(const clg_ctx *c, const cgeom *g) {
    return g->s > 1 && gK(g) <= c->kp.oc_max_k && 2 * g->OC >= rows_vw(c);
}

/* conv_oc's weight blocks (conv_pack_oc), cached as the other packs */
static tensor pack_oc(tape *t, tensor w, const net *owner, int M, int C, int k, int adj, int s, int y0, int x0, int ah,
                      int aw) {
    int vw = rows_vw(t->cl), K = C * ah * aw, nblk = (M + vw - 1) / vw;
    tcache_key key;
    int args[] = {-5, M, C, k, adj, s, y0, x0, ah, aw, vw}; /* -5: conv_oc's channel blocks */
    tensor Wq;
    if (!pack_cached(t, &key, w, owner, args, sizeof args / sizeof args[0], (size_t)nblk * K * vw, &Wq)) {
        kl_conv_pack_oc(t->cl, clg_grid_rows((size_t)K, (size_t)nblk), Wq.mem, ki(Wq.off, "offset"), w.mem,
                        ki(w.off, "offset"), M, C, k, adj, s, y0, x0, ah, aw);
        tape_cache_put(t, &key, Wq);
    }
    return Wq;
}

/* conv_oc over N samples: Y at out.off + yoff (strides yZ, yM, yR, yS) from P at pof (strides pZ, pC, pR,
 * pixel stride ps, tap rows tr floats apart) */
static void oc_launch(clg_ctx *c, tensor out, size_t yoff, int yZ, int yM, int yR, int yS, tensor Wq, tensor P,
                      size_t pof, int pZ, int pC, int pR, int ps, int tr, int N, int C, int kh, int kw, int M, int OH,
                      int OW, tensor bias, float beta) {
    int nblk = (M + rows_vw(c) - 1) / rows_vw(c);
    clg_grid grid = clg_grid_3d((size_t)(OW + OC_PX - 1) / OC_PX, (size_t)OH, (size_t)N * nblk, 1, 1, 1);
    kl_conv_oc(c, grid, out.mem, ki(out.off + yoff, "offset"), yZ, yM, yR, yS, Wq.mem, ki(Wq.off, "offset"), P.mem,
               ki(pof, "offset"), pZ, pC, pR, ps, tr, C, kh, kw, M, OH, OW, nblk, beta, bias.mem ? bias.mem : Wq.mem,
               ki(bias.off, "offset"), bias.mem != NULL);
}

static void oc_conv(tape *t, const cgeom *g, tensor img, tensor w, tensor out, tensor bias, float beta) {
    int PH = g->IH + 2 * g->p, PW = g->IW + 2 * g->p, L = gL(g);
    tensor P = padded_img(t, g, img, OC_PX * g->s + g->k);
    tensor Wq = pack_oc(t, w, g->wowner, g->OC, g->C, g->k, 0, 1, 0, 0, g->k, g->k);
    oc_launch(t->cl, out, 0, ki((size_t)g->OC * L, "tensor size"), L, g->OW, 1, Wq, P, P.off,
              ki((size_t)g->C * PH * PW, "padded image size"), PH * PW, g->s * PW, g->s, PW, g->N, g->C, g->k, g->k,
              g->OC, g->OH, g->OW, bias, beta);
}

/* The stride-s data gradient's phases: image pixels (s*ry + cy, s*rx + cx) receive the taps
 * ki = y0 + s*a (y0 = (cy + p) % s, a < ay) from src row ry + ey - a (ey = (cy + p - y0) / s), and
 * likewise in x. *qt x *ql: the zero rows above and columns left of src that every phase's first taps
 * need; *QH x *QW: the padded planes that hold every phase's last. */
static void adj_phase(int s, int p, int k, int c, int *y0, int *ay, int *ey) {
    *y0 = (c + p) % s, *ay = (k - *y0 + s - 1) / s, *ey = (c + p - *y0) / s;
}
static void adj_phase_pad(const cgeom *g, int *qt, int *ql, int *QH, int *QW) {
    int s = g->s, y0, ay, ey;
    *qt = *ql = 0;
    for (int c = 0; c < s; c++) {
        adj_phase(s, g->p, g->k, c, &y0, &ay, &ey);
        if (ay - 1 - ey > *qt) *qt = ay - 1 - ey;
    }
    *ql = *qt; /* x as y: square kernels, equal padding */
    *QH = *qt + g->OH, *QW = *ql + g->OW;
    for (int c = 0; c < s; c++) { /* rows/columns the phases read below/right of src */
        adj_phase(s, g->p, g->k, c, &y0, &ay, &ey);
        int rh = (g->IH - c + s - 1) / s, rw = (g->IW - c + s - 1) / s;
        if (*qt + ey + rh > *QH) *QH = *qt + ey + rh;
        if (*ql + ey + rw > *QW) *QW = *ql + ey + rw;
    }
}

/* Q {N, OC, QH, QW} (then `slack` zeros) = src zero-padded by qt rows above and ql columns left, or with
 * g->elu_bwd (dx_pads_dy) dY = src * ELU'(g->elu_a), also written into g->elu_dy */
static tensor pad_upstream(tape *t, const cgeom *g, tensor src, int QH, int QW, int qt, int ql, int slack) {
    if (g->elu_bwd > 0.0f) *g->elu_done = 1;
    return pad_image_elu(t, src, g->N, g->OC, g->OH, g->OW, QH, QW, qt, ql, 0, slack, g->elu_dy, g->elu_a,
                         g->elu_bwd);
}

static int oc_adj_fit(const clg_ctx *c, const cgeom *g) {
    return g->s > 1 && !g->reflect && g->k >= g->s && g->OC * g->k * g->k <= c->kp.oc_max_k && 2 * g->C >= rows_vw(c);
}

/* img = beta*img + (bias) + the adjoint of the conv (src), phase by phase on conv_oc: a stride-1
 * correlation of the padded src with the phase's taps reversed, written every s-th pixel */
static void oc_adjoint(tape *t, const cgeom *g, tensor src, tensor w, tensor img, tensor bias, float beta) {
    int s = g->s, k = g->k, qt, ql, QH, QW;
    adj_phase_pad(g, &qt, &ql, &QH, &QW);
    tensor Q = pad_upstream(t, g, src, QH, QW, qt, ql, OC_PX + k);
    for (int cy = 0; cy < s && cy < g->IH; cy++)
        for (int cx = 0; cx < s && cx < g->IW; cx++) {
            int y0, ay, ey, x0, ax, ex;
            adj_phase(s, g->p, k, cy, &y0, &ay, &ey);
            adj_phase(s, g->p, k, cx, &x0, &ax, &ex);
            int rh = (g->IH - cy + s - 1) / s, rw = (g->IW - cx + s - 1) / s;
            tensor Wq = pack_oc(t, w, g->wowner, g->C, g->OC, k, 1, s, y0, x0, ay, ax);
            size_t pof = Q.off + (size_t)(qt + ey - ay + 1) * QW + (size_t)(ql + ex - ax + 1);
            oc_launch(t->cl, img, (size_t)cy * g->IW + cx, ki((size_t)g->C * g->IH * g->IW, "tensor size"),
                      g->IH * g->IW, s * g->IW, s, Wq, Q, pof, ki((size_t)g->OC * QH * QW, "padded image size"),
                      QH * QW, QW, 1, QW, g->N, g->OC, ay, ax, g->C, rh, rw, bias, beta);
        }
}

/* A stride-s data gradient (the transposed convolution's forward too) as the adjoint of s2d_conv, on
 * conv_rows: the gradient of the phase image, dPp[c', Y, X] = sum over o and the kq x kq taps (a, b) of
 * W'[o, c', a, b] dy[o, Y - a, X - b] (W' the s2d kernel), is a stride-1 convolution of dy zero-padded by
 * kq - 1 with W' rotated (conv_pack_s2d_adj); conv_unphase scatters the phases back onto the image. Only
 * the phase rows and columns that receive a contribution and map onto the image are computed (RH x RW).
 * conv_nt read the phases' products as strided rows of a channels-last copy at a third of the FMA peak
 * where their pixels are few (PatchGAN's 16x16 layers at batch 1; docs/PERF.md). Zero padding only; with
 * kp.s2d_dx 1 or 3 where k is a multiple of s (every tap of W' is one of W's), 2 for any k. */
static void s2d_adj_geom(const cgeom *g, int *kq, int *RH, int *RW) {
    *kq = (g->k + g->s - 1) / g->s;
    int mh = (g->IH + g->p - 1) / g->s + 1, mw = (g->IW + g->p - 1) / g->s + 1; /* phase rows an image row reads */
    *RH = g->OH + *kq - 1 < mh ? g->OH + *kq - 1 : mh;
    *RW = g->OW + *kq - 1 < mw ? g->OW + *kq - 1 : mw;
}
static int s2d_adj_fit(const clg_ctx *c, const cgeom *g) {
    int kq, RH, RW;
    if (g->s < 2 || g->reflect || !c->kp.s2d_dx) return 0;
    s2d_adj_geom(g, &kq, &RH, &RW);
    if (c->kp.s2d_dx != 2 && kq * g->s != g->k) return 0;
    return rows_fit(c, 1, g->s * g->s * g->C, RH, RW + kq - 1);
}

/* img = beta*img + (bias) + the phase image D {N, s*s*C, RH, RW} scattered back onto it (conv_unphase). */
static void unphase(clg_ctx *c, const cgeom *g, tensor D, int RH, int RW, tensor img, tensor bias, float beta) {
    kl_conv_unphase(c, clg_grid_1d_local((size_t)g->N * g->C, 1), img.mem, ki(img.off, "offset"), D.mem,
                    ki(D.off, "offset"), g->C, g->N * g->C, g->IH, g->IW, g->p, g->s, RH, RW,
                    bias.mem ? bias.mem : D.mem, ki(bias.off, "offset"), bias.mem != NULL, beta);
}

static void s2d_adjoint(tape *t, const cgeom *g, tensor src, tensor w, tensor img, tensor bias, float beta) {
    int s = g->s, k = g->k, kq, RH, RW, C2 = s * s * g->C, mr = rows_mr(t->cl);
    s2d_adj_geom(g, &kq, &RH, &RW);
    int QH = RH + kq - 1, QW = RW + kq - 1, Kr = g->OC * kq * kq, panels = rows_panels(t->cl, C2);
    tcache_key key;
    int args[] = {-6, s, g->OC, g->C, k, mr}; /* -6: the space-to-depth adjoint's panels */
    tensor Ap;
    if (!pack_cached(t, &key, w, g->wowner, args, sizeof args / sizeof args[0], (size_t)panels * mr * Kr, &Ap)) {
        kl_conv_pack_s2d_adj(t->cl, clg_grid_1d_local((size_t)g->OC, 1), Ap.mem, ki(Ap.off, "offset"), w.mem,
                             ki(w.off, "offset"), Kr, g->OC, g->C, k, s, kq);
        tape_cache_put(t, &key, Ap);
    }
    tensor Q = pad_image(t, src, g->N, g->OC, g->OH, g->OW, QH, QW, kq - 1, kq - 1, 0, rows_nb(t->cl) + kq);
    tensor D = scratch1(t, (size_t)g->N * C2 * RH * RW, "phase image size");
    rows_conv(t->cl, D, Ap, 0, Q, g->N, g->OC, QW, kq, C2, RH, RW, (tensor){0}, 0.0f, 0.0f);
    unphase(t->cl, g, D, RH, RW, img, bias, beta);
}

/* The same data gradient phase by phase, each with its own taps only: where k is not a multiple of s the
 * space-to-depth kernel's kq x kq taps are partly zeros (3x3 stride 2: 16 taps computed for 9), while
 * phase (fy, fx) has ay x ax = ceil((k - fy)/s) x ceil((k - fx)/s) of them (2x2, 2x1, 1x2, 1x1). One
 * conv_rows launch per phase (rectangular taps) into the phase image's block of C channels, reading the
 * same zero-padded upstream gradient from row kq - ay, column kq - ax; conv_unphase as above. With
 * kp.s2d_dx 3 (k a multiple of s takes s2d_adjoint). */
static int phase_rows_fit(const clg_ctx *c, const cgeom *g) {
    int kq, RH, RW;
    if (g->s < 2 || g->reflect || g->k % g->s == 0 || g->k < g->s || c->kp.s2d_dx != 3) return 0;
    s2d_adj_geom(g, &kq, &RH, &RW);
    return rows_fit(c, 1, g->C, RH, RW + kq - 1);
}

static void phase_rows_adjoint(tape *t, const cgeom *g, tensor src, tensor w, tensor img, tensor bias, float beta) {
    int s = g->s, k = g->k, kq, RH, RW, mr = rows_mr(t->cl);
    s2d_adj_geom(g, &kq, &RH, &RW);
    int QH = RH + kq - 1, QW = RW + kq - 1;
    size_t plane = (size_t)g->C * RH * RW;
    tensor Q = pad_image(t, src, g->N, g->OC, g->OH, g->OW, QH, QW, kq - 1, kq - 1, 0, rows_nb(t->cl) + kq);
    tensor D = scratch1(t, (size_t)g->N * s * s * plane, "phase image size");
    for (int fy = 0; fy < s; fy++)
        for (int fx = 0; fx < s; fx++) {
            int ay = (k - fy + s - 1) / s, ax = (k - fx + s - 1) / s;
            tcache_key key;
            int args[] = {-7, s, g->OC, g->C, k, mr, fy, fx}; /* -7: one phase's panels */
            tensor Ap;
            if (!pack_cached(t, &key, w, g->wowner, args, sizeof args / sizeof args[0],
                             (size_t)rows_panels(t->cl, g->C) * mr * g->OC * ay * ax, &Ap)) {
                kl_conv_pack_phase_panels(t->cl, clg_grid_1d_local((size_t)g->OC, 1), Ap.mem, ki(Ap.off, "offset"),
                                          w.mem, ki(w.off, "offset"), g->OC, g->C, k, s, fy, fx, ay, ax);
                tape_cache_put(t, &key, Ap);
            }
            tensor out = D, P = Q;
            out.off += (size_t)(fy * s + fx) * plane;
            P.off += (size_t)(kq - ay) * QW + (size_t)(kq - ax);
            rows_conv_strided(t->cl, out, ki((size_t)s * s * plane, "phase image size"), Ap, 0, P,
                              ki((size_t)g->OC * QH * QW, "padded image size"), ki((size_t)QH * QW, "padded image size"),
                              g->N, g->OC, QW, ay, ax, g->C, RH, RW, (tensor){0}, 0.0f, 0, 0.0f);
        }
    unphase(t->cl, g, D, RH, RW, img, bias, beta);
}

/* The column-side tensor src {N, OC, OH, OW} as {OC, N*L}: a single sample is that already, else a
 * channel-major copy in scratch. */
static tensor upstream_cgl(tape *t, const cgeom *g, tensor src) {
    if (g->N == 1) return src;
    tensor dy = scratch1(t, (size_t)g->OC * g->N * gL(g), "tensor size");
    to_cgl(t->cl, g, dy, src, 0, g->N);
    return dy;
}

/* The column matrix transposed, R {N*L, K} (conv_im2row), then `slack` zeros. */
static tensor im2row(tape *t, const cgeom *g, tensor img, int slack) {
    tensor R = scratch1(t, (size_t)g->N * gL(g) * gK(g) + (size_t)slack, "column matrix size");
    /* one work-item per IM2ROW_CB channels of a row */
    clg_grid grid = clg_grid_rows((size_t)(g->C + IM2ROW_CB - 1) / IM2ROW_CB, (size_t)g->N * gL(g) + 1);
    kl_conv_im2row(t->cl, grid, R.mem, ki(R.off, "offset"), img.mem, ki(img.off, "offset"), g->N, g->C, g->IH, g->IW,
                   g->OH, g->OW, g->k, g->s, g->p, g->reflect, slack);
    return R;
}

/* Few output pixels a sample (L <= FEW_PIX), zero padding, and whole vectors of weights per output channel
 * (K a multiple of both kernels' vector widths): the weight read where it is, not packed.
 * U-Net's inner 512-channel layers run at 4x4, 2x2 and 1x1 pixels; each step packed their 4.2 million
 * weights (16 MB) for its forward and again for its data gradient, a few multiply-adds per weight.
 *   forward: out {OC, N*L} = W {OC, K} R' (R = im2row {N*L, K}), conv_nt along K;
 *   adjoint (data gradient, transposed convolution): R {N*L, K} = dY' W on conv_rows (the N*L rows of
 *     dY' as the panels, W's OC rows of K floats as a one-row image of OC channels), folded onto the
 *     image by conv_row2im. */
#define FEW_PIX 16
#define FEW_PIX_BATCH 256
static int few_fit(const clg_ctx *c, const cgeom *g) {
    int K = gK(g);
    /* chosen by the pixels of one sample, so that a sample's outputs are the same bits at any batch size
     * (test_mpi.sh: 2 ranks of half the batch = 1 rank); the batch bounds how often W is read again */
    return !g->reflect && gL(g) <= FEW_PIX && (size_t)g->N * gL(g) <= FEW_PIX_BATCH && g->OC >= 16 &&
           K % c->kp.conv_nt_vw == 0 && K % rows_vw(c) == 0 && K >= rows_nb(c);
}

static void few_conv(tape *t, const cgeom *g, tensor img, tensor w, tensor out, tensor bias, float beta) {
    int K = gK(g), L = gL(g);
    tensor R = im2row(t, g, img, 0);
    nt_c Cm = {.mem = out.mem, .off = out.off, .ld = L, .D = L, .S2 = g->OC * L, .S3 = 1}; /* n = (sample, l) */
    nt_a Am = {.mem = w.mem, .off = w.off, .ld = K};
    nt_b Bm = {.mem = R.mem, .off = R.off, .D2 = INT_MAX, .D3 = INT_MAX, .S3 = K}; /* row n at n*K */
    gemm_nt(t->cl, Cm, Am, Bm, g->OC, g->N * L, K, 1, 1, 1, bias, beta);
}

static void few_adjoint(tape *t, const cgeom *g, tensor src, tensor w, tensor img, tensor bias, float beta) {
    int K = gK(g), NL = g->N * gL(g);
    tensor A = pack_panels(t, upstream_cgl(t, g, src), NULL, 1, g->OC, NL, 1); /* "rotated" 1x1: A[n][o] = dy[o][n] */
    tensor R = scratch1(t, (size_t)NL * K, "column matrix size");
    rows_conv_strided(t->cl, R, 0, A, 0, w, g->OC * K, K, 1, g->OC, K, 1, 1, NL, 1, K, (tensor){0}, 0.0f, 1, 0.0f);
    kl_conv_row2im(t->cl, clg_grid_1d((size_t)g->N * g->C * g->IH), img.mem, ki(img.off, "offset"), R.mem,
                   ki(R.off, "offset"), bias.mem ? bias.mem : R.mem, ki(bias.off, "offset"), bias.mem != NULL, g->N,
                   g->C, g->IH, g->IW, g->OH, g->OW, g->k, g->s, g->p, beta);
}

/* Strided convolutions as GEMMs over the batch on conv_rows, forward (panel_conv) and weight gradient
 * (panel_weight_grad): the image as pixel panels (conv_pack_cols, conv_pack_rows: each work-item's operand
 * one contiguous run) against 8-channel panels, all output channels of a pixel block before the next
 * (conv_rows' mfirst: the block's panel stays in L2 while the weight streams). conv_nt read the same
 * products as ten strided rows at 55-65% of the FMA peak (DCGAN's 4x4 stride-2 layers; docs/PERF.md).
 * The packs read a padded copy of the image (pad_image: zeros or reflection) without bounds, with
 * PANEL_SLACK floats after it for conv_pack_cols' stride-2 vectors. Where the reduction K = C*k*k is at
 * least the device's panel_min_k. (The data gradient the same way, phase by phase, was slower in the
 * models: docs/PERF.md.) */
#define PANEL_CHUNK ((size_t)2 << 20) /* floats of pixel panels a chunk of samples (of pixels for dW) */
#define PANEL_KC ((size_t)1 << 20)    /* floats of the weight's K-slice a pass (forward) */
#define PANEL_SLACK 32

/* At least PANEL_MIN_PIX output pixels over the batch: fewer leave the last pixel block mostly empty, and
 * the per-sample products were faster (pix2pix's 16x16 layers at batch 1). Chosen by the
 * batch's pixels, so a sample's outputs can differ in rounding between batch sizes on either side of it
 * (test_mpi.sh's networks are below panel_min_k). */
#define PANEL_MIN_PIX 512
static int panel_fit(const clg_ctx *c, const cgeom *g) {
    return g->s > 1 && g->OC >= rows_mr(c) && gK(g) >= c->kp.panel_min_k &&
           (size_t)g->N * gL(g) >= (c->kp.panel_min_k ? PANEL_MIN_PIX : 1);
}

/* out = beta*out + (bias) + conv(img): K in chunks of whole channels (the weight's OC x Kc slice and a
 * block's Kc x rows_nb panel stay in cache; later chunks add), the batch in chunks of samples whose
 * panels fit PANEL_CHUNK floats. conv_rows sees a sample's outputs as one row of L pixels, samples
 * OC*L apart. */
static void panel_conv(tape *t, const cgeom *g, tensor img, tensor w, tensor out, tensor bias, float beta) {
    clg_ctx *c = t->cl;
    int kk = g->k * g->k, K = gK(g), L = gL(g), OC = g->OC, nb = rows_nb(c), mr = rows_mr(c);
    int PH = g->IH + 2 * g->p, PW = g->IW + 2 * g->p;
    size_t kc = PANEL_KC / OC < 2048 ? PANEL_KC / OC : 2048;
    int Cc = (int)(kc / kk) < 1 ? 1 : (int)(kc / kk) > g->C ? g->C : (int)(kc / kk);
    int S = (int)(PANEL_CHUNK / ((size_t)Cc * kk * L));
    S = S < 1 ? 1 : S > g->N ? g->N : S;
    tensor P = padded_img(t, g, img, PANEL_SLACK);
    tensor A = pack_panels(t, w, g->wowner, 0, OC, g->C, g->k);
    tensor Bp = scratch1(t, (size_t)(S * (size_t)L + nb - 1) / nb * nb * Cc * kk, "pixel panels size");
    for (int s0 = 0; s0 < g->N; s0 += S) {
        int ns = g->N - s0 < S ? g->N - s0 : S, NG = ki((size_t)ns * L, "pixel count");
        size_t blocks = (size_t)(NG + nb - 1) / nb;
        for (int c0 = 0; c0 < g->C; c0 += Cc) {
            int cn = g->C - c0 < Cc ? g->C - c0 : Cc, first = c0 == 0;
            size_t xoff = P.off + ((size_t)s0 * g->C + c0) * PH * PW;
            kl_conv_pack_cols(c, clg_grid_3d(blocks, (size_t)cn, 1, 1, 1, 1), Bp.mem, ki(Bp.off, "offset"), P.mem,
                              ki(xoff, "offset"), g->C * PH * PW, cn, PH, PW, g->OW, L, g->k, g->s, NG);
            clg_grid grid = clg_grid_3d((size_t)rows_panels(c, OC), blocks, 1, 1, (size_t)c->kp.conv_wg, 1);
            kl_conv_rows(c, grid, out.mem, ki(out.off + (size_t)s0 * OC * L, "offset"), 0, L, L,
                         ki((size_t)OC * L, "tensor size"), A.mem, ki(A.off + (size_t)c0 * kk * mr, "offset"), 0,
                         ki((size_t)K * mr, "panel size"), Bp.mem, ki(Bp.off, "offset"), 0, nb,
                         ki((size_t)cn * kk * nb, "pixel panel size"), L, cn * kk, 1, 1, OC, NG, 0, NG,
                         first ? beta : 1.0f, bias.mem ? bias.mem : A.mem, ki(bias.off, "offset"),
                         first && bias.mem != NULL, 1, 0.0f);
        }
    }
}

/* out (column side) = beta*out + conv(img) (+ bias), any stride; 1 where it wrote ELU of that instead
 * (g->elu > 0 and beta 0, on conv_rows), else 0. */
static int cols_gemm_own(tape *t, const cgeom *g, tensor img, tensor w, tensor out, tensor bias, float beta) {
    int k = g->k, C = g->C, L = gL(g);
    int PH = g->IH + 2 * g->p, PW = g->IW + 2 * g->p;
    if (few_fit(t->cl, g)) {
        few_conv(t, g, img, w, out, bias, beta);
        return 0;
    }
    if (wino_fit(t->cl, g)) {
        wino_conv(t, out, w, g->wowner, 0, img, g->N, C, g->IH, g->IW, g->p, g->reflect, g->OC, g->OH, g->OW, bias,
                  beta);
        return 0;
    }
    if (rows_fit(t->cl, g->s, g->OC, g->OH, PW)) {
        tensor P = padded_img(t, g, img, rows_nb(t->cl) + k);
        tensor A = pack_panels(t, w, g->wowner, 0, g->OC, C, k);
        float elu = beta == 0.0f ? g->elu : 0.0f;
        rows_conv(t->cl, out, A, 0, P, g->N, C, PW, k, g->OC, g->OH, g->OW, bias, beta, elu);
        return elu > 0.0f;
    }
    if (s2d_fit(t->cl, g)) {
        s2d_conv(t, g, img, w, out, bias, beta);
        return 0;
    }
    if (oc_fit(t->cl, g)) {
        oc_conv(t, g, img, w, out, bias, beta);
        return 0;
    }
    if (panel_fit(t->cl, g)) {
        panel_conv(t, g, img, w, out, bias, beta);
        return 0;
    }
    tensor P = pad_hwc(t, img, g->N, C, g->IH, g->IW, PH, PW, g->p, g->p, g->reflect);
    int seg = round16(k * C);
    tensor A = pack_w(t, w, g->wowner, g->OC, k * seg, 1, g->OC, C, k, seg);
    nt_c Cm = {.mem = out.mem, .off = out.off, .z = (size_t)g->OC * L, .ld = L};
    nt_a Am = {.mem = A.mem, .off = A.off, .ld = k * seg, .zr = 0, .t = seg};
    nt_b Bm = {.mem = P.mem, .off = P.off, .zg = (size_t)PH * PW * C, .zr = 0, .t = PW * C, .D2 = INT_MAX, .D3 = g->OW,
               .S1 = 0, .S2 = g->s * PW * C, .S3 = g->s * C};
    gemm_nt(t->cl, Cm, Am, Bm, g->OC, L, seg, k, 1, g->N, bias, beta);
    return 0;
}

/* Whether gemm_col2im pads src with zeros as it is (a stride-1 convolution's data gradient on conv_rows,
 * a strided one's on conv_oc; its branches below): op_conv2d_elu's backward then pads dA * ELU'(A) in one
 * pass (conv_pad with alpha). */
static int dx_pads_dy(const clg_ctx *c, const cgeom *g) {
    if (!own_gemm(c) || few_fit(c, g)) return 0;
    if (g->s > 1) return oc_adj_fit(c, g);
    if (wino_fit(c, g)) return 0;
    int k = g->k, q = !g->reflect && g->p <= k - 1 ? k - 1 - g->p : k - 1;
    return rows_fit(c, 1, g->C, g->OH + q + q - k + 1, g->OW + 2 * q);
}

/* img = beta*img + (adjoint of the conv)(src) (+ bias). */
static void gemm_col2im_own(tape *t, const cgeom *g, tensor src, tensor w, tensor img, tensor bias, float beta) {
    int K = gK(g), L = gL(g), k = g->k, OC = g->OC;
    if (few_fit(t->cl, g)) {
        few_adjoint(t, g, src, w, img, bias, beta);
        return;
    }
    if (g->s == 1) {
        /* the image (or, padded, its gradient) = stride-1 conv of src zero-padded by q with the rotated
         * kernel: with zero padding p <= k-1 the image itself (q = k-1-p); otherwise the full correlation
         * (q = k-1) gives the padded image, folded back onto the image (reflected borders added in) */
        int direct = !g->reflect && g->p <= k - 1;
        int q = direct ? k - 1 - g->p : k - 1;
        int QH = g->OH + 2 * q, QW = g->OW + 2 * q, RH = QH - k + 1, RW = QW - k + 1;
        tensor dst = direct ? img : scratch1(t, (size_t)g->N * g->C * RH * RW, "padded image size");
        tensor dbias = direct ? bias : (tensor){0};
        float dbeta = direct ? beta : 0.0f;
        if (wino_fit(t->cl, g)) {
            wino_conv(t, dst, w, g->wowner, 1, src, g->N, OC, g->OH, g->OW, q, 0, g->C, RH, RW, dbias, dbeta);
        } else if (rows_fit(t->cl, 1, g->C, RH, QW)) { /* dx_pads_dy */
            tensor Q = pad_upstream(t, g, src, QH, QW, q, q, rows_nb(t->cl) + k);
            /* q = p: the weight gradient's grid, its rounding read on into the zero borders (p >= 1) */
            if (g->dy_pad && direct && g->p >= 1 && 2 * g->p == k - 1) *g->dy_pad = Q;
            tensor A = pack_panels(t, w, g->wowner, 1, OC, g->C, k);
            rows_conv(t->cl, dst, A, 0, Q, g->N, OC, QW, k, g->C, RH, RW, dbias, dbeta, 0.0f);
        } else {
            tensor Q = pad_hwc(t, src, g->N, OC, g->OH, g->OW, QH, QW, q, q, 0);
            int seg = round16(k * OC);
            tensor A = pack_w(t, w, g->wowner, g->C, k * seg, 2, OC, g->C, k, seg);
            nt_a Am = {.mem = A.mem, .off = A.off, .ld = k * seg, .zr = 0, .t = seg};
            nt_b Bm = {.mem = Q.mem, .off = Q.off, .zg = (size_t)QH * QW * OC, .zr = 0, .t = QW * OC, .D2 = INT_MAX,
                       .D3 = RW, .S1 = 0, .S2 = QW * OC, .S3 = OC};
            nt_c Cm = {.mem = dst.mem, .off = dst.off, .z = (size_t)g->C * RH * RW, .ld = RH * RW};
            gemm_nt(t->cl, Cm, Am, Bm, g->C, RH * RW, seg, k, 1, g->N, dbias, dbeta);
        }
        if (!direct)
            kl_conv_fold(t->cl, clg_grid_1d((size_t)g->N * g->C * g->IH), img.mem, ki(img.off, "offset"), dst.mem,
                         ki(dst.off, "offset"), g->C, g->N * g->C, g->IH, g->IW, g->p, g->reflect,
                         bias.mem ? bias.mem : dst.mem, ki(bias.off, "offset"), bias.mem != NULL, beta);
        return;
    }
    if (oc_adj_fit(t->cl, g)) {
        oc_adjoint(t, g, src, w, img, bias, beta);
        return;
    }
    if (s2d_adj_fit(t->cl, g)) {
        s2d_adjoint(t, g, src, w, img, bias, beta);
        return;
    }
    if (phase_rows_fit(t->cl, g)) {
        phase_rows_adjoint(t, g, src, w, img, bias, beta);
        return;
    }
    if (!g->reflect && k >= g->s) {
        /* Stride s: the image pixels (s*ry + cy, s*rx + cx) of one phase (cy, cx) receive only the taps
         * ki = ky0 + s*a (ky0 = (cy + p) % s, a < ay) from src row ry + ey - a (ey = (cy + p - ky0) / s),
         * and likewise in x: a stride-1 correlation of src with that phase's ay x ax taps, reversed. All
         * phases read one channels-last copy of src zero-padded by qt above (ql left) and enough below
         * (right); each writes its own pixels. */
        int s = g->s, p = g->p, qt, ql, QH, QW;
        adj_phase_pad(g, &qt, &ql, &QH, &QW);
        tensor Q = pad_hwc(t, src, g->N, OC, g->OH, g->OW, QH, QW, qt, ql, 0);
        pack_phases(t, w, g->wowner, OC, g->C, k, s, p);
        for (int cy = 0; cy < s && cy < g->IH; cy++)
            for (int cx = 0; cx < s && cx < g->IW; cx++) {
                int y0, ay, ey, x0, ax, ex;
                adj_phase(s, p, k, cy, &y0, &ay, &ey);
                adj_phase(s, p, k, cx, &x0, &ax, &ex);
                int rh = (g->IH - cy + s - 1) / s, rw = (g->IW - cx + s - 1) / s;
                int oy0 = qt + ey - ay + 1, ox0 = ql + ex - ax + 1; /* Q pixel of (ry, rx) = (0, 0), tap 0 */
                int seg = round16(ax * OC);
                tensor A = pack_w_phase(t, w, g->wowner, g->C, ay * seg, 2, OC, g->C, k, seg, y0, x0, s, ay, ax);
                nt_a Am = {.mem = A.mem, .off = A.off, .ld = ay * seg, .zr = 0, .t = seg};
                nt_b Bm = {.mem = Q.mem, .off = Q.off + ((size_t)oy0 * QW + ox0) * OC, .zg = (size_t)QH * QW * OC,
                           .zr = 0, .t = QW * OC, .D2 = INT_MAX, .D3 = rw, .S1 = 0, .S2 = QW * OC, .S3 = OC};
                nt_c Cm = {.mem = img.mem, .off = img.off + (size_t)cy * g->IW + cx, .z = (size_t)g->C * g->IH * g->IW,
                           .ld = g->IH * g->IW, .D = rw, .S2 = s * g->IW, .S3 = s};
                gemm_nt(t->cl, Cm, Am, Bm, g->C, rh * rw, seg, ay, 1, g->N, bias, beta);
            }
        return;
    }
    /* column matrix {K, G*L} = Wm^T * src (src channels-last), then col2im */
    tensor A = pack_w(t, w, g->wowner, K, OC, 0, 0, 0, k, 0);
    tensor S = pad_hwc(t, src, g->N, OC, g->OH, g->OW, g->OH, g->OW, 0, 0, 0);
    int G = group_size(g);
    tensor cols = scratch1(t, (size_t)K * G * L, "column matrix size");
    for (int n0 = 0; n0 < g->N; n0 += G) {
        int gs = g->N - n0 < G ? g->N - n0 : G;
        int N = ki((size_t)gs * L, "column matrix width");
        nt_a Am = {.mem = A.mem, .off = A.off, .ld = OC};
        nt_b Bm = {.mem = S.mem, .off = S.off + (size_t)n0 * L * OC, .D2 = 1, .D3 = 1, .S1 = OC};
        gemm_nt(t->cl, (nt_c){.mem = cols.mem, .off = cols.off, .ld = N}, Am, Bm, K, N, OC, 1, 1, 1, (tensor){0},
                0.0f);
        col2im(t->cl, g, img, n0, gs, cols, bias, beta);
    }
}

/* dW = beta*dW + the weight gradient of a stride-1 3x3 convolution by Winograd F(2x2, 3x3)
 * (kernels/conv_winograd.cl; F(4x4, 3x3) where wino4_fit, kernels/conv_winograd4.cl): the upstream
 * gradient's transform Yh as conv_rows' panels, the image's tiles transposed (from a channels-last padded
 * copy), 16 (36) products dU[xi] = Yh[xi] V[xi]^T summed over the tiles by conv_rows, then G^T dU G. Needs C a multiple of 16 (the transposed tiles' vectors). */
static int wino_wgrad_fit(const clg_ctx *c, const cgeom *g) {
    int lo = c->kp.wino_dw_min_c;
    return wino_shape(c, g) && g->C % 16 == 0 && g->C >= lo && g->OC >= lo;
}

static void wino_weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    int e = wino4_fit(t->cl, g->OW) ? 4 : 2, planes = wino_planes(e), pad = WINO_PLANE_PAD;
    int TH = (g->OH + e - 1) / e, TW = (g->OW + e - 1) / e, WH = wino_padded(g->OH, e), WW = wino_padded(g->OW, e),
        C = g->C, M = g->OC, mr = rows_mr(t->cl);
    int NT = ki((size_t)g->N * TH * TW, "winograd tile count"), NTp = round16(NT), panels = rows_panels(t->cl, M);
    int vplane = ki((size_t)NTp * C + pad, "winograd tiles size");
    int aplane = ki((size_t)panels * NTp * mr + pad, "winograd gradient size");
    int uplane = ki((size_t)M * C + pad, "winograd weight size");
    tensor Q = pad_hwc(t, img, g->N, C, g->IH, g->IW, WH, WW, g->p, g->p, g->reflect);
    tensor Vt = scratch1(t, (size_t)planes * vplane + (size_t)rows_nb(t->cl) + 1, "winograd tiles size");
    tensor Ah = scratch1(t, (size_t)planes * aplane, "winograd gradient size");
    tensor dU = scratch1(t, (size_t)planes * uplane, "winograd weight size");
    clg_grid tgrid = clg_grid_1d((size_t)NTp);
    size_t rows = (size_t)g->N * TH + (size_t)(NTp - NT + TW - 1) / TW;
    clg_grid dgrid = clg_grid_rows(rows, (size_t)panels), wgrid = clg_grid_rows((size_t)(C + 15) / 16, (size_t)M);
    int voff = ki(Vt.off, "offset"), qoff = ki(Q.off, "offset"), aoff = ki(Ah.off, "offset");
    int soff = ki(src.off, "offset"), woff = ki(dw.off, "offset"), uoff = ki(dU.off, "offset");
    if (e == 4) {
        kl_wino4_in_t(t->cl, tgrid, Vt.mem, voff, Q.mem, qoff, g->N, C, WH, WW, TH, TW, NTp, vplane);
        kl_wino4_dy(t->cl, dgrid, Ah.mem, aoff, src.mem, soff, g->N, M, g->OH, g->OW, TH, TW, NTp, aplane);
    } else {
        kl_wino_in_t(t->cl, tgrid, Vt.mem, voff, Q.mem, qoff, g->N, C, WH, WW, TH, TW, NTp, vplane);
        kl_wino_dy(t->cl, dgrid, Ah.mem, aoff, src.mem, soff, g->N, M, g->OH, g->OW, TH, TW, NTp, aplane);
    }
    rows_conv_strided(t->cl, dU, uplane, Ah, aplane, Vt, vplane, C, planes, NTp, C, 1, 1, M, 1, C, (tensor){0}, 0.0f,
                      0, 0.0f);
    if (e == 4) kl_wino4_wgrad(t->cl, wgrid, dw.mem, woff, dU.mem, uoff, M, C, uplane, beta);
    else kl_wino_wgrad(t->cl, wgrid, dw.mem, woff, dU.mem, uoff, M, C, uplane, beta);
}

/* Few output pixels over the whole batch (at most ROWS_WGRAD_MAX of them) and a long K: the weight
 * gradient as an outer product with vectors along K, dWm {OC, K} = dY' {OC, N*L} * R {N*L, K}, R the
 * column matrix transposed (conv_im2row), on conv_rows (a 1x1 "convolution" whose channels are the
 * pixels). conv_nt would reduce along the pixels, a few vectors each before its horizontal sums
 * (./bench rows patch64.C512.dw 10.2 -> 1.1 ms, dcgan.G1.dw 57 -> 4 ms; CycleGAN 64x64's 2x2 phase
 * convolution at 17x17 pixels 14 -> 9 ms a step; at 1024 pixels the other paths win again). Fewer output channels than a panel waste most of it, so only where the other
 * path would be the column matrix with under 16 pixels per sample (CLBlast). */
#define ROWS_WGRAD_MAX 320
static int rows_wgrad_fit(const clg_ctx *c, const cgeom *g) {
    return (size_t)g->N * gL(g) <= ROWS_WGRAD_MAX && gK(g) >= rows_nb(c) && (g->OC >= rows_mr(c) || gL(g) < 16);
}

/* Where the weight gradient would otherwise be the column matrix and conv_nt's reduction along its
 * pixels (strided images too small for the polyphase split, images under 8 columns): the outer product
 * at any pixel count whose transposed column matrix fits the group budget. */
static int rows_wgrad_big_fit(const clg_ctx *c, const cgeom *g) {
    return gK(g) >= rows_nb(c) && g->OC >= rows_mr(c) &&
           (size_t)g->N * gL(g) * gK(g) <= conv_group_floats;
}

static void rows_weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    int K = gK(g), NL = g->N * gL(g), nb = rows_nb(t->cl);
    tensor R = im2row(t, g, img, nb + 1);
    tensor A = upstream_panels(t, g, src);
    rows_conv(t->cl, dw, A, 0, R, 1, NL, K, 1, g->OC, 1, K, (tensor){0}, beta, 0.0f);
}

/* The polyphase weight gradient's products, one conv_nt per phase (fy, fx): tap (ki, kj) = (s*a + fy,
 * s*b + fx) of dW = the upstream gradient's rows A against the phase's image P + f*phase read at
 * (oy + a, ox + b), i.e. shifted by a*PWp + b on the flat grid; a channel's rows are S1 apart, samples
 * bzr apart, and the reduction runs over Zr samples of Lr floats. */
static void phase_wgrad_gemms(tape *t, const cgeom *g, tensor dw, nt_a A, tensor P, size_t phase, size_t bzr,
                              int S1, int PWp, int Lr, int Zr, float beta) {
    int s = g->s, k = g->k;
    for (int fy = 0; fy < s && fy < k; fy++)
        for (int fx = 0; fx < s && fx < k; fx++) {
            int ay = (k - fy + s - 1) / s, ax = (k - fx + s - 1) / s;
            nt_b Bm = {.mem = P.mem, .off = P.off + (size_t)(fy * s + fx) * phase, .zr = bzr, .D2 = ay, .D3 = ax,
                       .S1 = S1, .S2 = PWp, .S3 = 1};
            nt_c Cm = {.mem = dw.mem, .off = dw.off + (size_t)fy * k + fx, .ld = gK(g), .D2 = ay, .D = ax,
                       .S1 = k * k, .S2 = s * k, .S3 = s};
            gemm_nt(t->cl, Cm, A, Bm, g->OC, g->C * ay * ax, Lr, 1, Zr, 1, (tensor){0}, beta);
        }
}

/* Stride s > 1 over a batch, the polyphase weight gradient as one reduction per phase: conv_pad_phase
 * writes the image's phases and the upstream gradient (a 1-phase split, zero past OH x OW) channel-major,
 * {C, N, PHp, PWp}, so that a channel's grids over the batch follow one another and each dW entry is one
 * dot product of N*PHp*PWp contiguous floats (conv_nt with Zr = 1). The per-sample split below restarts
 * the reduction every OH*PWp floats (rounded to 16), DCGAN's 8x8 and 4x4 outputs every 5 or 2 vectors:
 * ./bench's dcgan.*.dw rows ran 15-45% faster so on AVX-512, 25-45% on AVX2 (docs/PERF.md). A window
 * that runs past its sample's grid reads the next sample's (or the slack's zeros) against F's zero row
 * and column: a valid output's taps stay inside its own grid. Where the grid would add more than 60% to
 * the reduction (tiny outputs), the paths below do it. */
static int phase_wgrad_batch_fit(const cgeom *g) {
    if (g->s < 2 || g->N < 2) return 0;
    return 10 * (size_t)phase_side(g->IH, g->p, g->s) * phase_side(g->IW, g->p, g->s) <= 16 * (size_t)gL(g);
}

static void phase_weight_grad_batch(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    int s = g->s, p = g->p, k = g->k, N = g->N, C = g->C, OC = g->OC;
    int PHp = phase_side(g->IH, p, s), PWp = phase_side(g->IW, p, s);
    int S = ki((size_t)N * PHp * PWp, "padded image size");
    size_t phase = (size_t)C * S;
    int slack = (k + 1) * PWp + CONV_NT_SLACK; /* the last channel's windows run a tap offset past its grids */
    tensor P = pad_phases(t, img, N, C, g->IH, g->IW, p, s, PHp, PWp, g->reflect, N, slack);
    /* F {OC, N, PHp, PWp}: the upstream gradient, zero past its OH x OW outputs (a 1-phase split) */
    tensor F = pad_phases(t, src, N, OC, g->OH, g->OW, 0, 1, PHp, PWp, 0, N, 0);
    phase_wgrad_gemms(t, g, dw, (nt_a){.mem = F.mem, .off = F.off, .ld = S}, P, phase, 0, S, PWp, S, 1, beta);
}

/* A strided convolution's weight gradient by pixel panels: dW {OC, K} = the upstream gradient {OC, N*L}
 * (channel-major over the batch, as conv_rows' 8-channel panels along the pixels) x the column matrix
 * transposed as panels of rows_nb reduction indices (conv_pack_rows), a GEMM over the batch's pixels on
 * conv_rows with the pixels as its channels, in chunks of pixels whose panels fit PANEL_CHUNK floats (and
 * at least twice the output channels, so that adding into dW does not outweigh the chunk's products). The
 * polyphase split (phase_weight_grad_batch) read the same products as conv_nt's ten strided rows. Each
 * packed float serves OC products: where OC, like K, is at least panel_min_k (DCGAN's 256- to 1024-channel
 * layers), and over PANEL_MIN_PIX pixels. */
static int panel_wgrad_fit(const clg_ctx *c, const cgeom *g) { return panel_fit(c, g) && g->OC >= c->kp.panel_min_k; }

static void panel_weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    clg_ctx *c = t->cl;
    int K = gK(g), L = gL(g), OC = g->OC, nb = rows_nb(c), mr = rows_mr(c);
    int NL = ki((size_t)g->N * L, "pixel count"), blocks = (K + nb - 1) / nb;
    size_t most = PANEL_CHUNK / K > 2 * (size_t)OC ? PANEL_CHUNK / K : 2 * (size_t)OC;
    int NLc = most < (size_t)NL ? (int)most : NL;
    tensor A = upstream_panels(t, g, src);
    int PH = g->IH + 2 * g->p, PW = g->IW + 2 * g->p;
    tensor P = padded_img(t, g, img, 0);
    tensor Rp = scratch1(t, (size_t)blocks * nb * NLc, "pixel panels size");
    for (int n0 = 0; n0 < NL; n0 += NLc) {
        int nl = NL - n0 < NLc ? NL - n0 : NLc;
        kl_conv_pack_rows(c, clg_grid_3d((size_t)blocks, (size_t)(nl + PACK_ROWS_PX - 1) / PACK_ROWS_PX, 1, 1, 1, 1),
                          Rp.mem, ki(Rp.off, "offset"), P.mem, ki(P.off, "offset"), g->C * PH * PW, g->C, PH, PW,
                          g->OW, L, g->k, g->s, n0, nl);
        clg_grid grid = clg_grid_3d((size_t)rows_panels(c, OC), (size_t)blocks, 1, 1, (size_t)c->kp.conv_wg, 1);
        kl_conv_rows(c, grid, dw.mem, ki(dw.off, "offset"), 0, K, K, K, A.mem,
                     ki(A.off + (size_t)n0 * mr, "offset"), 0, ki((size_t)NL * mr, "panel size"), Rp.mem,
                     ki(Rp.off, "offset"), 0, nb, ki((size_t)nl * nb, "pixel panel size"), K, nl, 1, 1, OC, K, 0, K,
                     n0 == 0 ? beta : 1.0f, A.mem, 0, 0, 1, 0.0f);
    }
}

/* The weight gradient's paths on clgan's own kernels, in the order weight_grad_own tries them. */
typedef enum {
    WG_WINO,        /* wino_weight_grad */
    WG_ROWS,        /* rows_weight_grad on small images */
    WG_GRID,        /* grid_weight_grad: stride 1 over the padded image's flat grid */
    WG_PANEL,       /* panel_weight_grad */
    WG_PHASE_BATCH, /* phase_weight_grad_batch */
    WG_PHASE,       /* phase_weight_grad */
    WG_ROWS_BIG,    /* rows_weight_grad at any pixel count */
    WG_COLS,        /* cols_weight_grad: the column matrix */
    WG_CLBLAST      /* too few columns per sample for the 16-wide reduction: left to CLBlast */
} wgrad_path;

static wgrad_path wgrad_choice(const clg_ctx *c, const cgeom *g) {
    if (wino_wgrad_fit(c, g)) return WG_WINO;
    if (rows_wgrad_fit(c, g)) return WG_ROWS;
    /* the grid adds its padding columns and its rounding to 16 floats to the reduction: at most a third
     * more below 8 columns (7 x 7 and 6 x 6 images; the adversarial VAE's 7 x 7 layers ran some 7% faster
     * a step so than on rows_weight_grad's column matrix, with its three reformatting launches) */
    if (g->s == 1 && (g->OW >= 8 || 3 * round16(g->OH * (g->IW + 2 * g->p)) <= 4 * gL(g))) return WG_GRID;
    if (panel_wgrad_fit(c, g)) return WG_PANEL;
    if (phase_wgrad_batch_fit(g)) return WG_PHASE_BATCH;
    /* only where the grid's padding columns and 16-float rounding add at most 30% to the reduction (small
     * images go through the column matrix) */
    if (g->s > 1 && 10 * round16(g->OH * phase_side(g->IW, g->p, g->s)) <= 13 * gL(g)) return WG_PHASE;
    if (rows_wgrad_big_fit(c, g)) return WG_ROWS_BIG;
    return gL(g) < 16 ? WG_CLBLAST : WG_COLS;
}

/* Whether the forward keeps its padded image for a weight gradient that reads the same copy
 * (padded_img). Only copies up to KEEP_PAD_MAX floats: what keeping saves is mostly the launch, while the
 * memory it holds until the backward grows with the image (DCGAN's 6 copies a step would hold 275 MiB
 * more for under 1% of its step; the adversarial VAE's 40 hold 19 MiB for some 4%). */
#define KEEP_PAD_MAX ((size_t)1 << 20)
static int keep_padded_img(const clg_ctx *c, const cgeom *g) {
    if (!own_gemm(c) || (size_t)g->N * g->C * (g->IH + 2 * g->p) * (g->IW + 2 * g->p) > KEEP_PAD_MAX) return 0;
    wgrad_path path = wgrad_choice(c, g);
    return path == WG_GRID || path == WG_PANEL;
}

/* dWm[oc, (c, ki, kj)] = sum over the padded-width grid of F[oc, n] * P[c, n + ki*PW + kj], F the column
 * side with zero columns up to the padded width PW and zero rows so that the grid's length Lr is whole
 * 16-float vectors (P's zero slack covers the reads past its last row). */
static void grid_weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    int k = g->k, PH = g->IH + 2 * g->p, PW = g->IW + 2 * g->p;
    int Lr = round16(g->OH * PW), FH = (Lr + PW - 1) / PW;
    tensor P = padded_img(t, g, img, grid_wgrad_slack(k));
    tensor F;
    if (g->dy_pad && g->dy_pad->mem) {
        /* the data gradient's copy (gemm_col2im_own: "same" zero padding, so PH x PW planes): from row p,
         * column p on, src on the padded width with zeros between its rows, and zeros past its last row
         * (the bottom border, the next plane's top border, the copy's slack: 2p*PW - p >= 15 floats from the
         * 6 x 6 images on, PW >= 8, for the grid's rounding to Lr, at most 15), a saved pad_image launch (the
         * adversarial VAE: some 30 of 250 a step) */
        F = *g->dy_pad;
        F.off += (size_t)g->p * PW + (size_t)g->p;
        FH = PH;
    } else {
        F = pad_image(t, src, g->N, g->OC, g->OH, g->OW, FH, PW, 0, 0, 0, 0);
    }
    nt_a Am = {.mem = F.mem, .off = F.off, .ld = FH * PW, .zr = g->OC * FH * PW};
    nt_b Bm = {.mem = P.mem, .off = P.off, .zr = (size_t)g->C * PH * PW, .D2 = k, .D3 = k, .S1 = PH * PW, .S2 = PW,
               .S3 = 1};
    gemm_nt(t->cl, (nt_c){.mem = dw.mem, .off = dw.off, .ld = gK(g)}, Am, Bm, g->OC, gK(g), Lr, 1, g->N, 1,
            (tensor){0}, beta);
}

/* Stride s: in the polyphase split of the padded image (phase (fy, fx) = pixels (s*y + fy, s*x + fx)),
 * tap (ki, kj) = (s*a + fy, s*b + fx) reads phase pixel (oy + a, ox + b): per phase, a stride-1 implicit
 * weight gradient over the flat grid of the phase width, written into that phase's taps of dWm. */
static void phase_weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    int s = g->s, p = g->p, k = g->k, PHp = phase_side(g->IH, p, s), PWp = phase_side(g->IW, p, s);
    int Lr = round16(g->OH * PWp), FH = (Lr + PWp - 1) / PWp;
    size_t phase = (size_t)g->N * g->C * PHp * PWp;
    tensor P = pad_phases(t, img, g->N, g->C, g->IH, g->IW, p, s, PHp, PWp, g->reflect, 1, CONV_NT_SLACK + k);
    tensor F = pad_image(t, src, g->N, g->OC, g->OH, g->OW, FH, PWp, 0, 0, 0, 0);
    nt_a Am = {.mem = F.mem, .off = F.off, .ld = FH * PWp, .zr = g->OC * FH * PWp};
    phase_wgrad_gemms(t, g, dw, Am, P, phase, (size_t)g->C * PHp * PWp, PHp * PWp, PWp, Lr, g->N, beta);
}

/* The column matrix of a group of samples at a time, reduced along its pixels by conv_nt. */
static void cols_weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    int K = gK(g), L = gL(g), G = group_size(g);
    tensor cols = scratch1(t, (size_t)K * G * L, "column matrix size");
    for (int n0 = 0; n0 < g->N; n0 += G) {
        int gs = g->N - n0 < G ? g->N - n0 : G;
        im2col(t->cl, g, cols, img, n0, gs);
        nt_a Am = {.mem = src.mem, .off = src.off + (size_t)n0 * g->OC * L, .ld = L, .zr = g->OC * L};
        nt_b Bm = {.mem = cols.mem, .off = cols.off, .zr = (size_t)L, .D2 = 1, .D3 = 1,
                   .S1 = ki((size_t)gs * L, "column matrix width")};
        gemm_nt(t->cl, (nt_c){.mem = dw.mem, .off = dw.off, .ld = K}, Am, Bm, g->OC, K, L, 1, gs, 1, (tensor){0},
                n0 == 0 ? beta : 1.0f);
    }
}

/* Own-kernel weight gradient; returns 0 where the shape is left to CLBlast. */
static int weight_grad_own(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    switch (wgrad_choice(t->cl, g)) {
    case WG_WINO: wino_weight_grad(t, g, img, src, dw, beta); return 1;
    case WG_ROWS:
    case WG_ROWS_BIG: rows_weight_grad(t, g, img, src, dw, beta); return 1;
    case WG_GRID: grid_weight_grad(t, g, img, src, dw, beta); return 1;
    case WG_PANEL: panel_weight_grad(t, g, img, src, dw, beta); return 1;
    case WG_PHASE_BATCH: phase_weight_grad_batch(t, g, img, src, dw, beta); return 1;
    case WG_PHASE: phase_weight_grad(t, g, img, src, dw, beta); return 1;
    case WG_COLS: cols_weight_grad(t, g, img, src, dw, beta); return 1;
    case WG_CLBLAST: return 0;
    }
    return 0;
}

/* out (column side) = beta*out + Wm * im2col(img) (+ bias). */
/* cols_gemm_own's contract, on CLBlast too (which writes y: 0). */
static int cols_gemm(tape *t, const cgeom *g, tensor img, tensor w, tensor out, tensor bias, float beta) {
    if (own_gemm(t->cl)) return cols_gemm_own(t, g, img, w, out, bias, beta);
    int G = group_size(g), K = gK(g), L = gL(g);
    tensor cols, tmp;
    scratch(t, g, G, &cols, &tmp);
    for (int n0 = 0; n0 < g->N; n0 += G) {
        int gs = g->N - n0 < G ? g->N - n0 : G;
        size_t GL = (size_t)gs * L;
        im2col(t->cl, g, cols, img, n0, gs);
        blas_gemm(t->cl, 0, 0, (size_t)g->OC, GL, (size_t)K, 1.0f, w.mem, w.off, (size_t)K, cols.mem, cols.off, GL,
                  0.0f, tmp.mem, tmp.off, GL);
        from_cgl(t->cl, g, out, n0, gs, tmp, bias, beta);
    }
    return 0;
}

/* img = beta*img + col2im(Wm^T * src) (+ bias), src on the column side. */
static void gemm_col2im(tape *t, const cgeom *g, tensor src, tensor w, tensor img, tensor bias, float beta) {
    if (own_gemm(t->cl)) {
        gemm_col2im_own(t, g, src, w, img, bias, beta);
        return;
    }
    int G = group_size(g), K = gK(g), L = gL(g);
    tensor cols, tmp;
    scratch(t, g, G, &cols, &tmp);
    for (int n0 = 0; n0 < g->N; n0 += G) {
        int gs = g->N - n0 < G ? g->N - n0 : G;
        size_t GL = (size_t)gs * L;
        to_cgl(t->cl, g, tmp, src, n0, gs);
        blas_gemm(t->cl, 1, 0, (size_t)K, GL, (size_t)g->OC, 1.0f, w.mem, w.off, (size_t)K, tmp.mem, tmp.off, GL,
                  0.0f, cols.mem, cols.off, GL);
        col2im(t->cl, g, img, n0, gs, cols, bias, beta);
    }
}

/* dWm {OC, K} = beta*dWm + src' * im2col(img)^T, summed over the batch. A group of one sample is
 * already channel-major: the GEMM reads it in place. */
static void weight_grad(tape *t, const cgeom *g, tensor img, tensor src, tensor dw, float beta) {
    if (own_gemm(t->cl) && weight_grad_own(t, g, img, src, dw, beta)) return;
    int G = group_size(g), K = gK(g), L = gL(g);
    tensor cols, tmp;
    scratch(t, g, G, &cols, &tmp);
    for (int n0 = 0; n0 < g->N; n0 += G) {
        int gs = g->N - n0 < G ? g->N - n0 : G;
        size_t GL = (size_t)gs * L;
        im2col(t->cl, g, cols, img, n0, gs);
        tensor a = tmp;
        if (gs == 1) a.mem = src.mem, a.off = src.off + (size_t)n0 * g->OC * L;
        else to_cgl(t->cl, g, tmp, src, n0, gs);
        blas_gemm(t->cl, 0, 1, (size_t)g->OC, (size_t)K, GL, 1.0f, a.mem, a.off, GL, cols.mem, cols.off, GL,
                  n0 == 0 ? beta : 1.0f, dw.mem, dw.off, (size_t)K);
    }
}

/* db[c] = beta*db[c] + sum over n, h, w of dy[n, c, h, w]. */
static void bias_grad(clg_ctx *c, tensor db, tensor dy, float beta) {
    size_t wg = clg_plane_reduce_wg(c, "conv_bias_grad", (size_t)dy.h * dy.w);
    size_t global = (size_t)dy.c * wg;
    kl_conv_bias_grad(c, clg_grid_1d_local(global, wg), db.mem, ki(db.off, "offset"), dy.mem, ki(dy.off, "offset"),
                      dy.n, dy.c, ki((size_t)dy.h * dy.w, "image size"), beta, wg * sizeof(float));
}

static void maybe_bias_grad(tape *t, const tnode *nd, tensor dy) {
    if (nd->in[2] < 0) return;
    float beta;
    tensor db = tape_grad(t, nd->in[2], &beta);
    if (db.mem) bias_grad(t->cl, db, dy, beta);
}

static tensor bias_tensor(tape *t, int b) { return b >= 0 ? tape_val(t, b) : (tensor){0}; }

/* ---- conv2d -------------------------------------------------------------------------------- */

static cgeom conv_geom(const tape *t, int wvar, tensor x, tensor w, tensor y, int stride, int pad, int reflect) {
    return (cgeom){.N = x.n, .C = x.c, .IH = x.h, .IW = x.w, .OC = w.n, .OH = y.h, .OW = y.w, .k = w.h, .s = stride,
                   .p = pad, .reflect = reflect, .wowner = t->vars[wvar].owner};
}

/* farg[0] > 0: op_conv2d_elu's node, whose output holds ELU(y) with that alpha and whose upstream
 * gradient is the ELU output's: dY = dA * ELU'(A), made in the data gradient's padding where that pads
 * (dx_pads_dy), else by elu_bwd into scratch. */
static void conv2d_backward(tape *t, const tnode *nd) {
    tape_scratch_begin(t);
    tensor x = tape_val(t, nd->in[0]), w = tape_val(t, nd->in[1]), dA = tape_out_grad(t, nd), dy = dA;
    cgeom g = conv_geom(t, nd->in[1], x, w, dy, nd->iarg[0], nd->iarg[1], nd->iarg[2]);
    tensor dy_pad = {0}, img_pad = nd->saved[0];
    g.dy_pad = &dy_pad;
    g.img_pad = &img_pad;
    float beta, alpha = nd->farg[0];
    int elu_done = 0;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (alpha > 0.0f) {
        tensor a = tape_val(t, nd->out);
        size_t n = tnumel(dA);
        dy = scratch1(t, n, "tensor size");
        dy.n = dA.n, dy.c = dA.c, dy.h = dA.h, dy.w = dA.w;
        if (dx.mem && dx_pads_dy(t->cl, &g))
            g.elu_bwd = alpha, g.elu_a = a, g.elu_dy = dy, g.elu_done = &elu_done;
        else
            kl_elu_bwd(t->cl, clg_grid_1d(n), dy.mem, ki(dy.off, "offset"), dA.mem, ki(dA.off, "offset"), a.mem,
                       ki(a.off, "offset"), ki(n, "tensor size"), alpha, 0.0f);
    }
    if (dx.mem) gemm_col2im(t, &g, g.elu_bwd > 0.0f ? dA : dy, w, dx, (tensor){0}, beta);
    if (g.elu_bwd > 0.0f && !elu_done) die("conv2d: the ELU's gradient was left to a padding that did not run");
    tensor dw = tape_grad(t, nd->in[1], &beta);
    if (dw.mem) weight_grad(t, &g, x, dy, dw, beta);
    maybe_bias_grad(t, nd, dy);
}

static void check_weight_bias(tape *t, const char *op, tensor w, int b, int cout) {
    if (w.h != w.w || w.h < 1) die("%s: weight must be {*, *, k, k}, got {%d, %d, %d, %d}", op, w.n, w.c, w.h, w.w);
    if (b >= 0 && (int)tnumel(tape_val(t, b)) != cout)
        die("%s: bias has %zu elements, expected %d", op, tnumel(tape_val(t, b)), cout);
}

/* tape_grad_graph: the data gradient of a convolution is the transposed convolution with the same
 * weights; output_padding restores sizes that the forward's stride rounded away. */
static int conv2d_grad_graph(tape *t, const tnode *nd, int i, int g) {
    if (i != 0) return -1;
    if (nd->iarg[2] != PAD_ZERO) die("tape_grad_graph: conv2d with reflection padding is not supported");
    tensor x = tape_val(t, nd->in[0]), yv = tape_val(t, nd->out);
    int k = tape_val(t, nd->in[1]).h, s = nd->iarg[0], p = nd->iarg[1];
    int outpad = x.h - ((yv.h - 1) * s - 2 * p + k);
    return op_conv_transpose2d(t, g, nd->in[1], -1, s, p, outpad);
}

/* op_conv2d, and with elu > 0 op_conv2d_elu's convolution: *elu_done where it wrote ELU(y) (conv_rows). */
static int conv2d(tape *t, int x, int w, int b, int stride, int pad, pad_mode mode, float elu, int *elu_done) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    check_weight_bias(t, "op_conv2d", wv, b, wv.n);
    if (wv.c != xv.c)
        die("op_conv2d: a convolution built for %d input channels got %d (input %dx%dx%dx%d): the network and the data "
            "it is given disagree (a bug in the model's wiring; please report it with the INI)", wv.c, xv.c, xv.n, xv.c,
            xv.h, xv.w);
    if (stride < 1 || pad < 0) die("op_conv2d: stride %d, pad %d", stride, pad);
    if (mode != PAD_ZERO && mode != PAD_REFLECT) die("op_conv2d: unknown padding mode %d", (int)mode);
    if (mode == PAD_REFLECT && (pad >= xv.h || pad >= xv.w))
        die("op_conv2d: reflection padding %d needs an input larger than %dx%d", pad, xv.h, xv.w);
    int k = wv.h;
    if (xv.h + 2 * pad < k || xv.w + 2 * pad < k)
        die("op_conv2d: kernel %d larger than the padded input %dx%d (pad %d)", k, xv.h, xv.w, pad);
    int oh = (xv.h + 2 * pad - k) / stride + 1, ow = (xv.w + 2 * pad - k) / stride + 1;
    int ins[3] = {x, w, b};
    int y = tape_new(t, xv.n, wv.n, oh, ow, tape_any_grad(t, 3, ins));
    tensor yv = tape_val(t, y);
    cgeom g = conv_geom(t, w, xv, wv, yv, stride, pad, mode == PAD_REFLECT);
    g.elu = elu;
    /* a weight gradient to come that reads the forward's padded image: keep it (the adversarial VAE: 40 of
     * 237 padding launches a step) */
    tensor img_pad = {0};
    g.keep_img = tape_wants_grad(t, w) && keep_padded_img(t->cl, &g);
    g.img_pad = &img_pad;
    tape_scratch_begin(t);
    *elu_done = cols_gemm(t, &g, xv, wv, yv, bias_tensor(t, b), 0.0f);
    tnode *nd = tape_record(t, conv2d_backward, elu > 0.0f ? "conv2d+elu" : "conv2d", y, 3, ins);
    if (nd) {
        nd->saved[0] = img_pad;
        nd->iarg[0] = stride;
        nd->iarg[1] = pad;
        nd->iarg[2] = mode == PAD_REFLECT;
        nd->farg[0] = elu;
        nd->grad_graph = elu > 0.0f ? NULL : conv2d_grad_graph; /* as op_elu: no gradient graph */
    }
    return y;
}

int op_conv2d(tape *t, int x, int w, int b, int stride, int pad, pad_mode mode) {
    int done;
    return conv2d(t, x, w, b, stride, pad, mode, 0.0f, &done);
}

/* One node: its output holds ELU(y), written by conv_rows' epilogue or by elu_fwd over y in place; its
 * backward makes ELU's gradient (conv2d_backward). */
int op_conv2d_elu(tape *t, int x, int w, int b, int stride, int pad, pad_mode mode, float alpha) {
    if (!(alpha > 0.0f)) die("op_conv2d_elu: alpha %g: must be positive (the backward reads the output's sign)", alpha);
    int done, y = conv2d(t, x, w, b, stride, pad, mode, alpha, &done);
    if (!done) {
        tensor yv = tape_val(t, y);
        size_t n = tnumel(yv);
        kl_elu_fwd(t->cl, clg_grid_1d(n), yv.mem, ki(yv.off, "offset"), yv.mem, ki(yv.off, "offset"),
                   ki(n, "tensor size"), alpha);
    }
    return y;
}

/* ---- nearest x2 upsampling + 3x3 convolution, by phases (kernels/conv.cl explains) ---------------- */

static void subpixel_w_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dw = tape_grad(t, nd->in[0], &beta);
    if (!dw.mem) return;
    tensor dw4 = tape_out_grad(t, nd);
    kl_subpixel_w_bwd(t->cl, clg_grid_1d((size_t)dw.n * dw.c), dw.mem, ki(dw.off, "offset"), dw4.mem,
                      ki(dw4.off, "offset"), dw.n, dw.c, beta); /* one work-item per (o, i) */
}

static void subpixel_shuffle_backward(tape *t, const tnode *nd) {
    tensor dy = tape_out_grad(t, nd);
    float beta;
    tensor dz = tape_grad(t, nd->in[0], &beta);
    if (dz.mem)
        kl_subpixel_shuffle_bwd(t->cl, clg_grid_1d((size_t)dz.n * dz.c * dz.h), dz.mem, ki(dz.off, "offset"),
                                dy.mem, ki(dy.off, "offset"), dy.c, dz.h - 1, dz.w - 1, beta,
                                ki((size_t)dz.n * dz.c * dz.h, "row count"));
    if (nd->in[1] >= 0) {
        tensor db = tape_grad(t, nd->in[1], &beta);
        if (db.mem) bias_grad(t->cl, db, dy, beta);
    }
}

/* w4 {4O, I, 2, 2} = op_upsample2x_conv3x3's phase weights of w {O, I, 3, 3}; one work-item per (o, i). */
static void phase_weights(tape *t, tensor w4, tensor wv, int O, int I) {
    kl_subpixel_w_fwd(t->cl, clg_grid_1d((size_t)O * I), w4.mem, ki(w4.off, "offset"), wv.mem, ki(wv.off, "offset"), O,
                      I);
}

/* Inference (cache_keep, no gradient): op_upsample2x_conv3x3's phase weights {4O, I, 2, 2} made once for
 * the tape's life, as a variable that names w's network as its owner, so that the convolution's packing
 * of them is kept too. */
static int kept_phase_weights(tape *t, const tcache_key *key, tensor wv, int O, int I) {
    const tensor *hit = tape_cache_get(t, key);
    tensor w4 = hit ? *hit : tape_cache_alloc(t, (size_t)16 * O * I);
    if (!hit) {
        phase_weights(t, w4, wv, O, I);
        tape_cache_put(t, key, w4);
    }
    w4.n = 4 * O, w4.c = I, w4.h = w4.w = 2;
    int v = tape_new_view(t, w4, 0);
    t->vars[v].owner = key->owner; /* NULL (w not a parameter): nothing was cached, made again each time */
    return v;
}

int op_upsample2x_conv3x3(tape *t, int x, int w, int b) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    if (wv.h != 3 || wv.w != 3 || wv.c != xv.c)
        die("op_upsample2x_conv3x3: weight {%d, %d, %d, %d} for an input of %d channels (needs {O, %d, 3, 3})", wv.n,
            wv.c, wv.h, wv.w, xv.c, xv.c);
    check_weight_bias(t, "op_upsample2x_conv3x3", wv, b, wv.n);
    int O = wv.n, I = wv.c, want = tape_any_grad(t, 1, &w);
    /* the phase weights of a parameter, once per version: a generator applied twice in a step (CycleGAN's
     * cycles) shares them, and their node adds both uses' gradient into w at once */
    tcache_key key;
    int args[] = {-3, want}; /* -3: op_upsample2x_conv3x3's phase weights */
    cache_key(&key, wv, t->vars[w].owner, args, 2);
    int w4 = t->cache_keep && !want ? kept_phase_weights(t, &key, wv, O, I) : tape_cache_get_var(t, &key);
    if (w4 < 0) {
        w4 = tape_new(t, 4 * O, I, 2, 2, want);
        phase_weights(t, tape_val(t, w4), wv, O, I);
        tape_record(t, subpixel_w_backward, "subpixel_weights", w4, 1, &w);
        tape_cache_put_var(t, &key, w4);
    }
    int z = op_conv2d(t, x, w4, -1, 1, 1, PAD_ZERO);
    int ins[2] = {z, b};
    int y = tape_new(t, xv.n, O, 2 * xv.h, 2 * xv.w, tape_any_grad(t, 2, ins));
    tensor yv = tape_val(t, y), zv = tape_val(t, z), bv = bias_tensor(t, b);
    kl_subpixel_shuffle_fwd(t->cl, clg_grid_1d((size_t)yv.n * yv.c * yv.h), yv.mem, ki(yv.off, "offset"), zv.mem,
                            ki(zv.off, "offset"), bv.mem ? bv.mem : zv.mem, ki(bv.off, "offset"), bv.mem != NULL, O,
                            xv.h, xv.w, ki((size_t)yv.n * yv.c * yv.h, "row count"));
    tape_record(t, subpixel_shuffle_backward, "subpixel_shuffle", y, 2, ins);
    return y;
}

/* ---- conv_transpose2d ---------------------------------------------------------------------- */

/* Image side y {N, Cout, H', W'}; column side x {N, Cin, H, W}; w {Cin, Cout, k, k}. */
static cgeom convt_geom(const tape *t, int wvar, tensor x, tensor w, tensor y, int stride, int pad) {
    return (cgeom){.N = y.n, .C = y.c, .IH = y.h, .IW = y.w, .OC = w.n, .OH = x.h, .OW = x.w, .k = w.h, .s = stride,
                   .p = pad, .reflect = 0, .wowner = t->vars[wvar].owner};
}

static void convt_backward(tape *t, const tnode *nd) {
    tape_scratch_begin(t);
    tensor x = tape_val(t, nd->in[0]), w = tape_val(t, nd->in[1]), dy = tape_out_grad(t, nd);
    cgeom g = convt_geom(t, nd->in[1], x, w, dy, nd->iarg[0], nd->iarg[1]);
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (dx.mem) cols_gemm(t, &g, dy, w, dx, (tensor){0}, beta);
    tensor dw = tape_grad(t, nd->in[1], &beta);
    if (dw.mem) weight_grad(t, &g, dy, x, dw, beta);
    maybe_bias_grad(t, nd, dy);
}

int op_conv_transpose2d(tape *t, int x, int w, int b, int stride, int pad, int output_padding) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    check_weight_bias(t, "op_conv_transpose2d", wv, b, wv.c);
    if (wv.n != xv.c)
        die("op_conv_transpose2d: a transposed convolution built for %d input channels got %d (input %dx%dx%dx%d): the "
            "network and the data it is given disagree (a bug in the model's wiring; please report it with the INI)", wv.n,
            xv.c, xv.n, xv.c, xv.h, xv.w);
    if (stride < 1 || pad < 0 || output_padding < 0 || output_padding >= stride)
        die("op_conv_transpose2d: stride %d, pad %d, output_padding %d (needs 0 <= output_padding < stride)", stride,
            pad, output_padding);
    int k = wv.h;
    int oh = (xv.h - 1) * stride - 2 * pad + k + output_padding, ow = (xv.w - 1) * stride - 2 * pad + k + output_padding;
    if (oh < 1 || ow < 1)
        die("op_conv_transpose2d: output would be %dx%d (input %dx%d, k %d, stride %d, pad %d)", oh, ow, xv.h, xv.w, k,
            stride, pad);
    int ins[3] = {x, w, b};
    int y = tape_new(t, xv.n, wv.c, oh, ow, tape_any_grad(t, 3, ins));
    tensor yv = tape_val(t, y);
    cgeom g = convt_geom(t, w, xv, wv, yv, stride, pad);
    tape_scratch_begin(t);
    gemm_col2im(t, &g, xv, wv, yv, bias_tensor(t, b), 0.0f);
    tnode *nd = tape_record(t, convt_backward, "conv_transpose2d", y, 3, ins);
    if (nd) {
        nd->iarg[0] = stride;
        nd->iarg[1] = pad;
        nd->iarg[2] = output_padding;
    }
    return y;
}
