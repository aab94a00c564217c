/*
 * node_io.h - the node's changes to libraft's raft_uv (private to settled):
 * its entries go to the node's own log store, its log writes start after
 * what libraft sends in the same turn of the loop, and a follower's
 * answers claim no more than the message answered.
 *
 * The entries (node_store.h has why): raft_uv keeps the term and vote,
 * the snapshots, the transport and the bootstrap entry; append, truncate
 * and load go to the store, and a snapshot stored by raft_uv is followed
 * by the store's compaction (a snapshot taken) or reset (one installed
 * from the leader, which waits for every append before it, as raft_uv's
 * own barrier did).  load returns raft_uv's entries and then the store's,
 * which must follow them or the snapshot: a data folder written before
 * the store keeps its log, and truncating one of raft_uv's entries
 * truncates raft_uv too.
 *
 * libraft's leader, on raft_apply, first starts the write of the new
 * entries to its own log and then sends them to the followers.  With
 * raft_uv the start of a write is an io_submit of a direct write, which on
 * a virtual machine costs tens of microseconds before the call returns: the
 * followers, whose writes decide when the entry commits, heard of it that
 * much later (with the store, the start of a write wakes its thread).
 * Raft lets the leader write its log in parallel with the
 * followers (it counts itself toward the majority only once its write is
 * done, which libraft does), so the node defers the start of every append
 * until after what the loop is doing now: a uv_idle handle, active while
 * an append waits, starts the appends in the order they came in the loop's
 * next idle phase, before it polls for anything new (after this turn's
 * check handles and the next turn's timers).  The calls that depend on the
 * appends before them (truncate, snapshot_put, close) start the waiting
 * appends first.
 *
 * A follower's successful answers claim no more than the current term's
 * leader was told matches (settle/raft_vouch.h has the two ways libraft
 * 0.15 claims more, and how that lets two different entries be applied at
 * one index): the wrapper watches what libraft receives (start's receive
 * callback), accepts (append, snapshot_put) and answers (send), and sends
 * a copy with last_log_index capped when it must (raft_uv's send encodes
 * the message before it returns).
 *
 * Wrapped: load, start, send, append, truncate, snapshot_put and close;
 * the rest are raft_uv's own.
 *
 * A deferred append that the store refuses to start (out of memory), or
 * one it fails to write (a failed disk), ends the node: libraft was told it
 * had started, and the disk may hold part of it.  failed is called with
 * the code; the node logs and exits, and a restart loads the log as the
 * disk holds it.
 */
#ifndef SETTLE_NODE_IO_H
#define SETTLE_NODE_IO_H

#include <stdbool.h>
#include <uv.h>

#include <raft.h>

typedef struct node_io_s node_io_t;

/* Called on the loop right after deferred appends were started, while the
 * disk writes them: a follower applies then (node.c). */
typedef void (*node_io_started_fn)(void *context);

/* Called when raft_uv refuses to start an append; must not return (the
 * node exits). */
typedef void (*node_io_failed_fn)(void *context, int status);

/* A raft_uv io (raft_uv_init over loop, dir and transport) with its
 * entries in a store in dir/log (segments of segment_size bytes) and the
 * calls above wrapped; context is the caller's, for node_io_context,
 * started (which may be NULL) and failed.  NULL when libraft cannot be
 * initialised there or memory runs out. */
node_io_t *node_io_new(uv_loop_t *loop, const char *dir, size_t segment_size,
                       struct raft_uv_transport *transport, node_io_started_fn started,
                       node_io_failed_fn failed, void *context);

/* The io to give libraft (raft_init) and raft_uv's own setters. */
struct raft_io *node_io_raft(node_io_t *self);

/* The context given to node_io_new, from the io libraft calls with. */
void *node_io_context(struct raft_io *io);

/* After libraft is closed (its close started the waiting appends first):
 * raft_uv_close, and the idle handle closed on the loop, which must run
 * once more before the memory is freed.  Nulls the pointer; safe on NULL. */
void node_io_close(node_io_t **self_p);

#endif
