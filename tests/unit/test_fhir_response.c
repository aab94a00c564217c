/*
 * test_fhir_response.c - ClaimResponse, ExplanationOfBenefit and Bundle
 * JSON from a remittance: exact text against fixtures/remit/, decimals
 * written exactly from cents (past what a double holds), outcomes, the
 * refusal of an unbalanced remittance, and text that tries to forge the
 * decimal mark.
 *
 * The fixtures are read from the source tree, found from this file's path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/fhir_response.h"
#include "settle/remit.h"

#define TEXT(field, text) CLAIM_SET_TEXT((field), (text), strlen(text))

static int32_t s_day(int year, int month, int day)
{
    int32_t days = 0;
    assert_int_equal(date_from_ymd(year, month, day, &days), SETTLE_OK);
    return days;
}

/* One line: charge, allowed, patient shares and adjustments; paid follows. */
typedef struct {
    const char *code;
    const char *modifier;
    int64_t units_milli;
    int64_t charge_cents;
    int64_t allowed_cents;
    int64_t deductible_cents;
    int64_t copay_cents;
    int64_t coinsurance_cents;
    const char *adjustments[4][2];
    int64_t amounts[4];
    unsigned adjustment_count;
} line_spec_t;

static remit_claim_t *s_add_claim(remit_t *remit, const char *claim_id, interp_status_t status,
                                  const line_spec_t *specs, unsigned count)
{
    claim_t *claim = claim_new();
    interp_line_t lines[4];
    memset(lines, 0, sizeof lines);
    interp_decision_t decision = {.status = status, .line_count = count, .lines = lines};
    TEXT(claim->claim_id, claim_id);
    TEXT(decision.claim_id, claim_id);
    TEXT(claim->member_id, "M100");
    for (unsigned i = 0; i < count; i++) {
        const line_spec_t *spec = &specs[i];
        claim_line_t *in;
        interp_line_t *out = &lines[i];
        assert_int_equal(claim_add_line(claim, &in), SETTLE_OK);
        TEXT(in->procedure_code, spec->code);
        if (spec->modifier)
            TEXT(in->modifiers[0], spec->modifier);
        in->units_milli = spec->units_milli;
        in->charge_cents = spec->charge_cents;
        in->service_from = s_day(2026, 2, 10);
        in->service_to = s_day(2026, 2, 10 + i);
        *out = (interp_line_t){.line = i + 1,
                               .units_milli = spec->units_milli,
                               .units_milli_paid = spec->units_milli,
                               .billed_cents = spec->charge_cents,
                               .allowed_cents = spec->allowed_cents,
                               .deductible_cents = spec->deductible_cents,
                               .copay_cents = spec->copay_cents,
                               .coinsurance_cents = spec->coinsurance_cents,
                               .paid_cents = spec->charge_cents,
                               .adjustment_count = spec->adjustment_count};
        for (unsigned a = 0; a < spec->adjustment_count; a++) {
            TEXT(out->adjustments[a].group, spec->adjustments[a][0]);
            TEXT(out->adjustments[a].reason, spec->adjustments[a][1]);
            out->adjustments[a].amount_cents = spec->amounts[a];
            out->paid_cents -= spec->amounts[a];
        }
        decision.billed_cents += out->billed_cents;
        decision.allowed_cents += out->allowed_cents;
        decision.paid_cents += out->paid_cents;
    }
    remit_claim_t *entry = NULL;
    assert_int_equal(remit_add_claim(remit, claim, &decision, "PCN-1", &entry, NULL), SETTLE_OK);
    claim_destroy(&claim);
    return entry;
}

static const line_spec_t PAID_LINE = {.code = "99213",
                                      .modifier = "25",
                                      .units_milli = 1000,
                                      .charge_cents = 15000,
                                      .allowed_cents = 10000,
                                      .copay_cents = 2500,
                                      .adjustments = {{"CO", "45"}, {"PR", "3"}},
                                      .amounts = {5000, 2500},
                                      .adjustment_count = 2};

static const line_spec_t PARTLY_DENIED_LINE = {
    .code = "G0283",
    .units_milli = 1500,
    .charge_cents = 20000,
    .allowed_cents = 12000,
    .deductible_cents = 2000,
    .coinsurance_cents = 2000,
    .adjustments = {{"CO", "45"}, {"PR", "1"}, {"PR", "2"}},
    .amounts = {8000, 2000, 2000},
    .adjustment_count = 3};

static const line_spec_t DENIED_LINE = {.code = "99214",
                                        .units_milli = 1000,
                                        .charge_cents = 9000,
                                        .adjustments = {{"CO", "50"}},
                                        .amounts = {9000},
                                        .adjustment_count = 1};

static remit_t *s_small_remit(void)
{
    remit_t *remit = remit_new();
    TEXT(remit->payer_id, "ACMEHP");
    TEXT(remit->payer_name, "ACME HEALTH PLAN");
    TEXT(remit->payer_tax_id, "123456789");
    TEXT(remit->payee_name, "DOWNTOWN CLINIC");
    TEXT(remit->payee_npi, "1234567893");
    TEXT(remit->trace_number, "CHK10001");
    remit->payment_date = s_day(2026, 3, 5);
    remit->production_date = s_day(2026, 3, 2);
    line_spec_t first[2] = {PAID_LINE, PARTLY_DENIED_LINE};
    s_add_claim(remit, "C100", INTERP_STATUS_PARTIAL, first, 2);
    s_add_claim(remit, "C200", INTERP_STATUS_DENIED, &DENIED_LINE, 1);
    assert_int_equal(remit_add_plb(remit, "WO", "OVERPAY123", 3000), SETTLE_OK);
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    return remit;
}

/* The contents of fixtures/remit/NAME, NUL-terminated; the caller frees. */
static char *s_fixture(const char *name)
{
    const char *source = __FILE__;
    const char *tail = strstr(source, "tests/unit/test_fhir_response.c");
    assert_non_null(tail);
    char path[1024];
    snprintf(path, sizeof path, "%.*sfixtures/remit/%s", (int)(tail - source), source, name);
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot open %s", path);
    char *text = calloc(1, 1 << 16);
    size_t length = fread(text, 1, (1 << 16) - 1, file);
    fclose(file);
    assert_true(length > 0);
    return text;
}

/* Compares text + "\n" with the fixture; on a difference, writes text
 * next to the build so that it can be looked at (and copied, once right). */
static void s_assert_fixture(const char *text, const char *name)
{
    char *expected = s_fixture(name);
    size_t length = strlen(text);
    if (strncmp(expected, text, length) != 0 || strcmp(expected + length, "\n") != 0) {
        FILE *file = fopen(name, "wb");
        if (file) {
            fprintf(file, "%s\n", text);
            fclose(file);
        }
        free(expected);
        fail_msg("output differs from fixtures/remit/%s (written to ./%s)", name, name);
    }
    free(expected);
}

static void test_fhir_claim_response_matches_its_fixture(void **state)
{
    remit_t *remit = s_small_remit();
    char *text = NULL;
    assert_int_equal(fhir_claim_response_write(remit, 0, true, &text, NULL), SETTLE_OK);
    s_assert_fixture(text, "claim_response_partial.json");
    settle_free(text);
    remit_destroy(&remit);
}

static void test_fhir_eob_matches_its_fixture(void **state)
{
    remit_t *remit = s_small_remit();
    char *text = NULL;
    assert_int_equal(fhir_eob_write(remit, 0, true, &text, NULL), SETTLE_OK);
    s_assert_fixture(text, "eob_partial.json");
    settle_free(text);
    remit_destroy(&remit);
}

static void test_fhir_bundle_holds_one_claim_response_per_claim(void **state)
{
    remit_t *remit = s_small_remit();
    char *text = NULL;
    assert_int_equal(fhir_claim_response_bundle_write(remit, true, &text, NULL), SETTLE_OK);
    s_assert_fixture(text, "bundle.json");
    settle_free(text);
    /* Compact: the same numbers, no spaces, decimals bare. */
    assert_int_equal(fhir_claim_response_bundle_write(remit, false, &text, NULL), SETTLE_OK);
    assert_memory_equal(text, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[",
                        53);
    assert_non_null(strstr(text, "\"amount\":{\"value\":155.00,\"currency\":\"USD\"}"));
    assert_non_null(strstr(text, "\"outcome\":\"complete\",\"disposition\":\"denied\""));
    assert_null(strstr(text, "\\u0001"));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_fhir_decimals_are_exact_past_what_a_double_holds(void **state)
{
    remit_t *remit = remit_new();
    TEXT(remit->trace_number, "T");
    remit->payment_date = s_day(2026, 3, 5);
    /* 2^53 + 1 cents: a double would round it to ...992. */
    line_spec_t big = {.code = "99213",
                       .units_milli = 1,
                       .charge_cents = 9007199254740993,
                       .allowed_cents = 9007199254740993};
    line_spec_t negative = {
        .code = "99213", .units_milli = 2500, .charge_cents = -5, .allowed_cents = -5};
    s_add_claim(remit, "BIG", INTERP_STATUS_PAID, &big, 1);
    s_add_claim(remit, "NEG", INTERP_STATUS_PAID, &negative, 1);
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    char *text = NULL;
    assert_int_equal(fhir_eob_write(remit, 0, false, &text, NULL), SETTLE_OK);
    assert_non_null(strstr(text, "\"net\":{\"value\":90071992547409.93,\"currency\":\"USD\"}"));
    assert_non_null(strstr(text, "\"quantity\":{\"value\":0.001}"));
    settle_free(text);
    assert_int_equal(fhir_eob_write(remit, 1, false, &text, NULL), SETTLE_OK);
    assert_non_null(strstr(text, "\"net\":{\"value\":-0.05,\"currency\":\"USD\"}"));
    assert_non_null(strstr(text, "\"quantity\":{\"value\":2.5}"));
    assert_non_null(strstr(text, "\"servicedDate\":\"2026-02-10\""));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_fhir_text_cannot_forge_the_decimal_mark(void **state)
{
    remit_t *remit = s_small_remit();
    char *text = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    TEXT(remit->payer_name, "ACME \"\\u0001 PLAN"); /* the mark's written form, as text */
    assert_int_equal(fhir_claim_response_write(remit, 0, false, &text, &error), SETTLE_OK);
    assert_non_null(strstr(text, "\"display\":\"ACME \\\"\\\\u0001 PLAN\""));
    settle_free(text);
    text = NULL;
    remit->payer_name[0] = '\x01'; /* the mark itself is refused */
    assert_int_equal(fhir_claim_response_write(remit, 0, false, &text, &error), SETTLE_ERR_INVALID);
    assert_null(text);
    assert_non_null(strstr(error.message, "payer_name"));
    remit_destroy(&remit);
}

static void test_fhir_rejected_claim_has_outcome_error_and_its_reasons(void **state)
{
    remit_t *remit = s_small_remit();
    line_spec_t rejected = DENIED_LINE;
    rejected.adjustments[0][1] = "31";
    s_add_claim(remit, "C300", INTERP_STATUS_REJECTED, &rejected, 1);
    char *text = NULL;
    assert_int_equal(fhir_claim_response_write(remit, 2, false, &text, NULL), SETTLE_OK);
    assert_non_null(strstr(text, "\"outcome\":\"error\",\"disposition\":\"rejected\""));
    assert_non_null(strstr(text, "\"error\":[{\"itemSequence\":1,\"code\":{\"coding\":[{\"system\":"
                                 "\"https://x12.org/codes/claim-adjustment-reason-codes\","
                                 "\"code\":\"31\"}]}}]}"));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_fhir_refuses_an_unbalanced_remittance_and_a_bad_index(void **state)
{
    remit_t *remit = s_small_remit();
    char *text = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    remit->claims[1].decision.lines[0].paid_cents = 100;
    assert_int_equal(fhir_claim_response_write(remit, 0, false, &text, &error), SETTLE_ERR_RANGE);
    assert_null(text);
    assert_non_null(strstr(error.message, "claim C200 (2 of 2), line 1"));
    assert_int_equal(fhir_claim_response_bundle_write(remit, false, &text, NULL), SETTLE_ERR_RANGE);
    remit->claims[1].decision.lines[0].paid_cents = 0;
    assert_int_equal(fhir_eob_write(remit, 2, false, &text, &error), SETTLE_ERR_RANGE);
    assert_null(text);
    remit->payment_date = DATE_NONE;
    remit->production_date = DATE_NONE;
    assert_int_equal(fhir_eob_write(remit, 0, false, &text, &error), SETTLE_ERR_RANGE);
    assert_null(text);
    remit_destroy(&remit);
}

/* With jansson allocating through settle's allocator, every allocation of
 * every writer is made to fail in turn: each failure is reported as
 * SETTLE_ERR_NOMEM, nothing is returned, and nothing leaks. */
static void test_fhir_reports_every_allocation_failure_and_leaks_nothing(void **state)
{
    remit_t *remit = s_small_remit();
    json_set_alloc_funcs(settle_malloc, settle_free);
    long live = settle_alloc_live();
    for (int writer = 0; writer < 3; writer++) {
        char *text = NULL;
        long before = settle_alloc_attempts();
        int rc = writer == 0   ? fhir_claim_response_bundle_write(remit, false, &text, NULL)
                 : writer == 1 ? fhir_eob_write(remit, 0, true, &text, NULL)
                               : fhir_claim_response_write(remit, 1, false, &text, NULL);
        assert_int_equal(rc, SETTLE_OK);
        settle_free(text);
        long count = settle_alloc_attempts() - before;
        assert_true(count > 10);
        for (long i = 0; i < count; i++) {
            text = NULL;
            settle_alloc_fail_after(i);
            rc = writer == 0   ? fhir_claim_response_bundle_write(remit, false, &text, NULL)
                 : writer == 1 ? fhir_eob_write(remit, 0, true, &text, NULL)
                               : fhir_claim_response_write(remit, 1, false, &text, NULL);
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
    remit_destroy(&remit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_claim_response_matches_its_fixture),
        cmocka_unit_test(test_fhir_eob_matches_its_fixture),
        cmocka_unit_test(test_fhir_bundle_holds_one_claim_response_per_claim),
        cmocka_unit_test(test_fhir_decimals_are_exact_past_what_a_double_holds),
        cmocka_unit_test(test_fhir_text_cannot_forge_the_decimal_mark),
        cmocka_unit_test(test_fhir_rejected_claim_has_outcome_error_and_its_reasons),
        cmocka_unit_test(test_fhir_refuses_an_unbalanced_remittance_and_a_bad_index),
        cmocka_unit_test(test_fhir_reports_every_allocation_failure_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
