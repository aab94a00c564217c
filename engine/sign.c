/*
 * sign.c - Ed25519 key pairs, key files and signatures through OpenSSL EVP.
 */
#include "settle/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ed25519.h"
#include "settle/alloc.h"
#include "settle/hash.h"

struct sign_key_s {
    EVP_PKEY *pkey;
};

static int s_wrap(EVP_PKEY *pkey, sign_key_t **key_out)
{
    if (!pkey)
        return SETTLE_ERR_CRYPTO;
    sign_key_t *key = settle_malloc(sizeof *key);
    if (!key) {
        EVP_PKEY_free(pkey);
        return SETTLE_ERR_NOMEM;
    }
    key->pkey = pkey;
    *key_out = key;
    return SETTLE_OK;
}

int sign_key_generate(sign_key_t **key_out)
{
    return s_wrap(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), key_out);
}

int sign_key_from_seed(const uint8_t seed[SIGN_SEED_SIZE], sign_key_t **key_out)
{
    return s_wrap(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SIGN_SEED_SIZE),
                  key_out);
}

void sign_key_destroy(sign_key_t **key_p)
{
    if (!key_p || !*key_p)
        return;
    EVP_PKEY_free((*key_p)->pkey); /* OpenSSL clears private key material */
    settle_free(*key_p);
    *key_p = NULL;
}

int sign_private_create(const char *path, int *fd_out, settle_error_t *error)
{
    settle_error_file(error, path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return settle_error_set(error, SETTLE_ERR_EXISTS,
                                    "a file is already there; settle never overwrites a key");
        return settle_error_set(error, SETTLE_ERR_IO, "cannot create: %s", strerror(errno));
    }
    *fd_out = fd;
    return SETTLE_OK;
}

int sign_private_open(const char *path, const char *what, FILE **file_out, settle_error_t *error)
{
    settle_error_file(error, path);
    FILE *file = fopen(path, "r");
    if (!file)
        return settle_error_set(error, SETTLE_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) == 0 && (info.st_mode & 077)) {
        fclose(file);
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "%s can be read by others (mode %04o); chmod 600 it", what,
                                (unsigned)(info.st_mode & 07777));
    }
    *file_out = file;
    return SETTLE_OK;
}

int sign_key_save(const sign_key_t *key, const char *path, settle_error_t *error)
{
    int fd;
    int rc = sign_private_create(path, &fd, error);
    if (rc != SETTLE_OK)
        return rc;
    FILE *file = fdopen(fd, "w");
    int ok = file && fchmod(fd, 0600) == 0 &&
             PEM_write_PrivateKey(file, key->pkey, NULL, NULL, 0, NULL, NULL) == 1;
    if (file)
        ok = (fclose(file) == 0) && ok;
    else
        close(fd);
    if (!ok) {
        unlink(path);
        return settle_error_set(error, SETTLE_ERR_IO, "cannot write the key");
    }
    return SETTLE_OK;
}

int sign_key_load(const char *path, sign_key_t **key_out, settle_error_t *error)
{
    FILE *file;
    int rc = sign_private_open(path, "the key file", &file, error);
    if (rc != SETTLE_OK)
        return rc;
    EVP_PKEY *pkey = PEM_read_PrivateKey(file, NULL, NULL, NULL);
    fclose(file);
    if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        settle_error_expect(error, "an Ed25519 private key in PEM, as `settle keygen` writes");
        return settle_error_set(error, SETTLE_ERR_SYNTAX, "not a settle key");
    }
    return s_wrap(pkey, key_out);
}

void sign_key_public(const sign_key_t *key, uint8_t public_key_out[SIGN_PUBLIC_KEY_SIZE])
{
    size_t length = SIGN_PUBLIC_KEY_SIZE;
    EVP_PKEY_get_raw_public_key(key->pkey, public_key_out, &length);
}

void sign_key_public_hex(const sign_key_t *key, char text_out[SIGN_PUBLIC_KEY_HEX_SIZE])
{
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(key, public_key);
    hash_to_hex(public_key, sizeof public_key, text_out);
}

int sign_public_key_parse(const char *text, size_t length,
                          uint8_t public_key_out[SIGN_PUBLIC_KEY_SIZE])
{
    if (!text || length != 2 * SIGN_PUBLIC_KEY_SIZE)
        return SETTLE_ERR_SYNTAX;
    uint8_t bytes[SIGN_PUBLIC_KEY_SIZE];
    if (hash_from_hex(text, length, true, bytes) != length)
        return SETTLE_ERR_SYNTAX;
    memcpy(public_key_out, bytes, sizeof bytes);
    return SETTLE_OK;
}

int sign_message(const sign_key_t *key, const void *message, size_t size,
                 uint8_t signature_out[SIGN_SIGNATURE_SIZE])
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    size_t length = SIGN_SIGNATURE_SIZE;
    int ok = context && EVP_DigestSignInit(context, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestSign(context, signature_out, &length, message, size) == 1 &&
             length == SIGN_SIGNATURE_SIZE;
    EVP_MD_CTX_free(context);
    return ok ? SETTLE_OK : SETTLE_ERR_CRYPTO;
}

int sign_verify(const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE], const void *message, size_t size,
                const uint8_t signature[SIGN_SIGNATURE_SIZE])
{
    const sign_item_t item = {public_key, message, size, signature};
    return sign_verify_batch(&item, 1);
}

int sign_verify_batch(const sign_item_t *items, size_t count)
{
    int rc = ed25519_verify_batch(items, count);
    return rc == SETTLE_ERR_NOMEM ? SETTLE_ERR_CRYPTO : rc;
}

/* ------------------------------------------------------------------------
 * The transport's keys: Ed25519 to X25519
 * ------------------------------------------------------------------------ */

int sign_key_curve(const sign_key_t *key, uint8_t public_out[SIGN_CURVE_KEY_SIZE],
                   uint8_t secret_out[SIGN_CURVE_KEY_SIZE])
{
    uint8_t seed[SIGN_SEED_SIZE], digest[64];
    size_t seed_size = sizeof seed;
    unsigned digest_size = 0;
    int ok = EVP_PKEY_get_raw_private_key(key->pkey, seed, &seed_size) == 1 &&
             seed_size == sizeof seed &&
             EVP_Digest(seed, sizeof seed, digest, &digest_size, EVP_sha512(), NULL) == 1 &&
             digest_size == sizeof digest;
    EVP_PKEY *x25519 = NULL;
    if (ok) {
        digest[0] &= 248; /* RFC 7748's clamping, as Ed25519 clamps its scalar */
        digest[31] &= 127;
        digest[31] |= 64;
        x25519 = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, digest, SIGN_CURVE_KEY_SIZE);
    }
    size_t public_size = SIGN_CURVE_KEY_SIZE;
    ok = x25519 && EVP_PKEY_get_raw_public_key(x25519, public_out, &public_size) == 1 &&
         public_size == SIGN_CURVE_KEY_SIZE;
    if (ok)
        memcpy(secret_out, digest, SIGN_CURVE_KEY_SIZE);
    EVP_PKEY_free(x25519);
    OPENSSL_cleanse(seed, sizeof seed);
    OPENSSL_cleanse(digest, sizeof digest);
    return ok ? SETTLE_OK : SETTLE_ERR_CRYPTO;
}

int sign_public_key_to_curve(const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                             uint8_t curve_out[SIGN_CURVE_KEY_SIZE])
{
    uint8_t y_bytes[SIGN_PUBLIC_KEY_SIZE];
    memcpy(y_bytes, public_key, sizeof y_bytes);
    y_bytes[31] &= 0x7f; /* the top bit is x's sign, which u does not depend on */
    BN_CTX *context = BN_CTX_new();
    BIGNUM *p = BN_new(), *y = BN_lebin2bn(y_bytes, sizeof y_bytes, NULL);
    BIGNUM *num = BN_new(), *den = BN_new(), *u = BN_new();
    int rc = SETTLE_ERR_CRYPTO;
    /* p = 2^255 - 19 */
    if (context && p && y && num && den && u && BN_set_bit(p, 255) == 1 &&
        BN_sub_word(p, 19) == 1) {
        if (BN_cmp(y, p) >= 0 || BN_is_one(y)) {
            rc = SETTLE_ERR_SIGNATURE; /* not a canonical y, or 1 - y has no inverse */
        } else if (BN_copy(num, y) && BN_add_word(num, 1) == 1 &&         /* 1 + y */
                   BN_mod_sub(den, BN_value_one(), y, p, context) == 1 && /* 1 - y */
                   BN_mod_inverse(den, den, p, context) != NULL &&
                   BN_mod_mul(u, num, den, p, context) == 1 &&
                   BN_bn2lebinpad(u, curve_out, SIGN_CURVE_KEY_SIZE) == SIGN_CURVE_KEY_SIZE) {
            rc = SETTLE_OK;
        }
    }
    BN_free(u);
    BN_free(den);
    BN_free(num);
    BN_free(y);
    BN_free(p);
    BN_CTX_free(context);
    return rc;
}
