/*
 * cli_adjudicate.c - `settle adjudicate`: runs claims through plan contracts
 * offline, carrying accumulators from claim to claim, and prints one JSON
 * decision per claim; and `settle check-contract`: compiles contracts and
 * lists every problem as FILE:LINE:COLUMN: message.
 *
 * Claims come in any format the readers know (X12 837, FHIR, canonical
 * JSON; cli_input.c).  The JSON is written by hand, keys in a fixed order,
 * integers only, so the same inputs always print the same bytes; --format
 * table prints the same decisions for people; --remit writes what the
 * providers would receive (cli_remit.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/contract.h"
#include "settle/date.h"
#include "settle/enrollment.h"
#include "settle/interp.h"
#include "settle/money.h"

#define ADJUDICATE_CONTRACTS_MAX 64

typedef struct {
    const contract_t *contracts[ADJUDICATE_CONTRACTS_MAX];
    size_t contract_count;
    enrollment_t *enrollment;
    interp_state_t *state;
    interp_decision_t *decision;
    interp_changes_t *changes;
    int32_t received;
    int summary;
    int table;
    const char *remit_format; /* "x12", "fhir" or NULL */
    const char *out_dir;
    const char *payer_name;
    const char *payer_tax_id;
    cli_remits_t *remits;
    unsigned claims, lines, failed;
    int64_t billed_cents, allowed_cents, paid_cents, patient_cents;
} s_adjudicate_t;

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: settle adjudicate --contract FILE [--contract FILE...] --enrollment FILE\n"
            "                         [--received CCYY-MM-DD] [--summary] [--format json|table]\n"
            "                         [--remit x12|fhir [--out DIR]] CLAIMS...\n\n"
            "Adjudicates claims - X12 837P/837I, FHIR R4 Claims or Bundles, or canonical\n"
            "JSON, told apart by content - in order, against the plan contracts and the\n"
            "enrollment, carrying accumulators from claim to claim, and prints one JSON\n"
            "object per claim on its own line.  A claim that cannot be read is reported\n"
            "on stderr with its file and place, and the others are still adjudicated.\n\n"
            "  --received DATE   the day the claims were received; without it, each\n"
            "                    claim's creation date (837 BHT04, FHIR created), and\n"
            "                    no timely filing check for a claim that has none\n"
            "  --summary         a closing line with totals\n"
            "  --format table    the decisions as a table for people instead of JSON\n"
            "  --remit x12|fhir  also write each billing provider's remittance into DIR\n"
            "                    (default .): NPI.835 or NPI.claimresponse.json, dated\n"
            "                    --received or today\n"
            "  --payer-name NAME, --payer-tax-id EIN\n"
            "                    the payer as the remittance names it; an 835 needs the\n"
            "                    tax id (nine digits)\n\n"
            "exit codes: 0 all claims adjudicated, 1 an input was rejected, 2 bad usage,\n"
            "3 a remittance could not be written\n");
}

/* Writes text as a JSON string; claim texts are printable ASCII already. */
static void s_json_string(const char *text)
{
    putchar('"');
    for (; *text; text++) {
        if (*text == '"' || *text == '\\')
            putchar('\\');
        putchar(*text);
    }
    putchar('"');
}

/* Units as a JSON number: 1000 -> 1, 1500 -> 1.5. */
static void s_units(int64_t units_milli)
{
    printf("%" PRId64, units_milli / CLAIM_UNITS_MILLI_PER_UNIT);
    int64_t fraction = units_milli % CLAIM_UNITS_MILLI_PER_UNIT;
    if (fraction < 0)
        fraction = -fraction;
    if (fraction) {
        char digits[4];
        snprintf(digits, sizeof digits, "%03d", (int)fraction);
        for (int end = 2; end > 0 && digits[end] == '0'; end--)
            digits[end] = '\0';
        printf(".%s", digits);
    }
}

static void s_print_line(const interp_line_t *line)
{
    printf("{\"line\":%" PRIu32 ",\"code\":", line->line);
    s_json_string(line->code);
    printf(",\"units\":");
    s_units(line->units_milli);
    printf(",\"billed_cents\":%" PRId64 ",\"allowed_cents\":%" PRId64
           ",\"deductible_cents\":%" PRId64 ",\"copay_cents\":%" PRId64
           ",\"coinsurance_cents\":%" PRId64 ",\"paid_cents\":%" PRId64
           ",\"patient_cents\":%" PRId64 ",\"adjustments\":[",
           line->billed_cents, line->allowed_cents, line->deductible_cents, line->copay_cents,
           line->coinsurance_cents, line->paid_cents, line->patient_cents);
    for (uint32_t a = 0; a < line->adjustment_count; a++)
        printf("%s{\"group\":\"%s\",\"reason\":\"%s\",\"amount_cents\":%" PRId64 "}",
               a ? "," : "", line->adjustments[a].group, line->adjustments[a].reason,
               line->adjustments[a].amount_cents);
    printf("]}");
}

static void s_print_decision(const interp_decision_t *decision)
{
    printf("{\"claim_id\":");
    s_json_string(decision->claim_id);
    printf(",\"status\":\"%s\"", interp_status_name(decision->status));
    if (decision->related_claim_id[0]) {
        printf(decision->frequency == CLAIM_FREQUENCY_VOID ? ",\"voids\":" : ",\"replaces\":");
        s_json_string(decision->related_claim_id);
    }
    printf(",\"billed_cents\":%" PRId64 ",\"allowed_cents\":%" PRId64 ",\"paid_cents\":%" PRId64
           ",\"patient_cents\":%" PRId64 ",\"lines\":[",
           decision->billed_cents, decision->allowed_cents, decision->paid_cents,
           decision->patient_cents);
    for (uint32_t i = 0; i < decision->line_count; i++) {
        if (i)
            putchar(',');
        s_print_line(&decision->lines[i]);
    }
    printf("]}\n");
}

static void s_print_cents(const char *label, int64_t cents)
{
    char text[MONEY_TEXT_SIZE];
    money_format(cents, text, sizeof text);
    printf("  %s %10s", label, text);
}

/* One decision as a few lines of text: the claim, then a row per line with
 * its cost sharing and its adjustments. */
static void s_print_table(const interp_decision_t *decision)
{
    printf("claim %-20s %-8s", decision->claim_id, interp_status_name(decision->status));
    s_print_cents("billed", decision->billed_cents);
    s_print_cents("allowed", decision->allowed_cents);
    s_print_cents("paid", decision->paid_cents);
    s_print_cents("patient", decision->patient_cents);
    if (decision->related_claim_id[0])
        printf("  (%s %s)", decision->frequency == CLAIM_FREQUENCY_VOID ? "voids" : "replaces",
               decision->related_claim_id);
    printf("\n");
    for (uint32_t i = 0; i < decision->line_count; i++) {
        const interp_line_t *line = &decision->lines[i];
        printf("  %3" PRIu32 " %-6s", line->line, line->code);
        s_print_cents("billed", line->billed_cents);
        s_print_cents("allowed", line->allowed_cents);
        s_print_cents("paid", line->paid_cents);
        printf("  ");
        for (uint32_t a = 0; a < line->adjustment_count; a++) {
            char amount[MONEY_TEXT_SIZE];
            money_format(line->adjustments[a].amount_cents, amount, sizeof amount);
            printf(" %s-%s %s", line->adjustments[a].group, line->adjustments[a].reason, amount);
        }
        printf("\n");
    }
}

static int s_each_claim(const claim_t *claim, void *context)
{
    s_adjudicate_t *run = context;
    settle_error_t error;
    settle_error_clear(&error);
    /* Without --received, a claim counts as received the day it was made
     * (837 BHT04, FHIR created), when it says. */
    int32_t received = run->received != DATE_NONE ? run->received : claim->created;
    int rc = interp_adjudicate(run->contracts, run->contract_count, run->enrollment, run->state,
                               claim, received, run->decision, run->changes, &error);
    if (rc != SETTLE_OK) {
        cli_print_error(&error);
        run->failed++;
        return SETTLE_OK; /* the next claim may still be fine */
    }
    if (run->table)
        s_print_table(run->decision);
    else
        s_print_decision(run->decision);
    if (run->remits && cli_remits_add(run->remits, claim, run->decision, &error) != SETTLE_OK) {
        cli_print_error(&error);
        run->failed++;
    }
    run->claims++;
    run->lines += run->decision->line_count;
    run->billed_cents += run->decision->billed_cents;
    run->allowed_cents += run->decision->allowed_cents;
    run->paid_cents += run->decision->paid_cents;
    run->patient_cents += run->decision->patient_cents;
    return SETTLE_OK;
}

static void s_rejected(const char *claim_id, const settle_error_t *error, void *context)
{
    (void)claim_id;
    (void)context;
    cli_print_error(error);
}

/* Adjudicates every claim of one file; 0 when all were read. */
static int s_claims_file(s_adjudicate_t *run, const char *path)
{
    cli_claim_sink_t sink = {s_each_claim, s_rejected};
    return cli_input_read(path, &sink, run, NULL) == 0 ? 0 : -1;
}

static void s_print_problem(const settle_error_t *problem, void *context)
{
    (void)context;
    char line[1024];
    settle_error_format(problem, line, sizeof line);
    fprintf(stderr, "%s\n", line);
}

/* Compiles one contract file; problems go to stderr, one per line. */
static int s_load_contract(const char *path, contract_t **contract_out)
{
    char *text;
    size_t size;
    if (cli_read_file(path, &text, &size) != 0)
        return -1;
    int rc = contract_load_text(text, size, path, contract_out, NULL, s_print_problem, NULL);
    settle_free(text);
    return rc == SETTLE_OK ? 0 : -1;
}

static int s_load_enrollment(const char *path, enrollment_t **enrollment_out)
{
    char *text;
    size_t size;
    if (cli_read_file(path, &text, &size) != 0)
        return -1;
    settle_error_t error;
    int rc = enrollment_load_text(text, size, path, enrollment_out, &error);
    settle_free(text);
    if (rc != SETTLE_OK)
        cli_print_error(&error);
    return rc == SETTLE_OK ? 0 : -1;
}

/* Reads the options into run; the index of the first claims file, or -1. */
static int s_options(s_adjudicate_t *run, int argc, char **argv, const char **enrollment_path)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--summary") == 0) {
            run->summary = 1;
        } else if (strcmp(argv[i], "--format") == 0 && value &&
                   (strcmp(value, "json") == 0 || strcmp(value, "table") == 0)) {
            run->table = strcmp(value, "table") == 0;
            i++;
        } else if (strcmp(argv[i], "--remit") == 0 && value &&
                   (strcmp(value, "x12") == 0 || strcmp(value, "fhir") == 0)) {
            run->remit_format = value;
            i++;
        } else if (strcmp(argv[i], "--out") == 0 && value) {
            run->out_dir = value;
            i++;
        } else if (strcmp(argv[i], "--payer-name") == 0 && value) {
            run->payer_name = value;
            i++;
        } else if (strcmp(argv[i], "--payer-tax-id") == 0 && value) {
            run->payer_tax_id = value;
            i++;
        } else if (strcmp(argv[i], "--contract") == 0 && value) {
            if (run->contract_count == ADJUDICATE_CONTRACTS_MAX) {
                fprintf(stderr, "settle adjudicate: too many contracts\n");
                return -1;
            }
            contract_t *contract = NULL;
            if (s_load_contract(value, &contract) != 0)
                return -1;
            run->contracts[run->contract_count++] = contract;
            i++;
        } else if (strcmp(argv[i], "--enrollment") == 0 && value && !*enrollment_path) {
            *enrollment_path = value;
            i++;
        } else if (strcmp(argv[i], "--received") == 0 && value) {
            if (date_parse_iso(value, strlen(value), &run->received) != SETTLE_OK) {
                fprintf(stderr, "settle adjudicate: bad --received \"%s\"; expected CCYY-MM-DD\n",
                        value);
                return -1;
            }
            i++;
        } else {
            fprintf(stderr, "settle adjudicate: unknown or incomplete option \"%s\"\n", argv[i]);
            return -1;
        }
    }
    return i;
}

/* The date remittances carry: the received date, or today (UTC).  Reading
 * the clock here is the command's business; the writers take the date. */
static int32_t s_remit_date(int32_t received)
{
    if (received != DATE_NONE)
        return received;
    time_t now = time(NULL);
    struct tm utc;
    int32_t today = 0;
    if (gmtime_r(&now, &utc))
        date_from_ymd(utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, &today);
    return today;
}

static void s_release(s_adjudicate_t *run)
{
    for (size_t i = 0; i < run->contract_count; i++) {
        contract_t *contract = (contract_t *)run->contracts[i];
        contract_destroy(&contract);
    }
    enrollment_destroy(&run->enrollment);
    interp_state_destroy(&run->state);
    interp_decision_destroy(&run->decision);
    settle_free(run->changes);
    cli_remits_destroy(&run->remits);
}

int cli_adjudicate(int argc, char **argv)
{
    static s_adjudicate_t run;
    memset(&run, 0, sizeof run);
    run.received = DATE_NONE;
    for (int i = 1; i < argc; i++)
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_EXIT_OK;
        }
    const char *enrollment_path = NULL;
    int first = s_options(&run, argc, argv, &enrollment_path);
    if (first >= 0 && run.remit_format && strcmp(run.remit_format, "x12") == 0 &&
        !run.payer_tax_id) {
        fprintf(stderr, "settle adjudicate: --remit x12 needs --payer-tax-id (an 835 names "
                        "the payer by its tax id)\n");
        first = -1;
    }
    if (first < 0 || first == argc || run.contract_count == 0 || !enrollment_path) {
        if (first >= 0)
            fprintf(stderr, "settle adjudicate: --contract, --enrollment and claims are needed\n");
        s_release(&run);
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    run.state = interp_state_new();
    run.decision = interp_decision_new();
    run.changes = settle_malloc(sizeof *run.changes);
    if (run.remit_format)
        run.remits = cli_remits_new(run.payer_name, run.payer_tax_id);
    if (!run.state || !run.decision || !run.changes || (run.remit_format && !run.remits)) {
        fprintf(stderr, "settle adjudicate: out of memory\n");
        s_release(&run);
        return CLI_EXIT_FAILURE;
    }
    if (s_load_enrollment(enrollment_path, &run.enrollment) != 0) {
        s_release(&run);
        return CLI_EXIT_REJECTED;
    }
    int rejected = 0;
    for (int i = first; i < argc; i++)
        rejected += s_claims_file(&run, argv[i]) != 0;
    if (run.summary)
        printf("{\"summary\":{\"claims\":%u,\"lines\":%u,\"billed_cents\":%" PRId64
               ",\"allowed_cents\":%" PRId64 ",\"paid_cents\":%" PRId64
               ",\"patient_cents\":%" PRId64 "}}\n",
               run.claims, run.lines, run.billed_cents, run.allowed_cents, run.paid_cents,
               run.patient_cents);
    int remit_failed = run.remits && cli_remits_write(run.remits, run.remit_format,
                                                      run.out_dir ? run.out_dir : ".",
                                                      s_remit_date(run.received)) != 0;
    s_release(&run);
    if (remit_failed)
        return CLI_EXIT_FAILURE;
    return rejected || run.failed ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}

int cli_check_contract(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: settle check-contract FILE...\n\n"
                "Compiles plan contracts; prints every problem as FILE:LINE:COLUMN: message.\n"
                "exit codes: 0 all compiled, 1 a contract has problems, 2 bad usage\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    int rejected = 0;
    for (int i = 1; i < argc; i++) {
        contract_t *contract = NULL;
        if (s_load_contract(argv[i], &contract) != 0) {
            rejected++;
            continue;
        }
        printf("%s: ok (%s version %s)\n", argv[i], contract_id(contract),
               contract_version(contract));
        contract_destroy(&contract);
    }
    return rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
