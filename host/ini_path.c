#include "ini_path.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int ini_resolve(const char *arg, char *out, size_t outlen) {
    snprintf(out, outlen, "%s", arg);
    if (is_file(arg) || strchr(arg, '/')) return 0;
    char exe[4096], dirs[2][4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int ndirs = 0;
    snprintf(dirs[ndirs++], sizeof dirs[0], "ini");
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(dirs[ndirs++], sizeof dirs[0], "%.4000s/ini", exe);
        }
    }
    const char *ext = strstr(arg, ".ini") ? "" : ".ini";
    for (int e = 0; e < 2; e++)
        for (int d = 0; d < ndirs; d++) {
            char cand[8300];
            snprintf(cand, sizeof cand, "%s/%s%s", dirs[d], arg, e ? ext : "");
            if ((e == 0 || ext[0]) && is_file(cand)) {
                snprintf(out, outlen, "%s", cand);
                return 1;
            }
        }
    return 0;
}
