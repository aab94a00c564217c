/*
 * test_world.h - a small world for state machine tests, header-only: keys,
 * signed commands, entries applied to an fsm in memory, a genesis (a payer,
 * two providers, an auditor, a node), the reference PPO and four members,
 * funding, payment cycles, the fixture claims (edited on the way when
 * asked).  The same helpers as test_fsm.c's, gathered here so other tests
 * drive the state machine the same way; test_fsm.c may include it too.
 *
 * Every helper fails the test (cmocka) when a step does not do what it
 * should.  Include after cmocka.h.
 */
#ifndef SETTLE_TEST_WORLD_H
#define SETTLE_TEST_WORLD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"
#include "settle/date.h"
#include "settle/enrollment.h"
#include "settle/fsm.h"
#include "settle/phi.h"

#define PAYER      "ACMEHP"
#define NPI_A      "1234567893" /* in network */
#define NPI_B      "1987654328" /* in network */
#define ENTRY_MAX  64
#define T_NOV_2026 UINT64_C(1793491200000) /* 2026-11-01 00:00 UTC */

/* ------------------------------------------------------------------------
 * A small world: keys, commands, entries, the log applied so far
 * ------------------------------------------------------------------------ */

typedef struct {
    sign_key_t *payer_key;
    sign_key_t *provider_key;
    sign_key_t *node_key;
    uint64_t payer_sequence;
    uint8_t *log[ENTRY_MAX]; /* every entry applied, to replay elsewhere */
    size_t log_sizes[ENTRY_MAX];
    size_t log_count;
    fsm_t *fsm;
    fsm_results_t *results;
    char directory[64];
} s_world_t;

static inline sign_key_t *s_key(uint8_t fill)
{
    uint8_t seed[SIGN_SEED_SIZE];
    memset(seed, fill, sizeof seed);
    sign_key_t *key = NULL;
    assert_int_equal(sign_key_from_seed(seed, &key), SETTLE_OK);
    return key;
}

static inline char *s_read_file(const char *relative, size_t *size_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SETTLE_SOURCE_DIR, relative);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    char *text = settle_malloc(1 << 20);
    assert_non_null(text);
    *size_out = fread(text, 1, 1 << 20, file);
    fclose(file);
    return text;
}

/* A command, signed by key (unsigned when key is NULL), encoded. */
static inline uint8_t *s_command(uint8_t type, const char *signer, uint64_t sequence,
                                 const uint8_t *payload, size_t payload_size, const sign_key_t *key,
                                 size_t *size_out)
{
    command_t command;
    memset(&command, 0, sizeof command);
    command.type = type;
    snprintf(command.participant, sizeof command.participant, "%s", signer);
    command.sequence = sequence;
    command.payload = payload;
    command.payload_size = payload_size;
    if (key)
        assert_int_equal(command_sign(&command, key, NULL), SETTLE_OK);
    uint8_t *bytes;
    assert_int_equal(command_encode(&command, &bytes, size_out), SETTLE_OK);
    return bytes;
}

/* Applies an entry of count commands (freed here) and keeps it in the log. */
static inline void s_apply(s_world_t *w, uint64_t timestamp_ms, uint8_t **commands, size_t *sizes,
                           uint32_t count)
{
    uint8_t *entry;
    size_t size;
    assert_int_equal(command_entry_encode(timestamp_ms, (const uint8_t *const *)commands, sizes,
                                          count, &entry, &size),
                     SETTLE_OK);
    for (uint32_t i = 0; i < count; i++)
        settle_free(commands[i]);
    settle_error_t error;
    settle_error_clear(&error);
    int rc = fsm_apply(w->fsm, entry, size, w->results, &error);
    if (rc != SETTLE_OK)
        fail_msg("fsm_apply: %s", error.message);
    assert_true(w->log_count < ENTRY_MAX);
    w->log[w->log_count] = entry;
    w->log_sizes[w->log_count++] = size;
    error.message[0] = '\0';
    if (ledger_check(fsm_ledger(w->fsm), &error) != SETTLE_OK)
        fail_msg("after entry %zu: %s", w->log_count, error.message);
}

/* One payer command in an entry of its own; returns its result. */
static inline const fsm_command_result_t *s_payer_command(s_world_t *w, uint8_t type,
                                                          const uint8_t *payload, size_t size)
{
    size_t command_size;
    uint8_t *command =
        s_command(type, PAYER, w->payer_sequence, payload, size, w->payer_key, &command_size);
    s_apply(w, T_NOV_2026 + w->log_count, &command, &command_size, 1);
    if (w->results->commands[0].accepted)
        w->payer_sequence++;
    return &w->results->commands[0];
}

static inline uint8_t *s_register(const char *id, uint8_t role, const sign_key_t *key,
                                  const char *npi, size_t *size_out)
{
    command_register_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "%s", id);
    value.role = role;
    if (key)
        sign_key_public(key, value.public_key);
    snprintf(value.display_name, sizeof value.display_name, "The %s", id);
    snprintf(value.npi, sizeof value.npi, "%s", npi);
    uint8_t *bytes;
    assert_int_equal(command_register_encode(&value, &bytes, size_out), SETTLE_OK);
    return bytes;
}

static inline void s_genesis(s_world_t *w)
{
    struct {
        const char *id;
        uint8_t role;
        const sign_key_t *key;
        const char *npi;
    } who[] = {{"node-1", COMMAND_ROLE_NODE, w->node_key, ""},
               {PAYER, COMMAND_ROLE_PAYER, w->payer_key, ""},
               {"prov-a", COMMAND_ROLE_PROVIDER, w->provider_key, NPI_A},
               {"prov-b", COMMAND_ROLE_PROVIDER, w->provider_key, NPI_B},
               {"auditor", COMMAND_ROLE_AUDITOR, w->node_key, ""}};
    uint8_t *commands[5];
    size_t sizes[5];
    for (int i = 0; i < 5; i++) {
        size_t size;
        uint8_t *payload = s_register(who[i].id, who[i].role, who[i].key, who[i].npi, &size);
        commands[i] = s_command(COMMAND_REGISTER, COMMAND_GENESIS_PARTICIPANT, (uint64_t)i, payload,
                                size, NULL, &sizes[i]);
        settle_free(payload);
    }
    s_apply(w, T_NOV_2026, commands, sizes, 5);
    for (int i = 0; i < 5; i++)
        assert_true(w->results->commands[i].accepted);
}

static const char s_members[] =
    "members:\n"
    "  - {id: ACM100234501, family: ACM1002345, contract: ACME-PPO-2026, birth_date: 1968-04-12,"
    " sex: F, coverage: {from: 2026-01-01, to: 2026-12-31}}\n"
    "  - {id: ACM100234503, family: ACM1002345, contract: ACME-PPO-2026, birth_date: 2001-05-02,"
    " sex: M, coverage: {from: 2026-01-01}}\n"
    "  - {id: ACM100877702, contract: ACME-PPO-2026, birth_date: 1979-11-30, sex: M,"
    " coverage: {from: 2026-01-01}}\n"
    "  - {id: ACM100555901, contract: ACME-PPO-2026, birth_date: 1950-02-28, sex: F,"
    " coverage: {from: 2026-01-01}}\n";

/* The payer's PHI keys, from a fixed secret: the ledger takes only
 * protected claims and enrollments (phi.h). */
static inline phi_key_t s_phi_key(void)
{
    uint8_t secret[PHI_SECRET_SIZE];
    memset(secret, 0x5a, sizeof secret);
    phi_key_t key;
    assert_int_equal(phi_key_from_secret(secret, &key), SETTLE_OK);
    return key;
}

/* The member key of a member id of the payer. */
static inline const char *s_member_key(const char *member_id)
{
    static char key[PHI_MEMBER_KEY_SIZE];
    phi_key_t phi = s_phi_key();
    assert_int_equal(phi_member_key(&phi, PAYER, member_id, key), SETTLE_OK);
    return key;
}

/* An enrollment text protected with the payer's key (settle_free it). */
static inline char *s_protected_members(const char *text, size_t *size_out)
{
    enrollment_t *enrollment = NULL;
    assert_int_equal(enrollment_load_text(text, strlen(text), "members", &enrollment, NULL),
                     SETTLE_OK);
    phi_key_t phi = s_phi_key();
    char *protected_text = NULL;
    assert_int_equal(enrollment_protect(enrollment, &phi, PAYER, &protected_text, size_out),
                     SETTLE_OK);
    enrollment_destroy(&enrollment);
    return protected_text;
}

static inline void s_text_command(s_world_t *w, uint8_t type, const char *text, size_t length)
{
    command_text_t value = {(const uint8_t *)text, length};
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_text_encode(&value, &payload, &size), SETTLE_OK);
    const fsm_command_result_t *result = s_payer_command(w, type, payload, size);
    if (!result->accepted)
        fail_msg("%s refused: %s", command_type_name(type), result->reason);
    settle_free(payload);
}

static inline void s_setup_payer(s_world_t *w)
{
    size_t size;
    char *plan = s_read_file("contracts/plans/ppo.yaml", &size);
    s_text_command(w, COMMAND_DEPLOY, plan, size);
    settle_free(plan);
    char *members = s_protected_members(s_members, &size);
    s_text_command(w, COMMAND_ENROLL, members, size);
    settle_free(members);
}

static inline const fsm_command_result_t *s_fund(s_world_t *w, int64_t cents)
{
    command_fund_t value = {.amount_cents = cents};
    snprintf(value.payer, sizeof value.payer, "%s", PAYER);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_fund_encode(&value, &payload, &size), SETTLE_OK);
    const fsm_command_result_t *result = s_payer_command(w, COMMAND_FUND, payload, size);
    settle_free(payload);
    return result;
}

static inline const fsm_command_result_t *s_pay(s_world_t *w)
{
    command_pay_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.payer, sizeof value.payer, "%s", PAYER);
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_pay_encode(&value, &payload, &size), SETTLE_OK);
    const fsm_command_result_t *result = s_payer_command(w, COMMAND_PAY, payload, size);
    settle_free(payload);
    return result;
}

/* Claims read from fixture files, encoded; a callback may edit each first. */
typedef struct {
    uint8_t *claims[16];
    size_t sizes[16];
    uint32_t count;
    void (*edit)(claim_t *claim);
} s_claims_t;

static inline int s_collect(const claim_t *claim, void *context)
{
    s_claims_t *claims = context;
    claim_t *copy = claim_new();
    uint8_t *bytes;
    size_t size;
    assert_int_equal(claim_encode(claim, &bytes, &size), SETTLE_OK);
    assert_int_equal(claim_decode_into(copy, bytes, size, NULL), SETTLE_OK);
    settle_free(bytes);
    if (claims->edit)
        claims->edit(copy);
    phi_key_t phi = s_phi_key();
    assert_int_equal(phi_protect_claim(&phi, NULL, copy, NULL), SETTLE_OK);
    assert_true(claims->count < 16);
    assert_int_equal(
        claim_encode(copy, &claims->claims[claims->count], &claims->sizes[claims->count]),
        SETTLE_OK);
    claims->count++;
    claim_destroy(&copy);
    return 0;
}

static inline void s_read_claims(s_claims_t *claims, const char *relative)
{
    size_t size;
    char *text = s_read_file(relative, &size);
    assert_int_equal(claim_json_read_text(text, size, relative, s_collect, claims, NULL), 0);
    settle_free(text);
}

static inline const fsm_command_result_t *s_batch(s_world_t *w, s_claims_t *claims)
{
    uint8_t *payload;
    size_t size;
    assert_int_equal(command_batch_encode(PAYER, (const uint8_t *const *)claims->claims,
                                          claims->sizes, claims->count, &payload, &size),
                     SETTLE_OK);
    for (uint32_t i = 0; i < claims->count; i++)
        settle_free(claims->claims[i]);
    claims->count = 0;
    const fsm_command_result_t *result = s_payer_command(w, COMMAND_BATCH, payload, size);
    settle_free(payload);
    return result;
}

static inline const fsm_claim_result_t *s_claim_result(s_world_t *w, const char *claim_id)
{
    for (uint32_t i = 0; i < w->results->claim_count; i++)
        if (strcmp(w->results->claims[i].claim_id, claim_id) == 0)
            return &w->results->claims[i];
    fail_msg("no result for claim %s", claim_id);
    return NULL;
}

static inline uint64_t s_count(fsm_t *fsm, const char *table)
{
    uint64_t count = 0;
    assert_int_equal(ledger_row_count(fsm_ledger(fsm), table, &count), SETTLE_OK);
    return count;
}

static inline int64_t s_balance(fsm_t *fsm, const char *account)
{
    int64_t balance = 0;
    assert_int_equal(ledger_account_balance(fsm_ledger(fsm), account, &balance), SETTLE_OK);
    return balance;
}

static inline int s_world_setup(void **state)
{
    s_world_t *w = calloc(1, sizeof *w);
    w->payer_key = s_key(1);
    w->provider_key = s_key(2);
    w->node_key = s_key(3);
    w->results = fsm_results_new();
    if (fsm_open(":memory:", &w->fsm, NULL) != SETTLE_OK)
        return -1;
    snprintf(w->directory, sizeof w->directory, "/tmp/settle-fsm-XXXXXX");
    if (!mkdtemp(w->directory))
        return -1;
    *state = w;
    return 0;
}

static inline int s_world_teardown(void **state)
{
    s_world_t *w = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/ledger.db", w->directory);
    unlink(path);
    snprintf(path, sizeof path, "%s/ledger.db-wal", w->directory);
    unlink(path);
    snprintf(path, sizeof path, "%s/ledger.db-shm", w->directory);
    unlink(path);
    rmdir(w->directory);
    for (size_t i = 0; i < w->log_count; i++)
        settle_free(w->log[i]);
    fsm_destroy(&w->fsm);
    fsm_results_destroy(&w->results);
    sign_key_destroy(&w->payer_key);
    sign_key_destroy(&w->provider_key);
    sign_key_destroy(&w->node_key);
    free(w);
    return 0;
}

/* Everything a test needs before it starts: genesis, contract, members. */
static inline void s_world_ready(s_world_t *w)
{
    s_genesis(w);
    s_setup_payer(w);
}

/* ------------------------------------------------------------------------
 * Settling, paying, voiding
 * ------------------------------------------------------------------------ */

static inline void s_submit_fixtures(s_world_t *w)
{
    s_claims_t claims = {.count = 0};
    s_read_claims(&claims, "fixtures/claims/office-visit.json");
    s_read_claims(&claims, "fixtures/claims/emergency-visit.json");
    s_read_claims(&claims, "fixtures/claims/physical-therapy.json");
    const fsm_command_result_t *result = s_batch(w, &claims);
    if (!result->accepted)
        fail_msg("batch refused: %s", result->reason);
    assert_int_equal(result->claim_count, 3);
}

/* The emergency visit again under another id: the member's deductible is
 * met by the first, so this one pays. */
static inline void s_second_er(claim_t *claim)
{
    CLAIM_SET_TEXT(claim->claim_id, "ER-2", 4);
}

/* A void of that second emergency visit. */
static inline void s_void_er(claim_t *claim)
{
    CLAIM_SET_TEXT(claim->claim_id, "ER-2V", 5);
    CLAIM_SET_TEXT(claim->original_claim_number, "ER-2", 4);
    claim->frequency = CLAIM_FREQUENCY_VOID;
}

static inline const fsm_claim_result_t *s_submit_edited(s_world_t *w, void (*edit)(claim_t *),
                                                        const char *claim_id)
{
    s_claims_t claims = {.count = 0, .edit = edit};
    s_read_claims(&claims, "fixtures/claims/emergency-visit.json");
    const fsm_command_result_t *result = s_batch(w, &claims);
    if (!result->accepted)
        fail_msg("batch refused: %s", result->reason);
    return s_claim_result(w, claim_id);
}

#endif
