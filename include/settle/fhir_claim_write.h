/*
 * fhir_claim_write.h - canonical claims out as FHIR R4 Claim resources, one
 * alone or many in a Bundle, written so that settle's FHIR Claim reader
 * (settle/fhir.h, adapters/fhir_claim.c) reads back the same claim.
 *
 * Every field is written where the reader looks for it:
 *
 *   claim_id        identifier[0].value
 *   kind            type (claim-type professional | institutional); use "claim"
 *   frequency       1: status active, no related[]; 7: related[] with
 *                   relationship prior; 8: the same and status cancelled.
 *                   An institutional claim's type of bill, when it has one,
 *                   is supportingInfo category typeofbill with code "0" +
 *                   bill_type, and its last digit is the frequency
 *   original        related[0].claim.identifier.value
 *   payer_id        insurer.identifier.value
 *   billing_npi     provider.identifier (system us-npi)
 *   rendering_npi   careTeam[0]: role primary, provider.identifier (us-npi)
 *   member_id       the Coverage's subscriberId (insurance[0], focal)
 *   birth, sex      the Patient's birthDate and gender (U is "unknown")
 *   patient names   the Patient's name[0]: family, given [first, middle]
 *   address         the Patient's address[0]: line [address_1, address_2],
 *                   city, state, postalCode
 *   prior auth      insurance[0].preAuthRef[0]
 *   diagnoses       diagnosis[] with sequence 1..n, ICD-10-CM with its dot
 *                   ("M545" -> "M54.5"), the first typed principal
 *   lines           item[]: sequence, diagnosisSequence (the pointers),
 *                   revenue, productOrService (CPT when the code starts with
 *                   a digit, else HCPCS; data-absent-reason not-applicable
 *                   for a revenue-only line), modifier[], servicedDate (one
 *                   day) or servicedPeriod, locationCodeableConcept,
 *                   quantity, net, detail[0] with the NDC
 *   place           professional: each item's locationCodeableConcept holds
 *                   its line's place, else the claim's
 *   total           total
 *
 * A lone Claim carries its Patient and Coverage in contained[]; in a Bundle
 * (type collection) each Claim is preceded by its own Patient and Coverage
 * entries, referenced by fullUrl.  The reader also needs created, priority
 * and billablePeriod from no canonical field, so created is the last day of
 * service, billablePeriod spans the lines' days, and priority is normal.
 *
 * What FHIR, as the reader maps it, cannot carry is refused with the field
 * named, rather than written with a loss: other payers (the reader reads
 * no coordination of benefits), a bill type on a professional claim, a
 * claim-level place of service on an institutional claim, a professional
 * claim whose first line's own place of service is not the claim's, a
 * frequency that status, related[] and the type of bill cannot say,
 * modifiers or diagnosis pointers with a gap, a middle name without a first
 * name or a second address line without a first (the reader takes given[]
 * and line[] by position), and codes the reader would
 * refuse (diagnosis, revenue, NDC, place of service).  A claim that fails
 * claim_validate is refused too.  One normalisation is not refused: a line
 * whose place of service equals the claim's is read back without one (the
 * same meaning).
 *
 * Two fields have no place in a Claim as the reader maps it and are left
 * out, not refused: the sealed identifiers (claim_t.phi) and each line's
 * patient_age.  A claim read back has none (phi_size 0, CLAIM_AGE_NONE).
 * They belong to a protected claim (phi.h), whose identifiers a FHIR
 * Patient would carry in the clear, in the fields above.
 *
 * Amounts and units are written exactly from their integers (12.50, 1.5),
 * never through a double (adapters/fhir_out.h).  Keys are written in the
 * order the R4 element definitions list them: same claims, same bytes.
 */
#ifndef SETTLE_FHIR_CLAIM_WRITE_H
#define SETTLE_FHIR_CLAIM_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "settle/claim.h"
#include "settle/error.h"

/*
 * Writes one claim as a Claim resource with its Patient and Coverage
 * contained (two-space indent when pretty, compact otherwise).  On success
 * *text_out is a new NUL-terminated buffer the caller frees with
 * settle_free and *length_out (may be NULL) its length.  Fails, writing
 * nothing, with SETTLE_ERR_INVALID (or claim_validate's code) for a claim
 * refused, error (may be NULL) naming the claim and the field, or
 * SETTLE_ERR_NOMEM.
 */
int fhir_claim_write(const claim_t *claim, bool pretty, char **text_out, size_t *length_out,
                     settle_error_t *error);

typedef struct fhir_claim_bundle_s fhir_claim_bundle_t;

/* A new, empty Bundle of type collection; SETTLE_ERR_NOMEM, else
 * *bundle_out is written.  Free with fhir_claim_bundle_destroy. */
int fhir_claim_bundle_new(fhir_claim_bundle_t **bundle_out);

/* Frees the Bundle and sets *self_p to NULL; safe on NULL and twice. */
void fhir_claim_bundle_destroy(fhir_claim_bundle_t **self_p);

/*
 * Appends a claim as three entries: its Patient, its Coverage and the
 * Claim.  A claim refused (as fhir_claim_write refuses it) adds nothing
 * and the Bundle can go on; SETTLE_ERR_TOO_MANY when the Bundle would pass
 * FHIR_BUNDLE_ENTRIES_MAX entries, which the reader refuses (settle/fhir.h);
 * error (may be NULL) says why.  SETTLE_ERR_NOMEM leaves the Bundle spent:
 * later adds and finish fail too.
 */
int fhir_claim_bundle_add(fhir_claim_bundle_t *self, const claim_t *claim, settle_error_t *error);

/* How many claims the Bundle holds. */
size_t fhir_claim_bundle_count(const fhir_claim_bundle_t *self);

/*
 * Writes the Bundle as text (pretty as fhir_claim_write); a Bundle without
 * claims has no entry element.  Ownership of *text_out and *length_out as
 * fhir_claim_write; SETTLE_ERR_NOMEM when out of memory or spent.  The
 * Bundle is unchanged: it can be written again or added to.
 */
int fhir_claim_bundle_finish(const fhir_claim_bundle_t *self, bool pretty, char **text_out,
                             size_t *length_out);

#endif
