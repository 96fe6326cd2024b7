/* Adam for one network: moments in two buffers shaped like the network's weights; one kernel
 * launch updates every parameter. PyTorch's formula (L2 weight decay added to the gradient). */
#ifndef CLGAN_ADAM_H
#define CLGAN_ADAM_H
#include "net.h"

typedef struct {
    net *net;
    cl_mem m, v;
    double lr, beta1, beta2, eps, weight_decay;
    long t; /* steps taken */
} adam;

void adam_init(adam *o, net *n, double lr, double beta1, double beta2, double eps, double weight_decay);
void adam_free(adam *o);
void adam_step(adam *o); /* uses the network's gradient buffer */
void adam_download(adam *o, float *m_host, float *v_host);
void adam_upload(adam *o, const float *m_host, const float *v_host);

#endif
