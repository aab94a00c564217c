/*
 * bench_audit.c - claims re-verified per second by `settle audit verify`
 * (audit_verify, issue 8): a ledger of N claims is built on a file with
 * the real state machine (entries of one signed batch of 100 two-line
 * claims against the reference PPO, as bench_fsm), closed, then verified:
 * every entry replayed into a fresh in-memory state machine with every
 * signature checked again, every link and every table compared.
 *
 *   bench_audit [CLAIMS] [RUNS]      default: 200000 claims, 3 runs
 *
 * It prints the median wall time and claims/s of the runs, and the share
 * of the time spent verifying signatures, measured as the difference
 * with the same replay that skips them (audit_options_t.skip_signatures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "settle/alloc.h"
#include "settle/audit.h"
#include "settle/claim_codec.h"
#include "settle/date.h"
#include "settle/fsm.h"

static double s_clock(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double s_seconds(void)
{
    return s_clock(CLOCK_MONOTONIC);
}

static void s_check(int rc, const char *what)
{
    if (rc != SETTLE_OK) {
        fprintf(stderr, "bench_audit: %s: %s\n", what, settle_strerror(rc));
        exit(1);
    }
}

#define BENCH_BATCH_CLAIMS 100
#define BENCH_MEMBERS      20000
#define BENCH_T0_MS        UINT64_C(1793491200000) /* 2026-11-01 */

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
        fprintf(stderr, "bench_audit: apply: %s %s\n", error.message,
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
    s_text(fsm, results, COMMAND_ENROLL, 1, members, used, key);
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
}

static uint8_t *s_batch_entry(claim_t *claim, long first, uint64_t sequence, const sign_key_t *key,
                              size_t *size_out)
{
    uint8_t *claims[BENCH_BATCH_CLAIMS], *payload;
    size_t sizes[BENCH_BATCH_CLAIMS], size;
    for (int i = 0; i < BENCH_BATCH_CLAIMS; i++) {
        s_claim(claim, first + i);
        s_check(claim_encode(claim, &claims[i], &sizes[i]), "claim");
    }
    s_check(command_batch_encode("ACMEHP", (const uint8_t *const *)claims, sizes,
                                 BENCH_BATCH_CLAIMS, &payload, &size),
            "batch");
    for (int i = 0; i < BENCH_BATCH_CLAIMS; i++)
        settle_free(claims[i]);
    uint8_t *entry = s_entry(COMMAND_BATCH, "ACMEHP", sequence, payload, size, key, size_out);
    settle_free(payload);
    return entry;
}

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median wall time of runs verifications (at most 15). */
static double s_verify(const char *path, bool skip_signatures, int runs, uint64_t *claims_out)
{
    double times[15];
    for (int r = 0; r < runs; r++) {
        audit_options_t options = {.skip_signatures = skip_signatures};
        audit_totals_t totals;
        audit_divergence_t divergence;
        settle_error_t error;
        settle_error_clear(&error);
        double start = s_seconds();
        int rc = audit_verify(path, &options, &totals, &divergence, &error);
        times[r] = s_seconds() - start;
        if (rc != SETTLE_OK) {
            fprintf(stderr, "bench_audit: verify: %s%s\n", error.message, divergence.what);
            exit(1);
        }
        *claims_out = totals.claim_count;
    }
    qsort(times, (size_t)runs, sizeof times[0], s_compare);
    return times[runs / 2];
}

int main(int argc, char **argv)
{
    long claims_wanted = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
    if (claims_wanted < BENCH_BATCH_CLAIMS || claims_wanted > 10000000 || runs < 1 || runs > 15) {
        fprintf(stderr, "usage: bench_audit [CLAIMS 100..10000000] [RUNS 1..15]\n");
        return 2;
    }
    long batches = claims_wanted / BENCH_BATCH_CLAIMS;
    char directory[] = "/tmp/bench-audit-XXXXXX", path[128];
    if (!mkdtemp(directory))
        return 1;
    snprintf(path, sizeof path, "%s/ledger.sqlite", directory);
    uint8_t seed[SIGN_SEED_SIZE] = {1};
    sign_key_t *key = NULL;
    s_check(sign_key_from_seed(seed, &key), "key");
    fsm_t *fsm = NULL;
    s_check(fsm_open(path, &fsm, NULL), "open");
    fsm_results_t *results = fsm_results_new();
    s_prepare(fsm, results, key);
    claim_t *claim = claim_new();
    double start = s_seconds();
    for (long b = 0; b < batches; b++) {
        size_t size;
        uint8_t *entry = s_batch_entry(claim, b * BENCH_BATCH_CLAIMS, (uint64_t)(3 + b), key, &size);
        s_apply(fsm, results, entry, size);
    }
    double built = s_seconds() - start;
    claim_destroy(&claim);
    fsm_results_destroy(&results);
    fsm_destroy(&fsm);
    sign_key_destroy(&key);

    uint64_t claims = 0;
    double with = s_verify(path, false, runs, &claims);
    double without = s_verify(path, true, runs, &claims);
    double share = with > without ? (with - without) / with : 0.0;
    printf("bench_audit: %llu claims in %ld entries of %d (built, signed and applied in %.1f s)\n"
           "bench_audit: audit verify, median of %d: %.3f s, %.0f claims/s re-verified "
           "(signatures verified: %.1f%% of the time; without them %.3f s, %.0f claims/s)\n",
           (unsigned long long)claims, batches, BENCH_BATCH_CLAIMS, built, runs, with,
           (double)claims / with, 100.0 * share, without, (double)claims / without);
    char name[160];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
    rmdir(directory);
    return 0;
}
