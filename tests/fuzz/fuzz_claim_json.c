/*
 * fuzz_claim_json.c - the canonical JSON claim reader on arbitrary text.
 *
 * Every claim it delivers has passed validation, so it must encode, decode
 * back to an equal claim, and write JSON that reads back to the same claim.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_same_again(const claim_t *claim, void *context)
{
    (void)context;
    uint8_t *bytes;
    size_t size;
    if (claim_encode(claim, &bytes, &size) != SETTLE_OK)
        abort();
    claim_t *decoded = NULL;
    if (claim_decode(bytes, size, &decoded, NULL) != SETTLE_OK || !claim_equal(claim, decoded))
        abort();
    settle_free(bytes);
    char *text;
    if (claim_to_json_text(claim, 0, &text) != SETTLE_OK)
        abort();
    json_t *object = json_loads(text, 0, NULL);
    if (!object || claim_from_json(object, "", decoded, NULL) != SETTLE_OK ||
        !claim_equal(claim, decoded))
        abort();
    json_decref(object);
    settle_free(text);
    claim_destroy(&decoded);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    settle_error_t error;
    settle_error_clear(&error);
    int rc =
        claim_json_read_text((const char *)data, size, "fuzz.json", s_same_again, NULL, &error);
    if (rc != SETTLE_OK && !error.message[0])
        abort(); /* a failure must say why */
    return 0;
}
