/*
 * cli_convert.c - `settle convert --to json FILE...`: reads X12 837P/837I or
 * canonical JSON claims (told apart by content: an interchange starts with
 * "ISA") and writes each claim as canonical JSON, one per line.  Rejected
 * claims and envelope errors go to stderr, one line each, and make the exit
 * code 1; the good claims of the same file are still written.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_json.h"
#include "settle/x12.h"

typedef struct {
    unsigned claims;
    unsigned rejected;
    int failed; /* a claim could not be written: out of memory */
} s_convert_t;

static void s_help(FILE *out)
{
    fprintf(out, "usage: settle convert --to json FILE...\n\n"
                 "Reads claims from X12 837P/837I interchanges or canonical JSON (told apart\n"
                 "by content; \"-\" reads standard input) and writes each claim as canonical\n"
                 "JSON, one per line, on standard output.  A claim that cannot be read is\n"
                 "reported on standard error with its file, segment and element, and the\n"
                 "others are still written.\n\n"
                 "  --to json   the canonical JSON claim form (the only target so far)\n\n"
                 "exit codes: 0 all claims converted, 1 a claim or file was rejected,\n"
                 "2 bad usage, 3 out of memory\n");
}

static int s_write_claim(const claim_t *claim, void *context)
{
    s_convert_t *convert = context;
    char *json;
    int rc = claim_to_json_text(claim, 0, &json);
    if (rc != SETTLE_OK) {
        convert->failed = 1;
        return rc;
    }
    printf("%s\n", json);
    settle_free(json);
    convert->claims++;
    return SETTLE_OK;
}

static int s_report_problem(x12_837_problem_t problem, const char *claim_id,
                            const settle_error_t *error, void *context)
{
    s_convert_t *convert = context;
    (void)problem;
    (void)claim_id;
    convert->rejected++;
    cli_print_error(error);
    return 0;
}

/* True when the text, after leading white space, starts an X12 interchange. */
static int s_is_x12(const char *text, size_t size)
{
    size_t at = 0;
    while (at < size && strchr(" \t\r\n", text[at]) && text[at] != '\0')
        at++;
    return size - at >= 3 && memcmp(text + at, "ISA", 3) == 0;
}

/* Converts one file; its problems are counted in convert. */
static void s_convert_file(s_convert_t *convert, const char *path)
{
    char *text;
    size_t size;
    if (cli_read_file(path, &text, &size) != 0) {
        convert->rejected++;
        return;
    }
    int rc;
    settle_error_t error;
    settle_error_clear(&error);
    if (s_is_x12(text, size)) {
        x12_837_callbacks_t callbacks = {s_write_claim, s_report_problem};
        rc = x12_837_read(text, size, path, &callbacks, convert, NULL, NULL);
        if (rc != SETTLE_OK && !convert->failed)
            settle_error_set(&error, rc, "%s", settle_strerror(rc));
    } else {
        rc = claim_json_read_text(text, size, path, s_write_claim, convert, &error);
    }
    settle_free(text);
    if (rc != SETTLE_OK) {
        if (!error.message[0])
            settle_error_set(&error, rc, "%s", settle_strerror(rc));
        settle_error_file(&error, path);
        cli_print_error(&error);
        if (rc == SETTLE_ERR_NOMEM)
            convert->failed = 1;
        convert->rejected++;
    }
}

int cli_convert(int argc, char **argv)
{
    s_convert_t convert = {0, 0, 0};
    const char *target = NULL;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            target = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "settle convert: unknown option \"%s\"\n", argv[i]);
            s_help(stderr);
            return CLI_EXIT_USAGE;
        } else {
            first_file = i;
            break;
        }
    }
    if (!target || strcmp(target, "json") != 0) {
        fprintf(stderr, "settle convert: %s\n",
                target ? "only --to json is supported so far" : "--to json is required");
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (first_file == argc) {
        fprintf(stderr, "settle convert: no files given\n");
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    for (int i = first_file; i < argc && !convert.failed; i++)
        s_convert_file(&convert, argv[i]);
    fprintf(stderr, "settle convert: %u claim%s written, %u problem%s\n", convert.claims,
            convert.claims == 1 ? "" : "s", convert.rejected, convert.rejected == 1 ? "" : "s");
    if (convert.failed)
        return CLI_EXIT_FAILURE;
    return convert.rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
