/*
 * interp_state.c - accumulator totals and the history of adjudicated
 * claims.
 *
 * Both are found through open-addressing hash indexes (linear probing,
 * at most half full) on a 64-bit hash of the name.  The indexes serve
 * lookups only and are never walked, so no hash order can reach a
 * decision or a change list; and the hash is a fixed function of the
 * name's bytes (no seed, no address), so the same calls build the same
 * state on every machine.  Accumulators live in an append-only table, so
 * an accumulator's index is its id and stays valid for the interpreter to
 * hold.
 *
 * The history keeps only what a duplicate, a void and a replacement need:
 * per claim a 64-byte record (in an array that grows by doubling), and the
 * rest packed end to end in 1 MiB chunks that never move: per change the
 * accumulator id and amount (not its 168-byte name), per line only its
 * amounts that are not zero, in 4 bytes when they fit, and the
 * adjustments it has (not the empty slots of interp_line_t), texts as a
 * length and their bytes.  With the claim's header and changes, a line
 * takes about 50 bytes instead of 296 + 168 per change: the history's
 * memory, and the page faults that first touch it, were most of what
 * recording a claim cost.  Nothing is allocated per claim and nothing
 * recorded is ever moved.  A claim put again under the same id leaves its
 * earlier data unused in its chunk.
 */
#include <stddef.h>
#include <string.h>

#include "interp_internal.h"
#include "settle/alloc.h"
#include "settle/money.h"

/* A slot of a hash index: the full hash (so growing needs no rehash of
 * the names) and the entry's index + 1 (0: empty). */
typedef struct {
    uint64_t hash;
    uint32_t entry;
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t mask; /* slot count - 1; the count is a power of two */
    size_t used;
} s_index_t;

/* A slot of the member index: the hash of a member id and year, and the
 * member's four accumulator ids (ids[0] S_MEMBER_EMPTY: an empty slot).
 * The ids live in the slot, not in a table the slot would point into: the
 * lookup comes once a claim, at a random place, and every hop was a cache
 * miss of its own. */
typedef struct {
    uint64_t hash;
    uint32_t ids[4];
} s_member_slot_t;

typedef struct {
    s_member_slot_t *slots;
    size_t mask; /* as in s_index_t */
    size_t used;
} s_member_index_t;

#define S_MEMBER_EMPTY UINT32_MAX /* no accumulator has this id */

/* The most a packed claim takes: a variable-length integer is at most 10
 * bytes, a text 1 + its longest. */
#define S_PACKED_HEADER_MAX (1 + 1 + (CLAIM_REFERENCE_SIZE - 1) + 4 * 10)
#define S_PACKED_CHANGE_MAX (5 + 10)
#define S_PACKED_LINE_MAX                                                                          \
    (3 + 1 + (CLAIM_PROCEDURE_SIZE - 1) + 10 * 8 + 1 +                                             \
     INTERP_ADJUSTMENTS_MAX * ((INTERP_GROUP_SIZE - 1) + 1 + (INTERP_REASON_SIZE - 1) + 8))
_Static_assert(INTERP_ADJUSTMENTS_MAX < 64 && INTERP_GROUP_SIZE == 3 && INTERP_REASON_SIZE <= 8,
               "a packed line keeps its adjustment count in 6 bits, its group in 2 bytes and "
               "its reasons' lengths in 7 bits");

/* A chunk holds the largest claim, whole. */
#define S_CHUNK_SIZE ((size_t)1 << 20)
_Static_assert(S_PACKED_HEADER_MAX + INTERP_CHANGES_MAX * S_PACKED_CHANGE_MAX +
                       CLAIM_LINES_MAX * S_PACKED_LINE_MAX <=
                   S_CHUNK_SIZE,
               "a claim's history must fit one chunk");

struct interp_state_s {
    interp_accumulator_t *totals; /* append-only: an accumulator's index is its id */
    size_t total_count;
    size_t total_capacity;
    s_index_t total_index;
    uintptr_t enrollment; /* the list enrollment_index indexes (an integer: it may be freed) */
    size_t enrollment_count;
    s_index_t enrollment_index;    /* member id -> position in the list */
    s_member_index_t member_index; /* interp_state_member_ids's answers */
    interp_history_t *history;     /* in order of first put */
    size_t history_count;
    size_t history_capacity;
    s_index_t history_index;
    unsigned char **chunks; /* the last is being filled */
    size_t chunk_count;
    size_t chunk_capacity;
    size_t chunk_used; /* bytes of the last chunk */
};

interp_state_t *interp_state_new(void)
{
    return settle_calloc(1, sizeof(interp_state_t));
}

void interp_state_destroy(interp_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    interp_state_t *self = *self_p;
    for (size_t i = self->chunk_count; i-- > 0;)
        settle_free(self->chunks[i]);
    settle_free(self->chunks);
    settle_free(self->history_index.slots);
    settle_free(self->history);
    settle_free(self->member_index.slots);
    settle_free(self->enrollment_index.slots);
    settle_free(self->total_index.slots);
    settle_free(self->totals);
    settle_free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------
 * Hashing and the indexes
 * ------------------------------------------------------------------------ */

#define S_HASH_OFFSET     0xcbf29ce484222325ULL
#define S_HASH_MULTIPLIER 0x9e3779b97f4a7c15ULL /* odd, its bits spread: 2^64 / golden ratio */

/* The 8 bytes at at as a little-endian number: the same value on every
 * machine, and a single load on the ones we run on. */
static uint64_t s_load_le64(const unsigned char *at)
{
    return (uint64_t)at[0] | (uint64_t)at[1] << 8 | (uint64_t)at[2] << 16 | (uint64_t)at[3] << 24 |
           (uint64_t)at[4] << 32 | (uint64_t)at[5] << 40 | (uint64_t)at[6] << 48 |
           (uint64_t)at[7] << 56;
}

/* Multiplies a word into the hash, then folds the high half down so that
 * every byte reaches the low bits the next multiply spreads upward. */
static uint64_t s_hash_word(uint64_t hash, uint64_t word)
{
    hash = (hash ^ word) * S_HASH_MULTIPLIER;
    return hash ^ (hash >> 32);
}

/*
 * Hashes text[0..length) and its length (which keeps "ab"+"c" from
 * "a"+"bc") 8 bytes at a time: member keys on the ledger are 34
 * characters, and FNV-1a's multiply per byte was a tenth of adjudicating a
 * claim.  A text of 8 bytes or more ends with its last 8, which may
 * overlap the word before (the length is already in the hash).  Unkeyed,
 * so someone who can choose many claim ids could choose ones that share a
 * slot and make lookups slow (never wrong); a keyed hash with a key from
 * the node's configuration would close that without touching
 * determinism, since no index is ever walked.
 */
static uint64_t s_hash_bytes(uint64_t hash, const char *text, size_t length)
{
    const unsigned char *at = (const unsigned char *)text;
    hash = s_hash_word(hash, length);
    if (length < 8) {
        uint64_t word = 0;
        for (size_t i = 0; i < length; i++)
            word |= (uint64_t)at[i] << (8 * i);
        return s_hash_word(hash, word);
    }
    for (size_t done = 0; done + 8 < length; done += 8)
        hash = s_hash_word(hash, s_load_le64(at + done));
    return s_hash_word(hash, s_load_le64(at + length - 8));
}

static uint64_t s_hash_text(uint64_t hash, const char *text)
{
    return s_hash_bytes(hash, text, strlen(text));
}

/* Spreads every bit of the hash into the low ones the index masks with
 * (MurmurHash3's finaliser). */
static uint64_t s_hash_finish(uint64_t hash)
{
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    return hash ^ (hash >> 33);
}

static uint64_t s_total_hash(uint8_t kind, int32_t year, const char *key, const char *benefit)
{
    uint64_t hash = s_hash_word(S_HASH_OFFSET, (uint64_t)kind << 32 | (uint32_t)year);
    return s_hash_finish(s_hash_text(s_hash_text(hash, key), benefit));
}

static uint64_t s_claim_hash(const char *claim_id)
{
    return s_hash_finish(s_hash_text(S_HASH_OFFSET, claim_id));
}

uint64_t interp_state_key_hash(const char *key)
{
    return s_claim_hash(key);
}

/* Starts loading the cache line an index probe for hash begins at. */
static void s_index_prefetch(const s_index_t *index, uint64_t hash)
{
    if (index->slots)
        __builtin_prefetch(&index->slots[hash & index->mask]);
}

/* Starts loading the lines of size bytes at record, which the caller is
 * about to read apart in an order the processor cannot guess ahead. */
static void s_record_prefetch(const void *record, size_t size)
{
    for (size_t offset = 0; offset < size; offset += 64)
        __builtin_prefetch((const char *)record + offset);
    __builtin_prefetch((const char *)record + size - 1);
}

/* Puts entry (absent from the index) under hash; the index has room. */
static void s_index_insert(s_index_t *index, uint64_t hash, uint32_t entry)
{
    size_t at = hash & index->mask;
    while (index->slots[at].entry != 0)
        at = (at + 1) & index->mask;
    index->slots[at] = (s_slot_t){.hash = hash, .entry = entry + 1};
    index->used++;
}

/* Makes room for one more entry, keeping the index at most half full so
 * that every probe ends at an empty slot soon.  SETTLE_ERR_NOMEM
 * (the index unchanged). */
static int s_index_reserve(s_index_t *index)
{
    size_t count = index->slots ? index->mask + 1 : 0;
    if ((index->used + 1) * 2 <= count)
        return SETTLE_OK;
    size_t grown = count ? count * 2 : 256;
    s_index_t bigger = {.slots = settle_calloc(grown, sizeof(s_slot_t)), .mask = grown - 1};
    if (!bigger.slots)
        return SETTLE_ERR_NOMEM;
    for (size_t i = 0; i < count; i++)
        if (index->slots[i].entry != 0)
            s_index_insert(&bigger, index->slots[i].hash, index->slots[i].entry - 1);
    settle_free(index->slots);
    *index = bigger;
    return SETTLE_OK;
}

/* Grows pool to hold needed items of size bytes, doubling; at most limit
 * items (what an index names is counted in 32 bits).  Returns the pool,
 * moved or not; on failure the same pool, unchanged, and *rc set to
 * SETTLE_ERR_NOMEM or SETTLE_ERR_TOO_MANY. */
static void *s_pool_reserve(void *pool, size_t *capacity, size_t needed, size_t size, size_t limit,
                            int *rc)
{
    if (*rc != SETTLE_OK || needed <= *capacity)
        return pool;
    if (needed > limit || needed > SIZE_MAX / 2 / size) {
        *rc = SETTLE_ERR_TOO_MANY;
        return pool;
    }
    size_t grown = *capacity ? *capacity : 64;
    while (grown < needed)
        grown *= 2;
    void *bigger = settle_realloc(pool, grown * size);
    if (!bigger) {
        *rc = SETTLE_ERR_NOMEM;
        return pool;
    }
    *capacity = grown;
    return bigger;
}

/* ------------------------------------------------------------------------
 * Accumulators
 * ------------------------------------------------------------------------ */

/* The id of the accumulator, or UINT32_MAX when there is none yet. */
static uint32_t s_total_find(const interp_state_t *self, uint64_t hash, uint8_t kind, int32_t year,
                             const char *key, const char *benefit)
{
    if (!self->total_index.slots)
        return UINT32_MAX;
    for (size_t at = hash & self->total_index.mask;; at = (at + 1) & self->total_index.mask) {
        const s_slot_t *slot = &self->total_index.slots[at];
        if (slot->entry == 0)
            return UINT32_MAX;
        const interp_accumulator_t *total = &self->totals[slot->entry - 1];
        if (slot->hash == hash && total->kind == kind && total->year == year &&
            strcmp(total->key, key) == 0 && strcmp(total->benefit, benefit) == 0)
            return slot->entry - 1;
    }
}

int64_t interp_state_total(const interp_state_t *self, interp_accumulator_kind_t kind, int32_t year,
                           const char *key, const char *benefit)
{
    benefit = benefit ? benefit : "";
    uint32_t id = s_total_find(self, s_total_hash((uint8_t)kind, year, key, benefit), (uint8_t)kind,
                               year, key, benefit);
    return id == UINT32_MAX ? 0 : self->totals[id].amount;
}

/* interp_state_name_id with the name's s_total_hash. */
static int s_name_id(interp_state_t *self, uint64_t hash, uint8_t kind, int32_t year,
                     const char *key, const char *benefit, uint32_t *id_out)
{
    uint32_t id = s_total_find(self, hash, kind, year, key, benefit);
    if (id != UINT32_MAX) {
        *id_out = id;
        return SETTLE_OK;
    }
    size_t key_length = strlen(key), benefit_length = strlen(benefit);
    if (key_length >= CLAIM_MEMBER_ID_SIZE || benefit_length >= CONTRACT_ID_SIZE)
        return SETTLE_ERR_TOO_LONG;
    int rc = SETTLE_OK;
    self->totals = s_pool_reserve(self->totals, &self->total_capacity, self->total_count + 1,
                                  sizeof *self->totals, UINT32_MAX - 1, &rc);
    if (rc == SETTLE_OK)
        rc = s_index_reserve(&self->total_index);
    if (rc != SETTLE_OK)
        return rc;
    id = (uint32_t)self->total_count++;
    interp_accumulator_t *total = &self->totals[id];
    memset(total, 0, sizeof *total);
    total->kind = kind;
    total->year = year;
    memcpy(total->key, key, key_length);
    memcpy(total->benefit, benefit, benefit_length);
    s_index_insert(&self->total_index, hash, id);
    *id_out = id;
    return SETTLE_OK;
}

int interp_state_name_id(interp_state_t *self, uint8_t kind, int32_t year, const char *key,
                         const char *benefit, uint32_t *id_out)
{
    return s_name_id(self, s_total_hash(kind, year, key, benefit), kind, year, key, benefit,
                     id_out);
}

int interp_state_id(interp_state_t *self, const interp_accumulator_t *key, uint32_t *id_out)
{
    return interp_state_name_id(self, key->kind, key->year, key->key, key->benefit, id_out);
}

/* A member's accumulators are filed under the member id's hash, which the
 * interpreter has from the enrollment lookup, and the year; the family is
 * checked on the entry, not hashed, so the slot can be known before the
 * member's record is read. */
static uint64_t s_member_hash(uint64_t member_hash, int32_t year)
{
    return s_hash_finish(s_hash_word(member_hash, (uint32_t)year));
}

static void s_member_insert(s_member_index_t *index, uint64_t hash, const uint32_t ids[4])
{
    size_t at = hash & index->mask;
    while (index->slots[at].ids[0] != S_MEMBER_EMPTY)
        at = (at + 1) & index->mask;
    index->slots[at].hash = hash;
    memcpy(index->slots[at].ids, ids, sizeof index->slots[at].ids);
    index->used++;
}

/* s_index_reserve for the member index.  SETTLE_ERR_NOMEM (unchanged). */
static int s_member_reserve(s_member_index_t *index)
{
    size_t count = index->slots ? index->mask + 1 : 0;
    if ((index->used + 1) * 2 <= count)
        return SETTLE_OK;
    size_t grown = count ? count * 2 : 256;
    if (grown > SIZE_MAX / sizeof(s_member_slot_t))
        return SETTLE_ERR_NOMEM;
    s_member_index_t bigger = {.slots = settle_malloc(grown * sizeof(s_member_slot_t)),
                               .mask = grown - 1};
    if (!bigger.slots)
        return SETTLE_ERR_NOMEM;
    memset(bigger.slots, 0xff, grown * sizeof(s_member_slot_t)); /* every ids[0] empty */
    for (size_t i = 0; i < count; i++)
        if (index->slots[i].ids[0] != S_MEMBER_EMPTY)
            s_member_insert(&bigger, index->slots[i].hash, index->slots[i].ids);
    settle_free(index->slots);
    *index = bigger;
    return SETTLE_OK;
}

/* The member's remembered ids, or NULL.  An entry is trusted only when its
 * first two accumulators still name this member, family and year (the
 * other two were created with them), so a hash collision, or the member's
 * entry of an earlier family, costs a probe, never a wrong answer. */
static const uint32_t *s_member_find(const interp_state_t *self, uint64_t hash, int32_t year,
                                     const char *member_id, const char *family_id)
{
    const s_member_index_t *index = &self->member_index;
    if (!index->slots)
        return NULL;
    for (size_t at = hash & index->mask;; at = (at + 1) & index->mask) {
        const s_member_slot_t *slot = &index->slots[at];
        if (slot->ids[0] == S_MEMBER_EMPTY)
            return NULL;
        const interp_accumulator_t *individual = &self->totals[slot->ids[0]];
        if (slot->hash == hash && individual->year == year &&
            strcmp(individual->key, member_id) == 0 &&
            strcmp(self->totals[slot->ids[1]].key, family_id) == 0)
            return slot->ids;
    }
}

int interp_state_member_ids(interp_state_t *self, int32_t year, const char *member_id,
                            uint64_t member_hash, const char *family_id, uint32_t ids_out[4])
{
    static const uint8_t kinds[4] = {
        INTERP_ACCUMULATOR_DEDUCTIBLE_INDIVIDUAL, INTERP_ACCUMULATOR_DEDUCTIBLE_FAMILY,
        INTERP_ACCUMULATOR_OOP_INDIVIDUAL, INTERP_ACCUMULATOR_OOP_FAMILY};
    uint64_t hash = s_member_hash(member_hash, year);
    const uint32_t *known = s_member_find(self, hash, year, member_id, family_id);
    if (known) {
        memcpy(ids_out, known, 4 * sizeof *ids_out);
        return SETTLE_OK;
    }
    /* A member new to the year: four probes of the accumulators' index,
     * each at a random place in it, begun together. */
    uint64_t hashes[4];
    for (int i = 0; i < 4; i++) {
        hashes[i] = s_total_hash(kinds[i], year, i % 2 ? family_id : member_id, "");
        s_index_prefetch(&self->total_index, hashes[i]);
    }
    int rc = s_member_reserve(&self->member_index);
    for (int i = 0; i < 4 && rc == SETTLE_OK; i++)
        rc = s_name_id(self, hashes[i], kinds[i], year, i % 2 ? family_id : member_id, "",
                       &ids_out[i]);
    if (rc != SETTLE_OK)
        return rc;
    s_member_insert(&self->member_index, hash, ids_out);
    return SETTLE_OK;
}

void interp_state_member_prefetch(const interp_state_t *self, uint64_t member_hash, int32_t year)
{
    const s_member_index_t *index = &self->member_index;
    uint64_t hash = s_member_hash(member_hash, year);
    if (!index->slots)
        return;
    for (size_t at = hash & index->mask;; at = (at + 1) & index->mask) {
        const s_member_slot_t *slot = &index->slots[at];
        if (slot->ids[0] == S_MEMBER_EMPTY)
            return;
        if (slot->hash == hash)
            for (int i = 0; i < 4; i++)
                s_record_prefetch(&self->totals[slot->ids[i]], sizeof *self->totals);
    }
}

void interp_state_prefetch(const interp_state_t *self, uint64_t claim_hash, uint64_t member_hash,
                           int32_t year)
{
    s_index_prefetch(&self->history_index, claim_hash);
    s_index_prefetch(&self->enrollment_index, member_hash);
    if (self->member_index.slots)
        __builtin_prefetch(
            &self->member_index.slots[s_member_hash(member_hash, year) & self->member_index.mask]);
}

/* Indexes the enrollment's members by id; false when out of memory (the
 * index is then empty and lookups bisect the list). */
static bool s_enrollment_index(interp_state_t *self, const enrollment_t *enrollment)
{
    size_t count = enrollment_count(enrollment), slots = 256;
    while (slots < 2 * count)
        slots *= 2;
    settle_free(self->enrollment_index.slots);
    self->enrollment_index =
        (s_index_t){.slots = settle_calloc(slots, sizeof(s_slot_t)), .mask = slots - 1};
    self->enrollment = (uintptr_t)enrollment;
    self->enrollment_count = count;
    if (!self->enrollment_index.slots)
        return false;
    for (size_t i = 0; i < count; i++)
        s_index_insert(&self->enrollment_index, s_claim_hash(enrollment_member(enrollment, i)->id),
                       (uint32_t)i);
    return true;
}

const enrollment_member_t *interp_state_member(interp_state_t *self, const enrollment_t *enrollment,
                                               const char *member_id, uint64_t hash)
{
    size_t count = enrollment_count(enrollment);
    if (((uintptr_t)enrollment != self->enrollment || count != self->enrollment_count ||
         !self->enrollment_index.slots) &&
        (count > UINT32_MAX - 1 || !s_enrollment_index(self, enrollment)))
        return enrollment_find(enrollment, member_id);
    for (size_t at = hash & self->enrollment_index.mask;;
         at = (at + 1) & self->enrollment_index.mask) {
        const s_slot_t *slot = &self->enrollment_index.slots[at];
        if (slot->entry == 0)
            break;
        if (slot->hash != hash)
            continue;
        const enrollment_member_t *member = enrollment_member(enrollment, slot->entry - 1);
        if (!member)
            continue;
        /* The interpreter goes on to read the family, the contract and
         * the coverage, each on a line of its own. */
        s_record_prefetch(member, sizeof *member);
        if (strcmp(member->id, member_id) == 0)
            return member;
    }
    /* Not indexed: unknown, or the list at this address is a new one,
     * which the member's being found proves (index it afresh). */
    const enrollment_member_t *member = enrollment_find(enrollment, member_id);
    if (member)
        s_enrollment_index(self, enrollment);
    return member;
}

const interp_accumulator_t *interp_state_get(const interp_state_t *self, uint32_t id)
{
    return &self->totals[id];
}

int interp_state_add_id(interp_state_t *self, uint32_t id, int64_t amount)
{
    return money_add(self->totals[id].amount, amount, &self->totals[id].amount);
}

int interp_state_add(interp_state_t *self, const interp_accumulator_t *key, int64_t amount)
{
    uint32_t id;
    int rc = interp_state_id(self, key, &id);
    return rc == SETTLE_OK ? interp_state_add_id(self, id, amount) : rc;
}

/* ------------------------------------------------------------------------
 * Claim history
 * ------------------------------------------------------------------------ */

/* The index of claim_id's record under hash, or SIZE_MAX. */
static size_t s_history_find(const interp_state_t *self, uint64_t hash, const char *claim_id)
{
    if (!self->history_index.slots)
        return SIZE_MAX;
    for (size_t at = hash & self->history_index.mask;; at = (at + 1) & self->history_index.mask) {
        const s_slot_t *slot = &self->history_index.slots[at];
        if (slot->entry == 0)
            return SIZE_MAX;
        if (slot->hash == hash && strcmp(self->history[slot->entry - 1].claim_id, claim_id) == 0)
            return slot->entry - 1;
    }
}

interp_history_t *interp_history_find(interp_state_t *self, const char *claim_id)
{
    return interp_history_find_hash(self, claim_id, s_claim_hash(claim_id));
}

interp_history_t *interp_history_find_hash(interp_state_t *self, const char *claim_id,
                                           uint64_t hash)
{
    size_t index = s_history_find(self, hash, claim_id);
    return index == SIZE_MAX ? NULL : &self->history[index];
}

/* ------------------------------------------------------------------------
 * Packing: a claim's totals and changes as LEB128 integers (signed ones
 * zigzagged), a line's numbers in 4 or 8 bytes, texts as length + bytes
 * ------------------------------------------------------------------------ */

static unsigned char *s_put_uint(unsigned char *at, uint64_t value)
{
    while (value >= 0x80) {
        *at++ = (unsigned char)(value | 0x80);
        value >>= 7;
    }
    *at++ = (unsigned char)value;
    return at;
}

static unsigned char *s_put_int(unsigned char *at, int64_t value)
{
    uint64_t doubled = (uint64_t)value << 1;
    return s_put_uint(at, value < 0 ? ~doubled : doubled);
}

/* A text of a field of size bytes: its length, then its bytes.  A loop,
 * not strnlen and memcpy: the texts are a few bytes long. */
static unsigned char *s_put_text(unsigned char *at, const char *text, size_t size)
{
    size_t length = 0;
    for (; length < size - 1 && text[length]; length++)
        at[1 + length] = (unsigned char)text[length];
    at[0] = (unsigned char)length;
    return at + 1 + length;
}

static const unsigned char *s_get_uint(const unsigned char *at, uint64_t *value_out)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        unsigned char byte = *at++;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    *value_out = value;
    return at;
}

static const unsigned char *s_get_int(const unsigned char *at, int64_t *value_out)
{
    uint64_t value;
    at = s_get_uint(at, &value);
    *value_out = (value & 1) ? -(int64_t)(value >> 1) - 1 : (int64_t)(value >> 1);
    return at;
}

/* Reads a text packed from a field of size bytes back into such a field. */
static const unsigned char *s_get_text(const unsigned char *at, char *field)
{
    size_t length = *at++;
    for (size_t i = 0; i < length; i++)
        field[i] = (char)at[i];
    field[length] = '\0';
    return at + length;
}

/* A number in 4 bytes when it fits 32 bits, else in 8 (native order: the
 * packing never leaves the process); the width code, 1 or 2, goes to
 * *width. */
static unsigned char *s_put_number(unsigned char *at, int64_t value, unsigned *width)
{
    if (value >= INT32_MIN && value <= INT32_MAX) {
        int32_t narrow = (int32_t)value;
        memcpy(at, &narrow, 4);
        *width = 1;
        return at + 4;
    }
    memcpy(at, &value, 8);
    *width = 2;
    return at + 8;
}

/* Reads a number of width code 0 (absent: zero), 1 or 2. */
static const unsigned char *s_get_number(const unsigned char *at, unsigned width, int64_t *value)
{
    if (width == 0) {
        *value = 0;
        return at;
    }
    if (width == 1) {
        int32_t narrow;
        memcpy(&narrow, at, 4);
        *value = narrow;
        return at + 4;
    }
    memcpy(value, at, 8);
    return at + 8;
}

/*
 * A line packs as: the width codes (2 bits each) of its number and its
 * nine amounts, its code, those of the ten that are not zero (most of a
 * denied line's are), its flags and adjustment count in one byte, and
 * each adjustment as the group's two characters, a byte with the reason's
 * length and the amount's width, the reason and the amount.  Fixed-width
 * stores, not variable-length integers: recording is on the hot path,
 * reading back only on a void.
 */
#define S_LINE_NUMBERS 10

static unsigned char *s_put_line(unsigned char *at, const interp_line_t *line)
{
    const int64_t numbers[S_LINE_NUMBERS] = {
        line->line,         line->units_milli,       line->units_milli_paid,
        line->billed_cents, line->allowed_cents,     line->deductible_cents,
        line->copay_cents,  line->coinsurance_cents, line->paid_cents,
        line->patient_cents};
    unsigned char *widths_at = at;
    uint32_t widths = 0;
    at = s_put_text(at + 3, line->code, sizeof line->code);
    for (unsigned i = 0; i < S_LINE_NUMBERS; i++)
        if (numbers[i] != 0) {
            unsigned width;
            at = s_put_number(at, numbers[i], &width);
            widths |= width << (2 * i);
        }
    widths_at[0] = (unsigned char)widths;
    widths_at[1] = (unsigned char)(widths >> 8);
    widths_at[2] = (unsigned char)(widths >> 16);
    *at++ = (unsigned char)(line->adjustment_count | (unsigned)line->denied_in_full << 6 |
                            (unsigned)line->denied_in_part << 7);
    for (uint32_t i = 0; i < line->adjustment_count; i++) {
        const interp_adjustment_t *adjustment = &line->adjustments[i];
        unsigned char *head = at;
        unsigned width;
        head[0] = (unsigned char)adjustment->group[0];
        head[1] = (unsigned char)adjustment->group[1];
        at = s_put_text(at + 2, adjustment->reason, sizeof adjustment->reason);
        at = s_put_number(at, adjustment->amount_cents, &width);
        head[2] |= (unsigned char)((width - 1) << 7); /* the reason's length is below 8 */
    }
    return at;
}

static const unsigned char *s_get_line(const unsigned char *at, interp_line_t *line)
{
    int64_t numbers[S_LINE_NUMBERS];
    uint32_t widths = at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16;
    at = s_get_text(at + 3, line->code);
    for (unsigned i = 0; i < S_LINE_NUMBERS; i++)
        at = s_get_number(at, (widths >> (2 * i)) & 3, &numbers[i]);
    line->line = (uint32_t)numbers[0];
    line->units_milli = numbers[1];
    line->units_milli_paid = numbers[2];
    line->billed_cents = numbers[3];
    line->allowed_cents = numbers[4];
    line->deductible_cents = numbers[5];
    line->copay_cents = numbers[6];
    line->coinsurance_cents = numbers[7];
    line->paid_cents = numbers[8];
    line->patient_cents = numbers[9];
    line->adjustment_count = *at & 0x3f;
    line->denied_in_full = (*at & 0x40) != 0;
    line->denied_in_part = (*at++ & 0x80) != 0;
    for (uint32_t i = 0; i < line->adjustment_count; i++) {
        interp_adjustment_t *adjustment = &line->adjustments[i];
        adjustment->group[0] = (char)at[0];
        adjustment->group[1] = (char)at[1];
        adjustment->group[2] = '\0';
        unsigned wide = at[2] >> 7;
        size_t length = at[2] & 0x7f;
        memcpy(adjustment->reason, at + 3, length);
        adjustment->reason[length] = '\0';
        at = s_get_number(at + 3 + length, wide + 1, &adjustment->amount_cents);
    }
    return at;
}

/* ------------------------------------------------------------------------
 * Recording claims
 * ------------------------------------------------------------------------ */

/* Room for bytes (at most S_CHUNK_SIZE) in one chunk, opening a new chunk
 * when the last has too little left; NULL when out of memory.  Reserves
 * without using: s_history_write takes what it used. */
static unsigned char *s_chunk_room(interp_state_t *self, size_t bytes)
{
    if (self->chunk_count > 0 && S_CHUNK_SIZE - self->chunk_used >= bytes)
        return self->chunks[self->chunk_count - 1] + self->chunk_used;
    int rc = SETTLE_OK;
    self->chunks = s_pool_reserve(self->chunks, &self->chunk_capacity, self->chunk_count + 1,
                                  sizeof *self->chunks, SIZE_MAX, &rc);
    unsigned char *chunk = rc == SETTLE_OK ? settle_malloc(S_CHUNK_SIZE) : NULL;
    if (!chunk)
        return NULL;
    self->chunks[self->chunk_count++] = chunk;
    self->chunk_used = 0;
    return chunk;
}

/* Makes room for one more record and its packed data, so that writing
 * them cannot fail half-way.  The room, or NULL when out of memory. */
static unsigned char *s_history_reserve(interp_state_t *self, const interp_decision_t *decision,
                                        const interp_changes_t *changes)
{
    size_t bytes = S_PACKED_HEADER_MAX + changes->count * S_PACKED_CHANGE_MAX +
                   decision->line_count * S_PACKED_LINE_MAX;
    int rc = SETTLE_OK;
    self->history = s_pool_reserve(self->history, &self->history_capacity, self->history_count + 1,
                                   sizeof(interp_history_t), UINT32_MAX - 1, &rc);
    if (rc == SETTLE_OK)
        rc = s_index_reserve(&self->history_index);
    return rc == SETTLE_OK ? s_chunk_room(self, bytes) : NULL;
}

/* Packs the decision and changes at room (reserved) and takes what that
 * used from the chunk. */
static void s_history_write(interp_state_t *self, unsigned char *room,
                            const interp_decision_t *decision, const interp_changes_t *changes,
                            const uint32_t *ids)
{
    unsigned char *at = room;
    *at++ = decision->frequency;
    at = s_put_text(at, decision->related_claim_id, sizeof decision->related_claim_id);
    at = s_put_int(at, decision->billed_cents);
    at = s_put_int(at, decision->allowed_cents);
    at = s_put_int(at, decision->paid_cents);
    at = s_put_int(at, decision->patient_cents);
    for (uint32_t i = 0; i < changes->count; i++) {
        at = s_put_uint(at, ids[i]);
        at = s_put_int(at, changes->items[i].amount);
    }
    for (uint32_t i = 0; i < decision->line_count; i++)
        at = s_put_line(at, &decision->lines[i]);
    self->chunk_used += (size_t)(at - room);
}

int interp_history_put_ids(interp_state_t *self, const interp_decision_t *decision,
                           const interp_changes_t *changes, const uint32_t *ids, uint64_t hash)
{
    unsigned char *room = s_history_reserve(self, decision, changes);
    if (!room)
        return SETTLE_ERR_NOMEM;
    interp_history_t record = {.status = (uint8_t)decision->status,
                               .line_count = decision->line_count,
                               .change_count = changes->count,
                               .data = room};
    memcpy(record.claim_id, decision->claim_id, sizeof record.claim_id);
    s_history_write(self, room, decision, changes, ids);
    size_t index = s_history_find(self, hash, record.claim_id);
    if (index == SIZE_MAX) {
        index = self->history_count++;
        s_index_insert(&self->history_index, hash, (uint32_t)index);
    }
    self->history[index] = record;
    return SETTLE_OK;
}

int interp_history_put(interp_state_t *self, const interp_decision_t *decision,
                       const interp_changes_t *changes)
{
    uint32_t ids[INTERP_CHANGES_MAX];
    if (changes->count > INTERP_CHANGES_MAX || decision->line_count > CLAIM_LINES_MAX)
        return SETTLE_ERR_INVALID;
    for (uint32_t i = 0; i < decision->line_count; i++)
        if (decision->lines[i].adjustment_count > INTERP_ADJUSTMENTS_MAX)
            return SETTLE_ERR_INVALID;
    for (uint32_t i = 0; i < changes->count; i++) {
        /* Naming an accumulator creates it at zero, which no total shows. */
        int rc = interp_state_id(self, &changes->items[i], &ids[i]);
        if (rc != SETTLE_OK)
            return rc;
    }
    return interp_history_put_ids(self, decision, changes, ids, s_claim_hash(decision->claim_id));
}

/* ------------------------------------------------------------------------
 * Reading claims back
 * ------------------------------------------------------------------------ */

void interp_history_read(const interp_state_t *self, const interp_history_t *record,
                         interp_history_totals_t *totals, uint32_t *ids, int64_t *amounts,
                         interp_line_t *lines)
{
    interp_history_totals_t unused;
    totals = totals ? totals : &unused;
    const unsigned char *at = record->data;
    totals->frequency = *at++;
    at = s_get_text(at, totals->related_claim_id);
    at = s_get_int(at, &totals->billed_cents);
    at = s_get_int(at, &totals->allowed_cents);
    at = s_get_int(at, &totals->paid_cents);
    at = s_get_int(at, &totals->patient_cents);
    for (uint32_t i = 0; i < record->change_count; i++) {
        uint64_t id;
        int64_t amount;
        at = s_get_uint(at, &id);
        at = s_get_int(at, &amount);
        if (ids)
            ids[i] = (uint32_t)id;
        if (amounts)
            amounts[i] = amount;
    }
    for (uint32_t i = 0; lines && i < record->line_count; i++)
        at = s_get_line(at, &lines[i]);
    (void)self; /* the data is the record's own; the state is for symmetry */
}

void interp_history_decision(const interp_state_t *self, const interp_history_t *record,
                             interp_decision_t *decision)
{
    interp_history_totals_t totals;
    interp_line_t *lines = decision->lines;
    memset(decision, 0, sizeof *decision);
    decision->lines = lines;
    interp_history_read(self, record, &totals, NULL, NULL, lines);
    memcpy(decision->claim_id, record->claim_id, sizeof decision->claim_id);
    memcpy(decision->related_claim_id, totals.related_claim_id, sizeof decision->related_claim_id);
    decision->frequency = totals.frequency;
    decision->status = (interp_status_t)record->status;
    decision->billed_cents = totals.billed_cents;
    decision->allowed_cents = totals.allowed_cents;
    decision->paid_cents = totals.paid_cents;
    decision->patient_cents = totals.patient_cents;
    decision->line_count = record->line_count;
}

void interp_history_changes(const interp_state_t *self, const interp_history_t *record,
                            interp_changes_t *changes)
{
    uint32_t ids[INTERP_CHANGES_MAX];
    int64_t amounts[INTERP_CHANGES_MAX];
    interp_history_read(self, record, NULL, ids, amounts, NULL);
    changes->count = record->change_count;
    for (uint32_t i = 0; i < record->change_count; i++) {
        changes->items[i] = self->totals[ids[i]];
        changes->items[i].amount = amounts[i];
    }
}
