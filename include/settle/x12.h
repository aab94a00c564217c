/*
 * x12.h - X12 5010 interchanges: delimiters, segments, and the 837P/837I
 * claim reader.
 *
 * An interchange names its own delimiters in its fixed-width ISA header: the
 * element separator is the byte after "ISA", the repetition separator is
 * ISA11, the component separator ISA16, and the segment terminator is the
 * byte after ISA16.  The scanner below splits text into segments and
 * elements with those delimiters; it never copies and never reads outside
 * text[0..length), whatever the bytes are (inputs are not NUL-terminated).
 *
 * The 837 reader streams: it maps one claim at a time into one reused
 * claim_t and hands it to a callback, so its memory is bounded by one claim,
 * not by the file.  A claim that cannot be read is reported with the file,
 * the segment number (1 = ST of its transaction), the segment id, the
 * element and what was expected, and the next claim is read as if nothing
 * happened.  An envelope error (ISA/GS/ST header or trailer) is reported
 * and stops only that envelope.
 *
 * Every claim of a transaction is dated by its BHT04 (claim_t.created); a
 * bad BHT04 rejects each of them, with BHT04 named.  What other payers did
 * is kept as claim_t.cob records, in file order: each adjustment of a
 * loop 2320 CAS on line 0 for that loop's payer; a loop 2430 SVD as a line
 * payment on its line for the payer whose 2330B NM109 equals SVD01 (an id
 * that names no other payer, or two, rejects the claim), and each
 * adjustment of the CAS after it for that payer on that line.  A CAS
 * outside those loops, or with more than six adjustments, rejects the
 * claim, as does a record past CLAIM_COB_MAX.  Read past, as the canonical
 * claim has no place for them: CAS quantities, SVD03..06, DTP*573 and the
 * AMT segments other than 2320 AMT*D.
 */
#ifndef SETTLE_X12_H
#define SETTLE_X12_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"

/* The ISA segment is fixed width: 106 bytes up to and including its terminator. */
#define X12_ISA_LENGTH 106

/* Data elements a segment may carry; no 837 segment has more than 20. */
#define X12_ELEMENTS_MAX 32

/* A segment id is two or three characters; the array holds a NUL. */
#define X12_ID_SIZE 4

/* The four delimiters of an interchange.  repetition is '\0' when ISA11 is
 * not a separator (the 4010 habit of sending "U" there). */
typedef struct {
    char element;
    char component;
    char repetition;
    char segment;
} x12_delimiters_t;

/* A run of bytes inside the input; not NUL-terminated.  length 0 = empty. */
typedef struct {
    const char *text;
    size_t length;
} x12_span_t;

/*
 * One segment, pointing into the input.  elements[0] is the id as found,
 * elements[1..element_count] the data elements; positions past
 * element_count read as empty.  id holds the id when it is well formed (two
 * or three upper-case letters and digits, a letter first) and "" otherwise.
 */
/* A segment id packed into 32 bits, so that a dispatch is one switch:
 * X12_ID('N', 'M', '1'), X12_ID('H', 'L', 0). */
#define X12_ID(a, b, c)                                                                            \
    ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | (uint32_t)(uint8_t)(c) << 16)

typedef struct {
    char id[X12_ID_SIZE];
    uint32_t code; /* id packed as X12_ID does; 0 when the id is malformed */
    size_t offset; /* of the segment's first byte in the input */
    uint32_t element_count;
    x12_span_t elements[X12_ELEMENTS_MAX + 1];
} x12_segment_t;

/* Where a scan stands.  A plain struct, so it lives on the caller's stack. */
typedef struct {
    const char *text;
    size_t length;
    size_t offset;
    x12_delimiters_t delimiters;
} x12_scanner_t;

/*
 * Reads the delimiters from an ISA header at text[0..length), after checking
 * that the header has its sixteen elements at their fixed widths and that
 * the four delimiters are distinct and not letters, digits or spaces.
 * SETTLE_ERR_TRUNCATED when fewer than X12_ISA_LENGTH bytes are left,
 * SETTLE_ERR_SYNTAX otherwise; error (may be NULL) names the ISA element at
 * fault, segment number left for the caller to set.  *delimiters_out is
 * written only on success.
 */
int x12_delimiters_from_isa(const char *text, size_t length, x12_delimiters_t *delimiters_out,
                            settle_error_t *error);

/* Starts a scan of text[0..length) from offset with the given delimiters.
 * The scanner borrows text: it must outlive the scan. */
void x12_scanner_init(x12_scanner_t *scanner, const char *text, size_t length, size_t offset,
                      const x12_delimiters_t *delimiters);

/*
 * Splits off the next segment, skipping the carriage returns, line feeds,
 * tabs and spaces found between segments.  Returns SETTLE_OK with the
 * segment; SETTLE_ERR_NOT_FOUND at the end of the input; or, with the
 * segment still filled and the scanner moved past it so the caller can go
 * on, SETTLE_ERR_SYNTAX for a malformed id, SETTLE_ERR_TOO_MANY for more
 * than X12_ELEMENTS_MAX elements (the first ones are kept), and
 * SETTLE_ERR_TRUNCATED for a last segment without its terminator.
 */
int x12_scanner_next(x12_scanner_t *scanner, x12_segment_t *segment_out);

/* Element at position (1-based; 0 is the id); empty past the last one. */
x12_span_t x12_element(const x12_segment_t *segment, uint32_t position);

/* Component at position (1-based) of a composite element, split on the
 * component separator; the whole element is component 1 when it has none. */
x12_span_t x12_component(x12_span_t element, char separator, uint32_t position);

/* True when span holds exactly the NUL-terminated text.  Inline: the
 * reader compares a few elements of every segment with it. */
static inline bool x12_span_is(x12_span_t span, const char *text)
{
    size_t i = 0;
    for (; i < span.length; i++)
        if (text[i] == '\0' || text[i] != span.text[i])
            return false;
    return text[i] == '\0';
}

/* ------------------------------------------------------------------------
 * The 837P / 837I reader
 * ------------------------------------------------------------------------ */

typedef enum {
    X12_837_CLAIM_REJECTED = 1, /* one claim could not be read or failed its checks */
    X12_837_ENVELOPE_ERROR = 2 /* a broken ISA/GS/ST header (that envelope is skipped) or trailer */
} x12_837_problem_t;

/*
 * What the reader calls.  Either pointer may be NULL.  A nonzero return
 * from either stops the reading, and x12_837_read returns that value.
 *
 * claim: a claim read and checked.  The claim belongs to the reader and is
 *   reused for the next one: copy what you keep before returning.
 * problem: a rejected claim (claim_id as read, "" when the problem came
 *   before CLM01) or an envelope error (claim_id "").  The error record is
 *   the reader's, valid only during the call.
 */
typedef struct {
    int (*claim)(const claim_t *claim, void *context);
    int (*problem)(x12_837_problem_t problem, const char *claim_id, const settle_error_t *error,
                   void *context);
} x12_837_callbacks_t;

typedef struct {
    /* Deliver claims that map cleanly without running claim_validate and
     * the total-charge check: for tools that inspect partial or test files. */
    bool skip_validation;
    /*
     * When not NULL, called for every envelope segment the reader accepts
     * as one: ISA, GS and ST as they open (after what they close has been
     * reported, before their own checks, so a problem with them is reported
     * after the call); SE, GE and IEA after their checks.  segment_number
     * is the segment's number in its transaction (ST is 1) for ST and SE,
     * in its interchange (ISA is 1) for the others.  The segment points
     * into the input and is valid only during the call.  A nonzero return
     * stops the reading like a callback's.  The acknowledgments
     * (settle/x12_ack.h) use it to know which envelope a problem is in.
     */
    int (*envelope)(const x12_segment_t *segment, uint32_t segment_number, void *context);
} x12_837_options_t;

/* What one call read, for the caller's summary and acknowledgments. */
typedef struct {
    uint32_t interchanges;
    uint32_t transactions;
    uint32_t claims_delivered;
    uint32_t claims_rejected;
    uint32_t envelope_errors;
} x12_837_stats_t;

/*
 * Reads every interchange in text[0..length) (any number of ISA/GS/ST
 * envelopes, with any delimiters each) and calls callbacks for each claim
 * and each problem, in file order.  file names the input in errors.
 * options may be NULL (validate everything).  stats_out, when not NULL, is
 * written before returning, whatever the outcome.
 *
 * Envelope trailers are checked when they arrive (SE01 segment count, SE02,
 * GE01, GE02, IEA01, IEA02): the claims of a transaction have been delivered
 * by then, so a caller that must refuse a whole transaction on a bad
 * trailer holds its claims until the ENVELOPE_ERROR or the next envelope.
 *
 * Returns SETTLE_OK when the input was read to its end (rejections and
 * envelope errors are reported through callbacks, not here),
 * SETTLE_ERR_NOMEM when the one claim could not be allocated, or the
 * nonzero value a callback returned.  Allocates one claim_t and its lines.
 */
int x12_837_read(const char *text, size_t length, const char *file,
                 const x12_837_callbacks_t *callbacks, void *context,
                 const x12_837_options_t *options, x12_837_stats_t *stats_out);

#endif
