#include "canvas.h"

#include <stdio.h>
#include <stdlib.h>

#include "images.h"
#include "runutil.h"
#include "util.h"

canvas3 canvas3_new(int h, int w) {
    canvas3 cv = {xmalloc((size_t)3 * h * w * sizeof(float)), h, w};
    for (size_t i = 0; i < (size_t)3 * h * w; i++) cv.p[i] = 1.0f; /* white */
    return cv;
}

void canvas3_free(canvas3 *cv) {
    free(cv->p);
    cv->p = NULL;
}

void canvas3_blit(canvas3 *cv, const float *src, int c, int ih, int iw, int y0, int x0) {
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++)
                cv->p[((size_t)ch * cv->h + y0 + y) * cv->w + x0 + x] = src[((size_t)(c == 3 ? ch : 0) * ih + y) * iw + x];
}

int canvas3_save(const canvas3 *cv, const char *path, char *err, size_t errlen) {
    return image_save_png(path, cv->p, 3, cv->h, cv->w, err, errlen);
}

int canvas3_save_tagged(const canvas3 *cv, const char *dir, const char *name, const char *tag, char *err, size_t errlen) {
    char path[4300], file[256];
    if (tag) {
        snprintf(file, sizeof file, "%s_%s.png", name, tag);
        run_path(path, sizeof path, dir, file);
        if (canvas3_save(cv, path, err, errlen) != 0) return -1;
    }
    snprintf(file, sizeof file, "%s.png", name);
    run_path(path, sizeof path, dir, file);
    return canvas3_save(cv, path, err, errlen);
}
