#include "image_pool.h"

#include <string.h>

#include "rng.h"
#include "tape_data.h"
#include "util.h"

void image_pool_init(image_pool *p, clg_ctx *cl, const char *name, int size, int c, int h, int w) {
    memset(p, 0, sizeof *p);
    p->cl = cl;
    p->size = size;
    p->per = (size_t)c * h * w;
    net_init(&p->store, cl, name);
    p->store.requires_grad = 0;
    if (size > 0) {
        net_add(&p->store, "images", 4, (int[]){size, c, h, w});
        net_alloc(&p->store);
    }
}

void image_pool_free(image_pool *p) {
    if (p->size > 0) net_free(&p->store);
    memset(p, 0, sizeof *p);
}

int image_pool_query(image_pool *p, tape *t, int fakes, uint64_t seed, uint32_t step) {
    if (p->size == 0) return tape_detach(t, fakes);
    tensor f = tape_val(t, fakes);
    if ((size_t)trow(f) != p->per) die("image_pool_query: images of %d floats, the pool holds %zu", trow(f), p->per);
    int out = tape_new(t, f.n, f.c, f.h, f.w, 0), store = tape_net_view(t, &p->store, 0);
    rng_seq r = rng_seq_make(seed, RNG_STREAM_POOL, step);
    for (int i = 0; i < f.n; i++) {
        if (p->count < p->size) {
            tape_copy_rows(t, store, p->count++, fakes, i, 1);
            tape_copy_rows(t, out, i, fakes, i, 1);
        } else if (rng_uniform(&r) > 0.5f) {
            int k = (int)rng_below(&r, (uint32_t)p->size);
            tape_copy_rows(t, out, i, store, k, 1); /* the stored fake goes out, the new one takes its place */
            tape_copy_rows(t, store, k, fakes, i, 1);
        } else {
            tape_copy_rows(t, out, i, fakes, i, 1);
        }
    }
    return out;
}
