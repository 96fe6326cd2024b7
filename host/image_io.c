#include "image_io.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Static, so that another file (a test, a tool) may carry its own copy of the implementation. */
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <stb_easy_font.h>

#define MAX_PIXELS (1 << 28)   /* keeps every byte count inside stb's int arithmetic */

/* ---- PNG encoding into memory, then an atomic write ---- */

typedef struct { unsigned char *p; size_t n, cap; } membuf;

static void membuf_write(void *ctx, void *data, int size) {
    membuf *b = ctx;
    if (size <= 0) return;
    if (b->n + (size_t)size > b->cap) {
        while (b->n + (size_t)size > b->cap) b->cap = b->cap ? 2 * b->cap : 1 << 16;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

static int write_png(const char *path, const unsigned char *pix, int w, int h, int comp, char *err,
                     size_t errlen) {
    membuf b = {0};
    int ok = stbi_write_png_to_func(membuf_write, &b, w, h, comp, pix, w * comp);
    int rc = -1;
    if (!ok || !b.n)
        set_err(err, errlen, "%s: PNG encoding failed (%dx%d, %d channels)", path, w, h, comp);
    else
        rc = write_file_atomic(path, b.p, b.n, err, errlen);
    free(b.p);
    return rc;
}

/* ---- image grid ---- */

static unsigned char to_byte(float v, float lo, float scale) {
    float t = (v - lo) * scale;
    if (!(t > 0)) return 0;   /* also NaN */
    if (t >= 255) return 255;
    return (unsigned char)(t + 0.5f);
}

int png_write_grid(const char *path, const float *imgs, int n, int c, int h, int w, int rows, int cols,
                   float lo, float hi, int pad, char *err, size_t errlen) {
    if ((c != 1 && c != 3) || h < 1 || w < 1 || rows < 1 || cols < 1 || pad < 0 || n < 0 ||
        (n > 0 && !imgs)) {
        set_err(err, errlen, "%s: bad grid arguments (n=%d c=%d h=%d w=%d rows=%d cols=%d pad=%d)",
                path, n, c, h, w, rows, cols, pad);
        return -1;
    }
    if ((long long)n > (long long)rows * cols) {
        set_err(err, errlen, "%s: %d images do not fit a %dx%d grid", path, n, rows, cols);
        return -1;
    }
    if (!isfinite(lo) || !isfinite(hi) || lo == hi) {
        set_err(err, errlen, "%s: bad value range [%g, %g]", path, lo, hi);
        return -1;
    }
    long long W = (long long)cols * (w + pad) + pad, H = (long long)rows * (h + pad) + pad;
    if (W * H * c > MAX_PIXELS) {
        set_err(err, errlen, "%s: grid of %lldx%lld pixels is too large", path, W, H);
        return -1;
    }
    unsigned char *pix = xmalloc((size_t)(W * H * c));
    memset(pix, 128, (size_t)(W * H * c));
    float scale = 255.0f / (hi - lo);
    for (int i = 0; i < n; i++) {
        long long y0 = pad + (long long)(i / cols) * (h + pad), x0 = pad + (long long)(i % cols) * (w + pad);
        const float *img = imgs + (size_t)i * c * h * w;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    pix[((y0 + y) * W + x0 + x) * c + ch] = to_byte(img[((size_t)ch * h + y) * w + x], lo, scale);
    }
    int rc = write_png(path, pix, (int)W, (int)H, c, err, errlen);
    free(pix);
    return rc;
}

/* ---- a tiny RGB canvas for plots ---- */

typedef struct { unsigned char *p; int w, h; } canvas;
typedef struct { unsigned char r, g, b; } rgb;

static const rgb WHITE = {255, 255, 255}, BLACK = {0, 0, 0}, GREY = {150, 150, 150};
static const rgb SERIES[8] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                              {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};

static void fill_rect(canvas *cv, int x0, int y0, int x1, int y1, rgb c) {   /* [x0,x1) x [y0,y1) */
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > cv->w) x1 = cv->w;
    if (y1 > cv->h) y1 = cv->h;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            unsigned char *q = cv->p + 3 * ((size_t)y * cv->w + x);
            q[0] = c.r, q[1] = c.g, q[2] = c.b;
        }
}

/* Bresenham; each point is a thick x thick square. */
static void draw_line(canvas *cv, int x0, int y0, int x1, int y1, rgb c, int thick) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        fill_rect(cv, x0, y0, x0 + thick, y0 + thick, c);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; x0 += sx; }
        if (e2 <= dx) { e += dx; y0 += sy; }
    }
}

/* stb_easy_font indexes its tables by (char - 32): keep to printable ASCII. */
static void font_text(char *out, size_t outlen, const char *s) {
    size_t i = 0;
    for (; s && s[i] && i + 1 < outlen; i++) out[i] = s[i] >= 32 && s[i] <= 126 ? s[i] : '?';
    out[i] = '\0';
}

static int text_width(const char *s, int scale) {
    char t[256];
    font_text(t, sizeof t, s);
    return stb_easy_font_width(t) * scale;
}

/* Draws s with its top-left corner at (x, y), each font pixel a scale x scale square. */
static void draw_text(canvas *cv, int x, int y, const char *s, rgb c, int scale) {
    char t[256];
    font_text(t, sizeof t, s);
    int vlen = 1024 * (int)(strlen(t) + 1);   /* 64 bytes a quad, at most ~10 quads a character */
    char *vbuf = xmalloc((size_t)vlen);
    int nq = stb_easy_font_print(0, 0, t, NULL, vbuf, vlen);
    for (int q = 0; q < nq; q++) {
        float qx0 = 1e9f, qy0 = 1e9f, qx1 = -1e9f, qy1 = -1e9f;
        for (int v = 0; v < 4; v++) {
            float vx, vy;
            memcpy(&vx, vbuf + 16 * (4 * q + v), sizeof vx);
            memcpy(&vy, vbuf + 16 * (4 * q + v) + 4, sizeof vy);
            qx0 = fminf(qx0, vx), qx1 = fmaxf(qx1, vx), qy0 = fminf(qy0, vy), qy1 = fmaxf(qy1, vy);
        }
        fill_rect(cv, x + (int)qx0 * scale, y + (int)qy0 * scale, x + (int)qx1 * scale,
                  y + (int)qy1 * scale, c);
    }
    free(vbuf);
}

/* ---- plot ---- */

typedef struct { double lo, hi; } range;

static void widen(range *r) {
    if (!(r->lo <= r->hi)) { r->lo = 0, r->hi = 1; return; }   /* no finite values */
    if (r->lo == r->hi) {
        double d = fabs(r->lo) * 0.05;
        if (!(d > 0) || !isfinite(r->lo + d) || r->lo - d == r->lo) d = 0.5;
        r->lo -= d, r->hi += d;
    }
}

static double xval(const double *x, int i) { return x ? x[i] : (double)i; }

static void data_ranges(const double *x, const double *const *ys, int nseries, int npoints, range *rx,
                        range *ry) {
    *rx = (range){INFINITY, -INFINITY};
    *ry = *rx;
    for (int s = 0; s < nseries; s++)
        for (int i = 0; i < npoints; i++) {
            double xv = xval(x, i), yv = ys[s][i];
            if (!isfinite(xv) || !isfinite(yv)) continue;
            rx->lo = fmin(rx->lo, xv), rx->hi = fmax(rx->hi, xv);
            ry->lo = fmin(ry->lo, yv), ry->hi = fmax(ry->hi, yv);
        }
    widen(rx);
    widen(ry);
}

typedef struct { int x0, y0, x1, y1, inset; range rx, ry; } plot_area;

static int map_x(const plot_area *a, double v) {
    double t = (v - a->rx.lo) / (a->rx.hi - a->rx.lo);
    return a->x0 + a->inset + (int)lround(fmin(fmax(t, 0), 1) * (a->x1 - a->x0 - 2 * a->inset));
}

static int map_y(const plot_area *a, double v) {
    double t = (v - a->ry.lo) / (a->ry.hi - a->ry.lo);
    return a->y1 - a->inset - (int)lround(fmin(fmax(t, 0), 1) * (a->y1 - a->y0 - 2 * a->inset));
}

static void draw_series(canvas *cv, const plot_area *a, const double *x, const double *y, int npoints,
                        rgb c, int thick) {
    for (int i = 0; i < npoints; i++) {
        int ok = isfinite(xval(x, i)) && isfinite(y[i]);
        if (!ok) continue;
        int px = map_x(a, xval(x, i)), py = map_y(a, y[i]);
        int prev = i > 0 && isfinite(xval(x, i - 1)) && isfinite(y[i - 1]);
        int next = i + 1 < npoints && isfinite(xval(x, i + 1)) && isfinite(y[i + 1]);
        if (prev) draw_line(cv, map_x(a, xval(x, i - 1)), map_y(a, y[i - 1]), px, py, c, thick);
        else if (!next) fill_rect(cv, px - thick, py - thick, px + thick + 1, py + thick + 1, c);   /* lone point */
    }
}

static void draw_legend(canvas *cv, const plot_area *a, const char *const *names, int nseries, int s) {
    char label[8][32];
    const char *txt[8];
    int tw = 0;
    for (int k = 0; k < nseries; k++) {
        snprintf(label[k], sizeof label[k], "series %d", k);
        txt[k] = names && names[k] ? names[k] : label[k];
        int wk = text_width(txt[k], s);
        if (wk > tw) tw = wk;
    }
    int bw = tw + 24 * s, bh = nseries * 12 * s + 6 * s;
    int bx = a->x1 - bw - 6 * s, by = a->y0 + 6 * s;
    fill_rect(cv, bx, by, bx + bw, by + bh, GREY);
    fill_rect(cv, bx + 1, by + 1, bx + bw - 1, by + bh - 1, WHITE);
    for (int k = 0; k < nseries; k++) {
        int ly = by + 4 * s + 12 * s * k;
        fill_rect(cv, bx + 4 * s, ly + 3 * s, bx + 18 * s, ly + 5 * s, SERIES[k]);
        draw_text(cv, bx + 21 * s, ly, txt[k], BLACK, s);
    }
}

static int check_plot_args(const char *path, const double *const *ys, int nseries, int npoints,
                           int width, int height, char *err, size_t errlen) {
    if (nseries < 0 || nseries > 8 || npoints < 0 || (nseries > 0 && !ys)) {
        set_err(err, errlen, "%s: bad plot arguments (nseries=%d, npoints=%d; at most 8 series)", path,
                nseries, npoints);
        return -1;
    }
    for (int s = 0; s < nseries; s++)
        if (npoints > 0 && !ys[s]) {
            set_err(err, errlen, "%s: series %d has no values", path, s);
            return -1;
        }
    if (width < 128 || height < 96 || (long long)width * height * 3 > MAX_PIXELS) {
        set_err(err, errlen, "%s: bad plot size %dx%d (at least 128x96)", path, width, height);
        return -1;
    }
    return 0;
}

/* The pale copy of a series colour (the raw values under a smoothed line). */
static rgb pale(rgb c) { return (rgb){(unsigned char)(c.r + (255 - c.r) * 2 / 3), (unsigned char)(c.g + (255 - c.g) * 2 / 3),
                                      (unsigned char)(c.b + (255 - c.b) * 2 / 3)}; }

/* One plot in the width x height box at (ox, oy) of cv: axes with end ticks labelled with the data's
 * range, xlabel under the x axis and ylabel above the y axis (when given), raw series pale (when raw is
 * not NULL) under ys, a legend. */
static void draw_plot(canvas *cv, int ox, int oy, int width, int height, const plot_panel *p) {
    int s = width >= 800 && height >= 500 ? 2 : 1; /* font and line scale */
    plot_area a = {.inset = 3 * s};
    data_ranges(p->x, p->raw ? p->raw : p->ys, p->nseries, p->npoints, &a.rx, &a.ry);
    char ylo[32], yhi[32], xlo[32], xhi[32];
    snprintf(ylo, sizeof ylo, "%.4g", a.ry.lo);
    snprintf(yhi, sizeof yhi, "%.4g", a.ry.hi);
    snprintf(xlo, sizeof xlo, "%.4g", a.rx.lo);
    snprintf(xhi, sizeof xhi, "%.4g", a.rx.hi);

    int wl = text_width(ylo, s), wh = text_width(yhi, s), top = p->ylabel ? 10 * s : 0;
    a.x0 = ox + (wl > wh ? wl : wh) + 8 * s;
    a.x1 = ox + width - 10 * s;
    a.y0 = oy + top + (p->title && *p->title ? 20 * s : 10 * s);
    a.y1 = oy + height - (p->xlabel ? 28 : 18) * s;

    if (p->title && *p->title) draw_text(cv, ox + (width - text_width(p->title, s)) / 2, oy + 5 * s, p->title, BLACK, s);
    if (p->ylabel) draw_text(cv, ox + 2 * s, a.y0 - 11 * s, p->ylabel, BLACK, s);
    /* Axes with tick marks at the ends of both ranges, labelled with the min and max. */
    fill_rect(cv, a.x0 - s, a.y0, a.x0, a.y1 + s, BLACK);
    fill_rect(cv, a.x0 - s, a.y1, a.x1, a.y1 + s, BLACK);
    int tx0 = a.x0 + a.inset, tx1 = a.x1 - a.inset, ty0 = a.y0 + a.inset, ty1 = a.y1 - a.inset;
    fill_rect(cv, a.x0 - 4 * s, ty0, a.x0, ty0 + s, BLACK);
    fill_rect(cv, a.x0 - 4 * s, ty1, a.x0, ty1 + s, BLACK);
    fill_rect(cv, tx0, a.y1, tx0 + s, a.y1 + 4 * s, BLACK);
    fill_rect(cv, tx1, a.y1, tx1 + s, a.y1 + 4 * s, BLACK);
    draw_text(cv, a.x0 - 5 * s - wh, ty0 - 3 * s, yhi, BLACK, s);
    draw_text(cv, a.x0 - 5 * s - wl, ty1 - 3 * s, ylo, BLACK, s);
    draw_text(cv, tx0 - 2 * s, a.y1 + 6 * s, xlo, BLACK, s);
    draw_text(cv, tx1 - text_width(xhi, s) + 2 * s, a.y1 + 6 * s, xhi, BLACK, s);
    if (p->xlabel) draw_text(cv, (a.x0 + a.x1 - text_width(p->xlabel, s)) / 2, a.y1 + 16 * s, p->xlabel, BLACK, s);

    if (p->raw)
        for (int k = 0; k < p->nseries; k++) draw_series(cv, &a, p->x, p->raw[k], p->npoints, pale(SERIES[k]), s);
    for (int k = 0; k < p->nseries; k++) draw_series(cv, &a, p->x, p->ys[k], p->npoints, SERIES[k], s);
    if (p->nseries > 0) draw_legend(cv, &a, p->names, p->nseries, s);
}

int png_write_plot(const char *path, const double *x, const double *const *ys, const char *const *names,
                   int nseries, int npoints, int width, int height, const char *title, char *err,
                   size_t errlen) {
    plot_panel p = {.title = title, .x = x, .ys = ys, .names = names, .nseries = nseries, .npoints = npoints};
    return png_write_panels(path, &p, 1, width, height, err, errlen);
}

int png_write_panels(const char *path, const plot_panel *panels, int npanels, int width, int panel_height, char *err,
                     size_t errlen) {
    if (npanels < 1 || npanels > 32) {
        set_err(err, errlen, "%s: %d plot panels (1 to 32)", path, npanels);
        return -1;
    }
    for (int i = 0; i < npanels; i++) {
        const plot_panel *p = &panels[i];
        if (check_plot_args(path, p->ys, p->nseries, p->npoints, width, panel_height, err, errlen) != 0 ||
            (p->raw && check_plot_args(path, p->raw, p->nseries, p->npoints, width, panel_height, err, errlen) != 0))
            return -1;
    }
    int height = npanels * panel_height;
    if ((long long)width * height * 3 > MAX_PIXELS) {
        set_err(err, errlen, "%s: bad plot size %dx%d", path, width, height);
        return -1;
    }
    canvas cv = {xmalloc((size_t)width * height * 3), width, height};
    memset(cv.p, 255, (size_t)width * height * 3);
    for (int i = 0; i < npanels; i++) draw_plot(&cv, 0, i * panel_height, width, panel_height, &panels[i]);
    int rc = write_png(path, cv.p, width, height, 3, err, errlen);
    free(cv.p);
    return rc;
}
