#include "tape.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tape_prof.h"
#include "util.h"

#define ARENA_CHUNK_FLOATS ((size_t)16 << 20) /* 64 MiB */

static tape_prof_fn prof_fn; /* ./bench --profile (tape_prof.h) */
static void *prof_ud;

void tape_prof_set(tape_prof_fn fn, void *ud) {
    prof_fn = fn;
    prof_ud = ud;
}

void tape_init(tape *t, clg_ctx *cl) {
    memset(t, 0, sizeof *t);
    t->cl = cl;
    t->grad_enabled = 1;
    arena_init(&t->ar, cl, ARENA_CHUNK_FLOATS);
    arena_init(&t->scratch, cl, ARENA_CHUNK_FLOATS);
    arena_init(&t->keep, cl, ARENA_CHUNK_FLOATS);
}

void tape_free(tape *t) {
    arena_free(&t->ar);
    arena_free(&t->scratch);
    arena_free(&t->keep);
    free(t->vars);
    free(t->nodes);
    free(t->cache);
    free(t->gfree);
    memset(t, 0, sizeof *t);
}

/* The cache entries that outlive a reset: with cache_keep, those without a variable (a variable is the
 * step's), all of them while every one's network is at its version, else none (the keep arena then starts
 * over). */
static void keep_cached(tape *t) {
    int n = 0, stale = 0;
    for (int i = 0; i < t->ncache && t->cache_keep; i++) {
        const tcache_entry *e = &t->cache[i];
        if (e->var >= 0) continue;
        stale |= e->key.version != e->key.owner->version;
        t->cache[n++] = *e;
    }
    t->ncache = stale ? 0 : n;
    if (stale || !n) arena_reset(&t->keep);
}

void tape_set_inference(tape *t) {
    t->grad_enabled = 0;
    t->cache_derived = 1;
    t->cache_keep = 1;
}

tensor tape_cache_alloc(tape *t, size_t n) {
    if (n > INT_MAX) die("tape_cache_alloc: %zu floats", n);
    return arena_tensor(t->cache_keep ? &t->keep : &t->ar, n ? (int)n : 1, 1, 1, 1);
}

void tape_reset(tape *t) {
    t->resets++;
    t->nvars = 0;
    t->nnodes = 0;
    keep_cached(t); /* the others live in the step arena */
    t->ngfree = 0; /* so do the pooled gradients */
    arena_reset(&t->ar);
    arena_reset(&t->scratch);
}

void tape_scratch_begin(tape *t) { arena_reset(&t->scratch); }

tensor tape_scratch(tape *t, size_t n) {
    if (n > (size_t)INT_MAX) die("tape_scratch: %zu floats do not fit the kernels' int offsets", n);
    return arena_tensor(&t->scratch, (int)(n ? n : 1), 1, 1, 1);
}

tensor tape_saved(tape *t, size_t n) {
    if (n > (size_t)INT_MAX) die("tape_saved: %zu floats do not fit the kernels' int offsets", n);
    return arena_tensor(&t->ar, (int)(n ? n : 1), 1, 1, 1);
}

static int push_var(tape *t, tvar v) {
    if (t->nvars == t->vcap) {
        t->vcap = t->vcap ? 2 * t->vcap : 256;
        t->vars = xrealloc(t->vars, (size_t)t->vcap * sizeof *t->vars);
    }
    t->vars[t->nvars] = v;
    return t->nvars++;
}

int tape_input(tape *t, tensor v) { return push_var(t, (tvar){.val = v}); }

int tape_param(tape *t, net *n, int i) {
    return push_var(t, (tvar){.val = net_tensor(n, i), .grad = net_grad(n, i), .requires_grad = n->requires_grad,
                              .is_param = 1, .param = i, .owner = n});
}

int tape_new(tape *t, int n, int c, int h, int w, int requires_grad) {
    tensor v = arena_tensor(&t->ar, n, c, h, w);
    return push_var(t, (tvar){.val = v, .requires_grad = requires_grad && t->grad_enabled});
}

int tape_new_view(tape *t, tensor v, int requires_grad) {
    return push_var(t, (tvar){.val = v, .requires_grad = requires_grad && t->grad_enabled});
}

int tape_detach(tape *t, int v) { return push_var(t, (tvar){.val = t->vars[v].val}); }

int tape_any_grad(const tape *t, int nin, const int *in) {
    if (!t->grad_enabled) return 0;
    for (int i = 0; i < nin; i++)
        if (in[i] >= 0 && t->vars[in[i]].requires_grad) return 1;
    return 0;
}

tnode *tape_record(tape *t, backward_fn fn, const char *op, int out, int nin, const int *in) {
    if (prof_fn) prof_fn(prof_ud, op, 0);
    if (!tape_wants_grad(t, out)) return NULL;
    if (t->nnodes == t->ncap) {
        t->ncap = t->ncap ? 2 * t->ncap : 256;
        t->nodes = xrealloc(t->nodes, (size_t)t->ncap * sizeof *t->nodes);
    }
    tnode *nd = &t->nodes[t->nnodes++];
    memset(nd, 0, sizeof *nd);
    nd->backward = fn;
    nd->op = op;
    nd->out = out;
    nd->nin = nin;
    for (int i = 0; i < nin; i++) nd->in[i] = in[i];
    return nd;
}

/* A gradient for a variable shaped as val: a dead one of the same size, else new arena memory. The
 * queue runs in order, so the kernels that read the dead one have run before any that write it again;
 * the first write (beta 0) overwrites what it held. */
static tensor grad_alloc(tape *t, tensor val) {
    size_t n = tnumel(val);
    for (int i = 0; i < t->ngfree; i++)
        if (tnumel(t->gfree[i]) == n) {
            tensor g = t->gfree[i];
            t->gfree[i] = t->gfree[--t->ngfree];
            g.n = val.n, g.c = val.c, g.h = val.h, g.w = val.w;
            return g;
        }
    return arena_tensor(&t->ar, val.n, val.c, val.h, val.w);
}

/* v's pooled gradient back to the pool. */
static void grad_release(tape *t, int v) {
    tvar *x = &t->vars[v];
    if (!x->grad_pooled || !x->grad.mem) return;
    if (t->ngfree == t->gfree_cap) {
        t->gfree_cap = t->gfree_cap ? 2 * t->gfree_cap : 64;
        t->gfree = xrealloc(t->gfree, (size_t)t->gfree_cap * sizeof *t->gfree);
    }
    t->gfree[t->ngfree++] = x->grad;
    x->grad = (tensor){0};
    x->grad_pooled = 0;
}

tensor tape_grad(tape *t, int v, float *beta) {
    if (v < 0 || !t->vars[v].requires_grad) {
        *beta = 0;
        return (tensor){0};
    }
    tvar *x = &t->vars[v];
    if (x->is_param) {
        /* the caller writes the whole slice (every op's backward does, like an activation's first write);
         * a gradient buffer set by hand (no owner) is always added to */
        param *p = x->owner ? &x->owner->p[x->param] : NULL;
        *beta = p && p->grad_zero_pending ? 0.0f : 1.0f;
        if (p) p->grad_zero_pending = 0;
        return x->grad;
    }
    if (!x->grad.mem) {
        x->grad = grad_alloc(t, x->val);
        x->grad_pooled = 1;
    }
    *beta = x->grad_state ? 1.0f : 0.0f;
    x->grad_state = 1;
    return x->grad;
}

void tape_backward(tape *t, int loss) {
    if (tnumel(t->vars[loss].val) != 1) die("tape_backward: the loss must be a scalar");
    if (!t->vars[loss].requires_grad) die("tape_backward: the loss does not depend on anything that wants a gradient");
    /* A new pass: gradients written by an earlier backward on this tape (e.g. the D step before the
     * G step of a GAN) are stale and must be overwritten, not added to. */
    for (int i = 0; i < t->nvars; i++) t->vars[i].grad_state = 0;
    float beta;
    tensor g = tape_grad(t, loss, &beta);
    clg_fill(t->cl, g.mem, g.off, 1, 1.0f);
    for (int i = t->nnodes - 1; i >= 0; i--) {
        const tnode *nd = &t->nodes[i];
        if (t->vars[nd->out].grad_state) {
            nd->backward(t, nd);
            if (prof_fn) prof_fn(prof_ud, nd->op, 1);
        }
        if (!t->keep_grads) grad_release(t, nd->out); /* its node was its only reader (or, unwritten, stale) */
    }
}

void tape_backward_net(tape *t, int loss, const net *only) {
    /* keep[v]: v is one of only's parameters, or an op's output with such a variable upstream. Nodes
     * are recorded after their inputs exist, so one pass in recording order finds them all. */
    char *keep = xcalloc((size_t)t->nvars, 1);
    for (int v = 0; v < t->nvars; v++) keep[v] = t->vars[v].is_param && t->vars[v].owner == only;
    for (int i = 0; i < t->nnodes; i++) {
        const tnode *nd = &t->nodes[i];
        for (int j = 0; j < nd->nin && !keep[nd->out]; j++)
            if (nd->in[j] >= 0 && keep[nd->in[j]]) keep[nd->out] = 1;
    }
    if (!keep[loss]) die("tape_backward_net: the loss does not depend on network %s", only->name);
    /* The ops' backwards skip every input whose requires_grad is 0 (tape_grad hands them no gradient),
     * and a node whose output got no gradient does not run: clear it off the kept variables for this
     * pass only. */
    char *wanted = xmalloc((size_t)t->nvars);
    for (int v = 0; v < t->nvars; v++) {
        wanted[v] = (char)t->vars[v].requires_grad;
        t->vars[v].requires_grad &= keep[v];
    }
    tape_backward(t, loss);
    for (int v = 0; v < t->nvars; v++) t->vars[v].requires_grad = wanted[v];
    free(wanted);
    free(keep);
}

float tape_read_scalar(tape *t, int v) {
    float x;
    tensor s = t->vars[v].val;
    clg_read(t->cl, s.mem, s.off, 1, &x);
    return x;
}

static const tcache_entry *cache_find(const tape *t, const tcache_key *key) {
    if (!t->cache_derived || !key->owner || key->version != key->owner->version) return NULL;
    for (int i = 0; i < t->ncache; i++)
        if (memcmp(&t->cache[i].key, key, sizeof *key) == 0) return &t->cache[i];
    return NULL;
}

const tensor *tape_cache_get(const tape *t, const tcache_key *key) {
    const tcache_entry *e = cache_find(t, key);
    return e ? &e->val : NULL;
}

void tape_cache_put(tape *t, const tcache_key *key, tensor val) {
    if (!t->cache_derived || !key->owner) return;
    if (t->ncache == t->cache_cap) {
        t->cache_cap = t->cache_cap ? 2 * t->cache_cap : 64;
        t->cache = xrealloc(t->cache, (size_t)t->cache_cap * sizeof *t->cache);
    }
    t->cache[t->ncache++] = (tcache_entry){.key = *key, .val = val, .var = -1};
}

int tape_cache_get_var(const tape *t, const tcache_key *key) {
    const tcache_entry *e = cache_find(t, key);
    return e ? e->var : -1;
}

void tape_cache_put_var(tape *t, const tcache_key *key, int v) {
    tape_cache_put(t, key, t->vars[v].val);
    if (t->ncache && !memcmp(&t->cache[t->ncache - 1].key, key, sizeof *key)) t->cache[t->ncache - 1].var = v;
}
