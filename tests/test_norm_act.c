/* A norm and the activation after it as one node (op_batchnorm_act, op_instancenorm_act), and a norm plus a
 * residual (op_batchnorm_add, op_instancenorm_add; kernels/norm.cl).
 *
 * 1. Against the two ops (op_relu / op_leaky_relu over op_batchnorm / op_instancenorm) on the same inputs:
 *    y and the gradients of x, gamma and beta (leaves whose gradient buffers start as NaN, so a missed
 *    write shows), which must agree bit for bit: the fused kernels compute relu_fwd's fmax, leaky_relu_fwd's
 *    select, and relu_bwd's / leaky_relu_bwd's gradient from the activation's output, whose sign is the
 *    norm output's. Cases: instance norm, batch norm in training and in evaluation mode, ReLU, leaky ReLU
 *    0.2 and leaky ReLU 0 (negative zeros, unlike ReLU's), with and without gamma and beta, planes of 63
 *    pixels (not a multiple of the kernels' 8-pixel vectors) and of 16, and a plane of one constant value
 *    (its normalised output is exactly beta, 0 without beta: the activations' gradient at 0). The fused
 *    node must launch no activation kernel, forward or backward.
 * 2. The residual against op_add(res, norm): y and the gradients of x, gamma, beta and res bit for bit, for
 *    instance norm and batch norm, res another variable or x itself (both gradients into one buffer); the
 *    fused node launches no add_tensors_fwd and one axpby (op_add's backward: two).
 * 3. models/seq.c fuses a norm with the ReLU or leaky ReLU, or the residual block's end, after it only when
 *    nothing else reads the norm's output: a net conv-IN-ReLU-conv-BN-LReLU launches no activation kernel,
 *    one whose BN output is also concatenated later (the U-Net's skips) launches leaky_relu_fwd for it, and
 *    a ResNet block (conv-IN-ReLU-conv-IN, + its input) no activation and no add_tensors_fwd; each against
 *    the same layers composed op by op with the same parameters (output and every parameter gradient, bit
 *    for bit). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "kernel_test.h"
#include "ops.h"
#include "rng.h"
#include "seq.h"
#include "util.h"

typedef struct {
    const char *name;
    int bn, training, N, C, H, W, gamma, beta;
    norm_act act;
    float slope;
} ncase;

/* The activations' kernels launched so far (forward and backward). */
static long act_launches(void) { return launches("relu_") + launches("leaky_relu_"); }

/* The backward of 0.5 sum (y - T)^2, then y and the gradients of x, gamma and beta (where given) into out[0..3]. */
static void backward_out(tape *t, int y, const float *T, int xv, int gv, int bv, float **out) {
    tensor yt = tape_val(t, y);
    tape_backward(t, op_sqerr_sum(t, y, tape_input(t, upload_at(T, yt.n, yt.c, yt.h, yt.w, 3)), 0.5f));
    out[0] = dev_download(cl, yt);
    out[1] = dev_download(cl, t->vars[xv].grad);
    out[2] = gv >= 0 ? dev_download(cl, t->vars[gv].grad) : NULL;
    out[3] = bv >= 0 ? dev_download(cl, t->vars[bv].grad) : NULL;
}

/* Checks got[i] against ref[i] bit for bit (n[i] floats; i < count, skipping NULL), and frees both. */
static void compare_out(const char *name, const char *const *what, float **ref, float **got, const size_t *n,
                        int count) {
    for (int i = 0; i < count; i++) {
        if (ref[i]) {
            int bitwise = memcmp(got[i], ref[i], n[i] * sizeof *got[i]) == 0;
            CHECK(bitwise, "%s: %s of the fused node against the separate ops", name, what[i]);
            printf("%s %s %s: %zu values %s\n", bitwise ? "ok  " : "FAIL", name, what[i], n[i],
                   bitwise ? "bit for bit" : "differ");
        }
        free(ref[i]);
        free(got[i]);
    }
}

/* y and the gradients of x, gamma, beta of one build: fused 0 the two ops, 1 the fused node. */
static void run(const ncase *k, int fused, const float *x, const float *g, const float *b, const float *rm,
                const float *rv, const float *T, float **out, long *act) {
    tape t;
    tape_init(&t, cl);
    int xv = grad_leaf(&t, x, k->N, k->C, k->H, k->W, 17, 23);
    int gv = k->gamma ? grad_leaf(&t, g, k->C, 1, 1, 1, 5, 3) : -1;
    int bv = k->beta ? grad_leaf(&t, b, k->C, 1, 1, 1, 7, 11) : -1;
    /* the running statistics are updated in training: each build gets its own copy */
    tensor trm = k->bn ? upload_at(rm, k->C, 1, 1, 1, 2) : (tensor){0};
    tensor trv = k->bn ? upload_at(rv, k->C, 1, 1, 1, 9) : (tensor){0};
    long before = act_launches();
    int y;
    if (fused)
        y = k->bn ? op_batchnorm_act(&t, xv, gv, bv, trm, trv, k->training, 0.1f, 1e-5f, k->act, k->slope)
                  : op_instancenorm_act(&t, xv, gv, bv, 1e-5f, k->act, k->slope);
    else {
        y = k->bn ? op_batchnorm(&t, xv, gv, bv, trm, trv, k->training, 0.1f, 1e-5f)
                  : op_instancenorm(&t, xv, gv, bv, 1e-5f);
        y = k->act == NORM_ACT_RELU ? op_relu(&t, y) : op_leaky_relu(&t, y, k->slope);
    }
    backward_out(&t, y, T, xv, gv, bv, out);
    *act = act_launches() - before;
    out[4] = k->bn && k->training ? dev_download(cl, trm) : NULL;
    tape_free(&t);
}

static void test_case(const ncase *k) {
    size_t nx = (size_t)k->N * k->C * k->H * k->W, HW = (size_t)k->H * k->W;
    size_t n[5] = {nx, nx, (size_t)k->C, (size_t)k->C, (size_t)k->C};
    float *x = randnz(nx, 0.05f, 2.0f), *g = randnz((size_t)k->C, 0.5f, 1.5f), *b = randnz((size_t)k->C, 0.05f, 0.5f);
    float *rm = randnz((size_t)k->C, 0.0f, 0.3f), *rv = randnz((size_t)k->C, 0.5f, 1.5f), *T = randnz(nx, 0.0f, 1.0f);
    for (int i = 0; i < k->C; i++) rv[i] = fabsf(rv[i]);
    if (!k->bn) /* plane 1 constant: instance norm maps it to exactly beta (0 without) */
        for (size_t i = HW; i < 2 * HW; i++) x[i] = 0.75f;
    float *ref[5], *got[5];
    long aref, agot;
    run(k, 0, x, g, b, rm, rv, T, ref, &aref);
    run(k, 1, x, g, b, rm, rv, T, got, &agot);
    long below = 0, negzero = 0;
    for (size_t j = 0; j < nx; j++) {
        below += ref[0][j] <= 0.0f;
        negzero += ref[0][j] == 0.0f && signbit(ref[0][j]);
    }
    CHECK(below > 0 && below < (long)nx, "%s: outputs on both sides of the kink (%ld of %zu at or below)", k->name,
          below, nx);
    printf("     %s: %ld of %zu outputs at or below the kink, %ld of them -0\n", k->name, below, nx, negzero);
    CHECK(aref == 2, "%s: the two ops launched the activation twice (%ld)", k->name, aref);
    CHECK(agot == 0, "%s: the fused node launched %ld activation kernels, want 0", k->name, agot);
    printf("%s %s: activation launches %ld (the two ops %ld)\n", agot == 0 ? "ok  " : "FAIL", k->name, agot, aref);
    static const char *const what[5] = {"y", "dx", "dgamma", "dbeta", "running_mean"};
    compare_out(k->name, what, ref, got, n, 5);
    free(x); free(g); free(b); free(rm); free(rv); free(T);
    release_bufs();
}

/* ---- 2. the residual ---- */

/* y and the gradients of x, gamma, beta and res (NULL where res is x) of one build: fused 0 op_add over the
 * norm, 1 the fused node; adds/axpys: add_tensors_fwd and axpby launches. */
static void run_res(const ncase *k, int fused, int res_is_x, const float *x, const float *g, const float *b,
                    const float *r, const float *T, float **out, long *adds, long *axpys) {
    tape t;
    tape_init(&t, cl);
    int xv = grad_leaf(&t, x, k->N, k->C, k->H, k->W, 17, 23);
    int gv = k->gamma ? grad_leaf(&t, g, k->C, 1, 1, 1, 5, 3) : -1;
    int bv = k->beta ? grad_leaf(&t, b, k->C, 1, 1, 1, 7, 11) : -1;
    int rv = res_is_x ? xv : grad_leaf(&t, r, k->N, k->C, k->H, k->W, 13, 19);
    long a0 = launches("add_tensors_fwd"), x0 = launches("axpby");
    int y;
    if (fused)
        y = k->bn ? op_batchnorm_add(&t, xv, gv, bv, (tensor){0}, (tensor){0}, 1, 0.1f, 1e-5f, rv)
                  : op_instancenorm_add(&t, xv, gv, bv, 1e-5f, rv);
    else
        y = op_add(&t, rv, k->bn ? op_batchnorm(&t, xv, gv, bv, (tensor){0}, (tensor){0}, 1, 0.1f, 1e-5f)
                                 : op_instancenorm(&t, xv, gv, bv, 1e-5f));
    backward_out(&t, y, T, xv, gv, bv, out);
    *adds = launches("add_tensors_fwd") - a0;
    *axpys = launches("axpby") - x0;
    out[4] = res_is_x ? NULL : dev_download(cl, t.vars[rv].grad);
    tape_free(&t);
}

static void res_case(const ncase *k, int res_is_x) {
    size_t nx = (size_t)k->N * k->C * k->H * k->W, n[5] = {nx, nx, (size_t)k->C, (size_t)k->C, nx};
    float *x = randnz(nx, 0.05f, 2.0f), *g = randnz((size_t)k->C, 0.5f, 1.5f), *b = randnz((size_t)k->C, 0.05f, 0.5f);
    float *r = randnz(nx, 0.05f, 1.0f), *T = randnz(nx, 0.0f, 1.0f), *ref[5], *got[5];
    long aref, agot, xref, xgot;
    run_res(k, 0, res_is_x, x, g, b, r, T, ref, &aref, &xref);
    run_res(k, 1, res_is_x, x, g, b, r, T, got, &agot, &xgot);
    char name[96];
    snprintf(name, sizeof name, "%s + residual%s", k->name, res_is_x ? " x" : "");
    CHECK(aref == 1 && xref == 2, "%s: op_add launched add_tensors_fwd %ld, axpby %ld times (want 1, 2)", k->name,
          aref, xref);
    CHECK(agot == 0 && xgot == 1, "%s: the fused node launched add_tensors_fwd %ld, axpby %ld times (want 0, 1)",
          k->name, agot, xgot);
    printf("%s %s: add_tensors_fwd / axpby launches %ld / %ld (op_add %ld / %ld)\n",
           agot == 0 && xgot == 1 ? "ok  " : "FAIL", name, agot, xgot, aref, xref);
    static const char *const what[5] = {"y", "dx", "dgamma", "dbeta", "dres"};
    compare_out(name, what, ref, got, n, 5);
    free(x); free(g); free(b); free(r); free(T);
    release_bufs();
}

/* ---- 3. models/seq.c ---- */

/* The net's layers composed op by op with its parameters (the layers tests build: conv, BN, IN, ReLU,
 * leaky ReLU, cat, a residual block). */
static int by_ops(seqnet *s, tape *t, int x) {
    int *val = xmalloc((size_t)s->n * sizeof *val), skip = -1;
    for (int i = 0; i < s->n; i++) {
        const layer *l = &s->L[i];
        int in = l->src[0] == SEQ_PREV ? x : l->src[0] == SEQ_INPUT ? -1 : val[l->src[0]];
        int w = l->w_idx >= 0 ? tape_param(t, &s->params, l->w_idx) : -1;
        int b = l->b_idx >= 0 ? tape_param(t, &s->params, l->b_idx) : -1;
        switch (l->kind) {
        case L_CONV: x = op_conv2d(t, in, w, b, l->stride, l->pad, (pad_mode)l->padmode); break;
        case L_BN:
            x = op_batchnorm(t, in, w, b, net_tensor(&s->buffers, l->rm_idx), net_tensor(&s->buffers, l->rv_idx), 1,
                             l->momentum, l->f);
            break;
        case L_IN: x = op_instancenorm(t, in, w, b, l->f); break;
        case L_RELU: x = op_relu(t, in); break;
        case L_LRELU: x = op_leaky_relu(t, in, l->f); break;
        case L_CAT: x = op_concat_channels(t, in, val[l->src[1]]); break;
        case L_RES_BEGIN: skip = x = in; break;
        case L_RES_END: x = op_add(t, skip, in); break;
        default: die("by_ops: layer kind %d", l->kind);
        }
        val[i] = x;
    }
    free(val);
    return x;
}

/* The output and every parameter's gradient (the net's g after one backward of 0.5 sum (y - T)^2), with the
 * running statistics reset first; fused: seq_forward, else by_ops. */
static void seq_run(seqnet *s, int fused, const float *x, int N, int C, int H, int W, const float *T, float **out,
                    long *act) {
    for (int i = 0; i < s->n; i++)
        if (s->L[i].kind == L_BN) {
            net_init_const(&s->buffers, s->L[i].rm_idx, 0.0f);
            net_init_const(&s->buffers, s->L[i].rv_idx, 1.0f);
        }
    tape t;
    tape_init(&t, cl);
    net_zero_grad(&s->params);
    int xv = tape_input(&t, upload_at(x, N, C, H, W, 5));
    long before = act_launches();
    seq_ctx ctx = {.training = 1, .seed = 1, .step = 0};
    int y = fused ? seq_forward(s, &t, xv, &ctx) : by_ops(s, &t, xv);
    tensor yt = tape_val(&t, y);
    tape_backward(&t, op_sqerr_sum(&t, y, tape_input(&t, upload_at(T, yt.n, yt.c, yt.h, yt.w, 1)), 0.5f));
    net_grad_settle(&s->params);
    *act = act_launches() - before;
    out[0] = dev_download(cl, yt);
    out[1] = xmalloc(s->params.total * sizeof(float));
    clg_read(cl, s->params.g, 0, s->params.total, out[1]);
    tape_free(&t);
}

/* s: a built net of stride-1 padded convs with OC output channels at the end. want: the activation launches
 * seq_forward must leave (forward and backward), want_add its add_tensors_fwd launches. */
static void seq_case(const char *name, seqnet *s, int N, int C, int H, int W, int OC, long want, long want_add) {
    seq_init_weights(s, INIT_DCGAN, 7);
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * OC * H * W;
    float *x = randnz(nx, 0.05f, 2.0f), *T = randnz(ny, 0.0f, 1.0f), *ref[2], *got[2];
    long aref, agot, a0 = launches("add_tensors_fwd");
    seq_run(s, 0, x, N, C, H, W, T, ref, &aref);
    long a1 = launches("add_tensors_fwd");
    seq_run(s, 1, x, N, C, H, W, T, got, &agot);
    long adds = launches("add_tensors_fwd") - a1;
    CHECK(adds == want_add, "%s: seq_forward launched add_tensors_fwd %ld times, want %ld (op by op %ld)", name, adds,
          want_add, a1 - a0);
    printf("%s %s: add_tensors_fwd launches %ld, want %ld (op by op %ld)\n", adds == want_add ? "ok  " : "FAIL", name,
           adds, want_add, a1 - a0);
    size_t n[2] = {ny, s->params.total};
    static const char *const what[2] = {"y", "parameter gradients"};
    compare_out(name, what, ref, got, n, 2);
    CHECK(agot == want, "%s: seq_forward launched %ld activation kernels, want %ld (op by op %ld)", name, agot, want,
          aref);
    printf("%s %s: activation launches %ld, want %ld (op by op %ld)\n", agot == want ? "ok  " : "FAIL", name, agot,
           want, aref);
    free(x);
    free(T);
    release_bufs();
}

int main(void) {
    if (!open_counting(47, 5)) return 1; /* the activations' launches are counted */
    /* name, bn, training, N, C, H, W, gamma, beta, act, slope */
    static const ncase cases[] = {
        {"in 3x5x7x9 relu", 0, 0, 3, 5, 7, 9, 0, 0, NORM_ACT_RELU, 0.0f},
        {"in 2x4x4x4 affine lrelu 0.2", 0, 0, 2, 4, 4, 4, 1, 1, NORM_ACT_LRELU, 0.2f},
        {"in 3x5x7x9 gamma lrelu 0", 0, 0, 3, 5, 7, 9, 1, 0, NORM_ACT_LRELU, 0.0f},
        {"bn train 3x5x7x9 affine relu", 1, 1, 3, 5, 7, 9, 1, 1, NORM_ACT_RELU, 0.0f},
        {"bn train 4x3x4x4 lrelu 0.2", 1, 1, 4, 3, 4, 4, 0, 0, NORM_ACT_LRELU, 0.2f},
        {"bn eval 3x5x7x9 affine lrelu 0.2", 1, 0, 3, 5, 7, 9, 1, 1, NORM_ACT_LRELU, 0.2f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    for (int i = 0; i < 2; i++) {
        static const ncase rcases[] = {
            {"in 3x5x7x9 affine", 0, 0, 3, 5, 7, 9, 1, 1, NORM_ACT_NONE, 0.0f},
            {"bn train 3x4x4x5", 1, 1, 3, 4, 4, 5, 0, 0, NORM_ACT_NONE, 0.0f},
        };
        res_case(&rcases[i], 0);
        res_case(&rcases[i], 1);
    }

    seqnet a; /* CycleGAN's conv-IN-ReLU, PatchGAN's conv-BN-LReLU */
    seq_init(&a, cl, "a");
    seq_conv(&a, 3, 6, 3, 1, 1, 1, PAD_REFLECT);
    seq_instnorm(&a, 6, 0);
    seq_act(&a, L_RELU, 0);
    seq_conv(&a, 6, 5, 3, 1, 1, 0, PAD_ZERO);
    seq_bn(&a, 5);
    seq_act(&a, L_LRELU, 0.2f);
    seq_conv(&a, 5, 4, 3, 1, 1, 1, PAD_ZERO);
    seq_build(&a);
    seq_case("seq conv-IN-ReLU-conv-BN-LReLU-conv (both fused)", &a, 2, 3, 9, 7, 4, 0, 0);
    seq_free(&a);

    seqnet u; /* the BN output also concatenated: that one stays two nodes (forward and backward launches) */
    seq_init(&u, cl, "u");
    seq_conv(&u, 3, 6, 3, 1, 1, 0, PAD_ZERO);
    seq_bn(&u, 6);
    int v = seq_last(&u);
    seq_act(&u, L_LRELU, 0.2f);
    seq_conv(&u, 6, 5, 3, 1, 1, 0, PAD_ZERO);
    seq_cat(&u, v, seq_last(&u));
    seq_conv(&u, 11, 4, 3, 1, 1, 1, PAD_ZERO);
    seq_instnorm(&u, 4, 1);
    seq_act(&u, L_RELU, 0);
    seq_build(&u);
    seq_case("seq conv-BN(-> cat)-LReLU-conv-cat-conv-IN-ReLU (the IN fused)", &u, 2, 3, 9, 7, 4, 2, 0);
    seq_free(&u);

    seqnet r; /* CycleGAN's ResNet block: x + (conv-IN-ReLU-conv-IN)(x), reflection padding */
    seq_init(&r, cl, "r");
    seq_conv(&r, 3, 6, 3, 1, 1, 1, PAD_ZERO);
    seq_res_begin(&r);
    seq_conv(&r, 6, 6, 3, 1, 1, 1, PAD_REFLECT);
    seq_instnorm(&r, 6, 0);
    seq_act(&r, L_RELU, 0);
    seq_conv(&r, 6, 6, 3, 1, 1, 1, PAD_REFLECT);
    seq_instnorm(&r, 6, 0);
    seq_res_end(&r);
    seq_conv(&r, 6, 4, 3, 1, 1, 1, PAD_ZERO);
    seq_build(&r);
    seq_case("seq conv-[conv-IN-ReLU-conv-IN]+-conv (the block's end fused)", &r, 2, 3, 9, 7, 4, 0, 0);
    seq_free(&r);

    close_counting();
    TEST_END();
}
