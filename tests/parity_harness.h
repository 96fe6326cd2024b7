/* What the training-parity tests (CycleGAN, pix2pix, BicycleGAN, the adversarial VAE, GAN, VAE) share:
 * each scenario's config written into a temporary folder, the trainer's checkpoints saved there under
 * SCEN_WHAT.safetensors for the PyTorch script, random batches, and removing the folder. */
#ifndef CLGAN_PARITY_HARNESS_H
#define CLGAN_PARITY_HARNESS_H
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "model.h"
#include "rng.h"
#include "util.h"

static inline void parity_path(char *out, size_t n, const char *dir, const char *scen, const char *what) {
    snprintf(out, n, "%s/%s_%s.safetensors", dir, scen, what);
}

/* Saves tr's checkpoint (trainer_save writes dir/checkpoint.safetensors) as dir/SCEN_WHAT.safetensors. */
static inline int parity_save_as(trainer *tr, const char *dir, const char *scen, const char *what) {
    char err[1024], from[4300], to[4300];
    int rc = trainer_save(tr, dir, err, sizeof err);
    CHECK(rc == 0, "%s: checkpoint: %s", scen, err);
    snprintf(from, sizeof from, "%s/checkpoint.safetensors", dir);
    parity_path(to, sizeof to, dir, scen, what);
    if (rc == 0 && rename(from, to) != 0) {
        CHECK(0, "rename %s -> %s", from, to);
        rc = -1;
    }
    return rc;
}

/* n values of U(-1, 1): images in the models' range. */
static inline float *parity_random_images(rng_seq *rs, size_t n) {
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = 2.0f * rng_uniform(rs) - 1.0f;
    return v;
}

/* Model m's config with the common settings, then the scenario's (each list NULL-terminated or of the
 * given length, whichever ends first), written to dir/config.ini (trainer_save copies it into the
 * checkpoint). NULL after a failed CHECK naming the scenario. */
static inline cfg *parity_config(const model_desc *m, const char *dir, const char *const *common, int ncommon,
                                 const char *const *sets, int nsets, const char *scen) {
    char err[2048], path[4300];
    cfg *c = model_schema(m);
    int ok = 1;
    for (int i = 0; i < ncommon && common[i] && ok; i++) ok = !cfg_set(c, common[i], err, sizeof err);
    for (int i = 0; i < nsets && sets[i] && ok; i++) ok = !cfg_set(c, sets[i], err, sizeof err);
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if (ok) ok = cfg_write(c, path, err, sizeof err) == 0;
    CHECK(ok, "%s: config: %s", scen, err);
    if (!ok) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

/* Removes the files in dir (the test's own, one level) and dir itself. */
static inline void parity_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    char p[4300];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0) perror(p);
    }
    if (d) closedir(d);
    if (rmdir(dir) != 0) perror(dir);
}

#endif
