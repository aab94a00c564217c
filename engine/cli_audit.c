/*
 * cli_audit.c - `settle audit verify LEDGER` and `settle audit claim ID`:
 * an auditor's replay of a ledger file and a claim's history from it
 * (include/settle/audit.h).  Both only read the file; both may run beside
 * a node serving it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "settle/audit.h"
#include "settle/audit_export.h"
#include "settle/audit_report.h"
#include "settle/ledger.h"

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: settle audit verify LEDGER|EXPORT\n"
            "       settle audit export --ledger LEDGER [--from INDEX] [--to INDEX] --out FILE\n"
            "       settle audit report --ledger LEDGER --format md|html [--out FILE]\n"
            "       settle audit claim CLAIM-ID --ledger LEDGER [--payer PAYER]\n"
            "                          [--format text|json]\n\n"
            "verify replays every entry of the ledger's chain from genesis into a fresh\n"
            "state machine, checking every signature again, and compares each chain link\n"
            "(index, changes digest, hash) and then every table, row by row, with what the\n"
            "ledger stored.  It prints the first divergence (entry index, table, row, field,\n"
            "stored and recomputed values), or the counts verified and the head index and\n"
            "hash, which equal the live cluster's `settle head`.\n\n"
            "verify also reads an export file (found by its magic): replaying it from\n"
            "entry 1 rebuilds the state alone and re-makes every link, signatures checked;\n"
            "it prints the same head.  An export not starting at entry 1 cannot be\n"
            "verified alone: verify says so (exit 3).\n\n"
            "export writes the chain's entries (bytes, index, timestamp, stored link) from\n"
            "--from (default 1) to --to (default the head) in the portable format of\n"
            "include/settle/audit_export.h.\n\n"
            "report writes totals by status, payer, provider and reason code, the payments\n"
            "with their trace numbers and a chart of claims and payments per day, as\n"
            "Markdown or HTML (inline SVG), on stdout or --out.\n\n"
            "claim prints a claim's history: submitted (signer, entry, timestamp, batch\n"
            "position, Merkle path to the signed root), adjudicated (lines, reason codes,\n"
            "contract), voided or replaced, paid; each step with its chain index and hash.\n\n"
            "LEDGER is a node's ledger.sqlite (or a copy), opened read-only: both commands\n"
            "may run while the node serves it.  A progress line shows on a terminal.\n\n"
            "exit codes: 0 verified (or found), 1 a divergence (or no such claim),\n"
            "2 bad usage, 3 the ledger cannot be read\n");
}

static void s_progress(uint64_t entry_index, uint64_t head_index, void *context)
{
    (void)context;
    cli_progress("audit: entry %llu of %llu", (unsigned long long)entry_index,
                 (unsigned long long)head_index);
}

static int s_verify(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    audit_options_t options = {.progress = s_progress};
    audit_totals_t totals;
    audit_divergence_t divergence;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = audit_export_is_export(argv[1])
                 ? audit_verify_export(argv[1], &options, &totals, &divergence, &error)
                 : audit_verify(argv[1], &options, &totals, &divergence, &error);
    cli_progress_end();
    if (rc == SETTLE_ERR_CORRUPT) {
        printf("divergence at entry %llu: %s\n", (unsigned long long)divergence.entry_index,
               divergence.what);
        return CLI_EXIT_REJECTED;
    }
    if (rc != SETTLE_OK) {
        cli_print_error(&error);
        return CLI_EXIT_FAILURE;
    }
    char hex[2 * LEDGER_HASH_SIZE + 1];
    for (int i = 0; i < LEDGER_HASH_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", totals.head_hash[i]);
    printf("verified %s\nentries %llu\ncommands %llu\nclaims %llu\npayments %llu\n"
           "checkpoints %llu\ncheckpoint_index %llu\nindex %llu\nhash %s\n",
           argv[1], (unsigned long long)totals.entry_count,
           (unsigned long long)totals.command_count, (unsigned long long)totals.claim_count,
           (unsigned long long)totals.payment_count, (unsigned long long)totals.checkpoint_count,
           (unsigned long long)totals.checkpoint_last_index, (unsigned long long)totals.head_index,
           hex);
    return CLI_EXIT_OK;
}

static int s_claim(int argc, char **argv)
{
    const char *claim_id = NULL, *path = NULL, *payer = NULL;
    audit_format_t format = AUDIT_FORMAT_TEXT;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--ledger") == 0 && value)
            path = argv[++i];
        else if (strcmp(argv[i], "--payer") == 0 && value)
            payer = argv[++i];
        else if (strcmp(argv[i], "--format") == 0 && value && strcmp(value, "json") == 0)
            format = AUDIT_FORMAT_JSON, i++;
        else if (strcmp(argv[i], "--format") == 0 && value && strcmp(value, "text") == 0)
            format = AUDIT_FORMAT_TEXT, i++;
        else if (argv[i][0] != '-' && !claim_id)
            claim_id = argv[i];
        else {
            fprintf(stderr, "settle audit claim: bad argument \"%s\"\n\n", argv[i]);
            s_help(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!claim_id || !path) {
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    ledger_t *ledger = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = ledger_open_readonly(path, &ledger, &error);
    if (rc == SETTLE_OK)
        rc = audit_claim_print(ledger, claim_id, payer, format, stdout, &error);
    ledger_close(&ledger);
    if (rc != SETTLE_OK)
        cli_print_error(&error);
    return rc == SETTLE_OK              ? CLI_EXIT_OK
           : rc == SETTLE_ERR_NOT_FOUND ? CLI_EXIT_REJECTED
                                        : CLI_EXIT_FAILURE;
}

/* Parses an entry index; false for anything but a positive integer. */
static bool s_index(const char *text, uint64_t *index_out)
{
    char *end = NULL;
    if (!text || text[0] < '0' || text[0] > '9')
        return false;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || *end || value == 0 || value > INT64_MAX)
        return false;
    *index_out = value;
    return true;
}

static int s_export(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    uint64_t from = 1, to = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--ledger") == 0 && value)
            path = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && value)
            out = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && s_index(value, &from))
            i++;
        else if (strcmp(argv[i], "--to") == 0 && s_index(value, &to))
            i++;
        else {
            fprintf(stderr, "settle audit export: bad argument \"%s\"\n\n", argv[i]);
            s_help(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!path || !out) {
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    audit_export_header_t header;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = audit_export_write(path, from, to, out, &header, &error);
    if (rc != SETTLE_OK) {
        cli_print_error(&error);
        return rc == SETTLE_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    }
    printf("exported %s\nentries %llu\nfrom %llu\nto %llu\n", out,
           (unsigned long long)header.record_count, (unsigned long long)header.first_index,
           (unsigned long long)header.last_index);
    return CLI_EXIT_OK;
}

static int s_report(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *format = NULL;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--ledger") == 0 && value)
            path = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && value)
            out_path = argv[++i];
        else if (strcmp(argv[i], "--format") == 0 && value &&
                 (strcmp(value, "md") == 0 || strcmp(value, "html") == 0))
            format = argv[++i];
        else {
            fprintf(stderr, "settle audit report: bad argument \"%s\"\n\n", argv[i]);
            s_help(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!path || !format) {
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    settle_error_t error;
    settle_error_clear(&error);
    ledger_t *ledger = NULL;
    FILE *out = stdout;
    int rc = ledger_open_readonly(path, &ledger, &error);
    if (rc == SETTLE_OK && out_path && !(out = fopen(out_path, "w")))
        rc = settle_error_set(&error, SETTLE_ERR_IO, "%s: cannot create: %s", out_path,
                              strerror(errno));
    if (rc == SETTLE_OK)
        rc = audit_report_write(
            ledger, strcmp(format, "html") == 0 ? AUDIT_REPORT_HTML : AUDIT_REPORT_MARKDOWN, out,
            &error);
    if (out && out != stdout && fclose(out) != 0 && rc == SETTLE_OK)
        rc = settle_error_set(&error, SETTLE_ERR_IO, "%s: cannot write", out_path);
    ledger_close(&ledger);
    if (rc != SETTLE_OK) {
        if (out_path)
            remove(out_path);
        cli_print_error(&error);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* settle audit SUBCOMMAND ... */
int cli_audit(int argc, char **argv)
{
    if (argc < 2) {
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_EXIT_OK;
        }
    if (strcmp(argv[1], "verify") == 0)
        return s_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "claim") == 0)
        return s_claim(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return s_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "report") == 0)
        return s_report(argc - 1, argv + 1);
    fprintf(stderr, "settle audit: unknown subcommand \"%s\"\n\n", argv[1]);
    s_help(stderr);
    return CLI_EXIT_USAGE;
}
