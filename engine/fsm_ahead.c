/*
 * fsm_ahead.c - an auditor's replay checks signatures ahead, many at once
 * (fsm_verify_ahead, fsm.h): the commands of the next entries are decoded,
 * each signer's key read from the state as it is, and every signature
 * checked in one batch (sign_verify_batch); apply then skips the check of
 * a command verified so, if its signer's key is still the one it was
 * verified with.  A command signed with a key a rotation retires within
 * the window, or one the batch could not vouch for, is checked by apply
 * as before: the answers are those of checking each in apply.
 */
#include <string.h>

#include "fsm_internal.h"
#include "settle/alloc.h"

/* One command verified ahead. */
typedef struct {
    uint64_t entry_index;
    uint32_t position;
    uint32_t hash_count; /* a batch's claims, their content hashes at hashes_at */
    size_t hashes_at;
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    uint8_t digest[COMMAND_DIGEST_SIZE];
    uint8_t signature[SIGN_SIGNATURE_SIZE];
} s_checked_t;

struct fsm_ahead_s {
    s_checked_t *checked; /* in entry and position order */
    sign_item_t *items;
    bool *good;
    size_t count, capacity, next; /* next: where the lookup goes on from */
    uint8_t (*hashes)[COMMAND_DIGEST_SIZE]; /* batches' content hashes, for apply */
    size_t hash_count, hash_capacity;
};

void fsm_ahead_free(fsm_ahead_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    settle_free((*self_p)->checked);
    settle_free((*self_p)->items);
    settle_free((*self_p)->good);
    settle_free((*self_p)->hashes);
    settle_free(*self_p);
    *self_p = NULL;
}

static bool s_reserve(fsm_ahead_t *a, size_t needed)
{
    if (needed <= a->capacity)
        return true;
    size_t grown = a->capacity ? a->capacity : 64;
    while (grown < needed)
        grown *= 2;
    s_checked_t *checked = settle_realloc(a->checked, grown * sizeof *checked);
    if (checked)
        a->checked = checked;
    sign_item_t *items = checked ? settle_realloc(a->items, grown * sizeof *items) : NULL;
    if (items)
        a->items = items;
    bool *good = items ? settle_realloc(a->good, grown * sizeof *good) : NULL;
    if (!good)
        return false;
    a->good = good;
    a->capacity = grown;
    return true;
}

/* What the command signed; for a batch, its claims' content hashes kept
 * for apply (the Merkle root's leaves, command.h). */
static int s_digest(fsm_ahead_t *a, const command_t *command, s_checked_t *c)
{
    c->hash_count = 0;
    if (command->type != COMMAND_BATCH)
        return command_signing_digest(command, c->digest, NULL);
    command_batch_t batch;
    if (command_batch_decode(command->payload, command->payload_size, &batch, NULL) != SETTLE_OK)
        return SETTLE_ERR_INVALID; /* left to apply */
    if (a->hash_count + batch.count > a->hash_capacity) {
        size_t grown = a->hash_capacity ? a->hash_capacity : 1024;
        while (grown < a->hash_count + batch.count)
            grown *= 2;
        uint8_t(*bigger)[COMMAND_DIGEST_SIZE] = settle_realloc(a->hashes, grown * sizeof *bigger);
        if (!bigger)
            return SETTLE_ERR_NOMEM;
        a->hashes = bigger;
        a->hash_capacity = grown;
    }
    uint8_t root[COMMAND_DIGEST_SIZE];
    int rc = command_batch_root_hashes(&batch, &a->hashes[a->hash_count], root);
    if (rc == SETTLE_OK)
        rc = command_signing_digest_of(command, root, c->digest, NULL);
    if (rc == SETTLE_OK) {
        c->hashes_at = a->hash_count;
        c->hash_count = batch.count;
        a->hash_count += batch.count;
    }
    return rc;
}

/* The entry's commands whose signer is known now, with what they signed. */
static int s_collect(fsm_t *self, fsm_ahead_t *a, uint64_t index, const uint8_t *bytes, size_t size)
{
    command_entry_t entry;
    if (command_entry_decode(bytes, size, &entry, NULL, 0, NULL) != SETTLE_OK)
        return SETTLE_OK; /* apply says what is wrong with it */
    int rc = s_reserve(a, a->count + entry.count) ? SETTLE_OK : SETTLE_ERR_NOMEM;
    for (uint32_t i = 0; i < entry.count && rc == SETTLE_OK; i++) {
        const command_t *command = &entry.commands[i];
        ledger_participant_t signer;
        s_checked_t *c = &a->checked[a->count];
        if (command->type == 0 ||
            strcmp(command->participant, COMMAND_GENESIS_PARTICIPANT) == 0 ||
            ledger_participant_get(self->ledger, command->participant, &signer) != SETTLE_OK)
            continue; /* left to apply */
        int digested = s_digest(a, command, c);
        if (digested == SETTLE_ERR_NOMEM)
            rc = digested;
        if (digested != SETTLE_OK)
            continue;
        c->entry_index = index;
        c->position = i;
        memcpy(c->public_key, signer.public_key, sizeof c->public_key);
        memcpy(c->signature, command->signature, sizeof c->signature);
        a->count++;
    }
    command_entry_free(&entry);
    return rc;
}

int fsm_verify_ahead(fsm_t *self, const uint8_t *const *entries, const size_t *sizes,
                     size_t count, settle_error_t *error)
{
    if (!self->ahead && !(self->ahead = settle_calloc(1, sizeof *self->ahead)))
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    fsm_ahead_t *a = self->ahead;
    a->count = a->next = a->hash_count = 0;
    for (size_t e = 0; e < count; e++)
        if (s_collect(self, a, self->head_index + 1 + e, entries[e], sizes[e]) != SETTLE_OK) {
            a->count = 0;
            return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
        }
    for (size_t i = 0; i < a->count; i++)
        a->items[i] = (sign_item_t){a->checked[i].public_key, a->checked[i].digest,
                                    COMMAND_DIGEST_SIZE, a->checked[i].signature};
    bool all = sign_verify_batch(a->items, a->count) == SETTLE_OK;
    for (size_t i = 0; i < a->count; i++)
        a->good[i] = all || sign_verify(a->items[i].public_key, a->items[i].message,
                                        a->items[i].size, a->items[i].signature) == SETTLE_OK;
    return SETTLE_OK;
}

bool fsm_verified_ahead(fsm_t *self, uint64_t entry_index, uint32_t position,
                        const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                        const uint8_t signature[SIGN_SIGNATURE_SIZE])
{
    fsm_ahead_t *a = self->ahead;
    if (!a)
        return false;
    while (a->next < a->count &&
           (a->checked[a->next].entry_index < entry_index ||
            (a->checked[a->next].entry_index == entry_index &&
             a->checked[a->next].position < position)))
        a->next++;
    if (a->next == a->count)
        return false;
    const s_checked_t *c = &a->checked[a->next];
    return c->entry_index == entry_index && c->position == position && a->good[a->next] &&
           memcmp(c->public_key, public_key, SIGN_PUBLIC_KEY_SIZE) == 0 &&
           memcmp(c->signature, signature, SIGN_SIGNATURE_SIZE) == 0;
}

const uint8_t (*fsm_ahead_hashes(fsm_t *self, uint64_t entry_index, uint32_t position,
                                 uint32_t count))[COMMAND_DIGEST_SIZE]
{
    fsm_ahead_t *a = self->ahead;
    if (!a)
        return NULL;
    for (size_t i = a->next; i < a->count; i++) {
        const s_checked_t *c = &a->checked[i];
        if (c->entry_index > entry_index ||
            (c->entry_index == entry_index && c->position > position))
            break;
        if (c->entry_index == entry_index && c->position == position)
            return c->hash_count == count && count ? (const uint8_t(*)[COMMAND_DIGEST_SIZE]) &
                                                          a->hashes[c->hashes_at]
                                                    : NULL;
    }
    return NULL;
}
