/*
 * fhir_response.h - FHIR R4 ClaimResponse and ExplanationOfBenefit JSON
 * from a remittance (remit.h): what the 835 says, for FHIR clients.
 *
 * One resource per claim of the remittance: outcome, per-item adjudication
 * (submitted, eligible, deductible, copay, coinsurance, benefit, and one
 * entry per CAS adjustment with its CARC reason), totals, and the payment
 * (amount, date, identifier = the remittance's trace number).  Provider-
 * level adjustments (PLB) have no place on a per-claim resource and are left
 * out; they belong to a PaymentReconciliation, which settle does not write.
 *
 * Code systems:
 *   categories  http://terminology.hl7.org/CodeSystem/adjudication
 *               (submitted, eligible, deductible, copay, benefit); R4's
 *               system has no coinsurance, so that one comes from
 *               http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication
 *   CAS group   urn:settle:x12:claim-adjustment-group (CO, PR, OA, PI, CR):
 *               no published FHIR system carries the X12 group code, so
 *               this local one keeps it as the 835 says it
 *   reasons     https://x12.org/codes/claim-adjustment-reason-codes (the
 *               X12 CARC system as registered in HL7 terminology, chosen
 *               over terminology.hl7.org/CodeSystem/claimadjustmentreason,
 *               which holds only a few example codes)
 *
 * outcome: "complete" for paid and denied claims (processing finished; a
 * denial is a result), "partial" when some lines or units were denied,
 * "error" for a rejected claim, which also lists its CARC reasons in
 * ClaimResponse.error.
 *
 * Money never passes through a double.  Amounts are FHIR decimals written
 * exactly from cents ("value": 12.50) and units from thousandths
 * ("value": 1.5): the tree holds each as a marked string, jansson writes
 * the text, and a pass over the written text that knows where JSON
 * strings begin and end turns each marked string into the bare number.
 * Values from the caller cannot forge the mark: text with a byte outside
 * printable ASCII is refused.
 */
#ifndef SETTLE_FHIR_RESPONSE_H
#define SETTLE_FHIR_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"
#include "settle/remit.h"

/*
 * Writes the ClaimResponse for remit->claims[index] as JSON (two-space
 * indent when pretty, compact otherwise).  On success *text_out is a
 * NUL-terminated buffer from settle_malloc the caller frees with
 * settle_free.  Fails, writing nothing, with the error of
 * remit_check_balance when the remittance does not balance,
 * SETTLE_ERR_RANGE for an index past the claims or a remittance without a
 * payment date, SETTLE_ERR_INVALID for text holding a byte outside
 * printable ASCII, SETTLE_ERR_NOMEM.
 */
int fhir_claim_response_write(const remit_t *remit, uint32_t index, bool pretty, char **text_out,
                              settle_error_t *error);

/* The same claim as an ExplanationOfBenefit (items carry the service,
 * modifiers, dates, units and charge as well); ownership and failures as
 * fhir_claim_response_write. */
int fhir_eob_write(const remit_t *remit, uint32_t index, bool pretty, char **text_out,
                   settle_error_t *error);

/* A Bundle of type collection holding one ClaimResponse per claim of the
 * remittance, in order; ownership and failures as fhir_claim_response_write. */
int fhir_claim_response_bundle_write(const remit_t *remit, bool pretty, char **text_out,
                                     settle_error_t *error);

#endif
