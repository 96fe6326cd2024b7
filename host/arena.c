#include "arena.h"

#include <stdlib.h>

#include "clerr.h"
#include "util.h"

#define ALIGN_FLOATS 64 /* 256 bytes: keeps every tensor aligned for vector loads */

void arena_init(arena *a, clg_ctx *cl, size_t chunk_floats) {
    *a = (arena){.cl = cl, .chunk_floats = chunk_floats};
    size_t max_floats = (size_t)(cl->max_alloc / sizeof(float));
    if (a->chunk_floats > max_floats) a->chunk_floats = max_floats;
}

void arena_free(arena *a) {
    for (int i = 0; i < a->nchunks; i++) clReleaseMemObject(a->chunks[i].mem);
    free(a->chunks);
    a->chunks = NULL;
    a->nchunks = a->cur = 0;
}

tensor arena_tensor(arena *a, int n, int c, int h, int w) {
    size_t need = (size_t)n * c * h * w;
    size_t rounded = (need + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    if (rounded == 0) rounded = ALIGN_FLOATS;
    while (a->cur < a->nchunks && a->chunks[a->cur].used + rounded > a->chunks[a->cur].cap) a->cur++;
    if (a->cur == a->nchunks) {
        size_t cap = rounded > a->chunk_floats ? rounded : a->chunk_floats;
        a->chunks = xrealloc(a->chunks, (size_t)(a->nchunks + 1) * sizeof *a->chunks);
        a->chunks[a->nchunks++] = (arena_chunk){.mem = clg_alloc(a->cl, cap), .cap = cap};
    }
    arena_chunk *ch = &a->chunks[a->cur];
    tensor t = {.mem = ch->mem, .off = ch->used, .n = n, .c = c, .h = h, .w = w};
    ch->used += rounded;
    a->in_use += rounded;
    if (a->in_use > a->peak) a->peak = a->in_use;
    return t;
}

void arena_reset(arena *a) {
    for (int i = 0; i < a->nchunks; i++) a->chunks[i].used = 0;
    a->cur = 0;
    a->in_use = 0;
}
