/* The kernel sources as a build: every kernels/ (*.cl) file builds alone, as its own program, from its
 * own #includes and the host's -D options (no file relies on another being joined before it); a file
 * that needs a -D option stops without it; and the generated launchers (build/kernel_launch.h) match
 * the built program: every kernel there, with the parameter count its launcher passes, and no kernel
 * in the program without a launcher. The binary cache's key covers the -D options: a context whose
 * kernel parameters differ does not load another's cached binary. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clerr.h"
#include "devtest.h"
#include "tuning.h"
#define CLG_KERNEL_TABLE
#include "kernel_launch.h"

static int is_cl(const char *name) {
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".cl") == 0;
}

/* Builds one expanded source with opts; returns the status and, on failure, prints the log's start. */
static cl_int build_alone(clg_ctx *cl, const char *file, const char *opts, int quiet) {
    char *src = clg_kernel_source(file);
    if (!src) return CL_INVALID_VALUE;
    cl_int st;
    const char *srcs[1] = {src};
    cl_program p = clCreateProgramWithSource(cl->ctx, 1, srcs, NULL, &st);
    CL_CHECK(st);
    st = clBuildProgram(p, 1, &cl->device, opts, NULL, NULL);
    if (st != CL_SUCCESS && !quiet) {
        char log[2048] = "";
        clGetProgramBuildInfo(p, cl->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        printf("  build log of %s:\n%s\n", file, log);
    }
    clReleaseProgram(p);
    free(src);
    return st;
}

/* Files in dir (the cache's binaries), or -1 if it cannot be read. */
static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

int main(void) {
    /* a cache of this test's own, so that the counts below are ours */
    char cache[] = "/tmp/clgan_kcache_XXXXXX";
    if (!mkdtemp(cache)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    setenv("CLGAN_CACHE_DIR", cache, 1);
    clg_ctx *cl = dev_open_for_test();
    if (!cl) return 1;
    char opts[512];
    clg_kernel_options(cl, opts, sizeof opts);
    printf("build options: %s\n", opts);

    /* 1. each file alone */
    int nfiles = 0;
    for (int i = 0; clg_kernel_file(i); i++) {
        const char *f = clg_kernel_file(i);
        if (!is_cl(f)) continue;
        nfiles++;
        cl_int st = build_alone(cl, f, opts, 0);
        printf("%s %-20s builds alone: %s\n", st == CL_SUCCESS ? "ok  " : "FAIL", f, cl_err_name(st));
        CHECK(st == CL_SUCCESS, "%s does not build as a program of its own", f);
    }
    CHECK(nfiles >= 10, "only %d kernel files embedded", nfiles);

    /* 2. the -D options are needed where a file says so */
    const char *needs[] = {"conv_rows.cl", "conv_winograd.cl", "conv_winograd4.cl", "conv_gemm.cl", "linear.cl"};
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        cl_int st = build_alone(cl, needs[i], "-cl-std=CL1.2", 1);
        printf("%s %-20s without the -D options: %s (want a build failure)\n", st != CL_SUCCESS ? "ok  " : "FAIL",
               needs[i], cl_err_name(st));
        CHECK(st != CL_SUCCESS, "%s builds without the -D options it needs", needs[i]);
    }

    /* 3. the launchers against the whole program */
    int ntable = (int)(sizeof clg_kernel_table / sizeof clg_kernel_table[0]), bad = 0;
    for (int i = 0; i < ntable; i++) {
        cl_kernel k = clg_kernel(cl, clg_kernel_table[i].name);
        cl_uint nargs = 0;
        CL_CHECK(clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL));
        if ((int)nargs != clg_kernel_table[i].nargs) {
            bad++;
            printf("FAIL kl_%s passes %d arguments, the kernel takes %u\n", clg_kernel_table[i].name,
                   clg_kernel_table[i].nargs, nargs);
        }
    }
    printf("%s %d launchers match their kernels' parameter counts\n", bad ? "FAIL" : "ok  ", ntable - bad);
    CHECK(bad == 0, "%d launchers disagree with the program", bad);
    cl_uint nprog = 0;
    CL_CHECK(clCreateKernelsInProgram(cl->program, 0, NULL, &nprog));
    printf("%s the program has %u kernels, the launcher table %d\n", (int)nprog == ntable ? "ok  " : "FAIL", nprog,
           ntable);
    CHECK((int)nprog == ntable, "the program has %u kernels, build/kernel_launch.h %d", nprog, ntable);

    /* 4. the cache key and the options: the program above is cached; a context with another conv_nt
     * block must build its own (had the key ignored the options it would load the first binary) */
    int before = count_files(cache);
    clg_ctx *c2 = dev_open_for_test();
    if (!c2) return 1;
    c2->kp.conv_nt_nr = cl->kp.conv_nt_nr + 1;
    char opts2[512];
    clg_kernel_options(c2, opts2, sizeof opts2);
    clg_kernel(c2, "conv_nt");
    int after = count_files(cache);
    printf("%s cached binaries: %d with \"%s\", %d after building with \"%s\"\n",
           before >= 1 && after == before + 1 ? "ok  " : "FAIL", before, opts, after, opts2);
    CHECK(before >= 1 && after == before + 1, "the cache held %d binaries, then %d (want one more)", before, after);
    clg_close(c2);
    clg_close(cl);
    DIR *d = opendir(cache); /* remove the test's cache */
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", cache, e->d_name);
        if (e->d_name[0] != '.') remove(path);
    }
    if (d) closedir(d);
    rmdir(cache);
    TEST_END();
}
