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
 * a separate sorted index is what lookups bisect), so the interpreter can
 * resolve a member's accumulators once per claim and then work by id.
 * interp_state_id finds the accumulator named by key (kind, year, key,
 * benefit; its amount is ignored), creating it at zero.  SETTLE_ERR_NOMEM.
 */
int interp_state_id(interp_state_t *self, const interp_accumulator_t *key, uint32_t *id_out);

/* The accumulator with this id (its amount is the current total). */
const interp_accumulator_t *interp_state_get(const interp_state_t *self, uint32_t id);

/* Adds amount to accumulator id.  SETTLE_ERR_OVERFLOW (unchanged). */
int interp_state_add_id(interp_state_t *self, uint32_t id, int64_t amount);

#endif
