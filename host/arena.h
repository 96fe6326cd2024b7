/* The per-step arena: activations, their gradients and scratch space are handed out by offset from
 * a few large buffers and all released at once by arena_reset() after a step. Buffers are created
 * only while the arena grows (the first step); later steps of the same shape allocate nothing. */
#ifndef CLGAN_ARENA_H
#define CLGAN_ARENA_H
#include "device.h"
#include "tensor.h"

typedef struct {
    cl_mem mem;
    size_t cap, used; /* in floats */
} arena_chunk;

typedef struct {
    clg_ctx *cl;
    arena_chunk *chunks;
    int nchunks, cur;
    size_t chunk_floats; /* size of a new chunk (larger requests get a chunk of their own) */
    size_t in_use, peak; /* floats handed out now, and the most ever */
} arena;

void arena_init(arena *a, clg_ctx *cl, size_t chunk_floats);
void arena_free(arena *a);
tensor arena_tensor(arena *a, int n, int c, int h, int w);
void arena_reset(arena *a);

#endif
