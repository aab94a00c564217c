/*
 * audit_export_verify.c - `settle audit verify EXPORT`: replays an export
 * file from entry 1 into a fresh state machine, verifying every signature
 * and every link (see include/settle/audit_export.h).  The same replay as
 * a ledger's (audit_replay_link), fed from the file instead of the chain
 * table; no table to compare at the end, since the export holds none.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"
#include "ledger_internal.h"
#include "settle/audit_export.h"

/* Progress is reported every this many entries. */
#define AUDIT_EXPORT_PROGRESS_ENTRIES 256

/* Counts the rebuilt state's rows of table into *count_out. */
static int s_count(fsm_t *fsm, const char *table, uint64_t *count_out, settle_error_t *error)
{
    /* ledger_row_count, not SQL: a scratch ledger keeps its claims in
     * memory (ledger_scratch.c), its claims table stays empty. */
    if (ledger_row_count(fsm_ledger(fsm), table, count_out) != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_IO, "audit: cannot count the rebuilt %s", table);
    return SETTLE_OK;
}

/* Replays every record the reader gives. */
static int s_replay(audit_export_reader_t *reader, const audit_export_header_t *header, fsm_t *fsm,
                    fsm_results_t *results, const audit_options_t *options, audit_totals_t *totals,
                    audit_divergence_t *divergence, settle_error_t *error)
{
    int rc = SETTLE_OK;
    bool done = false;
    uint64_t expected = 1;
    while (rc == SETTLE_OK) {
        audit_export_record_t record;
        rc = audit_export_reader_next(reader, &record, &done, error);
        if (rc != SETTLE_OK || done)
            break;
        audit_link_t link = {
            .entry_index = record.entry_index,
            .timestamp_ms = record.timestamp_ms,
            .entry = record.entry,
            .entry_size = record.entry_size,
            .changes_digest = record.changes_digest,
            .changes_digest_size = LEDGER_HASH_SIZE,
            .hash = record.hash,
            .hash_size = LEDGER_HASH_SIZE,
        };
        rc = audit_replay_link(fsm, results, &link, expected, totals, divergence, error);
        totals->entry_count += rc == SETTLE_OK;
        if (options->progress && expected % AUDIT_EXPORT_PROGRESS_ENTRIES == 0)
            options->progress(expected, header->last_index, options->context);
        expected++;
    }
    return rc;
}

int audit_verify_export(const char *path, const audit_options_t *options,
                        audit_totals_t *totals_out, audit_divergence_t *divergence_out,
                        settle_error_t *error)
{
    static const audit_options_t none = {0};
    options = options ? options : &none;
    memset(divergence_out, 0, sizeof *divergence_out);
    FILE *file = fopen(path, "rb");
    if (!file)
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    audit_export_reader_t *reader = NULL;
    audit_export_header_t header;
    fsm_t *fsm = NULL;
    fsm_results_t *results = NULL;
    audit_totals_t totals = {0};
    int rc = audit_export_reader_new(file, &reader, &header, error);
    if (rc == SETTLE_OK && header.first_index != 1)
        rc = settle_error_set(error, SETTLE_ERR_RANGE,
                              "%s holds entries %" PRIu64 " to %" PRIu64
                              ": a replay must start at entry 1, so verify needs an export "
                              "from entry 1 (settle audit export --from 1) or the ledger itself",
                              path, header.first_index, header.last_index);
    if (rc == SETTLE_OK)
        rc = fsm_open_scratch(&fsm, error);
    if (rc == SETTLE_OK && !(results = fsm_results_new()))
        rc = settle_error_set(error, SETTLE_ERR_NOMEM, "audit: out of memory");
    if (rc == SETTLE_OK) {
        fsm_verify_signatures(fsm, !options->skip_signatures);
        rc = s_replay(reader, &header, fsm, results, options, &totals, divergence_out, error);
    }
    if (rc == SETTLE_OK)
        rc = s_count(fsm, "claims", &totals.claim_count, error);
    if (rc == SETTLE_OK)
        rc = s_count(fsm, "payments", &totals.payment_count, error);
    if (rc == SETTLE_OK)
        rc = audit_checkpoint_totals(fsm, &totals, error);
    if (rc == SETTLE_OK) {
        fsm_head(fsm, &totals.head_index, totals.head_hash);
        *totals_out = totals;
    }
    fsm_results_destroy(&results);
    fsm_destroy(&fsm);
    audit_export_reader_destroy(&reader);
    fclose(file);
    return rc;
}
