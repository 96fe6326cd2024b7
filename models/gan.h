/* The GAN family of seeds 002 and 003: an MLP GAN (G 100-256-512-1024-784, D 784-1024-512-256-1,
 * LeakyReLU 0.2, dropout 0.3) and DCGAN (seed 003 tables 3-4), each optionally conditional on the
 * class (one-hot label concatenated to z and to x), trained with the non-saturating GAN loss, the
 * WGAN loss with weight clipping, or WGAN-GP (gradient penalty). */
#ifndef CLGAN_GAN_H
#define CLGAN_GAN_H
#include "model.h"
#include "dataset.h"
#include "optim.h"
#include "seq.h"

typedef enum { GAN_VANILLA, GAN_WGAN, GAN_WGAN_GP } gan_loss;

typedef struct {
    int mlp;          /* arch: 1 MLP, 0 DCGAN */
    int conditional;
    int ncls;         /* classes when conditional */
    int zdim, channels, size; /* image channels and side (28 for the MLP on Fashion-MNIST, 64 for DCGAN) */
    int ngf, ndf;
    float slope, dropout;
    int d_batchnorm;
    gan_loss loss;
} gan_spec;

extern const model_desc gan_model;

/* Builds G and D per spec (layers only; seq_build allocates). */
void gan_build(const gan_spec *s, seqnet *g, seqnet *d, clg_ctx *cl);
/* G(z [, one-hot y]) -> images {B, channels, size, size} in [-1, 1]. y: {B, ncls, 1, 1} or -1. */
int gan_generate(const gan_spec *s, seqnet *g, tape *t, int z, int y, const seq_ctx *ctx);
/* D(x [, y]) -> logits {B, 1, 1, 1}. y_maps: one-hot label planes {B, ncls, size, size} for DCGAN,
 * {B, ncls, 1, 1} for the MLP; -1 when unconditional. */
int gan_discriminate(const gan_spec *s, seqnet *d, tape *t, int x, int y, const seq_ctx *ctx);
/* Training state (models/gan_train.c), a trainer of models/model.h. */
typedef struct {
    trainer base;
    gan_spec s;
    dataset data;
    net fixed; /* with_data = 0: one random batch in [-1, 1] */
    seqnet g, d;
    optim og, od;
    long bpe;  /* batches per epoch (base.spe counts generator steps) */
    int B, n_critic;
    float clip, gp_lambda;
    long shuffled_epoch;
} gan_trainer;

/* Variables of the last iteration, on the trainer's tape until the next one: losses and scores,
 * and (for tests) the last critic step's real batch, noise and penalty weights, and the G step's
 * own noise when it drew one. -1 where unused. */
typedef struct {
    int d_loss, g_loss, d_real, d_fake, gp;
    int x, z, gp_eps, z_g;
} gan_step_vars;

/* Loads the data and builds and initialises the networks and optimizers per the config (the trainer
 * interface's init with data, for tests that step a trainer by hand). */
int gan_trainer_init(gan_trainer *r, const cfg *c, clg_ctx *cl, char *err, size_t errlen);
/* One generator iteration: n_critic discriminator steps, then the generator step. */
void gan_trainer_iteration(gan_trainer *r, gan_step_vars *sv);
void gan_trainer_free(gan_trainer *r);

int gan_spec_from_cfg(const cfg *c, gan_spec *s, int channels, int ncls, char *err, size_t errlen);

#endif
