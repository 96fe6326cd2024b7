/* The conv op family (host/ops/conv.c, kernels/conv.cl) against a plain C double-precision
 * reference written from the definitions (direct loops: conv2d gathers with zero or reflection
 * padding, conv_transpose2d scatters as torch.nn.ConvTranspose2d), forward and every gradient
 * (x, w, b), on random non-zero inputs with odd sizes at non-zero offsets; arena memory is poisoned
 * with NaN first (a first-written gradient must overwrite it), parameter gradients hold random
 * values beforehand (the tape must add to them), and some cases run with a small group limit so
 * the batch goes through im2col/GEMM in several groups (with a partial last group). Every case runs
 * on both implementations (conv_set_impl): im2col/col2im + CLBlast, and the own kernels of
 * kernels/conv_gemm.cl (channels-last implicit GEMM for forwards and stride-1 data gradients, the
 * padded-width implicit weight gradient for stride 1 with outputs at least 8 wide, an outer product
 * over the transposed column matrix for few output pixels, column matrices otherwise, CLBlast for
 * weight gradients of fewer than 16 output pixels where that outer product does not fit). Then finite-difference
 * checks through the tape for reflect-padded conv2d and a transposed conv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static clg_ctx *cl;
static rng_seq R;
static const char *impl_name = ""; /* prefix of every check's name: which conv implementation ran */

static float *randv(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        float x;
        do x = lo + (hi - lo) * rng_uniform(&R);
        while (fabsf(x) < 1e-3f); /* never (near) zero */
        v[i] = x;
    }
    return v;
}

/* A tensor at an odd offset inside a fresh buffer, so offset handling is exercised. */
static tensor upload_at(const float *v, int n, int c, int h, int w, size_t off) {
    return dev_upload_at(cl, v, n, c, h, w, off);
}

static float *download(tensor t) { return dev_download(cl, t); }


/* One test case. conv2d: w {Cout, Cin, k, k}; transposed: w {Cin, Cout, k, k}, op = output_padding. */
typedef struct {
    const char *name;
    int transposed, N, Cin, Cout, H, W, k, s, p, op, reflect;
    int bias;   /* with a bias */
    int x_grad; /* x wants a gradient (else a plain input: its gradient must be skipped) */
    int twice;  /* the op is applied twice to the same inputs: every gradient accumulates twice */
    int groups; /* samples per im2col/GEMM group forced through the group limit (0: default) */
    int up;     /* op_upsample2x_conv3x3: nearest x2 upsampling, then conv k3 s1 p1 zero (k, s, p as such) */
} ccase;

static int out_h(const ccase *c) {
    if (c->up) return 2 * c->H;
    return c->transposed ? (c->H - 1) * c->s - 2 * c->p + c->k + c->op : (c->H + 2 * c->p - c->k) / c->s + 1;
}
static int out_w(const ccase *c) {
    if (c->up) return 2 * c->W;
    return c->transposed ? (c->W - 1) * c->s - 2 * c->p + c->k + c->op : (c->W + 2 * c->p - c->k) / c->s + 1;
}

/* Index of a padded coordinate in the input, or -1 in zero padding. */
static int src_coord(int i, int n, int reflect) {
    if (reflect) return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    return i < 0 || i >= n ? -1 : i;
}

/* Reference. dy == NULL: y = op(x, w, b). Otherwise adds the gradients for upstream dy into dx, dw,
 * db (each may be NULL). Every term is visited by the same loops in both directions, written
 * from the definition of each op. */
static void ref_op(const ccase *c, const float *x, const float *w, const float *b, double *y, const double *dy,
                   double *dx, double *dw, double *db) {
    if (c->up) { /* the convolution of the upsampled x; x's gradient sums each 2x2 block's */
        ccase u = *c;
        u.up = 0, u.H = 2 * c->H, u.W = 2 * c->W;
        size_t nu = (size_t)c->N * c->Cin * u.H * u.W;
        float *xu = xmalloc(nu * sizeof *xu);
        for (size_t q = 0; q < nu; q++) {
            size_t X = q % u.W, Y = q / u.W % u.H, pl = q / ((size_t)u.W * u.H);
            xu[q] = x[(pl * c->H + Y / 2) * c->W + X / 2];
        }
        double *dxu = dx ? dvec(nu) : NULL;
        ref_op(&u, xu, w, b, y, dy, dxu, dw, db);
        for (size_t q = 0; dx && q < nu; q++) {
            size_t X = q % u.W, Y = q / u.W % u.H, pl = q / ((size_t)u.W * u.H);
            dx[(pl * c->H + Y / 2) * c->W + X / 2] += dxu[q];
        }
        free(xu);
        free(dxu);
        return;
    }
    int N = c->N, Ci = c->Cin, Co = c->Cout, H = c->H, W = c->W, k = c->k, s = c->s, p = c->p;
    int OH = out_h(c), OW = out_w(c);
    if (!dy)
        for (int n = 0; n < N; n++)
            for (int co = 0; co < Co; co++)
                for (int l = 0; l < OH * OW; l++) y[(n * Co + co) * OH * OW + l] = b ? b[co] : 0.0;
    if (dy && db)
        for (int n = 0; n < N; n++)
            for (int co = 0; co < Co; co++)
                for (int l = 0; l < OH * OW; l++) db[co] += dy[(n * Co + co) * OH * OW + l];
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Co; co++)
            for (int ci = 0; ci < Ci; ci++)
                for (int ki = 0; ki < k; ki++)
                    for (int kj = 0; kj < k; kj++) {
                        size_t wi = c->transposed ? (((size_t)ci * Co + co) * k + ki) * k + kj
                                                  : (((size_t)co * Ci + ci) * k + ki) * k + kj;
                        if (!c->transposed) { /* gather: y[oy, ox] reads x at oy*s - p + ki */
                            for (int oy = 0; oy < OH; oy++)
                                for (int ox = 0; ox < OW; ox++) {
                                    int iy = src_coord(oy * s - p + ki, H, c->reflect);
                                    int ix = src_coord(ox * s - p + kj, W, c->reflect);
                                    if (iy < 0 || ix < 0) continue;
                                    size_t xi = (((size_t)n * Ci + ci) * H + iy) * W + ix;
                                    size_t yi = (((size_t)n * Co + co) * OH + oy) * OW + ox;
                                    if (!dy) y[yi] += (double)x[xi] * w[wi];
                                    else {
                                        if (dx) dx[xi] += dy[yi] * w[wi];
                                        if (dw) dw[wi] += dy[yi] * x[xi];
                                    }
                                }
                        } else { /* scatter: x[iy, ix] adds into y at iy*s - p + ki */
                            for (int iy = 0; iy < H; iy++)
                                for (int ix = 0; ix < W; ix++) {
                                    int oy = iy * s - p + ki, ox = ix * s - p + kj;
                                    if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                                    size_t xi = (((size_t)n * Ci + ci) * H + iy) * W + ix;
                                    size_t yi = (((size_t)n * Co + co) * OH + oy) * OW + ox;
                                    if (!dy) y[yi] += (double)x[xi] * w[wi];
                                    else {
                                        if (dx) dx[xi] += dy[yi] * w[wi];
                                        if (dw) dw[wi] += dy[yi] * x[xi];
                                    }
                                }
                        }
                    }
}

/* Compares with relative tolerance rtol against max(|ref|, 0.1 * RMS(ref)): float32 sums of m
 * terms err by ~ m * 6e-8 * |term| at worst, far below 1e-4 of the tensor's RMS, while a missing or
 * misplaced term is of the RMS's order. */
static int cmp(const char *what, const float *got, const double *ref, long n, double rtol) {
    double ss = 0;
    for (long i = 0; i < n; i++) ss += ref[i] * ref[i];
    double rms = sqrt(ss / (n ? n : 1));
    return check_close(what, got, ref, n, rtol, rms > 0 ? 0.1 * rms : 1e-30);
}

/* The forward's, data and weight gradients' tolerance: 1e-4, and 5e-4 for Winograd F(4x4, 3x3) (pass 6), whose
 * transforms (constants up to 8 and 1/24) amplify float32 rounding some 20 times over F(2x2, 3x3)'s: a
 * float32 simulation of both on random 6x6 tiles (8 to 256 channels) errs by up to 2.2e-6 and 9.5e-8 of
 * the sum of |terms|; here up to 1.5e-4 against 6e-6 of the reference. A missing or misplaced term is
 * still of the RMS's order. */
static double fwd_rtol = 1e-4;

static int apply(tape *t, const ccase *c, int x, int w, int b) {
    if (c->up) return op_upsample2x_conv3x3(t, x, w, b);
    return c->transposed ? op_conv_transpose2d(t, x, w, b, c->s, c->p, c->op)
                         : op_conv2d(t, x, w, b, c->s, c->p, c->reflect ? PAD_REFLECT : PAD_ZERO);
}

/* The group limit that gives c->groups samples per group (the column matrix or the channel-major
 * copy, whichever is larger, per sample). */
static size_t group_limit(const ccase *c) {
    int K, OC, L;
    if (c->transposed) {
        K = c->Cout * c->k * c->k, OC = c->Cin, L = c->H * c->W;
    } else {
        K = c->Cin * c->k * c->k, OC = c->Cout, L = out_h(c) * out_w(c);
    }
    return (size_t)(K > OC ? K : OC) * L * c->groups;
}

/* make test-oclgrind keeps the cases of at most this many multiply-adds a pass (every path is among them). */
static int small_case(const ccase *c) {
    return (long)c->N * c->Cin * c->Cout * c->H * c->W * c->k * c->k <= 140000;
}

/* A stride-1 3x3 case (forward or transposed: its data gradient or forward is the stride-1 correlation)
 * with 8+ channels on both sides: Winograd takes it when the thresholds allow (host/ops/conv.c). */
static int winograd_case(const ccase *c) {
    return !c->up && c->k == 3 && c->s == 1 && c->Cin >= 8 && c->Cout >= 8;
}

/* A strided case (forward or transposed): pixel panels take its forward and weight gradient (a transposed
 * convolution's data gradient and weight gradient) when the device's panel_min_k allows (host/ops/conv.c,
 * panel_conv and panel_weight_grad). */
static int panel_case(const ccase *c) { return !c->up && c->s > 1; }
/* pass 5: the strided data gradients and transposed convolutions as the adjoint of space to depth on conv_rows
 * (host/ops/conv.c s2d_adjoint, kp.s2d_dx = 2: any k), zero padding; pass 7 (kp.s2d_dx = 3) those whose k
 * is not a multiple of s phase by phase with each phase's own taps (phase_rows_adjoint) */
static int s2d_adj_case(const ccase *c) { return !c->up && c->s > 1 && !c->reflect; }
static int phase_rows_case(const ccase *c) { return s2d_adj_case(c) && c->k % c->s != 0 && c->k >= c->s; }
/* pass 8: strided convolutions on conv_oc (host/ops/conv.c oc_conv, oc_adjoint; kp.oc_max_k): the forward
 * (a transposed convolution's data gradient) with either padding, the data gradient (a transposed
 * convolution's forward) with zero padding and k >= s, where half a vector of output channels fills */
static int oc_case(const ccase *c) { return !c->up && c->s > 1; }

/* 1: test_case's parameter gradients start as NaN zeroed by net_zero_grad (lazily: the backward's first
 * write must overwrite them, never read them), 0: as random values the backward must add to */
static int lazy_zero;

static void test_case(const ccase *c) {
    int N = c->N, OH = out_h(c), OW = out_w(c), wa = c->transposed ? c->Cin : c->Cout,
        wb = c->transposed ? c->Cout : c->Cin;
    size_t nx = (size_t)N * c->Cin * c->H * c->W, ny = (size_t)N * c->Cout * OH * OW, nw = (size_t)wa * wb * c->k * c->k;
    size_t old_limit = c->groups ? conv_set_group_floats(group_limit(c)) : 0;
    tape t;
    tape_init(&t, cl);
    /* applied twice: the second use takes the packed weights the first cached, as in training (the
     * weights do not change between the uses) */
    t.cache_derived = c->twice;
    /* poison the arena and the ops' scratch: everything the op and the tape allocate starts as NaN */
    tensor probe = arena_tensor(&t.ar, 1 << 21, 1, 1, 1);
    clg_fill(cl, probe.mem, probe.off, 1 << 21, NAN);
    arena_reset(&t.ar);
    probe = tape_scratch(&t, 1 << 21);
    clg_fill(cl, probe.mem, probe.off, 1 << 21, NAN);
    tape_scratch_begin(&t);
    net nt;
    net_init(&nt, cl, "conv");
    int wi = net_add(&nt, "w", 4, (int[]){wa, wb, c->k, c->k});
    int bi = c->bias ? net_add(&nt, "b", 1, (int[]){c->Cout}) : -1;
    net_alloc(&nt);
    float *x = randv(nx, -1, 1), *w = randv(nw, -0.5f, 0.5f), *b = c->bias ? randv(c->Cout, -1, 1) : NULL;
    clg_write(cl, nt.w, nt.p[wi].off, nw, w);
    if (b) clg_write(cl, nt.w, nt.p[bi].off, c->Cout, b);
    float *g0 = randv(nt.total, -1, 1); /* pre-existing parameter gradients */
    clg_write(cl, nt.g, 0, nt.total, g0);
    if (lazy_zero) {
        memset(g0, 0, nt.total * sizeof *g0);
        for (int i = 0; i < nt.np; i++) clg_fill(cl, nt.g, nt.p[i].off, nt.p[i].numel, NAN);
        net_zero_grad(&nt);
    }
    const char *start = lazy_zero ? "overwriting NaN after net_zero_grad" : "added to existing";
    tensor xt = upload_at(x, N, c->Cin, c->H, c->W, 37);
    int xv;
    if (c->x_grad) {
        xv = tape_new(&t, N, c->Cin, c->H, c->W, 1);
        k_axpby(cl, tape_val(&t, xv), xt, nx, 1.0f, 0.0f);
    } else {
        xv = tape_input(&t, xt);
    }
    int wv = tape_param(&t, &nt, wi), bv = c->bias ? tape_param(&t, &nt, bi) : -1;
    int y = apply(&t, c, xv, wv, bv);
    int y2 = c->twice ? apply(&t, c, xv, wv, bv) : -1;
    tensor yt = tape_val(&t, y);
    CHECK(yt.n == N && yt.c == c->Cout && yt.h == OH && yt.w == OW, "%s: output {%d,%d,%d,%d}, want {%d,%d,%d,%d}",
          c->name, yt.n, yt.c, yt.h, yt.w, N, c->Cout, OH, OW);
    double *yr = dvec(ny);
    ref_op(c, x, w, b, yr, NULL, NULL, NULL, NULL);
    char what[128];
    float *yg = download(yt);
    snprintf(what, sizeof what, "%s%s forward", impl_name, c->name);
    cmp(what, yg, yr, (long)ny, fwd_rtol);
    if (y2 >= 0) {
        float *y2g = download(tape_val(&t, y2));
        snprintf(what, sizeof what, "%s%s forward (2nd use)", impl_name, c->name);
        cmp(what, y2g, yr, (long)ny, fwd_rtol);
        free(y2g);
    }
    /* L = 0.5 * sum (y - T)^2 (per use) gives dL/dy = y - T */
    float *T = randv(ny, -1, 1);
    int Tv = tape_input(&t, upload_at(T, N, c->Cout, OH, OW, 5));
    int L = op_sqerr_sum(&t, y, Tv, 0.5f);
    if (y2 >= 0) L = op_lincomb(&t, L, 1.0f, op_sqerr_sum(&t, y2, Tv, 0.5f), 1.0f);
    tape_backward(&t, L);
    double *dy = dvec(ny), *dx = dvec(nx), *dw = dvec(nw), *db = dvec(c->Cout);
    for (size_t i = 0; i < ny; i++) dy[i] = yr[i] - T[i];
    ref_op(c, x, w, b, NULL, dy, dx, dw, b ? db : NULL);
    double uses = c->twice ? 2.0 : 1.0;
    for (size_t i = 0; i < nx; i++) dx[i] *= uses;
    for (size_t i = 0; i < nw; i++) dw[i] = uses * dw[i] + g0[nt.p[wi].off + i];
    for (int i = 0; i < c->Cout && b; i++) db[i] = uses * db[i] + g0[nt.p[bi].off + i];
    float *gall = xmalloc(nt.total * sizeof *gall);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, gall);
    if (c->x_grad) {
        float *dxg = download(t.vars[xv].grad);
        snprintf(what, sizeof what, "%s%s dx", impl_name, c->name);
        cmp(what, dxg, dx, (long)nx, fwd_rtol);
        free(dxg);
    } else {
        CHECK(t.vars[xv].grad.mem == NULL, "%s: an input that wants no gradient got one", c->name);
    }
    snprintf(what, sizeof what, "%s%s dw (%s)", impl_name, c->name, start);
    cmp(what, gall + nt.p[wi].off, dw, (long)nw, fwd_rtol);
    if (b) {
        snprintf(what, sizeof what, "%s%s db (%s)", impl_name, c->name, start);
        cmp(what, gall + nt.p[bi].off, db, c->Cout, 1e-4);
    }
    free(x); free(w); free(b); free(g0); free(yr); free(yg); free(T); free(dy); free(dx); free(dw); free(db);
    free(gall);
    clReleaseMemObject(xt.mem);
    clReleaseMemObject(t.vars[Tv].val.mem);
    net_free(&nt);
    tape_free(&t);
    if (c->groups) conv_set_group_floats(old_limit);
}

/* The forward of c with gradients off, on a tape that caches nothing. */
static float *plain_forward(const ccase *c, net *nt, int wi, int bi, tensor xt) {
    tape t;
    tape_init(&t, cl);
    t.grad_enabled = 0;
    int y = apply(&t, c, tape_input(&t, xt), tape_param(&t, nt, wi), bi >= 0 ? tape_param(&t, nt, bi) : -1);
    float *yg = download(tape_val(&t, y));
    tape_free(&t);
    return yg;
}

/* Inference (tape_set_inference): the packed and transformed weights made on the first forward are kept
 * across tape_reset, so the next forward makes none (the keep arena does not grow) and gives the same
 * bits as a tape that caches nothing; after new weights (a new version) they are made again. */
static void keep_case(const ccase *c) {
    int wa = c->transposed ? c->Cin : c->Cout, wb = c->transposed ? c->Cout : c->Cin;
    size_t nx = (size_t)c->N * c->Cin * c->H * c->W, ny = (size_t)c->N * c->Cout * out_h(c) * out_w(c),
           nw = (size_t)wa * wb * c->k * c->k;
    net nt;
    net_init(&nt, cl, "conv");
    int wi = net_add(&nt, "w", 4, (int[]){wa, wb, c->k, c->k});
    int bi = c->bias ? net_add(&nt, "b", 1, (int[]){c->Cout}) : -1;
    net_alloc(&nt);
    float *x = randv(nx, -1, 1), *w = randv(nw, -0.5f, 0.5f);
    clg_write(cl, nt.w, nt.p[wi].off, nw, w);
    if (bi >= 0) net_init_const(&nt, bi, 0.25f);
    tensor xt = upload_at(x, c->N, c->Cin, c->H, c->W, 11);
    tape t;
    tape_init(&t, cl);
    tape_set_inference(&t);
    size_t kept = 0;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 2) { /* new weights: what was kept is stale */
            float *all = xmalloc(nt.total * sizeof *all);
            net_download(&nt, all);
            for (size_t i = 0; i < nw; i++) all[nt.p[wi].off + i] *= -0.5f;
            net_upload(&nt, all);
            free(all);
        }
        tape_reset(&t);
        /* kept: the entries of the first forward; after new weights, none */
        int entries = t.ncache;
        CHECK(pass != 1 || !kept || entries > 0, "%s%s inference: tape_reset dropped the kept tensors", impl_name,
              c->name);
        CHECK(pass != 2 || entries == 0, "%s%s inference: %d stale entries kept after the weights changed", impl_name,
              c->name, entries);
        int y = apply(&t, c, tape_input(&t, xt), tape_param(&t, &nt, wi), bi >= 0 ? tape_param(&t, &nt, bi) : -1);
        float *yg = download(tape_val(&t, y)), *yp = plain_forward(c, &nt, wi, bi, xt);
        size_t bad = 0;
        for (size_t i = 0; i < ny; i++) bad += memcmp(&yg[i], &yp[i], sizeof(float)) != 0;
        CHECK(bad == 0, "%s%s inference forward %d: %zu of %zu outputs differ from an uncached tape's", impl_name,
              c->name, pass + 1, bad, ny);
        if (pass == 1)
            CHECK(t.keep.in_use == kept && t.ncache == entries,
                  "%s%s inference: the second forward made %zu floats, %d entries again", impl_name, c->name,
                  t.keep.in_use - kept, t.ncache - entries);
        kept = t.keep.in_use;
        free(yg);
        free(yp);
    }
    printf("ok   %s%s inference: 3 forwards bit-identical to an uncached tape's, %zu floats kept\n", impl_name, c->name,
           kept);
    tape_free(&t);
    clReleaseMemObject(xt.mem);
    net_free(&nt);
    free(x);
    free(w);
}

/* ---- finite differences through the tape ----------------------------------------------------
 * x, w and b are all parameters of one net, so a perturbation is a host edit of one float and its
 * analytic gradient lands in net.g (zeroed first). The loss is L = 0.5 * sum (y - T)^2: the
 * analytic gradient comes from tape_backward through op_sqerr_sum; for the differences, y is
 * computed on the device (float32, the same op, gradients off) and L summed on the host in double.
 *
 * Step and tolerance. y is affine in any single element of x, w or b, so L is exactly quadratic in
 * it and the central difference (L(v+) - L(v-)) / (v+ - v-) (v+- the float32 values actually
 * uploaded) has no truncation error at any step: only float32 rounding of y remains. Each y_j is a
 * float32 sum of at most Cin*k*k + 1 terms of size <= ~0.5, rounded to ~1e-7 relative, and a step
 * changes at most Cout*k*k outputs, each moving L by (y_j - T_j) * (its rounding change), |y - T|
 * ~ 1: the difference of L errs by <~ 1e-5, which over 2h = 0.2 is ~ 5e-5 in the gradient. The
 * gradients are O(1) (RMS ~ 0.5 to 5), so the comparison is |fd - an| <= 1e-3 * max(|an|,
 * 0.1 * RMS(an)): ~10x above that error (the worst seen is printed), far below what a wrong
 * gradient gives (one lost or misplaced term, e.g. a reflected contribution mapped to the wrong
 * pixel, is ~ |y - T| * |w| ~ 0.1 to 0.5, a relative error near 1). Every element is checked. */
static double host_loss(const float *y, const float *T, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += 0.5 * ((double)y[i] - T[i]) * ((double)y[i] - T[i]);
    return s;
}

static void fd_case(const ccase *c) {
    int N = c->N, OH = out_h(c), OW = out_w(c), wa = c->transposed ? c->Cin : c->Cout,
        wb = c->transposed ? c->Cout : c->Cin;
    size_t ny = (size_t)N * c->Cout * OH * OW;
    net nt;
    net_init(&nt, cl, "fd");
    int pi[3];
    pi[0] = net_add(&nt, "x", 4, (int[]){N, c->Cin, c->H, c->W});
    pi[1] = net_add(&nt, "w", 4, (int[]){wa, wb, c->k, c->k});
    pi[2] = net_add(&nt, "b", 1, (int[]){c->Cout});
    net_alloc(&nt);
    float *v = xmalloc(nt.total * sizeof *v);
    for (int i = 0; i < 3; i++) {
        float *r = randv(nt.p[pi[i]].numel, i == 1 ? -0.5f : -1.0f, i == 1 ? 0.5f : 1.0f);
        memcpy(v + nt.p[pi[i]].off, r, nt.p[pi[i]].numel * sizeof *r);
        free(r);
    }
    net_upload(&nt, v);
    net_zero_grad(&nt);
    float *T = randv(ny, -1, 1);
    tensor Tt = upload_at(T, N, c->Cout, OH, OW, 3);
    tape t;
    tape_init(&t, cl);
    int y = apply(&t, c, tape_param(&t, &nt, pi[0]), tape_param(&t, &nt, pi[1]), tape_param(&t, &nt, pi[2]));
    tape_backward(&t, op_sqerr_sum(&t, y, tape_input(&t, Tt), 0.5f));
    float *an = xmalloc(nt.total * sizeof *an);
    net_grad_settle(&nt);
    clg_read(cl, nt.g, 0, nt.total, an);
    double *fd = dvec(nt.total);
    float *yv = xmalloc(ny * sizeof *yv);
    const float h = 0.1f;
    t.grad_enabled = 0;
    for (size_t i = 0; i < nt.total; i++) {
        float vp = v[i] + h, vm = v[i] - h;
        double L[2];
        for (int side = 0; side < 2; side++) {
            clg_write(cl, nt.w, i, 1, side ? &vm : &vp);
            tape_reset(&t);
            int yy = apply(&t, c, tape_param(&t, &nt, pi[0]), tape_param(&t, &nt, pi[1]), tape_param(&t, &nt, pi[2]));
            clg_read(cl, tape_val(&t, yy).mem, tape_val(&t, yy).off, ny, yv);
            L[side] = host_loss(yv, T, ny);
        }
        clg_write(cl, nt.w, i, 1, &v[i]);
        fd[i] = (L[0] - L[1]) / ((double)vp - vm);
    }
    const char *names[3] = {"dx", "dw", "db"};
    for (int k = 0; k < 3; k++) {
        char what[128];
        snprintf(what, sizeof what, "%sfd %s %s", impl_name, c->name, names[k]);
        cmp(what, an + nt.p[pi[k]].off, fd + nt.p[pi[k]].off, (long)nt.p[pi[k]].numel, 1e-3);
    }
    free(v); free(T); free(an); free(fd); free(yv);
    clReleaseMemObject(Tt.mem);
    net_free(&nt);
    tape_free(&t);
}

int main(void) {
    char err[2048];
    cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) { fprintf(stderr, "%s\n", err); return 1; }
    char d[512];
    clg_describe(cl, d, sizeof d);
    printf("device: %s\n", d);
    R = rng_seq_make(11, RNG_STREAM_TEST, 0);
    double t0 = now_seconds();
    /* name, transposed, N, Cin, Cout, H, W, k, s, p, op, reflect, bias, x_grad, twice, groups, up */
    const ccase cases[] = {
        {"conv k3 s1 p1 zero 2x3x9x7->5", 0, 2, 3, 5, 9, 7, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k4 s2 p1 zero 3x3x9x7->5", 0, 3, 3, 5, 9, 7, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k7 s1 p3 reflect 2x3x9x7->5", 0, 2, 3, 5, 9, 7, 7, 1, 3, 0, 1, 1, 1, 0, 0, 0},
        {"conv k1 s1 p0 no bias, x input 3x3x9x7->5", 0, 3, 3, 5, 9, 7, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {"conv k3 s2 p1 reflect twice, groups 2+1", 0, 3, 3, 5, 9, 7, 3, 2, 1, 0, 1, 1, 1, 1, 2, 0},
        {"conv k3 s1 p2 reflect 2x3x3x4->5", 0, 2, 3, 5, 3, 4, 3, 1, 2, 0, 1, 1, 1, 0, 0, 0},
        {"conv k4 s2 p0 zero, groups 1+1+1", 0, 3, 3, 5, 9, 7, 4, 2, 0, 0, 0, 1, 1, 0, 1, 0},
        {"convT k4 s2 p1 2x3x9x7->5", 1, 2, 3, 5, 9, 7, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        /* the phases of a stride-2 data gradient packed in one pass (cached: conv_pack_phases), 20
         * output channels (runs of 40 zero-padded to 48) */
        {"conv k4 s2 p1 zero twice 2x7x9x11->20 (phases packed at once)", 0, 2, 7, 20, 9, 11, 4, 2, 1, 0, 0, 1, 1, 1, 0, 0},
        {"convT k4 s2 p1 twice 2x6x5x7->5 (phases packed at once)", 1, 2, 6, 5, 5, 7, 4, 2, 1, 0, 0, 1, 1, 1, 0, 0},
        {"conv k5 s3 p2 zero twice 2x5x10x8->7 (9 phases packed at once)", 0, 2, 5, 7, 10, 8, 5, 3, 2, 0, 0, 1, 1, 1, 0, 0},
        {"conv k4 s3 p1 zero twice 2x40x10x11->17 (9 phases packed at once, 2 row chunks)", 0, 2, 40, 17, 10, 11, 4, 3, 1,
         0, 0, 1, 1, 1, 0, 0},
        {"conv k3 s2 p1 zero twice 2x34x9x8->18 (phases packed at once, 3x3)", 0, 2, 34, 18, 9, 8, 3, 2, 1, 0, 0, 1, 1, 1, 0,
         0},
        {"convT k3 s2 p1 op1 3x3x9x7->5, groups 2+1", 1, 3, 3, 5, 9, 7, 3, 2, 1, 1, 0, 1, 1, 0, 2, 0},
        {"convT k4 s1 p0 from 1x1 3x7x1x1->5, no bias", 1, 3, 7, 5, 1, 1, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0},
        {"convT k3 s1 p1 twice 2x3x9x7->5", 1, 2, 3, 5, 9, 7, 3, 1, 1, 0, 0, 1, 1, 1, 0, 0},
        {"convT k7 s2 p3 op1, x input 3x3x5x4->5", 1, 3, 3, 5, 5, 4, 7, 2, 3, 1, 0, 1, 0, 0, 0, 0},
        /* outputs at least 8 wide (the own kernels' implicit weight gradient), batch 1 (NCHW = channel-major) */
        {"conv k3 s1 p1 reflect batch 1 1x5x12x19->7", 0, 1, 5, 7, 12, 19, 3, 1, 1, 0, 1, 1, 1, 0, 0, 0},
        {"conv k7 s1 p3 reflect 2x3x10x17->4", 0, 2, 3, 4, 10, 17, 7, 1, 3, 0, 1, 1, 1, 0, 0, 0},
        {"conv k3 s1 p3 zero (p > k-1) 2x4x6x9->5", 0, 2, 4, 5, 6, 9, 3, 1, 3, 0, 0, 1, 1, 0, 0, 0},
        {"conv k4 s1 p1 zero twice 2x6x11x13->3", 0, 2, 6, 3, 11, 13, 4, 1, 1, 0, 0, 1, 1, 1, 0, 0},
        {"conv k3 s2 p1 zero batch 1 1x17x20x18->19", 0, 1, 17, 19, 20, 18, 3, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k1 s1 p0 batch 1 1x21x9x10->2", 0, 1, 21, 2, 9, 10, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0},
        {"convT k3 s1 p1 batch 1 1x6x10x12->4", 1, 1, 6, 4, 10, 12, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"convT k4 s2 p1 4x16x4x4->8 (16 columns per sample)", 1, 4, 16, 8, 4, 4, 4, 2, 1, 0, 0, 0, 1, 0, 0, 0},
        /* data gradients by phase (stride s: s*s stride-1 correlations), and k < s (column matrix) */
        {"conv k5 s3 p2 zero 2x3x13x11->4", 0, 2, 3, 4, 13, 11, 5, 3, 2, 0, 0, 1, 1, 0, 0, 0},
        {"convT k2 s2 p0 batch 1 1x4x5x6->3", 1, 1, 4, 3, 5, 6, 2, 2, 0, 0, 0, 1, 1, 0, 0, 0},
        {"conv k1 s2 p0 zero 2x3x9x7->5", 0, 2, 3, 5, 9, 7, 1, 2, 0, 0, 0, 1, 1, 0, 0, 0},
        /* the layers of a small CycleGAN at batch 1 (ngf = ndf = 8, 32x32), as tests/test_cyclegan_parity runs them */
        {"PatchGAN 4x4 s2 batch 1 1x3x32x32->8", 0, 1, 3, 8, 32, 32, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"PatchGAN 4x4 s2 1x8x16x16->16", 0, 1, 8, 16, 16, 16, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"PatchGAN 4x4 s2 1x16x8x8->32", 0, 1, 16, 32, 8, 8, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"PatchGAN 4x4 s1 1x32x4x4->64", 0, 1, 32, 64, 4, 4, 4, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"PatchGAN 4x4 s1 1x64x3x3->1", 0, 1, 64, 1, 3, 3, 4, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"ResNet G c7s1 reflect 1x3x32x32->8", 0, 1, 3, 8, 32, 32, 7, 1, 3, 0, 1, 1, 1, 0, 0, 0},
        {"ResNet G 3x3 s2 1x8x32x32->16", 0, 1, 8, 16, 32, 32, 3, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"ResNet G 3x3 s2 1x16x16x16->32", 0, 1, 16, 32, 16, 16, 3, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"ResNet G block reflect 1x32x8x8->32", 0, 1, 32, 32, 8, 8, 3, 1, 1, 0, 1, 1, 1, 0, 0, 0},
        {"ResNet G up conv 1x32x16x16->16", 0, 1, 32, 16, 16, 16, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"ResNet G up conv 1x16x32x32->8", 0, 1, 16, 8, 32, 32, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        /* the weight gradient on the data gradient's padded copy of dy (cgeom.dy_pad): a batch of planes
         * narrower than the grid's rounding (8x9: PW 11), and k5 p2; the third small enough for Oclgrind */
        {"conv k3 s1 p1 zero 6x9x8x9->10", 0, 6, 9, 10, 8, 9, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k5 s1 p2 zero 2x8x17x19->9", 0, 2, 8, 9, 17, 19, 5, 1, 2, 0, 0, 0, 1, 0, 0, 0},
        {"conv k3 s1 p1 zero 4x8x9x9->2", 0, 4, 8, 2, 9, 9, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"ResNet G c7s1 reflect 1x8x32x32->3", 0, 1, 8, 3, 32, 32, 7, 1, 3, 0, 1, 1, 1, 0, 0, 0},
        /* stride 1 with 8 or more output channels (kernels/conv_rows.cl on the own path): panels of 8
         * channels with a partial last one, rows of the padded width, several samples */
        {"conv k3 s1 p1 reflect twice 2x11x9x21->13", 0, 2, 11, 13, 9, 21, 3, 1, 1, 0, 1, 1, 1, 1, 0, 0},
        /* a grid whose last pixels go to conv_rows1 (host/ops/conv.c, rows_conv: a second launch where
         * rounding the blocks up would waste more than a 16th): 399 pixels at 48 or 32 a block (the
         * AVX-512 default, and a --tune set), 66 at 8 (the AVX2 set) */
        {"conv k3 s1 p1 zero 1x5x19x19->8 (conv_rows + conv_rows1)", 0, 1, 5, 8, 19, 19, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k3 s1 p1 zero twice 2x5x6x9->9 (conv_rows + conv_rows1)", 0, 2, 5, 9, 6, 9, 3, 1, 1, 0, 0, 1, 1, 1, 0, 0},
        {"conv k3 s1 p1 reflect twice 2x9x7x37->10 (Winograd, vector and single tiles)",
         0, 2, 9, 10, 7, 37, 3, 1, 1, 0, 1, 1, 1, 1, 0, 0},
        {"conv k3 s1 p1 reflect twice 3x16x5x7->9 (Winograd weight gradient, 3 samples)",
         0, 3, 16, 9, 5, 7, 3, 1, 1, 0, 1, 1, 1, 1, 0, 0},
        {"conv k3 s1 p1 zero 1x8x3x50->8 (Winograd, 16 + 8 + 1 tiles a row)",
         0, 1, 8, 8, 3, 50, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k3 s1 p1 zero 2x8x5x4->8 (Winograd, odd outputs)", 0, 2, 8, 8, 5, 4, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        /* F(4x4, 3x3) (pass 6): 16 + 1 tiles a row, 2 of a tile's 4 rows; 16 + 2 and a last tile 3 wide, 7 rows
         * (a tile row of 3), reflected, accumulated; 8 + 1 tiles a row */
        {"conv k3 s1 p1 zero 1x8x2x66->8 (Winograd, 16 + 1 tiles a row)", 0, 1, 8, 8, 2, 66, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k3 s1 p1 reflect twice 2x8x7x71->9 (Winograd, 16 + 2 tiles, a partial tile)",
         0, 2, 8, 9, 7, 71, 3, 1, 1, 0, 1, 1, 1, 1, 0, 0},
        {"conv k3 s1 p1 zero 2x12x9x35->16 (Winograd, 8 + 1 tiles a row)", 0, 2, 12, 16, 9, 35, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"convT k4 s1 p0 from 1x1 5x100x1x1->64", 1, 5, 100, 64, 1, 1, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0},
        {"conv k4 s1 p0 to 1x1 5x64x4x4->1", 0, 5, 64, 1, 4, 4, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0},
        {"conv k2 s1 p1 zero 3x9x5x6->8", 0, 3, 9, 8, 5, 6, 2, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        /* few output pixels over the batch and a long K (own path: conv_im2row + conv_rows weight
         * gradient): stride 2 with reflection, several samples, a partial panel and a row remainder */
        {"conv k3 s2 p1 reflect twice 3x8x9x11->12 (transposed column matrix)", 0, 3, 8, 12, 9, 11, 3, 2, 1, 0, 1, 1, 1,
         1, 0, 0},
        {"conv k2 s1 p1 zero 2x21x5x6->9 (transposed column matrix, 16 + 5 channels a work-item)", 0, 2, 21, 9, 5, 6, 2,
         1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k3 s2 p1 reflect 2x6x7x9->9 (transposed column matrix, small)", 0, 2, 6, 9, 7, 9, 3, 2, 1, 0, 1, 1, 1, 0,
         0, 0},
        /* the same outer product past 320 pixels, where the other path would be the column matrix: an
         * image too small for the polyphase split (its grid would add over 60%), and one under 8 columns */
        {"conv k3 s2 p1 zero 90x9x3x3->9 (transposed column matrix, 360 pixels)", 0, 90, 9, 9, 3, 3, 3, 2, 1, 0, 0, 1, 1,
         0, 0, 0},
        {"conv k3 s1 p1 reflect twice 8x16x6x7->9 (transposed column matrix, 336 pixels)", 0, 8, 16, 9, 6, 7, 3, 1, 1,
         0, 1, 1, 1, 1, 0, 0},
        {"convT k3 s1 p1 2x13x7x5->9", 1, 2, 13, 9, 7, 5, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        /* stride 2 over a batch past 320 pixels: the polyphase weight gradient as one reduction over the
         * channel-major batch (phase_weight_grad_batch; windows read past each sample's grid) */
        {"conv k3 s2 p1 zero 10x9x10x13->9 (batched polyphase weight gradient)", 0, 10, 9, 9, 10, 13, 3, 2, 1, 0, 0, 1,
         1, 0, 0, 0},
        {"conv k3 s2 p1 reflect twice 4x2x21x17->3 (batched polyphase)", 0, 4, 2, 3, 21, 17, 3, 2, 1, 0, 1, 1, 1, 1, 0,
         0},
        {"conv k4 s2 p1 zero 4x5x23x17->7 (batched polyphase, DCGAN's D)", 0, 4, 5, 7, 23, 17, 4, 2, 1, 0, 0, 1, 1, 0, 0,
         0},
        {"convT k4 s2 p1 6x7x9x7->5 (batched polyphase, DCGAN's G)", 1, 6, 7, 5, 9, 7, 4, 2, 1, 0, 0, 0, 1, 0, 0, 0},
        /* stride s with k*C <= 8 (own path: the space-to-depth copy's s*s*C channels on conv_rows,
         * s2d_conv): a partial panel, reflection and a second use, k < 2s (taps past k zero), 9 phases,
         * and a transposed convolution's data gradient from one channel */
        {"conv k4 s2 p1 zero 2x1x17x20->9 (space to depth, DCGAN's D1)", 0, 2, 1, 9, 17, 20, 4, 2, 1, 0, 0, 1, 1, 0, 0,
         0},
        {"conv k4 s2 p1 reflect twice 2x2x13x16->8 (space to depth)", 0, 2, 2, 8, 13, 16, 4, 2, 1, 0, 1, 1, 1, 1, 0, 0},
        {"conv k3 s2 p1 zero 2x1x13x15->10 (space to depth, k < 2s)", 0, 2, 1, 10, 13, 15, 3, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k5 s3 p2 zero 2x1x20x17->8 (space to depth, 9 phases)", 0, 2, 1, 8, 20, 17, 5, 3, 2, 0, 0, 1, 1, 0, 0, 0},
        {"convT k4 s2 p1 3x12x9x11->1 (space to depth: its data gradient, DCGAN's G5)", 1, 3, 12, 1, 9, 11, 4, 2, 1, 0,
         0, 0, 1, 0, 0, 0},
        /* few output pixels over the batch, zero padding, whole vectors of weights a channel (few_conv,
         * few_adjoint: the weight read unpacked; U-Net's inner layers) */
        {"conv k4 s2 p1 zero twice 2x32x4x4->24 (few pixels)", 0, 2, 32, 24, 4, 4, 4, 2, 1, 0, 0, 1, 1, 1, 0, 0},
        {"conv k4 s2 p1 zero 1x48x2x2->20 (few pixels, 1x1 out)", 0, 1, 48, 20, 2, 2, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k3 s1 p1 zero 1x16x3x3->17 (few pixels, 3x3)", 0, 1, 16, 17, 3, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 0},
        {"conv k4 s2 p1 zero 3x16x3x5->18 (few pixels, 1x2 out)", 0, 3, 16, 18, 3, 5, 4, 2, 1, 0, 0, 1, 1, 0, 0, 0},
        {"convT k4 s2 p1 twice 3x32x2x2->16 (few pixels)", 1, 3, 32, 16, 2, 2, 4, 2, 1, 0, 0, 1, 1, 1, 0, 0},
        {"conv k4 s2 p1 zero 5x16x8x8->16 (few pixels a sample, 80 over the batch)", 0, 5, 16, 16, 8, 8, 4, 2, 1, 0, 0, 1,
         1, 0, 0, 0},
        /* the channels-last copy's 16x16 register blocks (conv_pad_hwc): full and partial channel and
         * column blocks, reflected rows and the padding columns */
        {"conv k3 s2 p1 reflect 2x19x18x35->6 (channels-last blocks)", 0, 2, 19, 6, 18, 35, 3, 2, 1, 0, 1, 1, 1, 0, 0, 0},
        {"conv k4 s2 p2 zero 1x32x16x33->5 (channels-last blocks)", 0, 1, 32, 5, 16, 33, 4, 2, 2, 0, 0, 1, 1, 0, 0, 0},
        /* nearest x2 upsampling + 3x3 conv as one 2x2 conv by phases (op_upsample2x_conv3x3) */
        {"up2 + conv3x3 2x5x6x7->4", 0, 2, 5, 4, 6, 7, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},
        {"up2 + conv3x3 twice, no bias, x input 3x3x5x3->2", 0, 3, 3, 2, 5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 0, 1},
        {"up2 + conv3x3 (ResNet G u-layer) 1x32x16x16->16", 0, 1, 32, 16, 16, 16, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},
        /* strided products as GEMMs over the batch on pixel panels (panel_conv, panel_weight_grad; the
         * device's panel_min_k or pass 4's 0): K in two chunks of channels (128 + 2 of 16 taps, the second
         * accumulating) and the batch in two chunks (2 + 1 samples of 400 pixels), a partial panel of
         * output channels, the weight gradient in two chunks of pixels (1008 + 192); reflection, a partial
         * block of reduction indices (63 = 48 + 15) and a second use; 3x3 taps at odd sizes */
        {"conv k4 s2 p1 zero 3x130x40x40->9 (pixel panels, K and batch chunks)", 0, 3, 130, 9, 40, 40, 4, 2, 1, 0, 0, 1,
         1, 0, 0, 0},
        {"conv k3 s2 p1 reflect twice 2x7x12x10->11 (pixel panels, partial blocks)", 0, 2, 7, 11, 12, 10, 3, 2, 1, 0, 1,
         1, 1, 1, 0, 0},
        {"conv k3 s2 p1 zero 3x20x11x13->17 (pixel panels, 3x3 taps)", 0, 3, 20, 17, 11, 13, 3, 2, 1, 0, 0, 1, 1, 0, 0,
         0},
        /* the data gradient phase by phase with each phase's own taps (phase_rows_adjoint, kp.s2d_dx 3 and
         * pass 7): 5x5 stride 2 (3x3, 3x2, 2x3, 2x2 taps), 5x5 stride 3 (phases of 2 and 1 taps), a transposed
         * 3x3 stride 2 with output padding (the ResNet generator's up-sampling) accumulated, a partial panel
         * of channels, odd sizes; the last two small enough for Oclgrind */
        {"conv k5 s2 p2 zero twice 2x9x13x15->10 (phases with their own taps)", 0, 2, 9, 10, 13, 15, 5, 2, 2, 0, 0, 1, 1,
         1, 0, 0},
        {"conv k5 s3 p1 zero 1x12x20x17->8 (phases with their own taps)", 0, 1, 12, 8, 20, 17, 5, 3, 1, 0, 0, 1, 1, 0, 0,
         0},
        {"convT k3 s2 p1 op1 twice 1x8x6x7->9 (phases with their own taps)", 1, 1, 8, 9, 6, 7, 3, 2, 1, 1, 0, 1, 1, 1, 0,
         0},
        {"conv k3 s2 p1 zero 1x9x13x13->8 (phases with their own taps)", 0, 1, 9, 8, 13, 13, 3, 2, 1, 0, 0, 1, 1, 0, 0, 0},
    };
    const ccase fds[] = {
        {"conv k3 s1 p2 reflect 2x3x5x6->4", 0, 2, 3, 4, 5, 6, 3, 1, 2, 0, 1, 1, 1, 0, 0, 0},
        {"conv k3 s1 p1 reflect 1x2x5x9->3", 0, 1, 2, 3, 5, 9, 3, 1, 1, 0, 1, 1, 1, 0, 0, 0},
        {"convT k3 s2 p1 op1 2x3x4x3->4", 1, 2, 3, 4, 4, 3, 3, 2, 1, 1, 0, 1, 1, 0, 0, 0},
        {"up2 + conv3x3 2x2x3x4->3", 0, 2, 2, 3, 3, 4, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},
        {"conv k3 s1 p1 reflect 1x9x4x5->10", 0, 1, 9, 10, 4, 5, 3, 1, 1, 0, 1, 1, 1, 0, 0, 0},
        {"conv k3 s1 p1 reflect 2x16x3x5->8", 0, 2, 16, 8, 3, 5, 3, 1, 1, 0, 1, 1, 1, 0, 0, 0},
    };
    const char *names[8] = {"[clblast] ", "[own] ", "[own, Winograd] ", "[own, panels] ", "[own, s2d adjoint] ",
                            "[own, Winograd 4x4] ", "[own, phases with their own taps] ", "[own, conv_oc] "};
    const clg_kparams dflt = cl->kp;
    for (int impl = 1; impl <= 8; impl++) {
        /* pass 3: the own kernels with Winograd wherever it can run (the device's thresholds send these
         * small 3x3 stride-1 cases to conv_rows in pass 2), on the cases it can take; pass 4 likewise with
         * pixel panels for every strided case; pass 5 the space-to-depth adjoint for every strided data
         * gradient and transposed convolution that fits conv_rows (pass 2 has the device's choice); pass 3
         * Winograd's F(2x2, 3x3) only, pass 6 its F(4x4, 3x3) for every forward, data and weight gradient;
         * pass 7 the strided data gradients whose k is not whole phases phase by phase on conv_rows; pass 8
         * every strided case that fits on conv_oc (pass 2 has the device's oc_max_k) */
        int wino = impl == 3 || impl == 6, panels = impl == 4, s2d = impl == 5, phases = impl == 7, oc = impl == 8;
        conv_set_impl(impl >= 3 ? 2 : impl);
        cl->kp.wino_min_c = wino ? 0 : dflt.wino_min_c;
        cl->kp.wino_min_w = wino ? 0 : dflt.wino_min_w;
        cl->kp.wino_dw_min_c = wino ? 0 : dflt.wino_dw_min_c;
        cl->kp.panel_min_k = panels ? 0 : dflt.panel_min_k;
        cl->kp.s2d_dx = s2d ? 2 : phases ? 3 : dflt.s2d_dx;
        cl->kp.wino4_min_w = impl == 3 ? 4096 : impl == 6 ? 0 : dflt.wino4_min_w;
        /* conv_oc comes before the panels and the adjoints it would take from passes 3-7 */
        cl->kp.oc_max_k = oc ? 65536 : impl >= 3 ? 0 : dflt.oc_max_k;
        fwd_rtol = impl == 6 ? 5e-4 : 1e-4;
        impl_name = names[impl - 1];
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            if ((!test_small() || small_case(&cases[i])) && (!wino || winograd_case(&cases[i])) &&
                (!panels || panel_case(&cases[i])) && (!s2d || s2d_adj_case(&cases[i])) &&
                (!phases || phase_rows_case(&cases[i])) && (!oc || oc_case(&cases[i]))) {
                lazy_zero = (int)((i + (size_t)impl) % 2); /* each case both ways over the passes */
                test_case(&cases[i]);
                /* the own kernels cache packings (CLBlast's path has none); under Oclgrind (test_small) the
                 * kernels are test_case's again */
                if (!cases[i].groups && impl > 1 && !test_small()) keep_case(&cases[i]);
            }
        for (size_t i = 0; i < sizeof fds / sizeof fds[0] && !test_small(); i++)
            if ((!wino || winograd_case(&fds[i])) && (!panels || panel_case(&fds[i])) && (!s2d || s2d_adj_case(&fds[i])) &&
                (!phases || phase_rows_case(&fds[i])) && (!oc || oc_case(&fds[i])))
                fd_case(&fds[i]);
    }
    cl->kp = dflt;
    conv_set_impl(0);
    printf("conv tests took %.1f s\n", now_seconds() - t0);
    clg_close(cl);
    TEST_END();
}
