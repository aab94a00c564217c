/*
 * raft_fsm.c - libraft's struct raft_fsm over the state machine: apply,
 * snapshot and restore, with libraft's rules on who frees which buffer
 * (see raft_fsm.h).  Deterministic like the state machine it drives: no
 * clock, no randomness, no environment, no floating point.
 */
#include <string.h>

#include "settle/alloc.h"
#include "settle/command.h"
#include "settle/ledger.h"
#include "settle/raft_fsm.h"

/* struct raft_fsm version 2: snapshot_finalize gives the snapshot buffers
 * back to us, so they need not come from raft_malloc. */
#define RAFT_FSM_VERSION 2

struct raft_fsm_s {
    struct raft_fsm interface; /* interface.data points back here */
    fsm_t *fsm;                /* borrowed */
    fsm_results_t *results;    /* reused entry after entry */
    raft_fsm_result_t result;  /* what *result points at after apply */
    raft_fsm_stats_t stats;
    settle_error_t last_error;
    raft_fsm_applied_fn on_applied; /* NULL when none */
    void *on_applied_context;
    ledger_t *snapshot_reader;     /* an asynchronous snapshot's read, between its calls */
    settle_error_t snapshot_error; /* written by the worker, read once it is done */
    raft_fsm_defer_fn defer;       /* NULL: every entry is applied as it comes */
    void *defer_context;
    struct s_deferred_s *head, *tail; /* entries libraft counts as applied, not yet applied */
    unsigned deferred;
    bool catching_up;           /* a catch-up from on_applied does nothing */
    raft_fsm_result_t later;    /* the result of an entry deferred */
    uint64_t snapshot_begun_at; /* bytes_applied when the asynchronous snapshot began */
    raft_fsm_entry_fn on_entry; /* NULL when none */
    void *on_entry_context;
};

bool raft_fsm_snapshot_due(const raft_fsm_stats_t *stats, unsigned percent, uint64_t log_max)
{
    if (percent == 0 || stats->snapshot_bytes == 0)
        return true;
    uint64_t since = stats->bytes_applied - stats->snapshot_at;
    return since >= log_max || since / percent >= stats->snapshot_bytes / 100;
}

void raft_fsm_on_entry(raft_fsm_t *self, raft_fsm_entry_fn fn, void *context)
{
    self->on_entry = fn;
    self->on_entry_context = context;
}

/* A snapshot of size bytes, taken or restored, now. */
static void s_snapshot_counted(raft_fsm_t *self, uint64_t size)
{
    self->stats.snapshot_bytes = size;
    self->stats.snapshot_at = self->stats.bytes_applied;
}

/* An entry deferred: a copy of its bytes, unpadded. */
typedef struct s_deferred_s {
    struct s_deferred_s *next;
    size_t size;
    uint8_t bytes[];
} s_deferred_t;

/* A settle error code as the libraft code that tells libraft what to do:
 * retry later (memory, I/O) or give up on this input (anything else). */
static int s_raft_code(int code)
{
    if (code == SETTLE_ERR_NOMEM)
        return RAFT_NOMEM;
    if (code == SETTLE_ERR_IO)
        return RAFT_IOERR;
    return RAFT_CORRUPT;
}

/* ------------------------------------------------------------------------
 * The three callbacks (and the fourth, snapshot_finalize)
 * ------------------------------------------------------------------------ */

/* fsm_apply on an entry's bytes (NULL or empty: refused); self->result
 * says what it did.  SETTLE_ERR_NOMEM or SETTLE_ERR_IO when the store
 * failed and the entry must be applied again; SETTLE_OK otherwise. */
static int s_apply_bytes(raft_fsm_t *self, const uint8_t *bytes, size_t size)
{
    raft_fsm_result_t *out = &self->result;
    settle_error_clear(&out->error);
    out->results = NULL;
    int rc;
    if (!bytes || size == 0)
        rc = settle_error_set(&out->error, SETTLE_ERR_TRUNCATED, "raft_fsm: empty entry");
    else
        rc = fsm_apply(self->fsm, bytes, size, self->results, &out->error);
    if (rc == SETTLE_ERR_NOMEM || rc == SETTLE_ERR_IO) {
        /* Rolled back: applied again later. */
        self->stats.apply_failures++;
        self->last_error = out->error;
        return rc;
    }
    out->code = rc;
    if (rc == SETTLE_OK) {
        out->results = self->results;
        self->stats.entries_applied++;
    } else {
        /* The framing is the same bytes on every node: every node refuses. */
        self->stats.entries_refused++;
    }
    if (self->on_applied)
        self->on_applied(self->on_applied_context, out);
    return SETTLE_OK;
}

int raft_fsm_catch_up(raft_fsm_t *self)
{
    if (self->catching_up)
        return SETTLE_OK; /* called from on_applied: the outer call goes on */
    self->catching_up = true;
    while (self->head) {
        s_deferred_t *d = self->head;
        int rc = s_apply_bytes(self, d->bytes, d->size);
        if (rc != SETTLE_OK) {
            self->catching_up = false;
            return rc; /* it stays first */
        }
        self->head = d->next;
        if (!self->head)
            self->tail = NULL;
        self->deferred--;
        settle_free(d);
    }
    self->catching_up = false;
    return SETTLE_OK;
}

unsigned raft_fsm_deferred(const raft_fsm_t *self)
{
    return self->deferred;
}

void raft_fsm_defer_when(raft_fsm_t *self, raft_fsm_defer_fn fn, void *context)
{
    self->defer = fn;
    self->defer_context = context;
}

/* Keeps a copy of the entry for raft_fsm_catch_up; false when out of
 * memory (the entry is then applied at once). */
static bool s_defer(raft_fsm_t *self, const struct raft_buffer *buffer)
{
    size_t size =
        buffer->base && buffer->len ? command_entry_unpadded_size(buffer->base, buffer->len) : 0;
    s_deferred_t *d = settle_malloc(sizeof *d + size);
    if (!d)
        return false;
    d->next = NULL;
    d->size = size;
    if (size)
        memcpy(d->bytes, buffer->base, size);
    if (self->tail)
        self->tail->next = d;
    else
        self->head = d;
    self->tail = d;
    self->deferred++;
    return true;
}

static int s_apply_entry(raft_fsm_t *self, const struct raft_buffer *buffer, void **result);

static int s_apply(struct raft_fsm *interface, const struct raft_buffer *buffer, void **result)
{
    raft_fsm_t *self = interface->data;
    int rc = s_apply_entry(self, buffer, result);
    if (rc == 0) {
        self->stats.bytes_applied += buffer->len;
        if (self->on_entry)
            self->on_entry(self->on_entry_context);
    }
    return rc;
}

static int s_apply_entry(raft_fsm_t *self, const struct raft_buffer *buffer, void **result)
{
    if (self->defer && self->defer(self->defer_context) && s_defer(self, buffer)) {
        *result = &self->later;
        return 0;
    }
    int rc = raft_fsm_catch_up(self); /* the entries before it first */
    if (rc == SETTLE_OK)
        rc = s_apply_bytes(self, buffer->base,
                           buffer->base && buffer->len
                               ? command_entry_unpadded_size(buffer->base, buffer->len)
                               : 0);
    if (rc != SETTLE_OK)
        return s_raft_code(rc); /* libraft keeps the entry and applies it again later */
    *result = &self->result;
    return 0;
}

static int s_snapshot(struct raft_fsm *interface, struct raft_buffer *buffers[], unsigned *count)
{
    raft_fsm_t *self = interface->data;
    int caught = raft_fsm_catch_up(self); /* the snapshot is of what libraft counts applied */
    if (caught != SETTLE_OK)
        return s_raft_code(caught);
    struct raft_buffer *array = settle_calloc(1, sizeof *array);
    if (!array) {
        settle_error_set(&self->last_error, SETTLE_ERR_NOMEM, "raft_fsm: out of memory");
        return RAFT_NOMEM;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = fsm_snapshot(self->fsm, &bytes, &size, &error);
    if (rc != SETTLE_OK) {
        settle_free(array);
        self->last_error = error;
        return s_raft_code(rc);
    }
    array[0].base = bytes;
    array[0].len = size;
    *buffers = array;
    *count = 1;
    self->stats.snapshots_taken++;
    s_snapshot_counted(self, size);
    return 0;
}

/* libraft is done with the snapshot (stored or failed): free what
 * s_snapshot made. */
static int s_snapshot_finalize(struct raft_fsm *interface, struct raft_buffer *buffers[],
                               unsigned *count)
{
    (void)interface;
    if (*buffers) {
        for (unsigned i = 0; i < *count; i++)
            settle_free((*buffers)[i].base);
        settle_free(*buffers);
    }
    *buffers = NULL;
    *count = 0;
    return 0;
}

/* The entries deferred, dropped: a snapshot that replaces the state is of
 * a later index than any of them. */
static void s_drop_deferred(raft_fsm_t *self)
{
    while (self->head) {
        s_deferred_t *d = self->head;
        self->head = d->next;
        settle_free(d);
    }
    self->tail = NULL;
    self->deferred = 0;
}

static int s_restore(struct raft_fsm *interface, struct raft_buffer *buffer)
{
    raft_fsm_t *self = interface->data;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = buffer->base && buffer->len > 0
                 ? fsm_restore(self->fsm, buffer->base, buffer->len, &error)
                 : settle_error_set(&error, SETTLE_ERR_TRUNCATED, "raft_fsm: empty snapshot");
    if (rc != SETTLE_OK) {
        /* The buffer stays libraft's, which frees it. */
        self->stats.restore_failures++;
        self->last_error = error;
        return s_raft_code(rc);
    }
    s_drop_deferred(self);
    s_snapshot_counted(self, buffer->len);
    /* fsm_restore copied what it needed: the buffer is ours to free. */
    raft_free(buffer->base);
    buffer->base = NULL;
    buffer->len = 0;
    self->stats.snapshots_restored++;
    return 0;
}

/* ------------------------------------------------------------------------
 * Snapshots beside the loop (raft_fsm_snapshot_async)
 * ------------------------------------------------------------------------ */

/* On the loop: a read transaction on the state as applied now, and one
 * empty buffer for the worker to fill. */
static int s_snapshot_begin(struct raft_fsm *interface, struct raft_buffer *buffers[],
                            unsigned *count)
{
    raft_fsm_t *self = interface->data;
    int caught = raft_fsm_catch_up(self); /* the snapshot is of what libraft counts applied */
    if (caught != SETTLE_OK)
        return s_raft_code(caught);
    struct raft_buffer *array = settle_calloc(1, sizeof *array);
    settle_error_t error;
    settle_error_clear(&error);
    int rc = array ? ledger_snapshot_reader(fsm_ledger(self->fsm), &self->snapshot_reader, &error)
                   : settle_error_set(&error, SETTLE_ERR_NOMEM, "raft_fsm: out of memory");
    if (rc != SETTLE_OK) {
        settle_free(array);
        self->last_error = error;
        return s_raft_code(rc);
    }
    *buffers = array;
    *count = 1;
    self->snapshot_begun_at = self->stats.bytes_applied;
    return 0;
}

/* On libraft's worker: the image, read through the transaction begun on
 * the loop; touches nothing the loop uses. */
static int s_snapshot_async(struct raft_fsm *interface, struct raft_buffer *buffers[],
                            unsigned *count)
{
    raft_fsm_t *self = interface->data;
    uint8_t *bytes = NULL;
    size_t size = 0;
    settle_error_clear(&self->snapshot_error);
    int rc = ledger_serialize_image(self->snapshot_reader, &bytes, &size, &self->snapshot_error);
    ledger_close(&self->snapshot_reader);
    if (rc != SETTLE_OK)
        return s_raft_code(rc);
    (*buffers)[0].base = bytes;
    (*buffers)[0].len = size;
    *count = 1;
    return 0;
}

/* Back on the loop, the snapshot stored or not: the buffers and the read. */
static int s_snapshot_async_finalize(struct raft_fsm *interface, struct raft_buffer *buffers[],
                                     unsigned *count)
{
    raft_fsm_t *self = interface->data;
    if (self->snapshot_reader) /* the worker did not run */
        ledger_close(&self->snapshot_reader);
    if (self->snapshot_error.code != SETTLE_OK)
        self->last_error = self->snapshot_error;
    else if (*buffers && (*buffers)[0].base) {
        self->stats.snapshots_taken++;
        /* Counted from its start: the entries applied since were not in it. */
        self->stats.snapshot_bytes = (*buffers)[0].len;
        self->stats.snapshot_at = self->snapshot_begun_at;
    }
    settle_error_clear(&self->snapshot_error);
    if (*buffers) { /* SQLite's image (s_snapshot_async) */
        ledger_image_free((*buffers)[0].base);
        settle_free(*buffers);
    }
    *buffers = NULL;
    *count = 0;
    return 0;
}

void raft_fsm_snapshot_async(raft_fsm_t *self, bool async)
{
    self->interface.version = async ? 3 : RAFT_FSM_VERSION;
    self->interface.snapshot = async ? s_snapshot_begin : s_snapshot;
    self->interface.snapshot_async = async ? s_snapshot_async : NULL;
    self->interface.snapshot_finalize = async ? s_snapshot_async_finalize : s_snapshot_finalize;
}

/* ------------------------------------------------------------------------
 * Life
 * ------------------------------------------------------------------------ */

int raft_fsm_new(fsm_t *fsm, raft_fsm_t **self_out)
{
    if (!fsm || !self_out)
        return SETTLE_ERR_INVALID;
    raft_fsm_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return SETTLE_ERR_NOMEM;
    self->results = fsm_results_new();
    if (!self->results) {
        settle_free(self);
        return SETTLE_ERR_NOMEM;
    }
    self->fsm = fsm;
    self->interface.version = RAFT_FSM_VERSION;
    self->interface.data = self;
    self->interface.apply = s_apply;
    self->interface.snapshot = s_snapshot;
    self->interface.restore = s_restore;
    self->interface.snapshot_finalize = s_snapshot_finalize;
    self->interface.snapshot_async = NULL; /* snapshots are taken synchronously */
    settle_error_clear(&self->last_error);
    settle_error_clear(&self->result.error);
    self->later.code = SETTLE_ERR_INVALID;
    settle_error_set(&self->later.error, SETTLE_ERR_INVALID,
                     "applied later: this node was not leading when the entry committed");
    *self_out = self;
    return SETTLE_OK;
}

void raft_fsm_destroy(raft_fsm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_drop_deferred(*self_p);
    fsm_results_destroy(&(*self_p)->results);
    ledger_close(&(*self_p)->snapshot_reader);
    settle_free(*self_p);
    *self_p = NULL;
}

struct raft_fsm *raft_fsm_interface(raft_fsm_t *self)
{
    return &self->interface;
}

fsm_t *raft_fsm_state(raft_fsm_t *self)
{
    return self->fsm;
}

void raft_fsm_on_applied(raft_fsm_t *self, raft_fsm_applied_fn fn, void *context)
{
    self->on_applied = fn;
    self->on_applied_context = context;
}

void raft_fsm_stats(const raft_fsm_t *self, raft_fsm_stats_t *stats_out)
{
    *stats_out = self->stats;
}

const settle_error_t *raft_fsm_last_error(const raft_fsm_t *self)
{
    return &self->last_error;
}

int raft_fsm_buffer(const uint8_t *entry, size_t size, struct raft_buffer *buffer_out)
{
    if (!entry || size == 0)
        return SETTLE_ERR_INVALID;
    if (size > COMMAND_ENTRY_SIZE_MAX)
        return SETTLE_ERR_TOO_LONG;
    /* libraft's on-disk log reads entries back right only in multiples of
     * 8 bytes; apply cuts the zero padding off (command_entry_unpadded_size). */
    size_t padded = (size + 7) & ~(size_t)7;
    uint8_t *base = raft_malloc(padded);
    if (!base)
        return SETTLE_ERR_NOMEM;
    memcpy(base, entry, size);
    memset(base + size, 0, padded - size);
    buffer_out->base = base;
    buffer_out->len = padded;
    return SETTLE_OK;
}

void raft_fsm_buffer_refused(struct raft_buffer *buffer, int rc)
{
    if (rc == RAFT_NOTLEADER)
        raft_free(buffer->base);
    buffer->base = NULL;
    buffer->len = 0;
}
