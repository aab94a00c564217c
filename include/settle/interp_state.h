/*
 * interp_state.h - filling an interpreter state (interp.h) from outside:
 * the ledger rebuilds the accumulator totals and the claim history it keeps
 * in SQLite when a node opens its database or restores a snapshot.  The
 * interpreter itself uses the same calls (contracts/interp_state.c).
 */
#ifndef SETTLE_INTERP_STATE_H
#define SETTLE_INTERP_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "settle/interp.h"

/* An adjudicated claim, kept so that a duplicate is recognised and a void
 * or replacement can reverse it. */
typedef struct {
    interp_decision_t decision; /* lines: a copy the record owns */
    uint32_t change_count;
    interp_accumulator_t *changes; /* owned */
    bool voided;
} interp_history_t;

/* Adds amount to the accumulator named by key (kind, year, key, benefit),
 * creating it at zero first.  SETTLE_ERR_OVERFLOW, SETTLE_ERR_NOMEM. */
int interp_state_add(interp_state_t *self, const interp_accumulator_t *key, int64_t amount);

/* The record of claim_id, or NULL; valid until the next interp_history_put. */
interp_history_t *interp_history_find(interp_state_t *self, const char *claim_id);

/* Records a decision and its changes under the decision's claim id,
 * replacing an earlier record of that id (copies both).  SETTLE_ERR_NOMEM. */
int interp_history_put(interp_state_t *self, const interp_decision_t *decision,
                       const interp_changes_t *changes);

#endif
