/* index.html of a run folder (host/report.h). Everything shown is read back from the folder's files
 * (losses.csv, eval.csv, config.ini, the grid PNGs), so a resumed run, or a run of an older clgan,
 * gets its whole history; the run loop adds only what the files do not hold (state, speed, device). */
#include "report.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_html.h"
#include "runutil.h"
#include "svgplot.h"
#include "util.h"

#define CSV_MAXCOL 32

typedef struct {
    int ncol;
    char *names[CSV_MAXCOL];
    double *v; /* rows x ncol */
    long rows;
    char *last[CSV_MAXCOL]; /* the last row's fields as written */
    char *text;
} csvdata;

/* Reads a CSV with a header (step first). A missing or empty file gives rows = 0. */
static void csv_read(const char *path, csvdata *d) {
    memset(d, 0, sizeof *d);
    char err[256];
    d->text = read_file(path, NULL, err, sizeof err);
    if (!d->text) return;
    char *save = NULL, *line = strtok_r(d->text, "\n", &save);
    if (!line) return;
    char *hs = NULL;
    for (char *h = strtok_r(line, ",\r", &hs); h && d->ncol < CSV_MAXCOL; h = strtok_r(NULL, ",\r", &hs)) d->names[d->ncol++] = h;
    long cap = 1024;
    d->v = xmalloc((size_t)cap * (size_t)d->ncol * sizeof *d->v);
    char *lastline = NULL;
    while ((line = strtok_r(NULL, "\n", &save))) {
        if (d->rows == cap) d->v = xrealloc(d->v, (size_t)(cap *= 2) * (size_t)d->ncol * sizeof *d->v);
        char *p = line;
        for (int k = 0; k < d->ncol; k++) {
            char *end;
            d->v[d->rows * d->ncol + k] = strtod(p, &end);
            if (end == p) d->v[d->rows * d->ncol + k] = NAN;
            p = strchr(end, ',') ? strchr(end, ',') + 1 : end + strlen(end);
        }
        d->rows++;
        lastline = line;
    }
    if (lastline) {
        char *ls = NULL;
        int k = 0;
        for (char *t = strtok_r(lastline, ",\r", &ls); t && k < d->ncol; t = strtok_r(NULL, ",\r", &ls)) d->last[k++] = t;
    }
}

static void csv_free(csvdata *d) {
    free(d->v);
    free(d->text);
}

/* Column k of d as its own array. */
static double *csv_col(const csvdata *d, int k) {
    double *c = xmalloc((size_t)(d->rows ? d->rows : 1) * sizeof *c);
    for (long i = 0; i < d->rows; i++) c[i] = d->v[i * d->ncol + k];
    return c;
}

/* ---- grids ---------------------------------------------------------------------------------------- */

typedef struct {
    char *file, *base; /* "samples_epoch003.png", "samples" */
    char tag[32];      /* "epoch003", "step0000500"; "" for the latest grid */
    long key;          /* the step the tag stands for */
    long epoch;        /* epoch tags: the epoch; -1 otherwise */
} gridfile;

static int grid_cmp(const void *a, const void *b) {
    const gridfile *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1; /* newest first */
    int t = strcmp(x->tag, y->tag);
    return t ? t : strcmp(x->file, y->file);
}

/* "name_epochNNN.png" / "name_stepNNNNNNN.png": a grid of the history (tag and step key set). */
static int parse_tag(const char *file, gridfile *g, long spe, long total) {
    const char *us = strrchr(file, '_');
    if (!us) return 0;
    const char *t = us + 1, *digits;
    int epoch;
    if (!strncmp(t, "epoch", 5)) digits = t + 5, epoch = 1;
    else if (!strncmp(t, "step", 4)) digits = t + 4, epoch = 0;
    else return 0;
    char *end;
    long v = strtol(digits, &end, 10);
    if (end == digits || strcmp(end, ".png")) return 0;
    snprintf(g->tag, sizeof g->tag, "%.*s", (int)(end - t), t);
    g->key = epoch ? (v * spe < total ? v * spe : total) : v; /* the last epoch may be cut short by max_steps */
    g->epoch = epoch ? v : -1;
    g->base = xstrdup(file);
    g->base[us - file] = 0;
    return 1;
}

static int list_grids(const char *dir, long spe, long total, gridfile **out) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 0;
    gridfile *g = NULL;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".png") || e->d_name[0] == '.' || !strcmp(e->d_name, "losses.png") ||
            !strcmp(e->d_name, "eval.png")) /* plots, not grids */
            continue;
        if (n == cap) g = xrealloc(g, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *g);
        memset(&g[n], 0, sizeof g[n]);
        g[n].file = xstrdup(e->d_name);
        if (!parse_tag(e->d_name, &g[n], spe, total)) {
            g[n].base = xstrdup(e->d_name);
            g[n].base[len - 4] = 0;
            g[n].key = -1; /* the latest grids sort after every history entry */
        }
        n++;
    }
    closedir(d);
    if (n) qsort(g, (size_t)n, sizeof *g, grid_cmp);
    *out = g;
    return n;
}

static void img(FILE *f, const char *file, const char *caption, int lazy) {
    fputs("<figure><a href=\"", f);
    html_url(f, file);
    fputs("\"><img src=\"", f);
    html_url(f, file);
    fputs("\" alt=\"", f);
    html_esc(f, caption);
    fprintf(f, "\"%s/></a><figcaption>", lazy ? " loading=\"lazy\"" : "");
    html_esc(f, caption);
    fputs("</figcaption></figure>\n", f);
}

/* ---- the page ------------------------------------------------------------------------------------- */

static void iso_time(time_t t, char *out, size_t n) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void loss_panels(FILE *f, const report_run *r, const csvdata *d) {
    const char *groups[LOSSLOG_MAX];
    int ng = 0;
    for (int i = 0; i < r->nloss; i++) {
        const char *g = r->loss_group && r->loss_group[i] ? r->loss_group[i] : "losses";
        int seen = 0;
        for (int k = 0; k < ng && !seen; k++) seen = !strcmp(groups[k], g);
        if (!seen) groups[ng++] = g;
    }
    double *x = csv_col(d, 0);
    char xlabel[64];
    snprintf(xlabel, sizeof xlabel, "%s", r->unit ? r->unit : "step");
    for (int k = 0; k < ng; k++) {
        double *ys[LOSSLOG_MAX];
        const char *names[LOSSLOG_MAX];
        int ns = 0;
        for (int i = 0; i < r->nloss; i++) {
            const char *g = r->loss_group && r->loss_group[i] ? r->loss_group[i] : "losses";
            if (strcmp(g, groups[k])) continue;
            int col = -1; /* the CSV column of this loss (by name: the file is the truth) */
            for (int c = 1; c < d->ncol && col < 0; c++)
                if (!strcmp(d->names[c], r->loss_names[i])) col = c;
            if (col < 0) continue;
            names[ns] = r->loss_names[i];
            ys[ns++] = csv_col(d, col);
        }
        if (ns) svg_plot(f, groups[k], xlabel, "loss", x, (const double *const *)ys, names, ns, d->rows, 1);
        for (int i = 0; i < ns; i++) free(ys[i]);
    }
    free(x);
}

/* eval.csv: a panel per metric column (not step, epoch or a count of images). */
static void eval_panels(FILE *f, const report_run *r, const csvdata *e) {
    double *x = csv_col(e, 0);
    for (int c = 1; c < e->ncol; c++) {
        if (!strcmp(e->names[c], "epoch") || !strcmp(e->names[c], "images")) continue;
        double *y = csv_col(e, c);
        const char *nm = e->names[c];
        char title[96];
        snprintf(title, sizeof title, "%s (eval.csv)", nm);
        svg_plot(f, title, r->unit ? r->unit : "step", nm, x, (const double *const *)&y, &nm, 1, e->rows, e->rows > 40);
        free(y);
    }
    free(x);
}

static void state_line(FILE *f, const report_run *r, time_t now) {
    const char *unit = r->unit ? r->unit : "step";
    static const char *const cls[] = {"running", "finished", "stopped", "failed"};
    fprintf(f, "<p id=\"state\" class=\"state %s\" data-state=\"%s\" data-updated=\"%lld\" data-cadence=\"%.0f\" "
               "data-where=\"%s %ld of %ld\">",
            cls[r->state], cls[r->state], (long long)now * 1000, r->cadence_s, unit, r->step, r->total);
    long epoch = r->step > 0 ? (r->step - 1) / r->spe + 1 : 1;
    switch (r->state) {
    case REPORT_RUNNING: {
        char left[32] = "?";
        format_duration(r->its > 0 ? (double)(r->total - r->step) / r->its : -1, left, sizeof left);
        fprintf(f, "running: %s %ld of %ld (epoch %ld of %ld)", unit, r->step, r->total, epoch, r->epochs);
        if (r->its > 0) fprintf(f, ", %.3g it/s, about %s left", r->its, left);
        break;
    }
    case REPORT_FINISHED: fprintf(f, "finished: %s %ld of %ld", unit, r->step, r->total); break;
    case REPORT_STOPPED_NAN:
        fputs("stopped: ", f);
        html_esc(f, r->message ? r->message : "a non-finite loss");
        if (r->saved_step >= 0) fprintf(f, "; the last good checkpoint (%s %ld) is kept", r->unit ? r->unit : "step", r->saved_step);
        else fputs(", before any checkpoint was written", f);
        break;
    case REPORT_FAILED:
        fputs("failed: ", f);
        html_esc(f, r->message ? r->message : "error");
        break;
    }
    fputs("</p>\n", f);
}

int report_write_run(const report_run *r, char *err, size_t errlen) {
    char path[4300], title[4400];
    time_t now = time(NULL);
    run_path(path, sizeof path, r->dir, "index.html");
    FILE *f = atomic_open(path, err, errlen);
    if (!f) return -1;
    const char *dirname = strrchr(r->dir, '/') && strrchr(r->dir, '/')[1] ? strrchr(r->dir, '/') + 1 : r->dir;
    snprintf(title, sizeof title, "clgan %s: %s", r->model, dirname);
    int refresh = 0;
    if (r->state == REPORT_RUNNING) refresh = r->cadence_s < 5 ? 5 : r->cadence_s > 120 ? 120 : (int)r->cadence_s;
    html_begin(f, title, refresh);
    fputs("<h1>", f);
    html_esc(f, title);
    fputs("</h1>\n", f);
    state_line(f, r, now);

    char ts[64];
    fputs("<table class=\"info\">\n<tr><th>model</th><td>", f);
    html_esc(f, r->model);
    if (r->summary) {
        fputs(": ", f);
        html_esc(f, r->summary);
    }
    fputs("</td></tr>\n", f);
    if (r->data) {
        fputs("<tr><th>data</th><td>", f);
        html_esc(f, r->data);
        fputs("</td></tr>\n", f);
    }
    fputs("<tr><th>device</th><td>", f);
    html_esc(f, r->device ? r->device : "?");
    fputs("</td></tr>\n", f);
    iso_time(r->started, ts, sizeof ts);
    fprintf(f, "<tr><th>started</th><td id=\"started\" data-started=\"%lld\">%s", (long long)r->started, ts);
    if (r->resumed_from >= 0) fprintf(f, " (this session resumed at %s %ld)", r->unit ? r->unit : "step", r->resumed_from);
    iso_time(now, ts, sizeof ts);
    fprintf(f, "</td></tr>\n<tr><th>page written</th><td>%s</td></tr>\n<tr><th>folder</th><td>", ts);
    html_esc(f, r->dir);
    fputs("</td></tr>\n</table>\n", f);

    /* the last logged row, verbatim from losses.csv */
    csvdata d, e;
    run_path(path, sizeof path, r->dir, "losses.csv");
    csv_read(path, &d);
    fputs("<h2>Losses</h2>\n", f);
    if (d.rows && d.last[0]) {
        fprintf(f, "<table class=\"grid\" id=\"last\"><tr><th>%s</th>", r->unit ? r->unit : "step");
        for (int k = 1; k < d.ncol; k++) {
            fputs("<th>", f);
            html_esc(f, d.names[k]);
            fputs("</th>", f);
        }
        fprintf(f, "</tr>\n<tr><td id=\"last-step\">%s</td>", d.last[0]);
        for (int k = 1; k < d.ncol; k++) {
            fputs("<td class=\"loss\" data-loss=\"", f);
            html_esc(f, d.names[k]);
            fputs("\">", f);
            html_esc(f, d.last[k] ? d.last[k] : "");
            fputs("</td>", f);
        }
        fputs("</tr></table>\n<p>The last row of <a href=\"losses.csv\">losses.csv</a>; the plots draw every row "
              "(pale) and a moving average (dark). PNG copy: <a href=\"losses.png\">losses.png</a>.</p>\n<div class=\"plots\">\n", f);
        loss_panels(f, r, &d);
        fputs("</div>\n", f);
    } else {
        fputs("<p>No losses logged yet.</p>\n", f);
    }
    csv_free(&d);
    run_path(path, sizeof path, r->dir, "eval.csv");
    csv_read(path, &e);
    if (e.rows) {
        fputs("<h2>Evaluation</h2>\n<p>From <a href=\"eval.csv\">eval.csv</a> (a point per measurement; rows ./evaluate "
              "added fill their own columns).", f);
        run_path(path, sizeof path, r->dir, "eval.png");
        struct stat st;
        if (stat(path, &st) == 0) fputs(" PNG copy: <a href=\"eval.png\">eval.png</a>.", f);
        fputs("</p>\n<div class=\"plots\">\n", f);
        eval_panels(f, r, &e);
        fputs("</div>\n", f);
    }
    csv_free(&e);

    gridfile *g = NULL;
    int ng = list_grids(r->dir, r->spe, r->total, &g);
    fputs("<h2>Latest grids</h2>\n<div>\n", f);
    int nlatest = 0;
    for (int i = 0; i < ng; i++)
        if (!g[i].tag[0]) img(f, g[i].file, g[i].base, 0), nlatest++;
    if (!nlatest) fputs("<p>None yet.</p>\n", f);
    fputs("</div>\n<h2>Grid history (newest first)</h2>\n", f);
    int shown = 0;
    for (int i = 0; i < ng;) {
        if (!g[i].tag[0]) {
            i++;
            continue;
        }
        int j = i;
        while (j < ng && g[j].tag[0] && !strcmp(g[j].tag, g[i].tag)) j++;
        /* the newest 8 entries open, the rest folded; images past the first entries load lazily */
        fprintf(f, "<details%s><summary>", shown < 8 ? " open=\"open\"" : "");
        if (g[i].epoch >= 0) fprintf(f, "epoch %ld (%s %ld)", g[i].epoch, r->unit ? r->unit : "step", g[i].key);
        else fprintf(f, "%s %ld", r->unit ? r->unit : "step", g[i].key);
        fputs("</summary>\n", f);
        for (int k = i; k < j; k++) img(f, g[k].file, g[k].file, shown >= 4);
        fputs("</details>\n", f);
        shown++;
        i = j;
    }
    if (!shown) fputs("<p>None yet.</p>\n", f);
    for (int i = 0; i < ng; i++) free(g[i].file), free(g[i].base);
    free(g);

    run_path(path, sizeof path, r->dir, "config.ini");
    char cerr[256];
    char *config = read_file(path, NULL, cerr, sizeof cerr);
    fputs("<h2>Configuration</h2>\n<details><summary>the effective config (<a href=\"config.ini\">config.ini</a>)</summary>\n<pre>", f);
    html_esc(f, config ? config : "(config.ini not readable)");
    fputs("</pre></details>\n", f);
    free(config);
    html_end(f);
    run_path(path, sizeof path, r->dir, "index.html");
    return atomic_commit(f, path, err, errlen);
}

time_t report_first_start(const char *dir) {
    char path[4300], err[256];
    run_path(path, sizeof path, dir, "index.html");
    char *text = read_file(path, NULL, err, sizeof err);
    if (!text) return 0;
    const char *p = strstr(text, "data-started=\"");
    time_t t = p ? (time_t)strtoll(p + 14, NULL, 10) : 0;
    free(text);
    return t;
}
