#!/bin/sh
# Seed 003's evaluation tables (real vs real, real vs generated) for a VAE or GAN trained on
# Fashion-MNIST, with the Fashion classifier's figures (Fashion-FID, Fashion-IS; README "Evaluation"):
#
#   sh tools/eval_tables.sh RUN_DIR [N] [--weights FILE] [--csv FILE]
#
# N (default 1000, as the seed's sets): real set 1 = the first N test images, real set 2 = N test
# images from 5000 on (no overlap), the generated set = N samples of the run's checkpoint
# (./evaluate samples, seed 1). Prints the two tables as Markdown; --csv also keeps every figure
# (./evaluate's rows). The feature network is the Fashion classifier (--weights, or ./evaluate's
# default runs/fashion_classifier/checkpoint.safetensors).
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,12p "$0" >&2; exit 1; }
RUN=$1; shift
N=1000
case "${1:-}" in [0-9]*) N=$1; shift ;; esac
EXTRA="$*"
TEST=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ "$N" -le 5000 ] || { echo "eval_tables: N is at most 5000 (two disjoint halves of the 10000 test images)" >&2; exit 1; }
T=$(mktemp -d /tmp/clgan_tables_XXXXXX)
trap 'rm -rf "$T"' EXIT
R1="idx:$TEST:0:$N" R2="idx:$TEST:5000:$N"
./evaluate samples "$RUN" "$N" "$T/generated" >&2
# the figure: the last line's second field
fig() { ./evaluate "$@" $EXTRA | tee -a "$T/log" | tail -n 1 | cut -d' ' -f2; }
f11=$(fig fid "$R1" "$R1"); f12=$(fig fid "$R1" "$R2"); f1g=$(fig fid "$R1" "$T/generated")
i1=$(fig is "$R1"); i2=$(fig is "$R2"); ig=$(fig is "$T/generated")
std() { grep "splits of" "$T/log" | sed -n "${1}p" | sed 's/.*std \([0-9.]*\).*/\1/'; }
model=$(grep -m1 '^type' "$RUN/config.ini" | sed 's/.*= *//')
echo "Run $RUN ($model), $N images per set; network: $(grep -m1 '^net ' "$T/log" | cut -d' ' -f2-)"
echo
echo "| Image set pair | Fashion-FID |"
echo "|---|---|"
echo "| real set 1 vs real set 1 | $f11 |"
echo "| real set 1 vs real set 2 | $f12 |"
echo "| real set 1 vs generated set | $f1g |"
echo
echo "| Image set | Fashion-IS (mean, std over 10 splits) |"
echo "|---|---|"
echo "| real set 1 | $i1 ($(std 1)) |"
echo "| real set 2 | $i2 ($(std 2)) |"
echo "| generated set | $ig ($(std 3)) |"
