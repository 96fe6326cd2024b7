/* A view of a variable with another shape of the same size: no copy forward; the gradient is
 * added back into the input's gradient (the two live in separate buffers). */
#include "ops.h"
#include "util.h"

static void reshape_backward(tape *t, const tnode *nd) {
    float beta;
    tensor dx = tape_grad(t, nd->in[0], &beta);
    if (!dx.mem) return;
    tensor dy = tape_out_grad(t, nd);
    k_axpby(t->cl, dx, dy, tnumel(dy), 1.0f, beta);
}

/* tape_grad_graph: g reshaped back */
static int reshape_grad_graph(tape *t, const tnode *nd, int i, int g) {
    tensor x = tape_val(t, nd->in[i]);
    return op_reshape(t, g, x.n, x.c, x.h, x.w);
}

int op_reshape(tape *t, int x, int n, int c, int h, int w) {
    tensor v = tape_val(t, x);
    if ((size_t)n * c * h * w != tnumel(v))
        die("op_reshape: %dx%dx%dx%d has %zu elements, not %d*%d*%d*%d", v.n, v.c, v.h, v.w, tnumel(v), n, c, h, w);
    int wants = tape_any_grad(t, 1, &x);
    int y = tape_new_view(t, (tensor){v.mem, v.off, n, c, h, w}, wants);
    tnode *nd = tape_record(t, reshape_backward, "reshape", y, 1, &x);
    if (nd) nd->grad_graph = reshape_grad_graph;
    return y;
}
