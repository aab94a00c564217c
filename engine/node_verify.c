/*
 * node_verify.c - a run of submits' signatures, verified by the calling
 * thread and its helpers: item i goes to thread i % threads, and each
 * thread checks the signatures of its share as one batch
 * (sign_verify_batch); when the batch fails, it checks its items one by
 * one, to refuse exactly the ones that are wrong with their reasons.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "node_check.h"
#include "node_verify.h"
#include "settle/alloc.h"

typedef struct {
    node_verify_t *owner;
    unsigned index; /* 1.. (0 is the calling thread) */
    pthread_t thread;
    bool started;
} s_helper_t;

/* A thread's signatures of one run (kept from run to run, grown as needed). */
typedef struct {
    node_check_signed_t *commands;
    sign_item_t *items;
    size_t count, capacity;
} s_batch_t;

struct node_verify_s {
    char path[1024];
    const atomic_uint_fast64_t *participants_version;
    unsigned threads;
    node_check_t *check; /* the calling thread's */
    s_helper_t helpers[NODE_VERIFY_THREADS_MAX];
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    uint64_t round;   /* bumped for each run */
    unsigned pending; /* helpers still working on this round */
    unsigned ready;   /* helpers whose connection is open */
    bool stop;
    node_verify_item_t *items;
    size_t count;
    s_batch_t batches[NODE_VERIFY_THREADS_MAX]; /* one per thread, by index */
};

/* One item's commands (the frames after the verb). */
static void s_verify(node_check_t *check, node_verify_item_t *item)
{
    zframe_t *frame = zmsg_first(item->request);
    for (int i = 0; i < 3 && frame; i++)
        frame = zmsg_next(item->request);
    item->outcome = NODE_VERIFY_OK;
    for (size_t i = 0; frame; frame = zmsg_next(item->request), i++) {
        settle_error_t reason;
        int rc = node_check_command(check, zframe_data(frame), zframe_size(frame), &reason);
        if (rc == SETTLE_OK)
            continue;
        if (rc == SETTLE_ERR_NOT_FOUND || rc == SETTLE_ERR_IO || rc == SETTLE_ERR_NOMEM) {
            /* unknown signer, or this connection failed: the loop checks */
            item->outcome = NODE_VERIFY_UNKNOWN;
            return;
        }
        item->outcome = NODE_VERIFY_REFUSED;
        snprintf(item->reason, sizeof item->reason, "command %zu: %s", i, reason.message);
        return;
    }
}

/* Appends one command; false when out of memory. */
static bool s_batch_add(s_batch_t *b, const node_check_signed_t *command)
{
    if (b->count == b->capacity) {
        size_t grown = b->capacity ? 2 * b->capacity : 64;
        node_check_signed_t *commands = settle_realloc(b->commands, grown * sizeof *commands);
        if (commands)
            b->commands = commands;
        sign_item_t *items = commands ? settle_realloc(b->items, grown * sizeof *items) : NULL;
        if (!items)
            return false;
        b->items = items;
        b->capacity = grown;
    }
    b->commands[b->count++] = *command;
    return true;
}

/* One item's commands into b, or its outcome when one cannot be checked
 * (as s_verify).  false when out of memory. */
static bool s_prepare(node_check_t *check, node_verify_item_t *item, s_batch_t *b)
{
    zframe_t *frame = zmsg_first(item->request);
    for (int i = 0; i < 3 && frame; i++)
        frame = zmsg_next(item->request);
    size_t before = b->count;
    for (size_t i = 0; frame; frame = zmsg_next(item->request), i++) {
        node_check_signed_t command;
        settle_error_t reason;
        int rc =
            node_check_prepare(check, zframe_data(frame), zframe_size(frame), &command, &reason);
        if (rc == SETTLE_OK) {
            if (!s_batch_add(b, &command))
                return false;
            continue;
        }
        b->count = before; /* the item is answered without them */
        if (rc == SETTLE_ERR_NOT_FOUND || rc == SETTLE_ERR_IO || rc == SETTLE_ERR_NOMEM) {
            item->outcome = NODE_VERIFY_UNKNOWN;
            return true;
        }
        item->outcome = NODE_VERIFY_REFUSED;
        snprintf(item->reason, sizeof item->reason, "command %zu: %s", i, reason.message);
        return true;
    }
    return true;
}

/* The items of thread index in this run: every stride-th from index, their
 * signatures checked as one batch; one by one when that fails. */
static void s_share(node_verify_t *self, node_check_t *check, unsigned index, unsigned stride)
{
    s_batch_t *b = &self->batches[index];
    b->count = 0;
    bool prepared = true;
    for (size_t i = index; i < self->count && prepared; i += stride)
        if (self->items[i].outcome == NODE_VERIFY_OK)
            prepared = s_prepare(check, &self->items[i], b);
    if (prepared) {
        for (size_t i = 0; i < b->count; i++)
            b->items[i] = (sign_item_t){b->commands[i].public_key, b->commands[i].digest,
                                        COMMAND_DIGEST_SIZE, b->commands[i].signature};
        if (sign_verify_batch(b->items, b->count) == SETTLE_OK)
            return;
    }
    for (size_t i = index; i < self->count; i += stride)
        if (self->items[i].outcome == NODE_VERIFY_OK)
            s_verify(check, &self->items[i]);
}

static void *s_helper(void *argument)
{
    (void)prctl(PR_SET_NAME, "settled-verify", 0, 0, 0); /* in top -H, perf */
    s_helper_t *h = argument;
    node_verify_t *self = h->owner;
    settle_error_t error;
    node_check_t *check = node_check_open(self->path, self->participants_version, &error);
    pthread_mutex_lock(&self->lock);
    self->ready++;
    pthread_cond_broadcast(&self->done);
    uint64_t seen = self->round;
    while (!self->stop) {
        while (!self->stop && self->round == seen)
            pthread_cond_wait(&self->go, &self->lock);
        if (self->stop)
            break;
        seen = self->round;
        pthread_mutex_unlock(&self->lock);
        if (check)
            s_share(self, check, h->index, self->threads);
        else /* no connection: the items go to the loop unchecked */
            for (size_t i = h->index; i < self->count; i += self->threads)
                if (self->items[i].outcome == NODE_VERIFY_OK)
                    self->items[i].outcome = NODE_VERIFY_UNKNOWN;
        pthread_mutex_lock(&self->lock);
        if (--self->pending == 0)
            pthread_cond_broadcast(&self->done);
    }
    pthread_mutex_unlock(&self->lock);
    node_check_close(&check);
    return NULL;
}

node_verify_t *node_verify_new(const char *path, unsigned threads,
                               const atomic_uint_fast64_t *participants_version,
                               settle_error_t *error)
{
    node_verify_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(self->path, sizeof self->path, "%s", path);
    self->participants_version = participants_version;
    self->threads = threads < 1                         ? 1
                    : threads > NODE_VERIFY_THREADS_MAX ? NODE_VERIFY_THREADS_MAX
                                                        : threads;
    self->check = node_check_open(path, participants_version, error);
    if (!self->check) {
        settle_free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->go, NULL);
    pthread_cond_init(&self->done, NULL);
    for (unsigned i = 1; i < self->threads; i++) {
        s_helper_t *h = &self->helpers[i];
        h->owner = self;
        h->index = i;
        h->started = pthread_create(&h->thread, NULL, s_helper, h) == 0;
        if (!h->started) {
            self->threads = i; /* fewer helpers than asked: still correct */
            break;
        }
    }
    pthread_mutex_lock(&self->lock); /* each helper has its connection */
    while (self->ready + 1 < self->threads)
        pthread_cond_wait(&self->done, &self->lock);
    pthread_mutex_unlock(&self->lock);
    return self;
}

void node_verify_destroy(node_verify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_verify_t *self = *self_p;
    *self_p = NULL;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_broadcast(&self->go);
    pthread_mutex_unlock(&self->lock);
    for (unsigned i = 1; i < NODE_VERIFY_THREADS_MAX; i++)
        if (self->helpers[i].started)
            pthread_join(self->helpers[i].thread, NULL);
    node_check_close(&self->check);
    for (unsigned i = 0; i < NODE_VERIFY_THREADS_MAX; i++) {
        settle_free(self->batches[i].commands);
        settle_free(self->batches[i].items);
    }
    pthread_cond_destroy(&self->go);
    pthread_cond_destroy(&self->done);
    pthread_mutex_destroy(&self->lock);
    settle_free(self);
}

void node_verify_run(node_verify_t *self, node_verify_item_t *items, size_t count)
{
    size_t to_check = 0;
    for (size_t i = 0; i < count; i++)
        to_check += items[i].outcome == NODE_VERIFY_OK;
    self->items = items;
    self->count = count;
    if (to_check < 2 || self->threads == 1) { /* not worth waking anyone */
        s_share(self, self->check, 0, 1);
        return;
    }
    pthread_mutex_lock(&self->lock);
    self->pending = self->threads - 1;
    self->round++;
    pthread_cond_broadcast(&self->go);
    pthread_mutex_unlock(&self->lock);
    s_share(self, self->check, 0, self->threads);
    pthread_mutex_lock(&self->lock);
    while (self->pending > 0)
        pthread_cond_wait(&self->done, &self->lock);
    pthread_mutex_unlock(&self->lock);
}
