/* Config faults (issue 16): a key given twice is an error naming both lines (it was last-wins); a
 * float that underflows (lr = 1e-400 parsed as 0) or leaves float's range is refused; Adam's beta1
 * and beta2 = 1 (a division by zero in the bias correction) are refused by the real key table; so is
 * an empty run.dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "model.h"
#include "util.h"

static char dir[] = "/tmp/clgan_test_faults_config_XXXXXX";

static const char *write_ini(const char *name, const char *text) {
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) die("cannot write %s", path);
    fclose(f);
    return path;
}

static cfg *common_cfg(void) { return model_schema(model_find("vae")); } /* the shared keys, and the VAE's */

static void test_duplicates(void) {
    char err[4096] = "";
    cfg *c = common_cfg();
    const char *p = write_ini("dup.ini", "[train]\nlr = 1e-3\nepochs = 3\n\n[run]\nseed = 4\n[train]\nlr = 2e-3\n");
    int rc = cfg_parse_file(c, p, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "dup.ini:8:") && strstr(err, "train.lr") && strstr(err, "line 2"),
          "a key given twice in two [train] blocks: error naming both lines: %s", err);
    CHECK(cfg_float(c, "train", "lr") == 1e-3, "the config is left unchanged: lr = %g", cfg_float(c, "train", "lr"));
    printf("duplicate: %s\n", err);
    p = write_ini("dup2.ini", "[train]\nepochs = 5\nepochs = 5\n");
    rc = cfg_parse_file(c, p, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "dup2.ini:3:") && strstr(err, "line 2"), "even with the same value: %s", err);
    p = write_ini("ok.ini", "[train]\nepochs = 5\n");
    rc = cfg_parse_file(c, p, err, sizeof err);
    rc |= cfg_parse_file(c, p, err, sizeof err);
    CHECK(rc == 0 && cfg_int(c, "train", "epochs") == 5, "the same file parsed twice is no duplicate: %s", rc ? err : "ok");
    rc = cfg_set(c, "train.epochs=6", err, sizeof err);
    CHECK(rc == 0 && cfg_int(c, "train", "epochs") == 6, "--set after the file still overrides: %s", rc ? err : "ok");
    cfg_free(c);
}

static void test_floats(void) {
    static const char *const bad[] = {"1e-400", "1e-310", "-1e-39", "1e39"};
    char err[4096] = "", set[64];
    cfg *c = common_cfg();
    for (int i = 0; i < 4; i++) {
        snprintf(set, sizeof set, "train.eps=%s", bad[i]);
        int rc = cfg_set(c, set, err, sizeof err);
        CHECK(rc == -1 && (strstr(err, "underflows") || strstr(err, "float range")), "%s refused: %s", set, err);
        printf("%s\n", err);
    }
    const char *p = write_ini("lr.ini", "[train]\nlr = 1e-400\n");
    int rc = cfg_parse_file(c, p, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "lr.ini:2:") && strstr(err, "underflows"), "lr = 1e-400 in a file refused: %s", err);
    rc = cfg_set(c, "train.weight_decay=0", err, sizeof err) | cfg_set(c, "train.eps=1e-37", err, sizeof err);
    CHECK(rc == 0 && cfg_float(c, "train", "eps") == 1e-37, "0 and 1e-37 (a normal float) accepted: %s", rc ? err : "ok");
    cfg_free(c);
}

static void test_open_bound(void) {
    char err[4096] = "";
    cfg *c = common_cfg();
    const char *const key[2] = {"beta1", "beta2"};
    for (int i = 0; i < 2; i++) {
        char set[64];
        snprintf(set, sizeof set, "train.%s=1", key[i]);
        int rc = cfg_set(c, set, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "[0, 1)"), "%s refused, the range shown as [0, 1): %s", set, err);
        printf("%s\n", err);
        snprintf(set, sizeof set, "train.%s=0.99999", key[i]);
        rc = cfg_set(c, set, err, sizeof err);
        CHECK(rc == 0, "%s accepted: %s", set, rc ? err : "ok");
        snprintf(set, sizeof set, "train.%s=0", key[i]);
        rc = cfg_set(c, set, err, sizeof err);
        CHECK(rc == 0, "%s accepted: %s", set, rc ? err : "ok");
    }
    cfg_free(c);
}

/* An empty run.dir said only "cannot create ''": now the key's length range says it. */
static void test_empty_string(void) {
    char err[4096] = "";
    cfg *c = common_cfg();
    int rc = cfg_set(c, "run.dir=", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "must not be empty"), "empty run.dir refused: %s", err);
    printf("%s\n", err);
    const char *p = write_ini("dir.ini", "[run]\ndir = \"\"\n");
    rc = cfg_parse_file(c, p, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "dir.ini:2:") && strstr(err, "run.dir") && strstr(err, "must not be empty"),
          "empty run.dir in a file refused: %s", err);
    rc = cfg_set(c, "run.dir=x", err, sizeof err);
    CHECK(rc == 0 && !strcmp(cfg_str(c, "run", "dir"), "x"), "run.dir = x accepted: %s", rc ? err : "ok");
    cfg_free(c);
}

int main(void) {
    if (!mkdtemp(dir)) die("mkdtemp");
    test_duplicates();
    test_floats();
    test_open_bound();
    test_empty_string();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    TEST_END();
}
