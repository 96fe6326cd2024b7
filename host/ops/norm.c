/* Batch norm and instance norm (kernels/norm.cl). Both normalise groups of a NCHW tensor: batch norm
 * one group per channel over N*H*W elements, instance norm one group per (sample, channel) plane over
 * H*W. The forward computes each group's mean and 1/sqrt(var + eps) on the device (one work-group per
 * group, two passes) into an arena tensor kept for backward, then normalises elementwise. */
#include <limits.h>

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

/* Launches an elementwise norm kernel on the grid {8 pixels, plane} (see kernels/norm.cl). */
static void launch_planes(clg_ctx *c, const char *kernel, const norm_geom *g, int nargs, const karg *args) {
    clg_launch_rows(c, kernel, ((size_t)g->HW + 7) / 8, (size_t)(g->n / g->HW), nargs, args);
}

static void check_param(tape *t, int p, int C, const char *what, const char *op) {
    if (p >= 0 && (int)tnumel(tape_val(t, p)) != C)
        die("%s: %s has %zu elements, the input %d channels", op, what, tnumel(tape_val(t, p)), C);
}

static void norm_backward(tape *t, const tnode *nd) {
    clg_ctx *c = t->cl;
    tensor x = tape_val(t, nd->in[0]), dy = tape_out_grad(t, nd), st = nd->saved[0];
    norm_geom g = geometry(x, nd->iarg[0]);
    int through_stats = nd->iarg[1];
    float bx, bg, bb;
    tensor dx = tape_grad(t, nd->in[0], &bx), dg = tape_grad(t, nd->in[1], &bg), db = tape_grad(t, nd->in[2], &bb);
    tensor sums = st; /* a placeholder buffer when the sums are not needed */
    if (dg.mem || db.mem || (dx.mem && through_stats)) {
        sums = arena_tensor(&t->ar, 2 * g.G, 1, 1, 1);
        size_t wg = clg_plane_reduce_wg(c, "norm_bwd_sums", (size_t)g.HW), gl = (size_t)g.G * wg;
        karg a[] = {KMEM(dy.mem), KINT(dy.off),  KMEM(x.mem), KINT(x.off),    KMEM(st.mem), KINT(st.off),
                    KINT(g.HW),   KINT(g.stride), KINT(g.M),  KINT(g.G),      KMEM(sums.mem), KINT(sums.off),
                    KLOCAL(2 * wg * sizeof(float))};
        clg_launch(c, "norm_bwd_sums", 1, &gl, &wg, (int)(sizeof a / sizeof a[0]), a);
    }
    if (dg.mem) /* dgamma = sum(dy * xhat) */
        CLG_LAUNCH1(c, "norm_param_grad", g.C, KMEM(dg.mem), KINT(dg.off), KMEM(sums.mem), KINT(sums.off + g.G),
                    KINT(g.C), KINT(g.reps), KFLOAT(bg));
    if (db.mem) /* dbeta = sum(dy) */
        CLG_LAUNCH1(c, "norm_param_grad", g.C, KMEM(db.mem), KINT(db.off), KMEM(sums.mem), KINT(sums.off),
                    KINT(g.C), KINT(g.reps), KFLOAT(bb));
    if (dx.mem) {
        int has_gamma = nd->in[1] >= 0;
        tensor gm = has_gamma ? tape_val(t, nd->in[1]) : x;
        karg a[] = {KMEM(dx.mem), KINT(dx.off), KMEM(dy.mem),   KINT(dy.off),   KMEM(x.mem),
                    KINT(x.off),  KMEM(st.mem), KINT(st.off),   KMEM(gm.mem),   KINT(gm.off),
                    KINT(has_gamma), KMEM(sums.mem), KINT(sums.off), KINT(through_stats), KINT(g.HW),
                    KINT(g.G),    KINT(g.C),    KINT(g.M),      KFLOAT(bx)};
        launch_planes(c, "norm_bwd_dx", &g, (int)(sizeof a / sizeof a[0]), a);
    }
}

/* The shared forward. stats_from_batch: compute the statistics from x (else from the running
 * tensors); update_running: fold the batch statistics into the running tensors. */
static int norm_forward(tape *t, int kind, const char *name, int x, int gamma, int beta, tensor rm, tensor rv,
                        int stats_from_batch, int update_running, float momentum, float eps) {
    clg_ctx *c = t->cl;
    tensor xv = tape_val(t, x);
    norm_geom g = geometry(xv, kind);
    check_param(t, gamma, g.C, "gamma", name);
    check_param(t, beta, g.C, "beta", name);
    int ins[3] = {x, gamma, beta};
    int y = tape_new(t, xv.n, xv.c, xv.h, xv.w, tape_any_grad(t, 3, ins));
    tensor yv = tape_val(t, y);
    tensor st = arena_tensor(&t->ar, 3 * g.G, 1, 1, 1);
    if (stats_from_batch) {
        size_t wg = clg_plane_reduce_wg(c, "norm_stats", (size_t)g.HW), gl = (size_t)g.G * wg;
        karg a[] = {KMEM(xv.mem), KINT(xv.off), KINT(g.HW),   KINT(g.stride), KINT(g.M),
                    KINT(g.G),    KFLOAT(eps),  KMEM(st.mem), KINT(st.off),   KLOCAL(2 * wg * sizeof(float))};
        clg_launch(c, "norm_stats", 1, &gl, &wg, (int)(sizeof a / sizeof a[0]), a);
    } else {
        CLG_LAUNCH1(c, "norm_stats_from_running", g.C, KMEM(st.mem), KINT(st.off), KMEM(rm.mem), KINT(rm.off),
                    KMEM(rv.mem), KINT(rv.off), KINT(g.C), KFLOAT(eps));
    }
    if (update_running)
        CLG_LAUNCH1(c, "norm_running_update", g.C, KMEM(rm.mem), KINT(rm.off), KMEM(rv.mem), KINT(rv.off),
                    KMEM(st.mem), KINT(st.off), KINT(g.C), KINT(g.M), KFLOAT(momentum));
    /* absent gamma / beta: x's buffer as a placeholder the kernel never reads */
    tensor gm = gamma >= 0 ? tape_val(t, gamma) : xv, bt = beta >= 0 ? tape_val(t, beta) : xv;
    karg a[] = {KMEM(yv.mem), KINT(yv.off), KMEM(xv.mem),   KINT(xv.off), KMEM(st.mem), KINT(st.off),
                KMEM(gm.mem), KINT(gm.off), KINT(gamma >= 0), KMEM(bt.mem), KINT(bt.off), KINT(beta >= 0),
                KINT(g.HW),   KINT(g.G),    KINT(g.C)};
    launch_planes(c, "norm_apply", &g, (int)(sizeof a / sizeof a[0]), a);
    tnode *nd = tape_record(t, norm_backward, name, y, 3, ins);
    if (nd) {
        nd->saved[0] = st;
        nd->iarg[0] = kind;
        nd->iarg[1] = stats_from_batch;
    }
    return y;
}

int op_batchnorm(tape *t, int x, int gamma, int beta, tensor running_mean, tensor running_var, int training,
                 float momentum, float eps) {
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
    return norm_forward(t, NORM_BATCH, "batchnorm", x, gamma, beta, running_mean, running_var, training != 0,
                        training && have_running, momentum, eps);
}

int op_instancenorm(tape *t, int x, int gamma, int beta, float eps) {
    tensor xv = tape_val(t, x);
    if (xv.h * xv.w <= 1)
        die("op_instancenorm: needs more than one spatial element (input %dx%dx%dx%d)", xv.n, xv.c, xv.h, xv.w);
    return norm_forward(t, NORM_INSTANCE, "instancenorm", x, gamma, beta, (tensor){0}, (tensor){0}, 1, 0, 0.0f, eps);
}
