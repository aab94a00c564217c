/*
 * fuzz_claim_decode.c - the binary claim decoder on arbitrary bytes.
 *
 * Checks more than "no crash": whatever decodes must re-encode to exactly
 * the input (one claim, one encoding), and must survive validation and the
 * JSON writer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    claim_t *claim = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    if (claim_decode(data, size, &claim, &error) != SETTLE_OK) {
        if (!error.message[0])
            abort(); /* a failure must say why */
        return 0;
    }
    uint8_t *again;
    size_t again_size;
    if (claim_encode(claim, &again, &again_size) != SETTLE_OK)
        abort();
    if (again_size != size || memcmp(again, data, size) != 0)
        abort(); /* not canonical: two encodings of one claim */
    settle_free(again);
    claim_validate(claim, &error);
    char *json;
    if (claim_to_json_text(claim, 0, &json) == SETTLE_OK)
        settle_free(json);
    claim_destroy(&claim);
    return 0;
}
