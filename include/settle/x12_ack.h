/*
 * x12_ack.h - acknowledgments for an 837 file: what was accepted and what
 * was rejected, and why, written three ways.
 *
 *   - an X12 999 (005010X231A1): one 999 transaction set per functional
 *     group received (AK1), one AK2 per transaction set in it, IK3/IK4 for
 *     each segment or element at fault with the standard syntax error codes,
 *     IK5 (A accepted, E accepted with errors, R rejected) and AK9;
 *   - a 277CA-style claim acknowledgment (005010X214): one STC per claim,
 *     A2:20 for a claim accepted into adjudication, A3 (unprocessable) or A7
 *     (invalid information) with a claim status code for one rejected;
 *   - JSON, for people and scripts:
 *       {"file": ..., "accepted": [claim ids],
 *        "rejected": [{"claim_id", "segment", "segment_id", "element",
 *                      "message", "expected"}],
 *        "envelope_errors": [{"segment", "segment_id", "element",
 *                             "message", "expected"}]}
 *
 * An x12_ack_t collects while the 837 reader reads (x12_ack_read_837 wraps
 * x12_837_read and forwards every claim and problem to the caller's
 * callbacks), then writes.  The rules it applies:
 *
 *   - a transaction set with an envelope error (a bad ST header, a bad SE
 *     trailer, a broken HL hierarchy, a missing SE) is rejected (IK5*R),
 *     and so are the claims read from it, even those the reader delivered
 *     before the trailer: their reason is the envelope error;
 *   - a transaction set whose claims were read, some rejected, is accepted
 *     with errors (IK5*E) and its rejected claims' errors are its IK3/IK4;
 *   - the 277CA covers the claims of the transaction sets the 999 accepts;
 *   - envelope errors outside any transaction set (the ISA header, IEA)
 *     appear only in the JSON; a group's (GS, GE) also in its AK9.
 *
 * The writers take the control number, the date and the time as
 * parameters: an adapter reads no clock.  What a writer returns is
 * deterministic: the same file read and the same stamp give the same bytes.
 * Memory grows with the number of claims in the file (one small record per
 * claim, one error record per problem), not with its size in bytes.
 */
#ifndef SETTLE_X12_ACK_H
#define SETTLE_X12_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"
#include "settle/x12.h"

typedef struct x12_ack_s x12_ack_t;

/* What every outgoing interchange is stamped with. */
typedef struct {
    uint32_t control_number; /* 1..999999999: ISA13, GS06; ST02 counts 0001, 0002, ... */
    const char *date;        /* CCYYMMDD, eight digits */
    const char *time;        /* HHMM, four digits */
} x12_ack_stamp_t;

/* A new, empty collector for the file named file (copied; NULL is "").
 * NULL when out of memory.  Free with x12_ack_destroy. */
x12_ack_t *x12_ack_new(const char *file);

/* Frees the collector and sets *self_p to NULL; safe on NULL and twice. */
void x12_ack_destroy(x12_ack_t **self_p);

/*
 * Reads text as x12_837_read does (skip_validation as in its options) and
 * collects every envelope, claim and problem into self; each claim and
 * problem is also passed to callbacks (may be NULL) with context, as the
 * reader would.  Returns what x12_837_read returns: SETTLE_ERR_NOMEM also
 * when the collector could not grow (what it holds is then incomplete).
 * stats_out may be NULL.  Reading several texts into one collector adds
 * them up, as if they were one file.
 */
int x12_ack_read_837(x12_ack_t *self, const char *text, size_t length,
                     const x12_837_callbacks_t *callbacks, void *context, bool skip_validation,
                     x12_837_stats_t *stats_out);

/*
 * The three things x12_ack_read_837 feeds the collector with, for a caller
 * that drives the reader itself: with the signatures of the reader's
 * envelope observer, claim and problem callbacks, context being the
 * collector.  Each returns SETTLE_OK or SETTLE_ERR_NOMEM.
 */
int x12_ack_on_envelope(const x12_segment_t *segment, uint32_t segment_number, void *self);
int x12_ack_on_claim(const claim_t *claim, void *self);
int x12_ack_on_problem(x12_837_problem_t problem, const char *claim_id, const settle_error_t *error,
                       void *self);

/* Claims accepted and rejected so far, by the rules above (a claim of a
 * rejected transaction set counts as rejected). */
uint32_t x12_ack_accepted_count(const x12_ack_t *self);
uint32_t x12_ack_rejected_count(const x12_ack_t *self);

/*
 * Writes the 999 for everything collected: one interchange (ISA13 =
 * control number) with one GS*FA group holding one 999 per functional group
 * read.  The sender and receiver are those of the first interchange read,
 * swapped.  *text_out is a new NUL-terminated buffer the caller frees with
 * settle_free; *length_out (may be NULL) its length.  SETTLE_ERR_INVALID for
 * a bad stamp, SETTLE_ERR_NOMEM when out of memory; outputs written only on
 * success.
 */
int x12_ack_write_999(const x12_ack_t *self, const x12_ack_stamp_t *stamp, char **text_out,
                      size_t *length_out);

/*
 * Writes the 277CA: one interchange, one group (GS*HN), one 277 with the
 * payer (HL 20), the submitter with the file's totals (HL 21), and for each
 * claim of an accepted transaction set its billing provider (HL 19) and
 * patient (HL PT) with TRN*2 = the claim id, its STC, and for an accepted
 * claim REF*1K = the claim id and DTP*472 its service dates.  Ownership
 * and failures as x12_ack_write_999.
 */
int x12_ack_write_277(const x12_ack_t *self, const x12_ack_stamp_t *stamp, char **text_out,
                      size_t *length_out);

/* Writes the JSON form (indented, keys in the order above, a newline at
 * the end).  Ownership as x12_ack_write_999; SETTLE_ERR_NOMEM on failure. */
int x12_ack_write_json(const x12_ack_t *self, char **text_out, size_t *length_out);

#endif
