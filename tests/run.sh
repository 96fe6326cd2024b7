#!/bin/sh
# Runs each test program given as an argument, prints its output, and closes with the summary line
# "N passed, N failed". Exit status is non-zero if any test failed.
pass=0; fail=0; failed=""
for t in "$@"; do
    name=$(basename "$t")
    echo "=== $name"
    start=$(date +%s)
    if "$t"; then pass=$((pass+1)); r=ok; else fail=$((fail+1)); failed="$failed $name"; r=FAILED; fi
    echo "--- $name: $r ($(( $(date +%s) - start )) s)"
done
[ -z "$failed" ] || echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
