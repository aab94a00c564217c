/*
 * test_x12_837.c - the X12 tokenizer and the 837P/837I reader: the public
 * imsweb samples (valid and malformed), settle's own fixtures, separators,
 * the creation date (BHT04), other payers' adjudication (loops 2320 and
 * 2430), envelope checks, truncation and allocation failure.
 *
 * Fixtures are found from this file's own path (CMake compiles it by its
 * absolute path): REPO/tests/unit/test_x12_837.c -> REPO/fixtures/x12/.
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
#include "settle/x12.h"

#define KEPT_MAX     8
#define PROBLEMS_MAX 16

typedef struct {
    x12_837_problem_t problem;
    char claim_id[CLAIM_ID_SIZE];
    settle_error_t error;
} problem_t;

typedef struct {
    claim_t *claims[KEPT_MAX];
    unsigned claim_count;
    int64_t total_cents;
    problem_t problems[PROBLEMS_MAX];
    unsigned problem_count;
    unsigned stop_after; /* 0: never stop */
} collected_t;

static int s_keep_claim(const claim_t *claim, void *context)
{
    collected_t *c = context;
    c->total_cents += claim->total_charge_cents;
    if (c->claim_count < KEPT_MAX) {
        claim_t *copy = claim_new();
        assert_non_null(copy);
        assert_int_equal(claim_copy(copy, claim), SETTLE_OK);
        c->claims[c->claim_count] = copy;
    }
    c->claim_count++;
    return c->stop_after && c->claim_count == c->stop_after ? 42 : 0;
}

static int s_keep_problem(x12_837_problem_t problem, const char *claim_id,
                          const settle_error_t *error, void *context)
{
    collected_t *c = context;
    assert_non_null(error);
    assert_true(error->message[0] != '\0'); /* every problem says why */
    if (c->problem_count < PROBLEMS_MAX) {
        problem_t *p = &c->problems[c->problem_count];
        p->problem = problem;
        snprintf(p->claim_id, sizeof p->claim_id, "%s", claim_id);
        p->error = *error;
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

static int s_read_text(const char *text, size_t length, bool skip_validation, collected_t *c,
                       x12_837_stats_t *stats)
{
    x12_837_callbacks_t callbacks = {s_keep_claim, s_keep_problem};
    x12_837_options_t options = {.skip_validation = skip_validation};
    return x12_837_read(text, length, "in.x12", &callbacks, c, &options, stats);
}

/* Reads a fixture into a buffer of exactly its size (no NUL after it). */
static char *s_load(const char *name, size_t *length_out)
{
    return test_fixture_load("x12", name, length_out);
}

static int s_read_file(const char *name, bool skip_validation, collected_t *c,
                       x12_837_stats_t *stats)
{
    size_t length;
    char *text = s_load(name, &length);
    int rc = s_read_text(text, length, skip_validation, c, stats);
    free(text);
    return rc;
}

static int32_t s_day(int year, int month, int day)
{
    int32_t days;
    assert_int_equal(date_from_ymd(year, month, day, &days), SETTLE_OK);
    return days;
}

static void s_assert_at(const problem_t *p, x12_837_problem_t problem, uint32_t segment,
                        const char *id, uint32_t element, int code)
{
    char line[1024];
    settle_error_format(&p->error, line, sizeof line);
    if (p->problem != problem || p->error.segment != segment ||
        strcmp(p->error.segment_id, id) != 0 || p->error.element != element ||
        (int)p->error.code != code)
        fail_msg("expected %s at segment %u (%s) element %u code %d, got: %s",
                 problem == X12_837_ENVELOPE_ERROR ? "envelope" : "claim", segment, id, element,
                 code, line);
}

/* ------------------------------------------------------------------------
 * The tokenizer
 * ------------------------------------------------------------------------ */

#define ISA_STARS                                                                                  \
    "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260101*1200*^*00501*"   \
    "000000101*0*T*:~"

static void test_x12_delimiters_come_from_the_isa_header(void **state)
{
    (void)state;
    x12_delimiters_t d;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(strlen(ISA_STARS), X12_ISA_LENGTH);
    assert_int_equal(x12_delimiters_from_isa(ISA_STARS, X12_ISA_LENGTH, &d, &error), SETTLE_OK);
    assert_int_equal(d.element, '*');
    assert_int_equal(d.component, ':');
    assert_int_equal(d.repetition, '^');
    assert_int_equal(d.segment, '~');

    char other[X12_ISA_LENGTH + 1];
    memcpy(other, ISA_STARS, sizeof other);
    for (size_t i = 0; i < X12_ISA_LENGTH; i++)
        if (other[i] == '*')
            other[i] = '|';
    other[82] = 'U'; /* the 4010 habit: no repetition separator */
    other[104] = '>';
    other[105] = '\n';
    assert_int_equal(x12_delimiters_from_isa(other, X12_ISA_LENGTH, &d, NULL), SETTLE_OK);
    assert_int_equal(d.element, '|');
    assert_int_equal(d.component, '>');
    assert_int_equal(d.repetition, '\0');
    assert_int_equal(d.segment, '\n');
}

static void test_x12_isa_errors_name_the_element_at_fault(void **state)
{
    (void)state;
    x12_delimiters_t d;
    settle_error_t error;
    /* ISA02 one space short, as in the imsweb bad-first-line sample */
    const char *short_isa02 =
        "ISA*00*         *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260101*1200*^*00501*"
        "000000101*0*T*:~GS*";
    settle_error_clear(&error);
    assert_int_equal(x12_delimiters_from_isa(short_isa02, strlen(short_isa02), &d, &error),
                     SETTLE_ERR_SYNTAX);
    assert_int_equal(error.element, 2);
    assert_string_equal(error.segment_id, "ISA");
    /* every prefix of a good header is truncated, never read past */
    for (size_t length = 0; length < X12_ISA_LENGTH; length++) {
        char *exact = malloc(length ? length : 1);
        memcpy(exact, ISA_STARS, length);
        settle_error_clear(&error);
        int rc = x12_delimiters_from_isa(exact, length, &d, &error);
        assert_true(rc == SETTLE_ERR_TRUNCATED || (length < 4 && rc == SETTLE_ERR_SYNTAX));
        free(exact);
    }
    /* a separator that is a letter cannot be told from data */
    char letter[X12_ISA_LENGTH + 1];
    memcpy(letter, ISA_STARS, sizeof letter);
    letter[104] = 'A';
    assert_int_equal(x12_delimiters_from_isa(letter, X12_ISA_LENGTH, &d, &error),
                     SETTLE_ERR_SYNTAX);
    assert_int_equal(error.element, 16);
}

static void test_x12_scanner_splits_segments_elements_and_components(void **state)
{
    (void)state;
    const char text[] = "CLM*A1*100***11:B:1~ \r\nHI*ABK:M545~bad*1~NM1";
    x12_delimiters_t d = {'*', ':', '^', '~'};
    x12_scanner_t scanner;
    x12_segment_t segment;
    x12_scanner_init(&scanner, text, sizeof text - 1, 0, &d);
    assert_int_equal(x12_scanner_next(&scanner, &segment), SETTLE_OK);
    assert_string_equal(segment.id, "CLM");
    assert_int_equal(segment.element_count, 5);
    assert_true(x12_span_is(x12_element(&segment, 2), "100"));
    assert_int_equal(x12_element(&segment, 3).length, 0);
    assert_int_equal(x12_element(&segment, 30).length, 0);
    assert_true(x12_span_is(x12_component(x12_element(&segment, 5), ':', 3), "1"));
    assert_int_equal(x12_component(x12_element(&segment, 5), ':', 4).length, 0);
    assert_true(x12_span_is(x12_component(x12_element(&segment, 1), ':', 1), "A1"));
    assert_int_equal(x12_scanner_next(&scanner, &segment), SETTLE_OK); /* after " \r\n" */
    assert_string_equal(segment.id, "HI");
    assert_int_equal(x12_scanner_next(&scanner, &segment), SETTLE_ERR_SYNTAX);
    assert_string_equal(segment.id, "");
    assert_int_equal(x12_scanner_next(&scanner, &segment), SETTLE_ERR_TRUNCATED);
    assert_string_equal(segment.id, "NM1");
    assert_int_equal(x12_scanner_next(&scanner, &segment), SETTLE_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------------------
 * The public samples
 * ------------------------------------------------------------------------ */

typedef struct {
    const char *file;
    unsigned interchanges, transactions, delivered, rejected, envelope_errors;
    int64_t total_cents;
} sample_t;

/*
 * Counted by hand (CLM segments) in each file.  Every imsweb sample states
 * SE01 = 25 whatever its real segment count, so each transaction also
 * yields one SE01 envelope error: the reader reports it, and the claims,
 * read before the trailer, have been delivered.  Their CLM02 of 500.00 is
 * not the sum of their line charges, so these are read without validation
 * (test_x12_837_validation_rejects_totals_that_are_not_the_line_sum).
 */
static const sample_t s_valid_samples[] = {
    {"x12_valid.txt", 1, 1, 2, 0, 1, 100000},
    {"x12_valid_different_separators.txt", 1, 1, 2, 0, 1, 100000},
    {"x12_no_errors.txt", 1, 1, 2, 0, 1, 100000},
    {"x12_ambiguous_loop.txt", 1, 1, 1, 0, 1, 50000},
    {"x12_writer_test.txt", 1, 1, 1, 0, 1, 50000},
    {"x223-test.txt", 1, 1, 1, 0, 1, 50000},
    {"x12_multiple_st.txt", 1, 2, 4, 0, 3, 200000}, /* + GE01 says 1 of 2 */
    {"x12_multiple_gs.txt", 1, 3, 6, 0, 4, 300000}, /* + IEA01 says 1 of 3 */
    {"x12_multiple_isa.txt", 2, 2, 4, 0, 2, 200000},
    {"x12_many_claims.txt", 1, 1, 820, 0, 1, 41000000},
    {"x12_multiple_transactions.txt", 312, 312, 624, 0, 312, 31200000},
    /* six claims, all with bad codes: NPI qualifier "X", a 7-digit NDC */
    {"x12_complex.txt", 1, 2, 0, 6, 3, 0},
    {"settle_837p_three_claims.txt", 1, 1, 2, 1, 0, 23075},
    {"settle_837p_pipes_crlf.txt", 1, 1, 2, 1, 0, 23075},
    {"settle_837i_full.txt", 1, 1, 1, 0, 0, 130050},
    {"settle_837p_cob.txt", 1, 1, 1, 0, 0, 30000},
};

static void test_x12_837_reads_every_valid_sample_with_its_claim_count_and_amounts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_valid_samples / sizeof s_valid_samples[0]; i++) {
        const sample_t *s = &s_valid_samples[i];
        collected_t c = {0};
        x12_837_stats_t stats;
        bool ours = strncmp(s->file, "settle_", 7) == 0;
        assert_int_equal(s_read_file(s->file, !ours, &c, &stats), SETTLE_OK);
        if (stats.interchanges != s->interchanges || stats.transactions != s->transactions ||
            stats.claims_delivered != s->delivered || stats.claims_rejected != s->rejected ||
            stats.envelope_errors != s->envelope_errors || c.total_cents != s->total_cents)
            fail_msg("%s: %u/%u/%u/%u/%u %lld", s->file, stats.interchanges, stats.transactions,
                     stats.claims_delivered, stats.claims_rejected, stats.envelope_errors,
                     (long long)c.total_cents);
        assert_int_equal(c.claim_count, s->delivered);
        for (unsigned p = 0; p < c.problem_count && p < PROBLEMS_MAX; p++)
            if (c.problems[p].problem == X12_837_ENVELOPE_ERROR && !ours &&
                c.problems[p].error.segment_id[0] == 'S')
                assert_int_equal(c.problems[p].error.element, 1); /* SE01 */
        s_free(&c);
    }
}

static void test_x12_837_validation_rejects_totals_that_are_not_the_line_sum(void **state)
{
    (void)state;
    collected_t c = {0};
    x12_837_stats_t stats;
    assert_int_equal(s_read_file("x12_valid.txt", false, &c, &stats), SETTLE_OK);
    assert_int_equal(c.claim_count, 0);
    assert_int_equal(c.problem_count, 3);
    s_assert_at(&c.problems[0], X12_837_CLAIM_REJECTED, 20, "CLM", 2, SETTLE_ERR_INVALID);
    assert_string_equal(c.problems[0].claim_id, "A37YH556");
    assert_non_null(strstr(c.problems[0].error.expected, "12.25"));
    s_assert_at(&c.problems[1], X12_837_CLAIM_REJECTED, 29, "CLM", 2, SETTLE_ERR_INVALID);
    assert_string_equal(c.problems[1].claim_id, "A37YH667");
    s_assert_at(&c.problems[2], X12_837_ENVELOPE_ERROR, 34, "SE", 1, SETTLE_ERR_CORRUPT);
    s_free(&c);
}

typedef struct {
    const char *file;
    x12_837_problem_t problem;
    uint32_t segment;
    const char *id;
    uint32_t element;
    int code;
    unsigned delivered, rejected;
} malformed_t;

static const malformed_t s_malformed[] = {
    {"x12_bad_first_line.txt", X12_837_ENVELOPE_ERROR, 1, "ISA", 2, SETTLE_ERR_SYNTAX, 0, 0},
    {"x12_no_isa_line.txt", X12_837_ENVELOPE_ERROR, 1, "GS", 0, SETTLE_ERR_MISSING, 0, 0},
    {"x12_bad_segment_identifier.txt", X12_837_ENVELOPE_ERROR, 4, "", 0, SETTLE_ERR_SYNTAX, 0, 0},
    {"x12_missing_elements.txt", X12_837_ENVELOPE_ERROR, 5, "NM1", 2, SETTLE_ERR_MISSING, 0, 0},
    {"x12_bad_valid_code.txt", X12_837_CLAIM_REJECTED, 7, "NM1", 1, SETTLE_ERR_SYNTAX, 0, 2},
    {"x12_segments_out_of_order.txt", X12_837_CLAIM_REJECTED, 10, "N4", 0, SETTLE_ERR_SYNTAX, 0, 2},
    {"x12_segment_errors.txt", X12_837_CLAIM_REJECTED, 8, "N4", 0, SETTLE_ERR_MISSING, 0, 1},
    {"x12_loop_errors1_exceeds_max_1_parent.txt", X12_837_CLAIM_REJECTED, 13, "NM1", 1,
     SETTLE_ERR_TOO_MANY, 0, 1},
    {"x12_loop_errors2_exceeds_max_repeats_multiple_parents.txt", X12_837_CLAIM_REJECTED, 32, "NM1",
     1, SETTLE_ERR_TOO_MANY, 1, 1},
    {"x12_loop_errors3_missing_loops.txt", X12_837_CLAIM_REJECTED, 6, "HL", 0, SETTLE_ERR_MISSING,
     0, 1},
    {"x12_missing_required_loop_in_one_repeat.txt", X12_837_CLAIM_REJECTED, 16, "HL", 0,
     SETTLE_ERR_MISSING, 1, 1},
    {"x12_missing_required_loops_mult_repeats.txt", X12_837_CLAIM_REJECTED, 31, "SV1", 0,
     SETTLE_ERR_MISSING, 3, 2},
    {"x12_277CA_accepted.txt", X12_837_ENVELOPE_ERROR, 2, "GS", 8, SETTLE_ERR_VERSION, 0, 0},
    {"x12_999_rejected.txt", X12_837_ENVELOPE_ERROR, 2, "GS", 8, SETTLE_ERR_VERSION, 0, 0},
};

static void test_x12_837_reports_each_malformed_sample_precisely(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_malformed / sizeof s_malformed[0]; i++) {
        const malformed_t *m = &s_malformed[i];
        collected_t c = {0};
        x12_837_stats_t stats;
        assert_int_equal(s_read_file(m->file, true, &c, &stats), SETTLE_OK);
        if (c.problem_count == 0)
            fail_msg("%s: no problem reported", m->file);
        s_assert_at(&c.problems[0], m->problem, m->segment, m->id, m->element, m->code);
        if (stats.claims_delivered != m->delivered || stats.claims_rejected != m->rejected)
            fail_msg("%s: %u delivered, %u rejected", m->file, stats.claims_delivered,
                     stats.claims_rejected);
        s_free(&c);
    }
}

/* ------------------------------------------------------------------------
 * settle's fixtures: field by field
 * ------------------------------------------------------------------------ */

static void test_x12_837_delivers_the_claims_around_a_bad_one(void **state)
{
    (void)state;
    collected_t c = {0};
    x12_837_stats_t stats;
    assert_int_equal(s_read_file("settle_837p_three_claims.txt", false, &c, &stats), SETTLE_OK);
    assert_int_equal(c.claim_count, 2);
    assert_string_equal(c.claims[0]->claim_id, "PCN001");
    assert_string_equal(c.claims[1]->claim_id, "PCN003");
    assert_int_equal(c.problem_count, 1);
    s_assert_at(&c.problems[0], X12_837_CLAIM_REJECTED, 32, "CLM", 2, SETTLE_ERR_SYNTAX);
    assert_string_equal(c.problems[0].claim_id, "PCN002");
    char line[1024];
    settle_error_format(&c.problems[0].error, line, sizeof line);
    assert_string_equal(line, "in.x12: segment 32 (CLM), element CLM02: bad amount \"12.345\"; "
                              "expected an amount like 125.50 (at most two decimals)");
    assert_int_equal(stats.envelope_errors, 0);
    s_free(&c);
}

static void test_x12_837_maps_a_professional_claim_field_by_field(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_file("settle_837p_three_claims.txt", false, &c, NULL), SETTLE_OK);
    const claim_t *a = c.claims[0];
    assert_int_equal(a->kind, CLAIM_KIND_PROFESSIONAL);
    assert_int_equal(a->frequency, 1);
    assert_int_equal(a->created, s_day(2026, 1, 1)); /* BHT04 */
    assert_string_equal(a->payer_id, "PAYER01");
    assert_string_equal(a->billing_npi, "1234567893");
    assert_string_equal(a->rendering_npi, "1245319599");
    assert_string_equal(a->member_id, "MEM001");
    assert_int_equal(a->patient_birth_date, s_day(1980, 2, 15));
    assert_int_equal(a->patient_sex, 'F');
    /* the subscriber is the patient: 2010BA's names and address, not the
     * billing provider's (100 MAIN ST) */
    assert_string_equal(a->patient.last_name, "DOE");
    assert_string_equal(a->patient.first_name, "JANE");
    assert_string_equal(a->patient.middle_name, "");
    assert_string_equal(a->patient.address_1, "1 ELM ST");
    assert_string_equal(a->patient.address_2, "");
    assert_string_equal(a->patient.city, "SPRINGFIELD");
    assert_string_equal(a->patient.state, "IL");
    assert_string_equal(a->patient.postal_code, "62701");
    assert_int_equal(a->phi_size, 0);
    assert_int_equal(a->lines[0].patient_age, CLAIM_AGE_NONE);
    assert_string_equal(a->prior_authorization, "AUTH777");
    assert_string_equal(a->original_claim_number, "");
    assert_string_equal(a->place_of_service, "11");
    assert_string_equal(a->bill_type, "");
    assert_int_equal(a->total_charge_cents, 15075);
    assert_int_equal(a->diagnosis_count, 2);
    assert_string_equal(a->diagnoses[0], "M545");
    assert_string_equal(a->diagnoses[1], "R51");
    assert_int_equal(a->line_count, 2);
    const claim_line_t *l1 = &a->lines[0], *l2 = &a->lines[1];
    assert_string_equal(l1->procedure_code, "99213");
    assert_string_equal(l1->modifiers[0], "25");
    assert_string_equal(l1->modifiers[1], "");
    assert_int_equal(l1->charge_cents, 10050);
    assert_int_equal(l1->units_milli, 1000);
    assert_string_equal(l1->place_of_service, "");
    assert_int_equal(l1->service_from, s_day(2026, 1, 5));
    assert_int_equal(l1->service_to, s_day(2026, 1, 5));
    assert_int_equal(l1->diagnosis_pointers[0], 1);
    assert_int_equal(l1->diagnosis_pointers[1], 2);
    assert_int_equal(l1->diagnosis_pointers[2], 0);
    assert_string_equal(l2->procedure_code, "97110");
    assert_string_equal(l2->modifiers[0], "GP");
    assert_string_equal(l2->modifiers[1], "59");
    assert_int_equal(l2->units_milli, 1500);
    assert_int_equal(l2->charge_cents, 5025);
    assert_string_equal(l2->place_of_service, "11");
    assert_int_equal(l2->service_from, s_day(2026, 1, 5));
    assert_int_equal(l2->service_to, s_day(2026, 1, 6));
    assert_int_equal(l2->diagnosis_pointers[0], 2);

    /* the patient loop (HL 23) overrides the subscriber's demographics */
    const claim_t *b = c.claims[1];
    assert_string_equal(b->member_id, "MEM002");
    assert_int_equal(b->patient_birth_date, s_day(2015, 6, 20));
    assert_int_equal(b->patient_sex, 'M');
    /* ... and its names (2010CA): JUNIOR, not the subscriber JOHN */
    assert_string_equal(b->patient.last_name, "DOE");
    assert_string_equal(b->patient.first_name, "JUNIOR");
    assert_string_equal(b->patient.address_1, "");
    assert_string_equal(b->patient.city, "");
    assert_int_equal(b->frequency, 7);
    assert_int_equal(b->created, s_day(2026, 1, 1)); /* every claim of the transaction */
    assert_string_equal(b->original_claim_number, "ORIG999");
    assert_string_equal(b->rendering_npi, "");
    assert_string_equal(b->diagnoses[0], "Z0000");
    s_free(&c);
}

static void test_x12_837_maps_an_institutional_claim_field_by_field(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_file("settle_837i_full.txt", false, &c, NULL), SETTLE_OK);
    assert_int_equal(c.claim_count, 1);
    assert_int_equal(c.problem_count, 0);
    const claim_t *a = c.claims[0];
    assert_int_equal(a->kind, CLAIM_KIND_INSTITUTIONAL);
    assert_string_equal(a->claim_id, "INST001");
    assert_int_equal(a->created, s_day(2026, 2, 1));
    assert_string_equal(a->bill_type, "137");
    assert_string_equal(a->place_of_service, "");
    assert_int_equal(a->frequency, 7);
    assert_string_equal(a->original_claim_number, "ORIGINAL42");
    assert_string_equal(a->member_id, "MEM100");
    assert_int_equal(a->patient_birth_date, s_day(1960, 7, 4));
    assert_int_equal(a->patient_sex, 'M');
    assert_int_equal(a->total_charge_cents, 130050);
    /* ABK first, then ABF in order; ABJ (admitting) is not a claim diagnosis */
    assert_int_equal(a->diagnosis_count, 3);
    assert_string_equal(a->diagnoses[0], "I10");
    assert_string_equal(a->diagnoses[1], "E119");
    assert_string_equal(a->diagnoses[2], "Z794");
    assert_int_equal(a->other_payer_count, 1);
    assert_int_equal(a->other_payers[0].responsibility, 'P');
    assert_string_equal(a->other_payers[0].payer_id, "OTHERPAYER");
    assert_int_equal(a->other_payers[0].paid_cents, 20000);
    assert_int_equal(a->line_count, 3);
    assert_string_equal(a->lines[0].revenue_code, "0450");
    assert_string_equal(a->lines[0].procedure_code, "99284");
    assert_string_equal(a->lines[0].modifiers[0], "25");
    assert_int_equal(a->lines[0].charge_cents, 100050);
    assert_int_equal(a->lines[0].service_from, s_day(2026, 1, 10));
    assert_string_equal(a->lines[1].revenue_code, "0250");
    assert_string_equal(a->lines[1].procedure_code, "");
    assert_string_equal(a->lines[1].ndc, "00071015523");
    assert_int_equal(a->lines[1].units_milli, 3000);
    /* a line without DTP*472 takes the statement period (DTP*434) */
    assert_int_equal(a->lines[2].service_from, s_day(2026, 1, 10));
    assert_int_equal(a->lines[2].service_to, s_day(2026, 1, 12));
    assert_int_equal(a->lines[2].units_milli, 2000);
    s_free(&c);
}

static void test_x12_837_reads_other_separators_and_terminators_the_same(void **state)
{
    (void)state;
    collected_t stars = {0}, pipes = {0};
    assert_int_equal(s_read_file("settle_837p_three_claims.txt", false, &stars, NULL), SETTLE_OK);
    assert_int_equal(s_read_file("settle_837p_pipes_crlf.txt", false, &pipes, NULL), SETTLE_OK);
    assert_int_equal(stars.claim_count, 2);
    assert_int_equal(pipes.claim_count, 2);
    for (unsigned i = 0; i < 2; i++)
        assert_true(claim_equal(stars.claims[i], pipes.claims[i]));
    s_free(&stars);
    s_free(&pipes);
    collected_t a = {0}, b = {0};
    assert_int_equal(s_read_file("x12_valid.txt", true, &a, NULL), SETTLE_OK);
    assert_int_equal(s_read_file("x12_valid_different_separators.txt", true, &b, NULL), SETTLE_OK);
    assert_int_equal(a.claim_count, 2);
    for (unsigned i = 0; i < 2; i++)
        assert_true(claim_equal(a.claims[i], b.claims[i]));
    /* HI*BK*8901*BF*87200*BF:5559: a bare qualifier takes the next element */
    assert_int_equal(a.claims[0]->diagnosis_count, 3);
    assert_string_equal(a.claims[0]->diagnoses[0], "8901");
    assert_string_equal(a.claims[0]->diagnoses[2], "5559");
    assert_int_equal(a.claims[1]->lines[0].diagnosis_pointers[2], 3);
    s_free(&a);
    s_free(&b);
}

/* ------------------------------------------------------------------------
 * Envelopes, truncation, stopping, memory
 * ------------------------------------------------------------------------ */

/* A fixture with the first occurrence of from replaced by to. */
static char *s_edited_file(const char *name, const char *from, const char *to, size_t *length_out)
{
    size_t length;
    char *text = s_load(name, &length);
    char *nul = malloc(length + 1);
    memcpy(nul, text, length);
    nul[length] = '\0';
    free(text);
    char *at = strstr(nul, from);
    assert_non_null(at);
    size_t out_length = length - strlen(from) + strlen(to);
    char *out = malloc(out_length);
    size_t head = (size_t)(at - nul);
    memcpy(out, nul, head);
    memcpy(out + head, to, strlen(to));
    memcpy(out + head + strlen(to), at + strlen(from), length - head - strlen(from));
    free(nul);
    *length_out = out_length;
    return out;
}

/* The three-claim fixture with one substring replaced. */
static char *s_edited(const char *from, const char *to, size_t *length_out)
{
    return s_edited_file("settle_837p_three_claims.txt", from, to, length_out);
}

static void s_expect_envelope(const char *from, const char *to, uint32_t segment, const char *id,
                              uint32_t element, unsigned delivered)
{
    size_t length;
    char *text = s_edited(from, to, &length);
    collected_t c = {0};
    x12_837_stats_t stats;
    assert_int_equal(s_read_text(text, length, false, &c, &stats), SETTLE_OK);
    free(text);
    unsigned i = 0;
    while (i < c.problem_count && c.problems[i].problem != X12_837_ENVELOPE_ERROR)
        i++;
    if (i == c.problem_count)
        fail_msg("%s -> %s: no envelope error", from, to);
    s_assert_at(&c.problems[i], X12_837_ENVELOPE_ERROR, segment, c.problems[i].error.segment_id,
                element, c.problems[i].error.code);
    assert_string_equal(c.problems[i].error.segment_id, id);
    assert_int_equal(stats.claims_delivered, delivered);
    s_free(&c);
}

/* The three-claim fixture with one edit: the problem of its first claim
 * (or level) as the user sees it. */
static void s_expect_claim_problem(const char *from, const char *to, const char *expected)
{
    size_t length;
    char *text = s_edited(from, to, &length);
    collected_t c = {0};
    assert_int_equal(s_read_text(text, length, false, &c, NULL), SETTLE_OK);
    free(text);
    assert_true(c.problem_count > 0);
    char line[1024];
    settle_error_format(&c.problems[0].error, line, sizeof line);
    assert_string_equal(line, expected);
    assert_int_equal(c.problems[0].problem, X12_837_CLAIM_REJECTED);
    s_free(&c);
}

/* The patient's names and address: all of NM1 03/04/05, N3 01/02 and N4
 * 01/02/03 are kept from the patient loop (2010CA) under HL 23, and
 * anything longer than the claim holds rejects the claims under it. */
static void test_x12_837_reads_the_patients_names_and_address_and_refuses_long_ones(void **state)
{
    (void)state;
    size_t length;
    char *text =
        s_edited("NM1*QC*1*DOE*JUNIOR~\n",
                 "NM1*QC*1*DOE*JUNIOR*Q~\nN3*5 OAK AVE*UNIT 2~\nN4*SALEM*OR*97301~\n", &length);
    collected_t c = {0};
    assert_int_equal(s_read_text(text, length, true, &c, NULL), SETTLE_OK);
    free(text);
    assert_int_equal(c.claim_count, 2); /* PCN002 has a bad CLM02 */
    const claim_patient_t *p = &c.claims[1]->patient;
    assert_string_equal(c.claims[1]->claim_id, "PCN003");
    assert_string_equal(p->middle_name, "Q");
    assert_string_equal(p->address_1, "5 OAK AVE");
    assert_string_equal(p->address_2, "UNIT 2");
    assert_string_equal(p->city, "SALEM");
    assert_string_equal(p->state, "OR");
    assert_string_equal(p->postal_code, "97301");
    s_free(&c);

    char long_name[80];
    memset(long_name, 'X', 61);
    snprintf(long_name + 61, sizeof long_name - 61, "*JANE****MI*MEM001");
    char edited[128];
    snprintf(edited, sizeof edited, "NM1*IL*1*%s", long_name);
    s_expect_claim_problem("NM1*IL*1*DOE*JANE****MI*MEM001", edited,
                           "in.x12: segment 13 (NM1), element NM103: last name "
                           "\"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\" is too long; expected "
                           "last name of at most 60 printable ASCII characters");
    s_expect_claim_problem("N4*SPRINGFIELD*IL*62701~\nDMG", "N4*SPRINGFIELD*ILL*62701~\nDMG",
                           "in.x12: segment 15 (N4), element N402: state code \"ILL\" is too "
                           "long; expected state code of at most 2 printable ASCII characters");
    s_expect_claim_problem("N3*1 ELM ST",
                           "N3*1 ELM ST*APARTMENT 1234567890123456789012345678901234567890123456",
                           "in.x12: segment 14 (N3), element N302: address "
                           "\"APARTMENT 123456789012345678901234567890\" is too long; expected "
                           "address of at most 55 printable ASCII characters");
    s_expect_claim_problem("N4*SPRINGFIELD*IL*62701~\nDMG",
                           "N4*SPRINGFIELD*IL*1234567890123456~\nDMG",
                           "in.x12: segment 15 (N4), element N403: postal code "
                           "\"1234567890123456\" is too long; expected postal code of at most 15 "
                           "printable ASCII characters");
}

static void test_x12_837_checks_control_numbers_and_counts(void **state)
{
    (void)state;
    s_expect_envelope("SE*52*0001", "SE*51*0001", 52, "SE", 1, 2);
    s_expect_envelope("SE*52*0001", "SE*52*0009", 52, "SE", 2, 2);
    s_expect_envelope("GE*1*101", "GE*2*101", 55, "GE", 1, 2);
    s_expect_envelope("GE*1*101", "GE*1*102", 55, "GE", 2, 2);
    s_expect_envelope("IEA*1*000000101", "IEA*1*000000102", 56, "IEA", 2, 2);
    s_expect_envelope("IEA*1*000000101", "IEA*2*000000101", 56, "IEA", 1, 2);
    /* a broken header stops only that transaction: nothing delivered */
    s_expect_envelope("ST*837*0001*005010X222A1", "ST*835*0001*005010X222A1", 1, "ST", 1, 0);
    s_expect_envelope("ST*837*0001*005010X222A1", "ST*837*0001*005010X223A2", 1, "ST", 3, 0);
    s_expect_envelope("HL*2*1*22*0", "HL*2*1*99*0", 11, "HL", 3, 0);
}

/* ------------------------------------------------------------------------
 * The creation date (BHT04) and other payers' adjudication (2320, 2430)
 * ------------------------------------------------------------------------ */

static void s_assert_cob(const claim_cob_t *cob, int kind, int payer, int line, const char *group,
                         const char *reason, int64_t amount_cents)
{
    assert_int_equal(cob->kind, kind);
    assert_int_equal(cob->payer, payer);
    assert_int_equal(cob->line, line);
    assert_string_equal(cob->group, group);
    assert_string_equal(cob->reason, reason);
    assert_int_equal(cob->amount_cents, amount_cents);
}

/* A secondary claim: the primary paid and adjusted at claim level (2320
 * CAS, quantities read past) and on each line (2430 SVD, CAS; DTP*573 and
 * AMT*EAF read past); a tertiary payer that has not adjudicated yet. */
static void test_x12_837_maps_other_payers_adjudication_field_by_field(void **state)
{
    (void)state;
    collected_t c = {0};
    assert_int_equal(s_read_file("settle_837p_cob.txt", false, &c, NULL), SETTLE_OK);
    assert_int_equal(c.problem_count, 0);
    assert_int_equal(c.claim_count, 1);
    const claim_t *a = c.claims[0];
    assert_string_equal(a->claim_id, "COB001");
    assert_string_equal(a->payer_id, "PAYER02");
    assert_int_equal(a->created, s_day(2026, 3, 14));
    assert_int_equal(a->other_payer_count, 2);
    assert_string_equal(a->other_payers[0].payer_id, "PRIMARY01");
    assert_int_equal(a->other_payers[0].responsibility, 'P');
    assert_int_equal(a->other_payers[0].paid_cents, 16050);
    assert_string_equal(a->other_payers[1].payer_id, "TERTIARY9");
    assert_int_equal(a->other_payers[1].responsibility, 'T');
    assert_int_equal(a->other_payers[1].paid_cents, 0);
    assert_int_equal(a->line_count, 2);
    assert_int_equal(a->cob_count, 9);
    const int adjustment = CLAIM_COB_ADJUSTMENT, paid = CLAIM_COB_LINE_PAID;
    s_assert_cob(&a->cob[0], adjustment, 1, 0, "CO", "45", 1200);
    s_assert_cob(&a->cob[1], adjustment, 1, 0, "PR", "1", 2500);
    s_assert_cob(&a->cob[2], adjustment, 1, 0, "PR", "2", 850);
    s_assert_cob(&a->cob[3], paid, 1, 1, "", "", 12000);
    s_assert_cob(&a->cob[4], adjustment, 1, 1, "CO", "45", 5000);
    s_assert_cob(&a->cob[5], adjustment, 1, 1, "PR", "1", 3000);
    s_assert_cob(&a->cob[6], paid, 1, 2, "", "", 6400);
    s_assert_cob(&a->cob[7], adjustment, 1, 2, "CO", "45", 2000);
    s_assert_cob(&a->cob[8], adjustment, 1, 2, "PR", "2", 1600);
    s_free(&c);
}

/* Reads the COB fixture with one edit and expects its one claim rejected
 * at segment, id, element with code. */
static void s_expect_cob_rejected(const char *from, const char *to, uint32_t segment,
                                  const char *id, uint32_t element, int code)
{
    size_t length;
    char *text = s_edited_file("settle_837p_cob.txt", from, to, &length);
    collected_t c = {0};
    x12_837_stats_t stats;
    assert_int_equal(s_read_text(text, length, false, &c, &stats), SETTLE_OK);
    free(text);
    if (c.problem_count == 0)
        fail_msg("%s -> %s: no problem", from, to);
    s_assert_at(&c.problems[0], X12_837_CLAIM_REJECTED, segment, id, element, code);
    assert_string_equal(c.problems[0].claim_id, "COB001");
    assert_int_equal(stats.claims_delivered, 0);
    s_free(&c);
}

static void test_x12_837_rejects_a_line_adjudication_for_an_unknown_payer(void **state)
{
    (void)state;
    size_t length;
    char *text = s_edited_file("settle_837p_cob.txt", "SVD*PRIMARY01*64", "SVD*NOBODY*64", &length);
    collected_t c = {0};
    x12_837_stats_t stats;
    assert_int_equal(s_read_text(text, length, false, &c, &stats), SETTLE_OK);
    free(text);
    assert_int_equal(stats.claims_delivered, 0);
    assert_int_equal(stats.claims_rejected, 1);
    assert_int_equal(c.problem_count, 1);
    char line[1024];
    settle_error_format(&c.problems[0].error, line, sizeof line);
    assert_string_equal(line, "in.x12: segment 41 (SVD), element SVD01: \"NOBODY\" is not the id "
                              "of any of the claim's other payers; expected the id of one of the "
                              "claim's other payers (loop 2330B NM109)");
    s_free(&c);
    /* two other payers with one id: SVD01 cannot tell them apart */
    s_expect_cob_rejected("PI*TERTIARY9", "PI*PRIMARY01", 33, "SVD", 1, SETTLE_ERR_INVALID);
}

static void test_x12_837_rejects_malformed_adjustments_with_the_element_named(void **state)
{
    (void)state;
    s_expect_cob_rejected("CAS*CO*45*12*1", "CAS*XX*45*12*1", 19, "CAS", 1, SETTLE_ERR_SYNTAX);
    s_expect_cob_rejected("CAS*CO*45*12*1", "CAS**45*12", 19, "CAS", 1, SETTLE_ERR_MISSING);
    s_expect_cob_rejected("CAS*CO*45*12*1", "CAS*CO", 19, "CAS", 2, SETTLE_ERR_MISSING);
    s_expect_cob_rejected("CAS*PR*1*25**2*8.5", "CAS*PR*1*25**2", 20, "CAS", 6, SETTLE_ERR_MISSING);
    s_expect_cob_rejected("CAS*PR*1*25**2*8.5", "CAS*PR*1*25***8.5", 20, "CAS", 5,
                          SETTLE_ERR_MISSING);
    s_expect_cob_rejected("CAS*PR*1*25**2*8.5", "CAS*PR*1*25**2*8.555", 20, "CAS", 6,
                          SETTLE_ERR_SYNTAX);
    s_expect_cob_rejected("CAS*PR*1*25**2*8.5", "CAS*PR*b1*25", 20, "CAS", 2, SETTLE_ERR_SYNTAX);
    s_expect_cob_rejected("CAS*PR*1*25**2*8.5", "CAS*PR*123456*25", 20, "CAS", 2,
                          SETTLE_ERR_TOO_LONG);
    /* seven triples: more than one CAS may carry */
    s_expect_cob_rejected("CAS*PR*1*25**2*8.5", "CAS*PR*1*1**2*1**3*1**4*1**5*1**6*1**7*1", 20,
                          "CAS", 20, SETTLE_ERR_TOO_MANY);
    /* a line adjustment without the SVD that names its payer */
    s_expect_cob_rejected("SVD*PRIMARY01*120*HC:99214**1~\n", "", 33, "CAS", 0, SETTLE_ERR_SYNTAX);
    /* an adjustment before any other payer's SBR */
    s_expect_cob_rejected("HI*ABK:E119*ABF:I10~\n", "HI*ABK:E119*ABF:I10~\nCAS*CO*45*1~\n", 18,
                          "CAS", 0, SETTLE_ERR_SYNTAX);
    s_expect_cob_rejected("HI*ABK:E119*ABF:I10~\n", "HI*ABK:E119*ABF:I10~\nSVD*PRIMARY01*1~\n", 18,
                          "SVD", 0, SETTLE_ERR_SYNTAX);
    s_expect_cob_rejected("SVD*PRIMARY01*64", "SVD**64", 41, "SVD", 1, SETTLE_ERR_MISSING);
    s_expect_cob_rejected("SVD*PRIMARY01*64", "SVD*PRIMARY01*6.4.", 41, "SVD", 2,
                          SETTLE_ERR_SYNTAX);
}

/* CLAIM_COB_MAX records at most: the one past it is an error, not dropped. */
static void
test_x12_837_rejects_a_claim_with_more_other_payer_records_than_it_can_hold(void **state)
{
    (void)state;
    const char *full = "CAS*CO*1*1**2*1**3*1**4*1**5*1**6*1~\n";
    unsigned segments = CLAIM_COB_MAX / 6 + 1; /* 667 segments, 4002 records */
    size_t size = strlen(full) * segments + 1, used = 0;
    char *many = malloc(size);
    assert_non_null(many);
    for (unsigned i = 0; i < segments; i++)
        used += (size_t)snprintf(many + used, size - used, "%s", full);
    size_t length;
    char *text = s_edited_file("settle_837p_cob.txt", "CAS*CO*45*12*1~\n", many, &length);
    free(many);
    collected_t c = {0};
    assert_int_equal(s_read_text(text, length, false, &c, NULL), SETTLE_OK);
    free(text);
    /* the 4001st record is the fifth of the 667th CAS (segment 18 + 667) */
    s_assert_at(&c.problems[0], X12_837_CLAIM_REJECTED, 18 + segments, "CAS", 14,
                SETTLE_ERR_TOO_MANY);
    assert_int_equal(c.claim_count, 0);
    s_free(&c);
}

/* A bad BHT04, or no BHT, rejects every claim of its transaction, each
 * with the BHT element (or the ST) named; the envelope itself is fine. */
static void test_x12_837_a_bad_creation_date_rejects_the_transactions_claims(void **state)
{
    (void)state;
    const char *edits[][2] = {{"BHT*0019*00*BATCH1*20260101", "BHT*0019*00*BATCH1*20260230"},
                              {"BHT*0019*00*BATCH1*20260101", "BHT*0019*00*BATCH1*2026011"},
                              {"BHT*0019*00*BATCH1*20260101", "BHT*0019*00*BATCH1*"}};
    const int codes[] = {SETTLE_ERR_RANGE, SETTLE_ERR_SYNTAX, SETTLE_ERR_MISSING};
    for (size_t i = 0; i < 3; i++) {
        size_t length;
        char *text = s_edited(edits[i][0], edits[i][1], &length);
        collected_t c = {0};
        x12_837_stats_t stats;
        assert_int_equal(s_read_text(text, length, false, &c, &stats), SETTLE_OK);
        free(text);
        assert_int_equal(stats.claims_delivered, 0);
        assert_int_equal(stats.claims_rejected, 3);
        assert_int_equal(stats.envelope_errors, 0);
        for (unsigned p = 0; p < 3; p++)
            s_assert_at(&c.problems[p], X12_837_CLAIM_REJECTED, 2, "BHT", 4, codes[i]);
        assert_string_equal(c.problems[2].claim_id, "PCN003");
        s_free(&c);
    }
    size_t length;
    char *text = s_edited("BHT*0019*00*BATCH1*20260101", "BHT*0019*00*BATCH1*20260230", &length);
    collected_t c = {0};
    assert_int_equal(s_read_text(text, length, false, &c, NULL), SETTLE_OK);
    free(text);
    char line[1024];
    settle_error_format(&c.problems[0].error, line, sizeof line);
    assert_string_equal(line, "in.x12: segment 2 (BHT), element BHT04: bad date \"20260230\"; "
                              "expected the transaction's creation date CCYYMMDD");
    s_free(&c);
    /* no BHT at all: BHT is required, and the claims would have no date */
    text = s_edited("BHT*0019*00*BATCH1*20260101*1200*CH~\n", "", &length);
    assert_int_equal(s_read_text(text, length, false, &c, NULL), SETTLE_OK);
    free(text);
    assert_int_equal(c.claim_count, 0);
    for (unsigned p = 0; p < 3; p++)
        s_assert_at(&c.problems[p], X12_837_CLAIM_REJECTED, 1, "ST", 0, SETTLE_ERR_MISSING);
    s_free(&c);
}

static void test_x12_837_never_reads_past_any_prefix_of_a_file(void **state)
{
    (void)state;
    size_t length;
    char *text = s_load("settle_837i_full.txt", &length);
    const char *trailers = strstr(text, "~\nGE*");
    assert_non_null(trailers);
    size_t se_end = (size_t)(trailers - text) + 1;
    for (size_t prefix = 0; prefix <= length; prefix++) {
        char *exact = malloc(prefix ? prefix : 1);
        memcpy(exact, text, prefix);
        collected_t c = {0};
        x12_837_stats_t stats;
        assert_int_equal(s_read_text(exact, prefix, false, &c, &stats), SETTLE_OK);
        /* a claim cut short is rejected, never delivered incomplete */
        assert_int_equal(stats.claims_delivered, prefix < se_end ? 0 : 1);
        if (prefix > 0 && prefix < length - 1)
            assert_true(stats.envelope_errors >= 1);
        s_free(&c);
        free(exact);
    }
    free(text);
}

static void test_x12_837_truncation_rejects_the_open_claim(void **state)
{
    (void)state;
    size_t length;
    char *text = s_load("settle_837p_three_claims.txt", &length);
    const char *cut = strstr(text, "LX*1~\nSV1*HC:99393");
    assert_non_null(cut);
    collected_t c = {0};
    x12_837_stats_t stats;
    assert_int_equal(s_read_text(text, (size_t)(cut - text), false, &c, &stats), SETTLE_OK);
    assert_int_equal(c.claim_count, 1);
    assert_int_equal(stats.claims_rejected, 2);
    assert_string_equal(c.problems[1].claim_id, "PCN003");
    assert_int_equal(c.problems[1].error.code, SETTLE_ERR_TRUNCATED);
    assert_int_equal(c.problems[2].problem, X12_837_ENVELOPE_ERROR);
    s_free(&c);
    free(text);
}

static void test_x12_837_a_callback_can_stop_the_reading(void **state)
{
    (void)state;
    collected_t c = {.stop_after = 1};
    assert_int_equal(s_read_file("x12_many_claims.txt", true, &c, NULL), 42);
    assert_int_equal(c.claim_count, 1);
    s_free(&c);
}

static void test_x12_837_reports_out_of_memory_and_leaks_nothing(void **state)
{
    (void)state;
    long live = settle_alloc_live();
    collected_t c = {0};
    settle_alloc_fail_after(0);
    int rc = s_read_file("settle_837i_full.txt", false, &c, NULL);
    settle_alloc_fail_after(-1);
    assert_int_equal(rc, SETTLE_ERR_NOMEM);
    assert_int_equal(c.claim_count, 0);
    /* the line array cannot grow: that claim is rejected, the reader goes on */
    settle_alloc_fail_after(1);
    rc = s_read_file("settle_837i_full.txt", false, &c, NULL);
    settle_alloc_fail_after(-1);
    assert_int_equal(rc, SETTLE_OK);
    assert_int_equal(c.claim_count, 0);
    assert_int_equal(c.problem_count, 1);
    assert_int_equal(c.problems[0].error.code, SETTLE_ERR_NOMEM);
    assert_int_equal(settle_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x12_delimiters_come_from_the_isa_header),
        cmocka_unit_test(test_x12_isa_errors_name_the_element_at_fault),
        cmocka_unit_test(test_x12_scanner_splits_segments_elements_and_components),
        cmocka_unit_test(test_x12_837_reads_every_valid_sample_with_its_claim_count_and_amounts),
        cmocka_unit_test(test_x12_837_validation_rejects_totals_that_are_not_the_line_sum),
        cmocka_unit_test(test_x12_837_reports_each_malformed_sample_precisely),
        cmocka_unit_test(test_x12_837_delivers_the_claims_around_a_bad_one),
        cmocka_unit_test(test_x12_837_maps_a_professional_claim_field_by_field),
        cmocka_unit_test(test_x12_837_maps_an_institutional_claim_field_by_field),
        cmocka_unit_test(test_x12_837_reads_other_separators_and_terminators_the_same),
        cmocka_unit_test(test_x12_837_reads_the_patients_names_and_address_and_refuses_long_ones),
        cmocka_unit_test(test_x12_837_checks_control_numbers_and_counts),
        cmocka_unit_test(test_x12_837_maps_other_payers_adjudication_field_by_field),
        cmocka_unit_test(test_x12_837_rejects_a_line_adjudication_for_an_unknown_payer),
        cmocka_unit_test(test_x12_837_rejects_malformed_adjustments_with_the_element_named),
        cmocka_unit_test(
            test_x12_837_rejects_a_claim_with_more_other_payer_records_than_it_can_hold),
        cmocka_unit_test(test_x12_837_a_bad_creation_date_rejects_the_transactions_claims),
        cmocka_unit_test(test_x12_837_never_reads_past_any_prefix_of_a_file),
        cmocka_unit_test(test_x12_837_truncation_rejects_the_open_claim),
        cmocka_unit_test(test_x12_837_a_callback_can_stop_the_reading),
        cmocka_unit_test(test_x12_837_reports_out_of_memory_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
