#include "device.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <clblast_c.h>

#include "clerr.h"
#include "kernel_launch.h"
#include "tuning.h"
#include "util.h"

extern const char *const clg_embedded_cl[][2]; /* build/kernels_embedded.c */

/* ---- enumeration ---------------------------------------------------------------------------- */

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
} dev_ref;

static int enumerate(dev_ref *out, int cap) {
    cl_uint np = 0;
    if (clGetPlatformIDs(0, NULL, &np) != CL_SUCCESS || np == 0) return 0;
    cl_platform_id plats[16];
    if (np > 16) np = 16;
    CL_CHECK(clGetPlatformIDs(np, plats, NULL));
    int n = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS) continue;
        cl_device_id devs[32];
        if (nd > 32) nd = 32;
        CL_CHECK(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL));
        for (cl_uint d = 0; d < nd && n < cap; d++) out[n++] = (dev_ref){plats[p], devs[d]};
    }
    return n;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t lead = strspn(s, " \t");
    if (lead) memmove(s, s + lead, strlen(s + lead) + 1);
}

typedef struct {
    char platform[256], device[256], driver[128], type[8];
    cl_ulong mem, max_alloc;
    cl_uint cu;
    size_t max_wg;
} dev_info;

static void query(dev_ref r, dev_info *i) {
    memset(i, 0, sizeof *i);
    CL_CHECK(clGetPlatformInfo(r.platform, CL_PLATFORM_NAME, sizeof i->platform - 1, i->platform, NULL));
    CL_CHECK(clGetDeviceInfo(r.device, CL_DEVICE_NAME, sizeof i->device - 1, i->device, NULL));
    CL_CHECK(clGetDeviceInfo(r.device, CL_DRIVER_VERSION, sizeof i->driver - 1, i->driver, NULL));
    trim(i->platform);
    trim(i->device);
    trim(i->driver);
    cl_device_type t;
    CL_CHECK(clGetDeviceInfo(r.device, CL_DEVICE_TYPE, sizeof t, &t, NULL));
    strcpy(i->type, (t & CL_DEVICE_TYPE_GPU) ? "gpu" : (t & CL_DEVICE_TYPE_CPU) ? "cpu" : "other");
    CL_CHECK(clGetDeviceInfo(r.device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof i->mem, &i->mem, NULL));
    CL_CHECK(clGetDeviceInfo(r.device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof i->max_alloc, &i->max_alloc, NULL));
    CL_CHECK(clGetDeviceInfo(r.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof i->cu, &i->cu, NULL));
    CL_CHECK(clGetDeviceInfo(r.device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof i->max_wg, &i->max_wg, NULL));
}

static void format_line(int idx, const dev_info *i, char *out, size_t outlen) {
    snprintf(out, outlen, "%d: %s / %s (%s, %.1f GiB, %u compute units)", idx, i->platform, i->device,
             i->type, (double)i->mem / (1024.0 * 1024.0 * 1024.0), i->cu);
}

void clg_list_devices(FILE *f) {
    dev_ref refs[64];
    int n = enumerate(refs, 64);
    if (n == 0) fprintf(f, "no OpenCL devices found (is an ICD such as pocl-opencl-icd installed?)\n");
    for (int d = 0; d < n; d++) {
        dev_info i;
        char line[700];
        query(refs[d], &i);
        format_line(d, &i, line, sizeof line);
        fprintf(f, "%s\n", line);
    }
}

static int contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

/* Returns the chosen index, or -1 with err listing the devices. */
static int choose(const dev_ref *refs, int n, const char *spec, char *err, size_t errlen) {
    if (n == 0) {
        set_err(err, errlen, "no OpenCL devices found (is an ICD such as pocl-opencl-icd installed?)");
        return -1;
    }
    dev_info info;
    if (!spec || !*spec) {
        for (int d = 0; d < n; d++) {
            query(refs[d], &info);
            if (strcmp(info.type, "gpu") == 0) return d;
        }
        return 0;
    }
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*end == '\0' && end != spec) {
        if (idx >= 0 && idx < n) return (int)idx;
    } else {
        for (int d = 0; d < n; d++) {
            query(refs[d], &info);
            if (contains_ci(info.platform, spec) || contains_ci(info.device, spec) ||
                contains_ci(info.type, spec))
                return d;
        }
    }
    size_t used = (size_t)snprintf(err, errlen, "no OpenCL device matches '%s'; devices:", spec);
    for (int d = 0; d < n && used < errlen; d++) {
        char line[700];
        query(refs[d], &info);
        format_line(d, &info, line, sizeof line);
        used += (size_t)snprintf(err + used, errlen - used, "\n  %s", line);
    }
    return -1;
}

/* ---- program build with an on-disk binary cache -------------------------------------------- */

/* The text of kernel file `name`: from CLGAN_KERNEL_DIR when set, else the embedded copy. NULL: no
 * such embedded file. Caller frees. */
static char *kernel_file_text(const char *name) {
    const char *dir = getenv("CLGAN_KERNEL_DIR");
    for (int i = 0; clg_embedded_cl[i][0]; i++) {
        if (strcmp(clg_embedded_cl[i][0], name) != 0) continue;
        if (dir && *dir) {
            char path[4096], err[512];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            char *owned = read_file(path, NULL, err, sizeof err);
            if (!owned) die("%s", err);
            return owned;
        }
        return xstrdup(clg_embedded_cl[i][1]);
    }
    return NULL;
}

typedef struct {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    while (b->len + n + 1 > b->cap) b->s = xrealloc(b->s, b->cap = b->cap ? 2 * b->cap : 1 << 16);
    memcpy(b->s + b->len, s, n);
    b->s[b->len += n] = '\0';
}

/* Appends file `name` with each `#include "X"` line replaced by file X (include guards in the included
 * files keep one copy per program). #line directives keep the build log's line numbers pointing into
 * the right file. */
static void expand_file(sbuf *b, const char *name, const char *from, int depth) {
    if (depth > 8) die("kernels: #include \"%s\" nested too deeply (a cycle?)", name);
    char *src = kernel_file_text(name);
    if (!src) die("kernels: %s includes \"%s\", which is not a kernel file (kernels/ (*.cl, *.clh, *.h))", from, name);
    char line[300];
    snprintf(line, sizeof line, "#line 1 \"%s\"\n", name);
    sb_add(b, line, strlen(line));
    int lineno = 1;
    for (const char *p = src; *p; lineno++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        const char *q = p + strspn(p, " \t");
        if (*q == '#' && strncmp(q + 1 + strspn(q + 1, " \t"), "include", 7) == 0) {
            const char *open = strchr(q, '"'), *close = open ? strchr(open + 1, '"') : NULL;
            if (!open || !close || close > p + len)
                die("kernels: %s:%d: only #include \"NAME\" is supported", name, lineno);
            char inc[256];
            snprintf(inc, sizeof inc, "%.*s", (int)(close - open - 1), open + 1);
            expand_file(b, inc, name, depth + 1);
            snprintf(line, sizeof line, "\n#line %d \"%s\"\n", lineno + 1, name);
            sb_add(b, line, strlen(line));
        } else {
            sb_add(b, p, len);
        }
        p += len;
    }
    sb_add(b, "\n", 1);
    free(src);
}

char *clg_kernel_source(const char *file) {
    char *probe = kernel_file_text(file);
    if (!probe) return NULL;
    free(probe);
    sbuf b = {0};
    expand_file(&b, file, file, 0);
    return b.s;
}

const char *clg_kernel_file(int i) {
    for (int k = 0; k <= i; k++)
        if (!clg_embedded_cl[k][0]) return NULL;
    return clg_embedded_cl[i][0];
}

/* Every .cl file, expanded: one program. No file relies on another coming before it. */
static char *load_sources(void) {
    sbuf b = {0};
    sb_add(&b, "", 0);
    for (int i = 0; clg_embedded_cl[i][0]; i++) {
        const char *name = clg_embedded_cl[i][0];
        size_t n = strlen(name);
        if (n > 3 && strcmp(name + n - 3, ".cl") == 0) expand_file(&b, name, name, 0);
    }
    return b.s;
}

/* A cache file is CACHE_MAGIC, the payload's length and its FNV-1a 64 checksum (8 bytes each,
 * little-endian), then the program binary. A driver handed a truncated binary may crash (PoCL
 * segfaulted on one), so nothing reaches clCreateProgramWithBinary unless the length and the
 * checksum match; any doubt (short file, other format, failed build, a build status other than
 * success) means the source is built again and the file rewritten. */
#define CACHE_MAGIC "CLGANBN1"
#define CACHE_HEAD 24

static void cache_path(const clg_ctx *c, const char *src, const char *opts, char *out, size_t outlen) {
    uint64_t h = FNV1A64_INIT;
    h = fnv1a64(c->platform_name, strlen(c->platform_name), h);
    h = fnv1a64(c->device_name, strlen(c->device_name), h);
    h = fnv1a64(c->driver_version, strlen(c->driver_version), h);
    h = fnv1a64(opts, strlen(opts), h);
    h = fnv1a64(src, strlen(src), h);
    h = fnv1a64(CACHE_MAGIC, 8, h); /* a new format gets new names: an older clgan never reads these files */
    const char *dir = getenv("CLGAN_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (dir && *dir) snprintf(out, outlen, "%s/%016llx.bin", dir, (unsigned long long)h);
    else if (xdg && *xdg) snprintf(out, outlen, "%s/clgan/%016llx.bin", xdg, (unsigned long long)h);
    else snprintf(out, outlen, "%s/.cache/clgan/%016llx.bin", home ? home : "/tmp", (unsigned long long)h);
}

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static cl_program try_cached(clg_ctx *c, const char *path, const char *opts) {
    size_t len;
    char err[512];
    unsigned char *file = (unsigned char *)read_file(path, &len, err, sizeof err);
    if (!file) return NULL;
    if (len <= CACHE_HEAD || memcmp(file, CACHE_MAGIC, 8) != 0 || get_le64(file + 8) != len - CACHE_HEAD ||
        get_le64(file + 16) != fnv1a64(file + CACHE_HEAD, len - CACHE_HEAD, FNV1A64_INIT)) {
        free(file);
        return NULL; /* truncated, corrupt or of another format */
    }
    cl_int st, bst;
    size_t blen = len - CACHE_HEAD;
    const unsigned char *bins[1] = {file + CACHE_HEAD};
    cl_program p = clCreateProgramWithBinary(c->ctx, 1, &c->device, &blen, bins, &bst, &st);
    free(file);
    if (st != CL_SUCCESS || bst != CL_SUCCESS) {
        if (st == CL_SUCCESS) clReleaseProgram(p);
        return NULL;
    }
    cl_build_status bs = CL_BUILD_ERROR;
    if (clBuildProgram(p, 1, &c->device, opts, NULL, NULL) != CL_SUCCESS ||
        clGetProgramBuildInfo(p, c->device, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL) != CL_SUCCESS ||
        bs != CL_BUILD_SUCCESS) {
        clReleaseProgram(p);
        return NULL; /* stale or foreign binary: rebuild from source */
    }
    return p;
}

static void save_cache(clg_ctx *c, cl_program p, const char *path) {
    size_t len = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || !len) return;
    unsigned char *file = xmalloc(CACHE_HEAD + len);
    unsigned char *bins[1] = {file + CACHE_HEAD};
    char dir[4400], err[512];
    if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS) {
        memcpy(file, CACHE_MAGIC, 8);
        put_le64(file + 8, len);
        put_le64(file + 16, fnv1a64(file + CACHE_HEAD, len, FNV1A64_INIT));
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        /* A cache that cannot be written only costs build time next run. */
        if (mkdir_p(dir, err, sizeof err) == 0) write_file_atomic(path, file, CACHE_HEAD + len, err, sizeof err);
    }
    (void)c;
    free(file);
}

static void build_program(clg_ctx *c) {
    char opts[512]; /* -D options included: part of the cache key */
    clg_kernel_options(c, opts, sizeof opts);
    char *src = load_sources();
    char path[4300];
    cache_path(c, src, opts, path, sizeof path);
    c->program = try_cached(c, path, opts);
    if (!c->program) {
        cl_int st;
        const char *srcs[1] = {src};
        c->program = clCreateProgramWithSource(c->ctx, 1, srcs, NULL, &st);
        CL_CHECK(st);
        st = clBuildProgram(c->program, 1, &c->device, opts, NULL, NULL);
        if (st != CL_SUCCESS) {
            size_t loglen = 0;
            clGetProgramBuildInfo(c->program, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &loglen);
            char *log = xmalloc(loglen + 1);
            clGetProgramBuildInfo(c->program, c->device, CL_PROGRAM_BUILD_LOG, loglen, log, NULL);
            log[loglen] = '\0';
            fprintf(stderr, "%s\n", log);
            die("building kernels/*.cl for %s failed: %s (%d); build log above", c->device_name,
                cl_err_name(st), st);
        }
        save_cache(c, c->program, path);
    }
    free(src);
}

static clg_kernel_entry *kernel_entry(clg_ctx *c, const char *name) {
    for (int i = 0; i < c->nkernels; i++)
        if (strcmp(c->kernels[i].name, name) == 0) return &c->kernels[i];
    clg_kernel(c, name);
    return &c->kernels[c->nkernels - 1];
}

cl_kernel clg_kernel(clg_ctx *c, const char *name) {
    for (int i = 0; i < c->nkernels; i++)
        if (strcmp(c->kernels[i].name, name) == 0) return c->kernels[i].k;
    if (!c->program) build_program(c);
    cl_int st;
    cl_kernel k = clCreateKernel(c->program, name, &st);
    if (st != CL_SUCCESS) die("clCreateKernel(%s) failed: %s (%d)", name, cl_err_name(st), st);
    c->kernels = xrealloc(c->kernels, (size_t)(c->nkernels + 1) * sizeof *c->kernels);
    snprintf(c->kernels[c->nkernels].name, sizeof c->kernels[0].name, "%s", name);
    c->kernels[c->nkernels].k = k;
    CL_CHECK(clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof(size_t),
                                      &c->kernels[c->nkernels].max_wg, NULL));
    cl_uint nargs = 0;
    CL_CHECK(clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL));
    c->kernels[c->nkernels].nargs = (int)nargs;
    c->nkernels++;
    return k;
}

static void clg_launch(clg_ctx *c, const char *kernel, int dims, const size_t *global, const size_t *local,
                int nargs, const karg *args) {
    clg_kernel_entry *e = kernel_entry(c, kernel);
    cl_kernel k = e->k;
    size_t local1[1];
    if (!local && dims == 1) {
        local1[0] = c->kp.wg > 0 ? (size_t)c->kp.wg : CLG_DEFAULT_WG;
        while (local1[0] > 1 && (local1[0] > e->max_wg || local1[0] > c->max_wg)) local1[0] /= 2;
        local = local1;
    }
    for (int i = 0; i < nargs; i++) {
        cl_int st = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
        if (st != CL_SUCCESS)
            die("clSetKernelArg(%s, arg %d) failed: %s (%d)", kernel, i, cl_err_name(st), st);
    }
    size_t g[3];
    for (int d = 0; d < dims; d++) {
        g[d] = global[d] ? global[d] : 1;
        if (local) g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
    }
    cl_event ev = NULL;
    cl_int st = clEnqueueNDRangeKernel(c->q, k, (cl_uint)dims, NULL, g, local, 0, NULL, c->profiling ? &ev : NULL);
    if (st != CL_SUCCESS) die("clEnqueueNDRangeKernel(%s) failed: %s (%d)", kernel, cl_err_name(st), st);
    if (ev && c->profiling < 2) clg_prof_event(c, kernel, ev);
    if (ev && c->profiling >= 2) { /* one line per kernel and global size */
        char name[64];
        int n = snprintf(name, sizeof name, "%s[%zu", kernel, g[0]);
        for (int d = 1; d < dims && n > 0 && n < (int)sizeof name; d++)
            n += snprintf(name + n, sizeof name - (size_t)n, ",%zu", g[d]);
        if (n > 0 && n < (int)sizeof name) snprintf(name + n, sizeof name - (size_t)n, "]");
        clg_prof_event(c, name, ev);
    }
}

static void clg_launch_rows(clg_ctx *c, const char *kernel, size_t w, size_t rows, int nargs, const karg *args) {
    clg_kernel_entry *e = kernel_entry(c, kernel);
    size_t lw = c->kp.rows_wg > 0 ? (size_t)c->kp.rows_wg : 64;
    while (lw > 1 && (lw / 2 >= w || lw > e->max_wg || lw > c->max_wg)) lw /= 2;
    size_t global[2] = {w, rows}, local[2] = {lw, 1};
    clg_launch(c, kernel, 2, global, local, nargs, args);
}

void clg_enqueue(clg_ctx *c, const char *kernel, clg_grid g, int nargs, const karg *args) {
    clg_kernel_entry *e = kernel_entry(c, kernel);
    if (e->nargs != nargs)
        die("kernel %s takes %d arguments in the built program but its launcher passes %d: build/kernel_launch.h "
            "and the kernel sources disagree", kernel, e->nargs, nargs);
    if (g.rows) clg_launch_rows(c, kernel, g.global[0], g.global[1], nargs, args);
    else clg_launch(c, kernel, g.dims, g.global, g.has_local ? g.local : NULL, nargs, args);
}

size_t clg_plane_reduce_wg(clg_ctx *c, const char *kernel, size_t hw) {
    size_t lim = c->kp.reduce_wg > 0 ? (size_t)c->kp.reduce_wg : 256, kwg = kernel_entry(c, kernel)->max_wg;
    if (lim > c->max_wg) lim = c->max_wg;
    if (kwg > 0 && lim > kwg) lim = kwg;
    size_t wg = 1;
    while (wg * 2 <= lim && wg * 8 < hw) wg *= 2;
    return wg;
}

struct clg_prof {
    char name[64];
    long count;
    double ms;
};

void clg_prof_event(clg_ctx *c, const char *name, cl_event ev) {
    CL_CHECK(clWaitForEvents(1, &ev));
    cl_ulong t0 = 0, t1 = 0;
    CL_CHECK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL));
    CL_CHECK(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
    clReleaseEvent(ev);
    int i = 0;
    while (i < c->nprof && strcmp(c->prof[i].name, name) != 0) i++;
    if (i == c->nprof) {
        c->prof = xrealloc(c->prof, (size_t)(c->nprof + 1) * sizeof *c->prof);
        memset(&c->prof[i], 0, sizeof c->prof[i]);
        snprintf(c->prof[i].name, sizeof c->prof[i].name, "%s", name);
        c->nprof++;
    }
    c->prof[i].count++;
    c->prof[i].ms += (double)(t1 - t0) * 1e-6;
}

double clg_prof_total(const clg_ctx *c, const char *prefix, long *count) {
    size_t plen = prefix ? strlen(prefix) : 0;
    double ms = 0;
    long n = 0;
    for (int i = 0; i < c->nprof; i++)
        if (strncmp(c->prof[i].name, prefix ? prefix : "", plen) == 0) {
            ms += c->prof[i].ms;
            n += c->prof[i].count;
        }
    if (count) *count = n;
    return ms;
}

void clg_prof_reset(clg_ctx *c) { c->nprof = 0; }

void clg_prof_each(const clg_ctx *c, void (*fn)(void *ud, const char *name, long count, double ms), void *ud) {
    for (int i = 0; i < c->nprof; i++) fn(ud, c->prof[i].name, c->prof[i].count, c->prof[i].ms);
}

static int by_time(const void *a, const void *b) {
    double x = ((const struct clg_prof *)a)->ms, y = ((const struct clg_prof *)b)->ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

void clg_prof_report(clg_ctx *c, FILE *f) {
    if (!c->nprof) return;
    qsort(c->prof, (size_t)c->nprof, sizeof *c->prof, by_time);
    double total = 0;
    for (int i = 0; i < c->nprof; i++) total += c->prof[i].ms;
    fprintf(f, "%-32s %8s %12s %7s\n", "kernel", "calls", "device ms", "share");
    for (int i = 0; i < c->nprof; i++)
        fprintf(f, "%-32s %8ld %12.2f %6.1f%%\n", c->prof[i].name, c->prof[i].count, c->prof[i].ms,
                100.0 * c->prof[i].ms / total);
    fprintf(f, "%-32s %8s %12.2f\n", "total", "", total);
}

/* ---- open / close ---------------------------------------------------------------------------- */

clg_ctx *clg_open(const char *spec, int profiling, char *err, size_t errlen) {
    /* CLBlast creates and frees temporary buffers on every GEMM call, and on a CPU device (PoCL) those
     * are malloc'd: with glibc's default thresholds the freed blocks stay in the heap and a DCGAN run
     * grew to 8.4 GB. Serving large blocks by mmap returns them at once (1.3 GB, and faster). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (!spec || !*spec) spec = getenv("CLGAN_DEVICE");
    dev_ref refs[64];
    int n = enumerate(refs, 64);
    int d = choose(refs, n, spec, err, errlen);
    if (d < 0) return NULL;
    clg_ctx *c = xcalloc(1, sizeof *c);
    dev_info i;
    query(refs[d], &i);
    c->index = d;
    c->platform = refs[d].platform;
    c->device = refs[d].device;
    snprintf(c->platform_name, sizeof c->platform_name, "%s", i.platform);
    snprintf(c->device_name, sizeof c->device_name, "%s", i.device);
    snprintf(c->driver_version, sizeof c->driver_version, "%s", i.driver);
    c->global_mem = i.mem;
    c->max_alloc = i.max_alloc;
    c->compute_units = i.cu;
    c->max_wg = i.max_wg;
    c->is_gpu = strcmp(i.type, "gpu") == 0;
    const char *penv = getenv("CLGAN_PROFILE");
    c->profiling = profiling || (penv && *penv && strcmp(penv, "0") != 0);
    if (penv && strcmp(penv, "2") == 0) c->profiling = 2;
    cl_int st;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0};
    c->ctx = clCreateContext(props, 1, &c->device, NULL, NULL, &st);
    CL_CHECK(st);
    c->q = clCreateCommandQueue(c->ctx, c->device, c->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &st);
    CL_CHECK(st);
    clg_kernel_params(c); /* first: it reads the stored set whose CLBlast part clg_apply_tuning installs */
    clg_apply_tuning(c);
    return c;
}

void clg_close(clg_ctx *c) {
    if (!c) return;
    clFinish(c->q);
    /* CLBlast keeps compiled programs in a process-wide cache that its static destructor frees
     * after main returns, when the OpenCL driver may be gone (Oclgrind aborts there): empty it
     * now, while the context lives. Kernels are recompiled by CLBlast if another context needs them. */
    CLBlastClearCache();
    if (c->profiling) clg_prof_report(c, stderr);
    free(c->prof);
    for (int i = 0; i < c->nkernels; i++) clReleaseKernel(c->kernels[i].k);
    free(c->kernels);
    if (c->program) clReleaseProgram(c->program);
    clReleaseCommandQueue(c->q);
    clReleaseContext(c->ctx);
    free(c);
}

void clg_describe(const clg_ctx *c, char *out, size_t outlen) {
    snprintf(out, outlen, "%s / %s (%s, %.1f GiB, %u compute units)", c->platform_name, c->device_name,
             c->is_gpu ? "gpu" : "cpu", (double)c->global_mem / (1024.0 * 1024.0 * 1024.0), c->compute_units);
}

/* ---- buffers --------------------------------------------------------------------------------- */

cl_mem clg_alloc(clg_ctx *c, size_t nfloats) {
    cl_int st;
    size_t bytes = (nfloats ? nfloats : 1) * sizeof(float);
    cl_mem m = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, bytes, NULL, &st);
    if (st != CL_SUCCESS)
        die("clCreateBuffer(%zu bytes) on %s failed: %s (%d)", bytes, c->device_name, cl_err_name(st), st);
    return m;
}

void clg_write(clg_ctx *c, cl_mem m, size_t off, size_t n, const float *src) {
    if (!n) return;
    CL_CHECK(clEnqueueWriteBuffer(c->q, m, CL_TRUE, off * sizeof(float), n * sizeof(float), src, 0, NULL, NULL));
}

void clg_read(clg_ctx *c, cl_mem m, size_t off, size_t n, float *dst) {
    if (!n) return;
    CL_CHECK(clEnqueueReadBuffer(c->q, m, CL_TRUE, off * sizeof(float), n * sizeof(float), dst, 0, NULL, NULL));
}

void clg_fill(clg_ctx *c, cl_mem m, size_t off, size_t n, float value) {
    if (!n) return;
    kl_fill(c, clg_grid_1d(n), m, off, n, value);
}

void clg_copy(clg_ctx *c, cl_mem dst, size_t doff, cl_mem src, size_t soff, size_t n) {
    if (!n) return;
    CL_CHECK(clEnqueueCopyBuffer(c->q, src, dst, soff * sizeof(float), doff * sizeof(float), n * sizeof(float), 0,
                                 NULL, NULL));
}

void clg_finish(clg_ctx *c) { CL_CHECK(clFinish(c->q)); }
