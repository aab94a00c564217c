/*
 * sim.h - the deterministic cluster simulation's shared pieces: the seeded
 * random source, the run's state (libraft's in-memory fixture, one real
 * state machine per server, what every index held), and the workload of
 * clients that submit signed commands to whoever leads.
 *
 * sim_cluster.c drives the cluster (steps, faults, checks); sim_workload.c
 * plays the clients (genesis, two payers) and reads their answers.
 */
#ifndef SETTLE_SIM_H
#define SETTLE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/fixture.h>

#include "settle/claim.h"
#include "settle/raft_vouch.h"
#include "settle/command.h"
#include "settle/fsm.h"
#include "settle/raft_fsm.h"
#include "settle/sign.h"

#define SIM_SERVERS_MAX        5
#define SIM_INDEX_MAX          4096 /* raft indexes one run may reach */
#define SIM_REQUESTS_MAX       2048 /* raft_apply requests one run may make */
#define SIM_PAYERS             2
#define SIM_CLAIMS_MAX         768 /* claims one payer may generate in a run */
#define SIM_BATCH_CLAIMS_MAX   6
#define SIM_ENTRY_COMMANDS_MAX (SIM_PAYERS + 1)
#define SIM_DIGEST_SIZE        32
#define SIM_T0_MS              UINT64_C(1793491200000) /* 2026-11-01 00:00 UTC */
#define SIM_OWNER_GENESIS      (-1)
#define SIM_APPENDS_MAX        256 /* disk writes under way on one server */

/* ------------------------------------------------------------------------
 * Randomness: splitmix64, seeded; the only source of choices in a run
 * ------------------------------------------------------------------------ */

typedef struct {
    uint64_t state;
} sim_rng_t;

uint64_t sim_rng_next(sim_rng_t *rng);
/* Uniform in [0, bound); bound > 0. */
uint64_t sim_rng_below(sim_rng_t *rng, uint64_t bound);
/* True with the given chance in percent. */
bool sim_rng_percent(sim_rng_t *rng, unsigned percent);

/* ------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------ */

typedef enum { SIM_IDLE, SIM_READY, SIM_INFLIGHT } sim_command_state_t;

/* One claim a payer generated; its JSON is made again from these fields,
 * so a duplicate has the same bytes as its first submission. */
typedef struct {
    char claim_id[CLAIM_ID_SIZE];
    char original[CLAIM_ID_SIZE]; /* for a void or replacement */
    uint8_t frequency;
    uint8_t member;
    uint8_t procedure;
    uint8_t provider;
    uint8_t day;
    int64_t charge_cents;
    bool acknowledged; /* in a batch acknowledged as accepted */
    bool corrected;    /* a void or replacement of it was generated */
} sim_claim_t;

/* The one command a client has out (a window of one per signer: apply
 * wants each signer's sequence numbers in order, with no gap). */
typedef struct {
    sim_command_state_t state;
    uint8_t type;
    uint64_t sequence;
    uint8_t *bytes; /* the signed encoding, owned */
    size_t size;
    uint32_t claims[SIM_BATCH_CLAIMS_MAX]; /* a batch's claims, in sim_payer_t.claims */
    uint32_t claim_count;
    uint32_t request; /* the request carrying it, when in flight */
} sim_command_t;

typedef struct {
    char id[COMMAND_PARTICIPANT_ID_SIZE]; /* "ACMEHP" */
    char brand[8];                        /* "ACME": contract id, YAML */
    char member_prefix[4];                /* "ACM": member ids */
    sign_key_t *key;
    uint64_t next_sequence;
    unsigned setup_done; /* deploy, enroll, first fund */
    sim_command_t command;
    sim_claim_t claims[SIM_CLAIMS_MAX];
    uint32_t claim_count;
} sim_payer_t;

/* One raft_apply: an entry of one or more clients' commands. */
typedef struct {
    struct raft_apply request;                  /* first: the callback gets this pointer */
    int owners[SIM_ENTRY_COMMANDS_MAX];         /* payer index, or SIM_OWNER_GENESIS */
    uint32_t positions[SIM_ENTRY_COMMANDS_MAX]; /* each owner's first command in the entry */
    uint32_t count;
    unsigned server; /* the leader it went to */
    uint8_t digest[SIM_DIGEST_SIZE];
    raft_time submitted_ms;
    bool abandoned; /* the clients gave up waiting and will retry */
    bool resolved;  /* its callback fired */
} sim_request_t;

/* ------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------ */

/* What every server must agree on at one raft index. */
typedef struct {
    bool entry_known; /* committed entry: term, type, digest of its bytes */
    raft_term term;
    unsigned short type;
    uint8_t entry_digest[SIM_DIGEST_SIZE];
    bool head_known; /* the state machine's head once the index is applied */
    uint64_t head_index;
    uint8_t head_hash[FSM_HASH_SIZE];
    bool results_known; /* what applying it answered */
    uint64_t results_digest;
    bool acknowledged;
    bool invariants_checked; /* ledger_check passed on a server at this index */
} sim_slot_t;

typedef struct sim_s sim_t;

#define SIM_DEFERRED_MAX 4096

typedef struct {
    sim_t *sim;
    unsigned index;
    fsm_t *fsm;
    raft_fsm_t *adapter;
    struct raft_fsm wrapper; /* checks each apply, then calls the adapter's */
    raft_index log_checked;  /* committed entries compared up to here */
    raft_index applied_seen; /* the state machine's index at the last check */
    bool restored;           /* its state came from a snapshot since the last check */
    /* The raft indexes of the entries the adapter deferred, in order (a
     * ring), and of the entry libraft is applying now. */
    raft_index deferred[SIM_DEFERRED_MAX];
    unsigned deferred_first, deferred_count;
    raft_index applying;
    /* The fixture's in-memory raft_io, patched (see sim_cluster.c). */
    int (*io_truncate)(struct raft_io *io, raft_index index);
    int (*io_snapshot_put)(struct raft_io *io, unsigned trailing,
                           struct raft_io_snapshot_put *request,
                           const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb);
    int (*io_append)(struct raft_io *io, struct raft_io_append *request,
                     const struct raft_entry entries[], unsigned n, raft_io_append_cb cb);
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
    int (*io_send)(struct raft_io *io, struct raft_io_send *request,
                   const struct raft_message *message, raft_io_send_cb cb);
    raft_io_recv_cb recv; /* libraft's */
    raft_vouch_t vouch;   /* what its answers may claim (raft_vouch.h) */
    raft_index io_base;   /* the fixture's entries array starts after this index */
    struct {
        struct raft_io_append *request;
        raft_io_append_cb cb;
    } appends[SIM_APPENDS_MAX]; /* appends under way, oldest first (a ring) */
    uint64_t appends_submitted;
    uint64_t appends_done;
    struct {
        uint64_t after;           /* run once this many appends are done */
        raft_index keep;          /* entries of the array to keep */
    } truncates[SIM_APPENDS_MAX]; /* truncates waiting for earlier appends (a ring) */
    uint64_t truncates_submitted;
    uint64_t truncates_done;
    struct raft_io_snapshot_put *put_request; /* the snapshot put under way */
    raft_io_snapshot_put_cb put_cb;
    raft_index put_index;
    unsigned put_trailing;
} sim_node_t;

struct sim_s {
    uint64_t seed;
    bool verbose;
    bool closing;            /* callbacks fired while closing are ignored */
    bool check_every_server; /* ledger_check on every server at every change */
    unsigned servers;
    sim_rng_t rng;
    sim_rng_t
        apply_rng; /* deferrals, catch-ups, flushes: apart, so they leave the script as it was */
    struct raft_fixture fixture;
    sim_node_t nodes[SIM_SERVERS_MAX];
    sim_slot_t slots[SIM_INDEX_MAX];
    sim_request_t *requests; /* SIM_REQUESTS_MAX, never reused in a run */
    uint32_t request_count;
    /* clients */
    bool genesis_done;
    sim_command_t genesis;
    sim_payer_t payers[SIM_PAYERS];
    /* counters */
    raft_index acknowledged_max;
    uint64_t acknowledged;
    uint64_t faults;
    uint64_t commands_accepted;
    uint64_t commands_rejected;
};

/* Reports a broken property with the seed that replays it, and exits. */
void sim_fail(const sim_t *sim, const char *format, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

/* A trace line when SETTLE_SIM_VERBOSE is set. */
void sim_trace(const sim_t *sim, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The slot of a raft index (fails the run past SIM_INDEX_MAX). */
sim_slot_t *sim_slot(sim_t *sim, raft_index index);

/* ---- sim_workload.c ---- */

/* Makes the clients' keys and reads the plan; once per process. */
void sim_workload_global_init(const char *source_dir);
void sim_workload_global_fini(void);

void sim_workload_init(sim_t *sim);
void sim_workload_fini(sim_t *sim);

/* Gives every idle client its next command (when want_more), then submits
 * every ready command to a leader in one or more entries. */
void sim_workload_submit(sim_t *sim, bool want_more);

/* Submits an entry whose framing does not decode, which every server must
 * refuse whole, the same way. */
void sim_workload_submit_junk(sim_t *sim);

/* Abandons requests older than the clients' patience: their commands are
 * retried, byte for byte. */
void sim_workload_timeouts(sim_t *sim);

/* True when no client has a command ready or in flight. */
bool sim_workload_quiet(const sim_t *sim);

/* Every server holds every claim of every acknowledged batch. */
void sim_workload_check_acknowledged(sim_t *sim);

#endif
