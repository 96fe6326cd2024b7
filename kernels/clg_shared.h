/* Constants and macros shared by the host C code and the kernels (kernels/ (*.cl) include it by name;
 * the host gets it through -Ikernels). It must stay valid C11 and OpenCL C 1.2 at once: enums, integer
 * macros and expression macros only. Embedded in the binaries like the .cl files.
 *
 * Tile sizes and vector widths the host chooses per device (CONV_ROWS_MR/VW/NV, CONV_NT_MR/NR/VW) are
 * not here: they reach the kernels as -D build options from host/tuning.c (clg_kernel_params), whose
 * defaults on an AVX-512 CPU are the CLG_DEFAULT_* values below. */
#ifndef CLG_SHARED_H
#define CLG_SHARED_H

/* Random streams: a draw is a pure function of (seed, stream, step, index) (host/rng.h, rng.cl). */
enum {
    RNG_STREAM_INIT = 1,    /* weight initialisation: step = parameter index */
    RNG_STREAM_SHUFFLE = 2, /* data order: step = epoch */
    RNG_STREAM_NOISE = 3,   /* per-step noise (VAE eps, GAN z): step = training step */
    RNG_STREAM_SAMPLE = 4,  /* fixed noise for sample grids */
    RNG_STREAM_TEST = 5,    /* tests */
    RNG_STREAM_DROPOUT = 6,
    RNG_STREAM_GP = 7,      /* gradient-penalty interpolation weights: step = training step */
    RNG_STREAM_AUGMENT = 8, /* data augmentation (crops, flips): step = position in the epoch */
    RNG_STREAM_POOL = 9,    /* CycleGAN image pool draws: step = training step */
    RNG_STREAM_PAIR = 10,   /* unpaired data: the B image of each step, step = epoch */
};

/* Convolution padding (op_conv2d; the kernels take it as their int `reflect` argument). */
typedef enum { PAD_ZERO = 0, PAD_REFLECT = 1 } pad_mode;

/* The activation a norm node may apply after normalising (op_batchnorm_act, op_instancenorm_act;
 * kernels/norm.cl): none, ReLU (relu_fwd's fmax), leaky ReLU with a slope >= 0. */
typedef enum { NORM_ACT_NONE = 0, NORM_ACT_RELU = 1, NORM_ACT_LRELU = 2 } norm_act;

/* Zeros after an image conv_nt reads (conv_pad_hwc's, conv_pad_phase's copies): its whole-vector
 * reads run up to CONV_NT_VW - 1 (at most 15) floats past the last pixel. */
#define CONV_NT_SLACK 32

/* Independent FMA chains per work-item of fma_peak8 and fma_peak16 (kernels/peak.cl; ./bench counts
 * their operations and checks their sums with it). */
#define FMA_PEAK_CHAINS 8

/* Channels per work-item of conv_im2row (kernels/conv.cl; the host sizes its grid with it). */
#define IM2ROW_CB 16

/* Rows of the weight each conv_pack_phases work-item packs (with 16 output channels), one work-item per
 * work-group (host/ops/conv.c pack_phases sizes the grid by it). */
#define PACK_PHASES_IC 32
/* conv_pack_rows (conv_rows.cl): pixels per work-item; the host sizes its grid with it. */
#define PACK_ROWS_PX 16
/* conv_oc (conv_oc.cl): output pixels of a row per work-item (8 accumulators: half of AVX2's 16
 * registers in float8); the host sizes its grid and the copies' slack with it. */
#define OC_PX 8

/* The parameters of today's kernels on the device they were written for (PoCL, AVX-512: 32 registers
 * of 16 floats). host/tuning.c derives a device's default set from what it reports, which gives these
 * on such a device; a kernel file that needs one of the -D options stops with #error when it is
 * missing. */
#define CLG_DEFAULT_CONV_ROWS_MR 8  /* output channels per conv_rows panel ... */
#define CLG_DEFAULT_CONV_ROWS_VW 16 /* ... floats per pixel vector ... */
#define CLG_DEFAULT_CONV_ROWS_NV 3  /* ... and vectors per work-item: 8 x 3 accumulators */
#define CLG_DEFAULT_CONV_NT_MR 4    /* conv_nt's block: rows ... */
#define CLG_DEFAULT_CONV_NT_NR 6    /* ... and columns per work-item ... */
#define CLG_DEFAULT_CONV_NT_VW 16   /* ... and floats per reduction vector */
#define CLG_DEFAULT_CONV_WG 1       /* work-items per work-group (dim 0) of conv_rows / conv_nt */

/* Backward kernels write dst = beta*dst + v: beta 0 overwrites (even NaN), 1 accumulates. Needs a
 * float `beta` in scope. */
#define ACC(dst, v) ((dst) = beta == 0.0f ? (v) : (v) + beta * (dst))

#endif
