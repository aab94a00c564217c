/*
 * x12_out.c - the text buffer the X12 writers build their output in: the
 * 837 writer, the 999 and the 277CA.  Segments are formatted into a bounded
 * scratch array and appended with the terminator; the first failure (no
 * memory, a segment too long) is remembered and reported once, when the
 * caller takes the text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "x12_837_reader.h"

void x12_out_init(x12_out_t *out)
{
    memset(out, 0, sizeof *out);
}

void x12_out_free(x12_out_t *out)
{
    settle_free(out->text);
    memset(out, 0, sizeof *out);
}

/* Makes room for more bytes and the NUL; false (and failed) when it cannot. */
static bool s_reserve(x12_out_t *out, size_t more)
{
    if (out->failed)
        return false;
    if (out->length + more + 1 <= out->capacity)
        return true;
    size_t capacity = out->capacity ? out->capacity : 4096;
    while (capacity < out->length + more + 1) {
        if (capacity > ((size_t)1 << 40)) {
            out->failed = true;
            return false;
        }
        capacity *= 2;
    }
    char *grown = settle_realloc(out->text, capacity);
    if (!grown) {
        out->failed = true;
        return false;
    }
    out->text = grown;
    out->capacity = capacity;
    return true;
}

void x12_out_bytes(x12_out_t *out, const char *text, size_t length)
{
    if (!s_reserve(out, length))
        return;
    memcpy(out->text + out->length, text, length);
    out->length += length;
    out->text[out->length] = '\0';
}

void x12_out_segment(x12_out_t *out, const char *format, ...)
{
    char segment[X12_OUT_SEGMENT_MAX + 2];
    va_list args;
    va_start(args, format);
    int written = vsnprintf(segment, X12_OUT_SEGMENT_MAX, format, args);
    va_end(args);
    if (written < 0 || written >= X12_OUT_SEGMENT_MAX) {
        out->failed = true;
        return;
    }
    segment[written] = '~';
    segment[written + 1] = '\n';
    x12_out_bytes(out, segment, (size_t)written + 2);
    out->segments++;
}

int x12_out_take(x12_out_t *out, char **text_out, size_t *length_out)
{
    if (!out->failed && !out->text)
        s_reserve(out, 0);
    if (out->failed) {
        x12_out_free(out);
        return SETTLE_ERR_NOMEM;
    }
    out->text[out->length] = '\0';
    *text_out = out->text;
    if (length_out)
        *length_out = out->length;
    memset(out, 0, sizeof *out);
    return SETTLE_OK;
}

static bool s_is_delimiter(char c)
{
    return c == '*' || c == ':' || c == '^' || c == '~';
}

void x12_out_clean(char *field, size_t size, const char *text, size_t length)
{
    size_t n = 0;
    for (size_t i = 0; i < length && n + 1 < size; i++) {
        unsigned char c = (unsigned char)text[i];
        field[n++] = c < 0x20 || c > 0x7e || s_is_delimiter((char)c) ? ' ' : (char)c;
    }
    field[n] = '\0';
}

bool x12_out_has_delimiter(const char *text)
{
    for (; *text; text++)
        if (s_is_delimiter(*text))
            return true;
    return false;
}
