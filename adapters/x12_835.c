/*
 * x12_835.c - the X12 835 writer (005010X221A1): one interchange, one
 * functional group, one transaction per remittance.
 *
 * The output goes into one growable buffer with a sticky error: every
 * helper does nothing once something has failed, so the segment list below
 * reads top to bottom like the implementation guide, and the error is
 * looked at once, at the end.  Values that come from the caller pass
 * through s_text, which refuses a delimiter or a byte outside printable
 * ASCII (a '*' in a payee name would shift every element after it);
 * amounts, dates and counts are made here and need no check.
 *
 * Choices the guide leaves open, made once here:
 *   - CLP02: 1/2/3 (processed as primary/secondary/tertiary, from the
 *     entry's responsibility) for paid and partial claims; 4 (denied) for
 *     denied and rejected ones; 22 (reversal of previous payment) for a
 *     void, whatever its original status.
 *   - CLP05 and a CAS triple with a zero amount are left out, as the guide
 *     says for amounts that are not there.
 *   - CAS groups appear in the order their first adjustment appears; within
 *     a group, up to six reason/amount pairs per segment, then another CAS.
 *   - SVC05 is the units that reached pricing; SVC07 the billed units when
 *     they differ.  A revenue-code-only line is SVC*NU:rev.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"
#include "settle/remit.h"

#define S_SCRATCH_COUNT    24
#define S_SCRATCH_SIZE     48
#define S_ELEMENTS_MAX     24
#define S_CAS_TRIPLES_MAX  6
#define S_PLB_PAIRS_MAX    6
#define S_CONTROL_MAX      999999999u
#define S_OUTPUT_BYTES_MAX ((size_t)1 << 31) /* 2 GiB: far past any real 835 */

typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    int rc;
    settle_error_t *error;
    uint32_t segment_count; /* since ST, for SE01 */
    bool newlines;
    unsigned scratch_next;
    char scratch[S_SCRATCH_COUNT][S_SCRATCH_SIZE];
} s_out_t;

/* ------------------------------------------------------------------------
 * The buffer and the value helpers
 * ------------------------------------------------------------------------ */

static void s_append(s_out_t *out, const char *text, size_t length)
{
    if (out->rc != SETTLE_OK)
        return;
    if (out->length + length + 1 > out->capacity) {
        size_t wanted = out->capacity ? out->capacity : 4096;
        while (wanted < out->length + length + 1 && wanted < S_OUTPUT_BYTES_MAX)
            wanted *= 2;
        char *grown = wanted >= out->length + length + 1 ? settle_realloc(out->data, wanted) : 0;
        if (!grown) {
            out->rc = settle_error_set(out->error, SETTLE_ERR_NOMEM, "835: %s",
                                       settle_strerror(SETTLE_ERR_NOMEM));
            return;
        }
        out->data = grown;
        out->capacity = wanted;
    }
    memcpy(out->data + out->length, text, length);
    out->length += length;
    out->data[out->length] = '\0';
}

/* A scratch buffer for one formatted value; reused after S_SCRATCH_COUNT calls,
 * which is more than any one segment needs. */
static char *s_scratch(s_out_t *out)
{
    char *buffer = out->scratch[out->scratch_next];
    out->scratch_next = (out->scratch_next + 1) % S_SCRATCH_COUNT;
    buffer[0] = '\0';
    return buffer;
}

/* Records the first failure; later ones are dropped, the first says most. */
static void s_fail(s_out_t *out, int code, const char *field, const char *why)
{
    if (out->rc != SETTLE_OK)
        return;
    out->rc = settle_error_set(out->error, code, "835: %s: %s", field, why);
}

/* value, checked: printable ASCII without a delimiter.  "" after a failure. */
static const char *s_text(s_out_t *out, const char *field, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || strchr("*:^~", *p)) {
            settle_error_expect(out->error, "printable ASCII without * : ^ ~");
            s_fail(out, SETTLE_ERR_INVALID, field, "holds a delimiter or a control byte");
            return "";
        }
    }
    return value;
}

/* As s_text, and the value must not be empty. */
static const char *s_required(s_out_t *out, const char *field, const char *value)
{
    if (!value[0]) {
        s_fail(out, SETTLE_ERR_MISSING, field, "required, and empty");
        return "";
    }
    return s_text(out, field, value);
}

static const char *s_amount(s_out_t *out, int64_t cents)
{
    char *buffer = s_scratch(out);
    if (x12_format_amount(cents, buffer, S_SCRATCH_SIZE) != SETTLE_OK)
        s_fail(out, SETTLE_ERR_RANGE, "amount", "cannot be formatted");
    return buffer;
}

/* Units x 1000 as a decimal without trailing zeros: 1500 -> "1.5". */
static const char *s_units(s_out_t *out, int64_t units_milli)
{
    char *buffer = s_scratch(out);
    uint64_t magnitude = units_milli < 0 ? 0 - (uint64_t)units_milli : (uint64_t)units_milli;
    int length =
        snprintf(buffer, S_SCRATCH_SIZE, "%s%llu.%03llu", units_milli < 0 ? "-" : "",
                 (unsigned long long)(magnitude / 1000), (unsigned long long)(magnitude % 1000));
    while (length > 0 && buffer[length - 1] == '0')
        buffer[--length] = '\0';
    if (length > 0 && buffer[length - 1] == '.')
        buffer[--length] = '\0';
    return buffer;
}

/* value in decimal, zero-padded to width digits (0: no padding). */
static const char *s_uint(s_out_t *out, int width, unsigned long value)
{
    char *buffer = s_scratch(out);
    snprintf(buffer, S_SCRATCH_SIZE, "%0*lu", width, value);
    return buffer;
}

static const char *s_date(s_out_t *out, const char *field, int32_t days)
{
    char *buffer = s_scratch(out);
    if (date_format_ccyymmdd(days, buffer, S_SCRATCH_SIZE) != SETTLE_OK)
        s_fail(out, SETTLE_ERR_RANGE, field, "not a date");
    return buffer;
}

/*
 * Writes one segment: id, then the elements up to the NULL, each after a
 * '*'.  Empty elements in the middle stay; trailing empty ones are dropped,
 * as X12 requires.
 */
static void s_segment(s_out_t *out, const char *id, ...)
{
    const char *elements[S_ELEMENTS_MAX];
    size_t count = 0, last = 0;
    va_list args;
    va_start(args, id);
    for (const char *element; (element = va_arg(args, const char *)) != NULL;) {
        if (count == S_ELEMENTS_MAX) {
            s_fail(out, SETTLE_ERR_TOO_MANY, id, "too many elements");
            break;
        }
        elements[count++] = element;
        if (element[0])
            last = count;
    }
    va_end(args);
    s_append(out, id, strlen(id));
    for (size_t i = 0; i < last; i++) {
        s_append(out, "*", 1);
        s_append(out, elements[i], strlen(elements[i]));
    }
    s_append(out, out->newlines ? "~\n" : "~", out->newlines ? 2 : 1);
    out->segment_count++;
}

int x12_format_amount(int64_t cents, char *buffer, size_t size)
{
    char text[MONEY_TEXT_SIZE];
    int rc = money_format(cents, text, sizeof text);
    if (rc != SETTLE_OK)
        return rc;
    size_t length = strlen(text);
    while (length > 0 && text[length - 1] == '0')
        length--;
    if (length > 0 && text[length - 1] == '.')
        length--;
    if (length == 0 || (length == 1 && text[0] == '-'))
        return snprintf(buffer, size, "0") < (int)size ? SETTLE_OK : SETTLE_ERR_TOO_LONG;
    if (length >= size)
        return SETTLE_ERR_TOO_LONG;
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Envelope and header
 * ------------------------------------------------------------------------ */

/* value left-justified and space-padded to width (ISA's fixed widths). */
static const char *s_padded(s_out_t *out, const char *field, const char *value, size_t width)
{
    char *buffer = s_scratch(out);
    size_t length = strlen(s_text(out, field, value));
    if (length > width) {
        s_fail(out, SETTLE_ERR_TOO_LONG, field, "longer than ISA allows");
        return buffer;
    }
    memcpy(buffer, value, length);
    memset(buffer + length, ' ', width - length);
    buffer[width] = '\0';
    return buffer;
}

static void s_check_control(s_out_t *out, const char *field, uint32_t number)
{
    if (number == 0 || number > S_CONTROL_MAX)
        s_fail(out, SETTLE_ERR_RANGE, field, "control number must be 1..999999999");
}

static void s_envelope_open(s_out_t *out, const x12_835_envelope_t *envelope)
{
    const x12_835_envelope_t *e = envelope;
    s_check_control(out, "interchange_control_number", e->interchange_control_number);
    s_check_control(out, "group_control_number", e->group_control_number);
    s_check_control(out, "transaction_control_number", e->transaction_control_number);
    if (e->time_hhmm > 2359 || e->time_hhmm % 100 > 59)
        s_fail(out, SETTLE_ERR_RANGE, "time_hhmm", "not a time of day HHMM");
    const char *date = s_date(out, "envelope date", e->date);
    const char *time = s_uint(out, 4, e->time_hhmm);
    const char *sender = s_required(out, "sender_id", e->sender_id);
    const char *receiver = s_required(out, "receiver_id", e->receiver_id);
    const char *sender_q = e->sender_qualifier[0] ? e->sender_qualifier : "ZZ";
    const char *receiver_q = e->receiver_qualifier[0] ? e->receiver_qualifier : "ZZ";
    s_segment(out, "ISA", "00", "          ", "00", "          ",
              s_padded(out, "sender_qualifier", sender_q, 2),
              s_padded(out, "sender_id", sender, 15),
              s_padded(out, "receiver_qualifier", receiver_q, 2),
              s_padded(out, "receiver_id", receiver, 15), out->rc == SETTLE_OK ? date + 2 : "",
              time, "^", "00501", s_uint(out, 9, e->interchange_control_number), "0",
              e->test ? "T" : "P", ":", NULL);
    s_segment(out, "GS", "HP", sender, receiver, date, time,
              s_uint(out, 0, e->group_control_number), "X", "005010X221A1", NULL);
    out->segment_count = 0;
    s_segment(out, "ST", "835", s_uint(out, 4, e->transaction_control_number), NULL);
}

static void s_envelope_close(s_out_t *out, const x12_835_envelope_t *envelope)
{
    s_segment(out, "SE", s_uint(out, 0, out->segment_count + 1UL),
              s_uint(out, 4, envelope->transaction_control_number), NULL);
    s_segment(out, "GE", "1", s_uint(out, 0, envelope->group_control_number), NULL);
    s_segment(out, "IEA", "1", s_uint(out, 9, envelope->interchange_control_number), NULL);
}

/* "1" + the nine-digit EIN: the originating company identifier of BPR10 and TRN03. */
static const char *s_company_id(s_out_t *out, const remit_t *remit)
{
    char *buffer = s_scratch(out);
    const char *tax_id = s_required(out, "payer_tax_id", remit->payer_tax_id);
    snprintf(buffer, S_SCRATCH_SIZE, "1%s", tax_id);
    return buffer;
}

static void s_bpr(s_out_t *out, const remit_t *remit)
{
    if (remit->payment_cents < 0)
        s_fail(out, SETTLE_ERR_RANGE, "payment_cents", "BPR02 cannot be negative");
    const char *amount = s_amount(out, remit->payment_cents);
    const char *date = s_date(out, "payment_date", remit->payment_date);
    const remit_t *r = remit;
    switch (remit->method) {
    case REMIT_METHOD_ACH:
        s_segment(out, "BPR", "C", amount, "C", "ACH", "CCP", "01",
                  s_required(out, "payer_bank_id", r->payer_bank_id), "DA",
                  s_required(out, "payer_account", r->payer_account), s_company_id(out, r), "",
                  "01", s_required(out, "payee_bank_id", r->payee_bank_id), "DA",
                  s_required(out, "payee_account", r->payee_account), date, NULL);
        break;
    case REMIT_METHOD_CHECK:
        s_segment(out, "BPR", "C", amount, "C", "CHK", "", "", "", "", "", "", "", "", "", "", "",
                  date, NULL);
        break;
    case REMIT_METHOD_NONE:
        s_segment(out, "BPR", "H", amount, "C", "NON", "", "", "", "", "", "", "", "", "", "", "",
                  date, NULL);
        break;
    default:
        s_fail(out, SETTLE_ERR_INVALID, "method", "not ACH, check or none");
    }
}

static void s_header(s_out_t *out, const remit_t *remit)
{
    s_bpr(out, remit);
    s_segment(out, "TRN", "1", s_required(out, "trace_number", remit->trace_number),
              s_company_id(out, remit), NULL);
    int32_t produced =
        remit->production_date != DATE_NONE ? remit->production_date : remit->payment_date;
    s_segment(out, "DTM", "405", s_date(out, "production_date", produced), NULL);
    s_segment(out, "N1", "PR", s_required(out, "payer_name", remit->payer_name), NULL);
    if (remit->payer_id[0])
        s_segment(out, "REF", "2U", s_text(out, "payer_id", remit->payer_id), NULL);
    s_segment(out, "N1", "PE", s_required(out, "payee_name", remit->payee_name), "XX",
              s_required(out, "payee_npi", remit->payee_npi), NULL);
    if (remit->payee_tax_id[0])
        s_segment(out, "REF", "TJ", s_text(out, "payee_tax_id", remit->payee_tax_id), NULL);
}

/* ------------------------------------------------------------------------
 * Claims and lines
 * ------------------------------------------------------------------------ */

/* One CAS segment: the group and up to six reason/amount/quantity triples. */
static void s_cas_segment(s_out_t *out, const char *group, const char **triples, unsigned used)
{
    for (unsigned k = used * 3; k < S_CAS_TRIPLES_MAX * 3; k++)
        triples[k] = "";
    s_segment(out, "CAS", group, triples[0], triples[1], triples[2], triples[3], triples[4],
              triples[5], triples[6], triples[7], triples[8], triples[9], triples[10], triples[11],
              triples[12], triples[13], triples[14], triples[15], triples[16], triples[17], NULL);
}

/* CAS segments for adjustments[0..count), grouped by group code in order of
 * first appearance, at most six triples a segment; zero amounts left out. */
static void s_cas(s_out_t *out, const interp_adjustment_t *adjustments, uint32_t count)
{
    bool written[INTERP_ADJUSTMENTS_MAX > REMIT_CLAIM_ADJUSTMENTS_MAX
                     ? INTERP_ADJUSTMENTS_MAX
                     : REMIT_CLAIM_ADJUSTMENTS_MAX] = {false};
    for (uint32_t first = 0; first < count; first++) {
        if (written[first] || adjustments[first].amount_cents == 0)
            continue;
        const char *group = s_required(out, "CAS group", adjustments[first].group);
        const char *triples[S_CAS_TRIPLES_MAX * 3];
        unsigned used = 0;
        for (uint32_t i = first; i < count; i++) {
            if (written[i] || adjustments[i].amount_cents == 0 ||
                strcmp(adjustments[i].group, adjustments[first].group) != 0)
                continue;
            written[i] = true;
            triples[used * 3] = s_required(out, "CAS reason", adjustments[i].reason);
            triples[used * 3 + 1] = s_amount(out, adjustments[i].amount_cents);
            triples[used * 3 + 2] = "";
            if (++used == S_CAS_TRIPLES_MAX) {
                s_cas_segment(out, group, triples, used);
                used = 0;
            }
        }
        if (used > 0)
            s_cas_segment(out, group, triples, used);
    }
}

/* SVC01: "HC:code:mod:mod..." or, for a revenue code alone, "NU:rev". */
static const char *s_procedure(s_out_t *out, const claim_line_t *line)
{
    char *buffer = s_scratch(out);
    if (!line->procedure_code[0]) {
        snprintf(buffer, S_SCRATCH_SIZE, "NU:%s",
                 s_required(out, "revenue_code", line->revenue_code));
        return buffer;
    }
    size_t length = (size_t)snprintf(buffer, S_SCRATCH_SIZE, "HC:%s",
                                     s_text(out, "procedure_code", line->procedure_code));
    for (int m = 0; m < CLAIM_MODIFIERS_MAX && line->modifiers[m][0]; m++)
        length += (size_t)snprintf(buffer + length, S_SCRATCH_SIZE - length, ":%s",
                                   s_text(out, "modifier", line->modifiers[m]));
    return buffer;
}

static void s_line(s_out_t *out, const claim_line_t *in, const interp_line_t *line)
{
    const char *revenue =
        in->procedure_code[0] ? s_text(out, "revenue_code", in->revenue_code) : "";
    const char *units_paid = s_units(out, line->units_milli_paid);
    const char *units_billed =
        line->units_milli_paid != line->units_milli ? s_units(out, line->units_milli) : "";
    s_segment(out, "SVC", s_procedure(out, in), s_amount(out, line->billed_cents),
              s_amount(out, line->paid_cents), revenue, units_paid, "", units_billed, NULL);
    if (in->service_from != DATE_NONE && in->service_from == in->service_to) {
        s_segment(out, "DTM", "472", s_date(out, "service date", in->service_from), NULL);
    } else if (in->service_from != DATE_NONE) {
        s_segment(out, "DTM", "150", s_date(out, "service from", in->service_from), NULL);
        s_segment(out, "DTM", "151", s_date(out, "service to", in->service_to), NULL);
    }
    s_cas(out, line->adjustments, line->adjustment_count);
    s_segment(out, "AMT", "B6", s_amount(out, line->allowed_cents), NULL);
}

/* CLP02, as the file comment says. */
static const char *s_claim_status(const remit_claim_t *entry)
{
    if (entry->frequency == CLAIM_FREQUENCY_VOID)
        return "22";
    if (entry->decision.status == INTERP_STATUS_DENIED ||
        entry->decision.status == INTERP_STATUS_REJECTED)
        return "4";
    return entry->responsibility == 'S' ? "2" : entry->responsibility == 'T' ? "3" : "1";
}

/* Adds the PR amounts of adjustments[0..count) to *total. */
static int s_add_patient(const interp_adjustment_t *adjustments, uint32_t count, int64_t *total)
{
    for (uint32_t i = 0; i < count; i++)
        if (strcmp(adjustments[i].group, "PR") == 0 &&
            money_add(*total, adjustments[i].amount_cents, total) != SETTLE_OK)
            return SETTLE_ERR_OVERFLOW;
    return SETTLE_OK;
}

/* CLP05: what the patient owes, the PR adjustments of the claim and its lines. */
static int64_t s_patient_cents(s_out_t *out, const remit_claim_t *entry)
{
    int64_t total = 0;
    int rc = s_add_patient(entry->adjustments, entry->adjustment_count, &total);
    for (uint32_t l = 0; l < entry->decision.line_count && rc == SETTLE_OK; l++)
        rc = s_add_patient(entry->decision.lines[l].adjustments,
                           entry->decision.lines[l].adjustment_count, &total);
    if (rc != SETTLE_OK)
        s_fail(out, rc, "CLP05", "patient responsibility too large");
    return total;
}

static void s_claim(s_out_t *out, const remit_claim_t *entry)
{
    int64_t patient = s_patient_cents(out, entry);
    char facility[CLAIM_PLACE_SIZE] = "";
    if (entry->kind == CLAIM_KIND_INSTITUTIONAL)
        memcpy(facility, entry->bill_type, strnlen(entry->bill_type, 2));
    else
        memcpy(facility, entry->place_of_service, sizeof facility);
    s_segment(out, "CLP", s_required(out, "claim_id", entry->decision.claim_id),
              s_claim_status(entry), s_amount(out, entry->charge_cents),
              s_amount(out, entry->decision.paid_cents), patient ? s_amount(out, patient) : "",
              s_required(out, "filing_indicator", entry->filing_indicator),
              s_text(out, "payer_claim_number", entry->payer_claim_number),
              s_text(out, "facility code", facility),
              s_uint(out, 0, (unsigned long)entry->frequency), NULL);
    s_cas(out, entry->adjustments, entry->adjustment_count);
    s_segment(out, "NM1", "QC", "1", s_text(out, "patient_last_name", entry->patient_last_name),
              s_text(out, "patient_first_name", entry->patient_first_name), "", "", "", "MI",
              s_required(out, "member_id", entry->member_id), NULL);
    for (uint32_t i = 0; i < entry->decision.line_count && out->rc == SETTLE_OK; i++)
        s_line(out, &entry->claim_lines[i], &entry->decision.lines[i]);
}

/* PLB segments, six reason/amount pairs each. */
static void s_plbs(s_out_t *out, const remit_t *remit)
{
    int32_t fiscal = remit->fiscal_period_end;
    if (fiscal == DATE_NONE && remit->payment_date != DATE_NONE) {
        int year, month, day;
        date_to_ymd(remit->payment_date, &year, &month, &day);
        date_from_ymd(year, 12, 31, &fiscal);
    }
    for (uint32_t first = 0; first < remit->plb_count && out->rc == SETTLE_OK;
         first += S_PLB_PAIRS_MAX) {
        const char *pairs[S_PLB_PAIRS_MAX * 2];
        for (uint32_t k = 0; k < S_PLB_PAIRS_MAX; k++) {
            const remit_plb_t *plb = first + k < remit->plb_count ? &remit->plbs[first + k] : 0;
            char *code = s_scratch(out);
            if (plb)
                snprintf(code, S_SCRATCH_SIZE, plb->reference[0] ? "%s:%s" : "%s",
                         s_required(out, "PLB reason", plb->reason),
                         s_text(out, "PLB reference", plb->reference));
            pairs[k * 2] = code;
            pairs[k * 2 + 1] = plb ? s_amount(out, plb->amount_cents) : "";
        }
        s_segment(out, "PLB", s_required(out, "payee_npi", remit->payee_npi),
                  s_date(out, "fiscal_period_end", fiscal), pairs[0], pairs[1], pairs[2], pairs[3],
                  pairs[4], pairs[5], pairs[6], pairs[7], pairs[8], pairs[9], pairs[10], pairs[11],
                  NULL);
    }
}

int x12_835_write(const remit_t *remit, const x12_835_envelope_t *envelope, char **text_out,
                  size_t *length_out, settle_error_t *error)
{
    if (!remit || !envelope || !text_out)
        return settle_error_set(error, SETTLE_ERR_INVALID, "x12_835_write: bad argument");
    int rc = remit_check_balance(remit, error);
    if (rc != SETTLE_OK)
        return rc;
    s_out_t *out = settle_calloc(1, sizeof *out);
    if (!out)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "835: %s",
                                settle_strerror(SETTLE_ERR_NOMEM));
    out->error = error;
    out->newlines = envelope->newlines;
    s_envelope_open(out, envelope);
    s_header(out, remit);
    if (remit->claim_count > 0)
        s_segment(out, "LX", "1", NULL);
    for (uint32_t i = 0; i < remit->claim_count && out->rc == SETTLE_OK; i++)
        s_claim(out, &remit->claims[i]);
    s_plbs(out, remit);
    s_envelope_close(out, envelope);
    rc = out->rc;
    if (rc == SETTLE_OK) {
        *text_out = out->data;
        if (length_out)
            *length_out = out->length;
    } else {
        settle_free(out->data);
    }
    settle_free(out);
    return rc;
}
