/* ./evaluate's parts: the statistics (tools/evaluate_stats.c), image sets (tools/evaluate_sets.c), the
 * subcommands (tools/evaluate_cmds.c), and the main program (tools/evaluate.c). */
#ifndef CLGAN_EVALUATE_H
#define CLGAN_EVALUATE_H
#include <stddef.h>

#include "device.h"
#include "model.h"

/* ---- statistics (double precision throughout) ---- */

/* Eigen-decomposition of the symmetric n x n matrix a (row-major, overwritten by the eigenvectors as
 * columns: a[i*n + j] is component i of vector j), eigenvalues ascending in w: Householder
 * tridiagonalisation, then the implicit QL algorithm (EISPACK tred2 / tql2). -1 if QL does not
 * converge in 60 iterations for an eigenvalue. */
int sym_eigen(double *a, int n, double *w);
/* Mean {d} and covariance {d x d} (divided by n - 1, as numpy.cov) of n feature rows {n, d}; n >= 2. */
int feature_stats(const float *feat, int n, int d, double *mu, double *cov, char *err, size_t errlen);
/* ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), with tr (S1 S2)^(1/2) = tr (sqrt(S1) S2 sqrt(S1))^(1/2)
 * (a symmetric matrix: eigenvalues, no complex square root). Eigenvalues below zero from rounding
 * (above -1e-6 of the largest) count as zero; a covariance that is not symmetric, not finite or
 * clearly indefinite is an error. */
int frechet_distance(const double *mu1, const double *s1, const double *mu2, const double *s2, int d, double *fid,
                     char *err, size_t errlen);
/* Inception score of n rows of class logits {n, k}: p(y|x) = softmax, split into `splits` consecutive
 * parts of n / splits rows (the rest unused, as the reference implementation); per part
 * exp(mean_x KL(p(y|x) || p(y))) with p(y) the part's mean; the mean and the standard deviation
 * (population) over the parts. n >= splits >= 1. */
int inception_score(const float *logits, int n, int k, int splits, double *mean, double *std, char *err, size_t errlen);


/* ---- image sets (tools/evaluate_sets.c) ---- */

/* n images {n, c, h, w} in [0, 1], and each one's file name (NULL for IDX sets). */
typedef struct {
    float *img;
    int n, c, h, w;
    char **names;
} image_set;
/* A folder of images (every image the same size; loaded with `channels` 1 or 3), or "idx:FILE",
 * "idx:FILE:FIRST" or "idx:FILE:FIRST:COUNT" (IDX images, e.g. Fashion-MNIST's test set: two halves
 * are two real sets without overlap). limit > 0 keeps the first `limit`. 0, or -1 with err. */
int image_set_load(const char *spec, int channels, int limit, image_set *s, char *err, size_t errlen);
void image_set_free(image_set *s);
/* The stem and sample number of a ./translate --samples output "STEM_z<k>.png"; 0 if name is not one. */
int sample_name(const char *name, char *stem, size_t stemlen, int *k);

/* ---- output (tools/evaluate_cmds.c) ---- */

typedef struct {
    const char *metric; /* "fashion-fid", "fid", "fashion-is", "pixel-l1-diversity", "test_mse" */
    double value, std;  /* std: NAN when the figure has none */
    long images;
    const char *net, *weights, *set_a, *set_b; /* for the CSV row (NULL: empty) */
} eval_result;
/* Appends r as a row of csv_path (header "metric,value,std,images,net,weights,set_a,set_b" when new). */
int eval_csv_append(const char *csv_path, const eval_result *r, char *err, size_t errlen);
/* Adds r to run_dir/eval.csv as a row at the run's checkpoint step, in a column named after the metric
 * ('-' as '_'; added to the header, "nan" in the earlier rows, when new), and redraws run_dir/eval.png. */
int eval_run_append(const char *run_dir, const eval_result *r, char *err, size_t errlen);

/* ---- run folders and generated sets ---- */

/* The run folder of arg: arg itself when a folder, else the folder of arg, which must be named
 * checkpoint.safetensors. 0, or -1 with err. (tools/evaluate.c) */
int eval_run_folder(const char *arg, char *dir, size_t n, char *err, size_t errlen);
/* The model and INI settings a run folder's (or checkpoint's) checkpoint was trained with: *m from its
 * "model" metadata, which must be one of `types` ("vae", "gan", ...; else the error says "`what` takes
 * `which` checkpoint"), and *c a new config of that model parsed from its "config" metadata. dir and
 * ckpt get the run folder and the checkpoint's path. 0, or -1 with err. (tools/evaluate_gen.c) */
int eval_checkpoint_config(const char *arg, const char *what, const char *which, const char *const *types, int ntypes,
                           char *dir, size_t dirlen, char *ckpt, size_t ckptlen, const model_desc **m, cfg **c,
                           char *err, size_t errlen);
/* Writes n generated images of a vae or gan checkpoint (or run folder) to outdir/sample_NNNNN.png, z
 * drawn from seed. 0, or -1 with err. (tools/evaluate_gen.c) */
int eval_samples(clg_ctx *cl, const char *checkpoint, int n, const char *outdir, unsigned long long seed, char *err,
                 size_t errlen);

#endif
