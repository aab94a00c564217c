/*
 * fuzz_contract_load.c - the contract YAML loader on arbitrary text.
 *
 * A load either compiles a program or fails with a message that names a
 * place; it never crashes, and it leaks nothing either way.
 */
#include <stdint.h>
#include <stdlib.h>

#include "settle/alloc.h"
#include "settle/contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = settle_alloc_live();
    settle_error_t error;
    contract_t *contract = NULL;
    int rc = contract_load_text((const char *)data, size, "fuzz.yaml", &contract, &error, NULL,
                                NULL);
    if (rc == SETTLE_OK && !contract)
        abort();
    if (rc != SETTLE_OK && (contract || !error.message[0]))
        abort(); /* a failure must say why */
    contract_destroy(&contract);
    if (settle_alloc_live() != live)
        abort();
    return 0;
}
