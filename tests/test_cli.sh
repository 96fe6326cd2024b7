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

# A fresh run into a folder that holds a run goes next to it, never over it.
./train -c ini/vae.ini --set run.dir="$T/nan" --set train.max_steps=2 $small >"$T/out" 2>&1
if grep -q "already holds a run" "$T/out" && [ -f "$T/nan-2/checkpoint.safetensors" ] && cmp -s "$T/good.safetensors" "$T/nan/checkpoint.safetensors"; then
    echo "ok   a second run went to $T/nan-2, the first one untouched"; pass=$((pass+1))
else
    echo "FAIL second run into an existing folder:"; cat "$T/out"; fail=$((fail+1))
fi
echo "$pass checks, $fail failed"
[ $fail -eq 0 ]
