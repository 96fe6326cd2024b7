/* The kernel-binary cache (issue 16): a truncated cache file made every later run segfault in the
 * driver. Each run here is a child process (a crash shows as a signal) with CLGAN_CACHE_DIR set to
 * a fresh folder: a first run writes the cache; then the file is truncated, corrupted in the
 * middle, and replaced by a bare binary of the old format; every later run must still compute the
 * right values, and leave a valid cache file (magic, length, checksum) behind. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "device.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_faults_cache_XXXXXX";
static char binpath[700];

/* One run: open the device, fill a buffer through a kernel, read it back. Exit 0 when right. */
static int child_run(void) {
    char err[2048];
    clg_ctx *cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) {
        printf("clg_open: %s\n", err);
        return 1;
    }
    float v[7] = {0};
    cl_mem m = clg_alloc(cl, 7);
    clg_fill(cl, m, 0, 7, 2.5f);
    clg_read(cl, m, 0, 7, v);
    int ok = 1;
    for (int i = 0; i < 7; i++) ok &= v[i] == 2.5f;
    clReleaseMemObject(m);
    clg_close(cl);
    return ok ? 0 : 1;
}

/* Runs child_run in a child; returns "ok", or how it ended. */
static const char *run(char *buf, size_t n) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(child_run());
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "ok";
    if (WIFSIGNALED(st)) snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
    else snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    return buf;
}

/* The one .bin file in tmpdir: its path in binpath and its size; -1 if there is not exactly one. */
static long find_bin(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int count = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".bin")) {
            snprintf(binpath, sizeof binpath, "%s/%s", tmpdir, e->d_name);
            count++;
        }
    }
    if (d) closedir(d);
    struct stat st;
    return count == 1 && stat(binpath, &st) == 0 ? (long)st.st_size : -1;
}

/* Whether the cache file's header holds: magic, length, FNV-1a 64 checksum of the rest. */
static int valid_cache(void) {
    size_t len;
    char err[512];
    unsigned char *f = (unsigned char *)read_file(binpath, &len, err, sizeof err);
    if (!f) return 0;
    uint64_t want_len = 0, want_sum = 0;
    for (int i = 7; i >= 0 && len >= 24; i--) {
        want_len = want_len << 8 | f[8 + i];
        want_sum = want_sum << 8 | f[16 + i];
    }
    int ok = len > 24 && !memcmp(f, "CLGANBN1", 8) && want_len == len - 24 &&
             want_sum == fnv1a64(f + 24, len - 24, FNV1A64_INIT);
    free(f);
    return ok;
}

int main(void) {
    if (!mkdtemp(tmpdir)) die("mkdtemp");
    setenv("CLGAN_CACHE_DIR", tmpdir, 1);
    char why[64];
    const char *r = run(why, sizeof why);
    long full = find_bin();
    CHECK(!strcmp(r, "ok") && full > 24 && valid_cache(), "first run (%s) wrote a valid cache file of %ld bytes", r,
          full);
    printf("first run: %s, cache %s (%ld bytes, header %s)\n", r, binpath, full, valid_cache() ? "valid" : "INVALID");
    for (int k = 0; k < 3 && full > 24; k++) {
        const char *what = k == 0 ? "truncated to half" : k == 1 ? "one byte flipped in the middle" : "old format (no header)";
        size_t len;
        char err[512];
        unsigned char *f = (unsigned char *)read_file(binpath, &len, err, sizeof err);
        if (!f) die("%s", err);
        if (k == 0) len /= 2;
        if (k == 1) f[len / 2] ^= 0x5a;
        FILE *o = fopen(binpath, "wb");
        const unsigned char *start = k == 2 ? f + 24 : f;
        size_t n = k == 2 ? len - 24 : len;
        if (!o || fwrite(start, 1, n, o) != n) die("cannot write %s", binpath);
        fclose(o);
        free(f);
        r = run(why, sizeof why);
        long now = find_bin();
        CHECK(!strcmp(r, "ok"), "cache %s: the run computes the right values (%s)", what, r);
        CHECK(now == full && valid_cache(), "cache %s: rebuilt and rewritten (%ld bytes, header %s)", what, now,
              valid_cache() ? "valid" : "invalid");
        printf("cache %s: run %s, file rewritten to %ld bytes\n", what, r, now);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    TEST_END();
}
