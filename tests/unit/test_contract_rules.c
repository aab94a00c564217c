/*
 * test_contract_rules.c - the custom-rule expression compiler and
 * evaluator: precedence, types, patterns, every error at its column, the
 * op and step limits, allocation failures, and that evaluation allocates
 * nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../contracts/contract_rules.h"
#include "settle/alloc.h"
#include "settle/contract.h"

/* A claim with two diagnoses, one line 99213-25 x 1.5 units, $150.00. */
typedef struct {
    claim_t claim;
    claim_line_t line;
    contract_rule_input_t input;
} s_fixture_t;

static void s_fixture(s_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    memcpy(f->claim.place_of_service, "11", 3);
    f->claim.diagnosis_count = 2;
    memcpy(f->claim.diagnoses[0], "M545", 5);
    memcpy(f->claim.diagnoses[1], "E119", 5);
    memcpy(f->line.procedure_code, "99213", 6);
    memcpy(f->line.modifiers[0], "25", 3);
    f->line.units_milli = 1500;
    f->line.charge_cents = 15000;
    f->line.diagnosis_pointers[0] = 2;
    f->input = (contract_rule_input_t){.claim = &f->claim, .line = &f->line, .sex = 'F',
                                       .age_years = 17};
}

/* Compiles text and evaluates it against the fixture; fails the test on
 * a compile error. */
static bool s_holds(const char *text)
{
    s_fixture_t f;
    s_fixture(&f);
    contract_rule_program_t program = {0};
    contract_rule_expr_t expr;
    contract_rule_problem_t problem;
    int rc = contract_rule_compile(&program, text, strlen(text), &expr, &problem);
    if (rc != SETTLE_OK)
        fail_msg("%s: offset %zu: %s", text, problem.offset, problem.message);
    bool value = false;
    assert_int_equal(contract_rule_eval(&program, &expr, &f.input, &value), SETTLE_OK);
    contract_rule_program_free(&program);
    return value;
}

/* Compiles text expecting an error; returns it, with the offset. */
static int s_error(const char *text, size_t *offset, char *message, size_t size)
{
    contract_rule_program_t program = {0};
    contract_rule_expr_t expr;
    contract_rule_problem_t problem;
    int rc = contract_rule_compile(&program, text, strlen(text), &expr, &problem);
    assert_int_not_equal(rc, SETTLE_OK);
    assert_int_equal(program.ops_count, 0);
    assert_int_equal(program.patterns_count, 0);
    *offset = problem.offset;
    snprintf(message, size, "%s", problem.message);
    contract_rule_program_free(&program);
    return rc;
}

static void test_contract_rules_and_binds_tighter_than_or(void **state)
{
    assert_true(s_holds("true || false && false"));
    assert_false(s_holds("(true || false) && false"));
    assert_true(s_holds("false && false || true"));
    assert_false(s_holds("false && (false || true)"));
}

static void test_contract_rules_not_binds_to_the_comparison_after_it(void **state)
{
    assert_false(s_holds("!true && true"));
    assert_true(s_holds("!(true && false)"));
    assert_false(s_holds("!line.code == \"99213\""));
    assert_true(s_holds("!!line.code == \"99213\""));
    assert_true(s_holds("!\"59\" in line.modifiers"));
}

static void test_contract_rules_compare_numbers_in_thousandths(void **state)
{
    assert_true(s_holds("line.units == 1.5"));
    assert_true(s_holds("line.units > 1 && line.units < 2"));
    assert_true(s_holds("line.charge == 150.00 && line.charge >= 150 && line.charge <= 150.000"));
    assert_false(s_holds("line.charge > 150.00"));
    assert_true(s_holds("line.charge != 149.99"));
    assert_true(s_holds("member.age < 18 && member.age >= 17"));
    assert_true(s_holds("18 > member.age"));  /* a constant on the left */
    assert_true(s_holds("2 >= 1"));           /* folded at compile time */
    assert_true(s_holds("line.units in [1, 1.5, 2]"));
    assert_false(s_holds("member.age in [18, 19]"));
}

static void test_contract_rules_match_texts_patterns_and_lists(void **state)
{
    assert_true(s_holds("line.code == '99213' && member.sex == \"F\""));
    assert_true(s_holds("claim.place_of_service != \"02\""));
    assert_true(s_holds("line.code in [\"99202-99215\"]"));
    assert_false(s_holds("line.code in [\"992021-992151\", \"9921\"]"));
    assert_true(s_holds("line.code in [\"70*\", \"992*\"]"));
    assert_true(s_holds("\"25\" in line.modifiers"));
    assert_false(s_holds("\"59\" in line.modifiers"));
    assert_true(s_holds("line.modifiers in [\"59\", \"25\"]"));
    assert_true(s_holds("\"M54.*\" in claim.diagnoses"));
    assert_true(s_holds("claim.diagnoses in [\"M54.5\"]"));
    assert_false(s_holds("\"M54.*\" in line.diagnoses")); /* the line points at E11.9 only */
    assert_true(s_holds("\"E11.9\" in line.diagnoses"));
}

static void test_contract_rules_report_errors_at_the_offending_token(void **state)
{
    static const struct {
        const char *text;
        size_t offset;
        const char *message;
    } cases[] = {
        {"line.code ==", 12, "expected a field, a number or a quoted value, found the end of the expression"},
        {"line.units >> 2", 12, "expected a field, a number or a quoted value, found \">\""},
        {"lin.code == \"1\"", 0, "unknown field \"lin.code\""},
        {"line.code = \"1\"", 10, "unexpected \"=\"; did you mean \"==\"?"},
        {"line.code == \"99213", 13, "text value without its closing \""},
        {"", 0, "empty expression"},
        {"line.units < 1 < 2", 15, "expected &&, || or the end of the expression, found \"<\""},
        {"line.units == \"1\"", 11, "cannot compare a number with text"},
        {"line.code < \"1\"", 10, "text compares only with == and !="},
        {"line.modifiers == \"25\"", 15, "line.modifiers is a list"},
        {"(line.units > 1", 0, "\"(\" without its \")\""},
        {"line.code == \"992*\"", 13, "a pattern or range matches only with in [...]"},
        {"line.code in [\"99215-99202\"]", 14, "bad code \"99215-99202\""},
        {"line.code in []", 14, "expected a quoted value, found \"]\""},
        {"line.units in [\"1\"]", 15, "expected a number"},
        {"line.code in line.units", 13, "expected [...] or a list field"},
        {"line.code in line.modifiers", 0, "the left of in line.modifiers must be a quoted value"},
        {"line.charge > 1.2345", 14, "bad number"},
        {"line.units > 12abc", 13, "bad number: a text value needs quotes"},
        {"true && line.code", 17, "expected a comparison (==, !=, <, <=, >, >=) or in"},
        {"line.code == \"1\" &", 17, "unexpected \"&\"; did you mean \"&&\"?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t offset;
        char message[256];
        s_error(cases[i].text, &offset, message, sizeof message);
        if (offset != cases[i].offset || !strstr(message, cases[i].message))
            fail_msg("%s: got offset %zu \"%s\", expected %zu \"%s\"", cases[i].text, offset,
                     message, cases[i].offset, cases[i].message);
    }
}

/* A list of n diagnosis patterns: ["A00", "A01", ...]. */
static void s_long_list(char *out, size_t size, int n)
{
    size_t used = (size_t)snprintf(out, size, "claim.diagnoses in [");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s\"A%02d\"", i ? ", " : "", i);
    snprintf(out + used, size - used, "]");
}

static void test_contract_rules_refuse_an_expression_over_the_step_limit(void **state)
{
    char list[1024], text[4096];
    s_long_list(list, sizeof list, CONTRACT_RULE_LIST_MAX); /* 1 + 25 x 64 = 1601 steps */
    snprintf(text, sizeof text, "%s || %s", list, list);
    contract_rule_program_t program = {0};
    contract_rule_expr_t expr;
    contract_rule_problem_t problem;
    assert_int_equal(contract_rule_compile(&program, text, strlen(text), &expr, &problem),
                     SETTLE_OK);
    assert_int_equal(expr.steps_max, 2 * 1601 + 1);
    /* The worst case at run time: 25 diagnoses, none matching. */
    s_fixture_t f;
    s_fixture(&f);
    f.claim.diagnosis_count = CLAIM_DIAGNOSES_MAX;
    for (int i = 0; i < CLAIM_DIAGNOSES_MAX; i++)
        memcpy(f.claim.diagnoses[i], "Z999", 5);
    bool value = true;
    assert_int_equal(contract_rule_eval(&program, &expr, &f.input, &value), SETTLE_OK);
    assert_false(value);
    snprintf(text, sizeof text, "%s || %s || %s", list, list, list);
    assert_int_equal(contract_rule_compile(&program, text, strlen(text), &expr, &problem),
                     SETTLE_ERR_RANGE);
    assert_non_null(strstr(problem.message, "too costly"));
    assert_int_equal(problem.offset, strlen(text)); /* found when the last list closed */
    contract_rule_program_free(&program);
}

static void test_contract_rules_refuse_too_many_ops_and_too_deep_nesting(void **state)
{
    char text[4096];
    size_t used = 0;
    for (int i = 0; i < 130; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%strue", i ? " && " : "");
    size_t offset;
    char message[256];
    assert_int_equal(s_error(text, &offset, message, sizeof message), SETTLE_ERR_TOO_MANY);
    assert_non_null(strstr(message, "expression too long"));
    assert_int_equal(s_error("!!!!!!!!!!!!!!!!!true", &offset, message, sizeof message),
                     SETTLE_ERR_TOO_MANY);
    assert_int_equal(offset, 16);
    char list[1024];
    s_long_list(list, sizeof list, CONTRACT_RULE_LIST_MAX + 1);
    assert_int_equal(s_error(list, &offset, message, sizeof message), SETTLE_ERR_TOO_MANY);
}

static void test_contract_rules_evaluate_without_allocating(void **state)
{
    const char text[] = "line.code in [\"99202-99215\"] && (\"25\" in line.modifiers || "
                        "member.age < 18) && \"M54.*\" in claim.diagnoses";
    contract_rule_program_t program = {0};
    contract_rule_expr_t expr;
    contract_rule_problem_t problem;
    assert_int_equal(contract_rule_compile(&program, text, strlen(text), &expr, &problem),
                     SETTLE_OK);
    s_fixture_t f;
    s_fixture(&f);
    long before = settle_alloc_attempts();
    bool value = false;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(contract_rule_eval(&program, &expr, &f.input, &value), SETTLE_OK);
    assert_true(value);
    assert_int_equal(settle_alloc_attempts(), before);
    contract_rule_program_free(&program);
}

static void test_contract_rules_fail_cleanly_at_every_allocation(void **state)
{
    const char text[] = "line.code in [\"99202-99215\", \"G0101\"] || \"25\" in line.modifiers";
    long live = settle_alloc_live();
    for (long n = 0; n < 4; n++) {
        contract_rule_program_t program = {0};
        contract_rule_expr_t expr;
        contract_rule_problem_t problem;
        settle_alloc_fail_after(n);
        int rc = contract_rule_compile(&program, text, strlen(text), &expr, &problem);
        settle_alloc_fail_after(-1);
        if (rc == SETTLE_OK) {
            assert_true(n >= 2); /* one array of ops, one of patterns */
        } else {
            assert_int_equal(rc, SETTLE_ERR_NOMEM);
            assert_int_equal(program.ops_count, 0);
        }
        contract_rule_program_free(&program);
        assert_int_equal(settle_alloc_live(), live);
    }
}

static void test_contract_rules_place_errors_in_the_yaml_source(void **state)
{
    static const char source[] = "rules:\n"
                                 "  - when: 'line.code == ''1'' && x'\n"
                                 "  - when: line.code == \"1\" &&\n"
                                 "          x\n"
                                 "  - when: |\n"
                                 "      line.code == \"1\" &&\n"
                                 "        x\n";
    uint32_t line, column;
    /* value "line.code == '1' && x": x at 20; in the source the '' is two */
    contract_rule_source_position(source, sizeof source - 1, 1, 10,
                                  CONTRACT_RULE_STYLE_SINGLE_QUOTED, 20, &line, &column);
    assert_int_equal(line, 1);
    assert_int_equal(column, 33);
    /* folded plain scalar: "line.code == \"1\" && x", x at 20 */
    contract_rule_source_position(source, sizeof source - 1, 2, 10, CONTRACT_RULE_STYLE_PLAIN, 20,
                                  &line, &column);
    assert_int_equal(line, 3);
    assert_int_equal(column, 10);
    /* literal block: "line.code == \"1\" &&\n  x\n", x at 22 */
    contract_rule_source_position(source, sizeof source - 1, 4, 10, CONTRACT_RULE_STYLE_BLOCK, 22,
                                  &line, &column);
    assert_int_equal(line, 6);
    assert_int_equal(column, 8);
}

static void test_contract_rules_load_errors_carry_file_line_and_column(void **state)
{
    static const char text[] = "contract: R\nversion: \"1\"\npayer: P\n"
                               "effective: {from: 2026-01-01}\n"
                               "network: {in: {coinsurance: \"20%\"}}\n"
                               "benefits: [{name: all, codes: [\"*\"]}]\n"
                               "rules:\n"
                               "  - when: line.code == \"99213\" && line.units >> 2\n" /* 8 */
                               "    then: {copay: \"10.00\"}\n";
    contract_t *contract = NULL;
    settle_error_t error;
    assert_int_equal(contract_load_text(text, strlen(text), "r.yaml", &contract, &error, NULL,
                                        NULL),
                     SETTLE_ERR_SYNTAX);
    char message[512];
    settle_error_format(&error, message, sizeof message);
    assert_string_equal(message, "r.yaml:8:47: rule: expected a field, a number or a quoted "
                                 "value, found \">\"");
    assert_null(contract);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_rules_and_binds_tighter_than_or),
        cmocka_unit_test(test_contract_rules_not_binds_to_the_comparison_after_it),
        cmocka_unit_test(test_contract_rules_compare_numbers_in_thousandths),
        cmocka_unit_test(test_contract_rules_match_texts_patterns_and_lists),
        cmocka_unit_test(test_contract_rules_report_errors_at_the_offending_token),
        cmocka_unit_test(test_contract_rules_refuse_an_expression_over_the_step_limit),
        cmocka_unit_test(test_contract_rules_refuse_too_many_ops_and_too_deep_nesting),
        cmocka_unit_test(test_contract_rules_evaluate_without_allocating),
        cmocka_unit_test(test_contract_rules_fail_cleanly_at_every_allocation),
        cmocka_unit_test(test_contract_rules_place_errors_in_the_yaml_source),
        cmocka_unit_test(test_contract_rules_load_errors_carry_file_line_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
