/*
 * fuzz_phi.c - sealed identifiers (phi.h) on arbitrary bytes.
 *
 * The input is an envelope: opening it must fail with a reason unless it
 * is one this key sealed.  The input is also cut into a member id and
 * patient fields (printable ASCII only, as claims carry them) which are
 * sealed (for the payer, and for a provider when the first byte is odd)
 * and opened again: they must come back exactly, and the envelope with an
 * input-chosen bit flipped must not open for the payer... unless the bit
 * is in the provider's copy, which only the provider reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/date.h"
#include "settle/phi.h"
#include "settle/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A billing provider's X25519 key pair, from a fixed Ed25519 seed. */
static void s_provider(uint8_t public_out[SIGN_CURVE_KEY_SIZE],
                       uint8_t secret_out[SIGN_CURVE_KEY_SIZE])
{
    uint8_t seed[SIGN_SEED_SIZE];
    memset(seed, 0x22, sizeof seed);
    sign_key_t *key = NULL;
    if (sign_key_from_seed(seed, &key) != SETTLE_OK ||
        sign_key_curve(key, public_out, secret_out) != SETTLE_OK)
        abort();
    sign_key_destroy(&key);
}

static const phi_key_t *s_key(void)
{
    static phi_key_t key;
    static int made;
    if (!made) {
        uint8_t secret[PHI_SECRET_SIZE];
        memset(secret, 0x11, sizeof secret);
        if (phi_key_from_secret(secret, &key) != SETTLE_OK)
            abort();
        made = 1;
    }
    return &key;
}

/* Fills field[0..field_size) with printable characters taken from data. */
static void s_take(char *field, size_t field_size, const uint8_t **data, size_t *size)
{
    size_t n = 0;
    while (*size > 0 && n + 1 < field_size) {
        uint8_t c = **data;
        (*data)++, (*size)--;
        if (c == 0)
            break;
        field[n++] = (char)(0x20 + c % 95);
    }
    field[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *payer = "ACMEHP", *member = "mk0123456789abcdef0123456789abcdef";
    phi_record_t record;
    settle_error_t error;
    settle_error_clear(&error);
    uint8_t provider[SIGN_CURVE_KEY_SIZE], secret[SIGN_CURVE_KEY_SIZE];
    s_provider(provider, secret);
    if (phi_open(s_key(), payer, member, "C1", data, size, &record, &error) != SETTLE_OK &&
        !error.message[0])
        abort(); /* a refusal must say why */
    settle_error_clear(&error);
    if (phi_open_as_provider(secret, payer, member, "C1", data, size, &record, &error) !=
            SETTLE_OK &&
        !error.message[0])
        abort();
    bool for_provider = size > 0 && (data[0] & 1);

    phi_record_t in;
    memset(&in, 0, sizeof in);
    const uint8_t *at = data;
    size_t left = size;
    s_take(in.member_id, sizeof in.member_id, &at, &left);
    s_take(in.patient.last_name, sizeof in.patient.last_name, &at, &left);
    s_take(in.patient.first_name, sizeof in.patient.first_name, &at, &left);
    s_take(in.patient.address_1, sizeof in.patient.address_1, &at, &left);
    s_take(in.patient.postal_code, sizeof in.patient.postal_code, &at, &left);
    in.birth_date = size > 3 ? (int32_t)(data[0] << 16 | data[1] << 8 | data[2]) : DATE_NONE;
    uint8_t envelope[CLAIM_PHI_SIZE_MAX];
    size_t sealed;
    if (phi_seal(s_key(), for_provider ? provider : NULL, payer, member, "C1", &in, envelope,
                 sizeof envelope, &sealed, &error) != SETTLE_OK)
        abort(); /* every field fits by construction */
    phi_record_t out;
    if (phi_open(s_key(), payer, member, "C1", envelope, sealed, &out, &error) != SETTLE_OK ||
        memcmp(&in.member_id, &out.member_id, sizeof in.member_id) != 0 ||
        in.birth_date != out.birth_date ||
        strcmp(in.patient.last_name, out.patient.last_name) != 0 ||
        strcmp(in.patient.postal_code, out.patient.postal_code) != 0)
        abort();
    if (for_provider && (phi_open_as_provider(secret, payer, member, "C1", envelope, sealed, &out,
                                              &error) != SETTLE_OK ||
                         strcmp(in.patient.first_name, out.patient.first_name) != 0))
        abort();
    size_t bit = size ? (size_t)data[size - 1] * 7 % (sealed * 8) : 0;
    envelope[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    bool in_provider_copy = for_provider && bit / 8 >= 66 && bit / 8 < 146;
    if (!in_provider_copy &&
        phi_open(s_key(), payer, member, "C1", envelope, sealed, &out, &error) == SETTLE_OK)
        abort(); /* a changed bit went unnoticed */
    if (for_provider && !(bit / 8 >= 6 && bit / 8 < 66) &&
        phi_open_as_provider(secret, payer, member, "C1", envelope, sealed, &out, &error) ==
            SETTLE_OK)
        abort();
    return 0;
}
