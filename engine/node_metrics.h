/*
 * node_metrics.h - settled's counters and latency histograms (private to
 * the node): what `settle stats` shows and what a Prometheus scrape reads.
 *
 * The loop thread owns the record and updates it; the busy counter is
 * atomic, as other threads may bump it.  Latencies are kept in
 * power-of-two buckets of microseconds (1 us .. ~67 s), so a quantile is
 * read as the upper bound of the bucket that holds it.
 */
#ifndef SETTLE_NODE_METRICS_H
#define SETTLE_NODE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_METRICS_BUCKETS 27 /* bucket i counts values <= 2^i us; the last, the rest */

typedef struct {
    uint64_t buckets[NODE_METRICS_BUCKETS];
    uint64_t count;
    uint64_t sum_us;
} node_histogram_t;

typedef struct {
    uint64_t requests; /* every request the loop handled */
    uint64_t submits;  /* submit requests */
    uint64_t commands_submitted;
    uint64_t commands_rejected; /* refused by the leader's check or by apply */
    uint64_t claims_committed;  /* claim answers sent to submitters (leader) */
    uint64_t claims_applied;    /* claim answers from applied entries (every node) */
    uint64_t entries_proposed;  /* raft_apply calls by this node as leader */
    uint64_t entries_committed; /* of those, applied and answered */
    uint64_t entries_failed;    /* of those, lost (leadership changed, ...) */
    uint64_t entries_applied;   /* every entry this node applied */
    uint64_t queries;
    uint64_t redirects;
    uint64_t errors; /* requests answered "error" */
    uint64_t events_published;
    uint64_t subscriptions_refused; /* events subscriptions a role may not read */
    atomic_uint_fast64_t busy;      /* requests turned away: the queue was full */
    uint64_t queue_depth;           /* requests waiting, at the last drain */
    uint64_t snapshots_taken;       /* copied from the state machine's adapter when read */
    uint64_t snapshots_restored;
    node_histogram_t commit_latency; /* a submit's arrival on the loop to its answer */
    node_histogram_t entry_commands; /* commands per proposed entry (not microseconds) */
} node_metrics_t;

/* Adds one value to a histogram. */
void node_histogram_add(node_histogram_t *histogram, uint64_t value);

/* The value under which a fraction (per mille: 500 the median, 990 p99)
 * of the values fall: the upper bound of its bucket; 0 when empty. */
uint64_t node_histogram_quantile(const node_histogram_t *histogram, unsigned per_mille);

/* The metrics as "name value" lines (format "text") or as Prometheus text
 * exposition (format "prometheus"), into a new buffer the caller frees with
 * settle_free; NULL when out of memory.  node_id labels the series. */
char *node_metrics_text(const node_metrics_t *metrics, uint64_t node_id, const char *format,
                        size_t *size_out);

/* Microseconds on the monotonic clock, for latencies. */
uint64_t node_metrics_now_us(void);

#endif
