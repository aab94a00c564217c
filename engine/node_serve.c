/*
 * node_serve.c - what a node does with each request, on the loop's thread:
 * submits are checked and gathered into entries (group commit, node_gather.h)
 * and answered once applied; head, stats and the queries are answered at
 * once; everything applied is published (node_events.h) and counted.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_internal.h"
#include "settle/alloc.h"
#include "settle/hash.h"
#include "settle/node_query.h"

#define LINE_SIZE (FSM_REASON_SIZE + 160)

uint64_t node_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static void s_reply(node_t *n, zframe_t *identity, zframe_t *request_id, const char *status,
                    const char *text)
{
    if (strcmp(status, "error") == 0)
        n->metrics.errors++;
    node_intake_reply(n->intake, identity, request_id, status, text, strlen(text));
}

/* "index N\nhash HEX\n" into out. */
static size_t s_head_text(node_t *n, char *out, size_t size)
{
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(n->fsm, &index, hash);
    char hex[2 * FSM_HASH_SIZE + 1];
    hash_to_hex(hash, FSM_HASH_SIZE, hex);
    size_t used =
        (size_t)snprintf(out, size, "index %llu\nhash %s\n", (unsigned long long)index, hex);
    return used < size ? used : size - 1;
}

/* ------------------------------------------------------------------------
 * Answers to submitters
 * ------------------------------------------------------------------------ */

/* Lines one waiter's commands need: theirs, their claims', their payments'. */
static size_t s_waiter_lines(const fsm_results_t *r, const node_waiter_t *w)
{
    size_t lines = 2;
    for (uint32_t i = w->first; i < w->first + w->count && i < r->command_count; i++)
        lines += 1 + r->commands[i].claim_count + r->commands[i].payment_count;
    return lines;
}

/* Appends text at *at, stopping short of end (one byte kept for a NUL). */
static char *s_put_text(char *at, const char *end, const char *text)
{
    while (*text && at < end - 1)
        *at++ = *text++;
    return at;
}

static char *s_put_int(char *at, const char *end, long long value)
{
    char digits[24];
    int n = 0;
    unsigned long long magnitude =
        value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
    do
        digits[n++] = (char)('0' + magnitude % 10);
    while ((magnitude /= 10) != 0);
    if (value < 0)
        digits[n++] = '-';
    while (n > 0 && at < end - 1)
        *at++ = digits[--n];
    return at;
}

/* "claim ID STATUS billed=N paid=N duplicate=0|1 REASON\n": one a claim,
 * thousands an answer under load, so built by hand rather than snprintf. */
static size_t s_claim_line(const fsm_claim_result_t *a, char *text, size_t size)
{
    const char *end = text + size;
    char *at = s_put_text(text, end, "claim ");
    at = s_put_text(at, end, a->claim_id);
    at = s_put_text(at, end, " ");
    at = s_put_text(at, end, interp_status_name((interp_status_t)a->status));
    at = s_put_text(at, end, " billed=");
    at = s_put_int(at, end, a->billed_cents);
    at = s_put_text(at, end, " paid=");
    at = s_put_int(at, end, a->paid_cents);
    at = s_put_text(at, end, a->duplicate ? " duplicate=1 " : " duplicate=0 ");
    at = s_put_text(at, end, a->reason);
    at = s_put_text(at, end, "\n");
    *at = '\0';
    return (size_t)(at - text);
}

static void s_command_lines(const fsm_results_t *r, uint32_t i, uint32_t first, char *text,
                            size_t size, size_t *used)
{
    const fsm_command_result_t *c = &r->commands[i];
    *used += (size_t)snprintf(text + *used, size - *used, "command %u %s %s %s\n",
                              c->position - first, command_type_name(c->type),
                              c->accepted ? "accepted" : "rejected", c->reason);
    for (uint32_t k = c->claim_first; k < c->claim_first + c->claim_count && *used < size; k++) {
        *used += s_claim_line(&r->claims[k], text + *used, size - *used);
    }
    for (uint32_t k = c->payment_first; k < c->payment_first + c->payment_count && *used < size;
         k++) {
        const fsm_payment_result_t *p = &r->payments[k];
        *used += (size_t)snprintf(
            text + *used, size - *used, "payment %s %s total=%lld claims=%u %s\n", p->npi,
            p->paid ? p->payment_id : "-", (long long)p->total_cents, p->claim_count, p->reason);
    }
}

/* One waiter's answer: the head, then its own commands' outcomes. */
static void s_answer_waiter(node_t *n, const fsm_results_t *r, const node_waiter_t *w)
{
    size_t size = s_waiter_lines(r, w) * LINE_SIZE;
    char *text = settle_malloc(size);
    if (!text) {
        s_reply(n, w->identity, w->request_id, "retry", "out of memory");
        return;
    }
    size_t used = s_head_text(n, text, size);
    for (uint32_t i = w->first; i < w->first + w->count && i < r->command_count && used < size;
         i++) {
        s_command_lines(r, i, w->first, text, size, &used);
        n->metrics.claims_committed += r->commands[i].claim_count;
    }
    node_intake_reply(n->intake, w->identity, w->request_id, "ok", text,
                      used < size ? used : size - 1);
    settle_free(text);
}

static void s_flush(node_t *n, bool force);

static void s_batch_applied(struct raft_apply *request, int status, void *result)
{
    node_batch_t *batch = (node_batch_t *)request;
    node_t *n = request->data;
    const raft_fsm_result_t *out = result;
    uint64_t now = node_metrics_now_us();
    n->inflight--;
    if (status == 0)
        n->metrics.entries_committed++;
    else
        n->metrics.entries_failed++;
    for (uint32_t i = 0; i < batch->waiter_count; i++) {
        const node_waiter_t *w = &batch->waiters[i];
        if (status != 0)
            s_reply(n, w->identity, w->request_id, "retry", raft_strerror(status));
        else if (out->code != SETTLE_OK)
            s_reply(n, w->identity, w->request_id, "error", out->error.message);
        else
            s_answer_waiter(n, out->results, w);
        node_histogram_add(&n->metrics.commit_latency, now - w->arrived_us);
    }
    node_batch_release(&batch);
    s_flush(n, false);
}

/* Proposes what is gathered, unless enough entries are in flight already
 * (force: a submit waits that does not fit beside it). */
static void s_flush(node_t *n, bool force)
{
    if (node_gather_count(n->gather) == 0 || n->stopping ||
        (!force && n->inflight >= NODE_GATHER_INFLIGHT))
        return;
    struct raft_buffer buffer = {0};
    node_batch_t *batch = NULL;
    uint32_t count = node_gather_count(n->gather);
    int rc = node_gather_take(n->gather, node_now_ms(), &buffer, &batch);
    if (rc != SETTLE_OK) {
        node_serve_abandon(n);
        return;
    }
    batch->request.data = n;
    rc = raft_apply(&n->raft, &batch->request, &buffer, 1, s_batch_applied);
    if (rc != 0) {
        raft_fsm_buffer_refused(&buffer, rc);
        for (uint32_t i = 0; i < batch->waiter_count; i++)
            s_reply(n, batch->waiters[i].identity, batch->waiters[i].request_id, "retry",
                    raft_strerror(rc));
        node_batch_release(&batch);
        return;
    }
    n->inflight++;
    n->metrics.entries_proposed++;
    node_histogram_add(&n->metrics.entry_commands, count);
}

void node_serve_abandon(node_t *n)
{
    struct raft_buffer buffer = {0};
    node_batch_t *batch = NULL;
    if (node_gather_take(n->gather, 0, &buffer, &batch) != SETTLE_OK)
        return;
    raft_free(buffer.base);
    for (uint32_t i = 0; i < batch->waiter_count; i++)
        s_reply(n, batch->waiters[i].identity, batch->waiters[i].request_id, "retry",
                "the node could not propose the entry");
    node_batch_release(&batch);
}

/* ------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------ */

/* Not the leader: name the leader's intake, or ask to retry. */
static void s_not_leader(node_t *n, zframe_t *identity, zframe_t *request_id)
{
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(&n->raft, &leader, &address);
    for (unsigned i = 0; leader && i < n->config->peer_count; i++)
        if (n->config->peers[i].id == leader && leader != n->config->id) {
            n->metrics.redirects++;
            s_reply(n, identity, request_id, "redirect", n->config->peers[i].intake);
            return;
        }
    s_reply(n, identity, request_id, "retry", "no leader yet");
}

/* Checks the commands (the frames left in request) and gathers them. */
static void s_submit(node_t *n, zmsg_t **request, zframe_t *identity, zframe_t *request_id,
                     uint64_t arrived_us, bool verified)
{
    size_t count = zmsg_size(*request);
    n->metrics.submits++;
    if (count == 0 || count > n->config->entry_commands_max) {
        char text[96];
        snprintf(text, sizeof text, "submit: 1..%u commands expected, got %zu",
                 n->config->entry_commands_max, count);
        s_reply(n, identity, request_id, "error", text);
        return;
    }
    size_t i = 0;
    for (zframe_t *f = zmsg_first(*request); f; f = zmsg_next(*request), i++) {
        settle_error_t reason;
        settle_error_clear(&reason);
        int rc = verified
                     ? fsm_check_command_verified(n->fsm, zframe_data(f), zframe_size(f), &reason)
                     : fsm_check_command(n->fsm, zframe_data(f), zframe_size(f), &reason);
        if (rc != SETTLE_OK) {
            char text[SETTLE_ERROR_MESSAGE_SIZE + 32];
            snprintf(text, sizeof text, "command %zu: %s", i, reason.message);
            n->metrics.commands_rejected++;
            s_reply(n, identity, request_id, "error", text);
            return;
        }
    }
    if (!node_gather_fits(n->gather, (uint32_t)count, zmsg_content_size(*request))) {
        if (n->inflight >= NODE_GATHER_INFLIGHT_MAX) {
            atomic_fetch_add(&n->metrics.busy, 1);
            s_reply(n, identity, request_id, "retry", "busy: entries in flight");
            return;
        }
        s_flush(n, true);
    }
    n->metrics.commands_submitted += count;
    if (node_gather_add(n->gather, request, identity, request_id, arrived_us) != SETTLE_OK)
        s_reply(n, identity, request_id, "error", "submit: larger than one entry may be");
}

static void s_head(node_t *n, zframe_t *identity, zframe_t *request_id)
{
    char text[384];
    size_t size = s_head_text(n, text, sizeof text);
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(&n->raft, &leader, &address);
    const char *leader_intake = "-";
    for (unsigned i = 0; leader && i < n->config->peer_count; i++)
        if (n->config->peers[i].id == leader)
            leader_intake = n->config->peers[i].intake;
    size += (size_t)snprintf(text + size, sizeof text - size,
                             "leader %llu\nleader_intake %s\nevents %s\n",
                             (unsigned long long)leader, leader_intake,
                             n->events && n->config->events[0] ? n->config->events : "-");
    node_intake_reply(n->intake, identity, request_id, "ok", text, size);
}

static void s_stats(node_t *n, zmsg_t *request, zframe_t *identity, zframe_t *request_id)
{
    char *format = zmsg_popstr(request);
    n->metrics.queue_depth = node_intake_depth(n->intake);
    raft_fsm_stats_t fsm_stats;
    raft_fsm_stats(n->adapter, &fsm_stats);
    n->metrics.snapshots_taken = fsm_stats.snapshots_taken;
    n->metrics.snapshots_restored = fsm_stats.snapshots_restored;
    size_t size = 0;
    char *text = node_metrics_text(&n->metrics, n->config->id, format ? format : "text", &size);
    if (text)
        node_intake_reply(n->intake, identity, request_id, "ok", text, size);
    else
        s_reply(n, identity, request_id, "retry", "out of memory");
    settle_free(text);
    zstr_free(&format);
}

/* A read-only verb, answered from this node's ledger. */
static void s_query(node_t *n, const char *verb, const char *sender, zmsg_t *request,
                    zframe_t *identity, zframe_t *request_id)
{
    node_query_options_t options;
    memset(&options, 0, sizeof options);
    snprintf(options.payer_tax_id, sizeof options.payer_tax_id, "%s", n->config->payer_tax_id);
    /* The asker, as ZAP let it in; its role and NPI as the ledger holds
     * them now (node_query.h says what each may read). */
    ledger_participant_t viewer;
    if (sender && sender[0]) {
        int found = ledger_participant_get(fsm_ledger(n->fsm), sender, &viewer);
        if (found != SETTLE_OK || viewer.revoked_entry != 0) {
            s_reply(n, identity, request_id, found == SETTLE_ERR_IO ? "retry" : "error",
                    "the asker is not a registered participant in force");
            return;
        }
        snprintf(options.viewer, sizeof options.viewer, "%s", viewer.id);
        options.viewer_role = viewer.role;
        snprintf(options.viewer_npi, sizeof options.viewer_npi, "%s", viewer.npi);
    }
    char *text = NULL;
    size_t size = 0;
    settle_error_t error;
    settle_error_clear(&error);
    n->metrics.queries++;
    int rc = node_query_message(n->fsm, &options, verb, request, &text, &size, &error);
    if (rc == SETTLE_OK)
        node_intake_reply(n->intake, identity, request_id, "ok", text, size);
    else
        s_reply(n, identity, request_id,
                rc == SETTLE_ERR_IO || rc == SETTLE_ERR_NOMEM ? "retry" : "error", error.message);
    settle_free(text);
}

void node_serve_request(void *context, zmsg_t *request)
{
    node_t *n = context;
    uint64_t arrived = node_metrics_now_us();
    zframe_t *checked = zmsg_pop(request);
    bool verified = checked && zframe_streq(checked, "v");
    zframe_destroy(&checked);
    /* Who sent it (the ZAP handler's participant id; "" over plain TCP):
     * the queries answer it what its role may read. */
    char *sender = zmsg_popstr(request);
    zframe_t *identity = zmsg_pop(request);
    zframe_t *request_id = zmsg_pop(request);
    char *verb = zmsg_popstr(request);
    raft_fsm_catch_up(n->adapter); /* answers from all that is committed (a failure: later) */
    node_log(n->config->id, "debug", "request", "verb=%s sender=%s", verb ? verb : "-",
             sender && sender[0] ? sender : "-");
    n->metrics.requests++;
    if (n->stopping)
        s_reply(n, identity, request_id, "retry", "the node is stopping");
    else if (verb && strcmp(verb, "head") == 0)
        s_head(n, identity, request_id);
    else if (verb && strcmp(verb, "stats") == 0)
        s_stats(n, request, identity, request_id);
    else if (verb && strcmp(verb, "submit") == 0 && raft_state(&n->raft) != RAFT_LEADER)
        s_not_leader(n, identity, request_id);
    else if (verb && strcmp(verb, "submit") == 0)
        s_submit(n, &request, identity, request_id, arrived, verified);
    else if (verb && node_query_knows(verb))
        s_query(n, verb, sender, request, identity, request_id);
    else
        s_reply(n, identity, request_id, "error",
                "unknown verb (expected head, submit, stats, claim, payment, remit, "
                "participant or accumulators)");
    zstr_free(&verb);
    zstr_free(&sender);
    zframe_destroy(&identity);
    zframe_destroy(&request_id);
    zmsg_destroy(&request);
}

void node_serve_drained(void *context)
{
    node_t *n = context;
    node_intake_set_leader(n->intake, raft_state(&n->raft) == RAFT_LEADER);
    s_flush(n, false);
}

/* Whether the entry registered, rotated or revoked anyone. */
static bool s_changes_participants(const fsm_results_t *r)
{
    for (uint32_t i = 0; i < r->command_count; i++)
        if (r->commands[i].accepted &&
            (r->commands[i].type == COMMAND_REGISTER || r->commands[i].type == COMMAND_ROTATE ||
             r->commands[i].type == COMMAND_REVOKE))
            return true;
    return false;
}

void node_serve_applied(void *context, const raft_fsm_result_t *result)
{
    node_t *n = context;
    n->metrics.entries_applied++;
    if (!result->results)
        return;
    n->metrics.claims_applied += result->results->claim_count;
    if (s_changes_participants(result->results))
        n->participants_changed = true; /* told once committed: node_flush_ledger */
    n->metrics.events_published += node_events_applied(n->events, n->fsm, result->results);
    if (result->results->changed)
        node_checkpoint_maybe(n);
}
