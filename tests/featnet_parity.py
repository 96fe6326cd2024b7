#!/usr/bin/python3
"""PyTorch side of tests/test_featnet_parity.c. Usage: /usr/bin/python3 tests/featnet_parity.py DIR NAME...

For each NAME (inception, inception_tv, lpips) this script builds the network in PyTorch with RANDOM weights (no
pretrained weights can be downloaded here), saves its state dict as the .pth files a user would have,
converts them with the converter a user runs (tools/convert_inception.py, tools/convert_lpips.py; a
subprocess, as from the command line) into DIR/NAME.safetensors, and writes DIR/NAME_ref.safetensors:
the random inputs and PyTorch's float64 outputs, plus "err32.*", the float32 run's own error against
float64 (max |f32 - f64| / max |f64|; 0 where the float32 run is skipped, inception_tv), from which the C
side sets its tolerance.

  inception: pytorch-fid's fid_inception_v3() (tools/convert_inception.py builds it from torchvision's
             Inception3 and the FID blocks, as pytorch_fid/inception.py does). Random weights: convs
             U(+-sqrt(6/fan_in)), BN weight U(0.5, 1.5), bias U(-0.2, 0.2), running mean U(-0.2, 0.2),
             running var U(0.5, 1.5), fc U(+-sqrt(3/2048)). Two images U(-1, 1) at 299x299. Outputs:
             pool3 {2, 2048} as pytorch-fid's blocks 0..3 compute it, and the IS logits {2, 1008}: pool3
             times fc.weight, without fc.bias (torch-fidelity's "logits_unbiased").
  inception_tv: torchvision's ImageNet Inception-v3 (inception_v3(aux_logits=True), as its
             inception_v3_google-*.pth holds it; pytorch-fid's use_fid_inception=False network), random
             as above, one image at 171x171; the converter must warn that its FIDs are not the standard
             ones. Outputs as for inception, with 1000 classes.
  lpips:     lpips.LPIPS(net='alex', version='0.1') rewritten after the package (which is not installed):
             ScalingLayer, torchvision alexnet.features sliced after relu1..relu5, normalize_tensor
             (eps 1e-10), squared difference, lin heads (Conv2d(C, 1, 1, bias=False); the Dropout before
             them is inactive in eval), spatial mean, sum. Random AlexNet (torchvision's init), heads
             U(0, 0.1) (the trained ones are non-negative). Four pairs at 67x75: two independent U(-1, 1)
             pairs and two of an image and itself plus noise of 0.05 (small distances). Output d {4}.

It also checks the converters' refusals (in this process, through the functions the command line calls):
a state dict with one tensor removed, or with one of the wrong shape, must be refused naming the
tensor, and leave no output file. Exits 1 on any failure."""
import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "tools")
sys.path.insert(0, HERE)
sys.path.insert(0, TOOLS)
import convert_inception  # noqa: E402
import convert_lpips  # noqa: E402
from convert_inception import fid_inception_v3, fid_pool3_and_logits  # noqa: E402
from st_write import save_safetensors  # noqa: E402
from torchvision.models.inception import Inception3  # noqa: E402

failures = 0
count = 0


def report(ok, what):
    global failures, count
    count += 1
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}")


def run_tool(args, in_process=None):
    """A converter's command line: as a subprocess, or (in_process: its module) through its main() with
    that argv here, which saves loading torch again; (exit status, what it printed)."""
    if in_process is None:
        p = subprocess.run([sys.executable] + args, capture_output=True, text=True)
        return p.returncode, (p.stdout + p.stderr).strip()
    out, saved = io.StringIO(), sys.argv
    sys.argv = args
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            rc = in_process.main()
    finally:
        sys.argv = saved
    return rc, out.getvalue().strip()


def refusal(fn, *args):
    """The message of the ValueError fn(*args) raises, or "" if it converts."""
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    return ""


def max_rel(a, ref):
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-30))


# ---- Inception ----
def randomize_inception(net, g):
    """Every tensor of the state dict (an unknown name is an error, so none stays uninitialised)."""
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("conv.weight"):
                fan_in = t[0].numel()
                t.copy_((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1) * (6.0 / fan_in) ** 0.5)
            elif name.endswith("bn.weight") or name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g, dtype=torch.float64))
            elif name.endswith("bn.bias") or name.endswith("running_mean"):
                t.copy_((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1) * 0.2)
            elif name.startswith("AuxLogits.fc."):  # in torchvision's file; the converter drops it
                t.copy_((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1) * 0.03)
            elif name == "fc.bias":  # not used by the IS logits; large, so that using it would show
                t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 + 1)
            elif name.startswith("fc."):
                t.copy_((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1) * (3.0 / 2048) ** 0.5)
            else:
                raise ValueError(f"no random rule for {name}")


def run_inception(d, tv=False):
    """tv: torchvision's ImageNet network (aux head included, as its file has it), 1 image at 171x171."""
    name = "inception_tv" if tv else "inception"
    g = torch.Generator().manual_seed(17 if tv else 15)
    with convert_inception._uninitialised():  # randomize_inception sets every tensor
        net = (Inception3(num_classes=1000, aux_logits=True, init_weights=False) if tv else fid_inception_v3()).eval()
    randomize_inception(net, g)
    pth = os.path.join(d, "inception_v3_google_random.pth" if tv else "pt_inception_random.pth")
    torch.save(net.state_dict(), pth)
    out = os.path.join(d, f"{name}.safetensors")
    # the FID file through the command line as a user runs it; torchvision's through the same main()
    rc, msg = run_tool([os.path.join(TOOLS, "convert_inception.py"), pth, out], convert_inception if tv else None)
    report(rc == 0 and ("warning" in msg) == tv, f"{name}: convert_inception.py on a random state dict: {msg}")
    n, hw = (1, 171) if tv else (2, 299)
    x = torch.rand((n, 3, hw, hw), generator=g, dtype=torch.float64) * 2 - 1
    res = {}
    for dtype in (torch.float64, torch.float32) if not tv else (torch.float64,):  # tv: float64 only (time)
        m = net.to(dtype)
        with torch.no_grad():
            pool, logits = fid_pool3_and_logits(m, x.to(dtype))
        res[dtype] = (pool.double().numpy(), logits.double().numpy())
    (p64, l64), (p32, l32) = res[torch.float64], res.get(torch.float32, res[torch.float64])
    print(f"{name}: pool3 {p64.shape} mean {p64.mean():.4g} max {p64.max():.4g} ({(p64 > 0).mean() * 100:.0f}% > 0); "
          f"logits {l64.shape} std {l64.std():.4g}")
    report(p64.max() > 0 and (p64 > 0).mean() > 0.2, f"{name}: the random network's pool3 features are not degenerate")
    e_pool, e_log = (max_rel(p32, p64), max_rel(l32, l64)) if not tv else (0.0, 0.0)  # 0: not run
    if not tv:
        print(f"{name}: torch float32 vs float64: pool3 {e_pool:.2e}, logits {e_log:.2e}")
    save_safetensors(os.path.join(d, f"{name}_ref.safetensors"),
                     {"x": x.numpy(), "pool": p64, "logits": l64, "err32.pool": np.array([e_pool]),
                      "err32.logits": np.array([e_log])})
    if tv:
        os.unlink(pth)
        return
    # the converter's refusals (in this process: the same code as the command line's, without reloading torch)
    sd = {k: v for k, v in net.state_dict().items() if k != "Mixed_6b.branch7x7_2.conv.weight"}
    bad = os.path.join(d, "bad.safetensors")
    msg = refusal(convert_inception.convert_state_dict, sd, "missing.pth", bad)
    report("Mixed_6b.branch7x7_2.conv.weight" in msg, f"inception: a missing tensor is refused: {msg}")
    sd = {k: v for k, v in net.state_dict().items() if k != "Mixed_7c.branch_pool.conv.weight"}
    sd["Mixed_7c.branch_pool.conv.weight"] = torch.zeros(192, 2048, 3, 3)
    msg = refusal(convert_inception.convert_state_dict, sd, "misshapen.pth", bad)
    report("Mixed_7c.branch_pool.conv.weight" in msg and "needs" in msg, f"inception: a misshapen tensor is refused: {msg}")
    report(not os.path.exists(bad), "inception: no output file after a refusal")
    os.unlink(pth)


# ---- LPIPS ----
class LPIPSAlex(nn.Module):
    """lpips.LPIPS(net='alex', version='0.1', lpips=True, spatial=False) in eval mode."""

    def __init__(self, features, lins):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-.030, -.088, -.188], dtype=torch.float64)[None, :, None, None])
        self.register_buffer("scale", torch.tensor([.458, .448, .450], dtype=torch.float64)[None, :, None, None])
        self.slices = nn.ModuleList([features[0:2], features[2:5], features[5:8], features[8:10], features[10:12]])
        self.lins = nn.ModuleList(lins)

    def forward(self, in0, in1):
        def taps(x):
            x = (x - self.shift) / self.scale
            out = []
            for s in self.slices:
                x = s(x)
                out.append(x)
            return out

        def normalize_tensor(f, eps=1e-10):
            return f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + eps)

        t0, t1 = taps(in0), taps(in1)
        val = 0
        for k in range(5):
            diff = (normalize_tensor(t0[k]) - normalize_tensor(t1[k])) ** 2
            val = val + self.lins[k](diff).mean([2, 3], keepdim=True)
        return val.reshape(-1)


def run_lpips(d):
    torch.manual_seed(16)
    g = torch.Generator().manual_seed(16)
    alex = torchvision.models.alexnet(weights=None)
    lins = [nn.Conv2d(c, 1, 1, bias=False) for c in (64, 192, 384, 256, 256)]
    with torch.no_grad():
        for lin in lins:
            lin.weight.copy_(torch.rand(lin.weight.shape, generator=g) * 0.1)
    apth, lpth = os.path.join(d, "alexnet_random.pth"), os.path.join(d, "alex_lin_random.pth")
    torch.save(alex.state_dict(), apth)
    torch.save({f"lin{k}.model.1.weight": lin.weight.detach().clone() for k, lin in enumerate(lins)}, lpth)
    out = os.path.join(d, "lpips.safetensors")
    rc, msg = run_tool([os.path.join(TOOLS, "convert_lpips.py"), apth, lpth, out])
    report(rc == 0, f"lpips: convert_lpips.py on a random AlexNet and random heads: {msg}")
    a = torch.rand((4, 3, 67, 75), generator=g, dtype=torch.float64) * 2 - 1
    b = torch.rand((4, 3, 67, 75), generator=g, dtype=torch.float64) * 2 - 1
    b[2:] = (a[2:] + 0.05 * (torch.rand((2, 3, 67, 75), generator=g, dtype=torch.float64) * 2 - 1)).clamp(-1, 1)
    res = {}
    for dtype in (torch.float64, torch.float32):
        m = LPIPSAlex(alex.features, lins).eval().to(dtype)
        with torch.no_grad():
            res[dtype] = m(a.to(dtype), b.to(dtype)).double().numpy()
    d64, d32 = res[torch.float64], res[torch.float32]
    e = max_rel(d32, d64)
    print(f"lpips: distances {np.array2string(d64, precision=5)}; torch float32 vs float64 {e:.2e}")
    report(bool(np.all(d64 > 0)) and d64[2:].max() < d64[:2].min(), "lpips: the near pairs are nearer than the independent ones")
    save_safetensors(os.path.join(d, "lpips_ref.safetensors"), {"a": a.numpy(), "b": b.numpy(), "d": d64, "err32.d": np.array([e])})
    lin = {k: v for k, v in torch.load(lpth).items() if k != "lin3.model.1.weight"}
    msg = refusal(convert_lpips.convert_state_dicts, alex.state_dict(), lin, "alexnet.pth", "alex.pth",
                  os.path.join(d, "bad.safetensors"))
    report("lin3.model.1.weight" in msg, f"lpips: a missing head is refused: {msg}")
    for p in (apth, lpth):
        os.unlink(p)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    torch.set_num_threads(2)
    for name in sys.argv[2:]:
        {"inception": run_inception, "inception_tv": lambda d: run_inception(d, True), "lpips": run_lpips}[name](sys.argv[1])
    print(f"{count} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
