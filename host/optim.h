/* Optimizers for one network: Adam and RMSprop with PyTorch's formulas. State (moments) lives in
 * buffers shaped like the network's weights; one kernel launch updates every parameter. */
#ifndef CLGAN_OPTIM_H
#define CLGAN_OPTIM_H
#include "net.h"

typedef enum { OPT_ADAM, OPT_RMSPROP } optim_kind;

typedef struct {
    optim_kind kind;
    net *net;
    cl_mem m, v; /* Adam: first and second moments; RMSprop: v is the square average, m unused */
    double lr, beta1, beta2, eps, weight_decay; /* RMSprop: beta2 holds alpha (0.99 in PyTorch) */
    long t; /* steps taken */
} optim;

void optim_adam(optim *o, net *n, double lr, double beta1, double beta2, double eps, double weight_decay);
void optim_rmsprop(optim *o, net *n, double lr, double alpha, double eps, double weight_decay);
void optim_free(optim *o);
void optim_step(optim *o); /* uses the network's gradient buffer */
void optim_download(optim *o, float *m_host, float *v_host);
void optim_upload(optim *o, const float *m_host, const float *v_host);

#endif
