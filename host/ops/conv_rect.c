/* Rectangular convolutions (host/ops_conv_rect.h) as im2col + GEMM, per group of G samples:
 *   forward      Y' {OC, G*L} = Wm {OC, K} * cols {K, G*L}, then permuted to NCHW (+ bias);
 *   data grad    dcols = Wm^T * dY' , then col2im into dx;
 *   weight grad  dWm += dY' * cols^T (cols recomputed from x);
 * with K = C*kh*kw, L = OH*OW and dY' the channel-major copy of dy (kernels/conv_rect.cl). Its own
 * kernels, not conv.c's, so the square convolutions' kernels can change without touching this file. */
#include <limits.h>

#include "blas.h"
#include "kernel_launch.h"
#include "ops.h"
#include "ops_conv_rect.h"
#include "util.h"

#define RECT_GROUP_FLOATS ((size_t)1 << 22)

typedef struct {
    int N, C, IH, IW, OC, OH, OW, kh, kw, sh, sw, ph, pw;
} rgeom;

static int rK(const rgeom *g) { return g->C * g->kh * g->kw; }
static int rL(const rgeom *g) { return g->OH * g->OW; }

/* Kernel offsets and sizes are ints. */
static int ri(size_t v, const char *what) {
    if (v > (size_t)INT_MAX) die("op_conv2d_rect: %s (%zu) does not fit the kernels' int arguments", what, v);
    return (int)v;
}

/* Samples per group: the larger of the column matrix and the channel-major output within the limit. */
static int rgroup(const rgeom *g) {
    size_t per = (size_t)(rK(g) > g->OC ? rK(g) : g->OC) * (size_t)rL(g);
    size_t G = RECT_GROUP_FLOATS / (per ? per : 1);
    if (G < 1) G = 1;
    if (G > (size_t)g->N) G = (size_t)g->N;
    return (int)G;
}

/* The op's scratch (tape_scratch): the column matrix and the channel-major output, per group. */
static void rscratch(tape *t, const rgeom *g, int G, tensor *cols, tensor *tmp) {
    size_t GL = (size_t)G * rL(g);
    tape_scratch_begin(t);
    *cols = tape_scratch(t, ri((size_t)rK(g) * GL, "column matrix size"));
    *tmp = tape_scratch(t, ri((size_t)g->OC * GL, "output size"));
}

static void rim2col(clg_ctx *c, const rgeom *g, tensor cols, tensor x, int n0, int G) {
    size_t xoff = x.off + (size_t)n0 * g->C * g->IH * g->IW;
    kl_conv_rect_im2col(c, clg_grid_1d((size_t)rK(g) * G), cols.mem, ri(cols.off, "offset"), x.mem, ri(xoff, "offset"), G,
                        g->C, g->IH, g->IW, g->OH, g->OW, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw);
}

static void forward(tape *t, const rgeom *g, tensor x, tensor w, tensor b, tensor y) {
    clg_ctx *c = t->cl;
    int G = rgroup(g), K = rK(g), L = rL(g);
    tensor cols, tmp;
    rscratch(t, g, G, &cols, &tmp);
    for (int n0 = 0; n0 < g->N; n0 += G) {
        int Gn = g->N - n0 < G ? g->N - n0 : G;
        size_t GL = (size_t)Gn * L;
        rim2col(c, g, cols, x, n0, Gn);
        blas_gemm(c, 0, 0, g->OC, GL, K, 1.0f, w.mem, w.off, K, cols.mem, cols.off, GL, 0.0f, tmp.mem, tmp.off, GL);
        size_t yoff = y.off + (size_t)n0 * g->OC * L;
        kl_conv_rect_to_nchw(c, clg_grid_1d(ri((size_t)g->OC * GL, "output size")), y.mem, ri(yoff, "offset"), tmp.mem,
                             ri(tmp.off, "offset"), b.mem ? b.mem : tmp.mem, ri(b.off, "offset"), b.mem != NULL, Gn,
                             g->OC, L, 0.0f);
    }
}

static rgeom geom_of(tensor x, tensor w, tensor y, const int *iarg) {
    return (rgeom){.N = x.n, .C = x.c, .IH = x.h, .IW = x.w, .OC = w.n, .OH = y.h, .OW = y.w, .kh = w.h, .kw = w.w,
                   .sh = iarg[0], .sw = iarg[1], .ph = iarg[2], .pw = iarg[3]};
}

static void conv_rect_backward(tape *t, const tnode *nd) {
    clg_ctx *c = t->cl;
    tensor x = tape_val(t, nd->in[0]), w = tape_val(t, nd->in[1]), dy = tape_out_grad(t, nd);
    rgeom g = geom_of(x, w, dy, nd->iarg);
    float bx, bw, bb = 0;
    tensor dx = tape_grad(t, nd->in[0], &bx), dw = tape_grad(t, nd->in[1], &bw);
    tensor db = nd->nin > 2 ? tape_grad(t, nd->in[2], &bb) : (tensor){0};
    if (db.mem)
        kl_conv_rect_bias_grad(c, clg_grid_1d((size_t)g.OC), db.mem, ri(db.off, "offset"), dy.mem, ri(dy.off, "offset"),
                               g.N, g.OC, rL(&g), bb);
    if (!dx.mem && !dw.mem) return;
    int G = rgroup(&g), K = rK(&g), L = rL(&g);
    tensor cols, dyc;
    rscratch(t, &g, G, &cols, &dyc);
    for (int n0 = 0; n0 < g.N; n0 += G) {
        int Gn = g.N - n0 < G ? g.N - n0 : G;
        size_t GL = (size_t)Gn * L;
        size_t dyoff = dy.off + (size_t)n0 * g.OC * L;
        kl_conv_rect_from_nchw(c, clg_grid_1d(ri((size_t)g.OC * GL, "output size")), dyc.mem, ri(dyc.off, "offset"), dy.mem,
                               ri(dyoff, "offset"), Gn, g.OC, L);
        if (dw.mem) { /* dWm (+)= dY' cols^T; the first group writes with the tape's beta, later ones add */
            rim2col(c, &g, cols, x, n0, Gn);
            blas_gemm(c, 0, 1, g.OC, K, GL, 1.0f, dyc.mem, dyc.off, GL, cols.mem, cols.off, GL, n0 ? 1.0f : bw, dw.mem,
                      dw.off, K);
        }
        if (dx.mem) { /* cols is free again (the queue is in order): dcols = Wm^T dY', then col2im */
            blas_gemm(c, 1, 0, K, GL, g.OC, 1.0f, w.mem, w.off, K, dyc.mem, dyc.off, GL, 0.0f, cols.mem, cols.off, GL);
            size_t xoff = dx.off + (size_t)n0 * g.C * g.IH * g.IW;
            kl_conv_rect_col2im(c, clg_grid_1d(ri((size_t)Gn * g.C * g.IH * g.IW, "input size")), dx.mem, ri(xoff, "offset"),
                                cols.mem, ri(cols.off, "offset"), Gn, g.C, g.IH, g.IW, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw,
                                g.ph, g.pw, bx);
        }
    }
}

int op_conv2d_rect(tape *t, int x, int w, int b, int sh, int sw, int ph, int pw) {
    tensor xv = tape_val(t, x), wv = tape_val(t, w);
    if (sh < 1 || sw < 1 || ph < 0 || pw < 0) die("op_conv2d_rect: stride (%d, %d), padding (%d, %d)", sh, sw, ph, pw);
    if (wv.c != xv.c)
        die("op_conv2d_rect: weight {%d, %d, %d, %d} takes %d channels, the input {%d, %d, %d, %d} has %d (a wiring bug)",
            wv.n, wv.c, wv.h, wv.w, wv.c, xv.n, xv.c, xv.h, xv.w, xv.c);
    if (xv.h + 2 * ph < wv.h || xv.w + 2 * pw < wv.w)
        die("op_conv2d_rect: input %dx%d padded by (%d, %d) is smaller than the %dx%d kernel", xv.h, xv.w, ph, pw, wv.h, wv.w);
    tensor bv = {0};
    if (b >= 0) {
        bv = tape_val(t, b);
        if (tnumel(bv) != (size_t)wv.n) die("op_conv2d_rect: bias of %zu values for %d output channels", tnumel(bv), wv.n);
    }
    int oh = (xv.h + 2 * ph - wv.h) / sh + 1, ow = (xv.w + 2 * pw - wv.w) / sw + 1;
    int in[3] = {x, w, b};
    int nin = b >= 0 ? 3 : 2;
    int y = tape_new(t, xv.n, wv.n, oh, ow, tape_any_grad(t, nin, in));
    int iarg[4] = {sh, sw, ph, pw};
    rgeom g = geom_of(xv, wv, tape_val(t, y), iarg);
    forward(t, &g, xv, wv, bv, tape_val(t, y));
    tnode *nd = tape_record(t, conv_rect_backward, "conv2d_rect", y, nin, in);
    if (nd)
        for (int i = 0; i < 4; i++) nd->iarg[i] = iarg[i];
    return y;
}
