/*
 * command_payload.c - the payload of each command type, encoded and decoded
 * (layouts in include/settle/command.h).  Decoders check what the encoding
 * itself can check - framing, codes, limits - and leave the meaning (does
 * the YAML compile, is the payer registered) to the state machine.
 */
#include "settle/command.h"

#include <inttypes.h>

#include "wire.h"
#include "settle/contract.h"
#include "settle/hash.h"
#include "settle/merkle.h"

/* Finishes an encoding walk: measure, allocate, write. */
typedef void (*s_put_fn)(wire_writer_t *w, const void *value);

static int s_encode(s_put_fn put, const void *value, uint8_t **bytes_out, size_t *size_out)
{
    wire_writer_t measure = {.ok = true};
    put(&measure, value);
    if (!measure.ok)
        return SETTLE_ERR_INVALID;
    uint8_t *bytes = settle_malloc(measure.used + 1);
    if (!bytes)
        return SETTLE_ERR_NOMEM;
    wire_writer_t w = {.at = bytes, .ok = true};
    put(&w, value);
    *bytes_out = bytes;
    *size_out = w.used;
    return SETTLE_OK;
}

static bool s_npi_ok(const char *npi)
{
    for (int i = 0; i < 10; i++)
        if (npi[i] < '0' || npi[i] > '9')
            return false;
    return npi[10] == '\0';
}

/* What a register payload must satisfy, for both directions. */
static const char *s_register_problem(const command_register_t *v)
{
    if (!v->participant[0])
        return "empty participant id";
    if (v->role < COMMAND_ROLE_PAYER || v->role > COMMAND_ROLE_NODE)
        return "unknown role";
    if (!v->display_name[0])
        return "empty display name";
    if (v->role == COMMAND_ROLE_PROVIDER && !s_npi_ok(v->npi))
        return "a provider needs an NPI of ten digits";
    if (v->role != COMMAND_ROLE_PROVIDER && v->npi[0])
        return "only a provider has an NPI";
    return NULL;
}

static void s_put_register(wire_writer_t *w, const void *value)
{
    const command_register_t *v = value;
    if (s_register_problem(v)) {
        w->ok = false;
        return;
    }
    wire_put_text(w, v->participant, sizeof v->participant);
    wire_put_uint(w, v->role, 1);
    wire_put(w, v->public_key, SIGN_PUBLIC_KEY_SIZE);
    wire_put_text(w, v->display_name, sizeof v->display_name);
    wire_put_text(w, v->npi, sizeof v->npi);
}

int command_register_encode(const command_register_t *value, uint8_t **bytes_out, size_t *size_out)
{
    return s_encode(s_put_register, value, bytes_out, size_out);
}

int command_register_decode(const uint8_t *bytes, size_t size, command_register_t *value_out,
                            settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "register payload", "", error};
    command_register_t v;
    memset(&v, 0, sizeof v);
    wire_get_text(&r, "participant", v.participant, sizeof v.participant);
    r.field = "role";
    v.role = (uint8_t)wire_get_uint(&r, 1);
    r.field = "public key";
    const uint8_t *key = wire_take(&r, SIGN_PUBLIC_KEY_SIZE);
    if (key)
        memcpy(v.public_key, key, SIGN_PUBLIC_KEY_SIZE);
    wire_get_text(&r, "display name", v.display_name, sizeof v.display_name);
    wire_get_text(&r, "npi", v.npi, sizeof v.npi);
    wire_get_end(&r);
    const char *problem = r.rc == SETTLE_OK ? s_register_problem(&v) : NULL;
    if (problem)
        wire_fail(&r, SETTLE_ERR_CORRUPT, problem);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *value_out = v;
    return SETTLE_OK;
}

static void s_put_text_payload(wire_writer_t *w, const void *value)
{
    const command_text_t *v = value;
    if (v->size == 0 || v->size > CONTRACT_TEXT_SIZE_MAX) {
        w->ok = false;
        return;
    }
    wire_put_bytes(w, v->text, v->size);
}

int command_text_encode(const command_text_t *value, uint8_t **bytes_out, size_t *size_out)
{
    return s_encode(s_put_text_payload, value, bytes_out, size_out);
}

int command_text_decode(const uint8_t *bytes, size_t size, command_text_t *value_out,
                        settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "text payload", "", error};
    command_text_t v = {NULL, 0};
    v.text = wire_get_bytes(&r, "text", CONTRACT_TEXT_SIZE_MAX, &v.size);
    if (r.rc == SETTLE_OK && v.size == 0)
        wire_fail(&r, SETTLE_ERR_MISSING, "empty text");
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *value_out = v;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------ */

int command_batch_encode(const char *payer, const uint8_t *const *claims, const size_t *sizes,
                         uint32_t count, uint8_t **bytes_out, size_t *size_out)
{
    if (count == 0 || count > COMMAND_BATCH_CLAIMS_MAX)
        return SETTLE_ERR_TOO_MANY;
    size_t payer_length = strnlen(payer, COMMAND_PARTICIPANT_ID_SIZE);
    if (!wire_text_ok(payer, payer_length, COMMAND_PARTICIPANT_ID_SIZE) || payer_length == 0)
        return SETTLE_ERR_INVALID;
    size_t total = 2 + payer_length + 4;
    for (uint32_t i = 0; i < count; i++) {
        if (sizes[i] > COMMAND_CLAIM_SIZE_MAX)
            return SETTLE_ERR_TOO_LONG;
        total += 4 + sizes[i];
    }
    if (total > COMMAND_PAYLOAD_SIZE_MAX)
        return SETTLE_ERR_TOO_LONG;
    uint8_t *bytes = settle_malloc(total);
    if (!bytes)
        return SETTLE_ERR_NOMEM;
    wire_writer_t w = {.at = bytes, .ok = true};
    wire_put_text(&w, payer, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_uint(&w, count, 4);
    for (uint32_t i = 0; i < count; i++)
        wire_put_bytes(&w, claims[i], sizes[i]);
    *bytes_out = bytes;
    *size_out = w.used;
    return SETTLE_OK;
}

int command_batch_decode(const uint8_t *bytes, size_t size, command_batch_t *value_out,
                         settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "batch payload", "", error};
    command_batch_t v;
    memset(&v, 0, sizeof v);
    wire_get_text(&r, "payer", v.payer, sizeof v.payer);
    if (r.rc == SETTLE_OK && !v.payer[0])
        wire_fail(&r, SETTLE_ERR_MISSING, "empty payer id");
    r.field = "count";
    v.count = (uint32_t)wire_get_uint(&r, 4);
    if (r.rc == SETTLE_OK && (v.count == 0 || v.count > COMMAND_BATCH_CLAIMS_MAX))
        wire_fail(&r, SETTLE_ERR_TOO_MANY, "a batch holds 1 to 10000 claims");
    v.claims = r.bytes ? r.bytes + r.at : NULL;
    size_t start = r.at;
    for (uint32_t i = 0; i < v.count && r.rc == SETTLE_OK; i++) {
        size_t claim_size;
        const uint8_t *claim = wire_get_bytes(&r, "claim", COMMAND_CLAIM_SIZE_MAX, &claim_size);
        /* Every claim is a claim encoding, which begins with "SCLM": so no
         * Merkle leaf (a claim's SHA-256) can be an inner node's preimage
         * (0x01 || left || right), and a batch cut up differently cannot
         * carry another batch's signature (command.h). */
        if (r.rc == SETTLE_OK && (claim_size < 4 || memcmp(claim, "SCLM", 4) != 0))
            wire_fail(&r, SETTLE_ERR_CORRUPT, "a claim that is not a claim encoding (no SCLM)");
    }
    v.claims_size = r.at - start;
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *value_out = v;
    return SETTLE_OK;
}

bool command_batch_next(const command_batch_t *batch, size_t *cursor, const uint8_t **claim_out,
                        size_t *size_out)
{
    if (*cursor + 4 > batch->claims_size)
        return false;
    const uint8_t *at = batch->claims + *cursor;
    size_t size = (size_t)at[0] << 24 | (size_t)at[1] << 16 | (size_t)at[2] << 8 | at[3];
    if (size > batch->claims_size - *cursor - 4)
        return false;
    *claim_out = at + 4;
    *size_out = size;
    *cursor += 4 + size;
    return true;
}

int command_batch_root_hashes(const command_batch_t *batch,
                              uint8_t (*hashes_out)[COMMAND_DIGEST_SIZE],
                              uint8_t root_out[COMMAND_DIGEST_SIZE])
{
    merkle_hasher_t *hasher = merkle_hasher_new();
    if (!hasher)
        return SETTLE_ERR_NOMEM;
    size_t cursor = 0, count = 0, size;
    const uint8_t *claim;
    int rc = SETTLE_OK;
    while (rc == SETTLE_OK && count < batch->count &&
           command_batch_next(batch, &cursor, &claim, &size))
        rc = merkle_hasher_sha256(hasher, claim, size, hashes_out[count++]);
    if (rc == SETTLE_OK)
        rc = count == batch->count
                 ? merkle_hasher_root(hasher, (const uint8_t(*)[MERKLE_HASH_SIZE])hashes_out,
                                      count, root_out)
                 : SETTLE_ERR_CORRUPT;
    merkle_hasher_destroy(&hasher);
    return rc;
}

int command_batch_root(const command_batch_t *batch, uint8_t root_out[COMMAND_DIGEST_SIZE])
{
    uint8_t(*hashes)[COMMAND_DIGEST_SIZE] = settle_malloc((batch->count + 1) * sizeof *hashes);
    if (!hashes)
        return SETTLE_ERR_NOMEM;
    int rc = command_batch_root_hashes(batch, hashes, root_out);
    settle_free(hashes);
    return rc;
}

/* ------------------------------------------------------------------------
 * Fund and pay
 * ------------------------------------------------------------------------ */

static void s_put_fund(wire_writer_t *w, const void *value)
{
    const command_fund_t *v = value;
    if (!v->payer[0] || v->amount_cents <= 0 || v->amount_cents > COMMAND_FUND_CENTS_MAX) {
        w->ok = false;
        return;
    }
    wire_put_text(w, v->payer, sizeof v->payer);
    wire_put_uint(w, (uint64_t)v->amount_cents, 8);
}

int command_fund_encode(const command_fund_t *value, uint8_t **bytes_out, size_t *size_out)
{
    return s_encode(s_put_fund, value, bytes_out, size_out);
}

int command_fund_decode(const uint8_t *bytes, size_t size, command_fund_t *value_out,
                        settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "fund payload", "", error};
    command_fund_t v;
    memset(&v, 0, sizeof v);
    wire_get_text(&r, "payer", v.payer, sizeof v.payer);
    if (r.rc == SETTLE_OK && !v.payer[0])
        wire_fail(&r, SETTLE_ERR_MISSING, "empty payer id");
    r.field = "amount_cents";
    v.amount_cents = (int64_t)wire_get_uint(&r, 8);
    if (r.rc == SETTLE_OK && (v.amount_cents <= 0 || v.amount_cents > COMMAND_FUND_CENTS_MAX))
        wire_fail(&r, SETTLE_ERR_RANGE, "the amount must be positive and at most 10^15 cents");
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *value_out = v;
    return SETTLE_OK;
}

static void s_put_pay(wire_writer_t *w, const void *value)
{
    const command_pay_t *v = value;
    if (!v->payer[0]) {
        w->ok = false;
        return;
    }
    wire_put_text(w, v->payer, sizeof v->payer);
}

int command_pay_encode(const command_pay_t *value, uint8_t **bytes_out, size_t *size_out)
{
    return s_encode(s_put_pay, value, bytes_out, size_out);
}

/* A payload that is one non-empty participant id (pay, revoke); id_out is
 * written only on success. */
static int s_decode_id(const uint8_t *bytes, size_t size, const char *what, const char *field,
                       const char *empty, char id_out[COMMAND_PARTICIPANT_ID_SIZE],
                       settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, what, "", error};
    char id[COMMAND_PARTICIPANT_ID_SIZE] = "";
    wire_get_text(&r, field, id, sizeof id);
    if (r.rc == SETTLE_OK && !id[0])
        wire_fail(&r, SETTLE_ERR_MISSING, empty);
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    memcpy(id_out, id, sizeof id);
    return SETTLE_OK;
}

int command_pay_decode(const uint8_t *bytes, size_t size, command_pay_t *value_out,
                       settle_error_t *error)
{
    return s_decode_id(bytes, size, "pay payload", "payer", "empty payer id", value_out->payer,
                       error);
}

/* ------------------------------------------------------------------------
 * Rotate and revoke
 * ------------------------------------------------------------------------ */

/* Whether bytes[0..size) are all zero: an unset key or proof. */
static bool s_zero(const uint8_t *bytes, size_t size)
{
    uint8_t any = 0;
    for (size_t i = 0; i < size; i++)
        any |= bytes[i];
    return any == 0;
}

static void s_put_rotate(wire_writer_t *w, const void *value)
{
    const command_rotate_t *v = value;
    if (!v->participant[0] || s_zero(v->public_key, SIGN_PUBLIC_KEY_SIZE) ||
        s_zero(v->proof, SIGN_SIGNATURE_SIZE)) {
        w->ok = false;
        return;
    }
    wire_put_text(w, v->participant, sizeof v->participant);
    wire_put(w, v->public_key, SIGN_PUBLIC_KEY_SIZE);
    wire_put(w, v->proof, SIGN_SIGNATURE_SIZE);
}

int command_rotate_encode(const command_rotate_t *value, uint8_t **bytes_out, size_t *size_out)
{
    return s_encode(s_put_rotate, value, bytes_out, size_out);
}

int command_rotate_decode(const uint8_t *bytes, size_t size, command_rotate_t *value_out,
                          settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "rotate payload", "", error};
    command_rotate_t v;
    memset(&v, 0, sizeof v);
    wire_get_text(&r, "participant", v.participant, sizeof v.participant);
    if (r.rc == SETTLE_OK && !v.participant[0])
        wire_fail(&r, SETTLE_ERR_MISSING, "empty participant id");
    r.field = "public key";
    const uint8_t *key = wire_take(&r, SIGN_PUBLIC_KEY_SIZE);
    if (key)
        memcpy(v.public_key, key, SIGN_PUBLIC_KEY_SIZE);
    if (r.rc == SETTLE_OK && s_zero(v.public_key, SIGN_PUBLIC_KEY_SIZE))
        wire_fail(&r, SETTLE_ERR_CORRUPT, "the new public key is all zeros");
    r.field = "proof of possession";
    const uint8_t *proof = wire_take(&r, SIGN_SIGNATURE_SIZE);
    if (proof)
        memcpy(v.proof, proof, SIGN_SIGNATURE_SIZE);
    if (r.rc == SETTLE_OK && s_zero(v.proof, SIGN_SIGNATURE_SIZE))
        wire_fail(&r, SETTLE_ERR_MISSING, "no proof that the signer holds the new key (all zeros)");
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *value_out = v;
    return SETTLE_OK;
}

int command_rotate_proof_digest(const char *participant,
                                const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE],
                                const uint8_t new_public_key[SIGN_PUBLIC_KEY_SIZE],
                                uint64_t sequence, uint8_t digest_out[COMMAND_DIGEST_SIZE])
{
    static const char domain[] = COMMAND_ROTATE_DOMAIN;
    enum {
        MESSAGE_SIZE =
            sizeof domain - 1 + 2 + COMMAND_PARTICIPANT_ID_SIZE + 2 * SIGN_PUBLIC_KEY_SIZE + 8
    };
    uint8_t message[MESSAGE_SIZE];
    wire_writer_t w = {.at = message, .ok = true};
    if (!participant || !participant[0])
        return SETTLE_ERR_INVALID;
    wire_put(&w, domain, sizeof domain - 1);
    wire_put_text(&w, participant, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put(&w, old_public_key, SIGN_PUBLIC_KEY_SIZE);
    wire_put(&w, new_public_key, SIGN_PUBLIC_KEY_SIZE);
    wire_put_uint(&w, sequence, 8);
    if (!w.ok)
        return SETTLE_ERR_INVALID;
    return hash_sha256(message, w.used, digest_out);
}

/* The proof digest of value's rotation, with a message on failure. */
static int s_rotate_digest(const command_rotate_t *value,
                           const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t sequence,
                           uint8_t digest_out[COMMAND_DIGEST_SIZE], settle_error_t *error)
{
    int rc = command_rotate_proof_digest(value->participant, old_public_key, value->public_key,
                                         sequence, digest_out);
    if (rc == SETTLE_ERR_INVALID)
        return settle_error_set(error, rc, "rotate: bad participant id");
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "rotate: cannot hash the proof");
}

int command_rotate_prove(command_rotate_t *value, const sign_key_t *new_key,
                         const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t sequence,
                         settle_error_t *error)
{
    uint8_t digest[COMMAND_DIGEST_SIZE];
    sign_key_public(new_key, value->public_key);
    int rc = s_rotate_digest(value, old_public_key, sequence, digest, error);
    if (rc != SETTLE_OK)
        return rc;
    rc = sign_message(new_key, digest, sizeof digest, value->proof);
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "rotate: cannot sign the proof");
}

int command_rotate_verify(const command_rotate_t *value,
                          const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t sequence,
                          settle_error_t *error)
{
    uint8_t digest[COMMAND_DIGEST_SIZE];
    int rc = s_rotate_digest(value, old_public_key, sequence, digest, error);
    if (rc != SETTLE_OK)
        return rc;
    rc = sign_verify(value->public_key, digest, sizeof digest, value->proof);
    if (rc == SETTLE_ERR_SIGNATURE)
        return settle_error_set(error, rc,
                                "rotate %" PRIu64 " of %s: the new key's proof of possession "
                                "does not verify (its signature over " COMMAND_ROTATE_DOMAIN
                                ", the id, the key in force, the new key, the sequence)",
                                sequence, value->participant);
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "rotate: cannot verify the proof");
}

static void s_put_revoke(wire_writer_t *w, const void *value)
{
    const command_revoke_t *v = value;
    if (!v->participant[0]) {
        w->ok = false;
        return;
    }
    wire_put_text(w, v->participant, sizeof v->participant);
}

int command_revoke_encode(const command_revoke_t *value, uint8_t **bytes_out, size_t *size_out)
{
    return s_encode(s_put_revoke, value, bytes_out, size_out);
}

int command_revoke_decode(const uint8_t *bytes, size_t size, command_revoke_t *value_out,
                          settle_error_t *error)
{
    return s_decode_id(bytes, size, "revoke payload", "participant", "empty participant id",
                       value_out->participant, error);
}

/* ------------------------------------------------------------------------
 * Checkpoint
 * ------------------------------------------------------------------------ */

static void s_put_checkpoint(wire_writer_t *w, const void *value)
{
    const command_checkpoint_t *v = value;
    if (v->index == 0) {
        w->ok = false;
        return;
    }
    wire_put_uint(w, v->index, 8);
    wire_put(w, v->hash, COMMAND_DIGEST_SIZE);
}

int command_checkpoint_encode(const command_checkpoint_t *value, uint8_t **bytes_out,
                              size_t *size_out)
{
    return s_encode(s_put_checkpoint, value, bytes_out, size_out);
}

int command_checkpoint_decode(const uint8_t *bytes, size_t size, command_checkpoint_t *value_out,
                              settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "checkpoint payload", "index", error};
    command_checkpoint_t v;
    memset(&v, 0, sizeof v);
    v.index = wire_get_uint(&r, 8);
    if (r.rc == SETTLE_OK && v.index == 0)
        wire_fail(&r, SETTLE_ERR_RANGE, "index 0: the first link is 1");
    r.field = "hash";
    const uint8_t *hash = wire_take(&r, COMMAND_DIGEST_SIZE);
    if (hash)
        memcpy(v.hash, hash, COMMAND_DIGEST_SIZE);
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *value_out = v;
    return SETTLE_OK;
}
