/*
 * ledger_accounts.c - double-entry accounts, transfers and payments, and
 * the accounting invariants.
 *
 * A transfer debits one account and credits another by the same positive
 * amount.  Balances (credits minus debits) are posted per account; within
 * an entry the postings are gathered in a small sorted array and written
 * once per account when the entry commits, in account-id order, so that a
 * batch of a hundred claims touching two accounts costs two writes, not two
 * hundred.  The claims' own transfers are gathered the same way: one row
 * per pair of accounts and kind, with the number of claims it carries.
 */
#include <inttypes.h>
#include <stdio.h>

#include "ledger_internal.h"
#include "settle/money.h"

void ledger_account_funding(const char *payer, char id_out[LEDGER_ACCOUNT_ID_SIZE])
{
    snprintf(id_out, LEDGER_ACCOUNT_ID_SIZE, "funding/%s", payer);
}

void ledger_account_payable(const char *payer, const char *npi, char id_out[LEDGER_ACCOUNT_ID_SIZE])
{
    snprintf(id_out, LEDGER_ACCOUNT_ID_SIZE, "payable/%s/%s", payer, npi);
}

/* Splits an account id into its kind, payer and NPI. */
static void s_account_parts(const char *id, ledger_pending_t *pending)
{
    const char *slash = strchr(id, '/');
    size_t kind_length = slash ? (size_t)(slash - id) : strlen(id);
    snprintf(pending->kind, sizeof pending->kind, "%.*s", (int)kind_length, id);
    if (!slash)
        return;
    const char *second = strchr(slash + 1, '/');
    size_t payer_length = second ? (size_t)(second - slash - 1) : strlen(slash + 1);
    snprintf(pending->payer, sizeof pending->payer, "%.*s", (int)payer_length, slash + 1);
    if (second)
        snprintf(pending->npi, sizeof pending->npi, "%s", second + 1);
}

/* The pending record of an account, added (zero) when new; NULL when out of
 * memory. */
static ledger_pending_t *s_pending(ledger_t *self, const char *id)
{
    size_t low = 0, high = self->pending_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(self->pending[middle].id, id);
        if (order == 0)
            return &self->pending[middle];
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    if (self->pending_count == self->pending_capacity) {
        size_t grown = self->pending_capacity ? self->pending_capacity * 2 : 16;
        ledger_pending_t *bigger = settle_realloc(self->pending, grown * sizeof *bigger);
        if (!bigger)
            return NULL;
        self->pending = bigger;
        self->pending_capacity = grown;
    }
    memmove(&self->pending[low + 1], &self->pending[low],
            (self->pending_count - low) * sizeof *self->pending);
    ledger_pending_t *pending = &self->pending[low];
    memset(pending, 0, sizeof *pending);
    snprintf(pending->id, sizeof pending->id, "%s", id);
    s_account_parts(id, pending);
    self->pending_count++;
    return pending;
}

static void s_log_transfer(wire_writer_t *w, const ledger_transfer_t *t, uint32_t claim_count)
{
    wire_put_uint(w, LEDGER_TAG_TRANSFER, 1);
    wire_put_text(w, t->debit_account, LEDGER_ACCOUNT_ID_SIZE);
    wire_put_text(w, t->credit_account, LEDGER_ACCOUNT_ID_SIZE);
    wire_put_uint(w, (uint64_t)t->amount_cents, 8);
    wire_put_text(w, t->kind, 16);
    wire_put_text(w, t->payer, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_text(w, t->claim_id, CLAIM_ID_SIZE);
    wire_put_text(w, t->payment_id, LEDGER_PAYMENT_ID_SIZE);
    wire_put_uint(w, claim_count, 4);
}

/* Inserts a transfer row and logs it. */
static int s_transfer_put(ledger_t *self, const ledger_transfer_t *t, uint32_t claim_count,
                          settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_TRANSFER_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, (int64_t)t->entry_index);
    ledger_bind_text(s, 2, t->debit_account);
    ledger_bind_text(s, 3, t->credit_account);
    sqlite3_bind_int64(s, 4, t->amount_cents);
    ledger_bind_text(s, 5, t->kind);
    ledger_bind_text(s, 6, t->payer);
    ledger_bind_text(s, 7, t->claim_id);
    ledger_bind_text(s, 8, t->payment_id);
    sqlite3_bind_int64(s, 9, claim_count);
    int rc = ledger_step_done(self, s, "recording a transfer", error);
    if (rc == SETTLE_OK)
        s_log_transfer(ledger_log(self), t, claim_count);
    return rc;
}

static int s_aggregate_order(const ledger_aggregate_t *a, const ledger_transfer_t *t)
{
    int order = strcmp(a->debit, t->debit_account);
    if (order == 0)
        order = strcmp(a->credit, t->credit_account);
    return order == 0 ? strcmp(a->kind, t->kind) : order;
}

/* Adds a claim's (or reversal's) amount to the entry's transfer between
 * its two accounts, made when first needed. */
static int s_aggregate(ledger_t *self, const ledger_transfer_t *t, settle_error_t *error)
{
    size_t low = 0, high = self->aggregate_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = s_aggregate_order(&self->aggregates[middle], t);
        if (order == 0) {
            ledger_aggregate_t *a = &self->aggregates[middle];
            if (money_add(a->amount_cents, t->amount_cents, &a->amount_cents) != SETTLE_OK)
                return settle_error_set(error, SETTLE_ERR_OVERFLOW, "ledger: transfer overflows");
            a->claim_count++;
            return SETTLE_OK;
        }
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    if (self->aggregate_count == self->aggregate_capacity) {
        size_t grown = self->aggregate_capacity ? self->aggregate_capacity * 2 : 8;
        ledger_aggregate_t *bigger = settle_realloc(self->aggregates, grown * sizeof *bigger);
        if (!bigger)
            return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
        self->aggregates = bigger;
        self->aggregate_capacity = grown;
    }
    memmove(&self->aggregates[low + 1], &self->aggregates[low],
            (self->aggregate_count - low) * sizeof *self->aggregates);
    ledger_aggregate_t *a = &self->aggregates[low];
    memset(a, 0, sizeof *a);
    snprintf(a->debit, sizeof a->debit, "%s", t->debit_account);
    snprintf(a->credit, sizeof a->credit, "%s", t->credit_account);
    snprintf(a->kind, sizeof a->kind, "%s", t->kind);
    snprintf(a->payer, sizeof a->payer, "%s", t->payer);
    a->amount_cents = t->amount_cents;
    a->claim_count = 1;
    a->entry_index = t->entry_index;
    self->aggregate_count++;
    return SETTLE_OK;
}

static bool s_aggregated(const char *kind)
{
    return strcmp(kind, LEDGER_TRANSFER_CLAIM) == 0 || strcmp(kind, LEDGER_TRANSFER_REVERSAL) == 0;
}

int ledger_transfer(ledger_t *self, const ledger_transfer_t *t, settle_error_t *error)
{
    if (t->amount_cents <= 0 || strcmp(t->debit_account, t->credit_account) == 0)
        return settle_error_set(error, SETTLE_ERR_RANGE,
                                "ledger: transfer of %" PRId64 " cents from %s to %s",
                                t->amount_cents, t->debit_account, t->credit_account);
    ledger_pending_t *debit = s_pending(self, t->debit_account);
    ledger_pending_t *credit = debit ? s_pending(self, t->credit_account) : NULL;
    debit = credit ? s_pending(self, t->debit_account) : NULL; /* credit may have moved it */
    if (!debit || !credit)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    int64_t debits, credits;
    if (money_add(debit->debits_cents, t->amount_cents, &debits) != SETTLE_OK ||
        money_add(credit->credits_cents, t->amount_cents, &credits) != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_OVERFLOW, "ledger: account total overflows");
    int rc =
        s_aggregated(t->kind) ? s_aggregate(self, t, error) : s_transfer_put(self, t, 0, error);
    if (rc != SETTLE_OK)
        return rc;
    debit->debits_cents = debits;
    credit->credits_cents = credits;
    return SETTLE_OK;
}

/* Writes the entry's gathered claim and reversal transfers, in order. */
static int s_flush_aggregates(ledger_t *self, settle_error_t *error)
{
    int rc = SETTLE_OK;
    for (size_t i = 0; rc == SETTLE_OK && i < self->aggregate_count; i++) {
        const ledger_aggregate_t *a = &self->aggregates[i];
        ledger_transfer_t t = {.debit_account = a->debit,
                               .credit_account = a->credit,
                               .amount_cents = a->amount_cents,
                               .kind = a->kind,
                               .payer = a->payer,
                               .claim_id = "",
                               .payment_id = "",
                               .entry_index = a->entry_index};
        rc = s_transfer_put(self, &t, a->claim_count, error);
    }
    if (rc == SETTLE_OK)
        self->aggregate_count = 0;
    return rc;
}

int ledger_flush_accounts(ledger_t *self, settle_error_t *error)
{
    int rc = s_flush_aggregates(self, error);
    if (rc != SETTLE_OK)
        return rc;
    for (size_t i = 0; i < self->pending_count; i++) {
        const ledger_pending_t *p = &self->pending[i];
        sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_ACCOUNT_POST, error);
        if (!s)
            return SETTLE_ERR_IO;
        ledger_bind_text(s, 1, p->id);
        ledger_bind_text(s, 2, p->kind);
        ledger_bind_text(s, 3, p->payer);
        ledger_bind_text(s, 4, p->npi);
        sqlite3_bind_int64(s, 5, p->debits_cents);
        sqlite3_bind_int64(s, 6, p->credits_cents);
        if (sqlite3_step(s) != SQLITE_ROW) {
            sqlite3_reset(s);
            return ledger_sqlite_error(self, "posting to an account", error);
        }
        wire_writer_t *w = &self->changes;
        wire_put_uint(w, LEDGER_TAG_ACCOUNT, 1);
        wire_put_text(w, p->id, sizeof p->id);
        wire_put_uint(w, (uint64_t)sqlite3_column_int64(s, 0), 8);
        wire_put_uint(w, (uint64_t)sqlite3_column_int64(s, 1), 8);
        sqlite3_reset(s);
    }
    self->pending_count = 0;
    return SETTLE_OK;
}

int ledger_account_balance(ledger_t *self, const char *account, int64_t *balance_cents_out)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_ACCOUNT_GET, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, account);
    int step = sqlite3_step(s);
    int64_t balance = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return SETTLE_ERR_IO;
    for (size_t i = 0; i < self->pending_count; i++)
        if (strcmp(self->pending[i].id, account) == 0)
            balance += self->pending[i].credits_cents - self->pending[i].debits_cents;
    *balance_cents_out = balance;
    return SETTLE_OK;
}

int ledger_payer_available(ledger_t *self, const char *payer, int64_t *cents_out)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PAYER_AVAILABLE, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, payer);
    int step = sqlite3_step(s);
    int64_t available = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (step != SQLITE_ROW)
        return SETTLE_ERR_IO;
    for (size_t i = 0; i < self->pending_count; i++) {
        const ledger_pending_t *p = &self->pending[i];
        if (strcmp(p->payer, payer) == 0 &&
            (strcmp(p->kind, "funding") == 0 || strcmp(p->kind, "payable") == 0))
            available += p->credits_cents - p->debits_cents;
    }
    *cents_out = available;
    return SETTLE_OK;
}

/* The payable providers come from the ledger's lists (ledger_payable.c),
 * gathered first: the callback writes to the claims they name. */
int ledger_payable_each(ledger_t *self, const char *payer, ledger_payable_fn each, void *context,
                        settle_error_t *error)
{
    ledger_payable_t *rows = NULL;
    size_t count = 0;
    int rc = ledger_payable_gather(self, payer, &rows, &count, error);
    for (size_t i = 0; rc == SETTLE_OK && i < count; i++)
        rc = each(&rows[i], context);
    settle_free(rows);
    return rc;
}

int ledger_payment_put(ledger_t *self, const ledger_payment_t *p, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PAYMENT_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, p->payment_id);
    ledger_bind_text(s, 2, p->payer);
    ledger_bind_text(s, 3, p->npi);
    sqlite3_bind_int64(s, 4, p->total_cents);
    sqlite3_bind_int64(s, 5, p->claim_count);
    sqlite3_bind_int64(s, 6, (int64_t)p->entry_index);
    int rc = ledger_step_done(self, s, "storing a payment", error);
    if (rc != SETTLE_OK)
        return rc;
    uint32_t moved = 0;
    rc = ledger_payable_pay(self, p->payer, p->npi, p->payment_id, &moved, error);
    if (rc != SETTLE_OK)
        return rc;
    if (moved != p->claim_count)
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "ledger: payment %s: %u claims expected, %u moved", p->payment_id,
                                p->claim_count, moved);
    wire_writer_t *w = &self->changes;
    wire_put_uint(w, LEDGER_TAG_PAYMENT, 1);
    wire_put_text(w, p->payment_id, sizeof p->payment_id);
    wire_put_text(w, p->payer, sizeof p->payer);
    wire_put_text(w, p->npi, sizeof p->npi);
    wire_put_uint(w, (uint64_t)p->total_cents, 8);
    wire_put_uint(w, p->claim_count, 4);
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Invariants
 * ------------------------------------------------------------------------ */

/* Each check is a query that returns the first row that breaks it, with a
 * description; no row means it holds. */
static const char *const s_checks[][2] = {
    {"SELECT 'transfers: debits ' || (SELECT COALESCE(SUM(debits_cents), 0) FROM accounts) || "
     "' <> credits ' || (SELECT COALESCE(SUM(credits_cents), 0) FROM accounts) "
     "WHERE (SELECT COALESCE(SUM(debits_cents), 0) FROM accounts) <> "
     "(SELECT COALESCE(SUM(credits_cents), 0) FROM accounts) "
     "OR (SELECT COALESCE(SUM(debits_cents), 0) FROM accounts) <> "
     "(SELECT COALESCE(SUM(amount_cents), 0) FROM transfers)",
     "sum of debits equals sum of credits"},
    {"SELECT a.id FROM accounts a WHERE a.debits_cents <> (SELECT COALESCE(SUM(amount_cents), 0) "
     "FROM transfers WHERE debit_account = a.id) OR a.credits_cents <> (SELECT "
     "COALESCE(SUM(amount_cents), 0) FROM transfers WHERE credit_account = a.id) ORDER BY a.id",
     "each account's totals equal its transfers"},
    /* Claims grouped as apply gathers their transfers: by entry, payer,
     * provider and the sign of the net; each group against its transfer. */
    {"WITH g AS (SELECT entry_index, payer, net_cents > 0 AS owed, "
     "'funding/' || payer AS funding, 'payable/' || payer || '/' || billing_npi AS payable, "
     "SUM(ABS(net_cents)) AS amount, COUNT(*) AS n, MIN(claim_id) AS first FROM claims "
     "WHERE net_cents <> 0 GROUP BY entry_index, payer, billing_npi, net_cents > 0), "
     "t AS (SELECT transfer_row, entry_index, payer, kind = 'claim' AS owed, amount_cents, "
     "claim_count, claim_id, CASE kind WHEN 'claim' THEN debit_account ELSE credit_account END "
     "AS funding, CASE kind WHEN 'claim' THEN credit_account ELSE debit_account END AS payable "
     "FROM transfers WHERE kind IN ('claim', 'reversal')) "
     "SELECT 'claim ' || g.first FROM g WHERE (SELECT COUNT(*) FROM t WHERE "
     "t.entry_index = g.entry_index AND t.payer = g.payer AND t.owed = g.owed AND "
     "t.funding = g.funding AND t.payable = g.payable AND t.amount_cents = g.amount AND "
     "t.claim_count = g.n AND t.claim_id = '') <> 1 "
     "UNION ALL SELECT 'transfer ' || t.transfer_row FROM t WHERE NOT EXISTS (SELECT 1 FROM g "
     "WHERE t.entry_index = g.entry_index AND t.payer = g.payer AND t.owed = g.owed AND "
     "t.funding = g.funding AND t.payable = g.payable) "
     "OR (SELECT COUNT(*) FROM t AS u WHERE u.entry_index = t.entry_index "
     "AND u.funding = t.funding AND u.payable = t.payable AND u.owed = t.owed) <> 1",
     "every claim that moves money is in exactly one transfer, which carries its group's net"},
    {"SELECT c.claim_id FROM claims c WHERE c.settlement = 'paid' AND NOT EXISTS (SELECT 1 "
     "FROM payments p WHERE p.payment_id = c.payment_id) ORDER BY c.claim_row",
     "every paid claim's payment exists"},
    {"SELECT p.payment_id FROM payments p WHERE p.total_cents <> (SELECT COALESCE(SUM("
     "net_cents), 0) FROM claims c WHERE c.payment_id = p.payment_id) ORDER BY p.payment_id",
     "every payment's total is the sum of its claims"},
};

int ledger_check(ledger_t *self, settle_error_t *error)
{
    for (size_t i = 0; i < sizeof s_checks / sizeof s_checks[0]; i++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(self->db, s_checks[i][0], -1, &s, NULL) != SQLITE_OK)
            return ledger_sqlite_error(self, "preparing a check", error);
        int step = sqlite3_step(s);
        char found[128] = "";
        if (step == SQLITE_ROW)
            ledger_column_text(s, 0, found, sizeof found);
        sqlite3_finalize(s);
        if (step == SQLITE_ROW)
            return settle_error_set(error, SETTLE_ERR_CORRUPT, "ledger check \"%s\" fails: %s",
                                    s_checks[i][1], found);
        if (step != SQLITE_DONE)
            return ledger_sqlite_error(self, "running a check", error);
    }
    return SETTLE_OK;
}
