/* A background loader: one producer thread decodes and preprocesses the next batch of images
 * (double buffered) while the caller trains on the current one. */
#ifndef CLGAN_PREFETCH_H
#define CLGAN_PREFETCH_H

#include "images.h"

typedef struct prefetch prefetch;

/* Builds batches of `batch` images from list l, taking list indices in the order
 * order[0..count) (copied; l must outlive the prefetch). The image at position k of order is
 * loaded by image_load with prep p and rng_seq_make(seed, stream, step_base + k), so the result
 * does not depend on thread timing or on which other images fail. A file that fails to load is
 * reported once on stderr ("clgan: skipping PATH: reason"), skipped (the batch is filled from
 * the next positions) and counted. With crop_size or load_size set every image has the same size;
 * with neither, the first good image sets the size and an image of another size is skipped too.
 * Returns NULL (with a message on stderr) for bad arguments (batch < 1, count < 0, an index
 * outside the list, a bad prep) or when the thread cannot be started. */
prefetch *prefetch_start(const image_list *l, const image_prep *p, const int *order, int count, int batch,
                         unsigned long long seed, unsigned stream, unsigned step_base);

/* Blocks until the next batch is ready; returns the number of images in it (0 at the end, and
 * from then on); *data points to n*C*H*W floats (NCHW) valid until the next call or
 * prefetch_stop. c, h, w receive the image size (0 when no image loaded at all). */
int prefetch_next(prefetch *pf, const float **data, int *c, int *h, int *w);

/* Images skipped so far (failed to load or of the wrong size). */
int prefetch_skipped(const prefetch *pf);

/* Stops the producer (it finishes the image in hand), joins the thread, frees. NULL is ignored. */
void prefetch_stop(prefetch *pf);

#endif
