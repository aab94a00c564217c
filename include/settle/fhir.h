/*
 * fhir.h - FHIR R4 JSON: a parsed document that keeps every number's exact
 * text, and the Claim reader.
 *
 * jansson turns a JSON number with a fraction into a double, and a double
 * cannot hold 0.10 exactly.  settle lets no floating point decide an amount,
 * so a FHIR document is parsed by jansson for its structure and then walked
 * once more, in the same order, beside its text: every number, string,
 * object and array value is paired with the byte offset it came from.  An
 * amount is then read from the digits as written ("125.10" -> 12510 cents),
 * and an error can say on which line and column the bad value stands.
 *
 * The Claim reader takes a Claim resource, or a Bundle (type collection,
 * batch or transaction) holding Claims with the Patient, Coverage,
 * Practitioner and Organization resources they refer to, and maps each Claim
 * to the canonical claim_t.  It streams like the X12 reader: one reused
 * claim_t, handed to a callback; a Claim that cannot be mapped is reported
 * with the file, the line and column, and the JSON path from the document's
 * root ("entry[2].resource.item[0].net.value"), and the next Claim is read
 * as if nothing happened.  The mapping, and the choices made where FHIR
 * leaves room, are described at the top of adapters/fhir_claim.c.
 */
#ifndef SETTLE_FHIR_H
#define SETTLE_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"

/* Largest document the reader parses (bytes), and most entries in a Bundle:
 * references are resolved by a linear search, so both are bounded. */
#define FHIR_TEXT_MAX           (64u * 1024u * 1024u)
#define FHIR_BUNDLE_ENTRIES_MAX 10000u

/* ------------------------------------------------------------------------
 * A JSON document with exact numbers and positions
 * ------------------------------------------------------------------------ */

typedef struct fhir_json_t fhir_json_t;

/*
 * Parses text[0..length) (one JSON value, duplicate keys refused) and maps
 * each of its values to where it stands in the text.  The document borrows
 * text: it must outlive the document (number texts point into it).
 * On success *self_out is a new document the caller frees with
 * fhir_json_destroy.  Fails with SETTLE_ERR_SYNTAX (error names the line and
 * column and jansson's reason), SETTLE_ERR_TOO_LONG above FHIR_TEXT_MAX,
 * SETTLE_ERR_NOMEM, or SETTLE_ERR_CORRUPT if jansson's tree and the text
 * ever disagreed (a defensive check); *self_out is written only on success.
 * jansson reports some of its own allocation failures as syntax errors
 * ("invalid JSON: "), and those come back as SETTLE_ERR_SYNTAX.
 */
int fhir_json_load(const char *text, size_t length, fhir_json_t **self_out, settle_error_t *error);

/* Frees the document and its tree and sets *self_p to NULL; safe on NULL
 * and twice.  Every json_t borrowed from the document dies with it. */
void fhir_json_destroy(fhir_json_t **self_p);

/* The root value, borrowed from the document. */
const json_t *fhir_json_root(const fhir_json_t *self);

/*
 * The text of a number value exactly as written ("125.10", "1e2"), not
 * NUL-terminated, borrowed from the document.  false when value is not a
 * number of this document.
 */
bool fhir_json_number_text(const fhir_json_t *self, const json_t *value, const char **text_out,
                           size_t *length_out);

/* The 1-based line and column (in bytes) where value begins; false for a
 * value the document did not map (true, false and null are shared by
 * jansson, so they have no single place). */
bool fhir_json_position(const fhir_json_t *self, const json_t *value, uint32_t *line_out,
                        uint32_t *column_out);

/*
 * Reads a decimal written with at most decimals_max digits after the point
 * as an integer count of 10^-decimals_max: ("125.1", 2) -> 12510,
 * ("1.5", 3) -> 1500.  A leading '-' is allowed; an exponent, a '+', more
 * digits after the point, or anything else is SETTLE_ERR_SYNTAX, and a
 * value beyond 64 bits SETTLE_ERR_OVERFLOW.  decimals_max is 0..6.
 * *value_out is written only on success.  No floating point is involved.
 */
int fhir_decimal_scaled(const char *text, size_t length, int decimals_max, int64_t *value_out);

/* ------------------------------------------------------------------------
 * The Claim reader
 * ------------------------------------------------------------------------ */

typedef enum {
    FHIR_CLAIM_REJECTED = 1, /* one Claim could not be mapped or failed its checks */
    FHIR_DOCUMENT_ERROR = 2  /* the text, the Bundle or one of its entries cannot be read */
} fhir_problem_t;

/*
 * What the reader calls.  Either pointer may be NULL.  A nonzero return
 * from either stops the reading, and fhir_claim_read returns that value.
 *
 * claim: a Claim mapped and checked.  The claim belongs to the reader and
 *   is reused for the next one: copy what you keep before returning.
 * problem: a rejected Claim (claim_id as read from identifier[0], "" when
 *   the problem came before it) or a document error (claim_id "").  The
 *   error record is the reader's, valid only during the call.
 */
typedef struct {
    int (*claim)(const claim_t *claim, void *context);
    int (*problem)(fhir_problem_t problem, const char *claim_id, const settle_error_t *error,
                   void *context);
} fhir_claim_callbacks_t;

typedef struct {
    /* Deliver Claims that map cleanly without running claim_validate, for
     * tools that inspect partial or test files.  The total is still checked
     * against the item nets. */
    bool skip_validation;
} fhir_claim_options_t;

/* What one call read, for the caller's summary and acknowledgments. */
typedef struct {
    uint32_t entries; /* Bundle entries seen; 0 for a lone Claim */
    uint32_t claims_delivered;
    uint32_t claims_rejected;
    uint32_t document_errors;
} fhir_claim_stats_t;

/*
 * Reads text[0..length), a FHIR R4 Claim or Bundle in JSON, and calls
 * callbacks for each Claim and each problem, in document order.  file names
 * the input in errors.  options may be NULL (validate everything).
 * stats_out, when not NULL, is written before returning, whatever the
 * outcome.
 *
 * A text that is not JSON, or is neither a Claim nor a Bundle of an accepted
 * type, is one DOCUMENT_ERROR and nothing else is read; a Bundle entry that
 * is not an object with a resource is a DOCUMENT_ERROR for that entry only,
 * and the reading goes on.  Resources other than Claim are not delivered:
 * they are there for the Claims' references.
 *
 * Returns SETTLE_OK when the input was read to its end (rejections and
 * document errors go through callbacks, not here), SETTLE_ERR_NOMEM when
 * memory ran out (the reading stops there; Claims before it have been
 * delivered, and the one being read is not reported), or the nonzero value
 * a callback returned.  Holds the parsed document and one claim_t
 * while it reads; frees both before returning.
 */
int fhir_claim_read(const char *text, size_t length, const char *file,
                    const fhir_claim_callbacks_t *callbacks, void *context,
                    const fhir_claim_options_t *options, fhir_claim_stats_t *stats_out);

#endif
