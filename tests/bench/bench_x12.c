/*
 * bench_x12.c - how many megabytes of 837P the reader reads and maps per
 * second on one core, and how much memory it needs while doing so.
 *
 *   bench_x12 [ROUNDS]    prints the median of ROUNDS runs (default 5)
 *
 * The input is generated in memory with the 837 writer: 100,000
 * professional claims (two service lines, three diagnoses, a rendering
 * provider, a prior authorization, an other payer; about 25 segments each)
 * in 100 interchanges of 1,000 claims.  Every claim is read, mapped,
 * validated and delivered.  Memory: the reader allocates one claim for the
 * whole file, so the live heap while reading stays at one claim whatever
 * the file's size (the input buffer is the caller's); the peak RSS is
 * reported from getrusage, with the input's size for comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/x12.h"
#include "settle/x12_837_write.h"

#define BENCH_CLAIMS       100000
#define BENCH_PER_ENVELOPE 1000
#define BENCH_ROUNDS_MAX   21
#define SET(field, text)   CLAIM_SET_TEXT((field), (text), strlen(text))

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

static long s_max_rss_kb(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/* A claim of the usual shape, its id and amounts varied by n. */
static void s_fill(claim_t *c, unsigned n)
{
    char id[32];
    snprintf(id, sizeof id, "PCN%08u", n);
    claim_reset(c);
    c->kind = CLAIM_KIND_PROFESSIONAL;
    int rc = SET(c->claim_id, id) | SET(c->payer_id, "PAYER01") |
             SET(c->billing_npi, n % 7 ? "1234567893" : "1245319599") |
             SET(c->rendering_npi, "1245319599") | SET(c->member_id, "MEM000123456") |
             SET(c->prior_authorization, "AUTH777") | SET(c->place_of_service, "11");
    rc |= date_from_ymd(1980, 2, 15, &c->patient_birth_date);
    c->patient_sex = CLAIM_SEX_FEMALE;
    c->diagnosis_count = 3;
    rc |= SET(c->diagnoses[0], "M545") | SET(c->diagnoses[1], "R51") | SET(c->diagnoses[2], "E119");
    c->other_payer_count = 1;
    rc |= SET(c->other_payers[0].payer_id, "OTHERPAYER");
    c->other_payers[0].responsibility = 'P';
    c->other_payers[0].paid_cents = 2000;
    c->total_charge_cents = 0;
    for (int i = 0; i < 2; i++) {
        claim_line_t *line;
        rc |= claim_add_line(c, &line);
        rc |= SET(line->procedure_code, i ? "97110" : "99213");
        rc |= SET(line->modifiers[0], i ? "GP" : "25");
        line->units_milli = i ? 1500 : 1000;
        line->charge_cents = 10050 + (int64_t)(n % 1000) + i * 2525;
        rc |= date_from_ymd(2026, 1, 5 + i, &line->service_from);
        line->service_to = line->service_from;
        line->diagnosis_pointers[0] = 1;
        line->diagnosis_pointers[1] = (uint8_t)(2 + i);
        c->total_charge_cents += line->charge_cents;
    }
    if (rc)
        abort();
}

/* Appends one interchange of count claims from first to *text. */
static void s_append_envelope(char **text, size_t *length, unsigned first, unsigned count,
                              claim_t *claim)
{
    x12_837_write_options_t options = {
        1 + first / BENCH_PER_ENVELOPE, "20260301", "0930", "SUBMITTER", "RECEIVER", 'P'};
    x12_837_writer_t *writer;
    if (x12_837_writer_new(&options, &writer, NULL) != SETTLE_OK)
        abort();
    for (unsigned i = 0; i < count; i++) {
        s_fill(claim, first + i);
        if (x12_837_writer_add(writer, claim, NULL) != SETTLE_OK)
            abort();
    }
    char *envelope;
    size_t size;
    if (x12_837_writer_finish(writer, &envelope, &size, NULL) != SETTLE_OK)
        abort();
    x12_837_writer_destroy(&writer);
    char *grown = realloc(*text, *length + size);
    if (!grown)
        abort();
    memcpy(grown + *length, envelope, size);
    *text = grown;
    *length += size;
    settle_free(envelope);
}

typedef struct {
    unsigned claims;
    int64_t cents;
    long live_max;
} s_sink_t;

static int s_claim(const claim_t *claim, void *context)
{
    s_sink_t *sink = context;
    sink->claims++;
    sink->cents += claim->total_charge_cents;
    long live = settle_alloc_live();
    if (live > sink->live_max)
        sink->live_max = live;
    return 0;
}

static int s_problem(x12_837_problem_t problem, const char *claim_id, const settle_error_t *error,
                     void *context)
{
    (void)problem, (void)context;
    fprintf(stderr, "bench_x12: unexpected problem with %s: %s\n", claim_id, error->message);
    abort();
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
    if (rounds < 1 || rounds > BENCH_ROUNDS_MAX) {
        fprintf(stderr, "usage: bench_x12 [ROUNDS 1..%d]\n", BENCH_ROUNDS_MAX);
        return 2;
    }
    claim_t *claim = claim_new();
    char *text = NULL;
    size_t length = 0;
    for (unsigned first = 0; first < BENCH_CLAIMS; first += BENCH_PER_ENVELOPE)
        s_append_envelope(&text, &length, first, BENCH_PER_ENVELOPE, claim);
    claim_destroy(&claim);
    long rss_before_kb = s_max_rss_kb(), live_before = settle_alloc_live();
    x12_837_callbacks_t callbacks = {s_claim, s_problem};
    double rates[BENCH_ROUNDS_MAX];
    s_sink_t sink = {0, 0, 0};
    for (int r = 0; r < rounds; r++) {
        sink.claims = 0;
        double start = s_seconds();
        if (x12_837_read(text, length, "bench", &callbacks, &sink, NULL, NULL) != SETTLE_OK ||
            sink.claims != BENCH_CLAIMS)
            abort();
        rates[r] = (double)length / 1e6 / (s_seconds() - start);
    }
    qsort(rates, (size_t)rounds, sizeof rates[0], s_compare);
    printf("837P: %u claims, %.1f MB in %u interchanges\n", BENCH_CLAIMS, (double)length / 1e6,
           BENCH_CLAIMS / BENCH_PER_ENVELOPE);
    printf("read and mapped: %.0f MB/s (median of %d; min %.0f, max %.0f), %.0f claims/s\n",
           rates[rounds / 2], rounds, rates[0], rates[rounds - 1],
           rates[rounds / 2] * 1e6 / ((double)length / BENCH_CLAIMS));
    printf("heap while reading: %ld blocks live beyond the input (one claim and its lines)\n",
           sink.live_max - live_before);
    printf("max RSS: %ld KB before reading (input %zu KB), %ld KB after\n", rss_before_kb,
           length / 1024, s_max_rss_kb());
    free(text);
    return 0;
}
