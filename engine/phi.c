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

int phi_seal(const phi_key_t *key, const char *payer, const char *member_key, const char *claim_id,
             const phi_record_t *record, uint8_t *out, size_t capacity, size_t *size_out,
             settle_error_t *error)
{
    uint8_t aad[PHI_AAD_MAX], plaintext[PHI_PLAINTEXT_MAX], mac[32];
    size_t aad_size = s_aad(payer, member_key, claim_id, aad);
    size_t size = s_plaintext(record, plaintext);
    if (aad_size == 0 || size == 0)
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "claim %s: an identifier is too long or not printable ASCII",
                                claim_id);
    if (PHI_ENVELOPE_OVERHEAD + size > capacity) {
        OPENSSL_cleanse(plaintext, sizeof plaintext);
        return settle_error_set(error, SETTLE_ERR_TOO_LONG,
                                "claim %s: sealed identifiers of %zu bytes do not fit in %zu",
                                claim_id, PHI_ENVELOPE_OVERHEAD + size, capacity);
    }
    int rc = s_hmac(key->sealing, aad, aad_size, plaintext, size, mac);
    uint8_t *nonce = out + sizeof s_magic + 1;
    if (rc == SETTLE_OK) {
        memcpy(out, s_magic, sizeof s_magic);
        out[sizeof s_magic] = PHI_VERSION;
        memcpy(nonce, mac, PHI_NONCE_SIZE);
        if (!s_gcm(true, key->sealing, nonce, aad, aad_size, plaintext, size,
                   nonce + PHI_NONCE_SIZE, nonce + PHI_NONCE_SIZE + size))
            rc =
                settle_error_set(error, SETTLE_ERR_NOMEM, "claim %s: AES-256-GCM failed", claim_id);
    }
    OPENSSL_cleanse(plaintext, sizeof plaintext);
    if (rc == SETTLE_OK)
        *size_out = PHI_ENVELOPE_OVERHEAD + size;
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

int phi_open(const phi_key_t *key, const char *payer, const char *member_key, const char *claim_id,
             const uint8_t *envelope, size_t size, phi_record_t *record_out, settle_error_t *error)
{
    if (size < PHI_ENVELOPE_OVERHEAD || size - PHI_ENVELOPE_OVERHEAD > PHI_PLAINTEXT_MAX ||
        memcmp(envelope, s_magic, sizeof s_magic) != 0)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "claim %s: not sealed identifiers (no SPHI mark or a wrong length)",
                                claim_id);
    if (envelope[sizeof s_magic] != PHI_VERSION)
        return settle_error_set(error, SETTLE_ERR_VERSION,
                                "claim %s: sealed identifiers of version %u, not %u", claim_id,
                                envelope[sizeof s_magic], PHI_VERSION);
    uint8_t aad[PHI_AAD_MAX], plaintext[PHI_PLAINTEXT_MAX], tag[PHI_TAG_SIZE];
    size_t aad_size = s_aad(payer, member_key, claim_id, aad);
    size_t text_size = size - PHI_ENVELOPE_OVERHEAD;
    const uint8_t *nonce = envelope + sizeof s_magic + 1;
    memcpy(tag, nonce + PHI_NONCE_SIZE + text_size, sizeof tag);
    if (aad_size == 0 || !s_gcm(false, key->sealing, nonce, aad, aad_size, nonce + PHI_NONCE_SIZE,
                                text_size, plaintext, tag)) {
        OPENSSL_cleanse(plaintext, sizeof plaintext);
        return settle_error_set(error, SETTLE_ERR_SIGNATURE,
                                "claim %s: the sealed identifiers do not authenticate (changed, "
                                "sealed for another claim, or another payer's key)",
                                claim_id);
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

int phi_protect_claim(const phi_key_t *key, claim_t *claim, settle_error_t *error)
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
    rc = phi_seal(key, claim->payer_id, member_key, claim->claim_id, &record, claim->phi,
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
