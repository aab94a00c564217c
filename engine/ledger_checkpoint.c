/*
 * ledger_checkpoint.c - the checkpoints table: a node's signed word that a
 * chain link has a hash (fsm.h), and the link lookup its check needs.
 */
#include "ledger_internal.h"

int ledger_link_hash(ledger_t *self, uint64_t entry_index, uint8_t hash_out[LEDGER_HASH_SIZE])
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_LINK_HASH, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)entry_index);
    int step = sqlite3_step(s);
    int rc = SETTLE_OK;
    if (step == SQLITE_ROW && sqlite3_column_bytes(s, 0) == LEDGER_HASH_SIZE)
        memcpy(hash_out, sqlite3_column_blob(s, 0), LEDGER_HASH_SIZE);
    else if (step == SQLITE_DONE)
        rc = SETTLE_ERR_NOT_FOUND;
    else
        rc = SETTLE_ERR_IO; /* a stored hash of the wrong size is as bad as a failed read */
    sqlite3_reset(s);
    return rc;
}

int ledger_checkpoint_put(ledger_t *self, const ledger_checkpoint_t *row, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CHECKPOINT_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)row->entry_index);
    sqlite3_bind_int(s, 2, (int)row->position);
    ledger_bind_text(s, 3, row->signer);
    sqlite3_bind_int64(s, 4, (int64_t)row->chain_index);
    sqlite3_bind_blob(s, 5, row->hash, LEDGER_HASH_SIZE, SQLITE_STATIC);
    int rc = ledger_step_done(self, s, "recording a checkpoint", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_CHECKPOINT, 1);
    wire_put_uint(w, row->entry_index, 8);
    wire_put_uint(w, row->position, 4);
    wire_put_text(w, row->signer, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_uint(w, row->chain_index, 8);
    wire_put(w, row->hash, LEDGER_HASH_SIZE);
    return SETTLE_OK;
}

int ledger_checkpoint_summary(ledger_t *self, uint64_t *count_out, uint64_t *last_index_out)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CHECKPOINT_SUMMARY, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        sqlite3_reset(s);
        return SETTLE_ERR_IO;
    }
    *count_out = (uint64_t)sqlite3_column_int64(s, 0);
    *last_index_out = (uint64_t)sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    return SETTLE_OK;
}
