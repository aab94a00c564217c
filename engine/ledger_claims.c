/*
 * ledger_claims.c - claims, their lines and adjustments, accumulator
 * changes, and the reads that rebuild the interpreter's state from them.
 */
#include "ledger_internal.h"

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

static void s_log_claim(wire_writer_t *w, const ledger_claim_t *row)
{
    wire_put_uint(w, LEDGER_TAG_CLAIM, 1);
    wire_put_uint(w, (uint64_t)row->row, 8);
    wire_put_text(w, row->payer, sizeof row->payer);
    wire_put_text(w, row->claim_id, sizeof row->claim_id);
    wire_put_text(w, row->billing_npi, sizeof row->billing_npi);
    wire_put_uint(w, row->frequency, 1);
    wire_put_text(w, row->related_claim_id, sizeof row->related_claim_id);
    wire_put(w, row->content_hash, LEDGER_HASH_SIZE);
    wire_put_uint(w, row->status, 1);
    wire_put_text(w, row->reason, sizeof row->reason);
    wire_put_uint(w, (uint64_t)row->billed_cents, 8);
    wire_put_uint(w, (uint64_t)row->allowed_cents, 8);
    wire_put_uint(w, (uint64_t)row->paid_cents, 8);
    wire_put_uint(w, (uint64_t)row->patient_cents, 8);
    wire_put_uint(w, (uint64_t)row->net_cents, 8);
    wire_put_text(w, row->settlement, sizeof row->settlement);
}

int ledger_claim_put(ledger_t *self, ledger_claim_t *row, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, row->payer);
    ledger_bind_text(s, 2, row->claim_id);
    ledger_bind_text(s, 3, row->billing_npi);
    sqlite3_bind_int(s, 4, row->frequency);
    ledger_bind_text(s, 5, row->related_claim_id);
    sqlite3_bind_blob(s, 6, row->content_hash, LEDGER_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, (int64_t)row->entry_index);
    sqlite3_bind_int(s, 8, row->status);
    ledger_bind_text(s, 9, row->reason);
    sqlite3_bind_int64(s, 10, row->billed_cents);
    sqlite3_bind_int64(s, 11, row->allowed_cents);
    sqlite3_bind_int64(s, 12, row->paid_cents);
    sqlite3_bind_int64(s, 13, row->patient_cents);
    ledger_bind_text(s, 14, row->settlement);
    ledger_bind_text(s, 15, row->payment_id);
    ledger_bind_text(s, 16, row->voided_by);
    sqlite3_bind_int64(s, 17, row->net_cents);
    int rc = ledger_step_done(self, s, "storing a claim", error);
    if (rc != SETTLE_OK)
        return rc;
    row->row = sqlite3_last_insert_rowid(self->db);
    s_log_claim(&self->changes, row);
    return SETTLE_OK;
}

static int s_line_put(ledger_t *self, int64_t claim_row, const interp_line_t *line,
                      settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_LINE_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    const int64_t amounts[] = {
        line->units_milli,       line->units_milli_paid, line->billed_cents,
        line->allowed_cents,     line->deductible_cents, line->copay_cents,
        line->coinsurance_cents, line->paid_cents,       line->patient_cents};
    sqlite3_bind_int64(s, 1, claim_row);
    sqlite3_bind_int(s, 2, (int)line->line);
    ledger_bind_text(s, 3, line->code);
    for (int i = 0; i < 9; i++)
        sqlite3_bind_int64(s, 4 + i, amounts[i]);
    sqlite3_bind_int(s, 13, line->denied_in_full);
    sqlite3_bind_int(s, 14, line->denied_in_part);
    int rc = ledger_step_done(self, s, "storing a claim line", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = &self->changes;
    wire_put_uint(w, LEDGER_TAG_LINE, 1);
    wire_put_uint(w, line->line, 4);
    wire_put_text(w, line->code, sizeof line->code);
    for (int i = 0; i < 9; i++)
        wire_put_uint(w, (uint64_t)amounts[i], 8);
    wire_put_uint(w, (uint64_t)line->denied_in_full << 1 | line->denied_in_part, 1);
    return SETTLE_OK;
}

static int s_adjustment_put(ledger_t *self, int64_t claim_row, uint32_t line, uint32_t position,
                            const interp_adjustment_t *adjustment, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_ADJUSTMENT_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, claim_row);
    sqlite3_bind_int(s, 2, (int)line);
    sqlite3_bind_int(s, 3, (int)position);
    ledger_bind_text(s, 4, adjustment->group);
    ledger_bind_text(s, 5, adjustment->reason);
    sqlite3_bind_int64(s, 6, adjustment->amount_cents);
    int rc = ledger_step_done(self, s, "storing an adjustment", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = &self->changes;
    wire_put_uint(w, LEDGER_TAG_ADJUSTMENT, 1);
    wire_put_text(w, adjustment->group, sizeof adjustment->group);
    wire_put_text(w, adjustment->reason, sizeof adjustment->reason);
    wire_put_uint(w, (uint64_t)adjustment->amount_cents, 8);
    return SETTLE_OK;
}

static int s_change_put(ledger_t *self, const ledger_claim_t *claim, uint32_t position,
                        const interp_accumulator_t *change, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CHANGE_PUT, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, claim->row);
    sqlite3_bind_int(s, 2, (int)position);
    ledger_bind_text(s, 3, claim->payer);
    sqlite3_bind_int(s, 4, change->kind);
    sqlite3_bind_int(s, 5, change->year);
    ledger_bind_text(s, 6, change->key);
    ledger_bind_text(s, 7, change->benefit);
    sqlite3_bind_int64(s, 8, change->amount);
    int rc = ledger_step_done(self, s, "storing an accumulator change", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = &self->changes;
    wire_put_uint(w, LEDGER_TAG_CHANGE, 1);
    wire_put_uint(w, change->kind, 1);
    wire_put_uint(w, (uint32_t)change->year, 4);
    wire_put_text(w, change->key, sizeof change->key);
    wire_put_text(w, change->benefit, sizeof change->benefit);
    wire_put_uint(w, (uint64_t)change->amount, 8);
    return SETTLE_OK;
}

int ledger_claim_details_put(ledger_t *self, const ledger_claim_t *claim,
                             const interp_decision_t *decision, const interp_changes_t *changes,
                             settle_error_t *error)
{
    int rc = SETTLE_OK;
    for (uint32_t i = 0; rc == SETTLE_OK && i < decision->line_count; i++) {
        const interp_line_t *line = &decision->lines[i];
        rc = s_line_put(self, claim->row, line, error);
        for (uint32_t a = 0; rc == SETTLE_OK && a < line->adjustment_count; a++)
            rc = s_adjustment_put(self, claim->row, line->line, a, &line->adjustments[a], error);
    }
    for (uint32_t i = 0; rc == SETTLE_OK && changes && i < changes->count; i++)
        rc = s_change_put(self, claim, i, &changes->items[i], error);
    return rc;
}

int ledger_claim_mark_voided(ledger_t *self, const char *payer, const char *claim_id,
                             const char *voiding_claim_id, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_VOID, error);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, claim_id);
    ledger_bind_text(s, 3, voiding_claim_id);
    int rc = ledger_step_done(self, s, "marking a claim voided", error);
    if (rc != SETTLE_OK)
        return rc;
    wire_writer_t *w = &self->changes;
    wire_put_uint(w, LEDGER_TAG_VOID, 1);
    wire_put_text(w, payer, COMMAND_PARTICIPANT_ID_SIZE);
    wire_put_text(w, claim_id, CLAIM_REFERENCE_SIZE);
    wire_put_text(w, voiding_claim_id, CLAIM_ID_SIZE);
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

int ledger_claim_get(ledger_t *self, const char *payer, const char *claim_id,
                     ledger_claim_t *row_out)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_CLAIM_GET, NULL);
    if (!s)
        return SETTLE_ERR_IO;
    ledger_bind_text(s, 1, payer);
    ledger_bind_text(s, 2, claim_id);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        sqlite3_reset(s);
        return step == SQLITE_DONE ? SETTLE_ERR_NOT_FOUND : SETTLE_ERR_IO;
    }
    ledger_claim_t row;
    memset(&row, 0, sizeof row);
    row.row = sqlite3_column_int64(s, 0);
    ledger_column_text(s, 1, row.billing_npi, sizeof row.billing_npi);
    row.frequency = (uint8_t)sqlite3_column_int(s, 2);
    ledger_column_text(s, 3, row.related_claim_id, sizeof row.related_claim_id);
    if (sqlite3_column_bytes(s, 4) == LEDGER_HASH_SIZE)
        memcpy(row.content_hash, sqlite3_column_blob(s, 4), LEDGER_HASH_SIZE);
    row.entry_index = (uint64_t)sqlite3_column_int64(s, 5);
    row.status = (uint8_t)sqlite3_column_int(s, 6);
    ledger_column_text(s, 7, row.reason, sizeof row.reason);
    row.billed_cents = sqlite3_column_int64(s, 8);
    row.allowed_cents = sqlite3_column_int64(s, 9);
    row.paid_cents = sqlite3_column_int64(s, 10);
    row.patient_cents = sqlite3_column_int64(s, 11);
    ledger_column_text(s, 12, row.settlement, sizeof row.settlement);
    ledger_column_text(s, 13, row.payment_id, sizeof row.payment_id);
    ledger_column_text(s, 14, row.voided_by, sizeof row.voided_by);
    row.net_cents = sqlite3_column_int64(s, 15);
    sqlite3_reset(s);
    memcpy(row.payer, payer, strnlen(payer, sizeof row.payer - 1));
    memcpy(row.claim_id, claim_id, strnlen(claim_id, sizeof row.claim_id - 1));
    *row_out = row;
    return SETTLE_OK;
}

/* Reads the lines and adjustments of claim_row into decision. */
static int s_history_lines(ledger_t *self, int64_t claim_row, interp_decision_t *decision,
                           settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_HISTORY_LINES, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, claim_row);
    decision->line_count = 0;
    while (sqlite3_step(s) == SQLITE_ROW && decision->line_count < CLAIM_LINES_MAX) {
        interp_line_t *line = &decision->lines[decision->line_count++];
        memset(line, 0, sizeof *line);
        line->line = (uint32_t)sqlite3_column_int(s, 0);
        ledger_column_text(s, 1, line->code, sizeof line->code);
        int64_t *amounts[] = {
            &line->units_milli,       &line->units_milli_paid, &line->billed_cents,
            &line->allowed_cents,     &line->deductible_cents, &line->copay_cents,
            &line->coinsurance_cents, &line->paid_cents,       &line->patient_cents};
        for (int i = 0; i < 9; i++)
            *amounts[i] = sqlite3_column_int64(s, 2 + i);
        line->denied_in_full = sqlite3_column_int(s, 11) != 0;
        line->denied_in_part = sqlite3_column_int(s, 12) != 0;
    }
    sqlite3_reset(s);
    s = ledger_statement(self, LEDGER_SQL_HISTORY_ADJUSTMENTS, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, claim_row);
    while (sqlite3_step(s) == SQLITE_ROW) {
        uint32_t number = (uint32_t)sqlite3_column_int(s, 0);
        if (number == 0 || number > decision->line_count)
            continue;
        interp_line_t *line = &decision->lines[number - 1];
        if (line->adjustment_count >= INTERP_ADJUSTMENTS_MAX)
            continue;
        interp_adjustment_t *adjustment = &line->adjustments[line->adjustment_count++];
        ledger_column_text(s, 1, adjustment->group, sizeof adjustment->group);
        ledger_column_text(s, 2, adjustment->reason, sizeof adjustment->reason);
        adjustment->amount_cents = sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    return SETTLE_OK;
}

static int s_history_changes(ledger_t *self, int64_t claim_row, interp_changes_t *changes,
                             settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_HISTORY_CHANGES, error);
    if (!s)
        return SETTLE_ERR_IO;
    sqlite3_bind_int64(s, 1, claim_row);
    changes->count = 0;
    while (sqlite3_step(s) == SQLITE_ROW && changes->count < INTERP_CHANGES_MAX) {
        interp_accumulator_t *change = &changes->items[changes->count++];
        memset(change, 0, sizeof *change);
        change->kind = (uint8_t)sqlite3_column_int(s, 0);
        change->year = sqlite3_column_int(s, 1);
        ledger_column_text(s, 2, change->key, sizeof change->key);
        ledger_column_text(s, 3, change->benefit, sizeof change->benefit);
        change->amount = sqlite3_column_int64(s, 4);
    }
    sqlite3_reset(s);
    return SETTLE_OK;
}

/* One history claim row into decision (header fields only). */
static void s_history_header(sqlite3_stmt *s, interp_decision_t *decision, char *payer,
                             bool *voided)
{
    ledger_column_text(s, 1, payer, COMMAND_PARTICIPANT_ID_SIZE);
    ledger_column_text(s, 2, decision->claim_id, sizeof decision->claim_id);
    decision->frequency = (uint8_t)sqlite3_column_int(s, 3);
    ledger_column_text(s, 4, decision->related_claim_id, sizeof decision->related_claim_id);
    decision->status = (interp_status_t)sqlite3_column_int(s, 5);
    decision->billed_cents = sqlite3_column_int64(s, 6);
    decision->allowed_cents = sqlite3_column_int64(s, 7);
    decision->paid_cents = sqlite3_column_int64(s, 8);
    decision->patient_cents = sqlite3_column_int64(s, 9);
    *voided = sqlite3_column_bytes(s, 10) > 0;
}

int ledger_history_each(ledger_t *self, ledger_history_fn each, void *context,
                        settle_error_t *error)
{
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = settle_malloc(sizeof *changes);
    sqlite3_stmt *claims = NULL;
    int rc = decision && changes ? SETTLE_OK : SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK)
        claims = ledger_statement(self, LEDGER_SQL_HISTORY_CLAIMS, error);
    if (rc == SETTLE_OK && !claims)
        rc = SETTLE_ERR_IO;
    while (rc == SETTLE_OK && sqlite3_step(claims) == SQLITE_ROW) {
        char payer[COMMAND_PARTICIPANT_ID_SIZE];
        bool voided;
        interp_line_t *lines = decision->lines;
        memset(decision, 0, sizeof *decision);
        decision->lines = lines;
        s_history_header(claims, decision, payer, &voided);
        int64_t row = sqlite3_column_int64(claims, 0);
        rc = s_history_lines(self, row, decision, error);
        if (rc == SETTLE_OK)
            rc = s_history_changes(self, row, changes, error);
        if (rc == SETTLE_OK)
            rc = each(payer, decision, changes, voided, context);
    }
    if (claims)
        sqlite3_reset(claims);
    settle_free(changes);
    interp_decision_destroy(&decision);
    return rc == SETTLE_ERR_NOMEM ? settle_error_set(error, rc, "ledger: out of memory") : rc;
}

int ledger_total_each(ledger_t *self, ledger_total_fn each, void *context, settle_error_t *error)
{
    sqlite3_stmt *s = ledger_statement(self, LEDGER_SQL_TOTALS, error);
    if (!s)
        return SETTLE_ERR_IO;
    int rc = SETTLE_OK, step = SQLITE_DONE;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        char payer[COMMAND_PARTICIPANT_ID_SIZE];
        interp_accumulator_t total;
        memset(&total, 0, sizeof total);
        ledger_column_text(s, 0, payer, sizeof payer);
        total.kind = (uint8_t)sqlite3_column_int(s, 1);
        total.year = sqlite3_column_int(s, 2);
        ledger_column_text(s, 3, total.key, sizeof total.key);
        ledger_column_text(s, 4, total.benefit, sizeof total.benefit);
        total.amount = sqlite3_column_int64(s, 5);
        rc = each(payer, &total, context);
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(self, "reading accumulator totals", error);
    sqlite3_reset(s);
    return rc;
}
