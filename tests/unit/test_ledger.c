/*
 * test_ledger.c - the SQLite store on its own: schema creation in memory
 * and in a file, reopening, transactions and the change log, double-entry
 * postings and the invariant check, refusing a damaged snapshot.
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
    ledger_transfer_t claim = s_transfer(funding, payable, 1200);
    claim.kind = LEDGER_TRANSFER_CLAIM;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_posts_transfers_double_entry_and_logs_every_change),
        cmocka_unit_test(test_ledger_rollback_leaves_nothing),
        cmocka_unit_test(test_ledger_file_reopens_with_its_rows_and_refuses_bad_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
