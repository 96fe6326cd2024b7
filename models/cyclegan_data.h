/* CycleGAN's data: two image domains read from folders by background threads, unpaired.
 *   layout aligned:   dataroot/train/ holds A|B images side by side (pix2pix, edges2shoes); domain A
 *                     is the left half, B the right (direction BtoA swaps them); val pairs from
 *                     dataroot/val/ (else train/).
 *   layout unaligned: dataroot/trainA/, trainB/ (horse2zebra); val pairs from testA/, testB/ (else
 *                     the training folders).
 * An epoch has max(nA, nB) steps' worth of images: A in a shuffled order (indices mod nA), B drawn
 * uniformly at each position (the reference's unaligned dataset), so even aligned data is used
 * unpaired. Every draw depends only on (seed, epoch, position), so a resumed run sees the same data. */
#ifndef CLGAN_CYCLEGAN_DATA_H
#define CLGAN_CYCLEGAN_DATA_H
#include "config.h"
#include "images.h"
#include "prefetch.h"

#define CYCLEGAN_VAL_PAIRS 4

typedef struct cyclegan_data {
    image_list la, lb;
    image_prep pa, pb;
    int na, nb, n; /* images per domain (after train_limit), positions per epoch */
    int B;
    prefetch *fa, *fb;
    int *order_a, *order_b;
    unsigned long long seed;
    long epoch, pos;  /* where the loaders stand */
    int ca, cb, size; /* channels of A and B, image side */
    float *val_a, *val_b; /* CYCLEGAN_VAL_PAIRS images of each domain, resized to size (no crop, no flip) */
    int nval;
} cyclegan_data;

/* Lists the folders, loads the validation pairs. -1 with err naming the folder or file. */
int cyclegan_data_open(cyclegan_data *d, const cfg *c, int batch, unsigned long long seed, char *err, size_t errlen);
/* Starts the loaders at position pos (in images) of epoch `epoch`. */
void cyclegan_data_seek(cyclegan_data *d, long epoch, long pos);
/* The next batch of each domain (host NCHW floats in [-1, 1], valid until the next call); returns the
 * number of images (the same for both). At the end of the epoch's images, or when unreadable files
 * leave a loader short, it starts the epoch's order over (so a step always gets a batch). */
int cyclegan_data_next(cyclegan_data *d, const float **a, const float **b);
void cyclegan_data_close(cyclegan_data *d);

#endif
