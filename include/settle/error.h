/*
 * error.h - the one table of error codes, and the error-detail record.
 *
 * Every function in settle that can fail returns a settle_err_t from the
 * table below; SETTLE_OK (0) is success.  A code says what kind of failure it
 * was; a settle_error_t, when the caller passes one, says where and why in
 * words a user can act on: the file, the line and column or the X12 segment
 * and element, and what was expected there.
 *
 * A business outcome (a denied claim line, an overdrawn account) is not an
 * error: it is a result, and is reported through the result types of the
 * module that decides it.
 */
#ifndef SETTLE_ERROR_H
#define SETTLE_ERROR_H

#include <stddef.h>
#include <stdint.h>

/* X(code, message).  Append new codes at the end: the numbers are part of
 * the command-line exit codes and of logs, so they never change meaning. */
#define SETTLE_ERRORS(X)                                                                           \
    X(SETTLE_OK, "success")                                                                        \
    X(SETTLE_ERR_NOMEM, "out of memory")                                                           \
    X(SETTLE_ERR_INVALID, "invalid argument")                                                      \
    X(SETTLE_ERR_SYNTAX, "syntax error")                                                           \
    X(SETTLE_ERR_OVERFLOW, "arithmetic overflow")                                                  \
    X(SETTLE_ERR_RANGE, "value out of range")                                                      \
    X(SETTLE_ERR_TOO_LONG, "value too long")                                                       \
    X(SETTLE_ERR_TOO_MANY, "too many items")                                                       \
    X(SETTLE_ERR_MISSING, "required value missing")                                                \
    X(SETTLE_ERR_TRUNCATED, "input truncated")                                                     \
    X(SETTLE_ERR_CORRUPT, "input corrupt")                                                         \
    X(SETTLE_ERR_VERSION, "unsupported format version")                                            \
    X(SETTLE_ERR_UNKNOWN_KEY, "unknown key")                                                       \
    X(SETTLE_ERR_IO, "input/output error")                                                         \
    X(SETTLE_ERR_NOT_FOUND, "not found")                                                           \
    X(SETTLE_ERR_CRYPTO, "cryptographic library failure")                                          \
    X(SETTLE_ERR_SIGNATURE, "signature does not verify")                                           \
    X(SETTLE_ERR_EXISTS, "already exists")

#define SETTLE_ERROR_ENUM_(code, message) code,
typedef enum { SETTLE_ERRORS(SETTLE_ERROR_ENUM_) SETTLE_ERR_COUNT_ } settle_err_t;
#undef SETTLE_ERROR_ENUM_

/* The static message for a code ("value out of range"); never NULL, even
 * for a code outside the table. */
const char *settle_strerror(int code);

/* The code's name as written in the table ("SETTLE_ERR_RANGE"); never NULL. */
const char *settle_error_name(int code);

#define SETTLE_ERROR_FILE_SIZE     256
#define SETTLE_ERROR_SEGMENT_SIZE  8
#define SETTLE_ERROR_EXPECTED_SIZE 160
#define SETTLE_ERROR_MESSAGE_SIZE  256

/*
 * Where and why something failed.  Positions are 1-based; 0 means "does not
 * apply" (a JSON file has lines and columns, an X12 file has segments and
 * elements).  The record owns no heap memory: it can be copied, and dropped
 * without a destructor.
 */
typedef struct {
    settle_err_t code;
    char file[SETTLE_ERROR_FILE_SIZE];          /* input name, "" when not from a file */
    uint32_t line;                              /* text line */
    uint32_t column;                            /* text column, in bytes */
    uint32_t segment;                           /* X12 segment number in its transaction */
    char segment_id[SETTLE_ERROR_SEGMENT_SIZE]; /* X12 segment id, "CLM" */
    uint32_t element;                           /* X12 element position, 2 for CLM02 */
    uint32_t component;                         /* X12 component position, 0 if none */
    char expected[SETTLE_ERROR_EXPECTED_SIZE];  /* what would have been accepted */
    char message[SETTLE_ERROR_MESSAGE_SIZE];    /* what went wrong, with the value found */
} settle_error_t;

/* Empties the record: code SETTLE_OK, no position, no text.  NULL is allowed. */
void settle_error_clear(settle_error_t *error);

/*
 * Records a failure: sets the code and formats the message (printf-style,
 * truncated to fit).  Positions and the file already set are kept, so a
 * caller can set the place first and the reason later.  NULL error is
 * allowed.  Returns code, so a caller can write `return settle_error_set(...)`.
 */
int settle_error_set(settle_error_t *error, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets what was expected (printf-style, truncated to fit).  NULL allowed. */
void settle_error_expect(settle_error_t *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the input's name (truncated to fit).  NULL error or file allowed. */
void settle_error_file(settle_error_t *error, const char *file);

/* Sets a text position.  NULL allowed. */
void settle_error_at_line(settle_error_t *error, uint32_t line, uint32_t column);

/* Sets an X12 position: segment number and id, element and component.  NULL allowed. */
void settle_error_at_segment(settle_error_t *error, uint32_t segment, const char *segment_id,
                             uint32_t element, uint32_t component);

/*
 * Writes the record as one line a person can act on, in the form compilers
 * use so editors can jump to it:
 *
 *   claims.json:12:7: lines[0].charge_cents: expected an integer (found "12.5")
 *   in.837: segment 23 (CLM), element CLM02: bad amount "12.345"; expected ...
 *
 * Always NUL-terminates when size > 0; truncates to fit.  Returns the length
 * the full text would have had, like snprintf.
 */
size_t settle_error_format(const settle_error_t *error, char *buffer, size_t size);

#endif
