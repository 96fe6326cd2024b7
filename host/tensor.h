/* A tensor is a view: float32 NCHW data at an offset (in floats) in an OpenCL buffer. It owns
 * nothing; parameters own their storage (host/net.h), activations live in the step arena. */
#ifndef CLGAN_TENSOR_H
#define CLGAN_TENSOR_H
#include <stddef.h>
#include <CL/cl.h>

typedef struct {
    cl_mem mem;
    size_t off;
    int n, c, h, w;
} tensor;

static inline size_t tnumel(tensor t) { return (size_t)t.n * t.c * t.h * t.w; }
static inline int tsame_shape(tensor a, tensor b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }
/* Elements per sample (c*h*w): the width of a row when a batch is seen as a matrix. */
static inline int trow(tensor t) { return t.c * t.h * t.w; }

#endif
