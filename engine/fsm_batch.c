/*
 * fsm_batch.c - a batch of claims: each adjudicated once, stored in one row
 * with its decision (lines, adjustments, accumulator changes), and settled
 * by one transfer.
 *
 * A batch is checked whole before any claim is applied (every claim must
 * decode, be well formed, carry no patient identifier in the clear (phi.h)
 * and name the batch's payer), so a batch is either
 * refused whole or every claim in it gets an answer.  A claim id the payer
 * has already submitted gets its first answer again and moves no money.
 *
 * Money: a claim's net amount is what it changes in what the payer owes
 * the provider - its paid amount for an original, minus the original's
 * paid amount for a void, the difference for a replacement - and its
 * transfer moves exactly that, from the payer's funding account to the
 * provider's payable account (or back, when negative); the ledger gathers
 * the transfers of an entry's claims into one per provider and direction.
 */
#include <inttypes.h>
#include <stdio.h>

#include "fsm_internal.h"

/* Where claim i of the batch is decoded: its own slot for the first
 * FSM_DECODED_MAX (made on first use, kept for the next batches), so the
 * apply pass need not decode it again; the scratch claim past that or when
 * a slot cannot be made. */
static claim_t *s_slot(fsm_t *fsm, uint32_t i)
{
    if (i >= FSM_DECODED_MAX)
        return fsm->claim;
    if (!fsm->decoded[i])
        fsm->decoded[i] = claim_new();
    return fsm->decoded[i] ? fsm->decoded[i] : fsm->claim;
}

/* Checks every claim of the batch; rejects the command at the first bad one. */
static int s_check_claims(fsm_apply_t *apply, const command_batch_t *batch)
{
    size_t cursor = 0, size;
    const uint8_t *bytes;
    settle_error_t problem;
    for (uint32_t i = 0; command_batch_next(batch, &cursor, &bytes, &size); i++) {
        claim_t *claim = s_slot(apply->fsm, i);
        settle_error_clear(&problem);
        if (claim_decode_into(claim, bytes, size, &problem) != SETTLE_OK ||
            claim_validate(claim, &problem) != SETTLE_OK ||
            phi_check_claim(claim, &problem) != SETTLE_OK)
            return fsm_reject(apply, problem.code, "claim %" PRIu32 " of the batch: %s", i + 1,
                              problem.message);
        if (strcmp(claim->payer_id, batch->payer) != 0)
            return fsm_reject(apply, SETTLE_ERR_INVALID,
                              "claim %s names payer \"%s\", not the batch's \"%s\"",
                              claim->claim_id, claim->payer_id, batch->payer);
    }
    return SETTLE_OK;
}

static void s_answer(fsm_claim_result_t *result, const ledger_claim_t *row, bool duplicate)
{
    memcpy(result->claim_id, row->claim_id, sizeof result->claim_id);
    memcpy(result->billing_npi, row->billing_npi, sizeof result->billing_npi);
    result->status = row->status;
    result->duplicate = duplicate;
    result->billed_cents = row->billed_cents;
    result->paid_cents = row->paid_cents;
    result->net_cents = duplicate ? 0 : row->net_cents;
    memcpy(result->reason, row->reason, sizeof result->reason);
}

/* The transfer that settles a claim's net amount. */
static int s_settle(fsm_apply_t *apply, const ledger_claim_t *row, settle_error_t *error)
{
    if (row->net_cents == 0)
        return SETTLE_OK;
    fsm_t *fsm = apply->fsm;
    if (strcmp(fsm->account_payer, row->payer) != 0 ||
        strcmp(fsm->account_npi, row->billing_npi) != 0) {
        memcpy(fsm->account_payer, row->payer, sizeof fsm->account_payer);
        memcpy(fsm->account_npi, row->billing_npi, sizeof fsm->account_npi);
        ledger_account_funding(row->payer, fsm->account_funding);
        ledger_account_payable(row->payer, row->billing_npi, fsm->account_payable);
    }
    const char *funding = fsm->account_funding, *payable = fsm->account_payable;
    bool owed = row->net_cents > 0;
    ledger_transfer_t transfer = {.debit_account = owed ? funding : payable,
                                  .credit_account = owed ? payable : funding,
                                  .amount_cents = owed ? row->net_cents : -row->net_cents,
                                  .kind = owed ? LEDGER_TRANSFER_CLAIM : LEDGER_TRANSFER_REVERSAL,
                                  .payer = row->payer,
                                  .claim_id = row->claim_id,
                                  .payment_id = "",
                                  .entry_index = apply->entry_index};
    return ledger_transfer(apply->fsm->ledger, &transfer, error);
}

/* Fills the row from the interpreter's decision. */
static void s_decided(ledger_claim_t *row, const interp_decision_t *decision,
                      const ledger_claim_t *original)
{
    row->status = (uint8_t)decision->status;
    memcpy(row->related_claim_id, decision->related_claim_id, sizeof row->related_claim_id);
    row->billed_cents = decision->billed_cents;
    row->allowed_cents = decision->allowed_cents;
    row->paid_cents = decision->paid_cents;
    row->patient_cents = decision->patient_cents;
    bool rejected = decision->status == INTERP_STATUS_REJECTED;
    row->net_cents = rejected ? 0 : decision->paid_cents;
    /* A correction's net comes from what the ledger recorded for the
     * original, not from the decision's totals. */
    if (!rejected && row->frequency == CLAIM_FREQUENCY_REPLACEMENT && original)
        row->net_cents = decision->paid_cents - original->paid_cents;
    else if (!rejected && row->frequency == CLAIM_FREQUENCY_VOID && original)
        row->net_cents = -original->paid_cents;
    if (rejected)
        memcpy(row->settlement, LEDGER_SETTLEMENT_NONE, sizeof LEDGER_SETTLEMENT_NONE);
    else
        memcpy(row->settlement, LEDGER_SETTLEMENT_PAYABLE, sizeof LEDGER_SETTLEMENT_PAYABLE);
}

/* Adjudicates the claim into row; a failure of the interpreter other than
 * memory is the claim's rejection, not an error. */
static int s_adjudicate(fsm_apply_t *apply, fsm_payer_t *payer, const claim_t *claim,
                        ledger_claim_t *row, const ledger_claim_t *original, bool *decided,
                        settle_error_t *error)
{
    fsm_t *fsm = apply->fsm;
    *decided = false;
    row->status = INTERP_STATUS_REJECTED;
    memcpy(row->settlement, LEDGER_SETTLEMENT_NONE, sizeof LEDGER_SETTLEMENT_NONE);
    if (original && strcmp(original->billing_npi, claim->billing_npi) != 0) {
        snprintf(row->reason, sizeof row->reason,
                 "corrects claim %.38s of provider %.10s, not of %.10s", original->claim_id,
                 original->billing_npi, claim->billing_npi);
        return SETTLE_OK;
    }
    settle_error_t problem;
    settle_error_clear(&problem);
    int32_t received = (int32_t)(apply->timestamp_ms / FSM_MS_PER_DAY);
    int rc = interp_adjudicate((const contract_t *const *)payer->contracts, payer->contract_count,
                               payer->enrollment, payer->state, claim, received, fsm->decision,
                               fsm->changes, &problem);
    if (rc == SETTLE_ERR_NOMEM)
        return settle_error_set(error, rc, "fsm: out of memory adjudicating %s", claim->claim_id);
    if (rc != SETTLE_OK) {
        snprintf(row->reason, sizeof row->reason, "%s", problem.message);
        return SETTLE_OK;
    }
    *decided = true;
    s_decided(row, fsm->decision, original);
    /* The contract that decided it, by its ledger id (none: zeros). */
    for (size_t i = 0; fsm->decision->contract && i < payer->contract_count; i++)
        if (payer->contracts[i] == fsm->decision->contract) {
            memcpy(row->contract_hash, payer->contract_hashes[i], LEDGER_HASH_SIZE);
            break;
        }
    return SETTLE_OK;
}

/* One claim of the batch: its answer (first or new), rows and transfer. */
static int s_claim(fsm_apply_t *apply, fsm_payer_t *payer, const claim_t *claim,
                   const uint8_t *bytes, size_t size, const uint8_t *content_hash,
                   settle_error_t *error)
{
    fsm_t *fsm = apply->fsm;
    fsm_claim_result_t *result = fsm_results_add_claim(apply->results);
    if (!result)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    ledger_claim_t row, original;
    int rc = ledger_claim_get(fsm->ledger, payer->id, claim->claim_id, &row);
    if (rc == SETTLE_OK) {
        s_answer(result, &row, true);
        return SETTLE_OK;
    }
    if (rc != SETTLE_ERR_NOT_FOUND)
        return settle_error_set(error, rc, "fsm: cannot read claims");
    bool corrects =
        claim->frequency == CLAIM_FREQUENCY_VOID || claim->frequency == CLAIM_FREQUENCY_REPLACEMENT;
    bool has_original =
        corrects && ledger_claim_get(fsm->ledger, payer->id, claim->original_claim_number,
                                     &original) == SETTLE_OK;
    memset(&row, 0, sizeof row);
    memcpy(row.payer, payer->id, sizeof row.payer);
    memcpy(row.claim_id, claim->claim_id, sizeof row.claim_id);
    memcpy(row.billing_npi, claim->billing_npi, sizeof row.billing_npi);
    row.frequency = claim->frequency;
    row.entry_index = apply->entry_index;
    bool decided;
    rc = SETTLE_OK;
    if (content_hash)
        memcpy(row.content_hash, content_hash, sizeof row.content_hash);
    else
        rc = fsm_sha256(fsm, bytes, size, row.content_hash) == SETTLE_OK
                 ? SETTLE_OK
                 : settle_error_set(error, SETTLE_ERR_CRYPTO, "fsm: cannot hash a claim");
    if (rc == SETTLE_OK)
        rc = s_adjudicate(apply, payer, claim, &row, has_original ? &original : NULL, &decided,
                          error);
    if (rc == SETTLE_OK)
        rc = ledger_claim_put_decided(fsm->ledger, &row, decided ? fsm->decision : NULL,
                                      decided ? fsm->changes : NULL, error);
    if (rc == SETTLE_OK && decided && corrects && has_original &&
        row.status != INTERP_STATUS_REJECTED)
        rc = ledger_claim_mark_voided(fsm->ledger, payer->id, original.claim_id, row.claim_id,
                                      error);
    if (rc == SETTLE_OK)
        rc = s_settle(apply, &row, error);
    if (rc == SETTLE_OK)
        s_answer(result, &row, false);
    return rc;
}

int fsm_apply_batch(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_batch_t batch;
    settle_error_t problem;
    if (command_batch_decode(command->payload, command->payload_size, &batch, &problem) !=
        SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    if (strcmp(batch.payer, command->participant) != 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID, "%s may not submit claims for payer %s",
                          command->participant, batch.payer);
    int rc = s_check_claims(apply, &batch);
    if (rc != SETTLE_OK)
        return rc;
    fsm_payer_t *payer = fsm_cache_payer(&apply->fsm->cache, batch.payer);
    if (!payer)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    /* An auditor's replay hashed the claims already, checking the
     * signature ahead (fsm_verify_ahead). */
    const uint8_t(*hashes)[COMMAND_DIGEST_SIZE] =
        fsm_ahead_hashes(apply->fsm, apply->entry_index, apply->position, batch.count);
    size_t cursor = 0, size;
    const uint8_t *bytes;
    for (uint32_t i = 0; rc == SETTLE_OK && command_batch_next(&batch, &cursor, &bytes, &size);
         i++) {
        fsm_t *fsm = apply->fsm;
        claim_t *claim = i < FSM_DECODED_MAX && fsm->decoded[i] ? fsm->decoded[i] : fsm->claim;
        if (i + 1 < batch.count && i + 1 < FSM_DECODED_MAX && fsm->decoded[i + 1])
            ledger_claim_prefetch(fsm->ledger, payer->id, fsm->decoded[i + 1]->claim_id);
        if (claim == fsm->claim)
            rc = claim_decode_into(claim, bytes, size, error);
        if (rc == SETTLE_OK)
            rc = s_claim(apply, payer, claim, bytes, size, hashes ? hashes[i] : NULL, error);
    }
    return rc;
}
