/* U-Net and ResNet-18 built from seqnet's graph layers (see graph.h). Every layer gets its PyTorch
 * module path with seq_name, so the names are the state_dict's whatever the layer order. */
#include "graph.h"

#include <stdio.h>

#include "util.h"

/* seq_name(s, "<path>.<i>"), i.e. module i of the Sequential at path */
static void name_at(seqnet *s, const char *path, int i) {
    char n[sizeof s->next_name];
    if (snprintf(n, sizeof n, "%s.%d", path, i) >= (int)sizeof n) die("graph: module name %s.%d too long", path, i);
    seq_name(s, n);
}

static void norm(seqnet *s, layer_kind kind, int c) {
    if (kind == L_BN) seq_bn(s, c);
    else seq_instnorm(s, c, 0);
}

/* ---- pix2pix's UnetSkipConnectionBlock: self.model = Sequential(down + [submodule] + up) ---- */

static int unet_p2p(seqnet *s, const unet_spec *u, const char *path, int x, int depth, int outer_nc, int inner_nc,
                    int input_nc) {
    int outermost = depth == 0, innermost = depth == u->num_downs - 1;
    int bias = u->norm == L_IN; /* use_bias = norm_layer == InstanceNorm2d */
    char seqp[sizeof s->next_name], sub[sizeof s->next_name];
    if (snprintf(seqp, sizeof seqp, "%s.model", path) >= (int)sizeof seqp) die("graph_unet: name %s too long", path);
    int m = 0, skip = x;
    seq_from(s, x);
    if (!outermost) {
        name_at(s, seqp, m++);
        seq_act(s, L_LRELU, 0.2f);
        /* the reference's LeakyReLU is in place, so its cat reads the LeakyReLU's output, as here (the
         * parent's ReLU after the cat makes either choice give the same values and gradients) */
        skip = seq_last(s);
    }
    name_at(s, seqp, m++);
    seq_conv(s, input_nc, inner_nc, 4, 2, 1, bias, PAD_ZERO);
    if (!outermost && !innermost) {
        name_at(s, seqp, m++);
        norm(s, u->norm, inner_nc);
    }
    int up_in = inner_nc;
    if (!innermost) {
        if (snprintf(sub, sizeof sub, "%s.%d", seqp, m++) >= (int)sizeof sub) die("graph_unet: name %s too long", seqp);
        /* channels double per level up to ngf*8 */
        int child_inner = inner_nc * 2 < u->ngf * 8 ? inner_nc * 2 : u->ngf * 8;
        unet_p2p(s, u, sub, seq_last(s), depth + 1, inner_nc, child_inner, inner_nc);
        up_in = 2 * inner_nc;
    }
    name_at(s, seqp, m++);
    seq_act(s, L_RELU, 0);
    name_at(s, seqp, m++);
    seq_tconv(s, up_in, outer_nc, 4, 2, 1, 0, outermost ? 1 : bias);
    name_at(s, seqp, m++);
    if (outermost) {
        seq_act(s, L_TANH, 0);
        return seq_last(s);
    }
    norm(s, u->norm, outer_nc);
    if (u->use_dropout && !innermost && inner_nc == u->ngf * 8 && outer_nc == u->ngf * 8) {
        name_at(s, seqp, m++);
        seq_act(s, L_DROPOUT, 0.5f);
    }
    return seq_cat(s, skip, seq_last(s));
}

/* ---- BicycleGAN's UnetBlock (z at the input) and UnetBlock_with_z (z at every block) ---- */

static int unet_bicycle(seqnet *s, const unet_spec *u, const char *path, int x, int depth, int outer_nc,
                        int inner_nc, int input_nc) {
    int outermost = depth == 0, innermost = depth == u->num_downs - 1, all = u->z_mode == UNET_Z_ALL;
    char down[sizeof s->next_name], up[sizeof s->next_name], sub[sizeof s->next_name];
    int n1 = snprintf(down, sizeof down, all ? "%s.down" : "%s.model", path);
    int n2 = snprintf(up, sizeof up, all ? "%s.up" : "%s.model", path);
    int n3 = snprintf(sub, sizeof sub, all ? "%s.submodule" : "%s.model.%d", path, outermost ? 1 : 3);
    if (n1 >= (int)sizeof down || n2 >= (int)sizeof up || n3 >= (int)sizeof sub) die("graph_unet: name %s too long", path);
    int m = 0, in = x, cin = input_nc, skip = x;
    if (all) { /* x_and_z = torch.cat([x, z_img], 1): the in-place LeakyReLU below leaves x alone */
        in = seq_cat_z(s, x);
        cin += u->nz;
    }
    seq_from(s, in);
    if (!outermost) {
        name_at(s, down, m++);
        seq_act(s, L_LRELU, 0.2f);
        if (!all) skip = seq_last(s); /* in place on x itself: the skip sees its output */
    }
    name_at(s, down, m++);
    seq_conv(s, cin, inner_nc, 4, 2, 1, 1, PAD_ZERO);
    if (!outermost && !innermost) {
        name_at(s, down, m++);
        norm(s, u->norm, inner_nc);
    }
    int up_in = inner_nc;
    if (!innermost) {
        if (!all) m++; /* the submodule's index in the one Sequential */
        int child_inner = inner_nc * 2 < u->ngf * 8 ? inner_nc * 2 : u->ngf * 8;
        unet_bicycle(s, u, sub, seq_last(s), depth + 1, inner_nc, child_inner, inner_nc);
        up_in = 2 * inner_nc;
    }
    if (all) m = 0;
    name_at(s, up, m++);
    seq_act(s, L_RELU, 0);
    name_at(s, up, m++);
    seq_tconv(s, up_in, outer_nc, 4, 2, 1, 0, 1);
    name_at(s, up, m++);
    if (outermost) {
        seq_act(s, L_TANH, 0);
        return seq_last(s);
    }
    norm(s, u->norm, outer_nc);
    if (u->use_dropout && !innermost && inner_nc == u->ngf * 8 && outer_nc == u->ngf * 8) {
        name_at(s, up, m++);
        seq_act(s, L_DROPOUT, 0.5f);
    }
    /* torch.cat([up, x], 1); UnetBlock's x went through the in-place LeakyReLU (model(x) ran first),
     * UnetBlock_with_z's did not (the LeakyReLU ran on the concatenation with z) */
    return seq_cat(s, seq_last(s), skip);
}

void graph_unet(seqnet *s, const unet_spec *u) {
    if (u->num_downs < 5) die("graph_unet: num_downs %d (the reference needs at least 5)", u->num_downs);
    if (u->z_mode != UNET_Z_NONE && u->nz < 1) die("graph_unet: a z mode needs nz >= 1");
    if (u->z_mode == UNET_Z_NONE) {
        unet_p2p(s, u, "model", SEQ_INPUT, 0, u->output_nc, u->ngf, u->input_nc);
        return;
    }
    unet_spec v = *u;
    /* G_Unet_add_all builds one ngf*8 block before its range(num_downs - 6) loop: 6 levels for 5 */
    if (v.z_mode == UNET_Z_ALL && v.num_downs < 6) v.num_downs = 6;
    u = &v;
    int x = SEQ_INPUT, cin = u->input_nc;
    if (u->z_mode == UNET_Z_INPUT) { /* x_with_z = torch.cat([x, z_img], 1) */
        x = seq_cat_z(s, SEQ_INPUT);
        cin += u->nz;
    }
    unet_bicycle(s, u, "model", x, 0, u->output_nc, u->ngf, cin);
}

/* ---- ResNet ---- */

static void named(seqnet *s, const char *block, const char *module) {
    char n[sizeof s->next_name];
    if (snprintf(n, sizeof n, "%s%s%s", block, *block ? "." : "", module) >= (int)sizeof n)
        die("graph: module name %s.%s too long", block, module);
    seq_name(s, n);
}

int graph_basic_block(seqnet *s, const char *name, int x, int in, int out, int stride) {
    seq_from(s, x);
    named(s, name, "conv1");
    seq_conv(s, in, out, 3, stride, 1, 0, PAD_ZERO);
    named(s, name, "bn1");
    seq_bn(s, out);
    seq_act(s, L_RELU, 0);
    named(s, name, "conv2");
    seq_conv(s, out, out, 3, 1, 1, 0, PAD_ZERO);
    named(s, name, "bn2");
    seq_bn(s, out);
    int main_path = seq_last(s), shortcut = x;
    if (stride != 1 || in != out) {
        seq_from(s, x);
        named(s, name, "downsample.0");
        seq_conv(s, in, out, 1, stride, 0, 0, PAD_ZERO);
        named(s, name, "downsample.1");
        seq_bn(s, out);
        shortcut = seq_last(s);
    }
    seq_add(s, main_path, shortcut);
    seq_act(s, L_RELU, 0);
    return seq_last(s);
}

void graph_resnet18_features(seqnet *s, int in_c) {
    seq_name(s, "conv1");
    seq_conv(s, in_c, 64, 7, 2, 3, 0, PAD_ZERO);
    seq_name(s, "bn1");
    seq_bn(s, 64);
    seq_act(s, L_RELU, 0);
    seq_maxpool(s, 3, 2, 1);
    int x = seq_last(s), c = 64;
    for (int l = 1; l <= 4; l++) {
        int out = 64 << (l - 1);
        for (int b = 0; b < 2; b++) {
            char name[32];
            snprintf(name, sizeof name, "layer%d.%d", l, b);
            x = graph_basic_block(s, name, x, c, out, b == 0 && l > 1 ? 2 : 1);
            c = out;
        }
    }
    seq_global_avgpool(s);
}
