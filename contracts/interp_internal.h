/*
 * interp_internal.h - the interpreter's state store (interp_state.c), as the
 * adjudication steps (interp.c) use it.  Private to contracts/; the calls
 * themselves are public in settle/interp_state.h, for the ledger.
 */
#ifndef SETTLE_INTERP_INTERNAL_H
#define SETTLE_INTERP_INTERNAL_H

#include "settle/interp.h"
#include "settle/interp_state.h"

/*
 * Accumulators have ids that never change (the state's table is append-only;
 * a separate hash index is what lookups probe), so the interpreter can
 * resolve a member's accumulators once per claim and then work by id.
 * interp_state_id finds the accumulator named by key (kind, year, key,
 * benefit; its amount is ignored), creating it at zero.  SETTLE_ERR_NOMEM.
 */
int interp_state_id(interp_state_t *self, const interp_accumulator_t *key, uint32_t *id_out);

/* The same, named by its parts (benefit "" for none), without building an
 * interp_accumulator_t first.  SETTLE_ERR_TOO_LONG for a key or benefit
 * that would not fit the record; SETTLE_ERR_NOMEM. */
int interp_state_name_id(interp_state_t *self, uint8_t kind, int32_t year, const char *key,
                         const char *benefit, uint32_t *id_out);

/* The accumulator with this id (its amount is the current total). */
const interp_accumulator_t *interp_state_get(const interp_state_t *self, uint32_t id);

/* Adds amount to accumulator id.  SETTLE_ERR_OVERFLOW (unchanged). */
int interp_state_add_id(interp_state_t *self, uint32_t id, int64_t amount);

/* interp_history_put with the changes' accumulator ids already known
 * (ids[i] is changes->items[i]'s), as the interpreter has them. */
int interp_history_put_ids(interp_state_t *self, const interp_decision_t *decision,
                           const interp_changes_t *changes, const uint32_t *ids);

/* Copies record's lines, as they were put, into lines[0..line_count). */
void interp_history_lines(const interp_state_t *self, const interp_history_t *record,
                          interp_line_t *lines);

/* The index-th accumulator change of record: its accumulator id and amount. */
void interp_history_change(const interp_state_t *self, const interp_history_t *record,
                           uint32_t index, uint32_t *id_out, int64_t *amount_out);

#endif
