/*
 * node_verify.h - the intake's signature checks, spread over threads
 * (private to settled).  The intake hands a run of requests here: the
 * loop a lone submit (with a checker of one thread, its own), the intake
 * thread a bigger run, whose commands' signatures it and helper threads
 * verify at once, each with its own connection to the ledger
 * (node_check.h); the run then goes back to the loop in the order it
 * arrived: a client's pipelined commands keep their order.
 */
#ifndef SETTLE_NODE_VERIFY_H
#define SETTLE_NODE_VERIFY_H

#include <czmq.h>
#include <stdatomic.h>
#include <stddef.h>

#include "settle/error.h"

#include "settle/node.h" /* NODE_VERIFY_THREADS_MAX */
#define NODE_VERIFY_REASON_SIZE (SETTLE_ERROR_MESSAGE_SIZE + 32)

typedef enum {
    NODE_VERIFY_SKIP,    /* not a submit to check: queue as it is */
    NODE_VERIFY_OK,      /* every command's signature verified */
    NODE_VERIFY_UNKNOWN, /* a signer this ledger does not know yet: the loop checks */
    NODE_VERIFY_REFUSED, /* a command failed: answer "error" with reason */
} node_verify_outcome_t;

/* One request of a run: [identity][request id][verb][commands...]. */
typedef struct {
    zmsg_t *request;
    node_verify_outcome_t outcome; /* in: SKIP or OK (to check); out: the outcome */
    char reason[NODE_VERIFY_REASON_SIZE];
} node_verify_item_t;

typedef struct node_verify_s node_verify_t;

/* Opens the caller's connection to the ledger at path and starts
 * threads - 1 helpers (1..NODE_VERIFY_THREADS_MAX), each with its own
 * (node_check_open, with participants_version, which must outlive it).
 * Call it on the thread that will call node_verify_run.  NULL when the
 * ledger cannot be opened (error says why). */
node_verify_t *node_verify_new(const char *path, unsigned threads,
                               const atomic_uint_fast64_t *participants_version,
                               settle_error_t *error);

/* Stops the helpers, closes the connections; nulls the pointer. */
void node_verify_destroy(node_verify_t **self_p);

/* Checks every item whose outcome is NODE_VERIFY_OK on entry, in parallel,
 * and sets each one's outcome (and reason when refused). */
void node_verify_run(node_verify_t *self, node_verify_item_t *items, size_t count);

#endif
