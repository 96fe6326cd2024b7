/* An RGB picture put together from images (grids: inputs beside their outputs), values in [-1, 1] as
 * the image-to-image models produce them, on a white background. */
#ifndef CLGAN_CANVAS_H
#define CLGAN_CANVAS_H
#include <stddef.h>

typedef struct {
    float *p; /* 3 x h x w */
    int h, w;
} canvas3;

canvas3 canvas3_new(int h, int w);
void canvas3_free(canvas3 *cv);
/* Copies the image src (c channels, 1 repeated as grey or 3, ih x iw) with its top-left corner at (y0, x0). */
void canvas3_blit(canvas3 *cv, const float *src, int c, int ih, int iw, int y0, int x0);
/* Writes the canvas as PNG to path. */
int canvas3_save(const canvas3 *cv, const char *path, char *err, size_t errlen);
/* Writes dir/<name>.png and, when tag is not NULL, dir/<name>_<tag>.png (a run's latest grid and its history). */
int canvas3_save_tagged(const canvas3 *cv, const char *dir, const char *name, const char *tag, char *err, size_t errlen);

#endif
