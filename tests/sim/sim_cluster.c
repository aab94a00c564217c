/*
 * sim_cluster.c - the replicated ledger under a deterministic simulation,
 * the way libraft's authors test libraft: its in-memory fixture (virtual
 * time, no sockets, no disk) with three or five servers, each with its own
 * real state machine over an in-memory SQLite ledger behind the raft_fsm
 * adapter.  A seeded random source drives a script: the clients of
 * sim_workload.c submit to whoever leads, while servers are killed and
 * revived, links are cut and healed, leaders deposed, latencies and
 * election timeouts changed, and snapshots taken and installed (the
 * snapshot threshold is low on purpose).
 *
 * After every step of the fixture (a hook, so the steps the fixture takes
 * inside depose are checked too), on every server:
 *   - committed entries agree: the entry at an index, once committed
 *     anywhere, has the same term and bytes everywhere;
 *   - each applied entry is that committed entry, and applying it answers
 *     the same (results) and leaves the same head hash on every server;
 *   - servers that applied up to the same index have the same head hash;
 *   - the accounting invariants hold (ledger_check) whenever the state
 *     changed;
 *   - as a node's followers do (raft_fsm_defer_when), a follower defers
 *     some of its applies and catches up at random steps, and every
 *     ledger holds its entries' commits (ledger_hold_commits) and flushes
 *     them at random steps: the checks above are made as each entry is
 *     really applied, at the raft index it has;
 *   - an acknowledged entry is the one applied at its index.
 * At the end everything is healed; every server must catch up to the same
 * index and head, and every claim of every acknowledged batch must be in
 * every server's ledger.
 *
 *   sim_cluster [FIRST_SEED [COUNT]]      runs COUNT seeds from FIRST_SEED
 *   SETTLE_SIM_SEEDS=K                    runs K seeds instead of COUNT
 *   SETTLE_SIM_SEED=N                     replays seed N alone
 *   SETTLE_SIM_VERBOSE=1                  traces what each run does
 *   SETTLE_SIM_CHECK_ALL=1                runs ledger_check on every server
 *                                         at every change (slower)
 *
 * A failing run prints its seed and exits 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/hash.h"
#include "sim.h"

#define SIM_ACTIONS_MIN      100
#define SIM_ACTIONS_SPREAD   100
#define SIM_STEPS_PER_ACTION 40
#define SIM_FAULT_PERCENT    12
#define SIM_SETTLE_MS        180000 /* how long the healed cluster gets to finish */
#define SIM_DEFAULT_SEEDS    20
#define SIM_DEFER_PERCENT    50 /* of a follower's applies */
#define SIM_CATCH_UP_PERCENT 20 /* of the steps, for a server with applies deferred */
#define SIM_FLUSH_PERCENT    30 /* of the steps, for a ledger holding commits */

/* ------------------------------------------------------------------------
 * Randomness, failures, traces, slots
 * ------------------------------------------------------------------------ */

uint64_t sim_rng_next(sim_rng_t *rng)
{
    uint64_t z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint64_t sim_rng_below(sim_rng_t *rng, uint64_t bound)
{
    return sim_rng_next(rng) % bound;
}

bool sim_rng_percent(sim_rng_t *rng, unsigned percent)
{
    return sim_rng_below(rng, 100) < percent;
}

void sim_fail(const sim_t *sim, const char *format, ...)
{
    va_list arguments;
    fprintf(stderr, "sim: seed %llu (%u servers, at %llu ms): ", (unsigned long long)sim->seed,
            sim->servers, (unsigned long long)sim->fixture.time);
    va_start(arguments, format);
    vfprintf(stderr, format, arguments);
    va_end(arguments);
    fprintf(stderr, "\nsim: replay with SETTLE_SIM_SEED=%llu (SETTLE_SIM_VERBOSE=1 traces it)\n",
            (unsigned long long)sim->seed);
    exit(1);
}

void sim_trace(const sim_t *sim, const char *format, ...)
{
    if (!sim->verbose)
        return;
    va_list arguments;
    fprintf(stderr, "[%8llu ms] ", (unsigned long long)sim->fixture.time);
    va_start(arguments, format);
    vfprintf(stderr, format, arguments);
    va_end(arguments);
    fputc('\n', stderr);
}

sim_slot_t *sim_slot(sim_t *sim, raft_index index)
{
    if (index == 0 || index >= SIM_INDEX_MAX)
        sim_fail(sim, "index %llu outside the simulation's bound", (unsigned long long)index);
    return &sim->slots[index];
}

/* ------------------------------------------------------------------------
 * Agreement
 * ------------------------------------------------------------------------ */

static uint64_t s_fnv(uint64_t hash, const void *data, size_t size)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ bytes[i]) * UINT64_C(0x100000001B3);
    return hash;
}

static uint64_t s_fnv_number(uint64_t hash, uint64_t value)
{
    return s_fnv(hash, &value, sizeof value);
}

static uint64_t s_fnv_text(uint64_t hash, const char *text)
{
    return s_fnv(hash, text, strlen(text) + 1);
}

/* A digest of everything an entry answered, field by field. */
static uint64_t s_results_digest(const raft_fsm_result_t *result)
{
    uint64_t h = s_fnv_number(UINT64_C(0xCBF29CE484222325), (uint64_t)result->code);
    const fsm_results_t *r = result->results;
    if (!r)
        return s_fnv_text(h, result->error.message);
    h = s_fnv_number(s_fnv_number(h, r->entry_index), r->changed);
    for (uint32_t i = 0; i < r->command_count; i++) {
        const fsm_command_result_t *c = &r->commands[i];
        h = s_fnv_number(s_fnv_number(h, c->position), c->type);
        h = s_fnv_number(s_fnv_text(h, c->participant), c->sequence);
        h = s_fnv_number(s_fnv_number(h, c->accepted), (uint64_t)c->code);
        h = s_fnv_number(s_fnv_text(h, c->reason), c->claim_count);
        h = s_fnv_number(h, c->payment_count);
    }
    for (uint32_t i = 0; i < r->claim_count; i++) {
        const fsm_claim_result_t *c = &r->claims[i];
        h = s_fnv_number(s_fnv_text(h, c->claim_id), c->status);
        h = s_fnv_number(s_fnv_number(h, c->duplicate), (uint64_t)c->billed_cents);
        h = s_fnv_number(s_fnv_number(h, (uint64_t)c->paid_cents), (uint64_t)c->net_cents);
        h = s_fnv_text(h, c->reason);
    }
    for (uint32_t i = 0; i < r->payment_count; i++) {
        const fsm_payment_result_t *p = &r->payments[i];
        h = s_fnv_number(s_fnv_text(h, p->npi), p->paid);
        h = s_fnv_number(s_fnv_text(h, p->payment_id), (uint64_t)p->total_cents);
        h = s_fnv_text(s_fnv_number(h, p->claim_count), p->reason);
    }
    return h;
}

/* The committed entry at index, as one server holds it (term 0: seen only
 * applied, the term not known yet). */
static void s_agree_entry(sim_t *sim, unsigned server, raft_index index, raft_term term,
                          unsigned short type, const uint8_t digest[SIM_DIGEST_SIZE])
{
    sim_slot_t *slot = sim_slot(sim, index);
    if (!slot->entry_known) {
        slot->entry_known = true;
        slot->term = term;
        slot->type = type;
        memcpy(slot->entry_digest, digest, SIM_DIGEST_SIZE);
        return;
    }
    if (memcmp(slot->entry_digest, digest, SIM_DIGEST_SIZE) != 0 || slot->type != type)
        sim_fail(sim, "server %u: committed entry %llu differs from another server's", server,
                 (unsigned long long)index);
    if (term != 0 && slot->term != 0 && term != slot->term)
        sim_fail(sim, "server %u: committed entry %llu has term %llu, elsewhere %llu", server,
                 (unsigned long long)index, (unsigned long long)term,
                 (unsigned long long)slot->term);
    if (slot->term == 0)
        slot->term = term;
}

/* The head a server has once it applied up to index. */
static void s_agree_head(sim_t *sim, unsigned server, raft_index index)
{
    uint64_t head_index;
    uint8_t head[FSM_HASH_SIZE];
    fsm_head(sim->nodes[server].fsm, &head_index, head);
    sim_slot_t *slot = sim_slot(sim, index);
    if (!slot->head_known) {
        slot->head_known = true;
        slot->head_index = head_index;
        memcpy(slot->head_hash, head, FSM_HASH_SIZE);
        return;
    }
    if (slot->head_index != head_index || memcmp(slot->head_hash, head, FSM_HASH_SIZE) != 0)
        sim_fail(sim, "server %u: head after index %llu is link %llu, elsewhere link %llu", server,
                 (unsigned long long)index, (unsigned long long)head_index,
                 (unsigned long long)slot->head_index);
}

/* ------------------------------------------------------------------------
 * The state machine each server runs: the adapter, checked at every apply
 * ------------------------------------------------------------------------ */

/* The raft index the state machine has applied up to: libraft's last
 * applied, or, while entries are deferred, the one before the first of
 * them (the entries libraft applies without the state machine, barriers,
 * change nothing). */
static raft_index s_fsm_applied(sim_node_t *node)
{
    if (node->deferred_count > 0)
        return node->deferred[node->deferred_first] - 1;
    return raft_last_applied(raft_fixture_get(&node->sim->fixture, node->index));
}

/* Each entry as it is really applied (at once, or deferred and caught up
 * later): the same answer and the same head as on every other server.
 * The adapter applies what it deferred, in order, before anything else. */
static void s_node_applied(void *context, const raft_fsm_result_t *result)
{
    sim_node_t *node = context;
    sim_t *sim = node->sim;
    raft_index index = node->applying;
    if (node->deferred_count > 0) {
        index = node->deferred[node->deferred_first];
        node->deferred_first = (node->deferred_first + 1) % SIM_DEFERRED_MAX;
        node->deferred_count--;
    }
    uint64_t results = s_results_digest(result);
    sim_slot_t *slot = sim_slot(sim, index);
    if (!slot->results_known) {
        slot->results_known = true;
        slot->results_digest = results;
    } else if (slot->results_digest != results) {
        sim_fail(sim, "server %u: applying index %llu answered differently", node->index,
                 (unsigned long long)index);
    }
    s_agree_head(sim, node->index, index);
}

/* A follower defers half its applies, as a node's followers defer all. */
static bool s_node_defer(void *context)
{
    sim_node_t *node = context;
    sim_t *sim = node->sim;
    return raft_state(raft_fixture_get(&sim->fixture, node->index)) != RAFT_LEADER &&
           sim_rng_percent(&sim->apply_rng, SIM_DEFER_PERCENT);
}

static int s_node_apply(struct raft_fsm *wrapper, const struct raft_buffer *buffer, void **result)
{
    sim_node_t *node = wrapper->data;
    sim_t *sim = node->sim;
    /* libraft applies last_applied + 1 and only then moves last_applied. */
    raft_index index = raft_last_applied(raft_fixture_get(&sim->fixture, node->index)) + 1;
    struct raft_fsm *inner = raft_fsm_interface(node->adapter);
    uint8_t digest[SIM_DIGEST_SIZE];
    hash_sha256(buffer->base, buffer->len, digest);
    s_agree_entry(sim, node->index, index, 0, RAFT_COMMAND, digest);
    node->applying = index;
    int rv = inner->apply(inner, buffer, result);
    if (rv != 0)
        sim_fail(sim, "server %u cannot apply index %llu: %s", node->index,
                 (unsigned long long)index, raft_fsm_last_error(node->adapter)->message);
    if (raft_fsm_deferred(node->adapter) > node->deferred_count) { /* this one was deferred */
        if (node->deferred_count == SIM_DEFERRED_MAX)
            sim_fail(sim, "server %u deferred too many entries", node->index);
        node->deferred[(node->deferred_first + node->deferred_count) % SIM_DEFERRED_MAX] = index;
        node->deferred_count++;
    }
    return 0;
}

static int s_node_snapshot(struct raft_fsm *wrapper, struct raft_buffer *buffers[], unsigned *count)
{
    sim_node_t *node = wrapper->data;
    struct raft_fsm *inner = raft_fsm_interface(node->adapter);
    return inner->snapshot(inner, buffers, count);
}

static int s_node_snapshot_finalize(struct raft_fsm *wrapper, struct raft_buffer *buffers[],
                                    unsigned *count)
{
    sim_node_t *node = wrapper->data;
    struct raft_fsm *inner = raft_fsm_interface(node->adapter);
    return inner->snapshot_finalize(inner, buffers, count);
}

static int s_node_restore(struct raft_fsm *wrapper, struct raft_buffer *buffer)
{
    sim_node_t *node = wrapper->data;
    struct raft_fsm *inner = raft_fsm_interface(node->adapter);
    int rv = inner->restore(inner, buffer);
    if (rv != 0)
        sim_fail(node->sim, "server %u cannot restore a snapshot: %s", node->index,
                 raft_fsm_last_error(node->adapter)->message);
    node->restored = true;
    node->deferred_count = 0; /* the adapter dropped them: the snapshot is later */
    sim_trace(node->sim, "server %u restored a snapshot", node->index);
    return rv;
}

static void s_node_open(sim_t *sim, unsigned i)
{
    sim_node_t *node = &sim->nodes[i];
    settle_error_t error;
    settle_error_clear(&error);
    node->sim = sim;
    node->index = i;
    if (fsm_open(":memory:", &node->fsm, &error) != SETTLE_OK)
        sim_fail(sim, "fsm_open: %s", error.message);
    if (raft_fsm_new(node->fsm, &node->adapter) != SETTLE_OK)
        sim_fail(sim, "raft_fsm_new: out of memory");
    raft_fsm_on_applied(node->adapter, s_node_applied, node);
    raft_fsm_defer_when(node->adapter, s_node_defer, node);
    ledger_hold_commits(fsm_ledger(node->fsm), true);
    node->wrapper = *raft_fsm_interface(node->adapter);
    node->wrapper.data = node;
    node->wrapper.apply = s_node_apply;
    node->wrapper.snapshot = s_node_snapshot;
    node->wrapper.snapshot_finalize = s_node_snapshot_finalize;
    node->wrapper.restore = s_node_restore;
}

/* ------------------------------------------------------------------------
 * A patch to the fixture's in-memory raft_io (libraft 0.15)
 *
 * Its truncate acts at once and keeps the first index - 1 entries of its
 * array, as if the array always started at index 1 and every append
 * submitted so far were already written.  Neither holds: an installed
 * snapshot (a put with no trailing entries) empties the array, after which
 * it starts past the snapshot; and a follower may truncate while appends of
 * the entries it truncates are still under way (a real disk queues the
 * truncate behind them).  Either way the truncate copies past the end of the
 * array and corrupts the heap.  The patch remembers where the array starts,
 * and holds a truncate back until the appends submitted before it are
 * written (appends complete in order: each server's disk latency is fixed).
 * ------------------------------------------------------------------------ */

static sim_t *s_current; /* the run the patched methods belong to */

static unsigned s_server_of_io(struct raft_io *io)
{
    for (unsigned i = 0; i < s_current->servers; i++)
        if (&s_current->fixture.servers[i].io == io)
            return i;
    sim_fail(s_current, "an unknown raft_io");
}

/* Runs the held-back truncates whose earlier appends are all written. */
static void s_io_run_truncates(sim_node_t *node, struct raft_io *io)
{
    while (node->truncates_done < node->truncates_submitted) {
        unsigned slot = (unsigned)(node->truncates_done % SIM_APPENDS_MAX);
        if (node->truncates[slot].after > node->appends_done)
            return;
        int rv = node->io_truncate(io, node->truncates[slot].keep + 1);
        if (rv != 0)
            sim_fail(s_current, "server %u cannot truncate: %s", node->index, raft_strerror(rv));
        node->truncates_done++;
    }
}

static int s_io_truncate(struct raft_io *io, raft_index index)
{
    sim_node_t *node = &s_current->nodes[s_server_of_io(io)];
    raft_index keep = 0;
    if (index > 1) {
        if (index - 1 < node->io_base)
            sim_fail(s_current, "server %u truncates at %llu, inside its snapshot", node->index,
                     (unsigned long long)index);
        keep = index - 1 - node->io_base;
    }
    sim_trace(s_current, "server %u truncates at %llu (keeps %llu)", node->index,
              (unsigned long long)index, (unsigned long long)keep);
    if (node->truncates_submitted - node->truncates_done >= SIM_APPENDS_MAX)
        sim_fail(s_current, "server %u: too many truncates held back", node->index);
    unsigned slot = (unsigned)(node->truncates_submitted % SIM_APPENDS_MAX);
    node->truncates[slot].after = node->appends_submitted;
    node->truncates[slot].keep = keep;
    node->truncates_submitted++;
    s_io_run_truncates(node, io);
    return 0;
}

static void s_io_append_done(struct raft_io_append *request, int status)
{
    for (unsigned i = 0; i < s_current->servers; i++) {
        sim_node_t *node = &s_current->nodes[i];
        if (node->appends_done == node->appends_submitted)
            continue;
        unsigned slot = (unsigned)(node->appends_done % SIM_APPENDS_MAX);
        if (node->appends[slot].request != request)
            continue;
        raft_io_append_cb cb = node->appends[slot].cb;
        node->appends_done++;
        s_io_run_truncates(node, &s_current->fixture.servers[i].io);
        cb(request, status);
        return;
    }
    sim_fail(s_current, "an append completed out of order");
}

static int s_io_append(struct raft_io *io, struct raft_io_append *request,
                       const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    sim_node_t *node = &s_current->nodes[s_server_of_io(io)];
    raft_vouch_accepted(&node->vouch); /* entries of a leader's message accepted */
    if (node->appends_submitted - node->appends_done >= SIM_APPENDS_MAX)
        sim_fail(s_current, "server %u: too many appends under way", node->index);
    unsigned slot = (unsigned)(node->appends_submitted % SIM_APPENDS_MAX);
    node->appends[slot].request = request;
    node->appends[slot].cb = cb;
    int rv = node->io_append(io, request, entries, n, s_io_append_done);
    if (rv == 0)
        node->appends_submitted++;
    return rv;
}

static void s_io_put_done(struct raft_io_snapshot_put *request, int status)
{
    for (unsigned i = 0; i < s_current->servers; i++) {
        sim_node_t *node = &s_current->nodes[i];
        if (node->put_request != request)
            continue;
        node->put_request = NULL;
        if (status == 0 && node->put_trailing == 0)
            node->io_base = node->put_index;
        sim_trace(s_current, "server %u stored a snapshot of %llu (trailing %u, status %d)", i,
                  (unsigned long long)node->put_index, node->put_trailing, status);
        node->put_cb(request, status);
        return;
    }
    sim_fail(s_current, "an unknown snapshot put");
}

static int s_io_snapshot_put(struct raft_io *io, unsigned trailing,
                             struct raft_io_snapshot_put *request,
                             const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    sim_node_t *node = &s_current->nodes[s_server_of_io(io)];
    raft_vouch_accepted(&node->vouch); /* a leader's snapshot accepted */
    node->put_request = request;
    node->put_cb = cb;
    node->put_index = snapshot->index;
    node->put_trailing = trailing;
    int rv = node->io_snapshot_put(io, trailing, request, snapshot, s_io_put_done);
    if (rv != 0)
        node->put_request = NULL;
    return rv;
}

/*
 * And the node's second patch to libraft 0.15 (settle/raft_vouch.h): a
 * follower's successful answers claim no more than the current term's
 * leader was told matches.  Without it, a deposed leader holding an
 * uncommitted entry of its old term could make the new leader count it
 * toward a majority for a different entry at that index.
 */
static void s_io_recv(struct raft_io *io, struct raft_message *message)
{
    sim_node_t *node = &s_current->nodes[s_server_of_io(io)];
    raft_vouch_recv_begin(&node->vouch, message);
    node->recv(io, message);
    raft_vouch_recv_end(&node->vouch);
}

static int s_io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                      raft_io_recv_cb recv)
{
    sim_node_t *node = &s_current->nodes[s_server_of_io(io)];
    node->recv = recv;
    return node->io_start(io, msecs, tick, s_io_recv);
}

static int s_io_send(struct raft_io *io, struct raft_io_send *request,
                     const struct raft_message *message, raft_io_send_cb cb)
{
    sim_node_t *node = &s_current->nodes[s_server_of_io(io)];
    struct raft_message copy; /* the fixture copies it */
    return node->io_send(io, request, raft_vouch_send(&node->vouch, message, &copy), cb);
}

static void s_io_patch(sim_t *sim, unsigned i)
{
    struct raft_io *io = &sim->fixture.servers[i].io;
    sim->nodes[i].io_truncate = io->truncate;
    sim->nodes[i].io_snapshot_put = io->snapshot_put;
    sim->nodes[i].io_append = io->append;
    sim->nodes[i].io_start = io->start;
    sim->nodes[i].io_send = io->send;
    io->truncate = s_io_truncate;
    io->snapshot_put = s_io_snapshot_put;
    io->append = s_io_append;
    io->start = s_io_start;
    io->send = s_io_send;
}

/* ------------------------------------------------------------------------
 * Checks after every step
 * ------------------------------------------------------------------------ */

/* Entries newly committed on this server agree with every other server's. */
static void s_check_log(sim_t *sim, sim_node_t *node, struct raft *raft)
{
    const struct raft_log *log = &raft->log;
    size_t count =
        log->back >= log->front ? log->back - log->front : log->size - log->front + log->back;
    raft_index last = log->offset + count;
    raft_index upto = raft->commit_index < last ? raft->commit_index : last;
    raft_index from = node->log_checked + 1;
    if (from <= log->offset)
        from = log->offset + 1;
    for (raft_index index = from; index <= upto && count > 0; index++) {
        size_t position = (log->front + (size_t)(index - log->offset - 1)) % log->size;
        const struct raft_entry *entry = &log->entries[position];
        /* Only commands carry bytes of ours (a barrier's are uninitialised). */
        uint8_t digest[SIM_DIGEST_SIZE] = {0};
        if (entry->type == RAFT_COMMAND)
            hash_sha256(entry->buf.base, entry->buf.len, digest);
        s_agree_entry(sim, node->index, index, entry->term, entry->type, digest);
    }
    if (upto > node->log_checked)
        node->log_checked = upto;
}

/*
 * A server whose state moved (apply or restore): same head as any other
 * server at that index, and the accounting invariants.  ledger_check reads
 * the whole ledger, so by default it runs once per index reached, on the
 * first server to reach it, and again on any server whose state came from
 * a snapshot: a server with the same head at the same index applied the
 * same changes (the head covers every row written), so it holds the same
 * ledger.  SETTLE_SIM_CHECK_ALL=1 checks every server at every change.
 */
static void s_check_state(sim_t *sim, sim_node_t *node, struct raft *raft)
{
    (void)raft;
    raft_index applied = s_fsm_applied(node);
    if (applied == node->applied_seen || applied == 0)
        return;
    if (applied < node->applied_seen)
        sim_fail(sim, "server %u went back from index %llu to %llu", node->index,
                 (unsigned long long)node->applied_seen, (unsigned long long)applied);
    node->applied_seen = applied;
    s_agree_head(sim, node->index, applied);
    sim_slot_t *slot = sim_slot(sim, applied);
    if (slot->invariants_checked && !node->restored && !sim->check_every_server)
        return;
    settle_error_t error;
    settle_error_clear(&error);
    if (ledger_check(fsm_ledger(node->fsm), &error) != SETTLE_OK)
        sim_fail(sim, "server %u at index %llu: %s", node->index, (unsigned long long)applied,
                 error.message);
    slot->invariants_checked = true;
    node->restored = false;
}

/* Between the fixture's steps: a server catches up on what it deferred,
 * and a ledger commits what it holds, now and then. */
static void s_node_between(sim_t *sim, sim_node_t *node)
{
    if (raft_fsm_deferred(node->adapter) > 0 &&
        sim_rng_percent(&sim->apply_rng, SIM_CATCH_UP_PERCENT) &&
        raft_fsm_catch_up(node->adapter) != SETTLE_OK)
        sim_fail(sim, "server %u cannot catch up: %s", node->index,
                 raft_fsm_last_error(node->adapter)->message);
    settle_error_t error;
    settle_error_clear(&error);
    ledger_t *ledger = fsm_ledger(node->fsm);
    if (ledger_unflushed(ledger) && sim_rng_percent(&sim->apply_rng, SIM_FLUSH_PERCENT) &&
        ledger_flush(ledger, &error) != SETTLE_OK)
        sim_fail(sim, "server %u cannot commit its ledger: %s", node->index, error.message);
}

static void s_check_all(sim_t *sim)
{
    for (unsigned i = 0; i < sim->servers; i++) {
        struct raft *raft = raft_fixture_get(&sim->fixture, i);
        if (!sim->closing)
            s_node_between(sim, &sim->nodes[i]);
        s_check_log(sim, &sim->nodes[i], raft);
        s_check_state(sim, &sim->nodes[i], raft);
    }
}

static void s_hook(struct raft_fixture *fixture, struct raft_fixture_event *event)
{
    (void)event;
    sim_t *sim = (sim_t *)(void *)((char *)fixture - offsetof(sim_t, fixture));
    s_check_all(sim);
}

/* ------------------------------------------------------------------------
 * Faults
 * ------------------------------------------------------------------------ */

static unsigned s_dead_count(sim_t *sim)
{
    unsigned dead = 0;
    for (unsigned i = 0; i < sim->servers; i++)
        dead += !raft_fixture_alive(&sim->fixture, i);
    return dead;
}

/* Kills a server while a majority stays alive, or revives one. */
static void s_fault_crash(sim_t *sim, unsigned i)
{
    struct raft_fixture *f = &sim->fixture;
    if (raft_fixture_alive(f, i) && s_dead_count(sim) < (sim->servers - 1) / 2) {
        sim_trace(sim, "kill %u", i);
        raft_fixture_kill(f, i);
        return;
    }
    for (unsigned k = 0; k < sim->servers; k++) {
        unsigned j = (i + k) % sim->servers;
        if (!raft_fixture_alive(f, j)) {
            sim_trace(sim, "revive %u", j);
            raft_fixture_revive(f, j);
            return;
        }
    }
}

/* Cuts (one way or both) or heals the link between two live servers. */
static void s_fault_link(sim_t *sim, unsigned i, unsigned j, bool cut)
{
    struct raft_fixture *f = &sim->fixture;
    if (i == j || !raft_fixture_alive(f, i) || !raft_fixture_alive(f, j))
        return;
    if (!cut) {
        sim_trace(sim, "heal %u <-> %u", i, j);
        raft_fixture_desaturate(f, i, j);
        raft_fixture_desaturate(f, j, i);
        return;
    }
    bool both = sim_rng_percent(&sim->rng, 50);
    sim_trace(sim, "cut %u %s %u", i, both ? "<->" : "->", j);
    raft_fixture_saturate(f, i, j);
    if (both)
        raft_fixture_saturate(f, j, i);
}

/*
 * Deposes a stable leader.  raft_fixture_depose writes the other servers'
 * follower timers straight into their struct raft (and only asserts that
 * they are followers), so it is called only when every other server is a
 * follower: on a stale leader or a candidate it would corrupt the state.
 */
static void s_fault_depose(sim_t *sim)
{
    struct raft_fixture *f = &sim->fixture;
    if (f->leader_id == 0)
        return;
    unsigned leader = (unsigned)f->leader_id - 1;
    if (!raft_fixture_alive(f, leader) || raft_state(raft_fixture_get(f, leader)) != RAFT_LEADER)
        return;
    for (unsigned i = 0; i < sim->servers; i++)
        if (i != leader && raft_state(raft_fixture_get(f, i)) != RAFT_FOLLOWER)
            return;
    sim_trace(sim, "depose %u", leader);
    raft_fixture_depose(f);
}

static void s_fault(sim_t *sim)
{
    struct raft_fixture *f = &sim->fixture;
    unsigned i = (unsigned)sim_rng_below(&sim->rng, sim->servers);
    unsigned j = (unsigned)sim_rng_below(&sim->rng, sim->servers);
    unsigned milliseconds;
    sim->faults++;
    switch (sim_rng_below(&sim->rng, 7)) {
    case 0:
    case 1:
        s_fault_crash(sim, i);
        break;
    case 2:
        s_fault_link(sim, i, j, true);
        break;
    case 3:
        s_fault_link(sim, i, j, false);
        break;
    case 4:
        s_fault_depose(sim);
        break;
    case 5:
        milliseconds = 2 + (unsigned)sim_rng_below(&sim->rng, 150);
        sim_trace(sim, "latency of %u: %u ms", i, milliseconds);
        raft_fixture_set_network_latency(f, i, milliseconds);
        break;
    default:
        milliseconds = 1000 + (unsigned)sim_rng_below(&sim->rng, 1000);
        sim_trace(sim, "election timeout of %u: %u ms", i, milliseconds);
        raft_fixture_set_randomized_election_timeout(f, i, milliseconds);
        break;
    }
}

/* Everything back: every server alive, every link up, default latencies. */
static void s_heal(sim_t *sim)
{
    struct raft_fixture *f = &sim->fixture;
    for (unsigned i = 0; i < sim->servers; i++)
        if (!raft_fixture_alive(f, i))
            raft_fixture_revive(f, i);
    for (unsigned i = 0; i < sim->servers; i++) {
        raft_fixture_set_network_latency(f, i, 15);
        raft_fixture_set_randomized_election_timeout(f, i, 1000 + i * 100);
        for (unsigned j = 0; j < sim->servers; j++)
            if (i != j)
                raft_fixture_desaturate(f, i, j);
    }
    sim_trace(sim, "healed");
}

/* ------------------------------------------------------------------------
 * A run
 * ------------------------------------------------------------------------ */

static void s_start(sim_t *sim)
{
    struct raft_fixture *f = &sim->fixture;
    if (raft_fixture_initialize(f) != 0)
        sim_fail(sim, "raft_fixture_initialize failed");
    for (unsigned i = 0; i < sim->servers; i++) {
        s_node_open(sim, i);
        if (raft_fixture_grow(f, &sim->nodes[i].wrapper) != 0)
            sim_fail(sim, "raft_fixture_grow failed");
        s_io_patch(sim, i);
    }
    struct raft_configuration configuration;
    if (raft_fixture_configuration(f, sim->servers, &configuration) != 0 ||
        raft_fixture_bootstrap(f, &configuration) != 0)
        sim_fail(sim, "cannot bootstrap the cluster");
    raft_configuration_close(&configuration);
    /* Low thresholds, so that lagging servers catch up by snapshot.  The
     * trailing entries are as many as the threshold, the same on every
     * server: with fewer, libraft 0.15 can leave a follower whose own
     * snapshot is ahead of the leader's unable to match the leader's
     * AppendEntries (it refuses indexes it compacted away, and ignores the
     * leader's older snapshot), and the follower never catches up. */
    /* Each server's disk latency is drawn once: with a fixed latency its
     * appends complete in the order they were made (see the patch above). */
    for (unsigned i = 0; i < sim->servers; i++)
        raft_fixture_set_disk_latency(f, i, 1 + (unsigned)sim_rng_below(&sim->rng, 40));
    unsigned threshold = 4 + (unsigned)sim_rng_below(&sim->rng, 29);
    for (unsigned i = 0; i < sim->servers; i++) {
        struct raft *raft = raft_fixture_get(f, i);
        raft_set_snapshot_threshold(raft, threshold);
        raft_set_snapshot_trailing(raft, threshold);
    }
    if (raft_fixture_start(f) != 0)
        sim_fail(sim, "raft_fixture_start failed");
    raft_fixture_hook(f, s_hook);
}

static void s_script(sim_t *sim)
{
    unsigned actions = SIM_ACTIONS_MIN + (unsigned)sim_rng_below(&sim->rng, SIM_ACTIONS_SPREAD);
    for (unsigned a = 0; a < actions; a++) {
        sim_workload_submit(sim, true);
        if (sim_rng_percent(&sim->rng, 2))
            sim_workload_submit_junk(sim);
        if (sim_rng_percent(&sim->rng, SIM_FAULT_PERCENT))
            s_fault(sim);
        unsigned steps = 1 + (unsigned)sim_rng_below(&sim->rng, SIM_STEPS_PER_ACTION);
        for (unsigned s = 0; s < steps; s++)
            raft_fixture_step(&sim->fixture);
        sim_workload_timeouts(sim);
    }
}

/* Each server's raft state, for a failure report. */
static void s_describe(const sim_t *sim)
{
    for (unsigned i = 0; i < sim->servers; i++) {
        const struct raft *raft = &sim->fixture.servers[i].raft;
        fprintf(stderr,
                "sim: server %u: %s, state %d, term %llu, log %llu..%llu, commit %llu, "
                "applied %llu, snapshot %llu\n",
                i, sim->fixture.servers[i].alive ? "alive" : "dead", (int)raft->state,
                (unsigned long long)raft->current_term, (unsigned long long)raft->log.offset,
                (unsigned long long)raft_last_index((struct raft *)raft),
                (unsigned long long)raft->commit_index, (unsigned long long)raft->last_applied,
                (unsigned long long)raft->log.snapshot.last_index);
    }
}

static void s_barrier_cb(struct raft_barrier *request, int status)
{
    *(int *)request->data = status == 0 ? 1 : -1;
}

/*
 * The healed cluster finishes: the clients get every command answered,
 * then a barrier commits whatever the leader holds, and every server
 * applies up to it.  Returns the index every server reached.
 */
static raft_index s_finish(sim_t *sim)
{
    struct raft_fixture *f = &sim->fixture;
    raft_time deadline = f->time + SIM_SETTLE_MS;
    while (!sim_workload_quiet(sim) && f->time < deadline) {
        sim_workload_submit(sim, false);
        raft_fixture_step_n(f, 20);
        sim_workload_timeouts(sim);
    }
    if (!sim_workload_quiet(sim))
        sim_fail(sim, "the healed cluster did not answer every client");
    struct raft_barrier barrier;
    int done = 0;
    while (done != 1 && f->time < deadline) {
        unsigned leader = raft_fixture_leader_index(f);
        if (leader >= sim->servers) {
            raft_fixture_step(f);
            continue;
        }
        done = 0;
        memset(&barrier, 0, sizeof barrier);
        barrier.data = &done;
        if (raft_barrier(raft_fixture_get(f, leader), &barrier, s_barrier_cb) != 0) {
            raft_fixture_step(f);
            continue;
        }
        while (done == 0 && f->time < deadline)
            raft_fixture_step(f);
    }
    if (done != 1)
        sim_fail(sim, "the healed cluster committed no barrier");
    if (!raft_fixture_step_until_applied(f, sim->servers, barrier.index, SIM_SETTLE_MS)) {
        s_describe(sim);
        sim_fail(sim, "not every server applied index %llu", (unsigned long long)barrier.index);
    }
    return barrier.index;
}

static void s_final_checks(sim_t *sim, raft_index index)
{
    if (index < sim->acknowledged_max)
        sim_fail(sim, "final index %llu is below an acknowledged one", (unsigned long long)index);
    for (unsigned i = 0; i < sim->servers; i++)
        if (raft_fsm_catch_up(sim->nodes[i].adapter) != SETTLE_OK)
            sim_fail(sim, "server %u cannot catch up: %s", i,
                     raft_fsm_last_error(sim->nodes[i].adapter)->message);
    uint64_t head_index0 = 0;
    uint8_t head0[FSM_HASH_SIZE];
    for (unsigned i = 0; i < sim->servers; i++) {
        uint64_t head_index;
        uint8_t head[FSM_HASH_SIZE];
        fsm_head(sim->nodes[i].fsm, &head_index, head);
        if (i == 0) {
            head_index0 = head_index;
            memcpy(head0, head, FSM_HASH_SIZE);
        } else if (head_index != head_index0 || memcmp(head, head0, FSM_HASH_SIZE) != 0) {
            sim_fail(sim, "server %u ends at link %llu, server 0 at link %llu", i,
                     (unsigned long long)head_index, (unsigned long long)head_index0);
        }
    }
    s_check_all(sim);
    sim_workload_check_acknowledged(sim);
}

/* Totals over the seeds, printed at the end. */
typedef struct {
    uint64_t runs;
    uint64_t indexes;
    uint64_t acknowledged;
    uint64_t accepted;
    uint64_t faults;
    uint64_t snapshots_taken;
    uint64_t snapshots_restored;
    uint64_t refused;
} s_totals_t;

static void s_close(sim_t *sim, s_totals_t *totals)
{
    sim->closing = true;
    raft_fixture_close(&sim->fixture);
    for (unsigned i = 0; i < sim->servers; i++) {
        raft_fsm_stats_t stats;
        raft_fsm_stats(sim->nodes[i].adapter, &stats);
        totals->snapshots_taken += stats.snapshots_taken;
        totals->snapshots_restored += stats.snapshots_restored;
        totals->refused += stats.entries_refused;
        raft_fsm_destroy(&sim->nodes[i].adapter);
        fsm_destroy(&sim->nodes[i].fsm);
    }
    sim_workload_fini(sim);
}

static void s_run(uint64_t seed, bool verbose, bool check_every_server, s_totals_t *totals)
{
    sim_t *sim = calloc(1, sizeof *sim);
    if (!sim || !(sim->requests = calloc(SIM_REQUESTS_MAX, sizeof *sim->requests))) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    sim->seed = seed;
    sim->verbose = verbose;
    sim->check_every_server = check_every_server;
    sim->rng.state = seed ^ UINT64_C(0x5E771E5E771E0000);
    sim->apply_rng.state = seed ^ UINT64_C(0xA9917A9917A90000);
    sim->servers = seed % 2 ? 5 : 3;
    s_current = sim;
    s_start(sim);
    sim_workload_init(sim);
    s_script(sim);
    s_heal(sim);
    raft_index index = s_finish(sim);
    s_final_checks(sim, index);
    totals->runs++;
    totals->indexes += index;
    totals->acknowledged += sim->acknowledged;
    totals->accepted += sim->commands_accepted;
    totals->faults += sim->faults;
    sim_trace(sim, "seed %llu done: index %llu, %llu acknowledged", (unsigned long long)seed,
              (unsigned long long)index, (unsigned long long)sim->acknowledged);
    s_close(sim, totals);
    free(sim->requests);
    free(sim);
    s_current = NULL;
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */

/* A whole decimal number from text; false for anything else. */
static bool s_parse(const char *text, uint64_t *value_out)
{
    if (!text || !*text || *text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *value_out = value;
    return true;
}

static uint64_t s_number(const char *text, const char *what, uint64_t otherwise)
{
    if (!text)
        return otherwise;
    uint64_t value;
    if (!s_parse(text, &value)) {
        fprintf(stderr, "sim: %s: expected a whole number, found \"%s\"\n", what, text);
        exit(2);
    }
    return value;
}

/* Whether an environment flag is set to something other than "" or "0". */
static bool s_flag(const char *name)
{
    const char *text = getenv(name);
    return text && *text && strcmp(text, "0") != 0;
}

int main(int argc, char **argv)
{
    uint64_t first = s_number(argc > 1 ? argv[1] : NULL, "first seed", 1);
    uint64_t count = s_number(argc > 2 ? argv[2] : NULL, "seed count", SIM_DEFAULT_SEEDS);
    count = s_number(getenv("SETTLE_SIM_SEEDS"), "SETTLE_SIM_SEEDS", count);
    const char *replay = getenv("SETTLE_SIM_SEED");
    if (replay) {
        first = s_number(replay, "SETTLE_SIM_SEED", 0);
        count = 1;
    }
    bool verbose = s_flag("SETTLE_SIM_VERBOSE");
    bool check_every_server = s_flag("SETTLE_SIM_CHECK_ALL");
    sim_workload_global_init(SETTLE_SOURCE_DIR);
    s_totals_t totals;
    memset(&totals, 0, sizeof totals);
    for (uint64_t seed = first; seed < first + count; seed++)
        s_run(seed, verbose, check_every_server, &totals);
    sim_workload_global_fini();
    printf("sim: %llu seeds from %llu passed: %llu indexes, %llu entries acknowledged, "
           "%llu commands applied, %llu faults, %llu snapshots taken, %llu installed, "
           "%llu refusals of junk entries\n",
           (unsigned long long)totals.runs, (unsigned long long)first,
           (unsigned long long)totals.indexes, (unsigned long long)totals.acknowledged,
           (unsigned long long)totals.accepted, (unsigned long long)totals.faults,
           (unsigned long long)totals.snapshots_taken,
           (unsigned long long)totals.snapshots_restored, (unsigned long long)totals.refused);
    return 0;
}
