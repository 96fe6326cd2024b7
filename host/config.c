/* Typed INI configuration over inih (see config.h).
 *
 * inih (Debian's build) gives its handler no line numbers, so files are read through our own
 * reader (run_reader) that counts the lines it hands out, strips leading whitespace (so an
 * indented line is never taken as a continuation of the previous value), notes each [section]
 * line, and refuses lines too long for inih's buffer instead of letting inih split them. The
 * handler (run_handler) re-reads a double-quoted value from the raw line, because inih has
 * already cut it at a " ;" by then. The first problem found, by us or by inih, is reported. */
#include "config.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#define CFG_VALUE_MAX 1023              /* longest value, in characters */
#define CFG_LINE_MAX (INI_MAX_LINE - 1) /* longest line inih takes whole */
#define LINE_BUF 2048                   /* holds any line we accept, and any value */
#define MSG_MAX 4096
#define WRAP_COLUMNS 100                /* comment lines written by cfg_write */

typedef struct {
    cfg_key k;  /* strings owned by the entry */
    char *text; /* current value as text (unquoted), what cfg_write writes */
    long i;
    double f;
    int b;
} entry;

struct cfg {
    entry *e;
    int n, cap;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cfg: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Appends to the NUL-terminated string in buf (size bytes in all), truncating. */
static void appendf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t size, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

static const char *type_name(cfg_type t) {
    switch (t) {
    case CFG_INT: return "int";
    case CFG_FLOAT: return "float";
    case CFG_BOOL: return "bool";
    case CFG_STR: return "string";
    case CFG_CHOICE: return "choice";
    }
    return "?";
}

static void fmt_num(double v, char *buf, size_t n) { snprintf(buf, n, "%.15g", v); }

/* snprintf into msg, then -1: for returning a problem in one statement. */
static int problem(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int problem(char *msg, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_name(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

/* Copy of s[0..n) without surrounding whitespace. */
static char *trimmed_copy(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

/* ---- schema lookups and messages ---------------------------------------------------------- */

static entry *find(const cfg *c, const char *section, const char *key) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].k.section, section) && !strcmp(c->e[i].k.key, key)) return &c->e[i];
    return NULL;
}

/* Whether entry i is the first of its section (sections are listed in order of first use). */
static int first_of_section(const cfg *c, int i) {
    for (int j = 0; j < i; j++)
        if (!strcmp(c->e[j].k.section, c->e[i].k.section)) return 0;
    return 1;
}

static int section_known(const cfg *c, const char *section) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].k.section, section)) return 1;
    return 0;
}

static void unknown_section_msg(const cfg *c, const char *section, char *msg, size_t n) {
    snprintf(msg, n, "unknown section [%s]; known sections:", section);
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < c->n; i++) {
        if (!first_of_section(c, i)) continue;
        appendf(msg, n, "%s %s", i ? "," : "", c->e[i].k.section);
        int d = edit_distance(section, c->e[i].k.section);
        if (d < best_d) best_d = d, best = c->e[i].k.section;
    }
    if (best) appendf(msg, n, " (did you mean [%s]?)", best);
}

static void unknown_key_msg(const cfg *c, const char *section, const char *key, char *msg,
                            size_t n) {
    snprintf(msg, n, "unknown key '%s' in [%s]; known keys:", key, section);
    const char *best = NULL, *elsewhere = NULL;
    int best_d = 3, count = 0;
    for (int i = 0; i < c->n; i++) {
        const cfg_key *k = &c->e[i].k;
        if (strcmp(k->section, section)) {
            if (!strcmp(k->key, key) && !elsewhere) elsewhere = k->section;
            continue;
        }
        appendf(msg, n, "%s %s", count++ ? "," : "", k->key);
        int d = edit_distance(key, k->key);
        if (d < best_d) best_d = d, best = k->key;
    }
    if (best) appendf(msg, n, " (did you mean '%s'?)", best);
    else if (elsewhere) appendf(msg, n, " ('%s' is a key of [%s])", key, elsewhere);
}

/* The entry for section.key, or NULL with the unknown-section or unknown-key message. */
static entry *lookup(const cfg *c, const char *section, const char *key, char *msg, size_t n) {
    entry *e = find(c, section, key);
    if (e) return e;
    if (!section_known(c, section)) unknown_section_msg(c, section, msg, n);
    else unknown_key_msg(c, section, key, msg, n);
    return NULL;
}

/* ---- reading INI text through inih -------------------------------------------------------- */

typedef struct ini_run ini_run;
struct ini_run {
    FILE *f;
    int line;           /* lines handed out so far: the line inih is working on */
    char *buf;          /* getline buffer */
    size_t cap;
    char text[LINE_BUF];    /* the current line as handed to inih (leading whitespace gone) */
    char section[LINE_BUF]; /* the current section, "" before the first */
    int failed;             /* a problem was found here (not by inih) */
    int err_line;           /* its line; 0 for a read error */
    char msg[MSG_MAX];
    int (*on_section)(ini_run *r);                                   /* may be NULL */
    int (*on_value)(ini_run *r, const char *key, const char *value); /* 0 ok, -1 run_fail'ed */
    void *user;
};

static int run_fail(ini_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_fail(ini_run *r, const char *fmt, ...) {
    if (r->failed) return -1;
    r->failed = 1;
    r->err_line = r->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* A "[name]" line, found the way inih finds it: up to the first ']' that comes before an
 * inline comment. Without one, inih reports the syntax error. */
static int enter_section(ini_run *r) {
    const char *start = r->text + 1, *p = start;
    int was_space = 0;
    while (*p && *p != ']' && !(was_space && *p == ';')) was_space = isspace((unsigned char)*p++);
    if (*p != ']') return 0;
    memcpy(r->section, start, (size_t)(p - start));
    r->section[p - start] = '\0';
    return r->on_section ? r->on_section(r) : 0;
}

/* fgets-like reader for ini_parse_stream. Stops (returns NULL) after the first problem. */
static char *run_reader(char *str, int num, void *stream) {
    ini_run *r = stream;
    if (r->failed) return NULL;
    errno = 0;
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f)) {
            run_fail(r, "read error: %s", strerror(errno ? errno : EIO));
            r->err_line = 0;
        }
        return NULL;
    }
    r->line++;
    if ((size_t)n != strlen(r->buf)) {
        run_fail(r, "line contains a NUL byte");
        return NULL;
    }
    while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r')) r->buf[--n] = '\0';
    int limit = (num < LINE_BUF ? num : LINE_BUF) - 1;
    if (n > limit) {
        run_fail(r, "line longer than %d characters", limit);
        return NULL;
    }
    const char *s = r->buf;
    if (r->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    memcpy(r->text, s, len + 1);
    if (*s == '[' && enter_section(r) != 0) return NULL;
    memcpy(str, s, len);
    if ((int)len + 1 < num) str[len++] = '\n'; /* as fgets would give it */
    str[len] = '\0';
    return str;
}

static int blank_or_comment(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    return !*s || *s == ';';
}

/* The value as the user meant it: inih's value, or for one starting with '"', the text up to
 * the first '"' after which the line ends or a comment begins, re-read from the raw line. */
static int unquote(ini_run *r, const char *key, const char *value, char *out, size_t n) {
    const char *p = strpbrk(r->text, "=:"); /* the separator inih split at: the first of either */
    if (p)
        for (p++; isspace((unsigned char)*p); p++) {}
    if (value[0] != '"' || !p || *p != '"') {
        snprintf(out, n, "%s", value);
        return 0;
    }
    for (const char *q = p + 1; *q; q++) {
        if (*q == '"' && blank_or_comment(q + 1)) {
            snprintf(out, n, "%.*s", (int)(q - p - 1), p + 1);
            return 0;
        }
    }
    return run_fail(r, "%s%s%s = '%s': missing closing '\"'", r->section, *r->section ? "." : "",
                    key, value);
}

static int run_handler(void *user, const char *section, const char *name, const char *value) {
    ini_run *r = user;
    (void)section; /* inih truncates long names; r->section is the whole one */
    char v[LINE_BUF];
    if (!r->failed && unquote(r, name, value, v, sizeof v) == 0) r->on_value(r, name, v);
    return 1; /* our problems are kept in r, so inih's count holds its own only */
}

/* Runs inih over r->f (set up by the caller). Returns 0, or -1 with the first problem. */
static int run_parse(ini_run *r, const char *path, char *err, size_t errlen) {
    int ret = ini_parse_stream(run_reader, r, run_handler, r);
    if (r->failed && r->err_line == 0) {
        set_err(err, errlen, "%s: %s", path, r->msg);
    } else if (ret > 0 && (!r->failed || ret < r->err_line)) {
        set_err(err, errlen, "%s:%d: syntax error (expected '[section]' or 'key = value')", path,
                ret);
    } else if (r->failed) {
        set_err(err, errlen, "%s:%d: %s", path, r->err_line, r->msg);
    } else if (ret < 0) {
        set_err(err, errlen, "%s: cannot parse (inih error %d)", path, ret);
    } else {
        return 0;
    }
    return -1;
}

static FILE *open_ini(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(EISDIR));
        fclose(f);
        return NULL;
    }
    return f;
}

/* Looks for one key, without a schema (cfg_peek, and checking that values can be written). */
typedef struct {
    const char *section, *key;
    char value[LINE_BUF];
    int found, line;
} peek_ctx;

static int peek_value(ini_run *r, const char *key, const char *value) {
    peek_ctx *p = r->user;
    if (!strcmp(r->section, p->section) && !strcmp(key, p->key)) {
        snprintf(p->value, sizeof p->value, "%s", value);
        p->found = 1;
        p->line = r->line;
    }
    return 0;
}

static int peek_stream(FILE *f, const char *path, peek_ctx *p, char *err, size_t errlen) {
    ini_run *r = xcalloc(1, sizeof *r);
    r->f = f;
    r->on_value = peek_value;
    r->user = p;
    int rc = run_parse(r, path, err, errlen);
    free(r->buf);
    free(r);
    return rc;
}

/* ---- values --------------------------------------------------------------------------------- */

/* Whether v needs double quotes to come back from a "key = v" line unchanged. */
static int needs_quotes(const char *v) {
    size_t n = strlen(v);
    if (!n) return 0;
    if (v[0] == '"' || v[0] == ';' || isspace((unsigned char)v[0]) ||
        isspace((unsigned char)v[n - 1]))
        return 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] == ';' && isspace((unsigned char)v[i - 1])) return 1;
    return 0;
}

/* The line cfg_write writes for key = v ("key=v" when the spaces would not fit); returns its
 * length, which the caller checks against CFG_LINE_MAX. */
static int format_line(const char *key, const char *v, char *out, size_t n) {
    const char *q = needs_quotes(v) ? "\"" : "";
    int len = snprintf(out, n, "%s =%s%s%s%s", key, *v || *q ? " " : "", q, v, q);
    if (len > CFG_LINE_MAX) len = snprintf(out, n, "%s=%s%s%s", key, q, v, q);
    return len;
}

/* Checks that the value comes back unchanged from the line cfg_write would write for it. */
static int check_writable(const char *key, const char *text, char *msg, size_t n) {
    char line[LINE_BUF];
    int len = format_line(key, text, line, sizeof line);
    if (len > CFG_LINE_MAX)
        return problem(msg, n, "too long: '%s = <value>' must fit on one INI line of %d characters",
                       key, CFG_LINE_MAX);
    peek_ctx p = {.section = "", .key = key};
    char err[MSG_MAX];
    FILE *f = fmemopen(line, (size_t)len, "r");
    int ok = f && peek_stream(f, "value", &p, err, sizeof err) == 0 && p.found &&
             !strcmp(p.value, text);
    if (f) fclose(f);
    return ok ? 0 : problem(msg, n, "cannot be written in an INI file");
}

static int parse_int(const char *s, long *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end) return -1;
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

/* -1 not a number, -2 not finite, -3 a non-zero value that is zero or subnormal once a float
 * (1e-400 parses to 0: a learning rate that silently trains nothing), -4 beyond float's range.
 * Values reach the kernels as float, so the float range is the one that counts. */
static int parse_float(const char *s, double *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end) return -1;
    if (!isfinite(v)) return -2;
    if (v != 0 ? fabs(v) < FLT_MIN : errno == ERANGE) return -3;
    if (fabs(v) > FLT_MAX) return -4;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out) {
    static const char *const names[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
    for (int i = 0; i < 8; i++) {
        if (!strcasecmp(s, names[i])) {
            *out = !(i & 1);
            return 0;
        }
    }
    return -1;
}

static int is_choice(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *p = choices; p; p = strchr(p, '|'), p = p ? p + 1 : NULL) {
        size_t len = strcspn(p, "|");
        if (len == n && !strncmp(p, s, n)) return 1;
    }
    return 0;
}

/* A number key whose choices say CFG_MAX_EXCLUDED: its range is [min, max). */
static int max_open(const cfg_key *k) {
    return k->type != CFG_CHOICE && k->choices && !strcmp(k->choices, CFG_MAX_EXCLUDED);
}

static int check_range(const cfg_key *k, double v, char *msg, size_t n) {
    if (!(k->min < k->max) || (v >= k->min && (max_open(k) ? v < k->max : v <= k->max))) return 0;
    char lo[32], hi[32];
    fmt_num(k->min, lo, sizeof lo);
    fmt_num(k->max, hi, sizeof hi);
    return problem(msg, n, "must be in [%s, %s%s", lo, hi, max_open(k) ? ")" : "]");
}

/* Parses text as a value of key k into e (whose text is left alone). Returns 0, or -1 with the
 * problem in msg ("not an integer") and *quote telling whether to quote the value when
 * showing it (not for a number out of range). */
static int parse_value(const cfg_key *k, const char *text, entry *e, char *msg, size_t n,
                       int *quote) {
    *quote = 1;
    if (strlen(text) > CFG_VALUE_MAX)
        return problem(msg, n, "longer than %d characters", CFG_VALUE_MAX);
    for (const char *p = text; *p; p++)
        if (iscntrl((unsigned char)*p) && *p != '\t')
            return problem(msg, n, "contains a control character");
    int rc = 0;
    switch (k->type) {
    case CFG_INT:
        rc = parse_int(text, &e->i);
        if (rc) return problem(msg, n, rc == -2 ? "integer out of range" : "not an integer");
        *quote = 0;
        if (check_range(k, (double)e->i, msg, n)) return -1;
        break;
    case CFG_FLOAT:
        rc = parse_float(text, &e->f);
        if (rc == -3) return problem(msg, n, "underflows: not zero, but below the smallest normal float (%g); write 0 if 0 is meant", FLT_MIN);
        if (rc == -4) return problem(msg, n, "beyond the float range (%g)", FLT_MAX);
        if (rc) return problem(msg, n, rc == -2 ? "not a finite number" : "not a number");
        *quote = 0;
        if (check_range(k, e->f, msg, n)) return -1;
        break;
    case CFG_BOOL:
        if (parse_bool(text, &e->b))
            return problem(msg, n, "not a boolean (true/false, yes/no, on/off, 1/0)");
        break;
    case CFG_CHOICE:
        if (!is_choice(k->choices, text)) return problem(msg, n, "must be one of %s", k->choices);
        break;
    case CFG_STR: /* a range on a string bounds its length: [1, N] means "not empty" */
        if (k->min < k->max && (strlen(text) < k->min || strlen(text) > k->max))
            return *text ? problem(msg, n, "must be %g to %g characters long", k->min, k->max)
                         : problem(msg, n, "must not be empty");
        break;
    }
    *quote = 1;
    return check_writable(k->key, text, msg, n);
}

/* Validates text for e and stores it; on error e is unchanged. */
static int entry_set(entry *e, const char *text, char *msg, size_t n, int *quote) {
    entry tmp = *e;
    if (parse_value(&e->k, text, &tmp, msg, n, quote)) return -1;
    char *copy = xstrdup(text);
    free(e->text);
    *e = tmp;
    e->text = copy;
    return 0;
}

/* "section.key = 'value': problem" */
static void value_msg(const entry *e, const char *text, int quote, const char *problem, char *out,
                      size_t n) {
    char shown[64]; /* at most 60 characters of the value, on one line */
    size_t len = strlen(text), i;
    for (i = 0; i < len && i < 60; i++) shown[i] = iscntrl((unsigned char)text[i]) ? '?' : text[i];
    shown[i] = '\0';
    const char *q = quote ? "'" : "";
    snprintf(out, n, "%s.%s = %s%s%s%s: %s", e->k.section, e->k.key, q, shown,
             len > 60 ? "..." : "", q, problem);
}

/* ---- schema ---------------------------------------------------------------------------------- */

cfg *cfg_new(void) { return xcalloc(1, sizeof(cfg)); }

static void free_key(cfg_key *k) {
    free((char *)k->section);
    free((char *)k->key);
    free((char *)k->def);
    free((char *)k->doc);
    free((char *)k->choices);
}

void cfg_free(cfg *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free_key(&c->e[i].k);
        free(c->e[i].text);
    }
    free(c->e);
    free(c);
}

static void validate_key(const cfg_key *k) {
    const char *s = k->section ? k->section : "(null)", *key = k->key ? k->key : "(null)";
    if (!is_name(k->section) || !is_name(k->key))
        fatal("bad key name %s.%s (names are [A-Za-z0-9_-]+)", s, key);
    if ((unsigned)k->type > CFG_CHOICE) fatal("%s.%s: bad type %d", s, key, (int)k->type);
    if (!k->def) fatal("%s.%s: no default", s, key);
    int number = k->type == CFG_INT || k->type == CFG_FLOAT;
    if ((k->type == CFG_CHOICE) != (k->choices != NULL) && !(number && max_open(k)))
        fatal("%s.%s: choices go with CFG_CHOICE, and only there", s, key);
    if (k->type == CFG_CHOICE && (!*k->choices || strstr(k->choices, "||") || *k->choices == '|' ||
                                  k->choices[strlen(k->choices) - 1] == '|'))
        fatal("%s.%s: bad choices '%s'", s, key, k->choices);
    if ((k->min != 0 || k->max != 0) && (!(number || k->type == CFG_STR) || k->min > k->max || (!number && k->min < 0)))
        fatal("%s.%s: bad range [%g, %g] for a %s", s, key, k->min, k->max, type_name(k->type));
    if (max_open(k) && !(k->min < k->max)) fatal("%s.%s: an excluded maximum needs a range", s, key);
    for (const char *p = k->doc ? k->doc : ""; *p; p++)
        if (iscntrl((unsigned char)*p)) fatal("%s.%s: doc must be one line", s, key);
}

void cfg_add_keys(cfg *c, const cfg_key *keys, int n) {
    for (int i = 0; i < n; i++) {
        const cfg_key *k = &keys[i];
        validate_key(k);
        if (find(c, k->section, k->key)) fatal("key %s.%s added twice", k->section, k->key);
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 32;
            c->e = xrealloc(c->e, (size_t)c->cap * sizeof *c->e);
        }
        entry *e = memset(&c->e[c->n], 0, sizeof *e);
        e->k = (cfg_key){xstrdup(k->section), xstrdup(k->key), k->type, xstrdup(k->def),
                         xstrdup(k->doc ? k->doc : ""), k->choices ? xstrdup(k->choices) : NULL,
                         k->min, k->max};
        char msg[MSG_MAX], full[MSG_MAX + LINE_BUF];
        int quote;
        if (entry_set(e, k->def, msg, sizeof msg, &quote)) {
            value_msg(e, k->def, quote, msg, full, sizeof full);
            fatal("bad default: %s", full);
        }
        c->n++;
    }
}

/* ---- parsing files and overrides ---------------------------------------------------------- */

/* What cfg_parse_file's handlers share: the schema and, per key, the line of this file that set it
 * (0 = not yet), so that a key given twice is an error naming both lines. */
typedef struct {
    cfg *c;
    int *line;
} schema_run;

static int schema_section(ini_run *r) {
    cfg *c = ((schema_run *)r->user)->c;
    if (section_known(c, r->section)) return 0;
    char msg[MSG_MAX];
    unknown_section_msg(c, r->section, msg, sizeof msg);
    return run_fail(r, "%s", msg);
}

static int schema_value(ini_run *r, const char *key, const char *value) {
    schema_run *sr = r->user;
    cfg *c = sr->c;
    char msg[MSG_MAX], full[MSG_MAX + LINE_BUF];
    int quote;
    if (!*r->section)
        return run_fail(r, "key '%s' is outside any section (put it after a [section] line)", key);
    entry *e = find(c, r->section, key);
    if (!e) {
        unknown_key_msg(c, r->section, key, msg, sizeof msg);
        return run_fail(r, "%s", msg);
    }
    int *first = &sr->line[e - c->e];
    if (*first)
        return run_fail(r, "%s.%s is given twice: here and on line %d (delete one)", e->k.section, e->k.key,
                        *first);
    *first = r->line;
    if (entry_set(e, value, msg, sizeof msg, &quote) == 0) return 0;
    value_msg(e, value, quote, msg, full, sizeof full);
    return run_fail(r, "%s", full);
}

typedef struct {
    char *text;
    long i;
    double f;
    int b;
} saved_value;

static saved_value *save_values(const cfg *c) {
    saved_value *s = xcalloc((size_t)c->n, sizeof *s);
    for (int i = 0; i < c->n; i++)
        s[i] = (saved_value){xstrdup(c->e[i].text), c->e[i].i, c->e[i].f, c->e[i].b};
    return s;
}

/* Puts saved values back (restore) or drops them; frees s either way. */
static void end_save(cfg *c, saved_value *s, int restore) {
    for (int i = 0; i < c->n; i++) {
        if (!restore) {
            free(s[i].text);
            continue;
        }
        free(c->e[i].text);
        c->e[i].text = s[i].text;
        c->e[i].i = s[i].i;
        c->e[i].f = s[i].f;
        c->e[i].b = s[i].b;
    }
    free(s);
}

int cfg_parse_file(cfg *c, const char *path, char *err, size_t errlen) {
    FILE *f = open_ini(path, err, errlen);
    if (!f) return -1;
    saved_value *saved = save_values(c);
    ini_run *r = xcalloc(1, sizeof *r);
    r->f = f;
    r->on_section = schema_section;
    r->on_value = schema_value;
    schema_run sr = {c, xcalloc((size_t)c->n + 1, sizeof(int))};
    r->user = &sr;
    int rc = run_parse(r, path, err, errlen);
    free(sr.line);
    end_save(c, saved, rc != 0);
    free(r->buf);
    free(r);
    fclose(f);
    return rc;
}

int cfg_set(cfg *c, const char *assignment, char *err, size_t errlen) {
    const char *eq = strchr(assignment, '=');
    char *lhs = eq ? trimmed_copy(assignment, (size_t)(eq - assignment)) : NULL;
    char *dot = lhs ? strchr(lhs, '.') : NULL;
    if (!dot || dot == lhs || !dot[1]) {
        set_err(err, errlen, "--set %s: expected section.key=value", assignment);
        free(lhs);
        return -1;
    }
    *dot = '\0';
    char *value = trimmed_copy(eq + 1, strlen(eq + 1));
    size_t n = strlen(value);
    if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
        memmove(value, value + 1, n - 2);
        value[n - 2] = '\0';
    }
    char msg[MSG_MAX];
    int quote, rc = -1;
    entry *e = lookup(c, lhs, dot + 1, msg, sizeof msg);
    if (e && entry_set(e, value, msg, sizeof msg, &quote) == 0) rc = 0;
    else set_err(err, errlen, "--set %s: %s", assignment, msg);
    free(lhs);
    free(value);
    return rc;
}

int cfg_set_value(cfg *c, const char *section, const char *key, const char *value, char *err,
                  size_t errlen) {
    char msg[MSG_MAX];
    int quote;
    entry *e = lookup(c, section, key, msg, sizeof msg);
    if (!e) {
        set_err(err, errlen, "%s", msg);
        return -1;
    }
    if (entry_set(e, value, msg, sizeof msg, &quote) == 0) return 0;
    char full[MSG_MAX + LINE_BUF];
    value_msg(e, value, quote, msg, full, sizeof full);
    set_err(err, errlen, "%s", full);
    return -1;
}

int cfg_peek(const char *path, const char *section, const char *key, char *out, size_t outlen,
             char *err, size_t errlen) {
    FILE *f = open_ini(path, err, errlen);
    if (!f) return -1;
    peek_ctx p = {.section = section, .key = key};
    int rc = peek_stream(f, path, &p, err, errlen);
    fclose(f);
    if (rc) return -1;
    if (!p.found) return 1;
    if (strlen(p.value) >= outlen) {
        set_err(err, errlen, "%s:%d: value of %s.%s is longer than %zu characters", path, p.line,
                section, key, outlen ? outlen - 1 : 0);
        return -1;
    }
    memcpy(out, p.value, strlen(p.value) + 1);
    return 0;
}

/* ---- getters ----------------------------------------------------------------------------------- */

static const entry *get(const cfg *c, const char *section, const char *key, cfg_type t,
                        cfg_type t2) {
    const entry *e = find(c, section, key);
    if (!e) fatal("no key %s.%s", section, key);
    if (e->k.type != t && e->k.type != t2)
        fatal("no key %s.%s of type %s (it is a %s)", section, key, type_name(t),
              type_name(e->k.type));
    return e;
}

long cfg_int(const cfg *c, const char *section, const char *key) {
    return get(c, section, key, CFG_INT, CFG_INT)->i;
}

double cfg_float(const cfg *c, const char *section, const char *key) {
    return get(c, section, key, CFG_FLOAT, CFG_FLOAT)->f;
}

int cfg_bool(const cfg *c, const char *section, const char *key) {
    return get(c, section, key, CFG_BOOL, CFG_BOOL)->b;
}

const char *cfg_str(const cfg *c, const char *section, const char *key) {
    return get(c, section, key, CFG_STR, CFG_CHOICE)->text;
}

/* ---- writing ---------------------------------------------------------------------------------- */

/* "; text" wrapped at spaces to WRAP_COLUMNS. */
static void write_comment(FILE *f, const char *s) {
    const size_t width = WRAP_COLUMNS - 2;
    while (strlen(s) > width) {
        size_t cut = width;
        while (cut > 0 && s[cut] != ' ') cut--;
        if (cut == 0) cut = width;
        fprintf(f, "; %.*s\n", (int)cut, s);
        for (s += cut; *s == ' '; s++) {}
    }
    fprintf(f, "; %s\n", s);
}

static void write_entry(FILE *f, const entry *e) {
    char line[LINE_BUF], comment[MSG_MAX];
    const char *def = e->k.def;
    const char *q = !*def || needs_quotes(def) ? "\"" : "";
    snprintf(comment, sizeof comment, "%s%s(default: %s%s%s)", e->k.doc, *e->k.doc ? " " : "", q,
             def, q);
    write_comment(f, comment);
    format_line(e->k.key, e->text, line, sizeof line);
    fprintf(f, "%s\n", line);
}

int cfg_write(const cfg *c, const char *path, char *err, size_t errlen) {
    FILE *f = atomic_open(path, err, errlen);
    if (!f) return -1;
    fputs("; clgan configuration: every key, each after its documentation and default.\n", f);
    for (int i = 0; i < c->n; i++) {
        if (!first_of_section(c, i)) continue;
        fprintf(f, "\n[%s]\n", c->e[i].k.section);
        for (int j = i; j < c->n; j++)
            if (!strcmp(c->e[j].k.section, c->e[i].k.section)) write_entry(f, &c->e[j]);
    }
    return atomic_commit(f, path, err, errlen);
}

/* Markdown table text: '|' escaped, so the cell stays one cell. */
static void md_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

static void md_type(FILE *f, const cfg_key *k) {
    if (k->type == CFG_CHOICE) {
        fputs("one of `", f);
        for (const char *p = k->choices; *p; p++) {
            if (*p == '|') fputs("`, `", f);
            else fputc(*p, f);
        }
        fputc('`', f);
        return;
    }
    fputs(type_name(k->type), f);
    if (k->type == CFG_STR && k->min < k->max) {
        fprintf(f, " of %g to %g characters", k->min, k->max);
    } else if (k->min < k->max) {
        char lo[32], hi[32];
        fmt_num(k->min, lo, sizeof lo);
        fmt_num(k->max, hi, sizeof hi);
        fprintf(f, " in [%s, %s%s", lo, hi, max_open(k) ? ")" : "]");
    }
}

void cfg_print_markdown(const cfg *c, FILE *f) {
    fputs("| Section | Key | Type | Default | Description |\n", f);
    fputs("|---|---|---|---|---|\n", f);
    for (int i = 0; i < c->n; i++) {
        if (!first_of_section(c, i)) continue;
        for (int j = i; j < c->n; j++) {
            const cfg_key *k = &c->e[j].k;
            if (strcmp(k->section, c->e[i].k.section)) continue;
            fprintf(f, "| `%s` | `%s` | ", k->section, k->key);
            md_type(f, k);
            fputs(" | ", f);
            if (*k->def) fputc('`', f), md_text(f, k->def), fputc('`', f);
            else fputs("(empty)", f);
            fputs(" | ", f);
            md_text(f, k->doc);
            fputs(" |\n", f);
        }
    }
}
