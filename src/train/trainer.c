/*
 * trainer.c - forward and backward passes over a tml_graph, for float32 training on the host.
 *
 * How it works: tml_trainer_new() walks the graph once, refuses ops it cannot differentiate
 * (with the node's name), marks float initializers feeding Conv/Gemm/MatMul/Add and the scale
 * and bias of BatchNormalization as parameters, and allocates a value and a gradient buffer
 * for every activation at the largest batch. The first dimension of the graph input is the
 * batch: shapes are recomputed per call for the batch actually given (a Reshape whose target
 * starts with the model's own batch size follows the batch). A trailing Softmax is fused with
 * the cross-entropy loss, as everyone does, so the gradient at the logits is p - onehot.
 * Backward walks the nodes in reverse and *accumulates* into input gradients, so a tensor
 * read by several nodes (residual Adds) gets the sum.
 *
 * Why this shape: one readable reference (llama2.c style): every op is a forward and a
 * backward function of plain loops over NCHW buffers; convolution is im2col + a matrix
 * product; the matrix product (mm) is written with the innermost loop running over
 * contiguous memory so compilers vectorize it at -O2. Single-threaded and without reductions
 * reordered, so the same seed gives the same bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tml/train.h"

typedef struct {
    int rank;
    int64_t d[TML_MAX_RANK];
} shp;

/* Geometry of a 2-D window op (Conv, MaxPool, AveragePool) on NCHW. */
typedef struct {
    int64_t kh, kw, sh, sw, dh, dw, ph0, pw0, ph1, pw1;
} win;

struct tml_trainer {
    tml_graph *g;
    int max_batch;
    int n;               /* samples in the current batch */
    int64_t orig_batch;  /* first dimension of the graph input as written in the model */
    int in_t;            /* graph input tensor */
    int logits_t;        /* tensor the loss reads */
    int softmax_node;    /* trailing Softmax fused into the loss, or -1 */
    int n_classes;
    int64_t sample;      /* elements per input sample */
    float **val;         /* (n_tensors) values: activations, or constant data */
    float **grad;        /* (n_tensors) gradients, NULL where none is needed */
    shp *shape;          /* (n_tensors) shape at the current batch */
    void **aux;          /* (n_nodes) per-node saved state (argmax, batch statistics) */
    tml_param *params;
    int n_params;
    float *in_grad;      /* gradient at the input, computed only when asked for */
    bool want_in_grad;
    float *col, *col2, *tr; /* scratch: im2col, its gradient, transposes */
    size_t col_cap, col2_cap, tr_cap;
};

/* ---- helpers ---- */

static int64_t numel(const shp *s)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < s->rank; i++)
        n *= s->d[i];
    return n;
}

static float *ensure(float **buf, size_t *cap, size_t n)
{
    if (n > *cap) {
        float *nb = realloc(*buf, n * sizeof(float));
        if (!nb)
            return NULL;
        *buf = nb;
        *cap = n;
    }
    return *buf;
}

/* c[0:n] += a * b[0:n]. Unrolled by 8 with restrict pointers so compilers turn it into SIMD
 * at -O2 (GCC's -O2 cost model does not vectorize the plain loop: it would need an alias check). */
static void axpy(int64_t n, float a, const float *restrict b, float *restrict c)
{
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        c[j] += a * b[j];
        c[j + 1] += a * b[j + 1];
        c[j + 2] += a * b[j + 2];
        c[j + 3] += a * b[j + 3];
        c[j + 4] += a * b[j + 4];
        c[j + 5] += a * b[j + 5];
        c[j + 6] += a * b[j + 6];
        c[j + 7] += a * b[j + 7];
    }
    for (; j < n; j++)
        c[j] += a * b[j];
}

/* C[M,N] = alpha * op(A) op(B) + beta * C; A is (M,K), or (K,M) if ta; B is (K,N), or (N,K)
 * if tb (transposed into scratch first so the inner loop is always contiguous). */
static int mm(tml_trainer *t, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, const float *B, float beta, float *C)
{
    int64_t i, j, k;
    if (tb) {
        float *bt = ensure(&t->tr, &t->tr_cap, (size_t)(K * N));
        if (!bt)
            return -1;
        for (j = 0; j < N; j++)
            for (k = 0; k < K; k++)
                bt[k * N + j] = B[j * K + k];
        B = bt;
    }
    if (beta == 0.0f)
        memset(C, 0, (size_t)(M * N) * sizeof(float));
    else if (beta != 1.0f)
        for (i = 0; i < M * N; i++)
            C[i] *= beta;
    if (!ta) {
        for (i = 0; i < M; i++)
            for (k = 0; k < K; k++) {
                float a = alpha * A[i * K + k];
                if (a != 0.0f)
                    axpy(N, a, B + k * N, C + i * N);
            }
    } else {
        for (k = 0; k < K; k++)
            for (i = 0; i < M; i++) {
                float a = alpha * A[k * M + i];
                if (a != 0.0f)
                    axpy(N, a, B + k * N, C + i * N);
            }
    }
    return 0;
}

static tml_status win_get(tml_graph *g, int node, const shp *x, const shp *w, win *o,
                          int64_t *ho, int64_t *wo)
{
    const tml_node *n = &g->nodes[node];
    const int64_t *v;
    int k;
    const char *ap = tml_node_attr_str(n, "auto_pad", "NOTSET");
    memset(o, 0, sizeof *o);
    o->sh = o->sw = o->dh = o->dw = 1;
    if (x->rank != 4)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "trainer supports 2-D (rank-4 NCHW) inputs only");
    k = tml_node_attr_ints(n, "kernel_shape", &v);
    if (k == 2) {
        o->kh = v[0];
        o->kw = v[1];
    } else if (k < 0 && w && w->rank == 4) {
        o->kh = w->d[2];
        o->kw = w->d[3];
    } else
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "attribute 'kernel_shape' missing "
                               "or not 2-D");
    if (tml_node_attr_ints(n, "strides", &v) == 2) {
        o->sh = v[0];
        o->sw = v[1];
    }
    if (tml_node_attr_ints(n, "dilations", &v) == 2) {
        o->dh = v[0];
        o->dw = v[1];
    }
    if (tml_node_attr_ints(n, "pads", &v) == 4) {
        o->ph0 = v[0];
        o->pw0 = v[1];
        o->ph1 = v[2];
        o->pw1 = v[3];
    }
    if (o->kh <= 0 || o->kw <= 0 || o->sh <= 0 || o->sw <= 0 || o->dh <= 0 || o->dw <= 0 ||
        o->ph0 < 0 || o->ph1 < 0 || o->pw0 < 0 || o->pw1 < 0)
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "invalid kernel, stride, pad or dilation");
    if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        int64_t th = ((x->d[2] + o->sh - 1) / o->sh - 1) * o->sh + (o->kh - 1) * o->dh + 1 - x->d[2];
        int64_t tw = ((x->d[3] + o->sw - 1) / o->sw - 1) * o->sw + (o->kw - 1) * o->dw + 1 - x->d[3];
        if (th < 0)
            th = 0;
        if (tw < 0)
            tw = 0;
        o->ph0 = ap[5] == 'U' ? th / 2 : th - th / 2;
        o->pw0 = ap[5] == 'U' ? tw / 2 : tw - tw / 2;
        o->ph1 = th - o->ph0;
        o->pw1 = tw - o->pw0;
    } else if (strcmp(ap, "VALID") == 0) {
        o->ph0 = o->ph1 = o->pw0 = o->pw1 = 0;
    } else if (strcmp(ap, "NOTSET") != 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported attribute 'auto_pad=%s'",
                               ap);
    if (tml_node_attr_int(n, "ceil_mode", 0) != 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported attribute 'ceil_mode=1'");
    *ho = (x->d[2] + o->ph0 + o->ph1 - ((o->kh - 1) * o->dh + 1)) / o->sh + 1;
    *wo = (x->d[3] + o->pw0 + o->pw1 - ((o->kw - 1) * o->dw + 1)) / o->sw + 1;
    if (*ho <= 0 || *wo <= 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "window larger than the padded input");
    return TML_OK;
}

/* Broadcast of two shapes (numpy rules); 0 if incompatible. */
static int bcast(const shp *a, const shp *b, shp *o)
{
    int i, r = a->rank > b->rank ? a->rank : b->rank;
    o->rank = r;
    for (i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return 0;
        o->d[i] = da > db ? da : db;
    }
    return 1;
}

/* Strides of `a` when read at the indices of broadcast shape o (0 on broadcast dims). */
static void bstrides(const shp *a, const shp *o, int64_t *st)
{
    int i;
    int64_t s = 1;
    for (i = o->rank - 1; i >= 0; i--) {
        int ia = i - (o->rank - a->rank);
        if (ia >= 0 && a->d[ia] != 1) {
            st[i] = s;
            s *= a->d[ia];
        } else {
            st[i] = 0;
            if (ia >= 0)
                s *= a->d[ia];
        }
    }
}

/* ---- shapes ---- */

static tml_status node_shape(tml_trainer *t, int ni)
{
    tml_graph *g = t->g;
    const tml_node *n = &g->nodes[ni];
    shp *x = &t->shape[n->in[0]];
    shp *y = &t->shape[n->out[0]];
    int i;
    switch (n->op) {
    case TML_OP_CONV: {
        const shp *w = &t->shape[n->in[1]];
        win o;
        int64_t ho, wo, grp = tml_node_attr_int(n, "group", 1);
        tml_status st = win_get(g, ni, x, w, &o, &ho, &wo);
        if (st)
            return st;
        if (w->rank != 4 || grp <= 0 || x->d[1] % grp || w->d[0] % grp || w->d[1] != x->d[1] / grp ||
            w->d[2] != o.kh || w->d[3] != o.kw)
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "weight shape does not match the input");
        if (n->n_in > 2 && n->in[2] >= 0 && numel(&t->shape[n->in[2]]) != w->d[0])
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "bias length is not the output channels");
        y->rank = 4;
        y->d[0] = x->d[0];
        y->d[1] = w->d[0];
        y->d[2] = ho;
        y->d[3] = wo;
        return TML_OK;
    }
    case TML_OP_MAXPOOL:
    case TML_OP_AVGPOOL: {
        win o;
        int64_t ho, wo;
        tml_status st = win_get(g, ni, x, NULL, &o, &ho, &wo);
        if (st)
            return st;
        if (n->n_out > 1 && n->out[1] >= 0)
            return tml_node_errorf(g, ni, TML_ERR_UNSUPPORTED, "output 'Indices' not supported");
        *y = *x;
        y->d[2] = ho;
        y->d[3] = wo;
        return TML_OK;
    }
    case TML_OP_GLOBAL_AVGPOOL:
        if (x->rank < 3)
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "input rank below 3");
        *y = *x;
        for (i = 2; i < x->rank; i++)
            y->d[i] = 1;
        return TML_OK;
    case TML_OP_GEMM: {
        const shp *b = &t->shape[n->in[1]];
        int ta = (int)tml_node_attr_int(n, "transA", 0), tb = (int)tml_node_attr_int(n, "transB", 0);
        int64_t M, K, K2, N;
        if (x->rank != 2 || b->rank != 2)
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "inputs must be 2-D");
        M = ta ? x->d[1] : x->d[0];
        K = ta ? x->d[0] : x->d[1];
        K2 = tb ? b->d[1] : b->d[0];
        N = tb ? b->d[0] : b->d[1];
        if (K != K2)
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "inner dimensions differ (%lld, %lld)",
                                   (long long)K, (long long)K2);
        y->rank = 2;
        y->d[0] = M;
        y->d[1] = N;
        if (n->n_in > 2 && n->in[2] >= 0) {
            shp o;
            if (!bcast(&t->shape[n->in[2]], y, &o) || o.rank != 2 || o.d[0] != M || o.d[1] != N)
                return tml_node_errorf(g, ni, TML_ERR_SHAPE, "'C' does not broadcast to the output");
        }
        return TML_OK;
    }
    case TML_OP_MATMUL: {
        const shp *b = &t->shape[n->in[1]];
        if (x->rank < 2 || b->rank != 2 || x->d[x->rank - 1] != b->d[0])
            return tml_node_errorf(g, ni, TML_ERR_UNSUPPORTED,
                                   "trainer supports (..., K) x (K, N) only");
        *y = *x;
        y->d[y->rank - 1] = b->d[1];
        return TML_OK;
    }
    case TML_OP_ADD:
        if (!bcast(x, &t->shape[n->in[1]], y))
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "shapes do not broadcast");
        return TML_OK;
    case TML_OP_RELU:
    case TML_OP_IDENTITY:
        *y = *x;
        return TML_OK;
    case TML_OP_SOFTMAX:
        return tml_node_errorf(g, ni, TML_ERR_UNSUPPORTED,
                               "trainer supports Softmax only as the last node (fused with the loss)");
    case TML_OP_BATCHNORM:
        if (x->rank < 2)
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "input rank below 2");
        for (i = 1; i < 5; i++)
            if (numel(&t->shape[n->in[i]]) != x->d[1])
                return tml_node_errorf(g, ni, TML_ERR_SHAPE, "input %d is not one value per channel",
                                       i);
        for (i = 1; i < n->n_out; i++)
            if (n->out[i] >= 0)
                return tml_node_errorf(g, ni, TML_ERR_UNSUPPORTED, "optional outputs not supported");
        *y = *x;
        return TML_OK;
    case TML_OP_FLATTEN: {
        int64_t ax = tml_node_attr_int(n, "axis", 1), a = 1, b = 1;
        if (ax < 0)
            ax += x->rank;
        if (ax < 0 || ax > x->rank)
            return tml_node_errorf(g, ni, TML_ERR_FORMAT, "attribute 'axis' out of range");
        for (i = 0; i < x->rank; i++)
            if (i < ax)
                a *= x->d[i];
            else
                b *= x->d[i];
        y->rank = 2;
        y->d[0] = a;
        y->d[1] = b;
        return TML_OK;
    }
    case TML_OP_RESHAPE: {
        const tml_tensor *st = &g->tensors[n->in[1]];
        const int64_t *s = st->data;
        int64_t cnt = tml_tensor_numel(st), known = 1, tot = numel(x);
        int neg = -1;
        if (!s || st->dtype != TML_DT_S64 || cnt < 0 || cnt > TML_MAX_RANK)
            return tml_node_errorf(g, ni, TML_ERR_UNSUPPORTED, "'shape' must be a constant int64 "
                                   "tensor of at most %d values", TML_MAX_RANK);
        y->rank = (int)cnt;
        for (i = 0; i < cnt; i++) {
            int64_t d = s[i];
            if (i == 0 && d > 0 && d == t->orig_batch)
                d = x->d[0]; /* the model's batch follows the batch we run */
            if (d == 0 && i < x->rank)
                d = x->d[i];
            if (d == -1) {
                if (neg >= 0)
                    return tml_node_errorf(g, ni, TML_ERR_FORMAT, "two -1 in 'shape'");
                neg = i;
                d = 1;
            } else if (d <= 0)
                return tml_node_errorf(g, ni, TML_ERR_FORMAT, "invalid value in 'shape'");
            y->d[i] = d;
            known *= d;
        }
        if (neg >= 0) {
            if (known == 0 || tot % known)
                return tml_node_errorf(g, ni, TML_ERR_SHAPE, "cannot infer -1 in 'shape'");
            y->d[neg] = tot / known;
        } else if (known != tot)
            return tml_node_errorf(g, ni, TML_ERR_SHAPE, "'shape' does not match the element count");
        return TML_OK;
    }
    default:
        return tml_node_errorf(g, ni, TML_ERR_UNSUPPORTED, "op not supported by the trainer");
    }
}

/* ---- forward ---- */

/* The range [*j0, *j1) of output columns j whose input column j*s - pad + off lies in [0, W). */
static void valid_cols(int64_t Wo, int64_t W, int64_t s, int64_t pad, int64_t off, int64_t *j0,
                       int64_t *j1)
{
    int64_t lo = pad - off, hi = W + pad - off; /* need lo <= j*s < hi */
    *j0 = lo > 0 ? (lo + s - 1) / s : 0;
    *j1 = hi > 0 ? (hi + s - 1) / s : 0;
    if (*j1 > Wo)
        *j1 = Wo;
    if (*j0 > *j1)
        *j0 = *j1;
}

/* col (C*kh*kw, Ho*Wo) from one sample's x (C, H, W); padding reads as 0. */
static void im2col(const float *x, int64_t C, int64_t H, int64_t W, const win *o, int64_t Ho,
                   int64_t Wo, float *col)
{
    int64_t c, ki, kj, i, j, j0, j1;
    for (c = 0; c < C; c++)
        for (ki = 0; ki < o->kh; ki++)
            for (kj = 0; kj < o->kw; kj++) {
                float *row = col + ((c * o->kh + ki) * o->kw + kj) * Ho * Wo;
                int64_t off = kj * o->dw - o->pw0;
                valid_cols(Wo, W, o->sw, o->pw0, kj * o->dw, &j0, &j1);
                for (i = 0; i < Ho; i++) {
                    int64_t h = i * o->sh - o->ph0 + ki * o->dh;
                    float *r = row + i * Wo;
                    int64_t base = (c * H + h) * W + off; /* x index of column j: base + j*sw */
                    if (h < 0 || h >= H) {
                        memset(r, 0, (size_t)Wo * sizeof(float));
                        continue;
                    }
                    for (j = 0; j < j0; j++)
                        r[j] = 0.0f;
                    if (o->sw == 1)
                        memcpy(r + j0, x + base + j0, (size_t)(j1 - j0) * sizeof(float));
                    else
                        for (j = j0; j < j1; j++)
                            r[j] = x[base + j * o->sw];
                    for (j = j1; j < Wo; j++)
                        r[j] = 0.0f;
                }
            }
}

/* dx (C, H, W) += the columns of dcol put back where im2col took them from. */
static void col2im(const float *col, int64_t C, int64_t H, int64_t W, const win *o, int64_t Ho,
                   int64_t Wo, float *dx)
{
    int64_t c, ki, kj, i, j, j0, j1;
    for (c = 0; c < C; c++)
        for (ki = 0; ki < o->kh; ki++)
            for (kj = 0; kj < o->kw; kj++) {
                const float *row = col + ((c * o->kh + ki) * o->kw + kj) * Ho * Wo;
                int64_t off = kj * o->dw - o->pw0;
                valid_cols(Wo, W, o->sw, o->pw0, kj * o->dw, &j0, &j1);
                for (i = 0; i < Ho; i++) {
                    int64_t h = i * o->sh - o->ph0 + ki * o->dh;
                    int64_t base = (c * H + h) * W + off;
                    if (h < 0 || h >= H)
                        continue;
                    for (j = j0; j < j1; j++)
                        dx[base + j * o->sw] += row[i * Wo + j];
                }
            }
}

static tml_status conv_fwd_bwd(tml_trainer *t, int ni, int bwd)
{
    tml_graph *g = t->g;
    const tml_node *n = &g->nodes[ni];
    const shp *xs = &t->shape[n->in[0]], *ws = &t->shape[n->in[1]], *ys = &t->shape[n->out[0]];
    int64_t grp = tml_node_attr_int(n, "group", 1), ho, wo, b, gi, m, p;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3], M = ys->d[1];
    int64_t Cg = C / grp, Mg = M / grp, K, P;
    const float *x = t->val[n->in[0]], *w = t->val[n->in[1]];
    const float *bias = n->n_in > 2 && n->in[2] >= 0 ? t->val[n->in[2]] : NULL;
    float *y = t->val[n->out[0]];
    float *dy = t->grad[n->out[0]], *dx = t->grad[n->in[0]], *dw = t->grad[n->in[1]];
    float *db = n->n_in > 2 && n->in[2] >= 0 ? t->grad[n->in[2]] : NULL;
    win o;
    win_get(g, ni, xs, ws, &o, &ho, &wo);
    K = Cg * o.kh * o.kw;
    P = ho * wo;
    if (!ensure(&t->col, &t->col_cap, (size_t)(K * P)) ||
        (bwd && !ensure(&t->col2, &t->col2_cap, (size_t)(K * P))))
        return tml_node_errorf(g, ni, TML_ERR_NOMEM, "out of memory");
    for (b = 0; b < N; b++)
        for (gi = 0; gi < grp; gi++) {
            const float *xb = x + (b * C + gi * Cg) * H * W;
            const float *wg = w + gi * Mg * K;
            int64_t yoff = (b * M + gi * Mg) * P;
            im2col(xb, Cg, H, W, &o, ho, wo, t->col);
            if (!bwd) {
                if (mm(t, 0, 0, Mg, P, K, 1.0f, wg, t->col, 0.0f, y + yoff))
                    return tml_node_errorf(g, ni, TML_ERR_NOMEM, "out of memory");
                if (bias)
                    for (m = 0; m < Mg; m++)
                        for (p = 0; p < P; p++)
                            y[yoff + m * P + p] += bias[gi * Mg + m];
                continue;
            }
            if (db)
                for (m = 0; m < Mg; m++) {
                    float s = 0.0f;
                    for (p = 0; p < P; p++)
                        s += dy[yoff + m * P + p];
                    db[gi * Mg + m] += s;
                }
            if (dw && mm(t, 0, 1, Mg, K, P, 1.0f, dy + yoff, t->col, 1.0f, dw + gi * Mg * K))
                return tml_node_errorf(g, ni, TML_ERR_NOMEM, "out of memory");
            if (dx) {
                mm(t, 1, 0, K, P, Mg, 1.0f, wg, dy + yoff, 0.0f, t->col2);
                col2im(t->col2, Cg, H, W, &o, ho, wo, dx + (b * C + gi * Cg) * H * W);
            }
        }
    return TML_OK;
}

static void pool(tml_trainer *t, int ni, int bwd)
{
    tml_graph *g = t->g;
    const tml_node *n = &g->nodes[ni];
    const shp *xs = &t->shape[n->in[0]];
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], ho, wo, c, i, j, ki, kj;
    const float *x = t->val[n->in[0]];
    float *y = t->val[n->out[0]], *dy = t->grad[n->out[0]], *dx = t->grad[n->in[0]];
    int32_t *arg = t->aux[ni];
    int is_max = n->op == TML_OP_MAXPOOL;
    int incl = (int)tml_node_attr_int(n, "count_include_pad", 0);
    win o;
    win_get(g, ni, xs, NULL, &o, &ho, &wo);
    if (bwd && !dx)
        return;
    for (c = 0; c < NC; c++) {
        const float *xc = x + c * H * W;
        for (i = 0; i < ho; i++)
            for (j = 0; j < wo; j++) {
                int64_t oi = (c * ho + i) * wo + j, cnt = 0, best = -1;
                float acc = is_max ? -INFINITY : 0.0f;
                if (bwd && is_max) {
                    if (arg[oi] >= 0)
                        dx[c * H * W + arg[oi]] += dy[oi];
                    continue;
                }
                for (ki = 0; ki < o.kh; ki++) {
                    int64_t h = i * o.sh - o.ph0 + ki * o.dh;
                    for (kj = 0; kj < o.kw; kj++) {
                        int64_t w = j * o.sw - o.pw0 + kj * o.dw;
                        if (h < 0 || h >= H || w < 0 || w >= W) {
                            cnt += incl;
                            continue;
                        }
                        cnt++;
                        if (is_max) {
                            if (xc[h * W + w] > acc || best < 0) {
                                acc = xc[h * W + w];
                                best = h * W + w;
                            }
                        } else if (!bwd)
                            acc += xc[h * W + w];
                    }
                }
                if (is_max) {
                    y[oi] = best >= 0 ? acc : 0.0f;
                    arg[oi] = (int32_t)best;
                } else if (!bwd) {
                    y[oi] = cnt ? acc / (float)cnt : 0.0f;
                } else if (cnt) {
                    float d = dy[oi] / (float)cnt;
                    for (ki = 0; ki < o.kh; ki++) {
                        int64_t h = i * o.sh - o.ph0 + ki * o.dh;
                        for (kj = 0; kj < o.kw; kj++) {
                            int64_t w = j * o.sw - o.pw0 + kj * o.dw;
                            if (h >= 0 && h < H && w >= 0 && w < W)
                                dx[c * H * W + h * W + w] += d;
                        }
                    }
                }
            }
    }
}

static tml_status gemm_fwd_bwd(tml_trainer *t, int ni, int bwd)
{
    tml_graph *g = t->g;
    const tml_node *n = &g->nodes[ni];
    int matmul = n->op == TML_OP_MATMUL;
    int ta = matmul ? 0 : (int)tml_node_attr_int(n, "transA", 0);
    int tb = matmul ? 0 : (int)tml_node_attr_int(n, "transB", 0);
    float alpha = matmul ? 1.0f : tml_node_attr_float(n, "alpha", 1.0f);
    float beta = matmul ? 0.0f : tml_node_attr_float(n, "beta", 1.0f);
    const shp *as = &t->shape[n->in[0]], *bs = &t->shape[n->in[1]];
    int64_t K = tb ? bs->d[1] : bs->d[0], N = tb ? bs->d[0] : bs->d[1], M = numel(as) / K;
    const float *A = t->val[n->in[0]], *B = t->val[n->in[1]];
    float *Y = t->val[n->out[0]], *dY = t->grad[n->out[0]];
    float *dA = t->grad[n->in[0]], *dB = t->grad[n->in[1]];
    int has_c = !matmul && n->n_in > 2 && n->in[2] >= 0;
    int err = 0;
    if (!bwd) {
        err |= mm(t, ta, tb, M, N, K, alpha, A, B, 0.0f, Y);
        if (has_c) {
            const shp *cs = &t->shape[n->in[2]];
            const float *Cv = t->val[n->in[2]];
            int64_t st[TML_MAX_RANK], i, j;
            bstrides(cs, &t->shape[n->out[0]], st);
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++)
                    Y[i * N + j] += beta * Cv[i * st[0] + j * st[1]];
        }
    } else {
        if (dA) {
            if (!ta)
                err |= mm(t, 0, !tb, M, K, N, alpha, dY, B, 1.0f, dA);
            else
                err |= mm(t, tb, 1, K, M, N, alpha, B, dY, 1.0f, dA);
        }
        if (dB) {
            if (!tb)
                err |= mm(t, !ta, 0, K, N, M, alpha, A, dY, 1.0f, dB);
            else
                err |= mm(t, 1, ta, N, K, M, alpha, dY, A, 1.0f, dB);
        }
        if (has_c && t->grad[n->in[2]]) {
            const shp *cs = &t->shape[n->in[2]];
            float *dC = t->grad[n->in[2]];
            int64_t st[TML_MAX_RANK], i, j;
            bstrides(cs, &t->shape[n->out[0]], st);
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++)
                    dC[i * st[0] + j * st[1]] += beta * dY[i * N + j];
        }
    }
    return err ? tml_node_errorf(g, ni, TML_ERR_NOMEM, "out of memory") : TML_OK;
}

static void add_fwd_bwd(tml_trainer *t, int ni, int bwd)
{
    const tml_node *n = &t->g->nodes[ni];
    const shp *as = &t->shape[n->in[0]], *bs = &t->shape[n->in[1]], *ys = &t->shape[n->out[0]];
    int64_t sa[TML_MAX_RANK], sb[TML_MAX_RANK], idx[TML_MAX_RANK] = {0}, i, total = numel(ys);
    int64_t oa = 0, ob = 0;
    const float *a = t->val[n->in[0]], *b = t->val[n->in[1]];
    float *y = t->val[n->out[0]], *dy = t->grad[n->out[0]];
    float *da = t->grad[n->in[0]], *db = t->grad[n->in[1]];
    int r = ys->rank, k;
    bstrides(as, ys, sa);
    bstrides(bs, ys, sb);
    for (i = 0; i < total; i++) {
        if (!bwd)
            y[i] = a[oa] + b[ob];
        else {
            if (da)
                da[oa] += dy[i];
            if (db)
                db[ob] += dy[i];
        }
        for (k = r - 1; k >= 0; k--) {
            idx[k]++;
            oa += sa[k];
            ob += sb[k];
            if (idx[k] < ys->d[k])
                break;
            oa -= sa[k] * idx[k];
            ob -= sb[k] * idx[k];
            idx[k] = 0;
        }
    }
}

static void bn_fwd_bwd(tml_trainer *t, int ni, int bwd, int training)
{
    const tml_node *n = &t->g->nodes[ni];
    const shp *xs = &t->shape[n->in[0]];
    int64_t N = xs->d[0], C = xs->d[1], S = numel(xs) / (N * C), b, c, s;
    float eps = tml_node_attr_float(n, "epsilon", 1e-5f);
    float mom = tml_node_attr_float(n, "momentum", 0.9f);
    const float *x = t->val[n->in[0]], *sc = t->val[n->in[1]], *bi = t->val[n->in[2]];
    float *rm = t->val[n->in[3]], *rv = t->val[n->in[4]], *y = t->val[n->out[0]];
    float *st = t->aux[ni]; /* (2, C): batch mean, 1/sqrt(var + eps) */
    double cnt = (double)(N * S);
    for (c = 0; c < C; c++) {
        if (!bwd) {
            double mean, var, sum = 0.0, sq = 0.0;
            float mu, inv;
            if (training) {
                for (b = 0; b < N; b++)
                    for (s = 0; s < S; s++)
                        sum += x[(b * C + c) * S + s];
                mean = sum / cnt;
                for (b = 0; b < N; b++)
                    for (s = 0; s < S; s++) {
                        double d = x[(b * C + c) * S + s] - mean;
                        sq += d * d;
                    }
                var = sq / cnt;
                rm[c] = mom * rm[c] + (1.0f - mom) * (float)mean;
                rv[c] = mom * rv[c] + (1.0f - mom) * (float)(cnt > 1 ? sq / (cnt - 1) : var);
            } else {
                mean = rm[c];
                var = rv[c];
            }
            mu = (float)mean;
            inv = (float)(1.0 / sqrt(var + eps));
            st[c] = mu;
            st[C + c] = inv;
            for (b = 0; b < N; b++)
                for (s = 0; s < S; s++) {
                    int64_t i = (b * C + c) * S + s;
                    y[i] = sc[c] * (x[i] - mu) * inv + bi[c];
                }
        } else {
            const float *dy = t->grad[n->out[0]];
            float *dx = t->grad[n->in[0]], *dsc = t->grad[n->in[1]], *dbi = t->grad[n->in[2]];
            float mu = st[c], inv = st[C + c];
            double sdy = 0.0, sdyx = 0.0;
            for (b = 0; b < N; b++)
                for (s = 0; s < S; s++) {
                    int64_t i = (b * C + c) * S + s;
                    sdy += dy[i];
                    sdyx += dy[i] * (x[i] - mu) * inv;
                }
            if (dsc)
                dsc[c] += (float)sdyx;
            if (dbi)
                dbi[c] += (float)sdy;
            if (dx) {
                float k = sc[c] * inv / (float)cnt;
                for (b = 0; b < N; b++)
                    for (s = 0; s < S; s++) {
                        int64_t i = (b * C + c) * S + s;
                        float xh = (x[i] - mu) * inv;
                        dx[i] += k * ((float)cnt * dy[i] - (float)sdy - xh * (float)sdyx);
                    }
            }
        }
    }
}

static tml_status run_node(tml_trainer *t, int ni, int bwd, int training)
{
    const tml_node *n = &t->g->nodes[ni];
    int64_t i, total = numel(&t->shape[n->out[0]]);
    float *x = t->val[n->in[0]], *y = t->val[n->out[0]];
    float *dx = t->grad[n->in[0]], *dy = t->grad[n->out[0]];
    switch (n->op) {
    case TML_OP_CONV:
        return conv_fwd_bwd(t, ni, bwd);
    case TML_OP_GEMM:
    case TML_OP_MATMUL:
        return gemm_fwd_bwd(t, ni, bwd);
    case TML_OP_ADD:
        add_fwd_bwd(t, ni, bwd);
        return TML_OK;
    case TML_OP_BATCHNORM:
        bn_fwd_bwd(t, ni, bwd, training);
        return TML_OK;
    case TML_OP_MAXPOOL:
    case TML_OP_AVGPOOL:
        pool(t, ni, bwd);
        return TML_OK;
    case TML_OP_GLOBAL_AVGPOOL: {
        int64_t S = numel(&t->shape[n->in[0]]) / total, s;
        for (i = 0; i < total; i++) {
            if (!bwd) {
                float acc = 0.0f;
                for (s = 0; s < S; s++)
                    acc += x[i * S + s];
                y[i] = acc / (float)S;
            } else if (dx)
                for (s = 0; s < S; s++)
                    dx[i * S + s] += dy[i] / (float)S;
        }
        return TML_OK;
    }
    case TML_OP_RELU:
        for (i = 0; i < total; i++)
            if (!bwd)
                y[i] = x[i] > 0.0f ? x[i] : 0.0f;
            else if (dx && y[i] > 0.0f)
                dx[i] += dy[i];
        return TML_OK;
    case TML_OP_FLATTEN:
    case TML_OP_RESHAPE:
    case TML_OP_IDENTITY:
        for (i = 0; i < total; i++)
            if (!bwd)
                y[i] = x[i];
            else if (dx)
                dx[i] += dy[i];
        return TML_OK;
    default:
        return tml_node_errorf(t->g, ni, TML_ERR_UNSUPPORTED, "op not supported by the trainer");
    }
}

/* ---- construction ---- */

/* Nodes the trainer does not run: dead ones, the Softmax fused into the loss, and nodes whose
 * outputs are all constants already (an imported Constant, or folded by a pass). */
static int skipped(const tml_trainer *t, int ni)
{
    const tml_node *n = &t->g->nodes[ni];
    int j;
    if (n->dead || ni == t->softmax_node)
        return 1;
    for (j = 0; j < n->n_out; j++)
        if (n->out[j] >= 0 && !t->g->tensors[n->out[j]].data)
            return 0;
    return 1;
}

static int is_param_slot(const tml_node *n, int slot)
{
    switch (n->op) {
    case TML_OP_CONV:
        return slot == 1 || slot == 2;
    case TML_OP_GEMM:
    case TML_OP_MATMUL:
    case TML_OP_ADD:
        return 1;
    case TML_OP_BATCHNORM:
        return slot == 1 || slot == 2;
    default:
        return 0;
    }
}

static tml_status set_shapes(tml_trainer *t, int nb)
{
    tml_graph *g = t->g;
    int i;
    tml_status st;
    t->shape[t->in_t].d[0] = nb;
    for (i = 0; i < g->n_nodes; i++) {
        if (skipped(t, i))
            continue;
        if ((st = node_shape(t, i)))
            return st;
    }
    return TML_OK;
}

tml_status tml_trainer_new(tml_graph *g, int max_batch, tml_trainer **out)
{
    tml_trainer *t;
    int i, j, out_t;
    tml_status st;
    *out = NULL;
    if (max_batch <= 0)
        return tml_graph_errorf(g, TML_ERR_ARG, "batch size must be positive");
    if (g->n_outputs < 1)
        return tml_graph_errorf(g, TML_ERR_FORMAT, "graph '%s' has no output", g->name ? g->name : "");
    if ((st = tml_graph_verify(g)))
        return st;
    t = calloc(1, sizeof *t);
    if (!t)
        return TML_ERR_NOMEM;
    t->g = g;
    t->max_batch = max_batch;
    t->in_t = -1;
    t->softmax_node = -1;
    t->val = calloc((size_t)g->n_tensors + 1, sizeof *t->val);
    t->grad = calloc((size_t)g->n_tensors + 1, sizeof *t->grad);
    t->shape = calloc((size_t)g->n_tensors + 1, sizeof *t->shape);
    t->aux = calloc((size_t)g->n_nodes + 1, sizeof *t->aux);
    t->params = calloc((size_t)g->n_tensors + 1, sizeof *t->params);
    if (!t->val || !t->grad || !t->shape || !t->aux || !t->params) {
        tml_trainer_free(t);
        return TML_ERR_NOMEM;
    }
    for (i = 0; i < g->n_inputs; i++) {
        const tml_tensor *x = &g->tensors[g->inputs[i]];
        if (x->data)
            continue;
        if (t->in_t >= 0) {
            tml_trainer_free(t);
            return tml_graph_errorf(g, TML_ERR_UNSUPPORTED,
                                    "trainer needs exactly one non-constant input, found '%s' too",
                                    x->name);
        }
        t->in_t = g->inputs[i];
    }
    if (t->in_t < 0 || g->tensors[t->in_t].dtype != TML_DT_F32 || g->tensors[t->in_t].rank < 2) {
        tml_trainer_free(t);
        return tml_graph_errorf(g, TML_ERR_UNSUPPORTED,
                                "trainer needs one float input of rank >= 2 (batch first)");
    }
    for (i = 0; i < g->n_tensors; i++) {
        tml_tensor *x = &g->tensors[i];
        if (x->data && x->rank >= 0) {
            t->shape[i].rank = x->rank;
            memcpy(t->shape[i].d, x->dims, sizeof x->dims);
            if (x->dtype == TML_DT_F32)
                t->val[i] = x->data;
        }
    }
    {
        tml_tensor *x = &g->tensors[t->in_t];
        t->shape[t->in_t].rank = x->rank;
        memcpy(t->shape[t->in_t].d, x->dims, sizeof x->dims);
        t->orig_batch = x->dims[0];
        for (i = 1, t->sample = 1; i < x->rank; i++)
            t->sample *= x->dims[i];
        if (t->sample <= 0) {
            tml_trainer_free(t);
            return tml_graph_errorf(g, TML_ERR_SHAPE, "input '%s' has unknown dimensions", x->name);
        }
    }
    out_t = g->outputs[0];
    t->logits_t = out_t;
    if (g->tensors[out_t].producer >= 0 &&
        g->nodes[g->tensors[out_t].producer].op == TML_OP_SOFTMAX) {
        t->softmax_node = g->tensors[out_t].producer;
        t->logits_t = g->nodes[t->softmax_node].in[0];
    }
    /* every input of a live node must exist and be float (except Reshape's shape) */
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *n = &g->nodes[i];
        if (skipped(t, i))
            continue;
        for (j = 0; j < n->n_in; j++) {
            int ti = n->in[j];
            if (ti < 0 || (n->op == TML_OP_RESHAPE && j == 1))
                continue;
            if (g->tensors[ti].data && g->tensors[ti].dtype != TML_DT_F32) {
                tml_trainer_free(t);
                return tml_node_errorf(g, i, TML_ERR_UNSUPPORTED, "input '%s' is not float32",
                                       g->tensors[ti].name);
            }
            if (g->tensors[ti].data && is_param_slot(n, j) && !t->grad[ti]) {
                tml_param *p = &t->params[t->n_params++];
                p->tensor = ti;
                p->n = tml_tensor_numel(&g->tensors[ti]);
                p->w = g->tensors[ti].data;
                p->g = calloc((size_t)p->n, sizeof(float));
                p->m = calloc((size_t)p->n, sizeof(float));
                p->v = calloc((size_t)p->n, sizeof(float));
                if (!p->g || !p->m || !p->v) {
                    tml_trainer_free(t);
                    return TML_ERR_NOMEM;
                }
                t->grad[ti] = p->g;
            }
        }
    }
    if ((st = set_shapes(t, max_batch))) {
        tml_trainer_free(t);
        return st;
    }
    for (i = 0; i < g->n_tensors; i++) {
        if (g->tensors[i].data)
            continue;
        if (i != t->in_t && (g->tensors[i].producer < 0 || g->nodes[g->tensors[i].producer].dead ||
                             g->tensors[i].producer == t->softmax_node))
            continue;
        {
            size_t ne = (size_t)numel(&t->shape[i]);
            t->val[i] = calloc(ne ? ne : 1, sizeof(float));
            t->grad[i] = calloc(ne ? ne : 1, sizeof(float));
            if (!t->val[i] || !t->grad[i]) {
                tml_trainer_free(t);
                return TML_ERR_NOMEM;
            }
        }
    }
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *n = &g->nodes[i];
        if (skipped(t, i))
            continue;
        if (n->op == TML_OP_MAXPOOL)
            t->aux[i] = calloc((size_t)numel(&t->shape[n->out[0]]), sizeof(int32_t));
        else if (n->op == TML_OP_BATCHNORM)
            t->aux[i] = calloc((size_t)(2 * t->shape[n->in[0]].d[1]), sizeof(float));
        else
            continue;
        if (!t->aux[i]) {
            tml_trainer_free(t);
            return TML_ERR_NOMEM;
        }
    }
    t->in_grad = t->grad[t->in_t];
    t->grad[t->in_t] = NULL; /* conv1's input gradient costs as much as its forward pass */
    if (t->shape[t->logits_t].rank < 1 || numel(&t->shape[t->logits_t]) % max_batch) {
        tml_trainer_free(t);
        return tml_graph_errorf(g, TML_ERR_SHAPE, "output '%s' is not one row per sample",
                                g->tensors[t->logits_t].name);
    }
    t->n_classes = (int)(numel(&t->shape[t->logits_t]) / max_batch);
    *out = t;
    return TML_OK;
}

void tml_trainer_free(tml_trainer *t)
{
    int i;
    if (!t)
        return;
    if (t->grad && t->in_t >= 0)
        t->grad[t->in_t] = NULL;
    free(t->in_grad);
    for (i = 0; i < t->n_params; i++) {
        free(t->params[i].g);
        free(t->params[i].m);
        free(t->params[i].v);
        t->grad[t->params[i].tensor] = NULL;
    }
    for (i = 0; t->val && i < t->g->n_tensors; i++)
        if (!t->g->tensors[i].data) {
            free(t->val[i]);
            free(t->grad[i]);
        }
    for (i = 0; t->aux && i < t->g->n_nodes; i++)
        free(t->aux[i]);
    free(t->val);
    free(t->grad);
    free(t->shape);
    free(t->aux);
    free(t->params);
    free(t->col);
    free(t->col2);
    free(t->tr);
    free(t);
}

tml_status tml_trainer_forward(tml_trainer *t, const float *x, int n, bool training)
{
    tml_graph *g = t->g;
    int i;
    tml_status st;
    if (n <= 0 || n > t->max_batch)
        return tml_graph_errorf(g, TML_ERR_ARG, "batch of %d samples, the trainer takes 1..%d", n,
                                t->max_batch);
    if (n != t->n && (st = set_shapes(t, n)))
        return st;
    t->n = n;
    memcpy(t->val[t->in_t], x, (size_t)(n * t->sample) * sizeof(float));
    for (i = 0; i < g->n_nodes; i++) {
        if (skipped(t, i))
            continue;
        if ((st = run_node(t, i, 0, training)))
            return st;
    }
    return TML_OK;
}

const float *tml_trainer_logits(const tml_trainer *t, int *n_classes)
{
    if (n_classes)
        *n_classes = t->n_classes;
    return t->val[t->logits_t];
}

/* Softmax cross-entropy of row z against label y; writes dz = (p - onehot) * scale. */
static double xent(const float *z, int k, int y, float *dz, float scale, int *argmax)
{
    int j, am = 0;
    double mx = z[0], s = 0.0;
    for (j = 1; j < k; j++)
        if (z[j] > mx) {
            mx = z[j];
            am = j;
        }
    for (j = 0; j < k; j++)
        s += exp((double)z[j] - mx);
    if (dz)
        for (j = 0; j < k; j++)
            dz[j] = (float)((exp((double)z[j] - mx) / s - (j == y)) * scale);
    *argmax = am;
    return log(s) + mx - z[y];
}

tml_status tml_trainer_step_grad(tml_trainer *t, const float *x, const uint8_t *y, int n,
                                 double *loss, int *correct)
{
    tml_graph *g = t->g;
    int i, k = t->n_classes, ok = 0;
    double l = 0.0;
    tml_status st = tml_trainer_forward(t, x, n, true);
    if (st)
        return st;
    for (i = 0; i < t->n_params; i++)
        memset(t->params[i].g, 0, (size_t)t->params[i].n * sizeof(float));
    for (i = 0; i < g->n_tensors; i++)
        if (!g->tensors[i].data && t->grad[i])
            memset(t->grad[i], 0, (size_t)numel(&t->shape[i]) * sizeof(float));
    for (i = 0; i < n; i++) {
        int am;
        if (y[i] >= k)
            return tml_graph_errorf(g, TML_ERR_ARG, "label %d out of range (%d classes)", y[i], k);
        l += xent(t->val[t->logits_t] + (size_t)i * k, k, y[i], t->grad[t->logits_t] + (size_t)i * k,
                  1.0f / (float)n, &am);
        ok += am == y[i];
    }
    for (i = g->n_nodes - 1; i >= 0; i--) {
        if (skipped(t, i))
            continue;
        if ((st = run_node(t, i, 1, 1)))
            return st;
    }
    if (loss)
        *loss = l / n;
    if (correct)
        *correct = ok;
    return TML_OK;
}

void tml_trainer_want_input_grad(tml_trainer *t, bool on)
{
    t->want_in_grad = on;
    t->grad[t->in_t] = on ? t->in_grad : NULL;
}

const float *tml_trainer_input_grad(const tml_trainer *t)
{
    return t->want_in_grad ? t->in_grad : NULL;
}

tml_param *tml_trainer_params(tml_trainer *t, int *n)
{
    *n = t->n_params;
    return t->params;
}

int64_t tml_trainer_sample_size(const tml_trainer *t)
{
    return t->sample;
}

tml_status tml_trainer_evaluate(tml_trainer *t, const tml_dataset *ds, double *accuracy,
                                double *loss)
{
    tml_batch_iter it;
    float *x;
    uint8_t *y;
    int nb, i, ok = 0, k = t->n_classes;
    double l = 0.0;
    tml_status st = TML_OK;
    if ((int64_t)ds->h * ds->w != t->sample)
        return tml_graph_errorf(t->g, TML_ERR_SHAPE,
                                "dataset samples have %d values, the model's input %lld",
                                ds->h * ds->w, (long long)t->sample);
    if ((st = tml_batch_iter_init(&it, ds, t->max_batch, false, 0)))
        return st;
    x = malloc((size_t)(t->max_batch * t->sample) * sizeof(float));
    y = malloc((size_t)t->max_batch);
    if (!x || !y) {
        st = TML_ERR_NOMEM;
        goto done;
    }
    while ((nb = tml_batch_iter_next(&it, x, y)) > 0) {
        if ((st = tml_trainer_forward(t, x, nb, false)))
            goto done;
        for (i = 0; i < nb; i++) {
            int am;
            if (y[i] >= k) {
                st = tml_graph_errorf(t->g, TML_ERR_ARG, "label %d out of range", y[i]);
                goto done;
            }
            l += xent(t->val[t->logits_t] + (size_t)i * k, k, y[i], NULL, 0.0f, &am);
            ok += am == y[i];
        }
    }
    if (accuracy)
        *accuracy = (double)ok / ds->n;
    if (loss)
        *loss = l / ds->n;
done:
    free(x);
    free(y);
    tml_batch_iter_release(&it);
    return st;
}
