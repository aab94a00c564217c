/*
 * error.c - the error table's texts, and the error-detail record.
 */
#include "settle/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SETTLE_ERROR_MESSAGE_(code, message) message,
static const char *const s_messages[] = {SETTLE_ERRORS(SETTLE_ERROR_MESSAGE_)};
#undef SETTLE_ERROR_MESSAGE_

#define SETTLE_ERROR_NAME_(code, message) #code,
static const char *const s_names[] = {SETTLE_ERRORS(SETTLE_ERROR_NAME_)};
#undef SETTLE_ERROR_NAME_

const char *settle_strerror(int code)
{
    if (code < 0 || code >= SETTLE_ERR_COUNT_)
        return "unknown error";
    return s_messages[code];
}

const char *settle_error_name(int code)
{
    if (code < 0 || code >= SETTLE_ERR_COUNT_)
        return "SETTLE_ERR_UNKNOWN";
    return s_names[code];
}

void settle_error_clear(settle_error_t *error)
{
    if (error)
        memset(error, 0, sizeof *error);
}

/* Copies text into a fixed array, truncating; always NUL-terminates. */
static void s_copy(char *field, size_t size, const char *text)
{
    size_t length = strnlen(text, size - 1);
    memcpy(field, text, length);
    field[length] = '\0';
}

int settle_error_set(settle_error_t *error, int code, const char *format, ...)
{
    if (!error)
        return code;
    error->code = (settle_err_t)code;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
    return code;
}

void settle_error_expect(settle_error_t *error, const char *format, ...)
{
    if (!error)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(error->expected, sizeof error->expected, format, args);
    va_end(args);
}

void settle_error_file(settle_error_t *error, const char *file)
{
    if (error && file)
        s_copy(error->file, sizeof error->file, file);
}

void settle_error_at_line(settle_error_t *error, uint32_t line, uint32_t column)
{
    if (!error)
        return;
    error->line = line;
    error->column = column;
}

void settle_error_at_segment(settle_error_t *error, uint32_t segment, const char *segment_id,
                             uint32_t element, uint32_t component)
{
    if (!error)
        return;
    error->segment = segment;
    s_copy(error->segment_id, sizeof error->segment_id, segment_id ? segment_id : "");
    error->element = element;
    error->component = component;
}

/* Appends printf-style text at *used, tracking the length the whole text
 * would need even when the buffer is full. */
__attribute__((format(printf, 4, 5))) static void s_append(char *buffer, size_t size, size_t *used,
                                                           const char *format, ...)
{
    char *at = *used < size ? buffer + *used : NULL;
    size_t room = *used < size ? size - *used : 0;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(at, room, format, args);
    va_end(args);
    if (written > 0)
        *used += (size_t)written;
}

/* The place: "file:line:col: " or "file: segment 4 (CLM), element CLM02-1: ". */
static void s_format_place(const settle_error_t *error, char *buffer, size_t size, size_t *used)
{
    if (error->file[0])
        s_append(buffer, size, used, "%s:", error->file);
    if (error->line) {
        s_append(buffer, size, used, "%u:", error->line);
        if (error->column)
            s_append(buffer, size, used, "%u:", error->column);
    }
    if (*used)
        s_append(buffer, size, used, " ");
    if (error->segment) {
        s_append(buffer, size, used, "segment %u", error->segment);
        if (error->segment_id[0])
            s_append(buffer, size, used, " (%s)", error->segment_id);
        if (error->element) {
            s_append(buffer, size, used, ", element %s%02u", error->segment_id, error->element);
            if (error->component)
                s_append(buffer, size, used, "-%u", error->component);
        }
        s_append(buffer, size, used, ": ");
    }
}

size_t settle_error_format(const settle_error_t *error, char *buffer, size_t size)
{
    size_t used = 0;
    if (size > 0)
        buffer[0] = '\0';
    if (!error)
        return 0;
    s_format_place(error, buffer, size, &used);
    s_append(buffer, size, &used, "%s",
             error->message[0] ? error->message : settle_strerror(error->code));
    if (error->expected[0])
        s_append(buffer, size, &used, "; expected %s", error->expected);
    return used;
}
