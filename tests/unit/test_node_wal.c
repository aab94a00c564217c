/*
 * test_node_wal.c - the node's WAL checkpoint thread (engine/node_wal.h)
 * on a real ledger file: a busy node's tick asks for nothing, an idle
 * node's tick has the thread copy the WAL into the database, once an idle
 * spell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../engine/node_wal.h"

/* Commits provider number's row, an entry of its own: a page or more of
 * WAL each. */
static void s_commit_one(ledger_t *ledger, int number)
{
    ledger_participant_t row = {.role = 2};
    snprintf(row.id, sizeof row.id, "prov-%05d", number);
    memset(row.name, 'n', sizeof row.name - 1);
    assert_int_equal(ledger_begin(ledger, NULL), SETTLE_OK);
    assert_int_equal(ledger_participant_put(ledger, &row, (uint64_t)number + 1, NULL), SETTLE_OK);
    assert_int_equal(ledger_commit(ledger, NULL), SETTLE_OK);
}

static off_t s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void s_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits up to 10 s for the database file to pass size bytes. */
static bool s_grows_past(const char *path, off_t size)
{
    for (int i = 0; i < 1000; i++) {
        if (s_size(path) > size)
            return true;
        s_sleep_ms(10);
    }
    return false;
}

static void test_idle_tick_checkpoints(void **state)
{
    (void)state;
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/settle-wal-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ledger.sqlite", dir);
    ledger_t *ledger = NULL;
    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    settle_error_t error;
    settle_error_clear(&error);
    node_wal_t *wal = node_wal_start(path, ledger, 1, &error);
    assert_non_null(wal);
    /* More than NODE_WAL_IDLE_PAGES of WAL, far fewer than NODE_WAL_PAGES:
     * nothing checkpoints it yet. */
    for (int i = 0; i < NODE_WAL_IDLE_PAGES + 200; i++)
        s_commit_one(ledger, i);
    off_t before = s_size(path);
    assert_true(before < 2 * 1024 * 1024);
    node_wal_tick(wal); /* commits since the last tick: busy, no checkpoint */
    s_sleep_ms(300);
    assert_true(s_size(path) == before);
    node_wal_tick(wal); /* none since: idle, the thread copies the WAL */
    assert_true(s_grows_past(path, before + 256 * 1024)); /* the rows, copied in */
    node_wal_stop(&wal);
    ledger_close(&ledger);
    /* Everything committed is in the file. */
    assert_int_equal(ledger_open(path, &ledger, NULL), SETTLE_OK);
    uint64_t count = 0;
    assert_int_equal(ledger_participant_count(ledger, &count), SETTLE_OK);
    assert_true(count == NODE_WAL_IDLE_PAGES + 200);
    ledger_close(&ledger);
    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_tick_checkpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
