/*
 * test_ledger.c - the SQLite store on its own: schema creation in memory
 * and in a file, reopening, transactions and the change log, double-entry
 * postings gathered per entry and the invariant check, the decision
 * encoding and its column, refusing a damaged snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settle/alloc.h"
#include "settle/ledger.h"

static ledger_transfer_t s_transfer(const char *debit, const char *credit, int64_t cents)
{
    ledger_transfer_t transfer = {.debit_account = debit,
                                  .credit_account = credit,
                                  .amount_cents = cents,
                                  .kind = LEDGER_TRANSFER_FUND,
                                  .payer = "ACMEHP",
                                  .claim_id = "",
                                  .payment_id = "",
                                  .entry_index = 1};
    return transfer;
}

/* A payable claim row of ACMEHP's provider 1234567893 in entry 1. */
static ledger_claim_t s_claim_row(const char *claim_id, int64_t net_cents)
{
    ledger_claim_t row;
    memset(&row, 0, sizeof row);
    snprintf(row.payer, sizeof row.payer, "ACMEHP");
    snprintf(row.claim_id, sizeof row.claim_id, "%s", claim_id);
    snprintf(row.billing_npi, sizeof row.billing_npi, "1234567893");
    snprintf(row.settlement, sizeof row.settlement, "%s", LEDGER_SETTLEMENT_PAYABLE);
    row.frequency = 1;
    row.entry_index = 1;
    row.paid_cents = net_cents;
    row.net_cents = net_cents;
    return row;
}

static void test_ledger_posts_transfers_double_entry_and_logs_every_change(void **state)
{
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open(":memory:", &ledger, NULL), SETTLE_OK);
    char funding[LEDGER_ACCOUNT_ID_SIZE], payable[LEDGER_ACCOUNT_ID_SIZE];
    ledger_account_funding("ACMEHP", funding);
    ledger_account_payable("ACMEHP", "1234567893", payable);
    assert_string_equal(payable, "payable/ACMEHP/1234567893");
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_transfer_t fund = s_transfer(LEDGER_ACCOUNT_SETTLEMENT, funding, 5000);
    assert_int_equal(ledger_transfer(ledger, &fund, NULL), SETTLE_OK);
    /* Two claims of one provider in one entry: one transfer carries both. */
    ledger_claim_t first = s_claim_row("C-1", 700), second = s_claim_row("C-2", 500);
    assert_int_equal(ledger_claim_put(ledger, &first, NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_put(ledger, &second, NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_put(ledger, &second, NULL), SETTLE_ERR_EXISTS);
    ledger_transfer_t claim = s_transfer(funding, payable, 700);
    claim.kind = LEDGER_TRANSFER_CLAIM;
    claim.claim_id = "C-1";
    assert_int_equal(ledger_transfer(ledger, &claim, NULL), SETTLE_OK);
    claim.amount_cents = 500;
    claim.claim_id = "C-2";
    assert_int_equal(ledger_transfer(ledger, &claim, NULL), SETTLE_OK);
    ledger_transfer_t zero = s_transfer(funding, payable, 0);
    assert_int_equal(ledger_transfer(ledger, &zero, NULL), SETTLE_ERR_RANGE);
    ledger_transfer_t self_transfer = s_transfer(funding, funding, 10);
    assert_int_equal(ledger_transfer(ledger, &self_transfer, NULL), SETTLE_ERR_RANGE);
    int64_t balance;
    assert_int_equal(ledger_account_balance(ledger, funding, &balance), SETTLE_OK);
    assert_true(balance == 3800); /* pending postings count */
    size_t logged = ledger_changes_size(ledger);
    assert_true(logged > 0);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_account_balance(ledger, payable, &balance), SETTLE_OK);
    assert_true(balance == 1200);
    assert_int_equal(ledger_account_balance(ledger, LEDGER_ACCOUNT_SETTLEMENT, &balance),
                     SETTLE_OK);
    assert_true(balance == -5000);
    int64_t available;
    assert_int_equal(ledger_payer_available(ledger, "ACMEHP", &available), SETTLE_OK);
    assert_true(available == 5000);
    assert_int_equal(ledger_check(ledger, NULL), SETTLE_OK);
    uint64_t count;
    assert_int_equal(ledger_row_count(ledger, "transfers", &count), SETTLE_OK);
    assert_true(count == 2);
    assert_int_equal(ledger_row_count(ledger, "sqlite_master", &count), SETTLE_ERR_INVALID);
    ledger_claim_t found;
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-2", &found), SETTLE_OK);
    assert_true(found.net_cents == 500);
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-3", &found), SETTLE_ERR_NOT_FOUND);

    /* A claim whose net its transfer does not carry breaks the check. */
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_claim_t third = s_claim_row("C-3", 300);
    third.entry_index = 2;
    assert_int_equal(ledger_claim_put(ledger, &third, NULL), SETTLE_OK);
    claim.amount_cents = 299;
    claim.entry_index = 2;
    assert_int_equal(ledger_transfer(ledger, &claim, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    settle_error_t error;
    assert_int_equal(ledger_check(ledger, &error), SETTLE_ERR_CORRUPT);
    assert_non_null(strstr(error.message, "claim C-3"));
    ledger_close(&ledger);
    ledger_close(&ledger);
}

static void test_ledger_rollback_leaves_nothing(void **state)
{
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open(":memory:", &ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_participant_t row = {.role = 1, .next_sequence = 0};
    memcpy(row.id, "ACMEHP", 7);
    memcpy(row.name, "ACME", 5);
    assert_int_equal(ledger_participant_put(ledger, &row, 1, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &row, 1, NULL), SETTLE_ERR_EXISTS);
    ledger_rollback(ledger);
    ledger_participant_t found;
    assert_int_equal(ledger_participant_get(ledger, "ACMEHP", &found), SETTLE_ERR_NOT_FOUND);
    assert_true(ledger_changes_size(ledger) == 0);
    ledger_close(&ledger);
}

static void test_ledger_file_reopens_with_its_rows_and_refuses_bad_snapshots(void **state)
{
    char directory[] = "/tmp/settle-ledger-XXXXXX", path[128];
    assert_non_null(mkdtemp(directory));
    snprintf(path, sizeof path, "%s/ledger.db", directory);
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_participant_t row = {.role = 1, .next_sequence = 7};
    memcpy(row.id, "ACMEHP", 7);
    memcpy(row.name, "ACME", 5);
    assert_int_equal(ledger_participant_put(ledger, &row, 1, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    uint8_t *snapshot;
    size_t size;
    assert_int_equal(ledger_serialize(ledger, &snapshot, &size, NULL), SETTLE_OK);
    ledger_close(&ledger);
    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    ledger_participant_t found;
    assert_int_equal(ledger_participant_get(ledger, "ACMEHP", &found), SETTLE_OK);
    assert_true(found.next_sequence == 7);
    ledger_close(&ledger);

    ledger_t *copy = NULL;
    assert_int_equal(ledger_open_snapshot(snapshot, size, &copy, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_get(copy, "ACMEHP", &found), SETTLE_OK);
    ledger_close(&copy);
    settle_error_t error;
    assert_int_not_equal(ledger_open_snapshot(snapshot, 50, &copy, &error), SETTLE_OK);
    memset(snapshot + 100, 0xff, size - 100 > 4000 ? 4000 : size - 100);
    assert_int_not_equal(ledger_open_snapshot(snapshot, size, &copy, &error), SETTLE_OK);
    assert_null(copy);
    settle_free(snapshot);
    unlink(path);
    rmdir(directory);
}

/* A decision of two lines, one with two adjustments, and two changes. */
static void s_decision(interp_decision_t *decision, interp_changes_t *changes)
{
    decision->line_count = 2;
    for (uint32_t i = 0; i < 2; i++) {
        interp_line_t *line = &decision->lines[i];
        memset(line, 0, sizeof *line);
        line->line = i + 1;
        snprintf(line->code, sizeof line->code, "%s", i ? "36415" : "99213");
        line->units_milli = 1000;
        line->billed_cents = 15000 - 13000 * (int64_t)i;
        line->allowed_cents = 9000;
        line->paid_cents = -1; /* any integer survives, signs included */
        line->denied_in_part = i == 1;
    }
    decision->lines[0].adjustment_count = 2;
    snprintf(decision->lines[0].adjustments[0].group, INTERP_GROUP_SIZE, "CO");
    snprintf(decision->lines[0].adjustments[0].reason, INTERP_REASON_SIZE, "45");
    decision->lines[0].adjustments[0].amount_cents = 6000;
    snprintf(decision->lines[0].adjustments[1].group, INTERP_GROUP_SIZE, "PR");
    snprintf(decision->lines[0].adjustments[1].reason, INTERP_REASON_SIZE, "1");
    decision->lines[0].adjustments[1].amount_cents = 2000;
    changes->count = 2;
    memset(changes->items, 0, 2 * sizeof changes->items[0]);
    changes->items[0].kind = INTERP_ACCUMULATOR_DEDUCTIBLE_INDIVIDUAL;
    changes->items[0].year = 2026;
    snprintf(changes->items[0].key, sizeof changes->items[0].key, "M0000001");
    changes->items[0].amount = 2000;
    changes->items[1] = changes->items[0];
    changes->items[1].kind = INTERP_ACCUMULATOR_BENEFIT_UNITS;
    snprintf(changes->items[1].benefit, sizeof changes->items[1].benefit, "therapy");
    changes->items[1].amount = -1000;
}

static void
test_ledger_decision_encoding_round_trips_and_refuses_what_it_would_not_write(void **state)
{
    interp_decision_t *decision = interp_decision_new(), *back = interp_decision_new();
    interp_changes_t *changes = calloc(1, sizeof *changes),
                     *changes_back = calloc(1, sizeof *changes);
    s_decision(decision, changes);
    uint8_t *bytes, *again;
    size_t size, size_again;
    assert_int_equal(ledger_decision_encode(decision, changes, &bytes, &size), SETTLE_OK);
    assert_memory_equal(bytes, "SDEC\0\1", 6);
    assert_int_equal(ledger_decision_decode(bytes, size, back, changes_back, NULL), SETTLE_OK);
    assert_int_equal(back->line_count, 2);
    assert_string_equal(back->lines[1].code, "36415");
    assert_true(back->lines[0].paid_cents == -1);
    assert_true(back->lines[1].denied_in_part && !back->lines[1].denied_in_full);
    assert_int_equal(back->lines[0].adjustment_count, 2);
    assert_string_equal(back->lines[0].adjustments[1].reason, "1");
    assert_int_equal(changes_back->count, 2);
    assert_string_equal(changes_back->items[1].benefit, "therapy");
    assert_true(changes_back->items[1].amount == -1000);
    /* One decision, one encoding. */
    assert_int_equal(ledger_decision_encode(back, changes_back, &again, &size_again), SETTLE_OK);
    assert_int_equal(size_again, size);
    assert_memory_equal(again, bytes, size);
    settle_free(again);
    settle_error_t error;
    assert_int_equal(ledger_decision_decode(bytes, size - 1, back, changes_back, &error),
                     SETTLE_ERR_TRUNCATED);
    bytes[5] = 2; /* version */
    assert_int_equal(ledger_decision_decode(bytes, size, back, changes_back, &error),
                     SETTLE_ERR_VERSION);
    settle_free(bytes);
    decision->lines[1].code[0] = '\n'; /* not printable */
    assert_int_equal(ledger_decision_encode(decision, changes, &bytes, &size), SETTLE_ERR_INVALID);
    decision->lines[1].code[0] = '3';
    changes->items[0].kind = 9;
    assert_int_equal(ledger_decision_encode(decision, changes, &bytes, &size), SETTLE_ERR_INVALID);
    interp_decision_destroy(&decision);
    interp_decision_destroy(&back);
    free(changes);
    free(changes_back);
}

static void test_ledger_stores_a_decision_in_the_claim_row_and_counts_its_parts(void **state)
{
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open(":memory:", &ledger, NULL), SETTLE_OK);
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = calloc(1, sizeof *changes);
    s_decision(decision, changes);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_claim_t row = s_claim_row("C-1", 0);
    assert_int_equal(ledger_claim_put_decided(ledger, &row, decision, changes, NULL), SETTLE_OK);
    ledger_claim_t plain = s_claim_row("C-2", 0);
    assert_int_equal(ledger_claim_put(ledger, &plain, NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_details_put(ledger, &plain, decision, changes, NULL), SETTLE_OK);
    assert_int_not_equal(ledger_claim_details_put(ledger, &plain, decision, changes, NULL),
                         SETTLE_OK); /* a decision is written once */
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    uint64_t count;
    assert_int_equal(ledger_row_count(ledger, "claim_lines", &count), SETTLE_OK);
    assert_true(count == 4);
    assert_int_equal(ledger_row_count(ledger, "claim_adjustments", &count), SETTLE_OK);
    assert_true(count == 4);
    assert_int_equal(ledger_row_count(ledger, "accumulator_changes", &count), SETTLE_OK);
    assert_true(count == 4);
    memset(decision->lines, 0, 2 * sizeof decision->lines[0]);
    assert_int_equal(ledger_claim_decision(ledger, "ACMEHP", "C-2", decision, changes, NULL),
                     SETTLE_OK);
    assert_string_equal(decision->claim_id, "C-2");
    assert_int_equal(decision->line_count, 2);
    assert_true(decision->lines[0].adjustments[0].amount_cents == 6000);
    assert_int_equal(ledger_claim_decision(ledger, "ACMEHP", "C-9", decision, changes, NULL),
                     SETTLE_ERR_NOT_FOUND);
    interp_decision_destroy(&decision);
    free(changes);
    ledger_close(&ledger);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_posts_transfers_double_entry_and_logs_every_change),
        cmocka_unit_test(test_ledger_rollback_leaves_nothing),
        cmocka_unit_test(test_ledger_file_reopens_with_its_rows_and_refuses_bad_snapshots),
        cmocka_unit_test(
            test_ledger_decision_encoding_round_trips_and_refuses_what_it_would_not_write),
        cmocka_unit_test(test_ledger_stores_a_decision_in_the_claim_row_and_counts_its_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
