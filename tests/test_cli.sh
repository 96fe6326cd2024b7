#!/usr/bin/env bash
# Bad input through ./train: each case must fail with a clear message (file:line for INI errors,
# the path for missing files), a non-zero exit, and lose nothing already written. Also the NaN stop.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_cli_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
expect_fail() { # name, expected substring of stderr, command...
    local name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -ne 0 ] && grep -qF -- "$want" "$T/err"; then
        echo "ok   $name: exit $rc: $(head -c 300 "$T/err" | head -3)"; pass=$((pass+1))
    else
        echo "FAIL $name: exit $rc, wanted '$want' in stderr:"; cat "$T/err"; fail=$((fail+1))
    fi
}
small="--set data.train_limit=256 --set train.batch_size=64 --set eval.every=1000000 --set vae.hidden=16"

printf '[model]\ntype = vae\n[train]\nepoch = 3\n' > "$T/unknown_key.ini"
expect_fail "unknown key" "unknown_key.ini:4: unknown key 'epoch' in [train]" ./train -c "$T/unknown_key.ini"
printf '[model]\ntype = vae\n\n[trian]\nepochs = 3\n' > "$T/unknown_section.ini"
expect_fail "unknown section" "unknown_section.ini:4: unknown section [trian]" ./train -c "$T/unknown_section.ini"
printf '[model]\ntype = vae\n[train]\nlr = fast\n' > "$T/bad_value.ini"
expect_fail "malformed value" "bad_value.ini:4: train.lr = 'fast'" ./train -c "$T/bad_value.ini"
printf '[model]\ntype = vae\n[train]\nbatch_size = 0\n' > "$T/range.ini"
expect_fail "out of range" "range.ini:4: train.batch_size = 0" ./train -c "$T/range.ini"
printf '[model]\ntype = vae\n[train]\nthis line has no equals sign\n' > "$T/syntax.ini"
expect_fail "syntax error" "syntax.ini:4:" ./train -c "$T/syntax.ini"
printf '[model]\ntype = gan9000\n' > "$T/model.ini"
expect_fail "unknown model" "gan9000 is not a model" ./train -c "$T/model.ini"
expect_fail "missing ini" "$T/nope.ini: cannot open" ./train -c "$T/nope.ini"
expect_fail "bad --set" "--set train.epochs=ten" ./train -c ini/vae.ini --set train.epochs=ten
expect_fail "unknown device" "no OpenCL device matches 'no-such-gpu'" ./train -c ini/vae.ini -d no-such-gpu --set run.dir="$T/dev"
[ ! -e "$T/dev" ] && { echo "ok   unknown device left no run folder"; pass=$((pass+1)); } || { echo "FAIL unknown device created $T/dev"; fail=$((fail+1)); }
expect_fail "missing data" "$T/missing-idx.gz: cannot open" ./train -c ini/vae.ini --set run.dir="$T/d1" --set data.train_images="$T/missing-idx.gz"
head -c 5000 /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz > "$T/cut.gz"
expect_fail "truncated data" "$T/cut.gz" ./train -c ini/vae.ini --set run.dir="$T/d2" --set data.test_images="$T/cut.gz" $small
expect_fail "resume without checkpoint" "no checkpoint" ./train --resume "$T/nothing-here"
expect_fail "--set model.type is not ignored" "nosuchmodel is not a model" ./train -c ini/vae.ini --set model.type=nosuchmodel
expect_fail "cross-key check before the run folder" "wgan-gp needs gan.d_batchnorm = false" ./train -c ini/dcgan.ini --set gan.loss=wgan-gp --set gan.d_batchnorm=true --set run.dir="$T/xk"
[ ! -e "$T/xk" ] && { echo "ok   a forbidden key combination left no run folder"; pass=$((pass+1)); } || { echo "FAIL a failed cross-key check created $T/xk"; fail=$((fail+1)); }
# a bare INI name is found in ini/ from any folder (here: the test's temporary folder)
root=$(pwd)
(cd "$T" && "$root/train" -c vae.ini --set train.epochs=ten) >"$T/out" 2>"$T/err"
if grep -q "using .*ini/vae.ini" "$T/out" && grep -qF -- "--set train.epochs=ten" "$T/err"; then
    echo "ok   ./train -c vae.ini from another folder reads $root/ini/vae.ini"; pass=$((pass+1))
else
    echo "FAIL -c vae.ini from another folder:"; cat "$T/out" "$T/err"; fail=$((fail+1))
fi

# A run to step 8, then a resume whose learning rate makes the loss blow up: the run must stop
# with the step and the loss named, exit non-zero, and keep the step-8 checkpoint untouched.
nansmall="--set data.train_limit=256 --set train.batch_size=64 --set eval.every=1000000"
if ./train -c ini/vae.ini --set run.dir="$T/nan" --set train.max_steps=8 $nansmall >"$T/out" 2>&1; then
    cp "$T/nan/checkpoint.safetensors" "$T/good.safetensors"
    expect_fail "non-finite loss stops the run" "at step" ./train --resume "$T/nan" --set train.lr=10 --set vae.kl_weight=1e6 --set train.max_steps=400
    if grep -q "last good checkpoint" "$T/err" && cmp -s "$T/good.safetensors" "$T/nan/checkpoint.safetensors"; then
        echo "ok   the last good checkpoint (step 8) is kept byte for byte"; pass=$((pass+1))
    else
        echo "FAIL checkpoint changed or message missing"; cat "$T/err"; fail=$((fail+1))
    fi
else
    echo "FAIL short run failed:"; cat "$T/out"; fail=$((fail+1))
fi

# Resuming a run as another model is refused before anything is touched.
expect_fail "resume as another model" "that run trained model 'vae', not 'gan'" ./train --resume "$T/nan" -c ini/gan.ini
cmp -s "$T/good.safetensors" "$T/nan/checkpoint.safetensors" && { echo "ok   the refused resume left the checkpoint alone"; pass=$((pass+1)); } || { echo "FAIL refused resume changed the checkpoint"; fail=$((fail+1)); }

# A run killed before its first checkpoint leaves rows in losses.csv; the next run there drops them.
mkdir -p "$T/stale" && printf 'step,recon,kl,loss\n1,9,9,9\n2,9,9,9\n3,9,9,9\n' > "$T/stale/losses.csv"
./train -c ini/vae.ini --set run.dir="$T/stale" --set train.max_steps=2 --set run.log_every=1 $small >"$T/out" 2>&1
rows=$(tail -n +2 "$T/stale/losses.csv" | wc -l)
if [ "$rows" -eq 2 ] && ! grep -q '^3,' "$T/stale/losses.csv" && ! grep -q ',9,9,9' "$T/stale/losses.csv"; then
    echo "ok   a fresh run replaced the stale rows of a killed one (2 rows, steps 1-2)"; pass=$((pass+1))
else
    echo "FAIL stale rows kept:"; cat "$T/stale/losses.csv"; fail=$((fail+1))
fi

# Two runs never write one folder at once: while one holds runs/x, a resume of it is refused, naming the holder.
./train -c ini/vae.ini --set run.dir="$T/busy" --set train.max_steps=2 $small >"$T/out" 2>&1
cp "$T/busy/checkpoint.safetensors" "$T/busy.safetensors"
flock "$T/busy/.lock" sleep 30 & holder=$!
sleep 1
expect_fail "a folder in use" "is in use by another run" ./train --resume "$T/busy" --set train.max_steps=4
kill $holder 2>/dev/null; wait $holder 2>/dev/null
cmp -s "$T/busy.safetensors" "$T/busy/checkpoint.safetensors" && { echo "ok   the refused run left the folder's checkpoint alone"; pass=$((pass+1)); } || { echo "FAIL the refused run changed the checkpoint"; fail=$((fail+1)); }

# A fresh run into a folder that holds a run goes next to it, never over it.
./train -c ini/vae.ini --set run.dir="$T/nan" --set train.max_steps=2 $small >"$T/out" 2>&1
if grep -q "already holds a run" "$T/out" && [ -f "$T/nan-2/checkpoint.safetensors" ] && cmp -s "$T/good.safetensors" "$T/nan/checkpoint.safetensors"; then
    echo "ok   a second run went to $T/nan-2, the first one untouched"; pass=$((pass+1))
else
    echo "FAIL second run into an existing folder:"; cat "$T/out"; fail=$((fail+1))
fi
echo "$pass checks, $fail failed"
[ $fail -eq 0 ]
