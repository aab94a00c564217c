/*
 * ledger_query.c - read-only lookups for the node's query verbs (see
 * include/settle/ledger_query.h).  Each function prepares its statements,
 * steps them and finalizes them before returning: queries are rare next to
 * apply, and this keeps them out of the ledger's statement cache, which
 * belongs to the writer.  Claim rows are read with ledger_claim_get, so
 * there is one place that maps a claims row to ledger_claim_t.
 */
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/hash.h"
#include "settle/ledger_query.h"

/* Prepares sql into *statement_out; SETTLE_ERR_IO with SQLite's reason. */
static int s_prepare(ledger_t *self, const char *sql, sqlite3_stmt **statement_out,
                     settle_error_t *error)
{
    if (sqlite3_prepare_v2(self->db, sql, -1, statement_out, NULL) != SQLITE_OK) {
        sqlite3_finalize(*statement_out);
        *statement_out = NULL;
        return ledger_sqlite_error(self, "preparing a query", error);
    }
    return SETTLE_OK;
}

/* ledger_claim_get with the error record filled. */
static int s_claim_get(ledger_t *self, const char *payer, const char *claim_id,
                       ledger_claim_t *row_out, settle_error_t *error)
{
    int rc = ledger_claim_get(self, payer, claim_id, row_out);
    if (rc == SETTLE_ERR_IO)
        return ledger_sqlite_error(self, "reading a claim", error);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return settle_error_set(error, rc, "no claim %s of payer %s", claim_id, payer);
    return rc;
}

int ledger_claim_each_with_id(ledger_t *self, const char *claim_id, const char *payer,
                              ledger_claim_fn each, void *context, settle_error_t *error)
{
    ledger_claim_t row;
    if (payer) {
        int rc = s_claim_get(self, payer, claim_id, &row, error);
        return rc == SETTLE_OK ? each(&row, context) : rc;
    }
    /* By payer, through the (payer, claim_id) index: payers are few, claims many. */
    sqlite3_stmt *s;
    int rc = s_prepare(self, "SELECT id FROM participants WHERE role = ?1 ORDER BY id", &s, error);
    if (rc != SETTLE_OK)
        return rc;
    sqlite3_bind_int(s, 1, COMMAND_ROLE_PAYER);
    uint32_t found = 0;
    int step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        char id[COMMAND_PARTICIPANT_ID_SIZE];
        ledger_column_text(s, 0, id, sizeof id);
        rc = ledger_claim_get(self, id, claim_id, &row);
        if (rc == SETTLE_OK) {
            found++;
            rc = each(&row, context);
        } else {
            rc = rc == SETTLE_ERR_NOT_FOUND ? SETTLE_OK
                                            : ledger_sqlite_error(self, "reading a claim", error);
        }
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(self, "reading the payers", error);
    sqlite3_finalize(s);
    if (rc == SETTLE_OK && found == 0)
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND, "no claim %s", claim_id);
    return rc;
}

int ledger_payment_get(ledger_t *self, const char *payment_id, ledger_payment_t *row_out,
                       settle_error_t *error)
{
    sqlite3_stmt *s;
    int rc = s_prepare(self,
                       "SELECT payer, npi, total_cents, claim_count, entry_index FROM payments "
                       "WHERE payment_id = ?1",
                       &s, error);
    if (rc != SETTLE_OK)
        return rc;
    ledger_bind_text(s, 1, payment_id);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        ledger_payment_t row;
        memset(&row, 0, sizeof row);
        memcpy(row.payment_id, payment_id, strnlen(payment_id, sizeof row.payment_id - 1));
        ledger_column_text(s, 0, row.payer, sizeof row.payer);
        ledger_column_text(s, 1, row.npi, sizeof row.npi);
        row.total_cents = sqlite3_column_int64(s, 2);
        row.claim_count = (uint32_t)sqlite3_column_int64(s, 3);
        row.entry_index = (uint64_t)sqlite3_column_int64(s, 4);
        *row_out = row;
    } else if (step == SQLITE_DONE) {
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND, "no payment %s", payment_id);
    } else {
        rc = ledger_sqlite_error(self, "reading a payment", error);
    }
    sqlite3_finalize(s);
    return rc;
}

int ledger_payment_claim_each(ledger_t *self, const ledger_payment_t *payment, ledger_claim_fn each,
                              void *context, settle_error_t *error)
{
    sqlite3_stmt *s;
    int rc = s_prepare(self,
                       "SELECT claim_id FROM claims WHERE payer = ?1 AND payment_id = ?2 "
                       "ORDER BY claim_row",
                       &s, error);
    if (rc != SETTLE_OK)
        return rc;
    ledger_bind_text(s, 1, payment->payer);
    ledger_bind_text(s, 2, payment->payment_id);
    int step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        char claim_id[CLAIM_ID_SIZE];
        ledger_claim_t row;
        ledger_column_text(s, 0, claim_id, sizeof claim_id);
        rc = s_claim_get(self, payment->payer, claim_id, &row, error);
        if (rc == SETTLE_OK)
            rc = each(&row, context);
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(self, "reading a payment's claims", error);
    sqlite3_finalize(s);
    return rc;
}

int ledger_provider_by_npi(ledger_t *self, const char *npi, ledger_participant_t *row_out,
                           settle_error_t *error)
{
    sqlite3_stmt *s;
    int rc = s_prepare(self,
                       "SELECT id FROM participants WHERE npi = ?1 AND role = ?2 "
                       "ORDER BY id LIMIT 1",
                       &s, error);
    if (rc != SETTLE_OK)
        return rc;
    ledger_bind_text(s, 1, npi);
    sqlite3_bind_int(s, 2, COMMAND_ROLE_PROVIDER);
    char id[COMMAND_PARTICIPANT_ID_SIZE] = "";
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        ledger_column_text(s, 0, id, sizeof id);
    else if (step == SQLITE_DONE)
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND, "no provider with NPI %s", npi);
    else
        rc = ledger_sqlite_error(self, "reading the providers", error);
    sqlite3_finalize(s);
    if (rc == SETTLE_OK && ledger_participant_get(self, id, row_out) != SETTLE_OK)
        rc = ledger_sqlite_error(self, "reading a provider", error);
    return rc;
}

int ledger_member_get(ledger_t *self, const char *payer, const char *member_id,
                      enrollment_member_t *member_out, settle_error_t *error)
{
    sqlite3_stmt *s;
    int rc = s_prepare(self,
                       "SELECT family, contract_id, birth_date, sex, coverage_from, coverage_to "
                       "FROM members WHERE payer = ?1 AND member_id = ?2",
                       &s, error);
    if (rc != SETTLE_OK)
        return rc;
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, member_id);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        enrollment_member_t member;
        char sex[2];
        memset(&member, 0, sizeof member);
        memcpy(member.id, member_id, strnlen(member_id, sizeof member.id - 1));
        ledger_column_text(s, 0, member.family, sizeof member.family);
        ledger_column_text(s, 1, member.contract, sizeof member.contract);
        member.birth_date = sqlite3_column_int(s, 2);
        ledger_column_text(s, 3, sex, sizeof sex);
        member.sex = sex[0];
        member.coverage_from = sqlite3_column_int(s, 4);
        member.coverage_to = sqlite3_column_int(s, 5);
        *member_out = member;
    } else if (step == SQLITE_DONE) {
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND, "no member %s of payer %s", member_id,
                              payer);
    } else {
        rc = ledger_sqlite_error(self, "reading a member", error);
    }
    sqlite3_finalize(s);
    return rc;
}

typedef struct {
    const char *payer;
    const enrollment_member_t *member;
    ledger_total_fn each;
    void *context;
} s_member_totals_t;

static bool s_family_kind(uint8_t kind)
{
    return kind == INTERP_ACCUMULATOR_DEDUCTIBLE_FAMILY || kind == INTERP_ACCUMULATOR_OOP_FAMILY;
}

static int s_member_total(const char *payer, const interp_accumulator_t *total, void *context)
{
    s_member_totals_t *filter = context;
    const char *key = s_family_kind(total->kind) ? filter->member->family : filter->member->id;
    if (strcmp(payer, filter->payer) != 0 || strcmp(total->key, key) != 0)
        return SETTLE_OK;
    return filter->each(payer, total, filter->context);
}

int ledger_member_total_each(ledger_t *self, const char *payer, const enrollment_member_t *member,
                             ledger_total_fn each, void *context, settle_error_t *error)
{
    s_member_totals_t filter = {payer, member, each, context};
    return ledger_total_each(self, s_member_total, &filter, error);
}

int ledger_chain_entry(ledger_t *self, uint64_t entry_index, uint64_t *timestamp_ms_out,
                       uint8_t **entry_out, size_t *size_out, settle_error_t *error)
{
    sqlite3_stmt *s;
    int rc =
        s_prepare(self, "SELECT timestamp_ms, entry FROM chain WHERE entry_index = ?1", &s, error);
    if (rc != SETTLE_OK)
        return rc;
    sqlite3_bind_int64(s, 1, (int64_t)entry_index);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        size_t size = (size_t)sqlite3_column_bytes(s, 1);
        uint8_t *copy = settle_malloc(size ? size : 1);
        if (copy) {
            if (size)
                memcpy(copy, sqlite3_column_blob(s, 1), size);
            *timestamp_ms_out = (uint64_t)sqlite3_column_int64(s, 0);
            *entry_out = copy;
            *size_out = size;
        } else {
            rc = settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
        }
    } else if (step == SQLITE_DONE) {
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND, "no chain entry %llu",
                              (unsigned long long)entry_index);
    } else {
        rc = ledger_sqlite_error(self, "reading the chain", error);
    }
    sqlite3_finalize(s);
    return rc;
}

/* Looks through one batch command for the claim whose encoding hashes to
 * hash; SETTLE_ERR_NOT_FOUND when it holds none. */
static int s_batch_find(const command_t *command, const uint8_t hash[LEDGER_HASH_SIZE],
                        claim_t *claim_out, settle_error_t *error)
{
    command_batch_t batch;
    int rc = command_batch_decode(command->payload, command->payload_size, &batch, error);
    size_t cursor = 0, size;
    const uint8_t *bytes;
    while (rc == SETTLE_OK && command_batch_next(&batch, &cursor, &bytes, &size)) {
        uint8_t digest[HASH_SHA256_SIZE];
        rc = hash_sha256(bytes, size, digest);
        if (rc == SETTLE_OK && memcmp(digest, hash, sizeof digest) == 0)
            return claim_decode_into(claim_out, bytes, size, error);
    }
    if (rc == SETTLE_ERR_CRYPTO)
        return settle_error_set(error, rc, "cannot hash a claim");
    return rc == SETTLE_OK ? SETTLE_ERR_NOT_FOUND : rc;
}

int ledger_claim_content(ledger_t *self, const ledger_claim_t *row, claim_t *claim_out,
                         settle_error_t *error)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    uint64_t timestamp_ms;
    command_entry_t entry = {0};
    settle_error_t problem;
    settle_error_clear(&problem);
    int rc = ledger_chain_entry(self, row->entry_index, &timestamp_ms, &bytes, &size, error);
    if (rc == SETTLE_OK && command_entry_decode(bytes, command_entry_unpadded_size(bytes, size),
                                                &entry, NULL, 0, &problem) != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_CORRUPT, "ledger: chain entry %llu: %s",
                              (unsigned long long)row->entry_index, problem.message);
    int found = SETTLE_ERR_NOT_FOUND;
    for (uint32_t i = 0; rc == SETTLE_OK && found == SETTLE_ERR_NOT_FOUND && i < entry.count; i++)
        if (entry.commands[i].type == COMMAND_BATCH)
            found = s_batch_find(&entry.commands[i], row->content_hash, claim_out, &problem);
    if (rc == SETTLE_OK && found == SETTLE_ERR_NOT_FOUND)
        rc = settle_error_set(error, found, "claim %s of payer %s: not in chain entry %llu",
                              row->claim_id, row->payer, (unsigned long long)row->entry_index);
    else if (rc == SETTLE_OK && found != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_CORRUPT, "claim %s of payer %s: %s", row->claim_id,
                              row->payer, problem.message);
    command_entry_free(&entry);
    settle_free(bytes);
    return rc;
}
