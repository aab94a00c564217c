/*
 * interp.h - the adjudication interpreter: a compiled contract, a member's
 * enrollment and the accumulators so far, applied to one claim.
 *
 * Pure and deterministic: no I/O, no clock, no floating point, no
 * environment.  The same contracts, enrollment, accumulator state and claim
 * give the same decision, byte for byte, on every machine.  The order of the
 * steps is part of the contract between payer and provider and is written
 * out in contracts/README.md.
 *
 * The caller owns every object: compile contracts once (contract.h), load
 * the enrollment once (enrollment.h), make one accumulator state (which also
 * remembers adjudicated claims, for duplicates, voids and replacements), one
 * decision and one change list, and reuse them claim after claim: adjudicating
 * a line allocates nothing (only the first use of an accumulator, and the
 * claim's history record, allocate).
 */
#ifndef SETTLE_INTERP_H
#define SETTLE_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/contract.h"
#include "settle/enrollment.h"
#include "settle/error.h"

typedef enum {
    INTERP_STATUS_PAID,    /* every line processed without a denial */
    INTERP_STATUS_PARTIAL, /* some lines or units denied, some processed */
    INTERP_STATUS_DENIED,  /* every line denied in full */
    INTERP_STATUS_REJECTED /* not adjudicated: duplicate, unknown member, bad void */
} interp_status_t;

/* "paid", "partial", "denied", "rejected". */
const char *interp_status_name(interp_status_t status);

#define INTERP_GROUP_SIZE      3 /* "CO", "PR", "OA" */
#define INTERP_REASON_SIZE     8 /* a CARC: "45", "197" */
#define INTERP_ADJUSTMENTS_MAX 8 /* a line gets at most: 2 unit denials or 1 denial, 45, 3, 1, 2   \
                                  */

typedef struct {
    char group[INTERP_GROUP_SIZE];
    char reason[INTERP_REASON_SIZE];
    int64_t amount_cents;
} interp_adjustment_t;

/* One line's decision.  charge - sum(adjustments) == paid, always. */
typedef struct {
    uint32_t line; /* 1-based, as on the claim */
    char code[CLAIM_PROCEDURE_SIZE];
    int64_t units_milli;      /* billed */
    int64_t units_milli_paid; /* the units that reached pricing (after unit denials) */
    int64_t billed_cents;
    int64_t allowed_cents;
    int64_t deductible_cents;
    int64_t copay_cents;
    int64_t coinsurance_cents;
    int64_t paid_cents;
    int64_t patient_cents; /* deductible + copay + coinsurance */
    bool denied_in_full;
    bool denied_in_part;
    uint32_t adjustment_count;
    interp_adjustment_t adjustments[INTERP_ADJUSTMENTS_MAX];
} interp_line_t;

typedef struct {
    char claim_id[CLAIM_ID_SIZE];
    uint8_t frequency;
    /* For a void (8) or a replacement (7): the claim it voids or replaces. */
    char related_claim_id[CLAIM_REFERENCE_SIZE];
    interp_status_t status;
    int64_t billed_cents;
    int64_t allowed_cents;
    int64_t paid_cents;
    int64_t patient_cents;
    uint32_t line_count;
    interp_line_t *lines; /* room for CLAIM_LINES_MAX, owned by the decision */
    /* The contract that decided the claim: the one in force for the first
     * line that found one (one of the contracts given to interp_adjudicate;
     * the lines of a claim that spans a change of version may each have
     * their own).  NULL when no line reached a contract: a claim rejected
     * before its lines (member unknown, a correction of nothing), a void
     * (its original's lines negated), every line out of coverage. */
    const contract_t *contract;
} interp_decision_t;

/* Negates every amount of the decision in place, claim totals, lines and
 * adjustments: what reverses it (a void's decision, a remittance's
 * reversal).  Status, codes and units are left as they are. */
void interp_decision_negate(interp_decision_t *decision);

/* A new decision with room for the largest claim, or NULL when out of
 * memory.  Free with interp_decision_destroy (nulls the pointer, safe twice). */
interp_decision_t *interp_decision_new(void);
void interp_decision_destroy(interp_decision_t **self_p);

/* What an accumulator counts.  Amounts are cents; benefit use is units x 1000. */
typedef enum {
    INTERP_ACCUMULATOR_DEDUCTIBLE_INDIVIDUAL,
    INTERP_ACCUMULATOR_DEDUCTIBLE_FAMILY,
    INTERP_ACCUMULATOR_OOP_INDIVIDUAL,
    INTERP_ACCUMULATOR_OOP_FAMILY,
    INTERP_ACCUMULATOR_BENEFIT_UNITS
} interp_accumulator_kind_t;

/* One accumulator and a change to it: key is the member id (individual,
 * benefit) or the family id; benefit is the benefit's name or "". */
typedef struct {
    uint8_t kind; /* interp_accumulator_kind_t */
    int32_t year; /* the accumulator period: the calendar year of service */
    char key[CLAIM_MEMBER_ID_SIZE];
    char benefit[CONTRACT_ID_SIZE];
    int64_t amount; /* the change (in interp_changes_t), or the total */
} interp_accumulator_t;

#define INTERP_CHANGES_MAX 256

/* The accumulator changes one claim made, one entry per accumulator (the
 * changes of all its lines added up), in first-touched order.  A void
 * holds the reversal (negative amounts). */
typedef struct {
    uint32_t count;
    interp_accumulator_t items[INTERP_CHANGES_MAX];
} interp_changes_t;

/* The accumulator totals and the claim history; opaque, owned by the caller. */
typedef struct interp_state_s interp_state_t;

/* A new, empty state or NULL when out of memory; destroy nulls the pointer. */
interp_state_t *interp_state_new(void);
void interp_state_destroy(interp_state_t **self_p);

/* The current total of one accumulator (0 when never touched). */
int64_t interp_state_total(const interp_state_t *self, interp_accumulator_kind_t kind, int32_t year,
                           const char *key, const char *benefit);

/*
 * Adjudicates claim against the contract (chosen by the member's contract
 * id and the line's date of service among contracts[0..contract_count)),
 * the enrollment and the state, and applies the accumulator changes to the
 * state.  received is the day the payer received the claim (DATE_NONE: do
 * not check timely filing).  decision and changes are overwritten.
 *
 * The patient's age (age edits, rules on member.age) is the member's
 * age on the line's first day of service when enrollment gives a birth
 * date, else the line's patient_age (claim.h: set when the claim was
 * protected, phi.h, as on the shared ledger), else unknown.
 *
 * A denied or rejected claim is a result, not an error.  Errors:
 * SETTLE_ERR_NOT_FOUND when the member's contract id names no given
 * contract, SETTLE_ERR_OVERFLOW on an amount too large to compute,
 * SETTLE_ERR_TOO_MANY past INTERP_CHANGES_MAX, SETTLE_ERR_NOMEM; after an
 * error the state is as it was before the call.
 */
int interp_adjudicate(const contract_t *const *contracts, size_t contract_count,
                      const enrollment_t *enrollment, interp_state_t *state, const claim_t *claim,
                      int32_t received, interp_decision_t *decision, interp_changes_t *changes,
                      settle_error_t *error);

#endif
