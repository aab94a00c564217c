/*
 * bench_codec.c - how fast a claim is encoded, hashed and decoded, on one
 * core: what the ledger pays per claim to store and identify it.
 *
 *   bench_codec [ROUNDS]    prints the median of ROUNDS runs (default 5)
 *
 * The claim is fixtures-like: two lines, every field set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../unit/claim_sample.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"

#define BENCH_CLAIMS     200000
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

/* Runs one round of each operation; rates in claims per second. */
static void s_round(const claim_t *claim, claim_t *scratch, double rates[3])
{
    uint8_t buffer[1024], hash[CLAIM_HASH_SIZE];
    size_t size = claim_encoded_size(claim);
    double start = s_seconds();
    for (int i = 0; i < BENCH_CLAIMS; i++)
        if (claim_encode_into(claim, buffer, sizeof buffer) != SETTLE_OK)
            abort();
    double encoded = s_seconds();
    for (int i = 0; i < BENCH_CLAIMS; i++)
        if (claim_decode_into(scratch, buffer, size, NULL) != SETTLE_OK)
            abort();
    double decoded = s_seconds();
    for (int i = 0; i < BENCH_CLAIMS; i++)
        if (claim_hash(claim, hash) != SETTLE_OK)
            abort();
    double hashed = s_seconds();
    rates[0] = BENCH_CLAIMS / (encoded - start);
    rates[1] = BENCH_CLAIMS / (decoded - encoded);
    rates[2] = BENCH_CLAIMS / (hashed - decoded);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
    if (rounds < 1 || rounds > BENCH_ROUNDS_MAX) {
        fprintf(stderr, "usage: bench_codec [ROUNDS 1..%d]\n", BENCH_ROUNDS_MAX);
        return 2;
    }
    claim_t *claim = claim_new(), *scratch = claim_new();
    if (!claim || !scratch || sample_fill_claim(claim) != 0)
        return 3;
    double rates[3][BENCH_ROUNDS_MAX];
    for (int r = 0; r < rounds; r++) {
        double one[3];
        s_round(claim, scratch, one);
        for (int k = 0; k < 3; k++)
            rates[k][r] = one[k];
    }
    static const char *names[3] = {"encode", "decode", "encode+sha256"};
    printf("bench_codec: %d claims x %d rounds, %zu-byte claim, median claims/s\n", BENCH_CLAIMS,
           rounds, claim_encoded_size(claim));
    for (int k = 0; k < 3; k++) {
        qsort(rates[k], (size_t)rounds, sizeof rates[k][0], s_compare);
        printf("  %-14s %12.0f claims/s\n", names[k], rates[k][rounds / 2]);
    }
    claim_destroy(&claim);
    claim_destroy(&scratch);
    return 0;
}
