/*
 * contract_load.c - compiles a YAML plan contract into a contract_t: the
 * contract's schema, one table of keys per mapping (header, accumulators,
 * network, fee schedule, benefits, exclusions, edits, custom rules), and
 * what each key's value becomes in the compiled contract.
 *
 * libyaml's document API builds the node tree; the loader walks it with one
 * table of keys per mapping, so an unknown key, a missing required key and
 * a key given twice are caught in one place.  A bad value is reported with
 * the node's line and column and the walk goes on, so one run of
 * `settle check-contract` lists every problem, not only the first.  Out of
 * memory stops the walk at once.  The walk itself (problems, scalars,
 * mappings, lists and code lists) is in contract_yaml.c.
 *
 * The language is described in contracts/README.md.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "contract_internal.h"
#include "settle/alloc.h"
#include "settle/money.h"

/* ------------------------------------------------------------------------
 * Header: contract, version, payer, effective, period, timely filing
 * ------------------------------------------------------------------------ */

static int s_key_contract(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_text(l, v, l->contract->id, sizeof l->contract->id);
}
static int s_key_version(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_text(l, v, l->contract->version, sizeof l->contract->version);
}
static int s_key_payer(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_text(l, v, l->contract->payer, sizeof l->contract->payer);
}
static int s_key_from(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_date(l, v, &l->contract->effective_from);
}
static int s_key_to(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_date(l, v, &l->contract->effective_to);
}

static int s_key_effective(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"from", s_key_from, true}, {"to", s_key_to, false}};
    if (contract_yaml_walk_map(l, v, keys, 2, NULL, "effective") != 0)
        return -1;
    if (l->contract->effective_to < l->contract->effective_from)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_RANGE, NULL,
                                "effective: \"to\" is before \"from\"");
    return 0;
}

/* The accumulator period; calendar years are the only kind so far. */
static int s_period(contract_loader_t *l, yaml_node_t *v)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(l, v, &text, &length) != 0)
        return -1;
    if (length != 13 || memcmp(text, "calendar-year", 13) != 0)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_INVALID, "calendar-year",
                                "unknown period \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    return 0;
}

static int s_key_period(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return s_period(l, v);
}

static int s_key_timely(contract_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t days;
    if (contract_yaml_count(l, v, &days) != 0)
        return -1;
    if (days > 36600)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_RANGE, "at most 36600 days",
                                "timely_filing_days too large");
    l->contract->timely_filing_days = (int32_t)days;
    return 0;
}

/* ------------------------------------------------------------------------
 * Accumulators and network
 * ------------------------------------------------------------------------ */

static int s_key_individual(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_amount(l, v, &((int64_t *)t)[0]);
}
static int s_key_family(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_amount(l, v, &((int64_t *)t)[1]);
}

static int s_pair(contract_loader_t *l, yaml_node_t *v, int64_t *individual, int64_t *family,
                  const char *where)
{
    static const contract_key_t keys[] = {{"individual", s_key_individual, true},
                                          {"family", s_key_family, false}};
    int64_t pair[2] = {*individual, *family};
    if (contract_yaml_walk_map(l, v, keys, 2, pair, where) != 0)
        return -1;
    *individual = pair[0];
    *family = pair[1];
    return 0;
}

static int s_key_deductible_pair(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return s_pair(l, v, &l->contract->deductible_cents_individual,
                  &l->contract->deductible_cents_family, "accumulators.deductible");
}
static int s_key_oop_pair(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return s_pair(l, v, &l->contract->oop_cents_individual, &l->contract->oop_cents_family,
                  "accumulators.out_of_pocket");
}

static int s_key_accumulators(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"deductible", s_key_deductible_pair, false},
                                          {"out_of_pocket", s_key_oop_pair, false}};
    return contract_yaml_walk_map(l, v, keys, 2, NULL, "accumulators");
}

static int s_key_coinsurance_network(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_rate(l, v, &((contract_network_t *)t)->coinsurance_bps);
}
static int s_key_multiplier(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_rate(l, v, &((contract_network_t *)t)->multiplier_bps);
}

static int s_provider_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    char npi[CLAIM_NPI_SIZE];
    if (contract_yaml_text(l, v, npi, sizeof npi) != 0)
        return -1;
    for (size_t i = 0; i < 10; i++)
        if (npi[i] < '0' || npi[i] > '9')
            return CONTRACT_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "an NPI of ten digits",
                                    "bad NPI \"%s\"", npi);
    contract_t *c = l->contract;
    if (c->providers_count == c->providers_capacity) {
        uint32_t grown = c->providers_capacity ? c->providers_capacity * 2 : 16;
        char *bigger = settle_realloc(c->providers, (size_t)grown * CLAIM_NPI_SIZE);
        if (!bigger)
            return CONTRACT_PROBLEM(l, v, SETTLE_ERR_NOMEM, NULL, "out of memory");
        c->providers = bigger;
        c->providers_capacity = grown;
    }
    memcpy(c->providers + (size_t)c->providers_count++ * CLAIM_NPI_SIZE, npi, CLAIM_NPI_SIZE);
    return 0;
}

static int s_key_providers(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_each_item(l, v, s_provider_item, NULL);
}

static int s_key_network_in(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"coinsurance", s_key_coinsurance_network, true},
                                          {"multiplier", s_key_multiplier, false},
                                          {"providers", s_key_providers, false}};
    return contract_yaml_walk_map(l, v, keys, 3, &l->contract->network_in, "network.in");
}

static int s_key_network_out(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"coinsurance", s_key_coinsurance_network, true},
                                          {"multiplier", s_key_multiplier, false}};
    return contract_yaml_walk_map(l, v, keys, 2, &l->contract->network_out, "network.out");
}

static int s_key_network(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"in", s_key_network_in, true},
                                          {"out", s_key_network_out, false}};
    return contract_yaml_walk_map(l, v, keys, 2, NULL, "network");
}

/* ------------------------------------------------------------------------
 * Fee schedule
 * ------------------------------------------------------------------------ */

static int s_key_percent_of_billed(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_rate(l, v, &l->contract->percent_of_billed_bps);
}

static int s_fee_entry(contract_loader_t *l, yaml_node_t *key, yaml_node_t *value)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(l, key, &text, &length) != 0)
        return -1;
    if (length == 7 && memcmp(text, "default", 7) == 0) {
        static const contract_key_t keys[] = {{"percent_of_billed", s_key_percent_of_billed, true}};
        return contract_yaml_walk_map(l, value, keys, 1, NULL, "fee_schedule.default");
    }
    const char *colon = memchr(text, ':', length);
    size_t code_length = colon ? (size_t)(colon - text) : length;
    size_t modifier_length = colon ? length - code_length - 1 : 0;
    if (!contract_code_ok(text, code_length) ||
        (colon && (modifier_length == 0 || modifier_length >= CLAIM_MODIFIER_SIZE ||
                   !contract_code_ok(colon + 1, modifier_length))))
        return CONTRACT_PROBLEM(l, key, SETTLE_ERR_SYNTAX, "CODE or CODE:MODIFIER",
                                "bad fee schedule code \"%.*s\"", (int)(length > 40 ? 40 : length),
                                text);
    contract_fee_t *fee = CONTRACT_APPEND(l, key, fees);
    if (!fee)
        return -1;
    memcpy(fee->code, text, code_length);
    if (colon)
        memcpy(fee->modifier, colon + 1, modifier_length);
    fee->code_key = contract_code_key(fee->code);
    fee->line = (uint32_t)key->start_mark.line + 1;
    fee->column = (uint32_t)key->start_mark.column + 1;
    return contract_yaml_amount(l, value, &fee->cents_per_unit);
}

static int s_fee_order(const void *a, const void *b)
{
    const contract_fee_t *x = a, *y = b;
    int order = contract_code_compare(x->code, y->code);
    if (!order)
        order = strcmp(x->modifier, y->modifier);
    if (!order)
        order = x->line != y->line ? (x->line < y->line ? -1 : 1) : 0;
    return order;
}

static int s_key_fee_schedule(contract_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_MAPPING_NODE)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a mapping of codes to amounts",
                                "fee_schedule: expected a mapping");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
         pair < v->data.mapping.pairs.top && !l->out_of_memory; pair++) {
        yaml_node_t *key = contract_yaml_node(l, pair->key),
                    *value = contract_yaml_node(l, pair->value);
        if (!key || !value || l->visits > CONTRACT_NODES_MAX)
            return CONTRACT_PROBLEM(l, v, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        s_fee_entry(l, key, value);
    }
    contract_t *c = l->contract;
    if (c->fees_count > 1)
        qsort(c->fees, c->fees_count, sizeof *c->fees, s_fee_order);
    for (uint32_t i = 1; i < c->fees_count; i++)
        if (contract_code_compare(c->fees[i].code, c->fees[i - 1].code) == 0 &&
            strcmp(c->fees[i].modifier, c->fees[i - 1].modifier) == 0) {
            yaml_mark_t mark = {0, c->fees[i].line - 1, c->fees[i].column - 1};
            contract_yaml_problem_at(l, mark, SETTLE_ERR_INVALID, NULL,
                                     "fee for \"%s%s%s\" given twice", c->fees[i].code,
                                     c->fees[i].modifier[0] ? ":" : "", c->fees[i].modifier);
        }
    return 0;
}

/* ------------------------------------------------------------------------
 * Benefits
 * ------------------------------------------------------------------------ */

static int s_key_benefit_name(contract_loader_t *l, yaml_node_t *v, void *t)
{
    contract_benefit_t *benefit = t;
    if (contract_yaml_text(l, v, benefit->name, sizeof benefit->name) != 0)
        return -1;
    for (contract_benefit_t *other = l->contract->benefits; other < benefit; other++)
        if (strcmp(other->name, benefit->name) == 0)
            return CONTRACT_PROBLEM(l, v, SETTLE_ERR_INVALID, NULL, "benefit \"%s\" named twice",
                                    benefit->name);
    return 0;
}
static int s_key_benefit_codes(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_codes(l, v, &((contract_benefit_t *)t)->codes);
}
static int s_key_copay(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_amount(l, v, &((contract_benefit_t *)t)->copay_cents);
}
static int s_key_benefit_coinsurance(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_rate(l, v, &((contract_benefit_t *)t)->coinsurance_bps);
}
static int s_key_benefit_deductible(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_bool(l, v, &((contract_benefit_t *)t)->deductible);
}
static int s_key_prior_auth(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_bool(l, v, &((contract_benefit_t *)t)->prior_auth);
}
static int s_key_limit_units(contract_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t units;
    if (contract_yaml_count(l, v, &units) != 0)
        return -1;
    ((contract_benefit_t *)t)->limit_units_milli = units * CLAIM_UNITS_MILLI_PER_UNIT;
    return 0;
}
static int s_key_limit_per(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return s_period(l, v);
}

static int s_key_limit(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"units", s_key_limit_units, true},
                                          {"per", s_key_limit_per, false}};
    return contract_yaml_walk_map(l, v, keys, 2, t, "benefit limit");
}

static int s_benefit_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"name", s_key_benefit_name, true},
                                          {"codes", s_key_benefit_codes, true},
                                          {"copay", s_key_copay, false},
                                          {"coinsurance", s_key_benefit_coinsurance, false},
                                          {"deductible", s_key_benefit_deductible, false},
                                          {"prior_auth", s_key_prior_auth, false},
                                          {"limit", s_key_limit, false}};
    contract_benefit_t *benefit = CONTRACT_APPEND(l, v, benefits);
    if (!benefit)
        return -1;
    benefit->coinsurance_bps = CONTRACT_RATE_NONE;
    benefit->deductible = true;
    benefit->limit_units_milli = CONTRACT_UNLIMITED;
    return contract_yaml_walk_map(l, v, keys, sizeof keys / sizeof keys[0], benefit, "benefit");
}

static int s_key_benefits(contract_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a list of benefits",
                                "benefits: expected a list");
    return contract_yaml_each_item(l, v, s_benefit_item, NULL);
}

/* ------------------------------------------------------------------------
 * Exclusions
 * ------------------------------------------------------------------------ */

static int s_reason(contract_loader_t *l, yaml_node_t *v, char *reason)
{
    if (contract_yaml_text(l, v, reason, CONTRACT_REASON_SIZE) != 0)
        return -1;
    if (!contract_reason_text(reason))
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_NOT_FOUND, "a CARC listed in contracts/README.md",
                                "unknown reason code \"%s\"", reason);
    return 0;
}

static int s_key_exclusion_codes(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_codes(l, v, &((contract_exclusion_t *)t)->codes);
}
static int s_key_exclusion_reason(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return s_reason(l, v, ((contract_exclusion_t *)t)->reason);
}

static int s_exclusion_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"codes", s_key_exclusion_codes, true},
                                          {"reason", s_key_exclusion_reason, true}};
    contract_exclusion_t *exclusion = CONTRACT_APPEND(l, v, exclusions);
    if (!exclusion)
        return -1;
    return contract_yaml_walk_map(l, v, keys, 2, exclusion, "exclusion");
}

static int s_key_exclusions(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_each_item(l, v, s_exclusion_item, NULL);
}

/* ------------------------------------------------------------------------
 * Edits
 * ------------------------------------------------------------------------ */

static int s_key_primary(contract_loader_t *l, yaml_node_t *v, void *t)
{
    contract_bundle_t *bundle = t;
    if (contract_yaml_text(l, v, bundle->primary, sizeof bundle->primary) != 0)
        return -1;
    if (!contract_code_ok(bundle->primary, strlen(bundle->primary)))
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a procedure code", "bad code \"%s\"",
                                bundle->primary);
    return 0;
}
static int s_key_includes(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_codes(l, v, &((contract_bundle_t *)t)->included);
}

static int s_bundle_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"primary", s_key_primary, true},
                                          {"includes", s_key_includes, true}};
    contract_bundle_t *bundle = CONTRACT_APPEND(l, v, bundles);
    if (!bundle)
        return -1;
    return contract_yaml_walk_map(l, v, keys, 2, bundle, "bundle");
}

static int s_key_bundles(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_each_item(l, v, s_bundle_item, NULL);
}

static int s_daily_max_order(const void *a, const void *b)
{
    const contract_daily_max_t *x = a, *y = b;
    int order = contract_code_compare(x->code, y->code);
    return order ? order : (x->line < y->line ? -1 : x->line > y->line);
}

static int s_key_max_units(contract_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_MAPPING_NODE)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a mapping of codes to units",
                                "max_units_per_day: expected a mapping");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
         pair < v->data.mapping.pairs.top && !l->out_of_memory; pair++) {
        yaml_node_t *key = contract_yaml_node(l, pair->key),
                    *value = contract_yaml_node(l, pair->value);
        if (!key || !value || l->visits > CONTRACT_NODES_MAX)
            return CONTRACT_PROBLEM(l, v, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        contract_daily_max_t *entry = CONTRACT_APPEND(l, key, daily_maxima);
        int64_t units;
        if (!entry || contract_yaml_text(l, key, entry->code, sizeof entry->code) != 0 ||
            contract_yaml_count(l, value, &units) != 0)
            continue;
        entry->units_milli_max = units * CLAIM_UNITS_MILLI_PER_UNIT;
        entry->code_key = contract_code_key(entry->code);
        entry->line = (uint32_t)key->start_mark.line + 1;
        entry->column = (uint32_t)key->start_mark.column + 1;
    }
    contract_t *c = l->contract;
    if (c->daily_maxima_count > 1)
        qsort(c->daily_maxima, c->daily_maxima_count, sizeof *c->daily_maxima, s_daily_max_order);
    for (uint32_t i = 1; i < c->daily_maxima_count; i++)
        if (contract_code_compare(c->daily_maxima[i].code, c->daily_maxima[i - 1].code) == 0) {
            yaml_mark_t mark = {0, c->daily_maxima[i].line - 1, c->daily_maxima[i].column - 1};
            contract_yaml_problem_at(l, mark, SETTLE_ERR_INVALID, NULL,
                                     "daily maximum for \"%s\" given twice",
                                     c->daily_maxima[i].code);
        }
    return 0;
}

static int s_key_age_codes(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_codes(l, v, &((contract_age_edit_t *)t)->codes);
}
static int s_key_age_min(contract_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t years;
    if (contract_yaml_count(l, v, &years) != 0 || years > 200)
        return years > 200
                   ? CONTRACT_PROBLEM(l, v, SETTLE_ERR_RANGE, "0 to 200", "age out of range")
                   : -1;
    ((contract_age_edit_t *)t)->age_years_min = (int32_t)years;
    return 0;
}
static int s_key_age_max(contract_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t years;
    if (contract_yaml_count(l, v, &years) != 0 || years > 200)
        return years > 200
                   ? CONTRACT_PROBLEM(l, v, SETTLE_ERR_RANGE, "0 to 200", "age out of range")
                   : -1;
    ((contract_age_edit_t *)t)->age_years_max = (int32_t)years;
    return 0;
}

static int s_age_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"codes", s_key_age_codes, true},
                                          {"min", s_key_age_min, false},
                                          {"max", s_key_age_max, false}};
    contract_age_edit_t *edit = CONTRACT_APPEND(l, v, age_edits);
    if (!edit)
        return -1;
    edit->age_years_max = INT32_MAX;
    if (contract_yaml_walk_map(l, v, keys, 3, edit, "age edit") != 0)
        return -1;
    if (edit->age_years_max < edit->age_years_min)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_RANGE, NULL, "age edit: max is below min");
    return 0;
}

static int s_key_age(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_each_item(l, v, s_age_item, NULL);
}

static int s_key_sex_codes(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_codes(l, v, &((contract_sex_edit_t *)t)->codes);
}
static int s_key_sex_only(contract_loader_t *l, yaml_node_t *v, void *t)
{
    char sex[2];
    if (contract_yaml_text(l, v, sex, sizeof sex) != 0 || (sex[0] != 'F' && sex[0] != 'M'))
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_INVALID, "F or M", "bad sex");
    ((contract_sex_edit_t *)t)->sex = sex[0];
    return 0;
}

static int s_sex_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"codes", s_key_sex_codes, true},
                                          {"only", s_key_sex_only, true}};
    contract_sex_edit_t *edit = CONTRACT_APPEND(l, v, sex_edits);
    return edit ? contract_yaml_walk_map(l, v, keys, 2, edit, "sex edit") : -1;
}

static int s_key_sex(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_each_item(l, v, s_sex_item, NULL);
}

/* "M54.*" -> prefix "M54"; "M54.5" -> exact "M545"; the dot is dropped
 * because claims carry diagnosis codes without it. */
static int s_pattern_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    contract_diagnosis_edit_t *edit = t;
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(l, v, &text, &length) != 0)
        return -1;
    char pattern[CONTRACT_PATTERN_SIZE];
    size_t used = 0;
    bool prefix = false, ok = length > 0;
    for (size_t i = 0; i < length && ok; i++) {
        char c = text[i];
        if (c == '*' && i == length - 1 && used > 0)
            prefix = true;
        else if (c == '.' && i >= 3)
            continue;
        else if (((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) && used + 1 < sizeof pattern)
            pattern[used++] = c;
        else
            ok = false;
    }
    if (!ok || used == 0)
        return CONTRACT_PROBLEM(
            l, v, SETTLE_ERR_SYNTAX, "an ICD-10 code such as \"M54.5\" or \"M54.*\"",
            "bad diagnosis pattern \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    contract_pattern_t *entry = CONTRACT_APPEND(l, v, patterns);
    if (!entry)
        return -1;
    memcpy(entry->text, pattern, used);
    entry->prefix = prefix;
    edit->pattern_count++;
    return 0;
}

static int s_key_dx_codes(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_codes(l, v, &((contract_diagnosis_edit_t *)t)->codes);
}
static int s_key_dx_diagnoses(contract_loader_t *l, yaml_node_t *v, void *t)
{
    contract_diagnosis_edit_t *edit = t;
    edit->pattern_first = l->contract->patterns_count;
    return contract_yaml_each_item(l, v, s_pattern_item, edit);
}

static int s_dx_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"codes", s_key_dx_codes, true},
                                          {"diagnoses", s_key_dx_diagnoses, true}};
    contract_diagnosis_edit_t *edit = CONTRACT_APPEND(l, v, diagnosis_edits);
    return edit ? contract_yaml_walk_map(l, v, keys, 2, edit, "diagnosis_required edit") : -1;
}

static int s_key_dx(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_each_item(l, v, s_dx_item, NULL);
}

static int s_key_edits(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"bundles", s_key_bundles, false},
                                          {"max_units_per_day", s_key_max_units, false},
                                          {"age", s_key_age, false},
                                          {"sex", s_key_sex, false},
                                          {"diagnosis_required", s_key_dx, false}};
    return contract_yaml_walk_map(l, v, keys, sizeof keys / sizeof keys[0], NULL, "edits");
}

/* ------------------------------------------------------------------------
 * Custom rules: {name, when: EXPRESSION, then: {copay|coinsurance|deductible|deny}}
 * ------------------------------------------------------------------------ */

static int s_key_rule_name(contract_loader_t *l, yaml_node_t *v, void *t)
{
    contract_rule_t *rule = t;
    return contract_yaml_text(l, v, rule->name, sizeof rule->name);
}

/* Compiles the expression; an error points at its token in the file. */
static int s_key_rule_when(contract_loader_t *l, yaml_node_t *v, void *t)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(l, v, &text, &length) != 0)
        return -1;
    contract_rule_problem_t problem;
    int rc = contract_rule_compile(&l->contract->rule_program, text, length,
                                   &((contract_rule_t *)t)->when, &problem);
    if (rc == SETTLE_OK)
        return 0;
    contract_rule_style_t style =
        v->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ? CONTRACT_RULE_STYLE_SINGLE_QUOTED
        : v->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
            ? CONTRACT_RULE_STYLE_DOUBLE_QUOTED
        : v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? CONTRACT_RULE_STYLE_PLAIN
                                                          : CONTRACT_RULE_STYLE_BLOCK;
    uint32_t line, column;
    contract_rule_source_position(l->text, l->length, (uint32_t)v->start_mark.line,
                                  (uint32_t)v->start_mark.column, style, problem.offset, &line,
                                  &column);
    yaml_mark_t mark = {0, line, column};
    return contract_yaml_problem_at(l, mark, rc, NULL, "rule: %s", problem.message);
}

static int s_key_then_copay(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_amount(l, v, &((contract_rule_t *)t)->copay_cents);
}
static int s_key_then_coinsurance(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return contract_yaml_rate(l, v, &((contract_rule_t *)t)->coinsurance_bps);
}
static int s_key_then_deductible(contract_loader_t *l, yaml_node_t *v, void *t)
{
    bool applies = false;
    if (contract_yaml_bool(l, v, &applies) != 0)
        return -1;
    ((contract_rule_t *)t)->deductible = applies ? 1 : 0;
    return 0;
}
static int s_key_then_deny(contract_loader_t *l, yaml_node_t *v, void *t)
{
    return s_reason(l, v, ((contract_rule_t *)t)->deny);
}

/* A rule either denies or changes cost sharing, never both. */
static int s_key_rule_then(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"copay", s_key_then_copay, false},
                                          {"coinsurance", s_key_then_coinsurance, false},
                                          {"deductible", s_key_then_deductible, false},
                                          {"deny", s_key_then_deny, false}};
    contract_rule_t *rule = t;
    if (contract_yaml_walk_map(l, v, keys, 4, rule, "rule then") != 0)
        return -1;
    bool shares = rule->copay_cents >= 0 || rule->coinsurance_bps != CONTRACT_RATE_NONE ||
                  rule->deductible >= 0;
    if (!shares && !rule->deny[0])
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_MISSING, "copay, coinsurance, deductible or deny",
                                "rule then: nothing to do");
    if (shares && rule->deny[0])
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_INVALID, NULL,
                                "rule then: deny cannot be combined with cost sharing");
    return 0;
}

static int s_rule_item(contract_loader_t *l, yaml_node_t *v, void *t)
{
    static const contract_key_t keys[] = {{"name", s_key_rule_name, false},
                                          {"when", s_key_rule_when, true},
                                          {"then", s_key_rule_then, true}};
    if (l->contract->rules_count == CONTRACT_RULES_MAX)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_TOO_MANY, NULL, "more than %d rules",
                                CONTRACT_RULES_MAX);
    contract_rule_t *rule = CONTRACT_APPEND(l, v, rules);
    if (!rule)
        return -1;
    rule->copay_cents = -1;
    rule->coinsurance_bps = CONTRACT_RATE_NONE;
    rule->deductible = -1;
    return contract_yaml_walk_map(l, v, keys, 3, rule, "rule");
}

static int s_key_rules(contract_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return CONTRACT_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a list of rules",
                                "rules: expected a list");
    return contract_yaml_each_item(l, v, s_rule_item, NULL);
}

/* ------------------------------------------------------------------------
 * The whole contract
 * ------------------------------------------------------------------------ */

static const contract_key_t s_top_keys[] = {
    {"contract", s_key_contract, true},
    {"version", s_key_version, true},
    {"payer", s_key_payer, true},
    {"effective", s_key_effective, true},
    {"period", s_key_period, false},
    {"timely_filing_days", s_key_timely, false},
    {"accumulators", s_key_accumulators, false},
    {"network", s_key_network, true},
    {"fee_schedule", s_key_fee_schedule, false},
    {"benefits", s_key_benefits, true},
    {"exclusions", s_key_exclusions, false},
    {"edits", s_key_edits, false},
    {"rules", s_key_rules, false},
};

static void s_defaults(contract_t *c)
{
    c->effective_to = INT32_MAX;
    c->timely_filing_days = INT32_MAX;
    c->deductible_cents_family = CONTRACT_UNLIMITED;
    c->oop_cents_individual = CONTRACT_UNLIMITED;
    c->oop_cents_family = CONTRACT_UNLIMITED;
    c->network_in.multiplier_bps = MONEY_BPS_ONE_HUNDRED_PERCENT;
    c->network_out.multiplier_bps = MONEY_BPS_ONE_HUNDRED_PERCENT;
    c->network_out.coinsurance_bps = CONTRACT_RATE_NONE; /* out of network: not covered */
    c->percent_of_billed_bps = MONEY_BPS_ONE_HUNDRED_PERCENT;
}

static int s_npi_order(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sorts the providers and drops repeats, for bisection. */
static void s_finish_providers(contract_t *c)
{
    if (c->providers_count < 2)
        return;
    qsort(c->providers, c->providers_count, CLAIM_NPI_SIZE, s_npi_order);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->providers_count; i++)
        if (kept == 0 || strcmp(c->providers + (size_t)(kept - 1) * CLAIM_NPI_SIZE,
                                c->providers + (size_t)i * CLAIM_NPI_SIZE) != 0)
            memmove(c->providers + (size_t)kept++ * CLAIM_NPI_SIZE,
                    c->providers + (size_t)i * CLAIM_NPI_SIZE, CLAIM_NPI_SIZE);
    c->providers_count = kept;
}

/* Parses the YAML into loader->document; reports a syntax error with its place. */
static int s_parse(contract_loader_t *loader, const char *text, size_t length)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        yaml_mark_t none = {0, 0, 0};
        return contract_yaml_problem_at(loader, none, SETTLE_ERR_NOMEM, NULL, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    int rc = 0;
    if (!yaml_parser_load(&parser, &loader->document)) {
        yaml_mark_t mark = parser.problem ? parser.problem_mark : parser.context_mark;
        rc = contract_yaml_problem_at(
            loader, mark, parser.error == YAML_MEMORY_ERROR ? SETTLE_ERR_NOMEM : SETTLE_ERR_SYNTAX,
            NULL, "YAML: %s%s%s", parser.problem ? parser.problem : "bad document",
            parser.context ? " " : "", parser.context ? parser.context : "");
    }
    yaml_parser_delete(&parser);
    return rc;
}

int contract_load_text(const char *text, size_t length, const char *file, contract_t **contract_out,
                       settle_error_t *error, contract_report_fn report, void *report_context)
{
    contract_loader_t loader = {.file = file ? file : "",
                                .error = error,
                                .report = report,
                                .report_context = report_context,
                                .text = text,
                                .length = length};
    yaml_mark_t start = {0, 0, 0};
    settle_error_clear(error);
    if (!text || !contract_out)
        return contract_yaml_problem_at(&loader, start, SETTLE_ERR_INVALID, NULL,
                                        "no contract text"),
               SETTLE_ERR_INVALID;
    if (length > CONTRACT_TEXT_SIZE_MAX)
        return contract_yaml_problem_at(&loader, start, SETTLE_ERR_TOO_LONG, NULL,
                                        "contract too large"),
               SETTLE_ERR_TOO_LONG;
    loader.contract = settle_calloc(1, sizeof *loader.contract);
    if (!loader.contract)
        return contract_yaml_problem_at(&loader, start, SETTLE_ERR_NOMEM, NULL, "out of memory"),
               SETTLE_ERR_NOMEM;
    s_defaults(loader.contract);
    if (s_parse(&loader, text, length) == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&loader.document);
        if (!root)
            contract_yaml_problem_at(&loader, start, SETTLE_ERR_MISSING, NULL, "empty contract");
        else
            contract_yaml_walk_map(&loader, root, s_top_keys,
                                   sizeof s_top_keys / sizeof s_top_keys[0], NULL, "contract");
        yaml_document_delete(&loader.document);
    }
    if (loader.problems) {
        contract_destroy(&loader.contract);
        return loader.first_code;
    }
    s_finish_providers(loader.contract);
    *contract_out = loader.contract;
    return SETTLE_OK;
}
