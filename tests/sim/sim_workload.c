/*
 * sim_workload.c - the simulation's clients: a genesis that registers the
 * participants, and two payers that deploy the reference PPO, enroll
 * members, fund, submit batches of claims (new ones, duplicates, voids,
 * replacements) and run payment cycles, each through raft_apply on
 * whichever server claims to lead.
 *
 * Each signer keeps one command out at a time, because apply wants each
 * signer's sequence numbers in order with no gap.  A command whose outcome
 * is unknown (the leader lost its leadership, or the client gave up
 * waiting) is resubmitted byte for byte: if the first copy was applied
 * after all, the copy is refused as a replay.  When an answer arrives, the
 * answering leader has applied every entry up to it, so its ledger says
 * with authority which sequence number comes next.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"
#include "settle/enrollment.h"
#include "settle/hash.h"
#include "settle/phi.h"
#include "sim.h"

#define SIM_GENESIS_COMMANDS 6
#define SIM_PATIENCE_MS      4000 /* a client waits this long before retrying */
#define SIM_PLAN_SIZE_MAX    (256u << 10)
#define SIM_FIRST_FUND_CENTS 1000000

static const char *const s_npis[] = {"1234567893", "1987654328", "1497758544", "1678901236"};
static const char *const s_procedures[] = {"99213", "99214", "36415", "83036",
                                           "97110", "99283", "70551", "80053"};
static const struct {
    const char *suffix;
    const char *birth_date;
    const char *sex;
} s_members[] = {{"100234501", "1968-04-12", "F"},
                 {"100234503", "2001-05-02", "M"},
                 {"100877702", "1979-11-30", "M"},
                 {"100555901", "1950-02-28", "F"}};

#define SIM_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Process-wide: keys (deterministic, from seeds) and the plans' YAML. */
static struct {
    sign_key_t *node_key;
    sign_key_t *provider_key;
    sign_key_t *payer_keys[SIM_PAYERS];
    char *plans[SIM_PAYERS];
    size_t plan_sizes[SIM_PAYERS];
} g;

static const char *const s_payer_ids[SIM_PAYERS] = {"ACMEHP", "BLUEHP"};
static const char *const s_brands[SIM_PAYERS] = {"ACME", "BLUE"};
static const char *const s_prefixes[SIM_PAYERS] = {"ACM", "BLU"};

/* ------------------------------------------------------------------------
 * Process setup
 * ------------------------------------------------------------------------ */

static sign_key_t *s_key(uint8_t fill)
{
    uint8_t seed[SIGN_SEED_SIZE];
    memset(seed, fill, sizeof seed);
    sign_key_t *key = NULL;
    if (sign_key_from_seed(seed, &key) != SETTLE_OK) {
        fprintf(stderr, "sim: cannot make a key\n");
        exit(2);
    }
    return key;
}

/* The plan for payer p: the reference PPO with its brand ("ACME" becomes
 * "BLUE" for the second payer: contract id and payer id). */
static void s_read_plan(const char *source_dir, unsigned p)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/contracts/plans/ppo.yaml", source_dir);
    FILE *file = fopen(path, "rb");
    char *text = settle_malloc(SIM_PLAN_SIZE_MAX);
    if (!file || !text) {
        fprintf(stderr, "sim: cannot read %s\n", path);
        exit(2);
    }
    size_t size = fread(text, 1, SIM_PLAN_SIZE_MAX, file);
    fclose(file);
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(text + i, "ACME", 4) == 0)
            memcpy(text + i, s_brands[p], 4);
    g.plans[p] = text;
    g.plan_sizes[p] = size;
}

void sim_workload_global_init(const char *source_dir)
{
    g.node_key = s_key(3);
    g.provider_key = s_key(2);
    for (unsigned p = 0; p < SIM_PAYERS; p++) {
        g.payer_keys[p] = s_key((uint8_t)(10 + p));
        s_read_plan(source_dir, p);
    }
}

void sim_workload_global_fini(void)
{
    sign_key_destroy(&g.node_key);
    sign_key_destroy(&g.provider_key);
    for (unsigned p = 0; p < SIM_PAYERS; p++) {
        sign_key_destroy(&g.payer_keys[p]);
        settle_free(g.plans[p]);
        g.plans[p] = NULL;
    }
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

/* A signed (or, for genesis, unsigned) command's encoding. */
static void s_encode(const sim_t *sim, uint8_t type, const char *signer, uint64_t sequence,
                     const uint8_t *payload, size_t payload_size, const sign_key_t *key,
                     sim_command_t *command)
{
    command_t value;
    memset(&value, 0, sizeof value);
    value.type = type;
    snprintf(value.participant, sizeof value.participant, "%s", signer);
    value.sequence = sequence;
    value.payload = payload;
    value.payload_size = payload_size;
    if (key && command_sign(&value, key, NULL) != SETTLE_OK)
        sim_fail(sim, "cannot sign a %s command", command_type_name(type));
    if (command_encode(&value, &command->bytes, &command->size) != SETTLE_OK)
        sim_fail(sim, "cannot encode a %s command", command_type_name(type));
    command->type = type;
    command->sequence = sequence;
    command->state = SIM_READY;
}

static uint8_t *s_register_payload(const sim_t *sim, const char *id, uint8_t role,
                                   const sign_key_t *key, const char *npi, size_t *size_out)
{
    command_register_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "%s", id);
    value.role = role;
    sign_key_public(key, value.public_key);
    snprintf(value.display_name, sizeof value.display_name, "The %s", id);
    snprintf(value.npi, sizeof value.npi, "%s", npi);
    uint8_t *bytes = NULL;
    if (command_register_encode(&value, &bytes, size_out) != SETTLE_OK)
        sim_fail(sim, "cannot encode a registration");
    return bytes;
}

/* The genesis entry's commands: a node, both payers, two providers and an
 * auditor, in one sim_command_t per registration (genesis_bytes). */
static sim_command_t s_genesis[SIM_GENESIS_COMMANDS];

static void s_genesis_prepare(sim_t *sim)
{
    const struct {
        const char *id;
        uint8_t role;
        const sign_key_t *key;
        const char *npi;
    } who[SIM_GENESIS_COMMANDS] = {{"node-1", COMMAND_ROLE_NODE, g.node_key, ""},
                                   {s_payer_ids[0], COMMAND_ROLE_PAYER, g.payer_keys[0], ""},
                                   {s_payer_ids[1], COMMAND_ROLE_PAYER, g.payer_keys[1], ""},
                                   {"prov-a", COMMAND_ROLE_PROVIDER, g.provider_key, s_npis[0]},
                                   {"prov-b", COMMAND_ROLE_PROVIDER, g.provider_key, s_npis[1]},
                                   {"auditor", COMMAND_ROLE_AUDITOR, g.node_key, ""}};
    for (unsigned i = 0; i < SIM_GENESIS_COMMANDS; i++) {
        size_t size;
        uint8_t *payload =
            s_register_payload(sim, who[i].id, who[i].role, who[i].key, who[i].npi, &size);
        s_encode(sim, COMMAND_REGISTER, COMMAND_GENESIS_PARTICIPANT, i, payload, size, NULL,
                 &s_genesis[i]);
        settle_free(payload);
    }
    sim->genesis.state = SIM_READY;
}

static void s_command_clear(sim_command_t *command)
{
    settle_free(command->bytes);
    memset(command, 0, sizeof *command);
}

void sim_workload_init(sim_t *sim)
{
    memset(&sim->genesis, 0, sizeof sim->genesis);
    sim->genesis_done = false;
    for (unsigned p = 0; p < SIM_PAYERS; p++) {
        sim_payer_t *payer = &sim->payers[p];
        memset(payer, 0, sizeof *payer);
        snprintf(payer->id, sizeof payer->id, "%s", s_payer_ids[p]);
        snprintf(payer->brand, sizeof payer->brand, "%s", s_brands[p]);
        snprintf(payer->member_prefix, sizeof payer->member_prefix, "%s", s_prefixes[p]);
        payer->key = g.payer_keys[p];
    }
    s_genesis_prepare(sim);
}

void sim_workload_fini(sim_t *sim)
{
    for (unsigned i = 0; i < SIM_GENESIS_COMMANDS; i++)
        s_command_clear(&s_genesis[i]);
    for (unsigned p = 0; p < SIM_PAYERS; p++)
        s_command_clear(&sim->payers[p].command);
}

/* ------------------------------------------------------------------------
 * Claims
 * ------------------------------------------------------------------------ */

/* A payer's PHI keys, from a secret that is the SHA-256 of its id: the
 * ledger takes only protected claims and enrollments (phi.h). */
static phi_key_t s_payer_phi(const sim_t *sim, const sim_payer_t *payer)
{
    uint8_t secret[PHI_SECRET_SIZE];
    phi_key_t key;
    if (hash_sha256(payer->id, strlen(payer->id), secret) != SETTLE_OK ||
        phi_key_from_secret(secret, &key) != SETTLE_OK)
        sim_fail(sim, "no PHI key for payer %s", payer->id);
    return key;
}

typedef struct {
    const sim_t *sim;
    phi_key_t phi;
    uint8_t *bytes;
    size_t size;
} s_encoded_t;

static int s_take_claim(const claim_t *claim, void *context)
{
    s_encoded_t *encoded = context;
    claim_t *protected_claim = claim_new();
    if (!protected_claim || claim_copy(protected_claim, claim) != SETTLE_OK ||
        phi_protect_claim(&encoded->phi, NULL, protected_claim, NULL) != SETTLE_OK)
        sim_fail(encoded->sim, "cannot protect claim %s", claim->claim_id);
    int rc = claim_encode(protected_claim, &encoded->bytes, &encoded->size);
    claim_destroy(&protected_claim);
    if (rc != SETTLE_OK)
        sim_fail(encoded->sim, "cannot encode claim %s", claim->claim_id);
    return 0;
}

/* The claim's canonical encoding, from JSON made of its fields. */
static void s_claim_encode(const sim_t *sim, const sim_payer_t *payer, const sim_claim_t *claim,
                           uint8_t **bytes_out, size_t *size_out)
{
    char original[96] = "";
    if (claim->frequency != CLAIM_FREQUENCY_ORIGINAL)
        snprintf(original, sizeof original, "\"original_claim_number\": \"%s\", ", claim->original);
    char text[2048];
    int length = snprintf(
        text, sizeof text,
        "{\"format\": \"settle.claim/1\", \"claim_id\": \"%s\", \"kind\": \"professional\", "
        "\"frequency\": %u, \"payer_id\": \"%s\", \"billing_npi\": \"%s\", "
        "\"member_id\": \"%s%s\", \"patient\": {\"birth_date\": \"%s\", \"sex\": \"%s\"}, %s"
        "\"place_of_service\": \"11\", \"total_charge_cents\": %lld, \"diagnoses\": [\"E119\"], "
        "\"lines\": [{\"procedure_code\": \"%s\", \"units_milli\": 1000, \"charge_cents\": %lld, "
        "\"service_from\": \"2026-10-%02u\", \"diagnosis_pointers\": [1]}]}",
        claim->claim_id, (unsigned)claim->frequency, payer->id, s_npis[claim->provider],
        payer->member_prefix, s_members[claim->member].suffix, s_members[claim->member].birth_date,
        s_members[claim->member].sex, original, (long long)claim->charge_cents,
        s_procedures[claim->procedure], (long long)claim->charge_cents, (unsigned)claim->day);
    if (length < 0 || (size_t)length >= sizeof text)
        sim_fail(sim, "claim %s: JSON too long", claim->claim_id);
    s_encoded_t encoded = {.sim = sim, .phi = s_payer_phi(sim, payer), .bytes = NULL, .size = 0};
    settle_error_t error;
    settle_error_clear(&error);
    if (claim_json_read_text(text, (size_t)length, "sim", s_take_claim, &encoded, &error) != 0 ||
        !encoded.bytes)
        sim_fail(sim, "claim %s does not read: %s", claim->claim_id, error.message);
    *bytes_out = encoded.bytes;
    *size_out = encoded.size;
}

/* A new claim slot, or NULL when the payer has made its limit. */
static sim_claim_t *s_claim_add(sim_payer_t *payer)
{
    if (payer->claim_count >= SIM_CLAIMS_MAX)
        return NULL;
    sim_claim_t *claim = &payer->claims[payer->claim_count++];
    memset(claim, 0, sizeof *claim);
    return claim;
}

static bool s_in_batch(const sim_command_t *command, uint32_t claim)
{
    for (uint32_t i = 0; i < command->claim_count; i++)
        if (command->claims[i] == claim)
            return true;
    return false;
}

/* A void (frequency 8) or replacement (7) of an acknowledged original that
 * has not been corrected yet; false when there is none to correct. */
static bool s_claim_correct(sim_t *sim, sim_payer_t *payer, sim_command_t *command, bool void_it)
{
    if (payer->claim_count == 0)
        return false;
    uint32_t start = (uint32_t)sim_rng_below(&sim->rng, payer->claim_count);
    for (uint32_t k = 0; k < payer->claim_count; k++) {
        uint32_t i = (start + k) % payer->claim_count;
        sim_claim_t *original = &payer->claims[i];
        if (!original->acknowledged || original->corrected ||
            original->frequency != CLAIM_FREQUENCY_ORIGINAL || s_in_batch(command, i))
            continue;
        sim_claim_t *claim = s_claim_add(payer);
        if (!claim)
            return false;
        original = &payer->claims[i];
        *claim = *original;
        claim->acknowledged = false;
        claim->corrected = false;
        claim->frequency = void_it ? CLAIM_FREQUENCY_VOID : CLAIM_FREQUENCY_REPLACEMENT;
        char id[CLAIM_ID_SIZE];
        memcpy(id, original->claim_id, sizeof id);
        memcpy(claim->original, id, sizeof id);
        snprintf(claim->claim_id, sizeof claim->claim_id, "%.30s%c", id, void_it ? 'V' : 'R');
        if (!void_it)
            claim->charge_cents = 5000 + (int64_t)sim_rng_below(&sim->rng, 50000);
        original->corrected = true;
        command->claims[command->claim_count++] = payer->claim_count - 1;
        return true;
    }
    return false;
}

/* One claim into the batch: new, a duplicate, a void or a replacement. */
static void s_batch_claim(sim_t *sim, sim_payer_t *payer, sim_command_t *command)
{
    uint64_t roll = sim_rng_below(&sim->rng, 100);
    if (roll < 12 && payer->claim_count > 0) {
        uint32_t i = (uint32_t)sim_rng_below(&sim->rng, payer->claim_count);
        if (!s_in_batch(command, i))
            command->claims[command->claim_count++] = i;
        return;
    }
    if (roll < 30 && s_claim_correct(sim, payer, command, roll < 20))
        return;
    sim_claim_t *claim = s_claim_add(payer);
    if (!claim)
        return;
    snprintf(claim->claim_id, sizeof claim->claim_id, "%c%05u", payer->brand[0],
             payer->claim_count);
    claim->frequency = CLAIM_FREQUENCY_ORIGINAL;
    claim->member = (uint8_t)sim_rng_below(&sim->rng, SIM_COUNT(s_members));
    claim->procedure = (uint8_t)sim_rng_below(&sim->rng, SIM_COUNT(s_procedures));
    claim->provider = (uint8_t)sim_rng_below(&sim->rng, SIM_COUNT(s_npis));
    claim->day = (uint8_t)(1 + sim_rng_below(&sim->rng, 28));
    claim->charge_cents = 5000 + (int64_t)sim_rng_below(&sim->rng, 50000);
    command->claims[command->claim_count++] = payer->claim_count - 1;
}

/* ------------------------------------------------------------------------
 * A payer's next command
 * ------------------------------------------------------------------------ */

static void s_payer_batch(sim_t *sim, sim_payer_t *payer)
{
    sim_command_t *command = &payer->command;
    uint32_t want = 1 + (uint32_t)sim_rng_below(&sim->rng, SIM_BATCH_CLAIMS_MAX);
    for (uint32_t attempt = 0; attempt < 2 * want && command->claim_count < want; attempt++)
        s_batch_claim(sim, payer, command);
    if (command->claim_count == 0)
        return; /* the payer has made all the claims it may */
    uint8_t *claims[SIM_BATCH_CLAIMS_MAX];
    size_t sizes[SIM_BATCH_CLAIMS_MAX];
    for (uint32_t i = 0; i < command->claim_count; i++)
        s_claim_encode(sim, payer, &payer->claims[command->claims[i]], &claims[i], &sizes[i]);
    uint8_t *payload = NULL;
    size_t size = 0;
    if (command_batch_encode(payer->id, (const uint8_t *const *)claims, sizes, command->claim_count,
                             &payload, &size) != SETTLE_OK)
        sim_fail(sim, "cannot encode a batch");
    for (uint32_t i = 0; i < command->claim_count; i++)
        settle_free(claims[i]);
    s_encode(sim, COMMAND_BATCH, payer->id, payer->next_sequence, payload, size, payer->key,
             command);
    settle_free(payload);
}

static void s_payer_fund(sim_t *sim, sim_payer_t *payer, int64_t cents)
{
    command_fund_t value = {.amount_cents = cents};
    snprintf(value.payer, sizeof value.payer, "%s", payer->id);
    uint8_t *payload = NULL;
    size_t size = 0;
    if (command_fund_encode(&value, &payload, &size) != SETTLE_OK)
        sim_fail(sim, "cannot encode a fund");
    s_encode(sim, COMMAND_FUND, payer->id, payer->next_sequence, payload, size, payer->key,
             &payer->command);
    settle_free(payload);
}

static void s_payer_pay(sim_t *sim, sim_payer_t *payer)
{
    command_pay_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.payer, sizeof value.payer, "%s", payer->id);
    uint8_t *payload = NULL;
    size_t size = 0;
    if (command_pay_encode(&value, &payload, &size) != SETTLE_OK)
        sim_fail(sim, "cannot encode a pay");
    s_encode(sim, COMMAND_PAY, payer->id, payer->next_sequence, payload, size, payer->key,
             &payer->command);
    settle_free(payload);
}

static void s_payer_text(sim_t *sim, sim_payer_t *payer, uint8_t type, const char *text,
                         size_t length)
{
    command_text_t value = {(const uint8_t *)text, length};
    uint8_t *payload = NULL;
    size_t size = 0;
    if (command_text_encode(&value, &payload, &size) != SETTLE_OK)
        sim_fail(sim, "cannot encode a %s", command_type_name(type));
    s_encode(sim, type, payer->id, payer->next_sequence, payload, size, payer->key,
             &payer->command);
    settle_free(payload);
}

static void s_payer_enroll(sim_t *sim, sim_payer_t *payer)
{
    char text[2048];
    size_t used = (size_t)snprintf(text, sizeof text, "members:\n");
    for (size_t m = 0; m < SIM_COUNT(s_members) && used < sizeof text; m++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "  - {id: %s%s, contract: %s-PPO-2026, birth_date: %s, sex: %s,"
                                 " coverage: {from: 2026-01-01}}\n",
                                 payer->member_prefix, s_members[m].suffix, payer->brand,
                                 s_members[m].birth_date, s_members[m].sex);
    if (used >= sizeof text)
        sim_fail(sim, "enrollment too long");
    enrollment_t *enrollment = NULL;
    phi_key_t phi = s_payer_phi(sim, payer);
    char *protected_text = NULL;
    size_t protected_size = 0;
    if (enrollment_load_text(text, used, "sim", &enrollment, NULL) != SETTLE_OK ||
        enrollment_protect(enrollment, &phi, payer->id, &protected_text, &protected_size) !=
            SETTLE_OK)
        sim_fail(sim, "cannot protect the enrollment of %s", payer->id);
    enrollment_destroy(&enrollment);
    s_payer_text(sim, payer, COMMAND_ENROLL, protected_text, protected_size);
    settle_free(protected_text);
}

/* The payer's next command: its setup first, then a random mix. */
static void s_payer_next(sim_t *sim, unsigned p)
{
    sim_payer_t *payer = &sim->payers[p];
    if (payer->setup_done == 0) {
        s_payer_text(sim, payer, COMMAND_DEPLOY, g.plans[p], g.plan_sizes[p]);
        return;
    }
    if (payer->setup_done == 1) {
        s_payer_enroll(sim, payer);
        return;
    }
    if (payer->setup_done == 2) {
        s_payer_fund(sim, payer, SIM_FIRST_FUND_CENTS);
        return;
    }
    uint64_t roll = sim_rng_below(&sim->rng, 100);
    if (roll < 65)
        s_payer_batch(sim, payer);
    else if (roll < 80)
        s_payer_fund(sim, payer, 10000 + (int64_t)sim_rng_below(&sim->rng, 300000));
    else
        s_payer_pay(sim, payer);
}

/* ------------------------------------------------------------------------
 * Outcomes
 * ------------------------------------------------------------------------ */

static uint64_t s_next_sequence(sim_t *sim, unsigned server, const char *participant)
{
    ledger_participant_t row;
    int rc = ledger_participant_get(fsm_ledger(sim->nodes[server].fsm), participant, &row);
    return rc == SETTLE_OK ? row.next_sequence : 0;
}

/* The payer's command is known applied (now or by an earlier copy). */
static void s_payer_applied(sim_t *sim, sim_payer_t *payer)
{
    sim_command_t *command = &payer->command;
    for (uint32_t i = 0; i < command->claim_count; i++)
        payer->claims[command->claims[i]].acknowledged = true;
    if (payer->setup_done < 3)
        payer->setup_done++;
    payer->next_sequence = command->sequence + 1;
    sim->commands_accepted++;
    s_command_clear(command);
}

/*
 * A payer's command answered by the leader at `server`: accepted, or
 * refused.  A refusal whose sequence number the ledger has passed means
 * an earlier copy was applied; any other refusal is a bug in the workload
 * or the state machine (every command the clients make is valid).
 */
static void s_payer_answered(sim_t *sim, unsigned p, unsigned server,
                             const fsm_command_result_t *result)
{
    sim_payer_t *payer = &sim->payers[p];
    sim_command_t *command = &payer->command;
    uint64_t next = s_next_sequence(sim, server, payer->id);
    if (result->accepted || next > command->sequence) {
        if (!result->accepted)
            sim->commands_rejected++;
        s_payer_applied(sim, payer);
        if (next != payer->next_sequence)
            sim_fail(sim, "%s: ledger expects sequence %llu after %llu", payer->id,
                     (unsigned long long)next, (unsigned long long)command->sequence);
        return;
    }
    sim_fail(sim, "%s %s (sequence %llu) refused: %s", payer->id, command_type_name(command->type),
             (unsigned long long)command->sequence, result->reason);
}

static void s_genesis_answered(sim_t *sim, unsigned server, const fsm_command_result_t *result)
{
    ledger_participant_t row;
    if (!result->accepted && ledger_participant_get(fsm_ledger(sim->nodes[server].fsm),
                                                    s_payer_ids[0], &row) != SETTLE_OK)
        sim_fail(sim, "genesis refused: %s", result->reason);
    sim->genesis_done = true;
    sim->genesis.state = SIM_IDLE;
}

/* An answer: which of the entry's commands were whose, and what became of
 * each.  Only commands still waiting on this request are moved on. */
static void s_answered(sim_t *sim, sim_request_t *request, const fsm_results_t *results)
{
    for (uint32_t k = 0; k < request->count; k++) {
        uint32_t position = request->positions[k];
        if (position >= results->command_count)
            sim_fail(sim, "no result for command %u of index %llu", position,
                     (unsigned long long)request->request.index);
        const fsm_command_result_t *result = &results->commands[position];
        uint32_t request_number = (uint32_t)(request - sim->requests);
        if (request->owners[k] == SIM_OWNER_GENESIS) {
            if (sim->genesis.state == SIM_INFLIGHT && sim->genesis.request == request_number)
                s_genesis_answered(sim, request->server, result);
            continue;
        }
        sim_payer_t *payer = &sim->payers[request->owners[k]];
        if (payer->command.state == SIM_INFLIGHT && payer->command.request == request_number)
            s_payer_answered(sim, (unsigned)request->owners[k], request->server, result);
        else if (result->accepted) /* an abandoned copy that made it */
            sim->commands_accepted++;
    }
}

static void s_release(sim_t *sim, sim_request_t *request)
{
    uint32_t request_number = (uint32_t)(request - sim->requests);
    for (uint32_t k = 0; k < request->count; k++) {
        sim_command_t *command = request->owners[k] == SIM_OWNER_GENESIS
                                     ? &sim->genesis
                                     : &sim->payers[request->owners[k]].command;
        if (command->state == SIM_INFLIGHT && command->request == request_number)
            command->state = SIM_READY;
    }
}

/* raft_apply's callback, on the server the request went to. */
static void s_applied(struct raft_apply *apply, int status, void *result)
{
    sim_request_t *request = (sim_request_t *)apply;
    sim_t *sim = apply->data;
    if (sim->closing)
        return;
    request->resolved = true;
    if (status != 0) {
        sim_trace(sim, "request %u at index %llu failed: %s", (unsigned)(request - sim->requests),
                  (unsigned long long)apply->index, raft_strerror(status));
        s_release(sim, request);
        return;
    }
    sim_slot_t *slot = sim_slot(sim, apply->index);
    if (!slot->entry_known || memcmp(slot->entry_digest, request->digest, SIM_DIGEST_SIZE) != 0)
        sim_fail(sim, "index %llu acknowledged, but another entry was applied there",
                 (unsigned long long)apply->index);
    slot->acknowledged = true;
    sim->acknowledged++;
    if (apply->index > sim->acknowledged_max)
        sim->acknowledged_max = apply->index;
    const raft_fsm_result_t *answer = result;
    if (request->count == 0) { /* junk: every server must refuse it whole */
        if (answer->code == SETTLE_OK)
            sim_fail(sim, "junk entry at index %llu was applied", (unsigned long long)apply->index);
        return;
    }
    if (answer->code != SETTLE_OK || !answer->results)
        sim_fail(sim, "index %llu refused whole: %s", (unsigned long long)apply->index,
                 answer->error.message);
    sim_trace(sim, "request %u acknowledged at index %llu", (unsigned)(request - sim->requests),
              (unsigned long long)apply->index);
    s_answered(sim, request, answer->results);
}

/* ------------------------------------------------------------------------
 * Submitting
 * ------------------------------------------------------------------------ */

/* A random live server that believes it leads, or servers when none does. */
static unsigned s_pick_leader(sim_t *sim)
{
    unsigned candidates[SIM_SERVERS_MAX], count = 0;
    for (unsigned i = 0; i < sim->servers; i++) {
        struct raft *raft = raft_fixture_get(&sim->fixture, i);
        if (raft_fixture_alive(&sim->fixture, i) && raft_state(raft) == RAFT_LEADER)
            candidates[count++] = i;
    }
    return count ? candidates[sim_rng_below(&sim->rng, count)] : sim->servers;
}

/*
 * The leader's check before a command enters the log (fsm_check_command).
 * A command whose sequence number the leader's ledger has already passed
 * was applied by an earlier copy: its client moves on.  Returns whether
 * the command may be submitted now.
 */
static bool s_leader_check(sim_t *sim, unsigned server, int owner)
{
    fsm_t *fsm = sim->nodes[server].fsm;
    settle_error_t reason;
    if (owner == SIM_OWNER_GENESIS) {
        if (fsm_check_command(fsm, s_genesis[0].bytes, s_genesis[0].size, &reason) == SETTLE_OK)
            return true;
        ledger_participant_t row;
        if (ledger_participant_get(fsm_ledger(fsm), s_payer_ids[0], &row) == SETTLE_OK) {
            sim_trace(sim, "genesis already applied");
            sim->genesis_done = true;
            sim->genesis.state = SIM_IDLE;
        }
        return false;
    }
    sim_payer_t *payer = &sim->payers[owner];
    if (fsm_check_command(fsm, payer->command.bytes, payer->command.size, &reason) == SETTLE_OK)
        return true;
    uint64_t next = s_next_sequence(sim, server, payer->id);
    if (next > payer->command.sequence) {
        sim_trace(sim, "%s sequence %llu already applied", payer->id,
                  (unsigned long long)payer->command.sequence);
        s_payer_applied(sim, payer);
    }
    return false;
}

/* The entry for the owners (their ready commands), to server. */
static void s_submit_entry(sim_t *sim, unsigned server, const int *owners, uint32_t count)
{
    if (sim->request_count >= SIM_REQUESTS_MAX)
        return;
    sim_request_t *request = &sim->requests[sim->request_count];
    memset(request, 0, sizeof *request);
    const uint8_t *commands[SIM_GENESIS_COMMANDS + SIM_PAYERS];
    size_t sizes[SIM_GENESIS_COMMANDS + SIM_PAYERS];
    uint32_t total = 0;
    for (uint32_t k = 0; k < count; k++) {
        request->owners[k] = owners[k];
        request->positions[k] = total;
        if (owners[k] == SIM_OWNER_GENESIS) {
            for (unsigned i = 0; i < SIM_GENESIS_COMMANDS; i++) {
                commands[total] = s_genesis[i].bytes;
                sizes[total++] = s_genesis[i].size;
            }
        } else {
            commands[total] = sim->payers[owners[k]].command.bytes;
            sizes[total++] = sim->payers[owners[k]].command.size;
        }
    }
    request->count = count;
    raft_time now = raft_fixture_time(&sim->fixture);
    uint8_t *entry = NULL;
    size_t size = 0;
    if (command_entry_encode(SIM_T0_MS + now, commands, sizes, total, &entry, &size) != SETTLE_OK)
        sim_fail(sim, "cannot encode an entry");
    struct raft_buffer buffer;
    if (raft_fsm_buffer(entry, size, &buffer) != SETTLE_OK)
        sim_fail(sim, "out of memory");
    hash_sha256(buffer.base, buffer.len, request->digest); /* as the log holds it, padded */
    settle_free(entry);
    request->request.data = sim;
    request->server = server;
    request->submitted_ms = now;
    struct raft *raft = raft_fixture_get(&sim->fixture, server);
    int rv = raft_apply(raft, &request->request, &buffer, 1, s_applied);
    if (rv != 0) {
        raft_fsm_buffer_refused(&buffer, rv);
        sim_trace(sim, "raft_apply on %u: %s", server, raft_strerror(rv));
        return;
    }
    uint32_t number = sim->request_count++;
    for (uint32_t k = 0; k < count; k++) {
        sim_command_t *command =
            owners[k] == SIM_OWNER_GENESIS ? &sim->genesis : &sim->payers[owners[k]].command;
        command->state = SIM_INFLIGHT;
        command->request = number;
    }
    sim_trace(sim, "request %u: %u owner(s) to server %u", number, count, server);
}

void sim_workload_submit(sim_t *sim, bool want_more)
{
    if (sim->genesis_done && want_more)
        for (unsigned p = 0; p < SIM_PAYERS; p++)
            if (sim->payers[p].command.state == SIM_IDLE && sim_rng_percent(&sim->rng, 70))
                s_payer_next(sim, p);
    unsigned server = s_pick_leader(sim);
    if (server == sim->servers)
        return;
    int owners[SIM_ENTRY_COMMANDS_MAX];
    uint32_t count = 0;
    if (!sim->genesis_done && sim->genesis.state == SIM_READY &&
        s_leader_check(sim, server, SIM_OWNER_GENESIS))
        owners[count++] = SIM_OWNER_GENESIS;
    for (unsigned p = 0; p < SIM_PAYERS && sim->genesis_done; p++)
        if (sim->payers[p].command.state == SIM_READY && s_leader_check(sim, server, (int)p))
            owners[count++] = (int)p;
    if (count == 0)
        return;
    if (sim_rng_percent(&sim->rng, 50)) {
        s_submit_entry(sim, server, owners, count);
        return;
    }
    for (uint32_t k = 0; k < count; k++)
        s_submit_entry(sim, server, &owners[k], 1);
}

void sim_workload_submit_junk(sim_t *sim)
{
    unsigned server = s_pick_leader(sim);
    if (server == sim->servers || sim->request_count >= SIM_REQUESTS_MAX)
        return;
    sim_request_t *request = &sim->requests[sim->request_count];
    memset(request, 0, sizeof *request);
    uint8_t junk[16];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)sim_rng_below(&sim->rng, 256);
    memcpy(junk, "SENT", 4); /* the mark, then nonsense */
    struct raft_buffer buffer;
    if (raft_fsm_buffer(junk, sizeof junk, &buffer) != SETTLE_OK)
        sim_fail(sim, "out of memory");
    hash_sha256(buffer.base, buffer.len, request->digest);
    request->request.data = sim;
    request->server = server;
    request->submitted_ms = raft_fixture_time(&sim->fixture);
    int rv = raft_apply(raft_fixture_get(&sim->fixture, server), &request->request, &buffer, 1,
                        s_applied);
    if (rv != 0) {
        raft_fsm_buffer_refused(&buffer, rv);
        return;
    }
    sim->request_count++;
    sim_trace(sim, "junk entry to server %u", server);
}

void sim_workload_timeouts(sim_t *sim)
{
    raft_time now = raft_fixture_time(&sim->fixture);
    for (uint32_t i = 0; i < sim->request_count; i++) {
        sim_request_t *request = &sim->requests[i];
        if (request->resolved || request->abandoned ||
            now - request->submitted_ms < SIM_PATIENCE_MS)
            continue;
        request->abandoned = true;
        sim_trace(sim, "request %u abandoned", i);
        s_release(sim, request);
    }
}

bool sim_workload_quiet(const sim_t *sim)
{
    if (!sim->genesis_done)
        return false;
    for (unsigned p = 0; p < SIM_PAYERS; p++)
        if (sim->payers[p].command.state != SIM_IDLE)
            return false;
    return true;
}

void sim_workload_check_acknowledged(sim_t *sim)
{
    for (unsigned p = 0; p < SIM_PAYERS; p++) {
        const sim_payer_t *payer = &sim->payers[p];
        for (uint32_t c = 0; c < payer->claim_count; c++) {
            if (!payer->claims[c].acknowledged)
                continue;
            for (unsigned i = 0; i < sim->servers; i++) {
                ledger_claim_t row;
                if (ledger_claim_get(fsm_ledger(sim->nodes[i].fsm), payer->id,
                                     payer->claims[c].claim_id, &row) != SETTLE_OK)
                    sim_fail(sim, "server %u lost acknowledged claim %s of %s", i,
                             payer->claims[c].claim_id, payer->id);
            }
        }
    }
}
