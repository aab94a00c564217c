/*
 * fuzz_audit_export.c - the audit export reader (engine/audit_export.c)
 * on arbitrary bytes.
 *
 * Checks more than "no crash": a failure must say why, every record read
 * must lie in the header's range in strictly increasing order, and the
 * reader must stop once the header's count has been read.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "settle/audit_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *file = fmemopen((void *)data, size, "rb");
    if (!file)
        return 0;
    audit_export_reader_t *reader = NULL;
    audit_export_header_t header;
    settle_error_t error;
    settle_error_clear(&error);
    if (audit_export_reader_new(file, &reader, &header, &error) != SETTLE_OK) {
        if (!error.message[0] || reader)
            abort();
        fclose(file);
        return 0;
    }
    uint64_t records = 0, last = 0;
    bool done = false;
    while (!done) {
        audit_export_record_t record;
        settle_error_clear(&error);
        if (audit_export_reader_next(reader, &record, &done, &error) != SETTLE_OK) {
            if (!error.message[0])
                abort();
            break;
        }
        if (done)
            break;
        if (record.entry_index <= last || record.entry_index < header.first_index ||
            record.entry_index > header.last_index || ++records > header.record_count)
            abort();
        last = record.entry_index;
    }
    if (done && (records != header.record_count || last != header.last_index))
        abort();
    audit_export_reader_destroy(&reader);
    audit_export_reader_destroy(&reader); /* safe twice */
    fclose(file);
    return 0;
}
