/* ./evaluate's image sets: a folder of images or a slice of an IDX file, as [0, 1] floats. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "idx.h"
#include "images.h"
#include "util.h"

void image_set_free(image_set *s) {
    if (s->names)
        for (int i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names);
    free(s->img);
    memset(s, 0, sizeof *s);
}

/* "idx:FILE[:FIRST[:COUNT]]" */
static int load_idx(const char *spec, int limit, image_set *s, char *err, size_t errlen) {
    char *path = xstrdup(spec + 4), *colon = strchr(path, ':');
    long first = 0, count = -1;
    if (colon) {
        *colon = 0;
        char *end, *c2 = strchr(colon + 1, ':');
        if (c2) *c2 = 0;
        first = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || first < 0) goto bad;
        if (c2) {
            count = strtol(c2 + 1, &end, 10);
            if (end == c2 + 1 || *end || count < 1) goto bad;
        }
    }
    idx_images im;
    if (idx_load_images(path, &im, err, errlen) != 0) {
        free(path);
        return -1;
    }
    if (first >= im.n) {
        set_err(err, errlen, "%s: FIRST %ld is past its %d images", spec, first, im.n);
        idx_free_images(&im);
        free(path);
        return -1;
    }
    long n = count < 0 || first + count > im.n ? im.n - first : count;
    if (limit > 0 && n > limit) n = limit;
    size_t per = (size_t)im.rows * im.cols;
    *s = (image_set){.img = xmalloc((size_t)n * per * sizeof(float)), .n = (int)n, .c = 1, .h = im.rows, .w = im.cols};
    for (size_t i = 0; i < (size_t)n * per; i++) s->img[i] = im.pixels[(size_t)first * per + i] / 255.0f;
    idx_free_images(&im);
    free(path);
    return 0;
bad:
    set_err(err, errlen, "'%s': an IDX set is idx:FILE, idx:FILE:FIRST or idx:FILE:FIRST:COUNT (FIRST >= 0, COUNT >= 1)", spec);
    free(path);
    return -1;
}

int image_set_load(const char *spec, int channels, int limit, image_set *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    if (!strncmp(spec, "idx:", 4)) return load_idx(spec, limit, s, err, errlen);
    image_list l;
    if (image_list_dir(spec, &l, err, errlen) != 0) return -1;
    int n = limit > 0 && l.n > limit ? limit : l.n;
    s->c = channels, s->names = xcalloc((size_t)n, sizeof *s->names);
    for (int i = 0; i < n; i++) {
        int h, w;
        float *im = image_load_native(l.paths[i], channels, &h, &w, err, errlen);
        if (!im) goto fail;
        if (i == 0) s->h = h, s->w = w, s->img = xmalloc((size_t)n * channels * h * w * sizeof(float));
        else if (h != s->h || w != s->w) {
            set_err(err, errlen, "%s: %dx%d, but %s is %dx%d: a set's images must all have one size", l.paths[i], w, h,
                    l.paths[0], s->w, s->h);
            free(im);
            goto fail;
        }
        size_t per = (size_t)channels * h * w;
        for (size_t k = 0; k < per; k++) s->img[(size_t)i * per + k] = 0.5f * (im[k] + 1.0f); /* [-1, 1] -> [0, 1] */
        free(im);
        const char *slash = strrchr(l.paths[i], '/');
        s->names[i] = xstrdup(slash ? slash + 1 : l.paths[i]);
        s->n = i + 1;
    }
    image_list_free(&l);
    return 0;
fail:
    image_list_free(&l);
    image_set_free(s);
    return -1;
}

int sample_name(const char *name, char *stem, size_t stemlen, int *k) {
    size_t len = strlen(name);
    if (len < 8 || strcmp(name + len - 4, ".png")) return 0;
    const char *us = NULL;
    for (const char *p = name; (p = strstr(p, "_z")); p++) us = p; /* the last "_z" */
    if (!us || us == name) return 0;
    const char *d = us + 2;
    if (!isdigit((unsigned char)*d)) return 0;
    char *end;
    long v = strtol(d, &end, 10);
    if (strcmp(end, ".png") || v < 1) return 0;
    snprintf(stem, stemlen, "%.*s", (int)(us - name), name);
    *k = (int)v;
    return 1;
}
