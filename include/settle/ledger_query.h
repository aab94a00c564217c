/*
 * ledger_query.h - read-only lookups over the ledger for the node's query
 * verbs (node_query.h): a claim id across payers, a payment and its
 * claims, a provider by NPI, a member and its accumulator totals, a chain
 * entry, and the claim itself, decoded from the entry that carried it.
 *
 * Nothing here writes, and nothing here feeds a decision: these are the
 * answers to clients, read between entries on the node's own thread (the
 * ledger handle is not shared across threads).  Each function prepares
 * its own statements and finalizes them before it returns, so it leaves
 * the ledger's cached statements (ledger.c) alone.
 */
#ifndef SETTLE_LEDGER_QUERY_H
#define SETTLE_LEDGER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/enrollment.h"
#include "settle/error.h"
#include "settle/ledger.h"

/* Called with each claim row found; the row is valid only for the call.
 * A nonzero return stops the walk and is returned. */
typedef int (*ledger_claim_fn)(const ledger_claim_t *row, void *context);

/*
 * Calls each for every stored claim with this id: of payer only when payer
 * is not NULL, otherwise of every registered payer, in payer order.
 * SETTLE_ERR_NOT_FOUND when there is none, SETTLE_ERR_IO when the store
 * fails.
 */
int ledger_claim_each_with_id(ledger_t *self, const char *claim_id, const char *payer,
                              ledger_claim_fn each, void *context, settle_error_t *error);

/* The payment with this id (the trace number); SETTLE_ERR_NOT_FOUND when
 * there is none. */
int ledger_payment_get(ledger_t *self, const char *payment_id, ledger_payment_t *row_out,
                       settle_error_t *error);

/* Calls each for every claim the payment paid, in claim (row) order. */
int ledger_payment_claim_each(ledger_t *self, const ledger_payment_t *payment, ledger_claim_fn each,
                              void *context, settle_error_t *error);

/* The provider registered with this NPI (the first by id when several
 * are); SETTLE_ERR_NOT_FOUND when none is. */
int ledger_provider_by_npi(ledger_t *self, const char *npi, ledger_participant_t *row_out,
                           settle_error_t *error);

/* The payer's member with this id; SETTLE_ERR_NOT_FOUND when not enrolled. */
int ledger_member_get(ledger_t *self, const char *payer, const char *member_id,
                      enrollment_member_t *member_out, settle_error_t *error);

/*
 * Calls each with every accumulator total of the member's, in
 * ledger_total_each's order: the individual and benefit accumulators keyed
 * by the member's id and the family ones keyed by its family.  The totals
 * are summed from every claim's decision (the ledger keeps no running
 * total), so this reads every decision of the ledger.
 */
int ledger_member_total_each(ledger_t *self, const char *payer, const enrollment_member_t *member,
                             ledger_total_fn each, void *context, settle_error_t *error);

/* A copy of the applied entry at entry_index and the leader's timestamp on
 * it; *entry_out is the caller's (settle_free).  SETTLE_ERR_NOT_FOUND when
 * the chain has no such link. */
int ledger_chain_entry(ledger_t *self, uint64_t entry_index, uint64_t *timestamp_ms_out,
                       uint8_t **entry_out, size_t *size_out, settle_error_t *error);

/*
 * The claim a claims row answers, as submitted: decodes the entry at the
 * row's entry_index, walks its batch commands and decodes, into claim_out
 * (made by claim_new), the claim whose encoding hashes to the row's
 * content_hash.  SETTLE_ERR_NOT_FOUND when the entry holds no such claim,
 * SETTLE_ERR_CORRUPT when the entry does not decode; claim_out is then
 * left empty.
 */
int ledger_claim_content(ledger_t *self, const ledger_claim_t *row, claim_t *claim_out,
                         settle_error_t *error);

#endif
