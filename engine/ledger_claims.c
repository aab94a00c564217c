/*
 * ledger_claims.c - claims and their decisions: the decision encoding (one
 * canonical blob per claim holding its lines, adjustments and accumulator
 * changes; layout in ledger.h), writing a claim's row, and the reads that
 * rebuild the interpreter's state from the decisions.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ledger_internal.h"
#include "settle/money.h"

static const uint8_t s_decision_magic[4] = {'S', 'D', 'E', 'C'};

/* ------------------------------------------------------------------------
 * The decision encoding
 * ------------------------------------------------------------------------ */

/* The nine amounts of a line, in their encoded order. */
#define S_LINE_AMOUNTS 9

static void s_line_amounts(interp_line_t *line, int64_t *amounts[S_LINE_AMOUNTS])
{
    int64_t *all[S_LINE_AMOUNTS] = {
        &line->units_milli,       &line->units_milli_paid, &line->billed_cents,
        &line->allowed_cents,     &line->deductible_cents, &line->copay_cents,
        &line->coinsurance_cents, &line->paid_cents,       &line->patient_cents};
    memcpy(amounts, all, sizeof all);
}

/* The most bytes a text of a field_size field, a line and a change take. */
#define S_TEXT_SIZE_MAX(field_size) (2 + (field_size)-1)
#define S_ADJUSTMENT_SIZE_MAX                                                                      \
    (S_TEXT_SIZE_MAX(INTERP_GROUP_SIZE) + S_TEXT_SIZE_MAX(INTERP_REASON_SIZE) + 8)
#define S_LINE_SIZE_MAX                                                                            \
    (4 + S_TEXT_SIZE_MAX(CLAIM_PROCEDURE_SIZE) + 8 * S_LINE_AMOUNTS + 2 +                          \
     INTERP_ADJUSTMENTS_MAX * S_ADJUSTMENT_SIZE_MAX)
#define S_CHANGE_SIZE_MAX                                                                          \
    (1 + 4 + S_TEXT_SIZE_MAX(CLAIM_MEMBER_ID_SIZE) + S_TEXT_SIZE_MAX(CONTRACT_ID_SIZE) + 8)

/* The writer below stores straight into a buffer reserved for the largest
 * encoding the counts allow: no bounds check per field, one per decision. */
static inline uint8_t *s_put(uint8_t *at, uint64_t value, int size)
{
    for (int i = 0; i < size; i++)
        at[i] = (uint8_t)(value >> (8 * (size - 1 - i)));
    return at + size;
}

/* A text as u16 length and bytes; NULL when it is not printable ASCII
 * shorter than its field. */
static uint8_t *s_put_text(uint8_t *at, const char *text, size_t field_size)
{
    size_t length = strnlen(text, field_size);
    if (!at || !wire_text_ok(text, length, field_size))
        return NULL;
    at = s_put(at, length, 2);
    memcpy(at, text, length);
    return at + length;
}

static uint8_t *s_put_line(uint8_t *at, const interp_line_t *line)
{
    int64_t *amounts[S_LINE_AMOUNTS];
    s_line_amounts((interp_line_t *)line, amounts); /* read only */
    if (line->adjustment_count > INTERP_ADJUSTMENTS_MAX)
        return NULL;
    at = s_put(at, line->line, 4);
    at = s_put_text(at, line->code, sizeof line->code);
    for (int i = 0; at && i < S_LINE_AMOUNTS; i++)
        at = s_put(at, (uint64_t)*amounts[i], 8);
    if (at) {
        at = s_put(at, (uint64_t)line->denied_in_full << 1 | line->denied_in_part, 1);
        at = s_put(at, line->adjustment_count, 1);
    }
    for (uint32_t a = 0; at && a < line->adjustment_count; a++) {
        const interp_adjustment_t *adjustment = &line->adjustments[a];
        at = s_put_text(at, adjustment->group, sizeof adjustment->group);
        at = s_put_text(at, adjustment->reason, sizeof adjustment->reason);
        if (at)
            at = s_put(at, (uint64_t)adjustment->amount_cents, 8);
    }
    return at;
}

static uint8_t *s_put_change(uint8_t *at, const interp_accumulator_t *change)
{
    if (change->kind > INTERP_ACCUMULATOR_BENEFIT_UNITS)
        return NULL;
    at = s_put(at, change->kind, 1);
    at = s_put(at, (uint32_t)change->year, 4);
    at = s_put_text(at, change->key, sizeof change->key);
    at = s_put_text(at, change->benefit, sizeof change->benefit);
    return at ? s_put(at, (uint64_t)change->amount, 8) : NULL;
}

/* Encodes into w (grown to the largest size the counts allow).
 * SETTLE_ERR_INVALID for a value the decoder would refuse, SETTLE_ERR_NOMEM. */
static int s_write_decision(wire_writer_t *w, const interp_decision_t *decision,
                            const interp_changes_t *changes)
{
    uint32_t change_count = changes ? changes->count : 0;
    if (decision->line_count > CLAIM_LINES_MAX || change_count > INTERP_CHANGES_MAX)
        return SETTLE_ERR_INVALID;
    size_t size_max = sizeof s_decision_magic + 2 + 2 + 2 +
                      (size_t)decision->line_count * S_LINE_SIZE_MAX +
                      (size_t)change_count * S_CHANGE_SIZE_MAX;
    w->used = 0;
    w->ok = true;
    if (!wire_reserve(w, size_max))
        return SETTLE_ERR_NOMEM;
    uint8_t *at = w->at;
    memcpy(at, s_decision_magic, sizeof s_decision_magic);
    at = s_put(at + sizeof s_decision_magic, LEDGER_DECISION_VERSION, 2);
    at = s_put(at, decision->line_count, 2);
    for (uint32_t i = 0; at && i < decision->line_count; i++)
        at = s_put_line(at, &decision->lines[i]);
    if (at)
        at = s_put(at, change_count, 2);
    for (uint32_t i = 0; at && i < change_count; i++)
        at = s_put_change(at, &changes->items[i]);
    if (!at)
        return SETTLE_ERR_INVALID;
    w->used = (size_t)(at - w->at);
    return SETTLE_OK;
}

/* Encodes into the ledger's scratch writer (reused claim after claim). */
static int s_encode_scratch(ledger_t *self, const interp_decision_t *decision,
                            const interp_changes_t *changes, settle_error_t *error)
{
    int rc = s_write_decision(&self->decision, decision, changes);
    if (rc == SETTLE_ERR_NOMEM)
        return settle_error_set(error, rc, "ledger: out of memory");
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "ledger: decision of %s cannot be encoded",
                                decision->claim_id);
    return SETTLE_OK;
}

int ledger_decision_encode(const interp_decision_t *decision, const interp_changes_t *changes,
                           uint8_t **bytes_out, size_t *size_out)
{
    wire_writer_t w = {.grow = true, .ok = true};
    int rc = s_write_decision(&w, decision, changes);
    if (rc != SETTLE_OK) {
        settle_free(w.at);
        return rc;
    }
    *bytes_out = w.at;
    *size_out = w.used;
    return SETTLE_OK;
}

static void s_read_line(wire_reader_t *r, interp_line_t *line)
{
    int64_t *amounts[S_LINE_AMOUNTS];
    memset(line, 0, sizeof *line);
    s_line_amounts(line, amounts);
    r->field = "line";
    line->line = (uint32_t)wire_get_uint(r, 4);
    wire_get_text(r, "code", line->code, sizeof line->code);
    r->field = "amounts";
    for (int i = 0; i < S_LINE_AMOUNTS; i++)
        *amounts[i] = (int64_t)wire_get_uint(r, 8);
    r->field = "flags";
    uint64_t flags = wire_get_uint(r, 1);
    if (flags > 3)
        wire_fail(r, SETTLE_ERR_CORRUPT, "denial flags out of range");
    line->denied_in_full = (flags & 2) != 0;
    line->denied_in_part = (flags & 1) != 0;
    r->field = "adjustment count";
    line->adjustment_count = (uint32_t)wire_get_uint(r, 1);
    if (line->adjustment_count > INTERP_ADJUSTMENTS_MAX)
        wire_fail(r, SETTLE_ERR_TOO_LONG, "more adjustments than a line may have");
    for (uint32_t a = 0; r->rc == SETTLE_OK && a < line->adjustment_count; a++) {
        interp_adjustment_t *adjustment = &line->adjustments[a];
        wire_get_text(r, "group", adjustment->group, sizeof adjustment->group);
        wire_get_text(r, "reason", adjustment->reason, sizeof adjustment->reason);
        r->field = "adjustment amount";
        adjustment->amount_cents = (int64_t)wire_get_uint(r, 8);
    }
}

static void s_read_changes(wire_reader_t *r, interp_changes_t *changes)
{
    r->field = "change count";
    changes->count = (uint32_t)wire_get_uint(r, 2);
    if (changes->count > INTERP_CHANGES_MAX)
        wire_fail(r, SETTLE_ERR_TOO_LONG, "more accumulator changes than a claim may make");
    for (uint32_t i = 0; r->rc == SETTLE_OK && i < changes->count; i++) {
        interp_accumulator_t *change = &changes->items[i];
        memset(change, 0, sizeof *change);
        r->field = "kind";
        change->kind = (uint8_t)wire_get_uint(r, 1);
        if (change->kind > INTERP_ACCUMULATOR_BENEFIT_UNITS)
            wire_fail(r, SETTLE_ERR_CORRUPT, "unknown accumulator kind");
        r->field = "year";
        change->year = (int32_t)(uint32_t)wire_get_uint(r, 4);
        wire_get_text(r, "key", change->key, sizeof change->key);
        wire_get_text(r, "benefit", change->benefit, sizeof change->benefit);
        r->field = "amount";
        change->amount = (int64_t)wire_get_uint(r, 8);
    }
    if (r->rc != SETTLE_OK)
        changes->count = 0;
}

int ledger_decision_decode(const uint8_t *bytes, size_t size, interp_decision_t *decision,
                           interp_changes_t *changes, settle_error_t *error)
{
    wire_reader_t r = {.bytes = bytes, .size = size, .what = "decision", .error = error};
    r.field = "mark";
    const uint8_t *magic = wire_take(&r, sizeof s_decision_magic);
    if (magic && memcmp(magic, s_decision_magic, sizeof s_decision_magic) != 0)
        wire_fail(&r, SETTLE_ERR_CORRUPT, "not a decision");
    r.field = "version";
    if (wire_get_uint(&r, 2) != LEDGER_DECISION_VERSION && r.rc == SETTLE_OK)
        wire_fail(&r, SETTLE_ERR_VERSION, "unknown version");
    r.field = "line count";
    uint32_t line_count = (uint32_t)wire_get_uint(&r, 2);
    if (line_count > CLAIM_LINES_MAX)
        wire_fail(&r, SETTLE_ERR_TOO_LONG, "more lines than a claim may have");
    for (uint32_t i = 0; r.rc == SETTLE_OK && i < line_count; i++)
        s_read_line(&r, &decision->lines[i]);
    s_read_changes(&r, changes);
    wire_get_end(&r);
    decision->line_count = r.rc == SETTLE_OK ? line_count : 0;
    return r.rc;
}

/* ------------------------------------------------------------------------
 * The claim-id filter
 *
 * Most claims of a batch are new, and proving an id absent costs an index
 * probe about as dear as the insert.  So the ledger keeps a Bloom filter of
 * the (payer, claim id) pairs it holds: "absent" from the filter is
 * certain; "maybe" is settled by the index.  The filter has no say in any
 * answer: a rolled-back insert leaves stale bits (one more probe, never a
 * wrong answer), and a filter that could not be built, or is full, is off
 * (every lookup asks the index, as before).  It is built from the claims
 * table on open and after a restore, sized for at least four million
 * claims or twice what the table holds, whichever is more; it is never
 * rebuilt during apply, so no entry pays for a rescan.  Each id sets three
 * bits of one 64-bit word: one cache miss per lookup.
 * ------------------------------------------------------------------------ */

#define S_FILTER_BITS_MIN       (UINT64_C(1) << 26) /* 8 MiB, touched as it fills */
#define S_FILTER_BITS_PER_CLAIM 16                  /* about 1% false "maybe" */
#define S_FILTER_ALIGN          (UINT64_C(2) << 20) /* a huge page */

uint64_t ledger_claim_hash(const char *payer, const char *claim_id)
{
    uint64_t hash = UINT64_C(14695981039346656037); /* FNV-1a, then a mix */
    for (const char *c = payer; *c; c++)
        hash = (hash ^ (uint8_t)*c) * UINT64_C(1099511628211);
    hash = (hash ^ 0xff) * UINT64_C(1099511628211);
    for (const char *c = claim_id; *c; c++)
        hash = (hash ^ (uint8_t)*c) * UINT64_C(1099511628211);
    hash ^= hash >> 31;
    hash *= UINT64_C(0xbf58476d1ce4e5b9);
    return hash ^ (hash >> 29);
}

/* The word of an id and its three bits in it. */
static uint64_t *s_filter_word(ledger_t *self, const char *payer, const char *claim_id,
                               uint64_t *mask_out)
{
    uint64_t hash = ledger_claim_hash(payer, claim_id);
    *mask_out = UINT64_C(1) << (hash >> 40 & 63) | UINT64_C(1) << (hash >> 46 & 63) |
                UINT64_C(1) << (hash >> 52 & 63);
    return &self->claim_filter[hash & (self->claim_filter_bits / 64 - 1)];
}

static bool s_filter_may_hold(ledger_t *self, const char *payer, const char *claim_id)
{
    uint64_t mask;
    const uint64_t *word = s_filter_word(self, payer, claim_id, &mask);
    return (*word & mask) == mask;
}

void ledger_claim_prefetch(const ledger_t *self, const char *payer, const char *claim_id)
{
    if (!self->claim_filter)
        return;
    uint64_t hash = ledger_claim_hash(payer, claim_id);
    __builtin_prefetch(&self->claim_filter[hash & (self->claim_filter_bits / 64 - 1)]);
}

/* Adds a stored claim's id; turns the filter off when it is full. */
static void s_filter_add(ledger_t *self, const char *payer, const char *claim_id)
{
    if (!self->claim_filter)
        return;
    uint64_t mask;
    *s_filter_word(self, payer, claim_id, &mask) |= mask;
    if (++self->claim_filter_claims * S_FILTER_BITS_PER_CLAIM > self->claim_filter_bits) {
        settle_free(self->claim_filter);
        self->claim_filter = NULL;
    }
}

/* The size of a new filter for the claims the table holds; 0 on failure. */
static uint64_t s_filter_bits_for(ledger_t *self)
{
    sqlite3_stmt *s;
    uint64_t claims = UINT64_MAX, bits = S_FILTER_BITS_MIN;
    if (sqlite3_prepare_v2(self->db, "SELECT COUNT(*) FROM claims", -1, &s, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        claims = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    while (bits / S_FILTER_BITS_PER_CLAIM < 2 * claims && bits < (UINT64_C(1) << 40))
        bits *= 2;
    return bits / S_FILTER_BITS_PER_CLAIM >= 2 * claims ? bits : 0;
}

int ledger_claim_filter_build(ledger_t *self)
{
    settle_free(self->claim_filter);
    self->claim_filter = NULL;
    if (self->scratch)
        return ledger_scratch_load(self);
    uint64_t bits = s_filter_bits_for(self);
    sqlite3_stmt *s = NULL;
    /* No ORDER BY: the filter is a set, and feeds no decision. */
    if (!bits || sqlite3_prepare_v2(self->db, "SELECT payer, claim_id FROM claims", -1, &s, NULL) !=
                     SQLITE_OK)
        return SETTLE_OK;
    /* In huge pages where the system gives them (each lookup is a random
     * word of megabytes: with 4 KiB pages, a TLB miss as well as a cache
     * miss), and zeroed by hand rather than by calloc, whose fresh pages
     * would each fault on their first set bit, during apply. */
    size_t bytes = bits / 64 * sizeof *self->claim_filter;
    self->claim_filter = settle_aligned_alloc(S_FILTER_ALIGN, bytes);
    if (self->claim_filter) {
#ifdef MADV_HUGEPAGE
        madvise(self->claim_filter, bytes, MADV_HUGEPAGE); /* a hint: ignored where refused */
#endif
        memset(self->claim_filter, 0, bytes);
    }
    self->claim_filter_bits = bits;
    self->claim_filter_claims = 0;
    int step = SQLITE_DONE;
    while (self->claim_filter && (step = sqlite3_step(s)) == SQLITE_ROW)
        s_filter_add(self, (const char *)sqlite3_column_text(s, 0),
                     (const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        settle_free(self->claim_filter);
        self->claim_filter = NULL;
    }
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

/* The bytes of the row's contract_hash column: none when no contract
 * decided the claim (the hash all zeros). */
static size_t s_contract_hash_size(const ledger_claim_t *row)
{
    static const uint8_t zeros[LEDGER_HASH_SIZE];
    return memcmp(row->contract_hash, zeros, LEDGER_HASH_SIZE) == 0 ? 0 : LEDGER_HASH_SIZE;
}

static void s_log_claim(wire_writer_t *w, const ledger_claim_t *row, const uint8_t *decision,
                        size_t decision_size)
{
    wire_put_uint(w, LEDGER_TAG_CLAIM, 1);
    wire_put_uint(w, (uint64_t)row->row, 8);
    wire_put_text(w, row->payer, sizeof row->payer);
    wire_put_text(w, row->claim_id, sizeof row->claim_id);
    wire_put_text(w, row->billing_npi, sizeof row->billing_npi);
    wire_put_uint(w, row->frequency, 1);
    wire_put_text(w, row->related_claim_id, sizeof row->related_claim_id);
    wire_put(w, row->content_hash, LEDGER_HASH_SIZE);
    wire_put_uint(w, row->status, 1);
    wire_put_text(w, row->reason, sizeof row->reason);
    wire_put_uint(w, (uint64_t)row->billed_cents, 8);
    wire_put_uint(w, (uint64_t)row->allowed_cents, 8);
    wire_put_uint(w, (uint64_t)row->paid_cents, 8);
    wire_put_uint(w, (uint64_t)row->patient_cents, 8);
    wire_put_uint(w, (uint64_t)row->net_cents, 8);
    wire_put_text(w, row->settlement, sizeof row->settlement);
    wire_put_bytes(w, decision, decision_size);
    wire_put_bytes(w, row->contract_hash, s_contract_hash_size(row));
}

/* The INSERT of ledger_claim_put_decided, the decision encoded in
 * self->decision (decision_size bytes of it). */
static int s_insert(ledger_t *self, ledger_claim_t *row, size_t decision_size,
                    settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, row->payer);
    ledger_bind_text(s, 2, row->claim_id);
    ledger_bind_text(s, 3, row->billing_npi);
    sqlite3_bind_int(s, 4, row->frequency);
    ledger_bind_text(s, 5, row->related_claim_id);
    sqlite3_bind_blob(s, 6, row->content_hash, LEDGER_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, (int64_t)row->entry_index);
    sqlite3_bind_int(s, 8, row->status);
    ledger_bind_text(s, 9, row->reason);
    sqlite3_bind_int64(s, 10, row->billed_cents);
    sqlite3_bind_int64(s, 11, row->allowed_cents);
    sqlite3_bind_int64(s, 12, row->paid_cents);
    sqlite3_bind_int64(s, 13, row->patient_cents);
    ledger_bind_text(s, 14, row->settlement);
    ledger_bind_text(s, 15, row->payment_id);
    ledger_bind_text(s, 16, row->voided_by);
    sqlite3_bind_int64(s, 17, row->net_cents);
    if (decision_size)
        sqlite3_bind_blob(s, 18, self->decision.at, (int)decision_size, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(s, 18, 0);
    size_t contract_hash_size = s_contract_hash_size(row);
    if (contract_hash_size)
        sqlite3_bind_blob(s, 19, row->contract_hash, (int)contract_hash_size, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(s, 19, 0);
    int rc = ledger_step_done(self, s, "storing a claim", error);
    if (rc != SETTLE_OK)
        return rc;
    row->row = sqlite3_last_insert_rowid(self->db);
    s_filter_add(self, row->payer, row->claim_id);
    if (strcmp(row->settlement, LEDGER_SETTLEMENT_PAYABLE) == 0 &&
        ledger_payable_add(self, row->payer, row->billing_npi, row->row, row->net_cents) !=
            SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_NOMEM,
                                "ledger: storing a claim: out of memory for the payable list");
    return SETTLE_OK;
}

int ledger_claim_put_decided(ledger_t *self, ledger_claim_t *row, const interp_decision_t *decision,
                             const interp_changes_t *changes, settle_error_t *error)
{
    int rc = decision ? s_encode_scratch(self, decision, changes, error) : SETTLE_OK;
    size_t decision_size = decision ? self->decision.used : 0;
    if (rc == SETTLE_OK)
        rc = self->scratch
                 ? ledger_scratch_claim_put(self, row, self->decision.at, decision_size, error)
                 : s_insert(self, row, decision_size, error);
    if (rc != SETTLE_OK)
        return rc;
    s_log_claim(ledger_log(self), row, self->decision.at, decision_size);
    return SETTLE_OK;
}

int ledger_claim_put(ledger_t *self, ledger_claim_t *row, settle_error_t *error)
{
    return ledger_claim_put_decided(self, row, NULL, NULL, error);
}

/* The UPDATE of ledger_claim_details_put: the decision in self->decision
 * onto a row that has none. */
static int s_decision_update(ledger_t *self, int64_t row, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_DECISION, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, row);
    sqlite3_bind_blob(s, 2, self->decision.at, (int)self->decision.used, SQLITE_STATIC);
    int rc = ledger_step_done(self, s, "storing a decision", error);
    if (rc == SETTLE_OK && sqlite3_changes(self->db) != 1)
        rc = settle_error_set(error, SETTLE_ERR_INVALID,
                              "ledger: claim row %lld has a decision already, or is missing",
                              (long long)row);
    return rc;
}

int ledger_claim_details_put(ledger_t *self, const ledger_claim_t *claim,
                             const interp_decision_t *decision, const interp_changes_t *changes,
                             settle_error_t *error)
{
    int rc = s_encode_scratch(self, decision, changes, error);
    if (rc == SETTLE_OK && self->scratch)
        rc = ledger_scratch_decision_put(self, claim->row, self->decision.at, self->decision.used,
                                         error);
    else if (rc == SETTLE_OK)
        rc = s_decision_update(self, claim->row, error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_DECISION, 1);
    wire_put_uint(w, (uint64_t)claim->row, 8);
    wire_put_bytes(w, self->decision.at, self->decision.used);
    return SETTLE_OK;
}

/* The UPDATE of ledger_claim_mark_voided, by payer and claim id (in a
 * scratch ledger, on its rows in memory). */
static int s_mark_voided(ledger_t *self, const char *payer, const char *claim_id,
                         const char *voiding_claim_id, settle_error_t *error)
{
    if (self->scratch)
        return ledger_scratch_claim_void(self, payer, claim_id, voiding_claim_id, error);
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_VOID, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, claim_id);
    ledger_bind_text(s, 3, voiding_claim_id);
    return ledger_step_done(self, s, "marking a claim voided", error);
}

int ledger_claim_mark_voided(ledger_t *self, const char *payer, const char *claim_id,
                             const char *voiding_claim_id, settle_error_t *error)
{
    int rc = s_mark_voided(self, payer, claim_id, voiding_claim_id, error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_VOID, 1);
    wire_put_text(w, payer, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_text(w, claim_id, CLAIM_REFERENCE_SIZE);
    wire_put_text(w, voiding_claim_id, CLAIM_ID_SIZE);
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

int ledger_claim_get(ledger_t *self, const char *payer, const char *claim_id,
                     ledger_claim_t *row_out)
{
    if (self->claim_filter && !s_filter_may_hold(self, payer, claim_id))
        return SETTLE_ERR_NOT_FOUND;
    if (self->scratch)
        return ledger_scratch_claim_get(self, payer, claim_id, row_out, NULL, NULL);
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_GET, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, claim_id);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        sqlite3_reset(s);
        return step == SQLITE_DONE ? SETTLE_ERR_NOT_FOUND : SETTLE_ERR_IO;
    }
    ledger_claim_t row;
    memset(&row, 0, sizeof row);
    row.row = sqlite3_column_int64(s, 0);
    ledger_column_text(s, 1, row.billing_npi, sizeof row.billing_npi);
    row.frequency = (uint8_t)sqlite3_column_int(s, 2);
    ledger_column_text(s, 3, row.related_claim_id, sizeof row.related_claim_id);
    if (sqlite3_column_bytes(s, 4) == LEDGER_HASH_SIZE)
        memcpy(row.content_hash, sqlite3_column_blob(s, 4), LEDGER_HASH_SIZE);
    row.entry_index = (uint64_t)sqlite3_column_int64(s, 5);
    row.status = (uint8_t)sqlite3_column_int(s, 6);
    ledger_column_text(s, 7, row.reason, sizeof row.reason);
    row.billed_cents = sqlite3_column_int64(s, 8);
    row.allowed_cents = sqlite3_column_int64(s, 9);
    row.paid_cents = sqlite3_column_int64(s, 10);
    row.patient_cents = sqlite3_column_int64(s, 11);
    ledger_column_text(s, 12, row.settlement, sizeof row.settlement);
    ledger_column_text(s, 13, row.payment_id, sizeof row.payment_id);
    ledger_column_text(s, 14, row.voided_by, sizeof row.voided_by);
    row.net_cents = sqlite3_column_int64(s, 15);
    if (sqlite3_column_bytes(s, 16) == LEDGER_HASH_SIZE)
        memcpy(row.contract_hash, sqlite3_column_blob(s, 16), LEDGER_HASH_SIZE);
    sqlite3_reset(s);
    memcpy(row.payer, payer, strnlen(payer, sizeof row.payer - 1));
    memcpy(row.claim_id, claim_id, strnlen(claim_id, sizeof row.claim_id - 1));
    *row_out = row;
    return SETTLE_OK;
}

/* The stored decision blob into decision's lines and changes; a blob that
 * does not decode is a corrupt ledger, named by the claim. */
static int s_decode_stored(const uint8_t *blob, size_t size, interp_decision_t *decision,
                           interp_changes_t *changes, settle_error_t *error)
{
    settle_error_t problem;
    settle_error_clear(&problem);
    if (ledger_decision_decode(blob, size, decision, changes, &problem) == SETTLE_OK)
        return SETTLE_OK;
    return settle_error_set(error, SETTLE_ERR_CORRUPT, "ledger: claim %s: %s", decision->claim_id,
                            problem.message);
}

/* One claim row (the columns of LEDGER_SQL_DECISIONS) into decision and
 * changes: the claim-level fields from the columns, the rest decoded. */
static int s_decision_row(sqlite3_stmt *s, interp_decision_t *decision, interp_changes_t *changes,
                          char *payer, bool *voided, settle_error_t *error)
{
    interp_line_t *lines = decision->lines;
    memset(decision, 0, sizeof *decision);
    decision->lines = lines;
    ledger_column_text(s, 1, payer, COMMAND_PARTICIPANT_ID_SIZE);
    ledger_column_text(s, 2, decision->claim_id, sizeof decision->claim_id);
    decision->frequency = (uint8_t)sqlite3_column_int(s, 3);
    ledger_column_text(s, 4, decision->related_claim_id, sizeof decision->related_claim_id);
    decision->status = (interp_status_t)sqlite3_column_int(s, 5);
    decision->billed_cents = sqlite3_column_int64(s, 6);
    decision->allowed_cents = sqlite3_column_int64(s, 7);
    decision->paid_cents = sqlite3_column_int64(s, 8);
    decision->patient_cents = sqlite3_column_int64(s, 9);
    *voided = sqlite3_column_bytes(s, 10) > 0;
    return s_decode_stored(sqlite3_column_blob(s, 11), (size_t)sqlite3_column_bytes(s, 11),
                           decision, changes, error);
}

static bool s_in_history(const interp_decision_t *decision);

/* A scratch ledger's row into decision and changes, as s_decision_row
 * reads a row of the table. */
static int s_decision_claim(const ledger_claim_t *row, const uint8_t *blob, size_t size,
                            interp_decision_t *decision, interp_changes_t *changes, char *payer,
                            bool *voided, settle_error_t *error)
{
    interp_line_t *lines = decision->lines;
    memset(decision, 0, sizeof *decision);
    decision->lines = lines;
    memcpy(payer, row->payer, COMMAND_PARTICIPANT_ID_SIZE);
    memcpy(decision->claim_id, row->claim_id, sizeof decision->claim_id);
    decision->frequency = row->frequency;
    memcpy(decision->related_claim_id, row->related_claim_id, sizeof decision->related_claim_id);
    decision->status = (interp_status_t)row->status;
    decision->billed_cents = row->billed_cents;
    decision->allowed_cents = row->allowed_cents;
    decision->paid_cents = row->paid_cents;
    decision->patient_cents = row->patient_cents;
    *voided = row->voided_by[0] != '\0';
    return s_decode_stored(blob, size, decision, changes, error);
}

/* s_decisions over a scratch ledger's rows, in claim_row order. */
static int s_decisions_scratch(ledger_t *self, bool history_only, ledger_history_fn each,
                               void *context, interp_decision_t *decision,
                               interp_changes_t *changes, settle_error_t *error)
{
    int rc = SETTLE_OK;
    uint64_t count = ledger_scratch_claim_count(self);
    for (uint64_t row = 1; rc == SETTLE_OK && row <= count; row++) {
        ledger_claim_t claim;
        const uint8_t *blob = NULL;
        size_t size = 0;
        char payer[COMMAND_PARTICIPANT_ID_SIZE];
        bool voided;
        ledger_scratch_claim_at(self, (int64_t)row, &claim, &blob, &size);
        if (size == 0)
            continue; /* as WHERE length(decision) > 0 */
        rc = s_decision_claim(&claim, blob, size, decision, changes, payer, &voided, error);
        if (rc == SETTLE_OK && (!history_only || s_in_history(decision)))
            rc = each(payer, decision, changes, voided, context);
    }
    return rc;
}

/* Whether the interpreter keeps the claim in its history. */
static bool s_in_history(const interp_decision_t *decision)
{
    return decision->status != INTERP_STATUS_REJECTED &&
           decision->frequency != CLAIM_FREQUENCY_VOID;
}

/* Calls each for every decided claim in row order (history ones only when
 * history_only). */
static int s_decisions(ledger_t *self, bool history_only, ledger_history_fn each, void *context,
                       settle_error_t *error)
{
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = settle_malloc(sizeof *changes);
    sqlite3_stmt *s = NULL;
    int rc = decision && changes
                 ? SETTLE_OK
                 : settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    if (rc == SETTLE_OK && self->scratch) {
        rc = s_decisions_scratch(self, history_only, each, context, decision, changes, error);
        settle_free(changes);
        interp_decision_destroy(&decision);
        return rc;
    }
    if (rc == SETTLE_OK && !(s = ledger_statement(self, LEDGER_SQL_DECISIONS, error)))
        rc = SETTLE_ERR_IO;
    int step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        char payer[COMMAND_PARTICIPANT_ID_SIZE];
        bool voided;
        rc = s_decision_row(s, decision, changes, payer, &voided, error);
        if (rc == SETTLE_OK && (!history_only || s_in_history(decision)))
            rc = each(payer, decision, changes, voided, context);
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(self, "reading decisions", error);
    if (s)
        sqlite3_reset(s);
    settle_free(changes);
    interp_decision_destroy(&decision);
    return rc;
}

int ledger_history_each(ledger_t *self, ledger_history_fn each, void *context,
                        settle_error_t *error)
{
    return s_decisions(self, true, each, context, error);
}

int ledger_decision_each(ledger_t *self, ledger_history_fn each, void *context,
                         settle_error_t *error)
{
    return s_decisions(self, false, each, context, error);
}

/* ledger_claim_decision in a scratch ledger. */
static int s_claim_decision_scratch(ledger_t *self, const char *payer, const char *claim_id,
                                    interp_decision_t *decision_out, interp_changes_t *changes_out,
                                    settle_error_t *error)
{
    ledger_claim_t claim;
    const uint8_t *blob = NULL;
    size_t size = 0;
    int rc = ledger_scratch_claim_get(self, payer, claim_id, &claim, &blob, &size);
    if (rc == SETTLE_ERR_IO)
        return settle_error_set(error, rc, "ledger: the claim index is lost");
    if (rc != SETTLE_OK || size == 0)
        return settle_error_set(error, SETTLE_ERR_NOT_FOUND, "ledger: no decision for %s of %s",
                                claim_id, payer);
    char row_payer[COMMAND_PARTICIPANT_ID_SIZE];
    bool voided;
    return s_decision_claim(&claim, blob, size, decision_out, changes_out, row_payer, &voided,
                            error);
}

int ledger_claim_decision(ledger_t *self, const char *payer, const char *claim_id,
                          interp_decision_t *decision_out, interp_changes_t *changes_out,
                          settle_error_t *error)
{
    if (self->scratch)
        return s_claim_decision_scratch(self, payer, claim_id, decision_out, changes_out, error);
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_DECISION_GET, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, claim_id);
    int step = sqlite3_step(s), rc;
    if (step == SQLITE_ROW && sqlite3_column_bytes(s, 11) > 0) {
        char row_payer[COMMAND_PARTICIPANT_ID_SIZE];
        bool voided;
        rc = s_decision_row(s, decision_out, changes_out, row_payer, &voided, error);
    } else if (step == SQLITE_ROW || step == SQLITE_DONE) {
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND, "ledger: no decision for %s of %s",
                              claim_id, payer);
    } else {
        rc = ledger_sqlite_error(self, "reading a decision", error);
    }
    sqlite3_reset(s);
    return rc;
}

/* ------------------------------------------------------------------------
 * Accumulator totals and counts, from the decisions
 * ------------------------------------------------------------------------ */

typedef struct {
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    interp_accumulator_t total;
} s_total_t;

/* The order of ledger_total_each: payer, kind, year, key, benefit (texts
 * by bytes, as SQLite's BINARY collation). */
static int s_total_order(const void *a, const void *b)
{
    const s_total_t *x = a, *y = b;
    int order = strcmp(x->payer, y->payer);
    if (order == 0 && x->total.kind != y->total.kind)
        order = x->total.kind < y->total.kind ? -1 : 1;
    if (order == 0 && x->total.year != y->total.year)
        order = x->total.year < y->total.year ? -1 : 1;
    if (order == 0)
        order = strcmp(x->total.key, y->total.key);
    return order == 0 ? strcmp(x->total.benefit, y->total.benefit) : order;
}

/* Changes are gathered in chunks; each chunk is sorted and merged into the
 * sorted totals, so memory is the number of accumulators plus one chunk. */
#define S_TOTALS_CHUNK 4096

typedef struct {
    s_total_t *totals;
    size_t count;
    s_total_t *chunk;
    size_t chunk_count;
    settle_error_t *error;
} s_totals_t;

static int s_totals_merge(s_totals_t *t)
{
    qsort(t->chunk, t->chunk_count, sizeof *t->chunk, s_total_order);
    s_total_t *merged = settle_malloc((t->count + t->chunk_count) * sizeof *merged + 1);
    if (!merged)
        return settle_error_set(t->error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    size_t i = 0, j = 0, n = 0;
    while (i < t->count || j < t->chunk_count) {
        bool old = j == t->chunk_count ||
                   (i < t->count && s_total_order(&t->totals[i], &t->chunk[j]) <= 0);
        const s_total_t *next = old ? &t->totals[i++] : &t->chunk[j++];
        if (n && s_total_order(&merged[n - 1], next) == 0) {
            if (money_add(merged[n - 1].total.amount, next->total.amount,
                          &merged[n - 1].total.amount) != SETTLE_OK) {
                settle_free(merged);
                return settle_error_set(t->error, SETTLE_ERR_OVERFLOW,
                                        "ledger: accumulator total overflows");
            }
        } else {
            merged[n++] = *next;
        }
    }
    settle_free(t->totals);
    t->totals = merged;
    t->count = n;
    t->chunk_count = 0;
    return SETTLE_OK;
}

static int s_totals_add(const char *payer, const interp_decision_t *decision,
                        const interp_changes_t *changes, bool voided, void *context)
{
    s_totals_t *t = context;
    int rc = SETTLE_OK;
    for (uint32_t i = 0; rc == SETTLE_OK && i < changes->count; i++) {
        s_total_t *item = &t->chunk[t->chunk_count++];
        memcpy(item->payer, payer, sizeof item->payer);
        item->total = changes->items[i];
        if (t->chunk_count == S_TOTALS_CHUNK)
            rc = s_totals_merge(t);
    }
    return rc;
}

int ledger_total_each(ledger_t *self, ledger_total_fn each, void *context, settle_error_t *error)
{
    s_totals_t t = {.chunk = settle_malloc(S_TOTALS_CHUNK * sizeof(s_total_t)), .error = error};
    int rc =
        t.chunk ? SETTLE_OK : settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    if (rc == SETTLE_OK)
        rc = ledger_decision_each(self, s_totals_add, &t, error);
    if (rc == SETTLE_OK)
        rc = s_totals_merge(&t);
    for (size_t i = 0; rc == SETTLE_OK && i < t.count; i++)
        rc = each(t.totals[i].payer, &t.totals[i].total, context);
    settle_free(t.totals);
    settle_free(t.chunk);
    return rc;
}

typedef struct {
    uint64_t lines;
    uint64_t adjustments;
    uint64_t changes;
} s_counts_t;

static int s_count(const char *payer, const interp_decision_t *decision,
                   const interp_changes_t *changes, bool voided, void *context)
{
    s_counts_t *counts = context;
    counts->lines += decision->line_count;
    for (uint32_t i = 0; i < decision->line_count; i++)
        counts->adjustments += decision->lines[i].adjustment_count;
    counts->changes += changes->count;
    return SETTLE_OK;
}

int ledger_decision_count(ledger_t *self, const char *what, uint64_t *count_out)
{
    s_counts_t counts = {0, 0, 0};
    int rc = ledger_decision_each(self, s_count, &counts, NULL);
    if (rc != SETTLE_OK)
        return rc;
    *count_out = strcmp(what, "claim_lines") == 0         ? counts.lines
                 : strcmp(what, "claim_adjustments") == 0 ? counts.adjustments
                                                          : counts.changes;
    return SETTLE_OK;
}
