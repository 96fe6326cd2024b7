/* CLBlast kernel parameters for devices its own database does not know well.
 *
 * CLBlast picks GEMM kernel parameters (tile sizes, vector widths, ...) from a database of tuned
 * devices; a device it has not seen (PoCL on a CPU, say) gets generic defaults that can be several
 * times slower than what clblast_tuner_xgemm finds. clg_apply_tuning installs the parameter sets in
 * host/tuning.c's table, chosen by platform, device name and driver version, through
 * CLBlastOverrideParameters. Devices not in the table keep CLBlast's own database. How the table was
 * made and how to add a device: docs/TUNING.md.
 *
 * Environment:
 *   CLGAN_NO_TUNING=1     install nothing: CLBlast's own choice (for A/B measurements).
 *   CLGAN_CLBLAST_PARAMS  parameters merged over the table's, for trying a set without rebuilding:
 *                         "Xgemm:MWG=64,NWG=64;GemmRoutine:XGEMM_MIN_INDIRECT_SIZE=128". "Copy:-" leaves
 *                         that kernel to CLBlast. A kernel the table has no set for must be given in full
 *                         (every parameter CLBlast wants), else CLBlast refuses it and a warning says so. */
#ifndef CLGAN_TUNING_H
#define CLGAN_TUNING_H
#include "device.h"

/* Installs the parameter sets for c's device (single precision). A set CLBlast refuses prints a
 * warning naming the kernel and the status, and that kernel keeps CLBlast's defaults. Call it before
 * the first GEMM on the device (clg_open does). */
void clg_apply_tuning(clg_ctx *c);

/* Sets c->kp, the kernel build parameters for c's device (clg_open does; the defaults are
 * kernels/clg_shared.h's CLG_DEFAULT_*). The kernels get them as -D options and nothing else chooses
 * them: host code sizes its launches from c->kp. */
void clg_kernel_params(clg_ctx *c);
/* The build options of the kernel program: "-cl-std=CL1.2 -DCONV_ROWS_MR=8 ..." from c->kp. */
void clg_kernel_options(const clg_ctx *c, char *out, size_t outlen);

/* The name of the table entry matching c's device ("pocl-skylake-avx512", ...), or NULL when there is
 * none or CLGAN_NO_TUNING is set. */
const char *clg_tuning_name(const clg_ctx *c);

#endif
