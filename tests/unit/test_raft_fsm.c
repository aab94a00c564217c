/*
 * test_raft_fsm.c - the adapter's snapshot policy (raft_fsm_snapshot_due):
 * the rule on its own, and the counters it reads as a real adapter applies
 * a world's log, takes a snapshot and restores it into another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "settle/raft_fsm.h"
#include "test_world.h"

static void test_due_rule(void **state)
{
    (void)state;
    raft_fsm_stats_t s;
    memset(&s, 0, sizeof s);
    const uint64_t no_max = UINT64_MAX;
    assert_true(raft_fsm_snapshot_due(&s, 50, no_max)); /* no snapshot yet */
    s.snapshot_bytes = 1000;
    s.snapshot_at = 4000;
    s.bytes_applied = 4000 + 499;
    assert_false(raft_fsm_snapshot_due(&s, 50, no_max)); /* 499 of the 500 it needs */
    assert_true(raft_fsm_snapshot_due(&s, 0, no_max));   /* entries alone decide */
    assert_true(raft_fsm_snapshot_due(&s, 50, 499));     /* the log's bound reached */
    assert_false(raft_fsm_snapshot_due(&s, 50, 500));
    s.bytes_applied = 4000 + 500;
    assert_true(raft_fsm_snapshot_due(&s, 50, no_max));
    assert_false(raft_fsm_snapshot_due(&s, 100, no_max));
    s.bytes_applied = 4000 + 2000;
    assert_true(raft_fsm_snapshot_due(&s, 200, no_max));
    assert_false(raft_fsm_snapshot_due(&s, 201, no_max));
}

/* Applies entry through the adapter as libraft would. */
static void s_raft_apply(struct raft_fsm *fsm, const uint8_t *entry, size_t size)
{
    struct raft_buffer buffer;
    assert_int_equal(raft_fsm_buffer(entry, size, &buffer), SETTLE_OK);
    void *result = NULL;
    assert_int_equal(fsm->apply(fsm, &buffer, &result), 0);
    raft_free(buffer.base);
}

static void s_counted(void *context)
{
    (*(unsigned *)context)++;
}

static void test_counters(void **state)
{
    s_world_t *w = *state;
    s_world_ready(w);
    s_submit_fixtures(w);
    fsm_t *fsm = NULL, *other = NULL;
    raft_fsm_t *adapter = NULL, *restored = NULL;
    assert_int_equal(fsm_open(":memory:", &fsm, NULL), SETTLE_OK);
    assert_int_equal(raft_fsm_new(fsm, &adapter), SETTLE_OK);
    unsigned entries = 0;
    raft_fsm_on_entry(adapter, s_counted, &entries);
    struct raft_fsm *iface = raft_fsm_interface(adapter);
    uint64_t bytes = 0;
    for (size_t i = 0; i < w->log_count; i++) {
        s_raft_apply(iface, w->log[i], w->log_sizes[i]);
        struct raft_buffer padded;
        assert_int_equal(raft_fsm_buffer(w->log[i], w->log_sizes[i], &padded), SETTLE_OK);
        bytes += padded.len; /* what libraft hands over: the entry padded */
        raft_free(padded.base);
    }
    raft_fsm_stats_t stats;
    raft_fsm_stats(adapter, &stats);
    assert_int_equal(entries, w->log_count);
    assert_int_equal(stats.bytes_applied, bytes);
    assert_int_equal(stats.snapshot_bytes, 0);
    assert_true(raft_fsm_snapshot_due(&stats, 50, UINT64_MAX));

    /* A snapshot: its size, counted from here. */
    struct raft_buffer *buffers = NULL;
    unsigned count = 0;
    assert_int_equal(iface->snapshot(iface, &buffers, &count), 0);
    assert_int_equal(count, 1);
    size_t image = buffers[0].len;
    raft_fsm_stats(adapter, &stats);
    assert_int_equal(stats.snapshot_bytes, image);
    assert_int_equal(stats.snapshot_at, bytes);
    assert_false(raft_fsm_snapshot_due(&stats, 1, UINT64_MAX)); /* no log since */
    assert_true(raft_fsm_snapshot_due(&stats, 0, UINT64_MAX));

    /* Restored elsewhere: the image's size, and nothing applied since. */
    struct raft_buffer copy = {.base = raft_malloc(image), .len = image};
    memcpy(copy.base, buffers[0].base, image);
    assert_int_equal(iface->snapshot_finalize(iface, &buffers, &count), 0);
    assert_int_equal(fsm_open(":memory:", &other, NULL), SETTLE_OK);
    assert_int_equal(raft_fsm_new(other, &restored), SETTLE_OK);
    struct raft_fsm *other_iface = raft_fsm_interface(restored);
    assert_int_equal(other_iface->restore(other_iface, &copy), 0);
    raft_fsm_stats(restored, &stats);
    assert_int_equal(stats.snapshot_bytes, image);
    assert_int_equal(stats.snapshot_at, stats.bytes_applied);

    raft_fsm_destroy(&restored);
    raft_fsm_destroy(&adapter);
    fsm_destroy(&other);
    fsm_destroy(&fsm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_rule),
        cmocka_unit_test_setup_teardown(test_counters, s_world_setup, s_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
