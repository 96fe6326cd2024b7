/* Small helpers shared by the whole engine: fatal errors, allocation, timing, paths. */
#ifndef CLGAN_UTIL_H
#define CLGAN_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Prints "clgan: <message>" to stderr and exits with status 1. For errors nothing can recover from
 * (an OpenCL failure, out of memory); input errors are returned to the caller instead. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* snprintf into an error buffer: the usual way functions here report what went wrong. */
void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

double now_seconds(void); /* monotonic clock */

/* Creates a directory and its parents (like mkdir -p). Returns 0 on success. */
int mkdir_p(const char *path, char *err, size_t errlen);

/* Reads a whole file into a NUL-terminated buffer. Returns NULL and fills err on failure. */
char *read_file(const char *path, size_t *len, char *err, size_t errlen);
/* A descriptor for reading path, only if it is a regular file: opened with O_NONBLOCK so that a FIFO or
 * a device is seen by fstat instead of blocking the open, then blocking again. -1 with err naming the
 * path ("cannot open: ...", "not a regular file"). */
int open_regular_fd(const char *path, char *err, size_t errlen);

/* Writes len bytes to path atomically: a temporary file beside it, flushed and fsync'ed, then
 * renamed over path, so a crash leaves either the old file or the new one, never half of one. */
int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Opens path.tmp for writing; atomic_commit flushes, fsyncs, closes and renames it to path.
 * atomic_abort closes and removes the temporary file. */
FILE *atomic_open(const char *path, char *err, size_t errlen);
int atomic_commit(FILE *f, const char *path, char *err, size_t errlen);
void atomic_abort(FILE *f, const char *path);

/* 64-bit FNV-1a, used for cache keys. */
uint64_t fnv1a64(const void *data, size_t len, uint64_t h);
#define FNV1A64_INIT 0xcbf29ce484222325ULL

#endif
