/*
 * arch.c - built-in architectures for `tmlaas init`: a fresh, He-initialized graph.
 *
 * mlp:   Flatten, Gemm 784-256, Relu, Gemm 256-128, Relu, Gemm 128-N.
 * lenet: Conv 1-8 5x5 pad 2, Relu, MaxPool 2; Conv 8-16 5x5, Relu, MaxPool 2; Flatten;
 *        Gemm 400-120, Relu, Gemm 120-84, Relu, Gemm 84-N (LeNet-5 with ReLU and max pooling,
 *        a little wider in the first layer).
 * dscnn: Conv 1-32 3x3 /2 + BatchNorm + Relu; two depthwise-separable blocks (depthwise 3x3
 *        Conv with group = channels, pointwise 1x1 Conv, each + BatchNorm + Relu), the second
 *        with stride 2; GlobalAveragePool; Flatten; Gemm 64-N.
 *
 * The graphs are built directly in the IR with ONNX semantics (Gemm with transB = 1, weights
 * (out, in) as PyTorch stores them), input "input" [1,1,28,28] and output "logits" [1,N], so
 * they go through tml_onnx_write_file, `tmlaas compile` and the trainer like imported models.
 * Weights are N(0, 2/fan_in) from the seeded generator, biases 0: same seed, same model.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tml/train.h"

typedef struct {
    tml_graph *g;
    tml_rng rng;
    int cur;  /* current activation tensor */
    int id;   /* counter for names */
    const char *out_name; /* name of the next node's output (NULL: invented) */
    tml_status st;
} builder;

static int konst(builder *b, const char *name, int rank, const int64_t *dims, float fill,
                 float he_std)
{
    int t = tml_graph_add_tensor(b->g, name), i;
    int64_t n = 1;
    float *d;
    if (t < 0)
        return b->st = TML_ERR, -1;
    tml_tensor_set_shape(&b->g->tensors[t], TML_DT_F32, rank, dims);
    for (i = 0; i < rank; i++)
        n *= dims[i];
    d = tml_graph_alloc(b->g, (size_t)n * sizeof(float));
    if (!d)
        return b->st = TML_ERR_NOMEM, -1;
    for (i = 0; i < n; i++)
        d[i] = he_std > 0.0f ? he_std * tml_rng_normal(&b->rng) : fill;
    b->g->tensors[t].data = d;
    return t;
}

static int node(builder *b, tml_op op, const char *base, int n_in, const int *in)
{
    char name[64];
    int out, nd;
    snprintf(name, sizeof name, "%s_%d", base, b->id++);
    out = tml_graph_add_tensor(b->g, b->out_name);
    if (out < 0)
        return b->st = TML_ERR, -1;
    b->g->tensors[out].dtype = TML_DT_F32;
    nd = tml_graph_add_node(b->g, op, name, n_in, in, 1, &out);
    if (nd < 0)
        return b->st = TML_ERR, -1;
    b->g->tensors[out].producer = nd;
    b->cur = out;
    return nd;
}

static void ints(builder *b, int nd, const char *name, int n, int64_t v0, int64_t v1, int64_t v2,
                 int64_t v3)
{
    tml_attr *a = tml_node_add_attr(b->g, nd, name, TML_ATTR_INTS);
    int64_t v[4] = {v0, v1, v2, v3};
    if (!a || !(a->ints = tml_graph_memdup(b->g, v, (size_t)n * sizeof(int64_t)))) {
        b->st = TML_ERR_NOMEM;
        return;
    }
    a->n = n;
}

static void int1(builder *b, int nd, const char *name, int64_t v)
{
    tml_attr *a = tml_node_add_attr(b->g, nd, name, TML_ATTR_INT);
    if (!a)
        b->st = TML_ERR_NOMEM;
    else
        a->i = v;
}

static void conv(builder *b, int cin, int cout, int k, int stride, int pad, int group, int bias)
{
    char wn[64], bn[64];
    int64_t wd[4] = {cout, cin / group, k, k}, bd[1] = {cout};
    int in[3], nd;
    snprintf(wn, sizeof wn, "conv%d.weight", b->id);
    snprintf(bn, sizeof bn, "conv%d.bias", b->id);
    in[0] = b->cur;
    in[1] = konst(b, wn, 4, wd, 0.0f, sqrtf(2.0f / (float)(cin / group * k * k)));
    in[2] = bias ? konst(b, bn, 1, bd, 0.0f, 0.0f) : -1;
    if (b->st)
        return;
    nd = node(b, TML_OP_CONV, "conv", bias ? 3 : 2, in);
    if (nd < 0)
        return;
    ints(b, nd, "kernel_shape", 2, k, k, 0, 0);
    ints(b, nd, "strides", 2, stride, stride, 0, 0);
    ints(b, nd, "pads", 4, pad, pad, pad, pad);
    int1(b, nd, "group", group);
}

static void bn(builder *b, int c)
{
    char nm[4][64];
    const char *sfx[4] = {"weight", "bias", "running_mean", "running_var"};
    int64_t d[1] = {c};
    int in[5], i, id = b->id;
    in[0] = b->cur;
    for (i = 0; i < 4; i++) {
        snprintf(nm[i], sizeof nm[i], "bn%d.%s", id, sfx[i]);
        in[i + 1] = konst(b, nm[i], 1, d, (i == 0 || i == 3) ? 1.0f : 0.0f, 0.0f);
    }
    if (!b->st)
        node(b, TML_OP_BATCHNORM, "bn", 5, in);
}

static void unary(builder *b, tml_op op, const char *name)
{
    int in[1];
    in[0] = b->cur;
    if (!b->st)
        node(b, op, name, 1, in);
}

static void maxpool(builder *b)
{
    int in[1], nd;
    in[0] = b->cur;
    if (b->st)
        return;
    nd = node(b, TML_OP_MAXPOOL, "pool", 1, in);
    if (nd >= 0) {
        ints(b, nd, "kernel_shape", 2, 2, 2, 0, 0);
        ints(b, nd, "strides", 2, 2, 2, 0, 0);
    }
}

static void gemm(builder *b, int in_f, int out_f)
{
    char wn[64], bn_[64];
    int64_t wd[2] = {out_f, in_f}, bd[1] = {out_f};
    int in[3], nd;
    snprintf(wn, sizeof wn, "fc%d.weight", b->id);
    snprintf(bn_, sizeof bn_, "fc%d.bias", b->id);
    in[0] = b->cur;
    in[1] = konst(b, wn, 2, wd, 0.0f, sqrtf(2.0f / (float)in_f));
    in[2] = konst(b, bn_, 1, bd, 0.0f, 0.0f);
    if (b->st)
        return;
    nd = node(b, TML_OP_GEMM, "fc", 3, in);
    if (nd >= 0)
        int1(b, nd, "transB", 1);
}

tml_status tml_arch_build(tml_graph *g, const char *arch, int n_classes, uint64_t seed)
{
    builder b;
    int64_t in_dims[4] = {1, 1, 28, 28};
    memset(&b, 0, sizeof b);
    b.g = g;
    tml_rng_init(&b.rng, seed);
    if (n_classes < 2)
        return tml_graph_errorf(g, TML_ERR_ARG, "need at least 2 classes, got %d", n_classes);
    if (strcmp(arch, "mlp") && strcmp(arch, "lenet") && strcmp(arch, "dscnn"))
        return tml_graph_errorf(g, TML_ERR_ARG, "unknown architecture '%s' (mlp, lenet, dscnn)",
                                arch);
    g->name = tml_graph_strdup(g, arch);
    g->source = tml_graph_strdup(g, "tmlaas init");
    g->opset = 13;
    b.cur = tml_graph_add_tensor(g, "input");
    if (b.cur < 0)
        return TML_ERR;
    tml_tensor_set_shape(&g->tensors[b.cur], TML_DT_F32, 4, in_dims);
    g->tensors[b.cur].producer = -1;
    tml_graph_add_input(g, b.cur);
    if (strcmp(arch, "mlp") == 0) {
        unary(&b, TML_OP_FLATTEN, "flatten");
        gemm(&b, 784, 256);
        unary(&b, TML_OP_RELU, "relu");
        gemm(&b, 256, 128);
        unary(&b, TML_OP_RELU, "relu");
        b.out_name = "logits";
        gemm(&b, 128, n_classes);
    } else if (strcmp(arch, "lenet") == 0) {
        conv(&b, 1, 8, 5, 1, 2, 1, 1);
        unary(&b, TML_OP_RELU, "relu");
        maxpool(&b);
        conv(&b, 8, 16, 5, 1, 0, 1, 1);
        unary(&b, TML_OP_RELU, "relu");
        maxpool(&b);
        unary(&b, TML_OP_FLATTEN, "flatten");
        gemm(&b, 400, 120);
        unary(&b, TML_OP_RELU, "relu");
        gemm(&b, 120, 84);
        unary(&b, TML_OP_RELU, "relu");
        b.out_name = "logits";
        gemm(&b, 84, n_classes);
    } else {
        conv(&b, 1, 32, 3, 2, 1, 1, 0);
        bn(&b, 32);
        unary(&b, TML_OP_RELU, "relu");
        conv(&b, 32, 32, 3, 1, 1, 32, 0);
        bn(&b, 32);
        unary(&b, TML_OP_RELU, "relu");
        conv(&b, 32, 64, 1, 1, 0, 1, 0);
        bn(&b, 64);
        unary(&b, TML_OP_RELU, "relu");
        conv(&b, 64, 64, 3, 2, 1, 64, 0);
        bn(&b, 64);
        unary(&b, TML_OP_RELU, "relu");
        conv(&b, 64, 64, 1, 1, 0, 1, 0);
        bn(&b, 64);
        unary(&b, TML_OP_RELU, "relu");
        unary(&b, TML_OP_GLOBAL_AVGPOOL, "gap");
        unary(&b, TML_OP_FLATTEN, "flatten");
        b.out_name = "logits";
        gemm(&b, 64, n_classes);
    }
    if (b.st)
        return b.st;
    {
        tml_tensor *o = &g->tensors[b.cur];
        int64_t od[2] = {1, n_classes};
        tml_tensor_set_shape(o, TML_DT_F32, 2, od);
    }
    return tml_graph_add_output(g, b.cur);
}
