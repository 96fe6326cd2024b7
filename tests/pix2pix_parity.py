#!/usr/bin/python3
"""PyTorch side of tests/test_pix2pix_parity.c. Usage: /usr/bin/python3 tests/pix2pix_parity.py DIR NAME...

For each configuration NAME, DIR holds what clgan wrote: NAME_init.safetensors (G and D before
training, the U-Net's shape in the metadata), NAME_trace.safetensors (the batches "A", "B" of each
iteration, our "losses" [iters, 4] = G_GAN, G_L1, D_real, D_fake, and the optimiser's settings), and
NAME_afterK.safetensors (weights, Adam moments and batch-norm running statistics after iteration K).

The networks are pytorch-CycleGAN-and-pix2pix's UnetGenerator (tests/graph_parity.py's rewrite) and
NLayerDiscriminator (rewritten below, module for module, so the state_dict names are the reference's).
First our initial G and D go into them with load_state_dict(strict=True): every name and shape of the
reference is in the checkpoint and nothing else. Then each iteration K runs from clgan's state before it
(weights, running statistics, Adam moments and step) in float32 and float64 as the reference's
Pix2PixModel.optimize_parameters: fake_B = G(A); D step: 0.5 (GAN(D([A, fake_B.detach()]), 0) +
GAN(D([A, B]), 1)); G step with D frozen: GAN(D([A, fake_B]), 1) + lambda_L1 L1(fake_B, B). Each of
our numbers must be within the tolerance of the float64 run, or within RATIO of PyTorch float32's own
error where that is larger (see tests/cyclegan_parity.py for why iterations start from our state and
why Adam's eps is 1e-3). Exits 1 on any failure."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graph_parity import UnetGenerator  # noqa: E402
from parity_io import load_safetensors  # noqa: E402

COLUMNS = ["G_GAN", "G_L1", "D_real", "D_fake"]
RATIO = 3.0
LOSS_TOL = 1e-5
PARAM_TOL = 5e-3   # max |w - w64| / max |w64 update| per tensor
MOM_TOL = 1e-4     # max |m - m64| / max |m64|
BUF_TOL = 1e-5     # running statistics, relative to their largest


class NLayerDiscriminator(nn.Module):
    """The reference's PatchGAN: use_bias only with instance norm (the first and last convs always)."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = norm_layer == nn.InstanceNorm2d
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=use_bias),
                    norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=use_bias),
                norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


class Pix2Pix:
    def __init__(self, meta, tmeta, dtype):
        i = lambda k: int(meta[f"pix2pix.{k}"])  # noqa: E731
        norm = nn.BatchNorm2d if i("batch_norm") else nn.InstanceNorm2d
        self.G = UnetGenerator(i("channels_a"), i("channels_b"), i("num_downs"), ngf=i("ngf"), norm_layer=norm,
                               use_dropout=bool(i("dropout"))).to(dtype)
        self.D = NLayerDiscriminator(i("channels_a") + i("channels_b"), i("ndf"), i("n_layers_d"), norm).to(dtype)
        self.lsgan = tmeta["lsgan"] == "1"
        self.lam = float(tmeta["lambda_l1"])
        kw = dict(lr=float(tmeta["lr"]), betas=(float(tmeta["beta1"]), float(tmeta["beta2"])), eps=float(tmeta["eps"]))
        self.opt_G = torch.optim.Adam(self.G.parameters(), **kw)
        self.opt_D = torch.optim.Adam(self.D.parameters(), **kw)

    def nets(self):
        return {"G": self.G, "D": self.D}

    def gan(self, x, real):
        y = torch.full_like(x, 1.0 if real else 0.0)
        if self.lsgan:
            return nn.functional.mse_loss(x, y)
        return nn.functional.binary_cross_entropy_with_logits(x, y)

    def iteration(self, a, b):
        self.G.train()
        self.D.train()
        fake = self.G(a)
        for p in self.D.parameters():
            p.requires_grad_(True)
        self.opt_D.zero_grad()
        d_fake = 0.5 * self.gan(self.D(torch.cat([a, fake.detach()], 1)), False)
        d_real = 0.5 * self.gan(self.D(torch.cat([a, b], 1)), True)
        (d_fake + d_real).backward()
        self.opt_D.step()
        for p in self.D.parameters():
            p.requires_grad_(False)
        self.opt_G.zero_grad()
        g_gan = self.gan(self.D(torch.cat([a, fake], 1)), True)
        g_l1 = nn.functional.l1_loss(fake, b) * self.lam
        (g_gan + g_l1).backward()
        self.opt_G.step()
        return {"G_GAN": float(g_gan), "G_L1": float(g_l1), "D_real": float(d_real), "D_fake": float(d_fake)}


def state_dict_from(state, net_name, net, dtype):
    sd = {}
    for k, v in net.state_dict().items():
        key = f"{net_name}.{k}"
        if k.endswith("num_batches_tracked"):
            sd[k] = v  # clgan keeps no count: momentum 0.1 is fixed, so the count is unused
        elif key not in state:
            raise KeyError(f"clgan's checkpoint has no {key}")
        else:
            sd[k] = torch.from_numpy(state[key]).to(dtype)
    return sd


def strict_load(m, state, dtype):
    """load_state_dict(strict=True) of both nets; also: clgan has no tensor the reference lacks."""
    for net_name, net in m.nets().items():
        net.load_state_dict(state_dict_from(state, net_name, net, dtype), strict=True)
        names = {f"{net_name}.{k}" for k in net.state_dict()}
        extra = [k for k in state if k.startswith(net_name + ".") and not k.endswith((".adam_m", ".adam_v"))
                 and k not in names]
        if extra:
            raise KeyError(f"clgan tensors the reference {net_name} lacks: {extra[:4]}")


def load_state(m, state, step, dtype):
    strict_load(m, state, dtype)
    for net_name, net in m.nets().items():
        opt = m.opt_G if net_name == "G" else m.opt_D
        for pname, p in net.named_parameters():
            key = f"{net_name}.{pname}"
            opt.state.pop(p, None)
            if step > 0:
                opt.state[p] = {"step": torch.tensor(float(step)),
                                "exp_avg": torch.from_numpy(state[f"{key}.adam_m"]).to(dtype).clone(),
                                "exp_avg_sq": torch.from_numpy(state[f"{key}.adam_v"]).to(dtype).clone()}


def within(ours, t32, floor):
    return ours <= max(floor, RATIO * t32)


def run(d, name):
    init, meta = load_safetensors(os.path.join(d, f"{name}_init.safetensors"))
    trace, tmeta = load_safetensors(os.path.join(d, f"{name}_trace.safetensors"))
    ours, A, B = trace["losses"], trace["A"], trace["B"]
    lr = float(tmeta["lr"])
    fails, worst = 0, {"loss": [0.0, 0.0], "w": [0.0, 0.0], "m": [0.0, 0.0], "buf": [0.0, 0.0]}
    nbias = 0

    def note(kind, e_o, e_t, tol, what):
        nonlocal fails
        worst[kind][0], worst[kind][1] = max(worst[kind][0], e_o), max(worst[kind][1], e_t)
        if not within(e_o, e_t, tol):
            print(f"FAIL {name} {what}: error {e_o:.2e} vs torch float32's {e_t:.2e}")
            fails += 1

    before = init
    try:
        strict_load(Pix2Pix(meta, tmeta, torch.float32), init, torch.float32)
        print(f"ok   {name}: G (UnetGenerator) and D (NLayerDiscriminator) load clgan's tensors with strict=True")
    except (KeyError, RuntimeError) as e:
        print(f"FAIL {name}: strict load: {e}")
        return 1
    for it in range(A.shape[0]):
        after, ameta = load_safetensors(os.path.join(d, f"{name}_after{it + 1}.safetensors"))
        if int(ameta["opt_t"]) != it + 1:
            print(f"FAIL {name}: the checkpoint after iteration {it + 1} says {ameta['opt_t']} Adam steps")
            fails += 1
        m32, m64 = Pix2Pix(meta, tmeta, torch.float32), Pix2Pix(meta, tmeta, torch.float64)
        load_state(m32, before, it, torch.float32)
        load_state(m64, before, it, torch.float64)
        a, b = torch.from_numpy(A[it]), torch.from_numpy(B[it])
        l64 = m64.iteration(a.double(), b.double())
        l32 = m32.iteration(a, b)
        for k, col in enumerate(COLUMNS):
            ref = max(abs(l64[col]), 1e-12)
            note("loss", abs(float(ours[it][k]) - l64[col]) / ref, abs(l32[col] - l64[col]) / ref, LOSS_TOL,
                 f"iteration {it + 1} {col} (clgan {ours[it][k]:.8g}, torch64 {l64[col]:.8g})")
        for net_name in ("G", "D"):
            n64, n32 = m64.nets()[net_name], m32.nets()[net_name]
            s64 = m64.opt_G if net_name == "G" else m64.opt_D
            s32 = m32.opt_G if net_name == "G" else m32.opt_D
            p32 = dict(n32.named_parameters())
            for pname, p in n64.named_parameters():
                key = f"{net_name}.{pname}"
                w0, w_o, w64 = before[key].astype(np.float64), after[key].astype(np.float64), p.detach().numpy()
                w32 = p32[pname].detach().numpy().astype(np.float64)
                scale = max(np.abs(w64 - w0).max(), 1e-30)
                if pname.endswith("bias") and np.abs(w64 - w0).max() < 1e-3 * lr:
                    # a bias right before a norm: zero gradient in exact arithmetic, a step on rounding noise
                    nbias += 1
                    if np.abs(w_o - w0).max() > 2 * lr:
                        print(f"FAIL {name} iteration {it + 1} {key}: a pre-norm bias moved more than 2 lr")
                        fails += 1
                    continue
                note("w", np.abs(w_o - w64).max() / scale, np.abs(w32 - w64).max() / scale, PARAM_TOL,
                     f"iteration {it + 1} {key} weights")
                for mom, suf in (("exp_avg", "adam_m"), ("exp_avg_sq", "adam_v")):
                    r64 = s64.state[p][mom].numpy()
                    r32 = s32.state[p32[pname]][mom].numpy().astype(np.float64)
                    ms = max(np.abs(r64).max(), 1e-30)
                    note("m", np.abs(after[f"{key}.{suf}"] - r64).max() / ms, np.abs(r32 - r64).max() / ms, MOM_TOL,
                         f"iteration {it + 1} {key}.{suf}")
            b32 = dict(n32.named_buffers())
            for bname, buf in n64.named_buffers():
                if bname.endswith("num_batches_tracked"):
                    continue
                r64 = buf.numpy()
                bs = max(np.abs(r64).max(), 1e-30)
                note("buf", np.abs(after[f"{net_name}.{bname}"] - r64).max() / bs,
                     np.abs(b32[bname].numpy().astype(np.float64) - r64).max() / bs, BUF_TOL,
                     f"iteration {it + 1} {net_name}.{bname}")
        before = after
    print(f"{'ok  ' if not fails else 'FAIL'} {name}: {A.shape[0]} iterations, each from clgan's state, vs float64 "
          f"(clgan / torch float32): losses {worst['loss'][0]:.2e} / {worst['loss'][1]:.2e}, weight updates "
          f"{worst['w'][0]:.2e} / {worst['w'][1]:.2e}, Adam moments {worst['m'][0]:.2e} / {worst['m'][1]:.2e}, "
          f"running statistics {worst['buf'][0]:.2e} / {worst['buf'][1]:.2e} ({nbias} pre-norm bias checks)")
    return 1 if fails else 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    fails = sum(run(sys.argv[1], name) for name in sys.argv[2:])
    print("pix2pix parity: " + ("FAIL" if fails else "all comparisons within tolerance"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
