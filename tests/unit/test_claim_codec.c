/*
 * test_claim_codec.c - the canonical binary encoding: exact layout, round
 * trips of every field, and refusal of every damaged buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim_sample.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/hash.h"

typedef struct {
    claim_t *claim;
    uint8_t *bytes;
    size_t size;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->claim = claim_new();
    if (sample_fill_claim(f->claim) != 0 || claim_encode(f->claim, &f->bytes, &f->size) != 0)
        return -1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    claim_destroy(&f->claim);
    settle_free(f->bytes);
    free(f);
    return 0;
}

/* A minimal claim whose encoding is spelled out byte by byte below. */
static void s_fill_minimal(claim_t *c)
{
    SAMPLE_TEXT(c->claim_id, "C1");
    SAMPLE_TEXT(c->payer_id, "P");
    c->patient_birth_date = 0; /* 1970-01-01 */
    c->total_charge_cents = 258;
    claim_line_t *line;
    claim_add_line(c, &line);
    SAMPLE_TEXT(line->procedure_code, "99213");
    line->units_milli = 1000;
    line->charge_cents = 258;
    line->service_from = 1;
    line->service_to = 2;
    line->diagnosis_pointers[0] = 1;
}

static void test_codec_writes_the_documented_layout_big_endian(void **state)
{
    static const uint8_t expected[] = {
        'S',  'C',  'L', 'M', 0,   3,              /* mark, version 3 */
        'P',  1,    'U',                           /* kind, frequency, sex */
        0,    2,    'C', '1', 0,   1,   'P',       /* claim_id, payer_id */
        0,    0,    0,   0,   0,   0,              /* billing_npi, rendering_npi, member_id */
        0,    0,    0,   0,                        /* birth date day 0 */
        0x80, 0,    0,   0,                        /* created: none (DATE_NONE) */
        0,    0,    0,   0,   0,   0,   0,   0,    /* patient: names, */
        0,    0,    0,   0,   0,   0,   0,   0,    /* address, city, state, postal code */
        0,    0,                                   /* no sealed identifiers */
        0,    0,    0,   0,   0,   0,   0,   0,    /* four empty references */
        0,    0,    0,   0,   0,   0,   1,   2,    /* total 258 cents */
        0,    0,                                   /* no diagnoses, no other payers */
        0,    1,                                   /* one line */
        0,    5,    '9', '9', '2', '1', '3',       /* procedure code */
        0,    0,    0,   0,   0,   0,   0,   0,    /* four empty modifiers */
        0,    0,    0,   0,   0,   0,              /* revenue code, ndc, place of service */
        0,    0,    0,   0,   0,   0,   3,   0xe8, /* 1000 milli-units */
        0,    0,    0,   0,   0,   0,   1,   2,    /* 258 cents */
        0,    0,    0,   1,   0,   0,   0,   2,    /* days 1 and 2 */
        1,    0,    0,   0,                        /* pointers */
        0xff, 0xff,                                /* patient age: none */
        0,    0};                                  /* no coordination of benefits records */
    claim_t *claim = claim_new();
    s_fill_minimal(claim);
    assert_int_equal(claim_encoded_size(claim), sizeof expected);
    uint8_t buffer[sizeof expected];
    assert_int_equal(claim_encode_into(claim, buffer, sizeof buffer - 1), SETTLE_ERR_TOO_LONG);
    assert_int_equal(claim_encode_into(claim, buffer, sizeof buffer), SETTLE_OK);
    assert_memory_equal(buffer, expected, sizeof expected);
    claim_destroy(&claim);
}

static void test_codec_round_trips_every_field(void **state)
{
    fixture_t *f = *state;
    claim_t *decoded = NULL;
    assert_int_equal(claim_decode(f->bytes, f->size, &decoded, NULL), SETTLE_OK);
    assert_true(claim_equal(f->claim, decoded));
    /* field by field, so a failure says which one */
    assert_int_equal(decoded->kind, 'I');
    assert_int_equal(decoded->frequency, 7);
    assert_string_equal(decoded->claim_id, "PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012");
    assert_string_equal(decoded->payer_id, "ACMEHP");
    assert_string_equal(decoded->billing_npi, "1234567893");
    assert_string_equal(decoded->rendering_npi, "1987654328");
    assert_string_equal(decoded->member_id, "ACM100234501");
    assert_int_equal(decoded->patient_birth_date, f->claim->patient_birth_date);
    assert_int_equal(decoded->created, f->claim->created);
    assert_int_equal(decoded->patient_sex, 'F');
    assert_string_equal(decoded->original_claim_number, "PAYER-ICN-7788");
    assert_string_equal(decoded->prior_authorization, "PA-55190");
    assert_string_equal(decoded->place_of_service, "21");
    assert_string_equal(decoded->bill_type, "111");
    assert_int_equal(decoded->total_charge_cents, 188475);
    assert_int_equal(decoded->diagnosis_count, 3);
    assert_string_equal(decoded->diagnoses[0], "S52521A");
    assert_string_equal(decoded->diagnoses[2], "I10");
    assert_int_equal(decoded->other_payer_count, 2);
    assert_string_equal(decoded->other_payers[1].payer_id, "SUPPLEMENT");
    assert_int_equal(decoded->other_payers[1].responsibility, 'T');
    assert_int_equal(decoded->other_payers[1].paid_cents, -125);
    assert_int_equal(decoded->line_count, 2);
    const claim_line_t *l0 = &decoded->lines[0], *l1 = &decoded->lines[1];
    assert_string_equal(l0->procedure_code, "99284");
    assert_string_equal(l0->modifiers[0], "25");
    assert_string_equal(l0->modifiers[3], "RT");
    assert_string_equal(l0->revenue_code, "0450");
    assert_string_equal(l0->place_of_service, "23");
    assert_int_equal(l0->units_milli, 1000);
    assert_int_equal(l0->charge_cents, 185000);
    assert_int_equal(l0->diagnosis_pointers[1], 3);
    assert_string_equal(l1->procedure_code, "");
    assert_string_equal(l1->ndc, "00406052301");
    assert_int_equal(l1->units_milli, 2500);
    assert_int_equal(l1->service_to - l1->service_from, 2);
    assert_int_equal(decoded->cob_count, 3);
    assert_int_equal(decoded->cob[0].kind, CLAIM_COB_ADJUSTMENT);
    assert_int_equal(decoded->cob[0].line, 0);
    assert_string_equal(decoded->cob[0].group, "CO");
    assert_int_equal(decoded->cob[0].amount_cents, 1000);
    assert_int_equal(decoded->cob[1].kind, CLAIM_COB_LINE_PAID);
    assert_int_equal(decoded->cob[1].line, 1);
    assert_int_equal(decoded->cob[1].amount_cents, 150000);
    assert_string_equal(decoded->cob[2].reason, "1");
    claim_destroy(&decoded);
}

static void test_codec_hash_is_sha256_of_the_encoding_and_pinned(void **state)
{
    fixture_t *f = *state;
    uint8_t hash[CLAIM_HASH_SIZE], direct[HASH_SHA256_SIZE];
    assert_int_equal(claim_hash(f->claim, hash), SETTLE_OK);
    assert_int_equal(hash_sha256(f->bytes, f->size, direct), SETTLE_OK);
    assert_memory_equal(hash, direct, sizeof hash);
    /* Pinned: a change here is a change of the canonical encoding, which
     * needs a new CLAIM_CODEC_VERSION, not a new pin. */
    char hex[HASH_SHA256_HEX_SIZE];
    hash_to_hex(hash, sizeof hash, hex);
    assert_string_equal(hex, "9699aea69d453b69129d963d237cc712373e1ebeea6fdf708cf2055abf602092");
}

static void test_codec_refuses_every_truncation(void **state)
{
    fixture_t *f = *state;
    claim_t *claim = claim_new();
    for (size_t size = 0; size < f->size; size++) {
        settle_error_t error;
        settle_error_clear(&error);
        int rc = claim_decode_into(claim, f->bytes, size, &error);
        assert_int_equal(rc, SETTLE_ERR_TRUNCATED);
        assert_non_null(strstr(error.message, "claim encoding, byte "));
        assert_int_equal(claim->line_count, 0); /* left empty */
    }
    claim_destroy(&claim);
}

static void test_codec_refuses_trailing_bytes_bad_mark_and_other_versions(void **state)
{
    fixture_t *f = *state;
    uint8_t *copy = malloc(f->size + 1);
    memcpy(copy, f->bytes, f->size);
    copy[f->size] = 0;
    assert_int_equal(f->size, 467); /* 410 + 2 + three records of 20, 16 and 19 */
    settle_error_t error;
    claim_t *claim = claim_new();
    assert_int_equal(claim_decode_into(claim, copy, f->size + 1, &error), SETTLE_ERR_CORRUPT);
    assert_string_equal(error.message,
                        "claim encoding, byte 467, end: bytes after the last record");
    copy[5] = 2; /* version 2: no patient block */
    assert_int_equal(claim_decode_into(claim, copy, f->size, &error), SETTLE_ERR_VERSION);
    copy[5] = 3;
    copy[0] = 'X';
    assert_int_equal(claim_decode_into(claim, copy, f->size, &error), SETTLE_ERR_CORRUPT);
    copy[0] = 'S';
    copy[6] = 'Q'; /* kind */
    assert_int_equal(claim_decode_into(claim, copy, f->size, &error), SETTLE_ERR_CORRUPT);
    copy[6] = 'I';
    copy[10] = 200; /* claim_id length 200 > 38 */
    assert_int_equal(claim_decode_into(claim, copy, f->size, &error), SETTLE_ERR_CORRUPT);
    assert_string_equal(error.message,
                        "claim encoding, byte 11, claim_id: text longer than the field allows");
    free(copy);
    claim_destroy(&claim);
}

/* Flipping any bit either is refused or gives a claim whose encoding is
 * exactly the flipped buffer: never a crash, never two encodings. */
static void test_codec_single_bit_flips_are_refused_or_canonical(void **state)
{
    fixture_t *f = *state;
    uint8_t *copy = malloc(f->size);
    claim_t *claim = claim_new();
    unsigned refused = 0;
    for (size_t i = 0; i < f->size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, f->bytes, f->size);
            copy[i] ^= (uint8_t)(1u << bit);
            if (claim_decode_into(claim, copy, f->size, NULL) != SETTLE_OK) {
                refused++;
                continue;
            }
            uint8_t again[1024];
            assert_int_equal(claim_encoded_size(claim), f->size);
            assert_int_equal(claim_encode_into(claim, again, sizeof again), SETTLE_OK);
            assert_memory_equal(again, copy, f->size);
        }
    }
    assert_true(refused > 0);
    free(copy);
    claim_destroy(&claim);
}

static void test_codec_refuses_to_encode_what_it_could_not_decode(void **state)
{
    fixture_t *f = *state;
    uint8_t buffer[1024];
    f->claim->frequency = 0;
    assert_int_equal(claim_encode_into(f->claim, buffer, sizeof buffer), SETTLE_ERR_INVALID);
    f->claim->frequency = 1;
    f->claim->other_payers[0].responsibility = '1';
    assert_int_equal(claim_encode_into(f->claim, buffer, sizeof buffer), SETTLE_ERR_INVALID);
    f->claim->other_payers[0].responsibility = 'P';
    f->claim->cob[1].line = 3; /* the claim has two lines */
    assert_int_equal(claim_encode_into(f->claim, buffer, sizeof buffer), SETTLE_ERR_INVALID);
    f->claim->cob[1].line = 1;
    snprintf(f->claim->cob[0].group, sizeof f->claim->cob[0].group, "XX");
    assert_int_equal(claim_encode_into(f->claim, buffer, sizeof buffer), SETTLE_ERR_INVALID);
    snprintf(f->claim->cob[0].group, sizeof f->claim->cob[0].group, "CO");
    memset(f->claim->claim_id, 'A', sizeof f->claim->claim_id); /* no NUL */
    assert_int_equal(claim_encode_into(f->claim, buffer, sizeof buffer), SETTLE_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_writes_the_documented_layout_big_endian),
        cmocka_unit_test_setup_teardown(test_codec_round_trips_every_field, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_codec_hash_is_sha256_of_the_encoding_and_pinned,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_codec_refuses_every_truncation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_refuses_trailing_bytes_bad_mark_and_other_versions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_codec_single_bit_flips_are_refused_or_canonical,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_codec_refuses_to_encode_what_it_could_not_decode,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
