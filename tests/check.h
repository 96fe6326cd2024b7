/* Minimal test helpers: every comparison prints what it compared; a failure is counted and the
 * test program exits non-zero at the end (TEST_END). */
#ifndef CLGAN_CHECK_H
#define CLGAN_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                        \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

/* Compares two arrays; reports the largest error relative to max(|ref|, floor). */
static inline int check_close(const char *what, const float *got, const double *ref, long n,
                              double rtol, double floor_) {
    double worst = 0;
    long at = -1;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        double s = fabs(ref[i]) > floor_ ? fabs(ref[i]) : floor_;
        double e = d / s;
        if (!(e <= worst)) { worst = e; at = i; }   /* NaN counts as worst */
    }
    int ok = worst <= rtol;
    check_count++;
    printf("%s %-44s n=%-7ld max rel err %.2e (tol %.0e)", ok ? "ok  " : "FAIL", what, n, worst, rtol);
    if (at >= 0 && !ok) printf("  at [%ld] got %.9g ref %.9g", at, got[at], ref[at]);
    printf("\n");
    if (!ok) check_failures++;
    return ok;
}

#define TEST_END()                                                                     \
    do {                                                                               \
        printf("%d checks, %d failed\n", check_count, check_failures);               \
        return check_failures ? 1 : 0;                                                 \
    } while (0)

#endif
