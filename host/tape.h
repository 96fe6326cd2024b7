/* The autograd tape. An op's forward launches its kernel and, when a gradient is wanted, records a
 * node; tape_backward() walks the nodes in reverse and adds each op's contribution into the
 * gradients of its inputs. A variable (an int handle) is a tensor on the tape plus its gradient.
 *
 * Gradients of activations are written the first time (beta 0, no zero-fill needed) and added to
 * after that (beta 1); gradients of parameters add into the network's gradient buffer, which the
 * training step zeroes lazily (net_zero_grad: there too the first write overwrites). An activation's gradient is dead once the node that produced the
 * activation has run (it is that node's input): tape_backward returns it to a pool that later
 * gradients of the same size take from, so after a backward only leaves' gradients are readable.
 * tape_detach() and net.requires_grad cut the graph the way GAN
 * schedules need (fakes detached for the D step; D frozen during the G step). */
#ifndef CLGAN_TAPE_H
#define CLGAN_TAPE_H
#include <stdint.h>

#include "arena.h"
#include "net.h"

typedef struct {
    tensor val, grad;
    int requires_grad; /* a gradient is wanted for this variable */
    int grad_state;    /* 0: not written yet this backward; 1: written */
    int is_param;      /* grad is a slice of a network's gradient buffer: accumulate (after net_zero_grad the
                          first write overwrites: param.grad_zero_pending) */
    int param;         /* is_param: the parameter's index in owner */
    int grad_pooled;   /* grad came from the tape's gradient pool (returned once its node has run) */
    const net *owner;  /* the network of a parameter (tape_param), else NULL */
} tvar;

struct tape;
struct tnode;
typedef void (*backward_fn)(struct tape *t, const struct tnode *nd);
/* An op's vector-Jacobian product for input i as new ops on the tape (tape_grad_graph, host/ops_grad.h):
 * d(out)/d(input i) . g for the variable g, or -1 where input i gets no such gradient. */
typedef int (*grad_graph_fn)(struct tape *t, const struct tnode *nd, int i, int g);

typedef struct tnode {
    backward_fn backward;
    grad_graph_fn grad_graph; /* NULL (tape_record's default): tape_grad_graph stops naming op */
    const char *op;
    int out, in[4], nin;
    tensor saved[4];
    int iarg[8];
    float farg[8];
} tnode;

/* A tensor derived from a parameter (a convolution's packed weight), kept for reuse until the tape
 * resets or the parameter's network changes version. The key is compared bytewise. */
typedef struct {
    cl_mem mem;
    size_t off;
    const net *owner;
    unsigned long version;
    int args[12];
} tcache_key;
typedef struct {
    tcache_key key;
    tensor val;
    int var; /* the variable holding val (tape_cache_put_var), else -1 */
} tcache_entry;
typedef struct tape {
    clg_ctx *cl;
    arena ar;
    /* An op's transient buffers (padded copies, column matrices, transforms: tape_scratch). The queue
     * runs in order, so once an op has enqueued its kernels the next op may reuse that memory: each op
     * starts over at the same addresses, still in cache, where the step arena would hand out fresh
     * ones that only arena_reset releases. */
    arena scratch;
    tvar *vars;
    int nvars, vcap;
    tnode *nodes;
    int nnodes, ncap;
    int grad_enabled; /* 0 (evaluation): ops record nothing and outputs want no gradient */
    unsigned long resets; /* tape_reset calls so far: what was recorded before a reset is gone */
    /* Derived-tensor cache (tape_cache_get/put), off unless the caller turns it on: only a caller whose
     * parameters change through net_upload, optim_step or net_clip_weights between uses may (the
     * training loops; tests that write weights directly must not). */
    int cache_derived;
    /* With cache_derived, 1: the cached tensors that tape_cache_alloc handed out (the entries without a
     * variable) outlive tape_reset, in the keep arena. For inference (./translate, generated samples),
     * whose networks do not change while the tape lives: the packed weights are made on the first
     * forward, not on every one. A network whose version changes after all loses them at the next reset
     * (they are made again). tape_set_inference. */
    int cache_keep;
    arena keep;
    tcache_entry *cache;
    int ncache, cache_cap;
    /* Gradients of intermediate variables that are dead (the node that produced the variable has run
     * its backward, the only reader), for the next tape_grad of the same size: backward writes into
     * memory still in cache, and a step holds only the gradients alive at once. */
    tensor *gfree;
    int ngfree, gfree_cap;
    int keep_grads; /* 1: tape_backward keeps every gradient readable (tests that check an activation's) */
} tape;

void tape_init(tape *t, clg_ctx *cl);
void tape_free(tape *t);
/* Forgets every variable and node and releases the arena: call after each step. */
void tape_reset(tape *t);
/* Scratch for the op now running: tape_scratch_begin at the op's start (its forward, or its node's
 * backward) releases the previous op's, tape_scratch hands out n floats that are valid until then. */
void tape_scratch_begin(tape *t);
tensor tape_scratch(tape *t, size_t n);

/* n floats in the step arena for a node to save for its backward (valid until tape_reset). */
tensor tape_saved(tape *t, size_t n);

int tape_input(tape *t, tensor v);            /* a leaf that wants no gradient */
int tape_param(tape *t, net *n, int i);       /* a leaf whose gradient adds into n's gradient buffer */
int tape_new(tape *t, int n, int c, int h, int w, int requires_grad); /* arena storage */
int tape_detach(tape *t, int v);              /* the same storage, cut from the graph */
int tape_new_view(tape *t, tensor v, int requires_grad); /* a variable over existing storage */
static inline tensor tape_val(const tape *t, int v) { return t->vars[v].val; }
static inline int tape_wants_grad(const tape *t, int v) { return t->grad_enabled && t->vars[v].requires_grad; }
/* True if any of the inputs wants a gradient (then the op's output does too). */
int tape_any_grad(const tape *t, int nin, const int *in);

/* Records a node for output `out` (only when out wants a gradient; returns NULL otherwise). */
tnode *tape_record(tape *t, backward_fn fn, const char *op, int out, int nin, const int *in);

/* The gradient tensor of v to write into, and the beta to write it with (0: overwrite, first write;
 * 1: accumulate). Returns a tensor with mem NULL when v wants no gradient. */
tensor tape_grad(tape *t, int v, float *beta);
/* The upstream gradient of an op's output (always written when its node runs). */
static inline tensor tape_out_grad(const tape *t, const tnode *nd) { return t->vars[nd->out].grad; }

/* Seeds d(loss)/d(loss) = 1 for a scalar loss and runs every recorded node in reverse. */
void tape_backward(tape *t, int loss);
/* The same for the gradients of one network's parameters only, as torch.autograd.grad(loss,
 * net.parameters()) does: only the nodes on a path from one of them to the loss run, each writing
 * only the gradients on such a path. Other networks' gradient buffers are not touched. */
void tape_backward_net(tape *t, int loss, const net *only);

float tape_read_scalar(tape *t, int v); /* blocking read of a one-element variable */
/* The cached tensor for key (NULL: absent, or caching is off); tape_cache_put stores one. */
const tensor *tape_cache_get(const tape *t, const tcache_key *key);
void tape_cache_put(tape *t, const tcache_key *key, tensor val);
/* Memory for a tensor that goes into the cache: the keep arena (cache_keep), else the step arena. With
 * cache_keep, tape_cache_put's val must come from here (an entry outlives the reset). */
tensor tape_cache_alloc(tape *t, size_t n);
/* Gradients off, and the weights' derived tensors cached across tape_reset (cache_keep): a tape for
 * inference with networks that stay fixed while it lives. */
void tape_set_inference(tape *t);
/* The same for a derived variable (an op's output on the tape, with its node): reused, the uses share
 * its gradient and its node runs once, after all of them. -1: absent, or caching is off. */
int tape_cache_get_var(const tape *t, const tcache_key *key);
void tape_cache_put_var(tape *t, const tcache_key *key, int v);

#endif
