#include "adam.h"

#include <math.h>

void adam_init(adam *o, net *n, double lr, double beta1, double beta2, double eps, double weight_decay) {
    *o = (adam){.net = n, .lr = lr, .beta1 = beta1, .beta2 = beta2, .eps = eps, .weight_decay = weight_decay};
    o->m = clg_alloc(n->cl, n->total);
    o->v = clg_alloc(n->cl, n->total);
    clg_fill(n->cl, o->m, 0, n->total, 0.0f);
    clg_fill(n->cl, o->v, 0, n->total, 0.0f);
}

void adam_free(adam *o) {
    if (o->m) clReleaseMemObject(o->m);
    if (o->v) clReleaseMemObject(o->v);
    o->m = o->v = NULL;
}

void adam_step(adam *o) {
    o->t++;
    double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    net *n = o->net;
    CLG_LAUNCH1(n->cl, "adam_step", n->total, KMEM(n->w), KMEM(n->g), KMEM(o->m), KMEM(o->v), KINT(n->total),
                KFLOAT(o->lr / bc1), KFLOAT(1.0 / sqrt(bc2)), KFLOAT(o->beta1), KFLOAT(o->beta2), KFLOAT(1.0 - o->beta1),
                KFLOAT(1.0 - o->beta2), KFLOAT(o->eps),
                KFLOAT(o->weight_decay));
}

void adam_download(adam *o, float *m_host, float *v_host) {
    clg_read(o->net->cl, o->m, 0, o->net->total, m_host);
    clg_read(o->net->cl, o->v, 0, o->net->total, v_host);
}

void adam_upload(adam *o, const float *m_host, const float *v_host) {
    clg_write(o->net->cl, o->m, 0, o->net->total, m_host);
    clg_write(o->net->cl, o->v, 0, o->net->total, v_host);
}
