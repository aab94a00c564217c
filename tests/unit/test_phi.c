/*
 * test_phi.c - member keys, sealed envelopes, protecting and revealing a
 * claim, the PHI secret file, and the check the ledger makes (phi.h).
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claim_sample.h"
#include "settle/claim_codec.h"
#include "settle/date.h"
#include "settle/phi.h"
#include "settle/sign.h"

static phi_key_t s_key(uint8_t fill)
{
    uint8_t secret[PHI_SECRET_SIZE];
    memset(secret, fill, sizeof secret);
    phi_key_t key;
    assert_int_equal(phi_key_from_secret(secret, &key), SETTLE_OK);
    return key;
}

static claim_t *s_sample(void)
{
    claim_t *claim = claim_new();
    assert_int_equal(sample_fill_claim(claim), 0);
    claim->phi_size = 0; /* in the clear, as an adapter reads it */
    for (uint32_t i = 0; i < claim->line_count; i++)
        claim->lines[i].patient_age = CLAIM_AGE_NONE;
    return claim;
}

static void test_phi_member_keys_are_stable_per_payer_and_hide_the_id(void **state)
{
    (void)state;
    phi_key_t key = s_key(1), other = s_key(2);
    char a[PHI_MEMBER_KEY_SIZE], b[PHI_MEMBER_KEY_SIZE], c[PHI_MEMBER_KEY_SIZE],
        d[PHI_MEMBER_KEY_SIZE];
    assert_int_equal(phi_member_key(&key, "ACMEHP", "ACM100234501", a), SETTLE_OK);
    assert_int_equal(phi_member_key(&key, "ACMEHP", "ACM100234501", b), SETTLE_OK);
    assert_string_equal(a, b); /* the same member, the same key, every time */
    assert_true(phi_is_member_key(a));
    assert_int_equal(strlen(a), PHI_MEMBER_KEY_SIZE - 1);
    assert_null(strstr(a, "ACM"));
    assert_int_equal(phi_member_key(&key, "OTHERHP", "ACM100234501", c), SETTLE_OK);
    assert_string_not_equal(a, c); /* another payer's key for the same id */
    assert_int_equal(phi_member_key(&other, "ACMEHP", "ACM100234501", d), SETTLE_OK);
    assert_string_not_equal(a, d); /* another secret */
    /* payer and id are separated: ("AB", "C") is not ("A", "BC") */
    assert_int_equal(phi_member_key(&key, "AB", "C", c), SETTLE_OK);
    assert_int_equal(phi_member_key(&key, "A", "BC", d), SETTLE_OK);
    assert_string_not_equal(c, d);
    assert_false(phi_is_member_key("ACM100234501"));
    assert_false(phi_is_member_key("mk0123456789abcdef0123456789ABCDEF"));  /* upper case */
    assert_false(phi_is_member_key("mk0123456789abcdef0123456789abcde"));   /* short */
    assert_false(phi_is_member_key("mk0123456789abcdef0123456789abcdef0")); /* long */
}

static void test_phi_protect_seals_identifiers_and_reveal_restores_them(void **state)
{
    (void)state;
    phi_key_t key = s_key(7);
    claim_t *clear = s_sample(), *claim = claim_new();
    assert_int_equal(claim_copy(claim, clear), SETTLE_OK);
    assert_int_equal(phi_check_claim(claim, NULL), SETTLE_ERR_INVALID);
    assert_int_equal(phi_protect_claim(&key, NULL, claim, NULL), SETTLE_OK);
    assert_int_equal(phi_check_claim(claim, NULL), SETTLE_OK);
    assert_true(phi_is_member_key(claim->member_id));
    assert_int_equal(claim->patient_birth_date, DATE_NONE);
    assert_string_equal(claim->patient.last_name, "");
    assert_string_equal(claim->patient.postal_code, "");
    assert_true(claim->phi_size > phi_envelope_overhead(false));
    /* born 1968-04-12, seen 2026-09-28: 58 */
    assert_int_equal(claim->lines[0].patient_age, 58);
    assert_int_equal(claim->lines[1].patient_age, 58);
    /* No identifier survives in the encoding the ledger keeps. */
    uint8_t *bytes;
    size_t size;
    assert_int_equal(claim_encode(claim, &bytes, &size), SETTLE_OK);
    const char *identifiers[] = {"ACM100234501", "ALVAREZ",     "MARIA", "12 MAIN ST",
                                 "APT 4",        "SPRINGFIELD", "62701"};
    for (size_t i = 0; i < sizeof identifiers / sizeof identifiers[0]; i++)
        assert_null(memmem(bytes, size, identifiers[i], strlen(identifiers[i])));
    free(bytes);
    /* Protecting twice changes nothing; sealing is deterministic. */
    claim_t *again = claim_new();
    assert_int_equal(claim_copy(again, clear), SETTLE_OK);
    assert_int_equal(phi_protect_claim(&key, NULL, again, NULL), SETTLE_OK);
    assert_true(claim_equal(claim, again));
    assert_int_equal(phi_protect_claim(&key, NULL, again, NULL), SETTLE_OK);
    assert_true(claim_equal(claim, again));
    /* Revealed, it is the claim it was, the lines' ages aside. */
    assert_int_equal(phi_reveal_claim(&key, claim, NULL), SETTLE_OK);
    for (uint32_t i = 0; i < clear->line_count; i++)
        clear->lines[i].patient_age = 58;
    assert_true(claim_equal(claim, clear));
    claim_destroy(&again);
    claim_destroy(&claim);
    claim_destroy(&clear);
}

static void test_phi_a_tampered_or_moved_envelope_does_not_open(void **state)
{
    (void)state;
    phi_key_t key = s_key(7), other = s_key(8);
    claim_t *claim = s_sample();
    assert_int_equal(phi_protect_claim(&key, NULL, claim, NULL), SETTLE_OK);
    phi_record_t record;
    settle_error_t error;
    /* Every single-bit change anywhere in the envelope is caught. */
    for (size_t at = 0; at < claim->phi_size; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            claim->phi[at] ^= (uint8_t)(1u << bit);
            int rc = phi_open(&key, claim->payer_id, claim->member_id, claim->claim_id, claim->phi,
                              claim->phi_size, &record, &error);
            claim->phi[at] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(rc, SETTLE_OK);
            if (at > 5) /* past the mark, version and recipients: authentication fails */
                assert_int_equal(rc, SETTLE_ERR_SIGNATURE);
        }
    }
    assert_int_equal(phi_open(&key, claim->payer_id, claim->member_id, claim->claim_id, claim->phi,
                              claim->phi_size, &record, NULL),
                     SETTLE_OK);
    assert_string_equal(record.member_id, "ACM100234501");
    /* Moved to another claim, another member or another payer, or opened
     * with another payer's secret: refused. */
    assert_int_equal(phi_open(&key, claim->payer_id, claim->member_id, "OTHER-CLAIM", claim->phi,
                              claim->phi_size, &record, &error),
                     SETTLE_ERR_SIGNATURE);
    assert_non_null(strstr(error.message, "do not authenticate"));
    assert_int_equal(phi_open(&key, claim->payer_id, "mk00000000000000000000000000000000",
                              claim->claim_id, claim->phi, claim->phi_size, &record, NULL),
                     SETTLE_ERR_SIGNATURE);
    assert_int_equal(phi_open(&key, "OTHERHP", claim->member_id, claim->claim_id, claim->phi,
                              claim->phi_size, &record, NULL),
                     SETTLE_ERR_SIGNATURE);
    assert_int_equal(phi_open(&other, claim->payer_id, claim->member_id, claim->claim_id,
                              claim->phi, claim->phi_size, &record, NULL),
                     SETTLE_ERR_SIGNATURE);
    /* Cut short, or with trailing bytes. */
    for (size_t size = 0; size < claim->phi_size; size++)
        assert_int_not_equal(phi_open(&key, claim->payer_id, claim->member_id, claim->claim_id,
                                      claim->phi, size, &record, NULL),
                             SETTLE_OK);
    assert_int_not_equal(phi_open(&key, claim->payer_id, claim->member_id, claim->claim_id,
                                  claim->phi, claim->phi_size + 1, &record, NULL),
                         SETTLE_OK);
    /* A tampered claim is refused on reveal and left as it was. */
    claim->phi[claim->phi_size - 1] ^= 1;
    claim_t *before = claim_new();
    assert_int_equal(claim_copy(before, claim), SETTLE_OK);
    assert_int_equal(phi_reveal_claim(&key, claim, NULL), SETTLE_ERR_SIGNATURE);
    assert_true(claim_equal(claim, before));
    claim_destroy(&before);
    claim_destroy(&claim);
}

/* Sealed for the billing provider too: its own key opens its copy; another
 * provider's does not; the payer's secret still opens the envelope. */
static void test_phi_the_billing_provider_opens_its_copy(void **state)
{
    (void)state;
    phi_key_t key = s_key(7);
    uint8_t seed[SIGN_SEED_SIZE], public_a[SIGN_CURVE_KEY_SIZE], secret_a[SIGN_CURVE_KEY_SIZE],
        public_b[SIGN_CURVE_KEY_SIZE], secret_b[SIGN_CURVE_KEY_SIZE];
    sign_key_t *a = NULL, *b = NULL;
    memset(seed, 0xa1, sizeof seed);
    assert_int_equal(sign_key_from_seed(seed, &a), SETTLE_OK);
    memset(seed, 0xb2, sizeof seed);
    assert_int_equal(sign_key_from_seed(seed, &b), SETTLE_OK);
    assert_int_equal(sign_key_curve(a, public_a, secret_a), SETTLE_OK);
    assert_int_equal(sign_key_curve(b, public_b, secret_b), SETTLE_OK);
    /* The provider's X25519 key as a payer's client finds it: converted
     * from the Ed25519 key the ledger registered. */
    uint8_t registered[SIGN_PUBLIC_KEY_SIZE], converted[SIGN_CURVE_KEY_SIZE];
    sign_key_public(a, registered);
    assert_int_equal(sign_public_key_to_curve(registered, converted), SETTLE_OK);
    assert_memory_equal(converted, public_a, sizeof converted);

    claim_t *claim = s_sample(), *payer_only = s_sample();
    assert_int_equal(phi_protect_claim(&key, converted, claim, NULL), SETTLE_OK);
    assert_int_equal(phi_protect_claim(&key, NULL, payer_only, NULL), SETTLE_OK);
    assert_int_equal(claim->phi_size, payer_only->phi_size + 80);
    phi_record_t record;
    settle_error_t error;
    const char *payer = claim->payer_id, *member = claim->member_id, *id = claim->claim_id;
    assert_int_equal(phi_open_as_provider(secret_a, payer, member, id, claim->phi, claim->phi_size,
                                          &record, &error),
                     SETTLE_OK);
    assert_string_equal(record.member_id, "ACM100234501");
    assert_string_equal(record.patient.last_name, "ALVAREZ");
    assert_int_equal(phi_open(&key, payer, member, id, claim->phi, claim->phi_size, &record, NULL),
                     SETTLE_OK);
    assert_int_equal(phi_open_as_provider(secret_b, payer, member, id, claim->phi, claim->phi_size,
                                          &record, &error),
                     SETTLE_ERR_SIGNATURE);
    assert_int_equal(phi_open_as_provider(secret_a, payer, member, "OTHER", claim->phi,
                                          claim->phi_size, &record, NULL),
                     SETTLE_ERR_SIGNATURE);
    assert_int_equal(phi_open_as_provider(secret_a, payer, member, id, payer_only->phi,
                                          payer_only->phi_size, &record, &error),
                     SETTLE_ERR_NOT_FOUND);
    assert_non_null(strstr(error.message, "sealed for the payer alone"));
    /* A changed bit: the provider notices it anywhere but in the payer's
     * wrap, the payer anywhere but in the provider's. */
    size_t payer_wrap_end = 6 + 12 + 32 + 16, provider_wrap_end = payer_wrap_end + 80;
    for (size_t at = 0; at < claim->phi_size; at++) {
        claim->phi[at] ^= 0x10;
        int as_provider = phi_open_as_provider(secret_a, payer, member, id, claim->phi,
                                               claim->phi_size, &record, NULL);
        int as_payer =
            phi_open(&key, payer, member, id, claim->phi, claim->phi_size, &record, NULL);
        claim->phi[at] ^= 0x10;
        if (at < 6 || at >= payer_wrap_end)
            assert_int_not_equal(as_provider, SETTLE_OK);
        if (at < payer_wrap_end || at >= provider_wrap_end)
            assert_int_not_equal(as_payer, SETTLE_OK);
    }
    claim_destroy(&payer_only);
    claim_destroy(&claim);
    sign_key_destroy(&a);
    sign_key_destroy(&b);
}

static void test_phi_check_names_what_is_in_the_clear(void **state)
{
    (void)state;
    phi_key_t key = s_key(3);
    claim_t *claim = s_sample();
    settle_error_t error;
    assert_int_equal(phi_check_claim(claim, &error), SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "member id is not a pseudonymous member key"));
    assert_int_equal(phi_protect_claim(&key, NULL, claim, NULL), SETTLE_OK);
    claim->patient_birth_date = 0;
    assert_int_equal(phi_check_claim(claim, &error), SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "birth date in the clear"));
    claim->patient_birth_date = DATE_NONE;
    CLAIM_SET_TEXT(claim->patient.city, "SPRINGFIELD", 11);
    assert_int_equal(phi_check_claim(claim, &error), SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "name or address in the clear"));
    claim->patient.city[0] = '\0';
    uint16_t size = claim->phi_size;
    claim->phi_size = 0;
    assert_int_equal(phi_check_claim(claim, &error), SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "no sealed identifiers"));
    claim->phi_size = size;
    assert_int_equal(phi_check_claim(claim, NULL), SETTLE_OK);
    claim_destroy(&claim);
}

static void test_phi_secret_files_are_private_and_never_overwritten(void **state)
{
    (void)state;
    char dir[] = "/tmp/settle-phi-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/payer.phi", dir);
    settle_error_t error;
    assert_int_equal(phi_key_generate(path, &error), SETTLE_OK);
    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    assert_int_equal(info.st_size, 65);
    assert_int_equal(phi_key_generate(path, &error), SETTLE_ERR_EXISTS);
    phi_key_t loaded, again;
    assert_int_equal(phi_key_load(path, &loaded, &error), SETTLE_OK);
    assert_int_equal(phi_key_load(path, &again, &error), SETTLE_OK);
    assert_memory_equal(&loaded, &again, sizeof loaded);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(phi_key_load(path, &again, &error), SETTLE_ERR_INVALID);
    assert_non_null(strstr(error.message, "chmod 600"));
    FILE *file = fopen(path, "w");
    fputs("not hex\n", file);
    fclose(file);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(phi_key_load(path, &again, &error), SETTLE_ERR_SYNTAX);
    phi_key_wipe(&loaded);
    uint8_t zero[sizeof loaded];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&loaded, zero, sizeof zero);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phi_member_keys_are_stable_per_payer_and_hide_the_id),
        cmocka_unit_test(test_phi_protect_seals_identifiers_and_reveal_restores_them),
        cmocka_unit_test(test_phi_a_tampered_or_moved_envelope_does_not_open),
        cmocka_unit_test(test_phi_the_billing_provider_opens_its_copy),
        cmocka_unit_test(test_phi_check_names_what_is_in_the_clear),
        cmocka_unit_test(test_phi_secret_files_are_private_and_never_overwritten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
