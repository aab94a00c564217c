/*
 * contract.c - the compiled contract: accessors, the lookups the
 * interpreter makes (all bisections over sorted arrays), and the table of
 * reason codes the language knows.
 */
#include <string.h>

#include "contract_internal.h"
#include "settle/alloc.h"

/* The Claim Adjustment Reason Codes a contract may name (X12 external code
 * source 139), sorted as contract_code_compare sorts, for bisection. */
typedef struct {
    const char *code;
    const char *text;
} s_reason_t;

static const s_reason_t s_reasons[] = {
    {"1", "Deductible Amount"},
    {"2", "Coinsurance Amount"},
    {"3", "Co-payment Amount"},
    {"4", "The procedure code is inconsistent with the modifier used"},
    {"5", "The procedure code/type of bill is inconsistent with the place of service"},
    {"6", "The procedure/revenue code is inconsistent with the patient's age"},
    {"7", "The procedure/revenue code is inconsistent with the patient's gender"},
    {"8", "The procedure code is inconsistent with the provider type/specialty"},
    {"9", "The diagnosis is inconsistent with the patient's age"},
    {"11", "The diagnosis is inconsistent with the procedure"},
    {"16", "Claim/service lacks information or has submission/billing error(s)"},
    {"18", "Exact duplicate claim/service"},
    {"26", "Expenses incurred prior to coverage"},
    {"27", "Expenses incurred after coverage terminated"},
    {"29", "The time limit for filing has expired"},
    {"31", "Patient cannot be identified as our insured"},
    {"45", "Charge exceeds fee schedule/maximum allowable"},
    {"49", "This is a non-covered service because it is a routine/preventive exam"},
    {"50", "These are non-covered services because this is not deemed a medical necessity"},
    {"96", "Non-covered charge(s)"},
    {"97", "The benefit for this service is included in the payment for another service"},
    {"109", "Claim/service not covered by this payer/contractor"},
    {"119", "Benefit maximum for this time period or occurrence has been reached"},
    {"151", "Payment adjusted because the payer deems the information submitted does not "
            "support this many/frequency of services"},
    {"167", "This (these) diagnosis(es) is (are) not covered"},
    {"170", "Payment is denied when performed/billed by this type of provider"},
    {"197", "Precertification/authorization/notification/pre-treatment absent"},
    {"198", "Precertification/notification/authorization/pre-treatment exceeded"},
    {"204", "This service/equipment/drug is not covered under the patient's current benefit "
            "plan"},
    {"242", "Services not provided by network/primary care providers"},
};

#define REASON_COUNT (sizeof s_reasons / sizeof s_reasons[0])

int contract_code_compare(const char *a, const char *b)
{
    size_t length_a = strlen(a), length_b = strlen(b);
    if (length_a != length_b)
        return length_a < length_b ? -1 : 1;
    return memcmp(a, b, length_a);
}

const char *contract_reason_text(const char *carc)
{
    size_t low = 0, high = REASON_COUNT;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = contract_code_compare(s_reasons[middle].code, carc);
        if (order == 0)
            return s_reasons[middle].text;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

/* contract_code_compare(a, b), given both codes' keys. */
static int s_code_key_compare(contract_code_key_t key_a, const char *a, contract_code_key_t key_b,
                              const char *b)
{
    if (key_a != key_b)
        return key_a < key_b ? -1 : 1;
    return (key_a >> 56) <= CONTRACT_CODE_KEY_BYTES ? 0 : contract_code_compare(a, b);
}

bool contract_codes_match_key(const contract_t *contract, const contract_codes_t *codes,
                              const char *code, contract_code_key_t key)
{
    if (codes->any)
        return true;
    const contract_range_t *ranges = contract->ranges + codes->first;
    /* The last range whose low end is at or below the code. */
    size_t low = 0, high = codes->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (s_code_key_compare(ranges[middle].low_key, ranges[middle].low, key, code) <= 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low > 0 &&
           s_code_key_compare(key, code, ranges[low - 1].high_key, ranges[low - 1].high) <= 0;
}

bool contract_codes_match(const contract_t *contract, const contract_codes_t *codes,
                          const char *code)
{
    return codes->any || contract_codes_match_key(contract, codes, code, contract_code_key(code));
}

static int s_fee_compare(const contract_fee_t *fee, const char *code, contract_code_key_t key,
                         const char *modifier)
{
    int order = s_code_key_compare(fee->code_key, fee->code, key, code);
    return order ? order : strcmp(fee->modifier, modifier);
}

static const contract_fee_t *s_fee_exact(const contract_t *contract, const char *code,
                                         contract_code_key_t key, const char *modifier)
{
    size_t low = 0, high = contract->fees_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = s_fee_compare(&contract->fees[middle], code, key, modifier);
        if (order == 0)
            return &contract->fees[middle];
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

const contract_fee_t *contract_fee_find_key(const contract_t *contract, const char *code,
                                            contract_code_key_t key,
                                            const char (*modifiers)[CLAIM_MODIFIER_SIZE])
{
    for (size_t i = 0; modifiers && i < CLAIM_MODIFIERS_MAX && modifiers[i][0]; i++) {
        const contract_fee_t *fee = s_fee_exact(contract, code, key, modifiers[i]);
        if (fee)
            return fee;
    }
    return s_fee_exact(contract, code, key, "");
}

const contract_fee_t *contract_fee_find(const contract_t *contract, const char *code,
                                        const char (*modifiers)[CLAIM_MODIFIER_SIZE])
{
    return contract_fee_find_key(contract, code, contract_code_key(code), modifiers);
}

const contract_daily_max_t *contract_daily_max_find_key(const contract_t *contract,
                                                        const char *code,
                                                        contract_code_key_t key)
{
    size_t low = 0, high = contract->daily_maxima_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const contract_daily_max_t *entry = &contract->daily_maxima[middle];
        int order = s_code_key_compare(entry->code_key, entry->code, key, code);
        if (order == 0)
            return entry;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

const contract_daily_max_t *contract_daily_max_find(const contract_t *contract, const char *code)
{
    return contract_daily_max_find_key(contract, code, contract_code_key(code));
}

bool contract_provider_in_network(const contract_t *contract, const char *npi)
{
    size_t low = 0, high = contract->providers_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(contract->providers + middle * CLAIM_NPI_SIZE, npi);
        if (order == 0)
            return true;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return false;
}

void contract_destroy(contract_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    contract_t *self = *self_p;
    contract_rule_program_free(&self->rule_program);
    settle_free(self->rules);
    settle_free(self->patterns);
    settle_free(self->diagnosis_edits);
    settle_free(self->sex_edits);
    settle_free(self->age_edits);
    settle_free(self->daily_maxima);
    settle_free(self->bundles);
    settle_free(self->exclusions);
    settle_free(self->benefits);
    settle_free(self->fees);
    settle_free(self->ranges);
    settle_free(self->providers);
    settle_free(self);
    *self_p = NULL;
}

const char *contract_id(const contract_t *self) { return self->id; }
const char *contract_version(const contract_t *self) { return self->version; }
const char *contract_payer(const contract_t *self) { return self->payer; }
int32_t contract_effective_from(const contract_t *self) { return self->effective_from; }
int32_t contract_effective_to(const contract_t *self) { return self->effective_to; }
