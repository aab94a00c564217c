/*
 * node.c - settled's Raft side and its life: libraft with its TCP transport
 * and on-disk log (raft_uv) over the real state machine on a SQLite file,
 * all on one libuv loop; the intake (node_intake.c) and the events socket
 * (node_events.c) beside it; start, genesis, stop.  What each request gets
 * is node_serve.c's.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_internal.h"
#include "node_zap.h"
#include "settle/alloc.h"

#define TICK_MS     200
#define CATCH_UP_MS 5 /* a follower applies at the latest this long after a commit */

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
    raft_fsm_catch_up(n->adapter); /* entries deferred while this node followed */
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(n->fsm, &index, hash);
    uint8_t *entry = NULL;
    size_t size = 0;
    struct raft_buffer buffer = {0};
    if (status != 0 || index != 0 || n->stopping ||
        genesis_entry(n->genesis, node_now_ms(), &entry, &size) != SETTLE_OK ||
        raft_fsm_buffer(entry, size, &buffer) != SETTLE_OK) {
        settle_free(entry);
        n->genesis_pending = false;
        return;
    }
    settle_free(entry);
    n->genesis_apply.data = n;
    int rc = raft_apply(&n->raft, &n->genesis_apply, &buffer, 1, s_genesis_applied);
    if (rc != 0) {
        raft_fsm_buffer_refused(&buffer, rc);
        n->genesis_pending = false;
    }
}

/* ------------------------------------------------------------------------
 * A follower applies after it answers (raft_fsm_defer_when)
 * ------------------------------------------------------------------------ */

/* Applies what this follower deferred, then commits it. */
static void s_catch_up(node_t *n)
{
    uv_timer_stop(&n->catch_up);
    if (raft_fsm_deferred(n->adapter) == 0)
        return;
    if (raft_fsm_catch_up(n->adapter) != SETTLE_OK)
        node_log(n->config->id, "warn", "apply", "deferred entries: %s (tried again later)",
                 raft_fsm_last_error(n->adapter)->message);
    node_flush_ledger(n);
}

/* Right after the appends of a turn started: the disk is busy with them,
 * and the leader waits for that write, not for this apply. */
static void s_appends_started(void *context)
{
    s_catch_up(context);
}

static void s_catch_up_timer(uv_timer_t *timer)
{
    s_catch_up(timer->data);
}

/* raft_uv refused to start a log write (node_io.h): the node cannot know
 * what its log holds, and ends; a restart loads it from the disk. */
static void s_append_failed(void *context, int status)
{
    node_t *n = context;
    node_log(n->config->id, "error", "raft",
             "a log write or snapshot store failed: %s; stopping (a restart loads the log as "
             "stored)",
             raft_strerror(status));
    fflush(stderr);
    _exit(1);
}

/* ------------------------------------------------------------------------
 * The ledger's entries are committed once a turn of the loop (held commits)
 * ------------------------------------------------------------------------ */

void node_flush_ledger(node_t *n)
{
    ledger_t *ledger = fsm_ledger(n->fsm);
    settle_error_t error;
    settle_error_clear(&error);
    if (ledger_unflushed(ledger) && ledger_flush(ledger, &error) != SETTLE_OK)
        node_log(n->config->id, "error", "ledger", "%s", error.message);
    if (ledger_lost(ledger)) {
        /* Applied entries are missing from the ledger: only a rebuild from
         * the Raft log (a fresh start) makes it whole. */
        node_log(n->config->id, "error", "ledger",
                 "entries applied since the last commit were lost; stopping (a restart "
                 "rebuilds the ledger from the Raft log)");
        fflush(stderr);
        _exit(1); /* not exit: the other threads still use what atexit would close */
    }
    if (n->participants_changed && n->intake) {
        n->participants_changed = false;
        node_intake_participants_changed(n->intake);
    }
}

static void s_flush(uv_check_t *check)
{
    node_flush_ledger(check->data);
}

/* Defer while not leading.  The entries are applied when the next
 * append has started (the leader sends the commit index with the next
 * entries), or CATCH_UP_MS after the last deferral, when none comes. */
static bool s_defer_apply(void *context)
{
    node_t *n = context;
    if (raft_state(&n->raft) == RAFT_LEADER || n->stopping)
        return false;
    if (!uv_is_active((uv_handle_t *)&n->catch_up)) /* at the latest: not pushed back */
        uv_timer_start(&n->catch_up, s_catch_up_timer, CATCH_UP_MS, 0);
    return true;
}

/* After each entry libraft applies: its next snapshot check (after this
 * apply) takes one only when the log since the last is worth it
 * (raft_fsm_snapshot_due); otherwise the threshold is out of reach. */
static void s_entry_applied(void *context)
{
    node_t *n = context;
    raft_fsm_stats_t stats;
    raft_fsm_stats(n->adapter, &stats);
    bool due = raft_fsm_snapshot_due(&stats, n->config->snapshot_log_percent,
                                     (uint64_t)n->config->snapshot_log_max_mib << 20);
    raft_set_snapshot_threshold(&n->raft, due ? n->config->snapshot_threshold : UINT_MAX);
}

static void s_tick(uv_timer_t *timer)
{
    node_t *n = timer->data;
    s_catch_up(n);
    if (n->wal)
        node_wal_tick(n->wal);
    node_intake_set_leader(n->intake, raft_state(&n->raft) == RAFT_LEADER);
    node_events_subscriptions(n->events); /* what a bounded run left (node_events.c) */
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
    node_io_close(&n->io);
    raft_uv_tcp_close(&n->transport);
    node_intake_destroy(&n->intake);
    node_events_destroy(&n->events);
    node_zap_destroy(&n->zap); /* after the Curve sockets it authenticates for */
    uv_close((uv_handle_t *)&n->tick, s_handle_closed);
    uv_close((uv_handle_t *)&n->catch_up, s_handle_closed);
    uv_close((uv_handle_t *)&n->flush, s_handle_closed);
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
    node_serve_abandon(n);
    if (n->async_pending == 0)
        raft_close(&n->raft, s_raft_closed);
    /* else a snapshot is being read on the thread pool: its callback goes
     * to libraft, which must still be open; s_async_done closes it. */
}

/*
 * libraft 0.15's raft_uv has no async_work, which asynchronous snapshots
 * need (raft_fsm_snapshot_async); the node gives its io one: the work on
 * libuv's thread pool, the callback back on the loop.
 */
typedef struct {
    uv_work_t work; /* first: the callbacks get the wrapper through it */
    node_t *node;
    struct raft_io_async_work *request;
    int status;
} s_async_work_t;

static void s_async_run(uv_work_t *work)
{
    s_async_work_t *w = (s_async_work_t *)work;
    w->status = w->request->work(w->request);
}

static void s_async_done(uv_work_t *work, int status)
{
    s_async_work_t *w = (s_async_work_t *)work;
    node_t *n = w->node;
    struct raft_io_async_work *request = w->request;
    int result = status == 0 ? w->status : RAFT_CANCELED;
    settle_free(w);
    request->cb(request, result);
    if (--n->async_pending == 0 && n->stopping)
        raft_close(&n->raft, s_raft_closed); /* the stop s_signal held back */
}

static int s_async_work(struct raft_io *io, struct raft_io_async_work *request,
                        raft_io_async_work_cb cb)
{
    node_t *n = node_io_context(io);
    s_async_work_t *w = settle_calloc(1, sizeof *w);
    if (!w)
        return RAFT_NOMEM;
    request->cb = cb;
    w->node = n;
    w->request = request;
    if (uv_queue_work(&n->loop, &w->work, s_async_run, s_async_done) != 0) {
        settle_free(w);
        return RAFT_IOERR;
    }
    n->async_pending++;
    return 0;
}

/* The work put after the answers: a follower's applies, the ledger's
 * commits once a turn, its WAL's checkpoints on a thread of their own. */
static void s_open_deferred_work(node_t *n)
{
    const node_config_t *c = n->config;
    uv_timer_init(&n->loop, &n->catch_up);
    n->catch_up.data = n;
    uv_check_init(&n->loop, &n->flush);
    n->flush.data = n;
    uv_check_start(&n->flush, s_flush);
    ledger_hold_commits(fsm_ledger(n->fsm), true);
    char ledger_path[NODE_PATH_SIZE + 32];
    snprintf(ledger_path, sizeof ledger_path, "%s/ledger.sqlite", c->data_dir);
    settle_error_t why;
    settle_error_clear(&why);
    n->wal = node_wal_start(ledger_path, fsm_ledger(n->fsm), c->id, &why);
    if (!n->wal)
        node_log(c->id, "warn", "ledger", "the WAL is checkpointed on the loop: %s", why.message);
    raft_fsm_defer_when(n->adapter, s_defer_apply, n);
    raft_fsm_on_entry(n->adapter, s_entry_applied, n);
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
    rc = fsm_open_fresh(path, &n->fsm, error); /* rebuilt from the snapshot and log */
    if (rc == SETTLE_OK)
        rc = raft_fsm_new(n->fsm, &n->adapter);
    if (rc != SETTLE_OK)
        return rc;
    raft_fsm_on_applied(n->adapter, node_serve_applied, n);
    raft_fsm_snapshot_async(n->adapter, true); /* the whole image is read beside the loop */
    n->gather = node_gather_new(c->entry_commands_max, c->entry_bytes_max);
    if (!n->gather)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    if (uv_loop_init(&n->loop) != 0 || raft_uv_tcp_init(&n->transport, &n->loop) != 0 ||
        !(n->io = node_io_new(&n->loop, c->data_dir, c->log_segment_size, &n->transport,
                              s_appends_started, s_append_failed, n)))
        return settle_error_set(error, SETTLE_ERR_IO, "raft: cannot initialise in %s", c->data_dir);
    struct raft_io *io = node_io_raft(n->io);
    if (io->version < 2 || !io->async_work) {
        io->version = 2;
        io->async_work = s_async_work;
    }
    if (raft_init(&n->raft, io, raft_fsm_interface(n->adapter), c->id, c->raft_address) != 0)
        return settle_error_set(error, SETTLE_ERR_IO, "raft: cannot initialise in %s: %s",
                                c->data_dir, raft_errmsg(&n->raft));
    n->raft.data = n;
    s_open_deferred_work(n);
    raft_set_election_timeout(&n->raft, c->election_timeout_ms);
    raft_set_heartbeat_timeout(&n->raft, c->heartbeat_timeout_ms);
    raft_set_snapshot_threshold(&n->raft, c->snapshot_threshold);
    raft_set_snapshot_trailing(&n->raft, c->snapshot_threshold);
    /* libraft 0.15 drops an InstallSnapshot that reaches a follower while it
     * stores a snapshot of its own (RAFT_BUSY, no answer), and the leader,
     * waiting for an answer, ignores the follower's rejections and sends the
     * snapshot again only after this timeout (libraft's default: 30 s). */
    raft_set_install_snapshot_timeout(&n->raft, c->install_snapshot_timeout_ms);
    /* raft_uv queues what it sends to a peer that is down until its next
     * connect attempt (then keeps the newest three) and delivers the queue
     * when the peer is back: the shorter the wait between attempts, the fewer
     * stale messages reach a restarted node (with the default, 1 s, old
     * entries, and old snapshots, that make it apply and take a snapshot of
     * its own just as the leader's arrives). */
    raft_uv_set_connect_retry_delay(io, NODE_CONNECT_RETRY_MS);
    raft_uv_set_segment_size(io, c->log_segment_size);
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
    const node_config_t *c = n->config;
    char ledger_path[NODE_PATH_SIZE + 32];
    snprintf(ledger_path, sizeof ledger_path, "%s/ledger.sqlite", c->data_dir);
    sign_key_t *key = NULL;
    if (c->key[0] && sign_key_load(c->key, &key, error) != SETTLE_OK)
        return SETTLE_ERR_IO;
    /* A copy of its own: the events socket takes key. */
    if (c->key[0] && c->checkpoint_interval &&
        sign_key_load(c->key, &n->checkpoint_key, error) != SETTLE_OK) {
        sign_key_destroy(&key);
        return SETTLE_ERR_IO;
    }
    bool curve = strcmp(c->transport, "curve") == 0;
    /* The handler first: a Curve socket with no ZAP handler bound lets any
     * client key in. */
    if (curve && !(n->zap = node_zap_new(ledger_path, c->id, error))) {
        sign_key_destroy(&key);
        return SETTLE_ERR_IO;
    }
    node_intake_options_t options = {
        .ledger_path = ledger_path,
        .curve_key = curve ? key : NULL,
        .verify_threads = c->verify_threads,
        .endpoint = c->intake,
        .queue_length = c->queue_length,
        .message_size_max = c->message_size_max,
        .busy = &n->metrics.busy,
        .on_request = node_serve_request,
        .on_drained = node_serve_drained,
        .context = n,
    };
    n->intake = node_intake_new(&options, &n->loop, error);
    if (!n->intake) {
        sign_key_destroy(&key);
        return SETTLE_ERR_IO;
    }
    if (c->events[0]) {
        node_events_options_t events = {
            .endpoint = c->events,
            .participant = c->participant,
            .curve = curve,
            .loop = &n->loop,
            .fsm = n->fsm,
            .node_id = c->id,
            .refused = &n->metrics.subscriptions_refused,
        };
        n->events = node_events_new(&events, key, error); /* takes key */
        if (!n->events)
            return SETTLE_ERR_IO;
    } else {
        sign_key_destroy(&key);
    }
    uv_signal_init(&n->loop, &n->sigterm);
    uv_signal_init(&n->loop, &n->sigint);
    n->sigterm.data = n->sigint.data = n;
    uv_signal_start(&n->sigterm, s_signal, SIGTERM);
    uv_signal_start(&n->sigint, s_signal, SIGINT);
    uv_timer_init(&n->loop, &n->tick);
    n->tick.data = n;
    uv_timer_start(&n->tick, s_tick, TICK_MS, TICK_MS);
    node_log(c->id, "info", "start", "raft=%s intake=%s events=%s data_dir=%s transport=%s",
             c->raft_address, c->intake, c->events[0] ? c->events : "-", c->data_dir, c->transport);
    if (!curve)
        node_log(c->id, "warn", "transport",
                 "plain TCP: anyone who can connect is heard; set transport: curve");
    return SETTLE_OK;
}

int node_run(const node_config_t *config, settle_error_t *error)
{
    node_t *n = settle_calloc(1, sizeof *n);
    if (!n)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    n->config = config;
    node_log_level_set(config->log_level);
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
    node_wal_stop(&n->wal); /* before the ledger it checkpoints closes */
    raft_fsm_destroy(&n->adapter);
    fsm_destroy(&n->fsm);
    genesis_destroy(&n->genesis);
    node_gather_destroy(&n->gather);
    sign_key_destroy(&n->checkpoint_key);
    if (rc == SETTLE_OK)
        settle_free(n);
    return rc;
}
