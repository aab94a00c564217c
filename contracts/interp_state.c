/*
 * interp_state.c - accumulator totals and the history of adjudicated
 * claims.
 *
 * Both are found through open-addressing hash indexes (linear probing,
 * at most half full) on a 64-bit hash of the name.  The indexes serve
 * lookups only and are never walked, so no hash order can reach a
 * decision or a change list; and the hash is a fixed function of the
 * name's bytes (no seed, no address), so the same calls build the same
 * state on every machine.  Accumulators live in an append-only table, so
 * an accumulator's index is its id and stays valid for the interpreter to
 * hold.
 *
 * The history keeps only what a duplicate, a void and a replacement need,
 * in pools that grow by doubling (no allocation per claim): per claim a
 * record, per line its amounts and the adjustments it has (not the empty
 * slots of interp_line_t), per change the accumulator id and the amount
 * (not its 168-byte name).  A claim put again under the same id leaves its
 * earlier lines and changes unused in the pools.
 */
#include <stddef.h>
#include <string.h>

#include "interp_internal.h"
#include "settle/alloc.h"
#include "settle/money.h"

/* A slot of a hash index: the full hash (so growing needs no rehash of
 * the names) and the entry's index + 1 (0: empty). */
typedef struct {
    uint64_t hash;
    uint32_t entry;
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t mask; /* slot count - 1; the count is a power of two */
    size_t used;
} s_index_t;

/* One accumulator change of a recorded claim. */
typedef struct {
    int64_t amount;
    uint32_t id;
} s_change_t;

/* A recorded line is interp_line_t up to its adjustments, followed by the
 * adjustments it has; records are laid end to end in the line pool. */
#define S_LINE_HEAD_SIZE offsetof(interp_line_t, adjustments)

struct interp_state_s {
    interp_accumulator_t *totals; /* append-only: an accumulator's index is its id */
    size_t total_count;
    size_t total_capacity;
    s_index_t total_index;
    interp_history_t *history; /* in order of first put */
    size_t history_count;
    size_t history_capacity;
    s_index_t history_index;
    unsigned char *line_pool; /* recorded lines, S_LINE_HEAD_SIZE + adjustments each */
    size_t line_pool_used;
    size_t line_pool_capacity;
    s_change_t *change_pool;
    size_t change_pool_used;
    size_t change_pool_capacity;
};

interp_state_t *interp_state_new(void) { return settle_calloc(1, sizeof(interp_state_t)); }

void interp_state_destroy(interp_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    interp_state_t *self = *self_p;
    settle_free(self->change_pool);
    settle_free(self->line_pool);
    settle_free(self->history_index.slots);
    settle_free(self->history);
    settle_free(self->total_index.slots);
    settle_free(self->totals);
    settle_free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------
 * Hashing and the indexes
 * ------------------------------------------------------------------------ */

#define S_FNV_OFFSET 0xcbf29ce484222325ULL
#define S_FNV_PRIME  0x100000001b3ULL

/* FNV-1a over text and its NUL (the NUL keeps "ab"+"c" from "a"+"bc"). */
static uint64_t s_hash_text(uint64_t hash, const char *text)
{
    for (; *text; text++)
        hash = (hash ^ (unsigned char)*text) * S_FNV_PRIME;
    return hash * S_FNV_PRIME;
}

/* Spreads every bit of the hash into the low ones the index masks with
 * (MurmurHash3's finaliser). */
static uint64_t s_hash_finish(uint64_t hash)
{
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    return hash ^ (hash >> 33);
}

static uint64_t s_total_hash(uint8_t kind, int32_t year, const char *key, const char *benefit)
{
    uint64_t hash = (S_FNV_OFFSET ^ kind) * S_FNV_PRIME;
    hash = (hash ^ (uint32_t)year) * S_FNV_PRIME;
    return s_hash_finish(s_hash_text(s_hash_text(hash, key), benefit));
}

static uint64_t s_claim_hash(const char *claim_id)
{
    return s_hash_finish(s_hash_text(S_FNV_OFFSET, claim_id));
}

/* Puts entry (absent from the index) under hash; the index has room. */
static void s_index_insert(s_index_t *index, uint64_t hash, uint32_t entry)
{
    size_t at = hash & index->mask;
    while (index->slots[at].entry != 0)
        at = (at + 1) & index->mask;
    index->slots[at] = (s_slot_t){.hash = hash, .entry = entry + 1};
    index->used++;
}

/* Makes room for one more entry, keeping the index at most half full so
 * that every probe ends at an empty slot soon.  SETTLE_ERR_NOMEM
 * (the index unchanged). */
static int s_index_reserve(s_index_t *index)
{
    size_t count = index->slots ? index->mask + 1 : 0;
    if ((index->used + 1) * 2 <= count)
        return SETTLE_OK;
    size_t grown = count ? count * 2 : 256;
    s_index_t bigger = {.slots = settle_calloc(grown, sizeof(s_slot_t)), .mask = grown - 1};
    if (!bigger.slots)
        return SETTLE_ERR_NOMEM;
    for (size_t i = 0; i < count; i++)
        if (index->slots[i].entry != 0)
            s_index_insert(&bigger, index->slots[i].hash, index->slots[i].entry - 1);
    settle_free(index->slots);
    *index = bigger;
    return SETTLE_OK;
}

/* Grows pool to hold needed items of size bytes, doubling; at most limit
 * items (what an index names is counted in 32 bits).  Returns the pool,
 * moved or not; on failure the same pool, unchanged, and *rc set to
 * SETTLE_ERR_NOMEM or SETTLE_ERR_TOO_MANY. */
static void *s_pool_reserve(void *pool, size_t *capacity, size_t needed, size_t size,
                            size_t limit, int *rc)
{
    if (*rc != SETTLE_OK || needed <= *capacity)
        return pool;
    if (needed > limit || needed > SIZE_MAX / 2 / size) {
        *rc = SETTLE_ERR_TOO_MANY;
        return pool;
    }
    size_t grown = *capacity ? *capacity : 64;
    while (grown < needed)
        grown *= 2;
    void *bigger = settle_realloc(pool, grown * size);
    if (!bigger) {
        *rc = SETTLE_ERR_NOMEM;
        return pool;
    }
    *capacity = grown;
    return bigger;
}

/* ------------------------------------------------------------------------
 * Accumulators
 * ------------------------------------------------------------------------ */

/* The id of the accumulator, or UINT32_MAX when there is none yet. */
static uint32_t s_total_find(const interp_state_t *self, uint64_t hash, uint8_t kind, int32_t year,
                             const char *key, const char *benefit)
{
    if (!self->total_index.slots)
        return UINT32_MAX;
    for (size_t at = hash & self->total_index.mask;; at = (at + 1) & self->total_index.mask) {
        const s_slot_t *slot = &self->total_index.slots[at];
        if (slot->entry == 0)
            return UINT32_MAX;
        const interp_accumulator_t *total = &self->totals[slot->entry - 1];
        if (slot->hash == hash && total->kind == kind && total->year == year &&
            strcmp(total->key, key) == 0 && strcmp(total->benefit, benefit) == 0)
            return slot->entry - 1;
    }
}

int64_t interp_state_total(const interp_state_t *self, interp_accumulator_kind_t kind,
                           int32_t year, const char *key, const char *benefit)
{
    benefit = benefit ? benefit : "";
    uint32_t id = s_total_find(self, s_total_hash((uint8_t)kind, year, key, benefit),
                               (uint8_t)kind, year, key, benefit);
    return id == UINT32_MAX ? 0 : self->totals[id].amount;
}

int interp_state_name_id(interp_state_t *self, uint8_t kind, int32_t year, const char *key,
                         const char *benefit, uint32_t *id_out)
{
    uint64_t hash = s_total_hash(kind, year, key, benefit);
    uint32_t id = s_total_find(self, hash, kind, year, key, benefit);
    if (id != UINT32_MAX) {
        *id_out = id;
        return SETTLE_OK;
    }
    size_t key_length = strlen(key), benefit_length = strlen(benefit);
    if (key_length >= CLAIM_MEMBER_ID_SIZE || benefit_length >= CONTRACT_ID_SIZE)
        return SETTLE_ERR_TOO_LONG;
    int rc = SETTLE_OK;
    self->totals = s_pool_reserve(self->totals, &self->total_capacity, self->total_count + 1,
                                  sizeof *self->totals, UINT32_MAX - 1, &rc);
    if (rc == SETTLE_OK)
        rc = s_index_reserve(&self->total_index);
    if (rc != SETTLE_OK)
        return rc;
    id = (uint32_t)self->total_count++;
    interp_accumulator_t *total = &self->totals[id];
    memset(total, 0, sizeof *total);
    total->kind = kind;
    total->year = year;
    memcpy(total->key, key, key_length);
    memcpy(total->benefit, benefit, benefit_length);
    s_index_insert(&self->total_index, hash, id);
    *id_out = id;
    return SETTLE_OK;
}

int interp_state_id(interp_state_t *self, const interp_accumulator_t *key, uint32_t *id_out)
{
    return interp_state_name_id(self, key->kind, key->year, key->key, key->benefit, id_out);
}

const interp_accumulator_t *interp_state_get(const interp_state_t *self, uint32_t id)
{
    return &self->totals[id];
}

int interp_state_add_id(interp_state_t *self, uint32_t id, int64_t amount)
{
    return money_add(self->totals[id].amount, amount, &self->totals[id].amount);
}

int interp_state_add(interp_state_t *self, const interp_accumulator_t *key, int64_t amount)
{
    uint32_t id;
    int rc = interp_state_id(self, key, &id);
    return rc == SETTLE_OK ? interp_state_add_id(self, id, amount) : rc;
}

/* ------------------------------------------------------------------------
 * Claim history
 * ------------------------------------------------------------------------ */

/* The index of claim_id's record under hash, or SIZE_MAX. */
static size_t s_history_find(const interp_state_t *self, uint64_t hash, const char *claim_id)
{
    if (!self->history_index.slots)
        return SIZE_MAX;
    for (size_t at = hash & self->history_index.mask;; at = (at + 1) & self->history_index.mask) {
        const s_slot_t *slot = &self->history_index.slots[at];
        if (slot->entry == 0)
            return SIZE_MAX;
        if (slot->hash == hash && strcmp(self->history[slot->entry - 1].claim_id, claim_id) == 0)
            return slot->entry - 1;
    }
}

interp_history_t *interp_history_find(interp_state_t *self, const char *claim_id)
{
    size_t index = s_history_find(self, s_claim_hash(claim_id), claim_id);
    return index == SIZE_MAX ? NULL : &self->history[index];
}

static size_t s_line_size(const interp_line_t *line)
{
    return S_LINE_HEAD_SIZE + line->adjustment_count * sizeof(interp_adjustment_t);
}

/* Makes room for the decision's lines and changes and one more record, so
 * that writing them cannot fail half-way.  SETTLE_ERR_NOMEM. */
static int s_history_reserve(interp_state_t *self, const interp_decision_t *decision,
                             const interp_changes_t *changes)
{
    size_t bytes = 0;
    for (uint32_t i = 0; i < decision->line_count; i++)
        bytes += s_line_size(&decision->lines[i]);
    int rc = SETTLE_OK;
    self->line_pool = s_pool_reserve(self->line_pool, &self->line_pool_capacity,
                                     self->line_pool_used + bytes, 1, SIZE_MAX, &rc);
    self->change_pool =
        s_pool_reserve(self->change_pool, &self->change_pool_capacity,
                       self->change_pool_used + changes->count, sizeof(s_change_t), SIZE_MAX, &rc);
    self->history = s_pool_reserve(self->history, &self->history_capacity, self->history_count + 1,
                                   sizeof(interp_history_t), UINT32_MAX - 1, &rc);
    if (rc == SETTLE_OK)
        rc = s_index_reserve(&self->history_index);
    return rc == SETTLE_ERR_TOO_MANY ? SETTLE_ERR_NOMEM : rc;
}

/* Appends the decision's lines and the changes to the pools (reserved). */
static void s_history_write(interp_state_t *self, interp_history_t *record,
                            const interp_decision_t *decision, const interp_changes_t *changes,
                            const uint32_t *ids)
{
    record->line_first = self->line_pool_used;
    for (uint32_t i = 0; i < decision->line_count; i++) {
        size_t size = s_line_size(&decision->lines[i]);
        memcpy(self->line_pool + self->line_pool_used, &decision->lines[i], size);
        self->line_pool_used += size;
    }
    record->change_first = self->change_pool_used;
    for (uint32_t i = 0; i < changes->count; i++)
        self->change_pool[self->change_pool_used++] =
            (s_change_t){.amount = changes->items[i].amount, .id = ids[i]};
}

int interp_history_put_ids(interp_state_t *self, const interp_decision_t *decision,
                           const interp_changes_t *changes, const uint32_t *ids)
{
    int rc = s_history_reserve(self, decision, changes);
    if (rc != SETTLE_OK)
        return rc;
    interp_history_t record = {.frequency = decision->frequency,
                               .status = (uint8_t)decision->status,
                               .billed_cents = decision->billed_cents,
                               .allowed_cents = decision->allowed_cents,
                               .paid_cents = decision->paid_cents,
                               .patient_cents = decision->patient_cents,
                               .line_count = decision->line_count,
                               .change_count = changes->count};
    memcpy(record.claim_id, decision->claim_id, sizeof record.claim_id);
    memcpy(record.related_claim_id, decision->related_claim_id, sizeof record.related_claim_id);
    s_history_write(self, &record, decision, changes, ids);
    uint64_t hash = s_claim_hash(record.claim_id);
    size_t index = s_history_find(self, hash, record.claim_id);
    if (index == SIZE_MAX) {
        index = self->history_count++;
        s_index_insert(&self->history_index, hash, (uint32_t)index);
    }
    self->history[index] = record;
    return SETTLE_OK;
}

int interp_history_put(interp_state_t *self, const interp_decision_t *decision,
                       const interp_changes_t *changes)
{
    uint32_t ids[INTERP_CHANGES_MAX];
    if (changes->count > INTERP_CHANGES_MAX || decision->line_count > CLAIM_LINES_MAX)
        return SETTLE_ERR_INVALID;
    for (uint32_t i = 0; i < decision->line_count; i++)
        if (decision->lines[i].adjustment_count > INTERP_ADJUSTMENTS_MAX)
            return SETTLE_ERR_INVALID;
    for (uint32_t i = 0; i < changes->count; i++) {
        /* Naming an accumulator creates it at zero, which no total shows. */
        int rc = interp_state_id(self, &changes->items[i], &ids[i]);
        if (rc != SETTLE_OK)
            return rc;
    }
    return interp_history_put_ids(self, decision, changes, ids);
}

void interp_history_lines(const interp_state_t *self, const interp_history_t *record,
                          interp_line_t *lines)
{
    const unsigned char *at = self->line_pool + record->line_first;
    for (uint32_t i = 0; i < record->line_count; i++) {
        memcpy(&lines[i], at, S_LINE_HEAD_SIZE);
        size_t size = s_line_size(&lines[i]);
        memcpy(lines[i].adjustments, at + S_LINE_HEAD_SIZE, size - S_LINE_HEAD_SIZE);
        at += size;
    }
}

void interp_history_decision(const interp_state_t *self, const interp_history_t *record,
                             interp_decision_t *decision)
{
    interp_line_t *lines = decision->lines;
    memset(decision, 0, sizeof *decision);
    decision->lines = lines;
    memcpy(decision->claim_id, record->claim_id, sizeof decision->claim_id);
    memcpy(decision->related_claim_id, record->related_claim_id,
           sizeof decision->related_claim_id);
    decision->frequency = record->frequency;
    decision->status = (interp_status_t)record->status;
    decision->billed_cents = record->billed_cents;
    decision->allowed_cents = record->allowed_cents;
    decision->paid_cents = record->paid_cents;
    decision->patient_cents = record->patient_cents;
    decision->line_count = record->line_count;
    interp_history_lines(self, record, lines);
}

void interp_history_change(const interp_state_t *self, const interp_history_t *record,
                           uint32_t index, uint32_t *id_out, int64_t *amount_out)
{
    const s_change_t *change = &self->change_pool[record->change_first + index];
    *id_out = change->id;
    *amount_out = change->amount;
}

void interp_history_changes(const interp_state_t *self, const interp_history_t *record,
                            interp_changes_t *changes)
{
    changes->count = record->change_count;
    for (uint32_t i = 0; i < record->change_count; i++) {
        const s_change_t *change = &self->change_pool[record->change_first + i];
        changes->items[i] = self->totals[change->id];
        changes->items[i].amount = change->amount;
    }
}
