/*
 * x12_837_write.h - canonical claims out as X12 837P (005010X222A1) and
 * 837I (005010X223A2).
 *
 * A writer builds one interchange in memory: ISA, then one functional group
 * and transaction set (GS/ST) per run of claims of the same kind, the claim
 * kind choosing 837P or 837I, then IEA.  Every field a claim_t holds is
 * written where the 837 reader (settle/x12.h) reads it back, so that
 * 837 -> canonical -> 837 -> canonical gives the same claim:
 *
 *   kind          GS08/ST03 (837P or 837I)  created     BHT04
 *   billing_npi   2010AA NM1*85 XX          member_id   2010BA NM1*IL MI
 *   birth, sex    2010BA DMG*D8             payer_id    2010BB NM1*PR PI
 *   patient names 2010BA NM1*IL 03/04/05    address     2010BA N3 01/02, N4 01/02/03
 *   claim_id      CLM01                     total       CLM02
 *   place         CLM05-1 (837P)            bill_type   CLM05-1 + CLM05-3 (837I)
 *   frequency     CLM05-3                   statement   DTP*434 (837I, from the lines)
 *   prior auth    REF*G1                    original    REF*F8
 *   diagnoses     HI ABK (principal), ABF   rendering   2310 NM1*82 XX
 *   other payers  2320 SBR01, AMT*D, 2330B NM1*PR PI
 *   cob, line 0   2320 CAS (group; reason, amount; quantity left empty)
 *   lines         LX; SV1 (HC:code:modifiers, charge, UN units, place,
 *                 pointers) or SV2 (revenue, HC:code:modifiers, charge, UN
 *                 units); DTP*472 D8/RD8; LIN*N4 NDC with CTP
 *   cob, line n   2430 SVD (SVD01 the payer's 2330B id, SVD02 the line
 *                 payment; SVD03..05 the line's procedure, 837I revenue
 *                 code and units), then its CAS
 *
 * Transactions.  An 837 says when its claims were made once per
 * transaction (BHT04), so a claim opens a new GS/ST when its kind or its
 * creation date differs from the open one's.  A claim without a creation
 * date is written with the writer's date (BHT04 is required), so it shares
 * a transaction with claims made that day and is read back with that date:
 * the one field that does not come back as it was, and only for claims
 * that did not come from an 837 (the reader always gives a date when the
 * 837 has its BHT04).
 *
 * Other payers' records (claim_t.cob) are written in their order, which
 * must be the one an 837 gives back: the claim's records (loop 2320) payer
 * by payer, then each line's (loop 2430) line by line, each line payment
 * (SVD) followed by the adjustments it carries.  Consecutive adjustments
 * of one group share a CAS segment, six at most; a group that comes back
 * after another gets a CAS of its own again, which keeps the order (an 837
 * read from a file that follows the guide, one CAS per group, is written
 * back the same way).  The guide's DTP*573 (adjudication date) is not
 * written: the canonical claim does not keep it.
 *
 * Every claim is written with the subscriber as the patient (SBR02 18, no
 * HL 23), so the patient's names and address go in loop 2010BA, where the
 * reader takes them back as the patient's; a claim read from an 837 with a
 * patient loop (2010CA) comes back with that patient's names and the
 * subscriber's member id, as it had.
 *
 * Two fields have no place in an 837 and are left out, not refused: the
 * sealed identifiers (claim_t.phi) and each line's patient_age.  A claim
 * read back has none (phi_size 0, CLAIM_AGE_NONE).  They belong to a
 * protected claim (phi.h), which is not the kind of claim sent as an 837:
 * an 837 carries the identifiers in the clear, in the fields above.
 *
 * A claim the 837 cannot carry exactly is refused, with the field named,
 * rather than written with a loss: a value holding one of the delimiters
 * * : ^ ~ (the patient's names and address included), an 837P claim
 * without a place of service, an 837I claim whose bill type does not end
 * in its frequency, a revenue code on a
 * professional line, a place of service or diagnosis pointers on an
 * institutional line, a sex without a birth date (DMG needs both), a
 * creation date past year 9999, other payers' records that are malformed
 * (claim_cob_ok) or out of the order above, a line adjustment with no line
 * payment of its payer before it, and a line payment by an other payer
 * without an id of its own (SVD01 names the payer by its 2330B id).
 *
 * The writer reads no clock: the control number, date and time are
 * parameters.  Same claims, same options: same bytes.
 */
#ifndef SETTLE_X12_837_WRITE_H
#define SETTLE_X12_837_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"

typedef struct {
    /* ISA13; GS06 and ST02 are control_number + n for the n-th group
     * (from 0).  1..999999999, and so must the last group's be. */
    uint32_t control_number;
    const char *date;        /* CCYYMMDD: ISA09 (as YYMMDD), GS04; BHT04 of undated claims */
    const char *time;        /* HHMM: ISA10, GS05, BHT05 */
    const char *sender_id;   /* ISA06, GS02, NM1*41; 1..15 characters; NULL is "SETTLE" */
    const char *receiver_id; /* ISA08, GS03, NM1*40; 1..15 characters; NULL is "SETTLE" */
    char usage;              /* ISA15: 'P' production or 'T' test; 0 is 'P' */
} x12_837_write_options_t;

typedef struct x12_837_writer_s x12_837_writer_t;

/*
 * A new writer with the ISA header written.  options is copied (its strings
 * too).  SETTLE_ERR_INVALID for a bad option (error, may be NULL, says
 * which), SETTLE_ERR_NOMEM; *writer_out is written only on success.  Free
 * with x12_837_writer_destroy.
 */
int x12_837_writer_new(const x12_837_write_options_t *options, x12_837_writer_t **writer_out,
                       settle_error_t *error);

/* Frees the writer and what it has built; sets *self_p to NULL; safe on
 * NULL and twice. */
void x12_837_writer_destroy(x12_837_writer_t **self_p);

/*
 * Appends one claim, opening a new group and transaction set when its kind
 * or its creation date (BHT04; the writer's date when it has none) differs
 * from the previous claim's.  A claim the 837 cannot carry exactly
 * is refused with SETTLE_ERR_INVALID and error (may be NULL) naming the
 * field; nothing of it is written and the writer can go on.  SETTLE_ERR_RANGE
 * when the control numbers would pass 999999999.  SETTLE_ERR_NOMEM when the
 * output cannot grow (the writer is then spent: finish fails too).
 */
int x12_837_writer_add(x12_837_writer_t *self, const claim_t *claim, settle_error_t *error);

/*
 * Closes what is open and hands over the interchange: *text_out is a new
 * NUL-terminated buffer the caller frees with settle_free, *length_out (may
 * be NULL) its length, *groups_out (may be NULL) the number of functional
 * groups written, which is how many control numbers the interchange used
 * (at least 1).  With no claims added, the interchange holds no group.
 * SETTLE_ERR_NOMEM when out of memory.  The writer is empty afterwards
 * whatever the outcome: destroy it.
 */
int x12_837_writer_finish(x12_837_writer_t *self, char **text_out, size_t *length_out,
                          uint32_t *groups_out);

#endif
