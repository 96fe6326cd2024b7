/* Data in and out of tape variables, constants and random draws, and in-place row copies: what a
 * model needs besides differentiable ops, so that nothing under models/ touches a buffer or calls
 * OpenCL. Every variable made here is a leaf without gradient unless its comment says otherwise. */
#ifndef CLGAN_TAPE_DATA_H
#define CLGAN_TAPE_DATA_H
#include <stdint.h>

#include "dataset.h"
#include "tape.h"

/* Waits until every operation queued so far has finished (timing what came before). */
void tape_sync(tape *t);
/* A new variable {n, c, h, w} holding n*c*h*w floats copied from host (blocking write). */
int tape_upload(tape *t, int n, int c, int h, int w, const float *host);
/* Copies variable v's values to host (tnumel floats; blocking read). */
void tape_download(tape *t, int v, float *host);
/* The same, into a new host array (the caller frees it); *count gets the number of floats if not NULL. */
float *tape_download_new(tape *t, int v, size_t *count);
/* A new variable filled with value. */
int tape_const(tape *t, int n, int c, int h, int w, float value);
/* A new variable of U(lo, hi) draws from (seed, stream, step), element i from counter i (kernels/rng.cl),
 * so the host's rng_uniform with the same key draws the same numbers. */
int tape_rand_uniform(tape *t, int n, int c, int h, int w, uint64_t seed, uint32_t stream, uint32_t step, float lo,
                      float hi);
/* The same storage as v, seen as {n, c, h, w} (the same number of elements), without gradient. */
int tape_view(tape *t, int v, int n, int c, int h, int w);
/* A variable over a network's parameter i (its storage, not a copy), without gradient: for buffers the
 * model keeps across steps, such as an image pool's images. */
int tape_net_view(tape *t, const net *n, int i);
/* Copies rows (samples) [srow, srow + nrows) of src into rows [drow, ...) of dst, in queue order. dst
 * must not want a gradient, and the rows must have the same size. No gradient flows. */
void tape_copy_rows(tape *t, int dst, int drow, int src, int srow, int nrows);
/* out[r] = w[r] * a[r] + (1 - w[r]) * b[r] per row r, w {N, 1, 1, 1}: WGAN-GP's interpolates. The result
 * is a new leaf that wants a gradient (when the tape records); none flows back into a, b or w. */
int tape_mix_rows_leaf(tape *t, int a, int b, int w);

/* Rows [first, first + count) of the data set's current order as a new variable: {count, c, h, w} times
 * scale; resized to size x size and mapped from [0, 1] to [lo, hi]; one-hot labels {count, ncls, h, w}. */
int tape_dataset_batch(tape *t, dataset *d, int first, int count, float scale);
int tape_dataset_batch_resized(tape *t, dataset *d, int first, int count, int size, float lo, float hi);
int tape_dataset_onehot(tape *t, dataset *d, int first, int count, int h, int w);

#endif
