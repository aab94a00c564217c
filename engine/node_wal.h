/*
 * node_wal.h - the ledger's WAL checkpointed by a thread of the node's own
 * (private to settled).
 *
 * SQLite's writer copies its WAL into the database inside the commit that
 * takes the WAL past its limit: for the node, tens of megabytes written on
 * the Raft loop, a stall of a hundred milliseconds and more in which
 * nothing is applied or answered.  The node gives the checkpoints to a
 * thread instead (ledger_wal_watch): when a commit leaves the WAL longer
 * than NODE_WAL_PAGES, the thread makes a PASSIVE checkpoint through a
 * connection of its own while the loop goes on; the WAL starts over at the
 * first commit after a checkpoint that copied all of it, when no reader
 * (a snapshot's, an auditor's) still uses it.  Should the WAL still reach
 * NODE_WAL_PAGES_MAX (the thread never catching up, or a reader holding
 * the WAL), the writer tries a checkpoint itself: a long stall on the loop
 * (up to 384 MiB copied), the price of a bounded WAL.
 *
 * And when the node is idle (no commit between two ticks of the loop's
 * timer, node_wal_tick), the thread checkpoints a WAL of
 * NODE_WAL_IDLE_PAGES or more at once, once an idle spell: a burst of
 * submits then starts on a short WAL rather than paying for the one
 * before it.
 */
#ifndef SETTLE_NODE_WAL_H
#define SETTLE_NODE_WAL_H

#include <stdint.h>

#include "settle/error.h"
#include "settle/ledger.h"

#define NODE_WAL_PAGES      16000 /* 128 MiB of 8 KiB pages: the thread checkpoints */
#define NODE_WAL_PAGES_MAX  48000 /* 384 MiB: the writer does */
#define NODE_WAL_IDLE_PAGES 1000  /* 8 MiB: checkpointed when the node is idle */

typedef struct node_wal_s node_wal_t;

/* Starts the thread over the ledger file at path, whose writer is writer
 * (borrowed: it must outlive the node_wal_t).  NULL when the file cannot
 * be opened (error says why; the writer keeps its own checkpoints). */
node_wal_t *node_wal_start(const char *path, ledger_t *writer, uint64_t node_id,
                           settle_error_t *error);

/* On the loop, at each tick of its timer (node.c, every 200 ms): asks for
 * a checkpoint when no commit came since the last tick. */
void node_wal_tick(node_wal_t *self);

/* Gives the writer its checkpoints back, stops the thread; nulls the
 * pointer; safe on NULL. */
void node_wal_stop(node_wal_t **self_p);

#endif
