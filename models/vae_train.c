/* The VAE on the trainer interface (models/model.h): data order, one step, test-set MSE, grids,
 * checkpoint parts. The run loop (models/run.c) does the rest. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "rng.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"
#include "vae.h"

#define GRID 6
#define EVAL_BATCH 1000

typedef struct {
    trainer base;
    dataset train, test;
    vae m;
    optim opt;
    net fixed; /* with_data = 0: one random batch in [0, 1] */
    int B, eval_images;
    long shuffled_epoch;
} vae_trainer;

/* One-hot labels of rows [first, first+count) of d's current order (conditional VAE), else -1. */
static int labels(vae_trainer *r, dataset *d, int first, int count) {
    return r->m.s.ncls ? tape_dataset_onehot(&r->base.t, d, first, count, 1, 1) : -1;
}

vae_vars vae_train_step(vae *m, optim *opt, tape *t, int x, int y, unsigned long long seed, unsigned step) {
    net_zero_grad(&m->net);
    vae_vars v = vae_forward_y(m, t, x, y, seed, step);
    tape_backward(t, v.loss);
    optim_step(opt);
    return v;
}

static int vae_trainer_init(trainer *tr, char *err, size_t errlen) {
    vae_trainer *r = (vae_trainer *)tr;
    const cfg *c = tr->c;
    int cond = cfg_bool(c, "vae", "conditional"), h = 28, w = 28, ncls = 0;
    r->B = (int)cfg_int(c, "train", "batch_size");
    r->shuffled_epoch = -1;
    long ntrain = r->B;
    if (tr->with_data) {
        if (dataset_load_idx(&r->train, tr->cl, cfg_str(c, "data", "train_images"),
                             cond ? cfg_str(c, "data", "train_labels") : NULL, (int)cfg_int(c, "data", "train_limit"), err,
                             errlen) != 0)
            return -1;
        if (dataset_load_idx(&r->test, tr->cl, cfg_str(c, "data", "test_images"), cond ? cfg_str(c, "data", "test_labels") : NULL,
                             0, err, errlen) != 0) {
            dataset_free(&r->train);
            return -1;
        }
        h = r->train.h, w = r->train.w, ntrain = r->train.n;
        ncls = r->train.ncls > r->test.ncls ? r->train.ncls : r->test.ncls;
    } else if (cond) {
        ncls = 10;
    }
    int conv = !strcmp(cfg_str(c, "vae", "arch"), "conv");
    vae_spec spec = {.in_c = 1, .in_h = h, .in_w = w, .hidden = (int)cfg_int(c, "vae", "hidden"),
                     .zdim = (int)cfg_int(c, "vae", "zdim"), .relu_latent = cfg_bool(c, "vae", "relu_latent"),
                     .conv1 = conv ? (int)cfg_int(c, "vae", "conv1") : 0, .conv2 = conv ? (int)cfg_int(c, "vae", "conv2") : 0,
                     .ncls = cond ? ncls : 0, .kl_weight = (float)cfg_float(c, "vae", "kl_weight")};
    vae_create_spec(&r->m, tr->cl, &spec);
    vae_init_weights(&r->m, tr->seed);
    optim_adam(&r->opt, &r->m.net, cfg_float(c, "train", "lr"), cfg_float(c, "train", "beta1"), cfg_float(c, "train", "beta2"),
               cfg_float(c, "train", "eps"), cfg_float(c, "train", "weight_decay"));
    if (!tr->with_data) trainer_fixed_batch(&r->fixed, tr->cl, "bench_x", r->B, 1, h, w, tr->seed, 0.0f, 1.0f);
    tape_init(&tr->t, tr->cl);
    tr->t.cache_derived = 1; /* weights change only through optim_step / net_clip_weights */
    tr->spe = (ntrain + r->B - 1) / r->B; /* the last, smaller batch is kept, as PyTorch's DataLoader does */
    tr->epochs = cfg_int(c, "train", "epochs");
    tr->eval_every = cfg_int(c, "eval", "every");
    r->eval_images = (int)cfg_int(c, "eval", "images");
    tr->nloss = 3;
    tr->loss_names[0] = "recon", tr->loss_names[1] = "kl", tr->loss_names[2] = "loss";
    tr->loss_group[0] = tr->loss_group[2] = "reconstruction and total", tr->loss_group[1] = "KL divergence";
    return 0;
}

static void vae_iteration(trainer *tr) {
    vae_trainer *r = (vae_trainer *)tr;
    tape *t = &tr->t;
    tape_reset(t);
    int x, y = -1;
    if (tr->with_data) {
        long epoch = tr->step / tr->spe, it = tr->step % tr->spe;
        if (epoch != r->shuffled_epoch) {
            dataset_shuffle(&r->train, tr->seed, (unsigned)epoch);
            r->shuffled_epoch = epoch;
        }
        int first = (int)(it * r->B), count = r->train.n - first < r->B ? r->train.n - first : r->B;
        trainer_shard(tr, &first, &count); /* this rank's rows (all of them with one rank) */
        r->m.eps_row0 = tr->shard_row0, r->m.eps_rows = tr->batch_rows;
        x = tape_dataset_batch(t, &r->train, first, count, 1.0f);
        y = labels(r, &r->train, first, count);
    } else {
        x = tape_net_view(t, &r->fixed, 0);
        if (r->m.s.ncls) y = tape_const(t, r->B, r->m.s.ncls, 1, 1, 1.0f / (float)r->m.s.ncls);
    }
    vae_vars v = vae_train_step(&r->m, &r->opt, t, x, y, tr->seed, (unsigned)tr->step);
    tr->loss[0] = v.recon, tr->loss[1] = v.kl, tr->loss[2] = v.loss;
    tr->step++;
}

static void vae_describe(trainer *tr, FILE *f) {
    vae_trainer *r = (vae_trainer *)tr;
    fprintf(f, "training %d images in batches of %d (%ld steps/epoch), %ld epochs, testing on %d images\n", r->train.n, r->B,
            tr->spe, tr->epochs, r->test.n);
}

/* Mean squared error between test images and their reconstructions decoded from mu. */
static double eval_mse(vae_trainer *r, int nimages) {
    tape *t = &r->base.t;
    if (nimages > r->test.n) nimages = r->test.n;
    double sum = 0;
    t->grad_enabled = 0;
    for (int first = 0; first < nimages; first += EVAL_BATCH) {
        int count = nimages - first < EVAL_BATCH ? nimages - first : EVAL_BATCH;
        tape_reset(t);
        int x = tape_dataset_batch(t, &r->test, first, count, 1.0f), y = labels(r, &r->test, first, count);
        int xhat = vae_decode(&r->m, t, vae_encode_mu(&r->m, t, x, y), y);
        sum += tape_read_scalar(t, op_sqerr_sum(t, xhat, tape_view(t, x, count, r->m.in_dim, 1, 1), 1.0f));
    }
    t->grad_enabled = 1;
    tape_reset(t);
    return sum / ((double)nimages * r->m.in_dim);
}

static int vae_evaluate(trainer *tr, const char *dir, int full, char *err, size_t errlen) {
    vae_trainer *r = (vae_trainer *)tr;
    char path[4200];
    run_path(path, sizeof path, dir, "eval.csv");
    FILE *f = fopen(path, "a");
    if (!f) {
        set_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    if (ftell(f) == 0) fprintf(f, "step,epoch,images,test_mse\n");
    int n = full || r->eval_images > r->test.n ? r->test.n : r->eval_images;
    double mse = eval_mse(r, n);
    long epoch = (tr->step - 1) / tr->spe + 1;
    fprintf(f, "%ld,%ld,%d,%.7g\n", tr->step, epoch, n, mse);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        set_err(err, errlen, "%s: write failed", path);
        return -1;
    }
    if (full) printf("epoch %ld done: test reconstruction MSE %.5f\n", epoch, mse);
    return 0;
}

/* Writes grid (rows x cols images of the test set's shape) as name.png and name_tag.png. */
static int save_grid(vae_trainer *r, const char *dir, const char *name, const char *tag, const float *img, int n, int rows,
                     int cols, char *err, size_t errlen) {
    char path[4300], file[128];
    for (int k = 0; k < (tag ? 2 : 1); k++) {
        if (k == 0) snprintf(file, sizeof file, "%s.png", name);
        else snprintf(file, sizeof file, "%s_%s.png", name, tag);
        run_path(path, sizeof path, dir, file);
        if (png_write_grid(path, img, n, 1, r->test.h, r->test.w, rows, cols, 0, 1, 2, err, errlen) != 0) return -1;
    }
    return 0;
}

/* A 6x6 grid decoded from fixed N(0, I) draws (one row per class for a conditional VAE), and 36 test
 * images beside their reconstructions. */
static int vae_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    vae_trainer *r = (vae_trainer *)tr;
    tape *t = &tr->t;
    int D = r->m.in_dim, Z = r->m.zdim, ncls = r->m.s.ncls, rows = ncls ? ncls : GRID, n = rows * GRID;
    float *z = xmalloc((size_t)n * Z * sizeof *z);
    rng_seq rs = rng_seq_make(tr->seed, RNG_STREAM_SAMPLE, 0);
    for (int i = 0; i < GRID * GRID * Z; i++) z[i] = rng_normal(&rs);
    if (ncls) /* one z per column, shared down the classes */
        for (int i = GRID; i < n; i++) memcpy(z + (size_t)i * Z, z + (size_t)(i % GRID) * Z, (size_t)Z * sizeof *z);
    t->grad_enabled = 0;
    tape_reset(t);
    int ys = -1;
    if (ncls) {
        float *oh = xcalloc((size_t)n * ncls, sizeof *oh);
        for (int i = 0; i < n; i++) oh[(size_t)i * ncls + i / GRID] = 1.0f;
        ys = tape_upload(t, n, ncls, 1, 1, oh);
        free(oh);
    }
    float *img = tape_download_new(t, vae_decode(&r->m, t, tape_upload(t, n, Z, 1, 1, z), ys), NULL);
    tape_reset(t);
    int m = GRID * GRID; /* 36 test images beside their reconstructions */
    int x = tape_dataset_batch(t, &r->test, 0, m, 1.0f), yr = labels(r, &r->test, 0, m);
    float *orig = tape_download_new(t, x, NULL);
    float *recon = tape_download_new(t, vae_decode(&r->m, t, vae_encode_mu(&r->m, t, x, yr), yr), NULL);
    float *pairs = xmalloc((size_t)2 * m * D * sizeof *pairs);
    for (int i = 0; i < m; i++) { /* each test image, then its reconstruction */
        memcpy(pairs + (size_t)(2 * i) * D, orig + (size_t)i * D, (size_t)D * sizeof(float));
        memcpy(pairs + (size_t)(2 * i + 1) * D, recon + (size_t)i * D, (size_t)D * sizeof(float));
    }
    t->grad_enabled = 1;
    tape_reset(t);
    int rc = save_grid(r, dir, "samples", tag, img, n, rows, GRID, err, errlen);
    if (rc == 0) rc = save_grid(r, dir, "reconstructions", tag, pairs, 2 * m, GRID, 2 * GRID, err, errlen);
    free(z);
    free(img);
    free(pairs);
    free(orig);
    free(recon);
    return rc;
}

static int vae_parts(trainer *tr, ckpt_part *parts) {
    vae_trainer *r = (vae_trainer *)tr;
    parts[0] = (ckpt_part){&r->m.net, &r->opt};
    return 1;
}

static void vae_meta_save(trainer *tr, ckpt_meta *meta) { ckpt_meta_add(meta, "adam_t", "%ld", ((vae_trainer *)tr)->opt.t); }

static int vae_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    vae_trainer *r = (vae_trainer *)tr;
    return ckpt_meta_long_range(f, path, "adam_t", 0, tr->step, &r->opt.t, err, errlen); /* one Adam step per step */
}

static void vae_trainer_free(trainer *tr) {
    vae_trainer *r = (vae_trainer *)tr;
    tape_free(&tr->t);
    optim_free(&r->opt);
    vae_free(&r->m);
    if (tr->with_data) {
        dataset_free(&r->train);
        dataset_free(&r->test);
    } else {
        net_free(&r->fixed);
    }
}

/* What tools/torch_ref/vae_iter.py does: the fully-connected, unconditional VAE without latent ReLU. */
static int vae_torch_args(const cfg *c, char argv[][64], int *argc, char *err, size_t errlen) {
    if (strcmp(cfg_str(c, "vae", "arch"), "mlp") || cfg_bool(c, "vae", "conditional") || cfg_bool(c, "vae", "relu_latent")) {
        set_err(err, errlen, "the PyTorch twin (tools/torch_ref/vae_iter.py) is the fully-connected, unconditional VAE "
                             "without latent ReLU (vae.arch = mlp, vae.conditional = false, vae.relu_latent = false)");
        return -1;
    }
    torch_arg(argv, argc, "--batch", "%ld", cfg_int(c, "train", "batch_size"));
    torch_arg(argv, argc, "--hidden", "%ld", cfg_int(c, "vae", "hidden"));
    torch_arg(argv, argc, "--zdim", "%ld", cfg_int(c, "vae", "zdim"));
    torch_arg(argv, argc, "--kl-weight", "%.9g", cfg_float(c, "vae", "kl_weight"));
    torch_adam_args(c, argv, argc);
    return 0;
}

static const cfg_key vae_keys[] = {
    {"data", "train_images", CFG_STR, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
     "IDX images to train on (gzip or plain)", NULL, 0, 0},
    {"data", "test_images", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
     "IDX images for the test reconstruction error and grids", NULL, 0, 0},
    {"data", "train_labels", CFG_STR, "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
     "IDX labels of the training images (conditional VAE)", NULL, 0, 0},
    {"data", "test_labels", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
     "IDX labels of the test images (conditional VAE)", NULL, 0, 0},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training images; 0 = all", NULL, 0, 2147483647},
    {"vae", "arch", CFG_CHOICE, "mlp", "mlp: fully-connected encoder (seed 003); conv: two 3x3 convolutions first (seed 002)", "mlp|conv", 0, 0},
    {"vae", "conv1", CFG_INT, "8", "channels of the first encoder convolution (arch = conv)", NULL, 1, 4096},
    {"vae", "conv2", CFG_INT, "16", "channels of the second encoder convolution (arch = conv)", NULL, 1, 4096},
    {"vae", "conditional", CFG_BOOL, "false", "conditional VAE: the one-hot label joins the encoder input and z (seed 002)", NULL, 0, 0},
    {"vae", "zdim", CFG_INT, "5", "latent dimensions", NULL, 1, 4096},
    {"vae", "hidden", CFG_INT, "400", "hidden units of the encoder and decoder", NULL, 1, 65536},
    {"vae", "kl_weight", CFG_FLOAT, "1", "weight of the KL term against the reconstruction BCE (1:1 in the seed)", NULL, 0, 1e6},
    {"vae", "relu_latent", CFG_BOOL, "false", "apply the ReLU that seed 003's table prints after the mu and log-variance layers", NULL, 0, 0},
    {"eval", "every", CFG_INT, "100", "steps between test reconstruction MSE measurements", NULL, 1, 2147483647},
    {"eval", "images", CFG_INT, "1000", "test images used every eval.every steps (the whole test set is used at each epoch's end)", NULL, 1, 2147483647},
};

const model_desc vae_model = {
    .type = "vae",
    .summary = "VAE (seed 003: 784-400-zdim-400-784, BCE + KL), convolutional and conditional (seed 002)",
    .keys = vae_keys,
    .nkeys = (int)(sizeof vae_keys / sizeof vae_keys[0]),
    .size = sizeof(vae_trainer),
    .init = vae_trainer_init,
    .iteration = vae_iteration,
    .describe = vae_describe,
    .grids = vae_grids,
    .evaluate = vae_evaluate,
    .parts = vae_parts,
    .meta_save = vae_meta_save,
    .meta_load = vae_meta_load,
    .free = vae_trainer_free,
    .torch_script = "tools/torch_ref/vae_iter.py",
    .torch_args = vae_torch_args,
    .bench_warmup = 20,
    .bench_iters = 200,
};
