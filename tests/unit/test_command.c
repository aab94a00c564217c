/*
 * test_command.c - signed commands, entries and payloads: round trips of
 * every field, every truncation refused, non-canonical input refused, and
 * signatures, a batch's over its Merkle root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../unit/claim_sample.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/command.h"
#include "settle/hash.h"
#include "settle/merkle.h"

static sign_key_t *s_key(uint8_t fill)
{
    uint8_t seed[SIGN_SEED_SIZE];
    memset(seed, fill, sizeof seed);
    sign_key_t *key = NULL;
    assert_int_equal(sign_key_from_seed(seed, &key), SETTLE_OK);
    return key;
}

static command_t s_command(uint8_t type, const uint8_t *payload, size_t size)
{
    command_t command;
    memset(&command, 0, sizeof command);
    command.type = type;
    memcpy(command.participant, "ACMEHP", 7);
    command.sequence = UINT64_C(0x0102030405060708);
    command.payload = payload;
    command.payload_size = size;
    for (int i = 0; i < SIGN_SIGNATURE_SIZE; i++)
        command.signature[i] = (uint8_t)(i * 7);
    return command;
}

static void test_command_round_trips_every_field(void **state)
{
    const uint8_t payload[] = "payload bytes";
    command_t command = s_command(COMMAND_FUND, payload, sizeof payload);
    uint8_t *bytes;
    size_t size;
    assert_int_equal(command_encode(&command, &bytes, &size), SETTLE_OK);
    assert_int_equal(size, command_encoded_size(&command));
    assert_memory_equal(bytes, "SCMD\0\1", 6);
    command_t decoded;
    assert_int_equal(command_decode(bytes, size, &decoded, NULL), SETTLE_OK);
    assert_int_equal(decoded.type, COMMAND_FUND);
    assert_string_equal(decoded.participant, "ACMEHP");
    assert_true(decoded.sequence == command.sequence);
    assert_int_equal(decoded.payload_size, sizeof payload);
    assert_memory_equal(decoded.payload, payload, sizeof payload);
    assert_memory_equal(decoded.signature, command.signature, SIGN_SIGNATURE_SIZE);
    uint8_t again[256];
    assert_int_equal(command_encode_into(&decoded, again, sizeof again), SETTLE_OK);
    assert_memory_equal(again, bytes, size);
    settle_free(bytes);
}

static void test_command_decode_refuses_every_truncation_and_trailing_bytes(void **state)
{
    const uint8_t payload[] = "xyz";
    command_t command = s_command(COMMAND_PAY, payload, sizeof payload);
    uint8_t bytes[256];
    size_t size = command_encoded_size(&command);
    assert_int_equal(command_encode_into(&command, bytes, sizeof bytes), SETTLE_OK);
    command_t decoded;
    for (size_t cut = 0; cut < size; cut++) {
        settle_error_t error;
        settle_error_clear(&error);
        assert_int_not_equal(command_decode(bytes, cut, &decoded, &error), SETTLE_OK);
        assert_true(error.message[0] != '\0');
    }
    bytes[size] = 0;
    assert_int_equal(command_decode(bytes, size + 1, &decoded, NULL), SETTLE_ERR_CORRUPT);
}

static void test_command_decode_refuses_bad_mark_version_type_and_oversize(void **state)
{
    command_t command = s_command(COMMAND_PAY, (const uint8_t *)"p", 1);
    uint8_t bytes[256];
    size_t size = command_encoded_size(&command);
    command_t decoded;
    assert_int_equal(command_encode_into(&command, bytes, sizeof bytes), SETTLE_OK);
    bytes[0] = 'X';
    assert_int_equal(command_decode(bytes, size, &decoded, NULL), SETTLE_ERR_CORRUPT);
    bytes[0] = 'S';
    bytes[5] = 2;
    assert_int_equal(command_decode(bytes, size, &decoded, NULL), SETTLE_ERR_VERSION);
    bytes[5] = 1;
    bytes[6] = COMMAND_TYPE_MAX + 1; /* type */
    settle_error_t error;
    assert_int_equal(command_decode(bytes, size, &decoded, &error), SETTLE_ERR_CORRUPT);
    assert_non_null(strstr(error.message, "unknown command type"));
    bytes[6] = COMMAND_PAY;
    /* payload length: after mark, version, type, participant (2 + 6), sequence */
    size_t length_at = 4 + 2 + 1 + 2 + 6 + 8;
    bytes[length_at] = 0x7f;
    assert_int_equal(command_decode(bytes, size, &decoded, NULL), SETTLE_ERR_TOO_LONG);
}

/* A batch of two sample claims, the second with another id. */
static void s_batch(uint8_t **payload, size_t *size, uint8_t leaves[2][MERKLE_HASH_SIZE])
{
    claim_t *claim = claim_new();
    assert_int_equal(sample_fill_claim(claim), 0);
    uint8_t *claims[2];
    size_t sizes[2];
    for (int i = 0; i < 2; i++) {
        claim->claim_id[0] = (char)('A' + i);
        assert_int_equal(claim_encode(claim, &claims[i], &sizes[i]), SETTLE_OK);
        assert_int_equal(hash_sha256(claims[i], sizes[i], leaves[i]), SETTLE_OK); /* content hash */
    }
    assert_int_equal(
        command_batch_encode("ACMEHP", (const uint8_t *const *)claims, sizes, 2, payload, size),
        SETTLE_OK);
    settle_free(claims[0]);
    settle_free(claims[1]);
    claim_destroy(&claim);
}

static void test_command_batch_signature_covers_the_merkle_root_of_its_claims(void **state)
{
    uint8_t *payload, leaves[2][MERKLE_HASH_SIZE], root[MERKLE_HASH_SIZE], digest[32];
    size_t size;
    s_batch(&payload, &size, leaves);
    command_t command = s_command(COMMAND_BATCH, payload, size);
    assert_int_equal(merkle_root((const uint8_t(*)[MERKLE_HASH_SIZE])leaves, 2, root), SETTLE_OK);
    assert_int_equal(command_payload_digest(&command, digest, NULL), SETTLE_OK);
    assert_memory_equal(digest, root, MERKLE_HASH_SIZE);
    /* Claim 2 is provably in the signed batch. */
    uint8_t path[MERKLE_PATH_MAX][MERKLE_HASH_SIZE];
    size_t length;
    assert_int_equal(merkle_path((const uint8_t(*)[MERKLE_HASH_SIZE])leaves, 2, 1, path, &length),
                     SETTLE_OK);
    assert_true(
        merkle_verify(leaves[1], 1, 2, (const uint8_t(*)[MERKLE_HASH_SIZE])path, length, digest));

    sign_key_t *key = s_key(7), *other = s_key(8);
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE], other_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(key, public_key);
    sign_key_public(other, other_public);
    assert_int_equal(command_sign(&command, key, NULL), SETTLE_OK);
    assert_int_equal(command_verify(&command, public_key, NULL), SETTLE_OK);
    assert_int_equal(command_verify(&command, other_public, NULL), SETTLE_ERR_SIGNATURE);
    payload[size - 1] ^= 1; /* a byte of the last claim */
    settle_error_t error;
    assert_int_equal(command_verify(&command, public_key, &error), SETTLE_ERR_SIGNATURE);
    assert_non_null(strstr(error.message, "signature does not verify"));
    payload[size - 1] ^= 1;
    command.sequence++;
    assert_int_equal(command_verify(&command, public_key, NULL), SETTLE_ERR_SIGNATURE);
    command.sequence--;
    command.participant[0] = 'B';
    assert_int_equal(command_verify(&command, public_key, NULL), SETTLE_ERR_SIGNATURE);
    sign_key_destroy(&key);
    sign_key_destroy(&other);
    settle_free(payload);
}

static void test_command_batch_decode_refuses_bad_framing(void **state)
{
    uint8_t *payload, leaves[2][MERKLE_HASH_SIZE];
    size_t size;
    s_batch(&payload, &size, leaves);
    command_batch_t batch;
    assert_int_equal(command_batch_decode(payload, size, &batch, NULL), SETTLE_OK);
    assert_int_equal(batch.count, 2);
    for (size_t cut = 0; cut < size; cut++)
        assert_int_not_equal(command_batch_decode(payload, cut, &batch, NULL), SETTLE_OK);
    payload[2 + 6 + 3] = 0; /* count 0 */
    assert_int_equal(command_batch_decode(payload, size, &batch, NULL), SETTLE_ERR_TOO_MANY);
    settle_free(payload);
}

static void test_command_entry_round_trips_and_marks_a_bad_command(void **state)
{
    command_t a = s_command(COMMAND_PAY, (const uint8_t *)"a", 1);
    command_t b = s_command(COMMAND_FUND, (const uint8_t *)"bb", 2);
    uint8_t *bytes[2];
    size_t sizes[2];
    assert_int_equal(command_encode(&a, &bytes[0], &sizes[0]), SETTLE_OK);
    assert_int_equal(command_encode(&b, &bytes[1], &sizes[1]), SETTLE_OK);
    sizes[1]--; /* the second command is cut short inside a sound entry */
    uint8_t *entry;
    size_t entry_size;
    assert_int_equal(
        command_entry_encode(1234, (const uint8_t *const *)bytes, sizes, 2, &entry, &entry_size),
        SETTLE_OK);
    command_entry_t decoded;
    settle_error_t reasons[2];
    assert_int_equal(command_entry_decode(entry, entry_size, &decoded, reasons, 2, NULL),
                     SETTLE_OK);
    assert_true(decoded.timestamp_ms == 1234);
    assert_int_equal(decoded.count, 2);
    assert_int_equal(decoded.commands[0].type, COMMAND_PAY);
    assert_int_equal(decoded.commands[0].payload[0], 'a');
    assert_int_equal(decoded.commands[1].type, 0);
    assert_int_equal(reasons[1].code, SETTLE_ERR_TRUNCATED);
    command_entry_free(&decoded);
    for (size_t cut = 0; cut < entry_size; cut++)
        assert_int_not_equal(command_entry_decode(entry, cut, &decoded, NULL, 0, NULL), SETTLE_OK);
    settle_free(entry);
    settle_free(bytes[0]);
    settle_free(bytes[1]);
}

static void test_command_payloads_round_trip_and_refuse_bad_values(void **state)
{
    command_register_t reg = {.role = COMMAND_ROLE_PROVIDER};
    memcpy(reg.participant, "prov-a", 7);
    memcpy(reg.display_name, "Clinic A", 9);
    memcpy(reg.npi, "1234567893", 11);
    memset(reg.public_key, 0xab, sizeof reg.public_key);
    uint8_t *bytes;
    size_t size;
    assert_int_equal(command_register_encode(&reg, &bytes, &size), SETTLE_OK);
    command_register_t reg_back;
    assert_int_equal(command_register_decode(bytes, size, &reg_back, NULL), SETTLE_OK);
    assert_memory_equal(&reg_back, &reg, sizeof reg);
    settle_free(bytes);
    reg.npi[0] = '\0';
    assert_int_equal(command_register_encode(&reg, &bytes, &size), SETTLE_ERR_INVALID);

    command_fund_t fund = {.amount_cents = 123456};
    memcpy(fund.payer, "ACMEHP", 7);
    assert_int_equal(command_fund_encode(&fund, &bytes, &size), SETTLE_OK);
    command_fund_t fund_back;
    assert_int_equal(command_fund_decode(bytes, size, &fund_back, NULL), SETTLE_OK);
    assert_true(fund_back.amount_cents == 123456);
    bytes[size - 1] = 0;
    bytes[size - 2] = 0;
    bytes[size - 3] = 0;
    assert_int_equal(command_fund_decode(bytes, size, &fund_back, NULL), SETTLE_ERR_RANGE);
    settle_free(bytes);
    fund.amount_cents = 0;
    assert_int_equal(command_fund_encode(&fund, &bytes, &size), SETTLE_ERR_INVALID);

    command_text_t text = {(const uint8_t *)"members: []\n", 12}, text_back;
    assert_int_equal(command_text_encode(&text, &bytes, &size), SETTLE_OK);
    assert_int_equal(command_text_decode(bytes, size, &text_back, NULL), SETTLE_OK);
    assert_int_equal(text_back.size, 12);
    assert_int_equal(command_text_decode(bytes, size - 1, &text_back, NULL), SETTLE_ERR_TRUNCATED);
    settle_free(bytes);

    command_pay_t pay, pay_back;
    memset(&pay, 0, sizeof pay);
    memcpy(pay.payer, "ACMEHP", 7);
    assert_int_equal(command_pay_encode(&pay, &bytes, &size), SETTLE_OK);
    assert_int_equal(command_pay_decode(bytes, size, &pay_back, NULL), SETTLE_OK);
    assert_string_equal(pay_back.payer, "ACMEHP");
    settle_free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_round_trips_every_field),
        cmocka_unit_test(test_command_decode_refuses_every_truncation_and_trailing_bytes),
        cmocka_unit_test(test_command_decode_refuses_bad_mark_version_type_and_oversize),
        cmocka_unit_test(test_command_batch_signature_covers_the_merkle_root_of_its_claims),
        cmocka_unit_test(test_command_batch_decode_refuses_bad_framing),
        cmocka_unit_test(test_command_entry_round_trips_and_marks_a_bad_command),
        cmocka_unit_test(test_command_payloads_round_trip_and_refuse_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
