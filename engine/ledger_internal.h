/*
 * ledger_internal.h - the ledger's handle and prepared statements, shared
 * by the files that make up the ledger (ledger.c, ledger_claims.c,
 * ledger_accounts.c, ledger_snapshot.c, ledger_checkpoint.c, and a scratch
 * ledger's ledger_scratch.c and ledger_payable.c).  Private to engine/.
 */
#ifndef SETTLE_LEDGER_INTERNAL_H
#define SETTLE_LEDGER_INTERNAL_H

#include <openssl/evp.h>
#include <sqlite3.h>

#include "wire.h"
#include "settle/ledger.h"

/* Every statement the ledger runs, prepared once on first use. */
typedef enum {
    LEDGER_SQL_BEGIN,
    LEDGER_SQL_COMMIT,
    LEDGER_SQL_ROLLBACK,
    LEDGER_SQL_SAVEPOINT,
    LEDGER_SQL_RELEASE,
    LEDGER_SQL_ROLLBACK_TO,
    LEDGER_SQL_PARTICIPANT_GET,
    LEDGER_SQL_PARTICIPANT_BY_NPI,
    LEDGER_SQL_PARTICIPANT_EACH,
    LEDGER_SQL_PARTICIPANT_PUT,
    LEDGER_SQL_PARTICIPANT_ADVANCE,
    LEDGER_SQL_PARTICIPANT_COUNT,
    LEDGER_SQL_PARTICIPANT_ROTATE,
    LEDGER_SQL_PARTICIPANT_REVOKE,
    LEDGER_SQL_KEY_PUT,
    LEDGER_SQL_KEY_CLOSE,
    LEDGER_SQL_KEY_AT,
    LEDGER_SQL_CONTRACT_PUT,
    LEDGER_SQL_CONTRACT_EACH,
    LEDGER_SQL_MEMBER_PUT,
    LEDGER_SQL_MEMBER_EACH,
    LEDGER_SQL_CLAIM_PUT,
    LEDGER_SQL_CLAIM_GET,
    LEDGER_SQL_CLAIM_GET_ROW,
    LEDGER_SQL_CLAIM_VOID_ROW,
    LEDGER_SQL_CLAIM_VOID,
    LEDGER_SQL_CLAIM_DECISION,
    LEDGER_SQL_CLAIM_DECISION_GET,
    LEDGER_SQL_DECISIONS,
    LEDGER_SQL_ACCOUNT_POST,
    LEDGER_SQL_ACCOUNT_GET,
    LEDGER_SQL_PAYER_AVAILABLE,
    LEDGER_SQL_TRANSFER_PUT,
    LEDGER_SQL_PAYABLE_ROWS,
    LEDGER_SQL_PAYMENT_PUT,
    LEDGER_SQL_PAYMENT_CLAIM_ROW,
    LEDGER_SQL_COMMAND_PUT,
    LEDGER_SQL_CHAIN_PUT,
    LEDGER_SQL_HEAD,
    LEDGER_SQL_LINK_HASH,
    LEDGER_SQL_CHECKPOINT_PUT,
    LEDGER_SQL_CHECKPOINT_SUMMARY,
    LEDGER_SQL_COUNT_
} ledger_sql_t;

/* A balance change gathered during an entry, written at commit. */
typedef struct {
    char id[LEDGER_ACCOUNT_ID_SIZE];
    char kind[8];
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    char npi[CLAIM_NPI_SIZE];
    int64_t debits_cents;
    int64_t credits_cents;
} ledger_pending_t;

/* The change log is hashed as it goes: rows are appended to a buffer that
 * is fed to the running SHA-256 whenever it passes this many bytes, so an
 * entry of any size costs a bounded buffer and large, cheap updates. */
#define LEDGER_CHANGES_FLUSH_SIZE (64u << 10)

/* The claim (or reversal) transfers of an entry between two accounts,
 * gathered into one, written at flush (ledger_accounts.c). */
typedef struct {
    char debit[LEDGER_ACCOUNT_ID_SIZE];
    char credit[LEDGER_ACCOUNT_ID_SIZE];
    char kind[16];
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    int64_t amount_cents;
    uint32_t claim_count;
    uint64_t entry_index;
} ledger_aggregate_t;

#define LEDGER_PARTICIPANTS_KEPT 8

struct ledger_s {
    sqlite3 *db;
    sqlite3_stmt *statements[LEDGER_SQL_COUNT_];
    bool in_transaction;
    bool hold;               /* ledger_hold_commits: entries are savepoints in one transaction */
    bool held;               /* that transaction is open, with entries released into it */
    bool lost;               /* it was rolled back whole by SQLite: its entries are gone */
    ledger_wal_fn wal_watch; /* ledger_wal_watch: NULL, SQLite checkpoints in the commit */
    void *wal_context;
    wire_writer_t changes;            /* the change log's bytes not yet hashed */
    uint64_t changes_hashed;          /* bytes of the change log already hashed */
    EVP_MD *sha256;                   /* fetched once */
    EVP_MD_CTX *changes_hash;         /* the running SHA-256 of the change log */
    EVP_MD_CTX *digest_copy;          /* scratch for ledger_changes_digest */
    wire_writer_t decision;           /* scratch: the decision being encoded */
    bool scratch;                     /* ledger_open_scratch: claims in memory (ledger_scratch.c) */
    struct ledger_scratch_s *claims;  /* scratch only: the claims rows; NULL: lost */
    struct ledger_payable_s *payable; /* payable claims per provider; NULL: none made */
    bool payable_changed;             /* since ledger_begin: made, added to or paid from */
    uint64_t *claim_filter;           /* Bloom filter of the claim ids held; NULL: off */
    uint64_t claim_filter_bits;
    uint64_t claim_filter_claims; /* claims added to it */
    ledger_pending_t *pending;
    size_t pending_count;
    size_t pending_capacity;
    ledger_aggregate_t *aggregates; /* sorted by debit, credit, kind */
    size_t aggregate_count;
    size_t aggregate_capacity;
    /* Participants' rows kept between reads (ledger.c, "Participants"):
     * only on the connection that writes, which sees every change. */
    bool writes; /* has begun a transaction */
    ledger_participant_t kept[LEDGER_PARTICIPANTS_KEPT];
    unsigned kept_count, kept_next;
};

/* Forgets every participant row kept (a rollback, a restore). */
void ledger_participants_forget(ledger_t *self);

/* Row tags in the change log: the first byte of each row's bytes. */
enum {
    LEDGER_TAG_PARTICIPANT = 'P',
    LEDGER_TAG_SEQUENCE = 'S',
    LEDGER_TAG_KEY = 'Q',
    LEDGER_TAG_ROTATE = 'R',
    LEDGER_TAG_REVOKE = 'Z',
    LEDGER_TAG_CONTRACT = 'K',
    LEDGER_TAG_MEMBER = 'M',
    LEDGER_TAG_CLAIM = 'C',
    LEDGER_TAG_DECISION = 'D',
    LEDGER_TAG_VOID = 'V',
    LEDGER_TAG_TRANSFER = 'T',
    LEDGER_TAG_ACCOUNT = 'B',
    LEDGER_TAG_PAYMENT = 'Y',
    LEDGER_TAG_COMMAND = 'X',
    LEDGER_TAG_CHECKPOINT = 'H'
};

/* The change log, ready for one more row (hashing what it holds when it
 * has grown past LEDGER_CHANGES_FLUSH_SIZE). */
wire_writer_t *ledger_log(ledger_t *self);

/* The prepared statement, reset but not unbound: the caller binds every
 * parameter again.  NULL (and error set) when it cannot be prepared. */
sqlite3_stmt *ledger_statement(ledger_t *self, ledger_sql_t which, settle_error_t *error);

/* Records SQLite's complaint in error as SETTLE_ERR_IO with what was being
 * done; returns SETTLE_ERR_IO. */
int ledger_sqlite_error(ledger_t *self, const char *doing, settle_error_t *error);

/* Steps a write statement to its end; SETTLE_ERR_EXISTS for a constraint
 * on a unique key, SETTLE_ERR_IO otherwise. */
int ledger_step_done(ledger_t *self, sqlite3_stmt *statement, const char *doing,
                     settle_error_t *error);

/* Binds text (NUL-terminated) as static: it must outlive the step. */
static inline int ledger_bind_text(sqlite3_stmt *s, int column, const char *text)
{
    return sqlite3_bind_text(s, column, text, -1, SQLITE_STATIC);
}

/* Copies a text column into a field, truncating to fit. */
void ledger_column_text(sqlite3_stmt *s, int column, char *field, size_t field_size);

/* The lines ("claim_lines"), adjustments ("claim_adjustments") or changes
 * ("accumulator_changes") held in every claim's decision (ledger_claims.c). */
int ledger_decision_count(ledger_t *self, const char *what, uint64_t *count_out);

/* (Re)builds the claim-id filter from the claims table, sized for twice
 * what it holds; on any failure the filter is off and every lookup asks
 * the index (ledger_claims.c).  A scratch ledger's claims store instead
 * (ledger_scratch_load), which must be whole: SETTLE_ERR_NOMEM or _IO
 * when it cannot be. */
int ledger_claim_filter_build(ledger_t *self);

/* The hash of a (payer, claim id) pair (FNV-1a, mixed): the filter's and
 * the scratch store's (ledger_claims.c). */
uint64_t ledger_claim_hash(const char *payer, const char *claim_id);

/* ------------------------------------------------------------------------
 * A scratch ledger's claims (ledger_scratch.c)
 *
 * Its claims table stays empty: the rows live in memory, in claim_row
 * order, with their texts and decision blobs, found by (payer, claim_id)
 * through a hash table.  The functions below are the claims table's reads
 * and writes for a scratch ledger; ledger_claims.c, ledger_payable.c and
 * ledger.c call them when self->scratch.  When the store is lost (a
 * failed load) every call fails (SETTLE_ERR_IO) or finds nothing.
 * ------------------------------------------------------------------------ */

/* A column's value as SQLite would give it: SQLITE_INTEGER (integer) or
 * SQLITE_TEXT / SQLITE_BLOB (bytes, size; a text without its NUL). */
typedef struct {
    int type;
    int64_t integer;
    const void *bytes;
    size_t size;
} ledger_value_t;

/* The columns of claims, in schema order (ledger_schema.c). */
#define LEDGER_CLAIM_COLUMNS 20
#define LEDGER_CLAIM_COLUMNS_SQL                                                                   \
    "claim_row, payer, claim_id, billing_npi, frequency, related_claim_id, content_hash, "         \
    "contract_hash, entry_index, status, reason, billed_cents, allowed_cents, paid_cents, "        \
    "patient_cents, net_cents, settlement, payment_id, voided_by, decision"
extern const char *const ledger_claim_columns[LEDGER_CLAIM_COLUMNS];

/* Makes the store from the claims table (a restored snapshot's rows, none
 * on open), empties the table, and makes the payable lists. */
int ledger_scratch_load(ledger_t *self);
void ledger_scratch_free(ledger_t *self);

/* ledger_begin marks where a rollback returns to; ledger_rollback undoes
 * the changes since, drops the rows added since and makes the hash table
 * and the payable lists again. */
void ledger_scratch_begin(ledger_t *self);
void ledger_scratch_rollback(ledger_t *self);

/* Adds claim (decision: its blob, copied; may be empty) as the next row
 * and sets claim->row; SETTLE_ERR_EXISTS for a pair already held. */
int ledger_scratch_claim_put(ledger_t *self, ledger_claim_t *claim, const uint8_t *decision,
                             size_t decision_size, settle_error_t *error);
/* A row as a ledger_claim_t, and (when decision_out) its blob, which stays
 * the store's and is valid until the next write: SETTLE_ERR_NOT_FOUND. */
int ledger_scratch_claim_at(const ledger_t *self, int64_t row, ledger_claim_t *claim_out,
                            const uint8_t **decision_out, size_t *decision_size_out);
int ledger_scratch_claim_get(ledger_t *self, const char *payer, const char *claim_id,
                             ledger_claim_t *claim_out, const uint8_t **decision_out,
                             size_t *decision_size_out);
/* The UPDATEs: voided_by by pair (none: nothing changes), a decision on a
 * row without one (SETTLE_ERR_INVALID otherwise), and a payable row made
 * paid (*moved_out 1; 0 when it was not payable). */
int ledger_scratch_claim_void(ledger_t *self, const char *payer, const char *claim_id,
                              const char *voiding_claim_id, settle_error_t *error);
int ledger_scratch_decision_put(ledger_t *self, int64_t row, const uint8_t *decision,
                                size_t decision_size, settle_error_t *error);
int ledger_scratch_claim_pay(ledger_t *self, int64_t row, const char *payment_id,
                             uint32_t *moved_out);

/* How many rows (the last claim_row), and one row's columns (row in 1 to
 * that count; the pointers are the store's, valid until the next write). */
uint64_t ledger_scratch_claim_count(const ledger_t *self);
void ledger_scratch_claim_values(const ledger_t *self, uint64_t row,
                                 ledger_value_t values[LEDGER_CLAIM_COLUMNS]);

/* A ledger's payable claims per provider, in place of the partial index
 * claims_payable of earlier builds (ledger_payable.c).  _build makes them
 * from the rows (a scratch ledger's in memory, or the claims table); _add
 * records a claim stored as payable (nothing while an SQLite ledger has
 * none made); _gather gives a payer's providers, totals and counts as
 * SUM/COUNT ... GROUP BY billing_npi would (the caller frees *rows_out);
 * _pay marks a provider's rows paid (the rows moved in *moved_out).  An
 * SQLite ledger makes them when first asked and drops them on rollback;
 * a scratch ledger's, when a build failed, are gone and every call fails
 * (SETTLE_ERR_IO) rather than answer from a partial list.  _free in
 * ledger_close. */
int ledger_payable_build(ledger_t *self);
int ledger_payable_add(ledger_t *self, const char *payer, const char *npi, int64_t row,
                       int64_t net_cents);
int ledger_payable_gather(ledger_t *self, const char *payer, ledger_payable_t **rows_out,
                          size_t *count_out, settle_error_t *error);
int ledger_payable_pay(ledger_t *self, const char *payer, const char *npi, const char *payment_id,
                       uint32_t *moved_out, settle_error_t *error);
void ledger_payable_free(ledger_t *self);

/* The schema, one statement after another (ledger_schema.c), and a
 * scratch ledger's: claims without the unique index on (payer, claim_id). */
extern const char ledger_schema_sql[];
extern const char ledger_schema_scratch_sql[];

/* The name of the ledger's VFS (ledger_vfs.c: the default one, with the
 * WAL's writes gathered), registered on first call; NULL when it could not
 * be, and the default VFS serves. */
const char *ledger_vfs_name(void);

/* The WAL's length, in pages, at which the writer checkpoints (ledger.c),
 * unless ledger_wal_watch gave the checkpoints to someone else. */
#define LEDGER_WAL_CHECKPOINT_PAGES 8000
#define LEDGER_STRING_(x)           #x
#define LEDGER_STRING(x)            LEDGER_STRING_(x)

/* Opens the raw database handle with the ledger's settings. */
int ledger_wrap(sqlite3 *db, bool file, ledger_t **ledger_out, settle_error_t *error);

#endif
