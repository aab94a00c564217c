/*
 * test_fsm_keys.c - key rotation and revocation by command (issue 7), as
 * scripts over the small world of test_world.h: real signed commands
 * applied to a state machine in memory.  A rotation retires the old key
 * from the next command on; a revoked participant's commands are refused;
 * only a participant itself, or a node, may revoke it.  Every refusal is
 * checked to leave the head hash where it was, and the key history to
 * name the key in force at each command.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_world.h"

#define NODE "node-1"

/* A rotate of whose to new_key, signed by signer's key at sequence, with
 * new_key's proof of possession (command.h) for exactly that rotation. */
static uint8_t *s_rotate_command(const char *signer, const char *whose, uint64_t sequence,
                                 const sign_key_t *key, const sign_key_t *new_key, size_t *size_out)
{
    command_rotate_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "%s", whose);
    uint8_t old_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(key, old_public);
    assert_int_equal(command_rotate_prove(&value, new_key, old_public, sequence, NULL), SETTLE_OK);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_rotate_encode(&value, &payload, &size), SETTLE_OK);
    uint8_t *command = s_command(COMMAND_ROTATE, signer, sequence, payload, size, key, size_out);
    settle_free(payload);
    return command;
}

static uint8_t *s_revoke_command(const char *signer, const char *whom, uint64_t sequence,
                                 const sign_key_t *key, size_t *size_out)
{
    command_revoke_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "%s", whom);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_revoke_encode(&value, &payload, &size), SETTLE_OK);
    uint8_t *command = s_command(COMMAND_REVOKE, signer, sequence, payload, size, key, size_out);
    settle_free(payload);
    return command;
}

static uint8_t *s_fund_with(uint64_t sequence, const sign_key_t *key, size_t *size_out)
{
    command_fund_t value = {.amount_cents = 100};
    snprintf(value.payer, sizeof value.payer, "%s", PAYER);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_fund_encode(&value, &payload, &size), SETTLE_OK);
    uint8_t *command = s_command(COMMAND_FUND, PAYER, sequence, payload, size, key, size_out);
    settle_free(payload);
    return command;
}

/* Applies one command in an entry of its own; its result. */
static const fsm_command_result_t *s_one(s_world_t *w, uint8_t *command, size_t size)
{
    s_apply(w, T_NOV_2026 + w->log_count, &command, &size, 1);
    return &w->results->commands[0];
}

/* Applies a command that must be refused with a reason containing
 * expected, and checks that the head did not move. */
static void s_refused(s_world_t *w, uint8_t *command, size_t size, int code, const char *expected)
{
    uint64_t index_before, index_after;
    uint8_t hash_before[FSM_HASH_SIZE], hash_after[FSM_HASH_SIZE];
    fsm_head(w->fsm, &index_before, hash_before);
    uint64_t keys_before = s_count(w->fsm, "participant_keys");
    const fsm_command_result_t *result = s_one(w, command, size);
    assert_false(result->accepted);
    assert_int_equal(result->code, code);
    if (!strstr(result->reason, expected))
        fail_msg("reason \"%s\" lacks \"%s\"", result->reason, expected);
    assert_false(w->results->changed);
    fsm_head(w->fsm, &index_after, hash_after);
    assert_int_equal(index_after, index_before);
    assert_memory_equal(hash_after, hash_before, FSM_HASH_SIZE);
    assert_int_equal(s_count(w->fsm, "participant_keys"), keys_before);
}

static void s_assert_key(s_world_t *w, const char *id, const sign_key_t *key)
{
    uint8_t expected[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(key, expected);
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), id, &row), SETTLE_OK);
    assert_memory_equal(row.public_key, expected, SIGN_PUBLIC_KEY_SIZE);
}

static void test_keys_rotation_retires_the_old_key_from_the_next_command_on(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *old_key = w->payer_key, *new_key = s_key(9);
    size_t size;
    uint8_t *command = s_rotate_command(PAYER, PAYER, w->payer_sequence, old_key, new_key, &size);
    const fsm_command_result_t *result = s_one(w, command, size);
    if (!result->accepted)
        fail_msg("rotate refused: %s", result->reason);
    uint64_t rotate_entry = w->results->entry_index;
    w->payer_sequence++;
    s_assert_key(w, PAYER, new_key);

    /* The old key no longer signs: not at the leader, not in apply. */
    settle_error_t reason;
    command = s_fund_with(w->payer_sequence, old_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_SIGNATURE);
    s_refused(w, command, size, SETTLE_ERR_SIGNATURE, "signature");
    assert_int_equal(s_balance(w->fsm, "funding/" PAYER), 0);

    /* The new key does, with the same sequence number (the refusal left it unseen). */
    command = s_fund_with(w->payer_sequence, new_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_OK);
    result = s_one(w, command, size);
    if (!result->accepted)
        fail_msg("fund with the new key refused: %s", result->reason);
    w->payer_sequence++;
    assert_int_equal(s_balance(w->fsm, "funding/" PAYER), 100);

    /* The history names the key in force at each command. */
    ledger_key_t key;
    uint8_t old_public[SIGN_PUBLIC_KEY_SIZE], new_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(old_key, old_public);
    sign_key_public(new_key, new_public);
    assert_int_equal(ledger_participant_key_at(fsm_ledger(w->fsm), PAYER, rotate_entry, 0, &key),
                     SETTLE_OK);
    assert_memory_equal(key.public_key, old_public, SIGN_PUBLIC_KEY_SIZE);
    assert_int_equal(key.to_entry, rotate_entry);
    assert_int_equal(
        ledger_participant_key_at(fsm_ledger(w->fsm), PAYER, rotate_entry + 1, 0, &key), SETTLE_OK);
    assert_memory_equal(key.public_key, new_public, SIGN_PUBLIC_KEY_SIZE);
    assert_int_equal(key.to_entry, 0);
    assert_int_equal(s_count(w->fsm, "participant_keys"), 6); /* five registered, one rotated */
    sign_key_destroy(&old_key);
    w->payer_key = new_key;
}

static void test_keys_rotation_applies_to_the_next_command_of_the_same_entry(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *new_key = s_key(9);
    uint8_t *commands[3];
    size_t sizes[3];
    commands[0] =
        s_rotate_command(PAYER, PAYER, w->payer_sequence, w->payer_key, new_key, &sizes[0]);
    commands[1] = s_fund_with(w->payer_sequence + 1, w->payer_key, &sizes[1]);
    commands[2] = s_fund_with(w->payer_sequence + 2, new_key, &sizes[2]);
    s_apply(w, T_NOV_2026 + w->log_count, commands, sizes, 3);
    assert_true(w->results->commands[0].accepted);
    assert_false(w->results->commands[1].accepted);
    assert_int_equal(w->results->commands[1].code, SETTLE_ERR_SIGNATURE);
    assert_true(w->results->commands[2].accepted);
    assert_int_equal(s_balance(w->fsm, "funding/" PAYER), 100);
    sign_key_destroy(&new_key);
}

static void test_keys_rotation_is_only_for_the_signer_and_replay_protected(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *new_key = s_key(9);
    size_t size;
    /* A node may not rotate someone else's key. */
    uint8_t *command = s_rotate_command(NODE, PAYER, 0, w->node_key, new_key, &size);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "only its own");
    /* Nor may anyone rotate to the key in force. */
    command = s_rotate_command(PAYER, PAYER, w->payer_sequence, w->payer_key, w->payer_key, &size);
    s_refused(w, command, size, SETTLE_ERR_EXISTS, "the key in force");
    /* A rotation applied once is refused the second time, as every command. */
    command = s_rotate_command(PAYER, PAYER, w->payer_sequence, w->payer_key, new_key, &size);
    uint8_t *copy = settle_malloc(size);
    memcpy(copy, command, size);
    assert_true(s_one(w, command, size)->accepted);
    settle_error_t reason;
    assert_int_equal(fsm_check_command(w->fsm, copy, size, &reason), SETTLE_ERR_EXISTS);
    s_refused(w, copy, size, SETTLE_ERR_EXISTS, "replayed sequence");
    s_assert_key(w, PAYER, new_key);
    sign_key_destroy(&new_key);
}

static void test_keys_revoked_participant_changes_nothing(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    size_t size;
    uint8_t *command = s_revoke_command(PAYER, PAYER, w->payer_sequence, w->payer_key, &size);
    const fsm_command_result_t *result = s_one(w, command, size);
    if (!result->accepted)
        fail_msg("revoke refused: %s", result->reason);
    uint64_t revoked_at = w->results->entry_index;
    w->payer_sequence++;
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &row), SETTLE_OK);
    assert_int_equal(row.revoked_entry, revoked_at);

    settle_error_t reason;
    command = s_fund_with(w->payer_sequence, w->payer_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_UNKNOWN_KEY);
    assert_non_null(strstr(reason.message, "revoked"));
    assert_int_equal(fsm_check_command_verified(w->fsm, command, size, &reason),
                     SETTLE_ERR_UNKNOWN_KEY);
    s_refused(w, command, size, SETTLE_ERR_UNKNOWN_KEY, "ACMEHP was revoked at entry");
    sign_key_t *new_key = s_key(9);
    command = s_rotate_command(PAYER, PAYER, w->payer_sequence, w->payer_key, new_key, &size);
    s_refused(w, command, size, SETTLE_ERR_UNKNOWN_KEY, "revoked");
    command = s_revoke_command(NODE, PAYER, 0, w->node_key, &size);
    s_refused(w, command, size, SETTLE_ERR_EXISTS, "revoked already");
    assert_int_equal(s_balance(w->fsm, "funding/" PAYER), 0);
    /* The key's row is closed at the revocation. */
    ledger_key_t key;
    assert_int_equal(ledger_participant_key_at(fsm_ledger(w->fsm), PAYER, revoked_at + 1, 0, &key),
                     SETTLE_ERR_NOT_FOUND);
    assert_int_equal(ledger_participant_key_at(fsm_ledger(w->fsm), PAYER, revoked_at, 0, &key),
                     SETTLE_OK);
    sign_key_destroy(&new_key);
}

static void test_keys_only_the_participant_or_a_node_may_revoke(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    size_t size;
    /* prov-a and auditor are registered with the provider's and the node's keys. */
    uint8_t *command = s_revoke_command("prov-a", PAYER, 0, w->provider_key, &size);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "the provider prov-a may not revoke ACMEHP");
    command = s_revoke_command(PAYER, "prov-a", w->payer_sequence, w->payer_key, &size);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "the payer ACMEHP may not revoke prov-a");
    command = s_revoke_command(NODE, "nobody", 0, w->node_key, &size);
    s_refused(w, command, size, SETTLE_ERR_NOT_FOUND, "no participant");
    command = s_revoke_command(NODE, "prov-a", 0, w->node_key, &size);
    assert_true(s_one(w, command, size)->accepted);
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), "prov-a", &row), SETTLE_OK);
    assert_int_not_equal(row.revoked_entry, 0);
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &row), SETTLE_OK);
    assert_int_equal(row.revoked_entry, 0);
}

/* Rotations and revocations go into the chain: a second machine fed the
 * same entries ends with the same head, and the same key rows. */
static void test_keys_chain_is_the_same_on_two_machines(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *new_key = s_key(9);
    size_t size;
    uint8_t *command =
        s_rotate_command(PAYER, PAYER, w->payer_sequence++, w->payer_key, new_key, &size);
    assert_true(s_one(w, command, size)->accepted);
    command = s_fund_with(w->payer_sequence++, new_key, &size);
    assert_true(s_one(w, command, size)->accepted);
    command = s_revoke_command(NODE, "prov-b", 0, w->node_key, &size);
    assert_true(s_one(w, command, size)->accepted);

    fsm_t *other = NULL;
    fsm_results_t *results = fsm_results_new();
    assert_int_equal(fsm_open(":memory:", &other, NULL), SETTLE_OK);
    for (size_t i = 0; i < w->log_count; i++)
        assert_int_equal(fsm_apply(other, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    uint64_t index_a, index_b;
    uint8_t hash_a[FSM_HASH_SIZE], hash_b[FSM_HASH_SIZE];
    fsm_head(w->fsm, &index_a, hash_a);
    fsm_head(other, &index_b, hash_b);
    assert_int_equal(index_a, index_b);
    assert_memory_equal(hash_a, hash_b, FSM_HASH_SIZE);
    assert_int_equal(s_count(other, "participant_keys"), 6);
    ledger_participant_t mine, theirs;
    assert_int_equal(ledger_participant_get(fsm_ledger(other), PAYER, &theirs), SETTLE_OK);
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &mine), SETTLE_OK);
    assert_memory_equal(theirs.public_key, mine.public_key, SIGN_PUBLIC_KEY_SIZE);
    assert_int_equal(theirs.key_entry, mine.key_entry);
    fsm_results_destroy(&results);
    fsm_destroy(&other);
    sign_key_destroy(&new_key);
}

static void test_keys_payloads_round_trip_and_refuse_what_they_cannot_hold(void **state)
{
    (void)state;
    sign_key_t *old_key = s_key(1), *new_key = s_key(9);
    uint8_t old_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(old_key, old_public);
    command_rotate_t rotate;
    memset(&rotate, 0, sizeof rotate);
    snprintf(rotate.participant, sizeof rotate.participant, "%s", PAYER);
    uint8_t *bytes = NULL;
    size_t size = 0;
    assert_int_equal(command_rotate_encode(&rotate, &bytes, &size), SETTLE_ERR_INVALID);
    memset(rotate.public_key, 7, sizeof rotate.public_key);
    /* A key without its proof is not a rotate the encoder will write. */
    assert_int_equal(command_rotate_encode(&rotate, &bytes, &size), SETTLE_ERR_INVALID);
    assert_int_equal(command_rotate_prove(&rotate, new_key, old_public, 5, NULL), SETTLE_OK);
    assert_int_equal(command_rotate_encode(&rotate, &bytes, &size), SETTLE_OK);
    assert_int_equal(size, 2 + strlen(PAYER) + SIGN_PUBLIC_KEY_SIZE + SIGN_SIGNATURE_SIZE);
    command_rotate_t back;
    assert_int_equal(command_rotate_decode(bytes, size, &back, NULL), SETTLE_OK);
    assert_string_equal(back.participant, PAYER);
    assert_memory_equal(back.public_key, rotate.public_key, SIGN_PUBLIC_KEY_SIZE);
    assert_memory_equal(back.proof, rotate.proof, SIGN_SIGNATURE_SIZE);
    /* The proof verifies for this rotation only. */
    settle_error_t error;
    assert_int_equal(command_rotate_verify(&back, old_public, 5, &error), SETTLE_OK);
    assert_int_equal(command_rotate_verify(&back, old_public, 6, &error), SETTLE_ERR_SIGNATURE);
    assert_non_null(strstr(error.message, "proof of possession does not verify"));
    assert_int_equal(command_rotate_verify(&back, back.public_key, 5, &error),
                     SETTLE_ERR_SIGNATURE);
    snprintf(back.participant, sizeof back.participant, "%s", "prov-a");
    assert_int_equal(command_rotate_verify(&back, old_public, 5, &error), SETTLE_ERR_SIGNATURE);
    /* Cut short: the proof missing (the layout before it), or a byte of it. */
    assert_int_equal(command_rotate_decode(bytes, size - SIGN_SIGNATURE_SIZE, &back, &error),
                     SETTLE_ERR_TRUNCATED);
    assert_non_null(strstr(error.message, "proof of possession"));
    assert_int_equal(command_rotate_decode(bytes, size - 1, &back, &error), SETTLE_ERR_TRUNCATED);
    memset(bytes + size - SIGN_SIGNATURE_SIZE, 0, SIGN_SIGNATURE_SIZE);
    assert_int_equal(command_rotate_decode(bytes, size, &back, &error), SETTLE_ERR_MISSING);
    assert_non_null(strstr(error.message, "no proof"));
    settle_free(bytes);
    command_revoke_t revoke = {.participant = ""};
    assert_int_equal(command_revoke_encode(&revoke, &bytes, &size), SETTLE_ERR_INVALID);
    assert_int_equal(command_revoke_decode((const uint8_t *)"\0\0", 2, &revoke, &error),
                     SETTLE_ERR_MISSING);
    assert_string_equal(command_type_name(COMMAND_ROTATE), "rotate");
    assert_string_equal(command_type_name(COMMAND_REVOKE), "revoke");
    sign_key_destroy(&old_key);
    sign_key_destroy(&new_key);
}

/* ------------------------------------------------------------------------
 * Proof of possession: a rotate must carry the new key's signature over
 * this very rotation (command.h); one that does not changes nothing.
 * ------------------------------------------------------------------------ */

/* A rotate of the payer to new_public, signed with its key in force at
 * sequence, whose payload is made by edit from one proved by prover (the
 * right key or another) for (old_public, proof_sequence).  edit may cut or
 * change the payload; its size is given and returned. */
typedef size_t (*s_payload_edit_fn)(uint8_t *payload, size_t size);

static uint8_t *s_rotate_forged(s_world_t *w, uint64_t sequence,
                                const uint8_t new_public[SIGN_PUBLIC_KEY_SIZE],
                                const sign_key_t *prover,
                                const uint8_t old_public[SIGN_PUBLIC_KEY_SIZE],
                                uint64_t proof_sequence, s_payload_edit_fn edit, size_t *size_out)
{
    command_rotate_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "%s", PAYER);
    assert_int_equal(command_rotate_prove(&value, prover, old_public, proof_sequence, NULL),
                     SETTLE_OK);
    memcpy(value.public_key, new_public, SIGN_PUBLIC_KEY_SIZE); /* whatever the prover's was */
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_rotate_encode(&value, &payload, &size), SETTLE_OK);
    if (edit)
        size = edit(payload, size);
    uint8_t *command =
        s_command(COMMAND_ROTATE, PAYER, sequence, payload, size, w->payer_key, size_out);
    settle_free(payload);
    return command;
}

static size_t s_cut_proof(uint8_t *payload, size_t size)
{
    (void)payload;
    return size - SIGN_SIGNATURE_SIZE;
}

static size_t s_zero_proof(uint8_t *payload, size_t size)
{
    memset(payload + size - SIGN_SIGNATURE_SIZE, 0, SIGN_SIGNATURE_SIZE);
    return size;
}

static size_t s_flip_proof(uint8_t *payload, size_t size)
{
    payload[size - SIGN_SIGNATURE_SIZE + 10] ^= 0x01;
    return size;
}

/* Applies a rotate that must be refused (s_refused: code, reason, head)
 * and checks that the payer's key, its key history and its sequence
 * window are as they were. */
static void s_rotate_refused(s_world_t *w, uint8_t *command, size_t size, int code,
                             const char *expected)
{
    ledger_participant_t before, after;
    ledger_key_t key_before, key_after;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &before), SETTLE_OK);
    uint64_t head;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &head, hash);
    assert_int_equal(ledger_participant_key_at(fsm_ledger(w->fsm), PAYER, head + 1, 0, &key_before),
                     SETTLE_OK);
    s_refused(w, command, size, code, expected);
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &after), SETTLE_OK);
    assert_memory_equal(after.public_key, before.public_key, SIGN_PUBLIC_KEY_SIZE);
    assert_int_equal(after.key_entry, before.key_entry);
    assert_int_equal(after.revoked_entry, 0);
    assert_int_equal(after.next_sequence, before.next_sequence);
    assert_memory_equal(after.sequence_window, before.sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE);
    assert_int_equal(ledger_participant_key_at(fsm_ledger(w->fsm), PAYER, head + 1, 0, &key_after),
                     SETTLE_OK);
    assert_memory_equal(key_after.public_key, key_before.public_key, SIGN_PUBLIC_KEY_SIZE);
    assert_int_equal(key_after.from_entry, key_before.from_entry);
    assert_int_equal(key_after.to_entry, 0);
}

/* w's log replayed on a machine that checks every signature in apply. */
static fsm_t *s_auditor(s_world_t *w)
{
    fsm_t *auditor = NULL;
    fsm_results_t *results = fsm_results_new();
    assert_int_equal(fsm_open(":memory:", &auditor, NULL), SETTLE_OK);
    fsm_verify_signatures(auditor, true);
    for (size_t i = 0; i < w->log_count; i++)
        assert_int_equal(fsm_apply(auditor, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    fsm_results_destroy(&results);
    return auditor;
}

static void test_keys_rotation_without_a_valid_proof_changes_nothing(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *new_key = s_key(9);
    uint8_t old_public[SIGN_PUBLIC_KEY_SIZE], new_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(w->payer_key, old_public);
    sign_key_public(new_key, new_public);
    uint64_t n = w->payer_sequence;
    size_t size;
    /* No proof at all: the payload of before proofs existed. */
    uint8_t *command =
        s_rotate_forged(w, n, new_public, new_key, old_public, n, s_cut_proof, &size);
    s_rotate_refused(w, command, size, SETTLE_ERR_TRUNCATED, "proof of possession");
    /* A proof of all zeros: nobody proved anything. */
    command = s_rotate_forged(w, n, new_public, new_key, old_public, n, s_zero_proof, &size);
    s_rotate_refused(w, command, size, SETTLE_ERR_MISSING, "no proof that the signer holds");
    /* A garbled proof: one bit flipped. */
    command = s_rotate_forged(w, n, new_public, new_key, old_public, n, s_flip_proof, &size);
    s_rotate_refused(w, command, size, SETTLE_ERR_SIGNATURE, "proof of possession does not verify");
    /* Each refusal left the number unseen: the proved rotate takes it. */
    command = s_rotate_command(PAYER, PAYER, n, w->payer_key, new_key, &size);
    const fsm_command_result_t *result = s_one(w, command, size);
    if (!result->accepted)
        fail_msg("proved rotate refused: %s", result->reason);
    w->payer_sequence++;
    s_assert_key(w, PAYER, new_key);
    sign_key_destroy(&w->payer_key);
    w->payer_key = new_key;

    /* An auditor's replay, every signature checked, refuses the same
     * rotates and ends on the same head and key. */
    fsm_t *auditor = s_auditor(w);
    uint64_t index_a, index_b;
    uint8_t hash_a[FSM_HASH_SIZE], hash_b[FSM_HASH_SIZE];
    fsm_head(w->fsm, &index_a, hash_a);
    fsm_head(auditor, &index_b, hash_b);
    assert_int_equal(index_a, index_b);
    assert_memory_equal(hash_a, hash_b, FSM_HASH_SIZE);
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(auditor), PAYER, &row), SETTLE_OK);
    assert_memory_equal(row.public_key, new_public, SIGN_PUBLIC_KEY_SIZE);
    fsm_destroy(&auditor);
}

static void test_keys_rotation_refuses_a_proof_by_another_key_or_for_another_rotation(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *new_key = s_key(9), *stranger = s_key(10);
    uint8_t old_public[SIGN_PUBLIC_KEY_SIZE], new_public[SIGN_PUBLIC_KEY_SIZE];
    uint8_t node_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(w->payer_key, old_public);
    sign_key_public(new_key, new_public);
    sign_key_public(w->node_key, node_public);
    uint64_t n = w->payer_sequence;
    size_t size;
    /* The payer claims the node's public key, proving with its own key. */
    uint8_t *command = s_rotate_forged(w, n, node_public, w->payer_key, old_public, n, NULL, &size);
    char expected[128];
    snprintf(expected, sizeof expected,
             "rotate %" PRIu64 " of ACMEHP: the new key's proof of possession does not verify", n);
    s_rotate_refused(w, command, size, SETTLE_ERR_SIGNATURE, expected);
    /* A key it does not hold, "proved" by some key it does. */
    command = s_rotate_forged(w, n, new_public, stranger, old_public, n, NULL, &size);
    s_rotate_refused(w, command, size, SETTLE_ERR_SIGNATURE, "proof of possession");
    /* The right key's proof, but made for another sequence number... */
    command = s_rotate_forged(w, n, new_public, new_key, old_public, n + 1, NULL, &size);
    s_rotate_refused(w, command, size, SETTLE_ERR_SIGNATURE, "proof of possession");
    /* ...or away from another key than the one in force. */
    command = s_rotate_forged(w, n, new_public, new_key, node_public, n, NULL, &size);
    s_rotate_refused(w, command, size, SETTLE_ERR_SIGNATURE, "proof of possession");
    /* The old key still signs; the refused keys do not. */
    settle_error_t reason;
    command = s_fund_with(n, w->node_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_SIGNATURE);
    settle_free(command);
    command = s_fund_with(n, w->payer_key, &size);
    assert_true(s_one(w, command, size)->accepted);
    w->payer_sequence++;
    s_assert_key(w, PAYER, w->payer_key);
    sign_key_destroy(&new_key);
    sign_key_destroy(&stranger);
}

/* Replays w's log on two auditors, one checking every signature in apply,
 * the other checking them ahead, window entries at a time: every command
 * gets the same outcome, and both end on the same head. */
static void s_replay_both(s_world_t *w, size_t window)
{
    fsm_t *each = NULL, *ahead = NULL;
    fsm_results_t *mine = fsm_results_new(), *theirs = fsm_results_new();
    assert_int_equal(fsm_open(":memory:", &each, NULL), SETTLE_OK);
    assert_int_equal(fsm_open(":memory:", &ahead, NULL), SETTLE_OK);
    fsm_verify_signatures(each, true);
    fsm_verify_signatures(ahead, true);
    for (size_t i = 0; i < w->log_count; i++) {
        if (i % window == 0) {
            size_t count = w->log_count - i < window ? w->log_count - i : window;
            assert_int_equal(fsm_verify_ahead(ahead, (const uint8_t *const *)&w->log[i],
                                              &w->log_sizes[i], count, NULL),
                             SETTLE_OK);
        }
        assert_int_equal(fsm_apply(each, w->log[i], w->log_sizes[i], mine, NULL), SETTLE_OK);
        assert_int_equal(fsm_apply(ahead, w->log[i], w->log_sizes[i], theirs, NULL), SETTLE_OK);
        assert_int_equal(mine->command_count, theirs->command_count);
        for (uint32_t c = 0; c < mine->command_count; c++) {
            assert_int_equal(mine->commands[c].accepted, theirs->commands[c].accepted);
            assert_int_equal(mine->commands[c].code, theirs->commands[c].code);
            assert_string_equal(mine->commands[c].reason, theirs->commands[c].reason);
        }
    }
    uint64_t index_a, index_b;
    uint8_t hash_a[FSM_HASH_SIZE], hash_b[FSM_HASH_SIZE];
    fsm_head(each, &index_a, hash_a);
    fsm_head(ahead, &index_b, hash_b);
    assert_int_equal(index_a, index_b);
    assert_memory_equal(hash_a, hash_b, FSM_HASH_SIZE);
    fsm_results_destroy(&mine);
    fsm_results_destroy(&theirs);
    fsm_destroy(&each);
    fsm_destroy(&ahead);
}

/* Checking signatures ahead in batches (fsm_verify_ahead) changes no
 * outcome: a forged signature the node's log trusted, a key rotated
 * inside the window, a command signed with the key it retired, whatever
 * the window. */
static void test_keys_checking_ahead_gives_the_outcomes_of_checking_in_apply(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    sign_key_t *new_key = s_key(9), *stranger = s_key(10);
    uint8_t *commands[3];
    size_t sizes[3];
    commands[0] = s_fund_with(w->payer_sequence, w->payer_key, &sizes[0]);
    commands[1] = s_fund_with(w->payer_sequence + 1, stranger, &sizes[1]); /* forged */
    s_apply(w, T_NOV_2026 + w->log_count, commands, sizes, 2);
    assert_true(w->results->commands[1].accepted); /* apply trusts the leader's check */
    w->payer_sequence += 2;
    commands[0] =
        s_rotate_command(PAYER, PAYER, w->payer_sequence, w->payer_key, new_key, &sizes[0]);
    commands[1] = s_fund_with(w->payer_sequence + 1, w->payer_key, &sizes[1]);
    commands[2] = s_fund_with(w->payer_sequence + 2, new_key, &sizes[2]);
    s_apply(w, T_NOV_2026 + w->log_count, commands, sizes, 3);
    assert_false(w->results->commands[1].accepted);
    w->payer_sequence += 3;
    commands[0] = s_fund_with(w->payer_sequence++, new_key, &sizes[0]);
    s_apply(w, T_NOV_2026 + w->log_count, commands, sizes, 1);
    sign_key_destroy(&w->payer_key);
    w->payer_key = new_key;
    s_submit_fixtures(w); /* batches: their claims' hashes are reused from the check */
    static const size_t windows[] = {1, 2, 3, 5, ENTRY_MAX};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
        s_replay_both(w, windows[i]);
    sign_key_destroy(&stranger);
}

/* An entry of one command: a fund signed by key, with its payload's
 * amount then changed to amount_cents under the same signature. */
static uint8_t *s_fund_entry(s_world_t *w, const sign_key_t *key, int64_t amount_cents,
                             size_t *size_out)
{
    size_t size, payload_size, forged_size;
    uint8_t *signed_bytes = s_fund_with(w->payer_sequence, key, &size), *payload, *forged;
    command_t command;
    assert_int_equal(command_decode(signed_bytes, size, &command, NULL), SETTLE_OK);
    command_fund_t value = {.amount_cents = amount_cents};
    snprintf(value.payer, sizeof value.payer, "%s", PAYER);
    assert_int_equal(command_fund_encode(&value, &payload, &payload_size), SETTLE_OK);
    command.payload = payload;
    command.payload_size = payload_size;
    assert_int_equal(command_encode(&command, &forged, &forged_size), SETTLE_OK);
    uint8_t *entry;
    assert_int_equal(command_entry_encode(T_NOV_2026 + w->log_count,
                                          (const uint8_t *const *)&forged, &forged_size, 1, &entry,
                                          size_out),
                     SETTLE_OK);
    settle_free(signed_bytes);
    settle_free(payload);
    settle_free(forged);
    return entry;
}

/* White box: a command found good ahead is not checked again in apply -
 * which is why an audit gives apply the very bytes it checked ahead.  The
 * same signature over another amount passes the machine that checked the
 * genuine entry ahead, and not the one that checks in apply. */
static void test_keys_a_command_checked_ahead_is_not_checked_again(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    size_t good_size, forged_size;
    uint8_t *good = s_fund_entry(w, w->payer_key, 100, &good_size);
    uint8_t *forged = s_fund_entry(w, w->payer_key, 900, &forged_size);
    fsm_t *each = s_auditor(w), *ahead = s_auditor(w);
    fsm_results_t *results = fsm_results_new();
    assert_int_equal(fsm_apply(each, forged, forged_size, results, NULL), SETTLE_OK);
    assert_false(results->commands[0].accepted);
    assert_int_equal(results->commands[0].code, SETTLE_ERR_SIGNATURE);
    assert_int_equal(fsm_verify_ahead(ahead, (const uint8_t *const *)&good, &good_size, 1, NULL),
                     SETTLE_OK);
    assert_int_equal(fsm_apply(ahead, forged, forged_size, results, NULL), SETTLE_OK);
    assert_true(results->commands[0].accepted);
    fsm_results_destroy(&results);
    fsm_destroy(&each);
    fsm_destroy(&ahead);
    settle_free(good);
    settle_free(forged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_world_setup, s_world_teardown)
        S_TEST(test_keys_rotation_retires_the_old_key_from_the_next_command_on),
        S_TEST(test_keys_rotation_applies_to_the_next_command_of_the_same_entry),
        S_TEST(test_keys_rotation_is_only_for_the_signer_and_replay_protected),
        S_TEST(test_keys_revoked_participant_changes_nothing),
        S_TEST(test_keys_only_the_participant_or_a_node_may_revoke),
        S_TEST(test_keys_chain_is_the_same_on_two_machines),
        S_TEST(test_keys_rotation_without_a_valid_proof_changes_nothing),
        S_TEST(test_keys_rotation_refuses_a_proof_by_another_key_or_for_another_rotation),
        S_TEST(test_keys_checking_ahead_gives_the_outcomes_of_checking_in_apply),
        S_TEST(test_keys_a_command_checked_ahead_is_not_checked_again),
        cmocka_unit_test(test_keys_payloads_round_trip_and_refuse_what_they_cannot_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
