/* Feature networks for the evaluation metrics (./evaluate): images in, a feature vector and class
 * logits out (FID, IS), or a perceptual distance between two images (LPIPS, diversity). Each kind is a
 * file under models/ with an open function listed in featnet.c's table; ./evaluate opens one by name. */
#ifndef CLGAN_FEATNET_H
#define CLGAN_FEATNET_H
#include <stddef.h>

#include "device.h"
#include "tape.h"

typedef struct featnet featnet;
struct featnet {
    const char *kind;          /* the table's name: "inception", "fashion", "lpips" */
    const char *describe;      /* what it is, for reports: "Inception-v3 (pytorch-fid FID weights)" */
    const char *metric_prefix; /* printed before FID and IS: "" for Inception-v3, "Fashion-" otherwise */
    int in_c, in_h, in_w;      /* the input the network takes; featnet_run resizes to it (0: keep the images' own) */
    int min_side;              /* the smallest image side the network takes (0: any) */
    int batch;                 /* images per forward pass (0: featnet.c's default, 50); Inception's arena is
                                * about 320 MB per 299x299 image, so it asks for fewer */
    float in_lo, in_hi;        /* [0,1] pixels are mapped linearly to [in_lo, in_hi] before forward */
    int nfeat, nclass;         /* feature width (2048 for Inception's pool) and classes (0: no logits) */
    /* x {N, in_c, in_h, in_w} -> features {N, nfeat} (returned) and, when logits != NULL and nclass > 0,
     * the class logits {N, nclass} in *logits. NULL for a distance-only kind. */
    int (*forward)(featnet *f, tape *t, int x, int *logits);
    /* The distance of each pair: a, b {N, in_c, in_h, in_w} -> {N} (LPIPS). NULL when the kind has none. */
    int (*distance)(featnet *f, tape *t, int a, int b);
    void (*free)(featnet *f);
    void *impl;
};

/* An open function: reads the network's weights from `weights` (a safetensors file) and fills f.
 * -1 with a message naming the file and what is wrong (a missing tensor, a shape). */
typedef int (*featnet_open_fn)(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen);

/* Opens kind `kind` (featnet.c's table); -1 with err for an unknown kind (naming the known ones). */
int featnet_open(featnet *f, clg_ctx *cl, const char *kind, const char *weights, char *err, size_t errlen);
/* The kinds, for usage lines: "inception, fashion, lpips". */
const char *featnet_kinds(void);
/* Runs n images {n, c, h, w} in [0,1] (c 1 or 3: grey is repeated to in_c, RGB to grey is refused
 * unless in_c is 1, then averaged) in batches: resized to in_h x in_w bilinearly as
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False) (pytorch-fid's resize),
 * mapped to [in_lo, in_hi]. feat {n, nfeat}; logits {n, nclass} or NULL. 0, or -1 with err. */
int featnet_run(featnet *f, clg_ctx *cl, const float *img, int n, int c, int h, int w, float *feat, float *logits,
                char *err, size_t errlen);
/* d[i] = distance(a_i, b_i) for n pairs of images {n, c, h, w} in [0,1], prepared as featnet_run does. */
int featnet_pair_distance(featnet *f, clg_ctx *cl, const float *a, const float *b, int n, int c, int h, int w,
                          double *d, char *err, size_t errlen);
void featnet_free(featnet *f);

/* The kinds (each in its own file). */
int featnet_open_inception(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen); /* inception.c */
int featnet_open_lpips(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen);     /* lpips.c */
int featnet_open_fashion(featnet *f, clg_ctx *cl, const char *weights, char *err, size_t errlen);   /* fashion_classifier.c */

#endif
