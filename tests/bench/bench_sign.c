/*
 * bench_sign.c - Ed25519 verifications per second: OpenSSL's one at a
 * time, settle's (sign_verify) one at a time, and settle's batches
 * (sign_verify_batch) of 64 signatures by one key and by four keys - the
 * leader's intake checks runs of submits as batches.
 *
 *   bench_sign [SIGNATURES [RUNS]]     default 2048 signatures, 5 runs
 *
 * Each figure is the median of the runs, in verifications per second of
 * CPU time (the process's).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "settle/sign.h"

#define KEYS     4
#define RUNS_MAX 15

static double s_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    sign_item_t *items;
    uint8_t (*keys)[32];
    uint8_t (*digests)[32];
    uint8_t (*signatures)[64];
    size_t count;
} s_set_t;

static void s_openssl(const s_set_t *set)
{
    for (size_t i = 0; i < set->count; i++) {
        const sign_item_t *it = &set->items[i];
        EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, it->public_key, 32);
        EVP_MD_CTX *context = EVP_MD_CTX_new();
        if (!pkey || !context || EVP_DigestVerifyInit(context, NULL, NULL, NULL, pkey) != 1 ||
            EVP_DigestVerify(context, it->signature, 64, it->message, it->size) != 1) {
            fprintf(stderr, "bench_sign: OpenSSL refused signature %zu\n", i);
            exit(1);
        }
        EVP_MD_CTX_free(context);
        EVP_PKEY_free(pkey);
    }
}

static void s_single(const s_set_t *set)
{
    for (size_t i = 0; i < set->count; i++) {
        const sign_item_t *it = &set->items[i];
        if (sign_verify(it->public_key, it->message, it->size, it->signature) != SETTLE_OK) {
            fprintf(stderr, "bench_sign: signature %zu refused\n", i);
            exit(1);
        }
    }
}

static void s_batches(const s_set_t *set)
{
    for (size_t at = 0; at < set->count; at += 64) {
        size_t n = set->count - at < 64 ? set->count - at : 64;
        if (sign_verify_batch(set->items + at, n) != SETTLE_OK) {
            fprintf(stderr, "bench_sign: batch at %zu refused\n", at);
            exit(1);
        }
    }
}

/* count signatures over 32-byte digests, by key i % key_count. */
static s_set_t s_make(sign_key_t *keys[KEYS], size_t key_count, size_t count)
{
    s_set_t set = {.count = count};
    set.items = calloc(count, sizeof *set.items);
    set.keys = calloc(KEYS, sizeof *set.keys);
    set.digests = calloc(count, sizeof *set.digests);
    set.signatures = calloc(count, sizeof *set.signatures);
    if (!set.items || !set.keys || !set.digests || !set.signatures)
        exit(1);
    for (size_t k = 0; k < KEYS; k++)
        sign_key_public(keys[k], set.keys[k]);
    for (size_t i = 0; i < count; i++) {
        size_t k = i % key_count;
        for (int b = 0; b < 32; b++)
            set.digests[i][b] = (uint8_t)(i * 31 + (size_t)b * 7);
        if (sign_message(keys[k], set.digests[i], 32, set.signatures[i]) != SETTLE_OK)
            exit(1);
        set.items[i] = (sign_item_t){set.keys[k], set.digests[i], 32, set.signatures[i]};
    }
    return set;
}

static double s_measure(void (*run)(const s_set_t *), const s_set_t *set, int runs)
{
    double rates[RUNS_MAX];
    for (int r = 0; r < runs; r++) {
        double start = s_cpu();
        run(set);
        rates[r] = (double)set->count / (s_cpu() - start);
    }
    qsort(rates, (size_t)runs, sizeof rates[0], s_compare);
    return rates[runs / 2];
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long count = argc > 1 ? strtol(argv[1], &end, 10) : 2048;
    bool bad = argc > 1 && *end != '\0';
    long runs = argc > 2 ? strtol(argv[2], &end, 10) : 5;
    bad = bad || (argc > 2 && *end != '\0');
    if (bad || argc > 3 || count < 64 || count > 1000000 || runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "usage: bench_sign [SIGNATURES 64..1000000 [RUNS 1..15]]\n");
        return 2;
    }
    sign_key_t *keys[KEYS];
    for (int k = 0; k < KEYS; k++)
        if (sign_key_generate(&keys[k]) != SETTLE_OK)
            return 1;
    s_set_t one = s_make(keys, 1, (size_t)count), four = s_make(keys, KEYS, (size_t)count);
    printf("bench_sign: %ld signatures over 32-byte digests, median of %ld runs, per CPU second\n",
           count, runs);
    printf("  OpenSSL, one at a time:        %9.0f/s\n", s_measure(s_openssl, &one, (int)runs));
    printf("  sign_verify, one at a time:    %9.0f/s\n", s_measure(s_single, &one, (int)runs));
    printf("  batches of 64, one key:        %9.0f/s\n", s_measure(s_batches, &one, (int)runs));
    printf("  batches of 64, four keys:      %9.0f/s\n", s_measure(s_batches, &four, (int)runs));
    for (int k = 0; k < KEYS; k++)
        sign_key_destroy(&keys[k]);
    return 0;
}
