/* A network's parameters: named tensors sliced by offset out of one weight buffer, with a twin
 * gradient buffer, so zeroing gradients and the optimizer step are one launch each. */
#ifndef CLGAN_NET_H
#define CLGAN_NET_H
#include "device.h"
#include "tensor.h"

typedef struct {
    char name[128]; /* as long as the reference networks need: pix2pix unet_256 names reach 100 */
    int ndim, shape[4];
    size_t off, numel;
    /* Its gradient is zero, but the buffer still holds what the last step left there (net_zero_grad):
     * the first backward to reach it overwrites (tape_grad hands it beta 0), net_grad_settle fills it. */
    int grad_zero_pending;
} param;

typedef struct {
    char name[32];
    clg_ctx *cl;
    param *p;
    int np;
    size_t total; /* floats over all parameters */
    cl_mem w, g;  /* created by net_alloc */
    int requires_grad; /* off: the tape lets no gradient into this network (e.g. D during the G step) */
    unsigned long version; /* bumped by every write of the weights through this API and by optim_step and
                              net_clip_weights: what a tape derived from them is valid for */
} net;

void net_init(net *n, clg_ctx *cl, const char *name);
/* Adds a parameter of 1-4 dimensions (PyTorch layout, e.g. linear weight {out, in}); returns its index. */
int net_add(net *n, const char *pname, int ndim, const int *shape);
void net_alloc(net *n); /* after every net_add */
void net_free(net *n);
int net_find(const net *n, const char *pname); /* -1 if absent */
/* The parameter as a tensor: 1-D {numel,1,1,1}; 2-D {rows, cols, 1, 1}; 4-D as is. */
tensor net_tensor(const net *n, int i);
tensor net_grad(const net *n, int i);
/* Every gradient to zero, lazily: no kernel runs here. The first contribution of a backward overwrites a
 * parameter's slice (tape_grad's beta 0) instead of adding to a filled zero, which saves the fill and
 * the read of the old values; net_grad_settle zero-fills the slices nothing wrote. */
void net_zero_grad(net *n);
/* Zero-fills the slices still pending from net_zero_grad: call before reading n->g as a whole (the
 * optimizer step, the data-parallel allreduce, tests). */
void net_grad_settle(net *n);
/* Host copies of all weights (total floats), e.g. for checkpoints. */
void net_download(net *n, float *host);
void net_upload(net *n, const float *host);
/* PyTorch's default init for a linear layer of fan_in inputs: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * for weight and bias, drawn from the counter-based RNG (stream INIT, step = parameter index). */
void net_init_uniform(net *n, int i, float bound, unsigned long long seed);
void net_init_normal(net *n, int i, float mean, float std, unsigned long long seed);
void net_init_const(net *n, int i, float value);

#endif
