/*
 * node_gather.c - the leader's group commit: submits gathered into one
 * entry, their frames kept alive until the entry is encoded.
 */
#include <string.h>

#include "node_gather.h"
#include "settle/alloc.h"
#include "settle/command.h"
#include "settle/raft_fsm.h"

struct node_gather_s {
    uint32_t commands_max;
    size_t bytes_max;
    uint32_t count; /* commands */
    size_t bytes;
    const uint8_t **commands;
    size_t *sizes;
    zmsg_t **held; /* the requests whose frames the commands point into */
    node_waiter_t *waiters;
    uint32_t waiter_count; /* = held requests */
};

node_gather_t *node_gather_new(uint32_t commands_max, size_t bytes_max)
{
    node_gather_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->commands_max = commands_max;
    self->bytes_max = bytes_max;
    self->commands = settle_calloc(commands_max, sizeof *self->commands);
    self->sizes = settle_calloc(commands_max, sizeof *self->sizes);
    self->held = settle_calloc(commands_max, sizeof *self->held);
    self->waiters = settle_calloc(commands_max, sizeof *self->waiters);
    if (!self->commands || !self->sizes || !self->held || !self->waiters)
        node_gather_destroy(&self);
    return self;
}

/* Forgets what is gathered; frees the waiters' frames when free_waiters. */
static void s_reset(node_gather_t *self, bool free_waiters)
{
    for (uint32_t i = 0; i < self->waiter_count; i++) {
        zmsg_destroy(&self->held[i]);
        if (free_waiters) {
            zframe_destroy(&self->waiters[i].identity);
            zframe_destroy(&self->waiters[i].request_id);
        }
    }
    self->count = 0;
    self->bytes = 0;
    self->waiter_count = 0;
}

void node_gather_destroy(node_gather_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_gather_t *self = *self_p;
    *self_p = NULL;
    if (self->held && self->waiters)
        s_reset(self, true);
    settle_free(self->commands);
    settle_free(self->sizes);
    settle_free(self->held);
    settle_free(self->waiters);
    settle_free(self);
}

bool node_gather_fits(const node_gather_t *self, uint32_t count, size_t bytes)
{
    return self->count + count <= self->commands_max &&
           (self->count == 0 || self->bytes + bytes <= self->bytes_max);
}

uint32_t node_gather_count(const node_gather_t *self)
{
    return self->count;
}

int node_gather_add(node_gather_t *self, zmsg_t **request, zframe_t *identity, zframe_t *request_id,
                    uint64_t arrived_us)
{
    uint32_t count = (uint32_t)zmsg_size(*request);
    if (count == 0 || !node_gather_fits(self, count, zmsg_content_size(*request)))
        return SETTLE_ERR_TOO_MANY;
    node_waiter_t *w = &self->waiters[self->waiter_count];
    w->identity = zframe_dup(identity);
    w->request_id = zframe_dup(request_id);
    w->first = self->count;
    w->count = count;
    w->arrived_us = arrived_us;
    for (zframe_t *f = zmsg_first(*request); f; f = zmsg_next(*request)) {
        self->commands[self->count] = zframe_data(f);
        self->sizes[self->count] = zframe_size(f);
        self->bytes += zframe_size(f);
        self->count++;
    }
    self->held[self->waiter_count++] = *request;
    *request = NULL;
    return SETTLE_OK;
}

int node_gather_take(node_gather_t *self, uint64_t timestamp_ms, struct raft_buffer *buffer_out,
                     node_batch_t **batch_out)
{
    if (self->count == 0)
        return SETTLE_ERR_NOT_FOUND;
    node_batch_t *batch =
        settle_calloc(1, sizeof *batch + self->waiter_count * sizeof batch->waiters[0]);
    uint8_t *entry = NULL;
    size_t size = 0;
    int rc = batch ? command_entry_encode(timestamp_ms, self->commands, self->sizes, self->count,
                                          &entry, &size)
                   : SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK)
        rc = raft_fsm_buffer(entry, size, buffer_out);
    settle_free(entry);
    if (rc != SETTLE_OK) {
        settle_free(batch);
        return rc;
    }
    batch->command_count = self->count;
    batch->waiter_count = self->waiter_count;
    memcpy(batch->waiters, self->waiters, self->waiter_count * sizeof batch->waiters[0]);
    s_reset(self, false); /* the frames now belong to the batch */
    *batch_out = batch;
    return SETTLE_OK;
}

void node_batch_release(node_batch_t **batch_p)
{
    if (!batch_p || !*batch_p)
        return;
    node_batch_t *batch = *batch_p;
    *batch_p = NULL;
    for (uint32_t i = 0; i < batch->waiter_count; i++) {
        zframe_destroy(&batch->waiters[i].identity);
        zframe_destroy(&batch->waiters[i].request_id);
    }
    settle_free(batch);
}
