/*
 * test_sha256.c - the device-side SHA-256 (runtime/exec/sha256.c) against the FIPS 180-4
 * example vectors and against libsodium's crypto_hash_sha256 on random data of every length
 * around the block and padding boundaries, fed in random-sized pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "tml/sha256.h"

static void hex(const uint8_t *d, char *out)
{
    int i;
    for (i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect(const char *msg, size_t len, const char *want)
{
    uint8_t d[32];
    char h[65];
    tml_sha256(msg, len, d);
    hex(d, h);
    assert_string_equal(h, want);
}

static void test_fips_vectors(void **state)
{
    (void)state;
    expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
           112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
    tml_sha256_ctx c;
    uint8_t block[1000], d[32];
    char h[65];
    int i;
    (void)state;
    memset(block, 'a', sizeof(block));
    tml_sha256_init(&c);
    for (i = 0; i < 1000; i++)
        tml_sha256_update(&c, block, sizeof(block));
    tml_sha256_final(&c, d);
    hex(d, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_matches_libsodium(void **state)
{
    static uint8_t buf[4096];
    uint8_t mine[32], ref[32];
    size_t len;
    (void)state;
    assert_true(sodium_init() >= 0);
    randombytes_buf(buf, sizeof(buf));
    for (len = 0; len < sizeof(buf); len += (len < 300 ? 1 : 97)) {
        tml_sha256_ctx c;
        size_t pos = 0;
        crypto_hash_sha256(ref, buf, len);
        tml_sha256(buf, len, mine);
        assert_memory_equal(mine, ref, 32);
        /* the same bytes in random pieces */
        tml_sha256_init(&c);
        while (pos < len) {
            size_t n = randombytes_uniform(130);
            if (n > len - pos)
                n = len - pos;
            tml_sha256_update(&c, buf + pos, n);
            pos += n;
        }
        tml_sha256_final(&c, mine);
        assert_memory_equal(mine, ref, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_matches_libsodium),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
