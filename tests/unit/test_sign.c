/*
 * test_sign.c - Ed25519 keys, key files and signatures; Merkle roots and
 * inclusion proofs.
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

#include <openssl/evp.h>

#include "settle/hash.h"
#include "settle/merkle.h"
#include "settle/sign.h"

static void s_unhex(const char *hex, uint8_t *out, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned byte;
        sscanf(hex + 2 * i, "%2x", &byte);
        out[i] = (uint8_t)byte;
    }
}

/* RFC 8032, section 7.1, TEST 1 (the empty message). */
static void test_sign_matches_the_rfc8032_test_vector(void **state)
{
    uint8_t seed[32], signature[64], expected[64];
    s_unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    s_unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
            "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            expected, 64);
    sign_key_t *key = NULL;
    assert_int_equal(sign_key_from_seed(seed, &key), SETTLE_OK);
    char public_hex[SIGN_PUBLIC_KEY_HEX_SIZE];
    sign_key_public_hex(key, public_hex);
    assert_string_equal(public_hex,
                        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assert_int_equal(sign_message(key, "", 0, signature), SETTLE_OK);
    assert_memory_equal(signature, expected, 64);
    uint8_t public_key[32];
    sign_key_public(key, public_key);
    assert_int_equal(sign_verify(public_key, "", 0, signature), SETTLE_OK);
    sign_key_destroy(&key);
    assert_null(key);
    sign_key_destroy(&key);
}

static void test_sign_verify_refuses_a_changed_message_signature_or_key(void **state)
{
    sign_key_t *key = NULL, *other = NULL;
    assert_int_equal(sign_key_generate(&key), SETTLE_OK);
    assert_int_equal(sign_key_generate(&other), SETTLE_OK);
    uint8_t public_key[32], other_public[32], signature[64];
    sign_key_public(key, public_key);
    sign_key_public(other, other_public);
    const char message[] = "batch root 8a07...";
    assert_int_equal(sign_message(key, message, sizeof message, signature), SETTLE_OK);
    assert_int_equal(sign_verify(public_key, message, sizeof message, signature), SETTLE_OK);
    assert_int_equal(sign_verify(public_key, message, sizeof message - 1, signature),
                     SETTLE_ERR_SIGNATURE);
    assert_int_equal(sign_verify(other_public, message, sizeof message, signature),
                     SETTLE_ERR_SIGNATURE);
    for (int i = 0; i < 64; i += 7) {
        signature[i] ^= 0x01;
        assert_int_equal(sign_verify(public_key, message, sizeof message, signature),
                         SETTLE_ERR_SIGNATURE);
        signature[i] ^= 0x01;
    }
    sign_key_destroy(&key);
    sign_key_destroy(&other);
}

static void test_sign_public_key_parse_takes_64_hex_digits_only(void **state)
{
    uint8_t key[32] = {0};
    const char *good = "D75A980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    assert_int_equal(sign_public_key_parse(good, 64, key), SETTLE_OK);
    assert_int_equal(key[0], 0xd7);
    assert_int_equal(key[31], 0x1a);
    assert_int_equal(sign_public_key_parse(good, 63, key), SETTLE_ERR_SYNTAX);
    assert_int_equal(
        sign_public_key_parse("g75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                              64, key),
        SETTLE_ERR_SYNTAX);
}

static void test_sign_key_files_are_private_never_overwritten_and_load_back(void **state)
{
    char dir[] = "/tmp/settle-test-sign-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], text[512];
    snprintf(path, sizeof path, "%s/payer.key", dir);
    sign_key_t *key = NULL, *loaded = NULL;
    assert_int_equal(sign_key_generate(&key), SETTLE_OK);
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(sign_key_save(key, path, &error), SETTLE_OK);
    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    assert_int_equal(sign_key_save(key, path, &error), SETTLE_ERR_EXISTS);
    settle_error_format(&error, text, sizeof text);
    assert_non_null(strstr(text, "payer.key: a file is already there; settle never overwrites"));
    assert_int_equal(sign_key_load(path, &loaded, &error), SETTLE_OK);
    char a[65], b[65];
    sign_key_public_hex(key, a);
    sign_key_public_hex(loaded, b);
    assert_string_equal(a, b);
    sign_key_destroy(&loaded);

    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(sign_key_load(path, &loaded, &error), SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "mode 0644"));
    assert_null(loaded);

    char junk[256];
    snprintf(junk, sizeof junk, "%s/junk.key", dir);
    FILE *file = fopen(junk, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", file);
    fclose(file);
    chmod(junk, 0600);
    settle_error_clear(&error);
    assert_int_equal(sign_key_load(junk, &loaded, &error), SETTLE_ERR_SYNTAX);
    settle_error_format(&error, text, sizeof text);
    assert_non_null(strstr(text, "junk.key: not a settle key; expected an Ed25519 private key"));
    unlink(junk);
    unlink(path);
    rmdir(dir);
    sign_key_destroy(&key);
}

/* The certificate-transparency test leaves and roots (RFC 6962 tree shape). */
static const char *const s_leaves_hex[8] = {"",
                                            "00",
                                            "10",
                                            "2021",
                                            "3031",
                                            "40414243",
                                            "5051525354555657",
                                            "606162636465666768696a6b6c6d6e6f"};

static void s_leaf_hashes(uint8_t (*leaves)[32], size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t data[16];
        size_t size = strlen(s_leaves_hex[i]) / 2;
        s_unhex(s_leaves_hex[i], data, size);
        assert_int_equal(merkle_leaf_hash(data, size, leaves[i]), SETTLE_OK);
    }
}

static void test_merkle_roots_match_the_known_vectors(void **state)
{
    static const char *const roots[8] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
    uint8_t leaves[8][32], root[32];
    s_leaf_hashes(leaves, 8);
    for (size_t n = 1; n <= 8; n++) {
        char hex[65];
        assert_int_equal(merkle_root((const uint8_t(*)[32])leaves, n, root), SETTLE_OK);
        hash_to_hex(root, 32, hex);
        assert_string_equal(hex, roots[n - 1]);
    }
    assert_int_equal(merkle_root((const uint8_t(*)[32])leaves, 0, root), SETTLE_ERR_INVALID);
}

static void test_merkle_every_path_verifies_and_no_wrong_one_does(void **state)
{
    enum { MAX = 37 };
    uint8_t leaves[MAX][32], root[32], path[MERKLE_PATH_MAX][32];
    for (size_t i = 0; i < MAX; i++)
        merkle_leaf_hash(&i, sizeof i, leaves[i]);
    for (size_t count = 1; count <= MAX; count++) {
        const uint8_t(*all)[32] = (const uint8_t(*)[32])leaves;
        assert_int_equal(merkle_root(all, count, root), SETTLE_OK);
        for (size_t index = 0; index < count; index++) {
            size_t length = 99;
            assert_int_equal(merkle_path(all, count, index, path, &length), SETTLE_OK);
            assert_true(length <= 6);
            const uint8_t(*proof)[32] = (const uint8_t(*)[32])path;
            assert_true(merkle_verify(leaves[index], index, count, proof, length, root));
            if (count > 1) {
                assert_false(
                    merkle_verify(leaves[(index + 1) % count], index, count, proof, length, root));
                assert_false(
                    merkle_verify(leaves[index], (index + 1) % count, count, proof, length, root));
                path[0][0] ^= 1;
                assert_false(merkle_verify(leaves[index], index, count, proof, length, root));
            }
            assert_false(merkle_verify(leaves[index], index, count + 1, proof, length, root));
        }
        size_t length;
        assert_int_equal(merkle_path(all, count, count, path, &length), SETTLE_ERR_RANGE);
    }
}

/* X25519 (RFC 7748) through OpenSSL, for checking the converted keys. */
static void s_x25519(const uint8_t secret[32], const uint8_t peer_public[32], uint8_t shared[32])
{
    EVP_PKEY *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_public, 32);
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(mine, NULL);
    size_t size = 32;
    assert_non_null(context);
    assert_int_equal(EVP_PKEY_derive_init(context), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(context, peer), 1);
    assert_int_equal(EVP_PKEY_derive(context, shared, &size), 1);
    assert_int_equal(size, 32);
    EVP_PKEY_CTX_free(context);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
}

/* libsodium's test/default/ed25519_convert: the seed 421151a4... gives
 * this X25519 pair; the public converted from the Ed25519 public key is the
 * one the converted secret gives. */
static void test_sign_curve_conversion_matches_libsodiums_vector(void **state)
{
    uint8_t seed[32], ed_public[32], curve_public[32], curve_secret[32], from_public[32];
    s_unhex("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee", seed, 32);
    sign_key_t *key = NULL;
    assert_int_equal(sign_key_from_seed(seed, &key), SETTLE_OK);
    assert_int_equal(sign_key_curve(key, curve_public, curve_secret), SETTLE_OK);
    char hex[65];
    hash_to_hex(curve_public, 32, hex);
    assert_string_equal(hex, "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50");
    hash_to_hex(curve_secret, 32, hex);
    assert_string_equal(hex, "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166");
    sign_key_public(key, ed_public);
    assert_int_equal(sign_public_key_to_curve(ed_public, from_public), SETTLE_OK);
    assert_memory_equal(from_public, curve_public, 32);
    sign_key_destroy(&key);
}

/* For fresh keys: the two conversions agree, and the two sides of a
 * Diffie-Hellman exchange between converted keys compute the same secret. */
static void test_sign_converted_keys_agree_on_a_shared_secret(void **state)
{
    for (int round = 0; round < 16; round++) {
        sign_key_t *a = NULL, *b = NULL;
        assert_int_equal(sign_key_generate(&a), SETTLE_OK);
        assert_int_equal(sign_key_generate(&b), SETTLE_OK);
        uint8_t a_ed[32], b_ed[32], a_public[32], a_secret[32], b_public[32], b_secret[32];
        uint8_t a_converted[32], b_converted[32], ab[32], ba[32];
        sign_key_public(a, a_ed);
        sign_key_public(b, b_ed);
        assert_int_equal(sign_key_curve(a, a_public, a_secret), SETTLE_OK);
        assert_int_equal(sign_key_curve(b, b_public, b_secret), SETTLE_OK);
        assert_int_equal(sign_public_key_to_curve(a_ed, a_converted), SETTLE_OK);
        assert_int_equal(sign_public_key_to_curve(b_ed, b_converted), SETTLE_OK);
        assert_memory_equal(a_converted, a_public, 32);
        assert_memory_equal(b_converted, b_public, 32);
        s_x25519(a_secret, b_converted, ab);
        s_x25519(b_secret, a_converted, ba);
        assert_memory_equal(ab, ba, 32);
        assert_memory_not_equal(a_public, b_public, 32);
        sign_key_destroy(&a);
        sign_key_destroy(&b);
    }
}

/* y = 1 (the neutral point) has no u; a y at or past the prime is not
 * canonical: both refused, never a made-up key. */
static void test_sign_curve_conversion_refuses_keys_without_a_u(void **state)
{
    uint8_t one[32] = {1}, past[32], out[32];
    memset(past, 0xff, sizeof past);
    past[31] = 0x7f; /* 2^255 - 1 > p */
    assert_int_equal(sign_public_key_to_curve(one, out), SETTLE_ERR_SIGNATURE);
    assert_int_equal(sign_public_key_to_curve(past, out), SETTLE_ERR_SIGNATURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_the_rfc8032_test_vector),
        cmocka_unit_test(test_sign_verify_refuses_a_changed_message_signature_or_key),
        cmocka_unit_test(test_sign_public_key_parse_takes_64_hex_digits_only),
        cmocka_unit_test(test_sign_key_files_are_private_never_overwritten_and_load_back),
        cmocka_unit_test(test_sign_curve_conversion_matches_libsodiums_vector),
        cmocka_unit_test(test_sign_converted_keys_agree_on_a_shared_secret),
        cmocka_unit_test(test_sign_curve_conversion_refuses_keys_without_a_u),
        cmocka_unit_test(test_merkle_roots_match_the_known_vectors),
        cmocka_unit_test(test_merkle_every_path_verifies_and_no_wrong_one_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
