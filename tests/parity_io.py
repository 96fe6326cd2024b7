"""Readers shared by the PyTorch parity scripts: safetensors files written by clgan, and IDX images."""
import gzip
import json
import struct

import numpy as np


def load_safetensors(path):
    """Returns ({name: float32 array}, metadata) of a safetensors file (F32 tensors only)."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + hlen:]
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        n = int(np.prod(shape)) if shape else 1
        if e - b != 4 * n or e > len(data):
            raise ValueError(f"{path}: tensor {name}: offsets {b},{e} do not fit shape {shape}")
        out[name] = np.frombuffer(data, dtype="<f4", count=n, offset=b).reshape(shape).copy()
    return out, meta


def load_idx_images(path, count):
    """The first `count` images of a gzipped IDX3 file as float32 [count, 1, rows, cols] in [0, 1]."""
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            raise ValueError(f"{path}: bad IDX magic {magic:#x}")
        if count > n:
            raise ValueError(f"{path}: wants {count} images, the file has {n}")
        pix = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return (pix.astype(np.float32) / np.float32(255)).reshape(count, 1, rows, cols)
