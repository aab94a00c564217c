/*
 * interp_state.c - accumulator totals and the history of adjudicated
 * claims, both in arrays kept sorted for bisection (no hash-table order:
 * what the state holds never depends on where memory happened to be).
 */
#include <string.h>

#include "interp_internal.h"
#include "settle/alloc.h"
#include "settle/money.h"

struct interp_state_s {
    interp_accumulator_t *totals;
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
    settle_free(self->totals);
    settle_free(self);
    *self_p = NULL;
}

static int s_key_order(const interp_accumulator_t *a, uint8_t kind, int32_t year,
                       const char *key, const char *benefit)
{
    if (a->kind != kind)
        return a->kind < kind ? -1 : 1;
    if (a->year != year)
        return a->year < year ? -1 : 1;
    int order = strcmp(a->key, key);
    return order ? order : strcmp(a->benefit, benefit);
}

/* The index of the accumulator, or where it would go; *found says which. */
static size_t s_total_index(const interp_state_t *self, uint8_t kind, int32_t year,
                            const char *key, const char *benefit, bool *found)
{
    size_t low = 0, high = self->total_count;
    *found = false;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = s_key_order(&self->totals[middle], kind, year, key, benefit);
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
    return found ? self->totals[index].amount : 0;
}

int interp_state_add(interp_state_t *self, const interp_accumulator_t *key, int64_t amount)
{
    bool found;
    size_t index = s_total_index(self, key->kind, key->year, key->key, key->benefit, &found);
    if (found)
        return money_add(self->totals[index].amount, amount, &self->totals[index].amount);
    if (self->total_count == self->total_capacity) {
        size_t grown = self->total_capacity ? self->total_capacity * 2 : 64;
        interp_accumulator_t *bigger = settle_realloc(self->totals, grown * sizeof *bigger);
        if (!bigger)
            return SETTLE_ERR_NOMEM;
        self->totals = bigger;
        self->total_capacity = grown;
    }
    memmove(&self->totals[index + 1], &self->totals[index],
            (self->total_count - index) * sizeof *self->totals);
    self->totals[index] = *key;
    self->totals[index].amount = amount;
    self->total_count++;
    return SETTLE_OK;
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
