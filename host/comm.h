/* Communication between the processes (ranks) of one data-parallel training run.
 *
 * Built with MPI (make MPI=1, which defines CLGAN_MPI) this is MPI_COMM_WORLD; the plain build has a
 * single rank and every call below is a no-op, so nothing outside host/comm.c depends on MPI. The state
 * is process-wide because the world communicator is: one training run per process.
 *
 * What the engine synchronises (the rest of a run is the same computation on every rank):
 *   optim_step (host/optim.c)  the network's gradient, each rank's weighted by its share of the batch;
 *   op_batchnorm (host/ops/norm.c, training mode)  the per-channel statistics in the forward and the
 *                              per-channel sums of the backward (synchronised batch norm);
 *   the run loop (models/run.c)  each step's losses (their batch mean), the start weights, the decision
 *                              to stop. Only rank 0 writes files. */
#ifndef CLGAN_COMM_H
#define CLGAN_COMM_H
#include <stddef.h>

/* Starts MPI when built with it (a no-op otherwise, or when already started). Returns 0, or -1 when MPI
 * could not start (MPI itself then usually aborts). */
int comm_init(int *argc, char ***argv);
void comm_finalize(void);
int comm_built_with_mpi(void);
int comm_rank(void);       /* 0 .. comm_size() - 1; 0 in the plain build or before comm_init */
int comm_size(void);       /* 1 in the plain build or before comm_init */
int comm_local_rank(void); /* the rank among the processes on this host (its device choice) */

/* In-place sums over every rank (each rank calls with the same n); blocking. */
void comm_allreduce_sum_float(float *buf, size_t n);
void comm_allreduce_sum_double(double *buf, size_t n);
/* Every rank's floats in rank order: rank q gives counts[q] floats (mine: this rank's), all receives
 * their concatenation (sum of counts). */
void comm_allgather_float(const float *mine, float *all, const size_t *counts);
/* The largest of the ranks' values (every rank calls it): a failure anywhere stops every rank. */
int comm_max_int(int v);
/* Rank 0's n floats (or chars) into every rank's buf. */
void comm_bcast_float(float *buf, size_t n);
void comm_bcast_bytes(void *buf, size_t n);
/* Ends every rank's process with status (MPI_Abort); exit(status) with one rank. */
_Noreturn void comm_abort(int status);

/* This rank's share of the current step's batch: its rows / the global batch's rows (1 with one rank).
 * The run loop sets it with each batch it splits (trainer_shard); the gradient and batch-norm sums
 * are weighted by it, so uneven shares (a last, smaller batch) still give the one-rank result. */
void comm_set_share(double share);
double comm_share(void);

/* Work this rank does alone (rank 0's grids, evaluation, checkpoints): 1 turns every synchronisation
 * off until 0 turns it back on, so a training-mode batch norm in a grid does not wait for the others. */
void comm_set_local(int local);
/* Whether the engine synchronises now: more than one rank and not in a local section. */
int comm_active(void);

/* What the collectives cost so far on this rank: calls, bytes sent (each rank's buffer), wall seconds
 * inside MPI, and the wall seconds spent waiting for the device before a gradient allreduce (the
 * backward still running: comm_add_wait). */
typedef struct {
    long calls;
    double bytes, seconds, wait_seconds;
} comm_stats;
comm_stats comm_get_stats(void);
void comm_add_wait(double seconds);

#endif
