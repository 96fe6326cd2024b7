/* The safetensors checkpoint format: 8-byte little-endian header length N, N bytes of JSON header
 * (padded with spaces so the data starts at a multiple of 8), then the raw tensor data.
 * Only float32 ("F32") tensors are supported. */
#ifndef CLGAN_SAFETENSORS_H
#define CLGAN_SAFETENSORS_H
#include <stddef.h>

typedef struct { char name[192]; int ndim; long long shape[8]; float *data; } st_tensor;   /* data: numel floats */
typedef struct { st_tensor *t; int n; char **meta_key, **meta_val; int nmeta; } st_file;

/* Writes n tensors (in the order given) and nmeta key/value string pairs of metadata (stored
 * under "__metadata__"; nmeta may be 0 and the arrays NULL). Written atomically (temp file,
 * flush, fsync, rename): on failure an existing file at path is left as it was. A tensor holding
 * a NaN or an infinity is refused before anything is written (the error names it).
 * Returns 0, or -1 with a message naming the path in err. */
int st_save(const char *path, const st_tensor *t, int n, const char *const *meta_key,
            const char *const *meta_val, int nmeta, char *err, size_t errlen);

/* Reads and validates a whole file (header JSON, dtypes, offsets against shapes and file size,
 * every value finite). Only a regular file is read: a FIFO or a device is refused without
 * blocking. On success fills *out (release with st_free); on failure *out is empty and err names the path
 * and the problem. */
int st_load(const char *path, st_file *out, char *err, size_t errlen);

const st_tensor *st_find(const st_file *f, const char *name);   /* NULL if absent */
const char *st_meta(const st_file *f, const char *key);          /* NULL if absent */
long long st_numel(const st_tensor *t);                          /* product of shape; 1 if ndim 0 */
void st_free(st_file *f);

#endif
