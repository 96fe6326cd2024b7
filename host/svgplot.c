#include "svgplot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h" /* html_esc: text in the SVG is escaped as in the page */
#include "util.h"

#define SVG_W 560
#define SVG_H 280
#define SVG_BUCKETS 600
/* plot area inside the svg */
#define PL 64
#define PR 16
#define PT 28
#define PB 44

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                      "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

double svg_tick_step(double lo, double hi, int want) {
    double span = hi - lo;
    if (!(span > 0)) return 1;
    double raw = span / (want > 0 ? want : 1), p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* A tick label: %g with few digits, "0" for values within rounding of zero. */
static void tick_label(char *out, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    snprintf(out, n, "%.4g", v);
}

void svg_plot(FILE *f, const char *title, const char *xlabel, const char *ylabel, const double *x,
              const double *const *ys, const char *const *names, int ns, long n, int smooth) {
    /* bucket means (each series on its own finite values) */
    long per = n > SVG_BUCKETS ? (n + SVG_BUCKETS - 1) / SVG_BUCKETS : 1, nb = n > 0 ? (n + per - 1) / per : 0;
    double *bx = xcalloc((size_t)(nb ? nb : 1), sizeof *bx);
    double *by = xcalloc((size_t)(nb ? nb : 1) * (size_t)(ns ? ns : 1), sizeof *by);
    double *sm = xcalloc((size_t)(nb ? nb : 1) * (size_t)(ns ? ns : 1), sizeof *sm);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (long b = 0; b < nb; b++) {
        long a = b * per, e = a + per < n ? a + per : n;
        for (long i = a; i < e; i++) bx[b] += x[i] / (double)(e - a);
        if (bx[b] < xlo) xlo = bx[b];
        if (bx[b] > xhi) xhi = bx[b];
        for (int k = 0; k < ns; k++) {
            double s = 0;
            long c = 0;
            for (long i = a; i < e; i++)
                if (isfinite(ys[k][i])) s += ys[k][i], c++;
            by[k * nb + b] = c ? s / (double)c : NAN;
        }
    }
    /* centred moving average over the buckets */
    long w = smooth ? nb / 40 : 0;
    for (int k = 0; k < ns; k++)
        for (long b = 0; b < nb; b++) {
            double s = 0;
            long c = 0;
            for (long j = b - w; j <= b + w; j++)
                if (j >= 0 && j < nb && isfinite(by[k * nb + j])) s += by[k * nb + j], c++;
            sm[k * nb + b] = c ? s / (double)c : NAN;
            double v = by[k * nb + b];
            if (isfinite(v) && v < ylo) ylo = v;
            if (isfinite(v) && v > yhi) yhi = v;
        }
    if (!(xhi >= xlo)) xlo = 0, xhi = 1;
    if (!(yhi >= ylo)) ylo = 0, yhi = 1;
    if (xhi == xlo) xhi = xlo + 1;
    if (yhi == ylo) yhi = ylo + (ylo != 0 ? fabs(ylo) * 0.1 : 1), ylo -= (yhi - ylo) * 0.5;
    double pad = (yhi - ylo) * 0.05;
    ylo -= pad, yhi += pad;
    const double pw = SVG_W - PL - PR, ph = SVG_H - PT - PB;
#define SX(v) (PL + ((v) - xlo) / (xhi - xlo) * pw)
#define SY(v) (PT + (yhi - (v)) / (yhi - ylo) * ph)
    fprintf(f, "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fputs("<title>", f);
    html_esc(f, title);
    fputs("</title>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\" stroke=\"#999\"/>\n", PL, PT, pw, ph);
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">", PL);
    html_esc(f, title);
    fputs("</text>\n", f);
    /* ticks and grid lines */
    char lab[32];
    double st = svg_tick_step(xlo, xhi, 6);
    for (double v = ceil(xlo / st) * st; v <= xhi + st * 1e-9; v += st) {
        tick_label(lab, sizeof lab, v, st);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#eee\"/>"
                   "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
                SX(v), PT, SX(v), PT + ph, SX(v), PT + ph + 14, lab);
    }
    st = svg_tick_step(ylo, yhi, 5);
    for (double v = ceil(ylo / st) * st; v <= yhi + st * 1e-9; v += st) {
        tick_label(lab, sizeof lab, v, st);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                   "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
                PL, SY(v), PL + pw, SY(v), PL - 4, SY(v) + 4, lab);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">", PL + pw / 2, SVG_H - 8);
    html_esc(f, xlabel);
    fputs("</text>\n", f);
    fprintf(f, "<text x=\"14\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.0f)\">",
            PT + ph / 2, PT + ph / 2);
    html_esc(f, ylabel);
    fputs("</text>\n", f);
    /* lines: raw pale, smoothed over it; a gap where a bucket has no finite value */
    for (int pass = 0; pass < (w > 0 ? 2 : 1); pass++)
        for (int k = 0; k < ns; k++) {
            const double *v = pass ? sm + k * nb : by + k * nb;
            const char *col = colours[k % 10];
            fprintf(f, "<path class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" stroke-opacity=\"%s\" d=\"",
                    pass ? "smooth" : "raw", col, pass || w == 0 ? "1.8" : "1", pass || w == 0 ? "1" : "0.35");
            int pen = 0;
            for (long b = 0; b < nb; b++) {
                if (!isfinite(v[b])) {
                    pen = 0;
                    continue;
                }
                fprintf(f, "%c%.1f %.1f", pen ? 'L' : 'M', SX(bx[b]), SY(v[b]));
                pen = 1;
            }
            fputs("\"/>\n", f);
        }
    /* legend, top right */
    for (int k = 0; k < ns; k++) {
        double ly = PT + 14 + 15 * k;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"/>"
                   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">",
                PL + pw - 110, ly - 4, PL + pw - 92, ly - 4, colours[k % 10], PL + pw - 88, ly);
        html_esc(f, names[k]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
#undef SX
#undef SY
    free(bx);
    free(by);
    free(sm);
}
