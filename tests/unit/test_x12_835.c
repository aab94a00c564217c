/*
 * test_x12_835.c - the remittance and its X12 835: exact bytes for a small
 * remittance, each balancing rule refusing, CAS split past six triples,
 * reversals, bad values, and every allocation failing in turn.
 *
 * Decisions are filled by hand, as the interpreter would have made them,
 * so these tests depend on the writer alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"
#include "settle/remit.h"

#define TEXT(field, text) CLAIM_SET_TEXT((field), (text), strlen(text))

static int32_t s_day(int year, int month, int day)
{
    int32_t days = 0;
    assert_int_equal(date_from_ymd(year, month, day, &days), SETTLE_OK);
    return days;
}

/* A claim line and its decision line, charge - adjustments = paid by construction. */
typedef struct {
    const char *code;
    const char *modifier;
    int64_t units_milli;
    int64_t units_milli_paid;
    int64_t charge_cents;
    int64_t allowed_cents;
    int64_t deductible_cents;
    int64_t coinsurance_cents;
    const char *adjustments[INTERP_ADJUSTMENTS_MAX][2]; /* group, reason */
    int64_t amounts[INTERP_ADJUSTMENTS_MAX];
    unsigned adjustment_count;
    int day;
} line_spec_t;

/* Adds one claim of lines to remit; returns its entry. */
static remit_claim_t *s_add_claim(remit_t *remit, const char *claim_id, const char *member,
                                  const char *pcn, interp_status_t status, const line_spec_t *specs,
                                  unsigned count)
{
    claim_t *claim = claim_new();
    interp_decision_t decision = {.status = status};
    interp_line_t lines[4];
    memset(lines, 0, sizeof lines);
    decision.lines = lines;
    assert_non_null(claim);
    TEXT(claim->claim_id, claim_id);
    TEXT(decision.claim_id, claim_id);
    TEXT(claim->member_id, member);
    TEXT(claim->place_of_service, "11");
    decision.frequency = claim->frequency;
    decision.line_count = count;
    for (unsigned i = 0; i < count; i++) {
        const line_spec_t *spec = &specs[i];
        claim_line_t *in;
        interp_line_t *out = &lines[i];
        assert_int_equal(claim_add_line(claim, &in), SETTLE_OK);
        TEXT(in->procedure_code, spec->code);
        if (spec->modifier)
            TEXT(in->modifiers[0], spec->modifier);
        in->units_milli = spec->units_milli;
        in->charge_cents = spec->charge_cents;
        in->service_from = in->service_to = s_day(2026, 2, spec->day);
        out->line = i + 1;
        TEXT(out->code, spec->code);
        out->units_milli = spec->units_milli;
        out->units_milli_paid = spec->units_milli_paid;
        out->billed_cents = spec->charge_cents;
        out->allowed_cents = spec->allowed_cents;
        out->deductible_cents = spec->deductible_cents;
        out->coinsurance_cents = spec->coinsurance_cents;
        out->patient_cents = spec->deductible_cents + spec->coinsurance_cents;
        out->paid_cents = spec->charge_cents;
        out->adjustment_count = spec->adjustment_count;
        for (unsigned a = 0; a < spec->adjustment_count; a++) {
            TEXT(out->adjustments[a].group, spec->adjustments[a][0]);
            TEXT(out->adjustments[a].reason, spec->adjustments[a][1]);
            out->adjustments[a].amount_cents = spec->amounts[a];
            out->paid_cents -= spec->amounts[a];
        }
        out->denied_in_full = out->paid_cents == 0;
        decision.billed_cents += out->billed_cents;
        decision.allowed_cents += out->allowed_cents;
        decision.paid_cents += out->paid_cents;
        decision.patient_cents += out->patient_cents;
    }
    claim->total_charge_cents = decision.billed_cents;
    remit_claim_t *entry = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(remit_add_claim(remit, claim, &decision, pcn, &entry, &error), SETTLE_OK);
    claim_destroy(&claim);
    return entry;
}

static const line_spec_t PAID_LINE = {.code = "99213",
                                      .modifier = "25",
                                      .units_milli = 1000,
                                      .units_milli_paid = 1000,
                                      .charge_cents = 15000,
                                      .allowed_cents = 10000,
                                      .adjustments = {{"CO", "45"}},
                                      .amounts = {5000},
                                      .adjustment_count = 1,
                                      .day = 10};

static const line_spec_t PARTLY_DENIED_LINE = {
    .code = "97110",
    .units_milli = 2000,
    .units_milli_paid = 2000,
    .charge_cents = 20000,
    .allowed_cents = 12000,
    .deductible_cents = 2000,
    .coinsurance_cents = 2000,
    .adjustments = {{"CO", "45"}, {"PR", "1"}, {"PR", "2"}},
    .amounts = {8000, 2000, 2000},
    .adjustment_count = 3,
    .day = 10};

static const line_spec_t DENIED_LINE = {.code = "99214",
                                        .units_milli = 1000,
                                        .units_milli_paid = 0,
                                        .charge_cents = 9000,
                                        .allowed_cents = 0,
                                        .adjustments = {{"CO", "50"}},
                                        .amounts = {9000},
                                        .adjustment_count = 1,
                                        .day = 11};

/* The small remittance: a paid and a partly denied line, a denied claim, a PLB. */
static remit_t *s_small_remit(void)
{
    remit_t *remit = remit_new();
    assert_non_null(remit);
    TEXT(remit->payer_id, "ACMEHP");
    TEXT(remit->payer_name, "ACME HEALTH PLAN");
    TEXT(remit->payer_tax_id, "123456789");
    TEXT(remit->payee_name, "DOWNTOWN CLINIC");
    TEXT(remit->payee_npi, "1234567893");
    TEXT(remit->payee_tax_id, "987654321");
    TEXT(remit->trace_number, "CHK10001");
    remit->method = REMIT_METHOD_CHECK;
    remit->payment_date = s_day(2026, 3, 5);
    remit->production_date = s_day(2026, 3, 2);
    line_spec_t first[2] = {PAID_LINE, PARTLY_DENIED_LINE};
    remit_claim_t *entry =
        s_add_claim(remit, "C100", "M100", "PCN100", INTERP_STATUS_PARTIAL, first, 2);
    TEXT(entry->patient_last_name, "DOE");
    TEXT(entry->patient_first_name, "JANE");
    entry = s_add_claim(remit, "C200", "M200", "PCN200", INTERP_STATUS_DENIED, &DENIED_LINE, 1);
    TEXT(entry->patient_last_name, "ROE");
    TEXT(entry->patient_first_name, "RICHARD");
    assert_int_equal(remit_add_plb(remit, "WO", "OVERPAY123", 3000), SETTLE_OK);
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    return remit;
}

static const x12_835_envelope_t ENVELOPE = {.sender_id = "SETTLEPAYER",
                                            .receiver_id = "PROVIDER1",
                                            .interchange_control_number = 101,
                                            .group_control_number = 201,
                                            .transaction_control_number = 301,
                                            .time_hhmm = 1200,
                                            .newlines = true};

static x12_835_envelope_t s_envelope(void)
{
    x12_835_envelope_t envelope = ENVELOPE;
    envelope.date = s_day(2026, 3, 2);
    return envelope;
}

/* Writes remit; returns the code, the text (or NULL) in *text, the message in message. */
static int s_write(const remit_t *remit, char **text, char *message, size_t size)
{
    x12_835_envelope_t envelope = s_envelope();
    settle_error_t error;
    settle_error_clear(&error);
    *text = NULL;
    int rc = x12_835_write(remit, &envelope, text, NULL, &error);
    if (message)
        settle_error_format(&error, message, size);
    return rc;
}

static void test_835_amounts_drop_trailing_zeros(void **state)
{
    char text[MONEY_TEXT_SIZE];
    const struct {
        int64_t cents;
        const char *text;
    } cases[] = {
        {10000, "100"}, {1250, "12.5"}, {0, "0"},        {-5, "-0.05"},
        {1, "0.01"},    {-1000, "-10"}, {1234, "12.34"}, {INT64_MIN, "-92233720368547758.08"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(x12_format_amount(cases[i].cents, text, sizeof text), SETTLE_OK);
        assert_string_equal(text, cases[i].text);
    }
    assert_int_equal(x12_format_amount(1250, text, 4), SETTLE_ERR_TOO_LONG);
}

static const char SMALL_835[] =
    "ISA*00*          *00*          *ZZ*SETTLEPAYER    *ZZ*PROVIDER1      *260302*1200*^*00501*"
    "000000101*0*P*:~\n"
    "GS*HP*SETTLEPAYER*PROVIDER1*20260302*1200*201*X*005010X221A1~\n"
    "ST*835*0301~\n"
    "BPR*C*150*C*CHK************20260305~\n"
    "TRN*1*CHK10001*1123456789~\n"
    "DTM*405*20260302~\n"
    "N1*PR*ACME HEALTH PLAN~\n"
    "REF*2U*ACMEHP~\n"
    "N1*PE*DOWNTOWN CLINIC*XX*1234567893~\n"
    "REF*TJ*987654321~\n"
    "LX*1~\n"
    "CLP*C100*1*350*180*40*CI*PCN100*11*1~\n"
    "NM1*QC*1*DOE*JANE****MI*M100~\n"
    "SVC*HC:99213:25*150*100**1~\n"
    "DTM*472*20260210~\n"
    "CAS*CO*45*50~\n"
    "AMT*B6*100~\n"
    "SVC*HC:97110*200*80**2~\n"
    "DTM*472*20260210~\n"
    "CAS*CO*45*80~\n"
    "CAS*PR*1*20**2*20~\n"
    "AMT*B6*120~\n"
    "CLP*C200*4*90*0**CI*PCN200*11*1~\n"
    "NM1*QC*1*ROE*RICHARD****MI*M200~\n"
    "SVC*HC:99214*90*0**0**1~\n"
    "DTM*472*20260211~\n"
    "CAS*CO*50*90~\n"
    "AMT*B6*0~\n"
    "PLB*1234567893*20261231*WO:OVERPAY123*30~\n"
    "SE*28*0301~\n"
    "GE*1*201~\n"
    "IEA*1*000000101~\n";

static void test_835_writes_the_small_remittance_byte_for_byte(void **state)
{
    remit_t *remit = s_small_remit();
    assert_int_equal(remit->payment_cents, 15000);
    char *text;
    char message[512];
    assert_int_equal(s_write(remit, &text, message, sizeof message), SETTLE_OK);
    assert_string_equal(text, SMALL_835);
    settle_free(text);

    /* Without newlines the segments follow each other directly. */
    x12_835_envelope_t envelope = s_envelope();
    envelope.newlines = false;
    size_t length = 0;
    assert_int_equal(x12_835_write(remit, &envelope, &text, &length, NULL), SETTLE_OK);
    assert_int_equal(length, strlen(SMALL_835) - 32); /* 32 segments, 32 newlines */
    assert_memory_equal(text, "ISA*00*", 7);
    assert_null(strchr(text, '\n'));
    settle_free(text);
    remit_destroy(&remit);
    remit_destroy(&remit); /* safe twice */
}

/* A refused write returns the code, leaves *text NULL, and says why. */
static void s_assert_refused(remit_t *remit, const char *expected_message)
{
    char *text;
    char message[512];
    assert_int_equal(s_write(remit, &text, message, sizeof message), SETTLE_ERR_RANGE);
    assert_null(text);
    if (!strstr(message, expected_message))
        fail_msg("message \"%s\" does not contain \"%s\"", message, expected_message);
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(remit_check_balance(remit, &error), SETTLE_ERR_RANGE);
}

static void test_835_refuses_a_line_whose_adjustments_do_not_add_up(void **state)
{
    remit_t *remit = s_small_remit();
    remit->claims[0].decision.lines[1].paid_cents += 500; /* and so must the claim */
    remit->claims[0].decision.paid_cents += 500;
    remit->payment_cents += 500;
    s_assert_refused(remit, "claim C100 (1 of 2), line 2: charge - adjustments = 80.00 but "
                            "paid = 85.00");
    remit_destroy(&remit);
}

static void
test_835_refuses_a_claim_whose_paid_differs_from_its_charge_less_adjustments(void **state)
{
    remit_t *remit = s_small_remit();
    remit->claims[1].charge_cents = 9500; /* CLP03 says 95, the line says 90 */
    s_assert_refused(remit, "claim C200 (2 of 2): charge - adjustments = 5.00 but paid = 0.00");
    remit_destroy(&remit);
}

static void test_835_refuses_a_claim_adjustment_that_the_paid_amount_ignores(void **state)
{
    remit_t *remit = s_small_remit();
    remit_claim_t *entry = &remit->claims[0];
    /* A claim-level adjustment with the charge raised to match: the charge
     * rule holds, but the lines pay 180 and the claim still says 180. */
    assert_int_equal(remit_claim_add_adjustment(entry, "OA", "23", 1000), SETTLE_OK);
    entry->charge_cents += 1000;
    s_assert_refused(remit, "claim C100 (1 of 2): line paid - claim adjustments = 170.00 but "
                            "paid = 180.00");
    remit_destroy(&remit);
}

static void test_835_refuses_a_payment_that_is_not_claims_less_plb(void **state)
{
    remit_t *remit = s_small_remit();
    remit->payment_cents = 18000; /* forgot the PLB */
    s_assert_refused(remit, "payment: claims paid - provider adjustments = 150.00 but payment "
                            "total = 180.00");
    remit_destroy(&remit);
}

static void test_835_balances_a_claim_level_adjustment(void **state)
{
    remit_t *remit = s_small_remit();
    remit_claim_t *entry = &remit->claims[0];
    assert_int_equal(remit_claim_add_adjustment(entry, "OA", "23", 1000), SETTLE_OK);
    entry->decision.paid_cents -= 1000; /* 350 - 170 - 10 = 180 - 10 = 170 */
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    char *text;
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_OK);
    assert_non_null(strstr(text, "CLP*C100*1*350*170*40*CI*PCN100*11*1~\nCAS*OA*23*10~\n"
                                 "NM1*QC*1*DOE*JANE****MI*M100~\n"));
    assert_non_null(strstr(text, "BPR*C*140*C*CHK"));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_835_splits_cas_past_six_triples(void **state)
{
    remit_t *remit = s_small_remit();
    interp_line_t *line = &remit->claims[0].decision.lines[0];
    /* Line 1 (charge 150): eight CO reasons of 1.00..8.00 and one PR. */
    static const char *const reasons[] = {"45", "97", "16", "18", "23", "59", "94", "B7"};
    line->adjustment_count = 8;
    int64_t adjusted = 0;
    for (unsigned i = 0; i < 8; i++) {
        TEXT(line->adjustments[i].group, i == 3 ? "PR" : "CO");
        TEXT(line->adjustments[i].reason, reasons[i]);
        line->adjustments[i].amount_cents = (int64_t)(i + 1) * 100;
        adjusted += (int64_t)(i + 1) * 100;
    }
    int64_t was = line->paid_cents;
    line->paid_cents = line->billed_cents - adjusted;
    remit->claims[0].decision.paid_cents += line->paid_cents - was;
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    char *text;
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_OK);
    assert_non_null(strstr(text, "SVC*HC:99213:25*150*114**1~\nDTM*472*20260210~\n"
                                 "CAS*CO*45*1**97*2**16*3**23*5**59*6**94*7~\n"
                                 "CAS*CO*B7*8~\n"
                                 "CAS*PR*18*4~\n"
                                 "AMT*B6*100~\n"));
    assert_non_null(strstr(text, "CLP*C100*1*350*194*44*CI*PCN100*11*1~\n"));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_835_writes_a_void_as_a_reversal_with_negative_amounts(void **state)
{
    remit_t *remit = s_small_remit();
    line_spec_t reversed = PAID_LINE;
    reversed.charge_cents = -15000;
    reversed.allowed_cents = -10000;
    reversed.amounts[0] = -5000;
    remit_claim_t *entry =
        s_add_claim(remit, "C050", "M100", "PCN050", INTERP_STATUS_PAID, &reversed, 1);
    entry->frequency = CLAIM_FREQUENCY_VOID;
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    assert_int_equal(remit->payment_cents, 5000);
    char *text;
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_OK);
    assert_non_null(strstr(text, "CLP*C050*22*-150*-100**CI*PCN050*11*8~\n"
                                 "NM1*QC*1******MI*M100~\n"
                                 "SVC*HC:99213:25*-150*-100**1~\n"
                                 "DTM*472*20260210~\n"
                                 "CAS*CO*45*-50~\n"
                                 "AMT*B6*-100~\n"));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_835_refuses_a_negative_payment_and_bad_values(void **state)
{
    remit_t *remit = s_small_remit();
    char *text;
    char message[512];
    assert_int_equal(remit_add_plb(remit, "WO", "BIG", 20000), SETTLE_OK);
    assert_int_equal(remit_payment_due(remit, &remit->payment_cents), SETTLE_OK);
    assert_int_equal(s_write(remit, &text, message, sizeof message), SETTLE_ERR_RANGE);
    assert_null(text);
    assert_non_null(strstr(message, "BPR02 cannot be negative"));
    remit_destroy(&remit);

    remit = s_small_remit();
    TEXT(remit->payee_name, "SMITH*JONES");
    assert_int_equal(s_write(remit, &text, message, sizeof message), SETTLE_ERR_INVALID);
    assert_null(text);
    assert_non_null(strstr(message, "payee_name"));
    TEXT(remit->payee_name, "");
    assert_int_equal(s_write(remit, &text, message, sizeof message), SETTLE_ERR_MISSING);
    TEXT(remit->payee_name, "DOWNTOWN CLINIC");
    remit->payment_date = DATE_NONE;
    assert_int_equal(s_write(remit, &text, message, sizeof message), SETTLE_ERR_RANGE);
    assert_non_null(strstr(message, "payment_date"));
    remit_destroy(&remit);
}

static void test_835_writes_ach_payments_with_both_banks(void **state)
{
    remit_t *remit = s_small_remit();
    remit->method = REMIT_METHOD_ACH;
    char *text;
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_ERR_MISSING);
    TEXT(remit->payer_bank_id, "011000015");
    TEXT(remit->payer_account, "55501");
    TEXT(remit->payee_bank_id, "021000021");
    TEXT(remit->payee_account, "77702");
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_OK);
    assert_non_null(strstr(text, "\nBPR*C*150*C*ACH*CCP*01*011000015*DA*55501*1123456789**01*"
                                 "021000021*DA*77702*20260305~\n"));
    settle_free(text);
    remit_destroy(&remit);
}

static void test_835_rejects_a_decision_that_does_not_answer_the_claim(void **state)
{
    remit_t *remit = remit_new();
    claim_t *claim = claim_new();
    claim_line_t *line;
    TEXT(claim->claim_id, "C1");
    assert_int_equal(claim_add_line(claim, &line), SETTLE_OK);
    interp_line_t lines[1] = {{.line = 1}};
    interp_decision_t decision = {.line_count = 1, .lines = lines};
    TEXT(decision.claim_id, "C2");
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(remit_add_claim(remit, claim, &decision, "", NULL, &error),
                     SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "claim C1"));
    TEXT(decision.claim_id, "C1");
    decision.line_count = 0;
    assert_int_equal(remit_add_claim(remit, claim, &decision, "", NULL, NULL), SETTLE_ERR_INVALID);
    assert_int_equal(remit->claim_count, 0);
    assert_int_equal(remit_add_plb(remit, "WOX", "", 1), SETTLE_ERR_TOO_LONG);
    claim_destroy(&claim);
    remit_destroy(&remit);
}

static void test_835_reports_every_allocation_failure_and_leaks_nothing(void **state)
{
    long live = settle_alloc_live();
    long before = settle_alloc_attempts();
    remit_t *remit = s_small_remit();
    char *text;
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_OK);
    settle_free(text);
    remit_destroy(&remit);
    long count = settle_alloc_attempts() - before;
    assert_true(count > 3);
    /* The remittance's own allocations are walked by building it under the
     * rig; every write allocation after it is walked too. */
    remit = s_small_remit();
    before = settle_alloc_attempts();
    assert_int_equal(s_write(remit, &text, NULL, 0), SETTLE_OK);
    settle_free(text);
    long write_count = settle_alloc_attempts() - before;
    for (long i = 0; i < write_count; i++) {
        char message[256];
        settle_alloc_fail_after(i);
        int rc = s_write(remit, &text, message, sizeof message);
        settle_alloc_fail_after(-1);
        assert_int_equal(rc, SETTLE_ERR_NOMEM);
        assert_null(text);
        assert_non_null(strstr(message, "out of memory"));
    }
    remit_destroy(&remit);
    assert_int_equal(settle_alloc_live(), live);

    /* remit_add_claim and remit_add_plb leave the remittance as it was. */
    remit = remit_new();
    claim_t *claim = claim_new();
    claim_line_t *line;
    TEXT(claim->claim_id, "C1");
    assert_int_equal(claim_add_line(claim, &line), SETTLE_OK);
    interp_line_t lines[1] = {{.line = 1}};
    interp_decision_t decision = {.line_count = 1, .lines = lines};
    TEXT(decision.claim_id, "C1");
    long failures = 0;
    for (long i = 0; i < 10; i++) {
        settle_alloc_fail_after(i);
        int rc = remit_add_claim(remit, claim, &decision, "X", NULL, NULL);
        settle_alloc_fail_after(-1);
        if (rc == SETTLE_OK)
            break;
        assert_int_equal(rc, SETTLE_ERR_NOMEM);
        assert_int_equal(remit->claim_count, 0);
        failures++;
    }
    assert_int_equal(remit->claim_count, 1);
    assert_true(failures >= 2);
    settle_alloc_fail_after(0);
    assert_int_equal(remit_add_plb(remit, "WO", "", 1), SETTLE_ERR_NOMEM);
    settle_alloc_fail_after(-1);
    assert_int_equal(remit->plb_count, 0);
    claim_destroy(&claim);
    remit_destroy(&remit);
    assert_int_equal(settle_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_835_amounts_drop_trailing_zeros),
        cmocka_unit_test(test_835_writes_the_small_remittance_byte_for_byte),
        cmocka_unit_test(test_835_refuses_a_line_whose_adjustments_do_not_add_up),
        cmocka_unit_test(
            test_835_refuses_a_claim_whose_paid_differs_from_its_charge_less_adjustments),
        cmocka_unit_test(test_835_refuses_a_claim_adjustment_that_the_paid_amount_ignores),
        cmocka_unit_test(test_835_refuses_a_payment_that_is_not_claims_less_plb),
        cmocka_unit_test(test_835_balances_a_claim_level_adjustment),
        cmocka_unit_test(test_835_splits_cas_past_six_triples),
        cmocka_unit_test(test_835_writes_a_void_as_a_reversal_with_negative_amounts),
        cmocka_unit_test(test_835_refuses_a_negative_payment_and_bad_values),
        cmocka_unit_test(test_835_writes_ach_payments_with_both_banks),
        cmocka_unit_test(test_835_rejects_a_decision_that_does_not_answer_the_claim),
        cmocka_unit_test(test_835_reports_every_allocation_failure_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
