/* The VAEs of the seeds. The fully-connected VAE of seed 003 (section 2): encoder 784-400-(mu, logvar)
 * of zdim, decoder zdim-400-784 with a sigmoid output; loss = BCE(x_hat, x) + kl_weight * KL, each
 * summed over a sample and averaged over the batch. Seed 002's variants: a convolutional encoder (two
 * 3x3 convolutions, stride 1, padding 1, ReLU) before the same fully-connected layers, and the
 * conditional VAE (the one-hot label concatenated to the encoder's input and to z). */
#ifndef CLGAN_VAE_H
#define CLGAN_VAE_H
#include "model.h"
#include "ops.h"
#include "optim.h"

typedef struct {
    int in_c, in_h, in_w;  /* image shape */
    int hidden, zdim, relu_latent;
    int conv1, conv2;      /* channels of the two encoder convolutions; 0 = fully-connected encoder */
    int ncls;              /* classes of a conditional VAE; 0 = unconditional */
    float kl_weight;
} vae_spec;

typedef struct {
    clg_ctx *cl;
    net net;
    vae_spec s;
    int in_dim, hidden, zdim, relu_latent;
    float kl_weight;
    int fc1_w, fc1_b, fc21_w, fc21_b, fc22_w, fc22_b, fc3_w, fc3_b, fc4_w, fc4_b;
    int c1_w, c1_b, c2_w, c2_b; /* convolutional encoder, or -1 */
    /* Data parallelism: eps is rows [eps_row0, + batch) of a draw of eps_rows rows (the global batch);
     * 0: a draw of the batch's own rows */
    int eps_row0, eps_rows;
} vae;

/* Variables of one training forward pass. */
typedef struct {
    int mu, logvar, eps, z, xhat, recon, kl, loss;
} vae_vars;

extern const model_desc vae_model;


void vae_create_spec(vae *m, clg_ctx *cl, const vae_spec *s);
/* The fully-connected, unconditional VAE over in_dim inputs. */
void vae_create(vae *m, clg_ctx *cl, int in_dim, int hidden, int zdim, int relu_latent, float kl_weight);
void vae_init_weights(vae *m, unsigned long long seed); /* PyTorch's nn.Linear default */
void vae_free(vae *m);
/* x: a batch {B, 1, 28, 28} in [0, 1]; eps drawn from (seed, RNG_STREAM_NOISE, step). */
vae_vars vae_forward(vae *m, tape *t, int x, unsigned long long seed, unsigned step);
/* y: one-hot labels {B, ncls, 1, 1} for a conditional VAE, else -1. */
vae_vars vae_forward_y(vae *m, tape *t, int x, int y, unsigned long long seed, unsigned step);
int vae_encode_mu(vae *m, tape *t, int x, int y);
int vae_decode(vae *m, tape *t, int z, int y);
/* One training step on the batch x (a variable on t, which the caller resets before preparing the
 * batch): zero the gradients, forward, backward, optimizer step. The returned variables stay on t
 * until the next tape_reset. vae_train's loop and ./bench --model vae use it. */
vae_vars vae_train_step(vae *m, optim *opt, tape *t, int x, int y, unsigned long long seed, unsigned step);

#endif
