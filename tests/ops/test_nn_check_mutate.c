/*
 * test_nn_check_mutate.c - mutation test of the nn kernels' _check companions: the check is
 * the only thing between an untrusted model package and a kernel writing out of bounds.
 *
 * For a valid step of every nn kernel (made by the real lowering), thousands of variants are
 * derived by overwriting random params words with awkward values (0, -1, off by one, huge)
 * and by shrinking or growing buffer sizes. Whenever the check still accepts, the kernel runs
 * on buffers of exactly the accepted sizes followed by a canary zone; the canaries must be
 * intact afterwards (and under ASan the buffers are exact, so stray reads are caught too).
 * Deterministic (fixed LCG seed), so a failure reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"

#if defined(__SANITIZE_ADDRESS__)
#define CANARY 0 /* ASan watches exact-size buffers */
#else
#define CANARY 64
#endif
#define ITERS 3000

static uint32_t rng = 12345u;
static uint32_t next(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static tml_graph *G;

static int cf(const char *name, int rank, const int64_t *dims)
{
    float buf[256];
    int64_t n = 1;
    int i;
    for (i = 0; i < rank; i++)
        n *= dims[i];
    for (i = 0; i < n && i < 256; i++)
        buf[i] = (float)(i % 7) - 3.0f;
    return tev_const(G, name, TML_DT_F32, rank, dims, buf);
}

static int mk(tml_op op, int n_in, const int *in, int n_out)
{
    int out[2], i;
    for (i = 0; i < n_out; i++)
        out[i] = tml_graph_add_tensor(G, NULL);
    return tml_graph_add_node(G, op, NULL, n_in, in, n_out, out);
}

static void a_ints(int n, const char *name, int count, const int64_t *v)
{
    tml_attr *a = tml_node_add_attr(G, n, name, TML_ATTR_INTS);
    a->n = count;
    a->ints = tml_graph_memdup(G, v, sizeof(int64_t) * (size_t)count);
}

#define I64(...) ((const int64_t[]){__VA_ARGS__})

/* Runs the kernel on canary-guarded buffers of the given sizes; fails on a clobbered canary. */
static void run_guarded(const tml_kernel_info *ki, const void *params, const uint32_t *ib, int n_in,
                        const uint32_t *ob, int n_out)
{
    uint8_t *in[TML_STEP_MAX_IO], *out[TML_STEP_MAX_IO];
    int i, j;
    for (i = 0; i < n_in; i++) {
        in[i] = malloc(ib[i] + CANARY + 1);
        for (j = 0; j + 4 <= (int)ib[i]; j += 4) {
            float one = 1.0f;
            memcpy(in[i] + j, &one, 4);
        }
        for (j = 0; j < CANARY; j++)
            in[i][ib[i] + j] = 0xA5;
    }
    for (i = 0; i < n_out; i++) {
        out[i] = malloc(ob[i] + CANARY + 1);
        memset(out[i], 0, ob[i]);
        for (j = 0; j < CANARY; j++)
            out[i][ob[i] + j] = 0xA5;
    }
    ki->fn(params, (const void *const *)in, (void *const *)out, NULL);
    for (i = 0; i < n_out; i++) {
        for (j = 0; j < CANARY; j++)
            if (out[i][ob[i] + j] != 0xA5)
                fail_msg("kernel '%s' wrote past output %d (%u bytes)", ki->name, i, ob[i]);
        free(out[i]);
    }
    for (i = 0; i < n_in; i++)
        free(in[i]);
}

static int32_t awkward(int32_t orig)
{
    switch (next() % 10) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (int32_t)((uint32_t)orig + 1u);
    case 3: return (int32_t)((uint32_t)orig - 1u);
    case 4: return (int32_t)((uint32_t)orig * 2u);
    case 5: return (int32_t)(next() % 17);
    case 6: return INT32_MAX;
    case 7: return INT32_MIN;
    case 8: return 1 << 20;
    default: return (int32_t)(next() % 5) + 1;
    }
}

/* Lowers node n and hammers its kernel's _check with mutated params and sizes. */
static void mutate_node(int n)
{
    tml_step_desc s;
    const tml_kernel_info *ki;
    uint32_t ib0[TML_STEP_MAX_IO], ob0[TML_STEP_MAX_IO], ib[TML_STEP_MAX_IO], ob[TML_STEP_MAX_IO];
    int32_t p0[128], p[128];
    int i, it, words, accepted = 0;
    if (tml_op_shape(G, n) || tml_op_lower(G, n, &s))
        fail_msg("seed node %d does not lower: %s", n, tml_graph_error(G));
    ki = tml_kernel_get_info(s.kernel);
    assert_non_null(ki);
    assert_true(s.params_size <= sizeof p0);
    memcpy(p0, s.params, s.params_size);
    words = (int)(s.params_size / 4);
    for (i = 0; i < s.n_in; i++)
        ib0[i] = (uint32_t)tml_tensor_nbytes(&G->tensors[s.in[i]]);
    for (i = 0; i < s.n_out; i++)
        ob0[i] = (uint32_t)tml_tensor_nbytes(&G->tensors[s.out[i]]);
    assert_int_equal(ki->check(p0, s.params_size, ib0, s.n_in, ob0, s.n_out, 0), TML_OK);
    run_guarded(ki, p0, ib0, s.n_in, ob0, s.n_out);

    for (it = 0; it < ITERS; it++) {
        int k, m = 1 + (int)(next() % 3), small = 1;
        memcpy(p, p0, s.params_size);
        memcpy(ib, ib0, sizeof ib);
        memcpy(ob, ob0, sizeof ob);
        for (k = 0; k < m; k++) {
            int w = (int)(next() % (uint32_t)words);
            p[w] = awkward(p[w]);
        }
        if (next() % 3 == 0) {
            int b = (int)(next() % (uint32_t)(s.n_in + s.n_out));
            uint32_t *sz = b < s.n_in ? &ib[b] : &ob[b - s.n_in];
            *sz = next() % 2 ? *sz + 4 * (next() % 8) : *sz / 2;
        }
        if (ki->check(p, s.params_size, ib, s.n_in, ob, s.n_out, 0) != TML_OK)
            continue;
        for (k = 0; k < words; k++)
            if (p[k] != p0[k] && (p[k] > 16 || p[k] < -16))
                small = 0; /* accepted but possibly slow (huge window): not run */
        if (!small)
            continue;
        accepted++;
        run_guarded(ki, p, ib, s.n_in, ob, s.n_out);
    }
    printf("%s: %d of %d mutants accepted and run in bounds\n", ki->name, accepted, ITERS);
}

static void test_mutants(void **state)
{
    int in[5], n;
    (void)state;
    G = tml_graph_new();

    in[0] = cf("cx", 4, I64(1, 2, 5, 5));
    in[1] = cf("cw", 4, I64(4, 1, 3, 3));
    in[2] = cf("cb", 1, I64(4));
    n = mk(TML_OP_CONV, 3, in, 1);
    tml_node_add_attr(G, n, "group", TML_ATTR_INT)->i = 2;
    a_ints(n, "pads", 4, I64(1, 0, 1, 2));
    a_ints(n, "strides", 2, I64(2, 1));
    mutate_node(n);

    in[0] = cf("tx", 4, I64(1, 2, 3, 3));
    in[1] = cf("tw", 4, I64(2, 2, 3, 2));
    in[2] = cf("tb", 1, I64(4));
    n = mk(TML_OP_CONV_TRANSPOSE, 3, in, 1);
    tml_node_add_attr(G, n, "group", TML_ATTR_INT)->i = 2;
    a_ints(n, "strides", 2, I64(2, 3));
    a_ints(n, "pads", 4, I64(1, 0, 0, 1));
    mutate_node(n);

    in[0] = cf("ga", 2, I64(3, 4));
    in[1] = cf("gb", 2, I64(5, 4));
    in[2] = cf("gc", 1, I64(5));
    n = mk(TML_OP_GEMM, 3, in, 1);
    tml_node_add_attr(G, n, "transB", TML_ATTR_INT)->i = 1;
    mutate_node(n);

    in[0] = cf("ma", 4, I64(2, 1, 3, 4));
    in[1] = cf("mb", 3, I64(3, 4, 2));
    n = mk(TML_OP_MATMUL, 2, in, 1);
    mutate_node(n);

    in[0] = cf("px", 4, I64(1, 2, 5, 6));
    n = mk(TML_OP_MAXPOOL, 1, in, 2);
    a_ints(n, "kernel_shape", 2, I64(3, 2));
    a_ints(n, "pads", 4, I64(1, 1, 1, 0));
    a_ints(n, "dilations", 2, I64(1, 2));
    mutate_node(n);

    n = mk(TML_OP_AVGPOOL, 1, in, 1);
    a_ints(n, "kernel_shape", 2, I64(3, 3));
    a_ints(n, "strides", 2, I64(2, 2));
    a_ints(n, "pads", 4, I64(1, 1, 1, 1));
    tml_node_add_attr(G, n, "count_include_pad", TML_ATTR_INT)->i = 1;
    tml_node_add_attr(G, n, "ceil_mode", TML_ATTR_INT)->i = 1;
    mutate_node(n);

    n = mk(TML_OP_GLOBAL_MAXPOOL, 1, in, 1);
    mutate_node(n);

    {
        int8_t q[60] = {0};
        int xq = tev_const(G, "q", TML_DT_S8, 4, I64(1, 2, 5, 6), q);
        n = mk(TML_OP_MAXPOOL, 1, &xq, 2);
        a_ints(n, "kernel_shape", 2, I64(2, 3));
        a_ints(n, "pads", 4, I64(1, 1, 0, 1));
        mutate_node(n);
        xq = tev_const(G, "qu", TML_DT_U8, 4, I64(1, 2, 5, 6), q);
        n = mk(TML_OP_MAXPOOL, 1, &xq, 1);
        a_ints(n, "kernel_shape", 2, I64(3, 3));
        a_ints(n, "strides", 2, I64(2, 2));
        mutate_node(n);
    }

    in[1] = cf("s", 1, I64(2));
    in[2] = cf("b", 1, I64(2));
    in[3] = cf("m", 1, I64(2));
    in[4] = cf("v", 1, I64(2));
    n = mk(TML_OP_BATCHNORM, 5, in, 1);
    mutate_node(n);

    n = mk(TML_OP_SOFTMAX, 1, in, 1);
    tml_node_add_attr(G, n, "axis", TML_ATTR_INT)->i = 2;
    mutate_node(n);
    n = mk(TML_OP_LOG_SOFTMAX, 1, in, 1);
    mutate_node(n);

    tml_graph_free(G);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mutants)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
