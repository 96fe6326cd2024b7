#include "runutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

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

#define PLOT_MAX_COLS 32  /* losses.csv columns after "step" (LOSSLOG_MAX is 16) */
#define PLOT_POINTS 1000  /* rows are averaged into at most this many points */
#define PLOT_PANEL_SERIES 8

/* Centred moving average of n values over a window of w (the smoothed line over the raw one), as the
 * run page's SVG plots: a trailing average lags behind a falling loss and is drawn above its raw line. */
static void smooth(const double *v, double *out, size_t n, size_t w) {
    size_t h = w / 2;
    for (size_t i = 0; i < n; i++) {
        size_t a = i > h ? i - h : 0, b = i + h < n ? i + h : n - 1, cnt = 0;
        double sum = 0;
        for (size_t j = a; j <= b; j++)
            if (isfinite(v[j])) sum += v[j], cnt++;
        out[i] = cnt ? sum / (double)cnt : NAN;
    }
}

int plot_csv(const char *csv_path, const char *png_path, const char *title, const char *const *groups, char *err,
             size_t errlen) {
    char *text = read_file(csv_path, NULL, err, errlen);
    if (!text) return -1;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (!line) {
        free(text);
        set_err(err, errlen, "%s: empty", csv_path);
        return -1;
    }
    char *names[PLOT_MAX_COLS];
    int ns = 0;
    char *hs = NULL;
    strtok_r(line, ",", &hs); /* "step" */
    for (char *h; ns < PLOT_MAX_COLS && (h = strtok_r(NULL, ",", &hs));) names[ns++] = h;
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
    double *raw[PLOT_MAX_COLS], *sm[PLOT_MAX_COLS];
    for (int k = 0; k < ns; k++) raw[k] = xcalloc(np ? np : 1, sizeof(double)), sm[k] = xcalloc(np ? np : 1, sizeof(double));
    for (size_t i = 0; i < np; i++) {
        size_t a = i * per, b = a + per < rows ? a + per : rows;
        for (size_t r = a; r < b; r++) {
            x[i] += vals[r * (size_t)(ns + 1)] / (double)(b - a);
            for (int k = 0; k < ns; k++) raw[k][i] += vals[r * (size_t)(ns + 1) + (size_t)k + 1] / (double)(b - a);
        }
    }
    size_t w = np / 20 > 1 ? np / 20 : 1; /* 5% of the points */
    for (int k = 0; k < ns; k++) smooth(raw[k], sm[k], np, w);
    /* One panel per group, in the order the groups first appear (up to 8 series a panel). */
    plot_panel panels[PLOT_MAX_COLS];
    const double *pys[PLOT_MAX_COLS][PLOT_PANEL_SERIES], *praw[PLOT_MAX_COLS][PLOT_PANEL_SERIES];
    const char *pnames[PLOT_MAX_COLS][PLOT_PANEL_SERIES], *ptitle[PLOT_MAX_COLS];
    char titles[PLOT_MAX_COLS][160];
    int npanels = 0, done[PLOT_MAX_COLS] = {0};
    for (int k = 0; k < ns; k++) {
        if (done[k]) continue;
        const char *g = groups && groups[k] ? groups[k] : NULL;
        int pi = npanels++, n = 0;
        for (int j = k; j < ns && n < PLOT_PANEL_SERIES; j++) {
            const char *gj = groups && groups[j] ? groups[j] : NULL;
            if (done[j] || (g ? !gj || strcmp(g, gj) : gj != NULL)) continue;
            done[j] = 1, pys[pi][n] = sm[j], praw[pi][n] = raw[j], pnames[pi][n] = names[j], n++;
        }
        if (g) snprintf(titles[pi], sizeof titles[pi], "%s: %s", title, g);
        else snprintf(titles[pi], sizeof titles[pi], "%s", title);
        ptitle[pi] = titles[pi];
        panels[pi] = (plot_panel){.title = ptitle[pi], .xlabel = "step", .ylabel = "value (pale: raw, dark: moving average)",
                                  .x = x, .ys = pys[pi], .raw = praw[pi], .names = pnames[pi], .nseries = n,
                                  .npoints = (int)np};
    }
    int rc = ns ? png_write_panels(png_path, panels, npanels, 800, npanels > 1 ? 320 : 500, err, errlen)
                : png_write_plot(png_path, x, NULL, NULL, 0, (int)np, 800, 500, title, err, errlen);
    for (int k = 0; k < ns; k++) free(raw[k]), free(sm[k]);
    free(x);
    free(vals);
    free(text);
    return rc;
}

int plot_eval_csv(const char *csv_path, const char *png_path, const char *title, int *written, char *err, size_t errlen) {
    if (written) *written = 0;
    if (access(csv_path, F_OK) != 0) return 0;
    char *text = read_file(csv_path, NULL, err, errlen);
    if (!text) return -1;
    char *save = NULL, *line = strtok_r(text, "\n", &save), *names[PLOT_MAX_COLS], *hs = NULL;
    int ns = 0;
    if (line) {
        strtok_r(line, ",\r", &hs); /* "step" */
        for (char *h; ns < PLOT_MAX_COLS && (h = strtok_r(NULL, ",\r", &hs));) names[ns++] = h;
    }
    size_t cap = 256, rows = 0;
    double *vals = xmalloc(cap * (size_t)(ns + 1) * sizeof *vals);
    while (line && (line = strtok_r(NULL, "\n", &save))) {
        if (rows == cap) vals = xrealloc(vals, (cap *= 2) * (size_t)(ns + 1) * sizeof *vals);
        char *p = line;
        for (int k = 0; k <= ns; k++) {
            char *end;
            double v = strtod(p, &end);
            vals[rows * (size_t)(ns + 1) + (size_t)k] = end == p ? NAN : v; /* an empty cell: no point */
            p = strchr(end, ',') ? strchr(end, ',') + 1 : end + strlen(end);
        }
        rows++;
    }
    double *x = xcalloc(rows ? rows : 1, sizeof *x), *y[PLOT_MAX_COLS];
    plot_panel panels[PLOT_MAX_COLS];
    const double *pys[PLOT_MAX_COLS][1];
    const char *pnames[PLOT_MAX_COLS][1];
    char titles[PLOT_MAX_COLS][160];
    int np = 0, rc = 0;
    for (size_t r = 0; r < rows; r++) x[r] = vals[r * (size_t)(ns + 1)];
    for (int k = 0; k < ns; k++) {
        if (!strcmp(names[k], "epoch") || !strcmp(names[k], "images")) continue;
        y[np] = xmalloc((rows ? rows : 1) * sizeof(double));
        for (size_t r = 0; r < rows; r++) y[np][r] = vals[r * (size_t)(ns + 1) + (size_t)k + 1];
        snprintf(titles[np], sizeof titles[np], "%s: %s", title, names[k]);
        pys[np][0] = y[np], pnames[np][0] = names[k];
        panels[np] = (plot_panel){.title = titles[np], .xlabel = "step", .ylabel = names[k], .x = x, .ys = pys[np],
                                  .names = pnames[np], .nseries = 1, .npoints = (int)rows};
        np++;
    }
    if (rows && np) {
        rc = png_write_panels(png_path, panels, np, 800, np > 1 ? 320 : 500, err, errlen);
        if (rc == 0 && written) *written = 1;
    }
    for (int k = 0; k < np; k++) free(y[k]);
    free(x);
    free(vals);
    free(text);
    return rc;
}

/* ---- the run folder's lock ---- */

int run_lock(const char *dir, char *err, size_t errlen) {
    char path[4096];
    run_path(path, sizeof path, dir, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        set_err(err, errlen, "%s: cannot open the run folder's lock: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[256] = "";
        ssize_t n = e == EWOULDBLOCK ? pread(fd, who, sizeof who - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK) {
            set_err(err, errlen, "%s: cannot lock: %s", path, strerror(e));
            return -1;
        }
        who[n > 0 ? n : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        set_err(err, errlen, "%s is in use by another run: %s (lock %s)", dir, *who ? who : "holder unknown", path);
        return -1;
    }
    /* The holder's identity, for the message above; written after the lock is ours. */
    char host[128] = "?", when[64] = "?", line[320];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int len = snprintf(line, sizeof line, "pid %ld on %s, started %s\n", (long)getpid(), host, when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
        set_err(err, errlen, "%s: cannot write the lock holder: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The file stays: removing it would let a third run lock a new file while a second waits on the old. */
void run_unlock(int fd) {
    if (fd >= 0) close(fd);
}
