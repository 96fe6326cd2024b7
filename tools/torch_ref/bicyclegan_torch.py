#!/usr/bin/python3
"""BicycleGAN (seed 000) in PyTorch, timed per training iteration for ./bench --model bicyclegan: the
networks and the step of tests/bicyclegan_parity.py (junyanz/BicycleGAN's G_Unet_add_all /
G_Unet_add_input, the encoder -- ResNet-18 with fc / fcVar heads as clgan builds it, or E_ResNet -- and
two D_NLayersMulti, D for the cVAE-GAN branch and D2 for the cLR-GAN branch), a whole iteration as
models/bicyclegan_train.c runs it: the batch split in halves; E(B1), G(A1, z_encoded), G(A1, z_random),
mu(E(G(A1, z_random))) with E frozen; the E and G step on GAN(D) + GAN(D2) + L1 + KL + latent L1 (minus
the diversity term when its lambda is above 0); then the D and D2 steps on the detached fakes and B1, B2.

One backward pass for the E and G step, as clgan's: the gradients are the reference's, whose
optimize_parameters takes a second backward for the latent regression (backward_G_alone), through
G(A1, z_random)'s graph once more; --two-pass times that schedule instead (the one the parity test
compares). A and B are fixed random batches in [-1, 1], eps and z_random fixed normal draws (the data
do not change the cost). Prints a description line, then "seconds_per_iter S".

usage: /usr/bin/python3 tools/torch_ref/bicyclegan_torch.py [--size 64] [--channels-a 1] [--channels-b 1]
           [--nz 8] [--ngf 64] [--ndf 64] [--num-downs 0] [--where-add all|input] [--norm instance|batch]
           [--gan-mode lsgan|vanilla] [--num-d 2] [--n-layers-d 0] [--encoder resnet18|resnet_small]
           [--nef 64] [--e-blocks 0] [--lambdas L1,KL,Z] [--lambdas-gan GAN,GAN2,DIV] [--no-dropout]
           [--batch 2] [--lr 2e-4] [--betas 0.5,0.999] [--eps 1e-8] [--weight-decay 0] [--two-pass]
           [--iters 10] [--warmup 2] [--threads N] [--device cpu|cuda]
(0 for --num-downs, --n-layers-d and --e-blocks picks them from --size as clgan's INI keys do.)
"""
import argparse
import math
import os
import sys

import torch

import timing

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from bicyclegan_parity import BicycleGAN  # noqa: E402  (the parity test's model: one definition for both)


def parse():
    ap = argparse.ArgumentParser()
    for k, d in (("size", 64), ("channels-a", 1), ("channels-b", 1), ("nz", 8), ("ngf", 64), ("ndf", 64),
                 ("num-downs", 0), ("num-d", 2), ("n-layers-d", 0), ("nef", 64), ("e-blocks", 0), ("batch", 2)):
        ap.add_argument("--" + k, type=int, default=d)
    ap.add_argument("--where-add", choices=["all", "input"], default="all")
    ap.add_argument("--norm", choices=["instance", "batch"], default="instance")
    ap.add_argument("--gan-mode", choices=["lsgan", "vanilla"], default="lsgan")
    ap.add_argument("--encoder", choices=["resnet18", "resnet_small"], default="resnet18")
    ap.add_argument("--lambdas", default="10,0.01,0.5", help="lambda_l1, lambda_kl, lambda_z")
    ap.add_argument("--lambdas-gan", default="1,1,0", help="lambda_gan, lambda_gan2, lambda_div")
    ap.add_argument("--no-dropout", action="store_true")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--betas", default="0.5,0.999")
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--two-pass", action="store_true",
                    help="the reference's two backward passes for the E and G step (backward_EG, backward_G_alone)")
    timing.add_args(ap, iters=10, warmup=2)
    a = ap.parse_args()
    if a.batch < 2 or a.batch % 2:
        sys.exit(f"bicyclegan_torch.py: --batch {a.batch}: BicycleGAN splits the batch in two halves")
    log2 = int(math.log2(a.size))
    a.num_downs = a.num_downs or log2                              # bicyclegan.num_downs = 0
    a.n_layers_d = a.n_layers_d or (3 if a.size >= 256 else 2)     # basic_256_multi / basic_128_multi
    a.e_blocks = a.e_blocks or log2 - 3                            # resnet_256: 5, resnet_128: 4
    return a


def model(a):
    """The parity test's BicycleGAN from the options, as its metadata (bicycle_spec's fields) describes one."""
    meta = {f"bicyclegan.{k}": str(v) for k, v in dict(
        channels_a=a.channels_a, channels_b=a.channels_b, nz=a.nz, ngf=a.ngf, ndf=a.ndf, nef=a.nef,
        num_downs=a.num_downs, z_all=int(a.where_add == "all"), batch_norm=int(a.norm == "batch"),
        dropout=int(not a.no_dropout), num_d=a.num_d, encoder=int(a.encoder == "resnet_small"),
        e_blocks=a.e_blocks).items()}
    l1, kl, z = a.lambdas.split(",")
    gan, gan2, div = a.lambdas_gan.split(",")
    b1, b2 = a.betas.split(",")
    tmeta = {"lsgan": "1" if a.gan_mode == "lsgan" else "0", "n_layers_d": str(a.n_layers_d), "lambda_l1": l1,
             "lambda_kl": kl, "lambda_z": z, "lambda_gan": gan, "lambda_gan2": gan2, "lambda_div": div,
             "lr": str(a.lr), "beta1": b1, "beta2": b2, "eps": str(a.eps), "weight_decay": str(a.weight_decay)}
    return BicycleGAN(meta, tmeta, torch.float32)


def main():
    a = parse()
    dev = timing.setup(a)
    m = model(a)
    for net in m.nets().values():
        net.to(dev)
    # the optimizers were made before: .to moves each parameter's data and keeps the parameter they hold
    h = a.batch // 2
    A = torch.rand(a.batch, a.channels_a, a.size, a.size, device=dev) * 2 - 1
    B = torch.rand(a.batch, a.channels_b, a.size, a.size, device=dev) * 2 - 1
    eps = torch.randn(h, a.nz, device=dev)
    z_random = torch.randn(h, a.nz, device=dev)
    enc = "ResNet-18" if a.encoder == "resnet18" else f"E_ResNet ({a.e_blocks} blocks, nef {a.nef})"
    timing.time_iterations(
        a, dev, lambda: m.iteration(A, B, eps, z_random, one_pass=not a.two_pass),
        f"BicycleGAN {a.size}x{a.size}, U-Net {a.num_downs} downs ngf {a.ngf} (z at "
        f"{'every level' if a.where_add == 'all' else 'the input'}), E {enc}, D and D2 {a.num_d}-scale PatchGANs "
        f"({a.n_layers_d} layers, ndf {a.ndf}), {a.norm} norm, {a.gan_mode}, batch {a.batch} ({h} + {h}), "
        f"{'two backward passes (the reference)' if a.two_pass else 'one backward pass (clgan)'} for E and G")


if __name__ == "__main__":
    main()
