/* Checkpoints: the weights of one or more networks and their Adam moments in one safetensors file
 * (names "<net>.<param>", "<net>.<param>.adam_m", "<net>.<param>.adam_v" -- rmsprop_m/_v for RMSprop),
 * with string metadata
 * (step, epoch, optimizer step counts, seed, the effective configuration). Written atomically. */
#ifndef CLGAN_CHECKPOINT_H
#define CLGAN_CHECKPOINT_H
#include "optim.h"
#include "safetensors.h"

typedef struct {
    net *net;
    optim *opt; /* NULL: weights only */
} ckpt_part;

int ckpt_save(const char *path, const ckpt_part *parts, int nparts, const char *const *meta_key,
              const char *const *meta_val, int nmeta, char *err, size_t errlen);

/* Loads weights (and moments where opt is set and with_opt) into existing networks, checking every
 * name and shape: a missing tensor or a shape mismatch is an error naming the path and tensor, so
 * is a NaN or infinite value (st_load), and so is an Adam/RMSprop second moment below zero (it
 * would make sqrt(v) NaN).
 * The file's metadata stays available in *file (st_free it). */
int ckpt_load(const char *path, const ckpt_part *parts, int nparts, int with_opt, st_file *file, char *err,
              size_t errlen);

/* A metadata value as an integer (decimal, optional '-', nothing else, within long); -1 with err
 * naming the key if absent or malformed. */
int ckpt_meta_long(const st_file *f, const char *path, const char *key, long *out, char *err, size_t errlen);

/* The same, and lo <= value <= hi: a value outside is an error naming the field, its value and the
 * allowed range ("PATH: checkpoint metadata 'step' = -5 is outside the allowed range [0, 1000]").
 * Every metadata field must go through this before use: a hostile step or pool count indexes
 * host and device buffers. */
int ckpt_meta_long_range(const st_file *f, const char *path, const char *key, long lo, long hi, long *out,
                         char *err, size_t errlen);

#endif
