/*
 * ledger_snapshot.c - the whole database as bytes, and back.
 *
 * A snapshot is the SQLite database image (sqlite3_serialize), marked as a
 * rollback-journal database so it can be opened in memory anywhere.
 * Restoring opens the image as a separate in-memory database, checks it
 * (integrity, schema version), and only then copies it over the live
 * database with the backup API, which writes the destination in one
 * transaction: a bad snapshot never touches the live state.
 */
#include <sqlite3.h>

#include "ledger_internal.h"

/* Bytes 18 and 19 of the database header: the file format versions, 2 for
 * WAL, 1 for a rollback journal. */
#define LEDGER_HEADER_WRITE_VERSION 18
#define LEDGER_HEADER_READ_VERSION  19
#define LEDGER_HEADER_SIZE          100

int ledger_serialize_image(ledger_t *self, uint8_t **image_out, size_t *size_out,
                           settle_error_t *error)
{
    if (self->in_transaction)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger: snapshot inside an entry");
    int flushed = ledger_flush(self, error);
    if (flushed != SETTLE_OK)
        return flushed;
    sqlite3_int64 size = 0;
    unsigned char *image = sqlite3_serialize(self->db, "main", &size, 0);
    if (!image)
        return ledger_sqlite_error(self, "serializing the database", error);
    if (size >= LEDGER_HEADER_SIZE) {
        image[LEDGER_HEADER_WRITE_VERSION] = 1;
        image[LEDGER_HEADER_READ_VERSION] = 1;
    }
    *image_out = image;
    *size_out = (size_t)size;
    return SETTLE_OK;
}

void ledger_image_free(uint8_t *image)
{
    sqlite3_free(image);
}

int ledger_serialize(ledger_t *self, uint8_t **bytes_out, size_t *size_out, settle_error_t *error)
{
    uint8_t *image;
    size_t size;
    int rc = ledger_serialize_image(self, &image, &size, error);
    if (rc != SETTLE_OK)
        return rc;
    uint8_t *bytes = settle_malloc(size);
    if (bytes)
        memcpy(bytes, image, size);
    ledger_image_free(image);
    if (!bytes)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    *bytes_out = bytes;
    *size_out = size;
    return SETTLE_OK;
}

int ledger_snapshot_reader(ledger_t *self, ledger_t **reader_out, settle_error_t *error)
{
    const char *path = sqlite3_db_filename(self->db, "main");
    if (!path || !path[0])
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "ledger: a ledger in memory has no file");
    if (self->in_transaction)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger: snapshot inside an entry");
    int rc = ledger_flush(self, error);
    if (rc != SETTLE_OK)
        return rc;
    ledger_t *reader = NULL;
    rc = ledger_open_readonly(path, &reader, error);
    if (rc != SETTLE_OK)
        return rc;
    /* The read transaction starts at the first read and holds this state,
     * whatever the writer commits after (WAL). */
    if (sqlite3_exec(reader->db, "BEGIN; SELECT COUNT(*) FROM chain;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        rc = ledger_sqlite_error(reader, "starting a snapshot's read", error);
        ledger_close(&reader);
        return rc;
    }
    *reader_out = reader;
    return SETTLE_OK;
}

/* Runs PRAGMA quick_check; SETTLE_ERR_CORRUPT unless it answers "ok". */
static int s_quick_check(sqlite3 *db, settle_error_t *error)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL) != SQLITE_OK)
        return settle_error_set(error, SETTLE_ERR_CORRUPT, "snapshot: not a database: %s",
                                sqlite3_errmsg(db));
    int step = sqlite3_step(s);
    const unsigned char *answer = step == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
    bool ok = answer && strcmp((const char *)answer, "ok") == 0;
    int rc = ok ? SETTLE_OK
                : settle_error_set(error, SETTLE_ERR_CORRUPT, "snapshot: damaged database: %s",
                                   answer ? (const char *)answer : sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc;
}

int ledger_open_snapshot(const uint8_t *bytes, size_t size, ledger_t **ledger_out,
                         settle_error_t *error)
{
    if (!bytes || size < LEDGER_HEADER_SIZE)
        return settle_error_set(error, SETTLE_ERR_TRUNCATED, "snapshot: %zu bytes is too short",
                                size);
    if (memcmp(bytes, "SQLite format 3", 16) != 0)
        return settle_error_set(error, SETTLE_ERR_CORRUPT, "snapshot: not an SQLite database");
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "snapshot: cannot open a database");
    }
    unsigned char *image = sqlite3_malloc64(size);
    if (!image) {
        sqlite3_close(db);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "snapshot: out of memory");
    }
    memcpy(image, bytes, size);
    image[LEDGER_HEADER_WRITE_VERSION] = 1;
    image[LEDGER_HEADER_READ_VERSION] = 1;
    int flags = SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE;
    if (sqlite3_deserialize(db, "main", image, (sqlite3_int64)size, (sqlite3_int64)size, flags) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return settle_error_set(error, SETTLE_ERR_CORRUPT, "snapshot: cannot be opened");
    }
    sqlite3_extended_result_codes(db, 1);
    int rc = s_quick_check(db, error);
    if (rc != SETTLE_OK) {
        sqlite3_close(db);
        return rc;
    }
    return ledger_wrap(db, false, ledger_out, error);
}

int ledger_replace(ledger_t *self, ledger_t *source, settle_error_t *error)
{
    if (self->in_transaction)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger: restore inside an entry");
    /* A ledger that lost entries is whole again once replaced. */
    int flushed = ledger_lost(self) ? SETTLE_OK : ledger_flush(self, error);
    if (flushed != SETTLE_OK)
        return flushed;
    ledger_participants_forget(self);
    /* The payable lists name the rows being replaced: dropped now, so that
     * whatever fails below, they are made again from the new table. */
    if (!self->scratch)
        ledger_payable_free(self);
    /* Cached statements hold the schema; drop them before the pages change. */
    for (int i = 0; i < LEDGER_SQL_COUNT_; i++) {
        sqlite3_finalize(self->statements[i]);
        self->statements[i] = NULL;
    }
    sqlite3_backup *backup = sqlite3_backup_init(self->db, "main", source->db, "main");
    if (!backup)
        return ledger_sqlite_error(self, "starting the restore", error);
    int step = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (step != SQLITE_DONE)
        return settle_error_set(error, SETTLE_ERR_IO, "ledger: restore failed: %s",
                                sqlite3_errstr(step));
    self->lost = false;
    /* A ledger made before keeps the partial index of payable claims its
     * lists replaced (ledger_payable.c); a restored one is derived state,
     * so it goes here rather than cost every insert from now on.  Kept if
     * that fails: SQLite keeps it up to date, and nothing reads it. */
    if (!self->scratch)
        (void)sqlite3_exec(self->db, "DROP INDEX IF EXISTS claims_payable", NULL, NULL, NULL);
    if (ledger_claim_filter_build(self) != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_NOMEM,
                                "ledger: out of memory indexing the restored claims");
    /* A scratch ledger made its lists with its rows, just now; any other
     * makes them here, beside the pass over the whole ledger the restore
     * is.  Should that fail, the ledger is still whole: they are made when
     * next needed, and that says why if it fails again. */
    if (!self->scratch)
        (void)ledger_payable_build(self);
    return SETTLE_OK;
}
