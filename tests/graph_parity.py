#!/usr/bin/python3
"""PyTorch side of tests/test_graph_parity.c. Usage: /usr/bin/python3 tests/graph_parity.py DIR NAME...

For each network NAME (resnet18, unet, unet_add_input), DIR/NAME_ours.safetensors holds what clgan wrote: the state
(parameters and batch-norm buffers under the PyTorch state_dict's names), the input "x", clgan's
evaluation-mode output "y_eval" (with "z" {N, nz, 1, 1} for unet_add_input), its training-mode output "y_train" with target "T", the gradients of
L = 0.5 * sum (y_train - T)^2 ("grad.x", "grad.z", "grad.<parameter>") and the running statistics after the
training-mode forward ("after.<buffer>"). This script loads the state into the PyTorch network with
load_state_dict(strict=True) (num_batches_tracked, which clgan does not keep, is the model's own:
momentum 0.1 is fixed, so the count is unused), runs the same in float64 and float32, and compares.
Then it writes DIR/NAME_torch.safetensors: the state_dict of a freshly initialised PyTorch model (seed
0) and its float64 evaluation-mode output on our input, which the C side loads into clgan (the other
way of the strict load). Exits 1 on any failure.

The networks, written here after their references (not copied):
  resnet18: torchvision.models.resnet18(weights=None) with fc = Identity (the 512-d features after the
            global average pool); torchvision itself when importable (Debian's python3-torch has none),
            else a module-for-module rewrite with the same attribute names.
  unet:     pytorch-CycleGAN-and-pix2pix's UnetGenerator(3, 3, num_downs=5, ngf=8, BatchNorm2d,
            use_dropout=False): nested UnetSkipConnectionBlocks, whose in-place LeakyReLU changes the x
            that torch.cat([x, self.model(x)], 1) then reads.
  unet_add_input: BicycleGAN's G_Unet_add_input(3, 3, nz=3, num_downs=5, ngf=8, BatchNorm2d, ReLU,
            upsample 'basic'): z.view(N, nz, 1, 1).expand(...) concatenated to x, then its UnetBlocks
            (biases everywhere, torch.cat([self.model(x), x], 1)).

How this compares: every quantity as max |ours - ref| / max |ref| against the float64 run, which must
be below TOL or within RATIO of PyTorch float32's own error where that is larger (a ReLU or max-pool
input within float32 rounding of its kink or tie routes a gradient differently in any float32 engine;
PyTorch float32 then shows the same size of error)."""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_io import load_safetensors  # noqa: E402

RATIO = 3.0
FWD_TOL = 2e-5   # outputs and running statistics
GRAD_TOL = 1e-4  # gradients (a backward through BN's batch statistics adds cancellation)
# A bias followed by batch norm has an exactly zero gradient; its float32 value is rounding noise (up to
# 1e-5 here, the largest gradient 183): parameter gradients are measured against
# max(max |ref|, ZERO_GRAD_FLOOR * the network's largest parameter gradient).
ZERO_GRAD_FLOOR = 1e-2

failures = 0
count = 0


def report(name, err, tol, extra=""):
    global failures, count
    ok = bool(err <= tol)  # NaN fails
    count += 1
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name:<56} err {err:.3e}  tol {tol:.1e}{extra}")
    return ok


def max_rel(ours, ref, floor=0.0):
    """max |ours - ref| / max(max |ref|, floor)"""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        return float("inf")
    scale = max(np.max(np.abs(ref)), floor)
    d = np.max(np.abs(ours - ref)) if ours.size else 0.0
    return float(d / scale) if scale > 0 else float(d)


def compare(name, ours, r64, r32, tol):
    e = max_rel(ours, r64)
    e32 = max_rel(r32, r64)
    return report(name, e, max(tol, RATIO * e32), f"  (torch float32 {e32:.1e})")


# ---- the networks ----

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, stride=2)
        self.layer3 = self._make_layer(256, 2, stride=2)
        self.layer4 = self._make_layer(512, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18():
    try:
        import torchvision  # noqa: F401
        m = torchvision.models.resnet18(weights=None)
        m.fc = nn.Identity()
        return m
    except ImportError:
        return ResNet18()


class UnetBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = norm_layer == nn.InstanceNorm2d
        input_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        if outermost:
            seq = [down_conv, submodule, nn.ReLU(True),
                   nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            seq = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True),
                   nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias),
                   norm_layer(outer_nc)]
        else:
            seq = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(inner_nc), submodule, nn.ReLU(True),
                   nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias),
                   norm_layer(outer_nc)]
            if use_dropout:
                seq.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # x: already through the block's in-place LeakyReLU


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True, norm_layer=norm_layer)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer, use_dropout=use_dropout)
        block = UnetBlock(ngf * 4, ngf * 8, submodule=block, norm_layer=norm_layer)
        block = UnetBlock(ngf * 2, ngf * 4, submodule=block, norm_layer=norm_layer)
        block = UnetBlock(ngf, ngf * 2, submodule=block, norm_layer=norm_layer)
        self.model = UnetBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                               norm_layer=norm_layer)

    def forward(self, x):
        return self.model(x)


class BicycleUnetBlock(nn.Module):
    """BicycleGAN's UnetBlock (upsample 'basic', zero padding): every conv with a bias, and
    torch.cat([self.model(x), x], 1), the up half first."""

    def __init__(self, input_nc, outer_nc, inner_nc, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        down_conv = [nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1)]
        if outermost:
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1),
                  nn.Tanh()]
            seq = down_conv + [submodule] + up
        elif innermost:
            seq = [nn.LeakyReLU(0.2, True)] + down_conv + [
                nn.ReLU(True), nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1),
                norm_layer(outer_nc)]
        else:
            seq = [nn.LeakyReLU(0.2, True)] + down_conv + [norm_layer(inner_nc), submodule, nn.ReLU(True),
                   nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1),
                   norm_layer(outer_nc)]
            if use_dropout:
                seq.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([self.model(x), x], 1)


class GUnetAddInput(nn.Module):
    """BicycleGAN's G_Unet_add_input: z broadcast to the image's planes and concatenated to its channels."""

    def __init__(self, input_nc, output_nc, nz, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.nz = nz
        block = BicycleUnetBlock(ngf * 8, ngf * 8, ngf * 8, innermost=True, norm_layer=norm_layer)
        for _ in range(num_downs - 5):
            block = BicycleUnetBlock(ngf * 8, ngf * 8, ngf * 8, block, norm_layer=norm_layer, use_dropout=use_dropout)
        block = BicycleUnetBlock(ngf * 4, ngf * 4, ngf * 8, block, norm_layer=norm_layer)
        block = BicycleUnetBlock(ngf * 2, ngf * 2, ngf * 4, block, norm_layer=norm_layer)
        block = BicycleUnetBlock(ngf, ngf, ngf * 2, block, norm_layer=norm_layer)
        self.model = BicycleUnetBlock(input_nc + nz, output_nc, ngf, block, outermost=True, norm_layer=norm_layer)

    def forward(self, x, z):
        z_img = z.view(z.size(0), z.size(1), 1, 1).expand(z.size(0), z.size(1), x.size(2), x.size(3))
        return self.model(torch.cat([x, z_img], 1))


def make(name):
    if name == "resnet18":
        return resnet18()
    if name == "unet":
        return UnetGenerator(3, 3, 5, ngf=8)
    if name == "unet_add_input":
        return GUnetAddInput(3, 3, 3, 5, ngf=8)
    raise ValueError(f"unknown network {name}")


def as_nchw(y):
    return y.reshape(y.shape[0], -1, *y.shape[2:]) if y.dim() == 4 else y.reshape(y.shape[0], -1, 1, 1)


# ---- safetensors writer (the reader is parity_io's) ----

def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)


# ---- the comparison ----

def load_strict(net, ours, dtype):
    sd = {}
    for k, v in net.state_dict().items():
        sd[k] = v if k.endswith("num_batches_tracked") else torch.from_numpy(ours[k]).to(dtype)
    extra = {k for k in ours if "." in k and not k.startswith(("grad.", "after."))} - set(sd)
    if extra:
        report(f"clgan tensors the PyTorch model lacks: {sorted(extra)[:4]}", float("inf"), 0)
    net.load_state_dict(sd, strict=True)


def run(d, name):
    ours, _ = load_safetensors(os.path.join(d, f"{name}_ours.safetensors"))
    res = {}
    for dtype in (torch.float64, torch.float32):
        net = make(name).to(dtype)
        load_strict(net, ours, dtype)
        x = torch.from_numpy(ours["x"]).to(dtype)
        z = torch.from_numpy(ours["z"]).to(dtype).reshape(x.shape[0], -1) if "z" in ours else None
        args = (lambda xx, zz: (xx,)) if z is None else (lambda xx, zz: (xx, zz))
        net.eval()
        with torch.no_grad():
            y_eval = as_nchw(net(*args(x, z)))
        net.train()
        xg = x.clone().requires_grad_(True)
        zg = z.clone().requires_grad_(True) if z is not None else None
        y = as_nchw(net(*args(xg, zg)))
        loss = 0.5 * ((y - torch.from_numpy(ours["T"]).to(dtype)) ** 2).sum()
        loss.backward()
        r = {"y_eval": y_eval.numpy(), "y_train": y.detach().numpy(), "grad.x": xg.grad.numpy()}
        if zg is not None:
            r["grad.z"] = zg.grad.numpy().reshape(ours["grad.z"].shape)
        for k, p in net.named_parameters():
            r["grad." + k] = p.grad.numpy()
        for k, b in net.named_buffers():
            if not k.endswith("num_batches_tracked"):
                r["after." + k] = b.numpy()
        res[dtype] = r
    r64, r32 = res[torch.float64], res[torch.float32]
    print(f"{name}: state_dict loaded with strict=True")
    compare(f"{name} eval-mode output {tuple(ours['y_eval'].shape)}", ours["y_eval"], r64["y_eval"], r32["y_eval"],
            FWD_TOL)
    compare(f"{name} train-mode output", ours["y_train"], r64["y_train"], r32["y_train"], FWD_TOL)
    compare(f"{name} d L / d x", ours["grad.x"], r64["grad.x"], r32["grad.x"], GRAD_TOL)
    if "grad.z" in r64:
        compare(f"{name} d L / d z", ours["grad.z"], r64["grad.z"], r32["grad.z"], GRAD_TOL)
    for prefix, tol, what in (("grad.", GRAD_TOL, "parameter gradients"), ("after.", FWD_TOL, "running statistics after the step")):
        # every tensor's error over its own tolerance: one line for the group (<= 1 passes), one per failure
        keys = [k for k in r64 if k.startswith(prefix) and k not in ("grad.x", "grad.z")]
        floor = ZERO_GRAD_FLOOR * max(np.max(np.abs(r64[k])) for k in keys) if prefix == "grad." else 0.0
        worst, at = 0.0, ""
        for k in keys:
            e, e32 = max_rel(ours[k], r64[k], floor), max_rel(r32[k], r64[k], floor)
            q = e / max(tol, RATIO * e32)
            if not q <= 1:
                compare(f"{name} {k}", ours[k], r64[k], r32[k], tol)
            if not q <= worst:
                worst, at = q, f"{k} {e:.1e}, torch float32 {e32:.1e}"
        report(f"{name} {len(keys)} {what}: worst err/tol", worst, 1.0, f"  ({at})")

    # the other way: a fresh PyTorch model's state_dict, for clgan to load
    torch.manual_seed(0)
    net = make(name).to(torch.float64)
    with torch.no_grad():  # random running statistics, as on our side, so evaluation mode uses them
        for k, b in net.named_buffers():
            if k.endswith("running_mean"):
                b.uniform_(-0.3, 0.3)
            elif k.endswith("running_var"):
                b.uniform_(0.5, 1.5)
        net.eval()
        x = torch.from_numpy(ours["x"]).to(torch.float64)
        y = as_nchw(net(x) if "z" not in ours else net(x, torch.from_numpy(ours["z"]).to(torch.float64).reshape(x.shape[0], -1)))
    out = {k: v.numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    nsd = len(out)
    out["x"] = ours["x"]
    if "z" in ours:
        out["z"] = ours["z"]
    out["y_eval"] = y.numpy()
    save_safetensors(os.path.join(d, f"{name}_torch.safetensors"), out)
    print(f"{name}: wrote PyTorch's own state_dict ({nsd} tensors) and its output for the C side")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    torch.set_num_threads(2)
    for name in sys.argv[2:]:
        run(sys.argv[1], name)
    print(f"{count} comparisons, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
