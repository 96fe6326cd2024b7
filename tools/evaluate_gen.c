/* ./evaluate samples CHECKPOINT N OUTDIR: N generated images of a VAE (decoded from z ~ N(0, I)) or a
 * GAN (G(z)) checkpoint as OUTDIR/sample_00000.png ..., the "generated set" of seed 003's tables.
 * Conditional models get the classes in turn (image i: class i mod the classes). z is drawn on the
 * host from (seed, RNG_STREAM_SAMPLE, 1 + batch), so a seed gives the same images on any device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluate.h"
#include "gan.h"
#include "images.h"
#include "rng.h"
#include "runutil.h"
#include "tape_data.h"
#include "util.h"
#include "vae.h"

#define GEN_BATCH 100

/* The VAE of config c (as vae_train.c builds it for 28 x 28 Fashion-MNIST) with the checkpoint's weights. */
static int open_vae(vae *m, clg_ctx *cl, const cfg *c, const char *ckpt, char *err, size_t errlen) {
    int conv = !strcmp(cfg_str(c, "vae", "arch"), "conv");
    vae_spec spec = {.in_c = 1, .in_h = 28, .in_w = 28, .hidden = (int)cfg_int(c, "vae", "hidden"),
                     .zdim = (int)cfg_int(c, "vae", "zdim"), .relu_latent = cfg_bool(c, "vae", "relu_latent"),
                     .conv1 = conv ? (int)cfg_int(c, "vae", "conv1") : 0, .conv2 = conv ? (int)cfg_int(c, "vae", "conv2") : 0,
                     .ncls = cfg_bool(c, "vae", "conditional") ? 10 : 0, .kl_weight = (float)cfg_float(c, "vae", "kl_weight")};
    vae_create_spec(m, cl, &spec);
    ckpt_part p = {&m->net, NULL};
    st_file f;
    if (ckpt_load(ckpt, &p, 1, 0, &f, err, errlen) != 0) {
        vae_free(m);
        return -1;
    }
    st_free(&f);
    return 0;
}

/* The GAN of config c (G and D built as gan_train.c does; G's weights and batch-norm statistics from
 * the checkpoint). Not through trainer_load: without its data a trainer's epochs are one step long,
 * and the checkpoint's step would be refused. */
static int open_gan(gan_spec *s, seqnet *g, seqnet *d, clg_ctx *cl, const cfg *c, const char *ckpt, char *err, size_t errlen) {
    if (gan_spec_from_cfg(c, s, (int)cfg_int(c, "data", "channels"), 10, err, errlen) != 0) return -1;
    gan_build(s, g, d, cl); /* builds (allocates) both */
    ckpt_part p[2] = {{&g->params, NULL}, {&g->buffers, NULL}};
    st_file f;
    if (ckpt_load(ckpt, p, g->buffers.np ? 2 : 1, 0, &f, err, errlen) != 0) {
        seq_free(g), seq_free(d);
        return -1;
    }
    st_free(&f);
    return 0;
}

int eval_checkpoint_config(const char *arg, const char *what, const char *which, const char *const *types, int ntypes,
                           char *dir, size_t dirlen, char *ckpt, size_t ckptlen, const model_desc **m, cfg **c,
                           char *err, size_t errlen) {
    char tmp[] = "/tmp/clgan-evaluate-XXXXXX", cfgpath[4300];
    if (eval_run_folder(arg, dir, dirlen, err, errlen) != 0) return -1;
    run_path(ckpt, ckptlen, dir, "checkpoint.safetensors");
    st_file st;
    if (st_load(ckpt, &st, err, errlen) != 0) return -1;
    const char *type = st_meta(&st, "model"), *config = st_meta(&st, "config");
    *m = type ? model_find(type) : NULL;
    int known = 0;
    for (int i = 0; *m && i < ntypes; i++) known |= !strcmp((*m)->type, types[i]);
    if (!known || !config) {
        set_err(err, errlen, "%s: %s takes %s checkpoint (this one's model is %s%s)", ckpt, what, which,
                type ? type : "not given", config ? "" : ", and it holds no config");
        st_free(&st);
        return -1;
    }
    if (!mkdtemp(tmp)) {
        set_err(err, errlen, "cannot make a scratch folder in /tmp");
        st_free(&st);
        return -1;
    }
    run_path(cfgpath, sizeof cfgpath, tmp, "config.ini");
    int rc = write_file_atomic(cfgpath, config, strlen(config), err, errlen);
    st_free(&st);
    *c = model_schema(*m);
    if (rc == 0) rc = cfg_parse_file(*c, cfgpath, err, errlen);
    remove(cfgpath);
    rmdir(tmp);
    if (rc != 0) {
        cfg_free(*c);
        *c = NULL;
    }
    return rc;
}

int eval_samples(clg_ctx *cl, const char *arg, int n, const char *outdir, unsigned long long seed, char *err, size_t errlen) {
    char dir[4096], ckpt[4200];
    static const char *const types[] = {"vae", "gan"};
    const model_desc *m;
    cfg *c;
    if (eval_checkpoint_config(arg, "samples", "a vae or gan", types, 2, dir, sizeof dir, ckpt, sizeof ckpt, &m, &c, err,
                               errlen) != 0)
        return -1;
    int rc = mkdir_p(outdir, err, errlen);
    if (rc != 0) {
        cfg_free(c);
        return -1;
    }
    int is_vae = !strcmp(m->type, "vae");
    vae v;
    gan_spec gs;
    seqnet G, D;
    rc = is_vae ? open_vae(&v, cl, c, ckpt, err, errlen) : open_gan(&gs, &G, &D, cl, c, ckpt, err, errlen);
    if (rc != 0) {
        cfg_free(c);
        return -1;
    }
    int Z = is_vae ? v.zdim : gs.zdim, ncls = is_vae ? v.s.ncls : gs.conditional ? gs.ncls : 0;
    int C = is_vae ? 1 : gs.channels, H = is_vae ? 28 : gs.size, W = H;
    tape t;
    tape_init(&t, cl);
    tape_set_inference(&t);
    float *z = xmalloc((size_t)GEN_BATCH * Z * sizeof *z), *oh = xcalloc((size_t)GEN_BATCH * (ncls + 1), sizeof *oh);
    for (int first = 0; first < n && rc == 0; first += GEN_BATCH) {
        int b = n - first < GEN_BATCH ? n - first : GEN_BATCH;
        rng_seq rs = rng_seq_make(seed, RNG_STREAM_SAMPLE, 1 + (uint32_t)(first / GEN_BATCH));
        for (int i = 0; i < b * Z; i++) z[i] = rng_normal(&rs);
        memset(oh, 0, (size_t)GEN_BATCH * (ncls + 1) * sizeof *oh);
        for (int i = 0; ncls && i < b; i++) oh[(size_t)i * ncls + (first + i) % ncls] = 1.0f;
        tape_reset(&t);
        int y = ncls ? tape_upload(&t, b, ncls, 1, 1, oh) : -1, zv = tape_upload(&t, b, Z, 1, 1, z);
        seq_ctx ctx = {.training = 0, .seed = seed};
        float *img = tape_download_new(&t, is_vae ? vae_decode(&v, &t, zv, y) : gan_generate(&gs, &G, &t, zv, y, &ctx), NULL);
        size_t per = (size_t)C * H * W;
        for (int i = 0; i < b && rc == 0; i++) {
            float *x = img + (size_t)i * per;
            if (is_vae)
                for (size_t k = 0; k < per; k++) x[k] = 2 * x[k] - 1; /* sigmoid [0, 1] -> the PNG writer's [-1, 1] */
            char path[4300];
            snprintf(path, sizeof path, "%s/sample_%05d.png", outdir, first + i);
            rc = image_save_png(path, x, C, H, W, err, errlen);
        }
        free(img);
    }
    if (rc == 0) printf("wrote %d %s samples (%dx%dx%d) to %s\n", n, m->type, C, H, W, outdir);
    free(z), free(oh);
    tape_free(&t);
    if (is_vae) vae_free(&v);
    else seq_free(&G), seq_free(&D);
    cfg_free(c);
    return rc;
}
