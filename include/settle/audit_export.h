/*
 * audit_export.h - a ledger's chain in a portable file an auditor can
 * verify without the node's database (issue 8): `settle audit export`
 * writes it, `settle audit verify` reads it.
 *
 * The export format, version 1 (integers big-endian, as in engine/wire.h):
 *
 *   header  "SETLAUDX" u16:version(1) u16:hash_size(32)
 *           u64:first_index u64:last_index u64:record_count
 *   record  u64:entry_index u64:timestamp_ms u32:entry_size entry_size bytes
 *           hash_size bytes:changes_digest hash_size bytes:hash
 *           (record_count of them, entry_index strictly increasing from
 *           first_index to last_index)
 *   end     the file ends after the last record
 *
 * Each record is one row of the ledger's chain table exactly as stored:
 * the applied entry's bytes (the signed commands, the leader's timestamp
 * inside them), the timestamp column, and the link (changes digest, hash)
 * the node computed.  The reader checks the structure only (sizes, order,
 * counts, nothing after the end); whether the links are right is the
 * replay's business (audit_verify_export).
 *
 * An export from entry 1 holds everything the state is made of: replaying
 * it rebuilds the ledger and re-makes every link.  An export from a later
 * entry cannot be verified alone (its first link depends on state it does
 * not hold); the reader reads it, audit_verify_export refuses it.
 */
#ifndef SETTLE_AUDIT_EXPORT_H
#define SETTLE_AUDIT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "settle/audit.h"
#include "settle/error.h"
#include "settle/ledger.h"

#define AUDIT_EXPORT_MAGIC       "SETLAUDX"
#define AUDIT_EXPORT_MAGIC_SIZE  8
#define AUDIT_EXPORT_VERSION     1
#define AUDIT_EXPORT_HEADER_SIZE (AUDIT_EXPORT_MAGIC_SIZE + 2 + 2 + 8 + 8 + 8)

typedef struct {
    uint16_t version;
    uint64_t first_index;
    uint64_t last_index;
    uint64_t record_count;
} audit_export_header_t;

/* One record; entry points into the reader's buffer, valid until the
 * next call on the reader. */
typedef struct {
    uint64_t entry_index;
    uint64_t timestamp_ms;
    const uint8_t *entry;
    size_t entry_size;
    uint8_t changes_digest[LEDGER_HASH_SIZE];
    uint8_t hash[LEDGER_HASH_SIZE];
} audit_export_record_t;

typedef struct audit_export_reader_t audit_export_reader_t;

/*
 * Writes the chain links of the ledger at ledger_path with from_index <=
 * index <= to_index (to_index 0: up to the head) to out_path, read inside
 * one read transaction (the node may go on writing).  The file is written
 * beside out_path and renamed over it when complete, so a failure leaves
 * no half export.  *header_out (may be NULL) says what was written.
 * SETTLE_ERR_INVALID for from_index 0 or a range ending before it starts,
 * SETTLE_ERR_NOT_FOUND when the ledger has no link in the range,
 * SETTLE_ERR_IO, _VERSION, _NOMEM with the reason.
 */
int audit_export_write(const char *ledger_path, uint64_t from_index, uint64_t to_index,
                       const char *out_path, audit_export_header_t *header_out,
                       settle_error_t *error);

/* True when the file at path begins with AUDIT_EXPORT_MAGIC. */
bool audit_export_is_export(const char *path);

/*
 * Reads and checks the header from file (which stays the caller's and must
 * outlive the reader) into *header_out and makes a reader for the records.
 * SETTLE_ERR_CORRUPT (not an export, inconsistent header),
 * SETTLE_ERR_VERSION, SETTLE_ERR_TRUNCATED, SETTLE_ERR_NOMEM, each with
 * what was expected where.
 */
int audit_export_reader_new(FILE *file, audit_export_reader_t **reader_out,
                            audit_export_header_t *header_out, settle_error_t *error);

/*
 * The next record into *record_out, or *done_out = true after the last
 * one, once the end of the file has been checked.  SETTLE_ERR_TRUNCATED,
 * SETTLE_ERR_CORRUPT (an index out of order or out of the header's range,
 * an entry larger than COMMAND_ENTRY_SIZE_MAX, bytes after the last
 * record), SETTLE_ERR_NOMEM, each naming the record.
 */
int audit_export_reader_next(audit_export_reader_t *self, audit_export_record_t *record_out,
                             bool *done_out, settle_error_t *error);

/* Frees the reader (not its file); nulls *self_p, safe twice. */
void audit_export_reader_destroy(audit_export_reader_t **self_p);

/*
 * audit_verify over an export file: replays every record into a fresh
 * state machine that verifies every signature again and compares each
 * link it makes with the record's, in the same words as audit_verify.
 * There are no stored tables to compare: claim_count and payment_count
 * are those of the rebuilt state.  SETTLE_ERR_RANGE, with the reason,
 * for an export that does not start at entry 1.  Other codes as
 * audit_verify, and as the reader for a malformed file.
 */
int audit_verify_export(const char *path, const audit_options_t *options,
                        audit_totals_t *totals_out, audit_divergence_t *divergence_out,
                        settle_error_t *error);

#endif
