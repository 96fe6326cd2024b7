#include "run_report.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void run_page_open(run_page *p, trainer *tr, const char *dir, long resumed_from) {
    memset(p, 0, sizeof *p);
    clg_describe(tr->cl, p->device, sizeof p->device);
    if (tr->m->describe) { /* the same line ./train prints, captured for the page */
        size_t len = 0;
        FILE *ms = open_memstream(&p->data, &len);
        if (ms) {
            tr->m->describe(tr, ms);
            fclose(ms);
            if (p->data && len && p->data[len - 1] == '\n') p->data[len - 1] = 0;
        }
    }
    time_t first = resumed_from >= 0 ? report_first_start(dir) : 0;
    p->log_every = (int)cfg_int(tr->c, "run", "log_every");
    p->r = (report_run){.dir = dir, .model = tr->m->type, .summary = tr->m->summary, .unit = tr->unit ? tr->unit : "step",
                        .device = p->device, .data = p->data, .nloss = tr->nloss, .loss_names = tr->loss_names,
                        .loss_group = tr->loss_group, .total = trainer_total_steps(tr), .spe = tr->spe,
                        .epochs = tr->epochs, .resumed_from = resumed_from, .saved_step = resumed_from, .cadence_s = 60,
                        .started = first ? first : time(NULL), .state = REPORT_RUNNING};
    run_page_update(p, tr, REPORT_RUNNING, NULL, 0, 1);
}

double run_page_update(run_page *p, trainer *tr, report_state state, const char *message, double its, int force) {
    double t0 = now_seconds();
    if (its > 0) {
        p->r.its = its;
        /* a page per progress line at most; slower than every 5 s only when it would cost more than 5% */
        double every = p->log_every / its, floor = 20 * p->cost > 5 ? 20 * p->cost : 5;
        p->r.cadence_s = every > floor ? every : floor;
    }
    if (!force && t0 - p->last_write < (20 * p->cost > 5 ? 20 * p->cost : 5)) return 0;
    if (force == 2) p->r.saved_step = tr->step;
    p->r.step = tr->step, p->r.state = state, p->r.message = message;
    char err[4400];
    if (report_write_run(&p->r, err, sizeof err) != 0 && !p->warned) {
        fprintf(stderr, "clgan: warning: the run page was not written: %s\n", err);
        p->warned = 1;
    }
    p->last_write = now_seconds();
    p->cost = p->last_write - t0;
    return p->cost;
}

void run_page_close(run_page *p) {
    free(p->data);
    p->data = NULL;
}
