/*
 * node_intake.c - the intake: a ZeroMQ ROUTER read by its own thread,
 * which hands requests to the libuv loop through a bounded queue and a
 * uv_async wake-up; the loop sends its replies on the same socket.
 *
 * A ZeroMQ socket may be used by one thread at a time, so every use of the
 * ROUTER holds router_lock: the thread's reads (a run of them, without its
 * signature checks) and answers, and the loop's replies.  The thread waits
 * with poll(2) on the socket's ZMQ_FD and an eventfd, not in zmq_poll,
 * which would use the socket unlocked.  ZMQ_FD only says that the socket
 * has news, and whoever uses the socket next takes the news: a reply sent
 * by the loop can take the news of a request that just arrived, and the
 * thread, asleep on the descriptor, would not see it.  So after each reply
 * the loop asks ZMQ_EVENTS and, when a request is waiting, wakes the
 * thread through the eventfd.  Replies thus leave without waking another
 * thread (the inproc pipe to the intake thread that carried them before
 * cost a wake-up and some fifteen system calls a request).  The Raft loop
 * never waits on ZeroMQ: the lock is held for reads and sends that do not
 * block (no high-water mark on the ROUTER's outgoing queues).
 */
#include <pthread.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_verify.h"
#include "node_internal.h"
#include "node_zap.h"
#include "settle/alloc.h"
#include "settle/command.h"

#define POLL_MS        50
#define RUN_MAX        256
#define RUN_LOCKED_MAX 32 /* requests read under one hold of the lock */
#define STOP_LINGER_MS                                                                             \
    200 /* the last replies' time to leave at a stop */ /* requests read off the socket before     \
                                                           queueing */

struct node_intake_s {
    uv_async_t async; /* first: the close callback frees the struct through it */
    zsock_t *router;  /* used under router_lock only */
    pthread_mutex_t router_lock;
    int wake; /* eventfd: the loop saw a request waiting that the thread may not have */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    node_request_fn on_request;
    node_drained_fn on_drained;
    void *context;
    atomic_uint_fast64_t *busy;
    pthread_mutex_t lock; /* guards the queue */
    zmsg_t **queue;
    unsigned length; /* its capacity */
    size_t message_size_max;
    char ledger_path[NODE_PATH_SIZE + 32];
    node_verify_t *verify; /* the thread's; NULL: the loop checks signatures */
    unsigned verify_threads;
    atomic_bool leader; /* set by the loop: only a leader's intake verifies */
    atomic_uint_fast64_t participants_version; /* node_intake_participants_changed */
    unsigned head, count;
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

/* Sends on the ROUTER (its lock held) and wakes the thread when a request
 * waits that the send may have taken the news of. */
static void s_send_locked(node_intake_t *self, zmsg_t **message)
{
    if (zmsg_send(message, self->router) != 0)
        zmsg_destroy(message);
    if (zsock_events(self->router) & ZMQ_POLLIN) {
        uint64_t one = 1;
        if (write(self->wake, &one, sizeof one) < 0) { /* full: the thread wakes anyway */
        }
    }
}

/* An answer from the intake thread itself (malformed, busy). */
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
    pthread_mutex_lock(&self->router_lock);
    s_send_locked(self, &reply);
    pthread_mutex_unlock(&self->router_lock);
    zframe_destroy(&request_id);
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

/* Queues a checked request for the loop, marked verified or not; answers
 * "retry" "busy" when the queue is full. */
static void s_enqueue(node_intake_t *self, zmsg_t *request, bool verified)
{
    pthread_mutex_lock(&self->lock);
    bool queued = self->count < self->length;
    if (queued) {
        /* The participant ZAP let in: ZeroMQ puts it on every frame that
         * came over the connection (the ROUTER's identity frame excepted). */
        zmsg_first(request);
        zframe_t *request_id = zmsg_next(request);
        const char *sender = request_id ? zframe_meta(request_id, "User-Id") : NULL;
        zmsg_pushstr(request, sender ? sender : "");
        zmsg_pushmem(request, verified ? "v" : "-", 1);
        self->queue[(self->head + self->count) % self->length] = request;
        self->count++;
    }
    pthread_mutex_unlock(&self->lock);
    if (!queued) {
        if (self->busy)
            atomic_fetch_add(self->busy, 1);
        s_answer(self, request, "retry", "busy: the queue is full");
        zmsg_destroy(&request);
    }
}

/* Reads what has arrived (a run of at most RUN_MAX requests), verifies the
 * submits' signatures when this node leads, and queues the run in order.
 * False when nothing was waiting. */
static bool s_read_run(node_intake_t *self)
{
    node_verify_item_t run[RUN_MAX];
    zmsg_t *read_now[RUN_LOCKED_MAX];
    s_read_t readings[RUN_LOCKED_MAX];
    size_t count = 0, read = 0;
    bool leader = self->verify && atomic_load(&self->leader), more = true;
    while (more && read < RUN_MAX) {
        /* A few at a time under the lock, so that the loop's replies wait
         * little; each read is asked first, so that none blocks. */
        size_t got = 0;
        pthread_mutex_lock(&self->router_lock);
        while (got < RUN_LOCKED_MAX && read < RUN_MAX &&
               (more = (zsock_events(self->router) & ZMQ_POLLIN) != 0)) {
            read_now[got] = s_recv_request(self, &readings[got]);
            read++;
            if (read_now[got])
                got++;
        }
        pthread_mutex_unlock(&self->router_lock);
        for (size_t i = 0; i < got; i++) {
            zmsg_t *request = read_now[i];
            if (s_shape(self, &request, &readings[i]))
                run[count++].request = request;
        }
    }
    for (size_t i = 0; i < count; i++) {
        zmsg_t *request = run[i].request;
        zmsg_first(request); /* identity, request id, verb */
        zmsg_next(request);
        zframe_t *verb = zmsg_next(request);
        run[i].outcome = leader && zframe_streq(verb, "submit") ? NODE_VERIFY_OK : NODE_VERIFY_SKIP;
    }
    if (leader)
        node_verify_run(self->verify, run, count);
    bool queued = false;
    for (size_t i = 0; i < count; i++) {
        if (run[i].outcome == NODE_VERIFY_REFUSED) {
            s_answer(self, run[i].request, "error", run[i].reason);
            zmsg_destroy(&run[i].request);
            continue;
        }
        s_enqueue(self, run[i].request, run[i].outcome == NODE_VERIFY_OK);
        queued = true;
    }
    if (queued)
        uv_async_send(&self->async);
    return read > 0;
}

static void *s_thread(void *argument)
{
    node_intake_t *self = argument;
    if (self->ledger_path[0]) {
        settle_error_t error;
        settle_error_clear(&error);
        self->verify = node_verify_new(self->ledger_path, self->verify_threads,
                                       &self->participants_version, &error);
        if (!self->verify)
            node_log(0, "warn", "intake", "signatures checked on the loop: %s", error.message);
    }
    pthread_mutex_lock(&self->router_lock);
    struct pollfd wait[2] = {{.fd = zsock_fd(self->router), .events = POLLIN},
                             {.fd = self->wake, .events = POLLIN}};
    pthread_mutex_unlock(&self->router_lock);
    while (!atomic_load(&self->stop)) {
        if (s_read_run(self))
            continue;
        /* Nothing waits now: news of the next request wakes the descriptor,
         * or, if a reply took it, the loop wakes the eventfd. */
        if (poll(wait, 2, POLL_MS) > 0 && (wait[1].revents & POLLIN)) {
            uint64_t count;
            if (read(self->wake, &count, sizeof count) < 0) { /* raced: nothing to take */
            }
        }
    }
    node_verify_destroy(&self->verify);
    return NULL;
}

/* The loop's side of the queue: everything queued, in order. */
static void s_drain(uv_async_t *async)
{
    node_intake_t *self = (node_intake_t *)async;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        zmsg_t *request = NULL;
        if (self->count > 0) {
            request = self->queue[self->head];
            self->head = (self->head + 1) % self->length;
            self->count--;
        }
        pthread_mutex_unlock(&self->lock);
        if (!request)
            break;
        self->on_request(self->context, request);
    }
    if (self->on_drained)
        self->on_drained(self->context);
}

void node_intake_set_leader(node_intake_t *self, bool leader)
{
    if (leader && !atomic_load(&self->leader))
        node_intake_participants_changed(self); /* rows kept before may be stale */
    atomic_store(&self->leader, leader);
}

void node_intake_participants_changed(node_intake_t *self)
{
    atomic_fetch_add(&self->participants_version, 1);
}

unsigned node_intake_depth(node_intake_t *self)
{
    pthread_mutex_lock(&self->lock);
    unsigned count = self->count;
    pthread_mutex_unlock(&self->lock);
    return count;
}

node_intake_t *node_intake_new(const node_intake_options_t *options, uv_loop_t *loop,
                               settle_error_t *error)
{
    const char *endpoint = options->endpoint;
    node_intake_t *self = settle_calloc(1, sizeof *self);
    zmsg_t **queue =
        settle_calloc(options->queue_length ? options->queue_length : 1, sizeof *queue);
    if (!self || !queue) {
        settle_free(self);
        settle_free(queue);
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_mutex_init(&self->router_lock, NULL);
    self->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->queue = queue;
    self->length = options->queue_length ? options->queue_length : 1;
    self->busy = options->busy;
    self->verify_threads = options->verify_threads ? options->verify_threads : 1;
    if (options->ledger_path)
        snprintf(self->ledger_path, sizeof self->ledger_path, "%s", options->ledger_path);
    self->on_request = options->on_request;
    self->on_drained = options->on_drained;
    self->context = options->context;
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router || self->wake < 0) {
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
    uv_async_init(loop, &self->async, s_drain);
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        settle_error_set(error, SETTLE_ERR_IO, "intake: cannot start its thread");
        node_intake_destroy(&self);
        return NULL;
    }
    self->thread_started = true;
    return self;
fail:
    zsock_destroy(&self->router);
    if (self->wake >= 0)
        close(self->wake);
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->router_lock);
    settle_free(self->queue);
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
    pthread_mutex_lock(&self->router_lock);
    s_send_locked(self, &reply);
    pthread_mutex_unlock(&self->router_lock);
}

static void s_closed(uv_handle_t *handle)
{
    settle_free(((node_intake_t *)handle)->queue);
    settle_free(handle); /* the async handle is the struct's first member */
}

void node_intake_destroy(node_intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_intake_t *self = *self_p;
    *self_p = NULL;
    atomic_store(&self->stop, true);
    if (self->thread_started)
        pthread_join(self->thread, NULL);
    for (; self->count > 0; self->count--) {
        zmsg_destroy(&self->queue[self->head]);
        self->head = (self->head + 1) % self->length;
    }
    zsock_set_linger(self->router, STOP_LINGER_MS);
    zsock_destroy(&self->router);
    close(self->wake);
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->router_lock);
    uv_close((uv_handle_t *)&self->async, s_closed);
}
