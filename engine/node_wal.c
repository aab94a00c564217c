/*
 * node_wal.c - the ledger's WAL checkpointed beside the loop (node_wal.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/prctl.h>

#include "node_internal.h"
#include "node_wal.h"
#include "settle/alloc.h"

struct node_wal_s {
    ledger_t *writer;
    ledger_wal_t *wal; /* the thread's connection */
    uint64_t node_id;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool wanted, stop; /* under lock */
    int pages;         /* the loop's: the WAL's length after the last commit */
    bool committed;    /* the loop's: a commit since the last tick */
    bool idle_asked;   /* the loop's: this idle spell's checkpoint asked for */
};

/* After each of the writer's commits, on the loop. */
static void s_want(node_wal_t *self)
{
    pthread_mutex_lock(&self->lock);
    if (!self->wanted) {
        self->wanted = true;
        pthread_cond_signal(&self->wake);
    }
    pthread_mutex_unlock(&self->lock);
}

static void s_watch(void *context, int pages)
{
    node_wal_t *self = context;
    self->pages = pages;
    self->committed = true;
    self->idle_asked = false;
    if (pages >= NODE_WAL_PAGES_MAX) {
        ledger_wal_checkpoint_writer(self->writer);
        return;
    }
    if (pages >= NODE_WAL_PAGES)
        s_want(self);
}

void node_wal_tick(node_wal_t *self)
{
    bool idle = !self->committed;
    self->committed = false;
    if (idle && !self->idle_asked && self->pages >= NODE_WAL_IDLE_PAGES) {
        self->idle_asked = true;
        s_want(self);
    }
}

static void *s_thread(void *argument)
{
    (void)prctl(PR_SET_NAME, "settled-wal", 0, 0, 0); /* in top -H, perf */
    node_wal_t *self = argument;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->wanted && !self->stop)
            pthread_cond_wait(&self->wake, &self->lock);
        if (self->stop)
            break;
        self->wanted = false;
        pthread_mutex_unlock(&self->lock);
        settle_error_t error;
        settle_error_clear(&error);
        int left = 0;
        node_log(self->node_id, "debug", "wal", "checkpoint begins");
        if (ledger_wal_checkpoint(self->wal, &left, &error) != SETTLE_OK)
            node_log(self->node_id, "warn", "ledger", "%s", error.message);
        else
            node_log(self->node_id, "debug", "wal", "checkpoint ends, %d pages left", left);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

node_wal_t *node_wal_start(const char *path, ledger_t *writer, uint64_t node_id,
                           settle_error_t *error)
{
    node_wal_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->writer = writer;
    self->node_id = node_id;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    if (ledger_wal_open(path, &self->wal, error) != SETTLE_OK ||
        pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        if (self->wal)
            settle_error_set(error, SETTLE_ERR_IO, "ledger: cannot start the checkpoint thread");
        ledger_wal_close(&self->wal);
        pthread_mutex_destroy(&self->lock);
        pthread_cond_destroy(&self->wake);
        settle_free(self);
        return NULL;
    }
    ledger_wal_watch(writer, s_watch, self);
    return self;
}

void node_wal_stop(node_wal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_wal_t *self = *self_p;
    *self_p = NULL;
    ledger_wal_watch(self->writer, NULL, NULL);
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    ledger_wal_close(&self->wal);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->wake);
    settle_free(self);
}
