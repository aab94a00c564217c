/*
 * test_raft_vouch.c - what a follower's answers may claim (raft_vouch.h):
 * the two over-claims of libraft 0.15, capped; rejections and answers
 * within what was vouched for, untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "settle/raft_vouch.h"

static struct raft_message s_append_entries(raft_term term, raft_index prev, unsigned n)
{
    struct raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_APPEND_ENTRIES;
    m.append_entries.term = term;
    m.append_entries.prev_log_index = prev;
    m.append_entries.n_entries = n;
    return m;
}

static struct raft_message s_result(raft_term term, raft_index rejected, raft_index last)
{
    struct raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_APPEND_ENTRIES_RESULT;
    m.append_entries_result.term = term;
    m.append_entries_result.rejected = rejected;
    m.append_entries_result.last_log_index = last;
    return m;
}

/* What the leader would read from the answer. */
static raft_index s_sent(raft_vouch_t *v, const struct raft_message *answer)
{
    struct raft_message copy;
    return raft_vouch_send(v, answer, &copy)->append_entries_result.last_log_index;
}

/* A deposed leader holds 48 of term 2; the new leader's heartbeat for 47
 * is answered at once: it may claim 47, not 48. */
static void test_vouch_heartbeat_claims_prev_log_index_only(void **state)
{
    (void)state;
    raft_vouch_t v = {0};
    struct raft_message heartbeat = s_append_entries(3, 47, 0);
    raft_vouch_recv_begin(&v, &heartbeat);
    struct raft_message answer = s_result(3, 0, 48);
    assert_true(s_sent(&v, &answer) == 47);
    raft_vouch_recv_end(&v);
    /* Later answers in the term keep what was vouched for. */
    struct raft_message again = s_result(3, 0, 47);
    assert_true(s_sent(&v, &again) == 47);
}

/* Entries of term 2 written while the term moved to 3: their write's
 * answer, in term 3, claims only what term 3's leader was told matches. */
static void test_vouch_a_write_finishing_in_a_new_term_claims_only_that_term(void **state)
{
    (void)state;
    raft_vouch_t v = {0};
    struct raft_message old = s_append_entries(2, 47, 1);
    raft_vouch_recv_begin(&v, &old);
    raft_vouch_accepted(&v); /* the write of 48 starts */
    raft_vouch_recv_end(&v);
    struct raft_message in_term_2 = s_result(2, 0, 48);
    assert_true(s_sent(&v, &in_term_2) == 48); /* its own term: the whole write */
    struct raft_message heartbeat = s_append_entries(3, 47, 0);
    raft_vouch_recv_begin(&v, &heartbeat);
    struct raft_message answer = s_result(3, 0, 47);
    assert_true(s_sent(&v, &answer) == 47);
    raft_vouch_recv_end(&v);
    struct raft_message late = s_result(3, 0, 48); /* the term-2 write completes */
    assert_true(s_sent(&v, &late) == 47);
    /* Term 3's leader sends 48 and 49: accepted, both may be claimed. */
    struct raft_message more = s_append_entries(3, 47, 2);
    raft_vouch_recv_begin(&v, &more);
    raft_vouch_accepted(&v);
    raft_vouch_recv_end(&v);
    struct raft_message written = s_result(3, 0, 49);
    assert_true(s_sent(&v, &written) == 49);
}

/* Nothing vouched for in a term: a success claims nothing. */
static void test_vouch_nothing_vouched_claims_zero(void **state)
{
    (void)state;
    raft_vouch_t v = {0};
    struct raft_message heartbeat = s_append_entries(5, 10, 0);
    raft_vouch_recv_begin(&v, &heartbeat);
    raft_vouch_recv_end(&v); /* handled without an answer */
    struct raft_message other_term = s_result(6, 0, 12);
    assert_true(s_sent(&v, &other_term) == 0);
    struct raft_message this_term = s_result(5, 0, 12);
    assert_true(s_sent(&v, &this_term) == 0);
}

/* A rejection's index is a hint, not a claim: untouched, and it vouches
 * for nothing. */
static void test_vouch_rejections_pass_and_vouch_nothing(void **state)
{
    (void)state;
    raft_vouch_t v = {0};
    struct raft_message mismatch = s_append_entries(4, 30, 3);
    raft_vouch_recv_begin(&v, &mismatch);
    struct raft_message rejected = s_result(4, 31, 29);
    struct raft_message copy;
    assert_ptr_equal(raft_vouch_send(&v, &rejected, &copy), &rejected);
    raft_vouch_recv_end(&v);
    struct raft_message later = s_result(4, 0, 33);
    assert_true(s_sent(&v, &later) == 0);
}

/* An InstallSnapshot accepted vouches for its last index; an answer within
 * what was vouched for is sent as it is. */
static void test_vouch_snapshot_vouches_for_its_last_index(void **state)
{
    (void)state;
    raft_vouch_t v = {0};
    struct raft_message snapshot;
    memset(&snapshot, 0, sizeof snapshot);
    snapshot.type = RAFT_IO_INSTALL_SNAPSHOT;
    snapshot.install_snapshot.term = 7;
    snapshot.install_snapshot.last_index = 500;
    raft_vouch_recv_begin(&v, &snapshot);
    raft_vouch_accepted(&v);
    raft_vouch_recv_end(&v);
    struct raft_message stored = s_result(7, 0, 500);
    struct raft_message copy;
    assert_ptr_equal(raft_vouch_send(&v, &stored, &copy), &stored);
    struct raft_message vote;
    memset(&vote, 0, sizeof vote);
    vote.type = RAFT_IO_REQUEST_VOTE; /* not a leader's message: no effect */
    raft_vouch_recv_begin(&v, &vote);
    raft_vouch_accepted(&v);
    raft_vouch_recv_end(&v);
    assert_true(s_sent(&v, &stored) == 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vouch_heartbeat_claims_prev_log_index_only),
        cmocka_unit_test(test_vouch_a_write_finishing_in_a_new_term_claims_only_that_term),
        cmocka_unit_test(test_vouch_nothing_vouched_claims_zero),
        cmocka_unit_test(test_vouch_rejections_pass_and_vouch_nothing),
        cmocka_unit_test(test_vouch_snapshot_vouches_for_its_last_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
