/*
 * phi.c - pseudonymous member keys and sealed envelopes (phi.h).
 *
 * HMAC-SHA256 and AES-256-GCM from OpenSSL; HKDF written out over HMAC,
 * since it is two HMACs for a 32-byte output.
 */
#include "settle/phi.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settle/date.h"
#include "settle/hash.h"
#include "settle/sign.h"
#include "wire.h"

static const char s_domain[] = "settle.phi/1";
static const uint8_t s_magic[4] = {'S', 'P', 'H', 'I'};
#define PHI_VERSION    1
#define PHI_NONCE_SIZE 12
#define PHI_TAG_SIZE   16
/* The longest plaintext: every text at its longest. */
#define PHI_PLAINTEXT_MAX (2 * 9 + CLAIM_MEMBER_ID_SIZE + 4 + sizeof(claim_patient_t))
/* The longest additional data: the domain and three texts. */
#define PHI_AAD_MAX (sizeof s_domain + 3 * 2 + 2 * CLAIM_PAYER_ID_SIZE + CLAIM_ID_SIZE)

static int s_hmac(const uint8_t key[32], const void *a, size_t a_size, const void *b, size_t b_size,
                  uint8_t out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t length = 0;
    bool ok = ctx && EVP_MAC_init(ctx, key, 32, params) == 1 &&
              EVP_MAC_update(ctx, a, a_size) == 1 &&
              (b_size == 0 || EVP_MAC_update(ctx, b, b_size) == 1) &&
              EVP_MAC_final(ctx, out, &length, 32) == 1 && length == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? SETTLE_OK : SETTLE_ERR_NOMEM;
}

int phi_key_from_secret(const uint8_t secret[PHI_SECRET_SIZE], phi_key_t *key_out)
{
    /* HKDF-Extract: PRK = HMAC(salt, IKM); HKDF-Expand to one block:
     * OKM = HMAC(PRK, info || 0x01). */
    uint8_t salt[32] = {0}, prk[32];
    memcpy(salt, s_domain, sizeof s_domain - 1);
    int rc = s_hmac(salt, secret, PHI_SECRET_SIZE, NULL, 0, prk);
    static const char pseudonym_info[] = "member key\x01", sealing_info[] = "aes-256-gcm\x01";
    if (rc == SETTLE_OK)
        rc = s_hmac(prk, pseudonym_info, sizeof pseudonym_info - 1, NULL, 0, key_out->pseudonym);
    if (rc == SETTLE_OK)
        rc = s_hmac(prk, sealing_info, sizeof sealing_info - 1, NULL, 0, key_out->sealing);
    OPENSSL_cleanse(prk, sizeof prk);
    return rc;
}

void phi_key_wipe(phi_key_t *key)
{
    OPENSSL_cleanse(key, sizeof *key);
}

int phi_key_generate(const char *path, settle_error_t *error)
{
    settle_error_file(error, path);
    uint8_t secret[PHI_SECRET_SIZE];
    if (RAND_bytes(secret, sizeof secret) != 1)
        return settle_error_set(error, SETTLE_ERR_IO, "no randomness for a secret");
    char text[2 * PHI_SECRET_SIZE + 2];
    hash_to_hex(secret, sizeof secret, text);
    OPENSSL_cleanse(secret, sizeof secret);
    text[2 * PHI_SECRET_SIZE] = '\n';
    int fd;
    int rc = sign_private_create(path, &fd, error);
    if (rc != SETTLE_OK) {
        OPENSSL_cleanse(text, sizeof text);
        return rc;
    }
    size_t size = 2 * PHI_SECRET_SIZE + 1;
    bool ok = fchmod(fd, 0600) == 0 && write(fd, text, size) == (ssize_t)size;
    ok = (close(fd) == 0) && ok;
    OPENSSL_cleanse(text, sizeof text);
    if (!ok) {
        unlink(path);
        return settle_error_set(error, SETTLE_ERR_IO, "cannot write the secret");
    }
    return SETTLE_OK;
}

int phi_key_load(const char *path, phi_key_t *key_out, settle_error_t *error)
{
    FILE *file;
    int rc = sign_private_open(path, "the secret", &file, error);
    if (rc != SETTLE_OK)
        return rc;
    char text[2 * PHI_SECRET_SIZE + 3];
    size_t length = fread(text, 1, sizeof text, file);
    fclose(file);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        length--;
    uint8_t secret[PHI_SECRET_SIZE];
    bool ok = length == 2 * PHI_SECRET_SIZE && hash_from_hex(text, length, true, secret) == length;
    OPENSSL_cleanse(text, sizeof text);
    if (!ok) {
        OPENSSL_cleanse(secret, sizeof secret);
        settle_error_expect(error, "64 hex digits, as `settle keygen --phi` writes");
        return settle_error_set(error, SETTLE_ERR_SYNTAX, "not a settle PHI secret");
    }
    rc = phi_key_from_secret(secret, key_out);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

bool phi_is_member_key(const char *text)
{
    if (text[0] != 'm' || text[1] != 'k')
        return false;
    for (int i = 2; i < PHI_MEMBER_KEY_SIZE - 1; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    return text[PHI_MEMBER_KEY_SIZE - 1] == '\0';
}

int phi_member_key(const phi_key_t *key, const char *payer, const char *member_id,
                   char key_out[PHI_MEMBER_KEY_SIZE])
{
    uint8_t data[CLAIM_PAYER_ID_SIZE + CLAIM_MEMBER_ID_SIZE], mac[32];
    size_t payer_size = strnlen(payer, CLAIM_PAYER_ID_SIZE - 1);
    size_t member_size = strnlen(member_id, CLAIM_MEMBER_ID_SIZE - 1);
    memcpy(data, payer, payer_size);
    data[payer_size] = 0;
    memcpy(data + payer_size + 1, member_id, member_size);
    int rc = s_hmac(key->pseudonym, data, payer_size + 1 + member_size, NULL, 0, mac);
    if (rc != SETTLE_OK)
        return rc;
    char hex[HASH_SHA256_HEX_SIZE];
    hash_to_hex(mac, 16, hex);
    key_out[0] = 'm';
    key_out[1] = 'k';
    memcpy(key_out + 2, hex, 32);
    key_out[PHI_MEMBER_KEY_SIZE - 1] = '\0';
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Envelopes
 * ------------------------------------------------------------------------ */

#define PUT_TEXT(w, field)       wire_put_text((w), (field), sizeof(field))
#define GET_TEXT(r, name, field) wire_get_text((r), (name), (field), sizeof(field))

static size_t s_aad(const char *payer, const char *member_key, const char *claim_id,
                    uint8_t out[PHI_AAD_MAX])
{
    wire_writer_t w = {.at = out, .ok = true};
    wire_put(&w, s_domain, sizeof s_domain - 1);
    wire_put_text(&w, payer, CLAIM_PAYER_ID_SIZE);
    wire_put_text(&w, member_key, PHI_MEMBER_KEY_SIZE);
    wire_put_text(&w, claim_id, CLAIM_ID_SIZE);
    return w.ok ? w.used : 0;
}

static size_t s_plaintext(const phi_record_t *record, uint8_t out[PHI_PLAINTEXT_MAX])
{
    wire_writer_t w = {.at = out, .ok = true};
    const claim_patient_t *p = &record->patient;
    PUT_TEXT(&w, record->member_id);
    wire_put_uint(&w, (uint32_t)record->birth_date, 4);
    PUT_TEXT(&w, p->last_name);
    PUT_TEXT(&w, p->first_name);
    PUT_TEXT(&w, p->middle_name);
    PUT_TEXT(&w, p->address_1);
    PUT_TEXT(&w, p->address_2);
    PUT_TEXT(&w, p->city);
    PUT_TEXT(&w, p->state);
    PUT_TEXT(&w, p->postal_code);
    return w.ok ? w.used : 0;
}

/* AES-256-GCM one way or the other; in and out may not overlap. */
static bool s_gcm(bool seal, const uint8_t key[32], const uint8_t nonce[PHI_NONCE_SIZE],
                  const uint8_t *aad, size_t aad_size, const uint8_t *in, size_t size, uint8_t *out,
                  uint8_t tag[PHI_TAG_SIZE])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int length = 0, final = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, PHI_NONCE_SIZE, NULL) == 1 &&
              EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal) == 1 &&
              EVP_CipherUpdate(ctx, NULL, &length, aad, (int)aad_size) == 1 &&
              EVP_CipherUpdate(ctx, out, &length, in, (int)size) == 1;
    if (ok && !seal)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PHI_TAG_SIZE, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + length, &final) == 1;
    if (ok && seal)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PHI_TAG_SIZE, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* X25519: *shared_out = X25519(secret, peer), or with peer NULL the
 * public key of secret. */
static bool s_x25519(const uint8_t secret[32], const uint8_t *peer, uint8_t out[32])
{
    EVP_PKEY *own = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
    size_t length = 32;
    if (!peer) {
        bool ok = own && EVP_PKEY_get_raw_public_key(own, out, &length) == 1 && length == 32;
        EVP_PKEY_free(own);
        return ok;
    }
    EVP_PKEY *other = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = own ? EVP_PKEY_CTX_new(own, NULL) : NULL;
    bool ok = ctx && other && EVP_PKEY_derive_init(ctx) == 1 &&
              EVP_PKEY_derive_set_peer(ctx, other) == 1 &&
              EVP_PKEY_derive(ctx, out, &length) == 1 && length == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(other);
    EVP_PKEY_free(own);
    return ok;
}

/* The key that wraps the content key for a provider: HKDF-SHA256 of the
 * X25519 shared secret, bound to both public keys. */
static bool s_provider_wrap_key(const uint8_t shared[32], const uint8_t ephemeral[32],
                                const uint8_t provider[32], uint8_t out[32])
{
    uint8_t salt[32] = {0}, prk[32], info[9 + 64 + 1];
    memcpy(salt, s_domain, sizeof s_domain - 1);
    memcpy(info, "provider:", 9);
    memcpy(info + 9, ephemeral, 32);
    memcpy(info + 41, provider, 32);
    info[73] = 1;
    bool ok = s_hmac(salt, shared, 32, NULL, 0, prk) == SETTLE_OK &&
              s_hmac(prk, info, sizeof info, NULL, 0, out) == SETTLE_OK;
    OPENSSL_cleanse(prk, sizeof prk);
    return ok;
}

static const uint8_t s_zero_nonce[PHI_NONCE_SIZE];

/* Seals under a content key made for this one plaintext (so its nonce is
 * zero), and wraps that key for the payer and, given its X25519 key, the
 * billing provider.  Every value is derived from the sealing key and the
 * data: the same claim sealed twice is the same bytes. */
static int s_seal(const phi_key_t *key, const uint8_t *provider, const uint8_t *aad,
                  size_t aad_size, const uint8_t *plaintext, size_t size, uint8_t *out)
{
    uint8_t content[32], mac[32], ephemeral[32], shared[32], wrap[32];
    uint8_t *at = out;
    memcpy(at, s_magic, sizeof s_magic);
    at[4] = PHI_VERSION;
    at[5] = provider ? 2 : 1;
    at += 6;
    bool ok = s_hmac(key->sealing, aad, aad_size, plaintext, size, content) == SETTLE_OK &&
              s_hmac(key->sealing, "wrap", 4, content, sizeof content, mac) == SETTLE_OK;
    if (ok) { /* the payer's copy of the content key */
        memcpy(at, mac, PHI_NONCE_SIZE);
        ok = s_gcm(true, key->sealing, at, aad, aad_size, content, 32, at + PHI_NONCE_SIZE,
                   at + PHI_NONCE_SIZE + 32);
        at += PHI_NONCE_SIZE + 32 + PHI_TAG_SIZE;
    }
    if (ok && provider) { /* the billing provider's, to its X25519 key */
        uint8_t seed[64];
        memcpy(seed, content, 32);
        memcpy(seed + 32, provider, 32);
        ok = s_hmac(key->sealing, "ephemeral", 9, seed, sizeof seed, ephemeral) == SETTLE_OK &&
             s_x25519(ephemeral, NULL, at) && s_x25519(ephemeral, provider, shared) &&
             s_provider_wrap_key(shared, at, provider, wrap) &&
             s_gcm(true, wrap, s_zero_nonce, aad, aad_size, content, 32, at + 32, at + 64);
        at += 32 + 32 + PHI_TAG_SIZE;
        OPENSSL_cleanse(seed, sizeof seed);
    }
    ok = ok && s_gcm(true, content, s_zero_nonce, aad, aad_size, plaintext, size, at, at + size);
    OPENSSL_cleanse(content, sizeof content);
    OPENSSL_cleanse(ephemeral, sizeof ephemeral);
    OPENSSL_cleanse(shared, sizeof shared);
    OPENSSL_cleanse(wrap, sizeof wrap);
    return ok ? SETTLE_OK : SETTLE_ERR_NOMEM;
}

size_t phi_envelope_overhead(bool provider)
{
    return 6 + PHI_NONCE_SIZE + 32 + PHI_TAG_SIZE + (provider ? 32 + 32 + PHI_TAG_SIZE : 0) +
           PHI_TAG_SIZE;
}

int phi_seal(const phi_key_t *key, const uint8_t *provider, const char *payer,
             const char *member_key, const char *claim_id, const phi_record_t *record, uint8_t *out,
             size_t capacity, size_t *size_out, settle_error_t *error)
{
    uint8_t aad[PHI_AAD_MAX], plaintext[PHI_PLAINTEXT_MAX];
    size_t aad_size = s_aad(payer, member_key, claim_id, aad);
    size_t size = s_plaintext(record, plaintext);
    size_t total = phi_envelope_overhead(provider != NULL) + size;
    int rc = SETTLE_OK;
    if (aad_size == 0 || size == 0)
        rc = settle_error_set(error, SETTLE_ERR_INVALID,
                              "claim %s: an identifier is too long or not printable ASCII",
                              claim_id);
    else if (total > capacity)
        rc = settle_error_set(error, SETTLE_ERR_TOO_LONG,
                              "claim %s: sealed identifiers of %zu bytes do not fit in %zu",
                              claim_id, total, capacity);
    else if (s_seal(key, provider, aad, aad_size, plaintext, size, out) != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_NOMEM, "claim %s: AES-256-GCM failed", claim_id);
    OPENSSL_cleanse(plaintext, sizeof plaintext);
    if (rc == SETTLE_OK)
        *size_out = total;
    return rc;
}

static int s_read_plaintext(const uint8_t *bytes, size_t size, phi_record_t *record,
                            settle_error_t *error)
{
    wire_reader_t r = {bytes, size, 0, SETTLE_OK, "sealed identifiers", "member_id", error};
    claim_patient_t *p = &record->patient;
    GET_TEXT(&r, "member_id", record->member_id);
    r.field = "birth_date";
    record->birth_date = (int32_t)(uint32_t)wire_get_uint(&r, 4);
    GET_TEXT(&r, "last_name", p->last_name);
    GET_TEXT(&r, "first_name", p->first_name);
    GET_TEXT(&r, "middle_name", p->middle_name);
    GET_TEXT(&r, "address_1", p->address_1);
    GET_TEXT(&r, "address_2", p->address_2);
    GET_TEXT(&r, "city", p->city);
    GET_TEXT(&r, "state", p->state);
    GET_TEXT(&r, "postal_code", p->postal_code);
    wire_get_end(&r);
    return r.rc;
}

/* The envelope's framing: SETTLE_OK and its recipients (1 or 2), or why not. */
static int s_framing(const char *claim_id, const uint8_t *envelope, size_t size,
                     int *recipients_out, settle_error_t *error)
{
    if (size < phi_envelope_overhead(false) || memcmp(envelope, s_magic, sizeof s_magic) != 0)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "claim %s: not sealed identifiers (no SPHI mark or too short)",
                                claim_id);
    if (envelope[4] != PHI_VERSION)
        return settle_error_set(error, SETTLE_ERR_VERSION,
                                "claim %s: sealed identifiers of version %u, not %u", claim_id,
                                envelope[4], PHI_VERSION);
    int recipients = envelope[5];
    if ((recipients != 1 && recipients != 2) || size < phi_envelope_overhead(recipients == 2) ||
        size - phi_envelope_overhead(recipients == 2) > PHI_PLAINTEXT_MAX)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "claim %s: sealed identifiers of a wrong length or recipients",
                                claim_id);
    *recipients_out = recipients;
    return SETTLE_OK;
}

/* Opens the content with its key, into *record_out. */
static int s_open_content(const uint8_t content[32], const char *claim_id, const uint8_t *aad,
                          size_t aad_size, const uint8_t *envelope, size_t size, int recipients,
                          phi_record_t *record_out, settle_error_t *error)
{
    size_t at = phi_envelope_overhead(recipients == 2) - PHI_TAG_SIZE;
    size_t text_size = size - at - PHI_TAG_SIZE;
    uint8_t plaintext[PHI_PLAINTEXT_MAX], tag[PHI_TAG_SIZE];
    memcpy(tag, envelope + at + text_size, sizeof tag);
    if (!s_gcm(false, content, s_zero_nonce, aad, aad_size, envelope + at, text_size, plaintext,
               tag)) {
        OPENSSL_cleanse(plaintext, sizeof plaintext);
        return SETTLE_ERR_SIGNATURE;
    }
    phi_record_t record;
    memset(&record, 0, sizeof record);
    int rc = s_read_plaintext(plaintext, text_size, &record, error);
    OPENSSL_cleanse(plaintext, sizeof plaintext);
    if (rc == SETTLE_OK)
        *record_out = record;
    OPENSSL_cleanse(&record, sizeof record);
    return rc;
}

static int s_refused(settle_error_t *error, const char *claim_id)
{
    return settle_error_set(error, SETTLE_ERR_SIGNATURE,
                            "claim %s: the sealed identifiers do not authenticate (changed, "
                            "sealed for another claim, or not for this key)",
                            claim_id);
}

int phi_open(const phi_key_t *key, const char *payer, const char *member_key, const char *claim_id,
             const uint8_t *envelope, size_t size, phi_record_t *record_out, settle_error_t *error)
{
    int recipients;
    int rc = s_framing(claim_id, envelope, size, &recipients, error);
    if (rc != SETTLE_OK)
        return rc;
    uint8_t aad[PHI_AAD_MAX], content[32], tag[PHI_TAG_SIZE];
    size_t aad_size = s_aad(payer, member_key, claim_id, aad);
    const uint8_t *wrap = envelope + 6;
    memcpy(tag, wrap + PHI_NONCE_SIZE + 32, sizeof tag);
    rc = aad_size && s_gcm(false, key->sealing, wrap, aad, aad_size, wrap + PHI_NONCE_SIZE, 32,
                           content, tag)
             ? s_open_content(content, claim_id, aad, aad_size, envelope, size, recipients,
                              record_out, error)
             : SETTLE_ERR_SIGNATURE;
    OPENSSL_cleanse(content, sizeof content);
    return rc == SETTLE_ERR_SIGNATURE ? s_refused(error, claim_id) : rc;
}

int phi_open_as_provider(const uint8_t secret[SIGN_CURVE_KEY_SIZE], const char *payer,
                         const char *member_key, const char *claim_id, const uint8_t *envelope,
                         size_t size, phi_record_t *record_out, settle_error_t *error)
{
    int recipients;
    int rc = s_framing(claim_id, envelope, size, &recipients, error);
    if (rc != SETTLE_OK)
        return rc;
    if (recipients != 2)
        return settle_error_set(error, SETTLE_ERR_NOT_FOUND,
                                "claim %s: the identifiers are sealed for the payer alone",
                                claim_id);
    uint8_t aad[PHI_AAD_MAX], own[32], shared[32], wrap_key[32], content[32], tag[PHI_TAG_SIZE];
    size_t aad_size = s_aad(payer, member_key, claim_id, aad);
    const uint8_t *wrap = envelope + 6 + PHI_NONCE_SIZE + 32 + PHI_TAG_SIZE;
    memcpy(tag, wrap + 64, sizeof tag);
    rc = aad_size && s_x25519(secret, NULL, own) && s_x25519(secret, wrap, shared) &&
                 s_provider_wrap_key(shared, wrap, own, wrap_key) &&
                 s_gcm(false, wrap_key, s_zero_nonce, aad, aad_size, wrap + 32, 32, content, tag)
             ? s_open_content(content, claim_id, aad, aad_size, envelope, size, recipients,
                              record_out, error)
             : SETTLE_ERR_SIGNATURE;
    OPENSSL_cleanse(shared, sizeof shared);
    OPENSSL_cleanse(wrap_key, sizeof wrap_key);
    OPENSSL_cleanse(content, sizeof content);
    return rc == SETTLE_ERR_SIGNATURE ? s_refused(error, claim_id) : rc;
}

/* ------------------------------------------------------------------------
 * Claims
 * ------------------------------------------------------------------------ */

static bool s_patient_empty(const claim_patient_t *p)
{
    return !p->last_name[0] && !p->first_name[0] && !p->middle_name[0] && !p->address_1[0] &&
           !p->address_2[0] && !p->city[0] && !p->state[0] && !p->postal_code[0];
}

int phi_check_claim(const claim_t *claim, settle_error_t *error)
{
    const char *clear = NULL;
    if (!phi_is_member_key(claim->member_id))
        clear = "its member id is not a pseudonymous member key (mk and 32 hex digits)";
    else if (claim->patient_birth_date != DATE_NONE)
        clear = "it carries the patient's birth date in the clear";
    else if (!s_patient_empty(&claim->patient))
        clear = "it carries the patient's name or address in the clear";
    else if (claim->phi_size == 0)
        clear = "it has no sealed identifiers";
    if (!clear)
        return SETTLE_OK;
    return settle_error_set(error, SETTLE_ERR_INVALID,
                            "claim %s: %s; a payer's client seals identifiers before submitting "
                            "(settle submit --phi FILE)",
                            claim->claim_id, clear);
}

int phi_protect_claim(const phi_key_t *key, const uint8_t *provider, claim_t *claim,
                      settle_error_t *error)
{
    if (phi_check_claim(claim, NULL) == SETTLE_OK)
        return SETTLE_OK;
    char member_key[PHI_MEMBER_KEY_SIZE];
    int rc = phi_member_key(key, claim->payer_id, claim->member_id, member_key);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "claim %s: no memory for its member key",
                                claim->claim_id);
    phi_record_t record;
    memset(&record, 0, sizeof record);
    memcpy(record.member_id, claim->member_id, sizeof record.member_id);
    record.birth_date = claim->patient_birth_date;
    record.patient = claim->patient;
    size_t size;
    rc = phi_seal(key, provider, claim->payer_id, member_key, claim->claim_id, &record, claim->phi,
                  sizeof claim->phi, &size, error);
    OPENSSL_cleanse(&record, sizeof record);
    if (rc != SETTLE_OK)
        return rc;
    for (uint32_t i = 0; i < claim->line_count; i++) {
        int age;
        claim_line_t *line = &claim->lines[i];
        if (date_age_years(claim->patient_birth_date, line->service_from, &age) == SETTLE_OK &&
            age <= CLAIM_AGE_MAX)
            line->patient_age = (int16_t)age;
    }
    claim->phi_size = (uint16_t)size;
    memcpy(claim->member_id, member_key, sizeof member_key);
    claim->patient_birth_date = DATE_NONE;
    OPENSSL_cleanse(&claim->patient, sizeof claim->patient);
    return SETTLE_OK;
}

int phi_reveal_claim(const phi_key_t *key, claim_t *claim, settle_error_t *error)
{
    phi_record_t record;
    int rc = phi_open(key, claim->payer_id, claim->member_id, claim->claim_id, claim->phi,
                      claim->phi_size, &record, error);
    if (rc != SETTLE_OK)
        return rc;
    memcpy(claim->member_id, record.member_id, sizeof claim->member_id);
    claim->patient_birth_date = record.birth_date;
    claim->patient = record.patient;
    claim->phi_size = 0;
    OPENSSL_cleanse(&record, sizeof record);
    return SETTLE_OK;
}
