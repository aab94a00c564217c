/*
 * bench_interp.c - how many claim lines the interpreter adjudicates per
 * second on one core, against the reference PPO (contracts/plans/ppo.yaml).
 *
 *   bench_interp [ROUNDS] [CLAIMS]   median of ROUNDS (default 7) rounds of
 *                                    CLAIMS claims (default 100000)
 *
 * The claims are built in memory before timing starts: a realistic mix of
 * office visits (some with modifier 25, some by telehealth), labs with
 * bundling, physical therapy over the daily maximum, imaging with and
 * without prior authorization, preventive visits, emergencies, unlisted
 * codes priced at a percent of billed, out-of-network providers, for 4,000
 * members in 1,600 families, so accumulators, limits and the family
 * deductible all come into play.  Every round starts from an empty
 * accumulator state.  The benchmark also counts allocations per round:
 * the only ones allowed are the claim history's 1 MiB chunks (each holds
 * thousands of claims) and the occasional growth of the state's tables,
 * so at most one per 1,000 claims plus 64; none per claim or line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "settle/alloc.h"
#include "settle/contract.h"
#include "settle/date.h"
#include "settle/enrollment.h"
#include "settle/interp.h"

#ifndef SETTLE_SOURCE_DIR
#define SETTLE_SOURCE_DIR "."
#endif

#define BENCH_MEMBERS    4000
#define BENCH_ROUNDS_MAX 21

static double s_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A fixed pseudo-random sequence, so every run adjudicates the same claims. */
static uint32_t s_next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*seed >> 33);
}

static char *s_read(const char *path, size_t *size_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *text = malloc(1 << 20);
    size_t size = text ? fread(text, 1, (1 << 20) - 1, file) : 0;
    fclose(file);
    *size_out = size;
    return text;
}

static enrollment_t *s_enrollment(void)
{
    size_t capacity = (size_t)BENCH_MEMBERS * 160 + 64, used = 0;
    char *text = malloc(capacity);
    if (!text)
        return NULL;
    used += (size_t)snprintf(text, capacity, "members:\n");
    for (int i = 0; i < BENCH_MEMBERS; i++)
        used += (size_t)snprintf(text + used, capacity - used,
                                 "  - {id: M%06d, family: F%05d, contract: ACME-PPO-2026, "
                                 "birth_date: %d-%02d-15, sex: %c, coverage: {from: 2026-01-01}}\n",
                                 i, i * 2 / 5, 1950 + i % 70, 1 + i % 12, i % 2 ? 'M' : 'F');
    enrollment_t *enrollment = NULL;
    settle_error_t error;
    if (enrollment_load_text(text, used, "bench-members.yaml", &enrollment, &error) != SETTLE_OK)
        fprintf(stderr, "bench_interp: enrollment: %s\n", error.message);
    free(text);
    return enrollment;
}

/* One service line, from the mix. */
typedef struct {
    const char *code;
    const char *modifier;
    int units;
    int64_t charge_cents;
} s_service_t;

static const s_service_t s_services[] = {
    {"99213", "", 1, 15000},  {"99214", "", 1, 22000},  {"99214", "25", 1, 24000},
    {"99213", "", 1, 15000},  {"36415", "", 1, 2500},   {"80053", "", 1, 4500},
    {"82947", "", 1, 1800},   {"85025", "", 1, 3000},   {"83036", "", 1, 4000},
    {"97110", "", 3, 18000},  {"97110", "", 5, 30000},  {"97140", "", 2, 9000},
    {"70551", "", 1, 140000}, {"G0101", "", 1, 9000},   {"99283", "", 1, 60000},
    {"71045", "", 1, 25000},  {"93000", "", 1, 8000},   {"S9990", "", 1, 5000},
};

#define S_SERVICE_COUNT (sizeof s_services / sizeof s_services[0])

static int s_fill_claim(claim_t *claim, int index, uint64_t *seed)
{
    static const char *npis[] = {"1234567893", "1987654328", "1497758544", "1245319599"};
    static const char *diagnoses[] = {"M545", "E119", "I10", "R51", "Z0000"};
    claim_reset(claim);
    snprintf(claim->claim_id, sizeof claim->claim_id, "C%08d", index);
    memcpy(claim->payer_id, "ACMEHP", 7);
    uint32_t r = s_next(seed);
    memcpy(claim->billing_npi, npis[r % 4], CLAIM_NPI_SIZE);
    snprintf(claim->member_id, sizeof claim->member_id, "M%06u", s_next(seed) % BENCH_MEMBERS);
    memcpy(claim->place_of_service, r % 7 == 0 ? "02" : "11", 3);
    if (r % 3 == 0)
        memcpy(claim->prior_authorization, "PA1", 4);
    claim->diagnosis_count = 2;
    const char *diagnosis = diagnoses[s_next(seed) % 5];
    memcpy(claim->diagnoses[0], diagnosis, strlen(diagnosis) + 1); /* not past the literal */
    memcpy(claim->diagnoses[1], "M545", 5);
    int32_t day;
    date_from_ymd(2026, 1 + (int)(s_next(seed) % 12), 1 + (int)(s_next(seed) % 28), &day);
    uint32_t lines = 1 + s_next(seed) % 5;
    for (uint32_t i = 0; i < lines; i++) {
        claim_line_t *line;
        if (claim_add_line(claim, &line) != SETTLE_OK)
            return -1;
        const s_service_t *service = &s_services[s_next(seed) % S_SERVICE_COUNT];
        memcpy(line->procedure_code, service->code, strlen(service->code) + 1);
        memcpy(line->modifiers[0], service->modifier, strlen(service->modifier) + 1);
        line->units_milli = service->units * CLAIM_UNITS_MILLI_PER_UNIT;
        line->charge_cents = service->charge_cents;
        line->service_from = line->service_to = day;
        claim->total_charge_cents += line->charge_cents;
    }
    return 0;
}

typedef struct {
    const contract_t *contract;
    const enrollment_t *enrollment;
    claim_t **claims;
    int claim_count;
    long lines;
    interp_decision_t *decision;
    interp_changes_t *changes;
} s_bench_t;

/* One round from an empty state; lines per second, and the allocations. */
static double s_round(s_bench_t *bench, long *allocations_out)
{
    interp_state_t *state = interp_state_new();
    int32_t received;
    date_from_ymd(2026, 12, 31, &received);
    long before = settle_alloc_attempts();
    double start = s_seconds();
    for (int i = 0; i < bench->claim_count; i++) {
        settle_error_t error;
        if (interp_adjudicate(&bench->contract, 1, bench->enrollment, state, bench->claims[i],
                              received, bench->decision, bench->changes, &error) != SETTLE_OK) {
            fprintf(stderr, "bench_interp: %s\n", error.message);
            exit(3);
        }
    }
    double seconds = s_seconds() - start;
    *allocations_out = settle_alloc_attempts() - before;
    interp_state_destroy(&state);
    return (double)bench->lines / seconds;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 7;
    int claim_count = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 100000;
    if (rounds < 1 || rounds > BENCH_ROUNDS_MAX || claim_count < 1 || claim_count > 10000000) {
        fprintf(stderr, "usage: bench_interp [ROUNDS 1..%d] [CLAIMS]\n", BENCH_ROUNDS_MAX);
        return 2;
    }
    size_t size;
    char *text = s_read(SETTLE_SOURCE_DIR "/contracts/plans/ppo.yaml", &size);
    contract_t *contract = NULL;
    settle_error_t error;
    if (!text || contract_load_text(text, size, "ppo.yaml", &contract, &error, NULL, NULL) !=
                     SETTLE_OK) {
        fprintf(stderr, "bench_interp: cannot load %s/contracts/plans/ppo.yaml\n",
                SETTLE_SOURCE_DIR);
        return 3;
    }
    free(text);
    s_bench_t bench = {.contract = contract, .enrollment = s_enrollment(),
                       .claims = calloc((size_t)claim_count, sizeof(claim_t *)),
                       .claim_count = claim_count, .decision = interp_decision_new(),
                       .changes = malloc(sizeof(interp_changes_t))};
    if (!bench.enrollment || !bench.claims || !bench.decision || !bench.changes)
        return 3;
    uint64_t seed = 42;
    for (int i = 0; i < claim_count; i++) {
        bench.claims[i] = claim_new();
        if (!bench.claims[i] || s_fill_claim(bench.claims[i], i, &seed) != 0)
            return 3;
        bench.lines += bench.claims[i]->line_count;
    }
    double rates[BENCH_ROUNDS_MAX];
    long allocations = 0;
    for (int r = 0; r < rounds; r++)
        rates[r] = s_round(&bench, &allocations);
    qsort(rates, (size_t)rounds, sizeof rates[0], s_compare);
    long allowed = claim_count / 1000 + 64;
    bool bounded = allocations <= allowed;
    printf("bench_interp: ppo.yaml, %d claims, %ld lines x %d rounds, one core\n", claim_count,
           bench.lines, rounds);
    printf("  adjudicate     %12.0f lines/s (median; min %.0f, max %.0f)\n", rates[rounds / 2],
           rates[0], rates[rounds - 1]);
    printf("  allocations    %ld per round (history chunks and table growth; at most %ld): %s\n",
           allocations, allowed,
           bounded ? "none per claim or line" : "UNEXPECTED: allocation per claim or line");
    for (int i = 0; i < claim_count; i++)
        claim_destroy(&bench.claims[i]);
    free(bench.claims);
    free(bench.changes);
    interp_decision_destroy(&bench.decision);
    enrollment_destroy((enrollment_t **)&bench.enrollment);
    contract_destroy(&contract);
    return bounded ? 0 : 1;
}
