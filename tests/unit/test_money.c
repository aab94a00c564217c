/*
 * test_money.c - unit tests for money.h: parsing and formatting amounts and
 * rates, checked arithmetic, muldiv rounding and largest-remainder splits.
 *
 * Every expected value here was worked out by hand from the header's
 * contract (the arithmetic is in the comments), not read back from the
 * implementation.  Table-driven tests name the failing row in their message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <string.h>

#include "settle/error.h"
#include "settle/money.h"

/* A value no call under test should produce, to see that outputs are left alone. */
#define SENTINEL_CENTS INT64_C(-777777777)
#define SENTINEL_BPS   INT32_C(-7777)

/* 0x5555555555555555: three times it is 2^64 - 1, so times 3 over 2 is INT64_MAX + 0.5. */
#define THIRD_OF_TWO_TO_THE_64 INT64_C(6148914691236517205)

static const money_round_t ALL_MODES[4] = {MONEY_ROUND_HALF_UP, MONEY_ROUND_HALF_EVEN,
                                           MONEY_ROUND_DOWN, MONEY_ROUND_UP};
static const char *const MODE_NAMES[4] = {"HALF_UP", "HALF_EVEN", "DOWN", "UP"};

/* ------------------------------------------------------------------ */
/* Parsing amounts                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *text;
    int64_t cents;
} amount_case_t;

typedef struct {
    const char *text;
    int code;
} reject_case_t;

static void check_parses(const amount_case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int64_t cents = SENTINEL_CENTS;
        int rc = money_parse(cases[i].text, strlen(cases[i].text), &cents);
        if (rc != SETTLE_OK || cents != cases[i].cents) {
            fail_msg("money_parse(\"%s\"): rc %d, cents %" PRId64 "; expected rc 0, cents %" PRId64,
                     cases[i].text, rc, cents, cases[i].cents);
        }
    }
}

static void check_parse_rejects(const reject_case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int64_t cents = SENTINEL_CENTS;
        int rc = money_parse(cases[i].text, strlen(cases[i].text), &cents);
        if (rc != cases[i].code || cents != SENTINEL_CENTS) {
            fail_msg("money_parse(\"%s\"): rc %d (%s), cents %" PRId64
                     "; expected rc %d (%s) and cents untouched",
                     cases[i].text, rc, settle_error_name(rc), cents, cases[i].code,
                     settle_error_name(cases[i].code));
        }
    }
}

static void test_money_parse_reads_the_documented_forms(void **state)
{
    (void)state;
    static const amount_case_t cases[] = {
        {"1234.50", 123450}, {"1234.5", 123450}, {"1234", 123400}, {".50", 50},
        {"-12.00", -1200},   {"0", 0},           {".5", 50},       {"0.05", 5},
        {"0.5", 50},         {"7", 700},         {"-0.01", -1},    {"-12", -1200},
    };
    check_parses(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_parse_reads_negative_zero_as_zero(void **state)
{
    (void)state;
    static const amount_case_t cases[] = {{"-0", 0}, {"-0.00", 0}, {"-.5", -50}};
    check_parses(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_parse_rejects_three_decimals(void **state)
{
    (void)state;
    static const reject_case_t cases[] = {
        {"12.345", SETTLE_ERR_SYNTAX},
        {"0.001", SETTLE_ERR_SYNTAX},
        {"-1.000", SETTLE_ERR_SYNTAX},
    };
    check_parse_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_parse_rejects_text_that_is_not_an_amount(void **state)
{
    (void)state;
    static const reject_case_t cases[] = {
        {"-", SETTLE_ERR_SYNTAX},     {"", SETTLE_ERR_SYNTAX},      {"1e3", SETTLE_ERR_SYNTAX},
        {"20%%", SETTLE_ERR_SYNTAX},  {"20%", SETTLE_ERR_SYNTAX},   {" 1", SETTLE_ERR_SYNTAX},
        {"1 ", SETTLE_ERR_SYNTAX},    {"1,000", SETTLE_ERR_SYNTAX}, {"+5", SETTLE_ERR_SYNTAX},
        {"1.", SETTLE_ERR_SYNTAX},    {"..", SETTLE_ERR_SYNTAX},    {".", SETTLE_ERR_SYNTAX},
        {"-.", SETTLE_ERR_SYNTAX},    {"--1", SETTLE_ERR_SYNTAX},   {"1-", SETTLE_ERR_SYNTAX},
        {"1.2.3", SETTLE_ERR_SYNTAX}, {"1..5", SETTLE_ERR_SYNTAX},  {"0x10", SETTLE_ERR_SYNTAX},
        {"12a", SETTLE_ERR_SYNTAX},   {"\t1", SETTLE_ERR_SYNTAX},   {"$5", SETTLE_ERR_SYNTAX},
        {"1.-5", SETTLE_ERR_SYNTAX},  {"- 1", SETTLE_ERR_SYNTAX},   {"1.5e2", SETTLE_ERR_SYNTAX},
    };
    check_parse_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_parse_reads_the_largest_and_smallest_amounts(void **state)
{
    (void)state;
    /* INT64_MAX = 9223372036854775807 cents; INT64_MIN = -9223372036854775808 cents. */
    static const amount_case_t cases[] = {
        {"92233720368547758.07", INT64_MAX},
        {"-92233720368547758.07", -INT64_MAX},
        {"-92233720368547758.08", INT64_MIN},
        {"92233720368547758", INT64_C(9223372036854775800)},
    };
    check_parses(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_parse_reports_overflow_for_amounts_beyond_64_bits(void **state)
{
    (void)state;
    static const reject_case_t cases[] = {
        {"92233720368547758.08", SETTLE_ERR_OVERFLOW},  /* INT64_MAX + 1 */
        {"92233720368547758.1", SETTLE_ERR_OVERFLOW},   /* INT64_MAX + 3 */
        {"92233720368547759", SETTLE_ERR_OVERFLOW},     /* INT64_MAX + 93 */
        {"-92233720368547758.09", SETTLE_ERR_OVERFLOW}, /* INT64_MIN - 1 */
        {"184467440737095516.16", SETTLE_ERR_OVERFLOW}, /* 2^64: wraps to 0 if unchecked */
        {"184467440737095516.17", SETTLE_ERR_OVERFLOW}, /* 2^64 + 1: wraps to 1 */
        {"100000000000000000000", SETTLE_ERR_OVERFLOW}, /* 10^22 cents */
        {"99999999999999999999.99", SETTLE_ERR_OVERFLOW},
        {"-99999999999999999999999999999999", SETTLE_ERR_OVERFLOW},
    };
    check_parse_rejects(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_parse_stops_at_the_given_length(void **state)
{
    (void)state;
    int64_t cents = SENTINEL_CENTS;

    /* "12.5" of "12.505": the third decimal lies past the length. */
    assert_int_equal(money_parse("12.505", 4, &cents), SETTLE_OK);
    assert_int_equal(cents, 1250);

    assert_int_equal(money_parse("12.345", 5, &cents), SETTLE_OK);
    assert_int_equal(cents, 1234);

    assert_int_equal(money_parse("12x", 2, &cents), SETTLE_OK);
    assert_int_equal(cents, 1200);

    /* A buffer with no NUL anywhere: reading past it would be caught by ASan. */
    const char unterminated[4] = {'9', '9', '.', '9'};
    assert_int_equal(money_parse(unterminated, sizeof unterminated, &cents), SETTLE_OK);
    assert_int_equal(cents, 9990);
}

static void test_money_parse_rejects_empty_length_and_embedded_nul(void **state)
{
    (void)state;
    int64_t cents = SENTINEL_CENTS;

    assert_int_equal(money_parse("5", 0, &cents), SETTLE_ERR_SYNTAX);
    assert_int_equal(cents, SENTINEL_CENTS);

    /* The NUL is inside the length, so it is a character of the text. */
    assert_int_equal(money_parse("1\0", 2, &cents), SETTLE_ERR_SYNTAX);
    assert_int_equal(cents, SENTINEL_CENTS);

    /* "12." is the first three bytes of "12.50": a point with no digits after it. */
    assert_int_equal(money_parse("12.50", 3, &cents), SETTLE_ERR_SYNTAX);
    assert_int_equal(cents, SENTINEL_CENTS);
}

/* ------------------------------------------------------------------ */
/* Parsing rates                                                       */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *text;
    int32_t bps;
} rate_case_t;

static void test_money_parse_rate_reads_percentages_as_basis_points(void **state)
{
    (void)state;
    static const rate_case_t cases[] = {
        {"20%", 2000},   {"12.5%", 1250}, {"0.25%", 25},      {"140%", 14000},
        {"100%", 10000}, {"0%", 0},       {"100.00%", 10000}, {"12.50%", 1250},
        {"0.01%", 1},    {".5%", 50},     {"7.05%", 705},     {"21474836.47%", INT32_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t bps = SENTINEL_BPS;
        int rc = money_parse_rate(cases[i].text, strlen(cases[i].text), &bps);
        if (rc != SETTLE_OK || bps != cases[i].bps) {
            fail_msg("money_parse_rate(\"%s\"): rc %d, bps %" PRId32 "; expected 0, %" PRId32,
                     cases[i].text, rc, bps, cases[i].bps);
        }
    }
}

static void test_money_parse_rate_rejects_what_is_not_a_percentage(void **state)
{
    (void)state;
    static const reject_case_t cases[] = {
        {"20", SETTLE_ERR_SYNTAX},      {"20%%", SETTLE_ERR_SYNTAX},
        {"12.345%", SETTLE_ERR_SYNTAX}, {"-5%", SETTLE_ERR_SYNTAX},
        {"+5%", SETTLE_ERR_SYNTAX},     {"%", SETTLE_ERR_SYNTAX},
        {"1e2%", SETTLE_ERR_SYNTAX},    {"", SETTLE_ERR_SYNTAX},
        {" 20%", SETTLE_ERR_SYNTAX},    {"20 %", SETTLE_ERR_SYNTAX},
        {"20% ", SETTLE_ERR_SYNTAX},    {"%20", SETTLE_ERR_SYNTAX},
        {".%", SETTLE_ERR_SYNTAX},      {"1.%", SETTLE_ERR_SYNTAX},
        {"1,000%", SETTLE_ERR_SYNTAX},  {"20.0.0%", SETTLE_ERR_SYNTAX},
        {"0.001%", SETTLE_ERR_SYNTAX},  {"twenty%", SETTLE_ERR_SYNTAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t bps = SENTINEL_BPS;
        int rc = money_parse_rate(cases[i].text, strlen(cases[i].text), &bps);
        if (rc != cases[i].code || bps != SENTINEL_BPS) {
            fail_msg("money_parse_rate(\"%s\"): rc %d (%s), bps %" PRId32
                     "; expected rc %d and bps untouched",
                     cases[i].text, rc, settle_error_name(rc), bps, cases[i].code);
        }
    }
}

static void test_money_parse_rate_reports_overflow_above_int32_max_basis_points(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "21474836.48%", /* INT32_MAX + 1 bps */
        "21474837%",    /* INT32_MAX + 53 bps */
        "42949672.96%", /* 2^32 bps: wraps to 0 if unchecked */
        "99999999999999999999%",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t bps = SENTINEL_BPS;
        int rc = money_parse_rate(texts[i], strlen(texts[i]), &bps);
        if (rc != SETTLE_ERR_OVERFLOW || bps != SENTINEL_BPS) {
            fail_msg("money_parse_rate(\"%s\"): rc %d, bps %" PRId32
                     "; expected SETTLE_ERR_OVERFLOW and bps untouched",
                     texts[i], rc, bps);
        }
    }
}

static void test_money_parse_rate_stops_at_the_given_length(void **state)
{
    (void)state;
    int32_t bps = SENTINEL_BPS;

    assert_int_equal(money_parse_rate("20%5", 3, &bps), SETTLE_OK);
    assert_int_equal(bps, 2000);

    const char unterminated[5] = {'1', '2', '.', '5', '%'};
    assert_int_equal(money_parse_rate(unterminated, sizeof unterminated, &bps), SETTLE_OK);
    assert_int_equal(bps, 1250);

    /* Without its last byte "20%" is "20", which has no '%'. */
    bps = SENTINEL_BPS;
    assert_int_equal(money_parse_rate("20%", 2, &bps), SETTLE_ERR_SYNTAX);
    assert_int_equal(bps, SENTINEL_BPS);
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

static void test_money_format_writes_two_decimals_and_a_leading_minus(void **state)
{
    (void)state;
    static const struct {
        int64_t cents;
        const char *text;
    } cases[] = {
        {123450, "1234.50"},
        {-5, "-0.05"},
        {0, "0.00"},
        {5, "0.05"},
        {50, "0.50"},
        {100, "1.00"},
        {-100, "-1.00"},
        {-123450, "-1234.50"},
        {1, "0.01"},
        {-99, "-0.99"},
        {1000000, "10000.00"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
        {-INT64_MAX, "-92233720368547758.07"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buffer[MONEY_TEXT_SIZE];
        memset(buffer, '#', sizeof buffer);
        int rc = money_format(cases[i].cents, buffer, sizeof buffer);
        if (rc != SETTLE_OK || memchr(buffer, '\0', sizeof buffer) == NULL ||
            strcmp(buffer, cases[i].text) != 0) {
            fail_msg("money_format(%" PRId64 "): rc %d, text \"%.*s\"; expected \"%s\"",
                     cases[i].cents, rc, (int)sizeof buffer, buffer, cases[i].text);
        }
    }
}

static void test_money_format_fits_an_exact_buffer_and_writes_nothing_past_it(void **state)
{
    (void)state;
    char buffer[16];

    /* "1234.50" is 7 characters, 8 bytes with the NUL. */
    memset(buffer, '#', sizeof buffer);
    assert_int_equal(money_format(123450, buffer, 8), SETTLE_OK);
    assert_string_equal(buffer, "1234.50");
    for (size_t i = 8; i < sizeof buffer; i++) {
        assert_int_equal(buffer[i], '#');
    }

    /* "-92233720368547758.08" is 21 characters, 22 bytes. */
    char widest[MONEY_TEXT_SIZE];
    memset(widest, '#', sizeof widest);
    assert_int_equal(money_format(INT64_MIN, widest, 22), SETTLE_OK);
    assert_string_equal(widest, "-92233720368547758.08");
    assert_int_equal(widest[22], '#');
}

static void test_money_format_reports_too_long_for_a_small_buffer(void **state)
{
    (void)state;
    char buffer[MONEY_TEXT_SIZE];

    memset(buffer, '#', sizeof buffer);
    assert_int_equal(money_format(123450, buffer, 7), SETTLE_ERR_TOO_LONG);
    for (size_t i = 7; i < sizeof buffer; i++) {
        assert_int_equal(buffer[i], '#');
    }
    assert_int_equal(money_format(123450, buffer, 1), SETTLE_ERR_TOO_LONG);
    assert_int_equal(money_format(0, buffer, 4), SETTLE_ERR_TOO_LONG);  /* "0.00" needs 5 */
    assert_int_equal(money_format(-5, buffer, 5), SETTLE_ERR_TOO_LONG); /* "-0.05" needs 6 */
    assert_int_equal(money_format(INT64_MIN, buffer, 21), SETTLE_ERR_TOO_LONG);
    assert_int_equal(money_format(0, buffer, 0), SETTLE_ERR_TOO_LONG);
}

static void test_money_format_rate_writes_the_shortest_percentage(void **state)
{
    (void)state;
    static const struct {
        int32_t bps;
        const char *text;
    } cases[] = {
        {2000, "20%"},
        {1250, "12.5%"},
        {25, "0.25%"},
        {10000, "100%"},
        {14000, "140%"},
        {0, "0%"},
        {1, "0.01%"},
        {5, "0.05%"},
        {50, "0.5%"},
        {10050, "100.5%"},
        {10001, "100.01%"},
        {705, "7.05%"},
        {100, "1%"},
        {-1250, "-12.5%"},
        {INT32_MAX, "21474836.47%"},
        {INT32_MIN, "-21474836.48%"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buffer[MONEY_TEXT_SIZE];
        memset(buffer, '#', sizeof buffer);
        int rc = money_format_rate(cases[i].bps, buffer, sizeof buffer);
        if (rc != SETTLE_OK || memchr(buffer, '\0', sizeof buffer) == NULL ||
            strcmp(buffer, cases[i].text) != 0) {
            fail_msg("money_format_rate(%" PRId32 "): rc %d, text \"%.*s\"; expected \"%s\"",
                     cases[i].bps, rc, (int)sizeof buffer, buffer, cases[i].text);
        }
    }
}

static void test_money_format_rate_reports_too_long_for_a_small_buffer(void **state)
{
    (void)state;
    char buffer[MONEY_TEXT_SIZE];

    /* "12.5%" is 5 characters, 6 bytes. */
    memset(buffer, '#', sizeof buffer);
    assert_int_equal(money_format_rate(1250, buffer, 6), SETTLE_OK);
    assert_string_equal(buffer, "12.5%");
    assert_int_equal(buffer[6], '#');

    memset(buffer, '#', sizeof buffer);
    assert_int_equal(money_format_rate(1250, buffer, 5), SETTLE_ERR_TOO_LONG);
    for (size_t i = 5; i < sizeof buffer; i++) {
        assert_int_equal(buffer[i], '#');
    }
    assert_int_equal(money_format_rate(2000, buffer, 3), SETTLE_ERR_TOO_LONG); /* "20%" needs 4 */
    assert_int_equal(money_format_rate(0, buffer, 0), SETTLE_ERR_TOO_LONG);
}

static void test_money_format_and_parse_round_trip(void **state)
{
    (void)state;
    static const int64_t amounts[] = {0,     1,      -1,        99,        -99,       100,
                                      12345, -12345, 100000001, INT64_MAX, INT64_MIN, -INT64_MAX};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        char buffer[MONEY_TEXT_SIZE];
        int64_t back = SENTINEL_CENTS;
        assert_int_equal(money_format(amounts[i], buffer, sizeof buffer), SETTLE_OK);
        assert_int_equal(money_parse(buffer, strlen(buffer), &back), SETTLE_OK);
        assert_int_equal(back, amounts[i]);
    }
    for (int64_t cents = -1000; cents <= 1000; cents++) {
        char buffer[MONEY_TEXT_SIZE];
        int64_t back = SENTINEL_CENTS;
        assert_int_equal(money_format(cents, buffer, sizeof buffer), SETTLE_OK);
        assert_int_equal(money_parse(buffer, strlen(buffer), &back), SETTLE_OK);
        assert_int_equal(back, cents);
    }
    for (int32_t bps = 0; bps <= 20000; bps++) {
        char buffer[MONEY_TEXT_SIZE];
        int32_t back = SENTINEL_BPS;
        assert_int_equal(money_format_rate(bps, buffer, sizeof buffer), SETTLE_OK);
        assert_int_equal(money_parse_rate(buffer, strlen(buffer), &back), SETTLE_OK);
        assert_int_equal(back, bps);
    }
}

/* ------------------------------------------------------------------ */
/* Checked add, sub, mul                                               */
/* ------------------------------------------------------------------ */

static void test_money_add_sums_and_reports_overflow_at_the_limits(void **state)
{
    (void)state;
    int64_t sum = SENTINEL_CENTS;

    assert_int_equal(money_add(100, 250, &sum), SETTLE_OK);
    assert_int_equal(sum, 350);
    assert_int_equal(money_add(-100, 50, &sum), SETTLE_OK);
    assert_int_equal(sum, -50);
    assert_int_equal(money_add(INT64_MAX, 0, &sum), SETTLE_OK);
    assert_int_equal(sum, INT64_MAX);
    assert_int_equal(money_add(INT64_MAX, INT64_MIN, &sum), SETTLE_OK);
    assert_int_equal(sum, -1);
    assert_int_equal(money_add(INT64_MIN, 0, &sum), SETTLE_OK);
    assert_int_equal(sum, INT64_MIN);
    assert_int_equal(money_add(INT64_MAX - 1, 1, &sum), SETTLE_OK);
    assert_int_equal(sum, INT64_MAX);
    assert_int_equal(money_add(INT64_MIN + 1, -1, &sum), SETTLE_OK);
    assert_int_equal(sum, INT64_MIN);

    sum = SENTINEL_CENTS;
    assert_int_equal(money_add(INT64_MAX, 1, &sum), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_add(1, INT64_MAX, &sum), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_add(INT64_MIN, -1, &sum), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_add(INT64_MAX, INT64_MAX, &sum), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_add(INT64_MIN, INT64_MIN, &sum), SETTLE_ERR_OVERFLOW);
    assert_int_equal(sum, SENTINEL_CENTS);
}

static void test_money_sub_subtracts_and_reports_overflow_at_the_limits(void **state)
{
    (void)state;
    int64_t difference = SENTINEL_CENTS;

    assert_int_equal(money_sub(100, 250, &difference), SETTLE_OK);
    assert_int_equal(difference, -150);
    assert_int_equal(money_sub(-1, INT64_MIN, &difference), SETTLE_OK);
    assert_int_equal(difference, INT64_MAX);
    assert_int_equal(money_sub(INT64_MIN, -1, &difference), SETTLE_OK);
    assert_int_equal(difference, INT64_MIN + 1);
    assert_int_equal(money_sub(INT64_MIN, 0, &difference), SETTLE_OK);
    assert_int_equal(difference, INT64_MIN);
    assert_int_equal(money_sub(0, INT64_MAX, &difference), SETTLE_OK);
    assert_int_equal(difference, -INT64_MAX);
    assert_int_equal(money_sub(-1, INT64_MAX, &difference), SETTLE_OK);
    assert_int_equal(difference, INT64_MIN);

    difference = SENTINEL_CENTS;
    assert_int_equal(money_sub(INT64_MIN, 1, &difference), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_sub(0, INT64_MIN, &difference), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_sub(INT64_MAX, -1, &difference), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_sub(-2, INT64_MAX, &difference), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_sub(INT64_MAX, INT64_MIN, &difference), SETTLE_ERR_OVERFLOW);
    assert_int_equal(difference, SENTINEL_CENTS);
}

static void test_money_mul_multiplies_and_reports_overflow_at_the_limits(void **state)
{
    (void)state;
    int64_t product = SENTINEL_CENTS;

    assert_int_equal(money_mul(1250, 3, &product), SETTLE_OK);
    assert_int_equal(product, 3750);
    assert_int_equal(money_mul(1250, -3, &product), SETTLE_OK);
    assert_int_equal(product, -3750);
    assert_int_equal(money_mul(-1250, -3, &product), SETTLE_OK);
    assert_int_equal(product, 3750);
    assert_int_equal(money_mul(INT64_MAX, 0, &product), SETTLE_OK);
    assert_int_equal(product, 0);
    assert_int_equal(money_mul(INT64_MIN, 1, &product), SETTLE_OK);
    assert_int_equal(product, INT64_MIN);
    assert_int_equal(money_mul(INT64_MAX, -1, &product), SETTLE_OK);
    assert_int_equal(product, -INT64_MAX);
    /* -2^62 * 2 = -2^63 = INT64_MIN, which fits. */
    assert_int_equal(money_mul(-INT64_C(4611686018427387904), 2, &product), SETTLE_OK);
    assert_int_equal(product, INT64_MIN);
    /* 3037000499^2 = 9223372030926249001, just under INT64_MAX. */
    assert_int_equal(money_mul(INT64_C(3037000499), INT64_C(3037000499), &product), SETTLE_OK);
    assert_int_equal(product, INT64_C(9223372030926249001));

    product = SENTINEL_CENTS;
    assert_int_equal(money_mul(INT64_MAX, 2, &product), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_mul(INT64_MIN, -1, &product), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_mul(-1, INT64_MIN, &product), SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_mul(INT64_MIN, 2, &product), SETTLE_ERR_OVERFLOW);
    /* 2^62 * 2 = 2^63, one past INT64_MAX. */
    assert_int_equal(money_mul(INT64_C(4611686018427387904), 2, &product), SETTLE_ERR_OVERFLOW);
    /* 3037000500^2 = 9223372037000250000 > INT64_MAX. */
    assert_int_equal(money_mul(INT64_C(3037000500), INT64_C(3037000500), &product),
                     SETTLE_ERR_OVERFLOW);
    /* 2^32 * 2^32 = 2^64: wraps to exactly 0 if unchecked. */
    assert_int_equal(money_mul(INT64_C(4294967296), INT64_C(4294967296), &product),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(product, SENTINEL_CENTS);
}

/* ------------------------------------------------------------------ */
/* muldiv and apply_rate                                               */
/* ------------------------------------------------------------------ */

/* One exact quotient and what each mode must make of it, in ALL_MODES order. */
typedef struct {
    int64_t amount;
    int64_t numerator;
    int64_t denominator;
    int64_t expected[4]; /* HALF_UP, HALF_EVEN, DOWN, UP */
} muldiv_case_t;

static void check_muldiv_cases(const muldiv_case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        for (size_t m = 0; m < 4; m++) {
            int64_t result = SENTINEL_CENTS;
            int rc = money_muldiv(cases[i].amount, cases[i].numerator, cases[i].denominator,
                                  ALL_MODES[m], &result);
            if (rc != SETTLE_OK || result != cases[i].expected[m]) {
                fail_msg("money_muldiv(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s): rc %d, "
                         "result %" PRId64 "; expected rc 0, result %" PRId64,
                         cases[i].amount, cases[i].numerator, cases[i].denominator, MODE_NAMES[m],
                         rc, result, cases[i].expected[m]);
            }
        }
    }
}

static void test_money_muldiv_rounds_exact_half_ties_by_each_mode(void **state)
{
    (void)state;
    static const muldiv_case_t cases[] = {
        /* 5/2 = 2.5: away from zero 3, to even 2, toward zero 2, away 3. */
        {5, 1, 2, {3, 2, 2, 3}},
        /* 7/2 = 3.5: the even neighbour is 4. */
        {7, 1, 2, {4, 4, 3, 4}},
        /* -5/2 = -2.5 mirrors 2.5. */
        {-5, 1, 2, {-3, -2, -2, -3}},
        {-7, 1, 2, {-4, -4, -3, -4}},
        /* The sign may come from any of the three operands. */
        {5, 1, -2, {-3, -2, -2, -3}},
        {5, -1, 2, {-3, -2, -2, -3}},
        {-5, 1, -2, {3, 2, 2, 3}},
        {-5, -1, -2, {-3, -2, -2, -3}},
        /* 1/2 = 0.5 and -1/2: to even is 0 both ways. */
        {1, 1, 2, {1, 0, 0, 1}},
        {-1, 1, 2, {-1, 0, 0, -1}},
        /* 125 * 1 / 10 = 12.5, the header's 0.125 -> 0.13 in cents. */
        {125, 1, 10, {13, 12, 12, 13}},
        {-125, 1, 10, {-13, -12, -12, -13}},
        /* 3 * 5 / 2 = 7.5: the product, not the amount, makes the tie. */
        {3, 5, 2, {8, 8, 7, 8}},
    };
    check_muldiv_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_muldiv_rounds_non_ties_to_the_nearest_cent(void **state)
{
    (void)state;
    static const muldiv_case_t cases[] = {
        /* 10/3 = 3.33: only UP moves. */
        {10, 1, 3, {3, 3, 3, 4}},
        /* 20/3 = 6.67: nearest is 7, DOWN keeps 6. */
        {20, 1, 3, {7, 7, 6, 7}},
        {-10, 1, 3, {-3, -3, -3, -4}},
        {-20, 1, 3, {-7, -7, -6, -7}},
        /* Exact quotients are the same in every mode. */
        {1000, 3, 4, {750, 750, 750, 750}},
        {0, 5, 7, {0, 0, 0, 0}},
        {-1200, 1, 1, {-1200, -1200, -1200, -1200}},
        /* (10^9 + 7)(10^9 - 63) = 10^18 - 56*10^9 - 441 = 999999943999999559, and
         * 999999935 * (10^9 + 9) = 999999943999999415: quotient 999999935 remainder
         * 144 of 1000000009, far under half, so only UP moves. */
        {1000000007, 999999937, 1000000009, {999999935, 999999935, 999999935, 999999936}},
    };
    check_muldiv_cases(cases, sizeof cases / sizeof cases[0]);

    /* The same row in 64-bit integers, which hold both products (under 2^63). */
    int64_t product = INT64_C(1000000007) * INT64_C(999999937);
    assert_int_equal(product, INT64_C(999999943999999559));
    assert_int_equal(product / INT64_C(1000000009), 999999935);
    assert_int_equal(product % INT64_C(1000000009), 144);
}

static void test_money_muldiv_keeps_128_bit_intermediates(void **state)
{
    (void)state;
    static const muldiv_case_t cases[] = {
        /* The product does not fit in 64 bits, the quotient does. */
        {INT64_MAX, 3, 3, {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}},
        {INT64_MIN, 3, 3, {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN}},
        {INT64_MAX, INT64_MAX, INT64_MAX, {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}},
        {INT64_MIN, INT64_MIN, INT64_MIN, {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN}},
        {INT64_MIN, 1, INT64_MIN, {1, 1, 1, 1}},
        /* -2^63 * -1 / 2 = 2^62: the magnitude 2^63 passes through. */
        {INT64_MIN,
         -1,
         2,
         {INT64_C(4611686018427387904), INT64_C(4611686018427387904), INT64_C(4611686018427387904),
          INT64_C(4611686018427387904)}},
        /* (2^63-1)/2 = 2^62 - 0.5: a tie; 2^62 is even. */
        {INT64_MAX,
         1,
         2,
         {INT64_C(4611686018427387904), INT64_C(4611686018427387904), INT64_C(4611686018427387903),
          INT64_C(4611686018427387904)}},
        /* (2^63-1)^2 / -2^63 = -(2^63 - 2 + 2^-63): a hair past -9223372036854775806. */
        {INT64_MAX,
         INT64_MAX,
         INT64_MIN,
         {-INT64_C(9223372036854775806), -INT64_C(9223372036854775806),
          -INT64_C(9223372036854775806), -INT64_MAX}},
        /* 2^62 * 3 / -2^63 = -1.5: a tie found only in 128 bits. */
        {INT64_C(4611686018427387904), 3, INT64_MIN, {-2, -2, -1, -2}},
        /* (2^64 - 1) / 2 * -1 = -(2^63 - 0.5): rounding away from zero lands on
         * INT64_MIN, which fits; toward zero gives -INT64_MAX. */
        {-THIRD_OF_TWO_TO_THE_64, 3, 2, {INT64_MIN, INT64_MIN, -INT64_MAX, INT64_MIN}},
    };
    check_muldiv_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_money_muldiv_reports_overflow_when_the_result_does_not_fit(void **state)
{
    (void)state;
    static const struct {
        int64_t amount;
        int64_t numerator;
        int64_t denominator;
    } cases[] = {
        {INT64_MAX, 2, 1},
        {INT64_MIN, -1, 1},
        {INT64_MIN, 1, -1},
        {INT64_MAX, 1000, 999},
        {INT64_MIN, INT64_MIN, 1},
        {INT64_MAX, INT64_MAX, 1},
        {INT64_MIN, INT64_MIN, INT64_MAX}, /* 2^126 / (2^63-1) > 2^63 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t m = 0; m < 4; m++) {
            int64_t result = SENTINEL_CENTS;
            int rc = money_muldiv(cases[i].amount, cases[i].numerator, cases[i].denominator,
                                  ALL_MODES[m], &result);
            if (rc != SETTLE_ERR_OVERFLOW || result != SENTINEL_CENTS) {
                fail_msg("money_muldiv(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s): rc %d, "
                         "result %" PRId64 "; expected SETTLE_ERR_OVERFLOW, result untouched",
                         cases[i].amount, cases[i].numerator, cases[i].denominator, MODE_NAMES[m],
                         rc, result);
            }
        }
    }
}

static void test_money_muldiv_reports_overflow_when_rounding_pushes_past_the_limit(void **state)
{
    (void)state;
    int64_t result = SENTINEL_CENTS;

    /* (2^64 - 1) / 2 = INT64_MAX + 0.5.  Toward zero it fits; the tie goes up
     * for HALF_UP, to the even 2^63 for HALF_EVEN, and up for UP: all past INT64_MAX. */
    assert_int_equal(money_muldiv(THIRD_OF_TWO_TO_THE_64, 3, 2, MONEY_ROUND_DOWN, &result),
                     SETTLE_OK);
    assert_int_equal(result, INT64_MAX);

    result = SENTINEL_CENTS;
    assert_int_equal(money_muldiv(THIRD_OF_TWO_TO_THE_64, 3, 2, MONEY_ROUND_HALF_UP, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_muldiv(THIRD_OF_TWO_TO_THE_64, 3, 2, MONEY_ROUND_HALF_EVEN, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_muldiv(THIRD_OF_TWO_TO_THE_64, 3, 2, MONEY_ROUND_UP, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(result, SENTINEL_CENTS);

    /* 2515465100960393402 * 11 = 27670116110564327422 = 3 * INT64_MAX + 1, so over 3
     * it is INT64_MAX + 1/3: under half, so only UP goes past INT64_MAX. */
    const int64_t eleventh = INT64_C(2515465100960393402);
    assert_int_equal(money_muldiv(eleventh, 11, 3, MONEY_ROUND_HALF_UP, &result), SETTLE_OK);
    assert_int_equal(result, INT64_MAX);
    assert_int_equal(money_muldiv(eleventh, 11, 3, MONEY_ROUND_HALF_EVEN, &result), SETTLE_OK);
    assert_int_equal(result, INT64_MAX);
    assert_int_equal(money_muldiv(eleventh, 11, 3, MONEY_ROUND_DOWN, &result), SETTLE_OK);
    assert_int_equal(result, INT64_MAX);
    result = SENTINEL_CENTS;
    assert_int_equal(money_muldiv(eleventh, 11, 3, MONEY_ROUND_UP, &result), SETTLE_ERR_OVERFLOW);
    assert_int_equal(result, SENTINEL_CENTS);

    /* The mirror, -(INT64_MAX + 1/3), rounded away from zero is INT64_MIN, which fits. */
    assert_int_equal(money_muldiv(-eleventh, 11, 3, MONEY_ROUND_UP, &result), SETTLE_OK);
    assert_int_equal(result, INT64_MIN);
    assert_int_equal(money_muldiv(-eleventh, 11, 3, MONEY_ROUND_HALF_UP, &result), SETTLE_OK);
    assert_int_equal(result, -INT64_MAX);
}

static void test_money_muldiv_rejects_a_zero_denominator(void **state)
{
    (void)state;
    for (size_t m = 0; m < 4; m++) {
        int64_t result = SENTINEL_CENTS;
        assert_int_equal(money_muldiv(100, 1, 0, ALL_MODES[m], &result), SETTLE_ERR_INVALID);
        assert_int_equal(money_muldiv(0, 0, 0, ALL_MODES[m], &result), SETTLE_ERR_INVALID);
        assert_int_equal(money_muldiv(INT64_MAX, INT64_MAX, 0, ALL_MODES[m], &result),
                         SETTLE_ERR_INVALID);
        assert_int_equal(result, SENTINEL_CENTS);
    }
}

typedef struct {
    int64_t cents;
    int32_t bps;
    int64_t expected[4]; /* HALF_UP, HALF_EVEN, DOWN, UP */
} rate_apply_case_t;

static void test_money_apply_rate_rounds_by_each_mode(void **state)
{
    (void)state;
    static const rate_apply_case_t cases[] = {
        /* 10001 * 20% = 2000.2 cents. */
        {10001, 2000, {2000, 2000, 2000, 2001}},
        /* 1 * 12.5% = 0.125 cents: under half. */
        {1, 1250, {0, 0, 0, 1}},
        /* 4 * 12.5% = 0.5: a tie, 0 is even. */
        {4, 1250, {1, 0, 0, 1}},
        /* 12 * 12.5% = 1.5: a tie, 2 is even. */
        {12, 1250, {2, 2, 1, 2}},
        {-4, 1250, {-1, 0, 0, -1}},
        {-12, 1250, {-2, -2, -1, -2}},
        /* 5 * 50% = 2.5 and 15 * 50% = 7.5. */
        {5, 5000, {3, 2, 2, 3}},
        {15, 5000, {8, 8, 7, 8}},
        {3, 5000, {2, 2, 1, 2}},
        {-1, 5000, {-1, 0, 0, -1}},
        /* 125 * 10% = 12.5, the header's 0.125 -> 0.13. */
        {125, 1000, {13, 12, 12, 13}},
        {-125, 1000, {-13, -12, -12, -13}},
        /* 12345 * 20% = 2469 exactly. */
        {12345, 2000, {2469, 2469, 2469, 2469}},
        /* 33333 * 33.33% = 11109.8889. */
        {33333, 3333, {11110, 11110, 11109, 11110}},
        {100, 14000, {140, 140, 140, 140}},
        {0, 2000, {0, 0, 0, 0}},
        {12345, 0, {0, 0, 0, 0}},
        /* 100% of the extremes needs the 128-bit product. */
        {INT64_MAX, 10000, {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}},
        {INT64_MIN, 10000, {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN}},
        /* 50% of INT64_MAX = 2^62 - 0.5. */
        {INT64_MAX,
         5000,
         {INT64_C(4611686018427387904), INT64_C(4611686018427387904), INT64_C(4611686018427387903),
          INT64_C(4611686018427387904)}},
        {INT64_MIN,
         5000,
         {-INT64_C(4611686018427387904), -INT64_C(4611686018427387904),
          -INT64_C(4611686018427387904), -INT64_C(4611686018427387904)}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t m = 0; m < 4; m++) {
            int64_t result = SENTINEL_CENTS;
            int rc = money_apply_rate(cases[i].cents, cases[i].bps, ALL_MODES[m], &result);
            if (rc != SETTLE_OK || result != cases[i].expected[m]) {
                fail_msg("money_apply_rate(%" PRId64 ", %" PRId32 ", %s): rc %d, result %" PRId64
                         "; expected rc 0, result %" PRId64,
                         cases[i].cents, cases[i].bps, MODE_NAMES[m], rc, result,
                         cases[i].expected[m]);
            }
        }
    }
}

static void test_money_apply_rate_applies_a_negative_rate_as_amount_times_bps(void **state)
{
    (void)state;
    int64_t result = SENTINEL_CENTS;

    /* 1000 * -20% = -200, exactly; the header defines the result as amount * bps / 10000. */
    assert_int_equal(money_apply_rate(1000, -2000, MONEY_ROUND_HALF_UP, &result), SETTLE_OK);
    assert_int_equal(result, -200);
}

static void test_money_apply_rate_reports_overflow(void **state)
{
    (void)state;
    int64_t result = SENTINEL_CENTS;

    /* 200% of INT64_MAX, 100.01% of INT64_MAX, 200% of INT64_MIN. */
    assert_int_equal(money_apply_rate(INT64_MAX, 20000, MONEY_ROUND_DOWN, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_apply_rate(INT64_MAX, 10001, MONEY_ROUND_DOWN, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_apply_rate(INT64_MIN, 20000, MONEY_ROUND_HALF_UP, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(money_apply_rate(INT64_MAX, INT32_MAX, MONEY_ROUND_UP, &result),
                     SETTLE_ERR_OVERFLOW);
    assert_int_equal(result, SENTINEL_CENTS);
}

/* ------------------------------------------------------------------ */
/* split                                                               */
/* ------------------------------------------------------------------ */

#define SPLIT_PARTS_MAX 16

static void check_split(int64_t total, const int64_t *weights, size_t count,
                        const int64_t *expected)
{
    int64_t parts[SPLIT_PARTS_MAX];
    for (size_t i = 0; i < SPLIT_PARTS_MAX; i++) {
        parts[i] = SENTINEL_CENTS;
    }
    int rc = money_split(total, weights, count, parts);
    if (rc != SETTLE_OK) {
        fail_msg("money_split(%" PRId64 ", %zu parts): rc %d (%s)", total, count, rc,
                 settle_error_name(rc));
    }
    for (size_t i = 0; i < count; i++) {
        if (parts[i] != expected[i]) {
            fail_msg("money_split(%" PRId64 ", %zu parts): part %zu is %" PRId64
                     ", expected %" PRId64,
                     total, count, i, parts[i], expected[i]);
        }
    }
    for (size_t i = count; i < SPLIT_PARTS_MAX; i++) {
        assert_int_equal(parts[i], SENTINEL_CENTS);
    }
}

static void test_money_split_gives_leftover_cents_to_lower_indexes_on_ties(void **state)
{
    (void)state;
    /* 100/3 = 33.33 each: floors 33,33,33 leave 1 cent; equal remainders, so index 0. */
    check_split(100, (const int64_t[]){1, 1, 1}, 3, (const int64_t[]){34, 33, 33});
    /* 10/4 = 2.5 each: floors 2 x4 leave 2 cents, to indexes 0 and 1. */
    check_split(10, (const int64_t[]){1, 1, 1, 1}, 4, (const int64_t[]){3, 3, 2, 2});
    /* 7 over ten equal weights: 0.7 each, the first seven get a cent. */
    check_split(7, (const int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10,
                (const int64_t[]){1, 1, 1, 1, 1, 1, 1, 0, 0, 0});
    /* 2 over 3: 0.67 each, first two get a cent. */
    check_split(2, (const int64_t[]){5, 5, 5}, 3, (const int64_t[]){1, 1, 0});
}

static void test_money_split_gives_leftover_cents_to_the_largest_remainders(void **state)
{
    (void)state;
    /* 100 * 1/6 = 16.67, 100 * 2/6 = 33.33, 100 * 3/6 = 50: floors sum to 99,
     * the cent goes to index 0 (remainder 4/6). */
    check_split(100, (const int64_t[]){1, 2, 3}, 3, (const int64_t[]){17, 33, 50});
    /* 10 * 3/7 = 4.29 (rem 2/7), 4.29 (2/7), 10 * 1/7 = 1.43 (rem 3/7): floors 4,4,1
     * leave 1 cent, which goes to index 2, the largest remainder, not to index 0. */
    check_split(10, (const int64_t[]){3, 3, 1}, 3, (const int64_t[]){4, 4, 2});
    /* 100 over 3,1,1,1 (sum 6): 50, 16.67, 16.67, 16.67: floors 50,16,16,16 leave 2,
     * remainders 0, 4/6, 4/6, 4/6: indexes 1 and 2. */
    check_split(100, (const int64_t[]){3, 1, 1, 1}, 4, (const int64_t[]){50, 17, 17, 16});
    /* 1000 over 1,2,4 (sum 7): 142.86 (6/7), 285.71 (5/7), 571.43 (3/7): floors
     * 142+285+571 = 998 leave 2: indexes 0 and 1. */
    check_split(1000, (const int64_t[]){1, 2, 4}, 3, (const int64_t[]){143, 286, 571});
    /* 5 over 1,3 (sum 4): 1.25 (1/4), 3.75 (3/4): floors 1,3 leave 1, to index 1. */
    check_split(5, (const int64_t[]){1, 3}, 2, (const int64_t[]){1, 4});
}

static void test_money_split_mirrors_a_negative_total(void **state)
{
    (void)state;
    check_split(-100, (const int64_t[]){1, 1, 1}, 3, (const int64_t[]){-34, -33, -33});
    check_split(-10, (const int64_t[]){1, 1, 1, 1}, 4, (const int64_t[]){-3, -3, -2, -2});
    check_split(-10, (const int64_t[]){3, 3, 1}, 3, (const int64_t[]){-4, -4, -2});
    check_split(-5, (const int64_t[]){1, 3}, 2, (const int64_t[]){-1, -4});
    check_split(-1, (const int64_t[]){1, 1}, 2, (const int64_t[]){-1, 0});
}

static void test_money_split_gives_nothing_to_zero_weights(void **state)
{
    (void)state;
    check_split(100, (const int64_t[]){0, 1, 0, 1}, 4, (const int64_t[]){0, 50, 0, 50});
    check_split(101, (const int64_t[]){0, 1, 0, 1}, 4, (const int64_t[]){0, 51, 0, 50});
    check_split(5, (const int64_t[]){0, 0, 1}, 3, (const int64_t[]){0, 0, 5});
    check_split(-7, (const int64_t[]){0, 2, 0}, 3, (const int64_t[]){0, -7, 0});
}

static void test_money_split_into_one_part_returns_the_total(void **state)
{
    (void)state;
    check_split(12345, (const int64_t[]){7}, 1, (const int64_t[]){12345});
    check_split(-5, (const int64_t[]){1}, 1, (const int64_t[]){-5});
    check_split(0, (const int64_t[]){3}, 1, (const int64_t[]){0});
    check_split(INT64_MAX, (const int64_t[]){1}, 1, (const int64_t[]){INT64_MAX});
    check_split(INT64_MIN, (const int64_t[]){INT64_MAX}, 1, (const int64_t[]){INT64_MIN});
}

static void test_money_split_of_zero_is_all_zeros(void **state)
{
    (void)state;
    check_split(0, (const int64_t[]){1, 2, 3}, 3, (const int64_t[]){0, 0, 0});
}

static void test_money_split_handles_totals_and_weights_at_the_limits(void **state)
{
    (void)state;
    /* INT64_MAX / 2 = 2^62 - 0.5 each: floors 2^62-1 twice leave 1, to index 0. */
    check_split(INT64_MAX, (const int64_t[]){1, 1}, 2,
                (const int64_t[]){INT64_C(4611686018427387904), INT64_C(4611686018427387903)});
    /* |INT64_MIN| = 2^63 splits evenly: -2^62 twice. */
    check_split(INT64_MIN, (const int64_t[]){1, 1}, 2,
                (const int64_t[]){-INT64_C(4611686018427387904), -INT64_C(4611686018427387904)});
    /* 2^63 / 3 = 3074457345618258602.67: floors leave 2, to indexes 0 and 1. */
    check_split(INT64_MIN, (const int64_t[]){1, 1, 1}, 3,
                (const int64_t[]){-INT64_C(3074457345618258603), -INT64_C(3074457345618258603),
                                  -INT64_C(3074457345618258602)});
    /* Weights that sum to INT64_MAX: total * weight needs 128 bits, the shares are exact. */
    check_split(INT64_MAX,
                (const int64_t[]){INT64_C(4611686018427387903), INT64_C(4611686018427387904)}, 2,
                (const int64_t[]){INT64_C(4611686018427387903), INT64_C(4611686018427387904)});
    /* Large equal weights behave as 1:1:1. */
    check_split(
        100,
        (const int64_t[]){INT64_C(1000000000000), INT64_C(1000000000000), INT64_C(1000000000000)},
        3, (const int64_t[]){34, 33, 33});
}

static void test_money_split_rejects_invalid_weights_and_leaves_parts_untouched(void **state)
{
    (void)state;
    int64_t parts[4] = {SENTINEL_CENTS, SENTINEL_CENTS, SENTINEL_CENTS, SENTINEL_CENTS};

    assert_int_equal(money_split(100, (const int64_t[]){0, 0, 0}, 3, parts), SETTLE_ERR_INVALID);
    assert_int_equal(money_split(100, (const int64_t[]){0}, 1, parts), SETTLE_ERR_INVALID);
    /* A negative weight is refused even when the sum is positive. */
    assert_int_equal(money_split(100, (const int64_t[]){1, -1, 2}, 3, parts), SETTLE_ERR_INVALID);
    assert_int_equal(money_split(100, (const int64_t[]){-1}, 1, parts), SETTLE_ERR_INVALID);
    assert_int_equal(money_split(100, (const int64_t[]){5, 5, INT64_MIN}, 3, parts),
                     SETTLE_ERR_INVALID);
    /* count must be at least 1. */
    assert_int_equal(money_split(100, (const int64_t[]){1}, 0, parts), SETTLE_ERR_INVALID);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(parts[i], SENTINEL_CENTS);
    }
}

/*
 * The largest remainder method done the slow, obvious way, for totals and
 * weights small enough that total * weight fits in 64 bits: floors first, then
 * one cent at a time to the largest remainder not yet served, lowest index first.
 */
static void reference_split(int64_t total, const int64_t *weights, size_t count, int64_t *parts)
{
    int64_t magnitude = total < 0 ? -total : total;
    int64_t weight_sum = 0;
    int64_t remainders[SPLIT_PARTS_MAX];
    int served[SPLIT_PARTS_MAX] = {0};
    int64_t given = 0;

    for (size_t i = 0; i < count; i++) {
        weight_sum += weights[i];
    }
    for (size_t i = 0; i < count; i++) {
        parts[i] = magnitude * weights[i] / weight_sum;
        remainders[i] = magnitude * weights[i] % weight_sum;
        given += parts[i];
    }
    for (int64_t left = magnitude - given; left > 0; left--) {
        size_t best = count;
        for (size_t i = 0; i < count; i++) {
            if (!served[i] && (best == count || remainders[i] > remainders[best])) {
                best = i;
            }
        }
        assert_true(best < count);
        served[best] = 1;
        parts[best] += 1;
    }
    if (total < 0) {
        for (size_t i = 0; i < count; i++) {
            parts[i] = -parts[i];
        }
    }
}

/* A fixed linear congruential generator, so every run checks the same cases. */
static uint32_t next_random(uint64_t *seed)
{
    *seed = *seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(*seed >> 33);
}

static void test_money_split_parts_always_sum_to_the_total(void **state)
{
    (void)state;
    static const int64_t fixed_weights[][5] = {
        {1, 1, 1, 1, 1},   {1, 2, 3, 4, 5}, {0, 0, 0, 0, 1}, {7, 0, 3, 0, 1},
        {100, 1, 1, 1, 1}, {3, 3, 3, 3, 3}, {1, 0, 0, 0, 0}, {999, 1000, 1001, 2, 5},
    };
    uint64_t seed = 20240229;
    size_t checked = 0;

    for (int64_t total = -2000; total <= 2000; total += 7) {
        for (size_t set = 0; set < sizeof fixed_weights / sizeof fixed_weights[0]; set++) {
            for (size_t count = 1; count <= 5; count++) {
                const int64_t *weights = fixed_weights[set];
                int64_t weight_sum = 0;
                for (size_t i = 0; i < count; i++) {
                    weight_sum += weights[i];
                }
                if (weight_sum == 0) {
                    continue;
                }
                int64_t parts[SPLIT_PARTS_MAX];
                int64_t expected[SPLIT_PARTS_MAX];
                assert_int_equal(money_split(total, weights, count, parts), SETTLE_OK);
                reference_split(total, weights, count, expected);
                int64_t sum = 0;
                for (size_t i = 0; i < count; i++) {
                    sum += parts[i];
                    if (parts[i] != expected[i]) {
                        fail_msg("money_split(%" PRId64
                                 ", set %zu, %zu parts): part %zu is %" PRId64
                                 ", expected %" PRId64,
                                 total, set, count, i, parts[i], expected[i]);
                    }
                }
                assert_int_equal(sum, total);
                checked++;
            }
        }
    }

    /* Random weight sets of 1 to 16 parts, weights 0..30, totals up to a million. */
    for (int round = 0; round < 5000; round++) {
        size_t count = 1 + next_random(&seed) % SPLIT_PARTS_MAX;
        int64_t weights[SPLIT_PARTS_MAX];
        int64_t weight_sum = 0;
        for (size_t i = 0; i < count; i++) {
            weights[i] = (int64_t)(next_random(&seed) % 31);
            weight_sum += weights[i];
        }
        if (weight_sum == 0) {
            weights[count - 1] = 1;
        }
        int64_t total = (int64_t)(next_random(&seed) % 2000001) - 1000000;
        int64_t parts[SPLIT_PARTS_MAX];
        int64_t expected[SPLIT_PARTS_MAX];
        assert_int_equal(money_split(total, weights, count, parts), SETTLE_OK);
        reference_split(total, weights, count, expected);
        int64_t sum = 0;
        for (size_t i = 0; i < count; i++) {
            sum += parts[i];
            if (parts[i] != expected[i]) {
                fail_msg("money_split(%" PRId64 ", round %d, %zu parts): part %zu is %" PRId64
                         ", expected %" PRId64,
                         total, round, count, i, parts[i], expected[i]);
            }
        }
        assert_int_equal(sum, total);
        checked++;
    }
    assert_true(checked > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_parse_reads_the_documented_forms),
        cmocka_unit_test(test_money_parse_reads_negative_zero_as_zero),
        cmocka_unit_test(test_money_parse_rejects_three_decimals),
        cmocka_unit_test(test_money_parse_rejects_text_that_is_not_an_amount),
        cmocka_unit_test(test_money_parse_reads_the_largest_and_smallest_amounts),
        cmocka_unit_test(test_money_parse_reports_overflow_for_amounts_beyond_64_bits),
        cmocka_unit_test(test_money_parse_stops_at_the_given_length),
        cmocka_unit_test(test_money_parse_rejects_empty_length_and_embedded_nul),
        cmocka_unit_test(test_money_parse_rate_reads_percentages_as_basis_points),
        cmocka_unit_test(test_money_parse_rate_rejects_what_is_not_a_percentage),
        cmocka_unit_test(test_money_parse_rate_reports_overflow_above_int32_max_basis_points),
        cmocka_unit_test(test_money_parse_rate_stops_at_the_given_length),
        cmocka_unit_test(test_money_format_writes_two_decimals_and_a_leading_minus),
        cmocka_unit_test(test_money_format_fits_an_exact_buffer_and_writes_nothing_past_it),
        cmocka_unit_test(test_money_format_reports_too_long_for_a_small_buffer),
        cmocka_unit_test(test_money_format_rate_writes_the_shortest_percentage),
        cmocka_unit_test(test_money_format_rate_reports_too_long_for_a_small_buffer),
        cmocka_unit_test(test_money_format_and_parse_round_trip),
        cmocka_unit_test(test_money_add_sums_and_reports_overflow_at_the_limits),
        cmocka_unit_test(test_money_sub_subtracts_and_reports_overflow_at_the_limits),
        cmocka_unit_test(test_money_mul_multiplies_and_reports_overflow_at_the_limits),
        cmocka_unit_test(test_money_muldiv_rounds_exact_half_ties_by_each_mode),
        cmocka_unit_test(test_money_muldiv_rounds_non_ties_to_the_nearest_cent),
        cmocka_unit_test(test_money_muldiv_keeps_128_bit_intermediates),
        cmocka_unit_test(test_money_muldiv_reports_overflow_when_the_result_does_not_fit),
        cmocka_unit_test(test_money_muldiv_reports_overflow_when_rounding_pushes_past_the_limit),
        cmocka_unit_test(test_money_muldiv_rejects_a_zero_denominator),
        cmocka_unit_test(test_money_apply_rate_rounds_by_each_mode),
        cmocka_unit_test(test_money_apply_rate_applies_a_negative_rate_as_amount_times_bps),
        cmocka_unit_test(test_money_apply_rate_reports_overflow),
        cmocka_unit_test(test_money_split_gives_leftover_cents_to_lower_indexes_on_ties),
        cmocka_unit_test(test_money_split_gives_leftover_cents_to_the_largest_remainders),
        cmocka_unit_test(test_money_split_mirrors_a_negative_total),
        cmocka_unit_test(test_money_split_gives_nothing_to_zero_weights),
        cmocka_unit_test(test_money_split_into_one_part_returns_the_total),
        cmocka_unit_test(test_money_split_of_zero_is_all_zeros),
        cmocka_unit_test(test_money_split_handles_totals_and_weights_at_the_limits),
        cmocka_unit_test(test_money_split_rejects_invalid_weights_and_leaves_parts_untouched),
        cmocka_unit_test(test_money_split_parts_always_sum_to_the_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
