/*
 * raft_vouch.c - what a follower's answers may claim (raft_vouch.h).
 * Deterministic: no clock, no randomness, no environment.
 */
#include "settle/raft_vouch.h"

void raft_vouch_recv_begin(raft_vouch_t *self, const struct raft_message *message)
{
    raft_term term;
    raft_index upto;
    if (message->type == RAFT_IO_APPEND_ENTRIES) {
        term = message->append_entries.term;
        upto = message->append_entries.prev_log_index + message->append_entries.n_entries;
    } else if (message->type == RAFT_IO_INSTALL_SNAPSHOT) {
        term = message->install_snapshot.term;
        upto = message->install_snapshot.last_index;
    } else {
        return;
    }
    if (term > self->term) { /* a new leader: nothing is vouched for it yet */
        self->term = term;
        self->upto = 0;
    }
    self->in_recv = true;
    self->recv_term = term;
    self->recv_upto = upto;
}

void raft_vouch_recv_end(raft_vouch_t *self)
{
    self->in_recv = false;
}

void raft_vouch_accepted(raft_vouch_t *self)
{
    if (self->in_recv && self->recv_term == self->term && self->recv_upto > self->upto)
        self->upto = self->recv_upto;
}

const struct raft_message *raft_vouch_send(raft_vouch_t *self, const struct raft_message *message,
                                           struct raft_message *copy)
{
    if (message->type != RAFT_IO_APPEND_ENTRIES_RESULT ||
        message->append_entries_result.rejected != 0)
        return message;
    raft_vouch_accepted(self); /* answered at once, with success */
    raft_index cap = message->append_entries_result.term == self->term ? self->upto : 0;
    if (message->append_entries_result.last_log_index <= cap)
        return message;
    *copy = *message;
    copy->append_entries_result.last_log_index = cap;
    return copy;
}
