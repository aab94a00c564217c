/*
 * ledger_scratch.c - a scratch ledger's claims, kept in memory
 * (ledger_open_scratch).
 *
 * An auditor's replay writes every claim once and reads most of them never
 * again, then compares them all with the stored table.  Inserting each row
 * into SQLite (the table and its b-tree, even in :memory:) and reading it
 * back for the comparison were a third of a replay.  So a scratch ledger's
 * claims table stays empty: its rows live here, in claim_row order, and
 * every operation a state machine runs on claims (ledger_claims.c,
 * ledger_payable.c) works on them instead of on SQL.
 *
 * Who owns what: the ledger_t owns one store (self->claims).  The store
 * owns the rows (in blocks of S_BLOCK_ROWS that never move), the bytes
 * their texts and decision blobs point into (chunks that never move
 * either, so a row's pointers stay valid while it lives; a text that is
 * one of the settlement constants or empty points at a static string
 * instead), the hash table that finds a row by (payer, claim_id), and an
 * undo list of the changes an open transaction made to rows older than
 * it.  A rollback undoes those, drops the rows and bytes added since
 * ledger_begin and makes the hash table and the payable lists again from
 * what is left (ledger_scratch_rollback).
 *
 * Nothing here is iterated in an order of its own: rows go in claim_row
 * order, the hash table is only probed, so no hash order reaches a
 * decision or the change log.  Deterministic: no clock, no randomness.
 */
#include <stdio.h>
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"

/* The texts of a row (s_row_t.texts). */
enum {
    S_PAYER,
    S_CLAIM_ID,
    S_NPI,
    S_RELATED,
    S_REASON,
    S_SETTLEMENT,
    S_PAYMENT,
    S_VOIDED,
    S_TEXTS
};

typedef struct {
    const char *texts[S_TEXTS]; /* NUL-terminated, in the arena or static */
    const uint8_t *decision;    /* in the arena; NULL when empty */
    uint64_t entry_index;
    int64_t billed_cents, allowed_cents, paid_cents, patient_cents, net_cents;
    uint32_t decision_size;
    uint8_t text_sizes[S_TEXTS]; /* every field is shorter than 256 bytes */
    uint8_t frequency;
    uint8_t status;
    uint8_t has_contract_hash;
    uint8_t content_hash[LEDGER_HASH_SIZE];
    uint8_t contract_hash[LEDGER_HASH_SIZE];
} s_row_t;

/* A change to a row older than the open transaction, undone by a rollback. */
typedef struct {
    uint64_t row;
    int text; /* S_SETTLEMENT, S_PAYMENT, S_VOIDED; S_TEXTS: the decision */
    const void *old;
    uint32_t old_size;
} s_undo_t;

typedef struct {
    uint8_t *bytes;
    size_t used;
    size_t capacity;
} s_chunk_t;

typedef struct {
    uint64_t hash; /* 0: empty */
    uint64_t row;
} s_slot_t;

struct ledger_scratch_s {
    s_row_t **blocks; /* claim_row r is blocks[(r - 1) / S_BLOCK_ROWS][(r - 1) % S_BLOCK_ROWS] */
    size_t block_count;
    size_t block_capacity;
    uint64_t count;
    s_chunk_t *chunks; /* the last one is being filled */
    size_t chunk_count;
    size_t chunk_capacity;
    s_slot_t *slots; /* (payer, claim_id) -> row; a power of two, at most half full */
    uint64_t slot_capacity;
    uint64_t slot_count;
    bool index_lost; /* a rebuild failed: every lookup fails rather than miss */
    s_undo_t *undo;
    size_t undo_count;
    size_t undo_capacity;
    uint64_t mark_count; /* what ledger_scratch_begin saw */
    size_t mark_chunks;
    size_t mark_used;
};

#define S_CHUNK_SIZE        ((size_t)4 << 20)
#define S_SLOTS_MIN         (UINT64_C(1) << 16)
#define S_BLOCK_ROWS        (UINT64_C(1) << 14) /* rows are never moved: no copy as they grow */
#define S_ROW_SIZE_MAX_TEXT 255

/* A text's length is kept in a byte: every claims text field fits. */
_Static_assert(LEDGER_REASON_SIZE - 1 <= S_ROW_SIZE_MAX_TEXT, "reason too long for a byte");
_Static_assert(CLAIM_REFERENCE_SIZE - 1 <= S_ROW_SIZE_MAX_TEXT, "reference too long for a byte");
_Static_assert(LEDGER_PAYMENT_ID_SIZE - 1 <= S_ROW_SIZE_MAX_TEXT, "payment id too long for a byte");

/* The row at claim_row row (1 to count). */
static inline s_row_t *s_row(const struct ledger_scratch_s *store, uint64_t row)
{
    return &store->blocks[(row - 1) / S_BLOCK_ROWS][(row - 1) % S_BLOCK_ROWS];
}

/* The columns of claims in schema order (ledger_schema.c), as
 * ledger_scratch_claim_values gives them. */
const char *const ledger_claim_columns[LEDGER_CLAIM_COLUMNS] = {
    "claim_row",        "payer",        "claim_id",      "billing_npi", "frequency",
    "related_claim_id", "content_hash", "contract_hash", "entry_index", "status",
    "reason",           "billed_cents", "allowed_cents", "paid_cents",  "patient_cents",
    "net_cents",        "settlement",   "payment_id",    "voided_by",   "decision"};

/* ------------------------------------------------------------------------
 * The store, its bytes and its transactions
 * ------------------------------------------------------------------------ */

static void s_chunks_free_from(struct ledger_scratch_s *store, size_t first)
{
    for (size_t i = store->chunk_count; i-- > first;)
        settle_free(store->chunks[i].bytes);
    store->chunk_count = first;
}

void ledger_scratch_free(ledger_t *self)
{
    struct ledger_scratch_s *store = self->claims;
    if (!store)
        return;
    settle_free(store->undo);
    settle_free(store->slots);
    s_chunks_free_from(store, 0);
    settle_free(store->chunks);
    for (size_t i = store->block_count; i-- > 0;)
        settle_free(store->blocks[i]);
    settle_free(store->blocks);
    settle_free(store);
    self->claims = NULL;
}

/* Copies size bytes into the arena; NULL on no memory.  A chunk is never
 * moved once made, so what it holds keeps its address. */
static void *s_keep(struct ledger_scratch_s *store, const void *bytes, size_t size)
{
    s_chunk_t *last = store->chunk_count ? &store->chunks[store->chunk_count - 1] : NULL;
    if (!last || last->capacity - last->used < size) {
        if (store->chunk_count == store->chunk_capacity) {
            size_t capacity = store->chunk_capacity ? 2 * store->chunk_capacity : 64;
            s_chunk_t *bigger = settle_realloc(store->chunks, capacity * sizeof *bigger);
            if (!bigger)
                return NULL;
            store->chunks = bigger;
            store->chunk_capacity = capacity;
        }
        size_t capacity = size > S_CHUNK_SIZE ? size : S_CHUNK_SIZE;
        uint8_t *chunk = settle_malloc(capacity);
        if (!chunk)
            return NULL;
        last = &store->chunks[store->chunk_count++];
        *last = (s_chunk_t){.bytes = chunk, .used = 0, .capacity = capacity};
    }
    void *at = last->bytes + last->used;
    memcpy(at, bytes, size);
    last->used += size;
    return at;
}

/* A text kept NUL-terminated (the constants and "" are not copied). */
static const char *s_keep_text(struct ledger_scratch_s *store, const char *text, size_t length)
{
    static const char *const constants[] = {"", LEDGER_SETTLEMENT_NONE, LEDGER_SETTLEMENT_PAYABLE,
                                            LEDGER_SETTLEMENT_PAID};
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (strlen(constants[i]) == length && memcmp(constants[i], text, length) == 0)
            return constants[i];
    char *kept = s_keep(store, text, length + 1);
    if (kept)
        kept[length] = '\0';
    return kept;
}

void ledger_scratch_begin(ledger_t *self)
{
    struct ledger_scratch_s *store = self->claims;
    if (!store)
        return;
    store->undo_count = 0;
    store->mark_count = store->count;
    store->mark_chunks = store->chunk_count;
    store->mark_used = store->chunk_count ? store->chunks[store->chunk_count - 1].used : 0;
}

/* Records the old value of a row's text or decision before a change, when
 * a transaction is open and the row is older than it. */
static int s_undo_push(ledger_t *self, uint64_t row, int text)
{
    struct ledger_scratch_s *store = self->claims;
    if (!self->in_transaction || row > store->mark_count)
        return SETTLE_OK;
    if (store->undo_count == store->undo_capacity) {
        size_t capacity = store->undo_capacity ? 2 * store->undo_capacity : 256;
        s_undo_t *bigger = settle_realloc(store->undo, capacity * sizeof *bigger);
        if (!bigger)
            return SETTLE_ERR_NOMEM;
        store->undo = bigger;
        store->undo_capacity = capacity;
    }
    const s_row_t *r = s_row(store, row);
    store->undo[store->undo_count++] = (s_undo_t){
        .row = row,
        .text = text,
        .old = text == S_TEXTS ? (const void *)r->decision : (const void *)r->texts[text],
        .old_size = text == S_TEXTS ? r->decision_size : r->text_sizes[text]};
    return SETTLE_OK;
}

static int s_index_build(struct ledger_scratch_s *store);

void ledger_scratch_rollback(ledger_t *self)
{
    struct ledger_scratch_s *store = self->claims;
    if (!store)
        return;
    for (size_t i = store->undo_count; i-- > 0;) {
        const s_undo_t *undo = &store->undo[i];
        s_row_t *r = s_row(store, undo->row);
        if (undo->text == S_TEXTS) {
            r->decision = undo->old;
            r->decision_size = undo->old_size;
        } else {
            r->texts[undo->text] = undo->old;
            r->text_sizes[undo->text] = (uint8_t)undo->old_size;
        }
    }
    store->undo_count = 0;
    store->count = store->mark_count;
    s_chunks_free_from(store, store->mark_chunks);
    if (store->chunk_count)
        store->chunks[store->chunk_count - 1].used = store->mark_used;
    /* The hash table and the payable lists held rows that are gone or
     * changed: made again from the rows.  If that fails they are lost and
     * every lookup fails (SETTLE_ERR_IO) rather than answer from a part. */
    store->index_lost = s_index_build(store) != SETTLE_OK;
    ledger_payable_build(self);
}

/* ------------------------------------------------------------------------
 * Finding a row by (payer, claim_id)
 *
 * In place of the unique index on (payer, claim_id): an open-addressing
 * hash table from the pair to its row, keys compared whole against the
 * row's texts.  A miss is "no such claim"; a second row under a pair is
 * refused (SETTLE_ERR_EXISTS) as the index would refuse it.
 * ------------------------------------------------------------------------ */

static uint64_t s_hash(const char *payer, const char *claim_id)
{
    uint64_t hash = ledger_claim_hash(payer, claim_id);
    return hash ? hash : 1; /* 0 marks an empty slot */
}

/* The slot holding the pair, or the empty slot where it would go. */
static s_slot_t *s_slot(const struct ledger_scratch_s *store, uint64_t hash, const char *payer,
                        const char *claim_id)
{
    uint64_t mask = store->slot_capacity - 1;
    for (uint64_t at = hash & mask;; at = (at + 1) & mask) {
        s_slot_t *slot = &store->slots[at];
        if (slot->hash == 0)
            return slot;
        const s_row_t *r = s_row(store, slot->row);
        if (slot->hash == hash && strcmp(r->texts[S_CLAIM_ID], claim_id) == 0 &&
            strcmp(r->texts[S_PAYER], payer) == 0)
            return slot;
    }
}

/* Makes the table for at least capacity slots, rehashing what it held. */
static int s_slots_grow(struct ledger_scratch_s *store, uint64_t capacity)
{
    s_slot_t *slots = settle_calloc(capacity, sizeof *slots);
    if (!slots)
        return SETTLE_ERR_NOMEM;
    for (uint64_t i = 0; i < store->slot_capacity; i++) {
        const s_slot_t *old = &store->slots[i];
        if (old->hash == 0)
            continue;
        uint64_t at = old->hash & (capacity - 1);
        while (slots[at].hash != 0)
            at = (at + 1) & (capacity - 1);
        slots[at] = *old;
    }
    settle_free(store->slots);
    store->slots = slots;
    store->slot_capacity = capacity;
    return SETTLE_OK;
}

/* The empty slot where (payer, claim_id) goes, and its hash, the table
 * grown first if it would be more than half full: one probe for both the
 * key check and the insert.  SETTLE_ERR_EXISTS, SETTLE_ERR_NOMEM. */
static int s_index_place(struct ledger_scratch_s *store, const char *payer, const char *claim_id,
                         s_slot_t **slot_out, uint64_t *hash_out)
{
    if ((store->slot_count + 1) * 2 > store->slot_capacity &&
        s_slots_grow(store, store->slot_capacity ? 2 * store->slot_capacity : S_SLOTS_MIN) !=
            SETTLE_OK)
        return SETTLE_ERR_NOMEM;
    *hash_out = s_hash(payer, claim_id);
    *slot_out = s_slot(store, *hash_out, payer, claim_id);
    return (*slot_out)->hash != 0 ? SETTLE_ERR_EXISTS : SETTLE_OK;
}

/* Adds row (whose texts are set); SETTLE_ERR_EXISTS, SETTLE_ERR_NOMEM. */
static int s_index_add(struct ledger_scratch_s *store, uint64_t row)
{
    const s_row_t *r = s_row(store, row);
    s_slot_t *slot;
    uint64_t hash;
    int rc = s_index_place(store, r->texts[S_PAYER], r->texts[S_CLAIM_ID], &slot, &hash);
    if (rc == SETTLE_OK) {
        *slot = (s_slot_t){.hash = hash, .row = row};
        store->slot_count++;
    }
    return rc;
}

/* Makes the table again from the rows. */
static int s_index_build(struct ledger_scratch_s *store)
{
    if (store->slots)
        memset(store->slots, 0, store->slot_capacity * sizeof *store->slots);
    store->slot_count = 0;
    int rc = SETTLE_OK;
    for (uint64_t row = 1; rc == SETTLE_OK && row <= store->count; row++)
        rc = s_index_add(store, row);
    return rc;
}

/* The pair's row: SETTLE_OK, SETTLE_ERR_NOT_FOUND, or SETTLE_ERR_IO when
 * the table is lost (it could not be made again). */
static int s_find(const ledger_t *self, const char *payer, const char *claim_id, uint64_t *row_out)
{
    const struct ledger_scratch_s *store = self->claims;
    if (!store || store->index_lost)
        return SETTLE_ERR_IO;
    if (store->slot_count == 0)
        return SETTLE_ERR_NOT_FOUND;
    const s_slot_t *slot = s_slot(store, s_hash(payer, claim_id), payer, claim_id);
    if (slot->hash == 0)
        return SETTLE_ERR_NOT_FOUND;
    *row_out = slot->row;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

/* Sets a row's text; false on no memory. */
static bool s_set_text(struct ledger_scratch_s *store, s_row_t *r, int text, const char *value,
                       size_t field_size)
{
    size_t length = strnlen(value, field_size - 1); /* at most S_ROW_SIZE_MAX_TEXT (asserted) */
    r->texts[text] = s_keep_text(store, value, length);
    r->text_sizes[text] = (uint8_t)length;
    return r->texts[text] != NULL;
}

/* One more block of rows; SETTLE_ERR_NOMEM. */
static int s_block_add(struct ledger_scratch_s *store)
{
    if (store->block_count == store->block_capacity) {
        size_t capacity = store->block_capacity ? 2 * store->block_capacity : 64;
        s_row_t **bigger = settle_realloc(store->blocks, capacity * sizeof *bigger);
        if (!bigger)
            return SETTLE_ERR_NOMEM;
        store->blocks = bigger;
        store->block_capacity = capacity;
    }
    s_row_t *block = settle_malloc(S_BLOCK_ROWS * sizeof *block);
    if (!block)
        return SETTLE_ERR_NOMEM;
    store->blocks[store->block_count++] = block;
    return SETTLE_OK;
}

/* The row after the last, filled from claim and decision, added to the
 * hash table and counted; SETTLE_ERR_EXISTS, SETTLE_ERR_NOMEM. */
static int s_add(struct ledger_scratch_s *store, const ledger_claim_t *claim,
                 const uint8_t *decision, size_t decision_size)
{
    s_slot_t *slot;
    uint64_t hash;
    int rc = s_index_place(store, claim->payer, claim->claim_id, &slot, &hash);
    if (rc != SETTLE_OK)
        return rc;
    if (store->count == store->block_count * S_BLOCK_ROWS && s_block_add(store) != SETTLE_OK)
        return SETTLE_ERR_NOMEM;
    s_row_t *r = s_row(store, store->count + 1);
    memset(r, 0, sizeof *r);
    bool ok =
        s_set_text(store, r, S_PAYER, claim->payer, sizeof claim->payer) &&
        s_set_text(store, r, S_CLAIM_ID, claim->claim_id, sizeof claim->claim_id) &&
        s_set_text(store, r, S_NPI, claim->billing_npi, sizeof claim->billing_npi) &&
        s_set_text(store, r, S_RELATED, claim->related_claim_id, sizeof claim->related_claim_id) &&
        s_set_text(store, r, S_REASON, claim->reason, sizeof claim->reason) &&
        s_set_text(store, r, S_SETTLEMENT, claim->settlement, sizeof claim->settlement) &&
        s_set_text(store, r, S_PAYMENT, claim->payment_id, sizeof claim->payment_id) &&
        s_set_text(store, r, S_VOIDED, claim->voided_by, sizeof claim->voided_by);
    if (ok && decision_size && !(r->decision = s_keep(store, decision, decision_size)))
        ok = false;
    if (!ok)
        return SETTLE_ERR_NOMEM;
    static const uint8_t zeros[LEDGER_HASH_SIZE];
    r->decision_size = (uint32_t)decision_size;
    r->entry_index = claim->entry_index;
    r->billed_cents = claim->billed_cents;
    r->allowed_cents = claim->allowed_cents;
    r->paid_cents = claim->paid_cents;
    r->patient_cents = claim->patient_cents;
    r->net_cents = claim->net_cents;
    r->frequency = claim->frequency;
    r->status = claim->status;
    r->has_contract_hash = memcmp(claim->contract_hash, zeros, LEDGER_HASH_SIZE) != 0;
    memcpy(r->content_hash, claim->content_hash, LEDGER_HASH_SIZE);
    memcpy(r->contract_hash, claim->contract_hash, LEDGER_HASH_SIZE);
    *slot = (s_slot_t){.hash = hash, .row = ++store->count};
    store->slot_count++;
    return SETTLE_OK;
}

int ledger_scratch_claim_put(ledger_t *self, ledger_claim_t *claim, const uint8_t *decision,
                             size_t decision_size, settle_error_t *error)
{
    struct ledger_scratch_s *store = self->claims;
    if (!store || store->index_lost)
        return settle_error_set(error, SETTLE_ERR_IO, "ledger: the claim index is lost");
    int rc = s_add(store, claim, decision, decision_size);
    if (rc == SETTLE_ERR_EXISTS)
        return settle_error_set(error, rc, "ledger: storing a claim: already recorded");
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "ledger: out of memory");
    claim->row = (int64_t)store->count;
    /* The row is in; if the payable list cannot say so the entry fails
     * and its rollback makes the lists again. */
    if (strcmp(claim->settlement, LEDGER_SETTLEMENT_PAYABLE) == 0 &&
        ledger_payable_add(self, claim->payer, claim->billing_npi, claim->row, claim->net_cents) !=
            SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    return SETTLE_OK;
}

int ledger_scratch_claim_at(const ledger_t *self, int64_t row, ledger_claim_t *claim_out,
                            const uint8_t **decision_out, size_t *decision_size_out)
{
    const struct ledger_scratch_s *store = self->claims;
    if (!store || row < 1 || (uint64_t)row > store->count)
        return SETTLE_ERR_NOT_FOUND;
    const s_row_t *r = s_row(store, row);
    ledger_claim_t *c = claim_out;
    memset(c, 0, sizeof *c);
    c->row = row;
    memcpy(c->payer, r->texts[S_PAYER], r->text_sizes[S_PAYER]);
    memcpy(c->claim_id, r->texts[S_CLAIM_ID], r->text_sizes[S_CLAIM_ID]);
    memcpy(c->billing_npi, r->texts[S_NPI], r->text_sizes[S_NPI]);
    memcpy(c->related_claim_id, r->texts[S_RELATED], r->text_sizes[S_RELATED]);
    memcpy(c->reason, r->texts[S_REASON], r->text_sizes[S_REASON]);
    memcpy(c->settlement, r->texts[S_SETTLEMENT], r->text_sizes[S_SETTLEMENT]);
    memcpy(c->payment_id, r->texts[S_PAYMENT], r->text_sizes[S_PAYMENT]);
    memcpy(c->voided_by, r->texts[S_VOIDED], r->text_sizes[S_VOIDED]);
    memcpy(c->content_hash, r->content_hash, LEDGER_HASH_SIZE);
    memcpy(c->contract_hash, r->contract_hash, LEDGER_HASH_SIZE);
    c->frequency = r->frequency;
    c->entry_index = r->entry_index;
    c->status = r->status;
    c->billed_cents = r->billed_cents;
    c->allowed_cents = r->allowed_cents;
    c->paid_cents = r->paid_cents;
    c->patient_cents = r->patient_cents;
    c->net_cents = r->net_cents;
    if (decision_out) {
        *decision_out = r->decision;
        *decision_size_out = r->decision_size;
    }
    return SETTLE_OK;
}

int ledger_scratch_claim_get(ledger_t *self, const char *payer, const char *claim_id,
                             ledger_claim_t *claim_out, const uint8_t **decision_out,
                             size_t *decision_size_out)
{
    uint64_t row = 0;
    int rc = s_find(self, payer, claim_id, &row);
    return rc == SETTLE_OK ? ledger_scratch_claim_at(self, (int64_t)row, claim_out, decision_out,
                                                     decision_size_out)
                           : rc;
}

int ledger_scratch_claim_void(ledger_t *self, const char *payer, const char *claim_id,
                              const char *voiding_claim_id, settle_error_t *error)
{
    uint64_t row = 0;
    int found = s_find(self, payer, claim_id, &row);
    if (found == SETTLE_ERR_NOT_FOUND)
        return SETTLE_OK; /* as the UPDATE finds nothing to update */
    if (found != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_IO, "ledger: the claim index is lost");
    struct ledger_scratch_s *store = self->claims;
    if (s_undo_push(self, row, S_VOIDED) != SETTLE_OK ||
        !s_set_text(store, s_row(store, row), S_VOIDED, voiding_claim_id, CLAIM_ID_SIZE))
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    return SETTLE_OK;
}

int ledger_scratch_decision_put(ledger_t *self, int64_t row, const uint8_t *decision,
                                size_t decision_size, settle_error_t *error)
{
    struct ledger_scratch_s *store = self->claims;
    if (!store || row < 1 || (uint64_t)row > store->count ||
        s_row(store, (uint64_t)row)->decision_size != 0)
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "ledger: claim row %lld has a decision already, or is missing",
                                (long long)row);
    s_row_t *r = s_row(store, row);
    const uint8_t *kept = decision_size ? s_keep(store, decision, decision_size) : NULL;
    if (s_undo_push(self, (uint64_t)row, S_TEXTS) != SETTLE_OK || (decision_size && !kept))
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    r->decision = kept;
    r->decision_size = (uint32_t)decision_size;
    return SETTLE_OK;
}

int ledger_scratch_claim_pay(ledger_t *self, int64_t row, const char *payment_id,
                             uint32_t *moved_out)
{
    struct ledger_scratch_s *store = self->claims;
    *moved_out = 0;
    if (!store || row < 1 || (uint64_t)row > store->count)
        return SETTLE_OK; /* as the UPDATE finds no such row */
    s_row_t *r = s_row(store, row);
    if (strcmp(r->texts[S_SETTLEMENT], LEDGER_SETTLEMENT_PAYABLE) != 0)
        return SETTLE_OK;
    if (s_undo_push(self, (uint64_t)row, S_SETTLEMENT) != SETTLE_OK ||
        s_undo_push(self, (uint64_t)row, S_PAYMENT) != SETTLE_OK ||
        !s_set_text(store, r, S_PAYMENT, payment_id, LEDGER_PAYMENT_ID_SIZE))
        return SETTLE_ERR_NOMEM;
    s_set_text(store, r, S_SETTLEMENT, LEDGER_SETTLEMENT_PAID, sizeof LEDGER_SETTLEMENT_PAID);
    *moved_out = 1;
    return SETTLE_OK;
}

uint64_t ledger_scratch_claim_count(const ledger_t *self)
{
    return self->claims ? self->claims->count : 0;
}

void ledger_scratch_claim_values(const ledger_t *self, uint64_t row,
                                 ledger_value_t values[LEDGER_CLAIM_COLUMNS])
{
    const s_row_t *r = s_row(self->claims, row);
#define S_INTEGER(value) ((ledger_value_t){.type = SQLITE_INTEGER, .integer = (int64_t)(value)})
#define S_TEXT(text)                                                                               \
    ((ledger_value_t){.type = SQLITE_TEXT, .bytes = r->texts[text], .size = r->text_sizes[text]})
#define S_BLOB(at, length) ((ledger_value_t){.type = SQLITE_BLOB, .bytes = (at), .size = (length)})
    values[0] = S_INTEGER(row);
    values[1] = S_TEXT(S_PAYER);
    values[2] = S_TEXT(S_CLAIM_ID);
    values[3] = S_TEXT(S_NPI);
    values[4] = S_INTEGER(r->frequency);
    values[5] = S_TEXT(S_RELATED);
    values[6] = S_BLOB(r->content_hash, LEDGER_HASH_SIZE);
    values[7] = S_BLOB(r->contract_hash, r->has_contract_hash ? LEDGER_HASH_SIZE : 0);
    values[8] = S_INTEGER(r->entry_index);
    values[9] = S_INTEGER(r->status);
    values[10] = S_TEXT(S_REASON);
    values[11] = S_INTEGER(r->billed_cents);
    values[12] = S_INTEGER(r->allowed_cents);
    values[13] = S_INTEGER(r->paid_cents);
    values[14] = S_INTEGER(r->patient_cents);
    values[15] = S_INTEGER(r->net_cents);
    values[16] = S_TEXT(S_SETTLEMENT);
    values[17] = S_TEXT(S_PAYMENT);
    values[18] = S_TEXT(S_VOIDED);
    values[19] = S_BLOB(r->decision, r->decision_size);
#undef S_BLOB
#undef S_TEXT
#undef S_INTEGER
}

/* ------------------------------------------------------------------------
 * Opening and restoring
 * ------------------------------------------------------------------------ */

/* One row of the table (LEDGER_CLAIM_COLUMNS_SQL) into the store. */
static int s_load_row(struct ledger_scratch_s *store, sqlite3_stmt *s)
{
    ledger_claim_t c;
    memset(&c, 0, sizeof c);
    if (sqlite3_column_int64(s, 0) != (int64_t)store->count + 1)
        return SETTLE_ERR_CORRUPT; /* rows are never deleted: 1, 2, 3... */
    ledger_column_text(s, 1, c.payer, sizeof c.payer);
    ledger_column_text(s, 2, c.claim_id, sizeof c.claim_id);
    ledger_column_text(s, 3, c.billing_npi, sizeof c.billing_npi);
    c.frequency = (uint8_t)sqlite3_column_int(s, 4);
    ledger_column_text(s, 5, c.related_claim_id, sizeof c.related_claim_id);
    if (sqlite3_column_bytes(s, 6) == LEDGER_HASH_SIZE)
        memcpy(c.content_hash, sqlite3_column_blob(s, 6), LEDGER_HASH_SIZE);
    if (sqlite3_column_bytes(s, 7) == LEDGER_HASH_SIZE)
        memcpy(c.contract_hash, sqlite3_column_blob(s, 7), LEDGER_HASH_SIZE);
    c.entry_index = (uint64_t)sqlite3_column_int64(s, 8);
    c.status = (uint8_t)sqlite3_column_int(s, 9);
    ledger_column_text(s, 10, c.reason, sizeof c.reason);
    c.billed_cents = sqlite3_column_int64(s, 11);
    c.allowed_cents = sqlite3_column_int64(s, 12);
    c.paid_cents = sqlite3_column_int64(s, 13);
    c.patient_cents = sqlite3_column_int64(s, 14);
    c.net_cents = sqlite3_column_int64(s, 15);
    ledger_column_text(s, 16, c.settlement, sizeof c.settlement);
    ledger_column_text(s, 17, c.payment_id, sizeof c.payment_id);
    ledger_column_text(s, 18, c.voided_by, sizeof c.voided_by);
    const uint8_t *decision = sqlite3_column_blob(s, 19);
    return s_add(store, &c, decision, decision ? (size_t)sqlite3_column_bytes(s, 19) : 0);
}

/* Moves the table's rows (a restored snapshot's; none on open) into a new
 * store, then empties the table: the store is the only copy. */
static int s_load(ledger_t *self)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT " LEDGER_CLAIM_COLUMNS_SQL " FROM claims ORDER BY claim_row", -1,
                           &s, NULL) != SQLITE_OK)
        return SETTLE_ERR_IO;
    int rc = SETTLE_OK, step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
        rc = s_load_row(self->claims, s);
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = SETTLE_ERR_IO;
    sqlite3_finalize(s);
    if (rc == SETTLE_OK && self->claims->count > 0 &&
        sqlite3_exec(self->db, "DELETE FROM claims", NULL, NULL, NULL) != SQLITE_OK)
        rc = SETTLE_ERR_IO;
    return rc;
}

int ledger_scratch_load(ledger_t *self)
{
    ledger_scratch_free(self);
    self->claims = settle_calloc(1, sizeof *self->claims);
    int rc = self->claims ? s_load(self) : SETTLE_ERR_NOMEM;
    if (rc != SETTLE_OK) {
        ledger_scratch_free(self); /* every claim operation now fails */
        ledger_payable_free(self);
        return rc;
    }
    return ledger_payable_build(self);
}
