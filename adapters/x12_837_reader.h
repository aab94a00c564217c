/*
 * x12_837_reader.h - what the two halves of the 837 reader share (private
 * to adapters/): the reader's state, the error routing, and the entry
 * points each half calls in the other.
 *
 *   x12_837.c      the envelope (ISA/GS/ST and trailers) and the read loop
 *   x12_837_map.c  the hierarchy, the claim and its lines: segment to field
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
    x12_837_level_t billing, subscriber, patient;
    bool has_billing_name, has_subscriber_name, has_payer_name;
    char billing_npi[CLAIM_NPI_SIZE];
    char member_id[CLAIM_MEMBER_ID_SIZE];
    char payer_id[CLAIM_PAYER_ID_SIZE];
    int32_t subscriber_birth, patient_birth;
    char subscriber_sex, patient_sex;
    char name_loop[X12_ID_SIZE]; /* NM101 of the open name loop, "" when none */
    int name_order;              /* order of the last segment in that loop */
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
    claim_line_t *line; /* the line being read; NULL before the first SV1/SV2 */
    int32_t statement_from, statement_to;
} x12_837_reader_t;

static inline x12_span_t s_el(const x12_837_reader_t *r, uint32_t position)
{
    return x12_element(&r->segment, position);
}

static inline x12_span_t s_comp(const x12_837_reader_t *r, x12_span_t element, uint32_t position)
{
    return x12_component(element, r->scanner.delimiters.component, position);
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

/* An envelope error at the current segment, reported at once; the claim
 * being read, if any, is rejected with it. */
void x12_837_envelope_fail(x12_837_reader_t *r, uint32_t element, const char *expected, int code,
                           const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Maps one segment inside a transaction (anything but the envelope). */
void x12_837_body(x12_837_reader_t *r);

/* Ends the claim being read, if any: last checks, then deliver or reject. */
void x12_837_finish_claim(x12_837_reader_t *r);

#endif
