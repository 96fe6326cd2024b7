/* What the train tool needs from a model: its INI keys and its training entry point. */
#ifndef CLGAN_MODEL_H
#define CLGAN_MODEL_H
#include "config.h"
#include "device.h"

typedef struct {
    const char *type; /* [model] type = ... */
    const char *summary;
    const cfg_key *keys;
    int nkeys;
    /* Trains (or resumes) in run_dir, whose config.ini is already written. Returns the process
     * exit status: 0 done, 1 error (message printed), 3 stopped on a non-finite loss. */
    int (*train)(const cfg *c, clg_ctx *cl, const char *run_dir, int resume);
} model_desc;

/* Keys every model shares: [model] type, [run], [train]. */
extern const cfg_key common_keys[];
extern const int common_nkeys;

/* The registry of models (models/registry.c); NULL if unknown. */
const model_desc *model_find(const char *type);
void model_list(FILE *f);

#endif
