#include "images.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

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

int image_probe(const char *path, const image_prep *p, int *h, int *w, char *err, size_t errlen) {
    int nw, nh, comp;
    if (!stbi_info(path, &nw, &nh, &comp)) {
        set_err(err, errlen, "%s: cannot read image header: %s", path, stbi_failure_reason());
        return -1;
    }
    return image_prep_size(path, p, nh, nw, h, w, err, errlen);
}

/* ---- decoding ---- */

/* stbi_load with the error message filled in; fopen failures carry errno's text. */
static unsigned char *decode(const char *path, int channels, int *nw, int *nh, char *err, size_t errlen) {
    int comp;
    errno = 0;
    unsigned char *pix = stbi_load(path, nw, nh, &comp, channels);
    if (!pix) {
        int e = errno;
        const char *why = stbi_failure_reason();
        if (why && !strcmp(why, "can't fopen") && e)
            set_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
        else
            set_err(err, errlen, "%s: cannot decode image: %s", path, why ? why : "unknown error");
    }
    return pix;
}

static float to_unit(unsigned char v) { return (float)(v / 127.5 - 1.0); }

/* Columns [x0, x0 + rw) of an interleaved nw-wide image as interleaved floats in [-1, 1]. */
static float *region_to_float(const unsigned char *pix, int nw, int nh, int c, int x0, int rw) {
    float *f = xmalloc(sizeof(float) * (size_t)nh * rw * c);
    for (int y = 0; y < nh; y++) {
        const unsigned char *row = pix + ((size_t)y * nw + x0) * c;
        float *o = f + (size_t)y * rw * c;
        for (int i = 0; i < rw * c; i++) o[i] = to_unit(row[i]);
    }
    return f;
}

/* Triangle filter (bilinear when upsampling, a tent average when downsampling), clamped edges:
 * the weights are non-negative, so the values stay in [-1, 1] and a constant stays constant. */
static float *resize_float(const float *in, int iw, int ih, int c, int ow, int oh, const char *path,
                           char *err, size_t errlen) {
    float *out = xmalloc(sizeof(float) * (size_t)ow * oh * c);
    if (!stbir_resize_float_generic(in, iw, ih, 0, out, ow, oh, 0, c, STBIR_ALPHA_CHANNEL_NONE, 0,
                                    STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, NULL)) {
        set_err(err, errlen, "%s: resizing %dx%d to %dx%d failed", or_image(path), iw, ih, ow, oh);
        free(out);
        return NULL;
    }
    return out;
}

/* Window (y0, x0, oh, ow) of an interleaved iw-wide image into planar CHW, mirrored if flip. */
static void crop_to_chw(const float *in, int iw, int c, int y0, int x0, int oh, int ow, int flip, float *out) {
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++) {
            const float *row = in + ((size_t)(y0 + y) * iw + x0) * c + ch;
            float *o = out + ((size_t)ch * oh + y) * ow;
            for (int x = 0; x < ow; x++) o[x] = row[(size_t)(flip ? ow - 1 - x : x) * c];
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
    float *img = region_to_float(pix, nw, nh, c, x0, rw);
    stbi_image_free(pix);
    int ih = nh, iw = rw;
    if (p->load_size > 0 && (p->load_size != ih || p->load_size != iw)) {
        float *rs = resize_float(img, iw, ih, c, p->load_size, p->load_size, path, err, errlen);
        free(img);
        if (!rs) return -1;
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
    float *img = region_to_float(pix, nw, nh, channels, 0, nw);
    stbi_image_free(pix);
    float *out = xmalloc(sizeof(float) * (size_t)channels * nh * nw);
    crop_to_chw(img, nw, channels, 0, 0, nh, nw, 0, out);
    free(img);
    *h = nh;
    *w = nw;
    return out;
}

int image_save_png(const char *path, const float *chw, int c, int h, int w, char *err, size_t errlen) {
    return png_write_grid(path, chw, 1, c, h, w, 1, 1, -1.0f, 1.0f, 0, err, errlen);
}
