/* IDX file loader (MNIST, Fashion-MNIST): gzip-compressed or plain, read through zlib. Only regular
 * files (a FIFO is refused, not waited on); a gzip stream must be whole, trailer included. */
#ifndef CLGAN_IDX_H
#define CLGAN_IDX_H
#include <stddef.h>

typedef struct { int n, rows, cols; unsigned char *pixels; } idx_images;   /* n*rows*cols bytes, row-major */

/* Loads an idx3-ubyte image file (magic 0x00000803). The file must hold exactly the bytes its
 * header promises. Returns 0, or -1 with a message naming the path in err. */
int idx_load_images(const char *path, idx_images *out, char *err, size_t errlen);

/* Labels above this are refused by idx_load_labels: the MNIST family has at most 62 classes
 * (EMNIST ByClass); a label of 200 would otherwise make 201 classes. */
#define IDX_MAX_LABEL 61

/* Loads an idx1-ubyte label file (magic 0x00000801) into a malloc'ed array of *n bytes (free()
 * it). Every label must be in 0..max_label (idx_load_labels: 0..IDX_MAX_LABEL); the error names
 * the first one outside, its index and the range. Returns 0, or -1 with a message naming the path. */
int idx_load_labels_range(const char *path, int max_label, unsigned char **labels, int *n, char *err,
                          size_t errlen);
int idx_load_labels(const char *path, unsigned char **labels, int *n, char *err, size_t errlen);

void idx_free_images(idx_images *im);

#endif
