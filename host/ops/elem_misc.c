/* Not ops: in-place utilities of the elem family (WGAN weight clipping). */
#include "kernel_launch.h"
#include "ops.h"
#include "util.h"

void net_clip_weights(net *n, float c) {
    if (!(c >= 0.0f)) die("net_clip_weights: bound %g must be >= 0", c);
    if (!n->w) die("net_clip_weights: net %s is not allocated", n->name);
    /* the whole weight buffer: the padding between parameters is 0 and stays 0 */
    kl_clamp_inplace(n->cl, clg_grid_1d(n->total), n->w, 0, n->total, -c, c);
    n->version++;
}
