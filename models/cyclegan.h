/* CycleGAN (seed 003 section 4, the reference pytorch-CycleGAN-and-pix2pix): two ResNet generators
 * G_A: A -> B and G_B: B -> A, two PatchGAN discriminators D_A (judges B images) and D_B (judges A
 * images), LSGAN or BCE adversarial losses, cycle L1 (lambda 10), optional identity loss, image pools.
 * Parameter names follow the reference's state_dict ("model.1.weight",
 * "model.10.conv_block.1.weight", ...), so a checkpoint maps one to one onto its networks. */
#ifndef CLGAN_CYCLEGAN_H
#define CLGAN_CYCLEGAN_H
#include "checkpoint.h"
#include "image_pairs.h"
#include "image_pool.h"
#include "model.h"
#include "optim.h"
#include "seq.h"

typedef struct {
    int channels_a, channels_b; /* image channels of the two domains */
    int ngf, ndf, n_blocks, n_layers_d;
    int up_tconv;               /* 0: x2 nearest upsampling + 3x3 conv (seed 003); 1: ConvTranspose2d (reference) */
    int lsgan;                  /* 1: MSE (LSGAN), 0: BCE with logits */
    int size;                   /* training image side (crop_size) */
} cyclegan_spec;

extern const model_desc cyclegan_model;

/* The ResNet generator from `in` to `out` channels and the PatchGAN discriminator over `in`
 * channels, initialised N(0, 0.02) with zero biases when seed != 0 (layers built and allocated). */
void cyclegan_build_generator(const cyclegan_spec *s, seqnet *g, clg_ctx *cl, const char *name, int in, int out);
void cyclegan_build_discriminator(const cyclegan_spec *s, seqnet *d, clg_ctx *cl, const char *name, int in);

/* The spec as checkpoint metadata ("cyclegan.ngf" = "64", ...) and back: a generator can be rebuilt
 * from a checkpoint alone (./translate). */
#define CYCLEGAN_META_N 8
void cyclegan_spec_meta(const cyclegan_spec *s, ckpt_meta *meta);
int cyclegan_spec_from_meta(const st_file *f, const char *path, cyclegan_spec *s, char *err, size_t errlen);
int cyclegan_spec_from_cfg(const cfg *c, cyclegan_spec *s, char *err, size_t errlen);

/* ---- training (models/cyclegan_train.c) ---- */

typedef struct {
    trainer base;
    cyclegan_spec s;
    image_pairs src;            /* the batches: unpaired folders, or a fixed random pair without data */
    seqnet g_a, g_b, d_a, d_b;
    optim og_a, og_b, od_a, od_b;
    image_pool pool_a, pool_b; /* past fake A (for D_B) and fake B (for D_A) */
    int B;
    float lambda_a, lambda_b, lambda_idt;
    double lr;
    long n_epochs, n_epochs_decay;
} cyclegan_trainer;

/* The iteration's losses (tape variables until the next iteration): G_A, G_B (adversarial), cycle_A,
 * cycle_B, idt_A, idt_B (-1 when the identity loss is off), D_A, D_B, and the batch. */
typedef struct {
    int g_a, g_b, cycle_a, cycle_b, idt_a, idt_b, d_a, d_b;
    int real_a, real_b, fake_a, fake_b;
} cyclegan_step_vars;

/* The trainer interface's init for tests that step a trainer by hand: loads the data (with_data; else
 * iterations take their batches from the caller or a fixed random batch) and builds and initialises
 * the four networks and their optimizers. */
int cyclegan_trainer_init(cyclegan_trainer *r, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen);
/* One iteration as the reference's optimize_parameters: G step (D_A and D_B frozen), then D step on
 * the pooled, detached fakes with 0.5 * (real + fake). real_a / real_b: tensors of the batch, or NULL
 * to take the next batch from the data (or the fixed batch). */
void cyclegan_trainer_iteration(cyclegan_trainer *r, const tensor *real_a, const tensor *real_b, cyclegan_step_vars *sv);
/* The learning rate of an epoch (0-based): constant for n_epochs, then linear decay (the reference's
 * 'linear' policy: lr * (1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1))). */
double cyclegan_lr_at(const cyclegan_trainer *r, long epoch);
void cyclegan_trainer_free(cyclegan_trainer *r);

#endif
