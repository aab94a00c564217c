/*
 * test_fsm_checkpoint.c - signed checkpoints (issue 8): a node's word that
 * a chain link has a hash, checked in apply against the chain and recorded
 * in the checkpoints table.  Every refusal is checked to leave the head and
 * the table as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_world.h"

#define NODE "node-1"

static uint8_t *s_checkpoint_command(const char *signer, uint64_t sequence, const sign_key_t *key,
                                     uint64_t index, const uint8_t hash[FSM_HASH_SIZE],
                                     size_t *size_out)
{
    command_checkpoint_t value = {.index = index};
    memcpy(value.hash, hash, FSM_HASH_SIZE);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_checkpoint_encode(&value, &payload, &size), SETTLE_OK);
    uint8_t *command =
        s_command(COMMAND_CHECKPOINT, signer, sequence, payload, size, key, size_out);
    settle_free(payload);
    return command;
}

static const fsm_command_result_t *s_one(s_world_t *w, uint8_t *command, size_t size)
{
    s_apply(w, T_NOV_2026 + w->log_count, &command, &size, 1);
    return &w->results->commands[0];
}

/* Applies a checkpoint that must be refused with code and a reason holding
 * expected; the head and the checkpoints stay as they were. */
static void s_refused(s_world_t *w, uint8_t *command, size_t size, int code, const char *expected)
{
    uint64_t index_before, index_after, count_before, count_after, last_before, last_after;
    uint8_t hash_before[FSM_HASH_SIZE], hash_after[FSM_HASH_SIZE];
    fsm_head(w->fsm, &index_before, hash_before);
    assert_int_equal(ledger_checkpoint_summary(fsm_ledger(w->fsm), &count_before, &last_before),
                     SETTLE_OK);
    const fsm_command_result_t *result = s_one(w, command, size);
    assert_false(result->accepted);
    assert_int_equal(result->code, code);
    if (!strstr(result->reason, expected))
        fail_msg("reason \"%s\" lacks \"%s\"", result->reason, expected);
    assert_false(w->results->changed);
    fsm_head(w->fsm, &index_after, hash_after);
    assert_int_equal(index_after, index_before);
    assert_memory_equal(hash_after, hash_before, FSM_HASH_SIZE);
    assert_int_equal(ledger_checkpoint_summary(fsm_ledger(w->fsm), &count_after, &last_after),
                     SETTLE_OK);
    assert_int_equal(count_after, count_before);
    assert_int_equal(last_after, last_before);
}

static void test_checkpoint_of_the_head_is_accepted_and_recorded(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    uint64_t head;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &head, hash);
    assert_true(head >= 2);
    size_t size;
    uint8_t *command = s_checkpoint_command(NODE, 0, w->node_key, head, hash, &size);
    settle_error_t reason;
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_OK);
    const fsm_command_result_t *result = s_one(w, command, size);
    if (!result->accepted)
        fail_msg("checkpoint refused: %s", result->reason);
    assert_true(w->results->changed);
    assert_int_equal(w->results->entry_index, head + 1);
    uint64_t count, last;
    assert_int_equal(ledger_checkpoint_summary(fsm_ledger(w->fsm), &count, &last), SETTLE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(last, head);
    assert_int_equal(s_count(w->fsm, "checkpoints"), 1);

    /* An older link too, by its own hash; the count grows, the last stays. */
    uint8_t first[FSM_HASH_SIZE];
    assert_int_equal(ledger_link_hash(fsm_ledger(w->fsm), 1, first), SETTLE_OK);
    command = s_checkpoint_command(NODE, 1, w->node_key, 1, first, &size);
    result = s_one(w, command, size);
    if (!result->accepted)
        fail_msg("checkpoint of link 1 refused: %s", result->reason);
    assert_int_equal(ledger_checkpoint_summary(fsm_ledger(w->fsm), &count, &last), SETTLE_OK);
    assert_int_equal(count, 2);
    assert_int_equal(last, head);
}

static void test_checkpoint_with_a_wrong_hash_changes_nothing(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    uint64_t head;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &head, hash);
    hash[0] ^= 1;
    size_t size;
    uint8_t *command = s_checkpoint_command(NODE, 0, w->node_key, head, hash, &size);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "the hash is not the link's");
    /* The hash of another link is as wrong. */
    uint8_t first[FSM_HASH_SIZE];
    assert_int_equal(ledger_link_hash(fsm_ledger(w->fsm), 1, first), SETTLE_OK);
    command = s_checkpoint_command(NODE, 0, w->node_key, head, first, &size);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "the hash is not the link's");
}

static void test_checkpoint_by_a_payer_is_refused(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    uint64_t head;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &head, hash);
    size_t size;
    uint8_t *command =
        s_checkpoint_command(PAYER, w->payer_sequence, w->payer_key, head, hash, &size);
    settle_error_t reason;
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_INVALID);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "may not checkpoint (node only)");
    /* Nor an auditor, whatever its key. */
    command = s_checkpoint_command("auditor", 0, w->node_key, head, hash, &size);
    s_refused(w, command, size, SETTLE_ERR_INVALID, "may not checkpoint (node only)");
}

static void test_checkpoint_beyond_the_head_is_refused(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    uint64_t head;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &head, hash);
    size_t size;
    /* The link this very entry would make: its hash cannot be known. */
    uint8_t *command = s_checkpoint_command(NODE, 0, w->node_key, head + 1, hash, &size);
    s_refused(w, command, size, SETTLE_ERR_RANGE, "beyond the head");
    command = s_checkpoint_command(NODE, 0, w->node_key, UINT64_MAX, hash, &size);
    s_refused(w, command, size, SETTLE_ERR_RANGE, "beyond the head");
}

static void test_checkpoint_chain_is_the_same_on_two_machines(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    uint64_t head;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &head, hash);
    size_t size;
    uint8_t *command = s_checkpoint_command(NODE, 0, w->node_key, head, hash, &size);
    assert_true(s_one(w, command, size)->accepted);
    fsm_head(w->fsm, &head, hash);

    fsm_t *other = NULL;
    assert_int_equal(fsm_open(":memory:", &other, NULL), SETTLE_OK);
    fsm_verify_signatures(other, true);
    fsm_results_t *results = fsm_results_new();
    for (size_t i = 0; i < w->log_count; i++)
        assert_int_equal(fsm_apply(other, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    uint64_t other_head;
    uint8_t other_hash[FSM_HASH_SIZE];
    fsm_head(other, &other_head, other_hash);
    assert_int_equal(other_head, head);
    assert_memory_equal(other_hash, hash, FSM_HASH_SIZE);
    assert_int_equal(s_count(other, "checkpoints"), 1);
    fsm_results_destroy(&results);
    fsm_destroy(&other);
}

static void test_checkpoint_payload_round_trips_and_refuses_index_zero(void **state)
{
    (void)state;
    command_checkpoint_t value = {.index = 42};
    memset(value.hash, 0xab, sizeof value.hash);
    uint8_t *bytes;
    size_t size;
    assert_int_equal(command_checkpoint_encode(&value, &bytes, &size), SETTLE_OK);
    assert_int_equal(size, 8 + 32);
    command_checkpoint_t back;
    settle_error_t error;
    assert_int_equal(command_checkpoint_decode(bytes, size, &back, &error), SETTLE_OK);
    assert_int_equal(back.index, 42);
    assert_memory_equal(back.hash, value.hash, sizeof value.hash);
    assert_int_equal(command_checkpoint_decode(bytes, size - 1, &back, &error),
                     SETTLE_ERR_TRUNCATED);
    memset(bytes, 0, 8);
    assert_int_equal(command_checkpoint_decode(bytes, size, &back, &error), SETTLE_ERR_RANGE);
    settle_free(bytes);
    value.index = 0;
    assert_int_equal(command_checkpoint_encode(&value, &bytes, &size), SETTLE_ERR_INVALID);
    assert_string_equal(command_type_name(COMMAND_CHECKPOINT), "checkpoint");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_world_setup, s_world_teardown)
        S_TEST(test_checkpoint_of_the_head_is_accepted_and_recorded),
        S_TEST(test_checkpoint_with_a_wrong_hash_changes_nothing),
        S_TEST(test_checkpoint_by_a_payer_is_refused),
        S_TEST(test_checkpoint_beyond_the_head_is_refused),
        S_TEST(test_checkpoint_chain_is_the_same_on_two_machines),
        cmocka_unit_test(test_checkpoint_payload_round_trips_and_refuses_index_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
