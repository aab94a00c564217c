/*
 * claim.h - the canonical claim: what settle knows of a claim, whatever
 * format it arrived in.
 *
 * Adapters (X12 837, FHIR) map what they read into a claim_t; the contract
 * interpreter reads only a claim_t; the ledger stores its canonical encoding
 * (claim_codec.h).  The record is a plain struct, not an opaque class,
 * because the interpreter reads it on the hot path and adapters fill it
 * field by field; the functions here keep the one thing that needs care,
 * the line array, and check what a well-formed claim must satisfy.
 *
 * Text fields are fixed-size, NUL-terminated arrays sized to the longest
 * value X12 5010 allows (or the longest code of that kind), so a claim needs
 * two allocations whatever its size: the record and its line array.  An
 * empty string means "not given".  Codes are stored as sent, without the dot
 * ICD-10 codes carry in print ("M545", not "M54.5"), as X12 sends them.
 */
#ifndef SETTLE_CLAIM_H
#define SETTLE_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"

/* Sizes include the NUL: a claim id is at most 38 characters (CLM01). */
#define CLAIM_ID_SIZE          39
#define CLAIM_PAYER_ID_SIZE    81 /* NM1*PR 09 */
#define CLAIM_NPI_SIZE         11 /* ten digits */
#define CLAIM_MEMBER_ID_SIZE   81 /* NM1*IL 09 */
#define CLAIM_REFERENCE_SIZE   51 /* REF*F8, REF*G1 */
#define CLAIM_PLACE_SIZE       3  /* place of service, two digits */
#define CLAIM_BILL_TYPE_SIZE   4  /* facility type (2) + frequency (1), "131" */
#define CLAIM_DIAGNOSIS_SIZE   8  /* ICD-10-CM, 3 to 7 characters */
#define CLAIM_PROCEDURE_SIZE   16 /* CPT / HCPCS, 5 characters in practice */
#define CLAIM_MODIFIER_SIZE    3
#define CLAIM_REVENUE_SIZE     5   /* four digits */
#define CLAIM_NDC_SIZE         12  /* eleven digits, 5-4-2 without hyphens */
#define CLAIM_LAST_NAME_SIZE   61  /* NM1 03 */
#define CLAIM_FIRST_NAME_SIZE  36  /* NM1 04 */
#define CLAIM_MIDDLE_NAME_SIZE 26  /* NM1 05 */
#define CLAIM_ADDRESS_SIZE     56  /* N3 01, N3 02 */
#define CLAIM_CITY_SIZE        31  /* N4 01 */
#define CLAIM_STATE_SIZE       3   /* N4 02 */
#define CLAIM_POSTAL_SIZE      16  /* N4 03 */
#define CLAIM_PHI_SIZE_MAX     576 /* a sealed envelope of the identifiers (phi.h) */

#define CLAIM_AGE_NONE (-1) /* claim_line_t.patient_age: not given */
#define CLAIM_AGE_MAX  200  /* claim_line_t.patient_age: the most years taken */

#define CLAIM_DIAGNOSES_MAX    25 /* 837I: principal + 24 others */
#define CLAIM_MODIFIERS_MAX    4
#define CLAIM_POINTERS_MAX     4
#define CLAIM_OTHER_PAYERS_MAX 10   /* 837 loop 2320 repeats */
#define CLAIM_COB_MAX          4000 /* other payers' adjustments and line payments */
#define CLAIM_LINES_MAX        999

#define CLAIM_UNITS_MILLI_PER_UNIT 1000

typedef enum {
    CLAIM_KIND_PROFESSIONAL = 'P', /* 837P, CMS-1500 */
    CLAIM_KIND_INSTITUTIONAL = 'I' /* 837I, UB-04 */
} claim_kind_t;

/* CLM05-3, the claim frequency type code.  Codes 1..9 are all legal; these
 * are the ones adjudication treats specially. */
typedef enum {
    CLAIM_FREQUENCY_ORIGINAL = 1,
    CLAIM_FREQUENCY_REPLACEMENT = 7,
    CLAIM_FREQUENCY_VOID = 8
} claim_frequency_t;

typedef enum { CLAIM_SEX_FEMALE = 'F', CLAIM_SEX_MALE = 'M', CLAIM_SEX_UNKNOWN = 'U' } claim_sex_t;

#define CLAIM_ADJUSTMENT_GROUP_SIZE  3 /* CAS01: "CO", "PR", "OA", "PI", "CR" */
#define CLAIM_ADJUSTMENT_REASON_SIZE 6 /* CAS02: a claim adjustment reason code */

/* Another payer that has adjudicated this claim before us (837 loop 2320);
 * what it did, claim by claim and line by line, is in claim_t.cob. */
typedef struct {
    char payer_id[CLAIM_PAYER_ID_SIZE];
    char responsibility; /* SBR01: 'P' primary, 'S' secondary, 'T' tertiary, ... */
    int64_t paid_cents;  /* AMT*D, what that payer paid */
} claim_other_payer_t;

typedef enum {
    CLAIM_COB_ADJUSTMENT = 1, /* a CAS adjustment: loop 2320 (line 0) or 2430 */
    CLAIM_COB_LINE_PAID = 2   /* SVD02: what the payer paid for a line (2430) */
} claim_cob_kind_t;

/* One thing another payer did with this claim (837 loops 2320 and 2430). */
typedef struct {
    uint8_t kind;                            /* claim_cob_kind_t */
    uint8_t payer;                           /* 1-based into other_payers */
    uint16_t line;                           /* 0: the claim as a whole; 1..line_count: that line */
    char group[CLAIM_ADJUSTMENT_GROUP_SIZE]; /* adjustments only, else "" */
    char reason[CLAIM_ADJUSTMENT_REASON_SIZE]; /* adjustments only, else "" */
    int64_t amount_cents;
} claim_cob_t;

/* One service line (837 loop 2400, FHIR Claim.item). */
typedef struct {
    char procedure_code[CLAIM_PROCEDURE_SIZE]; /* "" on an institutional line with only a revenue
                                                  code */
    char modifiers[CLAIM_MODIFIERS_MAX][CLAIM_MODIFIER_SIZE]; /* filled from the first */
    char revenue_code[CLAIM_REVENUE_SIZE];
    char ndc[CLAIM_NDC_SIZE];
    char place_of_service[CLAIM_PLACE_SIZE]; /* "" when the claim's applies */
    int64_t units_milli;                     /* service units x 1000: 1.5 units is 1500 */
    int64_t charge_cents;                    /* billed for the whole line */
    int32_t service_from;                    /* date.h day numbers; from == to for one day */
    int32_t service_to;
    uint8_t diagnosis_pointers[CLAIM_POINTERS_MAX]; /* 1-based into diagnoses; 0 = unused */
    int16_t patient_age; /* whole years on service_from, or CLAIM_AGE_NONE: set when the claim
                            is protected (phi.h), which takes the birth date away */
} claim_line_t;

/*
 * Who the patient is, beyond the member id and birth date: direct
 * identifiers the interpreter never reads.  Adapters fill it from the 837's
 * patient (loop 2010CA) or, when the subscriber is the patient, subscriber
 * (2010BA) name and address, or from FHIR's Patient.  On the shared ledger
 * it is always empty: phi.h seals it, with the member id and birth date,
 * into claim_t.phi before a claim leaves its payer.
 */
typedef struct {
    char last_name[CLAIM_LAST_NAME_SIZE];
    char first_name[CLAIM_FIRST_NAME_SIZE];
    char middle_name[CLAIM_MIDDLE_NAME_SIZE];
    char address_1[CLAIM_ADDRESS_SIZE];
    char address_2[CLAIM_ADDRESS_SIZE];
    char city[CLAIM_CITY_SIZE];
    char state[CLAIM_STATE_SIZE];
    char postal_code[CLAIM_POSTAL_SIZE];
} claim_patient_t;

typedef struct {
    char kind;                    /* claim_kind_t */
    uint8_t frequency;            /* claim_frequency_t or another code 1..9 */
    char claim_id[CLAIM_ID_SIZE]; /* patient control number, unique per submitter */
    char payer_id[CLAIM_PAYER_ID_SIZE];
    char billing_npi[CLAIM_NPI_SIZE];
    char rendering_npi[CLAIM_NPI_SIZE];   /* "" when the billing provider rendered */
    char member_id[CLAIM_MEMBER_ID_SIZE]; /* the key enrollment is looked up by */
    int32_t patient_birth_date;           /* DATE_NONE when not sent */
    int32_t
        created; /* the day the submitter made it: 837 BHT04, FHIR Claim.created; or DATE_NONE */
    char patient_sex;                                 /* claim_sex_t */
    claim_patient_t patient;                          /* names and address; see above */
    char original_claim_number[CLAIM_REFERENCE_SIZE]; /* REF*F8, for frequency 7 and 8 */
    char prior_authorization[CLAIM_REFERENCE_SIZE];   /* REF*G1 */
    char place_of_service[CLAIM_PLACE_SIZE];          /* professional: CLM05-1 */
    char bill_type[CLAIM_BILL_TYPE_SIZE];             /* institutional: CLM05-1 + CLM05-3 */
    int64_t total_charge_cents;                       /* CLM02 */
    uint8_t diagnosis_count;
    char diagnoses[CLAIM_DIAGNOSES_MAX][CLAIM_DIAGNOSIS_SIZE]; /* principal first */
    uint8_t other_payer_count;
    claim_other_payer_t other_payers[CLAIM_OTHER_PAYERS_MAX];
    uint32_t line_count;
    uint32_t line_capacity;
    claim_line_t *lines; /* owned by the claim */
    uint32_t cob_count;  /* in file order: by payer, the claim's then each line's */
    uint32_t cob_capacity;
    claim_cob_t *cob; /* owned by the claim; NULL until the first */
    /* The sealed identifiers (phi.h): empty on a claim in the clear; on a
     * protected claim member_id is then a pseudonymous member key, and the
     * birth date and patient block are empty. */
    uint16_t phi_size;
    uint8_t phi[CLAIM_PHI_SIZE_MAX];
} claim_t;

/* A new, empty claim (kind professional, frequency 1, sex unknown, no birth
 * date, no lines), or NULL when out of memory.  Free with claim_destroy. */
claim_t *claim_new(void);

/* Frees the claim and its lines and sets *self_p to NULL; safe on NULL and
 * on an already-destroyed pointer. */
void claim_destroy(claim_t **self_p);

/* Empties the claim as claim_new made it, keeping the line array's memory
 * for the next claim (readers reuse one claim_t for a whole file). */
void claim_reset(claim_t *self);

/*
 * Appends an empty line (no dates, no pointers, zero amounts) and returns it
 * through line_out.  The pointer is valid until the next claim_add_line,
 * claim_reserve_lines or claim_destroy.  SETTLE_ERR_TOO_MANY past
 * CLAIM_LINES_MAX, SETTLE_ERR_NOMEM when the array cannot grow (the claim is
 * unchanged).
 */
int claim_add_line(claim_t *self, claim_line_t **line_out);

/*
 * Makes dst a copy of src, lines and records included, reusing dst's
 * memory (readers lend their claim only for a callback; this is how a
 * caller keeps one).  SETTLE_ERR_NOMEM leaves dst empty, as claim_reset does.
 */
int claim_copy(claim_t *dst, const claim_t *src);

/* Makes room for count lines in all, so that adding them allocates nothing. */
int claim_reserve_lines(claim_t *self, uint32_t count);

/* Appends an empty coordination-of-benefits record, as claim_add_line does
 * a line (SETTLE_ERR_TOO_MANY past CLAIM_COB_MAX, SETTLE_ERR_NOMEM). */
int claim_add_cob(claim_t *self, claim_cob_t **cob_out);

/* Makes room for count records in all. */
int claim_reserve_cob(claim_t *self, uint32_t count);

/* True when a record is well formed for a claim of line_count lines and
 * other_payer_count other payers: a known kind, a payer and line in range,
 * an adjustment with a group and a reason, a line payment on a line and
 * without them.  The encoding and validation share this rule. */
bool claim_cob_ok(const claim_cob_t *cob, uint32_t line_count, uint8_t other_payer_count);

/*
 * Copies text[0..length) into a fixed-size field with a NUL after it.
 * SETTLE_ERR_TOO_LONG when it does not fit, SETTLE_ERR_INVALID when it holds
 * a character outside printable ASCII (0x20..0x7e: claim identifiers and
 * codes are ASCII in X12 and FHIR alike); the field is left unchanged on
 * failure.
 */
int claim_set_text(char *field, size_t field_size, const char *text, size_t length);

/* Convenience for claim_set_text with a whole field array: SET_TEXT(c->claim_id, s, n). */
#define CLAIM_SET_TEXT(field, text, length) claim_set_text((field), sizeof(field), (text), (length))

/*
 * Checks what every well-formed claim satisfies, whatever its source:
 * required fields present (claim id, payer, billing NPI, member id, at least
 * one line), NPIs of ten digits, frequency 1..9, frequency 7 and 8 carrying
 * the original claim number, amounts not negative, each line's dates valid
 * with from <= to, units positive, pointers within the diagnosis list, the
 * line charges adding up to the total charge, and every coordination of
 * benefits record well formed (claim_cob_ok).  Returns SETTLE_OK or the
 * first problem found, described in error (field name and value).
 */
int claim_validate(const claim_t *self, settle_error_t *error);

/* True when an NPI is ten digits whose last is the Luhn check digit over the
 * prefix 80840 and the first nine, as CMS issues them. */
bool claim_npi_check_digit_ok(const char *npi);

/* True when two claims hold the same values in every field and line. */
bool claim_equal(const claim_t *a, const claim_t *b);

#endif
