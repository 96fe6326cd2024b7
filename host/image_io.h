/* PNG output: image grids (samples during training) and line plots (loss curves). */
#ifndef CLGAN_IMAGE_IO_H
#define CLGAN_IMAGE_IO_H
#include <stddef.h>

/* imgs: n images, each c x h x w floats (c = 1 or 3, planar CHW). Values mapped linearly from [lo, hi] to 0..255, clamped.
   Tiled as rows x cols with `pad` pixels of mid-grey (128) between and around tiles; missing tiles (n < rows*cols) grey.
   Written atomically. The PNG is grey (c = 1) or RGB (c = 3), of size
   (cols*(w+pad)+pad) x (rows*(h+pad)+pad). NaN maps to 0. Returns 0, or -1 with err naming the path. */
int png_write_grid(const char *path, const float *imgs, int n, int c, int h, int w, int rows, int cols, float lo, float hi, int pad, char *err, size_t errlen);

/* A line plot of up to 8 series (y values sharing the x axis given by x[]), white background, axes, series in distinct colours,
   with a legend of the series names and min/max tick labels drawn with stb_easy_font (/usr/include/stb/stb_easy_font.h; rasterise its quads yourself). width x height RGB. NaN/inf values are skipped. Written atomically.
   ys[s] holds npoints values; x may be NULL (then the x values are 0..npoints-1); names and title
   may be NULL. width >= 128, height >= 96. Returns 0, or -1 with err naming the path. */
/* One panel of png_write_panels: series ys[k][i] over x[i] (x NULL: the index), named for the legend;
 * raw (or NULL) drawn pale under them (the unsmoothed values); the axes labelled xlabel and ylabel
 * when not NULL. At most 8 series. */
typedef struct {
    const char *title, *xlabel, *ylabel;
    const double *x;
    const double *const *ys, *const *raw;
    const char *const *names;
    int nseries, npoints;
} plot_panel;
/* npanels plots stacked in one PNG, each width x panel_height. */
int png_write_panels(const char *path, const plot_panel *panels, int npanels, int width, int panel_height, char *err,
                     size_t errlen);
int png_write_plot(const char *path, const double *x, const double *const *ys, const char *const *names, int nseries, int npoints, int width, int height, const char *title, char *err, size_t errlen);

#endif
