/*
 * bench_cluster.c - the cluster benchmark's driver: signed claim batches
 * sent to a running node's intake (node.h) over ZeroMQ DEALER sockets, the
 * committed claims per second and each request's latency, from its first
 * send to its "ok" answer, in microseconds.  tests/bench/bench_cluster.sh
 * starts the cluster and runs the scenarios; this program runs one.
 *
 *   bench_cluster --node EP --key FILE --payer ID --claim FILE --sequence N
 *                 [--name NAME] [--requests N] [--claims-per-request N]
 *                 [--inflight N] [--sockets N] [--prefix P] [--timeout-s S]
 *   bench_cluster --node EP --stats [text|prometheus]
 *
 * Every command is built and signed before the clock starts, one sequence
 * number each, in the order they will be sent.  The requests are spread
 * over the sockets, at most inflight of them unanswered at a time (a
 * socket takes the next unsent request when one of its own is answered).
 * "retry" answers are sent again after a short backoff and counted ("busy"
 * ones too); answers "ok" with a rejected command and "error" answers are
 * counted apart, and their first reason printed.
 *
 * The starting sequence: the node is asked first (a command with sequence 0
 * is refused naming the signer's next one); when its answer does not say,
 * --sequence is used.  The last line printed is "next_sequence N".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include <czmq.h>

#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"
#include "settle/phi.h"
#include "settle/command.h"

#define SOCKETS_MAX      4096
#define BACKOFF_US_MIN   1000
#define BACKOFF_US_MAX   50000
#define REASON_SIZE      256
#define PROBE_TIMEOUT_MS 3000
#define IDLE_US_MAX      (10u * 1000000u) /* no answer for this long: the rest are lost */

typedef enum { S_UNSENT, S_IN_FLIGHT, S_BACKOFF, S_DONE } s_state_t;

typedef struct {
    uint8_t *bytes; /* the signed command */
    size_t size;
    uint64_t first_sent_us, resend_at_us;
    uint32_t retries;
    int socket;
    s_state_t state;
} s_request_t;

typedef struct {
    const char *node, *key, *payer, *claim, *prefix, *name, *stats;
    phi_key_t phi;                         /* the payer's, from KEY.phi beside --key */
    uint8_t provider[SIGN_CURVE_KEY_SIZE]; /* the billing provider's X25519 key */
    bool have_provider;
    long long sequence;
    unsigned requests, claims_per_request, inflight, sockets, timeout_s;
} s_options_t;

typedef struct {
    uint64_t committed_claims, ok, rejected, errors, retries, busy, unanswered;
    char first_rejection[REASON_SIZE], first_error[REASON_SIZE];
    uint64_t *latencies_us; /* one per "ok" answer */
    uint64_t latency_count;
    uint64_t started_us, finished_us;
} s_results_t;

static uint64_t s_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

static void s_die(const char *what, const char *why)
{
    fprintf(stderr, "bench_cluster: %s: %s\n", what, why);
    exit(1);
}

/* ------------------------------------------------------------------------
 * Building the commands
 * ------------------------------------------------------------------------ */

static int s_keep_claim(const claim_t *claim, void *context)
{
    return claim_copy(context, claim) == SETTLE_OK ? 1 : -1; /* the first claim only */
}

static claim_t *s_template(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        s_die(path, strerror(errno));
    static char text[1 << 20];
    size_t size = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    claim_t *claim = claim_new();
    settle_error_t error;
    settle_error_clear(&error);
    if (!claim || claim_json_read_text(text, size, path, s_keep_claim, claim, &error) != 1)
        s_die(path, error.message[0] ? error.message : "no claim read");
    return claim;
}

/* One signed batch command of count claims, ids PREFIX-REQUEST-K. */
static uint8_t *s_command(claim_t *claim, const s_options_t *o, const sign_key_t *key,
                          uint64_t sequence, unsigned request, size_t *size_out)
{
    unsigned count = o->claims_per_request;
    uint8_t **claims = settle_calloc(count, sizeof *claims);
    size_t *sizes = settle_calloc(count, sizeof *sizes);
    if (!claims || !sizes)
        s_die("claims", "out of memory");
    static claim_t *sealed;
    if (!sealed && !(sealed = claim_new()))
        s_die("claims", "out of memory");
    for (unsigned k = 0; k < count; k++) {
        char id[CLAIM_ID_SIZE];
        int length = snprintf(id, sizeof id, "%s-%u-%u", o->prefix, request, k);
        if (length < 0 || (size_t)length >= sizeof id ||
            CLAIM_SET_TEXT(claim->claim_id, id, (size_t)length) != SETTLE_OK)
            s_die("claim", "cannot name it (is --prefix short enough?)");
        /* Sealed as the payer's client seals it (phi.h): for its own id. */
        if (claim_copy(sealed, claim) != SETTLE_OK ||
            phi_protect_claim(&o->phi, o->have_provider ? o->provider : NULL, sealed, NULL) !=
                SETTLE_OK ||
            claim_encode(sealed, &claims[k], &sizes[k]) != SETTLE_OK)
            s_die("claim", "cannot protect and encode it");
    }
    command_t command;
    memset(&command, 0, sizeof command);
    uint8_t *payload = NULL;
    if (command_batch_encode(o->payer, (const uint8_t *const *)claims, sizes, count, &payload,
                             &command.payload_size) != SETTLE_OK)
        s_die("batch", "cannot encode");
    for (unsigned k = 0; k < count; k++)
        settle_free(claims[k]);
    settle_free(claims);
    settle_free(sizes);
    command.type = COMMAND_BATCH;
    snprintf(command.participant, sizeof command.participant, "%s", o->payer);
    command.sequence = sequence;
    command.payload = payload;
    settle_error_t error;
    settle_error_clear(&error);
    uint8_t *bytes = NULL;
    if (command_sign(&command, key, &error) != SETTLE_OK ||
        command_encode(&command, &bytes, size_out) != SETTLE_OK)
        s_die("command", error.message);
    settle_free(payload);
    return bytes;
}

/* ------------------------------------------------------------------------
 * Talking to the node
 * ------------------------------------------------------------------------ */

static void *s_dealer(const char *endpoint)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        s_die("socket", zmq_strerror(zmq_errno()));
    zsock_set_linger(dealer, 0);
    zsock_set_sndhwm(dealer, 0);
    zsock_set_rcvhwm(dealer, 0);
    if (zsock_connect(dealer, "%s", endpoint) != 0)
        s_die(endpoint, "cannot connect");
    return dealer;
}

static void s_send(void *socket, const void *id, size_t id_size, const char *verb,
                   const uint8_t *argument, size_t argument_size)
{
    void *handle = zsock_resolve(socket);
    zmq_send(handle, id, id_size, ZMQ_SNDMORE);
    zmq_send(handle, verb, strlen(verb), argument ? ZMQ_SNDMORE : 0);
    if (argument)
        zmq_send(handle, argument, argument_size, 0);
}

/* One exchange, waiting at most timeout_ms: status and text (zstr_free). */
static int s_ask(zsock_t *socket, const char *verb, const uint8_t *argument, size_t size,
                 char **status_out, char **text_out)
{
    s_send(socket, "probe", 5, verb, argument, size);
    zsock_set_rcvtimeo(socket, PROBE_TIMEOUT_MS);
    zmsg_t *reply = zmsg_recv(socket);
    zsock_set_rcvtimeo(socket, -1);
    if (!reply)
        return -1;
    zframe_t *id = zmsg_pop(reply);
    zframe_destroy(&id);
    *status_out = zmsg_popstr(reply);
    *text_out = zmsg_popstr(reply);
    zmsg_destroy(&reply);
    return *status_out && *text_out ? 0 : -1;
}

/* The billing provider's X25519 key (`participant npi NPI`), as a
 * payer's client seals each claim for it too (phi.h); false when the node
 * does not say. */
static bool s_provider_key(zsock_t *socket, const char *npi, uint8_t key_out[SIGN_CURVE_KEY_SIZE])
{
    void *handle = zsock_resolve(socket);
    zmq_send(handle, "probe", 5, ZMQ_SNDMORE);
    zmq_send(handle, "participant", 11, ZMQ_SNDMORE);
    zmq_send(handle, "npi", 3, ZMQ_SNDMORE);
    zmq_send(handle, npi, strlen(npi), 0);
    zsock_set_rcvtimeo(socket, PROBE_TIMEOUT_MS);
    zmsg_t *reply = zmsg_recv(socket);
    zsock_set_rcvtimeo(socket, -1);
    zframe_t *id = reply ? zmsg_pop(reply) : NULL;
    zframe_destroy(&id);
    char *status = reply ? zmsg_popstr(reply) : NULL, *text = reply ? zmsg_popstr(reply) : NULL;
    zmsg_destroy(&reply);
    const char *at = text ? strstr(text, "public_key ") : NULL;
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    bool found =
        status && strcmp(status, "ok") == 0 && at &&
        sign_public_key_parse(at + 11, 2 * SIGN_PUBLIC_KEY_SIZE, public_key) == SETTLE_OK &&
        sign_public_key_to_curve(public_key, key_out) == SETTLE_OK;
    zstr_free(&status);
    zstr_free(&text);
    return found;
}

/* The signer's next sequence number as the node sees it (the
 * `participant` query); -1 when it does not say. */
static long long s_probe_sequence(zsock_t *socket, claim_t *claim, const s_options_t *o,
                                  const sign_key_t *key)
{
    (void)claim;
    (void)key;
    char *status = NULL, *text = NULL;
    long long next = -1;
    if (s_ask(socket, "participant", (const uint8_t *)o->payer, strlen(o->payer), &status, &text) ==
        0) {
        const char *at = strstr(text, "next_sequence ");
        if (strcmp(status, "ok") == 0 && at)
            next = strtoll(at + 14, NULL, 10);
    }
    zstr_free(&status);
    zstr_free(&text);
    return next;
}

/* ------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------ */

typedef struct {
    const s_options_t *o;
    s_request_t *requests;
    zsock_t **sockets;
    unsigned *socket_inflight, per_socket;
    unsigned next_unsent, done, waiting; /* waiting: in backoff */
    s_results_t *r;
} s_run_t;

static void s_send_request(s_run_t *run, unsigned index, int socket)
{
    s_request_t *q = &run->requests[index];
    uint32_t id = index;
    q->socket = socket;
    q->state = S_IN_FLIGHT;
    if (q->first_sent_us == 0)
        q->first_sent_us = s_now_us();
    s_send(run->sockets[socket], &id, sizeof id, "submit", q->bytes, q->size);
}

/* Fills a socket up to its share of the requests in flight, in order. */
static void s_fill(s_run_t *run, int socket)
{
    while (run->socket_inflight[socket] < run->per_socket && run->next_unsent < run->o->requests) {
        run->socket_inflight[socket]++;
        s_send_request(run, run->next_unsent++, socket);
    }
}

static void s_note(char *first, const char *text)
{
    if (!first[0])
        snprintf(first, REASON_SIZE, "%.*s", (int)strcspn(text, "\n"), text);
}

static void s_answered(s_run_t *run, zmsg_t *reply)
{
    zframe_t *id = zmsg_pop(reply);
    char *status = zmsg_popstr(reply);
    char *text = zmsg_popstr(reply);
    uint32_t index = 0;
    s_request_t *q = NULL;
    if (id && zframe_size(id) == sizeof index) {
        memcpy(&index, zframe_data(id), sizeof index);
        if (index < run->o->requests && run->requests[index].state == S_IN_FLIGHT)
            q = &run->requests[index];
    }
    s_results_t *r = run->r;
    uint64_t now = s_now_us();
    if (q && status && text && strcmp(status, "retry") == 0) {
        r->retries++;
        r->busy += strncmp(text, "busy", 4) == 0;
        uint64_t backoff = (uint64_t)BACKOFF_US_MIN << (q->retries < 6 ? q->retries : 6);
        q->retries++;
        q->resend_at_us = now + (backoff < BACKOFF_US_MAX ? backoff : BACKOFF_US_MAX);
        q->state = S_BACKOFF;
        run->waiting++;
    } else if (q) {
        if (status && text && strcmp(status, "ok") == 0) {
            if (strstr(text, " rejected ")) {
                r->rejected++;
                s_note(r->first_rejection, strstr(text, "command "));
            } else {
                r->ok++;
                r->committed_claims += run->o->claims_per_request;
            }
            r->latencies_us[r->latency_count++] = now - q->first_sent_us;
        } else {
            r->errors++;
            s_note(r->first_error, text ? text : "(no text)");
        }
        q->state = S_DONE;
        run->done++;
        r->finished_us = now;
        run->socket_inflight[q->socket]--;
        s_fill(run, q->socket);
    }
    zframe_destroy(&id);
    zstr_free(&status);
    zstr_free(&text);
}

/* Resends what waited out its backoff; returns the poll timeout (ms). */
static long s_resend_due(s_run_t *run)
{
    uint64_t now = s_now_us(), soonest = UINT64_MAX;
    for (unsigned i = 0; i < run->next_unsent; i++) {
        s_request_t *q = &run->requests[i];
        if (q->state != S_BACKOFF)
            continue;
        if (q->resend_at_us <= now) {
            run->waiting--;
            s_send_request(run, i, q->socket);
        } else if (q->resend_at_us < soonest)
            soonest = q->resend_at_us;
    }
    if (soonest == UINT64_MAX)
        return 100;
    return (long)((soonest - now) / 1000u);
}

/* Receives every reply the socket holds.  Sending (a reply frees a slot,
 * s_fill sends the next request) can consume the wake-up of a reply that
 * came meanwhile, so the socket's events are asked again before leaving. */
static void s_drain(s_run_t *run, unsigned s)
{
    void *socket = zsock_resolve(run->sockets[s]);
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            int events = 0;
            size_t size = sizeof events;
            if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN))
                continue;
            return;
        }
        zmsg_t *reply = zmsg_new();
        for (;;) {
            zmsg_addmem(reply, zmq_msg_data(&part), zmq_msg_size(&part));
            bool more = zmq_msg_more(&part);
            zmq_msg_close(&part);
            if (!more)
                break;
            zmq_msg_init(&part);
            zmq_msg_recv(&part, socket, 0);
        }
        s_answered(run, reply);
        zmsg_destroy(&reply);
    }
}

/* Waits on every socket's ZMQ_FD with epoll, so that each wake-up costs
 * the sockets that have something, not all of them (zmq_poll asks each of
 * a thousand sockets every time); a sweep of all sockets after a quiet
 * wait catches any wake-up a send consumed. */
static void s_run(s_run_t *run, uint64_t deadline_us)
{
    unsigned count = run->o->sockets;
    int poller = epoll_create1(0);
    if (poller < 0)
        s_die("epoll", strerror(errno));
    for (unsigned s = 0; s < count; s++) {
        int fd;
        size_t size = sizeof fd;
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = s};
        if (zmq_getsockopt(zsock_resolve(run->sockets[s]), ZMQ_FD, &fd, &size) != 0 ||
            epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event) != 0)
            s_die("epoll", strerror(errno));
    }
    struct epoll_event *ready = settle_calloc(count, sizeof *ready);
    if (!ready)
        s_die("memory", "out of memory");
    run->r->started_us = s_now_us();
    for (unsigned s = 0; s < count; s++)
        s_fill(run, (int)s);
    uint64_t progress_us = run->r->started_us;
    unsigned done_before = 0;
    bool sweep = true;
    while (run->done < run->o->requests && s_now_us() < deadline_us) {
        uint64_t now = s_now_us();
        if (run->done != done_before) {
            done_before = run->done;
            progress_us = now;
        } else if (now - progress_us > IDLE_US_MAX) {
            break;
        }
        if (sweep)
            for (unsigned s = 0; s < count; s++)
                s_drain(run, s);
        long timeout_ms = run->waiting ? s_resend_due(run) : 100;
        int n = epoll_wait(poller, ready, (int)count, (int)(timeout_ms < 100 ? timeout_ms : 100));
        if (n < 0 && errno != EINTR)
            s_die("epoll", strerror(errno));
        for (int i = 0; i < n; i++)
            s_drain(run, ready[i].data.u32);
        sweep = n <= 0 || run->waiting; /* quiet, or resends went out */
    }
    settle_free(ready);
    close(poller);
    run->r->unanswered = run->o->requests - run->done;
    for (unsigned i = 0, shown = 0; i < run->next_unsent && shown < 5; i++)
        if (run->requests[i].state == S_IN_FLIGHT) {
            printf("unanswered: request %u (the %u-th sent)\n", i, i + 1);
            shown++;
        }
}

/* ------------------------------------------------------------------------
 * Figures
 * ------------------------------------------------------------------------ */

static int s_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t s_quantile(const uint64_t *sorted, uint64_t count, unsigned per_mille)
{
    if (count == 0)
        return 0;
    uint64_t rank = (count * per_mille + 999) / 1000;
    return sorted[rank ? rank - 1 : 0];
}

/* The driver's own CPU time so far, in milliseconds. */
static unsigned long long s_cpu_ms(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return 0;
    return (unsigned long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000u +
           (unsigned long long)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000u;
}

static void s_report(const s_options_t *o, s_results_t *r, uint64_t first_sequence,
                     unsigned long long cpu_ms)
{
    qsort(r->latencies_us, r->latency_count, sizeof *r->latencies_us, s_compare);
    uint64_t elapsed_us = r->finished_us > r->started_us ? r->finished_us - r->started_us : 1;
    unsigned long long per_s = (unsigned long long)(r->committed_claims * 1000000u / elapsed_us);
    printf("scenario %s: %u requests of %u claims, %u in flight over %u sockets, "
           "sequences %llu..%llu\n",
           o->name, o->requests, o->claims_per_request, o->inflight, o->sockets,
           (unsigned long long)first_sequence,
           (unsigned long long)(first_sequence + o->requests - 1));
    printf("RESULT name=%s claims_per_s=%llu p50_us=%llu p99_us=%llu max_us=%llu "
           "committed_claims=%llu ok=%llu rejected=%llu errors=%llu retries=%llu busy=%llu "
           "unanswered=%llu elapsed_us=%llu driver_cpu_ms=%llu\n",
           o->name, per_s, (unsigned long long)s_quantile(r->latencies_us, r->latency_count, 500),
           (unsigned long long)s_quantile(r->latencies_us, r->latency_count, 990),
           (unsigned long long)s_quantile(r->latencies_us, r->latency_count, 1000),
           (unsigned long long)r->committed_claims, (unsigned long long)r->ok,
           (unsigned long long)r->rejected, (unsigned long long)r->errors,
           (unsigned long long)r->retries, (unsigned long long)r->busy,
           (unsigned long long)r->unanswered, (unsigned long long)elapsed_us, cpu_ms);
    if (r->first_rejection[0])
        printf("first rejection: %s\n", r->first_rejection);
    if (r->first_error[0])
        printf("first error: %s\n", r->first_error);
}

/* ------------------------------------------------------------------------
 * Options and main
 * ------------------------------------------------------------------------ */

static void s_usage(void)
{
    fprintf(stderr,
            "usage: bench_cluster --node EP --key FILE --payer ID --claim FILE --sequence N\n"
            "                     [--name NAME] [--requests N] [--claims-per-request N]\n"
            "                     [--inflight N] [--sockets N] [--prefix P] [--timeout-s S]\n"
            "       bench_cluster --node EP --stats [text|prometheus]\n"
            "(tests/bench/bench_cluster.sh starts a cluster and runs the scenarios)\n");
    exit(2);
}

static unsigned s_number(const char *text, unsigned low, unsigned high)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || *end || value < low || value > high)
        s_usage();
    return (unsigned)value;
}

static void s_options(int argc, char **argv, s_options_t *o)
{
    *o = (s_options_t){.payer = "ACMEHP",
                       .prefix = "BC",
                       .name = "run",
                       .sequence = -1,
                       .requests = 1000,
                       .claims_per_request = 1,
                       .inflight = 1,
                       .sockets = 1,
                       .timeout_s = 120};
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(name, "--stats") == 0) {
            o->stats = value && value[0] != '-' ? argv[++i] : "text";
            continue;
        }
        if (!value)
            s_usage();
        i++;
        if (strcmp(name, "--node") == 0)
            o->node = value;
        else if (strcmp(name, "--key") == 0)
            o->key = value;
        else if (strcmp(name, "--payer") == 0)
            o->payer = value;
        else if (strcmp(name, "--claim") == 0)
            o->claim = value;
        else if (strcmp(name, "--prefix") == 0)
            o->prefix = value;
        else if (strcmp(name, "--name") == 0)
            o->name = value;
        else if (strcmp(name, "--sequence") == 0)
            o->sequence = s_number(value, 0, 2000000000);
        else if (strcmp(name, "--requests") == 0)
            o->requests = s_number(value, 1, 10000000);
        else if (strcmp(name, "--claims-per-request") == 0)
            o->claims_per_request = s_number(value, 1, COMMAND_BATCH_CLAIMS_MAX);
        else if (strcmp(name, "--inflight") == 0)
            o->inflight = s_number(value, 1, 1000000);
        else if (strcmp(name, "--sockets") == 0)
            o->sockets = s_number(value, 1, SOCKETS_MAX);
        else if (strcmp(name, "--timeout-s") == 0)
            o->timeout_s = s_number(value, 1, 3600);
        else
            s_usage();
    }
    if (!o->node || (!o->stats && (!o->key || !o->claim || o->sequence < 0)))
        s_usage();
    if (o->sockets > o->inflight)
        o->sockets = o->inflight;
}

/* Room for every socket: descriptors (two or so per socket) and ZeroMQ's
 * own cap on sockets per context. */
static void s_limits(unsigned sockets)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    zsys_set_max_sockets(sockets * 2 + 64);
}

static int s_stats(const s_options_t *o)
{
    zsock_t *socket = s_dealer(o->node);
    char *status = NULL, *text = NULL;
    int rc = s_ask(socket, "stats", (const uint8_t *)o->stats, strlen(o->stats), &status, &text);
    if (rc == 0)
        printf("%s", text);
    else
        fprintf(stderr, "bench_cluster: stats: no answer from %s\n", o->node);
    zstr_free(&status);
    zstr_free(&text);
    zsock_destroy(&socket);
    return rc == 0 ? 0 : 1;
}

/* Every socket connected and answering before the clock starts. */
static void s_warm_up(zsock_t **sockets, unsigned count)
{
    for (unsigned s = 0; s < count; s++)
        s_send(sockets[s], "warm", 4, "head", NULL, 0);
    for (unsigned s = 0; s < count; s++) {
        zsock_set_rcvtimeo(sockets[s], PROBE_TIMEOUT_MS);
        zmsg_t *reply = zmsg_recv(sockets[s]);
        if (!reply)
            s_die("warm-up", "a socket had no answer to head");
        zmsg_destroy(&reply);
        zsock_set_rcvtimeo(sockets[s], -1);
    }
}

int main(int argc, char **argv)
{
    s_options_t o;
    s_options(argc, argv, &o);
    zsys_handler_set(NULL);
    s_limits(o.sockets);
    if (o.stats)
        return s_stats(&o);
    settle_error_t error;
    settle_error_clear(&error);
    sign_key_t *key = NULL;
    if (sign_key_load(o.key, &key, &error) != SETTLE_OK)
        s_die(o.key, error.message);
    /* The payer's PHI secret beside its key (KEY.phi for KEY.key), as
     * `settle submit` finds it. */
    char phi_path[4096];
    size_t key_length = strlen(o.key);
    snprintf(phi_path, sizeof phi_path, "%.*s.phi",
             (int)(key_length > 4 ? key_length - 4 : key_length), o.key);
    if (phi_key_load(phi_path, &o.phi, &error) != SETTLE_OK)
        s_die(phi_path, error.message);
    claim_t *claim = s_template(o.claim);
    zsock_t **sockets = settle_calloc(o.sockets, sizeof *sockets);
    unsigned *inflight = settle_calloc(o.sockets, sizeof *inflight);
    s_request_t *requests = settle_calloc(o.requests, sizeof *requests);
    s_results_t results = {.latencies_us = settle_calloc(o.requests, sizeof(uint64_t))};
    if (!sockets || !inflight || !requests || !results.latencies_us)
        s_die("memory", "out of memory");
    for (unsigned s = 0; s < o.sockets; s++) {
        sockets[s] = s_dealer(o.node);
    }
    s_warm_up(sockets, o.sockets);
    long long probed = s_probe_sequence(sockets[0], claim, &o, key);
    o.have_provider = s_provider_key(sockets[0], claim->billing_npi, o.provider);
    printf("claims sealed for the payer%s\n", o.have_provider ? " and the billing provider" : "");
    uint64_t first = probed >= 0 ? (uint64_t)probed : (uint64_t)o.sequence;
    printf("starting sequence %llu (%s)\n", (unsigned long long)first,
           probed >= 0 ? "the node's" : "--sequence");
    for (unsigned i = 0; i < o.requests; i++)
        requests[i].bytes = s_command(claim, &o, key, first + i, i, &requests[i].size);
    s_run_t run = {.o = &o,
                   .requests = requests,
                   .sockets = sockets,
                   .socket_inflight = inflight,
                   .per_socket = (o.inflight + o.sockets - 1) / o.sockets,
                   .r = &results};
    unsigned long long cpu_before_ms = s_cpu_ms();
    s_run(&run, s_now_us() + (uint64_t)o.timeout_s * 1000000u);
    s_report(&o, &results, first, s_cpu_ms() - cpu_before_ms);
    printf("next_sequence %llu\n", (unsigned long long)(first + run.next_unsent));
    for (unsigned i = 0; i < o.requests; i++)
        settle_free(requests[i].bytes);
    for (unsigned s = 0; s < o.sockets; s++)
        zsock_destroy(&sockets[s]);
    settle_free(results.latencies_us);
    settle_free(requests);
    settle_free(inflight);
    settle_free(sockets);
    claim_destroy(&claim);
    sign_key_destroy(&key);
    return results.unanswered ? 1 : 0;
}
