/* ./translate: batch image translation with the generator of a training checkpoint, for every model
 * that has one (models/model.h, translator_open). The checkpoint carries the generator's shape, so no
 * INI is needed and the network cannot disagree with the one trained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "images.h"
#include "model.h"
#include "report.h"
#include "tape_data.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: translate --checkpoint FILE --input DIR|FILE [--input ...] --output DIR\n"
            "                 [--direction AtoB|BtoA] [--half left|right] [--native] [--batch N] [-d DEVICE]\n"
            "\n"
            "  --checkpoint FILE  a checkpoint.safetensors written by ./train (cyclegan)\n"
            "  --input PATH       an image or a folder of images (PNG/JPEG/BMP); repeatable; a bare\n"
            "                     argument counts as an input too\n"
            "  --output DIR       where the translations go: the input's name with .png, created if missing\n"
            "  --direction D      AtoB (default) or BtoA (CycleGAN: G_A or G_B)\n"
            "  --half H           take the left or right half of each input (aligned A|B files)\n"
            "  --native           run at each image's own size (a multiple of 4) instead of resizing to the\n"
            "                     training size; the output then keeps the input's size\n"
            "  --batch N          images per device batch (default 8)\n"
            "  --overwrite        replace output files that already exist (an input is never replaced)\n"
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

int main(int argc, char **argv) {
    const char *ckpt = NULL, *outdir = NULL, *device = NULL, *direction = "AtoB", *half = NULL;
    int batch = 8, native = 0, overwrite = 0;
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
        else if (!strcmp(a, "--batch") && has) {
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
    if (mkdir_p(outdir, err, sizeof err) != 0) {
        fprintf(stderr, "translate: %s\n", err);
        return 1;
    }
    char desc[600];
    clg_describe(cl, desc, sizeof desc);
    printf("translate %s with %s on %s\n", direction, tr.what, desc);

    tape t;
    tape_init(&t, cl);
    t.grad_enabled = 0;
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
        int yv = translator_run(&tr, &t, tape_upload(&t, nb, cin, bh, bw, buf));
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
    }
    double dt = now_seconds() - t0;
    printf("%d images translated into %s in %.2f s (%.1f images/s)%s", nwritten, outdir, dt,
           dt > 0 ? nwritten / dt : 0.0, skipped ? "" : "\n");
    if (skipped) printf("; %d unreadable or unusable inputs skipped\n", skipped);
    if (report_translation(outdir, ckpt, direction, tr.what, (const char *const *)files.paths, (const char *const *)outs,
                           files.n, 1, err, sizeof err) != 0) /* outdir/index.html: inputs beside outputs */
        fprintf(stderr, "translate: warning: no index.html: %s\n", err);
    for (int i = 0; i < files.n; i++) free(outs[i]);
    free(outs);
    free(buf);
    free(out);
    tape_free(&t);
    translator_free(&tr);
    clg_close(cl);
    return nwritten ? 0 : 1;
}
