#!/usr/bin/env bash
# Typed launches (build/kernel_launch.h): a call to a kl_* launcher with the right arguments compiles;
# one with a wrong count, or a float for an int, an integer for a float, an integer for a buffer, does
# not. Compiles small C files only (no device). Needs `make` to have generated build/kernel_launch.h.
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/clgan_launch_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
CC=${CC:-cc}
try() { # name, want (0 compiles / 1 fails), call
    printf '#include "kernel_launch.h"\nvoid f(clg_ctx *c, cl_mem m, int i, size_t n, float x);\n' >"$T/t.c"
    printf 'void f(clg_ctx *c, cl_mem m, int i, size_t n, float x) { (void)i, (void)n, (void)x; %s; }\n' "$3" >>"$T/t.c"
    $CC -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ihost -Ibuild -Ikernels -DCL_TARGET_OPENCL_VERSION=120 \
        -c "$T/t.c" -o "$T/t.o" 2>"$T/err"
    got=$(( $? != 0 ))
    if [ "$got" = "$2" ]; then echo "ok   $1"; pass=$((pass+1));
    else echo "FAIL $1 (compiler exit $got, wanted $2)"; sed 's/^/     /' "$T/err" | head -5; fail=$((fail+1)); fi
}
[ -f build/kernel_launch.h ] || { echo "FAIL build/kernel_launch.h missing (run make)"; exit 1; }
try "kl_fill(c, grid, cl_mem, int, size_t, float) compiles"          0 'kl_fill(c, clg_grid_1d(n), m, i, n, x)'
try "kl_fill with a float for the int offset fails"                   1 'kl_fill(c, clg_grid_1d(n), m, x, n, x)'
try "kl_fill with an int for the float value fails"                   1 'kl_fill(c, clg_grid_1d(n), m, i, n, i)'
try "kl_fill with an int for the buffer fails"                        1 'kl_fill(c, clg_grid_1d(n), i, i, n, x)'
try "kl_fill with one argument too few fails"                         1 'kl_fill(c, clg_grid_1d(n), m, i, n)'
try "kl_fill with one argument too many fails"                        1 'kl_fill(c, clg_grid_1d(n), m, i, n, x, x)'
try "kl_fill without a grid fails"                                    1 'kl_fill(c, m, i, n, x)'
try "a launcher through a pointer keeps its prototype"                0 'void (*p)(clg_ctx *, clg_grid, cl_mem, int, int, float) = kl_fill; p(c, clg_grid_1d(n), m, i, i, x)'
try "kl_conv_bias_grad takes local memory in bytes (size_t)"          0 'kl_conv_bias_grad(c, clg_grid_1d_local(n, 8), m, i, m, i, i, i, i, x, 8 * sizeof(float))'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
