/*
 * test_node_events.c - who may subscribe to what on the events socket
 * (node_events_may_subscribe): each role's own prefixes taken, everything
 * that could match another's topics refused, nothing for a revoked
 * participant, prefixes compared byte for byte (a NUL inside refuses).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../engine/node_events.h"
#include "test_world.h"

static bool s_may(s_world_t *w, const char *id, const char *prefix)
{
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), id, &row), SETTLE_OK);
    return node_events_may_subscribe(fsm_ledger(w->fsm), &row, (const uint8_t *)prefix,
                                     strlen(prefix));
}

static void test_node_events_a_provider_reads_its_own_topics_only(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    assert_true(s_may(w, "prov-a", "payment." NPI_A));
    assert_true(s_may(w, "prov-a", "claim." PAYER "." NPI_A));
    assert_true(s_may(w, "prov-a", "chain"));
    assert_false(s_may(w, "prov-a", "payment."));
    assert_false(s_may(w, "prov-a", "payment"));
    assert_false(s_may(w, "prov-a", ""));
    assert_false(s_may(w, "prov-a", "claim."));
    assert_false(s_may(w, "prov-a", "claim." PAYER "."));
    assert_false(s_may(w, "prov-a", "payment." NPI_B));
    assert_false(s_may(w, "prov-b", "payment." NPI_A));
    assert_false(s_may(w, "prov-b", "claim." PAYER "." NPI_A));
}

static void test_node_events_a_payer_reads_its_claims_and_no_payment(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    assert_true(s_may(w, PAYER, "claim." PAYER "."));
    assert_true(s_may(w, PAYER, "claim." PAYER "." NPI_A));
    assert_true(s_may(w, PAYER, "chain"));
    assert_false(s_may(w, PAYER, "claim." PAYER)); /* would match ACMEHPX's too */
    assert_false(s_may(w, PAYER, "claim."));
    assert_false(s_may(w, PAYER, "payment."));
    assert_false(s_may(w, PAYER, "payment." NPI_A));
}

static void test_node_events_auditors_and_nodes_read_everything(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    assert_true(s_may(w, "auditor", ""));
    assert_true(s_may(w, "auditor", "payment."));
    assert_true(s_may(w, "node-1", "claim."));
}

static void test_node_events_a_nul_inside_a_prefix_is_refused(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    ledger_participant_t row;
    assert_int_equal(ledger_participant_get(fsm_ledger(w->fsm), "prov-a", &row), SETTLE_OK);
    const char prefix[] = "payment." NPI_A "\0x";
    assert_false(node_events_may_subscribe(fsm_ledger(w->fsm), &row, (const uint8_t *)prefix,
                                           sizeof prefix - 1));
}

int main(void)
{
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_world_setup, s_world_teardown)
    const struct CMUnitTest tests[] = {
        S_TEST(test_node_events_a_provider_reads_its_own_topics_only),
        S_TEST(test_node_events_a_payer_reads_its_claims_and_no_payment),
        S_TEST(test_node_events_auditors_and_nodes_read_everything),
        S_TEST(test_node_events_a_nul_inside_a_prefix_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
