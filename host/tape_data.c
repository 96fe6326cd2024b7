#include "tape_data.h"

#include <stdlib.h>

#include "kernel_launch.h"
#include "util.h"

void tape_sync(tape *t) { clg_finish(t->cl); }

int tape_upload(tape *t, int n, int c, int h, int w, const float *host) {
    int v = tape_new(t, n, c, h, w, 0);
    tensor x = tape_val(t, v);
    clg_write(t->cl, x.mem, x.off, tnumel(x), host);
    return v;
}

void tape_download(tape *t, int v, float *host) {
    tensor x = tape_val(t, v);
    clg_read(t->cl, x.mem, x.off, tnumel(x), host);
}

float *tape_download_new(tape *t, int v, size_t *count) {
    size_t n = tnumel(tape_val(t, v));
    float *host = xmalloc(n * sizeof *host);
    tape_download(t, v, host);
    if (count) *count = n;
    return host;
}

int tape_const(tape *t, int n, int c, int h, int w, float value) {
    int v = tape_new(t, n, c, h, w, 0);
    tensor x = tape_val(t, v);
    clg_fill(t->cl, x.mem, x.off, tnumel(x), value);
    return v;
}

int tape_rand_uniform(tape *t, int n, int c, int h, int w, uint64_t seed, uint32_t stream, uint32_t step, float lo,
                      float hi) {
    int v = tape_new(t, n, c, h, w, 0);
    tensor x = tape_val(t, v);
    size_t cnt = tnumel(x);
    kl_rng_uniform(t->cl, clg_grid_1d(cnt), x.mem, x.off, cnt, (uint32_t)seed, (uint32_t)(seed >> 32), stream, step, lo, hi);
    return v;
}

int tape_view(tape *t, int v, int n, int c, int h, int w) {
    tensor x = tape_val(t, v);
    if ((size_t)n * c * h * w != tnumel(x))
        die("tape_view: {%d,%d,%d,%d} does not hold the %zu elements of the variable", n, c, h, w, tnumel(x));
    x.n = n, x.c = c, x.h = h, x.w = w;
    return tape_new_view(t, x, 0);
}

int tape_net_view(tape *t, const net *n, int i) { return tape_new_view(t, net_tensor(n, i), 0); }

void tape_copy_rows(tape *t, int dst, int drow, int src, int srow, int nrows) {
    tensor d = tape_val(t, dst), s = tape_val(t, src);
    if (t->vars[dst].requires_grad) die("tape_copy_rows: the destination wants a gradient");
    if (trow(d) != trow(s)) die("tape_copy_rows: rows of %d and %d floats", trow(d), trow(s));
    if (drow < 0 || srow < 0 || nrows < 0 || drow + nrows > d.n || srow + nrows > s.n)
        die("tape_copy_rows: rows %d..%d of %d into %d..%d of %d", srow, srow + nrows, s.n, drow, drow + nrows, d.n);
    size_t per = (size_t)trow(d);
    clg_copy(t->cl, d.mem, d.off + (size_t)drow * per, s.mem, s.off + (size_t)srow * per, (size_t)nrows * per);
}

int tape_mix_rows_leaf(tape *t, int a, int b, int w) {
    tensor av = tape_val(t, a), bv = tape_val(t, b), wv = tape_val(t, w);
    if (!tsame_shape(av, bv) || tnumel(wv) != (size_t)av.n)
        die("tape_mix_rows_leaf: a {%d,%d,%d,%d}, b {%d,%d,%d,%d}, %zu weights", av.n, av.c, av.h, av.w, bv.n, bv.c, bv.h,
            bv.w, tnumel(wv));
    int out = tape_new(t, av.n, av.c, av.h, av.w, 1);
    tensor ov = tape_val(t, out);
    kl_gg_interp_rows(t->cl, clg_grid_1d(tnumel(ov)), ov.mem, ov.off, av.mem, av.off, bv.mem, bv.off, wv.mem, wv.off, av.n,
                      trow(av));
    return out;
}

int tape_dataset_batch(tape *t, dataset *d, int first, int count, float scale) {
    int v = tape_new(t, count, d->c, d->h, d->w, 0);
    dataset_batch(d, first, count, tape_val(t, v), scale);
    return v;
}

int tape_dataset_batch_resized(tape *t, dataset *d, int first, int count, int size, float lo, float hi) {
    int v = tape_new(t, count, d->c, size, size, 0);
    dataset_batch_resized(d, first, count, tape_val(t, v), lo, hi);
    return v;
}

int tape_dataset_onehot(tape *t, dataset *d, int first, int count, int h, int w) {
    int v = tape_new(t, count, d->ncls, h, w, 0);
    dataset_onehot(d, first, count, tape_val(t, v));
    return v;
}
