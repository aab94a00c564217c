/*
 * node_query.h - the intake's read-only verbs (claim, payment, remit,
 * participant, accumulators; their texts are in node.h), answered from a
 * node's ledger between entries.
 *
 * The node's loop calls node_query (or node_query_message, which takes the
 * request's remaining frames) for a verb node_query_knows, and replies
 *
 *   SETTLE_OK                          [id] "ok"    [text]
 *   SETTLE_ERR_IO, SETTLE_ERR_NOMEM    [id] "retry" [error->message]
 *   any other code                     [id] "error" [error->message]
 *
 * (SETTLE_ERR_NOT_FOUND "no claim X", SETTLE_ERR_INVALID for bad
 * arguments "remit: expected x12 or fhir", ...).  Nothing here writes the
 * ledger, and the answer depends only on the ledger and the options: two
 * nodes at the same head give the same bytes.
 */
#ifndef SETTLE_NODE_QUERY_H
#define SETTLE_NODE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/command.h"
#include "settle/error.h"
#include "settle/fsm.h"
#include "settle/remit.h"

#define NODE_QUERY_ARGS_MAX      4
#define NODE_QUERY_ARG_SIZE      128         /* an argument's bytes, and a NUL */
#define NODE_QUERY_TEXT_SIZE_MAX (64u << 20) /* the longest answer */

/* One argument frame: size bytes, not NUL-terminated. */
typedef struct {
    const uint8_t *data;
    size_t size;
} node_query_arg_t;

/* What the ledger does not say and a remittance needs. */
typedef struct {
    /* The payer's nine-digit tax id, for the 835's TRN03 and BPR10; ""
     * when the node has none configured, and `remit ... x12` is then
     * refused (the FHIR bundle needs none). */
    char payer_tax_id[REMIT_TAX_ID_SIZE];
    /* Who asks, as the transport let it in (node.h, "Transport"): ""
     * answers everything (the node itself; a plain-TCP client, whom
     * nothing identifies).  Otherwise the asker's role decides what it
     * reads: an auditor or a node everything; a payer its own claims,
     * payments, remittances and members' accumulators; a provider the
     * claims, payments and remittances where it is the billing provider
     * (viewer_npi), no accumulators.  `participant` answers everyone.
     * What an asker may not read is answered as absent ("no claim X"),
     * exactly as what does not exist, so that nothing is learnt from it. */
    char viewer[COMMAND_PARTICIPANT_ID_SIZE];
    uint8_t viewer_role; /* command_role_t */
    char viewer_npi[CLAIM_NPI_SIZE];
} node_query_options_t;

/* Whether verb is one of the query verbs answered here. */
bool node_query_knows(const char *verb);

/*
 * Answers verb with args[0..arg_count) from fsm's ledger (options may be
 * NULL: no tax id).  On success *text_out is a NUL-terminated buffer from
 * settle_malloc the caller frees with settle_free, and *size_out its
 * length; nothing is written to them on failure, and error holds the
 * reply text.
 */
int node_query(fsm_t *fsm, const node_query_options_t *options, const char *verb,
               const node_query_arg_t *args, size_t arg_count, char **text_out, size_t *size_out,
               settle_error_t *error);

/* The same, with the arguments as the frames left in a request after the
 * request id and the verb (at most NODE_QUERY_ARGS_MAX; args is only read,
 * stays the caller's). */
typedef struct _zmsg_t zmsg_t;
int node_query_message(fsm_t *fsm, const node_query_options_t *options, const char *verb,
                       zmsg_t *args, char **text_out, size_t *size_out, settle_error_t *error);

#endif
