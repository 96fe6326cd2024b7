#!/usr/bin/env bash
# ./bench runs, checks and reports: a few small rows with --quick must exit 0 and write a CSV whose
# header is there and whose rows carry finite numbers; bad input must fail with a clear message.
# Timings are never asserted.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_bench_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { if [ "$1" = 1 ]; then echo "ok   $2"; pass=$((pass+1)); else echo "FAIL $2"; fail=$((fail+1)); fi; }

# one convolution (forward and both gradients, checked on a sample), one GEMM, two elementwise rows
rows="cyc128.R256,gemm.vae.NT128x400x784,relu.128x128x32x32.fwd,in.1x256x32x32"
./bench --quick --filter "$rows" --csv "$T/b.csv" >"$T/out" 2>&1
rc=$?
check $(( rc == 0 )) "./bench --quick --filter $rows exits 0 (exit $rc)"
[ $rc -eq 0 ] || cat "$T/out"
head -1 "$T/b.csv" 2>/dev/null | grep -qx 'row,shape,timer,runs,median_ms,min_ms,gflops,gbps,pct_of_peak,max_err,check'
check $(( $? == 0 )) "the CSV starts with its header"
# ceilings (7 rows in quick mode) + R256 fwd/dx/dw + the GEMM + relu fwd + instance norm fwd/bwd
n=$(awk 'NR > 1' "$T/b.csv" 2>/dev/null | wc -l)
check $(( n == 14 )) "the CSV has 14 rows: 7 ceilings and 7 selected ($n)"
# every row: runs >= 1, finite positive times, its rate finite and positive, a finite error, 'ok'
bad=$(awk -F, 'NR > 1 {
    # the shape is quoted and holds no comma, so the fields are plain
    rate = ($7 != "") ? $7 : $8
    ok = ($4 >= 1) && ($5 + 0 > 0) && ($6 + 0 > 0) && (rate + 0 > 0) && ($9 != "") && ($11 == "ok")
    for (i = 4; i <= 10; i++) if ($i ~ /nan|inf/) ok = 0
    if (!ok) print
}' "$T/b.csv")
check $([ -z "$bad" ] && echo 1 || echo 0) "every row has finite numbers and passed its check${bad:+: $bad}"
grep -q "^ceilings: arithmetic [0-9.]* GFLOP/s (the best of FMA and SGEMM), copy [0-9.]* GB/s" "$T/out"
check $(( $? == 0 )) "the ceilings are measured and printed"

./bench -d nosuchdevice --quick --filter relu --csv "$T/dev.csv" >"$T/out" 2>"$T/err"
rc=$?
check $(( rc != 0 )) "-d nosuchdevice fails (exit $rc)"
grep -q "no OpenCL device matches 'nosuchdevice'; devices:" "$T/err" && grep -q "^  0: " "$T/err"
check $(( $? == 0 )) "and lists the devices: $(head -2 "$T/err" | tr '\n' ' ')"

./bench --filter no-such-row --csv "$T/x.csv" >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--filter matching nothing exits 2 (exit $rc): $(head -1 "$T/err")"
./bench --runs zero >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--runs zero exits 2 (exit $rc): $(head -1 "$T/err")"
./bench --model nosuchmodel >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--model nosuchmodel exits 2 and lists the models (exit $rc): $(head -1 "$T/err")"
# --profile: a small VAE, clgan only; the table's fused rows and the launch count (values not asserted)
./bench --model vae --no-torch --iters 2 --warmup 1 --set vae.hidden=16 --profile >"$T/out" 2>&1
rc=$?
check $(( rc == 0 )) "--model vae --profile exits 0 (exit $rc)"
check $(grep -q '^linear_relu forward ' "$T/out" && grep -q '^linear_sigmoid backward ' "$T/out" && echo 1 || echo 0) \
    "--profile lists the fused layers' forward and backward rows"
check $(grep -q '^kernel launches per iteration: [0-9]' "$T/out" && grep -q '^clgan device memory [0-9.]* MiB' "$T/out" && echo 1 || echo 0) \
    "--model prints the launches per iteration and the device memory: $(grep '^kernel launches' "$T/out")"
# the PyTorch side's anchor: its BLAS, malloc and OpenMP wait named beside the ratio; as installed, flagged
./bench --model vae --iters 2 --warmup 1 --set vae.hidden=16 >"$T/out" 2>&1
rc=$?
check $(( rc == 0 )) "--model vae (tiny) against PyTorch exits 0 (exit $rc)"
check $(grep -qx 'pytorch malloc: glibc malloc, mmap and trim thresholds 1 GiB (mallopt)' "$T/out" &&
        grep -qx 'pytorch openmp: GOMP_SPINCOUNT=10000' "$T/out" && tail -1 "$T/out" | grep -q '^ratio clgan/pytorch [0-9]' && echo 1 || echo 0) \
    "the tuned malloc and OpenMP wait are named, the ratio is the last line: $(grep '^pytorch [mo]' "$T/out" | tr '\n' ' ')"
check $(grep -q '^interleaved: 2 rounds of 1 iteration a side' "$T/out" && [ "$(grep -c '^round [12]: ' "$T/out")" = 2 ] && echo 1 || echo 0) \
    "by default the two sides take turns (2 iterations: one a turn): $(grep '^interleaved' "$T/out")"
env -u GOMP_SPINCOUNT ./bench --model vae --iters 2 --warmup 1 --set vae.hidden=16 --torch-tuning none >"$T/out" 2>&1
check $(grep -q '^pytorch malloc: glibc malloc, defaults .* -- NOT COMPARABLE' "$T/out" &&
        grep -q '^pytorch openmp: libgomp defaults .* -- NOT COMPARABLE' "$T/out" && echo 1 || echo 0) \
    "--torch-tuning none is flagged as not comparable: $(grep '^pytorch [mo]' "$T/out" | tr '\n' ' ')"
# --rounds: both sides loaded, taking turns; 5 iterations in 3 rounds become 3 blocks of 2 a side, and
# PyTorch's mean is its blocks' (the rounds' lines average to it)
./bench --model vae --iters 5 --warmup 1 --set vae.hidden=16 --rounds 3 >"$T/out" 2>&1
rc=$?
check $(( rc == 0 )) "--model vae --rounds 3 exits 0 (exit $rc)"
check $(grep -q '^interleaved: 3 rounds of 2 iterations a side' "$T/out" && [ "$(grep -c '^round [123]: clgan [0-9.e-]* s/iter, pytorch [0-9.e-]* s/iter, ratio [0-9]' "$T/out")" = 3 ] &&
        grep -q '^clgan [0-9.e-]* s/iter (6 iterations' "$T/out" && grep -q '^rounds: clgan/pytorch per round [0-9.]* to [0-9.]*$' "$T/out" &&
        tail -1 "$T/out" | grep -q '^ratio clgan/pytorch [0-9]' && echo 1 || echo 0) \
    "three rounds of two iterations, their range, the ratio last: $(grep '^rounds' "$T/out")"
check $(awk '/^round [0-9]:/ { s += $7; n++ } /^  seconds_per_iter / { t = $2 }
             END { m = s / n; print (n == 3 && t > 0 && m / t > 0.99 && m / t < 1.01) ? 1 : 0 }' "$T/out") \
    "PyTorch's seconds_per_iter is the mean of its three blocks: $(grep '^  seconds_per_iter' "$T/out")"
./bench --model vae --iters 2 --warmup 1 --set vae.hidden=16 --rounds 1 >"$T/out" 2>&1
rc=$?
check $([ $rc = 0 ] && ! grep -q '^round \|^interleaved' "$T/out" && tail -1 "$T/out" | grep -q '^ratio clgan/pytorch [0-9]' && echo 1 || echo 0) \
    "--rounds 1 runs clgan, then PyTorch, no rounds (exit $rc)"
./bench --model vae --rounds 0 >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--rounds 0 exits 2 (exit $rc): $(head -1 "$T/err")"
./bench --model vae --rounds 3 --ab wino_min_c=16 >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--rounds with --ab exits 2 (exit $rc): $(head -1 "$T/err")"
./bench --model vae --torch-tuning jemalloc >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--torch-tuning jemalloc exits 2 (exit $rc): $(head -1 "$T/err")"
./bench --profile >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--profile without --model exits 2 (exit $rc): $(head -1 "$T/err")"
./bench --model vae --translate --no-torch >"$T/out" 2>"$T/err"
rc=$?
check $(( rc == 2 )) "--translate of a model that translates nothing exits 2 (exit $rc): $(head -1 "$T/err")"
echo "$pass checks, $fail failed"
[ $fail -eq 0 ]
