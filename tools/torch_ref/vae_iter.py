#!/usr/bin/python3
"""The VAE of ini/vae.ini in PyTorch (the model of vae_epoch.py), timed per training iteration for
./bench --model vae: zero_grad, forward, BCE (summed per image) + kl_weight * KL (batch mean),
backward, Adam step, on a fixed random batch in [0, 1] (the data do not change the cost).

Prints a description line, then "seconds_per_iter S".
usage: /usr/bin/python3 tools/torch_ref/vae_iter.py [--batch 128] [--hidden 400] [--zdim 5]
           [--kl-weight 1] [--lr 1e-3] [--betas 0.9,0.999] [--eps 1e-8] [--weight-decay 0]
           [--iters 200] [--warmup 20] [--threads N] [--device cpu|cuda]
"""
import argparse

import torch
import torch.nn.functional as F

import timing
from vae_epoch import VAE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=400)
    ap.add_argument("--zdim", type=int, default=5)
    ap.add_argument("--kl-weight", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--betas", default="0.9,0.999")
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    timing.add_args(ap, iters=200, warmup=20)
    a = ap.parse_args()
    dev = timing.setup(a)
    model = VAE(784, a.hidden, a.zdim).to(dev)
    b1, b2 = (float(v) for v in a.betas.split(","))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(b1, b2), eps=a.eps, weight_decay=a.weight_decay)
    x = torch.rand(a.batch, 784, device=dev)

    def iteration():
        opt.zero_grad()
        mu, lv = model.encode(x)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        xh = model.decode(z)
        kl = 0.5 * torch.sum(lv.exp() + mu * mu - 1 - lv)
        loss = (F.binary_cross_entropy(xh, x, reduction="sum") + a.kl_weight * kl) / x.shape[0]
        loss.backward()
        opt.step()

    timing.time_iterations(a, dev, iteration, f"VAE 784-{a.hidden}-{a.zdim} batch {a.batch}")


if __name__ == "__main__":
    main()
