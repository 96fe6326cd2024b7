#include "vae.h"

#include <math.h>

#include "rng.h"

static const cfg_key vae_keys[] = {
    {"data", "train_images", CFG_STR, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
     "IDX images to train on (gzip or plain)", NULL, 0, 0},
    {"data", "test_images", CFG_STR, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
     "IDX images for the test reconstruction error and grids", NULL, 0, 0},
    {"data", "train_limit", CFG_INT, "0", "use only the first N training images; 0 = all", NULL, 0, 2147483647},
    {"vae", "zdim", CFG_INT, "5", "latent dimensions", NULL, 1, 4096},
    {"vae", "hidden", CFG_INT, "400", "hidden units of the encoder and decoder", NULL, 1, 65536},
    {"vae", "kl_weight", CFG_FLOAT, "1", "weight of the KL term against the reconstruction BCE (1:1 in the seed)", NULL, 0, 1e6},
    {"vae", "relu_latent", CFG_BOOL, "false", "apply the ReLU that seed 003's table prints after the mu and log-variance layers", NULL, 0, 0},
    {"eval", "every", CFG_INT, "100", "steps between test reconstruction MSE measurements", NULL, 1, 2147483647},
    {"eval", "images", CFG_INT, "1000", "test images used every eval.every steps (the whole test set is used at each epoch's end)", NULL, 1, 2147483647},
};

const model_desc vae_model = {
    .type = "vae",
    .summary = "fully-connected VAE (seed 003): 784-400-zdim-400-784, BCE + KL",
    .keys = vae_keys,
    .nkeys = (int)(sizeof vae_keys / sizeof vae_keys[0]),
    .train = vae_train,
};

void vae_create(vae *m, clg_ctx *cl, int in_dim, int hidden, int zdim, int relu_latent, float kl_weight) {
    *m = (vae){.cl = cl, .in_dim = in_dim, .hidden = hidden, .zdim = zdim, .relu_latent = relu_latent,
               .kl_weight = kl_weight};
    net_init(&m->net, cl, "vae");
    /* PyTorch's names and layouts, so checkpoints map one to one onto an nn.Module state_dict. */
    m->fc1_w = net_add(&m->net, "fc1.weight", 2, (int[]){hidden, in_dim});
    m->fc1_b = net_add(&m->net, "fc1.bias", 1, (int[]){hidden});
    m->fc21_w = net_add(&m->net, "fc21.weight", 2, (int[]){zdim, hidden});
    m->fc21_b = net_add(&m->net, "fc21.bias", 1, (int[]){zdim});
    m->fc22_w = net_add(&m->net, "fc22.weight", 2, (int[]){zdim, hidden});
    m->fc22_b = net_add(&m->net, "fc22.bias", 1, (int[]){zdim});
    m->fc3_w = net_add(&m->net, "fc3.weight", 2, (int[]){hidden, zdim});
    m->fc3_b = net_add(&m->net, "fc3.bias", 1, (int[]){hidden});
    m->fc4_w = net_add(&m->net, "fc4.weight", 2, (int[]){in_dim, hidden});
    m->fc4_b = net_add(&m->net, "fc4.bias", 1, (int[]){in_dim});
    net_alloc(&m->net);
}

void vae_init_weights(vae *m, unsigned long long seed) {
    for (int i = 0; i < m->net.np; i++) {
        /* weight {out, in} and its bias share the bound 1/sqrt(in) */
        const param *w = &m->net.p[i % 2 ? i - 1 : i];
        net_init_uniform(&m->net, i, 1.0f / sqrtf((float)w->shape[1]), seed);
    }
}

void vae_free(vae *m) { net_free(&m->net); }

static int lin(vae *m, tape *t, int x, int w, int b) {
    return op_linear(t, x, tape_param(t, &m->net, w), tape_param(t, &m->net, b));
}

int vae_encode_mu(vae *m, tape *t, int x) {
    int h = op_relu(t, lin(m, t, x, m->fc1_w, m->fc1_b));
    int mu = lin(m, t, h, m->fc21_w, m->fc21_b);
    return m->relu_latent ? op_relu(t, mu) : mu;
}

int vae_decode(vae *m, tape *t, int z) {
    int h = op_relu(t, lin(m, t, z, m->fc3_w, m->fc3_b));
    return op_sigmoid(t, lin(m, t, h, m->fc4_w, m->fc4_b));
}

vae_vars vae_forward(vae *m, tape *t, int x, unsigned long long seed, unsigned step) {
    vae_vars v;
    int B = tape_val(t, x).n;
    int h = op_relu(t, lin(m, t, x, m->fc1_w, m->fc1_b));
    v.mu = lin(m, t, h, m->fc21_w, m->fc21_b);
    v.logvar = lin(m, t, h, m->fc22_w, m->fc22_b);
    if (m->relu_latent) {
        v.mu = op_relu(t, v.mu);
        v.logvar = op_relu(t, v.logvar);
    }
    v.eps = tape_randn(t, B, m->zdim, 1, 1, seed, RNG_STREAM_NOISE, step);
    v.z = op_reparam(t, v.mu, v.logvar, v.eps);
    v.xhat = vae_decode(m, t, v.z);
    /* Flattened views of x and x_hat so shapes match for the BCE. */
    tensor xv = tape_val(t, x);
    int xflat = tape_input(t, (tensor){xv.mem, xv.off, B, m->in_dim, 1, 1});
    v.recon = op_bce_sum(t, v.xhat, xflat, 1.0f / (float)B);
    v.kl = op_kl_normal_sum(t, v.mu, v.logvar, 1.0f / (float)B);
    v.loss = op_lincomb(t, v.recon, 1.0f, v.kl, m->kl_weight);
    return v;
}
