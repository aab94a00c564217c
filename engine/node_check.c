/*
 * node_check.c - decode, look up the signer, verify: the signature check of
 * a submit, on the intake's threads (or the loop, for a lone submit).
 */
#include <string.h>

#include "node_check.h"
#include "settle/alloc.h"
#include "settle/command.h"
#include "settle/ledger.h"

#define S_SIGNERS_KEPT 16 /* signers' rows kept (node_check_open) */

typedef struct {
    ledger_participant_t row;
    uint64_t version; /* *participants_version before the row was read */
} s_kept_t;

struct node_check_s {
    ledger_t *ledger; /* this thread's own connection; read only */
    const atomic_uint_fast64_t *participants_version;
    s_kept_t kept[S_SIGNERS_KEPT];
    unsigned kept_count, next_replaced;
};

node_check_t *node_check_open(const char *path, const atomic_uint_fast64_t *participants_version,
                              settle_error_t *error)
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
    self->participants_version = participants_version;
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

/* The signer's row: the one kept, while the participants are unchanged;
 * otherwise read from the ledger, and kept. */
static int s_signer_row(node_check_t *self, const char *id, ledger_participant_t *row_out)
{
    uint64_t version = atomic_load(self->participants_version);
    for (unsigned i = 0; i < self->kept_count; i++)
        if (self->kept[i].version == version && strcmp(self->kept[i].row.id, id) == 0) {
            *row_out = self->kept[i].row;
            return SETTLE_OK;
        }
    int rc = ledger_participant_get(self->ledger, id, row_out);
    if (rc != SETTLE_OK)
        return rc;
    unsigned slot = self->kept_count;
    for (unsigned i = 0; i < self->kept_count; i++)
        if (strcmp(self->kept[i].row.id, id) == 0)
            slot = i; /* the same signer's stale row */
    if (slot == S_SIGNERS_KEPT)
        slot = self->next_replaced++ % S_SIGNERS_KEPT;
    else if (slot == self->kept_count)
        self->kept_count++;
    self->kept[slot] = (s_kept_t){.row = *row_out, .version = version};
    return SETTLE_OK;
}

/* Decodes the command and reads its signer's row. */
static int s_signer(node_check_t *self, const uint8_t *bytes, size_t size, command_t *command,
                    ledger_participant_t *signer, settle_error_t *reason)
{
    settle_error_clear(reason);
    int rc = command_decode(bytes, size, command, reason);
    if (rc != SETTLE_OK)
        return rc;
    rc = s_signer_row(self, command->participant, signer);
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
