/*
 * test_lwm2m.c - the link-format parser and the registration-interface checks on plain bytes:
 * well-formed payloads from real clients, every syntax error class, bounds (link count, URI
 * and value lengths), and the query parameters of Register and Update.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

static tml_status parse(const char *s, tml_link *l, size_t max, size_t *n, char *err)
{
    return tml_linkformat_parse(s, strlen(s), l, max, n, err, 256);
}

static void test_linkformat_ok(void **state)
{
    tml_link l[16];
    size_t n;
    char err[256], out[512];
    const char *v;
    size_t vl;
    (void)state;

    assert_int_equal(parse("</3/0>,</5/0>", l, 16, &n, err), TML_OK);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].uri_len, 4);
    assert_memory_equal(l[0].uri, "/3/0", 4);
    assert_int_equal(l[1].params_len, 0);

    /* Leshan-style payload with a root, attributes and white space */
    assert_int_equal(parse("</>;rt=\"oma.lwm2m\";ct=11543, </1/0>,\n </3>;ver=1.1, </3/0>,"
                           "</33000/1>;title=\"a \\\"b\\\" c\";obs",
                           l, 16, &n, err),
                     TML_OK);
    assert_int_equal(n, 5);
    assert_true(tml_link_param(&l[0], "rt", &v, &vl));
    assert_int_equal(vl, 9);
    assert_memory_equal(v, "oma.lwm2m", 9);
    assert_true(tml_link_param(&l[0], "ct", &v, &vl));
    assert_memory_equal(v, "11543", 5);
    assert_true(tml_link_param(&l[4], "obs", &v, &vl));
    assert_null(v);
    assert_false(tml_link_param(&l[1], "rt", &v, &vl));
    assert_int_equal(tml_lwm2m_links_normalize(l, n, out, sizeof out, err, sizeof err), TML_OK);
    assert_string_equal(out, "</>;rt=\"oma.lwm2m\";ct=11543,</1/0>,</3>;ver=1.1,</3/0>,"
                             "</33000/1>;title=\"a \\\"b\\\" c\";obs");
    assert_true(tml_lwm2m_links_have_object(out, 3));
    assert_true(tml_lwm2m_links_have_object(out, 33000));
    assert_false(tml_lwm2m_links_have_object(out, 5));

    assert_int_equal(parse("", l, 16, &n, err), TML_OK);
    assert_int_equal(n, 0);
    assert_int_equal(parse("  \r\n", l, 16, &n, err), TML_OK);
    assert_int_equal(n, 0);
}

static void test_linkformat_bad(void **state)
{
    static const char *bad[] = {
        "</3/0",          /* unterminated URI */
        "<>,",            /* trailing comma */
        "/3/0",           /* no '<' */
        "</3/0>;",        /* empty parameter */
        "</3/0>;=1",      /* empty name */
        "</3/0>;a=",      /* empty value */
        "</3/0>;a=\"x",   /* unterminated quoted string */
        "</3/0>;a=\"x\\", /* escape at the end */
        "</3/0> </5/0>",  /* missing comma */
        "</3 0>",         /* space in URI */
        "</3/0>;a=b\"c",  /* quote in token */
    };
    tml_link l[16];
    size_t n, i;
    char err[256];
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 99;
        err[0] = 0;
        if (parse(bad[i], l, 16, &n, err) != TML_ERR_FORMAT)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(n, 0);
        assert_non_null(strstr(err, "link-format: link"));
    }
    /* embedded NUL */
    assert_int_equal(tml_linkformat_parse("</3/\0>", 6, l, 16, &n, err, sizeof err),
                     TML_ERR_FORMAT);
}

static void test_linkformat_bounds(void **state)
{
    tml_link l[4];
    size_t n;
    char err[256], big[1024], out[16];
    (void)state;
    assert_int_equal(parse("</1>,</2>,</3>,</4>,</5>", l, 4, &n, err), TML_ERR_FIT);
    assert_non_null(strstr(err, "more than 4 links"));
    memset(big, 'a', sizeof big);
    big[0] = '<';
    big[300] = '>';
    big[301] = 0;
    assert_int_equal(parse(big, l, 4, &n, err), TML_ERR_FORMAT);
    assert_non_null(strstr(err, "longer than 255"));
    assert_int_equal(parse("</3/0>,</5/0>", l, 4, &n, err), TML_OK);
    assert_int_equal(tml_lwm2m_links_normalize(l, n, out, sizeof out, err, sizeof err),
                     TML_OK); /* "</3/0>,</5/0>" is 13 bytes */
    assert_int_equal(tml_lwm2m_links_normalize(l, n, out, 8, err, sizeof err), TML_ERR_FIT);
    assert_int_equal(tml_linkformat_parse("<>", TML_LINKFORMAT_MAX + 1, l, 4, &n, err,
                                          sizeof err),
                     TML_ERR_FIT);
}

static void test_objects(void **state)
{
    static const char *bad[] = {"</foo>", "</3/0/1>", "</65536>", "</3/x>", "<3/0>", "</03>",
                                "<//>", "</>"};
    tml_link l[4];
    size_t n, i;
    char err[256], out[256];
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], l, 4, &n, err), TML_OK);
        if (tml_lwm2m_links_normalize(l, n, out, sizeof out, err, sizeof err) != TML_ERR_FORMAT)
            fail_msg("accepted object link: %s", bad[i]);
        assert_non_null(strstr(err, "is not an object"));
    }
    assert_int_equal(parse("</65535/65535>", l, 4, &n, err), TML_OK);
    assert_int_equal(tml_lwm2m_links_normalize(l, n, out, sizeof out, err, sizeof err), TML_OK);
}

static tml_status q(const char *s, bool upd, tml_lwm2m_reg_params *p, char *err)
{
    return tml_lwm2m_parse_query(s, strlen(s), upd, p, err, 256);
}

static void test_query(void **state)
{
    tml_lwm2m_reg_params p;
    char err[256];
    (void)state;
    assert_int_equal(q("ep=dev1&lt=60&lwm2m=1.1&b=U", false, &p, err), TML_OK);
    assert_string_equal(p.endpoint, "dev1");
    assert_int_equal(p.lifetime, 60);
    assert_string_equal(p.version, "1.1");
    assert_string_equal(p.binding, "U");
    assert_false(p.queue);

    assert_int_equal(q("ep=urn:imei:12345&Q&et=x", false, &p, err), TML_OK);
    assert_int_equal(p.lifetime, TML_LWM2M_DEFAULT_LIFETIME);
    assert_string_equal(p.version, "1.0");
    assert_string_equal(p.binding, "U");
    assert_true(p.queue);

    assert_int_equal(q("b=UQ", true, &p, err), TML_OK);
    assert_true(p.queue);
    assert_false(p.has_lifetime);
    assert_int_equal(q("", true, &p, err), TML_OK);
    assert_int_equal(q("lt=300&ep=ignored", true, &p, err), TML_OK);
    assert_int_equal(p.lifetime, 300);
    assert_false(p.has_endpoint);

    assert_int_equal(q("lt=60", false, &p, err), TML_ERR_FORMAT);
    assert_non_null(strstr(err, "'ep'"));
    assert_int_equal(q("ep=", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a/b", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&ep=b", false, &p, err), TML_ERR_FORMAT);
    assert_non_null(strstr(err, "duplicate parameter 'ep'"));
    assert_int_equal(q("ep=a&lt=0", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&lt=-5", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&lt=99999999999", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&lt=6x", false, &p, err), TML_ERR_FORMAT);
    assert_non_null(strstr(err, "lifetime '6x'"));
    assert_int_equal(q("ep=a&b=X", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&b=UU", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&lwm2m=2.0", false, &p, err), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "'2.0'"));
    assert_int_equal(q("ep=a&=x", false, &p, err), TML_ERR_FORMAT);
    assert_int_equal(q("ep=a&Q=1", false, &p, err), TML_ERR_FORMAT);
    {
        char longq[200];
        memset(longq, 'x', sizeof longq);
        memcpy(longq, "ep=", 3);
        longq[sizeof longq - 1] = 0;
        assert_int_equal(q(longq, false, &p, err), TML_ERR_FORMAT);
        assert_non_null(strstr(err, "1 to 127"));
    }
    /* control bytes never reach the message */
    assert_int_equal(tml_lwm2m_parse_query("ep=a\n", 5, false, &p, err, sizeof err),
                     TML_ERR_FORMAT);
    assert_null(strchr(err, '\n'));
}

static int count_rec(void *ctx, const tml_senml_rec *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static void test_senml(void **state)
{
    static const char *bad[] = {
        "{}",                                   /* not an array */
        "[1]",                                  /* record not an object */
        "[{\"n\":\"/3/0/0\"}]",                 /* no value */
        "[{\"n\":\"/3/0/0\",\"v\":1,\"vs\":\"a\"}]", /* two values */
        "[{\"v\":1}]",                          /* no name */
        "[{\"n\":5,\"v\":1}]",                  /* name not a string */
        "[{\"n\":\"x\",\"v\":\"1\"}]",          /* v not a number */
        "[{\"n\":\"x\",\"vb\":1}]",             /* vb not a bool */
        "[{\"bn\":7,\"n\":\"x\",\"v\":1}]",     /* bn not a string */
        "[{\"n\":\"x\",\"v\":1}",               /* truncated */
    };
    char err[256];
    int n = 0;
    size_t i;
    (void)state;
    assert_int_equal(tml_senml_json_parse("[{\"bn\":\"/3/0/\",\"n\":\"0\",\"vs\":\"acme\"},"
                                          "{\"n\":\"9\",\"v\":87},{\"n\":\"x\",\"vb\":true},"
                                          "{\"bn\":\"/5/0/\",\"n\":\"3\",\"v\":0}]",
                                          102, count_rec, &n, err, sizeof err),
                     TML_OK);
    assert_int_equal(n, 4);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tml_senml_json_parse(bad[i], strlen(bad[i]), count_rec, &n, err, sizeof err) !=
            TML_ERR_FORMAT)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err, "senml"));
    }
}

static void test_node_info(void **state)
{
    const char *p = "[{\"bn\":\"/32769/0/\",\"n\":\"0\",\"vs\":\"cortex-m4\"},"
                    "{\"n\":\"1\",\"v\":25000000},{\"n\":\"2\",\"v\":65536},"
                    "{\"n\":\"3\",\"v\":262144},{\"n\":\"4\",\"vs\":\"fpu,dsp\"},"
                    "{\"n\":\"5\",\"vs\":\"mps2\"},{\"n\":\"6\",\"vs\":\"0.1.0\"},"
                    "{\"n\":\"7\",\"vs\":\"conv2d_s8,relu_s8\"},{\"n\":\"8\",\"vs\":\"mnist\"},"
                    "{\"n\":\"9\",\"vs\":\"ab12\"},{\"n\":\"12\",\"vs\":\"cortex-m4\"},"
                    "{\"n\":\"99\",\"vs\":\"ignored\"},{\"bn\":\"/3/0/\",\"n\":\"0\",\"vs\":\"x\"}]";
    char *json = NULL, model[64], sha[65], err[256];
    (void)state;
    assert_int_equal(tml_lwm2m_node_info(p, strlen(p), &json, model, sizeof model, sha, sizeof sha,
                                         err, sizeof err),
                     TML_OK);
    assert_string_equal(json, "{\"core\":\"cortex-m4\",\"clock_hz\":25000000,\"ram\":65536,"
                              "\"flash\":262144,\"accelerators\":\"fpu,dsp\",\"rtos\":\"mps2\","
                              "\"runtime_version\":\"0.1.0\",\"kernels\":\"conv2d_s8,relu_s8\","
                              "\"target\":\"cortex-m4\"}");
    assert_string_equal(model, "mnist");
    assert_string_equal(sha, "ab12");
    free(json);
    p = "[{\"n\":\"/32769/0/2\",\"vs\":\"lots\"}]";
    assert_int_equal(tml_lwm2m_node_info(p, strlen(p), &json, model, sizeof model, sha, sizeof sha,
                                         err, sizeof err),
                     TML_ERR_FORMAT);
    assert_null(json);
    assert_non_null(strstr(err, "'/32769/0/2' must be a non-negative number"));
    p = "[{\"n\":\"/32769/0/0\",\"v\":4}]";
    assert_int_equal(tml_lwm2m_node_info(p, strlen(p), &json, model, sizeof model, sha, sizeof sha,
                                         err, sizeof err),
                     TML_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linkformat_ok),   cmocka_unit_test(test_linkformat_bad),
        cmocka_unit_test(test_linkformat_bounds), cmocka_unit_test(test_objects),
        cmocka_unit_test(test_query),          cmocka_unit_test(test_senml),
        cmocka_unit_test(test_node_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
