/*
 * fuzz_node_store.c - the Raft log store's segment reader
 * (node_store_scan, engine/node_store.h) on arbitrary bytes.
 *
 * Checks more than "no crash": the records it accepts lie inside the
 * bytes, each where the one before ends, with the indexes following the
 * header's; and the same bytes with their last accepted record's CRC
 * broken give one record fewer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/node_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t s_get64(const uint8_t *at)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | at[i];
    return value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    raft_index first;
    size_t end;
    size_t count = node_store_scan(data, size, 1, &first, &end);
    if (!count)
        return 0;
    if (end > size || first == 0)
        abort();
    size_t at = 32, last = 0;
    for (size_t i = 0; i < count; i++) {
        if (at + 32 > end || s_get64(data + at + 8) != first + i)
            abort();
        size_t length = (size_t)data[at + 4] | (size_t)data[at + 5] << 8 |
                        (size_t)data[at + 6] << 16 | (size_t)data[at + 7] << 24;
        last = at;
        at += 32 + ((length + 7) & ~(size_t)7);
    }
    if (at != end)
        abort();
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[last] ^= 1; /* the last record's CRC */
    raft_index first_again;
    size_t end_again;
    if (node_store_scan(copy, size, 1, &first_again, &end_again) != count - 1)
        abort();
    free(copy);
    return 0;
}
