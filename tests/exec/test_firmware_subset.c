/*
 * test_firmware_subset.c - the package path as a firmware would build it: only the executor,
 * SHA-256, rt.c, the registry with TML_KERNELS_SELECTED and the kernels the firmware chose,
 * compiled with -std=c99 -pedantic into a small host program (the same sources a Cortex-M
 * image links). A package whose kernels are all present loads and runs; one that needs a
 * kernel the firmware left out is refused at load time with TML_ERR_UNSUPPORTED, before any
 * step runs. The package is the one of tests/exec/fixture.h (COPY steps only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "exec/cg_util.h"
#include "exec/fixture.h"

static const char *const firmware_main =
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include \"tml/executor.h\"\n"
    "static uint8_t pkg[4096] __attribute__((aligned(16)));\n"
    "static uint8_t arena[1024] __attribute__((aligned(16)));\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    tml_exec ex;\n"
    "    FILE *f = fopen(argv[1], \"rb\");\n"
    "    size_t n;\n"
    "    tml_status st;\n"
    "    float *x, *y;\n"
    "    uint32_t nb;\n"
    "    (void)argc;\n"
    "    if (!f)\n"
    "        return 10;\n"
    "    n = fread(pkg, 1, sizeof(pkg), f);\n"
    "    fclose(f);\n"
    "    st = tml_exec_load(&ex, pkg, (uint32_t)n, arena, sizeof(arena));\n"
    "    if (st != TML_OK) {\n"
    "        printf(\"load: %d %s (step %d)\\n\", (int)st, ex.error, (int)ex.error_at);\n"
    "        return st == TML_ERR_UNSUPPORTED ? 3 : 4;\n"
    "    }\n"
    "    x = tml_exec_input(&ex, 0, &nb);\n"
    "    x[0] = 42.0f;\n"
    "    if (tml_exec_run(&ex) != TML_OK)\n"
    "        return 5;\n"
    "    y = tml_exec_output(&ex, 0, &nb);\n"
    "    return y[0] == 42.0f ? 0 : 6;\n"
    "}\n";

/* Builds the firmware with TML_USE_COPY=use_copy (every other kernel 0); returns the exit
 * code of running it on the fixture's package. */
static int build_and_run(const char *dir, int use_copy)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd %s && defs=$(grep -h '^TML_KERNEL(' %s/runtime/include/tml/kernels*.def | "
             "sed 's/TML_KERNEL(\\([A-Z0-9_]*\\),.*/-DTML_USE_\\1=0/' | "
             "sed 's/-DTML_USE_COPY=0/-DTML_USE_COPY=%d/') && "
             "cc " CG_CFLAGS " -DTML_KERNELS_SELECTED $defs -I %s/runtime/include main.c "
             "%s/runtime/exec/executor.c %s/runtime/exec/sha256.c %s/runtime/rt.c "
             "%s/runtime/kernels/registry.c %s -o fw && ./fw model.tmlpkg",
             dir, TML_SOURCE_DIR, use_copy, TML_SOURCE_DIR, TML_SOURCE_DIR, TML_SOURCE_DIR,
             TML_SOURCE_DIR, TML_SOURCE_DIR,
             use_copy ? TML_SOURCE_DIR "/runtime/kernels/copy.c" : "");
    return system(cmd);
}

static void test_firmware_subset(void **state)
{
    fx_plan f;
    char dir[] = "/tmp/tml_fw_XXXXXX", path[600], err[256] = "", cmd[700];
    int rc;
    (void)state;
    assert_non_null(mkdtemp(dir));
    fx_plan_init(&f);
    snprintf(path, sizeof(path), "%s/model.tmlpkg", dir);
    assert_int_equal(tml_package_save(&f.plan, path, err, sizeof(err)), TML_OK);
    snprintf(path, sizeof(path), "%s/main.c", dir);
    assert_int_equal(cg_write(path, firmware_main, strlen(firmware_main)), 0);

    rc = build_and_run(dir, 1);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);

    rc = build_and_run(dir, 0);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 3); /* refused: kernel not compiled in */

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_firmware_subset)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
