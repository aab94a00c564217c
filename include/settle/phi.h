/*
 * phi.h - protected health information: the payer's secret, pseudonymous
 * member keys, and sealed envelopes of a patient's direct identifiers.
 *
 * What the interpreter needs stays in the clear on the shared ledger
 * (codes, dates, amounts, sex, the patient's age on each line, and a
 * pseudonymous member key); what names a person (member id, birth date,
 * name, address) leaves the payer's client sealed with AES-256-GCM under a
 * key only the payer holds.  The ledger refuses claims and enrollments that
 * carry identifiers in the clear (fsm.h), so a ledger file copied off a node
 * reveals none.
 *
 * The payer's secret is 32 random bytes in a file of 64 hex digits, mode
 * 0600 (`settle keygen --phi FILE`).  Two keys are derived from it with
 * HKDF-SHA256 (RFC 5869, salt "settle.phi/1"):
 *
 *   pseudonym key   info "member key"
 *   sealing key     info "aes-256-gcm"
 *
 * A member key is "mk" and 32 lowercase hex digits: the first 16 bytes of
 * HMAC-SHA256(pseudonym key, payer || 0x00 || member id).  The same member
 * gets the same key on every claim and enrollment of that payer, so
 * accumulators and eligibility work on keys alone; another payer's key for
 * the same member id differs, and without the secret a key cannot be
 * traced back to an id (nor an id guessed and checked).
 *
 * An envelope seals the identifiers once, under a content key made for
 * that one plaintext, and wraps the content key for each party with a
 * role on the claim that may read them: the payer, and the billing
 * provider when its X25519 key (its registered Ed25519 key converted,
 * sign.h) is given.
 *
 *   "SPHI" u8:version(1) u8:recipients (1 the payer; 2 and the provider)
 *   payer:     12 x u8:nonce 32 x u8:wrapped content key 16 x u8:tag
 *   provider:  32 x u8:ephemeral X25519 public 32 x u8:wrapped key 16 x u8:tag
 *   ciphertext 16 x u8:tag
 *
 * All AES-256-GCM, each with the additional data "settle.phi/1"
 * str:payer str:member_key str:claim_id, so an envelope opens only on the
 * claim it was sealed for (moved to another claim or member, it fails to
 * open, as it does when one bit changes).  Every value is derived, none
 * drawn at random, so sealing is deterministic (SIV-style) and the same
 * claim sealed twice is the same bytes, which lets a resubmission be
 * recognised:
 *
 *   content key  HMAC-SHA256(sealing key, additional data || plaintext);
 *                the ciphertext's nonce is zero (the key seals nothing else)
 *   payer wrap   under the sealing key, nonce the first 12 bytes of
 *                HMAC-SHA256(sealing key, "wrap" || content key)
 *   provider     ephemeral secret HMAC-SHA256(sealing key, "ephemeral" ||
 *                content key || provider key); wrap key HKDF-SHA256 of
 *                X25519(ephemeral, provider) (salt "settle.phi/1", info
 *                "provider:" || ephemeral public || provider key); nonce zero
 *
 * The plaintext is
 *
 *   str:member_id i32:birth_date str:last_name str:first_name
 *   str:middle_name str:address_1 str:address_2 str:city str:state
 *   str:postal_code
 *
 * ("str" a u16 big-endian length and bytes).  Nothing here reads a clock,
 * randomness (except phi_key_generate) or the environment.
 */
#ifndef SETTLE_PHI_H
#define SETTLE_PHI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"
#include "settle/sign.h"

#define PHI_SECRET_SIZE     32
#define PHI_MEMBER_KEY_SIZE 35 /* "mk", 32 hex digits, NUL */

/* The two keys derived from a payer's secret.  Wipe with phi_key_wipe. */
typedef struct {
    uint8_t pseudonym[32];
    uint8_t sealing[32];
} phi_key_t;

/* What an envelope holds. */
typedef struct {
    char member_id[CLAIM_MEMBER_ID_SIZE];
    int32_t birth_date; /* DATE_NONE when not known */
    claim_patient_t patient;
} phi_record_t;

/* Derives the keys from a secret. */
int phi_key_from_secret(const uint8_t secret[PHI_SECRET_SIZE], phi_key_t *key_out);

/* Writes a new secret from the operating system's randomness to path (64
 * hex digits and a newline, mode 0600).  Refuses (SETTLE_ERR_EXISTS) when
 * the file exists; error names the path. */
int phi_key_generate(const char *path, settle_error_t *error);

/* Reads a secret file and derives its keys.  SETTLE_ERR_IO when it cannot
 * be read, SETTLE_ERR_INVALID when others may read it, SETTLE_ERR_SYNTAX
 * when it is not 64 hex digits; error names the path. */
int phi_key_load(const char *path, phi_key_t *key_out, settle_error_t *error);

/* Overwrites the keys. */
void phi_key_wipe(phi_key_t *key);

/* True when text is a member key: "mk" and 32 lowercase hex digits. */
bool phi_is_member_key(const char *text);

/* The member key of a payer's member id. */
int phi_member_key(const phi_key_t *key, const char *payer, const char *member_id,
                   char key_out[PHI_MEMBER_KEY_SIZE]);

/* The bytes an envelope adds to its plaintext, with or without the
 * provider's copy. */
size_t phi_envelope_overhead(bool provider);

/*
 * Seals record for (payer, member_key, claim_id) into out[0..capacity),
 * for the payer and, when provider (32 bytes, an X25519 public key) is
 * not NULL, the billing provider; *size_out is the envelope's length.
 * SETTLE_ERR_TOO_LONG when it does not fit.
 */
int phi_seal(const phi_key_t *key, const uint8_t *provider, const char *payer,
             const char *member_key, const char *claim_id, const phi_record_t *record, uint8_t *out,
             size_t capacity, size_t *size_out, settle_error_t *error);

/*
 * Opens an envelope sealed for (payer, member_key, claim_id).
 * SETTLE_ERR_SIGNATURE when it does not authenticate (a changed byte, the
 * wrong key, or an envelope moved from another claim), SETTLE_ERR_CORRUPT
 * when its framing or plaintext is malformed; *record_out is written only
 * on success.
 */
int phi_open(const phi_key_t *key, const char *payer, const char *member_key, const char *claim_id,
             const uint8_t *envelope, size_t size, phi_record_t *record_out, settle_error_t *error);

/* The same for the billing provider, with its X25519 secret (sign.h,
 * sign_key_curve).  SETTLE_ERR_NOT_FOUND when the envelope was sealed for
 * the payer alone; SETTLE_ERR_SIGNATURE as above, and for another
 * provider's key. */
int phi_open_as_provider(const uint8_t secret[SIGN_CURVE_KEY_SIZE], const char *payer,
                         const char *member_key, const char *claim_id, const uint8_t *envelope,
                         size_t size, phi_record_t *record_out, settle_error_t *error);

/*
 * Protects a claim before it leaves the payer: each line gets the
 * patient's age on its first day of service (from the birth date, when the
 * claim has one), the member id, birth date and patient block are sealed
 * into claim->phi (for the payer, and for the billing provider when its
 * X25519 key provider is not NULL), the member id becomes the member key,
 * and the birth date and patient block are emptied.  A claim already
 * protected is left as it is.  On failure the claim is unchanged.
 */
int phi_protect_claim(const phi_key_t *key, const uint8_t *provider, claim_t *claim,
                      settle_error_t *error);

/* The inverse, for the payer reading its own claims back: opens claim->phi
 * and puts the identifiers back (the lines keep their ages). */
int phi_reveal_claim(const phi_key_t *key, claim_t *claim, settle_error_t *error);

/*
 * SETTLE_OK when a claim carries no direct identifier in the clear: its
 * member id is a member key, no birth date, an empty patient block, and
 * sealed identifiers present.  SETTLE_ERR_INVALID otherwise, with what is
 * in the clear named in error.  The ledger's check on every claim.
 */
int phi_check_claim(const claim_t *claim, settle_error_t *error);

#endif
