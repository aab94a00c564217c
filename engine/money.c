/*
 * money.c - integer-cent arithmetic: parsing, formatting, checked sums,
 * rounded proportions and exact splits.
 *
 * Deterministic code: no floating point.  Products that may exceed 64 bits
 * are computed in 128 bits (a GCC and Clang extension on every 64-bit
 * target we build for) and checked before narrowing.
 */
#include "settle/money.h"

#include <stdbool.h>
#include <stdio.h>

#include "settle/error.h"

typedef unsigned __int128 money_u128_t;
typedef __int128 money_i128_t;

/* The magnitude of INT64_MIN, the largest a negative amount may have. */
#define MONEY_NEGATIVE_LIMIT ((uint64_t)INT64_MAX + 1u)

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Reads digits[.d[d]] from text[*at..length) into a count of hundredths.
 * At least one digit in all; a point must have one or two digits after it.
 * Fails with SETTLE_ERR_OVERFLOW beyond limit.
 */
static int s_parse_hundredths(const char *text, size_t length, size_t *at, uint64_t limit,
                              uint64_t *value_out)
{
    size_t i = *at;
    uint64_t whole = 0;
    size_t whole_digits = 0;
    for (; i < length && s_is_digit(text[i]); i++, whole_digits++) {
        if (whole > limit / 10)
            return SETTLE_ERR_OVERFLOW;
        whole = whole * 10 + (uint64_t)(text[i] - '0');
    }
    uint64_t fraction = 0;
    size_t fraction_digits = 0;
    if (i < length && text[i] == '.') {
        for (i++; i < length && s_is_digit(text[i]) && fraction_digits < 3; i++, fraction_digits++)
            fraction = fraction * 10 + (uint64_t)(text[i] - '0');
        if (fraction_digits == 0 || fraction_digits > 2)
            return SETTLE_ERR_SYNTAX;
        if (fraction_digits == 1)
            fraction *= 10;
    }
    if (whole_digits + fraction_digits == 0)
        return SETTLE_ERR_SYNTAX;
    money_u128_t total = (money_u128_t)whole * 100u + fraction;
    if (total > limit)
        return SETTLE_ERR_OVERFLOW;
    *at = i;
    *value_out = (uint64_t)total;
    return SETTLE_OK;
}

int money_parse(const char *text, size_t length, int64_t *cents_out)
{
    if (!text || length == 0)
        return SETTLE_ERR_SYNTAX;
    size_t at = 0;
    bool negative = text[0] == '-';
    if (negative)
        at = 1;
    uint64_t magnitude;
    int rc = s_parse_hundredths(text, length, &at, negative ? MONEY_NEGATIVE_LIMIT : INT64_MAX,
                                &magnitude);
    if (rc != SETTLE_OK)
        return rc;
    if (at != length)
        return SETTLE_ERR_SYNTAX;
    if (negative)
        *cents_out = magnitude == MONEY_NEGATIVE_LIMIT ? INT64_MIN : -(int64_t)magnitude;
    else
        *cents_out = (int64_t)magnitude;
    return SETTLE_OK;
}

int money_parse_rate(const char *text, size_t length, int32_t *bps_out)
{
    if (!text || length < 2 || text[length - 1] != '%')
        return SETTLE_ERR_SYNTAX;
    size_t at = 0;
    uint64_t bps;
    int rc = s_parse_hundredths(text, length - 1, &at, INT32_MAX, &bps);
    if (rc != SETTLE_OK)
        return rc;
    if (at != length - 1)
        return SETTLE_ERR_SYNTAX;
    *bps_out = (int32_t)bps;
    return SETTLE_OK;
}

int money_format(int64_t cents, char *buffer, size_t size)
{
    uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    int written =
        snprintf(buffer, size, "%s%llu.%02llu", cents < 0 ? "-" : "",
                 (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
    if (written < 0 || (size_t)written >= size)
        return SETTLE_ERR_TOO_LONG;
    return SETTLE_OK;
}

int money_format_rate(int32_t bps, char *buffer, size_t size)
{
    uint32_t magnitude = bps < 0 ? (uint32_t)0 - (uint32_t)bps : (uint32_t)bps;
    const char *sign = bps < 0 ? "-" : "";
    unsigned whole = magnitude / 100, fraction = magnitude % 100;
    int written;
    if (fraction == 0)
        written = snprintf(buffer, size, "%s%u%%", sign, whole);
    else if (fraction % 10 == 0)
        written = snprintf(buffer, size, "%s%u.%u%%", sign, whole, fraction / 10);
    else
        written = snprintf(buffer, size, "%s%u.%02u%%", sign, whole, fraction);
    if (written < 0 || (size_t)written >= size)
        return SETTLE_ERR_TOO_LONG;
    return SETTLE_OK;
}

int money_add(int64_t a, int64_t b, int64_t *sum_out)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return SETTLE_ERR_OVERFLOW;
    *sum_out = sum;
    return SETTLE_OK;
}

int money_sub(int64_t a, int64_t b, int64_t *difference_out)
{
    int64_t difference;
    if (__builtin_sub_overflow(a, b, &difference))
        return SETTLE_ERR_OVERFLOW;
    *difference_out = difference;
    return SETTLE_OK;
}

int money_mul(int64_t cents, int64_t factor, int64_t *product_out)
{
    int64_t product;
    if (__builtin_mul_overflow(cents, factor, &product))
        return SETTLE_ERR_OVERFLOW;
    *product_out = product;
    return SETTLE_OK;
}

/* Rounds the magnitude quotient q (with remainder r of divisor d) by mode. */
static money_u128_t s_round(money_u128_t q, money_u128_t r, money_u128_t d, money_round_t mode)
{
    switch (mode) {
    case MONEY_ROUND_DOWN:
        return q;
    case MONEY_ROUND_UP:
        return r > 0 ? q + 1 : q;
    case MONEY_ROUND_HALF_UP:
        return 2 * r >= d ? q + 1 : q;
    case MONEY_ROUND_HALF_EVEN:
        return (2 * r > d || (2 * r == d && (q & 1))) ? q + 1 : q;
    }
    return q;
}

int money_muldiv(int64_t amount, int64_t numerator, int64_t denominator, money_round_t mode,
                 int64_t *result_out)
{
    if (denominator == 0 || (unsigned)mode > MONEY_ROUND_UP)
        return SETTLE_ERR_INVALID;
    money_i128_t product = (money_i128_t)amount * numerator;
    bool negative = (product < 0) != (denominator < 0) && product != 0;
    money_u128_t p = product < 0 ? (money_u128_t)0 - (money_u128_t)product : (money_u128_t)product;
    money_u128_t d = denominator < 0 ? (money_u128_t)0 - (money_u128_t)(money_i128_t)denominator
                                     : (money_u128_t)denominator;
    money_u128_t q = s_round(p / d, p % d, d, mode);
    if (q > (negative ? (money_u128_t)MONEY_NEGATIVE_LIMIT : (money_u128_t)INT64_MAX))
        return SETTLE_ERR_OVERFLOW;
    if (negative)
        *result_out = q == MONEY_NEGATIVE_LIMIT ? INT64_MIN : -(int64_t)q;
    else
        *result_out = (int64_t)q;
    return SETTLE_OK;
}

int money_apply_rate(int64_t cents, int32_t bps, money_round_t mode, int64_t *result_out)
{
    return money_muldiv(cents, bps, MONEY_BPS_ONE_HUNDRED_PERCENT, mode, result_out);
}

/* True when part i ranks before part j for the leftover cents: larger
 * remainder first, the lower index on a tie. */
static bool s_ranks_before(money_u128_t remainder_i, size_t i, money_u128_t remainder_j, size_t j)
{
    return remainder_i > remainder_j || (remainder_i == remainder_j && i < j);
}

int money_split(int64_t total, const int64_t *weights, size_t count, int64_t *parts_out)
{
    if (!weights || !parts_out || count == 0)
        return SETTLE_ERR_INVALID;
    money_u128_t weight_sum = 0;
    for (size_t i = 0; i < count; i++) {
        if (weights[i] < 0)
            return SETTLE_ERR_INVALID;
        weight_sum += (money_u128_t)weights[i];
    }
    if (weight_sum == 0)
        return SETTLE_ERR_INVALID;

    /* From here nothing can fail.  Split the magnitude, then mirror. */
    uint64_t magnitude = total < 0 ? (uint64_t)0 - (uint64_t)total : (uint64_t)total;
    uint64_t handed_out = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t share = (uint64_t)((money_u128_t)magnitude * (uint64_t)weights[i] / weight_sum);
        parts_out[i] = (int64_t)share; /* a share <= magnitude; sign fixed below */
        handed_out += share;
    }
    /* Fewer than count cents are left; give them out in rank order.  Each
     * round picks the best-ranked part below the previous pick, so no
     * scratch memory is needed: O(count x leftover). */
    uint64_t leftover = magnitude - handed_out;
    money_u128_t last_remainder = 0;
    size_t last_index = 0;
    for (uint64_t round = 0; round < leftover; round++) {
        size_t best = count;
        money_u128_t best_remainder = 0;
        for (size_t i = 0; i < count; i++) {
            money_u128_t remainder = (money_u128_t)magnitude * (uint64_t)weights[i] % weight_sum;
            if (round > 0 && !s_ranks_before(last_remainder, last_index, remainder, i))
                continue;
            if (best == count || s_ranks_before(remainder, i, best_remainder, best)) {
                best = i;
                best_remainder = remainder;
            }
        }
        parts_out[best] =
            (int64_t)((uint64_t)parts_out[best] + 1u); /* no signed overflow at 2^63 */
        last_remainder = best_remainder;
        last_index = best;
    }
    if (total < 0)
        for (size_t i = 0; i < count; i++)
            parts_out[i] = (int64_t)((uint64_t)0 - (uint64_t)parts_out[i]);
    return SETTLE_OK;
}
