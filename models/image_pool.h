/* The image pool of Shrivastava et al. as CycleGAN uses it: the discriminator sees a mix of the
 * newest fakes and up to `size` fakes generated earlier. Kept on the device as a one-parameter
 * network ("<name>.images"), so a checkpoint saves it and --resume continues exactly. */
#ifndef CLGAN_IMAGE_POOL_H
#define CLGAN_IMAGE_POOL_H
#include <stdint.h>

#include "net.h"
#include "tape.h"

typedef struct {
    clg_ctx *cl;
    net store; /* one parameter {size, c, h, w}; allocated only when size > 0 */
    int size, count;
    size_t per; /* floats per image */
} image_pool;

void image_pool_init(image_pool *p, clg_ctx *cl, const char *name, int size, int c, int h, int w);
void image_pool_free(image_pool *p);
/* The reference's ImagePool.query for a batch of fakes {B, c, h, w}: while the pool fills, each fake
 * is stored and returned; then with probability 1/2 a stored fake (uniform index) is returned and
 * replaced by the new one, else the new one is returned. Draws come from (seed, RNG_STREAM_POOL,
 * step). Returns a new variable without gradient (size 0: the fakes, detached). */
int image_pool_query(image_pool *p, tape *t, int fakes, uint64_t seed, uint32_t step);

#endif
