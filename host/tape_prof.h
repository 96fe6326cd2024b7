/* A profiling hook on the tape (./bench --profile): called after each op records itself (backward 0:
 * its forward kernels were launched just before) and after each node's backward ran (backward 1), so
 * that a profiled context's device time since the previous call can be charged to that op. One hook
 * per process; NULL removes it. Costs one pointer test per op when unset. */
#ifndef CLGAN_TAPE_PROF_H
#define CLGAN_TAPE_PROF_H

typedef void (*tape_prof_fn)(void *ud, const char *op, int backward);
void tape_prof_set(tape_prof_fn fn, void *ud);

#endif
