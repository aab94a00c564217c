/*
 * test_contract_load.c - the contract loader: good contracts compile, and
 * every kind of bad contract is reported at its line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "settle/alloc.h"
#include "settle/contract.h"
#include "settle/date.h"

static const char s_good[] =
    "contract: T-1\n"                                  /* 1 */
    "version: \"3\"\n"                                 /* 2 */
    "payer: TP\n"                                      /* 3 */
    "effective: {from: 2026-01-01, to: 2026-12-31}\n"  /* 4 */
    "period: calendar-year\n"                          /* 5 */
    "network:\n"                                       /* 6 */
    "  in: {coinsurance: \"20%\"}\n"                   /* 7 */
    "fee_schedule:\n"                                  /* 8 */
    "  \"99213\": \"100.00\"\n"                        /* 9 */
    "benefits:\n"                                      /* 10 */
    "  - name: visits\n"                               /* 11 */
    "    codes: [\"99202-99215\"]\n"                   /* 12 */
    "    copay: \"25.00\"\n"                           /* 13 */
    "exclusions:\n"                                    /* 14 */
    "  - {codes: [S9990], reason: \"96\"}\n"            /* 15 */
    "rules:\n"                                        /* 16 */
    "  - when: '\"25\" in line.modifiers && line.charge > 100.00'\n" /* 17 */
    "    then: {copay: \"40.00\"}\n";                  /* 18 */

/* Loads text with one line replaced; returns the code and the formatted first error. */
static int s_load_variant(const char *from, const char *to, char *message, size_t size)
{
    char text[2048];
    const char *at = strstr(s_good, from);
    assert_non_null(at);
    size_t head = (size_t)(at - s_good);
    snprintf(text, sizeof text, "%.*s%s%s", (int)head, s_good, to, at + strlen(from));
    contract_t *contract = NULL;
    settle_error_t error;
    int rc = contract_load_text(text, strlen(text), "t.yaml", &contract, &error, NULL, NULL);
    settle_error_format(&error, message, size);
    if (rc == SETTLE_OK)
        contract_destroy(&contract);
    else
        assert_null(contract);
    return rc;
}

static void test_contract_load_compiles_a_good_contract(void **state)
{
    contract_t *contract = NULL;
    settle_error_t error;
    assert_int_equal(contract_load_text(s_good, strlen(s_good), "t.yaml", &contract, &error,
                                        NULL, NULL),
                     SETTLE_OK);
    assert_string_equal(contract_id(contract), "T-1");
    assert_string_equal(contract_version(contract), "3");
    assert_string_equal(contract_payer(contract), "TP");
    int32_t from;
    date_from_ymd(2026, 1, 1, &from);
    assert_int_equal(contract_effective_from(contract), from);
    contract_destroy(&contract);
    assert_null(contract);
    contract_destroy(&contract);
}

static void test_contract_load_reports_unknown_key_with_line_and_column(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("    copay:", "    copey:", message, sizeof message),
                     SETTLE_ERR_UNKNOWN_KEY);
    assert_string_equal(message, "t.yaml:13:5: unknown key \"copey\" in benefit");
}

static void test_contract_load_reports_bad_amount(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("\"100.00\"", "\"1O0.00\"", message, sizeof message),
                     SETTLE_ERR_SYNTAX);
    assert_string_equal(message,
                        "t.yaml:9:12: bad amount \"1O0.00\"; expected an amount such as \"500.00\"");
}

static void test_contract_load_reports_malformed_range(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("99202-99215", "99215-99202", message, sizeof message),
                     SETTLE_ERR_SYNTAX);
    assert_non_null(strstr(message, "t.yaml:12:13: malformed code or code range \"99215-99202\""));
}

static void test_contract_load_reports_overlapping_ranges(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("\"99202-99215\"", "\"99202-99215\", \"99211\"", message,
                                    sizeof message),
                     SETTLE_ERR_RANGE);
    assert_string_equal(message, "t.yaml:12:28: code range 99211-99211 overlaps 99202-99215");
}

static void test_contract_load_reports_unknown_reason_code(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("\"96\"", "\"999\"", message, sizeof message),
                     SETTLE_ERR_NOT_FOUND);
    assert_non_null(strstr(message, "t.yaml:15:30: unknown reason code \"999\""));
}

static void test_contract_load_reports_missing_required_key(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("payer: TP\n", "", message, sizeof message),
                     SETTLE_ERR_MISSING);
    assert_string_equal(message, "t.yaml:1:1: missing required key \"payer\" in contract");
}

static void test_contract_load_reports_yaml_syntax_error(void **state)
{
    char message[512];
    assert_int_equal(s_load_variant("[S9990]", "[S9990", message, sizeof message),
                     SETTLE_ERR_SYNTAX);
    assert_non_null(strstr(message, "t.yaml:"));
    assert_non_null(strstr(message, "YAML:"));
}

static unsigned s_problem_count;
static void s_count_problem(const settle_error_t *problem, void *context)
{
    (void)problem;
    (void)context;
    s_problem_count++;
}

static void test_contract_load_reports_every_problem_not_only_the_first(void **state)
{
    const char text[] = "contract: X\nversion: 1\npayer: P\nefective: {from: 2026-01-01}\n"
                        "network: {in: {coinsurance: \"2O%\"}}\nbenefits: []\n"
                        "rules: [{when: \"line.code ==\", then: {copay: \"1.00\"}}]\n";
    contract_t *contract = NULL;
    settle_error_t error;
    s_problem_count = 0;
    assert_int_not_equal(contract_load_text(text, strlen(text), "m.yaml", &contract, &error,
                                            s_count_problem, NULL),
                         SETTLE_OK);
    /* unknown key, bad percentage, bad rule expression, missing effective */
    assert_int_equal(s_problem_count, 4);
    assert_int_equal(error.line, 4);
    assert_int_equal(error.column, 1);
}

static void test_contract_load_fails_cleanly_at_every_allocation(void **state)
{
    long live = settle_alloc_live();
    long before = settle_alloc_attempts();
    contract_t *contract = NULL;
    assert_int_equal(contract_load_text(s_good, strlen(s_good), "t.yaml", &contract, NULL, NULL,
                                        NULL),
                     SETTLE_OK);
    contract_destroy(&contract);
    long needed = settle_alloc_attempts() - before;
    for (long n = 0; n < needed; n++) {
        settle_alloc_fail_after(n);
        int rc = contract_load_text(s_good, strlen(s_good), "t.yaml", &contract, NULL, NULL, NULL);
        settle_alloc_fail_after(-1);
        assert_int_equal(rc, SETTLE_ERR_NOMEM);
        assert_null(contract);
        assert_int_equal(settle_alloc_live(), live);
    }
}

static void test_contract_reason_text_knows_the_standard_codes(void **state)
{
    assert_string_equal(contract_reason_text("1"), "Deductible Amount");
    assert_non_null(contract_reason_text("197"));
    assert_null(contract_reason_text("999"));
    assert_null(contract_reason_text(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_load_compiles_a_good_contract),
        cmocka_unit_test(test_contract_load_reports_unknown_key_with_line_and_column),
        cmocka_unit_test(test_contract_load_reports_bad_amount),
        cmocka_unit_test(test_contract_load_reports_malformed_range),
        cmocka_unit_test(test_contract_load_reports_overlapping_ranges),
        cmocka_unit_test(test_contract_load_reports_unknown_reason_code),
        cmocka_unit_test(test_contract_load_reports_missing_required_key),
        cmocka_unit_test(test_contract_load_reports_yaml_syntax_error),
        cmocka_unit_test(test_contract_load_reports_every_problem_not_only_the_first),
        cmocka_unit_test(test_contract_load_fails_cleanly_at_every_allocation),
        cmocka_unit_test(test_contract_reason_text_knows_the_standard_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
