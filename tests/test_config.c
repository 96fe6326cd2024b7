/* Tests host/config.c: defaults, parsing (comments, quotes; duplicates and float underflow in test_faults_config.c), every error with its
 * "FILE:LINE:" prefix, --set, write/read round trip, cfg_peek, the Markdown table, and that
 * programming errors abort. Temporary files live in a mkdtemp directory under /tmp. */
#include "config.h"

#include "check.h"
#include "util.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Like CHECK, but also prints the comparisons that pass. */
#define T(cond, ...)                                                                               \
    do {                                                                                           \
        int t_ok_ = !!(cond);                                                                      \
        if (t_ok_) {                                                                               \
            printf("ok   ");                                                                       \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
        CHECK(t_ok_, __VA_ARGS__);                                                                 \
    } while (0)

static const cfg_key keys[] = {
    {"model", "type", CFG_CHOICE, "dcgan", "model architecture", "dcgan|stylegan|vae", 0, 0},
    {"model", "width", CFG_INT, "64", "base channel count", NULL, 1, 4096},
    {"train", "epochs", CFG_INT, "10", "passes over the data", NULL, 1, 100000},
    {"train", "batch_size", CFG_INT, "64", "images per step", NULL, 1, 65536},
    {"train", "lr", CFG_FLOAT, "2e-4", "learning rate", NULL, 0, 1},
    {"train", "beta1", CFG_FLOAT, "0.5", "Adam beta1", NULL, 0, 0},
    {"train", "seed", CFG_INT, "-1", "random seed (-1: from the clock)", NULL, 0, 0},
    {"train", "amp", CFG_BOOL, "false", "mixed precision", NULL, 0, 0},
    {"data", "path", CFG_STR, "data/images", "image directory", NULL, 0, 0},
    {"data", "name", CFG_STR, "", "run name | free text", NULL, 0, 0},
};
static const cfg_key gan_keys[] = {
    {"gan", "mode", CFG_CHOICE, "lsgan", "GAN loss", "lsgan|vanilla|wgangp", 0, 0},
};

static char dir[64];
static char err[8192];

static cfg *new_cfg(void) {
    cfg *c = cfg_new();
    cfg_add_keys(c, keys, (int)(sizeof keys / sizeof keys[0]));
    cfg_add_keys(c, gan_keys, 1);
    return c;
}

static const char *tmp_path(const char *name) {
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

static const char *write_tmp(const char *name, const char *text) {
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Parses text (written to name) into a fresh schema; returns the rc, err holds the message. */
static int parse_text(const char *name, const char *text) {
    cfg *c = new_cfg();
    err[0] = '\0';
    int rc = cfg_parse_file(c, write_tmp(name, text), err, sizeof err);
    cfg_free(c);
    return rc;
}

/* Checks rc == -1 and that err contains every string given (NULL ends the list). */
static void expect_err(const char *what, int rc, ...) {
    va_list ap;
    va_start(ap, rc);
    T(rc == -1, "%s: returns -1 (got %d)", what, rc);
    for (const char *s; (s = va_arg(ap, const char *));)
        T(strstr(err, s) != NULL, "%s: error contains \"%s\"  [%s]", what, s, err);
    va_end(ap);
}

static void test_defaults(void) {
    printf("-- defaults\n");
    cfg *c = new_cfg();
    T(!strcmp(cfg_str(c, "model", "type"), "dcgan"), "model.type = %s", cfg_str(c, "model", "type"));
    T(cfg_int(c, "model", "width") == 64, "model.width = %ld", cfg_int(c, "model", "width"));
    T(cfg_int(c, "train", "epochs") == 10, "train.epochs = %ld", cfg_int(c, "train", "epochs"));
    T(cfg_float(c, "train", "lr") == 2e-4, "train.lr = %g", cfg_float(c, "train", "lr"));
    T(cfg_int(c, "train", "seed") == -1, "train.seed = %ld", cfg_int(c, "train", "seed"));
    T(cfg_bool(c, "train", "amp") == 0, "train.amp = %d", cfg_bool(c, "train", "amp"));
    T(!strcmp(cfg_str(c, "data", "path"), "data/images"), "data.path = %s",
      cfg_str(c, "data", "path"));
    T(!strcmp(cfg_str(c, "data", "name"), ""), "data.name = '%s'", cfg_str(c, "data", "name"));
    T(!strcmp(cfg_str(c, "gan", "mode"), "lsgan"), "gan.mode = %s", cfg_str(c, "gan", "mode"));
    cfg_free(c);
}

static const char good_ini[] =
    "; a comment at the top\n"
    "# another kind of comment\n"
    "\n"
    "[model]\n"
    "type = stylegan   ; inline comment\n"
    "  width = 128\n"
    "\n"
    "[train]\n"
    "epochs = 7\n"
    "batch_size=32\n"
    "lr = 1e-3\n"
    "beta1 = 0.25\n"
    "seed = +42\n"
    "amp = YES\n"
    "\n"
    "[data]\n"
    "path = \"  spaced path ; with semicolon  \"  ; trailing comment\n"
    "name = a;b\n"
    "\n"
    "[gan]\n"
    "mode: wgangp\n";

static void test_good_file(void) {
    printf("-- good file\n");
    cfg *c = new_cfg();
    int rc = cfg_parse_file(c, write_tmp("good.ini", good_ini), err, sizeof err);
    T(rc == 0, "good.ini parses (rc %d, err '%s')", rc, rc ? err : "");
    T(!strcmp(cfg_str(c, "model", "type"), "stylegan"), "inline comment cut: model.type = '%s'",
      cfg_str(c, "model", "type"));
    T(cfg_int(c, "model", "width") == 128, "indented key: model.width = %ld",
      cfg_int(c, "model", "width"));
    T(cfg_int(c, "train", "epochs") == 7, "train.epochs = %ld",
      cfg_int(c, "train", "epochs"));
    T(cfg_int(c, "train", "batch_size") == 32, "no spaces: train.batch_size = %ld",
      cfg_int(c, "train", "batch_size"));
    T(cfg_float(c, "train", "lr") == 1e-3, "train.lr = %.17g", cfg_float(c, "train", "lr"));
    T(cfg_float(c, "train", "beta1") == 0.25, "train.beta1 = %g", cfg_float(c, "train", "beta1"));
    T(cfg_int(c, "train", "seed") == 42, "signed int: train.seed = %ld",
      cfg_int(c, "train", "seed"));
    T(cfg_bool(c, "train", "amp") == 1, "bool YES: train.amp = %d", cfg_bool(c, "train", "amp"));
    T(!strcmp(cfg_str(c, "data", "path"), "  spaced path ; with semicolon  "),
      "quoted string: data.path = '%s'", cfg_str(c, "data", "path"));
    T(!strcmp(cfg_str(c, "data", "name"), "a;b"), "';' without space is no comment: '%s'",
      cfg_str(c, "data", "name"));
    T(!strcmp(cfg_str(c, "gan", "mode"), "wgangp"), "':' separator: gan.mode = %s",
      cfg_str(c, "gan", "mode"));

    rc = cfg_parse_file(c, write_tmp("crlf.ini", "\xEF\xBB\xBF[train]\r\nepochs = 9\r\n"), err,
                        sizeof err);
    T(rc == 0 && cfg_int(c, "train", "epochs") == 9, "BOM and CRLF: rc %d, epochs %ld", rc,
      cfg_int(c, "train", "epochs"));

    /* A failed parse leaves the values as they were. */
    rc = cfg_parse_file(c, write_tmp("half.ini", "[train]\nepochs = 3\nbatch_size = x\n"), err,
                        sizeof err);
    T(rc == -1 && cfg_int(c, "train", "epochs") == 9,
      "failed parse leaves values alone: rc %d, epochs %ld", rc, cfg_int(c, "train", "epochs"));
    cfg_free(c);
}

static void test_value_syntax(void) {
    printf("-- value syntax\n");
    cfg *c = new_cfg();
    static const char *const bools[] = {"true", "FALSE", "Yes", "no", "ON", "off", "1", "0"};
    for (int i = 0; i < 8; i++) {
        int rc = cfg_set_value(c, "train", "amp", bools[i], err, sizeof err);
        T(rc == 0 && cfg_bool(c, "train", "amp") == !(i & 1), "bool '%s' -> %d", bools[i],
          cfg_bool(c, "train", "amp"));
    }
    static const char *const floats[] = {"1e-3", "0.5", "2", "-0.125", ".5"};
    static const double fvals[] = {1e-3, 0.5, 2, -0.125, 0.5};
    for (int i = 0; i < 5; i++) {
        int rc = cfg_set_value(c, "train", "beta1", floats[i], err, sizeof err);
        T(rc == 0 && cfg_float(c, "train", "beta1") == fvals[i], "float '%s' -> %.17g", floats[i],
          cfg_float(c, "train", "beta1"));
    }
    static const char *const ints[] = {"0", "-7", "+12", "9223372036854775807"};
    static const long ivals[] = {0, -7, 12, 9223372036854775807L};
    for (int i = 0; i < 4; i++) {
        int rc = cfg_set_value(c, "train", "seed", ints[i], err, sizeof err);
        T(rc == 0 && cfg_int(c, "train", "seed") == ivals[i], "int '%s' -> %ld", ints[i],
          cfg_int(c, "train", "seed"));
    }
    static const char *const bad_ints[] = {"1.5", "10abc", "", "9223372036854775808", "0x10", " 5"};
    for (int i = 0; i < 6; i++) {
        int rc = cfg_set_value(c, "train", "seed", bad_ints[i], err, sizeof err);
        T(rc == -1 && strstr(err, "train.seed = '") && strstr(err, "integer"),
          "int '%s' rejected  [%s]", bad_ints[i], err);
    }
    T(cfg_int(c, "train", "seed") == 9223372036854775807L, "rejected values change nothing");
    static const char *const bad_floats[] = {"abc", "1.0x", "", "inf", "nan", "1e999"};
    for (int i = 0; i < 6; i++) {
        int rc = cfg_set_value(c, "train", "beta1", bad_floats[i], err, sizeof err);
        T(rc == -1 && strstr(err, "train.beta1 = '"), "float '%s' rejected  [%s]", bad_floats[i],
          err);
    }
    int rc = cfg_set_value(c, "train", "amp", "maybe", err, sizeof err);
    expect_err("bool 'maybe'", rc, "train.amp = 'maybe': not a boolean", NULL);
    rc = cfg_set_value(c, "train", "lr", "2", err, sizeof err);
    expect_err("float out of range", rc, "train.lr = 2: must be in [0, 1]", NULL);
    rc = cfg_set_value(c, "train", "nope", "2", err, sizeof err);
    expect_err("cfg_set_value unknown key", rc, "unknown key 'nope' in [train]", NULL);
    cfg_free(c);
}

static void test_file_errors(void) {
    printf("-- file errors\n");
    int rc = parse_text("bad.ini", "[train]\nepochs = 1\n; comment\nepoch = 3\n");
    expect_err("unknown key", rc, "bad.ini:4: ", "unknown key 'epoch' in [train]",
               "known keys: epochs, batch_size, lr, beta1, seed, amp", "(did you mean 'epochs'?)",
               NULL);
    rc = parse_text("far.ini", "[train]\nxyzzy = 3\n");
    expect_err("unknown key, nothing close", rc, "far.ini:2: unknown key 'xyzzy' in [train]", NULL);
    T(!strstr(err, "did you mean"), "no suggestion for a far key  [%s]", err);
    rc = parse_text("other.ini", "[model]\nlr = 0.1\n");
    expect_err("key of another section", rc, "other.ini:2: unknown key 'lr' in [model]",
               "'lr' is a key of [train]", NULL);
    rc = parse_text("sect.ini", "[model]\ntype = dcgan\n\n[trian]\nepochs = 3\n");
    expect_err("unknown section", rc, "sect.ini:4: unknown section [trian]",
               "known sections: model, train, data, gan", "did you mean [train]", NULL);
    rc = parse_text("empty_sect.ini", "[model]\n[foo]\n");
    expect_err("unknown empty section", rc, "empty_sect.ini:2: unknown section [foo]", NULL);
    rc = parse_text("int.ini", "[train]\n\nepochs = ten\n");
    expect_err("malformed int", rc, "int.ini:3: train.epochs = 'ten': not an integer", NULL);
    rc = parse_text("int2.ini", "[train]\nepochs = 1.5\n");
    expect_err("int 1.5", rc, "int2.ini:2: train.epochs = '1.5': not an integer", NULL);
    rc = parse_text("int3.ini", "[train]\nepochs = 10abc\n");
    expect_err("int 10abc", rc, "int3.ini:2: train.epochs = '10abc': not an integer", NULL);
    rc = parse_text("int4.ini", "[train]\nepochs =\n");
    expect_err("empty int", rc, "int4.ini:2: train.epochs = '': not an integer", NULL);
    rc = parse_text("int5.ini", "[train]\nseed = 99999999999999999999\n");
    expect_err("int overflow", rc, "int5.ini:2: train.seed = '99999999999999999999'",
               "out of range", NULL);
    rc = parse_text("float.ini", "[train]\nlr = fast\n");
    expect_err("malformed float", rc, "float.ini:2: train.lr = 'fast': not a number", NULL);
    rc = parse_text("bool.ini", "[train]\namp = sure\n");
    expect_err("malformed bool", rc, "bool.ini:2: train.amp = 'sure': not a boolean", NULL);
    rc = parse_text("range.ini", "[train]\nepochs = 3\nbatch_size = 0\n");
    expect_err("out of range", rc, "range.ini:3: train.batch_size = 0: must be in [1, 65536]",
               NULL);
    rc = parse_text("choice.ini", "[gan]\nmode = ls\n");
    expect_err("bad choice", rc, "choice.ini:2: gan.mode = 'ls': must be one of lsgan|vanilla|wgangp",
               NULL);
    rc = parse_text("outside.ini", "; no section yet\nepochs = 3\n[train]\n");
    expect_err("key outside any section", rc, "outside.ini:2: ", "outside any section", NULL);
    rc = parse_text("syntax.ini", "[train]\nepochs = 3\nthis line has no equals\n");
    expect_err("syntax error", rc, "syntax.ini:3: syntax error", NULL);
    rc = parse_text("syntax2.ini", "[train\nepochs = 3\n");
    expect_err("unclosed section", rc, "syntax2.ini:1: syntax error", NULL);
    rc = parse_text("first1.ini", "[train]\nno equals here\nepochs = 3\nepoch = 4\n");
    expect_err("syntax error before a key error", rc, "first1.ini:2: syntax error", NULL);
    rc = parse_text("first2.ini", "[train]\nepoch = 4\nepochs = 3\nno equals here\n");
    expect_err("key error before a syntax error", rc, "first2.ini:2: unknown key 'epoch'", NULL);
    rc = parse_text("quote.ini", "[data]\npath = \"unterminated\n");
    expect_err("missing closing quote", rc, "quote.ini:2: data.path = '\"unterminated'",
               "missing closing", NULL);

    char text[600];
    snprintf(text, sizeof text, "[data]\n; fits\npath = \"%0190d\"\npath = %0193d\n", 0, 0);
    rc = parse_text("long.ini", text);
    expect_err("over-long line", rc, "long.ini:4: line longer than 199 characters", NULL);
    snprintf(text, sizeof text, "[data]\npath = \"%0190d\"\n", 0);
    cfg *c = new_cfg();
    rc = cfg_parse_file(c, write_tmp("fits.ini", text), err, sizeof err);
    T(rc == 0 && strlen(cfg_str(c, "data", "path")) == 190,
      "a line of exactly 199 characters is read whole (rc %d, len %zu)", rc,
      strlen(cfg_str(c, "data", "path")));
    err[0] = '\0';
    rc = cfg_parse_file(c, tmp_path("missing.ini"), err, sizeof err);
    expect_err("missing file", rc, "missing.ini: cannot open: No such file or directory", NULL);
    rc = cfg_parse_file(c, dir, err, sizeof err);
    expect_err("a directory", rc, ": cannot open: Is a directory", NULL);
    cfg_free(c);
}

static void test_set(void) {
    printf("-- --set\n");
    cfg *c = new_cfg();
    int rc = cfg_set(c, "train.epochs=42", err, sizeof err);
    T(rc == 0 && cfg_int(c, "train", "epochs") == 42, "--set train.epochs=42 -> %ld",
      cfg_int(c, "train", "epochs"));
    rc = cfg_set(c, " train.lr = 0.01 ", err, sizeof err);
    T(rc == 0 && cfg_float(c, "train", "lr") == 0.01, "--set ' train.lr = 0.01 ' -> %g",
      cfg_float(c, "train", "lr"));
    rc = cfg_set(c, "data.name=\" x y \"", err, sizeof err);
    T(rc == 0 && !strcmp(cfg_str(c, "data", "name"), " x y "), "--set quoted -> '%s'",
      cfg_str(c, "data", "name"));
    rc = cfg_set(c, "data.path=a=b", err, sizeof err);
    T(rc == 0 && !strcmp(cfg_str(c, "data", "path"), "a=b"), "--set value with '=' -> '%s'",
      cfg_str(c, "data", "path"));
    rc = cfg_set(c, "gan.mode=vanilla", err, sizeof err);
    T(rc == 0 && !strcmp(cfg_str(c, "gan", "mode"), "vanilla"), "--set choice -> %s",
      cfg_str(c, "gan", "mode"));

    rc = cfg_set(c, "train.epoch=3", err, sizeof err);
    expect_err("--set unknown key", rc, "--set train.epoch=3: unknown key 'epoch' in [train]",
               "did you mean 'epochs'", NULL);
    rc = cfg_set(c, "trian.epochs=3", err, sizeof err);
    expect_err("--set unknown section", rc, "--set trian.epochs=3: unknown section [trian]", NULL);
    rc = cfg_set(c, "train.epochs=ten", err, sizeof err);
    expect_err("--set malformed", rc, "--set train.epochs=ten: not an integer", NULL);
    rc = cfg_set(c, "train.batch_size=100000", err, sizeof err);
    expect_err("--set out of range", rc, "--set train.batch_size=100000: must be in [1, 65536]",
               NULL);
    rc = cfg_set(c, "train.epochs", err, sizeof err);
    expect_err("--set missing '='", rc, "--set train.epochs: expected section.key=value", NULL);
    rc = cfg_set(c, "epochs=3", err, sizeof err);
    expect_err("--set missing '.'", rc, "--set epochs=3: expected section.key=value", NULL);
    rc = cfg_set(c, ".epochs=3", err, sizeof err);
    expect_err("--set empty section", rc, "expected section.key=value", NULL);
    T(cfg_int(c, "train", "epochs") == 42, "failed --set changes nothing: epochs %ld",
      cfg_int(c, "train", "epochs"));
    cfg_free(c);
}

/* Every value of a and b equal (floats bit for bit). */
static int same_values(const cfg *a, const cfg *b) {
    int same = 1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *s = keys[i].section, *k = keys[i].key;
        switch (keys[i].type) {
        case CFG_INT: same &= cfg_int(a, s, k) == cfg_int(b, s, k); break;
        case CFG_FLOAT: same &= cfg_float(a, s, k) == cfg_float(b, s, k); break;
        case CFG_BOOL: same &= cfg_bool(a, s, k) == cfg_bool(b, s, k); break;
        default: same &= !strcmp(cfg_str(a, s, k), cfg_str(b, s, k)); break;
        }
    }
    return same && !strcmp(cfg_str(a, "gan", "mode"), cfg_str(b, "gan", "mode"));
}

static void test_round_trip(void) {
    printf("-- write / read round trip\n");
    static const char *const strings[] = {"", "  lead and trail  ", "semi ; colon", ";first",
                                          "\"quoted\"", "a\"b", "tab\there", "x = y: z"};
    for (int i = 0; i < 8; i++) {
        cfg *a = new_cfg(), *b = new_cfg();
        int rc = cfg_set_value(a, "data", "name", strings[i], err, sizeof err);
        rc |= cfg_set_value(a, "train", "lr", "0.30000000000000004", err, sizeof err);
        rc |= cfg_set_value(a, "train", "beta1", i & 1 ? "0.1" : "1e-30", err, sizeof err);
        rc |= cfg_set(a, "train.amp=on", err, sizeof err);
        rc |= cfg_set(a, "gan.mode=wgangp", err, sizeof err);
        const char *path = tmp_path("effective.ini");
        rc |= cfg_write(a, path, err, sizeof err);
        rc |= cfg_parse_file(b, path, err, sizeof err);
        T(rc == 0 && same_values(a, b), "round trip with data.name '%s' (rc %d%s%s)", strings[i],
          rc, rc ? ", err " : "", rc ? err : "");
        T(!strcmp(cfg_str(b, "data", "name"), strings[i]), "  read back '%s'",
          cfg_str(b, "data", "name"));
        cfg_free(a);
        cfg_free(b);
    }

    cfg *c = new_cfg();
    int rc = cfg_set_value(c, "data", "name", " x\" ;y", err, sizeof err);
    expect_err("unwritable value refused", rc, "cannot be written", NULL);
    char big[1100];
    memset(big, 'a', 1024);
    big[1024] = '\0';
    rc = cfg_set_value(c, "data", "name", big, err, sizeof err);
    expect_err("1024 characters refused", rc, "longer than 1023 characters", NULL);
    big[300] = '\0';
    rc = cfg_set_value(c, "data", "name", big, err, sizeof err);
    expect_err("value too long for a line refused", rc, "too long", NULL);
    rc = cfg_set_value(c, "data", "name", "two\nlines", err, sizeof err);
    expect_err("newline refused", rc, "control character", NULL);

    const char *path = tmp_path("effective.ini");
    rc = cfg_write(c, path, err, sizeof err);
    size_t len = 0;
    char *text = read_file(path, &len, err, sizeof err);
    T(rc == 0 && text, "cfg_write wrote %zu bytes", len);
    if (text) {
        char *model = strstr(text, "\n[model]\n"), *train = strstr(text, "\n[train]\n");
        char *data = strstr(text, "\n[data]\n"), *gan = strstr(text, "\n[gan]\n");
        T(model && train && data && gan && model < train && train < data && data < gan,
          "sections in the order added");
        T(strstr(text, "; learning rate (default: 2e-4)\nlr = 2e-4\n") != NULL,
          "doc comment, default and value for train.lr");
        T(strstr(text, "; run name | free text (default: \"\")\nname =\n") != NULL,
          "empty default shown as \"\"");
        T(strstr(text, "epochs = 10\nbatch_size = 64\n") == NULL &&
              strstr(text, "epochs = 10\n; images per step") != NULL,
          "every key preceded by its doc");
        free(text);
    }
    T(access(tmp_path("effective.ini.tmp"), F_OK) != 0, "no temporary file left behind");
    cfg_free(c);
}

static void test_peek(void) {
    printf("-- cfg_peek\n");
    char out[64];
    const char *good = tmp_path("good.ini");
    int rc = cfg_peek(good, "model", "type", out, sizeof out, err, sizeof err);
    T(rc == 0 && !strcmp(out, "stylegan"), "peek model.type -> %d '%s'", rc, rc ? "" : out);
    rc = cfg_peek(good, "train", "epochs", out, sizeof out, err, sizeof err);
    T(rc == 0 && !strcmp(out, "7"), "peek duplicate, later wins -> %d '%s'", rc, rc ? "" : out);
    rc = cfg_peek(good, "data", "path", out, sizeof out, err, sizeof err);
    T(rc == 0 && !strcmp(out, "  spaced path ; with semicolon  "), "peek quoted -> '%s'",
      rc ? "" : out);
    rc = cfg_peek(good, "model", "depth", out, sizeof out, err, sizeof err);
    T(rc == 1, "peek absent key -> %d", rc);
    rc = cfg_peek(tmp_path("sect.ini"), "model", "type", out, sizeof out, err, sizeof err);
    T(rc == 0 && !strcmp(out, "dcgan"), "peek ignores unknown sections -> %d", rc);
    rc = cfg_peek(good, "data", "path", out, 8, err, sizeof err);
    expect_err("peek value longer than out", rc, "good.ini:17: value of data.path is longer", NULL);
    rc = cfg_peek(tmp_path("missing.ini"), "model", "type", out, sizeof out, err, sizeof err);
    expect_err("peek missing file", rc, "missing.ini: cannot open: No such file", NULL);
    rc = cfg_peek(tmp_path("syntax.ini"), "train", "epochs", out, sizeof out, err, sizeof err);
    expect_err("peek syntax error", rc, "syntax.ini:3: syntax error", NULL);
    rc = cfg_peek(tmp_path("long.ini"), "data", "path", out, sizeof out, err, sizeof err);
    expect_err("peek over-long line", rc, "long.ini:4: line longer than 199 characters", NULL);
}

static void test_markdown(void) {
    printf("-- markdown\n");
    cfg *c = new_cfg();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cfg_print_markdown(c, f);
    fclose(f);
    T(strstr(buf, "| Section | Key | Type | Default | Description |\n|---|") == buf, "header row");
    T(strstr(buf, "| `train` | `batch_size` | int in [1, 65536] | `64` | images per step |\n"),
      "int row with range");
    T(strstr(buf, "| `gan` | `mode` | one of `lsgan`, `vanilla`, `wgangp` | `lsgan` | GAN loss |"),
      "choice row");
    T(strstr(buf, "| `data` | `name` | string | (empty) | run name \\| free text |"),
      "'|' escaped, empty default");
    free(buf);
    cfg_free(c);
}

/* Runs fn in a child; true if it died of SIGABRT. */
static int aborts(void (*fn)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        if (!freopen("/dev/null", "w", stderr)) _exit(2);
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void get_unknown(void) { cfg_int(new_cfg(), "train", "epoch"); }
static void get_wrong_type(void) { cfg_int(new_cfg(), "train", "lr"); }
static void str_of_int(void) { cfg_str(new_cfg(), "train", "epochs"); }
static void add_twice(void) { cfg_add_keys(new_cfg(), keys, 1); }
static void bad_default(void) {
    cfg_key k = {"x", "n", CFG_INT, "ten", "", NULL, 0, 0};
    cfg_add_keys(cfg_new(), &k, 1);
}
static void default_out_of_range(void) {
    cfg_key k = {"x", "n", CFG_INT, "0", "", NULL, 1, 5};
    cfg_add_keys(cfg_new(), &k, 1);
}
static void choice_without_choices(void) {
    cfg_key k = {"x", "n", CFG_CHOICE, "a", "", NULL, 0, 0};
    cfg_add_keys(cfg_new(), &k, 1);
}

static void test_programming_errors(void) {
    printf("-- programming errors abort\n");
    T(aborts(get_unknown), "cfg_int of an unknown key aborts");
    T(aborts(get_wrong_type), "cfg_int of a float key aborts");
    T(aborts(str_of_int), "cfg_str of an int key aborts");
    T(aborts(add_twice), "adding a key twice aborts");
    T(aborts(bad_default), "a default that does not parse aborts");
    T(aborts(default_out_of_range), "a default out of range aborts");
    T(aborts(choice_without_choices), "CFG_CHOICE without choices aborts");
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/clgan_test_config_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp failed");
    test_defaults();
    test_good_file();
    test_value_syntax();
    test_file_errors();
    test_set();
    test_round_trip();
    test_peek();
    test_markdown();
    test_programming_errors();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", dir);
    TEST_END();
}
