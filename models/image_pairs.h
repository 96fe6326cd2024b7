/* What the image-to-image models (CycleGAN, pix2pix, BicycleGAN) share: their batches of A and B
 * images, read from folders unpaired (CycleGAN) or paired (pix2pix, BicycleGAN), or a fixed random pair
 * when the trainer has no data (./bench); and the reference's learning-rate schedule. */
#ifndef CLGAN_IMAGE_PAIRS_H
#define CLGAN_IMAGE_PAIRS_H
#include "cyclegan_data.h"
#include "model.h"

typedef struct {
    cyclegan_data *data; /* the folders' loaders, or NULL without data */
    net fixed_a, fixed_b; /* without data: one random batch of each domain in [-1, 1] */
    int paired, whole, all_ranks, B, size;
} image_pairs;

enum { PAIRS_UNPAIRED = 0, PAIRS_PAIRED = 1, PAIRS_WHOLE_BATCHES = 2 /* with PAIRED: every batch full (BicycleGAN's split) */,
       PAIRS_ALL_RANKS = 4 /* several ranks (host/comm.h): every rank gets the whole batch and splits it itself */ };

/* Opens the data of tr's config (tr->with_data) or makes the fixed batches; sets tr->spe to the steps
 * of an epoch (1 without data; with PAIRS_WHOLE_BATCHES only full batches, the reference skipping the
 * rest). how: PAIRS_UNPAIRED or PAIRS_PAIRED, | PAIRS_WHOLE_BATCHES. -1 with err naming the folder or file. */
int image_pairs_open(image_pairs *p, trainer *tr, int how, int ca, int cb, int size, int batch, char *err,
                     size_t errlen);
/* The batch of tr's step: *a and *b new variables on tr's tape. */
void image_pairs_next(image_pairs *p, trainer *tr, int *a, int *b);
void image_pairs_close(image_pairs *p);

/* The reference's 'linear' policy for epoch e (0-based): lr for n_epochs, then linear decay to 0 over
 * n_decay epochs: lr * (1 - max(0, e + 1 - n_epochs) / (n_decay + 1)). */
double lr_linear_decay(double lr, long epoch, long n_epochs, long n_decay);

#endif
