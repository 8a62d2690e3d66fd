/*
 * test_data_checks.c - the _check companions of the data-family kernels. A model package
 * arriving over the air is untrusted, so each check must accept the parameters its lowering
 * produces and refuse anything that could make the kernel read or write out of bounds:
 * undersized input or output buffers, wrong parameter sizes or counts, element sizes, ranks,
 * permutations, slice starts, pad crops, dtypes and modes out of range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tml/kernels.h"

typedef tml_status (*check_fn)(const void *, uint32_t, const uint32_t *, int, const uint32_t *,
                               int, uint32_t);

/* Valid as given; each single undersized buffer and a short params_size are refused. */
static void check_rejects_undersized(check_fn check, const void *p, uint32_t psize,
                                     const uint32_t *ib, int n_in, const uint32_t *ob, int n_out)
{
    uint32_t b[8];
    int i;
    assert_int_equal(check(p, psize, ib, n_in, ob, n_out, 0), TML_OK);
    assert_int_equal(check(p, psize - 4, ib, n_in, ob, n_out, 0), TML_ERR_FORMAT);
    for (i = 0; i < n_in; i++) {
        memcpy(b, ib, (size_t)n_in * 4);
        if (b[i] == 0)
            continue;
        b[i]--;
        assert_int_equal(check(p, psize, b, n_in, ob, n_out, 0), TML_ERR_FORMAT);
    }
    for (i = 0; i < n_out; i++) {
        memcpy(b, ob, (size_t)n_out * 4);
        b[i]--;
        assert_int_equal(check(p, psize, ib, n_in, b, n_out, 0), TML_ERR_FORMAT);
    }
}

static void test_transpose_check(void **state)
{
    tml_transpose_params p = {4, 3, {2, 3, 4}, {2, 0, 1}};
    uint32_t ib[1] = {96}, ob[1] = {96};
    (void)state;
    check_rejects_undersized(tml_transpose_x_check, &p, sizeof p, ib, 1, ob, 1);
    p.perm[1] = 2; /* not a permutation */
    assert_int_equal(tml_transpose_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.perm[1] = 7;
    assert_int_equal(tml_transpose_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.perm[1] = 0;
    p.elem_size = 3;
    assert_int_equal(tml_transpose_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.elem_size = 4;
    p.rank = 9;
    assert_int_equal(tml_transpose_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.rank = 3;
    p.in_dims[0] = 0x40000000u; /* product overflows 32 bits */
    assert_int_equal(tml_transpose_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_concat_check(void **state)
{
    tml_concat_params p = {4, 2, 2, 3, {1, 2}};
    uint32_t ib[2] = {24, 48}, ob[1] = {72};
    (void)state;
    check_rejects_undersized(tml_concat_x_check, &p, sizeof p, ib, 2, ob, 1);
    assert_int_equal(tml_concat_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.n_in = 17;
    assert_int_equal(tml_concat_x_check(&p, sizeof p, ib, 17, ob, 1, 0), TML_ERR_FORMAT);
    p.n_in = 2;
    p.outer = 0xffffffffu;
    p.inner = 0xffffffffu;
    assert_int_equal(tml_concat_x_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_pad_check(void **state)
{
    tml_pad_params p;
    uint32_t ib[1] = {6 * 4}, ob[1] = {3 * 4 * 4};
    (void)state;
    memset(&p, 0, sizeof p);
    p.elem_size = 4;
    p.rank = 2;
    p.mode = TML_PAD_REFLECT;
    p.in_dims[0] = 2, p.in_dims[1] = 3;
    p.pad_begin[1] = 2, p.pad_end[0] = 1, p.pad_end[1] = -1;
    check_rejects_undersized(tml_pad_x_check, &p, sizeof p, ib, 1, ob, 1);
    p.mode = 4;
    assert_int_equal(tml_pad_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    /* crop everything of axis 1, then edge-pad from nothing */
    p.mode = TML_PAD_EDGE;
    p.pad_begin[1] = -3, p.pad_end[1] = 2;
    assert_int_equal(tml_pad_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    /* the same with a constant is fine: only the value is written */
    p.mode = TML_PAD_CONSTANT;
    assert_int_equal(tml_pad_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_OK);
    /* crop beyond the input */
    p.pad_begin[1] = -5;
    p.pad_end[1] = 4;
    assert_int_equal(tml_pad_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_slice_check(void **state)
{
    tml_slice_params p;
    uint32_t ib[1] = {24 * 4}, ob[1] = {6 * 4};
    (void)state;
    memset(&p, 0, sizeof p);
    p.elem_size = 4;
    p.rank = 2;
    p.in_dims[0] = 4, p.in_dims[1] = 6;
    p.out_dims[0] = 2, p.out_dims[1] = 3;
    p.start[0] = 1, p.start[1] = 5;
    p.step[0] = 2, p.step[1] = -2;
    check_rejects_undersized(tml_slice_x_check, &p, sizeof p, ib, 1, ob, 1);
    p.start[1] = 6; /* first index past the end */
    assert_int_equal(tml_slice_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.start[1] = 3; /* last index 3 - 2*2 = -1 */
    assert_int_equal(tml_slice_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.start[1] = 5;
    p.step[0] = 0;
    assert_int_equal(tml_slice_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.step[0] = 3; /* rows 1, 4: past the end */
    assert_int_equal(tml_slice_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_gather_check(void **state)
{
    tml_gather_params p = {4, 8, 2, 3, 5, 4};
    uint32_t ib[2] = {2 * 3 * 5 * 4, 4 * 8}, ob[1] = {2 * 4 * 5 * 4};
    (void)state;
    check_rejects_undersized(tml_gather_x_check, &p, sizeof p, ib, 2, ob, 1);
    p.index_size = 2;
    assert_int_equal(tml_gather_x_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    p.index_size = 4;
    assert_int_equal(tml_gather_x_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_OK);
    assert_int_equal(tml_gather_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_cast_check(void **state)
{
    tml_cast_params p = {TML_DT_F32, TML_DT_F16, 10};
    uint32_t ib[1] = {40}, ob[1] = {20};
    (void)state;
    check_rejects_undersized(tml_cast_check, &p, sizeof p, ib, 1, ob, 1);
    p.to = TML_DT_STRING;
    assert_int_equal(tml_cast_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.to = 22; /* int4 */
    assert_int_equal(tml_cast_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.to = TML_DT_F16;
    p.from = 0;
    assert_int_equal(tml_cast_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_shape_dropout_check(void **state)
{
    tml_shape_params sp = {3, {2, 3, 4}};
    tml_dropout_params dp = {24, 6, 1, 1, 0};
    uint32_t ob[1] = {24}, dib[1] = {24}, dob[2] = {24, 6};
    (void)state;
    check_rejects_undersized(tml_shape_s64_check, &sp, sizeof sp, NULL, 0, ob, 1);
    sp.n = 9;
    assert_int_equal(tml_shape_s64_check(&sp, sizeof sp, NULL, 0, ob, 1, 0), TML_ERR_FORMAT);
    check_rejects_undersized(tml_dropout_x_check, &dp, sizeof dp, dib, 1, dob, 2);
    dp.mask_elem_size = 16;
    assert_int_equal(tml_dropout_x_check(&dp, sizeof dp, dib, 1, dob, 2, 0), TML_ERR_FORMAT);
}

static void test_resize_check(void **state)
{
    tml_resize_params p;
    uint32_t ib[1] = {4 * 4}, ob[1] = {16 * 4};
    (void)state;
    memset(&p, 0, sizeof p);
    p.elem_size = 4;
    p.rank = 2;
    p.in_dims[0] = 2, p.in_dims[1] = 2;
    p.out_dims[0] = 4, p.out_dims[1] = 4;
    p.scale[0] = p.scale[1] = 2.0f;
    check_rejects_undersized(tml_resize_nearest_x_check, &p, sizeof p, ib, 1, ob, 1);
    p.scale[1] = 0.0f; /* division by zero */
    assert_int_equal(tml_resize_nearest_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.scale_num[1] = 4; /* exact scale with a zero denominator */
    assert_int_equal(tml_resize_nearest_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.scale_den[1] = 2;
    assert_int_equal(tml_resize_nearest_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_OK);
    p.coord_mode = 9;
    assert_int_equal(tml_resize_nearest_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.coord_mode = 0;
    p.in_dims[1] = 0; /* output but nothing to read from */
    assert_int_equal(tml_resize_nearest_x_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_check),
        cmocka_unit_test(test_concat_check),
        cmocka_unit_test(test_pad_check),
        cmocka_unit_test(test_slice_check),
        cmocka_unit_test(test_gather_check),
        cmocka_unit_test(test_cast_check),
        cmocka_unit_test(test_shape_dropout_check),
        cmocka_unit_test(test_resize_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
