/*
 * x12_837.c - the X12 837P (005010X222A1) and 837I (005010X223A2) reader.
 *
 * One pass over the segments with one reused claim_t.  The reader keeps
 * three things apart:
 *
 *   - the envelope (ISA/GS/ST and their trailers): a broken header or a
 *     segment that cannot belong anywhere is an envelope error, reported
 *     once, and the reader skips to that envelope's trailer;
 *   - the transaction header (BHT) and the hierarchy (HL 20 billing
 *     provider, 22 subscriber, 23 patient): a problem there is remembered
 *     on its level and rejects every claim under that level, with the
 *     position of the problem itself;
 *   - the claim (CLM to the next HL, CLM or SE): the first problem rejects
 *     that claim only, and the next claim is read as if nothing happened.
 *
 * Segments are numbered within their transaction (ST is 1), as an X12 999
 * numbers them; outside a transaction, from the ISA (1).  This file holds
 * the envelope, the read loop and the closing of a claim (its last checks,
 * then delivery or rejection); x12_837_map.c maps the segments in between.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/date.h"
#include "settle/money.h"
#include "x12_837_reader.h"

/* ------------------------------------------------------------------------
 * Errors: where, and who gets them
 * ------------------------------------------------------------------------ */

/* Writes span as printable text for a message: at most 40 characters,
 * anything outside printable ASCII shown as '?'. */
const char *x12_837_show(x12_span_t span, char *buffer, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < span.length && n + 1 < size && n < 40; i++) {
        unsigned char c = (unsigned char)span.text[i];
        buffer[n++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
    }
    buffer[n] = '\0';
    return buffer;
}

static uint32_t s_current_number(const x12_837_reader_t *r)
{
    return r->state == S_TRANSACTION || r->state == S_SKIP_TRANSACTION ? r->segment_number
                                                                       : r->interchange_segment;
}

/* Fills error with the current segment's place and the reason. */
__attribute__((format(printf, 7, 0))) static void
s_describe(x12_837_reader_t *r, settle_error_t *error, uint32_t element, uint32_t component,
           int code, const char *expected, const char *format, va_list args)
{
    char id[SETTLE_ERROR_SEGMENT_SIZE];
    char message[SETTLE_ERROR_MESSAGE_SIZE];
    settle_error_clear(error);
    settle_error_file(error, r->file);
    x12_837_show(r->segment.elements[0], id, sizeof id);
    settle_error_at_segment(error, s_current_number(r), r->segment.id[0] ? r->segment.id : id,
                            element, component);
    vsnprintf(message, sizeof message, format, args);
    settle_error_set(error, code, "%s", message);
    if (expected)
        settle_error_expect(error, "%s", expected);
}

void x12_837_report(x12_837_reader_t *r, x12_837_problem_t problem, const char *claim_id,
                    const settle_error_t *error)
{
    if (problem == X12_837_CLAIM_REJECTED)
        r->stats.claims_rejected++;
    else
        r->stats.envelope_errors++;
    if (!r->stop && r->callbacks && r->callbacks->problem)
        r->stop = r->callbacks->problem(problem, claim_id, error, r->context);
}

/* Tells the caller's envelope observer, if any, about the current segment. */
static void s_envelope_event(x12_837_reader_t *r, uint32_t segment_number)
{
    if (!r->stop && r->envelope)
        r->stop = r->envelope(&r->segment, segment_number, r->context);
}

/* Rejects the claim being read, if any, with error, and closes it. */
static void s_abort_claim(x12_837_reader_t *r, const settle_error_t *error)
{
    if (!r->in_claim)
        return;
    r->in_claim = false;
    x12_837_report(r, X12_837_CLAIM_REJECTED, r->claim->claim_id,
                   r->claim_failed ? &r->claim_error : error);
}

/* An envelope error at the current segment: reported at once. */
void x12_837_envelope_fail(x12_837_reader_t *r, uint32_t element, const char *expected, int code,
                           const char *format, ...)
{
    settle_error_t error;
    va_list args;
    va_start(args, format);
    s_describe(r, &error, element, 0, code, expected, format, args);
    va_end(args);
    s_abort_claim(r, &error);
    x12_837_report(r, X12_837_ENVELOPE_ERROR, "", &error);
}

/*
 * A problem at the current segment, given to whoever it spoils: the claim
 * being read; else the innermost HL level; else (transaction header) the
 * whole transaction, which is then skipped.  Only the first problem of a
 * claim or level is kept: later ones are usually its echoes.
 */
void x12_837_fail(x12_837_reader_t *r, uint32_t element, uint32_t component, const char *expected,
                  int code, const char *format, ...)
{
    settle_error_t error;
    va_list args;
    va_start(args, format);
    s_describe(r, &error, element, component, code, expected, format, args);
    va_end(args);
    x12_837_level_t *level = r->scope == S_SCOPE_PATIENT      ? &r->patient
                             : r->scope == S_SCOPE_SUBSCRIBER ? &r->subscriber
                             : r->scope == S_SCOPE_BILLING    ? &r->billing
                                                              : NULL;
    if (r->in_claim) {
        if (!r->claim_failed)
            r->claim_error = error;
        r->claim_failed = true;
    } else if (r->state == S_TRANSACTION && level) {
        if (!level->failed)
            level->error = error;
        level->failed = true;
    } else if (r->state == S_TRANSACTION) {
        x12_837_report(r, X12_837_ENVELOPE_ERROR, "", &error);
        r->state = S_SKIP_TRANSACTION;
    } else if (r->state == S_INTERCHANGE || r->state == S_GROUP) {
        x12_837_report(r, X12_837_ENVELOPE_ERROR, "", &error);
    }
}

void x12_837_fail_level(x12_837_reader_t *r, x12_837_level_t *level, uint32_t element,
                        const char *expected, int code, const char *format, ...)
{
    if (level->failed)
        return;
    va_list args;
    va_start(args, format);
    s_describe(r, &level->error, element, 0, code, expected, format, args);
    va_end(args);
    level->failed = true;
}

static bool s_all_digits(x12_span_t span)
{
    for (size_t i = 0; i < span.length; i++)
        if (span.text[i] < '0' || span.text[i] > '9')
            return false;
    return span.length > 0;
}

/* A control number: one to nine characters, copied for the trailer check. */
static bool s_control(x12_837_reader_t *r, uint32_t element, char field[S_CONTROL_SIZE])
{
    x12_span_t span = s_el(r, element);
    if (span.length == 0 || span.length >= S_CONTROL_SIZE || !s_all_digits(span)) {
        char shown[48];
        x12_837_envelope_fail(r, element, "a control number of 1 to 9 digits", SETTLE_ERR_SYNTAX,
                              "bad control number \"%s\"", x12_837_show(span, shown, sizeof shown));
        return false;
    }
    memcpy(field, span.text, span.length);
    field[span.length] = '\0';
    return true;
}

/* A count in a trailer (SE01, GE01, IEA01); false when it is not digits. */
static bool s_count_is(x12_span_t span, uint32_t expected)
{
    if (!s_all_digits(span) || span.length > 9)
        return false;
    uint32_t value = 0;
    for (size_t i = 0; i < span.length; i++)
        value = value * 10 + (uint32_t)(span.text[i] - '0');
    return value == expected;
}

/* ------------------------------------------------------------------------
 * The envelope: ISA/IEA, GS/GE, ST/SE
 * ------------------------------------------------------------------------ */

/* The claim kind an implementation guide reference names, or 0. */
static char s_kind_of(x12_span_t version)
{
    if (version.length >= 10 && memcmp(version.text, "005010X222", 10) == 0)
        return CLAIM_KIND_PROFESSIONAL;
    if (version.length >= 10 && memcmp(version.text, "005010X223", 10) == 0)
        return CLAIM_KIND_INSTITUTIONAL;
    return 0;
}

/* Ends what is open below the interchange (a transaction, a group) when a
 * segment arrives that cannot be inside it. */
static void s_close_open(x12_837_reader_t *r, bool close_group)
{
    if (r->state == S_TRANSACTION || r->state == S_SKIP_TRANSACTION) {
        x12_837_envelope_fail(r, 0, "SE to end the transaction first", SETTLE_ERR_MISSING,
                              "transaction %s has no SE trailer", r->st02);
        r->state = S_GROUP;
    }
    if (close_group && (r->state == S_GROUP || r->state == S_SKIP_GROUP)) {
        x12_837_envelope_fail(r, 0, "GE to end the functional group first", SETTLE_ERR_MISSING,
                              "functional group %s has no GE trailer", r->gs06);
        r->state = S_INTERCHANGE;
    }
}

static void s_gs(x12_837_reader_t *r)
{
    s_close_open(r, true);
    r->transactions = 0;
    r->gs06[0] = '\0';
    r->state = S_SKIP_GROUP;
    s_envelope_event(r, r->interchange_segment);
    if (!s_control(r, 6, r->gs06))
        return;
    r->group_kind = s_kind_of(s_el(r, 8));
    if (!r->group_kind) {
        char shown[48];
        x12_837_envelope_fail(r, 8, "005010X222A1 (837P) or 005010X223A2 (837I)",
                              SETTLE_ERR_VERSION, "not an 837 claim group: version \"%s\"",
                              x12_837_show(s_el(r, 8), shown, sizeof shown));
        return;
    }
    r->state = S_GROUP;
}

static void s_st(x12_837_reader_t *r)
{
    bool in_group =
        r->state == S_GROUP || r->state == S_TRANSACTION || r->state == S_SKIP_TRANSACTION;
    s_close_open(r, false);
    r->segment_number = 1;
    r->transactions++;
    r->st02[0] = '\0';
    r->state = S_SKIP_TRANSACTION;
    r->scope = S_SCOPE_HEADER;
    r->billing.present = r->subscriber.present = r->patient.present = false;
    memset(&r->header, 0, sizeof r->header);
    r->header.present = true;
    r->has_bht = false;
    r->created = DATE_NONE;
    r->name_loop[0] = '\0';
    if (!in_group) {
        x12_837_envelope_fail(r, 0, "GS before ST", SETTLE_ERR_SYNTAX,
                              "a transaction outside a usable functional group");
        return;
    }
    s_envelope_event(r, 1);
    if (!s_control(r, 2, r->st02))
        return;
    char shown[48];
    if (!x12_span_is(s_el(r, 1), "837")) {
        x12_837_envelope_fail(r, 1, "837", SETTLE_ERR_VERSION, "transaction set \"%s\"",
                              x12_837_show(s_el(r, 1), shown, sizeof shown));
        return;
    }
    r->kind = r->group_kind;
    x12_span_t version = s_el(r, 3);
    if (version.length && s_kind_of(version) != r->group_kind) {
        x12_837_envelope_fail(r, 3, "the implementation guide named in GS08", SETTLE_ERR_VERSION,
                              "ST03 \"%s\" does not match the group",
                              x12_837_show(version, shown, sizeof shown));
        return;
    }
    r->state = S_TRANSACTION;
    r->stats.transactions++;
}

static void s_se(x12_837_reader_t *r)
{
    char shown[48];
    bool checked = r->state == S_TRANSACTION;
    x12_837_finish_claim(r);
    if (r->state != S_TRANSACTION && r->state != S_SKIP_TRANSACTION) {
        x12_837_envelope_fail(r, 0, "ST before SE", SETTLE_ERR_SYNTAX, "SE outside a transaction");
        return;
    }
    if (checked && !s_count_is(s_el(r, 1), r->segment_number))
        x12_837_envelope_fail(r, 1, "the number of segments from ST to SE", SETTLE_ERR_CORRUPT,
                              "segment count \"%s\" but the transaction has %u segments",
                              x12_837_show(s_el(r, 1), shown, sizeof shown), r->segment_number);
    else if (checked && !x12_span_is(s_el(r, 2), r->st02))
        x12_837_envelope_fail(r, 2, "the control number in ST02", SETTLE_ERR_CORRUPT,
                              "control number \"%s\" does not match ST02 \"%s\"",
                              x12_837_show(s_el(r, 2), shown, sizeof shown), r->st02);
    s_envelope_event(r, r->segment_number);
    r->state = S_GROUP; /* after the reports, which number SE within its transaction */
}

static void s_ge(x12_837_reader_t *r)
{
    char shown[48];
    s_close_open(r, false);
    if (r->state != S_GROUP && r->state != S_SKIP_GROUP) {
        x12_837_envelope_fail(r, 0, "GS before GE", SETTLE_ERR_SYNTAX,
                              "GE outside a functional group");
        return;
    }
    bool checked = r->state == S_GROUP;
    r->state = S_INTERCHANGE;
    r->groups++;
    if (checked && !s_count_is(s_el(r, 1), r->transactions))
        x12_837_envelope_fail(r, 1, "the number of transactions in the group", SETTLE_ERR_CORRUPT,
                              "transaction count \"%s\" but the group has %u",
                              x12_837_show(s_el(r, 1), shown, sizeof shown), r->transactions);
    else if (checked && !x12_span_is(s_el(r, 2), r->gs06))
        x12_837_envelope_fail(r, 2, "the control number in GS06", SETTLE_ERR_CORRUPT,
                              "control number \"%s\" does not match GS06 \"%s\"",
                              x12_837_show(s_el(r, 2), shown, sizeof shown), r->gs06);
    s_envelope_event(r, r->interchange_segment);
}

static void s_iea(x12_837_reader_t *r)
{
    char shown[48];
    s_close_open(r, true);
    r->state = S_OUTSIDE;
    if (!s_count_is(s_el(r, 1), r->groups))
        x12_837_envelope_fail(r, 1, "the number of functional groups in the interchange",
                              SETTLE_ERR_CORRUPT, "group count \"%s\" but the interchange has %u",
                              x12_837_show(s_el(r, 1), shown, sizeof shown), r->groups);
    else if (!x12_span_is(s_el(r, 2), r->isa13))
        x12_837_envelope_fail(r, 2, "the control number in ISA13", SETTLE_ERR_CORRUPT,
                              "control number \"%s\" does not match ISA13 \"%s\"",
                              x12_837_show(s_el(r, 2), shown, sizeof shown), r->isa13);
    s_envelope_event(r, r->interchange_segment);
}

/* ------------------------------------------------------------------------
 * Closing a claim: last checks, then deliver or reject
 * ------------------------------------------------------------------------ */

/* A problem with the claim as a whole, placed at its CLM segment. */
static void s_claim_fail_at_clm(x12_837_reader_t *r, uint32_t element, int code,
                                const char *expected, const char *message)
{
    if (r->claim_failed)
        return;
    settle_error_clear(&r->claim_error);
    settle_error_file(&r->claim_error, r->file);
    settle_error_at_segment(&r->claim_error, r->clm_segment, "CLM", element, 0);
    settle_error_set(&r->claim_error, code, "%s", message);
    if (expected)
        settle_error_expect(&r->claim_error, "%s", expected);
    r->claim_failed = true;
}

static void s_claim_checks(x12_837_reader_t *r)
{
    claim_t *claim = r->claim;
    if (!r->has_diagnosis_segment)
        s_claim_fail_at_clm(r, 0, SETTLE_ERR_MISSING, "an HI segment with the principal diagnosis",
                            "the claim has no HI diagnosis segment");
    if (r->skip_validation || r->claim_failed)
        return;
    int64_t sum = 0;
    for (uint32_t i = 0; i < claim->line_count; i++)
        if (money_add(sum, claim->lines[i].charge_cents, &sum) != SETTLE_OK)
            break;
    if (claim->line_count > 0 && sum != claim->total_charge_cents) {
        char total[MONEY_TEXT_SIZE], lines[MONEY_TEXT_SIZE], expected[96], message[128];
        money_format(claim->total_charge_cents, total, sizeof total);
        money_format(sum, lines, sizeof lines);
        snprintf(expected, sizeof expected, "the sum of the service line charges, %s", lines);
        snprintf(message, sizeof message, "total charge %s is not the sum of the line charges",
                 total);
        s_claim_fail_at_clm(r, 2, SETTLE_ERR_INVALID, expected, message);
        return;
    }
    settle_error_t error;
    settle_error_clear(&error);
    int rc = claim_validate(claim, &error);
    if (rc != SETTLE_OK)
        s_claim_fail_at_clm(r, 0, rc, "a claim that passes the canonical claim checks",
                            error.message);
}

void x12_837_finish_claim(x12_837_reader_t *r)
{
    if (!r->in_claim)
        return;
    claim_t *claim = r->claim;
    for (uint32_t i = 0; i < claim->line_count; i++)
        if (claim->lines[i].service_from == DATE_NONE) {
            claim->lines[i].service_from = r->statement_from;
            claim->lines[i].service_to = r->statement_to;
        }
    s_claim_checks(r);
    r->in_claim = false;
    r->line = NULL;
    if (r->claim_failed) {
        x12_837_report(r, X12_837_CLAIM_REJECTED, claim->claim_id, &r->claim_error);
        return;
    }
    r->stats.claims_delivered++;
    if (!r->stop && r->callbacks && r->callbacks->claim)
        r->stop = r->callbacks->claim(claim, r->context);
}

/* ------------------------------------------------------------------------
 * The read loop
 * ------------------------------------------------------------------------ */

static bool s_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The offset of the next "ISA" that starts a segment at or after from, or
 * the input's length when there is none. */
static size_t s_seek_isa(const x12_837_reader_t *r, size_t from)
{
    for (size_t at = from; at + 3 < r->length; at++) {
        const char *found = memchr(r->text + at, 'I', r->length - 3 - at);
        if (!found)
            break;
        at = (size_t)(found - r->text);
        if (found[1] == 'S' && found[2] == 'A' && !s_alnum(found[3]) &&
            (at == 0 || !s_alnum(found[-1])))
            return at;
    }
    return r->length;
}

/* Reports an interchange that cannot start, then looks for the next one. */
static void s_bad_interchange(x12_837_reader_t *r, settle_error_t *error, size_t at)
{
    x12_837_report(r, X12_837_ENVELOPE_ERROR, "", error);
    r->scanner.offset = s_seek_isa(r, at + 1);
}

/* Starts the interchange at the scanner's offset; false at the end of input. */
static bool s_start_interchange(x12_837_reader_t *r)
{
    size_t at = r->scanner.offset;
    while (at < r->length && (r->text[at] == ' ' || r->text[at] == '\t' || r->text[at] == '\r' ||
                              r->text[at] == '\n'))
        at++;
    if (at >= r->length)
        return false;
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, r->file);
    x12_delimiters_t delimiters;
    if (r->length - at < 3 || memcmp(r->text + at, "ISA", 3) != 0) {
        char id[4] = {0};
        for (size_t i = 0; i < 3 && at + i < r->length && s_alnum(r->text[at + i]); i++)
            id[i] = r->text[at + i];
        settle_error_at_segment(&error, 1, id, 0, 0);
        settle_error_expect(&error, "an ISA interchange header");
        settle_error_set(&error, SETTLE_ERR_MISSING, "the interchange does not start with ISA");
        s_bad_interchange(r, &error, at);
        return true;
    }
    if (x12_delimiters_from_isa(r->text + at, r->length - at, &delimiters, &error) != SETTLE_OK) {
        s_bad_interchange(r, &error, at);
        return true;
    }
    x12_span_t isa13 = {r->text + at + 90, 9};
    x12_837_show(isa13, r->isa13, sizeof r->isa13); /* printable: it goes into messages */
    x12_scanner_init(&r->scanner, r->text, r->length, at + X12_ISA_LENGTH, &delimiters);
    r->state = S_INTERCHANGE;
    r->interchange_segment = 1;
    r->groups = 0;
    r->stats.interchanges++;
    x12_scanner_t header;
    x12_scanner_init(&header, r->text, r->length, at, &delimiters);
    if (x12_scanner_next(&header, &r->segment) == SETTLE_OK)
        s_envelope_event(r, 1);
    return true;
}

static void s_segment(x12_837_reader_t *r)
{
    uint32_t code = r->segment.code;
    bool group_level = code == X12_ID('I', 'S', 'A') || code == X12_ID('I', 'E', 'A') ||
                       code == X12_ID('G', 'S', 0) || code == X12_ID('G', 'E', 0);
    if (r->state == S_SKIP_GROUP && !group_level)
        return; /* the group's error has been reported once */
    switch (code) {
    case X12_ID('I', 'S', 'A'):
        s_close_open(r, true);
        x12_837_envelope_fail(r, 0, "IEA to end the interchange first", SETTLE_ERR_MISSING,
                              "interchange %s has no IEA trailer", r->isa13);
        r->state = S_OUTSIDE;
        r->scanner.offset = r->segment.offset;
        break;
    case X12_ID('I', 'E', 'A'):
        s_iea(r);
        break;
    case X12_ID('G', 'S', 0):
        s_gs(r);
        break;
    case X12_ID('G', 'E', 0):
        s_ge(r);
        break;
    case X12_ID('S', 'T', 0):
        s_st(r);
        break;
    case X12_ID('S', 'E', 0):
        s_se(r);
        r->scope = S_SCOPE_HEADER;
        break;
    default:
        if (r->state == S_TRANSACTION)
            x12_837_body(r);
        else if (r->state == S_INTERCHANGE || r->state == S_GROUP)
            x12_837_envelope_fail(r, 0, r->state == S_GROUP ? "ST or GE" : "GS or IEA",
                                  SETTLE_ERR_SYNTAX, "segment outside a transaction");
    }
}

/* A segment the scanner could not split cleanly. */
static void s_scan_problem(x12_837_reader_t *r, int rc)
{
    char shown[48];
    if (r->state == S_SKIP_TRANSACTION || r->state == S_SKIP_GROUP)
        return;
    if (rc == SETTLE_ERR_SYNTAX)
        x12_837_fail(r, 0, 0, "a segment id of 2 or 3 upper-case letters and digits", rc,
                     "bad segment id \"%s\"",
                     x12_837_show(r->segment.elements[0], shown, sizeof shown));
    else if (rc == SETTLE_ERR_TOO_MANY)
        x12_837_fail(r, X12_ELEMENTS_MAX + 1, 0, "at most 32 elements in a segment", rc,
                     "too many elements");
    else
        x12_837_fail(r, 0, 0, "a segment terminator", rc,
                     "the input ends in the middle of a segment");
}

/* The input ended inside an interchange: one error for what is missing. */
static void s_end_inside(x12_837_reader_t *r)
{
    settle_error_t error;
    settle_error_clear(&error);
    settle_error_file(&error, r->file);
    bool in_transaction = r->state == S_TRANSACTION || r->state == S_SKIP_TRANSACTION;
    bool in_group = in_transaction || r->state == S_GROUP || r->state == S_SKIP_GROUP;
    settle_error_expect(&error, "%s",
                        in_transaction ? "SE, GE and IEA trailers"
                        : in_group     ? "GE and IEA trailers"
                                       : "an IEA trailer");
    settle_error_set(&error, SETTLE_ERR_TRUNCATED, "the input ends inside interchange %s",
                     r->isa13);
    s_abort_claim(r, &error);
    x12_837_report(r, X12_837_ENVELOPE_ERROR, "", &error);
}

int x12_837_read(const char *text, size_t length, const char *file,
                 const x12_837_callbacks_t *callbacks, void *context,
                 const x12_837_options_t *options, x12_837_stats_t *stats_out)
{
    x12_837_reader_t r;
    memset(&r, 0, sizeof r);
    r.file = file ? file : "";
    r.callbacks = callbacks;
    r.context = context;
    r.skip_validation = options && options->skip_validation;
    r.envelope = options ? options->envelope : NULL;
    r.text = text ? text : "";
    r.length = text ? length : 0;
    r.scanner.offset = 0;
    r.claim = claim_new();
    int rc = r.claim ? SETTLE_OK : SETTLE_ERR_NOMEM;
    while (r.claim && !r.stop) {
        if (r.state == S_OUTSIDE) {
            if (!s_start_interchange(&r))
                break;
            continue;
        }
        int scanned = x12_scanner_next(&r.scanner, &r.segment);
        if (scanned == SETTLE_ERR_NOT_FOUND) {
            s_end_inside(&r);
            break;
        }
        r.interchange_segment++;
        if (r.state == S_TRANSACTION || r.state == S_SKIP_TRANSACTION)
            r.segment_number++;
        if (scanned != SETTLE_OK)
            s_scan_problem(&r, scanned);
        else
            s_segment(&r);
    }
    claim_destroy(&r.claim);
    if (stats_out)
        *stats_out = r.stats;
    return rc != SETTLE_OK ? rc : r.stop;
}
