/*
 * node_check.c - decode, look up the signer, verify: the signature check of
 * a submit, on the intake thread.
 */
#include <string.h>

#include "node_check.h"
#include "settle/alloc.h"
#include "settle/command.h"
#include "settle/ledger.h"

struct node_check_s {
    ledger_t *ledger; /* this thread's own connection; read only */
};

node_check_t *node_check_open(const char *path, settle_error_t *error)
{
    node_check_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (ledger_open(path, &self->ledger, error) != SETTLE_OK) {
        settle_free(self);
        return NULL;
    }
    return self;
}

void node_check_close(node_check_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ledger_close(&(*self_p)->ledger);
    settle_free(*self_p);
    *self_p = NULL;
}

int node_check_command(node_check_t *self, const uint8_t *bytes, size_t size,
                       settle_error_t *reason)
{
    command_t command;
    settle_error_clear(reason);
    int rc = command_decode(bytes, size, &command, reason);
    if (rc != SETTLE_OK)
        return rc;
    ledger_participant_t signer;
    rc = ledger_participant_get(self->ledger, command.participant, &signer);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return settle_error_set(reason, SETTLE_ERR_NOT_FOUND, "signer \"%s\" is not registered",
                                command.participant);
    if (rc != SETTLE_OK)
        return settle_error_set(reason, rc, "cannot read the participants");
    return command_verify(&command, signer.public_key, reason);
}
