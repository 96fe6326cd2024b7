#!/usr/bin/env bash
# Short GAN runs on real Fashion-MNIST: the losses must move the way adversarial training makes them
# move, and the run folder must hold the grids, plot and checkpoint.
#  - MLP GAN: D starts near 2 ln 2 = 1.386 (it cannot tell real from fake) and falls as it learns; the
#    non-saturating G loss -log D(G(z)) starts near ln 2 = 0.693 and rises while D is ahead.
#  - WGAN-GP: the critic's estimate C(x) - C(G(z)) of the Wasserstein distance becomes clearly positive.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_gan_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { if [ "$1" = 1 ]; then echo "ok   $2"; pass=$((pass+1)); else echo "FAIL $2"; fail=$((fail+1)); fi; }
# mean of column $2 over rows $3..$4 (1-based data rows) of CSV $1
colmean() { awk -F, -v c="$2" -v a="$3" -v b="$4" 'NR>1 && NR-1>=a && NR-1<=b {s+=$c; n++} END {printf "%.4f", s/n}' "$1"; }

./train -c ini/gan.ini --set run.dir="$T/gan" --set train.max_steps=80 --set run.log_every=20 >"$T/gan.log" 2>&1
check $(( $? == 0 )) "MLP GAN: 80 steps ran"
csv="$T/gan/losses.csv"
d0=$(colmean "$csv" 2 1 3); d1=$(colmean "$csv" 2 61 80); g0=$(colmean "$csv" 3 1 3); g1=$(colmean "$csv" 3 61 80)
echo "     D loss: steps 1-3 $d0, steps 61-80 $d1;  G loss: steps 1-3 $g0, steps 61-80 $g1"
check "$(awk -v d="$d0" 'BEGIN {print (d > 1.1 && d < 1.7)}')" "D loss starts near 2 ln 2 = 1.386 ($d0)"
check "$(awk -v a="$d0" -v b="$d1" 'BEGIN {print (b < a - 0.2)}')" "D loss falls ($d0 -> $d1)"
check "$(awk -v a="$g0" -v b="$g1" 'BEGIN {print (a > 0.4 && a < 1.0 && b > a + 0.2)}')" "G loss starts near ln 2 and rises ($g0 -> $g1)"
for f in samples.png interpolation.png losses.png checkpoint.safetensors config.ini; do
    [ -s "$T/gan/$f" ]; check $((1 - $?)) "run folder has $f"
done

./train -c ini/wgan_gp.ini --set run.dir="$T/wgp" --set train.max_steps=24 --set run.log_every=8 >"$T/wgp.log" 2>&1
check $(( $? == 0 )) "WGAN-GP: 24 generator steps (120 critic steps) ran"
csv="$T/wgp/losses.csv"
r1=$(colmean "$csv" 4 17 24); f1=$(colmean "$csv" 5 17 24); gp=$(colmean "$csv" 6 17 24)
echo "     steps 17-24: C(x) $r1, C(G(z)) $f1, gradient penalty $gp"
check "$(awk -v r="$r1" -v f="$f1" 'BEGIN {print (r - f > 0.5)}')" "critic separates real from fake: C(x) - C(G(z)) > 0.5"
check "$(awk -v g="$gp" 'BEGIN {print (g >= 0 && g < 10)}')" "gradient penalty finite and below lambda ($gp)"
# A folder of images as the data (grey PNGs here): the images are read at the architecture's size and
# the configured channels, before the networks are built from them.
mkdir -p "$T/imgs" && ./make_edges2fashion --out "$T/e2f" --train 8 --val 2 --size 32 >/dev/null 2>&1 && cp "$T"/e2f/train/*.png "$T/imgs/"
./train -c ini/gan.ini --set run.dir="$T/folder" --set data.source=folder --set data.folder="$T/imgs" \
    --set train.max_steps=3 --set train.batch_size=4 >"$T/folder.log" 2>&1
check $(( $? == 0 )) "MLP GAN on data.source = folder: 3 steps ran ($(grep -c . "$T/folder/losses.csv") lines in losses.csv)"
[ -s "$T/folder/samples.png" ]; check $((1 - $?)) "folder run wrote samples.png"
echo "$pass checks, $fail failed"
[ $fail -eq 0 ]
