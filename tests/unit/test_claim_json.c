/*
 * test_claim_json.c - the canonical JSON form: exact text, round trips and
 * the errors a person reads when a file is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "claim_sample.h"
#include "settle/alloc.h"
#include "settle/claim_json.h"

typedef struct {
    claim_t *claims[4];
    unsigned count;
} collected_t;

static int s_collect(const claim_t *claim, void *context)
{
    collected_t *c = context;
    if (c->count == 4)
        return SETTLE_ERR_TOO_MANY;
    c->claims[c->count] = claim_new();
    assert_int_equal(claim_copy(c->claims[c->count], claim), SETTLE_OK);
    c->count++;
    return SETTLE_OK;
}

static void s_free_collected(collected_t *c)
{
    for (unsigned i = 0; i < c->count; i++)
        claim_destroy(&c->claims[i]);
}

/* Reads text; returns the code and leaves the formatted error in line. */
static int s_read(const char *text, collected_t *collected, char *line, size_t size)
{
    settle_error_t error;
    settle_error_clear(&error);
    int rc = claim_json_read_text(text, strlen(text), "in.json", s_collect, collected, &error);
    settle_error_format(&error, line, size);
    return rc;
}

#define MINIMAL                                                                                    \
    "{\"format\":\"settle.claim/"                                                                  \
    "1\",\"claim_id\":\"C1\",\"kind\":\"professional\",\"frequency\":1,"                           \
    "\"payer_id\":\"ACMEHP\",\"billing_npi\":\"1234567893\",\"member_id\":\"M1\","                 \
    "\"patient\":{\"sex\":\"U\"},\"total_charge_cents\":258,\"lines\":[{\"line\":1,"               \
    "\"procedure_code\":\"99213\",\"units_milli\":1000,\"charge_cents\":258,"                      \
    "\"service_from\":\"2026-01-02\",\"service_to\":\"2026-01-02\"}]}"

static void test_json_writes_the_canonical_compact_text(void **state)
{
    collected_t got = {0};
    char message[512];
    assert_int_equal(s_read(MINIMAL, &got, message, sizeof message), SETTLE_OK);
    assert_int_equal(got.count, 1);
    char *text;
    assert_int_equal(claim_to_json_text(got.claims[0], 0, &text), SETTLE_OK);
    assert_string_equal(text, MINIMAL);
    settle_free(text);
    s_free_collected(&got);
}

static void test_json_round_trips_every_field(void **state)
{
    claim_t *claim = claim_new();
    assert_int_equal(sample_fill_claim(claim), 0);
    char *text;
    assert_int_equal(claim_to_json_text(claim, 1, &text), SETTLE_OK);
    assert_non_null(strstr(text, "\"modifiers\": [\n        \"25\",\n        \"59\""));
    assert_non_null(strstr(text, "\"birth_date\": \"1968-04-12\""));
    assert_non_null(strstr(text, "\"units_milli\": 2500"));
    assert_non_null(strstr(text, "\"service_to\": \"2026-09-30\""));
    assert_non_null(strstr(text,
                           "\"sex\": \"F\",\n    \"last_name\": \"ALVAREZ\",\n"
                           "    \"first_name\": \"MARIA\",\n    \"middle_name\": \"L\",\n"
                           "    \"address_1\": \"12 MAIN ST\",\n    \"address_2\": \"APT 4\",\n"
                           "    \"city\": \"SPRINGFIELD\",\n    \"state\": \"IL\",\n"
                           "    \"postal_code\": \"62701\"\n  },"));
    assert_non_null(strstr(text, "\"diagnosis_pointers\": [\n        2\n      ],\n"
                                 "      \"patient_age\": 58\n"));
    assert_non_null(strstr(text, "\"phi\": \"5350484901020304\"\n}"));
    collected_t got = {0};
    char message[512];
    assert_int_equal(s_read(text, &got, message, sizeof message), SETTLE_OK);
    assert_int_equal(got.count, 1);
    assert_true(claim_equal(claim, got.claims[0]));
    settle_free(text);
    s_free_collected(&got);
    claim_destroy(&claim);
}

static void test_json_reads_arrays_and_one_object_per_line(void **state)
{
    collected_t got = {0};
    char message[512];
    assert_int_equal(s_read("[" MINIMAL "," MINIMAL "]", &got, message, sizeof message), SETTLE_OK);
    assert_int_equal(got.count, 2);
    s_free_collected(&got);
    memset(&got, 0, sizeof got);
    assert_int_equal(
        s_read(MINIMAL "\n" MINIMAL "\n\n" MINIMAL "\n", &got, message, sizeof message), SETTLE_OK);
    assert_int_equal(got.count, 3);
    s_free_collected(&got);
}

/* Each bad input and the exact line a user sees. */
static void s_expect_error(const char *text, int code, const char *expected, unsigned delivered)
{
    collected_t got = {0};
    char message[512];
    assert_int_equal(s_read(text, &got, message, sizeof message), code);
    assert_string_equal(message, expected);
    assert_int_equal(got.count, delivered);
    s_free_collected(&got);
}

static void test_json_errors_name_file_line_and_path(void **state)
{
    s_expect_error("", SETTLE_ERR_MISSING, "in.json: no claims in the file", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\n \"claim_id\": }", SETTLE_ERR_SYNTAX,
                   "in.json:2:14: invalid JSON: unexpected token near '}'", 0);
    s_expect_error("{\"claim_id\":\"C1\"}", SETTLE_ERR_MISSING,
                   "in.json:1: format: missing; expected \"settle.claim/1\"", 0);
    s_expect_error("{\"format\":\"settle.claim/9\"}", SETTLE_ERR_VERSION,
                   "in.json:1: format: expected \"settle.claim/1\"", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"lines\":[{\"charge_cents\":12.5}]}",
                   SETTLE_ERR_SYNTAX, "in.json:1: lines[0].charge_cents: expected an integer", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"lines\":[{\"service_from\":\"2026-02-30\"}]}",
                   SETTLE_ERR_RANGE,
                   "in.json:1: lines[0].service_from: \"2026-02-30\" is not a date CCYY-MM-DD", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"colour\":1}", SETTLE_ERR_UNKNOWN_KEY,
                   "in.json:1: colour: unknown key", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"patient\":{\"sex\":\"X\"}}", SETTLE_ERR_SYNTAX,
                   "in.json:1: patient.sex: expected one of the letters FMU", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"claim_id\":"
                   "\"0123456789012345678901234567890123456789\"}",
                   SETTLE_ERR_TOO_LONG,
                   "in.json:1: claim_id: \"0123456789012345678901234567890123456789\" is longer "
                   "than 38 characters",
                   0);
}

/* The patient block, the sealed identifiers and the line ages: each
 * refused value named by its path. */
static void test_json_refuses_bad_patient_phi_and_age_naming_the_place(void **state)
{
    (void)state;
    s_expect_error("{\"format\":\"settle.claim/1\",\"patient\":{\"state\":\"ILL\"}}",
                   SETTLE_ERR_TOO_LONG,
                   "in.json:1: patient.state: \"ILL\" is longer than 2 characters", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"patient\":{\"city\":7}}", SETTLE_ERR_SYNTAX,
                   "in.json:1: patient.city: expected a string", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"patient\":{\"nickname\":\"M\"}}",
                   SETTLE_ERR_UNKNOWN_KEY, "in.json:1: patient.nickname: unknown key", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"phi\":\"53504\"}", SETTLE_ERR_SYNTAX,
                   "in.json:1: phi: 5 hex digits is not a whole number of bytes", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"phi\":\"53zz\"}", SETTLE_ERR_SYNTAX,
                   "in.json:1: phi: character 3 is not a lowercase hex digit (0-9, a-f)", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"phi\":\"5A\"}", SETTLE_ERR_SYNTAX,
                   "in.json:1: phi: character 2 is not a lowercase hex digit (0-9, a-f)", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"phi\":[1]}", SETTLE_ERR_SYNTAX,
                   "in.json:1: phi: expected the sealed bytes as a hex string", 0);
    char text[2 * CLAIM_PHI_SIZE_MAX + 64];
    int used = snprintf(text, sizeof text, "{\"format\":\"settle.claim/1\",\"phi\":\"");
    memset(text + used, 'a', 2 * CLAIM_PHI_SIZE_MAX + 2);
    snprintf(text + used + 2 * CLAIM_PHI_SIZE_MAX + 2, 4, "\"}");
    char expected[128];
    snprintf(expected, sizeof expected, "in.json:1: phi: %d hex digits is more than %d bytes",
             2 * CLAIM_PHI_SIZE_MAX + 2, CLAIM_PHI_SIZE_MAX);
    s_expect_error(text, SETTLE_ERR_TOO_LONG, expected, 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"lines\":[{\"patient_age\":201}]}",
                   SETTLE_ERR_RANGE, "in.json:1: lines[0].patient_age: 201 is outside 0..200", 0);
    s_expect_error("{\"format\":\"settle.claim/1\",\"lines\":[{\"patient_age\":-1}]}",
                   SETTLE_ERR_RANGE, "in.json:1: lines[0].patient_age: -1 is outside 0..200", 0);
}

/* The largest envelope a claim holds is read whole, and a claim without
 * names, envelope or ages writes none of their keys. */
static void test_json_reads_the_largest_phi_and_leaves_out_what_is_empty(void **state)
{
    (void)state;
    char text[2 * CLAIM_PHI_SIZE_MAX + 512];
    char *minimal_end = strrchr(MINIMAL, '}');
    int used =
        snprintf(text, sizeof text, "%.*s,\"phi\":\"", (int)(minimal_end - MINIMAL), MINIMAL);
    for (int i = 0; i < CLAIM_PHI_SIZE_MAX; i++)
        used += snprintf(text + used, sizeof text - (size_t)used, "%02x", i & 0xff);
    snprintf(text + used, sizeof text - (size_t)used, "\"}");
    collected_t got = {0};
    char message[512];
    assert_int_equal(s_read(text, &got, message, sizeof message), SETTLE_OK);
    assert_int_equal(got.count, 1);
    assert_int_equal(got.claims[0]->phi_size, CLAIM_PHI_SIZE_MAX);
    assert_int_equal(got.claims[0]->phi[CLAIM_PHI_SIZE_MAX - 1], (CLAIM_PHI_SIZE_MAX - 1) & 0xff);
    assert_int_equal(got.claims[0]->lines[0].patient_age, CLAIM_AGE_NONE);
    char *written;
    assert_int_equal(claim_to_json_text(got.claims[0], 0, &written), SETTLE_OK);
    assert_string_equal(written, text);
    settle_free(written);
    s_free_collected(&got);
    memset(&got, 0, sizeof got);
    assert_int_equal(s_read(MINIMAL, &got, message, sizeof message), SETTLE_OK);
    assert_int_equal(claim_to_json_text(got.claims[0], 0, &written), SETTLE_OK);
    assert_null(strstr(written, "phi"));
    assert_null(strstr(written, "patient_age"));
    assert_null(strstr(written, "name"));
    settle_free(written);
    s_free_collected(&got);
}

static void test_json_reports_the_bad_claim_after_delivering_the_good_ones(void **state)
{
    /* The second claim's total does not match its lines: validation fails. */
    char text[4096];
    snprintf(text, sizeof text, "%s\n%s\n", MINIMAL, MINIMAL);
    char *second = strstr(strchr(text, '\n'), "\"total_charge_cents\":258") + 21;
    memcpy(second, "259", 3);
    s_expect_error(text, SETTLE_ERR_INVALID,
                   "in.json:2: claims[1]: total charge 2.59 is not the sum of the line charges "
                   "2.58",
                   1);
    snprintf(text, sizeof text, "[%s,\n{\"format\":\"settle.claim/1\",\"lines\":7}]", MINIMAL);
    s_expect_error(text, SETTLE_ERR_SYNTAX, "in.json:1: claims[1].lines: expected an array", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_writes_the_canonical_compact_text),
        cmocka_unit_test(test_json_round_trips_every_field),
        cmocka_unit_test(test_json_reads_arrays_and_one_object_per_line),
        cmocka_unit_test(test_json_errors_name_file_line_and_path),
        cmocka_unit_test(test_json_refuses_bad_patient_phi_and_age_naming_the_place),
        cmocka_unit_test(test_json_reads_the_largest_phi_and_leaves_out_what_is_empty),
        cmocka_unit_test(test_json_reports_the_bad_claim_after_delivering_the_good_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
