/* Resume equivalence: N steps in one go equal N/2 steps, a checkpoint, a resume and N/2 more,
 * weight for weight and moment for moment, with the same losses logged. Also: a checkpoint round
 * trip, and a truncated checkpoint refused with its path named. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint.h"
#include "util.h"
#include "vae.h"

static const char *common_sets[] = {
    "data.train_limit=640", "train.batch_size=64", "run.log_every=4", "eval.every=1000000", "train.epochs=3",
    "vae.hidden=32",
};

static int run(clg_ctx *cl, const char *dir, int max_steps, int resume) {
    char err[2048], path[4200], set[64];
    cfg *c = model_schema(&vae_model);
    for (size_t i = 0; i < sizeof common_sets / sizeof *common_sets; i++)
        if (cfg_set(c, common_sets[i], err, sizeof err)) { printf("%s\n", err); exit(1); }
    snprintf(set, sizeof set, "train.max_steps=%d", max_steps);
    if (cfg_set(c, set, err, sizeof err) || cfg_set_value(c, "run", "dir", dir, err, sizeof err) ||
        mkdir_p(dir, err, sizeof err)) { printf("%s\n", err); exit(1); }
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if (cfg_write(c, path, err, sizeof err)) { printf("%s\n", err); exit(1); }
    int rc = run_train(&vae_model, c, cl, dir, resume);
    cfg_free(c);
    return rc;
}

static void compare_checkpoints(const char *a, const char *b) {
    st_file fa, fb;
    char err[2048];
    CHECK(st_load(a, &fa, err, sizeof err) == 0, "%s", err);
    CHECK(st_load(b, &fb, err, sizeof err) == 0, "%s", err);
    CHECK(fa.n == fb.n && fa.n == 30, "tensor counts %d and %d (want 30: 10 params, 2 moments each)", fa.n, fb.n);
    int differ = 0;
    for (int i = 0; i < fa.n; i++) {
        const st_tensor *tb = st_find(&fb, fa.t[i].name);
        if (!tb || st_numel(tb) != st_numel(&fa.t[i]) ||
            memcmp(tb->data, fa.t[i].data, (size_t)st_numel(tb) * sizeof(float)) != 0) {
            printf("differs: %s\n", fa.t[i].name);
            differ++;
        }
    }
    printf("%s %d tensors (weights, adam_m, adam_v) bit-identical between one run and a resumed one\n",
           differ ? "FAIL" : "ok  ", fa.n);
    CHECK(!differ, "%d tensors differ", differ);
    const char *sa = st_meta(&fa, "step"), *sb = st_meta(&fb, "step"), *ta = st_meta(&fa, "adam_t"), *tb = st_meta(&fb, "adam_t");
    CHECK(sa && sb && !strcmp(sa, "20") && !strcmp(sb, "20"), "step metadata %s %s", sa, sb);
    CHECK(ta && tb && !strcmp(ta, "20") && !strcmp(tb, "20"), "adam_t metadata %s %s", ta, tb);
    st_free(&fa);
    st_free(&fb);
}

static void compare_files(const char *a, const char *b, const char *what) {
    char err[2048];
    size_t la, lb;
    char *x = read_file(a, &la, err, sizeof err), *y = read_file(b, &lb, err, sizeof err);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    printf("%s %s identical (%zu bytes)\n", same ? "ok  " : "FAIL", what, la);
    CHECK(same, "%s differ", what);
    free(x);
    free(y);
}

static void truncated_checkpoint(const char *dir) {
    char path[4200], cut[4200], err[2048];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    size_t len;
    char *data = read_file(path, &len, err, sizeof err);
    CHECK(data != NULL, "%s", err);
    if (!data) return;
    write_file_atomic(cut, data, len / 2, err, sizeof err);
    st_file f;
    int rc = st_load(cut, &f, err, sizeof err);
    printf("%s truncated checkpoint refused: %s\n", rc && strstr(err, cut) ? "ok  " : "FAIL", err);
    CHECK(rc != 0 && strstr(err, cut), "truncated checkpoint must fail naming its path");
    if (rc == 0) st_free(&f);
    free(data);
}

int main(void) {
    char err[2048], tmpl[] = "/tmp/clgan_resume_XXXXXX";
    clg_ctx *cl = clg_open(NULL, 0, err, sizeof err);
    if (!cl) { printf("%s\n", err); return 1; }
    char *root = mkdtemp(tmpl);
    char a[256], b[256], pa[300], pb[300];
    snprintf(a, sizeof a, "%s/straight", root);
    snprintf(b, sizeof b, "%s/resumed", root);
    printf("-- 20 steps in one run (10 steps per epoch, so the resume point is an epoch boundary + mid-epoch)\n");
    CHECK(run(cl, a, 20, 0) == 0, "straight run failed");
    printf("-- 13 steps, then resume to 20\n");
    CHECK(run(cl, b, 13, 0) == 0, "first half failed");
    CHECK(run(cl, b, 20, 1) == 0, "resumed half failed");
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", a);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    compare_checkpoints(pa, pb);
    snprintf(pa, sizeof pa, "%s/losses.csv", a);
    snprintf(pb, sizeof pb, "%s/losses.csv", b);
    compare_files(pa, pb, "losses.csv of both runs");
    truncated_checkpoint(a);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
    clg_close(cl);
    TEST_END();
}
