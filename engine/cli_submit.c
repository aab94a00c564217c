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
#include "settle/hash.h"

#define CLAIMS_MAX COMMAND_BATCH_CLAIMS_MAX

/* How long a quiet question (a node that may be down) waits per try. */
#define QUICK_TIMEOUT_MS 500
/* ------------------------------------------------------------------------
 * Building the command
 * ------------------------------------------------------------------------ */

typedef struct {
    uint8_t *claims[CLAIMS_MAX];
    size_t sizes[CLAIMS_MAX];
    uint32_t count;
    cli_phi_t *phi;   /* protects each claim before it is encoded */
    const char *file; /* the file being read, for messages */
} s_batch_t;

static int s_claim(const claim_t *claim, void *context)
{
    s_batch_t *batch = context;
    if (batch->count == CLAIMS_MAX) {
        fprintf(stderr, "settle submit: more than %u claims\n", CLAIMS_MAX);
        return -1;
    }
    if (cli_phi_claim(batch->phi, batch->file, claim, &claim) != 0)
        return -1;
    if (claim_encode(claim, &batch->claims[batch->count], &batch->sizes[batch->count]) != SETTLE_OK)
        return -1;
    batch->count++;
    return 0;
}

/* The public key in path's file (64 hex digits, as settle keygen writes
 * FILE.pub); an exit code, the reason printed. */
static int s_read_public(const char *path, uint8_t public_key_out[SIGN_PUBLIC_KEY_SIZE])
{
    char *text = NULL;
    size_t size = 0;
    if (cli_read_file(path, &text, &size) != 0)
        return CLI_EXIT_FAILURE;
    while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == '\r' || text[size - 1] == ' '))
        size--;
    int rc = sign_public_key_parse(text, size, public_key_out);
    settle_free(text);
    if (rc != SETTLE_OK) {
        fprintf(stderr, "settle submit: %s: not a public key (64 hex digits)\n", path);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Loads the private key at path (NEW.key; for NEW.key.pub, the NEW.key
 * beside it, which must match it); an exit code, the reason printed. */
static int s_load_new_key(const char *path, sign_key_t **key_out)
{
    char private_path[CLI_KEY_PATH_SIZE];
    size_t length = strlen(path);
    bool public_given = length > 4 && strcmp(path + length - 4, ".pub") == 0;
    if (length >= sizeof private_path) {
        fprintf(stderr, "settle submit: rotate: %s: the file name is too long\n", path);
        return CLI_EXIT_USAGE;
    }
    snprintf(private_path, sizeof private_path, "%.*s", (int)(public_given ? length - 4 : length),
             path);
    settle_error_t error;
    settle_error_clear(&error);
    if (sign_key_load(private_path, key_out, &error) != SETTLE_OK) {
        cli_print_error(&error);
        fprintf(stderr,
                "settle submit: rotate needs the new private key (%s), to sign the proof that "
                "the signer holds it\n",
                private_path);
        return CLI_EXIT_USAGE;
    }
    uint8_t given[SIGN_PUBLIC_KEY_SIZE], derived[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(*key_out, derived);
    int rc = public_given ? s_read_public(path, given) : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK && public_given && memcmp(given, derived, sizeof given) != 0) {
        fprintf(stderr, "settle submit: rotate: %s is not the public key of %s\n", path,
                private_path);
        rc = CLI_EXIT_USAGE;
    }
    if (rc != CLI_EXIT_OK)
        sign_key_destroy(key_out);
    return rc;
}

/*
 * A rotate payload: the signer, the new key in new_path and the new key's
 * proof of possession (command.h), which binds the signer, its key in
 * force (key_path's) and the rotate's sequence number.
 */
static int s_rotate_payload(const char *signer, const char *key_path, const char *new_path,
                            uint64_t sequence, uint8_t **payload_out, size_t *size_out)
{
    sign_key_t *old_key = NULL, *new_key = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    if (sign_key_load(key_path, &old_key, &error) != SETTLE_OK) {
        cli_print_error(&error);
        return CLI_EXIT_FAILURE;
    }
    uint8_t old_public[SIGN_PUBLIC_KEY_SIZE];
    sign_key_public(old_key, old_public);
    sign_key_destroy(&old_key);
    int rc = s_load_new_key(new_path, &new_key);
    if (rc != CLI_EXIT_OK)
        return rc;
    command_rotate_t value;
    memset(&value, 0, sizeof value);
    snprintf(value.participant, sizeof value.participant, "%s", signer);
    if (command_rotate_prove(&value, new_key, old_public, sequence, &error) != SETTLE_OK) {
        cli_print_error(&error);
        rc = CLI_EXIT_FAILURE;
    } else if (command_rotate_encode(&value, payload_out, size_out) != SETTLE_OK) {
        fprintf(stderr, "settle submit: rotate: cannot encode the payload\n");
        rc = CLI_EXIT_FAILURE;
    }
    sign_key_destroy(&new_key);
    return rc;
}

/* Who signs a command, with which key file and sequence number, for which
 * payer. */
typedef struct {
    const char *signer, *payer, *key_path;
    uint64_t sequence;
    cli_phi_t *phi;
} s_signing_t;

/* The payload of kind (deploy, enroll, fund, pay, rotate, revoke, or claim
 * files). */
static int s_payload(const s_signing_t *signing, int argc, char **argv, uint8_t *type_out,
                     uint8_t **payload_out, size_t *size_out)
{
    const char *kind = argv[0], *payer = signing->payer;
    if (strcmp(kind, "rotate") == 0 && argc == 2) {
        *type_out = COMMAND_ROTATE;
        return s_rotate_payload(signing->signer, signing->key_path, argv[1], signing->sequence,
                                payload_out, size_out);
    }
    if (strcmp(kind, "revoke") == 0 && argc == 2) {
        command_revoke_t value;
        memset(&value, 0, sizeof value);
        if (strlen(argv[1]) >= sizeof value.participant)
            return CLI_EXIT_USAGE;
        snprintf(value.participant, sizeof value.participant, "%s", argv[1]);
        *type_out = COMMAND_REVOKE;
        return command_revoke_encode(&value, payload_out, size_out) == SETTLE_OK ? 0
                                                                                 : CLI_EXIT_USAGE;
    }
    if ((strcmp(kind, "deploy") == 0 || strcmp(kind, "enroll") == 0) && argc == 2) {
        char *text = NULL;
        size_t size = 0;
        if (cli_read_file(argv[1], &text, &size) != 0)
            return CLI_EXIT_FAILURE;
        if (kind[0] == 'e') {
            char *protected_text = NULL;
            size_t protected_size = 0;
            int protected_rc = cli_phi_enrollment(signing->phi, argv[1], payer, text, size,
                                                  &protected_text, &protected_size);
            settle_free(text);
            if (protected_rc != 0)
                return CLI_EXIT_REJECTED;
            text = protected_text;
            size = protected_size;
        }
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
        return command_fund_encode(&value, payload_out, size_out) == SETTLE_OK ? 0
                                                                               : CLI_EXIT_FAILURE;
    }
    if (strcmp(kind, "pay") == 0 && argc == 1) {
        command_pay_t value;
        memset(&value, 0, sizeof value);
        snprintf(value.payer, sizeof value.payer, "%s", payer);
        *type_out = COMMAND_PAY;
        return command_pay_encode(&value, payload_out, size_out) == SETTLE_OK ? 0
                                                                              : CLI_EXIT_FAILURE;
    }
    static s_batch_t batch;
    cli_claim_sink_t sink = {s_claim, NULL};
    int rc = 0;
    batch.phi = signing->phi;
    for (int i = 0; i < argc && rc == 0; i++) {
        unsigned rejected = 0;
        batch.file = argv[i];
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

int cli_sign_command(const char *key_path, const char *signer, uint64_t sequence, uint8_t type,
                     const uint8_t *payload, size_t payload_size, uint8_t **bytes_out,
                     size_t *size_out)
{
    command_t command;
    memset(&command, 0, sizeof command);
    command.type = type;
    snprintf(command.participant, sizeof command.participant, "%s", signer);
    command.sequence = sequence;
    command.payload = payload;
    command.payload_size = payload_size;
    settle_error_t error;
    settle_error_clear(&error);
    sign_key_t *key = NULL;
    int rc = CLI_EXIT_OK;
    if (sign_key_load(key_path, &key, &error) != SETTLE_OK ||
        command_sign(&command, key, &error) != SETTLE_OK ||
        command_encode(&command, bytes_out, size_out) != SETTLE_OK) {
        if (!error.message[0])
            settle_error_set(&error, SETTLE_ERR_INVALID, "%s: cannot sign the command", key_path);
        cli_print_error(&error);
        rc = CLI_EXIT_FAILURE;
    }
    sign_key_destroy(&key);
    return rc;
}

/* The public key in key_path's file, as hex; -1 (printed) when unreadable. */
static int s_public_hex(const char *key_path, char hex[SIGN_PUBLIC_KEY_HEX_SIZE])
{
    settle_error_t error;
    settle_error_clear(&error);
    sign_key_t *key = NULL;
    if (sign_key_load(key_path, &key, &error) != SETTLE_OK) {
        cli_print_error(&error);
        return -1;
    }
    sign_key_public_hex(key, hex);
    sign_key_destroy(&key);
    return 0;
}

/* The participant answer of one endpoint (tries bounded); the caller's
 * client is untouched.  Exit code as cli_client_call. */
static int s_participant_at(const cli_client_t *client, const char *endpoint, const char *signer,
                            int quiet, char **text_out)
{
    cli_client_t one;
    cli_client_init(&one);
    cli_client_inherit(&one, client);
    one.quiet = quiet;
    one.timeout_ms =
        quiet && client->timeout_ms > QUICK_TIMEOUT_MS ? QUICK_TIMEOUT_MS : client->timeout_ms;
    one.tries = quiet ? 2 : client->tries;
    one.endpoints[0] = strdup(endpoint);
    one.endpoint_count = one.endpoints[0] ? 1 : 0;
    const char *arguments[] = {signer};
    int rc = one.endpoint_count ? cli_client_text(&one, "participant", arguments, 1, text_out)
                                : CLI_EXIT_FAILURE;
    cli_client_free(&one);
    return rc;
}

/* Reads next_sequence and checks public_key of one answer; 0, or an exit
 * code (printed). */
static int s_participant_answer(const char *text, const char *signer, const char *key_path,
                                uint64_t *next_out)
{
    char value[128], mine[SIGN_PUBLIC_KEY_HEX_SIZE];
    char *end = NULL;
    if (cli_text_field(text, "next_sequence", value, sizeof value) == 0)
        *next_out = strtoull(value, &end, 10);
    if (!end || *end) {
        fprintf(stderr, "settle: participant %s: the node's answer has no next_sequence\n", signer);
        return CLI_EXIT_FAILURE;
    }
    if (key_path && cli_text_field(text, "public_key", value, sizeof value) == 0) {
        if (s_public_hex(key_path, mine) != 0)
            return CLI_EXIT_FAILURE;
        if (strcmp(value, mine) != 0) {
            fprintf(stderr, "settle: %s is not the key registered for %s (it is %.16s...)\n",
                    key_path, signer, value);
            return CLI_EXIT_REJECTED;
        }
    }
    return CLI_EXIT_OK;
}

/* Points client->redirect at the leader's intake, as the first node that
 * answers `head` names it, so that the leader is asked too. */
static void s_learn_leader(cli_client_t *client)
{
    int quiet = client->quiet, tries = client->tries, timeout_ms = client->timeout_ms;
    client->quiet = 1; /* one short try per node: a node that is down costs little */
    client->tries = (int)client->endpoint_count;
    client->timeout_ms = timeout_ms < QUICK_TIMEOUT_MS ? timeout_ms : QUICK_TIMEOUT_MS;
    char *text = NULL, intake[CLI_ENDPOINT_SIZE];
    if (cli_client_text(client, "head", NULL, 0, &text) == CLI_EXIT_OK &&
        cli_text_field(text, "leader_intake", intake, sizeof intake) == 0 &&
        strcmp(intake, "-") != 0)
        snprintf(client->redirect, sizeof client->redirect, "%s", intake);
    free(text);
    client->quiet = quiet;
    client->tries = tries;
    client->timeout_ms = timeout_ms;
}

/* The leader's answer alone, when a leader is known and answers: it has
 * applied every command it acknowledged.  CLI_EXIT_FAILURE otherwise. */
static int s_leader_sequence(cli_client_t *client, const char *signer, const char *key_path,
                             uint64_t *sequence_out)
{
    if (!client->redirect[0])
        return CLI_EXIT_FAILURE;
    char *text = NULL;
    int rc = s_participant_at(client, client->redirect, signer, 1, &text);
    if (rc == CLI_EXIT_OK)
        rc = s_participant_answer(text, signer, key_path, sequence_out);
    free(text);
    return rc;
}

/*
 * Asks the leader (as a node names it) and every endpoint given, and takes
 * the highest next_sequence: a follower may not have applied the signer's
 * last command yet, while the leader, which answered it, has.  So give the
 * leader or every node (as cluster.env's SETTLE_NODE does).
 */
int cli_next_sequence(cli_client_t *client, const char *signer, const char *key_path,
                      uint64_t *sequence_out)
{
    unsigned answered = 0;
    uint64_t highest = 0;
    int rc = CLI_EXIT_OK;
    s_learn_leader(client);
    if (s_leader_sequence(client, signer, key_path, sequence_out) == CLI_EXIT_OK)
        return CLI_EXIT_OK;
    for (unsigned i = 0; i <= client->endpoint_count && rc == CLI_EXIT_OK; i++) {
        const char *endpoint = i < client->endpoint_count ? client->endpoints[i] : client->redirect;
        if (!endpoint[0])
            continue;
        /* The last endpoint alone: asked with every try, and loudly. */
        int quiet = answered > 0 || i + 1 < client->endpoint_count;
        char *text = NULL;
        int asked = s_participant_at(client, endpoint, signer, quiet, &text);
        uint64_t next = 0;
        if (asked == CLI_EXIT_REJECTED && cli_unknown_verb(text)) {
            fprintf(stderr,
                    "settle: %s does not know the `participant` verb (a node older than this "
                    "client), so it cannot tell %s's next sequence number: give --sequence N\n",
                    endpoint, signer);
            rc = CLI_EXIT_FAILURE;
        } else if (asked == CLI_EXIT_REJECTED) {
            fprintf(stderr, "settle: participant %s: %s\n", signer, text);
            rc = CLI_EXIT_REJECTED;
        } else if (asked == CLI_EXIT_OK &&
                   (rc = s_participant_answer(text, signer, key_path, &next)) == CLI_EXIT_OK) {
            highest = answered++ == 0 || next > highest ? next : highest;
        }
        free(text);
    }
    if (rc == CLI_EXIT_OK && answered == 0) {
        fprintf(stderr, "settle: participant %s: no node answered\n", signer);
        rc = CLI_EXIT_FAILURE;
    }
    if (rc == CLI_EXIT_OK)
        *sequence_out = highest;
    return rc;
}

/* A claim line's status, as a name when the node gave a number. */
static const char *s_status_name(const char *status)
{
    char *end = NULL;
    long number = strtol(status, &end, 10);
    if (end && *end == '\0' && end != status && number >= 0 && number <= INTERP_STATUS_REJECTED)
        return interp_status_name((interp_status_t)number);
    return status;
}

/* True when line[0..length) holds word. */
static int s_has_word(const char *line, size_t length, const char *word)
{
    size_t word_length = strlen(word);
    for (size_t i = 0; i + word_length <= length; i++)
        if (memcmp(line + i, word, word_length) == 0)
            return 1;
    return 0;
}

int cli_print_answer(const char *text, FILE *out)
{
    int rc = CLI_EXIT_OK;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        int length = (int)(end ? (size_t)(end - line) : strlen(line));
        char id[128], status[32];
        int rest = 0;
        if (strncmp(line, "claim ", 6) == 0 &&
            sscanf(line, "claim %127s %31s %n", id, status, &rest) == 2 && rest > 0 &&
            rest <= length) {
            const char *name = s_status_name(status);
            fprintf(out, "claim %s %s %.*s\n", id, name, length - rest, line + rest);
            if (strcmp(name, "rejected") == 0)
                rc = CLI_EXIT_REJECTED;
        } else {
            fprintf(out, "%.*s\n", length, line);
            if (strncmp(line, "command ", 8) == 0 && s_has_word(line, (size_t)length, " rejected"))
                rc = CLI_EXIT_REJECTED;
        }
        line = end ? end + 1 : NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * The subcommands
 * ------------------------------------------------------------------------ */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: settle submit [--node ENDPOINT[,...]] --key FILE [--as ID] [--payer ID]\n"
            "                     [--phi FILE] [--sequence N] [--timeout-ms MS] [--tries N] WHAT\n"
            "       settle head [--node ENDPOINT[,...]] [--timeout-ms MS] [--tries N]\n\n"
            "WHAT is CLAIM-FILE... (X12 837, FHIR or JSON claims, one signed batch),\n"
            "deploy CONTRACT.yaml, enroll MEMBERS.yaml, fund CENTS, pay,\n"
            "rotate NEW.key (the signer's key becomes NEW.key's from the next command on;\n"
            "the private key is needed: it signs the proof that the signer holds it, and\n"
            "NEW.key.pub stands for the NEW.key beside it) or\n"
            "revoke ID (the signer itself; a node may revoke anyone).\n\n"
            "  --as ID        the signer's participant id (default: --payer, else the key\n"
            "                 file's name without .key, so ACMEHP.key signs as ACMEHP)\n"
            "  --payer ID     the payer the command is for (default: --as)\n"
            "  --sequence N   the signer's sequence number (default: ask the node with the\n"
            "                 `participant` verb, which also checks the key is the one\n"
            "                 registered for the signer)\n" CLI_PHI_HELP CLI_CLIENT_OPTIONS_HELP
            "\nFollows redirects to the leader and resends the same bytes on a timeout;\n"
            "prints the node's answer, one fact a line (each command, each claim's\n"
            "decision, each payment).\n"
            "exit codes: 0 accepted, 1 a command or claim rejected, 2 bad usage, 3 no answer\n");
}

typedef struct {
    const char *key, *signer, *payer, *phi;
    long long sequence; /* -1: ask the node */
} s_submit_options_t;

/* Options before the first positional argument; its index, or -1. */
static int s_options(int argc, char **argv, cli_client_t *client, s_submit_options_t *options)
{
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        int taken = cli_client_option(client, name, value);
        if (taken < 0) {
            fprintf(stderr, "settle: bad value \"%s\" for %s\n", value, name);
            return -1;
        }
        if (taken)
            continue;
        if (!options) {
            fprintf(stderr, "settle: unknown option %s\n", name);
            return -1;
        }
        char *end = NULL;
        if (strcmp(name, "--key") == 0) {
            options->key = value;
        } else if (strcmp(name, "--payer") == 0) {
            options->payer = value;
        } else if (strcmp(name, "--as") == 0) {
            options->signer = value;
        } else if (strcmp(name, "--phi") == 0) {
            options->phi = value;
        } else if (strcmp(name, "--sequence") == 0) {
            errno = 0;
            options->sequence = strtoll(value, &end, 10);
            if (errno || *end || options->sequence < 0) {
                fprintf(stderr, "settle: --sequence takes a number from 0, not \"%s\"\n", value);
                return -1;
            }
        } else {
            fprintf(stderr, "settle: unknown option %s\n", name);
            return -1;
        }
    }
    if (i < argc && strncmp(argv[i], "--", 2) == 0) {
        fprintf(stderr, "settle: %s wants a value\n", argv[i]);
        return -1;
    }
    if (options && !options->key && client->key_path[0])
        options->key = client->key_path; /* --key: the client took it first */
    if (cli_client_ready(client) != 0) {
        fprintf(stderr, "settle: no node given: --node ENDPOINT or SETTLE_NODE\n");
        return -1;
    }
    return i;
}

int cli_signer_from_key(const char *key, char *out, size_t size)
{
    const char *slash = strrchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    size_t length = strlen(name);
    if (length <= 4 || strcmp(name + length - 4, ".key") != 0 || length - 4 >= size)
        return -1;
    memcpy(out, name, length - 4);
    out[length - 4] = '\0';
    return 0;
}

/* Whether every claim of the batch payload is on the ledger with these
 * very contents (the `claim` query's content_hash). */
static bool s_batch_on_ledger(cli_client_t *client, const char *payer, const uint8_t *payload,
                              size_t size)
{
    command_batch_t batch;
    settle_error_t error;
    if (command_batch_decode(payload, size, &batch, &error) != SETTLE_OK)
        return false;
    cli_client_prefer_freshest(client);
    const uint8_t *bytes = NULL;
    size_t cursor = 0, length = 0;
    bool all = true;
    while (all && command_batch_next(&batch, &cursor, &bytes, &length)) {
        claim_t *claim = NULL;
        uint8_t digest[HASH_SHA256_SIZE];
        char hex[2 * HASH_SHA256_SIZE + 1], stored[2 * HASH_SHA256_SIZE + 8], *text = NULL;
        all = claim_decode(bytes, length, &claim, &error) == SETTLE_OK &&
              hash_sha256(bytes, length, digest) == SETTLE_OK;
        if (all) {
            hash_to_hex(digest, sizeof digest, hex);
            const char *arguments[] = {claim->claim_id, payer};
            all = cli_client_text(client, "claim", arguments, 2, &text) == CLI_EXIT_OK &&
                  cli_text_field(text, "content_hash", stored, sizeof stored) == 0 &&
                  strcmp(stored, hex) == 0;
        }
        free(text);
        claim_destroy(&claim);
    }
    return all;
}

/*
 * A copy sent again after one that went unanswered was refused as a
 * replay: the first copy may have been applied, or another command of the
 * same signer may hold that sequence number.  A batch is confirmed by its
 * claims' content hashes on the ledger (exit 0); anything else cannot be
 * told apart (exit 3, with what to check).
 */
static int s_replay_verdict(cli_client_t *client, const char *payer, uint8_t type,
                            const uint8_t *payload, size_t size, const char *text)
{
    if (type == COMMAND_BATCH && s_batch_on_ledger(client, payer, payload, size)) {
        fprintf(stderr,
                "settle: submit: applied: its answer was lost, the copy sent again was refused "
                "as a replay (%s), and every claim is on the ledger as sent\n",
                text);
        return CLI_EXIT_OK;
    }
    fprintf(stderr,
            "settle: submit: unknown: an earlier copy went unanswered and the copy sent again "
            "was refused as a replay (%s); check with `settle status` or `settle head` before "
            "sending it again with a new sequence number\n",
            text);
    return CLI_EXIT_FAILURE;
}

int cli_submit(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        s_usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_client_t client;
    cli_client_init(&client);
    s_submit_options_t options = {NULL, NULL, NULL, NULL, -1};
    char from_key[COMMAND_PARTICIPANT_ID_SIZE];
    int first = s_options(argc, argv, &client, &options);
    if (first >= 0 && options.key && !options.signer && !options.payer &&
        cli_signer_from_key(options.key, from_key, sizeof from_key) == 0)
        options.signer = from_key;
    if (!options.signer)
        options.signer = options.payer;
    if (!options.payer)
        options.payer = options.signer;
    if (first < 0 || first >= argc || !options.key || !options.signer) {
        if (first >= 0)
            fprintf(stderr, "settle submit: %s\n",
                    first >= argc ? "nothing to submit" : "--key FILE and --as ID are needed");
        s_usage(stderr);
        cli_client_free(&client);
        return CLI_EXIT_USAGE;
    }
    uint64_t sequence = (uint64_t)options.sequence;
    int rc = options.sequence >= 0
                 ? CLI_EXIT_OK
                 : cli_next_sequence(&client, options.signer, options.key, &sequence);
    uint8_t type = 0, *payload = NULL, *bytes = NULL;
    size_t payload_size = 0, size = 0;
    cli_phi_t phi;
    memset(&phi, 0, sizeof phi);
    if (rc == CLI_EXIT_OK && cli_phi_open(&phi, options.phi, options.key) != 0)
        rc = CLI_EXIT_USAGE;
    cli_phi_seal_for_providers(&phi, &client);
    s_signing_t signing = {options.signer, options.payer, options.key, sequence, &phi};
    if (rc == CLI_EXIT_OK)
        rc = s_payload(&signing, argc - first, argv + first, &type, &payload, &payload_size);
    if (rc == CLI_EXIT_USAGE)
        s_usage(stderr);
    if (rc == CLI_EXIT_OK)
        rc = cli_sign_command(options.key, options.signer, sequence, type, payload, payload_size,
                              &bytes, &size);
    char *text = NULL;
    if (rc == CLI_EXIT_OK) {
        cli_frame_t frame = {bytes, size};
        rc = cli_client_call(&client, "submit", &frame, 1, &text);
        if (rc == CLI_EXIT_OK) {
            rc = cli_print_answer(text, stdout);
        } else if (rc == CLI_EXIT_REJECTED && client.resent && strstr(text, "replayed sequence ")) {
            rc = s_replay_verdict(&client, options.payer, type, payload, payload_size, text);
        } else if (rc == CLI_EXIT_REJECTED) {
            fprintf(stderr, "settle: submit: %s\n", text);
        }
    }
    free(text);
    settle_free(bytes);
    settle_free(payload);
    cli_phi_free(&phi);
    cli_client_free(&client);
    return rc;
}

int cli_head(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        s_usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_client_t client;
    cli_client_init(&client);
    if (s_options(argc, argv, &client, NULL) != argc) {
        s_usage(stderr);
        cli_client_free(&client);
        return CLI_EXIT_USAGE;
    }
    char *text = NULL;
    int rc = cli_client_call(&client, "head", NULL, 0, &text);
    if (rc == CLI_EXIT_OK)
        fputs(text, stdout);
    else if (rc == CLI_EXIT_REJECTED)
        fprintf(stderr, "settle: head: %s\n", text);
    free(text);
    cli_client_free(&client);
    return rc;
}
