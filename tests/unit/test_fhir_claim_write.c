/*
 * test_fhir_claim_write.c - the FHIR R4 Claim writer against settle's own
 * FHIR reader: every canonical field of each kind of claim (professional,
 * institutional, replacement, void) written and read back equal, alone and
 * in a Bundle; every good fixture read, written, read again and written
 * again without a change; the claims FHIR cannot carry refused with the
 * field named; exact decimals, fixed key order, the Bundle's bound, and
 * allocation failure.
 *
 * Fixtures are found from this file's own path (CMake compiles it by its
 * absolute path): REPO/tests/unit/test_fhir_claim_write.c -> REPO/fixtures/fhir/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/fhir.h"
#include "settle/fhir_claim_write.h"

#include "claim_sample.h"

#define KEPT_MAX 8

typedef struct {
    claim_t *claims[KEPT_MAX];
    unsigned count;
    unsigned problems;
    char problem[SETTLE_ERROR_MESSAGE_SIZE + SETTLE_ERROR_FILE_SIZE + 64];
} collected_t;

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static claim_t *s_copy(const claim_t *claim)
{
    claim_t *copy = claim_new();
    assert_non_null(copy);
    assert_int_equal(claim_copy(copy, claim), SETTLE_OK);
    return copy;
}

static int s_keep_claim(const claim_t *claim, void *context)
{
    collected_t *c = context;
    assert_true(c->count < KEPT_MAX);
    c->claims[c->count++] = s_copy(claim);
    return 0;
}

static int s_keep_problem(fhir_problem_t problem, const char *claim_id, const settle_error_t *error,
                          void *context)
{
    collected_t *c = context;
    (void)problem;
    (void)claim_id;
    if (c->problems++ == 0)
        settle_error_format(error, c->problem, sizeof c->problem);
    return 0;
}

static void s_free(collected_t *c)
{
    for (unsigned i = 0; i < c->count; i++)
        claim_destroy(&c->claims[i]);
    memset(c, 0, sizeof *c);
}

/* Reads text with settle's reader; every Claim in it must be delivered. */
static void s_read(const char *text, size_t length, collected_t *c)
{
    fhir_claim_callbacks_t callbacks = {s_keep_claim, s_keep_problem};
    memset(c, 0, sizeof *c);
    assert_int_equal(fhir_claim_read(text, length, "written.json", &callbacks, c, NULL, NULL),
                     SETTLE_OK);
    if (c->problems)
        fail_msg("the written FHIR does not read back: %s\n%s", c->problem, text);
}

static char *s_load(const char *name, size_t *length_out)
{
    return test_fixture_load("fhir", name, length_out);
}

static int32_t s_day(int year, int month, int day)
{
    int32_t days;
    assert_int_equal(date_from_ymd(year, month, day, &days), SETTLE_OK);
    return days;
}

/* Writes the claim alone and in a Bundle; both must read back equal. */
static void s_assert_round_trip(const claim_t *claim)
{
    char *text = NULL;
    size_t length = 0;
    settle_error_t error;
    settle_error_clear(&error);
    collected_t c;
    if (fhir_claim_write(claim, true, &text, &length, &error) != SETTLE_OK)
        fail_msg("refused: %s", error.message);
    assert_int_equal(strlen(text), length);
    s_read(text, length, &c);
    assert_int_equal(c.count, 1);
    assert_true(claim_equal(claim, c.claims[0]));
    s_free(&c);
    settle_free(text);

    fhir_claim_bundle_t *bundle = NULL;
    assert_int_equal(fhir_claim_bundle_new(&bundle), SETTLE_OK);
    assert_int_equal(fhir_claim_bundle_add(bundle, claim, &error), SETTLE_OK);
    assert_int_equal(fhir_claim_bundle_add(bundle, claim, &error), SETTLE_OK);
    assert_int_equal(fhir_claim_bundle_count(bundle), 2);
    assert_int_equal(fhir_claim_bundle_finish(bundle, false, &text, &length), SETTLE_OK);
    s_read(text, length, &c);
    assert_int_equal(c.count, 2);
    assert_true(claim_equal(claim, c.claims[0]));
    assert_true(claim_equal(claim, c.claims[1]));
    s_free(&c);
    settle_free(text);
    fhir_claim_bundle_destroy(&bundle);
    fhir_claim_bundle_destroy(&bundle); /* safe twice */
}

/* A professional claim with every field FHIR carries set to a distinct
 * value: rendering NPI, birth date, sex, prior authorization, place, four
 * diagnoses, a line with four modifiers, four pointers, its own place and
 * fractional units, a line over a date range with an NDC and a HCPCS code. */
static claim_t *s_professional(void)
{
    claim_t *c = claim_new();
    claim_line_t *line;
    assert_non_null(c);
    c->kind = CLAIM_KIND_PROFESSIONAL;
    assert_int_equal(SAMPLE_TEXT(c->claim_id, "PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012"), 0);
    assert_int_equal(SAMPLE_TEXT(c->payer_id, "ACMEHP"), 0);
    assert_int_equal(SAMPLE_TEXT(c->billing_npi, "1234567893"), 0);
    assert_int_equal(SAMPLE_TEXT(c->rendering_npi, "1987654328"), 0);
    assert_int_equal(SAMPLE_TEXT(c->member_id, "ACM100234501"), 0);
    c->patient_birth_date = s_day(1968, 4, 12);
    c->created = s_day(2026, 10, 6); /* FHIR requires created: it round-trips when set */
    c->patient_sex = CLAIM_SEX_FEMALE;
    assert_int_equal(SAMPLE_TEXT(c->prior_authorization, "PA-55190"), 0);
    assert_int_equal(SAMPLE_TEXT(c->place_of_service, "11"), 0);
    c->diagnosis_count = 4;
    assert_int_equal(SAMPLE_TEXT(c->diagnoses[0], "S52521A"), 0);
    assert_int_equal(SAMPLE_TEXT(c->diagnoses[1], "E119"), 0);
    assert_int_equal(SAMPLE_TEXT(c->diagnoses[2], "I10"), 0);
    assert_int_equal(SAMPLE_TEXT(c->diagnoses[3], "Z7901"), 0);
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    assert_int_equal(SAMPLE_TEXT(line->procedure_code, "99214"), 0);
    assert_int_equal(SAMPLE_TEXT(line->modifiers[0], "25"), 0);
    assert_int_equal(SAMPLE_TEXT(line->modifiers[1], "59"), 0);
    assert_int_equal(SAMPLE_TEXT(line->modifiers[2], "GP"), 0);
    assert_int_equal(SAMPLE_TEXT(line->modifiers[3], "RT"), 0);
    line->units_milli = 1500;
    line->charge_cents = 18501;
    line->service_from = line->service_to = s_day(2026, 9, 28);
    line->diagnosis_pointers[0] = 4;
    line->diagnosis_pointers[1] = 1;
    line->diagnosis_pointers[2] = 3;
    line->diagnosis_pointers[3] = 2;
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    assert_int_equal(SAMPLE_TEXT(line->procedure_code, "J3490"), 0);
    assert_int_equal(SAMPLE_TEXT(line->ndc, "00406052301"), 0);
    assert_int_equal(SAMPLE_TEXT(line->place_of_service, "22"), 0);
    line->units_milli = 1;
    line->charge_cents = 10;
    line->service_from = s_day(2026, 9, 28);
    line->service_to = s_day(2026, 10, 2);
    line->diagnosis_pointers[0] = 2;
    c->total_charge_cents = 18511;
    return c;
}

/* An institutional claim: type of bill, revenue codes (one line with a
 * revenue code only), a date range, an NDC, places on lines only, male,
 * no prior authorization. */
static claim_t *s_institutional(void)
{
    claim_t *c = claim_new();
    claim_line_t *line;
    assert_non_null(c);
    c->kind = CLAIM_KIND_INSTITUTIONAL;
    assert_int_equal(SAMPLE_TEXT(c->claim_id, "SMH-OP-3300"), 0);
    assert_int_equal(SAMPLE_TEXT(c->payer_id, "MEDIGAP01"), 0);
    assert_int_equal(SAMPLE_TEXT(c->billing_npi, "1678901236"), 0);
    assert_int_equal(SAMPLE_TEXT(c->member_id, "MG-4410-0093"), 0);
    c->patient_birth_date = s_day(1949, 12, 31);
    c->created = s_day(2026, 10, 1);
    c->patient_sex = CLAIM_SEX_MALE;
    assert_int_equal(SAMPLE_TEXT(c->bill_type, "131"), 0);
    c->diagnosis_count = 2;
    assert_int_equal(SAMPLE_TEXT(c->diagnoses[0], "R079"), 0);
    assert_int_equal(SAMPLE_TEXT(c->diagnoses[1], "I10"), 0);
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    assert_int_equal(SAMPLE_TEXT(line->revenue_code, "0762"), 0);
    assert_int_equal(SAMPLE_TEXT(line->procedure_code, "G0378"), 0);
    line->units_milli = 26500;
    line->charge_cents = 159000;
    line->service_from = s_day(2026, 2, 2);
    line->service_to = s_day(2026, 2, 4);
    line->diagnosis_pointers[0] = 1;
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    assert_int_equal(SAMPLE_TEXT(line->revenue_code, "0300"), 0);
    assert_int_equal(SAMPLE_TEXT(line->place_of_service, "22"), 0);
    line->units_milli = 4000;
    line->charge_cents = 21240;
    line->service_from = line->service_to = s_day(2026, 2, 2);
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    assert_int_equal(SAMPLE_TEXT(line->revenue_code, "0636"), 0);
    assert_int_equal(SAMPLE_TEXT(line->procedure_code, "J1644"), 0);
    assert_int_equal(SAMPLE_TEXT(line->ndc, "63323004701"), 0);
    line->units_milli = 1500;
    line->charge_cents = 1217;
    line->service_from = line->service_to = s_day(2026, 2, 3);
    line->diagnosis_pointers[0] = 1;
    line->diagnosis_pointers[1] = 2;
    c->total_charge_cents = 159000 + 21240 + 1217;
    return c;
}

/* Writes the claim and returns the error text of its refusal. */
static void s_assert_refused(const claim_t *claim, int code, const char *message)
{
    char *text = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(fhir_claim_write(claim, false, &text, NULL, &error), code);
    assert_null(text);
    assert_string_equal(error.message, message);
    fhir_claim_bundle_t *bundle = NULL;
    assert_int_equal(fhir_claim_bundle_new(&bundle), SETTLE_OK);
    settle_error_clear(&error);
    assert_int_equal(fhir_claim_bundle_add(bundle, claim, &error), code);
    assert_string_equal(error.message, message);
    assert_int_equal(fhir_claim_bundle_count(bundle), 0);
    fhir_claim_bundle_destroy(&bundle);
}

/* ------------------------------------------------------------------------
 * Every field, each kind of claim
 * ------------------------------------------------------------------------ */

static void test_fhir_write_professional_claim_reads_back_field_for_field(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    s_assert_round_trip(claim);
    /* unknown sex, no birth date, no rendering provider, no authorization */
    claim->patient_sex = CLAIM_SEX_UNKNOWN;
    claim->patient_birth_date = DATE_NONE;
    claim->rendering_npi[0] = claim->prior_authorization[0] = '\0';
    s_assert_round_trip(claim);
    /* no place of service anywhere */
    claim->place_of_service[0] = claim->lines[1].place_of_service[0] = '\0';
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

static void test_fhir_write_institutional_claim_reads_back_field_for_field(void **state)
{
    (void)state;
    claim_t *claim = s_institutional();
    s_assert_round_trip(claim);
    claim->bill_type[0] = '\0'; /* the type of bill is optional */
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

static void test_fhir_write_replacement_and_void_read_back_with_their_original(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    claim->frequency = CLAIM_FREQUENCY_REPLACEMENT;
    assert_int_equal(SAMPLE_TEXT(claim->original_claim_number, "PAYER-ICN-7788"), 0);
    s_assert_round_trip(claim);
    claim->frequency = CLAIM_FREQUENCY_VOID;
    s_assert_round_trip(claim);
    claim_destroy(&claim);

    claim = s_institutional();
    assert_int_equal(SAMPLE_TEXT(claim->original_claim_number, "ICN-1"), 0);
    claim->frequency = CLAIM_FREQUENCY_REPLACEMENT;
    claim->bill_type[2] = '7';
    s_assert_round_trip(claim);
    claim->frequency = CLAIM_FREQUENCY_VOID;
    claim->bill_type[2] = '8';
    s_assert_round_trip(claim);
    /* an institutional frequency other than 1, 7, 8 travels in the type of bill */
    claim->original_claim_number[0] = '\0';
    claim->frequency = 5;
    claim->bill_type[2] = '5';
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

/* The full sample (claim_sample.h) holds what FHIR cannot carry: other
 * payers, a claim-level place on an institutional claim (and a type of
 * bill that contradicts its frequency).  It is refused; without them,
 * every other field of it reads back. */
static void test_fhir_write_sample_claim_round_trips_all_but_what_fhir_lacks(void **state)
{
    (void)state;
    claim_t *claim = claim_new();
    assert_non_null(claim);
    assert_int_equal(sample_fill_claim(claim), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": other_payers: the "
                     "FHIR Claim reader reads no coordination of benefits, so other payers cannot "
                     "be written without a loss");
    claim->other_payer_count = 0;
    claim->cob_count = 0; /* what those payers did goes with them */
    memset(claim->other_payers, 0, sizeof claim->other_payers);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": place_of_service: an "
                     "institutional claim has no claim-level place of service in FHIR (only its "
                     "lines do)");
    claim->place_of_service[0] = '\0';
    /* its type of bill 111 says frequency 1, but the claim is a replacement */
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": frequency: status, "
                     "related[] and the type of bill cannot say it (1, 7 or 8, or the last digit "
                     "of an institutional type of bill)");
    claim->bill_type[2] = '7';
    /* the sealed identifiers and line ages are left out (fhir_claim_write.h),
     * the names and address come back */
    char *text = NULL;
    size_t length;
    collected_t c;
    assert_int_equal(fhir_claim_write(claim, false, &text, &length, NULL), SETTLE_OK);
    s_read(text, length, &c);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.claims[0]->phi_size, 0);
    assert_int_equal(c.claims[0]->lines[0].patient_age, CLAIM_AGE_NONE);
    assert_int_equal(c.claims[0]->lines[1].patient_age, CLAIM_AGE_NONE);
    assert_memory_equal(&c.claims[0]->patient, &claim->patient, sizeof claim->patient);
    s_free(&c);
    settle_free(text);
    claim->phi_size = 0;
    memset(claim->phi, 0, sizeof claim->phi);
    claim->lines[0].patient_age = claim->lines[1].patient_age = CLAIM_AGE_NONE;
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

/* The names go in the Patient's name[0] (family, given), the address in
 * its address[0]; given[] and line[] are read by position, so a middle
 * name without a first, or a second line without a first, is refused. */
static void test_fhir_write_puts_the_patients_name_and_address_in_the_patient(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    assert_int_equal(SAMPLE_TEXT(claim->patient.last_name, "ALVAREZ"), 0);
    assert_int_equal(SAMPLE_TEXT(claim->patient.first_name, "MARIA"), 0);
    assert_int_equal(SAMPLE_TEXT(claim->patient.address_1, "12 MAIN ST"), 0);
    assert_int_equal(SAMPLE_TEXT(claim->patient.postal_code, "62701"), 0);
    char *text = NULL;
    assert_int_equal(fhir_claim_write(claim, false, &text, NULL, NULL), SETTLE_OK);
    assert_non_null(strstr(text, "\"name\":[{\"family\":\"ALVAREZ\",\"given\":[\"MARIA\"]}],"
                                 "\"gender\":"));
    assert_non_null(strstr(text, "\"address\":[{\"line\":[\"12 MAIN ST\"],\"postalCode\":"
                                 "\"62701\"}]}"));
    settle_free(text);
    s_assert_round_trip(claim);
    claim->patient.first_name[0] = '\0';
    assert_int_equal(SAMPLE_TEXT(claim->patient.middle_name, "L"), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": patient.middle_name: "
                     "without a first name it would be read back as the first (given[0])");
    claim->patient.middle_name[0] = '\0';
    claim->patient.address_1[0] = '\0';
    assert_int_equal(SAMPLE_TEXT(claim->patient.address_2, "APT 4"), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": patient.address_2: "
                     "without address_1 it would be read back as the first line (line[0])");
    claim->patient.address_2[0] = '\0';
    s_assert_round_trip(claim); /* a family name and a postal code alone */
    claim_destroy(&claim);
}

/* ------------------------------------------------------------------------
 * Fixtures: FHIR -> canonical -> FHIR -> canonical
 * ------------------------------------------------------------------------ */

static void s_assert_fixture_stable(const char *name, unsigned claims)
{
    size_t length;
    char *original = s_load(name, &length);
    collected_t first, second;
    s_read(original, length, &first);
    assert_int_equal(first.count, claims);
    free(original);

    char *texts[2] = {NULL, NULL};
    size_t lengths[2];
    for (int round = 0; round < 2; round++) {
        collected_t *from = round == 0 ? &first : &second;
        fhir_claim_bundle_t *bundle = NULL;
        settle_error_t error;
        settle_error_clear(&error);
        assert_int_equal(fhir_claim_bundle_new(&bundle), SETTLE_OK);
        for (unsigned i = 0; i < from->count; i++)
            if (fhir_claim_bundle_add(bundle, from->claims[i], &error) != SETTLE_OK)
                fail_msg("%s: claim %u refused: %s", name, i, error.message);
        assert_int_equal(fhir_claim_bundle_finish(bundle, true, &texts[round], &lengths[round]),
                         SETTLE_OK);
        fhir_claim_bundle_destroy(&bundle);
        if (round == 0)
            s_read(texts[0], lengths[0], &second);
    }
    assert_int_equal(second.count, claims);
    for (unsigned i = 0; i < claims; i++)
        if (!claim_equal(first.claims[i], second.claims[i]))
            fail_msg("%s: claim %u differs after a FHIR round trip", name, i);
    assert_int_equal(lengths[0], lengths[1]);
    assert_memory_equal(texts[0], texts[1], lengths[0]); /* a fixed point */
    settle_free(texts[0]);
    settle_free(texts[1]);
    s_free(&first);
    s_free(&second);
}

static void test_fhir_write_every_good_fixture_is_stable_through_a_round_trip(void **state)
{
    (void)state;
    s_assert_fixture_stable("claim-professional.json", 1);
    s_assert_fixture_stable("claim-institutional.json", 1);
    s_assert_fixture_stable("claim-replacement.json", 1);
    s_assert_fixture_stable("claim-void.json", 1);
    s_assert_fixture_stable("bundle-two-claims.json", 2);
}

/* ------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------ */

static void test_fhir_write_refuses_what_fhir_cannot_carry_naming_the_field(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    assert_int_equal(SAMPLE_TEXT(claim->bill_type, "131"), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": bill_type: a "
                     "professional claim has no type of bill in FHIR");
    claim->bill_type[0] = '\0';
    assert_int_equal(SAMPLE_TEXT(claim->lines[0].place_of_service, "21"), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": place_of_service: "
                     "the first line's own place of service differs from the claim's, and FHIR "
                     "gives the claim the first item's");
    claim->lines[0].place_of_service[0] = '\0';
    claim->frequency = 5;
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": frequency: status, "
                     "related[] and the type of bill cannot say it (1, 7 or 8, or the last digit "
                     "of an institutional type of bill)");
    claim->frequency = 1;
    assert_int_equal(SAMPLE_TEXT(claim->original_claim_number, "X1"), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": "
                     "original_claim_number: FHIR carries it in related[], which makes the claim "
                     "a replacement (7) or a void (8)");
    claim->original_claim_number[0] = '\0';
    claim->lines[0].modifiers[1][0] = '\0';
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": lines[0].modifiers: "
                     "a gap before a modifier, which FHIR's list cannot keep");
    claim->lines[0].modifiers[2][0] = claim->lines[0].modifiers[3][0] = '\0';
    claim->lines[1].diagnosis_pointers[0] = 0;
    claim->lines[1].diagnosis_pointers[2] = 1;
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": "
                     "lines[1].diagnosis_pointers: a gap before a pointer, which FHIR's list "
                     "cannot keep");
    claim->lines[1].diagnosis_pointers[0] = 1;
    claim->lines[1].diagnosis_pointers[2] = 0;
    s_assert_round_trip(claim); /* nothing left to refuse */
    assert_int_equal(SAMPLE_TEXT(claim->diagnoses[2], "i10"), 0);
    s_assert_refused(claim, SETTLE_ERR_INVALID,
                     "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": diagnoses: a code is "
                     "not ICD-10-CM (a letter, then 2 to 6 letters or digits)");
    claim_destroy(&claim);
}

static void test_fhir_write_refuses_an_invalid_claim_with_the_validation_error(void **state)
{
    (void)state;
    claim_t *claim = s_institutional();
    claim->total_charge_cents += 1;
    char *text = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_not_equal(fhir_claim_write(claim, false, &text, NULL, &error), SETTLE_OK);
    assert_null(text);
    assert_non_null(strstr(error.message, "FHIR Claim \"SMH-OP-3300\": "));
    assert_non_null(strstr(error.message, "total"));
    claim_destroy(&claim);
}

/* The one normalisation: a line's place equal to the claim's is the claim's. */
static void test_fhir_write_line_place_equal_to_the_claims_reads_back_as_the_claims(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    assert_int_equal(SAMPLE_TEXT(claim->lines[1].place_of_service, "11"), 0);
    char *text = NULL;
    size_t length;
    collected_t c;
    assert_int_equal(fhir_claim_write(claim, false, &text, &length, NULL), SETTLE_OK);
    s_read(text, length, &c);
    assert_string_equal(c.claims[0]->place_of_service, "11");
    assert_string_equal(c.claims[0]->lines[1].place_of_service, "");
    claim->lines[1].place_of_service[0] = '\0';
    assert_true(claim_equal(claim, c.claims[0]));
    s_free(&c);
    settle_free(text);
    claim_destroy(&claim);
}

/* ------------------------------------------------------------------------
 * The text
 * ------------------------------------------------------------------------ */

/* The whole text of a small claim: keys in R4 order, exact decimals. */
static void test_fhir_write_small_claim_gives_exactly_these_bytes(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    claim->rendering_npi[0] = claim->prior_authorization[0] = '\0';
    claim->patient_birth_date = DATE_NONE;
    claim->patient_sex = CLAIM_SEX_MALE;
    claim->diagnosis_count = 1;
    claim->line_count = 1;
    claim->lines[0].modifiers[1][0] = claim->lines[0].modifiers[2][0] = '\0';
    claim->lines[0].modifiers[3][0] = '\0';
    memset(claim->lines[0].diagnosis_pointers, 0, CLAIM_POINTERS_MAX);
    claim->lines[0].diagnosis_pointers[0] = 1;
    claim->lines[0].units_milli = 2000;
    claim->lines[0].charge_cents = 12350;
    claim->total_charge_cents = 12350;
    char *text = NULL;
    assert_int_equal(fhir_claim_write(claim, false, &text, NULL, NULL), SETTLE_OK);
    assert_string_equal(
        text,
        "{\"resourceType\":\"Claim\",\"contained\":[{\"resourceType\":\"Patient\",\"id\":"
        "\"patient\",\"gender\":\"male\"},{\"resourceType\":\"Coverage\",\"id\":\"coverage\","
        "\"status\":\"active\",\"subscriberId\":\"ACM100234501\",\"beneficiary\":{\"reference\":"
        "\"#patient\"},\"payor\":[{\"identifier\":{\"value\":\"ACMEHP\"}}]}],\"identifier\":[{"
        "\"value\":\"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\"}],\"status\":\"active\",\"type\":{"
        "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/claim-type\",\"code\":"
        "\"professional\"}]},\"use\":\"claim\",\"patient\":{\"reference\":\"#patient\"},"
        "\"billablePeriod\":{\"start\":\"2026-09-28\",\"end\":\"2026-09-28\"},\"created\":"
        "\"2026-10-06\",\"insurer\":{\"identifier\":{\"value\":\"ACMEHP\"}},\"provider\":{"
        "\"identifier\":{\"system\":\"http://hl7.org/fhir/sid/us-npi\",\"value\":\"1234567893\"}}"
        ",\"priority\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "processpriority\",\"code\":\"normal\"}]},\"diagnosis\":[{\"sequence\":1,"
        "\"diagnosisCodeableConcept\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/"
        "icd-10-cm\",\"code\":\"S52.521A\"}]},\"type\":[{\"coding\":[{\"system\":\"http://"
        "terminology.hl7.org/CodeSystem/ex-diagnosistype\",\"code\":\"principal\"}]}]}],"
        "\"insurance\":[{\"sequence\":1,\"focal\":true,\"coverage\":{\"reference\":\"#coverage\"}"
        "}],\"item\":[{\"sequence\":1,\"diagnosisSequence\":[1],\"productOrService\":{\"coding\":"
        "[{\"system\":\"http://www.ama-assn.org/go/cpt\",\"code\":\"99214\"}]},\"modifier\":[{"
        "\"coding\":[{\"system\":\"http://www.ama-assn.org/go/cpt\",\"code\":\"25\"}]}],"
        "\"servicedDate\":\"2026-09-28\",\"locationCodeableConcept\":{\"coding\":[{\"system\":"
        "\"https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set\""
        ",\"code\":\"11\"}]},\"quantity\":{\"value\":2},\"net\":{\"value\":123.50,\"currency\":"
        "\"USD\"}}],\"total\":{\"value\":123.50,\"currency\":\"USD\"}}");
    settle_free(text);
    claim_destroy(&claim);
}

/* Decimals are formatted from the integers: 0.001 of a unit, a cent, a
 * very large amount, none through a double. */
static void test_fhir_write_amounts_and_units_are_exact(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    claim->lines[0].units_milli = 1234567;
    claim->lines[0].charge_cents = INT64_MAX / 4;
    claim->lines[1].charge_cents = 1;
    claim->total_charge_cents = INT64_MAX / 4 + 1;
    char *text = NULL;
    size_t length;
    assert_int_equal(fhir_claim_write(claim, true, &text, &length, NULL), SETTLE_OK);
    assert_non_null(strstr(text, "\"value\": 1234.567\n"));
    assert_non_null(strstr(text, "\"value\": 0.001\n"));
    assert_non_null(strstr(text, "\"value\": 23058430092136939.51,"));
    assert_non_null(strstr(text, "\"value\": 0.01,"));
    assert_non_null(strstr(text, "\"value\": 23058430092136939.52,"));
    s_assert_round_trip(claim);
    settle_free(text);
    claim_destroy(&claim);
}

/* A printable-ASCII check keeps the decimal mark unforgeable. */
static void test_fhir_write_refuses_text_outside_printable_ascii(void **state)
{
    (void)state;
    claim_t *claim = s_professional();
    claim->prior_authorization[0] = '\x01';
    char *text = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(fhir_claim_write(claim, false, &text, NULL, &error), SETTLE_ERR_INVALID);
    assert_null(text);
    assert_string_equal(error.message, "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": "
                                       "prior_authorization holds a byte outside printable ASCII");
    claim_destroy(&claim);
}

/* ------------------------------------------------------------------------
 * The Bundle
 * ------------------------------------------------------------------------ */

static void
test_fhir_write_bundle_holds_its_claims_in_order_and_refuses_past_its_bound(void **state)
{
    (void)state;
    fhir_claim_bundle_t *bundle = NULL;
    char *text = NULL;
    size_t length;
    assert_int_equal(fhir_claim_bundle_new(&bundle), SETTLE_OK);
    assert_int_equal(fhir_claim_bundle_finish(bundle, false, &text, &length), SETTLE_OK);
    assert_string_equal(text, "{\"resourceType\":\"Bundle\",\"type\":\"collection\"}");
    settle_free(text);

    claim_t *professional = s_professional(), *institutional = s_institutional();
    assert_int_equal(fhir_claim_bundle_add(bundle, institutional, NULL), SETTLE_OK);
    assert_int_equal(fhir_claim_bundle_add(bundle, professional, NULL), SETTLE_OK);
    assert_int_equal(fhir_claim_bundle_finish(bundle, false, &text, &length), SETTLE_OK);
    assert_non_null(strstr(text, "\"fullUrl\":\"urn:uuid:00000000-0000-4000-8000-000000000006\""));
    collected_t c;
    s_read(text, length, &c);
    assert_int_equal(c.count, 2);
    assert_true(claim_equal(institutional, c.claims[0]));
    assert_true(claim_equal(professional, c.claims[1]));
    s_free(&c);
    settle_free(text);

    size_t most = FHIR_BUNDLE_ENTRIES_MAX / 3;
    for (size_t i = 2; i < most; i++)
        assert_int_equal(fhir_claim_bundle_add(bundle, professional, NULL), SETTLE_OK);
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(fhir_claim_bundle_add(bundle, professional, &error), SETTLE_ERR_TOO_MANY);
    assert_string_equal(error.message,
                        "FHIR Claim \"PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012\": the Bundle is "
                        "full (10000 entries, which is what the FHIR reader takes)");
    assert_int_equal(fhir_claim_bundle_count(bundle), most);
    fhir_claim_bundle_destroy(&bundle);
    claim_destroy(&professional);
    claim_destroy(&institutional);
}

/* ------------------------------------------------------------------------
 * Allocation failure
 * ------------------------------------------------------------------------ */

/* One writer call under the failure rig: 0 = fhir_claim_write, 1 = a
 * Bundle's new, add and finish. */
static int s_write_once(int writer, const claim_t *claim, char **text)
{
    if (writer == 0)
        return fhir_claim_write(claim, true, text, NULL, NULL);
    fhir_claim_bundle_t *bundle = NULL;
    int rc = fhir_claim_bundle_new(&bundle);
    if (rc == SETTLE_OK)
        rc = fhir_claim_bundle_add(bundle, claim, NULL);
    if (rc == SETTLE_OK)
        rc = fhir_claim_bundle_finish(bundle, false, text, NULL);
    fhir_claim_bundle_destroy(&bundle);
    return rc;
}

/* With jansson allocating through settle's allocator, each allocation of
 * each writer fails in turn: SETTLE_ERR_NOMEM, no text, nothing leaked. */
static void test_fhir_write_reports_every_allocation_failure_and_leaks_nothing(void **state)
{
    (void)state;
    claim_t *claim = s_institutional();
    json_set_alloc_funcs(settle_malloc, settle_free);
    long live = settle_alloc_live();
    for (int writer = 0; writer < 2; writer++) {
        char *text = NULL;
        long before = settle_alloc_attempts();
        assert_int_equal(s_write_once(writer, claim, &text), SETTLE_OK);
        settle_free(text);
        long count = settle_alloc_attempts() - before;
        assert_true(count > 20);
        for (long i = 0; i < count; i++) {
            text = NULL;
            settle_alloc_fail_after(i);
            int rc = s_write_once(writer, claim, &text);
            settle_alloc_fail_after(-1);
            if (rc != SETTLE_ERR_NOMEM)
                fail_msg("writer %d, allocation %ld of %ld: code %d", writer, i + 1, count, rc);
            assert_null(text);
            if (settle_alloc_live() != live)
                fail_msg("writer %d, allocation %ld of %ld failed and %ld blocks leaked", writer,
                         i + 1, count, settle_alloc_live() - live);
        }
    }
    json_set_alloc_funcs(malloc, free);
    claim_destroy(&claim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_write_professional_claim_reads_back_field_for_field),
        cmocka_unit_test(test_fhir_write_institutional_claim_reads_back_field_for_field),
        cmocka_unit_test(test_fhir_write_replacement_and_void_read_back_with_their_original),
        cmocka_unit_test(test_fhir_write_sample_claim_round_trips_all_but_what_fhir_lacks),
        cmocka_unit_test(test_fhir_write_puts_the_patients_name_and_address_in_the_patient),
        cmocka_unit_test(test_fhir_write_every_good_fixture_is_stable_through_a_round_trip),
        cmocka_unit_test(test_fhir_write_refuses_what_fhir_cannot_carry_naming_the_field),
        cmocka_unit_test(test_fhir_write_refuses_an_invalid_claim_with_the_validation_error),
        cmocka_unit_test(test_fhir_write_line_place_equal_to_the_claims_reads_back_as_the_claims),
        cmocka_unit_test(test_fhir_write_small_claim_gives_exactly_these_bytes),
        cmocka_unit_test(test_fhir_write_amounts_and_units_are_exact),
        cmocka_unit_test(test_fhir_write_refuses_text_outside_printable_ascii),
        cmocka_unit_test(
            test_fhir_write_bundle_holds_its_claims_in_order_and_refuses_past_its_bound),
        cmocka_unit_test(test_fhir_write_reports_every_allocation_failure_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
