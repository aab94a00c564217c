/*
 * node_events.h - the events socket (private to settled): a ZeroMQ XPUB on
 * which every node publishes what it applied, by topic (node.h, "Events").
 *
 * Used from the loop's thread only (the socket is made and used there).  It
 * never blocks: a subscriber too slow to keep up loses messages past its
 * high-water mark, and a confirmation is always available again from the
 * `payment` query.
 *
 * The socket is in ZMQ_XPUB_MANUAL mode: the node decides every
 * subscription.  Over CurveZMQ each subscription arrives with the User-Id
 * the ZAP handler gave its connection (node_zap.h); it is applied only when
 * that participant's role may read every topic the prefix can match
 * (node_events_may_subscribe), and refused ones are logged (debug) and
 * counted.  Over plain TCP (no identity) every subscription is applied.
 *
 * An entry that revokes a participant makes the node drop every events
 * connection (node_events_applied: unbind and bind again), so the revoked
 * key's subscriptions end with it: subscribers reconnect through the ZAP
 * handler, which refuses revoked keys, and subscribe again.  The "never
 * blocks" above has that one exception: binding again is tried up to a
 * hundred times a millisecond apart, on a revocation only.
 */
#ifndef SETTLE_NODE_EVENTS_H
#define SETTLE_NODE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "settle/error.h"
#include "settle/fsm.h"
#include "settle/ledger.h"
#include "settle/sign.h"

typedef struct node_events_s node_events_t;

typedef struct {
    const char *endpoint;    /* where to bind */
    const char *participant; /* names the node in confirmations */
    bool curve;              /* a CurveZMQ server with key's converted pair */
    uv_loop_t *loop;         /* polls the socket for subscriptions */
    fsm_t *fsm;              /* its ledger says each subscriber's role (borrowed) */
    uint64_t node_id;        /* names the node in the log */
    uint64_t *refused;       /* counts refused subscriptions (borrowed; may be NULL) */
} node_events_options_t;

/*
 * Binds an XPUB at options->endpoint and polls it on options->loop for
 * subscriptions.  key (taken; NULL: messages go unsigned) signs chain links
 * and payment confirmations; with curve it is required, and subscribers
 * are let in by the ZAP handler (node_zap.h).  NULL when the endpoint
 * cannot be bound (error says why).
 */
node_events_t *node_events_new(const node_events_options_t *options, sign_key_t *key,
                               settle_error_t *error);

/* Closes the socket, frees the key; nulls the pointer; safe on NULL.  The
 * memory goes once the loop has closed the poll handle. */
void node_events_destroy(node_events_t **self_p);

/*
 * Reads the subscriptions that have arrived (at most a bounded run) and
 * applies or refuses each.  Called when the socket's ZMQ_FD is readable,
 * after each publish, and from the node's tick (see node_events.c on why
 * all three).  Safe on NULL.
 */
void node_events_subscriptions(node_events_t *self);

/*
 * Whether the participant row may subscribe to prefix (size bytes, not
 * NUL-terminated): an auditor or node anything; everyone `chain`; a payer
 * `claim.ITS-ID.`; a provider `payment.ITS-NPI` and `claim.PAYER.ITS-NPI`;
 * and only when no topic of another's can start with the prefix (a
 * provider's `payment.` or `claim.` alone is refused; a participant id
 * that another id extends with a '.' makes its claim prefixes ambiguous,
 * and they are refused).  A revoked row may subscribe to nothing.  ledger
 * is read for the ids in force.
 */
bool node_events_may_subscribe(ledger_t *ledger, const ledger_participant_t *row,
                               const uint8_t *prefix, size_t size);

/*
 * Publishes one applied entry: a claim.PAYER.NPI message per claim answer,
 * a payment.NPI confirmation per payment made, and a chain message when the
 * entry made a link.  Reads the ledger (fsm) for the claims' providers and
 * the payments' claims.  Returns how many messages went out.
 */
uint64_t node_events_applied(node_events_t *self, fsm_t *fsm, const fsm_results_t *results);

#endif
