/*
 * fhir_read.h - what the FHIR Claim reader shares with the FHIR datatype
 * helpers (private to adapters/): where the reading stands in a document,
 * and typed access to the FHIR R4 datatypes with precise errors.
 *
 *   fhir_types.c  paths and error placement; typed access to elements;
 *                 CodeableConcept, Identifier, date, Period, decimal and
 *                 Money; References resolved in contained[] or the Bundle
 *   fhir_claim.c  the Claim mapped to the canonical claim_t, and the
 *                 document walk (a Claim, or a Bundle of them)
 *   fhir_claim_items.c  the Claim's diagnoses and items mapped to the
 *                 claim's diagnoses and lines
 *   fhir_claim_write.c  the other way: canonical claims written as Claims,
 *                 with the code systems below, so it writes what is read
 *
 * Every function here that can fail records its first problem in
 * cursor->error as "path[.key]: reason" at the line and column of the
 * value at fault, and returns its code; out-pointers are as each function
 * says.  Nothing here allocates: every json_t handed out is borrowed from
 * the document, and lives as long as it.
 */
#ifndef SETTLE_FHIR_READ_H
#define SETTLE_FHIR_READ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"
#include "settle/fhir.h"

#define FHIR_PATH_SIZE 160

/* The code systems the reader looks for, and the writer writes. */
#define FHIR_SYSTEM_NPI        "http://hl7.org/fhir/sid/us-npi"
#define FHIR_SYSTEM_CLAIM_TYPE "http://terminology.hl7.org/CodeSystem/claim-type"
#define FHIR_SYSTEM_ICD10_CM   "http://hl7.org/fhir/sid/icd-10-cm"
#define FHIR_SYSTEM_NDC        "http://hl7.org/fhir/sid/ndc"
#define FHIR_SYSTEM_CPT        "http://www.ama-assn.org/go/cpt"
#define FHIR_SYSTEM_HCPCS      "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"

/* A JSON path from the document's root ("entry[2].resource.item[0]"),
 * truncated (never overrun) when longer than FHIR_PATH_SIZE - 1. */
typedef struct {
    char text[FHIR_PATH_SIZE];
} fhir_path_t;

/* A resource a Reference resolved to, and the path that names it. */
typedef struct {
    const json_t *resource;
    fhir_path_t path;
} fhir_target_t;

/*
 * Where the reading stands.  The reader owns it and sets document (and
 * entries, for a Bundle) before the first call, resource before each
 * resource it reads; the helpers move path in and out and write error.
 */
typedef struct {
    const fhir_json_t *document; /* borrowed; gives positions and number texts */
    const json_t *entries;       /* the Bundle's entry array; NULL for a lone resource */
    const json_t *resource;      /* the resource being read: "#id" looks in its contained[] */
    fhir_path_t path;            /* of the value being read, from the document root */
    settle_error_t error;        /* the problem found, for the reader to report */
} fhir_cursor_t;

/* ------------------------------------------------------------------------
 * Paths and errors
 * ------------------------------------------------------------------------ */

/* Appends ".key" (or "key" at the root) to cursor->path; returns the
 * length to give fhir_pop to go back. */
size_t fhir_push_key(fhir_cursor_t *cursor, const char *key);

/* Appends "[index]" to cursor->path; returns the length to go back to. */
size_t fhir_push_index(fhir_cursor_t *cursor, size_t index);

/* Cuts cursor->path back to length, as a push returned it. */
void fhir_pop(fhir_cursor_t *cursor, size_t length);

/*
 * Records a problem in cursor->error: "path[.key]: reason" (key may be
 * NULL), at the line and column of at when the document knows it (at may
 * be NULL).  The file and any position already set are kept.  Returns code.
 */
__attribute__((format(printf, 5, 6))) int fhir_fail(fhir_cursor_t *cursor, const json_t *at,
                                                    const char *key, int code, const char *format,
                                                    ...);

/* Text of a string value for a message, written into buffer[size]:
 * printable ASCII (others as '?'), at most 40 characters.  Returns buffer. */
const char *fhir_show(const json_t *string, char *buffer, size_t size);

/* fhir_show into a buffer that lives until the end of the enclosing
 * full expression: for a message's arguments. */
#define FHIR_SHOW(string) fhir_show((string), (char[48]){0}, 48)

/* ------------------------------------------------------------------------
 * Elements and datatypes
 * ------------------------------------------------------------------------ */

/*
 * object[key] when it has the type (JSON_REAL stands for any number,
 * JSON_TRUE for a boolean); *value_out NULL when absent.  A value of
 * another type is SETTLE_ERR_SYNTAX, an absent one SETTLE_ERR_MISSING when
 * required.  object need not be an object (then key is absent).
 */
int fhir_get(fhir_cursor_t *cursor, const json_t *object, const char *key, json_type type,
             bool required, const json_t **value_out);

/* True when value is a string equal to text. */
bool fhir_string_is(const json_t *value, const char *text);

/*
 * The code of the first coding of a CodeableConcept (the cursor's path
 * names it) whose system is in systems, a NULL-terminated list (any system
 * when systems is NULL); *code_out NULL when there is none, which is
 * SETTLE_ERR_MISSING when required.  Malformed codings are errors.
 */
int fhir_concept_code_of(fhir_cursor_t *cursor, const json_t *concept, const char *const *systems,
                         bool required, const json_t **code_out);

/* fhir_concept_code_of for the CodeableConcept at object[key], if present
 * (SETTLE_ERR_MISSING when absent and required). */
int fhir_concept_code(fhir_cursor_t *cursor, const json_t *object, const char *key,
                      const char *const *systems, bool required, const json_t **code_out);

/* True when the CodeableConcept has a coding with this code, any system.
 * Never fails: anything malformed is simply not a match. */
bool fhir_concept_has_code(const json_t *concept, const char *code);

/*
 * The value of the first Identifier at holder[key] (an array of them, or
 * one object, as in a Reference) with the system and the type code asked
 * for (NULL: any).  *value_out NULL when none matches; a malformed
 * Identifier met before the match is an error.
 */
int fhir_identifier_find(fhir_cursor_t *cursor, const json_t *holder, const char *key,
                         const char *system, const char *type_code, const json_t **value_out);

/*
 * A date "CCYY-MM-DD" at object[key] into *days_out; a dateTime
 * ("...T10:00:00Z") when with_time, of which the date is kept.  *days_out
 * is untouched when absent.  Anything else, a partial date ("2024-03")
 * included, fails with the code date_parse_iso returns.
 */
int fhir_read_date(fhir_cursor_t *cursor, const json_t *object, const char *key, bool with_time,
                   int32_t *days_out);

/*
 * The Period at object[key]: start (a date or dateTime) is required, end
 * defaults to start and may not be before it.  *present_out says whether
 * there was a Period; the days are written as they are read, so they are
 * meaningful only on success with *present_out.
 */
int fhir_read_period(fhir_cursor_t *cursor, const json_t *object, const char *key,
                     bool *present_out, int32_t *start_days_out, int32_t *end_days_out);

/*
 * The number at object[key] as an integer count of 10^-decimals (2 or 3),
 * read from its text by fhir_decimal_scaled, never through a double.
 * what names it in messages ("an amount").  More decimals, an exponent or a
 * value below zero is an error.  *present_out says whether it was there.
 */
int fhir_read_decimal(fhir_cursor_t *cursor, const json_t *object, const char *key, int decimals,
                      const char *what, bool *present_out, int64_t *value_out);

/* A Money at object[key]: its value in cents (required in a Money), its
 * currency "USD" when given.  *present_out says whether it was there. */
int fhir_read_money(fhir_cursor_t *cursor, const json_t *object, const char *key, bool *present_out,
                    int64_t *cents_out);

/* ------------------------------------------------------------------------
 * References
 * ------------------------------------------------------------------------ */

/*
 * Resolves the Reference at object[key]: "#id" in cursor->resource's
 * contained[], else the Bundle entry whose fullUrl is the reference or whose
 * resource is "Type/id".  *reference_out is the Reference object (NULL when
 * absent); target->resource NULL when it names nothing in this document,
 * which is not an error (the Reference may carry an identifier).  A resource
 * found that is not of type (NULL: any) is SETTLE_ERR_INVALID.
 */
int fhir_resolve_key(fhir_cursor_t *cursor, const json_t *object, const char *key, const char *type,
                     const json_t **reference_out, fhir_target_t *target);

/* The NPI (an identifier with system FHIR_SYSTEM_NPI) of whoever the
 * Reference at object[key] names: on the resource it resolves to, else on
 * the Reference's own identifier.  *npi_out NULL when none. */
int fhir_reference_npi(fhir_cursor_t *cursor, const json_t *object, const char *key,
                       const json_t **npi_out);

/* ------------------------------------------------------------------------
 * The Claim reader's state (fhir_claim.c, fhir_claim_items.c)
 * ------------------------------------------------------------------------ */

/* What the reader knows while it maps one Claim.  fhir_claim.c owns it and
 * walks the document; fhir_claim_items.c fills the diagnoses and lines. */
typedef struct {
    fhir_cursor_t cursor; /* the document, the path and the error record */
    const char *file;
    const fhir_claim_callbacks_t *callbacks;
    void *context;
    bool skip_validation;
    int stop; /* a callback's nonzero return */
    fhir_claim_stats_t stats;

    claim_t *claim;
    bool cancelled;
    bool has_prior;
    int bill_type_frequency; /* 0 when no type of bill was given */
    uint8_t diagnosis_sequences[CLAIM_DIAGNOSES_MAX];
} fhir_claim_reader_t;

/* Copies a string value into a claim field of size bytes; key (may be
 * NULL) names it in errors: too long, or not printable ASCII. */
int fhir_claim_set_text(fhir_claim_reader_t *r, const json_t *value, const char *key, char *field,
                        size_t size);

/* diagnosis[] into the claim's diagnoses, in sequence order (the lowest
 * first, as the principal), remembering each one's sequence for the items'
 * diagnosisSequence; ICD-10-CM codes lose their dot. */
int fhir_claim_map_diagnoses(fhir_claim_reader_t *r, const json_t *resource);

/* item[] into the claim's lines (the diagnoses must be mapped first); then,
 * on a professional claim, item[0]'s place of service becomes the claim's
 * and lines keep only one that differs. */
int fhir_claim_map_items(fhir_claim_reader_t *r, const json_t *resource);

#endif
