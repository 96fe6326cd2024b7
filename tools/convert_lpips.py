#!/usr/bin/python3
"""Converts LPIPS v0.1 (AlexNet) weights into clgan's safetensors (models/lpips.c).

Usage: /usr/bin/python3 tools/convert_lpips.py ALEXNET.pth LIN.pth OUT.safetensors
       /usr/bin/python3 tools/convert_lpips.py LPIPS_FULL.pth OUT.safetensors

ALEXNET.pth: torchvision's ImageNet AlexNet (alexnet-owt-7be5be79.pth; only features.* is used, the
classifier is dropped). LIN.pth: the lpips package's weights/v0.1/alex.pth (lin0.model.1.weight ..
lin4.model.1.weight, each {1, C, 1, 1}). LPIPS_FULL.pth: instead of the two, a whole lpips.LPIPS(net='alex')
state_dict (net.slice*.*, lin*.model.1.weight, scaling_layer.*).

The names written are lpips' own state_dict names: torchvision's features.N becomes net.sliceK.N (K = 1
for N = 0, 2 for 3, 3 for 6, 4 for 8, 5 for 10, as lpips.pretrained_networks.alexnet splits the
features after each ReLU), weights and biases; the heads keep lin0.model.1.weight ... The ScalingLayer's
constants are not written (clgan has them). The AlexNet tensors are validated by loading them into
torchvision.models.alexnet() with strict=True (features only), the heads by their shapes; a missing or
misshapen tensor stops the conversion with its name.

Needs Debian's python3-torch and python3-torchvision (run with /usr/bin/python3)."""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import load_state_dict, save_safetensors  # noqa: E402

SLICE_OF = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}  # features index of each conv -> lpips slice
CHANNELS = [64, 192, 384, 256, 256]


def features_from(sd, src):
    """torchvision features.N.{weight,bias} from an AlexNet state dict or a full LPIPS one."""
    if any(k.startswith("net.slice") for k in sd):
        return {f"features.{n}.{p}": sd[f"net.slice{k}.{n}.{p}"] for n, k in SLICE_OF.items() for p in ("weight", "bias")
                if f"net.slice{k}.{n}.{p}" in sd}
    return {k: v for k, v in sd.items() if k.startswith("features.")}


def convert(alex_path, lin_path, dst):
    sd = load_state_dict(alex_path)
    return convert_state_dicts(sd, load_state_dict(lin_path) if lin_path else sd, alex_path, lin_path, dst)


def convert_state_dicts(sd, lin, alex_path, lin_path, dst):
    """The conversion of loaded state dicts (the paths name them in messages); the number of tensors written."""
    feats = features_from(sd, alex_path)
    net = torchvision.models.alexnet(weights=None).features
    want = {"features." + k: v for k, v in net.state_dict().items()}
    missing = [k for k in want if k not in feats]
    shape = [f"{k} {tuple(feats[k].shape)} (needs {tuple(want[k].shape)})" for k in want
             if k in feats and tuple(feats[k].shape) != tuple(want[k].shape)]
    if missing or shape:
        raise ValueError(f"{alex_path}: not torchvision's AlexNet features (missing: {', '.join(missing[:5]) or 'none'}; "
                         f"wrong shape: {'; '.join(shape[:5]) or 'none'})")
    net.load_state_dict({k[len("features."):]: v for k, v in feats.items()}, strict=True)
    out = {}
    for n, k in SLICE_OF.items():
        for p in ("weight", "bias"):
            out[f"net.slice{k}.{n}.{p}"] = feats[f"features.{n}.{p}"].detach().to(torch.float32).numpy()
    for i, c in enumerate(CHANNELS):
        name = f"lin{i}.model.1.weight"
        if name not in lin:
            raise ValueError(f"{lin_path or alex_path}: tensor {name} is missing (lpips' weights/v0.1/alex.pth has it)")
        if tuple(lin[name].shape) != (1, c, 1, 1):
            raise ValueError(f"{lin_path or alex_path}: tensor {name} has shape {tuple(lin[name].shape)}, needs (1, {c}, 1, 1)")
        out[name] = lin[name].detach().to(torch.float32).numpy()
    save_safetensors(dst, out, {"lpips.version": "0.1", "lpips.net": "alex",
                                "source": " + ".join(os.path.basename(p) for p in (alex_path, lin_path) if p)})
    return len(out)


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    args = sys.argv[1:]
    alex, lin, dst = (args[0], args[1], args[2]) if len(args) == 3 else (args[0], None, args[1])
    try:
        n = convert(alex, lin, dst)
    except (ValueError, OSError, RuntimeError, KeyError) as e:
        print(f"convert_lpips: {e}", file=sys.stderr)
        return 1
    print(f"convert_lpips: wrote {n} tensors to {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
