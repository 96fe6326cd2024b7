#include "tuning.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <clblast_c.h>

#include "clerr.h"
#include "clg_shared.h"

/* One kernel's parameters as CLBlast names them, "NAME=VALUE" separated by spaces or commas. Every
 * parameter of the kernel must be there: CLBlastOverrideParameters refuses a set with one missing
 * (CLBlastMissingOverrideParameter); names it does not know are ignored. */
typedef struct {
    const char *kernel; /* "Xgemm", "XgemmDirect", "Copy", "Pad", "Transpose", "Padtranspose", "GemmRoutine" */
    const char *params;
} tuned_kernel;

/* A device the table knows: every non-NULL pattern must be a (case-insensitive) substring of the
 * platform name, device name and driver version. The first matching entry wins. */
typedef struct {
    const char *name;
    const char *platform, *device, *driver;
    tuned_kernel kernels[8];
} tuned_device;

/* PoCL 3.1 (Debian 12, LLVM 15) on a 2-core Xeon with AVX-512 ("pthread-skylake-avx512-Intel(R) Xeon(R)
 * Processor"), CLBlast 1.5.3. Candidates from clblast_tuner_*, chosen on clgan's GEMM shapes with
 * tools/gemm_bench.c, now ./bench's gemm rows (commands, numbers and trade-offs in docs/TUNING.md):
 *  - Xgemm: GEMMK=0. The tuner's GEMMK=1 sets were as fast at 512^3 but give wrong results through
 *    CLBlast 1.5.3's GEMM routine when MWG != NWG (CLBlast PR #543, fixed after 1.5.3).
 *  - XgemmDirect: work-groups of 16x16; the direct kernel is only used below XGEMM_MIN_INDIRECT_SIZE,
 *    where clgan's shapes have a side of 16 (3x faster there than the 64-wide sets, 2-3x slower on
 *    mid-size shapes, which go to the indirect kernel instead).
 *  - XGEMM_MIN_INDIRECT_SIZE: direct when cbrt(M*N*K) < 330. The DCGAN GEMMs with M = 16 (cbrt 323)
 *    want the direct kernel, the VAE's 128x784x400 family (cbrt 342) and everything larger the
 *    indirect one. CLBlast's default here is 704 (everything up to 700^3 direct).
 *  - Copy, Pad, Transpose, Padtranspose: the indirect kernel's pre/post-processing; the tuned sets
 *    made no measurable difference on clgan's shapes and are kept as the tuner found them. */
static const tuned_device table[] = {
    {"pocl-skylake-avx512",
     "Portable Computing Language",
     "skylake-avx512",
     NULL,
     {
         {"Xgemm", "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=8 MDIMC=8 MWG=64 NDIMB=16 NDIMC=8 NWG=128 SA=0 SB=1 STRM=0 "
                   "STRN=0 VWM=8 VWN=4"},
         {"XgemmDirect", "KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=1 PADB=1 VWMD=2 VWND=1 WGD=16"},
         {"Copy", "COPY_DIMX=16 COPY_DIMY=32 COPY_VW=4 COPY_WPT=1"},
         {"Pad", "PAD_DIMX=32 PAD_DIMY=16 PAD_WPTX=1 PAD_WPTY=1"},
         {"Transpose", "TRA_DIM=4 TRA_PAD=1 TRA_SHUFFLE=0 TRA_WPT=16"},
         {"Padtranspose", "PADTRA_PAD=1 PADTRA_TILE=16 PADTRA_WPT=2"},
         {"GemmRoutine", "XGEMM_MIN_INDIRECT_SIZE=330"},
     }},
};

static int contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

static int no_tuning(void) {
    const char *e = getenv("CLGAN_NO_TUNING");
    return e && *e && strcmp(e, "0") != 0;
}

static const tuned_device *lookup(const clg_ctx *c) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const tuned_device *t = &table[i];
        if (t->platform && !contains_ci(c->platform_name, t->platform)) continue;
        if (t->device && !contains_ci(c->device_name, t->device)) continue;
        if (t->driver && !contains_ci(c->driver_version, t->driver)) continue;
        return t;
    }
    return NULL;
}

const char *clg_tuning_name(const clg_ctx *c) {
    if (no_tuning()) return NULL;
    const tuned_device *t = lookup(c);
    return t ? t->name : NULL;
}

/* ---- parameter sets ---------------------------------------------------------------------------- */

#define MAX_KERNELS 12
#define MAX_PARAMS 24

typedef struct {
    char kernel[32];
    int n, skip; /* skip: leave the kernel to CLBlast's defaults (asked for, or a parameter was unreadable) */
    char names[MAX_PARAMS][32];
    size_t values[MAX_PARAMS];
} param_set;

static param_set *find_set(param_set *sets, int *nsets, const char *kernel, size_t klen) {
    for (int i = 0; i < *nsets; i++)
        if (strlen(sets[i].kernel) == klen && strncmp(sets[i].kernel, kernel, klen) == 0) return &sets[i];
    if (*nsets == MAX_KERNELS || klen == 0 || klen >= sizeof sets[0].kernel) return NULL;
    param_set *s = &sets[(*nsets)++];
    memset(s, 0, sizeof *s);
    memcpy(s->kernel, kernel, klen);
    return s;
}

/* Parses "NAME=VALUE" items separated by spaces or commas from [p, end) into s, replacing values of
 * names already there. Returns 0, or -1 with a message naming what could not be read. */
static int parse_params(param_set *s, const char *p, const char *end, const char *origin) {
    while (p < end) {
        while (p < end && (isspace((unsigned char)*p) || *p == ',')) p++;
        if (p == end) break;
        const char *name = p;
        while (p < end && *p != '=' && *p != ',' && !isspace((unsigned char)*p)) p++;
        size_t nlen = (size_t)(p - name);
        if (p == end || *p != '=' || nlen == 0 || nlen >= sizeof s->names[0]) {
            fprintf(stderr, "clgan: warning: %s: cannot read parameter '%.*s' of %s (want NAME=VALUE)\n", origin,
                    (int)nlen, name, s->kernel);
            return -1;
        }
        p++;
        char *vend;
        unsigned long long v = strtoull(p, &vend, 10);
        if (vend == p || vend > end || (vend < end && *vend != ',' && !isspace((unsigned char)*vend))) {
            fprintf(stderr, "clgan: warning: %s: parameter %.*s of %s needs a whole number\n", origin, (int)nlen,
                    name, s->kernel);
            return -1;
        }
        p = vend;
        int i = 0;
        while (i < s->n && !(strlen(s->names[i]) == nlen && strncmp(s->names[i], name, nlen) == 0)) i++;
        if (i == s->n) {
            if (s->n == MAX_PARAMS) {
                fprintf(stderr, "clgan: warning: %s: too many parameters for %s\n", origin, s->kernel);
                return -1;
            }
            memcpy(s->names[i], name, nlen);
            s->names[i][nlen] = '\0';
            s->n++;
        }
        s->values[i] = (size_t)v;
    }
    return 0;
}

/* CLGAN_CLBLAST_PARAMS or a stored set's CLBlast part: "Kernel:NAME=V,NAME=V;Kernel:..." merged over the
 * table's sets. A kernel whose
 * parameters cannot be read is dropped altogether (its table set too): better CLBlast's defaults than
 * a set nobody meant. */
static void parse_env(param_set *sets, int *nsets, const char *env, const char *origin) {
    const char *p = env;
    while (*p) {
        const char *semi = strchr(p, ';');
        const char *end = semi ? semi : p + strlen(p);
        while (p < end && isspace((unsigned char)*p)) p++;
        if (p < end) {
            const char *colon = memchr(p, ':', (size_t)(end - p));
            if (!colon) {
                fprintf(stderr, "clgan: warning: %s: '%.*s' is not KERNEL:NAME=VALUE,...\n", origin,
                        (int)(end - p), p);
            } else {
                param_set *s = find_set(sets, nsets, p, (size_t)(colon - p));
                const char *v = colon + 1;
                while (v < end && isspace((unsigned char)*v)) v++;
                if (!s) {
                    fprintf(stderr, "clgan: warning: %s: cannot use kernel '%.*s'\n", origin,
                            (int)(colon - p), p);
                } else if (v < end && *v == '-') {
                    s->skip = 1; /* "Kernel:-": leave that kernel to CLBlast's defaults */
                } else if (parse_params(s, v, end, origin) != 0) {
                    s->skip = 1;
                }
            }
        }
        p = semi ? semi + 1 : end;
    }
}

void clg_apply_tuning(clg_ctx *c) {
    if (no_tuning()) return;
    param_set sets[MAX_KERNELS];
    int nsets = 0;
    const tuned_device *t = lookup(c);
    if (t) {
        for (int k = 0; k < 8 && t->kernels[k].kernel; k++) {
            param_set *s = find_set(sets, &nsets, t->kernels[k].kernel, strlen(t->kernels[k].kernel));
            if (s && parse_params(s, t->kernels[k].params, t->kernels[k].params + strlen(t->kernels[k].params),
                                  t->name) != 0)
                s->skip = 1;
        }
    }
    if (c->kp_clblast[0]) parse_env(sets, &nsets, c->kp_clblast, "stored tuning set"); /* ./bench --tune's */
    const char *env = getenv("CLGAN_CLBLAST_PARAMS");
    if (env && *env) parse_env(sets, &nsets, env, "CLGAN_CLBLAST_PARAMS");

    for (int i = 0; i < nsets; i++) {
        param_set *s = &sets[i];
        if (s->skip || s->n == 0) continue;
        const char *names[MAX_PARAMS];
        for (int j = 0; j < s->n; j++) names[j] = s->names[j];
        CLBlastStatusCode st =
            CLBlastOverrideParameters(c->device, s->kernel, CLBlastPrecisionSingle, (size_t)s->n, names, s->values);
        if (st != CLBlastSuccess)
            fprintf(stderr,
                    "clgan: warning: CLBlast refused the %s parameters for %s: %s (%d); it keeps its defaults\n",
                    s->kernel, c->device_name, cl_err_name(st), (int)st);
    }
}


int clg_clblast_override(clg_ctx *c, const char *spec) {
    param_set sets[MAX_KERNELS];
    int nsets = 0, refused = 0;
    parse_env(sets, &nsets, spec, "CLBlast candidate");
    for (int i = 0; i < nsets; i++) {
        param_set *s = &sets[i];
        if (s->skip || s->n == 0) {
            refused++;
            continue;
        }
        const char *names[MAX_PARAMS];
        for (int j = 0; j < s->n; j++) names[j] = s->names[j];
        if (CLBlastOverrideParameters(c->device, s->kernel, CLBlastPrecisionSingle, (size_t)s->n, names, s->values) !=
            CLBlastSuccess)
            refused++;
    }
    return refused;
}
