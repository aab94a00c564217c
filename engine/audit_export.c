/*
 * audit_export.c - writes a ledger's chain links to an export file and
 * reads them back (the format is in include/settle/audit_export.h).
 *
 * The writer reads the chain table inside one read transaction, so the
 * header's counts and the records agree even while a node writes.  The
 * reader trusts nothing in the file: every size is bounded before it is
 * allocated, every index checked against the header, and the file must end
 * where the header says.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"
#include "settle/audit_export.h"
#include "settle/command.h"

/* The most bytes of an entry read in one go, so a size the file lies
 * about costs at most this much memory before the lie shows. */
#define AUDIT_EXPORT_READ_CHUNK (1u << 20)

struct audit_export_reader_t {
    FILE *file;
    audit_export_header_t header;
    uint64_t records_read;
    uint64_t last_index; /* of the last record read, 0 before the first */
    uint8_t *buffer;     /* the current record's entry */
    size_t capacity;
};

static void s_put_uint(uint8_t *at, uint64_t value, int size)
{
    for (int i = 0; i < size; i++)
        at[i] = (uint8_t)(value >> (8 * (size - 1 - i)));
}

static uint64_t s_get_uint(const uint8_t *at, int size)
{
    uint64_t value = 0;
    for (int i = 0; i < size; i++)
        value = value << 8 | at[i];
    return value;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

static int s_write(FILE *out, const void *bytes, size_t size, const char *path,
                   settle_error_t *error)
{
    if (size && fwrite(bytes, 1, size, out) != size)
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot write: %s", path,
                                strerror(errno));
    return SETTLE_OK;
}

static void s_header_bytes(const audit_export_header_t *header, uint8_t *at)
{
    memcpy(at, AUDIT_EXPORT_MAGIC, AUDIT_EXPORT_MAGIC_SIZE);
    at += AUDIT_EXPORT_MAGIC_SIZE;
    s_put_uint(at, header->version, 2);
    s_put_uint(at + 2, LEDGER_HASH_SIZE, 2);
    s_put_uint(at + 4, header->first_index, 8);
    s_put_uint(at + 12, header->last_index, 8);
    s_put_uint(at + 20, header->record_count, 8);
}

/* Reads the range's first and last index and its count into header. */
static int s_range(ledger_t *ledger, uint64_t from, uint64_t to, audit_export_header_t *header,
                   settle_error_t *error)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT min(entry_index), max(entry_index), count(*) FROM chain "
                           "WHERE entry_index BETWEEN ?1 AND ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return ledger_sqlite_error(ledger, "reading the chain", error);
    sqlite3_bind_int64(s, 1, (int64_t)from);
    sqlite3_bind_int64(s, 2, to > INT64_MAX ? INT64_MAX : (int64_t)to);
    int rc = SETTLE_OK;
    if (sqlite3_step(s) != SQLITE_ROW)
        rc = ledger_sqlite_error(ledger, "reading the chain", error);
    else if (sqlite3_column_int64(s, 2) == 0)
        rc = settle_error_set(error, SETTLE_ERR_NOT_FOUND,
                              "the ledger's chain has no entry from %" PRIu64 " to %" PRIu64, from,
                              to);
    else {
        header->version = AUDIT_EXPORT_VERSION;
        header->first_index = (uint64_t)sqlite3_column_int64(s, 0);
        header->last_index = (uint64_t)sqlite3_column_int64(s, 1);
        header->record_count = (uint64_t)sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    return rc;
}

/* Writes one record from the statement's row. */
static int s_record(FILE *out, sqlite3_stmt *s, const char *path, settle_error_t *error)
{
    uint8_t head[20];
    size_t entry_size = (size_t)sqlite3_column_bytes(s, 2);
    if (entry_size > COMMAND_ENTRY_SIZE_MAX || sqlite3_column_bytes(s, 3) != LEDGER_HASH_SIZE ||
        sqlite3_column_bytes(s, 4) != LEDGER_HASH_SIZE)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "chain entry %" PRId64 " is not a link (entry of %zu bytes, "
                                "hashes of %d and %d bytes)",
                                (int64_t)sqlite3_column_int64(s, 0), entry_size,
                                sqlite3_column_bytes(s, 3), sqlite3_column_bytes(s, 4));
    s_put_uint(head, (uint64_t)sqlite3_column_int64(s, 0), 8);
    s_put_uint(head + 8, (uint64_t)sqlite3_column_int64(s, 1), 8);
    s_put_uint(head + 16, entry_size, 4);
    int rc = s_write(out, head, sizeof head, path, error);
    if (rc == SETTLE_OK)
        rc = s_write(out, sqlite3_column_blob(s, 2), entry_size, path, error);
    if (rc == SETTLE_OK)
        rc = s_write(out, sqlite3_column_blob(s, 3), LEDGER_HASH_SIZE, path, error);
    if (rc == SETTLE_OK)
        rc = s_write(out, sqlite3_column_blob(s, 4), LEDGER_HASH_SIZE, path, error);
    return rc;
}

/* Writes the header and every record of the range to out. */
static int s_write_all(ledger_t *ledger, const audit_export_header_t *header, FILE *out,
                       const char *path, settle_error_t *error)
{
    uint8_t bytes[AUDIT_EXPORT_HEADER_SIZE];
    s_header_bytes(header, bytes);
    int rc = s_write(out, bytes, sizeof bytes, path, error);
    sqlite3_stmt *s = NULL;
    if (rc == SETTLE_OK &&
        sqlite3_prepare_v2(ledger->db,
                           "SELECT entry_index, timestamp_ms, entry, changes_digest, hash "
                           "FROM chain WHERE entry_index BETWEEN ?1 AND ?2 ORDER BY entry_index",
                           -1, &s, NULL) != SQLITE_OK)
        return ledger_sqlite_error(ledger, "reading the chain", error);
    if (rc != SETTLE_OK)
        return rc;
    sqlite3_bind_int64(s, 1, (int64_t)header->first_index);
    sqlite3_bind_int64(s, 2, (int64_t)header->last_index);
    int step;
    uint64_t written = 0;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = s_record(out, s, path, error);
        written++;
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(ledger, "reading the chain", error);
    sqlite3_finalize(s);
    /* Inside one read transaction the count cannot change under us. */
    if (rc == SETTLE_OK && written != header->record_count)
        rc = settle_error_set(error, SETTLE_ERR_IO, "the chain changed while exported");
    return rc;
}

int audit_export_write(const char *ledger_path, uint64_t from_index, uint64_t to_index,
                       const char *out_path, audit_export_header_t *header_out,
                       settle_error_t *error)
{
    if (from_index == 0 || (to_index != 0 && to_index < from_index))
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "export range %" PRIu64 " to %" PRIu64 ": expected 1 <= from <= to",
                                from_index, to_index);
    char temporary[4096];
    if ((size_t)snprintf(temporary, sizeof temporary, "%s.partial", out_path) >= sizeof temporary)
        return settle_error_set(error, SETTLE_ERR_TOO_LONG, "%s: path too long", out_path);
    ledger_t *ledger = NULL;
    audit_export_header_t header = {0};
    int rc = ledger_open_readonly(ledger_path, &ledger, error);
    if (rc == SETTLE_OK && sqlite3_exec(ledger->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = ledger_sqlite_error(ledger, "starting a read transaction", error);
    if (rc == SETTLE_OK)
        rc = s_range(ledger, from_index, to_index ? to_index : UINT64_MAX, &header, error);
    FILE *out = NULL;
    if (rc == SETTLE_OK && !(out = fopen(temporary, "wb")))
        rc = settle_error_set(error, SETTLE_ERR_IO, "%s: cannot create: %s", temporary,
                              strerror(errno));
    if (rc == SETTLE_OK)
        rc = s_write_all(ledger, &header, out, temporary, error);
    if (out && fclose(out) != 0 && rc == SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_IO, "%s: cannot write: %s", temporary,
                              strerror(errno));
    if (rc == SETTLE_OK && rename(temporary, out_path) != 0)
        rc = settle_error_set(error, SETTLE_ERR_IO, "%s: cannot rename to %s: %s", temporary,
                              out_path, strerror(errno));
    if (rc != SETTLE_OK && out)
        remove(temporary);
    if (ledger)
        sqlite3_exec(ledger->db, "COMMIT", NULL, NULL, NULL);
    ledger_close(&ledger);
    if (rc == SETTLE_OK && header_out)
        *header_out = header;
    return rc;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

bool audit_export_is_export(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return false;
    char magic[AUDIT_EXPORT_MAGIC_SIZE];
    bool is = fread(magic, 1, sizeof magic, file) == sizeof magic &&
              memcmp(magic, AUDIT_EXPORT_MAGIC, sizeof magic) == 0;
    fclose(file);
    return is;
}

/* Reads exactly size bytes; SETTLE_ERR_TRUNCATED naming what when short. */
static int s_read(audit_export_reader_t *self, void *bytes, size_t size, const char *what,
                  settle_error_t *error)
{
    if (size && fread(bytes, 1, size, self->file) != size)
        return settle_error_set(error, SETTLE_ERR_TRUNCATED,
                                "export: %s: the file ends after %" PRIu64 " of %" PRIu64
                                " records",
                                what, self->records_read, self->header.record_count);
    return SETTLE_OK;
}

/* Checks a header's fields against each other. */
static int s_header_check(const uint8_t *bytes, audit_export_header_t *header,
                          settle_error_t *error)
{
    if (memcmp(bytes, AUDIT_EXPORT_MAGIC, AUDIT_EXPORT_MAGIC_SIZE) != 0)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "not an audit export (expected \"" AUDIT_EXPORT_MAGIC "\")");
    const uint8_t *at = bytes + AUDIT_EXPORT_MAGIC_SIZE;
    header->version = (uint16_t)s_get_uint(at, 2);
    uint64_t hash_size = s_get_uint(at + 2, 2);
    header->first_index = s_get_uint(at + 4, 8);
    header->last_index = s_get_uint(at + 12, 8);
    header->record_count = s_get_uint(at + 20, 8);
    if (header->version != AUDIT_EXPORT_VERSION)
        return settle_error_set(error, SETTLE_ERR_VERSION,
                                "audit export version %u (this settle reads version %d)",
                                header->version, AUDIT_EXPORT_VERSION);
    if (hash_size != LEDGER_HASH_SIZE)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "audit export: hash size %" PRIu64 ", expected %d", hash_size,
                                LEDGER_HASH_SIZE);
    if (header->first_index == 0 || header->last_index < header->first_index ||
        header->record_count == 0 ||
        header->record_count - 1 > header->last_index - header->first_index ||
        header->last_index > INT64_MAX)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "audit export: header: entries %" PRIu64 " to %" PRIu64
                                " cannot hold %" PRIu64 " records",
                                header->first_index, header->last_index, header->record_count);
    return SETTLE_OK;
}

int audit_export_reader_new(FILE *file, audit_export_reader_t **reader_out,
                            audit_export_header_t *header_out, settle_error_t *error)
{
    audit_export_reader_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "audit export: out of memory");
    self->file = file;
    uint8_t bytes[AUDIT_EXPORT_HEADER_SIZE];
    int rc = SETTLE_OK;
    if (fread(bytes, 1, sizeof bytes, file) != sizeof bytes)
        rc = settle_error_set(error, SETTLE_ERR_TRUNCATED,
                              "audit export: the file ends inside its %d-byte header",
                              AUDIT_EXPORT_HEADER_SIZE);
    if (rc == SETTLE_OK)
        rc = s_header_check(bytes, &self->header, error);
    if (rc != SETTLE_OK) {
        audit_export_reader_destroy(&self);
        return rc;
    }
    *header_out = self->header;
    *reader_out = self;
    return SETTLE_OK;
}

/* Reads the entry's bytes into the buffer, growing it a chunk at a time. */
static int s_read_entry(audit_export_reader_t *self, size_t size, settle_error_t *error)
{
    size_t done = 0;
    while (done < size) {
        size_t chunk =
            size - done < AUDIT_EXPORT_READ_CHUNK ? size - done : AUDIT_EXPORT_READ_CHUNK;
        if (done + chunk > self->capacity) {
            uint8_t *bigger = settle_realloc(self->buffer, done + chunk);
            if (!bigger)
                return settle_error_set(error, SETTLE_ERR_NOMEM, "audit export: out of memory");
            self->buffer = bigger;
            self->capacity = done + chunk;
        }
        int rc = s_read(self, self->buffer + done, chunk, "an entry", error);
        if (rc != SETTLE_OK)
            return rc;
        done += chunk;
    }
    return SETTLE_OK;
}

/* After the last record: the file must end. */
static int s_end(audit_export_reader_t *self, bool *done_out, settle_error_t *error)
{
    if (self->last_index != self->header.last_index)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "audit export: the last record is entry %" PRIu64
                                ", the header says %" PRIu64,
                                self->last_index, self->header.last_index);
    if (fgetc(self->file) != EOF)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "audit export: bytes after the last record (entry %" PRIu64 ")",
                                self->last_index);
    *done_out = true;
    return SETTLE_OK;
}

int audit_export_reader_next(audit_export_reader_t *self, audit_export_record_t *record_out,
                             bool *done_out, settle_error_t *error)
{
    *done_out = false;
    if (self->records_read == self->header.record_count)
        return s_end(self, done_out, error);
    uint8_t head[20];
    int rc = s_read(self, head, sizeof head, "a record", error);
    if (rc != SETTLE_OK)
        return rc;
    uint64_t index = s_get_uint(head, 8);
    size_t entry_size = (size_t)s_get_uint(head + 16, 4);
    uint64_t low = self->last_index ? self->last_index + 1 : self->header.first_index;
    if (index < low || index > self->header.last_index ||
        (self->last_index == 0 && index != self->header.first_index))
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "audit export: record %" PRIu64 " is entry %" PRIu64
                                ", expected an entry from %" PRIu64 " to %" PRIu64 " (in order)",
                                self->records_read + 1, index, low, self->header.last_index);
    if (entry_size > COMMAND_ENTRY_SIZE_MAX)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "audit export: entry %" PRIu64 ": %zu bytes, more than %u", index,
                                entry_size, COMMAND_ENTRY_SIZE_MAX);
    rc = s_read_entry(self, entry_size, error);
    if (rc == SETTLE_OK)
        rc = s_read(self, record_out->changes_digest, LEDGER_HASH_SIZE, "a link", error);
    if (rc == SETTLE_OK)
        rc = s_read(self, record_out->hash, LEDGER_HASH_SIZE, "a link", error);
    if (rc != SETTLE_OK)
        return rc;
    record_out->entry_index = index;
    record_out->timestamp_ms = s_get_uint(head + 8, 8);
    record_out->entry = self->buffer;
    record_out->entry_size = entry_size;
    self->records_read++;
    self->last_index = index;
    return SETTLE_OK;
}

void audit_export_reader_destroy(audit_export_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    settle_free((*self_p)->buffer);
    settle_free(*self_p);
    *self_p = NULL;
}
