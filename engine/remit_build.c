/*
 * remit_build.c - corrections in a remittance (reversals of replaced
 * claims), payer claim numbers, and writing a remittance in either format.
 * See include/settle/remit_build.h.  Moved here from cli_remit.c so the
 * node's `remit` query builds its 835 with the same code as the offline run.
 */
#include <stdio.h>
#include <string.h>

#include "settle/fhir_response.h"
#include "settle/hash.h"
#include "settle/remit_build.h"

void remit_claim_number(const uint8_t content_hash[CLAIM_HASH_SIZE],
                        char number_out[REMIT_CLAIM_NUMBER_DIGITS + 1])
{
    char hex[HASH_SHA256_HEX_SIZE];
    hash_to_hex(content_hash, CLAIM_HASH_SIZE, hex);
    memcpy(number_out, hex, REMIT_CLAIM_NUMBER_DIGITS);
    number_out[REMIT_CLAIM_NUMBER_DIGITS] = '\0';
}

const remit_claim_t *remit_find_claim(const remit_t *self, const char *claim_id)
{
    const remit_claim_t *found = NULL;
    for (uint32_t i = 0; i < self->claim_count; i++) {
        const remit_claim_t *entry = &self->claims[i];
        if (strcmp(entry->decision.claim_id, claim_id) != 0)
            continue;
        found = entry->frequency == CLAIM_FREQUENCY_VOID ? NULL : entry; /* a reversal cancels */
    }
    return found;
}

/* The claim an entry answers, rebuilt as a void of itself: enough for
 * remit_add_claim, which copies what the writers need. */
static int s_void_claim(const remit_claim_t *entry, claim_t *claim)
{
    claim->kind = entry->kind;
    claim->frequency = CLAIM_FREQUENCY_VOID;
    memcpy(claim->claim_id, entry->decision.claim_id, sizeof claim->claim_id);
    memcpy(claim->member_id, entry->member_id, sizeof claim->member_id);
    memcpy(claim->place_of_service, entry->place_of_service, sizeof claim->place_of_service);
    memcpy(claim->bill_type, entry->bill_type, sizeof claim->bill_type);
    memcpy(claim->original_claim_number, entry->decision.claim_id,
           sizeof claim->original_claim_number);
    int rc = claim_reserve_lines(claim, entry->decision.line_count);
    for (uint32_t i = 0; rc == SETTLE_OK && i < entry->decision.line_count; i++) {
        claim_line_t *line;
        rc = claim_add_line(claim, &line);
        if (rc == SETTLE_OK)
            *line = entry->claim_lines[i];
    }
    return rc;
}

/* The entry's decision with every amount negated: its reversal. */
static void s_negate(const interp_decision_t *from, interp_decision_t *to)
{
    interp_line_t *lines = to->lines;
    *to = *from;
    to->lines = lines;
    memcpy(lines, from->lines, from->line_count * sizeof *lines);
    to->frequency = CLAIM_FREQUENCY_VOID;
    memcpy(to->related_claim_id, from->claim_id, sizeof to->related_claim_id);
    interp_decision_negate(to);
}

int remit_add_reversal(remit_t *self, const remit_claim_t *entry, settle_error_t *error)
{
    claim_t *claim = claim_new();
    interp_decision_t *reversal = interp_decision_new();
    char payer_claim_number[REMIT_REFERENCE_SIZE];
    memcpy(payer_claim_number, entry->payer_claim_number, sizeof payer_claim_number);
    int rc = claim && reversal ? s_void_claim(entry, claim) : SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK) {
        s_negate(&entry->decision, reversal);
        rc = remit_add_claim(self, claim, reversal, payer_claim_number, NULL, error);
    } else {
        settle_error_set(error, rc, "claim %s: no memory for its reversal",
                         entry->decision.claim_id);
    }
    claim_destroy(&claim);
    interp_decision_destroy(&reversal);
    return rc;
}

int remit_add_answer(remit_t *self, const claim_t *claim, const interp_decision_t *decision,
                     const char *payer_claim_number, settle_error_t *error)
{
    if (decision->frequency == CLAIM_FREQUENCY_REPLACEMENT && decision->related_claim_id[0]) {
        const remit_claim_t *original = remit_find_claim(self, decision->related_claim_id);
        int rc = original ? remit_add_reversal(self, original, error) : SETTLE_OK;
        if (rc != SETTLE_OK)
            return rc;
    }
    return remit_add_claim(self, claim, decision, payer_claim_number, NULL, error);
}

int remit_write_format(const remit_t *remit, const char *format, uint32_t control, int32_t date,
                       uint32_t time_hhmm, char **text_out, settle_error_t *error)
{
    if (strcmp(format, "fhir") == 0)
        return fhir_claim_response_bundle_write(remit, true, text_out, error);
    if (strcmp(format, "x12") != 0)
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "remittance format \"%s\": expected x12 or fhir", format);
    x12_835_envelope_t envelope;
    memset(&envelope, 0, sizeof envelope);
    snprintf(envelope.sender_id, sizeof envelope.sender_id, "%.15s", remit->payer_id);
    snprintf(envelope.receiver_id, sizeof envelope.receiver_id, "%s", remit->payee_npi);
    envelope.interchange_control_number = control;
    envelope.group_control_number = control;
    envelope.transaction_control_number = control < 1000 ? 1000 + control : control;
    envelope.date = date;
    envelope.time_hhmm = time_hhmm;
    envelope.newlines = true;
    return x12_835_write(remit, &envelope, text_out, NULL, error);
}
