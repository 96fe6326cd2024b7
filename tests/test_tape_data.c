/* host/tape_data.c, what models use instead of buffers: uploads and downloads, constants, uniform
 * draws (against the host's generator, bit for bit), views, in-place row copies (the image pool's
 * primitive) and WGAN-GP's row mix, each against a plain C reference on odd sizes, with the
 * variables placed after others in the arena (non-zero offsets). */
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "rng.h"
#include "tape_data.h"

static float *host_random(size_t n, uint32_t step) {
    float *v = xmalloc(n * sizeof *v);
    rng_seq rs = rng_seq_make(99, RNG_STREAM_TEST, step);
    for (size_t i = 0; i < n; i++) v[i] = 2.0f * rng_uniform(&rs) - 1.0f;
    return v;
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

int main(void) {
    clg_ctx *cl = dev_open_for_test();
    if (!cl) return 1;
    tape t;
    tape_init(&t, cl);
    t.grad_enabled = 1;
    const int N = 5, C = 3, H = 7, W = 9;
    const size_t row = (size_t)C * H * W, n = N * row;
    tape_const(&t, 1, 1, 1, 13, 0.0f); /* so what follows sits at a non-zero offset */

    float *a = host_random(n, 1), *b = host_random(n, 2), *got = xmalloc(n * sizeof *got);
    int va = tape_upload(&t, N, C, H, W, a), vb = tape_upload(&t, N, C, H, W, b);
    CHECK(tape_val(&t, va).off > 0, "the first upload sits at offset %zu, want > 0", tape_val(&t, va).off);
    tape_download(&t, va, got);
    CHECK(same(got, a, n), "upload then download gives the values back");
    printf("%s upload/download round trip of %zu floats at offset %zu\n", same(got, a, n) ? "ok  " : "FAIL", n,
           tape_val(&t, va).off);
    CHECK(!t.vars[va].requires_grad, "an upload wants no gradient");

    int vc = tape_const(&t, N, C, H, W, -2.5f);
    size_t cnt;
    float *cv = tape_download_new(&t, vc, &cnt);
    int const_ok = cnt == n;
    for (size_t i = 0; i < cnt; i++) const_ok &= cv[i] == -2.5f;
    CHECK(const_ok, "tape_const fills every element");
    printf("%s tape_const of %zu floats\n", const_ok ? "ok  " : "FAIL", cnt);
    free(cv);

    /* uniform draws: element i is the i-th draw of the host sequence with the same key */
    int vu = tape_rand_uniform(&t, 3, 1, 11, 1, 0x123456789abcull, RNG_STREAM_GP, 17, -1.0f, 3.0f);
    float *u = tape_download_new(&t, vu, &cnt);
    rng_seq rs = rng_seq_make(0x123456789abcull, RNG_STREAM_GP, 17);
    double worst = 0;
    int in_range = 1;
    for (size_t i = 0; i < cnt; i++) {
        double ref = -1.0 + 4.0 * (double)rng_uniform(&rs), d = fabs(u[i] - ref);
        if (d > worst) worst = d;
        in_range &= u[i] > -1.0f && u[i] < 3.0f;
    }
    CHECK(worst <= 1e-6 && in_range, "tape_rand_uniform against the host sequence: max error %.2e", worst);
    printf("%s tape_rand_uniform: %zu draws in (-1, 3), max error against the host generator %.2e\n",
           worst <= 1e-6 && in_range ? "ok  " : "FAIL", cnt, worst);
    free(u);

    /* a view: the same storage, another shape, no gradient */
    int vv = tape_view(&t, va, N, (int)row, 1, 1);
    tensor tv = tape_val(&t, vv), ta = tape_val(&t, va);
    CHECK(tv.mem == ta.mem && tv.off == ta.off && tv.c == (int)row && tv.h == 1 && !t.vars[vv].requires_grad,
          "tape_view shares storage and takes the new shape");

    /* row copies in queue order: rows 1..2 of b into rows 3..4 of a copy of a, then row 0 of that into row 1 */
    int vd = tape_upload(&t, N, C, H, W, a);
    tape_copy_rows(&t, vd, 3, vb, 1, 2);
    tape_copy_rows(&t, vd, 1, vd, 3, 1);
    float *ref = xmalloc(n * sizeof *ref);
    memcpy(ref, a, n * sizeof *ref);
    memcpy(ref + 3 * row, b + 1 * row, 2 * row * sizeof *ref);
    memcpy(ref + 1 * row, ref + 3 * row, row * sizeof *ref);
    tape_download(&t, vd, got);
    CHECK(same(got, ref, n), "tape_copy_rows in queue order");
    printf("%s tape_copy_rows: 2 rows between variables, then 1 within one, rows of %zu floats\n",
           same(got, ref, n) ? "ok  " : "FAIL", row);
    tape_download(&t, vb, got);
    CHECK(same(got, b, n), "the source of a row copy is unchanged");

    /* the row mix: out[r] = w[r] a[r] + (1 - w[r]) b[r], a leaf that wants a gradient */
    float wv[5] = {0.0f, 1.0f, 0.25f, 0.8125f, 0.5f};
    int vw = tape_upload(&t, N, 1, 1, 1, wv);
    int vm = tape_mix_rows_leaf(&t, va, vb, vw);
    tape_download(&t, vm, got);
    double *dref = dvec(n);
    for (int r = 0; r < N; r++)
        for (size_t i = 0; i < row; i++)
            dref[r * row + i] = (double)wv[r] * a[r * row + i] + (1.0 - wv[r]) * b[r * row + i];
    check_close("tape_mix_rows_leaf", got, dref, (long)n, 2e-6, 1e-3);
    CHECK(t.vars[vm].requires_grad, "the mixed rows are a leaf that wants a gradient");

    free(a), free(b), free(got), free(ref), free(dref);
    tape_free(&t);
    clg_close(cl);
    TEST_END();
}
