/*
 * command.c - the command and entry encodings, and what a command's
 * signature covers.  The layouts are at the top of include/settle/command.h;
 * the payload layouts are in command_payload.c.
 */
#include "settle/command.h"

#include <inttypes.h>

#include "wire.h"
#include "settle/hash.h"

static const uint8_t s_command_mark[4] = {'S', 'C', 'M', 'D'};
static const uint8_t s_entry_mark[4] = {'S', 'E', 'N', 'T'};
static const char s_domain[] = "settle.command/2"; /* 2: leaves are content hashes */

/* The fewest bytes a command takes: mark, version, type, empty participant,
 * sequence, empty payload, signature. */
#define COMMAND_SIZE_MIN (4 + 2 + 1 + 2 + 8 + 4 + SIGN_SIGNATURE_SIZE)

const char *command_type_name(int type)
{
    static const char *const names[] = {"unknown", "register", "deploy", "enroll", "batch",
                                        "fund",    "pay",      "rotate", "revoke", "checkpoint"};
    return type >= 1 && type <= COMMAND_TYPE_MAX ? names[type] : names[0];
}

const char *command_role_name(int role)
{
    static const char *const names[] = {"unknown", "payer", "provider", "auditor", "node"};
    return role >= 1 && role <= COMMAND_ROLE_NODE ? names[role] : names[0];
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static bool s_type_ok(uint8_t type)
{
    return type >= 1 && type <= COMMAND_TYPE_MAX;
}

static void s_put_command(wire_writer_t *w, const command_t *c)
{
    if (!s_type_ok(c->type) || c->payload_size > COMMAND_PAYLOAD_SIZE_MAX ||
        (c->payload_size && !c->payload) || !c->participant[0]) {
        w->ok = false;
        return;
    }
    wire_put(w, s_command_mark, sizeof s_command_mark);
    wire_put_uint(w, COMMAND_VERSION, 2);
    wire_put_uint(w, c->type, 1);
    wire_put_text(w, c->participant, sizeof c->participant);
    wire_put_uint(w, c->sequence, 8);
    wire_put_bytes(w, c->payload, c->payload_size);
    wire_put(w, c->signature, SIGN_SIGNATURE_SIZE);
}

size_t command_encoded_size(const command_t *command)
{
    wire_writer_t w = {.ok = true};
    s_put_command(&w, command);
    return w.ok ? w.used : 0;
}

int command_encode_into(const command_t *command, uint8_t *buffer, size_t size)
{
    size_t needed = command_encoded_size(command);
    if (needed == 0)
        return SETTLE_ERR_INVALID;
    if (needed > size)
        return SETTLE_ERR_TOO_LONG;
    wire_writer_t w = {.at = buffer, .ok = true};
    s_put_command(&w, command);
    return SETTLE_OK;
}

int command_encode(const command_t *command, uint8_t **bytes_out, size_t *size_out)
{
    size_t needed = command_encoded_size(command);
    if (needed == 0)
        return SETTLE_ERR_INVALID;
    uint8_t *bytes = settle_malloc(needed);
    if (!bytes)
        return SETTLE_ERR_NOMEM;
    wire_writer_t w = {.at = bytes, .ok = true};
    s_put_command(&w, command);
    *bytes_out = bytes;
    *size_out = w.used;
    return SETTLE_OK;
}

int command_decode(const uint8_t *bytes, size_t size, command_t *command_out, settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "command", "mark", error};
    command_t c;
    memset(&c, 0, sizeof c);
    const uint8_t *mark = wire_take(&r, sizeof s_command_mark);
    if (mark && memcmp(mark, s_command_mark, sizeof s_command_mark) != 0)
        wire_fail(&r, SETTLE_ERR_CORRUPT, "not a command (no SCMD mark)");
    r.field = "version";
    if (wire_get_uint(&r, 2) != COMMAND_VERSION && r.rc == SETTLE_OK)
        wire_fail(&r, SETTLE_ERR_VERSION, "version is not 1");
    r.field = "type";
    c.type = (uint8_t)wire_get_uint(&r, 1);
    if (r.rc == SETTLE_OK && !s_type_ok(c.type))
        wire_fail(&r, SETTLE_ERR_CORRUPT, "unknown command type");
    wire_get_text(&r, "participant", c.participant, sizeof c.participant);
    if (r.rc == SETTLE_OK && !c.participant[0])
        wire_fail(&r, SETTLE_ERR_CORRUPT, "empty participant id");
    r.field = "sequence";
    c.sequence = wire_get_uint(&r, 8);
    c.payload = wire_get_bytes(&r, "payload", COMMAND_PAYLOAD_SIZE_MAX, &c.payload_size);
    r.field = "signature";
    const uint8_t *signature = wire_take(&r, SIGN_SIGNATURE_SIZE);
    if (signature)
        memcpy(c.signature, signature, SIGN_SIGNATURE_SIZE);
    wire_get_end(&r);
    if (r.rc != SETTLE_OK)
        return r.rc;
    *command_out = c;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Signatures
 * ------------------------------------------------------------------------ */

int command_payload_digest(const command_t *command, uint8_t digest_out[COMMAND_DIGEST_SIZE],
                           settle_error_t *error)
{
    if (command->type != COMMAND_BATCH) {
        int rc = hash_sha256(command->payload, command->payload_size, digest_out);
        return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "command: cannot hash payload");
    }
    command_batch_t batch;
    int rc = command_batch_decode(command->payload, command->payload_size, &batch, error);
    if (rc != SETTLE_OK)
        return rc;
    rc = command_batch_root(&batch, digest_out);
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "batch: cannot compute its root");
}

int command_signing_digest(const command_t *command, uint8_t digest_out[COMMAND_DIGEST_SIZE],
                           settle_error_t *error)
{
    uint8_t payload_digest[COMMAND_DIGEST_SIZE];
    int rc = command_payload_digest(command, payload_digest, error);
    return rc == SETTLE_OK ? command_signing_digest_of(command, payload_digest, digest_out, error)
                           : rc;
}

int command_signing_digest_of(const command_t *command,
                              const uint8_t payload_digest[COMMAND_DIGEST_SIZE],
                              uint8_t digest_out[COMMAND_DIGEST_SIZE], settle_error_t *error)
{
    uint8_t message[sizeof s_domain - 1 + 1 + 2 + COMMAND_PARTICIPANT_ID_SIZE + 8 +
                    COMMAND_DIGEST_SIZE];
    wire_writer_t w = {.at = message, .ok = true};
    wire_put(&w, s_domain, sizeof s_domain - 1);
    wire_put_uint(&w, command->type, 1);
    wire_put_text(&w, command->participant, sizeof command->participant);
    wire_put_uint(&w, command->sequence, 8);
    wire_put(&w, payload_digest, COMMAND_DIGEST_SIZE);
    if (!w.ok)
        return settle_error_set(error, SETTLE_ERR_INVALID, "command: bad participant id");
    int rc = hash_sha256(message, w.used, digest_out);
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "command: cannot hash");
}

int command_sign(command_t *command, const sign_key_t *key, settle_error_t *error)
{
    uint8_t digest[COMMAND_DIGEST_SIZE];
    int rc = command_signing_digest(command, digest, error);
    if (rc != SETTLE_OK)
        return rc;
    rc = sign_message(key, digest, sizeof digest, command->signature);
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "command: cannot sign");
}

int command_verify(const command_t *command, const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                   settle_error_t *error)
{
    uint8_t digest[COMMAND_DIGEST_SIZE];
    int rc = command_signing_digest(command, digest, error);
    if (rc != SETTLE_OK)
        return rc;
    rc = sign_verify(public_key, digest, sizeof digest, command->signature);
    if (rc == SETTLE_ERR_SIGNATURE)
        return settle_error_set(
            error, rc, "%s command %" PRIu64 " of %s: signature does not verify",
            command_type_name(command->type), command->sequence, command->participant);
    return rc == SETTLE_OK ? rc : settle_error_set(error, rc, "command: cannot verify");
}

/* ------------------------------------------------------------------------
 * Entries
 * ------------------------------------------------------------------------ */

int command_entry_encode(uint64_t timestamp_ms, const uint8_t *const *commands, const size_t *sizes,
                         uint32_t count, uint8_t **bytes_out, size_t *size_out)
{
    if (count > COMMAND_ENTRY_COMMANDS_MAX)
        return SETTLE_ERR_TOO_MANY;
    size_t total = 4 + 2 + 8 + 4;
    for (uint32_t i = 0; i < count; i++) {
        if (sizes[i] > COMMAND_ENTRY_SIZE_MAX)
            return SETTLE_ERR_TOO_LONG;
        total += 4 + sizes[i];
        if (total > COMMAND_ENTRY_SIZE_MAX)
            return SETTLE_ERR_TOO_LONG;
    }
    uint8_t *bytes = settle_malloc(total);
    if (!bytes)
        return SETTLE_ERR_NOMEM;
    wire_writer_t w = {.at = bytes, .ok = true};
    wire_put(&w, s_entry_mark, sizeof s_entry_mark);
    wire_put_uint(&w, COMMAND_VERSION, 2);
    wire_put_uint(&w, timestamp_ms, 8);
    wire_put_uint(&w, count, 4);
    for (uint32_t i = 0; i < count; i++)
        wire_put_bytes(&w, commands[i], sizes[i]);
    *bytes_out = bytes;
    *size_out = w.used;
    return SETTLE_OK;
}

static void s_entry_header(wire_reader_t *r, command_entry_t *entry)
{
    const uint8_t *mark = wire_take(r, sizeof s_entry_mark);
    if (mark && memcmp(mark, s_entry_mark, sizeof s_entry_mark) != 0)
        wire_fail(r, SETTLE_ERR_CORRUPT, "not an entry (no SENT mark)");
    r->field = "version";
    if (wire_get_uint(r, 2) != COMMAND_VERSION && r->rc == SETTLE_OK)
        wire_fail(r, SETTLE_ERR_VERSION, "version is not 1");
    r->field = "timestamp";
    entry->timestamp_ms = wire_get_uint(r, 8);
    r->field = "count";
    entry->count = (uint32_t)wire_get_uint(r, 4);
    if (r->rc != SETTLE_OK)
        return;
    if (entry->count > COMMAND_ENTRY_COMMANDS_MAX)
        wire_fail(r, SETTLE_ERR_TOO_MANY, "more commands than an entry may carry");
    else if (entry->count > (r->size - r->at) / 4)
        wire_fail(r, SETTLE_ERR_TRUNCATED, "the buffer ends before the commands it counts");
}

int command_entry_decode(const uint8_t *bytes, size_t size, command_entry_t *entry_out,
                         settle_error_t *reasons, uint32_t reasons_capacity, settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "entry", "mark", error};
    command_entry_t entry = {0, 0, NULL};
    if (r.size > COMMAND_ENTRY_SIZE_MAX)
        wire_fail(&r, SETTLE_ERR_TOO_LONG, "entry larger than its limit");
    s_entry_header(&r, &entry);
    if (r.rc != SETTLE_OK)
        return r.rc;
    entry.commands = settle_calloc(entry.count + 1, sizeof *entry.commands);
    if (!entry.commands)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "entry: no memory for its commands");
    for (uint32_t i = 0; i < entry.count && r.rc == SETTLE_OK; i++) {
        size_t command_size;
        const uint8_t *command =
            wire_get_bytes(&r, "command", COMMAND_ENTRY_SIZE_MAX, &command_size);
        if (!command)
            break;
        settle_error_t *reason = reasons && i < reasons_capacity ? &reasons[i] : NULL;
        settle_error_clear(reason);
        if (command_decode(command, command_size, &entry.commands[i], reason) != SETTLE_OK)
            entry.commands[i].type = 0;
    }
    wire_get_end(&r);
    if (r.rc != SETTLE_OK) {
        command_entry_free(&entry);
        return r.rc;
    }
    *entry_out = entry;
    return SETTLE_OK;
}

void command_entry_free(command_entry_t *entry)
{
    if (!entry)
        return;
    settle_free(entry->commands);
    entry->commands = NULL;
    entry->count = 0;
}

/* ------------------------------------------------------------------------
 * Padding in the Raft log
 * ------------------------------------------------------------------------ */

#define COMMAND_ENTRY_HEADER_SIZE 18 /* "SENT" u16 version u64 timestamp u32 count */

static uint32_t s_u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t command_entry_unpadded_size(const uint8_t *bytes, size_t size)
{
    if (!bytes || size < COMMAND_ENTRY_HEADER_SIZE)
        return size;
    uint32_t count = s_u32_at(bytes + 14);
    size_t at = COMMAND_ENTRY_HEADER_SIZE;
    for (uint32_t i = 0; i < count && i < COMMAND_ENTRY_COMMANDS_MAX; i++) {
        if (size - at < 4 || s_u32_at(bytes + at) > size - at - 4)
            return size;
        at += 4 + (size_t)s_u32_at(bytes + at);
    }
    if (size - at >= 8)
        return size;
    for (size_t i = at; i < size; i++)
        if (bytes[i] != 0)
            return size;
    return at;
}
