/*
 * raft_fsm.h - the state machine (fsm.h) behind libraft's struct raft_fsm:
 * what a node hands to raft_init (or a test to raft_fixture_grow) so that
 * every committed entry reaches fsm_apply, in log order, on every node.
 *
 * One Raft entry of type RAFT_COMMAND is one encoded settle entry
 * (command_entry_encode: the leader's timestamp and its commands).  The
 * adapter adds nothing of its own to the state: it never blocks on anything
 * but the ledger's own writes, reads no clock, no randomness and no
 * environment, so the same log gives the same ledger on every node.
 *
 *   apply     fsm_apply on the entry's bytes.  What it did goes to the
 *             submitter's raft_apply callback through `result`, a
 *             raft_fsm_result_t owned by the adapter and valid during the
 *             callback only (libraft 0.15 calls it synchronously, from the
 *             same loop iteration as apply); on other nodes it is ignored.
 *             An entry whose framing does not decode is refused the same way
 *             on every node: apply succeeds, the result carries the reason
 *             and nothing changed.  A store failure (out of memory, I/O) is
 *             returned to libraft, which leaves the entry unapplied and
 *             applies it again later: the entry's transaction was rolled
 *             back, so nothing is applied twice.
 *   snapshot  fsm_snapshot: the SQLite database image as one buffer.  The
 *             adapter implements version 2 of struct raft_fsm, so the buffer
 *             stays the adapter's and is freed in snapshot_finalize once
 *             libraft has stored it.
 *   restore   fsm_restore: the image replaces the whole state atomically.
 *             libraft hands the buffer over; the adapter frees it (raft_free)
 *             on success and leaves it to libraft on failure, as libraft
 *             expects.  A bad image fails and leaves the old state.
 *
 * The names are raft_fsm_*, after the struct they wrap; libraft itself has
 * no function of that prefix.
 */
#ifndef SETTLE_RAFT_FSM_H
#define SETTLE_RAFT_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>

#include "settle/error.h"
#include "settle/fsm.h"

typedef struct raft_fsm_s raft_fsm_t;

/* What an entry did, as the raft_apply callback sees it through `result`. */
typedef struct {
    int code;                     /* SETTLE_OK when the entry was applied */
    settle_error_t error;         /* why the entry was refused, when code != SETTLE_OK */
    const fsm_results_t *results; /* each command's outcome; NULL when refused */
} raft_fsm_result_t;

/* Counters, for logs, metrics and tests. */
typedef struct {
    uint64_t entries_applied; /* applied (their commands accepted or rejected) */
    uint64_t entries_refused; /* framing did not decode: refused on every node */
    uint64_t apply_failures;  /* store failures handed back to libraft */
    uint64_t snapshots_taken; /* fsm_snapshot calls that succeeded */
    uint64_t snapshots_restored;
    uint64_t restore_failures;
    uint64_t bytes_applied;  /* entry bytes libraft applied (deferred ones too) */
    uint64_t snapshot_bytes; /* the last snapshot's image, taken or restored; 0: none */
    uint64_t snapshot_at;    /* bytes_applied when it was taken or restored */
} raft_fsm_stats_t;

/*
 * Whether the log applied since the last snapshot is worth the next one:
 * at least percent of that snapshot's image, or log_max bytes whatever the
 * image (always before the first snapshot, and when percent is 0).  A
 * snapshot is the whole ledger, so taking one every so many entries
 * (libraft's threshold) made the work grow with the ledger for the same
 * log; by size, a snapshot costs at most 100 / percent times the log it
 * follows.  log_max bounds what libraft holds in memory (every entry since
 * the last snapshot) and what a restart replays, for a ledger so big that
 * percent of it would be too much.
 */
bool raft_fsm_snapshot_due(const raft_fsm_stats_t *stats, unsigned percent, uint64_t log_max);

/* Called on the loop for each entry libraft applies (deferred or not),
 * once it is counted in the stats: the node sets libraft's snapshot
 * threshold there, which libraft checks after its applies. */
typedef void (*raft_fsm_entry_fn)(void *context);
void raft_fsm_on_entry(raft_fsm_t *self, raft_fsm_entry_fn fn, void *context);

/*
 * A new adapter over fsm, which it borrows: the caller keeps owning fsm and
 * destroys it after the adapter, and the adapter after the raft instance
 * that uses it has closed.  SETTLE_ERR_NOMEM when out of memory; *self_out
 * is written only on success.
 */
int raft_fsm_new(fsm_t *fsm, raft_fsm_t **self_out);

/* Frees the adapter (not the fsm) and nulls the pointer; safe on NULL and
 * twice. */
void raft_fsm_destroy(raft_fsm_t **self_p);

/*
 * Snapshots beside the Raft loop (libraft's fsm version 3) when async,
 * before raft_init: on the loop, snapshot only opens a read transaction on
 * the ledger file as applied so far (ledger_snapshot_reader); the image is
 * serialized from it on libraft's worker thread (io->async_work) while the
 * loop goes on applying; finalize closes the read on the loop.  Needs a
 * ledger on a file and an io with async_work (raft_uv; the simulation's
 * fixture keeps the default, synchronous snapshots).
 */
void raft_fsm_snapshot_async(raft_fsm_t *self, bool async);

/* The struct raft_fsm to give libraft (raft_init, raft_fixture_grow); it
 * lives inside the adapter and is valid as long as the adapter. */
struct raft_fsm *raft_fsm_interface(raft_fsm_t *self);

/* The state machine the adapter drives. */
fsm_t *raft_fsm_state(raft_fsm_t *self);

/* The counters so far. */
void raft_fsm_stats(const raft_fsm_t *self, raft_fsm_stats_t *stats_out);

/* Called on every node after each entry is applied (refused entries too:
 * result->results is NULL then), before the submitter's callback; for
 * events and metrics.  It must not apply, snapshot or restore. */
typedef void (*raft_fsm_applied_fn)(void *context, const raft_fsm_result_t *result);
void raft_fsm_on_applied(raft_fsm_t *self, raft_fsm_applied_fn fn, void *context);

/*
 * Deferred apply, for a follower: while fn(context) answers true, apply
 * keeps a copy of each committed entry and returns at once (libraft counts
 * it applied; its result is an error, "applied later", which no submitter
 * sees: only a leader has submitters, and a leader's fn answers false);
 * raft_fsm_catch_up applies them, in order.  libraft 0.15's follower
 * applies the entries a message commits before it answers the message, so
 * the leader's commit of the next entry waited for this node's apply of
 * the last; deferred, the answer goes first.  Every apply that is not
 * deferred, and every snapshot, catches up first; a restore drops what is
 * deferred (the snapshot is of a later index), and with it their
 * on_applied calls: this node publishes no events for them, as for any
 * entry a snapshot brought.  fn is called on each apply
 * and may arrange for the catch-up (an idle handle on the loop).
 */
typedef bool (*raft_fsm_defer_fn)(void *context);
void raft_fsm_defer_when(raft_fsm_t *self, raft_fsm_defer_fn fn, void *context);

/* Applies what was deferred, in order (the on_applied hook sees each).
 * SETTLE_OK when nothing is left; SETTLE_ERR_NOMEM or SETTLE_ERR_IO when
 * the store failed: the entry stays first, for the next call. */
int raft_fsm_catch_up(raft_fsm_t *self);

/* Entries deferred and not yet applied. */
unsigned raft_fsm_deferred(const raft_fsm_t *self);

/* Why the last apply, snapshot or restore failed ("" when none did). */
const settle_error_t *raft_fsm_last_error(const raft_fsm_t *self);

/*
 * Copies an encoded entry (command_entry_encode) into *buffer_out, in memory
 * from raft_malloc as raft_apply requires, zero-padded to a multiple of 8
 * bytes as libraft's on-disk log needs (apply cuts the padding off, by the
 * entry's own framing): after a successful raft_apply
 * the buffer is libraft's; otherwise the caller frees it with raft_free.
 * SETTLE_ERR_INVALID for an empty entry, SETTLE_ERR_TOO_LONG past
 * COMMAND_ENTRY_SIZE_MAX, SETTLE_ERR_NOMEM.
 */
int raft_fsm_buffer(const uint8_t *entry, size_t size, struct raft_buffer *buffer_out);

/*
 * After raft_apply refused buffer with rc: frees it when libraft did not
 * take it.  libraft 0.15 takes nothing when it refuses up front (not the
 * leader: RAFT_NOTLEADER), but when it had appended the entry and starting
 * its replication failed, it discards the entry and frees the buffer
 * itself; the codes do not tell every such case apart, so on any other
 * code the buffer is left alone (a leak on a path that needs a failed
 * append, rather than a double free).
 */
void raft_fsm_buffer_refused(struct raft_buffer *buffer, int rc);

#endif
