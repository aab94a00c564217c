/*
 * hash.h - SHA-256 through OpenSSL's EVP interface, and hex text.
 */
#ifndef SETTLE_HASH_H
#define SETTLE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_SHA256_SIZE     32
#define HASH_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

/* SHA-256 of data[0..size) into digest_out.  SETTLE_ERR_CRYPTO if OpenSSL fails. */
int hash_sha256(const void *data, size_t size, uint8_t digest_out[HASH_SHA256_SIZE]);

/* Writes bytes as lower-case hex with a NUL; text must hold 2 * size + 1 bytes. */
void hash_to_hex(const uint8_t *bytes, size_t size, char *text);

/* Reads text[0..length) (length even) as hex into bytes_out, length / 2
 * bytes: lower case only, or upper case too when upper_ok.  Returns length
 * when every character is a hex digit, else the index of the first that
 * is not (bytes_out then holds what came before it). */
size_t hash_from_hex(const char *text, size_t length, bool upper_ok, uint8_t *bytes_out);

#endif
