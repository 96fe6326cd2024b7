#include "image_pairs.h"

#include <stdlib.h>
#include <string.h>

#include "pix2pix_data.h"
#include "tape_data.h"
#include "util.h"

int image_pairs_open(image_pairs *p, trainer *tr, int how, int ca, int cb, int size, int batch, char *err,
                     size_t errlen) {
    memset(p, 0, sizeof *p);
    p->paired = how & PAIRS_PAIRED, p->whole = (how & PAIRS_WHOLE_BATCHES) != 0, p->B = batch, p->size = size;
    p->all_ranks = (how & PAIRS_ALL_RANKS) != 0;
    tr->spe = 1;
    if (!tr->with_data) {
        trainer_fixed_batch(&p->fixed_a, tr->cl, "bench_A", batch, ca, size, size, tr->seed, -1.0f, 1.0f);
        trainer_fixed_batch(&p->fixed_b, tr->cl, "bench_B", batch, cb, size, size, tr->seed + 1, -1.0f, 1.0f);
        return 0;
    }
    p->data = xcalloc(1, sizeof *p->data);
    int rc = p->paired ? pix2pix_data_open(p->data, tr->c, batch, tr->seed, err, errlen)
                    : cyclegan_data_open(p->data, tr->c, batch, tr->seed, err, errlen);
    if (rc == 0 && p->whole && p->data->n < batch) {
        set_err(err, errlen, "%d training pairs, fewer than train.batch_size = %d", p->data->n, batch);
        (p->paired ? pix2pix_data_close : cyclegan_data_close)(p->data);
        rc = -1;
    }
    if (rc != 0) {
        free(p->data);
        p->data = NULL;
        return -1;
    }
    tr->spe = p->whole ? p->data->n / batch : (p->data->n + batch - 1) / batch;
    return 0;
}

void image_pairs_next(image_pairs *p, trainer *tr, int *a, int *b) {
    tape *t = &tr->t;
    if (!p->data) {
        *a = tape_net_view(t, &p->fixed_a, 0);
        *b = tape_net_view(t, &p->fixed_b, 0);
        return;
    }
    cyclegan_data *d = p->data;
    long epoch = tr->step / tr->spe, pos = (tr->step % tr->spe) * p->B;
    if (d->epoch != epoch || d->pos != pos || !d->fa) (p->paired ? pix2pix_data_seek : cyclegan_data_seek)(d, epoch, pos);
    const float *ha, *hb;
    int n = (p->paired ? pix2pix_data_next : cyclegan_data_next)(d, &ha, &hb);
    if (p->whole && n != p->B) { /* a short batch (unreadable files at the epoch's end): the order again from its start */
        (p->paired ? pix2pix_data_seek : cyclegan_data_seek)(d, epoch, 0);
        n = (p->paired ? pix2pix_data_next : cyclegan_data_next)(d, &ha, &hb);
        if (n != p->B) die("cannot fill a batch of %d pairs (too many unreadable files)", p->B);
    }
    int first = 0; /* every rank reads the whole batch and uploads its rows (all of them with one rank) */
    if (!p->all_ranks) trainer_shard(tr, &first, &n);
    size_t pa = (size_t)d->ca * p->size * p->size, pb = (size_t)d->cb * p->size * p->size;
    *a = tape_upload(t, n, d->ca, p->size, p->size, ha + (size_t)first * pa);
    *b = tape_upload(t, n, d->cb, p->size, p->size, hb + (size_t)first * pb);
}

void image_pairs_close(image_pairs *p) {
    if (p->data) {
        (p->paired ? pix2pix_data_close : cyclegan_data_close)(p->data);
        free(p->data);
    } else if (p->fixed_a.np) {
        net_free(&p->fixed_a);
        net_free(&p->fixed_b);
    }
    memset(p, 0, sizeof *p);
}

double lr_linear_decay(double lr, long epoch, long n_epochs, long n_decay) {
    long over = epoch + 1 - n_epochs;
    return lr * (1.0 - (double)(over > 0 ? over : 0) / (double)(n_decay + 1));
}
