/*
 * node_checkpoint.c - the leader's signed checkpoints: every
 * checkpoint_interval links it signs (index, hash) of the head with the
 * node's own key and proposes it as an entry of its own (node.h, fsm.h).
 *
 * The interval is counted from the last checkpoint the ledger holds, not
 * from what this node proposed, so a new leader carries on where the old
 * one stopped.  The sequence number is the participant's next one in the
 * applied state; one checkpoint is in flight at a time, so two never
 * share it (a command the operator signs with the node's key meanwhile
 * may: the later one is refused as a replay and the next entry retries).
 */
#include <inttypes.h>

#include "node_internal.h"
#include "settle/alloc.h"

static void s_applied(struct raft_apply *request, int status, void *result)
{
    node_t *n = request->data;
    const raft_fsm_result_t *out = result;
    n->checkpoint_pending = false;
    if (status != 0)
        node_log(n->config->id, "warn", "checkpoint", "not applied: %s", raft_strerror(status));
    else if (out && out->results && out->results->command_count == 1 &&
             !out->results->commands[0].accepted)
        node_log(n->config->id, "warn", "checkpoint", "rejected: %s",
                 out->results->commands[0].reason);
}

/* Whether the ledger knows this node as a node in force with our key:
 * otherwise its checkpoints would only be rejected, interval after interval. */
static bool s_signer_ready(node_t *n, ledger_participant_t *signer_out)
{
    if (ledger_participant_get(fsm_ledger(n->fsm), n->config->participant, signer_out) != SETTLE_OK)
        return false;
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(n->checkpoint_key, public_key);
    return signer_out->role == COMMAND_ROLE_NODE && signer_out->revoked_entry == 0 &&
           memcmp(signer_out->public_key, public_key, SIGN_PUBLIC_KEY_SIZE) == 0;
}

/* The checkpoint command of (index, hash), signed, as a one-command entry. */
static int s_entry(node_t *n, uint64_t sequence, uint64_t index, const uint8_t *hash,
                   uint8_t **entry_out, size_t *size_out, settle_error_t *error)
{
    command_checkpoint_t value = {.index = index};
    memcpy(value.hash, hash, COMMAND_DIGEST_SIZE);
    uint8_t *payload = NULL, *bytes = NULL;
    size_t payload_size = 0, size = 0;
    int rc = command_checkpoint_encode(&value, &payload, &payload_size);
    command_t command = {.type = COMMAND_CHECKPOINT,
                         .sequence = sequence,
                         .payload = payload,
                         .payload_size = payload_size};
    snprintf(command.participant, sizeof command.participant, "%s", n->config->participant);
    if (rc == SETTLE_OK)
        rc = command_sign(&command, n->checkpoint_key, error);
    if (rc == SETTLE_OK)
        rc = command_encode(&command, &bytes, &size);
    if (rc == SETTLE_OK) {
        const uint8_t *commands[1] = {bytes};
        rc = command_entry_encode(node_now_ms(), commands, &size, 1, entry_out, size_out);
    }
    settle_free(bytes);
    settle_free(payload);
    return rc;
}

void node_checkpoint_maybe(node_t *n)
{
    unsigned interval = n->config->checkpoint_interval;
    if (!n->checkpoint_key || interval == 0 || n->checkpoint_pending || n->stopping ||
        raft_state(&n->raft) != RAFT_LEADER)
        return;
    uint64_t index, count, last;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(n->fsm, &index, hash);
    if (index < interval ||
        ledger_checkpoint_summary(fsm_ledger(n->fsm), &count, &last) != SETTLE_OK ||
        index - last < interval)
        return;
    ledger_participant_t signer;
    if (!s_signer_ready(n, &signer))
        return;
    uint8_t *entry = NULL;
    size_t size = 0;
    settle_error_t error;
    settle_error_clear(&error);
    struct raft_buffer buffer = {0};
    int rc = s_entry(n, signer.next_sequence, index, hash, &entry, &size, &error);
    if (rc == SETTLE_OK)
        rc = raft_fsm_buffer(entry, size, &buffer);
    settle_free(entry);
    if (rc != SETTLE_OK) {
        node_log(n->config->id, "warn", "checkpoint", "cannot make one: %s", error.message);
        return;
    }
    n->checkpoint_apply.data = n;
    int status = raft_apply(&n->raft, &n->checkpoint_apply, &buffer, 1, s_applied);
    if (status != 0) {
        raft_fsm_buffer_refused(&buffer, status);
        return;
    }
    n->checkpoint_pending = true;
    node_log(n->config->id, "debug", "checkpoint", "proposed link=%" PRIu64 " sequence=%" PRIu64,
             index, signer.next_sequence);
}
