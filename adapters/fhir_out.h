/*
 * fhir_out.h - what the FHIR writers share (private to adapters/): exact
 * decimals in a jansson tree without a double.
 *
 * jansson can only write a fraction from a double, and a double cannot hold
 * 0.10 exactly.  So a writer puts each decimal into its tree as a string
 * that starts with a mark byte (fhir_out_decimal), lets jansson write the
 * text (fhir_out_dump), and then removes the quotes and the mark
 * (fhir_out_unmark, which fhir_out_dump calls), leaving
 * the number exactly as formatted from the integer ("12.50", "1.5").  A
 * writer must refuse caller text holding a byte outside printable ASCII, so
 * that no caller string can begin with the mark.
 *
 *   fhir_out.c          these helpers
 *   fhir_response.c     ClaimResponse and ExplanationOfBenefit
 *   fhir_claim_write.c  Claim and its Bundle
 */
#ifndef SETTLE_FHIR_OUT_H
#define SETTLE_FHIR_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"

/*
 * value / 10^scale (scale 2 or 3) as an exact decimal, as a new marked
 * JSON string (caller owns the reference), or NULL when out of memory.
 * With trim, trailing zeros after the point and a bare point are dropped
 * (units: 1500 -> 1.5, 2000 -> 2); without, all scale digits stay (cents:
 * 1250 -> 12.50).  Any int64_t is written exactly, negatives with a '-'.
 */
json_t *fhir_out_decimal(int64_t value, unsigned scale, bool trim);

/*
 * Turns every marked string in text[0..length) (JSON written by jansson)
 * into its bare decimal, in place, NUL-terminates it and returns the new
 * length.  It walks the text as JSON: a mark counts only where a string
 * begins, and escapes inside other strings are stepped over, so no other
 * string can be mistaken for a mark.  text must have room for the NUL at
 * text[length].  Never fails.
 */
size_t fhir_out_unmark(char *text, size_t length);

/*
 * Writes root as JSON text (keys in insertion order; two-space indent when
 * pretty, compact otherwise), unmarked.  On success *text_out is a new
 * NUL-terminated buffer from settle_malloc the caller frees with
 * settle_free, and *length_out (may be NULL) its length.  root stays the
 * caller's.  SETTLE_ERR_NOMEM when the text cannot be written; nothing is
 * then written to the out-pointers.
 */
int fhir_out_dump(const json_t *root, bool pretty, char **text_out, size_t *length_out);

#endif
