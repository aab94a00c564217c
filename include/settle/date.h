/*
 * date.h - calendar dates as a count of days since 1970-01-01.
 *
 * A date is an int32_t day number in the proleptic Gregorian calendar, so
 * dates compare and subtract as integers.  Years 0001 to 9999 are accepted.
 * No time of day and no time zone: claims are dated, not timed.
 */
#ifndef SETTLE_DATE_H
#define SETTLE_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"

/* "No date": an absent birth date, an open-ended coverage period. */
#define DATE_NONE INT32_MIN

/* Bytes date_format_iso writes, with the NUL: "2024-02-29". */
#define DATE_TEXT_SIZE 11

#define DATE_YEAR_MIN 1
#define DATE_YEAR_MAX 9999

bool date_is_leap_year(int year);

/* Days in the month (1..12) of the year; 0 for a month out of range. */
int date_days_in_month(int year, int month);

/* The day number of year-month-day; SETTLE_ERR_RANGE for a date that does
 * not exist (2023-02-29, month 13) or a year outside 1..9999. */
int date_from_ymd(int year, int month, int day, int32_t *days_out);

/* The year, month and day of a day number made by date_from_ymd. */
void date_to_ymd(int32_t days, int *year_out, int *month_out, int *day_out);

/* Parses exactly eight digits CCYYMMDD, the X12 D8 form ("20240229").
 * SETTLE_ERR_SYNTAX for anything else, SETTLE_ERR_RANGE for no such date. */
int date_parse_ccyymmdd(const char *text, size_t length, int32_t *days_out);

/* Parses exactly CCYY-MM-DD, the ISO 8601 and FHIR form ("2024-02-29"). */
int date_parse_iso(const char *text, size_t length, int32_t *days_out);

/* Either form, told apart by length (8 or 10). */
int date_parse(const char *text, size_t length, int32_t *days_out);

/* Writes CCYY-MM-DD; SETTLE_ERR_TOO_LONG when size < DATE_TEXT_SIZE,
 * SETTLE_ERR_RANGE for DATE_NONE or a day outside years 1..9999. */
int date_format_iso(int32_t days, char *buffer, size_t size);

/* Writes CCYYMMDD (size at least 9); errors as date_format_iso. */
int date_format_ccyymmdd(int32_t days, char *buffer, size_t size);

/*
 * Age in completed years on a date: the number of birthdays that have passed
 * by `on`, the birthday itself counting.  Someone born on 29 February has
 * their birthday on 1 March in common years: born 2008-02-29, they are 17 on
 * 2026-02-28 and 18 on 2026-03-01.  SETTLE_ERR_RANGE when on is before birth
 * or either is DATE_NONE.
 */
int date_age_years(int32_t birth, int32_t on, int *years_out);

#endif
