"""A safetensors writer for the converters (host/safetensors.h's format: 8-byte little-endian header
length, the JSON header padded with spaces to a multiple of 8, raw little-endian float32 data). Every
tensor is written as F32; the file is written to a temporary name and renamed, as clgan does."""
import json
import os
import struct

import numpy as np


def save_safetensors(path, tensors, metadata=None):
    """tensors: {name: array-like} in the order to write; metadata: {str: str} or None."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"tensor {name} holds a NaN or an infinity (clgan refuses such files)")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_state_dict(path):
    """A .pth file's state dict on the CPU (a bare state dict, or one under 'state_dict' / 'model')."""
    import torch
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict):
        for key in ("state_dict", "model"):
            if key in sd and isinstance(sd[key], dict):
                sd = sd[key]
    elif hasattr(sd, "state_dict"):
        sd = sd.state_dict()
    if not isinstance(sd, dict) or not all(hasattr(v, "shape") for v in sd.values()):
        raise ValueError(f"{path}: not a PyTorch state dict")
    return sd
