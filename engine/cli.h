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

#endif
