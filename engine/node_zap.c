/*
 * node_zap.c - the ZAP handler: a REP socket at inproc://zeromq.zap.01
 * served by its own thread, answering each CURVE handshake with 200 and
 * the participant's id, or 400 (node_zap.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "node_internal.h"
#include "node_zap.h"
#include "settle/alloc.h"
#include "settle/ledger.h"
#include "settle/sign.h"

#define POLL_MS            50
#define ZAP_REQUEST_FRAMES 7 /* RFC 27: six, and CURVE's one credential */

/* A participant key already converted to its Curve key (the conversion is
 * a modular inversion; a handshake scans every participant). */
typedef struct {
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    uint8_t curve[SIGN_CURVE_KEY_SIZE];
    bool used;
} s_converted_t;

struct node_zap_s {
    zsock_t *handler; /* REP; the thread's once started */
    ledger_t *ledger; /* the thread's own reading connection */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    uint64_t node_id;
    s_converted_t *converted; /* the thread's; open addressing, at most half full */
    size_t converted_count, converted_slots;
};

/* What a scan of the participants for one Curve key found. */
typedef struct {
    node_zap_t *zap;
    const uint8_t *curve_key;
    char id[COMMAND_PARTICIPANT_ID_SIZE];
    bool found;
    bool revoked;
} s_search_t;

/* Makes room for one more conversion; false when out of memory (the
 * conversion is then made and not kept). */
static bool s_converted_reserve(node_zap_t *self)
{
    if ((self->converted_count + 1) * 2 <= self->converted_slots)
        return true;
    size_t slots = self->converted_slots ? self->converted_slots * 2 : 256;
    s_converted_t *table = settle_calloc(slots, sizeof *table);
    if (!table)
        return false;
    for (size_t i = 0; i < self->converted_slots; i++) {
        if (!self->converted[i].used)
            continue;
        size_t at = self->converted[i].public_key[0] | (size_t)self->converted[i].public_key[1]
                                                           << 8;
        while (table[at & (slots - 1)].used)
            at++;
        table[at & (slots - 1)] = self->converted[i];
    }
    settle_free(self->converted);
    self->converted = table;
    self->converted_slots = slots;
    return true;
}

/* The Curve key of a participant's Ed25519 key, converted once. */
static int s_curve_of(node_zap_t *self, const uint8_t public_key[SIGN_PUBLIC_KEY_SIZE],
                      uint8_t curve_out[SIGN_CURVE_KEY_SIZE])
{
    size_t at = public_key[0] | (size_t)public_key[1] << 8;
    for (; self->converted_slots && self->converted[at & (self->converted_slots - 1)].used; at++) {
        const s_converted_t *slot = &self->converted[at & (self->converted_slots - 1)];
        if (memcmp(slot->public_key, public_key, SIGN_PUBLIC_KEY_SIZE) == 0) {
            memcpy(curve_out, slot->curve, SIGN_CURVE_KEY_SIZE);
            return SETTLE_OK;
        }
    }
    int rc = sign_public_key_to_curve(public_key, curve_out);
    if (rc != SETTLE_OK || !s_converted_reserve(self))
        return rc;
    at = public_key[0] | (size_t)public_key[1] << 8;
    while (self->converted[at & (self->converted_slots - 1)].used)
        at++;
    s_converted_t *slot = &self->converted[at & (self->converted_slots - 1)];
    memcpy(slot->public_key, public_key, SIGN_PUBLIC_KEY_SIZE);
    memcpy(slot->curve, curve_out, SIGN_CURVE_KEY_SIZE);
    slot->used = true;
    self->converted_count++;
    return SETTLE_OK;
}

static int s_match(const ledger_participant_t *row, void *context)
{
    s_search_t *search = context;
    uint8_t converted[SIGN_CURVE_KEY_SIZE];
    if (s_curve_of(search->zap, row->public_key, converted) != SETTLE_OK ||
        memcmp(converted, search->curve_key, SIGN_CURVE_KEY_SIZE) != 0)
        return 0;
    snprintf(search->id, sizeof search->id, "%s", row->id);
    search->found = true;
    search->revoked = row->revoked_entry != 0;
    return 1;
}

/* Decides one request [version][request id][domain][address][identity]
 * [mechanism][credential]: status code, text and (on 200) the user id. */
static const char *s_decide(node_zap_t *self, zframe_t *const frames[ZAP_REQUEST_FRAMES],
                            size_t count, const char **text,
                            char user_id[COMMAND_PARTICIPANT_ID_SIZE])
{
    zframe_t *credential = frames[6];
    user_id[0] = '\0';
    if (count != ZAP_REQUEST_FRAMES || !zframe_streq(frames[0], "1.0") ||
        !zframe_streq(frames[5], "CURVE") || zframe_size(credential) != SIGN_CURVE_KEY_SIZE) {
        *text = "only CURVE with a participant's key";
        return "400";
    }
    s_search_t search = {.zap = self, .curve_key = zframe_data(credential)};
    if (ledger_participant_each(self->ledger, s_match, &search) != SETTLE_OK) {
        *text = "cannot read the participants";
        return "500";
    }
    if (!search.found || search.revoked) {
        char hex[2 * SIGN_CURVE_KEY_SIZE + 1];
        for (int i = 0; i < SIGN_CURVE_KEY_SIZE; i++)
            snprintf(hex + 2 * i, 3, "%02x", zframe_data(credential)[i]);
        node_log(self->node_id, "info", "zap", "refused curve key %s: %s", hex,
                 search.found ? "revoked" : "not a registered participant's");
        *text = search.found ? "the participant's key is revoked" : "not a registered key";
        return "400";
    }
    snprintf(user_id, COMMAND_PARTICIPANT_ID_SIZE, "%s", search.id);
    *text = "OK";
    return "200";
}

/* Reads one request and answers it (a REP socket must answer each one,
 * even one that is not a ZAP request: libzmq sends none such). */
static void s_answer(node_zap_t *self)
{
    zmsg_t *request = zmsg_recv(self->handler);
    if (!request)
        return;
    zframe_t *frames[ZAP_REQUEST_FRAMES] = {NULL};
    size_t count = 0;
    for (zframe_t *f = zmsg_first(request); f; f = zmsg_next(request), count++)
        if (count < ZAP_REQUEST_FRAMES)
            frames[count] = f;
    const char *text = NULL;
    char user_id[COMMAND_PARTICIPANT_ID_SIZE];
    const char *status = s_decide(self, frames, count, &text, user_id);
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    if (frames[1])
        zmsg_addmem(reply, zframe_data(frames[1]), zframe_size(frames[1]));
    else
        zmsg_addstr(reply, "");
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, user_id);
    zmsg_addmem(reply, NULL, 0); /* no metadata */
    if (zmsg_send(&reply, self->handler) != 0)
        zmsg_destroy(&reply);
    zmsg_destroy(&request);
}

static void *s_thread(void *argument)
{
    (void)prctl(PR_SET_NAME, "settled-zap", 0, 0, 0); /* in top -H, perf */
    node_zap_t *self = argument;
    zpoller_t *poller = zpoller_new(self->handler, NULL);
    while (poller && !atomic_load(&self->stop))
        if (zpoller_wait(poller, POLL_MS) == self->handler)
            s_answer(self);
    zpoller_destroy(&poller);
    return NULL;
}

node_zap_t *node_zap_new(const char *ledger_path, uint64_t node_id, settle_error_t *error)
{
    node_zap_t *self = settle_calloc(1, sizeof *self);
    if (!self) {
        settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->node_id = node_id;
    if (ledger_open(ledger_path, &self->ledger, error) != SETTLE_OK) {
        settle_free(self);
        return NULL;
    }
    self->handler = zsock_new(ZMQ_REP);
    if (!self->handler || zsock_bind(self->handler, "%s", NODE_ZAP_ENDPOINT) != 0) {
        settle_error_set(error, SETTLE_ERR_IO, "transport: cannot bind the ZAP handler at %s: %s",
                         NODE_ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        node_zap_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->handler, 0);
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        settle_error_set(error, SETTLE_ERR_IO, "transport: cannot start the ZAP thread");
        node_zap_destroy(&self);
        return NULL;
    }
    self->thread_started = true;
    return self;
}

void node_zap_destroy(node_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_zap_t *self = *self_p;
    *self_p = NULL;
    atomic_store(&self->stop, true);
    if (self->thread_started)
        pthread_join(self->thread, NULL);
    zsock_destroy(&self->handler);
    ledger_close(&self->ledger);
    settle_free(self->converted);
    settle_free(self);
}

int node_zap_curve_server(zsock_t *socket, const sign_key_t *key)
{
    uint8_t public_key[SIGN_CURVE_KEY_SIZE], secret[SIGN_CURVE_KEY_SIZE];
    if (!key || sign_key_curve(key, public_key, secret) != SETTLE_OK)
        return -1;
    zsock_set_curve_server(socket, 1);
    zsock_set_curve_publickey_bin(socket, public_key);
    zsock_set_curve_secretkey_bin(socket, secret);
    memset(secret, 0, sizeof secret); /* libzmq keeps its own copy */
    return 0;
}
