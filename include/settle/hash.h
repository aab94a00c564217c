/*
 * hash.h - SHA-256 through OpenSSL's EVP interface, and hex text.
 */
#ifndef SETTLE_HASH_H
#define SETTLE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SHA256_SIZE     32
#define HASH_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

/* SHA-256 of data[0..size) into digest_out.  SETTLE_ERR_CRYPTO if OpenSSL fails. */
int hash_sha256(const void *data, size_t size, uint8_t digest_out[HASH_SHA256_SIZE]);

/* Writes bytes as lower-case hex with a NUL; text must hold 2 * size + 1 bytes. */
void hash_to_hex(const uint8_t *bytes, size_t size, char *text);

#endif
