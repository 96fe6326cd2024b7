/* Small pieces every training loop shares: paths in the run folder, the progress line, loss plots. */
#ifndef CLGAN_RUNUTIL_H
#define CLGAN_RUNUTIL_H
#include <stddef.h>

/* out = dir/name */
void run_path(char *out, size_t outlen, const char *dir, const char *name);

/* "1:02:03" or "2:03" for a number of seconds. */
void format_duration(double seconds, char *out, size_t outlen);

/* Draws the columns of a CSV written by losslog (step, loss...) as a PNG: the rows averaged into at most
 * 1000 points drawn pale, a moving average over them dark, axes labelled; one panel per group
 * (groups[k] names column k+1's group, NULL for the ungrouped; groups NULL: one panel), stacked. */
int plot_csv(const char *csv_path, const char *png_path, const char *title, const char *const *groups, char *err,
             size_t errlen);

/* Draws eval.csv (step first, then columns; "epoch" and "images" are not plotted) as a PNG: a panel
 * per metric column over the step, every row a point of the curve (empty or "nan" cells skipped), axes
 * labelled. A missing or empty CSV is not an error: 0 and nothing written; *written (if not NULL) says
 * whether a PNG was written. */
int plot_eval_csv(const char *csv_path, const char *png_path, const char *title, int *written, char *err, size_t errlen);

/* Takes the run folder's lock: flock on DIR/.lock, so two runs never write one folder at once.
 * The lock goes with the process (a kill -9 frees it; nothing stale to clean up). Returns a
 * descriptor for run_unlock, or -1 with err saying who holds it ("DIR is in use by another run:
 * pid 1234 on HOST, started 2026-12-06 05:01:02 UTC") or why the lock file cannot be opened. */
int run_lock(const char *dir, char *err, size_t errlen);
void run_unlock(int fd);

#endif
