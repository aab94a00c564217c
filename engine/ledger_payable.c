/*
 * ledger_payable.c - every ledger's payable claims, per provider.
 *
 * A payment cycle pays each provider's claims stored as payable and not
 * yet paid.  They used to be found through a partial index, claims_payable
 * (payer, billing_npi WHERE settlement = 'payable'); every payable claim's
 * insert wrote into it, about an eighth of each claim a node applies
 * (bench_fsm file 1000: about 151,000 claims/s with it, 171,000 without)
 * and a sixth of an auditor's replay.  In its place the ledger_t keeps, per
 * (payer, billing NPI), the claim_row and net_cents of each claim stored as
 * payable and not yet paid, the providers sorted by payer then NPI in byte
 * order (SQLite's BINARY collation), so a payment cycle sees the same
 * providers, sums and counts in the same order as the index's GROUP BY
 * gave.  Claims leave the list only by a payment (settlement is never
 * changed otherwise).
 *
 * Where the rows are:
 * - a scratch ledger's are in memory (ledger_scratch.c): the lists are
 *   made from them after a rollback or a restore; when that fails they are
 *   lost, and every call fails rather than answer from a part;
 * - every other ledger's are in SQLite: the lists are made from the claims
 *   table by one scan when first needed (the first payment cycle after an
 *   open or a rollback, which drops them) or when a snapshot is restored
 *   (ledger_replace, already a pass over the whole ledger), and each insert
 *   adds to them once they are made.  An entry's rollback drops them when
 *   the entry changed them (made, added to or paid from: payable_changed),
 *   and so does the loss of held entries (ledger.c).  They are the writing
 *   connection's: another connection to the same file would not see them
 *   change (none asks: payment cycles run where the entries are applied).
 *   A ledger made before keeps its index; SQLite keeps it up to date and
 *   nothing reads it.
 * Memory: 16 bytes per claim stored as payable and not yet paid (a denied
 * claim is payable too, with a zero net), given back when its provider is
 * paid.
 * Lookups bisect the providers; nothing is hashed, so no order of its own
 * reaches a decision.
 */
#include <stdio.h>
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"

typedef struct {
    char payer[COMMAND_PARTICIPANT_ID_SIZE];
    char npi[CLAIM_NPI_SIZE];
    int64_t *rows; /* claim_row, ascending (rows are added as inserted) */
    int64_t *nets; /* net_cents of the same claims */
    size_t count;
    size_t capacity;
} s_provider_t;

struct ledger_payable_s {
    s_provider_t *providers; /* sorted by payer, then npi */
    size_t count;
    size_t capacity;
};

void ledger_payable_free(ledger_t *self)
{
    struct ledger_payable_s *payable = self->payable;
    if (!payable)
        return;
    for (size_t i = payable->count; i-- > 0;) {
        settle_free(payable->providers[i].nets);
        settle_free(payable->providers[i].rows);
    }
    settle_free(payable->providers);
    settle_free(payable);
    self->payable = NULL;
}

/* Orders (payer, npi) against a provider as ORDER BY payer, billing_npi. */
static int s_order(const char *payer, const char *npi, const s_provider_t *provider)
{
    int order = strcmp(payer, provider->payer);
    return order ? order : strcmp(npi, provider->npi);
}

/* The first provider not before (payer, npi) (bisection). */
static size_t s_lower_bound(const struct ledger_payable_s *payable, const char *payer,
                            const char *npi)
{
    size_t low = 0, high = payable->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (s_order(payer, npi, &payable->providers[middle]) > 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* The provider (payer, npi), made (empty) when new; NULL on no memory. */
static s_provider_t *s_provider(struct ledger_payable_s *payable, const char *payer,
                                const char *npi)
{
    size_t at = s_lower_bound(payable, payer, npi);
    if (at < payable->count && s_order(payer, npi, &payable->providers[at]) == 0)
        return &payable->providers[at];
    if (payable->count == payable->capacity) {
        size_t capacity = payable->capacity ? 2 * payable->capacity : 16;
        s_provider_t *bigger = settle_realloc(payable->providers, capacity * sizeof *bigger);
        if (!bigger)
            return NULL;
        payable->providers = bigger;
        payable->capacity = capacity;
    }
    s_provider_t *provider = &payable->providers[at];
    memmove(provider + 1, provider, (payable->count - at) * sizeof *provider);
    payable->count++;
    memset(provider, 0, sizeof *provider);
    snprintf(provider->payer, sizeof provider->payer, "%s", payer);
    snprintf(provider->npi, sizeof provider->npi, "%s", npi);
    return provider;
}

int ledger_payable_add(ledger_t *self, const char *payer, const char *npi, int64_t row,
                       int64_t net_cents)
{
    if (!self->payable) /* scratch: lost by a failed rebuild; else made when needed */
        return self->scratch ? SETTLE_ERR_IO : SETTLE_OK;
    s_provider_t *provider = s_provider(self->payable, payer, npi);
    if (!provider)
        return SETTLE_ERR_NOMEM;
    if (provider->count == provider->capacity) {
        size_t capacity = provider->capacity ? 2 * provider->capacity : 64;
        int64_t *rows = settle_realloc(provider->rows, capacity * sizeof *rows);
        if (rows)
            provider->rows = rows;
        int64_t *nets = rows ? settle_realloc(provider->nets, capacity * sizeof *nets) : NULL;
        if (!nets)
            return SETTLE_ERR_NOMEM;
        provider->nets = nets;
        provider->capacity = capacity;
    }
    provider->rows[provider->count] = row;
    provider->nets[provider->count] = net_cents;
    provider->count++;
    self->payable_changed = true;
    return SETTLE_OK;
}

/* The lists from a scratch ledger's rows in memory. */
static int s_build_scratch(ledger_t *self)
{
    if (!self->claims)
        return SETTLE_ERR_IO; /* the rows are lost: so are the lists */
    int rc = SETTLE_OK;
    uint64_t count = ledger_scratch_claim_count(self);
    for (uint64_t row = 1; rc == SETTLE_OK && row <= count; row++) {
        ledger_value_t values[LEDGER_CLAIM_COLUMNS];
        ledger_scratch_claim_values(self, row, values);
        if (values[16].size != sizeof LEDGER_SETTLEMENT_PAYABLE - 1 ||
            memcmp(values[16].bytes, LEDGER_SETTLEMENT_PAYABLE, values[16].size) != 0)
            continue;
        rc = ledger_payable_add(self, values[1].bytes, values[3].bytes, (int64_t)row,
                                values[15].integer);
    }
    return rc;
}

/* The lists from the claims table, in claim_row order. */
static int s_build_sqlite(ledger_t *self)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PAYABLE_ROWS, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    int rc = SETTLE_OK, step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        char payer[COMMAND_PARTICIPANT_ID_SIZE], npi[CLAIM_NPI_SIZE];
        ledger_column_text(s, 1, payer, sizeof payer);
        ledger_column_text(s, 2, npi, sizeof npi);
        rc = ledger_payable_add(self, payer, npi, sqlite3_column_int64(s, 0),
                                sqlite3_column_int64(s, 3));
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = SETTLE_ERR_IO;
    sqlite3_reset(s);
    return rc;
}

int ledger_payable_build(ledger_t *self)
{
    ledger_payable_free(self);
    if (self->scratch && !self->claims)
        return SETTLE_ERR_IO; /* the rows are lost: so are the lists */
    self->payable = settle_calloc(1, sizeof *self->payable);
    if (!self->payable)
        return SETTLE_ERR_NOMEM;
    int rc = self->scratch ? s_build_scratch(self) : s_build_sqlite(self);
    if (rc != SETTLE_OK)
        ledger_payable_free(self);
    /* Made inside an entry, they hold its rows: its rollback drops them. */
    self->payable_changed = true;
    return rc;
}

/* The lists in *lists_out, made first when an SQLite ledger has none yet. */
static int s_lists(ledger_t *self, struct ledger_payable_s **lists_out, settle_error_t *error)
{
    *lists_out = NULL;
    if (!self->payable && !self->scratch) {
        int rc = ledger_payable_build(self);
        if (rc == SETTLE_ERR_NOMEM)
            return settle_error_set(error, rc, "ledger: reading payable claims: out of memory");
        if (rc != SETTLE_OK)
            return ledger_sqlite_error(self, "reading payable claims", error);
    }
    if (!self->payable)
        return settle_error_set(error, SETTLE_ERR_IO, "ledger: the payable claims are lost");
    *lists_out = self->payable;
    return SETTLE_OK;
}

/* Marks one payable row paid: in memory, or in the claims table. */
static int s_pay_row(ledger_t *self, int64_t row, const char *payment_id, uint32_t *moved_out,
                     settle_error_t *error)
{
    if (self->scratch)
        return ledger_scratch_claim_pay(self, row, payment_id, moved_out) == SETTLE_OK
                   ? SETTLE_OK
                   : settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_PAYMENT_CLAIM_ROW, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, row);
    ledger_bind_text(s, 2, payment_id);
    int rc = ledger_step_done(self, s, "moving claims into a payment", error);
    *moved_out = rc == SETTLE_OK ? (uint32_t)sqlite3_changes(self->db) : 0;
    return rc;
}

int ledger_payable_gather(ledger_t *self, const char *payer, ledger_payable_t **rows_out,
                          size_t *count_out, settle_error_t *error)
{
    struct ledger_payable_s *payable = NULL;
    int rc = s_lists(self, &payable, error);
    if (rc != SETTLE_OK)
        return rc;
    size_t first = s_lower_bound(payable, payer, ""), last = first;
    while (last < payable->count && strcmp(payable->providers[last].payer, payer) == 0)
        last++;
    ledger_payable_t *rows = settle_calloc(last - first + 1, sizeof *rows);
    if (!rows)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "ledger: out of memory");
    size_t count = 0;
    for (size_t i = first; i < last; i++) {
        const s_provider_t *provider = &payable->providers[i];
        if (provider->count == 0)
            continue; /* all paid: no group, as GROUP BY gives none */
        int64_t total = 0;
        for (size_t c = 0; c < provider->count; c++)
            if (__builtin_add_overflow(total, provider->nets[c], &total)) {
                settle_free(rows);
                return settle_error_set(error, SETTLE_ERR_IO,
                                        "ledger: reading payable claims: integer overflow");
            }
        ledger_payable_t *row = &rows[count++];
        snprintf(row->npi, sizeof row->npi, "%s", provider->npi);
        row->total_cents = total;
        row->claim_count = (uint32_t)provider->count;
    }
    *rows_out = rows;
    *count_out = count;
    return SETTLE_OK;
}

int ledger_payable_pay(ledger_t *self, const char *payer, const char *npi, const char *payment_id,
                       uint32_t *moved_out, settle_error_t *error)
{
    *moved_out = 0;
    struct ledger_payable_s *payable = NULL;
    int rc = s_lists(self, &payable, error);
    if (rc != SETTLE_OK)
        return rc;
    size_t at = s_lower_bound(payable, payer, npi);
    if (at == payable->count || s_order(payer, npi, &payable->providers[at]) != 0)
        return SETTLE_OK;
    s_provider_t *provider = &payable->providers[at];
    uint32_t moved = 0;
    for (size_t i = 0; i < provider->count; i++) {
        uint32_t one = 0;
        rc = s_pay_row(self, provider->rows[i], payment_id, &one, error);
        if (rc != SETTLE_OK)
            return rc; /* the entry fails: the lists are as they were (a
                        * scratch ledger's rollback makes them again) */
        moved += one;
    }
    /* Paid: the rows go, and their room (a rollback makes them again). */
    settle_free(provider->rows);
    settle_free(provider->nets);
    provider->rows = NULL;
    provider->nets = NULL;
    provider->count = provider->capacity = 0;
    self->payable_changed = true;
    *moved_out = moved;
    return SETTLE_OK;
}
