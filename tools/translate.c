/* ./translate: batch image translation with the generator of a training checkpoint, for every model
 * that has one (models/model.h, translator_open). The checkpoint carries the generator's shape, so no
 * INI is needed and the network cannot disagree with the one trained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "canvas.h"
#include "images.h"
#include "model.h"
#include "report.h"
#include "rng.h"
#include "tape_data.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: translate --checkpoint FILE --input DIR|FILE [--input ...] --output DIR\n"
            "                 [--direction AtoB|BtoA] [--half left|right] [--native] [--batch N] [-d DEVICE]\n"
            "                 [--samples K [--seed S]]\n"
            "\n"
            "  --checkpoint FILE  a checkpoint.safetensors written by ./train (cyclegan, pix2pix, bicyclegan)\n"
            "  --input PATH       an image or a folder of images (PNG/JPEG/BMP); repeatable; a bare\n"
            "                     argument counts as an input too\n"
            "  --output DIR       where the translations go: the input's name with .png, created if missing\n"
            "  --direction D      AtoB (default) or BtoA (CycleGAN: G_A or G_B)\n"
            "  --half H           take the left or right half of each input (aligned A|B files)\n"
            "  --native           run at each image's own size (a multiple of 4) instead of resizing to the\n"
            "                     training size; the output then keeps the input's size\n"
            "  --batch N          images per device batch (default 8)\n"
            "  --overwrite        replace output files that already exist (an input is never replaced)\n"
            "  --samples K        BicycleGAN: also K outputs per input from random z ~ N(0, I) (NAME_z1.png ...;\n"
            "                     z k is the same for every input), with --half the encoded one from the other\n"
            "                     half, the target (NAME_encoded.png), and a grid per input as seed 000 figure 1:\n"
            "                     input, target, encoded, then the K samples (NAME_grid.png). The plain output\n"
            "                     NAME.png is G(A, z = 0), the prior's mean\n"
            "  --seed S           the seed of the --samples draws (default 1)\n"
            "  -d, --device DEV   as ./train (an index from ./train --list-devices or part of a name)\n");
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "dir/name.jpg" -> "OUT/name.png"; a name seen before gets "-2", "-3", ... */
static void out_name(const char *outdir, const char *in, char **seen, int nseen, char *out, size_t n) {
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    char stem[1024];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    for (int k = 1;; k++) {
        if (k == 1) snprintf(out, n, "%s/%s.png", outdir, stem);
        else snprintf(out, n, "%s/%s-%d.png", outdir, stem, k);
        int dup = 0;
        for (int i = 0; i < nseen && !dup; i++) dup = !strcmp(seen[i], out);
        if (!dup) return;
    }
}

typedef struct {
    char **paths;
    int n, cap;
} pathlist;

static void push_path(pathlist *l, const char *p) {
    if (l->n == l->cap) l->paths = xrealloc(l->paths, (size_t)(l->cap = l->cap ? 2 * l->cap : 64) * sizeof(char *));
    l->paths[l->n++] = xstrdup(p);
}

/* "OUT/name.png" -> "OUT/name<suffix>.png" */
static void suffixed(const char *png, const char *suffix, char *out, size_t n) {
    size_t l = strlen(png);
    snprintf(out, n, "%.*s%s.png", (int)(l > 4 ? l - 4 : l), png, suffix);
}

/* The --samples outputs of every input, checked before any work as the plain outputs are. */
static int sample_names_free(char **outs, int n, int samples, int with_target, int overwrite) {
    if (overwrite) return 0;
    for (int i = 0; i < n; i++)
        for (int k = -2; k <= samples; k++) {
            char suf[32], path[4400];
            if (k == 0 || (k == -1 && !with_target)) continue;
            if (k == -2) snprintf(suf, sizeof suf, "_grid");
            else if (k == -1) snprintf(suf, sizeof suf, "_encoded");
            else snprintf(suf, sizeof suf, "_z%d", k);
            suffixed(outs[i], suf, path, sizeof path);
            struct stat st;
            if (stat(path, &st) == 0) {
                fprintf(stderr, "translate: %s exists; nothing was written (--overwrite replaces earlier outputs)\n", path);
                return 1;
            }
        }
    return 0;
}

/* --samples for one batch of a multimodal model (BicycleGAN) (inputs xin, host copy x; targets or NULL): NAME_z<k>.png for
 * G(x, z_k), z_k = the k-th nz draws of N(0, I) from (seed, SAMPLE stream, k), the same for every input;
 * NAME_encoded.png = G(x, mu(E(target))); NAME_grid.png = input, target, encoded | samples. */
static int write_samples(translator *tr, tape *t, int xin, const float *x, const float *target,
                         int nb, int cin, int cout, int h, int w, int K, unsigned long long seed, char **outs,
                         const int *idx) {
    enum { PAD = 2, GAP = 8 };
    char err[4400], path[4400];
    int nz = tr->nz, have_t = tr->encoder && target;
    size_t po = (size_t)cout * h * w, pi = (size_t)cin * h * w;
    float *ys = xmalloc((size_t)(K + 1) * nb * po * sizeof *ys), *zh = xmalloc((size_t)nb * nz * sizeof *zh);
    for (int k = 0; k < K; k++) {
        rng_seq rs = rng_seq_make(seed, RNG_STREAM_SAMPLE, (uint32_t)k);
        for (int j = 0; j < nz; j++) zh[j] = rng_normal(&rs);
        for (int b = 1; b < nb; b++) memcpy(zh + (size_t)b * nz, zh, (size_t)nz * sizeof *zh);
        tape_download(t, translator_run_z(tr, t, xin, tape_upload(t, nb, nz, 1, 1, zh)), ys + (size_t)k * nb * po);
    }
    float *ye = ys + (size_t)K * nb * po;
    if (have_t) {
        int mu = translator_encode(tr, t, tape_upload(t, nb, cout, h, w, target));
        tape_download(t, translator_run_z(tr, t, xin, mu), ye);
    }
    int cols = K + 1 + 2 * have_t, H = h + 2 * PAD, W = cols * w + (cols + 1) * PAD + GAP;
    int rc = 0;
    for (int b = 0; b < nb && rc == 0; b++) {
        const char *name = outs[idx[b]];
        for (int k = 0; k < K && rc == 0; k++) {
            char suf[16];
            snprintf(suf, sizeof suf, "_z%d", k + 1);
            suffixed(name, suf, path, sizeof path);
            rc = image_save_png(path, ys + ((size_t)k * nb + b) * po, cout, h, w, err, sizeof err);
        }
        if (rc == 0 && have_t) {
            suffixed(name, "_encoded", path, sizeof path);
            rc = image_save_png(path, ye + (size_t)b * po, cout, h, w, err, sizeof err);
        }
        canvas3 cv = canvas3_new(H, W);
        int col = 0;
        canvas3_blit(&cv, x + (size_t)b * pi, cin, h, w, PAD, PAD + col++ * (w + PAD));
        if (have_t) {
            canvas3_blit(&cv, target + (size_t)b * po, cout, h, w, PAD, PAD + col++ * (w + PAD));
            canvas3_blit(&cv, ye + (size_t)b * po, cout, h, w, PAD, PAD + col++ * (w + PAD));
        }
        for (int k = 0; k < K; k++) canvas3_blit(&cv, ys + ((size_t)k * nb + b) * po, cout, h, w, PAD, GAP + PAD + col++ * (w + PAD));
        suffixed(name, "_grid", path, sizeof path);
        if (rc == 0) rc = canvas3_save(&cv, path, err, sizeof err);
        canvas3_free(&cv);
    }
    if (rc != 0) fprintf(stderr, "translate: %s\n", err);
    free(ys);
    free(zh);
    return rc;
}

int main(int argc, char **argv) {
    const char *ckpt = NULL, *outdir = NULL, *device = NULL, *direction = "AtoB", *half = NULL;
    int batch = 8, native = 0, overwrite = 0, samples = 0;
    unsigned long long zseed = 1;
    pathlist inputs = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--checkpoint") && has) ckpt = argv[++i];
        else if (!strcmp(a, "--input") && has) push_path(&inputs, argv[++i]);
        else if (!strcmp(a, "--output") && has) outdir = argv[++i];
        else if (!strcmp(a, "--direction") && has) direction = argv[++i];
        else if (!strcmp(a, "--half") && has) half = argv[++i];
        else if ((!strcmp(a, "-d") || !strcmp(a, "--device")) && has) device = argv[++i];
        else if (!strcmp(a, "--native")) native = 1;
        else if (!strcmp(a, "--overwrite")) overwrite = 1;
        else if ((!strcmp(a, "--samples") || !strcmp(a, "--seed")) && has) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            int is_samples = !strcmp(a, "--samples");
            if (*end || v < (is_samples ? 1 : 0) || v > (is_samples ? 64 : 2147483647L)) {
                fprintf(stderr, "translate: %s wants %s, got '%s'\n", a, is_samples ? "1..64" : "0..2147483647", argv[i]);
                return 2;
            }
            if (is_samples) samples = (int)v;
            else zseed = (unsigned long long)v;
        } else if (!strcmp(a, "--batch") && has) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 4096) {
                fprintf(stderr, "translate: --batch wants 1..4096, got '%s'\n", argv[i]);
                return 2;
            }
            batch = (int)v;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-') push_path(&inputs, a);
        else {
            fprintf(stderr, "translate: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!ckpt || !outdir || inputs.n == 0) {
        fprintf(stderr, "translate: --checkpoint, --input and --output are required\n");
        usage(stderr);
        return 2;
    }
    if (strcmp(direction, "AtoB") && strcmp(direction, "BtoA")) {
        fprintf(stderr, "translate: --direction must be AtoB or BtoA, got '%s'\n", direction);
        return 2;
    }
    int split = 0;
    if (half) {
        if (!strcmp(half, "left")) split = 1;
        else if (!strcmp(half, "right")) split = 2;
        else {
            fprintf(stderr, "translate: --half must be left or right, got '%s'\n", half);
            return 2;
        }
    }

    char err[4400];
    /* every input file, folders expanded (sorted) */
    pathlist files = {0};
    for (int i = 0; i < inputs.n; i++) {
        if (is_dir(inputs.paths[i])) {
            image_list l;
            if (image_list_dir(inputs.paths[i], &l, err, sizeof err) != 0) {
                fprintf(stderr, "translate: %s\n", err);
                return 1;
            }
            for (int k = 0; k < l.n; k++) push_path(&files, l.paths[k]);
            image_list_free(&l);
        } else {
            push_path(&files, inputs.paths[i]);
        }
    }
    /* Every output's name, decided before any work: an existing file is never replaced unless asked
     * (--overwrite), and an input never (a.bmp -> a.png in the input's own folder). */
    char **outs = xcalloc((size_t)files.n, sizeof(char *));
    for (int i = 0; i < files.n; i++) {
        char path[4300];
        out_name(outdir, files.paths[i], outs, i, path, sizeof path);
        outs[i] = xstrdup(path);
        struct stat so;
        if (stat(path, &so) != 0) continue;
        for (int k = 0; k < files.n; k++) {
            struct stat si;
            if (stat(files.paths[k], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
                fprintf(stderr, "translate: the output %s would replace the input %s; choose another --output folder\n",
                        path, files.paths[k]);
                return 1;
            }
        }
        if (!overwrite) {
            fprintf(stderr, "translate: %s exists; nothing was written (--overwrite replaces earlier outputs)\n", path);
            return 1;
        }
    }
    if (samples && sample_names_free(outs, files.n, samples, split != 0, overwrite) != 0) return 1;
    clg_ctx *cl = clg_open(device, 0, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "translate: %s\n", err);
        return 1;
    }
    translator tr;
    if (translator_open_checkpoint(&tr, cl, ckpt, direction, err, sizeof err) != 0) {
        fprintf(stderr, "translate: %s\n", err);
        return 1;
    }
    int cin = tr.in_c, cout = tr.out_c;
    int have_enc = 0;
    if (samples) {
        if (tr.nz < 1) {
            fprintf(stderr, "translate: --samples needs a multimodal model such as bicyclegan (this checkpoint is %s: one "
                            "output per input)\n", tr.m->type);
            return 2;
        }
        if (split && translator_open_encoder(&tr, cl, ckpt, err, sizeof err) != 0) {
            fprintf(stderr, "translate: %s\n", err);
            return 1;
        }
        have_enc = split != 0;
    }
    if (mkdir_p(outdir, err, sizeof err) != 0) {
        fprintf(stderr, "translate: %s\n", err);
        return 1;
    }
    char desc[600];
    clg_describe(cl, desc, sizeof desc);
    printf("translate %s with %s on %s\n", direction, tr.what, desc);

    tape t;
    tape_init(&t, cl);
    tape_set_inference(&t);
    image_prep p = {.channels = cin, .load_size = native ? 0 : tr.size, .split = split};
    int nwritten = 0, skipped = 0, done = 0;
    double t0 = now_seconds();
    float *buf = NULL, *out = NULL;
    size_t buf_cap = 0;
    while (done < files.n) {
        /* a batch: consecutive readable files of one size */
        int bh = 0, bw = 0, nb = 0, idx[4096];
        while (done < files.n && nb < batch) {
            const char *path = files.paths[done];
            int h, w;
            if (image_probe(path, &p, &h, &w, err, sizeof err) != 0) {
                fprintf(stderr, "translate: skipping %s\n", err);
                skipped++, done++;
                continue;
            }
            int mult = tr.multiple;
            if (native && (h % mult || w % mult || h < 2 * mult || w < 2 * mult)) {
                fprintf(stderr, "translate: skipping %s: %dx%d is not a multiple of %d (at least %d); drop --native to resize\n",
                        path, w, h, mult, 2 * mult);
                skipped++, done++;
                continue;
            }
            if (nb && (h != bh || w != bw)) break; /* another size: next batch */
            size_t per = (size_t)cin * h * w;
            if ((size_t)(nb + 1) * per > buf_cap) buf = xrealloc(buf, (buf_cap = (size_t)(nb + 1) * per * 2) * sizeof(float));
            int hh, ww;
            if (image_load(path, &p, NULL, buf + (size_t)nb * per, (int)per, &hh, &ww, err, sizeof err) != 0) {
                fprintf(stderr, "translate: skipping %s\n", err);
                skipped++, done++;
                continue;
            }
            bh = h, bw = w;
            idx[nb++] = done++;
        }
        if (!nb) continue;
        tape_reset(&t);
        int xin = tape_upload(&t, nb, cin, bh, bw, buf);
        int yv = translator_run(&tr, &t, xin);
        tensor y = tape_val(&t, yv);
        out = xrealloc(out, tnumel(y) * sizeof(float));
        tape_download(&t, yv, out);
        size_t per_out = (size_t)cout * y.h * y.w;
        for (int k = 0; k < nb; k++) {
            const char *path = outs[idx[k]];
            if (image_save_png(path, out + k * per_out, cout, y.h, y.w, err, sizeof err) != 0) {
                fprintf(stderr, "translate: %s\n", err);
                return 1;
            }
            nwritten++;
        }
        if (samples) {
            float *target = NULL;
            if (have_enc) { /* the other half of each input file */
                image_prep q = p;
                q.channels = cout, q.split = 3 - split;
                size_t per = (size_t)cout * bh * bw;
                target = xmalloc((size_t)nb * per * sizeof *target);
                for (int k = 0; k < nb; k++) {
                    int hh, ww;
                    if (image_load(files.paths[idx[k]], &q, NULL, target + k * per, (int)per, &hh, &ww, err, sizeof err) != 0) {
                        fprintf(stderr, "translate: the target half of %s\n", err);
                        return 1;
                    }
                }
            }
            if (write_samples(&tr, &t, xin, buf, target, nb, cin, cout, bh, bw, samples, zseed,
                              outs, idx) != 0)
                return 1;
            free(target);
        }
    }
    double dt = now_seconds() - t0;
    printf("%d images translated into %s in %.2f s (%.1f images/s)%s", nwritten, outdir, dt,
           dt > 0 ? nwritten / dt : 0.0, skipped ? "" : "\n");
    if (skipped) printf("; %d unreadable or unusable inputs skipped\n", skipped);
    /* outdir/index.html: each input beside its output (and its --samples outputs, row by row) */
    int per = 1 + samples;
    char **row = xcalloc((size_t)files.n * per, sizeof *row);
    for (int i = 0; i < files.n; i++)
        for (int k = 0; k < per; k++) {
            char suf[32], path[4400];
            snprintf(suf, sizeof suf, "_z%d", k);
            if (k) suffixed(outs[i], suf, path, sizeof path);
            row[(size_t)i * per + k] = xstrdup(k ? path : outs[i]);
        }
    if (report_translation(outdir, ckpt, direction, tr.what, (const char *const *)files.paths, (const char *const *)row,
                           files.n, per, err, sizeof err) != 0)
        fprintf(stderr, "translate: warning: no index.html: %s\n", err);
    for (size_t i = 0; i < (size_t)files.n * per; i++) free(row[i]);
    free(row);
    for (int i = 0; i < files.n; i++) free(outs[i]);
    free(outs);
    free(buf);
    free(out);
    tape_free(&t);
    translator_free(&tr);
    clg_close(cl);
    return nwritten ? 0 : 1;
}
