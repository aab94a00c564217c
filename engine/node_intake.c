/*
 * node_intake.c - the intake: a ZeroMQ ROUTER owned by the libuv loop,
 * which reads requests when the socket has news (a uv_poll on its ZMQ_FD)
 * and sends the replies; and a thread that checks the submits' signatures
 * when there are many.
 *
 * A lone request - the common case when clients wait for each answer - is
 * read, checked and handled on the loop at once: waking another thread and
 * being woken back costs more on a virtual machine (tens of microseconds a
 * wake-up) than the one signature check.  A run with more submits than
 * that goes to the intake thread, whose helpers check them in parallel
 * (node_verify.h); the loop takes the checked run back through a uv_async
 * and handles it in order.  While any run is with the thread, every later
 * run goes after it, so requests are handled in the order they were read.
 *
 * ZMQ_FD only says that the socket has news, and whoever uses the socket
 * next takes the news: a reply sent can take the news of a request that
 * just arrived.  So after each send the loop asks ZMQ_EVENTS and, when a
 * request waits, reads again at its next turn (an idle handle).  The Raft
 * loop never waits on ZeroMQ: reads are asked for first, and sends do not
 * block (no high-water mark on the ROUTER's outgoing queues).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

#include "node_verify.h"
#include "node_internal.h"
#include "node_zap.h"
#include "settle/alloc.h"
#include "settle/command.h"

#define RUN_MAX        256  /* requests read in one pass */
#define READ_MAX       1024 /* requests read in one turn of the loop */
#define INLINE_MAX     1    /* submits the loop checks itself; more go to the thread */
#define STOP_LINGER_MS 200  /* the last replies' time to leave at a stop */

/* A run handed to the thread, and back. */
typedef struct s_run_s {
    struct s_run_s *next;
    size_t count;
    node_verify_item_t items[];
} s_run_t;

struct node_intake_s {
    uv_async_t async;      /* runs checked by the thread are back */
    uv_poll_t poll;        /* the ROUTER's ZMQ_FD */
    uv_idle_t again;       /* a read at the next turn: a send took the socket's news */
    unsigned open_handles; /* the struct is freed when the last closes */
    zsock_t *router;       /* the loop's alone */
    node_request_fn on_request;
    node_drained_fn on_drained;
    void *context;
    atomic_uint_fast64_t *busy;
    size_t message_size_max;
    unsigned length; /* requests waiting, at most */
    char ledger_path[NODE_PATH_SIZE + 32];
    node_verify_t *verify_here; /* the loop's, for a lone submit; NULL: the loop checks later */
    unsigned verify_threads;
    bool leader; /* set by the loop: only a leader's intake verifies */
    atomic_uint_fast64_t participants_version; /* node_intake_participants_changed */
    /* The thread's side; the lists and the count under lock. */
    pthread_t thread;
    bool thread_started;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t work;
    s_run_t *todo, *todo_last;           /* for the thread to check */
    s_run_t *done, *done_last;           /* checked, for the loop */
    unsigned away;                       /* requests in runs on either list */
    node_verify_item_t reading[RUN_MAX]; /* the loop's, for the run it reads */
};

static int s_level_set = 1; /* 0 debug, 1 info, 2 warn, 3 error */

static int s_level(const char *level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(level, names[i]) == 0)
            return i;
    return 1;
}

void node_log_level_set(const char *level)
{
    s_level_set = s_level(level);
}

void node_log(uint64_t node_id, const char *level, const char *event, const char *format, ...)
{
    if (s_level(level) < s_level_set)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char message[768];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "ts=%lld.%03ld node=%llu level=%s event=%s %s\n", (long long)now.tv_sec,
            now.tv_nsec / 1000000, (unsigned long long)node_id, level, event, message);
}

static void s_read_again(uv_idle_t *idle);

/* Sends on the ROUTER; when a request waits (the send may have taken the
 * socket's news of it), reads again at the loop's next turn. */
static void s_send(node_intake_t *self, zmsg_t **message)
{
    if (zmsg_send(message, self->router) != 0)
        zmsg_destroy(message);
    if (zsock_events(self->router) & ZMQ_POLLIN)
        uv_idle_start(&self->again, s_read_again);
}

/* An answer of the intake's own (malformed, too large, busy, refused). */
static void s_answer(node_intake_t *self, zmsg_t *request, const char *status, const char *text)
{
    zframe_t *identity = zmsg_pop(request);
    zframe_t *request_id = zmsg_pop(request);
    zmsg_t *reply = zmsg_new();
    zmsg_append(reply, &identity);
    if (request_id)
        zmsg_append(reply, &request_id);
    else
        zmsg_addstr(reply, "");
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    s_send(self, &reply);
}

/* What a request's reading found: its size and frames as the client sent
 * them (request id, verb, arguments; ZeroMQ's identity frame not counted). */
typedef struct {
    size_t size;
    size_t frames;
    bool too_large; /* past a limit: what followed was read and dropped */
} s_read_t;

/* Reads one request frame by frame, keeping no more than the limits allow:
 * past them the rest is read and dropped (ZeroMQ's own limit is per frame,
 * so a request of many large frames must not be kept whole).  The identity
 * and request id are always kept, to answer.  NULL when nothing came. */
static zmsg_t *s_recv_request(node_intake_t *self, s_read_t *read)
{
    memset(read, 0, sizeof *read);
    zmsg_t *request = zmsg_new();
    size_t frames_max = COMMAND_ENTRY_COMMANDS_MAX + 2;
    bool identity = true; /* the first frame is ZeroMQ's */
    do {
        zframe_t *frame = zframe_recv(self->router);
        if (!frame)
            break;
        if (!identity) {
            read->size += zframe_size(frame);
            read->frames++;
        }
        identity = false;
        read->too_large =
            read->too_large || read->size > self->message_size_max || read->frames > frames_max;
        if (!read->too_large || zmsg_size(request) < 2)
            zmsg_append(request, &frame);
        else
            zframe_destroy(&frame);
    } while (zsock_rcvmore(self->router));
    if (zmsg_size(request) == 0)
        zmsg_destroy(&request);
    return request;
}

/* Whether a request has the shape of one and is within the limits:
 * answers "error" and takes it when not. */
static bool s_shape(node_intake_t *self, zmsg_t **request, const s_read_t *read)
{
    zframe_t *identity = zmsg_first(*request);
    zframe_t *request_id = zmsg_next(*request);
    zframe_t *verb = zmsg_next(*request);
    const char *problem = NULL;
    char text[160];
    if (read->too_large) {
        snprintf(text, sizeof text,
                 "too large: %zu bytes in %zu frames (at most %zu bytes, %u frames)", read->size,
                 read->frames, self->message_size_max, COMMAND_ENTRY_COMMANDS_MAX + 2);
        problem = text;
    } else if (!identity || !request_id || !verb || zframe_size(request_id) == 0 ||
               zframe_size(request_id) > NODE_REQUEST_ID_SIZE_MAX) {
        problem = "malformed request: [request id] [verb] ...";
    }
    if (!problem)
        return true;
    s_answer(self, *request, "error", problem);
    zmsg_destroy(request);
    return false;
}

/* Hands a run to the loop's handler, in order: a refused submit is
 * answered, the others get [checked][sender] in front and go to
 * on_request; then on_drained. */
static void s_deliver(node_intake_t *self, node_verify_item_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        zmsg_t *request = items[i].request;
        if (items[i].outcome == NODE_VERIFY_REFUSED) {
            s_answer(self, request, "error", items[i].reason);
            zmsg_destroy(&request);
            continue;
        }
        /* The participant ZAP let in: ZeroMQ puts it on every frame that
         * came over the connection (the ROUTER's identity frame excepted). */
        zmsg_first(request);
        zframe_t *request_id = zmsg_next(request);
        const char *sender = request_id ? zframe_meta(request_id, "User-Id") : NULL;
        zmsg_pushstr(request, sender ? sender : "");
        zmsg_pushmem(request, items[i].outcome == NODE_VERIFY_OK ? "v" : "-", 1);
        self->on_request(self->context, request);
    }
    if (self->on_drained)
        self->on_drained(self->context);
}

/* Submits of a run that no checker will see: marked unchecked, so that
 * the loop checks their signatures in full (fsm_check_command). */
static void s_unchecked(node_verify_item_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (items[i].outcome == NODE_VERIFY_OK)
            items[i].outcome = NODE_VERIFY_SKIP;
}

/* A run read: checked and handled here when it has at most INLINE_MAX
 * submits and nothing is with the thread; else queued for the thread. */
static void s_dispatch(node_intake_t *self, node_verify_item_t *items, size_t count)
{
    size_t submits = 0;
    for (size_t i = 0; i < count; i++)
        submits += items[i].outcome == NODE_VERIFY_OK;
    pthread_mutex_lock(&self->lock);
    bool here = self->away == 0 && (submits <= INLINE_MAX || !self->thread_started);
    pthread_mutex_unlock(&self->lock);
    if (here) {
        if (submits && self->verify_here)
            node_verify_run(self->verify_here, items, count);
        else
            s_unchecked(items, count);
        s_deliver(self, items, count);
        return;
    }
    s_run_t *run = settle_malloc(sizeof *run + count * sizeof run->items[0]);
    if (!run) { /* out of memory: handled unchecked, as when no checker can open */
        s_unchecked(items, count);
        s_deliver(self, items, count);
        return;
    }
    run->next = NULL;
    run->count = count;
    memcpy(run->items, items, count * sizeof items[0]);
    pthread_mutex_lock(&self->lock);
    if (self->todo_last)
        self->todo_last->next = run;
    else
        self->todo = run;
    self->todo_last = run;
    self->away += (unsigned)count;
    pthread_cond_signal(&self->work);
    pthread_mutex_unlock(&self->lock);
}

/* Reads what has arrived, RUN_MAX at a time, each read asked for first so
 * that none blocks.  While queue_length requests or more wait for the
 * thread's check, each request read is answered "busy" (a run handed over
 * may take the count past it by up to RUN_MAX - 1). */
static void s_read(node_intake_t *self)
{
    node_verify_item_t *items = self->reading;
    /* At most READ_MAX reads a pass, so that a flood (even one answered
     * "busy") leaves the loop its turns: the rest at the next turn. */
    for (size_t reads = 0;;) {
        size_t count = 0;
        pthread_mutex_lock(&self->lock);
        bool full = self->away >= self->length;
        pthread_mutex_unlock(&self->lock);
        while (count < RUN_MAX && reads < READ_MAX && (zsock_events(self->router) & ZMQ_POLLIN)) {
            reads++;
            s_read_t reading;
            zmsg_t *request = s_recv_request(self, &reading);
            if (!request) { /* interrupted: the socket's news may be taken */
                uv_idle_start(&self->again, s_read_again);
                break;
            }
            if (!s_shape(self, &request, &reading))
                continue;
            if (full) {
                if (self->busy)
                    atomic_fetch_add(self->busy, 1);
                s_answer(self, request, "retry", "busy: the queue is full");
                zmsg_destroy(&request);
                continue;
            }
            zmsg_first(request); /* identity, request id, verb */
            zmsg_next(request);
            zframe_t *verb = zmsg_next(request);
            items[count].request = request;
            items[count].outcome =
                self->leader && zframe_streq(verb, "submit") ? NODE_VERIFY_OK : NODE_VERIFY_SKIP;
            count++;
        }
        if (count > 0)
            s_dispatch(self, items, count);
        if (reads >= READ_MAX) {
            if (zsock_events(self->router) & ZMQ_POLLIN)
                uv_idle_start(&self->again, s_read_again);
            return;
        }
        if (count < RUN_MAX)
            return;
    }
}

static void s_readable(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    s_read(poll->data);
}

static void s_read_again(uv_idle_t *idle)
{
    uv_idle_stop(idle);
    s_read(idle->data);
}

/* The thread: checks the runs it is given, in order, and hands them back. */
static void *s_thread(void *argument)
{
    (void)prctl(PR_SET_NAME, "settled-bus", 0, 0, 0); /* in top -H, perf */
    node_intake_t *self = argument;
    settle_error_t error;
    settle_error_clear(&error);
    node_verify_t *verify = node_verify_new(self->ledger_path, self->verify_threads,
                                            &self->participants_version, &error);
    if (!verify)
        node_log(0, "warn", "intake", "signatures checked on the loop: %s", error.message);
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->todo && !self->stop)
            pthread_cond_wait(&self->work, &self->lock);
        if (self->stop)
            break;
        s_run_t *run = self->todo;
        self->todo = run->next;
        if (!self->todo)
            self->todo_last = NULL;
        pthread_mutex_unlock(&self->lock);
        if (verify)
            node_verify_run(verify, run->items, run->count);
        else
            s_unchecked(run->items, run->count);
        run->next = NULL;
        pthread_mutex_lock(&self->lock);
        if (self->done_last)
            self->done_last->next = run;
        else
            self->done = run;
        self->done_last = run;
        uv_async_send(&self->async);
    }
    pthread_mutex_unlock(&self->lock);
    node_verify_destroy(&verify);
    return NULL;
}

/* The loop's side: every run the thread checked, in order. */
static void s_drain(uv_async_t *async)
{
    node_intake_t *self = async->data;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        s_run_t *run = self->done;
        if (run) {
            self->done = run->next;
            if (!self->done)
                self->done_last = NULL;
            self->away -= (unsigned)run->count;
        }
        pthread_mutex_unlock(&self->lock);
        if (!run)
            break;
        s_deliver(self, run->items, run->count);
        settle_free(run);
    }
}

void node_intake_set_leader(node_intake_t *self, bool leader)
{
    if (leader && !self->leader)
        node_intake_participants_changed(self); /* rows kept before may be stale */
    self->leader = leader;
}

void node_intake_participants_changed(node_intake_t *self)
{
    atomic_fetch_add(&self->participants_version, 1);
}

unsigned node_intake_depth(node_intake_t *self)
{
    pthread_mutex_lock(&self->lock);
    unsigned count = self->away;
    pthread_mutex_unlock(&self->lock);
    return count;
}

static void s_closed(uv_handle_t *handle)
{
    node_intake_t *self = handle->data;
    if (--self->open_handles == 0)
        settle_free(self);
}

node_intake_t *node_intake_new(const node_intake_options_t *options, uv_loop_t *loop,
                               settle_error_t *error)
{
    const char *endpoint = options->endpoint;
    node_intake_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work, NULL);
    self->length = options->queue_length ? options->queue_length : 1;
    self->busy = options->busy;
    self->verify_threads = options->verify_threads ? options->verify_threads : 1;
    if (options->ledger_path)
        snprintf(self->ledger_path, sizeof self->ledger_path, "%s", options->ledger_path);
    self->on_request = options->on_request;
    self->on_drained = options->on_drained;
    self->context = options->context;
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        settle_error_set(error, SETTLE_ERR_IO, "intake: cannot make the socket");
        goto fail;
    }
    /* Every request accepted gets its one reply: the ROUTER's outgoing
     * queues must not drop any (ZeroMQ's default high-water mark, 1,000
     * messages, would, with 1,000 requests in flight on one connection), and
     * a send must never block the loop.  They hold at most one reply per
     * request accepted.  Set before the socket binds. */
    zsock_set_sndhwm(self->router, 0);
    /* ZeroMQ drops the connection of a peer sending one frame past its
     * limit (twice ours); below it, s_recv_request keeps a request no
     * further than our limits and answers "error". */
    zsock_set_maxmsgsize(self->router, 2 * (int64_t)options->message_size_max);
    self->message_size_max = options->message_size_max;
    zsock_set_linger(self->router, 0);
    if (options->curve_key && node_zap_curve_server(self->router, options->curve_key) != 0) {
        settle_error_set(error, SETTLE_ERR_CRYPTO, "intake: cannot make the Curve key");
        goto fail;
    }
    if (zsock_bind(self->router, "%s", endpoint) < 0) {
        settle_error_set(error, SETTLE_ERR_IO, "intake: cannot bind %s: %s", endpoint,
                         zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (options->ledger_path) {
        settle_error_t why;
        settle_error_clear(&why);
        self->verify_here =
            node_verify_new(self->ledger_path, 1, &self->participants_version, &why);
        if (!self->verify_here)
            node_log(0, "warn", "intake", "lone submits checked later: %s", why.message);
    }
    uv_async_init(loop, &self->async, s_drain);
    uv_poll_init(loop, &self->poll, zsock_fd(self->router));
    uv_idle_init(loop, &self->again);
    self->async.data = self->poll.data = self->again.data = self;
    self->open_handles = 3;
    uv_poll_start(&self->poll, UV_READABLE, s_readable);
    if (options->ledger_path) {
        if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
            settle_error_set(error, SETTLE_ERR_IO, "intake: cannot start its thread");
            node_intake_destroy(&self);
            return NULL;
        }
        self->thread_started = true;
    }
    return self;
fail:
    zsock_destroy(&self->router);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->work);
    settle_free(self);
    return NULL;
}

void node_intake_reply(node_intake_t *self, zframe_t *identity, zframe_t *request_id,
                       const char *status, const char *text, size_t text_size)
{
    zmsg_t *reply = zmsg_new();
    if (!reply)
        return;
    zframe_t *copy = zframe_dup(identity);
    zmsg_append(reply, &copy);
    copy = zframe_dup(request_id);
    zmsg_append(reply, &copy);
    zmsg_addstr(reply, status);
    zmsg_addmem(reply, text, text_size);
    s_send(self, &reply);
}

/* Frees the runs of a list, their requests unanswered (the node stops). */
static void s_free_runs(s_run_t *run)
{
    while (run) {
        s_run_t *next = run->next;
        for (size_t i = 0; i < run->count; i++)
            zmsg_destroy(&run->items[i].request);
        settle_free(run);
        run = next;
    }
}

void node_intake_destroy(node_intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_intake_t *self = *self_p;
    *self_p = NULL;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->work);
    pthread_mutex_unlock(&self->lock);
    if (self->thread_started)
        pthread_join(self->thread, NULL);
    s_free_runs(self->todo);
    s_free_runs(self->done);
    node_verify_destroy(&self->verify_here);
    uv_close((uv_handle_t *)&self->poll, s_closed); /* before the socket's descriptor goes */
    uv_close((uv_handle_t *)&self->again, s_closed);
    uv_close((uv_handle_t *)&self->async, s_closed);
    zsock_set_linger(self->router, STOP_LINGER_MS);
    zsock_destroy(&self->router);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->work);
}
