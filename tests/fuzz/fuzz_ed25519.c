/*
 * fuzz_ed25519.c - settle's Ed25519 verification (sign_verify,
 * sign_verify_batch) on arbitrary bytes, against OpenSSL's.
 *
 * The input is a public key (32 bytes), a signature (64) and a message
 * (the rest).  sign_verify must not accept what OpenSSL refuses unless R
 * or the key has a small-order part (the one place the cofactored rule
 * and OpenSSL's differ: engine/ed25519.h); a batch of that signature
 * beside a good one must give the same answer as the signature alone.  Then the message is signed by a fixed key: that must
 * verify, alone and in a batch, and no longer with the signature bit the
 * input's first byte chooses flipped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../engine/ed25519.h"
#include "settle/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_openssl(const uint8_t *key, const uint8_t *message, size_t size,
                     const uint8_t *signature)
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
    if (!pkey)
        return 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = context && EVP_DigestVerifyInit(context, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestVerify(context, signature, 64, message, size) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(pkey);
    return ok;
}

static sign_key_t *s_key(void)
{
    static sign_key_t *key;
    if (!key) {
        uint8_t seed[SIGN_SEED_SIZE];
        memset(seed, 0x5a, sizeof seed);
        if (sign_key_from_seed(seed, &key) != SETTLE_OK)
            abort();
    }
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 96)
        return 0;
    const uint8_t *key = data, *signature = data + 32, *message = data + 96;
    size_t message_size = size - 96;
    int ours = sign_verify(key, message, message_size, signature);
    if (ours == SETTLE_OK && !s_openssl(key, message, message_size, signature) &&
        ed25519_torsion_free(signature) && ed25519_torsion_free(key))
        abort(); /* accepted what OpenSSL refuses, and not for a small-order part */

    uint8_t good_key[32], good[64];
    sign_key_public(s_key(), good_key);
    if (sign_message(s_key(), message, message_size, good) != SETTLE_OK)
        abort();
    sign_item_t items[2] = {{good_key, message, message_size, good},
                            {key, message, message_size, signature}};
    if (sign_verify_batch(items, 2) != ours || sign_verify_batch(items, 1) != SETTLE_OK ||
        sign_verify(good_key, message, message_size, good) != SETTLE_OK)
        abort();
    unsigned bit = data[0] % 512u;
    good[bit / 8] ^= (uint8_t)(1u << bit % 8);
    if (sign_verify(good_key, message, message_size, good) == SETTLE_OK ||
        sign_verify_batch(items, 1) == SETTLE_OK)
        abort();
    return 0;
}
