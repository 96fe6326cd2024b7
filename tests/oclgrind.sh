#!/bin/sh
# make test-oclgrind: runs kernel test binaries on Oclgrind's simulated device with its API checks
# (--check-api), data-race detection (--data-races) and its always-on out-of-bounds checks. A test
# fails on a non-zero exit or on any message Oclgrind logs (it does not change the exit status
# itself, so its log is the verdict). CLGAN_TEST_SMALL=1 keeps the tests' small cases; a small
# simulated global memory keeps the tests' 64 MiB arenas small (every byte is shadowed).
# Usage: sh tests/oclgrind.sh build/tests/test_elem ...
set -u
if ! command -v oclgrind >/dev/null 2>&1; then
    echo "FAIL oclgrind is not installed (apt-get install oclgrind)"
    exit 1
fi
export CLGAN_TEST_SMALL=1
L=$(mktemp -d /tmp/clgan_oclgrind_XXXXXX)
trap 'rm -rf "$L"' EXIT
failed=""
for t in "$@"; do
    name=$(basename "$t")
    start=$(date +%s)
    oclgrind --check-api --data-races --global-mem-size 16777216 --log "$L/$name.log" "$t" >"$L/$name.out" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ] && [ ! -s "$L/$name.log" ]; then
        echo "ok   $name under Oclgrind: $(tail -n 1 "$L/$name.out"), no Oclgrind reports (${secs} s)"
    else
        echo "FAIL $name under Oclgrind: exit $rc, $(grep -c . "$L/$name.log" 2>/dev/null || echo 0) lines of Oclgrind reports (${secs} s)"
        tail -n 20 "$L/$name.out"
        head -n 60 "$L/$name.log" 2>/dev/null
        failed="$failed $name"
    fi
done
if [ -n "$failed" ]; then
    echo "Oclgrind failures:$failed"
    exit 1
fi
echo "all $# kernel tests clean under Oclgrind"
