#!/usr/bin/python3
"""PyTorch side of tests/test_bicyclegan_parity.c. Usage: /usr/bin/python3 tests/bicyclegan_parity.py DIR NAME...

For each configuration NAME, DIR holds what clgan wrote: NAME_init.safetensors (G, E, D, D2 before
training; the shapes in the metadata), NAME_trace.safetensors (the batches "A", "B", the draws "eps" and
"z_random" of each iteration, our "losses" [iters, 8] = G_GAN, G_GAN2, D, D2, G_L1, z_L1, kl, div, and
the settings), NAME_afterK.safetensors (weights and Adam moments after iteration K).

The networks, written here after junyanz/BicycleGAN's models/networks.py (module for module, so the
state_dict names are the reference's; not copied): G_Unet_add_all (UnetBlock_with_z: z concatenated to
every block's input, torch.cat([up(x2), x], 1)), G_Unet_add_input (tests/graph_parity.py's
GUnetAddInput), E_ResNet (conv 4x4/2, BasicBlocks of norm-LeakyReLU-conv3x3-norm-LeakyReLU-convMeanpool
plus meanpoolConv, LeakyReLU, AvgPool2d(8), fc and fcVar) and D_NLayersMulti (one Sequential "model",
or "model_0", "model_1" with AvgPool2d(3, 2, 1, count_include_pad=False) between the scales); the
default encoder, ResNet-18 with fc and fcVar heads (EResNet18), is checked here by its strict load and
forward only (the "r18" trace), and BicycleGAN below trains it too for ./bench's twin
(tools/torch_ref/bicyclegan_torch.py imports this file: one PyTorch definition of the model). Every
network is first loaded from our initial checkpoint with load_state_dict(strict=True).

Each iteration K runs from clgan's state before it, float32 and float64, as the reference's
optimize_parameters: forward() (E(B1) with our eps, G(A1, z_encoded), G(A1, z_random), mu2 = E(G(A1,
z_random))); update_G_and_E(): backward_EG (GAN, GAN2, L1, KL; plus the diversity term -lambda_div
L1(fake_B_random, B1) where configured, seed 000 Eq. 7), then E frozen and backward_G_alone (z_L1), then
the E and G steps; update_D() for D then D2 on the detached fakes. Each of our numbers must be within the
tolerance of the float64 run, or within RATIO of PyTorch float32's own error where that is larger (see
tests/cyclegan_parity.py for why each iteration starts from our state and why Adam's eps is 1e-3).
Exits 1 on any failure."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graph_parity import GUnetAddInput, ResNet18  # noqa: E402
from parity_io import load_safetensors  # noqa: E402

COLUMNS = ["G_GAN", "G_GAN2", "D", "D2", "G_L1", "z_L1", "kl", "div"]
RATIO = 3.0
LOSS_TOL = 1e-5
PARAM_TOL = 5e-3   # max |w - w64| / max |w64 update| per tensor
MOM_TOL = 1e-4     # max |m - m64| / max |m64|


class UnetBlockWithZ(nn.Module):
    def __init__(self, input_nc, outer_nc, inner_nc, nz, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.InstanceNorm2d, use_dropout=False):
        super().__init__()
        self.outermost, self.innermost, self.nz = outermost, innermost, nz
        downconv = [nn.Conv2d(input_nc + nz, inner_nc, kernel_size=4, stride=2, padding=1)]
        if outermost:
            down = downconv
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1),
                  nn.Tanh()]
        elif innermost:
            down = [nn.LeakyReLU(0.2, True)] + downconv
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1),
                  norm_layer(outer_nc)]
        else:
            down = [nn.LeakyReLU(0.2, True)] + downconv + [norm_layer(inner_nc)]
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1),
                  norm_layer(outer_nc)]
            if use_dropout:
                up += [nn.Dropout(0.5)]
        self.down = nn.Sequential(*down)
        self.submodule = submodule
        self.up = nn.Sequential(*up)

    def forward(self, x, z):
        z_img = z.view(z.size(0), z.size(1), 1, 1).expand(z.size(0), z.size(1), x.size(2), x.size(3))
        x_and_z = torch.cat([x, z_img], 1)
        if self.outermost:
            return self.up(self.submodule(self.down(x_and_z), z))
        if self.innermost:
            return torch.cat([self.up(self.down(x_and_z)), x], 1)
        return torch.cat([self.up(self.submodule(self.down(x_and_z), z)), x], 1)


class GUnetAddAll(nn.Module):
    def __init__(self, input_nc, output_nc, nz, num_downs, ngf=64, norm_layer=nn.InstanceNorm2d, use_dropout=False):
        super().__init__()
        b = UnetBlockWithZ(ngf * 8, ngf * 8, ngf * 8, nz, None, innermost=True, norm_layer=norm_layer)
        b = UnetBlockWithZ(ngf * 8, ngf * 8, ngf * 8, nz, b, norm_layer=norm_layer, use_dropout=use_dropout)
        for _ in range(num_downs - 6):
            b = UnetBlockWithZ(ngf * 8, ngf * 8, ngf * 8, nz, b, norm_layer=norm_layer, use_dropout=use_dropout)
        b = UnetBlockWithZ(ngf * 4, ngf * 4, ngf * 8, nz, b, norm_layer=norm_layer)
        b = UnetBlockWithZ(ngf * 2, ngf * 2, ngf * 4, nz, b, norm_layer=norm_layer)
        b = UnetBlockWithZ(ngf, ngf, ngf * 2, nz, b, norm_layer=norm_layer)
        self.model = UnetBlockWithZ(input_nc, output_nc, ngf, nz, b, outermost=True, norm_layer=norm_layer)

    def forward(self, x, z):
        return self.model(x, z)


def conv3x3(i, o):
    return nn.Conv2d(i, o, kernel_size=3, stride=1, padding=1, bias=True)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, outplanes, norm_layer):
        super().__init__()
        self.conv = nn.Sequential(norm_layer(inplanes), nn.LeakyReLU(0.2, True), conv3x3(inplanes, inplanes),
                                  norm_layer(inplanes), nn.LeakyReLU(0.2, True),
                                  nn.Sequential(conv3x3(inplanes, outplanes), nn.AvgPool2d(kernel_size=2, stride=2)))
        self.shortcut = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2),
                                      nn.Conv2d(inplanes, outplanes, kernel_size=1, stride=1, padding=0, bias=True))

    def forward(self, x):
        return self.conv(x) + self.shortcut(x)


class EResNet(nn.Module):
    def __init__(self, input_nc, output_nc, ndf, n_blocks, norm_layer):
        super().__init__()
        layers = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1, bias=True)]
        for n in range(1, n_blocks):
            layers += [BasicBlock(ndf * min(4, n), ndf * min(4, n + 1), norm_layer)]
        out_ndf = ndf * min(4, n_blocks)
        layers += [nn.LeakyReLU(0.2, True), nn.AvgPool2d(8)]
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(out_ndf, output_nc))
        self.fcVar = nn.Sequential(nn.Linear(out_ndf, output_nc))

    def forward(self, x):
        flat = self.conv(x).view(x.size(0), -1)
        return self.fc(flat), self.fcVar(flat)


class EResNet18(ResNet18):
    """Seed 000's encoder as clgan builds it (models/bicyclegan.c, graph_resnet18_features): torchvision's
    resnet18 up to the average pool (tests/graph_parity.py's module-for-module rewrite, so the names are
    torchvision's: "conv1.weight", "layer2.0.downsample.1.running_mean", ...) with conv1 taking input_nc
    channels, then fc -> mu and fcVar -> log sigma^2. Batch norm whatever bicyclegan.norm says, and the
    image goes in as it is: no ImageNet normalisation, no resize (clgan does neither)."""

    def __init__(self, input_nc, nz):
        super().__init__()
        self.conv1 = nn.Conv2d(input_nc, 64, 7, 2, 3, bias=False)
        self.fc = nn.Linear(512, nz)
        self.fcVar = nn.Linear(512, nz)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.layer4(self.layer3(self.layer2(self.layer1(x))))).flatten(1)
        return self.fc(x), self.fcVar(x)


def d_layers(input_nc, ndf, n_layers, norm_layer):
    seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1), norm_layer(ndf * mult),
                nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1), norm_layer(ndf * mult),
            nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1)]
    return seq


class DNLayersMulti(nn.Module):
    def __init__(self, input_nc, ndf, n_layers, norm_layer, num_D):
        super().__init__()
        self.num_D = num_D
        if num_D == 1:
            self.model = nn.Sequential(*d_layers(input_nc, ndf, n_layers, norm_layer))
        else:
            self.add_module("model_0", nn.Sequential(*d_layers(input_nc, ndf, n_layers, norm_layer)))
            self.down = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)
            for i in range(1, num_D):
                self.add_module("model_%d" % i, nn.Sequential(*d_layers(input_nc, int(round(ndf / (2 ** i))),
                                                                         n_layers, norm_layer)))

    def forward(self, x):
        if self.num_D == 1:
            return [self.model(x)]
        out, down = [], x
        for i in range(self.num_D):
            out.append(getattr(self, "model_%d" % i)(down))
            if i != self.num_D - 1:
                down = self.down(down)
        return out


class BicycleGAN:
    def __init__(self, meta, tmeta, dtype):
        i = lambda k: int(meta[f"bicyclegan.{k}"])  # noqa: E731
        f = lambda k: float(tmeta[k])  # noqa: E731
        norm = nn.BatchNorm2d if i("batch_norm") else nn.InstanceNorm2d
        ca, cb, nz = i("channels_a"), i("channels_b"), i("nz")
        if i("z_all"):
            self.G = GUnetAddAll(ca, cb, nz, i("num_downs"), i("ngf"), norm, bool(i("dropout")))
        else:
            self.G = GUnetAddInput(ca, cb, nz, i("num_downs"), i("ngf"), norm, bool(i("dropout")))
        # bicycle_spec.encoder: 0 ResNet-18 (BIC_E_RESNET18, the default), 1 E_ResNet (BIC_E_SMALL)
        self.E = EResNet18(cb, nz) if i("encoder") == 0 else EResNet(cb, nz, i("nef"), i("e_blocks"), norm)
        nl = int(tmeta["n_layers_d"])
        self.D = DNLayersMulti(cb, i("ndf"), nl, norm, i("num_d"))
        self.D2 = DNLayersMulti(cb, i("ndf"), nl, norm, i("num_d"))
        for n in self.nets().values():
            n.to(dtype)
        self.lsgan = tmeta["lsgan"] == "1"
        self.l1, self.kl, self.lz = f("lambda_l1"), f("lambda_kl"), f("lambda_z")
        self.lg, self.lg2, self.ldiv = f("lambda_gan"), f("lambda_gan2"), f("lambda_div")
        # train.weight_decay: PyTorch Adam's L2 term, which clgan's is; the parity traces carry none (0)
        kw = dict(lr=f("lr"), betas=(f("beta1"), f("beta2")), eps=f("eps"),
                  weight_decay=float(tmeta.get("weight_decay", 0)))
        self.opt = {k: torch.optim.Adam(n.parameters(), **kw) for k, n in self.nets().items()}

    def nets(self):
        return {"G": self.G, "E": self.E, "D": self.D, "D2": self.D2}

    def gan(self, preds, real):
        total = 0
        for p in preds:
            y = torch.full_like(p, 1.0 if real else 0.0)
            total = total + (nn.functional.mse_loss(p, y) if self.lsgan
                             else nn.functional.binary_cross_entropy_with_logits(p, y))
        return total

    @staticmethod
    def grad(nets, on):
        for n in nets:
            for p in n.parameters():
                p.requires_grad_(on)

    def iteration(self, a, b, eps, z_random, one_pass=False):
        """One optimize_parameters on batch (a, b) with the draws eps, z_random. one_pass False: the
        reference's schedule, which the parity comparisons run: backward_EG, then E frozen and a second
        backward for the latent regression (backward_G_alone), which goes through G(A1, z_random)'s graph
        once more. one_pass True: models/bicyclegan_train.c's: E frozen while it encodes fake_rand (so that
        forward records no E-parameter gradient), then one backward of the sum: the same gradients and
        updates, one backward pass (tools/torch_ref/bicyclegan_torch.py times this unless --two-pass)."""
        for n in self.nets().values():
            n.train()
        h = a.shape[0] // 2
        a1, b1, b2 = a[:h], b[:h], b[h:]
        mu, logvar = self.E(b1)
        z_enc = eps * torch.exp(0.5 * logvar) + mu
        fake_enc = self.G(a1, z_enc)
        fake_rand = self.G(a1, z_random)
        if one_pass:
            self.grad([self.E], False)
        mu2, _ = self.E(fake_rand)
        if one_pass:
            self.grad([self.E], True)
        # update_G_and_E
        self.grad([self.D, self.D2], False)
        self.opt["E"].zero_grad()
        self.opt["G"].zero_grad()
        g_gan = self.gan(self.D(fake_enc), True) * self.lg
        g_gan2 = self.gan(self.D2(fake_rand), True) * self.lg2
        kl = torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) * (-0.5 * self.kl)
        g_l1 = nn.functional.l1_loss(fake_enc, b1) * self.l1
        loss = g_gan + g_gan2 + g_l1 + kl
        div = torch.zeros(())
        if self.ldiv > 0:
            div = nn.functional.l1_loss(fake_rand, b1) * self.ldiv
            loss = loss - div
        if one_pass:
            z_l1 = nn.functional.l1_loss(mu2, z_random) * self.lz
            (loss + z_l1).backward()
        else:
            loss.backward(retain_graph=True)
            self.grad([self.E], False)  # backward_G_alone: the latent regression reaches G only
            z_l1 = nn.functional.l1_loss(mu2, z_random) * self.lz
            z_l1.backward()
            self.grad([self.E], True)
        self.opt["E"].step()
        self.opt["G"].step()
        # update_D
        self.grad([self.D, self.D2], True)
        self.opt["D"].zero_grad()
        d = self.gan(self.D(fake_enc.detach()), False) + self.gan(self.D(b1), True)
        d.backward()
        self.opt["D"].step()
        self.opt["D2"].zero_grad()
        d2 = self.gan(self.D2(fake_rand.detach()), False) + self.gan(self.D2(b2), True)
        d2.backward()
        self.opt["D2"].step()
        vals = [g_gan, g_gan2, d, d2, g_l1, z_l1, kl, div]
        return {c: float(v) for c, v in zip(COLUMNS, vals)}


def strict_load(m, state, dtype):
    for net_name, net in m.nets().items():
        sd = {}
        for k, v in net.state_dict().items():
            key = f"{net_name}.{k}"
            if k.endswith("num_batches_tracked"):
                sd[k] = v  # clgan keeps no count: momentum 0.1 is fixed
                continue
            if key not in state:
                raise KeyError(f"clgan's checkpoint has no {key}")
            sd[k] = torch.from_numpy(state[key]).to(dtype)
        net.load_state_dict(sd, strict=True)
        names = {f"{net_name}.{k}" for k in net.state_dict()}
        extra = [k for k in state if k.startswith(net_name + ".") and not k.endswith((".adam_m", ".adam_v"))
                 and k not in names]
        if extra:
            raise KeyError(f"clgan tensors the reference {net_name} lacks: {extra[:4]}")


def load_state(m, state, step, dtype):
    strict_load(m, state, dtype)
    for net_name, net in m.nets().items():
        opt = m.opt[net_name]
        for pname, p in net.named_parameters():
            key = f"{net_name}.{pname}"
            opt.state.pop(p, None)
            if step > 0:  # copies: .to(float32) of float32 data would share the array Adam then updates in place
                opt.state[p] = {"step": torch.tensor(float(step)),
                                "exp_avg": torch.from_numpy(state[f"{key}.adam_m"]).to(dtype).clone(),
                                "exp_avg_sq": torch.from_numpy(state[f"{key}.adam_v"]).to(dtype).clone()}


def is_pre_norm(net, pname):
    """True if parameter pname ('model_1.2.bias') is a conv's whose next module is InstanceNorm2d."""
    parts = pname.split(".")[:-1]
    parent = net
    for q in parts[:-1]:
        parent = parent[int(q)] if q.isdigit() else getattr(parent, q)
    if not isinstance(parent, nn.Sequential) or not parts[-1].isdigit():
        return False
    i = int(parts[-1])
    return i + 1 < len(parent) and isinstance(parent[i + 1], (nn.InstanceNorm2d, nn.BatchNorm2d))


def within(ours, t32, floor):
    return ours <= max(floor, RATIO * t32)


def run_r18(d, name, init, meta, trace):
    nz, cb = int(meta["bicyclegan.nz"]), int(meta["bicyclegan.channels_b"])
    fails = 0
    out = {}
    for dtype in (torch.float64, torch.float32):
        e = EResNet18(cb, nz).to(dtype)
        sd = {}
        for k, v in e.state_dict().items():
            key = f"E.{k}"
            if k.endswith("num_batches_tracked"):
                sd[k] = v  # clgan keeps no count: momentum 0.1 is fixed
            elif key not in init:
                print(f"FAIL {name}: clgan's checkpoint has no {key}")
                return 1
            else:
                sd[k] = torch.from_numpy(init[key]).to(dtype)
        extra = [k for k in init if k.startswith("E.") and not k.endswith((".adam_m", ".adam_v")) and k[2:] not in sd]
        if extra:
            print(f"FAIL {name}: clgan tensors the reference E lacks: {extra[:4]}")
            return 1
        e.load_state_dict(sd, strict=True)
        e.eval()
        with torch.no_grad():
            mu, lv = e(torch.from_numpy(trace["B"]).to(dtype))
        out[dtype] = torch.cat([mu, lv], 1).double().numpy()
    ref = out[torch.float64]
    scale = max(np.abs(ref).max(), 1e-30)
    e_o, e_t = np.abs(trace["e_out"] - ref).max() / scale, np.abs(out[torch.float32] - ref).max() / scale
    ok = within(e_o, e_t, 1e-5)
    fails += 0 if ok else 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}: the ResNet-18 encoder loads with strict=True into torchvision's resnet18 "
          f"layers + fc / fcVar ({len(sd)} tensors); evaluation-mode (mu, logvar) error {e_o:.2e} (torch float32 "
          f"{e_t:.2e})")
    return fails


def run(d, name):
    init, meta = load_safetensors(os.path.join(d, f"{name}_init.safetensors"))
    trace, tmeta = load_safetensors(os.path.join(d, f"{name}_trace.safetensors"))
    if tmeta.get("kind") == "r18":
        return run_r18(d, name, init, meta, trace)
    ours, A, B = trace["losses"], trace["A"], trace["B"]
    lr = float(tmeta["lr"])
    fails, nbias = 0, 0
    worst = {"loss": [0.0, 0.0, ""], "w": [0.0, 0.0, ""], "m": [0.0, 0.0, ""]}

    def note(kind, e_o, e_t, tol, what):
        nonlocal fails
        if e_o > worst[kind][0]:
            worst[kind][0], worst[kind][2] = e_o, what
        worst[kind][1] = max(worst[kind][1], e_t)
        if not within(e_o, e_t, tol):
            print(f"FAIL {name} {what}: error {e_o:.2e} vs torch float32's {e_t:.2e}")
            fails += 1

    try:
        strict_load(BicycleGAN(meta, tmeta, torch.float32), init, torch.float32)
        print(f"ok   {name}: G ({'G_Unet_add_all' if meta['bicyclegan.z_all'] == '1' else 'G_Unet_add_input'}), "
              f"E ({'E_ResNet' if meta['bicyclegan.encoder'] == '1' else 'ResNet-18'}), D and D2 (D_NLayersMulti, "
              f"num_D {meta['bicyclegan.num_d']}) load clgan's tensors with strict=True")
    except (KeyError, RuntimeError, ValueError) as e:
        print(f"FAIL {name}: strict load: {e}")
        return 1
    before = init
    for it in range(A.shape[0]):
        after, ameta = load_safetensors(os.path.join(d, f"{name}_after{it + 1}.safetensors"))
        if int(ameta["opt_t"]) != it + 1:
            print(f"FAIL {name}: the checkpoint after iteration {it + 1} says {ameta['opt_t']} Adam steps")
            fails += 1
        m32, m64 = BicycleGAN(meta, tmeta, torch.float32), BicycleGAN(meta, tmeta, torch.float64)
        load_state(m32, before, it, torch.float32)
        load_state(m64, before, it, torch.float64)
        a, b = torch.from_numpy(A[it]), torch.from_numpy(B[it])
        eps, zr = torch.from_numpy(trace["eps"][it]), torch.from_numpy(trace["z_random"][it])
        l64 = m64.iteration(a.double(), b.double(), eps.double(), zr.double())
        l32 = m32.iteration(a, b, eps, zr)
        for k, col in enumerate(COLUMNS):
            if col == "div" and m64.ldiv == 0:
                continue
            ref = max(abs(l64[col]), 1e-12)
            note("loss", abs(float(ours[it][k]) - l64[col]) / ref, abs(l32[col] - l64[col]) / ref, LOSS_TOL,
                 f"iteration {it + 1} {col} (clgan {ours[it][k]:.8g}, torch64 {l64[col]:.8g})")
        for net_name, n64 in m64.nets().items():
            n32 = m32.nets()[net_name]
            s64, s32 = m64.opt[net_name], m32.opt[net_name]
            p32 = dict(n32.named_parameters())
            for pname, p in n64.named_parameters():
                key = f"{net_name}.{pname}"
                w0, w_o, w64 = before[key].astype(np.float64), after[key].astype(np.float64), p.detach().numpy()
                w32 = p32[pname].detach().numpy().astype(np.float64)
                if pname.endswith("bias") and is_pre_norm(n64, pname):
                    # a bias right before instance norm: zero gradient in exact arithmetic, every engine
                    # steps on rounding noise (at most about lr per Adam step): held to that bound
                    nbias += 1
                    if np.abs(w_o - w0).max() > 2 * lr:
                        print(f"FAIL {name} iteration {it + 1} {key}: a pre-norm bias moved more than 2 lr")
                        fails += 1
                    continue
                scale = max(np.abs(w64 - w0).max(), 1e-30)
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
                note("m", np.abs(after[f"{net_name}.{bname}"] - r64).max() / bs,
                     np.abs(b32[bname].numpy().astype(np.float64) - r64).max() / bs, MOM_TOL,
                     f"iteration {it + 1} {net_name}.{bname} (running statistics)")
        before = after
    print(f"{'ok  ' if not fails else 'FAIL'} {name}: {A.shape[0]} iterations (G, E, D, D2 optimizers; cVAE-GAN and "
          f"cLR-GAN branches), each from clgan's state, vs float64 (clgan / torch float32): losses "
          f"{worst['loss'][0]:.2e} / {worst['loss'][1]:.2e}, weight updates {worst['w'][0]:.2e} / {worst['w'][1]:.2e} "
          f"(clgan's worst: {worst['w'][2]}), Adam moments {worst['m'][0]:.2e} / {worst['m'][1]:.2e} ({nbias} pre-norm "
          f"bias checks)")
    return 1 if fails else 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    fails = sum(run(sys.argv[1], name) for name in sys.argv[2:])
    print("bicyclegan parity: " + ("FAIL" if fails else "all comparisons within tolerance"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
