/*
 * claim_json.c - the canonical JSON form of a claim: writing and strict
 * reading.
 *
 * One table lists the claim's plain text fields with their JSON names; the
 * writer and the reader both walk it, so a field cannot be written under one
 * name and read under another.  The fields that are not plain text (dates,
 * amounts, codes with a fixed set of values, the lists) have a writer and a
 * reader of their own below.
 */
#include "settle/claim_json.h"

#include "settle/hash.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"

typedef struct {
    const char *name;
    size_t offset;
    size_t size;
} s_text_field_t;

#define TEXT_FIELD(type, field)                                                                    \
    {                                                                                              \
#field, offsetof(type, field), sizeof(((type *)0)->field)                                  \
    }

/* In writing order; "format", "kind", "frequency", "patient" and the
 * amounts and lists are placed between them by s_claim_to_json. */
static const s_text_field_t s_claim_ids[] = {
    TEXT_FIELD(claim_t, payer_id), TEXT_FIELD(claim_t, billing_npi),
    TEXT_FIELD(claim_t, rendering_npi), TEXT_FIELD(claim_t, member_id)};
static const s_text_field_t s_claim_references[] = {
    TEXT_FIELD(claim_t, original_claim_number), TEXT_FIELD(claim_t, prior_authorization),
    TEXT_FIELD(claim_t, place_of_service), TEXT_FIELD(claim_t, bill_type)};
static const s_text_field_t s_patient_texts[] = {
    TEXT_FIELD(claim_patient_t, last_name),   TEXT_FIELD(claim_patient_t, first_name),
    TEXT_FIELD(claim_patient_t, middle_name), TEXT_FIELD(claim_patient_t, address_1),
    TEXT_FIELD(claim_patient_t, address_2),   TEXT_FIELD(claim_patient_t, city),
    TEXT_FIELD(claim_patient_t, state),       TEXT_FIELD(claim_patient_t, postal_code)};
static const s_text_field_t s_line_codes[] = {
    TEXT_FIELD(claim_line_t, procedure_code), TEXT_FIELD(claim_line_t, revenue_code),
    TEXT_FIELD(claim_line_t, ndc), TEXT_FIELD(claim_line_t, place_of_service)};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* The oldest patient_age read, in whole years: the bound claim_codec.c
 * checks too (claim.h names no constant for it). */
#define S_AGE_YEARS_MAX CLAIM_AGE_MAX

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

/* Sets key to value (stealing it); a NULL value or a failed set clears *ok. */
static void s_set(json_t *object, const char *key, json_t *value, bool *ok)
{
    if (json_object_set_new(object, key, value) != 0)
        *ok = false;
}

static void s_set_texts(json_t *object, const void *record, const s_text_field_t *fields,
                        size_t count, bool *ok)
{
    for (size_t i = 0; i < count; i++) {
        const char *text = (const char *)record + fields[i].offset;
        if (text[0])
            s_set(object, fields[i].name, json_string(text), ok);
    }
}

static void s_set_date(json_t *object, const char *key, int32_t days, bool *ok)
{
    char text[DATE_TEXT_SIZE];
    if (days == DATE_NONE)
        return;
    if (date_format_iso(days, text, sizeof text) != SETTLE_OK) {
        *ok = false;
        return;
    }
    s_set(object, key, json_string(text), ok);
}

/* The leading entries of a fixed array up to its last one in use. */
static json_t *s_modifiers_json(const claim_line_t *line)
{
    int used = 0;
    for (int i = 0; i < CLAIM_MODIFIERS_MAX; i++)
        if (line->modifiers[i][0])
            used = i + 1;
    json_t *array = json_array();
    for (int i = 0; array && i < used; i++)
        if (json_array_append_new(array, json_string(line->modifiers[i])) != 0)
            json_decref(array), array = NULL;
    return array;
}

static json_t *s_pointers_json(const claim_line_t *line)
{
    int used = 0;
    for (int i = 0; i < CLAIM_POINTERS_MAX; i++)
        if (line->diagnosis_pointers[i])
            used = i + 1;
    json_t *array = json_array();
    for (int i = 0; array && i < used; i++)
        if (json_array_append_new(array, json_integer(line->diagnosis_pointers[i])) != 0)
            json_decref(array), array = NULL;
    return array;
}

static json_t *s_line_json(const claim_line_t *line, uint32_t number, bool *ok)
{
    json_t *object = json_object();
    if (!object) {
        *ok = false;
        return NULL;
    }
    s_set(object, "line", json_integer(number), ok);
    s_set_texts(object, line, s_line_codes, 1, ok);
    json_t *modifiers = s_modifiers_json(line);
    if (modifiers && json_array_size(modifiers) == 0)
        json_decref(modifiers);
    else
        s_set(object, "modifiers", modifiers, ok);
    s_set_texts(object, line, s_line_codes + 1, COUNT(s_line_codes) - 1, ok);
    s_set(object, "units_milli", json_integer(line->units_milli), ok);
    s_set(object, "charge_cents", json_integer(line->charge_cents), ok);
    s_set_date(object, "service_from", line->service_from, ok);
    s_set_date(object, "service_to", line->service_to, ok);
    json_t *pointers = s_pointers_json(line);
    if (pointers && json_array_size(pointers) == 0)
        json_decref(pointers);
    else
        s_set(object, "diagnosis_pointers", pointers, ok);
    if (line->patient_age != CLAIM_AGE_NONE)
        s_set(object, "patient_age", json_integer(line->patient_age), ok);
    return object;
}

static json_t *s_other_payers_json(const claim_t *claim, bool *ok)
{
    json_t *array = json_array();
    for (unsigned i = 0; array && i < claim->other_payer_count; i++) {
        const claim_other_payer_t *payer = &claim->other_payers[i];
        json_t *object = json_object();
        if (!object) {
            *ok = false;
            break;
        }
        char responsibility[2] = {payer->responsibility, '\0'};
        s_set(object, "payer_id", json_string(payer->payer_id), ok);
        if (responsibility[0])
            s_set(object, "responsibility", json_string(responsibility), ok);
        s_set(object, "paid_cents", json_integer(payer->paid_cents), ok);
        if (json_array_append_new(array, object) != 0)
            *ok = false;
    }
    return array;
}

/* The other payers' adjustments and line payments, in the claim's order. */
static json_t *s_cob_json(const claim_t *claim, bool *ok)
{
    json_t *array = json_array();
    for (uint32_t i = 0; array && i < claim->cob_count; i++) {
        const claim_cob_t *cob = &claim->cob[i];
        json_t *object = json_object();
        if (!object) {
            *ok = false;
            break;
        }
        bool paid = cob->kind == CLAIM_COB_LINE_PAID;
        s_set(object, "kind", json_string(paid ? "line_paid" : "adjustment"), ok);
        s_set(object, "payer", json_integer(cob->payer), ok);
        if (cob->line)
            s_set(object, "line", json_integer(cob->line), ok);
        if (!paid) {
            s_set(object, "group", json_string(cob->group), ok);
            s_set(object, "reason", json_string(cob->reason), ok);
        }
        s_set(object, "amount_cents", json_integer(cob->amount_cents), ok);
        if (json_array_append_new(array, object) != 0)
            *ok = false;
    }
    return array;
}

static void s_set_lists(json_t *object, const claim_t *claim, bool *ok)
{
    s_set(object, "total_charge_cents", json_integer(claim->total_charge_cents), ok);
    if (claim->diagnosis_count) {
        json_t *diagnoses = json_array();
        for (unsigned i = 0; diagnoses && i < claim->diagnosis_count; i++)
            if (json_array_append_new(diagnoses, json_string(claim->diagnoses[i])) != 0)
                *ok = false;
        s_set(object, "diagnoses", diagnoses, ok);
    }
    if (claim->other_payer_count)
        s_set(object, "other_payers", s_other_payers_json(claim, ok), ok);
    json_t *lines = json_array();
    for (uint32_t i = 0; lines && i < claim->line_count; i++)
        if (json_array_append_new(lines, s_line_json(&claim->lines[i], i + 1, ok)) != 0)
            *ok = false;
    s_set(object, "lines", lines, ok);
    if (claim->cob_count)
        s_set(object, "cob", s_cob_json(claim, ok), ok);
}

/* The sealed identifiers as lowercase hex, two digits a byte. */
static json_t *s_phi_json(const claim_t *claim)
{
    static const char digits[] = "0123456789abcdef";
    char text[2 * CLAIM_PHI_SIZE_MAX + 1];
    size_t size = claim->phi_size <= CLAIM_PHI_SIZE_MAX ? claim->phi_size : 0;
    for (size_t i = 0; i < size; i++) {
        text[2 * i] = digits[claim->phi[i] >> 4];
        text[2 * i + 1] = digits[claim->phi[i] & 0x0f];
    }
    text[2 * size] = '\0';
    return json_string(text);
}

json_t *claim_to_json(const claim_t *claim)
{
    bool ok = true;
    json_t *object = json_object();
    if (!object)
        return NULL;
    s_set(object, "format", json_string(CLAIM_JSON_FORMAT), &ok);
    s_set(object, "claim_id", json_string(claim->claim_id), &ok);
    s_set(object, "kind",
          json_string(claim->kind == CLAIM_KIND_INSTITUTIONAL ? "institutional" : "professional"),
          &ok);
    s_set(object, "frequency", json_integer(claim->frequency), &ok);
    s_set_date(object, "created", claim->created, &ok);
    s_set_texts(object, claim, s_claim_ids, COUNT(s_claim_ids), &ok);
    json_t *patient = json_object();
    char sex[2] = {claim->patient_sex, '\0'};
    if (patient) {
        s_set_date(patient, "birth_date", claim->patient_birth_date, &ok);
        s_set(patient, "sex", json_string(sex), &ok);
        s_set_texts(patient, &claim->patient, s_patient_texts, COUNT(s_patient_texts), &ok);
    }
    s_set(object, "patient", patient, &ok);
    s_set_texts(object, claim, s_claim_references, COUNT(s_claim_references), &ok);
    s_set_lists(object, claim, &ok);
    if (claim->phi_size > CLAIM_PHI_SIZE_MAX)
        ok = false; /* not a claim the encoding could hold either */
    else if (claim->phi_size)
        s_set(object, "phi", s_phi_json(claim), &ok);
    if (!ok)
        json_decref(object), object = NULL;
    return object;
}

/* True when every date in the claim is absent or can be written. */
static bool s_dates_writable(const claim_t *claim)
{
    char text[DATE_TEXT_SIZE];
    if (claim->patient_birth_date != DATE_NONE &&
        date_format_iso(claim->patient_birth_date, text, sizeof text) != SETTLE_OK)
        return false;
    if (claim->created != DATE_NONE &&
        date_format_iso(claim->created, text, sizeof text) != SETTLE_OK)
        return false;
    for (uint32_t i = 0; i < claim->line_count; i++) {
        const claim_line_t *line = &claim->lines[i];
        if ((line->service_from != DATE_NONE &&
             date_format_iso(line->service_from, text, sizeof text) != SETTLE_OK) ||
            (line->service_to != DATE_NONE &&
             date_format_iso(line->service_to, text, sizeof text) != SETTLE_OK))
            return false;
    }
    return true;
}

int claim_to_json_text(const claim_t *claim, int pretty, char **text_out)
{
    if (!s_dates_writable(claim))
        return SETTLE_ERR_RANGE;
    json_t *object = claim_to_json(claim);
    if (!object)
        return SETTLE_ERR_NOMEM;
    size_t flags = JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    size_t size = json_dumpb(object, NULL, 0, flags);
    char *text = size ? settle_malloc(size + 1) : NULL;
    if (!text) {
        json_decref(object);
        return SETTLE_ERR_NOMEM;
    }
    size_t written = json_dumpb(object, text, size, flags);
    json_decref(object);
    if (written != size) { /* jansson ran out of memory on the second pass */
        settle_free(text);
        return SETTLE_ERR_NOMEM;
    }
    text[size] = '\0';
    *text_out = text;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* Where the reader is: the path prefix of the claim ("claims[3]") and of the
 * object inside it being read ("lines[0]"), for error messages. */
typedef struct {
    const char *claim_path;
    char object_path[32];
    settle_error_t *error;
} s_read_t;

__attribute__((format(printf, 4, 5))) static int s_bad(s_read_t *r, const char *key, int code,
                                                       const char *format, ...)
{
    char reason[SETTLE_ERROR_MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    const char *dot1 = r->claim_path[0] ? "." : "";
    const char *dot2 = r->object_path[0] ? "." : "";
    return settle_error_set(r->error, code, "%s%s%s%s%s: %s", r->claim_path, dot1, r->object_path,
                            dot2, key, reason);
}

static int s_read_text(s_read_t *r, const char *key, const json_t *value, char *field, size_t size)
{
    if (!json_is_string(value))
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected a string");
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    int rc = claim_set_text(field, size, text, length);
    if (rc == SETTLE_ERR_TOO_LONG)
        return s_bad(r, key, rc, "\"%.40s\" is longer than %zu characters", text, size - 1);
    if (rc != SETTLE_OK)
        return s_bad(r, key, rc, "expected printable ASCII characters only");
    return SETTLE_OK;
}

/* Reads the key if it names one of the text fields; 1 when it did not. */
static int s_read_text_field(s_read_t *r, const char *key, const json_t *value, void *record,
                             const s_text_field_t *fields, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(key, fields[i].name) == 0)
            return s_read_text(r, key, value, (char *)record + fields[i].offset, fields[i].size);
    return -1;
}

static int s_read_integer(s_read_t *r, const char *key, const json_t *value, int64_t min,
                          int64_t max, int64_t *out)
{
    if (!json_is_integer(value))
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected an integer");
    json_int_t number = json_integer_value(value);
    if (number < min || number > max)
        return s_bad(r, key, SETTLE_ERR_RANGE, "%lld is outside %lld..%lld", (long long)number,
                     (long long)min, (long long)max);
    *out = number;
    return SETTLE_OK;
}

static int s_read_date(s_read_t *r, const char *key, const json_t *value, int32_t *out)
{
    if (!json_is_string(value))
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected a date as \"CCYY-MM-DD\"");
    const char *text = json_string_value(value);
    int rc = date_parse_iso(text, json_string_length(value), out);
    if (rc != SETTLE_OK)
        return s_bad(r, key, rc, "\"%.40s\" is not a date CCYY-MM-DD", text);
    return SETTLE_OK;
}

/* Reads a one-letter code that must be one of allowed. */
static int s_read_letter(s_read_t *r, const char *key, const json_t *value, const char *allowed,
                         char *out)
{
    const char *text = json_is_string(value) ? json_string_value(value) : NULL;
    if (!text || json_string_length(value) != 1 || !strchr(allowed, text[0]))
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected one of the letters %s", allowed);
    *out = text[0];
    return SETTLE_OK;
}

static int s_read_array(s_read_t *r, const char *key, const json_t *value, size_t max)
{
    if (!json_is_array(value))
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected an array");
    if (json_array_size(value) > max)
        return s_bad(r, key, SETTLE_ERR_TOO_MANY, "more than %zu entries", max);
    return SETTLE_OK;
}

static int s_read_line_lists(s_read_t *r, const char *key, const json_t *value, claim_line_t *line)
{
    size_t i;
    const json_t *item;
    if (strcmp(key, "modifiers") == 0) {
        int rc = s_read_array(r, key, value, CLAIM_MODIFIERS_MAX);
        json_array_foreach(value, i, item) if (rc == SETTLE_OK) rc =
            s_read_text(r, key, item, line->modifiers[i], CLAIM_MODIFIER_SIZE);
        return rc;
    }
    int rc = s_read_array(r, key, value, CLAIM_POINTERS_MAX);
    json_array_foreach(value, i, item)
    {
        int64_t pointer = 0; /* set on success; 0 quiets -O3 */
        if (rc == SETTLE_OK &&
            (rc = s_read_integer(r, key, item, 0, CLAIM_DIAGNOSES_MAX, &pointer)) == SETTLE_OK)
            line->diagnosis_pointers[i] = (uint8_t)pointer;
    }
    return rc;
}

static int s_read_line_field(s_read_t *r, const char *key, const json_t *value, claim_line_t *line,
                             uint32_t number)
{
    int64_t integer = 0;
    int rc = s_read_text_field(r, key, value, line, s_line_codes, COUNT(s_line_codes));
    if (rc >= 0)
        return rc;
    if (strcmp(key, "line") == 0) {
        rc = s_read_integer(r, key, value, number, number, &integer);
    } else if (strcmp(key, "units_milli") == 0) {
        rc = s_read_integer(r, key, value, INT64_MIN, INT64_MAX, &line->units_milli);
    } else if (strcmp(key, "charge_cents") == 0) {
        rc = s_read_integer(r, key, value, INT64_MIN, INT64_MAX, &line->charge_cents);
    } else if (strcmp(key, "service_from") == 0) {
        rc = s_read_date(r, key, value, &line->service_from);
    } else if (strcmp(key, "service_to") == 0) {
        rc = s_read_date(r, key, value, &line->service_to);
    } else if (strcmp(key, "modifiers") == 0 || strcmp(key, "diagnosis_pointers") == 0) {
        rc = s_read_line_lists(r, key, value, line);
    } else if (strcmp(key, "patient_age") == 0) {
        rc = s_read_integer(r, key, value, 0, S_AGE_YEARS_MAX, &integer);
        if (rc == SETTLE_OK)
            line->patient_age = (int16_t)integer;
    } else {
        rc = s_bad(r, key, SETTLE_ERR_UNKNOWN_KEY, "unknown key");
    }
    return rc;
}

static int s_read_line(s_read_t *r, const json_t *object, claim_t *claim)
{
    snprintf(r->object_path, sizeof r->object_path, "lines[%u]", claim->line_count);
    claim_line_t *line;
    int rc = claim_add_line(claim, &line);
    if (rc != SETTLE_OK)
        return s_bad(r, "line", rc, "%s", settle_strerror(rc));
    if (!json_is_object(object))
        return s_bad(r, "line", SETTLE_ERR_SYNTAX, "expected an object");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        rc = s_read_line_field(r, key, value, line, claim->line_count);
        if (rc != SETTLE_OK)
            return rc;
    }
    if (line->service_to == DATE_NONE)
        line->service_to = line->service_from;
    r->object_path[0] = '\0';
    return SETTLE_OK;
}

static int s_read_other_payer(s_read_t *r, const json_t *object, claim_t *claim)
{
    snprintf(r->object_path, sizeof r->object_path, "other_payers[%u]", claim->other_payer_count);
    if (!json_is_object(object))
        return s_bad(r, "payer", SETTLE_ERR_SYNTAX, "expected an object");
    claim_other_payer_t *payer = &claim->other_payers[claim->other_payer_count++];
    const char *key;
    const json_t *value;
    int rc = SETTLE_OK;
    json_object_foreach((json_t *)object, key, value)
    {
        if (strcmp(key, "payer_id") == 0)
            rc = s_read_text(r, key, value, payer->payer_id, sizeof payer->payer_id);
        else if (strcmp(key, "responsibility") == 0)
            rc = s_read_letter(r, key, value, "ABCDEFGHPSTU", &payer->responsibility);
        else if (strcmp(key, "paid_cents") == 0)
            rc = s_read_integer(r, key, value, INT64_MIN, INT64_MAX, &payer->paid_cents);
        else
            rc = s_bad(r, key, SETTLE_ERR_UNKNOWN_KEY, "unknown key");
        if (rc != SETTLE_OK)
            return rc;
    }
    r->object_path[0] = '\0';
    return SETTLE_OK;
}

static int s_read_patient(s_read_t *r, const json_t *object, claim_t *claim)
{
    snprintf(r->object_path, sizeof r->object_path, "patient");
    if (!json_is_object(object))
        return s_bad(r, "patient", SETTLE_ERR_SYNTAX, "expected an object");
    const char *key;
    const json_t *value;
    int rc = SETTLE_OK;
    json_object_foreach((json_t *)object, key, value)
    {
        if (strcmp(key, "birth_date") == 0)
            rc = s_read_date(r, key, value, &claim->patient_birth_date);
        else if (strcmp(key, "sex") == 0)
            rc = s_read_letter(r, key, value, "FMU", &claim->patient_sex);
        else if ((rc = s_read_text_field(r, key, value, &claim->patient, s_patient_texts,
                                         COUNT(s_patient_texts))) < 0)
            rc = s_bad(r, key, SETTLE_ERR_UNKNOWN_KEY, "unknown key");
        if (rc != SETTLE_OK)
            return rc;
    }
    r->object_path[0] = '\0';
    return SETTLE_OK;
}

/* "phi": the sealed identifiers, lowercase hex, at most CLAIM_PHI_SIZE_MAX
 * bytes.  Only lowercase is read, so that one claim has one text. */
static int s_read_phi(s_read_t *r, const char *key, const json_t *value, claim_t *claim)
{
    if (!json_is_string(value))
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected the sealed bytes as a hex string");
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    if (length > 2 * (size_t)CLAIM_PHI_SIZE_MAX)
        return s_bad(r, key, SETTLE_ERR_TOO_LONG, "%zu hex digits is more than %d bytes", length,
                     CLAIM_PHI_SIZE_MAX);
    if (length % 2 != 0)
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "%zu hex digits is not a whole number of bytes",
                     length);
    size_t bad = hash_from_hex(text, length, false, claim->phi);
    if (bad < length)
        return s_bad(r, key, SETTLE_ERR_SYNTAX,
                     "character %zu is not a lowercase hex digit (0-9, a-f)", bad + 1);
    claim->phi_size = (uint16_t)(length / 2);
    return SETTLE_OK;
}

static int s_read_kind(s_read_t *r, const char *key, const json_t *value, claim_t *claim)
{
    const char *text = json_is_string(value) ? json_string_value(value) : "";
    if (strcmp(text, "professional") == 0)
        claim->kind = CLAIM_KIND_PROFESSIONAL;
    else if (strcmp(text, "institutional") == 0)
        claim->kind = CLAIM_KIND_INSTITUTIONAL;
    else
        return s_bad(r, key, SETTLE_ERR_SYNTAX, "expected \"professional\" or \"institutional\"");
    return SETTLE_OK;
}

static int s_read_format(s_read_t *r, const char *key, const json_t *value)
{
    if (!json_is_string(value) || strcmp(json_string_value(value), CLAIM_JSON_FORMAT) != 0)
        return s_bad(r, key, SETTLE_ERR_VERSION, "expected \"%s\"", CLAIM_JSON_FORMAT);
    return SETTLE_OK;
}

static int s_read_cob_field(s_read_t *r, const char *key, const json_t *value, claim_cob_t *cob)
{
    int64_t integer = 0;
    int rc;
    if (strcmp(key, "kind") == 0) {
        const char *text = json_is_string(value) ? json_string_value(value) : "";
        cob->kind = strcmp(text, "adjustment") == 0  ? CLAIM_COB_ADJUSTMENT
                    : strcmp(text, "line_paid") == 0 ? CLAIM_COB_LINE_PAID
                                                     : 0;
        return cob->kind
                   ? SETTLE_OK
                   : s_bad(r, key, SETTLE_ERR_SYNTAX, "expected \"adjustment\" or \"line_paid\"");
    } else if (strcmp(key, "payer") == 0) {
        rc = s_read_integer(r, key, value, 1, CLAIM_OTHER_PAYERS_MAX, &integer);
        cob->payer = (uint8_t)integer;
    } else if (strcmp(key, "line") == 0) {
        rc = s_read_integer(r, key, value, 0, CLAIM_LINES_MAX, &integer);
        cob->line = (uint16_t)integer;
    } else if (strcmp(key, "group") == 0) {
        rc = s_read_text(r, key, value, cob->group, sizeof cob->group);
    } else if (strcmp(key, "reason") == 0) {
        rc = s_read_text(r, key, value, cob->reason, sizeof cob->reason);
    } else if (strcmp(key, "amount_cents") == 0) {
        rc = s_read_integer(r, key, value, INT64_MIN, INT64_MAX, &cob->amount_cents);
    } else {
        rc = s_bad(r, key, SETTLE_ERR_UNKNOWN_KEY, "unknown key");
    }
    return rc;
}

/* One record of "cob"; its consistency with the claim is checked by
 * claim_validate once the whole claim is read. */
static int s_read_cob(s_read_t *r, const json_t *object, claim_t *claim)
{
    snprintf(r->object_path, sizeof r->object_path, "cob[%u]", claim->cob_count);
    claim_cob_t *cob;
    int rc = claim_add_cob(claim, &cob);
    if (rc != SETTLE_OK)
        return s_bad(r, "record", rc, "%s", settle_strerror(rc));
    if (!json_is_object(object))
        return s_bad(r, "record", SETTLE_ERR_SYNTAX, "expected an object");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        rc = s_read_cob_field(r, key, value, cob);
        if (rc != SETTLE_OK)
            return rc;
    }
    r->object_path[0] = '\0';
    return SETTLE_OK;
}

static int s_read_claim_lists(s_read_t *r, const char *key, const json_t *value, claim_t *claim)
{
    size_t i;
    const json_t *item;
    int rc;
    if (strcmp(key, "diagnoses") == 0) {
        rc = s_read_array(r, key, value, CLAIM_DIAGNOSES_MAX);
        json_array_foreach(value, i, item) if (rc == SETTLE_OK) rc = s_read_text(
            r, key, item, claim->diagnoses[claim->diagnosis_count++], CLAIM_DIAGNOSIS_SIZE);
    } else if (strcmp(key, "other_payers") == 0) {
        rc = s_read_array(r, key, value, CLAIM_OTHER_PAYERS_MAX);
        json_array_foreach(value, i, item) if (rc == SETTLE_OK) rc =
            s_read_other_payer(r, item, claim);
    } else if (strcmp(key, "cob") == 0) {
        rc = s_read_array(r, key, value, CLAIM_COB_MAX);
        json_array_foreach(value, i, item) if (rc == SETTLE_OK) rc = s_read_cob(r, item, claim);
    } else {
        rc = s_read_array(r, key, value, CLAIM_LINES_MAX);
        if (rc == SETTLE_OK &&
            (rc = claim_reserve_lines(claim, (uint32_t)json_array_size(value))) != SETTLE_OK)
            return s_bad(r, key, rc, "%s", settle_strerror(rc));
        json_array_foreach(value, i, item) if (rc == SETTLE_OK) rc = s_read_line(r, item, claim);
    }
    return rc;
}

static int s_read_claim_field(s_read_t *r, const char *key, const json_t *value, claim_t *claim)
{
    int64_t integer = 0;
    int rc = s_read_text_field(r, key, value, claim, s_claim_ids, COUNT(s_claim_ids));
    if (rc < 0)
        rc = s_read_text_field(r, key, value, claim, s_claim_references, COUNT(s_claim_references));
    if (rc >= 0)
        return rc;
    if (strcmp(key, "format") == 0)
        return s_read_format(r, key, value);
    if (strcmp(key, "claim_id") == 0)
        return s_read_text(r, key, value, claim->claim_id, sizeof claim->claim_id);
    if (strcmp(key, "kind") == 0)
        return s_read_kind(r, key, value, claim);
    if (strcmp(key, "frequency") == 0) {
        rc = s_read_integer(r, key, value, 1, 9, &integer);
        if (rc == SETTLE_OK)
            claim->frequency = (uint8_t)integer;
        return rc;
    }
    if (strcmp(key, "patient") == 0)
        return s_read_patient(r, value, claim);
    if (strcmp(key, "created") == 0)
        return s_read_date(r, key, value, &claim->created);
    if (strcmp(key, "total_charge_cents") == 0)
        return s_read_integer(r, key, value, INT64_MIN, INT64_MAX, &claim->total_charge_cents);
    if (strcmp(key, "phi") == 0)
        return s_read_phi(r, key, value, claim);
    if (strcmp(key, "diagnoses") == 0 || strcmp(key, "other_payers") == 0 ||
        strcmp(key, "lines") == 0 || strcmp(key, "cob") == 0)
        return s_read_claim_lists(r, key, value, claim);
    return s_bad(r, key, SETTLE_ERR_UNKNOWN_KEY, "unknown key");
}

int claim_from_json(const json_t *object, const char *path, claim_t *claim, settle_error_t *error)
{
    s_read_t r = {path ? path : "", "", error};
    claim_reset(claim);
    if (!json_is_object(object))
        return settle_error_set(error, SETTLE_ERR_SYNTAX, "%s%sexpected a claim object",
                                r.claim_path, r.claim_path[0] ? ": " : "");
    if (!json_object_get(object, "format"))
        return s_bad(&r, "format", SETTLE_ERR_MISSING, "missing; expected \"%s\"",
                     CLAIM_JSON_FORMAT);
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        int rc = s_read_claim_field(&r, key, value, claim);
        if (rc != SETTLE_OK)
            return rc;
    }
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

/* The 1-based line of byte offset in text. */
static uint32_t s_line_of(const char *text, size_t offset)
{
    uint32_t line = 1;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* Reads, checks and delivers one claim object found at offset in text. */
static int s_deliver(const json_t *object, const char *path, claim_t *claim, const char *text,
                     size_t offset, int (*each)(const claim_t *, void *), void *context,
                     settle_error_t *error)
{
    int rc = claim_from_json(object, path, claim, error);
    if (rc == SETTLE_OK && (rc = claim_validate(claim, error)) != SETTLE_OK && error) {
        char reason[SETTLE_ERROR_MESSAGE_SIZE];
        snprintf(reason, sizeof reason, "%s", error->message);
        settle_error_set(error, rc, "%s%s%s", path, path[0] ? ": " : "", reason);
    }
    if (rc != SETTLE_OK) {
        settle_error_at_line(error, s_line_of(text, offset), 0);
        return rc;
    }
    return each(claim, context);
}

static size_t s_skip_space(const char *text, size_t length, size_t at)
{
    while (at < length &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
        at++;
    return at;
}

static int s_syntax_error(const json_error_t *json_error, size_t base, const char *text,
                          settle_error_t *error)
{
    size_t at = base + (size_t)(json_error->position > 0 ? json_error->position : 0);
    size_t line_start = at;
    while (line_start > 0 && text[line_start - 1] != '\n')
        line_start--;
    settle_error_at_line(error, s_line_of(text, at), (uint32_t)(at - line_start));
    return settle_error_set(error, SETTLE_ERR_SYNTAX, "invalid JSON: %s", json_error->text);
}

/* A top-level array: each element is a claim. */
static int s_read_array_text(const json_t *array, const char *text, size_t offset, claim_t *claim,
                             int (*each)(const claim_t *, void *), void *context,
                             settle_error_t *error)
{
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item)
    {
        char path[32];
        snprintf(path, sizeof path, "claims[%zu]", i);
        int rc = s_deliver(item, path, claim, text, offset, each, context, error);
        if (rc != SETTLE_OK)
            return rc;
    }
    return SETTLE_OK;
}

int claim_json_read_text(const char *text, size_t length, const char *file,
                         int (*each)(const claim_t *claim, void *context), void *context,
                         settle_error_t *error)
{
    settle_error_file(error, file);
    claim_t *claim = claim_new();
    if (!claim)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "no memory for a claim");
    int rc = SETTLE_OK;
    size_t at = s_skip_space(text, length, 0), count = 0;
    if (at == length)
        rc = settle_error_set(error, SETTLE_ERR_MISSING, "no claims in the file");
    while (rc == SETTLE_OK && at < length) {
        json_error_t json_error;
        json_t *value = json_loadb(text + at, length - at,
                                   JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &json_error);
        if (!value) {
            rc = s_syntax_error(&json_error, at, text, error);
            break;
        }
        if (json_is_array(value)) {
            rc = s_read_array_text(value, text, at, claim, each, context, error);
        } else {
            char path[32] = "";
            if (count > 0 || s_skip_space(text, length, at + (size_t)json_error.position) < length)
                snprintf(path, sizeof path, "claims[%zu]", count);
            rc = s_deliver(value, path, claim, text, at, each, context, error);
        }
        json_decref(value);
        count++;
        at = s_skip_space(text, length, at + (size_t)json_error.position);
    }
    claim_destroy(&claim);
    return rc;
}
