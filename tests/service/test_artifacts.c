/*
 * test_artifacts.c - content-addressed artifact files: put/read round trip, idempotent put,
 * a flipped byte detected on read, size limit, invalid names refused (no path traversal),
 * remove; Ed25519 signing key creation/reload and signatures (tampered signature, other
 * artifact, other key all rejected).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tml/service.h"

static void test_roundtrip(void **state)
{
    char base[] = "/tmp/tml_art_XXXXXX", dir[256], sha[TML_SHA_HEX], sha2[TML_SHA_HEX],
         path[512], err[256], cmd[300];
    uint8_t *data;
    size_t len;
    struct stat st;
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/artifacts", base);

    assert_int_equal(tml_artifact_put(dir, "hello", 5, sha, err, sizeof err), TML_OK);
    /* sha256("hello") */
    assert_string_equal(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_true(tml_sha_hex_valid(sha));
    assert_int_equal(tml_artifact_put(dir, "hello", 5, sha2, err, sizeof err), TML_OK);
    assert_string_equal(sha, sha2);
    assert_int_equal(tml_artifact_path(dir, sha, path, sizeof path), TML_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(tml_artifact_read(dir, sha, 100, &data, &len, err, sizeof err), TML_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    assert_int_equal(tml_artifact_read(dir, sha, 4, &data, &len, err, sizeof err), TML_ERR_FIT);

    /* flip one byte */
    f = fopen(path, "r+b");
    assert_non_null(f);
    fputc('j', f);
    fclose(f);
    assert_int_equal(tml_artifact_read(dir, sha, 100, &data, &len, err, sizeof err),
                     TML_ERR_VERIFY);
    assert_null(data);
    assert_non_null(strstr(err, "does not match"));
    assert_int_equal(tml_artifact_verify(dir, sha, err, sizeof err), TML_ERR_VERIFY);
    /* a put of the right content repairs it */
    assert_int_equal(tml_artifact_put(dir, "hello", 5, sha2, err, sizeof err), TML_OK);
    assert_int_equal(tml_artifact_verify(dir, sha, err, sizeof err), TML_OK);

    /* names that are not digests never reach the file system */
    assert_false(tml_sha_hex_valid("../../etc/passwd"));
    assert_false(tml_sha_hex_valid("2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"));
    assert_int_equal(tml_artifact_read(dir, "../x", 100, &data, &len, err, sizeof err),
                     TML_ERR_ARG);
    assert_int_equal(tml_artifact_read(dir, "0000000000000000000000000000000000000000000000000000000000000000",
                                       100, &data, &len, err, sizeof err),
                     TML_ERR_NOT_FOUND);

    assert_int_equal(tml_artifact_remove(dir, sha, err, sizeof err), TML_OK);
    assert_int_equal(tml_artifact_remove(dir, sha, err, sizeof err), TML_OK);
    assert_int_equal(tml_artifact_verify(dir, sha, err, sizeof err), TML_ERR_NOT_FOUND);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

static void test_signing(void **state)
{
    char base[] = "/tmp/tml_sig_XXXXXX", err[256], cmd[300], sha[TML_SHA_HEX];
    uint8_t sk[TML_SIGN_SK_BYTES], pk[TML_SIGN_PK_BYTES], sk2[TML_SIGN_SK_BYTES],
        pk2[TML_SIGN_PK_BYTES], sig[TML_SIG_BYTES];
    bool created;
    (void)state;
    assert_non_null(mkdtemp(base));
    assert_int_equal(tml_signing_key_load_or_create(base, sk, pk, &created, err, sizeof err),
                     TML_OK);
    assert_true(created);
    assert_int_equal(tml_signing_key_load_or_create(base, sk2, pk2, &created, err, sizeof err),
                     TML_OK);
    assert_false(created);
    assert_memory_equal(pk, pk2, sizeof pk);
    snprintf(cmd, sizeof cmd, "test \"$(stat -c %%a '%s/signing.key')\" = 600", base);
    assert_int_equal(system(cmd), 0);

    tml_sha256_hex("model bytes", 11, sha);
    assert_int_equal(tml_artifact_sign(sk, sha, sig), TML_OK);
    assert_int_equal(tml_artifact_verify_signature(pk, sha, sig), TML_OK);
    sig[10] ^= 1; /* a flipped bit in the signature */
    assert_int_equal(tml_artifact_verify_signature(pk, sha, sig), TML_ERR_VERIFY);
    sig[10] ^= 1;
    sha[0] = sha[0] == 'a' ? 'b' : 'a'; /* another artifact */
    assert_int_equal(tml_artifact_verify_signature(pk, sha, sig), TML_ERR_VERIFY);
    assert_int_equal(tml_artifact_sign(sk, "xyz", sig), TML_ERR_ARG);
    pk[0] ^= 1; /* another key */
    tml_sha256_hex("model bytes", 11, sha);
    assert_int_equal(tml_artifact_verify_signature(pk, sha, sig), TML_ERR_VERIFY);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_signing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
