/* The adversarial VAE of seed 004 (Khan, Hayat, Barnes: "Adversarial Training of Variational
 * Auto-encoders for High Fidelity Image Generation"): a VAE generator (encoder E, decoder G) and an
 * auto-encoder discriminator D (encoder D.e, decoder D.d), balanced by a PID controller on k_t.
 *
 * Networks (seed 004 section 4, BEGAN's discriminator shape): an encoder is conv3x3(C -> n), ELU, then
 * per level l = 0..L-1 two conv3x3(n(l+1)) + ELU, a stride-2 conv3x3 to n(l+2) + ELU between levels,
 * and a linear layer to the latent; a decoder is a linear layer to n x s0 x s0, per level two conv3x3(n)
 * + ELU with nearest 2x up-sampling between levels, and a conv3x3(n -> C) out (no activation: images
 * in [-1, 1], as BEGAN). No batch norm, no dropout, no transposed convolution. L levels halve the image
 * side while it is even and above 8 (28: 28-14-7; 32: 32-16-8; 64: 64-32-16-8).
 *
 * One iteration (Algorithm 1, one forward pass, the three gradients from it, then three Adam steps):
 *   z_v = mu + eps exp(logvar/2) from E(x); z_g ~ N(0, I); x_v = G(z_v), x_g = G(z_g);
 *   z_d, z'_v, z'_g = D.e(x, x_v, x_g); x'_d, x'_v, x'_g = D.d(...)
 *   L_e = mean|x - x_v|, L_n = KL (mean over latent elements), L_s = mean|z_d - z'_v|,
 *   L_d = mean|x - x'_d|, L_g = mean|x_g - x'_g|, L_v = mean|x_v - x'_v|;
 *   L_enc = kl_weight L_n + beta L_s + gamma L_e   -> E
 *   L_gen = L_g + alpha L_v + beta L_s + gamma L_e -> G
 *   L_dis = L_d - k_{t-1} (L_g + alpha L_v)         -> D
 *   e_t = eta L_d - (L_g + alpha L_v);
 *   PID:   k_t = k_{t-1} + l1 e_t + l2 (e_t - e_{t-1}) + l3 (e_t - 2 e_{t-1} + e_{t-2})
 *   BEGAN: k_t = k_{t-1} + l1 e_t; either clamped to [0, 1] when k_clamp. */
#ifndef CLGAN_AVAE_H
#define CLGAN_AVAE_H
#include "dataset.h"
#include "model.h"
#include "ops.h"
#include "optim.h"

typedef struct {
    int channels, size, n, zdim, dzdim; /* image channels and side, filters, VAE and D latent sizes */
    int levels, s0;                     /* derived: levels and the smallest side */
} avae_spec;

/* The parameter indices of one encoder or decoder inside a net (names "<prefix>conv0.weight", ...). */
typedef struct {
    int conv_w[32], conv_b[32], stride[32], nconv;
    int fc_w, fc_b, fc2_w, fc2_b; /* encoder: fc (mu), fc2 (logvar, VAE only, else -1); decoder: fc */
} avae_part;

typedef struct {
    avae_spec s;
    net enc, gen, disc; /* E ("enc"), G ("gen"), D ("disc": "e." and "d.") */
    avae_part e, g, de, dd;
} avae_nets;

/* What one iteration leaves on the tape (until the next tape_reset) and on the host. */
typedef struct {
    int x, eps, zg;                               /* the batch and the noise draws */
    int le, ln, ls, ld, lg, lv, lenc, lgen, ldis; /* scalar losses */
    float k_used, k, e, conv;                     /* k_{t-1} (in L_dis), k_t, e_t, L_d + |e_t| */
} avae_step_vars;

typedef struct {
    trainer base;
    avae_nets m;
    optim oe, og, od;
    dataset train, test;
    net fixed;   /* with_data = 0: one random batch in [-1, 1] */
    int B, folder;
    long shuffled_epoch;
    float alpha, beta, gamma, eta, kl_weight, l1, l2, l3;
    int pid, k_clamp;
    double k, e1, e2; /* the controller: k_{t-1}, e_{t-1}, e_{t-2} */
    avae_step_vars sv;
} avae_trainer;

extern const model_desc avae_model;

/* Fills levels and s0 from size; -1 when size is not usable (odd sizes below 8 and above are fine). */
int avae_spec_finish(avae_spec *s);
void avae_create(avae_nets *m, clg_ctx *cl, const avae_spec *s);
void avae_init_weights(avae_nets *m, unsigned long long seed); /* PyTorch's conv/linear defaults */
void avae_free(avae_nets *m);
/* mu (and logvar when lv is not NULL) of the VAE encoder; x {B, C, S, S}. */
int avae_encode(avae_nets *m, tape *t, int x, int *lv);
int avae_decode(avae_nets *m, tape *t, int z);           /* z {B, zdim} -> {B, C, S, S} */
int avae_disc(avae_nets *m, tape *t, int x, int *latent); /* D's reconstruction (and latent) */
/* One training iteration on batch x (a variable on t); noise from (seed, RNG_STREAM_NOISE, 2 step
 * and 2 step + 1). Updates the three networks and the controller; fills *sv. */
void avae_step(avae_trainer *r, int x, unsigned step, avae_step_vars *sv);

#endif
