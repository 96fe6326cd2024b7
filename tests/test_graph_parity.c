/* PyTorch parity for the graph builders (models/graph.h): a ResNet-18 feature extractor
 * (torchvision.models.resnet18 up to the global average pool), a small pix2pix U-Net (5 downs at
 * 32x32, ngf 8, batch norm, no dropout) and the same as BicycleGAN's G_Unet_add_input (z of 3 channels
 * broadcast and concatenated to the input; the gradient w.r.t. z compared too), with random weights
 * and batch-norm statistics.
 *
 * Here, for each network: an evaluation-mode forward (running statistics), then a training-mode
 * forward (batch statistics; running ones updated), L = 0.5 * sum (y - T)^2 with a random T, and the
 * backward: the gradient of L w.r.t. the input and every parameter. Everything goes to
 * tests/graph_parity.py (/usr/bin/python3) in one safetensors file per network, named as the PyTorch
 * module's state_dict; the script loads it with load_state_dict(strict=True), runs the same in
 * float64 and float32 and compares (see its header for the tolerances), and writes back the state_dict
 * of a freshly initialised PyTorch model with its evaluation-mode output on our input. Then here, the
 * other way: that file must hold exactly our parameter and buffer names with our shapes (nothing
 * missing, nothing extra but num_batches_tracked), and our forward with its weights must give its
 * output (relative to max |y|: 1e-4 for the ResNet, whose 20 layers add float32 rounding, 1e-5 for the
 * U-Net). The script's exit status and those checks decide this test. GRAPH_PARITY_KEEP=1 keeps the
 * files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devtest.h"
#include "graph.h"
#include "rng.h"
#include "safetensors.h"
#include "util.h"

#define SCRIPT "tests/graph_parity.py"
#define PYTHON "/usr/bin/python3"

typedef struct {
    const char *name;
    int n, c, h, w;  /* input */
    int nz;          /* z channels (BicycleGAN's G_Unet_add_input), 0: no z */
    double back_tol; /* torch -> clgan forward check */
} pcase;

static const pcase cases[] = {
    {"resnet18", 2, 3, 48, 48, 0, 1e-4},
    {"unet", 2, 3, 32, 32, 0, 1e-5},
    {"unet_add_input", 2, 3, 32, 32, 3, 1e-5},
};
#define NCASE ((int)(sizeof cases / sizeof cases[0]))

static char tmpdir[] = "/tmp/clgan_test_graph_parity_XXXXXX";
static clg_ctx *cl;

static void build(seqnet *s, const pcase *pc) {
    seq_init(s, cl, pc->name);
    if (!strcmp(pc->name, "resnet18")) {
        graph_resnet18_features(s, pc->c);
    } else {
        unet_spec u = {.input_nc = pc->c, .output_nc = 3, .num_downs = 5, .ngf = 8, .norm = L_BN, .nz = pc->nz,
                       .z_mode = pc->nz ? UNET_Z_INPUT : UNET_Z_NONE};
        graph_unet(s, &u);
    }
    seq_build(s);
}

/* Random weights that keep activations O(1): conv weights U(+-sqrt(6/fan_in)) (Kaiming), norm weights
 * U(0.5, 1.5), biases and running means U(+-0.3), running variances U(0.5, 1.5). */
static void random_state(seqnet *s, rng_seq *r) {
    float *w = xcalloc(s->params.total, sizeof *w), *b = xcalloc(s->buffers.total, sizeof *b);
    for (int i = 0; i < s->params.np; i++) {
        const param *p = &s->params.p[i];
        int fan_in = p->ndim == 4 ? p->shape[1] * p->shape[2] * p->shape[3] : 0;
        int is_bias = strstr(p->name, ".bias") != NULL;
        for (size_t k = 0; k < p->numel; k++) {
            float u = 2.0f * rng_uniform(r) - 1.0f;
            w[p->off + k] = p->ndim == 4 ? u * sqrtf(6.0f / (float)fan_in) : is_bias ? 0.3f * u : 1.0f + 0.5f * u;
        }
    }
    for (int i = 0; i < s->buffers.np; i++) {
        const param *p = &s->buffers.p[i];
        int is_var = strstr(p->name, "running_var") != NULL;
        for (size_t k = 0; k < p->numel; k++) {
            float u = 2.0f * rng_uniform(r) - 1.0f;
            b[p->off + k] = is_var ? 1.0f + 0.5f * u : 0.3f * u;
        }
    }
    net_upload(&s->params, w);
    net_upload(&s->buffers, b);
    free(w);
    free(b);
}

/* The tensors of a file being assembled: names and data are owned here. */
typedef struct {
    st_tensor t[512];
    int n;
} stlist;

static void add(stlist *l, const char *prefix, const char *name, int ndim, const int *shape, const float *v) {
    if (l->n == 512) die("test_graph_parity: too many tensors");
    st_tensor *t = &l->t[l->n++];
    snprintf(t->name, sizeof t->name, "%s%s", prefix, name);
    t->ndim = ndim;
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= (size_t)(t->shape[d] = shape[d]);
    t->data = xmalloc(numel * sizeof(float));
    memcpy(t->data, v, numel * sizeof(float));
}

static void add_net(stlist *l, const char *prefix, net *n, cl_mem from) {
    float *all = xmalloc(n->total * sizeof *all);
    clg_read(cl, from, 0, n->total, all);
    for (int i = 0; i < n->np; i++) add(l, prefix, n->p[i].name, n->p[i].ndim, n->p[i].shape, all + n->p[i].off);
    free(all);
}

static void add_tensor(stlist *l, const char *name, tensor v) {
    float *h = dev_download(cl, v);
    add(l, "", name, 4, (int[]){v.n, v.c, v.h, v.w}, h);
    free(h);
}

static void free_list(stlist *l) {
    for (int i = 0; i < l->n; i++) free(l->t[i].data);
    l->n = 0;
}

static void path_of(char *out, size_t n, const char *name, const char *what) {
    snprintf(out, n, "%s/%s_%s.safetensors", tmpdir, name, what);
}

/* Our side: the state, the input, both forwards and the gradients, into NAME_ours.safetensors. */
static int run_ours(const pcase *pc) {
    seqnet s;
    build(&s, pc);
    rng_seq r = rng_seq_make(31, RNG_STREAM_TEST, (uint32_t)(pc - cases));
    random_state(&s, &r);
    stlist *l = xcalloc(1, sizeof *l);
    add_net(l, "", &s.params, s.params.w);
    add_net(l, "", &s.buffers, s.buffers.w);
    size_t nx = (size_t)pc->n * pc->c * pc->h * pc->w;
    float *x = xmalloc(nx * sizeof *x);
    for (size_t i = 0; i < nx; i++) x[i] = 2.0f * rng_uniform(&r) - 1.0f;
    add(l, "", "x", 4, (int[]){pc->n, pc->c, pc->h, pc->w}, x);
    float zh[64];
    for (int i = 0; i < pc->n * pc->nz; i++) zh[i] = 2.0f * rng_uniform(&r) - 1.0f;
    if (pc->nz) add(l, "", "z", 4, (int[]){pc->n, pc->nz, 1, 1}, zh);
    tape t;
    tape_init(&t, cl);
    double t0 = now_seconds();
    /* evaluation mode */
    t.grad_enabled = 0;
    int xv = tape_new(&t, pc->n, pc->c, pc->h, pc->w, 0);
    clg_write(cl, tape_val(&t, xv).mem, tape_val(&t, xv).off, nx, x);
    seq_ctx ev = {.training = 0, .seed = 1};
    int zv = -1;
    if (pc->nz) {
        zv = tape_new(&t, pc->n, pc->nz, 1, 1, 0);
        clg_write(cl, tape_val(&t, zv).mem, tape_val(&t, zv).off, (size_t)pc->n * pc->nz, zh);
    }
    add_tensor(l, "y_eval", tape_val(&t, seq_forward_z(&s, &t, xv, zv, &ev)));
    /* training mode, with gradients */
    tape_reset(&t);
    t.grad_enabled = 1;
    xv = tape_new(&t, pc->n, pc->c, pc->h, pc->w, 1);
    clg_write(cl, tape_val(&t, xv).mem, tape_val(&t, xv).off, nx, x);
    if (pc->nz) {
        zv = tape_new(&t, pc->n, pc->nz, 1, 1, 1);
        clg_write(cl, tape_val(&t, zv).mem, tape_val(&t, zv).off, (size_t)pc->n * pc->nz, zh);
    }
    seq_ctx tr = {.training = 1, .seed = 1};
    int y = seq_forward_z(&s, &t, xv, zv, &tr);
    tensor yv = tape_val(&t, y);
    float *T = xmalloc(tnumel(yv) * sizeof *T);
    for (size_t i = 0; i < tnumel(yv); i++) T[i] = 2.0f * rng_uniform(&r) - 1.0f;
    tensor Tt = arena_tensor(&t.ar, yv.n, yv.c, yv.h, yv.w);
    clg_write(cl, Tt.mem, Tt.off, tnumel(yv), T);
    net_zero_grad(&s.params);
    int L = op_sqerr_sum(&t, y, tape_input(&t, Tt), 0.5f);
    float loss = tape_read_scalar(&t, L);
    tape_backward(&t, L);
    printf("%s: forwards and backward in %.2f s, L = %.6g, output %dx%dx%dx%d\n", pc->name, now_seconds() - t0, loss,
           yv.n, yv.c, yv.h, yv.w);
    add_tensor(l, "y_train", yv);
    add(l, "", "T", 4, (int[]){yv.n, yv.c, yv.h, yv.w}, T);
    add_tensor(l, "grad.x", t.vars[xv].grad);
    if (pc->nz) add_tensor(l, "grad.z", t.vars[zv].grad);
    net_grad_settle(&s.params);
    add_net(l, "grad.", &s.params, s.params.g);
    add_net(l, "after.", &s.buffers, s.buffers.w);
    char path[256], err[1024];
    path_of(path, sizeof path, pc->name, "ours");
    int rc = st_save(path, l->t, l->n, NULL, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "st_save: %s", err);
    printf("%s: %d parameters, %d buffers, %d tensors written\n", pc->name, s.params.np, s.buffers.np, l->n);
    free_list(l);
    free(l);
    free(x);
    free(T);
    tape_free(&t);
    seq_free(&s);
    return rc;
}

/* The other way: PyTorch's state_dict (NAME_torch.safetensors) into our net, strictly, and our
 * forward against its output. */
static void check_torch_state(const pcase *pc) {
    char path[256], err[1024];
    path_of(path, sizeof path, pc->name, "torch");
    st_file f;
    if (st_load(path, &f, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        return;
    }
    seqnet s;
    build(&s, pc);
    int missing = 0, extra = 0, matched = 0;
    net *nets[2] = {&s.params, &s.buffers};
    for (int k = 0; k < 2; k++) {
        float *all = xcalloc(nets[k]->total, sizeof *all);
        for (int i = 0; i < nets[k]->np; i++) {
            const param *p = &nets[k]->p[i];
            const st_tensor *t = st_find(&f, p->name);
            int ok = t && t->ndim == p->ndim;
            for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == p->shape[d];
            if (!ok) {
                if (missing++ < 5) printf("     %s: %s\n", p->name, t ? "shape differs" : "missing in torch's state_dict");
                continue;
            }
            matched++;
            memcpy(all + p->off, t->data, p->numel * sizeof *all);
        }
        net_upload(nets[k], all);
        free(all);
    }
    for (int i = 0; i < f.n; i++) {
        const char *nm = f.t[i].name;
        if (!strcmp(nm, "x") || !strcmp(nm, "z") || !strcmp(nm, "y_eval") || strstr(nm, "num_batches_tracked")) continue;
        if (net_find(&s.params, nm) < 0 && net_find(&s.buffers, nm) < 0 && extra++ < 5)
            printf("     %s: in torch's state_dict, not here\n", nm);
    }
    printf("%s %s: torch state_dict -> clgan: %d tensors matched by name and shape, %d missing, %d extra\n",
           missing || extra ? "FAIL" : "ok  ", pc->name, matched, missing, extra);
    CHECK(!missing && !extra && matched > 0, "%s: torch's state_dict does not map onto ours", pc->name);
    const st_tensor *xt = st_find(&f, "x"), *yt = st_find(&f, "y_eval");
    if (!xt || !yt) {
        CHECK(0, "%s: x or y_eval missing", path);
    } else {
        tape t;
        tape_init(&t, cl);
        t.grad_enabled = 0;
        int xv = tape_new(&t, (int)xt->shape[0], (int)xt->shape[1], (int)xt->shape[2], (int)xt->shape[3], 0);
        clg_write(cl, tape_val(&t, xv).mem, tape_val(&t, xv).off, (size_t)st_numel(xt), xt->data);
        const st_tensor *zt = st_find(&f, "z");
        int zv = -1;
        if (pc->nz && zt) {
            zv = tape_new(&t, pc->n, pc->nz, 1, 1, 0);
            clg_write(cl, tape_val(&t, zv).mem, tape_val(&t, zv).off, (size_t)st_numel(zt), zt->data);
        }
        CHECK(!pc->nz || zt, "%s: z missing", path);
        seq_ctx ev = {.training = 0};
        tensor yv = tape_val(&t, seq_forward_z(&s, &t, xv, zv, &ev));
        float *y = dev_download(cl, yv);
        long ny = (long)tnumel(yv);
        CHECK(ny == st_numel(yt), "%s: output size %ld, torch's %lld", pc->name, ny, st_numel(yt));
        if (ny == st_numel(yt)) {
            double mx = 0, worst = 0;
            for (long i = 0; i < ny; i++) mx = fmax(mx, fabs(yt->data[i]));
            for (long i = 0; i < ny; i++) {
                double e = fabs((double)y[i] - yt->data[i]) / mx;
                if (!(e <= worst)) worst = e;
            }
            int ok = worst <= pc->back_tol;
            check_count++;
            check_failures += !ok;
            printf("%s %s: our eval forward with torch's weights vs torch float64: max err / max|y| %.2e (tol %.0e)\n",
                   ok ? "ok  " : "FAIL", pc->name, worst, pc->back_tol);
        }
        free(y);
        tape_free(&t);
    }
    seq_free(&s);
    st_free(&f);
}

int main(void) {
    double t0 = now_seconds();
    cl = parity_open(SCRIPT, tmpdir);
    if (!cl) return 1;
    int io_ok = 1;
    for (int c = 0; c < NCASE; c++) io_ok &= run_ours(&cases[c]) == 0;
    const char *names[NCASE];
    for (int c = 0; c < NCASE; c++) names[c] = cases[c].name;
    if (io_ok) {
        int ok = run_parity_script(PYTHON, SCRIPT, tmpdir, names, NCASE);
        CHECK(ok, "the parity script failed (its FAIL lines above)");
        if (ok)
            for (int c = 0; c < NCASE; c++) check_torch_state(&cases[c]);
    }
    if (!getenv("GRAPH_PARITY_KEEP")) {
        char p[256];
        for (int c = 0; c < NCASE; c++) {
            path_of(p, sizeof p, cases[c].name, "ours");
            unlink(p);
            path_of(p, sizeof p, cases[c].name, "torch");
            unlink(p);
        }
        rmdir(tmpdir);
    } else {
        printf("files kept in %s\n", tmpdir);
    }
    clg_close(cl);
    printf("runtime %.1f s\n", now_seconds() - t0);
    TEST_END();
}
