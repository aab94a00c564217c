/*
 * cli.h - what the `settle` command's subcommands share (private to the
 * program; not a public header).
 *
 * Exit codes, the same for every subcommand, so scripts can trust them:
 *   0  everything read and done
 *   1  some input was rejected (a bad file, a bad claim); the rest was done
 *   2  the command line was wrong; nothing was done
 *   3  the system failed us (out of memory, a file that cannot be written)
 */
#ifndef SETTLE_CLI_H
#define SETTLE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "settle/claim.h"
#include "settle/interp.h"
#include "settle/error.h"

#define CLI_EXIT_OK       0
#define CLI_EXIT_REJECTED 1
#define CLI_EXIT_USAGE    2
#define CLI_EXIT_FAILURE  3

/* The largest input file read whole into memory. */
#define CLI_FILE_SIZE_MAX ((size_t)1 << 30)

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} cli_command_t;

/* Reads a whole file ("-" for standard input) into a NUL-terminated buffer
 * the caller frees with settle_free.  On failure prints "settle: PATH: why"
 * to stderr and returns nonzero. */
int cli_read_file(const char *path, char **text_out, size_t *size_out);

/* ------------------------------------------------------------------------
 * Reading claims in any format (cli_input.c)
 * ------------------------------------------------------------------------ */

typedef enum { CLI_INPUT_JSON, CLI_INPUT_X12, CLI_INPUT_FHIR } cli_input_format_t;

/* The format of a file's text: X12 when it starts with "ISA", FHIR when a
 * "resourceType" key comes early, canonical JSON otherwise. */
cli_input_format_t cli_input_detect(const char *text, size_t size);
const char *cli_input_format_name(cli_input_format_t format);

/* Where the claims read go.  claim: a claim read and checked, the reader's
 * own, valid during the call; a nonzero return stops the reading.
 * rejected (may be NULL): a claim that could not be read, or an envelope or
 * document error (claim_id ""), with the error naming the place. */
typedef struct {
    int (*claim)(const claim_t *claim, void *context);
    void (*rejected)(const char *claim_id, const settle_error_t *error, void *context);
} cli_claim_sink_t;

/* Reads every claim of the file at path ("-": standard input) into sink.
 * Returns 0 when every claim was read, 1 when some were rejected (the
 * others were delivered), -1 when the file could not be read or the
 * reading stopped (the reason printed on stderr). */
int cli_input_read(const char *path, const cli_claim_sink_t *sink, void *context,
                   unsigned *rejected_out);

/* The same for text[0..size) already in memory (a file's content, or
 * standard input's), which path names in errors; the text stays the
 * caller's.  Returns as cli_input_read: -1 only when the reading stopped
 * (a callback's nonzero return, or out of memory), the reason printed on
 * stderr; every claim that cannot be read goes to sink->rejected. */
int cli_input_read_text(const char *path, const char *text, size_t size,
                        const cli_claim_sink_t *sink, void *context, unsigned *rejected_out);

/* ------------------------------------------------------------------------
 * Remittances of an offline run (cli_remit.c)
 * ------------------------------------------------------------------------ */

typedef struct cli_remits_s cli_remits_t;

/* One remittance per billing provider, filled claim by claim, from the
 * payer named (either may be NULL: the claims' payer id names it, and an
 * 835 is then refused for want of a tax id).  NULL when out of memory;
 * destroy nulls the pointer and is safe twice. */
cli_remits_t *cli_remits_new(const char *payer_name, const char *payer_tax_id);
void cli_remits_destroy(cli_remits_t **self_p);

/* Adds a claim and its decision to its provider's remittance (copied). */
int cli_remits_add(cli_remits_t *self, const claim_t *claim, const interp_decision_t *decision,
                   settle_error_t *error);

/* Writes each remittance into dir as NPI.835 (format "x12") or
 * NPI.claimresponse.json ("fhir"), dated date; prints one line per file on
 * stderr.  0, or -1 when one was refused or could not be written (the
 * others are still written). */
int cli_remits_write(cli_remits_t *self, const char *format, const char *dir, int32_t date);

/* Prints an error record as one line on stderr, prefixed "settle: ". */
void cli_print_error(const settle_error_t *error);

/* True when argument is -h or --help. */
int cli_is_help(const char *argument);

/* The subcommands. */
int cli_show(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_adjudicate(int argc, char **argv);
int cli_check_contract(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_submit(int argc, char **argv); /* cli_submit.c: submit and head */
int cli_head(int argc, char **argv);

#endif
