/*
 * test_ed25519.c - settle's own Ed25519 verification (engine/ed25519.c,
 * behind sign_verify and sign_verify_batch): RFC 8032's vectors; the same
 * answer as OpenSSL's verification on thousands of signatures OpenSSL
 * made and on every one-bit change of them (the rules differ only for an
 * R or key with a small-order part, which no honest signer makes:
 * engine/ed25519.h); batches that hold one bad
 * signature anywhere refused, and batches of good ones accepted, whatever
 * their keys; what the rule refuses on purpose (S not below L,
 * non-canonical points, keys of small order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../engine/ed25519.h"
#include "settle/sign.h"

static void s_unhex(const char *hex, uint8_t *out, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned byte;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
        out[i] = (uint8_t)byte;
    }
}

/* OpenSSL's own answer. */
static bool s_openssl_verifies(const uint8_t public_key[32], const void *message, size_t size,
                               const uint8_t signature[64])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, 32);
    if (!pkey)
        return false;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    assert_non_null(context);
    bool ok = EVP_DigestVerifyInit(context, NULL, NULL, NULL, pkey) == 1 &&
              EVP_DigestVerify(context, signature, 64, message, size) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(pkey);
    return ok;
}

/* A small deterministic generator for the test's messages. */
static uint64_t s_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* RFC 8032 7.1, tests 1 to 3: public key, message, signature. */
static void test_ed25519_verifies_the_rfc8032_vectors(void **state)
{
    static const char *const vectors[][3] = {
        {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
         "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
         "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
         "984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    };
    for (size_t v = 0; v < 3; v++) {
        uint8_t key[32], message[2], signature[64];
        size_t size = strlen(vectors[v][1]) / 2;
        s_unhex(vectors[v][0], key, 32);
        s_unhex(vectors[v][1], message, size);
        s_unhex(vectors[v][2], signature, 64);
        assert_int_equal(sign_verify(key, message, size, signature), SETTLE_OK);
        signature[0] ^= 0x40;
        assert_int_equal(sign_verify(key, message, size, signature), SETTLE_ERR_SIGNATURE);
    }
}

#define S_KEYS     4
#define S_MESSAGES 96

typedef struct {
    sign_key_t *keys[S_KEYS];
    uint8_t public_keys[S_KEYS][32];
    uint8_t messages[S_MESSAGES][48];
    size_t sizes[S_MESSAGES];
    uint8_t signatures[S_MESSAGES][64];
    sign_item_t items[S_MESSAGES];
} s_signed_t;

/* S_MESSAGES messages of 0..47 bytes, signed by OpenSSL with one of
 * S_KEYS keys each (key k for message i when i % S_KEYS == k, or all by
 * key 0 when one_key). */
static s_signed_t *s_signed(int one_key)
{
    s_signed_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    uint64_t state = 7;
    for (int k = 0; k < S_KEYS; k++) {
        assert_int_equal(sign_key_generate(&s->keys[k]), SETTLE_OK);
        sign_key_public(s->keys[k], s->public_keys[k]);
    }
    for (int i = 0; i < S_MESSAGES; i++) {
        int k = one_key ? 0 : i % S_KEYS;
        s->sizes[i] = (size_t)(s_next(&state) % 48);
        for (size_t b = 0; b < s->sizes[i]; b++)
            s->messages[i][b] = (uint8_t)s_next(&state);
        assert_int_equal(sign_message(s->keys[k], s->messages[i], s->sizes[i], s->signatures[i]),
                         SETTLE_OK);
        s->items[i] = (sign_item_t){s->public_keys[k], s->messages[i], s->sizes[i],
                                    s->signatures[i]};
    }
    return s;
}

static void s_signed_free(s_signed_t *s)
{
    for (int k = 0; k < S_KEYS; k++)
        sign_key_destroy(&s->keys[k]);
    free(s);
}

/* Every signature OpenSSL made verifies; every one-bit change of the
 * signature, the key or the message gets OpenSSL's answer (refused). */
static void test_ed25519_agrees_with_openssl_on_every_bit_changed(void **state)
{
    s_signed_t *s = s_signed(false);
    for (int i = 0; i < S_MESSAGES; i += 8) {
        sign_item_t *item = &s->items[i];
        assert_int_equal(sign_verify(item->public_key, item->message, item->size,
                                     item->signature),
                         SETTLE_OK);
        uint8_t signature[64], key[32], message[48];
        memcpy(signature, item->signature, 64);
        memcpy(key, item->public_key, 32);
        memcpy(message, item->message, item->size);
        for (int bit = 0; bit < 512; bit++) {
            signature[bit / 8] ^= (uint8_t)(1u << bit % 8);
            bool theirs = s_openssl_verifies(key, message, item->size, signature);
            int ours = sign_verify(key, message, item->size, signature);
            assert_int_equal(ours, theirs ? SETTLE_OK : SETTLE_ERR_SIGNATURE);
            assert_false(theirs);
            signature[bit / 8] ^= (uint8_t)(1u << bit % 8);
        }
        for (int bit = 0; bit < 256; bit += 3) {
            key[bit / 8] ^= (uint8_t)(1u << bit % 8);
            assert_false(s_openssl_verifies(key, message, item->size, signature));
            assert_int_equal(sign_verify(key, message, item->size, signature),
                             SETTLE_ERR_SIGNATURE);
            key[bit / 8] ^= (uint8_t)(1u << bit % 8);
        }
        for (size_t bit = 0; bit < item->size * 8; bit += 5) {
            message[bit / 8] ^= (uint8_t)(1u << bit % 8);
            assert_int_equal(sign_verify(key, message, item->size, signature),
                             SETTLE_ERR_SIGNATURE);
            message[bit / 8] ^= (uint8_t)(1u << bit % 8);
        }
    }
    s_signed_free(s);
}

/* Good batches of every length up to past one chunk pass, with one key
 * or several; one bad signature anywhere fails the batch, and checking
 * one by one finds exactly that one. */
static void test_ed25519_batches_pass_whole_and_fail_on_any_bad_one(void **state)
{
    for (int one_key = 0; one_key < 2; one_key++) {
        s_signed_t *s = s_signed(one_key);
        static const size_t lengths[] = {0, 1, 2, 3, 17, 64, 65, S_MESSAGES};
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++)
            assert_int_equal(sign_verify_batch(s->items, lengths[l]), SETTLE_OK);
        for (int bad = 0; bad < S_MESSAGES; bad += 13) {
            s->signatures[bad][bad % 64] ^= 0x10;
            assert_int_equal(sign_verify_batch(s->items, S_MESSAGES), SETTLE_ERR_SIGNATURE);
            for (int i = 0; i < S_MESSAGES; i++) {
                const sign_item_t *item = &s->items[i];
                assert_int_equal(
                    sign_verify(item->public_key, item->message, item->size, item->signature),
                    i == bad ? SETTLE_ERR_SIGNATURE : SETTLE_OK);
            }
            s->signatures[bad][bad % 64] ^= 0x10;
        }
        /* two signatures swapped between messages: each is a real
         * signature, of something else */
        sign_item_t swapped[2] = {s->items[0], s->items[4]};
        swapped[0].signature = s->items[4].signature;
        swapped[1].signature = s->items[0].signature;
        assert_int_equal(sign_verify_batch(swapped, 2), SETTLE_ERR_SIGNATURE);
        s_signed_free(s);
    }
}

/* S + L is the same S modulo L: refused (RFC 8032 5.1.7), like OpenSSL. */
static void test_ed25519_refuses_s_not_below_the_order(void **state)
{
    static const uint8_t order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                      0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                      0,    0,    0,    0,    0,    0,    0,    0,
                                      0,    0,    0,    0,    0,    0,    0,    0x10};
    s_signed_t *s = s_signed(true);
    for (int i = 0; i < 8; i++) {
        uint8_t signature[64];
        memcpy(signature, s->signatures[i], 64);
        unsigned carry = 0;
        for (int b = 0; b < 32; b++) {
            unsigned sum = signature[32 + b] + order[b] + carry;
            signature[32 + b] = (uint8_t)sum;
            carry = sum >> 8;
        }
        assert_int_equal(carry, 0); /* S + L < 2^254 */
        assert_false(s_openssl_verifies(s->public_keys[0], s->messages[i], s->sizes[i], signature));
        assert_int_equal(sign_verify(s->public_keys[0], s->messages[i], s->sizes[i], signature),
                         SETTLE_ERR_SIGNATURE);
    }
    s_signed_free(s);
}

/* Keys of small order (anyone could sign for them) and encodings that
 * are not canonical or not points are refused, alone and in a batch. */
static void test_ed25519_refuses_small_order_keys_and_bad_points(void **state)
{
    uint8_t small[4][32] = {{1}, {0}, {0}, {0}};
    memset(small[1], 0xff, 32); /* y = p - 1: the point of order 2 */
    small[1][0] = 0xec;
    small[1][31] = 0x7f;
    small[3][31] = 0x80; /* y = 0 with x's sign: a point of order 4 */
    s_signed_t *s = s_signed(true);
    for (int k = 0; k < 4; k++) {
        sign_item_t item = s->items[0];
        item.public_key = small[k];
        assert_int_equal(sign_verify_batch(&item, 1), SETTLE_ERR_SIGNATURE);
    }
    /* R = 2^255 - 1 with the sign bit: y past p, not canonical */
    uint8_t signature[64];
    memcpy(signature, s->signatures[0], 64);
    memset(signature, 0xff, 32);
    assert_int_equal(sign_verify(s->public_keys[0], s->messages[0], s->sizes[0], signature),
                     SETTLE_ERR_SIGNATURE);
    /* y = 2: not on the curve (x^2 would have to be 3 / (4d + 1)) */
    uint8_t two[32] = {2};
    sign_item_t item = s->items[0];
    item.public_key = two;
    assert_false(s_openssl_verifies(two, item.message, item.size, item.signature));
    assert_int_equal(sign_verify_batch(&item, 1), SETTLE_ERR_SIGNATURE);
    s_signed_free(s);
}

/* Where the cofactored rule and OpenSSL's may differ: points with a
 * small-order part.  The base point and real keys are torsion-free; the
 * small-order points are not; a non-point is not a point. */
static void test_ed25519_tells_torsion_free_points(void **state)
{
    uint8_t base[32], key[32], two[32] = {2};
    memset(base, 0x66, sizeof base);
    base[0] = 0x58;
    assert_true(ed25519_torsion_free(base));
    sign_key_t *k = NULL;
    assert_int_equal(sign_key_generate(&k), SETTLE_OK);
    sign_key_public(k, key);
    assert_true(ed25519_torsion_free(key));
    sign_key_destroy(&k);
    uint8_t identity[32] = {1}, small[2][32] = {{0}, {0}};
    assert_true(ed25519_torsion_free(identity)); /* order 1 divides L */
    memset(small[0], 0xff, 32); /* y = p - 1: order 2 */
    small[0][0] = 0xec;
    small[0][31] = 0x7f;
    small[1][31] = 0x80; /* y = 0: order 4 */
    for (int i = 0; i < 2; i++)
        assert_false(ed25519_torsion_free(small[i]));
    assert_false(ed25519_torsion_free(two));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_verifies_the_rfc8032_vectors),
        cmocka_unit_test(test_ed25519_agrees_with_openssl_on_every_bit_changed),
        cmocka_unit_test(test_ed25519_batches_pass_whole_and_fail_on_any_bad_one),
        cmocka_unit_test(test_ed25519_refuses_s_not_below_the_order),
        cmocka_unit_test(test_ed25519_refuses_small_order_keys_and_bad_points),
        cmocka_unit_test(test_ed25519_tells_torsion_free_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
