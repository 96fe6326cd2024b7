/* Paired A|B data for pix2pix and BicycleGAN, on cyclegan_data's folders and validation pairs
 * (models/cyclegan_data.h): data.layout aligned reads train/ (and val/) A|B images side by side;
 * unaligned reads trainA/ and trainB/ (testA/, testB/ for validation) and pairs them by sorted file
 * name. Unlike CycleGAN both domains take the SAME order and the same crop and flip draws, so image i
 * of A and image i of B in a batch are one pair. Every draw depends only on (seed, epoch, position). */
#ifndef CLGAN_PIX2PIX_DATA_H
#define CLGAN_PIX2PIX_DATA_H
#include "cyclegan_data.h"

/* As cyclegan_data_open; then d->n = min(na, nb) pairs per epoch. -1 with err. */
int pix2pix_data_open(cyclegan_data *d, const cfg *c, int batch, unsigned long long seed, char *err, size_t errlen);
/* Starts the loaders at position pos (in pairs) of epoch `epoch`. */
void pix2pix_data_seek(cyclegan_data *d, long epoch, long pos);
/* The next batch of pairs (host NCHW floats in [-1, 1], valid until the next call); the number of pairs.
 * At the end of the epoch's pairs it starts the epoch's order over. */
int pix2pix_data_next(cyclegan_data *d, const float **a, const float **b);
/* cyclegan_data_close. */
void pix2pix_data_close(cyclegan_data *d);

#endif
