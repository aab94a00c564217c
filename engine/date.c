/*
 * date.c - civil dates to day numbers and back, parsing, formatting, ages.
 *
 * Deterministic code: no clock, no locale.  The conversions are the
 * well-known era-based formulas for the proleptic Gregorian calendar (a
 * 400-year era has exactly 146097 days), exact for every year we accept.
 */
#include "settle/date.h"

#include <stdio.h>

#include "settle/error.h"

bool date_is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int date_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && date_is_leap_year(year) ? 29 : days[month - 1];
}

int date_from_ymd(int year, int month, int day, int32_t *days_out)
{
    if (year < DATE_YEAR_MIN || year > DATE_YEAR_MAX || month < 1 || month > 12 || day < 1 ||
        day > date_days_in_month(year, month))
        return SETTLE_ERR_RANGE;
    /* Count from 1 March so the leap day falls at the end of the year. */
    int y = month <= 2 ? year - 1 : year;
    int era = y / 400; /* y >= 0 here, so plain division floors */
    int year_of_era = y - era * 400;
    int day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    *days_out = (int32_t)(era * 146097 + day_of_era - 719468);
    return SETTLE_OK;
}

void date_to_ymd(int32_t days, int *year_out, int *month_out, int *day_out)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t day_of_era = z - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t shifted_month = (5 * day_of_year + 2) / 153;
    int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
    *day_out = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    *month_out = (int)month;
    *year_out = (int)(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
}

/* Reads count digits at text as a number; -1 if any is not a digit. */
static int s_digits(const char *text, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

/* Builds the day from digit fields already cut out of the text. */
static int s_from_fields(int year, int month, int day, int32_t *days_out)
{
    if (year < 0 || month < 0 || day < 0)
        return SETTLE_ERR_SYNTAX;
    return date_from_ymd(year, month, day, days_out);
}

int date_parse_ccyymmdd(const char *text, size_t length, int32_t *days_out)
{
    if (!text || length != 8)
        return SETTLE_ERR_SYNTAX;
    return s_from_fields(s_digits(text, 4), s_digits(text + 4, 2), s_digits(text + 6, 2), days_out);
}

int date_parse_iso(const char *text, size_t length, int32_t *days_out)
{
    if (!text || length != 10 || text[4] != '-' || text[7] != '-')
        return SETTLE_ERR_SYNTAX;
    return s_from_fields(s_digits(text, 4), s_digits(text + 5, 2), s_digits(text + 8, 2), days_out);
}

int date_parse(const char *text, size_t length, int32_t *days_out)
{
    return length == 8 ? date_parse_ccyymmdd(text, length, days_out)
                       : date_parse_iso(text, length, days_out);
}

/* The first and last day numbers we accept: 0001-01-01 and 9999-12-31. */
#define DATE_DAYS_MIN (-719162)
#define DATE_DAYS_MAX 2932896

/* Checks a day can be written and the buffer holds needed bytes. */
static int s_check_format(int32_t days, size_t size, size_t needed)
{
    if (days == DATE_NONE || days < DATE_DAYS_MIN || days > DATE_DAYS_MAX)
        return SETTLE_ERR_RANGE;
    return size < needed ? SETTLE_ERR_TOO_LONG : SETTLE_OK;
}

int date_format_iso(int32_t days, char *buffer, size_t size)
{
    int rc = s_check_format(days, size, DATE_TEXT_SIZE);
    if (rc != SETTLE_OK)
        return rc;
    int year, month, day;
    date_to_ymd(days, &year, &month, &day);
    snprintf(buffer, size, "%04d-%02d-%02d", year, month, day);
    return SETTLE_OK;
}

int date_format_ccyymmdd(int32_t days, char *buffer, size_t size)
{
    int rc = s_check_format(days, size, 9);
    if (rc != SETTLE_OK)
        return rc;
    int year, month, day;
    date_to_ymd(days, &year, &month, &day);
    snprintf(buffer, size, "%04d%02d%02d", year, month, day);
    return SETTLE_OK;
}

/*
 * Birthdays are compared as (month, day) pairs, which gives the 29 February
 * rule for free:
 *
 *   born 2008-02-29   on 2026-02-28 -> 17   (02-28 < 02-29: not yet)
 *                     on 2026-03-01 -> 18   (03-01 > 02-29)
 *                     on 2028-02-29 -> 20   (the day itself)
 */
int date_age_years(int32_t birth, int32_t on, int *years_out)
{
    if (birth == DATE_NONE || on == DATE_NONE || on < birth)
        return SETTLE_ERR_RANGE;
    int birth_year, birth_month, birth_day, year, month, day;
    date_to_ymd(birth, &birth_year, &birth_month, &birth_day);
    date_to_ymd(on, &year, &month, &day);
    int years = year - birth_year;
    if (month < birth_month || (month == birth_month && day < birth_day))
        years--;
    *years_out = years;
    return SETTLE_OK;
}
