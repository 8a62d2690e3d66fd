/*
 * test_executor.c - the model package writer and the device executor's loader.
 *
 * A hand-built plan (tests/exec/fixture.h) is serialized, then: the round trip loads and runs;
 * every truncation and every single-byte flip is refused; and each field the loader validates
 * is tampered with one at a time *with the hash recomputed*, so the refusal must come from the
 * table validation and not from the hash. Tampered copies are exact-size malloc'd buffers so
 * AddressSanitizer builds catch any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/fixture.h"
#include "tml/package.h"
#include "tml/sha256.h"

static uint8_t g_arena[4096] __attribute__((aligned(16)));

static void build(uint8_t **pkg, size_t *len)
{
    fx_plan f;
    char err[256] = "";
    fx_plan_init(&f);
    assert_int_equal(tml_package_build(&f.plan, pkg, len, err, sizeof(err)), TML_OK);
}

static tml_status load(const uint8_t *pkg, size_t len, tml_exec *ex)
{
    uint8_t *copy = fx_dup(pkg, len);
    tml_status st = tml_exec_load(ex, copy, (uint32_t)len, g_arena, sizeof(g_arena));
    free(copy);
    return st;
}

static void test_round_trip(void **state)
{
    uint8_t *pkg;
    size_t len;
    tml_exec ex;
    uint32_t nb;
    float *x, *y, *z;
    int i;
    (void)state;
    build(&pkg, &len);
    assert_int_equal(fx_rd32(pkg + TML_PKG_H_WEIGHTS_OFFSET) % 16, 0);
    assert_int_equal(fx_rd32(pkg + TML_PKG_H_TOTAL_BYTES), len);
    assert_memory_equal(pkg, "TMLP", 4);
    assert_int_equal(tml_pkg_arena_bytes(pkg, (uint32_t)len), 128);
    assert_int_equal(tml_exec_load(&ex, pkg, (uint32_t)len, g_arena, sizeof(g_arena)), TML_OK);
    assert_int_equal(ex.n_inputs, 1);
    assert_int_equal(ex.n_outputs, 2);
    x = tml_exec_input(&ex, 0, &nb);
    assert_non_null(x);
    assert_int_equal(nb, 24);
    assert_null(tml_exec_input(&ex, 1, &nb));
    assert_null(tml_exec_output(&ex, 2, &nb));
    for (i = 0; i < 6; i++)
        x[i] = (float)(i * i) + 0.25f;
    assert_int_equal(tml_exec_run(&ex), TML_OK);
    y = tml_exec_output(&ex, 0, &nb);
    z = tml_exec_output(&ex, 1, &nb);
    for (i = 0; i < 6; i++) {
        assert_true(y[i] == (float)(i * i) + 0.25f);
        assert_true(z[i] == 0.5f * (float)i - 1.0f);
    }
    /* the package lives in the caller's buffer only: a trailing slot remainder is allowed */
    {
        uint8_t *big = calloc(1, len + 64);
        memcpy(big, pkg, len);
        assert_int_equal(tml_exec_load(&ex, big, (uint32_t)len + 64, g_arena, 128), TML_OK);
        assert_int_equal(tml_exec_load(&ex, big, (uint32_t)len + 64, g_arena, 127), TML_ERR_FIT);
        assert_int_equal(tml_exec_run(&ex), TML_ERR_STATE); /* failed load leaves it unloaded */
        free(big);
    }
    free(pkg);
}

static void test_every_truncation_refused(void **state)
{
    uint8_t *pkg;
    size_t len, n;
    tml_exec ex;
    (void)state;
    build(&pkg, &len);
    for (n = 0; n < len; n++)
        assert_int_not_equal(load(pkg, n, &ex), TML_OK);
    assert_int_equal(load(pkg, len, &ex), TML_OK);
    free(pkg);
}

static void test_every_byte_flip_refused(void **state)
{
    uint8_t *pkg;
    size_t len, i;
    tml_exec ex;
    (void)state;
    build(&pkg, &len);
    for (i = 0; i < len; i++) {
        int bit;
        for (bit = 0; bit < 8; bit += 7) {
            pkg[i] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(load(pkg, len, &ex), TML_OK);
            assert_non_null(ex.error);
            pkg[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(pkg);
}

/* Offsets of entries in the fixture's package. */
static uint8_t *tensor_entry(uint8_t *pkg, int t)
{
    return pkg + TML_PKG_HEADER_BYTES + (size_t)t * TML_PKG_TENSOR_BYTES;
}
static uint8_t *step_entry(uint8_t *pkg, int s)
{
    return pkg + fx_rd32(pkg + TML_PKG_H_STEPS_OFFSET) + (size_t)s * (TML_PKG_STEP_FIXED_BYTES + 8);
}

/* Sets the u32 at pkg + off to v, reseals, and expects the loader to refuse with st. */
static void expect_refused(const uint8_t *orig, size_t len, size_t off, uint32_t v, tml_status st,
                           const char *what)
{
    uint8_t *p = fx_dup(orig, len);
    tml_exec ex;
    tml_status got;
    fx_wr32(p + off, v);
    fx_reseal(p, len);
    got = tml_exec_load(&ex, p, (uint32_t)len, g_arena, sizeof(g_arena));
    if (got != st)
        fail_msg("%s: expected status %d, got %d (%s)", what, (int)st, (int)got,
                 ex.error ? ex.error : "no error");
    if (st != TML_OK)
        assert_non_null(ex.error);
    free(p);
}

static void test_tampered_fields_refused_with_valid_hash(void **state)
{
    uint8_t *pkg;
    size_t len;
    size_t t0, t3, s0, s2;
    (void)state;
    build(&pkg, &len);
    t0 = (size_t)(tensor_entry(pkg, 0) - pkg);
    t3 = (size_t)(tensor_entry(pkg, 3) - pkg);
    s0 = (size_t)(step_entry(pkg, 0) - pkg);
    s2 = (size_t)(step_entry(pkg, 2) - pkg);

    /* reseal alone must keep it valid (else every case below proves nothing) */
    expect_refused(pkg, len, TML_PKG_H_FLAGS, 0, TML_OK, "resealed original");

    /* header */
    expect_refused(pkg, len, TML_PKG_H_VERSION, 2, TML_ERR_UNSUPPORTED, "version 2");
    expect_refused(pkg, len, TML_PKG_H_FLAGS, 1, TML_ERR_UNSUPPORTED, "flags");
    expect_refused(pkg, len, TML_PKG_H_RESERVED + 8, 1, TML_ERR_FORMAT, "reserved");
    expect_refused(pkg, len, TML_PKG_H_HEADER_BYTES, 252, TML_ERR_FORMAT, "header_bytes");
    expect_refused(pkg, len, TML_PKG_H_TOTAL_BYTES, (uint32_t)len + 4, TML_ERR_FORMAT, "total");
    expect_refused(pkg, len, TML_PKG_H_TOTAL_BYTES, (uint32_t)len - 4, TML_ERR_FORMAT, "total-");
    expect_refused(pkg, len, TML_PKG_H_KERNEL_ABI, tml_pkg_kernel_abi() ^ 1,
                   TML_ERR_UNSUPPORTED, "kernel abi");
    expect_refused(pkg, len, TML_PKG_H_ARENA_BYTES, sizeof(g_arena) + 16, TML_ERR_FIT, "arena");
    expect_refused(pkg, len, TML_PKG_H_ARENA_BYTES, 100, TML_ERR_FORMAT, "arena too small for z");
    expect_refused(pkg, len, TML_PKG_H_N_TENSORS, 6, TML_ERR_FORMAT, "n_tensors+1");
    expect_refused(pkg, len, TML_PKG_H_N_TENSORS, 0xffffffffu, TML_ERR_FORMAT, "n_tensors huge");
    expect_refused(pkg, len, TML_PKG_H_N_STEPS, 4, TML_ERR_FORMAT, "n_steps+1");
    expect_refused(pkg, len, TML_PKG_H_N_STEPS, 2, TML_ERR_FORMAT, "n_steps-1 (leftover)");
    expect_refused(pkg, len, TML_PKG_H_N_INPUTS, 17, TML_ERR_FORMAT, "n_inputs 17");
    expect_refused(pkg, len, TML_PKG_H_N_INPUTS, 2, TML_ERR_FORMAT, "n_inputs 2");
    expect_refused(pkg, len, TML_PKG_H_INPUTS, 5, TML_ERR_FORMAT, "input id 5");
    expect_refused(pkg, len, TML_PKG_H_INPUTS, 3, TML_ERR_FORMAT, "input is a constant");
    expect_refused(pkg, len, TML_PKG_H_OUTPUTS + 4, 0xfffffffeu, TML_ERR_FORMAT, "output id");
    expect_refused(pkg, len, TML_PKG_H_INPUTS + 4, 1, TML_ERR_FORMAT, "unused slot used");
    expect_refused(pkg, len, TML_PKG_H_STEPS_OFFSET, fx_rd32(pkg + TML_PKG_H_STEPS_OFFSET) + 4,
                   TML_ERR_FORMAT, "steps offset");
    expect_refused(pkg, len, TML_PKG_H_STEPS_BYTES, fx_rd32(pkg + TML_PKG_H_STEPS_BYTES) - 4,
                   TML_ERR_FORMAT, "steps bytes");
    expect_refused(pkg, len, TML_PKG_H_PARAMS_BYTES, fx_rd32(pkg + TML_PKG_H_PARAMS_BYTES) + 16,
                   TML_ERR_FORMAT, "params bytes");
    expect_refused(pkg, len, TML_PKG_H_WEIGHTS_OFFSET,
                   fx_rd32(pkg + TML_PKG_H_WEIGHTS_OFFSET) + 16, TML_ERR_FORMAT, "weights off");
    expect_refused(pkg, len, TML_PKG_H_WEIGHTS_BYTES, 0xfffffff0u, TML_ERR_FORMAT, "weights bytes");

    /* tensor table */
    expect_refused(pkg, len, t0 + TML_PKG_T_DTYPE, 0, TML_ERR_FORMAT, "dtype undef");
    expect_refused(pkg, len, t0 + TML_PKG_T_DTYPE, TML_DT_STRING, TML_ERR_FORMAT, "dtype string");
    expect_refused(pkg, len, t0 + TML_PKG_T_DTYPE, 99, TML_ERR_FORMAT, "dtype 99");
    expect_refused(pkg, len, t0 + TML_PKG_T_DTYPE, TML_DT_S8, TML_ERR_FORMAT, "bytes vs int8");
    expect_refused(pkg, len, t0 + TML_PKG_T_RANK, 9, TML_ERR_FORMAT, "rank 9");
    expect_refused(pkg, len, t0 + TML_PKG_T_RANK, 3, TML_ERR_FORMAT, "rank 3 (dim 0)");
    expect_refused(pkg, len, t0 + TML_PKG_T_DIMS + 8, 1, TML_ERR_FORMAT, "dim beyond rank");
    expect_refused(pkg, len, t0 + TML_PKG_T_DIMS, 0x80000002u, TML_ERR_FORMAT, "negative dim");
    expect_refused(pkg, len, t0 + TML_PKG_T_DIMS, 0x40000000u, TML_ERR_FORMAT, "dims overflow");
    expect_refused(pkg, len, t0 + TML_PKG_T_BYTES, 28, TML_ERR_FORMAT, "bytes");
    expect_refused(pkg, len, t0 + TML_PKG_T_STORAGE, 2, TML_ERR_FORMAT, "storage 2");
    expect_refused(pkg, len, t0 + TML_PKG_T_OFFSET, 112, TML_ERR_FORMAT, "offset past arena");
    expect_refused(pkg, len, t0 + TML_PKG_T_OFFSET, 0xfffffff0u, TML_ERR_FORMAT, "offset wraps");
    expect_refused(pkg, len, t0 + TML_PKG_T_OFFSET, 2, TML_ERR_FORMAT, "offset misaligned");
    expect_refused(pkg, len, t3 + TML_PKG_T_OFFSET, 4, TML_ERR_FORMAT, "const past weights");
    expect_refused(pkg, len, t3 + TML_PKG_T_STORAGE, 0, TML_OK, "const moved to arena (legal)");

    /* step table */
    expect_refused(pkg, len, s0 + TML_PKG_S_KERNEL, TML_K_NONE, TML_ERR_UNSUPPORTED, "kernel 0");
    expect_refused(pkg, len, s0 + TML_PKG_S_KERNEL, TML_K_COUNT, TML_ERR_UNSUPPORTED, "kernel N");
    expect_refused(pkg, len, s0 + TML_PKG_S_N_IN, 17, TML_ERR_FORMAT, "n_in 17");
    expect_refused(pkg, len, s0 + TML_PKG_S_N_IN, 2, TML_ERR_FORMAT, "n_in 2 (shifts table)");
    expect_refused(pkg, len, s2 + TML_PKG_S_N_OUT, 0xffffffffu, TML_ERR_FORMAT, "n_out huge");
    expect_refused(pkg, len, s0 + TML_PKG_S_PARAMS_OFFSET, 12, TML_ERR_FORMAT, "params past end");
    expect_refused(pkg, len, s0 + TML_PKG_S_PARAMS_OFFSET, 2, TML_ERR_FORMAT, "params misaligned");
    expect_refused(pkg, len, s0 + TML_PKG_S_PARAMS_BYTES, 8, TML_ERR_FORMAT, "params size");
    expect_refused(pkg, len, s0 + TML_PKG_S_SCRATCH_BYTES, 16, TML_OK, "scratch inside (legal)");
    expect_refused(pkg, len, s0 + TML_PKG_S_SCRATCH_BYTES, 129, TML_ERR_FORMAT, "scratch size");
    expect_refused(pkg, len, s0 + TML_PKG_S_SCRATCH_OFFSET, 4, TML_ERR_FORMAT, "scratch w/o size");
    expect_refused(pkg, len, s0 + TML_PKG_S_IDS, 5, TML_ERR_FORMAT, "input id 5");
    expect_refused(pkg, len, s0 + TML_PKG_S_IDS + 4, 3, TML_ERR_FORMAT, "writes a constant");
    expect_refused(pkg, len, s0 + TML_PKG_S_IDS + 4, 0xfffffffeu, TML_ERR_FORMAT, "output id");
    expect_refused(pkg, len, s0 + TML_PKG_S_IDS + 4, TML_PKG_NONE, TML_ERR_FORMAT, "no output");
    /* COPY's own check: absent input (0 bytes) and params larger than the buffers */
    expect_refused(pkg, len, s0 + TML_PKG_S_IDS, TML_PKG_NONE, TML_ERR_FORMAT, "absent input");
    {
        size_t poff = fx_rd32(pkg + TML_PKG_H_PARAMS_OFFSET);
        expect_refused(pkg, len, poff, 25, TML_ERR_FORMAT, "copy bytes > buffers");
        expect_refused(pkg, len, poff, 0xffffffffu, TML_ERR_FORMAT, "copy bytes huge");
        expect_refused(pkg, len, poff, 20, TML_OK, "copy bytes smaller (legal)");
    }
    free(pkg);
}

static void test_bad_arguments(void **state)
{
    uint8_t *pkg;
    size_t len;
    tml_exec ex;
    (void)state;
    build(&pkg, &len);
    assert_int_equal(tml_exec_load(&ex, NULL, 0, g_arena, sizeof(g_arena)), TML_ERR_ARG);
    assert_int_equal(tml_exec_load(&ex, pkg, (uint32_t)len, NULL, 128), TML_ERR_ARG);
    assert_int_equal(tml_exec_load(&ex, pkg, (uint32_t)len, g_arena + 1, 128), TML_ERR_ARG);
    {
        uint8_t *odd = malloc(len + 1);
        memcpy(odd + 1, pkg, len);
        assert_int_equal(tml_exec_load(&ex, odd + 1, (uint32_t)len, g_arena, 128), TML_ERR_ARG);
        free(odd);
    }
    assert_int_equal(tml_exec_run(NULL), TML_ERR_STATE);
    assert_int_equal(tml_pkg_arena_bytes(pkg, 100), 0);
    free(pkg);
}

static void test_writer_refuses_bad_plans(void **state)
{
    fx_plan f;
    uint8_t *pkg = NULL;
    size_t len;
    char err[256];
    (void)state;

    fx_plan_init(&f);
    f.tensors[1].bytes = 20;
    assert_int_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)), TML_ERR_SHAPE);
    assert_non_null(strstr(err, "tensor 't'"));
    assert_null(pkg);

    fx_plan_init(&f);
    f.tensors[2].offset = 120;
    assert_int_not_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)), TML_OK);
    assert_non_null(strstr(err, "tensor 'y'"));

    fx_plan_init(&f);
    f.plan.outputs[0] = 3; /* a constant as graph output */
    assert_int_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)),
                     TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "conv1.weight"));

    fx_plan_init(&f);
    f.steps[1].params_size = 8;
    assert_int_not_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)), TML_OK);
    assert_non_null(strstr(err, "step 1 (copy)"));

    fx_plan_init(&f);
    f.steps[2].kernel = TML_K_COUNT;
    assert_int_not_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)), TML_OK);

    fx_plan_init(&f);
    f.steps[0].out[0] = 3;
    assert_int_not_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)), TML_OK);
    assert_non_null(strstr(err, "writes constant tensor 'conv1.weight'"));
}

static void test_save(void **state)
{
    fx_plan f;
    char err[256] = "", path[] = "/tmp/tml_test_pkg_XXXXXX";
    uint8_t *pkg, filebuf[2048];
    size_t len, n;
    FILE *fp;
    int fd;
    (void)state;
    fx_plan_init(&f);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(tml_package_save(&f.plan, path, err, sizeof(err)), TML_OK);
    assert_int_equal(tml_package_build(&f.plan, &pkg, &len, err, sizeof(err)), TML_OK);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    n = fread(filebuf, 1, sizeof(filebuf), fp);
    fclose(fp);
    assert_int_equal(n, len);
    assert_memory_equal(filebuf, pkg, len);
    remove(path);
    (void)fd;
    assert_int_equal(tml_package_save(&f.plan, "/nonexistent-dir/x.tmlpkg", err, sizeof(err)),
                     TML_ERR_IO);
    assert_non_null(strstr(err, "'/nonexistent-dir/x.tmlpkg'"));
    free(pkg);
}

static void test_print(void **state)
{
    uint8_t *pkg;
    size_t len;
    char err[256] = "", *out = NULL;
    size_t outlen = 0;
    FILE *f;
    (void)state;
    build(&pkg, &len);
    f = open_memstream(&out, &outlen);
    assert_non_null(f);
    assert_int_equal(tml_package_print(pkg, len, f, err, sizeof(err)), TML_OK);
    fclose(f);
    assert_non_null(strstr(out, "arena        128 B"));
    assert_non_null(strstr(out, "copy"));
    assert_non_null(strstr(out, "(t3) -> (t4)"));
    free(out);
    pkg[len - 1] ^= 1;
    f = open_memstream(&out, &outlen);
    assert_int_equal(tml_package_print(pkg, len, f, err, sizeof(err)), TML_ERR_VERIFY);
    fclose(f);
    assert_int_equal(outlen, 0); /* nothing printed for a refused package */
    assert_non_null(strstr(err, "sha-256"));
    free(out);
    free(pkg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_every_byte_flip_refused),
        cmocka_unit_test(test_tampered_fields_refused_with_valid_hash),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_writer_refuses_bad_plans),
        cmocka_unit_test(test_save),
        cmocka_unit_test(test_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
