/*
 * fsm.h - the replicated state machine: applies committed entries to the
 * ledger, the same way on every node.
 *
 * Every node applies every committed entry, in log order, with this code:
 * check each command's signer, role and sequence number; apply it (register,
 * deploy, enroll, adjudicate a batch, fund, pay); write everything the entry
 * changed and the next chain link in one SQLite transaction.  Apply reads no
 * clock but the entry's timestamp, uses no floating point and no randomness,
 * and orders every query, so the same entries give the same bytes and the
 * same head hash on every machine (checked by tests/checksrc for fsm* and
 * ledger*).
 *
 * Signatures are checked once, by the leader, before a command enters the
 * log (fsm_check_command); apply trusts the log (Raft tolerates crashes, not
 * lies) unless fsm_verify_signatures asks it to check them again, as an
 * auditor's replay does.
 *
 * Who may do what (a command whose signer's role does not allow it is
 * rejected):
 *
 *   command    signer
 *   register   "genesis" in the first entry only; afterwards a node
 *   deploy     a payer, for a contract whose payer is itself
 *   enroll     a payer, for its own members
 *   batch      a payer, for a batch (and claims) naming itself as payer
 *   fund       a payer, for its own funding account
 *   pay        a payer, for its own providers
 *   rotate     anyone, for its own key only, to a key it proves it holds
 *   revoke     anyone, to revoke itself; a node, to revoke anyone
 *   checkpoint a node, for a link already in the chain
 *
 * Providers and auditors change nothing else (they read; see issue 7).
 *
 * Least knowledge (phi.h): an enroll whose members are not enrolled by
 * member key (ids and families) or that carries a birth date, and a batch
 * with a claim whose member id is not a member key or that carries a
 * birth date, a name or an address in the clear, or no sealed
 * identifiers, are refused whole (SETTLE_ERR_INVALID, the reason naming
 * the member or claim and what is in the clear), changing nothing.
 *
 * Keys: a rotate replaces the signer's key (participants.public_key, the
 * key ledger_participant_get returns and the node's intake verifies
 * against) from the next command on, even within the same entry; the
 * rotate itself is signed with the old key.  Apply trusts the leader's
 * signature check except for a signer whose key has been rotated: its
 * commands are verified again in apply, since the leader may have checked
 * one against a key that a rotation committed ahead of it has retired.
 * A new key equal to the one in force is refused, and so is a rotate
 * whose proof of possession (command.h: the new key's signature over the
 * participant, the key in force, the new key and the rotate's sequence
 * number) does not verify, as SETTLE_ERR_SIGNATURE "rotate N of ID: the
 * new key's proof of possession does not verify"; a proof missing or all
 * zeros does not decode.  The proof is checked in apply on every node,
 * whatever fsm_verify_signatures says: it is part of what the payload
 * must be, like a contract that compiles.  A refused rotate changes
 * nothing: key, key history and sequence window.  A revoke is final:
 * every later command of the revoked participant - a rotate, a revoke, a
 * command in the same entry - is refused, at the leader and in apply, as
 * "ID was revoked at entry N" (SETTLE_ERR_UNKNOWN_KEY), and changes
 * nothing; its id stays taken, so a party whose key is lost or stolen is
 * registered again under a new id.  A node may revoke any participant,
 * itself and other nodes included: nodes are the operators of the ledger
 * and trusted as such (Raft's model; SECURITY.md).  Revoking a revoked
 * participant is refused (SETTLE_ERR_EXISTS), as is an unknown one
 * (SETTLE_ERR_NOT_FOUND).  The ledger keeps every key with the commands
 * it covered (participant_keys, ledger.h), for an auditor.
 *
 * Checkpoints: a node signs (index, hash) of a chain link (command.h);
 * apply accepts it only when the chain holds a link at that index, at or
 * below the head the entry starts from, with exactly that hash, and
 * records it (the checkpoints table: signer, link index and hash, the
 * entry and position of the command).  A link beyond the head (the
 * entry's own link included: its hash covers the checkpoint) is refused
 * as SETTLE_ERR_RANGE, a hash that is not the link's as
 * SETTLE_ERR_INVALID; either changes nothing.  The same link may be
 * checkpointed more than once, by one node or several.  A leader
 * proposes one every checkpoint_interval links (node.h).
 *
 * Sequence numbers: each signer's commands are applied at most once each,
 * in any order within a window of 1024 (ledger.h, "Replay protection"): a
 * number above the highest applied, or below it but not yet seen and
 * within the window, is accepted; a number seen before is refused as
 * "replayed sequence ..." (SETTLE_ERR_EXISTS: an earlier copy was
 * applied), one further down as "... too old" (SETTLE_ERR_RANGE: the
 * window no longer knows).  A refused command leaves its number unseen.
 * The genesis commands alone must come in order, 0, 1, 2..., in the first
 * entry.
 *
 * The hash chain: an entry that changes anything gets the link
 *
 *   hash(i) = SHA-256(hash(i-1) || entry bytes || changes digest)
 *
 * with hash(0) 32 zero bytes, and the changes digest the SHA-256 of the
 * canonical bytes of every row the entry wrote, in the order it wrote them
 * (ledger.h).  An entry whose commands were all rejected changes nothing
 * and gets no link: the head stays where it was.
 */
#ifndef SETTLE_FSM_H
#define SETTLE_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/command.h"
#include "settle/error.h"
#include "settle/interp.h"
#include "settle/ledger.h"

#define FSM_HASH_SIZE   LEDGER_HASH_SIZE
#define FSM_REASON_SIZE LEDGER_REASON_SIZE

typedef struct fsm_s fsm_t;

/* One command's outcome. */
typedef struct {
    uint32_t position; /* in the entry */
    uint8_t type;      /* command_type_t, 0 when the command did not decode */
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    uint64_t sequence;
    bool accepted;
    int code;                     /* SETTLE_OK when accepted; why not otherwise */
    char reason[FSM_REASON_SIZE]; /* "" when accepted */
    uint32_t claim_first;         /* its claims in fsm_results_t.claims */
    uint32_t claim_count;
    uint32_t payment_first; /* its payments in fsm_results_t.payments */
    uint32_t payment_count;
} fsm_command_result_t;

/* One claim's answer: the first answer again for a duplicate. */
typedef struct {
    char claim_id[CLAIM_ID_SIZE];
    char billing_npi[CLAIM_NPI_SIZE]; /* the provider it is answered to */
    uint8_t status;                   /* interp_status_t */
    bool duplicate;
    int64_t billed_cents;
    int64_t paid_cents;
    int64_t net_cents;
    char reason[FSM_REASON_SIZE]; /* why it was rejected without a decision, or "" */
} fsm_claim_result_t;

/* One provider's outcome in a payment cycle. */
typedef struct {
    char npi[CLAIM_NPI_SIZE];
    bool paid;
    char payment_id[LEDGER_PAYMENT_ID_SIZE]; /* the trace number, when paid */
    int64_t total_cents;
    uint32_t claim_count;
    char reason[FSM_REASON_SIZE]; /* why not paid, or "" */
} fsm_payment_result_t;

/* What an entry did.  Made by fsm_results_new, reused entry after entry;
 * the arrays are owned by the record. */
typedef struct {
    uint64_t entry_index; /* the link it made, or the head it left when !changed */
    bool changed;
    uint64_t timestamp_ms;                 /* the entry's stamp, as decoded */
    uint8_t changes_digest[FSM_HASH_SIZE]; /* the link it made (when changed): its digest */
    uint8_t hash[FSM_HASH_SIZE];           /* and its hash */
    uint32_t command_count;
    fsm_command_result_t *commands;
    uint32_t claim_count;
    fsm_claim_result_t *claims;
    uint32_t payment_count;
    fsm_payment_result_t *payments;
    uint32_t command_capacity;
    uint32_t claim_capacity;
    uint32_t payment_capacity;
} fsm_results_t;

/* A new, empty results record, or NULL when out of memory. */
fsm_results_t *fsm_results_new(void);

/* Frees the record and nulls the pointer; safe on NULL and twice. */
void fsm_results_destroy(fsm_results_t **self_p);

/*
 * Opens the state machine over the ledger at path (":memory:" for one in
 * memory), rebuilding the in-memory state - compiled contracts, enrollments,
 * accumulator totals and claim history - from what the ledger holds.  The
 * caller owns *fsm_out (fsm_destroy).
 */
int fsm_open(const char *path, fsm_t **fsm_out, settle_error_t *error);

/*
 * Opens the state machine over an emptied ledger at path: head 0, no
 * participants, nothing cached (ledger_open_fresh empties the file in
 * place).  This is how a node starts, every time:
 *
 *   fsm_open_fresh (data_dir "/ledger.sqlite", &fsm, &error);
 *   raft_fsm_new (fsm, ...);  raft_init (...);  raft_start (...);
 *
 * raft_start then hands the last snapshot, if any, to fsm_restore and the
 * committed entries after it, in order, to fsm_apply, so the ledger is
 * rebuilt from what libraft holds - the only durable copy.  The ledger
 * file is derived state: it is written without fsync (ledger.c), and an
 * old one is never trusted, since libraft re-applies every entry after its
 * snapshot whatever the ledger already holds, and an entry applied twice
 * would be a different chain (its commands refused the second time as
 * replays).  fsm_open is for readers of a ledger at rest (settle show, an
 * auditor) and for tests.  The caller owns *fsm_out (fsm_destroy).
 */
int fsm_open_fresh(const char *path, fsm_t **fsm_out, settle_error_t *error);

/*
 * Opens the state machine over a new scratch ledger in memory
 * (ledger_open_scratch): the same state, the same results and links as
 * over ":memory:" (its chain rows keep no entry bytes), with claims found
 * through a hash table rather than SQLite's unique index, for a replay
 * nobody keeps (audit.h).  The caller owns *fsm_out (fsm_destroy).
 */
int fsm_open_scratch(fsm_t **fsm_out, settle_error_t *error);

/* Closes the ledger, frees everything, nulls the pointer; safe twice. */
void fsm_destroy(fsm_t **self_p);

/* Whether apply checks every signature again (default: no). */
void fsm_verify_signatures(fsm_t *self, bool verify);

/*
 * Checks ahead, in one batch (sign_verify_batch), the signatures of the
 * commands of entries[0..count), which must be the next entries fsm_apply
 * will be given, in order: each against its signer's key in the state as
 * it is now.  fsm_apply then does not check again a command found good
 * here whose signer's key is still that key; any other - a signer
 * registered or rotated within these entries, a bad signature - is
 * checked in apply as always, so the outcomes are exactly those of
 * checking each in apply.  For an auditor's replay: the batch costs a
 * fraction of checking one by one.  SETTLE_ERR_NOMEM (nothing checked
 * ahead) is the only failure.
 */
int fsm_verify_ahead(fsm_t *self, const uint8_t *const *entries, const size_t *sizes,
                     size_t count, settle_error_t *error);

/*
 * The leader's check before a command enters the log: the command decodes,
 * its signer is registered (or it is a genesis registration on an empty
 * ledger), its role allows the type, its sequence number is new to the
 * signer's window in the applied state (the rule above: a replay is
 * SETTLE_ERR_EXISTS, a number too old SETTLE_ERR_RANGE), and its signature
 * verifies.  SETTLE_OK or the reason, in reason.  Changes nothing; two
 * copies in flight both pass, and apply refuses the second.
 */
int fsm_check_command(fsm_t *self, const uint8_t *bytes, size_t size, settle_error_t *reason);

/* fsm_check_command without verifying the signature, for a command whose
 * signature was verified already against the same signer's key (the
 * node's intake does it: its thread for runs of submits, beside the Raft
 * loop, or the loop for a lone one). */
int fsm_check_command_verified(fsm_t *self, const uint8_t *bytes, size_t size,
                               settle_error_t *reason);

/*
 * Applies one committed entry (command_entry_encode) as the next link.
 * Each command is accepted or rejected with a reason (results says which,
 * with each claim's answer and each payment); a rejected command changes
 * nothing.  Returns SETTLE_OK whatever the commands' outcomes.  Fails only
 * when the entry's framing does not decode or exceeds its limits (nothing
 * changed), or when the store fails (SETTLE_ERR_IO, SETTLE_ERR_NOMEM: the
 * entry's transaction is rolled back and the in-memory state reloaded from
 * the ledger, so the entry can be applied again).
 */
int fsm_apply(fsm_t *self, const uint8_t *entry, size_t size, fsm_results_t *results,
              settle_error_t *error);

/* The last link's index (0 before any) and hash (zeros before any). */
void fsm_head(const fsm_t *self, uint64_t *index_out, uint8_t hash_out[FSM_HASH_SIZE]);

/* The whole state as bytes (the SQLite database image), in a new buffer the
 * caller frees with settle_free: what Raft ships to a lagging node. */
int fsm_snapshot(fsm_t *self, uint8_t **bytes_out, size_t *size_out, settle_error_t *error);

/*
 * Replaces the whole state by a snapshot's, atomically: the snapshot is
 * opened and checked, and the in-memory state rebuilt from it, before the
 * live ledger is overwritten in one transaction.  A bad snapshot fails with
 * the reason and leaves the old state as it was.
 */
int fsm_restore(fsm_t *self, const uint8_t *bytes, size_t size, settle_error_t *error);

/* The ledger under the state machine, for queries and checks; it belongs to
 * the state machine and must not be written through. */
ledger_t *fsm_ledger(fsm_t *self);

#endif
