/* ./bench --translate --model NAME: what ./translate does, timed. The model's trainer is built from its
 * INI without data (random weights: the cost does not depend on them), saved as a checkpoint in a
 * temporary folder and opened as ./translate opens one (translator_open_checkpoint, direction AtoB);
 * then the generator's inference, gradients off, on a fixed random batch in [-1, 1] at batch 1 and at
 * --batch N: images/s, each forward with its upload and a clFinish. Then the same generator in PyTorch
 * (tools/torch_ref/translate_torch.py, eval mode, no_grad; CycleGAN's ResnetGenerator only), and per
 * batch size the ratio of seconds per image, clgan over PyTorch. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "tape_data.h"
#include "util.h"

#define MAXARGS 48

/* Mean seconds per forward of n images over iters forwards after warmup; the arenas' peaks (the step's,
 * the ops' scratch and the kept packed weights) in *peak. */
static double time_forward(translator *tr, clg_ctx *cl, int n, int warmup, int iters, size_t *peak) {
    size_t cnt = (size_t)n * tr->in_c * tr->size * tr->size;
    float *x = xmalloc(cnt * sizeof *x);
    for (size_t i = 0; i < cnt; i++) x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    tape t;
    tape_init(&t, cl);
    tape_set_inference(&t);
    double t0 = 0;
    for (int i = 0; i < warmup + iters; i++) {
        if (i == warmup) {
            clg_finish(cl);
            t0 = now_seconds();
        }
        tape_reset(&t);
        translator_run(tr, &t, tape_upload(&t, n, tr->in_c, tr->size, tr->size, x));
    }
    clg_finish(cl);
    double s = (now_seconds() - t0) / iters;
    *peak = (t.ar.peak + t.scratch.peak + t.keep.peak) * sizeof(float); /* keep: the packed weights */
    tape_free(&t);
    free(x);
    return s;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    char path[4400];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        remove(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

int bench_translate_run(const bench_model_opts *o, const model_desc *m, const cfg *c, int batch) {
    char err[4096];
    if (!m->translator_open) {
        fprintf(stderr, "bench: --translate: model %s translates nothing (./translate opens image-to-image models)\n", m->type);
        return 2;
    }
    clg_ctx *cl = clg_open(o->device, 0, err, sizeof err);
    if (!cl) {
        fprintf(stderr, "bench: %s\n", err);
        return o->device ? 2 : 1;
    }
    char desc[600];
    clg_describe(cl, desc, sizeof desc);
    double load[3] = {0};
    getloadavg(load, 3);
    printf("bench --translate %s, load %.2f\ndevice: %s\n", o->model ? o->model : o->config, load[0], desc);
    char dir[] = "/tmp/clgan_bench_translate_XXXXXX", path[4200];
    if (!mkdtemp(dir)) die("bench: mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/config.ini", dir); /* trainer_save stores the run's config with the weights */
    trainer *tr = cfg_write(c, path, err, sizeof err) == 0 ? trainer_new(m, c, cl, 0, err, sizeof err) : NULL;
    int rc = tr ? trainer_save(tr, dir, err, sizeof err) : -1;
    if (tr) trainer_free(tr);
    translator trn;
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    if (rc == 0) rc = translator_open_checkpoint(&trn, cl, path, "AtoB", err, sizeof err);
    remove_dir(dir);
    if (rc != 0) {
        fprintf(stderr, "bench: %s\n", err);
        clg_close(cl);
        return 1;
    }
    printf("clgan: %s, random weights, inputs %dx%d\n", trn.what, trn.size, trn.size);
    int sizes[2] = {1, batch}, nsz = batch > 1 ? 2 : 1, warmup = o->warmup >= 0 ? o->warmup : 2;
    double clg_ips[2];
    for (int i = 0; i < nsz; i++) {
        int iters = o->iters > 0 ? o->iters : sizes[i] == 1 ? 10 : 3;
        size_t peak;
        double s = time_forward(&trn, cl, sizes[i], warmup, iters, &peak);
        clg_ips[i] = sizes[i] / s;
        printf("clgan batch %d: %.4g images/s (%.4g s per forward, %d after %d warm-up; arena peak %.1f MiB)\n", sizes[i],
               clg_ips[i], s, iters, warmup, peak / 1048576.0);
        fflush(stdout);
    }
    int is_cpu = !cl->is_gpu;
    translator_free(&trn);
    clg_close(cl);
    if (o->no_torch) return 0;
    char targ[MAXARGS][64], why[1024] = "";
    int tn = 0;
    if (strcmp(m->type, "cyclegan") || !m->torch_args || m->torch_args(c, targ, &tn, why, sizeof why) != 0) {
        printf("no ratio: %s\n", *why ? why : "the PyTorch inference twin is CycleGAN's generator only");
        return 0;
    }
    char script[4300], s_batches[32], s_iters[24], s_warmup[24], s_threads[24];
    snprintf(script, sizeof script, "%s/tools/torch_ref/translate_torch.py", o->root);
    snprintf(s_batches, sizeof s_batches, nsz > 1 ? "1,%d" : "1", batch);
    snprintf(s_iters, sizeof s_iters, "%d", o->iters > 0 ? o->iters : 5);
    snprintf(s_warmup, sizeof s_warmup, "%d", warmup);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(s_threads, sizeof s_threads, "%ld", cores > 0 ? cores : 1);
    char *argv[MAXARGS + 16];
    int n = 0;
    argv[n++] = (char *)o->python;
    argv[n++] = script;
    for (int i = 0; i < tn; i++) argv[n++] = targ[i];
    char *tail[] = {"--batches", s_batches, "--iters", s_iters, "--warmup", s_warmup, "--threads", s_threads, "--device", "cpu", "--malloc", !strcmp(o->torch_tuning, "tuned") ? "tuned" : "default"};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0] - (is_cpu ? 0 : 4); i++) argv[n++] = tail[i];
    argv[n] = NULL;
    printf("pytorch:");
    for (int i = 0; i < n; i++) printf(" %s", argv[i]);
    printf("\n");
    bench_twin_out tw;
    if (bench_twin_run(argv, o->torch_tuning, &tw) != 0) return 1;
    if (is_cpu) bench_twin_print_anchor(&tw, s_threads, desc);
    for (int i = 0; i < nsz; i++)
        for (int j = 0; j < tw.nips; j++)
            if (tw.ips_batch[j] == sizes[i] && tw.ips[j] > 0)
                printf("translate batch %d: clgan %.4g images/s, pytorch %.4g images/s, ratio clgan/pytorch (s per image) %.3g\n",
                       sizes[i], clg_ips[i], tw.ips[j], tw.ips[j] / clg_ips[i]);
    return 0;
}
