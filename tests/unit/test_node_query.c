/*
 * test_node_query.c - the intake's query verbs over a real state machine:
 * a genesis, the reference PPO, the fixture claims, corrections and
 * payment cycles applied as signed entries, then every verb asked and its
 * text checked; unknown ids and bad arguments answered with errors; each
 * payment's 835 balanced (BPR02 = sum of CLP04 - PLB), the same bytes on
 * every run, its corrections reported as reversals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "test_world.h"
#include "settle/ledger_query.h"
#include "settle/node_query.h"

static const node_query_options_t s_options = {.payer_tax_id = "591234567"};

/* Asks verb with up to three text arguments; returns the text (the
 * caller's, settle_free) or NULL with *code and error set. */
static char *s_ask(s_world_t *w, const char *verb, const char *a, const char *b, int *code,
                   settle_error_t *error)
{
    node_query_arg_t args[2] = {{(const uint8_t *)a, a ? strlen(a) : 0},
                                {(const uint8_t *)b, b ? strlen(b) : 0}};
    char *text = NULL;
    size_t size = 0;
    *code = node_query(w->fsm, &s_options, verb, args, b ? 2 : a ? 1 : 0, &text, &size, error);
    if (*code == SETTLE_OK)
        assert_int_equal(strlen(text), size);
    return text;
}

static char *s_ok(s_world_t *w, const char *verb, const char *a, const char *b)
{
    settle_error_t error;
    int code;
    char *text = s_ask(w, verb, a, b, &code, &error);
    if (code != SETTLE_OK)
        fail_msg("%s %s: %s", verb, a ? a : "", error.message);
    return text;
}

static void s_refused(s_world_t *w, const char *verb, const char *a, const char *b, int code,
                      const char *message)
{
    settle_error_t error;
    int rc;
    assert_null(s_ask(w, verb, a, b, &rc, &error));
    assert_int_equal(rc, code);
    assert_string_equal(error.message, message);
}

/* The payment the last cycle made to npi, or fails. */
static const char *s_payment_of(s_world_t *w, const char *npi, char *id, size_t id_size)
{
    for (uint32_t i = 0; i < w->results->payment_count; i++)
        if (strcmp(w->results->payments[i].npi, npi) == 0 && w->results->payments[i].paid) {
            snprintf(id, id_size, "%s", w->results->payments[i].payment_id);
            return id;
        }
    fail_msg("no payment to %s", npi);
    return NULL;
}

/* An X12 amount ("12.5", "-0.05", "100") in cents. */
static int64_t s_cents(const char *text)
{
    int negative = *text == '-';
    text += negative;
    int64_t cents = 0;
    int decimals = -1;
    for (; *text && *text != '*' && *text != '~'; text++) {
        if (*text == '.') {
            decimals = 0;
            continue;
        }
        cents = cents * 10 + (*text - '0');
        decimals += decimals >= 0;
    }
    for (int d = decimals < 0 ? 0 : decimals; d < 2; d++)
        cents *= 10;
    return negative ? -cents : cents;
}

/* Element n (1-based) of the segment starting at segment. */
static const char *s_element(const char *segment, int n)
{
    for (int i = 0; i < n; i++) {
        segment = strchr(segment, '*');
        assert_non_null(segment);
        segment++;
    }
    return segment;
}

/* Checks the 835 balances: BPR02 equals the CLP04s less the PLB amounts;
 * returns how many claims it reports as reversals (CLP02 22). */
static int s_assert_balanced_835(const char *text, int64_t expected_cents)
{
    assert_memory_equal(text, "ISA*", 4);
    int64_t payment = INT64_MIN, claims = 0, plb = 0;
    int reversals = 0;
    for (const char *segment = text; segment && *segment; segment = strchr(segment, '~')) {
        segment += *segment == '~';
        segment += *segment == '\n';
        if (strncmp(segment, "BPR*", 4) == 0)
            payment = s_cents(s_element(segment, 2));
        if (strncmp(segment, "CLP*", 4) == 0) {
            claims += s_cents(s_element(segment, 4));
            reversals += strncmp(s_element(segment, 2), "22*", 3) == 0;
        }
        if (strncmp(segment, "PLB*", 4) == 0)
            plb += s_cents(s_element(segment, 4));
    }
    assert_true(payment == expected_cents);
    assert_true(payment == claims - plb);
    return reversals;
}

static void s_paid_fixtures(s_world_t *w)
{
    s_world_ready(w);
    s_submit_fixtures(w);
    assert_true(s_fund(w, 10000000)->accepted);
    assert_true(s_pay(w)->accepted);
}

static void test_node_query_claim_answers_the_stored_claim_and_its_lines(void **state)
{
    s_world_t *w = *state;
    s_paid_fixtures(w);
    char payment[LEDGER_PAYMENT_ID_SIZE];
    s_payment_of(w, NPI_A, payment, sizeof payment);
    ledger_claim_t row;
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "OV-2026-0001", &row), SETTLE_OK);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "claim OV-2026-0001\npayer ACMEHP\nprovider " NPI_A "\nfrequency 1\nrelated -\n"
             "status %s\nbilled %lld\nallowed %lld\npaid %lld\npatient %lld\nnet %lld\n"
             "settlement paid\npayment %s\nvoided_by -\nindex %llu\ncontent_hash ",
             interp_status_name((interp_status_t)row.status), (long long)row.billed_cents,
             (long long)row.allowed_cents, (long long)row.paid_cents, (long long)row.patient_cents,
             (long long)row.net_cents, payment, (unsigned long long)row.entry_index);
    char *text = s_ok(w, "claim", "OV-2026-0001", NULL);
    assert_memory_equal(text, expected, strlen(expected));
    char sealed[128];
    snprintf(sealed, sizeof sealed, "\nreason -\nmember %s\nphi 53504849", /* "SPHI" */
             s_member_key("ACM100234501"));
    assert_non_null(strstr(text, sealed));
    assert_non_null(strstr(text, "\nline 1 99214 billed="));
    assert_null(strstr(text, "line 4 "));
    char *of_payer = s_ok(w, "claim", "OV-2026-0001", PAYER);
    assert_string_equal(text, of_payer);
    settle_free(text);
    settle_free(of_payer);
    s_refused(w, "claim", "NOPE-1", NULL, SETTLE_ERR_NOT_FOUND, "no claim NOPE-1");
    s_refused(w, "claim", "OV-2026-0001", "OTHER", SETTLE_ERR_NOT_FOUND,
              "no claim OV-2026-0001 of payer OTHER");
    s_refused(w, "claim", NULL, NULL, SETTLE_ERR_INVALID, "claim: expected CLAIM-ID [PAYER]");
    s_refused(w, "claim", "has space", NULL, SETTLE_ERR_INVALID,
              "claim: expected CLAIM-ID [PAYER] (argument 1: 1 to 127 printable characters)");
    s_refused(w, "head-of-state", "x", NULL, SETTLE_ERR_INVALID, "unknown verb \"head-of-state\"");
}

static void test_node_query_payment_participant_and_accumulators_answer_their_texts(void **state)
{
    s_world_t *w = *state;
    s_paid_fixtures(w);
    char id[LEDGER_PAYMENT_ID_SIZE], expected[512];
    s_payment_of(w, NPI_A, id, sizeof id);
    ledger_claim_t row;
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, "OV-2026-0001", &row), SETTLE_OK);
    snprintf(expected, sizeof expected,
             "payment %s\npayer ACMEHP\nprovider " NPI_A "\ntotal %lld\nclaims 1\nindex %llu\n"
             "claim OV-2026-0001 paid=%lld net=%lld\n",
             id, (long long)row.net_cents, (unsigned long long)w->results->entry_index,
             (long long)row.paid_cents, (long long)row.net_cents);
    char *text = s_ok(w, "payment", id, NULL);
    assert_string_equal(text, expected);
    settle_free(text);
    s_refused(w, "payment", "9-9-9", NULL, SETTLE_ERR_NOT_FOUND, "no payment 9-9-9");

    text = s_ok(w, "participant", "prov-a", NULL);
    const char *head =
        "participant prov-a\nrole provider\nname The prov-a\nnpi " NPI_A "\npublic_key ";
    assert_memory_equal(text, head, strlen(head));
    assert_non_null(strstr(text, "\nnext_sequence 0\nkey_entry 1\nrevoked_entry 0\n"));
    settle_free(text);
    s_refused(w, "participant", "nobody", NULL, SETTLE_ERR_NOT_FOUND, "no participant nobody");

    /* Members are known to the ledger by their member keys (phi.h). */
    char member[PHI_MEMBER_KEY_SIZE], line[128];
    snprintf(member, sizeof member, "%s", s_member_key("ACM100234501"));
    text = s_ok(w, "accumulators", PAYER, member);
    snprintf(line, sizeof line, "deductible_individual 2026 %s - ", member);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line, "deductible_family 2026 %s - ", s_member_key("ACM1002345"));
    assert_non_null(strstr(text, line));
    assert_null(strstr(text, s_member_key("ACM100877702"))); /* another member's */
    assert_null(strstr(text, "ACM100"));                     /* no member id in the clear */
    settle_free(text);
    s_refused(w, "accumulators", PAYER, "ACM999", SETTLE_ERR_NOT_FOUND,
              "no member ACM999 of payer ACMEHP");
}

/* The remittance of payment id in format, asked twice: the same bytes. */
static char *s_remit(s_world_t *w, const char *id, const char *format)
{
    char *text = s_ok(w, "remit", id, format);
    char *again = s_ok(w, "remit", id, format);
    assert_string_equal(text, again);
    settle_free(again);
    return text;
}

static int64_t s_payment_total(s_world_t *w, const char *id)
{
    ledger_payment_t payment;
    assert_int_equal(ledger_payment_get(fsm_ledger(w->fsm), id, &payment, NULL), SETTLE_OK);
    return payment.total_cents;
}

static void test_node_query_remit_is_a_balanced_835_the_same_on_every_run(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    s_submit_fixtures(w);
    s_claims_t corrections = {.count = 0};
    s_read_claims(&corrections, "fixtures/claims/corrections.jsonl");
    assert_true(s_batch(w, &corrections)->accepted);
    assert_true(s_fund(w, 10000000)->accepted);
    assert_true(s_pay(w)->accepted);
    char id[LEDGER_PAYMENT_ID_SIZE];
    /* The office visit and its replacement in one payment: the original,
     * its reversal, the replacement. */
    char *text = s_remit(w, s_payment_of(w, NPI_A, id, sizeof id), "x12");
    assert_int_equal(s_assert_balanced_835(text, s_payment_total(w, id)), 1);
    assert_non_null(strstr(text, "TRN*1*"));
    assert_non_null(strstr(text, id));
    assert_non_null(strstr(text, "CLP*OV-2026-0001*22*"));
    assert_non_null(strstr(text, "CLP*OV-2026-0001R*"));
    settle_free(text);
    /* Physical therapy and its void: a payment of nothing, told so. */
    text = s_remit(w, s_payment_of(w, NPI_B, id, sizeof id), "x12");
    assert_int_equal(s_assert_balanced_835(text, 0), 1);
    assert_non_null(strstr(text, "BPR*H*0*C*NON"));
    settle_free(text);
    /* An unregistered provider is paid under its NPI. */
    text = s_remit(w, s_payment_of(w, "1122334455", id, sizeof id), "x12");
    assert_int_equal(s_assert_balanced_835(text, s_payment_total(w, id)), 0);
    assert_non_null(strstr(text, "N1*PE*PROVIDER 1122334455*XX*1122334455"));
    settle_free(text);
    text = s_remit(w, id, "fhir");
    assert_non_null(strstr(text, "\"resourceType\": \"Bundle\""));
    settle_free(text);
    s_refused(w, "remit", id, "pdf", SETTLE_ERR_INVALID, "remit: expected x12 or fhir");
    s_refused(w, "remit", "9-9-9", "x12", SETTLE_ERR_NOT_FOUND, "no payment 9-9-9");
    s_refused(w, "remit", id, NULL, SETTLE_ERR_INVALID, "remit: expected PAYMENT-ID x12|fhir");
}

/* The emergency visit billed by provider A, so A is owed more than the
 * replacement takes back. */
static void s_er_for_a(claim_t *claim)
{
    CLAIM_SET_TEXT(claim->claim_id, "ER-A", 4);
    CLAIM_SET_TEXT(claim->billing_npi, NPI_A, 10);
}

static void test_node_query_remit_reverses_a_replaced_claim_paid_in_an_earlier_payment(void **state)
{
    s_world_t *w = *state;
    s_paid_fixtures(w);
    char first[LEDGER_PAYMENT_ID_SIZE], second[LEDGER_PAYMENT_ID_SIZE];
    s_payment_of(w, NPI_A, first, sizeof first);
    s_claims_t corrections = {.count = 0};
    s_read_claims(&corrections, "fixtures/claims/corrections.jsonl");
    assert_true(s_batch(w, &corrections)->accepted);
    s_submit_edited(w, s_er_for_a, "ER-A");
    assert_true(s_pay(w)->accepted);
    char *text = s_remit(w, s_payment_of(w, NPI_A, second, sizeof second), "x12");
    if (getenv("SETTLE_TEST_PRINT"))
        printf("%s\n", text);
    assert_int_equal(s_assert_balanced_835(text, s_payment_total(w, second)), 1);
    assert_non_null(strstr(text, "CLP*OV-2026-0001*22*"));
    settle_free(text);
    text = s_ok(w, "payment", second, NULL);
    assert_non_null(strstr(text, "claim OV-2026-0001R paid="));
    assert_non_null(strstr(text, "claim ER-A paid="));
    settle_free(text);
    text = s_ok(w, "claim", "OV-2026-0001", NULL);
    assert_non_null(strstr(text, "\nvoided_by OV-2026-0001R\n"));
    assert_non_null(strstr(text, first));
    settle_free(text);
}

static void test_node_query_remit_x12_needs_a_payer_tax_id(void **state)
{
    s_world_t *w = *state;
    s_paid_fixtures(w);
    char id[LEDGER_PAYMENT_ID_SIZE];
    s_payment_of(w, NPI_A, id, sizeof id);
    node_query_arg_t args[2] = {{(const uint8_t *)id, strlen(id)}, {(const uint8_t *)"x12", 3}};
    char *text = NULL;
    settle_error_t error;
    assert_int_equal(node_query(w->fsm, NULL, "remit", args, 2, &text, NULL, &error),
                     SETTLE_ERR_MISSING);
    assert_null(text);
    assert_non_null(strstr(error.message, "tax id"));
    args[1] = (node_query_arg_t){(const uint8_t *)"fhir", 4};
    assert_int_equal(node_query(w->fsm, NULL, "remit", args, 2, &text, NULL, &error), SETTLE_OK);
    settle_free(text);
}

static void test_node_query_message_takes_the_request_frames(void **state)
{
    s_world_t *w = *state;
    s_paid_fixtures(w);
    zmsg_t *args = zmsg_new();
    zmsg_addstr(args, "prov-b");
    char *text = NULL;
    size_t size = 0;
    settle_error_t error;
    assert_int_equal(
        node_query_message(w->fsm, &s_options, "participant", args, &text, &size, &error),
        SETTLE_OK);
    assert_memory_equal(text, "participant prov-b\n", 19);
    settle_free(text);
    zmsg_addstr(args, "x");
    assert_int_equal(
        node_query_message(w->fsm, &s_options, "participant", args, &text, &size, &error),
        SETTLE_ERR_INVALID);
    assert_string_equal(error.message, "participant: expected ID, or npi NPI");
    zmsg_destroy(&args);
    /* participant npi NPI: the provider billing under NPI. */
    args = zmsg_new();
    zmsg_addstr(args, "npi");
    zmsg_addstr(args, NPI_B);
    assert_int_equal(
        node_query_message(w->fsm, &s_options, "participant", args, &text, &size, &error),
        SETTLE_OK);
    assert_memory_equal(text, "participant prov-b\n", 19);
    settle_free(text);
    zmsg_destroy(&args);
    args = zmsg_new();
    zmsg_addstr(args, "npi");
    zmsg_addstr(args, "1111111111");
    assert_int_equal(
        node_query_message(w->fsm, &s_options, "participant", args, &text, &size, &error),
        SETTLE_ERR_NOT_FOUND);
    assert_string_equal(error.message, "no participant with NPI 1111111111");
    zmsg_destroy(&args);
    assert_true(node_query_knows("remit"));
    assert_false(node_query_knows("submit"));
}

/* Asks as viewer (role, npi) what verb a b answers: 0 when it was read,
 * the error code otherwise, its message in message. */
static int s_read_as(s_world_t *w, const char *viewer, uint8_t role, const char *npi,
                     const char *verb, const char *a, const char *b, char *message, size_t size)
{
    node_query_options_t options = s_options;
    snprintf(options.viewer, sizeof options.viewer, "%s", viewer);
    options.viewer_role = role;
    snprintf(options.viewer_npi, sizeof options.viewer_npi, "%s", npi);
    node_query_arg_t args[2] = {{(const uint8_t *)a, strlen(a)},
                                {(const uint8_t *)b, b ? strlen(b) : 0}};
    char *text = NULL;
    size_t text_size = 0;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = node_query(w->fsm, &options, verb, args, b ? 2 : 1, &text, &text_size, &error);
    snprintf(message, size, "%s", rc == SETTLE_OK ? "" : error.message);
    if (rc == SETTLE_OK)
        assert_true(text_size > 0);
    settle_free(text);
    return rc;
}

/* Issue 7's table: a payer reads its own, a provider what it bills, an
 * auditor everything; what one may not read is answered as absent. */
static void test_node_query_answers_each_asker_only_what_its_role_may_read(void **state)
{
    s_world_t *w = *state;
    s_paid_fixtures(w);
    char a[LEDGER_PAYMENT_ID_SIZE], b[LEDGER_PAYMENT_ID_SIZE], why[256], expected[256];
    s_payment_of(w, NPI_A, a, sizeof a);
    s_payment_of(w, NPI_B, b, sizeof b);
    char member[PHI_MEMBER_KEY_SIZE];
    snprintf(member, sizeof member, "%s", s_member_key("ACM100234501"));
    const struct {
        const char *viewer;
        uint8_t role;
        const char *npi;
        bool claim_a, payment_a, payment_b, accumulators;
    } askers[] = {
        {PAYER, COMMAND_ROLE_PAYER, "", true, true, true, true},
        {"OTHERHP", COMMAND_ROLE_PAYER, "", false, false, false, false},
        {"prov-a", COMMAND_ROLE_PROVIDER, NPI_A, true, true, false, false},
        {"prov-b", COMMAND_ROLE_PROVIDER, NPI_B, false, false, true, false},
        {"auditor", COMMAND_ROLE_AUDITOR, "", true, true, true, true},
        {"node-1", COMMAND_ROLE_NODE, "", true, true, true, true},
    };
    for (size_t i = 0; i < sizeof askers / sizeof askers[0]; i++) {
        const char *v = askers[i].viewer, *npi = askers[i].npi;
        uint8_t role = askers[i].role;
        int rc = s_read_as(w, v, role, npi, "claim", "OV-2026-0001", NULL, why, sizeof why);
        assert_int_equal(rc, askers[i].claim_a ? SETTLE_OK : SETTLE_ERR_NOT_FOUND);
        if (!askers[i].claim_a)
            assert_string_equal(why, "no claim OV-2026-0001");
        rc = s_read_as(w, v, role, npi, "payment", a, NULL, why, sizeof why);
        assert_int_equal(rc, askers[i].payment_a ? SETTLE_OK : SETTLE_ERR_NOT_FOUND);
        snprintf(expected, sizeof expected, "no payment %s", a);
        if (!askers[i].payment_a)
            assert_string_equal(why, expected);
        rc = s_read_as(w, v, role, npi, "remit", a, "fhir", why, sizeof why);
        assert_int_equal(rc, askers[i].payment_a ? SETTLE_OK : SETTLE_ERR_NOT_FOUND);
        rc = s_read_as(w, v, role, npi, "payment", b, NULL, why, sizeof why);
        assert_int_equal(rc, askers[i].payment_b ? SETTLE_OK : SETTLE_ERR_NOT_FOUND);
        rc = s_read_as(w, v, role, npi, "accumulators", PAYER, member, why, sizeof why);
        assert_int_equal(rc, askers[i].accumulators ? SETTLE_OK : SETTLE_ERR_NOT_FOUND);
        snprintf(expected, sizeof expected, "no member %s of payer ACMEHP", member);
        if (!askers[i].accumulators)
            assert_string_equal(why, expected);
        assert_int_equal(s_read_as(w, v, role, npi, "participant", "prov-a", NULL, why, sizeof why),
                         SETTLE_OK);
    }
    /* A provider registered without an NPI reads no provider's claims. */
    assert_int_equal(s_read_as(w, "prov-x", COMMAND_ROLE_PROVIDER, "", "claim", "OV-2026-0001",
                               NULL, why, sizeof why),
                     SETTLE_ERR_NOT_FOUND);
}

#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_world_setup, s_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TEST(test_node_query_claim_answers_the_stored_claim_and_its_lines),
        S_TEST(test_node_query_payment_participant_and_accumulators_answer_their_texts),
        S_TEST(test_node_query_remit_is_a_balanced_835_the_same_on_every_run),
        S_TEST(test_node_query_remit_reverses_a_replaced_claim_paid_in_an_earlier_payment),
        S_TEST(test_node_query_remit_x12_needs_a_payer_tax_id),
        S_TEST(test_node_query_message_takes_the_request_frames),
        S_TEST(test_node_query_answers_each_asker_only_what_its_role_may_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
