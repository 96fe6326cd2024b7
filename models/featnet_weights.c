/* Feature-network weights by name (featnet_weights.h). */
#include "featnet_weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void featnet_shape_str(const st_file *f, const char *name, char *out, size_t n) {
    const st_tensor *t = st_find(f, name);
    if (!t) {
        snprintf(out, n, "absent");
        return;
    }
    size_t len = (size_t)snprintf(out, n, "[");
    for (int d = 0; d < t->ndim && len < n; d++)
        len += (size_t)snprintf(out + len, n - len, "%s%lld", d ? ", " : "", t->shape[d]);
    if (len < n) snprintf(out + len, n - len, "]");
}

static void shape_str(int ndim, const int *shape, char *out, size_t n) {
    size_t len = (size_t)snprintf(out, n, "[");
    for (int d = 0; d < ndim && len < n; d++) len += (size_t)snprintf(out + len, n - len, "%s%d", d ? ", " : "", shape[d]);
    if (len < n) snprintf(out + len, n - len, "]");
}

const st_tensor *featnet_tensor(const st_file *f, const char *path, const char *hint, const char *name, int ndim,
                                const int *shape, char *err, size_t errlen) {
    const st_tensor *t = st_find(f, name);
    int ok = t && t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = t->shape[d] == shape[d];
    if (ok) return t;
    char want[96], got[96];
    shape_str(ndim, shape, want, sizeof want);
    featnet_shape_str(f, name, got, sizeof got);
    if (!t) snprintf(err, errlen, "%s: tensor '%s' %s is missing (write the file with %s)", path, name, want, hint);
    else snprintf(err, errlen, "%s: tensor '%s' has shape %s, the network needs %s (write the file with %s)", path, name, got,
                  want, hint);
    return NULL;
}

int featnet_fill_nets(const st_file *f, const char *path, const char *hint, net *const *nets, int n, char *err,
                      size_t errlen) {
    for (int k = 0; k < n; k++) {
        net *nt = nets[k];
        float *all = xcalloc(nt->total ? nt->total : 1, sizeof *all);
        for (int i = 0; i < nt->np; i++) {
            const param *p = &nt->p[i];
            const st_tensor *t = featnet_tensor(f, path, hint, p->name, p->ndim, p->shape, err, errlen);
            if (!t) {
                free(all);
                return -1;
            }
            memcpy(all + p->off, t->data, p->numel * sizeof *all);
        }
        net_upload(nt, all);
        free(all);
    }
    return 0;
}
