/* Image folders and preprocessing for image-to-image and unconditional image datasets.
 * Every image ends up as float32 planar CHW in [-1, 1] (byte v maps to v/127.5 - 1). */
#ifndef CLGAN_IMAGES_H
#define CLGAN_IMAGES_H
#include <stddef.h>

#include "rng.h"

typedef struct { char **paths; int n; } image_list;

/* Decoding refuses an image whose header says more pixels than this (before decoding it), so one
 * input never takes more than about IMAGE_MAX_PIXELS * 3 * 5 bytes (the bytes and the floats). */
#define IMAGE_MAX_PIXELS (4096 * 4096)

/* Resizes an interleaved c-channel byte image iw x ih to ow x oh exactly as Pillow's
 * Image.resize((ow, oh), Image.BICUBIC) does (cubic convolution a = -0.5, antialiased when
 * shrinking, 22-bit fixed point, horizontal pass then vertical, each rounded and clipped to bytes);
 * checked against Pillow 9.4's output in tests/test_faults_images.c. Returns malloc'd ow*oh*c bytes. */
unsigned char *image_resize_bicubic(const unsigned char *in, int iw, int ih, int c, int ow, int oh);

/* Lists the image files (.png .jpg .jpeg .bmp, case-insensitive) in dir, not recursing, sorted by
 * file name (byte order); paths are "dir/name". Returns 0, or -1 with err naming dir when the
 * folder is missing or unreadable, or when it holds no images ("DIR: no images ..."). */
int image_list_dir(const char *dir, image_list *out, char *err, size_t errlen);
void image_list_free(image_list *l);

typedef struct {
    int channels;    /* 1 (grayscale: stb_image's luminance, 77R+150G+29B >> 8) or 3 (RGB); alpha dropped */
    int load_size;   /* resize the whole image to load_size x load_size first (pytorch-CycleGAN's
                        resize_and_crop), with PIL's BICUBIC as the reference does: same bytes as
                        PIL.Image.resize(..., Image.BICUBIC) (image_resize_bicubic); 0 = keep */
    int crop_size;   /* then crop crop_size x crop_size (must fit); 0 = no crop */
    int random_crop; /* 1: crop position drawn from rng (row, then column); 0: centre ((H-c)/2, (W-c)/2) */
    int flip;        /* 1: horizontal flip with probability 1/2 drawn from rng (after the crop draws) */
    int split;       /* 0: whole image; 1: left half [0, W/2) (A of an aligned A|B pair);
                        2: right half [W/2, W) (B) -- applied right after decoding, before resizing */
} image_prep;

/* Output size image_load gives for an image of native size nh x nw (before split), without
 * decoding anything. Returns 0, or -1 with err (prefixed by path, which may be NULL) when the
 * preparation does not fit: a half of an image 1 pixel wide, a crop larger than the image, a bad
 * channel count. */
int image_prep_size(const char *path, const image_prep *p, int nh, int nw, int *h, int *w, char *err,
                    size_t errlen);

/* Output size for the file at path, reading only its header (stbi_info). Returns 0, or -1 with
 * err naming the path. */
int image_probe(const char *path, const image_prep *p, int *h, int *w, char *err, size_t errlen);

/* Decodes one file and preprocesses it into out: channels x H x W floats, where H = W = crop_size,
 * or load_size when crop_size is 0, or the native (split) size when both are 0. *h, *w receive the
 * output size. r supplies the crop/flip draws (it may be NULL when random_crop and flip are 0);
 * the same rng state gives the same result. out_cap is the capacity of out in floats. A corrupt
 * or unreadable file returns -1 with err naming the path and stbi_failure_reason(); so does an
 * output larger than out_cap. Thread-safe. */
int image_load(const char *path, const image_prep *p, rng_seq *r, float *out, int out_cap, int *h, int *w,
               char *err, size_t errlen);

/* Loads a whole image with nothing done but the channel conversion: returns malloc'd
 * channels x *h x *w floats in [-1, 1] (free()), or NULL with err naming the path. */
float *image_load_native(const char *path, int channels, int *h, int *w, char *err, size_t errlen);

/* Writes c x h x w floats in [-1, 1] (c = 1 or 3) as a PNG, atomically; values outside are
 * clamped. Returns 0, or -1 with err naming the path. */
int image_save_png(const char *path, const float *chw, int c, int h, int w, char *err, size_t errlen);

#endif
