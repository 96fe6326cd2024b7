#include "cyclegan_data.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rng.h"
#include "util.h"

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void sub(char *out, size_t n, const char *root, const char *name) { snprintf(out, n, "%s/%s", root, name); }

/* The validation images: the first CYCLEGAN_VAL_PAIRS of each list, resized to the training size. */
static int load_val(cyclegan_data *d, const image_list *la, const image_list *lb, char *err, size_t errlen) {
    int k = la->n < lb->n ? la->n : lb->n;
    d->nval = k < CYCLEGAN_VAL_PAIRS ? k : CYCLEGAN_VAL_PAIRS;
    size_t pa = (size_t)d->ca * d->size * d->size, pb = (size_t)d->cb * d->size * d->size;
    d->val_a = xmalloc((size_t)d->nval * pa * sizeof(float));
    d->val_b = xmalloc((size_t)d->nval * pb * sizeof(float));
    image_prep qa = d->pa, qb = d->pb;
    qa.load_size = qb.load_size = d->size;
    qa.crop_size = qb.crop_size = 0;
    qa.flip = qb.flip = qa.random_crop = qb.random_crop = 0;
    for (int i = 0; i < d->nval; i++) {
        int h, w;
        if (image_load(la->paths[i], &qa, NULL, d->val_a + i * pa, (int)pa, &h, &w, err, errlen) != 0) return -1;
        if (image_load(lb->paths[i], &qb, NULL, d->val_b + i * pb, (int)pb, &h, &w, err, errlen) != 0) return -1;
    }
    return 0;
}

int cyclegan_data_open(cyclegan_data *d, const cfg *c, int batch, unsigned long long seed, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    d->B = batch, d->seed = seed, d->epoch = -1;
    const char *root = cfg_str(c, "data", "dataroot");
    int aligned = !strcmp(cfg_str(c, "data", "layout"), "aligned");
    int btoa = !strcmp(cfg_str(c, "data", "direction"), "BtoA");
    d->ca = (int)cfg_int(c, "data", "channels_a");
    d->cb = (int)cfg_int(c, "data", "channels_b");
    d->size = (int)cfg_int(c, "data", "crop_size");
    image_prep base = {.load_size = (int)cfg_int(c, "data", "load_size"), .crop_size = d->size, .random_crop = 1,
                       .flip = cfg_bool(c, "data", "flip")};
    d->pa = d->pb = base;
    d->pa.channels = d->ca;
    d->pb.channels = d->cb;
    char p1[4200], p2[4200];
    image_list va = {0}, vb = {0};
    int rc = 0;
    if (aligned) {
        d->pa.split = btoa ? 2 : 1;
        d->pb.split = btoa ? 1 : 2;
        sub(p1, sizeof p1, root, "train");
        if (image_list_dir(p1, &d->la, err, errlen) != 0 || image_list_dir(p1, &d->lb, err, errlen) != 0) goto fail;
        sub(p2, sizeof p2, root, "val");
        if (is_dir(p2)) rc = image_list_dir(p2, &va, err, errlen) || image_list_dir(p2, &vb, err, errlen);
        else rc = image_list_dir(p1, &va, err, errlen) || image_list_dir(p1, &vb, err, errlen);
    } else {
        sub(p1, sizeof p1, root, btoa ? "trainB" : "trainA");
        sub(p2, sizeof p2, root, btoa ? "trainA" : "trainB");
        if (image_list_dir(p1, &d->la, err, errlen) != 0 || image_list_dir(p2, &d->lb, err, errlen) != 0) goto fail;
        char t1[4200], t2[4200];
        sub(t1, sizeof t1, root, btoa ? "testB" : "testA");
        sub(t2, sizeof t2, root, btoa ? "testA" : "testB");
        rc = image_list_dir(is_dir(t1) ? t1 : p1, &va, err, errlen) || image_list_dir(is_dir(t2) ? t2 : p2, &vb, err, errlen);
    }
    if (rc) goto fail;
    if (load_val(d, &va, &vb, err, errlen) != 0) goto fail;
    image_list_free(&va);
    image_list_free(&vb);
    int limit = (int)cfg_int(c, "data", "train_limit");
    d->na = limit > 0 && limit < d->la.n ? limit : d->la.n;
    d->nb = limit > 0 && limit < d->lb.n ? limit : d->lb.n;
    d->n = d->na > d->nb ? d->na : d->nb;
    d->order_a = xmalloc((size_t)d->n * sizeof(int));
    d->order_b = xmalloc((size_t)d->n * sizeof(int));
    return 0;
fail:
    if (strstr(root, "edges2fashion") && !is_dir(root)) {
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0, " (derive it with ./make_edges2fashion --out %s; tools/setup.sh does)", root);
    }
    image_list_free(&va);
    image_list_free(&vb);
    cyclegan_data_close(d);
    return -1;
}

static void stop_loaders(cyclegan_data *d) {
    prefetch_stop(d->fa);
    prefetch_stop(d->fb);
    d->fa = d->fb = NULL;
}

void cyclegan_data_seek(cyclegan_data *d, long epoch, long pos) {
    stop_loaders(d);
    if (epoch != d->epoch) { /* the epoch's orders: a permutation for A, uniform draws for B */
        int *perm = xmalloc((size_t)d->n * sizeof(int));
        for (int i = 0; i < d->n; i++) perm[i] = i;
        rng_seq r = rng_seq_make(d->seed, RNG_STREAM_SHUFFLE, (uint32_t)epoch);
        rng_shuffle(&r, perm, d->n);
        rng_seq rb = rng_seq_make(d->seed, RNG_STREAM_PAIR, (uint32_t)epoch);
        for (int i = 0; i < d->n; i++) {
            d->order_a[i] = perm[i] % d->na;
            d->order_b[i] = (int)rng_below(&rb, (uint32_t)d->nb);
        }
        free(perm);
        d->epoch = epoch;
    }
    if (pos >= d->n) pos = 0;
    d->pos = pos;
    unsigned base = (unsigned)(epoch * d->n + pos); /* augmentation draws: by global position */
    d->fa = prefetch_start(&d->la, &d->pa, d->order_a + pos, d->n - (int)pos, d->B, d->seed, RNG_STREAM_AUGMENT, base);
    d->fb = prefetch_start(&d->lb, &d->pb, d->order_b + pos, d->n - (int)pos, d->B, d->seed + 1, RNG_STREAM_AUGMENT,
                           base);
    if (!d->fa || !d->fb) die("cyclegan: cannot start the image loaders");
}

int cyclegan_data_next(cyclegan_data *d, const float **a, const float **b) {
    for (int attempt = 0; attempt < 2; attempt++) {
        int c, h, w;
        int na = prefetch_next(d->fa, a, &c, &h, &w);
        int nb = prefetch_next(d->fb, b, &c, &h, &w);
        int n = na < nb ? na : nb;
        if (n > 0) {
            d->pos += d->B;
            return n;
        }
        cyclegan_data_seek(d, d->epoch, 0); /* ran dry: the epoch's order again */
    }
    die("cyclegan: no readable training images (every file was skipped)");
}

void cyclegan_data_close(cyclegan_data *d) {
    stop_loaders(d);
    image_list_free(&d->la);
    image_list_free(&d->lb);
    free(d->order_a);
    free(d->order_b);
    free(d->val_a);
    free(d->val_b);
    memset(d, 0, sizeof *d);
}
