#!/usr/bin/python3
"""Inference throughput of CycleGAN's generator G_A (cyclegan_torch.py's ResnetGenerator, the network
./translate runs) for ./bench --translate: eval mode, torch.no_grad(), a fixed random batch in [-1, 1].
Takes cyclegan_torch.py's options (the ones that do not shape G_A are accepted and ignored) and
--batches 1,8; prints, per batch size N, a line "images_per_s N R" (R = N / mean seconds per forward over
--iters forwards after --warmup), and the peak memory line of timing.py.

usage: /usr/bin/python3 tools/torch_ref/translate_torch.py [--size 64] [--blocks 6] [--ngf 64] [--channels 1]
           [--tconv] [--batches 1,8] [--iters 5] [--warmup 2] [--threads N] [--device cpu|cuda]
"""
import argparse
import time

import torch

import timing
from cyclegan_torch import ResnetGenerator


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--tconv", action="store_true")
    ap.add_argument("--batches", default="1,8")
    timing.add_args(ap, iters=5, warmup=2)
    a, _ = ap.parse_known_args()  # the training twin's other options (--ndf, --lr, ...) do not matter here
    dev = timing.setup(a)
    g = ResnetGenerator(a.channels, a.channels, a.ngf, a.blocks, a.tconv).to(dev).eval()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    print(f"torch {torch.__version__} on {dev.type}, {torch.get_num_threads()} threads, G_A {a.channels} channels "
          f"ngf {a.ngf} {a.blocks} blocks at {a.size}x{a.size}")
    print(f"blas {timing.blas_info()}")
    print(f"malloc {timing.malloc_info()}")
    print(f"openmp {timing.openmp_info()}")
    with torch.no_grad():
        for n in (int(b) for b in a.batches.split(",")):
            x = torch.rand(n, a.channels, a.size, a.size, device=dev) * 2 - 1
            for _ in range(a.warmup):
                g(x)
            sync()
            t0 = time.perf_counter()
            for _ in range(a.iters):
                g(x)
            sync()
            print(f"images_per_s {n} {n * a.iters / (time.perf_counter() - t0):.6g}")
    print(timing.peak_memory_line(dev))


if __name__ == "__main__":
    main()
