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

/* Decodes the command and reads its signer's row. */
static int s_signer(node_check_t *self, const uint8_t *bytes, size_t size, command_t *command,
                    ledger_participant_t *signer, settle_error_t *reason)
{
    settle_error_clear(reason);
    int rc = command_decode(bytes, size, command, reason);
    if (rc != SETTLE_OK)
        return rc;
    rc = ledger_participant_get(self->ledger, command->participant, signer);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return settle_error_set(reason, SETTLE_ERR_NOT_FOUND, "signer \"%s\" is not registered",
                                command->participant);
    if (rc != SETTLE_OK)
        return settle_error_set(reason, rc, "cannot read the participants");
    return SETTLE_OK;
}

int node_check_command(node_check_t *self, const uint8_t *bytes, size_t size,
                       settle_error_t *reason)
{
    command_t command;
    ledger_participant_t signer;
    int rc = s_signer(self, bytes, size, &command, &signer, reason);
    return rc == SETTLE_OK ? command_verify(&command, signer.public_key, reason) : rc;
}

int node_check_prepare(node_check_t *self, const uint8_t *bytes, size_t size,
                       node_check_signed_t *out, settle_error_t *reason)
{
    command_t command;
    ledger_participant_t signer;
    int rc = s_signer(self, bytes, size, &command, &signer, reason);
    if (rc == SETTLE_OK)
        rc = command_signing_digest(&command, out->digest, reason);
    if (rc != SETTLE_OK)
        return rc;
    memcpy(out->public_key, signer.public_key, sizeof out->public_key);
    memcpy(out->signature, command.signature, sizeof out->signature);
    return SETTLE_OK;
}
