/*
 * claim_json.h - the canonical JSON form of a claim, for people and tools.
 *
 * The form is fixed: keys in the order of claim.h, amounts as integer cents
 * ("charge_cents": 1225), units as integer thousandths ("units_milli": 1000),
 * dates as "CCYY-MM-DD", fields that are not given left out.  Writing the
 * same claim always gives the same bytes.  Reading is strict: an unknown key,
 * a wrong type or a bad value is an error naming the file, the line and
 * column, and the path to the value ("lines[1].charge_cents").  The format
 * is documented, with an example, in fixtures/README.md.
 *
 * The patient block (claim_patient_t) goes into "patient" after birth_date
 * and sex, each name and address field under its claim.h name and left out
 * when empty; the sealed identifiers (claim_t.phi) are "phi", lowercase hex,
 * two digits a byte, last in the claim and left out when there are none
 * (odd length, another character or more than CLAIM_PHI_SIZE_MAX bytes is
 * refused); a line's patient_age is "patient_age", whole years 0..200, last
 * in the line and left out when CLAIM_AGE_NONE.  A claim without them gives
 * the same text as before they existed.
 */
#ifndef SETTLE_CLAIM_JSON_H
#define SETTLE_CLAIM_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "settle/claim.h"
#include "settle/error.h"

/* The value of the "format" key every canonical JSON claim carries. */
#define CLAIM_JSON_FORMAT "settle.claim/1"

/* The claim as a new JSON object (caller owns the reference, json_decref),
 * or NULL when out of memory or a date in the claim cannot be written. */
json_t *claim_to_json(const claim_t *claim);

/*
 * The claim as text in a new NUL-terminated buffer the caller frees with
 * settle_free: indented over several lines when pretty is nonzero, else on
 * one line.  No trailing newline.  SETTLE_ERR_RANGE when a date in the claim
 * is outside years 1..9999, SETTLE_ERR_NOMEM when out of memory.
 */
int claim_to_json_text(const claim_t *claim, int pretty, char **text_out);

/*
 * Reads one claim from a parsed JSON object into claim (reset first).  path
 * prefixes the positions in error messages ("claims[3]"); "" for none.  On
 * failure the claim holds whatever was read before the problem.
 */
int claim_from_json(const json_t *object, const char *path, claim_t *claim, settle_error_t *error);

/*
 * Reads a file's text: one claim object, or an array of them, or several
 * objects one after another (JSON lines).  Calls each(claim, context) for
 * every claim read, in order, with a claim it owns only for the call; a
 * nonzero return from each stops the reading and is returned.  file names
 * the input in errors.  A claim that cannot be read stops the reading with
 * its error (the claims before it have been delivered).
 */
int claim_json_read_text(const char *text, size_t length, const char *file,
                         int (*each)(const claim_t *claim, void *context), void *context,
                         settle_error_t *error);

#endif
