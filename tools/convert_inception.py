#!/usr/bin/python3
"""Converts Inception-v3 weights for FID and IS into clgan's safetensors (models/inception.c).

Usage: /usr/bin/python3 tools/convert_inception.py IN.pth OUT.safetensors

IN.pth is pytorch-fid's FID Inception state dict, pt_inception-2015-12-05-6726825d.pth (the weights of
the TensorFlow graph FID was defined with; 1008 classes). It is validated by loading it with
load_state_dict(strict=True) into the network pytorch-fid builds (fid_inception_v3 below: torchvision's
Inception3 with num_classes=1008, aux_logits=False and the FID blocks), so a missing, extra or
misshapen tensor stops the conversion with its name. Every tensor is written as float32 under its
state_dict name ("Conv2d_1a_3x3.conv.weight", "Mixed_6b.branch7x7_2.bn.running_mean", "fc.weight", ...),
without num_batches_tracked, with metadata inception.variant = "fid".

torchvision's own ImageNet weights (inception_v3_google-0cc3c7bd.pth, 1000 classes, AuxLogits) are
converted too, with a warning: they belong to a different network (its average pools count the
padding, Mixed_7c pools by average; pytorch-fid's use_fid_inception=False), AuxLogits.* dropped, the
rest validated by a strict load into torchvision's Inception3(num_classes=1000, aux_logits=False), metadata
inception.variant = "torchvision". FIDs computed with them are not comparable with published ones;
clgan prints them as "torchvision-FID".

Needs Debian's python3-torch and python3-torchvision (run with /usr/bin/python3)."""
import contextlib
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: N812
from torchvision.models.inception import Inception3, InceptionA, InceptionC, InceptionE

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import load_state_dict, save_safetensors  # noqa: E402


# ---- pytorch_fid/inception.py's blocks, rewritten after it ----
class FIDInceptionA(InceptionA):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        # the TF graph's average pool does not count the padding
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class FIDInceptionC(InceptionC):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            b = m(b)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch7x7, b, branch_pool], 1)


class FIDInceptionE1(InceptionE):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class FIDInceptionE2(InceptionE):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        # the TF graph's bug, kept for FID: a max pool instead of an average pool
        branch_pool = self.branch_pool(F.max_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


@contextlib.contextmanager
def _uninitialised():
    """Builds modules without drawing their initial weights (every one is loaded or overwritten after):
    torch's default init of Inception's 24M parameters costs seconds."""
    names = ("kaiming_uniform_", "uniform_", "normal_", "trunc_normal_")
    saved = {n: getattr(nn.init, n) for n in names}
    for n in names:
        setattr(nn.init, n, lambda t, *a, **k: t)
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(nn.init, n, f)


def fid_inception_v3():
    """pytorch_fid.inception.fid_inception_v3() without the download (weights uninitialised)."""
    with _uninitialised():
        return _fid_inception_v3()


def _fid_inception_v3():
    net = Inception3(num_classes=1008, aux_logits=False, transform_input=False, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE1(1280)
    net.Mixed_7c = FIDInceptionE2(2048)
    return net


def torchvision_inception_v3():
    """torchvision.models.inception_v3 up to its logits (the auxiliary head, AuxLogits.*, is not used;
    weights uninitialised)."""
    with _uninitialised():
        return Inception3(num_classes=1000, aux_logits=False, transform_input=False, init_weights=False)


def fid_pool3_and_logits(net, x):
    """pytorch-fid's InceptionV3 blocks 0..3 (x already in [-1, 1] at 299x299): the 2048-d pool3
    features {N, 2048} and the IS logits {N, classes}: pool3 times fc.weight without fc.bias, as the
    original inception_score.py (softmax/logits/MatMul) and torch-fidelity's "logits_unbiased"."""
    for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                 "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                 "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool"):
        x = getattr(net, name)(x)
    pool = torch.flatten(x, 1)
    return pool, pool @ net.fc.weight.t()


def convert(src, dst):
    return convert_state_dict(load_state_dict(src), src, dst)


def convert_state_dict(sd, src, dst):
    """The conversion of a loaded state dict (src names it in messages); the number of tensors written."""
    tv = any(k.startswith("AuxLogits.") for k in sd) or ("fc.weight" in sd and sd["fc.weight"].shape[0] == 1000)
    if tv:
        print(f"convert_inception: warning: {src} is torchvision's ImageNet Inception-v3, not pytorch-fid's FID "
              "network: FIDs computed with it are not comparable with published ones (clgan prints torchvision-FID). "
              "For the standard FID use pt_inception-2015-12-05-6726825d.pth (docs/EVALUATION_NETS.md).", file=sys.stderr)
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked") and not (tv and k.startswith("AuxLogits."))}
    net = torchvision_inception_v3() if tv else fid_inception_v3()
    want = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = [k for k in want if k not in sd]
    extra = [k for k in sd if k not in want]
    shape = [f"{k} {tuple(sd[k].shape)} (needs {tuple(want[k].shape)})" for k in want
             if k in sd and tuple(sd[k].shape) != tuple(want[k].shape)]
    if missing or extra or shape:
        msg = []
        if missing:
            msg.append(f"missing {len(missing)}: {', '.join(missing[:5])}")
        if extra:
            msg.append(f"unexpected {len(extra)}: {', '.join(extra[:5])}")
        if shape:
            msg.append(f"wrong shape: {'; '.join(shape[:5])}")
        what = "torchvision's Inception-v3" if tv else "pytorch-fid's FID Inception"
        raise ValueError(f"{src}: not {what} state dict ({' | '.join(msg)})")
    net.load_state_dict({**net.state_dict(), **sd}, strict=True)  # the final word on names and shapes
    out = {k: sd[k].detach().to(torch.float32).cpu().numpy() for k in want}
    save_safetensors(dst, out, {"inception.variant": "torchvision" if tv else "fid", "source": os.path.basename(src)})
    return len(out)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    try:
        n = convert(sys.argv[1], sys.argv[2])
    except (ValueError, OSError, RuntimeError) as e:
        print(f"convert_inception: {e}", file=sys.stderr)
        return 1
    print(f"convert_inception: wrote {n} tensors to {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
