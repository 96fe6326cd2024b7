#include "idx.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_DIM 65535           /* rows / cols: anything larger is a corrupt header */
#define IDX_READ_CHUNK (1u << 20)

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads up to len bytes; *got says how many arrived before end of file. Returns -1 (with the
 * path and gzerror's message in err) on a corrupt or unreadable stream. */
static int gz_read_upto(gzFile f, const char *path, unsigned char *buf, size_t len, size_t *got,
                        char *err, size_t errlen) {
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > IDX_READ_CHUNK) want = IDX_READ_CHUNK;
        int r = gzread(f, buf + *got, (unsigned)want);
        if (r < 0) {
            int errnum;
            const char *msg = gzerror(f, &errnum);
            size_t pl = strlen(path);
            if (!strncmp(msg, path, pl) && !strncmp(msg + pl, ": ", 2)) msg += pl + 2;   /* zlib prefixes the path */
            if (errnum == Z_ERRNO)
                set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
            else
                set_err(err, errlen, "%s: corrupt gzip stream: %s", path, msg);
            return -1;
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

/* After a short read: zlib flags a gzip stream that was cut off mid-way with Z_BUF_ERROR. */
static const char *gz_cut_note(gzFile f) {
    int errnum;
    gzerror(f, &errnum);
    return errnum == Z_BUF_ERROR ? " (gzip stream ends early)" : "";
}

/* Only a regular file (open_regular_fd). */
static gzFile gz_open(const char *path, char *err, size_t errlen) {
    int fd = open_regular_fd(path, err, errlen);
    if (fd < 0) return NULL;
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        set_err(err, errlen, "%s: cannot open: out of memory", path);
        close(fd);
        return NULL;
    }
    gzbuffer(f, 1u << 17);
    return f;
}

/* Reads the magic plus ndims 32-bit big-endian sizes. */
static int read_header(gzFile f, const char *path, uint32_t magic, int ndims, uint32_t *dims,
                       char *err, size_t errlen) {
    unsigned char h[16];
    size_t need = 4 + 4 * (size_t)ndims, got;
    if (gz_read_upto(f, path, h, need, &got, err, errlen) != 0) return -1;
    if (got < 4) {
        set_err(err, errlen, "%s: truncated: %zu bytes, too short for an IDX header%s", path, got,
                gz_cut_note(f));
        return -1;
    }
    uint32_t m = be32(h);
    if (m != magic) {
        set_err(err, errlen, "%s: bad magic 0x%08x, expected 0x%08x (IDX %s file)", path, m, magic,
                magic == IDX_MAGIC_IMAGES ? "idx3-ubyte image" : "idx1-ubyte label");
        return -1;
    }
    if (got < need) {
        set_err(err, errlen, "%s: truncated header: %zu of %zu bytes%s", path, got, need,
                gz_cut_note(f));
        return -1;
    }
    for (int i = 0; i < ndims; i++) dims[i] = be32(h + 4 + 4 * i);
    return 0;
}

/* Reads exactly len payload bytes into a new buffer, growing it as data arrives so that a
 * corrupt header cannot make us allocate a huge block up front. what/len describe the promise
 * for the error message. Rejects short files and trailing bytes. */
static unsigned char *read_payload(gzFile f, const char *path, size_t len, const char *what,
                                   char *err, size_t errlen) {
    size_t cap = len < (64u << 20) ? len : (64u << 20), have = 0;
    unsigned char *buf = xmalloc(cap);
    for (;;) {
        size_t got;
        if (gz_read_upto(f, path, buf + have, cap - have, &got, err, errlen) != 0) goto fail;
        have += got;
        if (have < cap) {
            set_err(err, errlen, "%s: truncated: header promises %s (%zu bytes), file holds %zu%s",
                    path, what, len, have, gz_cut_note(f));
            goto fail;
        }
        if (cap == len) break;
        cap = cap > len / 2 ? len : cap * 2;
        buf = xrealloc(buf, cap);
    }
    unsigned char extra[1 << 14];
    size_t more = 0, got;
    do {
        if (gz_read_upto(f, path, extra, sizeof extra, &got, err, errlen) != 0) goto fail;
        more += got;
    } while (got == sizeof extra);
    if (more > 0) {
        set_err(err, errlen, "%s: trailing data: header promises %s (%zu bytes), file holds %zu more",
                path, what, len, more);
        goto fail;
    }
    /* gzread reports a stream cut off after the data but before its 8-byte trailer (CRC-32 and
     * length) only through gzerror's Z_BUF_ERROR: without this check such a file loads unverified. */
    int errnum;
    gzerror(f, &errnum);
    if (errnum == Z_BUF_ERROR) {
        set_err(err, errlen, "%s: truncated gzip: the data are complete but the stream ends before its CRC trailer",
                path);
        goto fail;
    }
    return buf;
fail:
    free(buf);
    return NULL;
}

int idx_load_images(const char *path, idx_images *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    gzFile f = gz_open(path, err, errlen);
    if (!f) return -1;
    uint32_t d[3];
    int rc = -1;
    if (read_header(f, path, IDX_MAGIC_IMAGES, 3, d, err, errlen) != 0) goto done;
    if (d[0] == 0 || d[0] > INT32_MAX || d[1] == 0 || d[1] > IDX_MAX_DIM || d[2] == 0 ||
        d[2] > IDX_MAX_DIM) {
        set_err(err, errlen, "%s: implausible dimensions %u images of %ux%u", path, d[0], d[1], d[2]);
        goto done;
    }
    uint64_t len = (uint64_t)d[0] * d[1] * d[2];
    if (len > SIZE_MAX / 2) {
        set_err(err, errlen, "%s: %u images of %ux%u do not fit in memory", path, d[0], d[1], d[2]);
        goto done;
    }
    char what[96];
    snprintf(what, sizeof what, "%u images of %ux%u", d[0], d[1], d[2]);
    out->pixels = read_payload(f, path, (size_t)len, what, err, errlen);
    if (!out->pixels) goto done;
    out->n = (int)d[0];
    out->rows = (int)d[1];
    out->cols = (int)d[2];
    rc = 0;
done:
    gzclose(f);
    return rc;
}

int idx_load_labels_range(const char *path, int max_label, unsigned char **labels, int *n, char *err,
                          size_t errlen) {
    *labels = NULL;
    *n = 0;
    gzFile f = gz_open(path, err, errlen);
    if (!f) return -1;
    uint32_t d[1];
    int rc = -1;
    if (read_header(f, path, IDX_MAGIC_LABELS, 1, d, err, errlen) != 0) goto done;
    if (d[0] == 0 || d[0] > INT32_MAX) {
        set_err(err, errlen, "%s: implausible label count %u", path, d[0]);
        goto done;
    }
    char what[64];
    snprintf(what, sizeof what, "%u labels", d[0]);
    *labels = read_payload(f, path, d[0], what, err, errlen);
    if (!*labels) goto done;
    for (uint32_t i = 0; i < d[0]; i++)
        if ((*labels)[i] > max_label) {
            set_err(err, errlen, "%s: label %d at index %u is outside 0..%d", path, (*labels)[i], i, max_label);
            free(*labels);
            *labels = NULL;
            goto done;
        }
    *n = (int)d[0];
    rc = 0;
done:
    gzclose(f);
    return rc;
}

int idx_load_labels(const char *path, unsigned char **labels, int *n, char *err, size_t errlen) {
    return idx_load_labels_range(path, IDX_MAX_LABEL, labels, n, err, errlen);
}

void idx_free_images(idx_images *im) {
    if (!im) return;
    free(im->pixels);
    memset(im, 0, sizeof *im);
}
