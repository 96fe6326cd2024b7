/* The run folder's PNG plots (host/runutil.c): losses.png has a panel per loss group (800 x 320 each:
 * the VAE's two, CycleGAN's cycle losses apart from the adversarial ones), eval.png a panel per metric
 * column of eval.csv (not epoch or images; "nan" cells of ./evaluate's rows skipped), one 800 x 500
 * panel for a single metric; no eval.csv writes nothing and is no error. The PNG's size is read
 * back from its header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runutil.h"

static char dir[] = "/tmp/clgan-test-plots-XXXXXX";

static void put(const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0) printf("FAIL cannot write %s\n", p), exit(1);
    fclose(f);
}

/* Width and height from the PNG's IHDR; 0 if not a PNG. */
static void png_size(const char *name, int *w, int *h) {
    char p[256];
    unsigned char b[24] = {0};
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    *w = *h = 0;
    if (!f) return;
    if (fread(b, 1, 24, f) == 24 && !memcmp(b + 1, "PNG", 3) && !memcmp(b + 12, "IHDR", 4))
        *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19], *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    fclose(f);
}

static void expect(const char *what, const char *png, int w, int h) {
    int gw, gh;
    png_size(png, &gw, &gh);
    CHECK(gw == w && gh == h, "%s: %s is %dx%d, want %dx%d", what, png, gw, gh, w, h);
    printf("%s %-58s %dx%d (want %dx%d)\n", gw == w && gh == h ? "ok  " : "FAIL", what, gw, gh, w, h);
}

int main(void) {
    if (!mkdtemp(dir)) return printf("FAIL mkdtemp\n"), 1;
    char csv[256], png[256], err[512];
    /* VAE-like losses: recon and loss in one group, kl in another */
    char *text = malloc(200000);
    int n = sprintf(text, "step,recon,kl,loss\n");
    for (int s = 1; s <= 300; s++) n += sprintf(text + n, "%d,%g,%g,%g\n", s, 500.0 / s + 200, 10.0 - 5.0 / s, 500.0 / s + 210);
    put("losses.csv", text);
    const char *vae[3] = {"reconstruction and total", "KL divergence", "reconstruction and total"};
    snprintf(csv, sizeof csv, "%s/losses.csv", dir), snprintf(png, sizeof png, "%s/losses.png", dir);
    int rc = plot_csv(csv, png, "vae losses", vae, err, sizeof err);
    CHECK(rc == 0, "plot_csv: %s", err);
    expect("losses.png, VAE groups: 2 panels", "losses.png", 800, 640);
    /* CycleGAN's names and groups: adversarial, discriminators, cycle, identity */
    n = sprintf(text, "step,G_A,G_B,D_A,D_B,cycle_A,cycle_B,idt_A,idt_B\n");
    for (int s = 1; s <= 50; s++) n += sprintf(text + n, "%d,1,1,0.5,0.5,%g,%g,1,1\n", s, 3.0 / s, 4.0 / s);
    put("losses.csv", text);
    const char *cg[8] = {"generators (adversarial)", "generators (adversarial)", "discriminators", "discriminators",
                         "cycle", "cycle", "identity", "identity"};
    rc = plot_csv(csv, png, "cyclegan losses", cg, err, sizeof err);
    CHECK(rc == 0, "plot_csv: %s", err);
    expect("losses.png, CycleGAN groups: 4 panels, cycle apart", "losses.png", 800, 1280);
    /* eval.csv: one metric, then a column ./evaluate added */
    snprintf(csv, sizeof csv, "%s/eval.csv", dir), snprintf(png, sizeof png, "%s/eval.png", dir);
    int written = -1;
    rc = plot_eval_csv(csv, png, "vae evaluation", &written, err, sizeof err);
    CHECK(rc == 0 && written == 0 && access(png, F_OK) != 0, "no eval.csv: rc %d, written %d", rc, written);
    printf("%s no eval.csv: no eval.png, no error\n", rc == 0 && written == 0 && access(png, F_OK) != 0 ? "ok  " : "FAIL");
    put("eval.csv", "step,epoch,images,test_mse\n100,1,1000,0.035\n200,1,1000,0.03\n469,1,10000,0.028\n");
    rc = plot_eval_csv(csv, png, "vae evaluation", &written, err, sizeof err);
    CHECK(rc == 0 && written == 1, "eval.csv: %s", err);
    expect("eval.png, test_mse: 1 panel", "eval.png", 800, 500);
    put("eval.csv", "step,epoch,images,test_mse,fashion_fid\n100,1,1000,0.035,nan\n200,1,1000,0.03,nan\n469,1,1000,nan,12.5\n");
    rc = plot_eval_csv(csv, png, "vae evaluation", &written, err, sizeof err);
    CHECK(rc == 0 && written == 1, "eval.csv with nan: %s", err);
    expect("eval.png, test_mse + fashion_fid (nan cells): 2 panels", "eval.png", 800, 640);
    free(text);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", dir);
    TEST_END();
}
