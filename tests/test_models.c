/* The trainer interface (models/model.h) for every registered model, on a tiny configuration without
 * data: the required functions exist, iterations advance the step and give finite losses, a checkpoint
 * saved and loaded into a fresh trainer saves back to the same tensors, and a checkpoint whose step is
 * outside the run (negative, or past its end) or of another model is refused with the field named. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "model.h"
#include "runutil.h"

/* Small shapes per model, so each runs in a second or two on a CPU. */
static const char *const *tiny_sets(const char *type) {
    static const char *const vae[] = {"vae.hidden=16", "train.batch_size=4", NULL};
    static const char *const gan[] = {"gan.arch=dcgan", "gan.ngf=4", "gan.ndf=4", "gan.zdim=8", "train.batch_size=3", NULL};
    static const char *const cyclegan[] = {"cyclegan.ngf=4", "cyclegan.ndf=4", "cyclegan.n_blocks=1", "cyclegan.n_layers_d=1",
                                           "data.load_size=16", "data.crop_size=16", "cyclegan.pool_size=3", NULL};
    static const char *const avae[] = {"avae.size=16", "avae.filters=3", "avae.zdim=4", "avae.d_zdim=4", "train.batch_size=2", NULL};
    static const char *const pix2pix[] = {"pix2pix.ngf=4", "pix2pix.ndf=4", "pix2pix.n_layers_d=1", "data.load_size=32",
                                          "data.crop_size=32", "train.batch_size=2", NULL};
    static const char *const bicyclegan[] = {"bicyclegan.ngf=4", "bicyclegan.ndf=4", "bicyclegan.nef=4", "bicyclegan.nz=3",
                                             "bicyclegan.where_add=input", "bicyclegan.encoder=resnet_small",
                                             "bicyclegan.n_layers_d=1", "data.load_size=32", "data.crop_size=32",
                                             "train.batch_size=2", "bicyclegan.lambda_div=0.05", NULL};
    static const char *const fashion[] = {"classifier.conv1=2", "classifier.conv2=3", "classifier.feat=5", "train.batch_size=3", NULL};
    static const char *const none[] = {NULL};
    return !strcmp(type, "vae") ? vae : !strcmp(type, "gan") ? gan : !strcmp(type, "cyclegan") ? cyclegan
         : !strcmp(type, "avae") ? avae : !strcmp(type, "pix2pix") ? pix2pix : !strcmp(type, "bicyclegan") ? bicyclegan
         : !strcmp(type, "fashion_classifier") ? fashion : none;
}

static cfg *tiny_config(const model_desc *m, const char *dir, char *err, size_t errlen) {
    cfg *c = model_schema(m);
    const char *const *sets = tiny_sets(m->type);
    int rc = cfg_set_value(c, "model", "type", m->type, err, errlen);
    for (int i = 0; rc == 0 && sets[i]; i++) rc = cfg_set(c, sets[i], err, errlen);
    if (rc == 0) rc = cfg_set(c, "train.epochs=10", err, errlen);
    char path[4300];
    run_path(path, sizeof path, dir, "config.ini");
    if (rc == 0) rc = cfg_write(c, path, err, errlen);
    if (rc != 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

/* The tensors of two checkpoint files are equal, name for name, bit for bit. */
static int same_tensors(const char *a, const char *b) {
    st_file fa, fb;
    char err[1024];
    if (st_load(a, &fa, err, sizeof err) || st_load(b, &fb, err, sizeof err)) {
        printf("FAIL %s\n", err);
        return 0;
    }
    int ok = fa.n == fb.n && fa.n > 0;
    for (int i = 0; ok && i < fa.n; i++) {
        const st_tensor *t = st_find(&fb, fa.t[i].name);
        ok = t && st_numel(t) == st_numel(&fa.t[i]) &&
             !memcmp(t->data, fa.t[i].data, (size_t)st_numel(t) * sizeof(float));
    }
    st_free(&fa);
    st_free(&fb);
    return ok;
}

static void one_model(clg_ctx *cl, const model_desc *m, const char *dir, const char *dir2) {
    char err[4096], p1[4300], p2[4300];
    printf("model %s\n", m->type);
    CHECK(m->init && m->iteration && m->grids && m->parts && m->meta_save && m->meta_load && m->free && m->size >= sizeof(trainer),
          "%s: a required trainer function is missing", m->type);
    cfg *c = tiny_config(m, dir, err, sizeof err);
    CHECK(c != NULL, "%s: config: %s", m->type, c ? "" : err);
    if (!c) return;
    run_path(p1, sizeof p1, dir2, "config.ini");
    CHECK(cfg_write(c, p1, err, sizeof err) == 0, "%s", err);
    trainer *a = trainer_new(m, c, cl, 0, err, sizeof err);
    CHECK(a != NULL, "%s: trainer_new: %s", m->type, a ? "" : err);
    if (!a) {
        cfg_free(c);
        return;
    }
    int finite = 1;
    for (int i = 0; i < 3; i++) {
        m->iteration(a);
        for (int k = 0; k < a->nloss; k++) finite &= isfinite(tape_read_scalar(&a->t, a->loss[k]));
    }
    CHECK(a->step == 3 && finite, "%s: 3 iterations: step %ld, losses finite %d", m->type, a->step, finite);
    printf("%s %s: 3 iterations without data, %d finite losses each (%s ...)\n", a->step == 3 && finite ? "ok  " : "FAIL",
           m->type, a->nloss, a->loss_names[0]);

    /* save, load into a fresh trainer, save again: the same tensors and step */
    CHECK(trainer_save(a, dir, err, sizeof err) == 0, "%s: save: %s", m->type, err);
    trainer *b = trainer_new(m, c, cl, 0, err, sizeof err);
    int loaded = b && trainer_load(b, dir, err, sizeof err) == 0;
    CHECK(loaded, "%s: load: %s", m->type, err);
    if (loaded) {
        CHECK(b->step == 3, "%s: loaded step %ld, want 3", m->type, b->step);
        CHECK(trainer_save(b, dir2, err, sizeof err) == 0, "%s: save again: %s", m->type, err);
        run_path(p1, sizeof p1, dir, "checkpoint.safetensors");
        run_path(p2, sizeof p2, dir2, "checkpoint.safetensors");
        int same = same_tensors(p1, p2);
        CHECK(same, "%s: a loaded checkpoint saves back to other tensors", m->type);
        printf("%s %s: checkpoint -> fresh trainer -> checkpoint, every tensor bit-identical, step 3\n", same ? "ok  " : "FAIL",
               m->type);
    }
    /* a step outside the run is refused, naming the field */
    long total = a->epochs * a->spe;
    long bad_steps[2] = {-1, total + 1};
    for (int i = 0; i < 2; i++) {
        a->step = bad_steps[i];
        CHECK(trainer_save(a, dir, err, sizeof err) == 0, "%s: save: %s", m->type, err);
        err[0] = 0;
        int refused = b && trainer_load(b, dir, err, sizeof err) != 0 && strstr(err, "'step'");
        CHECK(refused, "%s: step %ld loaded (err '%s')", m->type, bad_steps[i], err);
        printf("%s %s: a checkpoint at step %ld is refused: %s\n", refused ? "ok  " : "FAIL", m->type, bad_steps[i], err);
    }
    trainer_free(b);
    trainer_free(a);
    cfg_free(c);
}

int main(void) {
    clg_ctx *cl = dev_open_for_test();
    if (!cl) return 1;
    char dir[] = "/tmp/clgan_test_models_XXXXXX", dir2[] = "/tmp/clgan_test_models2_XXXXXX";
    if (!mkdtemp(dir) || !mkdtemp(dir2)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK(model_count() >= 3, "%d models registered", model_count());
    for (int i = 0; i < model_count(); i++) one_model(cl, model_at(i), dir, dir2);

    /* a checkpoint of one model is not loaded into another */
    char err[4096];
    cfg *c = tiny_config(model_find("vae"), dir, err, sizeof err);
    trainer *v = c ? trainer_new(model_find("vae"), c, cl, 0, err, sizeof err) : NULL;
    cfg *cg = tiny_config(model_find("gan"), dir2, err, sizeof err);
    trainer *g = cg ? trainer_new(model_find("gan"), cg, cl, 0, err, sizeof err) : NULL;
    if (v && g && trainer_save(g, dir2, err, sizeof err) == 0) {
        int refused = trainer_load(v, dir2, err, sizeof err) != 0;
        CHECK(refused, "a gan checkpoint loaded into a vae trainer");
        printf("%s a gan checkpoint is refused by the vae: %s\n", refused ? "ok  " : "FAIL", err);
    } else {
        CHECK(0, "cross-model setup: %s", err);
    }
    trainer_free(v);
    trainer_free(g);
    cfg_free(c);
    cfg_free(cg);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, dir2);
    if (system(cmd) != 0) printf("warning: %s failed\n", cmd);
    clg_close(cl);
    TEST_END();
}
