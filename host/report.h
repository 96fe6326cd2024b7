/* The run report: index.html in a run folder (every model, written by models/run.c) and in a
 * ./translate output folder. Plain HTML (also well-formed XML) with inline SVG plots, a few lines of
 * inline script and no external resource, so it opens from file:// with no network. Each page is
 * written to a temporary file and renamed over index.html: a reader never sees half a page. */
#ifndef CLGAN_REPORT_H
#define CLGAN_REPORT_H
#include <stddef.h>
#include <time.h>

#include "losslog.h"

typedef enum { REPORT_RUNNING, REPORT_FINISHED, REPORT_STOPPED_NAN, REPORT_FAILED } report_state;

typedef struct {
    const char *dir;     /* the run folder: losses.csv, eval.csv, config.ini and the grids are read from it */
    const char *model;   /* [model] type */
    const char *summary; /* the model's one-line summary */
    const char *unit;    /* what a step is ("step", "generator step") */
    const char *device;  /* clg_describe's line */
    const char *data;    /* the model's describe() line, or NULL */
    int nloss;
    const char *const *loss_names;
    const char *const *loss_group; /* a panel per distinct group; NULL (or a NULL entry): the panel "losses" */
    long step, total, spe, epochs;
    long resumed_from;   /* the step this process resumed at; -1: a fresh run */
    long saved_step;     /* the step of the last checkpoint; -1: none yet */
    double its;          /* recent iterations per second (0: not known yet) */
    double cadence_s;    /* seconds between page updates while running: older than that (with slack) = killed */
    time_t started;      /* when the run first started (kept across resumes) */
    report_state state;
    const char *message; /* stopped: the non-finite loss message; failed: the error */
} report_run;

/* Writes dir/index.html. Returns 0, or -1 with err (the run goes on without a page). */
int report_write_run(const report_run *r, char *err, size_t errlen);

/* The start time an earlier page of dir recorded (a resumed run keeps it), or 0. */
time_t report_first_start(const char *dir);

/* Writes outdir/index.html for ./translate: a row per input with its name, the input image, its
 * outputs (per >= 1 images each: outputs[i * per + j]), the sizes, and the checkpoint and its step.
 * what: the translator's one-line description (may be NULL). An output missing on disk shows as
 * "skipped". Rows past the first 48 load their images lazily. */
int report_translation(const char *outdir, const char *checkpoint, const char *direction, const char *what,
                       const char *const *inputs, const char *const *outputs, int n, int per, char *err,
                       size_t errlen);

#endif
