/*
 * test_alloc_failure.c - fails the 1st, 2nd, ... Nth allocation of each
 * operation on claims and checks that every failure is reported and leaves
 * no block allocated (the allocator's live count returns to where it was;
 * under AddressSanitizer, LeakSanitizer checks the same at exit).
 *
 * jansson is pointed at settle's allocator too, so the JSON reader and
 * writer are walked through their failures as well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "claim_sample.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"

typedef int (*operation_t)(void *context, settle_error_t *error);

/*
 * Runs op once to count its allocations, then once per allocation with that
 * one failing.  Every failing run must return an error (and fill the error
 * record when the operation takes one), and free all it took.  Returns the
 * number of allocations the operation makes.
 */
static long s_walk_failures(operation_t op, void *context, int reports_message)
{
    long live = settle_alloc_live();
    long before = settle_alloc_attempts();
    assert_int_equal(op(context, NULL), SETTLE_OK);
    long count = settle_alloc_attempts() - before;
    assert_int_equal(settle_alloc_live(), live);
    assert_true(count > 0);
    for (long i = 0; i < count; i++) {
        settle_error_t error;
        settle_error_clear(&error);
        settle_alloc_fail_after(i);
        int rc = op(context, &error);
        settle_alloc_fail_after(-1);
        if (rc == SETTLE_OK)
            fail_msg("allocation %ld of %ld failed but the operation succeeded", i + 1, count);
        if (reports_message && !error.message[0])
            fail_msg("allocation %ld of %ld failed without a message", i + 1, count);
        if (settle_alloc_live() != live)
            fail_msg("allocation %ld of %ld failed and %ld blocks leaked", i + 1, count,
                     settle_alloc_live() - live);
    }
    assert_int_equal(op(context, NULL), SETTLE_OK); /* and all is well afterwards */
    return count;
}

static int s_build_and_encode(void *context, settle_error_t *error)
{
    claim_t *claim = claim_new();
    if (!claim)
        return SETTLE_ERR_NOMEM;
    int rc = sample_fill_claim(claim);
    uint8_t *bytes = NULL;
    size_t size;
    if (rc == SETTLE_OK)
        rc = claim_encode(claim, &bytes, &size);
    settle_free(bytes);
    claim_destroy(&claim);
    return rc;
}

typedef struct {
    uint8_t *bytes;
    size_t size;
} encoded_t;

static int s_decode(void *context, settle_error_t *error)
{
    encoded_t *encoded = context;
    claim_t *claim = NULL;
    int rc = claim_decode(encoded->bytes, encoded->size, &claim, error);
    if (rc == SETTLE_OK)
        assert_int_equal(claim->line_count, 2);
    claim_destroy(&claim);
    return rc;
}

static int s_hash(void *context, settle_error_t *error)
{
    uint8_t hash[CLAIM_HASH_SIZE];
    return claim_hash(context, hash);
}

static int s_write_json(void *context, settle_error_t *error)
{
    char *text = NULL;
    int rc = claim_to_json_text(context, 1, &text);
    settle_free(text);
    return rc;
}

static int s_ignore(const claim_t *claim, void *context)
{
    return SETTLE_OK;
}

static int s_read_json(void *context, settle_error_t *error)
{
    const char *text = context;
    return claim_json_read_text(text, strlen(text), "in.json", s_ignore, NULL, error);
}

static void test_alloc_failures_in_building_and_encoding_are_reported_without_leaks(void **state)
{
    /* the claim, its lines, its records, the encoding */
    assert_int_equal(s_walk_failures(s_build_and_encode, NULL, 0), 4);
}

static void test_alloc_failures_in_decoding_are_reported_without_leaks(void **state)
{
    claim_t *claim = claim_new();
    assert_int_equal(sample_fill_claim(claim), 0);
    encoded_t encoded;
    assert_int_equal(claim_encode(claim, &encoded.bytes, &encoded.size), SETTLE_OK);
    assert_int_equal(s_walk_failures(s_decode, &encoded, 1), 3);
    assert_int_equal(s_walk_failures(s_hash, claim, 0), 1);
    settle_free(encoded.bytes);
    claim_destroy(&claim);
}

static void test_alloc_failures_in_json_writing_and_reading_are_reported_without_leaks(void **state)
{
    claim_t *claim = claim_new();
    assert_int_equal(sample_fill_claim(claim), 0);
    long writes = s_walk_failures(s_write_json, claim, 0);
    char *text;
    assert_int_equal(claim_to_json_text(claim, 0, &text), SETTLE_OK);
    long reads = s_walk_failures(s_read_json, text, 1);
    assert_true(writes > 40); /* jansson's allocations are walked too */
    assert_true(reads > 40);
    settle_free(text);
    claim_destroy(&claim);
}

int main(void)
{
    json_set_alloc_funcs(settle_malloc, settle_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_failures_in_building_and_encoding_are_reported_without_leaks),
        cmocka_unit_test(test_alloc_failures_in_decoding_are_reported_without_leaks),
        cmocka_unit_test(
            test_alloc_failures_in_json_writing_and_reading_are_reported_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
