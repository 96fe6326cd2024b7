#include "losslog.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clerr.h"
#include "util.h"

int losslog_open(losslog *l, clg_ctx *cl, const char *path, const char *const *names, int nloss, int cap,
                 char *err, size_t errlen) {
    memset(l, 0, sizeof *l);
    if (nloss > LOSSLOG_MAX) die("losslog: %d losses, at most %d", nloss, LOSSLOG_MAX);
    if (cap < 1) cap = 1;
    if (cap > 4096) cap = 4096;
    l->cl = cl;
    l->nloss = nloss;
    l->cap = cap;
    for (int i = 0; i < nloss; i++) l->names[i] = names[i];
    l->csv = fopen(path, "a");
    if (!l->csv) {
        set_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    if (ftell(l->csv) == 0) {
        fprintf(l->csv, "step");
        for (int i = 0; i < nloss; i++) fprintf(l->csv, ",%s", names[i]);
        fprintf(l->csv, "\n");
    }
    l->hist = clg_alloc(cl, (size_t)cap * nloss);
    l->host = xmalloc((size_t)cap * nloss * sizeof(float));
    return 0;
}

int losslog_push(losslog *l, long step, const tensor *scalars, char *err, size_t errlen) {
    for (int i = 0; i < l->nloss; i++)
        CL_CHECK(clEnqueueCopyBuffer(l->cl->q, scalars[i].mem, l->hist, scalars[i].off * sizeof(float),
                                     ((size_t)l->count * l->nloss + i) * sizeof(float), sizeof(float), 0, NULL, NULL));
    l->steps[l->count++] = step;
    return l->count == l->cap ? losslog_flush(l, err, errlen) : 0;
}

int losslog_flush(losslog *l, char *err, size_t errlen) {
    if (!l->count) return 0;
    clg_read(l->cl, l->hist, 0, (size_t)l->count * l->nloss, l->host);
    int rc = 0;
    for (int r = 0; r < l->count && rc == 0; r++) {
        const float *row = l->host + (size_t)r * l->nloss;
        for (int i = 0; i < l->nloss; i++)
            if (!isfinite(row[i])) {
                set_err(err, errlen, "loss '%s' is %g at step %ld", l->names[i], row[i], l->steps[r]);
                rc = -1;
                break;
            }
        if (rc) break;
        fprintf(l->csv, "%ld", l->steps[r]);
        for (int i = 0; i < l->nloss; i++) {
            fprintf(l->csv, ",%.7g", row[i]);
            l->sum[i] += row[i];
        }
        fprintf(l->csv, "\n");
        l->nsum++;
    }
    fflush(l->csv);
    l->count = 0;
    return rc;
}

long losslog_take_means(losslog *l, double *means) {
    long n = l->nsum;
    for (int i = 0; i < l->nloss; i++) {
        means[i] = n ? l->sum[i] / (double)n : NAN;
        l->sum[i] = 0;
    }
    l->nsum = 0;
    return n;
}

void losslog_close(losslog *l) {
    if (l->csv) fclose(l->csv);
    if (l->hist) clReleaseMemObject(l->hist);
    free(l->host);
    memset(l, 0, sizeof *l);
}

int csv_truncate_after(const char *path, long max_step, char *err, size_t errlen) {
    size_t len;
    char e2[512];
    char *text = read_file(path, &len, e2, sizeof e2);
    if (!text) return 0; /* nothing logged yet */
    char *out = xmalloc(len + 1);
    size_t o = 0;
    int first = 1;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
        char *end;
        long step = strtol(line, &end, 10);
        if (first || (end != line && step <= max_step)) {
            memcpy(out + o, line, n);
            o += n;
        }
        first = 0;
        line += n;
    }
    int rc = write_file_atomic(path, out, o, err, errlen);
    free(text);
    free(out);
    return rc;
}
