/*
 * x12_837_cob.c - the 837 reader's coordination of benefits: what other
 * payers did with the claim before it came here.  Loop 2320 (SBR opens an
 * other payer, AMT*D is what it paid, CAS its claim-level adjustments) and
 * loop 2430 (SVD, what an other payer paid for a line, and the line's CAS),
 * segment to field, with a precise error for every element that cannot be
 * mapped.  The other payer's id (loop 2330B NM1*PR) is read with the other
 * name loops in x12_837_map.c; SVD01 must repeat it.
 */
#include <string.h>

#include "x12_837_reader.h"

/* ------------------------------------------------------------------------
 * Loop 2320: the other payer and what it paid
 * ------------------------------------------------------------------------ */

/* SBR inside a claim opens loop 2320: another payer. */
void x12_837_sbr(x12_837_reader_t *r)
{
    if (!r->in_claim || r->line)
        return;
    claim_t *claim = r->claim;
    x12_span_t responsibility = s_el(r, 1);
    if (claim->other_payer_count >= CLAIM_OTHER_PAYERS_MAX) {
        x12_837_fail(r, 0, 0, "at most 10 other payers (loop 2320)", SETTLE_ERR_TOO_MANY,
                     "too many other payers");
        return;
    }
    if (responsibility.length != 1 || !memchr("PSTABCDEFGHU", responsibility.text[0], 12)) {
        char shown[48];
        x12_837_fail(r, 1, 0, "a payer responsibility code P, S, T, A to H or U", SETTLE_ERR_SYNTAX,
                     "bad payer responsibility \"%s\"",
                     x12_837_show(responsibility, shown, sizeof shown));
        return;
    }
    claim_other_payer_t *other = &claim->other_payers[claim->other_payer_count++];
    memset(other, 0, sizeof *other);
    other->responsibility = responsibility.text[0];
    r->in_other_payer = true;
}

/* AMT*D in loop 2320: the amount the open other payer paid. */
void x12_837_amt(x12_837_reader_t *r)
{
    if (!r->in_claim || !r->in_other_payer || !x12_span_is(s_el(r, 1), "D"))
        return;
    claim_other_payer_t *other = &r->claim->other_payers[r->claim->other_payer_count - 1];
    x12_837_amount(r, s_el(r, 2), 2, &other->paid_cents);
}

/* ------------------------------------------------------------------------
 * Adjustments: CAS (loops 2320 and 2430), SVD (loop 2430)
 * ------------------------------------------------------------------------ */

#define S_CAS_TRIPLES_MAX 6 /* CAS02..CAS19: reason, amount, quantity */

/* Appends a record built and checked by the caller; false (reported) when
 * the claim holds CLAIM_COB_MAX already or memory runs out. */
static bool s_add_cob(x12_837_reader_t *r, const claim_cob_t *record, uint32_t element)
{
    claim_cob_t *cob;
    int rc = claim_add_cob(r->claim, &cob);
    if (rc == SETTLE_OK) {
        *cob = *record;
        return true;
    }
    x12_837_fail(r, element, 0,
                 rc == SETTLE_ERR_NOMEM ? NULL
                                        : "at most 4000 other-payer adjustments and line payments",
                 rc, "cannot keep another other-payer record: %s", settle_strerror(rc));
    return false;
}

/* CAS02/03 (or 05/06, ...): one adjustment reason and amount.  The
 * quantity after them is read past: the canonical claim keeps none. */
static bool s_cas_triple(x12_837_reader_t *r, claim_cob_t *cob, uint32_t at)
{
    char shown[48];
    x12_span_t reason = s_el(r, at);
    if (!x12_837_required(r, reason, at, 0, "an adjustment reason code") ||
        !x12_837_text(r, cob->reason, sizeof cob->reason, reason, at, 0, "adjustment reason"))
        return false;
    for (size_t i = 0; i < reason.length; i++)
        if (!((reason.text[i] >= 'A' && reason.text[i] <= 'Z') ||
              (reason.text[i] >= '0' && reason.text[i] <= '9'))) {
            x12_837_fail(r, at, 0,
                         "a claim adjustment reason code of upper-case letters and digits",
                         SETTLE_ERR_SYNTAX, "bad adjustment reason \"%s\"",
                         x12_837_show(reason, shown, sizeof shown));
            return false;
        }
    return x12_837_amount(r, s_el(r, at + 1), at + 1, &cob->amount_cents) && s_add_cob(r, cob, at);
}

/* The payer and line a CAS belongs to: the open 2320 loop's payer on the
 * claim (line 0), or the open 2430 loop's on its line. */
static bool s_cas_owner(x12_837_reader_t *r, claim_cob_t *cob)
{
    if (r->line && r->line_payer) {
        cob->payer = r->line_payer;
        cob->line = (uint16_t)r->claim->line_count;
        return true;
    }
    if (!r->line && r->in_other_payer && r->claim->other_payer_count > 0) {
        cob->payer = r->claim->other_payer_count;
        return true;
    }
    x12_837_fail(r, 0, 0, "CAS in loop 2320 (after its SBR) or loop 2430 (after its SVD)",
                 SETTLE_ERR_SYNTAX, "an adjustment outside an other payer's loop");
    return false;
}

/* CAS: CAS01 the group, then up to six adjustments, each a record. */
void x12_837_cas(x12_837_reader_t *r)
{
    static const char *const groups[] = {"CO", "PR", "OA", "PI", "CR"};
    char shown[48];
    claim_cob_t cob = {.kind = CLAIM_COB_ADJUSTMENT};
    if (!s_cas_owner(r, &cob))
        return;
    x12_span_t group = s_el(r, 1);
    if (!s_is_one_of(group, groups, sizeof groups / sizeof groups[0])) {
        x12_837_fail(r, 1, 0, "a claim adjustment group code CO, PR, OA, PI or CR",
                     group.length ? SETTLE_ERR_SYNTAX : SETTLE_ERR_MISSING,
                     "bad adjustment group \"%s\"", x12_837_show(group, shown, sizeof shown));
        return;
    }
    memcpy(cob.group, group.text, 2);
    if (r->segment.element_count > 1 + 3 * S_CAS_TRIPLES_MAX) {
        x12_837_fail(r, 2 + 3 * S_CAS_TRIPLES_MAX, 0,
                     "at most six reason, amount, quantity triples (CAS02 to CAS19)",
                     SETTLE_ERR_TOO_MANY, "too many adjustments in one CAS segment");
        return;
    }
    for (uint32_t i = 0; i < S_CAS_TRIPLES_MAX && !r->claim_failed; i++) {
        uint32_t at = 2 + 3 * i;
        if (i > 0 && !s_el(r, at).length && !s_el(r, at + 1).length && !s_el(r, at + 2).length)
            continue;
        s_cas_triple(r, &cob, at);
    }
}

/* SVD01: the other payer whose 2330B NM109 it repeats, 1-based; 0 when
 * none or more than one has that id (reported). */
static uint8_t s_svd_payer(x12_837_reader_t *r, x12_span_t id)
{
    const claim_t *claim = r->claim;
    char shown[48];
    uint8_t payer = 0;
    for (uint8_t i = 0; i < claim->other_payer_count; i++) {
        if (!x12_span_is(id, claim->other_payers[i].payer_id))
            continue;
        if (payer) {
            x12_837_fail(r, 1, 0, "an other payer id used by one loop 2330B only",
                         SETTLE_ERR_INVALID,
                         "\"%s\" is the id of more than one of the claim's other payers",
                         x12_837_show(id, shown, sizeof shown));
            return 0;
        }
        payer = (uint8_t)(i + 1);
    }
    if (!payer)
        x12_837_fail(r, 1, 0, "the id of one of the claim's other payers (loop 2330B NM109)",
                     SETTLE_ERR_NOT_FOUND,
                     "\"%s\" is not the id of any of the claim's other payers",
                     x12_837_show(id, shown, sizeof shown));
    return payer;
}

/* SVD opens loop 2430: what an other payer paid for the line (SVD02).  The
 * procedure, revenue code and units it repeats (SVD03..05) are the line's
 * and are read past, as is the bundled line number (SVD06). */
void x12_837_svd(x12_837_reader_t *r)
{
    r->line_payer = 0;
    if (!r->line) {
        x12_837_fail(r, 0, 0, "SVD after its service line's SV1 or SV2 (loop 2430)",
                     SETTLE_ERR_SYNTAX, "a line adjudication outside a service line");
        return;
    }
    claim_cob_t cob = {.kind = CLAIM_COB_LINE_PAID, .line = (uint16_t)r->claim->line_count};
    x12_span_t id = s_el(r, 1);
    if (!x12_837_required(r, id, 1, 0, "the other payer's id (loop 2330B NM109)") ||
        !(cob.payer = s_svd_payer(r, id)) || !x12_837_amount(r, s_el(r, 2), 2, &cob.amount_cents) ||
        !s_add_cob(r, &cob, 2))
        return;
    r->line_payer = cob.payer;
}
