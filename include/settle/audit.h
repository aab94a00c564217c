/*
 * audit.h - an auditor's checks over a ledger (issue 8): replay every
 * stored entry from genesis and compare, and a claim's whole history.
 *
 * audit_verify trusts nothing the node computed.  It opens the ledger
 * read-only (ledger_open_readonly: it may run while a node serves the
 * file), walks the chain table in index order inside one read transaction,
 * and applies each stored entry's bytes to a fresh in-memory state machine
 * that verifies every signature again (fsm_verify_signatures).  Each
 * recomputed link (index, changes digest, hash, the stamp stored beside
 * the entry) is compared with the stored one as it is made; at the end
 * every other table of the recomputed ledger is compared with the stored
 * one, row by row and column by column, in key order.  The first
 * difference is the answer.  An entry
 * whose commands were all rejected made no link and is not stored: it
 * changed nothing, so nothing is lost by not seeing it.
 */
#ifndef SETTLE_AUDIT_H
#define SETTLE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "settle/claim.h"
#include "settle/error.h"
#include "settle/ledger.h"

#define AUDIT_DIVERGENCE_SIZE 1024

/* What a clean replay verified. */
typedef struct {
    uint64_t entry_count;           /* chain links re-made */
    uint64_t command_count;         /* commands in them, accepted or not */
    uint64_t claim_count;           /* claims rows compared */
    uint64_t payment_count;         /* payments rows compared */
    uint64_t checkpoint_count;      /* checkpoints replayed, each signature verified */
    uint64_t checkpoint_last_index; /* the highest link a checkpoint vouches for; 0: none */
    uint64_t head_index;
    uint8_t head_hash[LEDGER_HASH_SIZE];
} audit_totals_t;

/* The first divergence: the entry it shows at (0 when no entry can be
 * named) and what differs, in words ("claims: claim ACMEHP/C-1:
 * paid_cents: stored 9000, recomputed 8000"). */
typedef struct {
    uint64_t entry_index;
    char what[AUDIT_DIVERGENCE_SIZE];
} audit_divergence_t;

/* Called every so many entries with the entry replayed and the stored head. */
typedef void (*audit_progress_fn)(uint64_t entry_index, uint64_t head_index, void *context);

typedef struct {
    bool skip_signatures;       /* true: do not verify signatures again (benchmark only) */
    audit_progress_fn progress; /* may be NULL */
    void *context;
} audit_options_t;

/*
 * Replays and compares the ledger at path (options may be NULL).
 * SETTLE_OK: the ledger verifies, *totals_out says how much.
 * SETTLE_ERR_CORRUPT: it does not; *divergence_out says where and what.
 * Other codes (SETTLE_ERR_IO, _VERSION, _NOMEM) when the ledger cannot be
 * read, with the reason in error.  Writes nothing anywhere.
 */
int audit_verify(const char *path, const audit_options_t *options, audit_totals_t *totals_out,
                 audit_divergence_t *divergence_out, settle_error_t *error);

/* ------------------------------------------------------------------------
 * A claim's history (audit_claim.c)
 * ------------------------------------------------------------------------ */

typedef enum { AUDIT_FORMAT_TEXT, AUDIT_FORMAT_JSON } audit_format_t;

/*
 * Prints the history of every stored claim with this id (of payer only,
 * when payer is not NULL) from the ledger: submitted (signer, sequence,
 * entry index, timestamp, command position, the claim's place in the batch
 * and its Merkle path to the signed root), adjudicated (status, totals,
 * each line and its adjustments, the contract deployed for the member's
 * plan), voided or replaced, paid (payment, its entry), each step with the
 * chain index and hash that cover it.  JSON is one object per claim, one
 * per line.  SETTLE_ERR_NOT_FOUND when there is no such claim.
 */
int audit_claim_print(ledger_t *ledger, const char *claim_id, const char *payer,
                      audit_format_t format, FILE *out, settle_error_t *error);

#endif
