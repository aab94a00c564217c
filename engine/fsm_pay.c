/*
 * fsm_pay.c - a payment cycle: everything payable for a payer, one payment
 * per provider, in NPI order.
 *
 * What the payer can pay out is what it funded minus what it has paid out:
 * the balance of its funding account plus the balances of its providers'
 * payable accounts.  Providers are paid in NPI order while that lasts; a
 * provider whose total does not fit stays payable (its claims untouched)
 * and the result says why, and the cycle goes on to the next, smaller,
 * providers.  A provider whose claims net to a negative amount (voids of
 * claims already paid) is not paid; the amount is carried to the next
 * cycle.  A provider whose claims net to zero (denials) gets a payment of
 * zero, so that its 835 can tell it so.
 *
 * Trace numbers are made from the entry index, the command's position and
 * the NPI: unique, and the same on every node.
 */
#include <inttypes.h>
#include <stdio.h>

#include "fsm_internal.h"

typedef struct {
    fsm_apply_t *apply;
    const char *payer;
    int64_t available_cents;
    settle_error_t *error;
} s_cycle_t;

static int s_pay_provider(const ledger_payable_t *payable, void *context)
{
    s_cycle_t *cycle = context;
    fsm_apply_t *apply = cycle->apply;
    fsm_payment_result_t *result = fsm_results_add_payment(apply->results);
    if (!result)
        return settle_error_set(cycle->error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    memcpy(result->npi, payable->npi, sizeof result->npi);
    result->total_cents = payable->total_cents;
    result->claim_count = payable->claim_count;
    if (payable->total_cents < 0) {
        snprintf(result->reason, sizeof result->reason,
                 "the provider owes %" PRId64 " cents; carried to the next cycle",
                 -payable->total_cents);
        return SETTLE_OK;
    }
    if (payable->total_cents > cycle->available_cents) {
        snprintf(result->reason, sizeof result->reason,
                 "insufficient funds: %" PRId64 " cents needed, %" PRId64 " available",
                 payable->total_cents, cycle->available_cents);
        return SETTLE_OK;
    }
    ledger_payment_t payment = {.total_cents = payable->total_cents,
                                .claim_count = payable->claim_count,
                                .entry_index = apply->entry_index};
    snprintf(payment.payment_id, sizeof payment.payment_id, "%" PRIu64 "-%" PRIu32 "-%s",
             apply->entry_index, apply->position, payable->npi);
    snprintf(payment.payer, sizeof payment.payer, "%s", cycle->payer);
    memcpy(payment.npi, payable->npi, sizeof payment.npi);
    int rc = ledger_payment_put(apply->fsm->ledger, &payment, cycle->error);
    char account[LEDGER_ACCOUNT_ID_SIZE];
    ledger_account_payable(cycle->payer, payable->npi, account);
    ledger_transfer_t transfer = {.debit_account = account,
                                  .credit_account = LEDGER_ACCOUNT_SETTLEMENT,
                                  .amount_cents = payable->total_cents,
                                  .kind = LEDGER_TRANSFER_PAYMENT,
                                  .payer = cycle->payer,
                                  .claim_id = "",
                                  .payment_id = payment.payment_id,
                                  .entry_index = apply->entry_index};
    if (rc == SETTLE_OK && payable->total_cents > 0)
        rc = ledger_transfer(apply->fsm->ledger, &transfer, cycle->error);
    if (rc != SETTLE_OK)
        return rc;
    cycle->available_cents -= payable->total_cents;
    result->paid = true;
    memcpy(result->payment_id, payment.payment_id, sizeof result->payment_id);
    return SETTLE_OK;
}

int fsm_apply_pay(fsm_apply_t *apply, const command_t *command, settle_error_t *error)
{
    command_pay_t value;
    settle_error_t problem;
    if (command_pay_decode(command->payload, command->payload_size, &value, &problem) != SETTLE_OK)
        return fsm_reject(apply, problem.code, "%s", problem.message);
    if (strcmp(value.payer, command->participant) != 0)
        return fsm_reject(apply, SETTLE_ERR_INVALID, "%s may not pay for payer %s",
                          command->participant, value.payer);
    s_cycle_t cycle = {apply, value.payer, 0, error};
    int rc = ledger_payer_available(apply->fsm->ledger, value.payer, &cycle.available_cents);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "fsm: cannot read the accounts of %s", value.payer);
    return ledger_payable_each(apply->fsm->ledger, value.payer, s_pay_provider, &cycle, error);
}
