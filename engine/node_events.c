/*
 * node_events.c - what a node publishes after each applied entry.  Bodies
 * are text, one fact per line, as the intake's replies are; chain links and
 * payment confirmations carry the node's Ed25519 signature over the body.
 */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "node_events.h"
#include "node_zap.h"
#include "settle/alloc.h"
#include "settle/ledger.h"
#include "settle/node_query.h"

#define BODY_SIZE   1024
#define TOPIC_SIZE  (16 + COMMAND_PARTICIPANT_ID_SIZE + CLAIM_NPI_SIZE)

struct node_events_s {
    zsock_t *pub;
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    sign_key_t *key;
};

node_events_t *node_events_new(const char *endpoint, const char *participant, sign_key_t *key,
                               bool curve, settle_error_t *error)
{
    node_events_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        sign_key_destroy(&key);
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->key = key;
    snprintf(self->participant, sizeof self->participant, "%s", participant);
    self->pub = zsock_new(ZMQ_PUB);
    if (self->pub) {
        zsock_set_linger(self->pub, 0);
        zsock_set_sndhwm(self->pub, 100000);
    }
    if (self->pub && curve && node_zap_curve_server(self->pub, key) != 0) {
        settle_error_set(error, SETTLE_ERR_CRYPTO, "events: cannot make the Curve key");
        node_events_destroy(&self);
        return NULL;
    }
    if (!self->pub || zsock_bind(self->pub, "%s", endpoint) < 0) {
        settle_error_set(error, SETTLE_ERR_IO, "events: cannot bind %s: %s", endpoint,
                         zmq_strerror(zmq_errno()));
        node_events_destroy(&self);
        return NULL;
    }
    return self;
}

void node_events_destroy(node_events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_events_t *self = *self_p;
    *self_p = NULL;
    zsock_destroy(&self->pub);
    sign_key_destroy(&self->key);
    settle_free(self);
}

/* Sends [topic][body][signature or empty]; signs when asked and keyed. */
static uint64_t s_send(node_events_t *self, const char *topic, const char *body, size_t size,
                       bool signed_)
{
    uint8_t signature[SIGN_SIGNATURE_SIZE];
    size_t signature_size = 0;
    if (signed_ && self->key && sign_message(self->key, body, size, signature) == SETTLE_OK)
        signature_size = sizeof signature;
    zmsg_t *msg = zmsg_new();
    if (!msg)
        return 0;
    zmsg_addstr(msg, topic);
    zmsg_addmem(msg, body, size);
    zmsg_addmem(msg, signature, signature_size);
    if (zmsg_send(&msg, self->pub) != 0) {
        zmsg_destroy(&msg);
        return 0;
    }
    return 1;
}

static size_t s_hex(char *out, size_t size, const uint8_t *bytes, size_t count)
{
    size_t used = 0;
    for (size_t i = 0; i < count && used + 3 <= size; i++)
        used += (size_t)snprintf(out + used, size - used, "%02x", bytes[i]);
    return used;
}

/* The claim answers of one batch command, each to claim.PAYER.NPI. */
static uint64_t s_claims(node_events_t *self, fsm_t *fsm, const fsm_results_t *r,
                         const fsm_command_result_t *c)
{
    uint64_t sent = 0;
    for (uint32_t i = c->claim_first; i < c->claim_first + c->claim_count; i++) {
        const fsm_claim_result_t *claim = &r->claims[i];
        ledger_claim_t row;
        const char *npi = "-";
        if (ledger_claim_get(fsm_ledger(fsm), c->participant, claim->claim_id, &row) == SETTLE_OK)
            npi = row.billing_npi;
        char topic[TOPIC_SIZE], body[BODY_SIZE];
        snprintf(topic, sizeof topic, "claim.%s.%s", c->participant, npi);
        int n = snprintf(body, sizeof body,
                         "claim %s %s billed=%lld paid=%lld duplicate=%d %s\nindex %llu\n",
                         claim->claim_id, interp_status_name((interp_status_t)claim->status),
                         (long long)claim->billed_cents, (long long)claim->paid_cents,
                         claim->duplicate ? 1 : 0, claim->reason,
                         (unsigned long long)r->entry_index);
        sent += s_send(self, topic, body, (size_t)n < sizeof body ? (size_t)n : sizeof body - 1,
                       false);
    }
    return sent;
}

/* One payment confirmation: the payment with its claims (the `payment`
 * query's text), then the link it is in and the node that says so. */
static uint64_t s_payment(node_events_t *self, fsm_t *fsm, const fsm_payment_result_t *p)
{
    node_query_arg_t arg = {(const uint8_t *)p->payment_id, strlen(p->payment_id)};
    char *text = NULL;
    size_t size = 0;
    settle_error_t error;
    settle_error_clear(&error);
    if (node_query(fsm, NULL, "payment", &arg, 1, &text, &size, &error) != SETTLE_OK)
        return 0;
    uint64_t index;
    uint8_t hash[FSM_HASH_SIZE];
    fsm_head(fsm, &index, hash);
    char tail[128 + COMMAND_PARTICIPANT_ID_SIZE];
    int n = snprintf(tail, sizeof tail, "hash ");
    n += (int)s_hex(tail + n, sizeof tail - (size_t)n, hash, sizeof hash);
    n += snprintf(tail + n, sizeof tail - (size_t)n, "\nnode %s\n", self->participant);
    char *body = settle_malloc(size + (size_t)n + 1);
    uint64_t sent = 0;
    if (body) {
        memcpy(body, text, size);
        memcpy(body + size, tail, (size_t)n + 1);
        char topic[TOPIC_SIZE];
        snprintf(topic, sizeof topic, "payment.%s", p->npi);
        sent = s_send(self, topic, body, size + (size_t)n, true);
    }
    settle_free(body);
    settle_free(text);
    return sent;
}

uint64_t node_events_applied(node_events_t *self, fsm_t *fsm, const fsm_results_t *results)
{
    if (!self || !results)
        return 0;
    uint64_t sent = 0;
    for (uint32_t i = 0; i < results->command_count; i++) {
        const fsm_command_result_t *c = &results->commands[i];
        if (!c->accepted)
            continue;
        sent += s_claims(self, fsm, results, c);
        for (uint32_t k = c->payment_first; k < c->payment_first + c->payment_count; k++)
            if (results->payments[k].paid)
                sent += s_payment(self, fsm, &results->payments[k]);
    }
    if (results->changed) {
        uint64_t index;
        uint8_t hash[FSM_HASH_SIZE];
        fsm_head(fsm, &index, hash);
        char body[160];
        int n = snprintf(body, sizeof body, "index %llu\nhash ", (unsigned long long)index);
        n += (int)s_hex(body + n, sizeof body - (size_t)n, hash, sizeof hash);
        n += snprintf(body + n, sizeof body - (size_t)n, "\nclaims %u\n", results->claim_count);
        sent += s_send(self, "chain", body, (size_t)n, true);
    }
    return sent;
}
