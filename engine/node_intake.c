/*
 * node_intake.c - the intake: a ZeroMQ ROUTER served by its own thread,
 * which hands requests to the libuv loop through a bounded queue and a
 * uv_async wake-up, and sends the loop's replies, which reach it over an
 * inproc PAIR.  The Raft loop never waits on ZeroMQ: it only drains the
 * queue and sends non-blocking replies.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_check.h"
#include "node_internal.h"
#include "settle/alloc.h"
#include "settle/command.h"

#define POLL_MS 50

struct node_intake_s {
    uv_async_t async; /* first: the close callback frees the struct through it */
    zsock_t *router;  /* the intake thread's */
    zsock_t *pair_loop, *pair_thread;
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
    node_check_t *check; /* the thread's; NULL: the loop checks signatures */
    atomic_bool leader;  /* set by the loop: only a leader's intake verifies */
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

/* An answer from the intake thread itself (malformed, busy). */
static void s_answer(zsock_t *router, zmsg_t *request, const char *status, const char *text)
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
    zmsg_send(&reply, router);
    zframe_destroy(&request_id);
}

/* Verifies a submit's commands (the frames after the verb): true when
 * every signature verified, false when the loop must check them (a signer
 * this node's ledger does not know yet); answers "error", takes the
 * request and sets *answered when one fails. */
static bool s_signatures(node_intake_t *self, zmsg_t *request, bool *answered)
{
    zframe_t *frame = zmsg_first(request);
    for (int i = 0; i < 3 && frame; i++)
        frame = zmsg_next(request);
    for (size_t i = 0; frame; frame = zmsg_next(request), i++) {
        settle_error_t reason;
        int rc = node_check_command(self->check, zframe_data(frame), zframe_size(frame), &reason);
        if (rc == SETTLE_OK)
            continue;
        if (rc == SETTLE_ERR_NOT_FOUND)
            return false;
        char text[SETTLE_ERROR_MESSAGE_SIZE + 32];
        snprintf(text, sizeof text, "command %zu: %s", i, reason.message);
        s_answer(self->router, request, "error", text);
        zmsg_destroy(&request);
        *answered = true;
        return false;
    }
    return true;
}

/* A request checked for shape and queued for the loop. */
static void s_request(node_intake_t *self, zmsg_t *request)
{
    zframe_t *identity = zmsg_first(request);
    zframe_t *request_id = zmsg_next(request);
    zframe_t *verb = zmsg_next(request);
    if (!identity || !request_id || !verb || zframe_size(request_id) == 0 ||
        zframe_size(request_id) > NODE_REQUEST_ID_SIZE_MAX) {
        s_answer(self->router, request, "error", "malformed request: [request id] [verb] ...");
        zmsg_destroy(&request);
        return;
    }
    size_t size = zmsg_content_size(request) - zframe_size(identity);
    if (size > self->message_size_max ||
        zmsg_size(request) > COMMAND_ENTRY_COMMANDS_MAX + 3) {
        char text[128];
        snprintf(text, sizeof text, "too large: %zu bytes in %zu frames (at most %zu bytes, %u frames)",
                 size, zmsg_size(request) - 1, self->message_size_max,
                 COMMAND_ENTRY_COMMANDS_MAX + 3);
        s_answer(self->router, request, "error", text);
        zmsg_destroy(&request);
        return;
    }
    bool verified = false, answered = false;
    if (self->check && atomic_load(&self->leader) && zframe_streq(verb, "submit")) {
        verified = s_signatures(self, request, &answered);
        if (answered)
            return;
    }
    pthread_mutex_lock(&self->lock);
    bool queued = self->count < self->length;
    if (queued) {
        zmsg_pushmem(request, verified ? "v" : "-", 1);
        self->queue[(self->head + self->count) % self->length] = request;
        self->count++;
    }
    pthread_mutex_unlock(&self->lock);
    if (!queued) {
        if (self->busy)
            atomic_fetch_add(self->busy, 1);
        s_answer(self->router, request, "retry", "busy: the queue is full");
        zmsg_destroy(&request);
        return;
    }
    uv_async_send(&self->async);
}

static void *s_thread(void *argument)
{
    node_intake_t *self = argument;
    if (self->ledger_path[0]) {
        settle_error_t error;
        settle_error_clear(&error);
        self->check = node_check_open(self->ledger_path, &error);
        if (!self->check)
            node_log(0, "warn", "intake", "signatures checked on the loop: %s", error.message);
    }
    zpoller_t *poller = zpoller_new(self->router, self->pair_thread, NULL);
    while (poller && !atomic_load(&self->stop)) {
        void *which = zpoller_wait(poller, POLL_MS);
        if (which == self->router) {
            zmsg_t *request = zmsg_recv(self->router);
            if (request)
                s_request(self, request);
        } else if (which == self->pair_thread) {
            zmsg_t *reply = zmsg_recv(self->pair_thread);
            if (reply)
                zmsg_send(&reply, self->router);
        }
    }
    zpoller_destroy(&poller);
    node_check_close(&self->check);
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
    atomic_store(&self->leader, leader);
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
    zmsg_t **queue = settle_calloc(options->queue_length ? options->queue_length : 1,
                                   sizeof *queue);
    if (!self || !queue) {
        settle_free(self);
        settle_free(queue);
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->queue = queue;
    self->length = options->queue_length ? options->queue_length : 1;
    self->busy = options->busy;
    if (options->ledger_path)
        snprintf(self->ledger_path, sizeof self->ledger_path, "%s", options->ledger_path);
    self->on_request = options->on_request;
    self->on_drained = options->on_drained;
    self->context = options->context;
    char inproc[64];
    snprintf(inproc, sizeof inproc, "inproc://settle-intake-%p", (void *)self);
    self->router = zsock_new(ZMQ_ROUTER);
    self->pair_loop = zsock_new(ZMQ_PAIR);
    self->pair_thread = zsock_new(ZMQ_PAIR);
    if (self->router && self->pair_loop && self->pair_thread) {
        /* Every request accepted gets its one reply: the reply pipe and the
         * ROUTER's outgoing queues must not drop any (ZeroMQ's default
         * high-water mark, 1,000 messages, would, with 1,000 requests in
         * flight on one connection).  They hold at most one reply per
         * request accepted.  Set before the sockets connect. */
        zsock_set_sndhwm(self->pair_loop, 0);
        zsock_set_rcvhwm(self->pair_thread, 0);
        zsock_set_sndhwm(self->router, 0);
    }
    if (!self->router || !self->pair_loop || !self->pair_thread ||
        zsock_bind(self->pair_loop, "%s", inproc) != 0 ||
        zsock_connect(self->pair_thread, "%s", inproc) != 0) {
        settle_error_set(error, SETTLE_ERR_IO, "intake: cannot make the sockets");
        goto fail;
    }
    /* ZeroMQ drops the connection of a peer sending a frame past its limit;
     * up to twice ours, the request is read and answered "error". */
    zsock_set_maxmsgsize(self->router, 2 * (int64_t)options->message_size_max);
    self->message_size_max = options->message_size_max;
    zsock_set_sndtimeo(self->pair_loop, 0);
    zsock_set_linger(self->router, 0);
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
    zsock_destroy(&self->pair_loop);
    zsock_destroy(&self->pair_thread);
    pthread_mutex_destroy(&self->lock);
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
    if (zmsg_send(&reply, self->pair_loop) != 0)
        zmsg_destroy(&reply);
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
    zsock_destroy(&self->router);
    zsock_destroy(&self->pair_loop);
    zsock_destroy(&self->pair_thread);
    pthread_mutex_destroy(&self->lock);
    uv_close((uv_handle_t *)&self->async, s_closed);
}
