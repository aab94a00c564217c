/*
 * raft_vouch.h - what a follower's answers may claim, for libraft 0.15
 * (the node's raft_uv, node_io.c, and the simulation's fixture io).
 *
 * An AppendEntries result that succeeds tells the leader "my log matches
 * yours up to last_log_index"; the leader counts the follower toward a
 * majority for every index up to it.  libraft 0.15 fills last_log_index
 * with the follower's last stored index in two places where that claims
 * too much:
 *   - a message that adds nothing new (a heartbeat, entries it holds
 *     already) is answered at once with the last stored index, whatever
 *     follows prev_log_index + n_entries in the follower's log;
 *   - a write that completes after the term changed is answered to the new
 *     leader, in the new term, with the last stored index, though the
 *     entries came from the old leader.
 * Either way a deposed leader's uncommitted entry at index i can make a
 * new leader, whose entry at i is another, count it toward a majority:
 * two different entries applied at one index (the simulation found the
 * first; canonical raft fixed the second upstream in 2023).
 *
 * The cure is to claim only what the current term's leader has been told
 * matches: a follower that accepts an AppendEntries (answers it at once
 * with success, or starts writing its entries) vouches that its log
 * matches up to prev_log_index + n_entries; one that accepts an
 * InstallSnapshot (answers it at once, or starts storing it), up to its
 * last index.  Every successful result is capped at the highest index
 * vouched for in its term (0 when none: the leader moves nothing).  A
 * lower index is always safe: the leader sends what follows, and the
 * follower finds any conflict.
 *
 * Pure bookkeeping over libraft's message structs: the caller wraps its
 * raft_io's start (the receive callback), append, snapshot_put and send.
 */
#ifndef SETTLE_RAFT_VOUCH_H
#define SETTLE_RAFT_VOUCH_H

#include <stdbool.h>

#include <raft.h>

typedef struct {
    raft_term term;       /* the newest term heard from a leader */
    raft_index upto;      /* the highest index vouched for in it */
    bool in_recv;         /* libraft handles a leader's message now */
    raft_term recv_term;  /* its term */
    raft_index recv_upto; /* what accepting it vouches for */
} raft_vouch_t;

/* Around libraft's handling of a received message. */
void raft_vouch_recv_begin(raft_vouch_t *self, const struct raft_message *message);
void raft_vouch_recv_end(raft_vouch_t *self);

/* libraft started an append or a snapshot store: if it did so while
 * handling a leader's message, it accepted the message. */
void raft_vouch_accepted(raft_vouch_t *self);

/* The message to send instead of message: message itself, or *copy with
 * a successful result's last_log_index capped (a synchronous success
 * while handling a leader's message accepts it first). */
const struct raft_message *raft_vouch_send(raft_vouch_t *self, const struct raft_message *message,
                                           struct raft_message *copy);

#endif
