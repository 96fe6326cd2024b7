/* ./evaluate's CSV output: a row per figure in a CSV of its own (--csv), and a row in a run folder's
 * eval.csv (--run), whose plot is redrawn. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "evaluate.h"
#include "runutil.h"
#include "util.h"

/* A CSV field: commas and quotes would break the row, so such a value is quoted. */
static void field(FILE *f, const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc('"', f);
}

int eval_csv_append(const char *csv_path, const eval_result *r, char *err, size_t errlen) {
    FILE *f = fopen(csv_path, "a");
    if (!f) {
        set_err(err, errlen, "%s: cannot write", csv_path);
        return -1;
    }
    if (ftell(f) == 0) fputs("metric,value,std,images,net,weights,set_a,set_b\n", f);
    fprintf(f, "%s,%.9g,", r->metric, r->value);
    if (isfinite(r->std)) fprintf(f, "%.9g", r->std);
    fprintf(f, ",%ld,", r->images);
    field(f, r->net), fputc(',', f), field(f, r->weights), fputc(',', f), field(f, r->set_a), fputc(',', f);
    field(f, r->set_b), fputc('\n', f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        set_err(err, errlen, "%s: write failed", csv_path);
        return -1;
    }
    return 0;
}

int eval_run_append(const char *run_dir, const eval_result *r, char *err, size_t errlen) {
    char ckpt[4200], csv[4200], png[4200], col[64];
    run_path(ckpt, sizeof ckpt, run_dir, "checkpoint.safetensors");
    run_path(csv, sizeof csv, run_dir, "eval.csv");
    run_path(png, sizeof png, run_dir, "eval.png");
    st_file st;
    long step, epoch = 0;
    if (st_load(ckpt, &st, err, errlen) != 0) return -1;
    int rc = ckpt_meta_long(&st, ckpt, "step", &step, err, errlen);
    if (rc == 0 && st_meta(&st, "epoch")) rc = ckpt_meta_long(&st, ckpt, "epoch", &epoch, err, errlen);
    const char *model = st_meta(&st, "model");
    char type[64];
    snprintf(type, sizeof type, "%s", model ? model : "run");
    st_free(&st);
    if (rc != 0) return -1;
    snprintf(col, sizeof col, "%s", r->metric);
    for (char *p = col; *p; p++) *p = *p == '-' ? '_' : (char)tolower((unsigned char)*p);

    /* the columns: those of the file (or step,epoch,images), plus col when new */
    char *text = NULL;
    FILE *probe = fopen(csv, "r");
    if (probe) {
        fclose(probe);
        if (!(text = read_file(csv, NULL, err, errlen))) return -1;
    }
    char *names[64];
    int nc = 0, at = -1;
    char *save = NULL, *header = text ? strtok_r(text, "\n", &save) : NULL, *hs = NULL;
    if (header)
        for (char *h = strtok_r(header, ",\r", &hs); h && nc < 63; h = strtok_r(NULL, ",\r", &hs)) names[nc++] = h;
    if (nc == 0) names[nc++] = "step", names[nc++] = "epoch", names[nc++] = "images";
    if (strcmp(names[0], "step")) {
        set_err(err, errlen, "%s: not a clgan eval.csv (its first column is '%s', not 'step')", csv, names[0]);
        free(text);
        return -1;
    }
    for (int k = 0; k < nc; k++)
        if (!strcmp(names[k], col)) at = k;
    int added = at < 0;
    if (added) at = nc, names[nc++] = col;
    size_t len = 0;
    char *out = NULL;
    FILE *o = open_memstream(&out, &len);
    for (int k = 0; k < nc; k++) fprintf(o, "%s%s", k ? "," : "", names[k]);
    fputc('\n', o);
    for (char *line; (line = strtok_r(NULL, "\n", &save));) {
        line[strcspn(line, "\r")] = 0;
        fprintf(o, "%s%s\n", line, added ? ",nan" : "");
    }
    for (int k = 0; k < nc; k++) {
        if (k) fputc(',', o);
        if (k == 0) fprintf(o, "%ld", step);
        else if (!strcmp(names[k], "epoch")) fprintf(o, "%ld", epoch);
        else if (!strcmp(names[k], "images")) fprintf(o, "%ld", r->images);
        else if (k == at) fprintf(o, "%.9g", r->value);
        else fputs("nan", o);
    }
    fputc('\n', o);
    fclose(o);
    rc = write_file_atomic(csv, out, len, err, errlen);
    free(out);
    free(text);
    if (rc != 0) return -1;
    char title[128];
    snprintf(title, sizeof title, "%s evaluation", type);
    return plot_eval_csv(csv, png, title, NULL, err, errlen);
}
