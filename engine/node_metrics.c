/*
 * node_metrics.c - counters and histograms, rendered as text or in the
 * Prometheus text exposition format (version 0.0.4).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_metrics.h"
#include "settle/alloc.h"

#define TEXT_SIZE 8192

void node_histogram_add(node_histogram_t *histogram, uint64_t value)
{
    unsigned bucket = 0;
    while (bucket + 1 < NODE_METRICS_BUCKETS && value > (UINT64_C(1) << bucket))
        bucket++;
    histogram->buckets[bucket]++;
    histogram->count++;
    histogram->sum_us += value;
}

uint64_t node_histogram_quantile(const node_histogram_t *histogram, unsigned per_mille)
{
    if (histogram->count == 0)
        return 0;
    uint64_t rank = (histogram->count * per_mille + 999) / 1000, seen = 0;
    for (unsigned i = 0; i < NODE_METRICS_BUCKETS; i++) {
        seen += histogram->buckets[i];
        if (seen >= rank && seen > 0)
            return UINT64_C(1) << i;
    }
    return UINT64_C(1) << (NODE_METRICS_BUCKETS - 1);
}

uint64_t node_metrics_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

typedef struct {
    const char *name;
    const char *help;
    const char *type; /* counter or gauge */
    uint64_t value;
} s_counter_t;

typedef struct {
    char *text;
    size_t used;
} s_out_t;

static void s_put(s_out_t *out, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void s_put(s_out_t *out, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(out->text + out->used, TEXT_SIZE - out->used, format, args);
    va_end(args);
    if (n > 0)
        out->used += (size_t)n < TEXT_SIZE - out->used ? (size_t)n : TEXT_SIZE - 1 - out->used;
}

static void s_histogram(s_out_t *out, const char *name, const char *help, const node_histogram_t *h,
                        bool prometheus, uint64_t node_id)
{
    if (!prometheus) {
        s_put(out, "%s_count %llu\n%s_p50 %llu\n%s_p99 %llu\n%s_max_bucket %llu\n", name,
              (unsigned long long)h->count, name,
              (unsigned long long)node_histogram_quantile(h, 500), name,
              (unsigned long long)node_histogram_quantile(h, 990), name,
              (unsigned long long)node_histogram_quantile(h, 1000));
        return;
    }
    s_put(out, "# HELP settle_%s %s\n# TYPE settle_%s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (unsigned i = 0; i + 1 < NODE_METRICS_BUCKETS; i++) {
        cumulative += h->buckets[i];
        s_put(out, "settle_%s_bucket{node=\"%llu\",le=\"%llu\"} %llu\n", name,
              (unsigned long long)node_id, (unsigned long long)(UINT64_C(1) << i),
              (unsigned long long)cumulative);
    }
    s_put(out, "settle_%s_bucket{node=\"%llu\",le=\"+Inf\"} %llu\n", name,
          (unsigned long long)node_id, (unsigned long long)h->count);
    s_put(out, "settle_%s_sum{node=\"%llu\"} %llu\nsettle_%s_count{node=\"%llu\"} %llu\n", name,
          (unsigned long long)node_id, (unsigned long long)h->sum_us, name,
          (unsigned long long)node_id, (unsigned long long)h->count);
}

char *node_metrics_text(const node_metrics_t *m, uint64_t node_id, const char *format,
                        size_t *size_out)
{
    bool prometheus = format && strcmp(format, "prometheus") == 0;
    const s_counter_t counters[] = {
        {"requests", "requests handled", "counter", m->requests},
        {"submits", "submit requests", "counter", m->submits},
        {"commands_submitted", "commands submitted", "counter", m->commands_submitted},
        {"commands_rejected", "commands rejected by check or apply", "counter",
         m->commands_rejected},
        {"claims_committed", "claim answers sent to submitters", "counter", m->claims_committed},
        {"claims_applied", "claim answers applied", "counter", m->claims_applied},
        {"entries_proposed", "entries proposed as leader", "counter", m->entries_proposed},
        {"entries_committed", "proposed entries committed and answered", "counter",
         m->entries_committed},
        {"entries_failed", "proposed entries lost", "counter", m->entries_failed},
        {"entries_applied", "entries applied", "counter", m->entries_applied},
        {"queries", "query requests", "counter", m->queries},
        {"redirects", "requests sent to the leader", "counter", m->redirects},
        {"errors", "requests answered error", "counter", m->errors},
        {"events_published", "events published", "counter", m->events_published},
        {"subscriptions_refused", "events subscriptions refused by role", "counter",
         m->subscriptions_refused},
        {"busy", "requests turned away, queue full", "counter", atomic_load(&m->busy)},
        {"queue_depth", "requests waiting at the last drain", "gauge", m->queue_depth},
        {"snapshots_taken", "snapshots of the ledger taken", "counter", m->snapshots_taken},
        {"snapshots_restored", "snapshots installed from the leader or disk", "counter",
         m->snapshots_restored},
    };
    s_out_t out = {settle_malloc(TEXT_SIZE), 0};
    if (!out.text)
        return NULL;
    out.text[0] = '\0';
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        const s_counter_t *c = &counters[i];
        if (prometheus)
            s_put(&out, "# HELP settle_%s %s\n# TYPE settle_%s %s\nsettle_%s{node=\"%llu\"} %llu\n",
                  c->name, c->help, c->name, c->type, c->name, (unsigned long long)node_id,
                  (unsigned long long)c->value);
        else
            s_put(&out, "%s %llu\n", c->name, (unsigned long long)c->value);
    }
    s_histogram(&out, "commit_latency_us", "submit to answer, microseconds", &m->commit_latency,
                prometheus, node_id);
    s_histogram(&out, "entry_commands", "commands per proposed entry", &m->entry_commands,
                prometheus, node_id);
    *size_out = out.used;
    return out.text;
}
