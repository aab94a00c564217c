/*
 * cli_main.c - the `settle` command: finds the subcommand and runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settle/alloc.h"

static const cli_command_t s_commands[] = {
    {"show", "print claims in canonical JSON with their content hashes", cli_show},
    {"keygen", "make a participant's Ed25519 key pair", cli_keygen},
    {"adjudicate", "adjudicate claims offline against plan contracts", cli_adjudicate},
    {"check-contract", "compile plan contracts and list their problems", cli_check_contract},
    {"convert", "convert X12 837 or JSON claims to canonical JSON, one per line", cli_convert},
    {"submit", "sign and submit claims or a command to a node, following the leader", cli_submit},
    {"head", "print a node's ledger head: index, hash, leader and events endpoint", cli_head},
    {"status", "print a stored claim's decision, settlement and payment", cli_status},
    {"pay", "run a payment cycle and fetch each payment's 835", cli_pay},
    {"remit", "fetch a payment's remittance (X12 835 or FHIR) from a node", cli_remit},
    {"watch", "print a provider's signed payment confirmations (or a topic's events) as they come",
     cli_watch},
    {"stats", "print a node's counters and latencies (text or Prometheus)", cli_stats},
    {"intake", "submit the 837 and FHIR files dropped in a folder, with acknowledgments",
     cli_intake},
    {"cluster", "start (up) or stop (down) a local cluster on loopback", cli_cluster},
    {"audit",
     "verify a ledger or an export, export its chain, report on it, or show a claim's history",
     cli_audit},
};

#define COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

static void s_usage(FILE *out)
{
    fprintf(out, "usage: settle COMMAND [OPTIONS] [FILE...]\n\n"
                 "settle is a claims and payment settlement engine for health insurance.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\n`settle COMMAND --help` describes a command.\n"
                 "exit codes: 0 done, 1 some input rejected, 2 bad command line, 3 failure\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        s_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("settle %s\n", SETTLE_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "settle: unknown command \"%s\"\n\n", argv[1]);
    s_usage(stderr);
    return CLI_EXIT_USAGE;
}

int cli_is_help(const char *argument)
{
    return strcmp(argument, "-h") == 0 || strcmp(argument, "--help") == 0;
}

void cli_print_error(const settle_error_t *error)
{
    char line[1024];
    settle_error_format(error, line, sizeof line);
    fprintf(stderr, "settle: %s\n", line);
}

int cli_read_file(const char *path, char **text_out, size_t *size_out)
{
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "settle: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    size_t capacity = 1 << 16, size = 0;
    char *text = settle_malloc(capacity);
    while (text) {
        size += fread(text + size, 1, capacity - size - 1, file);
        if (size < capacity - 1)
            break;
        char *grown = capacity < CLI_FILE_SIZE_MAX ? settle_realloc(text, capacity * 2) : NULL;
        if (!grown) {
            settle_free(text);
            text = NULL;
            break;
        }
        text = grown;
        capacity *= 2;
    }
    int failed = !text || ferror(file);
    if (file != stdin)
        fclose(file);
    if (failed) {
        fprintf(stderr, "settle: %s: cannot read (%s)\n", path,
                text ? "read error" : "too large or out of memory");
        settle_free(text);
        return -1;
    }
    text[size] = '\0';
    *text_out = text;
    *size_out = size;
    return 0;
}
