#include "optim.h"

#include <math.h>
#include <stdlib.h>

#include "comm.h"
#include "kernel_launch.h"
#include "util.h"

static void init(optim *o, optim_kind kind, net *n) {
    *o = (optim){.kind = kind, .net = n};
    o->m = clg_alloc(n->cl, n->total);
    o->v = clg_alloc(n->cl, n->total);
    clg_fill(n->cl, o->m, 0, n->total, 0.0f);
    clg_fill(n->cl, o->v, 0, n->total, 0.0f);
}

void optim_adam(optim *o, net *n, double lr, double beta1, double beta2, double eps, double weight_decay) {
    init(o, OPT_ADAM, n);
    o->lr = lr, o->beta1 = beta1, o->beta2 = beta2, o->eps = eps, o->weight_decay = weight_decay;
}

void optim_rmsprop(optim *o, net *n, double lr, double alpha, double eps, double weight_decay) {
    init(o, OPT_RMSPROP, n);
    o->lr = lr, o->beta2 = alpha, o->eps = eps, o->weight_decay = weight_decay;
}

void optim_free(optim *o) {
    if (o->m) clReleaseMemObject(o->m);
    if (o->v) clReleaseMemObject(o->v);
    o->m = o->v = NULL;
}

/* Data parallelism (host/comm.h): every rank's gradient, weighted by its share of the batch (each rank's
 * loss is the mean over its own rows), summed over the ranks, so every rank takes the step that one
 * rank with the whole batch would take. The one place every model's optimizer goes through. */
static void allreduce_grad(net *n) {
    double t0 = now_seconds();
    clg_finish(n->cl); /* the backward still queued: timed apart from the allreduce */
    comm_add_wait(now_seconds() - t0);
    float *g = xmalloc(n->total * sizeof *g);
    clg_read(n->cl, n->g, 0, n->total, g);
    float share = (float)comm_share();
    if (share != 1.0f)
        for (size_t i = 0; i < n->total; i++) g[i] *= share;
    comm_allreduce_sum_float(g, n->total);
    clg_write(n->cl, n->g, 0, n->total, g);
    free(g);
}

void optim_step(optim *o) {
    o->t++;
    net *n = o->net;
    net_grad_settle(n);
    if (comm_active()) allreduce_grad(n);
    n->version++;
    if (o->kind == OPT_RMSPROP) {
        kl_rmsprop_step(n->cl, clg_grid_1d(n->total), n->w, n->g, o->v, n->total, o->lr, o->beta2, 1.0 - o->beta2,
                        o->eps, o->weight_decay);
        return;
    }
    double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    kl_adam_step(n->cl, clg_grid_1d(n->total), n->w, n->g, o->m, o->v, n->total, o->lr / bc1, 1.0 / sqrt(bc2), o->beta1,
                 o->beta2, 1.0 - o->beta1, 1.0 - o->beta2, o->eps, o->weight_decay);
}

void optim_download(optim *o, float *m_host, float *v_host) {
    clg_read(o->net->cl, o->m, 0, o->net->total, m_host);
    clg_read(o->net->cl, o->v, 0, o->net->total, v_host);
}

void optim_upload(optim *o, const float *m_host, const float *v_host) {
    clg_write(o->net->cl, o->m, 0, o->net->total, m_host);
    clg_write(o->net->cl, o->v, 0, o->net->total, v_host);
}
