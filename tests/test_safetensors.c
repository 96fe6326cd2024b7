/* safetensors: exact round trips, the on-disk layout, atomic replacement, and rejection of broken
 * files (truncations, malformed JSON, wrong dtype, bad offsets) with the path in the message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_st_XXXXXX";

static void tmp_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void write_raw(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len)) { perror(path); exit(2); }
    fclose(f);
}

/* A file with the given header text (unpadded) followed by `data` bytes of zeros. */
static void write_handmade(const char *path, const char *header, size_t data) {
    size_t hl = strlen(header);
    unsigned char *buf = calloc(1, 8 + hl + data);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    write_raw(path, buf, 8 + hl + data);
    free(buf);
}

static float rand_nonzero(void) {
    float v;
    do v = (float)((rand() / (double)RAND_MAX - 0.5) * 200.0 * (rand() % 3 ? 1 : 1e-6));
    while (v == 0);
    return v;
}

static void make_tensor(st_tensor *t, const char *name, int ndim, const long long *shape) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, sizeof(long long) * (size_t)ndim);
    long long n = st_numel(t);
    t->data = xmalloc(sizeof(float) * (size_t)(n ? n : 1));
    for (long long i = 0; i < n; i++) t->data[i] = rand_nonzero();
}

/* Expects st_load to fail with the path and `what` in the message. */
static void expect_fail(const char *path, const char *what, const char *label) {
    char err[512] = "";
    st_file f;
    int rc = st_load(path, &f, err, sizeof err);
    printf("%-22s -> rc=%d: %s\n", label, rc, err);
    CHECK(rc == -1, "%s: load should fail", label);
    CHECK(strstr(err, path) != NULL, "%s: error names the path", label);
    CHECK(strstr(err, what) != NULL, "%s: error mentions '%s'", label, what);
    CHECK(f.n == 0 && f.t == NULL && f.nmeta == 0, "%s: output empty on failure", label);
}

enum { NT = 6 };
static st_tensor tens[NT];
static const char *mkeys[] = {"format", "config", "step", "unicode"};
static const char *mvals[] = {"clgan-1", "name = \"dcgan\"\npath = C:\\data\\x\t/end\\\"", "12345", "caf\xc3\xa9 \xe2\x82\xac"};

static void test_round_trip(const char *path) {
    char err[512];
    long long s0[] = {7}, s1[] = {93, 5}, s2[] = {3, 1, 4, 2}, s4[] = {4, 0}, s5[] = {2, 3, 1, 1, 1, 1, 1, 2};
    make_tensor(&tens[0], "g.w0", 1, s0);
    make_tensor(&tens[1], "g.layers.1.weight", 2, s1);
    make_tensor(&tens[2], "d/conv \"quoted\"", 4, s2);
    make_tensor(&tens[3], "scalar", 0, NULL);
    make_tensor(&tens[4], "empty", 2, s4);
    make_tensor(&tens[5], "eight_dims", 8, s5);
    int rc = st_save(path, tens, NT, mkeys, mvals, 4, err, sizeof err);
    CHECK(rc == 0, "save: %s", err);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(!exists(tmp), "no %s left behind", tmp);

    /* Layout: 8-byte length, header starting with '{', data aligned to 8, size adds up. */
    size_t len;
    char *raw = read_file(path, &len, err, sizeof err);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | (unsigned char)raw[i];
    long long data = 0;
    for (int i = 0; i < NT; i++) data += 4 * st_numel(&tens[i]);
    printf("file %zu bytes: header %llu bytes, data %lld bytes\n", len, (unsigned long long)hl, data);
    printf("header: %.*s\n", (int)hl, raw + 8);
    CHECK((8 + hl) % 8 == 0, "data starts at a multiple of 8 (%llu)", (unsigned long long)(8 + hl));
    CHECK(raw[8] == '{' && (raw[8 + hl - 1] == ' ' || raw[8 + hl - 1] == '}'), "header is a padded JSON object");
    CHECK(len == 8 + hl + (size_t)data, "file size = 8 + header + data");
    free(raw);

    st_file f;
    rc = st_load(path, &f, err, sizeof err);
    CHECK(rc == 0, "load: %s", err);
    if (rc != 0) return;
    CHECK(f.n == NT, "tensor count %d", f.n);
    int same_order = 1;
    for (int i = 0; i < NT && i < f.n; i++) same_order &= !strcmp(f.t[i].name, tens[i].name);
    CHECK(same_order, "tensors come back in the order given");
    for (int i = 0; i < NT; i++) {
        const st_tensor *t = st_find(&f, tens[i].name);
        CHECK(t != NULL, "find '%s'", tens[i].name);
        if (!t) continue;
        int shape_ok = t->ndim == tens[i].ndim &&
                       !memcmp(t->shape, tens[i].shape, sizeof(long long) * (size_t)t->ndim);
        long long n = st_numel(t);
        int data_ok = shape_ok && !memcmp(t->data, tens[i].data, sizeof(float) * (size_t)n);
        printf("%-20s ndim %d numel %-4lld shape %s data %s\n", t->name, t->ndim, n,
               shape_ok ? "same" : "DIFFERS", data_ok ? "bit-identical" : "DIFFERS");
        CHECK(shape_ok && data_ok, "tensor '%s' exact", t->name);
    }
    CHECK(st_find(&f, "nope") == NULL, "st_find of an absent name is NULL");
    CHECK(f.nmeta == 4, "metadata count %d", f.nmeta);
    for (int i = 0; i < 4; i++) {
        const char *v = st_meta(&f, mkeys[i]);
        CHECK(v && !strcmp(v, mvals[i]), "metadata '%s' exact (got %s)", mkeys[i], v ? v : "NULL");
    }
    printf("metadata 'config' round trip: %s\n", st_meta(&f, "config"));
    CHECK(st_meta(&f, "absent") == NULL, "st_meta of an absent key is NULL");
    st_free(&f);
    CHECK(f.n == 0 && f.t == NULL, "st_free clears the struct");
}

static void test_truncations(const char *good) {
    char err[512], p[512];
    size_t len;
    char *raw = read_file(good, &len, err, sizeof err);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | (unsigned char)raw[i];
    struct { size_t at; const char *what, *label; } cuts[] = {
        {0, "truncated", "empty file"},
        {5, "truncated", "cut inside length"},
        {8 + hl / 2, "header length", "cut inside header"},
        {8 + hl + 10, "truncated", "cut inside data"},
        {len - 1, "truncated", "cut last byte"},
    };
    tmp_path(p, sizeof p, "cut.safetensors");
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        write_raw(p, raw, cuts[k].at);
        expect_fail(p, cuts[k].what, cuts[k].label);
    }
    /* Trailing bytes after the last tensor. */
    tmp_path(p, sizeof p, "long.safetensors");
    FILE *f = fopen(p, "wb");
    fwrite(raw, 1, len, f);
    fwrite("xxxx", 1, 4, f);
    fclose(f);
    expect_fail(p, "trailing", "trailing data");
    /* Garbage in the header: the ':' after "__metadata__" (header byte 15) becomes '#'. */
    raw[8 + 15] = '#';
    tmp_path(p, sizeof p, "garbage.safetensors");
    write_raw(p, raw, len);
    expect_fail(p, "at header byte 15", "garbage in header");
    free(raw);
    /* A header length far beyond the file. */
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, '{', '}'};
    tmp_path(p, sizeof p, "biglen.safetensors");
    write_raw(p, big, sizeof big);
    expect_fail(p, "runs past the end", "huge header length");
}

static void test_handmade(void) {
    char p[512], err[512];
    struct { const char *header; size_t data; const char *what, *label; } bad[] = {
        {"{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "'w' has dtype F16", "wrong dtype"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "do not match its shape", "offsets vs shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps", "overlapping offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap", "gap before tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "run past the end", "offsets out of range"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "appears twice", "duplicate name"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "lacks data_offsets", "missing offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "negative", "negative dim"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "fraction", "fractional dim"},
        {"{\"__metadata__\":{\"k\":3}}", 0, "must be strings", "non-string metadata"},
        {"{\"__metadata__\":{\"k\":\"v\\q\"}}", 0, "bad escape", "bad escape"},
        {"{\"__metadata__\":{\"k\":\"v}}   ", 0, "unterminated", "unterminated string"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, "after the header", "data after object"},
        {"[1,2]", 0, "expected '{'", "not an object"},
    };
    tmp_path(p, sizeof p, "hand.safetensors");
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        write_handmade(p, bad[k].header, bad[k].data);
        expect_fail(p, bad[k].what, bad[k].label);
    }
    /* A valid header written differently from ours: whitespace, key order, escapes. */
    write_handmade(p, " { \"t\\u0041\\/x\" : { \"shape\" : [ 2 , 1 ] , \"data_offsets\" : [ 0 , 8 ] , \"dtype\" : \"F32\" } ,"
                      " \"__metadata__\" : { \"k\\u00e9\" : \"a\\\"b\\\\c\\nd\\te\" } }\n", 8);
    st_file f;
    int rc = st_load(p, &f, err, sizeof err);
    CHECK(rc == 0, "hand-written header loads: %s", err);
    if (rc == 0) {
        const st_tensor *t = st_find(&f, "tA/x");
        const char *v = st_meta(&f, "k\xc3\xa9");
        printf("hand-written header: tensor 'tA/x' %s, metadata %s\n", t ? "found" : "MISSING", v ? "found" : "MISSING");
        CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 1 && t->data[0] == 0 && t->data[1] == 0,
              "escaped tensor name and shape");
        CHECK(v && !strcmp(v, "a\"b\\c\nd\te"), "escaped metadata value");
        st_free(&f);
    }
    tmp_path(p, sizeof p, "no_such.safetensors");
    expect_fail(p, "cannot open", "missing file");
}

static int same_file(const char *path, const char *data, size_t len) {
    char err[256];
    size_t n;
    char *now = read_file(path, &n, err, sizeof err);
    int same = now && n == len && !memcmp(now, data, len);
    free(now);
    return same;
}

static void test_atomic(const char *good) {
    char err[512], p[512], tmp[600];
    size_t len;
    char *before = read_file(good, &len, err, sizeof err);
    tmp_path(p, sizeof p, "no_dir/x.safetensors");
    int rc = st_save(p, tens, NT, NULL, NULL, 0, err, sizeof err);
    printf("save into a missing directory -> rc=%d: %s\n", rc, err);
    CHECK(rc == -1 && strstr(err, p), "save into a missing directory fails, naming the path");
    tmp_path(p, sizeof p, "no_dir");
    CHECK(!exists(p), "nothing created");
    CHECK(same_file(good, before, len), "existing file untouched");

    /* Invalid input (a name used twice) over the existing file: refused before anything is written. */
    st_tensor dup[2] = {tens[0], tens[0]};
    rc = st_save(good, dup, 2, NULL, NULL, 0, err, sizeof err);
    printf("save with a duplicate name -> rc=%d: %s\n", rc, err);
    CHECK(rc == -1 && strstr(err, good), "duplicate names refused");
    snprintf(tmp, sizeof tmp, "%s.tmp", good);
    CHECK(same_file(good, before, len) && !exists(tmp), "existing file untouched, no .tmp");

    /* Saving a smaller set over it replaces it whole. */
    rc = st_save(good, &tens[0], 1, NULL, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "save over existing: %s", err);
    st_file f;
    rc = st_load(good, &f, err, sizeof err);
    CHECK(rc == 0 && f.n == 1 && f.nmeta == 0 && !strcmp(f.t[0].name, tens[0].name) &&
          !memcmp(f.t[0].data, tens[0].data, 7 * sizeof(float)), "replaced file holds only the new tensor");
    printf("after overwrite: %d tensor(s), %d metadata, %s\n", f.n, f.nmeta, rc == 0 ? "loads" : err);
    st_free(&f);
    CHECK(!exists(tmp), "no .tmp after overwrite");
    /* No tensors and no metadata at all is a valid file too. */
    rc = st_save(good, NULL, 0, NULL, NULL, 0, err, sizeof err);
    rc = rc ? rc : st_load(good, &f, err, sizeof err);
    CHECK(rc == 0 && f.n == 0, "empty file round trip: %s", rc ? err : "ok");
    st_free(&f);
    free(before);
}

int main(void) {
    srand(4321);
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }
    char good[512];
    tmp_path(good, sizeof good, "good.safetensors");
    test_round_trip(good);
    test_truncations(good);
    test_handmade();
    test_atomic(good);
    for (int i = 0; i < NT; i++) free(tens[i].data);
    const char *names[] = {"good.safetensors", "cut.safetensors", "long.safetensors", "garbage.safetensors",
                           "biglen.safetensors", "hand.safetensors"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tmp_path(p, sizeof p, names[i]);
        remove(p);
    }
    CHECK(rmdir(tmpdir) == 0, "temporary directory %s removed (empty)", tmpdir);
    TEST_END();
}
