/*
 * interp_state.h - filling an interpreter state (interp.h) from outside:
 * the ledger rebuilds the accumulator totals and the claim history it keeps
 * in SQLite when a node opens its database or restores a snapshot.  The
 * interpreter itself uses the same calls (contracts/interp_state.c).
 */
#ifndef SETTLE_INTERP_STATE_H
#define SETTLE_INTERP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/interp.h"

/*
 * An adjudicated claim, kept so that a duplicate is recognised and a void
 * or replacement can reverse it.  The record holds what the duplicate
 * check reads; the state packs the rest (frequency, related claim, totals,
 * accumulator changes, lines) compactly elsewhere, since a full
 * interp_line_t per line would take three times the memory and the time
 * to record; interp_history_decision and interp_history_changes rebuild
 * it.  voided is the one field a caller may write; data is the state's.
 */
typedef struct {
    char claim_id[CLAIM_ID_SIZE];
    bool voided;
    uint8_t status; /* interp_status_t */
    uint32_t line_count;
    uint32_t change_count;
    const void *data; /* the state's: the rest of the claim, packed */
} interp_history_t;

/* Adds amount to the accumulator named by key (kind, year, key, benefit),
 * creating it at zero first.  SETTLE_ERR_OVERFLOW, SETTLE_ERR_NOMEM. */
int interp_state_add(interp_state_t *self, const interp_accumulator_t *key, int64_t amount);

/* The record of claim_id, or NULL; valid until the next interp_history_put. */
interp_history_t *interp_history_find(interp_state_t *self, const char *claim_id);

/* Records a decision and its changes under the decision's claim id,
 * replacing an earlier record of that id (copies both; the record starts
 * not voided).  SETTLE_ERR_NOMEM, with the history unchanged. */
int interp_history_put(interp_state_t *self, const interp_decision_t *decision,
                       const interp_changes_t *changes);

/* Rebuilds record's decision, lines included, into decision (made by
 * interp_decision_new), as it was put. */
void interp_history_decision(const interp_state_t *self, const interp_history_t *record,
                             interp_decision_t *decision);

/* Rebuilds record's accumulator changes, named in full, into changes. */
void interp_history_changes(const interp_state_t *self, const interp_history_t *record,
                            interp_changes_t *changes);

#endif
