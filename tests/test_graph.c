/* The graph layers of seqnet (models/seq.h) and the builders of models/graph.h, apart from PyTorch
 * parity (tests/test_graph_parity.c):
 *
 * 1. Dropout per pass. A net of [dropout 0.5, relu] run twice in training mode with one seq_ctx on one
 *    tape: the first pass's mask is today's stream, bit for bit op_dropout(seed, step*64 + 0); the
 *    second pass's mask differs (about half the elements, as independent masks: 2p(1-p)) and is the
 *    documented one (seq_dropout_stream with pass 1); after tape_reset the same two passes repeat bit
 *    for bit (resume stays exact); the backward of L = sum(y0) + 2 sum(y1) gives exactly
 *    2 (m0 + 2 m1) (scale 2 = 1/(1-p)), so each pass's backward uses its own mask; a dropout at layer
 *    66 does not draw step+1's layer-2 mask (step*64 + 66 would). Before this change the second pass
 *    drew the first's mask, so the "differs" check fails on it.
 * 2. Values. x -> conv "a"; x -> conv "b" (seq_from SEQ_INPUT); add(a, b); cat(x, sum); maxpool; gap:
 *    bit-identical to the same ops called directly on the tape with the same parameters, and the
 *    parameters named "<prefix>a.weight", ...
 * 3. U-Net z inputs (BicycleGAN's G_Unet_add_input / add_all, num_downs 5: add_all then has 6 levels,
 *    as its reference) and a ResNet basic block with a projection: output shapes, names and shapes of
 *    the parameters where z enters and of the innermost blocks, and the gradient reaches z (non-zero)
 *    through op_broadcast_planes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "graph.h"
#include "rng.h"
#include "util.h"

static clg_ctx *cl;

static int input_of(tape *t, const float *v, int n, int c, int h, int w, int grad) {
    int x = tape_new(t, n, c, h, w, grad);
    tensor xv = tape_val(t, x);
    clg_write(cl, xv.mem, xv.off, tnumel(xv), v);
    return x;
}

static long count_diff(const float *a, const float *b, size_t n) {
    long d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

/* ---- 1 ---- */

enum { DN = 2, DC = 4, DH = 9, DW = 11, DNUM = DN * DC * DH * DW };

static void passes(seqnet *s, tape *t, const seq_ctx *ctx, float **y0, float **y1, float **dx) {
    float ones[DNUM];
    for (int i = 0; i < DNUM; i++) ones[i] = 1.0f;
    int x = input_of(t, ones, DN, DC, DH, DW, 1);
    int a = seq_forward(s, t, x, ctx), b = seq_forward(s, t, x, ctx);
    *y0 = dev_download(cl, tape_val(t, a));
    *y1 = dev_download(cl, tape_val(t, b));
    tape_backward(t, op_lincomb(t, op_sum(t, a, 1.0f), 1.0f, op_sum(t, b, 1.0f), 2.0f));
    *dx = dev_download(cl, t->vars[x].grad);
}

static void test_dropout_passes(void) {
    const float p = 0.5f;
    const unsigned long long seed = 77;
    const unsigned step = 5;
    seqnet s;
    seq_init(&s, cl, "drop");
    seq_act(&s, L_DROPOUT, p);
    seq_act(&s, L_RELU, 0);
    seq_build(&s);
    tape t;
    tape_init(&t, cl);
    seq_ctx ctx = {.training = 1, .seed = seed, .step = step};
    float *y0, *y1, *dx, *r0, *r1, *rdx;
    passes(&s, &t, &ctx, &y0, &y1, &dx);
    /* the references, straight from op_dropout */
    float ones[DNUM];
    for (int i = 0; i < DNUM; i++) ones[i] = 1.0f;
    int x = input_of(&t, ones, DN, DC, DH, DW, 0);
    float *today = dev_download(cl, tape_val(&t, op_dropout(&t, x, p, 1, seed, step * 64u)));
    unsigned long long key;
    unsigned word;
    seq_dropout_stream(seed, step, 1, 0, &key, &word);
    float *second = dev_download(cl, tape_val(&t, op_dropout(&t, x, p, 1, key, word)));
    long d_today = count_diff(y0, today, DNUM), d_second = count_diff(y1, second, DNUM);
    long d01 = count_diff(y0, y1, DNUM);
    printf("%s first pass == op_dropout(seed, step*64 + 0), today's stream: %ld of %d differ\n",
           d_today ? "FAIL" : "ok  ", d_today, DNUM);
    CHECK(d_today == 0, "first pass changed its stream");
    /* independent masks differ in 2p(1-p) = 1/2 of the elements: 396 +- 14; 5 sigma either way */
    int ok = d01 > DNUM / 2 - 70 && d01 < DNUM / 2 + 70;
    printf("%s second pass with the same ctx draws another mask: %ld of %d differ (want %d +- 70)\n",
           ok ? "ok  " : "FAIL", d01, DNUM, DNUM / 2);
    CHECK(ok, "two passes of one step share dropout masks");
    printf("%s second pass == op_dropout(seq_dropout_stream(pass 1)): %ld differ\n", d_second ? "FAIL" : "ok  ",
           d_second);
    CHECK(d_second == 0, "second pass stream");
    double dref[DNUM];
    for (int i = 0; i < DNUM; i++) dref[i] = 2.0 * ((y0[i] != 0) + 2.0 * (y1[i] != 0));
    check_close("backward: dx = 2 (m0 + 2 m1), each pass its own mask", dx, dref, DNUM, 0, 1e-30);
    /* after a reset (a new step's tape, or a resumed run) the same two passes again */
    tape_reset(&t);
    passes(&s, &t, &ctx, &r0, &r1, &rdx);
    long rep = count_diff(y0, r0, DNUM) + count_diff(y1, r1, DNUM) + count_diff(dx, rdx, DNUM);
    printf("%s after tape_reset the same (seed, step, pass) repeats bit for bit: %ld differ\n", rep ? "FAIL" : "ok  ",
           rep);
    CHECK(rep == 0, "passes not reproducible");
    free(y0); free(y1); free(dx); free(r0); free(r1); free(rdx); free(today); free(second);
    tape_free(&t);
    seq_free(&s);

    /* a dropout at layer 66 (after 66 ReLUs) and layer 2's mask of the next step */
    seq_init(&s, cl, "deep");
    for (int i = 0; i < 66; i++) seq_act(&s, L_RELU, 0);
    seq_act(&s, L_DROPOUT, p);
    seq_build(&s);
    tape_init(&t, cl);
    x = input_of(&t, ones, DN, DC, DH, DW, 0);
    float *deep = dev_download(cl, tape_val(&t, seq_forward(&s, &t, x, &ctx)));
    float *next = dev_download(cl, tape_val(&t, op_dropout(&t, x, p, 1, seed, (step + 1) * 64u + 2)));
    long dd = count_diff(deep, next, DNUM);
    ok = dd > DNUM / 2 - 70 && dd < DNUM / 2 + 70;
    printf("%s layer 66 of step s vs layer 2 of step s+1: %ld of %d differ (want %d +- 70)\n", ok ? "ok  " : "FAIL", dd,
           DNUM, DNUM / 2);
    CHECK(ok, "layer 66 shares step+1's mask");
    free(deep); free(next);
    tape_free(&t);
    seq_free(&s);
}

/* ---- 2 ---- */

static void test_values(void) {
    const int N = 2, C = 3, H = 9, W = 7;
    seqnet s;
    seq_init(&s, cl, "vals");
    seq_set_prefix(&s, "net.");
    seq_name(&s, "a");
    seq_conv(&s, C, 5, 3, 1, 1, 1, PAD_ZERO);
    int va = seq_last(&s);
    seq_from(&s, SEQ_INPUT);
    seq_name(&s, "b");
    seq_conv(&s, C, 5, 1, 1, 0, 0, PAD_ZERO);
    int sum = seq_add(&s, va, seq_last(&s));
    seq_cat(&s, SEQ_INPUT, sum);
    seq_maxpool(&s, 3, 2, 1);
    seq_global_avgpool(&s);
    seq_build(&s);
    seq_init_weights(&s, INIT_TORCH_DEFAULT, 3);
    int ia = net_find(&s.params, "net.a.weight"), iab = net_find(&s.params, "net.a.bias"),
        ib = net_find(&s.params, "net.b.weight");
    int names_ok = ia >= 0 && iab >= 0 && ib >= 0 && s.params.np == 3;
    printf("%s names: net.a.weight, net.a.bias, net.b.weight (%d parameters)\n", names_ok ? "ok  " : "FAIL", s.params.np);
    CHECK(names_ok, "graph names");
    if (!names_ok) {
        seq_free(&s);
        return;
    }
    rng_seq r = rng_seq_make(4, RNG_STREAM_TEST, 0);
    float *xv = xmalloc((size_t)N * C * H * W * sizeof *xv);
    for (int i = 0; i < N * C * H * W; i++) xv[i] = 2.0f * rng_uniform(&r) - 1.0f;
    tape t;
    tape_init(&t, cl);
    seq_ctx ctx = {.training = 1, .seed = 1};
    int x = input_of(&t, xv, N, C, H, W, 0);
    tensor yv = tape_val(&t, seq_forward(&s, &t, x, &ctx));
    float *y = dev_download(cl, yv);
    /* the same by hand */
    int a = op_conv2d(&t, x, tape_param(&t, &s.params, ia), tape_param(&t, &s.params, iab), 1, 1, PAD_ZERO);
    int b = op_conv2d(&t, x, tape_param(&t, &s.params, ib), -1, 1, 0, PAD_ZERO);
    int ref = op_global_avgpool(&t, op_maxpool2d(&t, op_concat_channels(&t, x, op_add(&t, a, b)), 3, 2, 1));
    tensor rv = tape_val(&t, ref);
    float *yr = dev_download(cl, rv);
    int same = tsame_shape(yv, rv) && yv.c == C + 5 && yv.h == 1 && count_diff(y, yr, tnumel(rv)) == 0;
    printf("%s graph x->a, x->b, add, cat(x, .), maxpool, gap == the ops by hand (%dx%dx%dx%d, bit for bit)\n",
           same ? "ok  " : "FAIL", yv.n, yv.c, yv.h, yv.w);
    CHECK(same, "graph values");
    free(xv); free(y); free(yr);
    tape_free(&t);
    seq_free(&s);
}

/* ---- 3 ---- */

static int has(const seqnet *s, const char *name, int d0, int d1) {
    int i = net_find(&s->params, name);
    int ok = i >= 0 && s->params.p[i].shape[0] == d0 && (d1 < 0 || s->params.p[i].shape[1] == d1);
    if (!ok) printf("     %s: %s\n", name, i < 0 ? "missing" : "other shape");
    return ok;
}

static void test_unet_z(unet_z mode) {
    /* add_all builds 6 levels for num_downs 5 (as the reference): 64x64 reaches 1x1 */
    const int N = 2, IN = 3, OUT = 2, NZ = 5, NGF = 4, S = mode == UNET_Z_ALL ? 64 : 32;
    seqnet s;
    seq_init(&s, cl, "unetz");
    unet_spec u = {.input_nc = IN, .output_nc = OUT, .num_downs = 5, .ngf = NGF, .norm = L_IN, .z_mode = mode,
                   .nz = NZ, .use_dropout = 1};
    graph_unet(&s, &u);
    seq_build(&s);
    seq_init_weights(&s, INIT_TORCH_DEFAULT, 9);
    int names;
    const char *what;
    if (mode == UNET_Z_INPUT) {
        what = "add_input";
        names = has(&s, "model.model.0.weight", NGF, IN + NZ) && has(&s, "model.model.0.bias", NGF, -1) &&
                has(&s, "model.model.1.model.1.weight", 2 * NGF, NGF) && has(&s, "model.model.3.weight", 2 * NGF, OUT) &&
                has(&s, "model.model.1.model.3.model.3.model.3.model.1.weight", 8 * NGF, 8 * NGF) &&
                has(&s, "model.model.1.model.3.model.3.model.3.model.3.weight", 8 * NGF, 8 * NGF);
    } else {
        what = "add_all";
        names = has(&s, "model.down.0.weight", NGF, IN + NZ) && has(&s, "model.up.1.weight", 2 * NGF, OUT) &&
                has(&s, "model.submodule.down.1.weight", 2 * NGF, NGF + NZ) &&
                has(&s, "model.submodule.up.1.weight", 4 * NGF, NGF) &&
                has(&s, "model.submodule.submodule.submodule.submodule.down.1.weight", 8 * NGF, 8 * NGF + NZ) &&
                has(&s, "model.submodule.submodule.submodule.submodule.up.1.weight", 16 * NGF, 8 * NGF) &&
                has(&s, "model.submodule.submodule.submodule.submodule.submodule.up.1.weight", 8 * NGF, 8 * NGF);
    }
    printf("%s U-Net %s: parameter names and shapes where z enters (%d parameters)\n", names ? "ok  " : "FAIL", what,
           s.params.np);
    CHECK(names, "U-Net %s names", what);
    rng_seq r = rng_seq_make(6, RNG_STREAM_TEST, (uint32_t)mode);
    size_t nx = (size_t)N * IN * S * S;
    float *xv = xmalloc(nx * sizeof *xv), zv[N * NZ];
    for (size_t i = 0; i < nx; i++) xv[i] = 2.0f * rng_uniform(&r) - 1.0f;
    for (int i = 0; i < N * NZ; i++) zv[i] = 2.0f * rng_uniform(&r) - 1.0f;
    tape t;
    tape_init(&t, cl);
    int x = input_of(&t, xv, N, IN, S, S, 0), z = input_of(&t, zv, N, NZ, 1, 1, 1);
    seq_ctx ctx = {.training = 1, .seed = 2};
    int y = seq_forward_z(&s, &t, x, z, &ctx);
    tensor yt = tape_val(&t, y);
    int shape = yt.n == N && yt.c == OUT && yt.h == S && yt.w == S;
    printf("%s U-Net %s output %dx%dx%dx%d\n", shape ? "ok  " : "FAIL", what, yt.n, yt.c, yt.h, yt.w);
    CHECK(shape, "U-Net %s output shape", what);
    tape_backward(&t, op_sum(&t, op_tanh(&t, op_scale(&t, y, 3.0f)), 1.0f));
    float *dz = dev_download(cl, t.vars[z].grad);
    int nonzero = 0, finite = 1;
    for (int i = 0; i < N * NZ; i++) nonzero += dz[i] != 0, finite &= isfinite(dz[i]);
    printf("%s U-Net %s: gradient reaches z (%d of %d non-zero, all finite)\n", nonzero == N * NZ && finite ? "ok  " : "FAIL",
           what, nonzero, N * NZ);
    CHECK(nonzero == N * NZ && finite, "gradient to z");
    free(xv); free(dz);
    tape_free(&t);
    seq_free(&s);
}

static void test_basic_block(void) {
    seqnet s;
    seq_init(&s, cl, "block");
    int out = graph_basic_block(&s, "layer2.0", SEQ_INPUT, 8, 16, 2);
    seq_build(&s);
    int names = has(&s, "layer2.0.conv1.weight", 16, 8) && has(&s, "layer2.0.bn1.weight", 16, -1) &&
                has(&s, "layer2.0.conv2.weight", 16, 16) && has(&s, "layer2.0.downsample.0.weight", 16, 8) &&
                has(&s, "layer2.0.downsample.1.bias", 16, -1) && net_find(&s.buffers, "layer2.0.downsample.1.running_var") >= 0 &&
                s.params.np == 9 && out == s.n - 1;
    printf("%s basic block with projection: names as torchvision, %d parameters, %d buffers\n", names ? "ok  " : "FAIL",
           s.params.np, s.buffers.np);
    CHECK(names, "basic block names");
    seq_free(&s);
}

int main(void) {
    double t0 = now_seconds();
    cl = dev_open_for_test();
    if (!cl) return 1;
    test_dropout_passes();
    test_values();
    test_unet_z(UNET_Z_INPUT);
    /* add_all's innermost names ("model.submodule.submodule.submodule.submodule.submodule.down.1.weight",
     * 69 characters) need longer parameter names than host/net.h's 64 */
    if (sizeof ((param *)0)->name >= 96) test_unet_z(UNET_Z_ALL);
    else printf("not run: U-Net add_all (its names need host/net.h's param name of 96+ chars, now %zu)\n",
                sizeof ((param *)0)->name);
    test_basic_block();
    clg_close(cl);
    printf("runtime %.1f s\n", now_seconds() - t0);
    TEST_END();
}
