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

#include <sqlite3.h>

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

/* A ledger file, ledger.db, in a directory of its own under /tmp. */
typedef struct {
    char directory[32];
    char path[64];
} s_temp_t;

static void s_temp_make(s_temp_t *temp)
{
    snprintf(temp->directory, sizeof temp->directory, "/tmp/settle-ledger-XXXXXX");
    assert_non_null(mkdtemp(temp->directory));
    snprintf(temp->path, sizeof temp->path, "%s/ledger.db", temp->directory);
}

/* A new ledger file in a directory of its own. */
static ledger_t *s_temp_ledger(s_temp_t *temp)
{
    s_temp_make(temp);
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open(temp->path, &ledger, NULL), SETTLE_OK);
    return ledger;
}

/* Writes provider prov-NN (an entry of its own); commits it unless told
 * to roll it back. */
static void s_put_provider(ledger_t *ledger, int number, bool commit)
{
    ledger_participant_t row = {.role = 2};
    snprintf(row.id, sizeof row.id, "prov-%02d", number);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &row, (uint64_t)number + 1, NULL), SETTLE_OK);
    if (commit)
        assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    else
        ledger_rollback(ledger);
}

/* Removes the file, its WAL and shared memory, and the directory. */
static void s_temp_remove(const s_temp_t *temp)
{
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char path[80];
        snprintf(path, sizeof path, "%s%s", temp->path, suffixes[i]);
        unlink(path);
    }
    rmdir(temp->directory);
}

static void test_ledger_file_reopens_with_its_rows_and_refuses_bad_snapshots(void **state)
{
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    const char *path = temp.path;
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
    s_temp_remove(&temp);
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

/* ------------------------------------------------------------------------
 * The replay window
 * ------------------------------------------------------------------------ */

/* A model of the window the obvious way: every number accepted, and the
 * highest; "too old" is anything 1024 or more below the highest. */
typedef struct {
    uint8_t seen[1 << 17];
    bool any;
    uint64_t highest;
} s_model_t;

static ledger_sequence_t s_model_check(const s_model_t *m, uint64_t sequence)
{
    if (!m->any || sequence > m->highest)
        return LEDGER_SEQUENCE_NEW;
    if (m->highest - sequence >= LEDGER_SEQUENCE_WINDOW)
        return LEDGER_SEQUENCE_TOO_OLD;
    return m->seen[sequence] ? LEDGER_SEQUENCE_REPLAYED : LEDGER_SEQUENCE_NEW;
}

static void test_ledger_sequence_window_agrees_with_a_model_of_every_number_seen(void **state)
{
    (void)state;
    ledger_participant_t row;
    memset(&row, 0, sizeof row);
    s_model_t *model = calloc(1, sizeof *model);
    assert_non_null(model);
    uint64_t random = 12345, base = 0, accepted = 0, outcomes[4] = {0};
    for (int i = 0; i < 200000; i++) {
        random = random * 6364136223846793005u + 1442695040888963407u;
        uint64_t draw = random >> 33;
        /* Mostly near the top, sometimes far below, now and then a jump
         * of up to 1100 (past the window), and sliding by any bit count. */
        uint64_t sequence = base + draw % 1300;
        if (draw % 13 == 0 && base + 2500 < sizeof model->seen)
            base += draw % 1100;
        if (sequence >= sizeof model->seen)
            continue;
        ledger_sequence_t expected = s_model_check(model, sequence);
        assert_int_equal(ledger_sequence_check(&row, sequence), expected);
        outcomes[expected]++;
        if (expected != LEDGER_SEQUENCE_NEW)
            continue;
        ledger_sequence_accept(&row, sequence);
        model->seen[sequence] = 1;
        if (!model->any || sequence > model->highest)
            model->highest = sequence;
        model->any = true;
        accepted++;
        assert_true(row.next_sequence == model->highest + 1);
        assert_int_equal(ledger_sequence_check(&row, sequence), LEDGER_SEQUENCE_REPLAYED);
    }
    print_message("window: %llu new, %llu replayed, %llu too old\n",
                  (unsigned long long)outcomes[0], (unsigned long long)outcomes[1],
                  (unsigned long long)outcomes[2]);
    assert_true(accepted == outcomes[LEDGER_SEQUENCE_NEW]);
    assert_true(outcomes[LEDGER_SEQUENCE_NEW] > 1000);
    assert_true(outcomes[LEDGER_SEQUENCE_REPLAYED] > 1000);
    assert_true(outcomes[LEDGER_SEQUENCE_TOO_OLD] > 1000);
    free(model);
}

static void test_ledger_sequence_window_bounds(void **state)
{
    (void)state;
    ledger_participant_t row;
    memset(&row, 0, sizeof row);
    /* Nothing seen: any first number, 0 included. */
    assert_int_equal(ledger_sequence_check(&row, 0), LEDGER_SEQUENCE_NEW);
    assert_int_equal(ledger_sequence_check(&row, UINT64_MAX), LEDGER_SEQUENCE_TOO_HIGH);
    ledger_sequence_accept(&row, 2000);
    assert_true(row.next_sequence == 2001);
    assert_int_equal(row.sequence_window[0], 1);
    /* The window is 2000 and the 1023 below it. */
    assert_int_equal(ledger_sequence_check(&row, 977), LEDGER_SEQUENCE_NEW);
    assert_int_equal(ledger_sequence_check(&row, 976), LEDGER_SEQUENCE_TOO_OLD);
    assert_int_equal(ledger_sequence_check(&row, 0), LEDGER_SEQUENCE_TOO_OLD);
    ledger_sequence_accept(&row, 977);
    assert_int_equal(row.sequence_window[LEDGER_SEQUENCE_WINDOW_SIZE - 1], 0x80);
    assert_int_equal(ledger_sequence_check(&row, 977), LEDGER_SEQUENCE_REPLAYED);
    /* One more at the top, and 977 falls out: too old, no longer a replay. */
    ledger_sequence_accept(&row, 2001);
    assert_int_equal(ledger_sequence_check(&row, 977), LEDGER_SEQUENCE_TOO_OLD);
    assert_int_equal(row.sequence_window[0], 3);
    assert_int_equal(ledger_sequence_check(&row, 2000), LEDGER_SEQUENCE_REPLAYED);
    /* A jump past the window forgets everything below it. */
    ledger_sequence_accept(&row, 2001 + LEDGER_SEQUENCE_WINDOW);
    assert_int_equal(row.sequence_window[0], 1);
    for (int i = 1; i < LEDGER_SEQUENCE_WINDOW_SIZE; i++)
        assert_int_equal(row.sequence_window[i], 0);
    assert_int_equal(ledger_sequence_check(&row, 2001), LEDGER_SEQUENCE_TOO_OLD);
    assert_int_equal(ledger_sequence_check(&row, 2002), LEDGER_SEQUENCE_NEW);
}

/* The window round-trips through a real file, and is in the change log. */
static void test_ledger_stores_the_sequence_window_and_finds_a_provider_by_npi(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    const char *path = temp.path;
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_participant_t payer = {.role = 1}, provider = {.role = 2}, twin = {.role = 2};
    memcpy(payer.id, "ACMEHP", 7);
    memcpy(provider.id, "prov-b", 7);
    memcpy(provider.npi, "1234567893", 11);
    memcpy(twin.id, "prov-a", 7);
    memcpy(twin.npi, "1234567893", 11);
    assert_int_equal(ledger_participant_put(ledger, &payer, 1, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &provider, 1, NULL), SETTLE_OK);
    size_t before = ledger_changes_size(ledger);
    ledger_sequence_accept(&payer, 40);
    ledger_sequence_accept(&payer, 31);
    assert_int_equal(ledger_participant_advance(ledger, &payer, NULL), SETTLE_OK);
    /* tag, id (u16 length + 6), next (8), window (128) */
    assert_true(ledger_changes_size(ledger) - before == 1 + 2 + 6 + 8 + 128);
    ledger_participant_t ghost = {.role = 1};
    memcpy(ghost.id, "GHOST", 6);
    settle_error_t error;
    assert_int_equal(ledger_participant_advance(ledger, &ghost, &error), SETTLE_ERR_NOT_FOUND);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    ledger_close(&ledger);

    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    ledger_participant_t found;
    assert_int_equal(ledger_participant_get(ledger, "ACMEHP", &found), SETTLE_OK);
    assert_true(found.next_sequence == 41);
    assert_memory_equal(found.sequence_window, payer.sequence_window, LEDGER_SEQUENCE_WINDOW_SIZE);
    assert_int_equal(ledger_sequence_check(&found, 31), LEDGER_SEQUENCE_REPLAYED);
    assert_int_equal(ledger_sequence_check(&found, 32), LEDGER_SEQUENCE_NEW);
    assert_int_equal(ledger_participant_by_npi(ledger, "1234567893", &found), SETTLE_OK);
    assert_string_equal(found.id, "prov-b");
    assert_int_equal(found.role, 2);
    /* Two with one NPI: the first by id. */
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &twin, 2, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_by_npi(ledger, "1234567893", &found), SETTLE_OK);
    assert_string_equal(found.id, "prov-a");
    assert_int_equal(ledger_participant_by_npi(ledger, "1999999999", &found), SETTLE_ERR_NOT_FOUND);
    assert_int_equal(ledger_participant_by_npi(ledger, "", &found), SETTLE_ERR_NOT_FOUND);
    ledger_close(&ledger);
    s_temp_remove(&temp);
}

/* ------------------------------------------------------------------------
 * The WAL's gathered writes (ledger_vfs.c)
 * ------------------------------------------------------------------------ */

static int64_t s_reader_count(sqlite3 *reader, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(reader, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t count = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return count;
}

/* claims.contract_hash: 32 bytes for a claim a contract decided, zero-length
 * for one without (the row's hash all zeros); read back by
 * ledger_claim_get, and part of the row's bytes in the change log. */
static void test_ledger_claim_row_stores_the_contract_hash(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    const char *path = temp.path;
    ledger_claim_t decided = s_claim_row("C-1", 700), rejected = s_claim_row("C-2", 0);
    memset(decided.contract_hash, 0xab, LEDGER_HASH_SIZE);
    uint8_t digests[2][LEDGER_HASH_SIZE];
    for (int i = 0; i < 2; i++) {
        ledger_t *other = NULL;
        assert_int_equal(ledger_open(":memory:", &other, NULL), SETTLE_OK);
        ledger_claim_t row = s_claim_row("C-1", 700);
        row.contract_hash[0] = (uint8_t)i;
        assert_int_equal(ledger_begin(other, NULL), SETTLE_OK);
        assert_int_equal(ledger_claim_put(other, &row, NULL), SETTLE_OK);
        assert_int_equal(ledger_changes_digest(other, digests[i]), SETTLE_OK);
        ledger_close(&other);
    }
    assert_memory_not_equal(digests[0], digests[1], LEDGER_HASH_SIZE);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_put(ledger, &decided, NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_put(ledger, &rejected, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    ledger_claim_t row;
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-1", &row), SETTLE_OK);
    assert_memory_equal(row.contract_hash, decided.contract_hash, LEDGER_HASH_SIZE);
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-2", &row), SETTLE_OK);
    uint8_t zeros[LEDGER_HASH_SIZE] = {0};
    assert_memory_equal(row.contract_hash, zeros, LEDGER_HASH_SIZE);
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_true(s_reader_count(reader, "SELECT length(contract_hash) FROM claims "
                                       "WHERE claim_id = 'C-1'") == LEDGER_HASH_SIZE);
    assert_true(s_reader_count(reader, "SELECT length(contract_hash) FROM claims "
                                       "WHERE claim_id = 'C-2'") == 0);
    sqlite3_close(reader);
    ledger_close(&ledger);
    s_temp_remove(&temp);
}

/* Another connection, through SQLite's own VFS, must see every commit as
 * soon as it returns - the frames are in the file before the wal-index
 * names them - including a commit larger than the write buffer, and must
 * be able to checkpoint them itself from the file alone. */
static void test_ledger_commits_are_in_the_file_for_another_connection_at_once(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    const char *path = temp.path;
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    for (int i = 0; i < 40; i++) {
        s_put_provider(ledger, i, true);
        assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == i + 1);
    }
    /* About 600 KiB in one commit: several buffers' worth of frames. */
    size_t yaml_size = 600u << 10;
    uint8_t *yaml = malloc(yaml_size);
    assert_non_null(yaml);
    for (size_t i = 0; i < yaml_size; i++)
        yaml[i] = (uint8_t)('a' + i % 23);
    ledger_contract_t contract = {
        .effective_from = 1, .effective_to = 2, .yaml = yaml, .yaml_size = yaml_size};
    memcpy(contract.payer, "ACMEHP", 7);
    memcpy(contract.contract_id, "BIG", 4);
    memcpy(contract.version, "1", 2);
    contract.hash[0] = 7;
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_contract_put(ledger, &contract, 41, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(reader, "SELECT yaml FROM contracts", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(s, 0), (int)yaml_size);
    assert_memory_equal(sqlite3_column_blob(s, 0), yaml, yaml_size);
    sqlite3_finalize(s);
    /* The reader copies the WAL into the database from the file. */
    assert_int_equal(sqlite3_exec(reader, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == 40);
    assert_true(s_reader_count(reader, "SELECT length(yaml) FROM contracts") == (int64_t)yaml_size);
    /* And the ledger carries on after the reader's checkpoint. */
    ledger_participant_t last = {.role = 2};
    memcpy(last.id, "prov-last", 10);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &last, 42, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == 41);
    sqlite3_stmt *check = NULL;
    assert_int_equal(sqlite3_prepare_v2(reader, "PRAGMA quick_check", -1, &check, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(check), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(check, 0), "ok");
    sqlite3_finalize(check);
    sqlite3_close(reader);
    ledger_close(&ledger);
    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    uint64_t count = 0;
    assert_int_equal(ledger_participant_count(ledger, &count), SETTLE_OK);
    assert_true(count == 41);
    ledger_close(&ledger);
    free(yaml);
    s_temp_remove(&temp);
}

/* Held commits: entries are savepoints of one transaction; a rolled-back
 * entry goes alone; another connection sees them once flushed; a
 * snapshot's image and a reader flush first. */
static void test_ledger_held_commits_are_seen_by_others_once_flushed(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    const char *path = temp.path;
    ledger_hold_commits(ledger, true);
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    for (int i = 0; i < 3; i++) {
        s_put_provider(ledger, i, i != 1); /* 1 is rolled back, alone */
        assert_true(ledger_unflushed(ledger));
    }
    /* This connection reads what it holds; the other sees nothing yet. */
    uint64_t count = 0;
    assert_int_equal(ledger_participant_count(ledger, &count), SETTLE_OK);
    assert_true(count == 2);
    ledger_participant_t found;
    assert_int_equal(ledger_participant_get(ledger, "prov-01", &found), SETTLE_ERR_NOT_FOUND);
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == 0);
    /* A flush inside an entry waits for the entry's end. */
    ledger_participant_t late = {.role = 2};
    memcpy(late.id, "prov-late", 10);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &late, 9, NULL), SETTLE_OK);
    assert_int_equal(ledger_flush(ledger, NULL), SETTLE_OK);
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == 0);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_flush(ledger, NULL), SETTLE_OK);
    assert_false(ledger_unflushed(ledger));
    assert_false(ledger_lost(ledger));
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == 3);
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants WHERE id = 'prov-01'") ==
                0);
    /* A snapshot's reader starts from everything held. */
    ledger_participant_t more = {.role = 2};
    memcpy(more.id, "prov-more", 10);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &more, 10, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    ledger_t *snapshot = NULL;
    assert_int_equal(ledger_snapshot_reader(ledger, &snapshot, NULL), SETTLE_OK);
    assert_false(ledger_unflushed(ledger));
    assert_int_equal(ledger_participant_count(snapshot, &count), SETTLE_OK);
    assert_true(count == 4);
    ledger_close(&snapshot);
    /* And closing commits what is held. */
    ledger_participant_t last = {.role = 2};
    memcpy(last.id, "prov-last", 10);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &last, 11, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    ledger_close(&ledger);
    assert_true(s_reader_count(reader, "SELECT count(*) FROM participants") == 5);
    sqlite3_close(reader);
    s_temp_remove(&temp);
}

static void s_count_pages(void *context, int pages)
{
    *(int *)context = pages;
}

/* Checkpoints beside the writer: the hook sees the WAL grow, a connection
 * of its own copies it all, and the next commit starts the WAL over. */
static void test_ledger_wal_checkpointed_by_another_connection(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    const char *path = temp.path;
    int pages = -1;
    ledger_wal_watch(ledger, s_count_pages, &pages);
    int grown = 0;
    for (int i = 0; i < 50; i++) {
        s_put_provider(ledger, i, true);
        assert_true(pages > grown); /* no checkpoint of the writer's own */
        grown = pages;
    }
    ledger_wal_t *wal = NULL;
    assert_int_equal(ledger_wal_open(path, &wal, NULL), SETTLE_OK);
    int left = -1;
    assert_int_equal(ledger_wal_checkpoint(wal, &left, NULL), SETTLE_OK);
    assert_int_equal(left, 0);
    ledger_participant_t last = {.role = 2};
    memcpy(last.id, "prov-last", 10);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &last, 99, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_true(pages > 0 && pages < grown); /* started over */
    ledger_wal_close(&wal);
    ledger_wal_watch(ledger, NULL, NULL);
    ledger_close(&ledger);
    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    uint64_t count = 0;
    assert_int_equal(ledger_participant_count(ledger, &count), SETTLE_OK);
    assert_true(count == 51);
    ledger_close(&ledger);
    assert_int_equal(ledger_wal_open(":memory:", &wal, NULL), SETTLE_ERR_INVALID);
    s_temp_remove(&temp);
}

/* ...in a ledger's table, and in a scratch ledger's rows in memory. */
static void s_decision_stored(bool scratch);

static void test_ledger_stores_a_decision_in_the_claim_row_and_counts_its_parts(void **state)
{
    s_decision_stored(false);
    s_decision_stored(true);
}

static void s_decision_stored(bool scratch)
{
    ledger_t *ledger = NULL;
    assert_int_equal(scratch ? ledger_open_scratch(&ledger, NULL)
                             : ledger_open(":memory:", &ledger, NULL),
                     SETTLE_OK);
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

/* Collects the payable providers ledger_payable_each gives. */
typedef struct {
    ledger_payable_t rows[4];
    size_t count;
} s_payables_t;

static int s_collect_payable(const ledger_payable_t *payable, void *context)
{
    s_payables_t *payables = context;
    assert_true(payables->count < 4);
    payables->rows[payables->count++] = *payable;
    return SETTLE_OK;
}

/* Checks ACMEHP's one payable provider's total and count. */
static void s_assert_payable(ledger_t *ledger, int64_t total_cents, uint32_t claim_count)
{
    s_payables_t payables = {.count = 0};
    assert_int_equal(ledger_payable_each(ledger, "ACMEHP", s_collect_payable, &payables, NULL),
                     SETTLE_OK);
    assert_int_equal(payables.count, 1);
    assert_string_equal(payables.rows[0].npi, "1234567893");
    assert_true(payables.rows[0].total_cents == total_cents);
    assert_int_equal(payables.rows[0].claim_count, claim_count);
}

/* Payment P-1 of ACMEHP to provider 1234567893. */
static ledger_payment_t s_payment(int64_t total_cents, uint32_t claim_count, uint64_t entry_index)
{
    return (ledger_payment_t){.payment_id = "P-1",
                              .payer = "ACMEHP",
                              .npi = "1234567893",
                              .total_cents = total_cents,
                              .claim_count = claim_count,
                              .entry_index = entry_index};
}

/* One entry storing a payable claim of net_cents; committed or rolled back. */
static void s_put_payable(ledger_t *ledger, const char *claim_id, int64_t net_cents, bool commit)
{
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_claim_t row = s_claim_row(claim_id, net_cents);
    assert_int_equal(ledger_claim_put(ledger, &row, NULL), SETTLE_OK);
    if (commit)
        assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    else
        ledger_rollback(ledger);
}

/* Pays ACMEHP's provider 1234567893 in one entry (total_cents over
 * claim_count claims) and checks that nothing is left to pay it. */
static void s_pay_all(ledger_t *ledger, int64_t total_cents, uint32_t claim_count)
{
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_payment_t payment = s_payment(total_cents, claim_count, 5);
    assert_int_equal(ledger_payment_put(ledger, &payment, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    s_payables_t payables = {.count = 0};
    assert_int_equal(ledger_payable_each(ledger, "ACMEHP", s_collect_payable, &payables, NULL),
                     SETTLE_OK);
    assert_int_equal(payables.count, 0);
    ledger_claim_t found;
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-4", &found), SETTLE_OK);
    assert_string_equal(found.settlement, LEDGER_SETTLEMENT_PAID);
    assert_string_equal(found.payment_id, "P-1");
}

/* Whether the file's schema still has the old partial index of payable
 * claims, read by a connection of its own. */
static bool s_has_payable_index(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int64_t count = s_reader_count(db, "SELECT count(*) FROM sqlite_master "
                                       "WHERE type = 'index' AND name = 'claims_payable'");
    sqlite3_close(db);
    return count == 1;
}

/* A file ledger's payable claims live in lists beside the table
 * (ledger_payable.c), not in an index: made from the table when first
 * asked, kept up by each insert, dropped by a rollback and made again,
 * made again after a reopen, emptied by a payment, made again by a restore
 * over lists a payment emptied (from an earlier build's image, whose index
 * the restore drops), and kept per payer and provider in NPI order. */
static void test_ledger_file_keeps_payable_claims_beside_the_table(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    assert_false(s_has_payable_index(temp.path));
    s_put_payable(ledger, "C-1", 9000, true);
    s_put_payable(ledger, "C-2", 500, true);
    s_assert_payable(ledger, 9500, 2); /* made from the table */
    s_put_payable(ledger, "C-3", 100, false);
    s_assert_payable(ledger, 9500, 2); /* made again after the rollback */
    s_put_payable(ledger, "C-4", 200, true);
    s_assert_payable(ledger, 9700, 3); /* the insert added to them */
    ledger_close(&ledger);

    /* An earlier build's file: the same table with the partial index. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(temp.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE INDEX claims_payable ON claims (payer, billing_npi) "
                                  "WHERE settlement = 'payable'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_true(s_has_payable_index(temp.path));
    assert_int_equal(ledger_open(temp.path, &ledger, NULL), SETTLE_OK);
    s_assert_payable(ledger, 9700, 3); /* made from the table after the reopen */
    uint8_t *snapshot = NULL;
    size_t size = 0;
    assert_int_equal(ledger_serialize(ledger, &snapshot, &size, NULL), SETTLE_OK);
    s_pay_all(ledger, 9700, 3);

    /* The image from before the payment, with the earlier build's index,
     * restored over the ledger whose lists the payment emptied. */
    ledger_t *image = NULL;
    assert_int_equal(ledger_open_snapshot(snapshot, size, &image, NULL), SETTLE_OK);
    assert_int_equal(ledger_replace(ledger, image, NULL), SETTLE_OK);
    ledger_close(&image);
    settle_free(snapshot);
    s_assert_payable(ledger, 9700, 3);
    s_pay_all(ledger, 9700, 3);

    /* Each payer's providers, in NPI order, and nobody else's. */
    ledger_claim_t rows[3] = {s_claim_row("C-6", 300), s_claim_row("C-7", 50),
                              s_claim_row("C-8", 70)};
    snprintf(rows[1].billing_npi, sizeof rows[1].billing_npi, "1000000008");
    snprintf(rows[2].payer, sizeof rows[2].payer, "BLUEHP");
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ledger_claim_put(ledger, &rows[i], NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    s_payables_t payables = {.count = 0};
    assert_int_equal(ledger_payable_each(ledger, "ACMEHP", s_collect_payable, &payables, NULL),
                     SETTLE_OK);
    assert_int_equal(payables.count, 2);
    assert_string_equal(payables.rows[0].npi, "1000000008");
    assert_true(payables.rows[0].total_cents == 50 && payables.rows[0].claim_count == 1);
    assert_string_equal(payables.rows[1].npi, "1234567893");
    assert_true(payables.rows[1].total_cents == 300 && payables.rows[1].claim_count == 1);
    payables.count = 0;
    assert_int_equal(ledger_payable_each(ledger, "BLUEHP", s_collect_payable, &payables, NULL),
                     SETTLE_OK);
    assert_int_equal(payables.count, 1);
    assert_true(payables.rows[0].total_cents == 70);
    ledger_close(&ledger);
    assert_false(s_has_payable_index(temp.path)); /* the restore dropped it */
    s_temp_remove(&temp);
}

/* With commits held (the node's way: each entry a savepoint of one open
 * transaction), the lists follow the entries: made inside a held entry,
 * dropped with an entry rolled back to its savepoint, made again, and
 * still right once the held entries are flushed. */
static void test_ledger_held_entries_keep_payable_lists_right(void **state)
{
    (void)state;
    s_temp_t temp;
    ledger_t *ledger = s_temp_ledger(&temp);
    ledger_hold_commits(ledger, true);
    s_put_payable(ledger, "C-1", 9000, true);
    s_assert_payable(ledger, 9000, 1); /* made from the held transaction */
    s_put_payable(ledger, "C-2", 500, true);
    s_assert_payable(ledger, 9500, 2);
    s_put_payable(ledger, "C-3", 100, false); /* rolled back to its savepoint */
    s_assert_payable(ledger, 9500, 2);
    assert_int_equal(ledger_flush(ledger, NULL), SETTLE_OK);
    s_assert_payable(ledger, 9500, 2);
    ledger_close(&ledger);
    assert_int_equal(ledger_open(temp.path, &ledger, NULL), SETTLE_OK);
    s_assert_payable(ledger, 9500, 2); /* what the flush committed */
    ledger_close(&ledger);
    s_temp_remove(&temp);
}

/* Everything a scratch ledger's entry does to its claims (kept in memory,
 * ledger_scratch.c): a row added, a void, a decision, a payment. */
static void s_scratch_entry(ledger_t *ledger, ledger_claim_t *first,
                            const interp_decision_t *decision, const interp_changes_t *changes)
{
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_claim_t second = s_claim_row("C-2", 500);
    assert_int_equal(ledger_claim_put(ledger, &second, NULL), SETTLE_OK);
    assert_true(second.row == 2);
    assert_int_equal(ledger_claim_put(ledger, first, NULL), SETTLE_ERR_EXISTS);
    assert_int_equal(ledger_claim_mark_voided(ledger, "ACMEHP", "C-1", "C-1V", NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_mark_voided(ledger, "ACMEHP", "C-9", "C-9V", NULL), SETTLE_OK);
    assert_int_equal(ledger_claim_details_put(ledger, first, decision, changes, NULL), SETTLE_OK);
    ledger_payment_t payment = s_payment(9500, 2, 2);
    assert_int_equal(ledger_payment_put(ledger, &payment, NULL), SETTLE_OK);
    ledger_claim_t found;
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-1", &found), SETTLE_OK);
    assert_string_equal(found.voided_by, "C-1V");
    assert_string_equal(found.settlement, LEDGER_SETTLEMENT_PAID);
    assert_string_equal(found.payment_id, "P-1");
}

/* A scratch ledger keeps its claims in memory, outside SQLite's
 * transaction: a rollback must take back by hand the rows added and the
 * voids, decisions and payments made since ledger_begin, and its lookups,
 * counts and payable lists must then be what a ledger's table would give. */
static void test_ledger_scratch_rollback_takes_back_rows_voids_decisions_and_payments(void **state)
{
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open_scratch(&ledger, NULL), SETTLE_OK);
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = calloc(1, sizeof *changes);
    s_decision(decision, changes);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    ledger_claim_t first = s_claim_row("C-1", 9000);
    assert_int_equal(ledger_claim_put(ledger, &first, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_true(first.row == 1);
    s_scratch_entry(ledger, &first, decision, changes);
    ledger_rollback(ledger);

    ledger_claim_t found;
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-2", &found), SETTLE_ERR_NOT_FOUND);
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-1", &found), SETTLE_OK);
    assert_true(found.row == 1 && found.net_cents == 9000);
    assert_string_equal(found.voided_by, "");
    assert_string_equal(found.settlement, LEDGER_SETTLEMENT_PAYABLE);
    assert_string_equal(found.payment_id, "");
    assert_int_equal(ledger_claim_decision(ledger, "ACMEHP", "C-1", decision, changes, NULL),
                     SETTLE_ERR_NOT_FOUND);
    uint64_t count;
    assert_int_equal(ledger_row_count(ledger, "claims", &count), SETTLE_OK);
    assert_true(count == 1);
    s_assert_payable(ledger, 9000, 1);

    /* The same entry again: the next row takes the rolled-back one's number. */
    s_decision(decision, changes);
    s_scratch_entry(ledger, &first, decision, changes);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_row_count(ledger, "claims", &count), SETTLE_OK);
    assert_true(count == 2);
    assert_int_equal(ledger_row_count(ledger, "claim_lines", &count), SETTLE_OK);
    assert_true(count == 2);
    assert_int_equal(ledger_claim_decision(ledger, "ACMEHP", "C-1", decision, changes, NULL),
                     SETTLE_OK);
    assert_int_equal(decision->line_count, 2);
    assert_int_equal(ledger_claim_get(ledger, "ACMEHP", "C-2", &found), SETTLE_OK);
    assert_string_equal(found.settlement, LEDGER_SETTLEMENT_PAID);
    interp_decision_destroy(&decision);
    free(changes);
    ledger_close(&ledger);
}

/* One scratch ledger's life: an entry of three claims (one decided as
 * stored, one later), a void and a payment, committed; then one more
 * claim, a void and a decision rolled back; closed.  The first error is
 * the answer. */
static int s_scratch_life(settle_error_t *error)
{
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = settle_calloc(1, sizeof *changes);
    ledger_t *ledger = NULL;
    int rc = decision && changes ? ledger_open_scratch(&ledger, error) : SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK)
        s_decision(decision, changes);
    ledger_claim_t rows[4] = {s_claim_row("C-1", 9000), s_claim_row("C-2", 500),
                              s_claim_row("C-3", 100), s_claim_row("C-4", 7)};
    if (rc == SETTLE_OK)
        rc = ledger_begin(ledger, error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_put_decided(ledger, &rows[0], decision, changes, error);
    for (int i = 1; rc == SETTLE_OK && i < 3; i++)
        rc = ledger_claim_put(ledger, &rows[i], error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_details_put(ledger, &rows[1], decision, changes, error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_mark_voided(ledger, "ACMEHP", "C-1", "C-1V", error);
    ledger_payment_t payment = {.payment_id = "P-1",
                                .payer = "ACMEHP",
                                .npi = "1234567893",
                                .total_cents = 9600,
                                .claim_count = 3,
                                .entry_index = 1};
    if (rc == SETTLE_OK)
        rc = ledger_payment_put(ledger, &payment, error);
    uint8_t digest[LEDGER_HASH_SIZE];
    if (rc == SETTLE_OK && ledger_changes_digest(ledger, digest) != SETTLE_OK)
        rc = SETTLE_ERR_NOMEM; /* the change log could not grow */
    if (rc == SETTLE_OK)
        rc = ledger_commit(ledger, error);
    if (rc == SETTLE_OK)
        rc = ledger_begin(ledger, error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_put(ledger, &rows[3], error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_mark_voided(ledger, "ACMEHP", "C-2", "C-2V", error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_details_put(ledger, &rows[2], decision, changes, error);
    if (ledger)
        ledger_rollback(ledger);
    /* A rebuild after the rollback that could not allocate loses the
     * lists: asked, they fail rather than answer from a part. */
    s_payables_t payables = {.count = 0};
    if (rc == SETTLE_OK)
        rc = ledger_payable_each(ledger, "ACMEHP", s_collect_payable, &payables, error);
    ledger_claim_t found;
    if (rc == SETTLE_OK &&
        (ledger_claim_get(ledger, "ACMEHP", "C-4", &found) != SETTLE_ERR_NOT_FOUND ||
         ledger_claim_get(ledger, "ACMEHP", "C-2", &found) != SETTLE_OK ||
         found.voided_by[0] != '\0'))
        rc = SETTLE_ERR_IO; /* the rollback lost its way: make the walk fail loudly */
    ledger_close(&ledger);
    settle_free(changes);
    interp_decision_destroy(&decision);
    return rc;
}

/* The scratch ledger's store (ledger_scratch.c) and payable lists through
 * every allocation failing in turn: each is reported, none leaks (the
 * allocator's live count returns to where it was), and the ledger that
 * was open closes cleanly. */
static void test_ledger_scratch_reports_every_allocation_failure_without_leaks(void **state)
{
    long live = settle_alloc_live(), before = settle_alloc_attempts();
    assert_int_equal(s_scratch_life(NULL), SETTLE_OK);
    long count = settle_alloc_attempts() - before;
    assert_true(count > 10);
    assert_int_equal(settle_alloc_live(), live);
    for (long i = 0; i < count; i++) {
        settle_error_t error;
        settle_error_clear(&error);
        settle_alloc_fail_after(i);
        int rc = s_scratch_life(&error);
        settle_alloc_fail_after(-1);
        if (rc == SETTLE_OK)
            fail_msg("allocation %ld of %ld failed but the life succeeded", i + 1, count);
        if (settle_alloc_live() != live)
            fail_msg("allocation %ld of %ld failed and %ld blocks leaked", i + 1, count,
                     settle_alloc_live() - live);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_posts_transfers_double_entry_and_logs_every_change),
        cmocka_unit_test(test_ledger_rollback_leaves_nothing),
        cmocka_unit_test(test_ledger_file_keeps_payable_claims_beside_the_table),
        cmocka_unit_test(test_ledger_held_entries_keep_payable_lists_right),
        cmocka_unit_test(test_ledger_scratch_rollback_takes_back_rows_voids_decisions_and_payments),
        cmocka_unit_test(test_ledger_scratch_reports_every_allocation_failure_without_leaks),
        cmocka_unit_test(test_ledger_file_reopens_with_its_rows_and_refuses_bad_snapshots),
        cmocka_unit_test(
            test_ledger_decision_encoding_round_trips_and_refuses_what_it_would_not_write),
        cmocka_unit_test(test_ledger_stores_a_decision_in_the_claim_row_and_counts_its_parts),
        cmocka_unit_test(test_ledger_sequence_window_agrees_with_a_model_of_every_number_seen),
        cmocka_unit_test(test_ledger_sequence_window_bounds),
        cmocka_unit_test(test_ledger_commits_are_in_the_file_for_another_connection_at_once),
        cmocka_unit_test(test_ledger_held_commits_are_seen_by_others_once_flushed),
        cmocka_unit_test(test_ledger_wal_checkpointed_by_another_connection),
        cmocka_unit_test(test_ledger_claim_row_stores_the_contract_hash),
        cmocka_unit_test(test_ledger_stores_the_sequence_window_and_finds_a_provider_by_npi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
