/*
 * test_node_store.c - the node's Raft log store (engine/node_store.h) on a
 * real folder with a real libuv loop: entries written and read back across
 * segments, truncation, a reset, compaction, a torn last write, and a log
 * with a hole refused; and CRC-32C against its check value.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../engine/crc32c.h"
#include "../../engine/node_store.h"

#define S_SEGMENT (1u << 20) /* the smallest the store takes */

typedef struct {
    uv_loop_t loop;
    char dir[256];
    node_store_t *store;
    int done, failed, closed;
    raft_index first; /* what the last s_open loaded */
    struct raft_entry *entries;
    size_t count;
    settle_error_t error;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/settle-store-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    uv_loop_close(&f->loop);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", f->dir);
    assert_int_equal(system(command), 0);
    free(f);
    return 0;
}

static void s_done(void *context, int status)
{
    s_fixture_t *f = context;
    f->done++;
    if (status)
        f->failed++;
}

static void s_closed(void *context, int status)
{
    (void)status;
    ((s_fixture_t *)context)->closed = 1;
}

/* Runs the loop until *counter reaches target (bounded). */
static void s_run_until(s_fixture_t *f, int *counter, int target)
{
    for (int i = 0; i < 100000 && *counter < target; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(*counter, target);
}

/* Opens the store and loads it into f->first, f->entries, f->count (or
 * f->error). */
static int s_open(s_fixture_t *f)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/log", f->dir);
    f->store = node_store_new(&f->loop, dir, S_SEGMENT);
    assert_non_null(f->store);
    settle_error_clear(&f->error);
    return node_store_load(f->store, &f->first, &f->entries, &f->count, &f->error);
}

static void s_close(s_fixture_t *f)
{
    f->closed = 0;
    node_store_close(f->store, s_closed, f);
    s_run_until(f, &f->closed, 1);
    node_store_free(&f->store);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* Stops the store and starts it again over the same folder; the load must
 * succeed. */
static void s_reopen(s_fixture_t *f)
{
    s_close(f);
    assert_int_equal(s_open(f), SETTLE_OK);
}

/* The data of entry index written with term: its bytes derive from both. */
static void s_fill(uint8_t *data, size_t size, raft_index index, raft_term term)
{
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(index * 31 + term * 7 + i);
}

static size_t s_size_of(raft_index index)
{
    return 1 + (index * 977) % 5000; /* not all multiples of 8 */
}

/* Appends entries first..last of term as one append, and waits for it. */
static void s_append(s_fixture_t *f, raft_index first, raft_index last, raft_term term, size_t size)
{
    unsigned count = (unsigned)(last - first + 1);
    struct raft_entry *entries = calloc(count, sizeof *entries);
    for (unsigned i = 0; i < count; i++) {
        size_t n = size ? size : s_size_of(first + i);
        entries[i].term = term;
        entries[i].type = RAFT_COMMAND;
        entries[i].buf.len = n;
        entries[i].buf.base = malloc(n);
        s_fill(entries[i].buf.base, n, first + i, term);
    }
    int target = f->done + 1;
    assert_int_equal(node_store_append(f->store, first, entries, count, s_done, f), 0);
    s_run_until(f, &f->done, target);
    assert_int_equal(f->failed, 0);
    for (unsigned i = 0; i < count; i++)
        free(entries[i].buf.base);
    free(entries);
}

/* Checks that entries hold first..first+count-1, each of the term terms
 * gives for its index. */
static void s_check(const struct raft_entry *entries, raft_index first, size_t count,
                    raft_term (*term_of)(raft_index), size_t size)
{
    uint8_t expected[100000];
    for (size_t i = 0; i < count; i++) {
        raft_index index = first + i;
        size_t n = size ? size : s_size_of(index);
        assert_int_equal(entries[i].term, term_of(index));
        assert_int_equal(entries[i].type, RAFT_COMMAND);
        assert_int_equal(entries[i].buf.len, n);
        s_fill(expected, n, index, term_of(index));
        assert_memory_equal(entries[i].buf.base, expected, n);
    }
}

static raft_term s_term_one(raft_index index)
{
    (void)index;
    return 1;
}

static raft_term s_term_cut_15(raft_index index)
{
    return index < 15 ? 1 : 2;
}

/* The number of segment files in the folder. */
static int s_segments(s_fixture_t *f)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/log", f->dir);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strncmp(e->d_name, "segment-", 8) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    uint8_t bytes[1000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 13);
    uint32_t whole = crc32c(0, bytes, sizeof bytes);
    assert_int_equal(crc32c(crc32c(0, bytes, 333), bytes + 333, sizeof bytes - 333), whole);
    bytes[500] ^= 1;
    assert_int_not_equal(crc32c(0, bytes, sizeof bytes), whole);
}

static void test_append_and_reload(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_open(f), SETTLE_OK);
    assert_int_equal(f->count, 0);
    s_append(f, 2, 2, 1, 0);
    s_append(f, 3, 40, 1, 0);
    s_append(f, 41, 400, 1, 0); /* about 900 KB: past the first segment */
    s_close(f);
    assert_true(s_segments(f) >= 2);
    assert_int_equal(s_open(f), SETTLE_OK);
    assert_int_equal(f->first, 2);
    assert_int_equal(f->count, 399);
    s_check(f->entries, 2, f->count, s_term_one, 0);
    node_store_entries_free(f->entries, f->count);
    s_append(f, 401, 410, 1, 0); /* after a start: a new segment */
    s_reopen(f);
    assert_int_equal(f->count, 409);
    s_check(f->entries, 2, f->count, s_term_one, 0);
    node_store_entries_free(f->entries, f->count);
    s_close(f);
}

static void test_truncate(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_open(f), SETTLE_OK);
    s_append(f, 1, 10, 1, 60000);  /* 600 KB */
    s_append(f, 11, 30, 1, 60000); /* a second segment from 11 or so */
    assert_int_equal(node_store_truncate(f->store, 15), 0);
    s_append(f, 15, 17, 2, 60000);
    s_reopen(f);
    assert_int_equal(f->first, 1);
    assert_int_equal(f->count, 17);
    s_check(f->entries, 1, f->count, s_term_cut_15, 60000);
    node_store_entries_free(f->entries, f->count);
    /* A cut inside the first segment drops the later ones whole. */
    assert_int_equal(node_store_truncate(f->store, 5), 0);
    s_append(f, 5, 6, 2, 60000);
    s_reopen(f);
    assert_int_equal(f->count, 6);
    assert_int_equal(f->entries[3].term, 1);
    assert_int_equal(f->entries[4].term, 2);
    node_store_entries_free(f->entries, f->count);
    s_close(f);
}

static void test_reset_and_compact(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_open(f), SETTLE_OK);
    for (raft_index i = 1; i <= 60; i += 10)
        s_append(f, i, i + 9, 1, 60000); /* one segment a start or so: several */
    int before = s_segments(f);
    assert_true(before >= 4);
    assert_int_equal(node_store_compact(f->store, 45), 0);
    int target = f->done + 1;
    assert_int_equal(node_store_barrier(f->store, s_done, f), 0);
    s_run_until(f, &f->done, target);
    assert_true(s_segments(f) < before);
    s_reopen(f);
    assert_true(f->first > 1 && f->first <= 45);
    assert_int_equal(f->first + f->count - 1, 60);
    s_check(f->entries, f->first, f->count, s_term_one, 60000);
    node_store_entries_free(f->entries, f->count);
    /* A snapshot up to 100 installed: nothing before it is kept. */
    assert_int_equal(node_store_reset(f->store, 100), 0);
    s_append(f, 101, 102, 3, 100);
    s_reopen(f);
    assert_int_equal(f->first, 101);
    assert_int_equal(f->count, 2);
    assert_int_equal(f->entries[0].term, 3);
    node_store_entries_free(f->entries, f->count);
    s_close(f);
}

/* The path of segment seq's file. */
static void s_segment_path(s_fixture_t *f, unsigned seq, char *path, size_t size)
{
    snprintf(path, size, "%s/log/segment-%08u", f->dir, seq);
}

static void test_torn_tail(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_open(f), SETTLE_OK);
    s_append(f, 1, 5, 1, 1000);
    s_close(f);
    /* The fifth record's data: header 32, then records of 32 + 1000. */
    char path[400];
    s_segment_path(f, 1, path, sizeof path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    off_t at = 32 + 4 * 1032 + 32 + 10;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= 0x40;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    close(fd);
    assert_int_equal(s_open(f), SETTLE_OK);
    assert_int_equal(f->count, 4); /* the write that tore is not an entry */
    node_store_entries_free(f->entries, f->count);
    s_append(f, 5, 7, 2, 1000);
    s_reopen(f);
    assert_int_equal(f->count, 7);
    assert_int_equal(f->entries[4].term, 2);
    uint8_t expected[1000];
    s_fill(expected, sizeof expected, 5, 2);
    assert_memory_equal(f->entries[4].buf.base, expected, sizeof expected);
    node_store_entries_free(f->entries, f->count);
    s_close(f);
}

/* Entries 1 to 40 of 60 KB, in four segments or so, then closed. */
static void s_four_segments(s_fixture_t *f)
{
    assert_int_equal(s_open(f), SETTLE_OK);
    for (raft_index i = 1; i <= 40; i += 10)
        s_append(f, i, i + 9, 1, 60000);
    s_close(f);
}

static void test_hole_refused(void **state)
{
    s_fixture_t *f = *state;
    s_four_segments(f);
    char path[400];
    s_segment_path(f, 2, path, sizeof path);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(s_open(f), SETTLE_ERR_IO);
    assert_non_null(strstr(f->error.message, "not contiguous"));
    assert_non_null(strstr(f->error.message, "segment-0000000"));
    node_store_free(&f->store);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_damaged_segment_kept(void **state)
{
    s_fixture_t *f = *state;
    s_four_segments(f);
    char path[400];
    s_segment_path(f, 2, path, sizeof path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 0), 1); /* its header's mark */
    close(fd);
    assert_int_equal(s_open(f), SETTLE_ERR_IO);
    assert_non_null(strstr(f->error.message, "damaged"));
    assert_int_equal(access(path, F_OK), 0); /* left for whoever repairs it */
    node_store_free(&f->store);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test_setup_teardown(test_append_and_reload, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_truncate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_compact, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hole_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_segment_kept, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
