/*
 * fhir_claim_write.c - canonical claims out as FHIR R4 Claims, alone (with
 * their Patient and Coverage contained) or in a collection Bundle.
 *
 * The field map, and what is refused rather than written with a loss, is
 * in settle/fhir_claim_write.h; it mirrors what adapters/fhir_claim.c reads,
 * and the code systems come from the reader's own header (fhir_read.h).  A
 * claim is checked in full before anything is built, so a refusal names
 * the field and leaves nothing half-written.  The builders share a context
 * with a sticky error, as in fhir_response.c, and add keys in the order the
 * R4 element definitions list them.  Decimals go through fhir_out.h: marked
 * strings in the tree, exact numbers in the text, no double.
 */
#include "settle/fhir_claim_write.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/fhir.h"

#include "fhir_out.h"
#include "fhir_read.h"

#define S_PRIORITY     "http://terminology.hl7.org/CodeSystem/processpriority"
#define S_RELATED      "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
#define S_CARE_ROLE    "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
#define S_INFO_TYPE    "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType"
#define S_TYPE_OF_BILL "https://www.nubc.org/CodeSystem/TypeOfBill"
#define S_DIAGNOSIS    "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
#define S_REVENUE      "https://www.nubc.org/CodeSystem/RevenueCodes"
#define S_ABSENT       "http://terminology.hl7.org/CodeSystem/data-absent-reason"
#define S_PLACE                                                                                    \
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
#define S_UUID_PREFIX   "urn:uuid:00000000-0000-4000-8000-"
#define S_ENTRIES_CLAIM 3 /* Patient, Coverage, Claim */

typedef struct {
    int rc;
    settle_error_t *error;
    const claim_t *claim;
} s_ctx_t;

struct fhir_claim_bundle_s {
    json_t *entries; /* the entry array, built as claims come */
    size_t claims;
    bool spent; /* out of memory once: nothing more is trusted */
};

/* ------------------------------------------------------------------------
 * What FHIR, as settle reads it, cannot carry
 * ------------------------------------------------------------------------ */

static bool s_digits(const char *text, size_t count)
{
    size_t length = strlen(text);
    for (size_t i = 0; i < length; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return length == count;
}

/* What the reader's s_icd10_strip accepts once the dot is put back. */
static bool s_icd10_ok(const char *code)
{
    size_t length = strlen(code);
    bool ok = length >= 3 && length <= 7 && code[0] >= 'A' && code[0] <= 'Z';
    for (size_t i = 1; ok && i < length; i++)
        ok = (code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9');
    return ok;
}

/* True when bill_type goes into supportingInfo (institutional only). */
static bool s_writes_bill_type(const claim_t *claim)
{
    return claim->kind == CLAIM_KIND_INSTITUTIONAL && claim->bill_type[0];
}

/* The frequency the reader makes of status, related[] and the type of
 * bill as this writer writes them; 0 when the reader would refuse them. */
static int s_frequency_read_back(const claim_t *claim)
{
    bool prior = claim->original_claim_number[0] != '\0';
    bool cancelled = prior && claim->frequency == CLAIM_FREQUENCY_VOID;
    int billed = s_writes_bill_type(claim) ? claim->bill_type[2] - '0' : 0;
    if (billed &&
        ((cancelled && billed != CLAIM_FREQUENCY_VOID) ||
         (prior && billed != CLAIM_FREQUENCY_VOID && billed != CLAIM_FREQUENCY_REPLACEMENT)))
        return 0;
    if (billed)
        return billed;
    return !prior      ? CLAIM_FREQUENCY_ORIGINAL
           : cancelled ? CLAIM_FREQUENCY_VOID
                       : CLAIM_FREQUENCY_REPLACEMENT;
}

/* The claim-level fields with no home; NULL when all have one. */
static const char *s_claim_problem(const claim_t *claim)
{
    if (claim->other_payer_count > 0)
        return "other_payers: the FHIR Claim reader reads no coordination of benefits, so other "
               "payers cannot be written without a loss";
    if (claim->kind == CLAIM_KIND_PROFESSIONAL && claim->bill_type[0])
        return "bill_type: a professional claim has no type of bill in FHIR";
    if (s_writes_bill_type(claim) && !s_digits(claim->bill_type, 3))
        return "bill_type: expected three digits";
    if (claim->kind == CLAIM_KIND_INSTITUTIONAL && claim->place_of_service[0])
        return "place_of_service: an institutional claim has no claim-level place of service in "
               "FHIR (only its lines do)";
    if (claim->place_of_service[0] && !s_digits(claim->place_of_service, 2))
        return "place_of_service: expected two digits";
    if (claim->kind == CLAIM_KIND_PROFESSIONAL && claim->lines[0].place_of_service[0] &&
        strcmp(claim->lines[0].place_of_service, claim->place_of_service) != 0)
        return "place_of_service: the first line's own place of service differs from the "
               "claim's, and FHIR gives the claim the first item's";
    if (claim->original_claim_number[0] && claim->frequency != CLAIM_FREQUENCY_REPLACEMENT &&
        claim->frequency != CLAIM_FREQUENCY_VOID)
        return "original_claim_number: FHIR carries it in related[], which makes the claim a "
               "replacement (7) or a void (8)";
    if (s_frequency_read_back(claim) != claim->frequency)
        return "frequency: status, related[] and the type of bill cannot say it (1, 7 or 8, or "
               "the last digit of an institutional type of bill)";
    for (uint8_t i = 0; i < claim->diagnosis_count; i++)
        if (!s_icd10_ok(claim->diagnoses[i]))
            return "diagnoses: a code is not ICD-10-CM (a letter, then 2 to 6 letters or digits)";
    if (claim->patient.middle_name[0] && !claim->patient.first_name[0])
        return "patient.middle_name: without a first name it would be read back as the first "
               "(given[0])";
    if (claim->patient.address_2[0] && !claim->patient.address_1[0])
        return "patient.address_2: without address_1 it would be read back as the first line "
               "(line[0])";
    return NULL;
}

/* A line field with no home, or a code the reader refuses; NULL if none. */
static const char *s_line_problem(const claim_line_t *line)
{
    bool gap = false;
    for (int m = 0; m < CLAIM_MODIFIERS_MAX; m++) {
        if (gap && line->modifiers[m][0])
            return "modifiers: a gap before a modifier, which FHIR's list cannot keep";
        gap = gap || !line->modifiers[m][0];
    }
    gap = false;
    for (int p = 0; p < CLAIM_POINTERS_MAX; p++) {
        if (gap && line->diagnosis_pointers[p])
            return "diagnosis_pointers: a gap before a pointer, which FHIR's list cannot keep";
        gap = gap || !line->diagnosis_pointers[p];
    }
    if (line->revenue_code[0] && !s_digits(line->revenue_code, 4))
        return "revenue_code: expected four digits";
    if (line->place_of_service[0] && !s_digits(line->place_of_service, 2))
        return "place_of_service: expected two digits";
    if (line->ndc[0] && !s_digits(line->ndc, 11))
        return "ndc: expected eleven digits";
    return NULL;
}

/* claim_validate, then what FHIR cannot carry; error names the field. */
static int s_check(const claim_t *claim, settle_error_t *error)
{
    settle_error_t check;
    settle_error_clear(&check);
    int rc = claim_validate(claim, &check);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "FHIR Claim \"%.38s\": %s", claim->claim_id,
                                check.message);
    const char *problem = s_claim_problem(claim);
    if (problem)
        return settle_error_set(error, SETTLE_ERR_INVALID, "FHIR Claim \"%.38s\": %s",
                                claim->claim_id, problem);
    for (uint32_t i = 0; i < claim->line_count; i++)
        if ((problem = s_line_problem(&claim->lines[i])) != NULL)
            return settle_error_set(error, SETTLE_ERR_INVALID, "FHIR Claim \"%.38s\": lines[%u].%s",
                                    claim->claim_id, (unsigned)i, problem);
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static void s_fail(s_ctx_t *ctx, int code, const char *what)
{
    if (ctx->rc == SETTLE_OK)
        ctx->rc = settle_error_set(ctx->error, code, "FHIR Claim \"%.38s\": %s",
                                   ctx->claim ? ctx->claim->claim_id : "", what);
}

/* Adds value under key; the object takes the reference.  A NULL value or
 * object is an allocation that failed (or an earlier failure). */
static void s_set(s_ctx_t *ctx, json_t *object, const char *key, json_t *value)
{
    if (!object || !value || json_object_set_new(object, key, value) != 0)
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
    if (!object)
        json_decref(value);
}

static void s_push(s_ctx_t *ctx, json_t *array, json_t *value)
{
    if (!array || !value || json_array_append_new(array, value) != 0)
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
    if (!array)
        json_decref(value);
}

/* A JSON string of claim text: printable ASCII only, so that no claim text
 * can forge fhir_out's decimal mark. */
static json_t *s_string(s_ctx_t *ctx, const char *field, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            char what[96];
            snprintf(what, sizeof what, "%s holds a byte outside printable ASCII", field);
            s_fail(ctx, SETTLE_ERR_INVALID, what);
            return NULL;
        }
    }
    return json_string(text);
}

static json_t *s_date(s_ctx_t *ctx, int32_t days)
{
    char text[DATE_TEXT_SIZE];
    if (date_format_iso(days, text, sizeof text) != SETTLE_OK) {
        s_fail(ctx, SETTLE_ERR_RANGE, "a date is out of range");
        return NULL;
    }
    return json_string(text);
}

static json_t *s_money(s_ctx_t *ctx, int64_t cents)
{
    json_t *money = json_object();
    s_set(ctx, money, "value", fhir_out_decimal(cents, 2, false));
    s_set(ctx, money, "currency", json_string("USD"));
    return money;
}

/* {"coding":[{"system":system,"code":code}]}; field names code in errors. */
static json_t *s_concept(s_ctx_t *ctx, const char *system, const char *field, const char *code)
{
    json_t *coding = json_object(), *codings = json_array(), *concept = json_object();
    s_set(ctx, coding, "system", json_string(system));
    s_set(ctx, coding, "code", s_string(ctx, field, code));
    s_push(ctx, codings, coding);
    s_set(ctx, concept, "coding", codings);
    return concept;
}

/* {"identifier":{"system":system,"value":value}}: a logical reference;
 * system may be NULL. */
static json_t *s_logical(s_ctx_t *ctx, const char *system, const char *field, const char *value)
{
    json_t *reference = json_object(), *identifier = json_object();
    if (system)
        s_set(ctx, identifier, "system", json_string(system));
    s_set(ctx, identifier, "value", s_string(ctx, field, value));
    s_set(ctx, reference, "identifier", identifier);
    return reference;
}

static json_t *s_reference(const char *target)
{
    return json_pack("{ss}", "reference", target);
}

/* ------------------------------------------------------------------------
 * Patient and Coverage
 * ------------------------------------------------------------------------ */

/* Sets key to a string of claim text when the text is not empty. */
static void s_set_text(s_ctx_t *ctx, json_t *object, const char *key, const char *field,
                       const char *text)
{
    if (text[0])
        s_set(ctx, object, key, s_string(ctx, field, text));
}

/* [first, second], the empty ones at the end left out (s_check refuses a
 * second without a first), or NULL when both are empty. */
static json_t *s_two_strings(s_ctx_t *ctx, const char *field, const char *first, const char *second)
{
    if (!first[0])
        return NULL;
    json_t *array = json_array();
    s_push(ctx, array, s_string(ctx, field, first));
    if (second[0])
        s_push(ctx, array, s_string(ctx, field, second));
    return array;
}

/* name[0]: family and given (first, middle); NULL when the claim has no
 * name. */
static json_t *s_patient_name(s_ctx_t *ctx)
{
    const claim_patient_t *p = &ctx->claim->patient;
    if (!p->last_name[0] && !p->first_name[0])
        return NULL;
    json_t *name = json_object(), *names = json_array();
    s_set_text(ctx, name, "family", "patient.last_name", p->last_name);
    json_t *given =
        s_two_strings(ctx, "patient first and middle name", p->first_name, p->middle_name);
    if (given)
        s_set(ctx, name, "given", given);
    s_push(ctx, names, name);
    return names;
}

/* address[0]: line (address 1 and 2), city, state, postalCode; NULL when
 * the claim has no address. */
static json_t *s_patient_address(s_ctx_t *ctx)
{
    const claim_patient_t *p = &ctx->claim->patient;
    if (!p->address_1[0] && !p->city[0] && !p->state[0] && !p->postal_code[0])
        return NULL;
    json_t *address = json_object(), *addresses = json_array();
    json_t *line = s_two_strings(ctx, "patient address", p->address_1, p->address_2);
    if (line)
        s_set(ctx, address, "line", line);
    s_set_text(ctx, address, "city", "patient.city", p->city);
    s_set_text(ctx, address, "state", "patient.state", p->state);
    s_set_text(ctx, address, "postalCode", "patient.postal_code", p->postal_code);
    s_push(ctx, addresses, address);
    return addresses;
}

/* The Patient: id (contained only), name, gender, birthDate and address,
 * in the order of the R4 element definitions. */
static json_t *s_patient(s_ctx_t *ctx, const char *id)
{
    const claim_t *claim = ctx->claim;
    json_t *patient = json_object();
    s_set(ctx, patient, "resourceType", json_string("Patient"));
    if (id)
        s_set(ctx, patient, "id", json_string(id));
    json_t *name = s_patient_name(ctx);
    if (name)
        s_set(ctx, patient, "name", name);
    const char *gender = claim->patient_sex == CLAIM_SEX_FEMALE ? "female"
                         : claim->patient_sex == CLAIM_SEX_MALE ? "male"
                                                                : "unknown";
    s_set(ctx, patient, "gender", json_string(gender));
    if (claim->patient_birth_date != DATE_NONE)
        s_set(ctx, patient, "birthDate", s_date(ctx, claim->patient_birth_date));
    json_t *address = s_patient_address(ctx);
    if (address)
        s_set(ctx, patient, "address", address);
    return patient;
}

/* The Coverage: the member id as subscriberId, the payer as payor. */
static json_t *s_coverage(s_ctx_t *ctx, const char *id, const char *patient_reference)
{
    json_t *coverage = json_object(), *payors = json_array();
    s_set(ctx, coverage, "resourceType", json_string("Coverage"));
    if (id)
        s_set(ctx, coverage, "id", json_string(id));
    s_set(ctx, coverage, "status", json_string("active"));
    s_set(ctx, coverage, "subscriberId", s_string(ctx, "member_id", ctx->claim->member_id));
    s_set(ctx, coverage, "beneficiary", s_reference(patient_reference));
    s_push(ctx, payors, s_logical(ctx, NULL, "payer_id", ctx->claim->payer_id));
    s_set(ctx, coverage, "payor", payors);
    return coverage;
}

/* ------------------------------------------------------------------------
 * The Claim
 * ------------------------------------------------------------------------ */

/* billablePeriod from the lines' days; created is the claim's, or when it
 * has none (FHIR requires one) the last day of service. */
static void s_period_and_created(s_ctx_t *ctx, json_t *resource)
{
    const claim_t *claim = ctx->claim;
    int32_t first = claim->lines[0].service_from, last = claim->lines[0].service_to;
    for (uint32_t i = 1; i < claim->line_count; i++) {
        if (claim->lines[i].service_from < first)
            first = claim->lines[i].service_from;
        if (claim->lines[i].service_to > last)
            last = claim->lines[i].service_to;
    }
    json_t *period = json_object();
    s_set(ctx, period, "start", s_date(ctx, first));
    s_set(ctx, period, "end", s_date(ctx, last));
    s_set(ctx, resource, "billablePeriod", period);
    s_set(ctx, resource, "created",
          s_date(ctx, claim->created != DATE_NONE ? claim->created : last));
}

/* related[]: the claim a replacement or a void corrects. */
static json_t *s_related(s_ctx_t *ctx)
{
    json_t *list = json_array(), *related = json_object();
    s_set(ctx, related, "claim",
          s_logical(ctx, NULL, "original_claim_number", ctx->claim->original_claim_number));
    s_set(ctx, related, "relationship", s_concept(ctx, S_RELATED, "relationship", "prior"));
    s_push(ctx, list, related);
    return list;
}

static json_t *s_care_team(s_ctx_t *ctx)
{
    json_t *team = json_array(), *member = json_object();
    s_set(ctx, member, "sequence", json_integer(1));
    s_set(ctx, member, "provider",
          s_logical(ctx, FHIR_SYSTEM_NPI, "rendering_npi", ctx->claim->rendering_npi));
    s_set(ctx, member, "role", s_concept(ctx, S_CARE_ROLE, "role", "primary"));
    s_push(ctx, team, member);
    return team;
}

/* supportingInfo[]: the type of bill, written with NUBC's leading zero. */
static json_t *s_type_of_bill(s_ctx_t *ctx)
{
    char code[CLAIM_BILL_TYPE_SIZE + 1];
    snprintf(code, sizeof code, "0%s", ctx->claim->bill_type);
    json_t *list = json_array(), *info = json_object();
    s_set(ctx, info, "sequence", json_integer(1));
    s_set(ctx, info, "category", s_concept(ctx, S_INFO_TYPE, "category", "typeofbill"));
    s_set(ctx, info, "code", s_concept(ctx, S_TYPE_OF_BILL, "bill_type", code));
    s_push(ctx, list, info);
    return list;
}

/* diagnosis[]: sequence 1..n in the claim's order, the dot put back. */
static json_t *s_diagnoses(s_ctx_t *ctx)
{
    json_t *list = json_array();
    for (uint8_t i = 0; i < ctx->claim->diagnosis_count; i++) {
        const char *code = ctx->claim->diagnoses[i];
        char dotted[CLAIM_DIAGNOSIS_SIZE + 1];
        snprintf(dotted, sizeof dotted, "%.3s%s%s", code, strlen(code) > 3 ? "." : "", code + 3);
        json_t *diagnosis = json_object();
        s_set(ctx, diagnosis, "sequence", json_integer(i + 1));
        s_set(ctx, diagnosis, "diagnosisCodeableConcept",
              s_concept(ctx, FHIR_SYSTEM_ICD10_CM, "diagnoses", dotted));
        if (i == 0) {
            json_t *types = json_array();
            s_push(ctx, types, s_concept(ctx, S_DIAGNOSIS, "type", "principal"));
            s_set(ctx, diagnosis, "type", types);
        }
        s_push(ctx, list, diagnosis);
    }
    return list;
}

static json_t *s_insurance(s_ctx_t *ctx, const char *coverage_reference)
{
    json_t *list = json_array(), *insurance = json_object();
    s_set(ctx, insurance, "sequence", json_integer(1));
    s_set(ctx, insurance, "focal", json_true());
    s_set(ctx, insurance, "coverage", s_reference(coverage_reference));
    if (ctx->claim->prior_authorization[0]) {
        json_t *references = json_array();
        s_push(ctx, references,
               s_string(ctx, "prior_authorization", ctx->claim->prior_authorization));
        s_set(ctx, insurance, "preAuthRef", references);
    }
    s_push(ctx, list, insurance);
    return list;
}

/* ------------------------------------------------------------------------
 * Items
 * ------------------------------------------------------------------------ */

/* productOrService: CPT for a code starting with a digit, HCPCS level II
 * otherwise, and "not applicable" on a line with only a revenue code. */
static json_t *s_product(s_ctx_t *ctx, const claim_line_t *line)
{
    const char *code = line->procedure_code;
    if (!code[0])
        return s_concept(ctx, S_ABSENT, "procedure_code", "not-applicable");
    return s_concept(ctx, code[0] >= '0' && code[0] <= '9' ? FHIR_SYSTEM_CPT : FHIR_SYSTEM_HCPCS,
                     "procedure_code", code);
}

/* diagnosisSequence: the pointers, as diagnosis[] is numbered 1..n. */
static json_t *s_item_pointers(s_ctx_t *ctx, const claim_line_t *line)
{
    json_t *sequences = json_array();
    for (int p = 0; p < CLAIM_POINTERS_MAX && line->diagnosis_pointers[p]; p++)
        s_push(ctx, sequences, json_integer(line->diagnosis_pointers[p]));
    return sequences;
}

static json_t *s_item_modifiers(s_ctx_t *ctx, const claim_line_t *line)
{
    json_t *list = json_array();
    for (int m = 0; m < CLAIM_MODIFIERS_MAX && line->modifiers[m][0]; m++)
        s_push(ctx, list, s_concept(ctx, FHIR_SYSTEM_CPT, "modifiers", line->modifiers[m]));
    return list;
}

static void s_item_service(s_ctx_t *ctx, json_t *item, const claim_line_t *line)
{
    if (line->service_from == line->service_to) {
        s_set(ctx, item, "servicedDate", s_date(ctx, line->service_from));
        return;
    }
    json_t *period = json_object();
    s_set(ctx, period, "start", s_date(ctx, line->service_from));
    s_set(ctx, period, "end", s_date(ctx, line->service_to));
    s_set(ctx, item, "servicedPeriod", period);
}

/* detail[0], only to carry the line's NDC. */
static json_t *s_ndc_detail(s_ctx_t *ctx, const claim_line_t *line)
{
    json_t *details = json_array(), *detail = json_object();
    s_set(ctx, detail, "sequence", json_integer(1));
    s_set(ctx, detail, "productOrService", s_concept(ctx, FHIR_SYSTEM_NDC, "ndc", line->ndc));
    s_push(ctx, details, detail);
    return details;
}

static json_t *s_item(s_ctx_t *ctx, uint32_t index)
{
    const claim_line_t *line = &ctx->claim->lines[index];
    const char *place =
        line->place_of_service[0] ? line->place_of_service : ctx->claim->place_of_service;
    json_t *item = json_object(), *quantity = json_object();
    s_set(ctx, item, "sequence", json_integer((json_int_t)index + 1));
    if (line->diagnosis_pointers[0])
        s_set(ctx, item, "diagnosisSequence", s_item_pointers(ctx, line));
    if (line->revenue_code[0])
        s_set(ctx, item, "revenue", s_concept(ctx, S_REVENUE, "revenue_code", line->revenue_code));
    s_set(ctx, item, "productOrService", s_product(ctx, line));
    if (line->modifiers[0][0])
        s_set(ctx, item, "modifier", s_item_modifiers(ctx, line));
    s_item_service(ctx, item, line);
    if (place[0])
        s_set(ctx, item, "locationCodeableConcept",
              s_concept(ctx, S_PLACE, "place_of_service", place));
    s_set(ctx, quantity, "value", fhir_out_decimal(line->units_milli, 3, true));
    s_set(ctx, item, "quantity", quantity);
    s_set(ctx, item, "net", s_money(ctx, line->charge_cents));
    if (line->ndc[0])
        s_set(ctx, item, "detail", s_ndc_detail(ctx, line));
    return item;
}

/* ------------------------------------------------------------------------
 * The resource
 * ------------------------------------------------------------------------ */

/* The elements up to provider, in R4 order; contained may be NULL. */
static void s_claim_opening(s_ctx_t *ctx, json_t *resource, json_t *contained,
                            const char *patient_reference)
{
    const claim_t *claim = ctx->claim;
    bool void_claim =
        claim->frequency == CLAIM_FREQUENCY_VOID && claim->original_claim_number[0] != '\0';
    json_t *identifiers = json_array(), *identifier = json_object();
    s_set(ctx, resource, "resourceType", json_string("Claim"));
    if (contained)
        s_set(ctx, resource, "contained", contained);
    s_set(ctx, identifier, "value", s_string(ctx, "claim_id", claim->claim_id));
    s_push(ctx, identifiers, identifier);
    s_set(ctx, resource, "identifier", identifiers);
    s_set(ctx, resource, "status", json_string(void_claim ? "cancelled" : "active"));
    s_set(ctx, resource, "type",
          s_concept(ctx, FHIR_SYSTEM_CLAIM_TYPE, "kind",
                    claim->kind == CLAIM_KIND_INSTITUTIONAL ? "institutional" : "professional"));
    s_set(ctx, resource, "use", json_string("claim"));
    s_set(ctx, resource, "patient", s_reference(patient_reference));
    s_period_and_created(ctx, resource);
    s_set(ctx, resource, "insurer", s_logical(ctx, NULL, "payer_id", claim->payer_id));
    s_set(ctx, resource, "provider",
          s_logical(ctx, FHIR_SYSTEM_NPI, "billing_npi", claim->billing_npi));
    s_set(ctx, resource, "priority", s_concept(ctx, S_PRIORITY, "priority", "normal"));
}

/* The Claim resource; contained (may be NULL) is taken. */
static json_t *s_claim(s_ctx_t *ctx, json_t *contained, const char *patient_reference,
                       const char *coverage_reference)
{
    const claim_t *claim = ctx->claim;
    json_t *resource = json_object(), *items = json_array();
    s_claim_opening(ctx, resource, contained, patient_reference);
    if (claim->original_claim_number[0])
        s_set(ctx, resource, "related", s_related(ctx));
    if (claim->rendering_npi[0])
        s_set(ctx, resource, "careTeam", s_care_team(ctx));
    if (s_writes_bill_type(claim))
        s_set(ctx, resource, "supportingInfo", s_type_of_bill(ctx));
    if (claim->diagnosis_count > 0)
        s_set(ctx, resource, "diagnosis", s_diagnoses(ctx));
    s_set(ctx, resource, "insurance", s_insurance(ctx, coverage_reference));
    for (uint32_t i = 0; i < claim->line_count; i++)
        s_push(ctx, items, s_item(ctx, i));
    s_set(ctx, resource, "item", items);
    s_set(ctx, resource, "total", s_money(ctx, claim->total_charge_cents));
    return resource;
}

/* ------------------------------------------------------------------------
 * One Claim, and the Bundle
 * ------------------------------------------------------------------------ */

int fhir_claim_write(const claim_t *claim, bool pretty, char **text_out, size_t *length_out,
                     settle_error_t *error)
{
    s_ctx_t ctx = {SETTLE_OK, error, claim};
    if (!claim || !text_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "FHIR Claim: bad argument");
    int rc = s_check(claim, error);
    if (rc != SETTLE_OK)
        return rc;
    json_t *contained = json_array();
    s_push(&ctx, contained, s_patient(&ctx, "patient"));
    s_push(&ctx, contained, s_coverage(&ctx, "coverage", "#patient"));
    json_t *resource = s_claim(&ctx, contained, "#patient", "#coverage");
    if (ctx.rc == SETTLE_OK && fhir_out_dump(resource, pretty, text_out, length_out) != SETTLE_OK)
        s_fail(&ctx, SETTLE_ERR_NOMEM, "the JSON text could not be written");
    json_decref(resource);
    return ctx.rc;
}

int fhir_claim_bundle_new(fhir_claim_bundle_t **bundle_out)
{
    fhir_claim_bundle_t *self = settle_calloc(1, sizeof *self);
    if (self && !(self->entries = json_array())) {
        settle_free(self);
        self = NULL;
    }
    if (!self)
        return SETTLE_ERR_NOMEM;
    *bundle_out = self;
    return SETTLE_OK;
}

void fhir_claim_bundle_destroy(fhir_claim_bundle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->entries);
    settle_free(*self_p);
    *self_p = NULL;
}

size_t fhir_claim_bundle_count(const fhir_claim_bundle_t *self)
{
    return self->claims;
}

/* {"fullUrl":url,"resource":resource}; resource is taken. */
static json_t *s_entry(s_ctx_t *ctx, const char *url, json_t *resource)
{
    json_t *entry = json_object();
    s_set(ctx, entry, "fullUrl", json_string(url));
    s_set(ctx, entry, "resource", resource);
    return entry;
}

/* The three entries of one claim into entries (a fresh array). */
static void s_bundle_entries(s_ctx_t *ctx, json_t *entries, size_t first_entry)
{
    char urls[S_ENTRIES_CLAIM][64];
    for (size_t i = 0; i < S_ENTRIES_CLAIM; i++)
        snprintf(urls[i], sizeof urls[i], S_UUID_PREFIX "%012zx", first_entry + i + 1);
    s_push(ctx, entries, s_entry(ctx, urls[0], s_patient(ctx, NULL)));
    s_push(ctx, entries, s_entry(ctx, urls[1], s_coverage(ctx, NULL, urls[0])));
    s_push(ctx, entries, s_entry(ctx, urls[2], s_claim(ctx, NULL, urls[0], urls[1])));
}

int fhir_claim_bundle_add(fhir_claim_bundle_t *self, const claim_t *claim, settle_error_t *error)
{
    s_ctx_t ctx = {SETTLE_OK, error, claim};
    if (self->spent)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "FHIR Bundle: %s",
                                settle_strerror(SETTLE_ERR_NOMEM));
    size_t size = json_array_size(self->entries);
    if (size + S_ENTRIES_CLAIM > FHIR_BUNDLE_ENTRIES_MAX)
        return settle_error_set(error, SETTLE_ERR_TOO_MANY,
                                "FHIR Claim \"%.38s\": the Bundle is full (%u entries, which is "
                                "what the FHIR reader takes)",
                                claim->claim_id, FHIR_BUNDLE_ENTRIES_MAX);
    int rc = s_check(claim, error);
    if (rc != SETTLE_OK)
        return rc;
    json_t *entries = json_array();
    s_bundle_entries(&ctx, entries, size);
    if (ctx.rc == SETTLE_OK && json_array_extend(self->entries, entries) != 0)
        s_fail(&ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
    json_decref(entries);
    if (ctx.rc == SETTLE_ERR_NOMEM)
        self->spent = true;
    if (ctx.rc == SETTLE_OK)
        self->claims++;
    return ctx.rc;
}

int fhir_claim_bundle_finish(const fhir_claim_bundle_t *self, bool pretty, char **text_out,
                             size_t *length_out)
{
    if (self->spent)
        return SETTLE_ERR_NOMEM;
    json_t *bundle = json_pack("{s:s, s:s}", "resourceType", "Bundle", "type", "collection");
    if (bundle && json_array_size(self->entries) > 0 &&
        json_object_set(bundle, "entry", self->entries) != 0) {
        json_decref(bundle);
        bundle = NULL;
    }
    int rc = bundle ? fhir_out_dump(bundle, pretty, text_out, length_out) : SETTLE_ERR_NOMEM;
    json_decref(bundle);
    return rc;
}
