/* Every INI file shipped in ini/ parses against its model's keys (so a renamed or removed key, a
 * value out of range or a wrong choice shows here, not in a user's first run) and passes the model's
 * own checks of the combination (gan_spec_from_cfg, cyclegan_spec_from_cfg). Run from the repository
 * root. No device is needed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cyclegan.h"
#include "gan.h"
#include "model.h"

static int check_ini(const char *path) {
    char err[4096], type[64];
    if (cfg_peek(path, "model", "type", type, sizeof type, err, sizeof err) < 0) {
        CHECK(0, "%s: %s", path, err);
        return 0;
    }
    const model_desc *m = model_find(type);
    CHECK(m != NULL, "%s: [model] type = %s is not a registered model", path, type);
    if (!m) return 0;
    cfg *c = model_schema(m);
    int ok = cfg_parse_file(c, path, err, sizeof err) == 0;
    CHECK(ok, "%s: %s", path, err);
    if (ok && !strcmp(type, "gan")) {
        gan_spec s;
        ok = gan_spec_from_cfg(c, &s, (int)cfg_int(c, "data", "channels"), 10, err, sizeof err) == 0;
        CHECK(ok, "%s: gan_spec_from_cfg: %s", path, err);
    } else if (ok && !strcmp(type, "cyclegan")) {
        cyclegan_spec s;
        ok = cyclegan_spec_from_cfg(c, &s, err, sizeof err) == 0;
        CHECK(ok, "%s: cyclegan_spec_from_cfg: %s", path, err);
    }
    if (ok) printf("ok   %-24s model %s\n", path, type);
    cfg_free(c);
    return ok;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    DIR *d = opendir("ini");
    if (!d) {
        printf("FAIL cannot open ini/ (run from the repository root)\n");
        return 1;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".ini")) {
            names[n] = malloc(len + 5);
            snprintf(names[n], len + 5, "ini/%s", e->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    CHECK(n >= 10, "ini/ holds %d INI files, expected the shipped ones (10 or more)", n);
    for (int i = 0; i < n; i++) {
        check_ini(names[i]);
        free(names[i]);
    }
    TEST_END();
}
