/*
 * node_events.h - the events socket (private to settled): a ZeroMQ PUB on
 * which every node publishes what it applied, by topic (node.h, "Events").
 *
 * Used from the loop's thread only (the socket is made and used there).  A
 * PUB socket never blocks: a subscriber too slow to keep up loses messages
 * past its high-water mark, and a confirmation is always available again
 * from the `payment` query.
 */
#ifndef SETTLE_NODE_EVENTS_H
#define SETTLE_NODE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "settle/error.h"
#include "settle/fsm.h"
#include "settle/sign.h"

typedef struct node_events_s node_events_t;

/*
 * Binds a PUB at endpoint.  participant names the node in confirmations;
 * key (taken; NULL: messages go unsigned) signs chain links and payment
 * confirmations.  curve: a CurveZMQ server with key's converted pair
 * (key required), subscribers let in by the ZAP handler (node_zap.h).
 * NULL when the endpoint cannot be bound (error says why).
 */
node_events_t *node_events_new(const char *endpoint, const char *participant, sign_key_t *key,
                               bool curve, settle_error_t *error);

/* Closes the socket, frees the key; nulls the pointer; safe on NULL. */
void node_events_destroy(node_events_t **self_p);

/*
 * Publishes one applied entry: a claim.PAYER.NPI message per claim answer,
 * a payment.NPI confirmation per payment made, and a chain message when the
 * entry made a link.  Reads the ledger (fsm) for the claims' providers and
 * the payments' claims.  Returns how many messages went out.
 */
uint64_t node_events_applied(node_events_t *self, fsm_t *fsm, const fsm_results_t *results);

#endif
