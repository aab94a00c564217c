/*
 * test_fhir_claim.c - the FHIR R4 Claim reader: settle's FHIR fixtures field
 * by field, the exact error text for each malformed one, a bad Claim in a
 * Bundle beside good ones, exact decimals, callbacks that stop the reading,
 * and allocation failure.
 *
 * Fixtures are found from this file's own path (CMake compiles it by its
 * absolute path): REPO/tests/unit/test_fhir_claim.c -> REPO/fixtures/fhir/.
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

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/fhir.h"

#define KEPT_MAX     8
#define PROBLEMS_MAX 8

typedef struct {
    fhir_problem_t problem;
    char claim_id[CLAIM_ID_SIZE];
    char text[SETTLE_ERROR_MESSAGE_SIZE + SETTLE_ERROR_FILE_SIZE + 64];
} problem_t;

typedef struct {
    claim_t *claims[KEPT_MAX];
    unsigned claim_count;
    problem_t problems[PROBLEMS_MAX];
    unsigned problem_count;
    unsigned stop_after; /* 0: never stop */
} collected_t;

static int s_keep_claim(const claim_t *claim, void *context)
{
    collected_t *c = context;
    if (c->claim_count < KEPT_MAX) {
        claim_t *copy = claim_new();
        assert_non_null(copy);
        assert_int_equal(claim_copy(copy, claim), SETTLE_OK);
        c->claims[c->claim_count] = copy;
    }
    c->claim_count++;
    return c->stop_after && c->claim_count == c->stop_after ? 42 : 0;
}

static int s_keep_problem(fhir_problem_t problem, const char *claim_id, const settle_error_t *error,
                          void *context)
{
    collected_t *c = context;
    assert_non_null(error);
    assert_true(error->message[0] != '\0'); /* every problem says why */
    if (c->problem_count < PROBLEMS_MAX) {
        problem_t *p = &c->problems[c->problem_count];
        p->problem = problem;
        snprintf(p->claim_id, sizeof p->claim_id, "%s", claim_id);
        settle_error_format(error, p->text, sizeof p->text);
    }
    c->problem_count++;
    return 0;
}

static void s_free(collected_t *c)
{
    for (unsigned i = 0; i < c->claim_count && i < KEPT_MAX; i++)
        claim_destroy(&c->claims[i]);
    memset(c, 0, sizeof *c);
}

static int s_read_text(const char *text, size_t length, const char *name, collected_t *c,
                       fhir_claim_stats_t *stats)
{
    fhir_claim_callbacks_t callbacks = {s_keep_claim, s_keep_problem};
    return fhir_claim_read(text, length, name, &callbacks, c, NULL, stats);
}

/* Reads a fixture into a buffer of exactly its size (no NUL after it). */
static char *s_load(const char *name, size_t *length_out)
{
    return test_fixture_load("fhir", name, length_out);
}

static int s_read_file(const char *name, collected_t *c, fhir_claim_stats_t *stats)
{
    size_t length;
    char *text = s_load(name, &length);
    int rc = s_read_text(text, length, name, c, stats);
    free(text);
    return rc;
}

static int32_t s_day(int year, int month, int day)
{
    int32_t days;
    assert_int_equal(date_from_ymd(year, month, day, &days), SETTLE_OK);
    return days;
}

static void s_assert_line(const claim_line_t *line, const char *procedure, const char *revenue,
                          int64_t units_milli, int64_t charge_cents, int32_t from, int32_t to)
{
    assert_string_equal(line->procedure_code, procedure);
    assert_string_equal(line->revenue_code, revenue);
    assert_int_equal(line->units_milli, units_milli);
    assert_int_equal(line->charge_cents, charge_cents);
    assert_int_equal(line->service_from, from);
    assert_int_equal(line->service_to, to);
}

/* ------------------------------------------------------------------------
 * Fixtures, field by field
 * ------------------------------------------------------------------------ */

static void test_fhir_reads_a_professional_claim_with_contained_resources(void **state)
{
    (void)state;
    collected_t c = {0};
    fhir_claim_stats_t stats;
    assert_int_equal(s_read_file("claim-professional.json", &c, &stats), SETTLE_OK);
    assert_int_equal(c.claim_count, 1);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(stats.entries, 0);
    assert_int_equal(stats.claims_delivered, 1);
    const claim_t *claim = c.claims[0];
    assert_int_equal(claim->kind, CLAIM_KIND_PROFESSIONAL);
    assert_int_equal(claim->frequency, CLAIM_FREQUENCY_ORIGINAL);
    assert_string_equal(claim->claim_id, "LFM-2026-1001");
    assert_string_equal(claim->payer_id, "ACMEHP");
    assert_string_equal(claim->billing_npi, "1234567893");
    assert_string_equal(claim->rendering_npi, "1987654328");
    assert_string_equal(claim->member_id, "ACM100234501"); /* Coverage.subscriberId, not the MRN */
    assert_int_equal(claim->patient_birth_date, s_day(1984, 7, 19));
    assert_int_equal(claim->patient_sex, CLAIM_SEX_FEMALE);
    assert_string_equal(claim->patient.last_name, "Rivera"); /* the contained Patient's name */
    assert_string_equal(claim->patient.first_name, "Ana");
    assert_string_equal(claim->patient.middle_name, "");
    assert_string_equal(claim->patient.address_1, "");
    assert_int_equal(claim->phi_size, 0);
    assert_string_equal(claim->original_claim_number, "");
    assert_string_equal(claim->prior_authorization, "PA-778812");
    assert_string_equal(claim->place_of_service, "11");
    assert_string_equal(claim->bill_type, "");
    assert_int_equal(claim->total_charge_cents, 21025);
    /* sorted by sequence: sequence 1 (M54.50) first although written second */
    assert_int_equal(claim->diagnosis_count, 2);
    assert_string_equal(claim->diagnoses[0], "M5450");
    assert_string_equal(claim->diagnoses[1], "E119");
    assert_int_equal(claim->line_count, 2);
    const claim_line_t *first = &claim->lines[0], *second = &claim->lines[1];
    s_assert_line(first, "99214", "", 1000, 18500, s_day(2026, 1, 5), s_day(2026, 1, 5));
    assert_string_equal(first->modifiers[0], "25");
    assert_string_equal(first->modifiers[1], "");
    assert_string_equal(first->place_of_service, ""); /* the claim's applies */
    assert_int_equal(first->diagnosis_pointers[0], 1);
    assert_int_equal(first->diagnosis_pointers[1], 2);
    assert_int_equal(first->diagnosis_pointers[2], 0);
    s_assert_line(second, "J1100", "", 2500, 2525, s_day(2026, 1, 5), s_day(2026, 1, 5));
    assert_string_equal(second->modifiers[0], "JZ");
    assert_string_equal(second->modifiers[1], "59");
    assert_string_equal(second->ndc, "");
    assert_int_equal(second->diagnosis_pointers[0], 1);
    assert_int_equal(second->diagnosis_pointers[1], 0);
    s_free(&c);
}

static void test_fhir_reads_a_bundle_with_patients_coverage_and_two_claims(void **state)
{
    (void)state;
    collected_t c = {0};
    fhir_claim_stats_t stats;
    assert_int_equal(s_read_file("bundle-two-claims.json", &c, &stats), SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 2);
    assert_int_equal(stats.entries, 8);
    assert_int_equal(stats.claims_delivered, 2);
    assert_int_equal(stats.claims_rejected, 0);

    const claim_t *a = c.claims[0];
    assert_string_equal(a->claim_id, "RB-7001");
    assert_string_equal(a->payer_id, "ACMEHP");        /* the bundled Organization's identifier */
    assert_string_equal(a->billing_npi, "1456789019"); /* resolved through urn:uuid */
    assert_string_equal(a->rendering_npi, "1567890128");
    assert_string_equal(a->member_id, "ACM100555001");
    assert_int_equal(a->patient_birth_date, s_day(1958, 2, 28));
    assert_int_equal(a->patient_sex, CLAIM_SEX_MALE);
    assert_string_equal(a->place_of_service, "11");
    assert_int_equal(a->total_charge_cents, 16450);
    assert_int_equal(a->diagnosis_count, 1);
    assert_string_equal(a->diagnoses[0], "S83511A");
    assert_int_equal(a->line_count, 2);
    s_assert_line(&a->lines[0], "97110", "", 3000, 12600, s_day(2026, 1, 8), s_day(2026, 1, 8));
    assert_string_equal(a->lines[0].modifiers[0], "GP");
    /* no net: unitPrice 38.5 x quantity 1 */
    s_assert_line(&a->lines[1], "97140", "", 1000, 3850, s_day(2026, 1, 8), s_day(2026, 1, 8));

    const claim_t *b = c.claims[1];
    assert_string_equal(b->claim_id, "RB-7002");
    assert_string_equal(b->rendering_npi, "");
    assert_string_equal(b->member_id, "ACM100555002"); /* focal Coverage's MB identifier */
    assert_int_equal(b->patient_birth_date, s_day(2019, 11, 3)); /* "Patient/p2" */
    assert_int_equal(b->patient_sex, CLAIM_SEX_UNKNOWN);
    assert_string_equal(b->place_of_service, "02");
    assert_int_equal(b->total_charge_cents, 9800); /* no total: the sum */
    assert_string_equal(b->diagnoses[0], "J069");
    /* a period given as dateTimes keeps the dates */
    s_assert_line(&b->lines[0], "99213", "", 1000, 9800, s_day(2026, 1, 7), s_day(2026, 1, 7));
    s_free(&c);
}

static void test_fhir_reads_an_institutional_claim_with_revenue_codes_and_ndc(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_file("claim-institutional.json", &c, NULL), SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 1);
    const claim_t *claim = c.claims[0];
    assert_int_equal(claim->kind, CLAIM_KIND_INSTITUTIONAL);
    assert_int_equal(claim->frequency, CLAIM_FREQUENCY_ORIGINAL);
    assert_string_equal(claim->bill_type, "131"); /* "0131" without its leading zero */
    assert_string_equal(claim->place_of_service, "");
    assert_string_equal(claim->claim_id, "SMH-OP-3300");
    assert_string_equal(claim->payer_id, "MEDIGAP01");
    assert_string_equal(claim->billing_npi, "1678901236"); /* the reference's identifier */
    assert_string_equal(claim->member_id, "MG-4410-0093"); /* coverage's logical identifier */
    assert_int_equal(claim->patient_birth_date, s_day(1949, 12, 31));
    assert_int_equal(claim->patient_sex, CLAIM_SEX_UNKNOWN); /* "other" */
    assert_int_equal(claim->total_charge_cents, 181457);
    assert_int_equal(claim->diagnosis_count, 3);
    assert_string_equal(claim->diagnoses[0], "R079");
    assert_string_equal(claim->diagnoses[1], "I10");
    assert_string_equal(claim->diagnoses[2], "Z7901");
    assert_int_equal(claim->line_count, 3);
    s_assert_line(&claim->lines[0], "G0378", "0762", 26500, 159000, s_day(2026, 2, 2),
                  s_day(2026, 2, 4));
    /* a data-absent productOrService leaves only the revenue code */
    s_assert_line(&claim->lines[1], "", "0300", 4000, 21240, s_day(2026, 2, 2), s_day(2026, 2, 2));
    assert_int_equal(claim->lines[1].diagnosis_pointers[1], 2);
    s_assert_line(&claim->lines[2], "J1644", "0636", 1500, 1217, s_day(2026, 2, 3),
                  s_day(2026, 2, 3));
    assert_string_equal(claim->lines[2].ndc, "63323004701"); /* 5-3-2 padded to 5-4-2 */
    assert_int_equal(claim->lines[2].diagnosis_pointers[0], 3);
    s_free(&c);
}

static void test_fhir_reads_a_prior_related_claim_as_a_replacement(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_file("claim-replacement.json", &c, NULL), SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 1);
    assert_string_equal(c.claims[0]->claim_id, "LFM-2026-1001-R1");
    assert_int_equal(c.claims[0]->frequency, CLAIM_FREQUENCY_REPLACEMENT);
    assert_string_equal(c.claims[0]->original_claim_number, "ICN-2026-0004471");
    assert_int_equal(c.claims[0]->patient_birth_date, DATE_NONE); /* server reference */
    assert_int_equal(c.claims[0]->patient_sex, CLAIM_SEX_UNKNOWN);
    assert_string_equal(c.claims[0]->member_id, "ACM100234501");
    s_free(&c);
}

static void test_fhir_reads_a_cancelled_claim_with_a_prior_claim_as_a_void(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_file("claim-void.json", &c, NULL), SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 1);
    assert_int_equal(c.claims[0]->frequency, CLAIM_FREQUENCY_VOID);
    assert_string_equal(c.claims[0]->original_claim_number, "ICN-2026-0004471");
    s_free(&c);
}

/* ------------------------------------------------------------------------
 * Malformed input: the exact error a person reads
 * ------------------------------------------------------------------------ */

typedef struct {
    const char *file;
    fhir_problem_t problem;
    const char *claim_id;
    const char *text;
} expected_problem_t;

static const expected_problem_t s_malformed[] = {
    {"bad-net-three-decimals.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-net-three-decimals.json:31:24: item[0].net.value: expected an amount with at most two "
     "decimals (found 132.005)"},
    {"bad-quantity.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-quantity.json:30:29: item[0].quantity.value: expected a quantity with at most three "
     "decimals (found 1.2345)"},
    {"bad-total-mismatch.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-total-mismatch.json:34:22: total.value: 130.00 is not the sum of the item nets 132.00"},
    {"bad-currency.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-currency.json:31:44: item[0].net.currency: expected \"USD\" (found \"EUR\")"},
    {"bad-status-draft.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-status-draft.json:4:13: status: \"draft\" is not accepted; expected \"active\" (or "
     "\"cancelled\" with a prior claim in related, to void it)"},
    {"bad-cancelled-without-related.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-cancelled-without-related.json:4:13: status: \"cancelled\" voids a claim only with a "
     "related[] entry whose relationship is prior, naming the claim voided"},
    {"bad-use-preauthorization.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-use-preauthorization.json:6:10: use: \"preauthorization\" is not accepted; expected "
     "\"claim\""},
    {"bad-no-npi.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-no-npi.json:10:15: provider: no NPI; expected an identifier with system "
     "http://hl7.org/fhir/sid/us-npi"},
    {"bad-icd10.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-icd10.json:19:117: diagnosis[0].diagnosisCodeableConcept: \"M545.0\" is not an "
     "ICD-10-CM code"},
    {"bad-diagnosis-sequence.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-diagnosis-sequence.json:27:29: item[0].diagnosisSequence[0]: no diagnosis has "
     "sequence 2"},
    {"bad-member-missing.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-member-missing.json:22:5: insurance[0].coverage: no member id; expected "
     "Coverage.subscriberId, a Coverage identifier, or a Patient identifier of type MB"},
    {"bad-validation-npi-digits.json", FHIR_CLAIM_REJECTED, "LFM-2026-1001-R1",
     "bad-validation-npi-digits.json:1:1: billing_npi: \"12345\" is not ten digits"},
    {"bad-syntax.json", FHIR_DOCUMENT_ERROR, "",
     "bad-syntax.json:10:3: invalid JSON: string or '}' expected near end of file"},
    {"bad-resource-type.json", FHIR_DOCUMENT_ERROR, "",
     "bad-resource-type.json:2:19: resourceType: \"Patient\" is not read here; expected Claim "
     "or Bundle"},
    {"bad-bundle-type.json", FHIR_DOCUMENT_ERROR, "",
     "bad-bundle-type.json:4:11: type: expected a Bundle of type collection, batch or "
     "transaction"},
};

static void test_fhir_reports_each_malformed_fixture_with_its_exact_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_malformed / sizeof s_malformed[0]; i++) {
        const expected_problem_t *want = &s_malformed[i];
        collected_t c = {0};
        fhir_claim_stats_t stats;
        assert_int_equal(s_read_file(want->file, &c, &stats), SETTLE_OK);
        assert_int_equal(c.claim_count, 0);
        assert_int_equal(c.problem_count, 1);
        assert_int_equal(c.problems[0].problem, want->problem);
        assert_string_equal(c.problems[0].claim_id, want->claim_id);
        assert_string_equal(c.problems[0].text, want->text);
        assert_int_equal(stats.claims_rejected + stats.document_errors, 1);
        s_free(&c);
    }
}

static void test_fhir_bad_claim_in_a_bundle_does_not_stop_the_good_ones(void **state)
{
    (void)state;
    collected_t c = {0};
    fhir_claim_stats_t stats;
    assert_int_equal(s_read_file("bundle-with-bad-claim.json", &c, &stats), SETTLE_OK);
    assert_int_equal(c.claim_count, 2);
    assert_string_equal(c.claims[0]->claim_id, "RB-7001");
    assert_string_equal(c.claims[1]->claim_id, "RB-7002");
    assert_int_equal(c.claims[1]->total_charge_cents, 9800);
    assert_int_equal(c.problem_count, 2);
    assert_int_equal(c.problems[0].problem, FHIR_CLAIM_REJECTED);
    assert_string_equal(c.problems[0].claim_id, "RB-7099");
    assert_string_equal(c.problems[0].text,
                        "bundle-with-bad-claim.json:128:30: entry[6].resource.item[0].net.value: "
                        "expected an amount with at most two decimals (found 1.26e2)");
    assert_int_equal(c.problems[1].problem, FHIR_DOCUMENT_ERROR);
    assert_string_equal(c.problems[1].text, "bundle-with-bad-claim.json:133:5: entry[7].resource: "
                                            "expected a resource with a resourceType");
    assert_int_equal(stats.entries, 10);
    assert_int_equal(stats.claims_delivered, 2);
    assert_int_equal(stats.claims_rejected, 1);
    assert_int_equal(stats.document_errors, 1);
    s_free(&c);
}

/* ------------------------------------------------------------------------
 * Small inputs: rules one at a time
 * ------------------------------------------------------------------------ */

/* A minimal valid Claim with ITEM spliced in as its one item and TOTAL after. */
#define CLAIM_HEAD                                                                                 \
    "{\"resourceType\":\"Claim\",\"identifier\":[{\"value\":\"C1\"}],\"status\":\"active\","       \
    "\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/claim-type\","      \
    "\"code\":\"professional\"}]},\"use\":\"claim\",\"patient\":{\"reference\":\"Patient/1\"},"    \
    "\"insurer\":{\"identifier\":{\"value\":\"ACMEHP\"}},\"provider\":{\"identifier\":{"           \
    "\"system\":\"http://hl7.org/fhir/sid/us-npi\",\"value\":\"1234567893\"}},"                    \
    "\"insurance\":[{\"sequence\":1,\"focal\":true,\"coverage\":{\"identifier\":{\"value\":"       \
    "\"M1\"}}}],\"item\":[{\"sequence\":1,\"productOrService\":{\"coding\":[{\"system\":"          \
    "\"http://www.ama-assn.org/go/cpt\",\"code\":\"99213\"}]},\"servicedDate\":\"2026-01-02\","

static int s_read_one(const char *text, collected_t *c)
{
    return s_read_text(text, strlen(text), "in.json", c, NULL);
}

static void test_fhir_amounts_come_from_the_digits_not_from_a_double(void **state)
{
    (void)state;
    /* 0.29 as a double is 0.28999...; truncating x100 would give 28 cents */
    collected_t c = {0};
    assert_int_equal(s_read_one(CLAIM_HEAD "\"quantity\":{\"value\":0.001},\"net\":{\"value\":"
                                           "0.29}}],\"total\":{\"value\":0.29}}",
                                &c),
                     SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 1);
    assert_int_equal(c.claims[0]->lines[0].charge_cents, 29);
    assert_int_equal(c.claims[0]->lines[0].units_milli, 1);
    assert_int_equal(c.claims[0]->total_charge_cents, 29);
    s_free(&c);

    /* unitPrice x quantity must come to whole cents when net is absent */
    assert_int_equal(s_read_one(CLAIM_HEAD "\"quantity\":{\"value\":1.5},\"unitPrice\":{"
                                           "\"value\":0.05}}]}",
                                &c),
                     SETTLE_OK);
    assert_int_equal(c.claim_count, 0);
    assert_string_equal(c.problems[0].text,
                        "in.json:1:453: item[0].net: missing, and unitPrice x quantity is not a "
                        "whole number of cents");
    s_free(&c);

    /* an amount written as a string is not a number */
    assert_int_equal(s_read_one(CLAIM_HEAD "\"net\":{\"value\":\"10.00\"}}]}", &c), SETTLE_OK);
    assert_string_equal(c.problems[0].text, "in.json:1:601: item[0].net.value: expected a number");
    s_free(&c);
}

static void test_fhir_refuses_a_modifier_extension_it_does_not_understand(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_one(CLAIM_HEAD "\"net\":{\"value\":1},\"modifierExtension\":[{"
                                           "\"url\":\"http://x\",\"valueBoolean\":true}]}]}",
                                &c),
                     SETTLE_OK);
    assert_int_equal(c.claim_count, 0);
    assert_string_equal(c.problems[0].text,
                        "in.json:1:453: item[0].modifierExtension: not understood, so the item "
                        "cannot be read");
    s_free(&c);
}

static void test_fhir_names_the_patient_entry_when_the_patient_is_wrong(void **state)
{
    (void)state;
    collected_t c = {0};
    /* the Claim's "Patient/1" names the first entry by type and id */
    assert_int_equal(
        s_read_one("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[\n"
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"1\",\"gender\":\"F\"}},\n"
                   "{\"resource\":" CLAIM_HEAD "\"net\":{\"value\":1}}]}}]}",
                   &c),
        SETTLE_OK);
    assert_int_equal(c.claim_count, 0);
    assert_int_equal(c.problem_count, 1);
    assert_string_equal(c.problems[0].claim_id, "C1");
    assert_string_equal(c.problems[0].text,
                        "in.json:2:57: entry[0].resource.gender: \"F\" is not a gender; expected "
                        "female, male, other or unknown");
    s_free(&c);
}

/* A bundled Patient with CLAIM_HEAD's Claim after it; patient is the
 * Patient's JSON after its id. */
static int s_read_with_patient(const char *patient, collected_t *c)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[\n"
             "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"1\",%s}},\n"
             "{\"resource\":%s\"net\":{\"value\":1}}]}}]}",
             patient, CLAIM_HEAD);
    return s_read_one(text, c);
}

/* The official name and the home address win over the first of each;
 * given[1] is the middle name, given[2] and line[2] are read past. */
static void test_fhir_reads_the_patients_official_name_and_home_address(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_with_patient(
                         "\"name\":[{\"use\":\"usual\",\"given\":[\"Jim\"]},{\"use\":\"official\","
                         "\"family\":\"Okafor\",\"given\":[\"James\",\"Chidi\",\"Emeka\"]}],"
                         "\"address\":[{\"use\":\"work\",\"city\":\"Elsewhere\"},{\"use\":\"home\","
                         "\"line\":[\"12 Main St\",\"Apt 4\",\"c/o Ada\"],\"city\":\"Springfield\","
                         "\"state\":\"IL\",\"postalCode\":\"62701-1234\"}]",
                         &c),
                     SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 1);
    const claim_patient_t *p = &c.claims[0]->patient;
    assert_string_equal(p->last_name, "Okafor");
    assert_string_equal(p->first_name, "James");
    assert_string_equal(p->middle_name, "Chidi");
    assert_string_equal(p->address_1, "12 Main St");
    assert_string_equal(p->address_2, "Apt 4");
    assert_string_equal(p->city, "Springfield");
    assert_string_equal(p->state, "IL");
    assert_string_equal(p->postal_code, "62701-1234");
    s_free(&c);
    /* without a use, the first of each */
    assert_int_equal(s_read_with_patient("\"name\":[{\"family\":\"A\"},{\"family\":\"B\"}],"
                                         "\"address\":[{\"city\":\"C\"},{\"city\":\"D\"}]",
                                         &c),
                     SETTLE_OK);
    assert_string_equal(c.claims[0]->patient.last_name, "A");
    assert_string_equal(c.claims[0]->patient.city, "C");
    s_free(&c);
}

/* Each refused name or address value, with its path in the Bundle. */
static void test_fhir_refuses_a_bad_patient_name_or_address_naming_its_path(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"\"address\":[{\"state\":\"Illinois\"}]",
         "in.json:2:68: entry[0].resource.address[0].state: \"Illinois\" is longer than 2 "
         "characters"},
        {"\"name\":[{\"given\":[\"Ana\",7]}]",
         "in.json:2:72: entry[0].resource.name[0].given[1]: expected a string"},
        {"\"name\":[\"Ana\"]",
         "in.json:2:56: entry[0].resource.name[0]: expected a HumanName object"},
        {"\"address\":{\"city\":\"C\"}",
         "in.json:2:58: entry[0].resource.address: expected an array"},
        {"\"name\":[{\"family\":\""
         "0123456789012345678901234567890123456789"
         "012345678901234567890\"}]",
         "in.json:2:66: entry[0].resource.name[0].family: "
         "\"0123456789012345678901234567890123456789\" "
         "is longer than 60 characters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        collected_t c = {0};
        assert_int_equal(s_read_with_patient(cases[i][0], &c), SETTLE_OK);
        assert_int_equal(c.claim_count, 0);
        assert_int_equal(c.problem_count, 1);
        assert_string_equal(c.problems[0].text, cases[i][1]);
        s_free(&c);
    }
}

/* Found by fuzz_fhir_claim: a bad place of service followed by modifiers
 * read the modifier list from an uninitialized pointer. */
static void test_fhir_bad_location_before_modifiers_is_reported_not_crashed(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_one(CLAIM_HEAD "\"locationCodeableConcept\":{\"coding\":[{\"code\":"
                                           "\"h11\"}]},\"modifier\":[{\"coding\":[{\"code\":"
                                           "\"25\"}]}],\"net\":{\"value\":1}}]}",
                                &c),
                     SETTLE_OK);
    assert_int_equal(c.claim_count, 0);
    assert_int_equal(c.problem_count, 1);
    assert_string_equal(c.problems[0].text,
                        "in.json:1:631: item[0].locationCodeableConcept: \"h11\" is not 2 digits");
    s_free(&c);
}

static void test_fhir_stops_when_a_callback_says_so(void **state)
{
    (void)state;
    collected_t c = {.stop_after = 1};
    fhir_claim_stats_t stats;
    assert_int_equal(s_read_file("bundle-two-claims.json", &c, &stats), 42);
    assert_int_equal(c.claim_count, 1);
    assert_int_equal(stats.claims_delivered, 1);
    s_free(&c);
}

static void test_fhir_empty_and_non_object_input_is_a_document_error(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_text("", 0, "empty.json", &c, NULL), SETTLE_OK);
    assert_int_equal(c.problem_count, 1);
    assert_int_equal(c.problems[0].problem, FHIR_DOCUMENT_ERROR);
    s_free(&c);
    assert_int_equal(s_read_one("[1, 2.50]", &c), SETTLE_OK);
    assert_string_equal(c.problems[0].text,
                        "in.json:1:1: expected a FHIR resource (a JSON object)");
    s_free(&c);
    assert_int_equal(
        s_read_one("{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[]}", &c), SETTLE_OK);
    assert_string_equal(c.problems[0].text, "in.json:1:49: entry: no Claim in the Bundle");
    s_free(&c);
}

/* ------------------------------------------------------------------------
 * The exact-number document
 * ------------------------------------------------------------------------ */

static void test_fhir_decimal_scaled_is_exact_and_strict(void **state)
{
    (void)state;
    int64_t value = -1;
    assert_int_equal(fhir_decimal_scaled("125.1", 5, 2, &value), SETTLE_OK);
    assert_int_equal(value, 12510);
    assert_int_equal(fhir_decimal_scaled("0.29", 4, 2, &value), SETTLE_OK);
    assert_int_equal(value, 29);
    assert_int_equal(fhir_decimal_scaled("-0.05", 5, 2, &value), SETTLE_OK);
    assert_int_equal(value, -5);
    assert_int_equal(fhir_decimal_scaled("1.5", 3, 3, &value), SETTLE_OK);
    assert_int_equal(value, 1500);
    assert_int_equal(fhir_decimal_scaled("7", 1, 0, &value), SETTLE_OK);
    assert_int_equal(value, 7);
    assert_int_equal(fhir_decimal_scaled("92233720368547758.07", 20, 2, &value), SETTLE_OK);
    assert_int_equal(value, INT64_MAX);
    assert_int_equal(fhir_decimal_scaled("-92233720368547758.08", 21, 2, &value), SETTLE_OK);
    assert_true(value == INT64_MIN);
    value = 99;
    assert_int_equal(fhir_decimal_scaled("92233720368547758.08", 20, 2, &value),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(fhir_decimal_scaled("99999999999999999999999", 23, 2, &value),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(fhir_decimal_scaled("1.234", 5, 2, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(fhir_decimal_scaled("1e2", 3, 2, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(fhir_decimal_scaled("12.", 3, 2, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(fhir_decimal_scaled("-", 1, 2, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(fhir_decimal_scaled("", 0, 2, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(fhir_decimal_scaled("+1", 2, 2, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(fhir_decimal_scaled("1.2.3", 5, 3, &value), SETTLE_ERR_SYNTAX);
    assert_int_equal(value, 99); /* written only on success */
}

static void test_fhir_json_keeps_number_text_and_positions_in_a_large_object(void **state)
{
    (void)state;
    /* enough members to make jansson grow its table: order must survive */
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\n\"k%d\":%d.%02d", i ? "," : "",
                              (i * 7919) % 1000, i, i % 100);
    n += (size_t)snprintf(text + n, sizeof text - n, "}");
    fhir_json_t *document = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(fhir_json_load(text, n, &document, &error), SETTLE_OK);
    for (int i = 0; i < 300; i++) {
        char key[16], want[16];
        snprintf(key, sizeof key, "k%d", (i * 7919) % 1000);
        int length = snprintf(want, sizeof want, "%d.%02d", i, i % 100);
        const json_t *value = json_object_get(fhir_json_root(document), key);
        const char *found;
        size_t found_length;
        uint32_t line, column;
        assert_true(fhir_json_number_text(document, value, &found, &found_length));
        assert_int_equal(found_length, (size_t)length);
        assert_memory_equal(found, want, found_length);
        assert_true(fhir_json_position(document, value, &line, &column));
        assert_int_equal(line, (uint32_t)i + 2);
    }
    assert_false(fhir_json_number_text(document, fhir_json_root(document), &(const char *){0},
                                       &(size_t){0}));
    fhir_json_destroy(&document);
    fhir_json_destroy(&document); /* safe twice */
    assert_null(document);
}

/* ------------------------------------------------------------------------
 * Allocation failure
 * ------------------------------------------------------------------------ */

/*
 * jansson keeps its own allocator here: it reports some of its allocation
 * failures as syntax errors ("invalid JSON: "), which the reader can only
 * pass on as a document error.  What the reader itself allocates (the
 * document's map, the claim and its lines) is rigged to fail, each
 * allocation in turn, and every failure must come back as
 * SETTLE_ERR_NOMEM with nothing reported and nothing leaked.
 */
static void test_fhir_reports_every_allocation_failure_and_leaks_nothing(void **state)
{
    (void)state;
    size_t length;
    char *text = s_load("bundle-two-claims.json", &length);
    fhir_claim_callbacks_t callbacks = {NULL, s_keep_problem};
    long live = settle_alloc_live();
    long before = settle_alloc_attempts();
    collected_t c = {0};
    assert_int_equal(fhir_claim_read(text, length, "in.json", &callbacks, &c, NULL, NULL),
                     SETTLE_OK);
    long attempts = settle_alloc_attempts() - before;
    assert_true(attempts >= 3); /* the map, the claim, its lines */
    assert_int_equal(settle_alloc_live(), live);
    for (long fail_at = 0; fail_at < attempts; fail_at++) {
        settle_alloc_fail_after(fail_at);
        int rc = fhir_claim_read(text, length, "in.json", &callbacks, &c, NULL, NULL);
        settle_alloc_fail_after(-1);
        assert_int_equal(rc, SETTLE_ERR_NOMEM);
        assert_int_equal(c.problem_count, 0);
        assert_int_equal(settle_alloc_live(), live);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_reads_a_professional_claim_with_contained_resources),
        cmocka_unit_test(test_fhir_reads_a_bundle_with_patients_coverage_and_two_claims),
        cmocka_unit_test(test_fhir_reads_an_institutional_claim_with_revenue_codes_and_ndc),
        cmocka_unit_test(test_fhir_reads_a_prior_related_claim_as_a_replacement),
        cmocka_unit_test(test_fhir_reads_a_cancelled_claim_with_a_prior_claim_as_a_void),
        cmocka_unit_test(test_fhir_reports_each_malformed_fixture_with_its_exact_error),
        cmocka_unit_test(test_fhir_bad_claim_in_a_bundle_does_not_stop_the_good_ones),
        cmocka_unit_test(test_fhir_amounts_come_from_the_digits_not_from_a_double),
        cmocka_unit_test(test_fhir_refuses_a_modifier_extension_it_does_not_understand),
        cmocka_unit_test(test_fhir_names_the_patient_entry_when_the_patient_is_wrong),
        cmocka_unit_test(test_fhir_reads_the_patients_official_name_and_home_address),
        cmocka_unit_test(test_fhir_refuses_a_bad_patient_name_or_address_naming_its_path),
        cmocka_unit_test(test_fhir_bad_location_before_modifiers_is_reported_not_crashed),
        cmocka_unit_test(test_fhir_stops_when_a_callback_says_so),
        cmocka_unit_test(test_fhir_empty_and_non_object_input_is_a_document_error),
        cmocka_unit_test(test_fhir_decimal_scaled_is_exact_and_strict),
        cmocka_unit_test(test_fhir_json_keeps_number_text_and_positions_in_a_large_object),
        cmocka_unit_test(test_fhir_reports_every_allocation_failure_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
