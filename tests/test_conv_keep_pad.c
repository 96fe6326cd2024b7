/* op_conv2d keeps the forward's padded image for the weight gradient that reads the same copy
 * (host/ops/conv.c padded_img: a stride-1 convolution on conv_rows whose weight gradient runs over the
 * padded image's flat grid, from 7 x 7 images on). Cases on the own kernels with Winograd off, zero and
 * reflection padding:
 * - the weight gradient against a double-precision reference (y - T upstream of 0.5 * sum (y - T)^2),
 *   with the image a leaf that wants a gradient and one that does not (a first layer);
 * - conv_pad launches: one in the forward; in the backward only the upstream gradient's (the data
 *   gradient's, which the weight gradient reads too under zero padding, else also the weight gradient's
 *   own), none for the image;
 * - a frozen weight (no weight gradient) keeps nothing: its forward takes less of the step arena than
 *   the same forward with a weight that wants a gradient, by at least the padded image. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "kernel_test.h"
#include "ops.h"
#include "util.h"

typedef struct {
    const char *name;
    int N, C, OC, H, W, reflect;
} kcase;

static int reflect_idx(int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; }

/* The image's value at padded position (y, x) (padding 1), or 0 outside it with zero padding. */
static double pixel(const kcase *k, const float *x, int n, int c, int y, int xx) {
    y -= 1, xx -= 1;
    if (k->reflect) y = reflect_idx(y, k->H), xx = reflect_idx(xx, k->W);
    else if (y < 0 || y >= k->H || xx < 0 || xx >= k->W) return 0.0;
    return x[(((size_t)n * k->C + c) * k->H + y) * k->W + xx];
}

/* One forward and backward; x_grad: the image wants a gradient; w_grad: the weight does. Returns dW
 * (w_grad) and y; the conv_pad launches of the forward and the backward; the arena in use after the
 * forward. */
static void run(const kcase *k, int x_grad, int w_grad, const float *x, const float *w, const float *T, float **dw,
                float **y, long *fwd_pads, long *bwd_pads, size_t *arena_used) {
    tape t;
    tape_init(&t, cl);
    int xv = x_grad ? grad_leaf(&t, x, k->N, k->C, k->H, k->W, 29, 31)
                    : tape_input(&t, upload_at(x, k->N, k->C, k->H, k->W, 29));
    int wv = w_grad ? grad_leaf(&t, w, k->OC, k->C, 3, 3, 7, 13) : tape_input(&t, upload_at(w, k->OC, k->C, 3, 3, 7));
    long before = launches("conv_pad");
    size_t used = t.ar.in_use;
    int yv = op_conv2d(&t, xv, wv, -1, 1, 1, k->reflect ? PAD_REFLECT : PAD_ZERO);
    *fwd_pads = launches("conv_pad") - before;
    *arena_used = t.ar.in_use - used;
    tensor yt = tape_val(&t, yv);
    int loss = op_sqerr_sum(&t, yv, tape_input(&t, upload_at(T, yt.n, yt.c, yt.h, yt.w, 3)), 0.5f);
    before = launches("conv_pad");
    tape_backward(&t, loss);
    *bwd_pads = launches("conv_pad") - before;
    *y = dev_download(cl, yt);
    *dw = w_grad ? dev_download(cl, t.vars[wv].grad) : NULL;
    tape_free(&t);
}

static void test_case(const kcase *k) {
    size_t nx = (size_t)k->N * k->C * k->H * k->W, nw = (size_t)k->OC * k->C * 9;
    size_t ny = (size_t)k->N * k->OC * k->H * k->W;
    size_t padded = (size_t)k->N * k->C * (k->H + 2) * (k->W + 2);
    float *x = randnz(nx, 0.05f, 1.0f), *w = randnz(nw, 0.05f, 0.5f), *T = randnz(ny, 0.0f, 1.0f);
    for (int x_grad = 1; x_grad >= 0; x_grad--) {
        float *dw, *y;
        long fp, bp;
        size_t used;
        run(k, x_grad, 1, x, w, T, &dw, &y, &fp, &bp, &used);
        double worst = 0;
        for (int o = 0; o < k->OC; o++)
            for (int c = 0; c < k->C; c++)
                for (int ki = 0; ki < 3; ki++)
                    for (int kj = 0; kj < 3; kj++) {
                        double s = 0, mag = 0;
                        for (int n = 0; n < k->N; n++)
                            for (int oy = 0; oy < k->H; oy++)
                                for (int ox = 0; ox < k->W; ox++) {
                                    size_t iy = (((size_t)n * k->OC + o) * k->H + oy) * k->W + ox;
                                    double d = (double)y[iy] - T[iy], p = pixel(k, x, n, c, oy + ki, ox + kj);
                                    s += d * p;
                                    mag += fabs(d * p);
                                }
                        double e = fabs(dw[((size_t)(o * k->C + c) * 3 + ki) * 3 + kj] - s) / fmax(mag, 1e-3);
                        if (!(e <= worst)) worst = e; /* NaN too */
                    }
        const char *who = x_grad ? "image and weight want gradients" : "only the weight wants one";
        CHECK(worst <= 1e-5, "%s (%s): dW against the double reference: max err %.3g of the terms' magnitude",
              k->name, who, worst);
        printf("%s %s (%s): dW, %zu values, max err %.3g of the terms' magnitude\n", worst <= 1e-5 ? "ok  " : "FAIL",
               k->name, who, nw, worst);
        /* the upstream gradient's copies: the data gradient's, which the weight gradient reads too under zero
         * padding, else the weight gradient's own */
        long want = x_grad && k->reflect ? 2 : 1;
        CHECK(fp == 1 && bp == want, "%s (%s): conv_pad launches %ld in the forward, %ld in the backward, want 1 and "
              "%ld", k->name, who, fp, bp, want);
        printf("%s %s (%s): conv_pad launches %ld forward (the image), %ld backward (want %ld: copies of the upstream "
               "gradient only)\n", fp == 1 && bp == want ? "ok  " : "FAIL", k->name, who, fp, bp, want);
        if (x_grad) {
            float *y2;
            size_t frozen;
            run(k, 1, 0, x, w, T, &dw, &y2, &fp, &bp, &frozen);
            int ok = used >= frozen + padded;
            CHECK(ok, "%s: forward's arena use %zu floats with a frozen weight, %zu with a trained one: want a "
                  "difference of at least the padded image's %zu", k->name, frozen, used, padded);
            printf("%s %s: forward's arena use %zu floats with a frozen weight, %zu with a trained one (the padded "
                   "image kept: %zu)\n", ok ? "ok  " : "FAIL", k->name, frozen, used, padded);
            free(y2);
        }
        free(dw);
        free(y);
    }
    free(x); free(w); free(T);
    release_bufs();
}

int main(void) {
    if (!open_counting(47, 3)) return 1; /* conv_pad's launches are counted */
    conv_set_impl(2);         /* the own kernels (conv_rows) on any device */
    cl->kp.wino_min_c = 4096; /* not Winograd: the forward on conv_rows, the weight gradient on the grid */
    cl->kp.wino_dw_min_c = 4096;
    /* over ROWS_WGRAD_MAX (320) output pixels: the grid weight gradient, not the small-image one */
    static const kcase cases[] = {
        {"conv3x3 s1 3x16x19x21->16 zero padding", 3, 16, 16, 19, 21, 0},
        {"conv3x3 s1 2x16x17x23->24 reflection padding", 2, 16, 24, 17, 23, 1},
        /* 7 columns: the grid weight gradient too (its padding and rounding add at most a third) */
        {"conv3x3 s1 8x16x7x7->16 zero padding", 8, 16, 16, 7, 7, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    conv_set_impl(0);
    close_counting();
    TEST_END();
}
