#include "net.h"

#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

void net_init(net *n, clg_ctx *cl, const char *name) {
    memset(n, 0, sizeof *n);
    n->cl = cl;
    n->requires_grad = 1;
    snprintf(n->name, sizeof n->name, "%s", name);
}

int net_add(net *n, const char *pname, int ndim, const int *shape) {
    if (n->w) die("net %s: parameter %s added after net_alloc", n->name, pname);
    if (ndim < 1 || ndim > 4) die("net %s: parameter %s has %d dimensions", n->name, pname, ndim);
    n->p = xrealloc(n->p, (size_t)(n->np + 1) * sizeof *n->p);
    param *p = &n->p[n->np];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", pname);
    p->ndim = ndim;
    p->numel = 1;
    for (int d = 0; d < ndim; d++) {
        p->shape[d] = shape[d];
        p->numel *= (size_t)shape[d];
    }
    p->off = n->total;
    n->total += (p->numel + 63) / 64 * 64; /* aligned like arena tensors */
    return n->np++;
}

void net_alloc(net *n) {
    n->w = clg_alloc(n->cl, n->total);
    n->g = clg_alloc(n->cl, n->total);
    clg_fill(n->cl, n->w, 0, n->total, 0.0f); /* padding between parameters stays 0 */
    clg_fill(n->cl, n->g, 0, n->total, 0.0f); /* so does the gradient's: no backward writes it */
}

void net_free(net *n) {
    if (n->w) clReleaseMemObject(n->w);
    if (n->g) clReleaseMemObject(n->g);
    free(n->p);
    memset(n, 0, sizeof *n);
}

int net_find(const net *n, const char *pname) {
    for (int i = 0; i < n->np; i++)
        if (strcmp(n->p[i].name, pname) == 0) return i;
    return -1;
}

static tensor view(const param *p, cl_mem m) {
    tensor t = {.mem = m, .off = p->off, .n = 1, .c = 1, .h = 1, .w = 1};
    if (p->ndim == 1) t.n = p->shape[0];
    else if (p->ndim == 2) { t.n = p->shape[0]; t.c = p->shape[1]; }
    else if (p->ndim == 3) { t.n = p->shape[0]; t.c = p->shape[1]; t.h = p->shape[2]; }
    else { t.n = p->shape[0]; t.c = p->shape[1]; t.h = p->shape[2]; t.w = p->shape[3]; }
    return t;
}

tensor net_tensor(const net *n, int i) { return view(&n->p[i], n->w); }
tensor net_grad(const net *n, int i) { return view(&n->p[i], n->g); }

void net_zero_grad(net *n) {
    for (int i = 0; i < n->np; i++) n->p[i].grad_zero_pending = 1;
}

void net_grad_settle(net *n) {
    /* one fill per run of adjacent pending parameters (all of them, where no backward ran) */
    for (int i = 0; i < n->np;) {
        if (!n->p[i].grad_zero_pending) {
            i++;
            continue;
        }
        int j = i;
        while (j < n->np && n->p[j].grad_zero_pending) n->p[j++].grad_zero_pending = 0;
        size_t end = j < n->np ? n->p[j].off : n->total;
        clg_fill(n->cl, n->g, n->p[i].off, end - n->p[i].off, 0.0f);
        i = j;
    }
}

void net_download(net *n, float *host) { clg_read(n->cl, n->w, 0, n->total, host); }
void net_upload(net *n, const float *host) {
    clg_write(n->cl, n->w, 0, n->total, host);
    n->version++;
}

static void upload_param(net *n, int i, const float *vals) {
    clg_write(n->cl, n->w, n->p[i].off, n->p[i].numel, vals);
    n->version++;
}

void net_init_uniform(net *n, int i, float bound, unsigned long long seed) {
    rng_seq r = rng_seq_make(seed, RNG_STREAM_INIT, (uint32_t)i);
    float *v = xmalloc(n->p[i].numel * sizeof *v);
    for (size_t k = 0; k < n->p[i].numel; k++) v[k] = bound * (2.0f * rng_uniform(&r) - 1.0f);
    upload_param(n, i, v);
    free(v);
}

void net_init_normal(net *n, int i, float mean, float std, unsigned long long seed) {
    rng_seq r = rng_seq_make(seed, RNG_STREAM_INIT, (uint32_t)i);
    float *v = xmalloc(n->p[i].numel * sizeof *v);
    for (size_t k = 0; k < n->p[i].numel; k++) v[k] = mean + std * rng_normal(&r);
    upload_param(n, i, v);
    free(v);
}

void net_init_const(net *n, int i, float value) {
    clg_fill(n->cl, n->w, n->p[i].off, n->p[i].numel, value);
    n->version++;
}
