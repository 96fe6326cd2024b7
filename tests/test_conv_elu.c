/* op_conv2d_elu (host/ops_conv.h): a convolution with the ELU in its epilogue where the forward runs on
 * conv_rows, and the ELU's gradient in the data gradient's padding where that runs on conv_rows
 * (conv_pad with alpha), against op_elu(op_conv2d(...)) on the same inputs: y, and the gradients of x, w and b
 * (leaves whose gradient buffers start as NaN), compared to 1e-6 relative (the fused kernels compute
 * elu_fwd's and elu_bwd's operations: on PoCL they agree bit for bit, and the test says whether they
 * did). Cases on the own kernels with Winograd off: stride-1 3x3 convolutions with 16 output channels,
 * which conv_rows computes (no elu_fwd launch may be left), whose data gradient (3 image channels: not
 * conv_rows; 16: conv_rows under any conv_rows_mr, no elu_bwd launch may be left) takes the fused padding or not, and
 * stride-2 ones, which run elu_fwd over the output in place, and elu_bwd into scratch or (16 image
 * channels: conv_oc's data gradient) the fused padding; negative and positive pre-activations both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

typedef struct {
    const char *name;
    int N, C, OC, H, W, s, bias, fused; /* fused: the forward must leave no elu_fwd launch */
    int bwd_fused; /* the backward must leave no elu_bwd launch (the data gradient pads dA * ELU'(A) on conv_rows) */
} ecase;

/* y and the three gradients of one build: fused 0 op_elu(op_conv2d), 1 op_conv2d_elu. */
static void run(const ecase *k, int fused, const float *x, const float *w, const float *b, const float *T, float **out,
                long *elu_launches, long *bwd_launches) {
    tape t;
    tape_init(&t, cl);
    int xv = grad_leaf(&t, x, k->N, k->C, k->H, k->W, 29, 31);
    int wv = grad_leaf(&t, w, k->OC, k->C, 3, 3, 7, 13);
    int bv = k->bias ? grad_leaf(&t, b, k->OC, 1, 1, 1, 5, 3) : -1;
    long before = launches("elu_fwd");
    int y = fused ? op_conv2d_elu(&t, xv, wv, bv, k->s, 1, PAD_ZERO, 1.0f)
                  : op_elu(&t, op_conv2d(&t, xv, wv, bv, k->s, 1, PAD_ZERO), 1.0f);
    *elu_launches = launches("elu_fwd") - before;
    tensor yt = tape_val(&t, y);
    int loss = op_sqerr_sum(&t, y, tape_input(&t, upload_at(T, yt.n, yt.c, yt.h, yt.w, 3)), 0.5f);
    before = launches("elu_bwd");
    tape_backward(&t, loss);
    *bwd_launches = launches("elu_bwd") - before;
    out[0] = dev_download(cl, yt);
    out[1] = dev_download(cl, t.vars[xv].grad);
    out[2] = dev_download(cl, t.vars[wv].grad);
    out[3] = k->bias ? dev_download(cl, t.vars[bv].grad) : NULL;
    tape_free(&t);
}

static void test_case(const ecase *k) {
    int OH = (k->H + 2 - 3) / k->s + 1, OW = (k->W + 2 - 3) / k->s + 1;
    size_t n[4] = {(size_t)k->N * k->OC * OH * OW, (size_t)k->N * k->C * k->H * k->W, (size_t)k->OC * k->C * 9,
                   (size_t)k->OC};
    float *x = randnz(n[1], 0.05f, 1.0f), *w = randnz(n[2], 0.05f, 0.5f), *b = randnz(n[3], 0.1f, 1.0f);
    float *T = randnz(n[0], 0.0f, 1.0f);
    float *ref[4], *got[4];
    long lref, lgot, bref, bgot;
    run(k, 0, x, w, b, T, ref, &lref, &bref);
    run(k, 1, x, w, b, T, got, &lgot, &bgot);
    const char *what[4] = {"y", "dx", "dw", "db"};
    for (int i = 0; i < (k->bias ? 4 : 3); i++) {
        double worst = 0;
        int bitwise = memcmp(got[i], ref[i], n[i] * sizeof *got[i]) == 0;
        for (size_t j = 0; j < n[i]; j++) {
            double e = fabs((double)got[i][j] - ref[i][j]) / fmax(fabs((double)ref[i][j]), 1e-3);
            if (!(e <= worst)) worst = e; /* NaN too */
        }
        CHECK(worst <= 1e-6, "%s: %s of op_conv2d_elu against op_elu(op_conv2d): max rel err %.3g", k->name, what[i],
              worst);
        printf("%s %s %s: %zu values, max rel err %.3g%s\n", worst <= 1e-6 ? "ok  " : "FAIL", k->name, what[i], n[i],
               worst, bitwise ? " (bit for bit)" : "");
    }
    long negative = 0;
    for (size_t j = 0; j < n[0]; j++) negative += ref[0][j] < 0.0f;
    CHECK(negative > 0 && negative < (long)n[0], "%s: both signs of the pre-activation (%ld of %zu negative)", k->name,
          negative, n[0]);
    CHECK(lref == 1, "%s: op_elu launched elu_fwd once (%ld)", k->name, lref);
    long want = k->fused ? 0 : 1;
    CHECK(lgot == want, "%s: op_conv2d_elu launched elu_fwd %ld times, want %ld", k->name, lgot, want);
    printf("%s %s: elu_fwd launches %ld (want %ld: the ELU %s)\n", lgot == want ? "ok  " : "FAIL", k->name, lgot, want,
           k->fused ? "in conv_rows' epilogue" : "in place over y");
    CHECK(bref == 1, "%s: op_elu's backward launched elu_bwd once (%ld)", k->name, bref);
    want = k->bwd_fused ? 0 : 1;
    CHECK(bgot == want, "%s: op_conv2d_elu's backward launched elu_bwd %ld times, want %ld", k->name, bgot, want);
    printf("%s %s: elu_bwd launches %ld (want %ld: ELU's gradient %s)\n", bgot == want ? "ok  " : "FAIL", k->name, bgot,
           want, k->bwd_fused ? "in the data gradient's padding" : "into scratch");
    for (int i = 0; i < 4; i++) {
        free(ref[i]);
        free(got[i]);
    }
    free(x); free(w); free(b); free(T);
    release_bufs();
}

int main(void) {
    if (!open_counting(43, 3)) return 1; /* elu_fwd's launches are counted */
    conv_set_impl(2);           /* the own kernels (conv_rows) on any device */
    cl->kp.wino_min_c = 4096;   /* not Winograd: the 16-channel case on conv_rows whatever the set */
    cl->kp.oc_max_k = 512;      /* the 16-channel stride-2 data gradient on conv_oc whatever the set */
    static const ecase cases[] = {
        /* 3 input channels: the data gradient (3 output channels, under any conv_rows_mr) is not conv_rows' */
        {"conv3x3 s1 2x3x12x13->16 with bias (conv_rows)", 2, 3, 16, 12, 13, 1, 1, 1, 0},
        {"conv3x3 s1 1x16x9x11->16 no bias (conv_rows)", 1, 16, 16, 9, 11, 1, 0, 1, 1},
        {"conv3x3 s1 2x16x10x12->16 with bias (conv_rows, both ways)", 2, 16, 16, 10, 12, 1, 1, 1, 1},
        /* 3 image channels: under half of any vector width, so the data gradient is not conv_oc's */
        {"conv3x3 s2 2x3x11x9->7 with bias (not conv_rows)", 2, 3, 7, 11, 9, 2, 1, 0, 0},
        /* 16 image channels: the data gradient on conv_oc, its padding fused */
        /* the upstream gradient's rows 5 wide (conv_pad's 4-float vectors) and 3 (its floats one by one) */
        {"conv3x3 s2 2x16x11x9->12 with bias (conv_oc)", 2, 16, 12, 11, 9, 2, 1, 0, 1},
        {"conv3x3 s2 2x16x6x5->12 with bias (conv_oc, 3-wide rows)", 2, 16, 12, 6, 5, 2, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    conv_set_impl(0);
    close_counting();
    TEST_END();
}
