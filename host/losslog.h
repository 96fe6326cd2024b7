/* Loss logging without a host round trip per step: each step's scalar losses are copied on the
 * device into a history buffer; losslog_flush() reads the history back every few steps, appends
 * the rows to losses.csv, and reports the first non-finite loss with its step. */
#ifndef CLGAN_LOSSLOG_H
#define CLGAN_LOSSLOG_H
#include <stdio.h>

#include "device.h"
#include "tensor.h"

#define LOSSLOG_MAX 16

typedef struct {
    clg_ctx *cl;
    int nloss, cap, count;      /* losses per step, steps the buffer holds, steps pending */
    long steps[4096];           /* step numbers of the pending rows (cap <= 4096) */
    const char *names[LOSSLOG_MAX];
    cl_mem hist;
    float *host;
    FILE *csv;
    double sum[LOSSLOG_MAX];    /* sums since the last losslog_take_means */
    long nsum;
} losslog;

/* Opens PATH for appending (a header is written if the file is new or empty). cap: steps between flushes. */
int losslog_open(losslog *l, clg_ctx *cl, const char *path, const char *const *names, int nloss, int cap,
                 char *err, size_t errlen);
/* Enqueues copies of this step's scalars (one-element tensors, in the order of names). Flushes
 * itself when full; returns what losslog_flush returns. */
int losslog_push(losslog *l, long step, const tensor *scalars, char *err, size_t errlen);
/* Reads the pending rows and writes them. Returns -1 with err ("loss 'recon' is nan at step 123")
 * at the first non-finite value; the rows before it are written. */
int losslog_flush(losslog *l, char *err, size_t errlen);
/* Means of each loss over the rows flushed since the last call; returns the number of rows. */
long losslog_take_means(losslog *l, double *means);
void losslog_close(losslog *l);

/* Rewrites a CSV file keeping the header and the rows whose first column is <= max_step (used on
 * resume, so rows logged after the checkpoint do not appear twice). A missing file is fine. */
int csv_truncate_after(const char *path, long max_step, char *err, size_t errlen);

#endif
