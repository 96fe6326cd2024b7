/* What the op tests of one kernel family share (test_elem, test_pool, test_avgpool_pad, test_conv_rect,
 * test_lpips_diff, test_conv_elu, test_norm_act, test_conv_keep_pad): the device, the test's random
 * stream, random non-zero data, uploads at odd offsets into buffers released after each case, gradient
 * leaves whose buffer starts all NaN (the first write, beta 0, must overwrite it), and kernel launch
 * counts on a device opened for counting them. Defines static state: include it once, from the test's
 * .c file. */
#ifndef CLGAN_KERNEL_TEST_H
#define CLGAN_KERNEL_TEST_H
#include <math.h>

#include "devtest.h"
#include "rng.h"
#include "tape.h"

static clg_ctx *cl;
static rng_seq R;
static cl_mem kt_bufs[256];
static int kt_nbufs;

static inline void release_bufs(void) {
    for (int i = 0; i < kt_nbufs; i++) clReleaseMemObject(kt_bufs[i]);
    kt_nbufs = 0;
}
static inline float unif(float lo, float hi) { return lo + (hi - lo) * rng_uniform(&R); }
/* n values of random sign and magnitude in [lo, hi) */
static inline float *randnz(size_t n, float lo, float hi) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (rng_uniform(&R) < 0.5f ? -1.0f : 1.0f) * unif(lo, hi);
    return v;
}
static inline tensor upload_at(const float *v, int n, int c, int h, int w, size_t off) {
    if (kt_nbufs == (int)(sizeof kt_bufs / sizeof kt_bufs[0])) die("kernel test: too many buffers");
    tensor t = dev_upload_at(cl, v, n, c, h, w, off);
    kt_bufs[kt_nbufs++] = t.mem;
    return t;
}
/* The launches so far of the kernels whose names start with prefix (cl opened with profiling). */
static inline long launches(const char *prefix) {
    long n;
    clg_finish(cl);
    clg_prof_total(cl, prefix, &n);
    return n;
}
/* Opens the device into cl with profiling, so that launches can be counted, and starts the test's random
 * stream (seed, step); 0, after a FAIL line, where no device opens. */
static inline int open_counting(uint64_t seed, uint32_t step) {
    char err[2048];
    cl = clg_open(NULL, 1, err, sizeof err);
    if (!cl) {
        printf("FAIL clg_open: %s\n", err);
        return 0;
    }
    R = rng_seq_make(seed, RNG_STREAM_TEST, step);
    return 1;
}
/* Closes open_counting's device: the launches were counted, so no per-kernel table at clg_close. */
static inline void close_counting(void) {
    cl->profiling = 0;
    clg_close(cl);
}
/* A leaf that wants a gradient, its value at offset off, its gradient at goff of a NaN-filled buffer. */
static inline int grad_leaf(tape *t, const float *v, int n, int c, int h, int w, size_t off, size_t goff) {
    size_t cnt = (size_t)n * c * h * w;
    int id = tape_input(t, upload_at(v, n, c, h, w, off));
    float *nanv = xmalloc(cnt * sizeof *nanv);
    for (size_t i = 0; i < cnt; i++) nanv[i] = NAN;
    t->vars[id].grad = upload_at(nanv, n, c, h, w, goff);
    t->vars[id].requires_grad = 1;
    free(nanv);
    return id;
}

#endif
