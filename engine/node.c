/*
 * node.c - settled's Raft side: libraft with its TCP transport and on-disk
 * log (raft_uv) over the real state machine on a SQLite file, all on one
 * libuv loop.  Requests come from the intake thread (node_intake.c); the
 * leader stamps each submitted entry with its clock (the only clock any
 * entry carries) and answers once the entry is applied.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>

#include "node_internal.h"
#include "settle/alloc.h"
#include "settle/fsm.h"
#include "settle/genesis.h"
#include "settle/raft_fsm.h"

#define TICK_MS            200
#define SNAPSHOT_THRESHOLD 1024
#define BODY_LINE_SIZE     (FSM_REASON_SIZE + 160)

typedef struct {
    const node_config_t *config;
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    fsm_t *fsm;
    raft_fsm_t *adapter;
    genesis_t *genesis;
    node_intake_t *intake;
    uv_signal_t sigterm, sigint;
    uv_timer_t tick;
    bool stopping;
    bool genesis_pending;
    struct raft_barrier barrier;
    struct raft_apply genesis_apply;
} node_t;

/* A submit waiting for its entry to be applied. */
typedef struct {
    struct raft_apply request; /* request.data: the node */
    zframe_t *identity;
    zframe_t *request_id;
} s_pending_t;

static uint64_t s_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static void s_reply(node_t *n, zframe_t *identity, zframe_t *request_id, const char *status,
                    const char *text)
{
    node_intake_reply(n->intake, identity, request_id, status, text, strlen(text));
}

/* "index N\nhash HEX\n" into out. */
static size_t s_head_text(node_t *n, char *out, size_t size)
{
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(n->fsm, &index, hash);
    size_t used = (size_t)snprintf(out, size, "index %llu\nhash ", (unsigned long long)index);
    for (size_t i = 0; i < FSM_HASH_SIZE && used + 3 < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%02x", hash[i]);
    used += (size_t)snprintf(out + used, size - used, "\n");
    return used < size ? used : size - 1;
}

/* ------------------------------------------------------------------------
 * Submissions
 * ------------------------------------------------------------------------ */

/* The applied entry's results as the reply text (node.h); NULL when out of memory. */
static char *s_results_text(node_t *n, const fsm_results_t *r, size_t *size_out)
{
    size_t size = (2u + r->command_count + r->claim_count) * BODY_LINE_SIZE;
    char *text = settle_malloc(size);
    if (!text)
        return NULL;
    size_t used = s_head_text(n, text, size);
    for (uint32_t i = 0; i < r->command_count && used < size; i++) {
        const fsm_command_result_t *c = &r->commands[i];
        used += (size_t)snprintf(text + used, size - used, "command %u %s %s %s\n", c->position,
                                 command_type_name(c->type), c->accepted ? "accepted" : "rejected",
                                 c->reason);
    }
    for (uint32_t i = 0; i < r->claim_count && used < size; i++) {
        const fsm_claim_result_t *c = &r->claims[i];
        used += (size_t)snprintf(text + used, size - used,
                                 "claim %s %u billed=%lld paid=%lld duplicate=%d %s\n", c->claim_id,
                                 c->status, (long long)c->billed_cents, (long long)c->paid_cents,
                                 c->duplicate ? 1 : 0, c->reason);
    }
    *size_out = used < size ? used : size - 1;
    return text;
}

static void s_applied(struct raft_apply *request, int status, void *result)
{
    s_pending_t *pending = (s_pending_t *)request;
    node_t *n = request->data;
    const raft_fsm_result_t *out = result;
    if (status != 0) {
        s_reply(n, pending->identity, pending->request_id, "retry", raft_strerror(status));
    } else if (out->code != SETTLE_OK) {
        s_reply(n, pending->identity, pending->request_id, "error", out->error.message);
    } else {
        size_t size = 0;
        char *text = s_results_text(n, out->results, &size);
        if (text)
            node_intake_reply(n->intake, pending->identity, pending->request_id, "ok", text, size);
        else
            s_reply(n, pending->identity, pending->request_id, "retry", "out of memory");
        settle_free(text);
    }
    zframe_destroy(&pending->identity);
    zframe_destroy(&pending->request_id);
    settle_free(pending);
}

/* Not the leader: name the leader's intake, or ask to retry. */
static void s_not_leader(node_t *n, zframe_t *identity, zframe_t *request_id)
{
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(&n->raft, &leader, &address);
    for (unsigned i = 0; leader && i < n->config->peer_count; i++)
        if (n->config->peers[i].id == leader && leader != n->config->id) {
            s_reply(n, identity, request_id, "redirect", n->config->peers[i].intake);
            return;
        }
    s_reply(n, identity, request_id, "retry", "no leader yet");
}

/* Checks the commands (frames left in request), stamps the entry, applies it. */
static void s_submit(node_t *n, zmsg_t *request, zframe_t *identity, zframe_t *request_id)
{
    size_t count = zmsg_size(request);
    if (count == 0 || count > COMMAND_ENTRY_COMMANDS_MAX) {
        s_reply(n, identity, request_id, "error", "submit: 1..4096 commands expected");
        return;
    }
    const uint8_t *commands[COMMAND_ENTRY_COMMANDS_MAX];
    size_t sizes[COMMAND_ENTRY_COMMANDS_MAX];
    size_t i = 0;
    for (zframe_t *f = zmsg_first(request); f; f = zmsg_next(request), i++) {
        commands[i] = zframe_data(f);
        sizes[i] = zframe_size(f);
        settle_error_t reason;
        settle_error_clear(&reason);
        if (fsm_check_command(n->fsm, commands[i], sizes[i], &reason) != SETTLE_OK) {
            char text[SETTLE_ERROR_MESSAGE_SIZE + 32];
            snprintf(text, sizeof text, "command %zu: %s", i, reason.message);
            s_reply(n, identity, request_id, "error", text);
            return;
        }
    }
    uint8_t *entry = NULL;
    size_t entry_size = 0;
    struct raft_buffer buffer = {0};
    s_pending_t *pending = settle_calloc(1, sizeof *pending);
    int rc = pending ? command_entry_encode(s_now_ms(), commands, sizes, (uint32_t)count, &entry,
                                            &entry_size)
                     : SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK)
        rc = raft_fsm_buffer(entry, entry_size, &buffer);
    settle_free(entry);
    if (rc != SETTLE_OK) {
        settle_free(pending);
        s_reply(n, identity, request_id, "error", settle_strerror(rc));
        return;
    }
    pending->request.data = n;
    pending->identity = zframe_dup(identity);
    pending->request_id = zframe_dup(request_id);
    rc = raft_apply(&n->raft, &pending->request, &buffer, 1, s_applied);
    if (rc != 0) {
        raft_free(buffer.base);
        s_reply(n, identity, request_id, "retry", raft_strerror(rc));
        zframe_destroy(&pending->identity);
        zframe_destroy(&pending->request_id);
        settle_free(pending);
    }
}

/* The intake's hand-off: one request, on the loop's thread. */
static void s_on_request(void *context, zmsg_t *request)
{
    node_t *n = context;
    zframe_t *identity = zmsg_pop(request);
    zframe_t *request_id = zmsg_pop(request);
    char *verb = zmsg_popstr(request);
    char text[256];
    if (n->stopping) {
        s_reply(n, identity, request_id, "retry", "the node is stopping");
    } else if (verb && strcmp(verb, "head") == 0) {
        size_t size = s_head_text(n, text, sizeof text);
        raft_id leader = 0;
        const char *address = NULL;
        raft_leader(&n->raft, &leader, &address);
        size += (size_t)snprintf(text + size, sizeof text - size, "leader %llu\n",
                                 (unsigned long long)leader);
        node_intake_reply(n->intake, identity, request_id, "ok", text, size);
    } else if (verb && strcmp(verb, "submit") == 0) {
        if (raft_state(&n->raft) != RAFT_LEADER)
            s_not_leader(n, identity, request_id);
        else
            s_submit(n, request, identity, request_id);
    } else {
        s_reply(n, identity, request_id, "error", "unknown verb (expected submit or head)");
    }
    zstr_free(&verb);
    zframe_destroy(&identity);
    zframe_destroy(&request_id);
    zmsg_destroy(&request);
}

/* ------------------------------------------------------------------------
 * Genesis: the leader of a cluster whose ledger is empty submits it
 * ------------------------------------------------------------------------ */

static void s_genesis_applied(struct raft_apply *request, int status, void *result)
{
    node_t *n = request->data;
    const raft_fsm_result_t *out = result;
    n->genesis_pending = false;
    if (status != 0)
        node_log(n->config->id, "warn", "genesis", "not applied: %s", raft_strerror(status));
    else if (out->results)
        node_log(n->config->id, "info", "genesis", "applied: %u commands, changed=%d",
                 out->results->command_count, out->results->changed ? 1 : 0);
}

/* Every earlier entry is applied: if the ledger is still empty, apply genesis. */
static void s_barrier_done(struct raft_barrier *barrier, int status)
{
    node_t *n = barrier->data;
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(n->fsm, &index, hash);
    uint8_t *entry = NULL;
    size_t size = 0;
    struct raft_buffer buffer = {0};
    if (status != 0 || index != 0 || n->stopping ||
        genesis_entry(n->genesis, s_now_ms(), &entry, &size) != SETTLE_OK ||
        raft_fsm_buffer(entry, size, &buffer) != SETTLE_OK) {
        settle_free(entry);
        n->genesis_pending = false;
        return;
    }
    settle_free(entry);
    n->genesis_apply.data = n;
    if (raft_apply(&n->raft, &n->genesis_apply, &buffer, 1, s_genesis_applied) != 0) {
        raft_free(buffer.base);
        n->genesis_pending = false;
    }
}

static void s_tick(uv_timer_t *timer)
{
    node_t *n = timer->data;
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(n->fsm, &index, hash);
    if (n->stopping || n->genesis_pending || index != 0 || raft_state(&n->raft) != RAFT_LEADER)
        return;
    n->genesis_pending = true;
    n->barrier.data = n;
    if (raft_barrier(&n->raft, &n->barrier, s_barrier_done) != 0)
        n->genesis_pending = false;
}

/* ------------------------------------------------------------------------
 * Life: start, stop
 * ------------------------------------------------------------------------ */

static void s_handle_closed(uv_handle_t *handle)
{
    (void)handle;
}

static void s_raft_closed(struct raft *raft)
{
    node_t *n = raft->data;
    raft_uv_close(&n->io);
    raft_uv_tcp_close(&n->transport);
    node_intake_destroy(&n->intake);
    uv_close((uv_handle_t *)&n->tick, s_handle_closed);
    uv_close((uv_handle_t *)&n->sigterm, s_handle_closed);
    uv_close((uv_handle_t *)&n->sigint, s_handle_closed);
}

static void s_signal(uv_signal_t *handle, int signum)
{
    node_t *n = handle->data;
    if (n->stopping)
        return;
    n->stopping = true;
    node_log(n->config->id, "info", "stop", "signal %d: stopping", signum);
    alarm((NODE_STOP_MS_MAX + 999) / 1000); /* bounded: SIGALRM ends us if the close hangs */
    raft_close(&n->raft, s_raft_closed);
}

/* Opens the ledger, the genesis and libraft; bootstraps an empty log. */
static int s_open(node_t *n, settle_error_t *error)
{
    const node_config_t *c = n->config;
    char path[NODE_PATH_SIZE + 32];
    if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST)
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot create: %s", c->data_dir,
                                strerror(errno));
    int rc = genesis_load(c->genesis, &n->genesis, error);
    if (rc != SETTLE_OK)
        return rc;
    settle_error_clear(error);
    snprintf(path, sizeof path, "%s/ledger.sqlite", c->data_dir);
    rc = fsm_open(path, &n->fsm, error);
    if (rc == SETTLE_OK)
        rc = raft_fsm_new(n->fsm, &n->adapter);
    if (rc != SETTLE_OK)
        return rc;
    if (uv_loop_init(&n->loop) != 0 || raft_uv_tcp_init(&n->transport, &n->loop) != 0 ||
        raft_uv_init(&n->io, &n->loop, c->data_dir, &n->transport) != 0 ||
        raft_init(&n->raft, &n->io, raft_fsm_interface(n->adapter), c->id, c->raft_address) != 0)
        return settle_error_set(error, SETTLE_ERR_IO, "raft: cannot initialise in %s: %s",
                                c->data_dir, raft_errmsg(&n->raft));
    n->raft.data = n;
    raft_set_election_timeout(&n->raft, c->election_timeout_ms);
    raft_set_heartbeat_timeout(&n->raft, c->heartbeat_timeout_ms);
    raft_set_snapshot_threshold(&n->raft, SNAPSHOT_THRESHOLD);
    raft_set_snapshot_trailing(&n->raft, SNAPSHOT_THRESHOLD);
    struct raft_configuration configuration;
    raft_configuration_init(&configuration);
    for (unsigned i = 0; i < c->peer_count; i++)
        raft_configuration_add(&configuration, c->peers[i].id, c->peers[i].raft_address,
                               RAFT_VOTER);
    rc = raft_bootstrap(&n->raft, &configuration);
    raft_configuration_close(&configuration);
    if (rc != 0 && rc != RAFT_CANTBOOTSTRAP)
        return settle_error_set(error, SETTLE_ERR_IO, "raft: bootstrap: %s", raft_strerror(rc));
    node_log(c->id, "info", "open", "bootstrap=%s", rc == 0 ? "yes" : "no (log not empty)");
    return SETTLE_OK;
}

/* Starts raft, the intake, the signals and the tick. */
static int s_start(node_t *n, settle_error_t *error)
{
    int rc = raft_start(&n->raft);
    if (rc != 0)
        return settle_error_set(error, SETTLE_ERR_IO, "raft: start: %s", raft_errmsg(&n->raft));
    n->intake = node_intake_new(n->config->intake, &n->loop, s_on_request, n, error);
    if (!n->intake)
        return SETTLE_ERR_IO;
    uv_signal_init(&n->loop, &n->sigterm);
    uv_signal_init(&n->loop, &n->sigint);
    n->sigterm.data = n->sigint.data = n;
    uv_signal_start(&n->sigterm, s_signal, SIGTERM);
    uv_signal_start(&n->sigint, s_signal, SIGINT);
    uv_timer_init(&n->loop, &n->tick);
    n->tick.data = n;
    uv_timer_start(&n->tick, s_tick, TICK_MS, TICK_MS);
    node_log(n->config->id, "info", "start", "raft=%s intake=%s data_dir=%s",
             n->config->raft_address, n->config->intake, n->config->data_dir);
    return SETTLE_OK;
}

int node_run(const node_config_t *config, settle_error_t *error)
{
    node_t *n = settle_calloc(1, sizeof *n);
    if (!n)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    n->config = config;
    zsys_handler_set(NULL);   /* libuv handles the signals, not czmq */
    signal(SIGPIPE, SIG_IGN); /* a peer that died mid-write is an error return, not our end */
    int rc = s_open(n, error);
    if (rc == SETTLE_OK)
        rc = s_start(n, error);
    if (rc == SETTLE_OK) {
        uv_run(&n->loop, UV_RUN_DEFAULT);
        node_log(config->id, "info", "stopped", "clean stop");
        uv_loop_close(&n->loop);
    }
    /* A failed start exits the process: the loop's half-made handles go with it. */
    raft_fsm_destroy(&n->adapter);
    fsm_destroy(&n->fsm);
    genesis_destroy(&n->genesis);
    if (rc == SETTLE_OK)
        settle_free(n);
    return rc;
}
