#!/usr/bin/env bash
# ./evaluate end to end: a tiny Fashion classifier trained by ./train (its eval.csv plotted as eval.png,
# listed on its run page), then each subcommand's last line (fid, is, diversity, mse), the figures
# checked where a reference is at hand (a set against itself, the pixel-l1 diversity against numpy,
# mse against the VAE run's own eval.csv), the CSV row, --run's new eval.csv column and redrawn plot,
# and the error messages for bad input. No timings.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_evaluate_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
PY=/usr/bin/python3
TEST_IDX=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
expect_fail() { # name, expected substring of stderr, command...
    local name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -ne 0 ] && grep -qF -- "$want" "$T/err"; then ok "$name: exit $rc: $(head -c 200 "$T/err" | head -1)"
    else bad "$name: exit $rc, wanted '$want' in stderr:"; cat "$T/err"; fi
}
# runs a subcommand; its last line must match the pattern; prints and keeps the figure in $fig
expect_last() { # name, pattern (ERE of the whole last line), command...
    local name=$1 pat=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    local last; last=$(tail -n 1 "$T/out")
    fig=$(echo "$last" | awk '{print $2}')
    if [ $rc -eq 0 ] && echo "$last" | grep -Eq "^$pat$"; then ok "$name: '$last'"
    else bad "$name: exit $rc, last line '$last' (want /$pat/)"; cat "$T/err"; fi
}
NUM='-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?'

# a small classifier: 1 epoch of 1280 images (40 steps), evaluated every 8 steps
./train -c ini/fashion_classifier.ini --set run.dir="$T/fc" --set data.train_limit=1280 --set train.epochs=1 \
    --set train.batch_size=32 --set train.lr=3e-3 --set classifier.conv1=8 --set classifier.conv2=8 \
    --set classifier.feat=32 --set eval.every=8 --set eval.images=200 >"$T/train.out" 2>&1 || { bad "training the tiny classifier"; cat "$T/train.out"; }
grep -q "epoch 1 done: test accuracy" "$T/train.out" && ok "the classifier reports its test accuracy: $(grep 'test accuracy' "$T/train.out" | tail -1)" \
    || bad "no test accuracy line"
head -1 "$T/fc/eval.csv" | grep -q "^step,epoch,images,test_loss,test_accuracy$" && ok "eval.csv header" || bad "eval.csv header: $(head -1 "$T/fc/eval.csv")"
[ -s "$T/fc/eval.png" ] && $PY -c "import PIL.Image as I,sys; im=I.open(sys.argv[1]); sys.exit(0 if im.size[0]==800 and im.size[1]>=320*2 else 1)" "$T/fc/eval.png" \
    && ok "eval.png written (800 wide, a panel per metric)" || bad "eval.png missing or the wrong size"
grep -q 'href="eval.png"' "$T/fc/index.html" && ok "the run page links eval.png" || bad "the run page does not link eval.png"
grep -q 'src="eval.png"' "$T/fc/index.html" && bad "eval.png shown as a grid" || ok "eval.png not listed among the grids"
W="$T/fc/checkpoint.safetensors"

expect_last "fid of two halves of the test set" "fashion-fid $NUM" ./evaluate fid "idx:$TEST_IDX:0:300" "idx:$TEST_IDX:5000:300" --weights "$W" --csv "$T/e.csv"
fid_halves=$fig
expect_last "fid of a set with itself" "fashion-fid $NUM" ./evaluate fid "idx:$TEST_IDX:0:300" "idx:$TEST_IDX:0:300" --weights "$W"
$PY -c "import sys; sys.exit(0 if abs(float(sys.argv[1])) < 1e-6 and float(sys.argv[2]) > 1e-4 else 1)" "$fig" "$fid_halves" \
    && ok "fid(A, A) = $fig ~ 0 < fid(A, B) = $fid_halves" || bad "fid(A, A) = $fig, fid(A, B) = $fid_halves"
expect_last "is of 300 test images" "fashion-is $NUM" ./evaluate is "idx:$TEST_IDX:0:300" --weights "$W" --splits 3 --csv "$T/e.csv"
$PY -c "import sys; v=float(sys.argv[1]); sys.exit(0 if 1 <= v <= 10 else 1)" "$fig" && ok "1 <= IS = $fig <= 10 classes" || bad "IS $fig outside [1, 10]"
[ "$(wc -l < "$T/e.csv")" = 3 ] && head -1 "$T/e.csv" | grep -q "^metric,value,std,images,net,weights,set_a,set_b$" && \
    grep -q "^fashion-is,.*,300,fashion," "$T/e.csv" && ok "--csv: header and a row per figure" || { bad "--csv rows:"; cat "$T/e.csv"; }

# image folders: 12 grey PNGs, and ./translate --samples names (3 inputs x 4 samples, plus files diversity skips)
$PY - "$T" <<'PYEOF'
import sys, numpy as np
from PIL import Image
t = sys.argv[1]
import os
os.makedirs(t + "/set", exist_ok=True); os.makedirs(t + "/samples", exist_ok=True)
rng = np.random.default_rng(3)
for i in range(12):
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), "L").save(f"{t}/set/im{i:02d}.png")
d = []
for s in ["a", "b_c", "d"]:
    imgs = [rng.integers(0, 256, (16, 12, 3), dtype=np.uint8) for k in range(4)]
    for k, im in enumerate(imgs):
        Image.fromarray(im, "RGB").save(f"{t}/samples/{s}_z{k+1}.png")
    Image.fromarray(imgs[0], "RGB").save(f"{t}/samples/{s}.png")       # the plain output: not a sample
    Image.fromarray(np.zeros((16, 48, 3), np.uint8), "RGB").save(f"{t}/samples/{s}_grid.png")
    x = [im.astype(np.float64) / 255 for im in imgs]
    d.append(np.mean([np.abs(x[i] - x[j]).mean() for i in range(4) for j in range(i + 1, 4)]))
open(t + "/div_ref", "w").write("%.9g\n" % np.mean(d))
PYEOF
expect_last "is of a folder of PNGs" "fashion-is $NUM" ./evaluate is "$T/set" --weights "$W" --splits 2
expect_last "fid of a folder against IDX images" "fashion-fid $NUM" ./evaluate fid "$T/set" "idx:$TEST_IDX:0:50" --weights "$W"
expect_last "diversity (pixel-l1) of 3 inputs x 4 samples" "pixel-l1-diversity $NUM" ./evaluate diversity "$T/samples" --net pixel-l1
$PY -c "import sys; a, b = float(sys.argv[1]), float(open(sys.argv[2]).read()); sys.exit(0 if abs(a - b) < 1e-5 * b else 1)" "$fig" "$T/div_ref" \
    && ok "pixel-l1 diversity $fig = numpy's $(cat "$T/div_ref")" || bad "pixel-l1 diversity $fig, numpy $(cat "$T/div_ref")"

# mse of a tiny VAE run (2 epochs of 64 images: each ends with the whole test set) and --run
./train -c ini/vae.ini --set run.dir="$T/vae" --set data.train_limit=64 --set train.batch_size=64 --set train.epochs=2 \
    --set vae.hidden=16 --set eval.every=1000000 --set run.log_every=1 >"$T/vae.out" 2>&1 || { bad "training the tiny VAE"; cat "$T/vae.out"; }
expect_last "mse of a VAE run folder" "test_mse $NUM" ./evaluate mse "$T/vae"
want=$(tail -1 "$T/vae/eval.csv" | cut -d, -f4)
$PY -c "import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 1e-6 * float(sys.argv[2]) else 1)" "$fig" "$want" \
    && ok "mse $fig = the run's last eval.csv test_mse $want" || bad "mse $fig, the run's eval.csv says $want"
expect_last "mse of its checkpoint.safetensors" "test_mse $NUM" ./evaluate mse "$T/vae/checkpoint.safetensors"
rows=$(wc -l < "$T/vae/eval.csv")
expect_last "fid --run adds to the run's eval.csv" "fashion-fid $NUM" ./evaluate fid "idx:$TEST_IDX:0:100" "idx:$TEST_IDX:100:100" --weights "$W" --run "$T/vae"
head -1 "$T/vae/eval.csv" | grep -q "^step,epoch,images,test_mse,fashion_fid$" && [ "$(wc -l < "$T/vae/eval.csv")" = $((rows + 1)) ] && \
    tail -1 "$T/vae/eval.csv" | grep -Eq "^2,2,200,nan,$NUM$" && sed -n 2p "$T/vae/eval.csv" | grep -q ",nan$" \
    && ok "--run: a fashion_fid column, nan in the earlier rows, a row at step 2" || { bad "--run eval.csv:"; cat "$T/vae/eval.csv"; }
[ -s "$T/vae/eval.png" ] && [ "$T/vae/eval.png" -nt "$T/vae/checkpoint.safetensors" ] && ok "--run redrew eval.png" || bad "--run did not redraw eval.png"

# bad input
expect_fail "no subcommand" "no subcommand" ./evaluate
expect_fail "unknown subcommand" "unknown subcommand 'fidd'" ./evaluate fidd a b
expect_fail "fid with one set" "fid takes 2 arguments, got 1" ./evaluate fid "$T/set"
expect_fail "bad --splits" "--splits wants an integer >= 1, got 'x'" ./evaluate is "$T/set" --splits x
expect_fail "unknown option" "unknown option or missing value: --bogus" ./evaluate is "$T/set" --bogus
expect_fail "unknown net" "unknown feature network 'alexnet' (known: fashion" ./evaluate is "$T/set" --net alexnet --weights "$W"
expect_fail "missing folder" "$T/nope" ./evaluate is "$T/nope" --weights "$W"
expect_fail "bad idx spec" "an IDX set is idx:FILE" ./evaluate is "idx:$TEST_IDX:x" --weights "$W"
expect_fail "more splits than images" "needs at least one image per split" ./evaluate is "idx:$TEST_IDX:0:5" --weights "$W"
expect_fail "mixed image sizes" "a set's images must all have one size" ./evaluate is "$T/samples" --weights "$W"
expect_fail "diversity with a feature-only net" "computes no distance between images" ./evaluate diversity "$T/samples" --weights "$W"
expect_fail "diversity without samples" "no ./translate --samples outputs" ./evaluate diversity "$T/set" --net pixel-l1
expect_fail "fid with a distance-only net" "computes no features" ./evaluate fid "$T/set" "$T/set" --net pixel-l1
expect_fail "weights of another model" "not a fashion_classifier checkpoint" ./evaluate is "$T/set" --weights "$T/vae/checkpoint.safetensors"
expect_fail "no default weights" "ini/fashion_classifier.ini" sh -c "cd '$T' && '$PWD/evaluate' is '$T/set'"
expect_fail "mse of a classifier" "mse takes a VAE checkpoint" ./evaluate mse "$T/fc"
expect_fail "mse of another file" "give a run folder or its checkpoint.safetensors" ./evaluate mse "$T/e.csv"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
