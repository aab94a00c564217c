/*
 * remit.h - a remittance: what one payment from one payer to one provider
 * pays, claim by claim, and the X12 835 that tells the provider.
 *
 * A remittance holds copies of what it answers: for each claim, the fields
 * of the claim_t the 835 and FHIR writers need, its lines, and the
 * interpreter's decision (interp.h), plus the payer's claim control number;
 * and the provider-level adjustments (PLB) that move the payment away from
 * the sum of its claims.  It owns all of that memory, so the caller may reuse
 * its claim_t and interp_decision_t for the next claim as soon as
 * remit_add_claim returns.
 *
 * Amounts follow the 835's signs.  An adjustment (CAS) is positive when it
 * takes money off the charge; a PLB amount is positive when it takes money
 * off the payment (an overpayment recovered, WO) and negative when it adds
 * to it (interest paid, L6).  A reversal (a void, frequency 8) carries the
 * original decision's amounts negated.  Three rules must hold before
 * anything is written (remit_check_balance):
 *
 *   per line:   charge - sum(line adjustments) == paid
 *   per claim:  charge - sum(line adjustments) - sum(claim adjustments) == paid,
 *               and sum(line paid) - sum(claim adjustments) == paid
 *   payment:    payment total == sum(claim paid) - sum(PLB amounts)
 *
 * The record is a plain struct, like claim_t: writers read it field by
 * field and callers fill the header fields directly; the functions keep the
 * two arrays, which need care.
 */
#ifndef SETTLE_REMIT_H
#define SETTLE_REMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"
#include "settle/interp.h"

/* Sizes include the NUL and follow the 835's element maximums. */
#define REMIT_NAME_SIZE       61 /* N102, NM103 */
#define REMIT_FIRST_NAME_SIZE 36 /* NM104 */
#define REMIT_TAX_ID_SIZE     10 /* nine-digit EIN, no hyphen */
#define REMIT_TRACE_SIZE      51 /* TRN02: check or EFT trace number */
#define REMIT_REFERENCE_SIZE  51 /* CLP07, PLB03-2 */
#define REMIT_FILING_SIZE     3  /* CLP06: "CI", "12", "MB" */
#define REMIT_PLB_REASON_SIZE 3  /* PLB03-1: "WO", "FB", "L6", "72" */
#define REMIT_BANK_ID_SIZE    13 /* BPR07/BPR13: ABA routing number */
#define REMIT_ACCOUNT_SIZE    36 /* BPR09/BPR15 */

#define REMIT_CLAIMS_MAX            100000
#define REMIT_PLBS_MAX              1000
#define REMIT_CLAIM_ADJUSTMENTS_MAX 8

/* BPR04, how the money moves. */
typedef enum {
    REMIT_METHOD_ACH,   /* "ACH": automated clearing house (CCP format) */
    REMIT_METHOD_CHECK, /* "CHK": a paper check; the trace number is its number */
    REMIT_METHOD_NONE   /* "NON": no money moves (a zero payment) */
} remit_method_t;

/* One claim the payment answers. */
typedef struct {
    char kind;                               /* claim_kind_t */
    uint8_t frequency;                       /* CLP09 */
    char place_of_service[CLAIM_PLACE_SIZE]; /* professional: CLP08 */
    char bill_type[CLAIM_BILL_TYPE_SIZE];    /* institutional: CLP08 is its first two digits */
    char member_id[CLAIM_MEMBER_ID_SIZE];    /* NM1*QC 09 */
    char patient_last_name[REMIT_NAME_SIZE]; /* NM1*QC 03, "" when not known */
    char patient_first_name[REMIT_FIRST_NAME_SIZE];
    char payer_claim_number[REMIT_REFERENCE_SIZE]; /* CLP07 */
    char filing_indicator[REMIT_FILING_SIZE];      /* CLP06, "CI" unless set */
    char responsibility;       /* 'P', 'S' or 'T': this payer's place (CLP02 1, 2 or 3) */
    int64_t charge_cents;      /* CLP03: the decision's billed total */
    uint32_t adjustment_count; /* claim-level CAS, beside the lines' */
    interp_adjustment_t adjustments[REMIT_CLAIM_ADJUSTMENTS_MAX];
    claim_line_t *claim_lines;  /* decision.line_count of them, owned by the remittance */
    interp_decision_t decision; /* its lines owned by the remittance */
} remit_claim_t;

/* One provider-level adjustment (PLB03/PLB04 pair). */
typedef struct {
    char reason[REMIT_PLB_REASON_SIZE];
    char reference[REMIT_REFERENCE_SIZE];
    int64_t amount_cents; /* positive reduces the payment */
} remit_plb_t;

typedef struct {
    char payer_id[CLAIM_PAYER_ID_SIZE];   /* REF*2U */
    char payer_name[REMIT_NAME_SIZE];     /* N1*PR 02 */
    char payer_tax_id[REMIT_TAX_ID_SIZE]; /* TRN03 and BPR10, after a '1' */
    char payee_name[REMIT_NAME_SIZE];     /* N1*PE 02 */
    char payee_npi[CLAIM_NPI_SIZE];       /* N1*PE 04 (XX) and PLB01 */
    char payee_tax_id[REMIT_TAX_ID_SIZE]; /* REF*TJ, "" when not sent */
    uint8_t method;                       /* remit_method_t */
    int64_t payment_cents;                /* BPR02 */
    int32_t payment_date;                 /* BPR16, date.h day number */
    int32_t production_date;              /* DTM*405; DATE_NONE: the payment date */
    int32_t fiscal_period_end;            /* PLB02; DATE_NONE: 31 December of the payment year */
    char trace_number[REMIT_TRACE_SIZE];  /* TRN02 */
    /* ACH only: the payer's and the payee's bank (BPR06..09, BPR12..15). */
    char payer_bank_id[REMIT_BANK_ID_SIZE];
    char payer_account[REMIT_ACCOUNT_SIZE];
    char payee_bank_id[REMIT_BANK_ID_SIZE];
    char payee_account[REMIT_ACCOUNT_SIZE];
    uint32_t claim_count;
    uint32_t claim_capacity;
    remit_claim_t *claims; /* owned */
    uint32_t plb_count;
    uint32_t plb_capacity;
    remit_plb_t *plbs; /* owned */
} remit_t;

/* A new, empty remittance (method check, no dates, no claims), or NULL when
 * out of memory.  Free with remit_destroy. */
remit_t *remit_new(void);

/* Frees the remittance, its claims and their lines, and sets *self_p to
 * NULL; safe on NULL and on an already-destroyed pointer. */
void remit_destroy(remit_t **self_p);

/*
 * Appends the answer to one claim: copies what the writers need from claim
 * and decision (both stay the caller's, and may be reused at once) and sets
 * the payer claim control number (NUL-terminated, may be "" but not NULL).
 * The entry's charge is the decision's billed total, its filing indicator
 * "CI" and responsibility 'P'; change them through entry_out (may be NULL),
 * valid until the next remit_add_claim or remit_destroy.  Fails with
 * SETTLE_ERR_INVALID when the decision does not answer the claim (other
 * claim id, other line count), SETTLE_ERR_TOO_LONG for a control number
 * too long, SETTLE_ERR_TOO_MANY past REMIT_CLAIMS_MAX, SETTLE_ERR_NOMEM;
 * the remittance is unchanged on failure.
 */
int remit_add_claim(remit_t *self, const claim_t *claim, const interp_decision_t *decision,
                    const char *payer_claim_number, remit_claim_t **entry_out,
                    settle_error_t *error);

/* Adds a claim-level adjustment (group "CO"/"PR"/"OA"/"PI"/"CR", CARC
 * reason).  SETTLE_ERR_TOO_MANY past REMIT_CLAIM_ADJUSTMENTS_MAX,
 * SETTLE_ERR_TOO_LONG for a code too long; the entry is unchanged on failure. */
int remit_claim_add_adjustment(remit_claim_t *entry, const char *group, const char *reason,
                               int64_t amount_cents);

/* Appends a provider-level adjustment.  SETTLE_ERR_TOO_LONG for a reason or
 * reference too long, SETTLE_ERR_TOO_MANY past REMIT_PLBS_MAX,
 * SETTLE_ERR_NOMEM; the remittance is unchanged on failure. */
int remit_add_plb(remit_t *self, const char *reason, const char *reference, int64_t amount_cents);

/* The payment the claims and PLBs add up to: sum(claim paid) - sum(PLB),
 * for a caller to put in payment_cents.  SETTLE_ERR_OVERFLOW when it does
 * not fit; *total_out is written only on success. */
int remit_payment_due(const remit_t *self, int64_t *total_out);

/*
 * Checks the three balancing rules above, in order: every line of every
 * claim, then every claim, then the payment.  Returns SETTLE_OK, or
 * SETTLE_ERR_RANGE with error naming the claim (id and position) and the
 * line, the rule, and the two amounts that disagree, e.g.
 *   "claim C1 (1 of 3), line 2: charge - adjustments = 80.00 but paid = 75.00"
 * SETTLE_ERR_OVERFLOW when a sum does not fit in 64 bits.
 */
int remit_check_balance(const remit_t *self, settle_error_t *error);

/* ------------------------------------------------------------------------
 * The X12 835 writer (adapters/x12_835.c)
 * ------------------------------------------------------------------------ */

#define X12_835_ID_SIZE 16 /* ISA06 / ISA08: fifteen characters */

/* What the envelope needs that the remittance does not say.  The writer
 * reads no clock: the interchange date and time come from the caller. */
typedef struct {
    char sender_qualifier[3]; /* ISA05, "ZZ" when "" */
    char sender_id[X12_835_ID_SIZE];
    char receiver_qualifier[3]; /* ISA07, "ZZ" when "" */
    char receiver_id[X12_835_ID_SIZE];
    uint32_t interchange_control_number; /* ISA13/IEA02, 1..999999999 */
    uint32_t group_control_number;       /* GS06/GE02, 1..999999999 */
    uint32_t transaction_control_number; /* ST02/SE02, 1..999999999, at least 4 digits */
    int32_t date;                        /* ISA09 / GS04, date.h day number */
    uint32_t time_hhmm;                  /* ISA10 / GS05, 0000..2359 */
    bool test;                           /* ISA15 'T' instead of 'P' */
    bool newlines;                       /* a '\n' after each '~', for people */
} x12_835_envelope_t;

/*
 * Writes the remittance as one X12 835 interchange (005010X221A1), with
 * '*' ':' '^' '~' as delimiters: ISA/GS/ST, BPR, TRN, DTM*405, the payer
 * (N1*PR, REF*2U) and payee (N1*PE with the NPI, REF*TJ) loops, LX, then per
 * claim CLP, its CAS, NM1*QC, and per line SVC, DTM*472 (or 150/151 for a
 * range), CAS, AMT*B6; then PLB, SE/GE/IEA with their counts.
 *
 * CLP02 is 1, 2 or 3 (processed as primary, secondary, tertiary, by the
 * entry's responsibility) for a paid or partly paid claim, 4 for a denied
 * or rejected one, and 22 for a void (frequency 8: the reversal of a
 * previous payment, amounts negative).
 *
 * On success *text_out is a NUL-terminated buffer from settle_malloc that
 * the caller frees with settle_free, and *length_out (may be NULL) its
 * length.  The writer refuses, writes nothing and returns the error from
 * remit_check_balance when the remittance does not balance; it fails with
 * SETTLE_ERR_RANGE for a negative payment total, a missing date or a
 * control number out of range, SETTLE_ERR_MISSING for a required field
 * left empty, SETTLE_ERR_INVALID for a value holding a delimiter or a byte
 * outside printable ASCII, SETTLE_ERR_NOMEM.  error names the field.
 */
int x12_835_write(const remit_t *remit, const x12_835_envelope_t *envelope, char **text_out,
                  size_t *length_out, settle_error_t *error);

/* Writes cents the X12 way into buffer (MONEY_TEXT_SIZE is enough): no
 * trailing zeros after the point, no point when whole: 10000 -> "100",
 * 1250 -> "12.5", 0 -> "0", -5 -> "-0.05".  SETTLE_ERR_TOO_LONG when the
 * buffer is too small. */
int x12_format_amount(int64_t cents, char *buffer, size_t size);

#endif
