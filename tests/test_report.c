/* The run report's pieces without a browser (tests/test_report.sh loads the pages in Chromium):
 * SVG tick steps and plots (every point inside the plot area, buckets, escaping), the run page built
 * from a synthetic run folder (last row of losses.csv verbatim, a panel per loss family and per
 * eval.csv metric, grid history newest first with epoch tags turned into steps, escaped names, the
 * start time kept for a resume, no temporary file left), and the translation page (paths relative to
 * the output folder, a missing output shown as skipped, K samples per input as K columns). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "image_io.h"
#include "report.h"
#include "runutil.h"
#include "svgplot.h"
#include "util.h"

static int count(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
    return n;
}

static void put(const char *dir, const char *name, const char *text) {
    char p[600], err[256];
    run_path(p, sizeof p, dir, name);
    if (write_file_atomic(p, text, strlen(text), err, sizeof err) != 0) die("%s", err);
}

static void png(const char *dir, const char *name) {
    char p[600], err[256];
    float px[4 * 6] = {0};
    for (int i = 0; i < 24; i++) px[i] = (float)i / 23;
    run_path(p, sizeof p, dir, name);
    if (png_write_grid(p, px, 1, 1, 4, 6, 1, 1, 0, 1, 0, err, sizeof err) != 0) die("%s", err);
}

static void test_ticks(void) {
    struct { double lo, hi; int want; double step; } t[] = {
        {0, 10, 5, 2}, {0, 1, 5, 0.2}, {0, 0.0037, 5, 5e-4}, {-3, 17, 6, 2}, {100, 100000, 6, 20000}, {5, 5, 5, 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double s = svg_tick_step(t[i].lo, t[i].hi, t[i].want);
        printf("%s tick step over [%g, %g], about %d ticks: %g (want %g)\n", fabs(s - t[i].step) < 1e-12 * t[i].step ? "ok  " : "FAIL",
               t[i].lo, t[i].hi, t[i].want, s, t[i].step);
        CHECK(fabs(s - t[i].step) < 1e-12 * t[i].step, "tick step %g, want %g", s, t[i].step);
    }
}

static void test_plot(void) {
    long n = 5000;
    double *x = xmalloc((size_t)n * sizeof *x), *y = xmalloc((size_t)n * sizeof *y), *z = xmalloc((size_t)n * sizeof *z);
    for (long i = 0; i < n; i++) x[i] = (double)(i + 1), y[i] = 3 + sin(i * 0.01), z[i] = -1e-3 * (double)i;
    y[77] = NAN; /* skipped within its bucket */
    const double *ys[2] = {y, z};
    const char *names[2] = {"a<b", "c"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    svg_plot(f, "T&T", "step", "loss", x, ys, names, 2, n, 1);
    fclose(f);
    CHECK(count(buf, "<svg") == 1 && count(buf, "</svg>") == 1, "one svg element");
    CHECK(strstr(buf, ">step</text>") && strstr(buf, ">loss</text>"), "axis labels as text");
    CHECK(strstr(buf, ">a&lt;b</text>") && strstr(buf, ">T&amp;T</text>") && !strstr(buf, "a<b"), "legend and title escaped");
    CHECK(count(buf, "class=\"raw\"") == 2 && count(buf, "class=\"smooth\"") == 2, "a raw and a smoothed line per series");
    /* the first raw path: 5000 rows in buckets of 9 = 556 points, every one inside the plot area */
    const char *d = strstr(strstr(buf, "class=\"raw\""), " d=\"") + 4;
    int pts = 0, inside = 1;
    while (*d == 'M' || *d == 'L') {
        char *e;
        double px = strtod(d + 1, &e), py = strtod(e, &e);
        inside &= px >= 64 - 1e-9 && px <= 560 - 16 + 1e-9 && py >= 28 - 1e-9 && py <= 280 - 44 + 1e-9;
        pts++;
        d = e;
    }
    printf("%s raw path: %d points (want 556), all inside the plot area: %d\n", pts == 556 && inside ? "ok  " : "FAIL", pts, inside);
    CHECK(pts == 556 && inside, "raw path points %d inside %d", pts, inside);
    free(buf);
    free(x), free(y), free(z);
}

static void test_run_page(const char *dir) {
    char run[600], err[512];
    snprintf(run, sizeof run, "%s/run", dir);
    CHECK(mkdir_p(run, err, sizeof err) == 0, "%s", err);
    char csv[4096] = "step,a,b\n";
    for (int s = 1; s <= 30; s++) snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%d,%.7g,%.7g\n", s, 1.0 / s, 2.0 * s);
    put(run, "losses.csv", csv);
    put(run, "eval.csv", "step,epoch,images,test_mse\n10,1,100,0.5\n20,1,100,0.25\n30,1,100,0.125\n");
    put(run, "config.ini", "[model]\ntype = toy\n; <b> & co\n");
    png(run, "s.png"), png(run, "s_epoch001.png"), png(run, "s_step0000150.png"), png(run, "s_epoch002.png");
    png(run, "x&y.png"), png(run, "losses.png");
    const char *names[2] = {"a", "b"}, *groups[2] = {"fam", NULL};
    report_run r = {.dir = run, .model = "toy", .summary = "a <toy>", .unit = "step", .device = "cpu", .data = "none",
                    .nloss = 2, .loss_names = names, .loss_group = groups, .step = 30, .total = 250, .spe = 100,
                    .epochs = 3, .resumed_from = -1, .saved_step = -1, .its = 10, .cadence_s = 5,
                    .started = 1700000000, .state = REPORT_RUNNING};
    CHECK(report_write_run(&r, err, sizeof err) == 0, "report_write_run: %s", err);
    char path[700];
    run_path(path, sizeof path, run, "index.html");
    char *html = read_file(path, NULL, err, sizeof err);
    CHECK(html != NULL, "%s", err);
    if (!html) return;
    struct stat st;
    run_path(path, sizeof path, run, "index.html.tmp");
    CHECK(stat(path, &st) != 0, "a temporary file is left: %s", path);
    CHECK(strstr(html, "id=\"last-step\">30<") && strstr(html, "data-loss=\"a\">0.03333333<") && strstr(html, "data-loss=\"b\">60<"),
          "the last row of losses.csv, verbatim");
    CHECK(strstr(html, "running: step 30 of 250 (epoch 1 of 3), 10 it/s, about 0:22 left"), "the running state line");
    CHECK(strstr(html, "http-equiv=\"refresh\" content=\"5\""), "a running page refreshes itself");
    CHECK(count(html, "<svg") == 3, "3 plots (loss families fam and losses, test_mse): %d", count(html, "<svg"));
    CHECK(strstr(html, ">fam</text>") && strstr(html, ">losses</text>") && strstr(html, ">test_mse (eval.csv)</text>"), "plot titles");
    const char *e2 = strstr(html, "epoch 2 (step 200)"), *s150 = strstr(html, "step 150</summary>"),
               *e1 = strstr(html, "epoch 1 (step 100)");
    CHECK(e2 && s150 && e1 && e2 < s150 && s150 < e1, "history newest first: epoch 2, step 150, epoch 1");
    CHECK(strstr(html, "src=\"x%26y.png\"") && strstr(html, "alt=\"x&amp;y\""), "a file name with & escaped");
    CHECK(!strstr(html, "src=\"losses.png\""), "losses.png is linked, not shown as a grid");
    CHECK(strstr(html, "; &lt;b&gt; &amp; co") && strstr(html, "a &lt;toy&gt;"), "config and summary escaped");
    CHECK(report_first_start(run) == 1700000000, "the start time read back for a resume: %lld", (long long)report_first_start(run));
    free(html);
    r.state = REPORT_STOPPED_NAN, r.message = "loss 'a' is nan at step 31", r.saved_step = 20;
    CHECK(report_write_run(&r, err, sizeof err) == 0, "report_write_run: %s", err);
    run_path(path, sizeof path, run, "index.html");
    html = read_file(path, NULL, err, sizeof err);
    CHECK(html && strstr(html, "stopped: loss 'a' is nan at step 31; the last good checkpoint (step 20) is kept") &&
              !strstr(html, "http-equiv"),
          "the stopped state line, no refresh");
    printf("ok   run page checks done (%d so far)\n", check_count);
    free(html);
}

static void test_translation_page(const char *dir) {
    char in[600], out[600], err[512], a[700], b[700], oa[700], ob[700];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    CHECK(mkdir_p(in, err, sizeof err) == 0 && mkdir_p(out, err, sizeof err) == 0, "%s", err);
    png(in, "a.png"), png(in, "b c.png"), png(out, "a.png");
    run_path(a, sizeof a, in, "a.png"), run_path(b, sizeof b, in, "b c.png");
    run_path(oa, sizeof oa, out, "a.png"), run_path(ob, sizeof ob, out, "b c.png"); /* not written: skipped */
    const char *ins[2] = {a, b}, *outs[2] = {oa, ob};
    CHECK(report_translation(out, "/nonexistent/checkpoint.safetensors", "AtoB", "G_A", ins, outs, 2, 1, err, sizeof err) == 0,
          "report_translation: %s", err);
    char path[700];
    run_path(path, sizeof path, out, "index.html");
    char *html = read_file(path, NULL, err, sizeof err);
    CHECK(html != NULL, "%s", err);
    if (!html) return;
    CHECK(strstr(html, "src=\"../in/a.png\"") && strstr(html, "src=\"a.png\"") && strstr(html, "src=\"../in/b%20c.png\""),
          "image paths relative to the output folder");
    CHECK(count(html, ">skipped<") == 1, "the missing output shown as skipped");
    CHECK(strstr(html, "<td>6x4</td>") != NULL, "sizes (width x height)");
    CHECK(strstr(html, "id=\"ckpt-step\">?<") != NULL, "an unreadable checkpoint's step shown as ?");
    free(html);
    /* K samples per input (a multimodal model's --samples K): a column pair per sample */
    const char *outs2[4] = {oa, oa, oa, ob};
    CHECK(report_translation(out, "/nonexistent/checkpoint.safetensors", "AtoB", NULL, ins, outs2, 2, 2, err, sizeof err) == 0,
          "report_translation: %s", err);
    html = read_file(path, NULL, err, sizeof err);
    CHECK(html && count(html, "<th>sample</th>") == 2 && count(html, "src=\"a.png\"") == 3 && count(html, ">skipped<") == 1,
          "two samples per input: 2 sample columns, 3 outputs shown, 1 skipped");
    printf("ok   translation page checks done (%d so far)\n", check_count);
    free(html);
}

int main(void) {
    char dir[] = "/tmp/clgan_test_report_XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp failed");
    test_ticks();
    test_plot();
    test_run_page(dir);
    test_translation_page(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", dir);
    TEST_END();
}
