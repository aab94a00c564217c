/*
 * cli_watch.c - `settle watch`: a provider's payment confirmations, as
 * the nodes publish them (the events socket, node.h), each one's signature
 * checked against the publishing node's registered public key.
 *
 * The events endpoint is the one the node's `head` answer names; the
 * subscription is to the topic "payment.NPI", and each message's topic and
 * provider line are checked again, so that a confirmation of another
 * provider is never printed.  The publishing node's key comes from the
 * `participant` verb, asked once per node.
 *
 * `--topic PREFIX` subscribes to any prefix instead and prints each message
 * raw (its topic and its body's first line, unchecked): for an auditor, or
 * to see what a node lets a key read.  Over CurveZMQ the node applies a
 * subscription only when the key's role may read the prefix (node.h,
 * "Events"); one refused simply receives nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <czmq.h>

#include "cli.h"
#include "settle/command.h"
#include "settle/sign.h"

#define SIGNERS_MAX 16

typedef struct {
    char id[COMMAND_PARTICIPANT_ID_SIZE];
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
} s_signer_t;

typedef struct {
    cli_client_t client;
    const char *npi;
    const char *prefix; /* --topic: raw messages */
    char topic[64];
    int allow_unsigned;
    s_signer_t signers[SIGNERS_MAX];
    unsigned signer_count;
} s_watch_t;

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int signal_number)
{
    (void)signal_number;
    s_interrupted = 1;
}

static const char s_usage[] =
    "usage: settle watch --provider NPI [--count N] [--timeout S] [--allow-unsigned]\n"
    "                    [--node ENDPOINT]\n"
    "       settle watch --topic PREFIX [--count N] [--timeout S] [--node ENDPOINT]\n";

static void s_help(void)
{
    printf("%s\nPrints the provider's payment confirmations as the node publishes them, one\n"
           "line each: \"payment ID NPI total=CENTS claims=N index=N node=ID verified\".\n"
           "Each confirmation's signature is checked against the publishing node's key\n"
           "as registered on the ledger; one that does not verify is reported and makes\n"
           "the exit code 1.  Only the provider's own confirmations are received.\n\n"
           "  --provider NPI     the provider's ten-digit NPI\n"
           "  --topic PREFIX     instead: every message whose topic starts with PREFIX,\n"
           "                     printed raw (\"TOPIC FIRST-LINE\"), signatures unchecked;\n"
           "                     the node sends only what the key's role may read\n"
           "  --count N          stop after N confirmations\n"
           "  --timeout S        stop after S seconds\n"
           "  --allow-unsigned   accept confirmations of a node that has no key\n"
           "%s\nexit codes: 0 done (--count reached, or the timeout or ^C without --count),\n"
           "1 a confirmation did not verify or --count was not reached in time,\n"
           "2 bad usage, 3 failure\n",
           s_usage, CLI_CLIENT_OPTIONS_HELP);
}

/* The events endpoint the node names in its head; -1 (printed) when none. */
static int s_events_endpoint(s_watch_t *w, char *endpoint, size_t size)
{
    char *text = NULL;
    int rc = cli_client_call(&w->client, "head", NULL, 0, &text);
    if (rc == CLI_EXIT_OK &&
        (cli_text_field(text, "events", endpoint, size) != 0 || strcmp(endpoint, "-") == 0)) {
        fprintf(stderr,
                "settle watch: %s publishes no events (its head names none: set "
                "`events` in its configuration)\n",
                cli_client_endpoint(&w->client));
        rc = CLI_EXIT_FAILURE;
    } else if (rc == CLI_EXIT_REJECTED) {
        fprintf(stderr, "settle watch: head: %s\n", text);
        rc = CLI_EXIT_FAILURE;
    }
    free(text);
    return rc;
}

/* The public key of node participant id, asked once; NULL (printed). */
static const s_signer_t *s_signer(s_watch_t *w, const char *id)
{
    for (unsigned i = 0; i < w->signer_count; i++)
        if (strcmp(w->signers[i].id, id) == 0)
            return &w->signers[i];
    if (w->signer_count == SIGNERS_MAX)
        return NULL;
    s_signer_t *signer = &w->signers[w->signer_count];
    char *text = NULL, hex[128], role[32];
    const char *arguments[] = {id};
    int rc = cli_client_text(&w->client, "participant", arguments, 1, &text);
    if (rc == CLI_EXIT_OK && cli_text_field(text, "public_key", hex, sizeof hex) == 0 &&
        sign_public_key_parse(hex, strlen(hex), signer->public_key) == SETTLE_OK &&
        cli_text_field(text, "role", role, sizeof role) == 0 && strcmp(role, "node") == 0) {
        snprintf(signer->id, sizeof signer->id, "%s", id);
        w->signer_count++;
        free(text);
        return signer;
    }
    fprintf(stderr, "settle watch: cannot learn the key of node %s: %s\n", id,
            rc == CLI_EXIT_OK                ? "not a registered node with a key"
            : text && cli_unknown_verb(text) ? "the node does not know the `participant` verb"
            : text                           ? text
                                             : "no answer");
    free(text);
    return NULL;
}

/* Checks and prints one [topic][body][signature]; 0 good, -1 bad. */
static int s_confirmation(s_watch_t *w, zmsg_t *message)
{
    char *topic = zmsg_popstr(message);
    zframe_t *body = zmsg_pop(message);
    zframe_t *signature = zmsg_pop(message);
    char *text = body ? strndup((const char *)zframe_data(body), zframe_size(body)) : NULL;
    char provider[32] = "", node[COMMAND_PARTICIPANT_ID_SIZE] = "", payment[128] = "-";
    char total[32] = "?", claims[32] = "?", index[32] = "?";
    const char *problem = NULL;
    if (!topic || !text || strcmp(topic, w->topic) != 0)
        problem = "not a confirmation of this provider (topic)";
    else if (cli_text_field(text, "provider", provider, sizeof provider) != 0 ||
             strcmp(provider, w->npi) != 0)
        problem = "names another provider";
    cli_text_field(text ? text : "", "payment", payment, sizeof payment);
    cli_text_field(text ? text : "", "total", total, sizeof total);
    cli_text_field(text ? text : "", "claims", claims, sizeof claims);
    cli_text_field(text ? text : "", "index", index, sizeof index);
    int has_node = cli_text_field(text ? text : "", "node", node, sizeof node) == 0;
    const char *verdict = "verified";
    if (!problem && (!signature || zframe_size(signature) == 0)) {
        verdict = "UNSIGNED";
        if (!w->allow_unsigned)
            problem = "unsigned (the node has no key; --allow-unsigned accepts it)";
    } else if (!problem) {
        const s_signer_t *signer = has_node ? s_signer(w, node) : NULL;
        if (!signer)
            problem = "no registered node key to check its signature with";
        else if (zframe_size(signature) != SIGN_SIGNATURE_SIZE ||
                 sign_verify(signer->public_key, zframe_data(body), zframe_size(body),
                             zframe_data(signature)) != SETTLE_OK)
            problem = "BAD SIGNATURE";
    }
    if (problem)
        fprintf(stderr, "settle watch: payment %s (topic %s): %s\n", payment, topic ? topic : "?",
                problem);
    else
        printf("payment %s %s total=%s claims=%s index=%s node=%s %s\n", payment, provider, total,
               claims, index, has_node ? node : "-", verdict);
    fflush(stdout);
    free(text);
    zstr_free(&topic);
    zframe_destroy(&body);
    zframe_destroy(&signature);
    return problem ? -1 : 0;
}

static long s_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Prints one message of a --topic watch: its topic and its body's first
 * line. */
static void s_raw(zmsg_t *message)
{
    char *topic = zmsg_popstr(message);
    zframe_t *body = zmsg_pop(message);
    size_t size = body ? zframe_size(body) : 0;
    const char *data = body ? (const char *)zframe_data(body) : "";
    const char *end = memchr(data, '\n', size);
    int line = (int)(end ? (size_t)(end - data) : size);
    printf("%s %.*s\n", topic ? topic : "?", line, data);
    fflush(stdout);
    zstr_free(&topic);
    zframe_destroy(&body);
}

/* Receives until count or the deadline (0: none) or ^C. */
static int s_receive(s_watch_t *w, zsock_t *sub, long count, long deadline_ms)
{
    long received = 0, bad = 0;
    while (!s_interrupted && (count == 0 || received < count)) {
        long wait_ms = 500;
        if (deadline_ms) {
            long left = deadline_ms - s_now_ms();
            if (left <= 0)
                break;
            wait_ms = left < wait_ms ? left : wait_ms;
        }
        zsock_set_rcvtimeo(sub, (int)wait_ms);
        zmsg_t *message = zmsg_recv(sub);
        if (!message)
            continue;
        if (w->prefix)
            s_raw(message);
        else if (s_confirmation(w, message) != 0)
            bad++;
        else
            received++;
        zmsg_destroy(&message);
    }
    fprintf(stderr, "settle watch: %ld %s%s, %ld refused\n", received,
            w->prefix ? "message" : "confirmation", received == 1 ? "" : "s", bad);
    if (bad || (count && received < count && !s_interrupted))
        return CLI_EXIT_REJECTED;
    return CLI_EXIT_OK;
}

static int s_valid_npi(const char *npi)
{
    if (strlen(npi) != 10)
        return 0;
    for (int i = 0; i < 10; i++)
        if (npi[i] < '0' || npi[i] > '9')
            return 0;
    return 1;
}

int cli_watch(int argc, char **argv)
{
    s_watch_t w;
    memset(&w, 0, sizeof w);
    cli_client_init(&w.client);
    long count = 0, timeout_s = 0;
    int usage = 0;
    for (int i = 1; i < argc && !usage; i++) {
        if (cli_is_help(argv[i])) {
            s_help();
            cli_client_free(&w.client);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--allow-unsigned") == 0) {
            w.allow_unsigned = 1;
            continue;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        char *end = NULL;
        long number = value ? strtol(value, &end, 10) : -1;
        int positive = value && end && !*end && number > 0;
        if (!value)
            usage = 1;
        else if (strcmp(argv[i - 1], "--provider") == 0)
            w.npi = value;
        else if (strcmp(argv[i - 1], "--topic") == 0 && strlen(value) < sizeof w.topic)
            w.prefix = value;
        else if (strcmp(argv[i - 1], "--count") == 0 && positive)
            count = number;
        else if (strcmp(argv[i - 1], "--timeout") == 0 && positive)
            timeout_s = number;
        else
            usage = cli_client_option(&w.client, argv[i - 1], value) != 1;
    }
    bool one_of = !w.npi != !w.prefix;
    if (usage || !one_of || (w.npi && !s_valid_npi(w.npi)) || cli_client_ready(&w.client) != 0) {
        fprintf(stderr, "settle watch: %s\n%s",
                w.npi && !s_valid_npi(w.npi)
                    ? "--provider takes a ten-digit NPI"
                    : "bad command line (a node and one of --provider or --topic needed)",
                s_usage);
        cli_client_free(&w.client);
        return CLI_EXIT_USAGE;
    }
    if (w.prefix)
        snprintf(w.topic, sizeof w.topic, "%s", w.prefix);
    else
        snprintf(w.topic, sizeof w.topic, "payment.%s", w.npi);
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    char endpoint[CLI_ENDPOINT_SIZE];
    long deadline_ms = timeout_s ? s_now_ms() + timeout_s * 1000 : 0;
    int rc = s_events_endpoint(&w, endpoint, sizeof endpoint);
    /* The events socket is the answering node's: CurveZMQ with its key when
     * its intake takes it. */
    zsock_t *sub = rc == CLI_EXIT_OK ? zsock_new(ZMQ_SUB) : NULL;
    if (sub && cli_client_secure(&w.client, sub, cli_client_endpoint(&w.client)) != 0) {
        zsock_destroy(&sub);
        rc = CLI_EXIT_FAILURE; /* printed */
    } else if (sub) {
        zsock_set_subscribe(sub, w.topic);
        if (zsock_connect(sub, "%s", endpoint) != 0)
            zsock_destroy(&sub);
    }
    if (rc == CLI_EXIT_OK && !sub) {
        fprintf(stderr, "settle watch: cannot subscribe to %s\n", endpoint);
        rc = CLI_EXIT_FAILURE;
    }
    if (sub) {
        fprintf(stderr, "settle watch: watching %s for %s\n", endpoint, w.topic);
        rc = s_receive(&w, sub, count, deadline_ms);
    }
    zsock_destroy(&sub);
    cli_client_free(&w.client);
    return rc;
}
