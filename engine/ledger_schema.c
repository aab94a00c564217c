/*
 * ledger_schema.c - the ledger's tables, as SQL.  engine/README.md ("The
 * ledger") explains each table; a change here is a new
 * LEDGER_SCHEMA_VERSION.
 *
 * Amounts are integer cents, dates are day numbers (date.h), hashes and keys
 * are raw bytes.  Rows are never deleted: a void is a new claim that points
 * at the one it voids, a payment moves claims from payable to paid.
 *
 * Version 2: a claim's lines, adjustments and accumulator changes are the
 * canonical decision blob in claims.decision (ledger.h), no longer three
 * tables of their own (claim_lines, claim_adjustments, accumulator_changes
 * and the view accumulator_totals are gone): eleven inserts per claim were
 * half the time of apply.  And the claim and reversal transfers of an
 * entry are one row per pair of accounts, carrying claim_count claims (the
 * claims row says which: its entry, provider and the sign of its net).
 *
 * Version 3: participants.sequence_window, the replay window over each
 * signer's sequence numbers (ledger.h): commands of one signer may be
 * applied out of order, each once.
 *
 * Version 4: keys rotate and are revoked by command (fsm.h).
 * participants.public_key is the key in force, key_entry the entry it came
 * into force at, revoked_entry the entry that revoked the participant (0:
 * not revoked); participant_keys keeps every key a participant has had and
 * the commands it verified, so an auditor can check an old signature with
 * the key in force when it was made.
 *
 * Version 5: checkpoints, a node's signed word that a chain link has a
 * hash (command.h, fsm.h): the signer, the link's index (chain_index) and
 * hash, and the command that made it (entry_index, position).
 *
 * Version 6: claims.contract_hash, the ledger id (contracts.hash) of the
 * contract that decided the claim; a zero-length blob when no contract
 * did (rejected before the interpreter, or decided without reaching one:
 * ledger.h, ledger_claim_t).  Logged with the row, so the chain covers it.
 */
#include "ledger_internal.h"

/* The tables before claims, claims (with or without the unique key on
 * payer and claim id, below), and the rest. */
#define S_SCHEMA_BEFORE_CLAIMS                                                                     \
    "CREATE TABLE IF NOT EXISTS meta ("                                                            \
    "  key TEXT PRIMARY KEY, value INTEGER NOT NULL);"                                             \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS chain ("                                                           \
    "  entry_index INTEGER PRIMARY KEY, timestamp_ms INTEGER NOT NULL,"                            \
    "  entry BLOB NOT NULL, changes_digest BLOB NOT NULL, hash BLOB NOT NULL);"                    \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS commands ("                                                        \
    "  entry_index INTEGER NOT NULL, position INTEGER NOT NULL,"                                   \
    "  participant TEXT NOT NULL, sequence INTEGER NOT NULL, type TEXT NOT NULL,"                  \
    "  accepted INTEGER NOT NULL, reason TEXT NOT NULL,"                                           \
    "  PRIMARY KEY (entry_index, position)) WITHOUT ROWID;"                                        \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS participants ("                                                    \
    "  id TEXT PRIMARY KEY, role INTEGER NOT NULL, public_key BLOB NOT NULL,"                      \
    "  name TEXT NOT NULL, npi TEXT NOT NULL, next_sequence INTEGER NOT NULL,"                     \
    "  sequence_window BLOB NOT NULL, entry_index INTEGER NOT NULL,"                               \
    "  key_entry INTEGER NOT NULL, revoked_entry INTEGER NOT NULL) WITHOUT ROWID;"                 \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS participant_keys ("                                                \
    "  participant TEXT NOT NULL, from_entry INTEGER NOT NULL, from_position INTEGER NOT NULL,"    \
    "  public_key BLOB NOT NULL, to_entry INTEGER NOT NULL, to_position INTEGER NOT NULL,"         \
    "  PRIMARY KEY (participant, from_entry, from_position)) WITHOUT ROWID;"                       \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS contracts ("                                                       \
    "  deployment INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, payer TEXT NOT NULL,"            \
    "  contract_id TEXT NOT NULL, version TEXT NOT NULL,"                                          \
    "  effective_from INTEGER NOT NULL, effective_to INTEGER NOT NULL,"                            \
    "  entry_index INTEGER NOT NULL, yaml BLOB NOT NULL,"                                          \
    "  UNIQUE (payer, contract_id, version));"                                                     \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS members ("                                                         \
    "  payer TEXT NOT NULL, member_id TEXT NOT NULL, family TEXT NOT NULL,"                        \
    "  contract_id TEXT NOT NULL, birth_date INTEGER NOT NULL, sex TEXT NOT NULL,"                 \
    "  coverage_from INTEGER NOT NULL, coverage_to INTEGER NOT NULL,"                              \
    "  entry_index INTEGER NOT NULL,"                                                              \
    "  PRIMARY KEY (payer, member_id)) WITHOUT ROWID;"

#define S_SCHEMA_CLAIMS(unique)                                                                    \
    "CREATE TABLE IF NOT EXISTS claims ("                                                          \
    "  claim_row INTEGER PRIMARY KEY, payer TEXT NOT NULL, claim_id TEXT NOT NULL,"                \
    "  billing_npi TEXT NOT NULL, frequency INTEGER NOT NULL,"                                     \
    "  related_claim_id TEXT NOT NULL, content_hash BLOB NOT NULL,"                                \
    "  contract_hash BLOB NOT NULL,"                                                               \
    "  entry_index INTEGER NOT NULL, status INTEGER NOT NULL, reason TEXT NOT NULL,"               \
    "  billed_cents INTEGER NOT NULL, allowed_cents INTEGER NOT NULL,"                             \
    "  paid_cents INTEGER NOT NULL, patient_cents INTEGER NOT NULL, net_cents INTEGER NOT NULL,"   \
    "  settlement TEXT NOT NULL, payment_id TEXT NOT NULL, voided_by TEXT NOT NULL,"               \
    "  decision BLOB NOT NULL" unique ");"

#define S_SCHEMA_AFTER_CLAIMS                                                                      \
    "CREATE TABLE IF NOT EXISTS accounts ("                                                        \
    "  id TEXT PRIMARY KEY, kind TEXT NOT NULL, payer TEXT NOT NULL, npi TEXT NOT NULL,"           \
    "  debits_cents INTEGER NOT NULL, credits_cents INTEGER NOT NULL) WITHOUT ROWID;"              \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS transfers ("                                                       \
    "  transfer_row INTEGER PRIMARY KEY, entry_index INTEGER NOT NULL,"                            \
    "  debit_account TEXT NOT NULL, credit_account TEXT NOT NULL,"                                 \
    "  amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),"                                    \
    "  kind TEXT NOT NULL, payer TEXT NOT NULL, claim_id TEXT NOT NULL,"                           \
    "  payment_id TEXT NOT NULL, claim_count INTEGER NOT NULL,"                                    \
    "  CHECK (debit_account <> credit_account));"                                                  \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS checkpoints ("                                                     \
    "  entry_index INTEGER NOT NULL, position INTEGER NOT NULL, signer TEXT NOT NULL,"             \
    "  chain_index INTEGER NOT NULL, hash BLOB NOT NULL,"                                          \
    "  PRIMARY KEY (entry_index, position)) WITHOUT ROWID;"                                        \
                                                                                                   \
    "CREATE TABLE IF NOT EXISTS payments ("                                                        \
    "  payment_id TEXT PRIMARY KEY, payer TEXT NOT NULL, npi TEXT NOT NULL,"                       \
    "  total_cents INTEGER NOT NULL, claim_count INTEGER NOT NULL,"                                \
    "  entry_index INTEGER NOT NULL) WITHOUT ROWID;"

const char ledger_schema_sql[] =
    S_SCHEMA_BEFORE_CLAIMS S_SCHEMA_CLAIMS(", UNIQUE (payer, claim_id)") S_SCHEMA_AFTER_CLAIMS;

/*
 * A scratch ledger's (ledger_open_scratch, ledger.h): the same tables and
 * columns, but claims without the unique index on (payer, claim_id).  The
 * scratch ledger finds a claim by its id through a hash table of its own
 * (ledger_scratch.c) and enforces the key there; the unique index cost
 * about a third of each claim's insert, and a scratch ledger is a replay
 * nobody keeps (an auditor's).  Neither schema has the partial index of
 * payable claims that ledgers made by earlier builds have (claims_payable):
 * every ledger keeps its payable claims per provider in memory instead
 * (ledger_payable.c).
 */
const char ledger_schema_scratch_sql[] =
    S_SCHEMA_BEFORE_CLAIMS S_SCHEMA_CLAIMS("") S_SCHEMA_AFTER_CLAIMS;
