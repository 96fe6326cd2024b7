/* IDX file loader (MNIST, Fashion-MNIST): gzip-compressed or plain, read through zlib. */
#ifndef CLGAN_IDX_H
#define CLGAN_IDX_H
#include <stddef.h>

typedef struct { int n, rows, cols; unsigned char *pixels; } idx_images;   /* n*rows*cols bytes, row-major */

/* Loads an idx3-ubyte image file (magic 0x00000803). The file must hold exactly the bytes its
 * header promises. Returns 0, or -1 with a message naming the path in err. */
int idx_load_images(const char *path, idx_images *out, char *err, size_t errlen);

/* Loads an idx1-ubyte label file (magic 0x00000801) into a malloc'ed array of *n bytes (free()
 * it). Values are not range-checked. Returns 0, or -1 with a message naming the path in err. */
int idx_load_labels(const char *path, unsigned char **labels, int *n, char *err, size_t errlen);

void idx_free_images(idx_images *im);

#endif
