/*
 * node_gather.h - group commit (private to settled): the leader gathers
 * the commands of whatever submits have arrived into one Raft entry, bounded
 * in commands and bytes, and remembers who is waiting for which of them.
 *
 * The loop adds each checked submit (node_gather_add); it takes the gathered
 * entry (node_gather_take) when the intake's queue is drained and fewer than
 * NODE_GATHER_INFLIGHT entries are in flight, or when the next submit would
 * not fit, or when an entry in flight is answered.  So an idle node proposes
 * each submit at once, and a busy one makes bigger entries.
 */
#ifndef SETTLE_NODE_GATHER_H
#define SETTLE_NODE_GATHER_H

#include <czmq.h>
#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

#include "settle/error.h"

#define NODE_GATHER_INFLIGHT     4  /* entries in flight before gathering waits */
#define NODE_GATHER_INFLIGHT_MAX 16 /* past it, a submit that does not fit is "busy" */

/* A submitter waiting for its commands' outcome. */
typedef struct {
    zframe_t *identity;
    zframe_t *request_id;
    uint32_t first; /* its commands' positions in the entry */
    uint32_t count;
    uint64_t arrived_us;
} node_waiter_t;

/* A proposed entry: handed to raft_apply, answered in its callback. */
typedef struct {
    struct raft_apply request; /* first; request.data is the caller's */
    uint32_t command_count;
    uint32_t waiter_count;
    node_waiter_t waiters[];
} node_batch_t;

typedef struct node_gather_s node_gather_t;

/* A gatherer of at most commands_max commands and bytes_max bytes per
 * entry; NULL when out of memory. */
node_gather_t *node_gather_new(uint32_t commands_max, size_t bytes_max);

/* Frees what is gathered and the gatherer; nulls the pointer; safe on NULL. */
void node_gather_destroy(node_gather_t **self_p);

/* Whether a submit of count commands and bytes bytes fits beside what is
 * gathered (an empty gatherer takes any submit within the bounds). */
bool node_gather_fits(const node_gather_t *self, uint32_t count, size_t bytes);

/* Commands and bytes gathered so far. */
uint32_t node_gather_count(const node_gather_t *self);

/* Adds a checked submit: request holds one command per frame and is taken;
 * identity and request_id are copied.  SETTLE_ERR_TOO_MANY when it does
 * not fit (take first). */
int node_gather_add(node_gather_t *self, zmsg_t **request, zframe_t *identity, zframe_t *request_id,
                    uint64_t arrived_us);

/* Encodes what is gathered as one entry stamped timestamp_ms, in a buffer
 * ready for raft_apply (raft_fsm_buffer), and the batch of its waiters
 * (settle_free after node_batch_release); the gatherer is empty after.
 * SETTLE_ERR_NOT_FOUND when nothing is gathered. */
int node_gather_take(node_gather_t *self, uint64_t timestamp_ms, struct raft_buffer *buffer_out,
                     node_batch_t **batch_out);

/* Frees the waiters' frames and the batch; nulls the pointer. */
void node_batch_release(node_batch_t **batch_p);

#endif
