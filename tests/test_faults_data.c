/* IDX faults (issue 16): a gzip file cut before its CRC trailer (all data present) was accepted
 * unverified; a label of 200 made 201 classes; a FIFO given as a data file blocked. Plus the run
 * folder's lock (run_lock): a second run into one folder is refused, naming the holder's pid and
 * start time; a killed holder frees it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "idx.h"
#include "runutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/clgan_test_faults_data_XXXXXX";

static const char *tpath(const char *name) {
    static char p[2][600];
    static int k;
    char *o = p[k++ % 2];
    snprintf(o, sizeof p[0], "%s/%s", tmpdir, name);
    return o;
}

/* A gzip'ed idx1 label file with n labels label(i); then `cut` bytes removed from its end. */
static void write_labels_gz(const char *path, int n, int (*label)(int), long cut) {
    gzFile g = gzopen(path, "wb");
    unsigned char h[8] = {0, 0, 8, 1, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
    if (!g || gzwrite(g, h, 8) != 8) die("gzwrite %s", path);
    for (int i = 0; i < n; i++) {
        unsigned char b = (unsigned char)label(i);
        if (gzwrite(g, &b, 1) != 1) die("gzwrite %s", path);
    }
    if (gzclose(g) != Z_OK) die("gzclose %s", path);
    struct stat st;
    if (cut && (stat(path, &st) != 0 || truncate(path, st.st_size - cut) != 0)) die("truncate %s", path);
}

static int ten(int i) { return (i * 7) % 10; }
static int with_200(int i) { return i == 33 ? 200 : i % 10; }

static void test_idx(void) {
    char err[512] = "";
    unsigned char *lab = NULL;
    int n = 0;
    write_labels_gz(tpath("ok.gz"), 100, ten, 0);
    int rc = idx_load_labels(tpath("ok.gz"), &lab, &n, err, sizeof err);
    CHECK(rc == 0 && n == 100 && lab[7] == 9, "whole gzip loads: %s", rc ? err : "ok");
    free(lab);
    for (long cut = 8; cut >= 1; cut -= 7) {
        write_labels_gz(tpath("notrailer.gz"), 100, ten, cut);
        rc = idx_load_labels(tpath("notrailer.gz"), &lab, &n, err, sizeof err);
        CHECK(rc == -1 && lab == NULL && strstr(err, "trailer"), "gzip without the last %ld trailer bytes refused: %s",
              cut, err);
        printf("trailer cut by %ld: %s\n", cut, err);
    }
    write_labels_gz(tpath("l200.gz"), 100, with_200, 0);
    rc = idx_load_labels(tpath("l200.gz"), &lab, &n, err, sizeof err);
    CHECK(rc == -1 && lab == NULL && n == 0 && strstr(err, "label 200 at index 33"), "label 200 refused: %s", err);
    printf("labels: %s\n", err);
    rc = idx_load_labels_range(tpath("ok.gz"), 8, &lab, &n, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "label 9 at index 7 is outside 0..8"), "label above a caller's range refused: %s",
          err);
    const char *fifo = tpath("fifo.gz");
    if (mkfifo(fifo, 0600) != 0) die("mkfifo %s", fifo);
    alarm(10); /* a hang is a failure */
    rc = idx_load_labels(fifo, &lab, &n, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file"), "FIFO refused: %s", err);
    idx_images im;
    rc = idx_load_images(fifo, &im, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "not a regular file"), "FIFO refused for images: %s", err);
    alarm(0);
}

static void test_lock(void) {
    char err[1024] = "";
    int fd = run_lock(tmpdir, err, sizeof err);
    CHECK(fd >= 0, "first lock: %s", fd < 0 ? err : "ok");
    int fd2 = run_lock(tmpdir, err, sizeof err);
    char mine[32];
    snprintf(mine, sizeof mine, "pid %ld ", (long)getpid());
    CHECK(fd2 == -1 && strstr(err, "in use by another run") && strstr(err, mine) && strstr(err, "started 2"),
          "second lock refused, naming pid and start: %s", err);
    printf("lock: %s\n", err);
    run_unlock(fd);
    fd = run_lock(tmpdir, err, sizeof err);
    CHECK(fd >= 0, "lock again after unlock: %s", fd < 0 ? err : "ok");
    run_unlock(fd);
    /* A child takes the lock and is killed with SIGKILL: the lock goes with it. */
    int pipefd[2];
    if (pipe(pipefd) != 0) die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        int f = run_lock(tmpdir, err, sizeof err);
        char c = f >= 0 ? 'y' : 'n';
        if (write(pipefd[1], &c, 1) != 1) _exit(2);
        pause();
        _exit(0);
    }
    char c = 0;
    if (read(pipefd[0], &c, 1) != 1) c = 0;
    CHECK(c == 'y', "child took the lock");
    snprintf(mine, sizeof mine, "pid %ld ", (long)pid);
    fd = run_lock(tmpdir, err, sizeof err);
    CHECK(fd == -1 && strstr(err, mine), "held by the child, named: %s", err);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fd = run_lock(tmpdir, err, sizeof err);
    CHECK(fd >= 0, "free after the holder was killed: %s", fd < 0 ? err : "ok");
    run_unlock(fd);
    fd = run_lock(tpath("missing/dir"), err, sizeof err);
    CHECK(fd == -1 && strstr(err, "cannot open"), "missing folder: %s", err);
    close(pipefd[0]);
    close(pipefd[1]);
}

int main(void) {
    if (!mkdtemp(tmpdir)) die("mkdtemp");
    test_idx();
    test_lock();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
    TEST_END();
}
