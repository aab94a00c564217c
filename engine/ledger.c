/*
 * ledger.c - opening the SQLite store, its statements and transactions, the
 * entry's change log, and the small tables: participants, contracts,
 * members, applied commands and the chain.  Claims are in ledger_claims.c,
 * money in ledger_accounts.c, snapshots in ledger_snapshot.c.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "ledger_internal.h"

static const char *const s_sql[LEDGER_SQL_COUNT_] = {
    [LEDGER_SQL_BEGIN] = "BEGIN IMMEDIATE",
    [LEDGER_SQL_COMMIT] = "COMMIT",
    [LEDGER_SQL_ROLLBACK] = "ROLLBACK",
    [LEDGER_SQL_SAVEPOINT] = "SAVEPOINT entry",
    [LEDGER_SQL_RELEASE] = "RELEASE entry",
    [LEDGER_SQL_ROLLBACK_TO] = "ROLLBACK TO entry",
    [LEDGER_SQL_PARTICIPANT_GET] = "SELECT role, public_key, name, npi, next_sequence, "
                                   "sequence_window, id, entry_index, key_entry, revoked_entry "
                                   "FROM participants WHERE id = ?1",
    [LEDGER_SQL_PARTICIPANT_BY_NPI] = "SELECT role, public_key, name, npi, next_sequence, "
                                      "sequence_window, id, entry_index, key_entry, "
                                      "revoked_entry FROM participants WHERE npi = ?1 "
                                      "ORDER BY id LIMIT 1",
    [LEDGER_SQL_PARTICIPANT_EACH] = "SELECT role, public_key, name, npi, next_sequence, "
                                    "sequence_window, id, entry_index, key_entry, "
                                    "revoked_entry FROM participants ORDER BY id",
    [LEDGER_SQL_PARTICIPANT_PUT] = "INSERT INTO participants (id, role, public_key, name, npi, "
                                   "next_sequence, sequence_window, entry_index, key_entry, "
                                   "revoked_entry) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 0)",
    [LEDGER_SQL_PARTICIPANT_ROTATE] = "UPDATE participants SET public_key = ?2, key_entry = ?3 "
                                      "WHERE id = ?1",
    [LEDGER_SQL_PARTICIPANT_REVOKE] = "UPDATE participants SET revoked_entry = ?2 WHERE id = ?1",
    [LEDGER_SQL_KEY_PUT] = "INSERT INTO participant_keys VALUES (?1, ?2, ?3, ?4, 0, 0)",
    [LEDGER_SQL_KEY_CLOSE] = "UPDATE participant_keys SET to_entry = ?2, to_position = ?3 "
                             "WHERE participant = ?1 AND to_entry = 0",
    [LEDGER_SQL_KEY_AT] = "SELECT public_key, from_entry, from_position, to_entry, to_position "
                          "FROM participant_keys WHERE participant = ?1 "
                          "AND (from_entry < ?2 OR (from_entry = ?2 AND from_position < ?3)) "
                          "AND (to_entry = 0 OR to_entry > ?2 "
                          "OR (to_entry = ?2 AND to_position >= ?3)) "
                          "ORDER BY from_entry DESC, from_position DESC LIMIT 1",
    [LEDGER_SQL_PARTICIPANT_ADVANCE] = "UPDATE participants SET next_sequence = ?2, "
                                       "sequence_window = ?3 WHERE id = ?1",
    [LEDGER_SQL_PARTICIPANT_COUNT] = "SELECT COUNT(*) FROM participants",
    [LEDGER_SQL_CONTRACT_PUT] = "INSERT INTO contracts (hash, payer, contract_id, version, "
                                "effective_from, effective_to, entry_index, yaml) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [LEDGER_SQL_CONTRACT_EACH] = "SELECT hash, payer, contract_id, version, effective_from, "
                                 "effective_to, yaml FROM contracts ORDER BY deployment",
    [LEDGER_SQL_MEMBER_PUT] = "INSERT OR REPLACE INTO members VALUES "
                              "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [LEDGER_SQL_MEMBER_EACH] = "SELECT payer, member_id, family, contract_id, birth_date, sex, "
                               "coverage_from, coverage_to FROM members "
                               "WHERE ?1 IS NULL OR payer = ?1 ORDER BY payer, member_id",
    [LEDGER_SQL_CLAIM_PUT] = "INSERT INTO claims (payer, claim_id, billing_npi, frequency, "
                             "related_claim_id, content_hash, entry_index, status, reason, "
                             "billed_cents, allowed_cents, paid_cents, patient_cents, net_cents, "
                             "settlement, payment_id, voided_by, decision, contract_hash) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                             "?17, ?14, ?15, ?16, ?18, ?19)",
    [LEDGER_SQL_CLAIM_GET] = "SELECT claim_row, billing_npi, frequency, related_claim_id, "
                             "content_hash, entry_index, status, reason, billed_cents, "
                             "allowed_cents, paid_cents, patient_cents, settlement, payment_id, "
                             "voided_by, net_cents, contract_hash FROM claims "
                             "WHERE payer = ?1 AND claim_id = ?2",
    [LEDGER_SQL_CLAIM_GET_ROW] = "SELECT claim_row, billing_npi, frequency, related_claim_id, "
                                 "content_hash, entry_index, status, reason, billed_cents, "
                                 "allowed_cents, paid_cents, patient_cents, settlement, "
                                 "payment_id, voided_by, net_cents, contract_hash FROM claims "
                                 "WHERE claim_row = ?1",
    [LEDGER_SQL_CLAIM_VOID] = "UPDATE claims SET voided_by = ?3 WHERE payer = ?1 AND claim_id = ?2",
    [LEDGER_SQL_CLAIM_VOID_ROW] = "UPDATE claims SET voided_by = ?2 WHERE claim_row = ?1",
    [LEDGER_SQL_CLAIM_DECISION] = "UPDATE claims SET decision = ?2 WHERE claim_row = ?1 "
                                  "AND length(decision) = 0",
    [LEDGER_SQL_CLAIM_DECISION_GET] = "SELECT claim_row, payer, claim_id, frequency, "
                                      "related_claim_id, status, billed_cents, allowed_cents, "
                                      "paid_cents, patient_cents, voided_by, decision FROM claims "
                                      "WHERE payer = ?1 AND claim_id = ?2",
    [LEDGER_SQL_DECISIONS] = "SELECT claim_row, payer, claim_id, frequency, related_claim_id, "
                             "status, billed_cents, allowed_cents, paid_cents, patient_cents, "
                             "voided_by, decision FROM claims WHERE length(decision) > 0 "
                             "ORDER BY claim_row",
    [LEDGER_SQL_ACCOUNT_POST] = "INSERT INTO accounts VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                "ON CONFLICT (id) DO UPDATE SET "
                                "debits_cents = debits_cents + excluded.debits_cents, "
                                "credits_cents = credits_cents + excluded.credits_cents "
                                "RETURNING debits_cents, credits_cents",
    [LEDGER_SQL_ACCOUNT_GET] = "SELECT credits_cents - debits_cents FROM accounts WHERE id = ?1",
    [LEDGER_SQL_PAYER_AVAILABLE] = "SELECT COALESCE(SUM(credits_cents - debits_cents), 0) "
                                   "FROM accounts WHERE payer = ?1 "
                                   "AND kind IN ('funding', 'payable')",
    [LEDGER_SQL_TRANSFER_PUT] = "INSERT INTO transfers (entry_index, debit_account, "
                                "credit_account, amount_cents, kind, payer, claim_id, "
                                "payment_id, claim_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                                "?8, ?9)",
    [LEDGER_SQL_PAYABLE_ROWS] = "SELECT claim_row, payer, billing_npi, net_cents FROM claims "
                                "WHERE settlement = 'payable' ORDER BY claim_row",
    [LEDGER_SQL_PAYMENT_PUT] = "INSERT INTO payments VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [LEDGER_SQL_PAYMENT_CLAIM_ROW] = "UPDATE claims SET settlement = 'paid', payment_id = ?2 "
                                     "WHERE claim_row = ?1 AND settlement = 'payable'",
    [LEDGER_SQL_COMMAND_PUT] = "INSERT INTO commands VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [LEDGER_SQL_CHAIN_PUT] = "INSERT INTO chain VALUES (?1, ?2, ?3, ?4, ?5)",
    [LEDGER_SQL_HEAD] = "SELECT entry_index, hash FROM chain ORDER BY entry_index DESC LIMIT 1",
    [LEDGER_SQL_LINK_HASH] = "SELECT hash FROM chain WHERE entry_index = ?1",
    [LEDGER_SQL_CHECKPOINT_PUT] = "INSERT INTO checkpoints VALUES (?1, ?2, ?3, ?4, ?5)",
    [LEDGER_SQL_CHECKPOINT_SUMMARY] = "SELECT count(*), coalesce(max(chain_index), 0) "
                                      "FROM checkpoints",
};

/* ------------------------------------------------------------------------
 * Opening and statements
 * ------------------------------------------------------------------------ */

int ledger_sqlite_error(ledger_t *self, const char *doing, settle_error_t *error)
{
    return settle_error_set(error, SETTLE_ERR_IO, "ledger: %s: %s", doing,
                            self && self->db ? sqlite3_errmsg(self->db) : "no database");
}

sqlite3_stmt *ledger_statement(ledger_t *self, ledger_sql_t which, settle_error_t *error)
{
    sqlite3_stmt *statement = self->statements[which];
    if (statement) {
        /* No sqlite3_clear_bindings: every caller binds every parameter. */
        sqlite3_reset(statement);
        return statement;
    }
    if (sqlite3_prepare_v3(self->db, s_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                           &self->statements[which], NULL) != SQLITE_OK) {
        ledger_sqlite_error(self, "preparing a statement", error);
        return NULL;
    }
    return self->statements[which];
}

int ledger_step_done(ledger_t *self, sqlite3_stmt *statement, const char *doing,
                     settle_error_t *error)
{
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        sqlite3_reset(statement);
        return SETTLE_OK;
    }
    int extended = sqlite3_extended_errcode(self->db);
    sqlite3_reset(statement);
    if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY)
        return settle_error_set(error, SETTLE_ERR_EXISTS, "ledger: %s: already recorded", doing);
    return ledger_sqlite_error(self, doing, error);
}

void ledger_column_text(sqlite3_stmt *s, int column, char *field, size_t field_size)
{
    const unsigned char *text = sqlite3_column_text(s, column);
    size_t length = text ? (size_t)sqlite3_column_bytes(s, column) : 0;
    if (length >= field_size)
        length = field_size - 1;
    if (length)
        memcpy(field, text, length);
    field[length] = '\0';
}

static int s_exec(ledger_t *self, const char *sql, settle_error_t *error)
{
    char *message = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &message) == SQLITE_OK)
        return SETTLE_OK;
    int rc = settle_error_set(error, SETTLE_ERR_IO, "ledger: %s", message ? message : "failed");
    sqlite3_free(message);
    return rc;
}

/* Creates the schema in a new database; checks the version of an old one. */
static int s_schema(ledger_t *self, settle_error_t *error)
{
    int rc = s_exec(self, self->scratch ? ledger_schema_scratch_sql : ledger_schema_sql, error);
    if (rc != SETTLE_OK)
        return rc;
    char insert[96];
    snprintf(insert, sizeof insert, "INSERT OR IGNORE INTO meta VALUES ('schema_version', %d)",
             LEDGER_SCHEMA_VERSION);
    rc = s_exec(self, insert, error);
    if (rc != SETTLE_OK)
        return rc;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(self->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
                           NULL) != SQLITE_OK)
        return ledger_sqlite_error(self, "reading the schema version", error);
    int64_t version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    if (version != LEDGER_SCHEMA_VERSION)
        return settle_error_set(error, SETTLE_ERR_VERSION,
                                "ledger: schema version %" PRId64 ", expected %d", version,
                                LEDGER_SCHEMA_VERSION);
    return SETTLE_OK;
}

/*
 * The settings.  A file is in WAL mode (so a reader - an auditor, a query -
 * never blocks apply, nor apply the reader) with synchronous = OFF: SQLite
 * never calls fsync on it, not even at checkpoints.  The ledger file is
 * derived state: libraft keeps (and syncs) the log and the snapshots, and
 * the state machine can rebuild every byte of the ledger from them (apply
 * is deterministic; a node opens it with fsm_open_fresh, fsm.h, and
 * rebuilds it on every start).  A process crash loses
 * nothing (the writes are in the OS); a power cut may lose the last
 * applied entries or, at worst, leave the file corrupt - either way the
 * node rebuilds it from its Raft snapshot and log, which it must do on
 * every start anyway.  An fsync per checkpoint bought nothing but time.
 * The WAL is checkpointed every LEDGER_WAL_CHECKPOINT_PAGES pages rather
 * than SQLite's default 1000 (a node has a thread of its own do it sooner,
 * beside the writer: ledger_wal_watch, node_wal.h).  A file is opened through the ledger's VFS
 * (ledger_vfs.c), which writes the WAL's frames in few system calls.  In
 * memory, the rollback journal is kept in memory (ROLLBACK must work).
 */
#define LEDGER_PAGE_SIZE "8192"

static int s_settings(ledger_t *self, bool file, settle_error_t *error)
{
    int rc = s_exec(self, "PRAGMA page_size = " LEDGER_PAGE_SIZE ";", error);
    if (rc == SETTLE_OK)
        rc = s_exec(
            self,
            file ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; "
                   "PRAGMA wal_autocheckpoint = " LEDGER_STRING(LEDGER_WAL_CHECKPOINT_PAGES) ";"
                 : "PRAGMA journal_mode = MEMORY;",
            error);
    if (rc == SETTLE_OK)
        rc = s_exec(self,
                    "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536; "
                    "PRAGMA temp_store = MEMORY;",
                    error);
    return rc;
}

/* ledger_wrap, for a scratch ledger when scratch. */
static int s_wrap(sqlite3 *db, bool file, bool scratch, ledger_t **ledger_out,
                  settle_error_t *error)
{
    ledger_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        sqlite3_close(db);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    }
    self->db = db;
    self->scratch = scratch;
    self->changes = (wire_writer_t){.grow = true, .ok = true};
    self->decision = (wire_writer_t){.grow = true, .ok = true};
    self->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    self->changes_hash = EVP_MD_CTX_new();
    self->digest_copy = EVP_MD_CTX_new();
    int rc = SETTLE_OK;
    if (!self->sha256 || !self->changes_hash || !self->digest_copy ||
        EVP_DigestInit_ex2(self->changes_hash, self->sha256, NULL) != 1)
        rc = settle_error_set(error, SETTLE_ERR_CRYPTO, "ledger: SHA-256 is not available");
    if (rc == SETTLE_OK)
        rc = s_settings(self, file, error);
    if (rc == SETTLE_OK)
        rc = s_schema(self, error);
    if (rc == SETTLE_OK && ledger_claim_filter_build(self) != SETTLE_OK)
        rc = settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    if (rc != SETTLE_OK) {
        ledger_close(&self);
        return rc;
    }
    *ledger_out = self;
    return SETTLE_OK;
}

int ledger_wrap(sqlite3 *db, bool file, ledger_t **ledger_out, settle_error_t *error)
{
    return s_wrap(db, file, false, ledger_out, error);
}

/* Opens the SQLite handle at path (created when missing); NULL on failure,
 * with the reason in error. */
static sqlite3 *s_open_db(const char *path, settle_error_t *error)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const char *vfs = strcmp(path, ":memory:") != 0 ? ledger_vfs_name() : NULL;
    if (sqlite3_open_v2(path, &db, flags, vfs) != SQLITE_OK) {
        settle_error_set(error, SETTLE_ERR_IO, "ledger: %s: %s", path,
                         db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    return db;
}

int ledger_open(const char *path, ledger_t **ledger_out, settle_error_t *error)
{
    if (!path || !ledger_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger_open: bad argument");
    sqlite3 *db = s_open_db(path, error);
    if (!db)
        return SETTLE_ERR_IO;
    int rc = ledger_wrap(db, strcmp(path, ":memory:") != 0, ledger_out, error);
    if (rc != SETTLE_OK)
        settle_error_file(error, path);
    return rc;
}

int ledger_open_scratch(ledger_t **ledger_out, settle_error_t *error)
{
    if (!ledger_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger_open_scratch: bad argument");
    sqlite3 *db = s_open_db(":memory:", error);
    if (!db)
        return SETTLE_ERR_IO;
    return s_wrap(db, false, true, ledger_out, error);
}

/*
 * Empties the database file in place, the way SQLite documents for a reset
 * (SQLITE_DBCONFIG_RESET_DATABASE, then VACUUM): it works on a WAL file,
 * on one whose last writes were lost, and while a reader holds it open
 * (the reader sees an empty database afterwards, not a deleted file).
 */
static int s_reset(sqlite3 *db, const char *path, settle_error_t *error)
{
    char *message = NULL;
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_RESET_DATABASE, 1, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "VACUUM", NULL, NULL, &message);
    int off = sqlite3_db_config(db, SQLITE_DBCONFIG_RESET_DATABASE, 0, 0);
    if (rc == SQLITE_OK && off != SQLITE_OK)
        rc = off;
    if (rc != SQLITE_OK)
        settle_error_set(error, SETTLE_ERR_IO, "ledger: %s: cannot be emptied: %s", path,
                         message ? message : sqlite3_errmsg(db));
    sqlite3_free(message);
    return rc == SQLITE_OK ? SETTLE_OK : SETTLE_ERR_IO;
}

int ledger_open_fresh(const char *path, ledger_t **ledger_out, settle_error_t *error)
{
    if (!path || !ledger_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger_open_fresh: bad argument");
    if (strcmp(path, ":memory:") == 0)
        return ledger_open(path, ledger_out, error);
    sqlite3 *db = s_open_db(path, error);
    if (!db)
        return SETTLE_ERR_IO;
    int rc = s_reset(db, path, error);
    if (rc != SETTLE_OK) {
        sqlite3_close(db);
        return rc;
    }
    rc = ledger_wrap(db, true, ledger_out, error);
    if (rc != SETTLE_OK)
        settle_error_file(error, path);
    return rc;
}

void ledger_close(ledger_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ledger_t *self = *self_p;
    ledger_rollback(self);
    ledger_flush(self, NULL);
    for (int i = 0; i < LEDGER_SQL_COUNT_; i++)
        sqlite3_finalize(self->statements[i]);
    sqlite3_close(self->db);
    ledger_scratch_free(self);
    ledger_payable_free(self);
    EVP_MD_CTX_free(self->digest_copy);
    EVP_MD_CTX_free(self->changes_hash);
    EVP_MD_free(self->sha256);
    settle_free(self->claim_filter);
    settle_free(self->decision.at);
    settle_free(self->changes.at);
    settle_free(self->pending);
    settle_free(self->aggregates);
    settle_free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------
 * Transactions and the change log
 * ------------------------------------------------------------------------ */

static int s_run(ledger_t *self, ledger_sql_t which, const char *doing, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, which, error);
    return s ? ledger_step_done(self, s, doing, error) : SETTLE_ERR_IO;
}

/* Empties the change log and restarts its hash. */
static int s_changes_reset(ledger_t *self)
{
    self->changes.used = 0;
    self->changes.ok = true;
    self->changes_hashed = 0;
    return EVP_DigestInit_ex2(self->changes_hash, self->sha256, NULL) == 1 ? SETTLE_OK
                                                                           : SETTLE_ERR_CRYPTO;
}

wire_writer_t *ledger_log(ledger_t *self)
{
    wire_writer_t *w = &self->changes;
    if (w->used >= LEDGER_CHANGES_FLUSH_SIZE && w->ok) {
        if (EVP_DigestUpdate(self->changes_hash, w->at, w->used) == 1)
            self->changes_hashed += w->used;
        else
            w->ok = false; /* the digest fails, and with it the entry */
        w->used = 0;
    }
    return w;
}

/* The held transaction is gone, and its entries with it: so are the
 * payable lists, which may name their rows. */
static void s_lose_held(ledger_t *self)
{
    self->held = false;
    self->lost = true;
    if (!self->scratch)
        ledger_payable_free(self);
}

/* The held transaction is gone if SQLite rolled it back whole (it may,
 * after an I/O error or a full disk): then the entries released into it
 * are lost, and the ledger refuses to go on. */
static void s_check_held(ledger_t *self)
{
    if (self->held && sqlite3_get_autocommit(self->db))
        s_lose_held(self);
}

int ledger_begin(ledger_t *self, settle_error_t *error)
{
    if (self->in_transaction)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger: a transaction is open");
    if (s_changes_reset(self) != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_CRYPTO, "ledger: cannot start a digest");
    self->pending_count = 0;
    self->aggregate_count = 0;
    self->payable_changed = false;
    s_check_held(self);
    if (self->lost)
        return settle_error_set(error, SETTLE_ERR_IO,
                                "ledger: entries since the last flush were lost; reopen it");
    int rc = SETTLE_OK;
    if (!self->hold || !self->held)
        rc = s_run(self, LEDGER_SQL_BEGIN, "beginning a transaction", error);
    if (self->hold && rc == SETTLE_OK) {
        self->held = true;
        rc = s_run(self, LEDGER_SQL_SAVEPOINT, "beginning an entry", error);
    }
    self->in_transaction = rc == SETTLE_OK;
    self->writes = true;
    if (rc == SETTLE_OK && self->scratch)
        ledger_scratch_begin(self); /* where a rollback takes its claims back to */
    return rc;
}

int ledger_commit(ledger_t *self, settle_error_t *error)
{
    if (!self->in_transaction)
        return settle_error_set(error, SETTLE_ERR_INVALID, "ledger: no transaction is open");
    int rc = ledger_flush_accounts(self, error);
    if (rc == SETTLE_OK)
        rc = self->hold ? s_run(self, LEDGER_SQL_RELEASE, "ending an entry", error)
                        : s_run(self, LEDGER_SQL_COMMIT, "committing", error);
    if (rc != SETTLE_OK) {
        ledger_rollback(self);
        return rc;
    }
    self->in_transaction = false;
    return SETTLE_OK;
}

void ledger_rollback(ledger_t *self)
{
    if (!self->in_transaction)
        return;
    if (self->hold) {
        if (s_run(self, LEDGER_SQL_ROLLBACK_TO, "rolling back an entry", NULL) != SETTLE_OK ||
            s_run(self, LEDGER_SQL_RELEASE, "ending an entry", NULL) != SETTLE_OK) {
            /* The entry's writes may still be in the transaction: it all
             * goes, and what it held is lost. */
            s_run(self, LEDGER_SQL_ROLLBACK, "rolling back the entries held", NULL);
            s_lose_held(self);
        }
        s_check_held(self);
    } else {
        s_run(self, LEDGER_SQL_ROLLBACK, "rolling back", NULL);
    }
    self->in_transaction = false;
    self->pending_count = 0;
    self->aggregate_count = 0;
    ledger_participants_forget(self);
    s_changes_reset(self);
    /* A scratch ledger's claims are in memory, not in the transaction:
     * they are taken back by hand (ledger_scratch.c).  Any other ledger's
     * payable lists, when the entry changed them, are dropped and made
     * again from the table when next needed; an entry that changed no
     * claim (one whose commands were all rejected) leaves them be. */
    if (self->scratch)
        ledger_scratch_rollback(self);
    else if (self->payable_changed)
        ledger_payable_free(self);
}

void ledger_hold_commits(ledger_t *self, bool hold)
{
    if (self->in_transaction)
        return; /* between entries only */
    if (!hold)
        ledger_flush(self, NULL);
    self->hold = hold;
}

bool ledger_unflushed(const ledger_t *self)
{
    return self->held;
}

bool ledger_lost(const ledger_t *self)
{
    return self->lost;
}

int ledger_flush(ledger_t *self, settle_error_t *error)
{
    if (self->lost)
        return settle_error_set(error, SETTLE_ERR_IO,
                                "ledger: entries since the last flush were lost; reopen it");
    if (!self->held || self->in_transaction)
        return SETTLE_OK;
    int rc = s_run(self, LEDGER_SQL_COMMIT, "committing the entries held", error);
    if (rc != SETTLE_OK) {
        s_run(self, LEDGER_SQL_ROLLBACK, "rolling back the entries held", NULL);
        s_lose_held(self);
    }
    self->held = false;
    return rc;
}

/* The digest so far: the running hash is copied, so logging may go on. */
int ledger_changes_digest(const ledger_t *self, uint8_t digest_out[LEDGER_HASH_SIZE])
{
    if (!self->changes.ok)
        return SETTLE_ERR_NOMEM;
    unsigned int length = 0;
    if (EVP_MD_CTX_copy_ex(self->digest_copy, self->changes_hash) != 1 ||
        EVP_DigestUpdate(self->digest_copy, self->changes.at, self->changes.used) != 1 ||
        EVP_DigestFinal_ex(self->digest_copy, digest_out, &length) != 1 ||
        length != LEDGER_HASH_SIZE)
        return SETTLE_ERR_CRYPTO;
    return SETTLE_OK;
}

size_t ledger_changes_size(const ledger_t *self)
{
    return (size_t)self->changes_hashed + self->changes.used;
}

/* ------------------------------------------------------------------------
 * Participants
 * ------------------------------------------------------------------------ */

/* The participant row a SELECT of LEDGER_SQL_PARTICIPANT_GET's columns
 * stands on; SETTLE_ERR_NOT_FOUND when it has none.  Resets s. */
/* The participant at the statement's current row. */
static int s_participant_columns(sqlite3_stmt *s, ledger_participant_t *row_out)
{
    ledger_participant_t row;
    memset(&row, 0, sizeof row);
    row.role = (uint8_t)sqlite3_column_int(s, 0);
    if (sqlite3_column_bytes(s, 1) == SIGN_PUBLIC_KEY_SIZE)
        memcpy(row.public_key, sqlite3_column_blob(s, 1), SIGN_PUBLIC_KEY_SIZE);
    ledger_column_text(s, 2, row.name, sizeof row.name);
    ledger_column_text(s, 3, row.npi, sizeof row.npi);
    row.next_sequence = (uint64_t)sqlite3_column_int64(s, 4);
    int window_size = sqlite3_column_bytes(s, 5);
    const void *window = sqlite3_column_blob(s, 5);
    ledger_column_text(s, 6, row.id, sizeof row.id);
    row.registered_entry = (uint64_t)sqlite3_column_int64(s, 7);
    row.key_entry = (uint64_t)sqlite3_column_int64(s, 8);
    row.revoked_entry = (uint64_t)sqlite3_column_int64(s, 9);
    int rc = SETTLE_OK;
    if (window_size == LEDGER_SEQUENCE_WINDOW_SIZE && window)
        memcpy(row.sequence_window, window, LEDGER_SEQUENCE_WINDOW_SIZE);
    else
        rc = SETTLE_ERR_CORRUPT; /* only a hand-edited ledger gets here */
    if (rc == SETTLE_OK)
        *row_out = row;
    return rc;
}

/* Steps to the statement's one row and reads it; resets the statement. */
static int s_participant_row(sqlite3_stmt *s, ledger_participant_t *row_out)
{
    int step = sqlite3_step(s);
    int rc = step == SQLITE_ROW    ? s_participant_columns(s, row_out)
             : step == SQLITE_DONE ? SETTLE_ERR_NOT_FOUND
                                   : SETTLE_ERR_IO;
    sqlite3_reset(s);
    return rc;
}

int ledger_participant_each(ledger_t *self, ledger_participant_fn fn, void *context)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PARTICIPANT_EACH, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    int rc = SETTLE_OK, step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        ledger_participant_t row;
        rc = s_participant_columns(s, &row);
        if (rc == SETTLE_OK && fn(&row, context) != 0)
            break;
    }
    if (rc == SETTLE_OK && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = SETTLE_ERR_IO;
    sqlite3_reset(s);
    return rc;
}

/*
 * Participants' rows are read for every command (its signer, its sequence
 * number) by the connection that applies, and by the leader's check
 * before it; a few rows serve them all.  So the writing connection keeps
 * the rows it read or changed (LEDGER_PARTICIPANTS_KEPT): advance updates
 * its kept row, rotate, revoke and put drop theirs, a rollback or a
 * restore forgets them all.  A connection that only reads keeps nothing:
 * another one may write at any moment.
 */
static ledger_participant_t *s_kept(ledger_t *self, const char *id)
{
    for (unsigned i = 0; i < self->kept_count; i++)
        if (strcmp(self->kept[i].id, id) == 0)
            return &self->kept[i];
    return NULL;
}

static void s_keep(ledger_t *self, const ledger_participant_t *row)
{
    ledger_participant_t *slot = s_kept(self, row->id);
    if (!slot && self->kept_count < LEDGER_PARTICIPANTS_KEPT)
        slot = &self->kept[self->kept_count++];
    if (!slot)
        slot = &self->kept[self->kept_next++ % LEDGER_PARTICIPANTS_KEPT];
    *slot = *row;
}

static void s_forget(ledger_t *self, const char *id)
{
    ledger_participant_t *slot = s_kept(self, id);
    if (slot)
        *slot = self->kept[--self->kept_count];
}

void ledger_participants_forget(ledger_t *self)
{
    self->kept_count = 0;
}

int ledger_participant_get(ledger_t *self, const char *id, ledger_participant_t *row_out)
{
    const ledger_participant_t *kept = self->writes ? s_kept(self, id) : NULL;
    if (kept) {
        *row_out = *kept;
        return SETTLE_OK;
    }
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PARTICIPANT_GET, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, id);
    int rc = s_participant_row(s, row_out);
    if (rc == SETTLE_OK && self->writes)
        s_keep(self, row_out);
    return rc;
}

int ledger_participant_by_npi(ledger_t *self, const char *npi, ledger_participant_t *row_out)
{
    if (!npi || !npi[0])
        return SETTLE_ERR_NOT_FOUND;
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PARTICIPANT_BY_NPI, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, npi);
    return s_participant_row(s, row_out);
}

/* Opens a participant_keys row, logged as 'Q'. */
static int s_key_put(ledger_t *self, const char *id, const uint8_t key[SIGN_PUBLIC_KEY_SIZE],
                     uint64_t entry_index, uint32_t position, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_KEY_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, (int64_t)entry_index);
    sqlite3_bind_int64(s, 3, position);
    sqlite3_bind_blob(s, 4, key, SIGN_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    int rc = ledger_step_done(self, s, "recording a key", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_KEY, 1);
    wire_put_text(w, id, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put(w, key, SIGN_PUBLIC_KEY_SIZE);
    wire_put_uint(w, entry_index, 8);
    wire_put_uint(w, position, 4);
    return SETTLE_OK;
}

/* Runs an UPDATE of one participant bound as (?1 id, ?2 value, ?3 extra)
 * and closes its open key row at (entry_index, position). */
static int s_participant_change(ledger_t *self, ledger_sql_t which, const char *id,
                                const uint8_t *key, uint64_t entry_index, uint32_t position,
                                settle_error_t *error)
{
    s_forget(self, id);
    sqlite3_stmt *s = ledger_statement(self, which, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, id);
    if (key) {
        sqlite3_bind_blob(s, 2, key, SIGN_PUBLIC_KEY_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (int64_t)entry_index);
    } else {
        sqlite3_bind_int64(s, 2, (int64_t)entry_index);
    }
    int rc = ledger_step_done(self, s, "changing a participant's key", error);
    if (rc != SETTLE_OK)
        return rc;
    if (sqlite3_changes(self->db) != 1)
        return settle_error_set(error, SETTLE_ERR_NOT_FOUND,
                                "ledger: changing the key of %s: no such participant", id);
    s = ledger_statement(self, LEDGER_SQL_KEY_CLOSE, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, (int64_t)entry_index);
    sqlite3_bind_int64(s, 3, position);
    return ledger_step_done(self, s, "closing a key", error);
}

int ledger_participant_rotate(ledger_t *self, const char *id,
                              const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t entry_index,
                              uint32_t position, settle_error_t *error)
{
    int rc = s_participant_change(self, LEDGER_SQL_PARTICIPANT_ROTATE, id, public_key, entry_index,
                                  position, error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_ROTATE, 1);
    wire_put_text(w, id, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put(w, public_key, SIGN_PUBLIC_KEY_SIZE);
    wire_put_uint(w, entry_index, 8);
    wire_put_uint(w, position, 4);
    return s_key_put(self, id, public_key, entry_index, position, error);
}

int ledger_participant_revoke(ledger_t *self, const char *id, uint64_t entry_index,
                              uint32_t position, settle_error_t *error)
{
    int rc = s_participant_change(self, LEDGER_SQL_PARTICIPANT_REVOKE, id, NULL, entry_index,
                                  position, error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_REVOKE, 1);
    wire_put_text(w, id, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_uint(w, entry_index, 8);
    wire_put_uint(w, position, 4);
    return SETTLE_OK;
}

int ledger_participant_key_at(ledger_t *self, const char *id, uint64_t entry_index,
                              uint32_t position, ledger_key_t *key_out)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_KEY_AT, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, (int64_t)entry_index);
    sqlite3_bind_int64(s, 3, position);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        sqlite3_reset(s);
        return step == SQLITE_DONE ? SETTLE_ERR_NOT_FOUND : SETTLE_ERR_IO;
    }
    ledger_key_t key;
    memset(&key, 0, sizeof key);
    int rc = sqlite3_column_bytes(s, 0) == SIGN_PUBLIC_KEY_SIZE ? SETTLE_OK : SETTLE_ERR_CORRUPT;
    if (rc == SETTLE_OK)
        memcpy(key.public_key, sqlite3_column_blob(s, 0), SIGN_PUBLIC_KEY_SIZE);
    key.from_entry = (uint64_t)sqlite3_column_int64(s, 1);
    key.from_position = (uint32_t)sqlite3_column_int64(s, 2);
    key.to_entry = (uint64_t)sqlite3_column_int64(s, 3);
    key.to_position = (uint32_t)sqlite3_column_int64(s, 4);
    sqlite3_reset(s);
    if (rc == SETTLE_OK)
        *key_out = key;
    return rc;
}

int ledger_participant_put(ledger_t *self, const ledger_participant_t *row, uint64_t entry_index,
                           settle_error_t *error)
{
    s_forget(self, row->id);
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PARTICIPANT_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, row->id);
    sqlite3_bind_int(s, 2, row->role);
    sqlite3_bind_blob(s, 3, row->public_key, SIGN_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    ledger_bind_text(s, 4, row->name);
    ledger_bind_text(s, 5, row->npi);
    sqlite3_bind_int64(s, 6, (int64_t)row->next_sequence);
    sqlite3_bind_blob(s, 7, row->sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, (int64_t)entry_index);
    int rc = ledger_step_done(self, s, "registering a participant", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_PARTICIPANT, 1);
    wire_put_text(w, row->id, sizeof row->id);
    wire_put_uint(w, row->role, 1);
    wire_put(w, row->public_key, SIGN_PUBLIC_KEY_SIZE);
    wire_put_text(w, row->name, sizeof row->name);
    wire_put_text(w, row->npi, sizeof row->npi);
    wire_put_uint(w, row->next_sequence, 8);
    wire_put(w, row->sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE);
    return s_key_put(self, row->id, row->public_key, entry_index, 0, error);
}

int ledger_participant_advance(ledger_t *self, const ledger_participant_t *row,
                               settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PARTICIPANT_ADVANCE, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, row->id);
    sqlite3_bind_int64(s, 2, (int64_t)row->next_sequence);
    sqlite3_bind_blob(s, 3, row->sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE, SQLITE_STATIC);
    int rc = ledger_step_done(self, s, "advancing a sequence number", error);
    if (rc != SETTLE_OK)
        return rc;
    if (sqlite3_changes(self->db) != 1)
        return settle_error_set(error, SETTLE_ERR_NOT_FOUND,
                                "ledger: advancing the sequence of %s: no such participant",
                                row->id);
    ledger_participant_t *kept = s_kept(self, row->id);
    if (kept) {
        kept->next_sequence = row->next_sequence;
        memcpy(kept->sequence_window, row->sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE);
    }
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_SEQUENCE, 1);
    wire_put_text(w, row->id, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_uint(w, row->next_sequence, 8);
    wire_put(w, row->sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE);
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * The replay window (ledger.h): bit d of the bitmap is next_sequence-1-d
 * ------------------------------------------------------------------------ */

static bool s_window_bit(const uint8_t *window, uint64_t distance)
{
    return (window[distance >> 3] >> (distance & 7)) & 1u;
}

/* Moves every bit `by` distances further from the top (the highest grew
 * by `by`); what falls past the window is forgotten. */
static void s_window_slide(uint8_t *window, uint64_t by)
{
    if (by >= LEDGER_SEQUENCE_WINDOW) {
        memset(window, 0, LEDGER_SEQUENCE_WINDOW_SIZE);
        return;
    }
    size_t bytes = (size_t)(by >> 3);
    unsigned bits = (unsigned)(by & 7);
    for (size_t i = LEDGER_SEQUENCE_WINDOW_SIZE; i-- > 0;) {
        unsigned value = 0;
        if (i >= bytes)
            value = (unsigned)window[i - bytes] << bits;
        if (bits && i >= bytes + 1)
            value |= (unsigned)window[i - bytes - 1] >> (8 - bits);
        window[i] = (uint8_t)value;
    }
}

ledger_sequence_t ledger_sequence_check(const ledger_participant_t *row, uint64_t sequence)
{
    if (sequence == UINT64_MAX)
        return LEDGER_SEQUENCE_TOO_HIGH;
    if (sequence >= row->next_sequence)
        return LEDGER_SEQUENCE_NEW;
    uint64_t distance = row->next_sequence - 1 - sequence;
    if (distance >= LEDGER_SEQUENCE_WINDOW)
        return LEDGER_SEQUENCE_TOO_OLD;
    return s_window_bit(row->sequence_window, distance) ? LEDGER_SEQUENCE_REPLAYED
                                                        : LEDGER_SEQUENCE_NEW;
}

void ledger_sequence_accept(ledger_participant_t *row, uint64_t sequence)
{
    assert(ledger_sequence_check(row, sequence) == LEDGER_SEQUENCE_NEW);
    uint64_t distance = 0;
    if (sequence >= row->next_sequence) {
        s_window_slide(row->sequence_window, sequence - row->next_sequence + 1);
        row->next_sequence = sequence + 1;
    } else {
        distance = row->next_sequence - 1 - sequence;
    }
    row->sequence_window[distance >> 3] |= (uint8_t)(1u << (distance & 7));
}

int ledger_participant_count(ledger_t *self, uint64_t *count_out)
{
    return ledger_row_count(self, "participants", count_out);
}

/* ------------------------------------------------------------------------
 * Contracts and members
 * ------------------------------------------------------------------------ */

int ledger_contract_put(ledger_t *self, const ledger_contract_t *row, uint64_t entry_index,
                        settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CONTRACT_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_blob(s, 1, row->hash, LEDGER_HASH_SIZE, SQLITE_STATIC);
    ledger_bind_text(s, 2, row->payer);
    ledger_bind_text(s, 3, row->contract_id);
    ledger_bind_text(s, 4, row->version);
    sqlite3_bind_int(s, 5, row->effective_from);
    sqlite3_bind_int(s, 6, row->effective_to);
    sqlite3_bind_int64(s, 7, (int64_t)entry_index);
    sqlite3_bind_blob(s, 8, row->yaml, (int)row->yaml_size, SQLITE_STATIC);
    int rc = ledger_step_done(self, s, "deploying a contract", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_CONTRACT, 1);
    wire_put(w, row->hash, LEDGER_HASH_SIZE);
    wire_put_text(w, row->payer, sizeof row->payer);
    wire_put_text(w, row->contract_id, sizeof row->contract_id);
    wire_put_text(w, row->version, sizeof row->version);
    wire_put_uint(w, (uint32_t)row->effective_from, 4);
    wire_put_uint(w, (uint32_t)row->effective_to, 4);
    return SETTLE_OK;
}

int ledger_contract_each(ledger_t *self, ledger_contract_fn each, void *context,
                         settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CONTRACT_EACH, error);
    if (!s)
        return SETTLE_ERR_IO;
    int rc = SETTLE_OK, step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        ledger_contract_t row;
        memset(&row, 0, sizeof row);
        if (sqlite3_column_bytes(s, 0) == LEDGER_HASH_SIZE)
            memcpy(row.hash, sqlite3_column_blob(s, 0), LEDGER_HASH_SIZE);
        ledger_column_text(s, 1, row.payer, sizeof row.payer);
        ledger_column_text(s, 2, row.contract_id, sizeof row.contract_id);
        ledger_column_text(s, 3, row.version, sizeof row.version);
        row.effective_from = sqlite3_column_int(s, 4);
        row.effective_to = sqlite3_column_int(s, 5);
        row.yaml = sqlite3_column_blob(s, 6);
        row.yaml_size = (size_t)sqlite3_column_bytes(s, 6);
        rc = each(&row, context);
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(self, "reading contracts", error);
    sqlite3_reset(s);
    return rc;
}

int ledger_member_put(ledger_t *self, const char *payer, const enrollment_member_t *member,
                      uint64_t entry_index, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_MEMBER_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    char sex[2] = {member->sex, '\0'};
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, member->id);
    ledger_bind_text(s, 3, member->family);
    ledger_bind_text(s, 4, member->contract);
    sqlite3_bind_int(s, 5, member->birth_date);
    ledger_bind_text(s, 6, sex);
    sqlite3_bind_int(s, 7, member->coverage_from);
    sqlite3_bind_int(s, 8, member->coverage_to);
    sqlite3_bind_int64(s, 9, (int64_t)entry_index);
    int rc = ledger_step_done(self, s, "enrolling a member", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    wire_put_uint(w, LEDGER_TAG_MEMBER, 1);
    wire_put_text(w, payer, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_text(w, member->id, sizeof member->id);
    wire_put_text(w, member->family, sizeof member->family);
    wire_put_text(w, member->contract, sizeof member->contract);
    wire_put_uint(w, (uint32_t)member->birth_date, 4);
    wire_put_uint(w, (uint8_t)member->sex, 1);
    wire_put_uint(w, (uint32_t)member->coverage_from, 4);
    wire_put_uint(w, (uint32_t)member->coverage_to, 4);
    return SETTLE_OK;
}

int ledger_member_each(ledger_t *self, const char *payer, ledger_member_fn each, void *context,
                       settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_MEMBER_EACH, error);
    if (!s)
        return SETTLE_ERR_IO;
    if (payer)
        ledger_bind_text(s, 1, payer);
    else
        sqlite3_bind_null(s, 1);
    int rc = SETTLE_OK, step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        char row_payer[COMMAND_PARTICIPANT_ID_SIZE], sex[2];
        enrollment_member_t member;
        memset(&member, 0, sizeof member);
        ledger_column_text(s, 0, row_payer, sizeof row_payer);
        ledger_column_text(s, 1, member.id, sizeof member.id);
        ledger_column_text(s, 2, member.family, sizeof member.family);
        ledger_column_text(s, 3, member.contract, sizeof member.contract);
        member.birth_date = sqlite3_column_int(s, 4);
        ledger_column_text(s, 5, sex, sizeof sex);
        member.sex = sex[0];
        member.coverage_from = sqlite3_column_int(s, 6);
        member.coverage_to = sqlite3_column_int(s, 7);
        rc = each(row_payer, &member, context);
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(self, "reading members", error);
    sqlite3_reset(s);
    return rc;
}

/* ------------------------------------------------------------------------
 * Commands and the chain
 * ------------------------------------------------------------------------ */

int ledger_command_put(ledger_t *self, uint64_t entry_index, uint32_t position,
                       const command_t *command, bool accepted, const char *reason,
                       settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_COMMAND_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)entry_index);
    sqlite3_bind_int(s, 2, (int)position);
    ledger_bind_text(s, 3, command->participant);
    sqlite3_bind_int64(s, 4, (int64_t)command->sequence);
    ledger_bind_text(s, 5, command_type_name(command->type));
    sqlite3_bind_int(s, 6, accepted);
    ledger_bind_text(s, 7, reason);
    int rc = ledger_step_done(self, s, "recording a command", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = ledger_log(self);
    size_t reason_length = strnlen(reason, LEDGER_REASON_SIZE);
    wire_put_uint(w, LEDGER_TAG_COMMAND, 1);
    wire_put_uint(w, position, 4);
    wire_put_uint(w, accepted, 1);
    wire_put_uint(w, reason_length, 2);
    wire_put(w, reason, reason_length);
    return SETTLE_OK;
}

int ledger_chain_put(ledger_t *self, uint64_t entry_index, uint64_t timestamp_ms,
                     const uint8_t *entry, size_t entry_size,
                     const uint8_t changes_digest[LEDGER_HASH_SIZE],
                     const uint8_t hash[LEDGER_HASH_SIZE], settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CHAIN_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)entry_index);
    sqlite3_bind_int64(s, 2, (int64_t)timestamp_ms);
    /* A scratch ledger keeps the link but not the entry's bytes: nobody
     * reads them back from a replay (an auditor checks the stored entry
     * as it applies it, and the link's hash covers it), and they were a
     * quarter of its memory, paid in page faults. */
    if (self->scratch)
        sqlite3_bind_zeroblob(s, 3, 0);
    else
        sqlite3_bind_blob64(s, 3, entry, entry_size, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, changes_digest, LEDGER_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, hash, LEDGER_HASH_SIZE, SQLITE_STATIC);
    return ledger_step_done(self, s, "appending a chain link", error);
}

int ledger_head(ledger_t *self, uint64_t *index_out, uint8_t hash_out[LEDGER_HASH_SIZE])
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_HEAD, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_bytes(s, 1) == LEDGER_HASH_SIZE) {
        *index_out = (uint64_t)sqlite3_column_int64(s, 0);
        memcpy(hash_out, sqlite3_column_blob(s, 1), LEDGER_HASH_SIZE);
    } else if (step == SQLITE_DONE) {
        *index_out = 0;
        memset(hash_out, 0, LEDGER_HASH_SIZE);
    } else {
        sqlite3_reset(s);
        return SETTLE_ERR_IO;
    }
    sqlite3_reset(s);
    return SETTLE_OK;
}

/* The tables ledger_row_count counts with SQL. */
static const char *const s_tables[] = {
    "participants", "participant_keys", "contracts", "members", "claims",     "accounts",
    "transfers",    "payments",         "commands",  "chain",   "checkpoints"};

int ledger_row_count(ledger_t *self, const char *table, uint64_t *count_out)
{
    if (self->scratch && strcmp(table, "claims") == 0) {
        *count_out = ledger_scratch_claim_count(self); /* its table stays empty */
        return SETTLE_OK;
    }
    if (strcmp(table, "claim_lines") == 0 || strcmp(table, "claim_adjustments") == 0 ||
        strcmp(table, "accumulator_changes") == 0)
        return ledger_decision_count(self, table, count_out);
    for (size_t i = 0; i < sizeof s_tables / sizeof s_tables[0]; i++) {
        if (strcmp(table, s_tables[i]) != 0)
            continue;
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", s_tables[i]);
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(self->db, sql, -1, &s, NULL) != SQLITE_OK)
            return SETTLE_ERR_IO;
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            *count_out = (uint64_t)sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return step == SQLITE_ROW ? SETTLE_OK : SETTLE_ERR_IO;
    }
    return SETTLE_ERR_INVALID;
}
