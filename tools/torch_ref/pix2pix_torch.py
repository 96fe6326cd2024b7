#!/usr/bin/python3
"""pix2pix in PyTorch, timed per training iteration for ./bench --model pix2pix: the networks and the
step of tests/pix2pix_parity.py (pytorch-CycleGAN-and-pix2pix's UnetGenerator, tests/graph_parity.py's
rewrite, and NLayerDiscriminator; Pix2PixModel.optimize_parameters: fake_B = G(A), the D step on
[A, fake_B.detach()] and [A, B], then the G step with D frozen: GAN(D([A, fake_B]), 1) + lambda L1),
as models/pix2pix_train.c runs it. A and B are fixed random batches in [-1, 1] (the data do not change
the cost). Prints a description line, then "seconds_per_iter S".

usage: /usr/bin/python3 tools/torch_ref/pix2pix_torch.py [--size 64] [--channels-a 1] [--channels-b 1]
           [--ngf 64] [--ndf 64] [--num-downs 6] [--n-layers-d 3] [--norm batch|instance] [--no-dropout]
           [--lsgan] [--lambda-l1 100] [--batch 1] [--lr 2e-4] [--betas 0.5,0.999] [--eps 1e-8]
           [--iters 10] [--warmup 2] [--threads N] [--device cpu|cuda]
"""
import argparse
import os
import sys

import torch

import timing

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from pix2pix_parity import Pix2Pix  # noqa: E402  (the parity test's model: one definition for both)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--channels-a", type=int, default=1)
    ap.add_argument("--channels-b", type=int, default=1)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--ndf", type=int, default=64)
    ap.add_argument("--num-downs", type=int, default=6)
    ap.add_argument("--n-layers-d", type=int, default=3)
    ap.add_argument("--norm", choices=["batch", "instance"], default="batch")
    ap.add_argument("--no-dropout", action="store_true")
    ap.add_argument("--lsgan", action="store_true")
    ap.add_argument("--lambda-l1", type=float, default=100.0)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--betas", default="0.5,0.999")
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    timing.add_args(ap, iters=10, warmup=2)
    a = ap.parse_args()
    dev = timing.setup(a)
    meta = {f"pix2pix.{k}": str(v) for k, v in dict(
        channels_a=a.channels_a, channels_b=a.channels_b, num_downs=a.num_downs, ngf=a.ngf, ndf=a.ndf,
        n_layers_d=a.n_layers_d, batch_norm=int(a.norm == "batch"), dropout=int(not a.no_dropout)).items()}
    if a.weight_decay:
        sys.exit("pix2pix_torch.py: weight decay is not in the reference's pix2pix")
    b1, b2 = a.betas.split(",")
    tmeta = {"lsgan": "1" if a.lsgan else "0", "lambda_l1": str(a.lambda_l1), "lr": str(a.lr), "beta1": b1,
             "beta2": b2, "eps": str(a.eps)}
    m = Pix2Pix(meta, tmeta, torch.float32)
    m.G.to(dev)
    m.D.to(dev)
    A = torch.rand(a.batch, a.channels_a, a.size, a.size, device=dev) * 2 - 1
    B = torch.rand(a.batch, a.channels_b, a.size, a.size, device=dev) * 2 - 1
    timing.time_iterations(a, dev, lambda: m.iteration(A, B),
                           f"pix2pix {a.size}x{a.size} U-Net {a.num_downs} downs ngf {a.ngf} ndf {a.ndf} "
                           f"{a.norm} norm batch {a.batch}")


if __name__ == "__main__":
    main()
