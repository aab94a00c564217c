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

/* The ids of a member's four cost-sharing accumulators for year, in the
 * order deductible individual, deductible family, out-of-pocket
 * individual, out-of-pocket family, created at zero when new.  The state
 * remembers the answer, so a member's next claim costs one lookup, not
 * four (each of which touched three cache lines of a large table).
 * member_hash is member_id's interp_state_key_hash.  SETTLE_ERR_NOMEM. */
int interp_state_member_ids(interp_state_t *self, int32_t year, const char *member_id,
                            uint64_t member_hash, const char *family_id, uint32_t ids_out[4]);

/* Starts loading the accumulators interp_state_member_ids(year, the member
 * of member_hash) will answer with, if the state knows them: called when
 * the claim's member is known, the lines' first steps run while they
 * arrive.  Changes nothing. */
void interp_state_member_prefetch(const interp_state_t *self, uint64_t member_hash, int32_t year);

/*
 * The hash the state files a claim id (in the history) and a member id (in
 * the enrollment index) under.  The interpreter computes each once per
 * claim and hands it to the lookups below, which would otherwise compute
 * it again.
 */
uint64_t interp_state_key_hash(const char *key);

/*
 * Starts loading the index slots that a claim's lookups will read first:
 * claim_hash in the history, member_hash in the enrollment and, with
 * year, in the member index.  Each is a random place in a large table:
 * begun together, the cache misses overlap instead of following one
 * another.  Changes nothing; no answer depends on it.
 */
void interp_state_prefetch(const interp_state_t *self, uint64_t claim_hash, uint64_t member_hash,
                           int32_t year);

/* interp_history_find with claim_id's interp_state_key_hash. */
interp_history_t *interp_history_find_hash(interp_state_t *self, const char *claim_id,
                                           uint64_t hash);

/*
 * enrollment_find, through an index the state keeps of the last enrollment
 * it was given: a hash of the id and one member record read, instead of a
 * bisection whose every step reads a member record far from the last.
 * Every answer is checked against the list itself (and a miss asks
 * enrollment_find), so an index left over from an earlier list at the same
 * address can cost time, never give a wrong member.  Indexing a new list
 * allocates once; out of memory, this is enrollment_find.  hash is
 * member_id's interp_state_key_hash.
 */
const enrollment_member_t *interp_state_member(interp_state_t *self, const enrollment_t *enrollment,
                                               const char *member_id, uint64_t hash);

/* The accumulator with this id (its amount is the current total). */
const interp_accumulator_t *interp_state_get(const interp_state_t *self, uint32_t id);

/* Adds amount to accumulator id.  SETTLE_ERR_OVERFLOW (unchanged). */
int interp_state_add_id(interp_state_t *self, uint32_t id, int64_t amount);

/* interp_history_put with the changes' accumulator ids already known
 * (ids[i] is changes->items[i]'s), as the interpreter has them, and hash
 * decision->claim_id's interp_state_key_hash. */
int interp_history_put_ids(interp_state_t *self, const interp_decision_t *decision,
                           const interp_changes_t *changes, const uint32_t *ids, uint64_t hash);

/* What the history packs of a claim besides its record and lines. */
typedef struct {
    uint8_t frequency;
    char related_claim_id[CLAIM_REFERENCE_SIZE];
    int64_t billed_cents;
    int64_t allowed_cents;
    int64_t paid_cents;
    int64_t patient_cents;
} interp_history_totals_t;

/* Unpacks record: its totals, its changes' accumulator ids and amounts
 * (room for change_count each), its lines (room for line_count); any of
 * the outputs may be NULL to skip it. */
void interp_history_read(const interp_state_t *self, const interp_history_t *record,
                         interp_history_totals_t *totals, uint32_t *ids, int64_t *amounts,
                         interp_line_t *lines);

#endif
