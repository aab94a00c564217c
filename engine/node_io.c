/*
 * node_io.c - raft_uv with its appends started at the end of the loop's
 * turn (node_io.h has why).
 */
#include <stddef.h>

#include <raft/uv.h>

#include "node_io.h"
#include "settle/raft_vouch.h"
#include "settle/alloc.h"

typedef struct s_append_s {
    struct s_append_s *next;
    struct raft_io_append *request;
    const struct raft_entry *entries; /* libraft's, kept until the callback */
    unsigned count;
    raft_io_append_cb cb;
} s_append_t;

struct node_io_s {
    struct raft_io io; /* first: the wrapped methods find the rest through it */
    void *context;
    node_io_started_fn started;
    node_io_failed_fn failed;
    uv_idle_t idle; /* active while an append waits: the loop does not block */
    int (*append)(struct raft_io *io, struct raft_io_append *request,
                  const struct raft_entry entries[], unsigned count, raft_io_append_cb cb);
    int (*truncate)(struct raft_io *io, raft_index index);
    int (*snapshot_put)(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *request,
                        const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb);
    void (*close)(struct raft_io *io, raft_io_close_cb cb);
    int (*start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
    int (*send)(struct raft_io *io, struct raft_io_send *request,
                const struct raft_message *message, raft_io_send_cb cb);
    raft_io_recv_cb recv;    /* libraft's */
    raft_vouch_t vouch;      /* what this follower's answers may claim */
    s_append_t *head, *tail; /* waiting, in libraft's order */
};

/* Starts every waiting append, in order.  One that raft_uv refuses ends
 * the node (node_io.h): nothing after it is started. */
static void s_start_waiting(node_io_t *self)
{
    while (self->head) {
        s_append_t *a = self->head;
        self->head = a->next;
        if (!self->head)
            self->tail = NULL;
        int status = self->append(&self->io, a->request, a->entries, a->count, a->cb);
        settle_free(a);
        if (status != 0)
            self->failed(self->context, status);
    }
}

static void s_idle(uv_idle_t *idle)
{
    node_io_t *self = idle->data;
    s_start_waiting(self);
    uv_idle_stop(&self->idle);
    if (self->started)
        self->started(self->context);
}

static int s_append(struct raft_io *io, struct raft_io_append *request,
                    const struct raft_entry entries[], unsigned count, raft_io_append_cb cb)
{
    node_io_t *self = (node_io_t *)io;
    raft_vouch_accepted(&self->vouch); /* entries of a leader's message accepted */
    s_append_t *a = settle_calloc(1, sizeof *a);
    if (!a) {
        s_start_waiting(self); /* in order, then this one now */
        return self->append(io, request, entries, count, cb);
    }
    a->request = request;
    a->entries = entries;
    a->count = count;
    a->cb = cb;
    if (self->tail)
        self->tail->next = a;
    else
        self->head = a;
    self->tail = a;
    uv_idle_start(&self->idle, s_idle);
    return 0;
}

static int s_truncate(struct raft_io *io, raft_index index)
{
    node_io_t *self = (node_io_t *)io;
    s_start_waiting(self);
    return self->truncate(io, index);
}

static int s_snapshot_put(struct raft_io *io, unsigned trailing,
                          struct raft_io_snapshot_put *request,
                          const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    node_io_t *self = (node_io_t *)io;
    raft_vouch_accepted(&self->vouch); /* a leader's snapshot accepted */
    s_start_waiting(self);
    return self->snapshot_put(io, trailing, request, snapshot, cb);
}

static void s_close(struct raft_io *io, raft_io_close_cb cb)
{
    node_io_t *self = (node_io_t *)io;
    s_start_waiting(self); /* raft_uv's close cancels them, with their callbacks */
    self->close(io, cb);
}

/* ------------------------------------------------------------------------
 * A follower's answer says no more than the message it answers
 * ------------------------------------------------------------------------ */

static void s_recv(struct raft_io *io, struct raft_message *message)
{
    node_io_t *self = (node_io_t *)io;
    raft_vouch_recv_begin(&self->vouch, message);
    self->recv(io, message);
    raft_vouch_recv_end(&self->vouch);
}

static int s_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv)
{
    node_io_t *self = (node_io_t *)io;
    self->recv = recv;
    return self->start(io, msecs, tick, s_recv);
}

static int s_send(struct raft_io *io, struct raft_io_send *request,
                  const struct raft_message *message, raft_io_send_cb cb)
{
    node_io_t *self = (node_io_t *)io;
    struct raft_message copy; /* raft_uv encodes the message before it returns */
    return self->send(io, request, raft_vouch_send(&self->vouch, message, &copy), cb);
}

node_io_t *node_io_new(uv_loop_t *loop, const char *dir, struct raft_uv_transport *transport,
                       node_io_started_fn started, node_io_failed_fn failed, void *context)
{
    node_io_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (raft_uv_init(&self->io, loop, dir, transport) != 0) {
        settle_free(self);
        return NULL;
    }
    self->context = context;
    self->started = started;
    self->failed = failed;
    uv_idle_init(loop, &self->idle);
    self->idle.data = self;
    self->append = self->io.append;
    self->truncate = self->io.truncate;
    self->snapshot_put = self->io.snapshot_put;
    self->close = self->io.close;
    self->start = self->io.start;
    self->send = self->io.send;
    self->io.start = s_start;
    self->io.send = s_send;
    self->io.append = s_append;
    self->io.truncate = s_truncate;
    self->io.snapshot_put = s_snapshot_put;
    self->io.close = s_close;
    return self;
}

struct raft_io *node_io_raft(node_io_t *self)
{
    return &self->io;
}

void *node_io_context(struct raft_io *io)
{
    return ((node_io_t *)io)->context;
}

static void s_idle_closed(uv_handle_t *handle)
{
    settle_free(handle->data);
}

void node_io_close(node_io_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_io_t *self = *self_p;
    *self_p = NULL;
    raft_uv_close(&self->io);
    uv_close((uv_handle_t *)&self->idle, s_idle_closed);
}
