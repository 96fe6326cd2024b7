#include "pix2pix_data.h"

#include <stdlib.h>

#include "rng.h"
#include "util.h"

int pix2pix_data_open(cyclegan_data *d, const cfg *c, int batch, unsigned long long seed, char *err, size_t errlen) {
    if (cyclegan_data_open(d, c, batch, seed, err, errlen) != 0) return -1;
    if (d->na != d->nb) /* A/B folders of different lengths: the first min(na, nb) sorted names pair up */
        fprintf(stderr, "clgan: %d A images and %d B images: pairing the first %d of each by sorted name\n", d->na, d->nb,
                d->na < d->nb ? d->na : d->nb);
    d->n = d->na < d->nb ? d->na : d->nb;
    d->na = d->nb = d->n;
    return 0;
}

static void stop_loaders(cyclegan_data *d) {
    prefetch_stop(d->fa);
    prefetch_stop(d->fb);
    d->fa = d->fb = NULL;
}

void pix2pix_data_seek(cyclegan_data *d, long epoch, long pos) {
    stop_loaders(d);
    if (epoch != d->epoch) { /* one permutation for both domains */
        for (int i = 0; i < d->n; i++) d->order_a[i] = i;
        rng_seq r = rng_seq_make(d->seed, RNG_STREAM_SHUFFLE, (uint32_t)epoch);
        rng_shuffle(&r, d->order_a, d->n);
        for (int i = 0; i < d->n; i++) d->order_b[i] = d->order_a[i];
        d->epoch = epoch;
    }
    if (pos >= d->n) pos = 0;
    d->pos = pos;
    unsigned base = (unsigned)(epoch * d->n + pos);
    /* the same seed, stream and positions: both halves of a pair get the same crop and flip */
    d->fa = prefetch_start(&d->la, &d->pa, d->order_a + pos, d->n - (int)pos, d->B, d->seed, RNG_STREAM_AUGMENT, base);
    d->fb = prefetch_start(&d->lb, &d->pb, d->order_b + pos, d->n - (int)pos, d->B, d->seed, RNG_STREAM_AUGMENT, base);
    if (!d->fa || !d->fb) die("pix2pix: cannot start the image loaders");
}

int pix2pix_data_next(cyclegan_data *d, const float **a, const float **b) {
    for (int attempt = 0; attempt < 2; attempt++) {
        int c, h, w;
        int na = prefetch_next(d->fa, a, &c, &h, &w);
        int nb = prefetch_next(d->fb, b, &c, &h, &w);
        if (na != nb) die("pix2pix: the A and B loaders fell out of step (%d vs %d images): a file readable on one side only", na, nb);
        if (na > 0) {
            d->pos += d->B;
            return na;
        }
        pix2pix_data_seek(d, d->epoch, 0);
    }
    die("pix2pix: no readable training pairs (every file was skipped)");
}

void pix2pix_data_close(cyclegan_data *d) { cyclegan_data_close(d); }
