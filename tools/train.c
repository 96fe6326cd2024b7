/* ./train -c ini/vae.ini: trains the model an INI file describes, in a run folder of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm.h"
#include "config.h"
#include "ini_path.h"
#include "device.h"
#include "model.h"
#include "runutil.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: train -c FILE.ini [--set section.key=value]... [-d DEVICE]\n"
            "       train --resume RUN_DIR [-c FILE.ini] [--set ...] [-d DEVICE]\n"
            "       train --list-devices | --list-models | --keys MODEL\n"
            "\n"
            "  -c, --config FILE   the INI file; a bare name such as cyclegan.ini is also looked up in\n"
            "                      ini/ (here, then beside the program); every key has a default\n"
            "  --set S.K=V         override one key (repeatable), e.g. --set train.epochs=2\n"
            "  -d, --device DEV    an index from --list-devices or part of a platform/device name\n"
            "                      (nvidia, amd, intel, pocl, cpu, gpu); default $CLGAN_DEVICE,\n"
            "                      else the first GPU, else the first device\n"
            "  --resume RUN_DIR    continue the run in RUN_DIR from its checkpoint (its config.ini\n"
            "                      unless -c is given)\n"
            "  --keys MODEL        print the INI keys of MODEL as a Markdown table\n"
            "\n"
            "Data-parallel (built with make MPI=1): mpirun -np N ./train -c FILE.ini splits each batch of\n"
            "train.batch_size over the N ranks; each rank takes a device of its host (the GPUs by local rank,\n"
            "or -d D0,D1,... by local rank, or its own -d); rank 0 writes the run folder.\n");
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* A fresh run never overwrites an earlier one: runs/vae, then runs/vae-2, runs/vae-3, ... */
static void fresh_run_dir(const char *want, char *out, size_t outlen) {
    char ck[4300];
    snprintf(out, outlen, "%s", want);
    for (int i = 2;; i++) {
        run_path(ck, sizeof ck, out, "checkpoint.safetensors");
        if (!file_exists(ck)) return;
        snprintf(out, outlen, "%s-%d", want, i);
    }
}

/* Which device a rank opens: without -d and $CLGAN_DEVICE, the host's GPUs in turn by local rank (the
 * first device when it has none); "-d A,B,C" the item of the local rank (modulo the list). out: a
 * clg_open spec, or "" for clg_open's default. Enumerates in clg_list_devices' order. */
static void rank_device(const char *spec, char *out, size_t outlen) {
    int lr = comm_local_rank();
    out[0] = '\0';
    if (!spec || !*spec) spec = getenv("CLGAN_DEVICE");
    if (spec && *spec) {
        int n = 1;
        for (const char *p = spec; *p; p++) n += *p == ',';
        const char *p = spec;
        for (int k = lr % n; k > 0; k--) p = strchr(p, ',') + 1;
        size_t len = strcspn(p, ",");
        snprintf(out, outlen, "%.*s", (int)len, p);
        return;
    }
    if (comm_size() == 1) return;
    cl_uint np = 0;
    cl_platform_id plats[16];
    if (clGetPlatformIDs(0, NULL, &np) != CL_SUCCESS || np == 0) return; /* clg_open names the problem */
    if (np > 16) np = 16;
    if (clGetPlatformIDs(np, plats, NULL) != CL_SUCCESS) return;
    int gpus[64], ngpu = 0, index = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[32];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 32, devs, &nd) != CL_SUCCESS) continue;
        if (nd > 32) nd = 32;
        for (cl_uint d = 0; d < nd && index < 64; d++, index++) {
            cl_device_type type = 0;
            if (clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
                (type & CL_DEVICE_TYPE_GPU))
                gpus[ngpu++] = index;
        }
    }
    if (ngpu) snprintf(out, outlen, "%d", gpus[lr % ngpu]);
}

static int train_main(int argc, char **argv);

int main(int argc, char **argv) {
    if (comm_init(&argc, &argv) != 0) {
        fprintf(stderr, "clgan: MPI could not start\n");
        return 1;
    }
    /* Only rank 0 talks: the others' progress would repeat it (errors still go to stderr). */
    if (comm_rank() > 0 && !freopen("/dev/null", "w", stdout)) return 1;
    int status = train_main(argc, argv);
    comm_finalize();
    return status;
}

static int train_main(int argc, char **argv) {
    const char *config = NULL, *device = NULL, *resume = NULL;
    const char **sets = xcalloc((size_t)argc, sizeof *sets);
    int nsets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_next) config = argv[++i];
        else if ((!strcmp(a, "-d") || !strcmp(a, "--device")) && has_next) device = argv[++i];
        else if (!strcmp(a, "--set") && has_next) sets[nsets++] = argv[++i];
        else if (!strcmp(a, "--resume") && has_next) resume = argv[++i];
        else if (!strcmp(a, "--list-devices")) { clg_list_devices(stdout); return 0; }
        else if (!strcmp(a, "--list-models")) { model_list(stdout); return 0; }
        else if (!strcmp(a, "--keys") && has_next) {
            const model_desc *m = model_find(argv[++i]);
            if (!m) { fprintf(stderr, "clgan: unknown model '%s'; models:\n", argv[i]); model_list(stderr); return 1; }
            cfg *c = model_schema(m);
            cfg_print_markdown(c, stdout);
            cfg_free(c);
            return 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else { fprintf(stderr, "clgan: unknown or incomplete argument '%s'\n", a); usage(stderr); return 1; }
    }
    char resume_cfg[4300], ck[4300];
    if (resume) {
        run_path(ck, sizeof ck, resume, "checkpoint.safetensors");
        if (!file_exists(ck)) { fprintf(stderr, "clgan: --resume %s: no checkpoint at %s\n", resume, ck); return 1; }
    }
    if (resume && !config) {
        run_path(resume_cfg, sizeof resume_cfg, resume, "config.ini");
        config = resume_cfg;
    }
    if (!config) { usage(stderr); return 1; }
    char config_path[4300];
    if (ini_resolve(config, config_path, sizeof config_path)) printf("using %s\n", config_path);
    config = config_path;

    /* The model: --set model.type=X wins over the file's [model] type (the last --set of it). */
    char err[4096], type[256] = "vae";
    int rc = cfg_peek(config, "model", "type", type, sizeof type, err, sizeof err);
    if (rc < 0) { fprintf(stderr, "clgan: %s\n", err); return 1; }
    for (int i = 0; i < nsets; i++)
        if (!strncmp(sets[i], "model.type=", 11)) snprintf(type, sizeof type, "%s", sets[i] + 11);
    const model_desc *m = model_find(type);
    if (!m) {
        fprintf(stderr, "clgan: %s: [model] type = %s is not a model clgan knows; models:\n", config, type);
        model_list(stderr);
        return 1;
    }
    if (resume) { /* the checkpoint's model must be this one */
        char saved_type[256] = "";
        run_path(resume_cfg, sizeof resume_cfg, resume, "config.ini");
        if (cfg_peek(resume_cfg, "model", "type", saved_type, sizeof saved_type, err, sizeof err) == 0 &&
            strcmp(saved_type, type)) {
            fprintf(stderr, "clgan: --resume %s: that run trained model '%s', not '%s'\n", resume, saved_type, type);
            return 1;
        }
    }
    cfg *c = model_schema(m);
    if (cfg_parse_file(c, config, err, sizeof err) != 0) { fprintf(stderr, "clgan: %s\n", err); return 1; }
    for (int i = 0; i < nsets; i++)
        if (cfg_set(c, sets[i], err, sizeof err) != 0) { fprintf(stderr, "clgan: %s\n", err); return 1; }

    char dir[4200];
    if (resume) {
        snprintf(dir, sizeof dir, "%s", resume);
        if (cfg_set_value(c, "run", "dir", dir, err, sizeof err) != 0) { fprintf(stderr, "clgan: %s\n", err); return 1; }
    } else {
        fresh_run_dir(cfg_str(c, "run", "dir"), dir, sizeof dir);
        if (strcmp(dir, cfg_str(c, "run", "dir")) != 0) {
            printf("%s already holds a run; this one goes to %s\n", cfg_str(c, "run", "dir"), dir);
            if (cfg_set_value(c, "run", "dir", dir, err, sizeof err) != 0) { fprintf(stderr, "clgan: %s\n", err); return 1; }
        }
    }
    /* Check the keys against each other and open the device before touching the run folder: a bad
     * combination or a wrong -d leaves nothing behind. */
    if (m->check && m->check(c, err, sizeof err) != 0) { fprintf(stderr, "clgan: %s\n", err); return 1; }
    const int ranks = comm_size(), rank = comm_rank();
    long batch = cfg_int(c, "train", "batch_size");
    if (batch % ranks != 0) { /* every rank sees the same config: all stop here */
        fprintf(stderr, "clgan: train.batch_size = %ld (the global batch) does not split over %d ranks: use a "
                        "multiple of %d\n", batch, ranks, ranks);
        return 1;
    }
    /* From here a failure on one rank (its device, rank 0's folder) stops every rank at the check below. */
    char spec[256];
    rank_device(device, spec, sizeof spec);
    clg_ctx *cl = clg_open(spec, 0, err, sizeof err);
    int bad = !cl, lock = -1;
    if (bad) fprintf(stderr, "clgan: rank %d: %s\n", rank, err);
    char cfgout[4300];
    run_path(cfgout, sizeof cfgout, dir, "config.ini");
    if (!bad && rank == 0) { /* only rank 0 writes the run folder */
        /* one run per folder at a time: taken before anything in it is written, held until the process ends */
        if (mkdir_p(dir, err, sizeof err) != 0 || (lock = run_lock(dir, err, sizeof err)) < 0 ||
            cfg_write(c, cfgout, err, sizeof err) != 0) {
            fprintf(stderr, "clgan: %s\n", err);
            bad = 1;
        }
    }
    if (comm_max_int(bad)) {
        if (lock >= 0) run_unlock(lock);
        if (cl) clg_close(cl);
        return 1;
    }
    char desc[600];
    clg_describe(cl, desc, sizeof desc);
    printf("clgan %s: %s\ndevice %s\nrun folder %s (effective config in config.ini)\n", m->type, m->summary, desc, dir);
    if (ranks > 1)
        printf("data parallel: %d ranks, a batch of %ld is %ld per rank (each rank on a device of its host; the "
               "line above is rank 0's)\n", ranks, batch, batch / ranks);
    fflush(stdout);
    int status = run_train(m, c, cl, dir, resume != NULL);
    if (lock >= 0) run_unlock(lock);
    clg_close(cl);
    cfg_free(c);
    free(sets);
    return status;
}
