/*
 * fsm_state.c - the state machine's in-memory state, per payer: compiled
 * contracts, the enrollment, and the interpreter's accumulators and claim
 * history; and its rebuilding from the ledger, which holds all of it.
 *
 * The cache is what makes apply fast (no SQL read to adjudicate a claim);
 * the ledger is the truth.  Whenever the two could differ - a node opens an
 * existing database, a snapshot is restored, an entry fails half-way - the
 * cache is thrown away and rebuilt from the ledger, in ledger order.
 */
#include <stdio.h>

#include "wire.h"
#include "fsm_internal.h"
#include "settle/date.h"

static void s_payer_free(fsm_payer_t *payer)
{
    for (size_t i = 0; i < payer->contract_count; i++)
        contract_destroy(&payer->contracts[i]);
    settle_free(payer->contracts);
    settle_free(payer->contract_hashes);
    enrollment_destroy(&payer->enrollment);
    interp_state_destroy(&payer->state);
}

void fsm_cache_free(fsm_cache_t *cache)
{
    for (size_t i = 0; i < cache->payer_count; i++)
        s_payer_free(&cache->payers[i]);
    settle_free(cache->payers);
    memset(cache, 0, sizeof *cache);
}

static const char s_empty_enrollment[] = "members: []\n";

static int s_payer_init(fsm_payer_t *payer, const char *id)
{
    memset(payer, 0, sizeof *payer);
    snprintf(payer->id, sizeof payer->id, "%s", id);
    payer->state = interp_state_new();
    int rc = payer->state ? enrollment_load_text(s_empty_enrollment, sizeof s_empty_enrollment - 1,
                                                 "empty", &payer->enrollment, NULL)
                          : SETTLE_ERR_NOMEM;
    if (rc != SETTLE_OK)
        s_payer_free(payer);
    return rc;
}

fsm_payer_t *fsm_cache_payer(fsm_cache_t *cache, const char *payer)
{
    size_t low = 0, high = cache->payer_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(cache->payers[middle].id, payer);
        if (order == 0)
            return &cache->payers[middle];
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    if (cache->payer_count == cache->payer_capacity) {
        size_t grown = cache->payer_capacity ? cache->payer_capacity * 2 : 8;
        fsm_payer_t *bigger = settle_realloc(cache->payers, grown * sizeof *bigger);
        if (!bigger)
            return NULL;
        cache->payers = bigger;
        cache->payer_capacity = grown;
    }
    fsm_payer_t fresh;
    if (s_payer_init(&fresh, payer) != SETTLE_OK)
        return NULL;
    memmove(&cache->payers[low + 1], &cache->payers[low],
            (cache->payer_count - low) * sizeof *cache->payers);
    cache->payers[low] = fresh;
    cache->payer_count++;
    return &cache->payers[low];
}

/* ------------------------------------------------------------------------
 * Enrollment, rebuilt from the member rows
 * ------------------------------------------------------------------------ */

typedef struct {
    enrollment_member_t *members;
    size_t count, capacity;
} s_members_t;

static int s_member_add(const char *payer, const enrollment_member_t *member, void *context)
{
    (void)payer;
    s_members_t *list = context;
    if (list->count == list->capacity) {
        size_t grown = list->capacity ? 2 * list->capacity : 256;
        enrollment_member_t *bigger = settle_realloc(list->members, grown * sizeof *bigger);
        if (!bigger)
            return SETTLE_ERR_NOMEM;
        list->members = bigger;
        list->capacity = grown;
    }
    list->members[list->count++] = *member;
    return SETTLE_OK;
}

/* The payer's members as the ledger holds them, straight from the rows
 * (writing them out as YAML and parsing that again cost as much as the
 * enroll itself). */
int fsm_cache_reload_enrollment(fsm_cache_t *cache, ledger_t *ledger, const char *payer,
                                settle_error_t *error)
{
    fsm_payer_t *record = fsm_cache_payer(cache, payer);
    if (!record)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    s_members_t list = {NULL, 0, 0};
    enrollment_t *enrollment = NULL;
    int rc = ledger_member_each(ledger, payer, s_member_add, &list, error);
    if (rc == SETTLE_OK)
        rc = enrollment_from_members(list.members, list.count, &enrollment);
    settle_free(list.members);
    if (rc == SETTLE_ERR_NOMEM)
        return settle_error_set(error, rc, "fsm: out of memory");
    if (rc != SETTLE_OK)
        return error && error->code != SETTLE_OK
                   ? rc
                   : settle_error_set(error, rc, "fsm: the members of %s do not load", payer);
    enrollment_destroy(&record->enrollment);
    record->enrollment = enrollment;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Loading a whole cache
 * ------------------------------------------------------------------------ */

typedef struct {
    fsm_cache_t *cache;
    ledger_t *ledger;
    settle_error_t *error;
} s_load_t;

int fsm_payer_add_contract(fsm_payer_t *payer, contract_t *contract,
                           const uint8_t hash[LEDGER_HASH_SIZE], settle_error_t *error)
{
    if (payer->contract_count == payer->contract_capacity) {
        size_t grown = payer->contract_capacity ? payer->contract_capacity * 2 : 4;
        contract_t **bigger = settle_realloc(payer->contracts, grown * sizeof *bigger);
        if (bigger)
            payer->contracts = bigger;
        uint8_t(*hashes)[LEDGER_HASH_SIZE] =
            bigger ? settle_realloc(payer->contract_hashes, grown * sizeof *hashes) : NULL;
        if (hashes)
            payer->contract_hashes = hashes;
        if (!bigger || !hashes) {
            contract_destroy(&contract);
            return settle_error_set(error, SETTLE_ERR_NOMEM, "fsm: out of memory");
        }
        payer->contract_capacity = grown;
    }
    memcpy(payer->contract_hashes[payer->contract_count], hash, LEDGER_HASH_SIZE);
    payer->contracts[payer->contract_count++] = contract;
    return SETTLE_OK;
}

static int s_load_contract(const ledger_contract_t *row, void *context)
{
    s_load_t *load = context;
    fsm_payer_t *payer = fsm_cache_payer(load->cache, row->payer);
    if (!payer)
        return settle_error_set(load->error, SETTLE_ERR_NOMEM, "fsm: out of memory");
    contract_t *contract = NULL;
    int rc = contract_load_text((const char *)row->yaml, row->yaml_size, row->contract_id,
                                &contract, load->error, NULL, NULL);
    if (rc == SETTLE_OK)
        rc = fsm_payer_add_contract(payer, contract, row->hash, load->error);
    return rc;
}

/* Makes sure every payer with members has a record (filled afterwards). */
static int s_load_member_payer(const char *payer, const enrollment_member_t *member, void *context)
{
    s_load_t *load = context;
    return fsm_cache_payer(load->cache, payer) ? SETTLE_OK : SETTLE_ERR_NOMEM;
}

/* One decided claim, in ledger order: its accumulator changes go into the
 * totals (every decided claim's, voids' reversals included); the claim
 * goes into the history unless it was rejected or is a void, as apply
 * does.  The totals are sums, so the order of the additions does not
 * matter. */
static int s_load_decision(const char *payer, const interp_decision_t *decision,
                           const interp_changes_t *changes, bool voided, void *context)
{
    s_load_t *load = context;
    fsm_payer_t *record = fsm_cache_payer(load->cache, payer);
    int rc = record ? SETTLE_OK : SETTLE_ERR_NOMEM;
    for (uint32_t i = 0; rc == SETTLE_OK && i < changes->count; i++)
        rc = interp_state_add(record->state, &changes->items[i], changes->items[i].amount);
    if (rc != SETTLE_OK || decision->status == INTERP_STATUS_REJECTED ||
        decision->frequency == CLAIM_FREQUENCY_VOID)
        return rc;
    rc = interp_history_put(record->state, decision, changes);
    if (rc == SETTLE_OK && voided)
        interp_history_find(record->state, decision->claim_id)->voided = true;
    return rc;
}

int fsm_cache_load(fsm_cache_t *cache, ledger_t *ledger, settle_error_t *error)
{
    s_load_t load = {cache, ledger, error};
    int rc = ledger_contract_each(ledger, s_load_contract, &load, error);
    if (rc == SETTLE_OK)
        rc = ledger_member_each(ledger, NULL, s_load_member_payer, &load, error);
    for (size_t i = 0; rc == SETTLE_OK && i < cache->payer_count; i++)
        rc = fsm_cache_reload_enrollment(cache, ledger, cache->payers[i].id, error);
    if (rc == SETTLE_OK)
        rc = ledger_decision_each(ledger, s_load_decision, &load, error);
    if (rc != SETTLE_OK) {
        fsm_cache_free(cache);
        if (error && error->code == SETTLE_OK)
            settle_error_set(error, rc, "fsm: cannot rebuild the state from the ledger");
    }
    return rc;
}
