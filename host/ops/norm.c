/* Batch norm and instance norm (kernels/norm.cl). Both normalise groups of a NCHW tensor: batch norm
 * one group per channel over N*H*W elements, instance norm one group per (sample, channel) plane over
 * H*W. The forward computes each group's mean and 1/sqrt(var + eps) on the device (one work-group per
 * group, two passes) into an arena tensor kept for backward, then normalises elementwise. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "comm.h"
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

enum { NORM_BATCH = 0, NORM_INSTANCE = 1 };

/* How a tensor splits into groups (see kernels/norm.cl). */
typedef struct {
    int n;      /* elements of x */
    int C, HW;  /* channels, pixels per plane */
    int G, M;   /* groups, elements per group */
    int stride; /* distance between consecutive planes of one group (batch norm) */
    int reps;   /* groups per channel (for the gradients of gamma and beta) */
} norm_geom;

static norm_geom geometry(tensor x, int kind) {
    if (tnumel(x) > INT_MAX) die("norm: tensor of %zu elements is too large", tnumel(x));
    norm_geom g = {.n = (int)tnumel(x), .C = x.c, .HW = x.h * x.w, .stride = x.c * x.h * x.w};
    if (kind == NORM_BATCH) {
        g.G = x.c;
        g.M = x.n * g.HW;
        g.reps = 1;
    } else {
        g.G = x.n * x.c;
        g.M = g.HW;
        g.reps = x.n;
    }
    return g;
}

/* The grid {8 pixels, plane} of the elementwise norm kernels (see kernels/norm.cl). */
static clg_grid planes_grid(const norm_geom *g) {
    return clg_grid_rows(((size_t)g->HW + 7) / 8, (size_t)(g->n / g->HW));
}

static void check_param(tape *t, int p, int C, const char *what, const char *op) {
    if (p >= 0 && (int)tnumel(tape_val(t, p)) != C)
        die("%s: %s has %zu elements, the input %d channels", op, what, tnumel(tape_val(t, p)), C);
}

/* ---- synchronised batch norm (host/comm.h): the statistics of the whole batch over every rank ---- */

/* Replaces this rank's per-channel mean and variance in st (3*G floats, kernels/norm.cl) by those of
 * every rank's rows together: the sums M*mean and M*(var + mean^2) are added in double over the ranks.
 * Returns the number of values per channel over all ranks. */
static int sync_stats(clg_ctx *c, tensor st, int G, int M, float eps) {
    float *h = xmalloc(3 * (size_t)G * sizeof *h);
    double *s = xmalloc((2 * (size_t)G + 1) * sizeof *s);
    clg_read(c, st.mem, st.off, 3 * (size_t)G, h);
    for (int g = 0; g < G; g++) {
        double mean = h[g], var = h[2 * G + g];
        s[g] = M * mean;
        s[G + g] = M * (var + mean * mean);
    }
    s[2 * G] = M;
    comm_allreduce_sum_double(s, 2 * (size_t)G + 1);
    double Mt = s[2 * G];
    for (int g = 0; g < G; g++) {
        double mean = s[g] / Mt, var = s[G + g] / Mt - mean * mean;
        float v = (float)(var > 0 ? var : 0);
        h[g] = (float)mean;
        h[G + g] = 1.0f / sqrtf(v + eps); /* as norm_stats computes it */
        h[2 * G + g] = v;
    }
    clg_write(c, st.mem, st.off, 3 * (size_t)G, h);
    free(h);
    free(s);
    if (Mt > INT_MAX) die("batchnorm: %.0f values per channel over all ranks", Mt);
    return (int)Mt;
}

/* The backward's per-channel sums (sum dy, sum dy*xhat: 2*G floats) of every rank, into a new tensor.
 * Each rank's dy is the gradient of its own rows' mean loss, so its sums are weighted by its share of
 * the batch, and the total divided by it again: the result is what this rank's rows see in a one-rank
 * run, in this rank's scale. */
static tensor sync_sums(tape *t, tensor sums, int G) {
    float *h = xmalloc(2 * (size_t)G * sizeof *h);
    clg_read(t->cl, sums.mem, sums.off, 2 * (size_t)G, h);
    float share = (float)comm_share();
    for (int i = 0; i < 2 * G; i++) h[i] *= share;
    comm_allreduce_sum_float(h, 2 * (size_t)G);
    for (int i = 0; i < 2 * G; i++) h[i] /= share;
    tensor out = arena_tensor(&t->ar, 2 * G, 1, 1, 1);
    clg_write(t->cl, out.mem, out.off, 2 * (size_t)G, h);
    free(h);
    return out;
}

static void norm_backward(tape *t, const tnode *nd) {
    clg_ctx *c = t->cl;
    tensor x = tape_val(t, nd->in[0]), dy = tape_out_grad(t, nd), st = nd->saved[0];
    norm_geom g = geometry(x, nd->iarg[0]);
    int through_stats = nd->iarg[1], act = nd->iarg[3];
    float slope = nd->farg[0];
    tensor a = tape_val(t, nd->out); /* the activation's output: dy is its gradient (read when act) */
    /* the residual first (R may be x: then op_add's order, R's share written before the norm's is added) */
    if (nd->nin == 4) { /* the gradient of y = R + norm(x) passes to R unchanged */
        float br;
        tensor dr = tape_grad(t, nd->in[3], &br);
        if (dr.mem) k_axpby(c, dr, dy, tnumel(dy), 1.0f, br);
    }
    float bx, bg, bb;
    tensor dx = tape_grad(t, nd->in[0], &bx), dg = tape_grad(t, nd->in[1], &bg), db = tape_grad(t, nd->in[2], &bb);
    tensor sums = st; /* a placeholder buffer when the sums are not needed */
    if (dg.mem || db.mem || (dx.mem && through_stats)) {
        sums = arena_tensor(&t->ar, 2 * g.G, 1, 1, 1);
        size_t wg = clg_plane_reduce_wg(c, "norm_bwd_sums", (size_t)g.HW), gl = (size_t)g.G * wg;
        kl_norm_bwd_sums(c, clg_grid_1d_local(gl, wg), dy.mem, dy.off, x.mem, x.off, st.mem, st.off, g.HW, g.stride,
                         g.M, g.G, sums.mem, sums.off, 2 * wg * sizeof(float), a.mem, a.off, act, slope);
    }
    if (dg.mem) /* dgamma = sum(dy * xhat) */
        kl_norm_param_grad(c, clg_grid_1d(g.C), dg.mem, dg.off, sums.mem, sums.off + g.G, g.C, g.reps, bg);
    if (db.mem) /* dbeta = sum(dy) */
        kl_norm_param_grad(c, clg_grid_1d(g.C), db.mem, db.off, sums.mem, sums.off, g.C, g.reps, bb);
    if (dx.mem) {
        int has_gamma = nd->in[1] >= 0, M = g.M;
        tensor gm = has_gamma ? tape_val(t, nd->in[1]) : x;
        if (through_stats && nd->iarg[2] > 0) { /* synchronised: the statistics were every rank's */
            sums = sync_sums(t, sums, g.G);
            M = nd->iarg[2];
        }
        kl_norm_bwd_dx(c, planes_grid(&g), dx.mem, dx.off, dy.mem, dy.off, x.mem, x.off, st.mem, st.off, gm.mem, gm.off,
                       has_gamma, sums.mem, sums.off, through_stats, g.HW, g.G, g.C, M, bx, a.mem, a.off, act, slope);
    }
}

/* The shared forward. stats_from_batch: compute the statistics from x (else from the running
 * tensors); update_running: fold the batch statistics into the running tensors; act, slope: the
 * activation after the norm (kernels/norm.cl). */
static int norm_forward(tape *t, int kind, int x, int gamma, int beta, tensor rm, tensor rv,
                        int stats_from_batch, int update_running, float momentum, float eps, norm_act act,
                        float slope, int res) {
    clg_ctx *c = t->cl;
    tensor xv = tape_val(t, x);
    norm_geom g = geometry(xv, kind);
    const char *name = kind == NORM_BATCH ? "batchnorm" : "instancenorm";
    check_param(t, gamma, g.C, "gamma", name);
    check_param(t, beta, g.C, "beta", name);
    int ins[4] = {x, gamma, beta, res}, nin = res >= 0 ? 4 : 3;
    tensor rt = res >= 0 ? tape_val(t, res) : xv; /* x's buffer as a placeholder the kernel never reads */
    if (res >= 0 && !tsame_shape(rt, xv))
        die("%s: the residual is %dx%dx%dx%d, the input %dx%dx%dx%d", name, rt.n, rt.c, rt.h, rt.w, xv.n, xv.c,
            xv.h, xv.w);
    if (res >= 0 && act != NORM_ACT_NONE) die("%s: an activation and a residual in one node", name);
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, nin, ins));
    tensor yv = tape_val(t, y);
    tensor st = arena_tensor(&t->ar, 3 * g.G, 1, 1, 1);
    int M_all = 0; /* > 0: the batch statistics are every rank's (synchronised batch norm), over M_all values */
    if (stats_from_batch) {
        size_t wg = clg_plane_reduce_wg(c, "norm_stats", (size_t)g.HW), gl = (size_t)g.G * wg;
        kl_norm_stats(c, clg_grid_1d_local(gl, wg), xv.mem, xv.off, g.HW, g.stride, g.M, g.G, eps, st.mem, st.off,
                      2 * wg * sizeof(float));
        if (kind == NORM_BATCH && comm_active()) M_all = sync_stats(c, st, g.G, g.M, eps);
    } else {
        kl_norm_stats_from_running(c, clg_grid_1d(g.C), st.mem, st.off, rm.mem, rm.off, rv.mem, rv.off, g.C, eps);
    }
    if (update_running)
        kl_norm_running_update(c, clg_grid_1d(g.C), rm.mem, rm.off, rv.mem, rv.off, st.mem, st.off, g.C,
                               M_all > 0 ? M_all : g.M, momentum);
    /* absent gamma / beta: x's buffer as a placeholder the kernel never reads */
    tensor gm = gamma >= 0 ? tape_val(t, gamma) : xv, bt = beta >= 0 ? tape_val(t, beta) : xv;
    kl_norm_apply(c, planes_grid(&g), yv.mem, yv.off, xv.mem, xv.off, st.mem, st.off, gm.mem, gm.off, gamma >= 0,
                  bt.mem, bt.off, beta >= 0, g.HW, g.G, g.C, (int)act, slope, rt.mem, rt.off, res >= 0);
    static const char *const names[2][4] = {{"batchnorm", "batchnorm+relu", "batchnorm+leaky_relu", "batchnorm+add"},
                                            {"instancenorm", "instancenorm+relu", "instancenorm+leaky_relu",
                                             "instancenorm+add"}};
    tnode *nd = tape_record(t, norm_backward, names[kind][res >= 0 ? 3 : act], y, nin, ins);
    if (nd) {
        nd->saved[0] = st;
        nd->iarg[0] = kind;
        nd->iarg[1] = stats_from_batch;
        nd->iarg[2] = M_all;
        nd->iarg[3] = (int)act;
        nd->farg[0] = slope;
    }
    return y;
}

static void check_act(norm_act act, float slope, const char *op) {
    if (act != NORM_ACT_NONE && act != NORM_ACT_RELU && act != NORM_ACT_LRELU)
        die("%s: unknown activation %d", op, act);
    /* the backward reads the sign of the output: a negative slope would flip it */
    if (act == NORM_ACT_LRELU && !(slope >= 0.0f)) die("%s: leaky ReLU slope %g: must be >= 0", op, slope);
}

/* op_batchnorm_act with a residual res (-1: none). */
static int batchnorm(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                     float momentum, float eps, norm_act act, float slope, int res) {
    check_act(act, slope, "op_batchnorm_act");
    tensor xv = tape_val(t, x);
    int have_running = running_mean.mem != NULL;
    if (have_running != (running_var.mem != NULL))
        die("op_batchnorm: running_mean and running_var must both be given or both be absent");
    if (have_running && ((int)tnumel(running_mean) != xv.c || (int)tnumel(running_var) != xv.c))
        die("op_batchnorm: running statistics have %zu and %zu elements, the input %d channels",
            tnumel(running_mean), tnumel(running_var), xv.c);
    if (!training && !have_running) die("op_batchnorm: evaluation mode needs running statistics");
    if (training && (long)xv.n * xv.h * xv.w <= 1)
        die("op_batchnorm: training needs more than one value per channel (input %dx%dx%dx%d)", xv.n, xv.c, xv.h,
            xv.w);
    return norm_forward(t, NORM_BATCH, x, gamma, beta, running_mean, running_var, training != 0,
                        training && have_running, momentum, eps, act, slope, res);
}

int op_batchnorm_act(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                     float momentum, float eps, norm_act act, float slope) {
    return batchnorm(t, x, gamma, beta, running_mean, running_var, training, momentum, eps, act, slope, -1);
}

int op_batchnorm_add(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                     float momentum, float eps, int res) {
    return batchnorm(t, x, gamma, beta, running_mean, running_var, training, momentum, eps, NORM_ACT_NONE, 0.0f, res);
}

int op_batchnorm(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                 float momentum, float eps) {
    return batchnorm(t, x, gamma, beta, running_mean, running_var, training, momentum, eps, NORM_ACT_NONE, 0.0f, -1);
}

/* op_instancenorm_act with a residual res (-1: none). */
static int instancenorm(tape *t, int x, int gamma, int beta, float eps, norm_act act, float slope, int res) {
    check_act(act, slope, "op_instancenorm_act");
    tensor xv = tape_val(t, x);
    if (xv.h * xv.w <= 1)
        die("op_instancenorm: needs more than one spatial element (input %dx%dx%dx%d)", xv.n, xv.c, xv.h, xv.w);
    return norm_forward(t, NORM_INSTANCE, x, gamma, beta, (tensor){0}, (tensor){0}, 1, 0, 0.0f, eps, act, slope, res);
}

int op_instancenorm_act(tape *t, int x, int gamma, int beta, float eps, norm_act act, float slope) {
    return instancenorm(t, x, gamma, beta, eps, act, slope, -1);
}

int op_instancenorm_add(tape *t, int x, int gamma, int beta, float eps, int res) {
    return instancenorm(t, x, gamma, beta, eps, NORM_ACT_NONE, 0.0f, res);
}

int op_instancenorm(tape *t, int x, int gamma, int beta, float eps) {
    return instancenorm(t, x, gamma, beta, eps, NORM_ACT_NONE, 0.0f, -1);
}
