/*
 * bench_ledger.h - a ledger of signed batches, for the benchmarks that
 * drive the real state machine (bench_fsm, bench_audit); header-only,
 * static functions.
 *
 *   s_open_prepared  a bench_ledger_t: the payer's key (seed 1) and a state
 *                  machine on a path (":memory:" or a file) that s_prepare
 *                  has readied; s_close frees it
 *   s_prepare      genesis (the payer ACMEHP), the reference PPO,
 *                  BENCH_MEMBERS members and plenty of money: sequences 0-2
 *   s_batch_entry  an entry of one batch of BENCH_BATCH_CLAIMS two-line
 *                  office visits, signed by the payer (sequences 3 on);
 *                  s_batch_entry_of one of fewer
 *   s_apply        applies an entry (and frees it); any refusal ends the
 *                  program
 *   s_seconds      wall time; s_clock reads any clock
 *   s_check        ends the program when a step does not return SETTLE_OK
 *   s_remove_ledger  removes a ledger file (with its -wal and -shm) and its
 *                  directory
 *
 * Define BENCH_NAME (the program's name, which starts its error messages)
 * before including it.
 */
#ifndef SETTLE_BENCH_LEDGER_H
#define SETTLE_BENCH_LEDGER_H

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_ledger.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/date.h"
#include "settle/enrollment.h"
#include "settle/fsm.h"
#include "settle/phi.h"

#define BENCH_BATCH_CLAIMS 100
#define BENCH_MEMBERS      20000
#define BENCH_T0_MS        UINT64_C(1793491200000) /* 2026-11-01 */

static double s_clock(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Wall time, the benchmark's figure. */
static double s_seconds(void)
{
    return s_clock(CLOCK_MONOTONIC);
}

static void s_check(int rc, const char *what)
{
    if (rc != SETTLE_OK) {
        fprintf(stderr, BENCH_NAME ": %s: %s\n", what, settle_strerror(rc));
        exit(1);
    }
}

static uint8_t *s_entry(uint8_t type, const char *signer, uint64_t sequence, const uint8_t *payload,
                        size_t payload_size, const sign_key_t *key, size_t *size_out)
{
    command_t command;
    memset(&command, 0, sizeof command);
    command.type = type;
    snprintf(command.participant, sizeof command.participant, "%s", signer);
    command.sequence = sequence;
    command.payload = payload;
    command.payload_size = payload_size;
    if (key)
        s_check(command_sign(&command, key, NULL), "sign");
    uint8_t *bytes, *entry;
    size_t size;
    s_check(command_encode(&command, &bytes, &size), "encode");
    s_check(command_entry_encode(BENCH_T0_MS + sequence, (const uint8_t *const *)&bytes, &size, 1,
                                 &entry, size_out),
            "entry");
    settle_free(bytes);
    return entry;
}

static void s_apply(fsm_t *fsm, fsm_results_t *results, uint8_t *entry, size_t size)
{
    settle_error_t error;
    settle_error_clear(&error);
    if (fsm_apply(fsm, entry, size, results, &error) != SETTLE_OK ||
        (results->command_count && !results->commands[0].accepted)) {
        fprintf(stderr, BENCH_NAME ": apply: %s %s\n", error.message,
                results->command_count ? results->commands[0].reason : "");
        exit(1);
    }
    settle_free(entry);
}

static void s_text(fsm_t *fsm, fsm_results_t *results, uint8_t type, uint64_t sequence,
                   const char *text, size_t length, const sign_key_t *key)
{
    command_text_t value = {(const uint8_t *)text, length};
    uint8_t *payload;
    size_t size, entry_size;
    s_check(command_text_encode(&value, &payload, &size), "text");
    uint8_t *entry = s_entry(type, "ACMEHP", sequence, payload, size, key, &entry_size);
    settle_free(payload);
    s_apply(fsm, results, entry, entry_size);
}

/* The payer's PHI keys, from a fixed secret. */
static phi_key_t s_phi(void)
{
    uint8_t secret[PHI_SECRET_SIZE];
    memset(secret, 0x42, sizeof secret);
    phi_key_t key;
    s_check(phi_key_from_secret(secret, &key), "phi key");
    return key;
}

/* Genesis, the PPO, BENCH_MEMBERS members and plenty of money. */
static void s_prepare(fsm_t *fsm, fsm_results_t *results, const sign_key_t *key)
{
    command_register_t payer = {.role = COMMAND_ROLE_PAYER};
    memcpy(payer.participant, "ACMEHP", 7);
    memcpy(payer.display_name, "ACME", 5);
    sign_key_public(key, payer.public_key);
    uint8_t *payload;
    size_t size, entry_size;
    s_check(command_register_encode(&payer, &payload, &size), "register");
    uint8_t *entry =
        s_entry(COMMAND_REGISTER, COMMAND_GENESIS_PARTICIPANT, 0, payload, size, NULL, &entry_size);
    settle_free(payload);
    s_apply(fsm, results, entry, entry_size);

    FILE *file = fopen(SETTLE_SOURCE_DIR "/contracts/plans/ppo.yaml", "rb");
    char *plan = malloc(1 << 20);
    size_t plan_size = file && plan ? fread(plan, 1, 1 << 20, file) : 0;
    if (file)
        fclose(file);
    s_text(fsm, results, COMMAND_DEPLOY, 0, plan, plan_size, key);
    free(plan);

    size_t capacity = (size_t)BENCH_MEMBERS * 160 + 64, used = 0;
    char *members = malloc(capacity);
    used += (size_t)snprintf(members, capacity, "members:\n");
    for (int i = 0; i < BENCH_MEMBERS; i++)
        used += (size_t)snprintf(members + used, capacity - used,
                                 "  - {id: M%07d, contract: ACME-PPO-2026, birth_date: 1970-01-01,"
                                 " sex: F, coverage: {from: 2026-01-01}}\n",
                                 i);
    /* Protected as the ledger takes it (phi.h): member keys, no birth dates. */
    enrollment_t *enrollment = NULL;
    phi_key_t phi = s_phi();
    char *protected_text = NULL;
    s_check(enrollment_load_text(members, used, "members", &enrollment, NULL), "members");
    s_check(enrollment_protect(enrollment, &phi, "ACMEHP", &protected_text, &used), "members");
    enrollment_destroy(&enrollment);
    s_text(fsm, results, COMMAND_ENROLL, 1, protected_text, used, key);
    settle_free(protected_text);
    free(members);

    command_fund_t fund = {.amount_cents = INT64_C(100000000000000)};
    memcpy(fund.payer, "ACMEHP", 7);
    s_check(command_fund_encode(&fund, &payload, &size), "fund");
    entry = s_entry(COMMAND_FUND, "ACMEHP", 2, payload, size, key, &entry_size);
    settle_free(payload);
    s_apply(fsm, results, entry, entry_size);
}

/* A two-line office visit: an established patient visit and a blood draw. */
static void s_claim(claim_t *claim, long number)
{
    claim_line_t *line;
    char text[32];
    claim_reset(claim);
    int length = snprintf(text, sizeof text, "B%09ld", number);
    CLAIM_SET_TEXT(claim->claim_id, text, (size_t)length);
    CLAIM_SET_TEXT(claim->payer_id, "ACMEHP", 6);
    CLAIM_SET_TEXT(claim->billing_npi, "1234567893", 10);
    length = snprintf(text, sizeof text, "M%07ld", number % BENCH_MEMBERS);
    CLAIM_SET_TEXT(claim->member_id, text, (size_t)length);
    CLAIM_SET_TEXT(claim->place_of_service, "11", 2);
    claim->diagnosis_count = 1;
    CLAIM_SET_TEXT(claim->diagnoses[0], "E119", 4);
    const char *codes[2] = {"99213", "36415"};
    const int64_t charges[2] = {15000, 2000};
    for (int i = 0; i < 2; i++) {
        claim_add_line(claim, &line);
        CLAIM_SET_TEXT(line->procedure_code, codes[i], 5);
        line->units_milli = 1000;
        line->charge_cents = charges[i];
        date_from_ymd(2026, 10, 1 + (int)(number % 28), &line->service_from);
        line->service_to = line->service_from;
        line->diagnosis_pointers[0] = 1;
    }
    claim->total_charge_cents = 17000;
    /* Protected as a payer's client sends it (phi.h): the member key, each
     * line's age, the member id and birth date sealed. */
    static phi_key_t phi;
    static int have_phi;
    if (!have_phi)
        phi = s_phi(), have_phi = 1;
    date_from_ymd(1970, 1, 1, &claim->patient_birth_date);
    s_check(phi_protect_claim(&phi, NULL, claim, NULL), "protect");
}

static uint8_t *s_batch_entry_of(claim_t *claim, long first, int count, uint64_t sequence,
                                 const sign_key_t *key, size_t *size_out)
{
    uint8_t *claims[BENCH_BATCH_CLAIMS], *payload;
    size_t sizes[BENCH_BATCH_CLAIMS], size;
    for (int i = 0; i < count; i++) {
        s_claim(claim, first + i);
        s_check(claim_encode(claim, &claims[i], &sizes[i]), "claim");
    }
    s_check(command_batch_encode("ACMEHP", (const uint8_t *const *)claims, sizes, (size_t)count,
                                 &payload, &size),
            "batch");
    for (int i = 0; i < count; i++)
        settle_free(claims[i]);
    uint8_t *entry = s_entry(COMMAND_BATCH, "ACMEHP", sequence, payload, size, key, size_out);
    settle_free(payload);
    return entry;
}

static inline uint8_t *s_batch_entry(claim_t *claim, long first, uint64_t sequence,
                                     const sign_key_t *key, size_t *size_out)
{
    return s_batch_entry_of(claim, first, BENCH_BATCH_CLAIMS, sequence, key, size_out);
}

/* The payer's key (seed 1), a state machine and its results. */
typedef struct {
    sign_key_t *key;
    fsm_t *fsm;
    fsm_results_t *results;
} bench_ledger_t;

/* The payer's key and a state machine on path, readied by s_prepare. */
static bench_ledger_t s_open_prepared(const char *path)
{
    bench_ledger_t ledger = {NULL, NULL, NULL};
    uint8_t seed[SIGN_SEED_SIZE] = {1};
    s_check(sign_key_from_seed(seed, &ledger.key), "key");
    s_check(fsm_open(path, &ledger.fsm, NULL), "open");
    ledger.results = fsm_results_new();
    s_prepare(ledger.fsm, ledger.results, ledger.key);
    return ledger;
}

/* Closes the state machine, frees its results and the key. */
static void s_close(bench_ledger_t *ledger)
{
    fsm_results_destroy(&ledger->results);
    fsm_destroy(&ledger->fsm);
    sign_key_destroy(&ledger->key);
}

/* Removes the ledger file at path, its -wal and -shm, then directory. */
static void s_remove_ledger(const char *path, const char *directory)
{
    char name[160];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
    rmdir(directory);
}

#endif
