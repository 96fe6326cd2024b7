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
    int nargs;     /* CL_KERNEL_NUM_ARGS */
} clg_kernel_entry;

/* Kernel parameters the host chooses per device (host/tuning.c: a stored set from ./bench --tune, else a
 * default derived from what the device reports). The conv tiles and vector widths go to the kernels as
 * -D options and the host sizes its launches with the same values; the work-group sizes are launch
 * parameters only. */
typedef struct {
    int conv_rows_mr; /* -DCONV_ROWS_MR: output channels per conv_rows panel (4, 8, 16) */
    int conv_rows_vw; /* -DCONV_ROWS_VW: floats per conv_rows pixel vector (8, 16; the kernel takes 4 too, untested) */
    int conv_rows_nv; /* -DCONV_ROWS_NV: pixel vectors per conv_rows work-item (1..4) */
    int conv_nt_mr;   /* -DCONV_NT_MR, -DCONV_NT_NR: conv_nt's block per work-item (2, 4, 6, 8) */
    int conv_nt_nr;
    int conv_nt_vw;   /* -DCONV_NT_VW: floats per conv_nt reduction vector (8, 16; likewise) */
    int conv_wg;      /* work-items per work-group along dim 0 of conv_rows / conv_nt launches */
    int wg;           /* work-group size of 1-D launches without a local size (was CLG_DEFAULT_WG) */
    int rows_wg;      /* most work-items per work-group of clg_grid_rows launches (was 64) */
    int reduce_wg;    /* most work-items per group of the per-plane reductions (norm statistics, bias
                         gradients: clg_plane_reduce_wg); was 256 */
    /* Which own kernel a stride-1 3x3 convolution takes (host/ops/conv.c; launch choices, no -D): Winograd
     * for the forward and data gradient when both channel counts are at least wino_min_c and the output
     * at least wino_min_w wide, for the weight gradient when both are at least wino_dw_min_c; otherwise
     * the direct kernels. 0 0 0: Winograd wherever it can run (the choice before these fields). */
    int wino_min_c, wino_min_w, wino_dw_min_c;
    /* Strided convolutions' forward and weight gradient as GEMMs over the batch on conv_rows with the
     * image packed as pixel panels, where the reduction K = C*k*k is at least panel_min_k (0: wherever they
     * can run; the weight gradient also needs that many output channels); otherwise conv_nt (host/ops/conv.c,
     * panel_conv, panel_weight_grad). A launch choice, no -D. */
    int panel_min_k;
    /* Strided data gradients and transposed convolutions (zero padding) as the adjoint of a space-to-depth
     * convolution on conv_rows (host/ops/conv.c, s2d_adjoint): 0 never (the phases on conv_nt), 1 where
     * the kernel is whole phases (k a multiple of the stride: no tap computed for nothing), 2 for any k
     * (3x3 stride 2: 16 taps for 9), 3 as 1 and the other k phase by phase on conv_rows, each with its
     * own taps (phase_rows_adjoint: 3x3 stride 2 as 2x2, 2x1, 1x2 and 1x1). A launch choice, no -D. */
    int s2d_dx;
    /* Where Winograd runs (wino_min_*, wino_dw_min_c): F(4x4, 3x3) (36 products per 4x4 outputs) where
     * the output is at least wino4_min_w wide, else F(2x2, 3x3) (16 per 2x2); 0: F(4x4, 3x3) wherever
     * Winograd runs, 4096 never. A launch choice, no -D. */
    int wino4_min_w;
    /* Strided convolutions on conv_oc (kernels/conv_oc.cl: vectors of output channels, the image's pixels
     * broadcast, so the stride costs nothing; host/ops/conv.c, oc_conv and oc_adjoint): the forward where
     * its reduction K = C*k*k is at most oc_max_k, the data gradient (zero padding, k >= s) where its
     * reduction OC*k*k is; each with at least half a vector of output channels. 0: never. A launch
     * choice, no -D. */
    int oc_max_k;
    /* -DLIN_MR: rows per work-item of the linear layers' kernels (kernels/linear.cl): LIN_MR of the
     * backward products, LIN_MR / 2 of the forward (4, 8). Not searched by ./bench --tune (its models but
     * the VAEs and MLP GANs have no linear layer): 8 with 32 vector registers, 4 with 16. */
    int lin_mr;
} clg_kparams;

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
    clg_kparams kp;                 /* -D options of the kernel build (clg_open sets them) */
    char kp_origin[720];            /* which set kp is: "default ..." or "stored <path> ..." (clg_open) */
    char kp_clblast[1024];          /* CLBlast parameters of the stored set ("" if none), see tuning.h */
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
/* Calls fn once per kernel name recorded so far (./bench --profile's kernel table). */
void clg_prof_each(const clg_ctx *c, void (*fn)(void *ud, const char *name, long count, double ms), void *ud);

/* One line naming the device, e.g. "NVIDIA CUDA / NVIDIA H100 (gpu, 80 GiB, 132 CU)". */
void clg_describe(const clg_ctx *c, char *out, size_t outlen);

/* The kernel of that name from kernels/ (*.cl) (built on first use of the context; the build log is
 * printed and the program exits if the build fails). */
cl_kernel clg_kernel(clg_ctx *c, const char *name);

/* The source of one kernel file as the program gets it: its #include "NAME" lines replaced by the
 * embedded (or CLGAN_KERNEL_DIR's) file NAME, recursively. NULL if there is no such file. Caller frees.
 * clg_kernel_file(i) is the i-th embedded file name (NULL past the last). */
char *clg_kernel_source(const char *file);
const char *clg_kernel_file(int i);

/* ---- Typed launches ----------------------------------------------------------------------------
 * build/kernel_launch.h (generated by tools/embed_cl.c from the kernels' signatures) has one launcher
 * per kernel: kl_NAME(ctx, grid, args...) with the kernel's parameters in order, __global pointers as
 * cl_mem, int, uint (cl_uint), float, and __local pointers as their size in bytes. A wrong argument
 * count does not compile; nor does a float for an int, an integer for a float or anything but a
 * cl_mem for a buffer (KL_* below). How to add a kernel: docs/DESIGN.md.
 * The grid says how many work-items and in which work-groups: */
typedef struct {
    int dims;         /* 1..3 */
    int rows;         /* clg_grid_rows: local size chosen per kernel at launch */
    int has_local;    /* local[] given; else a 1-D grid gets CLG_DEFAULT_WG and others the driver's */
    size_t global[3]; /* rounded up to a multiple of local[] at launch (kernels check their bounds) */
    size_t local[3];
} clg_grid;
/* n work-items in work-groups of CLG_DEFAULT_WG (or less, as the kernel allows). */
static inline clg_grid clg_grid_1d(size_t n) { return (clg_grid){.dims = 1, .global = {n, 1, 1}}; }
/* n work-items (rounded up) in work-groups of `local`. */
static inline clg_grid clg_grid_1d_local(size_t n, size_t local) {
    return (clg_grid){.dims = 1, .has_local = 1, .global = {n, 1, 1}, .local = {local, 1, 1}};
}
/* {w, rows}: work-groups along a row (CLG_DEFAULT_WG below). */
static inline clg_grid clg_grid_rows(size_t w, size_t rows) {
    return (clg_grid){.dims = 2, .rows = 1, .global = {w, rows, 1}, .local = {1, 1, 1}};
}
/* {g0, g1, g2} in work-groups of {l0, l1, l2}. */
static inline clg_grid clg_grid_3d(size_t g0, size_t g1, size_t g2, size_t l0, size_t l1, size_t l2) {
    return (clg_grid){.dims = 3, .has_local = 1, .global = {g0, g1, g2}, .local = {l0, l1, l2}};
}

/* Kernel arguments as the launchers pass them: KMEM(buffer), KINT(int), KFLOAT(float), ... */
typedef struct {
    size_t size;
    const void *ptr;
} karg;
#define KMEM(m) ((karg){sizeof(cl_mem), &(cl_mem){(m)}})
#define KINT(i) ((karg){sizeof(cl_int), &(cl_int){(cl_int)(i)}})
#define KUINT(i) ((karg){sizeof(cl_uint), &(cl_uint){(cl_uint)(i)}})
#define KFLOAT(x) ((karg){sizeof(cl_float), &(cl_float){(cl_float)(x)}})
#define KLOCAL(bytes) ((karg){(bytes), NULL})

/* The launchers' argument checks: an argument of another type has no _Generic association, which
 * is a compile error. Integers of any width go to int and uint parameters (converted as before). */
#define KL_INTEGER_(x)                                                                                    \
    _Generic((x), _Bool: 0, char: 0, signed char: 0, unsigned char: 0, short: 0, unsigned short: 0, int: 0, \
             unsigned int: 0, long: 0, unsigned long: 0, long long: 0, unsigned long long: 0)
#define KL_INT(x) ((void)KL_INTEGER_(x), (x))
#define KL_UINT(x) ((void)KL_INTEGER_(x), (x))
#define KL_LOCAL(x) ((void)KL_INTEGER_(x), (x))
#define KL_FLOAT(x) ((void)_Generic((x), float: 0, double: 0), (x))
#define KL_MEM(x) ((void)_Generic((x), cl_mem: 0), (x))

/* Sets the nargs arguments of the named kernel and enqueues it over grid g (the launchers call it;
 * a count that differs from the built kernel's stops the program: the generated header and the
 * program's sources disagree, e.g. CLGAN_KERNEL_DIR pointing at other sources). */
void clg_enqueue(clg_ctx *c, const char *kernel, clg_grid g, int nargs, const karg *args);

/* 1-D launches without a local size get work-groups of c->kp.wg (by default CLG_DEFAULT_WG; or less, as
 * the kernel allows): left to the driver, a global size with few small divisors can get work-groups of
 * one item, which on PoCL costs ten times more. clg_grid_rows launches get work-groups of up to
 * c->kp.rows_wg (by default 64) items along a row (no more than w needs) and one row deep, so what a
 * kernel derives from the row (plane, channel) is one division per row, not per element. */
#define CLG_DEFAULT_WG 128

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
