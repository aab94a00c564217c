/*
 * claim.c - the canonical claim record: its line array, bounded text
 * fields, and the checks every well-formed claim passes.
 */
#include "settle/claim.h"

#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"

claim_t *claim_new(void)
{
    claim_t *self = settle_calloc(1, sizeof *self);
    if (self)
        claim_reset(self);
    return self;
}

void claim_destroy(claim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    claim_t *self = *self_p;
    settle_free(self->lines);
    settle_free(self->cob);
    settle_free(self);
    *self_p = NULL;
}

void claim_reset(claim_t *self)
{
    claim_line_t *lines = self->lines;
    uint32_t capacity = self->line_capacity;
    claim_cob_t *cob = self->cob;
    uint32_t cob_capacity = self->cob_capacity;
    memset(self, 0, sizeof *self);
    self->lines = lines;
    self->line_capacity = capacity;
    self->cob = cob;
    self->cob_capacity = cob_capacity;
    self->kind = CLAIM_KIND_PROFESSIONAL;
    self->frequency = CLAIM_FREQUENCY_ORIGINAL;
    self->patient_sex = CLAIM_SEX_UNKNOWN;
    self->patient_birth_date = DATE_NONE;
    self->created = DATE_NONE;
}

int claim_reserve_lines(claim_t *self, uint32_t count)
{
    if (count > CLAIM_LINES_MAX)
        return SETTLE_ERR_TOO_MANY;
    if (count <= self->line_capacity)
        return SETTLE_OK;
    claim_line_t *lines = settle_realloc(self->lines, (size_t)count * sizeof *lines);
    if (!lines)
        return SETTLE_ERR_NOMEM;
    self->lines = lines;
    self->line_capacity = count;
    return SETTLE_OK;
}

int claim_add_line(claim_t *self, claim_line_t **line_out)
{
    if (self->line_count >= CLAIM_LINES_MAX)
        return SETTLE_ERR_TOO_MANY;
    if (self->line_count == self->line_capacity) {
        uint32_t grown = self->line_capacity ? self->line_capacity * 2 : 8;
        int rc = claim_reserve_lines(self, grown < CLAIM_LINES_MAX ? grown : CLAIM_LINES_MAX);
        if (rc != SETTLE_OK)
            return rc;
    }
    claim_line_t *line = &self->lines[self->line_count++];
    memset(line, 0, sizeof *line);
    line->service_from = DATE_NONE;
    line->service_to = DATE_NONE;
    line->patient_age = CLAIM_AGE_NONE;
    *line_out = line;
    return SETTLE_OK;
}

int claim_copy(claim_t *dst, const claim_t *src)
{
    claim_reset(dst);
    int rc = claim_reserve_lines(dst, src->line_count);
    if (rc == SETTLE_OK)
        rc = claim_reserve_cob(dst, src->cob_count);
    if (rc != SETTLE_OK)
        return rc;
    claim_line_t *lines = dst->lines;
    uint32_t line_capacity = dst->line_capacity;
    claim_cob_t *cob = dst->cob;
    uint32_t cob_capacity = dst->cob_capacity;
    *dst = *src;
    dst->lines = lines;
    dst->line_capacity = line_capacity;
    dst->cob = cob;
    dst->cob_capacity = cob_capacity;
    if (src->line_count)
        memcpy(lines, src->lines, src->line_count * sizeof *lines);
    if (src->cob_count)
        memcpy(cob, src->cob, src->cob_count * sizeof *cob);
    return SETTLE_OK;
}

int claim_reserve_cob(claim_t *self, uint32_t count)
{
    if (count > CLAIM_COB_MAX)
        return SETTLE_ERR_TOO_MANY;
    if (count <= self->cob_capacity)
        return SETTLE_OK;
    claim_cob_t *cob = settle_realloc(self->cob, (size_t)count * sizeof *cob);
    if (!cob)
        return SETTLE_ERR_NOMEM;
    self->cob = cob;
    self->cob_capacity = count;
    return SETTLE_OK;
}

int claim_add_cob(claim_t *self, claim_cob_t **cob_out)
{
    if (self->cob_count >= CLAIM_COB_MAX)
        return SETTLE_ERR_TOO_MANY;
    if (self->cob_count == self->cob_capacity) {
        uint32_t grown = self->cob_capacity ? self->cob_capacity * 2 : 8;
        int rc = claim_reserve_cob(self, grown < CLAIM_COB_MAX ? grown : CLAIM_COB_MAX);
        if (rc != SETTLE_OK)
            return rc;
    }
    claim_cob_t *cob = &self->cob[self->cob_count++];
    memset(cob, 0, sizeof *cob);
    *cob_out = cob;
    return SETTLE_OK;
}

/* The CAS01 group codes of X12 5010. */
static bool s_group_ok(const char *group)
{
    static const char *const groups[] = {"CO", "PR", "OA", "PI", "CR"};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(group, groups[i]) == 0)
            return true;
    return false;
}

bool claim_cob_ok(const claim_cob_t *cob, uint32_t line_count, uint8_t other_payer_count)
{
    if (cob->payer < 1 || cob->payer > other_payer_count || cob->line > line_count ||
        strnlen(cob->group, sizeof cob->group) == sizeof cob->group ||
        strnlen(cob->reason, sizeof cob->reason) == sizeof cob->reason)
        return false;
    if (cob->kind == CLAIM_COB_LINE_PAID)
        return cob->line >= 1 && !cob->group[0] && !cob->reason[0];
    if (cob->kind != CLAIM_COB_ADJUSTMENT || !s_group_ok(cob->group) || !cob->reason[0])
        return false;
    for (const char *c = cob->reason; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z')))
            return false;
    return true;
}

int claim_set_text(char *field, size_t field_size, const char *text, size_t length)
{
    if (length >= field_size)
        return SETTLE_ERR_TOO_LONG;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
            return SETTLE_ERR_INVALID;
    memcpy(field, text, length);
    field[length] = '\0';
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

static bool s_all_digits(const char *text, size_t count)
{
    if (strlen(text) != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

bool claim_npi_check_digit_ok(const char *npi)
{
    if (!npi || !s_all_digits(npi, 10))
        return false;
    /* Luhn over "80840" + the first nine digits: doubling starts with the
     * rightmost of those, the constant 24 stands for the prefix's share. */
    int sum = 24;
    for (int i = 8; i >= 0; i--) {
        int digit = npi[i] - '0';
        if ((8 - i) % 2 == 0) {
            digit *= 2;
            if (digit > 9)
                digit -= 9;
        }
        sum += digit;
    }
    return (10 - sum % 10) % 10 == npi[9] - '0';
}

#define s_fail(error, ...) settle_error_set((error), SETTLE_ERR_INVALID, __VA_ARGS__)

static int s_validate_header(const claim_t *self, settle_error_t *error)
{
    if (self->kind != CLAIM_KIND_PROFESSIONAL && self->kind != CLAIM_KIND_INSTITUTIONAL)
        return s_fail(error, "kind: must be professional or institutional");
    if (!self->claim_id[0])
        return settle_error_set(error, SETTLE_ERR_MISSING, "claim_id: missing");
    if (!self->payer_id[0])
        return settle_error_set(error, SETTLE_ERR_MISSING, "payer_id: missing");
    if (!self->member_id[0])
        return settle_error_set(error, SETTLE_ERR_MISSING, "member_id: missing");
    if (!s_all_digits(self->billing_npi, 10))
        return s_fail(error, "billing_npi: \"%s\" is not ten digits", self->billing_npi);
    if (self->rendering_npi[0] && !s_all_digits(self->rendering_npi, 10))
        return s_fail(error, "rendering_npi: \"%s\" is not ten digits", self->rendering_npi);
    if (self->frequency < 1 || self->frequency > 9)
        return s_fail(error, "frequency: %u is not a frequency code 1..9", self->frequency);
    if ((self->frequency == CLAIM_FREQUENCY_REPLACEMENT ||
         self->frequency == CLAIM_FREQUENCY_VOID) &&
        !self->original_claim_number[0])
        return settle_error_set(error, SETTLE_ERR_MISSING,
                                "original_claim_number: missing on a frequency %u claim",
                                self->frequency);
    if (self->patient_sex != CLAIM_SEX_FEMALE && self->patient_sex != CLAIM_SEX_MALE &&
        self->patient_sex != CLAIM_SEX_UNKNOWN)
        return s_fail(error, "patient sex: must be F, M or U");
    if (self->total_charge_cents < 0)
        return s_fail(error, "total_charge_cents: negative");
    if (self->diagnosis_count > CLAIM_DIAGNOSES_MAX)
        return settle_error_set(error, SETTLE_ERR_TOO_MANY, "diagnoses: more than %d",
                                CLAIM_DIAGNOSES_MAX);
    if (self->other_payer_count > CLAIM_OTHER_PAYERS_MAX)
        return settle_error_set(error, SETTLE_ERR_TOO_MANY, "other_payers: more than %d",
                                CLAIM_OTHER_PAYERS_MAX);
    return SETTLE_OK;
}

static int s_validate_line(const claim_t *self, uint32_t index, settle_error_t *error)
{
    const claim_line_t *line = &self->lines[index];
    unsigned number = index + 1;
    if (!line->procedure_code[0] && !line->revenue_code[0])
        return settle_error_set(error, SETTLE_ERR_MISSING,
                                "line %u: neither a procedure code nor a revenue code", number);
    if (line->units_milli <= 0)
        return s_fail(error, "line %u: units must be positive", number);
    if (line->charge_cents < 0)
        return s_fail(error, "line %u: charge is negative", number);
    int year, month, day;
    if (line->service_from == DATE_NONE || line->service_to == DATE_NONE)
        return settle_error_set(error, SETTLE_ERR_MISSING, "line %u: service date missing", number);
    date_to_ymd(line->service_from, &year, &month, &day);
    if (year < DATE_YEAR_MIN || year > DATE_YEAR_MAX || line->service_to < line->service_from)
        return s_fail(error, "line %u: service dates out of order or out of range", number);
    for (int i = 0; i < CLAIM_POINTERS_MAX; i++)
        if (line->diagnosis_pointers[i] > self->diagnosis_count)
            return s_fail(error, "line %u: diagnosis pointer %u, but the claim has %u diagnoses",
                          number, line->diagnosis_pointers[i], self->diagnosis_count);
    return SETTLE_OK;
}

int claim_validate(const claim_t *self, settle_error_t *error)
{
    int rc = s_validate_header(self, error);
    if (rc != SETTLE_OK)
        return rc;
    if (self->line_count == 0)
        return settle_error_set(error, SETTLE_ERR_MISSING, "lines: a claim needs at least one");
    if (self->line_count > CLAIM_LINES_MAX)
        return settle_error_set(error, SETTLE_ERR_TOO_MANY, "lines: more than %d", CLAIM_LINES_MAX);
    int64_t sum = 0;
    for (uint32_t i = 0; i < self->line_count; i++) {
        rc = s_validate_line(self, i, error);
        if (rc != SETTLE_OK)
            return rc;
        if (money_add(sum, self->lines[i].charge_cents, &sum) != SETTLE_OK)
            return settle_error_set(error, SETTLE_ERR_OVERFLOW, "lines: charges overflow");
    }
    for (uint32_t i = 0; i < self->cob_count; i++)
        if (!claim_cob_ok(&self->cob[i], self->line_count, self->other_payer_count))
            return s_fail(error,
                          "cob[%u]: not a well-formed adjustment or line payment of "
                          "other payer %u on line %u",
                          i, self->cob[i].payer, self->cob[i].line);
    if (sum != self->total_charge_cents) {
        char total[MONEY_TEXT_SIZE], lines[MONEY_TEXT_SIZE];
        money_format(self->total_charge_cents, total, sizeof total);
        money_format(sum, lines, sizeof lines);
        return s_fail(error, "total charge %s is not the sum of the line charges %s", total, lines);
    }
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Equality
 * ------------------------------------------------------------------------ */

/* Compares the fixed part field by field: padding bytes after a string's NUL
 * may differ between two equal claims, so memcmp of the record is not enough. */
static bool s_header_equal(const claim_t *a, const claim_t *b)
{
    if (a->kind != b->kind || a->frequency != b->frequency ||
        a->patient_birth_date != b->patient_birth_date || a->patient_sex != b->patient_sex ||
        a->created != b->created || a->phi_size != b->phi_size ||
        memcmp(a->phi, b->phi, a->phi_size) != 0 ||
        a->total_charge_cents != b->total_charge_cents ||
        a->diagnosis_count != b->diagnosis_count || a->other_payer_count != b->other_payer_count ||
        a->line_count != b->line_count)
        return false;
    const char *fields_a[] = {a->claim_id,
                              a->payer_id,
                              a->billing_npi,
                              a->rendering_npi,
                              a->member_id,
                              a->original_claim_number,
                              a->prior_authorization,
                              a->place_of_service,
                              a->bill_type,
                              a->patient.last_name,
                              a->patient.first_name,
                              a->patient.middle_name,
                              a->patient.address_1,
                              a->patient.address_2,
                              a->patient.city,
                              a->patient.state,
                              a->patient.postal_code};
    const char *fields_b[] = {b->claim_id,
                              b->payer_id,
                              b->billing_npi,
                              b->rendering_npi,
                              b->member_id,
                              b->original_claim_number,
                              b->prior_authorization,
                              b->place_of_service,
                              b->bill_type,
                              b->patient.last_name,
                              b->patient.first_name,
                              b->patient.middle_name,
                              b->patient.address_1,
                              b->patient.address_2,
                              b->patient.city,
                              b->patient.state,
                              b->patient.postal_code};
    for (size_t i = 0; i < sizeof fields_a / sizeof fields_a[0]; i++)
        if (strcmp(fields_a[i], fields_b[i]) != 0)
            return false;
    for (unsigned i = 0; i < a->diagnosis_count && i < CLAIM_DIAGNOSES_MAX; i++)
        if (strcmp(a->diagnoses[i], b->diagnoses[i]) != 0)
            return false;
    for (unsigned i = 0; i < a->other_payer_count && i < CLAIM_OTHER_PAYERS_MAX; i++) {
        const claim_other_payer_t *x = &a->other_payers[i], *y = &b->other_payers[i];
        if (strcmp(x->payer_id, y->payer_id) != 0 || x->responsibility != y->responsibility ||
            x->paid_cents != y->paid_cents)
            return false;
    }
    return true;
}

static bool s_line_equal(const claim_line_t *x, const claim_line_t *y)
{
    if (strcmp(x->procedure_code, y->procedure_code) != 0 ||
        strcmp(x->revenue_code, y->revenue_code) != 0 || strcmp(x->ndc, y->ndc) != 0 ||
        strcmp(x->place_of_service, y->place_of_service) != 0 || x->units_milli != y->units_milli ||
        x->charge_cents != y->charge_cents || x->service_from != y->service_from ||
        x->service_to != y->service_to || x->patient_age != y->patient_age ||
        memcmp(x->diagnosis_pointers, y->diagnosis_pointers, sizeof x->diagnosis_pointers) != 0)
        return false;
    for (int i = 0; i < CLAIM_MODIFIERS_MAX; i++)
        if (strcmp(x->modifiers[i], y->modifiers[i]) != 0)
            return false;
    return true;
}

static bool s_cob_equal(const claim_cob_t *x, const claim_cob_t *y)
{
    return x->kind == y->kind && x->payer == y->payer && x->line == y->line &&
           strcmp(x->group, y->group) == 0 && strcmp(x->reason, y->reason) == 0 &&
           x->amount_cents == y->amount_cents;
}

bool claim_equal(const claim_t *a, const claim_t *b)
{
    if (!s_header_equal(a, b) || a->cob_count != b->cob_count)
        return false;
    for (uint32_t i = 0; i < a->cob_count; i++)
        if (!s_cob_equal(&a->cob[i], &b->cob[i]))
            return false;
    for (uint32_t i = 0; i < a->line_count; i++)
        if (!s_line_equal(&a->lines[i], &b->lines[i]))
            return false;
    return true;
}
