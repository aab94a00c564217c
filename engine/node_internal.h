/*
 * node_internal.h - what the node's files share (private to settled): the
 * intake (its socket on the loop, its thread for signature checks) and the
 * log line.
 */
#ifndef SETTLE_NODE_INTERNAL_H
#define SETTLE_NODE_INTERNAL_H

#include <czmq.h>
#include <stdatomic.h>
#include <uv.h>

#include <raft.h>
#include <raft/uv.h>

#include "node_events.h"
#include "node_io.h"
#include "node_wal.h"
#include "node_gather.h"
#include "node_metrics.h"
#include "settle/fsm.h"
#include "settle/genesis.h"
#include "settle/node.h"
#include "settle/raft_fsm.h"

/* Called on the loop's thread for each request; takes the message, which
 * it destroys: [checked][sender][identity][request id][verb]..., where
 * checked is "v" when the intake verified every command's signature
 * (a submit to a leader whose signers it knows) and "-" otherwise, and
 * sender is the participant id the ZAP handler found for the connection's
 * Curve key (node_zap.h), empty over plain TCP. */
typedef void (*node_request_fn)(void *context, zmsg_t *request);

/* Called on the loop's thread after each run of requests. */
typedef void (*node_drained_fn)(void *context);

typedef struct node_intake_s node_intake_t;

typedef struct {
    const char *endpoint;
    unsigned queue_length;       /* requests waiting, at most */
    unsigned message_size_max;   /* one request, all frames */
    atomic_uint_fast64_t *busy;  /* counts requests turned away (may be NULL) */
    const char *ledger_path;     /* signatures checked on the thread against it (NULL: not) */
    const sign_key_t *curve_key; /* CurveZMQ server with this key's pair (NULL: plain TCP);
                                  * not kept past node_intake_new */
    unsigned verify_threads;     /* threads verifying them, the intake's own included */
    node_request_fn on_request;
    node_drained_fn on_drained; /* may be NULL */
    void *context;
} node_intake_options_t;

/*
 * Binds a ROUTER at options->endpoint, read by the loop (a uv_poll), and
 * starts the intake thread.  Each run of requests read goes to on_request,
 * then on_drained: at once when it has at most one submit to check and
 * nothing waits for the thread, else after the thread checked its
 * signatures (a uv_async brings it back), in the order read.  While
 * queue_length requests wait for the thread, each request read is told
 * "retry" "busy: ...".  A request past
 * message_size_max (all frames) or the frame limit is read frame by frame,
 * kept no further than the limits, and answered "error" "too large"; a
 * single frame past twice message_size_max makes ZeroMQ drop the
 * connection.  NULL when the endpoint cannot be bound (error says why).
 */
node_intake_t *node_intake_new(const node_intake_options_t *options, uv_loop_t *loop,
                               settle_error_t *error);

/* Whether this node leads (set by the loop): only then does the intake
 * verify submits' signatures. */
void node_intake_set_leader(node_intake_t *self, bool leader);

/* Called by the loop when an applied entry registered, rotated or revoked
 * a participant: the intake's verify threads read signers' rows afresh
 * (node_check.h). */
void node_intake_participants_changed(node_intake_t *self);

/* Requests waiting now. */
unsigned node_intake_depth(node_intake_t *self);

/* Sends a reply [identity][request id][status][text] from the loop thread;
 * never blocks (a reply that cannot be queued is dropped: the client
 * retries).  Takes neither frame. */
void node_intake_reply(node_intake_t *self, zframe_t *identity, zframe_t *request_id,
                       const char *status, const char *text, size_t text_size);

/* Stops the thread, closes the sockets and the async handle (the memory is
 * freed in its close callback, so the loop must run once more); nulls the
 * pointer; safe on NULL and twice. */
void node_intake_destroy(node_intake_t **self_p);

/* One structured line on stderr: "ts=... node=ID level=LEVEL event=EVENT msg",
 * when level is at or above the one set (default info). */
void node_log_level_set(const char *level);
void node_log(uint64_t node_id, const char *level, const char *event, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* A running node: its Raft side (node.c) and its requests (node_serve.c),
 * all on the loop's thread but the intake's. */
typedef struct {
    const node_config_t *config;
    uv_loop_t loop;
    struct raft_uv_transport transport;
    node_io_t *io;   /* raft_uv, its appends deferred (node_io.h) */
    node_wal_t *wal; /* the ledger's WAL checkpointed beside the loop (node_wal.h) */
    struct raft raft;
    fsm_t *fsm;
    raft_fsm_t *adapter;
    genesis_t *genesis;
    node_intake_t *intake;
    node_events_t *events;  /* NULL when the node publishes none */
    struct node_zap_s *zap; /* with transport: curve; NULL otherwise */
    node_gather_t *gather;
    unsigned inflight; /* entries proposed and not yet answered */
    node_metrics_t metrics;
    uv_signal_t sigterm, sigint;
    uv_timer_t tick;
    uv_timer_t catch_up;       /* a follower's entries applied at the latest then (node.c) */
    uv_check_t flush;          /* commits the ledger's held entries after each turn (node.c) */
    bool participants_changed; /* an entry held since the last flush changed them */
    bool stopping;
    bool genesis_pending;
    struct raft_barrier barrier;
    struct raft_apply genesis_apply;
    unsigned async_pending;     /* libraft's work on the thread pool (node.c) */
    sign_key_t *checkpoint_key; /* NULL: this node signs no checkpoints */
    bool checkpoint_pending;    /* one proposed and not yet applied */
    struct raft_apply checkpoint_apply;
} node_t;

/* The intake's hand-offs and the state machine's hook (node_serve.c). */
void node_serve_request(void *context, zmsg_t *request);
void node_serve_drained(void *context);
void node_serve_applied(void *context, const raft_fsm_result_t *result);

/* Commits the entries the ledger holds (ledger_hold_commits), then tells
 * the intake's threads when participants changed; a ledger that lost
 * entries ends the process (node.c). */
void node_flush_ledger(node_t *n);

/* Answers every submit still gathered with "retry" (the node is stopping). */
void node_serve_abandon(node_t *n);

/* Milliseconds since the epoch: the leader's stamp on each entry. */
uint64_t node_now_ms(void);

/* After each applied entry (node_checkpoint.c): on the leader, proposes a
 * checkpoint of the head when checkpoint_interval links have passed since
 * the ledger's last one (node.h).  Does nothing on a follower, without a
 * key, or while one is in flight; a failure is logged, and the next
 * applied entry tries again. */
void node_checkpoint_maybe(node_t *n);

#endif
