/* The OpenCL device a tool runs on: choosing it, its context and queue, its kernels.
 * There is no global device state: every function takes the clg_ctx it works on. */
#ifndef CLGAN_DEVICE_H
#define CLGAN_DEVICE_H
#include <stddef.h>
#include <stdio.h>
#include <CL/cl.h>

typedef struct {
    char name[64];
    cl_kernel k;
    size_t max_wg; /* CL_KERNEL_WORK_GROUP_SIZE */
} clg_kernel_entry;

typedef struct clg_ctx {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue q;
    int index;                      /* position in clg_list_devices' numbering */
    char platform_name[256], device_name[256], driver_version[128];
    cl_ulong global_mem, max_alloc;
    cl_uint compute_units;
    size_t max_wg;                  /* largest work-group size */
    int is_gpu, profiling;
    cl_program program;             /* every kernels/ (*.cl) file, built once per context */
    clg_kernel_entry *kernels;      /* kernels created so far, looked up by name */
    int nkernels;
    struct clg_prof *prof;          /* per-kernel device time when profiling (CLGAN_PROFILE=1) */
    int nprof;
} clg_ctx;

/* Prints one line per device: index, platform, device, type, memory, compute units. */
void clg_list_devices(FILE *f);

/* Opens a device. spec: an index from clg_list_devices, or a case-insensitive substring of the
 * platform name, device name or type ("gpu", "cpu"); NULL or "" means the environment variable
 * CLGAN_DEVICE, else the first GPU, else the first device. profiling: enable event timestamps.
 * Returns NULL with err filled (an unknown device lists the devices that exist). */
clg_ctx *clg_open(const char *spec, int profiling, char *err, size_t errlen);
void clg_close(clg_ctx *c);

/* Profiling (clg_open with profiling != 0, or CLGAN_PROFILE=1 in the environment): every launch waits
 * for its event and adds its device time to a per-kernel total. clg_prof_event records a finished
 * event under a name (CLBlast calls use it); clg_prof_report prints the table, largest first.
 * CLGAN_PROFILE=2 keeps one line per kernel and global work size ("conv_rows[22,32,1]"). */
void clg_prof_event(clg_ctx *c, const char *name, cl_event ev);
void clg_prof_report(clg_ctx *c, FILE *f);
/* The device ms recorded so far over the names that start with prefix (NULL or "": all), and how
 * many events that was (count may be NULL); clg_prof_reset forgets everything recorded. ./bench
 * reads the totals around each timed run. */
double clg_prof_total(const clg_ctx *c, const char *prefix, long *count);
void clg_prof_reset(clg_ctx *c);

/* One line naming the device, e.g. "NVIDIA CUDA / NVIDIA H100 (gpu, 80 GiB, 132 CU)". */
void clg_describe(const clg_ctx *c, char *out, size_t outlen);

/* The kernel of that name from kernels/ (*.cl) (built on first use of the context; the build log is
 * printed and the program exits if the build fails). */
cl_kernel clg_kernel(clg_ctx *c, const char *name);

/* Kernel arguments for clg_launch: KMEM(buffer), KINT(int), KFLOAT(float), KULONG(...). */
typedef struct {
    size_t size;
    const void *ptr;
} karg;
#define KMEM(m) ((karg){sizeof(cl_mem), &(cl_mem){(m)}})
#define KINT(i) ((karg){sizeof(cl_int), &(cl_int){(cl_int)(i)}})
#define KUINT(i) ((karg){sizeof(cl_uint), &(cl_uint){(cl_uint)(i)}})
#define KFLOAT(x) ((karg){sizeof(cl_float), &(cl_float){(cl_float)(x)}})
#define KLOCAL(bytes) ((karg){(bytes), NULL})

/* Sets the arguments and enqueues the named kernel over `dims` dimensions. global[] is rounded up
 * to a multiple of local[] (kernels check their bounds). local NULL: a 1-D launch gets work-groups of
 * CLG_DEFAULT_WG (or less, as the kernel allows) -- left to the driver, a global size with few small
 * divisors can get work-groups of one item, which on PoCL costs ten times more -- and others the driver's. */
#define CLG_DEFAULT_WG 128
void clg_launch(clg_ctx *c, const char *kernel, int dims, const size_t *global, const size_t *local,
                int nargs, const karg *args);
#define CLG_LAUNCH1(c, kernel, n, ...)                                                       \
    clg_launch((c), (kernel), 1, (size_t[]){(size_t)(n)}, NULL,                            \
               (int)(sizeof((karg[]){__VA_ARGS__}) / sizeof(karg)), (karg[]){__VA_ARGS__})

/* A 2-D launch over {w, rows}: work-groups of up to 64 items along a row (no more than w needs, so a
 * short row does not waste a group) and one row deep. Kernels get the row from get_global_id(1), so
 * whatever they derive from it (plane, channel) is one division per row, not per element. */
void clg_launch_rows(clg_ctx *c, const char *kernel, size_t w, size_t rows, int nargs, const karg *args);
#define CLG_LAUNCH_ROWS(c, kernel, w, rows, ...)                                             \
    clg_launch_rows((c), (kernel), (w), (rows), (int)(sizeof((karg[]){__VA_ARGS__}) / sizeof(karg)), \
                    (karg[]){__VA_ARGS__})

/* Local size of a reduction whose work-items read a plane of hw floats in 8-float vectors (the norms'
 * per-group sums, conv bias gradients): a power of two, at most 256 and the device's and the kernel's
 * limits, and no more work-items than the plane has vectors. */
size_t clg_plane_reduce_wg(clg_ctx *c, const char *kernel, size_t hw);

/* Buffers. Sizes in floats. */
cl_mem clg_alloc(clg_ctx *c, size_t nfloats);
void clg_write(clg_ctx *c, cl_mem m, size_t off, size_t n, const float *src);   /* blocking */
void clg_read(clg_ctx *c, cl_mem m, size_t off, size_t n, float *dst);          /* blocking */
void clg_fill(clg_ctx *c, cl_mem m, size_t off, size_t n, float value);
/* n floats from src at soff to dst at doff, in queue order (regions must not overlap in one buffer). */
void clg_copy(clg_ctx *c, cl_mem dst, size_t doff, cl_mem src, size_t soff, size_t n);
void clg_finish(clg_ctx *c);

#endif
