/*
 * fhir_response.c - FHIR R4 ClaimResponse, ExplanationOfBenefit and their
 * Bundle, built with jansson from a balanced remittance.
 *
 * The builders share one context with a sticky error, so each resource is
 * assembled top to bottom in the order the R4 element definitions list
 * their elements, and the error is looked at once.  Decimals are written as
 * marked strings and unmarked after jansson has written the text (see
 * fhir_response.h for why, and fhir_out.h, shared with the Claim writer,
 * for how); nothing here touches a double.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "settle/date.h"
#include "settle/fhir_response.h"
#include "settle/money.h"

#include "fhir_out.h"

#define S_ADJUDICATION "http://terminology.hl7.org/CodeSystem/adjudication"
#define S_C4BB         "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
#define S_CAS_GROUP    "urn:settle:x12:claim-adjustment-group"
#define S_CARC         "https://x12.org/codes/claim-adjustment-reason-codes"
#define S_CLAIM_TYPE   "http://terminology.hl7.org/CodeSystem/claim-type"
#define S_PAYMENT_TYPE "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
#define S_RELATED      "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
#define S_NPI          "http://hl7.org/fhir/sid/us-npi"
#define S_CPT          "http://www.ama-assn.org/go/cpt"
#define S_HCPCS        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets" /* the HL7 URI */
#define S_REVENUE      "https://www.nubc.org/CodeSystem/RevenueCodes"
#define S_ABSENT       "http://terminology.hl7.org/CodeSystem/data-absent-reason"

typedef struct {
    int rc;
    settle_error_t *error;
} s_ctx_t;

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static void s_fail(s_ctx_t *ctx, int code, const char *what)
{
    if (ctx->rc != SETTLE_OK)
        return;
    ctx->rc = settle_error_set(ctx->error, code, "FHIR response: %s", what);
}

/* Adds value under key; the object takes the reference, and a value that
 * cannot be added is released.  A NULL value is an earlier failure (already
 * recorded) or an allocation that failed. */
static void s_set(s_ctx_t *ctx, json_t *object, const char *key, json_t *value)
{
    if (!object || !value) {
        json_decref(value);
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
        return;
    }
    if (json_object_set_new(object, key, value) != 0)
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
}

static void s_push(s_ctx_t *ctx, json_t *array, json_t *value)
{
    if (!array || !value) {
        json_decref(value);
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
        return;
    }
    if (json_array_append_new(array, value) != 0)
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
}

/* A JSON string of text from the caller.  Only printable ASCII is taken, as
 * in the claim and the 835: so no caller's text can start with the decimal
 * mark, and a NULL from jansson can only mean it ran out of memory. */
static json_t *s_string(s_ctx_t *ctx, const char *field, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            settle_error_expect(ctx->error, "printable ASCII");
            if (ctx->rc == SETTLE_OK)
                ctx->rc = settle_error_set(ctx->error, SETTLE_ERR_INVALID,
                                           "FHIR response: %s holds a byte outside printable "
                                           "ASCII",
                                           field);
            return NULL;
        }
    }
    json_t *value = json_string(text);
    if (!value)
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
    return value;
}

static json_t *s_money(s_ctx_t *ctx, int64_t cents)
{
    json_t *money = json_object();
    s_set(ctx, money, "value", fhir_out_decimal(cents, 2, false));
    s_set(ctx, money, "currency", json_string("USD"));
    return money;
}

static json_t *s_date(s_ctx_t *ctx, int32_t days)
{
    char text[DATE_TEXT_SIZE];
    if (date_format_iso(days, text, sizeof text) != SETTLE_OK) {
        s_fail(ctx, SETTLE_ERR_RANGE, "a date is missing or out of range");
        return NULL;
    }
    return json_string(text);
}

/* {"coding":[{"system":system,"code":code}]}; code is checked text. */
static json_t *s_concept(s_ctx_t *ctx, const char *system, const char *code)
{
    json_t *coding = json_object(), *codings = json_array(), *concept = json_object();
    s_set(ctx, coding, "system", json_string(system));
    s_set(ctx, coding, "code", s_string(ctx, "code", code));
    s_push(ctx, codings, coding);
    s_set(ctx, concept, "coding", codings);
    return concept;
}

/*
 * {"identifier":{"system":system,"value":value},"display":display}: a
 * logical reference, by identifier.  system and display may be NULL; an
 * empty value or display is left out (FHIR allows no empty strings).
 */
static json_t *s_reference(s_ctx_t *ctx, const char *system, const char *field, const char *value,
                           const char *display_field, const char *display)
{
    json_t *reference = json_object();
    if (value[0]) {
        json_t *identifier = json_object();
        if (system)
            s_set(ctx, identifier, "system", json_string(system));
        s_set(ctx, identifier, "value", s_string(ctx, field, value));
        s_set(ctx, reference, "identifier", identifier);
    }
    if (display && display[0])
        s_set(ctx, reference, "display", s_string(ctx, display_field, display));
    return reference;
}

/* ------------------------------------------------------------------------
 * Adjudication
 * ------------------------------------------------------------------------ */

/* One adjudication: category, reason (CARC, NULL for none) and amount. */
static json_t *s_adjudication(s_ctx_t *ctx, const char *system, const char *code,
                              const char *reason, int64_t cents)
{
    json_t *adjudication = json_object();
    s_set(ctx, adjudication, "category", s_concept(ctx, system, code));
    if (reason)
        s_set(ctx, adjudication, "reason", s_concept(ctx, S_CARC, reason));
    s_set(ctx, adjudication, "amount", s_money(ctx, cents));
    return adjudication;
}

/* One adjudication per non-zero CAS adjustment, appended to list. */
static void s_push_adjustments(s_ctx_t *ctx, json_t *list, const interp_adjustment_t *items,
                               uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (items[i].amount_cents != 0)
            s_push(ctx, list,
                   s_adjudication(ctx, S_CAS_GROUP, items[i].group, items[i].reason,
                                  items[i].amount_cents));
}

/* A line's adjudications: the standard categories, then its adjustments. */
static json_t *s_line_adjudications(s_ctx_t *ctx, const interp_line_t *line)
{
    json_t *list = json_array();
    s_push(ctx, list, s_adjudication(ctx, S_ADJUDICATION, "submitted", NULL, line->billed_cents));
    s_push(ctx, list, s_adjudication(ctx, S_ADJUDICATION, "eligible", NULL, line->allowed_cents));
    s_push(ctx, list,
           s_adjudication(ctx, S_ADJUDICATION, "deductible", NULL, line->deductible_cents));
    s_push(ctx, list, s_adjudication(ctx, S_ADJUDICATION, "copay", NULL, line->copay_cents));
    s_push(ctx, list, s_adjudication(ctx, S_C4BB, "coinsurance", NULL, line->coinsurance_cents));
    s_push(ctx, list, s_adjudication(ctx, S_ADJUDICATION, "benefit", NULL, line->paid_cents));
    s_push_adjustments(ctx, list, line->adjustments, line->adjustment_count);
    return list;
}

static json_t *s_total(s_ctx_t *ctx, const char *code, int64_t cents)
{
    json_t *total = json_object();
    s_set(ctx, total, "category", s_concept(ctx, S_ADJUDICATION, code));
    s_set(ctx, total, "amount", s_money(ctx, cents));
    return total;
}

static json_t *s_totals(s_ctx_t *ctx, const remit_claim_t *entry)
{
    json_t *totals = json_array();
    s_push(ctx, totals, s_total(ctx, "submitted", entry->charge_cents));
    s_push(ctx, totals, s_total(ctx, "eligible", entry->decision.allowed_cents));
    s_push(ctx, totals, s_total(ctx, "benefit", entry->decision.paid_cents));
    return totals;
}

static json_t *s_payment(s_ctx_t *ctx, const remit_t *remit, const remit_claim_t *entry)
{
    json_t *payment = json_object(), *identifier = json_object();
    s_set(ctx, payment, "type", s_concept(ctx, S_PAYMENT_TYPE, "complete"));
    s_set(ctx, payment, "date", s_date(ctx, remit->payment_date));
    s_set(ctx, payment, "amount", s_money(ctx, entry->decision.paid_cents));
    s_set(ctx, identifier, "value", s_string(ctx, "trace_number", remit->trace_number));
    s_set(ctx, payment, "identifier", identifier);
    return payment;
}

static const char *s_outcome(const remit_claim_t *entry)
{
    switch (entry->decision.status) {
    case INTERP_STATUS_PARTIAL:
        return "partial";
    case INTERP_STATUS_REJECTED:
        return "error";
    default:
        return "complete";
    }
}

static const char *s_disposition(const remit_claim_t *entry)
{
    if (entry->frequency == CLAIM_FREQUENCY_VOID)
        return "reversal of a previous payment";
    switch (entry->decision.status) {
    case INTERP_STATUS_PAID:
        return "paid";
    case INTERP_STATUS_PARTIAL:
        return "partly paid, partly denied";
    case INTERP_STATUS_DENIED:
        return "denied";
    default:
        return "rejected";
    }
}

/* ------------------------------------------------------------------------
 * The resources
 * ------------------------------------------------------------------------ */

/* The elements both resources open with, up to and including created. */
static void s_opening(s_ctx_t *ctx, json_t *resource, const remit_t *remit,
                      const remit_claim_t *entry, const char *type)
{
    s_set(ctx, resource, "resourceType", json_string(type));
    if (entry->payer_claim_number[0]) {
        json_t *identifiers = json_array(), *identifier = json_object();
        s_set(ctx, identifier, "value",
              s_string(ctx, "payer_claim_number", entry->payer_claim_number));
        s_push(ctx, identifiers, identifier);
        s_set(ctx, resource, "identifier", identifiers);
    }
    s_set(ctx, resource, "status", json_string("active"));
    s_set(ctx, resource, "type",
          s_concept(ctx, S_CLAIM_TYPE,
                    entry->kind == CLAIM_KIND_INSTITUTIONAL ? "institutional" : "professional"));
    s_set(ctx, resource, "use", json_string("claim"));
    s_set(ctx, resource, "patient",
          s_reference(ctx, NULL, "member_id", entry->member_id, NULL, NULL));
    int32_t created =
        remit->production_date != DATE_NONE ? remit->production_date : remit->payment_date;
    s_set(ctx, resource, "created", s_date(ctx, created));
}

/* ClaimResponse.error for a rejected claim: each line's reasons. */
static json_t *s_errors(s_ctx_t *ctx, const remit_claim_t *entry)
{
    json_t *errors = json_array();
    for (uint32_t l = 0; l < entry->decision.line_count; l++) {
        const interp_line_t *line = &entry->decision.lines[l];
        for (uint32_t i = 0; i < line->adjustment_count; i++) {
            json_t *error = json_object();
            s_set(ctx, error, "itemSequence", json_integer(line->line));
            s_set(ctx, error, "code", s_concept(ctx, S_CARC, line->adjustments[i].reason));
            s_push(ctx, errors, error);
        }
    }
    return errors;
}

static json_t *s_claim_response(s_ctx_t *ctx, const remit_t *remit, const remit_claim_t *entry)
{
    json_t *resource = json_object(), *items = json_array();
    s_opening(ctx, resource, remit, entry, "ClaimResponse");
    s_set(ctx, resource, "insurer",
          s_reference(ctx, NULL, "payer_id", remit->payer_id, "payer_name", remit->payer_name));
    s_set(ctx, resource, "requestor",
          s_reference(ctx, S_NPI, "payee_npi", remit->payee_npi, "payee_name", remit->payee_name));
    s_set(ctx, resource, "request",
          s_reference(ctx, NULL, "claim_id", entry->decision.claim_id, NULL, NULL));
    s_set(ctx, resource, "outcome", json_string(s_outcome(entry)));
    s_set(ctx, resource, "disposition", json_string(s_disposition(entry)));
    for (uint32_t i = 0; i < entry->decision.line_count; i++) {
        json_t *item = json_object();
        s_set(ctx, item, "itemSequence", json_integer(entry->decision.lines[i].line));
        s_set(ctx, item, "adjudication", s_line_adjudications(ctx, &entry->decision.lines[i]));
        s_push(ctx, items, item);
    }
    s_set(ctx, resource, "item", items);
    if (entry->adjustment_count > 0) {
        json_t *adjudications = json_array();
        s_push_adjustments(ctx, adjudications, entry->adjustments, entry->adjustment_count);
        s_set(ctx, resource, "adjudication", adjudications);
    }
    s_set(ctx, resource, "total", s_totals(ctx, entry));
    s_set(ctx, resource, "payment", s_payment(ctx, remit, entry));
    if (entry->decision.status == INTERP_STATUS_REJECTED)
        s_set(ctx, resource, "error", s_errors(ctx, entry));
    return resource;
}

/* EOB.item.productOrService: CPT for a code starting with a digit, HCPCS
 * level II for one starting with a letter, "not applicable" for a
 * revenue-code-only line. */
static json_t *s_product(s_ctx_t *ctx, const claim_line_t *line)
{
    const char *code = line->procedure_code;
    if (!code[0])
        return s_concept(ctx, S_ABSENT, "not-applicable");
    return s_concept(ctx, code[0] >= '0' && code[0] <= '9' ? S_CPT : S_HCPCS, code);
}

static void s_eob_service(s_ctx_t *ctx, json_t *item, const claim_line_t *in)
{
    if (in->service_from == in->service_to) {
        s_set(ctx, item, "servicedDate", s_date(ctx, in->service_from));
        return;
    }
    json_t *period = json_object();
    s_set(ctx, period, "start", s_date(ctx, in->service_from));
    s_set(ctx, period, "end", s_date(ctx, in->service_to));
    s_set(ctx, item, "servicedPeriod", period);
}

static json_t *s_eob_item(s_ctx_t *ctx, const claim_line_t *in, const interp_line_t *line)
{
    json_t *item = json_object();
    s_set(ctx, item, "sequence", json_integer(line->line));
    if (in->revenue_code[0])
        s_set(ctx, item, "revenue", s_concept(ctx, S_REVENUE, in->revenue_code));
    s_set(ctx, item, "productOrService", s_product(ctx, in));
    if (in->modifiers[0][0]) {
        json_t *modifiers = json_array();
        for (int m = 0; m < CLAIM_MODIFIERS_MAX && in->modifiers[m][0]; m++)
            s_push(ctx, modifiers, s_concept(ctx, S_CPT, in->modifiers[m]));
        s_set(ctx, item, "modifier", modifiers);
    }
    if (in->service_from != DATE_NONE)
        s_eob_service(ctx, item, in);
    json_t *quantity = json_object();
    s_set(ctx, quantity, "value", fhir_out_decimal(line->units_milli, 3, true));
    s_set(ctx, item, "quantity", quantity);
    s_set(ctx, item, "net", s_money(ctx, line->billed_cents));
    s_set(ctx, item, "adjudication", s_line_adjudications(ctx, line));
    return item;
}

/* EOB.related: the claim a void or a replacement corrects. */
static json_t *s_related(s_ctx_t *ctx, const remit_claim_t *entry)
{
    json_t *related = json_array(), *one = json_object();
    s_set(ctx, one, "claim",
          s_reference(ctx, NULL, "related_claim_id", entry->decision.related_claim_id, NULL, NULL));
    s_set(ctx, one, "relationship", s_concept(ctx, S_RELATED, "prior"));
    s_push(ctx, related, one);
    return related;
}

static json_t *s_eob(s_ctx_t *ctx, const remit_t *remit, const remit_claim_t *entry)
{
    json_t *resource = json_object(), *items = json_array();
    s_opening(ctx, resource, remit, entry, "ExplanationOfBenefit");
    s_set(ctx, resource, "insurer",
          s_reference(ctx, NULL, "payer_id", remit->payer_id, "payer_name", remit->payer_name));
    s_set(ctx, resource, "provider",
          s_reference(ctx, S_NPI, "payee_npi", remit->payee_npi, "payee_name", remit->payee_name));
    if (entry->decision.related_claim_id[0])
        s_set(ctx, resource, "related", s_related(ctx, entry));
    s_set(ctx, resource, "claim",
          s_reference(ctx, NULL, "claim_id", entry->decision.claim_id, NULL, NULL));
    s_set(ctx, resource, "outcome", json_string(s_outcome(entry)));
    s_set(ctx, resource, "disposition", json_string(s_disposition(entry)));
    json_t *insurances = json_array(), *insurance = json_object();
    s_set(ctx, insurance, "focal", json_true());
    s_set(ctx, insurance, "coverage",
          s_reference(ctx, NULL, "member_id", entry->member_id, NULL, NULL));
    s_push(ctx, insurances, insurance);
    s_set(ctx, resource, "insurance", insurances);
    for (uint32_t i = 0; i < entry->decision.line_count; i++)
        s_push(ctx, items, s_eob_item(ctx, &entry->claim_lines[i], &entry->decision.lines[i]));
    s_set(ctx, resource, "item", items);
    if (entry->adjustment_count > 0) {
        json_t *adjudications = json_array();
        s_push_adjustments(ctx, adjudications, entry->adjustments, entry->adjustment_count);
        s_set(ctx, resource, "adjudication", adjudications);
    }
    s_set(ctx, resource, "total", s_totals(ctx, entry));
    s_set(ctx, resource, "payment", s_payment(ctx, remit, entry));
    return resource;
}

static json_t *s_bundle(s_ctx_t *ctx, const remit_t *remit)
{
    json_t *bundle = json_object(), *entries = json_array();
    s_set(ctx, bundle, "resourceType", json_string("Bundle"));
    s_set(ctx, bundle, "type", json_string("collection"));
    for (uint32_t i = 0; i < remit->claim_count && ctx->rc == SETTLE_OK; i++) {
        json_t *entry = json_object();
        s_set(ctx, entry, "resource", s_claim_response(ctx, remit, &remit->claims[i]));
        s_push(ctx, entries, entry);
    }
    s_set(ctx, bundle, "entry", entries);
    return bundle;
}

/* ------------------------------------------------------------------------
 * Writing the text
 * ------------------------------------------------------------------------ */

/* Dumps root into a settle_malloc buffer, unmarked; takes root's reference. */
static int s_finish(s_ctx_t *ctx, json_t *root, bool pretty, char **text_out)
{
    if (!root)
        s_fail(ctx, SETTLE_ERR_NOMEM, settle_strerror(SETTLE_ERR_NOMEM));
    if (ctx->rc == SETTLE_OK && fhir_out_dump(root, pretty, text_out, NULL) != SETTLE_OK)
        s_fail(ctx, SETTLE_ERR_NOMEM, "the JSON text could not be written");
    json_decref(root);
    return ctx->rc;
}

/* The checks every writer makes before building anything. */
static int s_start(s_ctx_t *ctx, const remit_t *remit, uint32_t index, bool one, char **text_out,
                   settle_error_t *error)
{
    ctx->rc = SETTLE_OK;
    ctx->error = error;
    if (!remit || !text_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "FHIR response: bad argument");
    if (one && index >= remit->claim_count)
        return settle_error_set(error, SETTLE_ERR_RANGE,
                                "FHIR response: claim %u asked for, the remittance has %u",
                                index + 1, remit->claim_count);
    return remit_check_balance(remit, error);
}

int fhir_claim_response_write(const remit_t *remit, uint32_t index, bool pretty, char **text_out,
                              settle_error_t *error)
{
    s_ctx_t ctx;
    int rc = s_start(&ctx, remit, index, true, text_out, error);
    if (rc != SETTLE_OK)
        return rc;
    return s_finish(&ctx, s_claim_response(&ctx, remit, &remit->claims[index]), pretty, text_out);
}

int fhir_eob_write(const remit_t *remit, uint32_t index, bool pretty, char **text_out,
                   settle_error_t *error)
{
    s_ctx_t ctx;
    int rc = s_start(&ctx, remit, index, true, text_out, error);
    if (rc != SETTLE_OK)
        return rc;
    return s_finish(&ctx, s_eob(&ctx, remit, &remit->claims[index]), pretty, text_out);
}

int fhir_claim_response_bundle_write(const remit_t *remit, bool pretty, char **text_out,
                                     settle_error_t *error)
{
    s_ctx_t ctx;
    int rc = s_start(&ctx, remit, 0, false, text_out, error);
    if (rc != SETTLE_OK)
        return rc;
    return s_finish(&ctx, s_bundle(&ctx, remit), pretty, text_out);
}
