/*
 * test_x12_ack.c - acknowledgments of an 837 file: the 999, the 277CA and
 * the JSON form, compared byte for byte, on settle's own fixture and on
 * small interchanges built here to hit one rule each (a bad element, a bad
 * transaction trailer, a bad group trailer), plus the stamp checks, the
 * forwarding of claims and problems, and allocation failure.
 *
 * Fixtures are found from this file's own path (CMake compiles it by its
 * absolute path): REPO/tests/unit/test_x12_ack.c -> REPO/fixtures/x12/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/x12_ack.h"

static const x12_ack_stamp_t s_stamp = {7, "20260301", "0930"};

static char *s_load(const char *name, size_t *length_out)
{
    return test_fixture_load("x12", name, length_out);
}

static x12_ack_t *s_ack_of_text(const char *text, size_t length)
{
    x12_ack_t *ack = x12_ack_new("in.837");
    assert_non_null(ack);
    assert_int_equal(x12_ack_read_837(ack, text, length, NULL, NULL, false, NULL), SETTLE_OK);
    return ack;
}

static x12_ack_t *s_ack_of_fixture(const char *name)
{
    size_t length;
    char *text = s_load(name, &length);
    x12_ack_t *ack = s_ack_of_text(text, length);
    free(text);
    return ack;
}

typedef int (*s_writer_t)(const x12_ack_t *, const x12_ack_stamp_t *, char **, size_t *);

static void s_assert_written(s_writer_t writer, const x12_ack_t *ack, const char *expected)
{
    char *text = NULL;
    size_t length = 0;
    assert_int_equal(writer(ack, &s_stamp, &text, &length), SETTLE_OK);
    if (strcmp(text, expected) != 0)
        fail_msg("got:\n%s\nexpected:\n%s", text, expected);
    assert_int_equal(length, strlen(expected));
    settle_free(text);
}

static void s_assert_json(const x12_ack_t *ack, const char *expected)
{
    char *text = NULL;
    size_t length = 0;
    assert_int_equal(x12_ack_write_json(ack, &text, &length), SETTLE_OK);
    if (strcmp(text, expected) != 0)
        fail_msg("got:\n%s\nexpected:\n%s", text, expected);
    assert_int_equal(length, strlen(expected));
    settle_free(text);
}

/* ------------------------------------------------------------------------
 * settle_837p_three_claims.txt: PCN001 and PCN003 good, PCN002 CLM02 bad
 * ------------------------------------------------------------------------ */

#define ISA_BACK                                                                                   \
    "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SUBMITTER      *260301*0930*^*00501*"   \
    "000000007*0*T*:~\n"

static void test_x12_ack_999_accepts_with_errors_and_names_the_bad_element(void **state)
{
    (void)state;
    x12_ack_t *ack = s_ack_of_fixture("settle_837p_three_claims.txt");
    s_assert_written(x12_ack_write_999, ack,
                     ISA_BACK "GS*FA*RECEIVER*SUBMITTER*20260301*0930*7*X*005010X231A1~\n"
                              "ST*999*0001*005010X231A1~\n"
                              "AK1*HC*101*005010X222A1~\n"
                              "AK2*837*0001*005010X222A1~\n"
                              "IK3*CLM*32**8~\n"
                              "CTX*CLM01:PCN002~\n"
                              "IK4*2**6~\n"
                              "IK5*E*5~\n"
                              "AK9*E*1*1*1~\n"
                              "SE*9*0001~\n"
                              "GE*1*7~\n"
                              "IEA*1*000000007~\n");
    assert_int_equal(x12_ack_accepted_count(ack), 2);
    assert_int_equal(x12_ack_rejected_count(ack), 1);
    x12_ack_destroy(&ack);
    assert_null(ack);
    x12_ack_destroy(&ack); /* twice is safe */
}

static void test_x12_ack_277ca_gives_each_claim_its_status(void **state)
{
    (void)state;
    x12_ack_t *ack = s_ack_of_fixture("settle_837p_three_claims.txt");
    s_assert_written(x12_ack_write_277, ack,
                     ISA_BACK "GS*HN*RECEIVER*SUBMITTER*20260301*0930*7*X*005010X214~\n"
                              "ST*277*0001*005010X214~\n"
                              "BHT*0085*08*7*20260301*0930*TH~\n"
                              "HL*1**20*1~\n"
                              "NM1*PR*2******PI*PAYER01~\n"
                              "TRN*1*7~\n"
                              "DTP*050*D8*20260301~\n"
                              "DTP*009*D8*20260301~\n"
                              "HL*2*1*21*1~\n"
                              "NM1*41*2******46*SUBMITTER~\n"
                              "TRN*2*101~\n"
                              "STC*A1:20*20260301*WQ*230.75~\n"
                              "QTY*90*2~\n"
                              "QTY*AA*1~\n"
                              "AMT*YU*230.75~\n"
                              "AMT*YY*0.00~\n"
                              "HL*3*2*19*1~\n"
                              "NM1*85*2******XX*1234567893~\n"
                              "HL*4*3*PT~\n"
                              "NM1*QC*1*****MI*MEM001~\n"
                              "TRN*2*PCN001~\n"
                              "STC*A2:20*20260301*WQ*150.75~\n"
                              "REF*1K*PCN001~\n"
                              "DTP*472*RD8*20260105-20260106~\n"
                              "HL*5*2*19*1~\n"
                              "NM1*85*2~\n"
                              "HL*6*5*PT~\n"
                              "NM1*QC*1~\n"
                              "TRN*2*PCN002~\n"
                              "STC*A7:178*20260301*U*0.00********bad amount \"12.345\"~\n"
                              "HL*7*2*19*1~\n"
                              "NM1*85*2******XX*1234567893~\n"
                              "HL*8*7*PT~\n"
                              "NM1*QC*1*****MI*MEM002~\n"
                              "TRN*2*PCN003~\n"
                              "STC*A2:20*20260301*WQ*80.00~\n"
                              "REF*1K*PCN003~\n"
                              "DTP*472*D8*20260110~\n"
                              "SE*38*0001~\n"
                              "GE*1*7~\n"
                              "IEA*1*000000007~\n");
    x12_ack_destroy(&ack);
}

static void test_x12_ack_json_lists_accepted_and_rejected_claims(void **state)
{
    (void)state;
    x12_ack_t *ack = s_ack_of_fixture("settle_837p_three_claims.txt");
    s_assert_json(ack, "{\n"
                       "  \"file\": \"in.837\",\n"
                       "  \"accepted\": [\n"
                       "    \"PCN001\",\n"
                       "    \"PCN003\"\n"
                       "  ],\n"
                       "  \"rejected\": [\n"
                       "    {\n"
                       "      \"claim_id\": \"PCN002\",\n"
                       "      \"segment\": 32,\n"
                       "      \"segment_id\": \"CLM\",\n"
                       "      \"element\": 2,\n"
                       "      \"message\": \"bad amount \\\"12.345\\\"\",\n"
                       "      \"expected\": \"an amount like 125.50 (at most two decimals)\"\n"
                       "    }\n"
                       "  ],\n"
                       "  \"envelope_errors\": []\n"
                       "}\n");
    x12_ack_destroy(&ack);
}

/* ------------------------------------------------------------------------
 * Small interchanges, one rule each
 * ------------------------------------------------------------------------ */

#define ISA_IN                                                                                     \
    "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260101*1200*^*00501*"   \
    "000000005*0*P*:~"
#define GS_IN "GS*HC*SUBMITTER*RECEIVER*20260101*1200*5*X*005010X222A1~"
#define BODY_IN                                                                                    \
    "ST*837*0001*005010X222A1~BHT*0019*00*B1*20260101*1200*CH~HL*1**20*1~"                         \
    "NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*0~NM1*IL*1*DOE*JANE****MI*MEM001~"                \
    "DMG*D8*19800215*F~NM1*PR*2*PAYER*****PI*PAYER01~"                                             \
    "CLM*C1*100***11:B:1~HI*ABK:M545~LX*1~SV1*HC:99213*100*UN*1***1~DTP*472*D8*20260105~"          \
    "CLM*C2*50***11:B:1~HI*ABK:M545~LX*1~SV1*HC:99212*50*UN*1***1~DTP*472*D8*20260231~"

#define ISA_OUT                                                                                    \
    "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SUBMITTER      *260301*0930*^*00501*"   \
    "000000007*0*P*:~\n"                                                                           \
    "GS*FA*RECEIVER*SUBMITTER*20260301*0930*7*X*005010X231A1~\n"                                   \
    "ST*999*0001*005010X231A1~\n"                                                                  \
    "AK1*HC*5*005010X222A1~\n"                                                                     \
    "AK2*837*0001*005010X222A1~\n"                                                                 \
    "IK3*DTP*18**8~\n"                                                                             \
    "CTX*CLM01:C2~\n"                                                                              \
    "IK4*3**8~\n"

static void test_x12_ack_bad_date_is_ik403_code_8(void **state)
{
    (void)state;
    const char *text = ISA_IN GS_IN BODY_IN "SE*19*0001~GE*1*5~IEA*1*000000005~";
    x12_ack_t *ack = s_ack_of_text(text, strlen(text));
    s_assert_written(x12_ack_write_999, ack,
                     ISA_OUT "IK5*E*5~\nAK9*E*1*1*1~\nSE*9*0001~\nGE*1*7~\nIEA*1*000000007~\n");
    assert_int_equal(x12_ack_accepted_count(ack), 1);
    x12_ack_destroy(&ack);
}

static void test_x12_ack_bad_segment_count_rejects_the_transaction_and_its_claims(void **state)
{
    (void)state;
    const char *text = ISA_IN GS_IN BODY_IN "SE*18*0001~GE*1*5~IEA*1*000000005~";
    x12_ack_t *ack = s_ack_of_text(text, strlen(text));
    s_assert_written(x12_ack_write_999, ack,
                     ISA_OUT "IK5*R*5*4~\nAK9*R*1*1*0~\nSE*9*0001~\nGE*1*7~\nIEA*1*000000007~\n");
    assert_int_equal(x12_ack_accepted_count(ack), 0);
    assert_int_equal(x12_ack_rejected_count(ack), 2);
    /* C1 was delivered before the trailer, but its transaction set is refused */
    char *json;
    assert_int_equal(x12_ack_write_json(ack, &json, NULL), SETTLE_OK);
    assert_non_null(strstr(json, "\"accepted\": [],"));
    assert_non_null(strstr(json, "\"claim_id\": \"C1\",\n      \"segment\": 19,\n"
                                 "      \"segment_id\": \"SE\",\n      \"element\": 1,"));
    assert_non_null(strstr(json, "\"envelope_errors\": [\n    {\n      \"segment\": 19,"));
    settle_free(json);
    /* and the 277CA, which covers only the sets the 999 accepts, has no claims */
    char *ca;
    assert_int_equal(x12_ack_write_277(ack, &s_stamp, &ca, NULL), SETTLE_OK);
    assert_non_null(strstr(ca, "HL*2*1*21*0~\n"));
    assert_null(strstr(ca, "HL*3"));
    settle_free(ca);
    x12_ack_destroy(&ack);
}

static void test_x12_ack_bad_group_trailer_is_ak905_code_4(void **state)
{
    (void)state;
    const char *text = ISA_IN GS_IN BODY_IN "SE*19*0001~GE*1*6~IEA*1*000000005~";
    x12_ack_t *ack = s_ack_of_text(text, strlen(text));
    s_assert_written(x12_ack_write_999, ack,
                     ISA_OUT "IK5*E*5~\nAK9*R*1*1*1*4~\nSE*9*0001~\nGE*1*7~\nIEA*1*000000007~\n");
    x12_ack_destroy(&ack);
}

static void test_x12_ack_file_without_interchange_still_gets_acknowledged(void **state)
{
    (void)state;
    const char *text = "GS*HC*A*B~";
    x12_ack_t *ack = s_ack_of_text(text, strlen(text));
    s_assert_written(x12_ack_write_999, ack,
                     "ISA*00*          *00*          *ZZ*SETTLE         *ZZ*UNKNOWN        *260301*"
                     "0930*^*00501*000000007*0*P*:~\n"
                     "GS*FA*SETTLE*UNKNOWN*20260301*0930*7*X*005010X231A1~\n"
                     "GE*0*7~\n"
                     "IEA*1*000000007~\n");
    char *json;
    assert_int_equal(x12_ack_write_json(ack, &json, NULL), SETTLE_OK);
    assert_non_null(strstr(json, "\"segment_id\": \"GS\",\n      \"element\": 0,\n"
                                 "      \"message\": \"the interchange does not start with ISA\""));
    settle_free(json);
    x12_ack_destroy(&ack);
}

static void test_x12_ack_refuses_a_bad_stamp(void **state)
{
    (void)state;
    x12_ack_t *ack = x12_ack_new(NULL);
    assert_non_null(ack);
    char *text = NULL;
    const x12_ack_stamp_t bad[] = {
        {0, "20260301", "0930"}, {1000000000, "20260301", "0930"}, {1, "2026031", "0930"},
        {1, "2026030A", "0930"}, {1, "20260301", "930"},           {1, NULL, "0930"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(x12_ack_write_999(ack, &bad[i], &text, NULL), SETTLE_ERR_INVALID);
        assert_int_equal(x12_ack_write_277(ack, &bad[i], &text, NULL), SETTLE_ERR_INVALID);
    }
    assert_null(text);
    x12_ack_destroy(&ack);
}

typedef struct {
    unsigned claims, problems;
} s_counts_t;

static int s_count_claim(const claim_t *claim, void *context)
{
    (void)claim;
    ((s_counts_t *)context)->claims++;
    return 0;
}

static int s_count_problem(x12_837_problem_t problem, const char *claim_id,
                           const settle_error_t *error, void *context)
{
    (void)problem, (void)claim_id, (void)error;
    ((s_counts_t *)context)->problems++;
    return 0;
}

static void test_x12_ack_passes_claims_and_problems_on_to_the_caller(void **state)
{
    (void)state;
    size_t length;
    char *text = s_load("settle_837p_three_claims.txt", &length);
    x12_ack_t *ack = x12_ack_new("in.837");
    s_counts_t counts = {0, 0};
    x12_837_callbacks_t callbacks = {s_count_claim, s_count_problem};
    x12_837_stats_t stats;
    assert_int_equal(x12_ack_read_837(ack, text, length, &callbacks, &counts, false, &stats),
                     SETTLE_OK);
    assert_int_equal(counts.claims, 2);
    assert_int_equal(counts.problems, 1);
    assert_int_equal(stats.claims_delivered, 2);
    x12_ack_destroy(&ack);
    free(text);
}

/* Every allocation the collector and the writers make may fail: each
 * failure is reported as SETTLE_ERR_NOMEM and leaks nothing. */
static void test_x12_ack_reports_every_allocation_failure(void **state)
{
    (void)state;
    size_t length;
    char *text = s_load("settle_837p_three_claims.txt", &length);
    bool completed = false;
    for (long n = 0; n < 200 && !completed; n++) {
        long live = settle_alloc_live();
        settle_alloc_fail_after(n);
        x12_ack_t *ack = x12_ack_new("in.837");
        int rc =
            ack ? x12_ack_read_837(ack, text, length, NULL, NULL, false, NULL) : SETTLE_ERR_NOMEM;
        char *a = NULL, *b = NULL, *c = NULL;
        if (rc == SETTLE_OK)
            rc = x12_ack_write_999(ack, &s_stamp, &a, NULL);
        if (rc == SETTLE_OK)
            rc = x12_ack_write_277(ack, &s_stamp, &b, NULL);
        if (rc == SETTLE_OK)
            rc = x12_ack_write_json(ack, &c, NULL);
        settle_alloc_fail_after(-1);
        assert_true(rc == SETTLE_OK || rc == SETTLE_ERR_NOMEM);
        completed = rc == SETTLE_OK;
        settle_free(a);
        settle_free(b);
        settle_free(c);
        x12_ack_destroy(&ack);
        assert_int_equal(settle_alloc_live(), live);
    }
    assert_true(completed);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x12_ack_999_accepts_with_errors_and_names_the_bad_element),
        cmocka_unit_test(test_x12_ack_277ca_gives_each_claim_its_status),
        cmocka_unit_test(test_x12_ack_json_lists_accepted_and_rejected_claims),
        cmocka_unit_test(test_x12_ack_bad_date_is_ik403_code_8),
        cmocka_unit_test(test_x12_ack_bad_segment_count_rejects_the_transaction_and_its_claims),
        cmocka_unit_test(test_x12_ack_bad_group_trailer_is_ak905_code_4),
        cmocka_unit_test(test_x12_ack_file_without_interchange_still_gets_acknowledged),
        cmocka_unit_test(test_x12_ack_refuses_a_bad_stamp),
        cmocka_unit_test(test_x12_ack_passes_claims_and_problems_on_to_the_caller),
        cmocka_unit_test(test_x12_ack_reports_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
