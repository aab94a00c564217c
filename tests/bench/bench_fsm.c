/*
 * bench_fsm.c - claims applied per second by the state machine alone, on
 * one node, in entries of one batch of 100 claims: decode, adjudicate
 * against the reference PPO, write claim, lines, adjustments, accumulator
 * changes and transfer, link the chain, commit.  Entries are built (and
 * signed) before the clock starts: that is the leader's work, not apply's.
 *
 *   bench_fsm [memory|file] [BATCHES [CLAIMS]]   default: memory 2000 100
 *
 * CLAIMS (1..100) is the claims of each entry: 1 shows what an entry costs
 * apart from its claims (a cluster with one claim in flight).
 *
 * "memory" is an in-memory SQLite database, "file" a WAL database in a
 * temporary directory (synchronous = OFF, as the node runs it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_NAME "bench_fsm"
#include "bench_ledger.h"

/* The process's CPU time: on a shared machine, where the wall clock also
 * counts the time other processes held the CPU, this one does not. */
static double s_cpu_seconds(void)
{
    return s_clock(CLOCK_PROCESS_CPUTIME_ID);
}

int main(int argc, char **argv)
{
    bool file = argc > 1 && strcmp(argv[1], "file") == 0;
    long batches = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    long per_entry = argc > 3 ? strtol(argv[3], NULL, 10) : BENCH_BATCH_CLAIMS;
    if (batches < 1 || batches > 100000 || per_entry < 1 || per_entry > BENCH_BATCH_CLAIMS ||
        (argc > 1 && !file && strcmp(argv[1], "memory"))) {
        fprintf(stderr, "usage: bench_fsm [memory|file] [BATCHES 1..100000 [CLAIMS 1..100]]\n");
        return 2;
    }
    char directory[] = "/tmp/bench-fsm-XXXXXX", path[128] = ":memory:";
    if (file && mkdtemp(directory))
        snprintf(path, sizeof path, "%s/ledger.db", directory);
    bench_ledger_t ledger = s_open_prepared(path);

    claim_t *claim = claim_new();
    uint8_t **entries = malloc((size_t)batches * sizeof *entries);
    size_t *sizes = malloc((size_t)batches * sizeof *sizes);
    for (long b = 0; b < batches; b++)
        entries[b] = s_batch_entry_of(claim, b * per_entry, (int)per_entry, (uint64_t)(3 + b),
                                      ledger.key, &sizes[b]);
    double start = s_seconds(), cpu_start = s_cpu_seconds();
    for (long b = 0; b < batches; b++)
        s_apply(ledger.fsm, ledger.results, entries[b], sizes[b]);
    double elapsed = s_seconds() - start, cpu = s_cpu_seconds() - cpu_start;
    long claims = batches * per_entry;
    printf("bench_fsm: %s SQLite, %ld claims in %ld entries of %ld: %.3f s, %.0f claims/s,"
           " %.1f us an entry (CPU %.3f s, %.0f claims per CPU second)\n",
           file ? "file (WAL)" : "in-memory", claims, batches, per_entry, elapsed,
           (double)claims / elapsed, elapsed * 1e6 / (double)batches, cpu, (double)claims / cpu);
    free(entries);
    free(sizes);
    claim_destroy(&claim);
    s_close(&ledger);
    if (file)
        s_remove_ledger(path, directory);
    return 0;
}
