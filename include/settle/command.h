/*
 * command.h - signed commands, the only way the ledger's state changes, and
 * the Raft entry that carries them; their canonical binary encodings.
 *
 * A command is: a type, the signer's participant id, the signer's sequence
 * number (each number is applied at most once, in any order within a
 * window of 1024 below the signer's highest: fsm.h), a payload
 * whose layout depends on the type, and an Ed25519 signature.  The signature
 * is over
 *
 *   SHA-256("settle.command/2" || u8 type || u16 length || participant
 *           || u64 sequence || payload digest)
 *
 * where the payload digest is the Merkle root (merkle.h) over a batch's
 * claims' content hashes (SHA-256 of each claim's encoding, the hash the
 * ledger keeps for it), and SHA-256(payload) for the other types: a batch
 * of a thousand claims costs one signature check, and any claim in it can
 * be proven part of the signed batch with a path.  The leaves are the
 * content hashes themselves, not SHA-256(0x00 || ...): no leaf can pass
 * for an inner node, SHA-256(0x01 || left || right), because every leaf
 * is the hash of a claim encoding, which begins with "SCLM" (a batch
 * whose claims do not is refused as it decodes) - and an auditor's
 * replay reuses the hashes it checked the signature with.  Version 2 of
 * the domain: version 1 signed a tree of SHA-256(0x00 || encoding).
 *
 * Encodings, integers big-endian, "str" a u16 length and bytes (no NUL),
 * "bytes" a u32 length and bytes:
 *
 *   command  "SCMD" u16:version(1) u8:type str:participant u64:sequence
 *            bytes:payload 64 x u8:signature
 *   entry    "SENT" u16:version(1) u64:timestamp_ms u32:count
 *            count x bytes:command
 *
 * One value has one encoding: decoders refuse trailing bytes, unknown
 * types, counts the buffer cannot hold, text outside printable ASCII and
 * anything past the limits below, so that the hash of an encoding is a
 * stable identity.  Decoding allocates nothing: a decoded command points
 * into the bytes it was decoded from.
 */
#ifndef SETTLE_COMMAND_H
#define SETTLE_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"
#include "settle/sign.h"

#define COMMAND_VERSION 1

/* Limits: past any of them the input is refused, never truncated. */
#define COMMAND_PARTICIPANT_ID_SIZE CLAIM_PAYER_ID_SIZE /* a payer's id is its claims' payer id */
#define COMMAND_DISPLAY_NAME_SIZE   129
#define COMMAND_PAYLOAD_SIZE_MAX    (16u << 20) /* 16 MiB */
#define COMMAND_ENTRY_SIZE_MAX      (64u << 20) /* 64 MiB */
#define COMMAND_ENTRY_COMMANDS_MAX  4096
#define COMMAND_BATCH_CLAIMS_MAX    10000
#define COMMAND_CLAIM_SIZE_MAX      (1u << 20) /* one claim's encoding */
#define COMMAND_DIGEST_SIZE         32
#define COMMAND_FUND_CENTS_MAX      INT64_C(1000000000000000) /* ten trillion dollars */

/* The signer id of the commands in the very first entry, which register
 * the first participants; it has no key (see fsm.h). */
#define COMMAND_GENESIS_PARTICIPANT "genesis"

typedef enum {
    COMMAND_REGISTER = 1,  /* register a participant */
    COMMAND_DEPLOY = 2,    /* deploy a contract */
    COMMAND_ENROLL = 3,    /* enroll or change members */
    COMMAND_BATCH = 4,     /* submit a batch of claims */
    COMMAND_FUND = 5,      /* fund a payer's account */
    COMMAND_PAY = 6,       /* run a payment cycle for a payer */
    COMMAND_ROTATE = 7,    /* replace the signer's own key */
    COMMAND_REVOKE = 8,    /* revoke a participant's key for good */
    COMMAND_CHECKPOINT = 9 /* a node signs a chain link's hash */
} command_type_t;

#define COMMAND_TYPE_MAX COMMAND_CHECKPOINT

/* "register", "deploy", "enroll", "batch", "fund", "pay", "rotate",
 * "revoke", "checkpoint"; "unknown" otherwise. */
const char *command_type_name(int type);

typedef enum {
    COMMAND_ROLE_PAYER = 1,
    COMMAND_ROLE_PROVIDER = 2,
    COMMAND_ROLE_AUDITOR = 3,
    COMMAND_ROLE_NODE = 4
} command_role_t;

/* "payer", "provider", "auditor", "node"; "unknown" otherwise. */
const char *command_role_name(int role);

/*
 * A command.  The payload is not owned: after command_decode it points into
 * the decoded bytes; before command_encode the caller points it at its own
 * payload encoding.
 */
typedef struct {
    uint8_t type; /* command_type_t */
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    uint64_t sequence;
    const uint8_t *payload;
    size_t payload_size;
    uint8_t signature[SIGN_SIGNATURE_SIZE];
} command_t;

/* The exact size command_encode_into writes; 0 when the command cannot be
 * encoded (unknown type, bad participant id, payload past its limit). */
size_t command_encoded_size(const command_t *command);

/* Writes the encoding into buffer[0..size).  SETTLE_ERR_INVALID for a
 * command that cannot be encoded, SETTLE_ERR_TOO_LONG when size is short. */
int command_encode_into(const command_t *command, uint8_t *buffer, size_t size);

/* Encodes into a new buffer the caller frees with settle_free. */
int command_encode(const command_t *command, uint8_t **bytes_out, size_t *size_out);

/*
 * Decodes bytes[0..size) into *command_out, whose payload then points into
 * bytes (keep them alive as long as the command).  SETTLE_ERR_TRUNCATED for
 * a short buffer, SETTLE_ERR_CORRUPT for a bad mark or value or trailing
 * bytes, SETTLE_ERR_VERSION, SETTLE_ERR_TOO_LONG past a limit; error says at
 * which byte and why.  Reads nothing outside the buffer; *command_out is
 * written only on success.
 */
int command_decode(const uint8_t *bytes, size_t size, command_t *command_out,
                   settle_error_t *error);

/* The payload digest the signature covers (see the top of this file).
 * For a batch the payload must decode (the error says why it does not). */
int command_payload_digest(const command_t *command, uint8_t digest_out[COMMAND_DIGEST_SIZE],
                           settle_error_t *error);

/* The 32 bytes that are signed: SHA-256 of the domain, type, participant,
 * sequence and payload digest. */
int command_signing_digest(const command_t *command, uint8_t digest_out[COMMAND_DIGEST_SIZE],
                           settle_error_t *error);

/* command_signing_digest with the payload digest computed already. */
int command_signing_digest_of(const command_t *command,
                              const uint8_t payload_digest[COMMAND_DIGEST_SIZE],
                              uint8_t digest_out[COMMAND_DIGEST_SIZE], settle_error_t *error);

/* Signs the command with key, filling command->signature. */
int command_sign(command_t *command, const sign_key_t *key, settle_error_t *error);

/* SETTLE_OK when the signature is public_key's over the command,
 * SETTLE_ERR_SIGNATURE when it is not; other codes when the payload cannot
 * be digested. */
int command_verify(const command_t *command, const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                   settle_error_t *error);

/* ------------------------------------------------------------------------
 * Entries: the leader's timestamp and the commands it batched.
 * ------------------------------------------------------------------------ */

/* A decoded entry.  commands[] is owned by the entry (command_entry_free);
 * each command's payload points into the bytes the entry was decoded from. */
typedef struct {
    uint64_t timestamp_ms; /* milliseconds since 1970-01-01 UTC, the leader's clock */
    uint32_t count;
    command_t *commands;
} command_entry_t;

/*
 * Encodes an entry of count commands, each given by its encoding
 * (command_encode), into a new buffer the caller frees with settle_free.
 * SETTLE_ERR_TOO_MANY past COMMAND_ENTRY_COMMANDS_MAX, SETTLE_ERR_TOO_LONG
 * past COMMAND_ENTRY_SIZE_MAX.
 */
int command_entry_encode(uint64_t timestamp_ms, const uint8_t *const *commands, const size_t *sizes,
                         uint32_t count, uint8_t **bytes_out, size_t *size_out);

/*
 * Decodes an entry's framing: the timestamp and each command's bytes.  The
 * commands themselves are decoded too; when one does not decode, its slot
 * has type 0 and the reason is written into the matching element of
 * reasons (when reasons is not NULL, an array the caller sizes with
 * command_entry_count).  The entry's own framing failing is an error as in
 * command_decode.  On success *entry_out owns an array freed with
 * command_entry_free.
 */
int command_entry_decode(const uint8_t *bytes, size_t size, command_entry_t *entry_out,
                         settle_error_t *reasons, uint32_t reasons_capacity, settle_error_t *error);

/*
 * The length of the entry at bytes[0..size) without the zero padding the
 * Raft log adds (libraft's on-disk log wants entries in multiples of 8
 * bytes): the length its own framing gives, when what follows is fewer
 * than 8 zero bytes; otherwise size, and decoding then refuses the entry
 * whole.  Reads only within bounds; the same bytes give the same answer on
 * every node.
 */
size_t command_entry_unpadded_size(const uint8_t *bytes, size_t size);

/* Frees the commands array; the entry is then empty.  Safe twice. */
void command_entry_free(command_entry_t *entry);

/* ------------------------------------------------------------------------
 * Payloads, one layout per type:
 *
 *   register  str:participant u8:role 32 x u8:public_key str:display_name str:npi
 *   deploy    bytes:yaml                 (the contract; its SHA-256 is its id)
 *   enroll    bytes:yaml                 (an enrollment file, enrollment.h; protected, phi.h)
 *   batch     str:payer u32:count count x bytes:claim   (claim_codec.h encodings)
 *   fund      str:payer i64:amount_cents (positive)
 *   pay       str:payer
 *   rotate    str:participant 32 x u8:public_key 64 x u8:proof
 *                                  (the signer itself; the new key; the new
 *                                  key's proof of possession, below)
 *   revoke    str:participant                      (whose key is revoked)
 *   checkpoint u64:index 32 x u8:hash              (a chain link, index >= 1)
 *
 * A rotate is signed, like every command, with the key in force: the
 * signature over the payload digest covers the new key and its proof.
 * The proof is the NEW key's Ed25519 signature over
 *
 *   SHA-256("settle.rotate/1" || str:participant || 32 x u8:old_public_key
 *           || 32 x u8:new_public_key || u64:sequence)
 *
 * where old_public_key is the key in force, the one that signs the rotate
 * command, and sequence the rotate command's own sequence number.  So
 * the signer shows it holds the new private key (it cannot rotate to a
 * key it does not hold, nor to another participant's public key), and a
 * proof made for one rotation - of one participant, away from one key, at
 * one sequence number - serves for no other.  The domain tag keeps the
 * proof from ever being a valid command signature, or a command signature
 * a proof.  Apply refuses a rotate whose proof does not verify (fsm.h).
 * From the next command on, only the new key verifies the signer's
 * commands.  A revoke ends the participant: every later command it signs
 * is refused (fsm.h).
 *
 * A checkpoint is a node's signed statement that the chain's link at index
 * has that hash (fsm.h): an auditor holding the node's key can trust a
 * head, or a copy of the chain up to it, without replaying it first.
 *
 * Each encoder returns a new buffer the caller frees with settle_free; each
 * decoder fills a view whose pointers point into the payload bytes.
 * ------------------------------------------------------------------------ */

typedef struct {
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    uint8_t role; /* command_role_t */
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    char display_name[COMMAND_DISPLAY_NAME_SIZE];
    char npi[CLAIM_NPI_SIZE]; /* ten digits for a provider, "" for the others */
} command_register_t;

typedef struct {
    const uint8_t *text; /* YAML, not NUL-terminated */
    size_t size;
} command_text_t;

typedef struct {
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    uint32_t count;
    const uint8_t *claims; /* count x (u32 length + claim encoding); see command_batch_claim */
    size_t claims_size;
} command_batch_t;

typedef struct {
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    int64_t amount_cents;
} command_fund_t;

typedef struct {
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
} command_pay_t;

int command_register_encode(const command_register_t *value, uint8_t **bytes_out, size_t *size_out);
/* Refuses an unknown role, a provider without a ten-digit NPI, an NPI on
 * any other role, an empty participant id or display name. */
int command_register_decode(const uint8_t *bytes, size_t size, command_register_t *value_out,
                            settle_error_t *error);

int command_text_encode(const command_text_t *value, uint8_t **bytes_out, size_t *size_out);
/* Refuses empty text and text past CONTRACT_TEXT_SIZE_MAX. */
int command_text_decode(const uint8_t *bytes, size_t size, command_text_t *value_out,
                        settle_error_t *error);

/* claims[i] is the canonical encoding of claim i, sizes[i] its size. */
int command_batch_encode(const char *payer, const uint8_t *const *claims, const size_t *sizes,
                         uint32_t count, uint8_t **bytes_out, size_t *size_out);
/* Checks the framing of every claim (not the claims themselves): a count of
 * 1..COMMAND_BATCH_CLAIMS_MAX, each length within the buffer and the limit,
 * nothing after the last. */
int command_batch_decode(const uint8_t *bytes, size_t size, command_batch_t *value_out,
                         settle_error_t *error);

/*
 * Walks a decoded batch: *cursor starts at 0; each call gives the next
 * claim's encoding and returns true, false after the last.  The batch must
 * come from command_batch_decode (the framing is trusted).
 */
bool command_batch_next(const command_batch_t *batch, size_t *cursor, const uint8_t **claim_out,
                        size_t *size_out);

/* The Merkle root over the batch's claims' content hashes (above). */
int command_batch_root(const command_batch_t *batch, uint8_t root_out[COMMAND_DIGEST_SIZE]);

/* command_batch_root, with each claim's content hash written to
 * hashes_out (batch->count of them). */
int command_batch_root_hashes(const command_batch_t *batch,
                              uint8_t (*hashes_out)[COMMAND_DIGEST_SIZE],
                              uint8_t root_out[COMMAND_DIGEST_SIZE]);

int command_fund_encode(const command_fund_t *value, uint8_t **bytes_out, size_t *size_out);
/* Refuses an amount that is not positive or above COMMAND_FUND_CENTS_MAX. */
int command_fund_decode(const uint8_t *bytes, size_t size, command_fund_t *value_out,
                        settle_error_t *error);

int command_pay_encode(const command_pay_t *value, uint8_t **bytes_out, size_t *size_out);
int command_pay_decode(const uint8_t *bytes, size_t size, command_pay_t *value_out,
                       settle_error_t *error);

#define COMMAND_ROTATE_DOMAIN "settle.rotate/1"

typedef struct {
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE]; /* the new key */
    uint8_t proof[SIGN_SIGNATURE_SIZE];       /* the new key's signature (command_rotate_prove) */
} command_rotate_t;

typedef struct {
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
} command_revoke_t;

/* Refuses an empty participant id, an all-zero key and an all-zero proof
 * (a rotate nobody proved: SETTLE_ERR_MISSING when decoding).  A payload
 * without the proof (the layout before it) is SETTLE_ERR_TRUNCATED.  The
 * decoder does not verify the proof: that takes the key in force and the
 * sequence number, which apply has (command_rotate_verify). */
int command_rotate_encode(const command_rotate_t *value, uint8_t **bytes_out, size_t *size_out);
int command_rotate_decode(const uint8_t *bytes, size_t size, command_rotate_t *value_out,
                          settle_error_t *error);

/* The 32 bytes a rotate's proof signs (the digest above).  SETTLE_ERR_INVALID
 * for an empty participant id or one past its size. */
int command_rotate_proof_digest(const char *participant,
                                const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE],
                                const uint8_t new_public_key[SIGN_PUBLIC_KEY_SIZE],
                                uint64_t sequence, uint8_t digest_out[COMMAND_DIGEST_SIZE]);

/*
 * Fills value->public_key with new_key's public key and value->proof with
 * its signature over the proof digest, for a rotate of value->participant
 * away from old_public_key sent with sequence number sequence.  The
 * caller holds the new private key: that is the point.
 */
int command_rotate_prove(command_rotate_t *value, const sign_key_t *new_key,
                         const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t sequence,
                         settle_error_t *error);

/* SETTLE_OK when value->proof is value->public_key's signature over the
 * proof digest of this rotation; SETTLE_ERR_SIGNATURE, with a message
 * naming the participant and the sequence, when it is not. */
int command_rotate_verify(const command_rotate_t *value,
                          const uint8_t old_public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t sequence,
                          settle_error_t *error);

/* Refuses an empty participant id. */
int command_revoke_encode(const command_revoke_t *value, uint8_t **bytes_out, size_t *size_out);
int command_revoke_decode(const uint8_t *bytes, size_t size, command_revoke_t *value_out,
                          settle_error_t *error);

typedef struct {
    uint64_t index; /* the chain link, 1 or more */
    uint8_t hash[COMMAND_DIGEST_SIZE];
} command_checkpoint_t;

/* Refuses index 0 (there is no link 0 to vouch for). */
int command_checkpoint_encode(const command_checkpoint_t *value, uint8_t **bytes_out,
                              size_t *size_out);
int command_checkpoint_decode(const uint8_t *bytes, size_t size, command_checkpoint_t *value_out,
                              settle_error_t *error);

#endif
