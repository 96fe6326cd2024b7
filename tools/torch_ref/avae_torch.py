#!/usr/bin/python3
"""The adversarial VAE of seed 004 in PyTorch, timed per training iteration for ./bench --model avae:
tests/avae_parity.py's networks and step (encoder, decoder and auto-encoder discriminator; Algorithm 1
with its three losses' gradients taken separately, then the three Adam steps and the k_t controller), as
models/avae_train.c runs it. x is a fixed random batch in [-1, 1], eps and z_g fixed normal draws (the
data do not change the cost). Prints a description line, then "seconds_per_iter S".

usage: /usr/bin/python3 tools/torch_ref/avae_torch.py [--size 28] [--channels 1] [--filters 16] [--zdim 32]
           [--d-zdim 32] [--batch 16] [--alpha 0.3] [--beta 0.1] [--gamma 0.1] [--eta 0.5] [--kl-weight 1]
           [--controller pid|began] [--lambdas 1e-3,1e-5,1e-5] [--k0 0] [--no-k-clamp] [--lr 5e-5]
           [--betas 0.9,0.999] [--eps 1e-8] [--iters 10] [--warmup 2] [--threads N] [--device cpu|cuda]
"""
import argparse
import os
import sys

import torch

import timing

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from avae_parity import AVAE  # noqa: E402  (the parity test's model: one definition for both)


def main():
    ap = argparse.ArgumentParser()
    for k, d in (("size", 28), ("channels", 1), ("filters", 16), ("zdim", 32), ("d-zdim", 32), ("batch", 16)):
        ap.add_argument("--" + k, type=int, default=d)
    for k, d in (("alpha", 0.3), ("beta", 0.1), ("gamma", 0.1), ("eta", 0.5), ("kl-weight", 1.0), ("k0", 0.0),
                 ("lr", 5e-5), ("eps", 1e-8), ("weight-decay", 0.0)):
        ap.add_argument("--" + k, type=float, default=d)
    ap.add_argument("--controller", choices=["pid", "began"], default="pid")
    ap.add_argument("--lambdas", default="1e-3,1e-5,1e-5")
    ap.add_argument("--no-k-clamp", action="store_true")
    ap.add_argument("--betas", default="0.9,0.999")
    timing.add_args(ap, iters=10, warmup=2)
    a = ap.parse_args()
    if a.weight_decay:
        sys.exit("avae_torch.py: weight decay is not in seed 004's training")
    dev = timing.setup(a)
    meta = {"avae.channels": a.channels, "avae.size": a.size, "avae.filters": a.filters, "avae.zdim": a.zdim,
            "avae.d_zdim": a.d_zdim}
    l1, l2, l3 = (float(v) for v in a.lambdas.split(","))
    b1, b2 = (float(v) for v in a.betas.split(","))
    hp = dict(alpha=a.alpha, beta=a.beta, gamma=a.gamma, eta=a.eta, kl_weight=a.kl_weight, lambda1=l1, lambda2=l2,
              lambda3=l3, lr=a.lr, beta1=b1, beta2=b2, eps=a.eps, controller=a.controller, k_clamp=not a.no_k_clamp)
    m = AVAE(meta, hp, torch.float32)
    for net in m.nets().values():
        net.to(dev)
    m.k, m.e1, m.e2 = a.k0, 0.0, 0.0
    x = torch.rand(a.batch, a.channels, a.size, a.size, device=dev) * 2 - 1
    eps = torch.randn(a.batch, a.zdim, device=dev)
    zg = torch.randn(a.batch, a.zdim, device=dev)

    def step():
        out = m.iteration(x, eps, zg)
        m.e2, m.e1, m.k = m.e1, out["e"], out["k"]

    timing.time_iterations(a, dev, step, f"adversarial VAE {a.size}x{a.size} filters {a.filters} zdim {a.zdim} "
                                         f"batch {a.batch}")


if __name__ == "__main__":
    main()
