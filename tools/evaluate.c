/* ./evaluate: the figures the seeds judge models by. fid (Frechet distance of two image sets' features),
 * is (Inception score), diversity (mean pairwise distance among ./translate --samples outputs), mse
 * (a VAE checkpoint's test reconstruction error). Each prints its figure on the last line, and adds a
 * CSV row (--csv FILE) and a row in a run folder's eval.csv (--run DIR). The statistics are in
 * tools/evaluate_stats.c, the image sets in tools/evaluate_sets.c, the CSV output in
 * tools/evaluate_cmds.c; the feature networks are models/featnet.h's kinds. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evaluate.h"
#include "featnet.h"
#include "images.h"
#include "model.h"
#include "runutil.h"
#include "util.h"

/* Where ./train -c ini/fashion_classifier.ini leaves the classifier (relative to the current folder). */
#define FASHION_DEFAULT_WEIGHTS "runs/fashion_classifier/checkpoint.safetensors"

static void usage(FILE *f) {
    fprintf(f,
            "usage: evaluate fid SET_A SET_B   [options]   Frechet distance of the two sets' features\n"
            "       evaluate is SET              [options]   Inception score of the set's class predictions\n"
            "       evaluate diversity DIR       [options]   mean pairwise distance among ./translate --samples\n"
            "                                                outputs (NAME_z1.png .. NAME_zK.png per input)\n"
            "       evaluate mse CHECKPOINT      [options]   a VAE's test reconstruction MSE (run folder or its\n"
            "                                                checkpoint.safetensors)\n"            "       evaluate samples CHECKPOINT N OUTDIR [--seed S]  N images of a vae or gan checkpoint as\n"
            "                                                OUTDIR/sample_NNNNN.png (a generated set for fid and is)\n"
            "\n"
            "  SET                a folder of images (one size), or idx:FILE[:FIRST[:COUNT]] (IDX images)\n"
            "  --net KIND         the feature network: %s (default fashion)\n"
            "  --weights FILE     its weights (fashion: the classifier's checkpoint, default $CLGAN_FASHION_WEIGHTS,\n"
            "                     else " FASHION_DEFAULT_WEIGHTS ")\n"
            "  --splits N         Inception score splits (default 10)\n"
            "  --seed S           samples: the seed of the z draws (default 1)\n"
            "  --limit N          use the first N images of each set\n"
            "  --csv FILE         append a row (metric,value,std,images,net,weights,set_a,set_b)\n"
            "  --run DIR          add the figure to DIR/eval.csv at its checkpoint's step and redraw DIR/eval.png\n"
            "  -d, --device DEV   as ./train\n"
            "The figures of the fashion net are Fashion-FID and Fashion-IS (a Fashion-MNIST classifier trained by\n"
            "clgan), not comparable with the FID and IS of Inception-v3 (README, \"Evaluation\").\n",
            featnet_kinds());
}

typedef struct {
    const char *net, *weights, *csv, *run, *device;
    int splits, limit, seed;
} options;

/* "fashion-" + "fid" -> "fashion-fid"; "" + "fid" -> "fid" */
static void metric_name(const featnet *f, const char *what, char *out, size_t n) {
    snprintf(out, n, "%s%s", f->metric_prefix ? f->metric_prefix : "", what);
    for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
}

static int open_net(featnet *f, clg_ctx *cl, const options *o, char *err, size_t errlen) {
    const char *w = o->weights;
    if (!w && !strcmp(o->net, "fashion")) w = getenv("CLGAN_FASHION_WEIGHTS") ? getenv("CLGAN_FASHION_WEIGHTS") : FASHION_DEFAULT_WEIGHTS;
    if (!w && strcmp(o->net, "pixel-l1")) {
        set_err(err, errlen, "--net %s needs --weights FILE (README, \"Evaluation\")", o->net);
        return -1;
    }
    if (featnet_open(f, cl, o->net, w, err, errlen) != 0) {
        if (!strcmp(o->net, "fashion") && !o->weights && access(w, F_OK) != 0)
            snprintf(err + strlen(err), errlen - strlen(err), " (train the classifier with ./train -c ini/fashion_classifier.ini, "
                     "or give --weights)");
        return -1;
    }
    printf("net %s: %s%s%s\n", f->kind, f->describe, w ? ", weights " : "", w ? w : "");
    return 0;
}

static int load_set(const char *spec, const featnet *f, const options *o, image_set *s, char *err, size_t errlen) {
    if (image_set_load(spec, f->in_c == 1 ? 1 : 3, o->limit, s, err, errlen) != 0) return -1;
    printf("set %s: %d images %dx%d, %d channel%s\n", spec, s->n, s->w, s->h, s->c, s->c > 1 ? "s" : "");
    return 0;
}

static float *features(featnet *f, clg_ctx *cl, const image_set *s, float **logits, char *err, size_t errlen) {
    float *feat = xmalloc((size_t)s->n * (f->nfeat > 0 ? f->nfeat : 1) * sizeof *feat);
    if (logits) *logits = xmalloc((size_t)s->n * (f->nclass > 0 ? f->nclass : 1) * sizeof **logits);
    if (featnet_run(f, cl, s->img, s->n, s->c, s->h, s->w, feat, logits ? *logits : NULL, err, errlen) != 0) {
        free(feat);
        if (logits) free(*logits), *logits = NULL;
        return NULL;
    }
    return feat;
}

static int cmd_fid(featnet *f, clg_ctx *cl, const options *o, const char *a, const char *b, eval_result *r, char *err,
                   size_t errlen) {
    if (!f->forward) {
        set_err(err, errlen, "--net %s computes no features (a distance-only kind): fid needs a feature network", f->kind);
        return -1;
    }
    image_set sa, sb;
    if (load_set(a, f, o, &sa, err, errlen) != 0) return -1;
    if (load_set(b, f, o, &sb, err, errlen) != 0) {
        image_set_free(&sa);
        return -1;
    }
    int d = f->nfeat, rc = -1;
    double *mu1 = xmalloc((size_t)d * sizeof *mu1), *mu2 = xmalloc((size_t)d * sizeof *mu2);
    double *c1 = xmalloc((size_t)d * d * sizeof *c1), *c2 = xmalloc((size_t)d * d * sizeof *c2);
    float *fa = features(f, cl, &sa, NULL, err, errlen), *fb = fa ? features(f, cl, &sb, NULL, err, errlen) : NULL;
    if (fb && feature_stats(fa, sa.n, d, mu1, c1, err, errlen) == 0 && feature_stats(fb, sb.n, d, mu2, c2, err, errlen) == 0 &&
        frechet_distance(mu1, c1, mu2, c2, d, &r->value, err, errlen) == 0) {
        r->images = sa.n + sb.n;
        rc = 0;
        if (sa.n < d || sb.n < d)
            printf("note: %d and %d images for %d features: the covariances are singular; the figure is biased and "
                   "comparable only with others of the same set sizes\n", sa.n, sb.n, d);
    }
    free(fa), free(fb), free(mu1), free(mu2), free(c1), free(c2);
    image_set_free(&sa), image_set_free(&sb);
    return rc;
}

static int cmd_is(featnet *f, clg_ctx *cl, const options *o, const char *a, eval_result *r, char *err, size_t errlen) {
    if (!f->forward || f->nclass <= 0) {
        set_err(err, errlen, "--net %s gives no class predictions: is needs a classifier", f->kind);
        return -1;
    }
    image_set s;
    if (load_set(a, f, o, &s, err, errlen) != 0) return -1;
    float *lg = NULL, *feat = features(f, cl, &s, &lg, err, errlen);
    int rc = feat ? inception_score(lg, s.n, f->nclass, o->splits, &r->value, &r->std, err, errlen) : -1;
    if (rc == 0) {
        r->images = s.n;
        printf("%d splits of %d images: mean %.4f, std %.4f\n", o->splits, s.n / o->splits, r->value, r->std);
    }
    free(feat), free(lg);
    image_set_free(&s);
    return rc;
}

static int cmd_diversity(featnet *f, clg_ctx *cl, const char *dir, eval_result *r, char *err, size_t errlen) {
    if (!f->distance) {
        set_err(err, errlen, "--net %s computes no distance between images: diversity needs lpips (or pixel-l1)", f->kind);
        return -1;
    }
    /* the samples, grouped by input: NAME_z1.png .. NAME_zK.png */
    image_set all;
    int ch = f->in_c == 1 ? 1 : 3;
    DIR *d = opendir(dir);
    if (!d) {
        set_err(err, errlen, "%s: cannot open the folder", dir);
        return -1;
    }
    char **stems = NULL, **files = NULL, stem[1024];
    int n = 0, cap = 0, k;
    for (struct dirent *e; (e = readdir(d));)
        if (sample_name(e->d_name, stem, sizeof stem, &k)) {
            if (n == cap) cap = cap ? 2 * cap : 64, stems = xrealloc(stems, (size_t)cap * sizeof *stems),
                          files = xrealloc(files, (size_t)cap * sizeof *files);
            stems[n] = xstrdup(stem), files[n] = xstrdup(e->d_name), n++;
        }
    closedir(d);
    int rc = -1, ninputs = 0;
    long npairs = 0;
    double sum = 0;
    float *a = NULL, *b = NULL;
    double *dist = NULL;
    int *pi = NULL, *pj = NULL;
    memset(&all, 0, sizeof all);
    if (n == 0) {
        set_err(err, errlen, "%s: no ./translate --samples outputs (NAME_z1.png, NAME_z2.png, ...)", dir);
        goto out;
    }
    /* sort by stem, then file name, so the groups are contiguous */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int c = strcmp(stems[j - 1], stems[j]);
            if (c < 0 || (c == 0 && strcmp(files[j - 1], files[j]) <= 0)) break;
            char *t = stems[j]; stems[j] = stems[j - 1], stems[j - 1] = t;
            t = files[j]; files[j] = files[j - 1], files[j - 1] = t;
        }
    all.names = xcalloc((size_t)n, sizeof *all.names), all.c = ch;
    for (int i = 0; i < n; i++) {
        char path[4200];
        int h, w;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        float *im = image_load_native(path, ch, &h, &w, err, errlen);
        if (!im) goto out;
        if (i == 0) all.h = h, all.w = w, all.img = xmalloc((size_t)n * ch * h * w * sizeof(float));
        else if (h != all.h || w != all.w) {
            set_err(err, errlen, "%s: %dx%d, but the other samples are %dx%d", path, w, h, all.w, all.h);
            free(im);
            goto out;
        }
        size_t per = (size_t)ch * h * w;
        for (size_t q = 0; q < per; q++) all.img[(size_t)i * per + q] = 0.5f * (im[q] + 1.0f);
        free(im);
        all.n = i + 1;
    }
    /* every pair within each group */
    pi = xmalloc((size_t)n * n * sizeof *pi), pj = xmalloc((size_t)n * n * sizeof *pj);
    for (int g0 = 0, g1; g0 < n; g0 = g1) {
        for (g1 = g0 + 1; g1 < n && !strcmp(stems[g1], stems[g0]); g1++) {}
        if (g1 - g0 < 2) {
            set_err(err, errlen, "%s: %s has one sample only (%s); diversity needs --samples K >= 2", dir, stems[g0], files[g0]);
            goto out;
        }
        for (int i = g0; i < g1; i++)
            for (int j = i + 1; j < g1; j++) pi[npairs] = i, pj[npairs] = j, npairs++;
        ninputs++;
    }
    size_t per = (size_t)ch * all.h * all.w;
    a = xmalloc((size_t)npairs * per * sizeof *a), b = xmalloc((size_t)npairs * per * sizeof *b);
    for (long p = 0; p < npairs; p++) {
        memcpy(a + (size_t)p * per, all.img + (size_t)pi[p] * per, per * sizeof *a);
        memcpy(b + (size_t)p * per, all.img + (size_t)pj[p] * per, per * sizeof *b);
    }
    dist = xmalloc((size_t)npairs * sizeof *dist);
    if (featnet_pair_distance(f, cl, a, b, (int)npairs, ch, all.h, all.w, dist, err, errlen) != 0) goto out;
    /* the mean over each input's pairs, then over the inputs (BicycleGAN's LPIPS diversity) */
    for (long p = 0, q; p < npairs; p = q) {
        double s = 0;
        for (q = p; q < npairs && !strcmp(stems[pi[q]], stems[pi[p]]); q++) s += dist[q];
        sum += s / (double)(q - p);
    }
    r->value = sum / ninputs, r->images = n;
    printf("%d inputs, %d samples, %ld pairs\n", ninputs, n, npairs);
    rc = 0;
out:
    for (int i = 0; i < n; i++) free(stems[i]), free(files[i]);
    free(stems), free(files), free(a), free(b), free(dist), free(pi), free(pj);
    free(all.img), free(all.names);
    return rc;
}

/* The checkpoint's run folder: the argument itself, or the folder of its checkpoint.safetensors. */
int eval_run_folder(const char *arg, char *dir, size_t n, char *err, size_t errlen) {
    struct stat st;
    if (stat(arg, &st) != 0) {
        set_err(err, errlen, "%s: no such file or folder", arg);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(dir, n, "%s", arg);
        return 0;
    }
    const char *slash = strrchr(arg, '/'), *base = slash ? slash + 1 : arg;
    if (strcmp(base, "checkpoint.safetensors")) {
        set_err(err, errlen, "%s: give a run folder or its checkpoint.safetensors", arg);
        return -1;
    }
    snprintf(dir, n, "%.*s", slash ? (int)(slash - arg) : 1, slash ? arg : ".");
    return 0;
}

/* The VAE's own evaluate() (the whole test set) into a scratch folder; the figure read back. */
static int cmd_mse(clg_ctx *cl, const char *arg, eval_result *r, char *err, size_t errlen) {
    char dir[4096], ckpt[4200], tmp[] = "/tmp/clgan-evaluate-XXXXXX", path[4200];
    static const char *const types[] = {"vae"};
    const model_desc *m;
    cfg *c;
    if (eval_checkpoint_config(arg, "mse", "a VAE", types, 1, dir, sizeof dir, ckpt, sizeof ckpt, &m, &c, err, errlen) != 0)
        return -1;
    if (!mkdtemp(tmp)) {
        set_err(err, errlen, "cannot make a scratch folder in /tmp");
        cfg_free(c);
        return -1;
    }
    trainer *tr = trainer_new(m, c, cl, 1, err, errlen);
    int rc = tr ? 0 : -1;
    if (rc == 0) rc = trainer_load(tr, dir, err, errlen);
    if (rc == 0) rc = m->evaluate(tr, tmp, 1, err, errlen);
    if (rc == 0) { /* the row evaluate() wrote: step,epoch,images,test_mse */
        run_path(path, sizeof path, tmp, "eval.csv");
        char *text = read_file(path, NULL, err, errlen), *row = text ? strchr(text, '\n') : NULL;
        long step, epoch, n;
        if (!row || sscanf(row + 1, "%ld,%ld,%ld,%lf", &step, &epoch, &n, &r->value) != 4) {
            if (text) set_err(err, errlen, "%s: the VAE's evaluation row is not step,epoch,images,test_mse", path);
            rc = -1;
        } else {
            r->images = n;
            printf("checkpoint %s: step %ld, %ld test images\n", ckpt, step, n);
        }
        free(text);
        remove(path);
    }
    rmdir(tmp);
    if (tr) trainer_free(tr);
    cfg_free(c);
    return rc;
}

static int parse_int(const char *opt, const char *v, int lo, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > 1000000000) {
        fprintf(stderr, "evaluate: %s wants an integer >= %d, got '%s'\n", opt, lo, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int main(int argc, char **argv) {
    options o = {.net = "fashion", .splits = 10, .seed = 1};
    const char *pos[4];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--net") && has) o.net = argv[++i];
        else if (!strcmp(a, "--weights") && has) o.weights = argv[++i];
        else if (!strcmp(a, "--csv") && has) o.csv = argv[++i];
        else if (!strcmp(a, "--run") && has) o.run = argv[++i];
        else if ((!strcmp(a, "-d") || !strcmp(a, "--device")) && has) o.device = argv[++i];
        else if (!strcmp(a, "--splits") && has) {
            if (parse_int(a, argv[++i], 1, &o.splits) != 0) return 1;
        } else if (!strcmp(a, "--seed") && has) {
            if (parse_int(a, argv[++i], 0, &o.seed) != 0) return 1;
        } else if (!strcmp(a, "--limit") && has) {
            if (parse_int(a, argv[++i], 1, &o.limit) != 0) return 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "evaluate: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 1;
        } else if (npos < 4) pos[npos++] = a;
        else {
            fprintf(stderr, "evaluate: too many arguments ('%s')\n", a);
            return 1;
        }
    }
    const char *cmd = npos ? pos[0] : "";
    int want = !strcmp(cmd, "samples") ? 4 : !strcmp(cmd, "fid") ? 3 : !strcmp(cmd, "is") || !strcmp(cmd, "diversity") || !strcmp(cmd, "mse") ? 2 : 0;
    if (!want) {
        fprintf(stderr, npos ? "evaluate: unknown subcommand '%s'\n" : "evaluate: no subcommand%s\n", npos ? cmd : "");
        usage(stderr);
        return 1;
    }
    if (npos != want) {
        fprintf(stderr, "evaluate: %s takes %d argument%s, got %d\n", cmd, want - 1, want > 2 ? "s" : "", npos - 1);
        usage(stderr);
        return 1;
    }
    int nsamples = 0;
    if (want == 4 && parse_int("samples N", pos[2], 1, &nsamples) != 0) return 1;
    char err[4600];
    clg_ctx *cl = clg_open(o.device, 0, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "evaluate: %s\n", err);
        return 1;
    }
    if (want == 4) {
        int rc = eval_samples(cl, pos[1], nsamples, pos[3], (unsigned long long)o.seed, err, sizeof err);
        if (rc != 0) fprintf(stderr, "evaluate: %s\n", err);
        clg_close(cl);
        return rc ? 1 : 0;
    }
    eval_result r = {.std = NAN, .set_a = pos[1], .set_b = want == 3 ? pos[2] : NULL};
    char metric[64];
    featnet f;
    memset(&f, 0, sizeof f);
    int rc;
    if (!strcmp(cmd, "mse")) {
        snprintf(metric, sizeof metric, "test_mse");
        rc = cmd_mse(cl, pos[1], &r, err, sizeof err);
    } else if ((rc = open_net(&f, cl, &o, err, sizeof err)) == 0) {
        r.net = f.kind, r.weights = o.weights;
        metric_name(&f, !strcmp(cmd, "fid") ? "FID" : !strcmp(cmd, "is") ? "IS" : "", metric, sizeof metric);
        if (!strcmp(cmd, "diversity")) snprintf(metric, sizeof metric, "%s-diversity", f.kind);
        rc = !strcmp(cmd, "fid")  ? cmd_fid(&f, cl, &o, pos[1], pos[2], &r, err, sizeof err)
             : !strcmp(cmd, "is") ? cmd_is(&f, cl, &o, pos[1], &r, err, sizeof err)
                                  : cmd_diversity(&f, cl, pos[1], &r, err, sizeof err);
    }
    r.metric = metric;
    if (rc == 0 && o.csv) rc = eval_csv_append(o.csv, &r, err, sizeof err);
    if (rc == 0 && o.run) {
        rc = eval_run_append(o.run, &r, err, sizeof err);
        if (rc == 0) printf("added to %s/eval.csv; redrew %s/eval.png\n", o.run, o.run);
    }
    if (rc == 0) printf("%s %.7g\n", metric, r.value); /* the figure: always the last line */
    else fprintf(stderr, "evaluate: %s\n", err);
    if (f.kind) featnet_free(&f);
    clg_close(cl);
    return rc ? 1 : 0;
}
