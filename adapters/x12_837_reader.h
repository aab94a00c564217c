/*
 * x12_837_reader.h - what the two halves of the 837 reader share (private
 * to adapters/): the reader's state, the error routing, the element
 * readers, and the entry points each part calls in another.
 *
 *   x12_837.c      the envelope (ISA/GS/ST and trailers), the read loop,
 *                  and closing a claim (last checks, deliver or reject)
 *   x12_837_map.c  the hierarchy, the claim and its lines, segment to
 *                  field, and the element readers the COB half shares
 *   x12_837_cob.c  the other payers' adjudication (COB, loops 2320 and
 *                  2430: SBR, AMT, CAS, SVD), segment to field
 */
#ifndef SETTLE_X12_837_READER_H
#define SETTLE_X12_837_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "settle/x12.h"

typedef enum {
    S_OUTSIDE,          /* before an ISA, or after an IEA */
    S_INTERCHANGE,      /* after ISA, outside a group */
    S_GROUP,            /* after GS, outside a transaction */
    S_TRANSACTION,      /* after ST */
    S_SKIP_TRANSACTION, /* a broken transaction: to its SE */
    S_SKIP_GROUP        /* a broken group: to its GE */
} x12_837_state_t;

typedef enum {
    S_SCOPE_HEADER,
    S_SCOPE_BILLING,
    S_SCOPE_SUBSCRIBER,
    S_SCOPE_PATIENT
} x12_837_scope_t;

/* One HL level: whether it is open, and the first problem found in it. */
typedef struct {
    bool present;
    bool failed;
    uint32_t hl_segment;
    settle_error_t error;
} x12_837_level_t;

#define S_CONTROL_SIZE 10 /* ISA13, GS06, ST02: at most nine characters */

typedef struct {
    const char *file;
    const x12_837_callbacks_t *callbacks;
    void *context;
    bool skip_validation;
    int (*envelope)(const x12_segment_t *segment, uint32_t segment_number, void *context);
    int stop; /* a callback's nonzero return */
    x12_837_stats_t stats;

    const char *text;
    size_t length;
    x12_scanner_t scanner;
    x12_segment_t segment;
    x12_837_state_t state;
    uint32_t interchange_segment; /* segments since ISA */
    uint32_t segment_number;      /* segments since ST */

    char isa13[S_CONTROL_SIZE];
    uint32_t groups;
    char gs06[S_CONTROL_SIZE];
    char group_kind;
    uint32_t transactions;
    char st02[S_CONTROL_SIZE];
    char kind;

    x12_837_scope_t scope;
    x12_837_level_t header; /* the transaction header (BHT): its problem rejects every claim */
    x12_837_level_t billing, subscriber, patient;
    bool has_bht;    /* the open transaction has had its BHT */
    int32_t created; /* its BHT04; DATE_NONE when not sent or bad */
    bool has_billing_name, has_subscriber_name, has_payer_name;
    char billing_npi[CLAIM_NPI_SIZE];
    char member_id[CLAIM_MEMBER_ID_SIZE];
    char payer_id[CLAIM_PAYER_ID_SIZE];
    int32_t subscriber_birth, patient_birth;
    char subscriber_sex, patient_sex;
    claim_patient_t subscriber_person; /* 2010BA NM1*IL names, N3, N4 */
    claim_patient_t patient_person;    /* 2010CA NM1*QC names, N3, N4 */
    char name_loop[X12_ID_SIZE];       /* NM101 of the open name loop, "" when none */
    int name_order;                    /* order of the last segment in that loop */
    bool name_has_n3;

    claim_t *claim;
    bool in_claim;
    bool claim_failed;
    settle_error_t claim_error;
    uint32_t clm_segment;
    bool has_diagnosis_segment;
    bool has_principal;
    bool lx_pending;
    bool in_other_payer;
    uint8_t line_payer; /* 1-based other payer of the open loop 2430 (SVD); 0 when none */
    claim_line_t *line; /* the line being read; NULL before the first SV1/SV2 */
    int32_t statement_from, statement_to;
} x12_837_reader_t;

/* x12_element and x12_component, inline: the mapping asks for a few
 * elements and components of every segment. */
static inline x12_span_t s_el(const x12_837_reader_t *r, uint32_t position)
{
    if (position > r->segment.element_count)
        return (x12_span_t){"", 0};
    return r->segment.elements[position];
}

static inline x12_span_t s_comp(const x12_837_reader_t *r, x12_span_t element, uint32_t position)
{
    const char separator = r->scanner.delimiters.component;
    const char *p = element.text, *end = element.text + element.length, *start = p;
    for (uint32_t index = 1;; p++) {
        if (p < end && *p != separator)
            continue;
        if (index == position)
            return (x12_span_t){start, (size_t)(p - start)};
        if (p >= end)
            return (x12_span_t){"", 0};
        index++;
        start = p + 1;
    }
}

/* True when span is one of the count codes in list. */
static inline bool s_is_one_of(x12_span_t span, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (x12_span_is(span, list[i]))
            return true;
    return false;
}

/* span as printable text for a message: at most 40 characters, anything
 * outside printable ASCII shown as '?'.  Returns buffer. */
const char *x12_837_show(x12_span_t span, char *buffer, size_t size);

/* Counts a problem and hands it to the caller's callback (unless stopped). */
void x12_837_report(x12_837_reader_t *r, x12_837_problem_t problem, const char *claim_id,
                    const settle_error_t *error);

/*
 * A problem at the current segment, given to whoever it spoils: the claim
 * being read; else the innermost HL level (every claim under it is then
 * rejected with it); else the transaction, which is skipped to its SE.
 * Only the first problem of a claim or level is kept.
 */
void x12_837_fail(x12_837_reader_t *r, uint32_t element, uint32_t component, const char *expected,
                  int code, const char *format, ...) __attribute__((format(printf, 6, 7)));

/* A problem at the current segment kept on level (the first one only):
 * every claim read under that level is rejected with it.  The transaction
 * header's BHT uses it, so that a bad BHT04 rejects the transaction's
 * claims, each with the BHT segment and element named. */
void x12_837_fail_level(x12_837_reader_t *r, x12_837_level_t *level, uint32_t element,
                        const char *expected, int code, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

/* An envelope error at the current segment, reported at once; the claim
 * being read, if any, is rejected with it. */
void x12_837_envelope_fail(x12_837_reader_t *r, uint32_t element, const char *expected, int code,
                           const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Maps one segment inside a transaction (anything but the envelope). */
void x12_837_body(x12_837_reader_t *r);

/* ------------------------------------------------------------------------
 * Element readers (x12_837_map.c), shared by the mapping and the COB
 * half.  Each reports a problem at the current segment through
 * x12_837_fail, naming element (and component), and returns false.
 * ------------------------------------------------------------------------ */

/* Copies span into a claim text field of size bytes (with the NUL); what
 * names the field in the message. */
bool x12_837_text(x12_837_reader_t *r, char *field, size_t size, x12_span_t span, uint32_t element,
                  uint32_t component, const char *what);

/* True when span is not empty; else reports it missing, with expected. */
bool x12_837_required(x12_837_reader_t *r, x12_span_t span, uint32_t element, uint32_t component,
                      const char *expected);

/* A required amount with at most two decimals, as cents in *cents_out
 * (written only on success). */
bool x12_837_amount(x12_837_reader_t *r, x12_span_t span, uint32_t element, int64_t *cents_out);

/* ------------------------------------------------------------------------
 * Other payers (x12_837_cob.c): each maps one segment of a claim; the
 * mapping's dispatch calls them.
 * ------------------------------------------------------------------------ */

/* SBR: opens loop 2320, another payer, on the claim (not on a line). */
void x12_837_sbr(x12_837_reader_t *r);

/* AMT*D in loop 2320: what the open other payer paid for the claim. */
void x12_837_amt(x12_837_reader_t *r);

/* CAS: the open 2320 payer's claim adjustments, or the open 2430 payer's
 * adjustments to the line. */
void x12_837_cas(x12_837_reader_t *r);

/* SVD: opens loop 2430, what an other payer paid for the open line. */
void x12_837_svd(x12_837_reader_t *r);

/* Ends the claim being read, if any: last checks, then deliver or reject. */
void x12_837_finish_claim(x12_837_reader_t *r);

/* ------------------------------------------------------------------------
 * Output (x12_out.c): a growing text buffer the X12 writers (the 837
 * writer, the 999 and the 277CA) append segments to, with '*', ':', '^'
 * and '~' as delimiters and a line feed after each segment.
 * ------------------------------------------------------------------------ */

#define X12_OUT_SEGMENT_MAX 1024 /* the longest segment a writer makes */

typedef struct {
    char *text; /* owned; NUL-terminated while not failed */
    size_t length;
    size_t capacity;
    bool failed; /* an allocation failed or a segment did not fit: all later appends are dropped */
    uint32_t segments; /* segments appended since the last x12_out_count_reset */
} x12_out_t;

/* An empty buffer; allocates nothing until the first append. */
void x12_out_init(x12_out_t *out);

/* Frees the text; the buffer is empty again. */
void x12_out_free(x12_out_t *out);

/* Appends length bytes. */
void x12_out_bytes(x12_out_t *out, const char *text, size_t length);

/* Appends one segment, printf-style, then "~\n", and counts it.  A segment
 * longer than X12_OUT_SEGMENT_MAX marks the buffer failed. */
void x12_out_segment(x12_out_t *out, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Hands the text to the caller (settle_free) and empties the buffer:
 * SETTLE_ERR_NOMEM when anything failed (the text is then freed). */
int x12_out_take(x12_out_t *out, char **text_out, size_t *length_out);

/* Copies text into field (size bytes with the NUL) for an element of an
 * outgoing segment: at most size - 1 characters, each delimiter or
 * character outside printable ASCII replaced by a space. */
void x12_out_clean(char *field, size_t size, const char *text, size_t length);

/* True when text holds one of the outgoing delimiters * : ^ ~. */
bool x12_out_has_delimiter(const char *text);

#endif
