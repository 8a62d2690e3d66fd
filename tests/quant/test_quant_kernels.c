/*
 * test_quant_kernels.c - the TFLite int8 kernels on small cases worked out by hand with
 * TFLite's formulas: MUL, softmax's fixed-point path (checked
 * against the float softmax rounded to 1/256 steps), average pooling's round-half-away
 * division.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tml/fixedpoint.h"
#include "tml/kernels.h"

static void test_qmul(void **state)
{
    tml_qmul_params p;
    int8_t a[2] = {10, -7}, b[2] = {6, 5}, y[2];
    const void *in[2] = {a, b};
    void *out[1] = {y};
    (void)state;
    memset(&p, 0, sizeof p);
    p.count = p.a_count = p.b_count = 2;
    p.a_offset = 2;     /* zero point -2 */
    p.output_offset = 3;
    /* 0.5 * 0.25 / 0.125 = 1: y = (a+2)*b + 3 */
    tml_fx_quantize_multiplier(0.5 * 0.25 / 0.125, &p.output_multiplier, &p.output_shift);
    p.act_min = -128;
    p.act_max = 127;
    tml_qmul_s8(&p, in, out, NULL);
    assert_int_equal(y[0], 75);
    assert_int_equal(y[1], -22);
}

static void test_softmax(void **state)
{
    tml_softmax_s8_params p;
    int8_t x[4] = {51, -51, 0, 12}, y[4];
    const void *in[1] = {x};
    void *out[1] = {y};
    const double s = 0.0125188;
    double e[4], sum = 0;
    int i;
    (void)state;
    memset(&p, 0, sizeof p);
    p.outer = 1;
    p.axis = 4;
    p.inner = 1;
    tml_fx_softmax_scaling(1.0, s, &p.input_multiplier, &p.input_left_shift, &p.diff_min);
    tml_softmax_s8(&p, in, out, NULL);
    for (i = 0; i < 4; i++)
        sum += e[i] = exp(s * (x[i] - 51));
    for (i = 0; i < 4; i++) {
        long want = lround(e[i] / sum * 256.0) - 128;
        assert_true(labs(want - y[i]) <= 1);
    }
    x[0] = 51;
    x[1] = -51;
    p.axis = 2;
    tml_softmax_s8(&p, in, out, NULL);
    assert_int_equal(y[0], 72);
    assert_int_equal(y[1], -72);
}

static void test_avgpool(void **state)
{
    tml_pool_s8_params p;
    int8_t x[4] = {1, 2, 2, 2}, y[1];
    const void *in[1] = {x};
    void *out[1] = {y};
    (void)state;
    memset(&p, 0, sizeof p);
    p.n = p.c = 1;
    p.in[0] = p.in[1] = 2;
    p.out[0] = p.out[1] = 1;
    p.kernel[0] = p.kernel[1] = 2;
    p.stride[0] = p.stride[1] = 2;
    p.act_min = -128;
    p.act_max = 127;
    tml_avgpool_s8(&p, in, out, NULL); /* 7/4 = 1.75 -> 2 */
    assert_int_equal(y[0], 2);
    x[0] = -1;
    x[1] = x[2] = x[3] = -2; /* -7/4 -> -2 (half away from zero: (-7 - 2) / 4) */
    tml_avgpool_s8(&p, in, out, NULL);
    assert_int_equal(y[0], -2);
    x[0] = x[1] = -1;
    x[2] = x[3] = -2; /* -6/4 = -1.5 -> -2 */
    tml_avgpool_s8(&p, in, out, NULL);
    assert_int_equal(y[0], -2);
}

/* LOGISTIC and TANH against libm, over every int8 input of a scale-0.1 tensor: within one
 * output step (the fixed-point functions are accurate to ~1e-7; the rest is rounding). */
static void test_logistic_tanh(void **state)
{
    tml_act_s8_params p;
    int8_t x[256], y[256];
    const void *in[1] = {x};
    void *out[1] = {y};
    const double s = 0.1;
    int i;
    (void)state;
    for (i = 0; i < 256; i++)
        x[i] = (int8_t)(i - 128);
    memset(&p, 0, sizeof p);
    p.count = 256;
    p.input_zero_point = 3;
    tml_fx_act_input_scaling(s, &p.input_multiplier, &p.input_left_shift, &p.input_range_radius);
    tml_logistic_s8(&p, in, out, NULL);
    for (i = 0; i < 256; i++) {
        double want = 1.0 / (1.0 + exp(-s * (x[i] - 3))) * 256.0 - 128.0;
        want = want > 127 ? 127 : want;
        assert_true(fabs(want - y[i]) <= 1.0);
    }
    assert_int_equal(y[131], 0); /* x = zero point: exactly one half */
    tml_tanh_s8(&p, in, out, NULL);
    for (i = 0; i < 256; i++) {
        double want = tanh(s * (x[i] - 3)) * 128.0;
        want = want > 127 ? 127 : want;
        assert_true(fabs(want - y[i]) <= 1.0);
    }
    assert_int_equal(y[131], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qmul),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_logistic_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
