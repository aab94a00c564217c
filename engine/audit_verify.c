/*
 * audit_verify.c - `settle audit verify`: replays a stored ledger's chain
 * into a fresh in-memory state machine and compares every link and, at the
 * end, every table (see include/settle/audit.h).
 *
 * The chain table is checked row by row as it is replayed: the replay
 * stores the very entry bytes it applied, so what is left to compare is
 * the link (digest, hash), the stamp beside the entry and each column's
 * type.  The other tables are compared at the end through their SQLite
 * handles (this file is part of engine/ and reads ledger_internal.h): one
 * SELECT per table on each side, ordered by the table's key, stepped in
 * lockstep.  Both were made by the same schema, so the same columns come
 * in the same order.  The claims are the exception: the replay keeps them
 * in memory (ledger_scratch.c), and the stored table is merged with those
 * rows (s_claims).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"
#include "ledger_internal.h"
#include "settle/audit.h"
#include "settle/fsm.h"

/* Progress is reported every this many entries. */
#define AUDIT_PROGRESS_ENTRIES 256

/* The tables compared at the end, each in its key order: its key is its
 * first key_count columns (the schema puts them first). */
typedef struct {
    const char *table;
    const char *order;
    int key_count;
} audit_table_t;

static const audit_table_t s_tables[] = {
    {"meta", "key", 1},
    {"participants", "id", 1},
    {"participant_keys", "participant, from_entry, from_position", 3},
    {"contracts", "deployment", 1},
    {"members", "payer, member_id", 2},
    {"claims", "claim_row", 1},
    {"accounts", "id", 1},
    {"transfers", "transfer_row", 1},
    {"payments", "payment_id", 1},
    {"commands", "entry_index, position", 2},
    {"checkpoints", "entry_index, position", 2},
};

#define AUDIT_TABLE_COUNT (sizeof s_tables / sizeof s_tables[0])

/* What one verify run holds. */
typedef struct {
    ledger_t *stored;
    fsm_t *fsm;
    fsm_results_t *results;
    audit_divergence_t *divergence;
    audit_totals_t totals;
    const audit_options_t *options;
} audit_run_t;

int audit_diverge(audit_divergence_t *divergence, uint64_t entry_index, const char *format, ...)
{
    divergence->entry_index = entry_index;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(divergence->what, sizeof divergence->what, format, arguments);
    va_end(arguments);
    return SETTLE_ERR_CORRUPT;
}

void audit_hex(const uint8_t *bytes, size_t size, char *out, size_t out_size)
{
    static const char digits[] = "0123456789abcdef";
    size_t i = 0;
    for (; i < size && 2 * i + 2 < out_size; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * i] = '\0';
}

/* ------------------------------------------------------------------------
 * The chain, entry by entry
 * ------------------------------------------------------------------------ */

/* The first rejected command of an entry that made no link, in words. */
static void s_rejected(const fsm_results_t *results, char *out, size_t size)
{
    snprintf(out, size, "no command");
    for (uint32_t i = 0; i < results->command_count; i++) {
        const fsm_command_result_t *c = &results->commands[i];
        if (!c->accepted) {
            snprintf(out, size, "command %" PRIu32 " (%s %" PRIu64 " of %s) rejected: %s",
                     c->position, c->type ? command_type_name(c->type) : "undecodable", c->sequence,
                     c->participant, c->reason);
            return;
        }
    }
}

/* Compares a blob column of the stored link with the recomputed value. */
static int s_compare_hash(audit_divergence_t *divergence, uint64_t index, const char *name,
                          const void *stored, size_t stored_size,
                          const uint8_t mine[LEDGER_HASH_SIZE])
{
    if (stored_size == LEDGER_HASH_SIZE && memcmp(stored, mine, LEDGER_HASH_SIZE) == 0)
        return SETTLE_OK;
    char a[2 * LEDGER_HASH_SIZE + 1] = "", b[2 * LEDGER_HASH_SIZE + 1];
    if (stored_size == LEDGER_HASH_SIZE)
        audit_hex(stored, LEDGER_HASH_SIZE, a, sizeof a);
    audit_hex(mine, LEDGER_HASH_SIZE, b, sizeof b);
    return audit_diverge(divergence, index, "chain: %s: stored %s, recomputed %s", name,
                         stored_size == LEDGER_HASH_SIZE ? a : "(not a hash)", b);
}

int audit_replay_link(fsm_t *fsm, fsm_results_t *results, const audit_link_t *link,
                      uint64_t expected, audit_totals_t *totals, audit_divergence_t *divergence,
                      settle_error_t *error)
{
    uint64_t index = link->entry_index;
    if (index != expected)
        return audit_diverge(divergence, expected,
                             "chain: entry %" PRIu64
                             " is missing (the stored chain goes from %" PRIu64 " to %" PRIu64 ")",
                             expected, expected - 1, index);
    settle_error_t problem;
    settle_error_clear(&problem);
    int rc = fsm_apply(fsm, link->entry ? link->entry : (const uint8_t *)"", link->entry_size,
                       results, &problem);
    if (rc == SETTLE_ERR_IO || rc == SETTLE_ERR_NOMEM) {
        *error = problem;
        return rc;
    }
    if (rc != SETTLE_OK)
        return audit_diverge(divergence, index, "chain: entry %" PRIu64 " does not decode: %s",
                             index, problem.message);
    totals->command_count += results->command_count;
    if (!results->changed) {
        char why[512];
        s_rejected(results, why, sizeof why);
        return audit_diverge(divergence, index,
                             "chain: entry %" PRIu64 " changes nothing on replay: %s", index, why);
    }
    if (results->entry_index != index)
        return audit_diverge(divergence, index,
                             "chain: replay made link %" PRIu64 ", stored %" PRIu64,
                             results->entry_index, index);
    /* The link the replay made (as it wrote it in its chain) against the
     * stored one: the stamp (inside the entry's bytes, and a column of its
     * own in a ledger), the changes digest, the hash. */
    rc = s_compare_hash(divergence, index, "changes digest", link->changes_digest,
                        link->changes_digest_size, results->changes_digest);
    if (rc == SETTLE_OK)
        rc = s_compare_hash(divergence, index, "hash", link->hash, link->hash_size, results->hash);
    if (rc == SETTLE_OK && link->timestamp_ms != results->timestamp_ms)
        rc = audit_diverge(divergence, index,
                           "chain: row entry_index=%" PRIu64 ": timestamp_ms: stored %" PRId64
                           ", recomputed %" PRId64,
                           index, (int64_t)link->timestamp_ms, (int64_t)results->timestamp_ms);
    return rc;
}

static void s_value(sqlite3_stmt *s, int column, char *out, size_t size);

/* The chain's columns as the walk reads them, and the type each has in a
 * ledger the state machine wrote. */
static const struct {
    const char *name;
    int type;
} s_chain_columns[] = {{"entry_index", SQLITE_INTEGER},
                       {"timestamp_ms", SQLITE_INTEGER},
                       {"entry", SQLITE_BLOB},
                       {"changes_digest", SQLITE_BLOB},
                       {"hash", SQLITE_BLOB}};

#define S_CHAIN_COLUMNS ((int)(sizeof s_chain_columns / sizeof s_chain_columns[0]))

/* A stored chain row whose column is not of the type the state machine
 * writes (the same bytes as a text, say) differs from the replay's row.
 * types are the row's, read before any value (reading a value may
 * convert it). */
static int s_chain_types(audit_run_t *run, sqlite3_stmt *s, const int types[S_CHAIN_COLUMNS],
                         uint64_t expected)
{
    for (int c = 0; c < S_CHAIN_COLUMNS; c++) {
        if (types[c] == s_chain_columns[c].type)
            continue;
        char value[256];
        s_value(s, c, value, sizeof value);
        return audit_diverge(run->divergence, expected,
                             "chain: row entry_index=%" PRIu64 ": %s: stored %s, recomputed %s",
                             expected, s_chain_columns[c].name, value,
                             s_chain_columns[c].type == SQLITE_INTEGER ? "an integer" : "a blob");
    }
    return SETTLE_OK;
}

/* Applies the stored link at the statement's row and compares what it
 * makes with what was stored: the whole chain row, so the chain table is
 * not compared again at the end (the entry bytes the replay stores are
 * the stored ones it applied). */
static int s_entry(audit_run_t *run, sqlite3_stmt *s, uint64_t expected, settle_error_t *error)
{
    int types[S_CHAIN_COLUMNS];
    for (int c = 0; c < S_CHAIN_COLUMNS; c++)
        types[c] = sqlite3_column_type(s, c);
    audit_link_t link = {
        .entry_index = (uint64_t)sqlite3_column_int64(s, 0),
        .timestamp_ms = (uint64_t)sqlite3_column_int64(s, 1),
        .entry = sqlite3_column_blob(s, 2),
        .entry_size = (size_t)sqlite3_column_bytes(s, 2),
        .changes_digest = sqlite3_column_blob(s, 3),
        .changes_digest_size = (size_t)sqlite3_column_bytes(s, 3),
        .hash = sqlite3_column_blob(s, 4),
        .hash_size = (size_t)sqlite3_column_bytes(s, 4),
    };
    int rc = audit_replay_link(run->fsm, run->results, &link, expected, &run->totals,
                               run->divergence, error);
    return rc == SETTLE_OK ? s_chain_types(run, s, types, expected) : rc;
}

/* Entries whose signatures are checked in one batch, ahead of their replay. */
#define S_AHEAD_ENTRIES 32

/* The stored entries from expected on (at most S_AHEAD_ENTRIES, as long
 * as their indexes follow each other), their signatures checked ahead in
 * one batch (fsm_verify_ahead); apply checks whatever this could not. */
static int s_verify_ahead(audit_run_t *run, sqlite3_stmt *ahead, uint64_t expected,
                          settle_error_t *error)
{
    uint8_t *entries[S_AHEAD_ENTRIES];
    size_t sizes[S_AHEAD_ENTRIES], count = 0;
    sqlite3_reset(ahead);
    sqlite3_bind_int64(ahead, 1, (int64_t)expected);
    sqlite3_bind_int64(ahead, 2, (int64_t)(expected + S_AHEAD_ENTRIES - 1));
    int rc = SETTLE_OK;
    while (count < S_AHEAD_ENTRIES && sqlite3_step(ahead) == SQLITE_ROW &&
           (uint64_t)sqlite3_column_int64(ahead, 0) == expected + count) {
        sizes[count] = (size_t)sqlite3_column_bytes(ahead, 1);
        entries[count] = settle_malloc(sizes[count] ? sizes[count] : 1);
        if (!entries[count]) {
            rc = settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
            break;
        }
        if (sizes[count])
            memcpy(entries[count], sqlite3_column_blob(ahead, 1), sizes[count]);
        count++;
    }
    if (rc == SETTLE_OK)
        rc = fsm_verify_ahead(run->fsm, (const uint8_t *const *)entries, sizes, count, error);
    for (size_t i = 0; i < count; i++)
        settle_free(entries[i]);
    return rc;
}

/* Walks the stored chain in index order, applying each entry. */
static int s_chain(audit_run_t *run, uint64_t head_index, settle_error_t *error)
{
    sqlite3_stmt *s = NULL, *ahead = NULL;
    if (sqlite3_prepare_v2(run->stored->db,
                           "SELECT entry_index, timestamp_ms, entry, changes_digest, hash "
                           "FROM chain ORDER BY entry_index",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(run->stored->db,
                           "SELECT entry_index, entry FROM chain "
                           "WHERE entry_index BETWEEN ?1 AND ?2 ORDER BY entry_index",
                           -1, &ahead, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return ledger_sqlite_error(run->stored, "reading the chain", error);
    }
    bool verify = !run->options->skip_signatures;
    int rc = SETTLE_OK, step;
    uint64_t expected = 1;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        /* from entry 2 on: the first registers the signers of the rest */
        if (verify && expected >= 2 && (expected - 2) % S_AHEAD_ENTRIES == 0)
            rc = s_verify_ahead(run, ahead, expected, error);
        if (rc == SETTLE_OK)
            rc = s_entry(run, s, expected, error);
        run->totals.entry_count += rc == SETTLE_OK;
        if (run->options->progress && expected % AUDIT_PROGRESS_ENTRIES == 0)
            run->options->progress(expected, head_index, run->options->context);
        expected++;
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(run->stored, "reading the chain", error);
    sqlite3_finalize(s);
    sqlite3_finalize(ahead);
    return rc;
}

/* ------------------------------------------------------------------------
 * The tables, row by row
 * ------------------------------------------------------------------------ */

/* A value in words: an integer, a quoted text, a short blob in hex, a
 * long one by its size. */
static void s_words(int type, int64_t integer, const void *bytes, size_t bytes_size, char *out,
                    size_t size)
{
    switch (type) {
    case SQLITE_INTEGER:
        snprintf(out, size, "%" PRId64, integer);
        break;
    case SQLITE_TEXT:
        snprintf(out, size, "\"%.*s\"", bytes_size > 200 ? 200 : (int)bytes_size,
                 bytes ? (const char *)bytes : "");
        break;
    case SQLITE_BLOB:
        if (bytes_size <= 32)
            audit_hex(bytes, bytes_size, out, size);
        else
            snprintf(out, size, "(%zu bytes)", bytes_size);
        break;
    case SQLITE_NULL:
        snprintf(out, size, "NULL");
        break;
    default:
        snprintf(out, size, "(a float)");
    }
}

/* A column's value in words (s_words). */
static void s_value(sqlite3_stmt *s, int column, char *out, size_t size)
{
    int type = sqlite3_column_type(s, column);
    const void *bytes = type == SQLITE_TEXT   ? (const void *)sqlite3_column_text(s, column)
                        : type == SQLITE_BLOB ? sqlite3_column_blob(s, column)
                                              : NULL;
    int64_t integer = type == SQLITE_INTEGER ? sqlite3_column_int64(s, column) : 0;
    size_t bytes_size = bytes ? (size_t)sqlite3_column_bytes(s, column) : 0;
    s_words(type, integer, bytes, bytes_size, out, size);
}

/* Whether a column holds the same value (type and bytes) on both sides.
 * The values are read through sqlite3_column_value: one call per side
 * rather than three (type, bytes, value), on a comparison that runs for
 * every column of every row.  (Unprotected values, read at once on the
 * one thread that owns both connections.)  A text is read as a text and
 * a blob as a blob, so neither is converted and sqlite3_column_type still
 * names it when the difference is printed. */
static bool s_same(sqlite3_stmt *a, sqlite3_stmt *b, int column)
{
    sqlite3_value *x = sqlite3_column_value(a, column), *y = sqlite3_column_value(b, column);
    int type = sqlite3_value_type(x);
    if (type != sqlite3_value_type(y))
        return false;
    if (type == SQLITE_INTEGER)
        return sqlite3_value_int64(x) == sqlite3_value_int64(y);
    if (type == SQLITE_NULL)
        return true;
    if (type == SQLITE_FLOAT)
        return false; /* the ledger stores none: name it */
    int size = sqlite3_value_bytes(x);
    if (size != sqlite3_value_bytes(y))
        return false;
    if (size == 0)
        return true;
    if (type == SQLITE_TEXT)
        return memcmp(sqlite3_value_text(x), sqlite3_value_text(y), (size_t)size) == 0;
    return memcmp(sqlite3_value_blob(x), sqlite3_value_blob(y), (size_t)size) == 0;
}

/* The row's name for a divergence ("claim ACMEHP/C-1", "row deployment=1")
 * and the entry it belongs to (its entry_index column, 0 when none). */
static void s_row_name(const audit_table_t *table, sqlite3_stmt *s, char *out, size_t size,
                       uint64_t *entry_out)
{
    int columns = sqlite3_column_count(s);
    *entry_out = 0;
    char payer[64] = "", claim[64] = "";
    for (int c = 0; c < columns; c++) {
        const char *name = sqlite3_column_name(s, c);
        if (strcmp(name, "entry_index") == 0)
            *entry_out = (uint64_t)sqlite3_column_int64(s, c);
        else if (strcmp(name, "payer") == 0)
            snprintf(payer, sizeof payer, "%s", (const char *)sqlite3_column_text(s, c));
        else if (strcmp(name, "claim_id") == 0)
            snprintf(claim, sizeof claim, "%s", (const char *)sqlite3_column_text(s, c));
    }
    if (strcmp(table->table, "claims") == 0) {
        snprintf(out, size, "claim %s/%s", payer, claim);
        return;
    }
    /* The key columns: the first column of the order, with its value. */
    char key[64];
    snprintf(key, sizeof key, "%s", table->order);
    char *comma = strchr(key, ',');
    if (comma)
        *comma = '\0';
    for (int c = 0; c < columns; c++)
        if (strcmp(sqlite3_column_name(s, c), key) == 0) {
            char value[200];
            s_value(s, c, value, sizeof value);
            snprintf(out, size, "row %.60s=%s", key, value);
            return;
        }
    snprintf(out, size, "a row");
}

/* The first column that differs between the two rows; -1 when none. */
static int s_first_difference(sqlite3_stmt *stored, sqlite3_stmt *mine, int columns)
{
    for (int c = 0; c < columns; c++)
        if (!s_same(stored, mine, c))
            return c;
    return -1;
}

/* Names the column c that differs in two rows with the same key. */
static int s_row_differs(audit_run_t *run, const audit_table_t *table, sqlite3_stmt *stored,
                         sqlite3_stmt *mine, int c)
{
    char name[320], a[256], b[256];
    uint64_t entry;
    s_row_name(table, mine, name, sizeof name, &entry);
    s_value(stored, c, a, sizeof a);
    s_value(mine, c, b, sizeof b);
    return audit_diverge(run->divergence, entry, "%s: %s: %s: stored %s, recomputed %s",
                         table->table, name, sqlite3_column_name(stored, c), a, b);
}

/* Prepares the table's ordered SELECT on a ledger. */
static sqlite3_stmt *s_select(ledger_t *ledger, const audit_table_t *table, settle_error_t *error)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", table->table, table->order);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(ledger->db, sql, -1, &s, NULL) != SQLITE_OK) {
        ledger_sqlite_error(ledger, "reading a table", error);
        return NULL;
    }
    return s;
}

/* Orders two rows by their key columns as SQLite's ORDER BY does for
 * them (integers by value, texts by bytes): <0, 0, >0. */
static int s_key_order(sqlite3_stmt *a, sqlite3_stmt *b, int key_count)
{
    for (int c = 0; c < key_count; c++) {
        if (sqlite3_column_type(a, c) == SQLITE_INTEGER &&
            sqlite3_column_type(b, c) == SQLITE_INTEGER) {
            int64_t x = sqlite3_column_int64(a, c), y = sqlite3_column_int64(b, c);
            if (x != y)
                return x < y ? -1 : 1;
            continue;
        }
        const unsigned char *x = sqlite3_column_text(a, c), *y = sqlite3_column_text(b, c);
        int m = sqlite3_column_bytes(a, c), n = sqlite3_column_bytes(b, c);
        int order = memcmp(x ? x : (const unsigned char *)"", y ? y : (const unsigned char *)"",
                           (size_t)(m < n ? m : n));
        if (order != 0)
            return order;
        if (m != n)
            return m < n ? -1 : 1;
    }
    return 0;
}

/* Walks one table on both sides in key order, merging by key: a row on
 * one side only is named as missing or extra, a row on both is compared
 * column by column.  Counts the rows compared. */
static int s_table(audit_run_t *run, const audit_table_t *table, uint64_t *rows_out,
                   settle_error_t *error)
{
    sqlite3_stmt *stored = s_select(run->stored, table, error);
    sqlite3_stmt *mine = stored ? s_select(fsm_ledger(run->fsm), table, error) : NULL;
    int rc = mine ? SETTLE_OK : SETTLE_ERR_IO;
    uint64_t rows = 0;
    int columns = rc == SETTLE_OK ? sqlite3_column_count(stored) : 0;
    int a = rc == SETTLE_OK ? sqlite3_step(stored) : SQLITE_DONE;
    int b = rc == SETTLE_OK ? sqlite3_step(mine) : SQLITE_DONE;
    while (rc == SETTLE_OK && (a == SQLITE_ROW || b == SQLITE_ROW)) {
        if ((a != SQLITE_ROW && a != SQLITE_DONE) || (b != SQLITE_ROW && b != SQLITE_DONE))
            break;
        /* Rows that are equal column by column have equal keys: the key
         * order is asked only of rows that differ somewhere, to tell a
         * changed row from a missing or an extra one. */
        int differs =
            a == SQLITE_ROW && b == SQLITE_ROW ? s_first_difference(stored, mine, columns) : 0;
        if (differs >= 0) {
            int order = a != SQLITE_ROW   ? 1
                        : b != SQLITE_ROW ? -1
                                          : s_key_order(stored, mine, table->key_count);
            if (order == 0) {
                rc = s_row_differs(run, table, stored, mine, differs);
                break;
            }
            char name[320];
            uint64_t entry;
            s_row_name(table, order > 0 ? mine : stored, name, sizeof name, &entry);
            rc = audit_diverge(run->divergence, entry, "%s: %s: %s", table->table, name,
                               order > 0 ? "missing from the stored ledger (the replay has it)"
                                         : "stored, but the replay has no such row");
            break;
        }
        rows++;
        a = sqlite3_step(stored);
        b = sqlite3_step(mine);
    }
    if (rc == SETTLE_OK && (a != SQLITE_DONE || b != SQLITE_DONE))
        rc = ledger_sqlite_error(a != SQLITE_DONE ? run->stored : fsm_ledger(run->fsm),
                                 "reading a table", error);
    sqlite3_finalize(mine);
    sqlite3_finalize(stored);
    *rows_out = rows;
    return rc;
}

/* ------------------------------------------------------------------------
 * The claims, against the replay's rows in memory
 *
 * A scratch ledger keeps its claims in memory (ledger_scratch.c), not in
 * its claims table: the stored table is read once in claim_row order and
 * merged with those rows by claim_row, column by column, as s_table
 * merges two statements, naming what differs the same way.
 * ------------------------------------------------------------------------ */

/* Whether a stored column holds the value the replay has (type and bytes,
 * as s_same). */
static bool s_same_value(sqlite3_stmt *stored, int column, const ledger_value_t *mine)
{
    sqlite3_value *x = sqlite3_column_value(stored, column);
    int type = sqlite3_value_type(x);
    if (type != mine->type)
        return false;
    if (type == SQLITE_INTEGER)
        return sqlite3_value_int64(x) == mine->integer;
    int size = sqlite3_value_bytes(x);
    if ((size_t)size != mine->size)
        return false;
    if (size == 0)
        return true;
    const void *bytes =
        type == SQLITE_TEXT ? (const void *)sqlite3_value_text(x) : sqlite3_value_blob(x);
    return memcmp(bytes, mine->bytes, (size_t)size) == 0;
}

/* Names the difference between a stored claims row (none when !stored_row)
 * and the replay's (none when !mine) at the first column that differs. */
static int s_claim_differs(audit_run_t *run, const audit_table_t *table, sqlite3_stmt *stored,
                           bool stored_row, const ledger_value_t *mine, int c)
{
    int order = !stored_row ? 1
                : !mine     ? -1
                            : (sqlite3_column_int64(stored, 0) > mine[0].integer) -
                              (sqlite3_column_int64(stored, 0) < mine[0].integer);
    char name[320];
    uint64_t entry;
    if (order < 0) {
        s_row_name(table, stored, name, sizeof name, &entry);
        return audit_diverge(run->divergence, entry, "%s: %s: %s", table->table, name,
                             "stored, but the replay has no such row");
    }
    snprintf(name, sizeof name, "claim %.*s/%.*s", (int)mine[1].size, (const char *)mine[1].bytes,
             (int)mine[2].size, (const char *)mine[2].bytes);
    entry = (uint64_t)mine[8].integer;
    if (order > 0)
        return audit_diverge(run->divergence, entry, "%s: %s: %s", table->table, name,
                             "missing from the stored ledger (the replay has it)");
    char a[256], b[256];
    s_value(stored, c, a, sizeof a);
    s_words(mine[c].type, mine[c].integer, mine[c].bytes, mine[c].size, b, sizeof b);
    return audit_diverge(run->divergence, entry, "%s: %s: %s: stored %s, recomputed %s",
                         table->table, name, sqlite3_column_name(stored, c), a, b);
}

/* The first column of the stored row that differs from mine; -1: none. */
static int s_claim_first_difference(sqlite3_stmt *stored, const ledger_value_t *mine)
{
    for (int c = 0; c < LEDGER_CLAIM_COLUMNS; c++)
        if (!s_same_value(stored, c, &mine[c]))
            return c;
    return -1;
}

static int s_claims(audit_run_t *run, const audit_table_t *table, uint64_t *rows_out,
                    settle_error_t *error)
{
    ledger_t *mine = fsm_ledger(run->fsm);
    sqlite3_stmt *stored = NULL;
    if (sqlite3_prepare_v2(run->stored->db,
                           "SELECT " LEDGER_CLAIM_COLUMNS_SQL " FROM claims ORDER BY claim_row", -1,
                           &stored, NULL) != SQLITE_OK)
        return ledger_sqlite_error(run->stored, "reading a table", error);
    uint64_t count = ledger_scratch_claim_count(mine), row = 1, rows = 0;
    ledger_value_t values[LEDGER_CLAIM_COLUMNS];
    int rc = SETTLE_OK, a = sqlite3_step(stored);
    while (a == SQLITE_ROW || (a == SQLITE_DONE && row <= count)) {
        if (row <= count)
            ledger_scratch_claim_values(mine, row, values);
        int differs =
            a == SQLITE_ROW && row <= count ? s_claim_first_difference(stored, values) : 0;
        if (differs >= 0) {
            rc = s_claim_differs(run, table, stored, a == SQLITE_ROW, row <= count ? values : NULL,
                                 differs);
            break;
        }
        rows++;
        row++;
        a = sqlite3_step(stored);
    }
    if (rc == SETTLE_OK && a != SQLITE_DONE)
        rc = ledger_sqlite_error(run->stored, "reading a table", error);
    sqlite3_finalize(stored);
    *rows_out = rows;
    return rc;
}

/* Compares every table, stopping at the first difference. */
static int s_compare_tables(audit_run_t *run, settle_error_t *error)
{
    int rc = SETTLE_OK;
    for (size_t i = 0; rc == SETTLE_OK && i < AUDIT_TABLE_COUNT; i++) {
        uint64_t rows = 0;
        bool claims = strcmp(s_tables[i].table, "claims") == 0;
        rc = claims ? s_claims(run, &s_tables[i], &rows, error)
                    : s_table(run, &s_tables[i], &rows, error);
        if (claims)
            run->totals.claim_count = rows;
        else if (strcmp(s_tables[i].table, "payments") == 0)
            run->totals.payment_count = rows;
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------ */

/* Opens both sides: the stored ledger read-only, inside one read
 * transaction (one consistent state while a node goes on writing), and
 * a fresh state machine in memory that checks every signature. */
static int s_open(audit_run_t *run, const char *path, uint64_t *head_out, settle_error_t *error)
{
    int rc = ledger_open_readonly(path, &run->stored, error);
    if (rc == SETTLE_OK && sqlite3_exec(run->stored->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = ledger_sqlite_error(run->stored, "starting a read transaction", error);
    uint8_t hash[LEDGER_HASH_SIZE];
    /* The head read inside the transaction pins the snapshot the walk sees. */
    if (rc == SETTLE_OK && ledger_head(run->stored, head_out, hash) != SETTLE_OK)
        rc = ledger_sqlite_error(run->stored, "reading the head", error);
    if (rc == SETTLE_OK)
        rc = fsm_open_scratch(&run->fsm, error);
    if (rc == SETTLE_OK) {
        fsm_verify_signatures(run->fsm, !run->options->skip_signatures);
        run->results = fsm_results_new();
        if (!run->results)
            rc = settle_error_set(error, SETTLE_ERR_NOMEM, "audit: out of memory");
    }
    return rc;
}

int audit_verify(const char *path, const audit_options_t *options, audit_totals_t *totals_out,
                 audit_divergence_t *divergence_out, settle_error_t *error)
{
    static const audit_options_t none = {0};
    audit_run_t run = {.options = options ? options : &none, .divergence = divergence_out};
    memset(divergence_out, 0, sizeof *divergence_out);
    uint64_t head_index = 0;
    int rc = s_open(&run, path, &head_index, error);
    if (rc == SETTLE_OK)
        rc = s_chain(&run, head_index, error);
    if (rc == SETTLE_OK)
        rc = s_compare_tables(&run, error);
    if (rc == SETTLE_OK)
        rc = audit_checkpoint_totals(run.fsm, &run.totals, error);
    if (rc == SETTLE_OK) {
        fsm_head(run.fsm, &run.totals.head_index, run.totals.head_hash);
        *totals_out = run.totals;
    }
    if (run.stored)
        sqlite3_exec(run.stored->db, "COMMIT", NULL, NULL, NULL);
    fsm_results_destroy(&run.results);
    fsm_destroy(&run.fsm);
    ledger_close(&run.stored);
    return rc;
}

int audit_checkpoint_totals(fsm_t *fsm, audit_totals_t *totals, settle_error_t *error)
{
    /* The replay verified each checkpoint's signature (as every command's)
     * and its hash against the link it names: what it holds now passed. */
    if (ledger_checkpoint_summary(fsm_ledger(fsm), &totals->checkpoint_count,
                                  &totals->checkpoint_last_index) != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_IO, "audit: cannot count the checkpoints");
    return SETTLE_OK;
}
