/*
 * test_error.c - unit tests for error.h: the code table's messages and
 * names, the error-detail record's setters, and the one-line form
 * settle_error_format writes ("file:line:col: message; expected ...").
 *
 * The expected table is built from the same SETTLE_ERRORS X-macro the header
 * defines, so a code added to the table is checked without editing this file;
 * the code numbers are asserted literally, because they are exit codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "settle/error.h"

/* ------------------------------------------------------------------ */
/* The code table                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    int code;
    const char *name;
    const char *message;
} table_row_t;

#define TABLE_ROW_(code, message) {code, #code, message},
static const table_row_t TABLE[] = {SETTLE_ERRORS(TABLE_ROW_)};
#undef TABLE_ROW_

#define TABLE_SIZE (sizeof TABLE / sizeof TABLE[0])

static void test_error_codes_keep_their_numbers(void **state)
{
    (void)state;
    assert_int_equal(SETTLE_OK, 0);
    assert_int_equal(SETTLE_ERR_NOMEM, 1);
    assert_int_equal(SETTLE_ERR_INVALID, 2);
    assert_int_equal(SETTLE_ERR_SYNTAX, 3);
    assert_int_equal(SETTLE_ERR_OVERFLOW, 4);
    assert_int_equal(SETTLE_ERR_RANGE, 5);
    assert_int_equal(SETTLE_ERR_TOO_LONG, 6);
    assert_int_equal(SETTLE_ERR_TOO_MANY, 7);
    assert_int_equal(SETTLE_ERR_MISSING, 8);
    assert_int_equal(SETTLE_ERR_TRUNCATED, 9);
    assert_int_equal(SETTLE_ERR_CORRUPT, 10);
    assert_int_equal(SETTLE_ERR_VERSION, 11);
    assert_int_equal(SETTLE_ERR_UNKNOWN_KEY, 12);
    assert_int_equal(SETTLE_ERR_IO, 13);
    assert_int_equal(SETTLE_ERR_NOT_FOUND, 14);
    assert_int_equal(SETTLE_ERR_CRYPTO, 15);
    assert_int_equal(SETTLE_ERR_SIGNATURE, 16);
    assert_int_equal(SETTLE_ERR_EXISTS, 17);
    assert_int_equal(SETTLE_ERR_COUNT_, 18);
    assert_int_equal(TABLE_SIZE, SETTLE_ERR_COUNT_);
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        assert_int_equal(TABLE[i].code, i);
    }
}

static void test_error_every_code_has_its_table_message_and_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        const char *message = settle_strerror(TABLE[i].code);
        const char *name = settle_error_name(TABLE[i].code);
        assert_non_null(message);
        assert_non_null(name);
        assert_true(message[0] != '\0');
        assert_int_equal(strncmp(name, "SETTLE_", 7), 0);
        assert_string_equal(message, TABLE[i].message);
        assert_string_equal(name, TABLE[i].name);
    }
    assert_string_equal(settle_strerror(SETTLE_OK), "success");
    assert_string_equal(settle_error_name(SETTLE_OK), "SETTLE_OK");
    assert_string_equal(settle_strerror(SETTLE_ERR_RANGE), "value out of range");
    assert_string_equal(settle_error_name(SETTLE_ERR_RANGE), "SETTLE_ERR_RANGE");
    assert_string_equal(settle_strerror(SETTLE_ERR_CRYPTO), "cryptographic library failure");
    assert_string_equal(settle_error_name(SETTLE_ERR_CRYPTO), "SETTLE_ERR_CRYPTO");
}

static void test_error_names_and_messages_are_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        for (size_t j = i + 1; j < TABLE_SIZE; j++) {
            assert_string_not_equal(settle_error_name((int)i), settle_error_name((int)j));
            assert_string_not_equal(settle_strerror((int)i), settle_strerror((int)j));
        }
    }
}

static void test_error_codes_outside_the_table_still_get_text(void **state)
{
    (void)state;
    static const int outside[] = {-1,   SETTLE_ERR_COUNT_, SETTLE_ERR_COUNT_ + 1,
                                  1000, INT_MIN,           INT_MAX};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        const char *message = settle_strerror(outside[i]);
        const char *name = settle_error_name(outside[i]);
        assert_non_null(message);
        assert_non_null(name);
        assert_true(message[0] != '\0');
        assert_int_equal(strncmp(name, "SETTLE_", 7), 0);
        /* An unknown code must not pass for success. */
        assert_string_not_equal(message, "success");
        assert_string_not_equal(name, "SETTLE_OK");
    }
}

/* ------------------------------------------------------------------ */
/* The record's setters                                                */
/* ------------------------------------------------------------------ */

/* A record with every byte set, so a setter that forgets a field shows it. */
static void fill_with_junk(settle_error_t *error)
{
    memset(error, 0x5a, sizeof *error);
    error->file[sizeof error->file - 1] = '\0';
    error->segment_id[sizeof error->segment_id - 1] = '\0';
    error->expected[sizeof error->expected - 1] = '\0';
    error->message[sizeof error->message - 1] = '\0';
}

static void test_error_clear_empties_every_field(void **state)
{
    (void)state;
    settle_error_t error;
    fill_with_junk(&error);

    settle_error_clear(&error);

    assert_int_equal(error.code, SETTLE_OK);
    assert_string_equal(error.file, "");
    assert_int_equal(error.line, 0);
    assert_int_equal(error.column, 0);
    assert_int_equal(error.segment, 0);
    assert_string_equal(error.segment_id, "");
    assert_int_equal(error.element, 0);
    assert_int_equal(error.component, 0);
    assert_string_equal(error.expected, "");
    assert_string_equal(error.message, "");
}

static void test_error_set_returns_its_code_and_formats_the_message(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);

    int rc = settle_error_set(&error, SETTLE_ERR_SYNTAX, "bad amount \"%s\" in %s%02d", "12.345",
                              "CLM", 2);

    assert_int_equal(rc, SETTLE_ERR_SYNTAX);
    assert_int_equal(error.code, SETTLE_ERR_SYNTAX);
    assert_string_equal(error.message, "bad amount \"12.345\" in CLM02");

    /* A second call replaces both the code and the message. */
    rc = settle_error_set(&error, SETTLE_ERR_RANGE, "month %d", 13);
    assert_int_equal(rc, SETTLE_ERR_RANGE);
    assert_int_equal(error.code, SETTLE_ERR_RANGE);
    assert_string_equal(error.message, "month 13");
}

static void test_error_set_keeps_the_place_already_recorded(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "in.837");
    settle_error_at_line(&error, 3, 9);
    settle_error_at_segment(&error, 23, "CLM", 2, 1);
    settle_error_expect(&error, "a decimal amount");

    assert_int_equal(settle_error_set(&error, SETTLE_ERR_SYNTAX, "bad amount"), SETTLE_ERR_SYNTAX);

    assert_string_equal(error.file, "in.837");
    assert_int_equal(error.line, 3);
    assert_int_equal(error.column, 9);
    assert_int_equal(error.segment, 23);
    assert_string_equal(error.segment_id, "CLM");
    assert_int_equal(error.element, 2);
    assert_int_equal(error.component, 1);
    assert_string_equal(error.expected, "a decimal amount");
    assert_string_equal(error.message, "bad amount");
}

static void test_error_set_truncates_a_long_message_and_terminates_it(void **state)
{
    (void)state;
    settle_error_t error;
    char long_text[SETTLE_ERROR_MESSAGE_SIZE * 2];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    fill_with_junk(&error);

    settle_error_set(&error, SETTLE_ERR_TOO_LONG, "%s", long_text);

    assert_int_equal(strlen(error.message), SETTLE_ERROR_MESSAGE_SIZE - 1);
    assert_int_equal(strncmp(error.message, long_text, SETTLE_ERROR_MESSAGE_SIZE - 1), 0);
}

static void test_error_set_with_a_null_record_still_returns_the_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        assert_int_equal(settle_error_set(NULL, TABLE[i].code, "code %d", TABLE[i].code),
                         TABLE[i].code);
    }
}

static void test_error_expect_formats_and_truncates(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);

    settle_error_expect(&error, "%d to %d digits", 1, 10);
    assert_string_equal(error.expected, "1 to 10 digits");
    assert_int_equal(error.code, SETTLE_OK);
    assert_string_equal(error.message, "");

    char long_text[SETTLE_ERROR_EXPECTED_SIZE * 2];
    memset(long_text, 'e', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    settle_error_expect(&error, "%s", long_text);
    assert_int_equal(strlen(error.expected), SETTLE_ERROR_EXPECTED_SIZE - 1);
    assert_int_equal(strncmp(error.expected, long_text, SETTLE_ERROR_EXPECTED_SIZE - 1), 0);
}

static void test_error_file_records_the_name_and_truncates_it(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);

    settle_error_file(&error, "fixtures/claims/claim-001.json");
    assert_string_equal(error.file, "fixtures/claims/claim-001.json");

    char long_name[SETTLE_ERROR_FILE_SIZE + 40];
    memset(long_name, 'f', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    settle_error_file(&error, long_name);
    assert_int_equal(strlen(error.file), SETTLE_ERROR_FILE_SIZE - 1);
    assert_int_equal(strncmp(error.file, long_name, SETTLE_ERROR_FILE_SIZE - 1), 0);
}

static void test_error_file_accepts_a_null_name_without_touching_other_fields(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_at_line(&error, 4, 2);
    settle_error_set(&error, SETTLE_ERR_MISSING, "no payer");

    settle_error_file(&error, NULL);

    assert_int_equal(error.code, SETTLE_ERR_MISSING);
    assert_int_equal(error.line, 4);
    assert_int_equal(error.column, 2);
    assert_string_equal(error.message, "no payer");
    assert_non_null(memchr(error.file, '\0', sizeof error.file));
}

static void test_error_at_line_and_at_segment_record_positions(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);

    settle_error_at_line(&error, 12, 7);
    assert_int_equal(error.line, 12);
    assert_int_equal(error.column, 7);
    assert_int_equal(error.segment, 0);

    settle_error_at_segment(&error, 23, "CLM", 5, 1);
    assert_int_equal(error.segment, 23);
    assert_string_equal(error.segment_id, "CLM");
    assert_int_equal(error.element, 5);
    assert_int_equal(error.component, 1);
    /* The text position set before is kept. */
    assert_int_equal(error.line, 12);
    assert_int_equal(error.column, 7);

    settle_error_at_line(&error, UINT32_MAX, UINT32_MAX);
    assert_int_equal(error.line, UINT32_MAX);
    assert_int_equal(error.column, UINT32_MAX);
}

static void test_error_at_segment_truncates_a_long_segment_id(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);

    settle_error_at_segment(&error, 1, "ABCDEFGHIJ", 1, 0);

    assert_int_equal(strlen(error.segment_id), SETTLE_ERROR_SEGMENT_SIZE - 1);
    assert_string_equal(error.segment_id, "ABCDEFG");
}

static void test_error_functions_accept_a_null_record(void **state)
{
    (void)state;
    char buffer[16];

    settle_error_clear(NULL);
    assert_int_equal(settle_error_set(NULL, SETTLE_ERR_IO, "%s", "disk"), SETTLE_ERR_IO);
    settle_error_expect(NULL, "%s", "anything");
    settle_error_file(NULL, "in.837");
    settle_error_file(NULL, NULL);
    settle_error_at_line(NULL, 1, 1);
    settle_error_at_segment(NULL, 1, "ST", 1, 0);

    memset(buffer, '#', sizeof buffer);
    assert_int_equal(settle_error_format(NULL, buffer, sizeof buffer), 0);
    assert_string_equal(buffer, "");
}

/* ------------------------------------------------------------------ */
/* settle_error_format                                                 */
/* ------------------------------------------------------------------ */

/* Formats into a roomy buffer and checks the text and the returned length. */
static void check_format(const settle_error_t *error, const char *expected)
{
    char buffer[1024];
    memset(buffer, '#', sizeof buffer);
    size_t length = settle_error_format(error, buffer, sizeof buffer);
    assert_string_equal(buffer, expected);
    assert_int_equal(length, strlen(expected));
}

static void test_error_format_writes_a_json_place_as_file_line_column(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "claims.json");
    settle_error_at_line(&error, 12, 7);
    settle_error_set(&error, SETTLE_ERR_SYNTAX,
                     "lines[0].charge_cents: expected an integer (found \"%s\")", "12.5");

    check_format(&error, "claims.json:12:7: lines[0].charge_cents: expected an integer "
                         "(found \"12.5\")");
}

static void test_error_format_writes_an_x12_place_as_segment_and_element(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "in.837");
    settle_error_at_segment(&error, 23, "CLM", 2, 0);
    settle_error_set(&error, SETTLE_ERR_SYNTAX, "bad amount \"%s\"", "12.345");
    settle_error_expect(&error, "at most two decimals");

    check_format(&error, "in.837: segment 23 (CLM), element CLM02: bad amount \"12.345\"; "
                         "expected at most two decimals");
}

static void test_error_format_writes_a_component_after_the_element(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "in.837");
    settle_error_at_segment(&error, 23, "CLM", 5, 1);
    settle_error_set(&error, SETTLE_ERR_RANGE, "bad place of service \"%s\"", "99");

    check_format(&error, "in.837: segment 23 (CLM), element CLM05-1: bad place of service \"99\"");

    settle_error_at_segment(&error, 140, "SV1", 12, 0);
    check_format(&error, "in.837: segment 140 (SV1), element SV112: bad place of service \"99\"");
}

static void test_error_format_writes_a_segment_without_an_element(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "in.837");
    settle_error_at_segment(&error, 4, "NM1", 0, 0);
    settle_error_set(&error, SETTLE_ERR_MISSING, "no payer name");

    check_format(&error, "in.837: segment 4 (NM1): no payer name");
}

static void test_error_format_leaves_out_the_parts_not_set(void **state)
{
    (void)state;
    settle_error_t error;

    /* Message only. */
    settle_error_clear(&error);
    settle_error_set(&error, SETTLE_ERR_INVALID, "weights sum to zero");
    check_format(&error, "weights sum to zero");

    /* File and message, no position. */
    settle_error_file(&error, "contract.yaml");
    check_format(&error, "contract.yaml: weights sum to zero");

    /* A line with no column. */
    settle_error_at_line(&error, 12, 0);
    check_format(&error, "contract.yaml:12: weights sum to zero");

    /* What was expected, with no place. */
    settle_error_clear(&error);
    settle_error_set(&error, SETTLE_ERR_SYNTAX, "bad date \"%s\"", "2024-2-29");
    settle_error_expect(&error, "CCYY-MM-DD");
    check_format(&error, "bad date \"2024-2-29\"; expected CCYY-MM-DD");
}

static void test_error_format_falls_back_to_the_code_message(void **state)
{
    (void)state;
    settle_error_t error;

    settle_error_clear(&error);
    check_format(&error, "success");

    settle_error_clear(&error);
    error.code = SETTLE_ERR_RANGE;
    check_format(&error, "value out of range");

    settle_error_file(&error, "in.837");
    settle_error_at_segment(&error, 7, "DTP", 3, 0);
    check_format(&error, "in.837: segment 7 (DTP), element DTP03: value out of range");
}

static void test_error_format_copies_percent_signs_literally(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "100%.json");
    settle_error_at_line(&error, 1, 2);
    settle_error_set(&error, SETTLE_ERR_SYNTAX, "rate \"%s\" has no sign", "%d%s%n");
    settle_error_expect(&error, "%s", "a rate such as 20%");

    check_format(&error, "100%.json:1:2: rate \"%d%s%n\" has no sign; expected a rate such as 20%");
}

static void test_error_format_truncates_and_always_terminates(void **state)
{
    (void)state;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, "in.837");
    settle_error_at_segment(&error, 23, "CLM", 2, 0);
    settle_error_set(&error, SETTLE_ERR_SYNTAX, "bad amount \"%s\"", "12.345");
    settle_error_expect(&error, "at most two decimals");
    const char *full = "in.837: segment 23 (CLM), element CLM02: bad amount \"12.345\"; "
                       "expected at most two decimals";
    size_t full_length = strlen(full);

    for (size_t size = 0; size <= full_length + 2; size++) {
        char buffer[256];
        memset(buffer, '#', sizeof buffer);
        size_t length = settle_error_format(&error, buffer, size);
        if (length != full_length) {
            fail_msg("size %zu: returned %zu, expected %zu", size, length, full_length);
        }
        if (size == 0) {
            assert_int_equal(buffer[0], '#');
            continue;
        }
        size_t kept = size - 1 < full_length ? size - 1 : full_length;
        if (buffer[kept] != '\0' || strncmp(buffer, full, kept) != 0) {
            fail_msg("size %zu: wrote \"%.*s\", expected the first %zu bytes of the text", size,
                     (int)kept, buffer, kept);
        }
        for (size_t i = size; i < sizeof buffer; i++) {
            assert_int_equal(buffer[i], '#');
        }
    }

    /* Like snprintf, a NULL buffer of size 0 just measures. */
    assert_int_equal(settle_error_format(&error, NULL, 0), full_length);
}

static void test_error_format_measures_a_record_with_every_field_full(void **state)
{
    (void)state;
    settle_error_t error;
    char file[SETTLE_ERROR_FILE_SIZE];
    char expected_text[SETTLE_ERROR_EXPECTED_SIZE];
    char message[SETTLE_ERROR_MESSAGE_SIZE];
    memset(file, 'f', sizeof file - 1);
    file[sizeof file - 1] = '\0';
    memset(expected_text, 'e', sizeof expected_text - 1);
    expected_text[sizeof expected_text - 1] = '\0';
    memset(message, 'm', sizeof message - 1);
    message[sizeof message - 1] = '\0';

    settle_error_clear(&error);
    settle_error_file(&error, file);
    settle_error_at_line(&error, UINT32_MAX, UINT32_MAX);
    settle_error_set(&error, SETTLE_ERR_TOO_LONG, "%s", message);
    settle_error_expect(&error, "%s", expected_text);

    /* file ":" 4294967295 ":" 4294967295 ": " message "; expected " expected */
    char expected[1024];
    int written = snprintf(expected, sizeof expected, "%s:4294967295:4294967295: %s; expected %s",
                           file, message, expected_text);
    assert_true(written > 0 && (size_t)written < sizeof expected);
    assert_int_equal(written, 255 + 1 + 10 + 1 + 10 + 2 + 255 + 11 + 159);
    check_format(&error, expected);

    char small[64];
    assert_int_equal(settle_error_format(&error, small, sizeof small), (size_t)written);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(strncmp(small, expected, sizeof small - 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes_keep_their_numbers),
        cmocka_unit_test(test_error_every_code_has_its_table_message_and_name),
        cmocka_unit_test(test_error_names_and_messages_are_distinct),
        cmocka_unit_test(test_error_codes_outside_the_table_still_get_text),
        cmocka_unit_test(test_error_clear_empties_every_field),
        cmocka_unit_test(test_error_set_returns_its_code_and_formats_the_message),
        cmocka_unit_test(test_error_set_keeps_the_place_already_recorded),
        cmocka_unit_test(test_error_set_truncates_a_long_message_and_terminates_it),
        cmocka_unit_test(test_error_set_with_a_null_record_still_returns_the_code),
        cmocka_unit_test(test_error_expect_formats_and_truncates),
        cmocka_unit_test(test_error_file_records_the_name_and_truncates_it),
        cmocka_unit_test(test_error_file_accepts_a_null_name_without_touching_other_fields),
        cmocka_unit_test(test_error_at_line_and_at_segment_record_positions),
        cmocka_unit_test(test_error_at_segment_truncates_a_long_segment_id),
        cmocka_unit_test(test_error_functions_accept_a_null_record),
        cmocka_unit_test(test_error_format_writes_a_json_place_as_file_line_column),
        cmocka_unit_test(test_error_format_writes_an_x12_place_as_segment_and_element),
        cmocka_unit_test(test_error_format_writes_a_component_after_the_element),
        cmocka_unit_test(test_error_format_writes_a_segment_without_an_element),
        cmocka_unit_test(test_error_format_leaves_out_the_parts_not_set),
        cmocka_unit_test(test_error_format_falls_back_to_the_code_message),
        cmocka_unit_test(test_error_format_copies_percent_signs_literally),
        cmocka_unit_test(test_error_format_truncates_and_always_terminates),
        cmocka_unit_test(test_error_format_measures_a_record_with_every_field_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
