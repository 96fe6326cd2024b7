/* Line plots as SVG text (axes, ticks, labels and legend as <text>), for the run report's pages. */
#ifndef CLGAN_SVGPLOT_H
#define CLGAN_SVGPLOT_H
#include <stdio.h>

/* Writes one <svg> element to f: the n points (x[i], ys[k][i]) of each of ns series, averaged into at
 * most 600 buckets, drawn thin and pale, with a moving average over about 1/20 of the buckets drawn
 * over them in the same colour (smooth = 0: the raw line alone). Non-finite values are skipped.
 * Axes are labelled xlabel and ylabel; names[k] goes in the legend. */
void svg_plot(FILE *f, const char *title, const char *xlabel, const char *ylabel, const double *x,
              const double *const *ys, const char *const *names, int ns, long n, int smooth);

/* "nice" tick step (1, 2 or 5 times a power of ten) giving about `want` ticks over [lo, hi]. */
double svg_tick_step(double lo, double hi, int want);

#endif
