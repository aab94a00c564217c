/*
 * node_store.h - the node's Raft log on disk (private to settled): every
 * entry libraft appends after the bootstrap one, in segment files of its
 * own, written by a thread beside the loop.
 *
 * Why not raft_uv's segments: raft_uv checksums each entry it writes with a
 * CRC-32 taken one byte at a time (about a tenth of the CPU of a cluster
 * under load, every node paying it for every byte of every entry), writes
 * with direct I/O (slower here than a buffered write and fdatasync over
 * blocks already written) and stalls the log while it opens each new
 * segment.  node_io.c keeps raft_uv for everything else (the term and
 * vote, snapshots, the transport, the bootstrap entry) and hands the
 * entries to this store.
 *
 * The folder (DATA/log) holds files named segment-NNNNNNNN, NNNNNNNN a
 * sequence number that is never reused.  A segment is made ahead of need by
 * a thread of its own, segment_size bytes of zeros, synced with its folder,
 * so that the writes into it change no metadata and fdatasync costs one
 * data write.  Each file:
 *
 *   header  8 x u8 "SETTLOG1", u64 first index, u32 sequence number,
 *           u32 CRC-32C of the 20 bytes before it, 8 x u8 zero    (32 bytes)
 *   records header: u32 CRC-32C of what follows it in the header and of
 *           the data and padding, u32 data size, u64 index, u64 term,
 *           u8 type, 3 x u8 zero, u32 the segment's sequence number;
 *           then the data, zero-padded to a multiple of 8
 *
 * integers little-endian.  A record is valid when its CRC matches, its
 * index follows the one before (the first is the header's first index) and
 * it carries its segment's number; reading a segment stops at the first
 * record that is not valid, which is where the last completed write ended.
 *
 * The writer never writes into a segment again once it has stopped using
 * it (after a start, a truncation, a reset): what lies after its end is
 * never read, so a torn write, or an old record a truncation left behind,
 * can never come back as an entry.  Truncation deletes the segments wholly
 * past the cut, then overwrites the record header at the cut with zeros;
 * a reset (a snapshot installed from the leader) deletes every segment;
 * compaction (after a snapshot) deletes the segments wholly before what
 * libraft keeps.  Each of these leaves, after a crash at any point, a
 * contiguous log that is either the old one or the new one.
 *
 * What reading cannot tell apart: a record damaged on the disk after it
 * was written reads as the end of the last write, so a bit flipped in the
 * last segment drops the entries from there on (the leader sends them
 * again; a follower's log may be shorter than it was, as after a crash
 * before a write).  A segment that is not the last and holds no valid
 * entry at its start stops the start, named and left in place.
 *
 * Appends are batched: every append waiting when the writer wakes goes to
 * disk in one pwritev and one fdatasync, then their callbacks run on the
 * loop, in order (a uv_async).  An I/O error fails that operation and every
 * later one (status RAFT_IOERR); node_io ends the node, and a restart
 * reads what the disk holds.
 */
#ifndef SETTLE_NODE_STORE_H
#define SETTLE_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <uv.h>

#include "settle/error.h"

typedef struct node_store_s node_store_t;

/* Called on the loop when an operation is done; status 0 or RAFT_IOERR. */
typedef void (*node_store_done_fn)(void *context, int status);

/* A store over the folder dir (created when missing), its segments
 * segment_size bytes (a batch bigger than that gets a longer one).  No
 * I/O yet.  NULL when memory runs out. */
node_store_t *node_store_new(uv_loop_t *loop, const char *dir, size_t segment_size);

/* Reads every segment and starts the threads.  On success the entries
 * stored, from *first_out on, are in *entries_out (*count_out of them,
 * possibly none; raft_malloc'd, each segment's entries sharing one batch,
 * as libraft's load wants them).  SETTLE_ERR_IO with the file and what is
 * wrong when the folder cannot be read or the log is not contiguous. */
int node_store_load(node_store_t *self, raft_index *first_out, struct raft_entry **entries_out,
                    size_t *count_out, settle_error_t *error);

/* Stores count entries, the first at index first (entries and their data
 * stay the caller's, untouched, until done).  An index at or before the
 * last stored drops what was there from that index on. */
int node_store_append(node_store_t *self, raft_index first, const struct raft_entry *entries,
                      unsigned count, node_store_done_fn done, void *context);

/* Drops every entry from index on, after what is queued before it. */
int node_store_truncate(node_store_t *self, raft_index index);

/* Drops every entry (a snapshot up to last was installed); the next
 * append is at last + 1. */
int node_store_reset(node_store_t *self, raft_index last);

/* Deletes the segments whose entries all come before keep_from. */
int node_store_compact(node_store_t *self, raft_index keep_from);

/* done once everything queued before it is done. */
int node_store_barrier(node_store_t *self, node_store_done_fn done, void *context);

/* Finishes what is queued, stops the threads, then calls done on the loop.
 * Once per store; node_store_free after done. */
void node_store_close(node_store_t *self, node_store_done_fn done, void *context);

/* Frees a closed store (or one never loaded) once its handle is closed on
 * the loop, which must run once more.  Nulls the pointer; safe on NULL. */
void node_store_free(node_store_t **self_p);

/* The valid records at the start of a segment file's bytes (node_store.h
 * above: the header's, then each record in turn until one is not valid):
 * how many, the first's index in *first_out and where the last one ends
 * in *end_out; 0 when the header is not valid for segment seq.  Reads no
 * byte past size, whatever the bytes say (fuzz_node_store). */
size_t node_store_scan(const uint8_t *bytes, size_t size, uint32_t seq, raft_index *first_out,
                       size_t *end_out);

/* Frees libraft's entries as its load gives them: each distinct batch
 * once, then the array. */
void node_store_entries_free(struct raft_entry *entries, size_t count);

#endif
