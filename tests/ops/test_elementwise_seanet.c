/*
 * test_elementwise_seanet.c - the quantized int16 ADD, SUB and LEAKY_RELU layers of
 * TFLite-Micro's SEANet integration tests (../shared/corpus/tflite/integration_tests/seanet/
 * <op>/<op>N.tflite with <op>N_input0_int16.csv [, _input1_], <op>N_golden_int16.csv) through
 * the TFLite importer, the passes, the plan and the interpreter; outputs must match
 * TFLite-Micro's golden data bit for bit. Also hand-computed int8 cases and the checks.
 *
 * Skips cleanly when the corpus is absent.
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
#include "tml/import.h"
#include "tml/interp.h"
#include "tml/passes.h"
#include "tml/plan.h"

/* Reads comma/newline-separated integers; returns the count (<= max) or -1. */
static int read_csv(const char *path, int16_t *out, int max)
{
    FILE *f = fopen(path, "r");
    int n = 0;
    long v;
    if (!f)
        return -1;
    while (n < max && fscanf(f, " %ld ,", &v) == 1)
        out[n++] = (int16_t)v;
    fclose(f);
    return n;
}

/* Runs <dir>/<op><k>.tflite on its CSV inputs (n_in of them) and compares with the golden
 * CSV; 0 pass, 1 fail (message in why). */
static int run_model(const char *dir, const char *op, int k, int n_in, char *why,
                     size_t why_len)
{
    char path[1024], err[256];
    tml_graph *g = tml_graph_new();
    tml_pass_options po;
    tml_plan_options plo;
    tml_plan *plan = NULL;
    tml_interp *it = NULL;
    int16_t *buf[3] = {NULL, NULL, NULL};
    int i, res = 1, count = 0;
    size_t bytes;
    const int16_t *y;
    snprintf(path, sizeof path, "%s/%s%d.tflite", dir, op, k);
    if (tml_import_file(g, path)) {
        snprintf(why, why_len, "import: %s", tml_graph_error(g));
        tml_graph_free(g);
        return 1;
    }
    tml_pass_options_default(&po);
    tml_plan_options_default(&plo);
    if (tml_passes_run(g, &po) || tml_plan_build(g, &plo, &plan)) {
        snprintf(why, why_len, "compile: %s", tml_graph_error(g));
        goto out;
    }
    if (tml_plan_check(plan, err, sizeof err) || tml_interp_new(plan, &it, err, sizeof err)) {
        snprintf(why, why_len, "plan/interp: %s", err);
        goto out;
    }
    for (i = 0; i <= n_in; i++) {
        int is_in = i < n_in;
        void *dst = is_in ? tml_interp_input(it, i, &bytes) : tml_interp_output(it, 0, &bytes);
        char which[16];
        snprintf(which, sizeof which, is_in ? "input%d" : "golden", i);
        if (!dst) {
            snprintf(why, why_len, "no buffer for %s", which);
            goto out;
        }
        count = (int)(bytes / 2);
        buf[i] = calloc((size_t)count, 2);
        snprintf(path, sizeof path, "%s/%s%d_%s_int16.csv", dir, op, k, which);
        if (read_csv(path, buf[i], count) != count) {
            snprintf(why, why_len, "%s: not %d values", path, count);
            goto out;
        }
        if (is_in)
            memcpy(dst, buf[i], bytes);
    }
    if (tml_interp_run(it)) {
        snprintf(why, why_len, "run failed");
        goto out;
    }
    y = tml_interp_output(it, 0, &bytes);
    res = 0;
    for (i = 0; i < count; i++)
        if (y[i] != buf[n_in][i]) {
            snprintf(why, why_len, "element %d: got %d, golden %d", i, y[i], buf[n_in][i]);
            res = 1;
            break;
        }
out:
    for (i = 0; i < 3; i++)
        free(buf[i]);
    tml_interp_free(it);
    tml_plan_free(plan);
    tml_graph_free(g);
    return res;
}

/* Every <op>K.tflite in seanet/<op>/ (K = 0..63); missing files are skipped. */
static void run_family(const char *op, int n_in, int *pass, int *fail)
{
    char dir[1024], probe[1100];
    int k;
    snprintf(dir, sizeof dir, "%s/tflite/integration_tests/seanet/%s", TML_CORPUS_DIR, op);
    for (k = 0; k < 64; k++) {
        char why[600] = "";
        FILE *f;
        int r;
        snprintf(probe, sizeof probe, "%s/%s%d_golden_int16.csv", dir, op, k);
        f = fopen(probe, "rb");
        if (!f)
            continue;
        fclose(f);
        r = run_model(dir, op, k, n_in, why, sizeof why);
        printf("%s %s%d%s%s\n", r ? "FAIL" : "PASS", op, k, why[0] ? ": " : "", why);
        *pass += r == 0;
        *fail += r != 0;
    }
}

static void test_seanet(void **state)
{
    char probe[1100];
    FILE *f;
    int pass = 0, fail = 0;
    (void)state;
    snprintf(probe, sizeof probe, "%s/tflite/integration_tests/seanet/add/add0.tflite",
             TML_CORPUS_DIR);
    f = fopen(probe, "rb");
    if (!f) {
        printf("SKIP: corpus not found at %s\n", TML_CORPUS_DIR);
        skip();
        return;
    }
    fclose(f);
    run_family("add", 2, &pass, &fail);
    run_family("sub", 2, &pass, &fail);
    run_family("leaky_relu", 1, &pass, &fail);
    printf("seanet add/sub/leaky_relu: %d pass, %d fail\n", pass, fail);
    assert_true(pass > 0);
    assert_int_equal(fail, 0);
}

static tml_quant *new_quant(tml_graph *g, float scale, int32_t zp)
{
    tml_quant *q = tml_graph_alloc(g, sizeof *q);
    q->n = 1;
    q->scale = tml_graph_memdup(g, &scale, sizeof scale);
    q->zero_point = tml_graph_memdup(g, &zp, sizeof zp);
    return q;
}

/* int8: a (scale 0.5, zp 1) + b (scale 0.25, zp -2) -> y (scale 1, zp 3), with broadcasting,
 * Sub, and a fused Relu; expected values are the real results rounded. */
static void test_qadd_int8(void **state)
{
    int8_t a[4] = {1, 5, -7, 21};    /* reals 0, 2, -4, 10 */
    int8_t b[2] = {-2, 10};          /* reals 0, 3 */
    int in[2], y, n, op;
    const int8_t *o;
    (void)state;
    for (op = 0; op < 3; op++) {
        tml_graph *g = tml_graph_new();
        g->opset = 0;
        in[0] = tev_const(g, "a", TML_DT_S8, 2, (int64_t[]){2, 2}, a);
        in[1] = tev_const(g, "b", TML_DT_S8, 1, (int64_t[]){2}, b);
        g->tensors[in[0]].quant = new_quant(g, 0.5f, 1);
        g->tensors[in[1]].quant = new_quant(g, 0.25f, -2);
        y = tml_graph_add_tensor(g, "y");
        g->tensors[y].quant = new_quant(g, 1.0f, 3);
        n = tml_graph_add_node(g, op == 1 ? TML_OP_SUB : TML_OP_ADD, "qadd", 2, in, 1, &y);
        if (op == 2)
            g->nodes[n].act = TML_ACT_RELU;
        assert_int_equal(tev_eval(g, n), TML_OK);
        o = g->tensors[y].data;
        if (op == 0) { /* 0+0, 2+3, -4+0, 10+3 */
            assert_int_equal(o[0], 3);
            assert_int_equal(o[1], 8);
            assert_int_equal(o[2], -1);
            assert_int_equal(o[3], 16);
        } else if (op == 1) { /* 0-0, 2-3, -4-0, 10-3 */
            assert_int_equal(o[0], 3);
            assert_int_equal(o[1], 2);
            assert_int_equal(o[2], -1);
            assert_int_equal(o[3], 10);
        } else { /* relu clamps at the zero point 3 */
            assert_int_equal(o[2], 3);
            assert_int_equal(o[3], 16);
        }
        tml_graph_free(g);
    }
}

static void test_qadd_check(void **state)
{
    tml_qadd_params p;
    uint32_t ib[2] = {8, 8}, ob[1] = {8};
    (void)state;
    memset(&p, 0, sizeof p);
    p.rank = 1;
    p.dims[0] = 4;
    p.a_strides[0] = 1;
    p.b_strides[0] = 1;
    p.left_shift = 15;
    p.act_min = -32768;
    p.act_max = 32767;
    assert_int_equal(tml_qadd_s16_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_OK);
    ib[1] = 6;
    assert_int_equal(tml_qadd_s16_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    ib[1] = 8;
    ob[0] = 7;
    assert_int_equal(tml_qadd_s16_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    ob[0] = 8;
    p.left_shift = 20; /* (offset + x) << 20 would overflow int32 for int16 */
    assert_int_equal(tml_qadd_s16_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    p.left_shift = 15;
    p.out_shift = 3;
    assert_int_equal(tml_qadd_s16_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    p.out_shift = 0;
    p.act_min = -200; /* outside int8 */
    p.left_shift = 20;
    ib[0] = ib[1] = ob[0] = 4;
    assert_int_equal(tml_qadd_s8_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    p.act_min = -128;
    p.act_max = 127;
    assert_int_equal(tml_qadd_s8_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_OK);
    p.subtract = 2;
    assert_int_equal(tml_qadd_s8_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    {
        tml_qleaky_params lp = {4, 0, 0, 1 << 30, 1, 1 << 30, -2};
        ib[0] = 8;
        ob[0] = 8;
        assert_int_equal(tml_qleaky_relu_s16_check(&lp, sizeof lp, ib, 1, ob, 1, 0), TML_OK);
        ob[0] = 6;
        assert_int_equal(tml_qleaky_relu_s16_check(&lp, sizeof lp, ib, 1, ob, 1, 0),
                         TML_ERR_FORMAT);
        ob[0] = 8;
        lp.id_shift = 31;
        assert_int_equal(tml_qleaky_relu_s16_check(&lp, sizeof lp, ib, 1, ob, 1, 0),
                         TML_ERR_FORMAT);
        lp.id_shift = 1;
        ib[0] = 4;
        assert_int_equal(tml_qleaky_relu_s8_check(&lp, sizeof lp, ib, 1, ob, 1, 0), TML_OK);
        ib[0] = 3;
        assert_int_equal(tml_qleaky_relu_s8_check(&lp, sizeof lp, ib, 1, ob, 1, 0),
                         TML_ERR_FORMAT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seanet),
        cmocka_unit_test(test_qadd_int8),
        cmocka_unit_test(test_qadd_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
