/*
 * node.h - settled, the node daemon: its configuration file, the intake
 * protocol clients speak to it, and the node's life (start, serve, stop).
 *
 * Configuration (YAML; defaults in brackets):
 *
 *   id: 1                               # this node's Raft id, 1..NODE_PEERS_MAX
 *   data_dir: /var/lib/settle/node-1    # Raft log and snapshots, ledger.sqlite
 *   raft_address: 127.0.0.1:9001        # [the peer entry with this id]
 *   intake: tcp://127.0.0.1:9101        # [the peer entry with this id]
 *   genesis: genesis.yaml               # relative to the config file's folder
 *   election_timeout_ms: 1000           # [1000]
 *   heartbeat_timeout_ms: 100           # [100]
 *   peers:                              # every voter, this node included
 *     - {id: 1, raft_address: 127.0.0.1:9001, intake: tcp://127.0.0.1:9101}
 *
 * Addresses must be on 127.0.0.1 (this first node serves loopback only).
 *
 * The intake protocol (a ZeroMQ ROUTER; clients use DEALER).  A request is
 *
 *   frame 0  request id (1..64 bytes, echoed back, so a client can match
 *            replies and drop stale ones)
 *   frame 1  verb: "submit" or "head"
 *   frame 2.. for submit: one encoded command (command.h) per frame
 *
 * and a reply is  [request id] [status] [text]  where status is
 *
 *   "ok"        text: the result, one fact per line (below)
 *   "redirect"  text: the leader's intake endpoint; ask there
 *   "retry"     text: why (no leader yet, leadership lost, queue full);
 *               send the same bytes again later
 *   "error"     text: why the request was refused (it will be refused again)
 *
 * An "ok" text for head is "index N\nhash HEX\nleader ID\n" (0: none known);
 * for submit it is
 * "index N\nhash HEX\n" then one line per command
 * "command POSITION TYPE accepted|rejected REASON" and one per claim
 * "claim ID STATUS billed=C paid=C duplicate=0|1".  A submit is answered
 * once its entry is committed and applied on the leader.  A command that
 * fails the leader's check (bad signature, replayed sequence, ...) makes
 * the whole submit an "error" naming the command and the reason.
 */
#ifndef SETTLE_NODE_H
#define SETTLE_NODE_H

#include <stdint.h>

#include "settle/error.h"

#define NODE_PEERS_MAX           7
#define NODE_ADDRESS_SIZE        64
#define NODE_PATH_SIZE           512
#define NODE_QUEUE_MAX           1024       /* requests waiting for the Raft loop */
#define NODE_MESSAGE_SIZE_MAX    (8u << 20) /* one request, all frames */
#define NODE_REQUEST_ID_SIZE_MAX 64
#define NODE_STOP_MS_MAX         5000 /* a clean stop takes at most this long */

typedef struct {
    uint64_t id;
    char raft_address[NODE_ADDRESS_SIZE]; /* 127.0.0.1:PORT */
    char intake[NODE_ADDRESS_SIZE];       /* tcp://127.0.0.1:PORT */
} node_peer_t;

typedef struct {
    uint64_t id;
    char data_dir[NODE_PATH_SIZE];
    char genesis[NODE_PATH_SIZE];
    char raft_address[NODE_ADDRESS_SIZE];
    char intake[NODE_ADDRESS_SIZE];
    unsigned election_timeout_ms;
    unsigned heartbeat_timeout_ms;
    unsigned peer_count;
    node_peer_t peers[NODE_PEERS_MAX];
} node_config_t;

/*
 * Reads the configuration file at path into *config_out, filling defaults.
 * SETTLE_ERR_IO when unreadable, SETTLE_ERR_SYNTAX / _UNKNOWN_KEY /
 * _MISSING / _INVALID otherwise, error naming FILE:LINE:COLUMN.
 */
int node_config_load(const char *path, node_config_t *config_out, settle_error_t *error);

/*
 * Runs the node until SIGTERM or SIGINT: opens the ledger and the Raft log
 * in data_dir (creating it), bootstraps the cluster when this is node 1 and
 * its log is empty, serves the intake, and, when it leads a cluster whose
 * ledger is empty, submits the genesis entry.  Logs to stderr, one line per
 * event.  Returns SETTLE_OK after a clean stop, an error (in error) when it
 * could not start.
 */
int node_run(const node_config_t *config, settle_error_t *error);

#endif
