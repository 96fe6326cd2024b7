#!/usr/bin/python3
"""PyTorch side of tests/test_avae_parity.c. Usage: /usr/bin/python3 tests/avae_parity.py DIR NAME...

For each configuration NAME, DIR holds what clgan wrote:
  NAME_init.safetensors   the three networks (enc, gen, disc) with zero Adam moments, the shape in the
                          metadata (avae.size, avae.channels, avae.filters, avae.zdim, avae.d_zdim) and
                          the controller's state (k, e1, e2)
  NAME_trace.safetensors  "x" [iters, B, C, S, S] the batches, "eps" and "zg" [iters, B, zdim] the noise
                          of each iteration, our "columns" [iters, 13] (L_e, L_n, L_s, L_d, L_g, L_v, L_enc,
                          L_gen, L_dis, e_t, convergence, k_{t-1}, k_t), the hyper-parameters in the metadata
  NAME_afterK.safetensors the state after iteration K
This file holds its own torch twin of the model, written from seed 004 (section 3, Algorithm 1, section 4)
and not from clgan's code: a module per network, one forward pass, torch.autograd.grad of L_enc w.r.t.
the encoder, of L_gen w.r.t. the generator and of L_dis w.r.t. the discriminator, three torch.optim.Adam
steps, then the controller. Each iteration K starts from clgan's state before it (weights, the three
optimizers' moments and step counts, k, e_{t-1}, e_{t-2}), is run in float32 and float64, and clgan's
results are held to the float64 run: the losses to LOSS_TOL relative, e_t to LOSS_TOL of L_d, k_t to
K_TOL of its change, weights to PARAM_TOL of their largest update and moments to MOM_TOL of their
largest, or within RATIO of torch float32's own error where that is larger. Exits 1 on any failure.

Mutations tried (each failed this script, the unmutated code passes): beta 0.1 -> 0.11 in L_gen only
(the generator's weights), the sign of Eq. 11 as printed in the seed (e_t and k_t), L_dis with k_t in
place of k_{t-1}, mimicked by moving the k of L_dis by 5e-5, about one controller update (L_dis and
the discriminator's weights and moments)."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_io import load_safetensors  # noqa: E402

COLUMNS = ["L_e", "L_n", "L_s", "L_d", "L_g", "L_v", "L_enc", "L_gen", "L_dis"]
RATIO = 3.0
LOSS_TOL = 1e-5   # relative, per loss per iteration
K_TOL = 1e-3      # of |k_t - k_{t-1}| in float64
PARAM_TOL = 5e-3  # max |w - w64| / max |w64 - w0| per tensor
MOM_TOL = 1e-4    # max |m - m64| / max |m64|


# ---- the twin -------------------------------------------------------------------------------------

def levels_of(size):
    levels, s0 = 1, size
    while s0 % 2 == 0 and s0 > 8:
        s0 //= 2
        levels += 1
    return levels, s0


class Encoder(torch.nn.Module):
    """conv0, per level two 3x3 convs (ELU), a stride-2 conv between levels (channels n, 2n, 3n, ...),
    then a linear layer to the latent (and one to the log-variance for the VAE)."""

    def __init__(self, c, n, size, zdim, vae):
        super().__init__()
        levels, s0 = levels_of(size)
        self.order = [("conv0", 1)]
        self.conv0 = torch.nn.Conv2d(c, n, 3, 1, 1)
        for lv in range(levels):
            ch = n * (lv + 1)
            for suffix in "ab":
                setattr(self, f"l{lv}{suffix}", torch.nn.Conv2d(ch, ch, 3, 1, 1))
                self.order.append((f"l{lv}{suffix}", 1))
            if lv + 1 < levels:
                setattr(self, f"down{lv}", torch.nn.Conv2d(ch, ch + n, 3, 2, 1))
                self.order.append((f"down{lv}", 2))
        flat = n * levels * s0 * s0
        self.fc = torch.nn.Linear(flat, zdim)
        self.fc_logvar = torch.nn.Linear(flat, zdim) if vae else None

    def forward(self, x):
        for name, _ in self.order:
            x = F.elu(getattr(self, name)(x))
        x = x.flatten(1)
        return self.fc(x), (self.fc_logvar(x) if self.fc_logvar is not None else None)


class Decoder(torch.nn.Module):
    """A linear layer to n x s0 x s0, per level two 3x3 convs (ELU) with nearest 2x up-sampling
    between levels, then a 3x3 conv to the image channels, no activation."""

    def __init__(self, c, n, size, zdim):
        super().__init__()
        self.levels, self.s0 = levels_of(size)
        self.n = n
        self.fc = torch.nn.Linear(zdim, n * self.s0 * self.s0)
        for lv in range(self.levels):
            for suffix in "ab":
                setattr(self, f"l{lv}{suffix}", torch.nn.Conv2d(n, n, 3, 1, 1))
        self.out = torch.nn.Conv2d(n, c, 3, 1, 1)

    def forward(self, z):
        h = self.fc(z).view(z.shape[0], self.n, self.s0, self.s0)
        for lv in range(self.levels):
            if lv:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = F.elu(getattr(self, f"l{lv}a")(h))
            h = F.elu(getattr(self, f"l{lv}b")(h))
        return self.out(h)


class Disc(torch.nn.Module):
    def __init__(self, c, n, size, dz):
        super().__init__()
        self.e = Encoder(c, n, size, dz, False)
        self.d = Decoder(c, n, size, dz)

    def forward(self, x):
        z, _ = self.e(x)
        return self.d(z), z


class AVAE:
    def __init__(self, meta, hp, dtype):
        c, s, n = int(meta["avae.channels"]), int(meta["avae.size"]), int(meta["avae.filters"])
        self.enc = Encoder(c, n, s, int(meta["avae.zdim"]), True).to(dtype)
        self.gen = Decoder(c, n, s, int(meta["avae.zdim"])).to(dtype)
        self.disc = Disc(c, n, s, int(meta["avae.d_zdim"])).to(dtype)
        self.hp, self.dtype = hp, dtype
        adam = dict(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
        self.opts = {name: torch.optim.Adam(net.parameters(), **adam) for name, net in self.nets().items()}

    def nets(self):
        return {"enc": self.enc, "gen": self.gen, "disc": self.disc}

    def load(self, state, meta, step):
        for name, net in self.nets().items():
            sd = {k: torch.from_numpy(state[f"{name}.{k}"]).to(self.dtype) for k in net.state_dict()}
            extra = [k for k in state if k.startswith(name + ".") and not k.endswith((".adam_m", ".adam_v"))
                     and k[len(name) + 1:] not in sd]
            if extra:
                raise KeyError(f"clgan's checkpoint has tensors the twin lacks: {extra}")
            net.load_state_dict(sd, strict=True)
            opt = self.opts[name]
            for pname, p in net.named_parameters():
                opt.state.pop(p, None)
                if step > 0:
                    # clone: from_numpy shares the array, and Adam updates its state in place
                    opt.state[p] = {"step": torch.tensor(float(step)),
                                    "exp_avg": torch.from_numpy(state[f"{name}.{pname}.adam_m"]).to(self.dtype).clone(),
                                    "exp_avg_sq": torch.from_numpy(state[f"{name}.{pname}.adam_v"]).to(self.dtype).clone()}
        self.k, self.e1, self.e2 = float(meta["k"]), float(meta["e1"]), float(meta["e2"])

    def iteration(self, x, eps, zg):
        """Algorithm 1 of seed 004 with Eq. 11's sign fixed; returns the losses and e, conv, k."""
        hp = self.hp
        mu, logvar = self.enc(x)
        zv = mu + eps * torch.exp(0.5 * logvar)
        xv, xg = self.gen(zv), self.gen(zg)
        xd2, zd = self.disc(x)
        xv2, zv2 = self.disc(xv)
        xg2, _ = self.disc(xg)
        L = {}
        L["L_e"] = (x - xv).abs().mean()
        L["L_n"] = (0.5 * (torch.exp(logvar) + mu * mu - 1 - logvar)).mean()
        L["L_s"] = (zd - zv2).abs().mean()
        L["L_d"] = (x - xd2).abs().mean()
        L["L_g"] = (xg - xg2).abs().mean()
        L["L_v"] = (xv - xv2).abs().mean()
        L["L_enc"] = hp["kl_weight"] * L["L_n"] + hp["beta"] * L["L_s"] + hp["gamma"] * L["L_e"]
        L["L_gen"] = L["L_g"] + hp["alpha"] * L["L_v"] + hp["beta"] * L["L_s"] + hp["gamma"] * L["L_e"]
        L["L_dis"] = L["L_d"] - self.k * (L["L_g"] + hp["alpha"] * L["L_v"])
        for loss, name in (("L_enc", "enc"), ("L_gen", "gen"), ("L_dis", "disc")):
            params = list(self.nets()[name].parameters())
            grads = torch.autograd.grad(L[loss], params, retain_graph=True)
            for p, g in zip(params, grads):
                p.grad = g
        for opt in self.opts.values():
            opt.step()
        out = {k: float(v) for k, v in L.items()}
        e = hp["eta"] * out["L_d"] - (out["L_g"] + hp["alpha"] * out["L_v"])
        k = self.k
        if hp["controller"] == "pid":
            k += hp["lambda1"] * e + hp["lambda2"] * (e - self.e1) + hp["lambda3"] * (e - 2 * self.e1 + self.e2)
        else:
            k += hp["lambda1"] * e
        if hp["k_clamp"]:
            k = min(max(k, 0.0), 1.0)
        out.update(e=e, conv=out["L_d"] + abs(e), k_used=self.k, k=k)
        return out


# ---- the comparison -------------------------------------------------------------------------------

class Worst:
    def __init__(self):
        self.ours, self.t32 = 0.0, 0.0

    def add(self, a, b):
        self.ours, self.t32 = max(self.ours, a), max(self.t32, b)


def within(ours, t32, floor):
    return ours <= max(floor, RATIO * t32)


def run(d, name):
    init, meta = load_safetensors(os.path.join(d, f"{name}_init.safetensors"))
    trace, tmeta = load_safetensors(os.path.join(d, f"{name}_trace.safetensors"))
    hp = {k: float(tmeta[k]) for k in ("alpha", "beta", "gamma", "eta", "kl_weight", "lambda1", "lambda2", "lambda3",
                                       "lr", "beta1", "beta2", "eps")}
    hp["controller"], hp["k_clamp"] = tmeta["controller"], tmeta["k_clamp"] == "1"
    cols = trace["columns"]
    fails, lw, ew, kw, wr, mr = 0, Worst(), Worst(), Worst(), Worst(), Worst()
    before, bmeta = init, meta
    iters = trace["x"].shape[0]
    for it in range(iters):
        after, ameta = load_safetensors(os.path.join(d, f"{name}_after{it + 1}.safetensors"))
        for net in ("enc", "gen", "disc"):
            if int(ameta[f"adam_t_{net}"]) != it + 1:
                print(f"FAIL {name}: after iteration {it + 1} the {net} optimizer took {ameta[f'adam_t_{net}']} steps")
                fails += 1
        runs = {}
        for tag, dt in (("32", torch.float32), ("64", torch.float64)):
            m = AVAE(meta, hp, dt)
            try:
                m.load(before, bmeta, it)
            except (KeyError, ValueError, RuntimeError) as e:
                print(f"FAIL {name}: {e}")
                return 1
            x, eps, zg = (torch.from_numpy(trace[k][it]).to(dt) for k in ("x", "eps", "zg"))
            runs[tag] = (m, m.iteration(x, eps, zg))
        (m32, l32), (m64, l64) = runs["32"], runs["64"]
        ours = dict(zip(COLUMNS + ["e", "conv", "k_used", "k"], (float(v) for v in cols[it])))
        for col in COLUMNS:
            ref = max(abs(l64[col]), 1e-12)
            eo, et = abs(ours[col] - l64[col]) / ref, abs(l32[col] - l64[col]) / ref
            lw.add(eo, et)
            if not within(eo, et, LOSS_TOL):
                print(f"FAIL {name} iteration {it + 1} {col}: clgan {ours[col]:.9g} torch32 {l32[col]:.9g} torch64 "
                      f"{l64[col]:.9g} (rel {eo:.2e} vs torch32's {et:.2e})")
                fails += 1
        for col in ("e", "conv"):
            eo, et = abs(ours[col] - l64[col]) / l64["L_d"], abs(l32[col] - l64[col]) / l64["L_d"]
            ew.add(eo, et)
            if not within(eo, et, LOSS_TOL):
                print(f"FAIL {name} iteration {it + 1} {col}: clgan {ours[col]:.9g} torch64 {l64[col]:.9g} "
                      f"({eo:.2e} of L_d vs torch32's {et:.2e})")
                fails += 1
        k_ours = float(ameta["k"])  # the exact double clgan keeps
        dk = max(abs(l64["k"] - l64["k_used"]), 1e-15)
        eo, et = abs(k_ours - l64["k"]) / dk, abs(l32["k"] - l64["k"]) / dk
        kw.add(eo, et)
        if abs(ours["k_used"] - float(bmeta["k"])) > 1e-7 or not within(eo, et, K_TOL):
            print(f"FAIL {name} iteration {it + 1} k: clgan {ours['k_used']:.9g} -> {k_ours:.12g}, torch64 "
                  f"{l64['k_used']:.9g} -> {l64['k']:.12g} (error {eo:.2e} of the change vs torch32's {et:.2e})")
            fails += 1
        for net_name, net in m64.nets().items():
            p32 = dict(m32.nets()[net_name].named_parameters())
            s64, s32 = m64.opts[net_name].state, m32.opts[net_name].state
            for pname, p in net.named_parameters():
                key = f"{net_name}.{pname}"
                w0, wo, w64 = before[key].astype(np.float64), after[key].astype(np.float64), p.detach().numpy()
                w32 = p32[pname].detach().numpy().astype(np.float64)
                scale = max(np.abs(w64 - w0).max(), 1e-30)
                eo, et = np.abs(wo - w64).max() / scale, np.abs(w32 - w64).max() / scale
                wr.add(eo, et)
                bad = [] if within(eo, et, PARAM_TOL) else [f"weights {eo:.2e} vs torch32's {et:.2e}"]
                for mom, suffix in (("exp_avg", "adam_m"), ("exp_avg_sq", "adam_v")):
                    r64 = s64[p][mom].numpy()
                    r32 = s32[p32[pname]][mom].numpy().astype(np.float64)
                    ms = max(np.abs(r64).max(), 1e-30)
                    eo2, et2 = np.abs(after[f"{key}.{suffix}"] - r64).max() / ms, np.abs(r32 - r64).max() / ms
                    mr.add(eo2, et2)
                    if not within(eo2, et2, MOM_TOL):
                        bad.append(f"{suffix} {eo2:.2e} vs torch32's {et2:.2e}")
                if bad:
                    print(f"FAIL {name} iteration {it + 1} {key}: " + "; ".join(bad))
                    fails += 1
        print(f"     {name} iteration {it + 1}: k {l64['k_used']:.6f} -> {l64['k']:.9f} (clgan {k_ours:.9f}), "
              f"e {l64['e']:.6f} (clgan {ours['e']:.6f}), L_dis {l64['L_dis']:.6f} (clgan {ours['L_dis']:.6f})")
        before, bmeta = after, ameta
    nt = sum(1 for m in m64.nets().values() for _ in m.parameters())
    print(f"{'ok  ' if not fails else 'FAIL'} {name}: {iters} iterations, each from clgan's state before it, vs float64: "
          f"9 losses worst rel error clgan {lw.ours:.2e} (torch32 {lw.t32:.2e}); e_t and convergence {ew.ours:.2e} of L_d "
          f"(torch32 {ew.t32:.2e}); k_t {kw.ours:.2e} of its change (torch32 {kw.t32:.2e}); {nt} parameter tensors in "
          f"3 optimizers: worst update error clgan {wr.ours:.2e} (torch32 {wr.t32:.2e}), Adam moments clgan {mr.ours:.2e} "
          f"(torch32 {mr.t32:.2e})")
    return 1 if fails else 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    fails = sum(run(sys.argv[1], name) for name in sys.argv[2:])
    print("avae parity: " + ("FAIL" if fails else "all comparisons within tolerance"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
