#include "dataset.h"

#include <stdlib.h>
#include <string.h>

#include "clerr.h"
#include "idx.h"
#include "kernel_launch.h"
#include "rng.h"
#include "util.h"

static void upload_order(dataset *d, const int *order) {
    CL_CHECK(clEnqueueWriteBuffer(d->cl->q, d->order, CL_TRUE, 0, (size_t)d->n * sizeof(int), order, 0, NULL, NULL));
}

void dataset_order_identity(dataset *d) {
    int *o = xmalloc((size_t)d->n * sizeof *o);
    for (int i = 0; i < d->n; i++) o[i] = i;
    upload_order(d, o);
    free(o);
}

int dataset_load_idx(dataset *d, clg_ctx *cl, const char *images_path, const char *labels_path, int limit,
                     char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    idx_images im;
    if (idx_load_images(images_path, &im, err, errlen) != 0) return -1;
    int n = limit > 0 && limit < im.n ? limit : im.n;
    if (labels_path) {
        int nl;
        if (idx_load_labels(labels_path, &d->labels, &nl, err, errlen) != 0) {
            idx_free_images(&im);
            return -1;
        }
        if (nl != im.n) {
            set_err(err, errlen, "%s: %d labels for %d images in %s", labels_path, nl, im.n, images_path);
            idx_free_images(&im);
            free(d->labels);
            d->labels = NULL;
            return -1;
        }
    }
    size_t cnt = (size_t)n * im.rows * im.cols;
    float *f = xmalloc(cnt * sizeof *f);
    for (size_t i = 0; i < cnt; i++) f[i] = im.pixels[i] / 255.0f;
    unsigned char *labels = d->labels;
    d->labels = NULL;
    dataset_from_host(d, cl, f, n, 1, im.rows, im.cols, labels);
    free(labels);
    free(f);
    idx_free_images(&im);
    return 0;
}

void dataset_from_host(dataset *d, clg_ctx *cl, const float *data01, int n, int c, int h, int w,
                       const unsigned char *labels) {
    memset(d, 0, sizeof *d);
    d->cl = cl;
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    size_t cnt = (size_t)n * c * h * w;
    d->data = clg_alloc(cl, cnt);
    clg_write(cl, d->data, 0, cnt, data01);
    cl_int st;
    if (labels) {
        d->labels = xmalloc((size_t)n);
        memcpy(d->labels, labels, (size_t)n);
        int *li = xmalloc((size_t)n * sizeof *li);
        for (int i = 0; i < n; i++) {
            li[i] = labels[i];
            if (li[i] + 1 > d->ncls) d->ncls = li[i] + 1;
        }
        d->labels_dev = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY, (size_t)n * sizeof(int), NULL, &st);
        CL_CHECK(st);
        CL_CHECK(clEnqueueWriteBuffer(cl->q, d->labels_dev, CL_TRUE, 0, (size_t)n * sizeof(int), li, 0, NULL, NULL));
        free(li);
    }
    d->order = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY, (size_t)n * sizeof(int), NULL, &st);
    CL_CHECK(st);
    dataset_order_identity(d);
}

void dataset_free(dataset *d) {
    if (d->data) clReleaseMemObject(d->data);
    if (d->order) clReleaseMemObject(d->order);
    if (d->labels_dev) clReleaseMemObject(d->labels_dev);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void dataset_shuffle(dataset *d, unsigned long long seed, unsigned epoch) {
    int *o = xmalloc((size_t)d->n * sizeof *o);
    for (int i = 0; i < d->n; i++) o[i] = i;
    rng_seq r = rng_seq_make(seed, RNG_STREAM_SHUFFLE, epoch);
    rng_shuffle(&r, o, d->n);
    upload_order(d, o);
    free(o);
}

void dataset_batch(dataset *d, int first, int count, tensor out, float scale) {
    int len = d->c * d->h * d->w;
    kl_gather_rows(d->cl, clg_grid_1d((size_t)count * len), out.mem, out.off, d->data, d->order, first, count, len,
                   scale);
}

void dataset_batch_resized(dataset *d, int first, int count, tensor out, float lo, float hi) {
    kl_gather_resize(d->cl, clg_grid_1d((size_t)count * d->c * out.h * out.w), out.mem, out.off, d->data, d->order,
                     first, count, d->c, d->h, d->w, out.h, out.w, lo, hi);
}

void dataset_onehot(dataset *d, int first, int count, tensor out) {
    if (!d->labels_dev) die("dataset_onehot: the data set was loaded without labels");
    if (out.c != d->ncls) die("dataset_onehot: %d label planes asked for, the data set has %d classes", out.c, d->ncls);
    kl_gather_onehot(d->cl, clg_grid_1d(tnumel(out)), out.mem, out.off, d->labels_dev, d->order, first, count, d->ncls,
                     out.h * out.w);
}
