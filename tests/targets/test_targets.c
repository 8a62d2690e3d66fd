/*
 * test_targets.c - target profiles, budgets, linker-map measurement, and firmware images run
 * under QEMU compared with the host interpreter.
 *
 * The QEMU tests build a real image per (model, target) with arm-none-eabi-gcc, run it with
 * -icount shift=0 (bounded by the run's timeout) and require every float32 output within
 * 1e-4 absolute + 1e-4 relative of the host interpreter's (the same kernels, a different
 * compiler and libm). They skip with a message when the toolchain, QEMU or the corpus is
 * missing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tml/compiler.h"
#include "tml/interp.h"
#include "tml/tensor_io.h"
#include "tml/target.h"

static char err[1024];

static void test_size_parse(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(tml_size_parse("256K", &v), TML_OK);
    assert_int_equal(v, 256 * 1024);
    assert_int_equal(tml_size_parse("1M", &v), TML_OK);
    assert_int_equal(v, 1024 * 1024);
    assert_int_equal(tml_size_parse("16KiB", &v), TML_OK);
    assert_int_equal(v, 16384);
    assert_int_equal(tml_size_parse("0x20000000", &v), TML_OK);
    assert_int_equal(v, 0x20000000u);
    assert_int_equal(tml_size_parse("12", &v), TML_OK);
    assert_int_equal(v, 12);
    assert_int_not_equal(tml_size_parse("", &v), TML_OK);
    assert_int_not_equal(tml_size_parse("K", &v), TML_OK);
    assert_int_not_equal(tml_size_parse("12Q", &v), TML_OK);
    assert_int_not_equal(tml_size_parse("0x", &v), TML_OK);
    assert_int_not_equal(tml_size_parse("99999999999999999999", &v), TML_OK);
    assert_int_not_equal(tml_size_parse("17179869184G", &v), TML_OK);
}

static void test_profiles_load(void **state)
{
    static const char *names[] = {"host",      "cortex-m0", "cortex-m3",    "cortex-m4",
                                  "cortex-m7", "rv32imac",  "xtensa-lx106", "esp32"};
    tml_target t;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (tml_target_load(names[i], &t, err, sizeof err) != TML_OK)
            fail_msg("%s: %s", names[i], err);
        assert_string_equal(t.name, names[i]);
    }
    assert_int_equal(tml_target_load("cortex-m4", &t, err, sizeof err), TML_OK);
    assert_true(t.dsp);
    assert_string_equal(t.fpu, "fpv4-sp-d16");
    assert_string_equal(t.qemu_machine, "mps2-an386");
    assert_int_equal(t.ram_bytes, 4u << 20);
    assert_int_equal(t.ram_origin, 0x20000000u);
    assert_true(tml_target_can_run(&t));
    assert_int_equal(tml_target_load("cortex-m0", &t, err, sizeof err), TML_OK);
    assert_int_equal(t.ram_bytes, 16 * 1024);
    assert_string_equal(t.qemu_machine, "microbit");
    assert_true(tml_target_has_image(&t));
    assert_int_equal(tml_target_load("rv32imac", &t, err, sizeof err), TML_OK);
    assert_string_equal(t.qemu_machine, "sifive_e");
    assert_true(tml_target_has_image(&t));
    assert_int_equal(tml_target_load("xtensa-lx106", &t, err, sizeof err), TML_OK);
    assert_false(tml_target_has_image(&t));
    assert_false(tml_target_can_run(&t));
    assert_int_equal(t.ram_bytes, 80 * 1024);
    /* by path */
    assert_int_equal(tml_target_load(TML_SOURCE_DIR "/targets/cortex-m3.target", &t, err,
                                     sizeof err),
                     TML_OK);
    assert_string_equal(t.qemu_machine, "mps2-an385");
    assert_int_equal(tml_target_load("no-such-board", &t, err, sizeof err), TML_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "unknown target 'no-such-board'"));
    /* budgets from the command line */
    assert_int_equal(tml_target_load_budget("cortex-m4", "256K", "1M", &t, err, sizeof err),
                     TML_OK);
    assert_int_equal(t.ram_bytes, 256 * 1024);
    assert_int_equal(t.flash_bytes, 1024 * 1024);
    assert_int_equal(tml_target_load_budget("cortex-m4", "lots", NULL, &t, err, sizeof err),
                     TML_ERR_ARG);
}

static void expect_parse_error(const char *text, const char *needle)
{
    tml_target t;
    tml_status st = tml_target_parse(text, strlen(text), "t", &t, err, sizeof err);
    if (st == TML_OK)
        fail_msg("accepted: %s", text);
    if (!strstr(err, needle))
        fail_msg("message '%s' lacks '%s'", err, needle);
}

#define MINIMAL "name = x\narch = arm\ncc = gcc\nplatform = mps2\nflash = 1M\nram = 64K\n"

static void test_profile_errors(void **state)
{
    tml_target t;
    (void)state;
    assert_int_equal(tml_target_parse(MINIMAL, strlen(MINIMAL), "t", &t, err, sizeof err),
                     TML_OK);
    assert_int_equal(t.ram_bytes, 64 * 1024);
    assert_int_equal(t.stack_bytes, 4096);
    expect_parse_error(MINIMAL "colour = blue\n", "unknown key 'colour'");
    expect_parse_error(MINIMAL "stack = lots\n", "not a size for 'stack'");
    expect_parse_error(MINIMAL "ram = 1K\n", "key 'ram' given twice");
    expect_parse_error("name = x\narch = arm\ncc = gcc\nplatform = mps2\nflash = 1M\n",
                       "missing key 'ram'");
    expect_parse_error(MINIMAL "dsp = maybe\n", "'dsp' must be yes or no");
    expect_parse_error(MINIMAL "just words\n", "line 7: expected 'key = value'");
    expect_parse_error(MINIMAL "stack = 64K\n", "stack smaller than ram");
    expect_parse_error(MINIMAL "qemu = qemu-system-arm\n", "'qemu' needs 'qemu_machine'");
    expect_parse_error("name = ../../etc\narch = arm\ncc = gcc\nplatform = mps2\nflash = 1M\n"
                       "ram = 64K\n",
                       "'name' and 'platform'");
}

/* A map as GNU ld writes it, reduced to the lines the parser reads. */
static const char map_text[] =
    "Discarded input sections\n"
    " .text          0x00000000        0x0 obj/model.o\n"
    "Linker script and memory map\n"
    "LOAD obj/model.o\n"
    ".text           0x00000000      0x700\n"
    " *(.vectors)\n"
    " .vectors       0x00000000       0x40 obj/platform_mps2_port.o\n"
    " .text.model_run\n"
    "                0x00000040      0x100 obj/model.o\n"
    "                0x00000040                model_run\n"
    " .text.tml_conv_f32\n"
    "                0x00000140      0x200 obj/tml_conv_f32.o\n"
    " .text          0x00000340      0x100 /usr/lib/libc_nano.a(lib_a-memcpy.o)\n"
    " .rodata.w_conv_weight\n"
    "                0x00000440      0x200 obj/model.o\n"
    " *fill*         0x00000640       0x10 \n"
    " .rodata.P0     0x00000650       0x20 obj/model.o\n"
    " .text.tml_harness_main\n"
    "                0x00000670       0x90 obj/platform_harness.o\n"
    ".data           0x20000000       0x10 load address 0x00000700\n"
    " .data.x        0x20000000       0x10 obj/platform_mps2_port.o\n"
    ".bss            0x20000010     0x1004\n"
    " .bss.model_arena\n"
    "                0x20000010     0x1000 obj/model.o\n"
    " .bss.systick_wraps\n"
    "                0x20001010        0x4 obj/platform_mps2_port.o\n"
    ".stack          0x20001018      0x800 load address 0x00000710\n"
    ".comment        0x00000000       0x26\n"
    " .comment       0x00000000       0x26 obj/model.o\n"
    ".debug_info     0x00000000     0x2150\n";

static void test_map_sizes(void **state)
{
    tml_image_sizes s;
    (void)state;
    assert_int_equal(tml_image_sizes_from_map(map_text, strlen(map_text), &s, err, sizeof err),
                     TML_OK);
    assert_int_equal(s.flash_total, 0x700 + 0x10);
    assert_int_equal(s.weights, 0x200);
    assert_int_equal(s.model_code, 0x100 + 0x20);
    assert_int_equal(s.kernels, 0x200);
    assert_int_equal(s.libc, 0x100);
    /* vectors + harness + the .data load copy + the fill */
    assert_int_equal(s.port, 0x40 + 0x90 + 0x10 + 0x10);
    assert_int_equal(s.weights + s.model_code + s.kernels + s.port + s.libc, s.flash_total);
    assert_int_equal(s.arena, 0x1000);
    assert_int_equal(s.data_bss, 0x10 + 0x4);
    assert_int_equal(s.stack_reserved, 0x800);
    assert_int_equal(s.ram_total, 0x10 + 0x1004 + 0x800);
    assert_int_not_equal(tml_image_sizes_from_map("nothing", 7, &s, err, sizeof err), TML_OK);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void test_oversized_refused(void **state)
{
    tml_compile_options co;
    tml_model *m = NULL;
    tml_target t;
    (void)state;
    tml_compile_options_default(&co);
    assert_int_equal(tml_model_compile(TML_SOURCE_DIR "/tests/fixtures/fmnist_cnn.onnx", &co, &m,
                                       err, sizeof err),
                     TML_OK);
    assert_int_equal(tml_target_load("cortex-m0", &t, err, sizeof err), TML_OK);
    assert_int_equal(tml_target_check_fit(&t, m->plan, err, sizeof err), TML_ERR_FIT);
    assert_non_null(strstr(err, "needs 33.1 KiB RAM: arena 30.6 KiB + stack 2.0 KiB"));
    assert_non_null(strstr(err, "target cortex-m0 has 16.0 KiB"));
    assert_non_null(strstr(err, "int8"));
    /* flash: 116 KiB of weights in a 64 KiB part */
    assert_int_equal(tml_target_load_budget("cortex-m0", "1M", "64K", &t, err, sizeof err),
                     TML_OK);
    assert_int_equal(tml_target_check_fit(&t, m->plan, err, sizeof err), TML_ERR_FIT);
    assert_non_null(strstr(err, "KiB flash: weights 116.2 KiB"));
    assert_int_equal(tml_target_load("cortex-m4", &t, err, sizeof err), TML_OK);
    assert_int_equal(tml_target_check_fit(&t, m->plan, err, sizeof err), TML_OK);
    tml_model_free(m);
}

static bool have_tools(const char *target)
{
    if (!strcmp(target, "rv32imac"))
        return exists("/usr/bin/riscv64-unknown-elf-gcc") &&
               exists("/usr/bin/qemu-system-riscv32");
    return exists("/usr/bin/arm-none-eabi-gcc") && exists("/usr/bin/qemu-system-arm");
}

/* Compiles path, runs it on the host interpreter and on target, compares the outputs. */
static void run_compare(const char *path, const char *target)
{
    tml_compile_options co;
    tml_model *m = NULL;
    tml_interp *it = NULL;
    tml_target t;
    tml_image_sizes s;
    tml_image_run_stats r;
    const void *in[16];
    size_t in_bytes[16];
    void *out[16];
    char dir[] = "/tmp/tml-test-targets-XXXXXX";
    int i;

    if (!exists(path)) {
        printf("skip: '%s' absent\n", path);
        skip();
    }
    if (!have_tools(target)) {
        printf("skip: the toolchain or QEMU for %s is not installed (scripts/install-deps.sh)\n",
               target);
        skip();
    }
    tml_compile_options_default(&co);
    if (tml_model_compile(path, &co, &m, err, sizeof err) != TML_OK)
        fail_msg("%s", err);
    assert_int_equal(tml_interp_new(m->plan, &it, err, sizeof err), TML_OK);
    for (i = 0; i < m->plan->n_inputs; i++) {
        size_t n, k;
        void *buf = tml_interp_input(it, i, &n);
        const tml_plan_tensor *pt = &m->plan->tensors[m->plan->inputs[i]];
        if (pt->dtype == TML_DT_F32) {
            float *f = buf;
            for (k = 0; k < n / 4; k++)
                f[k] = (float)sin(0.37 * (double)k + (double)i);
        } else {
            unsigned char *b = buf;
            for (k = 0; k < n; k++)
                b[k] = (unsigned char)(k * 29u + 7u);
        }
        in[i] = buf;
        in_bytes[i] = n;
    }
    /* fmnist: the real sample */
    if (strstr(path, "fmnist_cnn")) {
        tml_value v;
        size_t n;
        void *buf = tml_interp_input(it, 0, &n);
        assert_int_equal(tml_npy_read(TML_SOURCE_DIR "/tests/fixtures/fmnist_sample0.npy", &v,
                                      err, sizeof err),
                         TML_OK);
        assert_int_equal(v.nbytes, n);
        memcpy(buf, v.data, n);
        tml_value_release(&v);
    }
    /* the interpreter reuses input buffers for later tensors: keep copies for the target */
    for (i = 0; i < m->plan->n_inputs; i++) {
        void *copy = malloc(in_bytes[i]);
        assert_non_null(copy);
        memcpy(copy, in[i], in_bytes[i]);
        in[i] = copy;
    }
    assert_int_equal(tml_interp_run(it), TML_OK);
    assert_int_equal(tml_target_load(target, &t, err, sizeof err), TML_OK);
    assert_non_null(mkdtemp(dir));
    if (tml_target_run_plan(&t, m->plan, dir, in, in_bytes, out, &s, &r, err, sizeof err) !=
        TML_OK)
        fail_msg("%s on %s: %s (kept '%s')", path, target, err, dir);
    printf("%s on %s: flash %llu (weights %llu), RAM %llu (arena %llu), stack %llu, %llu "
           "instructions\n",
           strrchr(path, '/') + 1, target, (unsigned long long)s.flash_total,
           (unsigned long long)s.weights, (unsigned long long)s.ram_total,
           (unsigned long long)s.arena, (unsigned long long)r.stack_used,
           (unsigned long long)r.instructions);
    if (strcmp(t.platform, "host") != 0) {
        assert_int_equal(s.arena, m->plan->arena_size);
        assert_true(s.weights > 0 && s.weights <= m->plan->weights_size);
        assert_true(s.flash_total == s.weights + s.model_code + s.kernels + s.port + s.libc);
        assert_true(r.stack_used > 0 && r.stack_used < s.stack_reserved);
        assert_true(r.instructions > 0);
    }
    for (i = 0; i < m->plan->n_outputs; i++) {
        const tml_plan_tensor *pt = &m->plan->tensors[m->plan->outputs[i]];
        size_t n, k;
        const void *ref = tml_interp_output(it, i, &n);
        assert_int_equal(n, pt->bytes);
        if (pt->dtype == TML_DT_F32) {
            const float *a = ref, *b = out[i];
            for (k = 0; k < n / 4; k++)
                if (!(fabsf(a[k] - b[k]) <= 1e-4f + 1e-4f * fabsf(a[k])))
                    fail_msg("%s on %s: output %d[%zu] = %g, host %g", path, target, i, k,
                             (double)b[k], (double)a[k]);
        } else {
            assert_memory_equal(ref, out[i], n);
        }
        free(out[i]);
    }
    for (i = 0; i < m->plan->n_inputs; i++)
        free((void *)in[i]);
    tml_image_dir_remove(dir);
    tml_interp_free(it);
    tml_model_free(m);
}

#define FMNIST TML_SOURCE_DIR "/tests/fixtures/fmnist_cnn.onnx"
#define WAND TML_CORPUS_DIR "/tflite/magic_wand/magic_wand.tflite"
#define HELLO TML_CORPUS_DIR "/tflite/hello_world/hello_world_float.tflite"

static void test_m4_fmnist(void **s) { (void)s; run_compare(FMNIST, "cortex-m4"); }
static void test_m3_fmnist(void **s) { (void)s; run_compare(FMNIST, "cortex-m3"); }
static void test_m7_fmnist(void **s) { (void)s; run_compare(FMNIST, "cortex-m7"); }
static void test_m4_magic_wand(void **s) { (void)s; run_compare(WAND, "cortex-m4"); }
static void test_m3_magic_wand(void **s) { (void)s; run_compare(WAND, "cortex-m3"); }
static void test_m7_magic_wand(void **s) { (void)s; run_compare(WAND, "cortex-m7"); }
static void test_m4_hello_world(void **s) { (void)s; run_compare(HELLO, "cortex-m4"); }
static void test_m3_hello_world(void **s) { (void)s; run_compare(HELLO, "cortex-m3"); }
static void test_m7_hello_world(void **s) { (void)s; run_compare(HELLO, "cortex-m7"); }
static void test_m0_hello_world(void **s) { (void)s; run_compare(HELLO, "cortex-m0"); }
static void test_rv32_hello_world(void **s) { (void)s; run_compare(HELLO, "rv32imac"); }
static void test_rv32_magic_wand(void **s) { (void)s; run_compare(WAND, "rv32imac"); }
static void test_host_fmnist(void **s) { (void)s; run_compare(FMNIST, "host"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_parse),     cmocka_unit_test(test_profiles_load),
        cmocka_unit_test(test_profile_errors), cmocka_unit_test(test_map_sizes),
        cmocka_unit_test(test_oversized_refused), cmocka_unit_test(test_m4_fmnist),
        cmocka_unit_test(test_m3_fmnist),      cmocka_unit_test(test_m7_fmnist),
        cmocka_unit_test(test_m4_magic_wand),  cmocka_unit_test(test_m3_magic_wand),
        cmocka_unit_test(test_m7_magic_wand),  cmocka_unit_test(test_m4_hello_world),
        cmocka_unit_test(test_m3_hello_world), cmocka_unit_test(test_m7_hello_world),
        cmocka_unit_test(test_m0_hello_world), cmocka_unit_test(test_rv32_hello_world),
        cmocka_unit_test(test_rv32_magic_wand), cmocka_unit_test(test_host_fmnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
