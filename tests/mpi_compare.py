"""Compares two clgan runs (tests/test_mpi.sh): every tensor of their checkpoints and every loss of their
losses.csv, within a relative tolerance. Usage: mpi_compare.py RUN_A RUN_B TOL [NOISE_BOUND]. Prints each
comparison and exits 1 on a mismatch or when a run lacks a file, a tensor or a row. numpy only
(safetensors is a JSON header and raw little-endian float32).

A parameter whose gradient is zero by construction (a conv bias right before instance norm) gets only
rounding noise, which Adam scales to steps of about lr in a random direction: where its Adam second
moment stays below 1e-12 in both runs (a real gradient's is above 1e-6 in these tests), it is held to
|a - b| <= NOISE_BOUND (2 * lr * steps) instead, and its moments are not compared, as the CycleGAN parity
test holds such biases (tests/cyclegan_parity.py)."""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        a, b = d["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").astype(np.float64)
    return out


def rel(a, b):
    """max |a - b| / (max |a| + 1e-6): the error relative to the tensor's own scale."""
    return float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-6)) if a.size else 0.0


def main():
    run_a, run_b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    noise_bound = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    bad = 0
    ta, tb = load(run_a + "/checkpoint.safetensors"), load(run_b + "/checkpoint.safetensors")
    if set(ta) != set(tb) or not ta:
        print("FAIL tensor names differ: %s" % sorted(set(ta) ^ set(tb)))
        return 1
    noise = set()
    for name in ta:
        v = name + ".adam_v"
        if v in ta and ta[v].shape == tb[v].shape and max(ta[v].max(), tb[v].max()) < 1e-12:
            noise |= {name, name + ".adam_m", v}
    worst, worst_name = 0.0, ""
    for name in sorted(ta):
        if ta[name].shape != tb[name].shape:
            print("FAIL %s: %s vs %s floats" % (name, ta[name].shape, tb[name].shape))
            bad += 1
            continue
        if name in noise:
            moved = float(np.max(np.abs(ta[name] - tb[name])))
            if name.endswith(".adam_m") or name.endswith(".adam_v"):
                continue
            if not moved <= noise_bound:
                print("FAIL %s: a gradient-free parameter differs by %.3g > %g" % (name, moved, noise_bound))
                bad += 1
            continue
        e = rel(ta[name], tb[name])
        if e > worst:
            worst, worst_name = e, name
        if not e <= tol:
            print("FAIL %s: relative difference %.3g > %g" % (name, e, tol))
            bad += 1
    print("%s %d tensors (weights, optimizer moments, buffers): largest relative difference %.3g (%s), tolerance %g"
          % ("ok  " if not bad else "FAIL", len(ta) - len(noise), worst, worst_name, tol))
    if noise:
        print("     %d parameters without a gradient by construction held to |a - b| <= %g (and their moments skipped)"
              % (len(noise) // 3, noise_bound))
    la = np.genfromtxt(run_a + "/losses.csv", delimiter=",", names=True)
    lb = np.genfromtxt(run_b + "/losses.csv", delimiter=",", names=True)
    if la.shape != lb.shape or la.dtype.names != lb.dtype.names or la.size == 0:
        print("FAIL losses.csv: %s rows %s vs %s rows %s" % (la.shape, la.dtype.names, lb.shape, lb.dtype.names))
        return 1
    lworst = 0.0
    for col in la.dtype.names[1:]:
        a, b = np.atleast_1d(la[col]), np.atleast_1d(lb[col])
        e = float(np.max(np.abs(a - b) / (np.abs(a) + 1e-3)))
        lworst = max(lworst, e)
        if not e <= tol:
            print("FAIL loss %s: relative difference %.3g > %g (%s vs %s)" % (col, e, tol, a, b))
            bad += 1
    print("%s %d steps x %d losses: largest relative difference %.3g, tolerance %g"
          % ("ok  " if not bad else "FAIL", np.atleast_1d(la).size, len(la.dtype.names) - 1, lworst, tol))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
