/*
 * fhir_types.c - the FHIR R4 datatypes, read with precise errors: typed
 * access to elements, CodeableConcept, Identifier, date, Period, decimal
 * and Money, and References resolved in contained[] or the Bundle.
 *
 * Split from fhir_claim.c, which maps a Claim with these; what they share
 * is declared, with each function's contract, in fhir_read.h.  Every
 * problem is placed by fhir_fail: the JSON path from the document's root,
 * and the line and column of the value at fault.  Numbers are read from
 * their text in the document (fhir_decimal_scaled), never as a double.
 * A Reference is resolved by a linear search of contained[] or of the
 * Bundle's entries, both bounded (FHIR_BUNDLE_ENTRIES_MAX).
 */
#include "fhir_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/date.h"

/* ------------------------------------------------------------------------
 * Paths and errors
 * ------------------------------------------------------------------------ */

size_t fhir_push_key(fhir_cursor_t *cursor, const char *key)
{
    size_t length = strlen(cursor->path.text);
    snprintf(cursor->path.text + length, sizeof cursor->path.text - length, "%s%s",
             length ? "." : "", key);
    return length;
}

size_t fhir_push_index(fhir_cursor_t *cursor, size_t index)
{
    size_t length = strlen(cursor->path.text);
    snprintf(cursor->path.text + length, sizeof cursor->path.text - length, "[%zu]", index);
    return length;
}

void fhir_pop(fhir_cursor_t *cursor, size_t length)
{
    if (length < sizeof cursor->path.text)
        cursor->path.text[length] = '\0';
}

__attribute__((format(printf, 5, 6))) int fhir_fail(fhir_cursor_t *cursor, const json_t *at,
                                                    const char *key, int code, const char *format,
                                                    ...)
{
    char reason[SETTLE_ERROR_MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    uint32_t line, column;
    if (at && fhir_json_position(cursor->document, at, &line, &column))
        settle_error_at_line(&cursor->error, line, column);
    const char *dot = cursor->path.text[0] && key ? "." : "";
    const char *colon = cursor->path.text[0] || key ? ": " : "";
    return settle_error_set(&cursor->error, code, "%s%s%s%s%s", cursor->path.text, dot,
                            key ? key : "", colon, reason);
}

const char *fhir_show(const json_t *string, char *buffer, size_t size)
{
    const char *text = json_string_value(string);
    size_t length = json_string_length(string), n = 0;
    for (size_t i = 0; text && i < length && n + 1 < size && n < 40; i++) {
        unsigned char c = (unsigned char)text[i];
        buffer[n++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
    }
    buffer[n] = '\0';
    return buffer;
}

/* ------------------------------------------------------------------------
 * Typed access to FHIR elements
 * ------------------------------------------------------------------------ */

static const char *s_type_name(json_type type)
{
    switch (type) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true or false";
    default:
        return "a number";
    }
}

static bool s_has_type(const json_t *value, json_type type)
{
    if (type == JSON_TRUE || type == JSON_FALSE)
        return json_is_boolean(value);
    if (type == JSON_INTEGER || type == JSON_REAL)
        return json_is_number(value);
    return json_typeof(value) == type;
}

int fhir_get(fhir_cursor_t *cursor, const json_t *object, const char *key, json_type type,
             bool required, const json_t **value_out)
{
    const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
    *value_out = NULL;
    if (!value)
        return required ? fhir_fail(cursor, object, key, SETTLE_ERR_MISSING, "missing") : SETTLE_OK;
    if (!s_has_type(value, type))
        return fhir_fail(cursor, value, key, SETTLE_ERR_SYNTAX, "expected %s", s_type_name(type));
    *value_out = value;
    return SETTLE_OK;
}

bool fhir_string_is(const json_t *value, const char *text)
{
    return json_is_string(value) && strcmp(json_string_value(value), text) == 0;
}

static bool s_in_list(const json_t *value, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (fhir_string_is(value, list[i]))
            return true;
    return false;
}

int fhir_concept_code_of(fhir_cursor_t *cursor, const json_t *concept, const char *const *systems,
                         bool required, const json_t **code_out)
{
    const json_t *codings, *coding;
    size_t i;
    *code_out = NULL;
    if (!json_is_object(concept))
        return fhir_fail(cursor, concept, NULL, SETTLE_ERR_SYNTAX,
                         "expected a CodeableConcept object");
    int rc = fhir_get(cursor, concept, "coding", JSON_ARRAY, required, &codings);
    json_array_foreach(codings, i, coding)
    {
        const json_t *system, *code;
        size_t saved = fhir_push_key(cursor, "coding");
        fhir_push_index(cursor, i);
        if (!json_is_object(coding))
            rc = fhir_fail(cursor, coding, NULL, SETTLE_ERR_SYNTAX, "expected a Coding object");
        if (rc == SETTLE_OK)
            rc = fhir_get(cursor, coding, "system", JSON_STRING, false, &system);
        if (rc == SETTLE_OK)
            rc = fhir_get(cursor, coding, "code", JSON_STRING, false, &code);
        fhir_pop(cursor, saved);
        if (rc != SETTLE_OK)
            break;
        if (code && (!systems || s_in_list(system, systems))) {
            *code_out = code;
            break;
        }
    }
    if (rc == SETTLE_OK && !*code_out && required)
        rc = fhir_fail(cursor, concept, NULL, SETTLE_ERR_MISSING,
                       "expected a coding with system %s", systems ? systems[0] : "and code");
    return rc;
}

int fhir_concept_code(fhir_cursor_t *cursor, const json_t *object, const char *key,
                      const char *const *systems, bool required, const json_t **code_out)
{
    const json_t *concept;
    *code_out = NULL;
    int rc = fhir_get(cursor, object, key, JSON_OBJECT, required, &concept);
    if (rc != SETTLE_OK || !concept)
        return rc;
    size_t saved = fhir_push_key(cursor, key);
    rc = fhir_concept_code_of(cursor, concept, systems, required, code_out);
    fhir_pop(cursor, saved);
    return rc;
}

bool fhir_concept_has_code(const json_t *concept, const char *code)
{
    size_t i;
    const json_t *coding;
    json_array_foreach(json_object_get(concept, "coding"), i, coding)
    {
        if (fhir_string_is(json_object_get(coding, "code"), code))
            return true;
    }
    return false;
}

int fhir_identifier_find(fhir_cursor_t *cursor, const json_t *holder, const char *key,
                         const char *system, const char *type_code, const json_t **value_out)
{
    const json_t *list = json_is_object(holder) ? json_object_get(holder, key) : NULL;
    *value_out = NULL;
    if (!list)
        return SETTLE_OK;
    if (!json_is_array(list) && !json_is_object(list))
        return fhir_fail(cursor, list, key, SETTLE_ERR_SYNTAX, "expected an Identifier");
    size_t count = json_is_array(list) ? json_array_size(list) : 1;
    int rc = SETTLE_OK;
    for (size_t i = 0; rc == SETTLE_OK && i < count && !*value_out; i++) {
        const json_t *identifier = json_is_array(list) ? json_array_get(list, i) : list;
        const json_t *value, *found_system;
        size_t saved = fhir_push_key(cursor, key);
        if (json_is_array(list))
            fhir_push_index(cursor, i);
        if (!json_is_object(identifier))
            rc = fhir_fail(cursor, identifier, NULL, SETTLE_ERR_SYNTAX,
                           "expected an Identifier object");
        if (rc == SETTLE_OK)
            rc = fhir_get(cursor, identifier, "value", JSON_STRING, false, &value);
        if (rc == SETTLE_OK)
            rc = fhir_get(cursor, identifier, "system", JSON_STRING, false, &found_system);
        fhir_pop(cursor, saved);
        if (rc == SETTLE_OK && value && (!system || fhir_string_is(found_system, system)) &&
            (!type_code || fhir_concept_has_code(json_object_get(identifier, "type"), type_code)))
            *value_out = value;
    }
    return rc;
}

int fhir_read_date(fhir_cursor_t *cursor, const json_t *object, const char *key, bool with_time,
                   int32_t *days_out)
{
    const json_t *value;
    int rc = fhir_get(cursor, object, key, JSON_STRING, false, &value);
    if (rc != SETTLE_OK || !value)
        return rc;
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    if (with_time && length > 10 && text[10] == 'T')
        length = 10;
    rc = date_parse_iso(text, length, days_out);
    if (rc != SETTLE_OK)
        return fhir_fail(cursor, value, key, rc, "\"%s\" is not a full date CCYY-MM-DD",
                         FHIR_SHOW(value));
    return SETTLE_OK;
}

int fhir_read_period(fhir_cursor_t *cursor, const json_t *object, const char *key,
                     bool *present_out, int32_t *start_days_out, int32_t *end_days_out)
{
    const json_t *period;
    *present_out = false;
    int rc = fhir_get(cursor, object, key, JSON_OBJECT, false, &period);
    if (rc != SETTLE_OK || !period)
        return rc;
    *present_out = true;
    size_t saved = fhir_push_key(cursor, key);
    rc = fhir_read_date(cursor, period, "start", true, start_days_out);
    if (rc == SETTLE_OK && *start_days_out == DATE_NONE)
        rc = fhir_fail(cursor, period, "start", SETTLE_ERR_MISSING, "missing");
    if (rc == SETTLE_OK)
        rc = fhir_read_date(cursor, period, "end", true, end_days_out);
    if (rc == SETTLE_OK && *end_days_out == DATE_NONE)
        *end_days_out = *start_days_out;
    if (rc == SETTLE_OK && *end_days_out < *start_days_out)
        rc = fhir_fail(cursor, period, "end", SETTLE_ERR_RANGE, "before start");
    fhir_pop(cursor, saved);
    return rc;
}

/* ------------------------------------------------------------------------
 * Exact numbers
 * ------------------------------------------------------------------------ */

int fhir_read_decimal(fhir_cursor_t *cursor, const json_t *object, const char *key, int decimals,
                      const char *what, bool *present_out, int64_t *value_out)
{
    const json_t *value;
    const char *text;
    size_t length;
    *present_out = false;
    int rc = fhir_get(cursor, object, key, JSON_REAL, false, &value);
    if (rc != SETTLE_OK || !value)
        return rc;
    if (!fhir_json_number_text(cursor->document, value, &text, &length))
        return fhir_fail(cursor, value, key, SETTLE_ERR_CORRUPT, "number not found in the text");
    int shown = (int)(length > 40 ? 40 : length);
    rc = fhir_decimal_scaled(text, length, decimals, value_out);
    if (rc == SETTLE_ERR_OVERFLOW)
        return fhir_fail(cursor, value, key, rc, "%.*s is too large", shown, text);
    if (rc != SETTLE_OK)
        return fhir_fail(cursor, value, key, rc,
                         "expected %s with at most %s decimals (found %.*s)", what,
                         decimals == 2 ? "two" : "three", shown, text);
    if (*value_out < 0)
        return fhir_fail(cursor, value, key, SETTLE_ERR_RANGE,
                         "expected %s not below zero (found %.*s)", what, shown, text);
    *present_out = true;
    return SETTLE_OK;
}

int fhir_read_money(fhir_cursor_t *cursor, const json_t *object, const char *key, bool *present_out,
                    int64_t *cents_out)
{
    const json_t *money, *currency;
    *present_out = false;
    int rc = fhir_get(cursor, object, key, JSON_OBJECT, false, &money);
    if (rc != SETTLE_OK || !money)
        return rc;
    size_t saved = fhir_push_key(cursor, key);
    rc = fhir_get(cursor, money, "currency", JSON_STRING, false, &currency);
    if (rc == SETTLE_OK && currency && !fhir_string_is(currency, "USD"))
        rc = fhir_fail(cursor, currency, "currency", SETTLE_ERR_RANGE,
                       "expected \"USD\" (found \"%s\")", FHIR_SHOW(currency));
    if (rc == SETTLE_OK)
        rc = fhir_read_decimal(cursor, money, "value", 2, "an amount", present_out, cents_out);
    if (rc == SETTLE_OK && !*present_out)
        rc = fhir_fail(cursor, money, "value", SETTLE_ERR_MISSING, "missing");
    fhir_pop(cursor, saved);
    return rc;
}

/* ------------------------------------------------------------------------
 * References
 * ------------------------------------------------------------------------ */

/* True when reference is "Type/id" or ends in "/Type/id". */
static bool s_reference_names(const char *reference, const json_t *resource)
{
    const json_t *type = json_object_get(resource, "resourceType");
    const json_t *id = json_object_get(resource, "id");
    if (!json_is_string(type) || !json_is_string(id))
        return false;
    size_t type_length = json_string_length(type), id_length = json_string_length(id);
    size_t length = strlen(reference), tail = type_length + 1 + id_length;
    if (length < tail)
        return false;
    const char *at = reference + length - tail;
    return (at == reference || at[-1] == '/') &&
           memcmp(at, json_string_value(type), type_length) == 0 && at[type_length] == '/' &&
           memcmp(at + type_length + 1, json_string_value(id), id_length) == 0;
}

static void s_resolve_contained(fhir_cursor_t *cursor, const char *id, fhir_target_t *target)
{
    size_t i;
    const json_t *resource;
    json_array_foreach(json_object_get(cursor->resource, "contained"), i, resource)
    {
        if (fhir_string_is(json_object_get(resource, "id"), id)) {
            target->resource = resource;
            size_t saved = fhir_push_key(cursor, "contained");
            fhir_push_index(cursor, i);
            target->path = cursor->path;
            fhir_pop(cursor, saved);
            return;
        }
    }
}

/*
 * The resource a Reference object names: "#id" in the contained[] of the
 * resource being read, else the Bundle entry whose fullUrl is the reference
 * or whose resource is "Type/id".  target->resource NULL when it names
 * nothing here (a server reference is not an error: the reference may
 * carry an identifier).
 */
static int s_resolve(fhir_cursor_t *cursor, const json_t *reference, fhir_target_t *target)
{
    const json_t *text;
    target->resource = NULL;
    int rc = fhir_get(cursor, reference, "reference", JSON_STRING, false, &text);
    if (rc != SETTLE_OK || !text)
        return rc;
    const char *wanted = json_string_value(text);
    if (wanted[0] == '#') {
        s_resolve_contained(cursor, wanted + 1, target);
        return SETTLE_OK;
    }
    size_t i;
    const json_t *entry;
    json_array_foreach(cursor->entries, i, entry)
    {
        const json_t *resource = json_object_get(entry, "resource");
        if (!json_is_object(resource))
            continue;
        if (fhir_string_is(json_object_get(entry, "fullUrl"), wanted) ||
            s_reference_names(wanted, resource)) {
            target->resource = resource;
            snprintf(target->path.text, sizeof target->path.text, "entry[%zu].resource", i);
            return SETTLE_OK;
        }
    }
    return SETTLE_OK;
}

int fhir_resolve_key(fhir_cursor_t *cursor, const json_t *object, const char *key, const char *type,
                     const json_t **reference_out, fhir_target_t *target)
{
    target->resource = NULL;
    int rc = fhir_get(cursor, object, key, JSON_OBJECT, false, reference_out);
    if (rc != SETTLE_OK || !*reference_out)
        return rc;
    size_t saved = fhir_push_key(cursor, key);
    rc = s_resolve(cursor, *reference_out, target);
    const json_t *found =
        target->resource ? json_object_get(target->resource, "resourceType") : NULL;
    if (rc == SETTLE_OK && target->resource && type && !fhir_string_is(found, type))
        rc =
            fhir_fail(cursor, *reference_out, NULL, SETTLE_ERR_INVALID, "names a %s, expected a %s",
                      json_is_string(found) ? FHIR_SHOW(found) : "resource", type);
    fhir_pop(cursor, saved);
    return rc;
}

int fhir_reference_npi(fhir_cursor_t *cursor, const json_t *object, const char *key,
                       const json_t **npi_out)
{
    const json_t *reference;
    fhir_target_t target;
    *npi_out = NULL;
    int rc = fhir_resolve_key(cursor, object, key, NULL, &reference, &target);
    if (rc == SETTLE_OK && target.resource) {
        fhir_path_t saved = cursor->path;
        cursor->path = target.path;
        rc = fhir_identifier_find(cursor, target.resource, "identifier", FHIR_SYSTEM_NPI, NULL,
                                  npi_out);
        cursor->path = saved;
    }
    if (rc == SETTLE_OK && !*npi_out && reference) {
        size_t saved = fhir_push_key(cursor, key);
        rc = fhir_identifier_find(cursor, reference, "identifier", FHIR_SYSTEM_NPI, NULL, npi_out);
        fhir_pop(cursor, saved);
    }
    return rc;
}
