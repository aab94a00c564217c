/*
 * fuzz_x12_837.c - the X12 837 reader on arbitrary bytes.
 *
 * Whatever the input, the reader must return, report every problem with a
 * message, and deliver only claims that pass validation and survive the
 * canonical encoding round trip.  Counted claims must match the stats.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/x12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint32_t claims;
    uint32_t problems;
} s_counts_t;

static int s_check_claim(const claim_t *claim, void *context)
{
    s_counts_t *counts = context;
    counts->claims++;
    if (claim_validate(claim, NULL) != SETTLE_OK)
        abort();
    uint8_t *bytes;
    size_t size;
    if (claim_encode(claim, &bytes, &size) != SETTLE_OK)
        abort();
    claim_t *decoded = NULL;
    if (claim_decode(bytes, size, &decoded, NULL) != SETTLE_OK || !claim_equal(claim, decoded))
        abort();
    claim_destroy(&decoded);
    settle_free(bytes);
    return 0;
}

static int s_check_problem(x12_837_problem_t problem, const char *claim_id,
                           const settle_error_t *error, void *context)
{
    s_counts_t *counts = context;
    counts->problems++;
    if (!claim_id || !error || !error->message[0] || error->code == SETTLE_OK)
        abort(); /* a problem must say why */
    if (problem != X12_837_CLAIM_REJECTED && problem != X12_837_ENVELOPE_ERROR)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_counts_t counts = {0, 0};
    x12_837_callbacks_t callbacks = {s_check_claim, s_check_problem};
    x12_837_stats_t stats;
    long live = settle_alloc_live();
    int rc = x12_837_read((const char *)data, size, "fuzz.x12", &callbacks, &counts, NULL, &stats);
    if (rc != SETTLE_OK || stats.claims_delivered != counts.claims ||
        stats.claims_rejected + stats.envelope_errors != counts.problems)
        abort();
    if (settle_alloc_live() != live)
        abort();
    return 0;
}
