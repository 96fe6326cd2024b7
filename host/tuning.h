/* CLBlast kernel parameters for devices its own database does not know well.
 *
 * CLBlast picks GEMM kernel parameters (tile sizes, vector widths, ...) from a database of tuned
 * devices; a device it has not seen (PoCL on a CPU, say) gets generic defaults that can be several
 * times slower than what clblast_tuner_xgemm finds. clg_apply_tuning installs the parameter sets in
 * host/tuning.c's table, chosen by platform, device name and driver version, through
 * CLBlastOverrideParameters. Devices not in the table keep CLBlast's own database. How the table was
 * made and how to add a device: docs/TUNING.md. A set stored by ./bench --tune for the device (below,
 * "Kernel parameters") adds its CLBlast parameters over the table's.
 *
 * Environment:
 *   CLGAN_NO_TUNING=1     install nothing: CLBlast's own choice (for A/B measurements).
 *   CLGAN_CLBLAST_PARAMS  parameters merged over the table's, for trying a set without rebuilding:
 *                         "Xgemm:MWG=64,NWG=64;GemmRoutine:XGEMM_MIN_INDIRECT_SIZE=128". "Copy:-" leaves
 *                         that kernel to CLBlast. A kernel the table has no set for must be given in full
 *                         (every parameter CLBlast wants), else CLBlast refuses it and a warning says so. */
#ifndef CLGAN_TUNING_H
#define CLGAN_TUNING_H
#include <stdint.h>

#include "device.h"

/* Installs the parameter sets for c's device (single precision). A set CLBlast refuses prints a
 * warning naming the kernel and the status, and that kernel keeps CLBlast's defaults. Call it before
 * the first GEMM on the device (clg_open does). */
void clg_apply_tuning(clg_ctx *c);

/* Installs the CLBlast parameters of spec ("Kernel:NAME=V,...;Kernel:...", every parameter of each kernel)
 * for c's device, for the rest of the process (./bench --tune's candidates). Returns how many kernels'
 * sets CLBlast refused or could not be read (0: all installed). */
int clg_clblast_override(clg_ctx *c, const char *spec);

/* ---- Kernel parameters (host/tuning_kp.c) ----------------------------------------------------------
 * c->kp: the conv kernels' tiles and vector widths (-D options) and the work-group sizes of clgan's own
 * kernels. clg_open sets them (clg_kernel_params): a set stored by ./bench --tune for this device when
 * one matches (device name, platform, driver version and clgan's kernel sources), else the default
 * derived from what the device reports; it says which on stderr, once per process ("clgan: kernel
 * parameters: ..."), and a stored set it refuses gets a warning with the reason. CLGAN_NO_TUNING=1:
 * the default, and nothing stored is read. The stored file: clg_tuning_path. */
void clg_kernel_params(clg_ctx *c);
/* The build options of the kernel program: "-cl-std=CL1.2 -DCONV_ROWS_MR=8 ..." from c->kp. */
void clg_kernel_options(const clg_ctx *c, char *out, size_t outlen);

/* The default for c's device (preferred/native float vector width, compute units, max work-group size;
 * on PoCL with AVX-512 exactly kernels/clg_shared.h's CLG_DEFAULT_* and 128/64). */
void clg_kparams_default(const clg_ctx *c, clg_kparams *kp);
/* 1 if every field is in its legal range (kernels/conv*.cl build and are correct there) and the
 * work-group sizes fit max_wg (0: not checked); else 0 with why. */
int clg_kparams_legal(const clg_kparams *kp, size_t max_wg, char *why, size_t whylen);
/* "conv_rows_mr=8 conv_rows_vw=16 ..." (every field), and back (every field required; -1 with err). Every field
 * at its widest legal value fits CLG_KP_TEXT chars. */
#define CLG_KP_TEXT 384
void clg_kparams_format(const clg_kparams *kp, char *out, size_t outlen);
int clg_kparams_parse(const char *s, clg_kparams *kp, char *err, size_t errlen);
/* kp with one field set from "FIELD=VALUE" (a legal value); -1 with err and kp unchanged otherwise. */
int clg_kparams_set(clg_kparams *kp, const char *assign, char *err, size_t errlen);
/* FNV-1a 64 of every embedded kernel file as the program gets it (includes expanded). */
uint64_t clg_kernel_source_hash(void);

/* What ./bench --tune chooses from (each list's first entry is the AVX-512 default): conv_rows
 * (MR, VW, NV) and conv_nt (MR, NR, VW) combinations, conv_wg, wg and reduce_wg values. Hand-picked register
 * blocks for 32 vector registers of 16 floats (AVX-512) and for 16 of 8 (AVX2), few enough for
 * tests/test_tuning.c to check every one (a program build each); every legal combination (a superset)
 * is checked with TEST_TUNING_ALL=1. */
#define CLG_TUNE_ROWS 7
#define CLG_TUNE_NT 6
extern const int clg_tune_rows[CLG_TUNE_ROWS][3], clg_tune_nt[CLG_TUNE_NT][3];
extern const int clg_tune_conv_wg[3], clg_tune_wg[3], clg_tune_reduce_wg[3];
/* The Winograd thresholds (kp.wino_*), the CPU default first. */
extern const int clg_tune_wino_min_c[3], clg_tune_wino_min_w[3], clg_tune_wino_dw_min_c[3], clg_tune_panel_min_k[3],
    clg_tune_s2d_dx[3], clg_tune_wino4_min_w[3], clg_tune_oc_max_k[3];

/* A stored set: kernel parameters, CLBlast parameters (CLGAN_CLBLAST_PARAMS syntax, merged over the
 * table's entry and under CLGAN_CLBLAST_PARAMS), when and how it was made. */
typedef struct {
    clg_kparams kp;
    char clblast[1024];
    char date[40];
    char made_by[256];
} clg_tuned_set;
/* Where c's set lives: CLGAN_TUNING_FILE if set, else <cache>/tuning-<device name>.txt with <cache> =
 * CLGAN_CACHE_DIR, else $XDG_CACHE_HOME/clgan, else ~/.cache/clgan. */
void clg_tuning_path(const clg_ctx *c, char *out, size_t outlen);
/* Writes s for c's device, platform, driver and kernel sources, atomically (temporary file, then
 * rename: a failed or interrupted write leaves the old file or none). 0, or -1 with err. */
int clg_tuning_store(const clg_ctx *c, const char *path, const clg_tuned_set *s, char *err, size_t errlen);
/* Reads a stored set and checks it is whole (checksum) and made for c (device, platform, driver, kernel
 * sources) with legal parameters. 0, or -1 with why (s then holds nothing to use). */
int clg_tuning_load(const clg_ctx *c, const char *path, clg_tuned_set *s, char *why, size_t whylen);

/* The name of the table entry matching c's device ("pocl-skylake-avx512", ...), or NULL when there is
 * none or CLGAN_NO_TUNING is set. */
const char *clg_tuning_name(const clg_ctx *c);

#endif
