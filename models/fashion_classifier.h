/* A small CNN classifier of Fashion-MNIST, trained by clgan (`./train -c ini/fashion_classifier.ini`),
 * whose penultimate layer and logits are the offline feature network "fashion" of ./evaluate
 * (Fashion-FID, Fashion-IS: never to be read as Inception's FID and IS).
 *
 *   F (features): conv 3x3 1->conv1, ReLU, maxpool 2; conv 3x3 conv1->conv2, ReLU, maxpool 2;
 *                 linear conv2*(H/4)*(W/4) -> feat, ReLU          => the features {N, feat, 1, 1}
 *   C (classes):  linear feat -> 10                               => the logits {N, 10, 1, 1}
 * Inputs are images in [0, 1], {N, 1, H, W} (28 x 28 for Fashion-MNIST). */
#ifndef CLGAN_FASHION_CLASSIFIER_H
#define CLGAN_FASHION_CLASSIFIER_H
#include "model.h"

typedef struct {
    int conv1, conv2, feat, in_h, in_w, ncls;
} fashion_spec;

void fashion_build(const fashion_spec *s, seqnet *f, seqnet *c, clg_ctx *cl);
/* The checkpoint metadata of the spec (written by the trainer, read by featnet_open_fashion). */
void fashion_meta_save(const fashion_spec *s, ckpt_meta *meta);
int fashion_spec_from_meta(const st_file *f, const char *path, fashion_spec *s, char *err, size_t errlen);

extern const model_desc fashion_classifier_model;
#endif
