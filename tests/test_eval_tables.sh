#!/usr/bin/env bash
# ./evaluate samples (a VAE's and a DCGAN's generated sets: count, size, file names, the seed) and
# seed 003's tables through tools/eval_tables.sh on tiny models, their figures checked for form (the
# real set against itself ~0, every IS within [1, 10]). The DCGAN runs 7 steps: more than the 5
# one-step epochs of a trainer without data, whose step check once refused such a checkpoint.
# No timings.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_tables_test_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
PY=/usr/bin/python3
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }

./train -c ini/fashion_classifier.ini --set run.dir="$T/fc" --set data.train_limit=1280 --set train.batch_size=32 \
    --set train.lr=3e-3 --set classifier.conv1=8 --set classifier.conv2=8 --set classifier.feat=32 --set eval.every=1000 >"$T/log" 2>&1 \
    || { bad "training the classifier"; cat "$T/log"; }
./train -c ini/vae.ini --set run.dir="$T/vae" --set data.train_limit=128 --set train.batch_size=64 --set train.epochs=1 \
    --set vae.hidden=16 >"$T/log" 2>&1 || { bad "training the VAE"; cat "$T/log"; }
./train -c ini/dcgan.ini --set run.dir="$T/dcgan" --set data.train_limit=8 --set train.batch_size=4 --set train.max_steps=7 \
    --set gan.ngf=4 --set gan.ndf=4 --set gan.zdim=8 >"$T/log" 2>&1 || { bad "training the DCGAN"; cat "$T/log"; }

# samples: count, names and size (the VAE 28x28 grey, DCGAN 64x64)
for m in vae:28:7 dcgan:64:5; do
    run=${m%%:*}; rest=${m#*:}; side=${rest%%:*}; n=${rest#*:}
    ./evaluate samples "$T/$run" "$n" "$T/gen_$run" >"$T/out" 2>&1 || { bad "samples $run"; cat "$T/out"; continue; }
    $PY - "$T/gen_$run" "$n" "$side" <<'PYEOF' && ok "samples $run: $n PNGs sample_00000.png .. of ${side}x${side}" || bad "samples $run: wrong files"
import sys, os
from PIL import Image
d, n, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = sorted(os.listdir(d))
assert names == ["sample_%05d.png" % i for i in range(n)], names
assert all(Image.open(os.path.join(d, f)).size == (s, s) for f in names)
PYEOF
done
./evaluate samples "$T/vae" 3 "$T/a" --seed 7 >/dev/null 2>&1 && ./evaluate samples "$T/vae" 3 "$T/b" --seed 7 >/dev/null 2>&1 && \
    ./evaluate samples "$T/vae" 3 "$T/c" --seed 8 >/dev/null 2>&1 && cmp -s "$T/a/sample_00002.png" "$T/b/sample_00002.png" && \
    ! cmp -s "$T/a/sample_00002.png" "$T/c/sample_00002.png" && ok "samples: the same seed gives the same images, another seed others" \
    || bad "samples: --seed does not decide the images"
./evaluate samples "$T/fc" 3 "$T/x" >"$T/out" 2>"$T/err" && bad "samples of a classifier accepted" || \
    { grep -q "samples takes a vae or gan checkpoint" "$T/err" && ok "samples refuses a classifier: $(cat "$T/err")" || bad "samples error: $(cat "$T/err")"; }

# the tables
sh tools/eval_tables.sh "$T/vae" 100 --weights "$T/fc/checkpoint.safetensors" >"$T/tables" 2>"$T/err" || { bad "eval_tables.sh"; cat "$T/err"; }
cat "$T/tables"
$PY - "$T/tables" <<'PYEOF' && ok "eval_tables.sh: both tables, real vs itself ~0, IS within [1, 10], real IS > 1.2" || bad "eval_tables.sh output"
import sys, re
t = open(sys.argv[1]).read()
def cell(row): return float(re.search(r"\| " + re.escape(row) + r" \| (\S+)", t).group(1))
assert abs(cell("real set 1 vs real set 1")) < 1e-4
assert cell("real set 1 vs real set 2") > 0 and cell("real set 1 vs generated set") > 0
for r in ["real set 1", "real set 2", "generated set"]:
    assert 1 <= cell(r) <= 10, r
assert "Fashion-FID" in t and "Fashion-IS" in t
assert cell("real set 1") > 1.2  # a classifier that learnt something is confident on real images
PYEOF
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
