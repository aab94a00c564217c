/*
 * test_date.c - unit tests for date.h: day numbers, the calendar rules,
 * parsing and formatting the X12 and ISO forms, and age in completed years.
 *
 * Anchors were worked out by hand from the proleptic Gregorian calendar:
 * 1970-01-01 is day 0; 2000-01-01 is 30 * 365 + 7 leap days = 10957, so
 * 2000-03-01 is 10957 + 31 + 29 = 11017; 2024-01-01 is 54 * 365 + 13 =
 * 19723, so 2024-02-29 is 19723 + 31 + 28 = 19782; 1900-01-01 is
 * -(70 * 365 + 17) = -25567; 0001-01-01 is -(1969 * 365 + 477) = -719162;
 * 9999-12-31 is 8030 * 365 + 1947 - 1 = 2932896.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "settle/date.h"
#include "settle/error.h"

#define SENTINEL_DAYS  INT32_C(-55555)
#define SENTINEL_YEARS (-55)

#define DAY_FIRST INT32_C(-719162) /* 0001-01-01 */
#define DAY_LAST  INT32_C(2932896) /* 9999-12-31 */

/* The day number of a date the test knows exists; fails the test otherwise. */
static int32_t day_of(int year, int month, int day)
{
    int32_t days = SENTINEL_DAYS;
    int rc = date_from_ymd(year, month, day, &days);
    if (rc != SETTLE_OK) {
        fail_msg("date_from_ymd(%d, %d, %d) failed with %d", year, month, day, rc);
    }
    return days;
}

/* ------------------------------------------------------------------ */
/* Day numbers                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
    int year;
    int month;
    int day;
    int32_t days;
} anchor_t;

static const anchor_t ANCHORS[] = {
    {1970, 1, 1, 0},      {1970, 1, 2, 1},          {1969, 12, 31, -1},    {1970, 12, 31, 364},
    {1971, 1, 1, 365},    {2000, 1, 1, 10957},      {2000, 3, 1, 11017},   {2000, 2, 29, 11016},
    {2024, 1, 1, 19723},  {2024, 2, 29, 19782},     {2024, 3, 1, 19783},   {1900, 1, 1, -25567},
    {1, 1, 1, DAY_FIRST}, {9999, 12, 31, DAY_LAST}, {2100, 12, 31, 47846}, {2008, 2, 29, 13938},
    {1990, 6, 15, 7470},
};

static void test_date_from_ymd_counts_days_from_1970(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ANCHORS / sizeof ANCHORS[0]; i++) {
        int32_t days = SENTINEL_DAYS;
        int rc = date_from_ymd(ANCHORS[i].year, ANCHORS[i].month, ANCHORS[i].day, &days);
        if (rc != SETTLE_OK || days != ANCHORS[i].days) {
            fail_msg("date_from_ymd(%04d-%02d-%02d): rc %d, days %" PRId32 "; expected %" PRId32,
                     ANCHORS[i].year, ANCHORS[i].month, ANCHORS[i].day, rc, days, ANCHORS[i].days);
        }
    }
}

static void test_date_to_ymd_inverts_the_anchors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ANCHORS / sizeof ANCHORS[0]; i++) {
        int year = 0, month = 0, day = 0;
        date_to_ymd(ANCHORS[i].days, &year, &month, &day);
        if (year != ANCHORS[i].year || month != ANCHORS[i].month || day != ANCHORS[i].day) {
            fail_msg("date_to_ymd(%" PRId32 "): %04d-%02d-%02d; expected %04d-%02d-%02d",
                     ANCHORS[i].days, year, month, day, ANCHORS[i].year, ANCHORS[i].month,
                     ANCHORS[i].day);
        }
    }
}

/*
 * Walks the calendar one day at a time from first_year-01-01 (day number
 * start) to the end of last_year, checking that each date is the next day
 * number and that date_to_ymd gives the date back.  Returns the day after.
 */
static int32_t walk_calendar(int first_year, int last_year, int32_t start)
{
    int32_t expected = start;
    for (int year = first_year; year <= last_year; year++) {
        for (int month = 1; month <= 12; month++) {
            int length = date_days_in_month(year, month);
            for (int day = 1; day <= length; day++) {
                int32_t days = SENTINEL_DAYS;
                int rc = date_from_ymd(year, month, day, &days);
                if (rc != SETTLE_OK || days != expected) {
                    fail_msg("date_from_ymd(%04d-%02d-%02d): rc %d, days %" PRId32
                             "; expected %" PRId32,
                             year, month, day, rc, days, expected);
                }
                int back_year = 0, back_month = 0, back_day = 0;
                date_to_ymd(days, &back_year, &back_month, &back_day);
                if (back_year != year || back_month != month || back_day != day) {
                    fail_msg("date_to_ymd(%" PRId32 "): %04d-%02d-%02d; expected %04d-%02d-%02d",
                             days, back_year, back_month, back_day, year, month, day);
                }
                expected++;
            }
        }
    }
    return expected;
}

static void test_date_round_trips_every_day_from_1900_to_2100(void **state)
{
    (void)state;
    /* 201 years with 49 leap days (1904..2096, 2000 included, 1900 and 2100 not). */
    int32_t after = walk_calendar(1900, 2100, -25567);
    assert_int_equal(after, -25567 + 201 * 365 + 49);
    assert_int_equal(after, 47847);
}

static void test_date_round_trips_every_day_of_years_1_to_9999(void **state)
{
    (void)state;
    int32_t after = walk_calendar(DATE_YEAR_MIN, DATE_YEAR_MAX, DAY_FIRST);
    assert_int_equal(after, DAY_LAST + 1);
}

/* ------------------------------------------------------------------ */
/* Calendar rules                                                      */
/* ------------------------------------------------------------------ */

static void test_date_is_leap_year_follows_the_gregorian_rule(void **state)
{
    (void)state;
    assert_true(date_is_leap_year(2000));
    assert_false(date_is_leap_year(1900));
    assert_true(date_is_leap_year(2024));
    assert_false(date_is_leap_year(2023));
    assert_false(date_is_leap_year(2100));
    assert_true(date_is_leap_year(2400));
    assert_true(date_is_leap_year(1600));
    assert_false(date_is_leap_year(1700));
    assert_true(date_is_leap_year(4));
    assert_false(date_is_leap_year(1));
    assert_true(date_is_leap_year(9996));
    assert_false(date_is_leap_year(9999));

    int leap_years = 0;
    for (int year = 1; year <= 400; year++) {
        leap_years += date_is_leap_year(year) ? 1 : 0;
    }
    assert_int_equal(leap_years, 97); /* 100 multiples of 4, less 100, 200, 300 */
}

static void test_date_days_in_month_knows_each_month(void **state)
{
    (void)state;
    static const int common[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    static const int leap[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int month = 1; month <= 12; month++) {
        assert_int_equal(date_days_in_month(2023, month), common[month - 1]);
        assert_int_equal(date_days_in_month(2024, month), leap[month - 1]);
    }
    assert_int_equal(date_days_in_month(1900, 2), 28);
    assert_int_equal(date_days_in_month(2000, 2), 29);
    assert_int_equal(date_days_in_month(2100, 2), 28);
    assert_int_equal(date_days_in_month(2024, 0), 0);
    assert_int_equal(date_days_in_month(2024, 13), 0);
    assert_int_equal(date_days_in_month(2024, -1), 0);
}

static void test_date_from_ymd_rejects_dates_that_do_not_exist(void **state)
{
    (void)state;
    static const struct {
        int year;
        int month;
        int day;
    } cases[] = {
        {2023, 2, 29}, {2024, 2, 30}, {1900, 2, 29}, {2100, 2, 29}, {2024, 13, 1},
        {2024, 0, 1},  {2024, 1, 0},  {2024, 1, 32}, {2024, 4, 31}, {2024, 6, 31},
        {2024, -1, 1}, {2024, 1, -1}, {0, 1, 1},     {10000, 1, 1}, {-1, 12, 31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t days = SENTINEL_DAYS;
        int rc = date_from_ymd(cases[i].year, cases[i].month, cases[i].day, &days);
        if (rc != SETTLE_ERR_RANGE || days != SENTINEL_DAYS) {
            fail_msg("date_from_ymd(%d, %d, %d): rc %d, days %" PRId32
                     "; expected SETTLE_ERR_RANGE and days untouched",
                     cases[i].year, cases[i].month, cases[i].day, rc, days);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

typedef int (*date_parser_t)(const char *text, size_t length, int32_t *days_out);

typedef struct {
    const char *text;
    int code;
    int32_t days; /* when code is SETTLE_OK */
} parse_case_t;

static void check_parser(date_parser_t parse, const char *parser_name, const parse_case_t *cases,
                         size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int32_t days = SENTINEL_DAYS;
        int rc = parse(cases[i].text, strlen(cases[i].text), &days);
        int32_t expected_days = cases[i].code == SETTLE_OK ? cases[i].days : SENTINEL_DAYS;
        if (rc != cases[i].code || days != expected_days) {
            fail_msg("%s(\"%s\"): rc %d (%s), days %" PRId32 "; expected rc %d (%s), days %" PRId32,
                     parser_name, cases[i].text, rc, settle_error_name(rc), days, cases[i].code,
                     settle_error_name(cases[i].code), expected_days);
        }
    }
}

static void test_date_parse_ccyymmdd_reads_eight_digits(void **state)
{
    (void)state;
    static const parse_case_t cases[] = {
        {"20240229", SETTLE_OK, 19782},     {"19700101", SETTLE_OK, 0},
        {"19691231", SETTLE_OK, -1},        {"20000301", SETTLE_OK, 11017},
        {"00010101", SETTLE_OK, DAY_FIRST}, {"99991231", SETTLE_OK, DAY_LAST},
    };
    check_parser(date_parse_ccyymmdd, "date_parse_ccyymmdd", cases, sizeof cases / sizeof cases[0]);
}

static void test_date_parse_ccyymmdd_rejects_other_shapes_as_syntax(void **state)
{
    (void)state;
    static const parse_case_t cases[] = {
        {"", SETTLE_ERR_SYNTAX, 0},           {"2024022", SETTLE_ERR_SYNTAX, 0},
        {"20240229x", SETTLE_ERR_SYNTAX, 0},  {"202402290", SETTLE_ERR_SYNTAX, 0},
        {"2024-02-29", SETTLE_ERR_SYNTAX, 0}, {"abcdefgh", SETTLE_ERR_SYNTAX, 0},
        {"2024022a", SETTLE_ERR_SYNTAX, 0},   {" 2024022", SETTLE_ERR_SYNTAX, 0},
        {"2024022 ", SETTLE_ERR_SYNTAX, 0},   {"+2024022", SETTLE_ERR_SYNTAX, 0},
        {"-0240229", SETTLE_ERR_SYNTAX, 0},   {"2024/2/9", SETTLE_ERR_SYNTAX, 0},
        {"2024 229", SETTLE_ERR_SYNTAX, 0},   {"0x240229", SETTLE_ERR_SYNTAX, 0},
    };
    check_parser(date_parse_ccyymmdd, "date_parse_ccyymmdd", cases, sizeof cases / sizeof cases[0]);
}

static void test_date_parse_ccyymmdd_rejects_well_formed_impossible_dates_as_range(void **state)
{
    (void)state;
    static const parse_case_t cases[] = {
        {"00000101", SETTLE_ERR_RANGE, 0}, /* year 0 */
        {"20230229", SETTLE_ERR_RANGE, 0}, {"20240230", SETTLE_ERR_RANGE, 0},
        {"21000229", SETTLE_ERR_RANGE, 0}, {"20241301", SETTLE_ERR_RANGE, 0},
        {"20240001", SETTLE_ERR_RANGE, 0}, {"20240100", SETTLE_ERR_RANGE, 0},
        {"20240431", SETTLE_ERR_RANGE, 0}, {"20249999", SETTLE_ERR_RANGE, 0},
    };
    check_parser(date_parse_ccyymmdd, "date_parse_ccyymmdd", cases, sizeof cases / sizeof cases[0]);
}

static void test_date_parse_iso_reads_ccyy_mm_dd(void **state)
{
    (void)state;
    static const parse_case_t cases[] = {
        {"2024-02-29", SETTLE_OK, 19782},     {"1970-01-01", SETTLE_OK, 0},
        {"1969-12-31", SETTLE_OK, -1},        {"2000-03-01", SETTLE_OK, 11017},
        {"0001-01-01", SETTLE_OK, DAY_FIRST}, {"9999-12-31", SETTLE_OK, DAY_LAST},
    };
    check_parser(date_parse_iso, "date_parse_iso", cases, sizeof cases / sizeof cases[0]);
}

static void test_date_parse_iso_rejects_other_shapes(void **state)
{
    (void)state;
    static const parse_case_t cases[] = {
        {"2024-2-29", SETTLE_ERR_SYNTAX, 0},   {"2024-02-9", SETTLE_ERR_SYNTAX, 0},
        {"2024/02/29", SETTLE_ERR_SYNTAX, 0},  {"20240229", SETTLE_ERR_SYNTAX, 0},
        {"2024-02-2x", SETTLE_ERR_SYNTAX, 0},  {"2024-022-9", SETTLE_ERR_SYNTAX, 0},
        {"2024-02-290", SETTLE_ERR_SYNTAX, 0}, {"2024-02-29 ", SETTLE_ERR_SYNTAX, 0},
        {" 2024-02-29", SETTLE_ERR_SYNTAX, 0}, {"+024-02-29", SETTLE_ERR_SYNTAX, 0},
        {"2024-+2-29", SETTLE_ERR_SYNTAX, 0},  {"abcd-ef-gh", SETTLE_ERR_SYNTAX, 0},
        {"2024020229", SETTLE_ERR_SYNTAX, 0},  {"", SETTLE_ERR_SYNTAX, 0},
        {"2024-02/29", SETTLE_ERR_SYNTAX, 0},  {"2024/02-29", SETTLE_ERR_SYNTAX, 0},
        {"2024-02029", SETTLE_ERR_SYNTAX, 0},  {"2024002-29", SETTLE_ERR_SYNTAX, 0},
        {"0000-01-01", SETTLE_ERR_RANGE, 0},   {"2023-02-29", SETTLE_ERR_RANGE, 0},
        {"2024-02-30", SETTLE_ERR_RANGE, 0},   {"2024-13-01", SETTLE_ERR_RANGE, 0},
        {"2024-00-10", SETTLE_ERR_RANGE, 0},   {"2024-01-00", SETTLE_ERR_RANGE, 0},
        {"2024-04-31", SETTLE_ERR_RANGE, 0},
    };
    check_parser(date_parse_iso, "date_parse_iso", cases, sizeof cases / sizeof cases[0]);
}

static void test_date_parse_tells_the_forms_apart_by_length(void **state)
{
    (void)state;
    static const parse_case_t cases[] = {
        {"20240229", SETTLE_OK, 19782},       {"2024-02-29", SETTLE_OK, 19782},
        {"19691231", SETTLE_OK, -1},          {"1969-12-31", SETTLE_OK, -1},
        {"2024-2-29", SETTLE_ERR_SYNTAX, 0},  {"20240229x", SETTLE_ERR_SYNTAX, 0},
        {"2024/02/29", SETTLE_ERR_SYNTAX, 0}, {"abcdefgh", SETTLE_ERR_SYNTAX, 0},
        {"2024022900", SETTLE_ERR_SYNTAX, 0}, {"24-02-29", SETTLE_ERR_SYNTAX, 0},
        {"", SETTLE_ERR_SYNTAX, 0},           {"2024-02-29T00", SETTLE_ERR_SYNTAX, 0},
        {"00000101", SETTLE_ERR_RANGE, 0},    {"0000-01-01", SETTLE_ERR_RANGE, 0},
        {"20230229", SETTLE_ERR_RANGE, 0},    {"2023-02-29", SETTLE_ERR_RANGE, 0},
    };
    check_parser(date_parse, "date_parse", cases, sizeof cases / sizeof cases[0]);
}

static void test_date_parse_stops_at_the_given_length(void **state)
{
    (void)state;
    int32_t days = SENTINEL_DAYS;

    assert_int_equal(date_parse_ccyymmdd("20240229123", 8, &days), SETTLE_OK);
    assert_int_equal(days, 19782);

    days = SENTINEL_DAYS;
    assert_int_equal(date_parse_iso("2024-02-29T10:00:00Z", 10, &days), SETTLE_OK);
    assert_int_equal(days, 19782);

    days = SENTINEL_DAYS;
    assert_int_equal(date_parse("1970-01-01 and more", 10, &days), SETTLE_OK);
    assert_int_equal(days, 0);

    /* Buffers with no NUL: reading past them would be caught by ASan. */
    const char d8[8] = {'2', '0', '0', '0', '0', '3', '0', '1'};
    days = SENTINEL_DAYS;
    assert_int_equal(date_parse(d8, sizeof d8, &days), SETTLE_OK);
    assert_int_equal(days, 11017);

    const char iso[10] = {'2', '0', '0', '0', '-', '0', '3', '-', '0', '1'};
    days = SENTINEL_DAYS;
    assert_int_equal(date_parse(iso, sizeof iso, &days), SETTLE_OK);
    assert_int_equal(days, 11017);

    /* Seven bytes of a valid D8 date are not a date. */
    days = SENTINEL_DAYS;
    assert_int_equal(date_parse_ccyymmdd("20240229", 7, &days), SETTLE_ERR_SYNTAX);
    assert_int_equal(days, SENTINEL_DAYS);
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

static void test_date_format_iso_writes_ccyy_mm_dd(void **state)
{
    (void)state;
    static const struct {
        int32_t days;
        const char *text;
    } cases[] = {
        {0, "1970-01-01"},        {-1, "1969-12-31"},     {19782, "2024-02-29"},
        {11017, "2000-03-01"},    {-25567, "1900-01-01"}, {DAY_FIRST, "0001-01-01"},
        {DAY_LAST, "9999-12-31"}, {47846, "2100-12-31"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buffer[DATE_TEXT_SIZE + 4];
        memset(buffer, '#', sizeof buffer);
        int rc = date_format_iso(cases[i].days, buffer, DATE_TEXT_SIZE);
        if (rc != SETTLE_OK || memchr(buffer, '\0', DATE_TEXT_SIZE) == NULL ||
            strcmp(buffer, cases[i].text) != 0) {
            fail_msg("date_format_iso(%" PRId32 "): rc %d, text \"%.*s\"; expected \"%s\"",
                     cases[i].days, rc, DATE_TEXT_SIZE, buffer, cases[i].text);
        }
        assert_int_equal(buffer[DATE_TEXT_SIZE], '#');
    }
}

static void test_date_format_ccyymmdd_writes_eight_digits(void **state)
{
    (void)state;
    static const struct {
        int32_t days;
        const char *text;
    } cases[] = {
        {0, "19700101"},         {-1, "19691231"},       {19782, "20240229"},
        {DAY_FIRST, "00010101"}, {DAY_LAST, "99991231"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buffer[16];
        memset(buffer, '#', sizeof buffer);
        int rc = date_format_ccyymmdd(cases[i].days, buffer, 9);
        if (rc != SETTLE_OK || memchr(buffer, '\0', 9) == NULL ||
            strcmp(buffer, cases[i].text) != 0) {
            fail_msg("date_format_ccyymmdd(%" PRId32 "): rc %d, text \"%.*s\"; expected \"%s\"",
                     cases[i].days, rc, 9, buffer, cases[i].text);
        }
        assert_int_equal(buffer[9], '#');
    }
}

static void test_date_format_reports_too_long_for_a_small_buffer(void **state)
{
    (void)state;
    char buffer[DATE_TEXT_SIZE + 4];

    memset(buffer, '#', sizeof buffer);
    assert_int_equal(date_format_iso(19782, buffer, 10), SETTLE_ERR_TOO_LONG);
    for (size_t i = 10; i < sizeof buffer; i++) {
        assert_int_equal(buffer[i], '#');
    }
    assert_int_equal(date_format_iso(19782, buffer, 1), SETTLE_ERR_TOO_LONG);
    assert_int_equal(date_format_iso(19782, buffer, 0), SETTLE_ERR_TOO_LONG);

    memset(buffer, '#', sizeof buffer);
    assert_int_equal(date_format_ccyymmdd(19782, buffer, 8), SETTLE_ERR_TOO_LONG);
    for (size_t i = 8; i < sizeof buffer; i++) {
        assert_int_equal(buffer[i], '#');
    }
    assert_int_equal(date_format_ccyymmdd(19782, buffer, 0), SETTLE_ERR_TOO_LONG);
}

static void test_date_format_reports_range_for_no_date_and_days_outside_the_years(void **state)
{
    (void)state;
    static const int32_t outside[] = {DATE_NONE, DAY_FIRST - 1, DAY_LAST + 1, INT32_MAX,
                                      INT32_MIN + 1};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        char buffer[32];
        int rc_iso = date_format_iso(outside[i], buffer, sizeof buffer);
        int rc_d8 = date_format_ccyymmdd(outside[i], buffer, sizeof buffer);
        if (rc_iso != SETTLE_ERR_RANGE || rc_d8 != SETTLE_ERR_RANGE) {
            fail_msg("formatting day %" PRId32 ": iso rc %d, ccyymmdd rc %d; expected %d for both",
                     outside[i], rc_iso, rc_d8, SETTLE_ERR_RANGE);
        }
    }
}

static void test_date_format_and_parse_round_trip_every_day(void **state)
{
    (void)state;
    for (int32_t days = DAY_FIRST; days <= DAY_LAST; days++) {
        int year = 0, month = 0, day = 0;
        char expected[32];
        char iso[DATE_TEXT_SIZE];
        char d8[9];
        int32_t back = SENTINEL_DAYS;

        date_to_ymd(days, &year, &month, &day);
        snprintf(expected, sizeof expected, "%04d-%02d-%02d", year, month, day);
        assert_int_equal(date_format_iso(days, iso, sizeof iso), SETTLE_OK);
        if (strcmp(iso, expected) != 0) {
            fail_msg("date_format_iso(%" PRId32 ") wrote \"%s\"; expected \"%s\"", days, iso,
                     expected);
        }
        assert_int_equal(date_parse(iso, strlen(iso), &back), SETTLE_OK);
        assert_int_equal(back, days);

        snprintf(expected, sizeof expected, "%04d%02d%02d", year, month, day);
        assert_int_equal(date_format_ccyymmdd(days, d8, sizeof d8), SETTLE_OK);
        if (strcmp(d8, expected) != 0) {
            fail_msg("date_format_ccyymmdd(%" PRId32 ") wrote \"%s\"; expected \"%s\"", days, d8,
                     expected);
        }
        back = SENTINEL_DAYS;
        assert_int_equal(date_parse(d8, strlen(d8), &back), SETTLE_OK);
        assert_int_equal(back, days);
    }
}

/* ------------------------------------------------------------------ */
/* Age                                                                 */
/* ------------------------------------------------------------------ */

static void test_date_age_years_counts_completed_years(void **state)
{
    (void)state;
    static const struct {
        int birth[3];
        int on[3];
        int years;
    } cases[] = {
        /* Born on 29 February: the birthday is 1 March in common years. */
        {{2008, 2, 29}, {2026, 2, 28}, 17},
        {{2008, 2, 29}, {2026, 3, 1}, 18},
        {{2008, 2, 29}, {2024, 2, 28}, 15},
        {{2008, 2, 29}, {2024, 2, 29}, 16},
        {{2008, 2, 29}, {2024, 3, 1}, 16},
        {{2008, 2, 29}, {2009, 2, 28}, 0},
        {{2008, 2, 29}, {2009, 3, 1}, 1},
        {{2008, 2, 29}, {2012, 2, 28}, 3},
        {{2008, 2, 29}, {2012, 2, 29}, 4},
        {{2008, 2, 29}, {2100, 2, 28}, 91}, /* 2100 is common */
        {{2008, 2, 29}, {2100, 3, 1}, 92},
        {{1990, 6, 15}, {2026, 6, 14}, 35},
        {{1990, 6, 15}, {2026, 6, 15}, 36},
        {{2000, 1, 1}, {2000, 12, 31}, 0},
        {{2000, 1, 1}, {2001, 1, 1}, 1},
        {{1999, 12, 31}, {2000, 12, 30}, 0},
        {{1999, 12, 31}, {2000, 12, 31}, 1},
        /* Born 1 March: 29 February of a leap year is not their birthday. */
        {{2023, 3, 1}, {2024, 2, 29}, 0},
        {{2023, 3, 1}, {2024, 3, 1}, 1},
        {{2024, 2, 28}, {2025, 2, 27}, 0},
        {{2024, 2, 28}, {2025, 2, 28}, 1},
        {{1969, 12, 31}, {1970, 1, 1}, 0},
        {{1, 1, 1}, {9999, 12, 31}, 9998},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t birth = day_of(cases[i].birth[0], cases[i].birth[1], cases[i].birth[2]);
        int32_t on = day_of(cases[i].on[0], cases[i].on[1], cases[i].on[2]);
        int years = SENTINEL_YEARS;
        int rc = date_age_years(birth, on, &years);
        if (rc != SETTLE_OK || years != cases[i].years) {
            fail_msg("born %04d-%02d-%02d, on %04d-%02d-%02d: rc %d, age %d; expected %d",
                     cases[i].birth[0], cases[i].birth[1], cases[i].birth[2], cases[i].on[0],
                     cases[i].on[1], cases[i].on[2], rc, years, cases[i].years);
        }
    }
}

static void test_date_age_years_is_zero_on_the_day_of_birth(void **state)
{
    (void)state;
    static const int32_t births[] = {0, -1, 13938, 19782, DAY_FIRST, DAY_LAST};
    for (size_t i = 0; i < sizeof births / sizeof births[0]; i++) {
        int years = SENTINEL_YEARS;
        assert_int_equal(date_age_years(births[i], births[i], &years), SETTLE_OK);
        assert_int_equal(years, 0);
    }
}

static void test_date_age_years_turns_over_on_each_birthday(void **state)
{
    (void)state;
    /* Births every 13 days over 1990..2010, ages checked at every birthday
     * to 100 and on the day before it. */
    for (int32_t birth = day_of(1990, 1, 1); birth <= day_of(2010, 12, 31); birth += 13) {
        int birth_year = 0, birth_month = 0, birth_day = 0;
        date_to_ymd(birth, &birth_year, &birth_month, &birth_day);
        for (int age = 1; age <= 100; age++) {
            int year = birth_year + age;
            int month = birth_month;
            int day = birth_day;
            if (month == 2 && day == 29 && !date_is_leap_year(year)) {
                month = 3;
                day = 1;
            }
            int32_t birthday = day_of(year, month, day);
            int years = SENTINEL_YEARS;
            assert_int_equal(date_age_years(birth, birthday, &years), SETTLE_OK);
            if (years != age) {
                fail_msg("born %04d-%02d-%02d, on %04d-%02d-%02d: age %d, expected %d", birth_year,
                         birth_month, birth_day, year, month, day, years, age);
            }
            assert_int_equal(date_age_years(birth, birthday - 1, &years), SETTLE_OK);
            if (years != age - 1) {
                fail_msg("born %04d-%02d-%02d, the day before %04d-%02d-%02d: age %d, expected %d",
                         birth_year, birth_month, birth_day, year, month, day, years, age - 1);
            }
        }
    }
}

static void test_date_age_years_rejects_a_date_before_birth_and_no_date(void **state)
{
    (void)state;
    int years = SENTINEL_YEARS;
    int32_t birth = day_of(2026, 6, 15);

    assert_int_equal(date_age_years(birth, birth - 1, &years), SETTLE_ERR_RANGE);
    assert_int_equal(date_age_years(day_of(1990, 6, 15), day_of(1989, 1, 1), &years),
                     SETTLE_ERR_RANGE);
    assert_int_equal(date_age_years(DATE_NONE, birth, &years), SETTLE_ERR_RANGE);
    assert_int_equal(date_age_years(birth, DATE_NONE, &years), SETTLE_ERR_RANGE);
    assert_int_equal(date_age_years(DATE_NONE, DATE_NONE, &years), SETTLE_ERR_RANGE);
    assert_int_equal(years, SENTINEL_YEARS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_from_ymd_counts_days_from_1970),
        cmocka_unit_test(test_date_to_ymd_inverts_the_anchors),
        cmocka_unit_test(test_date_round_trips_every_day_from_1900_to_2100),
        cmocka_unit_test(test_date_round_trips_every_day_of_years_1_to_9999),
        cmocka_unit_test(test_date_is_leap_year_follows_the_gregorian_rule),
        cmocka_unit_test(test_date_days_in_month_knows_each_month),
        cmocka_unit_test(test_date_from_ymd_rejects_dates_that_do_not_exist),
        cmocka_unit_test(test_date_parse_ccyymmdd_reads_eight_digits),
        cmocka_unit_test(test_date_parse_ccyymmdd_rejects_other_shapes_as_syntax),
        cmocka_unit_test(test_date_parse_ccyymmdd_rejects_well_formed_impossible_dates_as_range),
        cmocka_unit_test(test_date_parse_iso_reads_ccyy_mm_dd),
        cmocka_unit_test(test_date_parse_iso_rejects_other_shapes),
        cmocka_unit_test(test_date_parse_tells_the_forms_apart_by_length),
        cmocka_unit_test(test_date_parse_stops_at_the_given_length),
        cmocka_unit_test(test_date_format_iso_writes_ccyy_mm_dd),
        cmocka_unit_test(test_date_format_ccyymmdd_writes_eight_digits),
        cmocka_unit_test(test_date_format_reports_too_long_for_a_small_buffer),
        cmocka_unit_test(test_date_format_reports_range_for_no_date_and_days_outside_the_years),
        cmocka_unit_test(test_date_format_and_parse_round_trip_every_day),
        cmocka_unit_test(test_date_age_years_counts_completed_years),
        cmocka_unit_test(test_date_age_years_is_zero_on_the_day_of_birth),
        cmocka_unit_test(test_date_age_years_turns_over_on_each_birthday),
        cmocka_unit_test(test_date_age_years_rejects_a_date_before_birth_and_no_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
