/*
 * fuzz_money_date.c - the amount, rate and date parsers on arbitrary text.
 *
 * Whatever parses must format back and parse again to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/date.h"
#include "settle/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char buffer[MONEY_TEXT_SIZE];
    int64_t cents, again;
    if (money_parse(text, size, &cents) == SETTLE_OK) {
        if (money_format(cents, buffer, sizeof buffer) != SETTLE_OK ||
            money_parse(buffer, strlen(buffer), &again) != SETTLE_OK || again != cents)
            abort();
    }
    int32_t bps, bps_again;
    if (money_parse_rate(text, size, &bps) == SETTLE_OK) {
        if (money_format_rate(bps, buffer, sizeof buffer) != SETTLE_OK ||
            money_parse_rate(buffer, strlen(buffer), &bps_again) != SETTLE_OK || bps_again != bps)
            abort();
    }
    int32_t days, days_again;
    if (date_parse(text, size, &days) == SETTLE_OK) {
        if (date_format_iso(days, buffer, sizeof buffer) != SETTLE_OK ||
            date_parse_iso(buffer, strlen(buffer), &days_again) != SETTLE_OK || days_again != days)
            abort();
    }
    return 0;
}
