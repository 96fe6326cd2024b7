/* Not ops: in-place utilities of the elem family (WGAN weight clipping). */
#include "ops.h"
#include "util.h"

void net_clip_weights(net *n, float c) {
    if (!(c >= 0.0f)) die("net_clip_weights: bound %g must be >= 0", c);
    if (!n->w) die("net_clip_weights: net %s is not allocated", n->name);
    /* the whole weight buffer: the padding between parameters is 0 and stays 0 */
    CLG_LAUNCH1(n->cl, "clamp_inplace", n->total, KMEM(n->w), KINT(0), KINT(n->total), KFLOAT(-c), KFLOAT(c));
    n->version++;
}
