/* tape_backward_net (host/tape.c): the gradient of a loss for one network's parameters only, as
 * torch.autograd.grad(loss, net.parameters()). Three linear layers E -> G -> D in a chain, the loss
 * reading E's and D's outputs (an adversarial VAE in miniature). For each network: its gradients are
 * bit for bit those of the full tape_backward; the other networks' gradient buffers are not written
 * (a sentinel stays); only the nodes between the network and the loss run (counted through the
 * profiling hook); and the loss's own value is untouched. */
#include <string.h>

#include "check.h"
#include "devtest.h"
#include "ops.h"
#include "rng.h"
#include "tape_data.h"
#include "tape_prof.h"

#define SENTINEL 7.25f

static int backward_nodes;
static void count(void *ud, const char *op, int backward) {
    (void)ud, (void)op;
    backward_nodes += backward;
}

static void make_linear(net *n, clg_ctx *cl, const char *name, int in, int out, unsigned long long seed) {
    net_init(n, cl, name);
    net_add(n, "weight", 2, (int[]){out, in});
    net_add(n, "bias", 1, (int[]){out});
    net_alloc(n);
    net_init_uniform(n, 0, 0.7f, seed);
    net_init_uniform(n, 1, 0.3f, seed + 1);
}

static float *grads(clg_ctx *cl, net *n) {
    float *g = xmalloc(n->total * sizeof *g);
    net_grad_settle(n);
    clg_read(cl, n->g, 0, n->total, g);
    return g;
}

/* every parameter's gradient (the padding between them stays the zeros net_alloc wrote) */
static void fill_grads(clg_ctx *cl, net *n, float v) {
    for (int i = 0; i < n->np; i++) clg_fill(cl, n->g, n->p[i].off, n->p[i].numel, v);
}

/* x {5, 3} -> E -> h {5, 4} -> relu -> G -> g {5, 6} -> D -> d {5, 2}; loss = mean|d - 0.5| + mean|h - 0.1| */
static int forward(tape *t, net *e, net *g, net *d, const float *x) {
    int vx = tape_upload(t, 5, 3, 1, 1, x);
    int h = op_linear(t, vx, tape_param(t, e, 0), tape_param(t, e, 1));
    int gg = op_linear(t, op_relu(t, h), tape_param(t, g, 0), tape_param(t, g, 1));
    int dd = op_linear(t, gg, tape_param(t, d, 0), tape_param(t, d, 1));
    int l1 = op_absdiff_sum(t, dd, tape_const(t, 5, 2, 1, 1, 0.5f), 1.0f / 10);
    int l2 = op_absdiff_sum(t, h, tape_const(t, 5, 4, 1, 1, 0.1f), 1.0f / 20);
    return op_lincomb(t, l1, 1.0f, l2, 1.0f);
}

int main(void) {
    clg_ctx *cl = dev_open_for_test();
    if (!cl) return 1;
    net nets[3];
    make_linear(&nets[0], cl, "E", 3, 4, 11);
    make_linear(&nets[1], cl, "G", 4, 6, 22);
    make_linear(&nets[2], cl, "D", 6, 2, 33);
    float x[15];
    rng_seq rs = rng_seq_make(5, RNG_STREAM_TEST, 0);
    for (int i = 0; i < 15; i++) x[i] = 2.0f * rng_uniform(&rs) - 1.0f;
    tape t;
    tape_init(&t, cl);
    tape_prof_set(count, NULL);

    /* the reference: one full backward */
    int loss = forward(&t, &nets[0], &nets[1], &nets[2], x);
    for (int i = 0; i < 3; i++) net_zero_grad(&nets[i]);
    backward_nodes = 0;
    tape_backward(&t, loss);
    int full_nodes = backward_nodes;
    float *ref[3], loss_ref = tape_read_scalar(&t, loss);
    for (int i = 0; i < 3; i++) ref[i] = grads(cl, &nets[i]);
    tape_reset(&t);

    /* nodes that must run for each network: E all 7 (linear, relu, linear, linear, 2 absdiff, lincomb),
     * G all but E's linear and its absdiff, D only its linear, its absdiff and the lincomb */
    const int want_nodes[3] = {7, 4, 3};
    for (int k = 0; k < 3; k++) {
        loss = forward(&t, &nets[0], &nets[1], &nets[2], x);
        for (int i = 0; i < 3; i++) fill_grads(cl, &nets[i], SENTINEL);
        net_zero_grad(&nets[k]);
        backward_nodes = 0;
        tape_backward_net(&t, loss, &nets[k]);
        float *got = grads(cl, &nets[k]);
        CHECK(memcmp(got, ref[k], nets[k].total * sizeof *got) == 0, "%s's gradients equal the full backward's",
              nets[k].name);
        size_t np = 0;
        for (int i = 0; i < nets[k].np; i++) np += nets[k].p[i].numel;
        printf("%s %s: %zu gradients bit for bit as the full backward's\n",
               memcmp(got, ref[k], nets[k].total * sizeof *got) ? "FAIL" : "ok  ", nets[k].name, np);
        free(got);
        for (int i = 0; i < 3; i++) {
            if (i == k) continue;
            float *other = grads(cl, &nets[i]);
            int untouched = 1;
            for (int q = 0; q < nets[i].np; q++)
                for (size_t j = 0; j < nets[i].p[q].numel; j++) untouched &= other[nets[i].p[q].off + j] == SENTINEL;
            CHECK(untouched, "the backward for %s leaves %s's gradient buffer alone", nets[k].name, nets[i].name);
            free(other);
        }
        CHECK(backward_nodes == want_nodes[k], "the backward for %s runs %d nodes (want %d; the full one ran %d)",
              nets[k].name, backward_nodes, want_nodes[k], full_nodes);
        printf("%s %s: %d of %d nodes run\n", backward_nodes == want_nodes[k] ? "ok  " : "FAIL", nets[k].name,
               backward_nodes, full_nodes);
        CHECK(tape_read_scalar(&t, loss) == loss_ref, "the loss is the same");
        /* requires_grad is back as it was: a second pass for another network still works */
        for (int v = 0; v < t.nvars; v++)
            if (t.vars[v].is_param) CHECK(t.vars[v].requires_grad, "parameter variable %d wants a gradient again", v);
        tape_reset(&t);
    }
    CHECK(full_nodes == 7, "the full backward runs all 7 nodes (%d)", full_nodes);

    tape_prof_set(NULL, NULL);
    for (int i = 0; i < 3; i++) free(ref[i]), net_free(&nets[i]);
    tape_free(&t);
    clg_close(cl);
    TEST_END();
}
