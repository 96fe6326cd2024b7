/* The run loop's side of the run report (host/report.h): keeps what the page needs between updates
 * and decides when to write it. Writing the page never stops or changes training: a failure is a
 * warning, and no device work is done. */
#ifndef CLGAN_RUN_REPORT_H
#define CLGAN_RUN_REPORT_H
#include "model.h"
#include "report.h"

typedef struct {
    report_run r;
    char device[600];
    char *data;        /* the model's describe() line */
    double last_write; /* now_seconds() of the last page */
    double cost;       /* seconds the last page took */
    int log_every;
    int warned;
} run_page;

/* Fills p for tr training in dir (resumed_from: the checkpoint's step, or -1) and writes the first page. */
void run_page_open(run_page *p, trainer *tr, const char *dir, long resumed_from);
/* Rewrites the page with the state and the step of tr; its > 0 updates the speed shown. force = 0 (a
 * progress line) writes only when enough time has passed that the page costs under 5% of the run;
 * force = 1 (the end, a stop) always writes; force = 2: a save point (a checkpoint of tr->step was
 * just written), always writes. Returns the seconds it took, for the caller to leave out of its it/s. */
double run_page_update(run_page *p, trainer *tr, report_state state, const char *message, double its, int force);
void run_page_close(run_page *p);

#endif
