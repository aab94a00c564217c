/*
 * sign.h - Ed25519 keys and signatures: who a participant is.
 *
 * Every payer, provider, auditor and node is an Ed25519 key pair.  A key
 * file holds the private key as PKCS#8 PEM, written with mode 0600 and never
 * over an existing file; the public key travels as 64 hex digits (the
 * genesis file, the ledger's participant table).  Signing is deterministic
 * (Ed25519 needs no randomness to sign), so the same key and message always
 * give the same signature.
 */
#ifndef SETTLE_SIGN_H
#define SETTLE_SIGN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "settle/error.h"

#define SIGN_PUBLIC_KEY_SIZE     32
#define SIGN_SEED_SIZE           32
#define SIGN_SIGNATURE_SIZE      64
#define SIGN_PUBLIC_KEY_HEX_SIZE 65 /* 64 hex digits and a NUL */
#define SIGN_CURVE_KEY_SIZE      32 /* an X25519 (Curve25519) public or secret key */

/* A key pair; opaque, owned by whoever made it. */
typedef struct sign_key_s sign_key_t;

/* A new key pair from the operating system's randomness. */
int sign_key_generate(sign_key_t **key_out);

/* The key pair whose private key is the 32-byte seed (RFC 8032): for test
 * vectors and for simulations that must make the same keys every run. */
int sign_key_from_seed(const uint8_t seed[SIGN_SEED_SIZE], sign_key_t **key_out);

/* Frees the key (wiping it) and nulls *key_p; safe on NULL and twice. */
void sign_key_destroy(sign_key_t **key_p);

/*
 * Writes the private key to path as PKCS#8 PEM with mode 0600.  Refuses
 * (SETTLE_ERR_EXISTS) when path exists, never replacing a key; SETTLE_ERR_IO
 * when it cannot be written (and removes what it began).  error names path.
 */
int sign_key_save(const sign_key_t *key, const char *path, settle_error_t *error);

/* Reads a private key written by sign_key_save.  SETTLE_ERR_IO when the
 * file cannot be read, SETTLE_ERR_SYNTAX when it is not an Ed25519 private
 * key in PEM; error names the path. */
int sign_key_load(const char *path, sign_key_t **key_out, settle_error_t *error);

/* Private files (keys, the PHI secret): creates path for writing with
 * mode 0600, refusing (SETTLE_ERR_EXISTS) when it exists; or opens it for
 * reading, refusing (SETTLE_ERR_INVALID) when others may read it, what
 * ("the key file") naming it in that message.  error names path. */
int sign_private_create(const char *path, int *fd_out, settle_error_t *error);
int sign_private_open(const char *path, const char *what, FILE **file_out, settle_error_t *error);

/* The 32-byte public key. */
void sign_key_public(const sign_key_t *key, uint8_t public_key_out[SIGN_PUBLIC_KEY_SIZE]);

/* The public key as 64 lower-case hex digits and a NUL. */
void sign_key_public_hex(const sign_key_t *key, char text_out[SIGN_PUBLIC_KEY_HEX_SIZE]);

/* Parses 64 hex digits (either case) into a public key; SETTLE_ERR_SYNTAX otherwise. */
int sign_public_key_parse(const char *text, size_t length,
                          uint8_t public_key_out[SIGN_PUBLIC_KEY_SIZE]);

/* Signs message[0..size) into signature_out.  SETTLE_ERR_CRYPTO if OpenSSL fails. */
int sign_message(const sign_key_t *key, const void *message, size_t size,
                 uint8_t signature_out[SIGN_SIGNATURE_SIZE]);

/*
 * Verification is settle's own (engine/ed25519.c), not OpenSSL's: one
 * rule for a signature alone and in a batch - RFC 8032's cofactored
 * check, with S below L, canonical encodings, and keys of small order
 * refused (ed25519.h has the details) - so that the leader's batched
 * check, apply and an auditor's replay always agree.
 *
 * sign_verify: SETTLE_OK when signature is the public key's signature
 * over the message, SETTLE_ERR_SIGNATURE when it is not (or the public key
 * is not a usable point), SETTLE_ERR_CRYPTO when memory or OpenSSL's hash
 * fails.
 */
int sign_verify(const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE], const void *message, size_t size,
                const uint8_t signature[SIGN_SIGNATURE_SIZE]);

/* One signature to check: the signer's key, the message, the signature. */
typedef struct {
    const uint8_t *public_key; /* SIGN_PUBLIC_KEY_SIZE bytes */
    const void *message;
    size_t size;
    const uint8_t *signature; /* SIGN_SIGNATURE_SIZE bytes */
} sign_item_t;

/*
 * Checks count signatures together, several times faster per signature
 * than one by one when many share a key.  SETTLE_OK when every one
 * verifies (count 0 included), SETTLE_ERR_SIGNATURE when at least one
 * does not - sign_verify each to know which -, SETTLE_ERR_CRYPTO when
 * memory or OpenSSL's hash fails.  The same answer as sign_verify on
 * each, always (the coefficients that combine them are derived from what
 * is checked, so the result is deterministic too).
 */
int sign_verify_batch(const sign_item_t *items, size_t count);

/*
 * The transport's keys (CurveZMQ): the X25519 key pair an Ed25519 key pair
 * stands for, by the standard conversion (libsodium's
 * crypto_sign_ed25519_sk_to_curve25519 and _pk_to_curve25519), so that a
 * participant has one key pair for signing and for its connections.
 *
 * sign_key_curve: the secret is the first 32 bytes of SHA-512(seed),
 * clamped; the public is X25519(secret, 9).  SETTLE_ERR_CRYPTO if OpenSSL
 * fails.  The caller should wipe secret_out after use.
 */
int sign_key_curve(const sign_key_t *key, uint8_t public_out[SIGN_CURVE_KEY_SIZE],
                   uint8_t secret_out[SIGN_CURVE_KEY_SIZE]);

/* The X25519 public key of an Ed25519 public key: u = (1 + y) / (1 - y)
 * mod 2^255 - 19, from the point's y.  SETTLE_ERR_SIGNATURE when y is not
 * below the field's prime or y = 1 (no such u: not a usable key),
 * SETTLE_ERR_CRYPTO if OpenSSL fails.  Equals sign_key_curve's public for
 * the key pair's own public key. */
int sign_public_key_to_curve(const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                             uint8_t curve_out[SIGN_CURVE_KEY_SIZE]);

#endif
