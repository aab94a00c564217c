/*
 * test_interp.c - the interpreter through its C API, with hand-computed
 * cents.  (The full set of scenarios runs through the command line in
 * tests/golden.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/interp.h"

static const char s_plan[] =
    "contract: P\nversion: 1\npayer: X\neffective: {from: 2026-01-01}\n"
    "accumulators:\n  deductible: {individual: \"500.00\", family: \"1000.00\"}\n"
    "  out_of_pocket: {individual: \"2000.00\"}\n"
    "network: {in: {coinsurance: \"20%\", providers: [\"1234567893\"]}}\n"
    "fee_schedule: {\"99213\": \"100.00\", default: {percent_of_billed: \"60%\"}}\n"
    "benefits:\n  - {name: visit, codes: [\"99213\"], copay: \"25.00\", deductible: false}\n"
    "  - {name: other, codes: [\"*\"]}\n";

static const char s_members[] =
    "members:\n"
    "  - {id: M1, family: F, contract: P, birth_date: 1980-01-01, sex: F, coverage: {from: 2026-01-01}}\n"
    "  - {id: M2, family: F, contract: P, birth_date: 1981-01-01, sex: M, coverage: {from: 2026-01-01}}\n"
    "  - {id: M3, contract: NOPE, birth_date: 1981-01-01, sex: M, coverage: {from: 2026-01-01}}\n";

typedef struct {
    contract_t *contract;
    enrollment_t *enrollment;
    interp_state_t *state;
    interp_decision_t *decision;
    interp_changes_t changes;
    claim_t *claim;
} s_fixture_t;

static int s_setup(void **state)
{
    static s_fixture_t fixture;
    memset(&fixture, 0, sizeof fixture);
    if (contract_load_text(s_plan, strlen(s_plan), "p.yaml", &fixture.contract, NULL, NULL,
                           NULL) != SETTLE_OK ||
        enrollment_load_text(s_members, strlen(s_members), "m.yaml", &fixture.enrollment,
                             NULL) != SETTLE_OK)
        return -1;
    fixture.state = interp_state_new();
    fixture.decision = interp_decision_new();
    fixture.claim = claim_new();
    *state = &fixture;
    return fixture.state && fixture.decision && fixture.claim ? 0 : -1;
}

static int s_teardown(void **state)
{
    s_fixture_t *fixture = *state;
    claim_destroy(&fixture->claim);
    interp_decision_destroy(&fixture->decision);
    interp_state_destroy(&fixture->state);
    enrollment_destroy(&fixture->enrollment);
    contract_destroy(&fixture->contract);
    return 0;
}

/* A one-line claim dated 2026-03-02. */
static void s_claim(s_fixture_t *fixture, const char *id, const char *member, const char *code,
                    int64_t charge_cents)
{
    claim_t *claim = fixture->claim;
    claim_line_t *line;
    claim_reset(claim);
    CLAIM_SET_TEXT(claim->claim_id, id, strlen(id));
    CLAIM_SET_TEXT(claim->member_id, member, strlen(member));
    CLAIM_SET_TEXT(claim->billing_npi, "1234567893", 10);
    assert_int_equal(claim_add_line(claim, &line), SETTLE_OK);
    CLAIM_SET_TEXT(line->procedure_code, code, strlen(code));
    line->units_milli = 1000;
    line->charge_cents = charge_cents;
    date_from_ymd(2026, 3, 2, &line->service_from);
    line->service_to = line->service_from;
    claim->total_charge_cents = charge_cents;
}

static const interp_line_t *s_run(s_fixture_t *fixture)
{
    const contract_t *contracts[] = {fixture->contract};
    assert_int_equal(interp_adjudicate(contracts, 1, fixture->enrollment, fixture->state,
                                       fixture->claim, DATE_NONE, fixture->decision,
                                       &fixture->changes, NULL),
                     SETTLE_OK);
    return &fixture->decision->lines[0];
}

static void test_interp_prices_office_visit_with_copay_and_coinsurance(void **state)
{
    s_fixture_t *fixture = *state;
    s_claim(fixture, "C1", "M1", "99213", 15000);
    const interp_line_t *line = s_run(fixture);
    assert_int_equal(line->allowed_cents, 10000);
    assert_int_equal(line->copay_cents, 2500);
    assert_int_equal(line->deductible_cents, 0);
    assert_int_equal(line->coinsurance_cents, 1500);
    assert_int_equal(line->paid_cents, 6000);
    assert_int_equal(line->adjustment_count, 3);
    assert_string_equal(line->adjustments[0].reason, "45");
    assert_int_equal(line->adjustments[0].amount_cents, 5000);
    assert_int_equal(fixture->decision->status, INTERP_STATUS_PAID);
}

static void test_interp_family_deductible_met_by_two_members(void **state)
{
    s_fixture_t *fixture = *state;
    s_claim(fixture, "F1", "M1", "71045", 100000); /* allowed 600: deductible 500 */
    assert_int_equal(s_run(fixture)->deductible_cents, 50000);
    s_claim(fixture, "F2", "M2", "71045", 100000);
    assert_int_equal(s_run(fixture)->deductible_cents, 50000);
    assert_int_equal(interp_state_total(fixture->state, INTERP_ACCUMULATOR_DEDUCTIBLE_FAMILY,
                                        2026, "F", NULL),
                     100000);
    s_claim(fixture, "F3", "M1", "71045", 50000); /* M1 met its own */
    const interp_line_t *line = s_run(fixture);
    assert_int_equal(line->deductible_cents, 0);
    assert_int_equal(line->coinsurance_cents, 6000);
    assert_int_equal(line->paid_cents, 24000);
}

/* The state remembers a member's accumulators per member and year; a
 * member moved to another family must reach the new family's, and back. */
static void test_interp_member_moved_to_another_family_charges_that_familys_deductible(void **state)
{
    s_fixture_t *fixture = *state;
    static const char moved[] =
        "members:\n"
        "  - {id: M2, family: G, contract: P, birth_date: 1981-01-01, sex: M, coverage: {from: "
        "2026-01-01}}\n";
    enrollment_t *first = fixture->enrollment, *second = NULL;
    assert_int_equal(enrollment_load_text(moved, strlen(moved), "m2.yaml", &second, NULL),
                     SETTLE_OK);
    const char *ids[3] = {"A1", "A2", "A3"};
    enrollment_t *lists[3] = {first, second, first};
    for (int i = 0; i < 3; i++) {
        fixture->enrollment = lists[i];
        s_claim(fixture, ids[i], "M2", "71045", 10000); /* allowed 60.00, all deductible */
        assert_int_equal(s_run(fixture)->deductible_cents, 6000);
    }
    fixture->enrollment = first;
    enrollment_destroy(&second);
    assert_int_equal(
        interp_state_total(fixture->state, INTERP_ACCUMULATOR_DEDUCTIBLE_FAMILY, 2026, "F", NULL),
        12000);
    assert_int_equal(
        interp_state_total(fixture->state, INTERP_ACCUMULATOR_DEDUCTIBLE_FAMILY, 2026, "G", NULL),
        6000);
    assert_int_equal(interp_state_total(fixture->state, INTERP_ACCUMULATOR_DEDUCTIBLE_INDIVIDUAL,
                                        2026, "M2", NULL),
                     18000);
}

static void test_interp_void_reverses_accumulators(void **state)
{
    s_fixture_t *fixture = *state;
    s_claim(fixture, "V1", "M1", "71045", 100000);
    s_run(fixture);
    assert_int_equal(fixture->changes.count, 4);
    s_claim(fixture, "V1-VOID", "M1", "71045", 100000);
    fixture->claim->frequency = CLAIM_FREQUENCY_VOID;
    CLAIM_SET_TEXT(fixture->claim->original_claim_number, "V1", 2);
    const interp_line_t *line = s_run(fixture);
    assert_int_equal(line->paid_cents, -8000);
    assert_string_equal(fixture->decision->related_claim_id, "V1");
    assert_int_equal(interp_state_total(fixture->state, INTERP_ACCUMULATOR_DEDUCTIBLE_INDIVIDUAL,
                                        2026, "M1", NULL),
                     0);
}

static void test_interp_error_leaves_state_unchanged(void **state)
{
    s_fixture_t *fixture = *state;
    s_claim(fixture, "E1", "M3", "71045", 100000);
    const contract_t *contracts[] = {fixture->contract};
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(interp_adjudicate(contracts, 1, fixture->enrollment, fixture->state,
                                       fixture->claim, DATE_NONE, fixture->decision,
                                       &fixture->changes, &error),
                     SETTLE_ERR_NOT_FOUND);
    assert_non_null(strstr(error.message, "NOPE"));
    assert_int_equal(interp_state_total(fixture->state, INTERP_ACCUMULATOR_OOP_INDIVIDUAL, 2026,
                                        "M3", NULL),
                     0);
}

static void test_interp_allocates_nothing_per_claim_once_warm(void **state)
{
    s_fixture_t *fixture = *state;
    s_claim(fixture, "W0", "M2", "99213", 15000);
    s_run(fixture);
    long before = settle_alloc_attempts();
    s_claim(fixture, "W0", "M2", "99213", 15000); /* a duplicate: rejected, no history */
    s_run(fixture);
    assert_int_equal(fixture->decision->status, INTERP_STATUS_REJECTED);
    assert_int_equal(settle_alloc_attempts(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interp_prices_office_visit_with_copay_and_coinsurance,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_interp_family_deductible_met_by_two_members, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_interp_member_moved_to_another_family_charges_that_familys_deductible, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_interp_void_reverses_accumulators, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_interp_error_leaves_state_unchanged, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_interp_allocates_nothing_per_claim_once_warm, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
