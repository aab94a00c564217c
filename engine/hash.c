/*
 * hash.c - SHA-256 through OpenSSL EVP.
 */
#include "settle/hash.h"

#include <openssl/evp.h>

#include "settle/error.h"

int hash_sha256(const void *data, size_t size, uint8_t digest_out[HASH_SHA256_SIZE])
{
    unsigned int length = 0;
    if (EVP_Digest(data, size, digest_out, &length, EVP_sha256(), NULL) != 1 ||
        length != HASH_SHA256_SIZE)
        return SETTLE_ERR_CRYPTO;
    return SETTLE_OK;
}

void hash_to_hex(const uint8_t *bytes, size_t size, char *text)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        text[2 * i] = digits[bytes[i] >> 4];
        text[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    text[2 * size] = '\0';
}
