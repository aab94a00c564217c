/*
 * interp_state.c - accumulator totals and the history of adjudicated
 * claims, both found by bisection over sorted arrays (no hash-table order:
 * what the state holds never depends on where memory happened to be).
 * Accumulators live in an append-only table, so their ids are stable, and
 * a sorted index of ids is what lookups bisect.
 */
#include <string.h>

#include "interp_internal.h"
#include "settle/alloc.h"
#include "settle/money.h"

/* One entry of the sorted index: the accumulator's kind, year and the
 * first 8 bytes of its key packed big-endian, so that most comparisons of
 * a bisection are two integer compares in one cache line, and only a tie
 * reads the full key.  The order is the same as comparing kind, year, key
 * (strcmp) and benefit. */
typedef struct {
    uint64_t head; /* kind (8 bits), year + 2^23 (24 bits), nothing else */
    uint64_t key_prefix;
    uint32_t id;
} s_order_t;

struct interp_state_s {
    interp_accumulator_t *totals; /* append-only: an accumulator's index is its id */
    s_order_t *order;             /* sorted by key, for bisection */
    size_t total_count;
    size_t total_capacity;
    interp_history_t *history;
    size_t history_count;
    size_t history_capacity;
};

interp_state_t *interp_state_new(void) { return settle_calloc(1, sizeof(interp_state_t)); }

void interp_state_destroy(interp_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    interp_state_t *self = *self_p;
    for (size_t i = 0; i < self->history_count; i++) {
        settle_free(self->history[i].changes);
        settle_free(self->history[i].decision.lines);
    }
    settle_free(self->history);
    settle_free(self->order);
    settle_free(self->totals);
    settle_free(self);
    *self_p = NULL;
}

static s_order_t s_order_key(uint8_t kind, int32_t year, const char *key)
{
    s_order_t entry = {.head = ((uint64_t)kind << 24) | (uint64_t)((year + (1 << 23)) & 0xffffff)};
    for (int i = 0; i < 8 && key[i]; i++)
        entry.key_prefix |= (uint64_t)(unsigned char)key[i] << (56 - 8 * i);
    return entry;
}

static int s_key_order(const interp_state_t *self, const s_order_t *a, const s_order_t *b,
                       const char *key, const char *benefit)
{
    if (a->head != b->head)
        return a->head < b->head ? -1 : 1;
    if (a->key_prefix != b->key_prefix)
        return a->key_prefix < b->key_prefix ? -1 : 1;
    const interp_accumulator_t *total = &self->totals[a->id];
    int order = strcmp(total->key, key);
    return order ? order : strcmp(total->benefit, benefit);
}

/* The position in the sorted index of the accumulator, or where it would
 * go; *found says which. */
static size_t s_total_index(const interp_state_t *self, uint8_t kind, int32_t year,
                            const char *key, const char *benefit, bool *found)
{
    s_order_t wanted = s_order_key(kind, year, key);
    size_t low = 0, high = self->total_count;
    *found = false;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = s_key_order(self, &self->order[middle], &wanted, key, benefit);
        if (order == 0) {
            *found = true;
            return middle;
        }
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

int64_t interp_state_total(const interp_state_t *self, interp_accumulator_kind_t kind,
                           int32_t year, const char *key, const char *benefit)
{
    bool found;
    size_t index = s_total_index(self, (uint8_t)kind, year, key, benefit ? benefit : "", &found);
    return found ? self->totals[self->order[index].id].amount : 0;
}

static int s_grow_totals(interp_state_t *self)
{
    if (self->total_count < self->total_capacity)
        return SETTLE_OK;
    size_t grown = self->total_capacity ? self->total_capacity * 2 : 64;
    if (grown > UINT32_MAX)
        return SETTLE_ERR_TOO_MANY;
    interp_accumulator_t *totals = settle_realloc(self->totals, grown * sizeof *totals);
    if (!totals)
        return SETTLE_ERR_NOMEM;
    self->totals = totals;
    s_order_t *order = settle_realloc(self->order, grown * sizeof *order);
    if (!order)
        return SETTLE_ERR_NOMEM; /* both arrays stay valid; capacity unchanged */
    self->order = order;
    self->total_capacity = grown;
    return SETTLE_OK;
}

int interp_state_id(interp_state_t *self, const interp_accumulator_t *key, uint32_t *id_out)
{
    bool found;
    size_t index = s_total_index(self, key->kind, key->year, key->key, key->benefit, &found);
    if (found) {
        *id_out = self->order[index].id;
        return SETTLE_OK;
    }
    int rc = s_grow_totals(self);
    if (rc != SETTLE_OK)
        return rc;
    uint32_t id = (uint32_t)self->total_count;
    self->totals[id] = *key;
    self->totals[id].amount = 0;
    memmove(&self->order[index + 1], &self->order[index],
            (self->total_count - index) * sizeof *self->order);
    self->order[index] = s_order_key(key->kind, key->year, key->key);
    self->order[index].id = id;
    self->total_count++;
    *id_out = id;
    return SETTLE_OK;
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

static size_t s_history_index(const interp_state_t *self, const char *claim_id, bool *found)
{
    size_t low = 0, high = self->history_count;
    *found = false;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(self->history[middle].decision.claim_id, claim_id);
        if (order == 0) {
            *found = true;
            return middle;
        }
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

interp_history_t *interp_history_find(interp_state_t *self, const char *claim_id)
{
    bool found;
    size_t index = s_history_index(self, claim_id, &found);
    return found ? &self->history[index] : NULL;
}

int interp_history_put(interp_state_t *self, const interp_decision_t *decision,
                       const interp_changes_t *changes)
{
    interp_history_t record = {.decision = *decision, .change_count = changes->count};
    record.decision.lines = settle_malloc((decision->line_count + 1) * sizeof(interp_line_t));
    record.changes = settle_malloc((changes->count + 1) * sizeof(interp_accumulator_t));
    if (!record.decision.lines || !record.changes) {
        settle_free(record.decision.lines);
        settle_free(record.changes);
        return SETTLE_ERR_NOMEM;
    }
    memcpy(record.decision.lines, decision->lines, decision->line_count * sizeof(interp_line_t));
    memcpy(record.changes, changes->items, changes->count * sizeof(interp_accumulator_t));
    bool found;
    size_t index = s_history_index(self, decision->claim_id, &found);
    if (found) {
        settle_free(self->history[index].decision.lines);
        settle_free(self->history[index].changes);
        self->history[index] = record;
        return SETTLE_OK;
    }
    if (self->history_count == self->history_capacity) {
        size_t grown = self->history_capacity ? self->history_capacity * 2 : 64;
        interp_history_t *bigger = settle_realloc(self->history, grown * sizeof *bigger);
        if (!bigger) {
            settle_free(record.decision.lines);
            settle_free(record.changes);
            return SETTLE_ERR_NOMEM;
        }
        self->history = bigger;
        self->history_capacity = grown;
    }
    memmove(&self->history[index + 1], &self->history[index],
            (self->history_count - index) * sizeof *self->history);
    self->history[index] = record;
    self->history_count++;
    return SETTLE_OK;
}
