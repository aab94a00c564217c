/*
 * remit_build.h - building a remittance (remit.h) from adjudicated claims
 * the way settle reports corrections, shared by the offline run
 * (`settle adjudicate --remit`) and the node's `remit` query.
 *
 * A replacement (frequency 7) is reported as payers report corrections:
 * the reversal of the claim it replaces (CLP02 22, the original's lines
 * with every amount negated, under the original's id and payer claim
 * number), then the replacement itself, so the payment counts the
 * replaced claim once.  A void (frequency 8) is its own reversal: its
 * decision already holds the original's lines negated.
 *
 * The payer claim control number (CLP07) of a claim is the first sixteen
 * hex digits of its content hash, its identity on the ledger.
 *
 * Lives in engine/ (library settle_remit), not in adapters/, because
 * negating a decision is the interpreter's (interp_decision_negate) and
 * adapters depend on the core model only.
 */
#ifndef SETTLE_REMIT_BUILD_H
#define SETTLE_REMIT_BUILD_H

#include <stdint.h>

#include "settle/claim.h"
#include "settle/claim_codec.h"
#include "settle/error.h"
#include "settle/interp.h"
#include "settle/remit.h"

#define REMIT_CLAIM_NUMBER_DIGITS 16

/* The payer claim control number of a claim with this content hash. */
void remit_claim_number(const uint8_t content_hash[CLAIM_HASH_SIZE],
                        char number_out[REMIT_CLAIM_NUMBER_DIGITS + 1]);

/* The entry answering claim_id that no later reversal in self cancels, or
 * NULL.  The pointer is valid until the next change to self. */
const remit_claim_t *remit_find_claim(const remit_t *self, const char *claim_id);

/*
 * Appends the reversal of entry: its claim rebuilt as a void of itself
 * and its decision with every amount negated, under its payer claim
 * number.  entry may point into self (it is copied before self grows).
 * SETTLE_ERR_NOMEM, or remit_add_claim's errors; self is unchanged on
 * failure.
 */
int remit_add_reversal(remit_t *self, const remit_claim_t *entry, settle_error_t *error);

/*
 * Appends the answer to one claim (remit_add_claim), preceded, for a
 * replacement whose original self already holds unreversed, by that
 * original's reversal.  A replacement whose original was paid elsewhere
 * is added alone: a caller that knows the original adds its reversal
 * first (remit_add_reversal).  Errors as remit_add_claim.
 */
int remit_add_answer(remit_t *self, const claim_t *claim, const interp_decision_t *decision,
                     const char *payer_claim_number, settle_error_t *error);

/*
 * Writes the remittance as format "x12" (an 835: sender the payer id,
 * receiver the payee NPI, control number control (1..999999999) for the
 * interchange and group, at least four digits for the transaction; dated
 * date at time_hhmm; a newline after each segment) or "fhir" (a Bundle of
 * ClaimResponses, pretty).  On success *text_out is the caller's
 * (settle_free).  SETTLE_ERR_INVALID for another format; otherwise the
 * writer's errors, an unbalanced remittance among them.
 */
int remit_write_format(const remit_t *remit, const char *format, uint32_t control, int32_t date,
                       uint32_t time_hhmm, char **text_out, settle_error_t *error);

#endif
