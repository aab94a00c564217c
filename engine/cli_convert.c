/*
 * cli_convert.c - `settle convert [--to json|x12|fhir] [--ack DIR] FILE...`:
 * reads X12 837P/837I, FHIR R4 Claims (a Claim or a Bundle) or canonical
 * JSON claims (told apart by content, cli_input_detect) and writes each
 * claim as canonical JSON, one per line, or as one X12 837 interchange or
 * one FHIR Bundle of Claims per input file; with --ack, writes the
 * acknowledgments of each X12 input (999, 277CA, JSON) into DIR, and the
 * JSON acknowledgment of a FHIR or JSON input.
 * Rejected claims and envelope errors go to stderr, one line each, and make
 * the exit code 1; the good claims of the same file are still written.
 *
 * The date and time stamped on X12 output default to the current UTC clock;
 * the writers themselves take them as parameters (adapters read no clock).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_json.h"
#include "settle/date.h"
#include "settle/fhir_claim_write.h"
#include "settle/x12.h"
#include "settle/x12_837_write.h"
#include "settle/x12_ack.h"

typedef struct {
    const char *target;  /* "json", "x12", "fhir", or NULL (acknowledgments only) */
    const char *ack_dir; /* NULL: no acknowledgments */
    uint32_t control_number;
    char date[9], time[5];
    const char *sender, *receiver;
} s_options_t;

typedef struct {
    const s_options_t *options;
    const char *path;            /* the file being converted */
    x12_837_writer_t *writer;    /* its interchange, with --to x12 */
    fhir_claim_bundle_t *bundle; /* its Bundle, with --to fhir */
    uint32_t control_number;     /* the next one free */
    x12_ack_t *json_ack;         /* collects a JSON or FHIR file's claims, with --ack */
    unsigned claims;
    unsigned rejected;
    int failed; /* out of memory or a file that cannot be written */
} s_convert_t;

static void s_help(FILE *out)
{
    fprintf(out, "usage: settle convert [--to json|x12|fhir] [--ack DIR] [options] FILE...\n\n"
                 "Reads claims from X12 837P/837I interchanges, FHIR R4 Claims (a Claim or a\n"
                 "Bundle) or canonical JSON (told apart by content; \"-\" reads standard\n"
                 "input) and writes them on standard output.  A claim that cannot be read is\n"
                 "reported on standard error with its file and place (segment and element,\n"
                 "or line, column and path), and the others are still written.\n\n"
                 "  --to json             canonical JSON claims, one per line\n"
                 "  --to x12              one X12 837 interchange per input file (837P or 837I\n"
                 "                        by claim kind, one group per run of one kind)\n"
                 "  --to fhir             one FHIR R4 Bundle of Claims (with their Patient and\n"
                 "                        Coverage) per input file, indented\n"
                 "  --ack DIR             for each input FILE, write DIR/FILE.999 (X12 999),\n"
                 "                        DIR/FILE.277 (277CA) and DIR/FILE.ack.json; a JSON\n"
                 "                        or FHIR input gets only FILE.ack.json\n"
                 "  --control-number N    first interchange/group/transaction control number\n"
                 "                        (1..999999999, default 1); each file uses the next\n"
                 "  --date CCYYMMDD       date stamped on X12 output (default: today, UTC)\n"
                 "  --time HHMM           time stamped on X12 output (default: now, UTC)\n"
                 "  --sender ID           ISA06/GS02 of the 837 written (default SETTLE)\n"
                 "  --receiver ID         ISA08/GS03 of the 837 written (default SETTLE)\n\n"
                 "At least one of --to and --ack is required.\n"
                 "exit codes: 0 all claims converted, 1 a claim or file was rejected,\n"
                 "2 bad usage, 3 out of memory or an output that cannot be written\n");
}

/* ------------------------------------------------------------------------
 * Claims and problems, as the readers deliver them
 * ------------------------------------------------------------------------ */

static int s_write_json(s_convert_t *convert, const claim_t *claim)
{
    char *json;
    int rc = claim_to_json_text(claim, 0, &json);
    if (rc != SETTLE_OK) {
        convert->failed = 1;
        return rc;
    }
    printf("%s\n", json);
    settle_free(json);
    return SETTLE_OK;
}

static int s_write_claim(const claim_t *claim, void *context)
{
    s_convert_t *convert = context;
    const char *target = convert->options->target;
    if (convert->json_ack && x12_ack_on_claim(claim, convert->json_ack) != SETTLE_OK) {
        convert->failed = 1;
        return SETTLE_ERR_NOMEM;
    }
    if (target && strcmp(target, "json") == 0) {
        int rc = s_write_json(convert, claim);
        if (rc != SETTLE_OK)
            return rc;
    } else if (convert->writer || convert->bundle) {
        settle_error_t error;
        settle_error_clear(&error);
        int rc = convert->writer ? x12_837_writer_add(convert->writer, claim, &error)
                                 : fhir_claim_bundle_add(convert->bundle, claim, &error);
        if (rc == SETTLE_ERR_NOMEM) {
            convert->failed = 1;
            return rc;
        }
        if (rc != SETTLE_OK) {
            settle_error_file(&error, convert->path);
            cli_print_error(&error);
            convert->rejected++;
            return SETTLE_OK;
        }
    }
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

/* A FHIR or JSON claim (claim_id set) or document (claim_id "") that
 * could not be read: reported, counted, and acknowledged with --ack. */
static void s_report_rejected(const char *claim_id, const settle_error_t *error, void *context)
{
    s_convert_t *convert = context;
    convert->rejected++;
    cli_print_error(error);
    x12_837_problem_t problem = claim_id[0] ? X12_837_CLAIM_REJECTED : X12_837_ENVELOPE_ERROR;
    if (convert->json_ack &&
        x12_ack_on_problem(problem, claim_id, error, convert->json_ack) != SETTLE_OK)
        convert->failed = 1;
}

/* ------------------------------------------------------------------------
 * Outputs: the 837 interchange and the acknowledgment files
 * ------------------------------------------------------------------------ */

/* Writes text to DIR/NAME.suffix, NAME being the input's last path part. */
static int s_write_ack_file(s_convert_t *convert, const char *suffix, const char *text,
                            size_t length)
{
    const char *name = strcmp(convert->path, "-") == 0 ? "stdin" : convert->path;
    const char *slash = strrchr(name, '/');
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.%s", convert->options->ack_dir,
                     slash ? slash + 1 : name, suffix);
    FILE *file = n > 0 && (size_t)n < sizeof path ? fopen(path, "wb") : NULL;
    if (!file) {
        fprintf(stderr, "settle: %s: cannot write: %s\n", path, strerror(errno));
        convert->failed = 1;
        return -1;
    }
    size_t written = fwrite(text, 1, length, file);
    if (fclose(file) != 0 || written != length) {
        fprintf(stderr, "settle: %s: cannot write\n", path);
        convert->failed = 1;
        return -1;
    }
    return 0;
}

/* The three acknowledgments of one file (only the JSON for a JSON input). */
static void s_write_acks(s_convert_t *convert, const x12_ack_t *ack, bool x12,
                         uint32_t control_number)
{
    x12_ack_stamp_t stamp = {control_number, convert->options->date, convert->options->time};
    char *text = NULL;
    size_t length = 0;
    int rc = SETTLE_OK;
    if (x12 && (rc = x12_ack_write_999(ack, &stamp, &text, &length)) == SETTLE_OK) {
        s_write_ack_file(convert, "999", text, length);
        settle_free(text);
        text = NULL;
    }
    if (x12 && rc == SETTLE_OK && (rc = x12_ack_write_277(ack, &stamp, &text, &length)) == 0) {
        s_write_ack_file(convert, "277", text, length);
        settle_free(text);
        text = NULL;
    }
    if (rc == SETTLE_OK && (rc = x12_ack_write_json(ack, &text, &length)) == SETTLE_OK) {
        s_write_ack_file(convert, "ack.json", text, length);
        settle_free(text);
    }
    if (rc != SETTLE_OK) {
        fprintf(stderr, "settle: %s: cannot write the acknowledgments: %s\n", convert->path,
                settle_strerror(rc));
        convert->failed = 1;
    }
}

/* Opens the file's 837 interchange (with --to x12). */
static int s_open_writer(s_convert_t *convert)
{
    const s_options_t *options = convert->options;
    x12_837_write_options_t write = {convert->control_number, options->date,     options->time,
                                     options->sender,         options->receiver, 0};
    settle_error_t error;
    settle_error_clear(&error);
    int rc = x12_837_writer_new(&write, &convert->writer, &error);
    if (rc != SETTLE_OK) {
        cli_print_error(&error);
        convert->failed = 1;
    }
    return rc;
}

/* Opens the file's FHIR Bundle (with --to fhir). */
static int s_open_bundle(s_convert_t *convert)
{
    int rc = fhir_claim_bundle_new(&convert->bundle);
    if (rc != SETTLE_OK) {
        fprintf(stderr, "settle: %s: %s\n", convert->path, settle_strerror(rc));
        convert->failed = 1;
    }
    return rc;
}

/* Prints the Bundle, indented, unless the file failed; frees it. */
static void s_close_bundle(s_convert_t *convert)
{
    char *text = NULL;
    size_t length = 0;
    int rc = convert->failed ? SETTLE_OK
                             : fhir_claim_bundle_finish(convert->bundle, true, &text, &length);
    fhir_claim_bundle_destroy(&convert->bundle);
    if (rc != SETTLE_OK) {
        fprintf(stderr, "settle: %s: %s\n", convert->path, settle_strerror(rc));
        convert->failed = 1;
        return;
    }
    if (text) {
        fwrite(text, 1, length, stdout);
        fputc('\n', stdout);
    }
    settle_free(text);
}

/* Closes the interchange, prints it and moves the control number on. */
static void s_close_writer(s_convert_t *convert)
{
    char *text = NULL;
    size_t length = 0;
    uint32_t groups = 1;
    int rc = x12_837_writer_finish(convert->writer, &text, &length, &groups);
    x12_837_writer_destroy(&convert->writer);
    if (rc != SETTLE_OK) {
        fprintf(stderr, "settle: %s: %s\n", convert->path, settle_strerror(rc));
        convert->failed = 1;
        return;
    }
    fwrite(text, 1, length, stdout);
    settle_free(text);
    convert->control_number += groups;
}

/* ------------------------------------------------------------------------
 * One file
 * ------------------------------------------------------------------------ */

static bool s_target_is(const s_convert_t *convert, const char *target)
{
    return convert->options->target && strcmp(convert->options->target, target) == 0;
}

/* Reads the file's claims into the outputs; returns the reader's code.
 * FHIR and JSON go through cli_input, which reports their problems to
 * s_report_rejected; a reading it had to stop is a system failure, as
 * every bad claim or document is reported, not returned. */
static int s_read(s_convert_t *convert, const char *text, size_t size, x12_ack_t *ack, bool x12,
                  settle_error_t *error)
{
    if (!x12) {
        cli_claim_sink_t sink = {s_write_claim, s_report_rejected};
        convert->json_ack = ack;
        if (cli_input_read_text(convert->path, text, size, &sink, convert, NULL) < 0)
            convert->failed = 1;
        convert->json_ack = NULL;
        return SETTLE_OK;
    }
    x12_837_callbacks_t callbacks = {s_write_claim, s_report_problem};
    int rc = ack ? x12_ack_read_837(ack, text, size, &callbacks, convert, false, NULL)
                 : x12_837_read(text, size, convert->path, &callbacks, convert, NULL, NULL);
    if (rc != SETTLE_OK && !convert->failed)
        settle_error_set(error, rc, "%s", settle_strerror(rc));
    return rc;
}

/* Converts one file; its problems are counted in convert. */
static void s_convert_file(s_convert_t *convert, const char *path)
{
    char *text;
    size_t size;
    convert->path = path;
    if (cli_read_file(path, &text, &size) != 0) {
        convert->rejected++;
        return;
    }
    uint32_t control_number = convert->control_number;
    bool x12 = cli_input_detect(text, size) == CLI_INPUT_X12;
    x12_ack_t *ack = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    int rc = SETTLE_OK;
    if (convert->options->ack_dir && !(ack = x12_ack_new(path)))
        rc = SETTLE_ERR_NOMEM;
    if (rc == SETTLE_OK && s_target_is(convert, "x12"))
        rc = s_open_writer(convert);
    if (rc == SETTLE_OK && s_target_is(convert, "fhir"))
        rc = s_open_bundle(convert);
    if (rc == SETTLE_OK)
        rc = s_read(convert, text, size, ack, x12, &error);
    settle_free(text);
    if (convert->writer)
        s_close_writer(convert);
    else
        convert->control_number++;
    if (convert->bundle)
        s_close_bundle(convert);
    if (rc != SETTLE_OK && !convert->failed) {
        if (!error.message[0])
            settle_error_set(&error, rc, "%s", settle_strerror(rc));
        settle_error_file(&error, path);
        cli_print_error(&error);
        convert->failed = rc == SETTLE_ERR_NOMEM;
        convert->rejected++;
    }
    if (ack && !convert->failed)
        s_write_acks(convert, ack, x12, control_number);
    x12_ack_destroy(&ack);
}

/* ------------------------------------------------------------------------
 * The command line
 * ------------------------------------------------------------------------ */

static bool s_digits(const char *text, size_t length)
{
    if (strlen(text) != length)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

/* --control-number: 1..999999999, digits only. */
static int s_parse_control(const char *text, uint32_t *out)
{
    size_t length = strlen(text);
    if (length == 0 || length > 9 || !s_digits(text, length))
        return -1;
    uint32_t value = 0;
    for (size_t i = 0; i < length; i++)
        value = value * 10 + (uint32_t)(text[i] - '0');
    if (value == 0)
        return -1;
    *out = value;
    return 0;
}

/* The defaults of --date and --time: the current UTC clock. */
static void s_default_stamp(s_options_t *options)
{
    time_t now = time(NULL);
    struct tm utc;
    if (!gmtime_r(&now, &utc) ||
        strftime(options->date, sizeof options->date, "%Y%m%d", &utc) != 8 ||
        strftime(options->time, sizeof options->time, "%H%M", &utc) != 4) {
        memcpy(options->date, "19700101", 9);
        memcpy(options->time, "0000", 5);
    }
}

static int s_usage(const char *message, const char *argument)
{
    fprintf(stderr, "settle convert: %s", message);
    if (argument)
        fprintf(stderr, " \"%s\"", argument);
    fprintf(stderr, "\n");
    s_help(stderr);
    return CLI_EXIT_USAGE;
}

/* One option and its value at argv[*i]; CLI_EXIT_OK or a usage exit. */
static int s_parse_option(s_options_t *options, int argc, char **argv, int *i)
{
    const char *name = argv[*i];
    const char *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool known = strcmp(name, "--to") == 0 || strcmp(name, "--ack") == 0 ||
                 strcmp(name, "--control-number") == 0 || strcmp(name, "--date") == 0 ||
                 strcmp(name, "--time") == 0 || strcmp(name, "--sender") == 0 ||
                 strcmp(name, "--receiver") == 0;
    if (!known)
        return s_usage("unknown option", name);
    if (!value)
        return s_usage("a value is required after", name);
    (*i)++;
    if (strcmp(name, "--to") == 0) {
        if (strcmp(value, "json") != 0 && strcmp(value, "x12") != 0 && strcmp(value, "fhir") != 0)
            return s_usage("--to takes json, x12 or fhir, not", value);
        options->target = value;
    } else if (strcmp(name, "--ack") == 0) {
        options->ack_dir = value;
    } else if (strcmp(name, "--control-number") == 0) {
        if (s_parse_control(value, &options->control_number) != 0)
            return s_usage("--control-number takes 1 to 999999999, not", value);
    } else if (strcmp(name, "--date") == 0) {
        int32_t day;
        if (!s_digits(value, 8) || date_parse_ccyymmdd(value, 8, &day) != SETTLE_OK)
            return s_usage("--date takes a day CCYYMMDD, not", value);
        memcpy(options->date, value, 9);
    } else if (strcmp(name, "--time") == 0) {
        if (!s_digits(value, 4) || value[0] > '2' || (value[0] == '2' && value[1] > '3') ||
            value[2] > '5')
            return s_usage("--time takes HHMM, not", value);
        memcpy(options->time, value, 5);
    } else {
        *(strcmp(name, "--sender") == 0 ? &options->sender : &options->receiver) = value;
    }
    return CLI_EXIT_OK;
}

int cli_convert(int argc, char **argv)
{
    s_options_t options;
    memset(&options, 0, sizeof options);
    options.control_number = 1;
    s_default_stamp(&options);
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            int rc = s_parse_option(&options, argc, argv, &i);
            if (rc != CLI_EXIT_OK)
                return rc;
        } else {
            first_file = i;
            break;
        }
    }
    if (!options.target && !options.ack_dir)
        return s_usage("--to json, --to x12, --to fhir or --ack DIR is required", NULL);
    if (first_file == argc)
        return s_usage("no files given", NULL);
    s_convert_t convert;
    memset(&convert, 0, sizeof convert);
    convert.options = &options;
    convert.control_number = options.control_number;
    for (int i = first_file; i < argc && !convert.failed; i++)
        s_convert_file(&convert, argv[i]);
    fprintf(stderr, "settle convert: %u claim%s written, %u problem%s\n", convert.claims,
            convert.claims == 1 ? "" : "s", convert.rejected, convert.rejected == 1 ? "" : "s");
    if (convert.failed)
        return CLI_EXIT_FAILURE;
    return convert.rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
