/*
 * interp.c - adjudication: the claim-level checks, then every line through
 * the steps in the order contracts/README.md documents, then the totals.
 *
 * Each line step either lets the line go on, denies some of its units
 * (the denied share of the charge is charge x denied units / units, rounded
 * half-up) or denies the rest of it; pricing and cost sharing come last.
 * Accumulators change in the state as lines are priced, so the next line
 * and the next claim see them; every change is also recorded in the
 * change list, which is how an error undoes them and a void reverses them.
 */
#include <string.h>

#include "contract_internal.h"
#include "interp_internal.h"
#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"

typedef struct {
    const contract_t *const *contracts;
    size_t contract_count;
    const enrollment_member_t *member;
    interp_state_t *state;
    const claim_t *claim;
    uint64_t claim_hash;  /* of claim_id: found before the lines, recorded after */
    uint64_t member_hash; /* of member_id */
    int32_t received;
    interp_decision_t *decision;
    interp_changes_t *changes;
    uint32_t change_ids[INTERP_CHANGES_MAX]; /* the accumulator id of each change */
    bool member_ids_valid;                   /* member_ids hold member_year's */
    int32_t member_year;
    uint32_t member_ids[4];             /* deductible and out-of-pocket, individual and family */
    const contract_t *network_contract; /* in_network is the billing provider's in it */
    bool in_network;
    bool year_known; /* year is year_day's (s_year) */
    int32_t year_day;
    int32_t year;
} s_run_t;

/* One line on its way through the steps. */
typedef struct {
    uint32_t index;
    const claim_line_t *in;
    interp_line_t *out;
    const contract_t *contract;
    const contract_benefit_t *benefit;
    contract_code_key_t code_key; /* of the procedure code, for the contract's lookups */
    bool in_network;
    int64_t copay_cents;     /* the benefit's cost sharing, as rules leave it */
    int32_t coinsurance_bps; /* CONTRACT_RATE_NONE: the network's */
    bool deductible;
    int64_t charge_cents_left; /* the charge no denial has taken yet */
    int64_t units_milli_left;  /* the units no denial has taken yet */
    int32_t year;              /* accumulator period */
    bool done;                 /* denied in full: no further step */
} s_line_t;

typedef int (*s_step_fn)(s_run_t *run, s_line_t *line);

const char *interp_status_name(interp_status_t status)
{
    static const char *const names[] = {"paid", "partial", "denied", "rejected"};
    return (unsigned)status < 4 ? names[status] : "unknown";
}

interp_decision_t *interp_decision_new(void)
{
    interp_decision_t *self = settle_calloc(1, sizeof *self);
    if (self) {
        self->lines = settle_calloc(CLAIM_LINES_MAX, sizeof *self->lines);
        if (!self->lines) {
            settle_free(self);
            return NULL;
        }
    }
    return self;
}

void interp_decision_destroy(interp_decision_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    settle_free((*self_p)->lines);
    settle_free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------
 * Adjustments and accumulators
 * ------------------------------------------------------------------------ */

static void s_adjust(interp_line_t *out, const char *group, const char *reason, int64_t cents)
{
    if (cents == 0 || out->adjustment_count >= INTERP_ADJUSTMENTS_MAX)
        return;
    interp_adjustment_t *adjustment = &out->adjustments[out->adjustment_count++];
    memcpy(adjustment->group, group, INTERP_GROUP_SIZE - 1);
    adjustment->group[INTERP_GROUP_SIZE - 1] = '\0';
    /* Reasons are the contract's, checked against the CARC table when it
     * was compiled, or the interpreter's own: no need to check them again,
     * and a loop beats strnlen and memcpy on three characters. */
    size_t length = 0;
    for (; length < INTERP_REASON_SIZE - 1 && reason[length]; length++)
        adjustment->reason[length] = reason[length];
    adjustment->reason[length] = '\0';
    adjustment->amount_cents = cents;
}

/* Denies what is left of the line. */
static void s_deny(s_line_t *line, const char *reason)
{
    s_adjust(line->out, "CO", reason, line->charge_cents_left);
    line->charge_cents_left = 0;
    line->units_milli_left = 0;
    line->out->denied_in_full = true;
    line->done = true;
}

/* Denies denied_milli of the units left, with their share of the charge. */
static int s_deny_units(s_line_t *line, const char *reason, int64_t denied_milli)
{
    if (denied_milli >= line->units_milli_left) {
        s_deny(line, reason);
        return SETTLE_OK;
    }
    int64_t share;
    int rc = money_muldiv(line->charge_cents_left, denied_milli, line->units_milli_left,
                          MONEY_ROUND_HALF_UP, &share);
    if (rc != SETTLE_OK)
        return rc;
    s_adjust(line->out, "CO", reason, share);
    line->charge_cents_left -= share;
    line->units_milli_left -= denied_milli;
    line->out->denied_in_part = true;
    return SETTLE_OK;
}

/* Records a change to accumulator id in the change list, added to an
 * earlier change of the same accumulator in this claim. */
static int s_note_change(s_run_t *run, uint32_t id, int64_t amount)
{
    interp_changes_t *changes = run->changes;
    for (uint32_t i = 0; i < changes->count; i++)
        if (run->change_ids[i] == id)
            return money_add(changes->items[i].amount, amount, &changes->items[i].amount);
    if (changes->count == INTERP_CHANGES_MAX)
        return SETTLE_ERR_TOO_MANY;
    run->change_ids[changes->count] = id;
    changes->items[changes->count] = *interp_state_get(run->state, id);
    changes->items[changes->count++].amount = amount;
    return SETTLE_OK;
}

/* Changes accumulator id by amount, in the state and the change list. */
static int s_change(s_run_t *run, uint32_t id, int64_t amount)
{
    if (amount == 0)
        return SETTLE_OK;
    int rc = s_note_change(run, id, amount);
    if (rc == SETTLE_OK)
        rc = interp_state_add_id(run->state, id, amount);
    return rc;
}

static int s_accumulator_id(s_run_t *run, interp_accumulator_kind_t kind, int32_t year,
                            const char *key, const char *benefit, uint32_t *id_out)
{
    return interp_state_name_id(run->state, (uint8_t)kind, year, key, benefit, id_out);
}

static int s_accumulate(s_run_t *run, interp_accumulator_kind_t kind, int32_t year, const char *key,
                        const char *benefit, int64_t amount)
{
    uint32_t id;
    if (amount == 0)
        return SETTLE_OK;
    int rc = s_accumulator_id(run, kind, year, key, benefit, &id);
    return rc == SETTLE_OK ? s_change(run, id, amount) : rc;
}

/* The member's four cost-sharing accumulators for year, resolved once per
 * claim (ids are stable) and then reused line after line. */
static int s_member_ids(s_run_t *run, int32_t year, const uint32_t **ids_out)
{
    if (!run->member_ids_valid || run->member_year != year) {
        int rc = interp_state_member_ids(run->state, year, run->member->id, run->member_hash,
                                         run->member->family, run->member_ids);
        if (rc != SETTLE_OK)
            return rc;
        run->member_ids_valid = true;
        run->member_year = year;
    }
    *ids_out = run->member_ids;
    return SETTLE_OK;
}

/* What is left under a cap after used; CONTRACT_UNLIMITED stays unlimited. */
static int64_t s_left(int64_t cap, int64_t used)
{
    if (cap == CONTRACT_UNLIMITED)
        return CONTRACT_UNLIMITED;
    return cap > used ? cap - used : 0;
}

static int64_t s_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ------------------------------------------------------------------------
 * Line steps, in adjudication order
 * ------------------------------------------------------------------------ */

/* Coverage (26, 27), and the contract version in force on the day. */
static int s_step_coverage(s_run_t *run, s_line_t *line)
{
    int32_t day = line->in->service_from;
    if (day < run->member->coverage_from) {
        s_deny(line, "26");
        return SETTLE_OK;
    }
    if (day > run->member->coverage_to) {
        s_deny(line, "27");
        return SETTLE_OK;
    }
    bool known = false, before = true;
    for (size_t i = 0; i < run->contract_count; i++) {
        const contract_t *contract = run->contracts[i];
        if (strcmp(contract->id, run->member->contract) != 0)
            continue;
        known = true;
        if (day >= contract->effective_from && day <= contract->effective_to) {
            line->contract = contract;
            if (!run->decision->contract)
                run->decision->contract = contract;
            return SETTLE_OK;
        }
        if (day > contract->effective_to)
            before = false;
    }
    if (!known)
        return SETTLE_ERR_NOT_FOUND;
    s_deny(line, before ? "26" : "27");
    return SETTLE_OK;
}

static int s_step_timely_filing(s_run_t *run, s_line_t *line)
{
    int32_t limit = line->contract->timely_filing_days;
    if (run->received != DATE_NONE && limit != INT32_MAX &&
        (int64_t)run->received - line->in->service_to > limit)
        s_deny(line, "29");
    return SETTLE_OK;
}

static int s_step_exclusion(s_run_t *run, s_line_t *line)
{
    const contract_t *contract = line->contract;
    for (uint32_t i = 0; i < contract->exclusions_count; i++)
        if (contract_codes_match_key(contract, &contract->exclusions[i].codes,
                                     line->in->procedure_code, line->code_key)) {
            s_deny(line, contract->exclusions[i].reason);
            break;
        }
    return SETTLE_OK;
}

/* True when one of the line's diagnoses (by its pointers, or all of the
 * claim's when it has none) matches one of the edit's patterns. */
static bool s_diagnosis_ok(const s_run_t *run, const s_line_t *line,
                           const contract_diagnosis_edit_t *edit)
{
    const claim_t *claim = run->claim;
    bool by_pointer = line->in->diagnosis_pointers[0] != 0;
    size_t count = by_pointer ? CLAIM_POINTERS_MAX : claim->diagnosis_count;
    for (size_t i = 0; i < count; i++) {
        size_t which = by_pointer ? (size_t)line->in->diagnosis_pointers[i] - 1 : i;
        if (by_pointer && (line->in->diagnosis_pointers[i] == 0 || which >= claim->diagnosis_count))
            continue;
        const char *code = claim->diagnoses[which];
        for (uint32_t p = 0; p < edit->pattern_count; p++) {
            const contract_pattern_t *pattern = &line->contract->patterns[edit->pattern_first + p];
            size_t length = strlen(pattern->text);
            if (pattern->prefix ? strncmp(code, pattern->text, length) == 0
                                : strcmp(code, pattern->text) == 0)
                return true;
        }
    }
    return false;
}

/* The patient's age on the line's first day of service: from the member's
 * birth date when enrollment gave one; on the shared ledger, where birth
 * dates are sealed (phi.h), the age the payer's client put on the line. */
static bool s_patient_age(const s_run_t *run, const s_line_t *line, int *age_out)
{
    if (run->member->birth_date != DATE_NONE)
        return date_age_years(run->member->birth_date, line->in->service_from, age_out) ==
               SETTLE_OK;
    if (line->in->patient_age == CLAIM_AGE_NONE)
        return false;
    *age_out = line->in->patient_age;
    return true;
}

/* Age (6), sex (7), diagnosis (11). */
static int s_step_edits(s_run_t *run, s_line_t *line)
{
    const contract_t *contract = line->contract;
    const char *code = line->in->procedure_code;
    for (uint32_t i = 0; i < contract->age_edits_count; i++) {
        const contract_age_edit_t *edit = &contract->age_edits[i];
        int age = -1;
        if (!contract_codes_match_key(contract, &edit->codes, code, line->code_key))
            continue;
        if (!s_patient_age(run, line, &age) || age < edit->age_years_min ||
            age > edit->age_years_max) {
            s_deny(line, "6");
            return SETTLE_OK;
        }
    }
    for (uint32_t i = 0; i < contract->sex_edits_count; i++)
        if (contract_codes_match_key(contract, &contract->sex_edits[i].codes, code,
                                     line->code_key) &&
            run->member->sex != contract->sex_edits[i].sex) {
            s_deny(line, "7");
            return SETTLE_OK;
        }
    for (uint32_t i = 0; i < contract->diagnosis_edits_count; i++)
        if (contract_codes_match_key(contract, &contract->diagnosis_edits[i].codes, code,
                                     line->code_key) &&
            !s_diagnosis_ok(run, line, &contract->diagnosis_edits[i])) {
            s_deny(line, "11");
            return SETTLE_OK;
        }
    return SETTLE_OK;
}

/* An included code billed with its primary on the same claim and day (97). */
static int s_step_bundling(s_run_t *run, s_line_t *line)
{
    const contract_t *contract = line->contract;
    for (uint32_t b = 0; b < contract->bundles_count; b++) {
        const contract_bundle_t *bundle = &contract->bundles[b];
        if (!contract_codes_match_key(contract, &bundle->included, line->in->procedure_code,
                                      line->code_key))
            continue;
        for (uint32_t j = 0; j < run->claim->line_count; j++) {
            const claim_line_t *other = &run->claim->lines[j];
            if (j != line->index && other->service_from == line->in->service_from &&
                strcmp(other->procedure_code, bundle->primary) == 0) {
                s_deny(line, "97");
                return SETTLE_OK;
            }
        }
    }
    return SETTLE_OK;
}

/* Units of the code on the day past the maximum, counting the units that
 * earlier lines of the claim got through (151). */
static int s_step_daily_max(s_run_t *run, s_line_t *line)
{
    const contract_daily_max_t *maximum =
        contract_daily_max_find_key(line->contract, line->in->procedure_code, line->code_key);
    if (!maximum)
        return SETTLE_OK;
    int64_t used = 0;
    for (uint32_t j = 0; j < line->index; j++) {
        const claim_line_t *other = &run->claim->lines[j];
        if (other->service_from == line->in->service_from &&
            strcmp(other->procedure_code, line->in->procedure_code) == 0)
            used += run->decision->lines[j].units_milli_paid;
    }
    int64_t room = s_left(maximum->units_milli_max, used);
    if (line->units_milli_left > room)
        return s_deny_units(line, "151", line->units_milli_left - room);
    return SETTLE_OK;
}

/* The first benefit that lists the code (none: 204), and the network (242
 * when the contract covers no out-of-network care). */
static int s_step_benefit(s_run_t *run, s_line_t *line)
{
    const contract_t *contract = line->contract;
    for (uint32_t i = 0; i < contract->benefits_count && !line->benefit; i++)
        if (contract_codes_match_key(contract, &contract->benefits[i].codes,
                                     line->in->procedure_code, line->code_key))
            line->benefit = &contract->benefits[i];
    if (!line->benefit) {
        s_deny(line, "204");
        return SETTLE_OK;
    }
    line->copay_cents = line->benefit->copay_cents;
    line->coinsurance_bps = line->benefit->coinsurance_bps;
    line->deductible = line->benefit->deductible;
    /* The billing provider is the claim's: look it up once per contract. */
    if (run->network_contract != contract) {
        run->network_contract = contract;
        run->in_network = contract_provider_in_network(contract, run->claim->billing_npi);
    }
    line->in_network = run->in_network;
    if (!line->in_network && contract->network_out.coinsurance_bps == CONTRACT_RATE_NONE)
        s_deny(line, "242");
    return SETTLE_OK;
}

/* Custom rules, in file order: every rule that holds applies its cost
 * sharing over the benefit's (a later rule over an earlier one); the first
 * that holds and denies ends the line with its reason. */
static int s_step_rules(s_run_t *run, s_line_t *line)
{
    const contract_t *contract = line->contract;
    if (contract->rules_count == 0)
        return SETTLE_OK;
    contract_rule_input_t input = {
        .claim = run->claim, .line = line->in, .sex = run->member->sex, .age_years = -1};
    if (contract->rule_program.fields_used & (1u << CONTRACT_RULE_FIELD_MEMBER_AGE)) {
        int age;
        if (s_patient_age(run, line, &age))
            input.age_years = age;
    }
    for (uint32_t i = 0; i < contract->rules_count; i++) {
        const contract_rule_t *rule = &contract->rules[i];
        bool holds;
        int rc = contract_rule_eval(&contract->rule_program, &rule->when, &input, &holds);
        if (rc != SETTLE_OK)
            return rc;
        if (!holds)
            continue;
        if (rule->deny[0]) {
            s_deny(line, rule->deny);
            return SETTLE_OK;
        }
        if (rule->copay_cents >= 0)
            line->copay_cents = rule->copay_cents;
        if (rule->coinsurance_bps != CONTRACT_RATE_NONE)
            line->coinsurance_bps = rule->coinsurance_bps;
        if (rule->deductible >= 0)
            line->deductible = rule->deductible != 0;
    }
    return SETTLE_OK;
}

static int s_step_prior_auth(s_run_t *run, s_line_t *line)
{
    if (line->benefit->prior_auth && run->claim->prior_authorization[0] == '\0')
        s_deny(line, "197");
    return SETTLE_OK;
}

/* The benefit's unit limit for the period (119); a limit reached part-way
 * pays the units that fit. */
static int s_step_limit(s_run_t *run, s_line_t *line)
{
    const contract_benefit_t *benefit = line->benefit;
    if (benefit->limit_units_milli == CONTRACT_UNLIMITED)
        return SETTLE_OK;
    int64_t used = interp_state_total(run->state, INTERP_ACCUMULATOR_BENEFIT_UNITS, line->year,
                                      run->member->id, benefit->name);
    int64_t room = s_left(benefit->limit_units_milli, used);
    int rc = SETTLE_OK;
    if (line->units_milli_left > room)
        rc = s_deny_units(line, "119", line->units_milli_left - room);
    if (rc == SETTLE_OK && !line->done)
        rc = s_accumulate(run, INTERP_ACCUMULATOR_BENEFIT_UNITS, line->year, run->member->id,
                          benefit->name, line->units_milli_left);
    return rc;
}

/* Allowed: min(charge, fee x units x multiplier), or min(charge, charge x
 * percent of billed) for a code the schedule does not list (45). */
static int s_allowed(const s_line_t *line, int64_t *allowed_out)
{
    const contract_t *contract = line->contract;
    const contract_network_t *network =
        line->in_network ? &contract->network_in : &contract->network_out;
    const contract_fee_t *fee = contract_fee_find_key(contract, line->in->procedure_code,
                                                      line->code_key, line->in->modifiers);
    int64_t priced;
    int rc =
        fee ? money_muldiv(fee->cents_per_unit, line->units_milli_left * network->multiplier_bps,
                           (int64_t)CLAIM_UNITS_MILLI_PER_UNIT * MONEY_BPS_ONE_HUNDRED_PERCENT,
                           MONEY_ROUND_HALF_UP, &priced)
            : money_apply_rate(line->charge_cents_left, contract->percent_of_billed_bps,
                               MONEY_ROUND_HALF_UP, &priced);
    if (rc == SETTLE_OK)
        *allowed_out = s_min(line->charge_cents_left, priced);
    return rc;
}

/* ------------------------------------------------------------------------
 * Pricing and cost sharing
 * ------------------------------------------------------------------------ */

/* Copay (3), deductible (1), coinsurance (2), each bounded by what is left
 * of the out-of-pocket room after the ones before it.  ids are the
 * member's accumulators (s_member_ids). */
static int s_cost_share(s_run_t *run, s_line_t *line, const uint32_t ids[4])
{
    const contract_t *contract = line->contract;
    interp_line_t *out = line->out;
    const interp_state_t *state = run->state;
    int64_t oop_room =
        s_min(s_left(contract->oop_cents_individual, interp_state_get(state, ids[2])->amount),
              s_left(contract->oop_cents_family, interp_state_get(state, ids[3])->amount));
    int64_t rest = out->allowed_cents;
    out->copay_cents = s_min(s_min(line->copay_cents, rest), oop_room);
    rest -= out->copay_cents;
    oop_room = oop_room == CONTRACT_UNLIMITED ? oop_room : oop_room - out->copay_cents;
    if (line->deductible) {
        int64_t deductible_room = s_min(
            s_left(contract->deductible_cents_individual, interp_state_get(state, ids[0])->amount),
            s_left(contract->deductible_cents_family, interp_state_get(state, ids[1])->amount));
        out->deductible_cents = s_min(s_min(deductible_room, rest), oop_room);
        rest -= out->deductible_cents;
        oop_room = oop_room == CONTRACT_UNLIMITED ? oop_room : oop_room - out->deductible_cents;
    }
    int32_t rate =
        line->coinsurance_bps != CONTRACT_RATE_NONE
            ? line->coinsurance_bps
            : (line->in_network ? contract->network_in : contract->network_out).coinsurance_bps;
    int rc = money_apply_rate(rest, rate, MONEY_ROUND_HALF_UP, &out->coinsurance_cents);
    if (rc != SETTLE_OK)
        return rc;
    out->coinsurance_cents = s_min(s_min(out->coinsurance_cents, rest), oop_room);
    return SETTLE_OK;
}

/* Allowed (45), cost sharing, paid, and the accumulators. */
static int s_step_price(s_run_t *run, s_line_t *line)
{
    interp_line_t *out = line->out;
    const uint32_t *ids;
    int rc = s_allowed(line, &out->allowed_cents);
    if (rc == SETTLE_OK)
        rc = s_member_ids(run, line->year, &ids);
    if (rc == SETTLE_OK)
        rc = s_cost_share(run, line, ids);
    if (rc != SETTLE_OK)
        return rc;
    s_adjust(out, "CO", "45", line->charge_cents_left - out->allowed_cents);
    s_adjust(out, "PR", "3", out->copay_cents);
    s_adjust(out, "PR", "1", out->deductible_cents);
    s_adjust(out, "PR", "2", out->coinsurance_cents);
    out->patient_cents = out->copay_cents + out->deductible_cents + out->coinsurance_cents;
    out->paid_cents = out->allowed_cents - out->patient_cents;
    out->units_milli_paid = line->units_milli_left;
    const int64_t amounts[4] = {out->deductible_cents, out->deductible_cents, out->patient_cents,
                                out->patient_cents};
    for (size_t i = 0; i < 4 && rc == SETTLE_OK; i++)
        rc = s_change(run, ids[i], amounts[i]);
    return rc;
}

static const s_step_fn s_steps[] = {
    s_step_coverage,   s_step_timely_filing, s_step_exclusion, s_step_edits,
    s_step_bundling,   s_step_daily_max,     s_step_benefit,   s_step_rules,
    s_step_prior_auth, s_step_limit,         s_step_price,
};

/* Copies a line's code into its decision as claim_set_text would (printable
 * ASCII that fits, else ""), in one pass instead of strlen and a check. */
static void s_copy_code(char *field, const char *code)
{
    for (size_t i = 0; i < CLAIM_PROCEDURE_SIZE; i++) {
        if (code[i] == '\0') {
            field[i] = '\0';
            return;
        }
        if ((unsigned char)code[i] < 0x20 || (unsigned char)code[i] > 0x7e)
            break;
        field[i] = code[i];
    }
    field[0] = '\0';
}

/* The accumulator period of a day: its calendar year, remembered for the
 * next line (a claim's lines are mostly of one day). */
static int32_t s_year(s_run_t *run, int32_t day)
{
    if (!run->year_known || run->year_day != day) {
        int year, month, month_day;
        date_to_ymd(day, &year, &month, &month_day);
        run->year_known = true;
        run->year_day = day;
        run->year = year;
    }
    return run->year;
}

static void s_line_start(s_run_t *run, uint32_t index, s_line_t *line)
{
    const claim_line_t *in = &run->claim->lines[index];
    interp_line_t *out = &run->decision->lines[index];
    /* Field by field rather than a memset of the whole record: the
     * adjustment slots past adjustment_count are never read, and clearing
     * them cost more than the rest of the line's setup. */
    out->line = index + 1;
    s_copy_code(out->code, in->procedure_code[0] ? in->procedure_code : in->revenue_code);
    out->units_milli = in->units_milli;
    out->units_milli_paid = 0;
    out->billed_cents = in->charge_cents;
    out->allowed_cents = out->deductible_cents = out->copay_cents = 0;
    out->coinsurance_cents = out->paid_cents = out->patient_cents = 0;
    out->denied_in_full = out->denied_in_part = false;
    out->adjustment_count = 0;
    *line = (s_line_t){.index = index,
                       .in = in,
                       .out = out,
                       .charge_cents_left = in->charge_cents,
                       .units_milli_left = in->units_milli,
                       .year = s_year(run, in->service_from),
                       .code_key = contract_code_key(in->procedure_code)};
}

static int s_adjudicate_line(s_run_t *run, uint32_t index)
{
    s_line_t line;
    s_line_start(run, index, &line);
    int rc = SETTLE_OK;
    for (size_t step = 0; step < sizeof s_steps / sizeof s_steps[0] && !line.done; step++)
        if ((rc = s_steps[step](run, &line)) != SETTLE_OK)
            return rc;
    int64_t adjusted = 0;
    for (uint32_t i = 0; i < line.out->adjustment_count; i++)
        adjusted += line.out->adjustments[i].amount_cents;
    /* Every line balances: charge - adjustments = paid. */
    if (line.out->billed_cents - adjusted != line.out->paid_cents)
        return SETTLE_ERR_CORRUPT;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Claim level: duplicates, voids, replacements, the member
 * ------------------------------------------------------------------------ */

static void s_decision_start(s_run_t *run)
{
    interp_decision_t *decision = run->decision;
    interp_line_t *lines = decision->lines;
    memset(decision, 0, sizeof *decision);
    decision->lines = lines;
    memcpy(decision->claim_id, run->claim->claim_id, sizeof decision->claim_id);
    decision->frequency = run->claim->frequency;
    run->changes->count = 0;
}

/* Rejects the claim: every line carries reason in full, nothing changes. */
static void s_reject(s_run_t *run, const char *reason)
{
    for (uint32_t i = 0; i < run->claim->line_count; i++) {
        s_line_t line;
        s_line_start(run, i, &line);
        s_deny(&line, reason);
    }
    run->decision->line_count = run->claim->line_count;
    run->decision->status = INTERP_STATUS_REJECTED;
}

static void s_totals(interp_decision_t *decision)
{
    uint32_t denied = 0, touched = 0;
    for (uint32_t i = 0; i < decision->line_count; i++) {
        const interp_line_t *line = &decision->lines[i];
        decision->billed_cents += line->billed_cents;
        decision->allowed_cents += line->allowed_cents;
        decision->paid_cents += line->paid_cents;
        decision->patient_cents += line->patient_cents;
        denied += line->denied_in_full;
        touched += line->denied_in_full || line->denied_in_part;
    }
    if (decision->status == INTERP_STATUS_REJECTED)
        return;
    decision->status = denied == decision->line_count ? INTERP_STATUS_DENIED
                       : touched                      ? INTERP_STATUS_PARTIAL
                                                      : INTERP_STATUS_PAID;
}

/* Undoes every change recorded so far (after an error). */
static void s_undo(s_run_t *run)
{
    for (uint32_t i = run->changes->count; i-- > 0;)
        interp_state_add_id(run->state, run->change_ids[i], -run->changes->items[i].amount);
    run->changes->count = 0;
}

/* Reverses an adjudicated claim's accumulator changes and marks it voided. */
static int s_reverse(s_run_t *run, interp_history_t *original)
{
    uint32_t ids[INTERP_CHANGES_MAX];
    int64_t amounts[INTERP_CHANGES_MAX];
    interp_history_read(run->state, original, NULL, ids, amounts, NULL);
    for (uint32_t i = 0; i < original->change_count; i++) {
        int rc = s_change(run, ids[i], -amounts[i]);
        if (rc != SETTLE_OK)
            return rc;
    }
    original->voided = true;
    memcpy(run->decision->related_claim_id, original->claim_id, sizeof original->claim_id);
    return SETTLE_OK;
}

/* A void's decision: the original's lines, every amount negated.  The
 * claim totals are left to s_totals, which adds up the negated lines. */
static void s_void_decision(s_run_t *run, const interp_history_t *original)
{
    interp_decision_t *decision = run->decision;
    interp_history_read(run->state, original, NULL, NULL, NULL, decision->lines);
    decision->line_count = original->line_count;
    decision->status = (interp_status_t)original->status;
    interp_decision_negate(decision); /* the totals are still 0 here */
}

void interp_decision_negate(interp_decision_t *decision)
{
    decision->billed_cents = -decision->billed_cents;
    decision->allowed_cents = -decision->allowed_cents;
    decision->paid_cents = -decision->paid_cents;
    decision->patient_cents = -decision->patient_cents;
    for (uint32_t i = 0; i < decision->line_count; i++) {
        interp_line_t *line = &decision->lines[i];
        line->billed_cents = -line->billed_cents;
        line->allowed_cents = -line->allowed_cents;
        line->deductible_cents = -line->deductible_cents;
        line->copay_cents = -line->copay_cents;
        line->coinsurance_cents = -line->coinsurance_cents;
        line->paid_cents = -line->paid_cents;
        line->patient_cents = -line->patient_cents;
        for (uint32_t a = 0; a < line->adjustment_count; a++)
            line->adjustments[a].amount_cents = -line->adjustments[a].amount_cents;
    }
}

/* Claim-level checks before the lines; *stop when the claim is decided. */
static int s_claim_checks(s_run_t *run, const enrollment_t *enrollment, bool *reversed, bool *stop)
{
    const claim_t *claim = run->claim;
    bool corrects =
        claim->frequency == CLAIM_FREQUENCY_VOID || claim->frequency == CLAIM_FREQUENCY_REPLACEMENT;
    *stop = true;
    if (corrects) {
        interp_history_t *original = interp_history_find(run->state, claim->original_claim_number);
        if (!original || original->voided) {
            s_reject(run, original ? "18" : "16");
            return SETTLE_OK;
        }
        int rc = s_reverse(run, original);
        if (rc != SETTLE_OK)
            return rc;
        *reversed = true;
        if (claim->frequency == CLAIM_FREQUENCY_VOID) {
            s_void_decision(run, original);
            return SETTLE_OK;
        }
    } else {
        interp_history_t *earlier =
            interp_history_find_hash(run->state, claim->claim_id, run->claim_hash);
        if (earlier && !earlier->voided) {
            s_reject(run, "18");
            return SETTLE_OK;
        }
    }
    run->member = interp_state_member(run->state, enrollment, claim->member_id, run->member_hash);
    if (!run->member) {
        s_reject(run, "31");
        return SETTLE_OK;
    }
    if (claim->line_count > 0)
        interp_state_member_prefetch(run->state, run->member_hash,
                                     s_year(run, claim->lines[0].service_from));
    *stop = false;
    return SETTLE_OK;
}

int interp_adjudicate(const contract_t *const *contracts, size_t contract_count,
                      const enrollment_t *enrollment, interp_state_t *state, const claim_t *claim,
                      int32_t received, interp_decision_t *decision, interp_changes_t *changes,
                      settle_error_t *error)
{
    if (!contracts || !enrollment || !state || !claim || !decision || !changes ||
        claim->line_count > CLAIM_LINES_MAX)
        return settle_error_set(error, SETTLE_ERR_INVALID, "interp_adjudicate: bad argument");
    /* Field by field: an initializer would also clear change_ids, 1 KiB
     * per claim, of which only the first changes->count are ever read. */
    s_run_t run;
    run.contracts = contracts;
    run.contract_count = contract_count;
    run.member = NULL;
    run.state = state;
    run.claim = claim;
    run.claim_hash = interp_state_key_hash(claim->claim_id);
    run.member_hash = interp_state_key_hash(claim->member_id);
    run.received = received;
    run.decision = decision;
    run.changes = changes;
    run.member_ids_valid = false;
    run.network_contract = NULL;
    run.year_known = false;
    interp_state_prefetch(state, run.claim_hash, run.member_hash,
                          claim->line_count > 0 ? s_year(&run, claim->lines[0].service_from) : 0);
    s_decision_start(&run);
    bool reversed = false;
    bool stop;
    int rc = s_claim_checks(&run, enrollment, &reversed, &stop);
    for (uint32_t i = 0; rc == SETTLE_OK && !stop && i < claim->line_count; i++) {
        rc = s_adjudicate_line(&run, i);
        decision->line_count = i + 1;
    }
    s_totals(decision);
    bool keep = rc == SETTLE_OK && decision->status != INTERP_STATUS_REJECTED &&
                claim->frequency != CLAIM_FREQUENCY_VOID;
    if (keep)
        rc = interp_history_put_ids(state, decision, changes, run.change_ids, run.claim_hash);
    if (rc != SETTLE_OK) {
        /* Found again: a failed put may have moved the records. */
        if (reversed)
            interp_history_find(state, claim->original_claim_number)->voided = false;
        s_undo(&run);
        if (rc == SETTLE_ERR_NOT_FOUND)
            return settle_error_set(error, rc, "claim %s: member %s: no contract \"%s\" given",
                                    claim->claim_id, claim->member_id, run.member->contract);
        return settle_error_set(error, rc, "claim %s: %s", claim->claim_id, settle_strerror(rc));
    }
    return SETTLE_OK;
}
