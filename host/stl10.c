#include "stl10.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Static, so that this copy does not clash with the one in images.c. */
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

#define STL10_PLANE (STL10_SIDE * STL10_SIDE)
#define STL10_MAX_SIZE 4096

/* One column-major 96x96 channel plane into row-major floats in [-1, 1]. */
static void plane_to_float(const unsigned char *cm, float *rm) {
    for (int x = 0; x < STL10_SIDE; x++)
        for (int y = 0; y < STL10_SIDE; y++)
            rm[y * STL10_SIDE + x] = (float)(cm[x * STL10_SIDE + y] / 127.5 - 1.0);
}

/* One image's bytes into 3 x size x size planar floats. tmp holds one 96x96 plane. */
static int convert_image(const unsigned char *bytes, int size, float *tmp, float *out) {
    for (int c = 0; c < 3; c++) {
        float *o = out + (size_t)c * size * size;
        plane_to_float(bytes + (size_t)c * STL10_PLANE, size == STL10_SIDE ? o : tmp);
        if (size == STL10_SIDE) continue;
        if (!stbir_resize_float_generic(tmp, STL10_SIDE, STL10_SIDE, 0, o, size, size, 0, 1,
                                        STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                        STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, NULL))
            return -1;
    }
    return 0;
}

/* Opens path and checks that its size is a non-zero multiple of `unit` bytes; *count = size/unit. */
static FILE *open_sized(const char *path, long long unit, const char *what, long long *count, char *err,
                        size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    long long len = (long long)st.st_size;
    if (len == 0 || len % unit) {
        if (len == 0)
            set_err(err, errlen, "%s: empty file", path);
        else
            set_err(err, errlen, "%s: %lld bytes, not a multiple of %lld (%s)", path, len, unit, what);
        fclose(f);
        return NULL;
    }
    *count = len / unit;
    return f;
}

int stl10_load(const char *path, int size, int limit, float **out, int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    if (size < 1 || size > STL10_MAX_SIZE || limit < 0) {
        set_err(err, errlen, "%s: bad arguments (size=%d limit=%d)", path, size, limit);
        return -1;
    }
    long long count;
    FILE *f = open_sized(path, STL10_IMAGE_BYTES, "STL-10 images are 3x96x96 bytes", &count, err, errlen);
    if (!f) return -1;
    if (limit > 0 && count > limit) count = limit;
    size_t per = (size_t)3 * size * size;
    if (count > 0x7fffffff || (unsigned long long)count > SIZE_MAX / sizeof(float) / per) {
        set_err(err, errlen, "%s: %lld images at %dx%d are too many; set a limit", path, count, size, size);
        fclose(f);
        return -1;
    }
    float *data = xmalloc(sizeof(float) * per * (size_t)count);
    unsigned char *bytes = xmalloc(STL10_IMAGE_BYTES);
    float *tmp = xmalloc(sizeof(float) * STL10_PLANE);
    int rc = 0;
    for (long long i = 0; i < count && rc == 0; i++) {
        if (fread(bytes, 1, STL10_IMAGE_BYTES, f) != STL10_IMAGE_BYTES) {
            set_err(err, errlen, "%s: read error at image %lld: %s", path, i,
                    ferror(f) ? strerror(errno) : "file ends early");
            rc = -1;
        } else if (convert_image(bytes, size, tmp, data + per * (size_t)i) != 0) {
            set_err(err, errlen, "%s: resizing image %lld to %dx%d failed", path, i, size, size);
            rc = -1;
        }
    }
    fclose(f);
    free(bytes);
    free(tmp);
    if (rc != 0) {
        free(data);
        return -1;
    }
    *out = data;
    *n = (int)count;
    return 0;
}

int stl10_load_labels(const char *path, unsigned char **labels, int *n, char *err, size_t errlen) {
    *labels = NULL;
    *n = 0;
    long long count;
    FILE *f = open_sized(path, 1, "labels are one byte each", &count, err, errlen);
    if (!f) return -1;
    if (count > 0x7fffffff) {
        set_err(err, errlen, "%s: %lld labels are too many", path, count);
        fclose(f);
        return -1;
    }
    unsigned char *l = xmalloc((size_t)count);
    size_t got = fread(l, 1, (size_t)count, f);
    int rc = 0;
    if (got != (size_t)count) {
        set_err(err, errlen, "%s: read error after %zu of %lld bytes: %s", path, got, count,
                ferror(f) ? strerror(errno) : "file ends early");
        rc = -1;
    }
    fclose(f);
    for (long long i = 0; i < count && rc == 0; i++) {
        if (l[i] < 1 || l[i] > 10) {
            set_err(err, errlen, "%s: label %d at index %lld is outside 1..10", path, l[i], i);
            rc = -1;
        } else {
            l[i] = (unsigned char)(l[i] - 1);
        }
    }
    if (rc != 0) {
        free(l);
        return -1;
    }
    *labels = l;
    *n = (int)count;
    return 0;
}
