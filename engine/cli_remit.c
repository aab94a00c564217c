/*
 * cli_remit.c - the remittances an offline adjudication run would send:
 * one per billing provider, written as an X12 835 or a FHIR Bundle of
 * ClaimResponses, for `settle adjudicate --remit`.
 *
 * Offline there is no payment cycle and no bank: each remittance is a
 * check (or "no payment" when nothing is due) dated on the run's date, with
 * a trace number made from the provider and that date, and each claim's
 * payer control number is the first 16 hex digits of its content hash, its
 * identity on the ledger.  A replacement (frequency 7) whose original was
 * paid in the same remittance is preceded by the original's reversal
 * (CLP02 22, every amount negated), as payers report corrections, so the
 * payment counts the replaced claim once.  A provider whose voids outweigh its payments
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
#include "settle/fhir_response.h"
#include "settle/hash.h"
#include "settle/money.h"
#include "settle/remit.h"

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

/* The entry for claim_id in remit that has not been reversed, or NULL. */
static const remit_claim_t *s_entry_of(const remit_t *remit, const char *claim_id)
{
    const remit_claim_t *found = NULL;
    for (uint32_t i = 0; i < remit->claim_count; i++) {
        const remit_claim_t *entry = &remit->claims[i];
        if (strcmp(entry->decision.claim_id, claim_id) != 0)
            continue;
        found = entry->frequency == CLAIM_FREQUENCY_VOID ? NULL : entry; /* a reversal cancels */
    }
    return found;
}

/* The claim an entry answers, rebuilt as a void of itself: enough for
 * remit_add_claim, which copies what the writers need. */
static int s_void_claim(const remit_claim_t *entry, claim_t *claim)
{
    claim->kind = entry->kind;
    claim->frequency = CLAIM_FREQUENCY_VOID;
    memcpy(claim->claim_id, entry->decision.claim_id, sizeof claim->claim_id);
    memcpy(claim->member_id, entry->member_id, sizeof claim->member_id);
    memcpy(claim->place_of_service, entry->place_of_service, sizeof claim->place_of_service);
    memcpy(claim->bill_type, entry->bill_type, sizeof claim->bill_type);
    memcpy(claim->original_claim_number, entry->decision.claim_id,
           sizeof claim->original_claim_number);
    int rc = claim_reserve_lines(claim, entry->decision.line_count);
    for (uint32_t i = 0; rc == SETTLE_OK && i < entry->decision.line_count; i++) {
        claim_line_t *line;
        rc = claim_add_line(claim, &line);
        if (rc == SETTLE_OK)
            *line = entry->claim_lines[i];
    }
    return rc;
}

/* The entry's decision with every amount negated: its reversal. */
static void s_negate(const interp_decision_t *from, interp_decision_t *to)
{
    interp_line_t *lines = to->lines;
    *to = *from;
    to->lines = lines;
    memcpy(lines, from->lines, from->line_count * sizeof *lines);
    to->frequency = CLAIM_FREQUENCY_VOID;
    memcpy(to->related_claim_id, from->claim_id, sizeof to->related_claim_id);
    interp_decision_negate(to);
}

/* Adds the reversal of the entry a replacement replaces, when there is one. */
static int s_reverse_replaced(remit_t *remit, const interp_decision_t *decision,
                              settle_error_t *error)
{
    if (decision->frequency != CLAIM_FREQUENCY_REPLACEMENT || !decision->related_claim_id[0])
        return SETTLE_OK;
    const remit_claim_t *entry = s_entry_of(remit, decision->related_claim_id);
    if (!entry)
        return SETTLE_OK; /* paid in an earlier run: nothing here to reverse */
    claim_t *claim = claim_new();
    interp_decision_t *reversal = interp_decision_new();
    char payer_claim_number[REMIT_REFERENCE_SIZE];
    memcpy(payer_claim_number, entry->payer_claim_number, sizeof payer_claim_number);
    int rc = claim && reversal ? s_void_claim(entry, claim) : SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK) {
        s_negate(&entry->decision, reversal);
        rc = remit_add_claim(remit, claim, reversal, payer_claim_number, NULL, error);
    } else {
        settle_error_set(error, rc, "claim %s: no memory for its reversal", decision->claim_id);
    }
    claim_destroy(&claim);
    interp_decision_destroy(&reversal);
    return rc;
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
    char hex[HASH_SHA256_HEX_SIZE];
    int rc = claim_hash(claim, hash);
    if (rc != SETTLE_OK)
        return settle_error_set(error, rc, "claim %s: cannot hash", claim->claim_id);
    hash_to_hex(hash, sizeof hash, hex);
    hex[16] = '\0';
    rc = s_reverse_replaced(remit, decision, error);
    if (rc != SETTLE_OK)
        return rc;
    return remit_add_claim(remit, claim, decision, hex, NULL, error);
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

static int s_render(const remit_t *remit, const char *format, uint32_t control, int32_t date,
                    char **text_out, settle_error_t *error)
{
    if (strcmp(format, "fhir") == 0)
        return fhir_claim_response_bundle_write(remit, true, text_out, error);
    x12_835_envelope_t envelope;
    memset(&envelope, 0, sizeof envelope);
    snprintf(envelope.sender_id, sizeof envelope.sender_id, "%.15s", remit->payer_id);
    snprintf(envelope.receiver_id, sizeof envelope.receiver_id, "%s", remit->payee_npi);
    envelope.interchange_control_number = control;
    envelope.group_control_number = control;
    envelope.transaction_control_number = control < 1000 ? 1000 + control : control;
    envelope.date = date;
    envelope.newlines = true;
    return x12_835_write(remit, &envelope, text_out, NULL, error);
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
            rc = s_render(remit, format, i + 1, date, &text, &error);
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
