#!/usr/bin/python3
"""CycleGAN in PyTorch, module for module as clgan's models/cyclegan.c (which follows the reference
pytorch-CycleGAN-and-pix2pix: ResnetGenerator, NLayerDiscriminator, instance norm without affine
parameters, so convolutions keep their biases), so state_dict names match clgan's checkpoints
("G_A.model.1.weight" is G_A's "model.1.weight").

Used by tests/cyclegan_parity.py (parity of whole iterations) and by ./bench --model cyclegan
(timing): run as a script it times training iterations and prints "seconds_per_iter S".

usage: /usr/bin/python3 tools/torch_ref/cyclegan_torch.py [--size 128] [--blocks 6] [--ngf 64]
           [--channels 3] [--iters 10] [--warmup 3] [--threads N] [--device cpu|cuda]
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

import timing


def conv_in_relu(layers, cin, cout, k, stride, pad, reflect):
    if reflect:
        layers += [nn.ReflectionPad2d(pad), nn.Conv2d(cin, cout, k, stride, 0, bias=True)]
    else:
        layers += [nn.Conv2d(cin, cout, k, stride, pad, bias=True)]
    layers += [nn.InstanceNorm2d(cout), nn.ReLU(True)]


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        layers = []
        conv_in_relu(layers, dim, dim, 3, 1, 1, True)
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, 1, 0, bias=True), nn.InstanceNorm2d(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, cin, cout, ngf, n_blocks, up_tconv):
        super().__init__()
        layers = []
        conv_in_relu(layers, cin, ngf, 7, 1, 3, True)
        conv_in_relu(layers, ngf, 2 * ngf, 3, 2, 1, False)
        conv_in_relu(layers, 2 * ngf, 4 * ngf, 3, 2, 1, False)
        layers += [ResnetBlock(4 * ngf) for _ in range(n_blocks)]
        for m in (4, 2):
            if up_tconv:
                layers += [nn.ConvTranspose2d(m * ngf, m * ngf // 2, 3, 2, 1, output_padding=1, bias=True),
                           nn.InstanceNorm2d(m * ngf // 2), nn.ReLU(True)]
            else:
                layers += [nn.Upsample(scale_factor=2, mode="nearest")]
                conv_in_relu(layers, m * ngf, m * ngf // 2, 3, 1, 1, False)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, cout, 7, 1, 0, bias=True), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, cin, ndf, n_layers):
        super().__init__()
        layers = [nn.Conv2d(cin, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2 if n < n_layers else 1, 1, bias=True),
                       nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class CycleGAN:
    """The four networks, two Adam optimizers (as the reference: G_A+G_B, D_A+D_B) and one iteration."""

    def __init__(self, ca, cb, ngf, ndf, n_blocks, n_layers_d, up_tconv, lsgan=True, lambda_a=10.0, lambda_b=10.0,
                 lambda_idt=0.0, lr=2e-4, beta1=0.5, beta2=0.999, eps=1e-8, device="cpu", dtype=torch.float32):
        self.G_A = ResnetGenerator(ca, cb, ngf, n_blocks, up_tconv).to(device)
        self.G_B = ResnetGenerator(cb, ca, ngf, n_blocks, up_tconv).to(device)
        self.D_A = NLayerDiscriminator(cb, ndf, n_layers_d).to(device)
        self.D_B = NLayerDiscriminator(ca, ndf, n_layers_d).to(device)
        for net in self.nets().values():
            net.to(dtype)
            for mod in net.modules():
                if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.normal_(mod.weight, 0.0, 0.02)
                    nn.init.zeros_(mod.bias)
        self.lsgan, self.lambda_a, self.lambda_b, self.lambda_idt = lsgan, lambda_a, lambda_b, lambda_idt
        g_params = list(self.G_A.parameters()) + list(self.G_B.parameters())
        d_params = list(self.D_A.parameters()) + list(self.D_B.parameters())
        self.opt_G = torch.optim.Adam(g_params, lr=lr, betas=(beta1, beta2), eps=eps)
        self.opt_D = torch.optim.Adam(d_params, lr=lr, betas=(beta1, beta2), eps=eps)

    def nets(self):
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def gan_loss(self, pred, target):
        t = torch.full_like(pred, float(target))
        return F.mse_loss(pred, t) if self.lsgan else F.binary_cross_entropy_with_logits(pred, t)

    def set_requires_grad(self, nets, flag):
        for n in nets:
            for p in n.parameters():
                p.requires_grad_(flag)

    def iteration(self, A, B):
        """The reference's optimize_parameters with the pool off; returns the losses as floats."""
        fake_B = self.G_A(A)
        rec_A = self.G_B(fake_B)
        fake_A = self.G_B(B)
        rec_B = self.G_A(fake_A)
        self.set_requires_grad([self.D_A, self.D_B], False)
        self.opt_G.zero_grad()
        out = {}
        if self.lambda_idt > 0:
            out["idt_A"] = F.l1_loss(self.G_A(B), B) * self.lambda_b * self.lambda_idt
            out["idt_B"] = F.l1_loss(self.G_B(A), A) * self.lambda_a * self.lambda_idt
        out["G_A"] = self.gan_loss(self.D_A(fake_B), 1)
        out["G_B"] = self.gan_loss(self.D_B(fake_A), 1)
        out["cycle_A"] = F.l1_loss(rec_A, A) * self.lambda_a
        out["cycle_B"] = F.l1_loss(rec_B, B) * self.lambda_b
        loss_G = out["G_A"] + out["G_B"] + out["cycle_A"] + out["cycle_B"]
        if self.lambda_idt > 0:
            loss_G = loss_G + out["idt_A"] + out["idt_B"]
        loss_G.backward()
        self.opt_G.step()
        self.set_requires_grad([self.D_A, self.D_B], True)
        self.opt_D.zero_grad()
        fb, fa = fake_B.detach(), fake_A.detach()
        out["D_A"] = 0.5 * (self.gan_loss(self.D_A(B), 1) + self.gan_loss(self.D_A(fb), 0))
        out["D_A"].backward()
        out["D_B"] = 0.5 * (self.gan_loss(self.D_B(A), 1) + self.gan_loss(self.D_B(fa), 0))
        out["D_B"].backward()
        self.opt_D.step()
        return {k: float(v) for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--ndf", type=int, default=64)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--tconv", action="store_true", help="transposed-conv up-sampling (default: upsample + conv)")
    timing.add_args(ap, iters=10, warmup=3)
    a = ap.parse_args()
    dev = timing.setup(a)
    m = CycleGAN(a.channels, a.channels, a.ngf, a.ndf, a.blocks, 3, a.tconv, device=dev)
    A = torch.rand(a.batch, a.channels, a.size, a.size, device=dev) * 2 - 1
    B = torch.rand(a.batch, a.channels, a.size, a.size, device=dev) * 2 - 1
    timing.time_iterations(a, dev, lambda: m.iteration(A, B),
                           f"CycleGAN {a.size}x{a.size} ngf {a.ngf} blocks {a.blocks} batch {a.batch}")


if __name__ == "__main__":
    main()
