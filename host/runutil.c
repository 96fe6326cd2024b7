#include "runutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "util.h"

void run_path(char *out, size_t outlen, const char *dir, const char *name) { snprintf(out, outlen, "%s/%s", dir, name); }

void format_duration(double s, char *out, size_t outlen) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(out, outlen, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, outlen, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, outlen, "%ld:%02ld", t / 60, t % 60);
}

#define PLOT_MAX_SERIES 8
#define PLOT_POINTS 1000

int plot_csv(const char *csv_path, const char *png_path, const char *title, char *err, size_t errlen) {
    char *text = read_file(csv_path, NULL, err, errlen);
    if (!text) return -1;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (!line) {
        free(text);
        set_err(err, errlen, "%s: empty", csv_path);
        return -1;
    }
    char *names[PLOT_MAX_SERIES];
    int ns = 0;
    char *hs = NULL;
    strtok_r(line, ",", &hs); /* "step" */
    for (char *h; ns < PLOT_MAX_SERIES && (h = strtok_r(NULL, ",", &hs));) names[ns++] = h;
    size_t cap = 1024, rows = 0;
    double *vals = xmalloc(cap * (size_t)(ns + 1) * sizeof *vals);
    while ((line = strtok_r(NULL, "\n", &save))) {
        if (rows == cap) vals = xrealloc(vals, (cap *= 2) * (size_t)(ns + 1) * sizeof *vals);
        char *p = line;
        for (int k = 0; k <= ns; k++) {
            vals[rows * (size_t)(ns + 1) + (size_t)k] = strtod(p, &p);
            if (*p == ',') p++;
        }
        rows++;
    }
    size_t per = rows > PLOT_POINTS ? (rows + PLOT_POINTS - 1) / PLOT_POINTS : 1;
    size_t np = rows ? (rows + per - 1) / per : 0;
    double *x = xcalloc(np ? np : 1, sizeof *x);
    double *ys[PLOT_MAX_SERIES];
    for (int k = 0; k < ns; k++) ys[k] = xcalloc(np ? np : 1, sizeof(double));
    for (size_t i = 0; i < np; i++) {
        size_t a = i * per, b = a + per < rows ? a + per : rows;
        for (size_t r = a; r < b; r++) {
            x[i] += vals[r * (size_t)(ns + 1)] / (double)(b - a);
            for (int k = 0; k < ns; k++) ys[k][i] += vals[r * (size_t)(ns + 1) + (size_t)k + 1] / (double)(b - a);
        }
    }
    int rc = png_write_plot(png_path, x, (const double *const *)ys, (const char *const *)names, ns, (int)np, 800, 500,
                            title, err, errlen);
    for (int k = 0; k < ns; k++) free(ys[k]);
    free(x);
    free(vals);
    free(text);
    return rc;
}
