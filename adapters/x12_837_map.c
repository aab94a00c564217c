/*
 * x12_837_map.c - the 837 reader's mapping: the transaction's BHT04
 * creation date, the HL hierarchy (billing provider, subscriber, patient),
 * the subscriber's and the patient's names and addresses (NM1*IL or
 * NM1*QC, N3, N4), the claim (CLM, REF, HI, DTP), its service lines (LX,
 * SV1, SV2, DTP*472, LIN) and an other payer's id (loop 2330B NM1*PR),
 * segment to field, with a precise error for every element that cannot be
 * mapped; and the dispatch of each segment in a transaction.  What other
 * payers did with the claim (loops 2320 and 2430: SBR, AMT, CAS, SVD) is
 * in x12_837_cob.c; the element readers both use are declared in
 * x12_837_reader.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/date.h"
#include "settle/money.h"
#include "x12_837_reader.h"

/* ------------------------------------------------------------------------
 * Element parsing
 * ------------------------------------------------------------------------ */

static bool s_all_digits(x12_span_t span)
{
    for (size_t i = 0; i < span.length; i++)
        if (span.text[i] < '0' || span.text[i] > '9')
            return false;
    return span.length > 0;
}

/* Copies span into a claim text field, or reports why it cannot. */
bool x12_837_text(x12_837_reader_t *r, char *field, size_t size, x12_span_t span, uint32_t element,
                  uint32_t component, const char *what)
{
    char shown[48];
    int rc = claim_set_text(field, size, span.text, span.length);
    if (rc == SETTLE_OK)
        return true;
    char expected[96];
    snprintf(expected, sizeof expected, "%s of at most %zu printable ASCII characters", what,
             size - 1);
    x12_837_fail(r, element, component, expected, rc, "%s \"%s\" %s", what,
                 x12_837_show(span, shown, sizeof shown),
                 rc == SETTLE_ERR_TOO_LONG ? "is too long"
                                           : "holds a character outside printable ASCII");
    return false;
}

/* A required element: present, or reported missing. */
bool x12_837_required(x12_837_reader_t *r, x12_span_t span, uint32_t element, uint32_t component,
                      const char *expected)
{
    if (span.length > 0)
        return true;
    x12_837_fail(r, element, component, expected, SETTLE_ERR_MISSING,
                 "required element is missing");
    return false;
}

/* A required amount, at most two decimals, as cents. */
bool x12_837_amount(x12_837_reader_t *r, x12_span_t span, uint32_t element, int64_t *cents_out)
{
    char shown[48];
    if (!x12_837_required(r, span, element, 0, "an amount like 125.50"))
        return false;
    int rc = money_parse(span.text, span.length, cents_out);
    if (rc == SETTLE_OK)
        return true;
    x12_837_fail(r, element, 0, "an amount like 125.50 (at most two decimals)", rc,
                 "bad amount \"%s\"", x12_837_show(span, shown, sizeof shown));
    return false;
}

/* Service units with up to three decimals, as thousandths: "1.5" -> 1500. */
static bool s_units(x12_837_reader_t *r, x12_span_t span, uint32_t element, int64_t *milli_out)
{
    char shown[48];
    int64_t whole = 0, fraction = 0;
    size_t i = 0, digits = 0, decimals = 0;
    for (; i < span.length && span.text[i] >= '0' && span.text[i] <= '9' && digits < 12; i++) {
        whole = whole * 10 + (span.text[i] - '0');
        digits++;
    }
    if (i < span.length && span.text[i] == '.')
        for (i++; i < span.length && span.text[i] >= '0' && span.text[i] <= '9' && decimals < 3;
             i++) {
            fraction = fraction * 10 + (span.text[i] - '0');
            decimals++;
        }
    if (i != span.length || digits + decimals == 0) {
        x12_837_fail(r, element, 0, "a quantity like 1 or 1.5 (at most 12 digits and 3 decimals)",
                     SETTLE_ERR_SYNTAX, "bad quantity \"%s\"",
                     x12_837_show(span, shown, sizeof shown));
        return false;
    }
    for (; decimals < 3; decimals++)
        fraction *= 10;
    *milli_out = whole * CLAIM_UNITS_MILLI_PER_UNIT + fraction;
    return true;
}

static bool s_date(x12_837_reader_t *r, x12_span_t span, uint32_t element, int32_t *days_out)
{
    char shown[48];
    int rc = date_parse_ccyymmdd(span.text, span.length, days_out);
    if (rc == SETTLE_OK)
        return true;
    x12_837_fail(r, element, 0, "a date CCYYMMDD", rc, "bad date \"%s\"",
                 x12_837_show(span, shown, sizeof shown));
    return false;
}

/* DTP02/DTP03: D8 one day, or RD8 "CCYYMMDD-CCYYMMDD". */
static bool s_date_period(x12_837_reader_t *r, int32_t *from_out, int32_t *to_out)
{
    x12_span_t format = s_el(r, 2), value = s_el(r, 3);
    if (x12_span_is(format, "D8")) {
        if (!s_date(r, value, 3, from_out))
            return false;
        *to_out = *from_out;
        return true;
    }
    if (x12_span_is(format, "RD8")) {
        const char *dash = value.length == 17 ? memchr(value.text, '-', value.length) : NULL;
        if (dash != value.text + 8) {
            char shown[48];
            x12_837_fail(r, 3, 0, "a range CCYYMMDD-CCYYMMDD", SETTLE_ERR_SYNTAX,
                         "bad date range \"%s\"", x12_837_show(value, shown, sizeof shown));
            return false;
        }
        x12_span_t from = {value.text, 8}, to = {value.text + 9, 8};
        return s_date(r, from, 3, from_out) && s_date(r, to, 3, to_out);
    }
    char shown[48];
    x12_837_fail(r, 2, 0, "D8 or RD8", SETTLE_ERR_SYNTAX, "unknown date format qualifier \"%s\"",
                 x12_837_show(format, shown, sizeof shown));
    return false;
}

/* ------------------------------------------------------------------------
 * The hierarchy: HL levels and their names
 * ------------------------------------------------------------------------ */

static void s_level_open(x12_837_level_t *level, uint32_t hl_segment)
{
    memset(level, 0, sizeof *level);
    level->present = true;
    level->hl_segment = hl_segment;
}

/* Entity codes (NM101) an 837 may carry, in any loop. */
static bool s_entity_known(x12_span_t code)
{
    static const char *const known[] = {"40", "41", "85", "87", "PE", "IL", "PR", "QC", "DN",
                                        "P3", "82", "77", "DQ", "DK", "QB", "PW", "45", "71",
                                        "72", "ZZ", "FA", "TL", "36", "GB", "RC"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (x12_span_is(code, known[i]))
            return true;
    return false;
}

/* A problem in a level found after the fact (a required segment missing):
 * placed at the segment that opened the level. */
static void s_level_fail_at(x12_837_reader_t *r, x12_837_level_t *level, uint32_t segment,
                            const char *id, const char *expected, const char *message)
{
    if (level->failed)
        return;
    settle_error_clear(&level->error);
    settle_error_file(&level->error, r->file);
    settle_error_at_segment(&level->error, segment, id, 0, 0);
    settle_error_set(&level->error, SETTLE_ERR_MISSING, "%s", message);
    settle_error_expect(&level->error, "%s", expected);
    level->failed = true;
}

static void s_level_fail_at_hl(x12_837_reader_t *r, x12_837_level_t *level, const char *expected,
                               const char *message)
{
    s_level_fail_at(r, level, level->hl_segment, "HL", expected, message);
}

static void s_hl(x12_837_reader_t *r)
{
    x12_837_finish_claim(r);
    x12_span_t level = s_el(r, 3);
    r->name_loop[0] = '\0';
    if (s_el(r, 1).length == 0) {
        x12_837_envelope_fail(r, 1, "an HL id", SETTLE_ERR_MISSING, "HL01 is missing");
        r->state = S_SKIP_TRANSACTION;
    } else if (x12_span_is(level, "20")) {
        s_level_open(&r->billing, r->segment_number);
        r->subscriber.present = r->patient.present = false;
        r->has_billing_name = false;
        r->billing_npi[0] = '\0';
        r->scope = S_SCOPE_BILLING;
    } else if (x12_span_is(level, "22") && r->billing.present) {
        if (!r->has_billing_name)
            s_level_fail_at_hl(r, &r->billing, "NM1*85 (loop 2010AA) after HL*20",
                               "the billing provider loop has no NM1*85 billing provider name");
        s_level_open(&r->subscriber, r->segment_number);
        r->patient.present = false;
        r->has_subscriber_name = r->has_payer_name = false;
        r->member_id[0] = r->payer_id[0] = '\0';
        r->subscriber_birth = r->patient_birth = DATE_NONE;
        r->subscriber_sex = r->patient_sex = CLAIM_SEX_UNKNOWN;
        memset(&r->subscriber_person, 0, sizeof r->subscriber_person);
        memset(&r->patient_person, 0, sizeof r->patient_person);
        r->scope = S_SCOPE_SUBSCRIBER;
    } else if (x12_span_is(level, "23") && r->subscriber.present) {
        s_level_open(&r->patient, r->segment_number);
        r->patient_birth = DATE_NONE;
        r->patient_sex = CLAIM_SEX_UNKNOWN;
        memset(&r->patient_person, 0, sizeof r->patient_person);
        r->scope = S_SCOPE_PATIENT;
    } else {
        char shown[48];
        x12_837_envelope_fail(r, 3, "20, then 22 under it, then 23 under that", SETTLE_ERR_SYNTAX,
                              "HL level \"%s\" is unknown or has no parent level before it",
                              x12_837_show(level, shown, sizeof shown));
        r->state = S_SKIP_TRANSACTION;
    }
}

static bool s_npi(x12_837_reader_t *r, char field[CLAIM_NPI_SIZE])
{
    char shown[48];
    x12_span_t qualifier = s_el(r, 8), npi = s_el(r, 9);
    if (!x12_span_is(qualifier, "XX")) {
        x12_837_fail(r, 8, 0, "XX (an NPI follows)", SETTLE_ERR_SYNTAX,
                     "identification code qualifier \"%s\"",
                     x12_837_show(qualifier, shown, sizeof shown));
        return false;
    }
    if (npi.length != 10 || !s_all_digits(npi)) {
        x12_837_fail(r, 9, 0, "an NPI of ten digits", SETTLE_ERR_SYNTAX, "bad NPI \"%s\"",
                     x12_837_show(npi, shown, sizeof shown));
        return false;
    }
    return x12_837_text(r, field, CLAIM_NPI_SIZE, npi, 9, 0, "NPI");
}

/* NM1 inside a claim: the rendering provider, and other payers' ids. */
static void s_nm1_in_claim(x12_837_reader_t *r, x12_span_t code)
{
    claim_t *claim = r->claim;
    if (r->in_other_payer && x12_span_is(code, "PR") && claim->other_payer_count > 0) {
        claim_other_payer_t *other = &claim->other_payers[claim->other_payer_count - 1];
        if (x12_837_required(r, s_el(r, 9), 9, 0, "the other payer's id"))
            x12_837_text(r, other->payer_id, sizeof other->payer_id, s_el(r, 9), 9, 0, "payer id");
    } else if (!r->in_other_payer && !r->line && x12_span_is(code, "82")) {
        s_npi(r, claim->rendering_npi);
    }
}

/* The person whose name and address the open name loop gives: the
 * subscriber's (NM1*IL under HL 22) or the patient's (NM1*QC under HL 23);
 * NULL in any other loop, and inside a claim (loop 2330A's NM1*IL names
 * the subscriber to another payer, not the patient). */
static claim_patient_t *s_person(x12_837_reader_t *r)
{
    if (r->in_claim)
        return NULL;
    if (r->scope == S_SCOPE_SUBSCRIBER && strcmp(r->name_loop, "IL") == 0)
        return &r->subscriber_person;
    if (r->scope == S_SCOPE_PATIENT && strcmp(r->name_loop, "QC") == 0)
        return &r->patient_person;
    return NULL;
}

/* NM103..05: last (or organization) name, first, middle, each optional. */
static void s_person_name(x12_837_reader_t *r, claim_patient_t *person)
{
    struct {
        char *field;
        size_t size;
        const char *what;
    } names[] = {{person->last_name, sizeof person->last_name, "last name"},
                 {person->first_name, sizeof person->first_name, "first name"},
                 {person->middle_name, sizeof person->middle_name, "middle name"}};
    for (uint32_t i = 0; i < 3; i++)
        if (!x12_837_text(r, names[i].field, names[i].size, s_el(r, 3 + i), 3 + i, 0,
                          names[i].what))
            return;
}

/* N3 (street, two lines) and N4 (city, state, postal code) of the
 * subscriber or patient; the other loops' addresses are read past. */
static void s_address(x12_837_reader_t *r)
{
    claim_patient_t *person = s_person(r);
    if (!person)
        return;
    if (r->segment.code == X12_ID('N', '3', 0)) {
        if (x12_837_text(r, person->address_1, sizeof person->address_1, s_el(r, 1), 1, 0,
                         "address"))
            x12_837_text(r, person->address_2, sizeof person->address_2, s_el(r, 2), 2, 0,
                         "address");
        return;
    }
    if (x12_837_text(r, person->city, sizeof person->city, s_el(r, 1), 1, 0, "city") &&
        x12_837_text(r, person->state, sizeof person->state, s_el(r, 2), 2, 0, "state code"))
        x12_837_text(r, person->postal_code, sizeof person->postal_code, s_el(r, 3), 3, 0,
                     "postal code");
}

static void s_nm1(x12_837_reader_t *r)
{
    char shown[48];
    x12_span_t code = s_el(r, 1), type = s_el(r, 2);
    if (!s_entity_known(code)) {
        x12_837_fail(r, 1, 0, "an 837 entity code (85, 87, IL, PR, QC, 82, 77, DN, ...)",
                     SETTLE_ERR_SYNTAX, "unknown entity identifier code \"%s\"",
                     x12_837_show(code, shown, sizeof shown));
        return;
    }
    if (!x12_span_is(type, "1") && !x12_span_is(type, "2")) {
        x12_837_fail(r, 2, 0, "1 (person) or 2 (organization)",
                     type.length ? SETTLE_ERR_SYNTAX : SETTLE_ERR_MISSING,
                     "bad entity type qualifier \"%s\"", x12_837_show(type, shown, sizeof shown));
        return;
    }
    memcpy(r->name_loop, code.text, code.length);
    r->name_loop[code.length] = '\0';
    r->name_order = 0;
    r->name_has_n3 = false;
    if (s_person(r))
        s_person_name(r, s_person(r));
    if (r->in_claim) {
        s_nm1_in_claim(r, code);
    } else if (r->scope == S_SCOPE_BILLING && x12_span_is(code, "85")) {
        if (r->has_billing_name)
            x12_837_fail(r, 1, 0, "one NM1*85 per billing provider loop", SETTLE_ERR_TOO_MANY,
                         "a second billing provider name in the same HL*20 loop");
        else if (s_npi(r, r->billing_npi))
            r->has_billing_name = true;
    } else if (r->scope == S_SCOPE_SUBSCRIBER && x12_span_is(code, "IL")) {
        if (x12_837_required(r, s_el(r, 9), 9, 0, "the subscriber's member id") &&
            x12_837_text(r, r->member_id, sizeof r->member_id, s_el(r, 9), 9, 0, "member id"))
            r->has_subscriber_name = true;
    } else if (r->scope == S_SCOPE_SUBSCRIBER && x12_span_is(code, "PR")) {
        if (x12_837_required(r, s_el(r, 9), 9, 0, "the payer's id") &&
            x12_837_text(r, r->payer_id, sizeof r->payer_id, s_el(r, 9), 9, 0, "payer id"))
            r->has_payer_name = true;
    }
}

/* The order segments keep inside a name loop (NM1 PRV N3 N4 DMG REF PER);
 * 0 for a segment that is not part of one. */
static int s_name_order(uint32_t code)
{
    switch (code) {
    case X12_ID('N', 'M', '1'):
        return 1;
    case X12_ID('P', 'R', 'V'):
        return 2;
    case X12_ID('N', '3', 0):
        return 3;
    case X12_ID('N', '4', 0):
        return 4;
    case X12_ID('D', 'M', 'G'):
        return 5;
    case X12_ID('R', 'E', 'F'):
        return 6;
    case X12_ID('P', 'E', 'R'):
        return 7;
    default:
        return 0;
    }
}

/* Checks a segment's place in its name loop; false when it is out of order. */
static bool s_name_loop_order(x12_837_reader_t *r)
{
    int order = s_name_order(r->segment.code);
    if (order == 0) {
        r->name_loop[0] = '\0';
        return true;
    }
    if (!r->name_loop[0] || order == 1)
        return true;
    if (order < r->name_order) {
        char expected[64];
        snprintf(expected, sizeof expected, "%s before the segments after it in the NM1*%s loop",
                 r->segment.id, r->name_loop);
        x12_837_fail(r, 0, 0, expected, SETTLE_ERR_SYNTAX, "segment out of order");
        return false;
    }
    if (order == 4 && strcmp(r->name_loop, "85") == 0 && !r->name_has_n3) {
        x12_837_fail(r, 0, 0, "N3 before N4 in the billing provider address", SETTLE_ERR_MISSING,
                     "N4 without the N3 street address the billing provider loop requires");
        return false;
    }
    r->name_order = order;
    if (order == 3)
        r->name_has_n3 = true;
    return true;
}

static void s_dmg(x12_837_reader_t *r)
{
    bool subscriber = strcmp(r->name_loop, "IL") == 0 && r->scope == S_SCOPE_SUBSCRIBER;
    bool patient = strcmp(r->name_loop, "QC") == 0 && r->scope == S_SCOPE_PATIENT;
    if (r->in_claim || (!subscriber && !patient))
        return;
    char shown[48];
    if (!x12_span_is(s_el(r, 1), "D8")) {
        x12_837_fail(r, 1, 0, "D8", SETTLE_ERR_SYNTAX, "date format qualifier \"%s\"",
                     x12_837_show(s_el(r, 1), shown, sizeof shown));
        return;
    }
    int32_t birth;
    if (!s_date(r, s_el(r, 2), 2, &birth))
        return;
    x12_span_t sex = s_el(r, 3);
    if (!x12_span_is(sex, "F") && !x12_span_is(sex, "M") && !x12_span_is(sex, "U")) {
        x12_837_fail(r, 3, 0, "F, M or U", SETTLE_ERR_SYNTAX, "gender code \"%s\"",
                     x12_837_show(sex, shown, sizeof shown));
        return;
    }
    *(subscriber ? &r->subscriber_birth : &r->patient_birth) = birth;
    *(subscriber ? &r->subscriber_sex : &r->patient_sex) = sex.text[0];
}

/* BHT04, the day the submitter made the transaction's claims.  A problem
 * with it rejects each of those claims, not the envelope. */
static void s_bht(x12_837_reader_t *r)
{
    if (r->scope != S_SCOPE_HEADER)
        return;
    r->has_bht = true;
    char shown[48];
    x12_span_t date = s_el(r, 4);
    const char *expected = "the transaction's creation date CCYYMMDD";
    if (date.length == 0) {
        x12_837_fail_level(r, &r->header, 4, expected, SETTLE_ERR_MISSING,
                           "the creation date is missing");
        return;
    }
    int rc = date_parse_ccyymmdd(date.text, date.length, &r->created);
    if (rc != SETTLE_OK) {
        r->created = DATE_NONE;
        x12_837_fail_level(r, &r->header, 4, expected, rc, "bad date \"%s\"",
                           x12_837_show(date, shown, sizeof shown));
    }
}

/* ------------------------------------------------------------------------
 * The claim: CLM and what follows it
 * ------------------------------------------------------------------------ */

/* Carries what the hierarchy above the claim says into the claim, and the
 * first problem found up there, which rejects the claim. */
static void s_claim_from_hierarchy(x12_837_reader_t *r)
{
    claim_t *claim = r->claim;
    memcpy(claim->billing_npi, r->billing_npi, sizeof claim->billing_npi);
    memcpy(claim->member_id, r->member_id, sizeof claim->member_id);
    memcpy(claim->payer_id, r->payer_id, sizeof claim->payer_id);
    claim->patient_birth_date = r->subscriber_birth;
    claim->patient_sex = r->subscriber_sex;
    claim->patient = r->subscriber_person;
    claim->created = r->created;
    if (!r->has_bht)
        s_level_fail_at(r, &r->header, 1, "ST", "BHT after ST, with the creation date in BHT04",
                        "the transaction has no BHT beginning segment");
    if (r->scope == S_SCOPE_PATIENT) {
        claim->patient_birth_date = r->patient_birth;
        claim->patient_sex = r->patient_sex;
        claim->patient = r->patient_person;
    }
    if (!r->has_billing_name)
        s_level_fail_at_hl(r, &r->billing, "NM1*85 (loop 2010AA) after HL*20",
                           "the billing provider loop has no NM1*85 billing provider name");
    if (!r->has_subscriber_name || !r->has_payer_name)
        s_level_fail_at_hl(r, &r->subscriber,
                           "NM1*IL (loop 2010BA) and NM1*PR (loop 2010BB) after HL*22",
                           !r->has_subscriber_name ? "the subscriber loop has no NM1*IL subscriber"
                                                   : "the subscriber loop has no NM1*PR payer");
    const x12_837_level_t *levels[] = {&r->header, &r->billing, &r->subscriber, &r->patient};
    for (int i = 0; i < 4; i++)
        if (levels[i]->present && levels[i]->failed && !r->claim_failed) {
            r->claim_error = levels[i]->error;
            r->claim_failed = true;
        }
}

/* CLM05: facility code or place of service, qualifier, frequency. */
static void s_clm05(x12_837_reader_t *r)
{
    claim_t *claim = r->claim;
    x12_span_t composite = s_el(r, 5);
    x12_span_t place = s_comp(r, composite, 1), frequency = s_comp(r, composite, 3);
    char shown[48];
    if (!x12_837_required(r, composite, 5, 0, "place of service or facility code:B:frequency"))
        return;
    if (place.length != 2 || !s_all_digits(place)) {
        x12_837_fail(r, 5, 1, "a two-digit place of service or facility code", SETTLE_ERR_SYNTAX,
                     "bad code \"%s\"", x12_837_show(place, shown, sizeof shown));
        return;
    }
    if (frequency.length != 1 || frequency.text[0] < '1' || frequency.text[0] > '9') {
        x12_837_fail(r, 5, 3, "a claim frequency code 1 to 9", SETTLE_ERR_SYNTAX,
                     "bad frequency \"%s\"", x12_837_show(frequency, shown, sizeof shown));
        return;
    }
    claim->frequency = (uint8_t)(frequency.text[0] - '0');
    if (claim->kind == CLAIM_KIND_PROFESSIONAL) {
        memcpy(claim->place_of_service, place.text, 2);
        claim->place_of_service[2] = '\0';
    } else {
        memcpy(claim->bill_type, place.text, 2);
        claim->bill_type[2] = frequency.text[0];
        claim->bill_type[3] = '\0';
    }
}

static void s_clm(x12_837_reader_t *r)
{
    x12_837_finish_claim(r);
    claim_reset(r->claim);
    r->in_claim = true;
    r->claim_failed = false;
    r->clm_segment = r->segment_number;
    r->has_diagnosis_segment = r->has_principal = false;
    r->lx_pending = r->in_other_payer = false;
    r->line_payer = 0;
    r->line = NULL;
    r->statement_from = r->statement_to = DATE_NONE;
    r->claim->kind = r->kind;
    x12_span_t id = s_el(r, 1);
    if (x12_837_required(r, id, 1, 0, "the patient control number"))
        x12_837_text(r, r->claim->claim_id, sizeof r->claim->claim_id, id, 1, 0, "claim id");
    if (r->scope != S_SCOPE_SUBSCRIBER && r->scope != S_SCOPE_PATIENT) {
        x12_837_fail(r, 0, 0, "CLM inside an HL*22 subscriber or HL*23 patient loop",
                     SETTLE_ERR_SYNTAX, "a claim outside a subscriber or patient loop");
        return;
    }
    s_claim_from_hierarchy(r);
    x12_837_amount(r, s_el(r, 2), 2, &r->claim->total_charge_cents);
    s_clm05(r);
}

/* Adds one diagnosis: a principal goes first, the others after it. */
static void s_add_diagnosis(x12_837_reader_t *r, bool principal, x12_span_t code, uint32_t element)
{
    claim_t *claim = r->claim;
    char shown[48];
    bool ok = code.length >= 3 && code.length <= 7;
    for (size_t i = 0; ok && i < code.length; i++)
        ok = (code.text[i] >= 'A' && code.text[i] <= 'Z') ||
             (code.text[i] >= '0' && code.text[i] <= '9');
    if (!ok) {
        x12_837_fail(r, element, 2,
                     "a diagnosis code of 3 to 7 letters and digits, without the dot",
                     SETTLE_ERR_SYNTAX, "bad diagnosis code \"%s\"",
                     x12_837_show(code, shown, sizeof shown));
        return;
    }
    if (principal && r->has_principal) {
        x12_837_fail(r, element, 1, "one principal diagnosis (ABK or BK) per claim",
                     SETTLE_ERR_TOO_MANY, "a second principal diagnosis");
        return;
    }
    if (claim->diagnosis_count >= CLAIM_DIAGNOSES_MAX) {
        x12_837_fail(r, element, 0, "at most 25 diagnoses", SETTLE_ERR_TOO_MANY,
                     "too many diagnoses");
        return;
    }
    uint8_t at = principal ? 0 : claim->diagnosis_count;
    if (principal)
        memmove(claim->diagnoses[1], claim->diagnoses[0],
                (size_t)claim->diagnosis_count * sizeof claim->diagnoses[0]);
    memcpy(claim->diagnoses[at], code.text, code.length);
    claim->diagnoses[at][code.length] = '\0';
    claim->diagnosis_count++;
    r->has_principal = r->has_principal || principal;
}

/*
 * HI: each element is qualifier:code.  ABK/BK (principal) and ABF/BF (other)
 * become diagnoses; admitting (ABJ/BJ), reason for visit (APR/PR), external
 * cause (ABN/BN), procedure, occurrence, value and condition codes are read
 * past: the canonical claim has no place for them.  Tolerated: a bare
 * qualifier followed by its code in the next element ("HI*BK*8901"), as
 * some generators write it.
 */
static void s_hi(x12_837_reader_t *r)
{
    static const char *const principal[] = {"ABK", "BK"}, *const other[] = {"ABF", "BF"};
    static const char *const ignored[] = {"ABJ", "BJ",  "APR", "PR",  "ABN", "BN", "BBR",
                                          "BR",  "BBQ", "BQ",  "CAH", "BH",  "BI", "BE",
                                          "BG",  "DR",  "TC",  "BP",  "BO"};
    char shown[48];
    r->has_diagnosis_segment = true;
    for (uint32_t position = 1; position <= r->segment.element_count && !r->claim_failed;
         position++) {
        x12_span_t element = s_el(r, position);
        if (element.length == 0)
            continue;
        x12_span_t qualifier = s_comp(r, element, 1), code = s_comp(r, element, 2);
        bool is_principal = s_is_one_of(qualifier, principal, 2);
        bool is_other = s_is_one_of(qualifier, other, 2);
        if (code.length == 0 && (is_principal || is_other) && position < r->segment.element_count &&
            !memchr(s_el(r, position + 1).text, r->scanner.delimiters.component,
                    s_el(r, position + 1).length)) {
            code = s_el(r, ++position);
        }
        if (is_principal || is_other)
            s_add_diagnosis(r, is_principal, code, position);
        else if (!s_is_one_of(qualifier, ignored, sizeof ignored / sizeof ignored[0]))
            x12_837_fail(r, position, 1, "a code list qualifier such as ABK, ABF, BK or BF",
                         SETTLE_ERR_SYNTAX, "unknown code list qualifier \"%s\"",
                         x12_837_show(qualifier, shown, sizeof shown));
    }
}

static void s_ref(x12_837_reader_t *r)
{
    claim_t *claim = r->claim;
    if (!r->in_claim || r->in_other_payer || r->line)
        return;
    x12_span_t qualifier = s_el(r, 1), value = s_el(r, 2);
    char *field = x12_span_is(qualifier, "F8")   ? claim->original_claim_number
                  : x12_span_is(qualifier, "G1") ? claim->prior_authorization
                                                 : NULL;
    if (field && x12_837_required(r, value, 2, 0, "the reference number"))
        x12_837_text(r, field, CLAIM_REFERENCE_SIZE, value, 2, 0, "reference");
}

static void s_dtp(x12_837_reader_t *r)
{
    if (!r->in_claim || r->in_other_payer)
        return;
    x12_span_t qualifier = s_el(r, 1);
    if (r->line && x12_span_is(qualifier, "472")) {
        int32_t from, to;
        if (s_date_period(r, &from, &to)) {
            r->line->service_from = from;
            r->line->service_to = to;
        }
    } else if (!r->line && x12_span_is(qualifier, "434")) {
        s_date_period(r, &r->statement_from, &r->statement_to);
    }
}

/* ------------------------------------------------------------------------
 * Service lines: LX, SV1, SV2, DTP*472, LIN
 * ------------------------------------------------------------------------ */

/* Opens a line after LX; false (reported) when it cannot. */
static bool s_line_open(x12_837_reader_t *r, char kind, const char *expected)
{
    if (r->claim->kind != kind) {
        x12_837_fail(r, 0, 0, expected, SETTLE_ERR_SYNTAX, "%s in a%s claim", r->segment.id,
                     kind == CLAIM_KIND_PROFESSIONAL ? "n institutional" : " professional");
        return false;
    }
    if (!r->lx_pending) {
        x12_837_fail(r, 0, 0, "LX before each service line", SETTLE_ERR_MISSING,
                     "service line without its LX line number");
        return false;
    }
    r->lx_pending = false;
    r->line_payer = 0;
    int rc = claim_add_line(r->claim, &r->line);
    if (rc != SETTLE_OK) {
        r->line = NULL;
        x12_837_fail(r, 0, 0, rc == SETTLE_ERR_NOMEM ? NULL : "at most 999 service lines", rc,
                     "cannot add a service line: %s", settle_strerror(rc));
        return false;
    }
    return true;
}

/* HC:code:mod1:mod2:mod3:mod4, in SV101 or SV202. */
static void s_procedure(x12_837_reader_t *r, x12_span_t composite, uint32_t element)
{
    static const char *const qualifiers[] = {"HC", "ER", "IV", "WK", "HP"};
    char shown[48];
    x12_span_t qualifier = s_comp(r, composite, 1), code = s_comp(r, composite, 2);
    if (!s_is_one_of(qualifier, qualifiers, sizeof qualifiers / sizeof qualifiers[0])) {
        x12_837_fail(r, element, 1, "HC (HCPCS/CPT) or another product qualifier",
                     SETTLE_ERR_SYNTAX, "product or service id qualifier \"%s\"",
                     x12_837_show(qualifier, shown, sizeof shown));
        return;
    }
    if (!x12_837_required(r, code, element, 2, "a procedure code") ||
        !x12_837_text(r, r->line->procedure_code, CLAIM_PROCEDURE_SIZE, code, element, 2,
                      "procedure"))
        return;
    for (uint32_t i = 0; i < CLAIM_MODIFIERS_MAX; i++) {
        x12_span_t modifier = s_comp(r, composite, 3 + i);
        if (modifier.length && !x12_837_text(r, r->line->modifiers[i], CLAIM_MODIFIER_SIZE,
                                             modifier, element, 3 + i, "modifier"))
            return;
    }
}

/* SV107: up to four 1-based pointers into the claim's diagnoses. */
static void s_pointers(x12_837_reader_t *r, x12_span_t composite, uint32_t element)
{
    char shown[48];
    for (uint32_t i = 0; i < CLAIM_POINTERS_MAX; i++) {
        x12_span_t pointer = s_comp(r, composite, i + 1);
        if (pointer.length == 0)
            continue;
        if (pointer.length > 2 || !s_all_digits(pointer) ||
            (pointer.text[0] == '0' && pointer.length == 1)) {
            x12_837_fail(r, element, i + 1, "a diagnosis pointer 1 to 12", SETTLE_ERR_SYNTAX,
                         "bad diagnosis pointer \"%s\"",
                         x12_837_show(pointer, shown, sizeof shown));
            return;
        }
        r->line->diagnosis_pointers[i] =
            (uint8_t)(pointer.length == 1 ? pointer.text[0] - '0'
                                          : (pointer.text[0] - '0') * 10 + pointer.text[1] - '0');
    }
    if (s_comp(r, composite, CLAIM_POINTERS_MAX + 1).length)
        x12_837_fail(r, element, CLAIM_POINTERS_MAX + 1, "at most four diagnosis pointers",
                     SETTLE_ERR_TOO_MANY, "too many diagnosis pointers");
}

static bool s_unit_basis(x12_837_reader_t *r, uint32_t element, const char *const *codes,
                         size_t count, const char *expected)
{
    char shown[48];
    x12_span_t basis = s_el(r, element);
    if (s_is_one_of(basis, codes, count))
        return true;
    x12_837_fail(r, element, 0, expected, basis.length ? SETTLE_ERR_SYNTAX : SETTLE_ERR_MISSING,
                 "unit or basis for measurement code \"%s\"",
                 x12_837_show(basis, shown, sizeof shown));
    return false;
}

static void s_sv1(x12_837_reader_t *r)
{
    static const char *const bases[] = {"UN", "MJ"};
    if (!s_line_open(r, CLAIM_KIND_PROFESSIONAL, "SV2 in an 837I, SV1 in an 837P"))
        return;
    claim_line_t *line = r->line;
    char shown[48];
    s_procedure(r, s_el(r, 1), 1);
    if (!x12_837_amount(r, s_el(r, 2), 2, &line->charge_cents) ||
        !s_unit_basis(r, 3, bases, 2, "UN (units) or MJ (minutes)") ||
        !x12_837_required(r, s_el(r, 4), 4, 0, "the service unit count") ||
        !s_units(r, s_el(r, 4), 4, &line->units_milli))
        return;
    x12_span_t place = s_el(r, 5);
    if (place.length && (place.length != 2 || !s_all_digits(place))) {
        x12_837_fail(r, 5, 0, "a two-digit place of service", SETTLE_ERR_SYNTAX,
                     "bad place of service \"%s\"", x12_837_show(place, shown, sizeof shown));
        return;
    }
    if (place.length)
        x12_837_text(r, line->place_of_service, CLAIM_PLACE_SIZE, place, 5, 0, "place of service");
    s_pointers(r, s_el(r, 7), 7);
}

static void s_sv2(x12_837_reader_t *r)
{
    static const char *const bases[] = {"UN", "DA", "F2"};
    if (!s_line_open(r, CLAIM_KIND_INSTITUTIONAL, "SV1 in an 837P, SV2 in an 837I"))
        return;
    claim_line_t *line = r->line;
    char shown[48];
    x12_span_t revenue = s_el(r, 1);
    if (revenue.length != 4 || !s_all_digits(revenue)) {
        x12_837_fail(r, 1, 0, "a four-digit revenue code",
                     revenue.length ? SETTLE_ERR_SYNTAX : SETTLE_ERR_MISSING,
                     "bad revenue code \"%s\"", x12_837_show(revenue, shown, sizeof shown));
        return;
    }
    x12_837_text(r, line->revenue_code, CLAIM_REVENUE_SIZE, revenue, 1, 0, "revenue code");
    if (s_el(r, 2).length)
        s_procedure(r, s_el(r, 2), 2);
    if (x12_837_amount(r, s_el(r, 3), 3, &line->charge_cents) &&
        s_unit_basis(r, 4, bases, 3, "UN (units), DA (days) or F2 (international units)") &&
        x12_837_required(r, s_el(r, 5), 5, 0, "the service unit count"))
        s_units(r, s_el(r, 5), 5, &line->units_milli);
}

/* LIN*...*N4*NDC: the drug on the line, eleven digits. */
static void s_lin(x12_837_reader_t *r)
{
    if (!r->in_claim || !r->line || !x12_span_is(s_el(r, 2), "N4"))
        return;
    x12_span_t ndc = s_el(r, 3);
    if (ndc.length != 11 || !s_all_digits(ndc)) {
        char shown[48];
        x12_837_fail(r, 3, 0, "an NDC of eleven digits, 5-4-2 without hyphens", SETTLE_ERR_SYNTAX,
                     "bad NDC \"%s\"", x12_837_show(ndc, shown, sizeof shown));
        return;
    }
    x12_837_text(r, r->line->ndc, CLAIM_NDC_SIZE, ndc, 3, 0, "NDC");
}

/* ------------------------------------------------------------------------
 * Dispatch inside a transaction
 * ------------------------------------------------------------------------ */

void x12_837_body(x12_837_reader_t *r)
{
    if (!s_name_loop_order(r))
        return;
    switch (r->segment.code) {
    case X12_ID('H', 'L', 0):
        s_hl(r);
        return;
    case X12_ID('C', 'L', 'M'):
        s_clm(r);
        return;
    case X12_ID('N', 'M', '1'):
        s_nm1(r);
        return;
    case X12_ID('D', 'M', 'G'):
        s_dmg(r);
        return;
    case X12_ID('B', 'H', 'T'):
        s_bht(r);
        return;
    case X12_ID('N', '3', 0):
    case X12_ID('N', '4', 0):
        s_address(r);
        return;
    default:
        break;
    }
    if (!r->in_claim)
        return; /* the rest of the hierarchy loops carries nothing the claim keeps */
    switch (r->segment.code) {
    case X12_ID('H', 'I', 0):
        s_hi(r);
        break;
    case X12_ID('R', 'E', 'F'):
        s_ref(r);
        break;
    case X12_ID('L', 'X', 0):
        r->lx_pending = true;
        r->in_other_payer = false;
        r->line_payer = 0;
        r->line = NULL;
        break;
    case X12_ID('S', 'V', '1'):
        s_sv1(r);
        break;
    case X12_ID('S', 'V', '2'):
        s_sv2(r);
        break;
    case X12_ID('D', 'T', 'P'):
        s_dtp(r);
        break;
    case X12_ID('L', 'I', 'N'):
        s_lin(r);
        break;
    case X12_ID('S', 'B', 'R'):
        x12_837_sbr(r);
        break;
    case X12_ID('A', 'M', 'T'):
        x12_837_amt(r);
        break;
    case X12_ID('C', 'A', 'S'):
        x12_837_cas(r);
        break;
    case X12_ID('S', 'V', 'D'):
        x12_837_svd(r);
        break;
    default:
        break;
    }
}
