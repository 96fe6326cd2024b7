/* pix2pix (seed 001; the reference pytorch-CycleGAN-and-pix2pix's Pix2PixModel): a U-Net generator
 * G: A -> B (models/graph.h graph_unet, the reference's UnetGenerator names) and a PatchGAN D on the
 * channel concatenation [A, B] (NLayerDiscriminator names), the vanilla (BCE) or LSGAN loss, plus
 * lambda_L1 |G(A) - B|_1 (lambda 100), on paired data (models/pix2pix_data.h). Checkpoint tensors are
 * "G.model.model.0.weight", "D.model.0.weight", ...: the reference's netG / netD state_dicts. */
#ifndef CLGAN_PIX2PIX_H
#define CLGAN_PIX2PIX_H
#include "cyclegan_data.h"
#include "image_pairs.h"
#include "graph.h"
#include "model.h"
#include "optim.h"

typedef struct {
    int channels_a, channels_b;
    int ngf, ndf, num_downs, n_layers_d;
    int batch_norm; /* 1: BatchNorm2d (pix2pix's default), 0: InstanceNorm2d (affine off) */
    int dropout;    /* Dropout(0.5) in the U-Net's ngf*8 middle blocks */
    int lsgan;      /* 1: MSE, 0: BCE with logits (vanilla, pix2pix's default) */
    int size;       /* training image side */
} pix2pix_spec;

extern const model_desc pix2pix_model;

/* The reference's NLayerDiscriminator (PatchGAN) over `in` channels, named "<prefix>0.weight", ...:
 * conv4x4/2 + LeakyReLU(0.2), n_layers - 1 conv4x4/2 + norm + LeakyReLU, conv4x4/1 + norm + LeakyReLU,
 * conv4x4/1 to one channel. norm L_BN or L_IN (affine off); bias: the middle convs' bias (the
 * reference: only with instance norm; BicycleGAN's D: always). Layers added, not built. */
void pix2pix_patchgan(seqnet *d, int in, int ndf, int n_layers, layer_kind norm, int bias);
/* The side of the PatchGAN's output map for an input of side `size` (< 1: none left). */
int pix2pix_patchgan_side(int size, int n_layers);

int pix2pix_spec_from_cfg(const cfg *c, pix2pix_spec *s, char *err, size_t errlen);
void pix2pix_build_generator(const pix2pix_spec *s, seqnet *g, clg_ctx *cl);
void pix2pix_build_discriminator(const pix2pix_spec *s, seqnet *d, clg_ctx *cl);

typedef struct {
    trainer base;
    pix2pix_spec s;
    image_pairs src; /* paired folders, or a fixed random pair without data */
    seqnet g, d;
    optim og, od;
    int B;
    float lambda_l1;
    double lr;
    long n_epochs, n_epochs_decay;
} pix2pix_trainer;

/* The iteration's losses and tensors (tape variables until the next iteration). */
typedef struct {
    int g_gan, g_l1, d_real, d_fake;
    int real_a, real_b, fake_b;
} pix2pix_step_vars;

int pix2pix_trainer_init(pix2pix_trainer *r, const cfg *c, clg_ctx *cl, int with_data, char *err, size_t errlen);
/* One iteration as the reference's optimize_parameters: fake_B = G(A); D step (0.5 (GAN(D([A, B]), 1) +
 * GAN(D([A, fake_B detached]), 0))); then G step with D frozen, on the updated D: GAN(D([A, fake_B]), 1)
 * + lambda_L1 mean |fake_B - B|. real_a / real_b NULL: the next batch of the data (or the fixed one). */
void pix2pix_trainer_iteration(pix2pix_trainer *r, const tensor *real_a, const tensor *real_b, pix2pix_step_vars *sv);
void pix2pix_trainer_free(pix2pix_trainer *r);

#endif
