/*
 * test_web_files.c - the web page as embedded in the binary (scripts/embed_web.cmake ->
 * tml_web_files, looked up by src/service/web.c).
 *
 * Checks that every file of web/ is in the table byte for byte with the right content type,
 * that "/" is the index page, and that lookups are exact: no path outside the table, no
 * traversal, no prefix or case tricks. The browser-level test is test_web.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service/web.h"

static void test_every_file_embedded(void **state)
{
    static const char *files[][2] = {
        {"/index.html", "text/html; charset=utf-8"},
        {"/app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "text/css; charset=utf-8"},
        {"/samples.js", "text/javascript; charset=utf-8"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1200];
        const tml_web_file *f = tml_web_find(files[i][0]);
        FILE *fp;
        unsigned char *buf;
        long n;
        assert_non_null(f);
        assert_string_equal(f->content_type, files[i][1]);
        snprintf(path, sizeof path, "%s/web%s", TML_SOURCE_DIR, files[i][0]);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        assert_int_equal(f->size, (size_t)n);
        assert_memory_equal(f->data, buf, (size_t)n);
        free(buf);
    }
}

static void test_index_and_exact_lookup(void **state)
{
    static const char *bad[] = {"",
                                "/index.htm",
                                "/index.html/",
                                "//index.html",
                                "/INDEX.HTML",
                                "/../web/index.html",
                                "/./app.js",
                                "index.html",
                                "/app.js?x",
                                "/%2e%2e/CMakeLists.txt",
                                "/web/app.js"};
    size_t i;
    const tml_web_file *f;
    (void)state;
    f = tml_web_find("/");
    assert_non_null(f);
    assert_string_equal(f->path, "/index.html");
    assert_true(f->size > 100);
    assert_non_null(strstr((const char *)f->data, "<html lang=\"en\">"));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = tml_web_find(bad[i]);
        if (f)
            fail_msg("lookup of '%s' found '%s'", bad[i], f->path);
    }
}

static void test_table_well_formed(void **state)
{
    const tml_web_file *f;
    int n = 0;
    (void)state;
    for (f = tml_web_files; f->path; f++, n++) {
        assert_true(f->path[0] == '/');
        assert_null(strstr(f->path, ".."));
        assert_non_null(f->content_type);
        assert_string_not_equal(f->content_type, "application/octet-stream");
        assert_int_equal(f->data[f->size], 0); /* NUL after the bytes */
    }
    assert_true(n >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_embedded),
        cmocka_unit_test(test_index_and_exact_lookup),
        cmocka_unit_test(test_table_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
