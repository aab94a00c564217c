/*
 * ledger.h - the SQLite store under the state machine: participants,
 * contracts, members, claims with their lines, adjustments and accumulator
 * changes, double-entry accounts and transfers, payments, the applied
 * commands and the hash chain.  The schema is documented in
 * engine/README.md ("The ledger").
 *
 * One database per node (a file in WAL mode), or ":memory:" for tests and
 * simulations.  A claim's decision - its lines, their adjustments and its
 * accumulator changes - is one canonical blob in the claim's row (the
 * decision encoding below), not a row per line and per change.  The state
 * machine (fsm.h) is the only writer: it opens a transaction per entry
 * (ledger_begin), writes rows through the functions below, and commits.
 * Every write also appends the row's canonical bytes to
 * the entry's change log, whose SHA-256 (ledger_changes_digest) goes into
 * the chain link: the digest covers exactly what the entry changed, in the
 * order it wrote it (account postings and claim transfers, gathered during
 * the entry, are written and logged at flush).  The log is hashed as it
 * grows, with one SHA-256 context.
 *
 * Account balances are kept as posted debits and credits, TigerBeetle
 * fashion.  Within an entry the balance changes, and the claim transfers,
 * are gathered in memory and written once per account (per pair of
 * accounts) at ledger_commit, in account-id order; the balance functions
 * see them before that.
 *
 * Every read that feeds a decision orders its rows (ORDER BY), so the same
 * database gives the same answers everywhere.
 */
#ifndef SETTLE_LEDGER_H
#define SETTLE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/command.h"
#include "settle/enrollment.h"
#include "settle/error.h"
#include "settle/interp.h"

#define LEDGER_HASH_SIZE       32
#define LEDGER_SCHEMA_VERSION  6
#define LEDGER_ACCOUNT_ID_SIZE (16 + COMMAND_PARTICIPANT_ID_SIZE + CLAIM_NPI_SIZE)
#define LEDGER_PAYMENT_ID_SIZE 64
#define LEDGER_REASON_SIZE     256

/* The one settlement account: money comes in from it (funding) and goes out
 * to it (payments); its balance is minus what is inside the ledger. */
#define LEDGER_ACCOUNT_SETTLEMENT "settlement"

typedef struct ledger_s ledger_t;

/*
 * Opens (creating when new) the database at path, or an in-memory one for
 * ":memory:"; sets WAL mode for a file and creates the schema.  Refuses a
 * database of another schema version (SETTLE_ERR_VERSION).  On success the
 * caller owns *ledger_out (ledger_close).
 */
int ledger_open(const char *path, ledger_t **ledger_out, settle_error_t *error);

/*
 * Opens the ledger at path emptied first: whatever the file held (entries,
 * another schema version, pages a power cut left half written) is gone,
 * and the ledger is new, at index 0, in WAL mode.  The file is emptied in
 * place (SQLite's reset: SQLITE_DBCONFIG_RESET_DATABASE and VACUUM), not
 * deleted, so a reader that holds it open sees an empty database rather
 * than a stale unlinked one.  ":memory:" is simply a new ledger.  Fails
 * (SETTLE_ERR_IO, with the path) when the file cannot be opened or
 * emptied, for instance while a reader is in the middle of a transaction.
 * The caller owns *ledger_out (ledger_close).
 */
int ledger_open_fresh(const char *path, ledger_t **ledger_out, settle_error_t *error);

/*
 * Opens a new, empty ledger in memory for a replay that nobody keeps (an
 * auditor's, audit.h).  It holds the same tables and columns and writes
 * the same change log as ledger_open (":memory:"), and the functions here
 * answer the same, but its claims rows are not in SQLite: they are kept in
 * memory (engine/ledger_scratch.c), found by (payer, claim_id) through a
 * hash table (a second row with the same pair is refused,
 * SETTLE_ERR_EXISTS, as the unique index would), taken back by hand on a
 * rollback, and moved there from the table on a restore.  So SQL over its
 * claims table (ledger_check's claim groups, ledger_query.h, a snapshot of
 * it) sees no claims.  Its chain rows hold each link (index, stamp,
 * digest, hash) but a zero-length entry: the replay's caller has the bytes
 * it applied, and nothing reads them back (ledger_chain_entry answers an
 * empty entry).  The caller owns *ledger_out (ledger_close).
 */
int ledger_open_scratch(ledger_t **ledger_out, settle_error_t *error);

/*
 * Opens the ledger file at path read-only (ledger_readonly.c): nothing is
 * created or written, the schema version is checked (SETTLE_ERR_VERSION),
 * and the write functions fail.  Safe beside a node serving the file (WAL:
 * readers and the writer do not block each other).  SETTLE_ERR_IO with the
 * path when the file cannot be opened or is not a ledger.  The caller owns
 * *ledger_out (ledger_close).
 */
int ledger_open_readonly(const char *path, ledger_t **ledger_out, settle_error_t *error);

/* Closes the database (rolling back an open transaction) and nulls the
 * pointer; safe on NULL and twice. */
void ledger_close(ledger_t **self_p);

/* ------------------------------------------------------------------------
 * Transactions and the change log
 * ------------------------------------------------------------------------ */

/* Starts the entry's transaction and empties the change log. */
int ledger_begin(ledger_t *self, settle_error_t *error);

/* Writes the gathered account balances, then commits.  On failure the
 * transaction is rolled back and nothing of the entry remains. */
int ledger_commit(ledger_t *self, settle_error_t *error);

/* Rolls back the entry's transaction and forgets its pending balances.
 * Safe when no transaction is open. */
void ledger_rollback(ledger_t *self);

/*
 * Held commits, for a node: while hold is set, each entry's transaction is
 * a savepoint inside one SQLite transaction (ledger_begin opens it when
 * none is open), ledger_commit releases the savepoint into it and
 * ledger_rollback takes back the entry alone; ledger_flush commits what was
 * released.  This connection reads everything; other connections see the
 * ledger as of the last flush.  ledger_serialize, ledger_snapshot_reader
 * and ledger_replace flush first, and so does ledger_close and turning hold
 * off.  Should SQLite roll the whole transaction back (an I/O error, a full
 * disk), or its commit fail, the entries since the last flush are gone:
 * ledger_lost says so, and every later ledger_begin and ledger_flush fails
 * with SETTLE_ERR_IO (an entry whose rollback fails loses them too: its
 * writes may be in the transaction).  The ledger is then behind what was
 * applied and must be rebuilt (a node starts fresh and replays its Raft
 * log).  Hold is set or cleared between entries only (inside one the call
 * does nothing).
 */
void ledger_hold_commits(ledger_t *self, bool hold);
int ledger_flush(ledger_t *self, settle_error_t *error);
bool ledger_unflushed(const ledger_t *self);
bool ledger_lost(const ledger_t *self);

/*
 * The WAL's checkpoints beside the writer (ledger_wal.c).  A ledger file's
 * writer copies its WAL into the database itself, inside the commit that
 * takes the WAL past LEDGER_WAL_CHECKPOINT_PAGES: tens of megabytes
 * written while the commit waits.  ledger_wal_watch replaces that with fn,
 * called after each commit with the WAL's length in pages, so that a node
 * can have a thread of its own checkpoint (ledger_wal_open, ledger_wal_
 * checkpoint: SQLite's PASSIVE checkpoint, through a connection of its
 * own, while the writer goes on).  fn NULL gives the writer its own
 * checkpoints back.  The WAL starts over from its beginning at the first
 * commit after a checkpoint that copied all of it, when no reader still
 * uses it.
 */
typedef void (*ledger_wal_fn)(void *context, int pages);
void ledger_wal_watch(ledger_t *self, ledger_wal_fn fn, void *context);

typedef struct ledger_wal_s ledger_wal_t;
int ledger_wal_open(const char *path, ledger_wal_t **wal_out, settle_error_t *error);
/* One checkpoint: *left_out is the pages of the WAL it could not copy yet
 * (a reader, or the writer, still needs them; 0: all copied). */
int ledger_wal_checkpoint(ledger_wal_t *self, int *left_out, settle_error_t *error);
void ledger_wal_close(ledger_wal_t **self_p);
/* A checkpoint by the writer itself (from fn, when the WAL has grown too
 * long for the other connection to catch up). */
int ledger_wal_checkpoint_writer(ledger_t *self);

/* Flushes the pending account balances into the change log and the
 * database (ledger_commit does it too; call it before the digest). */
int ledger_flush_accounts(ledger_t *self, settle_error_t *error);

/* SHA-256 of the entry's change log so far. */
int ledger_changes_digest(const ledger_t *self, uint8_t digest_out[LEDGER_HASH_SIZE]);

/* Bytes in the entry's change log: 0 when the entry changed nothing. */
size_t ledger_changes_size(const ledger_t *self);

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

/*
 * Replay protection: a sliding window over each signer's sequence numbers,
 * as IPsec and DTLS keep one.  A participant row holds the highest
 * sequence number it has had accepted (as next_sequence, that number plus
 * one; 0 before any) and a bitmap of the LEDGER_SEQUENCE_WINDOW numbers
 * up to it.  A command's sequence s is new when s is above the highest, or
 * within the window and its bit is clear; a number seen before is a
 * replay, one below the window is too old (it may or may not have been
 * applied: the window has forgotten).  So commands of one signer may
 * arrive in any order within 1024 of each other - a thousand connections
 * sharing one payer key - and each is still applied at most once.
 *
 * The bitmap's bytes (stored in participants.sequence_window, logged in
 * the change log): bit b (value 1 << b) of byte i says whether
 * next_sequence - 1 - (8 * i + b) was accepted; bit 0 of byte 0 is the
 * highest itself.
 */
#define LEDGER_SEQUENCE_WINDOW      1024
#define LEDGER_SEQUENCE_WINDOW_SIZE (LEDGER_SEQUENCE_WINDOW / 8)

typedef struct {
    char id[COMMAND_PARTICIPANT_ID_SIZE];
    uint8_t role; /* command_role_t */
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    char name[COMMAND_DISPLAY_NAME_SIZE];
    char npi[CLAIM_NPI_SIZE];
    uint64_t next_sequence; /* the highest sequence accepted, plus one; 0 before any */
    uint8_t sequence_window[LEDGER_SEQUENCE_WINDOW_SIZE]; /* the numbers below it (above) */
    uint64_t registered_entry; /* the entry that registered it (read; put takes it apart) */
    uint64_t key_entry;        /* the entry public_key came into force at (read only) */
    uint64_t revoked_entry;    /* the entry that revoked it; 0 while it is not (read only) */
} ledger_participant_t;

/* What the window says of a sequence number. */
typedef enum {
    LEDGER_SEQUENCE_NEW,      /* not seen: may be accepted */
    LEDGER_SEQUENCE_REPLAYED, /* accepted before */
    LEDGER_SEQUENCE_TOO_OLD,  /* below the window: refused, seen or not */
    LEDGER_SEQUENCE_TOO_HIGH  /* UINT64_MAX, which would leave no next number */
} ledger_sequence_t;

/* Whether the participant may have sequence accepted.  Pure. */
ledger_sequence_t ledger_sequence_check(const ledger_participant_t *row, uint64_t sequence);

/* Marks sequence accepted in the row (in memory: ledger_participant_advance
 * stores it), sliding the window up when it is the new highest.  The caller
 * has had LEDGER_SEQUENCE_NEW from ledger_sequence_check. */
void ledger_sequence_accept(ledger_participant_t *row, uint64_t sequence);

/* The participant with this id; SETTLE_ERR_NOT_FOUND when there is none. */
int ledger_participant_get(ledger_t *self, const char *id, ledger_participant_t *row_out);

/* Calls fn with every participant, in id order, until fn returns nonzero
 * (the row is fn's only during the call).  SETTLE_OK when every row was
 * read (or fn stopped), SETTLE_ERR_IO when the store fails. */
typedef int (*ledger_participant_fn)(const ledger_participant_t *row, void *context);
int ledger_participant_each(ledger_t *self, ledger_participant_fn fn, void *context);

/* The participant registered with this NPI (a provider): the first by id
 * when several share it.  SETTLE_ERR_NOT_FOUND when none has it (or npi is
 * empty), SETTLE_ERR_IO when the store fails.  A scan of participants, a
 * table of a few thousand rows at most: no index is kept for it. */
int ledger_participant_by_npi(ledger_t *self, const char *npi, ledger_participant_t *row_out);

/* Registers a participant (next_sequence and window as given: zeros for a
 * new one), its key in force from entry_index on (key_entry), not revoked,
 * and the key's first row in participant_keys (from entry_index, position
 * 0: the participant signs nothing before it exists).  SETTLE_ERR_EXISTS
 * when the id is taken. */
int ledger_participant_put(ledger_t *self, const ledger_participant_t *row, uint64_t entry_index,
                           settle_error_t *error);

/* Stores the row's sequence state (next_sequence and window, after
 * ledger_sequence_accept) for the participant row->id. */
int ledger_participant_advance(ledger_t *self, const ledger_participant_t *row,
                               settle_error_t *error);

/*
 * Key history (participant_keys): one row per key a participant has had.
 * A key verifies the participant's commands after (from_entry,
 * from_position) - the command that brought it in, signed with the key
 * before - up to and including (to_entry, to_position), the command that
 * rotated it out or revoked it, signed with it; to_entry 0 while it is in
 * force.
 */
typedef struct {
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    uint64_t from_entry;
    uint32_t from_position;
    uint64_t to_entry; /* 0: in force */
    uint32_t to_position;
} ledger_key_t;

/*
 * Replaces the participant's key in force by public_key at the command at
 * (entry_index, position): participants.public_key and key_entry, the old
 * key's row closed there ('R' in the change log), a new row opened there
 * ('Q').
 * SETTLE_ERR_NOT_FOUND when there is no such participant.
 */
int ledger_participant_rotate(ledger_t *self, const char *id,
                              const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE], uint64_t entry_index,
                              uint32_t position, settle_error_t *error);

/* Marks the participant revoked at the command at (entry_index, position)
 * (revoked_entry) and closes its key's row there.  Logged as one 'Z' row.
 * SETTLE_ERR_NOT_FOUND when there is no such participant. */
int ledger_participant_revoke(ledger_t *self, const char *id, uint64_t entry_index,
                              uint32_t position, settle_error_t *error);

/* The key that verified (or would verify) the participant's command at
 * (entry_index, position), by the rule above: for an auditor checking an
 * old signature.  SETTLE_ERR_NOT_FOUND when no key of it covers that
 * command. */
int ledger_participant_key_at(ledger_t *self, const char *id, uint64_t entry_index,
                              uint32_t position, ledger_key_t *key_out);

/* How many participants are registered. */
int ledger_participant_count(ledger_t *self, uint64_t *count_out);

typedef struct {
    uint8_t hash[LEDGER_HASH_SIZE]; /* SHA-256 of the YAML: the contract's ledger id */
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    char contract_id[CONTRACT_ID_SIZE];
    char version[CONTRACT_ID_SIZE];
    int32_t effective_from;
    int32_t effective_to;
    const uint8_t *yaml; /* not owned */
    size_t yaml_size;
} ledger_contract_t;

/* Stores a deployed contract; SETTLE_ERR_EXISTS when its hash, or its
 * payer, id and version, are already deployed. */
int ledger_contract_put(ledger_t *self, const ledger_contract_t *row, uint64_t entry_index,
                        settle_error_t *error);

/* Calls each for every contract, in deployment order; the row and its YAML
 * are valid only for the call.  A nonzero return stops and is returned. */
typedef int (*ledger_contract_fn)(const ledger_contract_t *row, void *context);
int ledger_contract_each(ledger_t *self, ledger_contract_fn each, void *context,
                         settle_error_t *error);

/* Enrolls a member of payer, replacing an earlier record of the same id. */
int ledger_member_put(ledger_t *self, const char *payer, const enrollment_member_t *member,
                      uint64_t entry_index, settle_error_t *error);

/* Calls each for every member, ordered by payer then member id. */
typedef int (*ledger_member_fn)(const char *payer, const enrollment_member_t *member,
                                void *context);
int ledger_member_each(ledger_t *self, const char *payer, ledger_member_fn each, void *context,
                       settle_error_t *error);

/* Settlement states of a claim. */
#define LEDGER_SETTLEMENT_NONE    "none"    /* rejected: never payable */
#define LEDGER_SETTLEMENT_PAYABLE "payable" /* waiting for a payment cycle */
#define LEDGER_SETTLEMENT_PAID    "paid"    /* in a payment */

typedef struct {
    int64_t row; /* the claim's row number, set by ledger_claim_put */
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    char claim_id[CLAIM_ID_SIZE];
    char billing_npi[CLAIM_NPI_SIZE];
    uint8_t frequency;
    char related_claim_id[CLAIM_REFERENCE_SIZE];
    uint8_t content_hash[LEDGER_HASH_SIZE];
    /* The ledger id (contracts.hash: the SHA-256 of its YAML) of the
     * contract that decided the claim (interp_decision_t.contract).  All
     * zeros when no contract did: a claim rejected before the interpreter,
     * or one the interpreter decided without reaching a contract (member
     * unknown, a correction of nothing, a void, every line out of
     * coverage); the column then holds a zero-length blob. */
    uint8_t contract_hash[LEDGER_HASH_SIZE];
    uint64_t entry_index;
    uint8_t status;                  /* interp_status_t */
    char reason[LEDGER_REASON_SIZE]; /* why it was rejected without a decision, or "" */
    int64_t billed_cents;
    int64_t allowed_cents;
    int64_t paid_cents;
    int64_t patient_cents;
    /* What the claim changes in what the payer owes the provider: paid for
     * an original, minus the original's paid for a void, the difference for
     * a replacement.  The transfer of its entry, provider and sign
     * carries exactly this. */
    int64_t net_cents;
    char settlement[8];
    char payment_id[LEDGER_PAYMENT_ID_SIZE];
    char voided_by[CLAIM_ID_SIZE];
} ledger_claim_t;

/*
 * The decision encoding, version 1: what the claims row's decision column
 * holds, and what the change log and an auditor compare byte for byte.
 *
 *   "SDEC" u16:version(1)
 *   u16:line_count { u32:line str:code 9 x i64:(units_milli units_milli_paid
 *                    billed allowed deductible copay coinsurance paid patient)
 *                    u8:flags(denied_in_full << 1 | denied_in_part)
 *                    u8:adjustment_count { str:group str:reason i64:amount_cents } }
 *   u16:change_count { u8:kind i32:year str:key str:benefit i64:amount }
 *
 * str is a u16 big-endian length and printable ASCII; integers big-endian.
 * One decision has one encoding: the decoder refuses what the encoder
 * would not write (counts past their limits, flags or kinds out of range,
 * trailing bytes).  The claim-level fields (status, totals, related claim)
 * are columns of the row, not part of the blob.
 */
#define LEDGER_DECISION_VERSION 1

/* Encodes decision's lines and the changes (NULL: none) into a new buffer
 * the caller frees with settle_free.  SETTLE_ERR_INVALID for a value the
 * decoder would refuse, SETTLE_ERR_NOMEM. */
int ledger_decision_encode(const interp_decision_t *decision, const interp_changes_t *changes,
                           uint8_t **bytes_out, size_t *size_out);

/* Decodes into decision's lines (decision made by interp_decision_new; the
 * claim-level fields are left alone) and changes.  SETTLE_ERR_CORRUPT,
 * SETTLE_ERR_TRUNCATED, SETTLE_ERR_VERSION, SETTLE_ERR_TOO_LONG with where. */
int ledger_decision_decode(const uint8_t *bytes, size_t size, interp_decision_t *decision,
                           interp_changes_t *changes, settle_error_t *error);

/* Stores a claim's row (row->row is set) without a decision: a claim
 * rejected before the interpreter.  SETTLE_ERR_EXISTS when the payer
 * already has this claim id. */
int ledger_claim_put(ledger_t *self, ledger_claim_t *row, settle_error_t *error);

/* Stores a claim's row with its decision (lines, adjustments) and its
 * accumulator changes in one insert; decision NULL is ledger_claim_put. */
int ledger_claim_put_decided(ledger_t *self, ledger_claim_t *row, const interp_decision_t *decision,
                             const interp_changes_t *changes, settle_error_t *error);

/* Sets the decision of a claim stored without one (the two-step form of
 * ledger_claim_put_decided, kept for callers written before it). */
int ledger_claim_details_put(ledger_t *self, const ledger_claim_t *claim,
                             const interp_decision_t *decision, const interp_changes_t *changes,
                             settle_error_t *error);

/* The decision and accumulator changes stored for the payer's claim, with
 * the claim-level fields filled from the row; SETTLE_ERR_NOT_FOUND when
 * there is no such claim or it has no decision. */
int ledger_claim_decision(ledger_t *self, const char *payer, const char *claim_id,
                          interp_decision_t *decision_out, interp_changes_t *changes_out,
                          settle_error_t *error);

/* The payer's claim with this id; SETTLE_ERR_NOT_FOUND when there is none. */
int ledger_claim_get(ledger_t *self, const char *payer, const char *claim_id,
                     ledger_claim_t *row_out);

/* A hint, changing nothing: starts loading the first memory
 * ledger_claim_get reads for this id (a word of the claim filter,
 * megabytes wide), so that a batch's next claim need not wait for it. */
void ledger_claim_prefetch(const ledger_t *self, const char *payer, const char *claim_id);

/* Records that voiding_claim_id voided or replaced the payer's claim_id. */
int ledger_claim_mark_voided(ledger_t *self, const char *payer, const char *claim_id,
                             const char *voiding_claim_id, settle_error_t *error);

/* Calls each, in row order, for every claim that the interpreter keeps in
 * its history (not rejected, not a void), with its decision (lines and
 * adjustments) and its accumulator changes; for rebuilding the
 * interpreter's state.  The arguments are valid only for the call. */
typedef int (*ledger_history_fn)(const char *payer, const interp_decision_t *decision,
                                 const interp_changes_t *changes, bool voided, void *context);
int ledger_history_each(ledger_t *self, ledger_history_fn each, void *context,
                        settle_error_t *error);

/* Like ledger_history_each, but for every claim that has a decision,
 * rejected ones and voids included: one pass gives both the accumulator
 * totals (the sum of every change) and the history (the claims that are
 * neither rejected nor voids). */
int ledger_decision_each(ledger_t *self, ledger_history_fn each, void *context,
                         settle_error_t *error);

/* Calls each with every accumulator total (the sum of its changes), ordered
 * by payer, kind, year, key and benefit. */
typedef int (*ledger_total_fn)(const char *payer, const interp_accumulator_t *total, void *context);
int ledger_total_each(ledger_t *self, ledger_total_fn each, void *context, settle_error_t *error);

/* ------------------------------------------------------------------------
 * Accounts, transfers, payments
 * ------------------------------------------------------------------------ */

/* The account ids: "funding/PAYER" and "payable/PAYER/NPI". */
void ledger_account_funding(const char *payer, char id_out[LEDGER_ACCOUNT_ID_SIZE]);
void ledger_account_payable(const char *payer, const char *npi,
                            char id_out[LEDGER_ACCOUNT_ID_SIZE]);

/* Transfer kinds. */
#define LEDGER_TRANSFER_FUND     "fund"     /* settlement -> payer funding */
#define LEDGER_TRANSFER_CLAIM    "claim"    /* payer funding -> provider payable (net > 0) */
#define LEDGER_TRANSFER_REVERSAL "reversal" /* provider payable -> payer funding (net < 0) */
#define LEDGER_TRANSFER_PAYMENT  "payment"  /* provider payable -> settlement */

typedef struct {
    const char *debit_account;
    const char *credit_account;
    int64_t amount_cents; /* positive */
    const char *kind;
    const char *payer;
    const char *claim_id;   /* "" when none */
    const char *payment_id; /* "" when none */
    uint64_t entry_index;
} ledger_transfer_t;

/* Records a transfer and posts it to both accounts (which are created on
 * first use).  Claim and reversal transfers are gathered per entry: one row
 * per pair of accounts and kind, with the sum and the number of claims,
 * written at ledger_flush_accounts (their claim_id is not kept: the claim's
 * row says which transfer carries it).  Other kinds are one row each.
 * SETTLE_ERR_RANGE for an amount that is not positive or an account
 * debited and credited at once, SETTLE_ERR_OVERFLOW when a posted total
 * would overflow. */
int ledger_transfer(ledger_t *self, const ledger_transfer_t *transfer, settle_error_t *error);

/* An account's balance, credits minus debits, pending changes included;
 * 0 for an account never used. */
int ledger_account_balance(ledger_t *self, const char *account, int64_t *balance_cents_out);

/* What a payer can still pay out: what it funded minus what it paid out,
 * the sum of the balances of its funding and payable accounts (pending
 * postings included). */
int ledger_payer_available(ledger_t *self, const char *payer, int64_t *cents_out);

/* A provider with claims waiting for payment from a payer. */
typedef struct {
    char npi[CLAIM_NPI_SIZE];
    int64_t total_cents; /* sum of the claims' net amounts (voids negative) */
    uint32_t claim_count;
} ledger_payable_t;

/* Calls each for every provider with payable claims from payer, by NPI. */
typedef int (*ledger_payable_fn)(const ledger_payable_t *payable, void *context);
int ledger_payable_each(ledger_t *self, const char *payer, ledger_payable_fn each, void *context,
                        settle_error_t *error);

typedef struct {
    char payment_id[LEDGER_PAYMENT_ID_SIZE]; /* the trace number */
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    char npi[CLAIM_NPI_SIZE];
    int64_t total_cents;
    uint32_t claim_count;
    uint64_t entry_index;
} ledger_payment_t;

/* Stores a payment and moves the provider's payable claims from payer
 * into it (settlement "paid", payment_id set). */
int ledger_payment_put(ledger_t *self, const ledger_payment_t *payment, settle_error_t *error);

/* ------------------------------------------------------------------------
 * Commands and the chain
 * ------------------------------------------------------------------------ */

/* Records an applied command's outcome (the signed bytes are in the entry). */
int ledger_command_put(ledger_t *self, uint64_t entry_index, uint32_t position,
                       const command_t *command, bool accepted, const char *reason,
                       settle_error_t *error);

/* Appends the chain link of an entry. */
int ledger_chain_put(ledger_t *self, uint64_t entry_index, uint64_t timestamp_ms,
                     const uint8_t *entry, size_t entry_size,
                     const uint8_t changes_digest[LEDGER_HASH_SIZE],
                     const uint8_t hash[LEDGER_HASH_SIZE], settle_error_t *error);

/* The last link: its index (0 and a hash of zeros when the chain is empty). */
int ledger_head(ledger_t *self, uint64_t *index_out, uint8_t hash_out[LEDGER_HASH_SIZE]);

/* The hash of the link at entry_index: SETTLE_ERR_NOT_FOUND when the chain
 * has no such link, SETTLE_ERR_IO when it cannot be read. */
int ledger_link_hash(ledger_t *self, uint64_t entry_index, uint8_t hash_out[LEDGER_HASH_SIZE]);

/* A checkpoint as stored (ledger_checkpoint.c). */
typedef struct {
    uint64_t entry_index; /* the entry whose command recorded it */
    uint32_t position;    /* that command's place in the entry */
    char signer[COMMAND_PARTICIPANT_ID_SIZE];
    uint64_t chain_index; /* the link vouched for */
    uint8_t hash[LEDGER_HASH_SIZE];
} ledger_checkpoint_t;

/* Records a checkpoint (the caller checked it: fsm.h); logged as one 'H'
 * row. */
int ledger_checkpoint_put(ledger_t *self, const ledger_checkpoint_t *row, settle_error_t *error);

/* How many checkpoints the ledger holds and the highest link they vouch
 * for (0 and 0 when none). */
int ledger_checkpoint_summary(ledger_t *self, uint64_t *count_out, uint64_t *last_index_out);

/* ------------------------------------------------------------------------
 * Checks, counts, snapshots
 * ------------------------------------------------------------------------ */

/* Rows in a table (participants, participant_keys, contracts, members, claims, accounts,
 * transfers, payments, commands, chain), or the lines, adjustments and
 * accumulator changes held in the claims' decisions (claim_lines,
 * claim_adjustments, accumulator_changes: counted by decoding them);
 * SETTLE_ERR_INVALID for another name. */
int ledger_row_count(ledger_t *self, const char *table, uint64_t *count_out);

/*
 * The accounting invariants: every transfer positive; the sum of debits
 * equals the sum of credits, over transfers and over accounts; each
 * account's posted totals equal its transfers; the claims that move money,
 * grouped by entry, payer, provider and the sign of their net, each group
 * have exactly one claim (or reversal) transfer, of the group's total and
 * count, and every such transfer has its group; every paid claim's payment
 * exists, and every payment's total is the sum of its claims.
 * SETTLE_ERR_CORRUPT with the first broken one.
 */
int ledger_check(ledger_t *self, settle_error_t *error);

/*
 * A read-only connection to the ledger's file holding a read transaction
 * open on the state as it is now (WAL: the writer goes on committing
 * meanwhile), for ledger_serialize on another thread: a snapshot taken
 * beside the Raft loop instead of on it.  Close it with ledger_close.
 * SETTLE_ERR_INVALID for a ledger in memory or inside an entry.
 */
int ledger_snapshot_reader(ledger_t *self, ledger_t **reader_out, settle_error_t *error);

/* The whole database as bytes (sqlite3_serialize), in a new buffer the
 * caller frees with settle_free. */
int ledger_serialize(ledger_t *self, uint8_t **bytes_out, size_t *size_out, settle_error_t *error);

/* The same bytes in SQLite's own buffer, freed with ledger_image_free: one
 * copy of the whole database fewer (a node's snapshot, raft_fsm.c). */
int ledger_serialize_image(ledger_t *self, uint8_t **image_out, size_t *size_out,
                           settle_error_t *error);
void ledger_image_free(uint8_t *image);

/*
 * Opens a copy of snapshot bytes as a new in-memory ledger, checking that it
 * is a sound database of this schema version.  The caller owns the result.
 */
int ledger_open_snapshot(const uint8_t *bytes, size_t size, ledger_t **ledger_out,
                         settle_error_t *error);

/* Replaces self's whole content by source's, in one transaction on self
 * (sqlite3_backup): either all of it or, on failure, none. */
int ledger_replace(ledger_t *self, ledger_t *source, settle_error_t *error);

#endif
