/*
 * cli_remit.c - the remittances an offline adjudication run would send:
 * one per billing provider, written as an X12 835 or a FHIR Bundle of
 * ClaimResponses, for `settle adjudicate --remit`.
 *
 * Offline there is no payment cycle and no bank: each remittance is a
 * check (or "no payment" when nothing is due) dated on the run's date, with
 * a trace number made from the provider and that date.  Payer claim
 * numbers and the reversal that precedes a replacement whose original was
 * paid in the same remittance come from remit_build.h, which the node's
 * `remit` query shares.  A provider whose voids outweigh its payments
 * would be owed a negative check; its remittance is refused with the
 * writer's reason, and the others are still written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/date.h"
#include "settle/money.h"
#include "settle/remit.h"
#include "settle/remit_build.h"

#define CLI_REMITS_MAX 1000 /* providers in one run */

struct cli_remits_s {
    char payer_name[REMIT_NAME_SIZE];
    char payer_tax_id[REMIT_TAX_ID_SIZE];
    uint32_t count;
    remit_t *remits[CLI_REMITS_MAX];
};

cli_remits_t *cli_remits_new(const char *payer_name, const char *payer_tax_id)
{
    cli_remits_t *self = settle_calloc(1, sizeof(cli_remits_t));
    if (self && payer_name)
        snprintf(self->payer_name, sizeof self->payer_name, "%s", payer_name);
    if (self && payer_tax_id)
        snprintf(self->payer_tax_id, sizeof self->payer_tax_id, "%s", payer_tax_id);
    return self;
}

void cli_remits_destroy(cli_remits_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (uint32_t i = 0; i < (*self_p)->count; i++)
        remit_destroy(&(*self_p)->remits[i]);
    settle_free(*self_p);
    *self_p = NULL;
}

/* The remittance of the claim's billing provider, made on first use. */
static remit_t *s_remit_for(cli_remits_t *self, const claim_t *claim)
{
    for (uint32_t i = 0; i < self->count; i++)
        if (strcmp(self->remits[i]->payee_npi, claim->billing_npi) == 0)
            return self->remits[i];
    if (self->count == CLI_REMITS_MAX)
        return NULL;
    remit_t *remit = remit_new();
    if (!remit)
        return NULL;
    snprintf(remit->payer_id, sizeof remit->payer_id, "%s", claim->payer_id);
    snprintf(remit->payer_name, sizeof remit->payer_name, "%.60s",
             self->payer_name[0] ? self->payer_name : claim->payer_id);
    memcpy(remit->payer_tax_id, self->payer_tax_id, sizeof remit->payer_tax_id);
    snprintf(remit->payee_npi, sizeof remit->payee_npi, "%s", claim->billing_npi);
    snprintf(remit->payee_name, sizeof remit->payee_name, "PROVIDER %s", claim->billing_npi);
    self->remits[self->count++] = remit;
    return remit;
}

int cli_remits_add(cli_remits_t *self, const claim_t *claim, const interp_decision_t *decision,
                   settle_error_t *error)
{
    remit_t *remit = s_remit_for(self, claim);
    if (!remit)
        return settle_error_set(error, SETTLE_ERR_TOO_MANY,
                                "remittances: out of memory or more than %d providers",
                                CLI_REMITS_MAX);
    uint8_t hash[CLAIM_HASH_SIZE];
    char number[REMIT_CLAIM_NUMBER_DIGITS + 1];
    int rc = claim_hash(claim, hash);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "claim %s: cannot hash", claim->claim_id);
    remit_claim_number(hash, number);
    return remit_add_answer(remit, claim, decision, number, error);
}

/* Fills what the writers need that the claims do not say. */
static int s_settle_payment(remit_t *remit, int32_t date, settle_error_t *error)
{
    int rc = remit_payment_due(remit, &remit->payment_cents);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "provider %s: the payment overflows", remit->payee_npi);
    char day[9];
    date_format_ccyymmdd(date, day, sizeof day);
    remit->payment_date = date;
    remit->method = remit->payment_cents == 0 ? REMIT_METHOD_NONE : REMIT_METHOD_CHECK;
    snprintf(remit->trace_number, sizeof remit->trace_number, "%s-%s", remit->payee_npi, day);
    return SETTLE_OK;
}

static int s_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    if (!file) {
        fprintf(stderr, "settle adjudicate: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fputs(text, file) >= 0;
    ok = (fclose(file) == 0) && ok;
    if (!ok)
        fprintf(stderr, "settle adjudicate: %s: cannot write\n", path);
    return ok ? 0 : -1;
}

int cli_remits_write(cli_remits_t *self, const char *format, const char *dir, int32_t date)
{
    int failed = 0;
    for (uint32_t i = 0; i < self->count; i++) {
        remit_t *remit = self->remits[i];
        settle_error_t error;
        settle_error_clear(&error);
        char *text = NULL, path[4096], paid[MONEY_TEXT_SIZE];
        int rc = s_settle_payment(remit, date, &error);
        if (rc == SETTLE_OK)
            rc = remit_write_format(remit, format, i + 1, date, 0, &text, &error);
        if (rc != SETTLE_OK) {
            fprintf(stderr, "settle adjudicate: remittance to %s refused: ", remit->payee_npi);
            cli_print_error(&error);
            failed = 1;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s.%s", dir, remit->payee_npi,
                 strcmp(format, "fhir") == 0 ? "claimresponse.json" : "835");
        if (s_write_file(path, text) != 0)
            failed = 1;
        else {
            money_format(remit->payment_cents, paid, sizeof paid);
            fprintf(stderr, "settle adjudicate: wrote %s: %u claim%s, payment %s\n", path,
                    remit->claim_count, remit->claim_count == 1 ? "" : "s", paid);
        }
        settle_free(text);
    }
    return failed ? -1 : 0;
}
