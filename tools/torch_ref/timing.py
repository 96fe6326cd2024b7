"""What the PyTorch timing twins of `./bench --model` share: the common options, the set-up, and the
timed loop (warm-up, then the mean of --iters iterations, synchronised on CUDA), which prints the line
tools/bench_model.c reads: seconds_per_iter S; or with --serve, blocks of iterations on request, taking
turns with clgan (./bench --rounds)."""
import ctypes
import os
import sys
import time

import torch


def blas_info():
    """The BLAS this process runs its matrix products on, read from the libraries mapped after one
    (Debian's libblas.so.3 is an alternative: the reference BLAS, or OpenBLAS when installed): a line
    `blas NAME` that ./bench prints beside the ratio, NAME starting with "reference" when it is the
    unoptimised one."""
    a = torch.ones(64, 64, dtype=torch.float64)
    (a @ a).sum().item()
    libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.split()[-1].lower()})
    for lib in libs:
        if "openblas" in lib.lower() and "libopenblas" in lib:
            try:
                ob = ctypes.CDLL(lib)
                ob.openblas_get_config.restype = ctypes.c_char_p
                ob.openblas_get_corename.restype = ctypes.c_char_p
                return (f"OpenBLAS ({ob.openblas_get_config().decode()}; core {ob.openblas_get_corename().decode()}, "
                        f"{ob.openblas_get_num_threads()} threads) {lib}")
            except OSError:
                return f"OpenBLAS {lib}"
    for lib in libs:
        if "/blas/" in lib:
            return f"reference BLAS (Debian libblas3, unoptimised) {lib}"
    return "unknown (" + (", ".join(libs) or "no BLAS library mapped") + ")"


def add_args(ap, iters, warmup):
    ap.add_argument("--iters", type=int, default=iters)
    ap.add_argument("--warmup", type=int, default=warmup)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--malloc", choices=["tuned", "default"], default="tuned")
    ap.add_argument("--serve", action="store_true",
                    help="after the warm-up, time blocks on request (./bench --rounds): see serve_blocks")


_rss0 = None


def rss_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def peak_memory_line(dev):
    """`peak_memory_bytes N how`, which ./bench prints beside clgan's device memory: on CUDA torch's
    allocator peak; on a CPU the growth of the process's peak RSS (ru_maxrss) over its RSS when setup()
    ran (after the imports, before the model was built): the model, its gradients, the optimizer
    state, activations and the allocator's cache."""
    if dev.type == "cuda":
        return f"peak_memory_bytes {torch.cuda.max_memory_allocated()} torch.cuda.max_memory_allocated"
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return f"peak_memory_bytes {max(peak - (_rss0 or 0), 0)} peak RSS growth after import (CPU)"


_malloc = "not set"

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def tune_malloc(how):
    """With glibc's defaults every large tensor is mapped fresh (mmap) or the heap is handed back to
    the kernel (trim) when it is freed, and the next step page-faults all of it in again: on a 2-core
    VM that took 40% of PyTorch's CycleGAN step (495k minor faults against 170k). "tuned" keeps freed
    memory in the process, what PyTorch's CPU tuning guide gets from jemalloc or TCMalloc; here glibc
    itself, through mallopt, was as fast as either (TCMalloc) or faster (jemalloc). On CUDA it changes
    little: device tensors do not come from malloc."""
    global _malloc
    if how == "default":
        _malloc = "glibc malloc, defaults (dynamic mmap and trim thresholds)"
        return
    libc = ctypes.CDLL("libc.so.6")
    ok = libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
    _malloc = ("glibc malloc, mmap and trim thresholds 1 GiB (mallopt)" if ok
               else "glibc malloc, defaults (mallopt refused the thresholds)")


def openmp_info():
    """The OpenMP threads' wait after a parallel region, as libgomp read it at load time: the line
    `openmp ...` that ./bench prints beside the BLAS (./bench sets GOMP_SPINCOUNT=10000: with libgomp's
    300000 spins PyTorch's idle threads hold the cores that OpenBLAS's own threads need)."""
    spin = os.environ.get("GOMP_SPINCOUNT")
    return f"GOMP_SPINCOUNT={spin}" if spin else "libgomp defaults (GOMP_SPINCOUNT unset: 300000 spins)"


def malloc_info():
    """How setup() left glibc's malloc: the line `malloc ...` that ./bench prints beside the BLAS."""
    return _malloc


def setup(a):
    """Threads, seed and malloc as the options say; returns the torch.device."""
    global _rss0
    tune_malloc(a.malloc)
    _rss0 = rss_bytes()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    return torch.device(a.device)


def timed(iteration, sync, k):
    """k iterations, each waited for: their total seconds and the fastest one's."""
    total, fast = 0.0, None
    for _ in range(k):
        ti = time.perf_counter()
        iteration()
        sync()
        d = time.perf_counter() - ti
        total += d
        fast = d if fast is None else min(fast, d)
    return total, fast


def print_setup(dev, what):
    print(f"torch {torch.__version__} on {dev.type}, {torch.get_num_threads()} threads, {what}")
    print(f"blas {blas_info()}")
    print(f"malloc {malloc_info()}")
    print(f"openmp {openmp_info()}")


def serve_blocks(iteration, sync):
    """./bench --rounds: clgan and this twin take turns on the machine. Prints `ready`, then per line
    `run K` on stdin sleeps 0.1 s (the other side's threads go idle: OpenBLAS's spin after a GEMM, PoCL's
    after a kernel), times K iterations and prints `block SECONDS`; `end` (or EOF) stops. Returns
    the iterations' count, total seconds and the fastest."""
    print("ready", flush=True)
    n, total, best = 0, 0.0, None
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "end":
            break
        if cmd[0] != "run" or len(cmd) != 2 or not cmd[1].isdigit() or int(cmd[1]) < 1:
            raise SystemExit(f"timing.py --serve: expected 'run K' or 'end', got {line.strip()!r}")
        time.sleep(0.1)
        block, fast = timed(iteration, sync, int(cmd[1]))
        print(f"block {block:.6g}", flush=True)
        n, total = n + int(cmd[1]), total + block
        best = fast if best is None else min(best, fast)
    return n, total, best


def time_iterations(a, dev, iteration, what):
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(a.warmup):
        iteration()
    sync()
    if a.serve:
        print_setup(dev, what)
        n, total, best = serve_blocks(iteration, sync)
        if n:
            print(f"fastest iteration {best:.6g} s")
            print(peak_memory_line(dev))
            print(f"seconds_per_iter {total / n:.6g}")
        return
    total, best = timed(iteration, sync, a.iters)
    dt = total / a.iters
    print_setup(dev, what)
    print(f"fastest iteration {best:.6g} s")
    print(peak_memory_line(dev))
    print(f"seconds_per_iter {dt:.6g}")
