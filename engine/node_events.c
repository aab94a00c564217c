/*
 * node_events.c - what a node publishes after each applied entry.  Bodies
 * are text, one fact per line, as the intake's replies are; chain links and
 * payment confirmations carry the node's Ed25519 signature over the body.
 * Subscriptions are the node's to grant: each is read here and applied only
 * when its subscriber's role may read what the prefix matches.
 */
#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_events.h"
#include "node_internal.h"
#include "node_zap.h"
#include "settle/alloc.h"
#include "settle/ledger.h"
#include "settle/node_query.h"

#define BODY_SIZE             1024
#define TOPIC_SIZE            (16 + COMMAND_PARTICIPANT_ID_SIZE + CLAIM_NPI_SIZE)
#define SUBSCRIPTIONS_PER_RUN 256 /* the rest wait for the next call */

struct node_events_s {
    uv_poll_t poll; /* first: the close callback frees the struct through it */
    bool poll_started;
    zsock_t *pub; /* XPUB, ZMQ_XPUB_MANUAL */
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    sign_key_t *key;
    bool curve;
    fsm_t *fsm;
    uint64_t node_id;
    uint64_t *refused;
    char endpoint[NODE_ADDRESS_SIZE]; /* as bound, to bind again after a revocation */
};

/* ------------------------------------------------------------------------
 * Who may subscribe to what
 * ------------------------------------------------------------------------ */

static bool s_starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* What a scan for an id extended by another's found. */
typedef struct {
    const char *id;
    size_t length;
    bool found;
} s_extends_t;

static int s_extends(const ledger_participant_t *row, void *context)
{
    s_extends_t *scan = context;
    if (strncmp(row->id, scan->id, scan->length) == 0 && row->id[scan->length] == '.') {
        scan->found = true;
        return 1;
    }
    return 0;
}

/* Whether some participant's id is id + "." + more: then `claim.ID.` also
 * prefixes that one's claim topics.  A scan that fails says yes. */
static bool s_ambiguous(ledger_t *ledger, const char *id, size_t length)
{
    char copy[COMMAND_PARTICIPANT_ID_SIZE];
    if (length == 0 || length >= sizeof copy)
        return true;
    memcpy(copy, id, length);
    copy[length] = '\0';
    s_extends_t scan = {copy, length, false};
    return ledger_participant_each(ledger, s_extends, &scan) != SETTLE_OK || scan.found;
}

/* A provider's claim prefix: exactly claim.PAYER.NPI (NPIs are ten digits
 * and end the topic, so a longer prefix reads nothing more). */
static bool s_provider_claim(ledger_t *ledger, const char *prefix, const char *npi)
{
    const char *payer = prefix + strlen("claim.");
    const char *dot = strrchr(payer, '.');
    return dot && dot > payer && strcmp(dot + 1, npi) == 0 &&
           !s_ambiguous(ledger, payer, (size_t)(dot - payer));
}

bool node_events_may_subscribe(ledger_t *ledger, const ledger_participant_t *row,
                               const uint8_t *prefix, size_t size)
{
    if (!row || row->revoked_entry != 0)
        return false;
    if (row->role == COMMAND_ROLE_AUDITOR || row->role == COMMAND_ROLE_NODE)
        return true;
    char text[TOPIC_SIZE];
    if (!prefix || size >= sizeof text || memchr(prefix, '\0', size))
        return false; /* longer than any topic, or not text: reads nothing of ours */
    memcpy(text, prefix, size);
    text[size] = '\0';
    if (s_starts(text, "chain"))
        return true;
    char own[TOPIC_SIZE];
    switch (row->role) {
    case COMMAND_ROLE_PAYER:
        snprintf(own, sizeof own, "claim.%s.", row->id);
        return s_starts(text, own) && !s_ambiguous(ledger, row->id, strlen(row->id));
    case COMMAND_ROLE_PROVIDER:
        if (strlen(row->npi) != CLAIM_NPI_SIZE - 1)
            return false;
        snprintf(own, sizeof own, "payment.%s", row->npi);
        if (s_starts(text, own))
            return true;
        return s_starts(text, "claim.") && s_provider_claim(ledger, text, row->npi);
    default:
        return false;
    }
}

/* Prints prefix for the log: its bytes, each outside [ -~] as '?'. */
static void s_printable(char *out, size_t out_size, const uint8_t *prefix, size_t size)
{
    size_t i = 0;
    for (; i < size && i + 1 < out_size; i++)
        out[i] = prefix[i] >= ' ' && prefix[i] <= '~' ? (char)prefix[i] : '?';
    out[i] = '\0';
}

/* One message from a subscriber: [1|0 prefix] (a subscribe or unsubscribe;
 * anything else is dropped).  An unsubscribe is always applied: it only
 * ever removes what this connection holds. */
static void s_subscription(node_events_t *self, zframe_t *frame)
{
    const uint8_t *data = zframe_data(frame);
    size_t size = zframe_size(frame);
    if (size == 0 || data[0] > 1)
        return;
    const uint8_t *prefix = data + 1;
    size_t prefix_size = size - 1;
    if (data[0] == 0) {
        zmq_setsockopt(zsock_resolve(self->pub), ZMQ_UNSUBSCRIBE, prefix, prefix_size);
        return;
    }
    const char *who = self->curve ? zframe_meta(frame, "User-Id") : NULL;
    bool allowed = !self->curve; /* plain TCP: no identity, every subscription */
    ledger_participant_t row;
    if (self->curve && who && who[0] &&
        ledger_participant_get(fsm_ledger(self->fsm), who, &row) == SETTLE_OK)
        allowed = node_events_may_subscribe(fsm_ledger(self->fsm), &row, prefix, prefix_size);
    char shown[TOPIC_SIZE];
    s_printable(shown, sizeof shown, prefix, prefix_size);
    if (allowed) {
        zmq_setsockopt(zsock_resolve(self->pub), ZMQ_SUBSCRIBE, prefix, prefix_size);
        node_log(self->node_id, "debug", "subscribe", "prefix=\"%s\" from=%s applied", shown,
                 who && who[0] ? who : "-");
        return;
    }
    if (self->refused)
        (*self->refused)++;
    node_log(self->node_id, "debug", "subscribe", "prefix=\"%s\" from=%s refused", shown,
             who && who[0] ? who : "-");
}

/*
 * Why three callers.  ZMQ_FD is not a level: it is signalled when the
 * socket's state may have changed, and reset whenever libzmq processes the
 * socket's commands -- on ZMQ_EVENTS, and on every send.  So a reader must
 * read until ZMQ_EVENTS says nothing is left (else what stays queued never
 * signals again), and a subscription that arrived while the loop was
 * publishing may have had its signal eaten by the send: hence a run after
 * each publish.  The run is bounded (a flood of subscriptions must not hold
 * the loop); what a full run leaves, the tick reads.  libuv polls the fd
 * level-triggered, so a wake-up with nothing to read is harmless.
 */
void node_events_subscriptions(node_events_t *self)
{
    if (!self || !self->pub)
        return;
    for (int i = 0; i < SUBSCRIPTIONS_PER_RUN && (zsock_events(self->pub) & ZMQ_POLLIN); i++) {
        zmsg_t *message = zmsg_recv_nowait(self->pub);
        if (!message)
            break;
        zframe_t *frame = zmsg_first(message);
        if (frame && zmsg_size(message) == 1)
            s_subscription(self, frame);
        zmsg_destroy(&message);
    }
}

static void s_readable(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    node_events_subscriptions((node_events_t *)poll);
}

/* ------------------------------------------------------------------------
 * Life
 * ------------------------------------------------------------------------ */

node_events_t *node_events_new(const node_events_options_t *options, sign_key_t *key,
                               settle_error_t *error)
{
    node_events_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        sign_key_destroy(&key);
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->key = key;
    self->curve = options->curve;
    self->fsm = options->fsm;
    self->node_id = options->node_id;
    self->refused = options->refused;
    snprintf(self->participant, sizeof self->participant, "%s", options->participant);
    self->pub = zsock_new(ZMQ_XPUB);
    if (self->pub) {
        zsock_set_linger(self->pub, 0);
        zsock_set_sndhwm(self->pub, 100000);
        zsock_set_xpub_manual(self->pub, 1);
    }
    if (self->pub && options->curve && node_zap_curve_server(self->pub, key) != 0) {
        settle_error_set(error, SETTLE_ERR_CRYPTO, "events: cannot make the Curve key");
        node_events_destroy(&self);
        return NULL;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", options->endpoint);
    if (!self->pub || strlen(options->endpoint) >= sizeof self->endpoint ||
        zsock_bind(self->pub, "%s", options->endpoint) < 0) {
        settle_error_set(error, SETTLE_ERR_IO, "events: cannot bind %s: %s", options->endpoint,
                         zmq_strerror(zmq_errno()));
        node_events_destroy(&self);
        return NULL;
    }
    if (uv_poll_init(options->loop, &self->poll, zsock_fd(self->pub)) != 0) {
        settle_error_set(error, SETTLE_ERR_IO, "events: cannot poll the socket");
        node_events_destroy(&self);
        return NULL;
    }
    self->poll_started = true;
    uv_poll_start(&self->poll, UV_READABLE, s_readable);
    return self;
}

static void s_closed(uv_handle_t *handle)
{
    settle_free(handle); /* the poll handle is the struct's first member */
}

void node_events_destroy(node_events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_events_t *self = *self_p;
    *self_p = NULL;
    if (self->poll_started)
        uv_poll_stop(&self->poll); /* before the fd goes with the socket */
    zsock_destroy(&self->pub);
    sign_key_destroy(&self->key);
    if (self->poll_started)
        uv_close((uv_handle_t *)&self->poll, s_closed);
    else
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
static uint64_t s_claims(node_events_t *self, const fsm_results_t *r, const fsm_command_result_t *c)
{
    uint64_t sent = 0;
    for (uint32_t i = c->claim_first; i < c->claim_first + c->claim_count; i++) {
        const fsm_claim_result_t *claim = &r->claims[i];
        const char *npi = claim->billing_npi[0] ? claim->billing_npi : "-";
        char topic[TOPIC_SIZE], body[BODY_SIZE];
        snprintf(topic, sizeof topic, "claim.%s.%s", c->participant, npi);
        int n = snprintf(
            body, sizeof body, "claim %s %s billed=%lld paid=%lld duplicate=%d %s\nindex %llu\n",
            claim->claim_id, interp_status_name((interp_status_t)claim->status),
            (long long)claim->billed_cents, (long long)claim->paid_cents, claim->duplicate ? 1 : 0,
            claim->reason, (unsigned long long)r->entry_index);
        sent +=
            s_send(self, topic, body, (size_t)n < sizeof body ? (size_t)n : sizeof body - 1, false);
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

/*
 * A revocation ends the revoked participant's subscriptions too: ZeroMQ
 * cannot close one connection of an XPUB, so every connection goes -
 * unbinding the endpoint closes what was accepted through it - and the
 * subscribers' sockets reconnect by themselves, each passing the ZAP
 * handler again, which refuses the revoked key; the others subscribe
 * again as they reconnect.  Binding again may wait for the listener
 * libzmq closes in its own thread: a few tries a millisecond apart, on a
 * revocation only.
 */
static void s_drop_connections(node_events_t *self)
{
    if (zsock_unbind(self->pub, "%s", self->endpoint) != 0) {
        node_log(self->node_id, "warn", "events", "cannot unbind %s after a revocation: %s",
                 self->endpoint, zmq_strerror(zmq_errno()));
        return;
    }
    for (int attempt = 1; attempt <= 100; attempt++) {
        if (zsock_bind(self->pub, "%s", self->endpoint) >= 0) {
            node_log(self->node_id, "info", "events",
                     "a participant was revoked: every subscriber reconnects through ZAP "
                     "(bound again after %d tries)",
                     attempt);
            return;
        }
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    node_log(self->node_id, "error", "events", "cannot bind %s again: %s", self->endpoint,
             zmq_strerror(zmq_errno()));
}

uint64_t node_events_applied(node_events_t *self, fsm_t *fsm, const fsm_results_t *results)
{
    if (!self || !results)
        return 0;
    for (uint32_t i = 0; self->curve && i < results->command_count; i++)
        if (results->commands[i].accepted && results->commands[i].type == COMMAND_REVOKE) {
            s_drop_connections(self);
            break;
        }
    uint64_t sent = 0;
    for (uint32_t i = 0; i < results->command_count; i++) {
        const fsm_command_result_t *c = &results->commands[i];
        if (!c->accepted)
            continue;
        sent += s_claims(self, results, c);
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
    node_events_subscriptions(self); /* a send may have eaten ZMQ_FD's signal */
    return sent;
}
