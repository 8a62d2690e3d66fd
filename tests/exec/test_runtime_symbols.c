/*
 * test_runtime_symbols.c - runs tests/exec/check_runtime_symbols.sh on this build's
 * libtmlrt.a: the device-side library must reference no allocator, stdio or exit function and
 * define no mutable global. A C wrapper rather than a test_*.sh because CMakeLists.txt gives
 * every .sh test the tmlaas CLI's path, which fails to configure while there is no CLI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static void test_runtime_symbols(void **state)
{
    char cmd[4096];
    int rc;
    (void)state;
    snprintf(cmd, sizeof(cmd), "TML_BUILD='%s' bash '%s/tests/exec/check_runtime_symbols.sh'",
             TML_BINARY_DIR, TML_SOURCE_DIR);
    rc = system(cmd);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_runtime_symbols)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
