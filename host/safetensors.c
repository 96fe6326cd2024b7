#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Tensor data is stored little-endian; we copy it to and from memory as is. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian machine"
#endif

#define ST_MAX_HEADER (100LL << 20)   /* same limit as the reference implementation */
#define ST_MAX_DIM (1LL << 40)
#define ST_MAX_BYTES (1LL << 60)

long long st_numel(const st_tensor *t) {
    long long n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* numel of a shape read from a file or given by a caller, or -1 if absurd (overflow). */
static long long checked_numel(const long long *shape, int ndim) {
    long long n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] > ST_MAX_DIM) return -1;
        if (shape[i] && n > ST_MAX_BYTES / 4 / shape[i]) return -1;
        n *= shape[i];
    }
    return n;
}

/* A NaN or an infinity in a tensor is refused both ways (issue 16): a NaN weight passes a ReLU as 0
 * and trains on silently. Returns 0, or -1 with err naming the tensor, the index and the value. */
static int check_finite(const st_tensor *t, long long numel, const char *path, const char *verb, char *err,
                        size_t errlen) {
    for (long long i = 0; i < numel; i++)
        if (!isfinite(t->data[i])) {
            set_err(err, errlen, "%s: %s tensor '%s': element %lld of %lld is %s", path, verb, t->name, i, numel,
                    isnan(t->data[i]) ? "NaN" : t->data[i] > 0 ? "+Inf" : "-Inf");
            return -1;
        }
    return 0;
}

/* ---- growing string buffer for the header ---- */

typedef struct { char *p; size_t n, cap; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t len) {
    if (b->n + len + 1 > b->cap) {
        while (b->n + len + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 256;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* JSON string with escapes; s must be valid UTF-8 (checked by the caller). */
static void sb_json_string(sbuf *b, const char *s) {
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') sb_puts(b, "\\\"");
        else if (c == '\\') sb_puts(b, "\\\\");
        else if (c == '\n') sb_puts(b, "\\n");
        else if (c == '\t') sb_puts(b, "\\t");
        else if (c == '\r') sb_puts(b, "\\r");
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_put(b, s, 1);
    }
    sb_puts(b, "\"");
}

/* The reference reader requires the header to be UTF-8. */
static int valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || (len == 2 && *p < 0xc2) || (len == 4 && *p > 0xf4)) return 0;
        uint32_t cp = len == 1 ? *p : *p & (0x7f >> len);
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += len;
    }
    return 1;
}

/* ---- writing ---- */

static int check_save_args(const char *path, const st_tensor *t, int n, const char *const *mk,
                           const char *const *mv, int nmeta, char *err, size_t errlen) {
    if (n < 0 || nmeta < 0 || (n && !t) || (nmeta && (!mk || !mv))) {
        set_err(err, errlen, "%s: bad arguments (n=%d, nmeta=%d)", path, n, nmeta);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const st_tensor *x = &t[i];
        if (!memchr(x->name, 0, sizeof x->name) || !valid_utf8(x->name) ||
            !strcmp(x->name, "__metadata__")) {
            set_err(err, errlen, "%s: tensor %d: invalid name", path, i);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(t[j].name, x->name)) {
                set_err(err, errlen, "%s: tensor name '%s' used twice", path, x->name);
                return -1;
            }
        long long numel = x->ndim >= 0 && x->ndim <= 8 ? checked_numel(x->shape, x->ndim) : -1;
        if (numel < 0) {
            set_err(err, errlen, "%s: tensor '%s': invalid shape (ndim %d)", path, x->name, x->ndim);
            return -1;
        }
        if (numel > 0 && !x->data) {
            set_err(err, errlen, "%s: tensor '%s': no data", path, x->name);
            return -1;
        }
        if (check_finite(x, numel, path, "not saving", err, errlen) != 0) return -1;
    }
    for (int i = 0; i < nmeta; i++) {
        if (!mk[i] || !mv[i] || !valid_utf8(mk[i]) || !valid_utf8(mv[i])) {
            set_err(err, errlen, "%s: metadata entry %d: missing or not UTF-8", path, i);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(mk[j], mk[i])) {
                set_err(err, errlen, "%s: metadata key '%s' used twice", path, mk[i]);
                return -1;
            }
    }
    return 0;
}

/* Builds the JSON header, padded with spaces to a multiple of 8 bytes. */
static void build_header(sbuf *b, const st_tensor *t, int n, const char *const *mk,
                         const char *const *mv, int nmeta) {
    sb_puts(b, "{");
    if (nmeta > 0) {
        sb_puts(b, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i) sb_puts(b, ",");
            sb_json_string(b, mk[i]);
            sb_puts(b, ":");
            sb_json_string(b, mv[i]);
        }
        sb_puts(b, "}");
    }
    long long off = 0;
    for (int i = 0; i < n; i++) {
        if (i || nmeta > 0) sb_puts(b, ",");
        sb_json_string(b, t[i].name);
        sb_puts(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].ndim; d++) sb_printf(b, "%s%lld", d ? "," : "", t[i].shape[d]);
        long long bytes = 4 * st_numel(&t[i]);
        sb_printf(b, "],\"data_offsets\":[%lld,%lld]}", off, off + bytes);
        off += bytes;
    }
    sb_puts(b, "}");
    while (b->n % 8) sb_puts(b, " ");
}

int st_save(const char *path, const st_tensor *t, int n, const char *const *meta_key,
            const char *const *meta_val, int nmeta, char *err, size_t errlen) {
    if (check_save_args(path, t, n, meta_key, meta_val, nmeta, err, errlen) != 0) return -1;
    sbuf h = {0};
    build_header(&h, t, n, meta_key, meta_val, nmeta);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));

    FILE *f = atomic_open(path, err, errlen);
    if (!f) {
        free(h.p);
        return -1;
    }
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(h.p, 1, h.n, f) == h.n;
    for (int i = 0; ok && i < n; i++) {
        size_t cnt = (size_t)st_numel(&t[i]);
        ok = !cnt || fwrite(t[i].data, sizeof(float), cnt, f) == cnt;
    }
    free(h.p);
    if (!ok) {
        set_err(err, errlen, "%s: write failed: %s", path, strerror(errno));
        atomic_abort(f, path);
        return -1;
    }
    return atomic_commit(f, path, err, errlen);
}

/* ---- a JSON reader for exactly the safetensors header subset ---- */

typedef struct {
    const char *s;
    size_t n, i;
    const char *path;
    char *err;
    size_t errlen;
} jparser;

static int jfail(jparser *p, const char *what) {
    set_err(p->err, p->errlen, "%s: malformed header JSON at header byte %zu (file offset %zu): %s",
            p->path, p->i, p->i + 8, what);
    return -1;
}

static void jws(jparser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

static int jpeek(jparser *p) {
    jws(p);
    return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static int jexpect(jparser *p, char c) {
    char msg[32];
    if (jpeek(p) != (unsigned char)c) {
        snprintf(msg, sizeof msg, "expected '%c'", c);
        return jfail(p, msg);
    }
    p->i++;
    return 0;
}

static int hex4(jparser *p, uint32_t *out) {
    *out = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->i < p->n ? p->s[p->i] : 0;
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return jfail(p, "bad \\u escape (need 4 hex digits)");
        *out = *out << 4 | (uint32_t)v;
        p->i++;
    }
    return 0;
}

static void put_utf8(sbuf *b, uint32_t cp) {
    char u[4];
    size_t k;
    if (cp < 0x80) { u[0] = (char)cp; k = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); k = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)); k = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); k = 4;
    }
    sb_put(b, u, k);
}

/* \uXXXX, with a following \uXXXX when the first is a high surrogate. */
static int junicode(jparser *p, sbuf *b) {
    uint32_t cp, lo;
    if (hex4(p, &cp) != 0) return -1;
    if (cp >= 0xd800 && cp < 0xdc00) {
        if (p->i + 2 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
            return jfail(p, "unpaired surrogate in \\u escape");
        p->i += 2;
        if (hex4(p, &lo) != 0) return -1;
        if (lo < 0xdc00 || lo > 0xdfff) return jfail(p, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return jfail(p, "unpaired surrogate in \\u escape");
    }
    if (cp == 0) return jfail(p, "\\u0000 is not supported in names or metadata");
    put_utf8(b, cp);
    return 0;
}

/* Parses a string into a malloc'ed, NUL-terminated copy. */
static int jstring(jparser *p, char **out) {
    *out = NULL;
    if (jexpect(p, '"') != 0) return -1;
    sbuf b = {0};
    sb_puts(&b, "");
    for (;;) {
        if (p->i >= p->n) { free(b.p); return jfail(p, "unterminated string"); }
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') { p->i++; break; }
        if (c < 0x20) { free(b.p); return jfail(p, "control character in string"); }
        if (c != '\\') { sb_put(&b, p->s + p->i++, 1); continue; }
        p->i++;
        char e = p->i < p->n ? p->s[p->i++] : 0, ch;
        switch (e) {
        case '"': case '\\': case '/': ch = e; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u':
            if (junicode(p, &b) != 0) { free(b.p); return -1; }
            continue;
        default:
            p->i--;
            free(b.p);
            return jfail(p, "bad escape in string");
        }
        sb_put(&b, &ch, 1);
    }
    *out = b.p;
    return 0;
}

/* A non-negative integer (all this format needs). */
static int jint(jparser *p, long long *out) {
    int c = jpeek(p);
    if (c == '-') return jfail(p, "negative number");
    if (c < '0' || c > '9') return jfail(p, "expected an integer");
    if (c == '0' && p->i + 1 < p->n && p->s[p->i + 1] >= '0' && p->s[p->i + 1] <= '9')
        return jfail(p, "leading zero in integer");
    long long v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        if (v > (ST_MAX_BYTES - 9) / 10) return jfail(p, "integer too large");
        v = v * 10 + (p->s[p->i++] - '0');
    }
    if (p->i < p->n && strchr(".eE", p->s[p->i])) return jfail(p, "expected an integer, found a fraction");
    *out = v;
    return 0;
}

static int jint_array(jparser *p, long long *vals, int max, int *count) {
    *count = 0;
    if (jexpect(p, '[') != 0) return -1;
    if (jpeek(p) == ']') { p->i++; return 0; }
    for (;;) {
        if (*count == max) return jfail(p, "too many array elements");
        if (jint(p, &vals[(*count)++]) != 0) return -1;
        int c = jpeek(p);
        p->i++;
        if (c == ']') return 0;
        if (c != ',') { p->i--; return jfail(p, "expected ',' or ']'"); }
    }
}

/* Object iteration: call with *first = 1; returns 1 if a key follows (read into *key), 0 at '}'. */
static int jnext_key(jparser *p, int *first, char **key) {
    int c = jpeek(p);
    if (c == '}') { p->i++; return 0; }
    if (!*first) {
        if (c != ',') return jfail(p, "expected ',' or '}'");
        p->i++;
    }
    *first = 0;
    if (jstring(p, key) != 0) return -1;
    if (jexpect(p, ':') != 0) { free(*key); *key = NULL; return -1; }
    return 1;
}

typedef struct { long long begin, end; int idx; } st_range;

typedef struct {
    jparser p;
    st_file *f;
    st_range *off;
    int cap;
} st_reader;

static int parse_metadata(st_reader *r) {
    jparser *p = &r->p;
    if (jpeek(p) == 'n' && p->n - p->i >= 4 && !strncmp(p->s + p->i, "null", 4)) {
        p->i += 4;
        return 0;
    }
    if (jexpect(p, '{') != 0) return -1;
    int first = 1, more;
    char *key;
    while ((more = jnext_key(p, &first, &key)) == 1) {
        char *val;
        if (jpeek(p) != '"') { free(key); return jfail(p, "metadata values must be strings"); }
        if (jstring(p, &val) != 0) { free(key); return -1; }
        st_file *f = r->f;
        if (st_meta(f, key)) {
            set_err(p->err, p->errlen, "%s: metadata key '%s' appears twice", p->path, key);
            free(key); free(val);
            return -1;
        }
        f->meta_key = xrealloc(f->meta_key, sizeof(char *) * (size_t)(f->nmeta + 1));
        f->meta_val = xrealloc(f->meta_val, sizeof(char *) * (size_t)(f->nmeta + 1));
        f->meta_key[f->nmeta] = key;
        f->meta_val[f->nmeta++] = val;
    }
    return more;
}

/* The value of one tensor entry: {"dtype":..., "shape":[...], "data_offsets":[b,e]}. */
static int parse_tensor_info(st_reader *r, st_tensor *t, st_range *rg) {
    jparser *p = &r->p;
    if (jexpect(p, '{') != 0) return -1;
    int first = 1, more, seen = 0;
    char *key;
    while ((more = jnext_key(p, &first, &key)) == 1) {
        int rc = 0, bit = 0, cnt;
        if (!strcmp(key, "dtype")) {
            char *dt;
            bit = 1;
            if ((rc = jstring(p, &dt)) == 0 && strcmp(dt, "F32") != 0) {
                set_err(p->err, p->errlen, "%s: tensor '%s' has dtype %s; only F32 is supported",
                        p->path, t->name, dt);
                rc = -1;
            }
            free(dt);
        } else if (!strcmp(key, "shape")) {
            bit = 2;
            if ((rc = jint_array(p, t->shape, 8, &cnt)) == 0) t->ndim = cnt;
        } else if (!strcmp(key, "data_offsets")) {
            long long v[2];
            bit = 4;
            if ((rc = jint_array(p, v, 2, &cnt)) == 0 && cnt != 2) rc = jfail(p, "data_offsets needs 2 integers");
            if (rc == 0) {
                rg->begin = v[0];
                rg->end = v[1];
            }
        } else {
            rc = jfail(p, "unknown key in tensor entry (expected dtype, shape, data_offsets)");
        }
        if (rc == 0 && (seen & bit)) rc = jfail(p, "key appears twice in tensor entry");
        seen |= bit;
        free(key);
        if (rc != 0) return -1;
    }
    if (more < 0) return -1;
    if (seen != 7) {
        set_err(p->err, p->errlen, "%s: tensor '%s' lacks %s", p->path, t->name,
                !(seen & 1) ? "dtype" : !(seen & 2) ? "shape" : "data_offsets");
        return -1;
    }
    return 0;
}

static int parse_tensor(st_reader *r, char *name) {
    jparser *p = &r->p;
    st_file *f = r->f;
    if (strlen(name) >= sizeof f->t[0].name) {
        set_err(p->err, p->errlen, "%s: tensor name '%.40s...' longer than %zu bytes", p->path, name,
                sizeof f->t[0].name - 1);
        return -1;
    }
    if (st_find(f, name)) {
        set_err(p->err, p->errlen, "%s: tensor '%s' appears twice", p->path, name);
        return -1;
    }
    if (f->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        f->t = xrealloc(f->t, sizeof *f->t * (size_t)r->cap);
        r->off = xrealloc(r->off, sizeof *r->off * (size_t)r->cap);
    }
    st_tensor *t = &f->t[f->n];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    f->n++;   /* counted now so that st_free releases it on any later error */
    return parse_tensor_info(r, t, &r->off[f->n - 1]);
}

static int parse_header(st_reader *r) {
    jparser *p = &r->p;
    if (jexpect(p, '{') != 0) return -1;
    int first = 1, more;
    char *key;
    while ((more = jnext_key(p, &first, &key)) == 1) {
        int rc = !strcmp(key, "__metadata__") ? parse_metadata(r) : parse_tensor(r, key);
        free(key);
        if (rc != 0) return -1;
    }
    if (more < 0) return -1;
    if (jpeek(p) != -1) return jfail(p, "unexpected data after the header object");
    return 0;
}

/* ---- loading ---- */

static int cmp_range(const void *a, const void *b) {
    const st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Offsets must match the shapes and tile the data section exactly, as the reference reader
 * requires: no overlaps, no gaps, nothing missing or left over. Sorts off[] into file order. */
static int check_offsets(const st_file *f, st_range *off, long long data_size, const char *path,
                         char *err, size_t errlen) {
    for (int i = 0; i < f->n; i++) {
        long long numel = checked_numel(f->t[i].shape, f->t[i].ndim);
        if (numel < 0) {
            set_err(err, errlen, "%s: tensor '%s': implausible shape", path, f->t[i].name);
            return -1;
        }
        if (off[i].end < off[i].begin || off[i].end - off[i].begin != 4 * numel) {
            set_err(err, errlen, "%s: tensor '%s': data_offsets [%lld, %lld] do not match its shape (%lld floats = %lld bytes)",
                    path, f->t[i].name, off[i].begin, off[i].end, numel, 4 * numel);
            return -1;
        }
        off[i].idx = i;
    }
    if (f->n > 1) qsort(off, (size_t)f->n, sizeof *off, cmp_range);
    long long pos = 0;
    for (int k = 0; k < f->n; k++) {
        const st_range *o = &off[k];
        const char *name = f->t[o->idx].name;
        if (o->begin < pos) {
            set_err(err, errlen, "%s: tensor '%s' data [%lld, %lld) overlaps tensor '%s'", path, name,
                    o->begin, o->end, f->t[off[k - 1].idx].name);
            return -1;
        }
        if (o->begin > pos) {
            set_err(err, errlen, "%s: gap in the data section before tensor '%s' (bytes %lld to %lld unused)",
                    path, name, pos, o->begin);
            return -1;
        }
        if (o->end > data_size) {
            set_err(err, errlen, "%s: truncated: tensor '%s' data_offsets [%lld, %lld] run past the end of the data section (%lld bytes)",
                    path, name, o->begin, o->end, data_size);
            return -1;
        }
        pos = o->end;
    }
    if (pos != data_size) {
        set_err(err, errlen, "%s: %lld bytes of trailing data after the last tensor", path, data_size - pos);
        return -1;
    }
    return 0;
}

static int read_exact(FILE *fp, void *buf, size_t len, const char *path, const char *what,
                      char *err, size_t errlen) {
    size_t got = len ? fread(buf, 1, len, fp) : 0;
    if (got == len) return 0;
    if (ferror(fp))
        set_err(err, errlen, "%s: read error in %s: %s", path, what, strerror(errno));
    else
        set_err(err, errlen, "%s: truncated: %s needs %zu bytes, file holds %zu", path, what, len, got);
    return -1;
}

/* Header length and header text; *hlen is the JSON length, *fsize the file size. */
static char *read_header(FILE *fp, const char *path, long long *hlen, long long *fsize, char *err,
                         size_t errlen) {
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        return NULL;
    }
    *fsize = (long long)st.st_size;
    unsigned char len8[8];
    if (read_exact(fp, len8, 8, path, "the 8-byte header length", err, errlen) != 0) return NULL;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len8[i];
    if (n > (uint64_t)(*fsize - 8)) {
        set_err(err, errlen, "%s: header length %llu runs past the end of the file (%lld bytes): truncated or not a safetensors file",
                path, (unsigned long long)n, *fsize);
        return NULL;
    }
    if (n > (uint64_t)ST_MAX_HEADER || n < 2) {
        set_err(err, errlen, "%s: implausible header length %llu", path, (unsigned long long)n);
        return NULL;
    }
    *hlen = (long long)n;
    char *h = xmalloc((size_t)n + 1);
    if (read_exact(fp, h, (size_t)n, path, "the header", err, errlen) != 0) {
        free(h);
        return NULL;
    }
    h[n] = '\0';
    return h;
}

/* Reads the tensors in file order (sequential reads). */
static int read_data(FILE *fp, st_file *f, const st_range *off, const char *path, char *err,
                     size_t errlen) {
    for (int k = 0; k < f->n; k++) {
        st_tensor *t = &f->t[off[k].idx];
        size_t bytes = (size_t)(off[k].end - off[k].begin);
        t->data = xmalloc(bytes);
        char what[240];
        snprintf(what, sizeof what, "tensor '%s'", t->name);
        if (read_exact(fp, t->data, bytes, path, what, err, errlen) != 0) return -1;
        if (check_finite(t, (long long)(bytes / 4), path, "refusing", err, errlen) != 0) return -1;
    }
    return 0;
}

int st_load(const char *path, st_file *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    /* O_NONBLOCK: a FIFO or a device must not block the open; read_header refuses anything but a
     * regular file, and the flag is cleared before reading. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *fp = fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    long long hlen = 0, fsize = 0;
    st_reader r = {.f = out};
    int rc = -1;
    char *h = read_header(fp, path, &hlen, &fsize, err, errlen);
    if (!h) goto done;
    r.p = (jparser){.s = h, .n = (size_t)hlen, .path = path, .err = err, .errlen = errlen};
    if (memchr(h, 0, (size_t)hlen)) {
        r.p.i = (size_t)((char *)memchr(h, 0, (size_t)hlen) - h);
        jfail(&r.p, "NUL byte in header");
        goto done;
    }
    if (parse_header(&r) != 0) goto done;
    if (check_offsets(out, r.off, fsize - 8 - hlen, path, err, errlen) != 0) goto done;
    if (read_data(fp, out, r.off, path, err, errlen) != 0) goto done;
    rc = 0;
done:
    fclose(fp);
    free(h);
    free(r.off);
    if (rc != 0) st_free(out);
    return rc;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_key[i], key)) return f->meta_val[i];
    return NULL;
}

void st_free(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) free(f->t[i].data);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_key[i]);
        free(f->meta_val[i]);
    }
    free(f->t);
    free(f->meta_key);
    free(f->meta_val);
    memset(f, 0, sizeof *f);
}
