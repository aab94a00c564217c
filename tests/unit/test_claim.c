/*
 * test_claim.c - the canonical claim record: lines, text fields, checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "claim_sample.h"
#include "settle/alloc.h"

static claim_t *s_sample(void)
{
    claim_t *claim = claim_new();
    assert_non_null(claim);
    assert_int_equal(sample_fill_claim(claim), 0);
    return claim;
}

static void test_claim_new_starts_empty_with_documented_defaults(void **state)
{
    claim_t *claim = claim_new();
    assert_non_null(claim);
    assert_int_equal(claim->kind, 'P');
    assert_int_equal(claim->frequency, 1);
    assert_int_equal(claim->patient_sex, 'U');
    assert_int_equal(claim->patient_birth_date, DATE_NONE);
    assert_int_equal(claim->line_count, 0);
    assert_string_equal(claim->claim_id, "");
    claim_destroy(&claim);
    assert_null(claim);
    claim_destroy(&claim); /* twice is safe */
}

static void test_claim_add_line_grows_and_stops_at_the_maximum(void **state)
{
    claim_t *claim = claim_new();
    claim_line_t *line = NULL;
    for (int i = 0; i < CLAIM_LINES_MAX; i++) {
        assert_int_equal(claim_add_line(claim, &line), SETTLE_OK);
        assert_int_equal(line->service_from, DATE_NONE);
        line->charge_cents = i;
    }
    assert_int_equal(claim->line_count, CLAIM_LINES_MAX);
    assert_int_equal(claim_add_line(claim, &line), SETTLE_ERR_TOO_MANY);
    assert_int_equal(claim->line_count, CLAIM_LINES_MAX);
    assert_int_equal(claim->lines[998].charge_cents, 998);
    claim_reset(claim);
    assert_int_equal(claim->line_count, 0);
    assert_true(claim->line_capacity >= CLAIM_LINES_MAX); /* memory kept for reuse */
    claim_destroy(&claim);
}

static void test_claim_set_text_refuses_too_long_and_non_ascii(void **state)
{
    char field[CLAIM_MODIFIER_SIZE] = "XX";
    assert_int_equal(claim_set_text(field, sizeof field, "25", 2), SETTLE_OK);
    assert_string_equal(field, "25");
    assert_int_equal(claim_set_text(field, sizeof field, "259", 3), SETTLE_ERR_TOO_LONG);
    assert_string_equal(field, "25"); /* unchanged on failure */
    assert_int_equal(claim_set_text(field, sizeof field, "\t5", 2), SETTLE_ERR_INVALID);
    assert_int_equal(claim_set_text(field, sizeof field, "\xc3\xa9", 2), SETTLE_ERR_INVALID);
    assert_int_equal(claim_set_text(field, sizeof field, "5\0", 2), SETTLE_ERR_INVALID);
    assert_int_equal(claim_set_text(field, sizeof field, "", 0), SETTLE_OK);
    assert_string_equal(field, "");
}

static void test_claim_npi_check_digit_follows_the_cms_luhn_rule(void **state)
{
    assert_true(claim_npi_check_digit_ok("1234567893"));
    assert_true(claim_npi_check_digit_ok("1987654328"));
    assert_false(claim_npi_check_digit_ok("1234567890"));
    assert_false(claim_npi_check_digit_ok("123456789"));
    assert_false(claim_npi_check_digit_ok("12345678930"));
    assert_false(claim_npi_check_digit_ok("12345678a3"));
}

static void test_claim_validate_accepts_the_full_sample(void **state)
{
    claim_t *claim = s_sample();
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(claim_validate(claim, &error), SETTLE_OK);
    assert_string_equal(error.message, "");
    claim_destroy(&claim);
}

/* Breaks one thing in a valid claim and checks the code and message. */
static void s_expect_invalid(void (*breakage)(claim_t *), int code, const char *message)
{
    claim_t *claim = s_sample();
    breakage(claim);
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(claim_validate(claim, &error), code);
    assert_string_equal(error.message, message);
    claim_destroy(&claim);
}

static void s_no_claim_id(claim_t *c)
{
    c->claim_id[0] = '\0';
}
static void s_short_npi(claim_t *c)
{
    SAMPLE_TEXT(c->billing_npi, "123456789");
}
static void s_void_without_original(claim_t *c)
{
    c->frequency = CLAIM_FREQUENCY_VOID;
    c->original_claim_number[0] = '\0';
}
static void s_total_mismatch(claim_t *c)
{
    c->total_charge_cents += 1;
}
static void s_dates_reversed(claim_t *c)
{
    c->lines[1].service_to = c->lines[1].service_from - 1;
}
static void s_pointer_past_diagnoses(claim_t *c)
{
    c->lines[0].diagnosis_pointers[2] = 4;
}
static void s_zero_units(claim_t *c)
{
    c->lines[1].units_milli = 0;
}
static void s_no_lines(claim_t *c)
{
    c->line_count = 0;
}
static void s_frequency_zero(claim_t *c)
{
    c->frequency = 0;
}
static void s_line_without_codes(claim_t *c)
{
    c->lines[1].revenue_code[0] = '\0';
}

static void test_claim_validate_names_each_problem(void **state)
{
    s_expect_invalid(s_no_claim_id, SETTLE_ERR_MISSING, "claim_id: missing");
    s_expect_invalid(s_short_npi, SETTLE_ERR_INVALID,
                     "billing_npi: \"123456789\" is not ten digits");
    s_expect_invalid(s_void_without_original, SETTLE_ERR_MISSING,
                     "original_claim_number: missing on a frequency 8 claim");
    s_expect_invalid(s_total_mismatch, SETTLE_ERR_INVALID,
                     "total charge 1884.76 is not the sum of the line charges 1884.75");
    s_expect_invalid(s_dates_reversed, SETTLE_ERR_INVALID,
                     "line 2: service dates out of order or out of range");
    s_expect_invalid(s_pointer_past_diagnoses, SETTLE_ERR_INVALID,
                     "line 1: diagnosis pointer 4, but the claim has 3 diagnoses");
    s_expect_invalid(s_zero_units, SETTLE_ERR_INVALID, "line 2: units must be positive");
    s_expect_invalid(s_no_lines, SETTLE_ERR_MISSING, "lines: a claim needs at least one");
    s_expect_invalid(s_frequency_zero, SETTLE_ERR_INVALID,
                     "frequency: 0 is not a frequency code 1..9");
    s_expect_invalid(s_line_without_codes, SETTLE_ERR_MISSING,
                     "line 2: neither a procedure code nor a revenue code");
}

static void test_claim_equal_sees_a_change_in_any_line_field(void **state)
{
    claim_t *a = s_sample(), *b = s_sample();
    assert_true(claim_equal(a, b));
    b->lines[1].ndc[10] = '2';
    assert_false(claim_equal(a, b));
    b->lines[1].ndc[10] = '1';
    b->lines[0].modifiers[3][1] = 'R';
    assert_false(claim_equal(a, b));
    b->lines[0].modifiers[3][1] = 'T';
    b->other_payers[1].paid_cents = 0;
    assert_false(claim_equal(a, b));
    claim_destroy(&a);
    claim_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_new_starts_empty_with_documented_defaults),
        cmocka_unit_test(test_claim_add_line_grows_and_stops_at_the_maximum),
        cmocka_unit_test(test_claim_set_text_refuses_too_long_and_non_ascii),
        cmocka_unit_test(test_claim_npi_check_digit_follows_the_cms_luhn_rule),
        cmocka_unit_test(test_claim_validate_accepts_the_full_sample),
        cmocka_unit_test(test_claim_validate_names_each_problem),
        cmocka_unit_test(test_claim_equal_sees_a_change_in_any_line_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
