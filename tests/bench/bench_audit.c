/*
 * bench_audit.c - claims re-verified per second by `settle audit verify`
 * (audit_verify, issue 8): a ledger of N claims is built on a file with
 * the real state machine (entries of one signed batch of 100 two-line
 * claims against the reference PPO, as bench_fsm), closed, then verified:
 * every entry replayed into a fresh in-memory state machine with every
 * signature checked again, every link and every table compared.
 *
 *   bench_audit [--ledger PATH] [CLAIMS] [RUNS]   default: 200000 claims, 3 runs
 *
 * It prints the median wall time and claims/s of the runs, and the share
 * of the time spent verifying signatures, measured as the difference
 * with the same replay that skips them (audit_options_t.skip_signatures);
 * the two kinds of run alternate, so a busy neighbour slows both alike.
 * CPU time is printed too: on a shared machine the wall clock also counts
 * the time other processes held the CPU.
 *
 * --ledger PATH keeps the ledger: it is built at PATH when no file is
 * there (and left there), and verified as it is when one is (CLAIMS is
 * then ignored).  Building a million claims takes longer than verifying
 * them, so repeated measurements of one size want this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settle/audit.h"

#define BENCH_NAME "bench_audit"
#include "bench_ledger.h"

#define BENCH_RUNS_MAX 15

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof values[0], s_compare);
    return values[count / 2];
}

/* One verification; its wall and CPU seconds. */
static void s_verify(const char *path, bool skip_signatures, double *wall_out, double *cpu_out,
                     uint64_t *claims_out)
{
    audit_options_t options = {.skip_signatures = skip_signatures};
    audit_totals_t totals;
    audit_divergence_t divergence;
    settle_error_t error;
    settle_error_clear(&error);
    double start = s_seconds(), cpu = s_clock(CLOCK_PROCESS_CPUTIME_ID);
    int rc = audit_verify(path, &options, &totals, &divergence, &error);
    *wall_out = s_seconds() - start;
    *cpu_out = s_clock(CLOCK_PROCESS_CPUTIME_ID) - cpu;
    if (rc != SETTLE_OK) {
        fprintf(stderr, "bench_audit: verify: %s%s\n", error.message, divergence.what);
        exit(1);
    }
    *claims_out = totals.claim_count;
}

/* Builds a ledger of batches entries of BENCH_BATCH_CLAIMS claims at path;
 * returns the seconds it took. */
static double s_build(const char *path, long batches)
{
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
    return built;
}

static int s_usage(FILE *out, int code)
{
    fprintf(out,
            "usage: bench_audit [--ledger PATH] [CLAIMS 100..10000000] [RUNS 1..%d]\n"
            "  default 200000 claims, 3 runs; --ledger keeps the ledger at PATH\n"
            "  (built there when absent, verified as it is when present)\n",
            BENCH_RUNS_MAX);
    return code;
}

int main(int argc, char **argv)
{
    const char *kept = NULL;
    long numbers[2] = {200000, 3};
    int count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return s_usage(stdout, 0);
        if (strcmp(argv[i], "--ledger") == 0 && i + 1 < argc)
            kept = argv[++i];
        else if (argv[i][0] != '-' && count < 2)
            numbers[count++] = strtol(argv[i], NULL, 10);
        else
            return s_usage(stderr, 2);
    }
    long claims_wanted = numbers[0];
    int runs = (int)numbers[1];
    if (claims_wanted < BENCH_BATCH_CLAIMS || claims_wanted > 10000000 || runs < 1 ||
        runs > BENCH_RUNS_MAX)
        return s_usage(stderr, 2);
    long batches = claims_wanted / BENCH_BATCH_CLAIMS;
    char directory[] = "/tmp/bench-audit-XXXXXX", temporary[128];
    const char *path = kept;
    struct stat status;
    double built = -1;
    if (!kept) {
        if (!mkdtemp(directory))
            return 1;
        snprintf(temporary, sizeof temporary, "%s/ledger.sqlite", directory);
        path = temporary;
    }
    if (!kept || stat(path, &status) != 0)
        built = s_build(path, batches);

    /* With and without signatures, alternately. */
    double with[BENCH_RUNS_MAX], without[BENCH_RUNS_MAX];
    double with_cpu[BENCH_RUNS_MAX], without_cpu[BENCH_RUNS_MAX];
    uint64_t claims = 0;
    for (int r = 0; r < runs; r++) {
        s_verify(path, false, &with[r], &with_cpu[r], &claims);
        s_verify(path, true, &without[r], &without_cpu[r], &claims);
    }
    double a = s_median(with, runs), b = s_median(without, runs);
    double a_cpu = s_median(with_cpu, runs), b_cpu = s_median(without_cpu, runs);
    double share = a > b ? (a - b) / a : 0.0,
           share_cpu = a_cpu > b_cpu ? (a_cpu - b_cpu) / a_cpu : 0.0;
    if (built >= 0)
        printf("bench_audit: %llu claims (entries of %d), built, signed and applied in %.1f s\n",
               (unsigned long long)claims, BENCH_BATCH_CLAIMS, built);
    printf("bench_audit: audit verify of %llu claims, median of %d:\n"
           "  %.3f s, %.0f claims/s re-verified (CPU %.3f s, %.0f claims per CPU second)\n"
           "  signatures verified: %.1f%% of the time (%.1f%% of the CPU time);\n"
           "  without them %.3f s, %.0f claims/s (CPU %.3f s, %.0f claims per CPU second)\n",
           (unsigned long long)claims, runs, a, (double)claims / a, a_cpu, (double)claims / a_cpu,
           100.0 * share, 100.0 * share_cpu, b, (double)claims / b, b_cpu, (double)claims / b_cpu);
    if (!kept)
        s_remove_ledger(temporary, directory);
    return 0;
}
