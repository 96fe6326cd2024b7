#include "vae.h"

#include <math.h>

#include "ops_linear.h"
#include "ops_vae.h"
#include "rng.h"
#include "tape_data.h"

void vae_create_spec(vae *m, clg_ctx *cl, const vae_spec *sp) {
    *m = (vae){.cl = cl, .s = *sp, .hidden = sp->hidden, .zdim = sp->zdim, .relu_latent = sp->relu_latent,
               .kl_weight = sp->kl_weight, .c1_w = -1, .c1_b = -1, .c2_w = -1, .c2_b = -1};
    m->in_dim = sp->in_c * sp->in_h * sp->in_w;
    int hidden = sp->hidden, zdim = sp->zdim, enc_in = m->in_dim;
    net_init(&m->net, cl, "vae");
    if (sp->conv1 > 0) {
        m->c1_w = net_add(&m->net, "conv1.weight", 4, (int[]){sp->conv1, sp->in_c, 3, 3});
        m->c1_b = net_add(&m->net, "conv1.bias", 1, (int[]){sp->conv1});
        m->c2_w = net_add(&m->net, "conv2.weight", 4, (int[]){sp->conv2, sp->conv1, 3, 3});
        m->c2_b = net_add(&m->net, "conv2.bias", 1, (int[]){sp->conv2});
        enc_in = sp->conv2 * sp->in_h * sp->in_w; /* stride 1, padding 1: the image size is kept */
    }
    /* PyTorch's names and layouts, so checkpoints map one to one onto an nn.Module state_dict. */
    m->fc1_w = net_add(&m->net, "fc1.weight", 2, (int[]){hidden, enc_in + sp->ncls});
    m->fc1_b = net_add(&m->net, "fc1.bias", 1, (int[]){hidden});
    m->fc21_w = net_add(&m->net, "fc21.weight", 2, (int[]){zdim, hidden});
    m->fc21_b = net_add(&m->net, "fc21.bias", 1, (int[]){zdim});
    m->fc22_w = net_add(&m->net, "fc22.weight", 2, (int[]){zdim, hidden});
    m->fc22_b = net_add(&m->net, "fc22.bias", 1, (int[]){zdim});
    m->fc3_w = net_add(&m->net, "fc3.weight", 2, (int[]){hidden, zdim + sp->ncls});
    m->fc3_b = net_add(&m->net, "fc3.bias", 1, (int[]){hidden});
    m->fc4_w = net_add(&m->net, "fc4.weight", 2, (int[]){m->in_dim, hidden});
    m->fc4_b = net_add(&m->net, "fc4.bias", 1, (int[]){m->in_dim});
    net_alloc(&m->net);
}

void vae_create(vae *m, clg_ctx *cl, int in_dim, int hidden, int zdim, int relu_latent, float kl_weight) {
    vae_spec s = {.in_c = 1, .in_h = 1, .in_w = in_dim, .hidden = hidden, .zdim = zdim, .relu_latent = relu_latent,
                  .kl_weight = kl_weight};
    vae_create_spec(m, cl, &s);
}

void vae_init_weights(vae *m, unsigned long long seed) {
    for (int i = 0; i < m->net.np; i++) {
        /* each weight is followed by its bias; both get U(+-1/sqrt(fan_in)), fan_in = size(1) * k * k */
        const param *w = &m->net.p[i % 2 ? i - 1 : i];
        int fan_in = w->shape[1] * (w->ndim == 4 ? w->shape[2] * w->shape[3] : 1);
        net_init_uniform(&m->net, i, 1.0f / sqrtf((float)fan_in), seed);
    }
}

void vae_free(vae *m) { net_free(&m->net); }

/* A linear layer with its activation fused (one tape node, one launch forward): the same values as
 * op_relu / op_sigmoid over op_linear. */
static int lin_act(vae *m, tape *t, int x, int w, int b, int act) {
    return op_linear_act(t, x, tape_param(t, &m->net, w), tape_param(t, &m->net, b), act);
}

static int lin(vae *m, tape *t, int x, int w, int b) { return lin_act(m, t, x, w, b, LINEAR_ACT_NONE); }

/* The encoder's hidden layer: [conv, relu, conv, relu,] [++ y,] fc1, relu. */
static int encode_hidden(vae *m, tape *t, int x, int y) {
    int B = tape_val(t, x).n;
    if (m->c1_w >= 0) {
        x = op_reshape(t, x, B, m->s.in_c, m->s.in_h, m->s.in_w);
        x = op_relu(t, op_conv2d(t, x, tape_param(t, &m->net, m->c1_w), tape_param(t, &m->net, m->c1_b), 1, 1, PAD_ZERO));
        x = op_relu(t, op_conv2d(t, x, tape_param(t, &m->net, m->c2_w), tape_param(t, &m->net, m->c2_b), 1, 1, PAD_ZERO));
    }
    if (y >= 0) x = op_concat_channels(t, op_reshape(t, x, B, trow(tape_val(t, x)), 1, 1), y);
    return lin_act(m, t, x, m->fc1_w, m->fc1_b, LINEAR_ACT_RELU);
}

int vae_encode_mu(vae *m, tape *t, int x, int y) {
    int mu = lin(m, t, encode_hidden(m, t, x, y), m->fc21_w, m->fc21_b);
    return m->relu_latent ? op_relu(t, mu) : mu;
}

int vae_decode(vae *m, tape *t, int z, int y) {
    if (y >= 0) z = op_concat_channels(t, z, y);
    int h = lin_act(m, t, z, m->fc3_w, m->fc3_b, LINEAR_ACT_RELU);
    return lin_act(m, t, h, m->fc4_w, m->fc4_b, LINEAR_ACT_SIGMOID);
}

vae_vars vae_forward(vae *m, tape *t, int x, unsigned long long seed, unsigned step) {
    return vae_forward_y(m, t, x, -1, seed, step);
}

vae_vars vae_forward_y(vae *m, tape *t, int x, int y, unsigned long long seed, unsigned step) {
    vae_vars v;
    int B = tape_val(t, x).n;
    int h = encode_hidden(m, t, x, y);
    v.mu = lin(m, t, h, m->fc21_w, m->fc21_b);
    v.logvar = lin(m, t, h, m->fc22_w, m->fc22_b);
    if (m->relu_latent) {
        v.mu = op_relu(t, v.mu);
        v.logvar = op_relu(t, v.logvar);
    }
    int rows = m->eps_rows > B ? m->eps_rows : B;
    v.eps = tape_randn(t, rows, m->zdim, 1, 1, seed, RNG_STREAM_NOISE, step);
    if (rows != B) { /* this rank's rows of the batch's draw */
        int e = tape_new(t, B, m->zdim, 1, 1, 0);
        tape_copy_rows(t, e, 0, v.eps, m->eps_row0, B);
        v.eps = e;
    }
    v.z = op_reparam(t, v.mu, v.logvar, v.eps);
    v.xhat = vae_decode(m, t, v.z, y);
    /* Flattened views of x and x_hat so shapes match for the BCE. */
    int xflat = tape_view(t, x, B, m->in_dim, 1, 1);
    v.recon = op_bce_sum_vec(t, v.xhat, xflat, 1.0f / (float)B);
    v.kl = op_kl_normal_sum(t, v.mu, v.logvar, 1.0f / (float)B);
    v.loss = op_lincomb(t, v.recon, 1.0f, v.kl, m->kl_weight);
    return v;
}
