/*
 * fuzz_x12_ack.c - the acknowledgments and the 837 writer on whatever the
 * 837 reader makes of arbitrary bytes.
 *
 * For any input: the collector and its three writers return, and count
 * every claim once; every claim the reader delivers is either refused by
 * the 837 writer with a reason or written, and what is written reads back
 * as the same claims, in order, with no problem (the round trip the writer
 * promises); nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/x12.h"
#include "settle/x12_837_write.h"
#include "settle/x12_ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_KEPT_MAX 32

typedef struct {
    x12_837_writer_t *writer;
    claim_t *kept[S_KEPT_MAX];
    uint32_t written, delivered, compared;
    int failed;
} s_state_t;

static claim_t *s_copy(const claim_t *claim)
{
    claim_t *copy = claim_new();
    if (!copy || claim_copy(copy, claim) != SETTLE_OK)
        abort();
    return copy;
}

static int s_write(const claim_t *claim, void *context)
{
    s_state_t *state = context;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = x12_837_writer_add(state->writer, claim, &error);
    if (rc == SETTLE_OK) {
        if (state->written < S_KEPT_MAX)
            state->kept[state->written] = s_copy(claim);
        state->written++;
    } else if (rc != SETTLE_ERR_INVALID || !error.message[0]) {
        abort(); /* a refusal says why; nothing else may fail here */
    }
    return 0;
}

static int s_compare(const claim_t *claim, void *context)
{
    s_state_t *state = context;
    if (state->compared < S_KEPT_MAX && !claim_equal(claim, state->kept[state->compared]))
        abort();
    state->compared++;
    return 0;
}

static int s_no_problem(x12_837_problem_t problem, const char *claim_id,
                        const settle_error_t *error, void *context)
{
    (void)problem, (void)claim_id, (void)error, (void)context;
    abort(); /* what the writer wrote must read back cleanly */
}

static void s_check_acks(const x12_ack_t *ack, uint32_t delivered, uint32_t rejected)
{
    x12_ack_stamp_t stamp = {1, "20260301", "0930"};
    char *text;
    if (x12_ack_accepted_count(ack) + x12_ack_rejected_count(ack) != delivered + rejected)
        abort();
    if (x12_ack_write_999(ack, &stamp, &text, NULL) != SETTLE_OK)
        abort();
    settle_free(text);
    if (x12_ack_write_277(ack, &stamp, &text, NULL) != SETTLE_OK)
        abort();
    settle_free(text);
    if (x12_ack_write_json(ack, &text, NULL) != SETTLE_OK)
        abort();
    settle_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = settle_alloc_live();
    s_state_t state;
    memset(&state, 0, sizeof state);
    x12_837_write_options_t options = {1, "20260301", "0930", NULL, NULL, 'T'};
    x12_ack_t *ack = x12_ack_new("fuzz.x12");
    if (!ack || x12_837_writer_new(&options, &state.writer, NULL) != SETTLE_OK)
        abort();
    x12_837_callbacks_t callbacks = {s_write, NULL};
    x12_837_stats_t stats;
    if (x12_ack_read_837(ack, (const char *)data, size, &callbacks, &state, false, &stats) !=
        SETTLE_OK)
        abort();
    s_check_acks(ack, stats.claims_delivered, stats.claims_rejected);
    x12_ack_destroy(&ack);
    char *text;
    size_t length;
    if (x12_837_writer_finish(state.writer, &text, &length, NULL) != SETTLE_OK)
        abort();
    x12_837_writer_destroy(&state.writer);
    x12_837_callbacks_t reread = {s_compare, s_no_problem};
    if (x12_837_read(text, length, "written", &reread, &state, NULL, NULL) != SETTLE_OK ||
        state.compared != state.written)
        abort();
    settle_free(text);
    for (uint32_t i = 0; i < S_KEPT_MAX; i++)
        claim_destroy(&state.kept[i]);
    if (settle_alloc_live() != live)
        abort();
    return 0;
}
