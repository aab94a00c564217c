/*
 * fuzz_command.c - the entry, command and payload decoders on arbitrary
 * bytes.  The first byte chooses the decoder; the rest is its input.
 *
 * Checks more than "no crash": whatever decodes must re-encode to exactly
 * the input (one value, one encoding), and a failure must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check_command(const uint8_t *data, size_t size)
{
    command_t command;
    settle_error_t error;
    settle_error_clear(&error);
    if (command_decode(data, size, &command, &error) != SETTLE_OK) {
        if (!error.message[0])
            abort();
        return;
    }
    uint8_t *again;
    size_t again_size;
    if (command_encode(&command, &again, &again_size) != SETTLE_OK)
        abort();
    if (again_size != size || memcmp(again, data, size) != 0)
        abort();
    settle_free(again);
    uint8_t digest[COMMAND_DIGEST_SIZE];
    command_signing_digest(&command, digest, NULL);
}

static void s_check_entry(const uint8_t *data, size_t size)
{
    command_entry_t entry;
    settle_error_t error, reasons[8];
    settle_error_clear(&error);
    if (command_entry_decode(data, size, &entry, reasons, 8, &error) != SETTLE_OK) {
        if (!error.message[0])
            abort();
        return;
    }
    for (uint32_t i = 0; i < entry.count; i++)
        if (entry.commands[i].type != 0) {
            uint8_t *again;
            size_t again_size;
            if (command_encode(&entry.commands[i], &again, &again_size) != SETTLE_OK)
                abort();
            settle_free(again);
        }
    command_entry_free(&entry);
}

static void s_check_payloads(const uint8_t *data, size_t size)
{
    command_register_t reg;
    command_text_t text;
    command_batch_t batch;
    command_fund_t fund;
    command_pay_t pay;
    uint8_t *again = NULL;
    size_t again_size = 0;
    if (command_register_decode(data, size, &reg, NULL) == SETTLE_OK &&
        (command_register_encode(&reg, &again, &again_size) != SETTLE_OK || again_size != size ||
         memcmp(again, data, size) != 0))
        abort();
    settle_free(again);
    command_text_decode(data, size, &text, NULL);
    if (command_batch_decode(data, size, &batch, NULL) == SETTLE_OK) {
        uint8_t root[COMMAND_DIGEST_SIZE];
        if (command_batch_root(&batch, root) != SETTLE_OK)
            abort();
    }
    command_fund_decode(data, size, &fund, NULL);
    command_pay_decode(data, size, &pay, NULL);
    command_rotate_t rotate;
    again = NULL;
    if (command_rotate_decode(data, size, &rotate, NULL) == SETTLE_OK) {
        if (command_rotate_encode(&rotate, &again, &again_size) != SETTLE_OK ||
            again_size != size || memcmp(again, data, size) != 0)
            abort();
        /* Any proof, however garbled, verifies or is refused as a signature. */
        int verified = command_rotate_verify(&rotate, rotate.public_key, 0, NULL);
        if (verified != SETTLE_OK && verified != SETTLE_ERR_SIGNATURE)
            abort();
    }
    settle_free(again);
    command_revoke_t revoke;
    again = NULL;
    if (command_revoke_decode(data, size, &revoke, NULL) == SETTLE_OK &&
        (command_revoke_encode(&revoke, &again, &again_size) != SETTLE_OK || again_size != size ||
         memcmp(again, data, size) != 0))
        abort();
    settle_free(again);
    command_checkpoint_t checkpoint;
    again = NULL;
    if (command_checkpoint_decode(data, size, &checkpoint, NULL) == SETTLE_OK &&
        (command_checkpoint_encode(&checkpoint, &again, &again_size) != SETTLE_OK ||
         again_size != size || memcmp(again, data, size) != 0))
        abort();
    settle_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The padding cut never reaches past the input, and only cuts zeros. */
    size_t unpadded = command_entry_unpadded_size(data, size);
    if (unpadded > size || size - unpadded >= 8)
        abort();
    for (size_t i = unpadded; i < size; i++)
        if (data[i] != 0)
            abort();
    switch (data[0] % 3) {
    case 0:
        s_check_entry(data + 1, size - 1);
        break;
    case 1:
        s_check_command(data + 1, size - 1);
        break;
    default:
        s_check_payloads(data + 1, size - 1);
        break;
    }
    return 0;
}
