/*
 * test_node_gather.c - the node's group commit and its metrics: submits
 * gathered into one entry in arrival order, within their bounds, each
 * waiter's commands where the entry put them; histograms and the two
 * renderings of the counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../engine/node_gather.h"
#include "../../engine/node_metrics.h"
#include "settle/alloc.h"
#include "settle/command.h"

/* A request of count fund commands by participant, with payloads "pN". */
static zmsg_t *s_request(const char *participant, unsigned first, unsigned count)
{
    zmsg_t *msg = zmsg_new();
    for (unsigned i = 0; i < count; i++) {
        char payload[16];
        int n = snprintf(payload, sizeof payload, "p%u", first + i);
        command_t command;
        memset(&command, 0, sizeof command);
        command.type = COMMAND_FUND;
        snprintf(command.participant, sizeof command.participant, "%s", participant);
        command.sequence = first + i;
        command.payload = (const uint8_t *)payload;
        command.payload_size = (size_t)n;
        uint8_t *bytes = NULL;
        size_t size = 0;
        assert_int_equal(command_encode(&command, &bytes, &size), SETTLE_OK);
        zmsg_addmem(msg, bytes, size);
        settle_free(bytes);
    }
    return msg;
}

static void s_add(node_gather_t *gather, const char *who, unsigned first, unsigned count)
{
    zmsg_t *msg = s_request(who, first, count);
    zframe_t *identity = zframe_new(who, strlen(who));
    zframe_t *request_id = zframe_new("r", 1);
    assert_int_equal(node_gather_add(gather, &msg, identity, request_id, 7), SETTLE_OK);
    assert_null(msg);
    zframe_destroy(&identity);
    zframe_destroy(&request_id);
}

static void test_gathers_in_order(void **state)
{
    (void)state;
    node_gather_t *gather = node_gather_new(16, 1u << 20);
    assert_non_null(gather);
    struct raft_buffer buffer;
    node_batch_t *batch = NULL;
    assert_int_equal(node_gather_take(gather, 5, &buffer, &batch), SETTLE_ERR_NOT_FOUND);
    s_add(gather, "ACMEHP", 0, 3);
    s_add(gather, "BLUEHP", 10, 2);
    assert_int_equal(node_gather_count(gather), 5);
    assert_int_equal(node_gather_take(gather, 1234, &buffer, &batch), SETTLE_OK);
    assert_int_equal(node_gather_count(gather), 0);
    assert_int_equal(batch->command_count, 5);
    assert_int_equal(batch->waiter_count, 2);
    assert_int_equal(batch->waiters[0].first, 0);
    assert_int_equal(batch->waiters[0].count, 3);
    assert_int_equal(batch->waiters[1].first, 3);
    assert_int_equal(batch->waiters[1].count, 2);
    assert_true(zframe_streq(batch->waiters[1].identity, "BLUEHP"));
    assert_int_equal(buffer.len % 8, 0); /* padded for libraft's log */

    command_entry_t entry;
    settle_error_t error;
    size_t size = command_entry_unpadded_size(buffer.base, buffer.len);
    assert_int_equal(command_entry_decode(buffer.base, size, &entry, NULL, 0, &error), SETTLE_OK);
    assert_int_equal(entry.timestamp_ms, 1234);
    assert_int_equal(entry.count, 5);
    assert_string_equal(entry.commands[0].participant, "ACMEHP");
    assert_int_equal(entry.commands[2].sequence, 2);
    assert_string_equal(entry.commands[3].participant, "BLUEHP");
    assert_int_equal(entry.commands[4].sequence, 11);
    assert_memory_equal(entry.commands[4].payload, "p11", 3);
    command_entry_free(&entry);
    raft_free(buffer.base);
    node_batch_release(&batch);
    assert_null(batch);
    node_gather_destroy(&gather);
}

static void test_bounds(void **state)
{
    (void)state;
    node_gather_t *gather = node_gather_new(4, 1000); /* three commands are ~300 bytes */
    assert_true(node_gather_fits(gather, 4, 10000));  /* an empty entry takes any one submit */
    assert_false(node_gather_fits(gather, 5, 10));
    s_add(gather, "ACMEHP", 0, 3);
    assert_false(node_gather_fits(gather, 2, 10));
    assert_true(node_gather_fits(gather, 1, 10));
    assert_false(node_gather_fits(gather, 1, 1000)); /* past the bytes */
    zmsg_t *msg = s_request("ACMEHP", 3, 2);
    zframe_t *identity = zframe_new("x", 1);
    assert_int_equal(node_gather_add(gather, &msg, identity, identity, 0), SETTLE_ERR_TOO_MANY);
    assert_non_null(msg); /* not taken */
    zmsg_destroy(&msg);
    zframe_destroy(&identity);
    node_gather_destroy(&gather); /* frees what is gathered */
    assert_null(gather);
}

static void test_histogram(void **state)
{
    (void)state;
    node_histogram_t h;
    memset(&h, 0, sizeof h);
    assert_int_equal(node_histogram_quantile(&h, 500), 0);
    for (uint64_t v = 1; v <= 100; v++)
        node_histogram_add(&h, v < 99 ? 3 : 5000);
    assert_int_equal(h.count, 100);
    assert_int_equal(node_histogram_quantile(&h, 500), 4);    /* 3 is in the (2, 4] bucket */
    assert_int_equal(node_histogram_quantile(&h, 990), 8192); /* 5000 in (4096, 8192] */
    assert_int_equal(node_histogram_quantile(&h, 980), 4);
}

static void test_metrics_text(void **state)
{
    (void)state;
    node_metrics_t m;
    memset(&m, 0, sizeof m);
    m.submits = 12;
    atomic_store(&m.busy, 3);
    node_histogram_add(&m.commit_latency, 700);
    size_t size = 0;
    char *text = node_metrics_text(&m, 2, "text", &size);
    assert_non_null(text);
    assert_int_equal(strlen(text), size);
    assert_non_null(strstr(text, "submits 12\n"));
    assert_non_null(strstr(text, "busy 3\n"));
    assert_non_null(strstr(text, "commit_latency_us_p50 1024\n"));
    settle_free(text);
    text = node_metrics_text(&m, 2, "prometheus", &size);
    assert_non_null(strstr(text, "# TYPE settle_submits counter\nsettle_submits{node=\"2\"} 12\n"));
    assert_non_null(strstr(text, "# TYPE settle_commit_latency_us histogram\n"));
    assert_non_null(strstr(text, "settle_commit_latency_us_bucket{node=\"2\",le=\"1024\"} 1\n"));
    assert_non_null(strstr(text, "settle_commit_latency_us_bucket{node=\"2\",le=\"512\"} 0\n"));
    assert_non_null(strstr(text, "settle_commit_latency_us_count{node=\"2\"} 1\n"));
    settle_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gathers_in_order),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
