/*
 * cli_client.c - the client side of a node's intake (protocol in
 * include/settle/node.h), shared by every subcommand that talks to a node:
 * submit, head, status, pay, remit, watch, stats, intake and cluster.
 *
 * A call sends [request id] [verb] [argument frames...] on a fresh DEALER,
 * follows "redirect" answers to the leader, and on a timeout or "retry"
 * sends the very same bytes again (to the next endpoint given, when
 * several are), a bounded number of times: a command applied before its
 * answer was lost is then answered as a replayed sequence number, never
 * applied twice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "cli.h"
#include "settle/node.h"

#define RETRY_PAUSE_NS (100 * 1000 * 1000)

void cli_client_init(cli_client_t *client)
{
    memset(client, 0, sizeof *client);
    client->timeout_ms = CLI_TIMEOUT_MS_DEFAULT;
    client->tries = CLI_TRIES_DEFAULT;
}

void cli_client_free(cli_client_t *client)
{
    memset(client->curve_secret, 0, sizeof client->curve_secret);
    client->curve_loaded = 0;
    for (unsigned i = 0; i < client->endpoint_count; i++) {
        free(client->endpoints[i]);
        client->endpoints[i] = NULL;
    }
    client->endpoint_count = 0;
}

/* Splits "tcp://a,tcp://b" into the client's endpoints; -1 when the list
 * holds none or more than CLI_ENDPOINTS_MAX. */
static int s_endpoints(cli_client_t *client, const char *list)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            if (client->endpoint_count == CLI_ENDPOINTS_MAX || n >= CLI_ENDPOINT_SIZE)
                return -1;
            client->endpoints[client->endpoint_count++] = strndup(p, n);
        }
        p += n + (p[n] == ',');
    }
    return client->endpoint_count > 0 ? 0 : -1;
}

int cli_client_option(cli_client_t *client, const char *name, const char *value)
{
    if (strcmp(name, "--node") == 0)
        return s_endpoints(client, value) == 0 ? 1 : -1;
    if (strcmp(name, "--key") == 0) {
        cli_client_key(client, value);
        return 1;
    }
    if (strcmp(name, "--node-key") == 0) {
        uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
        if (sign_public_key_parse(value, strlen(value), public_key) != SETTLE_OK)
            return -1;
        snprintf(client->node_key, sizeof client->node_key, "%s", value);
        return 1;
    }
    if (strcmp(name, "--timeout-ms") == 0 || strcmp(name, "--tries") == 0) {
        char *end = NULL;
        errno = 0;
        long number = strtol(value, &end, 10);
        if (errno || !end || *end || number <= 0 || number > 3600 * 1000)
            return -1;
        *(name[2] == 't' && name[3] == 'i' ? &client->timeout_ms : &client->tries) = (int)number;
        return 1;
    }
    return 0;
}

int cli_client_ready(cli_client_t *client)
{
    const char *from_environment = getenv("SETTLE_NODE");
    if (client->endpoint_count == 0 && from_environment && from_environment[0])
        s_endpoints(client, from_environment);
    if (client->endpoint_count == 0)
        return -1;
    zsys_handler_set(NULL); /* our signals stay ours */
    return 0;
}

void cli_client_key(cli_client_t *client, const char *path)
{
    if (path && strcmp(path, client->key_path) != 0) {
        snprintf(client->key_path, sizeof client->key_path, "%s", path);
        client->curve_loaded = 0;
    }
}

void cli_client_inherit(cli_client_t *one, const cli_client_t *client)
{
    memcpy(one->key_path, client->key_path, sizeof one->key_path);
    memcpy(one->node_key, client->node_key, sizeof one->node_key);
    one->curve_loaded = client->curve_loaded;
    memcpy(one->curve_public, client->curve_public, sizeof one->curve_public);
    memcpy(one->curve_secret, client->curve_secret, sizeof one->curve_secret);
}

/* The Ed25519 public key of the node at intake_endpoint: --node-key, or
 * SETTLE_NODE_KEY_K where SETTLE_NODE_K is that endpoint.  0 when known. */
static int s_node_key(const cli_client_t *client, const char *endpoint,
                      uint8_t public_key[SIGN_PUBLIC_KEY_SIZE])
{
    const char *hex = client->node_key[0] ? client->node_key : NULL;
    for (unsigned k = 1; !hex && k <= NODE_PEERS_MAX; k++) {
        char name[32];
        snprintf(name, sizeof name, "SETTLE_NODE_%u", k);
        const char *node = getenv(name);
        snprintf(name, sizeof name, "SETTLE_NODE_KEY_%u", k);
        if (node && strcmp(node, endpoint) == 0)
            hex = getenv(name);
    }
    return hex && sign_public_key_parse(hex, strlen(hex), public_key) == SETTLE_OK ? 0 : -1;
}

/* The user's Curve key pair, from the key file, once. */
static int s_user_key(cli_client_t *client, const char *endpoint)
{
    if (client->curve_loaded)
        return 0;
    const char *path = client->key_path[0] ? client->key_path : getenv("SETTLE_KEY");
    if (!path || !path[0]) {
        fprintf(stderr,
                "settle: %s takes CurveZMQ (its key is known): your key is needed, "
                "--key FILE or SETTLE_KEY\n",
                endpoint);
        return -1;
    }
    sign_key_t *key = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = sign_key_load(path, &key, &error);
    if (rc == SETTLE_OK)
        rc = sign_key_curve(key, client->curve_public, client->curve_secret);
    sign_key_destroy(&key);
    if (rc != SETTLE_OK) {
        if (error.message[0])
            cli_print_error(&error);
        else
            fprintf(stderr, "settle: %s: cannot make its Curve key\n", path);
        return -1;
    }
    client->curve_loaded = 1;
    return 0;
}

int cli_client_secure(cli_client_t *client, void *socket, const char *intake_endpoint)
{
    uint8_t node_public[SIGN_PUBLIC_KEY_SIZE], server[SIGN_CURVE_KEY_SIZE];
    if (s_node_key(client, intake_endpoint, node_public) != 0)
        return 0; /* plain TCP */
    if (sign_public_key_to_curve(node_public, server) != SETTLE_OK) {
        fprintf(stderr, "settle: the key given for %s is not a usable public key\n",
                intake_endpoint);
        client->failed = 1;
        return -1;
    }
    if (s_user_key(client, intake_endpoint) != 0) {
        client->failed = 1;
        return -1;
    }
    zsock_set_curve_serverkey_bin(socket, server);
    zsock_set_curve_publickey_bin(socket, client->curve_public);
    zsock_set_curve_secretkey_bin(socket, client->curve_secret);
    return 0;
}

const char *cli_client_endpoint(const cli_client_t *client)
{
    return client->redirect[0] ? client->redirect : client->endpoints[client->current];
}

/* One exchange on a fresh DEALER: the reply, or NULL on timeout. */
static zmsg_t *s_exchange(cli_client_t *client, const char *verb, const cli_frame_t *frames,
                          unsigned frame_count, unsigned attempt)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return NULL;
    zsock_set_linger(dealer, 0);
    zsock_set_rcvtimeo(dealer, client->timeout_ms);
    zmsg_t *reply = NULL;
    if (cli_client_secure(client, dealer, cli_client_endpoint(client)) == 0 &&
        zsock_connect(dealer, "%s", cli_client_endpoint(client)) == 0) {
        zmsg_t *request = zmsg_new();
        zmsg_addstrf(request, "%ld-%u-%u", (long)getpid(), client->call_count, attempt);
        zmsg_addstr(request, verb);
        for (unsigned i = 0; i < frame_count; i++)
            zmsg_addmem(request, frames[i].data, frames[i].size);
        if (zmsg_send(&request, dealer) == 0)
            reply = zmsg_recv(dealer);
        zmsg_destroy(&request);
    }
    zsock_destroy(&dealer);
    return reply;
}

int cli_client_call(cli_client_t *client, const char *verb, const cli_frame_t *frames,
                    unsigned frame_count, char **text_out)
{
    *text_out = NULL;
    client->call_count++;
    client->resent = 0;
    int unsure = 0; /* an earlier copy may have been applied: no answer, or "retry" */
    for (int attempt = 0; attempt < client->tries; attempt++) {
        client->resent = unsure;
        zmsg_t *reply = s_exchange(client, verb, frames, frame_count, (unsigned)attempt);
        if (client->failed)
            return CLI_EXIT_FAILURE; /* printed: no try can succeed */
        if (!reply) {
            unsure = 1;
            client->redirect[0] = '\0';
            client->current = (client->current + 1) % client->endpoint_count;
            continue;
        }
        zframe_t *id = zmsg_pop(reply);
        char *status = zmsg_popstr(reply);
        char *text = zmsg_popstr(reply);
        int done = -1;
        if (status && text && strcmp(status, "ok") == 0) {
            done = CLI_EXIT_OK;
        } else if (status && text && strcmp(status, "error") == 0) {
            done = CLI_EXIT_REJECTED;
        } else if (status && text && strcmp(status, "redirect") == 0) {
            snprintf(client->redirect, sizeof client->redirect, "%s", text);
        } else {
            /* "retry": busy (never queued) is sure; a lost leadership is not */
            unsure |= !(text && strncmp(text, "busy", 4) == 0);
            client->redirect[0] = '\0';
            nanosleep(&(struct timespec){0, RETRY_PAUSE_NS}, NULL);
        }
        zframe_destroy(&id);
        zstr_free(&status);
        zmsg_destroy(&reply);
        if (done >= 0) {
            *text_out = text;
            return done;
        }
        zstr_free(&text);
    }
    if (!client->quiet)
        fprintf(stderr, "settle: %s: no answer from %s after %d tries of %d ms\n", verb,
                client->endpoints[0], client->tries, client->timeout_ms);
    return CLI_EXIT_FAILURE;
}

int cli_client_text(cli_client_t *client, const char *verb, const char *const *arguments,
                    unsigned argument_count, char **text_out)
{
    cli_frame_t frames[CLI_ARGUMENTS_MAX];
    if (argument_count > CLI_ARGUMENTS_MAX)
        return CLI_EXIT_USAGE;
    for (unsigned i = 0; i < argument_count; i++)
        frames[i] = (cli_frame_t){arguments[i], strlen(arguments[i])};
    return cli_client_call(client, verb, frames, argument_count, text_out);
}

int cli_unknown_verb(const char *error_text)
{
    return error_text && strstr(error_text, "unknown verb") != NULL;
}

/* ------------------------------------------------------------------------
 * Reading answers: "key value" lines
 * ------------------------------------------------------------------------ */

int cli_text_field(const char *text, const char *key, char *value_out, size_t size)
{
    size_t key_length = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        if (length > key_length && strncmp(line, key, key_length) == 0 && line[key_length] == ' ') {
            size_t n = length - key_length - 1;
            if (n >= size)
                return -1;
            memcpy(value_out, line + key_length + 1, n);
            value_out[n] = '\0';
            return 0;
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * The progress line: on a terminal only, overwritten in place
 * ------------------------------------------------------------------------ */

static int s_progress_shown;

void cli_progress(const char *format, ...)
{
    if (!isatty(STDERR_FILENO))
        return;
    va_list arguments;
    va_start(arguments, format);
    fputc('\r', stderr);
    vfprintf(stderr, format, arguments);
    fputs("\033[K", stderr);
    va_end(arguments);
    fflush(stderr);
    s_progress_shown = 1;
}

void cli_progress_end(void)
{
    if (s_progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        s_progress_shown = 0;
    }
}

/* ------------------------------------------------------------------------
 * Reading from the freshest node
 * ------------------------------------------------------------------------ */

void cli_client_prefer_freshest(cli_client_t *client)
{
    long long best = -1;
    for (unsigned i = 0; client->endpoint_count > 1 && i < client->endpoint_count; i++) {
        cli_client_t one;
        cli_client_init(&one);
        cli_client_inherit(&one, client);
        one.quiet = 1;
        one.tries = 1;
        one.timeout_ms = client->timeout_ms < 500 ? client->timeout_ms : 500;
        one.endpoints[0] = client->endpoints[i];
        one.endpoint_count = 1;
        char *text = NULL, value[32];
        if (cli_client_call(&one, "head", NULL, 0, &text) == CLI_EXIT_OK &&
            cli_text_field(text, "index", value, sizeof value) == 0 &&
            strtoll(value, NULL, 10) > best) {
            best = strtoll(value, NULL, 10);
            client->current = i;
        }
        free(text); /* one.endpoints[0] stays the client's */
        memset(one.curve_secret, 0, sizeof one.curve_secret);
    }
}
