/* STL-10 binary files (https://cs.stanford.edu/~acoates/stl10/): train_X.bin, test_X.bin and
 * unlabeled_X.bin hold N images of 3x96x96 bytes, each stored channel by channel (R, G, B) and,
 * within a channel, column-major: byte c*96*96 + x*96 + y is pixel (row y, column x).
 * train_y.bin / test_y.bin hold N labels, bytes 1..10. */
#ifndef CLGAN_STL10_H
#define CLGAN_STL10_H
#include <stddef.h>

#define STL10_SIDE 96
#define STL10_IMAGE_BYTES (3 * STL10_SIDE * STL10_SIDE)   /* 27648 */

/* Loads the first min(limit, N) images (limit 0 = all), resized to size x size (triangle filter;
 * size 96 copies exactly) as malloc'ed float32 NCHW in [-1, 1] (byte v -> v/127.5 - 1, free()).
 * The file is read image by image, so a limit keeps memory small. The file size must be a
 * non-zero multiple of 27648 bytes. Returns 0, or -1 with err naming the path. */
int stl10_load(const char *path, int size, int limit, float **out, int *n, char *err, size_t errlen);

/* Loads a label file: values 1..10 are stored as 0..9 in a malloc'ed array of *n bytes (free()).
 * An empty file, or any other value (the error names its index), is an error. */
int stl10_load_labels(const char *path, unsigned char **labels, int *n, char *err, size_t errlen);

#endif
