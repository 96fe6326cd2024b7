/* The adversarial VAE (models/avae.h) on the trainer interface: data (embedded Fashion-MNIST or a
 * CelebA-style folder), one iteration, the grids of seed 004 (samples, VAE and discriminator
 * reconstructions, latent interpolation, class arithmetic), checkpoint parts and the controller state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avae.h"
#include "image_io.h"
#include "images.h"
#include "rng.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"

#define COLS 8
#define SHOW_MAX 256   /* folder data: the first images, held apart for the grids */
#define ARITH_IMAGES 2000
#define ENC_BATCH 250

/* ---- data ------------------------------------------------------------------------------------ */

/* Box-filter resize of a c x h x w image to c x S x S (each output pixel the mean of the input area
 * it covers, fractional edges weighted): the crop of a CelebA image is about 2-3x the training side. */
static void area_resize(const float *in, int c, int h, int w, float *out, int S) {
    double sy = (double)h / S, sx = (double)w / S;
    for (int ch = 0; ch < c; ch++)
        for (int oy = 0; oy < S; oy++)
            for (int ox = 0; ox < S; ox++) {
                double y0 = oy * sy, y1 = y0 + sy, x0 = ox * sx, x1 = x0 + sx, sum = 0, wsum = 0;
                for (int y = (int)y0; y < h && y < y1; y++) {
                    double wy = fmin(y1, y + 1) - fmax(y0, y);
                    for (int x = (int)x0; x < w && x < x1; x++) {
                        double wgt = wy * (fmin(x1, x + 1) - fmax(x0, x));
                        sum += wgt * in[((size_t)ch * h + y) * w + x];
                        wsum += wgt;
                    }
                }
                out[((size_t)ch * S + oy) * S + ox] = (float)(sum / wsum);
            }
}

/* A folder of aligned faces: each image centre-cropped to data.crop_size (0: the largest centred
 * square), area-resized to avae.size, in [0, 1]. The first min(n, 256) images also form the grid set. */
static int load_folder(avae_trainer *r, char *err, size_t errlen) {
    const cfg *c = r->base.c;
    image_list l;
    if (image_list_dir(cfg_str(c, "data", "folder"), &l, err, errlen) != 0) return -1;
    int C = r->m.s.channels, S = r->m.s.size, crop = (int)cfg_int(c, "data", "crop_size");
    int limit = (int)cfg_int(c, "data", "train_limit"), n = limit > 0 && limit < l.n ? limit : l.n, kept = 0;
    size_t per = (size_t)C * S * S;
    float *all = xmalloc((size_t)n * per * sizeof(float));
    for (int i = 0; i < n; i++) {
        int h = 0, w = 0;
        char e2[1024] = "";
        image_prep p = {.channels = C, .crop_size = crop};
        if (!crop && image_probe(l.paths[i], &(image_prep){.channels = C}, &h, &w, e2, sizeof e2) == 0)
            p.crop_size = h < w ? h : w;
        float *img = NULL;
        if (p.crop_size > 0) {
            img = xmalloc((size_t)C * p.crop_size * p.crop_size * sizeof(float));
            if (image_load(l.paths[i], &p, NULL, img, C * p.crop_size * p.crop_size, &h, &w, e2, sizeof e2) != 0) {
                free(img);
                img = NULL;
            }
        }
        if (!img) {
            fprintf(stderr, "clgan: skipping %s\n", e2[0] ? e2 : l.paths[i]);
            continue;
        }
        float *dst = all + (size_t)kept++ * per;
        area_resize(img, C, h, w, dst, S);
        free(img);
        for (size_t k = 0; k < per; k++) dst[k] = 0.5f * dst[k] + 0.5f; /* image_load gives [-1, 1] */
    }
    image_list_free(&l);
    if (!kept) {
        free(all);
        set_err(err, errlen, "%s: no readable images", cfg_str(c, "data", "folder"));
        return -1;
    }
    dataset_from_host(&r->train, r->base.cl, all, kept, C, S, S, NULL);
    dataset_from_host(&r->test, r->base.cl, all, kept < SHOW_MAX ? kept : SHOW_MAX, C, S, S, NULL);
    free(all);
    return 0;
}

static int load_data(avae_trainer *r, char *err, size_t errlen) {
    const cfg *c = r->base.c;
    if (r->folder) return load_folder(r, err, errlen);
    if (dataset_load_idx(&r->train, r->base.cl, cfg_str(c, "data", "train_images"), NULL, (int)cfg_int(c, "data", "train_limit"),
                         err, errlen) != 0)
        return -1;
    if (dataset_load_idx(&r->test, r->base.cl, cfg_str(c, "data", "test_images"), cfg_str(c, "data", "test_labels"), 0, err,
                         errlen) != 0) {
        dataset_free(&r->train);
        return -1;
    }
    return 0;
}

/* ---- the trainer ----------------------------------------------------------------------------- */

static int avae_check(const cfg *c, char *err, size_t errlen) {
    int folder = !strcmp(cfg_str(c, "data", "source"), "folder");
    avae_spec s = {.channels = folder ? (int)cfg_int(c, "data", "channels") : 1, .size = (int)cfg_int(c, "avae", "size"),
                   .n = 1, .zdim = 1, .dzdim = 1};
    if (avae_spec_finish(&s) != 0 || s.levels > 8) {
        set_err(err, errlen, "avae.size = %d: want a side of 4 or more with at most 7 halvings to 8 or below", s.size);
        return -1;
    }
    if (folder && !*cfg_str(c, "data", "folder")) {
        set_err(err, errlen, "data.source = folder needs data.folder");
        return -1;
    }
    return 0;
}

static int avae_init(trainer *tr, char *err, size_t errlen) {
    avae_trainer *r = (avae_trainer *)tr;
    const cfg *c = tr->c;
    r->folder = !strcmp(cfg_str(c, "data", "source"), "folder");
    r->B = (int)cfg_int(c, "train", "batch_size");
    r->shuffled_epoch = -1;
    avae_spec s = {.channels = r->folder ? (int)cfg_int(c, "data", "channels") : 1, .size = (int)cfg_int(c, "avae", "size"),
                   .n = (int)cfg_int(c, "avae", "filters"), .zdim = (int)cfg_int(c, "avae", "zdim"),
                   .dzdim = (int)cfg_int(c, "avae", "d_zdim")};
    if (avae_spec_finish(&s) != 0) {
        set_err(err, errlen, "avae.size = %d is not usable", s.size);
        return -1;
    }
    avae_create(&r->m, tr->cl, &s);
    if (tr->with_data && load_data(r, err, errlen) != 0) {
        avae_free(&r->m);
        return -1;
    }
    avae_init_weights(&r->m, tr->seed);
    double lr = cfg_float(c, "train", "lr"), b1 = cfg_float(c, "train", "beta1"), b2 = cfg_float(c, "train", "beta2");
    double eps = cfg_float(c, "train", "eps"), wd = cfg_float(c, "train", "weight_decay");
    optim_adam(&r->oe, &r->m.enc, lr, b1, b2, eps, wd);
    optim_adam(&r->og, &r->m.gen, lr, b1, b2, eps, wd);
    optim_adam(&r->od, &r->m.disc, lr, b1, b2, eps, wd);
    r->alpha = (float)cfg_float(c, "avae", "alpha"), r->beta = (float)cfg_float(c, "avae", "beta");
    r->gamma = (float)cfg_float(c, "avae", "gamma"), r->eta = (float)cfg_float(c, "avae", "eta");
    r->kl_weight = (float)cfg_float(c, "avae", "kl_weight");
    r->pid = !strcmp(cfg_str(c, "avae", "controller"), "pid");
    r->l1 = (float)cfg_float(c, "avae", "lambda1"), r->l2 = (float)cfg_float(c, "avae", "lambda2");
    r->l3 = (float)cfg_float(c, "avae", "lambda3");
    r->k_clamp = cfg_bool(c, "avae", "k_clamp");
    r->k = cfg_float(c, "avae", "k0"), r->e1 = r->e2 = 0;
    if (!tr->with_data) trainer_fixed_batch(&r->fixed, tr->cl, "bench_x", r->B, s.channels, s.size, s.size, tr->seed, -1.0f, 1.0f);
    tape_init(&tr->t, tr->cl);
    tr->t.cache_derived = 1; /* weights change only through optim_step */
    long ntrain = tr->with_data ? r->train.n : r->B;
    tr->spe = (ntrain + r->B - 1) / r->B;
    tr->epochs = cfg_int(c, "train", "epochs");
    tr->grid_every = cfg_int(c, "avae", "grid_every");
    /* k_t, e_t and the convergence measure first (the columns a reader looks for), L_s after the others */
    static const char *const names[] = {"k", "e", "convergence", "L_d", "L_g", "L_v", "L_e", "L_n",
                                        "L_s", "L_enc", "L_gen", "L_dis"};
    /* the run page's panels: the controller (seed 004 figure 3), the reconstruction errors, the rest */
    static const char *const groups[] = {"k_t and e_t", "k_t and e_t", "convergence", "reconstruction errors",
                                         "reconstruction errors", "reconstruction errors", "reconstruction errors",
                                         "KL and latent", "KL and latent", "network losses", "network losses",
                                         "network losses"};
    tr->nloss = 12;
    for (int i = 0; i < 12; i++) tr->loss_names[i] = names[i], tr->loss_group[i] = groups[i];
    return 0;
}

static void avae_iteration(trainer *tr) {
    avae_trainer *r = (avae_trainer *)tr;
    tape *t = &tr->t;
    tape_reset(t);
    int x;
    if (tr->with_data) {
        long epoch = tr->step / tr->spe, it = tr->step % tr->spe;
        if (epoch != r->shuffled_epoch) {
            dataset_shuffle(&r->train, tr->seed, (unsigned)epoch);
            r->shuffled_epoch = epoch;
        }
        int first = (int)(it * r->B), count = r->train.n - first < r->B ? r->train.n - first : r->B;
        trainer_shard(tr, &first, &count); /* this rank's rows (all of them with one rank) */
        x = tape_dataset_batch_resized(t, &r->train, first, count, r->m.s.size, -1.0f, 1.0f);
    } else {
        x = tape_net_view(t, &r->fixed, 0);
    }
    avae_step_vars *sv = &r->sv;
    avae_step(r, x, (unsigned)tr->step, sv);
    int ids[12] = {tape_const(t, 1, 1, 1, 1, sv->k), tape_const(t, 1, 1, 1, 1, sv->e), tape_const(t, 1, 1, 1, 1, sv->conv),
                   sv->ld, sv->lg, sv->lv, sv->le, sv->ln, sv->ls, sv->lenc, sv->lgen, sv->ldis};
    memcpy(tr->loss, ids, sizeof ids);
    tr->step++;
}

static void avae_describe(trainer *tr, FILE *f) {
    avae_trainer *r = (avae_trainer *)tr;
    const avae_spec *s = &r->m.s;
    fprintf(f, "adversarial VAE: %dx%d x%d images, %d levels (down to %dx%d), %d filters, z %d, D latent %d; %s controller; "
               "training %d images in batches of %d (%ld steps/epoch), %ld epochs\n",
            s->size, s->size, s->channels, s->levels, s->s0, s->s0, s->n, s->zdim, s->dzdim, r->pid ? "PID" : "BEGAN",
            r->train.n, r->B, tr->spe, tr->epochs);
}

/* ---- grids ----------------------------------------------------------------------------------- */

static int save_grid(avae_trainer *r, const char *dir, const char *name, const char *tag, const float *img, int n, int rows,
                     int cols, char *err, size_t errlen) {
    char path[4300], file[128];
    const avae_spec *s = &r->m.s;
    for (int k = 0; k < (tag ? 2 : 1); k++) {
        if (k == 0) snprintf(file, sizeof file, "%s.png", name);
        else snprintf(file, sizeof file, "%s_%s.png", name, tag);
        run_path(path, sizeof path, dir, file);
        if (png_write_grid(path, img, n, s->channels, s->size, s->size, rows, cols, -1, 1, 2, err, errlen) != 0) return -1;
    }
    return 0;
}

/* G(z) for n latent vectors on the host, into the host (evaluation: the tape records nothing). */
static float *decode_host(avae_trainer *r, const float *z, int n) {
    tape *t = &r->base.t;
    tape_reset(t);
    float *img = tape_download_new(t, avae_decode(&r->m, t, tape_upload(t, n, r->m.s.zdim, 1, 1, z)), NULL);
    tape_reset(t);
    return img;
}

/* The first n images of the grid set (identity order) in [-1, 1] and their mu, into host arrays. */
static void encode_host(avae_trainer *r, int n, float *img, float *mu) {
    tape *t = &r->base.t;
    size_t D = (size_t)r->m.s.channels * r->m.s.size * r->m.s.size;
    for (int first = 0; first < n; first += ENC_BATCH) {
        int count = n - first < ENC_BATCH ? n - first : ENC_BATCH;
        tape_reset(t);
        int x = tape_dataset_batch_resized(t, &r->test, first, count, r->m.s.size, -1.0f, 1.0f);
        tape_download(t, x, img + first * D);
        tape_download(t, avae_encode(&r->m, t, x, NULL), mu + (size_t)first * r->m.s.zdim);
    }
    tape_reset(t);
}

static void put(float *grid, int cell, const float *img, size_t D) { memcpy(grid + (size_t)cell * D, img, D * sizeof(float)); }

/* Figure 4: fakes G(z), D(fakes), reals x, D(reals), one row each, twice. */
static float *disc_grid(avae_trainer *r, const float *real, const float *zs) {
    tape *t = &r->base.t;
    size_t D = (size_t)r->m.s.channels * r->m.s.size * r->m.s.size;
    int n = 2 * COLS;
    tape_reset(t);
    int xg = avae_decode(&r->m, t, tape_upload(t, n, r->m.s.zdim, 1, 1, zs));
    int xr = tape_upload(t, n, r->m.s.channels, r->m.s.size, r->m.s.size, real);
    float *fg = tape_download_new(t, xg, NULL), *fd = tape_download_new(t, avae_disc(&r->m, t, xg, NULL), NULL);
    float *rd = tape_download_new(t, avae_disc(&r->m, t, xr, NULL), NULL);
    tape_reset(t);
    float *grid = xmalloc((size_t)4 * n * D * sizeof *grid);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < COLS; i++) {
            int k = b * COLS + i, row0 = b * 4;
            put(grid, (row0 + 0) * COLS + i, fg + k * D, D);
            put(grid, (row0 + 1) * COLS + i, fd + k * D, D);
            put(grid, (row0 + 2) * COLS + i, real + k * D, D);
            put(grid, (row0 + 3) * COLS + i, rd + k * D, D);
        }
    free(fg);
    free(fd);
    free(rd);
    return grid;
}

/* Figure 6: rows of two encoded images with 8 decodings of (1 - a) mu_A + a mu_B between them. */
static float *interp_grid(avae_trainer *r, const float *img, const float *mu, int rows) {
    int Z = r->m.s.zdim, cols = COLS + 2;
    size_t D = (size_t)r->m.s.channels * r->m.s.size * r->m.s.size;
    float *z = xmalloc((size_t)rows * COLS * Z * sizeof *z), *grid = xmalloc((size_t)rows * cols * D * sizeof *grid);
    for (int i = 0; i < rows; i++) {
        const float *a = mu + (size_t)(2 * i) * Z, *b = mu + (size_t)(2 * i + 1) * Z;
        for (int j = 0; j < COLS; j++)
            for (int k = 0; k < Z; k++) {
                float w = (float)j / (COLS - 1);
                z[((size_t)i * COLS + j) * Z + k] = (1 - w) * a[k] + w * b[k];
            }
    }
    float *dec = decode_host(r, z, rows * COLS);
    for (int i = 0; i < rows; i++) {
        put(grid, i * cols, img + (size_t)(2 * i) * D, D);
        for (int j = 0; j < COLS; j++) put(grid, i * cols + 1 + j, dec + ((size_t)i * COLS + j) * D, D);
        put(grid, i * cols + cols - 1, img + (size_t)(2 * i + 1) * D, D);
    }
    free(z);
    free(dec);
    return grid;
}

/* Figure 8 with Fashion-MNIST classes for CelebA's attributes: per row, an image of class `from`,
 * G(mu + w (m_to - m_from)) for w = 0, 0.25, .., 1.25, and G(m_from), G(m_to), where m_c is the mean mu
 * of the class over the first 2000 test images. NULL without labels. */
static const int arith_from[] = {0, 2, 5, 7, 1, 8}, arith_to[] = {3, 4, 7, 9, 3, 6};
#define ARITH_ROWS 6
static float *arith_grid(avae_trainer *r, const float *img, const float *mu, int n) {
    dataset *d = &r->test;
    if (!d->labels || d->ncls < 10) return NULL;
    int Z = r->m.s.zdim;
    size_t D = (size_t)r->m.s.channels * r->m.s.size * r->m.s.size;
    double *mean = xcalloc((size_t)d->ncls * Z, sizeof *mean);
    int *cnt = xcalloc((size_t)d->ncls, sizeof *cnt);
    for (int i = 0; i < n; i++) {
        cnt[d->labels[i]]++;
        for (int k = 0; k < Z; k++) mean[(size_t)d->labels[i] * Z + k] += mu[(size_t)i * Z + k];
    }
    for (int c = 0; c < d->ncls; c++)
        for (int k = 0; k < Z; k++) mean[(size_t)c * Z + k] /= cnt[c] ? cnt[c] : 1;
    float *z = xmalloc((size_t)ARITH_ROWS * 8 * Z * sizeof *z), *grid = xmalloc((size_t)ARITH_ROWS * 9 * D * sizeof *grid);
    int src[ARITH_ROWS];
    for (int i = 0; i < ARITH_ROWS; i++) {
        int f = arith_from[i], to = arith_to[i];
        src[i] = 0;
        while (src[i] < n - 1 && d->labels[src[i]] != f) src[i]++;
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < Z; k++) {
                double mf = mean[(size_t)f * Z + k], mt = mean[(size_t)to * Z + k];
                z[((size_t)i * 8 + j) * Z + k] = (float)(j < 6 ? mu[(size_t)src[i] * Z + k] + 0.25 * j * (mt - mf) : j == 6 ? mf : mt);
            }
    }
    float *dec = decode_host(r, z, ARITH_ROWS * 8);
    for (int i = 0; i < ARITH_ROWS; i++) {
        put(grid, i * 9, img + (size_t)src[i] * D, D);
        for (int j = 0; j < 8; j++) put(grid, i * 9 + 1 + j, dec + ((size_t)i * 8 + j) * D, D);
    }
    free(mean);
    free(cnt);
    free(z);
    free(dec);
    return grid;
}

static int avae_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    avae_trainer *r = (avae_trainer *)tr;
    tape *t = &tr->t;
    int Z = r->m.s.zdim, ns = COLS * COLS, n = r->test.n < ARITH_IMAGES ? r->test.n : ARITH_IMAGES;
    size_t D = (size_t)r->m.s.channels * r->m.s.size * r->m.s.size;
    if (n < 6 * COLS) { /* 32 reconstructions, then 12 images for the interpolation rows */
        set_err(err, errlen, "the grids want at least %d images, the grid set has %d", 6 * COLS, n);
        return -1;
    }
    float *z = xmalloc((size_t)ns * Z * sizeof *z);
    rng_seq rs = rng_seq_make(tr->seed, RNG_STREAM_SAMPLE, 0);
    for (int i = 0; i < ns * Z; i++) z[i] = rng_normal(&rs);
    t->grad_enabled = 0;
    float *img = xmalloc((size_t)n * D * sizeof *img), *mu = xmalloc((size_t)n * Z * sizeof *mu);
    encode_host(r, n, img, mu);
    float *samples = decode_host(r, z, ns);
    /* VAE reconstructions G(mu(x)) beside x: 32 pairs */
    float *rec = decode_host(r, mu, 4 * COLS), *pairs = xmalloc((size_t)ns * D * sizeof *pairs);
    for (int i = 0; i < ns / 2; i++) {
        put(pairs, 2 * i, img + i * D, D);
        put(pairs, 2 * i + 1, rec + i * D, D);
    }
    float *disc = disc_grid(r, img, z);
    int irows = 6;
    float *interp = interp_grid(r, img + (size_t)4 * COLS * D, mu + (size_t)4 * COLS * Z, irows);
    float *arith = arith_grid(r, img, mu, n);
    t->grad_enabled = 1;
    int rc = save_grid(r, dir, "samples", tag, samples, ns, COLS, COLS, err, errlen);
    if (rc == 0) rc = save_grid(r, dir, "reconstructions", tag, pairs, ns, COLS, COLS, err, errlen);
    if (rc == 0) rc = save_grid(r, dir, "disc_reconstructions", tag, disc, 8 * COLS, 8, COLS, err, errlen);
    if (rc == 0) rc = save_grid(r, dir, "interpolation", tag, interp, irows * (COLS + 2), irows, COLS + 2, err, errlen);
    if (rc == 0 && arith) rc = save_grid(r, dir, "arithmetic", tag, arith, ARITH_ROWS * 9, ARITH_ROWS, 9, err, errlen);
    free(z);
    free(img);
    free(mu);
    free(samples);
    free(rec);
    free(pairs);
    free(disc);
    free(interp);
    free(arith);
    return rc;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

static int avae_parts(trainer *tr, ckpt_part *parts) {
    avae_trainer *r = (avae_trainer *)tr;
    parts[0] = (ckpt_part){&r->m.enc, &r->oe};
    parts[1] = (ckpt_part){&r->m.gen, &r->og};
    parts[2] = (ckpt_part){&r->m.disc, &r->od};
    return 3;
}

static void avae_meta_save(trainer *tr, ckpt_meta *meta) {
    avae_trainer *r = (avae_trainer *)tr;
    ckpt_meta_add(meta, "adam_t_enc", "%ld", r->oe.t);
    ckpt_meta_add(meta, "adam_t_gen", "%ld", r->og.t);
    ckpt_meta_add(meta, "adam_t_disc", "%ld", r->od.t);
    ckpt_meta_add(meta, "k", "%.17g", r->k); /* the controller's state, exactly */
    ckpt_meta_add(meta, "e1", "%.17g", r->e1);
    ckpt_meta_add(meta, "e2", "%.17g", r->e2);
    ckpt_meta_add(meta, "avae.size", "%d", r->m.s.size);
    ckpt_meta_add(meta, "avae.channels", "%d", r->m.s.channels);
    ckpt_meta_add(meta, "avae.filters", "%d", r->m.s.n);
    ckpt_meta_add(meta, "avae.zdim", "%d", r->m.s.zdim);
    ckpt_meta_add(meta, "avae.d_zdim", "%d", r->m.s.dzdim);
}

static int meta_double(const st_file *f, const char *path, const char *key, double *out, char *err, size_t errlen) {
    const char *s = st_meta(f, key);
    char *end;
    if (!s) {
        set_err(err, errlen, "%s: checkpoint metadata has no '%s'", path, key);
        return -1;
    }
    *out = strtod(s, &end);
    if (end == s || *end || !isfinite(*out)) {
        set_err(err, errlen, "%s: checkpoint metadata '%s' = '%s' is not a finite number", path, key, s);
        return -1;
    }
    return 0;
}

static int avae_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    avae_trainer *r = (avae_trainer *)tr;
    if (ckpt_meta_long_range(f, path, "adam_t_enc", 0, tr->step, &r->oe.t, err, errlen) ||
        ckpt_meta_long_range(f, path, "adam_t_gen", 0, tr->step, &r->og.t, err, errlen) ||
        ckpt_meta_long_range(f, path, "adam_t_disc", 0, tr->step, &r->od.t, err, errlen) || meta_double(f, path, "k", &r->k, err, errlen) ||
        meta_double(f, path, "e1", &r->e1, err, errlen) || meta_double(f, path, "e2", &r->e2, err, errlen))
        return -1;
    return 0;
}

static void avae_trainer_free(trainer *tr) {
    avae_trainer *r = (avae_trainer *)tr;
    tape_free(&tr->t);
    optim_free(&r->oe);
    optim_free(&r->og);
    optim_free(&r->od);
    avae_free(&r->m);
    if (tr->with_data) {
        dataset_free(&r->train);
        dataset_free(&r->test);
    } else {
        net_free(&r->fixed);
    }
}

static const cfg_key avae_keys[] = {
    {"data", "source", CFG_CHOICE, "fashion-mnist", "fashion-mnist (the embedded IDX files) or folder (CelebA-style images)",
     "fashion-mnist|folder", 0, 0},
    {"data", "train_images", CFG_STR, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "IDX images to train on", NULL, 0, 0},
    {"data", "test_images", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
     "IDX images for the grids (reconstructions, interpolation, class means)", NULL, 0, 0},
    {"data", "test_labels", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
     "IDX labels of the test images (the class arithmetic grid)", NULL, 0, 0},
    {"data", "folder", CFG_STR, "", "source = folder: a folder of aligned face images (png, jpg, bmp)", NULL, 0, 0},
    {"data", "channels", CFG_INT, "3", "source = folder: 3 (RGB) or 1 (grey)", NULL, 1, 3},
    {"data", "crop_size", CFG_INT, "140", "source = folder: centre crop side before the resize to avae.size; 0 = the largest square",
     NULL, 0, 65536},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training images; 0 = all", NULL, 0, 2147483647},
    {"avae", "size", CFG_INT, "28", "image side (28 for Fashion-MNIST, 32 resizes it; 64 for faces)", NULL, 4, 1024},
    {"avae", "filters", CFG_INT, "16", "n: channels of the first level (encoders grow n per level, decoders keep n)", NULL, 1, 1024},
    {"avae", "zdim", CFG_INT, "32", "VAE latent size", NULL, 1, 4096},
    {"avae", "d_zdim", CFG_INT, "32", "latent size of the discriminator auto-encoder", NULL, 1, 4096},
    {"avae", "alpha", CFG_FLOAT, "0.3", "weight of L_v (discriminator error on VAE reconstructions)", NULL, 0, 1e6},
    {"avae", "beta", CFG_FLOAT, "0.1", "weight of L_s (latent similarity in the discriminator)", NULL, 0, 1e6},
    {"avae", "gamma", CFG_FLOAT, "0.1", "weight of L_e (VAE L1 reconstruction)", NULL, 0, 1e6},
    {"avae", "eta", CFG_FLOAT, "0.5", "diversity factor eta of the equilibrium", NULL, 0, 1e6},
    {"avae", "kl_weight", CFG_FLOAT, "1", "weight of L_n (KL, a mean over latent elements) in L_enc (1 in the seed)", NULL, 0, 1e6},
    {"avae", "controller", CFG_CHOICE, "pid", "k_t update: pid (seed 004 Eq. 12) or began (k += lambda1 e_t)", "pid|began", 0, 0},
    {"avae", "lambda1", CFG_FLOAT, "1e-3", "gain of e_t (the integral action; BEGAN's lambda_k)", NULL, -10, 10},
    {"avae", "lambda2", CFG_FLOAT, "1e-5", "gain of e_t - e_{t-1} (proportional action; pid only)", NULL, -10, 10},
    {"avae", "lambda3", CFG_FLOAT, "1e-5", "gain of e_t - 2 e_{t-1} + e_{t-2} (derivative action; pid only)", NULL, -10, 10},
    {"avae", "k0", CFG_FLOAT, "0", "k before the first iteration", NULL, -10, 10},
    {"avae", "k_clamp", CFG_BOOL, "true", "clamp k_t to [0, 1] as BEGAN (the seed says nothing)", NULL, 0, 0},
    {"avae", "grid_every", CFG_INT, "500", "steps between extra grids and checkpoints; 0 = at epoch ends only", NULL, 0, 2147483647},
};

/* ---- ./bench: tools/torch_ref/avae_torch.py ------------------------------------------------------- */

static int avae_torch_args(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen) {
    if (!strcmp(cfg_str(c, "data", "source"), "folder") && cfg_int(c, "data", "channels") != 1) {
        set_err(err, errlen, "the PyTorch twin (tools/torch_ref/avae_torch.py) is timed at one channel");
        return -1;
    }
    torch_arg(argv, argc, "--size", "%ld", cfg_int(c, "avae", "size"));
    torch_arg(argv, argc, "--filters", "%ld", cfg_int(c, "avae", "filters"));
    torch_arg(argv, argc, "--zdim", "%ld", cfg_int(c, "avae", "zdim"));
    torch_arg(argv, argc, "--d-zdim", "%ld", cfg_int(c, "avae", "d_zdim"));
    torch_arg(argv, argc, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    static const char *const hp[] = {"alpha", "beta", "gamma", "eta", "kl_weight", "k0"};
    for (size_t i = 0; i < sizeof hp / sizeof hp[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "--%s", hp[i]);
        for (char *q = key; *q; q++) if (*q == '_') *q = '-';
        torch_arg(argv, argc, key, "%.9g", cfg_float(c, "avae", hp[i]));
    }
    torch_arg(argv, argc, "--controller", "%s", cfg_str(c, "avae", "controller"));
    torch_arg(argv, argc, "--lambdas", "%.9g,%.9g,%.9g", cfg_float(c, "avae", "lambda1"), cfg_float(c, "avae", "lambda2"),
              cfg_float(c, "avae", "lambda3"));
    if (!cfg_bool(c, "avae", "k_clamp")) torch_arg(argv, argc, "--no-k-clamp", NULL);
    torch_adam_args(c, argv, argc);
    return 0;
}

const model_desc avae_model = {
    .type = "avae",
    .summary = "adversarial VAE (seed 004): VAE generator, auto-encoder discriminator, PID-controlled k_t",
    .keys = avae_keys,
    .nkeys = (int)(sizeof avae_keys / sizeof avae_keys[0]),
    .size = sizeof(avae_trainer),
    .check = avae_check,
    .init = avae_init,
    .iteration = avae_iteration,
    .describe = avae_describe,
    .grids = avae_grids,
    .parts = avae_parts,
    .meta_save = avae_meta_save,
    .meta_load = avae_meta_load,
    .free = avae_trainer_free,
    .torch_script = "tools/torch_ref/avae_torch.py",
    .torch_args = avae_torch_args,
    .bench_warmup = 2,
    .bench_iters = 10,
};
