/*
 * node_io.h - the node's changes to libraft's raft_uv (private to settled):
 * its log writes start after what libraft sends in the same turn of the
 * loop, and a follower's answers claim no more than the message answered.
 *
 * libraft's leader, on raft_apply, first starts the write of the new
 * entries to its own log and then sends them to the followers.  With
 * raft_uv the start of a write is an io_submit of a direct write, which on
 * a virtual machine costs tens of microseconds before the call returns: the
 * followers, whose writes decide when the entry commits, heard of it that
 * much later.  Raft lets the leader write its log in parallel with the
 * followers (it counts itself toward the majority only once its write is
 * done, which libraft does), so the node defers the start of every append
 * until after what the loop is doing now: a uv_idle handle, active while
 * an append waits, starts the appends in the order they came in the loop's
 * next idle phase, before it polls for anything new (after this turn's
 * check handles and the next turn's timers).  The calls that depend on the
 * appends before them (truncate, snapshot_put, close) start the waiting
 * appends first.
 *
 * A follower's answer to an AppendEntries claims no more than that message
 * covered.  libraft 0.15 answers a message that adds nothing new (a
 * heartbeat, entries it already has) with its last stored index, whatever
 * follows prev_log_index + n_entries in its log; a deposed leader still
 * holding an uncommitted entry of its old term past that point thus told
 * the new leader it held the new leader's entry at that index, and the new
 * leader counted it toward a majority: two different entries were applied
 * at one index (found by the simulation, tests/sim).  Later libraft
 * versions answer prev_log_index + n_entries, capped by the last stored
 * index; the wrapper does the same, lowering last_log_index of a success
 * sent while libraft handles an AppendEntries (raft_uv's send encodes the
 * message before it returns, so a changed copy is sent).  A lower index is
 * always safe: the leader sends what follows, and the follower finds the
 * conflict.
 *
 * An append that raft_uv refuses to start (out of memory, a failed disk)
 * ends the node: libraft was told it had started, and raft_uv may have
 * queued it anyway (it returns some errors after queueing), so there is no
 * callback that is surely right to give.  failed is called with the code;
 * the node logs and exits, and a restart loads the log as the disk holds
 * it.
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
 * append, truncate, snapshot_put and close wrapped; context is the
 * caller's, for node_io_context, started (which may be NULL) and failed.
 * NULL when libraft cannot be initialised there or memory runs out. */
node_io_t *node_io_new(uv_loop_t *loop, const char *dir, struct raft_uv_transport *transport,
                       node_io_started_fn started, node_io_failed_fn failed, void *context);

/* The io to give libraft (raft_init) and raft_uv's own setters. */
struct raft_io *node_io_raft(node_io_t *self);

/* The context given to node_io_new, from the io libraft calls with. */
void *node_io_context(struct raft_io *io);

/* Appends deferred and not yet started. */
unsigned node_io_waiting(const node_io_t *self);

/* After libraft is closed (its close started the waiting appends first):
 * raft_uv_close, and the idle handle closed on the loop, which must run
 * once more before the memory is freed.  Nulls the pointer; safe on NULL. */
void node_io_close(node_io_t **self_p);

#endif
