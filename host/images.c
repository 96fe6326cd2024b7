#include "images.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_io.h"
#include "util.h"

/* Static, so that a test or a tool may carry its own copy of the implementations. */
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
/* stb_image 2.27 declares this but defines it under another name (stbi__...): with
 * STB_IMAGE_STATIC that is a "declared static but never defined" warning. Define it. */
static void __attribute__((unused)) stbi_set_unpremultiply_on_load_thread(int flag) {
    stbi__unpremultiply_on_load_thread(flag);
}

#define MAX_SIDE 16384   /* load_size / crop_size beyond this is a typo, not a dataset */

/* ---- listing ---- */

static int has_image_ext(const char *name) {
    static const char *const exts[] = {".png", ".jpg", ".jpeg", ".bmp"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (!strcasecmp(dot, exts[i])) return 1;
    return 0;
}

static char *join_path(const char *dir, const char *name) {
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dl > 0 && dir[dl - 1] != '/';
    char *p = xmalloc(dl + (size_t)slash + nl + 1);
    memcpy(p, dir, dl);
    if (slash) p[dl] = '/';
    memcpy(p + dl + (size_t)slash, name, nl + 1);
    return p;
}

static int is_regular(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_list_dir(const char *dir, image_list *out, char *err, size_t errlen) {
    out->paths = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        set_err(err, errlen, "%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    int cap = 0;
    struct dirent *e;
    for (;;) {
        errno = 0;
        if (!(e = readdir(d))) break;
        if (!has_image_ext(e->d_name)) continue;
        char *p = join_path(dir, e->d_name);
        if (!is_regular(p) || out->n == 0x7fffffff) { free(p); continue; }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            out->paths = xrealloc(out->paths, sizeof(char *) * (size_t)cap);
        }
        out->paths[out->n++] = p;
    }
    int read_errno = errno;
    closedir(d);
    if (read_errno) {
        set_err(err, errlen, "%s: cannot read folder: %s", dir, strerror(read_errno));
        image_list_free(out);
        return -1;
    }
    if (out->n == 0) {
        set_err(err, errlen, "%s: no images (.png .jpg .jpeg .bmp)", dir);
        image_list_free(out);
        return -1;
    }
    qsort(out->paths, (size_t)out->n, sizeof(char *), cmp_paths);
    return 0;
}

void image_list_free(image_list *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = 0;
}

/* ---- geometry ---- */

static const char *or_image(const char *path) { return path ? path : "image"; }

/* Columns [*x0, *x0 + *rw) of an image nw wide that the split keeps. */
static void split_columns(int split, int nw, int *x0, int *rw) {
    *x0 = split == 2 ? nw / 2 : 0;
    *rw = split == 0 ? nw : split == 1 ? nw / 2 : nw - nw / 2;
}

int image_prep_size(const char *path, const image_prep *p, int nh, int nw, int *h, int *w, char *err,
                    size_t errlen) {
    const char *what = or_image(path);
    if (p->channels != 1 && p->channels != 3) {
        set_err(err, errlen, "%s: channels must be 1 or 3, not %d", what, p->channels);
        return -1;
    }
    if (p->split < 0 || p->split > 2 || p->load_size < 0 || p->load_size > MAX_SIDE ||
        p->crop_size < 0 || p->crop_size > MAX_SIDE) {
        set_err(err, errlen, "%s: bad preparation (split=%d load_size=%d crop_size=%d)", what, p->split,
                p->load_size, p->crop_size);
        return -1;
    }
    int x0, rw;
    split_columns(p->split, nw, &x0, &rw);
    if (nh < 1 || rw < 1) {
        set_err(err, errlen, "%s: %dx%d image is too small%s", what, nw, nh,
                p->split ? " to split into halves" : "");
        return -1;
    }
    int oh = nh, ow = rw;
    if (p->load_size > 0) oh = ow = p->load_size;
    if (p->crop_size > 0) {
        if (p->crop_size > oh || p->crop_size > ow) {
            set_err(err, errlen, "%s: crop %d is larger than the %dx%d image%s", what, p->crop_size, ow,
                    oh, p->load_size ? " after resizing" : "");
            return -1;
        }
        oh = ow = p->crop_size;
    }
    *h = oh;
    *w = ow;
    return 0;
}

/* Opens path for reading only if it is a regular file (open_regular_fd); NULL with err otherwise. */
static FILE *open_regular(const char *path, char *err, size_t errlen) {
    int fd = open_regular_fd(path, err, errlen);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int image_probe(const char *path, const image_prep *p, int *h, int *w, char *err, size_t errlen) {
    int nw, nh, comp;
    FILE *f = open_regular(path, err, errlen);
    if (!f) return -1;
    int ok = stbi_info_from_file(f, &nw, &nh, &comp);
    fclose(f);
    if (!ok) {
        set_err(err, errlen, "%s: cannot read image header: %s", path, stbi_failure_reason());
        return -1;
    }
    return image_prep_size(path, p, nh, nw, h, w, err, errlen);
}

/* ---- resizing: PIL's BICUBIC, byte for byte ---- */

/* The PyTorch reference (pytorch-CycleGAN's transforms.Resize on PIL images) resizes with PIL's
 * Image.BICUBIC; this is Pillow's Resample.c for 8-bit images (Pillow 9.4 checked, tests/pil_resize.py):
 * cubic convolution with a = -0.5, the support widened by the scale when downsampling (antialias),
 * weights normalised, then turned into 22-bit fixed point; a horizontal pass into bytes (rounded and
 * clipped), then a vertical pass. Every step is integer or exactly as PIL does it, so the bytes match. */
#define PIL_PRECISION_BITS (32 - 8 - 2)

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* For every output position: the first input index, the tap count and ksize fixed-point weights. */
static int pil_coeffs(int in_size, int out_size, int **bounds_out, int32_t **kk_out) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    int *bounds = xmalloc(sizeof(int) * 2 * (size_t)out_size);
    int32_t *kk = xmalloc(sizeof(int32_t) * (size_t)out_size * (size_t)ksize);
    double *k = xmalloc(sizeof(double) * (size_t)ksize);
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            k[x] = bicubic((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
            kk[(size_t)xx * ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PIL_PRECISION_BITS)
                                                         : 0.5 + v * (1 << PIL_PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    free(k);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static unsigned char clip8(int32_t v) {
    v >>= PIL_PRECISION_BITS;
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* One pass along x (horizontal) or y of an interleaved c-channel byte image. */
static void pil_pass(const unsigned char *in, int iw, int ih, int c, unsigned char *out, int ow, int oh,
                     int horizontal) {
    int *bounds;
    int32_t *kk;
    int ksize = pil_coeffs(horizontal ? iw : ih, horizontal ? ow : oh, &bounds, &kk);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int o = horizontal ? x : y;
            const int32_t *k = kk + (size_t)o * ksize;
            for (int ch = 0; ch < c; ch++) {
                int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
                for (int t = 0; t < bounds[2 * o + 1]; t++) {
                    int sx = horizontal ? bounds[2 * o] + t : x, sy = horizontal ? y : bounds[2 * o] + t;
                    ss += in[((size_t)sy * iw + sx) * c + ch] * k[t];
                }
                out[((size_t)y * ow + x) * c + ch] = clip8(ss);
            }
        }
    free(bounds);
    free(kk);
}

unsigned char *image_resize_bicubic(const unsigned char *in, int iw, int ih, int c, int ow, int oh) {
    unsigned char *tmp = NULL, *out = xmalloc((size_t)ow * oh * c);
    const unsigned char *src = in;
    if (ow != iw && oh != ih) {
        tmp = xmalloc((size_t)ow * ih * c);
        pil_pass(in, iw, ih, c, tmp, ow, ih, 1);
        pil_pass(tmp, ow, ih, c, out, ow, oh, 0);
    } else if (ow != iw) {
        pil_pass(src, iw, ih, c, out, ow, oh, 1);
    } else if (oh != ih) {
        pil_pass(src, iw, ih, c, out, ow, oh, 0);
    } else {
        memcpy(out, in, (size_t)ow * oh * c);
    }
    free(tmp);
    return out;
}

/* ---- decoding ---- */

/* stbi_load with the error message filled in; fopen failures carry errno's text. Only regular
 * files are read (a FIFO would block), and the header's size is checked against IMAGE_MAX_PIXELS
 * before any pixel is decoded, so one input never takes more than a bounded amount of memory. */
static unsigned char *decode(const char *path, int channels, int *nw, int *nh, char *err, size_t errlen) {
    int comp;
    FILE *f = open_regular(path, err, errlen);
    if (!f) return NULL;
    if (!stbi_info_from_file(f, nw, nh, &comp)) {
        const char *why = stbi_failure_reason();
        set_err(err, errlen, "%s: cannot decode image: %s", path, why ? why : "unknown error");
        fclose(f);
        return NULL;
    }
    if (*nw < 1 || *nh < 1 || (long long)*nw * *nh > IMAGE_MAX_PIXELS) {
        set_err(err, errlen, "%s: %dx%d image has more than the %d pixels allowed per input", path, *nw, *nh,
                IMAGE_MAX_PIXELS);
        fclose(f);
        return NULL;
    }
    unsigned char *pix = stbi_load_from_file(f, nw, nh, &comp, channels);
    fclose(f);
    if (!pix) {
        const char *why = stbi_failure_reason();
        set_err(err, errlen, "%s: cannot decode image: %s", path, why ? why : "unknown error");
    }
    return pix;
}

static float to_unit(unsigned char v) { return (float)(v / 127.5 - 1.0); }

/* Columns [x0, x0 + rw) of an interleaved nw-wide byte image, as a new rw-wide image. */
static unsigned char *region_bytes(const unsigned char *pix, int nw, int nh, int c, int x0, int rw) {
    unsigned char *o = xmalloc((size_t)nh * rw * c);
    for (int y = 0; y < nh; y++) memcpy(o + (size_t)y * rw * c, pix + ((size_t)y * nw + x0) * c, (size_t)rw * c);
    return o;
}

/* Window (y0, x0, oh, ow) of an interleaved iw-wide byte image into planar CHW floats in [-1, 1],
 * mirrored if flip. */
static void crop_to_chw(const unsigned char *in, int iw, int c, int y0, int x0, int oh, int ow, int flip,
                        float *out) {
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++) {
            const unsigned char *row = in + ((size_t)(y0 + y) * iw + x0) * c + ch;
            float *o = out + ((size_t)ch * oh + y) * ow;
            for (int x = 0; x < ow; x++) o[x] = to_unit(row[(size_t)(flip ? ow - 1 - x : x) * c]);
        }
}

/* The crop position and flip, drawn in a fixed order: crop row, crop column, flip. */
static int draw_window(const image_prep *p, rng_seq *r, int ih, int iw, int oh, int ow, int *y0, int *x0,
                       int *flip, const char *path, char *err, size_t errlen) {
    if (!r && (p->random_crop || p->flip)) {
        set_err(err, errlen, "%s: random crop or flip needs an rng", or_image(path));
        return -1;
    }
    if (p->random_crop) {
        *y0 = (int)rng_below(r, (uint32_t)(ih - oh + 1));
        *x0 = (int)rng_below(r, (uint32_t)(iw - ow + 1));
    } else {
        *y0 = (ih - oh) / 2;
        *x0 = (iw - ow) / 2;
    }
    *flip = p->flip ? rng_uniform(r) < 0.5f : 0;
    return 0;
}

int image_load(const char *path, const image_prep *p, rng_seq *r, float *out, int out_cap, int *h, int *w,
               char *err, size_t errlen) {
    if (p->channels != 1 && p->channels != 3) {
        set_err(err, errlen, "%s: channels must be 1 or 3, not %d", path, p->channels);
        return -1;
    }
    int nw, nh, oh, ow, c = p->channels;
    unsigned char *pix = decode(path, c, &nw, &nh, err, errlen);
    if (!pix) return -1;
    if (image_prep_size(path, p, nh, nw, &oh, &ow, err, errlen) != 0) {
        stbi_image_free(pix);
        return -1;
    }
    if ((long long)c * oh * ow > out_cap) {
        set_err(err, errlen, "%s: output %dx%dx%d does not fit the buffer of %d floats", path, c, oh, ow,
                out_cap);
        stbi_image_free(pix);
        return -1;
    }
    int x0, rw;
    split_columns(p->split, nw, &x0, &rw);
    unsigned char *img = region_bytes(pix, nw, nh, c, x0, rw);
    stbi_image_free(pix);
    int ih = nh, iw = rw;
    if (p->load_size > 0 && (p->load_size != ih || p->load_size != iw)) {
        unsigned char *rs = image_resize_bicubic(img, iw, ih, c, p->load_size, p->load_size);
        free(img);
        img = rs;
        ih = iw = p->load_size;
    }
    int cy, cx, flip;
    int rc = draw_window(p, r, ih, iw, oh, ow, &cy, &cx, &flip, path, err, errlen);
    if (rc == 0) {
        crop_to_chw(img, iw, c, cy, cx, oh, ow, flip, out);
        *h = oh;
        *w = ow;
    }
    free(img);
    return rc;
}

float *image_load_native(const char *path, int channels, int *h, int *w, char *err, size_t errlen) {
    if (channels != 1 && channels != 3) {
        set_err(err, errlen, "%s: channels must be 1 or 3, not %d", path, channels);
        return NULL;
    }
    int nw, nh;
    unsigned char *pix = decode(path, channels, &nw, &nh, err, errlen);
    if (!pix) return NULL;
    float *out = xmalloc(sizeof(float) * (size_t)channels * nh * nw);
    crop_to_chw(pix, nw, channels, 0, 0, nh, nw, 0, out);
    stbi_image_free(pix);
    *h = nh;
    *w = nw;
    return out;
}

int image_save_png(const char *path, const float *chw, int c, int h, int w, char *err, size_t errlen) {
    return png_write_grid(path, chw, 1, c, h, w, 1, 1, -1.0f, 1.0f, 0, err, errlen);
}
