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
#include <unistd.h>

#include "settle/audit.h"

#define BENCH_NAME "bench_audit"
#include "bench_ledger.h"

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
    bench_ledger_t ledger = s_open_prepared(path);
    claim_t *claim = claim_new();
    double start = s_seconds();
    for (long b = 0; b < batches; b++) {
        size_t size;
        uint8_t *entry =
            s_batch_entry(claim, b * BENCH_BATCH_CLAIMS, (uint64_t)(3 + b), ledger.key, &size);
        s_apply(ledger.fsm, ledger.results, entry, size);
    }
    double built = s_seconds() - start;
    claim_destroy(&claim);
    s_close(&ledger);

    uint64_t claims = 0;
    double with = s_verify(path, false, runs, &claims);
    double without = s_verify(path, true, runs, &claims);
    double share = with > without ? (with - without) / with : 0.0;
    printf("bench_audit: %llu claims in %ld entries of %d (built, signed and applied in %.1f s)\n"
           "bench_audit: audit verify, median of %d: %.3f s, %.0f claims/s re-verified "
           "(signatures verified: %.1f%% of the time; without them %.3f s, %.0f claims/s)\n",
           (unsigned long long)claims, batches, BENCH_BATCH_CLAIMS, built, runs, with,
           (double)claims / with, 100.0 * share, without, (double)claims / without);
    s_remove_ledger(path, directory);
    return 0;
}
