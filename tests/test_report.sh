#!/bin/sh
# The run report (host/report.h) in a real browser: Debian's chromium, headless, loads the pages from
# file:// with --dump-dom (the DOM after the page's scripts ran) and --screenshot. A page opened with
# "#check" loads every image (lazy ones too) and writes into <body> how many images it has, how many
# are broken or still pending, how many script or resource errors happened and how many SVG plots it
# has. Checked:
#  - a short CycleGAN run's page: well-formed (xmllint, as XML), every image loads, no error, one plot
#    per loss family, "finished" at the last step, the step and the losses shown equal the last row of
#    losses.csv, grid history newest first, a screenshot that is not blank, no temporary file left;
#  - the same page made stale (running, last update long ago) says the run was killed;
#  - a VAE run stopped by a non-finite loss says so, with the loss named;
#  - a resume of the run whose page was deleted (a folder of an older clgan) gets a page with the old
#    and the new history;
#  - ./translate's page of 60 inputs: well-formed, rows past 48 lazy, every image loads, the step of
#    the checkpoint shown.
# As root (containers, CI) chromium's sandbox cannot start: --no-sandbox then.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_report_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { if [ "$1" = 1 ]; then echo "ok   $2"; pass=$((pass+1)); else echo "FAIL $2"; fail=$((fail+1)); fi; }
yes_if() { if "$@" >/dev/null 2>&1; then echo 1; else echo 0; fi; }

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ] || ! command -v xmllint >/dev/null; then
    echo "FAIL chromium and xmllint are needed (tools/setup.sh installs the Debian packages chromium and libxml2-utils)"
    exit 1
fi
nosandbox=""
[ "$(id -u)" -ne 0 ] || nosandbox=--no-sandbox
# browse URL [ARGS...]: the DOM after load (virtual time lets the page's timers run at once)
browse() {
    url=$1; shift
    timeout 60 "$CHROME" --headless $nosandbox --disable-gpu --hide-scrollbars --virtual-time-budget=3000 "$@" \
        --dump-dom "$url" 2>>"$T/chromium.err"
}
attr() { grep -o "$1=\"[^\"]*\"" "$2" | head -1 | sed 's/.*="\(.*\)"/\1/'; }
# the body's check attributes: images broken pending errors plots
body_ok() { # DOM, images expected, plots expected, what
    b=$(grep -o '<body[^>]*>' "$1" | head -1)
    echo "     $4: $b"
    check "$(yes_if grep -q 'data-checked="1"' "$1")" "$4: the page's check ran"
    check "$([ "$(attr data-images "$1")" = "$2" ] && echo 1 || echo 0)" "$4: $2 images ($(attr data-images "$1"))"
    check "$([ "$(attr data-broken "$1")" = 0 ] && [ "$(attr data-pending "$1")" = 0 ] && echo 1 || echo 0)" \
        "$4: every image loaded (broken $(attr data-broken "$1"), pending $(attr data-pending "$1"))"
    check "$([ "$(attr data-errors "$1")" = 0 ] && echo 1 || echo 0)" "$4: no script or resource error"
    check "$([ "$(attr data-plots "$1")" = "$3" ] && echo 1 || echo 0)" "$4: $3 SVG plots ($(attr data-plots "$1"))"
}
# the step and each loss in DOM $1 equal the last row of CSV $2
last_row_ok() {
    hdr=$(head -1 "$2"); row=$(tail -1 "$2"); ok=1
    shown=$(grep -o 'id="last-step">[^<]*' "$1" | sed 's/.*>//')
    [ "$shown" = "${row%%,*}" ] || ok=0
    i=2
    for name in $(echo "$hdr" | cut -d, -f2- | tr , ' '); do
        want=$(echo "$row" | cut -d, -f$i)
        got=$(grep -o "data-loss=\"$name\">[^<]*" "$1" | sed 's/.*>//')
        [ "$got" = "$want" ] || { ok=0; echo "     $name: page '$got', losses.csv '$want'"; }
        i=$((i+1))
    done
    check $ok "$3: step $shown and losses shown = the last row of losses.csv ($row)"
}

./make_edges2fashion --out "$T/data" --train 8 --val 60 --size 16 >"$T/make.log" 2>&1
check $(( $? == 0 )) "make_edges2fashion: a tiny data set"
tiny="--set data.dataroot=$T/data --set cyclegan.ngf=4 --set cyclegan.ndf=4 --set cyclegan.n_blocks=1
      --set cyclegan.n_layers_d=1 --set data.load_size=16 --set data.crop_size=16 --set cyclegan.pool_size=3
      --set run.log_every=4 --set cyclegan.grid_every=4"
# shellcheck disable=SC2086
./train -c ini/cyclegan.ini --set run.dir="$T/cg" $tiny >"$T/cg.log" 2>&1
check $(( $? == 0 )) "CycleGAN: 2 epochs of 8 steps"
page="$T/cg/index.html"
check "$(yes_if xmllint --noout "$page")" "run page is well-formed (xmllint)"
ls "$T/cg" | grep -q tmp && ok=0 || ok=1
check $ok "no temporary file left in the run folder"
grep -Eq '(src|href)="(https?:)?//' "$page" "$T/cg/index.html" && ok=0 || ok=1
check $ok "the page loads nothing from the network (no http or // link)"
browse "file://$page#check" --window-size=1100,1400 --screenshot="$T/shot.png" >"$T/cg.dom"
ngrids=$(ls "$T/cg" | grep '\.png$' | grep -vc '^losses\.png$')
body_ok "$T/cg.dom" "$ngrids" 3 "run page"
check "$(yes_if grep -q 'data-state="finished"[^>]*>finished: step 16 of 16' "$T/cg.dom")" "run page: finished, step 16 of 16"
last_row_ok "$T/cg.dom" "$T/cg/losses.csv" "run page"
order=$(grep -o '<summary>[^<]*' "$T/cg.dom" | sed 's/<summary>//' | grep -E '^(epoch|step)' | tr '\n' '|')
check "$([ "$order" = "epoch 2 (step 16)|step 12|epoch 1 (step 8)|step 4|" ] && echo 1 || echo 0)" "grid history newest first ($order)"
check "$(yes_if /usr/bin/python3 -c "
from PIL import Image
im = Image.open('$T/shot.png').convert('RGB').resize((110, 140))
px = list(im.getdata())
bg = max(set(px), key=px.count)
off = sum(1 for p in px if sum(abs(a - b) for a, b in zip(p, bg)) > 60) / len(px)
print('screenshot: %d colours, %.0f%% away from the background' % (len(set(px)), 100 * off))
assert len(set(px)) > 50 and off > 0.05
")" "screenshot of the run page is not blank"

# the same page, as if the run had died long ago while running
sed -e 's/data-state="finished"/data-state="running"/' -e 's/data-updated="[0-9]*"/data-updated="1000"/' "$page" >"$T/cg/stale.html"
browse "file://$T/cg/stale.html" >"$T/stale.dom"
check "$(yes_if grep -q 'data-state="killed"[^>]*>killed or stalled' "$T/stale.dom")" "a page not updated within its cadence says killed"
rm -f "$T/cg/stale.html"

# a non-finite loss
./train -c ini/vae.ini --set run.dir="$T/nan" --set data.train_limit=256 --set train.batch_size=64 --set eval.every=1000000 \
    --set train.lr=10 --set vae.kl_weight=1e6 --set train.max_steps=40 --set run.log_every=4 >"$T/nan.log" 2>&1
check $(( $? == 3 )) "VAE with lr 10: stopped by a non-finite loss (exit 3)"
check "$(yes_if xmllint --noout "$T/nan/index.html")" "stopped page is well-formed (xmllint)"
browse "file://$T/nan/index.html#check" >"$T/nan.dom"
check "$(yes_if grep -Eq "data-state=\"stopped\"[^>]*>stopped: loss '[a-z]+' is (nan|inf|-inf) at step [0-9]+" "$T/nan.dom")" \
    "stopped page: $(grep -o 'stopped: [^<]*' "$T/nan.dom")"
last_row_ok "$T/nan.dom" "$T/nan/losses.csv" "stopped page"

# resume (one more epoch) after deleting the page, as a folder of an older clgan has none
rm -f "$page"
# shellcheck disable=SC2086
./train --resume "$T/cg" $tiny --set train.epochs=2 >"$T/resume.log" 2>&1
check $(( $? == 0 )) "resume to 3 epochs"
check "$(yes_if xmllint --noout "$page")" "resumed run has a well-formed page"
check "$(yes_if grep -q 'resumed at step 16' "$page")" "resumed page says where it resumed"
check "$(grep -q 'translations_epoch003.png' "$page" && grep -q 'translations_step0000004.png' "$page" && echo 1 || echo 0)" \
    "resumed page keeps the old history (step 4) beside the new (epoch 3)"
check "$(yes_if grep -q 'finished: step 24 of 24' "$page")" "resumed page: finished at step 24"
last_row_ok "$page" "$T/cg/losses.csv" "resumed page"

# ./translate
./translate --checkpoint "$T/cg/checkpoint.safetensors" --input "$T/data/val" --output "$T/out" --half left >"$T/tr.log" 2>&1
check $(( $? == 0 )) "translate 60 images"
check "$(yes_if xmllint --noout "$T/out/index.html")" "translation page is well-formed (xmllint)"
lazy=$(grep -o 'loading="lazy"' "$T/out/index.html" | wc -l)
check "$([ "$lazy" -eq 24 ] && echo 1 || echo 0)" "rows 49-60 load lazily ($lazy lazy images, want 24)"
browse "file://$T/out/index.html#check" >"$T/tr.dom"
body_ok "$T/tr.dom" 120 0 "translation page"
rows=$(grep -o '<td class="name">[^<]*' "$T/tr.dom" | wc -l)
check "$([ "$rows" -eq 60 ] && echo 1 || echo 0)" "translation page: 60 rows ($rows)"
check "$(yes_if grep -q 'id="ckpt-step">24<' "$T/tr.dom")" "translation page: the checkpoint's step (24)"
echo "$pass checks, $fail failed"
[ $fail -eq 0 ]
