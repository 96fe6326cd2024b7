/* The Fashion-MNIST classifier on the trainer interface (models/model.h): cross-entropy steps, the test
 * set's loss and accuracy in eval.csv, a grid of test images by predicted class. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fashion_classifier.h"
#include "image_io.h"
#include "ops_xent.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"

#define EVAL_BATCH 500
#define GRID_COLS 8

typedef struct {
    trainer base;
    fashion_spec s;
    seqnet f, c;
    optim of, oc;
    dataset train, test;
    net fixed, fixed_y; /* with_data = 0: one random batch and its one-hot labels */
    int B;
    long shuffled_epoch;
} fashion_trainer;

static int fc_init(trainer *tr, char *err, size_t errlen) {
    fashion_trainer *r = (fashion_trainer *)tr;
    const cfg *c = tr->c;
    r->B = (int)cfg_int(c, "train", "batch_size");
    r->shuffled_epoch = -1;
    long ntrain = r->B;
    int h = 28, w = 28, ncls = 10;
    if (tr->with_data) {
        if (dataset_load_idx(&r->train, tr->cl, cfg_str(c, "data", "train_images"), cfg_str(c, "data", "train_labels"),
                             (int)cfg_int(c, "data", "train_limit"), err, errlen) != 0)
            return -1;
        if (dataset_load_idx(&r->test, tr->cl, cfg_str(c, "data", "test_images"), cfg_str(c, "data", "test_labels"), 0, err,
                             errlen) != 0) {
            dataset_free(&r->train);
            return -1;
        }
        h = r->train.h, w = r->train.w, ntrain = r->train.n;
        if (r->test.h != h || r->test.w != w || r->train.c != 1 || r->test.c != 1) {
            set_err(err, errlen, "the test images (%dx%d) differ from the training images (%dx%d), or are not grey",
                    r->test.h, r->test.w, h, w);
            dataset_free(&r->train), dataset_free(&r->test);
            return -1;
        }
        ncls = r->train.ncls > r->test.ncls ? r->train.ncls : r->test.ncls;
        if (ncls < 2) ncls = 2;
    }
    r->s = (fashion_spec){.conv1 = (int)cfg_int(c, "classifier", "conv1"), .conv2 = (int)cfg_int(c, "classifier", "conv2"),
                          .feat = (int)cfg_int(c, "classifier", "feat"), .in_h = h, .in_w = w, .ncls = ncls};
    fashion_build(&r->s, &r->f, &r->c, tr->cl);
    seq_init_weights(&r->f, INIT_TORCH_DEFAULT, tr->seed);
    seq_init_weights(&r->c, INIT_TORCH_DEFAULT, tr->seed + 1);
    double lr = cfg_float(c, "train", "lr"), b1 = cfg_float(c, "train", "beta1"), b2 = cfg_float(c, "train", "beta2");
    double eps = cfg_float(c, "train", "eps"), wd = cfg_float(c, "train", "weight_decay");
    optim_adam(&r->of, &r->f.params, lr, b1, b2, eps, wd);
    optim_adam(&r->oc, &r->c.params, lr, b1, b2, eps, wd);
    if (!tr->with_data) {
        trainer_fixed_batch(&r->fixed, tr->cl, "bench_x", r->B, 1, h, w, tr->seed, 0.0f, 1.0f);
        trainer_fixed_batch(&r->fixed_y, tr->cl, "bench_y", r->B, ncls, 1, 1, tr->seed + 1, 0.0f, 0.2f); /* soft targets */
    }
    tape_init(&tr->t, tr->cl);
    tr->t.cache_derived = 1; /* weights change only through optim_step */
    tr->spe = (ntrain + r->B - 1) / r->B;
    tr->epochs = cfg_int(c, "train", "epochs");
    tr->eval_every = cfg_int(c, "eval", "every");
    tr->nloss = 1;
    tr->loss_names[0] = "cross_entropy";
    tr->loss_group[0] = "training cross-entropy";
    return 0;
}

static void fc_iteration(trainer *tr) {
    fashion_trainer *r = (fashion_trainer *)tr;
    tape *t = &tr->t;
    tape_reset(t);
    int x, y, count = r->B;
    if (tr->with_data) {
        long epoch = tr->step / tr->spe, it = tr->step % tr->spe;
        if (epoch != r->shuffled_epoch) {
            dataset_shuffle(&r->train, tr->seed, (unsigned)epoch);
            r->shuffled_epoch = epoch;
        }
        int first = (int)(it * r->B);
        count = r->train.n - first < r->B ? r->train.n - first : r->B;
        x = tape_dataset_batch(t, &r->train, first, count, 1.0f);
        y = tape_dataset_onehot(t, &r->train, first, count, 1, 1);
    } else {
        x = tape_net_view(t, &r->fixed, 0);
        y = tape_net_view(t, &r->fixed_y, 0);
    }
    seq_ctx ctx = {.training = 1, .seed = tr->seed, .step = (unsigned)tr->step};
    net_zero_grad(&r->f.params);
    net_zero_grad(&r->c.params);
    int logits = seq_forward(&r->c, t, seq_forward(&r->f, t, x, &ctx), &ctx);
    int loss = op_softmax_xent_sum(t, logits, y, 1.0f / (float)count); /* the batch mean, as F.cross_entropy */
    tape_backward(t, loss);
    optim_step(&r->of);
    optim_step(&r->oc);
    tr->loss[0] = loss;
    tr->step++;
}

static void fc_describe(trainer *tr, FILE *f) {
    fashion_trainer *r = (fashion_trainer *)tr;
    fprintf(f, "classifying %d classes: %d training images in batches of %d (%ld steps/epoch), %ld epochs, testing on %d\n",
            r->s.ncls, r->train.n, r->B, tr->spe, tr->epochs, r->test.n);
}

/* The test set's mean cross-entropy and accuracy over its first n images; pred (if not NULL) gets
 * each image's predicted class. */
static void test_scores(fashion_trainer *r, int n, double *loss, double *acc, int *pred) {
    tape *t = &r->base.t;
    seq_ctx ctx = {.training = 0};
    double sum = 0;
    long right = 0;
    float *lg = xmalloc((size_t)EVAL_BATCH * r->s.ncls * sizeof *lg);
    t->grad_enabled = 0;
    dataset_order_identity(&r->test);
    for (int first = 0; first < n; first += EVAL_BATCH) {
        int m = n - first < EVAL_BATCH ? n - first : EVAL_BATCH;
        tape_reset(t);
        int x = tape_dataset_batch(t, &r->test, first, m, 1.0f);
        int logits = seq_forward(&r->c, t, seq_forward(&r->f, t, x, &ctx), &ctx);
        sum += tape_read_scalar(t, op_softmax_xent_sum(t, logits, tape_dataset_onehot(t, &r->test, first, m, 1, 1), 1.0f));
        tape_download(t, logits, lg);
        for (int i = 0; i < m; i++) {
            int best = 0;
            for (int k = 1; k < r->s.ncls; k++)
                if (lg[(size_t)i * r->s.ncls + k] > lg[(size_t)i * r->s.ncls + best]) best = k;
            right += best == r->test.labels[first + i];
            if (pred) pred[first + i] = best;
        }
    }
    t->grad_enabled = 1;
    tape_reset(t);
    free(lg);
    *loss = sum / n, *acc = (double)right / n;
}

static int fc_evaluate(trainer *tr, const char *dir, int full, char *err, size_t errlen) {
    fashion_trainer *r = (fashion_trainer *)tr;
    char path[4200];
    run_path(path, sizeof path, dir, "eval.csv");
    FILE *f = fopen(path, "a");
    if (!f) {
        set_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    if (ftell(f) == 0) fprintf(f, "step,epoch,images,test_loss,test_accuracy\n");
    long want = cfg_int(tr->c, "eval", "images");
    int n = full || want > r->test.n ? r->test.n : (int)want;
    double loss, acc;
    test_scores(r, n, &loss, &acc, NULL);
    long epoch = (tr->step - 1) / tr->spe + 1;
    fprintf(f, "%ld,%ld,%d,%.7g,%.7g\n", tr->step, epoch, n, loss, acc);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        set_err(err, errlen, "%s: write failed", path);
        return -1;
    }
    if (full) printf("epoch %ld done: test accuracy %.2f%% (cross-entropy %.4f, %d images)\n", epoch, 100 * acc, loss, n);
    return 0;
}

/* predictions.png: a row per class, the first GRID_COLS test images predicted as that class. */
static int fc_grids(trainer *tr, const char *dir, const char *tag, char *err, size_t errlen) {
    fashion_trainer *r = (fashion_trainer *)tr;
    int n = r->test.n < 2000 ? r->test.n : 2000, K = r->s.ncls, hw = r->s.in_h * r->s.in_w;
    int *pred = xmalloc((size_t)n * sizeof *pred);
    double loss, acc;
    test_scores(r, n, &loss, &acc, pred);
    tape *t = &tr->t;
    tape_reset(t);
    float *img = tape_download_new(t, tape_dataset_batch(t, &r->test, 0, n, 1.0f), NULL);
    tape_reset(t);
    float *grid = xcalloc((size_t)K * GRID_COLS * hw, sizeof *grid); /* empty cells stay black */
    int fill[64] = {0};
    for (int i = 0; i < n; i++)
        if (pred[i] < 64 && fill[pred[i]] < GRID_COLS)
            memcpy(grid + ((size_t)pred[i] * GRID_COLS + fill[pred[i]]++) * hw, img + (size_t)i * hw, (size_t)hw * sizeof *grid);
    int rc = 0;
    char path[4300], file[128];
    for (int k = 0; k < (tag ? 2 : 1) && rc == 0; k++) {
        if (k == 0) snprintf(file, sizeof file, "predictions.png");
        else snprintf(file, sizeof file, "predictions_%s.png", tag);
        run_path(path, sizeof path, dir, file);
        rc = png_write_grid(path, grid, K * GRID_COLS, 1, r->s.in_h, r->s.in_w, K, GRID_COLS, 0, 1, 2, err, errlen);
    }
    free(pred), free(img), free(grid);
    return rc;
}

static int fc_parts(trainer *tr, ckpt_part *parts) {
    fashion_trainer *r = (fashion_trainer *)tr;
    parts[0] = (ckpt_part){&r->f.params, &r->of};
    parts[1] = (ckpt_part){&r->c.params, &r->oc};
    return 2;
}

static void fc_meta_save(trainer *tr, ckpt_meta *meta) {
    fashion_trainer *r = (fashion_trainer *)tr;
    ckpt_meta_add(meta, "adam_t", "%ld", r->of.t);
    fashion_meta_save(&r->s, meta);
}

static int fc_meta_load(trainer *tr, const st_file *f, const char *path, char *err, size_t errlen) {
    fashion_trainer *r = (fashion_trainer *)tr;
    fashion_spec s;
    if (ckpt_meta_long_range(f, path, "adam_t", 0, tr->step, &r->of.t, err, errlen) != 0) return -1;
    r->oc.t = r->of.t; /* both step together */
    if (fashion_spec_from_meta(f, path, &s, err, errlen) != 0) return -1;
    if (memcmp(&s, &r->s, sizeof s)) {
        set_err(err, errlen, "%s: the checkpoint's classifier shape differs from this configuration's", path);
        return -1;
    }
    return 0;
}

static void fc_free(trainer *tr) {
    fashion_trainer *r = (fashion_trainer *)tr;
    tape_free(&tr->t);
    optim_free(&r->of), optim_free(&r->oc);
    seq_free(&r->f), seq_free(&r->c);
    if (tr->with_data) dataset_free(&r->train), dataset_free(&r->test);
    else net_free(&r->fixed), net_free(&r->fixed_y);
}

static const cfg_key fc_keys[] = {
    {"data", "train_images", CFG_STR, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "IDX images to train on", NULL, 0, 0},
    {"data", "train_labels", CFG_STR, "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", "IDX labels of the training images", NULL, 0, 0},
    {"data", "test_images", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", "IDX images of the test accuracy", NULL, 0, 0},
    {"data", "test_labels", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "IDX labels of the test images", NULL, 0, 0},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training images; 0 = all", NULL, 0, 2147483647},
    {"classifier", "conv1", CFG_INT, "16", "channels of the first 3x3 convolution", NULL, 1, 4096},
    {"classifier", "conv2", CFG_INT, "32", "channels of the second 3x3 convolution", NULL, 1, 4096},
    {"classifier", "feat", CFG_INT, "128", "width of the penultimate layer: the features of Fashion-FID", NULL, 1, 65536},
    {"eval", "every", CFG_INT, "100", "steps between test loss / accuracy measurements", NULL, 1, 2147483647},
    {"eval", "images", CFG_INT, "1000", "test images used every eval.every steps (all at each epoch's end)", NULL, 1, 2147483647},
};

const model_desc fashion_classifier_model = {
    .type = "fashion_classifier",
    .summary = "Fashion-MNIST CNN classifier: the feature network of ./evaluate's Fashion-FID / Fashion-IS",
    .keys = fc_keys,
    .nkeys = (int)(sizeof fc_keys / sizeof fc_keys[0]),
    .size = sizeof(fashion_trainer),
    .init = fc_init,
    .iteration = fc_iteration,
    .describe = fc_describe,
    .grids = fc_grids,
    .evaluate = fc_evaluate,
    .parts = fc_parts,
    .meta_save = fc_meta_save,
    .meta_load = fc_meta_load,
    .free = fc_free,
    .bench_warmup = 5,
    .bench_iters = 50,
};
