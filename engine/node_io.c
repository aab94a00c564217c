/*
 * node_io.c - raft_uv with its entries kept by node_store.c and its
 * appends started at the end of the loop's turn (node_io.h has why).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <raft/uv.h>

#include "node_io.h"
#include "node_store.h"
#include "settle/raft_vouch.h"
#include "settle/alloc.h"

typedef struct s_append_s {
    struct s_append_s *next;
    struct node_io_s *io;
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
    node_store_t *store;
    raft_index next_index; /* the next append's first entry */
    raft_index uv_last;    /* the last entry in raft_uv's own segments (0: none) */
    int (*load)(struct raft_io *io, raft_term *term, raft_id *voted_for,
                struct raft_snapshot **snapshot, raft_index *start_index,
                struct raft_entry *entries[], size_t *n_entries);
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
    struct {                 /* the snapshot_put under way (libraft has one at most) */
        struct raft_io_snapshot_put *request; /* libraft's */
        struct raft_io_snapshot_put ours;     /* raft_uv's, finding this io */
        const struct raft_snapshot *snapshot;
        unsigned trailing;
        raft_io_snapshot_put_cb cb;
    } put;
    raft_io_close_cb close_cb;
    bool installing; /* a leader's snapshot is being stored: appends wait */
    bool closing;
};

static void s_append_done(void *context, int status)
{
    s_append_t *a = context;
    node_io_t *self = a->io;
    a->cb(a->request, status);
    settle_free(a);
    if (status != 0)
        self->failed(self->context, status);
}

/* Starts every waiting append, in order.  One that the store refuses ends
 * the node (node_io.h): nothing after it is started. */
static void s_start_waiting(node_io_t *self)
{
    while (self->head && !self->installing) {
        s_append_t *a = self->head;
        self->head = a->next;
        if (!self->head)
            self->tail = NULL;
        raft_index first = self->next_index;
        self->next_index += a->count;
        int status = node_store_append(self->store, first, a->entries, a->count, s_append_done, a);
        if (status != 0) {
            settle_free(a);
            self->failed(self->context, status);
        }
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
    if (!a)
        return RAFT_NOMEM;
    a->io = self;
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
    int rc = node_store_truncate(self->store, index);
    if (rc == 0 && index <= self->uv_last) { /* an entry raft_uv holds */
        rc = self->truncate(io, index);
        self->uv_last = index - 1;
    }
    if (rc == 0)
        self->next_index = index;
    return rc;
}

/* raft_uv stored the snapshot: the store drops what it covers.  An
 * install that fails ends the node: libraft's log already starts at the
 * snapshot, the disk's does not. */
static void s_put_done(struct raft_io_snapshot_put *ours, int status)
{
    node_io_t *self = ours->data;
    struct raft_io_snapshot_put *request = self->put.request;
    raft_index index = self->put.snapshot->index;
    unsigned trailing = self->put.trailing;
    raft_io_snapshot_put_cb cb = self->put.cb;
    request->cb = cb;
    if (status == 0 && trailing == 0) { /* installed from the leader: the log starts after */
        status = node_store_reset(self->store, index);
        if (status == 0 && self->uv_last > index) { /* a log written before the store */
            status = self->truncate(&self->io, index + 1);
            self->uv_last = index;
        }
    } else if (status == 0 && index > trailing) {
        status = node_store_compact(self->store, index - trailing + 1);
    }
    if (trailing == 0) {
        self->installing = false;
        if (self->head) /* appends made meanwhile: after the reset, from index + 1 */
            uv_idle_start(&self->idle, s_idle);
    }
    bool fatal = status != 0 && trailing == 0 && !self->closing;
    cb(request, status);
    if (fatal)
        self->failed(self->context, status);
}

static int s_put_start(node_io_t *self)
{
    return self->snapshot_put(&self->io, self->put.trailing, &self->put.ours, self->put.snapshot,
                              s_put_done);
}

/* An install waits, as raft_uv's own barrier did, for every append before
 * it. */
static void s_put_barrier(void *context, int status)
{
    node_io_t *self = context;
    if (status == 0)
        status = s_put_start(self);
    if (status != 0)
        s_put_done(&self->put.ours, status);
}

static int s_snapshot_put(struct raft_io *io, unsigned trailing,
                          struct raft_io_snapshot_put *request,
                          const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    node_io_t *self = (node_io_t *)io;
    raft_vouch_accepted(&self->vouch); /* a leader's snapshot accepted */
    s_start_waiting(self);
    self->put.request = request;
    self->put.snapshot = snapshot;
    self->put.trailing = trailing;
    self->put.cb = cb;
    self->put.ours.data = self;
    if (trailing == 0) {
        /* libraft's log starts after the snapshot from now on (raft_uv set
         * its next append there at once, behind a barrier). */
        self->installing = true;
        self->next_index = snapshot->index + 1;
        int rc = node_store_barrier(self->store, s_put_barrier, self);
        if (rc != 0)
            self->failed(self->context, rc);
        return 0;
    }
    return s_put_start(self);
}

/* ------------------------------------------------------------------------
 * Loading: raft_uv's term, vote, snapshot and entries, then the store's
 * ------------------------------------------------------------------------ */

/* s_merge's second half: raft_uv's entries, then the store's. */
static int s_concat(node_io_t *self, raft_index snapshot_index, raft_index *start_index,
                    struct raft_entry *entries[], size_t *n_entries, raft_index first,
                    struct raft_entry *ours, size_t count)
{
    raft_index last = first + count - 1;
    if (*n_entries && (self->uv_last + 1 < first && snapshot_index + 1 < first))
        return RAFT_CORRUPT;
    if (*n_entries && self->uv_last >= first)
        return RAFT_CORRUPT;
    if (*n_entries && self->uv_last + 1 < first) { /* the snapshot covers the gap */
        node_store_entries_free(*entries, *n_entries);
        *entries = NULL;
        *n_entries = 0;
    }
    if (!*n_entries && first > snapshot_index + 1)
        return RAFT_CORRUPT;
    struct raft_entry *all = raft_calloc(*n_entries + count, sizeof *all);
    if (!all)
        return RAFT_NOMEM;
    if (*n_entries)
        memcpy(all, *entries, *n_entries * sizeof *all);
    memcpy(all + *n_entries, ours, count * sizeof *all);
    if (!*n_entries)
        *start_index = first;
    raft_free(*entries);
    raft_free(ours);
    *entries = all;
    *n_entries += count;
    self->next_index = last + 1;
    return 0;
}

/* Keeps the store's entries after raft_uv's (the bootstrap entry, or a log
 * written before the store): *entries becomes one array of both. */
static int s_merge(node_io_t *self, const struct raft_snapshot *snapshot, raft_index *start_index,
                   struct raft_entry *entries[], size_t *n_entries, raft_index first,
                   struct raft_entry *ours, size_t count)
{
    raft_index snapshot_index = snapshot ? snapshot->index : 0, last = first + count - 1;
    /* All before the snapshot, or disagreeing with it at its index: a crash
     * after an install stored the snapshot, before the store's reset. */
    if (last < snapshot_index || (snapshot && first <= snapshot_index &&
                                  ours[snapshot_index - first].term != snapshot->term)) {
        node_store_entries_free(ours, count);
        return node_store_reset(self->store, snapshot_index);
    }
    int rc = s_concat(self, snapshot_index, start_index, entries, n_entries, first, ours, count);
    if (rc != 0)
        node_store_entries_free(ours, count);
    return rc;
}

static int s_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                  struct raft_snapshot **snapshot, raft_index *start_index,
                  struct raft_entry *entries[], size_t *n_entries)
{
    node_io_t *self = (node_io_t *)io;
    int rc = self->load(io, term, voted_for, snapshot, start_index, entries, n_entries);
    if (rc != 0)
        return rc;
    raft_index snapshot_index = *snapshot ? (*snapshot)->index : 0;
    self->uv_last = *n_entries ? *start_index + *n_entries - 1 : 0;
    self->next_index = (self->uv_last > snapshot_index ? self->uv_last : snapshot_index) + 1;
    raft_index first;
    struct raft_entry *ours;
    size_t count;
    settle_error_t error;
    settle_error_clear(&error);
    rc = node_store_load(self->store, &first, &ours, &count, &error) == SETTLE_OK ? 0 : RAFT_IOERR;
    if (rc == 0 && count)
        rc = s_merge(self, *snapshot, start_index, entries, n_entries, first, ours, count);
    if (rc == RAFT_CORRUPT)
        snprintf(error.message, sizeof error.message,
                 "the log store's entries (from %llu) do not follow raft_uv's (to %llu) and the "
                 "snapshot (%llu)",
                 (unsigned long long)first, (unsigned long long)self->uv_last,
                 (unsigned long long)snapshot_index);
    if (rc == RAFT_NOMEM)
        snprintf(error.message, sizeof error.message, "out of memory loading the log");
    if (rc != 0)
        snprintf(io->errmsg, sizeof io->errmsg, "%s", error.message);
    return rc;
}

static void s_store_closed(void *context, int status)
{
    (void)status;
    node_io_t *self = context;
    self->close(&self->io, self->close_cb);
}

static void s_close(struct raft_io *io, raft_io_close_cb cb)
{
    node_io_t *self = (node_io_t *)io;
    self->closing = true;
    s_start_waiting(self); /* the store finishes them, with their callbacks */
    while (self->head) {   /* held by an install: never written */
        s_append_t *a = self->head;
        self->head = a->next;
        a->cb(a->request, RAFT_CANCELED);
        settle_free(a);
    }
    self->tail = NULL;
    self->close_cb = cb;
    node_store_close(self->store, s_store_closed, self);
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

node_io_t *node_io_new(uv_loop_t *loop, const char *dir, size_t segment_size,
                       struct raft_uv_transport *transport, node_io_started_fn started,
                       node_io_failed_fn failed, void *context)
{
    node_io_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return NULL;
    char store_dir[4200];
    snprintf(store_dir, sizeof store_dir, "%s/log", dir);
    if (!(self->store = node_store_new(loop, store_dir, segment_size))) {
        settle_free(self);
        return NULL;
    }
    if (raft_uv_init(&self->io, loop, dir, transport) != 0) {
        node_store_free(&self->store);
        settle_free(self);
        return NULL;
    }
    self->context = context;
    self->started = started;
    self->failed = failed;
    uv_idle_init(loop, &self->idle);
    self->idle.data = self;
    self->load = self->io.load;
    self->truncate = self->io.truncate;
    self->snapshot_put = self->io.snapshot_put;
    self->close = self->io.close;
    self->start = self->io.start;
    self->send = self->io.send;
    self->io.start = s_start;
    self->io.send = s_send;
    self->io.load = s_load;
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
    node_store_free(&self->store);
    uv_close((uv_handle_t *)&self->idle, s_idle_closed);
}
