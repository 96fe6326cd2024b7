/* The models the train tool knows, and the INI keys they all share. */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "avae.h"
#include "bicyclegan.h"
#include "cyclegan.h"
#include "fashion_classifier.h"
#include "gan.h"
#include "pix2pix.h"
#include "vae.h"

static const cfg_key common_keys[] = {
    {"model", "type", CFG_CHOICE, "vae", "which model to train", NULL /* the registry's names, set by model_schema */, 0, 0},
    {"run", "dir", CFG_STR, "runs/vae", "run folder: config, losses.csv, grids, checkpoint", NULL, 1, 4096},
    {"run", "seed", CFG_INT, "1", "seed of every random draw (init, data order, noise)", NULL, 0, 2147483647},
    {"run", "log_every", CFG_INT, "50", "steps between progress lines and losses.csv flushes", NULL, 1, 4096},
    {"train", "epochs", CFG_INT, "10", "passes over the training set", NULL, 1, 100000},
    {"train", "batch_size", CFG_INT, "128", "images per step", NULL, 1, 65536},
    {"train", "max_steps", CFG_INT, "0", "stop (with a checkpoint) after this many steps in all; 0 = no limit", NULL, 0, 2147483647},
    {"train", "lr", CFG_FLOAT, "1e-3", "Adam learning rate", NULL, 0, 10},
    {"train", "beta1", CFG_FLOAT, "0.9", "Adam beta1", CFG_MAX_EXCLUDED, 0, 1},
    {"train", "beta2", CFG_FLOAT, "0.999", "Adam beta2", CFG_MAX_EXCLUDED, 0, 1},
    {"train", "eps", CFG_FLOAT, "1e-8", "Adam epsilon", NULL, 0, 1},
    {"train", "weight_decay", CFG_FLOAT, "0", "L2 weight decay added to the gradient (PyTorch Adam)", NULL, 0, 1},
};
#define NCOMMON ((int)(sizeof common_keys / sizeof common_keys[0]))

static const model_desc *const models[] = {&vae_model, &gan_model, &cyclegan_model, &pix2pix_model, &bicyclegan_model,
                                            &avae_model, &fashion_classifier_model};

int model_count(void) { return (int)(sizeof models / sizeof models[0]); }
const model_desc *model_at(int i) { return i >= 0 && i < model_count() ? models[i] : NULL; }

const model_desc *model_find(const char *type) {
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(models[i]->type, type) == 0) return models[i];
    return NULL;
}

cfg *model_schema(const model_desc *m) {
    /* [model] type's choices are the registered models' names, joined here rather than copied by hand */
    static char names[256];
    cfg_key keys[NCOMMON];
    memcpy(keys, common_keys, sizeof keys);
    names[0] = 0;
    for (int i = 0; i < model_count(); i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "|" : "", models[i]->type);
    keys[0].choices = names;
    cfg *c = cfg_new();
    cfg_add_keys(c, keys, NCOMMON);
    cfg_add_keys(c, m->keys, m->nkeys);
    return c;
}

void model_list(FILE *f) {
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) fprintf(f, "  %-10s %s\n", models[i]->type, models[i]->summary);
}
