/*
 * fhir_claim_items.c - the FHIR Claim reader's diagnoses and items: a
 * Claim's diagnosis[] and item[] mapped to the canonical claim's diagnoses
 * and lines.
 *
 * Split from fhir_claim.c, which maps the rest of the Claim and walks the
 * document; the reader's state and these two entry points are declared in
 * the private header fhir_read.h.  The field map for diagnoses and items
 * (sequence order, ICD-10-CM without its dot, productOrService, modifier,
 * revenue, servicedDate or servicedPeriod, quantity, net or unitPrice x
 * quantity, locationCodeableConcept, diagnosisSequence, the NDC of a
 * detail) is described at the top of fhir_claim.c.
 */
#include <string.h>

#include "settle/date.h"
#include "settle/money.h"

#include "fhir_read.h"

static const char *const s_procedure_systems[] = {
    FHIR_SYSTEM_CPT,
    "urn:oid:2.16.840.1.113883.6.12",
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
    FHIR_SYSTEM_HCPCS,
    "urn:oid:2.16.840.1.113883.6.285",
    NULL};
static const char *const s_icd10_systems[] = {FHIR_SYSTEM_ICD10_CM, NULL};
static const char *const s_ndc_systems[] = {FHIR_SYSTEM_NDC, NULL};

/* ------------------------------------------------------------------------
 * Diagnoses
 * ------------------------------------------------------------------------ */

/* An ICD-10-CM code without its dot: a letter, then two to six letters or
 * digits, a dot allowed only after the third character. */
static bool s_icd10_strip(const json_t *code, char *out, size_t size)
{
    const char *text = json_string_value(code);
    size_t length = json_string_length(code), n = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == '.' && i == 3 && i + 1 < length)
            continue;
        bool upper = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
        if ((i == 0 && !upper) || (!upper && !digit) || n + 1 >= size)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n >= 3 && n <= 7;
}

/* The sequence of a diagnosis (or an item's diagnosisSequence entry):
 * a whole number 1..255. */
static int s_read_sequence(fhir_claim_reader_t *r, const json_t *value, const char *key,
                           uint8_t *sequence_out)
{
    if (!json_is_integer(value) || json_integer_value(value) < 1 ||
        json_integer_value(value) > UINT8_MAX)
        return fhir_fail(&r->cursor, value, key, value ? SETTLE_ERR_RANGE : SETTLE_ERR_MISSING,
                         "expected a sequence number 1..%d", UINT8_MAX);
    *sequence_out = (uint8_t)json_integer_value(value);
    return SETTLE_OK;
}

/* Inserts a diagnosis in sequence order; a repeated sequence is an error. */
static int s_insert_diagnosis(fhir_claim_reader_t *r, const json_t *at, uint8_t sequence,
                              const char *code)
{
    claim_t *claim = r->claim;
    unsigned slot = claim->diagnosis_count;
    while (slot > 0 && r->diagnosis_sequences[slot - 1] >= sequence) {
        if (r->diagnosis_sequences[slot - 1] == sequence)
            return fhir_fail(&r->cursor, at, "sequence", SETTLE_ERR_INVALID, "%u is used twice",
                             sequence);
        slot--;
    }
    for (unsigned k = claim->diagnosis_count; k > slot; k--) {
        r->diagnosis_sequences[k] = r->diagnosis_sequences[k - 1];
        memcpy(claim->diagnoses[k], claim->diagnoses[k - 1], CLAIM_DIAGNOSIS_SIZE);
    }
    r->diagnosis_sequences[slot] = sequence;
    memcpy(claim->diagnoses[slot], code, CLAIM_DIAGNOSIS_SIZE);
    claim->diagnosis_count++;
    return SETTLE_OK;
}

static int s_map_diagnosis(fhir_claim_reader_t *r, const json_t *diagnosis)
{
    const json_t *code;
    uint8_t sequence = 0;
    char stripped[CLAIM_DIAGNOSIS_SIZE] = {0};
    if (!json_is_object(diagnosis))
        return fhir_fail(&r->cursor, diagnosis, NULL, SETTLE_ERR_SYNTAX, "expected an object");
    if (json_object_get(diagnosis, "diagnosisReference") &&
        !json_object_get(diagnosis, "diagnosisCodeableConcept"))
        return fhir_fail(
            &r->cursor, diagnosis, "diagnosisReference", SETTLE_ERR_INVALID,
            "not supported; expected diagnosisCodeableConcept with an ICD-10-CM coding");
    int rc = s_read_sequence(r, json_object_get(diagnosis, "sequence"), "sequence", &sequence);
    if (rc == SETTLE_OK)
        rc = fhir_concept_code(&r->cursor, diagnosis, "diagnosisCodeableConcept", s_icd10_systems,
                               true, &code);
    if (rc == SETTLE_OK && !s_icd10_strip(code, stripped, sizeof stripped))
        rc = fhir_fail(&r->cursor, code, "diagnosisCodeableConcept", SETTLE_ERR_SYNTAX,
                       "\"%s\" is not an ICD-10-CM code", FHIR_SHOW(code));
    if (rc == SETTLE_OK)
        rc = s_insert_diagnosis(r, diagnosis, sequence, stripped);
    return rc;
}

int fhir_claim_map_diagnoses(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *list, *diagnosis;
    size_t i;
    int rc = fhir_get(&r->cursor, resource, "diagnosis", JSON_ARRAY, false, &list);
    if (rc == SETTLE_OK && json_array_size(list) > CLAIM_DIAGNOSES_MAX)
        return fhir_fail(&r->cursor, list, "diagnosis", SETTLE_ERR_TOO_MANY, "more than %d entries",
                         CLAIM_DIAGNOSES_MAX);
    json_array_foreach(list, i, diagnosis)
    {
        size_t saved = fhir_push_key(&r->cursor, "diagnosis");
        fhir_push_index(&r->cursor, i);
        rc = s_map_diagnosis(r, diagnosis);
        fhir_pop(&r->cursor, saved);
        if (rc != SETTLE_OK)
            break;
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Items
 * ------------------------------------------------------------------------ */

/* An NDC as eleven digits 5-4-2: given so, or as 4-4-2, 5-3-2 or 5-4-1
 * with hyphens, each part padded on the left with zeros. */
static bool s_ndc_normalize(const json_t *code, char *out)
{
    static const size_t widths[3] = {5, 4, 2};
    const char *text = json_string_value(code);
    size_t length = json_string_length(code), parts[3] = {0}, part = 0, start[3] = {0};
    bool hyphens = memchr(text, '-', length) != NULL;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '-' && hyphens && part < 2) {
            start[++part] = i + 1;
            continue;
        }
        if (text[i] < '0' || text[i] > '9')
            return false;
        parts[part]++;
    }
    if (!hyphens) {
        if (length != 11)
            return false;
        memcpy(out, text, 11);
        out[11] = '\0';
        return true;
    }
    size_t n = 0, short_parts = 0;
    for (size_t p = 0; p < 3; p++) {
        if (parts[p] == 0 || parts[p] > widths[p] || (p < 2 && part < 2))
            return false;
        short_parts += parts[p] < widths[p];
        for (size_t pad = parts[p]; pad < widths[p]; pad++)
            out[n++] = '0';
        memcpy(out + n, text + start[p], parts[p]);
        n += parts[p];
    }
    out[n] = '\0';
    return short_parts <= 1 && parts[0] + parts[1] + parts[2] >= 10;
}

static int s_map_item_ndc(fhir_claim_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *details, *detail, *code = NULL;
    size_t i;
    int rc = fhir_get(&r->cursor, item, "detail", JSON_ARRAY, false, &details);
    json_array_foreach(details, i, detail)
    {
        size_t saved = fhir_push_key(&r->cursor, "detail");
        fhir_push_index(&r->cursor, i);
        rc = fhir_concept_code(&r->cursor, detail, "productOrService", s_ndc_systems, false, &code);
        if (rc == SETTLE_OK && code && !s_ndc_normalize(code, line->ndc))
            rc = fhir_fail(&r->cursor, code, "productOrService", SETTLE_ERR_SYNTAX,
                           "\"%s\" is not an NDC; expected 11 digits, or 10 as 4-4-2, 5-3-2 or "
                           "5-4-1",
                           FHIR_SHOW(code));
        fhir_pop(&r->cursor, saved);
        if (rc != SETTLE_OK || code)
            break;
    }
    return rc;
}

/* A code from a CodeableConcept into a claim field, checked by length and
 * by being digits when digits is nonzero (the exact count it must have). */
static int s_map_code(fhir_claim_reader_t *r, const json_t *object, const char *key,
                      const char *const *systems, char *field, size_t size, size_t digits)
{
    const json_t *code;
    int rc = fhir_concept_code(&r->cursor, object, key, systems, false, &code);
    if (rc != SETTLE_OK || !code)
        return rc;
    const char *text = json_string_value(code);
    size_t length = json_string_length(code);
    bool ok = !digits || length == digits;
    for (size_t i = 0; ok && digits && i < length; i++)
        ok = text[i] >= '0' && text[i] <= '9';
    if (!ok)
        return fhir_fail(&r->cursor, code, key, SETTLE_ERR_SYNTAX, "\"%s\" is not %zu digits",
                         FHIR_SHOW(code), digits);
    return fhir_claim_set_text(r, code, key, field, size);
}

static int s_map_item_codes(fhir_claim_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *modifiers = NULL, *modifier;
    size_t i;
    int rc = s_map_code(r, item, "productOrService", s_procedure_systems, line->procedure_code,
                        sizeof line->procedure_code, 0);
    if (rc == SETTLE_OK)
        rc = s_map_code(r, item, "revenue", NULL, line->revenue_code, sizeof line->revenue_code, 4);
    if (rc == SETTLE_OK && !line->procedure_code[0] && !line->revenue_code[0])
        return fhir_fail(&r->cursor, item, "productOrService", SETTLE_ERR_MISSING,
                         "expected a CPT or HCPCS coding (or a revenue code)");
    if (rc == SETTLE_OK)
        rc = s_map_code(r, item, "locationCodeableConcept", NULL, line->place_of_service,
                        sizeof line->place_of_service, 2);
    if (rc == SETTLE_OK)
        rc = fhir_get(&r->cursor, item, "modifier", JSON_ARRAY, false, &modifiers);
    if (rc != SETTLE_OK)
        return rc;
    if (json_array_size(modifiers) > CLAIM_MODIFIERS_MAX)
        return fhir_fail(&r->cursor, modifiers, "modifier", SETTLE_ERR_TOO_MANY,
                         "more than %d entries", CLAIM_MODIFIERS_MAX);
    json_array_foreach(modifiers, i, modifier)
    {
        const json_t *code;
        size_t saved = fhir_push_key(&r->cursor, "modifier");
        fhir_push_index(&r->cursor, i);
        if (rc == SETTLE_OK)
            rc = fhir_concept_code_of(&r->cursor, modifier, NULL, true, &code);
        if (rc == SETTLE_OK)
            rc = fhir_claim_set_text(r, code, NULL, line->modifiers[i], sizeof line->modifiers[i]);
        fhir_pop(&r->cursor, saved);
    }
    return rc;
}

static int s_map_item_dates(fhir_claim_reader_t *r, const json_t *item, claim_line_t *line)
{
    bool has_period;
    int rc = fhir_read_date(&r->cursor, item, "servicedDate", false, &line->service_from);
    if (rc != SETTLE_OK)
        return rc;
    if (line->service_from != DATE_NONE) {
        line->service_to = line->service_from;
        return SETTLE_OK;
    }
    rc = fhir_read_period(&r->cursor, item, "servicedPeriod", &has_period, &line->service_from,
                          &line->service_to);
    if (rc == SETTLE_OK && !has_period)
        return fhir_fail(&r->cursor, item, "servicedDate", SETTLE_ERR_MISSING,
                         "missing; expected servicedDate or servicedPeriod");
    return rc;
}

/* units_milli from quantity.value (1 when absent) and charge_cents from
 * net, else from unitPrice x quantity when that is whole cents. */
static int s_map_item_amounts(fhir_claim_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *quantity;
    bool has_units = false, has_net, has_price;
    int64_t price_cents = 0;
    int rc = fhir_get(&r->cursor, item, "quantity", JSON_OBJECT, false, &quantity);
    if (rc == SETTLE_OK && quantity) {
        size_t saved = fhir_push_key(&r->cursor, "quantity");
        rc = fhir_read_decimal(&r->cursor, quantity, "value", 3, "a quantity", &has_units,
                               &line->units_milli);
        if (rc == SETTLE_OK && (!has_units || line->units_milli == 0))
            rc = fhir_fail(&r->cursor, quantity, "value", SETTLE_ERR_RANGE,
                           "expected a positive quantity");
        fhir_pop(&r->cursor, saved);
    }
    if (rc != SETTLE_OK)
        return rc;
    if (!has_units)
        line->units_milli = CLAIM_UNITS_MILLI_PER_UNIT;
    rc = fhir_read_money(&r->cursor, item, "unitPrice", &has_price, &price_cents);
    if (rc == SETTLE_OK)
        rc = fhir_read_money(&r->cursor, item, "net", &has_net, &line->charge_cents);
    if (rc != SETTLE_OK || has_net)
        return rc;
    if (!has_price)
        return fhir_fail(&r->cursor, item, "net", SETTLE_ERR_MISSING,
                         "missing, and no unitPrice to compute it");
    int64_t down, up;
    if (money_muldiv(price_cents, line->units_milli, CLAIM_UNITS_MILLI_PER_UNIT, MONEY_ROUND_DOWN,
                     &down) != SETTLE_OK ||
        money_muldiv(price_cents, line->units_milli, CLAIM_UNITS_MILLI_PER_UNIT, MONEY_ROUND_UP,
                     &up) != SETTLE_OK ||
        down != up)
        return fhir_fail(&r->cursor, item, "net", SETTLE_ERR_MISSING,
                         "missing, and unitPrice x quantity is not a whole number of cents");
    line->charge_cents = down;
    return SETTLE_OK;
}

/* diagnosisSequence[] -> 1-based positions in the sorted diagnosis list. */
static int s_map_item_pointers(fhir_claim_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *list, *value;
    size_t i;
    int rc = fhir_get(&r->cursor, item, "diagnosisSequence", JSON_ARRAY, false, &list);
    if (rc == SETTLE_OK && json_array_size(list) > CLAIM_POINTERS_MAX)
        return fhir_fail(&r->cursor, list, "diagnosisSequence", SETTLE_ERR_TOO_MANY,
                         "more than %d entries", CLAIM_POINTERS_MAX);
    json_array_foreach(list, i, value)
    {
        uint8_t sequence = 0, position = 0;
        size_t saved = fhir_push_key(&r->cursor, "diagnosisSequence");
        fhir_push_index(&r->cursor, i);
        if (rc == SETTLE_OK)
            rc = s_read_sequence(r, value, NULL, &sequence);
        for (uint8_t k = 0; k < r->claim->diagnosis_count && !position; k++)
            if (r->diagnosis_sequences[k] == sequence)
                position = (uint8_t)(k + 1);
        if (rc == SETTLE_OK && !position)
            rc = fhir_fail(&r->cursor, value, NULL, SETTLE_ERR_NOT_FOUND,
                           "no diagnosis has sequence %u", sequence);
        fhir_pop(&r->cursor, saved);
        if (rc != SETTLE_OK)
            break;
        line->diagnosis_pointers[i] = position;
    }
    return rc;
}

static int s_map_item(fhir_claim_reader_t *r, const json_t *item)
{
    claim_line_t *line;
    if (!json_is_object(item))
        return fhir_fail(&r->cursor, item, NULL, SETTLE_ERR_SYNTAX, "expected an object");
    if (json_object_get(item, "modifierExtension"))
        return fhir_fail(&r->cursor, item, "modifierExtension", SETTLE_ERR_INVALID,
                         "not understood, so the item cannot be read");
    int rc = claim_add_line(r->claim, &line);
    if (rc != SETTLE_OK)
        return fhir_fail(&r->cursor, item, NULL, rc, "%s", settle_strerror(rc));
    rc = s_map_item_codes(r, item, line);
    if (rc == SETTLE_OK)
        rc = s_map_item_dates(r, item, line);
    if (rc == SETTLE_OK)
        rc = s_map_item_amounts(r, item, line);
    if (rc == SETTLE_OK)
        rc = s_map_item_pointers(r, item, line);
    if (rc == SETTLE_OK)
        rc = s_map_item_ndc(r, item, line);
    return rc;
}

/* Lines from item[]; then, on a professional claim, item[0]'s place of
 * service becomes the claim's and lines keep only one that differs. */
int fhir_claim_map_items(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *items, *item;
    size_t i;
    claim_t *claim = r->claim;
    int rc = fhir_get(&r->cursor, resource, "item", JSON_ARRAY, true, &items);
    if (rc == SETTLE_OK && json_array_size(items) == 0)
        return fhir_fail(&r->cursor, items, "item", SETTLE_ERR_MISSING,
                         "expected at least one item");
    if (rc == SETTLE_OK && json_array_size(items) > CLAIM_LINES_MAX)
        return fhir_fail(&r->cursor, items, "item", SETTLE_ERR_TOO_MANY, "more than %d items",
                         CLAIM_LINES_MAX);
    if (rc == SETTLE_OK && (rc = claim_reserve_lines(claim, (uint32_t)json_array_size(items))))
        return fhir_fail(&r->cursor, items, "item", rc, "%s", settle_strerror(rc));
    json_array_foreach(items, i, item)
    {
        size_t saved = fhir_push_key(&r->cursor, "item");
        fhir_push_index(&r->cursor, i);
        rc = s_map_item(r, item);
        fhir_pop(&r->cursor, saved);
        if (rc != SETTLE_OK)
            return rc;
    }
    if (rc == SETTLE_OK && claim->kind == CLAIM_KIND_PROFESSIONAL) {
        memcpy(claim->place_of_service, claim->lines[0].place_of_service, CLAIM_PLACE_SIZE);
        for (uint32_t k = 0; k < claim->line_count; k++)
            if (strcmp(claim->lines[k].place_of_service, claim->place_of_service) == 0)
                memset(claim->lines[k].place_of_service, 0, CLAIM_PLACE_SIZE);
    }
    return rc;
}
