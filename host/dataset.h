/* An image data set held on the device as float32 in [0, 1] (n x c x h x w), with optional labels
 * on the host; batches are gathered on the device by index, so no image crosses the bus per step. */
#ifndef CLGAN_DATASET_H
#define CLGAN_DATASET_H
#include "device.h"
#include "tensor.h"

typedef struct {
    clg_ctx *cl;
    int n, c, h, w;
    cl_mem data;
    unsigned char *labels; /* n labels, or NULL */
    cl_mem labels_dev;     /* the labels as ints on the device, or NULL */
    int ncls;              /* 1 + the largest label */
    cl_mem order;          /* n ints: the current epoch's order (identity until dataset_shuffle) */
} dataset;

/* Loads IDX images (and labels_path's labels unless NULL); limit > 0 keeps the first `limit`. */
int dataset_load_idx(dataset *d, clg_ctx *cl, const char *images_path, const char *labels_path, int limit,
                     char *err, size_t errlen);
/* A data set from host memory: n images c x h x w with values in [0, 1], and optional labels. */
void dataset_from_host(dataset *d, clg_ctx *cl, const float *data01, int n, int c, int h, int w,
                       const unsigned char *labels);
void dataset_free(dataset *d);
/* Sets the order for an epoch: a permutation drawn from (seed, RNG_STREAM_SHUFFLE, epoch). */
void dataset_shuffle(dataset *d, unsigned long long seed, unsigned epoch);
void dataset_order_identity(dataset *d);
/* Gathers rows [first, first+count) of the current order into out (count x c x h x w). */
void dataset_batch(dataset *d, int first, int count, tensor out, float scale);
/* The same rows resized (bilinear, as torch's interpolate with align_corners=False) to out's h x w and
 * mapped from [0, 1] to [lo, hi] (e.g. -1, 1 for GANs with a tanh output). */
void dataset_batch_resized(dataset *d, int first, int count, tensor out, float lo, float hi);

/* One-hot labels of the same rows: out {count, ncls, H, W}, each label's plane 1 and the others 0. */
void dataset_onehot(dataset *d, int first, int count, tensor out);

#endif
