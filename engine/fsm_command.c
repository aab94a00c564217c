/*
 * fsm_command.c - who may do what, and the small commands: register a
 * participant, deploy a contract, enroll members, fund a payer, rotate a
 * key, revoke a participant, record a checkpoint.
 *
 * Every applier checks everything that can make it refuse before it writes
 * anything, so a rejected command leaves no trace but its rejection.
 */
#include <inttypes.h>
#include <stdio.h>

#include "fsm_internal.h"
#include "settle/hash.h"

/* The role each command type needs from its signer (the table in fsm.h);
 * 0 for any role (rotate and revoke: their appliers check whom they touch). */
static const uint8_t s_role_needed[COMMAND_TYPE_MAX + 1] = {
    [COMMAND_REGISTER] = COMMAND_ROLE_NODE,
    [COMMAND_DEPLOY] = COMMAND_ROLE_PAYER,
    [COMMAND_ENROLL] = COMMAND_ROLE_PAYER,
    [COMMAND_BATCH] = COMMAND_ROLE_PAYER,
    [COMMAND_FUND] = COMMAND_ROLE_PAYER,
    [COMMAND_PAY] = COMMAND_ROLE_PAYER,
    [COMMAND_ROTATE] = 0,
    [COMMAND_REVOKE] = 0,
    [COMMAND_CHECKPOINT] = COMMAND_ROLE_NODE,
};

static int s_authorize_genesis(fsm_apply_t *apply, const command_t *command, bool applying)
{
    if (apply->fsm->head_index != 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID,
                          "genesis commands are accepted in the first entry only");
    if (command->type != COMMAND_REGISTER)
        return fsm_reject(apply, SETTLE_ERR_INVALID, "genesis may only register participants");
    if (applying && command->sequence != apply->genesis_next)
        return fsm_reject(apply, SETTLE_ERR_RANGE,
                          "genesis sequence %" PRIu64 ", expected %" PRIu64, command->sequence,
                          apply->genesis_next);
    return SETTLE_OK;
}

/* Why the window refuses a sequence number (ledger.h): a replay of one
 * already applied, or one too old to tell. */
static int s_reject_sequence(fsm_apply_t *apply, const command_t *command,
                             const ledger_participant_t *signer, ledger_sequence_t seen)
{
    if (seen == LEDGER_SEQUENCE_REPLAYED)
        return fsm_reject(apply, SETTLE_ERR_EXISTS,
                          "replayed sequence %" PRIu64 " of %s: a command with that number "
                          "was applied already",
                          command->sequence, command->participant);
    if (seen == LEDGER_SEQUENCE_TOO_OLD)
        return fsm_reject(apply, SETTLE_ERR_RANGE,
                          "sequence %" PRIu64 " of %s too old: the ledger remembers only the "
                          "%d numbers up to %" PRIu64 ", the highest applied",
                          command->sequence, command->participant, LEDGER_SEQUENCE_WINDOW,
                          signer->next_sequence - 1);
    return fsm_reject(apply, SETTLE_ERR_RANGE, "sequence %" PRIu64 " of %s out of range",
                      command->sequence, command->participant);
}

int fsm_authorize(fsm_apply_t *apply, const command_t *command, bool check_signature, bool applying)
{
    if (strcmp(command->participant, COMMAND_GENESIS_PARTICIPANT) == 0)
        return s_authorize_genesis(apply, command, applying);
    ledger_participant_t signer;
    int rc = ledger_participant_get(apply->fsm->ledger, command->participant, &signer);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return fsm_reject(apply, SETTLE_ERR_UNKNOWN_KEY, "unknown signer \"%s\"",
                          command->participant);
    if (rc != SETTLE_OK)
        return rc;
    if (signer.revoked_entry != 0)
        return fsm_reject(apply, SETTLE_ERR_UNKNOWN_KEY,
                          "%s was revoked at entry %" PRIu64 ": its commands are refused",
                          command->participant, signer.revoked_entry);
    uint8_t needed = s_role_needed[command->type];
    if (needed != 0 && signer.role != needed)
        return fsm_reject(apply, SETTLE_ERR_INVALID, "the %s %s may not %s (%s only)",
                          command_role_name(signer.role), command->participant,
                          command_type_name(command->type),
                          command_role_name(s_role_needed[command->type]));
    ledger_sequence_t seen = ledger_sequence_check(&signer, command->sequence);
    if (seen != LEDGER_SEQUENCE_NEW)
        return s_reject_sequence(apply, command, &signer, seen);
    /* Apply trusts the leader's check, except for a signer whose key has
     * changed since it registered: the leader may have checked a command
     * against the key a rotation, committed since, has retired. */
    bool check = check_signature || (applying && signer.key_entry != signer.registered_entry);
    if (check && applying &&
        fsm_verified_ahead(apply->fsm, apply->entry_index, apply->position, signer.public_key,
                           command->signature))
        check = false; /* checked in a batch already, against this very key */
    if (check) {
        settle_error_t problem;
        settle_error_clear(&problem);
        rc = command_verify(command, signer.public_key, &problem);
        if (rc != SETTLE_OK)
            return fsm_reject(apply, rc, "%s", problem.message);
    }
    return SETTLE_OK;
}

/* The leader's check; the signature too when verify_signature. */
static int s_check(fsm_t *self, const uint8_t *bytes, size_t size, bool verify_signature,
                   settle_error_t *reason)
{
    command_t command;
    settle_error_clear(reason);
    int rc = command_decode(bytes, size, &command, reason);
    if (rc != SETTLE_OK)
        return rc;
    fsm_command_result_t result;
    memset(&result, 0, sizeof result);
    fsm_apply_t apply = {.fsm = self, .result = &result};
    bool genesis = strcmp(command.participant, COMMAND_GENESIS_PARTICIPANT) == 0;
    rc = fsm_authorize(&apply, &command, !genesis && verify_signature, false);
    if (rc == FSM_REJECTED)
        return settle_error_set(reason, result.code, "%s", result.reason);
    return rc == SETTLE_OK ? rc : settle_error_set(reason, rc, "fsm: cannot read participants");
}

int fsm_check_command(fsm_t *self, const uint8_t *bytes, size_t size, settle_error_t *reason)
{
    return s_check(self, bytes, size, true, reason);
}

int fsm_check_command_verified(fsm_t *self, const uint8_t *bytes, size_t size,
                               settle_error_t *reason)
{
    return s_check(self, bytes, size, false, reason);
}

int fsm_sequence_accept(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    if (strcmp(command->participant, COMMAND_GENESIS_PARTICIPANT) == 0) {
        apply->genesis_next++;
        return SETTLE_OK;
    }
    ledger_participant_t signer;
    int rc = ledger_participant_get(apply->fsm->ledger, command->participant, &signer);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "fsm: cannot read participant %s", command->participant);
    ledger_sequence_accept(&signer, command->sequence);
    return ledger_participant_advance(apply->fsm->ledger, &signer, error);
}

/* ------------------------------------------------------------------------
 * Register, deploy, enroll, fund
 * ------------------------------------------------------------------------ */

int fsm_apply_register(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_register_t value;
    settle_error_t problem;
    if (command_register_decode(command->payload, command->payload_size, &value, &problem) !=
        SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    if (strcmp(value.participant, COMMAND_GENESIS_PARTICIPANT) == 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID, "\"genesis\" is reserved");
    ledger_participant_t row;
    memset(&row, 0, sizeof row);
    memcpy(row.id, value.participant, sizeof row.id);
    row.role = value.role;
    memcpy(row.public_key, value.public_key, sizeof row.public_key);
    memcpy(row.name, value.display_name, sizeof row.name);
    memcpy(row.npi, value.npi, sizeof row.npi);
    ledger_participant_t existing;
    if (ledger_participant_get(apply->fsm->ledger, row.id, &existing) == SETTLE_OK)
        return fsm_reject(apply, SETTLE_ERR_EXISTS, "participant \"%s\" is already registered",
                          value.participant);
    /* One provider per NPI: what a provider may read will be decided by it. */
    if (row.npi[0] &&
        ledger_participant_by_npi(apply->fsm->ledger, row.npi, &existing) == SETTLE_OK)
        return fsm_reject(apply, SETTLE_ERR_EXISTS, "NPI %s is already registered to \"%s\"",
                          row.npi, existing.id);
    return ledger_participant_put(apply->fsm->ledger, &row, apply->entry_index, error);
}

/* Adds a compiled contract to its payer's list; takes ownership. */
static int s_keep_contract(fsm_t *fsm, const char *payer_id, contract_t *contract,
                           const uint8_t hash[LEDGER_HASH_SIZE], settle_error_t *error)
{
    fsm_payer_t *payer = fsm_cache_payer(&fsm->cache, payer_id);
    if (!payer) {
        contract_destroy(&contract);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    }
    return fsm_payer_add_contract(payer, contract, hash, error);
}

int fsm_apply_deploy(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_text_t text;
    settle_error_t problem;
    if (command_text_decode(command->payload, command->payload_size, &text, &problem) != SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    contract_t *contract = NULL;
    int rc = contract_load_text((const char *)text.text, text.size, "contract", &contract, &problem,
                                NULL, NULL);
    if (rc == SETTLE_ERR_NOMEM)
        return settle_error_set(error, rc, "fsm: out of memory");
    if (rc != SETTLE_OK) {
        char where[SETTLE_ERROR_MESSAGE_SIZE];
        settle_error_format(&problem, where, sizeof where);
        return fsm_reject(apply, rc, "%s", where);
    }
    if (strcmp(contract_payer(contract), command->participant) != 0) {
        rc = fsm_reject(apply, SETTLE_ERR_INVALID, "contract %s is for payer \"%s\", not \"%s\"",
                        contract_id(contract), contract_payer(contract), command->participant);
        contract_destroy(&contract);
        return rc;
    }
    ledger_contract_t row = {.effective_from = contract_effective_from(contract),
                             .effective_to = contract_effective_to(contract),
                             .yaml = text.text,
                             .yaml_size = text.size};
    snprintf(row.payer, sizeof row.payer, "%s", command->participant);
    snprintf(row.contract_id, sizeof row.contract_id, "%s", contract_id(contract));
    snprintf(row.version, sizeof row.version, "%s", contract_version(contract));
    rc = hash_sha256(text.text, text.size, row.hash);
    if (rc == SETTLE_OK)
        rc = ledger_contract_put(apply->fsm->ledger, &row, apply->entry_index, error);
    if (rc == SETTLE_ERR_EXISTS) {
        contract_destroy(&contract);
        return fsm_reject(apply, rc, "contract %s version %s is already deployed", row.contract_id,
                          row.version);
    }
    if (rc != SETTLE_OK) {
        contract_destroy(&contract);
        return rc;
    }
    return s_keep_contract(apply->fsm, command->participant, contract, row.hash, error);
}

/* Least knowledge on the ledger (phi.h): members are enrolled by member
 * key, without their birth dates. */
static int s_check_protected(fsm_apply_t *apply, const enrollment_t *enrollment)
{
    size_t at = 0;
    const char *clear = enrollment_unprotected(enrollment, &at);
    if (!clear)
        return SETTLE_OK;
    return fsm_reject(apply, SETTLE_ERR_INVALID,
                      "enrollment member %zu: %s (mk and 32 hex digits); a payer's client "
                      "protects an enrollment before submitting (settle submit --phi FILE)",
                      at + 1, clear);
}

int fsm_apply_enroll(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_text_t text;
    settle_error_t problem;
    if (command_text_decode(command->payload, command->payload_size, &text, &problem) != SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    enrollment_t *enrollment = NULL;
    int rc = enrollment_load_text((const char *)text.text, text.size, "enrollment", &enrollment,
                                  &problem);
    if (rc == SETTLE_ERR_NOMEM)
        return settle_error_set(error, rc, "fsm: out of memory");
    if (rc != SETTLE_OK) {
        char where[SETTLE_ERROR_MESSAGE_SIZE];
        settle_error_format(&problem, where, sizeof where);
        return fsm_reject(apply, rc, "%s", where);
    }
    rc = s_check_protected(apply, enrollment);
    if (rc != SETTLE_OK) {
        enrollment_destroy(&enrollment);
        return rc;
    }
    for (size_t i = 0; rc == SETTLE_OK && i < enrollment_count(enrollment); i++)
        rc = ledger_member_put(apply->fsm->ledger, command->participant,
                               enrollment_member(enrollment, i), apply->entry_index, error);
    enrollment_destroy(&enrollment);
    if (rc == SETTLE_OK)
        rc = fsm_cache_reload_enrollment(&apply->fsm->cache, apply->fsm->ledger,
                                         command->participant, error);
    return rc;
}

int fsm_apply_fund(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_fund_t value;
    settle_error_t problem;
    if (command_fund_decode(command->payload, command->payload_size, &value, &problem) != SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    if (strcmp(value.payer, command->participant) != 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID, "%s may not fund payer %s",
                          command->participant, value.payer);
    char funding[LEDGER_ACCOUNT_ID_SIZE];
    ledger_account_funding(value.payer, funding);
    ledger_transfer_t transfer = {.debit_account = LEDGER_ACCOUNT_SETTLEMENT,
                                  .credit_account = funding,
                                  .amount_cents = value.amount_cents,
                                  .kind = LEDGER_TRANSFER_FUND,
                                  .payer = value.payer,
                                  .claim_id = "",
                                  .payment_id = "",
                                  .entry_index = apply->entry_index};
    int rc = ledger_transfer(apply->fsm->ledger, &transfer, error);
    if (rc == SETTLE_ERR_OVERFLOW)
        return fsm_reject(apply, rc, "funding %" PRId64 " cents overflows the account",
                          value.amount_cents);
    return rc;
}

/* ------------------------------------------------------------------------
 * Rotate and revoke
 * ------------------------------------------------------------------------ */

int fsm_apply_rotate(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_rotate_t value;
    settle_error_t problem;
    if (command_rotate_decode(command->payload, command->payload_size, &value, &problem) !=
        SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    if (strcmp(value.participant, command->participant) != 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID,
                          "%s may not rotate the key of %s (only its own)", command->participant,
                          value.participant);
    ledger_participant_t signer;
    int rc = ledger_participant_get(apply->fsm->ledger, command->participant, &signer);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "fsm: cannot read participant %s", command->participant);
    if (memcmp(signer.public_key, value.public_key, SIGN_PUBLIC_KEY_SIZE) == 0)
        return fsm_reject(apply, SETTLE_ERR_EXISTS, "the new key of %s is the key in force",
                          command->participant);
    /* Proof of possession (command.h): checked on every node, whether or
     * not signatures are (fsm_verify_signatures), since it is a rule of the
     * payload like any other; the key in force is the one the rotate is
     * signed with, so the proof names the very transition the signer asked. */
    rc = command_rotate_verify(&value, signer.public_key, command->sequence, &problem);
    if (rc == SETTLE_ERR_SIGNATURE)
        return fsm_reject(apply, rc, "%s", problem.message);
    if (rc != SETTLE_OK) /* OpenSSL failed: not the command's fault, not a rejection */
        return settle_error_set(error, rc, "fsm: %s", problem.message);
    return ledger_participant_rotate(apply->fsm->ledger, command->participant, value.public_key,
                                     apply->entry_index, apply->position, error);
}

/* The rule (fsm.h): a participant may revoke itself; a node, anyone. */
int fsm_apply_revoke(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_revoke_t value;
    settle_error_t problem;
    if (command_revoke_decode(command->payload, command->payload_size, &value, &problem) !=
        SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    ledger_participant_t signer, target;
    int rc = ledger_participant_get(apply->fsm->ledger, command->participant, &signer);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "fsm: cannot read participant %s", command->participant);
    bool self = strcmp(value.participant, command->participant) == 0;
    if (!self && signer.role != COMMAND_ROLE_NODE)
        return fsm_reject(apply, SETTLE_ERR_INVALID,
                          "the %s %s may not revoke %s (only itself; a node may revoke anyone)",
                          command_role_name(signer.role), command->participant, value.participant);
    rc = ledger_participant_get(apply->fsm->ledger, value.participant, &target);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return fsm_reject(apply, rc, "no participant \"%s\" to revoke", value.participant);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "fsm: cannot read participant %s", value.participant);
    if (target.revoked_entry != 0)
        return fsm_reject(apply, SETTLE_ERR_EXISTS, "%s was revoked already, at entry %" PRIu64,
                          value.participant, target.revoked_entry);
    return ledger_participant_revoke(apply->fsm->ledger, value.participant, apply->entry_index,
                                     apply->position, error);
}

/* ------------------------------------------------------------------------
 * Checkpoint
 * ------------------------------------------------------------------------ */

/* The rule (fsm.h): the link must be in the chain already, with exactly
 * that hash.  The link this entry will make is not: its hash depends on
 * the checkpoint itself. */
int fsm_apply_checkpoint(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_checkpoint_t value;
    settle_error_t problem;
    if (command_checkpoint_decode(command->payload, command->payload_size, &value, &problem) !=
        SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    uint64_t head = apply->fsm->head_index;
    if (value.index > head)
        return fsm_reject(apply, SETTLE_ERR_RANGE,
                          "checkpoint of link %" PRIu64 " beyond the head, link %" PRIu64,
                          value.index, head);
    uint8_t stored[FSM_HASH_SIZE];
    int rc = ledger_link_hash(apply->fsm->ledger, value.index, stored);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return fsm_reject(apply, rc, "checkpoint of link %" PRIu64 ": no such link", value.index);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "fsm: cannot read link %" PRIu64, value.index);
    if (memcmp(stored, value.hash, FSM_HASH_SIZE) != 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID,
                          "checkpoint of link %" PRIu64 ": the hash is not the link's",
                          value.index);
    ledger_checkpoint_t row = {
        .entry_index = apply->entry_index, .position = apply->position, .chain_index = value.index};
    memcpy(row.signer, command->participant, sizeof row.signer);
    memcpy(row.hash, value.hash, sizeof row.hash);
    return ledger_checkpoint_put(apply->fsm->ledger, &row, error);
}
