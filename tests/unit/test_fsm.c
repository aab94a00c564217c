/*
 * test_fsm.c - the state machine as a script: a genesis registers a payer,
 * two providers, an auditor and a node; the payer deploys the reference PPO,
 * enrolls members, funds, submits the fixture claims, runs payment cycles
 * with short funds, voids and replaces.  After every step the accounting
 * invariants hold; two state machines fed the same entries agree on the
 * head hash; a reopened file and a restored snapshot carry on identically;
 * every bad command is refused with a reason and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "settle/hash.h"
#include "settle/ledger_query.h"
#include "test_world.h"

/* ------------------------------------------------------------------------
 * The small world is test_world.h's; a fund command to number by hand
 * ------------------------------------------------------------------------ */

/* The payer's fund command (100 cents) with this sequence number, encoded. */
static uint8_t *s_fund_command(s_world_t *w, uint64_t sequence, size_t *size_out)
{
    command_fund_t value = {.amount_cents = 100};
    snprintf(value.payer, sizeof value.payer, "%s", PAYER);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_fund_encode(&value, &payload, &size), SETTLE_OK);
    uint8_t *command =
        s_command(COMMAND_FUND, PAYER, sequence, payload, size, w->payer_key, size_out);
    settle_free(payload);
    return command;
}

/* ------------------------------------------------------------------------
 * Settling, paying, voiding
 * ------------------------------------------------------------------------ */

typedef struct {
    ledger_payable_t rows[8];
    size_t count;
} s_payables_t;

static int s_collect_payable(const ledger_payable_t *payable, void *context)
{
    s_payables_t *payables = context;
    if (payables->count < 8)
        payables->rows[payables->count++] = *payable;
    return SETTLE_OK;
}

static s_payables_t s_payables(s_world_t *w)
{
    s_payables_t payables = {.count = 0};
    assert_int_equal(
        ledger_payable_each(fsm_ledger(w->fsm), PAYER, s_collect_payable, &payables, NULL),
        SETTLE_OK);
    return payables;
}

static void test_fsm_answers_a_duplicate_with_its_first_answer_and_no_second_transfer(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    s_submit_fixtures(w);
    fsm_claim_result_t first = *s_claim_result(w, "OV-2026-0001");
    assert_false(first.duplicate);
    assert_int_equal(first.status, INTERP_STATUS_PAID);
    assert_true(first.paid_cents > 0);
    assert_true(first.net_cents == first.paid_cents);
    uint64_t transfers = s_count(w->fsm, "transfers"), claims = s_count(w->fsm, "claims");

    s_claims_t again = {.count = 0};
    s_read_claims(&again, "fixtures/claims/office-visit.json");
    assert_true(s_batch(w, &again)->accepted);
    const fsm_claim_result_t *second = s_claim_result(w, "OV-2026-0001");
    assert_true(second->duplicate);
    assert_int_equal(second->status, first.status);
    assert_true(second->paid_cents == first.paid_cents);
    assert_true(second->net_cents == 0);
    assert_true(s_count(w->fsm, "transfers") == transfers);
    assert_true(s_count(w->fsm, "claims") == claims);
}

static void test_fsm_pays_what_funds_allow_and_keeps_the_rest_payable(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    s_submit_fixtures(w);
    assert_true(s_submit_edited(w, s_second_er, "ER-2")->paid_cents > 0);
    s_payables_t before = s_payables(w);
    assert_int_equal(before.count, 3); /* 1234567893, 1678901236 and 1987654328 */
    int64_t total = 0;
    size_t positive = 0;
    for (size_t i = 0; i < before.count; i++) {
        total += before.rows[i].total_cents;
        positive += before.rows[i].total_cents > 0;
    }
    assert_true(positive >= 2);
    /* Enough for the first provider (by NPI) only. */
    assert_true(before.rows[0].total_cents > 0);
    assert_true(s_fund(w, before.rows[0].total_cents)->accepted);
    const fsm_command_result_t *cycle = s_pay(w);
    assert_true(cycle->accepted);
    assert_int_equal(cycle->payment_count, before.count);
    const fsm_payment_result_t *payments = &w->results->payments[cycle->payment_first];
    assert_true(payments[0].paid);
    assert_string_equal(payments[0].npi, before.rows[0].npi);
    assert_true(payments[0].total_cents == before.rows[0].total_cents);
    for (size_t i = 1; i < before.count; i++) {
        if (before.rows[i].total_cents == 0) { /* denials only: a payment of zero */
            assert_true(payments[i].paid);
            continue;
        }
        assert_false(payments[i].paid);
        assert_non_null(strstr(payments[i].reason, "insufficient funds"));
    }
    assert_int_equal(s_payables(w).count, positive - 1);

    assert_true(s_fund(w, total - before.rows[0].total_cents)->accepted);
    cycle = s_pay(w);
    for (uint32_t i = 0; i < cycle->payment_count; i++)
        assert_true(w->results->payments[cycle->payment_first + i].paid);
    assert_int_equal(s_payables(w).count, 0);
    char account[LEDGER_ACCOUNT_ID_SIZE];
    ledger_account_funding(PAYER, account);
    assert_true(s_balance(w->fsm, account) == 0);
    assert_true(s_balance(w->fsm, LEDGER_ACCOUNT_SETTLEMENT) == 0);
    assert_true(s_count(w->fsm, "payments") == before.count);
}

/* Every accumulator total, in ledger order, as one comparable record. */
typedef struct {
    interp_accumulator_t items[64];
    size_t count;
} s_totals_t;

static int s_collect_total(const char *payer, const interp_accumulator_t *total, void *context)
{
    s_totals_t *totals = context;
    if (totals->count < 64)
        totals->items[totals->count++] = *total;
    return SETTLE_OK;
}

static void s_totals(s_world_t *w, s_totals_t *totals)
{
    memset(totals, 0, sizeof *totals);
    assert_int_equal(ledger_total_each(fsm_ledger(w->fsm), s_collect_total, totals, NULL),
                     SETTLE_OK);
}

/* The fixture's void, billed by another provider than its original's. */
static void s_wrong_provider(claim_t *claim)
{
    if (strcmp(claim->claim_id, "PT-88120V") == 0) {
        CLAIM_SET_TEXT(claim->billing_npi, NPI_A, 10);
        CLAIM_SET_TEXT(claim->claim_id, "PT-88120X", 9);
    }
}

static void test_fsm_void_reverses_accumulators_and_payment(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    s_submit_fixtures(w);
    s_totals_t before, after;
    s_totals(w, &before);
    int64_t paid = s_submit_edited(w, s_second_er, "ER-2")->paid_cents;
    assert_true(paid > 0);
    assert_true(s_fund(w, 10000000)->accepted);
    assert_true(s_pay(w)->accepted);
    assert_int_equal(s_payables(w).count, 0);

    const fsm_claim_result_t *voided = s_submit_edited(w, s_void_er, "ER-2V");
    assert_false(voided->duplicate);
    assert_true(voided->net_cents == -paid);
    ledger_claim_t original;
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "ER-2", &original), SETTLE_OK);
    assert_string_equal(original.voided_by, "ER-2V");
    assert_string_equal(original.settlement, LEDGER_SETTLEMENT_PAID);
    s_totals(w, &after); /* the accumulators are as before ER-2 */
    assert_int_equal(after.count, before.count);
    for (size_t i = 0; i < before.count; i++)
        assert_true(after.items[i].amount == before.items[i].amount);

    /* ER-2 was paid already: its provider now owes it back. */
    const fsm_command_result_t *cycle = s_pay(w);
    assert_int_equal(cycle->payment_count, 1);
    const fsm_payment_result_t *payment = &w->results->payments[cycle->payment_first];
    assert_false(payment->paid);
    assert_true(payment->total_cents == -paid);
    assert_non_null(strstr(payment->reason, "owes"));
    char account[LEDGER_ACCOUNT_ID_SIZE];
    ledger_account_payable(PAYER, original.billing_npi, account);
    assert_true(s_balance(w->fsm, account) == -paid);

    /* A void billed by another provider than the original's is refused;
     * a replacement reverses its original and pays the difference. */
    s_claims_t corrections = {.count = 0, .edit = s_wrong_provider};
    s_read_claims(&corrections, "fixtures/claims/corrections.jsonl");
    assert_true(s_batch(w, &corrections)->accepted);
    const fsm_claim_result_t *wrong = s_claim_result(w, "PT-88120X");
    assert_int_equal(wrong->status, INTERP_STATUS_REJECTED);
    assert_non_null(strstr(wrong->reason, "corrects claim PT-88120"));
    const fsm_claim_result_t *replacement = s_claim_result(w, "OV-2026-0001R");
    assert_int_not_equal(replacement->status, INTERP_STATUS_REJECTED);
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "OV-2026-0001", &original),
                     SETTLE_OK);
    assert_string_equal(original.voided_by, "OV-2026-0001R");
    assert_true(replacement->net_cents == replacement->paid_cents - original.paid_cents);
}

/* The contracts table's hash of the (one) deployed contract. */
static int s_contract_hash(const ledger_contract_t *row, void *context)
{
    memcpy(context, row->hash, LEDGER_HASH_SIZE);
    return SETTLE_OK;
}

static void test_fsm_claim_row_carries_the_hash_of_the_contract_that_decided_it(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    size_t size;
    char *plan = s_read_file("contracts/plans/ppo.yaml", &size);
    uint8_t expected[LEDGER_HASH_SIZE], deployed[LEDGER_HASH_SIZE], zeros[LEDGER_HASH_SIZE];
    assert_int_equal(hash_sha256(plan, size, expected), SETTLE_OK);
    settle_free(plan);
    assert_int_equal(ledger_contract_each(fsm_ledger(w->fsm), s_contract_hash, deployed, NULL),
                     SETTLE_OK);
    assert_memory_equal(deployed, expected, LEDGER_HASH_SIZE);
    memset(zeros, 0, sizeof zeros);

    s_submit_fixtures(w);
    ledger_claim_t row;
    const char *decided[] = {"OV-2026-0001", "ER-7741-0093", "PT-88120"};
    for (size_t i = 0; i < sizeof decided / sizeof decided[0]; i++) {
        assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, decided[i], &row), SETTLE_OK);
        assert_memory_equal(row.contract_hash, expected, LEDGER_HASH_SIZE);
    }

    /* Rejected before the interpreter (the void of another provider's
     * claim): no decision, and no contract - the hash is zeros (a
     * zero-length column). */
    s_claims_t corrections = {.count = 0, .edit = s_wrong_provider};
    s_read_claims(&corrections, "fixtures/claims/corrections.jsonl");
    assert_true(s_batch(w, &corrections)->accepted);
    assert_int_equal(s_claim_result(w, "PT-88120X")->status, INTERP_STATUS_REJECTED);
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "PT-88120X", &row), SETTLE_OK);
    assert_memory_equal(row.contract_hash, zeros, LEDGER_HASH_SIZE);
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = settle_malloc(sizeof *changes);
    assert_int_equal(
        ledger_claim_decision(fsm_ledger(w->fsm), PAYER, "PT-88120X", decision, changes, NULL),
        SETTLE_ERR_NOT_FOUND);
    settle_free(changes);
    interp_decision_destroy(&decision);
    /* The replacement was decided under the contract. */
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "OV-2026-0001R", &row), SETTLE_OK);
    assert_memory_equal(row.contract_hash, expected, LEDGER_HASH_SIZE);
}

/* ------------------------------------------------------------------------
 * Agreement: two machines, a reopened file, a restored snapshot
 * ------------------------------------------------------------------------ */

static void s_replay(s_world_t *w, fsm_t *other)
{
    fsm_results_t *results = fsm_results_new();
    for (size_t i = 0; i < w->log_count; i++)
        assert_int_equal(fsm_apply(other, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    fsm_results_destroy(&results);
}

static void s_assert_same_head(fsm_t *a, fsm_t *b)
{
    uint64_t index_a, index_b;
    uint8_t hash_a[FSM_HASH_SIZE], hash_b[FSM_HASH_SIZE];
    fsm_head(a, &index_a, hash_a);
    fsm_head(b, &index_b, hash_b);
    assert_true(index_a == index_b);
    assert_memory_equal(hash_a, hash_b, FSM_HASH_SIZE);
}

/* A batch of new claims for members with history: office visits that meet
 * the deductible differently depending on what the state remembers. */
static void s_next_claims(claim_t *claim)
{
    claim->claim_id[0] = 'N';
}

static void s_run_scenario(s_world_t *w)
{
    s_world_ready(w);
    s_submit_fixtures(w);
    assert_true(s_fund(w, 30000)->accepted);
    assert_true(s_pay(w)->accepted);
}

static void test_fsm_two_machines_applying_the_same_entries_have_the_same_head(void **state)
{
    s_world_t *w = *state;
    s_run_scenario(w);
    fsm_t *other = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    assert_int_equal(fsm_open(path, &other, NULL), SETTLE_OK);
    s_replay(w, other);
    s_assert_same_head(w->fsm, other);
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE], zero[FSM_HASH_SIZE] = {0};
    fsm_head(other, &index, hash);
    assert_true(index == w->log_count);
    assert_memory_not_equal(hash, zero, FSM_HASH_SIZE);
    fsm_destroy(&other);
}

/* Both ledgers have the same payable providers, totals and counts. */
static void s_assert_same_payables(ledger_t *a, ledger_t *b)
{
    s_payables_t x = {.count = 0}, y = {.count = 0};
    assert_int_equal(ledger_payable_each(a, PAYER, s_collect_payable, &x, NULL), SETTLE_OK);
    assert_int_equal(ledger_payable_each(b, PAYER, s_collect_payable, &y, NULL), SETTLE_OK);
    assert_true(x.count > 0 && x.count == y.count);
    for (size_t i = 0; i < x.count; i++) {
        assert_string_equal(x.rows[i].npi, y.rows[i].npi);
        assert_true(x.rows[i].total_cents == y.rows[i].total_cents);
        assert_true(x.rows[i].claim_count == y.rows[i].claim_count);
    }
}

/* An auditor's scratch ledger (fsm_open_scratch: claims found through a
 * hash table, not SQLite's unique index; payable claims kept per provider,
 * not in the partial index) replays duplicates, a payment, a void and
 * corrections to the same head, finds what the indexes would, and refuses
 * a second row under a claim id as the unique index would. */
static void
test_fsm_scratch_ledger_replays_duplicates_voids_and_payments_to_the_same_head(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    s_submit_fixtures(w);
    s_submit_fixtures(w); /* every claim a duplicate: its first answer */
    for (uint32_t i = 0; i < w->results->claim_count; i++)
        assert_true(w->results->claims[i].duplicate);
    s_submit_edited(w, s_second_er, "ER-2");
    assert_true(s_fund(w, 10000000)->accepted);
    assert_true(s_pay(w)->accepted);
    s_submit_edited(w, s_void_er, "ER-2V");
    s_claims_t corrections = {.count = 0};
    s_read_claims(&corrections, "fixtures/claims/corrections.jsonl");
    assert_true(s_batch(w, &corrections)->accepted);

    fsm_t *scratch = NULL;
    assert_int_equal(fsm_open_scratch(&scratch, NULL), SETTLE_OK);
    fsm_verify_signatures(scratch, true);
    s_replay(w, scratch);
    s_assert_same_head(w->fsm, scratch);
    ledger_t *ledger = fsm_ledger(scratch);
    ledger_claim_t row, stored;
    assert_int_equal(ledger_claim_get(ledger, PAYER, "ER-2", &row), SETTLE_OK);
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "ER-2", &stored), SETTLE_OK);
    assert_true(row.row == stored.row);
    assert_string_equal(row.voided_by, "ER-2V");
    assert_string_equal(row.settlement, stored.settlement);
    assert_int_equal(ledger_claim_get(ledger, PAYER, "NO-SUCH-CLAIM", &row), SETTLE_ERR_NOT_FOUND);
    assert_int_equal(ledger_claim_get(ledger, "OTHERHP", "ER-2", &row), SETTLE_ERR_NOT_FOUND);

    /* The scratch chain keeps each link (the head above) and its stamp,
     * not the entry's bytes. */
    uint64_t timestamp_ms = 0, stored_timestamp_ms = 0;
    uint8_t *entry = NULL, *stored_entry = NULL;
    size_t entry_size = 1, stored_entry_size = 0;
    assert_int_equal(ledger_chain_entry(ledger, 1, &timestamp_ms, &entry, &entry_size, NULL),
                     SETTLE_OK);
    assert_int_equal(ledger_chain_entry(fsm_ledger(w->fsm), 1, &stored_timestamp_ms, &stored_entry,
                                        &stored_entry_size, NULL),
                     SETTLE_OK);
    assert_true(entry_size == 0 && stored_entry_size > 0);
    assert_true(timestamp_ms == stored_timestamp_ms);
    settle_free(entry);
    settle_free(stored_entry);

    /* A second ER-2 is refused; after the rollback the index still finds
     * the first (it is made again from the table). */
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(ledger_claim_put(ledger, &stored, &error), SETTLE_ERR_EXISTS);
    ledger_rollback(ledger);
    assert_int_equal(ledger_claim_get(ledger, PAYER, "ER-2", &row), SETTLE_OK);
    assert_true(row.row == stored.row);
    /* Its payable claims per provider (ledger_payable.c), made again from
     * the table after the rollback, are the partial index's. */
    s_assert_same_payables(ledger, fsm_ledger(w->fsm));
    fsm_destroy(&scratch);
}

static void s_apply_next_batch(s_world_t *w, fsm_t *other, fsm_results_t *other_results)
{
    s_claims_t claims = {.count = 0, .edit = s_next_claims};
    s_read_claims(&claims, "fixtures/claims/office-visit.json");
    s_read_claims(&claims, "fixtures/claims/physical-therapy.json");
    s_batch(w, &claims);
    assert_int_equal(fsm_apply(other, w->log[w->log_count - 1], w->log_sizes[w->log_count - 1],
                               other_results, NULL),
                     SETTLE_OK);
    assert_int_equal(other_results->claim_count, w->results->claim_count);
    for (uint32_t i = 0; i < w->results->claim_count; i++) {
        assert_int_equal(other_results->claims[i].status, w->results->claims[i].status);
        assert_true(other_results->claims[i].paid_cents == w->results->claims[i].paid_cents);
    }
    s_assert_same_head(w->fsm, other);
}

static void test_fsm_reopened_file_rebuilds_the_same_state(void **state)
{
    s_world_t *w = *state;
    s_run_scenario(w);
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    fsm_t *other = NULL;
    assert_int_equal(fsm_open(path, &other, NULL), SETTLE_OK);
    s_replay(w, other);
    fsm_destroy(&other);
    assert_int_equal(fsm_open(path, &other, NULL), SETTLE_OK);
    s_assert_same_head(w->fsm, other);
    fsm_results_t *results = fsm_results_new();
    s_apply_next_batch(w, other, results);
    /* The same claim ids again: duplicates in both, from the rebuilt history. */
    s_apply_next_batch(w, other, results);
    assert_true(results->claims[0].duplicate);
    fsm_results_destroy(&results);
    fsm_destroy(&other);
}

static void test_fsm_snapshot_restored_into_a_fresh_machine_has_the_same_head(void **state)
{
    s_world_t *w = *state;
    s_run_scenario(w);
    uint8_t *snapshot;
    size_t size;
    assert_int_equal(fsm_snapshot(w->fsm, &snapshot, &size, NULL), SETTLE_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    fsm_t *fresh = NULL;
    assert_int_equal(fsm_open(path, &fresh, NULL), SETTLE_OK);
    /* A bad snapshot leaves the fresh machine as it was. */
    settle_error_t error;
    assert_int_not_equal(fsm_restore(fresh, snapshot, size / 2, &error), SETTLE_OK);
    assert_true(error.message[0] != '\0');
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(fresh, &index, hash);
    assert_true(index == 0);
    assert_int_equal(fsm_restore(fresh, snapshot, size, &error), SETTLE_OK);
    s_assert_same_head(w->fsm, fresh);
    fsm_results_t *results = fsm_results_new();
    s_apply_next_batch(w, fresh, results);
    /* A claim the snapshot holds, again: a duplicate, known to the restored
     * ledger's claim-id filter as to its index. */
    s_claims_t again = {.count = 0};
    s_read_claims(&again, "fixtures/claims/office-visit.json");
    s_batch(w, &again);
    assert_int_equal(
        fsm_apply(fresh, w->log[w->log_count - 1], w->log_sizes[w->log_count - 1], results, NULL),
        SETTLE_OK);
    assert_true(results->commands[0].accepted);
    assert_true(results->claims[0].duplicate);
    s_assert_same_head(w->fsm, fresh);
    fsm_results_destroy(&results);
    settle_free(snapshot);
    fsm_destroy(&fresh);
    /* And the restore reached the file: reopened, it is still there. */
    assert_int_equal(fsm_open(path, &fresh, NULL), SETTLE_OK);
    s_assert_same_head(w->fsm, fresh);
    fsm_destroy(&fresh);
}

/* A snapshot read beside the writer (ledger_snapshot_reader, as a node's
 * worker thread reads it): the image is the state when the read began,
 * whatever was applied while it was open, and it restores to that head. */
static void test_fsm_snapshot_reader_holds_the_state_it_began_on(void **state)
{
    s_world_t *w = *state;
    s_run_scenario(w);
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    fsm_t *node = NULL, *fresh = NULL;
    assert_int_equal(fsm_open(path, &node, NULL), SETTLE_OK);
    fsm_results_t *results = fsm_results_new();
    size_t half = w->log_count / 2;
    for (size_t i = 0; i < half; i++)
        assert_int_equal(fsm_apply(node, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    uint64_t index_then, index;
    uint8_t hash_then[FSM_HASH_SIZE], hash[FSM_HASH_SIZE];
    fsm_head(node, &index_then, hash_then);
    ledger_t *reader = NULL;
    assert_int_equal(ledger_snapshot_reader(fsm_ledger(node), &reader, NULL), SETTLE_OK);
    for (size_t i = half; i < w->log_count; i++)
        assert_int_equal(fsm_apply(node, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    uint8_t *image;
    size_t size;
    assert_int_equal(ledger_serialize(reader, &image, &size, NULL), SETTLE_OK);
    ledger_close(&reader);
    assert_int_equal(fsm_open(":memory:", &fresh, NULL), SETTLE_OK);
    assert_int_equal(fsm_restore(fresh, image, size, NULL), SETTLE_OK);
    fsm_head(fresh, &index, hash);
    assert_true(index == index_then && index < w->log_count);
    assert_memory_equal(hash, hash_then, FSM_HASH_SIZE);
    /* and the rest of the log takes it to the writer's head */
    for (size_t i = half; i < w->log_count; i++)
        assert_int_equal(fsm_apply(fresh, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    s_assert_same_head(node, fresh);
    /* a ledger in memory has no file to read beside it */
    assert_int_equal(ledger_snapshot_reader(fsm_ledger(fresh), &reader, NULL), SETTLE_ERR_INVALID);
    settle_free(image);
    fsm_results_destroy(&results);
    fsm_destroy(&fresh);
    fsm_destroy(&node);
}

/* A scratch machine keeps its claims in memory (ledger_scratch.c): a
 * snapshot restored into one moves the snapshot's claims rows there, and
 * it goes on from them as a node would: the same head, the same claims
 * found, a claim it already holds answered as a duplicate. */
static void test_fsm_snapshot_restored_into_a_scratch_machine_goes_on_from_its_claims(void **state)
{
    s_world_t *w = *state;
    s_run_scenario(w);
    uint8_t *snapshot;
    size_t size;
    assert_int_equal(fsm_snapshot(w->fsm, &snapshot, &size, NULL), SETTLE_OK);
    fsm_t *scratch = NULL;
    assert_int_equal(fsm_open_scratch(&scratch, NULL), SETTLE_OK);
    assert_int_equal(fsm_restore(scratch, snapshot, size, NULL), SETTLE_OK);
    settle_free(snapshot);
    s_assert_same_head(w->fsm, scratch);
    uint64_t mine = 0, stored = 0;
    assert_int_equal(ledger_row_count(fsm_ledger(scratch), "claims", &mine), SETTLE_OK);
    assert_int_equal(ledger_row_count(fsm_ledger(w->fsm), "claims", &stored), SETTLE_OK);
    assert_true(mine > 0 && mine == stored);
    ledger_claim_t row, stored_row;
    assert_int_equal(ledger_claim_get(fsm_ledger(scratch), PAYER, "OV-2026-0001", &row), SETTLE_OK);
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "OV-2026-0001", &stored_row),
                     SETTLE_OK);
    assert_true(row.row == stored_row.row && row.paid_cents == stored_row.paid_cents);
    assert_string_equal(row.settlement, stored_row.settlement);
    fsm_results_t *results = fsm_results_new();
    s_apply_next_batch(w, scratch, results);
    s_assert_same_payables(fsm_ledger(scratch), fsm_ledger(w->fsm));
    s_claims_t again = {.count = 0};
    s_read_claims(&again, "fixtures/claims/office-visit.json");
    s_batch(w, &again);
    assert_int_equal(
        fsm_apply(scratch, w->log[w->log_count - 1], w->log_sizes[w->log_count - 1], results, NULL),
        SETTLE_OK);
    assert_true(results->claims[0].duplicate);
    s_assert_same_head(w->fsm, scratch);
    fsm_results_destroy(&results);
    fsm_destroy(&scratch);
}

/* The tables a refused command or an emptied ledger must leave as they were. */
static const char *const s_tables[] = {"participants", "contracts", "members",  "claims",
                                       "claim_lines",  "transfers", "payments", "commands",
                                       "chain",        "accounts"};
#define S_TABLE_COUNT (sizeof s_tables / sizeof s_tables[0])

/* What a restarting node does: the old ledger file, full of the scenario,
 * is emptied by fsm_open_fresh, and the log applied again from the start
 * rebuilds the same chain.  (fsm_open on that file would keep it, and the
 * same log applied on top would be refused as replays.) */
static void test_fsm_open_fresh_empties_the_file_and_the_log_rebuilds_it(void **state)
{
    s_world_t *w = *state;
    s_run_scenario(w);
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    fsm_t *node = NULL;
    assert_int_equal(fsm_open(path, &node, NULL), SETTLE_OK);
    s_replay(w, node);
    s_assert_same_head(w->fsm, node);
    fsm_destroy(&node);

    assert_int_equal(fsm_open_fresh(path, &node, NULL), SETTLE_OK);
    uint64_t index, count = 1;
    uint8_t hash[FSM_HASH_SIZE], zero[FSM_HASH_SIZE] = {0};
    fsm_head(node, &index, hash);
    assert_true(index == 0);
    assert_memory_equal(hash, zero, FSM_HASH_SIZE);
    for (size_t i = 0; i < S_TABLE_COUNT; i++)
        assert_true(s_count(node, s_tables[i]) == 0);
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(node), PAYER, &row), SETTLE_ERR_NOT_FOUND);
    fsm_destroy(&node);

    /* The node's path: emptied, then libraft's snapshot restored into it,
     * then the entries after the snapshot applied on top. */
    assert_int_equal(fsm_open_fresh(path, &node, NULL), SETTLE_OK);
    uint8_t *snapshot;
    size_t snapshot_size;
    assert_int_equal(fsm_snapshot(w->fsm, &snapshot, &snapshot_size, NULL), SETTLE_OK);
    size_t snapshot_entries = w->log_count;
    s_claims_t more = {.count = 0, .edit = s_next_claims};
    s_read_claims(&more, "fixtures/claims/office-visit.json");
    assert_true(s_batch(w, &more)->accepted); /* after the snapshot */
    fsm_results_t *results = fsm_results_new();
    settle_error_t error;
    if (fsm_restore(node, snapshot, snapshot_size, &error) != SETTLE_OK)
        fail_msg("restore into an emptied ledger: %s", error.message);
    settle_free(snapshot);
    for (size_t i = snapshot_entries; i < w->log_count; i++)
        assert_int_equal(fsm_apply(node, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
    s_assert_same_head(w->fsm, node);
    fsm_results_destroy(&results);
    fsm_destroy(&node);
    assert_int_equal(fsm_open_fresh(path, &node, NULL), SETTLE_OK);
    fsm_destroy(&node);

    /* Reopened plainly, the file is still empty: the reset reached it. */
    assert_int_equal(fsm_open(path, &node, NULL), SETTLE_OK);
    assert_int_equal(ledger_row_count(fsm_ledger(node), "chain", &count), SETTLE_OK);
    assert_true(count == 0);
    s_replay(w, node);
    s_assert_same_head(w->fsm, node);
    assert_true(s_count(node, "claims") == s_count(w->fsm, "claims"));
    fsm_destroy(&node);
}

/* A file that is not a database at all (what a torn write could leave) is
 * emptied too, rather than refused. */
static void test_fsm_open_fresh_replaces_a_file_that_is_not_a_database(void **state)
{
    s_world_t *w = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    for (int i = 0; i < 4096; i++)
        fputs("not a database ", file);
    fclose(file);
    fsm_t *node = NULL;
    settle_error_t error;
    assert_int_not_equal(fsm_open(path, &node, &error), SETTLE_OK);
    assert_null(node);
    assert_int_equal(fsm_open_fresh(path, &node, &error), SETTLE_OK);
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(node, &index, hash);
    assert_true(index == 0);
    fsm_destroy(&node);
    assert_int_equal(fsm_open(path, &node, &error), SETTLE_OK);
    fsm_destroy(&node);
}

/* ------------------------------------------------------------------------
 * Bad commands
 * ------------------------------------------------------------------------ */

/* Applies one command alone and checks it was refused and changed nothing. */
static void s_refused(s_world_t *w, uint8_t *command, size_t size, const char *expected)
{
    uint64_t counts[S_TABLE_COUNT], index_before, index_after;
    uint8_t hash_before[FSM_HASH_SIZE], hash_after[FSM_HASH_SIZE];
    for (size_t i = 0; i < S_TABLE_COUNT; i++)
        counts[i] = s_count(w->fsm, s_tables[i]);
    fsm_head(w->fsm, &index_before, hash_before);
    uint8_t *entry;
    size_t entry_size;
    assert_int_equal(command_entry_encode(T_NOV_2026, (const uint8_t *const *)&command, &size, 1,
                                          &entry, &entry_size),
                     SETTLE_OK);
    settle_free(command);
    assert_int_equal(fsm_apply(w->fsm, entry, entry_size, w->results, NULL), SETTLE_OK);
    settle_free(entry);
    assert_false(w->results->changed);
    assert_false(w->results->commands[0].accepted);
    if (!strstr(w->results->commands[0].reason, expected))
        fail_msg("reason \"%s\" lacks \"%s\"", w->results->commands[0].reason, expected);
    fsm_head(w->fsm, &index_after, hash_after);
    assert_true(index_after == index_before);
    assert_memory_equal(hash_after, hash_before, FSM_HASH_SIZE);
    for (size_t i = 0; i < S_TABLE_COUNT; i++)
        assert_true(s_count(w->fsm, s_tables[i]) == counts[i]);
}

static uint8_t *s_pay_command(s_world_t *w, const char *signer, uint64_t sequence,
                              const sign_key_t *key, size_t *size_out)
{
    command_pay_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.payer, sizeof value.payer, "%s", PAYER);
    uint8_t *payload, *command;
    size_t size;
    assert_int_equal(command_pay_encode(&value, &payload, &size), SETTLE_OK);
    command = s_command(COMMAND_PAY, signer, sequence, payload, size, key, size_out);
    settle_free(payload);
    return command;
}

static void test_fsm_refuses_bad_commands_and_changes_nothing(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    size_t size;
    uint8_t *command = s_pay_command(w, PAYER, w->payer_sequence, w->payer_key, &size);
    command[6] = COMMAND_TYPE_MAX + 1; /* unknown type */
    s_refused(w, command, size, "unknown command type");
    command = s_pay_command(w, PAYER, w->payer_sequence, w->payer_key, &size);
    s_refused(w, command, size - 1, "ends early"); /* truncated */
    command = s_pay_command(w, "prov-a", 0, w->provider_key, &size);
    s_refused(w, command, size, "the provider prov-a may not pay (payer only)");
    command = s_pay_command(w, "nobody", 0, w->provider_key, &size);
    s_refused(w, command, size, "unknown signer");
    command = s_pay_command(w, PAYER, w->payer_sequence - 1, w->payer_key, &size);
    s_refused(w, command, size, "replayed sequence");
    command = s_pay_command(w, PAYER, w->payer_sequence, w->payer_key, &size);
    command[4 + 2 + 1 + 2 + 6 + 8] = 0x7f; /* payload length past the limit */
    s_refused(w, command, size, "longer than its limit");
    command = s_command(COMMAND_REGISTER, COMMAND_GENESIS_PARTICIPANT, 5, (const uint8_t *)"x", 1,
                        NULL, &size);
    s_refused(w, command, size, "first entry only");
    command_text_t bad_yaml = {(const uint8_t *)"contract: [", 11};
    uint8_t *payload;
    size_t payload_size;
    assert_int_equal(command_text_encode(&bad_yaml, &payload, &payload_size), SETTLE_OK);
    command = s_command(COMMAND_DEPLOY, PAYER, w->payer_sequence, payload, payload_size,
                        w->payer_key, &size);
    settle_free(payload);
    s_refused(w, command, size, "contract:");
    command_fund_t other = {.amount_cents = 5};
    snprintf(other.payer, sizeof other.payer, "OTHERPAYER");
    assert_int_equal(command_fund_encode(&other, &payload, &payload_size), SETTLE_OK);
    command = s_command(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size, w->payer_key,
                        &size);
    settle_free(payload);
    s_refused(w, command, size, "may not fund payer OTHERPAYER");
    fsm_verify_signatures(w->fsm, true);
    command = s_pay_command(w, PAYER, w->payer_sequence, w->provider_key, &size);
    s_refused(w, command, size, "signature does not verify");
    fsm_verify_signatures(w->fsm, false);
    /* An entry whose own framing is cut short is an error; nothing changes. */
    uint64_t index_before, index_after;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(w->fsm, &index_before, hash);
    uint8_t truncated[] = {'S', 'E', 'N', 'T', 0, 1, 0, 0};
    assert_int_equal(fsm_apply(w->fsm, truncated, sizeof truncated, w->results, NULL),
                     SETTLE_ERR_TRUNCATED);
    fsm_head(w->fsm, &index_after, hash);
    assert_true(index_after == index_before);
    /* And the payer's next sequence number still works. */
    assert_true(s_pay(w)->accepted);
}

/* A fund command of the payer with this sequence number, applied alone. */
static const fsm_command_result_t *s_fund_numbered(s_world_t *w, uint64_t sequence)
{
    size_t size;
    uint8_t *command = s_fund_command(w, sequence, &size);
    s_apply(w, T_NOV_2026 + w->log_count, &command, &size, 1);
    return &w->results->commands[0];
}

/* The leader's check, for the payer's fund command with this number. */
static int s_check_numbered(s_world_t *w, uint64_t sequence, char *reason_out)
{
    size_t size;
    uint8_t *command = s_fund_command(w, sequence, &size);
    settle_error_t reason;
    int rc = fsm_check_command(w->fsm, command, size, &reason);
    settle_free(command);
    if (reason_out)
        snprintf(reason_out, FSM_REASON_SIZE, "%s", rc == SETTLE_OK ? "" : reason.message);
    return rc;
}

static void test_fsm_accepts_sequences_out_of_order_within_the_window_once_each(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w); /* the payer used 0 and 1 */
    int64_t funded = 0;
    /* 5 before 3, 4 and 2: all accepted, each moving money once. */
    const uint64_t order[] = {5, 3, 4, 2};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(s_check_numbered(w, order[i], NULL), SETTLE_OK);
        const fsm_command_result_t *result = s_fund_numbered(w, order[i]);
        if (!result->accepted)
            fail_msg("sequence %llu refused: %s", (unsigned long long)order[i], result->reason);
        funded += 100;
        assert_true(s_balance(w->fsm, "funding/" PAYER) == funded);
    }
    ledger_participant_t payer;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &payer), SETTLE_OK);
    assert_true(payer.next_sequence == 6);
    assert_int_equal(payer.sequence_window[0], 0x3f); /* 5, 4, 3, 2, 1, 0 */

    /* Each of them again: a replay, refused, nothing changed (s_refused
     * counts every table and compares the head), and the leader agrees. */
    char reason[FSM_REASON_SIZE];
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(s_check_numbered(w, order[i], reason), SETTLE_ERR_EXISTS);
        assert_non_null(strstr(reason, "replayed sequence"));
        size_t size;
        uint8_t *copy = s_fund_command(w, order[i], &size);
        s_refused(w, copy, size, "replayed sequence");
    }
    assert_true(s_balance(w->fsm, "funding/" PAYER) == funded);

    /* Jump to 2000: 977 is the lowest still in the window, 976 too old. */
    assert_true(s_fund_numbered(w, 2000)->accepted);
    assert_true(s_fund_numbered(w, 977)->accepted);
    assert_int_equal(s_check_numbered(w, 976, reason), SETTLE_ERR_RANGE);
    assert_non_null(strstr(reason, "too old"));
    size_t size;
    uint8_t *command = s_fund_command(w, 976, &size);
    s_refused(w, command, size, "sequence 976 of ACMEHP too old");
    command = s_fund_command(w, 5, &size);
    s_refused(w, command, size, "too old");
    command = s_fund_command(w, UINT64_MAX, &size);
    s_refused(w, command, size, "out of range");
    assert_true(s_balance(w->fsm, "funding/" PAYER) == funded + 200);

    /* Two of one signer in one entry, out of order: both; a copy in the
     * same entry: refused, the others stand. */
    uint8_t *commands[3];
    size_t sizes[3];
    commands[0] = s_fund_command(w, 1500, &sizes[0]);
    commands[1] = s_fund_command(w, 1400, &sizes[1]);
    commands[2] = s_fund_command(w, 1500, &sizes[2]);
    s_apply(w, T_NOV_2026 + w->log_count, commands, sizes, 3);
    assert_true(w->results->commands[0].accepted);
    assert_true(w->results->commands[1].accepted);
    assert_false(w->results->commands[2].accepted);
    assert_non_null(strstr(w->results->commands[2].reason, "replayed sequence 1500"));
    assert_true(s_balance(w->fsm, "funding/" PAYER) == funded + 400);

    /* Another machine applying the same log agrees, window and head. */
    fsm_t *other = NULL;
    assert_int_equal(fsm_open(":memory:", &other, NULL), SETTLE_OK);
    s_replay(w, other);
    s_assert_same_head(w->fsm, other);
    ledger_participant_t mine, theirs;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), PAYER, &mine), SETTLE_OK);
    assert_int_equal(ledger_participant_get(fsm_ledger(other), PAYER, &theirs), SETTLE_OK);
    assert_true(theirs.next_sequence == 2001);
    assert_memory_equal(mine.sequence_window, theirs.sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE);
    fsm_destroy(&other);
}

static void test_fsm_check_command_verifies_signer_role_sequence_and_signature(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    size_t size;
    settle_error_t reason;
    uint8_t *command = s_pay_command(w, PAYER, w->payer_sequence, w->payer_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_OK);
    settle_free(command);
    command = s_pay_command(w, PAYER, w->payer_sequence + 3, w->payer_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_OK);
    settle_free(command);
    command = s_pay_command(w, PAYER, w->payer_sequence, w->provider_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_SIGNATURE);
    settle_free(command);
    command = s_pay_command(w, PAYER, 0, w->payer_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_EXISTS);
    assert_non_null(strstr(reason.message, "replayed sequence 0 of ACMEHP"));
    settle_free(command);
    command = s_pay_command(w, "auditor", 0, w->node_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_ERR_INVALID);
    assert_non_null(strstr(reason.message, "the auditor auditor may not pay"));
    settle_free(command);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_world_setup, s_world_teardown)
        S_TEST(test_fsm_answers_a_duplicate_with_its_first_answer_and_no_second_transfer),
        S_TEST(test_fsm_pays_what_funds_allow_and_keeps_the_rest_payable),
        S_TEST(test_fsm_void_reverses_accumulators_and_payment),
        S_TEST(test_fsm_claim_row_carries_the_hash_of_the_contract_that_decided_it),
        S_TEST(test_fsm_two_machines_applying_the_same_entries_have_the_same_head),
        S_TEST(test_fsm_scratch_ledger_replays_duplicates_voids_and_payments_to_the_same_head),
        S_TEST(test_fsm_reopened_file_rebuilds_the_same_state),
        S_TEST(test_fsm_snapshot_restored_into_a_fresh_machine_has_the_same_head),
        S_TEST(test_fsm_snapshot_reader_holds_the_state_it_began_on),
        S_TEST(test_fsm_snapshot_restored_into_a_scratch_machine_goes_on_from_its_claims),
        S_TEST(test_fsm_open_fresh_empties_the_file_and_the_log_rebuilds_it),
        S_TEST(test_fsm_open_fresh_replaces_a_file_that_is_not_a_database),
        S_TEST(test_fsm_refuses_bad_commands_and_changes_nothing),
        S_TEST(test_fsm_check_command_verifies_signer_role_sequence_and_signature),
        S_TEST(test_fsm_accepts_sequences_out_of_order_within_the_window_once_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
