#include "prefetch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct prefetch {
    const image_list *l;
    image_prep p;
    int *order, count, batch;
    unsigned long long seed;
    unsigned stream, step_base;
    unsigned char *reported;   /* per list index: failure already printed */

    /* Geometry: fixed from the start (crop_size / load_size), or set by the first good image. */
    int c, h, w, sized;
    size_t img_floats;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    float *slot[2];
    int slot_n[2], ready[2];   /* ready: filled by the producer, not yet released by the consumer */
    int cons, held;            /* consumer: next slot to take; slot handed out (-1: none) */
    int finished;
    atomic_int stop, skipped;
};

/* ---- producer ---- */

static void report_skip(prefetch *pf, int idx, const char *err) {
    atomic_fetch_add(&pf->skipped, 1);
    if (pf->reported[idx]) return;
    pf->reported[idx] = 1;
    const char *path = pf->l->paths[idx];
    size_t pl = strlen(path);
    if (!strncmp(err, path, pl) && !strncmp(err + pl, ": ", 2)) err += pl + 2;   /* the path is printed once */
    fprintf(stderr, "clgan: skipping %s: %s\n", path, err);
}

static void set_geometry(prefetch *pf, int h, int w) {
    pthread_mutex_lock(&pf->mu);
    pf->h = h;
    pf->w = w;
    pf->img_floats = (size_t)pf->c * h * w;
    for (int s = 0; s < 2; s++) pf->slot[s] = xmalloc(sizeof(float) * pf->img_floats * (size_t)pf->batch);
    pf->sized = 1;
    pthread_mutex_unlock(&pf->mu);
}

/* When the size comes from the images: reads the header, fixes the geometry on the first good
 * image and rejects images of another size. */
static int check_native_size(prefetch *pf, const char *path, char *err, size_t errlen) {
    int h, w;
    if (image_probe(path, &pf->p, &h, &w, err, errlen) != 0) return -1;
    if (!pf->sized) {
        if ((long long)pf->c * h * w * pf->batch > 0x7fffffff) {
            set_err(err, errlen, "%s: %dx%d images make a batch too large", path, w, h);
            return -1;
        }
        set_geometry(pf, h, w);
    } else if (h != pf->h || w != pf->w) {
        set_err(err, errlen, "%s: image is %dx%d, the earlier ones %dx%d (set load_size or crop_size)", path,
                w, h, pf->w, pf->h);
        return -1;
    }
    return 0;
}

/* Loads position k of the order into slot s at place n. */
static int load_one(prefetch *pf, int k, int s, int n) {
    char err[1024];
    int idx = pf->order[k], h, w;
    const char *path = pf->l->paths[idx];
    int rc = pf->p.crop_size || pf->p.load_size ? 0 : check_native_size(pf, path, err, sizeof err);
    if (rc == 0) {
        rng_seq r = rng_seq_make(pf->seed, pf->stream, pf->step_base + (unsigned)k);
        rc = image_load(path, &pf->p, &r, pf->slot[s] + pf->img_floats * (size_t)n, (int)pf->img_floats, &h,
                        &w, err, sizeof err);
    }
    if (rc != 0) report_skip(pf, idx, err);
    return rc;
}

/* Fills slot s from *pos on; returns the number of images in it. */
static int fill_slot(prefetch *pf, int s, int *pos) {
    int n = 0;
    while (n < pf->batch && *pos < pf->count && !atomic_load(&pf->stop))
        if (load_one(pf, (*pos)++, s, n) == 0) n++;
    return n;
}

static void *producer(void *arg) {
    prefetch *pf = arg;
    int pos = 0, s = 0;
    while (pos < pf->count) {
        pthread_mutex_lock(&pf->mu);
        while (pf->ready[s] && !atomic_load(&pf->stop)) pthread_cond_wait(&pf->cv, &pf->mu);
        pthread_mutex_unlock(&pf->mu);
        if (atomic_load(&pf->stop)) break;
        int n = fill_slot(pf, s, &pos);
        if (n == 0) break;
        pthread_mutex_lock(&pf->mu);
        pf->slot_n[s] = n;
        pf->ready[s] = 1;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        s ^= 1;
    }
    pthread_mutex_lock(&pf->mu);
    pf->finished = 1;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

/* ---- consumer ---- */

static int check_args(const image_list *l, const image_prep *p, const int *order, int count, int batch) {
    char err[256];
    int h, w;
    if (!l || !p || batch < 1 || count < 0 || (count > 0 && !order)) {
        fprintf(stderr, "clgan: prefetch: bad arguments (count=%d batch=%d)\n", count, batch);
        return -1;
    }
    if (image_prep_size("prefetch", p, 32768, 32768, &h, &w, err, sizeof err) != 0) {
        fprintf(stderr, "clgan: %s\n", err);
        return -1;
    }
    if ((p->crop_size || p->load_size) && (long long)p->channels * h * w * batch > 0x7fffffff) {
        fprintf(stderr, "clgan: prefetch: batch of %d %dx%d images is too large\n", batch, w, h);
        return -1;
    }
    for (int k = 0; k < count; k++)
        if (order[k] < 0 || order[k] >= l->n) {
            fprintf(stderr, "clgan: prefetch: order[%d] = %d is outside the list of %d images\n", k, order[k], l->n);
            return -1;
        }
    return 0;
}

static void free_pf(prefetch *pf) {
    pthread_cond_destroy(&pf->cv);
    pthread_mutex_destroy(&pf->mu);
    free(pf->slot[0]);
    free(pf->slot[1]);
    free(pf->order);
    free(pf->reported);
    free(pf);
}

prefetch *prefetch_start(const image_list *l, const image_prep *p, const int *order, int count, int batch,
                         unsigned long long seed, unsigned stream, unsigned step_base) {
    if (check_args(l, p, order, count, batch) != 0) return NULL;
    prefetch *pf = xcalloc(1, sizeof *pf);
    pf->l = l;
    pf->p = *p;
    pf->order = xmalloc(sizeof(int) * (size_t)(count ? count : 1));
    if (count) memcpy(pf->order, order, sizeof(int) * (size_t)count);
    pf->count = count;
    pf->batch = batch;
    pf->seed = seed;
    pf->stream = stream;
    pf->step_base = step_base;
    pf->reported = xcalloc((size_t)(l->n ? l->n : 1), 1);
    pf->c = p->channels;
    pf->held = -1;
    atomic_init(&pf->stop, 0);
    atomic_init(&pf->skipped, 0);
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    if (p->crop_size || p->load_size) {
        int side = p->crop_size ? p->crop_size : p->load_size;
        set_geometry(pf, side, side);
    }
    int e = pthread_create(&pf->thread, NULL, producer, pf);
    if (e != 0) {
        fprintf(stderr, "clgan: prefetch: cannot start a thread: %s\n", strerror(e));
        free_pf(pf);
        return NULL;
    }
    return pf;
}

int prefetch_next(prefetch *pf, const float **data, int *c, int *h, int *w) {
    pthread_mutex_lock(&pf->mu);
    if (pf->held >= 0) {   /* the caller is done with the previous batch */
        pf->ready[pf->held] = 0;
        pf->held = -1;
        pthread_cond_broadcast(&pf->cv);
    }
    while (!pf->ready[pf->cons] && !pf->finished) pthread_cond_wait(&pf->cv, &pf->mu);
    int n = 0;
    *data = NULL;
    if (pf->ready[pf->cons]) {
        n = pf->slot_n[pf->cons];
        *data = pf->slot[pf->cons];
        pf->held = pf->cons;
        pf->cons ^= 1;
    }
    *c = pf->c;
    *h = pf->sized ? pf->h : 0;
    *w = pf->sized ? pf->w : 0;
    pthread_mutex_unlock(&pf->mu);
    return n;
}

int prefetch_skipped(const prefetch *pf) {
    return atomic_load(&((prefetch *)pf)->skipped);
}

void prefetch_stop(prefetch *pf) {
    if (!pf) return;
    pthread_mutex_lock(&pf->mu);
    atomic_store(&pf->stop, 1);
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->thread, NULL);
    free_pf(pf);
}
