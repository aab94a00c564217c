/*
 * ledger_readonly.c - opening a ledger file read-only, for an auditor or a
 * reader beside a serving node.
 *
 * ledger_open creates the schema and sets the writer's pragmas, both of
 * which write; a read-only handle does neither.  It opens the file with
 * SQLITE_OPEN_READONLY (so nothing done through it can change the file),
 * checks the schema version, and wraps the handle in a ledger_t whose
 * read functions work as usual and whose write functions fail with
 * SQLite's "attempt to write a readonly database".  The file is in WAL
 * mode, so a reader never blocks the node's writes nor they the reader:
 * a read transaction (BEGIN ... COMMIT around a walk) sees one consistent
 * state while the node goes on applying.
 */
#include <inttypes.h>
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"

/* The schema version stored in the file; -1 when it has none. */
static int64_t s_schema_version(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int64_t version = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return version;
}

/* The ledger_t around db, as ledger_wrap makes it but with no schema
 * written and no claim filter (it only speeds up inserts). */
static int s_wrap(sqlite3 *db, ledger_t **ledger_out, settle_error_t *error)
{
    ledger_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        sqlite3_close(db);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    }
    self->db = db;
    self->changes = (wire_writer_t){.grow = true, .ok = true};
    self->decision = (wire_writer_t){.grow = true, .ok = true};
    self->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    self->changes_hash = EVP_MD_CTX_new();
    self->digest_copy = EVP_MD_CTX_new();
    if (!self->sha256 || !self->changes_hash || !self->digest_copy ||
        EVP_DigestInit_ex2(self->changes_hash, self->sha256, NULL) != 1) {
        ledger_close(&self);
        return settle_error_set(error, SETTLE_ERR_CRYPTO, "ledger: SHA-256 is not available");
    }
    *ledger_out = self;
    return SETTLE_OK;
}

int ledger_open_readonly(const char *path, ledger_t **ledger_out, settle_error_t *error)
{
    if (!path || !ledger_out || strcmp(path, ":memory:") == 0)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger_open_readonly: bad argument");
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        settle_error_set(error, SETTLE_ERR_IO, "ledger: %s: %s", path,
                         db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return SETTLE_ERR_IO;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    int64_t version = s_schema_version(db);
    if (version != LEDGER_SCHEMA_VERSION) {
        int rc = version < 0 ? SETTLE_ERR_IO : SETTLE_ERR_VERSION;
        if (version < 0)
            settle_error_set(error, rc, "ledger: %s: not a ledger (%s)", path, sqlite3_errmsg(db));
        else
            settle_error_set(error, rc, "ledger: %s: schema version %" PRId64 ", expected %d", path,
                             version, LEDGER_SCHEMA_VERSION);
        sqlite3_close(db);
        return rc;
    }
    return s_wrap(db, ledger_out, error);
}
