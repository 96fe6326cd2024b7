/* Helpers shared by the tests that run kernels: tensors placed at odd offsets inside buffers full of
 * garbage (so offset handling and out-of-bounds writes show), downloads, double accumulators. */
#ifndef CLGAN_DEVTEST_H
#define CLGAN_DEVTEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device.h"
#include "tensor.h"
#include "util.h"

/* CLGAN_TEST_SMALL=1 (set by `make test-oclgrind`): the kernel tests keep their small cases only --
 * no finite-difference sweeps, no stress sizes -- so that they finish on a simulator. */
static inline int test_small(void) {
    const char *s = getenv("CLGAN_TEST_SMALL");
    return s && *s && strcmp(s, "0") != 0;
}

/* A fresh buffer of garbage (12345) with v's n*c*h*w floats at offset off. */
static inline tensor dev_upload_at(clg_ctx *cl, const float *v, int n, int c, int h, int w, size_t off) {
    size_t cnt = (size_t)n * c * h * w;
    tensor t = {.mem = clg_alloc(cl, cnt + off + 11), .off = off, .n = n, .c = c, .h = h, .w = w};
    clg_fill(cl, t.mem, 0, cnt + off + 11, 12345.0f);
    clg_write(cl, t.mem, off, cnt, v);
    return t;
}

/* Opens the default device (CLGAN_DEVICE, else the first GPU, else the first device) and prints
 * which one; NULL after printing the reason. */
static inline clg_ctx *dev_open_for_test(void) {
    char err[2048];
    clg_ctx *cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) {
        printf("FAIL clg_open: %s\n", err);
        return NULL;
    }
    char desc[512];
    clg_describe(cl, desc, sizeof desc);
    printf("device: %s\n", desc);
    return cl;
}

/* A parity test's start: the script must exist (the test runs from the repository root), the device
 * opens, and tmpdir (a mkdtemp template) becomes the folder handed to the script. NULL after saying why. */
static inline clg_ctx *parity_open(const char *script, char *tmpdir) {
    if (access(script, R_OK) != 0) {
        printf("FAIL %s not found (run from the repository root)\n", script);
        return NULL;
    }
    clg_ctx *cl = dev_open_for_test();
    if (cl && !mkdtemp(tmpdir)) {
        perror("mkdtemp");
        clg_close(cl);
        return NULL;
    }
    return cl;
}

static inline float *dev_download(clg_ctx *cl, tensor t) {
    float *v = xmalloc(tnumel(t) * sizeof *v);
    clg_read(cl, t.mem, t.off, tnumel(t), v);
    return v;
}

static inline double *dvec(size_t n) { return xcalloc(n, sizeof(double)); }

/* Runs "python script dir name..." (a parity script); returns 1 if it exited 0, else prints why. */
static inline int run_parity_script(const char *python, const char *script, const char *dir, const char *const *names,
                                    int n) {
    char cmd[2048];
    int len = snprintf(cmd, sizeof cmd, "%s %s %s", python, script, dir);
    for (int s = 0; s < n && len < (int)sizeof cmd; s++) len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", names[s]);
    printf("running: %s\n", cmd);
    fflush(stdout);
    int st = system(cmd);
    int ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok)
        printf("FAIL %s: %s %d\n", cmd,
               st == -1 ? "could not launch, status" : WIFEXITED(st) ? "exit status" : "killed by signal",
               st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return ok;
}

#endif
