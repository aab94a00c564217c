/*
 * remit.c - the remittance record: building it from claims and decisions,
 * and the three balancing rules every 835 must satisfy.
 *
 * The balancing check is the writers' gate: x12_835_write refuses a
 * remittance that fails it, so a provider never receives an 835 whose
 * numbers do not add up.  Every sum is checked for overflow, because the
 * amounts come from outside this file.
 */
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"
#include "settle/remit.h"

remit_t *remit_new(void)
{
    remit_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->method = REMIT_METHOD_CHECK;
    self->payment_date = DATE_NONE;
    self->production_date = DATE_NONE;
    self->fiscal_period_end = DATE_NONE;
    return self;
}

static void s_claim_free(remit_claim_t *entry)
{
    settle_free(entry->claim_lines);
    settle_free(entry->decision.lines);
    entry->claim_lines = NULL;
    entry->decision.lines = NULL;
}

void remit_destroy(remit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    remit_t *self = *self_p;
    for (uint32_t i = 0; i < self->claim_count; i++)
        s_claim_free(&self->claims[i]);
    settle_free(self->claims);
    settle_free(self->plbs);
    settle_free(self);
    *self_p = NULL;
}

/* Grows an array of item_size items to hold one more; 0 or SETTLE_ERR_NOMEM. */
static int s_grow(void **items, uint32_t *capacity, uint32_t count, size_t item_size)
{
    if (count < *capacity)
        return SETTLE_OK;
    uint32_t wanted = *capacity ? *capacity * 2 : 8;
    void *grown = settle_realloc(*items, (size_t)wanted * item_size);
    if (!grown)
        return SETTLE_ERR_NOMEM;
    *items = grown;
    *capacity = wanted;
    return SETTLE_OK;
}

/* Copies the claim's fields and both line arrays into entry; entry owns the copies. */
static int s_claim_copy(remit_claim_t *entry, const claim_t *claim,
                        const interp_decision_t *decision)
{
    uint32_t count = decision->line_count;
    size_t claim_bytes = (count ? count : 1) * sizeof(claim_line_t);
    size_t decision_bytes = (count ? count : 1) * sizeof(interp_line_t);
    claim_line_t *claim_lines = settle_malloc(claim_bytes);
    interp_line_t *decision_lines = settle_malloc(decision_bytes);
    if (!claim_lines || !decision_lines) {
        settle_free(claim_lines);
        settle_free(decision_lines);
        return SETTLE_ERR_NOMEM;
    }
    memset(entry, 0, sizeof *entry);
    if (count) {
        memcpy(claim_lines, claim->lines, count * sizeof *claim_lines);
        memcpy(decision_lines, decision->lines, count * sizeof *decision_lines);
    }
    entry->kind = claim->kind;
    entry->frequency = claim->frequency;
    memcpy(entry->place_of_service, claim->place_of_service, sizeof entry->place_of_service);
    memcpy(entry->bill_type, claim->bill_type, sizeof entry->bill_type);
    memcpy(entry->member_id, claim->member_id, sizeof entry->member_id);
    memcpy(entry->filing_indicator, "CI", 3);
    entry->responsibility = 'P';
    entry->charge_cents = decision->billed_cents;
    entry->claim_lines = claim_lines;
    entry->decision = *decision;
    entry->decision.lines = decision_lines;
    return SETTLE_OK;
}

int remit_add_claim(remit_t *self, const claim_t *claim, const interp_decision_t *decision,
                    const char *payer_claim_number, remit_claim_t **entry_out,
                    settle_error_t *error)
{
    if (!self || !claim || !decision || !payer_claim_number)
        return settle_error_set(error, SETTLE_ERR_INVALID, "remit_add_claim: bad argument");
    if (strcmp(claim->claim_id, decision->claim_id) != 0 ||
        claim->line_count != decision->line_count || decision->line_count > CLAIM_LINES_MAX ||
        (decision->line_count && !decision->lines))
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "claim %s: the decision (claim %s, %u lines) does not answer it "
                                "(%u lines)",
                                claim->claim_id, decision->claim_id, decision->line_count,
                                claim->line_count);
    size_t number_length = strlen(payer_claim_number);
    if (number_length >= REMIT_REFERENCE_SIZE)
        return settle_error_set(error, SETTLE_ERR_TOO_LONG,
                                "claim %s: payer claim number longer than %d characters",
                                claim->claim_id, REMIT_REFERENCE_SIZE - 1);
    if (self->claim_count >= REMIT_CLAIMS_MAX)
        return settle_error_set(error, SETTLE_ERR_TOO_MANY, "more than %d claims in a remittance",
                                REMIT_CLAIMS_MAX);
    if (s_grow((void **)&self->claims, &self->claim_capacity, self->claim_count,
               sizeof *self->claims) != SETTLE_OK ||
        s_claim_copy(&self->claims[self->claim_count], claim, decision) != SETTLE_OK)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "claim %s: %s", claim->claim_id,
                                settle_strerror(SETTLE_ERR_NOMEM));
    remit_claim_t *entry = &self->claims[self->claim_count++];
    memcpy(entry->payer_claim_number, payer_claim_number, number_length + 1);
    if (entry_out)
        *entry_out = entry;
    return SETTLE_OK;
}

/* Copies a NUL-terminated text into a field; SETTLE_ERR_TOO_LONG when it does not fit. */
static int s_copy_text(char *field, size_t field_size, const char *text)
{
    size_t length = strlen(text);
    if (length >= field_size)
        return SETTLE_ERR_TOO_LONG;
    memcpy(field, text, length + 1);
    return SETTLE_OK;
}

int remit_claim_add_adjustment(remit_claim_t *entry, const char *group, const char *reason,
                               int64_t amount_cents)
{
    if (!entry || !group || !reason)
        return SETTLE_ERR_INVALID;
    if (entry->adjustment_count >= REMIT_CLAIM_ADJUSTMENTS_MAX)
        return SETTLE_ERR_TOO_MANY;
    interp_adjustment_t adjustment = {.amount_cents = amount_cents};
    if (s_copy_text(adjustment.group, sizeof adjustment.group, group) != SETTLE_OK ||
        s_copy_text(adjustment.reason, sizeof adjustment.reason, reason) != SETTLE_OK)
        return SETTLE_ERR_TOO_LONG;
    entry->adjustments[entry->adjustment_count++] = adjustment;
    return SETTLE_OK;
}

int remit_add_plb(remit_t *self, const char *reason, const char *reference, int64_t amount_cents)
{
    if (!self || !reason || !reference)
        return SETTLE_ERR_INVALID;
    remit_plb_t plb = {.amount_cents = amount_cents};
    if (s_copy_text(plb.reason, sizeof plb.reason, reason) != SETTLE_OK ||
        s_copy_text(plb.reference, sizeof plb.reference, reference) != SETTLE_OK)
        return SETTLE_ERR_TOO_LONG;
    if (self->plb_count >= REMIT_PLBS_MAX)
        return SETTLE_ERR_TOO_MANY;
    if (s_grow((void **)&self->plbs, &self->plb_capacity, self->plb_count, sizeof *self->plbs) !=
        SETTLE_OK)
        return SETTLE_ERR_NOMEM;
    self->plbs[self->plb_count++] = plb;
    return SETTLE_OK;
}

int remit_payment_due(const remit_t *self, int64_t *total_out)
{
    if (!self || !total_out)
        return SETTLE_ERR_INVALID;
    int64_t total = 0;
    for (uint32_t i = 0; i < self->claim_count; i++)
        if (money_add(total, self->claims[i].decision.paid_cents, &total) != SETTLE_OK)
            return SETTLE_ERR_OVERFLOW;
    for (uint32_t i = 0; i < self->plb_count; i++)
        if (money_sub(total, self->plbs[i].amount_cents, &total) != SETTLE_OK)
            return SETTLE_ERR_OVERFLOW;
    *total_out = total;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Balancing
 * ------------------------------------------------------------------------ */

/* Sum of amount_cents over adjustments[0..count) into *sum (added to it). */
static int s_add_adjustments(const interp_adjustment_t *adjustments, uint32_t count, int64_t *sum)
{
    for (uint32_t i = 0; i < count; i++)
        if (money_add(*sum, adjustments[i].amount_cents, sum) != SETTLE_OK)
            return SETTLE_ERR_OVERFLOW;
    return SETTLE_OK;
}

/* Reports two amounts that should be equal and are not. */
static int s_unbalanced(settle_error_t *error, const char *where, const char *left_name,
                        int64_t left, const char *right_name, int64_t right)
{
    char left_text[MONEY_TEXT_SIZE], right_text[MONEY_TEXT_SIZE];
    money_format(left, left_text, sizeof left_text);
    money_format(right, right_text, sizeof right_text);
    settle_error_expect(error, "%s == %s", left_name, right_name);
    return settle_error_set(error, SETTLE_ERR_RANGE, "%s: %s = %s but %s = %s", where, left_name,
                            left_text, right_name, right_text);
}

static int s_overflow(settle_error_t *error, const char *where)
{
    return settle_error_set(error, SETTLE_ERR_OVERFLOW, "%s: amounts too large to add up", where);
}

/* The line rule for every line of one claim; adds the lines' adjustments
 * and paid amounts to *adjusted and *paid for the claim rules. */
static int s_check_lines(const remit_claim_t *entry, const char *where, int64_t *adjusted,
                         int64_t *paid, settle_error_t *error)
{
    char line_where[160];
    for (uint32_t i = 0; i < entry->decision.line_count; i++) {
        const interp_line_t *line = &entry->decision.lines[i];
        snprintf(line_where, sizeof line_where, "%s, line %u", where, line->line);
        int64_t line_adjusted = 0, left;
        if (line->adjustment_count > INTERP_ADJUSTMENTS_MAX)
            return settle_error_set(error, SETTLE_ERR_RANGE, "%s: %u adjustments", line_where,
                                    line->adjustment_count);
        if (s_add_adjustments(line->adjustments, line->adjustment_count, &line_adjusted) ||
            money_sub(line->billed_cents, line_adjusted, &left) ||
            money_add(*adjusted, line_adjusted, adjusted) ||
            money_add(*paid, line->paid_cents, paid))
            return s_overflow(error, line_where);
        if (left != line->paid_cents)
            return s_unbalanced(error, line_where, "charge - adjustments", left, "paid",
                                line->paid_cents);
    }
    return SETTLE_OK;
}

/* The line and claim rules for one claim. */
static int s_check_claim(const remit_t *self, uint32_t index, settle_error_t *error)
{
    const remit_claim_t *entry = &self->claims[index];
    char where[128];
    snprintf(where, sizeof where, "claim %s (%u of %u)", entry->decision.claim_id, index + 1,
             self->claim_count);
    int64_t adjusted = 0, lines_paid = 0, claim_adjusted = 0, left, from_lines;
    int rc = s_check_lines(entry, where, &adjusted, &lines_paid, error);
    if (rc != SETTLE_OK)
        return rc;
    if (entry->adjustment_count > REMIT_CLAIM_ADJUSTMENTS_MAX)
        return settle_error_set(error, SETTLE_ERR_RANGE, "%s: %u claim adjustments", where,
                                entry->adjustment_count);
    if (s_add_adjustments(entry->adjustments, entry->adjustment_count, &claim_adjusted) ||
        money_add(adjusted, claim_adjusted, &adjusted) ||
        money_sub(entry->charge_cents, adjusted, &left) ||
        money_sub(lines_paid, claim_adjusted, &from_lines))
        return s_overflow(error, where);
    if (left != entry->decision.paid_cents)
        return s_unbalanced(error, where, "charge - adjustments", left, "paid",
                            entry->decision.paid_cents);
    if (from_lines != entry->decision.paid_cents)
        return s_unbalanced(error, where, "line paid - claim adjustments", from_lines, "paid",
                            entry->decision.paid_cents);
    return SETTLE_OK;
}

int remit_check_balance(const remit_t *self, settle_error_t *error)
{
    if (!self)
        return settle_error_set(error, SETTLE_ERR_INVALID, "remit_check_balance: no remittance");
    for (uint32_t i = 0; i < self->claim_count; i++) {
        int rc = s_check_claim(self, i, error);
        if (rc != SETTLE_OK)
            return rc;
    }
    int64_t due;
    if (remit_payment_due(self, &due) != SETTLE_OK)
        return s_overflow(error, "payment");
    if (due != self->payment_cents)
        return s_unbalanced(error, "payment", "claims paid - provider adjustments", due,
                            "payment total", self->payment_cents);
    return SETTLE_OK;
}
