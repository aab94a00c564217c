/*
 * cli_cluster.c - `settle cluster up` and `settle cluster down`: a local
 * cluster on loopback, for trying settle out and for end-to-end tests.
 *
 * up makes DIR and in it: a key pair per participant (node-1..node-N, the
 * payer ACMEHP, the providers prov-a and prov-b, the auditor), genesis.yaml
 * registering them, node-K.yaml per node (`transport: curve` unless
 * --transport plain), and cluster.env with the endpoints, and for curve
 * each node's public key and the payer's key file as the client's, for
 * scripts to source; then starts one `settled` per node (the
 * one beside this `settle`), detached, logging to DIR/node-K.log, its pid in
 * DIR/node-K.pid, and waits until a leader has applied the genesis.
 *
 * Ports: three per node (Raft, intake, events) from a base.  Without
 * --base-port the base is drawn at random in 20000..29999 (below the
 * ephemeral range, so no outgoing connection holds one) and every port is
 * bind-tested; a node that still cannot bind (a race with another program)
 * makes up try a new base, a few times.
 *
 * down stops the nodes whose pid files are in DIR: SIGTERM, up to 10 s for
 * them to stop, then SIGKILL.  It checks that a pid is still a settled of
 * this DIR before signalling it.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* The sample payer's tax id, on the 835s the local cluster renders. */
#define CLUSTER_PAYER_TAX_ID "591234567"
#include "settle/node.h"
#include "settle/sign.h"

#define NODES_DEFAULT   3
#define PORTS_PER_NODE  3
#define BASE_PORT_LOW   20000
#define BASE_PORT_SPAN  10000
#define PORT_TRIES      50
#define START_TRIES     4
#define UP_TIMEOUT_S    30
#define DOWN_TIMEOUT_MS 10000
#define POLL_MS         200
#define PATH_SIZE       4096

/* --transport's default: the local cluster speaks CurveZMQ, though a
 * node's own default is still plain (node.h). */
#define TRANSPORT_DEFAULT_CURVE 1

typedef struct {
    const char *dir_given;
    char dir[PATH_SIZE];     /* absolute */
    char settled[PATH_SIZE]; /* the daemon beside this program */
    unsigned nodes;
    unsigned base_port; /* 0: pick */
    unsigned timeout_s;
    int curve; /* transport: curve (else plain) */
    char node_keys[NODE_PEERS_MAX + 1][SIGN_PUBLIC_KEY_HEX_SIZE]; /* node-K's public key */
    pid_t pids[NODE_PEERS_MAX + 1];
} s_cluster_t;

static const struct {
    const char *id, *role, *name, *npi;
} s_participants[] = {
    {"ACMEHP", "payer", "Acme Health Plan", NULL},
    {"prov-a", "provider", "Family Practice A", "1234567893"},
    {"prov-b", "provider", "Clinic B", "1987654328"},
    {"auditor", "auditor", "State Auditor", NULL},
};
#define PARTICIPANT_COUNT (sizeof s_participants / sizeof s_participants[0])

static unsigned s_raft_port(const s_cluster_t *c, unsigned node)
{
    return c->base_port + (node - 1) * PORTS_PER_NODE;
}

static void s_sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* ------------------------------------------------------------------------
 * Files: keys, genesis, configurations, cluster.env
 * ------------------------------------------------------------------------ */

static int s_path(char *out, const s_cluster_t *c, const char *name)
{
    if ((size_t)snprintf(out, PATH_SIZE, "%s/%s", c->dir, name) >= PATH_SIZE) {
        fprintf(stderr, "settle cluster: %s/%s: the path is too long\n", c->dir, name);
        return -1;
    }
    return 0;
}

/* Opens DIR/name for writing (replacing it); NULL (printed) on failure. */
static FILE *s_create(const s_cluster_t *c, const char *name)
{
    char path[PATH_SIZE];
    if (s_path(path, c, name) != 0)
        return NULL;
    FILE *file = fopen(path, "w");
    if (!file)
        fprintf(stderr, "settle cluster: %s: cannot write: %s\n", path, strerror(errno));
    return file;
}

static int s_close(FILE *file, const s_cluster_t *c, const char *name)
{
    if (ferror(file) | fclose(file)) {
        fprintf(stderr, "settle cluster: %s/%s: cannot write\n", c->dir, name);
        return -1;
    }
    return 0;
}

/* Every participant's key pair, DIR/ID.key (0600) and DIR/ID.key.pub, and
 * the payer's PHI secret DIR/ACMEHP.phi (0600). */
static int s_keys(s_cluster_t *c)
{
    char path[PATH_SIZE], name[64];
    for (unsigned k = 1; k <= c->nodes + PARTICIPANT_COUNT; k++) {
        if (k <= c->nodes)
            snprintf(name, sizeof name, "node-%u.key", k);
        else
            snprintf(name, sizeof name, "%s.key", s_participants[k - c->nodes - 1].id);
        if (s_path(path, c, name) != 0 ||
            cli_keygen_write(path, k <= c->nodes ? c->node_keys[k] : NULL) != CLI_EXIT_OK)
            return -1;
    }
    /* The payer's PHI secret beside its key, where the clients look. */
    settle_error_t error;
    settle_error_clear(&error);
    if (s_path(path, c, "ACMEHP.phi") != 0 || phi_key_generate(path, &error) != SETTLE_OK) {
        cli_print_error(&error);
        return -1;
    }
    return 0;
}

static int s_genesis(const s_cluster_t *c)
{
    FILE *f = s_create(c, "genesis.yaml");
    if (!f)
        return -1;
    fprintf(f, "# The genesis of a local cluster made by `settle cluster up`.\nparticipants:\n");
    for (unsigned k = 1; k <= c->nodes; k++)
        fprintf(f, "  - {id: node-%u, role: node, key_file: node-%u.key.pub, name: Node %u}\n", k,
                k, k);
    for (unsigned i = 0; i < PARTICIPANT_COUNT; i++) {
        fprintf(f, "  - {id: %s, role: %s, key_file: %s.key.pub, name: %s", s_participants[i].id,
                s_participants[i].role, s_participants[i].id, s_participants[i].name);
        if (s_participants[i].npi)
            fprintf(f, ", npi: \"%s\"", s_participants[i].npi);
        fprintf(f, "}\n");
    }
    return s_close(f, c, "genesis.yaml");
}

static int s_configs(const s_cluster_t *c)
{
    char name[64];
    for (unsigned k = 1; k <= c->nodes; k++) {
        snprintf(name, sizeof name, "node-%u.yaml", k);
        FILE *f = s_create(c, name);
        if (!f)
            return -1;
        fprintf(f, "# Node %u of a local cluster made by `settle cluster up`.\n", k);
        fprintf(f, "id: %u\ndata_dir: %s/node-%u.data\ngenesis: genesis.yaml\n", k, c->dir, k);
        fprintf(f, "participant: node-%u\nkey: %s/node-%u.key\n", k, c->dir, k);
        fprintf(f, "payer_tax_id: \"%s\"\n", CLUSTER_PAYER_TAX_ID);
        fprintf(f, "transport: %s\n", c->curve ? "curve" : "plain");
        fprintf(f, "election_timeout_ms: 500\nheartbeat_timeout_ms: 50\npeers:\n");
        for (unsigned j = 1; j <= c->nodes; j++) {
            unsigned port = s_raft_port(c, j);
            fprintf(f,
                    "  - {id: %u, raft_address: \"127.0.0.1:%u\", intake: \"tcp://127.0.0.1:%u\"",
                    j, port, port + 1);
            fprintf(f, ", events: \"tcp://127.0.0.1:%u\"", port + 2);
            fprintf(f, "}\n");
        }
        if (s_close(f, c, name) != 0)
            return -1;
    }
    return 0;
}

/* DIR/cluster.env: shell variables for scripts (`. DIR/cluster.env`). */
static int s_environment(const s_cluster_t *c)
{
    FILE *f = s_create(c, "cluster.env");
    if (!f)
        return -1;
    fprintf(f, "# A local settle cluster: `. %s/cluster.env`, then settle commands find it.\n",
            c->dir);
    fprintf(f, "export SETTLE_DIR='%s'\nexport SETTLE_NODE='", c->dir);
    for (unsigned k = 1; k <= c->nodes; k++)
        fprintf(f, "%stcp://127.0.0.1:%u", k > 1 ? "," : "", s_raft_port(c, k) + 1);
    fprintf(f, "'\nexport SETTLE_NODES=%u\n", c->nodes);
    for (unsigned k = 1; k <= c->nodes; k++) {
        unsigned port = s_raft_port(c, k);
        fprintf(f, "export SETTLE_NODE_%u='tcp://127.0.0.1:%u'\n", k, port + 1);
        fprintf(f, "export SETTLE_EVENTS_%u='tcp://127.0.0.1:%u'\n", k, port + 2);
        fprintf(f, "export SETTLE_RAFT_%u='127.0.0.1:%u'\n", k, port);
    }
    fprintf(f,
            "export SETTLE_PAYER=ACMEHP\nexport SETTLE_PAYER_KEY='%s/ACMEHP.key'\n"
            "export SETTLE_PAYER_PHI='%s/ACMEHP.phi'\n"
            "export SETTLE_PROVIDER_A=1234567893\nexport SETTLE_PROVIDER_B=1987654328\n"
            "export SETTLE_PROVIDER_A_KEY='%s/prov-a.key'\n"
            "export SETTLE_PROVIDER_B_KEY='%s/prov-b.key'\n",
            c->dir, c->dir, c->dir, c->dir);
    /* CurveZMQ: each node's key, for the client to know it by its intake,
     * and the key a client connects with unless told --key. */
    fprintf(f, "export SETTLE_TRANSPORT=%s\n", c->curve ? "curve" : "plain");
    for (unsigned k = 1; c->curve && k <= c->nodes; k++)
        fprintf(f, "export SETTLE_NODE_KEY_%u=%s\n", k, c->node_keys[k]);
    if (c->curve)
        fprintf(f, "export SETTLE_KEY='%s/ACMEHP.key'\n", c->dir);
    return s_close(f, c, "cluster.env");
}

/* ------------------------------------------------------------------------
 * Ports
 * ------------------------------------------------------------------------ */

/* True when nothing listens on 127.0.0.1:port and we may bind it. */
static int s_port_free(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int free_port = bind(fd, (struct sockaddr *)&address, sizeof address) == 0;
    close(fd);
    return free_port;
}

static int s_ports_free(const s_cluster_t *c, unsigned *busy_out)
{
    for (unsigned p = 0; p < c->nodes * PORTS_PER_NODE; p++)
        if (!s_port_free(c->base_port + p)) {
            *busy_out = c->base_port + p;
            return 0;
        }
    return 1;
}

/* Picks a base (a random one when none was given) whose ports are free. */
static int s_pick_ports(s_cluster_t *c, int given)
{
    unsigned busy = 0;
    if (given) {
        if (s_ports_free(c, &busy))
            return 0;
        fprintf(stderr, "settle cluster up: port %u is in use (--base-port %u needs %u free)\n",
                busy, c->base_port, c->nodes * PORTS_PER_NODE);
        return -1;
    }
    for (int i = 0; i < PORT_TRIES; i++) {
        unsigned slots = BASE_PORT_SPAN / (NODE_PEERS_MAX * PORTS_PER_NODE);
        c->base_port =
            BASE_PORT_LOW + (unsigned)(rand() % (int)slots) * NODE_PEERS_MAX * PORTS_PER_NODE;
        if (s_ports_free(c, &busy))
            return 0;
    }
    fprintf(stderr, "settle cluster up: no free ports found in %u..%u\n", BASE_PORT_LOW,
            BASE_PORT_LOW + BASE_PORT_SPAN - 1);
    return -1;
}

/* ------------------------------------------------------------------------
 * Processes
 * ------------------------------------------------------------------------ */

/* The settled beside this program (same folder as /proc/self/exe). */
static int s_find_settled(s_cluster_t *c)
{
    char self[PATH_SIZE];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "settle cluster: cannot read /proc/self/exe: %s\n", strerror(errno));
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(c->settled, sizeof c->settled, "%.4080s/settled", self);
    if (access(c->settled, X_OK) != 0) {
        fprintf(stderr, "settle cluster: %s: not found (settled must be beside settle)\n",
                c->settled);
        return -1;
    }
    return 0;
}

/* Starts node k detached (its own session), logging to DIR/node-k.log. */
static pid_t s_spawn(const s_cluster_t *c, unsigned k)
{
    char config[PATH_SIZE], log[PATH_SIZE], name[64];
    snprintf(name, sizeof name, "node-%u.yaml", k);
    if (s_path(config, c, name) != 0)
        return -1;
    snprintf(name, sizeof name, "node-%u.log", k);
    if (s_path(log, c, name) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int null = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (null < 0 || out < 0)
        _exit(127);
    dup2(null, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    close(null);
    close(out);
    execl(c->settled, "settled", "--config", config, (char *)NULL);
    fprintf(stderr, "settle cluster: cannot run %s: %s\n", c->settled, strerror(errno));
    _exit(127);
}

static int s_write_pid(const s_cluster_t *c, unsigned k, pid_t pid)
{
    char name[64];
    snprintf(name, sizeof name, "node-%u.pid", k);
    FILE *f = s_create(c, name);
    if (!f)
        return -1;
    fprintf(f, "%ld\n", (long)pid);
    return s_close(f, c, name);
}

/* "index N leader L" of node k's head; -1 when it does not answer. */
static int s_head(const s_cluster_t *c, unsigned k, long long *index_out, long long *leader_out)
{
    cli_client_t client;
    cli_client_init(&client);
    client.quiet = 1;
    client.tries = 1;
    client.timeout_ms = 300;
    char endpoint[64], value[32];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%u", s_raft_port(c, k) + 1);
    cli_client_option(&client, "--node", endpoint);
    if (c->curve) { /* as node-K itself: let in once it has applied the genesis */
        char path[PATH_SIZE];
        snprintf(path, sizeof path, "%.4000s/node-%u.key", c->dir, k);
        cli_client_option(&client, "--node-key", c->node_keys[k]);
        cli_client_key(&client, path);
    }
    char *text = NULL;
    int rc = cli_client_call(&client, "head", NULL, 0, &text) == CLI_EXIT_OK ? 0 : -1;
    if (rc == 0 && cli_text_field(text, "index", value, sizeof value) == 0)
        *index_out = strtoll(value, NULL, 10);
    if (rc == 0 && cli_text_field(text, "leader", value, sizeof value) == 0)
        *leader_out = strtoll(value, NULL, 10);
    free(text);
    cli_client_free(&client);
    return rc;
}

static void s_log_tail(const s_cluster_t *c, unsigned k)
{
    char path[PATH_SIZE], name[64], line[512];
    snprintf(name, sizeof name, "node-%u.log", k);
    if (s_path(path, c, name) != 0)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    long count = 0;
    while (fgets(line, sizeof line, f))
        count++;
    rewind(f);
    fprintf(stderr, "--- %s (last lines)\n", path);
    for (long i = 0; fgets(line, sizeof line, f); i++)
        if (i >= count - 8)
            fputs(line, stderr);
    fclose(f);
}

/* True when node k's log says its configuration has an unknown key. */
static void s_kill_all(s_cluster_t *c)
{
    for (unsigned k = 1; k <= c->nodes; k++)
        if (c->pids[k] > 0) {
            kill(c->pids[k], SIGKILL);
            waitpid(c->pids[k], NULL, 0);
            c->pids[k] = 0;
        }
}

/* Starts every node and waits for a leader with genesis applied.  0 up,
 * 1 a node exited at start (the caller may retry), -1 timed out. */
static int s_start(s_cluster_t *c, unsigned *exited_out)
{
    for (unsigned k = 1; k <= c->nodes; k++)
        if ((c->pids[k] = s_spawn(c, k)) < 0)
            return -1;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        unsigned answering = 0, ready = 0;
        for (unsigned k = 1; k <= c->nodes; k++) {
            if (waitpid(c->pids[k], NULL, WNOHANG) == c->pids[k]) {
                c->pids[k] = 0;
                *exited_out = k;
                return 1;
            }
            long long index = 0, leader = 0;
            if (s_head(c, k, &index, &leader) == 0) {
                answering++;
                ready |= leader != 0 && index >= 1;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        cli_progress("settle cluster up: %u of %u nodes answer%s (%ld s)", answering, c->nodes,
                     ready ? ", genesis applied" : "", elapsed_ms / 1000);
        if (answering == c->nodes && ready)
            return 0;
        if (elapsed_ms > (long)c->timeout_s * 1000)
            return -1;
        s_sleep_ms(POLL_MS);
    }
}

/* ------------------------------------------------------------------------
 * up
 * ------------------------------------------------------------------------ */

static void s_up_help(FILE *out)
{
    fprintf(out,
            "usage: settle cluster up --dir DIR [--nodes N] [--base-port P] [--timeout S]\n"
            "                         [--transport curve|plain]\n"
            "       settle cluster down --dir DIR\n\n"
            "up makes DIR (which must not exist, or be empty) with a key pair per\n"
            "participant (node-1..node-N, payer ACMEHP, providers prov-a (NPI 1234567893)\n"
            "and prov-b (NPI 1987654328), auditor), genesis.yaml, node-K.yaml and\n"
            "cluster.env, starts one settled per node on 127.0.0.1 (logs in node-K.log,\n"
            "pids in node-K.pid) and waits until a leader has applied the genesis.\n\n"
            "  --nodes N      1..%d nodes (default %d)\n"
            "  --base-port P  node K uses ports P+3(K-1) (Raft), +1 (intake), +2 (events);\n"
            "                 default: a random free base in %d..%d\n"
            "  --timeout S    give up when the cluster is not up after S seconds (default %d)\n"
            "  --transport T  curve: CurveZMQ on intake and events, only registered keys let\n"
            "                 in; cluster.env then names each node's key (SETTLE_NODE_KEY_K)\n"
            "                 and the payer's as the client's (SETTLE_KEY); plain: plain TCP\n"
            "                 (default %s)\n\n"
            "down stops those nodes: SIGTERM, up to 10 s, then SIGKILL.\n"
            "exit codes: 0 done, 1 DIR is in use, 2 bad usage, 3 failure\n",
            NODE_PEERS_MAX, NODES_DEFAULT, BASE_PORT_LOW, BASE_PORT_LOW + BASE_PORT_SPAN - 1,
            UP_TIMEOUT_S, TRANSPORT_DEFAULT_CURVE ? "curve" : "plain");
}

/* Makes DIR (or accepts it empty) and sets c->dir to its absolute path. */
static int s_make_dir(s_cluster_t *c)
{
    if (mkdir(c->dir_given, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "settle cluster up: %s: cannot make: %s\n", c->dir_given, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (!realpath(c->dir_given, c->dir)) {
        fprintf(stderr, "settle cluster up: %s: %s\n", c->dir_given, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    char path[PATH_SIZE];
    if (s_path(path, c, "genesis.yaml") != 0)
        return CLI_EXIT_FAILURE;
    if (access(path, F_OK) == 0) {
        fprintf(stderr,
                "settle cluster up: %s already holds a cluster; `settle cluster down "
                "--dir %s` stops it, and a new one needs a new or empty folder\n",
                c->dir, c->dir_given);
        return CLI_EXIT_REJECTED;
    }
    return CLI_EXIT_OK;
}

/* Writes the configurations and starts the nodes, retrying with new
 * ports, or without the keys an older settled does not know. */
static int s_launch(s_cluster_t *c, int base_given)
{
    for (int attempt = 0; attempt < START_TRIES; attempt++) {
        if (s_pick_ports(c, base_given) != 0)
            return CLI_EXIT_FAILURE;
        if (s_configs(c) != 0 || s_environment(c) != 0)
            return CLI_EXIT_FAILURE;
        unsigned exited = 0;
        int rc = s_start(c, &exited);
        cli_progress_end();
        if (rc == 0)
            return CLI_EXIT_OK;
        s_kill_all(c);
        if (rc < 0) {
            fprintf(stderr, "settle cluster up: no leader with the genesis applied after %u s\n",
                    c->timeout_s);
            for (unsigned k = 1; k <= c->nodes; k++)
                s_log_tail(c, k);
            return CLI_EXIT_FAILURE;
        }
        if (base_given || attempt + 1 == START_TRIES) {
            fprintf(stderr, "settle cluster up: node %u exited at start\n", exited);
            s_log_tail(c, exited);
            return CLI_EXIT_FAILURE;
        }
        char command[PATH_SIZE + 32]; /* a fresh start: no half-made data */
        for (unsigned k = 1; k <= c->nodes; k++) {
            snprintf(command, sizeof command, "node-%u.data", k);
            char path[PATH_SIZE];
            if (s_path(path, c, command) == 0) {
                snprintf(command, sizeof command, "rm -rf '%s'", path);
                if (system(command) != 0)
                    return CLI_EXIT_FAILURE;
            }
        }
    }
    return CLI_EXIT_FAILURE;
}

static int s_up(s_cluster_t *c, int base_given)
{
    int rc = s_make_dir(c);
    if (rc == CLI_EXIT_OK && (s_find_settled(c) != 0 || s_keys(c) != 0 || s_genesis(c) != 0))
        rc = CLI_EXIT_FAILURE;
    if (rc == CLI_EXIT_OK)
        rc = s_launch(c, base_given);
    for (unsigned k = 1; rc == CLI_EXIT_OK && k <= c->nodes; k++)
        if (s_write_pid(c, k, c->pids[k]) != 0)
            rc = CLI_EXIT_FAILURE;
    if (rc != CLI_EXIT_OK) {
        s_kill_all(c);
        return rc;
    }
    printf("settle cluster: %u node%s up in %s\n", c->nodes, c->nodes == 1 ? "" : "s", c->dir);
    for (unsigned k = 1; k <= c->nodes; k++) {
        unsigned port = s_raft_port(c, k);
        printf("  node-%u  pid %ld  intake tcp://127.0.0.1:%u", k, (long)c->pids[k], port + 1);
        printf("  events tcp://127.0.0.1:%u\n", port + 2);
    }
    printf("try:  . %s/cluster.env && settle head && settle submit --key "
           "\"$SETTLE_PAYER_KEY\" deploy PLAN.yaml\nstop: settle cluster down --dir %s\n",
           c->dir, c->dir_given);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * down
 * ------------------------------------------------------------------------ */

/* True while pid is a live (not zombie) settled run with a config in dir. */
static int s_is_our_node(pid_t pid, const char *dir)
{
    char path[64], buffer[PATH_SIZE];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    buffer[n] = '\0';
    char *close_paren = strrchr(buffer, ')');
    if (!close_paren || close_paren[1] != ' ' || close_paren[2] == 'Z')
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (buffer[i] == '\0')
            buffer[i] = ' ';
    buffer[n] = '\0';
    return strstr(buffer, "settled") && strstr(buffer, dir);
}

static int s_down(s_cluster_t *c)
{
    if (!realpath(c->dir_given, c->dir)) {
        fprintf(stderr, "settle cluster down: %s: %s\n", c->dir_given, strerror(errno));
        return CLI_EXIT_REJECTED;
    }
    pid_t pids[NODE_PEERS_MAX + 1] = {0};
    unsigned found = 0;
    char path[PATH_SIZE], name[64];
    for (unsigned k = 1; k <= NODE_PEERS_MAX; k++) {
        snprintf(name, sizeof name, "node-%u.pid", k);
        FILE *f = s_path(path, c, name) == 0 ? fopen(path, "r") : NULL;
        long pid = 0;
        if (!f)
            continue;
        found++;
        if (fscanf(f, "%ld", &pid) == 1 && pid > 1 && s_is_our_node((pid_t)pid, c->dir)) {
            pids[k] = (pid_t)pid;
            kill(pids[k], SIGTERM);
        } else {
            printf("node-%u: not running\n", k);
        }
        fclose(f);
        unlink(path);
    }
    if (found == 0) {
        fprintf(stderr, "settle cluster down: %s: no node-K.pid files (no cluster here?)\n",
                c->dir);
        return CLI_EXIT_REJECTED;
    }
    int rc = CLI_EXIT_OK;
    for (long waited_ms = 0;; waited_ms += POLL_MS) {
        unsigned running = 0;
        for (unsigned k = 1; k <= NODE_PEERS_MAX; k++) {
            if (pids[k] && !s_is_our_node(pids[k], c->dir)) {
                printf("node-%u: stopped (pid %ld)\n", k, (long)pids[k]);
                pids[k] = 0;
            }
            running += pids[k] != 0;
        }
        if (running == 0)
            break;
        cli_progress("settle cluster down: %u node%s still stopping", running,
                     running == 1 ? "" : "s");
        if (waited_ms >= DOWN_TIMEOUT_MS) {
            cli_progress_end();
            for (unsigned k = 1; k <= NODE_PEERS_MAX; k++)
                if (pids[k] && kill(pids[k], SIGKILL) == 0)
                    printf("node-%u: killed (pid %ld did not stop within %d s)\n", k, (long)pids[k],
                           DOWN_TIMEOUT_MS / 1000);
            rc = CLI_EXIT_OK;
            break;
        }
        s_sleep_ms(POLL_MS);
    }
    cli_progress_end();
    printf("settle cluster: %s is down\n", c->dir);
    return rc;
}

int cli_cluster(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        s_up_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    s_cluster_t c;
    memset(&c, 0, sizeof c);
    c.nodes = NODES_DEFAULT;
    c.timeout_s = UP_TIMEOUT_S;
    c.curve = TRANSPORT_DEFAULT_CURVE;
    int up = strcmp(argv[1], "up") == 0, base_given = 0;
    if (!up && strcmp(argv[1], "down") != 0) {
        fprintf(stderr, "settle cluster: expected up or down, not \"%s\"\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_up_help(stdout);
            return CLI_EXIT_OK;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        unsigned long number = value ? strtoul(value, &end, 10) : 0;
        int numeric = value && end && *end == '\0' && value[0] >= '0' && value[0] <= '9';
        if (strcmp(argv[i], "--dir") == 0 && value) {
            c.dir_given = value;
        } else if (up && strcmp(argv[i], "--nodes") == 0 && numeric && number >= 1 &&
                   number <= NODE_PEERS_MAX) {
            c.nodes = (unsigned)number;
        } else if (up && strcmp(argv[i], "--base-port") == 0 && numeric && number >= 1024 &&
                   number + NODE_PEERS_MAX * PORTS_PER_NODE < 65536) {
            c.base_port = (unsigned)number;
            base_given = 1;
        } else if (up && strcmp(argv[i], "--transport") == 0 && value &&
                   (strcmp(value, "curve") == 0 || strcmp(value, "plain") == 0)) {
            c.curve = strcmp(value, "curve") == 0;
        } else if (up && strcmp(argv[i], "--timeout") == 0 && numeric && number >= 1 &&
                   number <= 3600) {
            c.timeout_s = (unsigned)number;
        } else {
            fprintf(stderr, "settle cluster %s: bad option or value \"%s\"\n", argv[1], argv[i]);
            s_up_help(stderr);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    if (!c.dir_given) {
        fprintf(stderr, "settle cluster %s: --dir DIR is required\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    return up ? s_up(&c, base_given) : s_down(&c);
}
