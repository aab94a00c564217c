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

static int s_hex_digit(char c, bool upper_ok)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (upper_ok && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t hash_from_hex(const char *text, size_t length, bool upper_ok, uint8_t *bytes_out)
{
    for (size_t i = 0; i + 1 < length; i += 2) {
        int high = s_hex_digit(text[i], upper_ok), low = s_hex_digit(text[i + 1], upper_ok);
        if (high < 0 || low < 0)
            return i + (high < 0 ? 0 : 1);
        bytes_out[i / 2] = (uint8_t)(high << 4 | low);
    }
    return length;
}
