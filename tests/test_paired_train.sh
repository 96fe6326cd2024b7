#!/usr/bin/env bash
# pix2pix and BicycleGAN end to end on the embedded edges2fashion pairs (data/edges2fashion; tools/setup.sh
# derives it): short runs whose L1 loss must fall (both fit the pairs), run folders with grids, plot and
# checkpoint; ./translate on their checkpoints (one output per input, BicycleGAN's --samples with the
# encoded output and the per-input grid of the right sizes); resumed runs equal straight ones bit for bit;
# and the refusals: an odd BicycleGAN batch, ResNet-18 batch norms left one value per channel,
# --samples on a pix2pix checkpoint, BtoA on a one-way checkpoint.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_paired_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { if [ "$1" = 1 ]; then echo "ok   $2"; pass=$((pass+1)); else echo "FAIL $2"; fail=$((fail+1)); fi; }
colmean() { awk -F, -v c="$2" -v a="$3" -v b="$4" 'NR>1 && NR-1>=a && NR-1<=b {s+=$c; n++} END {if (n) printf "%.4f", s/n; else printf "none"}' "$1"; }
# 1 if b < f a, all numbers
falls() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {print (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b < f * a)}'; }
# width and height of a PNG
pngsize() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%d %d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
if [ ! -d data/edges2fashion/train ]; then echo "FAIL data/edges2fashion missing (tools/setup.sh)"; exit 1; fi

small="--set data.train_limit=16 --set run.log_every=10"
./train -c ini/pix2pix.ini --set run.dir="$T/p2p" --set pix2pix.ngf=16 --set pix2pix.ndf=16 --set train.max_steps=60 \
    --set train.epochs=4 --set pix2pix.epochs_decay=0 \
    $small >"$T/p2p.log" 2>&1
check $(( $? == 0 )) "pix2pix: 60 steps ran"
l0=$(colmean "$T/p2p/losses.csv" 3 1 5); l1=$(colmean "$T/p2p/losses.csv" 3 51 60)
check "$(falls "$l0" "$l1" 0.8)" "pix2pix: G_L1 falls by a fifth or more (steps 1-5 $l0 -> steps 51-60 $l1)"
for f in translations.png losses.png checkpoint.safetensors config.ini; do
    [ -s "$T/p2p/$f" ]; check $((1 - $?)) "pix2pix run folder has $f"
done

./train -c ini/bicyclegan.ini --set run.dir="$T/bic" --set bicyclegan.ngf=16 --set bicyclegan.ndf=16 \
    --set bicyclegan.encoder=resnet_small --set bicyclegan.nef=16 --set bicyclegan.lambda_div=0.05 \
    --set train.max_steps=60 --set train.epochs=8 --set bicyclegan.epochs_decay=0 $small >"$T/bic.log" 2>&1
check $(( $? == 0 )) "BicycleGAN: 60 steps ran"
head -1 "$T/bic/losses.csv" | grep -q "G_GAN,G_GAN2,D,D2,G_L1,z_L1,kl,div"
check $(( $? == 0 )) "BicycleGAN: losses.csv has every loss term ($(head -1 "$T/bic/losses.csv"))"
l0=$(colmean "$T/bic/losses.csv" 6 1 10); l1=$(colmean "$T/bic/losses.csv" 6 51 60)
check "$(falls "$l0" "$l1" 0.9)" "BicycleGAN: G_L1 (one pair a step) falls by a tenth or more (steps 1-10 $l0 -> 51-60 $l1)"
[ -s "$T/bic/translations.png" ] && [ "$(pngsize "$T/bic/translations.png")" = "$((8 * 64 + 9 * 2 + 8)) $((4 * 64 + 5 * 2))" ]
check $(( $? == 0 )) "BicycleGAN grid: 4 rows of input, target, encoded and 5 samples ($(pngsize "$T/bic/translations.png"))"

# A/B folders (data.layout = unaligned): trainA/ and trainB/ paired by sorted name, here the halves of
# eight edges2fashion pairs written by the PNG tool below
/usr/bin/python3 - "$T/ab" <<'PY'
import os, sys
from PIL import Image
root = sys.argv[1]
for d in ("trainA", "trainB"):
    os.makedirs(os.path.join(root, d))
for i in range(8):
    im = Image.open("data/edges2fashion/train/%05d.png" % i)
    w, h = im.size
    im.crop((0, 0, w // 2, h)).save(os.path.join(root, "trainA", "p%02d.png" % i))
    im.crop((w // 2, 0, w, h)).save(os.path.join(root, "trainB", "p%02d.png" % i))
PY
./train -c ini/pix2pix.ini --set run.dir="$T/abrun" --set data.dataroot="$T/ab" --set data.layout=unaligned \
    --set pix2pix.ngf=8 --set pix2pix.ndf=8 --set train.max_steps=4 >"$T/ab.log" 2>&1
check $(( $? == 0 )) "pix2pix on A/B folders (trainA/, trainB/): 4 steps ran"
grep -q "8 pairs" "$T/ab.log"; check $(( $? == 0 )) "pix2pix on A/B folders: 8 pairs found ($(grep -o '[0-9]* pairs' "$T/ab.log"))"

# the default encoder (ResNet-18, batch norm on one image per branch) and G_Unet_add_all at full width
./train -c ini/bicyclegan.ini --set run.dir="$T/r18" --set train.max_steps=6 --set run.log_every=2 \
    --set data.train_limit=16 >"$T/r18.log" 2>&1
check $(( $? == 0 )) "BicycleGAN with the default configuration (ResNet-18 encoder): 6 steps ran with finite losses"
[ -s "$T/r18/checkpoint.safetensors" ]; check $(( $? == 0 )) "BicycleGAN default: checkpoint written"

./translate --checkpoint "$T/p2p/checkpoint.safetensors" --input data/edges2fashion/val/00000.png \
    --input data/edges2fashion/val/00001.png --half left --output "$T/tp" >"$T/tp.log" 2>&1
check $(( $? == 0 )) "translate: pix2pix checkpoint"
[ "$(pngsize "$T/tp/00001.png")" = "64 64" ]; check $(( $? == 0 )) "translate: pix2pix output is 64x64"
./translate --checkpoint "$T/bic/checkpoint.safetensors" --input data/edges2fashion/val/00000.png \
    --input data/edges2fashion/val/00001.png --half left --output "$T/tb" --samples 3 >"$T/tb.log" 2>&1
check $(( $? == 0 )) "translate --samples 3: BicycleGAN checkpoint"
n=$(ls "$T/tb" | grep -c '\.png$')
check $(( n == 12 )) "translate --samples 3 --half left: NAME, NAME_z1..3, NAME_encoded, NAME_grid per input ($n PNGs)"
[ -s "$T/tb/index.html" ] && grep -q '00000_z3.png' "$T/tb/index.html"
check $(( $? == 0 )) "translate --samples: index.html shows the samples beside each input"
[ "$(pngsize "$T/tb/00000_grid.png")" = "$((6 * 64 + 7 * 2 + 8)) $((64 + 4))" ]
check $(( $? == 0 )) "translate: the grid holds input, target, encoded and 3 samples ($(pngsize "$T/tb/00000_grid.png"))"
cmp -s "$T/tb/00000_z1.png" "$T/tb/00000_z2.png"
check $(( $? != 0 )) "translate: two random z give two different outputs"

# resume: 12 steps in one go equal 6, a checkpoint, --resume and 6 more, tensor for tensor, bit for bit
# (data order, crops and flips, dropout masks, eps and z all follow from the seed and the step)
same_tensors() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
sys.path.insert(0, "tests")
from parity_io import load_safetensors
a, _ = load_safetensors(sys.argv[1]); b, _ = load_safetensors(sys.argv[2])
bad = [k for k in a if k not in b or a[k].tobytes() != b[k].tobytes()]
print(len(a), "tensors;", "all identical" if not bad and len(a) == len(b) else "differ: " + " ".join(bad[:3]))
sys.exit(1 if bad or len(a) != len(b) else 0)
PY
}
for m in pix2pix bicyclegan; do
    w="--set $m.ngf=8 --set $m.ndf=8 --set data.train_limit=16 --set train.epochs=2 --set run.log_every=3"
    [ $m = bicyclegan ] && w="$w --set bicyclegan.encoder=resnet_small --set bicyclegan.nef=8"
    ./train -c ini/$m.ini --set run.dir="$T/${m}_straight" --set train.max_steps=12 $w >"$T/r1.log" 2>&1 &&
        ./train -c ini/$m.ini --set run.dir="$T/${m}_split" --set train.max_steps=6 $w >"$T/r2.log" 2>&1 &&
        ./train --resume "$T/${m}_split" --set train.max_steps=12 >"$T/r3.log" 2>&1
    check $(( $? == 0 )) "$m: 12 straight steps; 6 steps then --resume to 12"
    grep -q "resuming .* at step 6 " "$T/r3.log"; check $(( $? == 0 )) "$m: the second run resumed at step 6"
    msg=$(same_tensors "$T/${m}_straight/checkpoint.safetensors" "$T/${m}_split/checkpoint.safetensors")
    check $(( $? == 0 )) "$m: the resumed run's checkpoint equals the straight one's ($msg)"
done

./train -c ini/bicyclegan.ini --set run.dir="$T/odd" --set train.batch_size=3 >"$T/odd.log" 2>&1
rc=$?
check $(( rc != 0 )) "an odd BicycleGAN batch is refused: $(tail -1 "$T/odd.log")"
[ ! -e "$T/odd" ]; check $(( $? == 0 )) "nothing was written for the refused run"
./train -c ini/bicyclegan.ini --set run.dir="$T/r18_b2" --set bicyclegan.encoder=resnet18 --set data.crop_size=32 \
    --set data.load_size=32 --set bicyclegan.where_add=input --set train.batch_size=2 >"$T/r18_b2.log" 2>&1
rc=$?
grep -q "one value per channel" "$T/r18_b2.log"
check $(( rc != 0 && $? == 0 )) "ResNet-18 at 32x32 with batch 2 is refused: $(tail -1 "$T/r18_b2.log")"
[ ! -e "$T/r18_b2" ]; check $(( $? == 0 )) "nothing was written for that run"
./translate --checkpoint "$T/p2p/checkpoint.safetensors" --input data/edges2fashion/val/00000.png --output "$T/x" \
    --samples 2 >"$T/x.log" 2>&1
check $(( $? != 0 )) "--samples on a pix2pix checkpoint is refused: $(tail -1 "$T/x.log")"
./translate --checkpoint "$T/bic/checkpoint.safetensors" --input data/edges2fashion/val/00000.png --output "$T/y" \
    --direction BtoA >"$T/y.log" 2>&1
check $(( $? != 0 )) "BtoA on a BicycleGAN checkpoint is refused: $(tail -1 "$T/y.log")"
echo "$pass checks, $fail failed"
[ $fail -eq 0 ]
