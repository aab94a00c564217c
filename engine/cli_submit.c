/*
 * cli_submit.c - `settle submit` and `settle head`: the client side of a
 * node's intake (protocol in include/settle/node.h).
 *
 * submit signs one command (a batch of claims, or deploy, enroll, fund,
 * pay) as the payer, sends it, follows "redirect" answers to the leader,
 * and on a timeout or "retry" sends the very same bytes again (to the next
 * node given, when several are): a command applied before its answer was
 * lost is answered as a replayed sequence number, never applied twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/command.h"

#define ENDPOINTS_MAX 8
#define TRIES_DEFAULT 60
#define TIMEOUT_MS    2000
#define CLAIMS_MAX    COMMAND_BATCH_CLAIMS_MAX

typedef struct {
    char *endpoints[ENDPOINTS_MAX]; /* strdup'd */
    unsigned endpoint_count, current;
    char redirect[128];
    int timeout_ms;
    int tries;
} s_client_t;

/* ------------------------------------------------------------------------
 * Talking to a node
 * ------------------------------------------------------------------------ */

/* Splits "tcp://a,tcp://b" into the client's endpoints. */
static int s_endpoints(s_client_t *client, const char *list)
{
    const char *p = list;
    while (*p && client->endpoint_count < ENDPOINTS_MAX) {
        size_t n = strcspn(p, ",");
        client->endpoints[client->endpoint_count++] = strndup(p, n);
        p += n + (p[n] == ',');
    }
    return client->endpoint_count > 0 ? 0 : -1;
}

static const char *s_endpoint(s_client_t *client)
{
    return client->redirect[0] ? client->redirect : client->endpoints[client->current];
}

/* One exchange on a fresh DEALER: the reply, or NULL on timeout. */
static zmsg_t *s_exchange(s_client_t *client, const char *verb, const uint8_t *command, size_t size,
                          unsigned attempt)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return NULL;
    zsock_set_linger(dealer, 0);
    zsock_set_rcvtimeo(dealer, client->timeout_ms);
    zmsg_t *reply = NULL;
    if (zsock_connect(dealer, "%s", s_endpoint(client)) == 0) {
        zmsg_t *request = zmsg_new();
        zmsg_addstrf(request, "%ld-%u", (long)getpid(), attempt);
        zmsg_addstr(request, verb);
        if (command)
            zmsg_addmem(request, command, size);
        if (zmsg_send(&request, dealer) == 0)
            reply = zmsg_recv(dealer);
        zmsg_destroy(&request);
    }
    zsock_destroy(&dealer);
    return reply;
}

/* Sends until an "ok" or "error" answer; prints the text.  0 ok (and no
 * command rejected), 1 an error or a rejection, 3 no answer. */
static int s_request(s_client_t *client, const char *verb, const uint8_t *command, size_t size)
{
    for (int attempt = 0; attempt < client->tries; attempt++) {
        zmsg_t *reply = s_exchange(client, verb, command, size, (unsigned)attempt);
        if (!reply) {
            client->redirect[0] = '\0';
            client->current = (client->current + 1) % client->endpoint_count;
            continue;
        }
        zframe_t *id = zmsg_pop(reply);
        char *status = zmsg_popstr(reply);
        char *text = zmsg_popstr(reply);
        int done = -1;
        if (status && text && strcmp(status, "ok") == 0) {
            fputs(text, stdout);
            done = strstr(text, " rejected ") ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
        } else if (status && text && strcmp(status, "error") == 0) {
            fprintf(stderr, "settle: %s: %s\n", verb, text);
            done = CLI_EXIT_REJECTED;
        } else if (status && text && strcmp(status, "redirect") == 0) {
            snprintf(client->redirect, sizeof client->redirect, "%s", text);
        } else {
            client->redirect[0] = '\0';
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        }
        zframe_destroy(&id);
        zstr_free(&status);
        zstr_free(&text);
        zmsg_destroy(&reply);
        if (done >= 0)
            return done;
    }
    fprintf(stderr, "settle: %s: no answer after %d tries\n", verb, client->tries);
    return CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------------------
 * Building the command
 * ------------------------------------------------------------------------ */

typedef struct {
    uint8_t *claims[CLAIMS_MAX];
    size_t sizes[CLAIMS_MAX];
    uint32_t count;
} s_batch_t;

static int s_claim(const claim_t *claim, void *context)
{
    s_batch_t *batch = context;
    if (batch->count == CLAIMS_MAX) {
        fprintf(stderr, "settle submit: more than %u claims\n", CLAIMS_MAX);
        return -1;
    }
    if (claim_encode(claim, &batch->claims[batch->count], &batch->sizes[batch->count]) != SETTLE_OK)
        return -1;
    batch->count++;
    return 0;
}

/* The payload of kind (deploy, enroll, fund, pay, or claim files). */
static int s_payload(const char *payer, int argc, char **argv, uint8_t *type_out,
                     uint8_t **payload_out, size_t *size_out)
{
    const char *kind = argv[0];
    if ((strcmp(kind, "deploy") == 0 || strcmp(kind, "enroll") == 0) && argc == 2) {
        char *text = NULL;
        size_t size = 0;
        if (cli_read_file(argv[1], &text, &size) != 0)
            return CLI_EXIT_FAILURE;
        command_text_t value = {(const uint8_t *)text, size};
        *type_out = kind[0] == 'd' ? COMMAND_DEPLOY : COMMAND_ENROLL;
        int rc = command_text_encode(&value, payload_out, size_out);
        settle_free(text);
        return rc == SETTLE_OK ? 0 : CLI_EXIT_FAILURE;
    }
    if (strcmp(kind, "fund") == 0 && argc == 2) {
        command_fund_t value;
        memset(&value, 0, sizeof value);
        snprintf(value.payer, sizeof value.payer, "%s", payer);
        char *end = NULL;
        errno = 0;
        value.amount_cents = strtoll(argv[1], &end, 10);
        if (errno || *end || value.amount_cents <= 0)
            return CLI_EXIT_USAGE;
        *type_out = COMMAND_FUND;
        return command_fund_encode(&value, payload_out, size_out) == SETTLE_OK ? 0 : 3;
    }
    if (strcmp(kind, "pay") == 0 && argc == 1) {
        command_pay_t value;
        memset(&value, 0, sizeof value);
        snprintf(value.payer, sizeof value.payer, "%s", payer);
        *type_out = COMMAND_PAY;
        return command_pay_encode(&value, payload_out, size_out) == SETTLE_OK ? 0 : 3;
    }
    static s_batch_t batch;
    cli_claim_sink_t sink = {s_claim, NULL};
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        unsigned rejected = 0;
        rc = cli_input_read(argv[i], &sink, &batch, &rejected) != 0 ? CLI_EXIT_REJECTED : 0;
    }
    if (rc == 0 && batch.count > 0) {
        *type_out = COMMAND_BATCH;
        rc = command_batch_encode(payer, (const uint8_t *const *)batch.claims, batch.sizes,
                                  batch.count, payload_out, size_out) == SETTLE_OK
                 ? 0
                 : CLI_EXIT_FAILURE;
    } else if (rc == 0) {
        rc = CLI_EXIT_USAGE;
    }
    for (uint32_t i = 0; i < batch.count; i++)
        settle_free(batch.claims[i]);
    return rc;
}

/* The signed command's encoding, in a new buffer (settle_free). */
static int s_command(const char *key_path, const char *payer, uint64_t sequence, int argc,
                     char **argv, uint8_t **bytes_out, size_t *size_out)
{
    command_t command;
    memset(&command, 0, sizeof command);
    uint8_t *payload = NULL;
    int rc = s_payload(payer, argc, argv, &command.type, &payload, &command.payload_size);
    if (rc != 0)
        return rc;
    settle_error_t error;
    settle_error_clear(&error);
    sign_key_t *key = NULL;
    snprintf(command.participant, sizeof command.participant, "%s", payer);
    command.sequence = sequence;
    command.payload = payload;
    if (sign_key_load(key_path, &key, &error) != SETTLE_OK ||
        command_sign(&command, key, &error) != SETTLE_OK ||
        command_encode(&command, bytes_out, size_out) != SETTLE_OK) {
        cli_print_error(&error);
        rc = CLI_EXIT_FAILURE;
    }
    sign_key_destroy(&key);
    settle_free(payload);
    return rc;
}

/* ------------------------------------------------------------------------
 * The subcommands
 * ------------------------------------------------------------------------ */

static void s_usage(FILE *out)
{
    fprintf(out, "usage: settle submit --node ENDPOINT[,ENDPOINT...] --key FILE --payer ID\n"
                 "                     --sequence N [--timeout-ms MS] [--tries N] WHAT\n"
                 "       settle head --node ENDPOINT [--timeout-ms MS] [--tries N]\n\n"
                 "WHAT is CLAIM-FILE... (a signed batch), deploy CONTRACT.yaml,\n"
                 "enroll MEMBERS.yaml, fund CENTS or pay.  Follows redirects to the leader and\n"
                 "resends the same bytes on a timeout; prints the node's answer.\n"
                 "exit codes: 0 accepted, 1 rejected, 2 bad usage, 3 no answer\n");
}

/* Options shared by both commands; returns the index of the first
 * positional argument, or -1 on a bad command line. */
static int s_options(int argc, char **argv, s_client_t *client, const char **key,
                     const char **payer, long long *sequence)
{
    client->timeout_ms = TIMEOUT_MS;
    client->tries = TRIES_DEFAULT;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        if (strcmp(name, "--node") == 0 && s_endpoints(client, value) == 0)
            continue;
        if (strcmp(name, "--key") == 0 && key)
            *key = value;
        else if (strcmp(name, "--payer") == 0 && payer)
            *payer = value;
        else if (strcmp(name, "--sequence") == 0 && sequence)
            *sequence = strtoll(value, NULL, 10);
        else if (strcmp(name, "--timeout-ms") == 0)
            client->timeout_ms = (int)strtol(value, NULL, 10);
        else if (strcmp(name, "--tries") == 0)
            client->tries = (int)strtol(value, NULL, 10);
        else
            return -1;
    }
    if (client->endpoint_count == 0 || client->timeout_ms <= 0 || client->tries <= 0)
        return -1;
    return i;
}

static void s_client_free(s_client_t *client)
{
    for (unsigned i = 0; i < client->endpoint_count; i++)
        free(client->endpoints[i]);
}

int cli_submit(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        s_usage(stdout);
        return CLI_EXIT_OK;
    }
    s_client_t client;
    memset(&client, 0, sizeof client);
    const char *key = NULL, *payer = NULL;
    long long sequence = -1;
    int first = s_options(argc, argv, &client, &key, &payer, &sequence);
    if (first < 0 || first >= argc || !key || !payer || sequence < 0) {
        s_usage(stderr);
        s_client_free(&client);
        return CLI_EXIT_USAGE;
    }
    zsys_handler_set(NULL);
    uint8_t *bytes = NULL;
    size_t size = 0;
    int rc = s_command(key, payer, (uint64_t)sequence, argc - first, argv + first, &bytes, &size);
    if (rc == CLI_EXIT_USAGE)
        s_usage(stderr);
    if (rc == 0)
        rc = s_request(&client, "submit", bytes, size);
    settle_free(bytes);
    s_client_free(&client);
    return rc;
}

int cli_head(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        s_usage(stdout);
        return CLI_EXIT_OK;
    }
    s_client_t client;
    memset(&client, 0, sizeof client);
    if (s_options(argc, argv, &client, NULL, NULL, NULL) != argc) {
        s_usage(stderr);
        s_client_free(&client);
        return CLI_EXIT_USAGE;
    }
    zsys_handler_set(NULL);
    int rc = s_request(&client, "head", NULL, 0);
    s_client_free(&client);
    return rc;
}
