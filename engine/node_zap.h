/*
 * node_zap.h - the node's ZAP handler (ZeroMQ RFC 27), private to settled:
 * with `transport: curve`, every CurveZMQ connection to the intake or the
 * events socket is authenticated by it.  A client's Curve public key is
 * let in only when it is the converted key (sign.h, sign_public_key_to_curve)
 * of a participant registered on the ledger and not revoked; the
 * connection's User-Id is then that participant's id, which ZeroMQ attaches
 * to every message it receives on the connection ("User-Id" metadata).
 *
 * The handler reads the ledger as last committed through a connection of
 * its own thread (WAL mode: it never waits on the writer), so a participant
 * registered, rotated or revoked is let in or out from the next connection
 * on.  A connection already open stays open when its key is revoked; the
 * events socket drops all of its own on a revocation (node_events.h), and
 * the intake checks the asker of every request against the ledger.  Each
 * participant key is converted once and kept by the handler's thread.
 */
#ifndef SETTLE_NODE_ZAP_H
#define SETTLE_NODE_ZAP_H

#include <stdint.h>

#include <czmq.h>

#include "settle/error.h"
#include "settle/sign.h"

#define NODE_ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by RFC 27 */

typedef struct node_zap_s node_zap_t;

/*
 * Binds the ZAP endpoint in czmq's context and starts the handler thread,
 * reading the ledger file at ledger_path (made already by the state
 * machine).  Must run before any socket with a Curve server key accepts a
 * connection: with no handler bound, ZeroMQ lets every client key in.
 * NULL when the endpoint is taken or the ledger cannot be opened (error
 * says why).  node_id only names the node in the log.
 */
node_zap_t *node_zap_new(const char *ledger_path, uint64_t node_id, settle_error_t *error);

/* Makes socket (not yet bound) a CurveZMQ server whose key pair is key's
 * converted (sign.h, sign_key_curve).  0, or -1 when the key cannot be
 * converted. */
int node_zap_curve_server(zsock_t *socket, const sign_key_t *key);

/* Stops the thread and closes the socket and the ledger; nulls the
 * pointer; safe on NULL and twice.  Call after the Curve sockets are
 * closed. */
void node_zap_destroy(node_zap_t **self_p);

#endif
