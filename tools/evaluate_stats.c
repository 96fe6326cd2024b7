/* The statistics of ./evaluate: covariances, the Frechet distance with a symmetric matrix square root,
 * the Inception score. Double precision throughout (tools/evaluate.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "util.h"

/* EISPACK's loops run down columns: a is kept column-major here (A(i, j) at j*n + i; the same matrix for
 * a symmetric input) so that the O(n^3) inner loops read contiguous memory, and sym_eigen transposes the
 * eigenvectors back at the end. Row-major access took minutes for n = 2048; this takes seconds. */
#define A(i, j) a[(size_t)(j) * n + (i)]

/* Householder reduction to tridiagonal form (EISPACK tred2, as in JAMA): a becomes the orthogonal
 * transformation, d the diagonal and e the subdiagonal (e[0] = 0). */
static void tred2(double *a, int n, double *d, double *e) {
    for (int j = 0; j < n; j++) d[j] = A(n - 1, j);
    for (int i = n - 1; i > 0; i--) {
        double scale = 0, h = 0;
        for (int k = 0; k < i; k++) scale += fabs(d[k]);
        if (scale == 0) {
            e[i] = d[i - 1];
            for (int j = 0; j < i; j++) d[j] = A(i - 1, j), A(i, j) = 0, A(j, i) = 0;
        } else {
            for (int k = 0; k < i; k++) d[k] /= scale, h += d[k] * d[k];
            double f = d[i - 1], g = sqrt(h);
            if (f > 0) g = -g;
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for (int j = 0; j < i; j++) e[j] = 0;
            for (int j = 0; j < i; j++) {
                f = d[j];
                A(j, i) = f;
                g = e[j] + A(j, j) * f;
                for (int k = j + 1; k <= i - 1; k++) g += A(k, j) * d[k], e[k] += A(k, j) * f;
                e[j] = g;
            }
            f = 0;
            for (int j = 0; j < i; j++) e[j] /= h, f += e[j] * d[j];
            double hh = f / (h + h);
            for (int j = 0; j < i; j++) e[j] -= hh * d[j];
            for (int j = 0; j < i; j++) {
                f = d[j], g = e[j];
                for (int k = j; k <= i - 1; k++) A(k, j) -= f * e[k] + g * d[k];
                d[j] = A(i - 1, j);
                A(i, j) = 0;
            }
        }
        d[i] = h;
    }
    for (int i = 0; i < n - 1; i++) { /* accumulate the transformations */
        A(n - 1, i) = A(i, i);
        A(i, i) = 1;
        double h = d[i + 1];
        if (h != 0) {
            for (int k = 0; k <= i; k++) d[k] = A(k, i + 1) / h;
            for (int j = 0; j <= i; j++) {
                double g = 0;
                for (int k = 0; k <= i; k++) g += A(k, i + 1) * A(k, j);
                for (int k = 0; k <= i; k++) A(k, j) -= g * d[k];
            }
        }
        for (int k = 0; k <= i; k++) A(k, i + 1) = 0;
    }
    for (int j = 0; j < n; j++) d[j] = A(n - 1, j), A(n - 1, j) = 0;
    A(n - 1, n - 1) = 1;
    e[0] = 0;
}

/* The implicit QL algorithm on the tridiagonal (d, e), rotating a's columns along (EISPACK tql2). */
static int tql2(double *a, int n, double *d, double *e, int vectors) {
    for (int i = 1; i < n; i++) e[i - 1] = e[i];
    e[n - 1] = 0;
    double f = 0, tst1 = 0, eps = ldexp(1.0, -52);
    for (int l = 0; l < n; l++) {
        tst1 = fmax(tst1, fabs(d[l]) + fabs(e[l]));
        int m = l;
        while (m < n - 1 && fabs(e[m]) > eps * tst1) m++; /* e[n-1] is 0 */
        if (m > l) {
            int iter = 0;
            do {
                if (++iter > 60) return -1;
                double g = d[l], p = (d[l + 1] - g) / (2 * e[l]), r = hypot(p, 1.0);
                if (p < 0) r = -r;
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                double dl1 = d[l + 1], h = g - d[l];
                for (int i = l + 2; i < n; i++) d[i] -= h;
                f += h;
                p = d[m];
                double c = 1, c2 = 1, c3 = 1, el1 = e[l + 1], s = 0, s2 = 0;
                for (int i = m - 1; i >= l; i--) {
                    c3 = c2, c2 = c, s2 = s;
                    g = c * e[i], h = c * p, r = hypot(p, e[i]);
                    e[i + 1] = s * r, s = e[i] / r, c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for (int k = 0; k < n && vectors; k++) { /* the eigenvectors, when wanted */
                        h = A(k, i + 1);
                        A(k, i + 1) = s * A(k, i) + c * h;
                        A(k, i) = c * A(k, i) - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p, d[l] = c * p;
            } while (fabs(e[l]) > eps * tst1);
        }
        d[l] += f;
        e[l] = 0;
    }
    return 0;
}

static int eigen(double *a, int n, double *w, int vectors) {
    if (n < 1) return -1;
    double *e = xmalloc((size_t)n * sizeof *e);
    tred2(a, n, w, e);
    int rc = tql2(a, n, w, e, vectors);
    free(e);
    if (rc != 0) return -1;
    if (!vectors) { /* ascending */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && w[j] < w[j - 1]; j--) {
                double t = w[j];
                w[j] = w[j - 1], w[j - 1] = t;
            }
        return 0;
    }
    for (int i = 0; i < n - 1; i++) { /* ascending, columns along (selection sort: n swaps at most) */
        int k = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] < w[k]) k = j;
        if (k == i) continue;
        double t = w[i];
        w[i] = w[k], w[k] = t;
        for (int r = 0; r < n; r++) t = A(r, i), A(r, i) = A(r, k), A(r, k) = t;
    }
    for (int i = 0; i < n; i++) /* column-major to the caller's row-major: vector j in column j */
        for (int j = 0; j < i; j++) {
            double t = a[(size_t)i * n + j];
            a[(size_t)i * n + j] = a[(size_t)j * n + i], a[(size_t)j * n + i] = t;
        }
    return 0;
}

int sym_eigen(double *a, int n, double *w) { return eigen(a, n, w, 1); }
static int sym_eigenvalues(double *a, int n, double *w) { return eigen(a, n, w, 0); }
#undef A

int feature_stats(const float *feat, int n, int d, double *mu, double *cov, char *err, size_t errlen) {
    if (n < 2) {
        set_err(err, errlen, "a covariance needs at least 2 images (got %d)", n);
        return -1;
    }
    for (int j = 0; j < d; j++) mu[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += feat[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mu[j] /= n;
    double *row = xmalloc((size_t)d * sizeof *row);
    memset(cov, 0, (size_t)d * d * sizeof *cov);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) row[j] = feat[(size_t)i * d + j] - mu[j];
        for (int j = 0; j < d; j++)
            for (int k = j; k < d; k++) cov[(size_t)j * d + k] += row[j] * row[k];
    }
    for (int j = 0; j < d; j++)
        for (int k = j; k < d; k++) cov[(size_t)k * d + j] = cov[(size_t)j * d + k] /= n - 1;
    free(row);
    for (size_t i = 0; i < (size_t)d * d; i++)
        if (!isfinite(cov[i])) {
            set_err(err, errlen, "the features are not finite");
            return -1;
        }
    return 0;
}

/* c = a b for d x d matrices. */
static void matmul(const double *a, const double *b, double *c, int d) {
    memset(c, 0, (size_t)d * d * sizeof *c);
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            double v = a[(size_t)i * d + k];
            for (int j = 0; j < d; j++) c[(size_t)i * d + j] += v * b[(size_t)k * d + j];
        }
}

/* Checks s is a finite symmetric matrix (to 1e-9 of its largest entry). */
static int check_sym(const double *s, int d, const char *name, char *err, size_t errlen) {
    double big = 0;
    for (size_t i = 0; i < (size_t)d * d; i++) {
        if (!isfinite(s[i])) {
            set_err(err, errlen, "%s holds a non-finite value", name);
            return -1;
        }
        big = fmax(big, fabs(s[i]));
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++)
            if (fabs(s[(size_t)i * d + j] - s[(size_t)j * d + i]) > 1e-9 * big) {
                set_err(err, errlen, "%s is not symmetric ([%d,%d] %g vs %g)", name, i, j, s[(size_t)i * d + j],
                        s[(size_t)j * d + i]);
                return -1;
            }
    return 0;
}

/* The eigenvalues of s clamped at 0 where rounding made them negative; -1 if clearly indefinite. */
static int psd_eigen(double *v, int d, double *w, int vectors, const char *name, char *err, size_t errlen) {
    if ((vectors ? sym_eigen(v, d, w) : sym_eigenvalues(v, d, w)) != 0) {
        set_err(err, errlen, "the eigen-decomposition of %s did not converge", name);
        return -1;
    }
    double top = fmax(fabs(w[0]), fabs(w[d - 1]));
    if (w[0] < -1e-6 * top - 1e-300) {
        set_err(err, errlen, "%s is not positive semi-definite (eigenvalue %g, largest %g)", name, w[0], top);
        return -1;
    }
    for (int i = 0; i < d; i++) w[i] = w[i] > 0 ? w[i] : 0;
    return 0;
}

int frechet_distance(const double *mu1, const double *s1, const double *mu2, const double *s2, int d, double *fid,
                     char *err, size_t errlen) {
    if (check_sym(s1, d, "covariance 1", err, errlen) != 0 || check_sym(s2, d, "covariance 2", err, errlen) != 0) return -1;
    size_t dd = (size_t)d * d;
    double *v = xmalloc(dd * sizeof *v), *w = xmalloc((size_t)d * sizeof *w), *r = xmalloc(dd * sizeof *r);
    double *t = xmalloc(dd * sizeof *t);
    int rc = -1;
    memcpy(v, s1, dd * sizeof *v);
    if (psd_eigen(v, d, w, 1, "covariance 1", err, errlen) != 0) goto out;
    /* r = sqrt(S1) = V diag(sqrt w) V^T */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) t[(size_t)i * d + j] = v[(size_t)i * d + j] * sqrt(w[j]);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += t[(size_t)i * d + k] * v[(size_t)j * d + k];
            r[(size_t)i * d + j] = s;
        }
    matmul(r, s2, t, d); /* sqrt(S1) S2 */
    matmul(t, r, v, d);  /* sqrt(S1) S2 sqrt(S1): symmetric up to rounding; symmetrise */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) v[(size_t)i * d + j] = v[(size_t)j * d + i] = 0.5 * (v[(size_t)i * d + j] + v[(size_t)j * d + i]);
    if (psd_eigen(v, d, w, 0, "covariance 2 (seen through sqrt(S1) S2 sqrt(S1))", err, errlen) != 0) goto out;
    double tr_sqrt = 0, tr1 = 0, tr2 = 0, dm = 0;
    for (int i = 0; i < d; i++) {
        tr_sqrt += sqrt(w[i]);
        tr1 += s1[(size_t)i * d + i], tr2 += s2[(size_t)i * d + i];
        dm += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    }
    *fid = dm + tr1 + tr2 - 2 * tr_sqrt;
    rc = isfinite(*fid) ? 0 : -1;
    if (rc) set_err(err, errlen, "the Frechet distance is not finite (the means are?)");
out:
    free(v), free(w), free(r), free(t);
    return rc;
}

int inception_score(const float *logits, int n, int k, int splits, double *mean, double *std, char *err, size_t errlen) {
    if (splits < 1 || n < splits || k < 2) {
        set_err(err, errlen, "the Inception score of %d images in %d splits over %d classes: needs at least one image per "
                             "split and 2 classes", n, splits, k);
        return -1;
    }
    int per = n / splits;
    double *p = xmalloc((size_t)n * k * sizeof *p), *py = xmalloc((size_t)k * sizeof *py);
    double *sc = xmalloc((size_t)splits * sizeof *sc), sum = 0, var = 0;
    for (int i = 0; i < n; i++) { /* softmax in double */
        const float *x = logits + (size_t)i * k;
        double mx = x[0], se = 0;
        for (int j = 0; j < k; j++) {
            if (!isfinite(x[j])) {
                set_err(err, errlen, "the logits of image %d are not finite", i);
                free(p), free(py), free(sc);
                return -1;
            }
            mx = fmax(mx, x[j]);
        }
        for (int j = 0; j < k; j++) se += exp(x[j] - mx);
        for (int j = 0; j < k; j++) p[(size_t)i * k + j] = exp(x[j] - mx) / se;
    }
    for (int s = 0; s < splits; s++) {
        const double *q = p + (size_t)s * per * k;
        for (int j = 0; j < k; j++) py[j] = 0;
        for (int i = 0; i < per; i++)
            for (int j = 0; j < k; j++) py[j] += q[(size_t)i * k + j] / per;
        double kl = 0;
        for (int i = 0; i < per; i++)
            for (int j = 0; j < k; j++) {
                double v = q[(size_t)i * k + j];
                if (v > 0) kl += v * (log(v) - log(py[j])); /* 0 log 0 = 0 */
            }
        sc[s] = exp(kl / per);
        sum += sc[s];
    }
    *mean = sum / splits;
    for (int s = 0; s < splits; s++) var += (sc[s] - *mean) * (sc[s] - *mean) / splits; /* two passes: numpy's std */
    *std = sqrt(var);
    free(p), free(py), free(sc);
    return 0;
}
