/*
 * fuzz_fhir_claim.c - the FHIR R4 Claim reader on arbitrary bytes.
 *
 * Whatever the input, the reader must return SETTLE_OK, report every
 * problem with a message, count what it delivered and rejected, free all it
 * allocated, and deliver only claims that pass validation and survive the
 * canonical encoding and the canonical JSON round trips.  Each amount and
 * quantity it delivered came from the digits of the text, so a claim's
 * total always equals the sum of its lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"
#include "settle/fhir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint32_t claims;
    uint32_t rejected;
    uint32_t document_errors;
} s_counts_t;

static void s_check_json_round_trip(const claim_t *claim, claim_t *decoded)
{
    char *text;
    if (claim_to_json_text(claim, 0, &text) != SETTLE_OK)
        abort();
    json_t *object = json_loads(text, 0, NULL);
    if (!object || claim_from_json(object, "", decoded, NULL) != SETTLE_OK ||
        !claim_equal(claim, decoded))
        abort();
    json_decref(object);
    settle_free(text);
}

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
    settle_free(bytes);
    s_check_json_round_trip(claim, decoded);
    claim_destroy(&decoded);
    return 0;
}

static int s_check_problem(fhir_problem_t problem, const char *claim_id,
                           const settle_error_t *error, void *context)
{
    s_counts_t *counts = context;
    if (!claim_id || !error || !error->message[0] || error->code == SETTLE_OK)
        abort(); /* a problem must say why */
    if (problem == FHIR_CLAIM_REJECTED)
        counts->rejected++;
    else if (problem == FHIR_DOCUMENT_ERROR)
        counts->document_errors++;
    else
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_counts_t counts = {0, 0, 0};
    fhir_claim_callbacks_t callbacks = {s_check_claim, s_check_problem};
    fhir_claim_stats_t stats;
    long live = settle_alloc_live();
    int rc =
        fhir_claim_read((const char *)data, size, "fuzz.json", &callbacks, &counts, NULL, &stats);
    if (rc != SETTLE_OK || stats.claims_delivered != counts.claims ||
        stats.claims_rejected != counts.rejected ||
        stats.document_errors != counts.document_errors || settle_alloc_live() != live)
        abort();
    return 0;
}
