/*
 * intake_probe.c - the intake robustness probe (test_intake_robustness.sh
 * runs it against a node started with queue_length 4 and message_size_max
 * 65536): malformed, unknown, garbage, oversized and flooding requests,
 * each answered with the right status; the request id, message size and
 * frame count limits each at the limit (taken in) and one past (refused);
 * and the node still serving after
 * them: head answers, a valid submit is decided, stats counts the busy
 * answers, and its Prometheus form is valid text exposition.
 *
 *   intake_probe ENDPOINT KEY-FILE CLAIM-FILE
 *
 * Prints one "ok: ..." line per check; on the first failed check prints
 * "FAIL: ..." and exits 1.  Every wait is bounded (an alarm ends it all
 * after PROBE_SECONDS_MAX).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"
#include "settle/phi.h"
#include "settle/command.h"
#include "settle/node.h"

#define PROBE_SECONDS_MAX   50
#define REPLY_TIMEOUT_MS    5000
#define FLOOD_SOCKETS       8
#define FLOOD_PER_SOCKET    250
#define FLOOD_ROUNDS_MAX    200
#define MESSAGE_SIZE_MAX    65536 /* as the test configures the node */
#define REQUEST_ID_TOO_LONG 65    /* node.h: 1..64 bytes */

static const char *s_endpoint;

static void s_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("FAIL: ", stdout);
    vprintf(format, args);
    fputs("\n", stdout);
    va_end(args);
    exit(1);
}

static zsock_t *s_dealer(void)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer || zsock_connect(dealer, "%s", s_endpoint) != 0)
        s_fail("cannot connect to %s", s_endpoint);
    zsock_set_linger(dealer, 0);
    zsock_set_rcvtimeo(dealer, REPLY_TIMEOUT_MS);
    zsock_set_sndhwm(dealer, 0);
    zsock_set_rcvhwm(dealer, 0);
    return dealer;
}

/* A reply's three frames; *status and *text are zstr_free'd by the caller. */
typedef struct {
    char *id, *status, *text;
} s_reply_t;

static void s_reply_free(s_reply_t *r)
{
    zstr_free(&r->id);
    zstr_free(&r->status);
    zstr_free(&r->text);
}

/* Receives one reply (bounded); false on timeout or a malformed reply. */
static bool s_recv(zsock_t *socket, s_reply_t *out)
{
    zmsg_t *reply = zmsg_recv(socket);
    if (!reply)
        return false;
    bool shaped = zmsg_size(reply) == 3;
    out->id = zmsg_popstr(reply);
    out->status = zmsg_popstr(reply);
    out->text = zmsg_popstr(reply);
    zmsg_destroy(&reply);
    return shaped && out->id && out->status && out->text;
}

/* Sends the given frames (NULL-terminated pairs of data and size). */
static void s_send(zsock_t *socket, int frames, ...)
{
    zmsg_t *request = zmsg_new();
    va_list args;
    va_start(args, frames);
    for (int i = 0; i < frames; i++) {
        const void *data = va_arg(args, const void *);
        size_t size = va_arg(args, size_t);
        zmsg_addmem(request, data, size);
    }
    va_end(args);
    if (zmsg_send(&request, socket) != 0)
        s_fail("cannot send");
}

/* One request and its reply, which must have status; returns the text. */
static char *s_expect(zsock_t *socket, const char *what, const char *status, const char *id)
{
    s_reply_t r = {0};
    if (!s_recv(socket, &r))
        s_fail("%s: no answer within %d ms", what, REPLY_TIMEOUT_MS);
    if (strcmp(r.status, status) != 0 || strcmp(r.id, id) != 0)
        s_fail("%s: answered [%s] [%s] [%s], expected id [%s] status %s", what, r.id, r.status,
               r.text, id, status);
    printf("ok: %s: %s %.*s\n", what, r.status, (int)strcspn(r.text, "\n"), r.text);
    char *text = r.text;
    r.text = NULL;
    s_reply_free(&r);
    return text;
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static int s_keep_claim(const claim_t *claim, void *context)
{
    return claim_copy(context, claim) == SETTLE_OK ? 1 : -1;
}

/* A signed batch of one copy of the claim file's claim, with id claim_id. */
static uint8_t *s_command(const char *key_path, const char *claim_path, const char *claim_id,
                          uint64_t sequence, size_t *size_out)
{
    char *text = NULL;
    size_t text_size = 0;
    FILE *file = fopen(claim_path, "rb");
    if (!file)
        s_fail("cannot read %s", claim_path);
    text = settle_malloc(1 << 20);
    text_size = fread(text, 1, (1 << 20) - 1, file);
    fclose(file);
    settle_error_t error;
    settle_error_clear(&error);
    claim_t *claim = claim_new();
    sign_key_t *key = NULL;
    /* The payer's PHI secret beside its key (KEY.phi for KEY.key), as
     * `settle submit` finds it: the ledger takes only protected claims. */
    char phi_path[4096];
    snprintf(phi_path, sizeof phi_path, "%.*s.phi", (int)(strlen(key_path) - 4), key_path);
    phi_key_t phi;
    if (claim_json_read_text(text, text_size, claim_path, s_keep_claim, claim, &error) != 1 ||
        CLAIM_SET_TEXT(claim->claim_id, claim_id, strlen(claim_id)) != SETTLE_OK ||
        phi_key_load(phi_path, &phi, &error) != SETTLE_OK ||
        phi_protect_claim(&phi, NULL, claim, &error) != SETTLE_OK ||
        sign_key_load(key_path, &key, &error) != SETTLE_OK)
        s_fail("cannot build a command: %s", error.message);
    uint8_t *encoded = NULL, *payload = NULL, *bytes = NULL;
    size_t encoded_size = 0;
    command_t command = {.type = COMMAND_BATCH, .sequence = sequence};
    snprintf(command.participant, sizeof command.participant, "%s", claim->payer_id);
    if (claim_encode(claim, &encoded, &encoded_size) != SETTLE_OK ||
        command_batch_encode(claim->payer_id, (const uint8_t *const *)&encoded, &encoded_size, 1,
                             &payload, &command.payload_size) != SETTLE_OK)
        s_fail("cannot encode the claim");
    command.payload = payload;
    if (command_sign(&command, key, &error) != SETTLE_OK ||
        command_encode(&command, &bytes, size_out) != SETTLE_OK)
        s_fail("cannot sign: %s", error.message);
    settle_free(payload);
    settle_free(encoded);
    settle_free(text);
    sign_key_destroy(&key);
    claim_destroy(&claim);
    return bytes;
}

/* ------------------------------------------------------------------------
 * The checks
 * ------------------------------------------------------------------------ */

static void s_malformed(zsock_t *socket)
{
    s_send(socket, 1, "no-verb", (size_t)7);
    free(s_expect(socket, "a request with no verb frame", "error", "no-verb"));
    s_send(socket, 2, "", (size_t)0, "head", (size_t)4);
    free(s_expect(socket, "an empty request id", "error", ""));
    char id[REQUEST_ID_TOO_LONG];
    memset(id, 'x', sizeof id);
    s_send(socket, 2, id, sizeof id, "head", (size_t)4);
    zmsg_t *reply = zmsg_recv(socket);
    if (!reply || zmsg_size(reply) != 3)
        s_fail("a 65-byte request id: no answer");
    zmsg_first(reply);
    char *status = zframe_strdup(zmsg_next(reply));
    if (strcmp(status, "error") != 0)
        s_fail("a 65-byte request id: answered %s", status);
    printf("ok: a request id of 65 bytes: error\n");
    free(status);
    zmsg_destroy(&reply);
    s_send(socket, 2, "unknown", (size_t)7, "frobnicate", (size_t)10);
    char *text = s_expect(socket, "an unknown verb", "error", "unknown");
    if (!strstr(text, "unknown verb"))
        s_fail("an unknown verb: the text does not say so: %s", text);
    free(text);
    s_send(socket, 3, "garbage", (size_t)7, "submit", (size_t)6, "\x01\x02garbage\xff", (size_t)10);
    text = s_expect(socket, "a submit of garbage bytes", "error", "garbage");
    if (strncmp(text, "command 0:", 10) != 0)
        s_fail("garbage: the text does not name the command: %s", text);
    free(text);
    s_send(socket, 2, "empty-submit", (size_t)12, "submit", (size_t)6);
    free(s_expect(socket, "a submit with no command", "error", "empty-submit"));
}

static void s_oversized(zsock_t *socket)
{
    size_t size = MESSAGE_SIZE_MAX + 4096;
    uint8_t *big = calloc(1, 2 * MESSAGE_SIZE_MAX + 4096);
    s_send(socket, 3, "big", (size_t)3, "submit", (size_t)6, big, size);
    char *text = s_expect(socket, "a request past message_size_max", "error", "big");
    if (!strstr(text, "too large"))
        s_fail("oversized: the text does not say so: %s", text);
    free(text);
    /* Past twice the limit ZeroMQ itself drops the connection: no answer,
     * and the node must carry on. */
    zsock_t *other = s_dealer();
    zsock_set_rcvtimeo(other, 500);
    s_send(other, 3, "huge", (size_t)4, "submit", (size_t)6, big,
           2 * (size_t)MESSAGE_SIZE_MAX + 4096);
    s_reply_t r = {0};
    if (s_recv(other, &r))
        printf("ok: a request past twice message_size_max: answered %s\n", r.status);
    else
        printf("ok: a request past twice message_size_max: the connection was dropped\n");
    s_reply_free(&r);
    zsock_destroy(&other);
    free(big);
}

/* A submit of count commands of command_size garbage bytes each. */
static void s_send_submit(zsock_t *socket, const char *id, size_t count, size_t command_size)
{
    zmsg_t *request = zmsg_new();
    uint8_t *garbage = calloc(1, command_size ? command_size : 1);
    zmsg_addstr(request, id);
    zmsg_addstr(request, "submit");
    for (size_t i = 0; i < count; i++)
        zmsg_addmem(request, garbage, command_size);
    free(garbage);
    if (zmsg_send(&request, socket) != 0)
        s_fail("cannot send");
}

/* The intake's limits at the limit and one past it: the request id (64
 * bytes), the request's size (message_size_max bytes, request id, verb and
 * arguments) and its frame count (request id, verb and at most
 * COMMAND_ENTRY_COMMANDS_MAX commands).  At the limit a request is taken
 * in (garbage commands: "error" naming command 0); one past, it is
 * refused as "too large" before anything reads it. */
static void s_limits_by_one(zsock_t *socket)
{
    char id[NODE_REQUEST_ID_SIZE_MAX];
    memset(id, 'i', sizeof id);
    s_send(socket, 2, id, sizeof id, "head", (size_t)4);
    zmsg_t *reply = zmsg_recv(socket);
    if (!reply || zmsg_size(reply) != 3)
        s_fail("a 64-byte request id: no answer");
    zmsg_first(reply);
    char *status = zframe_strdup(zmsg_next(reply));
    if (strcmp(status, "ok") != 0)
        s_fail("a 64-byte request id: answered %s", status);
    printf("ok: a request id of 64 bytes: ok\n");
    free(status);
    zmsg_destroy(&reply);

    /* "m0" and "submit" are 8 bytes of the message. */
    s_send_submit(socket, "m0", 1, MESSAGE_SIZE_MAX - 8);
    char *text = s_expect(socket, "a request of exactly message_size_max", "error", "m0");
    if (strstr(text, "too large") || strncmp(text, "command 0:", 10) != 0)
        s_fail("a request of exactly message_size_max: %s", text);
    free(text);
    s_send_submit(socket, "m1", 1, MESSAGE_SIZE_MAX - 7);
    text = s_expect(socket, "a request one byte past message_size_max", "error", "m1");
    if (!strstr(text, "too large"))
        s_fail("a request one byte past message_size_max: %s", text);
    free(text);
    printf("ok: message_size_max bytes: taken in; one more: too large\n");

    s_send_submit(socket, "f0", COMMAND_ENTRY_COMMANDS_MAX, 1);
    text = s_expect(socket, "a submit of COMMAND_ENTRY_COMMANDS_MAX commands", "error", "f0");
    if (strstr(text, "too large") || strncmp(text, "command 0:", 10) != 0)
        s_fail("a submit of %d commands: %s", COMMAND_ENTRY_COMMANDS_MAX, text);
    free(text);
    s_send_submit(socket, "f1", COMMAND_ENTRY_COMMANDS_MAX + 1, 1);
    text = s_expect(socket, "a submit of one command more", "error", "f1");
    if (!strstr(text, "too large") || !strstr(text, "in 4099 frames") ||
        !strstr(text, "4098 frames)"))
        s_fail("a submit of %d commands: %s", COMMAND_ENTRY_COMMANDS_MAX + 1, text);
    free(text);
    printf("ok: %d commands in a submit: taken in; one more: too large\n",
           COMMAND_ENTRY_COMMANDS_MAX);
}

/* Floods the tiny queue with replayed (sequence 0) submits from several
 * sockets: each is answered "error" (a replay) or "retry" "busy: ..."; the
 * busy ones are sent again until each is answered "error".  Returns the
 * signer's next sequence number, read from the replay errors. */
static void s_flood(const uint8_t *replay, size_t replay_size)
{
    zsock_t *sockets[FLOOD_SOCKETS];
    for (int s = 0; s < FLOOD_SOCKETS; s++)
        sockets[s] = s_dealer();
    uint64_t busy = 0, errors = 0;
    unsigned pending[FLOOD_SOCKETS];
    for (int s = 0; s < FLOOD_SOCKETS; s++) {
        pending[s] = FLOOD_PER_SOCKET;
        for (int i = 0; i < FLOOD_PER_SOCKET; i++)
            s_send(sockets[s], 3, "flood", (size_t)5, "submit", (size_t)6, replay, replay_size);
    }
    for (int round = 0; round < FLOOD_ROUNDS_MAX; round++) {
        unsigned left = 0, resend[FLOOD_SOCKETS] = {0};
        for (int s = 0; s < FLOOD_SOCKETS; s++) {
            for (; pending[s] > 0; pending[s]--) {
                s_reply_t r = {0};
                if (!s_recv(sockets[s], &r))
                    s_fail("flood: %u requests on socket %d never answered", pending[s], s);
                if (strcmp(r.status, "retry") == 0 && strncmp(r.text, "busy", 4) == 0) {
                    busy++;
                    resend[s]++;
                } else if (strcmp(r.status, "error") == 0 && strstr(r.text, "replayed sequence ")) {
                    errors++;
                } else {
                    s_fail("flood: answered [%s] [%s]", r.status, r.text);
                }
                s_reply_free(&r);
            }
            left += resend[s];
        }
        if (left == 0)
            break;
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
        for (int s = 0; s < FLOOD_SOCKETS; s++)
            for (pending[s] = 0; pending[s] < resend[s]; pending[s]++)
                s_send(sockets[s], 3, "flood", (size_t)5, "submit", (size_t)6, replay, replay_size);
        if (round == FLOOD_ROUNDS_MAX - 1)
            s_fail("flood: still busy after %d rounds", FLOOD_ROUNDS_MAX);
    }
    for (int s = 0; s < FLOOD_SOCKETS; s++)
        zsock_destroy(&sockets[s]);
    if (busy == 0)
        s_fail("flood: %d requests, none answered busy", FLOOD_SOCKETS * FLOOD_PER_SOCKET);
    if (errors != FLOOD_SOCKETS * FLOOD_PER_SOCKET)
        s_fail("flood: %llu replay errors, expected %d", (unsigned long long)errors,
               FLOOD_SOCKETS * FLOOD_PER_SOCKET);
    printf("ok: a flood of %d submits into queue_length 4: %llu answered \"retry\" \"busy...\","
           " each sent again until answered; all %llu refused as replays\n",
           FLOOD_SOCKETS * FLOOD_PER_SOCKET, (unsigned long long)busy, (unsigned long long)errors);
}

/* The payer's next sequence number, from the `participant` query. */
static uint64_t s_next_sequence(zsock_t *socket, const char *payer)
{
    s_send(socket, 3, "p0", (size_t)2, "participant", (size_t)11, payer, strlen(payer));
    char *text = s_expect(socket, "participant", "ok", "p0");
    const char *at = strstr(text, "next_sequence ");
    if (!at)
        s_fail("participant: no next_sequence in [%s]", text);
    uint64_t next = strtoull(at + 14, NULL, 10);
    free(text);
    return next;
}

/* The stats counter name's value in "name value" text; -1 when absent. */
static long long s_counter(const char *text, const char *name)
{
    size_t length = strlen(name);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, length) == 0 && line[length] == ' ')
            return strtoll(line + length + 1, NULL, 10);
    return -1;
}

/* Prometheus text exposition: # HELP / # TYPE lines, then samples
 * "settle_NAME{labels} VALUE" whose family has a TYPE line before them. */
static void s_check_prometheus(const char *text)
{
    char types[64][96];
    int type_count = 0, samples = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[96] = "", kind[32] = "";
        if (strncmp(line, "# TYPE ", 7) == 0) {
            if (sscanf(line + 7, "%95s %31s", name, kind) != 2 || strncmp(name, "settle_", 7) ||
                (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "histogram") &&
                 strcmp(kind, "summary") && strcmp(kind, "untyped")) ||
                type_count == 64)
                s_fail("prometheus: bad TYPE line: %s", line);
            snprintf(types[type_count++], sizeof types[0], "%s", name);
            continue;
        }
        if (strncmp(line, "# HELP settle_", 14) == 0)
            continue;
        size_t length = strcspn(line, "{ ");
        if (line[0] == '#' || strncmp(line, "settle_", 7) != 0 || length >= sizeof name)
            s_fail("prometheus: bad line: %s", line);
        const char *rest = line + length;
        if (*rest == '{') {
            rest = strchr(rest, '}');
            if (!rest)
                s_fail("prometheus: unclosed labels: %s", line);
            rest++;
        }
        char *end = NULL;
        if (*rest != ' ' || (strtod(rest + 1, &end), end == rest + 1) || (*end && *end != ' '))
            s_fail("prometheus: bad value: %s", line);
        bool typed = false;
        for (int t = 0; t < type_count && !typed; t++) {
            size_t n = strlen(types[t]);
            typed = strncmp(line, types[t], n) == 0 &&
                    (line[n] == '{' || line[n] == ' ' || strncmp(line + n, "_bucket", 7) == 0 ||
                     strncmp(line + n, "_sum", 4) == 0 || strncmp(line + n, "_count", 6) == 0);
        }
        if (!typed)
            s_fail("prometheus: a sample without a TYPE line before it: %s", line);
        samples++;
    }
    free(copy);
    if (type_count == 0 || samples == 0)
        s_fail("prometheus: %d TYPE lines, %d samples", type_count, samples);
    printf("ok: stats prometheus: %d metric families, %d samples, all settle_*\n", type_count,
           samples);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: intake_probe ENDPOINT KEY-FILE CLAIM-FILE\n");
        return 2;
    }
    alarm(PROBE_SECONDS_MAX);
    zsys_handler_set(NULL);
    s_endpoint = argv[1];
    zsock_t *socket = s_dealer();
    s_send(socket, 2, "h0", (size_t)2, "head", (size_t)4);
    free(s_expect(socket, "head before", "ok", "h0"));

    s_malformed(socket);
    s_oversized(socket);
    s_limits_by_one(socket);
    size_t replay_size = 0;
    uint8_t *replay = s_command(argv[2], argv[3], "PROBE-REPLAY", 0, &replay_size);
    s_flood(replay, replay_size);
    uint64_t next = s_next_sequence(socket, "ACMEHP");

    s_send(socket, 2, "h1", (size_t)2, "head", (size_t)4);
    free(s_expect(socket, "head after", "ok", "h1"));
    char claim_id[32];
    snprintf(claim_id, sizeof claim_id, "PROBE-%ld", (long)getpid());
    size_t size = 0;
    uint8_t *valid = s_command(argv[2], argv[3], claim_id, next, &size);
    s_send(socket, 3, "valid", (size_t)5, "submit", (size_t)6, valid, size);
    char *text = s_expect(socket, "a valid submit after all that", "ok", "valid");
    char expected[64];
    snprintf(expected, sizeof expected, "claim %s ", claim_id);
    if (!strstr(text, "command 0 batch accepted") || !strstr(text, expected))
        s_fail("the valid submit was not decided: %s", text);
    free(text);

    s_send(socket, 2, "stats", (size_t)5, "stats", (size_t)5);
    text = s_expect(socket, "stats", "ok", "stats");
    long long busy = s_counter(text, "busy");
    if (busy <= 0)
        s_fail("stats: busy is %lld after the flood", busy);
    printf("ok: stats: busy %lld, requests %lld, errors %lld\n", busy, s_counter(text, "requests"),
           s_counter(text, "errors"));
    free(text);
    s_send(socket, 3, "prom", (size_t)4, "stats", (size_t)5, "prometheus", (size_t)10);
    text = s_expect(socket, "stats prometheus", "ok", "prom");
    s_check_prometheus(text);
    if (!strstr(text, "settle_busy"))
        s_fail("prometheus: no settle_busy");
    free(text);
    settle_free(replay);
    settle_free(valid);
    zsock_destroy(&socket);
    printf("ok: the intake answered every probe and kept serving\n");
    return 0;
}
