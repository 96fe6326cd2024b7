/* The fully-connected VAE of seed 003 (section 2): encoder 784-400-(mu, logvar) of zdim, decoder
 * zdim-400-784 with a sigmoid output; loss = BCE(x_hat, x) + kl_weight * KL, each summed over a
 * sample and averaged over the batch. */
#ifndef CLGAN_VAE_H
#define CLGAN_VAE_H
#include "model.h"
#include "ops.h"

typedef struct {
    clg_ctx *cl;
    net net;
    int in_dim, hidden, zdim, relu_latent;
    float kl_weight;
    int fc1_w, fc1_b, fc21_w, fc21_b, fc22_w, fc22_b, fc3_w, fc3_b, fc4_w, fc4_b;
} vae;

/* Variables of one training forward pass. */
typedef struct {
    int mu, logvar, eps, z, xhat, recon, kl, loss;
} vae_vars;

extern const model_desc vae_model;

void vae_create(vae *m, clg_ctx *cl, int in_dim, int hidden, int zdim, int relu_latent, float kl_weight);
void vae_init_weights(vae *m, unsigned long long seed); /* PyTorch's nn.Linear default */
void vae_free(vae *m);
/* x: a batch {B, 1, 28, 28} in [0, 1]; eps drawn from (seed, RNG_STREAM_NOISE, step). */
vae_vars vae_forward(vae *m, tape *t, int x, unsigned long long seed, unsigned step);
int vae_encode_mu(vae *m, tape *t, int x);
int vae_decode(vae *m, tape *t, int z);
/* Trains per the config (models/vae_train.c). */
int vae_train(const cfg *c, clg_ctx *cl, const char *run_dir, int resume);

#endif
