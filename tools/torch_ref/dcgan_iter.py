#!/usr/bin/python3
"""The DCGAN of ini/dcgan.ini (seed 003 tables 3-4, as models/gan.c builds it) in PyTorch, timed per
training iteration for ./bench --model dcgan, with models/gan_train.c's step order:
  fake = G(z)                                                  G in train mode (batch statistics)
  D step: BCE_logits(D(x), 1) + BCE_logits(D(fake.detach()), 0), two separate D passes; Adam
  G step: BCE_logits(D(fake), 1) through the updated D, the same fake, D frozen
          (requires_grad off: no gradient for D's weights, as clgan); Adam
G: ConvTranspose2d 4x4 (z -> 8 ngf at 4x4, then stride 2 up to 64x64), batch norm and ReLU, tanh out;
D: Conv2d 4x4 stride 2 with LeakyReLU, batch norm on the middle three, a 4x4 logits conv; no conv
biases; N(0, 0.02) init; Adam 2e-4, betas (0.5, 0.999). The real batch is a fixed random one in
[-1, 1] at 64x64 (the data do not change the cost).

Prints a description line, then "seconds_per_iter S".
usage: /usr/bin/python3 tools/torch_ref/dcgan_iter.py [--batch 128] [--zdim 100] [--ngf 128] [--ndf 128]
           [--channels 1] [--slope 0.2] [--no-d-batchnorm] [--lr 2e-4] [--betas 0.5,0.999] [--eps 1e-8]
           [--weight-decay 0] [--iters 3] [--warmup 1] [--threads N] [--device cpu|cuda]
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

import timing


def build(zdim, C, f, e, slope, bn):
    """G and D as nn.Sequential, layer for layer as models/gan.c gan_build (tests/gan_parity.py too)."""
    g = nn.Sequential(
        nn.ConvTranspose2d(zdim, f * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(f * 8), nn.ReLU(),
        nn.ConvTranspose2d(f * 8, f * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 4), nn.ReLU(),
        nn.ConvTranspose2d(f * 4, f * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 2), nn.ReLU(),
        nn.ConvTranspose2d(f * 2, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
        nn.ConvTranspose2d(f, C, 4, 2, 1, bias=False), nn.Tanh())
    layers = [nn.Conv2d(C, e, 4, 2, 1, bias=False), nn.LeakyReLU(slope)]
    for i in range(1, 4):
        layers.append(nn.Conv2d(e << (i - 1), e << i, 4, 2, 1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(e << i))
        layers.append(nn.LeakyReLU(slope))
    layers.append(nn.Conv2d(e * 8, 1, 4, 1, 0, bias=False))
    return g, nn.Sequential(*layers)


def init_dcgan(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--zdim", type=int, default=100)
    ap.add_argument("--ngf", type=int, default=128)
    ap.add_argument("--ndf", type=int, default=128)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--slope", type=float, default=0.2)
    ap.add_argument("--no-d-batchnorm", action="store_true")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--betas", default="0.5,0.999")
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    timing.add_args(ap, iters=3, warmup=1)
    a = ap.parse_args()
    dev = timing.setup(a)
    G, D = build(a.zdim, a.channels, a.ngf, a.ndf, a.slope, not a.no_d_batchnorm)
    G, D = G.to(dev), D.to(dev)
    init_dcgan(G)
    init_dcgan(D)
    betas = tuple(float(v) for v in a.betas.split(","))
    opt_g = torch.optim.Adam(G.parameters(), lr=a.lr, betas=betas, eps=a.eps, weight_decay=a.weight_decay)
    opt_d = torch.optim.Adam(D.parameters(), lr=a.lr, betas=betas, eps=a.eps, weight_decay=a.weight_decay)
    x = torch.rand(a.batch, a.channels, 64, 64, device=dev) * 2 - 1

    def set_d_grad(flag):
        for p in D.parameters():
            p.requires_grad_(flag)

    def iteration():
        z = torch.randn(a.batch, a.zdim, 1, 1, device=dev)
        fake = G(z)
        set_d_grad(True)
        opt_d.zero_grad()
        dr, df = D(x), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(dr, torch.ones_like(dr)) +
                  F.binary_cross_entropy_with_logits(df, torch.zeros_like(df)))
        loss_d.backward()
        opt_d.step()
        set_d_grad(False)
        opt_g.zero_grad()
        dg = D(fake)
        F.binary_cross_entropy_with_logits(dg, torch.ones_like(dg)).backward()
        opt_g.step()

    timing.time_iterations(a, dev, iteration, f"DCGAN ngf {a.ngf} ndf {a.ndf} batch {a.batch} at 64x64x{a.channels}")


if __name__ == "__main__":
    main()
