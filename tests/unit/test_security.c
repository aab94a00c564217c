/*
 * test_security.c - the negative tests of issue 7 for what is enforced
 * today: forged signatures, valid signatures by the wrong role, a payer
 * reaching for another payer's claims, accounts and contracts, replayed and
 * too-old sequence numbers, and every limit of the command and claim
 * encodings and of the query arguments exceeded by one.
 *
 * Each refusal is checked twice: the leader's fsm_check_command (where it
 * applies) refuses it, and fsm_apply refuses it with the reason and changes
 * nothing - same head index and hash, same row count in every table.
 * SECURITY.md names these tests beside the defences they show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "settle/contract.h"
#include "settle/node_query.h"
#include "test_world.h"

#define S_ER  "ER-7741-0093" /* the emergency visit fixture, settled in s_setup */
#define OTHER "OTHERHP"      /* a second payer, the attacker in the cross-payer tests */

static const char *const s_tables[] = {"participants", "contracts", "members",
                                       "claims",       "accounts",  "transfers",
                                       "payments",     "chain",     "commands"};
#define S_TABLE_COUNT (sizeof s_tables / sizeof s_tables[0])

/* ------------------------------------------------------------------------
 * The world: test_world.h's, with a second payer registered at genesis
 * ------------------------------------------------------------------------ */

typedef struct {
    s_world_t *w;
    sign_key_t *other_key;
    uint64_t other_sequence;
    int64_t funding_cents; /* ACMEHP's funding balance after s_setup */
} s_security_t;

static int64_t s_funding(void **state)
{
    return ((s_security_t *)*state)->funding_cents;
}

static void s_genesis_two_payers(s_security_t *s)
{
    s_world_t *w = s->w;
    struct {
        const char *id;
        uint8_t role;
        const sign_key_t *key;
        const char *npi;
    } who[] = {{"node-1", COMMAND_ROLE_NODE, w->node_key, ""},
               {PAYER, COMMAND_ROLE_PAYER, w->payer_key, ""},
               {"prov-a", COMMAND_ROLE_PROVIDER, w->provider_key, NPI_A},
               {"prov-b", COMMAND_ROLE_PROVIDER, w->provider_key, NPI_B},
               {"auditor", COMMAND_ROLE_AUDITOR, w->node_key, ""},
               {OTHER, COMMAND_ROLE_PAYER, s->other_key, ""}};
    enum { COUNT = sizeof who / sizeof who[0] };
    uint8_t *commands[COUNT];
    size_t sizes[COUNT];
    for (int i = 0; i < COUNT; i++) {
        size_t size;
        uint8_t *payload = s_register(who[i].id, who[i].role, who[i].key, who[i].npi, &size);
        commands[i] = s_command(COMMAND_REGISTER, COMMAND_GENESIS_PARTICIPANT, (uint64_t)i, payload,
                                size, NULL, &sizes[i]);
        settle_free(payload);
    }
    s_apply(w, T_NOV_2026, commands, sizes, COUNT);
    for (int i = 0; i < COUNT; i++)
        assert_true(w->results->commands[i].accepted);
}

/* Genesis with two payers; ACMEHP deploys the PPO, enrolls, funds 1,000.00
 * and submits the three fixture claims. */
static int s_setup(void **state)
{
    s_security_t *s = calloc(1, sizeof *s);
    if (!s || s_world_setup((void **)&s->w) != 0)
        return -1;
    s->other_key = s_key(4);
    s_genesis_two_payers(s);
    s_setup_payer(s->w);
    assert_true(s_fund(s->w, 100000)->accepted);
    s_submit_fixtures(s->w);
    s->funding_cents = s_balance(s->w->fsm, "funding/" PAYER);
    *state = s;
    return 0;
}

static int s_teardown(void **state)
{
    s_security_t *s = *state;
    sign_key_destroy(&s->other_key);
    s_world_teardown((void **)&s->w);
    free(s);
    return 0;
}

/* ------------------------------------------------------------------------
 * Helpers: commands, and "refused and nothing changed"
 * ------------------------------------------------------------------------ */

typedef struct {
    uint64_t counts[S_TABLE_COUNT];
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
} s_snapshot_t;

static void s_take(fsm_t *fsm, s_snapshot_t *snapshot)
{
    for (size_t i = 0; i < S_TABLE_COUNT; i++)
        snapshot->counts[i] = s_count(fsm, s_tables[i]);
    fsm_head(fsm, &snapshot->index, snapshot->hash);
}

static void s_assert_unchanged(fsm_t *fsm, const s_snapshot_t *before)
{
    s_snapshot_t after;
    s_take(fsm, &after);
    assert_true(after.index == before->index);
    assert_memory_equal(after.hash, before->hash, FSM_HASH_SIZE);
    for (size_t i = 0; i < S_TABLE_COUNT; i++)
        if (after.counts[i] != before->counts[i])
            fail_msg("table %s: %llu rows, was %llu", s_tables[i],
                     (unsigned long long)after.counts[i], (unsigned long long)before->counts[i]);
}

/* Applies the command alone (freed here) and checks it is refused with a
 * reason containing expected, and that nothing changed. */
static void s_refused(s_world_t *w, uint8_t *command, size_t size, const char *expected)
{
    s_snapshot_t before;
    s_take(w->fsm, &before);
    uint8_t *entry;
    size_t entry_size;
    assert_int_equal(command_entry_encode(T_NOV_2026 + 1000, (const uint8_t *const *)&command,
                                          &size, 1, &entry, &entry_size),
                     SETTLE_OK);
    settle_free(command);
    assert_int_equal(fsm_apply(w->fsm, entry, entry_size, w->results, NULL), SETTLE_OK);
    settle_free(entry);
    assert_false(w->results->changed);
    assert_int_equal(w->results->command_count, 1);
    assert_false(w->results->commands[0].accepted);
    if (!strstr(w->results->commands[0].reason, expected))
        fail_msg("reason \"%s\" lacks \"%s\"", w->results->commands[0].reason, expected);
    s_assert_unchanged(w->fsm, &before);
}

/* The leader's check of the command: its code, and expected in the reason. */
static void s_check_refuses(s_world_t *w, const uint8_t *command, size_t size, int code,
                            const char *expected)
{
    settle_error_t reason;
    settle_error_clear(&reason);
    int rc = fsm_check_command(w->fsm, command, size, &reason);
    if (rc != code)
        fail_msg("fsm_check_command: %d (%s), expected %d", rc, reason.message, code);
    if (!strstr(reason.message, expected))
        fail_msg("check reason \"%s\" lacks \"%s\"", reason.message, expected);
}

static uint8_t *s_fund_payload(const char *payer, int64_t cents, size_t *size_out)
{
    command_fund_t value = {.amount_cents = cents};
    snprintf(value.payer, sizeof value.payer, "%s", payer);
    uint8_t *payload;
    assert_int_equal(command_fund_encode(&value, &payload, size_out), SETTLE_OK);
    return payload;
}

static uint8_t *s_pay_payload(const char *payer, size_t *size_out)
{
    command_pay_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.payer, sizeof value.payer, "%s", payer);
    uint8_t *payload;
    assert_int_equal(command_pay_encode(&value, &payload, size_out), SETTLE_OK);
    return payload;
}

static uint8_t *s_text_payload(const char *text, size_t length, size_t *size_out)
{
    command_text_t value = {(const uint8_t *)text, length};
    uint8_t *payload;
    assert_int_equal(command_text_encode(&value, &payload, size_out), SETTLE_OK);
    return payload;
}

/* A batch payload naming payer, of the claims read from the fixture
 * (each edited first when edit is given). */
static uint8_t *s_batch_payload(const char *payer, const char *fixture, void (*edit)(claim_t *),
                                size_t *size_out)
{
    s_claims_t claims = {.count = 0, .edit = edit};
    s_read_claims(&claims, fixture);
    uint8_t *payload;
    assert_int_equal(command_batch_encode(payer, (const uint8_t *const *)claims.claims,
                                          claims.sizes, claims.count, &payload, size_out),
                     SETTLE_OK);
    for (uint32_t i = 0; i < claims.count; i++)
        settle_free(claims.claims[i]);
    return payload;
}

/* A command signed by key, the payload freed here. */
static uint8_t *s_signed(uint8_t type, const char *signer, uint64_t sequence, uint8_t *payload,
                         size_t payload_size, const sign_key_t *key, size_t *size_out)
{
    uint8_t *command = s_command(type, signer, sequence, payload, payload_size, key, size_out);
    settle_free(payload);
    return command;
}

/* Where the 64-byte signature starts: it ends the command. */
#define S_SIGNATURE_AT(size) ((size)-SIGN_SIGNATURE_SIZE)

/* ------------------------------------------------------------------------
 * Forged signatures
 * ------------------------------------------------------------------------ */

static void test_security_refuses_a_signature_with_flipped_bytes(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 5000, &payload_size);
    uint8_t *command = s_signed(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &size);
    /* The genuine command passes the leader's check... */
    settle_error_t reason;
    assert_int_equal(fsm_check_command(w->fsm, command, size, &reason), SETTLE_OK);
    /* ...one flipped bit anywhere in the signature does not. */
    const size_t flips[] = {0, 31, 32, 63};
    fsm_verify_signatures(w->fsm, true);
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        uint8_t *forged = settle_malloc(size);
        memcpy(forged, command, size);
        forged[S_SIGNATURE_AT(size) + flips[i]] ^= 0x01;
        s_check_refuses(w, forged, size, SETTLE_ERR_SIGNATURE, "signature");
        s_refused(w, forged, size, "signature does not verify");
    }
    /* The whole signature zeroed, as an unsigned command would be. */
    uint8_t *zeroed = settle_malloc(size);
    memcpy(zeroed, command, size);
    memset(zeroed + S_SIGNATURE_AT(size), 0, SIGN_SIGNATURE_SIZE);
    s_check_refuses(w, zeroed, size, SETTLE_ERR_SIGNATURE, "signature");
    s_refused(w, zeroed, size, "signature does not verify");
    settle_free(command);
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state));
}

static void test_security_refuses_a_payload_changed_after_signing(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    fsm_verify_signatures(w->fsm, true);
    /* A fund of 50.00 turned into one of 50,000.00 after signing: the
     * amount is the payload's last 8 bytes, before the signature. */
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 5000, &payload_size);
    uint8_t *command = s_signed(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &size);
    command[S_SIGNATURE_AT(size) - 3] = 0x4c; /* 5000 = 0x1388 -> 0x4c1388 */
    s_check_refuses(w, command, size, SETTLE_ERR_SIGNATURE, "signature");
    s_refused(w, command, size, "signature does not verify");
    /* A claim in a signed batch edited afterwards: the Merkle root the
     * signature covers no longer matches.  The last byte before the
     * signature is the last claim's last byte. */
    payload =
        s_batch_payload(PAYER, "fixtures/claims/office-visit.json", s_second_er, &payload_size);
    command = s_signed(COMMAND_BATCH, PAYER, w->payer_sequence, payload, payload_size, w->payer_key,
                       &size);
    command[S_SIGNATURE_AT(size) - 1] ^= 0x01;
    s_check_refuses(w, command, size, SETTLE_ERR_SIGNATURE, "signature");
    s_refused(w, command, size, "");
    /* The signer's name changed to another payer's: signed by the wrong key. */
    payload = s_fund_payload(OTHER, 5000, &payload_size);
    command = s_signed(COMMAND_FUND, OTHER, 0, payload, payload_size, w->payer_key, &size);
    s_check_refuses(w, command, size, SETTLE_ERR_SIGNATURE, "signature");
    s_refused(w, command, size, "signature does not verify");
}

/* A node applies what the log holds without checking signatures again
 * (fsm.h: the leader checked them; Raft tolerates crashes, not lies).  So
 * a forged command that a lying leader put in the log is applied by the
 * nodes that trust it - and an auditor replaying the same log with
 * signatures verified refuses it and ends on a different head. */
static void
test_security_auditor_replay_refuses_a_forged_command_a_trusting_node_applied(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 5000, &payload_size);
    uint8_t *forged = s_signed(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size,
                               w->provider_key, &size); /* not the payer's key */
    s_apply(w, T_NOV_2026 + 500, &forged, &size, 1);
    assert_true(w->results->commands[0].accepted); /* the trusting node */
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state) + 5000);

    fsm_t *auditor = NULL;
    fsm_results_t *results = fsm_results_new();
    assert_int_equal(fsm_open(":memory:", &auditor, NULL), SETTLE_OK);
    fsm_verify_signatures(auditor, true);
    for (size_t i = 0; i < w->log_count; i++) {
        assert_int_equal(fsm_apply(auditor, w->log[i], w->log_sizes[i], results, NULL), SETTLE_OK);
        bool last = i + 1 == w->log_count;
        for (uint32_t c = 0; c < results->command_count; c++)
            if (results->commands[c].accepted == last)
                fail_msg("entry %zu command %u: accepted %d", i + 1, c,
                         (int)results->commands[c].accepted);
    }
    assert_non_null(strstr(results->commands[0].reason, "signature does not verify"));
    uint64_t index_node, index_auditor;
    uint8_t hash_node[FSM_HASH_SIZE], hash_auditor[FSM_HASH_SIZE];
    fsm_head(w->fsm, &index_node, hash_node);
    fsm_head(auditor, &index_auditor, hash_auditor);
    assert_true(index_auditor == index_node - 1);
    assert_memory_not_equal(hash_auditor, hash_node, FSM_HASH_SIZE);
    assert_true(s_balance(auditor, "funding/" PAYER) == s_funding(state));
    fsm_results_destroy(&results);
    fsm_destroy(&auditor);
}

/* ------------------------------------------------------------------------
 * The wrong role
 * ------------------------------------------------------------------------ */

static void test_security_refuses_a_provider_submitting_a_batch(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    uint8_t *payload =
        s_batch_payload(PAYER, "fixtures/claims/office-visit.json", s_second_er, &payload_size);
    uint8_t *command =
        s_signed(COMMAND_BATCH, "prov-a", 0, payload, payload_size, w->provider_key, &size);
    s_check_refuses(w, command, size, SETTLE_ERR_INVALID, "the provider prov-a may not batch");
    s_refused(w, command, size, "the provider prov-a may not batch (payer only)");
}

static void test_security_refuses_an_auditor_funding(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 5000, &payload_size);
    uint8_t *command =
        s_signed(COMMAND_FUND, "auditor", 0, payload, payload_size, w->node_key, &size);
    s_check_refuses(w, command, size, SETTLE_ERR_INVALID, "the auditor auditor may not fund");
    s_refused(w, command, size, "the auditor auditor may not fund (payer only)");
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state));
}

/* Every role against every command type it may not send, each with a
 * valid signature by its own key. */
static void test_security_refuses_every_type_a_role_may_not_send(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    struct {
        const char *id;
        const char *role;
        const sign_key_t *key;
    } signers[] = {{"prov-a", "provider", w->provider_key},
                   {"auditor", "auditor", w->node_key},
                   {"node-1", "node", w->node_key},
                   {PAYER, "payer", w->payer_key}};
    const uint8_t types[] = {COMMAND_REGISTER, COMMAND_DEPLOY, COMMAND_ENROLL,
                             COMMAND_BATCH,    COMMAND_FUND,   COMMAND_PAY};
    size_t plan_size;
    char *plan = s_read_file("contracts/plans/ppo.yaml", &plan_size);
    int refused = 0;
    for (size_t s = 0; s < sizeof signers / sizeof signers[0]; s++) {
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            bool payer = strcmp(signers[s].role, "payer") == 0;
            bool node = strcmp(signers[s].role, "node") == 0;
            bool allowed = types[t] == COMMAND_REGISTER ? node : payer;
            if (allowed)
                continue;
            size_t payload_size, size;
            uint8_t *payload = NULL;
            switch (types[t]) {
            case COMMAND_REGISTER:
                payload =
                    s_register("newcomer", COMMAND_ROLE_PAYER, w->payer_key, "", &payload_size);
                break;
            case COMMAND_DEPLOY:
                payload = s_text_payload(plan, plan_size, &payload_size);
                break;
            case COMMAND_ENROLL:
                payload = s_text_payload(s_members, strlen(s_members), &payload_size);
                break;
            case COMMAND_BATCH:
                payload = s_batch_payload(PAYER, "fixtures/claims/office-visit.json", s_second_er,
                                          &payload_size);
                break;
            case COMMAND_FUND:
                payload = s_fund_payload(PAYER, 5000, &payload_size);
                break;
            default:
                payload = s_pay_payload(PAYER, &payload_size);
                break;
            }
            uint8_t *command = s_signed(types[t], signers[s].id, 1000, payload, payload_size,
                                        signers[s].key, &size);
            char expected[160];
            snprintf(expected, sizeof expected, "the %s %s may not %s", signers[s].role,
                     signers[s].id, command_type_name(types[t]));
            s_check_refuses(w, command, size, SETTLE_ERR_INVALID, expected);
            s_refused(w, command, size, expected);
            refused++;
        }
    }
    settle_free(plan);
    assert_int_equal(refused, 6 + 6 + 5 + 1); /* provider, auditor, node, payer */
}

/* ------------------------------------------------------------------------
 * One payer reaching for another's
 * ------------------------------------------------------------------------ */

static void test_security_refuses_a_payer_funding_or_paying_another_payers_account(void **state)
{
    s_security_t *s = *state;
    s_world_t *w = s->w;
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 5000, &payload_size);
    uint8_t *command = s_signed(COMMAND_FUND, OTHER, s->other_sequence, payload, payload_size,
                                s->other_key, &size);
    s_refused(w, command, size, OTHER " may not fund payer " PAYER);
    payload = s_pay_payload(PAYER, &payload_size);
    command =
        s_signed(COMMAND_PAY, OTHER, s->other_sequence, payload, payload_size, s->other_key, &size);
    s_refused(w, command, size, OTHER " may not pay for payer " PAYER);
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state));
}

static void s_other_payer(claim_t *claim)
{
    CLAIM_SET_TEXT(claim->payer_id, OTHER, strlen(OTHER));
}

static void test_security_refuses_a_batch_naming_another_payer(void **state)
{
    s_security_t *s = *state;
    s_world_t *w = s->w;
    /* A batch for ACMEHP signed by OTHERHP. */
    size_t payload_size, size;
    uint8_t *payload =
        s_batch_payload(PAYER, "fixtures/claims/office-visit.json", s_second_er, &payload_size);
    uint8_t *command = s_signed(COMMAND_BATCH, OTHER, s->other_sequence, payload, payload_size,
                                s->other_key, &size);
    s_refused(w, command, size, OTHER " may not submit claims for payer " PAYER);
    /* OTHERHP's own batch smuggling a claim that names ACMEHP. */
    payload = s_batch_payload(OTHER, "fixtures/claims/office-visit.json", NULL, &payload_size);
    command = s_signed(COMMAND_BATCH, OTHER, s->other_sequence, payload, payload_size, s->other_key,
                       &size);
    s_refused(w, command, size, "names payer \"" PAYER "\", not the batch's \"" OTHER "\"");
    /* ACMEHP's batch with a claim naming OTHERHP: the same, the other way. */
    payload =
        s_batch_payload(PAYER, "fixtures/claims/office-visit.json", s_other_payer, &payload_size);
    command = s_signed(COMMAND_BATCH, PAYER, w->payer_sequence, payload, payload_size, w->payer_key,
                       &size);
    s_refused(w, command, size, "names payer \"" OTHER "\", not the batch's \"" PAYER "\"");
}

static void test_security_refuses_a_payer_deploying_a_contract_for_another(void **state)
{
    s_security_t *s = *state;
    s_world_t *w = s->w;
    size_t plan_size, payload_size, size;
    char *plan = s_read_file("contracts/plans/ppo.yaml", &plan_size); /* ACMEHP's */
    uint8_t *payload = s_text_payload(plan, plan_size, &payload_size);
    settle_free(plan);
    uint8_t *command = s_signed(COMMAND_DEPLOY, OTHER, s->other_sequence, payload, payload_size,
                                s->other_key, &size);
    s_refused(w, command, size, "is for payer \"" PAYER "\", not \"" OTHER "\"");
}

/* The original a void or a replacement names is looked up among the
 * signing payer's own claims only (claim ids are unique per payer): a
 * correction naming ACMEHP's claim, sent by OTHERHP, finds no original,
 * and ACMEHP's claim, accounts and payable totals do not move.  OTHERHP's
 * correction is itself answered (a business outcome, a row of OTHERHP's),
 * so here the ledger does change - but nothing of ACMEHP's. */
static void s_other_void(claim_t *claim)
{
    s_other_payer(claim);
    CLAIM_SET_TEXT(claim->claim_id, "OTHER-V", 7);
    CLAIM_SET_TEXT(claim->original_claim_number, S_ER, strlen(S_ER));
    claim->frequency = CLAIM_FREQUENCY_VOID;
}

static void s_other_replacement(claim_t *claim)
{
    s_other_payer(claim);
    CLAIM_SET_TEXT(claim->claim_id, "OTHER-R", 7);
    CLAIM_SET_TEXT(claim->original_claim_number, S_ER, strlen(S_ER));
    claim->frequency = CLAIM_FREQUENCY_REPLACEMENT;
}

static void test_security_a_correction_cannot_reach_another_payers_claim(void **state)
{
    s_security_t *s = *state;
    s_world_t *w = s->w;
    ledger_claim_t before, after;
    assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, S_ER, &before), SETTLE_OK);
    assert_string_equal(before.voided_by, "");
    int64_t funding = s_balance(w->fsm, "funding/" PAYER);
    int64_t payable_a = s_balance(w->fsm, "payable/" PAYER "/" NPI_A);
    int64_t payable_b = s_balance(w->fsm, "payable/" PAYER "/" NPI_B);
    void (*edits[])(claim_t *) = {s_other_void, s_other_replacement};
    const char *ids[] = {"OTHER-V", "OTHER-R"};
    for (size_t i = 0; i < 2; i++) {
        size_t payload_size, size;
        uint8_t *payload =
            s_batch_payload(OTHER, "fixtures/claims/emergency-visit.json", edits[i], &payload_size);
        uint8_t *command = s_signed(COMMAND_BATCH, OTHER, s->other_sequence, payload, payload_size,
                                    s->other_key, &size);
        s_apply(w, T_NOV_2026 + 600 + i, &command, &size, 1);
        assert_true(w->results->commands[0].accepted);
        s->other_sequence++;
        const fsm_claim_result_t *result = s_claim_result(w, ids[i]);
        assert_int_equal(result->status, INTERP_STATUS_REJECTED);
        assert_true(result->paid_cents == 0);
        assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, S_ER, &after), SETTLE_OK);
        assert_string_equal(after.voided_by, "");
        assert_int_equal(after.status, before.status);
        assert_true(after.paid_cents == before.paid_cents);
        assert_true(after.net_cents == before.net_cents);
        assert_string_equal(after.settlement, before.settlement);
        assert_int_equal(ledger_claim_get(fsm_ledger(w->fsm), PAYER, ids[i], &after),
                         SETTLE_ERR_NOT_FOUND);
        assert_true(s_balance(w->fsm, "funding/" PAYER) == funding);
        assert_true(s_balance(w->fsm, "payable/" PAYER "/" NPI_A) == payable_a);
        assert_true(s_balance(w->fsm, "payable/" PAYER "/" NPI_B) == payable_b);
    }
}

/* ------------------------------------------------------------------------
 * Replays
 * ------------------------------------------------------------------------ */

static void test_security_refuses_the_same_signed_bytes_twice(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 5000, &payload_size);
    uint8_t *command = s_signed(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &size);
    uint8_t *copy = settle_malloc(size);
    memcpy(copy, command, size);
    s_apply(w, T_NOV_2026 + 700, &command, &size, 1);
    assert_true(w->results->commands[0].accepted);
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state) + 5000);
    fsm_verify_signatures(w->fsm, true); /* a replay is refused even though it verifies */
    s_check_refuses(w, copy, size, SETTLE_ERR_EXISTS, "replayed sequence");
    s_refused(w, copy, size, "replayed sequence");
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state) + 5000);
}

static void test_security_refuses_a_sequence_below_the_window(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    /* The payer jumps to 5000: the window keeps 3977..5000. */
    size_t payload_size, size;
    uint8_t *payload = s_fund_payload(PAYER, 1, &payload_size);
    uint8_t *command =
        s_signed(COMMAND_FUND, PAYER, 5000, payload, payload_size, w->payer_key, &size);
    s_apply(w, T_NOV_2026 + 800, &command, &size, 1);
    assert_true(w->results->commands[0].accepted);
    /* 3977 is the lowest the window still knows; 3976, never used, is too old. */
    payload = s_fund_payload(PAYER, 1, &payload_size);
    command = s_signed(COMMAND_FUND, PAYER, 3976, payload, payload_size, w->payer_key, &size);
    s_check_refuses(w, command, size, SETTLE_ERR_RANGE, "too old");
    s_refused(w, command, size, "sequence 3976 of " PAYER " too old");
    payload = s_fund_payload(PAYER, 1, &payload_size);
    command = s_signed(COMMAND_FUND, PAYER, 3977, payload, payload_size, w->payer_key, &size);
    assert_int_equal(fsm_check_command(w->fsm, command, size, NULL), SETTLE_OK);
    settle_free(command);
}

/* ------------------------------------------------------------------------
 * Limits, each exceeded by one
 * ------------------------------------------------------------------------ */

/* A command's encoding by hand (command.h), so a field can be one past
 * its limit where command_encode would refuse to write it. */
static uint8_t *s_raw_command(uint8_t type, const char *participant, size_t participant_length,
                              uint64_t sequence, size_t payload_size, size_t *size_out)
{
    size_t size = 4 + 2 + 1 + 2 + participant_length + 8 + 4 + payload_size + SIGN_SIGNATURE_SIZE;
    uint8_t *bytes = calloc(1, size);
    assert_non_null(bytes);
    uint8_t *at = bytes;
    memcpy(at, "SCMD", 4), at += 4;
    *at++ = 0, *at++ = COMMAND_VERSION;
    *at++ = type;
    *at++ = (uint8_t)(participant_length >> 8), *at++ = (uint8_t)participant_length;
    for (size_t i = 0; i < participant_length; i++)
        *at++ = (uint8_t)participant[i % strlen(participant)];
    for (int i = 7; i >= 0; i--)
        *at++ = (uint8_t)(sequence >> (8 * i));
    for (int i = 3; i >= 0; i--)
        *at++ = (uint8_t)(payload_size >> (8 * i));
    *size_out = size;
    return bytes;
}

static void test_security_refuses_a_command_past_its_payload_or_id_limit(void **state)
{
    (void)state;
    command_t command;
    settle_error_t error;
    size_t size;
    uint8_t *bytes = s_raw_command(COMMAND_DEPLOY, "ACMEHP", 6, 0, COMMAND_PAYLOAD_SIZE_MAX, &size);
    assert_int_equal(command_decode(bytes, size, &command, &error), SETTLE_OK);
    free(bytes);
    bytes = s_raw_command(COMMAND_DEPLOY, "ACMEHP", 6, 0, COMMAND_PAYLOAD_SIZE_MAX + 1, &size);
    assert_int_equal(command_decode(bytes, size, &command, &error), SETTLE_ERR_TOO_LONG);
    free(bytes);
    /* The participant id: at most COMMAND_PARTICIPANT_ID_SIZE - 1 characters. */
    bytes = s_raw_command(COMMAND_PAY, "P", COMMAND_PARTICIPANT_ID_SIZE - 1, 0, 0, &size);
    assert_int_equal(command_decode(bytes, size, &command, &error), SETTLE_OK);
    free(bytes);
    bytes = s_raw_command(COMMAND_PAY, "P", COMMAND_PARTICIPANT_ID_SIZE, 0, 0, &size);
    assert_int_not_equal(command_decode(bytes, size, &command, &error), SETTLE_OK);
    free(bytes);
    /* And the encoder will not write either. */
    memset(&command, 0, sizeof command);
    command.type = COMMAND_PAY;
    memset(command.participant, 'P', sizeof command.participant - 1);
    command.payload_size = COMMAND_PAYLOAD_SIZE_MAX + 1;
    assert_true(command_encoded_size(&command) == 0);
}

/* An entry of count copies of command, framed by hand (command.h), so the
 * count can be one past COMMAND_ENTRY_COMMANDS_MAX. */
static uint8_t *s_raw_entry(const uint8_t *command, size_t command_size, uint32_t count,
                            size_t *size_out)
{
    size_t size = 4 + 2 + 8 + 4 + (size_t)count * (4 + command_size);
    uint8_t *bytes = malloc(size), *at = bytes;
    assert_non_null(bytes);
    memcpy(at, "SENT", 4), at += 4;
    *at++ = 0, *at++ = COMMAND_VERSION;
    for (int i = 7; i >= 0; i--)
        *at++ = (uint8_t)((T_NOV_2026 + 900) >> (8 * i));
    for (int i = 3; i >= 0; i--)
        *at++ = (uint8_t)(count >> (8 * i));
    for (uint32_t c = 0; c < count; c++) {
        for (int i = 3; i >= 0; i--)
            *at++ = (uint8_t)(command_size >> (8 * i));
        memcpy(at, command, command_size), at += command_size;
    }
    *size_out = size;
    return bytes;
}

static void test_security_refuses_an_entry_past_its_command_count_or_size(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size, entry_size;
    uint8_t *payload = s_fund_payload(PAYER, 1, &payload_size);
    uint8_t *command = s_signed(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &size);
    /* The encoder: the limit is fine, one more is refused. */
    const uint8_t **many = calloc(COMMAND_ENTRY_COMMANDS_MAX + 1, sizeof *many);
    size_t *sizes = calloc(COMMAND_ENTRY_COMMANDS_MAX + 1, sizeof *sizes);
    for (size_t i = 0; i <= COMMAND_ENTRY_COMMANDS_MAX; i++)
        many[i] = command, sizes[i] = size;
    uint8_t *entry;
    assert_int_equal(command_entry_encode(T_NOV_2026, many, sizes, COMMAND_ENTRY_COMMANDS_MAX,
                                          &entry, &entry_size),
                     SETTLE_OK);
    settle_free(entry);
    assert_int_equal(command_entry_encode(T_NOV_2026, many, sizes, COMMAND_ENTRY_COMMANDS_MAX + 1,
                                          &entry, &entry_size),
                     SETTLE_ERR_TOO_MANY);
    free(many);
    free(sizes);
    /* Apply: an entry framed with one command too many is an error and
     * changes nothing (not even the first command's fund). */
    s_snapshot_t before;
    s_take(w->fsm, &before);
    uint8_t *raw = s_raw_entry(command, size, COMMAND_ENTRY_COMMANDS_MAX + 1, &entry_size);
    settle_error_t error;
    assert_int_equal(fsm_apply(w->fsm, raw, entry_size, w->results, &error), SETTLE_ERR_TOO_MANY);
    free(raw);
    s_assert_unchanged(w->fsm, &before);
    /* One byte past COMMAND_ENTRY_SIZE_MAX: refused whole, by its size. */
    raw = calloc(1, (size_t)COMMAND_ENTRY_SIZE_MAX + 1);
    assert_non_null(raw);
    memcpy(raw, "SENT\0\1", 6);
    assert_int_equal(fsm_apply(w->fsm, raw, (size_t)COMMAND_ENTRY_SIZE_MAX + 1, w->results, &error),
                     SETTLE_ERR_TOO_LONG);
    free(raw);
    s_assert_unchanged(w->fsm, &before);
    settle_free(command);
    assert_true(s_balance(w->fsm, "funding/" PAYER) == s_funding(state));
}

static void test_security_refuses_payload_fields_past_their_limits(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    /* fund: COMMAND_FUND_CENTS_MAX is fine, one cent more is not. */
    command_fund_t fund = {.amount_cents = COMMAND_FUND_CENTS_MAX};
    snprintf(fund.payer, sizeof fund.payer, "%s", PAYER);
    uint8_t *payload;
    assert_int_equal(command_fund_encode(&fund, &payload, &payload_size), SETTLE_OK);
    uint8_t *at = payload + payload_size - 8; /* the amount, big-endian */
    uint64_t amount = (uint64_t)COMMAND_FUND_CENTS_MAX + 1;
    for (int i = 7; i >= 0; i--)
        *at++ = (uint8_t)(amount >> (8 * i));
    uint8_t *command = s_signed(COMMAND_FUND, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &size);
    s_refused(w, command, size, "");
    fund.amount_cents = COMMAND_FUND_CENTS_MAX + 1;
    assert_int_not_equal(command_fund_encode(&fund, &payload, &payload_size), SETTLE_OK);

    /* register: a display name of COMMAND_DISPLAY_NAME_SIZE characters
     * (one past), sent by the node, which may register. */
    command_register_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "newcomer");
    value.role = COMMAND_ROLE_AUDITOR;
    sign_key_public(w->node_key, value.public_key);
    memset(value.display_name, 'n', COMMAND_DISPLAY_NAME_SIZE - 1);
    assert_int_equal(command_register_encode(&value, &payload, &payload_size), SETTLE_OK);
    /* payload: str participant, u8 role, 32 key, str name, str npi; lengthen
     * the name by one byte, in place of a copy. */
    size_t name_at = 2 + strlen("newcomer") + 1 + SIGN_PUBLIC_KEY_SIZE;
    uint8_t *longer = settle_malloc(payload_size + 1);
    memcpy(longer, payload, name_at);
    longer[name_at] = 0, longer[name_at + 1] = COMMAND_DISPLAY_NAME_SIZE;
    memset(longer + name_at + 2, 'n', COMMAND_DISPLAY_NAME_SIZE);
    memcpy(longer + name_at + 2 + COMMAND_DISPLAY_NAME_SIZE,
           payload + name_at + 2 + COMMAND_DISPLAY_NAME_SIZE - 1,
           payload_size - (name_at + 2 + COMMAND_DISPLAY_NAME_SIZE - 1));
    command_register_t decoded;
    settle_error_t error;
    assert_int_equal(command_register_decode(payload, payload_size, &decoded, &error), SETTLE_OK);
    assert_int_not_equal(command_register_decode(longer, payload_size + 1, &decoded, &error),
                         SETTLE_OK);
    settle_free(payload);
    command = s_signed(COMMAND_REGISTER, "node-1", 0, longer, payload_size + 1, w->node_key, &size);
    s_refused(w, command, size, "");

    /* deploy / enroll text: CONTRACT_TEXT_SIZE_MAX + 1 bytes. */
    size_t text_size = CONTRACT_TEXT_SIZE_MAX + 1;
    uint8_t *text = settle_malloc(4 + text_size);
    text[0] = (uint8_t)(text_size >> 24), text[1] = (uint8_t)(text_size >> 16);
    text[2] = (uint8_t)(text_size >> 8), text[3] = (uint8_t)text_size;
    memset(text + 4, '#', text_size);
    command_text_t view;
    assert_int_equal(command_text_decode(text, 4 + text_size, &view, &error), SETTLE_ERR_TOO_LONG);
    command = s_signed(COMMAND_ENROLL, PAYER, w->payer_sequence, text, 4 + text_size, w->payer_key,
                       &size);
    s_refused(w, command, size, "");
}

/* A batch framed by hand: str payer, u32 count, count x (u32 size, bytes),
 * each claim's bytes starting with the claim encoding's "SCLM" mark (the
 * batch decoder asks for no more of them). */
static uint8_t *s_raw_batch(uint32_t count, size_t claim_size, size_t *size_out)
{
    size_t size = 2 + strlen(PAYER) + 4 + (size_t)count * (4 + claim_size);
    uint8_t *bytes = calloc(1, size), *at = bytes;
    assert_non_null(bytes);
    *at++ = 0, *at++ = (uint8_t)strlen(PAYER);
    memcpy(at, PAYER, strlen(PAYER)), at += strlen(PAYER);
    for (int i = 3; i >= 0; i--)
        *at++ = (uint8_t)(count >> (8 * i));
    for (uint32_t c = 0; c < count; c++) {
        for (int i = 3; i >= 0; i--)
            *at++ = (uint8_t)(claim_size >> (8 * i));
        memcpy(at, "SCLM", claim_size < 4 ? claim_size : 4);
        at += claim_size;
    }
    *size_out = size;
    return bytes;
}

static void test_security_refuses_a_batch_past_its_claim_count_or_claim_size(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    command_batch_t batch;
    settle_error_t error;
    size_t payload_size, size;
    uint8_t *payload = s_raw_batch(COMMAND_BATCH_CLAIMS_MAX, 4, &payload_size);
    assert_int_equal(command_batch_decode(payload, payload_size, &batch, &error), SETTLE_OK);
    free(payload);
    /* a claim that is not a claim encoding: refused as the batch decodes */
    payload = s_raw_batch(2, 3, &payload_size);
    assert_int_equal(command_batch_decode(payload, payload_size, &batch, &error),
                     SETTLE_ERR_CORRUPT);
    free(payload);
    payload = s_raw_batch(COMMAND_BATCH_CLAIMS_MAX + 1, 4, &payload_size);
    assert_int_equal(command_batch_decode(payload, payload_size, &batch, &error),
                     SETTLE_ERR_TOO_MANY);
    uint8_t *copy = settle_malloc(payload_size);
    memcpy(copy, payload, payload_size);
    free(payload);
    uint8_t *command = s_command(COMMAND_BATCH, PAYER, w->payer_sequence, copy, payload_size, NULL,
                                 &size); /* unsigned: the batch's root cannot be computed */
    settle_free(copy);
    s_refused(w, command, size, "1 to 10000 claims");
    payload = s_raw_batch(1, COMMAND_CLAIM_SIZE_MAX, &payload_size);
    assert_int_equal(command_batch_decode(payload, payload_size, &batch, &error), SETTLE_OK);
    free(payload);
    payload = s_raw_batch(1, COMMAND_CLAIM_SIZE_MAX + 1, &payload_size);
    assert_int_equal(command_batch_decode(payload, payload_size, &batch, &error),
                     SETTLE_ERR_TOO_LONG);
    copy = settle_malloc(payload_size);
    memcpy(copy, payload, payload_size);
    free(payload);
    command = s_command(COMMAND_BATCH, PAYER, w->payer_sequence, copy, payload_size, NULL, &size);
    settle_free(copy);
    s_refused(w, command, size, "");
}

/* The office visit with its first line repeated to line_count lines. */
static claim_t *s_claim_with_lines(uint32_t line_count)
{
    s_claims_t claims = {.count = 0, .edit = s_second_er};
    s_read_claims(&claims, "fixtures/claims/office-visit.json");
    claim_t *claim = claim_new();
    assert_int_equal(claim_decode_into(claim, claims.claims[0], claims.sizes[0], NULL), SETTLE_OK);
    for (uint32_t i = 0; i < claims.count; i++)
        settle_free(claims.claims[i]);
    claim_line_t first = claim->lines[0];
    claim->line_count = 1;
    while (claim->line_count < line_count) {
        claim_line_t *line;
        assert_int_equal(claim_add_line(claim, &line), SETTLE_OK);
        *line = first;
    }
    return claim;
}

static void test_security_refuses_a_claim_past_its_line_limit(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    claim_t *claim = s_claim_with_lines(CLAIM_LINES_MAX);
    uint8_t *at_limit, *bytes;
    size_t at_limit_size, size;
    assert_int_equal(claim_encode(claim, &at_limit, &at_limit_size), SETTLE_OK);
    claim_line_t *line;
    assert_int_equal(claim_add_line(claim, &line), SETTLE_ERR_TOO_MANY);
    /* Decoding: the same encoding with its line count one higher (and one
     * line more, so the count is not caught as a short buffer instead). */
    claim_t *one_line = s_claim_with_lines(1);
    size_t one_size;
    uint8_t *one;
    assert_int_equal(claim_encode(one_line, &one, &one_size), SETTLE_OK);
    size_t line_size = (at_limit_size - one_size) / (CLAIM_LINES_MAX - 1);
    size_t cob_count_at = at_limit_size - 2; /* the fixture has no COB records */
    size_t count_at = cob_count_at - (size_t)CLAIM_LINES_MAX * line_size - 2;
    assert_int_equal((at_limit[count_at] << 8) | at_limit[count_at + 1], CLAIM_LINES_MAX);
    size = at_limit_size + line_size;
    bytes = settle_malloc(size);
    memcpy(bytes, at_limit, cob_count_at);
    memcpy(bytes + cob_count_at, at_limit + cob_count_at - line_size, line_size);
    memcpy(bytes + cob_count_at + line_size, at_limit + cob_count_at, 2);
    bytes[count_at] = (uint8_t)((CLAIM_LINES_MAX + 1) >> 8);
    bytes[count_at + 1] = (uint8_t)(CLAIM_LINES_MAX + 1);
    settle_error_t error;
    assert_int_equal(claim_decode_into(one_line, at_limit, at_limit_size, &error), SETTLE_OK);
    assert_int_equal(claim_decode_into(one_line, bytes, size, &error), SETTLE_ERR_CORRUPT);
    assert_non_null(strstr(error.message, "more lines than a claim holds"));
    /* In a signed batch: refused whole, nothing changed. */
    uint8_t *payload;
    size_t payload_size, command_size;
    const uint8_t *claims[1] = {bytes};
    assert_int_equal(command_batch_encode(PAYER, claims, &size, 1, &payload, &payload_size),
                     SETTLE_OK);
    uint8_t *command = s_signed(COMMAND_BATCH, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &command_size);
    s_refused(w, command, command_size, "more lines than a claim holds");
    settle_free(bytes);
    settle_free(one);
    settle_free(at_limit);
    claim_destroy(&one_line);
    claim_destroy(&claim);
}

/* Least knowledge (phi.h): a claim or an enrollment carrying a patient's
 * identifiers in the clear is refused whole, nothing changed. */
static void test_security_refuses_identifiers_in_the_clear(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    phi_key_t phi = s_phi_key();
    struct {
        const char *expected;
        int variant;
    } cases[] = {
        {"its member id is not a pseudonymous member key", 0},
        {"it carries the patient's birth date in the clear", 1},
        {"it carries the patient's name or address in the clear", 2},
        {"it has no sealed identifiers", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        claim_t *claim = s_claim_with_lines(1);
        claim->total_charge_cents = claim->lines[0].charge_cents;
        assert_int_equal(claim_validate(claim, NULL), SETTLE_OK);
        assert_int_equal(phi_check_claim(claim, NULL), SETTLE_OK); /* as the world sends it */
        if (cases[i].variant == 0)
            assert_int_equal(phi_reveal_claim(&phi, claim, NULL), SETTLE_OK);
        else if (cases[i].variant == 1)
            claim->patient_birth_date = 0;
        else if (cases[i].variant == 2)
            CLAIM_SET_TEXT(claim->patient.last_name, "ALVAREZ", 7);
        else
            claim->phi_size = 0;
        uint8_t *bytes, *payload;
        size_t size, payload_size, command_size;
        assert_int_equal(claim_encode(claim, &bytes, &size), SETTLE_OK);
        const uint8_t *claims[1] = {bytes};
        assert_int_equal(command_batch_encode(PAYER, claims, &size, 1, &payload, &payload_size),
                         SETTLE_OK);
        uint8_t *command = s_signed(COMMAND_BATCH, PAYER, w->payer_sequence, payload, payload_size,
                                    w->payer_key, &command_size);
        s_refused(w, command, command_size, cases[i].expected);
        settle_free(bytes);
        claim_destroy(&claim);
    }
    const char *enrollments[][2] = {
        {"members:\n  - {id: ACM100234501, contract: ACME-PPO-2026, sex: F,"
         " coverage: {from: 2026-01-01}}\n",
         "enrollment member 1: its id is not a member key"},
        {NULL, "enrollment member 1: it carries a birth date"},
    };
    for (size_t i = 0; i < 2; i++) {
        char text[512];
        if (enrollments[i][0])
            snprintf(text, sizeof text, "%s", enrollments[i][0]);
        else
            snprintf(text, sizeof text,
                     "members:\n  - {id: %s, contract: ACME-PPO-2026, birth_date: 1968-04-12,"
                     " sex: F, coverage: {from: 2026-01-01}}\n",
                     s_member_key("ACM100234501"));
        size_t text_size = strlen(text), payload_size, command_size;
        command_text_t value = {(const uint8_t *)text, text_size};
        uint8_t *payload;
        assert_int_equal(command_text_encode(&value, &payload, &payload_size), SETTLE_OK);
        uint8_t *command = s_signed(COMMAND_ENROLL, PAYER, w->payer_sequence, payload, payload_size,
                                    w->payer_key, &command_size);
        s_refused(w, command, command_size, enrollments[i][1]);
    }
}

/* Every text field of the claim encoding one character past its size:
 * claim_set_text refuses it, and an encoding carrying it does not decode. */
static void test_security_refuses_claim_strings_past_their_size(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    claim_t *claim = s_claim_with_lines(1);
    char text[CLAIM_PAYER_ID_SIZE + 1];
    memset(text, 'X', sizeof text);
    assert_int_not_equal(CLAIM_SET_TEXT(claim->claim_id, text, CLAIM_ID_SIZE), SETTLE_OK);
    assert_int_equal(CLAIM_SET_TEXT(claim->claim_id, text, CLAIM_ID_SIZE - 1), SETTLE_OK);
    uint8_t *bytes;
    size_t size;
    assert_int_equal(claim_encode(claim, &bytes, &size), SETTLE_OK);
    /* The claim id is the first text, after "SCLM", the version and three
     * flag bytes (claim_codec.c): make
     * its length field one longer and insert one more character. */
    assert_int_equal((bytes[9] << 8) | bytes[10], CLAIM_ID_SIZE - 1);
    uint8_t *longer = settle_malloc(size + 1);
    memcpy(longer, bytes, 11);
    longer[9] = 0, longer[10] = CLAIM_ID_SIZE;
    longer[11] = 'X';
    memcpy(longer + 12, bytes + 11, size - 11);
    settle_error_t error;
    assert_int_equal(claim_decode_into(claim, bytes, size, &error), SETTLE_OK);
    assert_int_not_equal(claim_decode_into(claim, longer, size + 1, &error), SETTLE_OK);
    uint8_t *payload;
    size_t payload_size, command_size, longer_size = size + 1;
    const uint8_t *claims[1] = {longer};
    assert_int_equal(command_batch_encode(PAYER, claims, &longer_size, 1, &payload, &payload_size),
                     SETTLE_OK);
    uint8_t *command = s_signed(COMMAND_BATCH, PAYER, w->payer_sequence, payload, payload_size,
                                w->payer_key, &command_size);
    s_refused(w, command, command_size, "claim 1 of the batch");
    settle_free(longer);
    settle_free(bytes);
    claim_destroy(&claim);
}

/* The query verbs' arguments: 1..127 bytes each, at most four. */
static void test_security_refuses_query_arguments_past_their_limits(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    char text[NODE_QUERY_ARG_SIZE];
    memset(text, 'p', sizeof text);
    node_query_arg_t arg = {(const uint8_t *)text, NODE_QUERY_ARG_SIZE - 1};
    char *answer = NULL;
    size_t answer_size;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_not_equal(
        node_query(w->fsm, NULL, "participant", &arg, 1, &answer, &answer_size, &error), SETTLE_OK);
    assert_non_null(strstr(error.message, "no participant"));
    arg.size = NODE_QUERY_ARG_SIZE;
    settle_error_clear(&error);
    assert_int_not_equal(
        node_query(w->fsm, NULL, "participant", &arg, 1, &answer, &answer_size, &error), SETTLE_OK);
    assert_null(strstr(error.message, "no participant"));
    node_query_arg_t args[NODE_QUERY_ARGS_MAX + 1];
    for (size_t i = 0; i <= NODE_QUERY_ARGS_MAX; i++)
        args[i] = (node_query_arg_t){(const uint8_t *)"ER-1", 4};
    settle_error_clear(&error);
    assert_int_not_equal(node_query(w->fsm, NULL, "claim", args, NODE_QUERY_ARGS_MAX + 1, &answer,
                                    &answer_size, &error),
                         SETTLE_OK);
    assert_null(answer);
}

/* A second provider may not take an NPI already registered: what a
 * provider may read is decided by its NPI. */
static void test_security_refuses_a_second_provider_with_the_same_npi(void **state)
{
    s_world_t *w = ((s_security_t *)*state)->w;
    size_t payload_size, size;
    uint8_t *payload =
        s_register("prov-copy", COMMAND_ROLE_PROVIDER, w->provider_key, NPI_A, &payload_size);
    uint8_t *command =
        s_signed(COMMAND_REGISTER, "node-1", 500, payload, payload_size, w->node_key, &size);
    s_refused(w, command, size, "NPI " NPI_A " is already registered to \"prov-a\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        S_TEST(test_security_refuses_a_signature_with_flipped_bytes),
        S_TEST(test_security_refuses_a_second_provider_with_the_same_npi),
        S_TEST(test_security_refuses_a_payload_changed_after_signing),
        S_TEST(test_security_auditor_replay_refuses_a_forged_command_a_trusting_node_applied),
        S_TEST(test_security_refuses_a_provider_submitting_a_batch),
        S_TEST(test_security_refuses_an_auditor_funding),
        S_TEST(test_security_refuses_every_type_a_role_may_not_send),
        S_TEST(test_security_refuses_a_payer_funding_or_paying_another_payers_account),
        S_TEST(test_security_refuses_a_batch_naming_another_payer),
        S_TEST(test_security_refuses_a_payer_deploying_a_contract_for_another),
        S_TEST(test_security_a_correction_cannot_reach_another_payers_claim),
        S_TEST(test_security_refuses_the_same_signed_bytes_twice),
        S_TEST(test_security_refuses_a_sequence_below_the_window),
        S_TEST(test_security_refuses_a_command_past_its_payload_or_id_limit),
        S_TEST(test_security_refuses_an_entry_past_its_command_count_or_size),
        S_TEST(test_security_refuses_payload_fields_past_their_limits),
        S_TEST(test_security_refuses_a_batch_past_its_claim_count_or_claim_size),
        S_TEST(test_security_refuses_a_claim_past_its_line_limit),
        S_TEST(test_security_refuses_claim_strings_past_their_size),
        S_TEST(test_security_refuses_query_arguments_past_their_limits),
        S_TEST(test_security_refuses_identifiers_in_the_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
