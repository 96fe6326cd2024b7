/* index.html of a ./translate output folder (host/report.h): a table of inputs beside their outputs. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "report.h"
#include "report_html.h"
#include "runutil.h"
#include "safetensors.h"
#include "util.h"

/* out = the path of `to` relative to the folder `from` (both made absolute); `to` as given if either
 * cannot be resolved. */
static void rel_path(const char *from, const char *to, char *out, size_t n) {
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(from, a) || !realpath(to, b)) {
        snprintf(out, n, "%s", to);
        return;
    }
    size_t common = 0; /* length of the shared leading folders */
    for (size_t i = 0; a[i] && a[i] == b[i]; i++)
        if (a[i] == '/' || (a[i + 1] == 0 && b[i + 1] == '/')) common = a[i] == '/' ? i : i + 1;
    if (a[common] == 0 && b[common] == '/') { /* to lies under from */
        snprintf(out, n, "%s", b + common + 1);
        return;
    }
    out[0] = 0;
    size_t len = 0;
    for (const char *p = a + common; *p; p++)
        if (*p == '/' && len + 4 < n) memcpy(out + len, "../", 4), len += 3;
    snprintf(out + len, n - len, "%s", b + common + 1);
}

static void cell_image(FILE *f, const char *outdir, const char *file, int lazy) {
    int w, h;
    char err[256];
    image_prep native = {.channels = 3}; /* the file's own size */
    if (image_probe(file, &native, &h, &w, err, sizeof err) != 0) {
        fputs("<td class=\"missing\">skipped</td><td></td>", f);
        return;
    }
    char rel[PATH_MAX];
    rel_path(outdir, file, rel, sizeof rel);
    fputs("<td><a href=\"", f); /* the page's style shows every image 128 pixels high */
    html_url(f, rel);
    fputs("\"><img src=\"", f);
    html_url(f, rel);
    fprintf(f, "\" alt=\"\"%s/></a></td><td>%dx%d</td>", lazy ? " loading=\"lazy\"" : "", w, h);
}

int report_translation(const char *outdir, const char *checkpoint, const char *direction, const char *what,
                       const char *const *inputs, const char *const *outputs, int n, int per, char *err,
                       size_t errlen) {
    char path[4300], step[32] = "?";
    st_file st;
    if (st_load(checkpoint, &st, err, errlen) == 0) {
        const char *s = st_meta(&st, "step");
        if (s) snprintf(step, sizeof step, "%s", s);
        st_free(&st);
    }
    run_path(path, sizeof path, outdir, "index.html");
    FILE *f = atomic_open(path, err, errlen);
    if (!f) return -1;
    html_begin(f, "clgan translations", 0);
    char ck[PATH_MAX];
    rel_path(outdir, checkpoint, ck, sizeof ck);
    fputs("<h1>clgan translations</h1>\n<table class=\"info\">\n<tr><th>checkpoint</th><td><a href=\"", f);
    html_url(f, ck);
    fputs("\">", f);
    html_esc(f, checkpoint);
    fprintf(f, "</a></td></tr>\n<tr><th>step</th><td id=\"ckpt-step\">%s</td></tr>\n<tr><th>direction</th><td>", step);
    html_esc(f, direction ? direction : "");
    fputs("</td></tr>\n", f);
    if (what) {
        fputs("<tr><th>network</th><td>", f);
        html_esc(f, what);
        fputs("</td></tr>\n", f);
    }
    fprintf(f, "<tr><th>inputs</th><td id=\"count\">%d</td></tr>\n</table>\n", n);
    fputs("<table class=\"grid\" id=\"translations\">\n<tr><th>#</th><th>name</th><th>input</th><th>size</th>", f);
    for (int j = 0; j < per; j++) fprintf(f, "<th>%s</th><th>size</th>", per > 1 ? "sample" : "output");
    fputs("</tr>\n", f);
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(inputs[i], '/') ? strrchr(inputs[i], '/') + 1 : inputs[i];
        fprintf(f, "<tr><td>%d</td><td class=\"name\">", i + 1);
        html_esc(f, base);
        fputs("</td>", f);
        int lazy = i >= 48; /* thousands of rows: only the first screens load at once */
        cell_image(f, outdir, inputs[i], lazy);
        for (int j = 0; j < per; j++) cell_image(f, outdir, outputs[(size_t)i * per + j], lazy);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    html_end(f);
    return atomic_commit(f, path, err, errlen);
}
