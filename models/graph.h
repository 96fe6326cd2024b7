/* Networks that are not plain lists, built on seqnet's graph layers (models/seq.h: seq_from,
 * seq_cat, seq_add, seq_name, ...): pix2pix's U-Net (with BicycleGAN's z inputs) and torchvision's
 * ResNet-18, named as their PyTorch twins' state_dicts so checkpoints load with strict=True. */
#ifndef CLGAN_GRAPH_H
#define CLGAN_GRAPH_H
#include "seq.h"

typedef enum {
    UNET_Z_NONE,  /* pix2pix's UnetGenerator */
    UNET_Z_INPUT, /* BicycleGAN's G_Unet_add_input: z broadcast and concatenated to the input only */
    UNET_Z_ALL    /* BicycleGAN's G_Unet_add_all: z concatenated to the input of every down block */
} unet_z;

typedef struct {
    int input_nc, output_nc, num_downs, ngf; /* num_downs >= 5 (pix2pix: 8 for 256x256, 7 for 128x128) */
    layer_kind norm;                          /* L_BN (pix2pix's default) or L_IN (affine off) */
    int use_dropout;                          /* Dropout(0.5) after the ngf*8 middle blocks' up half */
    unet_z z_mode;
    int nz; /* z channels (UNET_Z_INPUT, UNET_Z_ALL) */
} unet_spec;

/* Adds the U-Net's layers to s (then seq_build). Names as the PyTorch module's state_dict:
 * UNET_Z_NONE: pix2pix's UnetGenerator ("model.model.0.weight", "model.model.1.model.1.weight", ...;
 *   skip = torch.cat([x, block(x)], 1), where x has been through the block's in-place LeakyReLU, as in
 *   the reference (the ReLU after the cat makes that invisible); convs with a bias only for instance norm, the outermost up-conv always);
 * UNET_Z_INPUT and UNET_Z_ALL: BicycleGAN's UnetBlock / UnetBlock_with_z ("model.model.0.weight" resp.
 *   "model.down.0.weight", "model.submodule.up.1.weight", ...; skip = torch.cat([up(x), x], 1) with x
 *   untouched by the LeakyReLU for Z_ALL, every conv with a bias, upsample 'basic'; G_Unet_add_all has
 *   at least 6 levels, as the reference builds for num_downs 5). Run with
 *   seq_forward_z(s, t, x, z, ctx), z {N, nz, 1, 1}. Parameter names longer than 63 characters (more than
 *   6 downs with pix2pix names) stop the build with a message (net.h's param name size). */
void graph_unet(seqnet *s, const unet_spec *u);

/* A ResNet basic block (torchvision's BasicBlock) reading value x, named "<name>.conv1" ...: conv3x3(in,
 * out, stride)-BN-ReLU-conv3x3-BN, plus x, or plus conv1x1(stride)-BN of x ("<name>.downsample.0/1") when
 * stride != 1 or in != out, then ReLU. Returns the block's output value. */
int graph_basic_block(seqnet *s, const char *name, int x, int in, int out, int stride);

/* torchvision.models.resnet18 up to the global average pool: conv1 7x7/2, bn1, relu, maxpool 3x3/2/1,
 * layer1..layer4 (64, 128, 256, 512 channels), avgpool; output {N, 512, 1, 1}. Names as its
 * state_dict ("conv1.weight", "layer2.0.downsample.0.weight", "bn1.running_mean", ...). */
void graph_resnet18_features(seqnet *s, int in_c);

#endif
