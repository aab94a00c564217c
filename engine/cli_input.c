/*
 * cli_input.c - reads claims from any file a user hands the `settle`
 * command, whatever its format: X12 837P/837I, FHIR R4 (a Claim or a
 * Bundle) or canonical JSON, told apart by content.  Each claim read goes to
 * the caller's sink; each claim that cannot be read goes to its rejected
 * callback with an error naming the file and the place, and the reading
 * goes on with the next claim where the format allows it.  The text may
 * come from a file (cli_input_read) or be in memory already
 * (cli_input_read_text, for a command that reads the file itself).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_json.h"
#include "settle/fhir.h"
#include "settle/x12.h"

typedef struct {
    const cli_claim_sink_t *sink;
    void *context;
    unsigned rejected;
} s_reading_t;

static size_t s_skip_space(const char *text, size_t size)
{
    size_t at = 0;
    while (at < size &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\r' || text[at] == '\n'))
        at++;
    return at;
}

cli_input_format_t cli_input_detect(const char *text, size_t size)
{
    size_t at = s_skip_space(text, size);
    if (size - at >= 3 && memcmp(text + at, "ISA", 3) == 0)
        return CLI_INPUT_X12;
    /* FHIR resources say what they are; canonical claims carry "format".
     * Looking at the first few kilobytes is enough: both keys come early. */
    size_t window = size - at < 4096 ? size - at : 4096;
    for (size_t i = at; i + 14 <= at + window; i++)
        if (memcmp(text + i, "\"resourceType\"", 14) == 0)
            return CLI_INPUT_FHIR;
    return CLI_INPUT_JSON;
}

const char *cli_input_format_name(cli_input_format_t format)
{
    switch (format) {
    case CLI_INPUT_X12:
        return "X12 837";
    case CLI_INPUT_FHIR:
        return "FHIR";
    case CLI_INPUT_JSON:
        break;
    }
    return "canonical JSON";
}

static int s_claim(const claim_t *claim, void *context)
{
    s_reading_t *reading = context;
    return reading->sink->claim(claim, reading->context);
}

static void s_reject(s_reading_t *reading, const char *claim_id, const settle_error_t *error)
{
    reading->rejected++;
    if (reading->sink->rejected)
        reading->sink->rejected(claim_id, error, reading->context);
}

static int s_x12_problem(x12_837_problem_t problem, const char *claim_id,
                         const settle_error_t *error, void *context)
{
    (void)problem;
    s_reject(context, claim_id, error);
    return SETTLE_OK;
}

static int s_fhir_problem(fhir_problem_t problem, const char *claim_id, const settle_error_t *error,
                          void *context)
{
    (void)problem;
    s_reject(context, claim_id, error);
    return SETTLE_OK;
}

/* Reads text in its format; SETTLE_OK or the error that stopped the file. */
static int s_read_text(s_reading_t *reading, const char *path, const char *text, size_t size)
{
    switch (cli_input_detect(text, size)) {
    case CLI_INPUT_X12: {
        x12_837_callbacks_t callbacks = {s_claim, s_x12_problem};
        return x12_837_read(text, size, path, &callbacks, reading, NULL, NULL);
    }
    case CLI_INPUT_FHIR: {
        fhir_claim_callbacks_t callbacks = {s_claim, s_fhir_problem};
        return fhir_claim_read(text, size, path, &callbacks, reading, NULL, NULL);
    }
    case CLI_INPUT_JSON:
        break;
    }
    settle_error_t error;
    settle_error_clear(&error);
    int rc = claim_json_read_text(text, size, path, s_claim, reading, &error);
    if (rc != SETTLE_OK && error.message[0]) {
        /* The canonical reader stops at its first bad claim. */
        s_reject(reading, "", &error);
        rc = SETTLE_OK;
    }
    return rc;
}

int cli_input_read_text(const char *path, const char *text, size_t size,
                        const cli_claim_sink_t *sink, void *context, unsigned *rejected_out)
{
    s_reading_t reading = {sink, context, 0};
    int rc = s_read_text(&reading, path, text, size);
    if (rejected_out)
        *rejected_out = reading.rejected;
    if (rc != SETTLE_OK) {
        fprintf(stderr, "settle: %s: %s\n", path, settle_strerror(rc));
        return -1;
    }
    return reading.rejected ? 1 : 0;
}

int cli_input_read(const char *path, const cli_claim_sink_t *sink, void *context,
                   unsigned *rejected_out)
{
    char *text;
    size_t size;
    if (cli_read_file(path, &text, &size) != 0)
        return -1;
    int rc = cli_input_read_text(path, text, size, sink, context, rejected_out);
    settle_free(text);
    return rc;
}
