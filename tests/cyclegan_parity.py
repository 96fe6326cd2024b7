#!/usr/bin/python3
"""PyTorch side of tests/test_cyclegan_parity.c. Usage: /usr/bin/python3 tests/cyclegan_parity.py DIR NAME...

For each configuration NAME, DIR holds what clgan wrote:
  NAME_init.safetensors   the four networks' weights (and zero Adam moments) before training, with
                          the generator's shape in the metadata (cyclegan.ngf, ...)
  NAME_trace.safetensors  "A" [iters, B, ca, S, S] and "B" the batches of each iteration, our
                          "losses" [iters, 8] (G_A, G_B, D_A, D_B, cycle_A, cycle_B, idt_A, idt_B), and
                          the optimiser's settings in the metadata
  NAME_afterK.safetensors weights and Adam moments after iteration K
This script builds the same networks in PyTorch (tools/torch_ref/cyclegan_torch.py, module for module
as the reference implementation) and checks each iteration K from clgan's own state before it: it loads
that state (weights, both Adam optimisers' moments and step) into a float32 and a float64 PyTorch
model, runs the reference's optimize_parameters on the same batch (pool off), and compares the losses
of that iteration and the weights and moments after it, one line each. Exits 1 on any failure."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "torch_ref"))
import cyclegan_torch  # noqa: E402
from cyclegan_torch import CycleGAN  # noqa: E402
from parity_io import load_safetensors  # noqa: E402

COLUMNS = ["G_A", "G_B", "D_A", "D_B", "cycle_A", "cycle_B", "idt_A", "idt_B"]

# How this compares. Every iteration starts from clgan's state, so an error is that iteration's alone:
# run freely, three iterations compound float32 rounding through a state whose gradients are badly
# conditioned (a relative 1e-6 change of the weights after two iterations moves the third iteration's
# gradients by up to 2% in float64), and whether clgan or PyTorch float32 then lands closer to float64
# is a matter of luck. Adam's eps is 1e-3 (set by the C side): at 1e-8 the first step is
# lr * g / (|g| + eps), +-lr for nearly every element whatever the size of g, so an element whose
# gradient is within rounding of zero (many are, behind instance norm) steps either way. Adam at eps
# 1e-8 is covered by the VAE and GAN parity tests. Each quantity is held to the float64 run of the
# same iteration: clgan's error must be below the tolerance, or within RATIO of PyTorch float32's own
# error where that is larger. A real mistake moves the losses and most elements and fails by orders
# of magnitude (the mutation tried is in tests/test_cyclegan_parity.c).
#
# A ReLU, LeakyReLU or L1 term whose input lies within float32 rounding of its kink is a coin toss
# for every float32 engine, and one toss moves a whole plane's weight gradient by several percent (a
# LeakyReLU input of 3.6e-8 of its tensor's largest, in an 8x8 PatchGAN plane, moved one channel's
# weight gradient by 8%). So the script first checks that the float64 run keeps every such input at
# least KINK_MARGIN (relative to its tensor's largest) from the kink; if not, the configuration is
# ill-posed for a comparison at this precision, and the script says so and fails rather than compare:
# choose another run.seed in the C test. Iteration 1's check depends only on the seed; later ones start
# from clgan's state, which differs by rounding between devices, so the seed is one whose nearest kink
# is well clear on both convolution paths (4.4e-7 with CLGAN_CONV=own and clblast, seed 14; seed 10's
# 2.2e-7 flipped a ReLU when the plane reductions changed their summation order).
KINK_MARGIN = 2e-7
L1_LOSS = torch.nn.functional.l1_loss  # cyclegan_torch's F is torch.nn.functional: patched while watching
RATIO = 3.0
LOSS_TOL = 1e-5   # relative, per loss per iteration (measured 1.3e-6 on either conv path; torch float32 1.3e-6)
PARAM_TOL = 5e-3  # max |w - w64| / max |w64 update| per tensor (measured up to 2.3e-3, CLBlast path, the u64
                  # conv where torch float32 had 1.8e-4; 1e-3, the free-running version's floor, fails there)
MOM_TOL = 1e-4    # max |m - m64| / max |m64| for Adam's moments (measured 8.5e-6; torch float32 5.7e-6)


def meta_int(meta, key):
    return int(meta[key])


def within(ours, t32, floor):
    return ours <= max(floor, RATIO * t32)


def load_state(m, state, step):
    """Weights and Adam moments from a clgan checkpoint into model m; step: Adam steps taken so far."""
    with torch.no_grad():
        for net_name, net in m.nets().items():
            for pname, p in net.named_parameters():
                key = f"{net_name}.{pname}"
                if key not in state:
                    raise KeyError(f"clgan's checkpoint has no {key}")
                if tuple(state[key].shape) != tuple(p.shape):
                    raise ValueError(f"{key} shape {state[key].shape} vs torch {tuple(p.shape)}")
                p.copy_(torch.from_numpy(state[key]).to(p.dtype))
                opt = m.opt_G if net_name.startswith("G") else m.opt_D
                opt.state.pop(p, None)
                if step > 0:
                    opt.state[p] = {"step": torch.tensor(float(step)),
                                    "exp_avg": torch.from_numpy(state[f"{key}.adam_m"]).to(p.dtype).clone(),
                                    "exp_avg_sq": torch.from_numpy(state[f"{key}.adam_v"]).to(p.dtype).clone()}


def adam_state(m):
    out = {}
    for opt in (m.opt_G, m.opt_D):
        for group in opt.param_groups:
            for p in group["params"]:
                out[id(p)] = opt.state[p]
    return out


class Worst:
    """The largest error seen, clgan's and PyTorch float32's."""

    def __init__(self):
        self.ours, self.t32 = 0.0, 0.0

    def add(self, e_ours, e_t32):
        self.ours, self.t32 = max(self.ours, e_ours), max(self.t32, e_t32)


def compare_losses(name, it, ours, l32, l64, worst):
    fails = 0
    for k, col in enumerate(COLUMNS):
        if col not in l64:
            continue
        ref = max(abs(l64[col]), 1e-12)
        e_ours, e_t32 = abs(float(ours[k]) - l64[col]) / ref, abs(l32[col] - l64[col]) / ref
        worst.add(e_ours, e_t32)
        if not within(e_ours, e_t32, LOSS_TOL):
            print(f"FAIL {name} iteration {it} {col}: clgan {ours[k]:.8g} torch32 {l32[col]:.8g} "
                  f"torch64 {l64[col]:.8g} (rel error {e_ours:.2e} vs torch32's {e_t32:.2e})")
            fails += 1
    return fails


def compare_params(name, it, before, after, m32, m64, lr, wr, mr):
    """clgan's state after iteration it against m64's (both from `before`), m32's error for scale."""
    fails, biases = 0, 0
    s32, s64 = adam_state(m32), adam_state(m64)
    p32 = {f"{n}.{pn}": p for n, net in m32.nets().items() for pn, p in net.named_parameters()}
    for net_name, net in m64.nets().items():
        for pname, p in net.named_parameters():
            key = f"{net_name}.{pname}"
            w0, w_ours, w64 = before[key].astype(np.float64), after[key].astype(np.float64), p.detach().numpy()
            w32 = p32[key].detach().numpy().astype(np.float64)
            if pname.endswith(".bias") and is_pre_norm(net, pname):
                # A conv bias right before instance norm has a gradient of zero in exact arithmetic (the
                # norm subtracts the plane's mean): every engine steps on rounding noise, at most about
                # lr per Adam step. Held to that bound.
                biases += 1
                moved = np.abs(w_ours - w0).max()
                if moved > 2 * lr:
                    print(f"FAIL {name} iteration {it} {key}: a pre-norm bias moved {moved:.3g} > {2 * lr:.3g}")
                    fails += 1
                continue
            scale = max(np.abs(w64 - w0).max(), 1e-30)
            e_ours, e_t32 = np.abs(w_ours - w64).max() / scale, np.abs(w32 - w64).max() / scale
            wr.add(e_ours, e_t32)
            bad = [] if within(e_ours, e_t32, PARAM_TOL) else [f"weights {e_ours:.2e} vs torch32's {e_t32:.2e}"]
            for mom, suffix in (("exp_avg", "adam_m"), ("exp_avg_sq", "adam_v")):
                r64 = s64[id(p)][mom].numpy()
                r32 = s32[id(p32[key])][mom].numpy().astype(np.float64)
                ms = max(np.abs(r64).max(), 1e-30)
                e_o, e_t = np.abs(after[f"{key}.{suffix}"] - r64).max() / ms, np.abs(r32 - r64).max() / ms
                mr.add(e_o, e_t)
                if not within(e_o, e_t, MOM_TOL):
                    bad.append(f"{suffix} {e_o:.2e} vs torch32's {e_t:.2e}")
            if bad:
                print(f"FAIL {name} iteration {it} {key}: " + "; ".join(bad))
                fails += 1
    return fails, biases


class KinkWatch:
    """The smallest relative distance from a kink over the (Leaky)ReLU and L1 inputs of a float64 model."""

    def __init__(self, m):
        self.worst, self.where = float("inf"), ""
        for net_name, net in m.nets().items():
            for mod_name, mod in net.named_modules():
                if isinstance(mod, (torch.nn.ReLU, torch.nn.LeakyReLU)):
                    mod.register_forward_pre_hook(lambda _m, inp, tag=f"{net_name}.{mod_name}": self.see(inp[0], tag))

    def see(self, z, tag):
        z = z.detach().abs()
        r = float(z.min() / max(float(z.max()), 1e-300))
        if r < self.worst:
            self.worst, self.where = r, tag

    def l1_loss(self, a, b):
        self.see(a - b, "an L1 loss")
        return L1_LOSS(a, b)


def run(d, name):
    init, meta = load_safetensors(os.path.join(d, f"{name}_init.safetensors"))
    trace, tmeta = load_safetensors(os.path.join(d, f"{name}_trace.safetensors"))
    args = [meta_int(meta, k) for k in ("cyclegan.channels_a", "cyclegan.channels_b", "cyclegan.ngf", "cyclegan.ndf",
                                         "cyclegan.n_blocks", "cyclegan.n_layers_d")]
    kw = dict(lsgan=tmeta["lsgan"] == "1", lambda_idt=float(tmeta["lambda_identity"]), lr=float(tmeta["lr"]),
              beta1=float(tmeta["beta1"]), beta2=float(tmeta["beta2"]), eps=float(tmeta["eps"]))
    tconv = meta_int(meta, "cyclegan.up_tconv") == 1
    ours, A, B = trace["losses"], trace["A"], trace["B"]
    fails, lw, wr, mr, biases, margin = 0, Worst(), Worst(), Worst(), 0, float("inf")
    before = init
    for it in range(A.shape[0]):
        after, ameta = load_safetensors(os.path.join(d, f"{name}_after{it + 1}.safetensors"))
        if int(ameta["opt_t"]) != it + 1:
            print(f"FAIL {name}: the checkpoint after iteration {it + 1} says {ameta['opt_t']} Adam steps")
            fails += 1
        m32 = CycleGAN(*args, tconv, **kw)
        m64 = CycleGAN(*args, tconv, dtype=torch.float64, **kw)
        try:
            load_state(m32, before, it)
            load_state(m64, before, it)
        except (KeyError, ValueError) as e:
            print(f"FAIL {name}: {e}")
            return 1
        a, b = torch.from_numpy(A[it]), torch.from_numpy(B[it])
        kinks = KinkWatch(m64)
        cyclegan_torch.F.l1_loss = kinks.l1_loss
        try:
            l64 = m64.iteration(a.double(), b.double())
        finally:
            cyclegan_torch.F.l1_loss = L1_LOSS
        l32 = m32.iteration(a, b)
        if kinks.worst < KINK_MARGIN:
            print(f"FAIL {name} iteration {it + 1}: ill-posed for a float32 comparison: an input of {kinks.where} is "
                  f"{kinks.worst:.1e} of its tensor's largest from the kink (< {KINK_MARGIN:g}); choose another run.seed")
            return 1
        margin = min(margin, kinks.worst)
        fails += compare_losses(name, it + 1, ours[it], l32, l64, lw)
        f, biases = compare_params(name, it + 1, before, after, m32, m64, kw["lr"], wr, mr)
        fails += f
        before = after
    iters = A.shape[0]
    nt = sum(1 for net in m64.nets().values() for _ in net.parameters())
    print(f"{'ok  ' if not fails else 'FAIL'} {name}: {iters} iterations, each from clgan's state before it, vs float64: "
          f"losses worst relative error clgan {lw.ours:.2e}, torch float32 {lw.t32:.2e}; {nt} parameter tensors "
          f"({biases} pre-norm biases held to the noise bound): worst update error clgan {wr.ours:.2e}, torch float32 "
          f"{wr.t32:.2e}; Adam moments clgan {mr.ours:.2e}, torch float32 {mr.t32:.2e}; nearest kink {margin:.1e}")
    return 1 if fails else 0


def is_pre_norm(net, pname):
    """True if parameter pname (e.g. 'model.1.bias') belongs to a conv followed by InstanceNorm2d."""
    parts = pname.split(".")[:-1]
    mod = net
    for p in parts[:-1]:
        mod = getattr(mod, p) if not p.isdigit() else mod[int(p)]
    idx = int(parts[-1])
    seq = mod
    return idx + 1 < len(seq) and isinstance(seq[idx + 1], torch.nn.InstanceNorm2d)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    fails = sum(run(sys.argv[1], name) for name in sys.argv[2:])
    print("cyclegan parity: " + ("FAIL" if fails else "all comparisons within tolerance"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
