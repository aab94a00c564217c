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
 *   events: tcp://127.0.0.1:9201        # [the peer entry's; none: no events]
 *   genesis: genesis.yaml               # relative to the config file's folder
 *   participant: node-1                 # [node-ID] this node's ledger identity
 *   key: node-1.key                     # [none] its Ed25519 key (mode 0600);
 *                                       # without one, confirmations are unsigned
 *   election_timeout_ms: 1000           # [1000]
 *   heartbeat_timeout_ms: 100           # [100]
 *   snapshot_threshold: 1024            # [1024] entries between snapshots,
 *                                       # at least
 *   snapshot_log_percent: 50            # [50] and log applied since the last
 *                                       # snapshot, at least this percent of
 *                                       # that snapshot's size (a snapshot is
 *                                       # the whole ledger); 0: entries only
 *   snapshot_log_max_mib: 1024          # [1024] or this much log (MiB),
 *                                       # whatever the ledger's size: libraft
 *                                       # holds the log since the last
 *                                       # snapshot in memory, and a restart
 *                                       # replays it
 *   log_segment_size: 33554432          # [32 MiB] bytes of a Raft log segment
 *                                       # file in DATA/log (engine/README.md,
 *                                       # "The log store"), each made ahead
 *                                       # in zeros; a multiple of 64 KiB, at
 *                                       # least twice the bigger of
 *                                       # entry_bytes_max and
 *                                       # message_size_max
 *   install_snapshot_timeout_ms: 5000   # [5000] a leader that sent a follower a
 *                                       # snapshot and heard nothing back sends
 *                                       # it again after this long (libraft 0.15
 *                                       # drops an install that arrives while the
 *                                       # follower stores its own snapshot)
 *   queue_length: 1024                  # [1024] requests waiting for the
 *                                       # intake thread's checks; past it: busy
 *   message_size_max: 8388608           # [8 MiB] one request, all frames
 *   entry_commands_max: 4096            # [4096] commands gathered in one entry
 *   entry_bytes_max: 4194304            # [4 MiB] bytes gathered in one entry
 *   verify_threads: 2                   # [2] threads verifying submits'
 *                                       # signatures on the leader, 1..8
 *   log_level: info                     # [info] debug, info, warn or error
 *   transport: curve                    # [curve] CurveZMQ on intake and
 *                                       # events; the node's Curve key pair is
 *                                       # its Ed25519 `key` converted (sign.h),
 *                                       # so `key` is required; a client is let
 *                                       # in only with the converted key of a
 *                                       # participant registered and not revoked
 *                                       # (node_zap.h), and its requests carry
 *                                       # that participant's id.  plain: anyone
 *                                       # who can connect is heard (a warning is
 *                                       # logged at start).  The default will
 *                                       # become curve.
 *   checkpoint_interval: 1000           # [1000] the leader signs a checkpoint
 *                                       # (command.h) of the head every this
 *                                       # many links, with `key`, when the
 *                                       # ledger holds this node's participant
 *                                       # as a node with that key; 0: never
 *   payer_tax_id: "591234567"           # [none] the payer's tax id on the 835s
 *                                       # this node renders (`remit ... x12`)
 *   peers:                              # every voter, this node included
 *     - {id: 1, raft_address: 127.0.0.1:9001, intake: tcp://127.0.0.1:9101,
 *        events: tcp://127.0.0.1:9201}
 *
 * Addresses must be on 127.0.0.1 (this first node serves loopback only).
 *
 * Transport.  With `transport: curve` the intake and the events socket are
 * CurveZMQ servers whose key pair is the node's Ed25519 key converted
 * (sign.h, sign_key_curve): a client knows a node's Curve public key from
 * its Ed25519 public key as registered (sign_public_key_to_curve), and
 * connects with its own participant key converted.  The node's ZAP handler
 * (engine/node_zap.h) lets a connection in only when that key is a
 * registered participant's, not revoked; every request then reaches the
 * loop with that participant's id, and the query verbs answer it only
 * what its role may read (node_query.h; over plain TCP, everything).
 * Until a node has applied the genesis it knows no participant and lets
 * no one in.  A refused client hears nothing: its requests time out.  With
 * `transport: plain`, which must be asked for and is logged as a warning,
 * anyone who can connect is heard.
 *
 * The intake protocol (a ZeroMQ ROUTER; clients use DEALER).  A request is
 *
 *   frame 0  request id (1..64 bytes, echoed back, so a client can match
 *            replies and drop stale ones)
 *   frame 1  verb (below)
 *   frame 2.. the verb's arguments, one per frame
 *
 * and a reply is  [request id] [status] [text]  where status is
 *
 *   "ok"        text: the result, one fact per line (below)
 *   "redirect"  text: the leader's intake endpoint; ask there
 *   "retry"     text: why (no leader yet, leadership lost, "busy: ..." when
 *               the queue is full); send the same bytes again later
 *   "error"     text: why the request was refused (it will be refused again)
 *
 * Verbs and their "ok" texts (C is an amount in cents, HEX lower case):
 *
 *   head                      "index N\nhash HEX\nleader ID\nleader_intake ENDPOINT\n
 *                             events ENDPOINT\n" (leader 0 and leader_intake
 *                             "-": none known; events "-": none)
 *   submit COMMAND...         one encoded command (command.h) per frame;
 *                             leader only (a follower redirects).  Answered
 *                             once the entry holding the commands is
 *                             committed and applied on the leader:
 *                             "index N\nhash HEX\n" then per command
 *                             "command POSITION TYPE accepted|rejected REASON",
 *                             per claim "claim ID STATUS billed=C paid=C
 *                             duplicate=0|1 REASON", per provider of a
 *                             payment cycle "payment NPI ID|- total=C
 *                             claims=N REASON".  POSITION counts from 0 in
 *                             this request.  A command that fails the
 *                             leader's check (bad signature, replayed
 *                             sequence, ...) makes the whole submit an
 *                             "error" naming the command and the reason.
 *   claim CLAIM-ID [PAYER]    every stored claim with that id (of PAYER
 *                             only, when given), in payer order, separated
 *                             by a blank line: "claim ID\npayer P\n
 *                             provider NPI\nfrequency F\nrelated ID|-\n
 *                             status S\nbilled C\nallowed C\npaid C\n
 *                             patient C\nnet C\nsettlement none|payable|paid\n
 *                             payment ID|-\nvoided_by ID|-\nindex N\n
 *                             content_hash HEX\nreason TEXT|-\n" then per
 *                             line of its decision (none for a claim
 *                             rejected before the interpreter) "line N CODE
 *                             billed=C allowed=C paid=C patient=C
 *                             adj=GRP-RSN:C,..|-\n"; "error" "no claim ID"
 *                             (or "no claim ID of payer P") when none.
 *   payment PAYMENT-ID        "payment ID\npayer P\nprovider NPI\ntotal C\n
 *                             claims N\nindex N\n" then "claim ID paid=C
 *                             net=C\n" per claim, in claim order; "error"
 *                             "no payment ID" when none.
 *   remit PAYMENT-ID x12|fhir the payment's X12 835 (or a FHIR Bundle of
 *                             ClaimResponses) as the text: the payment id is
 *                             the trace number, the payment's entry gives
 *                             the dates; a replacement comes after the
 *                             reversal (CLP02 22) of the claim it replaces.
 *                             "error" "remit: expected x12 or fhir"; x12
 *                             needs the payer's tax id configured.
 *   participant ID            "participant ID\nrole R\nname TEXT\nnpi NPI|-\n
 *                             public_key HEX\nnext_sequence N\n
 *                             key_entry N\nrevoked_entry N|0\n": the key
 *                             in force, the entry it came in at, the entry
 *                             that revoked it (0: not revoked); "error"
 *                             "no participant ID".
 *   participant npi NPI       the same for the provider billing under NPI
 *                             (whose key a payer's client seals each
 *                             claim's identifiers to, phi.h); "error" "no
 *                             participant with NPI NPI".
 *   accumulators PAYER MEMBER every accumulator total of the member's (its
 *                             own, and its family's), one per line "KIND
 *                             YEAR KEY BENEFIT|- AMOUNT\n", KIND one of
 *                             deductible_individual, deductible_family,
 *                             oop_individual, oop_family, benefit_units;
 *                             "error" "no member M of payer P".
 *                             (These five: node_query.h.)  An argument is
 *                             1..127 printable characters without spaces.
 *   stats [text|prometheus]   the node's counters and latency histograms
 *                             (node_metrics.h), as "name value" lines or as
 *                             Prometheus text exposition.
 *
 * Events (a ZeroMQ XPUB at `events`; subscribers use SUB): every node
 * publishes what it applied, each message [topic] [body] [signature]:
 *
 *   chain                     "index N\nhash HEX\nclaims N\n" (a link made)
 *   claim.PAYER.NPI           a claim's answer, as a submit's "claim" line,
 *                             then "index N\n"
 *   payment.NPI               the payment confirmation: "payment ID\npayer P\n
 *                             provider NPI\ntotal C\nclaims N\nindex N\n
 *                             hash HEX\nnode PARTICIPANT\n" then "claim ID
 *                             paid=C net=C" per claim of the payment
 *
 * The signature frame is the node's Ed25519 signature over the body (64
 * bytes) for chain links and payment confirmations; it is empty for claim
 * answers (thousands a second; the signed chain link covers the state they
 * are in) and when the node has no key.  A subscriber filters by topic
 * prefix (`payment.1234567893` receives that provider's confirmations only).
 *
 * The socket is an XPUB that decides each subscription.  Over CurveZMQ a
 * subscription is applied only when the subscriber (the participant ZAP
 * let in) may read every topic the prefix can match: an auditor or a node
 * any prefix; a payer `claim.ITS-ID.` (and longer); a provider
 * `payment.ITS-NPI` and `claim.PAYER.ITS-NPI`, one per payer; everyone
 * `chain`.  Anything else -- `payment.` or `claim.` alone, another's id or
 * NPI, payment topics for a payer (they are by NPI: a payer has its
 * payments from its `pay` answers and the `payment` query), any prefix for
 * a revoked participant -- is refused: the subscriber receives nothing,
 * and the node logs it (debug, event=subscribe) and counts it (metrics,
 * subscriptions_refused).  Over plain TCP every subscription is applied.
 */

#ifndef SETTLE_NODE_H
#define SETTLE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "settle/command.h"
#include "settle/error.h"

#define NODE_PEERS_MAX            7
#define NODE_ADDRESS_SIZE         64
#define NODE_PATH_SIZE            512
#define NODE_QUEUE_MAX            1024        /* default queue_length */
#define NODE_MESSAGE_SIZE_MAX     (8u << 20)  /* default message_size_max */
#define NODE_ENTRY_BYTES_MAX      (4u << 20)  /* default entry_bytes_max */
#define NODE_SNAPSHOT_THRESHOLD   1024        /* default snapshot_threshold */
#define NODE_SNAPSHOT_LOG_PERCENT 50          /* default snapshot_log_percent */
#define NODE_SNAPSHOT_LOG_MAX_MIB 1024        /* default snapshot_log_max_mib */
#define NODE_LOG_SEGMENT_SIZE     (32u << 20) /* default log_segment_size */
#define NODE_LOG_SEGMENT_UNIT     (64u << 10) /* log_segment_size is a multiple of it */
#define NODE_INSTALL_SNAPSHOT_MS  5000        /* default install_snapshot_timeout_ms */
#define NODE_CONNECT_RETRY_MS     250         /* a peer that is down: next connect attempt */
#define NODE_VERIFY_THREADS       2           /* default verify_threads */
#define NODE_VERIFY_THREADS_MAX   8
#define NODE_REQUEST_ID_SIZE_MAX  64
#define NODE_STOP_MS_MAX          5000 /* a clean stop takes at most this long */
#define NODE_CHECKPOINT_INTERVAL  1000 /* default checkpoint_interval */

typedef struct {
    uint64_t id;
    char raft_address[NODE_ADDRESS_SIZE]; /* 127.0.0.1:PORT */
    char intake[NODE_ADDRESS_SIZE];       /* tcp://127.0.0.1:PORT */
    char events[NODE_ADDRESS_SIZE];       /* tcp://127.0.0.1:PORT or "" */
} node_peer_t;

typedef struct {
    uint64_t id;
    char data_dir[NODE_PATH_SIZE];
    char genesis[NODE_PATH_SIZE];
    char raft_address[NODE_ADDRESS_SIZE];
    char intake[NODE_ADDRESS_SIZE];
    char events[NODE_ADDRESS_SIZE]; /* "" when none */
    char participant[COMMAND_PARTICIPANT_ID_SIZE];
    char key[NODE_PATH_SIZE]; /* "" when none */
    char log_level[8];
    char transport[8];     /* "curve" or "plain" */
    char payer_tax_id[10]; /* nine digits (remit.h REMIT_TAX_ID_SIZE); "": none */
    unsigned election_timeout_ms;
    unsigned heartbeat_timeout_ms;
    unsigned snapshot_threshold;
    unsigned snapshot_log_percent; /* 0: snapshot_threshold alone decides */
    bool snapshot_log_percent_set; /* false: the default applies */
    unsigned snapshot_log_max_mib; /* or this much log since the last snapshot */
    unsigned log_segment_size;
    unsigned install_snapshot_timeout_ms;
    unsigned queue_length;
    unsigned message_size_max;
    unsigned entry_commands_max;
    unsigned entry_bytes_max;
    unsigned verify_threads;
    unsigned checkpoint_interval; /* links between checkpoints; 0: none */
    bool checkpoint_interval_set; /* false: the default applies */
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
