/*
 * fuzz_contract_rules.c - the custom-rule expression compiler and
 * evaluator on arbitrary text.
 *
 * The input is one expression.  Compiling it either succeeds, within the
 * op and step limits, or fails with a message and an offset inside the
 * text, leaving the program as it was.  A compiled expression is then
 * evaluated against a few fixed lines: it must finish within its own
 * worst-case step count, give the same answer twice, and allocate nothing.
 * A second pass wraps the text in a contract, so the loader's mapping of
 * the error offset to a line and column runs on every input too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../contracts/contract_rules.h"
#include "settle/alloc.h"
#include "settle/contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Three lines that between them reach every field. */
static void s_inputs(claim_t *claim, claim_line_t lines[3], contract_rule_input_t inputs[3])
{
    memset(claim, 0, sizeof *claim);
    memset(lines, 0, 3 * sizeof *lines);
    memcpy(claim->place_of_service, "11", 3);
    claim->diagnosis_count = CLAIM_DIAGNOSES_MAX;
    for (int i = 0; i < CLAIM_DIAGNOSES_MAX; i++)
        snprintf(claim->diagnoses[i], CLAIM_DIAGNOSIS_SIZE, "M54%d", i);
    static const char *codes[3] = {"99213", "97110", ""};
    for (int i = 0; i < 3; i++) {
        memcpy(lines[i].procedure_code, codes[i], strlen(codes[i]) + 1);
        lines[i].units_milli = 1000 * (i + 1) + 500 * i;
        lines[i].charge_cents = i == 2 ? INT64_MAX : 15000 * (i + 1);
        inputs[i] = (contract_rule_input_t){.claim = claim, .line = &lines[i],
                                            .sex = "FMU"[i], .age_years = 17 * i - 1};
    }
    memcpy(lines[0].modifiers[0], "25", 3);
    memcpy(lines[0].modifiers[1], "59", 3);
    memcpy(lines[2].revenue_code, "0450", 5);
    lines[1].diagnosis_pointers[0] = 3;
    lines[1].diagnosis_pointers[1] = 30; /* out of range: skipped */
}

static void s_compile_and_run(const char *text, size_t size)
{
    static claim_t claim;
    static claim_line_t lines[3];
    contract_rule_input_t inputs[3];
    s_inputs(&claim, lines, inputs);
    contract_rule_program_t program = {0};
    contract_rule_expr_t expr;
    contract_rule_problem_t problem;
    int rc = contract_rule_compile(&program, text, size, &expr, &problem);
    if (rc != SETTLE_OK) {
        if (program.ops_count || program.patterns_count || !problem.message[0] ||
            problem.offset > size)
            abort();
        contract_rule_program_free(&program);
        return;
    }
    if (expr.count == 0 || expr.count > CONTRACT_RULE_OPS_MAX ||
        expr.steps_max > CONTRACT_RULE_STEPS_MAX)
        abort();
    long attempts = settle_alloc_attempts();
    for (int i = 0; i < 3; i++) {
        bool first, second;
        if (contract_rule_eval(&program, &expr, &inputs[i], &first) != SETTLE_OK ||
            contract_rule_eval(&program, &expr, &inputs[i], &second) != SETTLE_OK ||
            first != second)
            abort();
    }
    if (settle_alloc_attempts() != attempts)
        abort();
    contract_rule_program_free(&program);
}

/* The same text as a rule in a contract, quoted every YAML way. */
static void s_load_as_contract(const char *text, size_t size)
{
    static const char head[] = "contract: F\nversion: \"1\"\npayer: P\n"
                               "effective: {from: 2026-01-01}\n"
                               "network: {in: {coinsurance: \"20%\"}}\n"
                               "benefits: [{name: all, codes: [\"*\"]}]\n"
                               "rules:\n  - then: {deny: \"50\"}\n    when: ";
    static char yaml[sizeof head + 4096];
    if (size > 4000)
        return;
    memcpy(yaml, head, sizeof head - 1);
    memcpy(yaml + sizeof head - 1, text, size);
    size_t length = sizeof head - 1 + size;
    contract_t *contract = NULL;
    settle_error_t error;
    int rc = contract_load_text(yaml, length, "fuzz.yaml", &contract, &error, NULL, NULL);
    if (rc == SETTLE_OK && !contract)
        abort();
    if (rc != SETTLE_OK && (contract || !error.message[0] || error.line == 0))
        abort();
    contract_destroy(&contract);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = settle_alloc_live();
    s_compile_and_run((const char *)data, size);
    s_load_as_contract((const char *)data, size);
    if (settle_alloc_live() != live)
        abort();
    return 0;
}
