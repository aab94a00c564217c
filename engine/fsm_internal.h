/*
 * fsm_internal.h - the state machine's parts, shared by fsm.c (entries,
 * snapshots), fsm_command.c (checks, register, deploy, enroll, fund),
 * fsm_batch.c (claims), fsm_pay.c (payment cycles) and fsm_state.c (the
 * in-memory state and its rebuilding).  Private to engine/.
 */
#ifndef SETTLE_FSM_INTERNAL_H
#define SETTLE_FSM_INTERNAL_H

#include <string.h>

#include <openssl/evp.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/contract.h"
#include "settle/enrollment.h"
#include "settle/fsm.h"
#include "settle/interp_state.h"
#include "settle/date.h"
#include "settle/phi.h"

#define FSM_MS_PER_DAY 86400000u

/* The claims of a batch kept decoded between its check and its apply
 * (fsm_batch.c); claims past this many are decoded twice. */
#define FSM_DECODED_MAX 256

/* What one payer's claims are adjudicated against, kept in memory: its
 * contracts in deployment order, its enrollment, its accumulators and
 * claim history.  Rebuilt from the ledger on open and restore. */
typedef struct {
    char id[COMMAND_PARTICIPANT_ID_SIZE];
    contract_t **contracts;
    uint8_t (*contract_hashes)[LEDGER_HASH_SIZE]; /* contracts[i]'s ledger id */
    size_t contract_count;
    size_t contract_capacity;
    enrollment_t *enrollment; /* never NULL: empty until the first enroll */
    interp_state_t *state;
} fsm_payer_t;

/* The in-memory state: payers sorted by id. */
typedef struct {
    fsm_payer_t *payers;
    size_t payer_count;
    size_t payer_capacity;
} fsm_cache_t;

typedef struct fsm_ahead_s fsm_ahead_t; /* fsm_ahead.c */

struct fsm_s {
    ledger_t *ledger;
    fsm_cache_t cache;
    bool verify_signatures;
    uint64_t head_index;
    uint8_t head_hash[FSM_HASH_SIZE];
    EVP_MD *sha256;                    /* fetched once */
    EVP_MD_CTX *hasher;                /* reused for every hash apply takes (fsm_sha256) */
    claim_t *claim;                    /* scratch, reused claim after claim */
    claim_t *decoded[FSM_DECODED_MAX]; /* made on first use, reused batch after batch */
    /* The accounts of the last claim settled (fsm_batch.c), kept because
     * the claims of a batch mostly share their payer and provider. */
    char account_payer[COMMAND_PARTICIPANT_ID_SIZE];
    char account_npi[CLAIM_NPI_SIZE];
    char account_funding[LEDGER_ACCOUNT_ID_SIZE];
    char account_payable[LEDGER_ACCOUNT_ID_SIZE];
    interp_decision_t *decision;
    interp_changes_t *changes;
    fsm_ahead_t *ahead; /* signatures checked ahead (fsm_verify_ahead); NULL before */
};

/* The entry being applied. */
typedef struct {
    fsm_t *fsm;
    uint64_t entry_index;
    uint64_t timestamp_ms;
    uint32_t position;     /* of the command being applied */
    uint64_t genesis_next; /* the next genesis sequence number in this entry */
    fsm_results_t *results;
    fsm_command_result_t *result; /* the command being applied */
} fsm_apply_t;

/* A command's outcome: SETTLE_OK applied; FSM_REJECTED refused (reason in
 * the result, nothing changed); any other code is a store failure that
 * aborts the entry. */
#define FSM_REJECTED (-1)

/* SHA-256 of size bytes with the machine's one context (no allocation,
 * no algorithm lookup per call).  SETTLE_ERR_CRYPTO on failure. */
int fsm_sha256(fsm_t *self, const void *data, size_t size, uint8_t digest_out[FSM_HASH_SIZE]);

/* Rejects the command being applied with a reason (printf-style). */
int fsm_reject(fsm_apply_t *apply, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the signer, role and sequence number (against the replay window,
 * ledger.h), and the signature when asked.  applying: in apply, where the
 * genesis commands must come in order (0, 1, 2...); not in the leader's
 * check. */
int fsm_authorize(fsm_apply_t *apply, const command_t *command, bool check_signature,
                  bool applying);

/* Whether the command at (entry_index, position) had its signature
 * checked ahead, and found good, against this key (fsm_verify_ahead). */
bool fsm_verified_ahead(fsm_t *self, uint64_t entry_index, uint32_t position,
                        const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                        const uint8_t signature[SIGN_SIGNATURE_SIZE]);

/* The content hashes of the batch at (entry_index, position), its count
 * claims', computed when its signature was checked ahead; NULL when it
 * was not (apply hashes the claims itself). */
const uint8_t (*fsm_ahead_hashes(fsm_t *self, uint64_t entry_index, uint32_t position,
                                 uint32_t count))[COMMAND_DIGEST_SIZE];

/* Frees what fsm_verify_ahead kept; nulls the pointer; safe on NULL. */
void fsm_ahead_free(fsm_ahead_t **self_p);

/* Records an accepted command's sequence number in its signer's window
 * (for genesis, the next number expected in the entry). */
int fsm_sequence_accept(fsm_apply_t *apply, const command_t *command, settle_error_t *error);

int fsm_apply_register(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_deploy(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_enroll(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_fund(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_batch(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_pay(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_rotate(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_revoke(fsm_apply_t *apply, const command_t *command, settle_error_t *error);
int fsm_apply_checkpoint(fsm_apply_t *apply, const command_t *command, settle_error_t *error);

/* Room for one more claim or payment result; NULL when out of memory. */
fsm_claim_result_t *fsm_results_add_claim(fsm_results_t *results);
fsm_payment_result_t *fsm_results_add_payment(fsm_results_t *results);

/* The payer's in-memory record, made (empty) when new; NULL on no memory. */
fsm_payer_t *fsm_cache_payer(fsm_cache_t *cache, const char *payer);

/* Adds a compiled contract and its ledger id (the SHA-256 of its YAML) to
 * the payer's list, taking ownership of contract (destroyed on failure:
 * SETTLE_ERR_NOMEM). */
int fsm_payer_add_contract(fsm_payer_t *payer, contract_t *contract,
                           const uint8_t hash[LEDGER_HASH_SIZE], settle_error_t *error);

/* Rebuilds the payer's enrollment from the ledger's members. */
int fsm_cache_reload_enrollment(fsm_cache_t *cache, ledger_t *ledger, const char *payer,
                                settle_error_t *error);

/* Builds a whole cache from a ledger (open, restore). */
int fsm_cache_load(fsm_cache_t *cache, ledger_t *ledger, settle_error_t *error);

/* Frees a cache's contents; it is then empty. */
void fsm_cache_free(fsm_cache_t *cache);

#endif
