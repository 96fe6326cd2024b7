/* BicycleGAN (seed 000; the reference junyanz/BicycleGAN): a U-Net generator G(A, z) with z added at
 * the input or at every down block (graph_unet UNET_Z_INPUT / UNET_Z_ALL: G_Unet_add_input /
 * G_Unet_add_all names), an encoder E(B) -> (mu, log sigma^2), and two PatchGAN discriminators D (for
 * the cVAE-GAN branch) and D2 (cLR-GAN), each at one or two scales (D_NLayersMulti names: "model.0..."
 * for one, "model_0.0...", "model_1.0..." for two). Each batch is split in half: the first half trains
 * the cVAE-GAN branch (z = E(B1)), the second half's B2 are D2's real images; the cLR-GAN fake is
 * G(A1, z ~ N(0, I)), as the reference. */
#ifndef CLGAN_BICYCLEGAN_H
#define CLGAN_BICYCLEGAN_H
#include "cyclegan_data.h"
#include "image_pairs.h"
#include "graph.h"
#include "model.h"
#include "optim.h"

enum { BIC_E_RESNET18 = 0, BIC_E_SMALL = 1 };

typedef struct {
    int channels_a, channels_b, size;
    int nz, ngf, ndf, nef;
    int num_downs;  /* U-Net halvings */
    int z_all;      /* 1: z at every down block (where_add = all), 0: at the input */
    int batch_norm; /* G and D norm: 1 batch, 0 instance (affine off) */
    int dropout;
    int lsgan;
    int num_d;      /* scales per discriminator: 1 or 2 */
    int n_layers_d;
    int encoder;    /* BIC_E_RESNET18 or BIC_E_SMALL */
    int e_blocks;   /* E_ResNet's n_blocks (BIC_E_SMALL) */
} bicycle_spec;

/* The encoder: a seqnet (ResNet-18: torchvision's names, then "fc" and "fcVar" linear heads), or the
 * reference's E_ResNet built here from ops (its AvgPool2d(2) has no seqnet layer): parameters in p. */
typedef struct {
    int kind;
    seqnet rn;   /* BIC_E_RESNET18 */
    net p;       /* BIC_E_SMALL: "conv.0.weight", "conv.1.conv.2.weight", ..., "fc.0.weight", "fcVar.0.weight" */
    net buf;     /* BIC_E_SMALL with batch norm: "conv.1.conv.0.running_mean", ... (else empty) */
    int bn;      /* BIC_E_SMALL: BatchNorm2d (1) or InstanceNorm2d without affine (0) in its blocks */
    net *params; /* the trained parameters of either */
    net *buffers; /* batch-norm running statistics of either, or NULL when there are none */
    int nb, nef, in_c, nz;
} bicycle_encoder;

/* A discriminator of num_d scales; scale i has width round(ndf / 2^i) and sees the input average-pooled
 * i times by AvgPool2d(3, 2, 1, count_include_pad = False). */
typedef struct {
    int n;
    seqnet s[2];
} bicycle_disc;

extern const model_desc bicyclegan_model;

int bicycle_spec_from_cfg(const cfg *c, bicycle_spec *s, char *err, size_t errlen);
void bicycle_build_generator(const bicycle_spec *s, seqnet *g, clg_ctx *cl);
void bicycle_build_encoder(const bicycle_spec *s, bicycle_encoder *e, clg_ctx *cl, unsigned long long seed);
void bicycle_encoder_free(bicycle_encoder *e);
/* (mu, logvar) of images x: returns {N, 2 nz, 1, 1}, mu in channels [0, nz). */
int bicycle_encode(bicycle_encoder *e, tape *t, int x, const seq_ctx *ctx);
void bicycle_build_disc(const bicycle_spec *s, bicycle_disc *d, clg_ctx *cl, const char *name);
void bicycle_disc_free(bicycle_disc *d);

/* ---- training (models/bicyclegan_train.c) ---- */
typedef struct {
    trainer base;
    bicycle_spec s;
    image_pairs src; /* paired folders (whole batches: the split), or a fixed random pair without data */
    seqnet g;
    bicycle_encoder e;
    bicycle_disc d, d2;
    optim og, oe, od[2], od2[2];
    int B;
    float lambda_l1, lambda_kl, lambda_z, lambda_gan, lambda_gan2, lambda_div;
    double lr;
    long n_epochs, n_epochs_decay;
} bicycle_trainer;

/* The iteration's losses and draws (tape variables until the next iteration; div -1 when off). */
typedef struct {
    int g_gan, g_gan2, d, d2, g_l1, z_l1, kl, div;
    int eps, z_random, fake_encoded, fake_random;
} bicycle_step_vars;

int bicycle_trainer_init(bicycle_trainer *r, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen);
/* One iteration as the reference's optimize_parameters (see bicyclegan_train.c). real_a / real_b: a
 * batch (even size), or NULL for the next one of the data. */
void bicycle_trainer_iteration(bicycle_trainer *r, const tensor *real_a, const tensor *real_b, bicycle_step_vars *sv);
void bicycle_trainer_free(bicycle_trainer *r);

/* The generator's and encoder's shape from a checkpoint's metadata (./translate needs no INI). */
int bicycle_spec_from_meta(const st_file *f, const char *path, bicycle_spec *s, char *err, size_t errlen);

#endif
