/* Loading a feature network's weights (models/inception.c, models/lpips.c): every parameter and buffer
 * of the networks is looked up by its name in a safetensors file written by tools/convert_*.py. */
#ifndef CLGAN_FEATNET_WEIGHTS_H
#define CLGAN_FEATNET_WEIGHTS_H
#include <stddef.h>

#include "net.h"
#include "safetensors.h"

/* Uploads every parameter of nets[0..n) from f (read from path): each must be present with exactly the
 * parameter's shape. -1 with err naming path, the tensor and the problem ("missing", or both shapes)
 * and the converter to use (hint, e.g. "tools/convert_inception.py"). Tensors the nets do not use are
 * ignored. */
int featnet_fill_nets(const st_file *f, const char *path, const char *hint, net *const *nets, int n, char *err,
                      size_t errlen);

/* Tensor name of f with exactly ndim dimensions of the given shape; NULL with err as featnet_fill_nets
 * words it. */
const st_tensor *featnet_tensor(const st_file *f, const char *path, const char *hint, const char *name, int ndim,
                                const int *shape, char *err, size_t errlen);

/* The shape of tensor name as "[a, b, c]" into out (for messages); "absent" if f lacks it. */
void featnet_shape_str(const st_file *f, const char *name, char *out, size_t n);

#endif
