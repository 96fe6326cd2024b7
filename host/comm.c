/* host/comm.h over MPI_COMM_WORLD (built with -DCLGAN_MPI), or a single rank. */
#include "comm.h"

#include <stdlib.h>

#include "util.h"

#ifdef CLGAN_MPI
#include <limits.h>
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1, g_local_rank = 0, g_local = 0;
static double g_share = 1.0;
static comm_stats g_stats;

int comm_built_with_mpi(void) {
#ifdef CLGAN_MPI
    return 1;
#else
    return 0;
#endif
}

#ifdef CLGAN_MPI
static int g_started; /* MPI_Init was ours: MPI_Finalize is too */

static void check(int rc, const char *call) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    die("%s failed on rank %d: %s", call, g_rank, msg);
}

/* MPI counts are ints: larger buffers go in chunks. */
#define CHUNK ((size_t)1 << 30)

static void allreduce(void *buf, size_t n, MPI_Datatype type, size_t elem) {
    double t0 = now_seconds();
    for (size_t done = 0; done < n; done += CHUNK) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        check(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * elem, (int)k, type, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce");
    }
    g_stats.calls++;
    g_stats.bytes += (double)n * (double)elem;
    g_stats.seconds += now_seconds() - t0;
}
#endif

int comm_init(int *argc, char ***argv) {
#ifdef CLGAN_MPI
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(argc, argv) != MPI_SUCCESS) return -1;
    g_started = !inited;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); /* check() names the call */
    check(MPI_Comm_rank(MPI_COMM_WORLD, &g_rank), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &g_size), "MPI_Comm_size");
    MPI_Comm node;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    check(MPI_Comm_rank(node, &g_local_rank), "MPI_Comm_rank");
    MPI_Comm_free(&node);
#else
    (void)argc, (void)argv;
#endif
    return 0;
}

void comm_finalize(void) {
#ifdef CLGAN_MPI
    if (g_started) MPI_Finalize();
    g_started = 0;
#endif
}

int comm_rank(void) { return g_rank; }
int comm_size(void) { return g_size; }
int comm_local_rank(void) { return g_local_rank; }

void comm_allreduce_sum_float(float *buf, size_t n) {
#ifdef CLGAN_MPI
    if (g_size > 1) allreduce(buf, n, MPI_FLOAT, sizeof *buf);
#else
    (void)buf, (void)n;
#endif
}

void comm_allreduce_sum_double(double *buf, size_t n) {
#ifdef CLGAN_MPI
    if (g_size > 1) allreduce(buf, n, MPI_DOUBLE, sizeof *buf);
#else
    (void)buf, (void)n;
#endif
}

void comm_allgather_float(const float *mine, float *all, const size_t *counts) {
#ifdef CLGAN_MPI
    if (g_size > 1) {
        double t0 = now_seconds();
        int *cnt = xmalloc((size_t)g_size * sizeof *cnt), *disp = xmalloc((size_t)g_size * sizeof *disp);
        size_t total = 0;
        for (int q = 0; q < g_size; q++) {
            if (total + counts[q] > INT_MAX) die("comm_allgather_float: %zu floats is more than one call takes", total + counts[q]);
            cnt[q] = (int)counts[q], disp[q] = (int)total;
            total += counts[q];
        }
        check(MPI_Allgatherv(mine, cnt[g_rank], MPI_FLOAT, all, cnt, disp, MPI_FLOAT, MPI_COMM_WORLD), "MPI_Allgatherv");
        free(cnt);
        free(disp);
        g_stats.calls++;
        g_stats.bytes += (double)total * sizeof(float);
        g_stats.seconds += now_seconds() - t0;
        return;
    }
#endif
    for (size_t i = 0; i < counts[0]; i++) all[i] = mine[i];
}

int comm_max_int(int v) {
#ifdef CLGAN_MPI
    if (g_size > 1) check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
#endif
    return v;
}

void comm_bcast_bytes(void *buf, size_t n) {
#ifdef CLGAN_MPI
    for (size_t done = 0; g_size > 1 && done < n; done += CHUNK) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        check(MPI_Bcast((char *)buf + done, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
#else
    (void)buf, (void)n;
#endif
}

void comm_bcast_float(float *buf, size_t n) { comm_bcast_bytes(buf, n * sizeof *buf); }

_Noreturn void comm_abort(int status) {
#ifdef CLGAN_MPI
    if (g_size > 1) MPI_Abort(MPI_COMM_WORLD, status);
#endif
    exit(status);
}

void comm_set_share(double share) { g_share = share; }
double comm_share(void) { return g_size > 1 ? g_share : 1.0; }
void comm_set_local(int local) { g_local = local; }
int comm_active(void) { return g_size > 1 && !g_local; }

comm_stats comm_get_stats(void) { return g_stats; }
void comm_add_wait(double seconds) { g_stats.wait_seconds += seconds; }
