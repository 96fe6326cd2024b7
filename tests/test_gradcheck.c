/* Finite-difference gradient checks through the autograd tape: for every differentiable op (linear,
 * relu, sigmoid, reparam, bce_sum, kl_normal_sum, sqerr_sum, lincomb), for a variable used twice and
 * for the whole VAE of models/vae.c at a small size, the analytic gradient from tape_backward must
 * match central differences of the loss evaluated in float32 on the device.
 *
 * Cases (batch 3 throughout; odd sizes 7, 13, 11, 9, 3; all inputs random and non-zero):
 *   1 linear(x {3,13}, W {7,13}, b {7}) -> sqerr_sum vs a fixed target, scale 0.5
 *   2 relu(linear) and sigmoid(linear), each -> sqerr_sum
 *   3 bce_sum(sigmoid(linear)) vs targets in [0,1], scale 1/3
 *   4 kl_normal_sum(mu {3,7}, logvar {3,7}), scale 0.7
 *   5 reparam(mu, logvar, eps fixed) -> sqerr_sum vs a target
 *   6 lincomb(0.3 * case 4, -1.7 * case 5): two paths into mu and logvar
 *   7 vae_forward 11-9-3-9-11 (sigmoid output, bce + kl): every parameter
 *   8 y = relu(x) feeding two linears, losses combined (0.8, 1.3); the second sqerr takes its
 *     variable as the second argument, so that side's gradient (sign -1) is checked too. Checked:
 *     every parameter, and the activation gradient dL/dy (accumulated over both uses) where x > 0.
 *
 * Every leaf we want a gradient for lives in a network (net), so perturbing one element is a host
 * edit plus net_upload, and its analytic gradient lands in net.g. That buffer starts filled with
 * random values, not zeros: backward must add to it (the analytic gradient is what it added), so an
 * op that overwrites a parameter's gradient instead of accumulating fails. Constant inputs (targets,
 * eps) are tape inputs in buffers of their own. Each case also checks that the forward with
 * gradients disabled gives exactly the same loss.
 *
 * Step and tolerance. For an element w of a tensor whose values have RMS s, h = 1e-2 * max(|w|, s);
 * the finite difference is (L(w+) - L(w-)) / (w+ - w-) with w+- the float32 values actually uploaded
 * (not w +- h, which float32 cannot represent exactly). Its two errors:
 *   - truncation, ~h^2 L'''/6: relative ~1e-4 for these smooth losses (ReLU kinks excluded, below);
 *   - float32 rounding of the loss: the forward is deterministic, but moving w changes how each sum
 *     rounds, by a few ulp of |L| ~ 1e-6 for |L| = O(1..10), i.e. ~1e-6 / 2h ~ 1e-4 in the difference
 *     when the gradient is O(0.1..1).
 * The comparison is |fd - an| <= 2e-2 * max(|an|, g), g the typical gradient size of the tensor
 * (the larger of the RMS of its analytic gradient over all elements and the RMS of the finite
 * differences checked). That is far above both errors (the worst seen over 60 draws of every case
 * was 2.3e-3; each line prints its own), and far below what a wrong gradient gives: a missing factor
 * 0.5 is a relative error of 0.5 (or 1), a sign error 2, a lost accumulation the size of the lost
 * path. For this the gradients must not be tiny against the loss: see the VAE's weight scale.
 * Up to 40 elements per tensor are checked, chosen at random, always including an element whose
 * analytic gradient is not small; a tensor whose analytic gradient is all zero fails outright (every
 * tensor here has a non-zero true gradient).
 *
 * ReLU kinks: the finite difference of relu is wrong within h of 0. Where the ReLU input is a leaf
 * (case 8), elements with |x| < 3h (h <= 1e-2 since |x| <= 1, so |x| < 0.03) are resampled. Where
 * it is computed (relu after linear, case 2), the inputs and weights are redrawn until every ReLU
 * input is at least 0.03 from 0; one step moves it by at most ~0.005 there. The VAE needs a wider
 * margin (see case_vae). As a guard, every finite-difference forward compares the signs of all ReLU
 * inputs (found by walking the tape's relu nodes) with the unperturbed ones; a flip would invalidate
 * the difference and is counted as a failure ("kink crossings") rather than silently skipped.
 *
 * CLGAN_GRADCHECK_SEED=n reruns every case on other random draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops.h"
#include "rng.h"
#include "util.h"
#include "vae.h"

#define MAX_CHECK 40
#define STEP_REL 1e-2
#define TOL 2e-2
#define RELU_MARGIN 0.03

static clg_ctx *cl;
static rng_seq R;
static tape T;
static long n_evals; /* finite-difference loss evaluations */

static float unif(float lo, float hi) { return lo + (hi - lo) * rng_uniform(&R); }

static void fill_unif(float *v, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) v[i] = unif(lo, hi);
}

/* A constant input tensor {n, c, 1, 1} in a buffer of its own. */
static tensor const_tensor(const float *v, int n, int c) {
    tensor t = {.mem = clg_alloc(cl, (size_t)n * c), .off = 0, .n = n, .c = c, .h = 1, .w = 1};
    clg_write(cl, t.mem, 0, (size_t)n * c, v);
    return t;
}

static tensor const_unif(int n, int c, float lo, float hi) {
    float *v = xmalloc((size_t)n * c * sizeof *v);
    fill_unif(v, (size_t)n * c, lo, hi);
    tensor t = const_tensor(v, n, c);
    free(v);
    return t;
}

static void set_param(net *n, int i, const float *v) { clg_write(cl, n->w, n->p[i].off, n->p[i].numel, v); }

static void set_param_unif(net *n, int i, float lo, float hi) {
    float *v = xmalloc(n->p[i].numel * sizeof *v);
    fill_unif(v, n->p[i].numel, lo, hi);
    set_param(n, i, v);
    free(v);
}

/* ---- the graph of a case: a builder returning the scalar loss on the (reset) tape ---- */

typedef int (*build_fn)(tape *t, void *ctx);

typedef struct {
    const char *name;
    net *n;
    build_fn build;
    void *ctx;
    int relus; /* ReLU inputs the graph has (the kink guard must see them all) */
} gcase;

static int forward(const gcase *gc, int grad_enabled) {
    tape_reset(&T);
    T.grad_enabled = grad_enabled;
    return gc->build(&T, gc->ctx);
}

/* Values of every ReLU input on the tape (the forward must have run with gradients enabled, so the
 * relu nodes are recorded). Returns the count; *out grows as needed. */
static int relu_inputs(float **out, int *cap) {
    int cnt = 0;
    for (int i = 0; i < T.nnodes; i++) {
        const tnode *nd = &T.nodes[i];
        int fused = strcmp(nd->op, "linear_relu") == 0; /* op_linear_act: the input is x W^T + b, not kept */
        if (strcmp(nd->op, "relu") != 0 && !fused) continue;
        tensor x = tape_val(&T, fused ? nd->out : nd->in[0]);
        int n = (int)tnumel(x);
        if (cnt + n > *cap) {
            *cap = 2 * (cnt + n);
            *out = xrealloc(*out, (size_t)*cap * sizeof **out);
        }
        if (fused) { /* recomputed on the host (in double, rounded to float) from the layer's inputs */
            tensor xv = tape_val(&T, nd->in[0]), wv = tape_val(&T, nd->in[1]);
            int B = xv.n, in = trow(xv), o = wv.n;
            float *hx = xmalloc((size_t)B * in * sizeof *hx), *hw = xmalloc((size_t)o * in * sizeof *hw);
            float *hb = xcalloc((size_t)o, sizeof *hb);
            clg_read(cl, xv.mem, xv.off, (size_t)B * in, hx);
            clg_read(cl, wv.mem, wv.off, (size_t)o * in, hw);
            if (nd->in[2] >= 0) clg_read(cl, tape_val(&T, nd->in[2]).mem, tape_val(&T, nd->in[2]).off, (size_t)o, hb);
            for (int i = 0; i < B; i++)
                for (int j = 0; j < o; j++) {
                    double v = hb[j];
                    for (int k = 0; k < in; k++) v += (double)hx[(size_t)i * in + k] * hw[(size_t)j * in + k];
                    (*out)[cnt + (size_t)i * o + j] = (float)v;
                }
            free(hx), free(hw), free(hb);
        } else {
            clg_read(cl, x.mem, x.off, (size_t)n, *out + cnt);
        }
        cnt += n;
    }
    return cnt;
}

static double relu_min_abs(void) {
    float *v = NULL;
    int cap = 0, n = relu_inputs(&v, &cap);
    double m = INFINITY;
    for (int i = 0; i < n; i++)
        if (fabs(v[i]) < m) m = fabs(v[i]);
    free(v);
    return m;
}

/* State of one case's check: the unperturbed weights, the analytic gradient, ReLU signs. */
typedef struct {
    const gcase *gc;
    float *w0, *an;
    double L0;
    float *relu0;
    int nrelu;
    float *scratch;
    int scap;
} gstate;

/* Loss with element k of the weights set to v; *kink set if any ReLU input changed sign. */
static double loss_at(gstate *s, size_t k, float v, int *kink) {
    float old = s->w0[k];
    s->w0[k] = v;
    net_upload(s->gc->n, s->w0);
    s->w0[k] = old;
    int L = forward(s->gc, 1);
    double l = tape_read_scalar(&T, L);
    n_evals++;
    if (s->nrelu) {
        int n = relu_inputs(&s->scratch, &s->scap);
        if (n != s->nrelu) die("gradcheck: relu count changed (%d vs %d)", n, s->nrelu);
        for (int i = 0; i < n; i++)
            if ((s->scratch[i] > 0) != (s->relu0[i] > 0)) *kink = 1;
    }
    return l;
}

/* Runs the case once with backward: the analytic gradient of every parameter of the net. The tape
 * keeps that run until the first finite-difference forward, so the caller may read other gradients. */
static void gstate_begin(gstate *s, const gcase *gc) {
    memset(s, 0, sizeof *s);
    s->gc = gc;
    net *n = gc->n;
    s->w0 = xmalloc(n->total * sizeof *s->w0);
    s->an = xmalloc(n->total * sizeof *s->an);
    net_download(n, s->w0);
    /* the evaluation-mode forward (no nodes recorded) must give the same loss */
    double Leval = tape_read_scalar(&T, forward(gc, 0));
    /* the gradient buffer starts non-zero: backward must add to it (the analytic gradient is what it
     * added), so an op that overwrites a parameter's gradient instead of accumulating fails too */
    float *g0 = xmalloc(n->total * sizeof *g0);
    fill_unif(g0, n->total, -1, 1);
    clg_write(cl, n->g, 0, n->total, g0);
    int L = forward(gc, 1);
    s->L0 = tape_read_scalar(&T, L);
    CHECK(s->L0 == Leval, "%s: loss %.9g with gradients enabled, %.9g without", gc->name, s->L0, Leval);
    int cap = 0;
    s->nrelu = relu_inputs(&s->relu0, &cap);
    CHECK(s->nrelu == gc->relus, "%s: found %d relu inputs on the tape, the graph has %d", gc->name, s->nrelu,
          gc->relus);
    double m = INFINITY;
    for (int i = 0; i < s->nrelu; i++)
        if (fabs(s->relu0[i]) < m) m = fabs(s->relu0[i]);
    tape_backward(&T, L);
    net_grad_settle(n);
    clg_read(cl, n->g, 0, n->total, s->an);
    for (size_t i = 0; i < n->total; i++) s->an[i] -= g0[i];
    free(g0);
    printf("case %s: loss %.6g", gc->name, s->L0);
    if (s->nrelu) printf(", %d relu inputs, min |input| %.3g", s->nrelu, m);
    printf("\n");
}

static void gstate_end(gstate *s) {
    net_upload(s->gc->n, s->w0); /* the unperturbed weights back */
    free(s->w0);
    free(s->an);
    free(s->relu0);
    free(s->scratch);
}

/* Checks parameter pi of the case's net; fills fd_out (numel floats, NAN where not checked) if
 * given. Returns 1 if it passed. */
static int check_param(gstate *s, int pi, double *fd_out) {
    const net *n = s->gc->n;
    const param *p = &n->p[pi];
    int numel = (int)p->numel;
    const float *w = s->w0 + p->off, *an = s->an + p->off;
    double ws = 0, as = 0;
    for (int i = 0; i < numel; i++) {
        ws += (double)w[i] * w[i];
        as += (double)an[i] * an[i];
    }
    ws = sqrt(ws / numel);
    as = sqrt(as / numel);
    /* the subset: a random permutation's head, with a large-gradient element in front if none is */
    int *idx = xmalloc((size_t)numel * sizeof *idx);
    for (int i = 0; i < numel; i++) idx[i] = i;
    rng_shuffle(&R, idx, numel);
    int K = numel < MAX_CHECK ? numel : MAX_CHECK, big = 0;
    for (int j = 0; j < K; j++) big |= fabs(an[idx[j]]) > 0.1 * as;
    for (int j = K; j < numel && !big; j++)
        if (fabs(an[idx[j]]) > 0.1 * as) {
            int tmp = idx[0];
            idx[0] = idx[j];
            idx[j] = tmp;
            big = 1;
        }
    double *fd = xmalloc((size_t)K * sizeof *fd);
    int kinks = 0;
    double fs = 0;
    for (int j = 0; j < K; j++) {
        size_t k = p->off + (size_t)idx[j];
        double wk = s->w0[k];
        double h = STEP_REL * fmax(fabs(wk), ws);
        float wp = (float)(wk + h), wm = (float)(wk - h);
        int kink = 0;
        double Lp = loss_at(s, k, wp, &kink), Lm = loss_at(s, k, wm, &kink);
        fd[j] = (Lp - Lm) / ((double)wp - (double)wm);
        kinks += kink;
        fs += fd[j] * fd[j];
    }
    fs = sqrt(fs / K);
    double g = fmax(as, fs); /* the tensor's typical gradient size */
    double worst = 0, worst_abs = 0;
    int at = -1;
    for (int j = 0; j < K; j++) {
        double a = an[idx[j]];
        double e = fabs(fd[j] - a) / fmax(fabs(a), g);
        if (!(e <= worst)) { /* NaN counts as worst */
            worst = e;
            at = j;
        }
        worst_abs = fmax(worst_abs, fabs(fd[j] - a));
    }
    int ok = worst <= TOL && kinks == 0 && as > 0 && g > 0;
    check_count++;
    if (!ok) check_failures++;
    printf("  %-10s %-12s n=%-3d worst %.2e (abs %.1e, grad scale %.3g) tol %.0e %s", s->gc->name, p->name, K,
           worst, worst_abs, g, TOL, ok ? "ok" : "FAIL");
    if (!ok && at >= 0)
        printf("  at [%d] fd %.7g analytic %.7g", idx[at], fd[at], (double)an[idx[at]]);
    if (kinks) printf("  (%d kink crossings)", kinks);
    if (!(as > 0)) printf("  (analytic gradient all zero)");
    printf("\n");
    if (fd_out) {
        for (int i = 0; i < numel; i++) fd_out[i] = NAN;
        for (int j = 0; j < K; j++) fd_out[idx[j]] = fd[j];
    }
    net_upload(s->gc->n, s->w0);
    free(idx);
    free(fd);
    return ok;
}

static void check_all_params(const gcase *gc) {
    gstate s;
    gstate_begin(&s, gc);
    for (int i = 0; i < gc->n->np; i++) check_param(&s, i, NULL);
    gstate_end(&s);
}

/* ---- cases 1-3: linear, then identity / relu / sigmoid, into sqerr or bce ---- */

enum { ACT_NONE, ACT_RELU, ACT_SIGMOID };

typedef struct {
    net *n;
    int x, w, b, act, bce;
    float scale;
    tensor target;
} lin_ctx;

static int build_lin(tape *t, void *vc) {
    lin_ctx *c = vc;
    int y = op_linear(t, tape_param(t, c->n, c->x), tape_param(t, c->n, c->w), tape_param(t, c->n, c->b));
    if (c->act == ACT_RELU) y = op_relu(t, y);
    if (c->act == ACT_SIGMOID) y = op_sigmoid(t, y);
    int tg = tape_input(t, c->target);
    return c->bce ? op_bce_sum(t, y, tg, c->scale) : op_sqerr_sum(t, y, tg, c->scale);
}

static void case_linear(const char *name, int act, int bce, float scale) {
    const int B = 3, IN = 13, OUT = 7;
    net n;
    net_init(&n, cl, "lin");
    lin_ctx c = {.n = &n, .act = act, .bce = bce, .scale = scale};
    c.x = net_add(&n, "x", 2, (int[]){B, IN});
    c.w = net_add(&n, "W", 2, (int[]){OUT, IN});
    c.b = net_add(&n, "b", 1, (int[]){OUT});
    net_alloc(&n);
    /* bce: targets in [0, 1]; sqerr: targets around the outputs' range */
    c.target = bce ? const_unif(B, OUT, 0, 1) : const_unif(B, OUT, act == ACT_SIGMOID ? 0.0f : -1.0f, 1);
    gcase gc = {name, &n, build_lin, &c, act == ACT_RELU ? B * OUT : 0};
    for (int tries = 0;; tries++) {
        set_param_unif(&n, c.x, -1, 1);
        set_param_unif(&n, c.w, -0.5f, 0.5f);
        set_param_unif(&n, c.b, -0.5f, 0.5f);
        if (act != ACT_RELU) break;
        forward(&gc, 1);
        if (relu_min_abs() >= RELU_MARGIN) break; /* keep the relu inputs away from the kink */
        if (tries > 1000) die("gradcheck: no relu inputs away from 0 after 1000 draws");
    }
    check_all_params(&gc);
    clReleaseMemObject(c.target.mem);
    net_free(&n);
}

/* ---- cases 4-6: kl, reparam, their lincomb over the same mu and logvar ---- */

enum { LAT_KL, LAT_REPARAM, LAT_LINCOMB };

typedef struct {
    net *n;
    int mu, lv, which;
    tensor eps, target;
} lat_ctx;

static int lat_kl(tape *t, lat_ctx *c) {
    return op_kl_normal_sum(t, tape_param(t, c->n, c->mu), tape_param(t, c->n, c->lv), 0.7f);
}

static int lat_reparam(tape *t, lat_ctx *c) {
    int z = op_reparam(t, tape_param(t, c->n, c->mu), tape_param(t, c->n, c->lv), tape_input(t, c->eps));
    return op_sqerr_sum(t, z, tape_input(t, c->target), 0.5f);
}

static int build_lat(tape *t, void *vc) {
    lat_ctx *c = vc;
    if (c->which == LAT_KL) return lat_kl(t, c);
    if (c->which == LAT_REPARAM) return lat_reparam(t, c);
    return op_lincomb(t, lat_kl(t, c), 0.3f, lat_reparam(t, c), -1.7f);
}

static void case_latent(const char *name, int which) {
    const int B = 3, Z = 7;
    net n;
    net_init(&n, cl, "lat");
    lat_ctx c = {.n = &n, .which = which};
    c.mu = net_add(&n, "mu", 2, (int[]){B, Z});
    c.lv = net_add(&n, "logvar", 2, (int[]){B, Z});
    net_alloc(&n);
    set_param_unif(&n, c.mu, -1.5f, 1.5f);
    set_param_unif(&n, c.lv, -2.0f, 1.0f);
    float eps[3 * 7];
    for (int i = 0; i < B * Z; i++) {
        eps[i] = rng_normal(&R);
        if (fabsf(eps[i]) < 0.1f) eps[i] = eps[i] < 0 ? -0.3f : 0.3f; /* every logvar gets a gradient */
    }
    c.eps = const_tensor(eps, B, Z);
    c.target = const_unif(B, Z, -1, 1);
    gcase gc = {name, &n, build_lat, &c, 0};
    check_all_params(&gc);
    clReleaseMemObject(c.eps.mem);
    clReleaseMemObject(c.target.mem);
    net_free(&n);
}

/* ---- case 7: the VAE model (models/vae.c) at 11-9-3-9-11 ---- */

typedef struct {
    vae *m;
    tensor x;
    unsigned long long seed;
    vae_vars v; /* of the last build */
} vae_ctx;

static int build_vae(tape *t, void *vc) {
    vae_ctx *c = vc;
    c->v = vae_forward(c->m, t, tape_input(t, c->x), c->seed, 1);
    return c->v.loss;
}

/* min(p, 1 - p) over the VAE's output probabilities of the last build */
static double vae_min_tail(vae_ctx *c) {
    tensor p = tape_val(&T, c->v.xhat);
    size_t n = tnumel(p);
    float *v = xmalloc(n * sizeof *v);
    clg_read(cl, p.mem, p.off, n, v);
    double m = 1;
    for (size_t i = 0; i < n; i++) m = fmin(m, fmin(v[i], 1.0 - v[i]));
    free(v);
    return m;
}

static void scale_params(net *n, float gain) {
    float *w = xmalloc(n->total * sizeof *w);
    net_download(n, w);
    for (size_t i = 0; i < n->total; i++) w[i] *= gain;
    net_upload(n, w);
    free(w);
}

/* The draw: PyTorch's init (vae_init_weights) times VAE_GAIN, x uniform in (0.02, 0.98), eps from
 * the model's own device noise (seed, step 1: the same on every re-evaluation). Redrawn until
 *  - every ReLU input is at least VAE_RELU_MARGIN from 0. The largest move of a ReLU input by one
 *    step here is a fc3 weight step (1e-2 * max(|w|, rms) <= 1e-2 * VAE_GAIN / sqrt(3) ~ 0.012)
 *    times |z| (a few), so the leaf margin 0.03 is not enough; 0.1 is;
 *  - every output probability is at least VAE_TAIL_MIN from 0 and 1. Near saturation float32
 *    sigmoid quantises 1 - p (steps of 6e-8), so the float32 forward stops being a smooth function
 *    of the weights and its differences are noise: at 1e-3 that quantisation (6e-5 of 1 - p) still
 *    gave errors of 5e-3; at 1e-2 it is 6e-6 of 1 - p.
 * Why the gain: at PyTorch's scale the encoder's gradients are ~1e-3 of the loss (~8), so the loss's
 * float32 rounding over 2h reaches ~2e-2 of them (observed up to 2.1e-2 over 12 seeds); at twice that
 * scale they are ~1e-2 of it as in the other cases (worst observed 2.3e-3 over 60 seeds), while at
 * 3x the outputs saturate (see above). Redraws needed: at most ~350 of a millisecond each. */
#define VAE_GAIN 2.0f
#define VAE_RELU_MARGIN 0.1
#define VAE_TAIL_MIN 1e-2

static void case_vae(void) {
    const int B = 3, IN = 11, H = 9, Z = 3;
    vae m;
    vae_create(&m, cl, IN, H, Z, 0, 1.0f);
    vae_ctx c = {.m = &m};
    gcase gc = {"vae", &m.net, build_vae, &c, 2 * B * H};
    int tries = 0;
    double margin, tail;
    for (;; tries++) {
        vae_init_weights(&m, 1000 + (unsigned long long)tries);
        scale_params(&m.net, VAE_GAIN);
        c.seed = 77 + (unsigned long long)tries;
        if (c.x.mem) clReleaseMemObject(c.x.mem);
        c.x = const_unif(B, IN, 0.02f, 0.98f); /* both the encoder's input and the BCE target */
        forward(&gc, 1);
        margin = relu_min_abs();
        tail = vae_min_tail(&c);
        if (margin >= VAE_RELU_MARGIN && tail >= VAE_TAIL_MIN) break;
        if (tries > 5000) die("gradcheck: no VAE draw away from ReLU kinks and sigmoid saturation");
    }
    printf("vae 11-9-3-9-11: draw %d, weights x%.1f PyTorch init, min |relu input| %.3g, min(p, 1-p) %.3g\n",
           tries, (double)VAE_GAIN, margin, tail);
    check_all_params(&gc);
    clReleaseMemObject(c.x.mem);
    vae_free(&m);
}

/* ---- case 8: y = relu(x) used by two linears, losses combined ---- */

typedef struct {
    net *n;
    int x, w1, b1, w2, b2;
    tensor t1, t2;
    int y; /* handle of relu(x) in the last build */
} twice_ctx;

static int build_twice(tape *t, void *vc) {
    twice_ctx *c = vc;
    c->y = op_relu(t, tape_param(t, c->n, c->x));
    int a = op_linear(t, c->y, tape_param(t, c->n, c->w1), tape_param(t, c->n, c->b1));
    int b = op_linear(t, c->y, tape_param(t, c->n, c->w2), tape_param(t, c->n, c->b2));
    int la = op_sqerr_sum(t, a, tape_input(t, c->t1), 0.5f);
    int lb = op_sqerr_sum(t, tape_input(t, c->t2), b, 0.5f); /* the second argument's gradient (sign -1) */
    return op_lincomb(t, la, 0.8f, lb, 1.3f);
}

static void case_twice(void) {
    const int B = 3, IN = 13, O1 = 7, O2 = 5;
    net n;
    net_init(&n, cl, "twice");
    twice_ctx c = {.n = &n};
    c.x = net_add(&n, "x", 2, (int[]){B, IN});
    c.w1 = net_add(&n, "W1", 2, (int[]){O1, IN});
    c.b1 = net_add(&n, "b1", 1, (int[]){O1});
    c.w2 = net_add(&n, "W2", 2, (int[]){O2, IN});
    c.b2 = net_add(&n, "b2", 1, (int[]){O2});
    net_alloc(&n);
    float x[3 * 13];
    for (int i = 0; i < B * IN; i++)
        do x[i] = unif(-1, 1);
        while (fabsf(x[i]) < RELU_MARGIN); /* |x| >= 3h: no kink within a step */
    set_param(&n, c.x, x);
    set_param_unif(&n, c.w1, -0.5f, 0.5f);
    set_param_unif(&n, c.b1, -0.5f, 0.5f);
    set_param_unif(&n, c.w2, -0.5f, 0.5f);
    set_param_unif(&n, c.b2, -0.5f, 0.5f);
    c.t1 = const_unif(B, O1, -1, 1);
    c.t2 = const_unif(B, O2, -1, 1);
    gcase gc = {"twice", &n, build_twice, &c, B * IN};
    gstate s;
    gstate_begin(&s, &gc);
    /* the activation gradient dL/dy, accumulated over both uses, read before the tape is reused */
    float dy[3 * 13];
    tensor g = T.vars[c.y].grad;
    clg_read(cl, g.mem, g.off, (size_t)B * IN, dy);
    double fdx[3 * 13];
    for (int i = 0; i < n.np; i++) check_param(&s, i, i == c.x ? fdx : NULL);
    /* where x > 0, dL/dx = dL/dy: compare the activation's gradient with the finite differences */
    double worst = 0, gs = 0;
    int cnt = 0;
    for (int i = 0; i < B * IN; i++)
        if (x[i] > 0 && !isnan(fdx[i])) {
            gs += fdx[i] * fdx[i];
            cnt++;
        }
    gs = cnt ? sqrt(gs / cnt) : 0;
    for (int i = 0; i < B * IN; i++)
        if (x[i] > 0 && !isnan(fdx[i])) {
            double e = fabs(fdx[i] - dy[i]) / fmax(fabs(dy[i]), gs);
            if (!(e <= worst)) worst = e; /* NaN counts as worst */
        }
    int ok = cnt > 0 && gs > 0 && worst <= TOL;
    check_count++;
    if (!ok) check_failures++;
    printf("  %-10s %-12s n=%-3d worst %.2e (grad scale %.3g) tol %.0e %s\n", "twice", "y=relu(x)", cnt, worst, gs,
           TOL, ok ? "ok" : "FAIL");
    gstate_end(&s);
    clReleaseMemObject(c.t1.mem);
    clReleaseMemObject(c.t2.mem);
    net_free(&n);
}

int main(void) {
    char err[2048];
    cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char d[512];
    clg_describe(cl, d, sizeof d);
    printf("device: %s\n", d);
    printf("central differences, h = %.0e * max(|w|, rms of the tensor), up to %d elements per tensor,\n"
           "pass if |fd - analytic| <= %.0e * max(|analytic|, grad scale of the tensor)\n",
           STEP_REL, MAX_CHECK, TOL);
    /* CLGAN_GRADCHECK_SEED=n repeats the whole check on other random draws */
    const char *seed = getenv("CLGAN_GRADCHECK_SEED");
    R = rng_seq_make(seed ? strtoull(seed, NULL, 10) : 20240611, RNG_STREAM_TEST, 11);
    tape_init(&T, cl);
    T.keep_grads = 1; /* the "twice" case reads an activation's gradient after tape_backward */
    double t0 = now_seconds();
    case_linear("1-linear", ACT_NONE, 0, 0.5f);
    case_linear("2-relu", ACT_RELU, 0, 0.5f);
    case_linear("2-sigmoid", ACT_SIGMOID, 0, 0.5f);
    case_linear("3-bce", ACT_SIGMOID, 1, 1.0f / 3.0f);
    case_latent("4-kl", LAT_KL);
    case_latent("5-reparam", LAT_REPARAM);
    case_latent("6-lincomb", LAT_LINCOMB);
    case_vae();
    case_twice();
    printf("%ld loss evaluations, %.1f s\n", n_evals, now_seconds() - t0);
    tape_free(&T);
    clg_close(cl);
    TEST_END();
}
