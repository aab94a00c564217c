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
 *   patient names       that Patient's name[] entry with use "official", else
 *                       its first: family, given[0] (first), given[1]
 *                       (middle); further given names are read past.
 *   patient address     its address[] entry with use "home", else its first:
 *                       line[0], line[1], city, state, postalCode.  A name
 *                       or address longer than claim.h holds is refused.
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
 *
 * The FHIR datatypes (paths and errors, CodeableConcept, Identifier, date,
 * Period, decimal, Money, References) are read by fhir_types.c, through
 * the private header fhir_read.h; the diagnoses and items are mapped by
 * fhir_claim_items.c, through the same header; this file holds the rest of
 * the mapping and the walk of the document.
 */
#include "settle/fhir.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/date.h"
#include "settle/money.h"

#include "fhir_read.h"

static const char *const s_claim_type_systems[] = {FHIR_SYSTEM_CLAIM_TYPE, NULL};

/* ------------------------------------------------------------------------
 * Reporting, and text into claim fields
 * ------------------------------------------------------------------------ */

static void s_report(fhir_claim_reader_t *r, fhir_problem_t problem, const char *claim_id)
{
    if (problem == FHIR_CLAIM_REJECTED)
        r->stats.claims_rejected++;
    else
        r->stats.document_errors++;
    if (!r->stop && r->callbacks && r->callbacks->problem)
        r->stop = r->callbacks->problem(problem, claim_id, &r->cursor.error, r->context);
}

/* Copies a string value into a claim field; key names it in errors. */
int fhir_claim_set_text(fhir_claim_reader_t *r, const json_t *value, const char *key, char *field,
                        size_t size)
{
    int rc = claim_set_text(field, size, json_string_value(value), json_string_length(value));
    if (rc == SETTLE_ERR_TOO_LONG)
        return fhir_fail(&r->cursor, value, key, rc, "\"%s\" is longer than %zu characters",
                         FHIR_SHOW(value), size - 1);
    if (rc != SETTLE_OK)
        return fhir_fail(&r->cursor, value, key, rc, "expected printable ASCII characters only");
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * The Claim's header: identifier, status, use, type
 * ------------------------------------------------------------------------ */

static int s_map_identifier(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *identifiers, *value;
    int rc = fhir_get(&r->cursor, resource, "identifier", JSON_ARRAY, false, &identifiers);
    if (rc != SETTLE_OK)
        return rc;
    const json_t *first = json_array_get(identifiers, 0);
    if (!first)
        return fhir_fail(&r->cursor, identifiers ? identifiers : resource, "identifier",
                         SETTLE_ERR_MISSING,
                         "missing; expected identifier[0].value, the claim number");
    size_t saved = fhir_push_key(&r->cursor, "identifier");
    fhir_push_index(&r->cursor, 0);
    if (!json_is_object(first))
        rc = fhir_fail(&r->cursor, first, NULL, SETTLE_ERR_SYNTAX, "expected an Identifier object");
    if (rc == SETTLE_OK)
        rc = fhir_get(&r->cursor, first, "value", JSON_STRING, true, &value);
    if (rc == SETTLE_OK)
        rc = fhir_claim_set_text(r, value, "value", r->claim->claim_id, sizeof r->claim->claim_id);
    fhir_pop(&r->cursor, saved);
    return rc;
}

static int s_map_status(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *status, *use;
    int rc = fhir_get(&r->cursor, resource, "status", JSON_STRING, true, &status);
    if (rc != SETTLE_OK)
        return rc;
    r->cancelled = fhir_string_is(status, "cancelled");
    if (!r->cancelled && !fhir_string_is(status, "active"))
        return fhir_fail(&r->cursor, status, "status", SETTLE_ERR_INVALID,
                         "\"%s\" is not accepted; expected \"active\" (or \"cancelled\" with a "
                         "prior claim in related, to void it)",
                         FHIR_SHOW(status));
    rc = fhir_get(&r->cursor, resource, "use", JSON_STRING, true, &use);
    if (rc == SETTLE_OK && !fhir_string_is(use, "claim"))
        rc = fhir_fail(&r->cursor, use, "use", SETTLE_ERR_INVALID,
                       "\"%s\" is not accepted; expected \"claim\"", FHIR_SHOW(use));
    if (rc == SETTLE_OK) /* the day the claim was made: timely filing counts from it */
        rc = fhir_read_date(&r->cursor, resource, "created", true, &r->claim->created);
    return rc;
}

static int s_map_type(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *code;
    int rc = fhir_concept_code(&r->cursor, resource, "type", s_claim_type_systems, true, &code);
    if (rc != SETTLE_OK)
        return rc;
    if (fhir_string_is(code, "professional"))
        r->claim->kind = CLAIM_KIND_PROFESSIONAL;
    else if (fhir_string_is(code, "institutional"))
        r->claim->kind = CLAIM_KIND_INSTITUTIONAL;
    else
        return fhir_fail(&r->cursor, code, "type", SETTLE_ERR_INVALID,
                         "\"%s\" is not accepted; expected professional or institutional",
                         FHIR_SHOW(code));
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * The parties: patient, member, provider, insurer, care team
 * ------------------------------------------------------------------------ */

static int s_map_gender(fhir_claim_reader_t *r, const json_t *patient)
{
    const json_t *gender;
    int rc = fhir_get(&r->cursor, patient, "gender", JSON_STRING, false, &gender);
    if (rc != SETTLE_OK || !gender)
        return rc;
    if (fhir_string_is(gender, "female"))
        r->claim->patient_sex = CLAIM_SEX_FEMALE;
    else if (fhir_string_is(gender, "male"))
        r->claim->patient_sex = CLAIM_SEX_MALE;
    else if (fhir_string_is(gender, "other") || fhir_string_is(gender, "unknown"))
        r->claim->patient_sex = CLAIM_SEX_UNKNOWN;
    else
        return fhir_fail(&r->cursor, gender, "gender", SETTLE_ERR_INVALID,
                         "\"%s\" is not a gender; expected female, male, other or unknown",
                         FHIR_SHOW(gender));
    return SETTLE_OK;
}

/* The entry of list whose "use" is use, else the first; *index_out its
 * index.  NULL for an empty list. */
static const json_t *s_entry_for_use(const json_t *list, const char *use, size_t *index_out)
{
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        if (fhir_string_is(json_object_get(item, "use"), use)) {
            *index_out = i;
            return item;
        }
    }
    *index_out = 0;
    return json_array_get(list, 0);
}

/* The first count strings of holder[key] (an array, may be absent) into
 * fields, each of its size; strings past count are read past. */
static int s_text_list(fhir_claim_reader_t *r, const json_t *holder, const char *key,
                       char *const *fields, const size_t *sizes, size_t count)
{
    const json_t *list;
    int rc = fhir_get(&r->cursor, holder, key, JSON_ARRAY, false, &list);
    for (size_t i = 0; rc == SETTLE_OK && list && i < count && i < json_array_size(list); i++) {
        const json_t *item = json_array_get(list, i);
        size_t saved = fhir_push_key(&r->cursor, key);
        fhir_push_index(&r->cursor, i);
        if (!json_is_string(item))
            rc = fhir_fail(&r->cursor, item, NULL, SETTLE_ERR_SYNTAX, "expected a string");
        else
            rc = fhir_claim_set_text(r, item, NULL, fields[i], sizes[i]);
        fhir_pop(&r->cursor, saved);
    }
    return rc;
}

/* holder[key] when a string (may be absent) into field. */
static int s_text_of(fhir_claim_reader_t *r, const json_t *holder, const char *key, char *field,
                     size_t size)
{
    const json_t *value;
    int rc = fhir_get(&r->cursor, holder, key, JSON_STRING, false, &value);
    if (rc == SETTLE_OK && value)
        rc = fhir_claim_set_text(r, value, key, field, size);
    return rc;
}

/* The Patient's name[] (family, given) and address[] (line, city, state,
 * postalCode) into claim->patient; the cursor is at the Patient. */
static int s_map_patient_block(fhir_claim_reader_t *r, const json_t *patient)
{
    claim_patient_t *p = &r->claim->patient;
    const char *const keys[2] = {"name", "address"}, *const uses[2] = {"official", "home"};
    int rc = SETTLE_OK;
    for (int k = 0; k < 2 && rc == SETTLE_OK; k++) {
        const json_t *list, *entry;
        size_t index;
        rc = fhir_get(&r->cursor, patient, keys[k], JSON_ARRAY, false, &list);
        if (rc != SETTLE_OK || !list || !(entry = s_entry_for_use(list, uses[k], &index)))
            continue;
        size_t saved = fhir_push_key(&r->cursor, keys[k]);
        fhir_push_index(&r->cursor, index);
        if (!json_is_object(entry)) {
            rc = fhir_fail(&r->cursor, entry, NULL, SETTLE_ERR_SYNTAX,
                           k == 0 ? "expected a HumanName object" : "expected an Address object");
        } else if (k == 0) {
            char *const given[] = {p->first_name, p->middle_name};
            const size_t given_sizes[] = {sizeof p->first_name, sizeof p->middle_name};
            rc = s_text_of(r, entry, "family", p->last_name, sizeof p->last_name);
            if (rc == SETTLE_OK)
                rc = s_text_list(r, entry, "given", given, given_sizes, 2);
        } else {
            char *const lines[] = {p->address_1, p->address_2};
            const size_t line_sizes[] = {sizeof p->address_1, sizeof p->address_2};
            rc = s_text_list(r, entry, "line", lines, line_sizes, 2);
            if (rc == SETTLE_OK)
                rc = s_text_of(r, entry, "city", p->city, sizeof p->city);
            if (rc == SETTLE_OK)
                rc = s_text_of(r, entry, "state", p->state, sizeof p->state);
            if (rc == SETTLE_OK)
                rc = s_text_of(r, entry, "postalCode", p->postal_code, sizeof p->postal_code);
        }
        fhir_pop(&r->cursor, saved);
    }
    return rc;
}

/* Reads the Patient's birth date, sex, names and address; *patient_out is
 * the Patient resource, or NULL when the reference names nothing in this
 * document. */
static int s_map_patient(fhir_claim_reader_t *r, const json_t *resource, const json_t **patient_out)
{
    const json_t *reference;
    fhir_target_t target;
    *patient_out = NULL;
    int rc = fhir_get(&r->cursor, resource, "patient", JSON_OBJECT, true, &reference);
    if (rc == SETTLE_OK)
        rc = fhir_resolve_key(&r->cursor, resource, "patient", "Patient", &reference, &target);
    if (rc != SETTLE_OK || !target.resource)
        return rc;
    fhir_path_t saved = r->cursor.path;
    r->cursor.path = target.path;
    rc = fhir_read_date(&r->cursor, target.resource, "birthDate", false,
                        &r->claim->patient_birth_date);
    if (rc == SETTLE_OK)
        rc = s_map_gender(r, target.resource);
    if (rc == SETTLE_OK)
        rc = s_map_patient_block(r, target.resource);
    r->cursor.path = saved;
    *patient_out = target.resource;
    return rc;
}

/* The focal insurance[] entry, else the first. */
static int s_focal_insurance(fhir_claim_reader_t *r, const json_t *resource,
                             const json_t **insurance_out, size_t *index_out)
{
    const json_t *list, *insurance;
    size_t i;
    int rc = fhir_get(&r->cursor, resource, "insurance", JSON_ARRAY, true, &list);
    *insurance_out = NULL;
    if (rc != SETTLE_OK)
        return rc;
    json_array_foreach(list, i, insurance)
    {
        if (!json_is_object(insurance)) {
            size_t saved = fhir_push_key(&r->cursor, "insurance");
            fhir_push_index(&r->cursor, i);
            rc = fhir_fail(&r->cursor, insurance, NULL, SETTLE_ERR_SYNTAX, "expected an object");
            fhir_pop(&r->cursor, saved);
            return rc;
        }
        bool focal = json_is_true(json_object_get(insurance, "focal"));
        if (!*insurance_out || (focal && !json_is_true(json_object_get(*insurance_out, "focal")))) {
            *insurance_out = insurance;
            *index_out = i;
        }
    }
    if (!*insurance_out)
        return fhir_fail(&r->cursor, list, "insurance", SETTLE_ERR_MISSING,
                         "expected at least one entry");
    return SETTLE_OK;
}

/* The member id from a resolved Coverage, else the reference's identifier. */
static int s_coverage_member(fhir_claim_reader_t *r, const json_t *insurance,
                             const json_t **member_out)
{
    const json_t *reference;
    fhir_target_t target;
    *member_out = NULL;
    int rc = fhir_resolve_key(&r->cursor, insurance, "coverage", "Coverage", &reference, &target);
    if (rc == SETTLE_OK && target.resource) {
        fhir_path_t saved = r->cursor.path;
        r->cursor.path = target.path;
        rc = fhir_get(&r->cursor, target.resource, "subscriberId", JSON_STRING, false, member_out);
        if (rc == SETTLE_OK && !*member_out)
            rc = fhir_identifier_find(&r->cursor, target.resource, "identifier", NULL, "MB",
                                      member_out);
        if (rc == SETTLE_OK && !*member_out)
            rc = fhir_identifier_find(&r->cursor, target.resource, "identifier", NULL, NULL,
                                      member_out);
        r->cursor.path = saved;
    }
    if (rc == SETTLE_OK && !*member_out && reference) {
        size_t saved = fhir_push_key(&r->cursor, "coverage");
        rc = fhir_identifier_find(&r->cursor, reference, "identifier", NULL, NULL, member_out);
        fhir_pop(&r->cursor, saved);
    }
    return rc;
}

static int s_map_prior_authorization(fhir_claim_reader_t *r, const json_t *insurance)
{
    const json_t *list, *first;
    int rc = fhir_get(&r->cursor, insurance, "preAuthRef", JSON_ARRAY, false, &list);
    if (rc != SETTLE_OK || !(first = json_array_get(list, 0)))
        return rc;
    size_t saved = fhir_push_key(&r->cursor, "preAuthRef");
    fhir_push_index(&r->cursor, 0);
    if (!json_is_string(first))
        rc = fhir_fail(&r->cursor, first, NULL, SETTLE_ERR_SYNTAX, "expected a string");
    else
        rc = fhir_claim_set_text(r, first, NULL, r->claim->prior_authorization,
                                 sizeof r->claim->prior_authorization);
    fhir_pop(&r->cursor, saved);
    return rc;
}

/* member_id and prior_authorization, from insurance[] and the Patient. */
static int s_map_member(fhir_claim_reader_t *r, const json_t *resource, const json_t *patient)
{
    const json_t *insurance, *member = NULL;
    size_t index = 0;
    int rc = s_focal_insurance(r, resource, &insurance, &index);
    if (rc != SETTLE_OK)
        return rc;
    size_t saved = fhir_push_key(&r->cursor, "insurance");
    fhir_push_index(&r->cursor, index);
    rc = s_coverage_member(r, insurance, &member);
    if (rc == SETTLE_OK)
        rc = s_map_prior_authorization(r, insurance);
    if (rc == SETTLE_OK && !member && patient)
        rc = fhir_identifier_find(&r->cursor, patient, "identifier", NULL, "MB", &member);
    if (rc == SETTLE_OK && !member)
        rc = fhir_fail(&r->cursor, insurance, "coverage", SETTLE_ERR_MISSING,
                       "no member id; expected Coverage.subscriberId, a Coverage identifier, or a "
                       "Patient identifier of type MB");
    if (rc == SETTLE_OK)
        rc = fhir_claim_set_text(r, member, NULL, r->claim->member_id, sizeof r->claim->member_id);
    fhir_pop(&r->cursor, saved);
    return rc;
}

static int s_map_provider(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *npi;
    int rc = fhir_reference_npi(&r->cursor, resource, "provider", &npi);
    if (rc != SETTLE_OK)
        return rc;
    if (!npi)
        return fhir_fail(&r->cursor, json_object_get(resource, "provider"), "provider",
                         SETTLE_ERR_MISSING,
                         "no NPI; expected an identifier with system " FHIR_SYSTEM_NPI);
    size_t saved = fhir_push_key(&r->cursor, "provider");
    rc = fhir_claim_set_text(r, npi, NULL, r->claim->billing_npi, sizeof r->claim->billing_npi);
    fhir_pop(&r->cursor, saved);
    return rc;
}

static int s_map_insurer(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *reference, *payer = NULL;
    fhir_target_t target;
    int rc = fhir_resolve_key(&r->cursor, resource, "insurer", "Organization", &reference, &target);
    size_t saved = fhir_push_key(&r->cursor, "insurer");
    if (rc == SETTLE_OK && reference)
        rc = fhir_identifier_find(&r->cursor, reference, "identifier", NULL, NULL, &payer);
    if (rc == SETTLE_OK && !payer && target.resource) {
        fhir_path_t path = r->cursor.path;
        r->cursor.path = target.path;
        rc = fhir_identifier_find(&r->cursor, target.resource, "identifier", NULL, NULL, &payer);
        r->cursor.path = path;
    }
    if (rc == SETTLE_OK && !payer)
        rc = fhir_fail(&r->cursor, reference ? reference : resource, NULL, SETTLE_ERR_MISSING,
                       "no payer id; expected insurer.identifier.value or an Organization with an "
                       "identifier");
    if (rc == SETTLE_OK)
        rc = fhir_claim_set_text(r, payer, NULL, r->claim->payer_id, sizeof r->claim->payer_id);
    fhir_pop(&r->cursor, saved);
    return rc;
}

/* rendering_npi: the first careTeam member in a rendering role with an NPI. */
static int s_map_care_team(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *team, *member, *npi = NULL;
    size_t i;
    int rc = fhir_get(&r->cursor, resource, "careTeam", JSON_ARRAY, false, &team);
    json_array_foreach(team, i, member)
    {
        if (rc != SETTLE_OK || npi)
            break;
        const json_t *role = json_object_get(member, "role");
        if (!fhir_concept_has_code(role, "primary") && !fhir_concept_has_code(role, "performing") &&
            !fhir_concept_has_code(role, "rendering"))
            continue;
        size_t saved = fhir_push_key(&r->cursor, "careTeam");
        fhir_push_index(&r->cursor, i);
        rc = fhir_reference_npi(&r->cursor, member, "provider", &npi);
        if (rc == SETTLE_OK && npi)
            rc = fhir_claim_set_text(r, npi, "provider", r->claim->rendering_npi,
                                     sizeof r->claim->rendering_npi);
        fhir_pop(&r->cursor, saved);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Replacements and voids: related[], status, the type of bill
 * ------------------------------------------------------------------------ */

/* The original claim's number from a related[] entry naming a prior claim. */
static int s_prior_claim_number(fhir_claim_reader_t *r, const json_t *related,
                                const json_t **number_out)
{
    const json_t *reference;
    fhir_target_t target;
    *number_out = NULL;
    int rc = fhir_resolve_key(&r->cursor, related, "claim", "Claim", &reference, &target);
    size_t saved = fhir_push_key(&r->cursor, "claim");
    if (rc == SETTLE_OK && reference)
        rc = fhir_identifier_find(&r->cursor, reference, "identifier", NULL, NULL, number_out);
    fhir_pop(&r->cursor, saved);
    if (rc == SETTLE_OK && !*number_out && target.resource) {
        fhir_path_t path = r->cursor.path;
        r->cursor.path = target.path;
        const json_t *first = json_array_get(json_object_get(target.resource, "identifier"), 0);
        rc = fhir_get(&r->cursor, first, "value", JSON_STRING, false, number_out);
        r->cursor.path = path;
    }
    if (rc == SETTLE_OK && !*number_out)
        rc = fhir_identifier_find(&r->cursor, related, "reference", NULL, NULL, number_out);
    if (rc == SETTLE_OK && !*number_out)
        rc = fhir_fail(&r->cursor, related, NULL, SETTLE_ERR_MISSING,
                       "a prior claim without its number; expected claim.identifier.value");
    return rc;
}

/* original_claim_number from the first related[] entry whose relationship
 * is prior (or replaces); r->has_prior says whether there was one. */
static int s_map_related(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *list, *related, *number;
    size_t i;
    r->has_prior = false;
    int rc = fhir_get(&r->cursor, resource, "related", JSON_ARRAY, false, &list);
    json_array_foreach(list, i, related)
    {
        if (rc != SETTLE_OK || r->has_prior)
            break;
        size_t saved = fhir_push_key(&r->cursor, "related");
        fhir_push_index(&r->cursor, i);
        if (!json_is_object(related))
            rc = fhir_fail(&r->cursor, related, NULL, SETTLE_ERR_SYNTAX, "expected an object");
        const json_t *relationship = json_object_get(related, "relationship");
        if (rc == SETTLE_OK && (fhir_concept_has_code(relationship, "prior") ||
                                fhir_concept_has_code(relationship, "replaces"))) {
            r->has_prior = true;
            rc = s_prior_claim_number(r, related, &number);
            if (rc == SETTLE_OK)
                rc = fhir_claim_set_text(r, number, NULL, r->claim->original_claim_number,
                                         sizeof r->claim->original_claim_number);
        }
        fhir_pop(&r->cursor, saved);
    }
    return rc;
}

/* An institutional type of bill: supportingInfo[] with category
 * "typeofbill", its code three digits or four with a leading zero. */
static int s_map_bill_type(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *list, *info, *code;
    size_t i;
    r->bill_type_frequency = 0;
    int rc = fhir_get(&r->cursor, resource, "supportingInfo", JSON_ARRAY, false, &list);
    json_array_foreach(list, i, info)
    {
        if (rc != SETTLE_OK || r->claim->kind != CLAIM_KIND_INSTITUTIONAL ||
            !fhir_concept_has_code(json_object_get(info, "category"), "typeofbill"))
            continue;
        size_t saved = fhir_push_key(&r->cursor, "supportingInfo");
        fhir_push_index(&r->cursor, i);
        rc = fhir_concept_code(&r->cursor, info, "code", NULL, true, &code);
        const char *text = code ? json_string_value(code) : "";
        size_t length = code ? json_string_length(code) : 0;
        if (length == 4 && text[0] == '0')
            text++, length--;
        bool digits = length == 3;
        for (size_t k = 0; k < length; k++)
            digits = digits && text[k] >= '0' && text[k] <= '9';
        if (rc == SETTLE_OK && !digits)
            rc = fhir_fail(&r->cursor, code, "code", SETTLE_ERR_SYNTAX,
                           "\"%s\" is not a type of bill; expected three digits (or four with a "
                           "leading zero)",
                           FHIR_SHOW(code));
        if (rc == SETTLE_OK && (rc = CLAIM_SET_TEXT(r->claim->bill_type, text, length)) == 0)
            r->bill_type_frequency = text[2] - '0';
        fhir_pop(&r->cursor, saved);
        break;
    }
    return rc;
}

/* The frequency code from status, related[] and the type of bill. */
static int s_map_frequency(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *status = json_object_get(resource, "status");
    if (r->cancelled && !r->has_prior)
        return fhir_fail(
            &r->cursor, status, "status", SETTLE_ERR_MISSING,
            "\"cancelled\" voids a claim only with a related[] entry whose relationship "
            "is prior, naming the claim voided");
    int frequency = !r->has_prior  ? CLAIM_FREQUENCY_ORIGINAL
                    : r->cancelled ? CLAIM_FREQUENCY_VOID
                                   : CLAIM_FREQUENCY_REPLACEMENT;
    int billed = r->bill_type_frequency;
    if (billed &&
        ((r->cancelled && billed != CLAIM_FREQUENCY_VOID) ||
         (r->has_prior && billed != CLAIM_FREQUENCY_VOID && billed != CLAIM_FREQUENCY_REPLACEMENT)))
        return fhir_fail(&r->cursor, resource, "supportingInfo", SETTLE_ERR_INVALID,
                         "type of bill %s says frequency %d, but status and related[] make it %d",
                         r->claim->bill_type, billed, frequency);
    r->claim->frequency = (uint8_t)(billed ? billed : frequency);
    return SETTLE_OK;
}

/* total.value against the sum of the item nets; the sum when absent. */
static int s_map_total(fhir_claim_reader_t *r, const json_t *resource)
{
    int64_t sum = 0, total;
    bool present;
    for (uint32_t i = 0; i < r->claim->line_count; i++)
        if (money_add(sum, r->claim->lines[i].charge_cents, &sum) != SETTLE_OK)
            return fhir_fail(&r->cursor, resource, "item", SETTLE_ERR_OVERFLOW,
                             "the nets overflow");
    int rc = fhir_read_money(&r->cursor, resource, "total", &present, &total);
    if (rc != SETTLE_OK)
        return rc;
    if (present && total != sum) {
        char total_text[MONEY_TEXT_SIZE], sum_text[MONEY_TEXT_SIZE];
        money_format(total, total_text, sizeof total_text);
        money_format(sum, sum_text, sizeof sum_text);
        size_t saved = fhir_push_key(&r->cursor, "total");
        rc = fhir_fail(&r->cursor, json_object_get(json_object_get(resource, "total"), "value"),
                       "value", SETTLE_ERR_INVALID, "%s is not the sum of the item nets %s",
                       total_text, sum_text);
        fhir_pop(&r->cursor, saved);
        return rc;
    }
    r->claim->total_charge_cents = sum;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * One Claim
 * ------------------------------------------------------------------------ */

static int s_map_claim(fhir_claim_reader_t *r, const json_t *resource)
{
    const json_t *patient = NULL;
    if (json_object_get(resource, "modifierExtension"))
        return fhir_fail(&r->cursor, resource, "modifierExtension", SETTLE_ERR_INVALID,
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
        rc = fhir_claim_map_diagnoses(r, resource);
    if (rc == SETTLE_OK)
        rc = fhir_claim_map_items(r, resource);
    if (rc == SETTLE_OK)
        rc = s_map_total(r, resource);
    return rc;
}

/*
 * Maps the Claim at path (the root's "" or "entry[i].resource"), checks it
 * and hands it to the callbacks.  A Claim that fails is reported and does
 * not stop the reading.
 */
static void s_read_claim(fhir_claim_reader_t *r, const json_t *resource, const char *path)
{
    claim_reset(r->claim);
    settle_error_clear(&r->cursor.error);
    settle_error_file(&r->cursor.error, r->file);
    snprintf(r->cursor.path.text, sizeof r->cursor.path.text, "%s", path);
    r->cursor.resource = resource;
    int rc = s_map_claim(r, resource);
    if (rc == SETTLE_OK && !r->skip_validation) {
        settle_error_t check;
        settle_error_clear(&check);
        rc = claim_validate(r->claim, &check);
        if (rc != SETTLE_OK)
            fhir_fail(&r->cursor, resource, NULL, rc, "%s", check.message);
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
__attribute__((format(printf, 5, 6))) static void s_document_fail(fhir_claim_reader_t *r,
                                                                  const json_t *at, const char *key,
                                                                  int code, const char *format, ...)
{
    char reason[SETTLE_ERROR_MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    settle_error_clear(&r->cursor.error);
    settle_error_file(&r->cursor.error, r->file);
    fhir_fail(&r->cursor, at, key, code, "%s", reason);
    s_report(r, FHIR_DOCUMENT_ERROR, "");
}

/* Each entry of a Bundle: Claims are read, other resources left for the
 * Claims' references; an entry without a resource is a document error. */
static void s_read_entries(fhir_claim_reader_t *r, const json_t *entries)
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
        snprintf(r->cursor.path.text, sizeof r->cursor.path.text, "entry[%zu]", i);
        if (!json_is_object(entry))
            s_document_fail(r, entry, NULL, SETTLE_ERR_SYNTAX, "expected an object");
        else if (!json_is_object(resource) || !json_is_string(type))
            s_document_fail(r, entry, "resource", SETTLE_ERR_MISSING,
                            "expected a resource with a resourceType");
        else if (fhir_string_is(type, "Claim")) {
            char path[FHIR_PATH_SIZE];
            snprintf(path, sizeof path, "entry[%zu].resource", i);
            claims++;
            s_read_claim(r, resource, path);
        }
    }
    r->cursor.path.text[0] = '\0';
    if (claims == 0 && !r->stop)
        s_document_fail(r, entries, "entry", SETTLE_ERR_MISSING, "no Claim in the Bundle");
}

static void s_read_bundle(fhir_claim_reader_t *r, const json_t *bundle)
{
    const json_t *type = json_object_get(bundle, "type"), *entries;
    if (!fhir_string_is(type, "collection") && !fhir_string_is(type, "batch") &&
        !fhir_string_is(type, "transaction")) {
        s_document_fail(r, type ? type : bundle, "type", SETTLE_ERR_INVALID,
                        "expected a Bundle of type collection, batch or transaction");
        return;
    }
    if (fhir_get(&r->cursor, bundle, "entry", JSON_ARRAY, false, &entries) != SETTLE_OK) {
        s_report(r, FHIR_DOCUMENT_ERROR, "");
        return;
    }
    if (json_array_size(entries) > FHIR_BUNDLE_ENTRIES_MAX) {
        s_document_fail(r, entries, "entry", SETTLE_ERR_TOO_MANY, "more than %u entries",
                        FHIR_BUNDLE_ENTRIES_MAX);
        return;
    }
    r->cursor.entries = entries;
    s_read_entries(r, entries);
}

static void s_read_root(fhir_claim_reader_t *r, const json_t *root)
{
    const json_t *type = json_object_get(root, "resourceType");
    if (!json_is_object(root))
        s_document_fail(r, root, NULL, SETTLE_ERR_SYNTAX,
                        "expected a FHIR resource (a JSON object)");
    else if (fhir_string_is(type, "Claim"))
        s_read_claim(r, root, "");
    else if (fhir_string_is(type, "Bundle"))
        s_read_bundle(r, root);
    else if (json_is_string(type))
        s_document_fail(r, type, "resourceType", SETTLE_ERR_INVALID,
                        "\"%s\" is not read here; expected Claim or Bundle", FHIR_SHOW(type));
    else
        s_document_fail(r, root, "resourceType", SETTLE_ERR_MISSING,
                        "missing; expected Claim or Bundle");
}

int fhir_claim_read(const char *text, size_t length, const char *file,
                    const fhir_claim_callbacks_t *callbacks, void *context,
                    const fhir_claim_options_t *options, fhir_claim_stats_t *stats_out)
{
    fhir_claim_reader_t r = {.file = file, .callbacks = callbacks, .context = context};
    r.skip_validation = options && options->skip_validation;
    fhir_json_t *document = NULL;
    settle_error_clear(&r.cursor.error);
    settle_error_file(&r.cursor.error, file);
    int rc = fhir_json_load(text, length, &document, &r.cursor.error);
    if (rc == SETTLE_OK && !(r.claim = claim_new()))
        rc = SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK) {
        r.cursor.document = document;
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
