/* What models/featnet.c shares beyond featnet.h: the image preparation (for tests and kinds) and the
 * kinds this branch adds that featnet.h does not list. */
#ifndef CLGAN_FEATNET_UTIL_H
#define CLGAN_FEATNET_UTIL_H
#include "featnet.h"

/* c planes h x w -> c planes oh x ow, as torch.nn.functional.interpolate(mode='bilinear',
 * align_corners=False, antialias=False), computed in double. */
void featnet_resize_bilinear(const float *in, int c, int h, int w, float *out, int oh, int ow);
/* n images {n, c, h, w} in [0, 1] -> {n, oc, oh, ow} as f takes them (channels repeated or averaged,
 * mapped to [in_lo, in_hi], resized). A kind whose in_c / in_h / in_w is 0 keeps the images' own.
 * out NULL: only checks and sets the output shape. 0, or -1 with err. */
int featnet_prepare(const featnet *f, const float *img, int n, int c, int h, int w, float *out, int *oc, int *oh, int *ow,
                    char *err, size_t errlen);

/* "pixel-l1": no network, no weights; distance = the mean absolute pixel difference of the [0, 1]
 * images at their own size. A stand-in for LPIPS where no LPIPS weights exist (models/featnet_pixel.c). */
int featnet_open_pixel_l1(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen);

#endif
