/*
 * fhir_claim.c - the FHIR R4 Claim reader: a Claim, or a Bundle of them,
 * mapped to canonical claims.
 *
 * The mapping, field by field, and the choices made where FHIR leaves room:
 *
 *   claim_id            identifier[0].value.
 *   status              "active".  "cancelled" is accepted only with a prior
 *                       claim in related[] and makes a void (frequency 8);
 *                       draft and entered-in-error are refused.
 *   use                 "claim" (preauthorization and predetermination are
 *                       refused).
 *   kind                type, a coding of .../CodeSystem/claim-type:
 *                       professional or institutional.
 *   frequency           1; 7 when related[] has relationship "prior" (or
 *                       "replaces"); 8 when that claim is also cancelled.  An
 *                       institutional claim's type of bill (supportingInfo
 *                       with category "typeofbill", the CARIN code) gives
 *                       bill_type and its last digit is the frequency; it must
 *                       agree with status and related[].
 *   original_claim_number  that related[] entry's claim.identifier.value,
 *                       else the identifier[0].value of the Claim its
 *                       claim.reference names in the Bundle, else its
 *                       reference.value (the payer's file number).
 *   payer_id            insurer.identifier.value, else the first identifier
 *                       of the Organization insurer.reference names.
 *   billing_npi         provider: an identifier with system
 *                       http://hl7.org/fhir/sid/us-npi on the contained or
 *                       bundled resource it names, else on the reference.
 *   rendering_npi       the first careTeam[] member whose role code is
 *                       primary, performing or rendering and whose provider
 *                       has an NPI (found as for the billing provider).
 *   member_id           the Coverage of the focal insurance[] entry (else the
 *                       first): subscriberId, else its identifier of type MB,
 *                       else its first identifier; else the coverage
 *                       reference's identifier; else the Patient's
 *                       identifier of type MB (v2-0203).  This is the
 *                       subscriber's id, as NM1*IL carries it in an 837.
 *   patient birth/sex   the Patient that patient names (contained or in the
 *                       Bundle): birthDate (a full date) and gender female ->
 *                       F, male -> M, other and unknown -> U.  A patient that
 *                       cannot be resolved gives no birth date and U.
 *   prior_authorization preAuthRef[0] of that insurance[] entry (R4 has no
 *                       standard supportingInfo category for it).
 *   diagnoses           diagnosis[] in sequence order (the lowest sequence is
 *                       taken as the principal), ICD-10-CM codes with the dot
 *                       removed ("M54.5" -> "M545").
 *   lines               item[] in array order: productOrService (a CPT or
 *                       HCPCS coding), modifier[], revenue, servicedDate or
 *                       servicedPeriod, quantity.value (default 1),
 *                       net.value (else unitPrice x quantity when that comes
 *                       to whole cents), locationCodeableConcept (place of
 *                       service), diagnosisSequence[] (mapped to positions in
 *                       the sorted diagnosis list), and the NDC of the first
 *                       detail[] with an http://hl7.org/fhir/sid/ndc coding,
 *                       written as eleven digits 5-4-2.
 *   place_of_service    professional: item[0]'s location; a line keeps its
 *                       own only where it differs.
 *   total_charge_cents  total.value, which must equal the sum of the item
 *                       nets; the sum when total is absent.
 *
 * Amounts are read from the digits of the JSON text (fhir.h): at most two
 * decimals, no exponent, in USD when a currency is given.  Elements this
 * reader does not map are ignored, except a modifierExtension on the Claim
 * or an item, which FHIR requires a reader that does not understand it to
 * refuse.
 */
#include "settle/fhir.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/date.h"
#include "settle/money.h"

#define S_PATH_SIZE 160

#define S_SYSTEM_NPI        "http://hl7.org/fhir/sid/us-npi"
#define S_SYSTEM_CLAIM_TYPE "http://terminology.hl7.org/CodeSystem/claim-type"
#define S_SYSTEM_ICD10_CM   "http://hl7.org/fhir/sid/icd-10-cm"
#define S_SYSTEM_NDC        "http://hl7.org/fhir/sid/ndc"

static const char *const s_procedure_systems[] = {
    "http://www.ama-assn.org/go/cpt",
    "urn:oid:2.16.840.1.113883.6.12",
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "urn:oid:2.16.840.1.113883.6.285",
    NULL};
static const char *const s_claim_type_systems[] = {S_SYSTEM_CLAIM_TYPE, NULL};
static const char *const s_icd10_systems[] = {S_SYSTEM_ICD10_CM, NULL};
static const char *const s_ndc_systems[] = {S_SYSTEM_NDC, NULL};

typedef struct {
    char text[S_PATH_SIZE];
} s_path_t;

/* A resource a Reference resolved to, and the path that names it. */
typedef struct {
    const json_t *resource;
    s_path_t path;
} s_target_t;

typedef struct {
    const fhir_json_t *document;
    const char *file;
    const fhir_claim_callbacks_t *callbacks;
    void *context;
    bool skip_validation;
    int stop; /* a callback's nonzero return */
    fhir_claim_stats_t stats;

    const json_t *entries;  /* the Bundle's entry array; NULL for a lone Claim */
    const json_t *resource; /* the Claim being read */
    claim_t *claim;
    settle_error_t error;
    s_path_t path; /* of the value being read, from the document root */
    bool cancelled;
    bool has_prior;
    int bill_type_frequency; /* 0 when no type of bill was given */
    uint8_t diagnosis_sequences[CLAIM_DIAGNOSES_MAX];
} s_reader_t;

/* ------------------------------------------------------------------------
 * Paths and errors
 * ------------------------------------------------------------------------ */

/* Appends ".key" (or "key" at the root); returns the length to go back to. */
static size_t s_push_key(s_reader_t *r, const char *key)
{
    size_t length = strlen(r->path.text);
    snprintf(r->path.text + length, sizeof r->path.text - length, "%s%s", length ? "." : "", key);
    return length;
}

static size_t s_push_index(s_reader_t *r, size_t index)
{
    size_t length = strlen(r->path.text);
    snprintf(r->path.text + length, sizeof r->path.text - length, "[%zu]", index);
    return length;
}

static void s_pop(s_reader_t *r, size_t length)
{
    if (length < sizeof r->path.text)
        r->path.text[length] = '\0';
}

/*
 * Records the claim's first problem: "path[.key]: reason", at the line and
 * column of at (when the document knows it).  Returns code.
 */
__attribute__((format(printf, 5, 6))) static int
s_fail(s_reader_t *r, const json_t *at, const char *key, int code, const char *format, ...)
{
    char reason[SETTLE_ERROR_MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    uint32_t line, column;
    if (at && fhir_json_position(r->document, at, &line, &column))
        settle_error_at_line(&r->error, line, column);
    const char *dot = r->path.text[0] && key ? "." : "";
    const char *colon = r->path.text[0] || key ? ": " : "";
    return settle_error_set(&r->error, code, "%s%s%s%s%s", r->path.text, dot, key ? key : "", colon,
                            reason);
}

static void s_report(s_reader_t *r, fhir_problem_t problem, const char *claim_id)
{
    if (problem == FHIR_CLAIM_REJECTED)
        r->stats.claims_rejected++;
    else
        r->stats.document_errors++;
    if (!r->stop && r->callbacks && r->callbacks->problem)
        r->stop = r->callbacks->problem(problem, claim_id, &r->error, r->context);
}

/* Text of a string for a message: printable ASCII, at most 40 characters. */
static const char *s_show(const json_t *string, char *buffer, size_t size)
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

#define S_SHOW(string) s_show((string), (char[48]){0}, 48)

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

/*
 * object[key] when it has the type (*value_out NULL when absent).  A value
 * of another type is an error; so is an absent one when required.
 */
static int s_get(s_reader_t *r, const json_t *object, const char *key, json_type type,
                 bool required, const json_t **value_out)
{
    const json_t *value = json_is_object(object) ? json_object_get(object, key) : NULL;
    *value_out = NULL;
    if (!value)
        return required ? s_fail(r, object, key, SETTLE_ERR_MISSING, "missing") : SETTLE_OK;
    if (!s_has_type(value, type))
        return s_fail(r, value, key, SETTLE_ERR_SYNTAX, "expected %s", s_type_name(type));
    *value_out = value;
    return SETTLE_OK;
}

static bool s_string_is(const json_t *value, const char *text)
{
    return json_is_string(value) && strcmp(json_string_value(value), text) == 0;
}

static bool s_in_list(const json_t *value, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (s_string_is(value, list[i]))
            return true;
    return false;
}

/* Copies a string value into a claim field; key names it in errors. */
static int s_set_text(s_reader_t *r, const json_t *value, const char *key, char *field, size_t size)
{
    int rc = claim_set_text(field, size, json_string_value(value), json_string_length(value));
    if (rc == SETTLE_ERR_TOO_LONG)
        return s_fail(r, value, key, rc, "\"%s\" is longer than %zu characters", S_SHOW(value),
                      size - 1);
    if (rc != SETTLE_OK)
        return s_fail(r, value, key, rc, "expected printable ASCII characters only");
    return SETTLE_OK;
}

/*
 * The code of the first coding of a CodeableConcept (the path names it)
 * whose system is in systems (any system when systems is NULL); *code_out
 * NULL when there is none.  Malformed codings are errors.
 */
static int s_concept_code_of(s_reader_t *r, const json_t *concept, const char *const *systems,
                             bool required, const json_t **code_out)
{
    const json_t *codings, *coding;
    size_t i;
    *code_out = NULL;
    if (!json_is_object(concept))
        return s_fail(r, concept, NULL, SETTLE_ERR_SYNTAX, "expected a CodeableConcept object");
    int rc = s_get(r, concept, "coding", JSON_ARRAY, required, &codings);
    json_array_foreach(codings, i, coding)
    {
        const json_t *system, *code;
        size_t saved = s_push_key(r, "coding");
        s_push_index(r, i);
        if (!json_is_object(coding))
            rc = s_fail(r, coding, NULL, SETTLE_ERR_SYNTAX, "expected a Coding object");
        if (rc == SETTLE_OK)
            rc = s_get(r, coding, "system", JSON_STRING, false, &system);
        if (rc == SETTLE_OK)
            rc = s_get(r, coding, "code", JSON_STRING, false, &code);
        s_pop(r, saved);
        if (rc != SETTLE_OK)
            break;
        if (code && (!systems || s_in_list(system, systems))) {
            *code_out = code;
            break;
        }
    }
    if (rc == SETTLE_OK && !*code_out && required)
        rc = s_fail(r, concept, NULL, SETTLE_ERR_MISSING, "expected a coding with system %s",
                    systems ? systems[0] : "and code");
    return rc;
}

/* s_concept_code_of for the CodeableConcept at object[key], if present. */
static int s_concept_code(s_reader_t *r, const json_t *object, const char *key,
                          const char *const *systems, bool required, const json_t **code_out)
{
    const json_t *concept;
    *code_out = NULL;
    int rc = s_get(r, object, key, JSON_OBJECT, required, &concept);
    if (rc != SETTLE_OK || !concept)
        return rc;
    size_t saved = s_push_key(r, key);
    rc = s_concept_code_of(r, concept, systems, required, code_out);
    s_pop(r, saved);
    return rc;
}

/* True when the CodeableConcept has a coding with this code, any system. */
static bool s_concept_has_code(const json_t *concept, const char *code)
{
    size_t i;
    const json_t *coding;
    json_array_foreach(json_object_get(concept, "coding"), i, coding)
    {
        if (s_string_is(json_object_get(coding, "code"), code))
            return true;
    }
    return false;
}

/*
 * The value of the first Identifier at holder[key] (an array of them, or one
 * object, as in a Reference) with the system and the type code asked for
 * (NULL: any).  *value_out NULL when none matches.
 */
static int s_identifier_find(s_reader_t *r, const json_t *holder, const char *key,
                             const char *system, const char *type_code, const json_t **value_out)
{
    const json_t *list = json_is_object(holder) ? json_object_get(holder, key) : NULL;
    *value_out = NULL;
    if (!list)
        return SETTLE_OK;
    if (!json_is_array(list) && !json_is_object(list))
        return s_fail(r, list, key, SETTLE_ERR_SYNTAX, "expected an Identifier");
    size_t count = json_is_array(list) ? json_array_size(list) : 1;
    int rc = SETTLE_OK;
    for (size_t i = 0; rc == SETTLE_OK && i < count && !*value_out; i++) {
        const json_t *identifier = json_is_array(list) ? json_array_get(list, i) : list;
        const json_t *value, *found_system;
        size_t saved = s_push_key(r, key);
        if (json_is_array(list))
            s_push_index(r, i);
        if (!json_is_object(identifier))
            rc = s_fail(r, identifier, NULL, SETTLE_ERR_SYNTAX, "expected an Identifier object");
        if (rc == SETTLE_OK)
            rc = s_get(r, identifier, "value", JSON_STRING, false, &value);
        if (rc == SETTLE_OK)
            rc = s_get(r, identifier, "system", JSON_STRING, false, &found_system);
        s_pop(r, saved);
        if (rc == SETTLE_OK && value && (!system || s_string_is(found_system, system)) &&
            (!type_code || s_concept_has_code(json_object_get(identifier, "type"), type_code)))
            *value_out = value;
    }
    return rc;
}

/* A date "CCYY-MM-DD" at object[key]; a dateTime ("...T10:00:00Z") when
 * with_time, of which the date is kept.  *days_out untouched when absent. */
static int s_read_date(s_reader_t *r, const json_t *object, const char *key, bool with_time,
                       int32_t *days_out)
{
    const json_t *value;
    int rc = s_get(r, object, key, JSON_STRING, false, &value);
    if (rc != SETTLE_OK || !value)
        return rc;
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    if (with_time && length > 10 && text[10] == 'T')
        length = 10;
    rc = date_parse_iso(text, length, days_out);
    if (rc != SETTLE_OK)
        return s_fail(r, value, key, rc, "\"%s\" is not a full date CCYY-MM-DD", S_SHOW(value));
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Exact numbers
 * ------------------------------------------------------------------------ */

/* The number at object[key] as an integer count of 10^-decimals, read from
 * its text.  *present_out says whether it was there. */
static int s_read_decimal(s_reader_t *r, const json_t *object, const char *key, int decimals,
                          const char *what, bool *present_out, int64_t *value_out)
{
    const json_t *value;
    const char *text;
    size_t length;
    *present_out = false;
    int rc = s_get(r, object, key, JSON_REAL, false, &value);
    if (rc != SETTLE_OK || !value)
        return rc;
    if (!fhir_json_number_text(r->document, value, &text, &length))
        return s_fail(r, value, key, SETTLE_ERR_CORRUPT, "number not found in the text");
    int shown = (int)(length > 40 ? 40 : length);
    rc = fhir_decimal_scaled(text, length, decimals, value_out);
    if (rc == SETTLE_ERR_OVERFLOW)
        return s_fail(r, value, key, rc, "%.*s is too large", shown, text);
    if (rc != SETTLE_OK)
        return s_fail(r, value, key, rc, "expected %s with at most %s decimals (found %.*s)", what,
                      decimals == 2 ? "two" : "three", shown, text);
    if (*value_out < 0)
        return s_fail(r, value, key, SETTLE_ERR_RANGE, "expected %s not below zero (found %.*s)",
                      what, shown, text);
    *present_out = true;
    return SETTLE_OK;
}

/* A Money at object[key]: value in cents, currency USD when given. */
static int s_read_money(s_reader_t *r, const json_t *object, const char *key, bool *present_out,
                        int64_t *cents_out)
{
    const json_t *money, *currency;
    *present_out = false;
    int rc = s_get(r, object, key, JSON_OBJECT, false, &money);
    if (rc != SETTLE_OK || !money)
        return rc;
    size_t saved = s_push_key(r, key);
    rc = s_get(r, money, "currency", JSON_STRING, false, &currency);
    if (rc == SETTLE_OK && currency && !s_string_is(currency, "USD"))
        rc = s_fail(r, currency, "currency", SETTLE_ERR_RANGE, "expected \"USD\" (found \"%s\")",
                    S_SHOW(currency));
    if (rc == SETTLE_OK)
        rc = s_read_decimal(r, money, "value", 2, "an amount", present_out, cents_out);
    if (rc == SETTLE_OK && !*present_out)
        rc = s_fail(r, money, "value", SETTLE_ERR_MISSING, "missing");
    s_pop(r, saved);
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

static void s_resolve_contained(s_reader_t *r, const char *id, s_target_t *target)
{
    size_t i;
    const json_t *resource;
    json_array_foreach(json_object_get(r->resource, "contained"), i, resource)
    {
        if (s_string_is(json_object_get(resource, "id"), id)) {
            target->resource = resource;
            size_t saved = s_push_key(r, "contained");
            s_push_index(r, i);
            target->path = r->path;
            s_pop(r, saved);
            return;
        }
    }
}

/*
 * The resource a Reference object names: "#id" in the Claim's contained[],
 * else the Bundle entry whose fullUrl is the reference or whose resource is
 * "Type/id".  target->resource NULL when it names nothing here (a server
 * reference is not an error: the reference may carry an identifier).
 */
static int s_resolve(s_reader_t *r, const json_t *reference, s_target_t *target)
{
    const json_t *text;
    target->resource = NULL;
    int rc = s_get(r, reference, "reference", JSON_STRING, false, &text);
    if (rc != SETTLE_OK || !text)
        return rc;
    const char *wanted = json_string_value(text);
    if (wanted[0] == '#') {
        s_resolve_contained(r, wanted + 1, target);
        return SETTLE_OK;
    }
    size_t i;
    const json_t *entry;
    json_array_foreach(r->entries, i, entry)
    {
        const json_t *resource = json_object_get(entry, "resource");
        if (!json_is_object(resource))
            continue;
        if (s_string_is(json_object_get(entry, "fullUrl"), wanted) ||
            s_reference_names(wanted, resource)) {
            target->resource = resource;
            snprintf(target->path.text, sizeof target->path.text, "entry[%zu].resource", i);
            return SETTLE_OK;
        }
    }
    return SETTLE_OK;
}

/* Resolves object[key] (a Reference) and checks the type of what it names. */
static int s_resolve_key(s_reader_t *r, const json_t *object, const char *key, const char *type,
                         const json_t **reference_out, s_target_t *target)
{
    target->resource = NULL;
    int rc = s_get(r, object, key, JSON_OBJECT, false, reference_out);
    if (rc != SETTLE_OK || !*reference_out)
        return rc;
    size_t saved = s_push_key(r, key);
    rc = s_resolve(r, *reference_out, target);
    const json_t *found =
        target->resource ? json_object_get(target->resource, "resourceType") : NULL;
    if (rc == SETTLE_OK && target->resource && type && !s_string_is(found, type))
        rc = s_fail(r, *reference_out, NULL, SETTLE_ERR_INVALID, "names a %s, expected a %s",
                    json_is_string(found) ? S_SHOW(found) : "resource", type);
    s_pop(r, saved);
    return rc;
}

/* The NPI of whoever object[key] names: on the resource it resolves to,
 * else on the reference's own identifier.  *npi_out NULL when none. */
static int s_reference_npi(s_reader_t *r, const json_t *object, const char *key,
                           const json_t **npi_out)
{
    const json_t *reference;
    s_target_t target;
    *npi_out = NULL;
    int rc = s_resolve_key(r, object, key, NULL, &reference, &target);
    if (rc == SETTLE_OK && target.resource) {
        s_path_t saved = r->path;
        r->path = target.path;
        rc = s_identifier_find(r, target.resource, "identifier", S_SYSTEM_NPI, NULL, npi_out);
        r->path = saved;
    }
    if (rc == SETTLE_OK && !*npi_out && reference) {
        size_t saved = s_push_key(r, key);
        rc = s_identifier_find(r, reference, "identifier", S_SYSTEM_NPI, NULL, npi_out);
        s_pop(r, saved);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * The Claim's header: identifier, status, use, type
 * ------------------------------------------------------------------------ */

static int s_map_identifier(s_reader_t *r, const json_t *resource)
{
    const json_t *identifiers, *value;
    int rc = s_get(r, resource, "identifier", JSON_ARRAY, false, &identifiers);
    if (rc != SETTLE_OK)
        return rc;
    const json_t *first = json_array_get(identifiers, 0);
    if (!first)
        return s_fail(r, identifiers ? identifiers : resource, "identifier", SETTLE_ERR_MISSING,
                      "missing; expected identifier[0].value, the claim number");
    size_t saved = s_push_key(r, "identifier");
    s_push_index(r, 0);
    if (!json_is_object(first))
        rc = s_fail(r, first, NULL, SETTLE_ERR_SYNTAX, "expected an Identifier object");
    if (rc == SETTLE_OK)
        rc = s_get(r, first, "value", JSON_STRING, true, &value);
    if (rc == SETTLE_OK)
        rc = s_set_text(r, value, "value", r->claim->claim_id, sizeof r->claim->claim_id);
    s_pop(r, saved);
    return rc;
}

static int s_map_status(s_reader_t *r, const json_t *resource)
{
    const json_t *status, *use;
    int rc = s_get(r, resource, "status", JSON_STRING, true, &status);
    if (rc != SETTLE_OK)
        return rc;
    r->cancelled = s_string_is(status, "cancelled");
    if (!r->cancelled && !s_string_is(status, "active"))
        return s_fail(r, status, "status", SETTLE_ERR_INVALID,
                      "\"%s\" is not accepted; expected \"active\" (or \"cancelled\" with a "
                      "prior claim in related, to void it)",
                      S_SHOW(status));
    rc = s_get(r, resource, "use", JSON_STRING, true, &use);
    if (rc == SETTLE_OK && !s_string_is(use, "claim"))
        rc = s_fail(r, use, "use", SETTLE_ERR_INVALID, "\"%s\" is not accepted; expected \"claim\"",
                    S_SHOW(use));
    return rc;
}

static int s_map_type(s_reader_t *r, const json_t *resource)
{
    const json_t *code;
    int rc = s_concept_code(r, resource, "type", s_claim_type_systems, true, &code);
    if (rc != SETTLE_OK)
        return rc;
    if (s_string_is(code, "professional"))
        r->claim->kind = CLAIM_KIND_PROFESSIONAL;
    else if (s_string_is(code, "institutional"))
        r->claim->kind = CLAIM_KIND_INSTITUTIONAL;
    else
        return s_fail(r, code, "type", SETTLE_ERR_INVALID,
                      "\"%s\" is not accepted; expected professional or institutional",
                      S_SHOW(code));
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * The parties: patient, member, provider, insurer, care team
 * ------------------------------------------------------------------------ */

static int s_map_gender(s_reader_t *r, const json_t *patient)
{
    const json_t *gender;
    int rc = s_get(r, patient, "gender", JSON_STRING, false, &gender);
    if (rc != SETTLE_OK || !gender)
        return rc;
    if (s_string_is(gender, "female"))
        r->claim->patient_sex = CLAIM_SEX_FEMALE;
    else if (s_string_is(gender, "male"))
        r->claim->patient_sex = CLAIM_SEX_MALE;
    else if (s_string_is(gender, "other") || s_string_is(gender, "unknown"))
        r->claim->patient_sex = CLAIM_SEX_UNKNOWN;
    else
        return s_fail(r, gender, "gender", SETTLE_ERR_INVALID,
                      "\"%s\" is not a gender; expected female, male, other or unknown",
                      S_SHOW(gender));
    return SETTLE_OK;
}

/* Reads the Patient's birth date and sex; *patient_out is the Patient
 * resource, or NULL when the reference names nothing in this document. */
static int s_map_patient(s_reader_t *r, const json_t *resource, const json_t **patient_out)
{
    const json_t *reference;
    s_target_t target;
    *patient_out = NULL;
    int rc = s_get(r, resource, "patient", JSON_OBJECT, true, &reference);
    if (rc == SETTLE_OK)
        rc = s_resolve_key(r, resource, "patient", "Patient", &reference, &target);
    if (rc != SETTLE_OK || !target.resource)
        return rc;
    s_path_t saved = r->path;
    r->path = target.path;
    rc = s_read_date(r, target.resource, "birthDate", false, &r->claim->patient_birth_date);
    if (rc == SETTLE_OK)
        rc = s_map_gender(r, target.resource);
    r->path = saved;
    *patient_out = target.resource;
    return rc;
}

/* The focal insurance[] entry, else the first. */
static int s_focal_insurance(s_reader_t *r, const json_t *resource, const json_t **insurance_out,
                             size_t *index_out)
{
    const json_t *list, *insurance;
    size_t i;
    int rc = s_get(r, resource, "insurance", JSON_ARRAY, true, &list);
    *insurance_out = NULL;
    if (rc != SETTLE_OK)
        return rc;
    json_array_foreach(list, i, insurance)
    {
        if (!json_is_object(insurance)) {
            size_t saved = s_push_key(r, "insurance");
            s_push_index(r, i);
            rc = s_fail(r, insurance, NULL, SETTLE_ERR_SYNTAX, "expected an object");
            s_pop(r, saved);
            return rc;
        }
        bool focal = json_is_true(json_object_get(insurance, "focal"));
        if (!*insurance_out || (focal && !json_is_true(json_object_get(*insurance_out, "focal")))) {
            *insurance_out = insurance;
            *index_out = i;
        }
    }
    if (!*insurance_out)
        return s_fail(r, list, "insurance", SETTLE_ERR_MISSING, "expected at least one entry");
    return SETTLE_OK;
}

/* The member id from a resolved Coverage, else the reference's identifier. */
static int s_coverage_member(s_reader_t *r, const json_t *insurance, const json_t **member_out)
{
    const json_t *reference;
    s_target_t target;
    *member_out = NULL;
    int rc = s_resolve_key(r, insurance, "coverage", "Coverage", &reference, &target);
    if (rc == SETTLE_OK && target.resource) {
        s_path_t saved = r->path;
        r->path = target.path;
        rc = s_get(r, target.resource, "subscriberId", JSON_STRING, false, member_out);
        if (rc == SETTLE_OK && !*member_out)
            rc = s_identifier_find(r, target.resource, "identifier", NULL, "MB", member_out);
        if (rc == SETTLE_OK && !*member_out)
            rc = s_identifier_find(r, target.resource, "identifier", NULL, NULL, member_out);
        r->path = saved;
    }
    if (rc == SETTLE_OK && !*member_out && reference) {
        size_t saved = s_push_key(r, "coverage");
        rc = s_identifier_find(r, reference, "identifier", NULL, NULL, member_out);
        s_pop(r, saved);
    }
    return rc;
}

static int s_map_prior_authorization(s_reader_t *r, const json_t *insurance)
{
    const json_t *list, *first;
    int rc = s_get(r, insurance, "preAuthRef", JSON_ARRAY, false, &list);
    if (rc != SETTLE_OK || !(first = json_array_get(list, 0)))
        return rc;
    size_t saved = s_push_key(r, "preAuthRef");
    s_push_index(r, 0);
    if (!json_is_string(first))
        rc = s_fail(r, first, NULL, SETTLE_ERR_SYNTAX, "expected a string");
    else
        rc = s_set_text(r, first, NULL, r->claim->prior_authorization,
                        sizeof r->claim->prior_authorization);
    s_pop(r, saved);
    return rc;
}

/* member_id and prior_authorization, from insurance[] and the Patient. */
static int s_map_member(s_reader_t *r, const json_t *resource, const json_t *patient)
{
    const json_t *insurance, *member = NULL;
    size_t index = 0;
    int rc = s_focal_insurance(r, resource, &insurance, &index);
    if (rc != SETTLE_OK)
        return rc;
    size_t saved = s_push_key(r, "insurance");
    s_push_index(r, index);
    rc = s_coverage_member(r, insurance, &member);
    if (rc == SETTLE_OK)
        rc = s_map_prior_authorization(r, insurance);
    if (rc == SETTLE_OK && !member && patient)
        rc = s_identifier_find(r, patient, "identifier", NULL, "MB", &member);
    if (rc == SETTLE_OK && !member)
        rc = s_fail(r, insurance, "coverage", SETTLE_ERR_MISSING,
                    "no member id; expected Coverage.subscriberId, a Coverage identifier, or a "
                    "Patient identifier of type MB");
    if (rc == SETTLE_OK)
        rc = s_set_text(r, member, NULL, r->claim->member_id, sizeof r->claim->member_id);
    s_pop(r, saved);
    return rc;
}

static int s_map_provider(s_reader_t *r, const json_t *resource)
{
    const json_t *npi;
    int rc = s_reference_npi(r, resource, "provider", &npi);
    if (rc != SETTLE_OK)
        return rc;
    if (!npi)
        return s_fail(r, json_object_get(resource, "provider"), "provider", SETTLE_ERR_MISSING,
                      "no NPI; expected an identifier with system " S_SYSTEM_NPI);
    size_t saved = s_push_key(r, "provider");
    rc = s_set_text(r, npi, NULL, r->claim->billing_npi, sizeof r->claim->billing_npi);
    s_pop(r, saved);
    return rc;
}

static int s_map_insurer(s_reader_t *r, const json_t *resource)
{
    const json_t *reference, *payer = NULL;
    s_target_t target;
    int rc = s_resolve_key(r, resource, "insurer", "Organization", &reference, &target);
    size_t saved = s_push_key(r, "insurer");
    if (rc == SETTLE_OK && reference)
        rc = s_identifier_find(r, reference, "identifier", NULL, NULL, &payer);
    if (rc == SETTLE_OK && !payer && target.resource) {
        s_path_t path = r->path;
        r->path = target.path;
        rc = s_identifier_find(r, target.resource, "identifier", NULL, NULL, &payer);
        r->path = path;
    }
    if (rc == SETTLE_OK && !payer)
        rc = s_fail(r, reference ? reference : resource, NULL, SETTLE_ERR_MISSING,
                    "no payer id; expected insurer.identifier.value or an Organization with an "
                    "identifier");
    if (rc == SETTLE_OK)
        rc = s_set_text(r, payer, NULL, r->claim->payer_id, sizeof r->claim->payer_id);
    s_pop(r, saved);
    return rc;
}

/* rendering_npi: the first careTeam member in a rendering role with an NPI. */
static int s_map_care_team(s_reader_t *r, const json_t *resource)
{
    const json_t *team, *member, *npi = NULL;
    size_t i;
    int rc = s_get(r, resource, "careTeam", JSON_ARRAY, false, &team);
    json_array_foreach(team, i, member)
    {
        if (rc != SETTLE_OK || npi)
            break;
        const json_t *role = json_object_get(member, "role");
        if (!s_concept_has_code(role, "primary") && !s_concept_has_code(role, "performing") &&
            !s_concept_has_code(role, "rendering"))
            continue;
        size_t saved = s_push_key(r, "careTeam");
        s_push_index(r, i);
        rc = s_reference_npi(r, member, "provider", &npi);
        if (rc == SETTLE_OK && npi)
            rc = s_set_text(r, npi, "provider", r->claim->rendering_npi,
                            sizeof r->claim->rendering_npi);
        s_pop(r, saved);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Replacements and voids: related[], status, the type of bill
 * ------------------------------------------------------------------------ */

/* The original claim's number from a related[] entry naming a prior claim. */
static int s_prior_claim_number(s_reader_t *r, const json_t *related, const json_t **number_out)
{
    const json_t *reference;
    s_target_t target;
    *number_out = NULL;
    int rc = s_resolve_key(r, related, "claim", "Claim", &reference, &target);
    size_t saved = s_push_key(r, "claim");
    if (rc == SETTLE_OK && reference)
        rc = s_identifier_find(r, reference, "identifier", NULL, NULL, number_out);
    s_pop(r, saved);
    if (rc == SETTLE_OK && !*number_out && target.resource) {
        s_path_t path = r->path;
        r->path = target.path;
        const json_t *first = json_array_get(json_object_get(target.resource, "identifier"), 0);
        rc = s_get(r, first, "value", JSON_STRING, false, number_out);
        r->path = path;
    }
    if (rc == SETTLE_OK && !*number_out)
        rc = s_identifier_find(r, related, "reference", NULL, NULL, number_out);
    if (rc == SETTLE_OK && !*number_out)
        rc = s_fail(r, related, NULL, SETTLE_ERR_MISSING,
                    "a prior claim without its number; expected claim.identifier.value");
    return rc;
}

/* original_claim_number from the first related[] entry whose relationship
 * is prior (or replaces); r->has_prior says whether there was one. */
static int s_map_related(s_reader_t *r, const json_t *resource)
{
    const json_t *list, *related, *number;
    size_t i;
    r->has_prior = false;
    int rc = s_get(r, resource, "related", JSON_ARRAY, false, &list);
    json_array_foreach(list, i, related)
    {
        if (rc != SETTLE_OK || r->has_prior)
            break;
        size_t saved = s_push_key(r, "related");
        s_push_index(r, i);
        if (!json_is_object(related))
            rc = s_fail(r, related, NULL, SETTLE_ERR_SYNTAX, "expected an object");
        const json_t *relationship = json_object_get(related, "relationship");
        if (rc == SETTLE_OK && (s_concept_has_code(relationship, "prior") ||
                                s_concept_has_code(relationship, "replaces"))) {
            r->has_prior = true;
            rc = s_prior_claim_number(r, related, &number);
            if (rc == SETTLE_OK)
                rc = s_set_text(r, number, NULL, r->claim->original_claim_number,
                                sizeof r->claim->original_claim_number);
        }
        s_pop(r, saved);
    }
    return rc;
}

/* An institutional type of bill: supportingInfo[] with category
 * "typeofbill", its code three digits or four with a leading zero. */
static int s_map_bill_type(s_reader_t *r, const json_t *resource)
{
    const json_t *list, *info, *code;
    size_t i;
    r->bill_type_frequency = 0;
    int rc = s_get(r, resource, "supportingInfo", JSON_ARRAY, false, &list);
    json_array_foreach(list, i, info)
    {
        if (rc != SETTLE_OK || r->claim->kind != CLAIM_KIND_INSTITUTIONAL ||
            !s_concept_has_code(json_object_get(info, "category"), "typeofbill"))
            continue;
        size_t saved = s_push_key(r, "supportingInfo");
        s_push_index(r, i);
        rc = s_concept_code(r, info, "code", NULL, true, &code);
        const char *text = code ? json_string_value(code) : "";
        size_t length = code ? json_string_length(code) : 0;
        if (length == 4 && text[0] == '0')
            text++, length--;
        bool digits = length == 3;
        for (size_t k = 0; k < length; k++)
            digits = digits && text[k] >= '0' && text[k] <= '9';
        if (rc == SETTLE_OK && !digits)
            rc = s_fail(r, code, "code", SETTLE_ERR_SYNTAX,
                        "\"%s\" is not a type of bill; expected three digits (or four with a "
                        "leading zero)",
                        S_SHOW(code));
        if (rc == SETTLE_OK && (rc = CLAIM_SET_TEXT(r->claim->bill_type, text, length)) == 0)
            r->bill_type_frequency = text[2] - '0';
        s_pop(r, saved);
        break;
    }
    return rc;
}

/* The frequency code from status, related[] and the type of bill. */
static int s_map_frequency(s_reader_t *r, const json_t *resource)
{
    const json_t *status = json_object_get(resource, "status");
    if (r->cancelled && !r->has_prior)
        return s_fail(r, status, "status", SETTLE_ERR_MISSING,
                      "\"cancelled\" voids a claim only with a related[] entry whose relationship "
                      "is prior, naming the claim voided");
    int frequency = !r->has_prior  ? CLAIM_FREQUENCY_ORIGINAL
                    : r->cancelled ? CLAIM_FREQUENCY_VOID
                                   : CLAIM_FREQUENCY_REPLACEMENT;
    int billed = r->bill_type_frequency;
    if (billed &&
        ((r->cancelled && billed != CLAIM_FREQUENCY_VOID) ||
         (r->has_prior && billed != CLAIM_FREQUENCY_VOID && billed != CLAIM_FREQUENCY_REPLACEMENT)))
        return s_fail(r, resource, "supportingInfo", SETTLE_ERR_INVALID,
                      "type of bill %s says frequency %d, but status and related[] make it %d",
                      r->claim->bill_type, billed, frequency);
    r->claim->frequency = (uint8_t)(billed ? billed : frequency);
    return SETTLE_OK;
}

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
static int s_read_sequence(s_reader_t *r, const json_t *value, const char *key,
                           uint8_t *sequence_out)
{
    if (!json_is_integer(value) || json_integer_value(value) < 1 ||
        json_integer_value(value) > UINT8_MAX)
        return s_fail(r, value, key, value ? SETTLE_ERR_RANGE : SETTLE_ERR_MISSING,
                      "expected a sequence number 1..%d", UINT8_MAX);
    *sequence_out = (uint8_t)json_integer_value(value);
    return SETTLE_OK;
}

/* Inserts a diagnosis in sequence order; a repeated sequence is an error. */
static int s_insert_diagnosis(s_reader_t *r, const json_t *at, uint8_t sequence, const char *code)
{
    claim_t *claim = r->claim;
    unsigned slot = claim->diagnosis_count;
    while (slot > 0 && r->diagnosis_sequences[slot - 1] >= sequence) {
        if (r->diagnosis_sequences[slot - 1] == sequence)
            return s_fail(r, at, "sequence", SETTLE_ERR_INVALID, "%u is used twice", sequence);
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

static int s_map_diagnosis(s_reader_t *r, const json_t *diagnosis)
{
    const json_t *code;
    uint8_t sequence = 0;
    char stripped[CLAIM_DIAGNOSIS_SIZE] = {0};
    if (!json_is_object(diagnosis))
        return s_fail(r, diagnosis, NULL, SETTLE_ERR_SYNTAX, "expected an object");
    if (json_object_get(diagnosis, "diagnosisReference") &&
        !json_object_get(diagnosis, "diagnosisCodeableConcept"))
        return s_fail(r, diagnosis, "diagnosisReference", SETTLE_ERR_INVALID,
                      "not supported; expected diagnosisCodeableConcept with an ICD-10-CM coding");
    int rc = s_read_sequence(r, json_object_get(diagnosis, "sequence"), "sequence", &sequence);
    if (rc == SETTLE_OK)
        rc = s_concept_code(r, diagnosis, "diagnosisCodeableConcept", s_icd10_systems, true, &code);
    if (rc == SETTLE_OK && !s_icd10_strip(code, stripped, sizeof stripped))
        rc = s_fail(r, code, "diagnosisCodeableConcept", SETTLE_ERR_SYNTAX,
                    "\"%s\" is not an ICD-10-CM code", S_SHOW(code));
    if (rc == SETTLE_OK)
        rc = s_insert_diagnosis(r, diagnosis, sequence, stripped);
    return rc;
}

static int s_map_diagnoses(s_reader_t *r, const json_t *resource)
{
    const json_t *list, *diagnosis;
    size_t i;
    int rc = s_get(r, resource, "diagnosis", JSON_ARRAY, false, &list);
    if (rc == SETTLE_OK && json_array_size(list) > CLAIM_DIAGNOSES_MAX)
        return s_fail(r, list, "diagnosis", SETTLE_ERR_TOO_MANY, "more than %d entries",
                      CLAIM_DIAGNOSES_MAX);
    json_array_foreach(list, i, diagnosis)
    {
        size_t saved = s_push_key(r, "diagnosis");
        s_push_index(r, i);
        rc = s_map_diagnosis(r, diagnosis);
        s_pop(r, saved);
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

static int s_map_item_ndc(s_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *details, *detail, *code = NULL;
    size_t i;
    int rc = s_get(r, item, "detail", JSON_ARRAY, false, &details);
    json_array_foreach(details, i, detail)
    {
        size_t saved = s_push_key(r, "detail");
        s_push_index(r, i);
        rc = s_concept_code(r, detail, "productOrService", s_ndc_systems, false, &code);
        if (rc == SETTLE_OK && code && !s_ndc_normalize(code, line->ndc))
            rc = s_fail(r, code, "productOrService", SETTLE_ERR_SYNTAX,
                        "\"%s\" is not an NDC; expected 11 digits, or 10 as 4-4-2, 5-3-2 or "
                        "5-4-1",
                        S_SHOW(code));
        s_pop(r, saved);
        if (rc != SETTLE_OK || code)
            break;
    }
    return rc;
}

/* A code from a CodeableConcept into a claim field, checked by length and
 * by being digits when digits is nonzero (the exact count it must have). */
static int s_map_code(s_reader_t *r, const json_t *object, const char *key,
                      const char *const *systems, char *field, size_t size, size_t digits)
{
    const json_t *code;
    int rc = s_concept_code(r, object, key, systems, false, &code);
    if (rc != SETTLE_OK || !code)
        return rc;
    const char *text = json_string_value(code);
    size_t length = json_string_length(code);
    bool ok = !digits || length == digits;
    for (size_t i = 0; ok && digits && i < length; i++)
        ok = text[i] >= '0' && text[i] <= '9';
    if (!ok)
        return s_fail(r, code, key, SETTLE_ERR_SYNTAX, "\"%s\" is not %zu digits", S_SHOW(code),
                      digits);
    return s_set_text(r, code, key, field, size);
}

static int s_map_item_codes(s_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *modifiers = NULL, *modifier;
    size_t i;
    int rc = s_map_code(r, item, "productOrService", s_procedure_systems, line->procedure_code,
                        sizeof line->procedure_code, 0);
    if (rc == SETTLE_OK)
        rc = s_map_code(r, item, "revenue", NULL, line->revenue_code, sizeof line->revenue_code, 4);
    if (rc == SETTLE_OK && !line->procedure_code[0] && !line->revenue_code[0])
        return s_fail(r, item, "productOrService", SETTLE_ERR_MISSING,
                      "expected a CPT or HCPCS coding (or a revenue code)");
    if (rc == SETTLE_OK)
        rc = s_map_code(r, item, "locationCodeableConcept", NULL, line->place_of_service,
                        sizeof line->place_of_service, 2);
    if (rc == SETTLE_OK)
        rc = s_get(r, item, "modifier", JSON_ARRAY, false, &modifiers);
    if (rc != SETTLE_OK)
        return rc;
    if (json_array_size(modifiers) > CLAIM_MODIFIERS_MAX)
        return s_fail(r, modifiers, "modifier", SETTLE_ERR_TOO_MANY, "more than %d entries",
                      CLAIM_MODIFIERS_MAX);
    json_array_foreach(modifiers, i, modifier)
    {
        const json_t *code;
        size_t saved = s_push_key(r, "modifier");
        s_push_index(r, i);
        if (rc == SETTLE_OK)
            rc = s_concept_code_of(r, modifier, NULL, true, &code);
        if (rc == SETTLE_OK)
            rc = s_set_text(r, code, NULL, line->modifiers[i], sizeof line->modifiers[i]);
        s_pop(r, saved);
    }
    return rc;
}

static int s_map_item_dates(s_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *period;
    int rc = s_read_date(r, item, "servicedDate", false, &line->service_from);
    if (rc != SETTLE_OK)
        return rc;
    if (line->service_from != DATE_NONE) {
        line->service_to = line->service_from;
        return SETTLE_OK;
    }
    rc = s_get(r, item, "servicedPeriod", JSON_OBJECT, false, &period);
    if (rc != SETTLE_OK)
        return rc;
    if (!period)
        return s_fail(r, item, "servicedDate", SETTLE_ERR_MISSING,
                      "missing; expected servicedDate or servicedPeriod");
    size_t saved = s_push_key(r, "servicedPeriod");
    rc = s_read_date(r, period, "start", true, &line->service_from);
    if (rc == SETTLE_OK && line->service_from == DATE_NONE)
        rc = s_fail(r, period, "start", SETTLE_ERR_MISSING, "missing");
    if (rc == SETTLE_OK)
        rc = s_read_date(r, period, "end", true, &line->service_to);
    if (rc == SETTLE_OK && line->service_to == DATE_NONE)
        line->service_to = line->service_from;
    if (rc == SETTLE_OK && line->service_to < line->service_from)
        rc = s_fail(r, period, "end", SETTLE_ERR_RANGE, "before start");
    s_pop(r, saved);
    return rc;
}

/* units_milli from quantity.value (1 when absent) and charge_cents from
 * net, else from unitPrice x quantity when that is whole cents. */
static int s_map_item_amounts(s_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *quantity;
    bool has_units = false, has_net, has_price;
    int64_t price_cents = 0;
    int rc = s_get(r, item, "quantity", JSON_OBJECT, false, &quantity);
    if (rc == SETTLE_OK && quantity) {
        size_t saved = s_push_key(r, "quantity");
        rc = s_read_decimal(r, quantity, "value", 3, "a quantity", &has_units, &line->units_milli);
        if (rc == SETTLE_OK && (!has_units || line->units_milli == 0))
            rc = s_fail(r, quantity, "value", SETTLE_ERR_RANGE, "expected a positive quantity");
        s_pop(r, saved);
    }
    if (rc != SETTLE_OK)
        return rc;
    if (!has_units)
        line->units_milli = CLAIM_UNITS_MILLI_PER_UNIT;
    rc = s_read_money(r, item, "unitPrice", &has_price, &price_cents);
    if (rc == SETTLE_OK)
        rc = s_read_money(r, item, "net", &has_net, &line->charge_cents);
    if (rc != SETTLE_OK || has_net)
        return rc;
    if (!has_price)
        return s_fail(r, item, "net", SETTLE_ERR_MISSING,
                      "missing, and no unitPrice to compute it");
    int64_t down, up;
    if (money_muldiv(price_cents, line->units_milli, CLAIM_UNITS_MILLI_PER_UNIT, MONEY_ROUND_DOWN,
                     &down) != SETTLE_OK ||
        money_muldiv(price_cents, line->units_milli, CLAIM_UNITS_MILLI_PER_UNIT, MONEY_ROUND_UP,
                     &up) != SETTLE_OK ||
        down != up)
        return s_fail(r, item, "net", SETTLE_ERR_MISSING,
                      "missing, and unitPrice x quantity is not a whole number of cents");
    line->charge_cents = down;
    return SETTLE_OK;
}

/* diagnosisSequence[] -> 1-based positions in the sorted diagnosis list. */
static int s_map_item_pointers(s_reader_t *r, const json_t *item, claim_line_t *line)
{
    const json_t *list, *value;
    size_t i;
    int rc = s_get(r, item, "diagnosisSequence", JSON_ARRAY, false, &list);
    if (rc == SETTLE_OK && json_array_size(list) > CLAIM_POINTERS_MAX)
        return s_fail(r, list, "diagnosisSequence", SETTLE_ERR_TOO_MANY, "more than %d entries",
                      CLAIM_POINTERS_MAX);
    json_array_foreach(list, i, value)
    {
        uint8_t sequence = 0, position = 0;
        size_t saved = s_push_key(r, "diagnosisSequence");
        s_push_index(r, i);
        if (rc == SETTLE_OK)
            rc = s_read_sequence(r, value, NULL, &sequence);
        for (uint8_t k = 0; k < r->claim->diagnosis_count && !position; k++)
            if (r->diagnosis_sequences[k] == sequence)
                position = (uint8_t)(k + 1);
        if (rc == SETTLE_OK && !position)
            rc = s_fail(r, value, NULL, SETTLE_ERR_NOT_FOUND, "no diagnosis has sequence %u",
                        sequence);
        s_pop(r, saved);
        if (rc != SETTLE_OK)
            break;
        line->diagnosis_pointers[i] = position;
    }
    return rc;
}

static int s_map_item(s_reader_t *r, const json_t *item)
{
    claim_line_t *line;
    if (!json_is_object(item))
        return s_fail(r, item, NULL, SETTLE_ERR_SYNTAX, "expected an object");
    if (json_object_get(item, "modifierExtension"))
        return s_fail(r, item, "modifierExtension", SETTLE_ERR_INVALID,
                      "not understood, so the item cannot be read");
    int rc = claim_add_line(r->claim, &line);
    if (rc != SETTLE_OK)
        return s_fail(r, item, NULL, rc, "%s", settle_strerror(rc));
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
static int s_map_items(s_reader_t *r, const json_t *resource)
{
    const json_t *items, *item;
    size_t i;
    claim_t *claim = r->claim;
    int rc = s_get(r, resource, "item", JSON_ARRAY, true, &items);
    if (rc == SETTLE_OK && json_array_size(items) == 0)
        return s_fail(r, items, "item", SETTLE_ERR_MISSING, "expected at least one item");
    if (rc == SETTLE_OK && json_array_size(items) > CLAIM_LINES_MAX)
        return s_fail(r, items, "item", SETTLE_ERR_TOO_MANY, "more than %d items", CLAIM_LINES_MAX);
    if (rc == SETTLE_OK && (rc = claim_reserve_lines(claim, (uint32_t)json_array_size(items))))
        return s_fail(r, items, "item", rc, "%s", settle_strerror(rc));
    json_array_foreach(items, i, item)
    {
        size_t saved = s_push_key(r, "item");
        s_push_index(r, i);
        rc = s_map_item(r, item);
        s_pop(r, saved);
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

/* total.value against the sum of the item nets; the sum when absent. */
static int s_map_total(s_reader_t *r, const json_t *resource)
{
    int64_t sum = 0, total;
    bool present;
    for (uint32_t i = 0; i < r->claim->line_count; i++)
        if (money_add(sum, r->claim->lines[i].charge_cents, &sum) != SETTLE_OK)
            return s_fail(r, resource, "item", SETTLE_ERR_OVERFLOW, "the nets overflow");
    int rc = s_read_money(r, resource, "total", &present, &total);
    if (rc != SETTLE_OK)
        return rc;
    if (present && total != sum) {
        char total_text[MONEY_TEXT_SIZE], sum_text[MONEY_TEXT_SIZE];
        money_format(total, total_text, sizeof total_text);
        money_format(sum, sum_text, sizeof sum_text);
        size_t saved = s_push_key(r, "total");
        rc = s_fail(r, json_object_get(json_object_get(resource, "total"), "value"), "value",
                    SETTLE_ERR_INVALID, "%s is not the sum of the item nets %s", total_text,
                    sum_text);
        s_pop(r, saved);
        return rc;
    }
    r->claim->total_charge_cents = sum;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * One Claim
 * ------------------------------------------------------------------------ */

static int s_map_claim(s_reader_t *r, const json_t *resource)
{
    const json_t *patient = NULL;
    if (json_object_get(resource, "modifierExtension"))
        return s_fail(r, resource, "modifierExtension", SETTLE_ERR_INVALID,
                      "not understood, so the Claim cannot be read");
    int rc = s_map_identifier(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_status(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_type(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_patient(r, resource, &patient);
    if (rc == SETTLE_OK)
        rc = s_map_member(r, resource, patient);
    if (rc == SETTLE_OK)
        rc = s_map_provider(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_insurer(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_care_team(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_related(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_bill_type(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_frequency(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_diagnoses(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_items(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_total(r, resource);
    return rc;
}

/*
 * Maps the Claim at path (the root's "" or "entry[i].resource"), checks it
 * and hands it to the callbacks.  A Claim that fails is reported and does
 * not stop the reading.
 */
static void s_read_claim(s_reader_t *r, const json_t *resource, const char *path)
{
    claim_reset(r->claim);
    settle_error_clear(&r->error);
    settle_error_file(&r->error, r->file);
    snprintf(r->path.text, sizeof r->path.text, "%s", path);
    r->resource = resource;
    int rc = s_map_claim(r, resource);
    if (rc == SETTLE_OK && !r->skip_validation) {
        settle_error_t check;
        settle_error_clear(&check);
        rc = claim_validate(r->claim, &check);
        if (rc != SETTLE_OK)
            s_fail(r, resource, NULL, rc, "%s", check.message);
    }
    if (rc == SETTLE_ERR_NOMEM) { /* not the claim's fault: stop, and say why */
        r->stop = SETTLE_ERR_NOMEM;
        return;
    }
    if (rc != SETTLE_OK) {
        s_report(r, FHIR_CLAIM_REJECTED, r->claim->claim_id);
        return;
    }
    r->stats.claims_delivered++;
    if (!r->stop && r->callbacks && r->callbacks->claim)
        r->stop = r->callbacks->claim(r->claim, r->context);
}

/* ------------------------------------------------------------------------
 * The document: a Claim or a Bundle
 * ------------------------------------------------------------------------ */

/* A document error at path (key may be NULL): reported at once. */
__attribute__((format(printf, 5, 6))) static void
s_document_fail(s_reader_t *r, const json_t *at, const char *key, int code, const char *format, ...)
{
    char reason[SETTLE_ERROR_MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    settle_error_clear(&r->error);
    settle_error_file(&r->error, r->file);
    s_fail(r, at, key, code, "%s", reason);
    s_report(r, FHIR_DOCUMENT_ERROR, "");
}

/* Each entry of a Bundle: Claims are read, other resources left for the
 * Claims' references; an entry without a resource is a document error. */
static void s_read_entries(s_reader_t *r, const json_t *entries)
{
    const json_t *entry;
    size_t i;
    uint32_t claims = 0;
    json_array_foreach(entries, i, entry)
    {
        if (r->stop)
            return;
        r->stats.entries++;
        const json_t *resource = json_object_get(entry, "resource");
        const json_t *type = json_object_get(resource, "resourceType");
        snprintf(r->path.text, sizeof r->path.text, "entry[%zu]", i);
        if (!json_is_object(entry))
            s_document_fail(r, entry, NULL, SETTLE_ERR_SYNTAX, "expected an object");
        else if (!json_is_object(resource) || !json_is_string(type))
            s_document_fail(r, entry, "resource", SETTLE_ERR_MISSING,
                            "expected a resource with a resourceType");
        else if (s_string_is(type, "Claim")) {
            char path[S_PATH_SIZE];
            snprintf(path, sizeof path, "entry[%zu].resource", i);
            claims++;
            s_read_claim(r, resource, path);
        }
    }
    r->path.text[0] = '\0';
    if (claims == 0 && !r->stop)
        s_document_fail(r, entries, "entry", SETTLE_ERR_MISSING, "no Claim in the Bundle");
}

static void s_read_bundle(s_reader_t *r, const json_t *bundle)
{
    const json_t *type = json_object_get(bundle, "type"), *entries;
    if (!s_string_is(type, "collection") && !s_string_is(type, "batch") &&
        !s_string_is(type, "transaction")) {
        s_document_fail(r, type ? type : bundle, "type", SETTLE_ERR_INVALID,
                        "expected a Bundle of type collection, batch or transaction");
        return;
    }
    if (s_get(r, bundle, "entry", JSON_ARRAY, false, &entries) != SETTLE_OK) {
        s_report(r, FHIR_DOCUMENT_ERROR, "");
        return;
    }
    if (json_array_size(entries) > FHIR_BUNDLE_ENTRIES_MAX) {
        s_document_fail(r, entries, "entry", SETTLE_ERR_TOO_MANY, "more than %u entries",
                        FHIR_BUNDLE_ENTRIES_MAX);
        return;
    }
    r->entries = entries;
    s_read_entries(r, entries);
}

static void s_read_root(s_reader_t *r, const json_t *root)
{
    const json_t *type = json_object_get(root, "resourceType");
    if (!json_is_object(root))
        s_document_fail(r, root, NULL, SETTLE_ERR_SYNTAX,
                        "expected a FHIR resource (a JSON object)");
    else if (s_string_is(type, "Claim"))
        s_read_claim(r, root, "");
    else if (s_string_is(type, "Bundle"))
        s_read_bundle(r, root);
    else if (json_is_string(type))
        s_document_fail(r, type, "resourceType", SETTLE_ERR_INVALID,
                        "\"%s\" is not read here; expected Claim or Bundle", S_SHOW(type));
    else
        s_document_fail(r, root, "resourceType", SETTLE_ERR_MISSING,
                        "missing; expected Claim or Bundle");
}

int fhir_claim_read(const char *text, size_t length, const char *file,
                    const fhir_claim_callbacks_t *callbacks, void *context,
                    const fhir_claim_options_t *options, fhir_claim_stats_t *stats_out)
{
    s_reader_t r = {.file = file, .callbacks = callbacks, .context = context};
    r.skip_validation = options && options->skip_validation;
    fhir_json_t *document = NULL;
    settle_error_clear(&r.error);
    settle_error_file(&r.error, file);
    int rc = fhir_json_load(text, length, &document, &r.error);
    if (rc == SETTLE_OK && !(r.claim = claim_new()))
        rc = SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK) {
        r.document = document;
        s_read_root(&r, fhir_json_root(document));
    } else if (rc != SETTLE_ERR_NOMEM) {
        s_report(&r, FHIR_DOCUMENT_ERROR, "");
        rc = SETTLE_OK;
    }
    claim_destroy(&r.claim);
    fhir_json_destroy(&document);
    if (stats_out)
        *stats_out = r.stats;
    return r.stop ? r.stop : rc;
}
