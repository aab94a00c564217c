/*
 * claim_sample.h - a claim with every field of the canonical model set to a
 * distinct, non-default value, for tests that must cover every field
 * (round trips, equality, allocation failure).  Header-only, for tests.
 */
#ifndef SETTLE_TEST_CLAIM_SAMPLE_H
#define SETTLE_TEST_CLAIM_SAMPLE_H

#include <string.h>

#include "settle/claim.h"
#include "settle/date.h"

#define SAMPLE_TEXT(field, text) CLAIM_SET_TEXT((field), (text), strlen(text))

/* Fills claim (fresh from claim_new) with every field set; two lines, the
 * second institutional-style with a revenue code, an NDC and a date range.
 * Returns 0, or the first error (which a test asserts never happens). */
static inline int sample_fill_claim(claim_t *c)
{
    int rc = 0;
    c->kind = CLAIM_KIND_INSTITUTIONAL;
    c->frequency = CLAIM_FREQUENCY_REPLACEMENT;
    rc |= SAMPLE_TEXT(c->claim_id, "PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012"); /* 38 chars */
    rc |= SAMPLE_TEXT(c->payer_id, "ACMEHP");
    rc |= SAMPLE_TEXT(c->billing_npi, "1234567893");
    rc |= SAMPLE_TEXT(c->rendering_npi, "1987654328");
    rc |= SAMPLE_TEXT(c->member_id, "ACM100234501");
    rc |= date_from_ymd(1968, 4, 12, &c->patient_birth_date);
    rc |= date_from_ymd(2026, 10, 2, &c->created);
    c->patient_sex = CLAIM_SEX_FEMALE;
    rc |= SAMPLE_TEXT(c->patient.last_name, "ALVAREZ");
    rc |= SAMPLE_TEXT(c->patient.first_name, "MARIA");
    rc |= SAMPLE_TEXT(c->patient.middle_name, "L");
    rc |= SAMPLE_TEXT(c->patient.address_1, "12 MAIN ST");
    rc |= SAMPLE_TEXT(c->patient.address_2, "APT 4");
    rc |= SAMPLE_TEXT(c->patient.city, "SPRINGFIELD");
    rc |= SAMPLE_TEXT(c->patient.state, "IL");
    rc |= SAMPLE_TEXT(c->patient.postal_code, "62701");
    c->phi_size = 8; /* opaque to the claim: bytes phi.h would seal */
    memcpy(c->phi, "SPHI\x01\x02\x03\x04", 8);
    rc |= SAMPLE_TEXT(c->original_claim_number, "PAYER-ICN-7788");
    rc |= SAMPLE_TEXT(c->prior_authorization, "PA-55190");
    rc |= SAMPLE_TEXT(c->place_of_service, "21");
    rc |= SAMPLE_TEXT(c->bill_type, "111");
    c->diagnosis_count = 3;
    rc |= SAMPLE_TEXT(c->diagnoses[0], "S52521A");
    rc |= SAMPLE_TEXT(c->diagnoses[1], "E119");
    rc |= SAMPLE_TEXT(c->diagnoses[2], "I10");
    c->other_payer_count = 2;
    rc |= SAMPLE_TEXT(c->other_payers[0].payer_id, "MEDICARE-A");
    c->other_payers[0].responsibility = 'P';
    c->other_payers[0].paid_cents = 28764;
    rc |= SAMPLE_TEXT(c->other_payers[1].payer_id, "SUPPLEMENT");
    c->other_payers[1].responsibility = 'T';
    c->other_payers[1].paid_cents = -125;

    claim_line_t *line;
    rc |= claim_add_line(c, &line);
    if (rc)
        return rc;
    rc |= SAMPLE_TEXT(line->procedure_code, "99284");
    rc |= SAMPLE_TEXT(line->modifiers[0], "25");
    rc |= SAMPLE_TEXT(line->modifiers[1], "59");
    rc |= SAMPLE_TEXT(line->modifiers[2], "GP");
    rc |= SAMPLE_TEXT(line->modifiers[3], "RT");
    rc |= SAMPLE_TEXT(line->revenue_code, "0450");
    rc |= SAMPLE_TEXT(line->place_of_service, "23");
    line->units_milli = 1000;
    line->charge_cents = 185000;
    rc |= date_from_ymd(2026, 9, 28, &line->service_from);
    line->service_to = line->service_from;
    line->diagnosis_pointers[0] = 1;
    line->diagnosis_pointers[1] = 3;
    line->patient_age = 58;

    rc |= claim_add_line(c, &line);
    if (rc)
        return rc;
    rc |= SAMPLE_TEXT(line->revenue_code, "0250");
    rc |= SAMPLE_TEXT(line->ndc, "00406052301");
    line->units_milli = 2500;
    line->charge_cents = 3475;
    rc |= date_from_ymd(2026, 9, 28, &line->service_from);
    rc |= date_from_ymd(2026, 9, 30, &line->service_to);
    line->diagnosis_pointers[0] = 2;
    line->patient_age = 58;
    c->total_charge_cents = 185000 + 3475;

    /* What the primary payer did: a claim-level adjustment, and on line 1
     * its payment and the deductible it left to the patient. */
    static const claim_cob_t records[3] = {
        {CLAIM_COB_ADJUSTMENT, 1, 0, "CO", "45", 1000},
        {CLAIM_COB_LINE_PAID, 1, 1, "", "", 150000},
        {CLAIM_COB_ADJUSTMENT, 1, 1, "PR", "1", 20000},
    };
    for (int i = 0; i < 3 && rc == 0; i++) {
        claim_cob_t *cob;
        rc |= claim_add_cob(c, &cob);
        if (rc == 0)
            *cob = records[i];
    }
    return rc;
}

#endif
