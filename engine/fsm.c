/*
 * fsm.c - the state machine's life and its entry loop: open (rebuilding the
 * in-memory state from the ledger), apply an entry in one transaction and
 * link it into the chain, snapshot and restore.  The commands themselves
 * are applied in fsm_command.c, fsm_batch.c and fsm_pay.c.
 */
#include <stdarg.h>
#include <stdio.h>

#include "fsm_internal.h"

/* ------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------ */

fsm_results_t *fsm_results_new(void)
{
    return settle_calloc(1, sizeof(fsm_results_t));
}

void fsm_results_destroy(fsm_results_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    settle_free((*self_p)->commands);
    settle_free((*self_p)->claims);
    settle_free((*self_p)->payments);
    settle_free(*self_p);
    *self_p = NULL;
}

/* Grows an array of item_size items to hold one more; false on no memory. */
static bool s_grow(void **items, uint32_t count, uint32_t *capacity, size_t item_size)
{
    if (count < *capacity)
        return true;
    uint32_t grown = *capacity ? *capacity * 2 : 64;
    void *bigger = settle_realloc(*items, grown * item_size);
    if (!bigger)
        return false;
    *items = bigger;
    *capacity = grown;
    return true;
}

fsm_claim_result_t *fsm_results_add_claim(fsm_results_t *r)
{
    if (!s_grow((void **)&r->claims, r->claim_count, &r->claim_capacity, sizeof *r->claims))
        return NULL;
    fsm_claim_result_t *claim = &r->claims[r->claim_count++];
    memset(claim, 0, sizeof *claim);
    return claim;
}

fsm_payment_result_t *fsm_results_add_payment(fsm_results_t *r)
{
    if (!s_grow((void **)&r->payments, r->payment_count, &r->payment_capacity, sizeof *r->payments))
        return NULL;
    fsm_payment_result_t *payment = &r->payments[r->payment_count++];
    memset(payment, 0, sizeof *payment);
    return payment;
}

int fsm_reject(fsm_apply_t *apply, int code, const char *format, ...)
{
    fsm_command_result_t *result = apply->result;
    result->accepted = false;
    result->code = code;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(result->reason, sizeof result->reason, format, arguments);
    va_end(arguments);
    return FSM_REJECTED;
}

/* ------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------ */

/* How s_open opens the ledger. */
typedef enum { S_OPEN_AS_IS, S_OPEN_FRESH, S_OPEN_SCRATCH } s_open_t;

/* fsm_open, fsm_open_fresh and fsm_open_scratch: the ledger as it is,
 * emptied first, or a scratch ledger in memory (path unused). */
static int s_open(const char *path, s_open_t how, fsm_t **fsm_out, settle_error_t *error)
{
    if (!path || !fsm_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "fsm_open: bad argument");
    fsm_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    self->claim = claim_new();
    self->decision = interp_decision_new();
    self->changes = settle_malloc(sizeof *self->changes);
    self->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    self->hasher = EVP_MD_CTX_new();
    int rc = self->claim && self->decision && self->changes && self->hasher
                 ? SETTLE_OK
                 : settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    if (rc == SETTLE_OK && !self->sha256)
        rc = settle_error_set(error, SETTLE_ERR_CRYPTO, "fsm: SHA-256 is not available");
    if (rc == SETTLE_OK)
        rc = how == S_OPEN_SCRATCH ? ledger_open_scratch(&self->ledger, error)
             : how == S_OPEN_FRESH ? ledger_open_fresh(path, &self->ledger, error)
                                   : ledger_open(path, &self->ledger, error);
    if (rc == SETTLE_OK)
        rc = ledger_head(self->ledger, &self->head_index, self->head_hash) == SETTLE_OK
                 ? SETTLE_OK
                 : settle_error_set(error, SETTLE_ERR_IO, "fsm: cannot read the chain head");
    if (rc == SETTLE_OK)
        rc = fsm_cache_load(&self->cache, self->ledger, error);
    if (rc != SETTLE_OK) {
        fsm_destroy(&self);
        return rc;
    }
    *fsm_out = self;
    return SETTLE_OK;
}

int fsm_open(const char *path, fsm_t **fsm_out, settle_error_t *error)
{
    return s_open(path, S_OPEN_AS_IS, fsm_out, error);
}

int fsm_open_fresh(const char *path, fsm_t **fsm_out, settle_error_t *error)
{
    return s_open(path, S_OPEN_FRESH, fsm_out, error);
}

int fsm_open_scratch(fsm_t **fsm_out, settle_error_t *error)
{
    return s_open(":memory:", S_OPEN_SCRATCH, fsm_out, error);
}

void fsm_destroy(fsm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fsm_t *self = *self_p;
    fsm_cache_free(&self->cache);
    ledger_close(&self->ledger);
    settle_free(self->changes);
    EVP_MD_CTX_free(self->hasher);
    EVP_MD_free(self->sha256);
    interp_decision_destroy(&self->decision);
    for (int i = 0; i < FSM_DECODED_MAX; i++)
        claim_destroy(&self->decoded[i]);
    claim_destroy(&self->claim);
    fsm_ahead_free(&self->ahead);
    settle_free(self);
    *self_p = NULL;
}

void fsm_verify_signatures(fsm_t *self, bool verify)
{
    self->verify_signatures = verify;
}

void fsm_head(const fsm_t *self, uint64_t *index_out, uint8_t hash_out[FSM_HASH_SIZE])
{
    *index_out = self->head_index;
    memcpy(hash_out, self->head_hash, FSM_HASH_SIZE);
}

ledger_t *fsm_ledger(fsm_t *self)
{
    return self->ledger;
}

/* ------------------------------------------------------------------------
 * Applying an entry
 * ------------------------------------------------------------------------ */

typedef int (*s_apply_fn)(fsm_apply_t *apply, const command_t *command, settle_error_t *error);

static const s_apply_fn s_appliers[COMMAND_TYPE_MAX + 1] = {
    [COMMAND_REGISTER] = fsm_apply_register,
    [COMMAND_DEPLOY] = fsm_apply_deploy,
    [COMMAND_ENROLL] = fsm_apply_enroll,
    [COMMAND_BATCH] = fsm_apply_batch,
    [COMMAND_FUND] = fsm_apply_fund,
    [COMMAND_PAY] = fsm_apply_pay,
    [COMMAND_ROTATE] = fsm_apply_rotate,
    [COMMAND_REVOKE] = fsm_apply_revoke,
    [COMMAND_CHECKPOINT] = fsm_apply_checkpoint,
};

/* One command: authorize, apply, mark its sequence number seen, record it.
 * Returns SETTLE_OK (accepted or rejected) or a store failure. */
static int s_apply_command(fsm_apply_t *apply, const command_t *command,
                           const settle_error_t *decode_problem, settle_error_t *error)
{
    fsm_command_result_t *result = apply->result;
    fsm_results_t *results = apply->results;
    result->claim_first = results->claim_count;
    result->payment_first = results->payment_count;
    int rc;
    if (command->type == 0)
        rc = fsm_reject(apply, decode_problem->code, "%s", decode_problem->message);
    else
        rc = fsm_authorize(apply, command, apply->fsm->verify_signatures, true);
    if (rc == SETTLE_OK)
        rc = s_appliers[command->type](apply, command, error);
    if (rc == SETTLE_OK) {
        result->accepted = true;
        rc = fsm_sequence_accept(apply, command, error);
    }
    if (rc == FSM_REJECTED) {
        /* Nothing of a rejected command stays in the results either. */
        results->claim_count = result->claim_first;
        results->payment_count = result->payment_first;
        rc = SETTLE_OK;
    }
    result->claim_count = results->claim_count - result->claim_first;
    result->payment_count = results->payment_count - result->payment_first;
    if (rc == SETTLE_OK && command->type != 0)
        rc = ledger_command_put(apply->fsm->ledger, apply->entry_index, result->position, command,
                                result->accepted, result->reason, error);
    return rc;
}

int fsm_sha256(fsm_t *self, const void *data, size_t size, uint8_t digest_out[FSM_HASH_SIZE])
{
    unsigned int length = 0;
    if (EVP_DigestInit_ex2(self->hasher, self->sha256, NULL) != 1 ||
        EVP_DigestUpdate(self->hasher, data, size) != 1 ||
        EVP_DigestFinal_ex(self->hasher, digest_out, &length) != 1 || length != FSM_HASH_SIZE)
        return SETTLE_ERR_CRYPTO;
    return SETTLE_OK;
}

/* hash = SHA-256(previous hash || entry bytes || changes digest), hashed in
 * three pieces rather than copied into one buffer. */
static int s_link_hash(fsm_t *self, const uint8_t *entry, size_t size,
                       const uint8_t digest[FSM_HASH_SIZE], uint8_t hash_out[FSM_HASH_SIZE])
{
    unsigned int length = 0;
    if (EVP_DigestInit_ex2(self->hasher, self->sha256, NULL) != 1 ||
        EVP_DigestUpdate(self->hasher, self->head_hash, FSM_HASH_SIZE) != 1 ||
        EVP_DigestUpdate(self->hasher, entry, size) != 1 ||
        EVP_DigestUpdate(self->hasher, digest, FSM_HASH_SIZE) != 1 ||
        EVP_DigestFinal_ex(self->hasher, hash_out, &length) != 1 || length != FSM_HASH_SIZE)
        return SETTLE_ERR_CRYPTO;
    return SETTLE_OK;
}

/* Links the entry into the chain and commits; the link's digest and hash
 * go to digest and hash. */
static int s_link(fsm_t *self, uint64_t index, uint64_t timestamp_ms, const uint8_t *entry,
                  size_t size, uint8_t digest[FSM_HASH_SIZE], uint8_t hash[FSM_HASH_SIZE],
                  settle_error_t *error)
{
    int rc = ledger_flush_accounts(self->ledger, error);
    if (rc == SETTLE_OK && ledger_changes_digest(self->ledger, digest) != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: cannot digest the changes");
    if (rc == SETTLE_OK && s_link_hash(self, entry, size, digest, hash) != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_CRYPTO, "fsm: cannot hash the chain link");
    if (rc == SETTLE_OK)
        rc = ledger_chain_put(self->ledger, index, timestamp_ms, entry, size, digest, hash, error);
    if (rc == SETTLE_OK)
        rc = ledger_commit(self->ledger, error);
    if (rc == SETTLE_OK) {
        self->head_index = index;
        memcpy(self->head_hash, hash, FSM_HASH_SIZE);
    }
    return rc;
}

/* After a store failure: the transaction is gone, so is the cache. */
static int s_abort(fsm_t *self, int rc, settle_error_t *error)
{
    ledger_rollback(self->ledger);
    fsm_cache_free(&self->cache);
    settle_error_t reload;
    if (fsm_cache_load(&self->cache, self->ledger, &reload) != SETTLE_OK)
        settle_error_set(error, rc, "%s; and the state could not be reloaded: %s",
                         error ? error->message : "", reload.message);
    return rc;
}

static int s_results_start(fsm_results_t *results, uint32_t count)
{
    results->command_count = 0;
    results->claim_count = 0;
    results->payment_count = 0;
    results->changed = false;
    if (count > results->command_capacity) {
        fsm_command_result_t *bigger = settle_realloc(results->commands, count * sizeof *bigger);
        if (!bigger)
            return SETTLE_ERR_NOMEM;
        results->commands = bigger;
        results->command_capacity = count;
    }
    memset(results->commands, 0, count * sizeof *results->commands);
    results->command_count = count;
    return SETTLE_OK;
}

static int s_apply_commands(fsm_t *self, fsm_apply_t *apply, const command_entry_t *entry,
                            const settle_error_t *problems, settle_error_t *error)
{
    int rc = SETTLE_OK;
    bool any = false;
    for (uint32_t i = 0; rc == SETTLE_OK && i < entry->count; i++) {
        const command_t *command = &entry->commands[i];
        fsm_command_result_t *result = &apply->results->commands[i];
        result->position = i;
        result->type = command->type;
        memcpy(result->participant, command->participant, sizeof result->participant);
        result->sequence = command->sequence;
        apply->position = i;
        apply->result = result;
        rc = s_apply_command(apply, command, &problems[i], error);
        any = any || result->accepted;
    }
    return rc == SETTLE_OK && !any ? FSM_REJECTED : rc;
}

int fsm_apply(fsm_t *self, const uint8_t *entry, size_t size, fsm_results_t *results,
              settle_error_t *error)
{
    command_entry_t decoded;
    if (!self || !results)
        return settle_error_set(error, SETTLE_ERR_INVALID, "fsm_apply: bad argument");
    int rc = command_entry_decode(entry, size, &decoded, NULL, 0, error);
    if (rc != SETTLE_OK)
        return rc;
    settle_error_t *problems = settle_calloc(decoded.count + 1, sizeof *problems);
    if (!problems || s_results_start(results, decoded.count) != SETTLE_OK) {
        settle_free(problems);
        command_entry_free(&decoded);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    }
    command_entry_free(&decoded); /* decoded again, with each command's problem */
    command_entry_decode(entry, size, &decoded, problems, decoded.count + 1, NULL);
    fsm_apply_t apply = {.fsm = self,
                         .entry_index = self->head_index + 1,
                         .timestamp_ms = decoded.timestamp_ms,
                         .results = results};
    results->entry_index = self->head_index;
    results->timestamp_ms = decoded.timestamp_ms;
    rc = ledger_begin(self->ledger, error);
    if (rc == SETTLE_OK)
        rc = s_apply_commands(self, &apply, &decoded, problems, error);
    if (rc == FSM_REJECTED) {
        ledger_rollback(self->ledger); /* nothing was written but the rejections */
        rc = SETTLE_OK;
    } else if (rc == SETTLE_OK) {
        rc = s_link(self, apply.entry_index, decoded.timestamp_ms, entry, size,
                    results->changes_digest, results->hash, error);
        results->changed = rc == SETTLE_OK;
        results->entry_index = self->head_index;
    }
    if (rc != SETTLE_OK)
        rc = s_abort(self, rc, error);
    settle_free(problems);
    command_entry_free(&decoded);
    return rc;
}

/* ------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------ */

int fsm_snapshot(fsm_t *self, uint8_t **bytes_out, size_t *size_out, settle_error_t *error)
{
    return ledger_serialize(self->ledger, bytes_out, size_out, error);
}

int fsm_restore(fsm_t *self, const uint8_t *bytes, size_t size, settle_error_t *error)
{
    ledger_t *source = NULL;
    fsm_cache_t cache = {NULL, 0, 0};
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    int rc = ledger_open_snapshot(bytes, size, &source, error);
    if (rc == SETTLE_OK && ledger_head(source, &index, hash) != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_CORRUPT, "snapshot: no readable chain");
    if (rc == SETTLE_OK)
        rc = ledger_check(source, error);
    if (rc == SETTLE_OK)
        rc = fsm_cache_load(&cache, source, error);
    if (rc == SETTLE_OK)
        rc = ledger_replace(self->ledger, source, error);
    ledger_close(&source);
    if (rc != SETTLE_OK) {
        fsm_cache_free(&cache);
        return rc;
    }
    fsm_cache_free(&self->cache);
    self->cache = cache;
    self->head_index = index;
    memcpy(self->head_hash, hash, FSM_HASH_SIZE);
    return SETTLE_OK;
}
