/*
 * node_internal.h - what the node's files share (private to settled): the
 * intake thread and its hand-off to the Raft loop, and the log line.
 */
#ifndef SETTLE_NODE_INTERNAL_H
#define SETTLE_NODE_INTERNAL_H

#include <czmq.h>
#include <uv.h>

#include "settle/node.h"

/* Called on the loop's thread for each request; takes the message
 * (identity frame first), which it destroys. */
typedef void (*node_request_fn)(void *context, zmsg_t *request);

typedef struct node_intake_s node_intake_t;

/*
 * Binds a ROUTER at endpoint and starts the intake thread, which queues
 * requests (at most NODE_QUEUE_MAX; past it the client is told "retry")
 * and wakes the loop with a uv_async; the loop drains the queue into
 * on_request.  NULL when the endpoint cannot be bound (error says why).
 */
node_intake_t *node_intake_new(const char *endpoint, uv_loop_t *loop, node_request_fn on_request,
                               void *context, settle_error_t *error);

/* Sends a reply [identity][request id][status][text] from the loop thread;
 * never blocks (a reply that cannot be queued is dropped: the client
 * retries).  Takes neither frame. */
void node_intake_reply(node_intake_t *self, zframe_t *identity, zframe_t *request_id,
                       const char *status, const char *text, size_t text_size);

/* Stops the thread, closes the sockets and the async handle (the memory is
 * freed in its close callback, so the loop must run once more); nulls the
 * pointer; safe on NULL and twice. */
void node_intake_destroy(node_intake_t **self_p);

/* One structured line on stderr: "ts=... node=ID level=LEVEL event=EVENT msg". */
void node_log(uint64_t node_id, const char *level, const char *event, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#endif
