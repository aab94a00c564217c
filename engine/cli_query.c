/*
 * cli_query.c - the subcommands that ask a node about the ledger or run a
 * payment cycle: `settle status`, `settle remit`, `settle stats` and
 * `settle pay` (verbs claim, remit, stats, submit + remit; node.h).
 *
 * Each prints what the node answered, a fact a line.  A node that does not
 * know a verb (older than this client) is named in a clear error, exit 3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/command.h"

#define OPTIONS_MAX 8

typedef struct {
    const char *name;   /* "--payer" */
    const char **value; /* where its value goes; NULL for a flag */
    int *flag;          /* set to 1 for a flag */
} s_option_t;

/* Reads the client's options and those of options[] (a NULL name ends
 * it); positional arguments go to positional[] (at most positional_max).
 * Their count, or -1 (printed) on a bad command line. */
static int s_parse(const char *command, int argc, char **argv, cli_client_t *client,
                   const s_option_t *options, const char **positional, int positional_max)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strncmp(name, "--", 2) != 0) {
            if (count == positional_max) {
                fprintf(stderr, "settle %s: unexpected \"%s\"\n", command, name);
                return -1;
            }
            positional[count++] = name;
            continue;
        }
        const s_option_t *option = options;
        while (option->name && strcmp(option->name, name) != 0)
            option++;
        if (option->name && option->flag) {
            *option->flag = 1;
            continue;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "settle %s: %s wants a value\n", command, name);
            return -1;
        }
        const char *value = argv[++i];
        if (option->name) {
            *option->value = value;
            continue;
        }
        int taken = cli_client_option(client, name, value);
        if (taken <= 0) {
            fprintf(stderr, "settle %s: %s %s\n", command,
                    taken < 0 ? "bad value for" : "unknown option", name);
            return -1;
        }
    }
    if (cli_client_ready(client) != 0) {
        fprintf(stderr, "settle %s: no node given: --node ENDPOINT or SETTLE_NODE\n", command);
        return -1;
    }
    cli_client_prefer_freshest(client);
    return count;
}

/* Prints an "error" answer; names the verb when the node does not know it. */
static int s_refused(cli_client_t *client, const char *verb, const char *text)
{
    if (cli_unknown_verb(text)) {
        fprintf(stderr, "settle: %s does not know the `%s` verb (a node older than this client)\n",
                cli_client_endpoint(client), verb);
        return CLI_EXIT_FAILURE;
    }
    fprintf(stderr, "settle: %s: %s\n", verb, text);
    return CLI_EXIT_REJECTED;
}

/* Asks verb with arguments; prints the "ok" text on stdout. */
static int s_ask_and_print(cli_client_t *client, const char *verb, const char *const *arguments,
                           unsigned count)
{
    char *text = NULL;
    int rc = cli_client_text(client, verb, arguments, count, &text);
    if (rc == CLI_EXIT_OK)
        fputs(text, stdout);
    else if (rc == CLI_EXIT_REJECTED)
        rc = s_refused(client, verb, text);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------------
 * status, remit, stats
 * ------------------------------------------------------------------------ */

int cli_status(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("usage: settle status CLAIM-ID [--payer ID] [--phi FILE] [--node ENDPOINT]\n\n"
               "Prints every stored claim with that id (of that payer only, with --payer):\n"
               "its status, amounts, settlement and payment, its member key and sealed\n"
               "identifiers, and each line's decision.  With the payer's PHI secret, or\n"
               "the billing provider's own key (--key, SETTLE_KEY), the identifiers are\n"
               "opened and shown (patient_member_id, patient_name, patient_birth_date,\n"
               "patient_address); a key they were not sealed for shows \"patient_sealed not\n"
               "for this key\".\n\n"
               "  --phi FILE     the payer's PHI secret (default: the --key or SETTLE_KEY\n"
               "                 file's name with .phi for .key, when that file exists)\n"
               "%s\nexit codes: 0 found, 1 no such claim or identifiers that do not open,\n"
               "2 bad usage, 3 no answer\n",
               CLI_CLIENT_OPTIONS_HELP);
        return CLI_EXIT_OK;
    }
    cli_client_t client;
    cli_client_init(&client);
    const char *payer = NULL, *claim_id = NULL, *phi_path = NULL;
    s_option_t options[] = {
        {"--payer", &payer, NULL}, {"--phi", &phi_path, NULL}, {NULL, NULL, NULL}};
    int count = s_parse("status", argc, argv, &client, options, &claim_id, 1);
    int rc = CLI_EXIT_USAGE;
    cli_phi_t phi;
    memset(&phi, 0, sizeof phi);
    const char *key = client.key_path[0] ? client.key_path : getenv("SETTLE_KEY");
    if (count == 1 && cli_phi_open(&phi, phi_path, key) != 0) {
        rc = CLI_EXIT_USAGE;
    } else if (count == 1) {
        const char *arguments[] = {claim_id, payer};
        char *text = NULL;
        rc = cli_client_text(&client, "claim", arguments, payer ? 2 : 1, &text);
        if (rc == CLI_EXIT_OK)
            rc = cli_phi_reveal_answer(&phi, text, stdout) ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
        else if (rc == CLI_EXIT_REJECTED)
            rc = s_refused(&client, "claim", text);
        free(text);
    } else {
        fprintf(stderr,
                "usage: settle status CLAIM-ID [--payer ID] [--phi FILE] [--node ENDPOINT]\n");
    }
    cli_phi_free(&phi);
    cli_client_free(&client);
    return rc;
}

/* Writes text to path (replacing it through a temporary and a rename). */
static int s_write_file(const char *path, const char *text)
{
    char temporary[4096];
    if ((size_t)snprintf(temporary, sizeof temporary, "%s.tmp", path) >= sizeof temporary) {
        fprintf(stderr, "settle: %s: the path is too long\n", path);
        return CLI_EXIT_FAILURE;
    }
    FILE *file = fopen(temporary, "wb");
    size_t length = strlen(text);
    if (!file || fwrite(text, 1, length, file) != length || fclose(file) != 0 ||
        rename(temporary, path) != 0) {
        fprintf(stderr, "settle: %s: cannot write: %s\n", path, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static const char s_remit_usage[] =
    "usage: settle remit --payment ID [--format x12|fhir] [--out FILE] [--payer ID]\n"
    "                    [--phi FILE] [--node ENDPOINT]\n";

int cli_remit(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("%s\nFetches a payment's remittance from a node: the X12 835 (default) or the\n"
               "FHIR PaymentReconciliation bundle; prints it, or writes it to FILE.\n"
               "(The remittances of an offline run come from `settle adjudicate --remit`.)\n"
               "The ledger knows patients by member key; with the payer's PHI secret\n"
               "(--phi FILE, default the --key or SETTLE_KEY file's name with .phi) an 835's\n"
               "NM1*QC segments get the patient's names and member id back, as `settle pay`\n"
               "writes them; so does the billing provider's own key (--key, SETTLE_KEY)\n"
               "for what was sealed to it.  --payer is the payer (default: the 835's).\n\n"
               "%s\nexit codes: 0 written, 1 no such payment, 2 bad usage, 3 failure\n",
               s_remit_usage, CLI_CLIENT_OPTIONS_HELP);
        return CLI_EXIT_OK;
    }
    cli_client_t client;
    cli_client_init(&client);
    const char *payment = NULL, *format = "x12", *out = NULL, *payer = NULL, *phi_path = NULL;
    s_option_t options[] = {{"--payment", &payment, NULL}, {"--format", &format, NULL},
                            {"--out", &out, NULL},         {"--payer", &payer, NULL},
                            {"--phi", &phi_path, NULL},    {NULL, NULL, NULL}};
    int count = s_parse("remit", argc, argv, &client, options, NULL, 0);
    int rc = CLI_EXIT_USAGE;
    cli_phi_t phi;
    memset(&phi, 0, sizeof phi);
    const char *key = client.key_path[0] ? client.key_path : getenv("SETTLE_KEY");
    if (count != 0 || !payment || (strcmp(format, "x12") != 0 && strcmp(format, "fhir") != 0)) {
        fputs(s_remit_usage, stderr);
    } else if (cli_phi_open(&phi, phi_path, key) == 0) {
        char *text = NULL;
        const char *arguments[] = {payment, format};
        rc = cli_client_text(&client, "remit", arguments, 2, &text);
        if (rc == CLI_EXIT_OK && strcmp(format, "x12") == 0 &&
            cli_phi_fill_835(&phi, &client, payer, &text) < 0)
            rc = CLI_EXIT_FAILURE;
        if (rc == CLI_EXIT_OK && out)
            rc = s_write_file(out, text);
        else if (rc == CLI_EXIT_OK)
            fputs(text, stdout);
        else if (rc == CLI_EXIT_REJECTED)
            rc = s_refused(&client, "remit", text);
        free(text);
    }
    cli_phi_free(&phi);
    cli_client_free(&client);
    return rc;
}

int cli_stats(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("usage: settle stats [--prometheus] [--node ENDPOINT]\n\n"
               "Prints a node's counters and latency histograms, as \"name value\" lines or\n"
               "(--prometheus) in the Prometheus text exposition format.\n\n"
               "%s\nexit codes: 0 printed, 2 bad usage, 3 no answer\n",
               CLI_CLIENT_OPTIONS_HELP);
        return CLI_EXIT_OK;
    }
    cli_client_t client;
    cli_client_init(&client);
    int prometheus = 0;
    s_option_t options[] = {{"--prometheus", NULL, &prometheus}, {NULL, NULL, NULL}};
    int rc = CLI_EXIT_USAGE;
    if (s_parse("stats", argc, argv, &client, options, NULL, 0) == 0) {
        const char *arguments[] = {prometheus ? "prometheus" : "text"};
        rc = s_ask_and_print(&client, "stats", arguments, 1);
    } else {
        fprintf(stderr, "usage: settle stats [--prometheus] [--node ENDPOINT]\n");
    }
    cli_client_free(&client);
    return rc;
}

/* ------------------------------------------------------------------------
 * pay: a payment cycle, then each payment's 835
 * ------------------------------------------------------------------------ */

static const char s_pay_usage[] =
    "usage: settle pay --payer ID --key FILE [--as ID] [--sequence N] [--out DIR]\n"
    "                  [--phi FILE] [--node ENDPOINT]\n";

/* Fetches each payment's 835 into dir; the payments are the answer's
 * "payment NPI ID ..." lines, "-" being a provider with nothing paid. */
static int s_fetch_remits(cli_client_t *client, const char *answer, const char *dir, cli_phi_t *phi,
                          const char *payer)
{
    int rc = CLI_EXIT_OK;
    for (const char *line = answer; line && *line; line = strchr(line, '\n'), line += !!line) {
        char npi[32], id[128], path[4096];
        if (strncmp(line, "payment ", 8) != 0 || sscanf(line, "payment %31s %127s", npi, id) != 2 ||
            strcmp(id, "-") == 0)
            continue;
        if (strchr(id, '/') || id[0] == '.') {
            fprintf(stderr, "settle pay: payment id \"%s\" cannot name a file\n", id);
            rc = CLI_EXIT_FAILURE;
            continue;
        }
        char *text = NULL;
        const char *arguments[] = {id, "x12"};
        int fetched = cli_client_text(client, "remit", arguments, 2, &text);
        if (fetched == CLI_EXIT_OK && cli_phi_fill_835(phi, client, payer, &text) < 0)
            fetched = CLI_EXIT_FAILURE;
        if (fetched == CLI_EXIT_OK &&
            (size_t)snprintf(path, sizeof path, "%s/%s.835", dir, id) < sizeof path)
            fetched = s_write_file(path, text);
        else if (fetched == CLI_EXIT_REJECTED)
            fetched = s_refused(client, "remit", text) == CLI_EXIT_FAILURE ? CLI_EXIT_FAILURE
                                                                           : CLI_EXIT_REJECTED;
        if (fetched == CLI_EXIT_OK)
            fprintf(stderr, "settle pay: wrote %s (provider %s)\n", path, npi);
        else if (rc == CLI_EXIT_OK)
            rc = fetched;
        free(text);
    }
    return rc;
}

/* Signs and submits the pay command; prints the answer; *answer_out is
 * the text (free) when the node answered "ok". */
static int s_pay(cli_client_t *client, const char *payer, const char *signer, const char *key,
                 long long sequence_given, char **answer_out)
{
    uint64_t sequence = (uint64_t)sequence_given;
    int rc = sequence_given >= 0 ? CLI_EXIT_OK : cli_next_sequence(client, signer, key, &sequence);
    command_pay_t pay;
    memset(&pay, 0, sizeof pay);
    snprintf(pay.payer, sizeof pay.payer, "%s", payer);
    uint8_t *payload = NULL, *bytes = NULL;
    size_t payload_size = 0, size = 0;
    if (rc == CLI_EXIT_OK && command_pay_encode(&pay, &payload, &payload_size) != SETTLE_OK) {
        fprintf(stderr, "settle pay: payer \"%s\" cannot be encoded\n", payer);
        rc = CLI_EXIT_USAGE;
    }
    if (rc == CLI_EXIT_OK)
        rc = cli_sign_command(key, signer, sequence, COMMAND_PAY, payload, payload_size, &bytes,
                              &size);
    char *text = NULL;
    if (rc == CLI_EXIT_OK) {
        cli_frame_t frame = {bytes, size};
        rc = cli_client_call(client, "submit", &frame, 1, &text);
        if (rc == CLI_EXIT_OK) {
            rc = cli_print_answer(text, stdout);
            *answer_out = text;
            text = NULL;
        } else if (rc == CLI_EXIT_REJECTED) {
            fprintf(stderr, "settle pay: %s\n", text);
        }
    }
    free(text);
    settle_free(bytes);
    settle_free(payload);
    return rc;
}

int cli_pay(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("%s\nRuns a payment cycle for the payer: pays what is payable, one payment per\n"
               "provider; prints each payment (\"payment NPI ID total=CENTS claims=N\"),\n"
               "then fetches each payment's 835 and writes it to DIR/PAYMENT-ID.835\n"
               "(DIR defaults to the current folder).  --as is the signer (default the\n"
               "payer); --sequence as in `settle submit` (default: ask the node).\n"
               "The ledger knows patients only by member key: with the payer's PHI secret\n"
               "(--phi FILE, default KEY.phi beside --key) each 835's NM1*QC segments get\n"
               "the patient's names and member id back.\n\n"
               "%s\nexit codes: 0 paid, 1 rejected, 2 bad usage, 3 failure\n",
               s_pay_usage, CLI_CLIENT_OPTIONS_HELP);
        return CLI_EXIT_OK;
    }
    cli_client_t client;
    cli_client_init(&client);
    const char *payer = NULL, *key = NULL, *signer = NULL, *dir = ".", *sequence_text = NULL,
               *phi_path = NULL;
    s_option_t options[] = {{"--payer", &payer, NULL}, {"--phi", &phi_path, NULL},
                            {"--key", &key, NULL},     {"--as", &signer, NULL},
                            {"--out", &dir, NULL},     {"--sequence", &sequence_text, NULL},
                            {NULL, NULL, NULL}};
    int count = s_parse("pay", argc, argv, &client, options, NULL, 0);
    cli_client_key(&client, key); /* also the transport's key */
    long long sequence = -1;
    char *end = NULL;
    if (sequence_text) {
        errno = 0;
        sequence = strtoll(sequence_text, &end, 10);
    }
    struct stat folder;
    int rc = CLI_EXIT_USAGE;
    if (count != 0 || !payer || !key || (sequence_text && (errno || *end || sequence < 0))) {
        fputs(s_pay_usage, stderr);
    } else if (stat(dir, &folder) != 0 || !S_ISDIR(folder.st_mode)) {
        fprintf(stderr, "settle pay: --out %s: not a folder\n", dir);
    } else {
        char *answer = NULL;
        cli_phi_t phi;
        rc = cli_phi_open(&phi, phi_path, key) == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        if (rc == CLI_EXIT_OK)
            rc = s_pay(&client, payer, signer ? signer : payer, key, sequence, &answer);
        if (answer) {
            int fetched = s_fetch_remits(&client, answer, dir, &phi, payer);
            if (rc == CLI_EXIT_OK)
                rc = fetched;
        }
        free(answer);
        cli_phi_free(&phi);
    }
    cli_client_free(&client);
    return rc;
}
