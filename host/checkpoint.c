#include "checkpoint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Optimizer state tensors are named after the optimizer: ".adam_m"/".adam_v", ".rmsprop_m"/".rmsprop_v". */
static const char *state_prefix(const optim *o) { return o->kind == OPT_RMSPROP ? "rmsprop" : "adam"; }

static void fill_tensor(st_tensor *t, const char *netname, const param *p, const char *suffix, float *data) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s%s", netname, p->name, suffix);
    t->ndim = p->ndim;
    for (int d = 0; d < p->ndim; d++) t->shape[d] = p->shape[d];
    t->data = data;
}

int ckpt_save(const char *path, const ckpt_part *parts, int nparts, const char *const *meta_key,
              const char *const *meta_val, int nmeta, char *err, size_t errlen) {
    int cap = 0;
    for (int i = 0; i < nparts; i++) cap += parts[i].net->np * (parts[i].opt ? 3 : 1);
    st_tensor *ts = xcalloc((size_t)cap, sizeof *ts);
    float **bufs = xcalloc((size_t)nparts * 3, sizeof *bufs);
    int n = 0;
    for (int i = 0; i < nparts; i++) {
        net *nt = parts[i].net;
        float *w = bufs[3 * i] = xmalloc(nt->total * sizeof(float));
        net_download(nt, w);
        float *m = NULL, *v = NULL;
        if (parts[i].opt) {
            m = bufs[3 * i + 1] = xmalloc(nt->total * sizeof(float));
            v = bufs[3 * i + 2] = xmalloc(nt->total * sizeof(float));
            optim_download(parts[i].opt, m, v);
        }
        for (int k = 0; k < nt->np; k++) {
            const param *p = &nt->p[k];
            fill_tensor(&ts[n++], nt->name, p, "", w + p->off);
            if (m) {
                char sm[16], sv[16];
                snprintf(sm, sizeof sm, ".%s_m", state_prefix(parts[i].opt));
                snprintf(sv, sizeof sv, ".%s_v", state_prefix(parts[i].opt));
                fill_tensor(&ts[n++], nt->name, p, sm, m + p->off);
                fill_tensor(&ts[n++], nt->name, p, sv, v + p->off);
            }
        }
    }
    int rc = st_save(path, ts, n, meta_key, meta_val, nmeta, err, errlen);
    for (int i = 0; i < nparts * 3; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    return rc;
}

/* Copies tensor `name` (checked against p's shape; with nonneg, every value >= 0) into host[p->off ...]. */
static int take(const st_file *f, const char *path, const char *name, const param *p, float *host, int nonneg,
                char *err, size_t errlen) {
    const st_tensor *t = st_find(f, name);
    if (!t) {
        set_err(err, errlen, "%s: checkpoint has no tensor '%s'", path, name);
        return -1;
    }
    int same = t->ndim == p->ndim;
    for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == p->shape[d];
    if (!same) {
        char want[64] = "", got[64] = "";
        for (int d = 0; d < p->ndim; d++) snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "x" : "", p->shape[d]);
        for (int d = 0; d < t->ndim; d++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "x" : "", t->shape[d]);
        set_err(err, errlen, "%s: tensor '%s' has shape %s, the model expects %s", path, name, got, want);
        return -1;
    }
    if (nonneg)
        for (size_t i = 0; i < p->numel; i++)
            if (t->data[i] < 0) {
                set_err(err, errlen, "%s: tensor '%s': element %zu is %g; a second moment is never negative", path,
                        name, i, (double)t->data[i]);
                return -1;
            }
    memcpy(host + p->off, t->data, p->numel * sizeof(float));
    return 0;
}

int ckpt_load(const char *path, const ckpt_part *parts, int nparts, int with_opt, st_file *file, char *err,
              size_t errlen) {
    if (st_load(path, file, err, errlen) != 0) return -1;
    for (int i = 0; i < nparts; i++) {
        net *nt = parts[i].net;
        int opt = with_opt && parts[i].opt;
        float *w = xcalloc(nt->total, sizeof(float));
        float *m = opt ? xcalloc(nt->total, sizeof(float)) : NULL;
        float *v = opt ? xcalloc(nt->total, sizeof(float)) : NULL;
        int rc = 0;
        char name[256];
        for (int k = 0; k < nt->np && rc == 0; k++) {
            const param *p = &nt->p[k];
            snprintf(name, sizeof name, "%s.%s", nt->name, p->name);
            rc = take(file, path, name, p, w, 0, err, errlen);
            if (opt && rc == 0) {
                snprintf(name, sizeof name, "%s.%s.%s_m", nt->name, p->name, state_prefix(parts[i].opt));
                rc = take(file, path, name, p, m, 0, err, errlen);
            }
            if (opt && rc == 0) {
                snprintf(name, sizeof name, "%s.%s.%s_v", nt->name, p->name, state_prefix(parts[i].opt));
                rc = take(file, path, name, p, v, 1, err, errlen);
            }
        }
        if (rc == 0) {
            net_upload(nt, w);
            if (opt) optim_upload(parts[i].opt, m, v);
        }
        free(w);
        free(m);
        free(v);
        if (rc) {
            st_free(file);
            return -1;
        }
    }
    return 0;
}

int ckpt_meta_long(const st_file *f, const char *path, const char *key, long *out, char *err, size_t errlen) {
    const char *s = st_meta(f, key);
    char *end;
    if (!s) {
        set_err(err, errlen, "%s: checkpoint metadata has no '%s'", path, key);
        return -1;
    }
    /* strtol alone would take leading blanks and a '+', and clamp an overflow to LONG_MAX */
    errno = 0;
    long v = (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) ? strtol(s, &end, 10) : 0;
    if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) || end == s || *end || errno == ERANGE) {
        set_err(err, errlen, "%s: checkpoint metadata '%s' = '%.40s' is not an integer%s", path, key, s,
                errno == ERANGE ? " in range" : "");
        return -1;
    }
    *out = v;
    return 0;
}

int ckpt_meta_long_range(const st_file *f, const char *path, const char *key, long lo, long hi, long *out,
                         char *err, size_t errlen) {
    long v;
    if (ckpt_meta_long(f, path, key, &v, err, errlen) != 0) return -1;
    if (v < lo || v > hi) {
        set_err(err, errlen, "%s: checkpoint metadata '%s' = %ld is outside the allowed range [%ld, %ld]", path, key,
                v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}
