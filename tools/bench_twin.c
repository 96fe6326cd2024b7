/* The PyTorch twins of ./bench --model and --translate as child processes: run to the end (bench_twin_run),
 * or kept waiting between blocks of iterations so that clgan and PyTorch take turns on the machine
 * (bench_twin_start / _block / _finish, ./bench --rounds; tools/torch_ref/timing.py serve_blocks). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

/* dst = the rest of line after prefix, without its newline, when line starts with prefix. */
static void take_field(char *dst, size_t n, const char *line, const char *prefix) {
    size_t len = strlen(prefix);
    if (strncmp(line, prefix, len)) return;
    snprintf(dst, n, "%.500s", line + len);
    dst[strcspn(dst, "\n")] = 0;
}

/* Reads what a twin's line reports into o. */
static void parse_line(bench_twin_out *o, const char *line) {
    if (!strncmp(line, "seconds_per_iter ", 17)) o->spi = strtod(line + 17, NULL);
    if (!strncmp(line, "images_per_s ", 13) && o->nips < 8) { /* "images_per_s N R" (translate_torch.py) */
        char *end;
        o->ips_batch[o->nips] = (int)strtol(line + 13, &end, 10);
        o->ips[o->nips++] = strtod(end, NULL);
    }
    if (!strncmp(line, "peak_memory_bytes ", 18)) { /* "peak_memory_bytes N how it was measured" */
        char *end;
        o->mem = strtod(line + 18, &end);
        snprintf(o->memhow, sizeof o->memhow, "%.400s", end + strspn(end, " "));
        o->memhow[strcspn(o->memhow, "\n")] = 0;
    }
    take_field(o->blas, sizeof o->blas, line, "blas ");
    take_field(o->malloc, sizeof o->malloc, line, "malloc ");
    take_field(o->openmp, sizeof o->openmp, line, "openmp ");
}

int bench_twin_start(char *const *argv, const char *tuning, int with_stdin, bench_twin *tw) {
    memset(tw, 0, sizeof *tw);
    tw->out.spi = -1, tw->out.mem = -1;
    snprintf(tw->out.blas, sizeof tw->out.blas, "not reported");
    snprintf(tw->out.malloc, sizeof tw->out.malloc, "not reported");
    snprintf(tw->out.openmp, sizeof tw->out.openmp, "not reported");
    tw->argv0 = argv[0], tw->script = argv[1];
    int fd[2], in[2] = {-1, -1};
    if (pipe(fd) != 0 || (with_stdin && pipe(in) != 0)) die("bench: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("bench: fork: %s", strerror(errno));
    if (pid == 0) {
        /* PyTorch's OpenMP threads spin 300000 times (libgomp's default) after each parallel region,
         * taking the cores from OpenBLAS's own threads (Debian's libopenblas0-pthread) when PyTorch
         * calls a GEMM: on 2 cores its BicycleGAN step took 0.62 s against 0.40 s, its VAE's 0.013 s
         * against 0.006 s. A short spin loses nothing elsewhere; libgomp reads it at load time. */
        if (!strcmp(tuning, "tuned") && !getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "10000", 1);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        if (with_stdin) {
            dup2(in[0], STDIN_FILENO);
            close(in[0]);
            close(in[1]);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    tw->pid = pid;
    tw->from = fdopen(fd[0], "r");
    if (!tw->from) die("bench: fdopen: %s", strerror(errno));
    if (with_stdin) {
        close(in[0]);
        signal(SIGPIPE, SIG_IGN); /* a twin that died shows as a write error, then its exit status */
        tw->to = fdopen(in[1], "w");
        if (!tw->to) die("bench: fdopen: %s", strerror(errno));
    }
    return 0;
}

/* Echoes and parses the twin's lines up to one starting with `until` (copied to line: 0), or to its end
 * (-1; until NULL reads to the end and returns 0). */
static int read_until(bench_twin *tw, const char *until, char *line, size_t n) {
    char buf[2048];
    while (fgets(buf, sizeof buf, tw->from)) {
        if (until && !strncmp(buf, until, strlen(until))) {
            size_t m = strlen(buf) < n ? strlen(buf) : n - 1;
            memcpy(line, buf, m);
            line[m] = 0;
            return 0;
        }
        printf("  %s", buf);
        fflush(stdout);
        parse_line(&tw->out, buf);
    }
    return until ? -1 : 0;
}

int bench_twin_ready(bench_twin *tw) {
    char line[64];
    if (read_until(tw, "ready", line, sizeof line) == 0) return 0;
    fprintf(stderr, "bench: %s never printed 'ready' (a twin without --serve?)\n", tw->script);
    return -1;
}

int bench_twin_block(bench_twin *tw, int k, double *seconds) {
    char line[256];
    if (fprintf(tw->to, "run %d\n", k) < 0 || fflush(tw->to) != 0 || read_until(tw, "block ", line, sizeof line) != 0 ||
        sscanf(line + 6, "%lf", seconds) != 1) {
        fprintf(stderr, "bench: %s did not time a block of %d iterations\n", tw->script, k);
        return -1;
    }
    return 0;
}

int bench_twin_finish(bench_twin *tw) {
    if (tw->to) {
        fprintf(tw->to, "end\n");
        fclose(tw->to);
        tw->to = NULL;
    }
    read_until(tw, NULL, NULL, 0);
    fclose(tw->from);
    int status;
    waitpid(tw->pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s %s failed (%s %d)\n", tw->argv0, tw->script,
                WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    return 0;
}

int bench_twin_run(char *const *argv, const char *tuning, bench_twin_out *o) {
    bench_twin tw;
    bench_twin_start(argv, tuning, 0, &tw);
    int rc = bench_twin_finish(&tw);
    *o = tw.out;
    return rc;
}

/* Whether OpenBLAS's core (its "core NAME" in the twin's blas line) uses AVX-512: the cores of OpenBLAS
 * 0.3.21 that do (DYNAMIC_ARCH builds pick one by CPU). */
static int blas_core_avx512(const char *blas) {
    static const char *const cores[] = {"core SkylakeX", "core Cooperlake", "core SapphireRapids"};
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (strstr(blas, cores[i])) return 1;
    return 0;
}

void bench_twin_print_anchor(const bench_twin_out *o, const char *threads, const char *device) {
    /* A ratio against PyTorch on the unoptimised reference BLAS is not a result (tools/setup.sh installs
     * OpenBLAS), nor one against glibc's malloc defaults, under which PyTorch maps and page-faults its
     * large tensors afresh every step (timing.py's tune_malloc), nor one where its OpenMP threads spin
     * on the cores OpenBLAS's threads need (bench_twin_start). */
    printf("pytorch blas: %s, %s threads%s\n", o->blas, threads,
           strncmp(o->blas, "OpenBLAS", 8) ? " -- NOT COMPARABLE: PyTorch is not on an optimised BLAS" : "");
    printf("pytorch malloc: %s%s\n", o->malloc,
           strstr(o->malloc, "1 GiB") ? "" : " -- NOT COMPARABLE: PyTorch page-faults its tensors in every step");
    printf("pytorch openmp: %s%s\n", o->openmp,
           strstr(o->openmp, "GOMP_SPINCOUNT=") ? "" : " -- NOT COMPARABLE: its threads spin on OpenBLAS's cores");
    /* PoCL told to build for AVX2 on an AVX-512 CPU (docs/PERF.md, "AVX2 on this AVX-512 machine") stands in
     * for an AVX2-only CPU; PyTorch's linear layers then must not run OpenBLAS's AVX-512 kernels (oneDNN's
     * and ATen's caps, DNNL_MAX_CPU_ISA and ATEN_CPU_CAPABILITY, do not reach OpenBLAS). */
    if (strstr(device, "pthread-haswell") && blas_core_avx512(o->blas))
        printf("pytorch isa: OpenBLAS runs AVX-512 kernels, clgan's are built for AVX2 (pthread-haswell) -- NOT "
               "COMPARABLE as AVX2 against AVX2: give PyTorch OPENBLAS_CORETYPE=Haswell\n");
}
