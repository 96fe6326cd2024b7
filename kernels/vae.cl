/* The VAE's reparameterisation z = mu + exp(0.5*lv) * eps, and normal noise for eps. */

#include "clg_shared.h"

__kernel void reparam_fwd(__global float *z, int zoff, __global const float *mu, int muoff,
                          __global const float *lv, int lvoff, __global const float *eps, int eoff, int n) {
    int i = get_global_id(0);
    if (i < n) z[zoff + i] = mu[muoff + i] + exp(0.5f * lv[lvoff + i]) * eps[eoff + i];
}

__kernel void reparam_bwd(__global float *dmu, int dmuoff, __global float *dlv, int dlvoff,
                          __global const float *dz, int dzoff, __global const float *lv, int lvoff,
                          __global const float *eps, int eoff, int n, float beta_mu, float beta_lv) {
    int i = get_global_id(0);
    if (i >= n) return;
    float g = dz[dzoff + i];
    float beta;
    if (dmu) { beta = beta_mu; ACC(dmu[dmuoff + i], g); }
    if (dlv) { beta = beta_lv; ACC(dlv[dlvoff + i], g * eps[eoff + i] * 0.5f * exp(0.5f * lv[lvoff + i])); }
}
