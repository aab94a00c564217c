/*
 * money.h - amounts in integer cents, rates in basis points.
 *
 * No floating point anywhere: an amount is a signed 64-bit count of cents, a
 * rate is a count of basis points (1 bp = 0.01%, so 10000 = 100%).  Every
 * operation that can overflow checks and returns SETTLE_ERR_OVERFLOW; every
 * operation that divides names its rounding mode; every split returns parts
 * that add back exactly to the whole.
 */
#ifndef SETTLE_MONEY_H
#define SETTLE_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"

#define MONEY_BPS_ONE_HUNDRED_PERCENT 10000

/* Longest text money_format and money_format_rate write, with the NUL. */
#define MONEY_TEXT_SIZE 32

/* How a division that does not come out even is rounded. */
typedef enum {
    /* To the nearest cent; a tie (exactly half a cent) goes away from zero:
     * 0.125 -> 0.13, -0.125 -> -0.13.  The commercial rounding payers use. */
    MONEY_ROUND_HALF_UP,
    /* To the nearest cent; a tie goes to the even cent (banker's rounding). */
    MONEY_ROUND_HALF_EVEN,
    /* Toward zero: drops the fraction. */
    MONEY_ROUND_DOWN,
    /* Away from zero: any fraction adds a cent. */
    MONEY_ROUND_UP,
} money_round_t;

/*
 * Parses a decimal amount into cents: "1234.50", "1234.5", "1234", ".50",
 * "-12.00".  At most two digits after the point, no exponent, no sign other
 * than a leading '-', no spaces, no thousands separators; text need not be
 * NUL-terminated.  Fails with SETTLE_ERR_SYNTAX (the text is not an amount)
 * or SETTLE_ERR_OVERFLOW (it does not fit in 64 bits of cents).  *cents_out
 * is written only on success.
 */
int money_parse(const char *text, size_t length, int64_t *cents_out);

/*
 * Parses a percentage into basis points: "20%" -> 2000, "12.5%" -> 1250,
 * "0.25%" -> 25, "140%" -> 14000.  The '%' is required, at most two digits
 * after the point, no sign.  Fails with SETTLE_ERR_SYNTAX or, above
 * INT32_MAX basis points, SETTLE_ERR_OVERFLOW.
 */
int money_parse_rate(const char *text, size_t length, int32_t *bps_out);

/* Writes cents as "1234.50" / "-0.05" into buffer (MONEY_TEXT_SIZE is always
 * enough).  Returns SETTLE_ERR_TOO_LONG when the buffer is too small. */
int money_format(int64_t cents, char *buffer, size_t size);

/* Writes basis points as the shortest percentage: 2000 -> "20%", 1250 ->
 * "12.5%", 25 -> "0.25%".  SETTLE_ERR_TOO_LONG when the buffer is too small. */
int money_format_rate(int32_t bps, char *buffer, size_t size);

/* Checked sum and difference; SETTLE_ERR_OVERFLOW instead of wrapping. */
int money_add(int64_t a, int64_t b, int64_t *sum_out);
int money_sub(int64_t a, int64_t b, int64_t *difference_out);

/* Checked product of an amount and a whole factor (a unit count). */
int money_mul(int64_t cents, int64_t factor, int64_t *product_out);

/*
 * amount * numerator / denominator, computed exactly in 128 bits and rounded
 * once, by mode.  The tool for every proportional share: "charge x denied
 * units / units", "fee x units_milli / 1000".  SETTLE_ERR_INVALID for a zero
 * denominator, SETTLE_ERR_OVERFLOW when the result does not fit.
 */
int money_muldiv(int64_t amount, int64_t numerator, int64_t denominator, money_round_t mode,
                 int64_t *result_out);

/* amount * bps / 10000, rounded by mode: coinsurance, multipliers, percent of billed. */
int money_apply_rate(int64_t cents, int32_t bps, money_round_t mode, int64_t *result_out);

/*
 * Splits total into count parts in proportion to weights, by the largest
 * remainder method: each part gets the floor of its exact share, then the
 * cents left over go one each to the parts with the largest remainders, ties
 * to the lower index.  The parts always add up to total exactly.  A negative
 * total is split as the mirror of its absolute value.  Weights must be
 * non-negative with a positive sum (SETTLE_ERR_INVALID otherwise); count must
 * be at least 1.  parts_out[0..count) is written only on success.
 */
int money_split(int64_t total, const int64_t *weights, size_t count, int64_t *parts_out);

#endif
