/*
 * ledger_wal.c - the WAL's checkpoints beside the writer (ledger.h has the
 * contract): a hook on the writer's commits, and a connection of its own
 * that copies the WAL into the database (SQLite's PASSIVE checkpoint: it
 * takes no lock the writer waits for, and copies what no reader still
 * needs).  The connection writes without syncing, as the writer does: the
 * ledger is derived state (ledger.c).
 */
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"

struct ledger_wal_s {
    sqlite3 *db;
};

static int s_hook(void *context, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ledger_t *self = context;
    self->wal_watch(self->wal_context, pages);
    return SQLITE_OK;
}

void ledger_wal_watch(ledger_t *self, ledger_wal_fn fn, void *context)
{
    self->wal_watch = fn;
    self->wal_context = context;
    if (fn)
        sqlite3_wal_hook(self->db, s_hook, self); /* and no autocheckpoint */
    else
        sqlite3_wal_autocheckpoint(self->db, LEDGER_WAL_CHECKPOINT_PAGES);
}

int ledger_wal_open(const char *path, ledger_wal_t **wal_out, settle_error_t *error)
{
    if (!path || !wal_out || strcmp(path, ":memory:") == 0)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger_wal_open: bad argument");
    ledger_wal_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(self->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL) != SQLITE_OK) {
        settle_error_set(error, SETTLE_ERR_IO, "ledger: %s: %s", path,
                         self->db ? sqlite3_errmsg(self->db) : "cannot open");
        ledger_wal_close(&self);
        return SETTLE_ERR_IO;
    }
    sqlite3_extended_result_codes(self->db, 1);
    *wal_out = self;
    return SETTLE_OK;
}

int ledger_wal_checkpoint(ledger_wal_t *self, int *left_out, settle_error_t *error)
{
    int pages = 0, copied = 0;
    int rc =
        sqlite3_wal_checkpoint_v2(self->db, "main", SQLITE_CHECKPOINT_PASSIVE, &pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        return settle_error_set(error, SETTLE_ERR_IO, "ledger: checkpointing the WAL: %s",
                                sqlite3_errmsg(self->db));
    if (left_out)
        *left_out = rc == SQLITE_BUSY ? 1 : pages > copied ? pages - copied : 0;
    return SETTLE_OK;
}

int ledger_wal_checkpoint_writer(ledger_t *self)
{
    int rc = sqlite3_wal_checkpoint_v2(self->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? SETTLE_OK : SETTLE_ERR_IO;
}

void ledger_wal_close(ledger_wal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sqlite3_close((*self_p)->db);
    settle_free(*self_p);
    *self_p = NULL;
}
